//! The data movement of the int8 im2col convolution (`qconv.rs`): the byte im2col matrix of a
//! block of output rows (`S1 [K][ld]`, padding as the input zero point, `i8` inputs flipped to
//! `u8`) and its interleaving into the column panels the microkernels stream (`S2`), with the
//! per-pixel column sums the weight zero points need.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};

use super::conv::{valid_columns, ConvGeom};
use super::qgemm::{dot4, shuffle, splat_i32};
use super::{i64_of, KernelCx};
use crate::pack_i8::{KG, QNR};

/// Stores `len` (static) bytes `value` at `dst`.
pub(super) fn fill(cx: &mut KernelCx, dst: Value, len: usize, value: u8) {
    let s = cx.b.ins().iconst(types::I8, i64::from(value as i8));
    let v = cx.b.ins().splat(types::I8X16, s);
    for i in 0..len / 16 {
        cx.store(v, dst, (16 * i) as i32);
    }
    for i in len / 16 * 16..len {
        cx.store(s, dst, i as i32);
    }
}

/// Copies `len` (static) bytes from `src` (byte stride `stride`) to contiguous `dst`,
/// `^ 0x80` when `flip`.
fn copy_run(cx: &mut KernelCx, src: Value, stride: usize, dst: Value, len: usize, flip: bool) {
    let s8 = cx.b.ins().iconst(types::I8, -128);
    let s16 = cx.b.ins().splat(types::I8X16, s8);
    if stride == 1 {
        cx.for_static(0, i64_of(len / 16), 1, |cx, i| {
            let off = cx.b.ins().imul_imm_s(i, 16);
            let s = cx.b.ins().iadd(src, off);
            let d = cx.b.ins().iadd(dst, off);
            let v = cx.load(types::I8X16, s, 0);
            let v = if flip { cx.b.ins().bxor(v, s16) } else { v };
            cx.store(v, d, 0);
        });
        for i in len / 16 * 16..len {
            let v = cx.load(types::I8, src, i as i32);
            let v = if flip { cx.b.ins().bxor(v, s8) } else { v };
            cx.store(v, dst, i as i32);
        }
    } else {
        cx.for_static(0, i64_of(len), 1, |cx, i| {
            let so = cx.b.ins().imul_imm_s(i, i64_of(stride));
            let s = cx.b.ins().iadd(src, so);
            let d = cx.b.ins().iadd(dst, i);
            let v = cx.load(types::I8, s, 0);
            let v = if flip { cx.b.ins().bxor(v, s8) } else { v };
            cx.store(v, d, 0);
        });
    }
}

/// [`copy_run`] for stride 2 over an input row of `w >= 32` bytes whose column `col0` is at
/// `src` (`len >= 16`): 16 outputs per step from a 32-byte window of the row chosen at
/// compile time (two loads and one static two-input shuffle); the last step overlaps the
/// previous one instead of reading past the row.
fn copy_run_s2(cx: &mut KernelCx, src: Value, col0: usize, w: usize, dst: Value, len: usize, flip: bool) {
    let mut starts: Vec<usize> = (0..len / 16).map(|i| 16 * i).collect();
    if !len.is_multiple_of(16) {
        starts.push(len - 16);
    }
    let s8 = cx.b.ins().iconst(types::I8, -128);
    let s16 = cx.b.ins().splat(types::I8X16, s8);
    for j0 in starts {
        let first = col0 + 2 * j0;
        let a = first.min(w - 32);
        let mut mask = [0u8; 16];
        for (i, m) in mask.iter_mut().enumerate() {
            *m = (first + 2 * i - a) as u8;
        }
        let rel = a as i32 - col0 as i32;
        let v0 = cx.load(types::I8X16, src, rel);
        let v1 = cx.load(types::I8X16, src, rel + 16);
        let v = shuffle(cx, v0, v1, mask);
        let v = if flip { cx.b.ins().bxor(v, s16) } else { v };
        cx.store(v, dst, j0 as i32);
    }
}

/// Fills `s1` with the `[K][ld]` byte im2col matrix of output rows `oh0 .. oh0 + rows` of the
/// group whose first input channel plane starts at `x_ch` (see the module docs).
#[allow(clippy::too_many_arguments)]
pub(super) fn emit_im2col_u8(
    cx: &mut KernelCx,
    geo: &ConvGeom,
    (flip, pad): (bool, u8),
    x_ch: Value,
    oh0: Value,
    rows: Value,
    s1: Value,
    ld: usize,
) {
    let ConvGeom { h, w, kh, kw, ow, sh, sw, dh, dw, pt, pl, .. } = *geo;
    let zero = cx.iconst(0);
    cx.for_static(0, i64_of(geo.cg()), 1, |cx, ci| {
        let plane = {
            let off = cx.b.ins().imul_imm_s(ci, i64_of(h * w));
            cx.b.ins().iadd(x_ch, off)
        };
        for ki in 0..kh {
            for kj in 0..kw {
                // Static split of ow into [0, lo) padding, [lo, hi) data, [hi, oW) padding.
                let shift = i64_of(kj * dw) - i64_of(pl);
                let (lo, hi) = valid_columns(ow, sw, shift, w);
                let krow = {
                    let base = cx.b.ins().imul_imm_s(ci, i64_of(kh * kw * ld));
                    let t = cx.b.ins().iadd_imm_s(base, i64_of((ki * kw + kj) * ld));
                    cx.b.ins().iadd(s1, t)
                };
                cx.for_range(zero, rows, 1, |cx, r| {
                    let dst = {
                        let off = cx.b.ins().imul_imm_s(r, i64_of(ow));
                        cx.b.ins().iadd(krow, off)
                    };
                    let ohv = cx.b.ins().iadd(oh0, r);
                    let ih = cx.b.ins().imul_imm_s(ohv, i64_of(sh));
                    let ih = cx.b.ins().iadd_imm_s(ih, i64_of(ki * dh) - i64_of(pt));
                    let inside = cx.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, ih, i64_of(h));
                    cx.if_else(
                        inside,
                        |cx| {
                            fill(cx, dst, lo, pad);
                            if hi > lo {
                                let src = {
                                    let row = cx.b.ins().imul_imm_s(ih, i64_of(w));
                                    let t = cx.b.ins().iadd_imm_s(row, i64_of(lo * sw) + shift);
                                    cx.b.ins().iadd(plane, t)
                                };
                                let d = cx.b.ins().iadd_imm_s(dst, i64_of(lo));
                                let col0 = (i64_of(lo * sw) + shift) as usize;
                                if sw == 2 && w >= 32 && hi - lo >= 16 {
                                    copy_run_s2(cx, src, col0, w, d, hi - lo, flip);
                                } else {
                                    copy_run(cx, src, sw, d, hi - lo, flip);
                                }
                            }
                            let d = cx.b.ins().iadd_imm_s(dst, i64_of(hi));
                            fill(cx, d, ow - hi, pad);
                        },
                        |cx| fill(cx, dst, ow, pad),
                    );
                });
            }
        }
    });
}

/// Interleaves the `[K4][ld]` matrix at `s1` into column panels `[ld/8][groups][8][4]` at
/// `s2`; with `csum`, stores the per-column sums (`ld` × `i32`) there.
/// `wide`: 16-pixel panels `[K4/4][16][4]` (the ukernel's), else 8-pixel panels.
pub(super) fn emit_interleave(
    cx: &mut KernelCx,
    s1: Value,
    ld: usize,
    groups: usize,
    s2: Value,
    csum: Option<Value>,
    wide: bool,
) {
    let lo8 = [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23];
    let hi8 = [8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31];
    let lo16 = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23];
    let hi16 = [8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31];
    let panel_bytes = i64_of(groups * QNR * KG);
    let ones = {
        let one = cx.b.ins().iconst(types::I8, 1);
        cx.b.ins().splat(types::I8X16, one)
    };
    cx.for_static(0, i64_of(ld / 16), 1, |cx, q| {
        let zero = splat_i32(cx, 0);
        let sums: Vec<_> = (0..4)
            .map(|_| {
                let v = cx.b.declare_var(types::I32X4);
                cx.b.def_var(v, zero);
                v
            })
            .collect();
        let src = {
            let off = cx.b.ins().imul_imm_s(q, 16);
            cx.b.ins().iadd(s1, off)
        };
        let dst = {
            let off = cx.b.ins().imul_imm_s(q, 2 * panel_bytes);
            cx.b.ins().iadd(s2, off)
        };
        cx.for_static(0, i64_of(groups), 1, |cx, gi| {
            let s = {
                let off = cx.b.ins().imul_imm_s(gi, i64_of(KG * ld));
                cx.b.ins().iadd(src, off)
            };
            let r: Vec<Value> = (0..4).map(|i| cx.load(types::I8X16, s, (i * ld) as i32)).collect();
            let t0 = shuffle(cx, r[0], r[1], lo8);
            let t1 = shuffle(cx, r[0], r[1], hi8);
            let t2 = shuffle(cx, r[2], r[3], lo8);
            let t3 = shuffle(cx, r[2], r[3], hi8);
            let u = [
                shuffle(cx, t0, t2, lo16),
                shuffle(cx, t0, t2, hi16),
                shuffle(cx, t1, t3, lo16),
                shuffle(cx, t1, t3, hi16),
            ];
            let group_bytes = if wide { 2 * QNR * KG } else { QNR * KG };
            let d = {
                let off = cx.b.ins().imul_imm_s(gi, group_bytes as i64);
                cx.b.ins().iadd(dst, off)
            };
            cx.store(u[0], d, 0);
            cx.store(u[1], d, 16);
            if wide {
                cx.store(u[2], d, 32);
                cx.store(u[3], d, 48);
            } else {
                let d2 = cx.b.ins().iadd_imm_s(d, panel_bytes);
                cx.store(u[2], d2, 0);
                cx.store(u[3], d2, 16);
            }
            if csum.is_some() {
                for (i, &v) in sums.iter().enumerate() {
                    let cur = cx.b.use_var(v);
                    let nx = dot4(cx, ones, u[i], cur);
                    cx.b.def_var(v, nx);
                }
            }
        });
        if let Some(cs) = csum {
            let base = {
                let off = cx.b.ins().imul_imm_s(q, 64);
                cx.b.ins().iadd(cs, off)
            };
            for (i, &v) in sums.iter().enumerate() {
                let s = cx.b.use_var(v);
                cx.store(s, base, 16 * i as i32);
            }
        }
    });
}
