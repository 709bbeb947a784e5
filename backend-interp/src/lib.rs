//! # int8xc-interp
//!
//! The reference interpreter: the correctness oracle of int8xc. It runs an [`int8xc_ir::Graph`]
//! node by node with plain loops, one function per op, and thereby *defines* what every op
//! means; the JIT and the CiM simulator are tested against it (DESIGN.md, "What correct
//! means").
//!
//! Where it sits: `frontend-onnx → ir::Graph → passes → backend-interp`. The ONNX importer and
//! the constant-folding pass also use it through [`int8xc_ir::ConstEval`] to evaluate constant
//! sub-graphs, so there is one definition of each op.
//!
//! ```
//! use int8xc_ir::{BinaryOp, DType, Graph, Op, TensorData, TensorType};
//! use int8xc_interp::Interpreter;
//!
//! let mut g = Graph::new("add");
//! let t = TensorType::new(DType::F32, [2]);
//! let a = g.add_input("a", t.clone());
//! let b = g.add_const("b", TensorData::from_f32([2], vec![10.0, 20.0]).unwrap());
//! let y = g.add_node_typed("y", Op::Binary(BinaryOp::Add), vec![a, b], vec![t]);
//! g.outputs = y;
//! let out = Interpreter.run_graph(&g, &[TensorData::from_f32([2], vec![1.0, 2.0]).unwrap()]).unwrap();
//! assert_eq!(out[0].as_f32().unwrap(), &[11.0, 22.0]);
//! ```
//!
//! ## Semantics
//!
//! Each op follows the ONNX operator cited in its IR documentation ([`int8xc_ir::Op`]); the
//! per-op functions document the details ONNX leaves open. In general:
//!
//! - Float ops take `f32` or `f16` and compute in `f32`; `f16` operands are widened exactly
//!   and results rounded to `f16` once. Element-wise arithmetic is plain `f32` arithmetic.
//! - Accumulations (Conv, ConvTranspose, MatMul, Gemm, pooling sums, means, softmax sums)
//!   are in `f32`, starting from 0, in the natural loop order: for Conv, input channel, then
//!   kernel row, then kernel column, and the bias is added after the sum; for MatMul/Gemm,
//!   `k` ascending; for pooling, window row then column; for reductions, row-major order of
//!   the reduced elements. The JIT may reorder and must stay within a few ULP.
//! - Integer arithmetic is exact and wraps on overflow; integer division truncates toward
//!   zero, and division by zero is an error.
//! - Data-movement ops (Reshape, Transpose, Concat, Slice, Gather, nearest Resize) work on
//!   every dtype, including packed 4-bit and `bool`.
//! - Malformed input (wrong input count, dtype or shape, invalid attributes, data-dependent
//!   indices out of range) is an [`InterpError`] naming the node and op, never a panic.
//! - Quantized ops (`ops/quant*.rs`, `ops/q*.rs`) read their inputs' quantization parameters
//!   from the value types ([`Interpreter::eval_op_typed`]) and compute exactly what their IR
//!   documentation says: integer accumulation in `i32`, both requantization modes, and for
//!   ONNX Runtime's QOperator ops the same f32 operations in the same order as ONNX
//!   Runtime's x86-64 kernels, so results match it bit for bit (LSTMs: within tolerance).

#![warn(missing_docs)]

mod error;
mod graph;
mod ops;

pub use error::{InterpError, OpErrorKind};
pub use graph::InterpretedModel;

use int8xc_ir::{ConstEval, IrError, Op, TensorData, TensorType};

use ops::{batchnorm, conv, elementwise, lstm, matmul, movement, pool, qgemm, qlinear, qpool, quant, reduce, resize};

/// The reference interpreter. Stateless: one value can run any number of graphs, from any
/// number of threads.
#[derive(Clone, Copy, Debug, Default)]
pub struct Interpreter;

impl Interpreter {
    /// Evaluates one op on `inputs` (in the op's documented input order) — what
    /// [`Interpreter::run_graph`] does for each node — taking the input types from the data
    /// (dtype and shape, no quantization parameters). Ops that read quantization parameters
    /// from their input types (`DequantizeLinear`, `QConv`, the `QLinear*` ops, …) need
    /// [`Interpreter::eval_op_typed`].
    ///
    /// `output_types` are the expected output types (as shape inference gives them); when
    /// non-empty, the results are checked against them (count, dtype and shape). Pass `&[]`
    /// to skip the check.
    ///
    /// Errors: [`InterpError::Op`] (without a node name) when the inputs or attributes are
    /// invalid, the case is unsupported, an integer division by zero or an index out of range
    /// occurs, or the results do not match `output_types`.
    pub fn eval_op(
        &self,
        op: &Op,
        inputs: &[&TensorData],
        output_types: &[TensorType],
    ) -> Result<Vec<TensorData>, InterpError> {
        let types: Vec<TensorType> = inputs.iter().map(|t| TensorType::new(t.dtype(), t.shape().to_vec())).collect();
        let refs: Vec<&TensorType> = types.iter().collect();
        self.eval_op_typed(op, inputs, &refs, output_types)
    }

    /// [`Interpreter::eval_op`] with the inputs' types given (one per input), so that ops can
    /// read their inputs' quantization parameters. Quantized ops first re-run shape inference
    /// ([`int8xc_ir::infer_types`]) on `input_types`, so every invariant their semantics rely
    /// on is checked, and each input's data must match its type's dtype and shape.
    ///
    /// Errors: as [`Interpreter::eval_op`]; also when `input_types` does not match `inputs`.
    pub fn eval_op_typed(
        &self,
        op: &Op,
        inputs: &[&TensorData],
        input_types: &[&TensorType],
        output_types: &[TensorType],
    ) -> Result<Vec<TensorData>, InterpError> {
        let fail = |kind| InterpError::Op { node: None, op: op.name().to_string(), kind };
        if input_types.len() != inputs.len() {
            return Err(fail(OpErrorKind::invalid(format!(
                "{} inputs but {} input types",
                inputs.len(),
                input_types.len()
            ))));
        }
        if let Some((k, (t, ty))) = inputs.iter().zip(input_types).enumerate().find(|(_, (t, ty))| !t.matches_type(ty))
        {
            return Err(fail(OpErrorKind::invalid(format!(
                "input {k} is {}{:?}, but its type is {ty}",
                t.dtype(),
                t.shape()
            ))));
        }
        let outputs = match op {
            Op::Conv(_)
            | Op::ConvTranspose(_)
            | Op::MatMul
            | Op::Gemm(_)
            | Op::Binary(_)
            | Op::Unary(_)
            | Op::Softmax { .. }
            | Op::MaxPool(_)
            | Op::AveragePool(_)
            | Op::GlobalAveragePool
            | Op::ReduceMean { .. }
            | Op::ArgMax { .. }
            | Op::BatchNormalization { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::Concat { .. }
            | Op::Slice(_)
            | Op::Gather { .. }
            | Op::Cast { .. }
            | Op::Resize(_) => vec![float_op(op, inputs).map_err(fail)?],
            _ => {
                let inferred = int8xc_ir::infer_types(op, input_types)
                    .map_err(|e| fail(OpErrorKind::invalid(strip_op_prefix(&e.to_string(), op.name()))))?;
                quant_op(op, inputs, input_types, &inferred).map_err(fail)?
            }
        };
        if !output_types.is_empty() {
            check_outputs(&outputs, output_types).map_err(fail)?;
        }
        Ok(outputs)
    }
}

/// The ops whose semantics depend on data alone (one output each).
fn float_op(op: &Op, inputs: &[&TensorData]) -> Result<TensorData, OpErrorKind> {
    match op {
        Op::Conv(a) => conv::conv(inputs, a),
        Op::ConvTranspose(a) => conv::conv_transpose(inputs, a),
        Op::MatMul => matmul::matmul(inputs),
        Op::Gemm(a) => matmul::gemm(inputs, a),
        Op::Binary(b) => elementwise::binary(inputs, *b),
        Op::Unary(u) => elementwise::unary(inputs, *u),
        Op::Softmax { axis } => reduce::softmax(inputs, *axis),
        Op::MaxPool(a) => pool::max_pool(inputs, a),
        Op::AveragePool(a) => pool::average_pool(inputs, a),
        Op::GlobalAveragePool => pool::global_average_pool(inputs),
        Op::ReduceMean { axes, keepdims } => reduce::reduce_mean(inputs, axes, *keepdims),
        Op::ArgMax { axis, keepdims, select_last_index } => {
            reduce::arg_max(inputs, *axis, *keepdims, *select_last_index)
        }
        Op::BatchNormalization { epsilon } => batchnorm::batch_norm(inputs, *epsilon),
        Op::Reshape { shape } => movement::reshape(inputs, shape),
        Op::Transpose { perm } => movement::transpose(inputs, perm),
        Op::Concat { axis } => movement::concat(inputs, *axis),
        Op::Slice(a) => movement::slice(inputs, a),
        Op::Gather { axis } => movement::gather(inputs, *axis),
        Op::Cast { to } => movement::cast(inputs, *to),
        Op::Resize(a) => resize::resize(inputs, a),
        Op::Compare(c) => ops::select::compare(inputs, *c),
        Op::Logical(l) => ops::select::logical(inputs, *l),
        Op::Not => ops::select::not(inputs),
        Op::Where => ops::select::where_(inputs),
        Op::Expand { shape } => ops::select::expand(inputs, shape),
        Op::Reduce { kind, axes, keepdims } => ops::reduce_kind::reduce(inputs, *kind, axes, *keepdims),
        Op::LogSoftmax { axis } => ops::reduce_kind::log_softmax(inputs, *axis),
        Op::Pad(a) => ops::pad::pad(inputs, a),
        Op::GatherElements { axis } => ops::index::gather_elements(inputs, *axis),
        Op::CumSum(a) => ops::index::cum_sum(inputs, a),
        other => Err(OpErrorKind::unsupported(format!("{} needs input types", other.name()))),
    }
}

/// The quantized ops; `types` have passed shape inference, which gave `out`.
fn quant_op(
    op: &Op,
    inputs: &[&TensorData],
    types: &[&TensorType],
    out: &[TensorType],
) -> Result<Vec<TensorData>, OpErrorKind> {
    let first = || out.first().ok_or_else(|| OpErrorKind::invalid("no output type"));
    let one = |t: Result<TensorData, OpErrorKind>| t.map(|t| vec![t]);
    match op {
        Op::QuantizeLinear { dtype, params } => one(quant::quantize_linear(inputs[0], *dtype, params)),
        Op::DequantizeLinear => one(quant::dequantize_linear(inputs[0], types[0])),
        Op::DynamicQuantizeLinear => quant::dynamic_quantize_linear(inputs[0]),
        Op::QuantizeLinearDynamicParams { axis } => one(quant::quantize_linear_dynamic_params(inputs, *axis)),
        Op::DequantizeLinearDynamicParams { axis } => one(quant::dequantize_linear_dynamic_params(inputs, *axis)),
        Op::MatMulInteger => one(qgemm::matmul_integer(inputs)),
        Op::ConvInteger(a) => one(qgemm::conv_integer(inputs, a, first()?)),
        Op::QConv(a) => one(qgemm::qconv(inputs, types, a, first()?)),
        Op::QMatMul(a) => one(qgemm::qmatmul(inputs, types, a)),
        Op::QLinearBinary { op: b, out_scale, out_zero_point } => {
            one(qlinear::qlinear_binary(inputs, types, *b, *out_scale, *out_zero_point))
        }
        Op::QLinearUnary { op: u, out_scale, out_zero_point } => {
            one(qlinear::qlinear_unary(inputs[0], types[0], *u, *out_scale, *out_zero_point))
        }
        Op::QLinearConcat { axis, out_scale, out_zero_point } => {
            one(qlinear::qlinear_concat(inputs, types, *axis, *out_scale, *out_zero_point))
        }
        Op::QLinearAveragePool { pool: p, out_scale, out_zero_point } => {
            one(qpool::qlinear_average_pool(inputs[0], types[0], p, (*out_scale, *out_zero_point), first()?))
        }
        Op::QLinearGlobalAveragePool { out_scale, out_zero_point } => {
            one(qpool::qlinear_global_average_pool(inputs[0], types[0], *out_scale, *out_zero_point, first()?))
        }
        Op::QLinearSoftmax { axis, out_scale, out_zero_point } => {
            one(qpool::qlinear_softmax(inputs[0], types[0], *axis, *out_scale, *out_zero_point))
        }
        Op::Lstm(a) => lstm::lstm(inputs, types, a, false),
        Op::DynamicQuantizeLstm(a) => lstm::lstm(inputs, types, a, true),
        Op::TopK(a) => ops::index::top_k(inputs, a),
        Op::MaxPoolWithIndices { pool: p, column_major } => pool::max_pool_with_indices(inputs, p, *column_major),
        other => float_op(other, inputs).map(|t| vec![t]),
    }
}

/// Shape-inference messages start with the op name, which the error adds again.
fn strip_op_prefix(msg: &str, op: &str) -> String {
    msg.strip_prefix(op).and_then(|m| m.strip_prefix(": ")).unwrap_or(msg).to_string()
}

/// Checks results against the expected output types (count, dtype, shape).
fn check_outputs(outputs: &[TensorData], types: &[TensorType]) -> Result<(), OpErrorKind> {
    if outputs.len() != types.len() {
        return Err(OpErrorKind::invalid(format!("produced {} outputs, expected {}", outputs.len(), types.len())));
    }
    for (i, (t, ty)) in outputs.iter().zip(types).enumerate() {
        if !t.matches_type(ty) {
            return Err(OpErrorKind::invalid(format!(
                "output {i} is {}{:?}, but its type is {ty}",
                t.dtype(),
                t.shape()
            )));
        }
    }
    Ok(())
}

impl ConstEval for Interpreter {
    /// [`Interpreter::eval_op`]; errors become [`IrError::Invalid`] with a message that
    /// starts with the op name (so [`IrError::at_node`] can attach the node).
    fn eval(&self, op: &Op, inputs: &[&TensorData], output_types: &[TensorType]) -> Result<Vec<TensorData>, IrError> {
        self.eval_op(op, inputs, output_types).map_err(|e| IrError::Invalid(e.to_string()))
    }

    /// [`Interpreter::eval_op_typed`], errors as for `eval`.
    fn eval_typed(
        &self,
        op: &Op,
        inputs: &[&TensorData],
        input_types: &[&TensorType],
        output_types: &[TensorType],
    ) -> Result<Vec<TensorData>, IrError> {
        self.eval_op_typed(op, inputs, input_types, output_types).map_err(|e| IrError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use int8xc_ir::{ConvAttrs, DType, Op};

    use super::*;
    use crate::ops::test_util::*;

    #[test]
    fn const_eval_folds_a_shape_chain() {
        // the exporters' Reshape target: Concat(Gather(shape, 0), [-1])
        let shape = i(&[4], &[8, 3, 7, 7]);
        let ev: &dyn ConstEval = &Interpreter;
        let batch = ev.eval(&Op::Gather { axis: 0 }, &[&shape, &i(&[1], &[0])], &[]).unwrap();
        let target = ev.eval(&Op::Concat { axis: 0 }, &[&batch[0], &i(&[1], &[-1])], &[]).unwrap();
        assert_eq!(target[0].as_i64().unwrap(), &[8, -1]);
        let e = ev.eval(&Op::Gather { axis: 0 }, &[&shape, &i(&[1], &[4])], &[]).unwrap_err();
        assert_eq!(e.to_string(), "Gather: index 4 out of range for axis 0 of size 4");
        assert_eq!(
            e.at_node("g", "Gather").to_string(),
            "node 'g' (Gather): index 4 out of range for axis 0 of size 4"
        );
    }

    #[test]
    fn eval_op_checks_results_against_output_types() {
        let x = f(&[2], &[1., 2.]);
        let op = Op::Cast { to: DType::I64 };
        assert!(Interpreter.eval_op(&op, &[&x], &[TensorType::new(DType::I64, [2])]).is_ok());
        let e = Interpreter.eval_op(&op, &[&x], &[TensorType::new(DType::I32, [2])]).unwrap_err();
        assert_eq!(e.to_string(), "Cast: output 0 is i64[2], but its type is i32[2]");
        let e = Interpreter.eval_op(&op, &[&x], &[f32t(&[2]), f32t(&[2])]).unwrap_err();
        assert!(e.to_string().contains("produced 1 outputs, expected 2"), "{e}");
    }

    #[test]
    fn hostile_attributes_are_errors_not_panics_or_huge_allocations() {
        let x = f(&[1, 1, 2, 2], &[0.; 4]);
        let w = f(&[1, 1, 1, 1], &[1.]);
        let conv =
            |pads, strides, dilations| Op::Conv(ConvAttrs { kernel: [1, 1], strides, pads, dilations, group: 1 });
        assert!(run_err(&conv([usize::MAX, 0, 1, 0], [1, 1], [1, 1]), &[&x, &w]).contains("overflow"));
        assert!(run_err(&conv([1 << 30, 0, 1 << 30, 0], [1, 1], [1, 1]), &[&x, &w]).contains("more than"));
        let y = run_ok(&conv([0; 4], [usize::MAX, usize::MAX], [usize::MAX, usize::MAX]), &[&x, &w]);
        assert_eq!(y.shape(), &[1, 1, 1, 1]);
        // broadcasting two large vectors against each other
        let a = f(&[1 << 16, 1], &vec![0.; 1 << 16]);
        let b = f(&[1, 1 << 16], &vec![0.; 1 << 16]);
        let e = run_err(&Op::Binary(int8xc_ir::BinaryOp::Add), &[&a, &b]);
        assert!(e.contains("more than"), "{e}");
    }
}
