//! Attributes of the float and data-movement ops (see the variants of [`crate::Op`]).

use super::MathFn;

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
    /// `max(a, b)`; NaN propagates (ONNX `Max`, opset 13, one pair at a time).
    Max,
    /// `min(a, b)`; NaN propagates (ONNX `Min`, opset 13).
    Min,
    /// `a ^ b` (ONNX `Pow`, opset 15, after import casts a differently typed exponent to
    /// `a`'s dtype). Integers: exact with wrapping; a negative exponent gives `1 / a^|b|`
    /// truncated (0 unless `|a| == 1`; `0^-n` is a division by zero).
    Pow,
    /// Remainder (ONNX `Mod`): with `fmod` the C `fmod` (sign of `a`), otherwise the numpy
    /// `mod` (sign of `b`; floats: `a - b * floor(a / b)` as numpy computes it). Integer
    /// division by zero is an error.
    Mod {
        /// C `fmod` semantics instead of Python's.
        fmod: bool,
    },
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
    /// A math function or further activation; see [`MathFn`].
    Math(MathFn),
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
    /// Extra size added to the end of the output `[h, w]`. ONNX requires it to be smaller
    /// than the stride or the dilation; the IR allows any value (the extra positions hold only
    /// the bias), which is how the importer expresses the negative end padding ONNX derives
    /// from an `output_shape` larger than the full output.
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
    /// Dilations `[dH, dW]`: window element `k` along an axis is at `o * s - pad_begin + k * d`
    /// (ONNX `MaxPool` opset 10+, `AveragePool` opset 19+).
    pub dilations: [usize; 2],
    /// Output size rounds up instead of down.
    pub ceil_mode: bool,
    /// AveragePool: the divisor counts the window positions inside the padded input
    /// `[-pad_begin, in + pad_end)` (not those beyond it that `ceil_mode` adds) instead of only
    /// those inside the input. Both counts are products of per-axis counts.
    pub count_include_pad: bool,
}

/// Interpolation mode of [`Op::Resize`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResizeMode {
    /// Nearest neighbour.
    Nearest,
    /// (Bi)linear.
    Linear,
    /// (Bi)cubic with coefficient [`ResizeAttrs::cubic_coeff_a`] (ONNX `cubic`).
    Cubic,
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
    /// `x_in = start * (in - 1) + x_out * (end - start) * (in - 1) / (out - 1)` for the
    /// normalized crop `(start, end)` of [`ResizeAttrs::roi`]; an `x_in` outside `[0, in - 1]`
    /// gives [`ResizeAttrs::extrapolation_value`].
    TfCropAndResize,
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
///
/// The fields after `sizes` are the ONNX attributes of the filter modes; [`Default`] gives
/// their ONNX defaults (`cubic_coeff_a = -0.75`, `exclude_outside = 0`, `antialias = 0`, no
/// `roi`, `extrapolation_value = 0`).
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
    /// The cubic coefficient `A` of `Cubic` (ONNX `cubic_coeff_a`; -0.75 as in PyTorch,
    /// -0.5 as in TensorFlow).
    pub cubic_coeff_a: f32,
    /// `Linear`/`Cubic`: taps outside the input get weight 0 and the weights are renormalized
    /// to sum to 1 (ONNX `exclude_outside`); without it they read the clamped edge.
    pub exclude_outside: bool,
    /// `Linear`/`Cubic`: when downsampling by `s < 1`, the filter is stretched by `1 / s` and
    /// its weights normalized to sum to 1 (ONNX `antialias`).
    pub antialias: bool,
    /// The normalized crop of `TfCropAndResize`, in ONNX layout `[start_0, …, start_{r-1},
    /// end_0, …, end_{r-1}]` (length `2 * rank`); empty for every other transform.
    pub roi: Vec<f32>,
    /// The output value of a `TfCropAndResize` position that falls outside the input (ONNX
    /// `extrapolation_value`).
    pub extrapolation_value: f32,
}

impl ResizeAttrs {
    /// The ONNX default of [`ResizeAttrs::cubic_coeff_a`].
    pub const DEFAULT_CUBIC_COEFF_A: f32 = -0.75;

    /// The crop `(start, end)` of `axis`: from [`ResizeAttrs::roi`], or `(0, 1)` (the whole
    /// axis) when `roi` does not cover it.
    pub fn roi_of(&self, axis: usize) -> (f32, f32) {
        let rank = self.roi.len() / 2;
        match (self.roi.get(axis), self.roi.get(rank + axis)) {
            (Some(&s), Some(&e)) if axis < rank => (s, e),
            _ => (0.0, 1.0),
        }
    }
}

impl Default for ResizeAttrs {
    /// ONNX's defaults: `nearest` mode, `half_pixel`, `round_prefer_floor`, the filter
    /// defaults listed on [`ResizeAttrs`]; `scales` and `sizes` empty (set them).
    fn default() -> Self {
        ResizeAttrs {
            mode: ResizeMode::Nearest,
            coord: CoordTransform::HalfPixel,
            nearest: NearestMode::RoundPreferFloor,
            scales: Vec::new(),
            sizes: Vec::new(),
            cubic_coeff_a: Self::DEFAULT_CUBIC_COEFF_A,
            exclude_outside: false,
            antialias: false,
            roi: Vec::new(),
            extrapolation_value: 0.0,
        }
    }
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
