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
//! - [`ConstEval`]: how importers and passes evaluate constant sub-graphs without depending on
//!   a backend.

#![warn(missing_docs)]

mod dtype;
mod error;
mod eval;
mod graph;
mod op;
mod quant;
mod shape;
mod tensor;
mod types;

pub use dtype::DType;
pub use error::IrError;
pub use eval::ConstEval;
pub use graph::{Graph, Node, NodeId, Value, ValueDef, ValueId};
pub use op::{
    BinaryOp, ConvAttrs, ConvTransposeAttrs, CoordTransform, GemmAttrs, NearestMode, Op, PoolAttrs, ResizeAttrs,
    ResizeMode, SliceAttrs, UnaryOp,
};
pub use quant::QuantParams;
pub use shape::infer_types;
pub use tensor::{unpack_nibble, Data, TensorData};
pub use types::{strides, TensorType};
