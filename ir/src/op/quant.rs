//! Attributes of the quantized ops (see the quantized variants of [`crate::Op`] for each op's
//! inputs and exact formula).
//!
//! Quantization parameters live in value types wherever they can ([`crate::TensorType::quant`]):
//! an op reads its inputs' parameters from their types, and an op that *produces* a quantized
//! value names the output parameters in its attributes (they become the output type). So a
//! pass that changes precision changes types, and the verifier checks them.

use crate::{ConvAttrs, DType, QuantParams};

/// How the requantization epilogue scales the `i32` accumulator (DESIGN.md, "Numerics").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequantMode {
    /// `y = round_half_to_even(f32(acc) * m) + zp_y` with the f32 multiplier
    /// `m = ((alpha * s_x) * s_w[c]) / s_y` evaluated in f32 left to right: what ONNX Runtime
    /// computes (MLAS `MlasRequantizeOutput`), so results match it to the bit.
    F32Multiplier,
    /// `y = MultiplyByQuantizedMultiplier(acc, m_q31, shift) + zp_y` with
    /// `(m_q31, shift) = quantize_multiplier(f64(alpha) * f64(s_x) * f64(s_w[c]) / f64(s_y))`
    /// ([`crate::fixed_point`]): integer only, the gemmlowp / TFLite scheme.
    FixedPoint,
}

/// The requantization epilogue of a quantized compute op ([`crate::Op::QConv`],
/// [`crate::Op::QMatMul`]): turns the `i32` accumulator into the quantized output
/// `out_dtype<out_scale, out_zero_point>` (per tensor, as ONNX `y_scale`/`y_zero_point`
/// are).
///
/// ```text
/// (lo, hi) = range(out_dtype) ∩ clamp
/// y = clamp(requantize(acc, channel c), lo, hi)
/// ```
///
/// where `requantize` is [`crate::requantize_f32`] or [`crate::requantize_fixed_point`]
/// according to `mode`. The output type is `out_dtype<out_scale,out_zero_point>[shape]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Requant {
    /// How the accumulator is scaled.
    pub mode: RequantMode,
    /// Output dtype: `u8`, `i8`, `u4`, `i4` or `i16`.
    pub out_dtype: DType,
    /// Output scale `s_y` (finite, > 0).
    pub out_scale: f32,
    /// Output zero point `zp_y` (within `out_dtype`'s range).
    pub out_zero_point: i32,
    /// A fused activation in the quantized domain: `Relu` is `(zp_y, max)`, `Clip(a, b)` is
    /// `(quantize(a), quantize(b))`. Intersected with the dtype's range; `lo <= hi`.
    pub clamp: Option<(i32, i32)>,
}

impl Requant {
    /// The output quantization parameters (per tensor).
    pub fn out_params(&self) -> QuantParams {
        QuantParams::per_tensor(self.out_scale, self.out_zero_point)
    }

    /// The f32 multipliers `((alpha * s_x) * s_w[c]) / s_y`, one per weight scale (f32
    /// arithmetic, left to right, as ONNX Runtime computes them).
    pub fn f32_multipliers(&self, alpha: f32, x_scale: f32, w_scales: &[f32]) -> Vec<f32> {
        w_scales.iter().map(|&sw| alpha * x_scale * sw / self.out_scale).collect()
    }

    /// The Q31 multipliers and shifts, one per weight scale:
    /// `quantize_multiplier(f64(alpha) * f64(s_x) * f64(s_w[c]) / f64(s_y))`.
    pub fn fixed_point_multipliers(&self, alpha: f32, x_scale: f32, w_scales: &[f32]) -> Vec<(i32, i32)> {
        w_scales
            .iter()
            .map(|&sw| {
                let real = alpha as f64 * x_scale as f64 * sw as f64 / self.out_scale as f64;
                crate::fixed_point::quantize_multiplier(real)
            })
            .collect()
    }

    /// `(lo, hi)`: the output dtype's range narrowed by `clamp`.
    pub fn output_range(&self) -> (i32, i32) {
        let (lo, hi) = crate::quant_range(self.out_dtype).unwrap_or((i32::MIN, i32::MAX));
        match self.clamp {
            Some((a, b)) => (lo.max(a), hi.min(b)),
            None => (lo, hi),
        }
    }
}

/// Attributes of [`crate::Op::QConv`]: the convolution geometry and the requantization.
#[derive(Clone, Debug, PartialEq)]
pub struct QConvAttrs {
    /// Kernel, strides, pads, dilations, group (as [`crate::Op::Conv`]).
    pub conv: ConvAttrs,
    /// The epilogue.
    pub requant: Requant,
}

/// Attributes of [`crate::Op::QMatMul`].
#[derive(Clone, Debug, PartialEq)]
pub struct QMatMulAttrs {
    /// Scale of the real-valued product (ONNX Runtime `QGemm`'s `alpha`; 1.0 for
    /// `QLinearMatMul` and QDQ). Finite and non-zero.
    pub alpha: f32,
    /// `Some`: quantized output. `None`: `f32` output `((alpha * s_a) * s_b[n]) * f32(acc)`
    /// (ONNX Runtime `QGemm` without `y_scale`).
    pub requant: Option<Requant>,
}

/// Direction of an LSTM (ONNX `LSTM` `direction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LstmDirection {
    /// Time steps `0, 1, …, seq-1`.
    Forward,
    /// Time steps `seq-1, …, 0`.
    Reverse,
    /// Both; direction 0 is forward, 1 reverse.
    Bidirectional,
}

impl LstmDirection {
    /// 1, or 2 for bidirectional.
    pub fn count(self) -> usize {
        if self == LstmDirection::Bidirectional {
            2
        } else {
            1
        }
    }
}

/// Attributes of [`crate::Op::Lstm`] and [`crate::Op::DynamicQuantizeLstm`] (ONNX `LSTM`
/// opset 14, `layout = 0`, default activations `Sigmoid`/`Tanh`/`Tanh`; the importer rejects
/// other activations and transposes `layout = 1`).
#[derive(Clone, Debug, PartialEq)]
pub struct LstmAttrs {
    /// Hidden size `H` (>= 1).
    pub hidden_size: usize,
    /// Direction.
    pub direction: LstmDirection,
    /// Cell clip: gate pre-activations are clamped to `[-clip, clip]` (finite, > 0).
    pub clip: Option<f32>,
    /// Couple the input and forget gates: `f = 1 - i`.
    pub input_forget: bool,
}
