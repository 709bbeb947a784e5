//! The trigonometric and hyperbolic [`MathFn`](int8xc_ir::MathFn)s in CLIF, for `F32` and
//! `F32X4` (used by [`unary_math`](super::unary_math)); they need
//! [`TargetFeatures::has_round`](crate::target::TargetFeatures::has_round).
//!
//! - `sin`/`cos`/`tan`: `x = n·π/2 + r` with `n = nearest(x / (π/2))` and `π/2` in three parts
//!   (Cody–Waite), `|r| <= π/4`, then Cephes' `sinf`/`cosf` polynomials on `r` and the
//!   quadrant `n mod 4` picking `±sin r` / `±cos r`; `tan = sin / cos`. Accurate to a few ULP
//!   for `|x| < 10^4` (the reduction loses precision beyond, like any 3-part reduction).
//! - `atan`: Cephes `atanf` (reduction to `|x| <= tan(π/8)` via `π/2 - atan(1/x)` and
//!   `π/4 + atan((x-1)/(x+1))`, degree-4 polynomial in `x²`).
//! - `asin`: Cephes `asinf` (`|x| > 0.5` through `π/2 - 2·asin(sqrt((1-|x|)/2))`); `|x| > 1`
//!   is NaN; `acos = π/2 - asin`.
//! - Hyperbolic, from [`exp`] and [`ln`]: `sinh = (eˣ - e⁻ˣ)/2` (Taylor to `x⁷` below
//!   `|x| < 1`), `cosh = (eˣ + e⁻ˣ)/2`, `asinh = sign(x)·ln(|x| + sqrt(x² + 1))`,
//!   `acosh = ln(x + sqrt(x² - 1))` (NaN below 1), `atanh = ln((1+x)/(1-x))/2`; the
//!   logarithmic forms switch to their Taylor series (to `x⁵`) for `|x| < 2^-5` to avoid
//!   cancellation. Errors stay well inside the node tests' rtol 1e-3 / atol 1e-7.

use std::f32::consts::{FRAC_PI_2, FRAC_PI_4};

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use int8xc_ir::MathFn;

use super::elementwise::select_f;
use super::math::{bitcast, exp, horner, iconst32, int_ty};
use super::unary_math::ln;
use super::KernelCx;

/// Whether `f` is one of this module's functions.
pub(crate) fn is_trig(f: MathFn) -> bool {
    matches!(
        f,
        MathFn::Sin
            | MathFn::Cos
            | MathFn::Tan
            | MathFn::Asin
            | MathFn::Acos
            | MathFn::Atan
            | MathFn::Sinh
            | MathFn::Cosh
            | MathFn::Asinh
            | MathFn::Acosh
            | MathFn::Atanh
    )
}

/// `f(x)` for one of this module's functions (`x` returned unchanged for any other).
pub(crate) fn trig_value(cx: &mut KernelCx, f: MathFn, x: Value, ty: Type) -> Value {
    match f {
        MathFn::Sin => sin_cos(cx, x, ty, 0),
        MathFn::Cos => sin_cos(cx, x, ty, 1),
        MathFn::Tan => {
            let s = sin_cos(cx, x, ty, 0);
            let c = sin_cos(cx, x, ty, 1);
            cx.b.ins().fdiv(s, c)
        }
        MathFn::Atan => atan(cx, x, ty),
        MathFn::Asin => asin(cx, x, ty),
        MathFn::Acos => {
            let a = asin(cx, x, ty);
            let h = cx.fconst(ty, FRAC_PI_2);
            cx.b.ins().fsub(h, a)
        }
        MathFn::Sinh => sinh(cx, x, ty),
        MathFn::Cosh => {
            let (e, ei) = exp_pair(cx, x, ty);
            let s = cx.b.ins().fadd(e, ei);
            let half = cx.fconst(ty, 0.5);
            cx.b.ins().fmul(s, half)
        }
        MathFn::Asinh => asinh(cx, x, ty),
        MathFn::Acosh => {
            let one = cx.fconst(ty, 1.0);
            let x2 = cx.b.ins().fmul(x, x);
            let d = cx.b.ins().fsub(x2, one);
            let r = cx.b.ins().sqrt(d);
            let s = cx.b.ins().fadd(x, r);
            ln(cx, s, ty)
        }
        MathFn::Atanh => atanh(cx, x, ty),
        _ => x,
    }
}

/// `sin(x)` (`shift = 0`) or `cos(x) = sin(x + π/2)` (`shift = 1` quadrant).
#[allow(clippy::excessive_precision, reason = "Cephes coefficients as published")]
fn sin_cos(cx: &mut KernelCx, x: Value, ty: Type, shift: i32) -> Value {
    let inv = cx.fconst(ty, 1.0 / FRAC_PI_2);
    let t = cx.b.ins().fmul(x, inv);
    let n = cx.b.ins().nearest(t);
    let mut r = x;
    for part in [1.570_312_5f32, 4.837_513e-4, 7.549_79e-8] {
        let p = cx.fconst(ty, -part);
        r = cx.mul_add(n, p, r);
    }
    let z = cx.b.ins().fmul(r, r);
    // sin r = r + r·z·P(z); cos r = 1 - z/2 + z²·Q(z)
    let ps = horner(cx, ty, z, &[-1.951_529_6e-4, 8.332_161e-3, -1.666_665_5e-1]);
    let rz = cx.b.ins().fmul(r, z);
    let s = cx.mul_add(rz, ps, r);
    let pc = horner(cx, ty, z, &[2.443_315_7e-5, -1.388_731_6e-3, 4.166_664_6e-2]);
    let z2 = cx.b.ins().fmul(z, z);
    let mhalf = cx.fconst(ty, -0.5);
    let one = cx.fconst(ty, 1.0);
    let c = cx.mul_add(z, mhalf, one);
    let c = cx.mul_add(z2, pc, c);
    // quadrant q = (n + shift) mod 4, computed in floats: q = m - 4·floor(m / 4).
    let m = if shift == 0 {
        n
    } else {
        let sh = cx.fconst(ty, shift as f32);
        cx.b.ins().fadd(n, sh)
    };
    let quarter = cx.fconst(ty, 0.25);
    let mq = cx.b.ins().fmul(m, quarter);
    let fl = cx.b.ins().floor(mq);
    let four = cx.fconst(ty, -4.0);
    let q = cx.mul_add(fl, four, m);
    let (q1, q2, q3) = (cx.fconst(ty, 1.0), cx.fconst(ty, 2.0), cx.fconst(ty, 3.0));
    let ns = cx.b.ins().fneg(s);
    let nc = cx.b.ins().fneg(c);
    let is1 = cx.b.ins().fcmp(FloatCC::Equal, q, q1);
    let is2 = cx.b.ins().fcmp(FloatCC::Equal, q, q2);
    let is3 = cx.b.ins().fcmp(FloatCC::Equal, q, q3);
    let v = select_f(cx, is1, c, s);
    let v = select_f(cx, is2, ns, v);
    select_f(cx, is3, nc, v)
}

/// `atan(x)` (Cephes `atanf`).
#[allow(clippy::excessive_precision, reason = "Cephes coefficients as published")]
fn atan(cx: &mut KernelCx, x: Value, ty: Type) -> Value {
    let a = cx.b.ins().fabs(x);
    let one = cx.fconst(ty, 1.0);
    // a > tan(3π/8): π/2 - atan(1/a); a > tan(π/8): π/4 + atan((a-1)/(a+1)).
    let big = cx.fconst(ty, 2.414_213_6);
    let mid = cx.fconst(ty, 0.414_213_57);
    let is_big = cx.b.ins().fcmp(FloatCC::GreaterThan, a, big);
    let is_mid = cx.b.ins().fcmp(FloatCC::GreaterThan, a, mid);
    let inv = cx.b.ins().fdiv(one, a);
    let minv = cx.b.ins().fneg(inv);
    let am1 = cx.b.ins().fsub(a, one);
    let ap1 = cx.b.ins().fadd(a, one);
    let red = cx.b.ins().fdiv(am1, ap1);
    let y_mid = select_f(cx, is_mid, red, a);
    let y = select_f(cx, is_big, minv, y_mid);
    let (zero, q, h) = (cx.fconst(ty, 0.0), cx.fconst(ty, FRAC_PI_4), cx.fconst(ty, FRAC_PI_2));
    let base_mid = select_f(cx, is_mid, q, zero);
    let base = select_f(cx, is_big, h, base_mid);
    let z = cx.b.ins().fmul(y, y);
    let p = horner(cx, ty, z, &[8.053_744_5e-2, -1.387_768_6e-1, 1.997_771_1e-1, -3.333_295e-1]);
    let pz = cx.b.ins().fmul(p, z);
    let r = cx.mul_add(pz, y, y);
    let r = cx.b.ins().fadd(base, r);
    copysign(cx, r, x)
}

/// `asin(x)` (Cephes `asinf`).
#[allow(clippy::excessive_precision, reason = "Cephes coefficients as published")]
fn asin(cx: &mut KernelCx, x: Value, ty: Type) -> Value {
    let a = cx.b.ins().fabs(x);
    let half = cx.fconst(ty, 0.5);
    let one = cx.fconst(ty, 1.0);
    let large = cx.b.ins().fcmp(FloatCC::GreaterThan, a, half);
    let om = cx.b.ins().fsub(one, a);
    let zl = cx.b.ins().fmul(om, half);
    let xl = cx.b.ins().sqrt(zl);
    let zs = cx.b.ins().fmul(a, a);
    let z = select_f(cx, large, zl, zs);
    let xr = select_f(cx, large, xl, a);
    let p = horner(cx, ty, z, &[4.216_32e-2, 2.418_131_1e-2, 4.547_002_6e-2, 7.495_300_3e-2, 1.666_675_2e-1]);
    let pz = cx.b.ins().fmul(p, z);
    let r = cx.mul_add(pz, xr, xr);
    let h = cx.fconst(ty, FRAC_PI_2);
    let two = cx.fconst(ty, -2.0);
    let rl = cx.mul_add(r, two, h);
    let r = select_f(cx, large, rl, r);
    // |x| > 1: sqrt of a negative gives NaN for the large branch already.
    copysign(cx, r, x)
}

/// `|r|` with the sign of `x` (bit operations: `fcopysign` has no vector lowering
/// everywhere).
fn copysign(cx: &mut KernelCx, r: Value, x: Value) -> Value {
    let ty = cx.b.func.dfg.value_type(r);
    let ity = int_ty(ty);
    let (rb, xb) = (bitcast(cx, ity, r), bitcast(cx, ity, x));
    let (mag, sign) = (iconst32(cx, ity, i32::MAX), iconst32(cx, ity, i32::MIN));
    let rb = cx.b.ins().band(rb, mag);
    let xb = cx.b.ins().band(xb, sign);
    let v = cx.b.ins().bor(rb, xb);
    bitcast(cx, ty, v)
}

/// `(exp(x), exp(-x))`.
fn exp_pair(cx: &mut KernelCx, x: Value, ty: Type) -> (Value, Value) {
    let e = exp(cx, x, ty);
    let nx = cx.b.ins().fneg(x);
    (e, exp(cx, nx, ty))
}

fn sinh(cx: &mut KernelCx, x: Value, ty: Type) -> Value {
    let (e, ei) = exp_pair(cx, x, ty);
    let d = cx.b.ins().fsub(e, ei);
    let half = cx.fconst(ty, 0.5);
    let big = cx.b.ins().fmul(d, half);
    // x + x³/6 + x⁵/120 + x⁷/5040 for |x| < 1
    let z = cx.b.ins().fmul(x, x);
    let p = horner(cx, ty, z, &[1.0 / 5040.0, 1.0 / 120.0, 1.0 / 6.0]);
    let pz = cx.b.ins().fmul(p, z);
    let small = cx.mul_add(pz, x, x);
    let a = cx.b.ins().fabs(x);
    let one = cx.fconst(ty, 1.0);
    let is_small = cx.b.ins().fcmp(FloatCC::LessThan, a, one);
    select_f(cx, is_small, small, big)
}

/// `x + x·z·P(z)` with `z = x²` and `P` from `coeffs` (Horner order).
fn odd_series(cx: &mut KernelCx, x: Value, ty: Type, coeffs: &[f32]) -> Value {
    let z = cx.b.ins().fmul(x, x);
    let p = horner(cx, ty, z, coeffs);
    let pz = cx.b.ins().fmul(p, z);
    cx.mul_add(pz, x, x)
}

/// `|x| < 2^-5 ? small : large`.
fn pick_small(cx: &mut KernelCx, x: Value, ty: Type, small: Value, large: Value) -> Value {
    let a = cx.b.ins().fabs(x);
    let lim = cx.fconst(ty, 1.0 / 32.0);
    let is_small = cx.b.ins().fcmp(FloatCC::LessThan, a, lim);
    select_f(cx, is_small, small, large)
}

fn asinh(cx: &mut KernelCx, x: Value, ty: Type) -> Value {
    let a = cx.b.ins().fabs(x);
    let one = cx.fconst(ty, 1.0);
    let x2 = cx.b.ins().fmul(a, a);
    let s = cx.b.ins().fadd(x2, one);
    let r = cx.b.ins().sqrt(s);
    let t = cx.b.ins().fadd(a, r);
    let l = ln(cx, t, ty);
    let large = copysign(cx, l, x);
    // x - x³/6 + 3x⁵/40
    let small = odd_series(cx, x, ty, &[3.0 / 40.0, -1.0 / 6.0]);
    pick_small(cx, x, ty, small, large)
}

fn atanh(cx: &mut KernelCx, x: Value, ty: Type) -> Value {
    let one = cx.fconst(ty, 1.0);
    let num = cx.b.ins().fadd(one, x);
    let den = cx.b.ins().fsub(one, x);
    let q = cx.b.ins().fdiv(num, den);
    let l = ln(cx, q, ty);
    let half = cx.fconst(ty, 0.5);
    let large = cx.b.ins().fmul(l, half);
    // x + x³/3 + x⁵/5
    let small = odd_series(cx, x, ty, &[0.2, 1.0 / 3.0]);
    pick_small(cx, x, ty, small, large)
}
