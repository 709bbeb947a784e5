//! Shape and type rules of the quantized ops. Besides shapes, these check every invariant the
//! ops' semantics rely on (the verifier runs them on every node): the quantization parameters
//! an op reads are present and of a supported granularity, output parameters are well formed,
//! bias parameters are consistent, and no signedness combination ONNX Runtime rejects.
//! The `*DynamicParams` ops take scale and zero point as tensor inputs (checked for dtype and
//! shape here) and produce types without parameters.

use super::{check_arity, check_axis, fail, movement, nn, one_input, require_float, require_rank};
use crate::{
    broadcast_shapes, BinaryOp, ConvAttrs, DType, IrError, LstmAttrs, Op, PoolAttrs, QConvAttrs, QMatMulAttrs,
    QuantParams, Requant, TensorType, UnaryOp,
};

/// Dtypes `QuantizeLinear` and the requantization epilogue can produce.
const QUANT_OUT: &[DType] = &[DType::U8, DType::I8, DType::U4, DType::I4, DType::I16];
/// Dtypes of quantized activations of the compute ops.
const ACT_8: &[DType] = &[DType::U8, DType::I8];
/// Dtypes of quantized weights.
const WEIGHT: &[DType] = &[DType::U8, DType::I8, DType::U4, DType::I4];

fn require_dtype_in(op: &Op, what: &str, t: &TensorType, allowed: &[DType]) -> Result<(), IrError> {
    if allowed.contains(&t.dtype) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|d| d.name()).collect();
    Err(fail(op, format!("{what} must be {}, got {t}", names.join("/"))))
}

/// The parameters of a quantized input; an error when its type has none.
fn params<'a>(op: &Op, what: &str, t: &'a TensorType) -> Result<&'a QuantParams, IrError> {
    t.quant.as_ref().ok_or_else(|| fail(op, format!("{what} {t} has no quantization parameters")))
}

/// The (scale, zero point) of an input that must be quantized per tensor.
fn per_tensor(op: &Op, what: &str, t: &TensorType) -> Result<(f32, i32), IrError> {
    let q = params(op, what, t)?;
    match (q.axis, q.scale.as_slice(), q.zero_point.as_slice()) {
        (None, [s], [z]) => Ok((*s, *z)),
        _ => Err(fail(op, format!("{what} {t} must be quantized per tensor"))),
    }
}

/// Weight parameters: per tensor, or per axis `axis` (not blocked).
fn per_tensor_or_axis(op: &Op, what: &str, t: &TensorType, axis: usize) -> Result<(), IrError> {
    let q = params(op, what, t)?;
    match (q.axis, q.block_size) {
        (None, _) => Ok(()),
        (Some(a), None) if a == axis => Ok(()),
        _ => Err(fail(op, format!("{what} {t} must be quantized per tensor or per axis {axis}"))),
    }
}

/// ONNX Runtime has no kernel for a signed activation with an unsigned weight.
fn check_signedness(op: &Op, x: &TensorType, w: &TensorType) -> Result<(), IrError> {
    if !crate::is_unsigned(x.dtype) && crate::is_unsigned(w.dtype) {
        return Err(fail(
            op,
            format!(
                "signed input {} with unsigned weight {} is not supported (ONNX Runtime rejects it)",
                x.dtype, w.dtype
            ),
        ));
    }
    Ok(())
}

/// Checks output parameters `dtype<scale, zp>` and returns the output type.
fn out_type(op: &Op, dtype: DType, scale: f32, zero_point: i32, shape: Vec<usize>) -> Result<TensorType, IrError> {
    let q = QuantParams::per_tensor(scale, zero_point);
    q.check(dtype, &shape).map_err(|m| fail(op, format!("output parameters: {m}")))?;
    Ok(TensorType { dtype, shape, quant: Some(q) })
}

fn requant_type(op: &Op, r: &Requant, shape: Vec<usize>) -> Result<TensorType, IrError> {
    if !QUANT_OUT.contains(&r.out_dtype) {
        return Err(fail(op, format!("requant output dtype {} is not u8/i8/u4/i4/i16", r.out_dtype)));
    }
    if let Some((lo, hi)) = r.clamp {
        let (dlo, dhi) = crate::quant_range(r.out_dtype).unwrap_or((i32::MIN, i32::MAX));
        if lo > hi || hi < dlo || lo > dhi {
            return Err(fail(op, format!("clamp [{lo}, {hi}] is empty within {}'s range", r.out_dtype)));
        }
    }
    out_type(op, r.out_dtype, r.out_scale, r.out_zero_point, shape)
}

/// Checks a bias input: `i32`, and when it has parameters, zero point 0 and scale
/// `s_x * s_w` (per tensor or per `channels`), within 1e-5 relative.
fn check_bias(op: &Op, bias: &TensorType, x_scale: f32, w: &QuantParams) -> Result<(), IrError> {
    if bias.dtype != DType::I32 {
        return Err(fail(op, format!("bias must be i32, got {bias}")));
    }
    let Some(q) = &bias.quant else { return Ok(()) };
    if q.zero_point.iter().any(|&z| z != 0) || q.block_size.is_some() {
        return Err(fail(op, format!("bias {bias} must have zero point 0")));
    }
    for (i, &bs) in q.scale.iter().enumerate() {
        let ws = if w.scale.len() == 1 { w.scale[0] } else { w.scale.get(i).copied().unwrap_or(w.scale[0]) };
        let want = x_scale * ws;
        if ((bs - want) / want).abs() > 1e-5 {
            return Err(fail(
                op,
                format!("bias scale {bs:?} (index {i}) is not input scale × weight scale = {want:?}"),
            ));
        }
    }
    Ok(())
}

/// Zero-point input of `MatMulInteger` / `ConvInteger`: dtype of its operand, shape `[]`,
/// `[1]` or `[n]`.
fn check_zero_point_input(op: &Op, what: &str, zp: &TensorType, dtype: DType, n: usize) -> Result<(), IrError> {
    if zp.dtype != dtype {
        return Err(fail(op, format!("{what} must have dtype {dtype}, got {zp}")));
    }
    match zp.shape.as_slice() {
        [] | [1] => Ok(()),
        [k] if *k == n => Ok(()),
        _ => Err(fail(op, format!("{what} must be a scalar, [1] or [{n}], got {zp}"))),
    }
}

pub(super) fn quantize_linear(
    op: &Op,
    dtype: DType,
    q: &QuantParams,
    inputs: &[&TensorType],
) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_float(op, "input", x)?;
    if !QUANT_OUT.contains(&dtype) {
        return Err(fail(op, format!("output dtype {dtype} is not u8/i8/u4/i4/i16")));
    }
    q.check(dtype, &x.shape).map_err(|m| fail(op, format!("output parameters: {m}")))?;
    Ok(TensorType { dtype, shape: x.shape.clone(), quant: Some(q.clone()) })
}

pub(super) fn dequantize_linear(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_dtype_in(op, "input", x, &[DType::U8, DType::I8, DType::U4, DType::I4, DType::I16, DType::I32])?;
    params(op, "input", x)?;
    Ok(TensorType::new(DType::F32, x.shape.clone()))
}

/// The `(scale, zero point)` inputs of the `*DynamicParams` ops: `f32` scale and a zero
/// point of dtype `zp_dtype` (when given) with the scale's shape; `[]`/`[1]` per tensor
/// (`axis` `None`), `[shape[axis]]` per axis.
fn check_dynamic_params(
    op: &Op,
    x: &TensorType,
    scale: &TensorType,
    zp: &TensorType,
    axis: Option<usize>,
) -> Result<(), IrError> {
    if scale.dtype != DType::F32 {
        return Err(fail(op, format!("scale must be f32, got {scale}")));
    }
    if zp.shape != scale.shape {
        return Err(fail(op, format!("zero point {zp} and scale {scale} differ in shape")));
    }
    let ok = match axis {
        None => matches!(scale.shape.as_slice(), [] | [1]),
        Some(a) => {
            check_axis(op, "axis", a, x.rank())?;
            scale.shape == [x.shape[a]]
        }
    };
    if !ok {
        let want = axis.map_or_else(|| "[] or [1]".to_string(), |a| format!("[{}] (axis {a} of {x})", x.shape[a]));
        return Err(fail(op, format!("scale {scale} must have shape {want}")));
    }
    Ok(())
}

/// `QuantizeLinearDynamicParams`: `x` float, output the zero point's dtype, no parameters.
pub(super) fn quantize_linear_dynamic_params(
    op: &Op,
    axis: Option<usize>,
    inputs: &[&TensorType],
) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 3, 3)?;
    let (x, scale, zp) = (inputs[0], inputs[1], inputs[2]);
    require_float(op, "input", x)?;
    require_dtype_in(op, "zero point", zp, QUANT_OUT)?;
    check_dynamic_params(op, x, scale, zp, axis)?;
    Ok(TensorType::new(zp.dtype, x.shape.clone()))
}

/// `DequantizeLinearDynamicParams`: integer `x`, zero point of `x`'s dtype, `f32` output.
pub(super) fn dequantize_linear_dynamic_params(
    op: &Op,
    axis: Option<usize>,
    inputs: &[&TensorType],
) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 3, 3)?;
    let (x, scale, zp) = (inputs[0], inputs[1], inputs[2]);
    require_dtype_in(op, "input", x, &[DType::U8, DType::I8, DType::U4, DType::I4, DType::I16, DType::I32])?;
    if zp.dtype != x.dtype {
        return Err(fail(op, format!("zero point {zp} must have the dtype of the input {x}")));
    }
    check_dynamic_params(op, x, scale, zp, axis)?;
    Ok(TensorType::new(DType::F32, x.shape.clone()))
}

pub(super) fn dynamic_quantize_linear(op: &Op, inputs: &[&TensorType]) -> Result<Vec<TensorType>, IrError> {
    let x = one_input(op, inputs)?;
    require_dtype_in(op, "input", x, &[DType::F32])?;
    Ok(vec![
        TensorType::new(DType::U8, x.shape.clone()),
        TensorType::new(DType::F32, []),
        TensorType::new(DType::U8, []),
    ])
}

pub(super) fn matmul_integer(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 4)?;
    let (a, b) = (inputs[0], inputs[1]);
    require_dtype_in(op, "input a", a, ACT_8)?;
    require_dtype_in(op, "input b", b, ACT_8)?;
    check_signedness(op, a, b)?;
    let shape = nn::matmul_shape(op, a, b)?;
    let m = if a.rank() >= 2 { a.shape[a.rank() - 2] } else { 1 };
    let n = if b.rank() >= 2 { b.shape[b.rank() - 1] } else { 1 };
    if let Some(zp) = inputs.get(2) {
        check_zero_point_input(op, "a_zero_point", zp, a.dtype, m)?;
    }
    if let Some(zp) = inputs.get(3) {
        check_zero_point_input(op, "b_zero_point", zp, b.dtype, n)?;
    }
    Ok(TensorType::new(DType::I32, shape))
}

pub(super) fn conv_integer(op: &Op, a: &ConvAttrs, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 4)?;
    let (x, w) = (inputs[0], inputs[1]);
    require_dtype_in(op, "input", x, ACT_8)?;
    require_dtype_in(op, "weight", w, ACT_8)?;
    check_signedness(op, x, w)?;
    let shape = nn::conv_shape(op, a, x, w)?;
    if let Some(zp) = inputs.get(2) {
        check_zero_point_input(op, "x_zero_point", zp, x.dtype, 1)?;
    }
    if let Some(zp) = inputs.get(3) {
        check_zero_point_input(op, "w_zero_point", zp, w.dtype, w.shape[0])?;
    }
    Ok(TensorType::new(DType::I32, shape))
}

pub(super) fn qconv(op: &Op, a: &QConvAttrs, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 3)?;
    let (x, w) = (inputs[0], inputs[1]);
    require_dtype_in(op, "input", x, WEIGHT)?;
    require_dtype_in(op, "weight", w, WEIGHT)?;
    check_signedness(op, x, w)?;
    let (sx, _) = per_tensor(op, "input", x)?;
    per_tensor_or_axis(op, "weight", w, 0)?;
    let shape = nn::conv_shape(op, &a.conv, x, w)?;
    if let Some(bias) = inputs.get(2) {
        let m = w.shape[0];
        if bias.shape != [m] {
            return Err(fail(op, format!("bias must be [{m}] (output channels), got {bias}")));
        }
        check_bias(op, bias, sx, params(op, "weight", w)?)?;
    }
    requant_type(op, &a.requant, shape)
}

pub(super) fn qmatmul(op: &Op, a: &QMatMulAttrs, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 3)?;
    let (x, w) = (inputs[0], inputs[1]);
    require_dtype_in(op, "input a", x, ACT_8)?;
    require_dtype_in(op, "input b", w, WEIGHT)?;
    check_signedness(op, x, w)?;
    let (sa, _) = per_tensor(op, "input a", x)?;
    per_tensor_or_axis(op, "input b", w, w.rank().saturating_sub(1))?;
    if !(a.alpha.is_finite() && a.alpha != 0.0) {
        return Err(fail(op, format!("alpha {:?} must be finite and non-zero", a.alpha)));
    }
    let shape = nn::matmul_shape(op, x, w)?;
    if let Some(bias) = inputs.get(2) {
        let ok = bias.rank() <= shape.len() && broadcast_shapes(&bias.shape, &shape).is_ok_and(|s| s == shape);
        if !ok {
            return Err(fail(op, format!("bias {bias} does not broadcast to the output {shape:?}")));
        }
        check_bias(op, bias, a.alpha * sa, params(op, "input b", w)?)?;
    }
    match &a.requant {
        Some(r) => requant_type(op, r, shape),
        None => Ok(TensorType::new(DType::F32, shape)),
    }
}

pub(super) fn qlinear_binary(
    op: &Op,
    b: BinaryOp,
    scale: f32,
    zp: i32,
    inputs: &[&TensorType],
) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 2)?;
    if !matches!(b, BinaryOp::Add | BinaryOp::Mul) {
        return Err(fail(op, "only Add and Mul have a QLinear form"));
    }
    let (x, y) = (inputs[0], inputs[1]);
    require_dtype_in(op, "input a", x, ACT_8)?;
    if y.dtype != x.dtype {
        return Err(fail(op, format!("input b has dtype {}, input a {}", y.dtype, x.dtype)));
    }
    per_tensor(op, "input a", x)?;
    per_tensor(op, "input b", y)?;
    let shape = broadcast_shapes(&x.shape, &y.shape).map_err(|e| fail(op, e))?;
    out_type(op, x.dtype, scale, zp, shape)
}

pub(super) fn qlinear_unary(
    op: &Op,
    u: &UnaryOp,
    scale: f32,
    zp: i32,
    inputs: &[&TensorType],
) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_dtype_in(op, "input", x, ACT_8)?;
    per_tensor(op, "input", x)?;
    if let UnaryOp::Clip { min, max } = u {
        if min > max {
            return Err(fail(op, format!("min {min:?} > max {max:?}")));
        }
    }
    out_type(op, x.dtype, scale, zp, x.shape.clone())
}

pub(super) fn qlinear_average_pool(
    op: &Op,
    p: &PoolAttrs,
    scale: f32,
    zp: i32,
    inputs: &[&TensorType],
) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_dtype_in(op, "input", x, ACT_8)?;
    require_rank(op, "input", x, 4)?;
    per_tensor(op, "input", x)?;
    if p.dilations != [1, 1] {
        return Err(fail(op, format!("dilations {:?} must be [1, 1]", p.dilations)));
    }
    let shape = nn::pool_shape(op, p, x)?;
    out_type(op, x.dtype, scale, zp, shape)
}

pub(super) fn qlinear_global_average_pool(
    op: &Op,
    scale: f32,
    zp: i32,
    inputs: &[&TensorType],
) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_dtype_in(op, "input", x, ACT_8)?;
    per_tensor(op, "input", x)?;
    if x.rank() < 3 {
        return Err(fail(op, format!("input must have rank >= 3 (N, C, spatial...), got {x}")));
    }
    let mut shape = x.shape.clone();
    shape[2..].fill(1);
    out_type(op, x.dtype, scale, zp, shape)
}

pub(super) fn qlinear_softmax(
    op: &Op,
    axis: usize,
    scale: f32,
    zp: i32,
    inputs: &[&TensorType],
) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_dtype_in(op, "input", x, ACT_8)?;
    per_tensor(op, "input", x)?;
    check_axis(op, "axis", axis, x.rank())?;
    out_type(op, x.dtype, scale, zp, x.shape.clone())
}

pub(super) fn qlinear_concat(
    op: &Op,
    axis: usize,
    scale: f32,
    zp: i32,
    inputs: &[&TensorType],
) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 1, usize::MAX)?;
    require_dtype_in(op, "input 0", inputs[0], ACT_8)?;
    for (i, t) in inputs.iter().enumerate() {
        per_tensor(op, &format!("input {i}"), t)?;
    }
    let plain: Vec<TensorType> = inputs.iter().map(|t| TensorType::new(t.dtype, t.shape.clone())).collect();
    let refs: Vec<&TensorType> = plain.iter().collect();
    let cat = movement::concat(op, axis, &refs)?;
    out_type(op, cat.dtype, scale, zp, cat.shape)
}

/// Shapes of `Lstm` / `DynamicQuantizeLstm`: checks every input, returns `[y, y_h, y_c]`.
pub(super) fn lstm(op: &Op, a: &LstmAttrs, inputs: &[&TensorType]) -> Result<Vec<TensorType>, IrError> {
    check_arity(op, inputs, 7, 7)?;
    let quantized = matches!(op, Op::DynamicQuantizeLstm(_));
    let h = a.hidden_size;
    if h == 0 {
        return Err(fail(op, "hidden_size must be >= 1"));
    }
    if let Some(c) = a.clip.filter(|c| !(c.is_finite() && *c > 0.0)) {
        return Err(fail(op, format!("clip {c:?} must be finite and > 0")));
    }
    let x = inputs[0];
    require_dtype_in(op, "input x", x, &[DType::F32])?;
    require_rank(op, "input x", x, 3)?;
    let (seq, batch, input) = (x.shape[0], x.shape[1], x.shape[2]);
    let dirs = a.direction.count();
    let h4 = h.checked_mul(4).ok_or_else(|| IrError::Limit(format!("{}: hidden_size overflows", op.name())))?;
    let (w_shape, r_shape) =
        if quantized { ([dirs, input, h4], [dirs, h, h4]) } else { ([dirs, h4, input], [dirs, h4, h]) };
    let expect: [(&str, Vec<usize>); 6] = [
        ("w", w_shape.to_vec()),
        ("r", r_shape.to_vec()),
        ("b", vec![dirs, 2 * h4]),
        ("initial_h", vec![dirs, batch, h]),
        ("initial_c", vec![dirs, batch, h]),
        ("p", vec![dirs, 3 * h]),
    ];
    for (k, (name, shape)) in expect.iter().enumerate() {
        let t = inputs[k + 1];
        if t.shape != *shape {
            return Err(fail(op, format!("input {name} must have shape {shape:?}, got {t}")));
        }
        if quantized && k < 2 {
            require_dtype_in(op, name, t, ACT_8)?;
            let q = params(op, name, t)?;
            let ok = match (q.axis, q.block_size) {
                (None, _) => dirs == 1,
                (Some(0), None) => true,
                (Some(2), None) => dirs == 1,
                _ => false,
            };
            if !ok {
                return Err(fail(
                    op,
                    format!("input {name} {t} must be quantized per tensor (1 direction), per direction (axis 0) or per column (axis 2, 1 direction)"),
                ));
            }
        } else {
            require_dtype_in(op, name, t, &[DType::F32])?;
        }
    }
    Ok(vec![
        TensorType::new(DType::F32, [seq, dirs, batch, h]),
        TensorType::new(DType::F32, [dirs, batch, h]),
        TensorType::new(DType::F32, [dirs, batch, h]),
    ])
}
