//! 2-D `MaxPool` and `AveragePool` (ONNX opset 12 / 19, NCHW, f32), with the interpreter's
//! window rules (see `PoolAttrs`): ceil mode, dilation, `count_include_pad`.
//!
//! Work item: one channel plane of one image (`item = n · C + c`). The plane is copied into
//! scratch with its padding materialized (`-inf` for max, `0` for average; rows and columns
//! that ceil mode adds past the end padding too), then each output row is computed 4 columns
//! at a time (stride 1: one load per tap; stride 2: two loads + even-lane shuffle; larger:
//! lane inserts) with a scalar tail. Max uses `e > m ? e : m` in window order, as the
//! interpreter (bit-exact; a NaN never replaces the running max). Average sums the window in
//! row-then-column order (padding adds exact zeros) and divides by
//! `count_h(oh) · count_w(ow)`, the number of window positions inside the input (or inside
//! the padded input with `count_include_pad`); a zero count gives 0.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::PoolAttrs;

use super::conv_dw::{load_strided_vec, PaddedPlane};
use super::elementwise::select_f;
use super::gemm::{load_off, store_off};
use super::{i64_of, require_f32, KernelCx, KernelInfo};
use crate::JitError;

/// Which pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PoolKind {
    /// `MaxPool`.
    Max,
    /// `AveragePool`.
    Average,
}

/// Output size along one axis (the interpreter's `pool_out_dim`), or `None` if the window does
/// not fit.
pub(crate) fn out_dim(input: usize, pads: (usize, usize), k: usize, s: usize, d: usize, ceil: bool) -> Option<usize> {
    let padded = input.checked_add(pads.0)?.checked_add(pads.1)?;
    let span = d.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
    if s == 0 || d == 0 || padded < span {
        return None;
    }
    let q = padded - span;
    let mut out = if ceil { q.div_ceil(s) + 1 } else { q / s + 1 };
    if ceil && (out - 1) * s >= input + pads.0 {
        out -= 1;
    }
    Some(out)
}

/// Window positions of output `o` inside `[lo, hi)` (padded-frame coordinates).
fn count_static(o: usize, k: usize, s: usize, d: usize, lo: usize, hi: usize) -> usize {
    (0..k).filter(|&i| (lo..hi).contains(&(o * s + i * d))).count()
}

/// `MaxPool` / `AveragePool` on f32.
pub(crate) fn lower_pool(cx: &mut KernelCx, a: &PoolAttrs, kind: PoolKind) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    require_f32(cx)?;
    let (tx, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let &[n, c, h, w] = tx.shape.as_slice() else {
        return Err(JitError::invalid(cx.node, format!("input {:?} must be [N, C, H, W]", tx.shape)));
    };
    let [kh, kw] = a.kernel;
    let [sh, sw] = a.strides;
    let [dh, dw] = a.dilations;
    let [pt, pl, pb, pr] = a.pads;
    let oh = out_dim(h, (pt, pb), kh, sh, dh, a.ceil_mode);
    let ow = out_dim(w, (pl, pr), kw, sw, dw, a.ceil_mode);
    let (Some(oh), Some(ow)) = (oh, ow) else {
        return Err(JitError::invalid(cx.node, format!("window {:?} does not fit {:?}", a.kernel, tx.shape)));
    };
    if to.shape != [n, c, oh, ow] {
        return Err(JitError::invalid(cx.node, format!("output {:?}, expected {:?}", to.shape, [n, c, oh, ow])));
    }
    if n * c * oh * ow == 0 {
        return Ok(KernelInfo::default());
    }
    let hp = ((oh - 1) * sh + (kh - 1) * dh + 1).max(h + pt);
    let wp = ((ow - 1) * sw + (kw - 1) * dw + 1).max(w + pl);
    let fill = if kind == PoolKind::Max { f32::NEG_INFINITY } else { 0.0 };
    let plane = PaddedPlane { h, w, pt, pl, hp, wp, fill };
    // Counted positions (padded-frame coordinates) for the average divisor.
    let (hlo, hhi, wlo, whi) =
        if a.count_include_pad { (0, h + pt + pb, 0, w + pl + pr) } else { (pt, pt + h, pl, pl + w) };
    let (x, out, pad) = (cx.input(0), cx.output(0), cx.scratch());
    let row_bytes = i64_of(wp * 4);
    let vecs = ow / 4;

    cx.for_items(|cx, item| {
        let src = {
            let off = cx.b.ins().imul_imm_s(item, i64_of(h * w * 4));
            cx.b.ins().iadd(x, off)
        };
        plane.emit_copy(cx, src, pad);
        let out_plane = {
            let off = cx.b.ins().imul_imm_s(item, i64_of(oh * ow * 4));
            cx.b.ins().iadd(out, off)
        };
        cx.for_static(0, i64_of(oh), 1, |cx, r| {
            let in_row = {
                let off = cx.b.ins().imul_imm_s(r, i64_of(sh) * row_bytes);
                cx.b.ins().iadd(pad, off)
            };
            let out_row = {
                let off = cx.b.ins().imul_imm_s(r, i64_of(ow * 4));
                cx.b.ins().iadd(out_plane, off)
            };
            // count_h(r) as f32: Σ_i [hlo <= r·sH + i·dH < hhi].
            let cnt_h = (kind == PoolKind::Average).then(|| {
                let base = cx.b.ins().imul_imm_s(r, i64_of(sh));
                let mut cnt = cx.iconst(0);
                for i in 0..kh {
                    let p = cx.b.ins().iadd_imm_s(base, i64_of(i * dh));
                    let ge = cx.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, p, i64_of(hlo));
                    let lt = cx.b.ins().icmp_imm_s(IntCC::SignedLessThan, p, i64_of(hhi));
                    let both = cx.b.ins().band(ge, lt);
                    let pty = cx.ptr_ty();
                    let inc = cx.b.ins().uextend(pty, both);
                    cnt = cx.b.ins().iadd(cnt, inc);
                }
                cx.b.ins().fcvt_from_sint(types::F32, cnt)
            });
            // One output element (ty = F32) or 4 (F32X4) at column offset `base` (bytes into
            // the padded row, already multiplied by the stride); `cnt_w` per lane.
            let window = |cx: &mut KernelCx, base: Value, ty: Type, cnt_w: &[usize]| -> Value {
                let mut acc = cx.fconst(ty, fill);
                for ki in 0..kh {
                    for kj in 0..kw {
                        let off = i64_of(ki * dh) * row_bytes + i64_of(kj * dw * 4);
                        let e = if ty.is_vector() {
                            load_strided_vec(cx, base, off, sw)
                        } else {
                            load_off(cx, types::F32, base, off)
                        };
                        acc = match kind {
                            PoolKind::Max => {
                                let gt = cx.b.ins().fcmp(FloatCC::GreaterThan, e, acc);
                                select_f(cx, gt, e, acc)
                            }
                            PoolKind::Average => cx.b.ins().fadd(acc, e),
                        };
                    }
                }
                match cnt_h {
                    None => acc,
                    Some(ch) => {
                        let chv = if ty.is_vector() { cx.b.ins().splat(ty, ch) } else { ch };
                        let cw = if cnt_w.iter().all(|&v| v == cnt_w[0]) {
                            cx.fconst(ty, cnt_w[0] as f32)
                        } else {
                            let first = cx.fconst(types::F32, cnt_w[0] as f32);
                            let mut v = cx.b.ins().scalar_to_vector(ty, first);
                            for (l, &cw) in cnt_w.iter().enumerate().skip(1) {
                                let e = cx.fconst(types::F32, cw as f32);
                                v = cx.b.ins().insertlane(v, e, l as u8);
                            }
                            v
                        };
                        let div = cx.b.ins().fmul(chv, cw);
                        let q = cx.b.ins().fdiv(acc, div);
                        let zero = cx.fconst(ty, 0.0);
                        let is_zero = cx.b.ins().fcmp(FloatCC::Equal, div, zero);
                        select_f(cx, is_zero, zero, q)
                    }
                }
            };
            let cw = |o: usize| count_static(o, kw, sw, dw, wlo, whi);
            // Full vectors: columns whose divisor is the same for all vectors run in a loop;
            // the others are emitted one by one (borders).
            let interior: Vec<bool> = (0..vecs).map(|v| (0..4).all(|l| cw(v * 4 + l) == kw)).collect();
            let mut v = 0;
            while v < vecs {
                let run = if kind == PoolKind::Max || interior[v] {
                    interior[v..].iter().take_while(|&&i| i || kind == PoolKind::Max).count().max(1)
                } else {
                    1
                };
                let lanes: Vec<usize> = (0..4).map(|l| cw(v * 4 + l)).collect();
                let start = i64_of(v);
                cx.for_static(start, start + i64_of(run), 1, |cx, vi| {
                    let ioff = cx.b.ins().imul_imm_s(vi, i64_of(4 * sw * 4));
                    let base = cx.b.ins().iadd(in_row, ioff);
                    let y = window(cx, base, types::F32X4, &lanes);
                    let ooff = cx.b.ins().imul_imm_s(vi, 16);
                    let d = cx.b.ins().iadd(out_row, ooff);
                    cx.store(y, d, 0);
                });
                v += run;
            }
            for col in vecs * 4..ow {
                let base = cx.b.ins().iadd_imm_s(in_row, i64_of(col * sw * 4));
                let y = window(cx, base, types::F32, &[cw(col)]);
                store_off(cx, y, out_row, i64_of(col * 4));
            }
        });
    });
    Ok(KernelInfo { work_items: n * c, scratch_bytes: plane.bytes() })
}
