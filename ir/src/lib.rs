//! # int8xc-ir
//!
//! The IR every stage of int8xc shares: the front end produces it, passes rewrite it, and the
//! backends (interpreter, Cranelift JIT, CiM) consume it.
//!
//! - [`DType`], [`QuantParams`] and [`TensorType`]: a value's type is its dtype, static shape
//!   and, for quantized tensors, quantization parameters.
//! - [`TensorData`]: constant contents (and the runtime's tensor values).
//! - [`Graph`], [`Node`], [`Value`], [`Op`]: SSA values over nodes in topological order,
//!   addressed by [`ValueId`] / [`NodeId`] newtypes.
//! - [`infer_types`]: shape inference; [`verify`]: the invariant checker.
//! - [`print_graph`] / [`parse_graph`] (and `Display` / `FromStr` for [`Graph`]): the text
//!   form, which round-trips.
//! - Graph editing for passes: [`Graph::replace_uses`], [`Graph::detached_node`],
//!   [`Graph::splice`], [`Graph::remove_nodes`], [`Graph::compact`],
//!   [`Graph::canonicalize`].
//! - [`ConstEval`]: how importers and passes evaluate constant sub-graphs without depending on
//!   a backend.
//!
//! ## Limits
//!
//! The verifier rejects graphs beyond these sizes ([`IrError::Limit`]), so later stages can
//! compute sizes and offsets without overflow:
//!
//! - at most [`MAX_TENSOR_ELEMENTS`] (2^31) elements per tensor (shape inference also refuses
//!   to produce larger outputs);
//! - at most [`MAX_NODES`] (1,000,000) nodes per graph, at most `u32::MAX` values.

#![warn(missing_docs)]

mod dtype;
mod error;
mod eval;
mod graph;
mod op;
mod quant;
mod rewrite;
mod shape;
mod tensor;
mod text;
mod types;
mod verify;

pub use dtype::DType;
pub use error::IrError;
pub use eval::ConstEval;
pub use graph::{Graph, Node, NodeId, Value, ValueDef, ValueId};
pub use op::{
    BinaryOp, ConvAttrs, ConvTransposeAttrs, CoordTransform, GemmAttrs, NearestMode, Op, PoolAttrs, ResizeAttrs,
    ResizeMode, SliceAttrs, UnaryOp,
};
pub use quant::QuantParams;
pub use shape::{broadcast_shapes, infer_types, MAX_TENSOR_ELEMENTS};
pub use tensor::{unpack_nibble, Data, TensorData};
pub use text::{parse_graph, print_graph, PrintOptions};
pub use types::{strides, TensorType};
pub use verify::{verify, MAX_NODES};
