//! The [`MathFn`] functions in CLIF, for `F32` and `F32X4` (used by
//! [`lower_unary`](super::elementwise::lower_unary)).
//!
//! - Exact instructions: `Abs` (`fabs`), `Neg` (`fneg`), `Sqrt` (`sqrt`), `Reciprocal`
//!   (`1 / x`), and `Floor`/`Ceil`/`Round` (`floor`/`ceil`/`nearest`: ties to even) when the
//!   target has rounding instructions ([`TargetFeatures::has_round`]).
//! - `exp` from [`math`](super::math); `ln` is Cephes' `logf` (`x = m·2^e`, `m` in
//!   `[√½, √2)`, a degree-8 polynomial; ~1 ULP), with `ln 0 = -inf`, `ln x = NaN` for `x < 0`
//!   or NaN, `ln inf = inf`; denormal inputs are treated as the smallest normal (≈ −87.3).
//! - `erf(x) = x·P(x²)/Q(x²)` with `x` clamped to `[-4, 4]`, the rational approximation of
//!   Eigen's `generic_fast_erf_float` (a few ULP).
//! - Composite activations follow the interpreter's formulas (`ops/math.rs`), e.g.
//!   `softplus(x) = max(x, 0) + ln(1 + exp(-|x|))`.
//! - The trigonometric and hyperbolic functions are in [`trig`](super::trig).

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::MathFn;

use super::elementwise::{max_sel, select_f};
use super::math::{bitcast, exp, horner, iconst32, int_ty, sigmoid, tanh};
use super::KernelCx;
use crate::target::TargetFeatures;

/// Whether [`math_value`] implements `f` on this target.
pub(crate) fn supported(target: &TargetFeatures, f: MathFn) -> bool {
    match f {
        MathFn::Floor | MathFn::Ceil | MathFn::Round => target.has_round(),
        f if super::trig::is_trig(f) => target.has_round(),
        _ => true,
    }
}

/// `ln(x)` (see the module docs).
#[allow(clippy::excessive_precision, reason = "Cephes coefficients as published")]
pub(crate) fn ln(cx: &mut KernelCx, x0: Value, ty: Type) -> Value {
    let ity = int_ty(ty);
    let min_normal = cx.fconst(ty, f32::MIN_POSITIVE);
    let x = max_sel(cx, x0, min_normal);
    let bits = bitcast(cx, ity, x);
    let e = cx.b.ins().ushr_imm_u(bits, 23);
    let bias = iconst32(cx, ity, 126);
    let e = cx.b.ins().isub(e, bias);
    let mant_mask = iconst32(cx, ity, 0x007f_ffff);
    let half_bits = iconst32(cx, ity, 0x3f00_0000);
    let m = cx.b.ins().band(bits, mant_mask);
    let m = cx.b.ins().bor(m, half_bits);
    let m = bitcast(cx, ty, m); // in [0.5, 1)
    let ef = cx.b.ins().fcvt_from_sint(ty, e);
    let one = cx.fconst(ty, 1.0);
    let sqrthf = cx.fconst(ty, std::f32::consts::FRAC_1_SQRT_2);
    let small = cx.b.ins().fcmp(FloatCC::LessThan, m, sqrthf);
    let ef_minus = cx.b.ins().fsub(ef, one);
    let ef = select_f(cx, small, ef_minus, ef);
    let m2 = cx.b.ins().fadd(m, m);
    let m2 = cx.b.ins().fsub(m2, one);
    let m1 = cx.b.ins().fsub(m, one);
    let r = select_f(cx, small, m2, m1);
    let z = cx.b.ins().fmul(r, r);
    let p = horner(
        cx,
        ty,
        r,
        &[
            7.037_683_6e-2,
            -1.151_461_0e-1,
            1.167_699_9e-1,
            -1.242_014_1e-1,
            1.424_932_3e-1,
            -1.666_805_8e-1,
            2.000_071_5e-1,
            -2.499_999_4e-1,
            3.333_333_1e-1,
        ],
    );
    let y = cx.b.ins().fmul(p, r);
    let y = cx.b.ins().fmul(y, z);
    let c1 = cx.fconst(ty, -2.121_944_4e-4);
    let y = cx.mul_add(ef, c1, y);
    let mhalf = cx.fconst(ty, -0.5);
    let y = cx.mul_add(z, mhalf, y);
    let res = cx.b.ins().fadd(r, y);
    let c2 = cx.fconst(ty, 0.693_359_4);
    let res = cx.mul_add(ef, c2, res);
    // Special values: 0 → -inf, < 0 or NaN → NaN, +inf → +inf.
    let zero = cx.fconst(ty, 0.0);
    let ninf = cx.fconst(ty, f32::NEG_INFINITY);
    let pinf = cx.fconst(ty, f32::INFINITY);
    let nan = cx.fconst(ty, f32::NAN);
    let is_zero = cx.b.ins().fcmp(FloatCC::Equal, x0, zero);
    let res = select_f(cx, is_zero, ninf, res);
    let is_pinf = cx.b.ins().fcmp(FloatCC::Equal, x0, pinf);
    let res = select_f(cx, is_pinf, pinf, res);
    let bad = cx.b.ins().fcmp(FloatCC::UnorderedOrLessThan, x0, zero);
    select_f(cx, bad, nan, res)
}

/// `erf(x)` (see the module docs).
#[allow(clippy::excessive_precision, reason = "published coefficients")]
pub(crate) fn erf(cx: &mut KernelCx, x: Value, ty: Type) -> Value {
    let lo = cx.fconst(ty, -4.0);
    let hi = cx.fconst(ty, 4.0);
    let x = max_sel(cx, x, lo);
    let x = super::elementwise::min_sel(cx, x, hi);
    let x2 = cx.b.ins().fmul(x, x);
    let p = horner(
        cx,
        ty,
        x2,
        &[
            -2.726_142_258_013_06e-10,
            2.770_681_424_959_02e-08,
            -2.101_024_020_825_08e-06,
            -5.692_506_394_623_46e-05,
            -7.349_906_303_268_55e-04,
            -2.954_599_808_540_25e-03,
            -1.609_603_332_624_15e-02,
        ],
    );
    let p = cx.b.ins().fmul(p, x);
    let q = horner(
        cx,
        ty,
        x2,
        &[
            -1.456_607_184_649_96e-05,
            -2.133_740_552_789_05e-04,
            -1.682_826_974_382_03e-03,
            -7.373_329_167_204_68e-03,
            -1.426_473_905_141_89e-02,
        ],
    );
    cx.b.ins().fdiv(p, q)
}

/// `max(x, 0) + ln(1 + exp(-|x|))`.
fn softplus(cx: &mut KernelCx, x: Value, ty: Type) -> Value {
    let zero = cx.fconst(ty, 0.0);
    let pos = max_sel(cx, x, zero);
    let ax = cx.b.ins().fabs(x);
    let nax = cx.b.ins().fneg(ax);
    let e = exp(cx, nax, ty);
    let one = cx.fconst(ty, 1.0);
    let e1 = cx.b.ins().fadd(one, e);
    let l = ln(cx, e1, ty);
    cx.b.ins().fadd(pos, l)
}

/// `alpha * (exp(x) - 1)`.
fn exp_m1_scaled(cx: &mut KernelCx, x: Value, alpha: f32, ty: Type) -> Value {
    let e = exp(cx, x, ty);
    let one = cx.fconst(ty, 1.0);
    let em1 = cx.b.ins().fsub(e, one);
    let a = cx.fconst(ty, alpha);
    cx.b.ins().fmul(a, em1)
}

/// `cond(x, c) ? a : b` for a float comparison against a constant.
fn select_cmp(cx: &mut KernelCx, cc: FloatCC, x: Value, c: f32, a: Value, b: Value, ty: Type) -> Value {
    let cv = cx.fconst(ty, c);
    let m = cx.b.ins().fcmp(cc, x, cv);
    select_f(cx, m, a, b)
}

/// `f(x)` for `x` of type `F32` or `F32X4`. Only called when [`supported`] holds.
pub(crate) fn math_value(cx: &mut KernelCx, f: MathFn, x: Value, ty: Type) -> Value {
    debug_assert!(ty.lane_type() == types::F32);
    match f {
        MathFn::Abs => cx.b.ins().fabs(x),
        MathFn::Neg => cx.b.ins().fneg(x),
        MathFn::Sqrt => cx.b.ins().sqrt(x),
        MathFn::Reciprocal => {
            let one = cx.fconst(ty, 1.0);
            cx.b.ins().fdiv(one, x)
        }
        MathFn::Floor => cx.b.ins().floor(x),
        MathFn::Ceil => cx.b.ins().ceil(x),
        MathFn::Round => cx.b.ins().nearest(x),
        MathFn::Exp => exp(cx, x, ty),
        MathFn::Log => ln(cx, x, ty),
        MathFn::Erf => erf(cx, x, ty),
        MathFn::Sign => {
            let (one, mone) = (cx.fconst(ty, 1.0), cx.fconst(ty, -1.0));
            let t = select_cmp(cx, FloatCC::GreaterThan, x, 0.0, one, x, ty);
            select_cmp(cx, FloatCC::LessThan, x, 0.0, mone, t, ty)
        }
        MathFn::Softplus => softplus(cx, x, ty),
        MathFn::Softsign => {
            let ax = cx.b.ins().fabs(x);
            let one = cx.fconst(ty, 1.0);
            let d = cx.b.ins().fadd(one, ax);
            cx.b.ins().fdiv(x, d)
        }
        MathFn::Mish => {
            let sp = softplus(cx, x, ty);
            let t = tanh(cx, sp, ty);
            cx.b.ins().fmul(x, t)
        }
        MathFn::Elu { alpha } => {
            let neg = exp_m1_scaled(cx, x, alpha, ty);
            select_cmp(cx, FloatCC::LessThan, x, 0.0, neg, x, ty)
        }
        MathFn::Selu { alpha, gamma } => {
            // gamma * (exp(x) * alpha - alpha), as the interpreter
            let e = exp(cx, x, ty);
            let a = cx.fconst(ty, alpha);
            let ea = cx.b.ins().fmul(e, a);
            let neg = cx.b.ins().fsub(ea, a);
            let t = select_cmp(cx, FloatCC::GreaterThan, x, 0.0, x, neg, ty);
            let g = cx.fconst(ty, gamma);
            cx.b.ins().fmul(g, t)
        }
        MathFn::Celu { alpha } => {
            let inv = cx.fconst(ty, 1.0 / alpha);
            let xa = cx.b.ins().fmul(x, inv);
            let neg = exp_m1_scaled(cx, xa, alpha, ty);
            let zero = cx.fconst(ty, 0.0);
            let pos = max_sel(cx, x, zero);
            let neg = super::elementwise::min_sel(cx, neg, zero);
            cx.b.ins().fadd(pos, neg)
        }
        MathFn::ThresholdedRelu { alpha } => {
            let zero = cx.fconst(ty, 0.0);
            select_cmp(cx, FloatCC::GreaterThan, x, alpha, x, zero, ty)
        }
        MathFn::Swish { alpha } => {
            let a = cx.fconst(ty, alpha);
            let ax = cx.b.ins().fmul(a, x);
            let s = sigmoid(cx, ax, ty);
            cx.b.ins().fmul(x, s)
        }
        MathFn::Gelu { tanh: approximate } => {
            let inner = if approximate {
                let x3 = cx.b.ins().fmul(x, x);
                let x3 = cx.b.ins().fmul(x3, x);
                let c = cx.fconst(ty, 0.044_715);
                let t = cx.mul_add(x3, c, x);
                let k = cx.fconst(ty, (2.0 / std::f32::consts::PI).sqrt());
                let t = cx.b.ins().fmul(k, t);
                tanh(cx, t, ty)
            } else {
                let k = cx.fconst(ty, std::f32::consts::FRAC_1_SQRT_2);
                let t = cx.b.ins().fmul(x, k);
                erf(cx, t, ty)
            };
            let one = cx.fconst(ty, 1.0);
            let s = cx.b.ins().fadd(one, inner);
            let half = cx.fconst(ty, 0.5);
            let hx = cx.b.ins().fmul(half, x);
            cx.b.ins().fmul(hx, s)
        }
        MathFn::Shrink { lambd, bias } => {
            let b = cx.fconst(ty, bias);
            let xp = cx.b.ins().fadd(x, b);
            let xm = cx.b.ins().fsub(x, b);
            let zero = cx.fconst(ty, 0.0);
            let t = select_cmp(cx, FloatCC::GreaterThan, x, lambd, xm, zero, ty);
            select_cmp(cx, FloatCC::LessThan, x, -lambd, xp, t, ty)
        }
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
        | MathFn::Atanh => super::trig::trig_value(cx, f, x, ty),
    }
}
