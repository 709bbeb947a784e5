//! Fixed-point arithmetic for integer-only requantization: Q31, Q15 and Q7 multipliers with
//! rounding shifts, as defined by gemmlowp (`fixedpoint/fixedpoint.h`) and TensorFlow Lite
//! (`tensorflow/lite/kernels/internal/common.h`, `quantization_util.cc`).
//!
//! A real multiplier `M > 0` is represented as `M ≈ m * 2^(shift - 31)` with a Q31 mantissa
//! `m ∈ [2^30, 2^31)` ([`quantize_multiplier`]); `x * M` is then
//! [`multiply_by_quantized_multiplier`]`(x, m, shift)`. This is the [`crate::RequantMode::FixedPoint`]
//! epilogue of the quantized compute ops, for targets without an FPU and for the CiM
//! digital periphery. Every function here is total: no panics, no undefined behaviour.

/// Rounds to the nearest integer, ties to even (IEEE 754 `roundTiesToEven`; C `nearbyintf`
/// in the default rounding mode, x86 `cvtps2dq`, numpy `rint`). NaN and ±infinity are
/// returned unchanged.
pub fn round_half_to_even(x: f32) -> f32 {
    x.round_ties_even()
}

/// `(multiplier, shift)` with `real ≈ multiplier * 2^(shift - 31)`, TFLite's
/// `QuantizeMultiplier`: `frexp(real) = q * 2^shift` with `q ∈ [0.5, 1)`, `multiplier =
/// round_half_away(q * 2^31)`; when that rounds up to `2^31` it is halved and `shift`
/// incremented. `shift > 0` is a left shift, `shift < 0` a right shift.
///
/// Edge cases (TFLite's): `real == 0` (or negative, NaN) gives `(0, 0)`; `shift < -31` (a
/// multiplier below `2^-32`, which rounds every `i32` input to 0 or ±1) gives `(0, 0)`;
/// `shift > 30` (a multiplier of `2^30` or more) saturates to `(i32::MAX, 30)`.
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    if real.is_nan() || real <= 0.0 {
        return (0, 0);
    }
    if real.is_infinite() {
        return (i32::MAX, 30);
    }
    let (q, mut shift) = frexp(real);
    let mut q_fixed = (q * (1u64 << 31) as f64).round() as i64;
    if q_fixed == 1i64 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    if shift > 30 {
        return (i32::MAX, 30);
    }
    (q_fixed as i32, shift)
}

/// `frexp` for finite, positive, normal or subnormal `x`: `(q, e)` with `x = q * 2^e` and
/// `q ∈ [0.5, 1)`.
fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // subnormal: scale up by 2^64 first
        let (q, e) = frexp(x * f64::from_bits(0x43f0_0000_0000_0000));
        return (q, e - 64);
    }
    let q = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (q, exp - 1022)
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul` for `i32` (Q31 × Q31 → Q31): the high 32
/// bits of `2 * a * b`, rounded to nearest. gemmlowp adds a nudge of `2^30` (non-negative
/// products) or `1 - 2^30` (negative) and truncates toward zero, so ties round toward
/// +infinity (`-1.5 → -1`, `1.5 → 2`). The one overflowing case, `a == b == i32::MIN`,
/// saturates to `i32::MAX`.
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // C++ `/` truncates toward zero, like Rust's.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away from zero.
/// `exponent` is clamped to `0..=31` (gemmlowp asserts that range).
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let exponent = exponent.clamp(0, 31) as u32;
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// TFLite's `MultiplyByQuantizedMultiplier(x, multiplier, shift)`: `x * multiplier *
/// 2^(shift - 31)` rounded to nearest (two roundings: the high multiply's, ties toward
/// +infinity, then the rounding shift's, ties away from zero):
///
/// ```text
/// left  = max(shift, 0), right = max(-shift, 0)
/// result = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2^left, multiplier), right)
/// ```
///
/// `x * 2^left` saturates to the `i32` range (TFLite leaves that overflow undefined).
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left = shift.clamp(0, 31) as u32;
    let right = (-shift).clamp(0, 31);
    let shifted = (x as i64) << left;
    let shifted = shifted.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul` for `i16` (Q15 × Q15 → Q15): `i16::MIN * i16::MIN` saturates to `i16::MAX`.
pub fn saturating_rounding_doubling_high_mul_q15(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    let ab = a as i32 * b as i32;
    let nudge: i32 = if ab >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    ((ab + nudge) / (1 << 15)) as i16
}

/// [`rounding_divide_by_pot`] on `i16`; `exponent` clamped to `0..=15`.
pub fn rounding_divide_by_pot_q15(x: i16, exponent: i32) -> i16 {
    let exponent = exponent.clamp(0, 15) as u32;
    let mask = ((1i32 << exponent) - 1) as i16;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i16::from(x < 0);
    (x >> exponent) + i16::from(remainder > threshold)
}

/// The 8-bit analogue of [`saturating_rounding_doubling_high_mul`] (Q7 × Q7 → Q7), defined by
/// the same formula (nudge `2^6` or `1 - 2^6`, truncate): `i8::MIN * i8::MIN` saturates to
/// `i8::MAX`, otherwise the high 8 bits of `2 * a * b` rounded to nearest, ties toward
/// +infinity.
pub fn saturating_rounding_doubling_high_mul_q7(a: i8, b: i8) -> i8 {
    if a == i8::MIN && b == i8::MIN {
        return i8::MAX;
    }
    let ab = a as i32 * b as i32;
    let nudge: i32 = if ab >= 0 { 1 << 6 } else { 1 - (1 << 6) };
    ((ab + nudge) / (1 << 7)) as i8
}

/// [`rounding_divide_by_pot`] on `i8`; `exponent` clamped to `0..=7`.
pub fn rounding_divide_by_pot_q7(x: i8, exponent: i32) -> i8 {
    let exponent = exponent.clamp(0, 7) as u32;
    let mask = ((1i32 << exponent) - 1) as i8;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i8::from(x < 0);
    (x >> exponent) + i8::from(remainder > threshold)
}

/// A real number in `[-1, 1)` as a Q15 value, `round_half_away(x * 2^15)` saturated to
/// `[i16::MIN, i16::MAX]` (so `1.0` becomes `i16::MAX`); NaN is 0.
pub fn to_q15(x: f64) -> i16 {
    (x * 32768.0).round().clamp(i16::MIN as f64, i16::MAX as f64) as i16
}

/// A real number in `[-1, 1)` as a Q7 value, `round_half_away(x * 2^7)` saturated; NaN is 0.
pub fn to_q7(x: f64) -> i8 {
    (x * 128.0).round().clamp(i8::MIN as f64, i8::MAX as f64) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition written independently with i128: `floor(2ab / 2^32 + 1/2)` (round half
    /// up), saturated.
    fn srdhm_reference(a: i32, b: i32) -> i32 {
        let p = 2 * a as i128 * b as i128;
        let rounded = (p + (1i128 << 31)).div_euclid(1i128 << 32);
        rounded.clamp(i32::MIN as i128, i32::MAX as i128) as i32
    }

    #[test]
    fn srdhm_corner_cases() {
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN), i32::MAX);
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX), -i32::MAX);
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX), i32::MAX - 1);
        assert_eq!(saturating_rounding_doubling_high_mul(0, i32::MIN), 0);
        // 0.5 * 0.5 = 0.25 in Q31
        assert_eq!(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
        // x * 0.5 with ties: 3 * 0.5 = 1.5 -> 2, -3 * 0.5 = -1.5 -> -1 (ties toward +inf)
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(-5, 1 << 30), -2); // -2.5 -> -2
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0); // -0.5 -> 0
                                                                           // below one half rounds to zero on both sides
        assert_eq!(saturating_rounding_doubling_high_mul(1, (1 << 30) - 1), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, (1 << 30) - 1), 0);
        let samples = [i32::MIN, i32::MIN + 1, -(1 << 30), -12345, -1, 0, 1, 7, 99991, 1 << 30, i32::MAX];
        for &a in &samples {
            for &b in &samples {
                assert_eq!(saturating_rounding_doubling_high_mul(a, b), srdhm_reference(a, b), "{a} * {b}");
            }
        }
    }

    #[test]
    fn rounding_divide_by_pot_rounds_half_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 -> 3
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // -2.5 -> -3
        assert_eq!(rounding_divide_by_pot(7, 2), 2); // 1.75 -> 2
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(-6, 2), -2); // -1.5 -> -2
        assert_eq!(rounding_divide_by_pot(-5, 2), -1); // -1.25 -> -1
        assert_eq!(rounding_divide_by_pot(12345, 0), 12345);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 0), i32::MIN);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(-(1 << 30), 31), -1); // -0.5 -> -1
        assert_eq!(rounding_divide_by_pot((1 << 30) - 1, 31), 0);
        // out-of-range exponents are clamped, never a panic
        assert_eq!(rounding_divide_by_pot(8, -3), 8);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 40), 1);
    }

    #[test]
    fn quantize_multiplier_matches_tflite() {
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.25), (1 << 30, -1));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        assert_eq!(quantize_multiplier(-1.0), (0, 0));
        assert_eq!(quantize_multiplier(f64::NAN), (0, 0));
        // TFLite: 0.0009765625 * 1.5 -> frexp = 0.75 * 2^-9
        assert_eq!(quantize_multiplier(0.75 * 2f64.powi(-9)), (3 << 29, -9));
        // a mantissa that rounds up to 2^31 is halved and the shift incremented
        assert_eq!(quantize_multiplier(1.0 - 2f64.powi(-40)), (1 << 30, 1));
        // tiny multipliers flush to zero, huge ones saturate
        assert_eq!(quantize_multiplier(2f64.powi(-40)), (0, 0));
        assert_eq!(quantize_multiplier(2f64.powi(-32)), (1 << 30, -31));
        assert_eq!(quantize_multiplier(2f64.powi(40)), (i32::MAX, 30));
        assert_eq!(quantize_multiplier(f64::MIN_POSITIVE / 4.0), (0, 0));
        // a typical conv requant scale: 0.0235 * 0.0031 / 0.0470
        let (m, s) = quantize_multiplier(0.0235 * 0.0031 / 0.0470);
        assert!((1 << 30..=i32::MAX).contains(&m) && s == -9, "{m} {s}");
        let back = m as f64 * 2f64.powi(s - 31);
        assert!((back / (0.0235 * 0.0031 / 0.0470) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn multiply_by_quantized_multiplier_examples() {
        let (m, s) = quantize_multiplier(0.5);
        // shift 0: the tie is resolved by SaturatingRoundingDoublingHighMul (toward +inf)
        assert_eq!(multiply_by_quantized_multiplier(5, m, s), 3); // 2.5 -> 3
        assert_eq!(multiply_by_quantized_multiplier(-5, m, s), -2); // -2.5 -> -2
        let (m, s) = quantize_multiplier(0.25);
        assert_eq!(multiply_by_quantized_multiplier(6, m, s), 2); // 1.5 -> 2
        assert_eq!(multiply_by_quantized_multiplier(-6, m, s), -2); // RoundingDivideByPOT: away from zero
                                                                    // 1.25 -> 2: the double rounding of TFLite's scheme (5 * 0.5 = 2.5 -> 3, then 3 / 2 -> 2)
        assert_eq!(multiply_by_quantized_multiplier(5, m, s), 2);
        let (m, s) = quantize_multiplier(3.0);
        assert_eq!(multiply_by_quantized_multiplier(7, m, s), 21);
        // the left shift saturates instead of overflowing
        assert_eq!(multiply_by_quantized_multiplier(i32::MAX, m, s), 1_610_612_735);
        assert_eq!(multiply_by_quantized_multiplier(1000, 0, 0), 0);
        // against exact rational arithmetic on a grid of inputs
        for real in [0.000_123, 0.0071, 0.3, 0.999_999, 1.7] {
            let (m, s) = quantize_multiplier(real);
            let exact_m = m as f64 * 2f64.powi(s - 31);
            for x in [-100_000, -1001, -1, 0, 1, 999, 65_535, 1_000_000] {
                let want = (x as f64 * exact_m).round(); // ties away; no exact ties here
                let got = multiply_by_quantized_multiplier(x, m, s) as f64;
                assert!((got - want).abs() <= 1.0, "{x} * {real}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn q15_and_q7_corner_cases() {
        assert_eq!(saturating_rounding_doubling_high_mul_q15(i16::MIN, i16::MIN), i16::MAX);
        assert_eq!(saturating_rounding_doubling_high_mul_q15(1 << 14, 1 << 14), 1 << 13);
        assert_eq!(saturating_rounding_doubling_high_mul_q15(3, 1 << 14), 2);
        assert_eq!(saturating_rounding_doubling_high_mul_q15(-3, 1 << 14), -1);
        assert_eq!(saturating_rounding_doubling_high_mul_q15(i16::MAX, i16::MIN), -i16::MAX);
        assert_eq!(rounding_divide_by_pot_q15(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot_q15(i16::MIN, 15), -1);
        assert_eq!(rounding_divide_by_pot_q15(7, 0), 7);
        assert_eq!(saturating_rounding_doubling_high_mul_q7(i8::MIN, i8::MIN), i8::MAX);
        assert_eq!(saturating_rounding_doubling_high_mul_q7(64, 64), 32);
        assert_eq!(saturating_rounding_doubling_high_mul_q7(-3, 64), -1);
        assert_eq!(saturating_rounding_doubling_high_mul_q7(i8::MAX, i8::MIN), -i8::MAX);
        assert_eq!(rounding_divide_by_pot_q7(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot_q7(i8::MIN, 7), -1);
        assert_eq!(to_q15(0.5), 1 << 14);
        assert_eq!(to_q15(1.0), i16::MAX);
        assert_eq!(to_q15(-1.0), i16::MIN);
        assert_eq!(to_q7(-0.25), -32);
        assert_eq!(to_q7(f64::NAN), 0);
    }

    #[test]
    fn round_half_to_even_ties() {
        let cases = [(0.5, 0.0), (1.5, 2.0), (2.5, 2.0), (-0.5, -0.0), (-1.5, -2.0), (-2.5, -2.0), (2.4999998, 2.0)];
        for (x, want) in cases {
            assert_eq!(round_half_to_even(x), want, "{x}");
        }
        assert!(round_half_to_even(f32::NAN).is_nan());
        assert_eq!(round_half_to_even(f32::INFINITY), f32::INFINITY);
        assert_eq!(round_half_to_even(8_388_609.0), 8_388_609.0);
    }
}
