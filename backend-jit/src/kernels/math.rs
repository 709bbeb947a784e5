//! Transcendental functions in CLIF (Cranelift has no `exp` instruction).
//!
//! Choice: polynomial approximations emitted inline rather than calls to a Rust
//! `extern "C" fn`, so they vectorize (4 lanes per `f32x4`), need no imported symbol in object
//! files, and cost no call per element. Both formulas are from Cephes' single-precision library
//! (`expf.c`, `tanhf.c`, S. L. Moshier), whose documented error is about 1 ULP over the range
//! used here; the differential tests check ≤ 1e-5 relative (or 1e-6 absolute near 0) against
//! the interpreter's `f32::exp`/`f32::tanh`-based formulas.
//!
//! - `exp(x)`: `x` is clamped to `[-87.3, 88.0]` (so `2^n` stays a normal float and finite),
//!   split as `x = n·ln2 + r` with `n = round(x·log2 e)` (the `1.5·2^23` rounding trick, so no
//!   `floor` instruction or SSE4.1 is needed) and `ln 2` in two parts, `exp(r)` by a degree-6
//!   polynomial, and `2^n` built in the exponent bits. Below −87.3 the result is
//!   `exp(−87.3) ≈ 1.2e-38` instead of a denormal or 0; NaN inputs give that value too.
//! - `sigmoid(x) = 1 / (1 + exp(−x))`.
//! - `tanh(x)`: for `|x| < 0.625` the odd polynomial `x + x·z·P(z)`, `z = x²` (no
//!   cancellation near 0); otherwise `sign(x)·(1 − 2 / (exp(2|x|) + 1))`.

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Type, Value};

use super::elementwise::{max_sel, min_sel, select_f};
use super::KernelCx;

const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer in the low mantissa bits.

pub(crate) fn int_ty(ty: Type) -> Type {
    if ty.is_vector() {
        types::I32X4
    } else {
        types::I32
    }
}

pub(crate) fn bitcast(cx: &mut KernelCx, to: Type, v: Value) -> Value {
    let flags = MemFlagsData::new().with_endianness(Endianness::Little);
    cx.b.ins().bitcast(to, flags, v)
}

pub(crate) fn iconst32(cx: &mut KernelCx, ty: Type, v: i32) -> Value {
    let s = cx.b.ins().iconst(types::I32, i64::from(v));
    if ty.is_vector() {
        cx.b.ins().splat(ty, s)
    } else {
        s
    }
}

/// Horner evaluation `((c[0]·x + c[1])·x + …) + c[n-1]`.
pub(crate) fn horner(cx: &mut KernelCx, ty: Type, x: Value, coeffs: &[f32]) -> Value {
    let mut p = cx.fconst(ty, coeffs[0]);
    for &c in &coeffs[1..] {
        let cv = cx.fconst(ty, c);
        p = cx.mul_add(p, x, cv);
    }
    p
}

/// `exp(x)` for `ty` = `F32` or `F32X4` (see the module docs for range and accuracy).
#[allow(clippy::excessive_precision, reason = "Cephes coefficients as published")]
pub(crate) fn exp(cx: &mut KernelCx, x: Value, ty: Type) -> Value {
    let lo = cx.fconst(ty, -87.3);
    let hi = cx.fconst(ty, 88.0);
    let x = max_sel(cx, x, lo);
    let x = min_sel(cx, x, hi);
    let log2e = cx.fconst(ty, std::f32::consts::LOG2_E);
    let magic = cx.fconst(ty, MAGIC);
    let t = cx.b.ins().fmul(x, log2e);
    let tm = cx.b.ins().fadd(t, magic);
    let n = cx.b.ins().fsub(tm, magic);
    let c1 = cx.fconst(ty, 0.693_359_4);
    let c2 = cx.fconst(ty, -2.121_944_4e-4);
    let nc1 = cx.b.ins().fmul(n, c1);
    let r = cx.b.ins().fsub(x, nc1);
    let nc2 = cx.b.ins().fmul(n, c2);
    let r = cx.b.ins().fsub(r, nc2);
    let z = cx.b.ins().fmul(r, r);
    let p = horner(
        cx,
        ty,
        r,
        &[1.987_569_2e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1],
    );
    let one = cx.fconst(ty, 1.0);
    let r1 = cx.b.ins().fadd(r, one);
    let y = cx.mul_add(p, z, r1);
    // 2^n: the integer n sits in the low mantissa bits of tm.
    let ity = int_ty(ty);
    let tm_bits = bitcast(cx, ity, tm);
    let bias = iconst32(cx, ity, 127 - MAGIC.to_bits() as i32);
    let e = cx.b.ins().iadd(tm_bits, bias);
    let e = cx.b.ins().ishl_imm_s(e, 23);
    let pow2n = bitcast(cx, ty, e);
    cx.b.ins().fmul(y, pow2n)
}

/// `1 / (1 + exp(-x))`.
pub(crate) fn sigmoid(cx: &mut KernelCx, x: Value, ty: Type) -> Value {
    let nx = cx.b.ins().fneg(x);
    let e = exp(cx, nx, ty);
    let one = cx.fconst(ty, 1.0);
    let d = cx.b.ins().fadd(one, e);
    cx.b.ins().fdiv(one, d)
}

/// `tanh(x)` (see the module docs).
#[allow(clippy::excessive_precision, reason = "Cephes coefficients as published")]
pub(crate) fn tanh(cx: &mut KernelCx, x: Value, ty: Type) -> Value {
    let ax = cx.b.ins().fabs(x);
    // Small |x|: odd polynomial.
    let z = cx.b.ins().fmul(x, x);
    let p = horner(cx, ty, z, &[-5.704_988_7e-3, 2.063_908_9e-2, -5.373_971_6e-2, 1.333_144_2e-1, -3.333_328_2e-1]);
    let pz = cx.b.ins().fmul(p, z);
    let small = cx.mul_add(pz, x, x);
    // Large |x|: 1 - 2 / (exp(2|x|) + 1), with the sign of x.
    let two_ax = cx.b.ins().fadd(ax, ax);
    let e = exp(cx, two_ax, ty);
    let one = cx.fconst(ty, 1.0);
    let two = cx.fconst(ty, 2.0);
    let d = cx.b.ins().fadd(e, one);
    let q = cx.b.ins().fdiv(two, d);
    let large_abs = cx.b.ins().fsub(one, q);
    let ity = int_ty(ty);
    let xb = bitcast(cx, ity, x);
    let sign_mask = iconst32(cx, ity, i32::MIN);
    let sign = cx.b.ins().band(xb, sign_mask);
    let lb = bitcast(cx, ity, large_abs);
    let lb = cx.b.ins().bor(lb, sign);
    let large = bitcast(cx, ty, lb);
    let limit = cx.fconst(ty, 0.625);
    let is_small = cx.b.ins().fcmp(FloatCC::LessThan, ax, limit);
    select_f(cx, is_small, small, large)
}
