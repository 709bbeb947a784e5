//! Scalar definitions of the math functions ([`MathFn`]) and of the binary ops beyond the
//! four arithmetic ones (`Max`, `Min`, `Pow`, `Mod`), as the ONNX reference implementation
//! (`onnx/reference/ops/op_*.py`, numpy) computes them. `elementwise.rs` maps them over
//! tensors.

use int8xc_ir::{BinaryOp, MathFn};

use super::OpResult;
use crate::error::OpErrorKind;

/// `ln(1 + e^x)` without overflow for large `x` (`max(x, 0) + ln(1 + e^-|x|)`).
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// [`MathFn`] `f` at `x` (in `f32`; `Erf` and `Gelu` go through `f64`).
pub(crate) fn math_fn(f: MathFn, x: f32) -> f32 {
    match f {
        MathFn::Abs => x.abs(),
        MathFn::Neg => -x,
        MathFn::Sqrt => x.sqrt(),
        MathFn::Reciprocal => 1.0 / x,
        MathFn::Exp => x.exp(),
        MathFn::Log => x.ln(),
        MathFn::Floor => x.floor(),
        MathFn::Ceil => x.ceil(),
        MathFn::Round => x.round_ties_even(),
        MathFn::Sign => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x // ±0 and NaN
            }
        }
        MathFn::Erf => libm::erf(f64::from(x)) as f32,
        MathFn::Sin => x.sin(),
        MathFn::Cos => x.cos(),
        MathFn::Tan => x.tan(),
        MathFn::Asin => x.asin(),
        MathFn::Acos => x.acos(),
        MathFn::Atan => x.atan(),
        MathFn::Sinh => x.sinh(),
        MathFn::Cosh => x.cosh(),
        MathFn::Asinh => x.asinh(),
        MathFn::Acosh => x.acosh(),
        MathFn::Atanh => x.atanh(),
        MathFn::Softplus => softplus(x),
        MathFn::Softsign => x / (1.0 + x.abs()),
        MathFn::Mish => x * softplus(x).tanh(),
        MathFn::Elu { alpha } => {
            if x < 0.0 {
                alpha * (x.exp() - 1.0)
            } else {
                x
            }
        }
        MathFn::Selu { alpha, gamma } => {
            if x > 0.0 {
                gamma * x
            } else {
                gamma * (x.exp() * alpha - alpha)
            }
        }
        MathFn::Celu { alpha } => x.max(0.0) + (alpha * ((x / alpha).exp() - 1.0)).min(0.0),
        MathFn::ThresholdedRelu { alpha } => {
            if x > alpha {
                x
            } else {
                0.0
            }
        }
        MathFn::Swish { alpha } => x / (1.0 + (-alpha * x).exp()),
        MathFn::Gelu { tanh: false } => {
            let x = f64::from(x);
            (0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))) as f32
        }
        MathFn::Gelu { tanh: true } => {
            let x = f64::from(x);
            let k = (2.0 / std::f64::consts::PI).sqrt();
            (0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())) as f32
        }
        MathFn::Shrink { lambd, bias } => {
            if x < -lambd {
                x + bias
            } else if x > lambd {
                x - bias
            } else {
                0.0
            }
        }
    }
}

/// numpy `maximum`/`minimum`: NaN in either operand gives NaN.
fn nan_or(x: f32, y: f32, f: fn(f32, f32) -> f32) -> f32 {
    if x.is_nan() || y.is_nan() {
        x + y
    } else {
        f(x, y)
    }
}

/// numpy `mod` for floats (`npy_divmod`): `fmod`, moved into the sign of `b`; a zero result
/// takes the sign of `b`.
fn py_mod_f32(a: f32, b: f32) -> f32 {
    let m = a % b;
    if b == 0.0 || m.is_nan() {
        return m;
    }
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m + b
        } else {
            m
        }
    } else {
        0.0f32.copysign(b)
    }
}

/// The float binary ops other than `Add`/`Sub`/`Mul`/`Div`.
pub(crate) fn binary_f32(op: BinaryOp, x: f32, y: f32) -> f32 {
    match op {
        BinaryOp::Max => nan_or(x, y, f32::max),
        BinaryOp::Min => nan_or(x, y, f32::min),
        BinaryOp::Pow => x.powf(y),
        BinaryOp::Mod { fmod: true } => x % y,
        BinaryOp::Mod { fmod: false } => py_mod_f32(x, y),
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div => x / y,
    }
}

/// `x ^ y` for integers, wrapping (see [`BinaryOp::Pow`]).
fn int_pow(x: i64, y: i64) -> OpResult<i64> {
    if y < 0 {
        return match x {
            0 => Err(OpErrorKind::DivisionByZero),
            1 => Ok(1),
            -1 => Ok(if y % 2 == 0 { 1 } else { -1 }),
            _ => Ok(0),
        };
    }
    let (mut base, mut e, mut acc) = (x, y as u64, 1i64);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        e >>= 1;
    }
    Ok(acc)
}

/// The integer binary ops other than `Add`/`Sub`/`Mul`/`Div`, on exact `i64` values (the
/// caller wraps to the dtype). `Mod` by zero is [`OpErrorKind::DivisionByZero`].
pub(crate) fn binary_i64(op: BinaryOp, x: i64, y: i64) -> OpResult<i64> {
    Ok(match op {
        BinaryOp::Max => x.max(y),
        BinaryOp::Min => x.min(y),
        BinaryOp::Pow => int_pow(x, y)?,
        BinaryOp::Mod { .. } if y == 0 => return Err(OpErrorKind::DivisionByZero),
        BinaryOp::Mod { fmod: true } => x.wrapping_rem(y),
        BinaryOp::Mod { fmod: false } => {
            let r = x.wrapping_rem(y);
            if r != 0 && ((r < 0) != (y < 0)) {
                r + y
            } else {
                r
            }
        }
        BinaryOp::Add => x.wrapping_add(y),
        BinaryOp::Sub => x.wrapping_sub(y),
        BinaryOp::Mul => x.wrapping_mul(y),
        BinaryOp::Div if y == 0 => return Err(OpErrorKind::DivisionByZero),
        BinaryOp::Div => x.wrapping_div(y),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_functions_follow_numpy() {
        let r = |x| math_fn(MathFn::Round, x);
        assert_eq!([r(0.5), r(1.5), r(2.5), r(-0.5), r(-1.5), r(2.4)], [0.0, 2.0, 2.0, -0.0, -2.0, 2.0]);
        assert_eq!(math_fn(MathFn::Floor, -1.5), -2.0);
        assert_eq!(math_fn(MathFn::Ceil, -1.5), -1.0);
        assert!(math_fn(MathFn::Sign, f32::NAN).is_nan());
        assert_eq!([math_fn(MathFn::Sign, -3.0), math_fn(MathFn::Sign, 0.0)], [-1.0, 0.0]);
    }

    #[test]
    fn activations_match_reference_values() {
        let close = |a: f32, b: f32| assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{a} vs {b}");
        close(math_fn(MathFn::Erf, 0.5), 0.520_499_9);
        close(math_fn(MathFn::Softplus, 1.0), 1.313_261_7);
        close(math_fn(MathFn::Softplus, 100.0), 100.0);
        close(math_fn(MathFn::Mish, -1.0), -0.303_401_4);
        close(math_fn(MathFn::Elu { alpha: 2.0 }, -1.0), 2.0 * (-1.0f32).exp_m1());
        close(math_fn(MathFn::Selu { alpha: 2.0, gamma: 3.0 }, 1.0), 3.0);
        close(math_fn(MathFn::Celu { alpha: 2.0 }, -1.0), 2.0 * (-0.5f32).exp_m1());
        close(math_fn(MathFn::Gelu { tanh: false }, 1.0), 0.841_344_7);
        close(math_fn(MathFn::Gelu { tanh: true }, 1.0), 0.841_191_9);
        close(math_fn(MathFn::Swish { alpha: 1.0 }, 1.0), 0.731_058_6);
        assert_eq!(math_fn(MathFn::ThresholdedRelu { alpha: 1.0 }, 1.0), 0.0);
        assert_eq!(math_fn(MathFn::Shrink { lambd: 1.5, bias: 1.5 }, -2.0), -0.5);
    }

    #[test]
    fn mod_follows_numpy_and_c() {
        let m = |fmod, x, y| binary_i64(BinaryOp::Mod { fmod }, x, y).unwrap();
        assert_eq!([m(false, -4, 3), m(false, 4, -3), m(true, -4, 3), m(true, 4, -3)], [2, -2, -1, 1]);
        assert_eq!(binary_i64(BinaryOp::Mod { fmod: false }, 1, 0), Err(OpErrorKind::DivisionByZero));
        let f = |x, y| binary_f32(BinaryOp::Mod { fmod: false }, x, y);
        assert_eq!([f(-4.0, 3.0), f(4.0, -3.0), f(-1.0, f32::INFINITY)], [2.0, -2.0, f32::INFINITY]);
        assert!(f(0.0, -2.0).is_sign_negative());
        assert_eq!(binary_f32(BinaryOp::Mod { fmod: true }, -4.5, 2.0), -0.5);
    }

    #[test]
    fn integer_pow_and_minmax() {
        let p = |x, y| binary_i64(BinaryOp::Pow, x, y).unwrap();
        assert_eq!([p(3, 4), p(-2, 3), p(5, 0), p(2, -1), p(-1, -3)], [81, -8, 1, 0, -1]);
        assert_eq!(binary_i64(BinaryOp::Pow, 0, -1), Err(OpErrorKind::DivisionByZero));
        assert!(binary_f32(BinaryOp::Max, f32::NAN, 1.0).is_nan());
        assert_eq!(binary_f32(BinaryOp::Min, -1.0, 1.0), -1.0);
    }
}
