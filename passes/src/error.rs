//! The passes crate's error type.

use int8xc_ir::IrError;
use thiserror::Error;

/// A pass failed, or left or found an invalid graph.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PassError {
    /// A pass could not process a node (e.g. constant evaluation failed).
    #[error("pass {pass}: node '{node}' ({op}): {message}")]
    AtNode {
        /// Pass name.
        pass: String,
        /// Node name.
        node: String,
        /// Op name.
        op: String,
        /// What went wrong.
        message: String,
    },
    /// An IR operation inside a pass failed (the message names the node where known).
    #[error("pass {pass}: {source}")]
    Ir {
        /// Pass name.
        pass: String,
        /// The IR error.
        source: IrError,
    },
    /// The graph did not verify after the pass (`pass` is `"input"` when the graph given
    /// to the manager was already invalid).
    #[error("graph invalid after pass {pass}: {source}")]
    Verify {
        /// Pass name.
        pass: String,
        /// The verifier's error.
        source: IrError,
    },
}

impl PassError {
    /// An [`PassError::Ir`] from `pass`.
    pub fn ir(pass: &str, source: IrError) -> Self {
        PassError::Ir { pass: pass.to_string(), source }
    }
}
