//! Shape rules of the compute and pooling ops: Conv, ConvTranspose, MatMul, Gemm, pools,
//! BatchNormalization.

use super::{
    broadcast_shapes, check_arity, fail, one_input, require_float, require_numeric, require_rank, require_same_dtype,
};
use crate::{ConvAttrs, ConvTransposeAttrs, GemmAttrs, IrError, Op, PoolAttrs, TensorType};

const SPATIAL: [&str; 2] = ["height", "width"];

fn overflow(op: &Op) -> IrError {
    IrError::Limit(format!("{}: output size overflows", op.name()))
}

fn check_positive(op: &Op, what: &str, v: &[usize]) -> Result<(), IrError> {
    if v.contains(&0) {
        return Err(fail(op, format!("{what} {v:?} must be >= 1")));
    }
    Ok(())
}

/// One spatial output size of a sliding window (ONNX Conv/MaxPool/AveragePool); see
/// [`PoolAttrs::pads`] for the `ceil_mode` rule.
#[allow(clippy::too_many_arguments)]
pub(super) fn window_out(
    op: &Op,
    axis: usize,
    input: usize,
    pad_begin: usize,
    pad_end: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    ceil_mode: bool,
) -> Result<usize, IrError> {
    let padded = input.checked_add(pad_begin).and_then(|v| v.checked_add(pad_end)).ok_or_else(|| overflow(op))?;
    let eff = dilation.checked_mul(kernel - 1).and_then(|v| v.checked_add(1)).ok_or_else(|| overflow(op))?;
    if padded < eff {
        return Err(fail(
            op,
            format!(
                "padded input {} {padded} < dilated kernel {eff} (kernel {kernel}, dilation {dilation})",
                SPATIAL[axis]
            ),
        ));
    }
    let span = padded - eff;
    let mut out = if ceil_mode { span.div_ceil(stride) } else { span / stride } + 1;
    if ceil_mode && (out - 1).saturating_mul(stride) >= input + pad_begin {
        out -= 1;
    }
    Ok(out)
}

fn check_bias(
    op: &Op,
    inputs: &[&TensorType],
    index: usize,
    channels: usize,
    dtype: crate::DType,
) -> Result<(), IrError> {
    if let Some(b) = inputs.get(index) {
        require_same_dtype(op, "bias", b, dtype)?;
        if b.shape != [channels] {
            return Err(fail(op, format!("bias must be [{channels}] (output channels), got {b}")));
        }
    }
    Ok(())
}

/// ONNX `Conv` (opset 11), 2-D, NCHW.
pub(super) fn conv(op: &Op, a: &ConvAttrs, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 3)?;
    let (x, w) = (inputs[0], inputs[1]);
    require_float(op, "input", x)?;
    require_same_dtype(op, "weight", w, x.dtype)?;
    let shape = conv_shape(op, a, x, w)?;
    check_bias(op, inputs, 2, w.shape[0], x.dtype)?;
    Ok(TensorType::new(x.dtype, shape))
}

/// The output shape of a 2-D NCHW convolution of `x` by `w` (any dtypes); checks ranks,
/// attributes and channel counts.
pub(super) fn conv_shape(op: &Op, a: &ConvAttrs, x: &TensorType, w: &TensorType) -> Result<Vec<usize>, IrError> {
    require_rank(op, "input", x, 4)?;
    require_rank(op, "weight", w, 4)?;
    check_positive(op, "strides", &a.strides)?;
    check_positive(op, "dilations", &a.dilations)?;
    check_positive(op, "kernel", &a.kernel)?;
    if a.group == 0 {
        return Err(fail(op, "group must be >= 1"));
    }
    let (c, m) = (x.shape[1], w.shape[0]);
    if c % a.group != 0 {
        return Err(fail(op, format!("input channels {c} not divisible by group {}", a.group)));
    }
    if c / a.group != w.shape[1] {
        return Err(fail(op, format!("input channels {c} / group {} != weight dim 1 = {}", a.group, w.shape[1])));
    }
    if m % a.group != 0 {
        return Err(fail(op, format!("output channels (weight dim 0) {m} not divisible by group {}", a.group)));
    }
    if a.kernel != [w.shape[2], w.shape[3]] {
        return Err(fail(op, format!("kernel {:?} != weight spatial dims {:?}", a.kernel, &w.shape[2..])));
    }
    let mut shape = vec![x.shape[0], m, 0, 0];
    for i in 0..2 {
        shape[2 + i] = window_out(
            op,
            i,
            x.shape[2 + i],
            a.pads[i],
            a.pads[2 + i],
            a.kernel[i],
            a.strides[i],
            a.dilations[i],
            false,
        )?;
    }
    Ok(shape)
}

/// ONNX `ConvTranspose` (opset 11), 2-D, NCHW, explicit pads.
pub(super) fn conv_transpose(op: &Op, a: &ConvTransposeAttrs, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 3)?;
    let (x, w) = (inputs[0], inputs[1]);
    require_float(op, "input", x)?;
    require_same_dtype(op, "weight", w, x.dtype)?;
    require_rank(op, "input", x, 4)?;
    require_rank(op, "weight", w, 4)?;
    check_positive(op, "strides", &a.strides)?;
    check_positive(op, "dilations", &a.dilations)?;
    check_positive(op, "kernel", &a.kernel)?;
    if a.group == 0 {
        return Err(fail(op, "group must be >= 1"));
    }
    let c = x.shape[1];
    if w.shape[0] != c {
        return Err(fail(op, format!("input channels {c} != weight dim 0 = {}", w.shape[0])));
    }
    if c % a.group != 0 {
        return Err(fail(op, format!("input channels {c} not divisible by group {}", a.group)));
    }
    if a.kernel != [w.shape[2], w.shape[3]] {
        return Err(fail(op, format!("kernel {:?} != weight spatial dims {:?}", a.kernel, &w.shape[2..])));
    }
    let m = w.shape[1].checked_mul(a.group).ok_or_else(|| overflow(op))?;
    check_bias(op, inputs, 2, m, x.dtype)?;
    let mut shape = vec![x.shape[0], m, 0, 0];
    for i in 0..2 {
        let (s, d, k, op_pad) = (a.strides[i], a.dilations[i], a.kernel[i], a.output_padding[i]);
        let input = x.shape[2 + i];
        if input == 0 {
            return Err(fail(op, format!("input {} is 0", SPATIAL[i])));
        }
        // s * (H - 1) + output_padding + (k - 1) * d + 1 - pad_begin - pad_end
        let full = s
            .checked_mul(input - 1)
            .and_then(|v| v.checked_add(op_pad))
            .and_then(|v| v.checked_add(d.checked_mul(k - 1)?))
            .and_then(|v| v.checked_add(1))
            .ok_or_else(|| overflow(op))?;
        let pads = a.pads[i].checked_add(a.pads[2 + i]).ok_or_else(|| overflow(op))?;
        if full <= pads {
            return Err(fail(op, format!("pads {pads} remove the whole output {} {full}", SPATIAL[i])));
        }
        shape[2 + i] = full - pads;
    }
    Ok(TensorType::new(x.dtype, shape))
}

/// ONNX `MatMul` (opset 13): numpy `matmul` semantics.
pub(super) fn matmul(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 2)?;
    let (a, b) = (inputs[0], inputs[1]);
    require_float(op, "input a", a)?;
    require_same_dtype(op, "input b", b, a.dtype)?;
    Ok(TensorType::new(a.dtype, matmul_shape(op, a, b)?))
}

/// The output shape of numpy `matmul` of `a` by `b` (any dtypes).
pub(super) fn matmul_shape(op: &Op, a: &TensorType, b: &TensorType) -> Result<Vec<usize>, IrError> {
    if a.rank() == 0 || b.rank() == 0 {
        return Err(fail(op, format!("operands must have rank >= 1, got {a} and {b}")));
    }
    let (ra, rb) = (a.rank(), b.rank());
    let (m, ka) = if ra == 1 { (None, a.shape[0]) } else { (Some(a.shape[ra - 2]), a.shape[ra - 1]) };
    let (kb, n) = if rb == 1 { (b.shape[0], None) } else { (b.shape[rb - 2], Some(b.shape[rb - 1])) };
    if ka != kb {
        return Err(fail(op, format!("inner dimensions differ: a {a} has K = {ka}, b {b} has K = {kb}")));
    }
    let batch_a = &a.shape[..ra.saturating_sub(2)];
    let batch_b = &b.shape[..rb.saturating_sub(2)];
    let mut shape = broadcast_shapes(batch_a, batch_b).map_err(|e| fail(op, format!("batch dims: {e}")))?;
    shape.extend(m);
    shape.extend(n);
    Ok(shape)
}

/// ONNX `Gemm` (opset 13).
pub(super) fn gemm(op: &Op, g: &GemmAttrs, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 3)?;
    let (a, b) = (inputs[0], inputs[1]);
    require_float(op, "input a", a)?;
    require_same_dtype(op, "input b", b, a.dtype)?;
    require_rank(op, "input a", a, 2)?;
    require_rank(op, "input b", b, 2)?;
    let (m, ka) = if g.trans_a { (a.shape[1], a.shape[0]) } else { (a.shape[0], a.shape[1]) };
    let (kb, n) = if g.trans_b { (b.shape[1], b.shape[0]) } else { (b.shape[0], b.shape[1]) };
    if ka != kb {
        return Err(fail(
            op,
            format!(
                "inner dimensions differ: A' has K = {ka}, B' has K = {kb} (trans_a {}, trans_b {})",
                g.trans_a, g.trans_b
            ),
        ));
    }
    if let Some(c) = inputs.get(2) {
        require_same_dtype(op, "input c", c, a.dtype)?;
        // C broadcasts unidirectionally to [M, N].
        let ok = c.rank() <= 2 && broadcast_shapes(&c.shape, &[m, n]).is_ok_and(|s| s == [m, n]);
        if !ok {
            return Err(fail(op, format!("input c {c} does not broadcast to [{m}, {n}]")));
        }
    }
    Ok(TensorType::new(a.dtype, vec![m, n]))
}

/// ONNX `MaxPool` (opset 12) / `AveragePool` (opset 19), 2-D, NCHW.
pub(super) fn pool(op: &Op, a: &PoolAttrs, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_rank(op, "input", x, 4)?;
    let is_max = matches!(op, Op::MaxPool(_) | Op::MaxPoolWithIndices { .. });
    if is_max {
        require_numeric(op, "input", x)?;
    } else {
        require_float(op, "input", x)?;
    }
    let shape = pool_shape(op, a, x)?;
    let quant = if is_max { x.quant.clone() } else { None };
    if let Some(q) = quant.as_ref().filter(|q| q.block_size.is_some() || q.axis.is_some_and(|a| a >= 2)) {
        return Err(fail(op, format!("cannot pool a tensor quantized along spatial axis {:?} ({x})", q.axis)));
    }
    Ok(TensorType { dtype: x.dtype, shape, quant })
}

/// ONNX `MaxPool` with its `Indices` output: the type of `MaxPool`'s `y`, and `i64` indices
/// of the same shape.
pub(super) fn max_pool_with_indices(
    op: &Op,
    a: &PoolAttrs,
    inputs: &[&TensorType],
) -> Result<Vec<TensorType>, IrError> {
    let y = pool(op, a, inputs)?;
    let indices = TensorType::new(crate::DType::I64, y.shape.clone());
    Ok(vec![y, indices])
}

/// The output shape of a 2-D NCHW pool over `x` (rank 4, checked by the caller).
pub(super) fn pool_shape(op: &Op, a: &PoolAttrs, x: &TensorType) -> Result<Vec<usize>, IrError> {
    check_positive(op, "strides", &a.strides)?;
    check_positive(op, "dilations", &a.dilations)?;
    check_positive(op, "kernel", &a.kernel)?;
    let mut shape = x.shape.clone();
    for i in 0..2 {
        let k = a.kernel[i];
        if a.pads[i] >= k || a.pads[2 + i] >= k {
            return Err(fail(op, format!("pads {:?} must be smaller than kernel {:?}", a.pads, a.kernel)));
        }
        shape[2 + i] =
            window_out(op, i, x.shape[2 + i], a.pads[i], a.pads[2 + i], k, a.strides[i], a.dilations[i], a.ceil_mode)?;
    }
    Ok(shape)
}

/// ONNX `GlobalAveragePool` (opset 1): `[N, C, d1, …] → [N, C, 1, …]`.
pub(super) fn global_average_pool(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_float(op, "input", x)?;
    if x.rank() < 3 {
        return Err(fail(op, format!("input must have rank >= 3 (N, C, spatial...), got {x}")));
    }
    let mut shape = x.shape.clone();
    shape[2..].fill(1);
    Ok(TensorType::new(x.dtype, shape))
}

/// ONNX `BatchNormalization` (opset 15, inference mode).
pub(super) fn batch_norm(op: &Op, epsilon: f32, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 5, 5)?;
    let x = inputs[0];
    require_float(op, "input", x)?;
    if x.rank() < 2 {
        return Err(fail(op, format!("input must have rank >= 2 (N, C, ...), got {x}")));
    }
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(fail(op, format!("epsilon {epsilon:?} must be finite and >= 0")));
    }
    let c = x.shape[1];
    for (name, t) in ["scale", "bias", "mean", "var"].iter().zip(&inputs[1..]) {
        require_same_dtype(op, name, t, x.dtype)?;
        if t.shape != [c] {
            return Err(fail(op, format!("{name} must be [{c}] (input channels), got {t}")));
        }
    }
    Ok(TensorType::new(x.dtype, x.shape.clone()))
}

#[cfg(test)]
#[allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads better in tables of cases
mod tests {
    use super::super::test_util::*;
    use crate::{ConvAttrs, ConvTransposeAttrs, DType, GemmAttrs, Op, PoolAttrs, TensorType};

    fn conv(kernel: [usize; 2], strides: [usize; 2], pads: [usize; 4], dilations: [usize; 2], group: usize) -> Op {
        Op::Conv(ConvAttrs { kernel, strides, pads, dilations, group })
    }

    fn pool(kernel: [usize; 2], strides: [usize; 2], pads: [usize; 4], ceil_mode: bool) -> PoolAttrs {
        PoolAttrs { kernel, strides, pads, dilations: [1, 1], ceil_mode, count_include_pad: false }
    }

    #[test]
    fn conv_same_padding_and_bias() {
        let op = conv([3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 1);
        let s = shape_of(&op, &[f32t(&[1, 3, 8, 8]), f32t(&[16, 3, 3, 3]), f32t(&[16])]);
        assert_eq!(s, vec![1, 16, 8, 8]);
    }

    #[test]
    fn conv_strides_asymmetric_pads_and_dilations() {
        let op = conv([3, 3], [2, 3], [0, 1, 1, 0], [2, 1], 1);
        // H: (10 + 0 + 1 - 5) / 2 + 1 = 4; W: (11 + 1 + 0 - 3) / 3 + 1 = 4
        assert_eq!(shape_of(&op, &[f32t(&[2, 4, 10, 11]), f32t(&[5, 4, 3, 3])]), vec![2, 5, 4, 4]);
    }

    #[test]
    fn conv_depthwise_and_grouped() {
        let dw = conv([3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 8);
        assert_eq!(shape_of(&dw, &[f32t(&[1, 8, 6, 6]), f32t(&[8, 1, 3, 3])]), vec![1, 8, 6, 6]);
        let g = conv([1, 1], [1, 1], [0; 4], [1, 1], 2);
        assert_eq!(shape_of(&g, &[f32t(&[1, 4, 5, 5]), f32t(&[6, 2, 1, 1])]), vec![1, 6, 5, 5]);
        let e = err_of(&g, &[f32t(&[1, 4, 5, 5]), f32t(&[5, 2, 1, 1])]);
        assert!(e.contains("output channels (weight dim 0) 5 not divisible by group 2"), "{e}");
        let e = err_of(&conv([1, 1], [1, 1], [0; 4], [1, 1], 3), &[f32t(&[1, 4, 5, 5]), f32t(&[6, 2, 1, 1])]);
        assert!(e.contains("input channels 4 not divisible by group 3"), "{e}");
    }

    #[test]
    fn conv_errors_name_the_problem() {
        let op = conv([3, 3], [1, 1], [0; 4], [1, 1], 1);
        let e = err_of(&op, &[f32t(&[1, 3, 8, 8]), f32t(&[8, 4, 3, 3])]);
        assert_eq!(e, "Conv: input channels 3 / group 1 != weight dim 1 = 4");
        let e = err_of(&op, &[f32t(&[1, 3, 8, 8]), f32t(&[8, 3, 3, 3]), f32t(&[4])]);
        assert!(e.contains("bias must be [8]"), "{e}");
        let e = err_of(&op, &[f32t(&[1, 3, 2, 8]), f32t(&[8, 3, 3, 3])]);
        assert!(e.contains("padded input height 2 < dilated kernel 3"), "{e}");
        let e = err_of(&conv([5, 5], [1, 1], [0; 4], [1, 1], 1), &[f32t(&[1, 3, 8, 8]), f32t(&[8, 3, 3, 3])]);
        assert!(e.contains("kernel [5, 5] != weight spatial dims [3, 3]"), "{e}");
        let e = err_of(&conv([3, 3], [0, 1], [0; 4], [1, 1], 1), &[f32t(&[1, 3, 8, 8]), f32t(&[8, 3, 3, 3])]);
        assert!(e.contains("strides [0, 1] must be >= 1"), "{e}");
        let e = err_of(&op, &[f32t(&[1, 3, 8]), f32t(&[8, 3, 3, 3])]);
        assert!(e.contains("input must have rank 4"), "{e}");
        let e = err_of(&op, &[TensorType::new(DType::U8, [1, 3, 8, 8]), f32t(&[8, 3, 3, 3])]);
        assert!(e.contains("float"), "{e}");
        assert!(err_of(&op, &[f32t(&[1, 3, 8, 8])]).contains("expects 2 to 3 inputs, got 1"));
    }

    #[test]
    fn conv_transpose_with_output_padding() {
        let op = Op::ConvTranspose(ConvTransposeAttrs {
            kernel: [3, 3],
            strides: [2, 2],
            pads: [1, 1, 1, 1],
            dilations: [1, 1],
            output_padding: [1, 0],
            group: 1,
        });
        // H: 2 * 3 + 1 + 2 + 1 - 2 = 8; W: 2 * 3 + 0 + 2 + 1 - 2 = 7
        let s = shape_of(&op, &[f32t(&[1, 4, 4, 4]), f32t(&[4, 6, 3, 3]), f32t(&[6])]);
        assert_eq!(s, vec![1, 6, 8, 7]);
    }

    #[test]
    fn conv_transpose_grouped_and_errors() {
        let mk = |output_padding, group| {
            Op::ConvTranspose(ConvTransposeAttrs {
                kernel: [2, 2],
                strides: [2, 2],
                pads: [0; 4],
                dilations: [1, 1],
                output_padding,
                group,
            })
        };
        assert_eq!(shape_of(&mk([0, 0], 2), &[f32t(&[1, 4, 3, 3]), f32t(&[4, 3, 2, 2])]), vec![1, 6, 6, 6]);
        // output_padding >= stride (ONNX's negative end pads from output_shape) is allowed
        assert_eq!(shape_of(&mk([3, 0], 1), &[f32t(&[1, 4, 3, 3]), f32t(&[4, 3, 2, 2])]), vec![1, 3, 9, 6]);
        let e = err_of(&mk([0, 0], 1), &[f32t(&[1, 4, 3, 3]), f32t(&[3, 3, 2, 2])]);
        assert!(e.contains("input channels 4 != weight dim 0 = 3"), "{e}");
        let e = err_of(&mk([0, 0], 1), &[f32t(&[1, 4, 3, 3]), f32t(&[4, 3, 2, 2]), f32t(&[4])]);
        assert!(e.contains("bias must be [3]"), "{e}");
    }

    #[test]
    fn matmul_ranks_and_batch_broadcast() {
        assert_eq!(shape_of(&Op::MatMul, &[f32t(&[2, 3]), f32t(&[3, 4])]), vec![2, 4]);
        assert_eq!(shape_of(&Op::MatMul, &[f32t(&[3]), f32t(&[3, 4])]), vec![4]);
        assert_eq!(shape_of(&Op::MatMul, &[f32t(&[2, 3]), f32t(&[3])]), vec![2]);
        assert_eq!(shape_of(&Op::MatMul, &[f32t(&[3]), f32t(&[3])]), Vec::<usize>::new());
        assert_eq!(shape_of(&Op::MatMul, &[f32t(&[5, 1, 2, 3]), f32t(&[4, 3, 6])]), vec![5, 4, 2, 6]);
        assert_eq!(shape_of(&Op::MatMul, &[f32t(&[3]), f32t(&[7, 3, 2])]), vec![7, 2]);
        let e = err_of(&Op::MatMul, &[f32t(&[2, 3]), f32t(&[4, 5])]);
        assert!(e.contains("inner dimensions differ: a f32[2,3] has K = 3, b f32[4,5] has K = 4"), "{e}");
        let e = err_of(&Op::MatMul, &[f32t(&[2, 2, 3]), f32t(&[3, 3, 4])]);
        assert!(e.contains("batch dims"), "{e}");
        assert!(err_of(&Op::MatMul, &[f32t(&[]), f32t(&[3])]).contains("rank >= 1"));
    }

    #[test]
    fn gemm_trans_flags_and_c_broadcast() {
        let g = |trans_a, trans_b| Op::Gemm(GemmAttrs { alpha: 1.0, beta: 1.0, trans_a, trans_b });
        assert_eq!(shape_of(&g(false, false), &[f32t(&[2, 3]), f32t(&[3, 4])]), vec![2, 4]);
        assert_eq!(shape_of(&g(true, false), &[f32t(&[3, 2]), f32t(&[3, 4])]), vec![2, 4]);
        assert_eq!(shape_of(&g(false, true), &[f32t(&[2, 3]), f32t(&[4, 3]), f32t(&[4])]), vec![2, 4]);
        assert_eq!(shape_of(&g(true, true), &[f32t(&[3, 2]), f32t(&[4, 3]), f32t(&[2, 1])]), vec![2, 4]);
        assert_eq!(shape_of(&g(false, false), &[f32t(&[2, 3]), f32t(&[3, 4]), f32t(&[])]), vec![2, 4]);
        let e = err_of(&g(false, false), &[f32t(&[2, 3]), f32t(&[4, 3])]);
        assert!(e.contains("A' has K = 3, B' has K = 4"), "{e}");
        let e = err_of(&g(false, true), &[f32t(&[2, 3]), f32t(&[4, 3]), f32t(&[3])]);
        assert!(e.contains("input c f32[3] does not broadcast to [2, 4]"), "{e}");
        let e = err_of(&g(false, true), &[f32t(&[2, 3]), f32t(&[4, 3]), f32t(&[1, 2, 4])]);
        assert!(e.contains("does not broadcast"), "{e}");
    }

    #[test]
    fn maxpool_floor_and_ceil_mode() {
        let x = f32t(&[1, 2, 6, 6]);
        assert_eq!(shape_of(&Op::MaxPool(pool([2, 2], [2, 2], [0; 4], false)), &[x.clone()]), vec![1, 2, 3, 3]);
        assert_eq!(shape_of(&Op::MaxPool(pool([3, 3], [2, 2], [0; 4], false)), &[x.clone()]), vec![1, 2, 2, 2]);
        assert_eq!(shape_of(&Op::MaxPool(pool([3, 3], [2, 2], [0; 4], true)), &[x.clone()]), vec![1, 2, 3, 3]);
        // ceil mode: a window that would start in the trailing padding is dropped
        // (H = 5, k = 2, s = 2, pads 1/1: ceil((7 - 2) / 2) + 1 = 4, window 3 starts at 6 >= 5 + 1)
        let x5 = f32t(&[1, 1, 5, 5]);
        assert_eq!(shape_of(&Op::MaxPool(pool([2, 2], [2, 2], [1, 1, 1, 1], true)), &[x5.clone()]), vec![1, 1, 3, 3]);
        assert_eq!(shape_of(&Op::MaxPool(pool([2, 2], [2, 2], [1, 1, 1, 1], false)), &[x5]), vec![1, 1, 3, 3]);
        assert_eq!(shape_of(&Op::MaxPool(pool([3, 3], [1, 1], [1, 1, 1, 1], false)), &[x]), vec![1, 2, 6, 6]);
    }

    #[test]
    fn pool_dilations_quant_and_errors() {
        let mut a = pool([2, 2], [1, 1], [0; 4], false);
        a.dilations = [2, 2];
        assert_eq!(shape_of(&Op::MaxPool(a), &[f32t(&[1, 1, 5, 5])]), vec![1, 1, 3, 3]);
        let q = u8q(&[1, 3, 4, 4], 0.1, 128);
        let t = infer1(&Op::MaxPool(pool([2, 2], [2, 2], [0; 4], false)), &[q.clone()]).unwrap();
        assert_eq!(t.quant, q.quant);
        let e = err_of(&Op::AveragePool(pool([2, 2], [2, 2], [0; 4], false)), &[q]);
        assert!(e.contains("float"), "{e}");
        let e = err_of(&Op::AveragePool(pool([2, 2], [2, 2], [2, 0, 0, 0], false)), &[f32t(&[1, 1, 4, 4])]);
        assert!(e.contains("smaller than kernel"), "{e}");
        let e = err_of(&Op::AveragePool(pool([5, 5], [1, 1], [0; 4], false)), &[f32t(&[1, 1, 4, 4])]);
        assert!(e.contains("padded input height 4 < dilated kernel 5"), "{e}");
        assert_eq!(
            shape_of(&Op::AveragePool(pool([3, 3], [2, 2], [1; 4], true)), &[f32t(&[1, 1, 7, 7])]),
            vec![1, 1, 4, 4]
        );
    }

    #[test]
    fn max_pool_with_indices_adds_i64_indices_of_the_output_shape() {
        let op = Op::MaxPoolWithIndices { pool: pool([2, 2], [2, 2], [0; 4], false), column_major: true };
        let q = u8q(&[1, 3, 4, 4], 0.1, 128);
        let tys = crate::infer_types(&op, &[&q]).unwrap();
        assert_eq!(tys.len(), 2);
        assert_eq!((tys[0].dtype, tys[0].shape.as_slice(), &tys[0].quant), (DType::U8, &[1, 3, 2, 2][..], &q.quant));
        assert_eq!(tys[1], TensorType::new(DType::I64, [1, 3, 2, 2]));
        assert!(crate::infer_types(&op, &[&f32t(&[1, 3, 4])]).unwrap_err().to_string().contains("rank 4"));
    }

    #[test]
    fn global_average_pool_keeps_n_and_c() {
        assert_eq!(shape_of(&Op::GlobalAveragePool, &[f32t(&[2, 8, 7, 7])]), vec![2, 8, 1, 1]);
        assert!(err_of(&Op::GlobalAveragePool, &[f32t(&[2, 8])]).contains("rank >= 3"));
    }

    #[test]
    fn batch_norm_checks_param_shapes() {
        let op = Op::BatchNormalization { epsilon: 1e-5 };
        let c = f32t(&[4]);
        let s = shape_of(&op, &[f32t(&[1, 4, 3, 3]), c.clone(), c.clone(), c.clone(), c.clone()]);
        assert_eq!(s, vec![1, 4, 3, 3]);
        let e = err_of(&op, &[f32t(&[1, 4, 3, 3]), c.clone(), c.clone(), f32t(&[3]), c.clone()]);
        assert!(e.contains("mean must be [4] (input channels), got f32[3]"), "{e}");
        let e =
            err_of(&Op::BatchNormalization { epsilon: f32::NAN }, &[f32t(&[1, 4]), c.clone(), c.clone(), c.clone(), c]);
        assert!(e.contains("epsilon NaN"), "{e}");
    }
}
