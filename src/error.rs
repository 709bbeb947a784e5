//! The library's error type.

use thiserror::Error;

/// Errors from loading, compiling or running a model. Each wraps the failing stage's error,
/// whose message names the node, op, tensor or byte offset.
#[derive(Debug, Error)]
pub enum Error {
    /// The ONNX file could not be read, decoded or imported.
    #[error(transparent)]
    Onnx(#[from] int8xc_onnx::OnnxError),
    /// The IR is invalid (shape inference or verification failed).
    #[error(transparent)]
    Ir(#[from] int8xc_ir::IrError),
    /// An optimization pass failed.
    #[error(transparent)]
    Pass(#[from] int8xc_passes::PassError),
    /// JIT compilation or object emission failed.
    #[error(transparent)]
    Jit(#[from] int8xc_jit::JitError),
    /// Running the model failed (bad input shape or dtype, backend failure).
    #[error(transparent)]
    Runtime(#[from] int8xc_runtime::RuntimeError),
    /// An input's shape cannot bind the model's input dimensions.
    #[error("input '{name}': shape {given:?} does not match the model's dims {expected}")]
    ShapeBinding {
        /// Input name.
        name: String,
        /// Shape given.
        given: Vec<usize>,
        /// The model's dims, printed (`[batch,1,8,8]`).
        expected: String,
    },
    /// A `--input-shape` / [`crate::Compiler::input_shape`] names no graph input.
    #[error("no graph input named '{0}' (inputs: {1})")]
    UnknownInput(String, String),
    /// The requested target cannot be used this way (e.g. JIT for a foreign triple).
    #[error("{0}")]
    Target(String),
}
