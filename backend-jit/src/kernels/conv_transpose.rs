//! `ConvTranspose` 2-D (f32, NCHW): groups, strides, pads, dilations, output padding, bias.
//!
//! Direct scatter form: every input pixel `x[n, c, ih, iw]` adds `x * w[c, mi, kh, kw]` to
//! `y[n, m, ih*sH + kh*dH - pad_top, iw*sW + kw*dW - pad_left]` when that lies in the output.
//! For a fixed kernel tap the in-range `ih` and `iw` form static intervals, computed at
//! compile time, so the kernel is: zero the output plane; for each input channel `c` of the
//! group (run-time loop), for each tap `(kh, kw)` (unrolled), for each `ih` of the tap's
//! interval, add `x_row[iw] * w` into the output row. With `sW == 1` the inner loop is
//! contiguous in both rows and runs 4 lanes at a time (`f32x4`), else scalar. The bias is
//! added after the sums.
//!
//! Every output element receives its contributions in the interpreter's order (`c`, then
//! `kh`, then `kw`), each as a rounded product added to the running sum (`fmul` + `fadd`, no
//! `fma`), starting from 0, and the bias last: the result is bit-exact with the interpreter.
//!
//! Work item: one output plane `(n, m)` (`item = n * M + m`), written only by that item. The
//! weights are read in their ONNX layout `[C, M/group, kH, kW]` (constant or not).

use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::ConvTransposeAttrs;

use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// Most kernel taps (`kH * kW`) this kernel unrolls.
const MAX_TAPS: usize = 1024;

/// The static interval of input positions `i` in `0..in_len` whose output position
/// `i * stride + k * dil - pad` lies in `0..out_len` (empty when none).
fn tap_range(in_len: usize, out_len: usize, stride: usize, k: usize, dil: usize, pad: usize) -> (usize, usize) {
    // i128: no product or difference of usize attributes can overflow.
    let (in_len, out_len, stride) = (in_len as i128, out_len as i128, stride as i128);
    let shift = k as i128 * dil as i128 - pad as i128;
    // i * stride + shift >= 0  <=>  i >= ceil(-shift / stride)
    let lo = if shift >= 0 { 0 } else { (-shift + stride - 1) / stride };
    // i * stride + shift <= out_len - 1
    let top = out_len - 1 - shift;
    let hi = if top < 0 { 0 } else { (top / stride + 1).min(in_len) };
    let lo = lo.min(in_len);
    (lo as usize, hi.max(lo) as usize)
}

/// Output size along one axis: `stride*(in-1) + out_pad + dil*(k-1) + 1 - p0 - p1`, if > 0.
fn out_dim(input: usize, stride: usize, out_pad: usize, k: usize, dil: usize, p0: usize, p1: usize) -> Option<usize> {
    let full = stride
        .checked_mul(input.checked_sub(1)?)?
        .checked_add(out_pad)?
        .checked_add(dil.checked_mul(k.checked_sub(1)?)?)?
        .checked_add(1)?;
    full.checked_sub(p0.checked_add(p1)?).filter(|&o| o > 0)
}

/// `ConvTranspose(attrs)`; see the module docs.
pub(crate) fn lower_conv_transpose(cx: &mut KernelCx, a: &ConvTransposeAttrs) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=3, 1)?;
    super::require_f32(cx)?;
    let (tx, tw, to) = (cx.in_ty(0)?, cx.in_ty(1)?, cx.out_ty(0)?);
    let bad = |why: String| JitError::invalid(cx.node, why);
    let (&[n, c, h, w], &[wc, mg, kh, kw], &[on, om, oh, ow]) = (&tx.shape[..], &tw.shape[..], &to.shape[..]) else {
        return Err(bad(format!("expected rank-4 x, w, y; got {tx}, {tw}, {to}")));
    };
    let g = a.group;
    let ([sh, sw], [dh, dw], [pt, pl, pb, pr]) = (a.strides, a.dilations, a.pads);
    if g == 0 || c % g != 0 || wc != c || [kh, kw] != a.kernel || sh == 0 || sw == 0 || dh == 0 || dw == 0 {
        return Err(bad(format!("x {tx}, w {tw} do not match group {g}, kernel {:?}, strides, dilations", a.kernel)));
    }
    let m = mg.checked_mul(g).ok_or_else(|| bad("too many output channels".into()))?;
    let want_h = out_dim(h, sh, a.output_padding[0], kh, dh, pt, pb);
    let want_w = out_dim(w, sw, a.output_padding[1], kw, dw, pl, pr);
    if on != n || om != m || want_h != Some(oh) || want_w != Some(ow) {
        return Err(bad(format!("output {to}, expected [{n}, {m}, {want_h:?}, {want_w:?}]")));
    }
    let has_bias = cx.node.inputs.len() == 3;
    if has_bias && cx.in_ty(2)?.shape != [m] {
        return Err(bad(format!("bias {} is not [{m}]", cx.in_ty(2)?)));
    }
    if kh * kw > MAX_TAPS {
        return Err(JitError::unsupported(cx.node, format!("kernel {kh}x{kw} has more than {MAX_TAPS} taps")));
    }
    if n * m == 0 {
        return Ok(KernelInfo::default());
    }
    let cg = c / g;
    let plane = oh * ow;
    let (x, wt, y) = (cx.input(0), cx.input(1), cx.output(0));
    let bias = has_bias.then(|| cx.input(2));
    let f4 = types::F32X4;
    cx.for_items(|cx, item| {
        let mv = cx.iconst(i64_of(m));
        let (bn, bm) = (cx.b.ins().udiv(item, mv), cx.b.ins().urem(item, mv));
        let mgv = cx.iconst(i64_of(mg));
        let (grp, mi) = (cx.b.ins().udiv(bm, mgv), cx.b.ins().urem(bm, mgv));
        let out = cx.elem_addr(y, item, i64_of(plane * 4));
        fill_plane(cx, out, plane, None);
        // First input channel of the group, and its plane in x.
        let c0 = cx.b.ins().imul_imm_s(grp, i64_of(cg));
        let nc = cx.b.ins().imul_imm_s(bn, i64_of(c));
        let x_c0 = cx.b.ins().iadd(nc, c0);
        cx.for_static(0, i64_of(cg), 1, |cx, ci| {
            let xc = cx.b.ins().iadd(x_c0, ci);
            let x_plane = cx.elem_addr(x, xc, i64_of(h * w * 4));
            // w[c0 + ci, mi, :, :]
            let wc = cx.b.ins().iadd(c0, ci);
            let wc = cx.b.ins().imul_imm_s(wc, i64_of(mg));
            let wc = cx.b.ins().iadd(wc, mi);
            let w_taps = cx.elem_addr(wt, wc, i64_of(kh * kw * 4));
            for th in 0..kh {
                let (ih_lo, ih_hi) = tap_range(h, oh, sh, th, dh, pt);
                for tw_ in 0..kw {
                    let (iw_lo, iw_hi) = tap_range(w, ow, sw, tw_, dw, pl);
                    if ih_lo >= ih_hi || iw_lo >= iw_hi {
                        continue;
                    }
                    let wv = cx.load(types::F32, w_taps, i32::try_from((th * kw + tw_) * 4).unwrap_or(0));
                    let wv4 = cx.b.ins().splat(f4, wv);
                    let oh_shift = i64_of(th * dh) - i64_of(pt);
                    let ow_shift = i64_of(tw_ * dw) - i64_of(pl);
                    cx.for_static(i64_of(ih_lo), i64_of(ih_hi), 1, |cx, ih| {
                        let x_row = cx.elem_addr(x_plane, ih, i64_of(w * 4));
                        let ohv = cx.b.ins().imul_imm_s(ih, i64_of(sh));
                        let ohv = cx.b.ins().iadd_imm_s(ohv, oh_shift);
                        let o_row = cx.elem_addr(out, ohv, i64_of(ow * 4));
                        // out[iw * sW + ow_shift] += x_row[iw] * w
                        let o_row = cx.b.ins().iadd_imm_s(o_row, ow_shift * 4);
                        let step_o = i64_of(sw * 4);
                        let axpy = |cx: &mut KernelCx, iw: Value, ty: Type, wv: Value| {
                            let xa = cx.elem_addr(x_row, iw, 4);
                            let xv = cx.load(ty, xa, 0);
                            let oa = cx.elem_addr(o_row, iw, step_o);
                            let acc = cx.load(ty, oa, 0);
                            let p = cx.b.ins().fmul(xv, wv);
                            let s = cx.b.ins().fadd(acc, p);
                            cx.store(s, oa, 0);
                        };
                        let vec_end = if sw == 1 { iw_lo + (iw_hi - iw_lo) / 4 * 4 } else { iw_lo };
                        cx.for_static(i64_of(iw_lo), i64_of(vec_end), 4, |cx, iw| axpy(cx, iw, f4, wv4));
                        cx.for_static(i64_of(vec_end), i64_of(iw_hi), 1, |cx, iw| axpy(cx, iw, types::F32, wv));
                    });
                }
            }
        });
        if let Some(bias) = bias {
            let ba = cx.elem_addr(bias, bm, 4);
            let bv = cx.load(types::F32, ba, 0);
            fill_plane(cx, out, plane, Some(bv));
        }
    });
    Ok(KernelInfo { work_items: n * m, scratch_bytes: 0 })
}

/// `plane[i] = 0` (`add == None`) or `plane[i] += add` for the `len` f32s at `out`.
fn fill_plane(cx: &mut KernelCx, out: Value, len: usize, add: Option<Value>) {
    let vend = i64_of(len / 4 * 4);
    let f4 = types::F32X4;
    let op = |cx: &mut KernelCx, i: Value, ty: Type| {
        let a = cx.elem_addr(out, i, 4);
        let v = match add {
            None => cx.fconst(ty, 0.0),
            Some(b) => {
                let cur = cx.load(ty, a, 0);
                let b = if ty.is_vector() { cx.b.ins().splat(ty, b) } else { b };
                cx.b.ins().fadd(cur, b)
            }
        };
        cx.store(v, a, 0);
    };
    cx.for_static(0, vend, 4, |cx, i| op(cx, i, f4));
    cx.for_static(vend, i64_of(len), 1, |cx, i| op(cx, i, types::F32));
}
