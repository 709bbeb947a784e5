//! Quantization parameters (part of a quantized tensor's type) and the scalar formulas every
//! backend shares: quantize, dequantize and the two requantization modes.
//!
//! The formulas are the ONNX operator definitions, made exact where ONNX leaves rounding
//! open by following ONNX Runtime's MLAS kernels (`onnxruntime/core/mlas/lib/quantize.cpp`,
//! `MlasQuantizeLinear` and `MlasRequantizeOutput`), so results match ONNX Runtime bit for bit.

use crate::fixed_point::{multiply_by_quantized_multiplier, round_half_to_even};
use crate::{DType, Data, TensorData, UnaryOp};

/// Affine quantization parameters: `real = scale * (q - zero_point)`.
///
/// Three granularities, as in ONNX `QuantizeLinear`/`DequantizeLinear` (opsets 10, 13, 21):
///
/// - **per tensor**: `axis == None`, one `scale` and one `zero_point`;
/// - **per axis** (opset 13): `axis == Some(a)`, `block_size == None`, one pair per index
///   along dimension `a` (e.g. per output channel of a weight);
/// - **blocked** (opset 21): `axis == Some(a)`, `block_size == Some(b)`: the parameters form
///   a tensor of the value's shape with dimension `a` replaced by `ceil(shape[a] / b)`, stored
///   row-major; element `[i0, .., ia, ..]` uses parameter `[i0, .., ia / b, ..]`.
///
/// Well-formedness (checked by [`QuantParams::check`], which the verifier runs on every
/// type): only on integer dtypes; scales finite and `> 0`; one zero point per scale, within
/// the dtype's range ([`quant_range`]); the number of pairs matches the granularity.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantParams {
    /// Scale per tensor (length 1), per index along `axis`, or per block. Finite and > 0.
    pub scale: Vec<f32>,
    /// Zero point, same length as `scale`, within the range of the quantized dtype.
    pub zero_point: Vec<i32>,
    /// The quantized dimension for per-axis and blocked parameters.
    pub axis: Option<usize>,
    /// Block length along `axis` for blocked parameters (ONNX opset 21 `block_size`).
    pub block_size: Option<usize>,
}

impl QuantParams {
    /// Per-tensor parameters.
    pub fn per_tensor(scale: f32, zero_point: i32) -> Self {
        QuantParams { scale: vec![scale], zero_point: vec![zero_point], axis: None, block_size: None }
    }

    /// Per-axis parameters along `axis`.
    pub fn per_axis(axis: usize, scale: Vec<f32>, zero_point: Vec<i32>) -> Self {
        QuantParams { scale, zero_point, axis: Some(axis), block_size: None }
    }

    /// True for one scale and zero point for the whole tensor.
    pub fn is_per_tensor(&self) -> bool {
        self.axis.is_none()
    }

    /// How many (scale, zero point) pairs a value of `shape` needs with this granularity, or
    /// an error message (axis out of range, block size 0).
    pub fn expected_len(&self, shape: &[usize]) -> Result<usize, String> {
        let Some(a) = self.axis else { return Ok(1) };
        let d = *shape.get(a).ok_or_else(|| format!("quantization axis {a} out of range for rank {}", shape.len()))?;
        match self.block_size {
            None => Ok(d),
            Some(0) => Err("block_size must be >= 1".into()),
            Some(b) => Ok(shape
                .iter()
                .enumerate()
                .map(|(i, &s)| if i == a { s.div_ceil(b) } else { s })
                .try_fold(1usize, |acc, s| acc.checked_mul(s))
                .unwrap_or(usize::MAX)),
        }
    }

    /// Checks the parameters are well formed for a value of type `dtype[shape]` (see the type
    /// docs); the message says what is wrong.
    pub fn check(&self, dtype: DType, shape: &[usize]) -> Result<(), String> {
        let Some((lo, hi)) = quant_range(dtype) else {
            return Err(format!("quantization parameters on non-integer dtype {dtype}"));
        };
        if self.block_size.is_some() && self.axis.is_none() {
            return Err("block_size without an axis".into());
        }
        if self.scale.len() != self.zero_point.len() {
            return Err(format!("{} scales but {} zero points", self.scale.len(), self.zero_point.len()));
        }
        let want = self.expected_len(shape)?;
        if self.scale.len() != want {
            let what = match (self.axis, self.block_size) {
                (None, _) => "per tensor".to_string(),
                (Some(a), None) => format!("one per index of axis {a}"),
                (Some(a), Some(b)) => format!("one per block of {b} along axis {a}"),
            };
            return Err(format!("{} scales, expected {want} ({what})", self.scale.len()));
        }
        if let Some(s) = self.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(format!("scale {s:?} is not finite and > 0"));
        }
        if let Some(z) = self.zero_point.iter().find(|&&z| !(lo..=hi).contains(&z)) {
            return Err(format!("zero point {z} outside {dtype}'s range [{lo}, {hi}]"));
        }
        Ok(())
    }

    /// For every element of a value of `shape` (row-major), the index of its parameter pair.
    /// Assumes [`QuantParams::check`] passed for `shape`.
    pub fn param_index_map(&self, shape: &[usize]) -> Vec<usize> {
        let numel: usize = shape.iter().product();
        let Some(a) = self.axis.filter(|&a| a < shape.len()) else { return vec![0; numel] };
        let inner: usize = shape[a + 1..].iter().product();
        let d = shape[a];
        match self.block_size {
            None => (0..numel).map(|i| (i / inner.max(1)) % d.max(1)).collect(),
            Some(b) => {
                let nb = d.div_ceil(b.max(1));
                (0..numel)
                    .map(|i| {
                        let outer = i / (inner * d).max(1);
                        let ia = (i / inner.max(1)) % d.max(1);
                        let rest = i % inner.max(1);
                        (outer * nb + ia / b.max(1)) * inner + rest
                    })
                    .collect()
            }
        }
    }
}

/// The integer range `[min, max]` of a quantized dtype: `u8` `[0, 255]`, `i8` `[-128, 127]`,
/// `u4` `[0, 15]`, `i4` `[-8, 7]`, `i16`, `i32`; `None` for float, `i64` and `bool`.
pub fn quant_range(dtype: DType) -> Option<(i32, i32)> {
    Some(match dtype {
        DType::U8 => (0, 255),
        DType::I8 => (-128, 127),
        DType::U4 => (0, 15),
        DType::I4 => (-8, 7),
        DType::I16 => (i16::MIN as i32, i16::MAX as i32),
        DType::I32 => (i32::MIN, i32::MAX),
        DType::F32 | DType::F16 | DType::I64 | DType::Bool => return None,
    })
}

/// True for the dtypes `u8`, `u4` (unsigned quantized types).
pub fn is_unsigned(dtype: DType) -> bool {
    matches!(dtype, DType::U8 | DType::U4)
}

/// ONNX `QuantizeLinear` on one element, exactly as MLAS `MlasQuantizeLinear` computes it:
///
/// ```text
/// v = x / scale                       (f32 division)
/// v = min(max(v, lo - zp), hi - zp)   (a NaN becomes lo - zp, as x86 maxps does)
/// q = round_half_to_even(v) + zp
/// ```
///
/// which equals `saturate(round_half_to_even(x / scale) + zp)` for every non-NaN `x`.
pub fn quantize_f32(x: f32, scale: f32, zero_point: i32, (lo, hi): (i32, i32)) -> i32 {
    let v = x / scale;
    let min = (lo as i64 - zero_point as i64) as f32;
    let max = (hi as i64 - zero_point as i64) as f32;
    let v = if v.is_nan() { min } else { v.max(min).min(max) };
    (round_half_to_even(v) as i64 + zero_point as i64).clamp(lo as i64, hi as i64) as i32
}

/// ONNX `DequantizeLinear` on one element, as ONNX Runtime computes it:
/// `f32(q - zero_point) * scale` (the difference is exact in `i64`, then rounded to `f32`).
pub fn dequantize(q: i32, scale: f32, zero_point: i32) -> f32 {
    (q as i64 - zero_point as i64) as f32 * scale
}

/// ONNX `DequantizeLinear` of a whole integer tensor `x` with parameters `q` (per tensor, per
/// axis or per block, [`QuantParams::param_index_map`]): [`dequantize`] per element, an `f32`
/// tensor of `x`'s shape. `None` when `x` holds no integers or `q` has fewer parameters than
/// an element's index needs. Shared by the interpreter's `DequantizeLinear` and the JIT, which
/// dequantizes constant weights once when it packs them.
pub fn dequantize_tensor(x: &TensorData, q: &QuantParams) -> Option<TensorData> {
    let xv = x.to_i64_vec()?;
    let map = q.param_index_map(x.shape());
    let out = xv
        .iter()
        .zip(&map)
        .map(|(&v, &p)| {
            let (s, z) = (q.scale.get(p)?, q.zero_point.get(p)?);
            Some(dequantize(v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32, *s, *z))
        })
        .collect::<Option<Vec<f32>>>()?;
    TensorData::new(x.shape().to_vec(), Data::F32(out)).ok()
}

/// The requantization epilogue in f32 mode, as MLAS `MlasRequantizeOutput` computes it for
/// QLinearConv / QLinearMatMul / QGemm:
///
/// ```text
/// v = f32(acc) * multiplier
/// v = min(max(v, lo - zp), hi - zp)
/// y = round_half_to_even(v) + zp
/// ```
///
/// `(lo, hi)` is the output dtype's range, possibly narrowed by a fused clamp.
pub fn requantize_f32(acc: i32, multiplier: f32, zero_point: i32, range: (i32, i32)) -> i32 {
    let (min, max) = shift_range(range, zero_point);
    let v = (acc as f32 * multiplier).max(min as f32).min(max as f32);
    let v = if v.is_nan() { min as f32 } else { v };
    (round_half_to_even(v) as i64 + zero_point as i64).clamp(range.0 as i64, range.1 as i64) as i32
}

/// The requantization epilogue in integer-only mode (gemmlowp / TFLite):
/// `y = clamp(MultiplyByQuantizedMultiplier(acc, multiplier, shift) + zp, lo, hi)`.
pub fn requantize_fixed_point(acc: i32, multiplier: i32, shift: i32, zero_point: i32, (lo, hi): (i32, i32)) -> i32 {
    let v = multiply_by_quantized_multiplier(acc, multiplier, shift) as i64 + zero_point as i64;
    v.clamp(lo as i64, hi as i64) as i32
}

/// Which operand of a broadcasting [`crate::Op::QLinearBinary`] ONNX Runtime hands to its
/// kernel as a scalar (the broadcast loop in ONNX Runtime's
/// `contrib_ops/cpu/quantization/qlinear_binary_op.cc`):
/// `a` when it has one element or is broadcast along the innermost output axis longer than 1,
/// else likewise `b`, else neither. Returns `(scalar_a, scalar_b)`. `QLinearAdd` folds the
/// scalar operand into its constant term first, which changes rounding, so every backend
/// must make the same choice.
pub fn qlinear_scalar_operand(a: &[usize], b: &[usize], out: &[usize]) -> (bool, bool) {
    let numel = |s: &[usize]| s.iter().product::<usize>();
    if numel(a) == 1 {
        return (true, false);
    }
    if numel(b) == 1 {
        return (false, true);
    }
    let Some(d) = (0..out.len()).rev().find(|&d| out[d] > 1) else { return (false, false) };
    let dim = |s: &[usize]| {
        let off = out.len() - s.len();
        if d < off {
            1
        } else {
            s[d - off]
        }
    };
    (dim(a) == 1, dim(a) != 1 && dim(b) == 1)
}

/// MLAS `MlasComputeLogistic` (`logistic.cpp`; Eigen's rational approximation, evaluated with
/// fused multiply-adds as the FMA3 kernel does): clamp to `[-18, 18]`, odd polynomial `p`
/// over even polynomial `q` in `x²`, `p / q + 0.5`, clamped to `[0, 1]`. What ONNX Runtime
/// evaluates for `QLinearSigmoid` tables; NaN stays NaN.
#[allow(clippy::excessive_precision)] // MLAS's constants, verbatim
pub fn mlas_logistic(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let v = x.clamp(-18.0, 18.0);
    let v2 = v * v;
    let p = v2.mul_add(4.37031012579801e-11, 1.15627324459942e-07);
    let p = p.mul_add(v2, 6.08574864600143e-05);
    let p = p.mul_add(v2, 8.51377133304701e-03);
    let p = p.mul_add(v2, 2.48287947061529e-01);
    let p = p * v;
    let q = v2.mul_add(6.10247389755681e-13, 5.76102136993427e-09);
    let q = q.mul_add(v2, 6.29106785017040e-06);
    let q = q.mul_add(v2, 1.70198817374094e-03);
    let q = q.mul_add(v2, 1.16817656904453e-01);
    let q = q.mul_add(v2, 9.93151921023180e-01);
    (p / q + 0.5).clamp(0.0, 1.0)
}

/// The f32 function a [`crate::Op::QLinearUnary`] table samples, as ONNX Runtime's
/// `qlinear_activations.cc` computes it (`Sigmoid` is [`mlas_logistic`]). `None` for
/// [`UnaryOp::Math`]: those scalar definitions belong to the backends.
pub fn qlinear_activation(op: UnaryOp, x: f32) -> Option<f32> {
    Some(match op {
        UnaryOp::Relu => x.max(0.0),
        UnaryOp::LeakyRelu { alpha } => {
            if x >= 0.0 {
                x
            } else {
                alpha * x
            }
        }
        UnaryOp::Clip { min, max } => x.max(min).min(max),
        UnaryOp::Sigmoid => mlas_logistic(x),
        UnaryOp::Tanh => x.tanh(),
        UnaryOp::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
        UnaryOp::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
        UnaryOp::Math(_) => return None,
    })
}

/// The 256-entry table of ONNX Runtime's `QlinearBuildLookupTable`: the entry for byte `i`
/// (read as `dtype`, `u8` or `i8`) is `quantize_f32(f(s_x * f32(q - zp_x)), s_y, zp_y)`.
pub fn qlinear_lookup_table(
    dtype: DType,
    (sx, zx): (f32, i32),
    (sy, zy): (f32, i32),
    f: impl Fn(f32) -> f32,
) -> [i32; 256] {
    let range = quant_range(dtype).unwrap_or((i32::MIN, i32::MAX));
    let mut table = [0i32; 256];
    for (i, entry) in table.iter_mut().enumerate() {
        let q = if dtype == DType::I8 { i as u8 as i8 as i32 } else { i as i32 };
        *entry = quantize_f32(f(sx * (q - zx) as f32), sy, zy, range);
    }
    table
}

/// `(lo - zp, hi - zp)` saturated to `i32`.
fn shift_range((lo, hi): (i32, i32), zp: i32) -> (i32, i32) {
    let s = |v: i32| (v as i64 - zp as i64).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    (s(lo), s(hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_rounds_half_to_even_and_saturates() {
        let u8r = quant_range(DType::U8).unwrap();
        // x / 0.5: 0.25 -> 0.5 -> 0, 0.75 -> 1.5 -> 2, 1.25 -> 2.5 -> 2
        assert_eq!(quantize_f32(0.25, 0.5, 10, u8r), 10);
        assert_eq!(quantize_f32(0.75, 0.5, 10, u8r), 12);
        assert_eq!(quantize_f32(1.25, 0.5, 10, u8r), 12);
        assert_eq!(quantize_f32(-1.25, 0.5, 10, u8r), 8);
        assert_eq!(quantize_f32(1000.0, 0.5, 10, u8r), 255);
        assert_eq!(quantize_f32(-1000.0, 0.5, 10, u8r), 0);
        assert_eq!(quantize_f32(f32::INFINITY, 0.5, 10, u8r), 255);
        assert_eq!(quantize_f32(f32::NEG_INFINITY, 0.5, 10, u8r), 0);
        assert_eq!(quantize_f32(f32::NAN, 0.5, 10, u8r), 0);
        let i4r = quant_range(DType::I4).unwrap();
        assert_eq!(quantize_f32(100.0, 1.0, 0, i4r), 7);
        assert_eq!(quantize_f32(-7.5, 1.0, -1, i4r), -8);
        let i32r = quant_range(DType::I32).unwrap();
        assert_eq!(quantize_f32(3e9, 1.0, 0, i32r), i32::MAX);
    }

    #[test]
    fn dequantize_and_requantize() {
        assert_eq!(dequantize(200, 0.5, 128), 36.0);
        assert_eq!(dequantize(i32::MIN, 1.0, i32::MAX), -4294967295.0);
        let u8r = (0, 255);
        assert_eq!(requantize_f32(1001, 0.01, 3, u8r), 13); // 10.01 -> 10
        assert_eq!(requantize_f32(250, 0.01, 3, u8r), 5); // 2.5 -> 2, + 3
        assert_eq!(requantize_f32(-1000, 0.01, 3, u8r), 0);
        assert_eq!(requantize_f32(i32::MAX, 1.0, 3, (0, 6)), 6); // fused Relu6 clamp
        assert_eq!(requantize_fixed_point(250, 1 << 30, -6, 3, u8r), 5); // 250/128 = 1.95 -> 2
        assert_eq!(requantize_fixed_point(-1000, 1 << 30, 0, 3, u8r), 0);
    }

    #[test]
    fn check_reports_each_problem() {
        let q = QuantParams::per_tensor(0.5, 300);
        assert!(q.check(DType::U8, &[2]).unwrap_err().contains("zero point 300 outside u8's range [0, 255]"));
        assert!(q.check(DType::F32, &[2]).unwrap_err().contains("non-integer dtype f32"));
        assert!(QuantParams::per_tensor(f32::NAN, 0).check(DType::I8, &[2]).unwrap_err().contains("NaN"));
        let pa = QuantParams::per_axis(1, vec![0.5; 2], vec![0; 2]);
        assert!(pa.check(DType::I8, &[2, 3]).unwrap_err().contains("2 scales, expected 3 (one per index of axis 1)"));
        assert!(pa.check(DType::I8, &[2]).unwrap_err().contains("axis 1 out of range"));
        let blocked = QuantParams { block_size: Some(2), ..QuantParams::per_axis(1, vec![0.5; 4], vec![0; 4]) };
        assert_eq!(blocked.check(DType::I4, &[2, 3]), Ok(())); // [2, ceil(3/2)] = 4 blocks
        assert!(blocked.check(DType::I4, &[2, 5]).unwrap_err().contains("expected 6"));
        let zero = QuantParams { block_size: Some(0), ..blocked };
        assert!(zero.check(DType::I4, &[2, 3]).unwrap_err().contains("block_size must be >= 1"));
    }

    #[test]
    fn param_index_maps() {
        assert_eq!(QuantParams::per_tensor(1.0, 0).param_index_map(&[2, 2]), vec![0; 4]);
        let pa = QuantParams::per_axis(0, vec![1.0; 2], vec![0; 2]);
        assert_eq!(pa.param_index_map(&[2, 3]), vec![0, 0, 0, 1, 1, 1]);
        let pa = QuantParams::per_axis(1, vec![1.0; 3], vec![0; 3]);
        assert_eq!(pa.param_index_map(&[2, 3]), vec![0, 1, 2, 0, 1, 2]);
        let blocked = QuantParams { block_size: Some(2), ..QuantParams::per_axis(1, vec![1.0; 4], vec![0; 4]) };
        assert_eq!(blocked.param_index_map(&[2, 3]), vec![0, 0, 1, 2, 2, 3]);
        let blocked0 = QuantParams { block_size: Some(2), ..QuantParams::per_axis(0, vec![1.0; 4], vec![0; 4]) };
        // shape [3, 2], blocks along axis 0: params [2, 2]
        assert_eq!(blocked0.param_index_map(&[3, 2]), vec![0, 1, 0, 1, 2, 3]);
    }
}
