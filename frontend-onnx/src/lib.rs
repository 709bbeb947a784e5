//! # int8xc-onnx
//!
//! The ONNX front end: the first stage of int8xc's data flow (`model.onnx → ir::Graph`).
//!
//! - [`proto`]: the ONNX protobuf messages as hand-written `prost` derives (no `protoc`).
//! - [`decode_model`] / [`tensor_to_data`]: bytes → [`proto::ModelProto`], ONNX tensors →
//!   [`int8xc_ir::TensorData`] (every IR dtype; raw, typed-field and external data).
//! - [`OnnxModel`]: a decoded model; [`OnnxModel::import`] binds every graph input to a
//!   concrete shape and translates the graph into IR, folding constant sub-graphs with a
//!   caller-supplied [`int8xc_ir::ConstEval`].
//!
//! ```no_run
//! # use std::collections::HashMap;
//! # fn run(eval: &dyn int8xc_ir::ConstEval) -> Result<(), int8xc_onnx::OnnxError> {
//! let model = int8xc_onnx::OnnxModel::load("model.onnx".as_ref())?;
//! let shapes = HashMap::from([("input".to_string(), vec![1, 3, 224, 224])]);
//! let graph = model.import(&shapes, eval)?;
//! # let _ = graph; Ok(()) }
//! ```
//!
//! Supported: default-domain opsets 7–28 (the ops listed in [`SUPPORTED_OPS`], and the ONNX
//! Runtime contrib ops in [`MS_SUPPORTED_OPS`] (domain `com.microsoft`), with the
//! opset-specific attribute/input forms documented on each importer). Errors never panic
//! and name the file offset, tensor, input, or node and op at fault; a model with
//! unsupported ops fails with one error listing every one of them.

#![warn(missing_docs)]

mod decode;
mod error;
mod import;
mod model;
pub mod proto;
mod tensor_file;

pub use decode::{checked_shape, decode_model, read_external, tensor_to_data, MAX_DIM, MAX_ELEMENTS, MAX_FOLD_BYTES};
pub use error::{OnnxError, UnsupportedOp};
pub use import::{MS_SUPPORTED_OPS, OPSET_RANGE, SUPPORTED_OPS};
pub use model::{Dim, InputInfo, OnnxModel};
pub use tensor_file::decode_tensor;
