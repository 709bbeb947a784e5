//! The interpreter's error type.

use thiserror::Error;

/// What is wrong with one op's evaluation (the op and node are attached by [`InterpError::Op`]).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum OpErrorKind {
    /// Inputs or attributes are invalid: wrong input count, dtype, rank, shape, or an attribute
    /// out of range.
    #[error("{0}")]
    Invalid(String),
    /// Integer `Div` with a zero divisor (ONNX leaves it undefined; the oracle refuses).
    #[error("integer division by zero")]
    DivisionByZero,
    /// A data-dependent index (e.g. `Gather` indices) is outside its axis.
    #[error("index {index} out of range for axis {axis} of size {size}")]
    IndexOutOfRange {
        /// The offending index as given (before negative indices are resolved).
        index: i64,
        /// The indexed axis.
        axis: usize,
        /// The axis length.
        size: usize,
    },
    /// The op is valid IR but the interpreter does not implement this case (e.g. a dtype).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl OpErrorKind {
    /// Shorthand for [`OpErrorKind::Invalid`].
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        OpErrorKind::Invalid(msg.into())
    }

    /// Shorthand for [`OpErrorKind::Unsupported`].
    pub(crate) fn unsupported(msg: impl Into<String>) -> Self {
        OpErrorKind::Unsupported(msg.into())
    }
}

/// Errors from [`crate::Interpreter`] and [`crate::InterpretedModel`].
///
/// Messages name the node (when run as part of a graph) and the op, e.g.
/// `node 'div1' (Div): integer division by zero`, or `Gather: index 7 out of range for axis 0
/// of size 3` from [`crate::Interpreter::eval_op`].
#[derive(Debug, Error, Clone, PartialEq)]
pub enum InterpError {
    /// The graph inputs do not match the graph's input types (count, dtype or shape).
    #[error("{0}")]
    Input(String),
    /// Evaluating one op failed.
    #[error("{}", op_message(.node.as_deref(), .op, .kind))]
    Op {
        /// The node's name, when the op ran as part of a graph.
        node: Option<String>,
        /// The op's name ([`int8xc_ir::Op::name`]).
        op: String,
        /// What went wrong.
        kind: OpErrorKind,
    },
    /// The graph itself is malformed (dangling value id, value used before it is defined).
    #[error("invalid graph: {0}")]
    Graph(String),
}

fn op_message(node: Option<&str>, op: &str, kind: &OpErrorKind) -> String {
    match node {
        Some(n) => format!("node '{n}' ({op}): {kind}"),
        None => format!("{op}: {kind}"),
    }
}

impl InterpError {
    /// The error's [`OpErrorKind`], for op failures.
    pub fn kind(&self) -> Option<&OpErrorKind> {
        match self {
            InterpError::Op { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// Attaches a node name to an op error (other errors are returned unchanged).
    pub(crate) fn at_node(self, name: &str) -> Self {
        match self {
            InterpError::Op { node: None, op, kind } => InterpError::Op { node: Some(name.to_string()), op, kind },
            other => other,
        }
    }
}
