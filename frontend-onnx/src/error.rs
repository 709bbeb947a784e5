//! The front end's error type.

use std::path::PathBuf;

use thiserror::Error;

/// An op the importer cannot translate, as listed by [`OnnxError::UnsupportedOps`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedOp {
    /// Node name (or the generated `"{op_type}_{index}"`).
    pub node: String,
    /// ONNX op type.
    pub op_type: String,
    /// Operator-set domain (`""` is the default ONNX domain).
    pub domain: String,
    /// The model's opset version for that domain (0 when the domain is not imported).
    pub opset: i64,
}

impl std::fmt::Display for UnsupportedOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let domain = if self.domain.is_empty() { "ai.onnx" } else { &self.domain };
        write!(f, "node '{}': {} (domain {}, opset {})", self.node, self.op_type, domain, self.opset)
    }
}

fn list_unsupported(ops: &[UnsupportedOp]) -> String {
    ops.iter().map(|o| format!("\n  {o}")).collect()
}

/// Errors from reading, decoding and importing ONNX models.
///
/// Every message names where the problem is: the file and byte offset, the tensor, or the
/// node and op (and attribute).
#[derive(Debug, Error)]
pub enum OnnxError {
    /// The model file could not be read.
    #[error("cannot read ONNX model '{path}': {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The input is empty.
    #[error("empty input: an ONNX model file has at least a graph and an ir_version")]
    Empty,
    /// The bytes are not an ONNX model (wrong format, or a protobuf without graph/ir_version).
    #[error("not an ONNX model: {0}")]
    NotOnnx(String),
    /// The protobuf is malformed or cut short (the message has the byte offset where found).
    #[error("malformed ONNX protobuf: {0}")]
    Decode(String),
    /// A tensor's contents are invalid (size does not match dims, unsupported dtype, bad
    /// external data).
    #[error("tensor '{tensor}': {message}")]
    Tensor {
        /// Tensor name.
        tensor: String,
        /// What is wrong.
        message: String,
    },
    /// A graph input's shape is missing, unbound or contradicts the model.
    #[error("graph input '{input}': {message}")]
    InputShape {
        /// Input name.
        input: String,
        /// What is wrong.
        message: String,
    },
    /// The model uses ops the importer does not support; lists every one.
    #[error("unsupported ONNX ops ({}):{}", .0.len(), list_unsupported(.0))]
    UnsupportedOps(Vec<UnsupportedOp>),
    /// A node could not be imported (bad attribute, input, shape, or an unsupported variant).
    #[error("node '{node}' ({op_type}): {message}")]
    Node {
        /// Node name.
        node: String,
        /// ONNX op type.
        op_type: String,
        /// What is wrong.
        message: String,
    },
    /// The graph's structure is invalid (cycle, undefined value, duplicate definition).
    #[error("invalid ONNX graph: {0}")]
    Graph(String),
    /// The model's operator-set imports are missing or out of the supported range.
    #[error("opset: {0}")]
    Opset(String),
}

impl OnnxError {
    /// A [`OnnxError::Tensor`] error.
    pub(crate) fn tensor(tensor: &str, message: impl Into<String>) -> Self {
        OnnxError::Tensor { tensor: tensor.to_string(), message: message.into() }
    }
}
