//! Shape and type inference for every op.
//!
//! [`infer_types`] computes a node's output types from its op (with attributes) and its input
//! types alone, following the ONNX operator specs cited on each [`Op`] variant. Every op's
//! output is computable this way: ops whose ONNX form takes the output shape from a runtime
//! input (`Reshape`, `Resize`, `Slice`) carry it in their attributes after import.
//!
//! Output dtype: the input's for element-wise, movement and pooling ops; `i64` for `ArgMax`;
//! `bool` for `Compare`, `Logical` and `Not`;
//! `to` for `Cast`. Compute ops (`Conv`, `ConvTranspose`, `MatMul`, `Gemm`) and the float-only
//! ops take inputs of one float dtype and produce it.
//!
//! Quantized ops (`shape/quant.rs`) produce the quantization parameters their attributes
//! name and check the ones they read. Other ops drop quantization parameters (`None`) except
//! data-movement ops, which keep the input's: `Reshape`, `Transpose`, `Slice`, `Concat`, `Gather`, `MaxPool` and `Resize` in
//! `Nearest` mode. Per-axis parameters follow their axis (a `Transpose` moves it, a `Slice`
//! or `Concat` along it slices or concatenates the parameters).

mod index;
mod math;
mod movement;
mod nn;
mod quant;

use crate::{DType, IrError, Op, TensorType, UnaryOp};

/// Most elements one tensor may have (2^31); larger outputs are an [`IrError::Limit`].
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 31;

/// Output types of `op` applied to inputs of types `inputs`, one entry per output (three for
/// `DynamicQuantizeLinear` and the LSTMs, two for `TopK` and `MaxPoolWithIndices`, one for
/// every other op).
///
/// Errors: [`IrError::Invalid`] whose message starts with the op name and says what is wrong
/// (input count, rank, dtype, shapes that do not broadcast, attribute out of range), e.g.
/// `"Conv: input channels 3 / group 1 != weight dim 1 = 4"`; [`IrError::Limit`] when the
/// output would have more than [`MAX_TENSOR_ELEMENTS`] elements. Callers attach the node with
/// [`IrError::at_node`].
pub fn infer_types(op: &Op, inputs: &[&TensorType]) -> Result<Vec<TensorType>, IrError> {
    let multi = match op {
        Op::DynamicQuantizeLinear => Some(quant::dynamic_quantize_linear(op, inputs)?),
        Op::Lstm(a) | Op::DynamicQuantizeLstm(a) => Some(quant::lstm(op, a, inputs)?),
        Op::TopK(a) => Some(index::top_k(op, a, inputs)?),
        Op::MaxPoolWithIndices { pool, .. } => Some(nn::max_pool_with_indices(op, pool, inputs)?),
        _ => None,
    };
    if let Some(tys) = multi {
        for t in &tys {
            check_limit(op, t)?;
        }
        return Ok(tys);
    }
    let ty = match op {
        Op::Conv(a) => nn::conv(op, a, inputs)?,
        Op::ConvTranspose(a) => nn::conv_transpose(op, a, inputs)?,
        Op::MatMul => nn::matmul(op, inputs)?,
        Op::Gemm(a) => nn::gemm(op, a, inputs)?,
        Op::Binary(_) => binary(op, inputs)?,
        Op::Unary(u) => unary(op, u, inputs)?,
        Op::Softmax { axis } => {
            let x = one_input(op, inputs)?;
            require_float(op, "input", x)?;
            check_axis(op, "axis", *axis, x.rank())?;
            TensorType::new(x.dtype, x.shape.clone())
        }
        Op::MaxPool(a) | Op::AveragePool(a) => nn::pool(op, a, inputs)?,
        Op::GlobalAveragePool => nn::global_average_pool(op, inputs)?,
        Op::ReduceMean { axes, keepdims } => reduce_mean(op, axes, *keepdims, inputs)?,
        Op::ArgMax { axis, keepdims, .. } => {
            let x = one_input(op, inputs)?;
            require_numeric(op, "input", x)?;
            check_axis(op, "axis", *axis, x.rank())?;
            TensorType::new(DType::I64, reduced_shape(&x.shape, &[*axis], *keepdims))
        }
        Op::BatchNormalization { epsilon } => nn::batch_norm(op, *epsilon, inputs)?,
        Op::Reshape { shape } => movement::reshape(op, shape, inputs)?,
        Op::Transpose { perm } => movement::transpose(op, perm, inputs)?,
        Op::Concat { axis } => movement::concat(op, *axis, inputs)?,
        Op::Slice(a) => movement::slice(op, a, inputs)?,
        Op::Gather { axis } => movement::gather(op, *axis, inputs)?,
        Op::Cast { to } => {
            let x = one_input(op, inputs)?;
            TensorType::new(*to, x.shape.clone())
        }
        Op::Resize(a) => movement::resize(op, a, inputs)?,
        Op::Compare(_) => math::compare(op, inputs)?,
        Op::Logical(_) => math::logical(op, inputs)?,
        Op::Not => math::not(op, inputs)?,
        Op::Where => math::where_(op, inputs)?,
        Op::Expand { shape } => math::expand(op, shape, inputs)?,
        Op::Reduce { kind, axes, keepdims } => math::reduce(op, *kind, axes, *keepdims, inputs)?,
        Op::LogSoftmax { axis } => math::log_softmax(op, *axis, inputs)?,
        Op::Pad(a) => math::pad(op, a, inputs)?,
        Op::GatherElements { axis } => index::gather_elements(op, *axis, inputs)?,
        Op::CumSum(a) => index::cum_sum(op, a, inputs)?,
        Op::QuantizeLinear { dtype, params } => quant::quantize_linear(op, *dtype, params, inputs)?,
        Op::DequantizeLinear => quant::dequantize_linear(op, inputs)?,
        Op::QuantizeLinearDynamicParams { axis } => quant::quantize_linear_dynamic_params(op, *axis, inputs)?,
        Op::DequantizeLinearDynamicParams { axis } => quant::dequantize_linear_dynamic_params(op, *axis, inputs)?,
        Op::MatMulInteger => quant::matmul_integer(op, inputs)?,
        Op::ConvInteger(a) => quant::conv_integer(op, a, inputs)?,
        Op::QConv(a) => quant::qconv(op, a, inputs)?,
        Op::QMatMul(a) => quant::qmatmul(op, a, inputs)?,
        Op::QLinearBinary { op: b, out_scale, out_zero_point } => {
            quant::qlinear_binary(op, *b, *out_scale, *out_zero_point, inputs)?
        }
        Op::QLinearUnary { op: u, out_scale, out_zero_point } => {
            quant::qlinear_unary(op, u, *out_scale, *out_zero_point, inputs)?
        }
        Op::QLinearAveragePool { pool, out_scale, out_zero_point } => {
            quant::qlinear_average_pool(op, pool, *out_scale, *out_zero_point, inputs)?
        }
        Op::QLinearGlobalAveragePool { out_scale, out_zero_point } => {
            quant::qlinear_global_average_pool(op, *out_scale, *out_zero_point, inputs)?
        }
        Op::QLinearSoftmax { axis, out_scale, out_zero_point } => {
            quant::qlinear_softmax(op, *axis, *out_scale, *out_zero_point, inputs)?
        }
        Op::QLinearConcat { axis, out_scale, out_zero_point } => {
            quant::qlinear_concat(op, *axis, *out_scale, *out_zero_point, inputs)?
        }
        Op::DynamicQuantizeLinear
        | Op::Lstm(_)
        | Op::DynamicQuantizeLstm(_)
        | Op::TopK(_)
        | Op::MaxPoolWithIndices { .. } => return Err(fail(op, "internal: multi-output op")),
    };
    check_limit(op, &ty)?;
    Ok(vec![ty])
}

/// Numpy-style multidirectional broadcast of two shapes (ONNX "Broadcasting in ONNX"): align
/// trailing dimensions; each pair must be equal or contain a 1.
///
/// Errors: [`IrError::Invalid`] naming both shapes and the first incompatible dimension.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, IrError> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() { 1 } else { a[i - (rank - a.len())] };
        let db = if i < rank - b.len() { 1 } else { b[i - (rank - b.len())] };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(IrError::invalid(format!(
                    "shapes {a:?} and {b:?} do not broadcast (output dim {i}: {da} vs {db})"
                )))
            }
        };
    }
    Ok(out)
}

pub(crate) fn fail(op: &Op, msg: impl std::fmt::Display) -> IrError {
    IrError::Invalid(format!("{}: {msg}", op.name()))
}

fn check_limit(op: &Op, ty: &TensorType) -> Result<(), IrError> {
    match ty.checked_numel() {
        Some(n) if n <= MAX_TENSOR_ELEMENTS => Ok(()),
        _ => Err(IrError::Limit(format!("{}: output {} has more than {MAX_TENSOR_ELEMENTS} elements", op.name(), ty))),
    }
}

/// Checks the input count is in `min..=max`.
pub(crate) fn check_arity(op: &Op, inputs: &[&TensorType], min: usize, max: usize) -> Result<(), IrError> {
    let n = inputs.len();
    if n < min || n > max {
        let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
        return Err(fail(op, format!("expects {want} inputs, got {n}")));
    }
    Ok(())
}

pub(crate) fn one_input<'a>(op: &Op, inputs: &[&'a TensorType]) -> Result<&'a TensorType, IrError> {
    check_arity(op, inputs, 1, 1)?;
    Ok(inputs[0])
}

pub(crate) fn require_float(op: &Op, what: &str, t: &TensorType) -> Result<(), IrError> {
    if t.dtype.is_float() {
        Ok(())
    } else {
        Err(fail(op, format!("{what} must be a float tensor, got {t}")))
    }
}

pub(crate) fn require_numeric(op: &Op, what: &str, t: &TensorType) -> Result<(), IrError> {
    if t.dtype == DType::Bool {
        Err(fail(op, format!("{what} must be numeric, got {t}")))
    } else {
        Ok(())
    }
}

pub(crate) fn require_rank(op: &Op, what: &str, t: &TensorType, rank: usize) -> Result<(), IrError> {
    if t.rank() == rank {
        Ok(())
    } else {
        Err(fail(op, format!("{what} must have rank {rank}, got {t}")))
    }
}

pub(crate) fn require_same_dtype(op: &Op, what: &str, t: &TensorType, dtype: DType) -> Result<(), IrError> {
    if t.dtype == dtype {
        Ok(())
    } else {
        Err(fail(op, format!("{what} has dtype {}, expected {dtype}", t.dtype)))
    }
}

pub(crate) fn check_axis(op: &Op, what: &str, axis: usize, rank: usize) -> Result<(), IrError> {
    if axis < rank {
        Ok(())
    } else {
        Err(fail(op, format!("{what} {axis} out of range for rank {rank}")))
    }
}

fn binary(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 2)?;
    let (a, b) = (inputs[0], inputs[1]);
    require_numeric(op, "input a", a)?;
    require_same_dtype(op, "input b", b, a.dtype)?;
    let shape = broadcast_shapes(&a.shape, &b.shape).map_err(|e| fail(op, e))?;
    Ok(TensorType::new(a.dtype, shape))
}

fn unary(op: &Op, u: &UnaryOp, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_float(op, "input", x)?;
    if let UnaryOp::Clip { min, max } = u {
        if min > max {
            return Err(fail(op, format!("min {min:?} > max {max:?}")));
        }
    }
    Ok(TensorType::new(x.dtype, x.shape.clone()))
}

fn reduce_mean(op: &Op, axes: &[usize], keepdims: bool, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_numeric(op, "input", x)?;
    for (i, &a) in axes.iter().enumerate() {
        check_axis(op, "axis", a, x.rank())?;
        if i > 0 && axes[i - 1] >= a {
            return Err(fail(op, format!("axes {axes:?} must be sorted and distinct")));
        }
    }
    Ok(TensorType::new(x.dtype, reduced_shape(&x.shape, axes, keepdims)))
}

fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::{DType, IrError, Op, QuantParams, TensorType};

    pub fn f32t(shape: &[usize]) -> TensorType {
        TensorType::new(DType::F32, shape.to_vec())
    }

    pub fn u8q(shape: &[usize], scale: f32, zp: i32) -> TensorType {
        TensorType { dtype: DType::U8, shape: shape.to_vec(), quant: Some(QuantParams::per_tensor(scale, zp)) }
    }

    pub fn infer1(op: &Op, inputs: &[TensorType]) -> Result<TensorType, IrError> {
        let refs: Vec<&TensorType> = inputs.iter().collect();
        let mut v = super::infer_types(op, &refs)?;
        assert_eq!(v.len(), 1);
        Ok(v.remove(0))
    }

    pub fn shape_of(op: &Op, inputs: &[TensorType]) -> Vec<usize> {
        match infer1(op, inputs) {
            Ok(t) => t.shape,
            Err(e) => panic!("{} failed: {e}", op.name()),
        }
    }

    pub fn err_of(op: &Op, inputs: &[TensorType]) -> String {
        match infer1(op, inputs) {
            Ok(t) => panic!("{} unexpectedly gave {t}", op.name()),
            Err(e) => e.to_string(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads better in tables of cases
mod tests {
    use super::test_util::*;
    use super::*;
    use crate::BinaryOp;

    #[test]
    fn binary_broadcasts_numpy_style() {
        let add = Op::Binary(BinaryOp::Add);
        assert_eq!(shape_of(&add, &[f32t(&[2, 3, 4]), f32t(&[4])]), vec![2, 3, 4]);
        assert_eq!(shape_of(&add, &[f32t(&[2, 1, 4]), f32t(&[3, 1])]), vec![2, 3, 4]);
        assert_eq!(shape_of(&add, &[f32t(&[]), f32t(&[5, 1])]), vec![5, 1]);
        assert_eq!(shape_of(&add, &[f32t(&[0, 3]), f32t(&[1, 3])]), vec![0, 3]);
        let e = err_of(&add, &[f32t(&[2, 3]), f32t(&[4])]);
        assert!(e.contains("do not broadcast") && e.starts_with("Add:"), "{e}");
    }

    #[test]
    fn binary_requires_same_dtype_and_two_inputs() {
        let mul = Op::Binary(BinaryOp::Mul);
        let e = err_of(&mul, &[f32t(&[2]), TensorType::new(DType::I64, [2])]);
        assert!(e.contains("input b has dtype i64, expected f32"), "{e}");
        assert!(err_of(&mul, &[f32t(&[2])]).contains("expects 2 inputs, got 1"));
        let b = TensorType::new(DType::Bool, [2]);
        assert!(err_of(&mul, &[b.clone(), b]).contains("numeric"));
        assert_eq!(
            infer1(&mul, &[TensorType::new(DType::I32, [3]), TensorType::new(DType::I32, [])]).unwrap().dtype,
            DType::I32
        );
    }

    #[test]
    fn binary_drops_quant_params() {
        let t = infer1(&Op::Binary(BinaryOp::Add), &[u8q(&[2], 0.5, 3), u8q(&[2], 0.5, 3)]).unwrap();
        assert_eq!(t.quant, None);
    }

    #[test]
    fn unary_keeps_shape_and_checks_dtype() {
        for u in [
            UnaryOp::Relu,
            UnaryOp::LeakyRelu { alpha: 0.1 },
            UnaryOp::Clip { min: 0.0, max: 6.0 },
            UnaryOp::Sigmoid,
            UnaryOp::Tanh,
            UnaryOp::HardSigmoid { alpha: 0.2, beta: 0.5 },
            UnaryOp::HardSwish,
        ] {
            assert_eq!(shape_of(&Op::Unary(u), &[f32t(&[1, 3, 2])]), vec![1, 3, 2]);
        }
        let e = err_of(&Op::Unary(UnaryOp::Relu), &[TensorType::new(DType::I8, [2])]);
        assert!(e.contains("must be a float tensor"), "{e}");
        let e = err_of(&Op::Unary(UnaryOp::Clip { min: 1.0, max: 0.0 }), &[f32t(&[2])]);
        assert!(e.contains("min 1.0 > max 0.0"), "{e}");
        assert_eq!(shape_of(&Op::Unary(UnaryOp::Clip { min: f32::NEG_INFINITY, max: 6.0 }), &[f32t(&[2])]), vec![2]);
    }

    #[test]
    fn softmax_checks_axis() {
        assert_eq!(shape_of(&Op::Softmax { axis: 1 }, &[f32t(&[2, 10])]), vec![2, 10]);
        assert!(err_of(&Op::Softmax { axis: 2 }, &[f32t(&[2, 10])]).contains("axis 2 out of range for rank 2"));
    }

    #[test]
    fn reduce_mean_keepdims_or_not() {
        let x = f32t(&[2, 3, 4, 5]);
        assert_eq!(shape_of(&Op::ReduceMean { axes: vec![2, 3], keepdims: true }, &[x.clone()]), vec![2, 3, 1, 1]);
        assert_eq!(shape_of(&Op::ReduceMean { axes: vec![1, 3], keepdims: false }, &[x.clone()]), vec![2, 4]);
        assert_eq!(shape_of(&Op::ReduceMean { axes: vec![], keepdims: false }, &[x.clone()]), vec![2, 3, 4, 5]);
        assert!(err_of(&Op::ReduceMean { axes: vec![3, 2], keepdims: true }, &[x.clone()]).contains("sorted"));
        assert!(err_of(&Op::ReduceMean { axes: vec![4], keepdims: true }, &[x]).contains("out of range"));
    }

    #[test]
    fn argmax_gives_i64() {
        let x = f32t(&[2, 3, 4]);
        let op = Op::ArgMax { axis: 1, keepdims: false, select_last_index: false };
        let t = infer1(&op, &[x.clone()]).unwrap();
        assert_eq!((t.dtype, t.shape), (DType::I64, vec![2, 4]));
        let op = Op::ArgMax { axis: 2, keepdims: true, select_last_index: true };
        assert_eq!(shape_of(&op, &[x.clone()]), vec![2, 3, 1]);
        let op = Op::ArgMax { axis: 3, keepdims: true, select_last_index: true };
        assert!(err_of(&op, &[x]).contains("out of range"));
    }

    #[test]
    fn cast_changes_dtype_and_drops_quant() {
        let t = infer1(&Op::Cast { to: DType::F32 }, &[u8q(&[2, 2], 0.1, 0)]).unwrap();
        assert_eq!(t, f32t(&[2, 2]));
        assert!(err_of(&Op::Cast { to: DType::F32 }, &[]).contains("expects 1 inputs, got 0"));
    }

    #[test]
    fn huge_outputs_hit_the_element_limit() {
        let big = f32t(&[1 << 20, 1 << 12]);
        let e = infer1(&Op::Binary(BinaryOp::Add), &[big.clone(), f32t(&[1])]).unwrap_err();
        assert!(matches!(e, IrError::Limit(_)), "{e}");
        let overflow = f32t(&[usize::MAX, 2]);
        assert!(matches!(infer1(&Op::Unary(UnaryOp::Relu), &[overflow]), Err(IrError::Limit(_))));
    }

    #[test]
    fn at_node_does_not_repeat_the_op_name() {
        let e = err_of(&Op::Softmax { axis: 2 }, &[f32t(&[2])]);
        let located = IrError::invalid(e).at_node("sm", "Softmax");
        assert_eq!(located.to_string(), "node 'sm' (Softmax): axis 2 out of range for rank 1");
    }
}
