//! The runtime's error type.

use int8xc_ir::DType;
use thiserror::Error;

/// Errors at the run-time boundary.
#[derive(Debug, Error)]
pub enum RuntimeError {
    /// Wrong number of inputs.
    #[error("model takes {expected} input(s), {actual} given")]
    InputCount {
        /// Inputs the model takes.
        expected: usize,
        /// Inputs given.
        actual: usize,
    },
    /// An input has the wrong element type.
    #[error("input '{name}': expected dtype {expected}, got {actual}")]
    InputDType {
        /// Input name.
        name: String,
        /// Expected dtype.
        expected: DType,
        /// Given dtype.
        actual: DType,
    },
    /// An input has the wrong shape.
    #[error("input '{name}': expected shape {expected:?}, got {actual:?}")]
    InputShape {
        /// Input name.
        name: String,
        /// Expected shape.
        expected: Vec<usize>,
        /// Given shape.
        actual: Vec<usize>,
    },
    /// A `.npy` file could not be read or written.
    #[error("{path}: {message}")]
    Npy {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A backend failed while running (message names the node and op).
    #[error("{0}")]
    Backend(String),
}
