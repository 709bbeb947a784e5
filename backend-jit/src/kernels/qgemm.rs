//! The int8 GEMM microkernel: one register tile of [`QMR`] = 4 rows × [`QNR`] = 8 columns,
//! `acc[r][c] = Σ_k rows[r][k] · cols[k][c]` in `i32`, over operands packed by
//! [`crate::pack_i8`] (row tile `[K/4][4][4]`, column panel `[K/4][8][4]`), followed by the
//! fused epilogue ([`QEpilogue`]: zero-point corrections, bias, requantization, clamp,
//! narrowing store).
//!
//! Per `k` group (4 `k`): one 16-byte load of the row tile, two 16-byte loads of the panel,
//! four word broadcasts of the row tile (one `pshufd` each), and eight dot-product steps into
//! 8 `i32x4` accumulators (DESIGN.md: 12 accumulators spill with xmm0–15).
//!
//! The dot-product step ([`dot4`]) is the CLIF tree `iadd(iadd_pairwise(iadd_pairwise(…),
//! …), acc)` over `imul(swiden(s), uwiden(u))` halves, which is exact (`u8·i8` products fit
//! `i16`; the pairwise sums are `i32`) and which Cranelift's x64 backend folds into one
//! `vpdpbusd xmm` when the host has AVX-512VNNI+VL or AVX-VNNI (aarch64: `usdot` with i8mm).
//! On other targets the same tree lowers to widening multiplies (`pmovsxbw`/`pmovzxbw`,
//! `pmullw`, `phaddd`): exact, about 6× slower. The `pmaddubsw` + `pmaddwd` route is not
//! used: `pmaddubsw` saturates the `i16` sum of two `u8·i8` products (`2·255·127 > 32767`),
//! which would break bit-exactness for arbitrary weights.
//!
//! Which operand holds the signed bytes is a parameter ([`SignedSide`]): MatMul broadcasts
//! the `u8` activations and streams `i8` weight panels; Conv broadcasts `i8` weight rows and
//! streams `u8` im2col panels.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, ConstantData, Endianness, Immediate, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::Variable;

use super::KernelCx;
use crate::pack_i8::{KG, QMR, QNR};

/// Broadcast row words by one 16-byte load + `pshufd` (true), or by one `splat(load f32)`
/// per row (false; `vmovss` + `vbroadcastss`). Measured on Zen 4 with `benches/qgemm.rs`
/// (QMatMul u8×i8 1024³, one thread, median): 83.5 GMAC/s with `splat(load f32)`, 65.0 with
/// the shuffle (and 34.0 with `splat(load i32)`, which lowers to `movl`+`vmovd`+`vpbroadcastd`).
const BROADCAST_BY_SHUFFLE: bool = false;

/// `k` groups per iteration of the microkernel loop.
const UNROLL: usize = 4;

/// `2^23 + 2^22`: adding it to an f32 of magnitude `<= 2^22` rounds it to an integer (ties to
/// even, the default rounding mode) held in the low mantissa bits.
const MAGIC: f32 = 12_582_912.0;
/// The bit pattern of [`MAGIC`].
const MAGIC_BITS: i32 = 0x4B40_0000;

/// Which tile operand holds the signed (`i8`) bytes; the other holds `u8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignedSide {
    /// The column panel (MatMul: weights).
    Cols,
    /// The row tile (Conv: weights).
    Rows,
}

/// Little-endian flags for lane-changing `bitcast`s.
pub(crate) fn le() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// `shuffle(a, b, mask)` over bytes.
pub(crate) fn shuffle(cx: &mut KernelCx, a: Value, b: Value, mask: [u8; 16]) -> Value {
    let imm: Immediate = cx.b.func.dfg.immediates.push(ConstantData::from(mask.to_vec()));
    cx.b.ins().shuffle(a, b, imm)
}

/// An `i8x16` with 32-bit word `lane` of `v` in every word.
fn splat_word(cx: &mut KernelCx, v: Value, lane: u8) -> Value {
    let mut mask = [0u8; 16];
    for (i, m) in mask.iter_mut().enumerate() {
        *m = lane * 4 + (i % 4) as u8;
    }
    shuffle(cx, v, v, mask)
}

/// One dot-product step: `acc[j] + Σ_{i<4} s[4j+i] · u[4j+i]` per `i32` lane `j`, with `s`
/// read as `i8` and `u` as `u8` (both `i8x16`). See the module docs for the lowering.
pub(crate) fn dot4(cx: &mut KernelCx, s: Value, u: Value, acc: Value) -> Value {
    let b = &mut cx.b;
    let (sl, ul) = (b.ins().swiden_low(s), b.ins().uwiden_low(u));
    let lo = b.ins().imul(sl, ul);
    let (sh, uh) = (b.ins().swiden_high(s), b.ins().uwiden_high(u));
    let hi = b.ins().imul(sh, uh);
    let (lo_l, lo_h) = (b.ins().swiden_low(lo), b.ins().swiden_high(lo));
    let p_lo = b.ins().iadd_pairwise(lo_l, lo_h);
    let (hi_l, hi_h) = (b.ins().swiden_low(hi), b.ins().swiden_high(hi));
    let p_hi = b.ins().iadd_pairwise(hi_l, hi_h);
    let p = b.ins().iadd_pairwise(p_lo, p_hi);
    b.ins().iadd(p, acc)
}

/// An `i32x4` splat of `v`.
pub(crate) fn splat_i32(cx: &mut KernelCx, v: i32) -> Value {
    let s = cx.b.ins().iconst(types::I32, i64::from(v));
    cx.b.ins().splat(types::I32X4, s)
}

/// Emits the dot products of one tile: `rows` points to a packed row tile (`[groups][4][4]`
/// bytes), `cols` to a packed column panel (`[groups][8][4]`). Returns the 8 accumulators,
/// `acc[2·r + v]` holding row `r`, columns `4v .. 4v + 4`.
pub(crate) fn emit_dot_tile(
    cx: &mut KernelCx,
    rows: Value,
    cols: Value,
    groups: usize,
    signed: SignedSide,
) -> [Value; 8] {
    let zero = splat_i32(cx, 0);
    let ptr_ty = cx.ptr_ty();
    let acc: Vec<Variable> = (0..2 * QMR)
        .map(|_| {
            let v = cx.b.declare_var(types::I32X4);
            cx.b.def_var(v, zero);
            v
        })
        .collect();
    let (rp, cp) = (cx.b.declare_var(ptr_ty), cx.b.declare_var(ptr_ty));
    cx.b.def_var(rp, rows);
    cx.b.def_var(cp, cols);
    let row_step = (QMR * KG) as i64;
    let col_step = (QNR * KG) as i64;
    let group = |cx: &mut KernelCx, n: usize| {
        let (r, c) = (cx.b.use_var(rp), cx.b.use_var(cp));
        for u in 0..n as i32 {
            let b0 = cx.load(types::I8X16, c, u * col_step as i32);
            let b1 = cx.load(types::I8X16, c, u * col_step as i32 + 16);
            let a = if BROADCAST_BY_SHUFFLE { Some(cx.load(types::I8X16, r, u * row_step as i32)) } else { None };
            for row in 0..QMR {
                let ar = match a {
                    Some(a) => splat_word(cx, a, row as u8),
                    None => {
                        // An f32 load + splat lowers to one `vbroadcastss` from memory.
                        let w = cx.load(types::F32, r, u * row_step as i32 + 4 * row as i32);
                        let s = cx.b.ins().splat(types::F32X4, w);
                        cx.b.ins().bitcast(types::I8X16, le(), s)
                    }
                };
                for (v, &bv) in [b0, b1].iter().enumerate() {
                    let var = acc[2 * row + v];
                    let cur = cx.b.use_var(var);
                    let nx = match signed {
                        SignedSide::Cols => dot4(cx, bv, ar, cur),
                        SignedSide::Rows => dot4(cx, ar, bv, cur),
                    };
                    cx.b.def_var(var, nx);
                }
            }
        }
        let nr = cx.b.ins().iadd_imm_s(r, row_step * n as i64);
        let nc = cx.b.ins().iadd_imm_s(c, col_step * n as i64);
        cx.b.def_var(rp, nr);
        cx.b.def_var(cp, nc);
    };
    let iters = (groups / UNROLL) as i64;
    cx.for_static(0, iters, 1, |cx, _| group(cx, UNROLL));
    if !groups.is_multiple_of(UNROLL) {
        group(cx, groups % UNROLL);
    }
    let mut out = [zero; 8];
    for (o, &v) in out.iter_mut().zip(&acc) {
        *o = cx.b.use_var(v);
    }
    out
}

/// Along which tile dimension the per-channel parameters (weight scales and zero points)
/// vary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChannelAxis {
    /// Per tile row (Conv: output channels).
    Rows,
    /// Per tile column (MatMul: output columns).
    Cols,
}

/// The output element type and conversion of the epilogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QOutKind {
    /// `i32` accumulators (MatMulInteger, ConvInteger).
    I32,
    /// `f32(acc) · scale[ch]` (QMatMul without requantization).
    F32,
    /// `requantize_f32(acc, scale[ch], zp, (lo, hi))`, stored as `bytes`-wide integers.
    RequantF32 { zp: i32, lo: i32, hi: i32, bytes: u8 },
    /// `requantize_fixed_point(acc, m[ch], shift[ch], zp, (lo, hi))`, stored as
    /// `bytes`-wide integers.
    RequantFixed { zp: i32, lo: i32, hi: i32, bytes: u8 },
}

/// Bytes of one fixed-point table entry: `[multiplier, left shift, right shift, 2^(right-1)
/// or 0, right > 0]` as `i32`, padded to 8 entries.
pub(crate) const FIXED_ENTRY_BYTES: usize = 32;

/// The fused epilogue of one tile. Every table pointer addresses the entry of tile row 0 (a
/// `Rows` table, one `i32`/`f32` per row) or tile column 0 (a `Cols` table, 8 readable
/// entries). With `acc` the raw dot products:
///
/// ```text
/// x[r][c] = acc + rterm[r] + cterm[c] - rz[r]·csum[c] - cz[c]·rsum[r]     (wrapping i32)
/// y[r][c] = out(x, channel = r or c per `axis`)
/// ```
#[derive(Clone, Copy, Debug)]
pub(crate) struct QEpilogue {
    pub axis: ChannelAxis,
    pub rterm: Option<Value>,
    pub cterm: Option<Value>,
    /// `(rz, csum)`: a `Rows` and a `Cols` table.
    pub rz_csum: Option<(Value, Value)>,
    /// `(cz, rsum)`: a `Cols` and a `Rows` table.
    pub cz_rsum: Option<(Value, Value)>,
    /// `f32` scales or multipliers per channel (`F32`, `RequantF32`), or fixed-point entries
    /// ([`FIXED_ENTRY_BYTES`] per channel, `RequantFixed`).
    pub params: Option<Value>,
    pub out: QOutKind,
}

/// Output tile: element `(r, c)` at `ptr + (r·ldc + c)·elem_bytes`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QCTile {
    pub ptr: Value,
    pub ldc: i64,
}

fn load_row_splat(cx: &mut KernelCx, table: Value, r: usize, ty: types::Type) -> Value {
    let s = cx.load(if ty == types::F32X4 { types::F32 } else { types::I32 }, table, 4 * r as i32);
    cx.b.ins().splat(ty, s)
}

/// Per-channel vector operand for row `r`, column vector `v`.
fn channel_vec(cx: &mut KernelCx, ep: &QEpilogue, table: Value, r: usize, v: usize, ty: types::Type) -> Value {
    match ep.axis {
        ChannelAxis::Rows => load_row_splat(cx, table, r, ty),
        ChannelAxis::Cols => cx.load(ty, table, 16 * v as i32),
    }
}

/// `x · m · 2^(shift-31)` rounded as TFLite's `MultiplyByQuantizedMultiplier`, plus `zp`,
/// clamped: scalar `i64` arithmetic on lane `x` (`i32`) with the table entry at `entry`.
fn fixed_point_lane(cx: &mut KernelCx, x: Value, entry: Value, zp: i32, lo: i32, hi: i32) -> Value {
    let ld = |cx: &mut KernelCx, i: i32| {
        let v = cx.load(types::I32, entry, 4 * i);
        cx.b.ins().sextend(types::I64, v)
    };
    let (m, left, right, half, has_right) = (ld(cx, 0), ld(cx, 1), ld(cx, 2), ld(cx, 3), ld(cx, 4));
    let b = &mut cx.b;
    let x = b.ins().sextend(types::I64, x);
    let sh = b.ins().ishl(x, left);
    let (imin, imax) =
        (b.ins().iconst(types::I64, i64::from(i32::MIN)), b.ins().iconst(types::I64, i64::from(i32::MAX)));
    let sh = b.ins().smax(sh, imin);
    let sh = b.ins().smin(sh, imax);
    // SaturatingRoundingDoublingHighMul with m in [0, 2^31): floor((sh·m + 2^30) / 2^31)
    // (ties toward +inf; |sh·m| < 2^62, no saturation case).
    let p = b.ins().imul(sh, m);
    let p = b.ins().iadd_imm_s(p, 1 << 30);
    let s = b.ins().sshr_imm_s(p, 31);
    // RoundingDivideByPOT: floor((s + 2^(right-1) - [s < 0 and right > 0]) / 2^right).
    let neg = b.ins().icmp_imm_s(IntCC::SignedLessThan, s, 0);
    let neg = b.ins().uextend(types::I64, neg);
    let neg = b.ins().band(neg, has_right);
    let t = b.ins().iadd(s, half);
    let t = b.ins().isub(t, neg);
    let t = b.ins().sshr(t, right);
    let t = b.ins().iadd_imm_s(t, i64::from(zp));
    let (lo, hi) = (b.ins().iconst(types::I64, i64::from(lo)), b.ins().iconst(types::I64, i64::from(hi)));
    let t = b.ins().smax(t, lo);
    let t = b.ins().smin(t, hi);
    b.ins().ireduce(types::I32, t)
}

/// The vector constants of the `RequantF32` conversion, materialized once per tile (the JIT
/// runs Cranelift without GVN, so constants built per vector are rebuilt per vector).
#[derive(Clone, Copy)]
struct RequantConsts {
    /// `lo - zp`, `hi - zp` (`f32x4`).
    lo: Value,
    hi: Value,
    /// [`MAGIC`] (`f32x4`) and `MAGIC_BITS - zp` (`i32x4`).
    magic: Value,
    off: Value,
}

impl RequantConsts {
    fn new(cx: &mut KernelCx, out: QOutKind) -> Option<Self> {
        let QOutKind::RequantF32 { zp, lo, hi, .. } = out else { return None };
        Some(RequantConsts {
            lo: cx.fconst(types::F32X4, (i64::from(lo) - i64::from(zp)) as f32),
            hi: cx.fconst(types::F32X4, (i64::from(hi) - i64::from(zp)) as f32),
            magic: cx.fconst(types::F32X4, MAGIC),
            off: splat_i32(cx, MAGIC_BITS.wrapping_sub(zp)),
        })
    }
}

/// Converts the corrected accumulators `x` (`i32x4`, row `r`, columns `4v..`) to the output
/// vector (`i32x4` integers for requantized outputs, `f32x4` for `F32`).
/// `row_param`: the row's parameter splat when the channel axis is `Rows` (hoisted per row).
fn convert(
    cx: &mut KernelCx,
    ep: &QEpilogue,
    (k, row_param): (Option<RequantConsts>, Option<Value>),
    x: Value,
    r: usize,
    v: usize,
) -> Value {
    match ep.out {
        QOutKind::I32 => x,
        QOutKind::F32 => {
            let Some(p) = ep.params else { return x };
            let s = row_param.unwrap_or_else(|| channel_vec(cx, ep, p, r, v, types::F32X4));
            let f = cx.b.ins().fcvt_from_sint(types::F32X4, x);
            cx.b.ins().fmul(f, s)
        }
        QOutKind::RequantF32 { .. } => {
            let (Some(p), Some(k)) = (ep.params, k) else { return x };
            let m = row_param.unwrap_or_else(|| channel_vec(cx, ep, p, r, v, types::F32X4));
            let f = cx.b.ins().fcvt_from_sint(types::F32X4, x);
            let f = cx.b.ins().fmul(f, m);
            // max(f, lo - zp) with a NaN giving lo - zp (maxps), then min(f, hi - zp).
            let (lo_v, hi_v) = (k.lo, k.hi);
            let c = cx.b.ins().fcmp(FloatCC::LessThan, lo_v, f);
            let c = cx.b.ins().bitcast(types::F32X4, le(), c);
            let f = cx.b.ins().bitselect(c, f, lo_v);
            let c = cx.b.ins().fcmp(FloatCC::LessThan, f, hi_v);
            let c = cx.b.ins().bitcast(types::F32X4, le(), c);
            let f = cx.b.ins().bitselect(c, f, hi_v);
            // Round half to even and add zp: (f + MAGIC) as bits - (MAGIC_BITS - zp).
            let g = cx.b.ins().fadd(f, k.magic);
            let bits = cx.b.ins().bitcast(types::I32X4, le(), g);
            cx.b.ins().isub(bits, k.off)
        }
        QOutKind::RequantFixed { zp, lo, hi, .. } => {
            let Some(p) = ep.params else { return x };
            let mut out = splat_i32(cx, 0);
            for l in 0..4u8 {
                let entry = match ep.axis {
                    ChannelAxis::Rows => cx.b.ins().iadd_imm_s(p, (r * FIXED_ENTRY_BYTES) as i64),
                    ChannelAxis::Cols => cx.b.ins().iadd_imm_s(p, ((4 * v + l as usize) * FIXED_ENTRY_BYTES) as i64),
                };
                let xl = cx.b.ins().extractlane(x, l);
                let y = fixed_point_lane(cx, xl, entry, zp, lo, hi);
                out = cx.b.ins().insertlane(out, y, l);
            }
            out
        }
    }
}

/// Applies the epilogue to `acc` (from [`emit_dot_tile`]) and stores rows `0..mr` ×
/// columns `0..cols` (`mr <= 4`, `cols <= 8`, both static) of the tile.
pub(crate) fn emit_epilogue(cx: &mut KernelCx, acc: &[Value; 8], mr: usize, cols: usize, ep: &QEpilogue, c: QCTile) {
    let nv = cols.div_ceil(4);
    let k = RequantConsts::new(cx, ep.out);
    for r in 0..mr {
        // Per-row operands, loaded once for the row's vectors.
        let rterm = ep.rterm.map(|t| load_row_splat(cx, t, r, types::I32X4));
        let rz = ep.rz_csum.map(|(rz, _)| load_row_splat(cx, rz, r, types::I32X4));
        let rsum = ep.cz_rsum.map(|(_, rsum)| load_row_splat(cx, rsum, r, types::I32X4));
        let row_param = match (ep.axis, ep.out, ep.params) {
            (ChannelAxis::Rows, QOutKind::F32 | QOutKind::RequantF32 { .. }, Some(p)) => {
                Some(load_row_splat(cx, p, r, types::F32X4))
            }
            _ => None,
        };
        let mut ys = Vec::with_capacity(nv);
        for v in 0..nv {
            let mut x = acc[2 * r + v];
            if let Some(s) = rterm {
                x = cx.b.ins().iadd(x, s);
            }
            if let Some(t) = ep.cterm {
                let s = cx.load(types::I32X4, t, 16 * v as i32);
                x = cx.b.ins().iadd(x, s);
            }
            if let (Some((_, csum)), Some(a)) = (ep.rz_csum, rz) {
                let b = cx.load(types::I32X4, csum, 16 * v as i32);
                let p = cx.b.ins().imul(a, b);
                x = cx.b.ins().isub(x, p);
            }
            if let (Some((cz, _)), Some(b)) = (ep.cz_rsum, rsum) {
                let a = cx.load(types::I32X4, cz, 16 * v as i32);
                let p = cx.b.ins().imul(a, b);
                x = cx.b.ins().isub(x, p);
            }
            ys.push(convert(cx, ep, (k, row_param), x, r, v));
        }
        store_row(cx, ep, &ys, r, cols, c);
    }
}

fn store_row(cx: &mut KernelCx, ep: &QEpilogue, ys: &[Value], r: usize, cols: usize, c: QCTile) {
    let bytes = match ep.out {
        QOutKind::I32 | QOutKind::F32 => 4,
        QOutKind::RequantF32 { bytes, .. } | QOutKind::RequantFixed { bytes, .. } => bytes,
    };
    let row = r as i64 * c.ldc * i64::from(bytes);
    let at = |cx: &mut KernelCx, off: i64| cx.b.ins().iadd_imm_s(c.ptr, row + off);
    let signed_out = matches!(ep.out, QOutKind::RequantF32 { lo, .. } | QOutKind::RequantFixed { lo, .. } if lo < 0);
    match bytes {
        4 => {
            for (v, &y) in ys.iter().enumerate() {
                let lanes = (cols - 4 * v).min(4);
                if lanes == 4 {
                    let p = at(cx, 16 * v as i64);
                    cx.store(y, p, 0);
                } else {
                    for l in 0..lanes {
                        let e = cx.b.ins().extractlane(y, l as u8);
                        let p = at(cx, 4 * (4 * v + l) as i64);
                        cx.store(e, p, 0);
                    }
                }
            }
        }
        2 if cols == 8 => {
            let n = cx.b.ins().snarrow(ys[0], ys[1]);
            let p = at(cx, 0);
            cx.store(n, p, 0);
        }
        1 if cols == 8 => {
            let n = cx.b.ins().snarrow(ys[0], ys[1]);
            let b8 = if signed_out { cx.b.ins().snarrow(n, n) } else { cx.b.ins().unarrow(n, n) };
            let w = cx.b.ins().bitcast(types::I64X2, le(), b8);
            let e = cx.b.ins().extractlane(w, 0);
            let p = at(cx, 0);
            cx.store(e, p, 0);
        }
        _ => {
            for col in 0..cols {
                let e = cx.b.ins().extractlane(ys[col / 4], (col % 4) as u8);
                let ty = if bytes == 2 { types::I16 } else { types::I8 };
                let e = cx.b.ins().ireduce(ty, e);
                let p = at(cx, (col * bytes as usize) as i64);
                cx.store(e, p, 0);
            }
        }
    }
}

/// Output bytes of an epilogue.
pub(crate) fn out_bytes(out: QOutKind) -> usize {
    match out {
        QOutKind::I32 | QOutKind::F32 => 4,
        QOutKind::RequantF32 { bytes, .. } | QOutKind::RequantFixed { bytes, .. } => bytes as usize,
    }
}
