//! `Binary(Pow)` and `Binary(Mod)` element values (ONNX `Pow`, opset 15; `Mod`, opset 13),
//! used by [`lower_binary`](super::elementwise::lower_binary).
//!
//! - `f32` (scalar or `f32x4`; needs [`TargetFeatures::has_round`]; `f16` is computed in `f32`
//!   by the caller):
//!   - `Pow`: `|x|^y = exp(y · ln|x|)` with the polynomial [`exp`] and [`ln`] (a few ULP for
//!     `|y · ln|x|| < 10`, well inside the node tests' rtol 1e-3), then the IEEE `powf`
//!     special cases: a negative base gives `-|x|^y` for odd integer `y`, `|x|^y` for even
//!     `y` and NaN otherwise; `x^0 = 1` and `1^y = 1` (also for NaN); `0^y` is `0` for
//!     `y > 0` and `+inf` for `y < 0`; results beyond `exp(88.7)` are `+inf`.
//!   - `Mod`: `m = fma(-trunc(a / b), b, a)`, plus `b` (with `a`'s sign) when the rounded
//!     quotient was one too large and left `m` with the wrong sign, then `m` takes `a`'s sign
//!     (C `fmod`, exact while `|a / b| < 2^24`; NaN for `b = 0` or infinite `a`, `a` for
//!     infinite `b`); for numpy `mod` moved into the sign of `b` (`m + b` when `m` and `b`
//!     have opposite signs; a zero result takes `b`'s sign).
//! - Integers (`i64`, `i32`, and `i16`/`i8`/`u8` widened to `i32` and wrapped back, as every
//!   binary op on those dtypes is),
//!   scalar, exactly as the interpreter (`ops/math.rs`): `Pow` by square-and-multiply over
//!   every exponent bit (wrapping); a negative exponent gives `1` for base `1`, `±1` for base
//!   `-1`, else `0`. `Mod` is `srem` (C) or `srem` moved into the divisor's sign (numpy).
//!   Where the interpreter reports a division by zero (`Mod` by 0, `0^-n`) the kernel
//!   writes 0 instead of trapping.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use int8xc_ir::BinaryOp;

use super::elementwise::select_f;
use super::math::{bitcast, exp, iconst32, int_ty};
use super::unary_math::ln;
use super::KernelCx;

/// `a op b` for `op` = `Pow` or `Mod` and `a`, `b` of type `F32` or `F32X4`.
pub(crate) fn float_value(cx: &mut KernelCx, op: BinaryOp, a: Value, b: Value, ty: Type) -> Value {
    match op {
        BinaryOp::Pow => pow_f32(cx, a, b, ty),
        BinaryOp::Mod { fmod } => mod_f32(cx, a, b, fmod, ty),
        _ => a,
    }
}

fn fcmp_const(cx: &mut KernelCx, cc: FloatCC, x: Value, c: f32, ty: Type) -> Value {
    let cv = cx.fconst(ty, c);
    cx.b.ins().fcmp(cc, x, cv)
}

fn pow_f32(cx: &mut KernelCx, x: Value, y: Value, ty: Type) -> Value {
    let ax = cx.b.ins().fabs(x);
    let l = ln(cx, ax, ty);
    let t = cx.b.ins().fmul(y, l);
    let r = exp(cx, t, ty);
    let inf = cx.fconst(ty, f32::INFINITY);
    let big = fcmp_const(cx, FloatCC::GreaterThan, t, 88.72, ty);
    let r = select_f(cx, big, inf, r);
    // Negative base: sign from the parity of an integer exponent, NaN otherwise.
    let yr = cx.b.ins().nearest(y);
    let is_int = cx.b.ins().fcmp(FloatCC::Equal, yr, y);
    let half = cx.fconst(ty, 0.5);
    let hy = cx.b.ins().fmul(y, half);
    let hr = cx.b.ins().nearest(hy);
    let odd = cx.b.ins().fcmp(FloatCC::NotEqual, hr, hy);
    let nr = cx.b.ins().fneg(r);
    let signed = select_f(cx, odd, nr, r);
    let nan = cx.fconst(ty, f32::NAN);
    let neg_base = select_f(cx, is_int, signed, nan);
    let is_neg = fcmp_const(cx, FloatCC::LessThan, x, 0.0, ty);
    let r = select_f(cx, is_neg, neg_base, r);
    // NaN operands (or 1 * inf) propagate.
    let unordered = cx.b.ins().fcmp(FloatCC::Unordered, t, t);
    let r = select_f(cx, unordered, nan, r);
    // Zero base.
    let zero = cx.fconst(ty, 0.0);
    let y_pos = fcmp_const(cx, FloatCC::GreaterThan, y, 0.0, ty);
    let zero_base = select_f(cx, y_pos, zero, inf);
    let x_zero = fcmp_const(cx, FloatCC::Equal, x, 0.0, ty);
    let r = select_f(cx, x_zero, zero_base, r);
    // x^0 = 1 and 1^y = 1, whatever the other operand.
    let one = cx.fconst(ty, 1.0);
    let y_zero = fcmp_const(cx, FloatCC::Equal, y, 0.0, ty);
    let r = select_f(cx, y_zero, one, r);
    let x_one = fcmp_const(cx, FloatCC::Equal, x, 1.0, ty);
    select_f(cx, x_one, one, r)
}

fn mod_f32(cx: &mut KernelCx, a: Value, b: Value, fmod: bool, ty: Type) -> Value {
    let q = cx.b.ins().fdiv(a, b);
    let q = cx.b.ins().trunc(q);
    let nq = cx.b.ins().fneg(q);
    let m = cx.mul_add(nq, b, a);
    // The rounded quotient can be one too large in magnitude (`a / b` just below an integer),
    // leaving a non-zero `m` of the opposite sign: add `b` with `a`'s sign. Then give the
    // result `a`'s sign, as C `fmod` (a zero remainder of a negative `a` is -0).
    let ity = int_ty(ty);
    let (mb, ab) = (bitcast(cx, ity, m), bitcast(cx, ity, a));
    let sign = iconst32(cx, ity, i32::MIN);
    let a_sign = cx.b.ins().band(ab, sign);
    let flip = cx.b.ins().bxor(mb, ab);
    let flip = cx.b.ins().band(flip, sign);
    let zero_i = iconst32(cx, ity, 0);
    let opposite = cx.b.ins().icmp(IntCC::NotEqual, flip, zero_i);
    let nonzero = fcmp_const(cx, FloatCC::NotEqual, m, 0.0, ty);
    // Scalar: both i8 flags; vector: both i32x4 lane masks.
    let opposite = cx.b.ins().band(opposite, nonzero);
    let abs_mask = iconst32(cx, ity, i32::MAX);
    let bb = bitcast(cx, ity, b);
    let b_abs = cx.b.ins().band(bb, abs_mask);
    let b_as_a = cx.b.ins().bor(b_abs, a_sign);
    let b_as_a = bitcast(cx, ty, b_as_a);
    let fixed = cx.b.ins().fadd(m, b_as_a);
    let m = if ty.is_vector() {
        let f = bitcast(cx, ity, fixed);
        let r = cx.b.ins().bitselect(opposite, f, mb);
        bitcast(cx, ty, r)
    } else {
        cx.b.ins().select(opposite, fixed, m)
    };
    let mb = bitcast(cx, ity, m);
    let m_abs = cx.b.ins().band(mb, abs_mask);
    let signed = cx.b.ins().bor(m_abs, a_sign);
    let m = bitcast(cx, ty, signed);
    // fmod(a, ±inf) = a for finite a; fmod(±inf, b) = NaN.
    let inf = cx.fconst(ty, f32::INFINITY);
    let abs_b = cx.b.ins().fabs(b);
    let b_inf = cx.b.ins().fcmp(FloatCC::Equal, abs_b, inf);
    let m = select_f(cx, b_inf, a, m);
    let abs_a = cx.b.ins().fabs(a);
    let a_inf = cx.b.ins().fcmp(FloatCC::Equal, abs_a, inf);
    let nan = cx.fconst(ty, f32::NAN);
    let m = select_f(cx, a_inf, nan, m);
    if fmod {
        return m;
    }
    // numpy: move a non-zero remainder into b's sign; a zero one takes b's sign.
    let prod = cx.b.ins().fmul(m, b);
    let opposite = fcmp_const(cx, FloatCC::LessThan, prod, 0.0, ty);
    let mb = cx.b.ins().fadd(m, b);
    let r = select_f(cx, opposite, mb, m);
    let ity = int_ty(ty);
    let bb = bitcast(cx, ity, b);
    let sign = iconst32(cx, ity, i32::MIN);
    let sb = cx.b.ins().band(bb, sign);
    let signed_zero = bitcast(cx, ty, sb);
    let is_zero = fcmp_const(cx, FloatCC::Equal, m, 0.0, ty);
    select_f(cx, is_zero, signed_zero, r)
}

/// `a op b` for `op` = `Pow` or `Mod` and scalar integers `a`, `b` of type `ty` (`I32` or
/// `I64`; narrower dtypes are widened by the caller).
pub(crate) fn int_value(cx: &mut KernelCx, op: BinaryOp, a: Value, b: Value, ty: Type) -> Value {
    match op {
        BinaryOp::Pow => pow_int(cx, a, b, ty),
        BinaryOp::Mod { fmod } => mod_int(cx, a, b, fmod, ty),
        _ => a,
    }
}

fn pow_int(cx: &mut KernelCx, x: Value, y: Value, ty: Type) -> Value {
    let one = cx.b.ins().iconst(ty, 1);
    let zero = cx.b.ins().iconst(ty, 0);
    let (mut acc, mut base) = (one, x);
    // Square-and-multiply over the exponent's bits (the sign bit is handled below).
    for bit in 0..ty.bits() - 1 {
        let m = cx.b.ins().ushr_imm_u(y, i64::from(bit));
        let m = cx.b.ins().band_imm_s(m, 1);
        let prod = cx.b.ins().imul(acc, base);
        acc = cx.b.ins().select(m, prod, acc);
        base = cx.b.ins().imul(base, base);
    }
    // Negative exponent: 1 / x^|y| truncated.
    let is_one = cx.b.ins().icmp_imm_s(IntCC::Equal, x, 1);
    let is_m1 = cx.b.ins().icmp_imm_s(IntCC::Equal, x, -1);
    let odd = cx.b.ins().band_imm_s(y, 1);
    let m1 = cx.b.ins().iconst(ty, -1);
    let m1_pow = cx.b.ins().select(odd, m1, one);
    let neg = cx.b.ins().select(is_m1, m1_pow, zero);
    let neg = cx.b.ins().select(is_one, one, neg);
    let y_neg = cx.b.ins().icmp_imm_s(IntCC::SignedLessThan, y, 0);
    cx.b.ins().select(y_neg, neg, acc)
}

fn mod_int(cx: &mut KernelCx, a: Value, b: Value, fmod: bool, ty: Type) -> Value {
    // srem traps on b == 0 (and on MIN % -1): use a safe divisor; both give 0.
    let one = cx.b.ins().iconst(ty, 1);
    let is_zero = cx.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
    let is_m1 = cx.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
    let bad = cx.b.ins().bor(is_zero, is_m1);
    let safe = cx.b.ins().select(bad, one, b);
    let r = cx.b.ins().srem(a, safe);
    if fmod {
        return r;
    }
    let x = cx.b.ins().bxor(r, b);
    let opposite = cx.b.ins().icmp_imm_s(IntCC::SignedLessThan, x, 0);
    let nonzero = cx.b.ins().icmp_imm_s(IntCC::NotEqual, r, 0);
    let fix = cx.b.ins().band(opposite, nonzero);
    let rb = cx.b.ins().iadd(r, b);
    cx.b.ins().select(fix, rb, r)
}
