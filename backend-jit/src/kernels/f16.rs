//! IEEE 754 binary16 (`f16`) conversions in CLIF, with integer operations (plus one exact
//! `f32` add or subtract for subnormals), so they need no F16C or ARMv8.2 FP16 and work on
//! `f32x4` lanes as well as on scalars.
//!
//! Both are bit-exact with the `half` crate the interpreter uses (`f16::from_f32`,
//! `f16::to_f32`), hence with x86 `vcvtps2ph` / `vcvtph2ps`:
//!
//! - [`f16_to_f32`] is exact. Subnormals are normalized (`m · 2^-24` computed as
//!   `(2^-14 + m · 2^-24) - 2^-14`, both exact); infinities stay infinite; a NaN keeps its
//!   payload (`man << 13`) and gets the quiet bit.
//! - [`f32_to_f16`] rounds to nearest, ties to even: normal results by adding `0xfff` plus the
//!   lowest kept mantissa bit before the shift by 13 (a carry into the exponent is the correct
//!   result, up to `+inf` from 65520 on); subnormal results by the `f32` addition `|x| + 0.5`,
//!   whose ulp `2^-24` is the f16 subnormal ulp (the FPU rounds to nearest even); `|x| >= 2^16`
//!   gives `±inf`; a NaN gives `0x7e00 | (man >> 13)` with the sign (quiet, payload kept).
//!
//! Formulas after F. Giesen, "half_to_float_fast5" / "float_to_half_fast3_rtne" (public
//! domain), with `half`'s NaN payload rule.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};

use super::math::{bitcast, iconst32};
use super::KernelCx;

/// `cond ? a : b` for an integer compare result `cond` (scalar `i8`, or a lane mask of `a`'s
/// vector type).
fn sel(cx: &mut KernelCx, cond: Value, a: Value, b: Value) -> Value {
    if cx.b.func.dfg.value_type(a).is_vector() {
        cx.b.ins().bitselect(cond, a, b)
    } else {
        cx.b.ins().select(cond, a, b)
    }
}

/// `x cc c` for an `i32` / `i32x4` value and a constant.
fn cmp(cx: &mut KernelCx, cc: IntCC, x: Value, c: i32) -> Value {
    let ty = cx.b.func.dfg.value_type(x);
    let cv = iconst32(cx, ty, c);
    cx.b.ins().icmp(cc, x, cv)
}

fn and(cx: &mut KernelCx, x: Value, c: i32) -> Value {
    let ty = cx.b.func.dfg.value_type(x);
    let cv = iconst32(cx, ty, c);
    cx.b.ins().band(x, cv)
}

fn add(cx: &mut KernelCx, x: Value, c: i32) -> Value {
    let ty = cx.b.func.dfg.value_type(x);
    let cv = iconst32(cx, ty, c);
    cx.b.ins().iadd(x, cv)
}

/// The float type with the lanes of the `i32`/`i32x4` type `ity`.
fn float_of(ity: Type) -> Type {
    if ity.is_vector() {
        types::F32X4
    } else {
        types::F32
    }
}

/// Widens f16 bit patterns (`h`: `i32` or `i32x4`, the 16 bits zero-extended) to `f32` /
/// `f32x4`, exactly (see the module docs).
pub(crate) fn f16_to_f32(cx: &mut KernelCx, h: Value) -> Value {
    let ity = cx.b.func.dfg.value_type(h);
    let fty = float_of(ity);
    let em = and(cx, h, 0x7fff);
    let sign = and(cx, h, 0x8000);
    let sign = cx.b.ins().ishl_imm_u(sign, 16);
    let o = cx.b.ins().ishl_imm_u(em, 13);
    // Normal: rebias the exponent (15 -> 127).
    let normal = add(cx, o, (127 - 15) << 23);
    // Inf / NaN: all exponent bits; NaNs get the quiet bit.
    let infnan = add(cx, o, (255 - 31) << 23);
    let is_nan = cmp(cx, IntCC::SignedGreaterThan, em, 0x7c00);
    let quiet = iconst32(cx, ity, 0x0040_0000);
    let zero = iconst32(cx, ity, 0);
    let q = sel(cx, is_nan, quiet, zero);
    let infnan = cx.b.ins().bor(infnan, q);
    // Zero / subnormal: (2^-14 + m * 2^-24) - 2^-14.
    let biased = add(cx, o, 113 << 23);
    let f = bitcast(cx, fty, biased);
    let magic_bits = iconst32(cx, ity, 113 << 23);
    let magic = bitcast(cx, fty, magic_bits);
    let sub = cx.b.ins().fsub(f, magic);
    let sub = bitcast(cx, ity, sub);
    let is_special = cmp(cx, IntCC::SignedGreaterThanOrEqual, em, 0x7c00);
    let is_small = cmp(cx, IntCC::SignedLessThan, em, 0x0400);
    let r = sel(cx, is_small, sub, normal);
    let r = sel(cx, is_special, infnan, r);
    let r = cx.b.ins().bor(r, sign);
    bitcast(cx, fty, r)
}

/// Rounds `f32` / `f32x4` values to f16 (nearest, ties to even; see the module docs) and
/// returns the bit patterns in the low 16 bits of `i32` / `i32x4` lanes (upper bits zero).
pub(crate) fn f32_to_f16(cx: &mut KernelCx, x: Value) -> Value {
    let fty = cx.b.func.dfg.value_type(x);
    let ity = if fty.is_vector() { types::I32X4 } else { types::I32 };
    let bits = bitcast(cx, ity, x);
    let sign = cx.b.ins().ushr_imm_u(bits, 16);
    let sign = and(cx, sign, 0x8000);
    let a = and(cx, bits, 0x7fff_ffff);
    // Inf / NaN (payload kept, quiet bit set for NaN) and overflow (|x| >= 2^16).
    let man = cx.b.ins().ushr_imm_u(a, 13);
    let man = and(cx, man, 0x3ff);
    let is_nan = cmp(cx, IntCC::SignedGreaterThan, a, 0x7f80_0000);
    let quiet = iconst32(cx, ity, 0x0200);
    let zero = iconst32(cx, ity, 0);
    let q = sel(cx, is_nan, quiet, zero);
    let nan = cx.b.ins().bor(man, q);
    let inf = iconst32(cx, ity, 0x7c00);
    let nan = cx.b.ins().bor(nan, inf);
    let special = sel(cx, is_nan, nan, inf);
    // Normal: rebias, round to nearest even, shift.
    let odd = cx.b.ins().ushr_imm_u(a, 13);
    let odd = and(cx, odd, 1);
    let n = add(cx, a, ((15 - 127) << 23) + 0xfff);
    let n = cx.b.ins().iadd(n, odd);
    let normal = cx.b.ins().ushr_imm_u(n, 13);
    // Subnormal or zero: |x| + 0.5 rounds at the f16 subnormal ulp.
    let half_bits = iconst32(cx, ity, 0x3f00_0000);
    let af = bitcast(cx, fty, a);
    let half = bitcast(cx, fty, half_bits);
    let s = cx.b.ins().fadd(af, half);
    let s = bitcast(cx, ity, s);
    let sub = cx.b.ins().isub(s, half_bits);
    let is_big = cmp(cx, IntCC::SignedGreaterThanOrEqual, a, 0x4780_0000);
    let is_small = cmp(cx, IntCC::SignedLessThan, a, 0x3880_0000);
    let r = sel(cx, is_small, sub, normal);
    let r = sel(cx, is_big, special, r);
    cx.b.ins().bor(r, sign)
}

/// Loads one f16 at `addr` as `f32`.
pub(crate) fn load_f16(cx: &mut KernelCx, addr: Value) -> Value {
    let h = cx.load(types::I16, addr, 0);
    let h = cx.b.ins().uextend(types::I32, h);
    f16_to_f32(cx, h)
}

/// Loads four consecutive f16 at `addr` as `f32x4`.
pub(crate) fn load_f16x4(cx: &mut KernelCx, addr: Value) -> Value {
    let flags = cranelift_codegen::ir::MemFlagsData::new().with_notrap();
    let h = cx.b.ins().uload16x4(flags, addr, 0);
    f16_to_f32(cx, h)
}

/// Rounds the `f32` `v` to f16 and stores it at `addr`.
pub(crate) fn store_f16(cx: &mut KernelCx, v: Value, addr: Value) {
    let h = f32_to_f16(cx, v);
    let h = cx.b.ins().ireduce(types::I16, h);
    cx.store(h, addr, 0);
}

/// Rounds the `f32x4` `v` to f16 and stores the four results (8 bytes) at `addr`.
pub(crate) fn store_f16x4(cx: &mut KernelCx, v: Value, addr: Value) {
    let h = f32_to_f16(cx, v);
    // Every lane is in 0..=0xffff, so the unsigned saturating narrow keeps it.
    let n = cx.b.ins().unarrow(h, h);
    let n = bitcast(cx, types::I64X2, n);
    let lo = cx.b.ins().extractlane(n, 0);
    cx.store(lo, addr, 0);
}
