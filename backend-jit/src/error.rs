//! The JIT backend's error type.

use thiserror::Error;

/// Errors from compiling a graph with the Cranelift backend or running the result.
#[derive(Debug, Error)]
pub enum JitError {
    /// The backend has no kernel for this op (or this configuration of it).
    #[error("node '{node}' ({op}): not supported by the JIT backend: {reason}")]
    Unsupported {
        /// Node name.
        node: String,
        /// Op name.
        op: String,
        /// What is missing.
        reason: String,
    },
    /// The node's inputs, outputs or attributes are inconsistent (the graph was not verified).
    #[error("node '{node}' ({op}): invalid: {reason}")]
    Invalid {
        /// Node name.
        node: String,
        /// Op name.
        op: String,
        /// What is wrong.
        reason: String,
    },
    /// Cranelift failed to compile or define a kernel.
    #[error("node '{node}': Cranelift: {message}")]
    Codegen {
        /// Node name (or `int8xc_model_run` for the object driver).
        node: String,
        /// Cranelift's message.
        message: String,
    },
    /// The target triple or ISA flags are not usable.
    #[error("target '{triple}': {message}")]
    Target {
        /// The triple.
        triple: String,
        /// What is wrong.
        message: String,
    },
    /// The graph as a whole is invalid (outputs not defined, sizes overflow).
    #[error("graph: {0}")]
    Graph(String),
}

impl JitError {
    /// A [`JitError::Unsupported`] for `node`.
    pub fn unsupported(node: &int8xc_ir::Node, reason: impl Into<String>) -> Self {
        JitError::Unsupported { node: node.name.clone(), op: node.op.name().to_string(), reason: reason.into() }
    }

    /// A [`JitError::Invalid`] for `node`.
    pub fn invalid(node: &int8xc_ir::Node, reason: impl Into<String>) -> Self {
        JitError::Invalid { node: node.name.clone(), op: node.op.name().to_string(), reason: reason.into() }
    }
}
