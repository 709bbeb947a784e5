//! Operations and their attributes.
//!
//! Ops are the IR's normalized form, not a copy of ONNX: attributes are resolved to static
//! values at import (negative axes made positive, `auto_pad` turned into explicit pads, shape
//! inputs folded into attributes), `Flatten`/`Squeeze`/`Unsqueeze` become [`Op::Reshape`],
//! `Identity`/`Dropout` disappear, and `Constant` becomes a constant value. Layouts are NCHW.

use crate::DType;

/// Element-wise binary ops with numpy-style (multidirectional) broadcasting, as ONNX
/// `Add`/`Sub`/`Mul`/`Div` (opset 14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b` (integer division truncates toward zero, as ONNX Runtime does).
    Div,
}

/// Element-wise unary ops on `f32` tensors; formulas are the ONNX operator definitions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    /// `max(x, 0)` (ONNX `Relu`).
    Relu,
    /// `x < 0 ? alpha * x : x` (ONNX `LeakyRelu`, default alpha 0.01).
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// `min(max(x, min), max)` (ONNX `Clip`; absent bounds are ±infinity).
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// `1 / (1 + exp(-x))` (ONNX `Sigmoid`).
    Sigmoid,
    /// `tanh(x)` (ONNX `Tanh`).
    Tanh,
    /// `max(0, min(1, alpha * x + beta))` (ONNX `HardSigmoid`, defaults 0.2 / 0.5).
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x * max(0, min(1, x / 6 + 0.5))` (ONNX `HardSwish`).
    HardSwish,
}

/// Attributes of a 2-D convolution (ONNX `Conv`, opset 11+), NCHW.
///
/// Inputs: `x [N, C, H, W]`, `w [M, C / group, kH, kW]`, optional `bias [M]`.
/// Output: `[N, M, oH, oW]`, `oH = (H + pad_top + pad_bottom - dil_h * (kH - 1) - 1) / stride_h + 1`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConvAttrs {
    /// Kernel size `[kH, kW]`.
    pub kernel: [usize; 2],
    /// Strides `[sH, sW]`.
    pub strides: [usize; 2],
    /// Explicit padding `[top, left, bottom, right]` (ONNX order `[x1_begin, x2_begin, x1_end, x2_end]`).
    pub pads: [usize; 4],
    /// Dilations `[dH, dW]`.
    pub dilations: [usize; 2],
    /// Number of groups; `group == C == M` is a depthwise convolution.
    pub group: usize,
}

/// Attributes of a 2-D transposed convolution (ONNX `ConvTranspose`), NCHW.
///
/// Inputs: `x [N, C, H, W]`, `w [C, M / group, kH, kW]`, optional `bias [M]`.
/// Output: `[N, M, oH, oW]`, `oH = stride_h * (H - 1) + output_padding_h + (kH - 1) * dil_h + 1
/// - pad_top - pad_bottom`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConvTransposeAttrs {
    /// Kernel size `[kH, kW]`.
    pub kernel: [usize; 2],
    /// Strides `[sH, sW]`.
    pub strides: [usize; 2],
    /// Padding `[top, left, bottom, right]`, already resolved from `auto_pad`/`output_shape`.
    pub pads: [usize; 4],
    /// Dilations `[dH, dW]`.
    pub dilations: [usize; 2],
    /// Extra size added to one side of the output `[h, w]`.
    pub output_padding: [usize; 2],
    /// Number of groups.
    pub group: usize,
}

/// Attributes of `Gemm` (ONNX `Gemm`, opset 13): `Y = alpha * A' * B' + beta * C`, where
/// `A'` is `A` transposed when `trans_a`. Inputs `a [M, K]` (or `[K, M]`), `b [K, N]` (or
/// `[N, K]`), optional `c` broadcastable to `[M, N]`.
#[derive(Clone, Debug, PartialEq)]
pub struct GemmAttrs {
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of `C`.
    pub beta: f32,
    /// Transpose `A` first.
    pub trans_a: bool,
    /// Transpose `B` first.
    pub trans_b: bool,
}

/// Attributes of 2-D `MaxPool` / `AveragePool` (ONNX opset 11+ / 19), NCHW.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolAttrs {
    /// Window `[kH, kW]`.
    pub kernel: [usize; 2],
    /// Strides `[sH, sW]`.
    pub strides: [usize; 2],
    /// Padding `[top, left, bottom, right]` (explicit; `auto_pad` resolved at import).
    ///
    /// Output size `o = floor((H + top + bottom - (dH * (kH - 1) + 1)) / sH) + 1`; with
    /// `ceil_mode` the division rounds up, and the last window is dropped when it would start
    /// at or after `H + top` (it must start inside the input or its leading padding), as
    /// ONNX Runtime and PyTorch do.
    pub pads: [usize; 4],
    /// Dilations `[dH, dW]` (MaxPool only; 1 for AveragePool).
    pub dilations: [usize; 2],
    /// Output size rounds up instead of down.
    pub ceil_mode: bool,
    /// AveragePool: padded elements count in the divisor.
    pub count_include_pad: bool,
}

/// Interpolation mode of [`Op::Resize`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResizeMode {
    /// Nearest neighbour.
    Nearest,
    /// (Bi)linear.
    Linear,
}

/// ONNX `Resize` `coordinate_transformation_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoordTransform {
    /// `x_in = (x_out + 0.5) / scale - 0.5`.
    HalfPixel,
    /// Like `HalfPixel`, but 0 when the output size is 1.
    PytorchHalfPixel,
    /// `x_in = x_out * (in - 1) / (out - 1)`.
    AlignCorners,
    /// `x_in = x_out / scale`.
    Asymmetric,
    /// `x_in = (x_out + 0.5) / scale - 0.5` with `scale = out / in` (always the sizes' ratio).
    HalfPixelSymmetric,
}

/// ONNX `Resize` `nearest_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NearestMode {
    /// Round half down.
    RoundPreferFloor,
    /// Round half up.
    RoundPreferCeil,
    /// Floor.
    Floor,
    /// Ceil.
    Ceil,
}

/// Attributes of `Resize` (ONNX opset 11–19; `Upsample` imports as this too). `sizes` is the
/// output shape (resolved at import from the `sizes` input, or `floor(in * scale)` from
/// `scales`); `scales` holds the per-axis scale used in the coordinate transform (the given
/// `scales` input, or `out / in` when `sizes` was given).
#[derive(Clone, Debug, PartialEq)]
pub struct ResizeAttrs {
    /// Interpolation.
    pub mode: ResizeMode,
    /// Output-to-input coordinate mapping.
    pub coord: CoordTransform,
    /// Rounding for `Nearest`.
    pub nearest: NearestMode,
    /// Scale per axis (length = rank, finite and > 0).
    pub scales: Vec<f32>,
    /// Output shape (length = rank).
    pub sizes: Vec<usize>,
}

/// Attributes of `Slice` after import (ONNX `Slice`, opset 13): for each listed axis, element
/// `i` of the output is input element `start + i * step`, and the output length along the axis
/// is `max(0, ceil((end - start) / step))` (see [`SliceAttrs::output_len`]).
///
/// Starts and ends are already clamped as ONNX specifies (negative indices resolved by adding
/// the dimension `d`): for `step > 0`, `start` and `end` lie in `[0, d]`; for `step < 0`,
/// `start` lies in `[0, d - 1]` and `end` in `[-1, d - 1]` (`-1` means "through index 0").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SliceAttrs {
    /// Sliced axes (non-negative, distinct).
    pub axes: Vec<usize>,
    /// Clamped start index per axis.
    pub starts: Vec<i64>,
    /// Clamped end index per axis (exclusive).
    pub ends: Vec<i64>,
    /// Step per axis (non-zero; negative walks backwards).
    pub steps: Vec<i64>,
}

impl SliceAttrs {
    /// Output length along one sliced axis: `max(0, ceil((end - start) / step))`; 0 when
    /// `step == 0` (which shape inference rejects).
    pub fn output_len(start: i64, end: i64, step: i64) -> usize {
        if step == 0 {
            return 0;
        }
        let span = end as i128 - start as i128;
        let step = step as i128;
        // ceil division for a quotient that is only used when positive
        let q = if step > 0 { (span + step - 1).div_euclid(step) } else { (-span + (-step) - 1).div_euclid(-step) };
        usize::try_from(q.max(0)).unwrap_or(usize::MAX)
    }
}

/// An IR operation. Each variant documents its inputs; outputs are one value unless noted.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// 2-D convolution; see [`ConvAttrs`].
    Conv(ConvAttrs),
    /// 2-D transposed convolution; see [`ConvTransposeAttrs`].
    ConvTranspose(ConvTransposeAttrs),
    /// Matrix product with numpy `matmul` semantics (ONNX `MatMul`): `a [..., M, K]`,
    /// `b [..., K, N]`, batch dims broadcast; rank-1 operands are promoted and the added
    /// dimension removed.
    MatMul,
    /// General matrix multiply; see [`GemmAttrs`]. Lowered to `MatMul` + `Add` by a pass.
    Gemm(GemmAttrs),
    /// Broadcasting element-wise binary op: inputs `a`, `b` of the same dtype.
    Binary(BinaryOp),
    /// Element-wise unary op on one input.
    Unary(UnaryOp),
    /// `exp(x - max) / sum(exp(x - max))` along `axis` (ONNX `Softmax`, opset 13 semantics).
    Softmax {
        /// Normalized axis.
        axis: usize,
    },
    /// 2-D max pooling (padding is -infinity); see [`PoolAttrs`].
    MaxPool(PoolAttrs),
    /// 2-D average pooling; see [`PoolAttrs`].
    AveragePool(PoolAttrs),
    /// Mean over the spatial dims: `[N, C, H, W] → [N, C, 1, 1]`.
    GlobalAveragePool,
    /// Mean over `axes` (sorted, distinct), keeping them as size 1 when `keepdims` (ONNX
    /// `ReduceMean`; an empty `axes` list has been resolved at import).
    ReduceMean {
        /// Reduced axes.
        axes: Vec<usize>,
        /// Keep reduced axes as size 1.
        keepdims: bool,
    },
    /// Index (`i64`) of the maximum along `axis` (ONNX `ArgMax`); ties pick the first index,
    /// or the last with `select_last_index`.
    ArgMax {
        /// Reduced axis.
        axis: usize,
        /// Keep the axis as size 1.
        keepdims: bool,
        /// Ties pick the last index.
        select_last_index: bool,
    },
    /// Inference batch normalization: inputs `x [N, C, ...]`, `scale [C]`, `bias [C]`,
    /// `mean [C]`, `var [C]`; `y = scale * (x - mean) / sqrt(var + epsilon) + bias`.
    /// Folded into a preceding `Conv` by a pass when its operands are constant.
    BatchNormalization {
        /// Added to the variance.
        epsilon: f32,
    },
    /// Same elements (row-major order), new static shape `shape` (ONNX `Reshape` with the
    /// `shape` input resolved at import: no `0` or `-1` entries; also `Flatten`, `Squeeze`,
    /// `Unsqueeze`). The element count must not change.
    Reshape {
        /// The output shape.
        shape: Vec<usize>,
    },
    /// Permute dimensions: output dim `i` is input dim `perm[i]`.
    Transpose {
        /// The permutation.
        perm: Vec<usize>,
    },
    /// Concatenate all inputs along `axis`.
    Concat {
        /// Normalized axis.
        axis: usize,
    },
    /// Strided slice; see [`SliceAttrs`].
    Slice(SliceAttrs),
    /// Gather along `axis` (ONNX `Gather`): inputs `data`, `indices` (`i64`/`i32`, negative
    /// values count from the end); output shape `data[..axis] ++ indices ++ data[axis+1..]`.
    Gather {
        /// Normalized axis.
        axis: usize,
    },
    /// Element type conversion (ONNX `Cast`: float → int truncates toward zero, saturation
    /// is not applied).
    Cast {
        /// Target type (also the output type's dtype).
        to: DType,
    },
    /// Resize / upsample; see [`ResizeAttrs`].
    Resize(ResizeAttrs),
}

impl Op {
    /// The op's name as printed in IR text (ONNX names where they exist).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv(_) => "Conv",
            Op::ConvTranspose(_) => "ConvTranspose",
            Op::MatMul => "MatMul",
            Op::Gemm(_) => "Gemm",
            Op::Binary(BinaryOp::Add) => "Add",
            Op::Binary(BinaryOp::Sub) => "Sub",
            Op::Binary(BinaryOp::Mul) => "Mul",
            Op::Binary(BinaryOp::Div) => "Div",
            Op::Unary(UnaryOp::Relu) => "Relu",
            Op::Unary(UnaryOp::LeakyRelu { .. }) => "LeakyRelu",
            Op::Unary(UnaryOp::Clip { .. }) => "Clip",
            Op::Unary(UnaryOp::Sigmoid) => "Sigmoid",
            Op::Unary(UnaryOp::Tanh) => "Tanh",
            Op::Unary(UnaryOp::HardSigmoid { .. }) => "HardSigmoid",
            Op::Unary(UnaryOp::HardSwish) => "HardSwish",
            Op::Softmax { .. } => "Softmax",
            Op::MaxPool(_) => "MaxPool",
            Op::AveragePool(_) => "AveragePool",
            Op::GlobalAveragePool => "GlobalAveragePool",
            Op::ReduceMean { .. } => "ReduceMean",
            Op::ArgMax { .. } => "ArgMax",
            Op::BatchNormalization { .. } => "BatchNormalization",
            Op::Reshape { .. } => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::Concat { .. } => "Concat",
            Op::Slice(_) => "Slice",
            Op::Gather { .. } => "Gather",
            Op::Cast { .. } => "Cast",
            Op::Resize(_) => "Resize",
        }
    }

    /// Multiply-accumulate count of one execution, for compile statistics; 0 for ops that
    /// are not compute ops. `input_shapes` / `output_shape` are the node's value shapes.
    pub fn macs(&self, input_shapes: &[&[usize]], output_shape: &[usize]) -> u64 {
        let prod = |s: &[usize]| s.iter().map(|&d| d as u64).product::<u64>();
        match self {
            Op::Conv(a) => {
                let cin_per_group = input_shapes.get(1).and_then(|w| w.get(1)).copied().unwrap_or(0) as u64;
                prod(output_shape) * cin_per_group * (a.kernel[0] * a.kernel[1]) as u64
            }
            Op::ConvTranspose(a) => {
                let x = input_shapes.first().copied().unwrap_or(&[]);
                let w = input_shapes.get(1).copied().unwrap_or(&[]);
                prod(x) * w.get(1).copied().unwrap_or(0) as u64 * (a.kernel[0] * a.kernel[1]) as u64
            }
            Op::MatMul | Op::Gemm(_) => {
                let a = input_shapes.first().copied().unwrap_or(&[]);
                let k = match self {
                    Op::Gemm(g) if g.trans_a => a.first(),
                    _ => a.last(),
                };
                prod(output_shape) * k.copied().unwrap_or(0) as u64
            }
            _ => 0,
        }
    }
}
