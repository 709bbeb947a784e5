//! A node being imported ([`NodeIn`]) and typed access to its ONNX attributes.

use crate::proto::{AttributeProto, AttributeType, NodeProto, TensorProto};
use crate::OnnxError;

/// One ONNX node during import: its proto, its (unique) IR name and the model's opset for
/// its domain.
pub(crate) struct NodeIn<'a> {
    /// The node.
    pub proto: &'a NodeProto,
    /// Unique node name (the ONNX name, or `"{op_type}_{index}"` when empty).
    pub name: String,
    /// ONNX op type.
    pub op_type: &'a str,
    /// The model's opset version for the node's domain.
    pub opset: i64,
}

fn type_name(t: i32) -> String {
    AttributeType::try_from(t).map(|t| format!("{t:?}").to_uppercase()).unwrap_or_else(|_| format!("<{t}>"))
}

impl NodeIn<'_> {
    /// An [`OnnxError::Node`] naming this node and op.
    pub fn err(&self, message: impl Into<String>) -> OnnxError {
        OnnxError::Node { node: self.name.clone(), op_type: self.op_type.to_string(), message: message.into() }
    }

    /// The attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.proto.attribute.iter().find(|a| a.name == name)
    }

    /// The attribute `name` when it has the `expected` type (an untyped attribute, as very
    /// old exporters write, is accepted).
    fn typed(&self, name: &str, expected: AttributeType) -> Result<Option<&AttributeProto>, OnnxError> {
        match self.attr(name) {
            Some(a) if a.r#type != expected as i32 && a.r#type != AttributeType::Undefined as i32 => Err(self.err(
                format!("attribute '{name}' has type {}, expected {}", type_name(a.r#type), type_name(expected as i32)),
            )),
            other => Ok(other),
        }
    }

    /// Integer attribute, or `default` when absent.
    pub fn int(&self, name: &str, default: i64) -> Result<i64, OnnxError> {
        Ok(self.typed(name, AttributeType::Int)?.map_or(default, |a| a.i))
    }

    /// Integer attribute that must be present.
    pub fn int_required(&self, name: &str) -> Result<i64, OnnxError> {
        self.typed(name, AttributeType::Int)?
            .map(|a| a.i)
            .ok_or_else(|| self.err(format!("missing attribute '{name}'")))
    }

    /// Float attribute, or `default` when absent.
    pub fn float(&self, name: &str, default: f32) -> Result<f32, OnnxError> {
        Ok(self.typed(name, AttributeType::Float)?.map_or(default, |a| a.f))
    }

    /// String attribute (UTF-8), or `default` when absent.
    pub fn string(&self, name: &str, default: &str) -> Result<String, OnnxError> {
        match self.typed(name, AttributeType::String)? {
            None => Ok(default.to_string()),
            Some(a) => {
                String::from_utf8(a.s.clone()).map_err(|_| self.err(format!("attribute '{name}' is not valid UTF-8")))
            }
        }
    }

    /// Integer-list attribute, `None` when absent.
    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, OnnxError> {
        Ok(self.typed(name, AttributeType::Ints)?.map(|a| a.ints.clone()))
    }

    /// Float-list attribute, `None` when absent.
    pub fn floats(&self, name: &str) -> Result<Option<Vec<f32>>, OnnxError> {
        Ok(self.typed(name, AttributeType::Floats)?.map(|a| a.floats.clone()))
    }

    /// Tensor attribute, `None` when absent.
    pub fn tensor(&self, name: &str) -> Result<Option<&TensorProto>, OnnxError> {
        match self.typed(name, AttributeType::Tensor)? {
            None => Ok(None),
            Some(a) => a.t.as_ref().map(Some).ok_or_else(|| self.err(format!("attribute '{name}' holds no tensor"))),
        }
    }

    /// Name of input `i`, `None` when absent or empty (an omitted optional input).
    pub fn input_name(&self, i: usize) -> Option<&str> {
        self.proto.input.get(i).map(String::as_str).filter(|s| !s.is_empty())
    }

    /// Whether output `i` is used (present with a non-empty name).
    pub fn output_used(&self, i: usize) -> bool {
        self.proto.output.get(i).is_some_and(|s| !s.is_empty())
    }

    /// Normalizes a possibly negative `axis` for a tensor of rank `rank` (ONNX: `axis` in
    /// `[-rank, rank - 1]`).
    pub fn axis(&self, what: &str, axis: i64, rank: usize) -> Result<usize, OnnxError> {
        let r = rank as i64;
        if axis < -r || axis >= r {
            return Err(self.err(format!("{what} {axis} is out of range for rank {rank}")));
        }
        Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
    }

    /// A list of exactly `n` non-negative values from an integer-list attribute (or
    /// `default` for every element when absent).
    pub fn usize_list(&self, name: &str, n: usize, default: usize) -> Result<Vec<usize>, OnnxError> {
        match self.ints(name)? {
            None => Ok(vec![default; n]),
            Some(v) if v.len() != n => {
                Err(self.err(format!("attribute '{name}' has {} values, expected {n}", v.len())))
            }
            Some(v) => v
                .iter()
                .map(|&x| {
                    usize::try_from(x)
                        .ok()
                        .filter(|&x| x as u64 <= crate::decode::MAX_DIM)
                        .ok_or_else(|| self.err(format!("attribute '{name}' has an invalid value {x}")))
                })
                .collect(),
        }
    }
}
