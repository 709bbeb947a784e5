//! The constant-evaluation interface.
//!
//! Importers and the constant-folding pass need to evaluate ops on constant inputs (the
//! `Shape → Gather → Concat` chains exporters emit, transposed weights, folded BatchNorm).
//! They do not depend on a backend: the caller passes an implementation of [`ConstEval`]
//! (the reference interpreter, `int8xc_interp::Interpreter`, implements it), so there is
//! one definition of every op's semantics.

use crate::{IrError, Op, TensorData, TensorType};

/// Evaluates one op on constant inputs.
pub trait ConstEval {
    /// Computes the outputs of `op` applied to `inputs`; `output_types` are the inferred
    /// output types (shapes and dtypes the results must have).
    ///
    /// Errors: [`IrError`] when the op is not supported or its inputs are invalid.
    fn eval(&self, op: &Op, inputs: &[&TensorData], output_types: &[TensorType]) -> Result<Vec<TensorData>, IrError>;

    /// As [`ConstEval::eval`], with the inputs' types, which carry the quantization
    /// parameters ops like `DequantizeLinear` read. The default ignores the types and calls
    /// [`ConstEval::eval`].
    fn eval_typed(
        &self,
        op: &Op,
        inputs: &[&TensorData],
        input_types: &[&TensorType],
        output_types: &[TensorType],
    ) -> Result<Vec<TensorData>, IrError> {
        let _ = input_types;
        self.eval(op, inputs, output_types)
    }
}
