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
//! - Quantization: [`QuantParams`] in types; the quantized ops ([`Op::QuantizeLinear`],
//!   [`Op::QConv`], [`Op::QMatMul`], the `QLinear*` ops, …) with their exact formulas;
//!   the shared scalar numerics [`quantize_f32`], [`dequantize`], [`requantize_f32`],
//!   [`requantize_fixed_point`]; and the Q31/Q15/Q7 helpers in [`fixed_point`].
//!
//! ## Quantization numerics
//!
//! (DESIGN.md "Numerics".) Quantize: `q = saturate(round_half_to_even(x / scale) + zp)`.
//! Integer compute ops accumulate `(a - a_zp) * (w - w_zp)` and the bias exactly in `i32`.
//! Requantization has two modes ([`RequantMode`]): an f32 multiplier `s_x * s_w / s_y` with
//! round-half-to-even (ONNX Runtime's arithmetic, bit-exact), and an integer-only Q31
//! multiplier with a rounding right shift (gemmlowp / TFLite). Where ONNX leaves rounding or
//! evaluation order open, each op documents the ONNX Runtime kernel it follows.
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
pub mod fixed_point;
mod graph;
mod op;
mod quant;
pub mod resize;
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
    BinaryOp, CompareOp, ConvAttrs, ConvTransposeAttrs, CoordTransform, GemmAttrs, LogicalOp, LstmAttrs, LstmDirection,
    MathFn, NearestMode, Op, PadAttrs, PadMode, PoolAttrs, QConvAttrs, QMatMulAttrs, ReduceKind, Requant, RequantMode,
    ResizeAttrs, ResizeMode, SliceAttrs, UnaryOp,
};
pub use op::{CumSumAttrs, TopKAttrs};
pub use quant::{
    dequantize, dequantize_tensor, is_unsigned, mlas_logistic, qlinear_activation, qlinear_lookup_table,
    qlinear_scalar_operand, quant_range, quantize_f32, requantize_f32, requantize_fixed_point, QuantParams,
};
pub use shape::{broadcast_shapes, infer_types, MAX_TENSOR_ELEMENTS};
pub use tensor::{unpack_nibble, Data, TensorData};
pub use text::{parse_graph, print_graph, PrintOptions};
pub use types::{strides, TensorType};
pub use verify::{verify, MAX_NODES};
