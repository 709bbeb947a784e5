//! The IR crate's error type.

use thiserror::Error;

/// Errors from building, inferring, verifying, printing or parsing IR.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum IrError {
    /// Tensor storage does not match its shape.
    #[error("tensor of shape {shape:?} needs {expected} elements (or bytes), got {actual}")]
    TensorSize {
        /// The shape.
        shape: Vec<usize>,
        /// Storage length the shape needs.
        expected: usize,
        /// Storage length given.
        actual: usize,
    },
    /// An op's inputs or attributes are invalid (wrong count, rank, dtype, shape, attribute).
    #[error("{0}")]
    Invalid(String),
    /// An error located at a node.
    #[error("node '{node}' ({op}): {message}")]
    AtNode {
        /// Node name.
        node: String,
        /// Op name.
        op: String,
        /// What is wrong.
        message: String,
    },
    /// The graph breaks an invariant (cycle, dangling value, duplicate name, type mismatch).
    #[error("invalid graph: {0}")]
    Verify(String),
    /// IR text could not be parsed.
    #[error("IR text line {line}, column {column}: {message}")]
    Parse {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was expected.
        message: String,
    },
    /// A size limit was exceeded (see the crate docs' limits).
    #[error("limit exceeded: {0}")]
    Limit(String),
}

impl IrError {
    /// Shorthand for [`IrError::Invalid`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        IrError::Invalid(msg.into())
    }

    /// Attaches a node location to an unlocated error (located errors are kept as they are).
    pub fn at_node(self, node: &str, op: &str) -> Self {
        match self {
            IrError::AtNode { .. } => self,
            other => {
                // Shape-inference messages start with the op name; do not repeat it.
                let message = other.to_string();
                let message =
                    message.strip_prefix(op).and_then(|m| m.strip_prefix(": ")).map_or(message.clone(), str::to_string);
                IrError::AtNode { node: node.to_string(), op: op.to_string(), message }
            }
        }
    }
}
