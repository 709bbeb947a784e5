//! Depthwise `QConv` / `ConvInteger` (one input and one output channel per group): a direct
//! kernel, vectorized along the output width, with exact `i32` accumulation and the same
//! fused epilogue as the GEMM path ([`super::qgemm::emit_epilogue`]).
//!
//! Work item: one channel of one image (`item = n · C + ch`). Per item, in scratch:
//! 1. the zero-point-corrected input plane `P [Hp][sw][Wq] i16` with `P = x − zx`, padding
//!    0, and its columns split by phase modulo the horizontal stride (`phase q`, column `j` ↔
//!    padded column `j·sw + q`), so every tap reads 8 consecutive `i16` per 8 output pixels
//!    whatever the stride;
//! 2. per output row and 8-pixel chunk: the taps in pairs, the two taps' `P` vectors
//!    interleaved by 16-bit lanes and multiplied by the pair's weights `(w − zw)` with
//!    `pmaddwd` (`|x − zx|, |w − zw| <= 255`: products and pair sums are exact in `i32`),
//!    into two `i32x4` accumulators;
//! 3. the epilogue (`+ bias`, requantization, narrowing store) of one tile row.
//!
//! Packed constant (input 1): per channel `ceil(taps/2)` 16-byte vectors (the pair's two
//! `i16` weights repeated), then `bias` (`i32` per channel), then the parameter entries (one
//! per channel), then (AVX-512 VNNI ukernel only) per channel and tap `w − zw` as `i32`.
//!
//! With 8-bit f32-multiplier outputs on AVX-512 VNNI hosts, steps 2 and 3 are one call of
//! the depthwise ukernel ([`crate::ukernels::QdwArgs`]: 16 pixels per vector, requantization
//! fused, bit-identical) per channel, on the same `P` (its rows padded to 16-pixel steps).

use cranelift_codegen::ir::{types, InstBuilder, Value};

use super::conv::ConvGeom;
use super::qgemm::{emit_epilogue, le, out_bytes, shuffle, splat_i32, ChannelAxis, QCTile, QEpilogue, QOutKind};
use super::qgemm_call::fused_requant;
use super::{i64_of, KernelCx, KernelInfo};
use crate::pack_i8::push_i32s;
use crate::ukernels::call::{emit_call, Operand};
use crate::ukernels::QdwArgs;

/// Output pixels per vector chunk (one `i16x8`).
const CHUNK: usize = 8;

/// The compile-time inputs of a depthwise kernel.
pub(crate) struct DwPlan<'a> {
    /// Weights `[C][kH·kW]` (stored values).
    pub w: &'a [i64],
    /// Input zero point (stored domain of `x`).
    pub zx: i64,
    /// Weight zero point per channel.
    pub zw: &'a [i64],
    pub bias: Option<&'a [i64]>,
    pub x_signed: bool,
    pub out: QOutKind,
    /// Parameter entries, one per channel, `entry` bytes each.
    pub params: Vec<u8>,
    pub entry: usize,
}

/// Whether the geometry is depthwise (one input and one output channel per group).
pub(crate) fn is_depthwise(geo: &ConvGeom) -> bool {
    geo.g > 1 && geo.cg() == 1 && geo.mg() == 1
}

/// Lowers a depthwise convolution (`is_depthwise(geo)`) with plan `p`.
pub(crate) fn lower(cx: &mut KernelCx, geo: &ConvGeom, p: &DwPlan) -> KernelInfo {
    let ConvGeom { n, c, h, w, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl, .. } = *geo;
    let taps = kh * kw;
    let pairs = taps.div_ceil(2);
    let mut packed = Vec::with_capacity(c * pairs * 16 + c * 4 + p.params.len());
    for ch in 0..c {
        let wt = |t: usize| if t < taps { (p.w[ch * taps + t] - p.zw[ch]) as i16 } else { 0 };
        for pr in 0..pairs {
            let (a, b) = (wt(2 * pr), wt(2 * pr + 1));
            for _ in 0..4 {
                packed.extend_from_slice(&a.to_le_bytes());
                packed.extend_from_slice(&b.to_le_bytes());
            }
        }
    }
    let bias_off = i64_of(packed.len());
    let bias: Vec<i32> = (0..c).map(|ch| p.bias.map_or(0, |b| b[ch] as i32)).collect();
    push_i32s(&mut packed, &bias, c, 0);
    let params_off = i64_of(packed.len());
    packed.extend_from_slice(&p.params);
    // The ukernel path: 8-bit f32-multiplier outputs (one f32 entry per channel).
    let uk = cx
        .target
        .qgemm_ukernel()
        .and_then(|u| u.qdw_func.map(|f| (u.clone(), f)))
        .filter(|_| fused_requant(p.out).is_some() && p.entry == 4 && taps <= QdwArgs::MAX_TAPS)
        // Rows of at most 8 outputs fill half a 16-lane vector: the 8-lane CLIF kernel is
        // faster there (measured on MobileNet's 8×8 stride-2 layer: 6 vs 12 µs).
        .filter(|_| ow > 8);
    let taps_off = i64_of(packed.len());
    if uk.is_some() {
        for ch in 0..c {
            let t: Vec<i32> = (0..taps).map(|t| i32::from((p.w[ch * taps + t] - p.zw[ch]) as i16 as u16)).collect();
            push_i32s(&mut packed, &t, taps, 0);
        }
    }
    cx.pack_input(1, packed);
    if n == 0 || c == 0 || oh * ow == 0 {
        return KernelInfo::default();
    }

    // Geometry of P.
    let step = if uk.is_some() { 16 } else { CHUNK };
    let tap_col = |kj: usize| ((kj * dw) % sw, (kj * dw) / sw);
    let max_coff = (0..kw).map(|kj| tap_col(kj).1).max().unwrap_or(0);
    let wq = ow.div_ceil(step) * step + max_coff;
    let hp = (oh - 1) * sh + (kh - 1) * dh + 1;
    let row_bytes = sw * wq * 2;
    let p_bytes = (hp * row_bytes).next_multiple_of(16);
    let ob = out_bytes(p.out);
    let ohw = oh * ow;

    let (x, wp, y, pbuf) = (cx.input(0), cx.input(1), cx.output(0), cx.scratch());
    cx.for_items(|cx, item| {
        let c_n = cx.iconst(i64_of(c));
        let ch = cx.b.ins().urem(item, c_n);
        let plane = {
            let off = cx.b.ins().imul_imm_s(item, i64_of(h * w));
            cx.b.ins().iadd(x, off)
        };
        // 1. P = 0, then the data rows.
        let zero = splat_i32(cx, 0);
        let zero16 = cx.b.ins().bitcast(types::I8X16, le(), zero);
        let blocks = p_bytes / 64;
        cx.for_static(0, i64_of(blocks), 1, |cx, i| {
            let off = cx.b.ins().imul_imm_s(i, 64);
            let d = cx.b.ins().iadd(pbuf, off);
            for j in 0..4 {
                cx.store(zero16, d, 16 * j);
            }
        });
        for j in (blocks * 64..p_bytes).step_by(16) {
            cx.store(zero16, pbuf, j as i32);
        }
        let first_row = pt.min(hp);
        let rows = h.min(hp.saturating_sub(pt));
        let zx16 = {
            let z = cx.b.ins().iconst(types::I16, p.zx);
            cx.b.ins().splat(types::I16X8, z)
        };
        if rows > 0 {
            cx.for_static(0, i64_of(rows), 1, |cx, ih| {
                let src_row = {
                    let off = cx.b.ins().imul_imm_s(ih, i64_of(w));
                    cx.b.ins().iadd(plane, off)
                };
                let dst_row = {
                    let off = cx.b.ins().imul_imm_s(ih, i64_of(row_bytes));
                    let t = cx.b.ins().iadd(pbuf, off);
                    cx.b.ins().iadd_imm_s(t, i64_of(first_row * row_bytes))
                };
                for q in 0..sw {
                    // Columns j of phase q with input column j·sw + q − pl in [0, w).
                    let inside = |j: usize| (j * sw + q) >= pl && (j * sw + q - pl) < w;
                    let Some(jlo) = (0..wq).find(|&j| inside(j)) else { continue };
                    let jhi = (jlo..wq).find(|&j| !inside(j)).unwrap_or(wq);
                    let iw0 = jlo * sw + q - pl;
                    let dst = cx.b.ins().iadd_imm_s(dst_row, i64_of(q * wq * 2 + jlo * 2));
                    copy_phase(cx, src_row, iw0, sw, w, dst, jhi - jlo, zx16, p);
                }
            });
        }
        let y_ch = {
            let off = cx.b.ins().imul_imm_s(item, i64_of(ohw * ob));
            cx.b.ins().iadd(y, off)
        };
        if let (Some((uk, func)), Some((zp, lo, hi))) = (&uk, fused_requant(p.out)) {
            // 2. + 3. on the ukernel.
            let at = |cx: &mut KernelCx, off: i64, esize: usize| {
                let t = cx.b.ins().imul_imm_s(ch, i64_of(esize));
                let b = cx.b.ins().iadd_imm_s(wp, off);
                cx.b.ins().iadd(b, t)
            };
            let taps_ptr = at(cx, taps_off, taps * 4);
            let scale = at(cx, params_off, 4);
            let bias_ptr = at(cx, bias_off, 4);
            let bias = cx.load(types::I32, bias_ptr, 0);
            let bias = cx.b.ins().sextend(types::I64, bias);
            let imm = |v: usize| Operand::Imm(i64_of(v));
            // Field order of `QdwArgs`.
            let fields = [
                Operand::Val(pbuf),
                Operand::Val(taps_ptr),
                Operand::Val(y_ch),
                Operand::Val(scale),
                Operand::Val(bias),
                imm(kh),
                imm(kw),
                imm(dh),
                imm(dw),
                imm(sh),
                imm(sw),
                imm(wq),
                imm(oh),
                imm(ow),
                Operand::Imm(i64::from(zp)),
                Operand::Imm(i64::from(lo)),
                Operand::Imm(i64::from(hi)),
            ];
            debug_assert_eq!(fields.len(), QdwArgs::FIELDS);
            emit_call(cx, uk, *func, &fields);
            return;
        }
        // 2. + 3. Weight pairs of this channel, then rows × chunks.
        let wch = {
            let off = cx.b.ins().imul_imm_s(ch, i64_of(pairs * 16));
            cx.b.ins().iadd(wp, off)
        };
        let wv: Vec<Value> = (0..pairs).map(|i| cx.load(types::I16X8, wch, 16 * i as i32)).collect();
        let rterm = {
            let t = cx.b.ins().imul_imm_s(ch, 4);
            let b = cx.b.ins().iadd_imm_s(wp, bias_off);
            cx.b.ins().iadd(b, t)
        };
        let params = if matches!(p.out, QOutKind::I32) {
            None
        } else {
            let t = cx.b.ins().imul_imm_s(ch, i64_of(p.entry));
            let b = cx.b.ins().iadd_imm_s(wp, params_off);
            Some(cx.b.ins().iadd(b, t))
        };
        let ep = QEpilogue {
            axis: ChannelAxis::Rows,
            rterm: Some(rterm),
            cterm: None,
            rz_csum: None,
            cz_rsum: None,
            params,
            out: p.out,
        };
        let tap_offs: Vec<i32> = (0..taps)
            .map(|t| {
                let (ki, kj) = (t / kw, t % kw);
                let (q, coff) = tap_col(kj);
                (ki * dh * row_bytes + q * wq * 2 + coff * 2) as i32
            })
            .collect();
        let lo16 = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23];
        let hi16 = [8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31];
        cx.for_static(0, i64_of(oh), 1, |cx, r| {
            let prow = {
                let off = cx.b.ins().imul_imm_s(r, i64_of(sh * row_bytes));
                cx.b.ins().iadd(pbuf, off)
            };
            let yrow = {
                let off = cx.b.ins().imul_imm_s(r, i64_of(ow * ob));
                cx.b.ins().iadd(y_ch, off)
            };
            let chunk = |cx: &mut KernelCx, j: Value, cols: usize| {
                let base = {
                    let off = cx.b.ins().imul_imm_s(j, i64_of(CHUNK * 2));
                    cx.b.ins().iadd(prow, off)
                };
                let (mut a0, mut a1) = (zero, zero);
                for (pi, &wpair) in wv.iter().enumerate() {
                    let t0 = cx.load(types::I8X16, base, tap_offs[2 * pi]);
                    let t1 = match tap_offs.get(2 * pi + 1) {
                        Some(&o) => cx.load(types::I8X16, base, o),
                        None => zero16,
                    };
                    let lo = shuffle(cx, t0, t1, lo16);
                    let hi = shuffle(cx, t0, t1, hi16);
                    a0 = madd_acc(cx, lo, wpair, a0);
                    a1 = madd_acc(cx, hi, wpair, a1);
                }
                let acc = [a0, a1, zero, zero, zero, zero, zero, zero];
                let ptr = {
                    let off = cx.b.ins().imul_imm_s(j, i64_of(CHUNK * ob));
                    cx.b.ins().iadd(yrow, off)
                };
                emit_epilogue(cx, &acc, 1, cols, &ep, QCTile { ptr, ldc: i64_of(ohw) });
            };
            let full = ow / CHUNK;
            cx.for_static(0, i64_of(full), 1, |cx, j| chunk(cx, j, CHUNK));
            if !ow.is_multiple_of(CHUNK) {
                let j = cx.iconst(i64_of(full));
                chunk(cx, j, ow % CHUNK);
            }
        });
    });
    KernelInfo { work_items: n * c, scratch_bytes: p_bytes }
}

/// `acc + pmaddwd(x, w)` over `i16x8` operands (given as `i8x16`/`i16x8`).
fn madd_acc(cx: &mut KernelCx, x: Value, w: Value, acc: Value) -> Value {
    let x = cx.b.ins().bitcast(types::I16X8, le(), x);
    let b = &mut cx.b;
    let (xl, wl) = (b.ins().swiden_low(x), b.ins().swiden_low(w));
    let lo = b.ins().imul(xl, wl);
    let (xh, wh) = (b.ins().swiden_high(x), b.ins().swiden_high(w));
    let hi = b.ins().imul(xh, wh);
    let d = b.ins().iadd_pairwise(lo, hi);
    b.ins().iadd(acc, d)
}

/// Writes `len` (static) `i16` values `x[iw0 + i·sw] − zx` of the input row at `src` (`w`
/// bytes) to `dst`: 8 per vector (a 16-byte window of the row, gathered by a static
/// shuffle, widened) when `sw <= 2` and the row and run are long enough (the last chunk
/// overlaps the previous one instead of running past the row), else one by one.
#[allow(clippy::too_many_arguments)]
fn copy_phase(
    cx: &mut KernelCx,
    src: Value,
    iw0: usize,
    sw: usize,
    w: usize,
    dst: Value,
    len: usize,
    zx16: Value,
    p: &DwPlan,
) {
    if sw <= 2 && w >= 16 && len >= CHUNK {
        let mut starts: Vec<usize> = (0..len / CHUNK).map(|i| i * CHUNK).collect();
        if !len.is_multiple_of(CHUNK) {
            starts.push(len - CHUNK);
        }
        for j0 in starts {
            let first = iw0 + j0 * sw;
            let a = first.min(w - 16);
            let mut mask = [0u8; 16];
            for (i, m) in mask.iter_mut().enumerate().take(CHUNK) {
                *m = (first + i * sw - a) as u8;
            }
            let v = cx.load(types::I8X16, src, a as i32);
            let v = shuffle(cx, v, v, mask);
            let wide = if p.x_signed { cx.b.ins().swiden_low(v) } else { cx.b.ins().uwiden_low(v) };
            let d = cx.b.ins().isub(wide, zx16);
            cx.store(d, dst, (2 * j0) as i32);
        }
    } else {
        let zx = cx.b.ins().iconst(types::I16, p.zx);
        for i in 0..len {
            let v = cx.load(types::I8, src, (iw0 + i * sw) as i32);
            let v = if p.x_signed { cx.b.ins().sextend(types::I16, v) } else { cx.b.ins().uextend(types::I16, v) };
            let d = cx.b.ins().isub(v, zx);
            cx.store(d, dst, (2 * i) as i32);
        }
    }
}
