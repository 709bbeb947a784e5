//! Depthwise 2-D convolution (`group == C == M`), as a direct loop vectorized along the
//! output width.
//!
//! Work item: one channel plane of one image (`item = n · C + c`). The plane is first copied
//! into the scratch buffer with its zero padding materialized (`Hp × Wp`, borders zeroed), so
//! the inner loop has no bounds checks: each output vector of 4 columns accumulates `kH·kW`
//! `fma`s of an input vector (stride 1: one load; stride 2: two loads and an even-lane
//! shuffle; larger strides: four lane inserts) times a broadcast weight. Columns past the last
//! full vector use a scalar loop.

use cranelift_codegen::ir::{types, ConstantData, Immediate, InstBuilder, Value};

use super::conv::ConvGeom;
use super::gemm::{load_off, store_off};
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// Padded plane geometry: `(hp, wp)` in elements, large enough for every tap of every output
/// (plus the whole input), and the scratch bytes including slack for stride-2 over-reads.
fn padded_dims(g: &ConvGeom) -> (usize, usize, usize) {
    let need_h = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1;
    let need_w = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1;
    let hp = need_h.max(g.h + g.pt);
    let wp = need_w.max(g.w + g.pl);
    (hp, wp, (hp * wp + 16) * 4)
}

/// Fills `len` floats at `dst + off` bytes with `value` (static length).
pub(crate) fn fill_run(cx: &mut KernelCx, dst: Value, off: i64, len: usize, value: f32) {
    let zv = cx.fconst(types::F32X4, value);
    let zs = cx.fconst(types::F32, value);
    let vecs = len / 4;
    if vecs > 8 {
        cx.for_static(0, i64_of(vecs), 1, |cx, i| {
            let o = cx.b.ins().imul_imm_s(i, 16);
            let d = cx.b.ins().iadd(dst, o);
            store_off(cx, zv, d, off);
        });
    } else {
        for i in 0..vecs {
            store_off(cx, zv, dst, off + i64_of(i * 16));
        }
    }
    for i in vecs * 4..len {
        store_off(cx, zs, dst, off + i64_of(i * 4));
    }
}

/// A plane padded in scratch: `h × w` input at row `pt`, column `pl` of an `hp × wp` buffer
/// (plus 16 floats of slack), every other element `fill`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PaddedPlane {
    pub h: usize,
    pub w: usize,
    pub pt: usize,
    pub pl: usize,
    pub hp: usize,
    pub wp: usize,
    pub fill: f32,
}

impl PaddedPlane {
    /// Scratch bytes the padded plane needs.
    pub fn bytes(&self) -> usize {
        (self.hp * self.wp + 16) * 4
    }

    /// Copies the plane at `src` into `pad`, filling the borders.
    pub fn emit_copy(&self, cx: &mut KernelCx, src: Value, pad: Value) {
        let PaddedPlane { h, w, pt, pl, hp, wp, fill } = *self;
        let row_bytes = i64_of(wp * 4);
        fill_run(cx, pad, 0, pt * wp, fill);
        cx.for_static(0, i64_of(h), 1, |cx, r| {
            let d = {
                let off = cx.b.ins().imul_imm_s(r, row_bytes);
                let p = cx.b.ins().iadd(pad, off);
                cx.b.ins().iadd_imm_s(p, i64_of(pt * wp * 4))
            };
            let s = {
                let off = cx.b.ins().imul_imm_s(r, i64_of(w * 4));
                cx.b.ins().iadd(src, off)
            };
            fill_run(cx, d, 0, pl, fill);
            let vecs = w / 4;
            cx.for_static(0, i64_of(vecs), 1, |cx, i| {
                let o = cx.b.ins().imul_imm_s(i, 16);
                let sa = cx.b.ins().iadd(s, o);
                let da = cx.b.ins().iadd(d, o);
                let v = cx.load(types::F32X4, sa, 0);
                store_off(cx, v, da, i64_of(pl * 4));
            });
            for i in vecs * 4..w {
                let v = load_off(cx, types::F32, s, i64_of(i * 4));
                store_off(cx, v, d, i64_of((pl + i) * 4));
            }
            fill_run(cx, d, i64_of((pl + w) * 4), wp - pl - w, fill);
        });
        fill_run(cx, pad, i64_of((pt + h) * wp * 4), (hp - pt - h) * wp + 16, fill);
    }
}

/// Lowers a depthwise convolution (geometry already validated, weights constant).
pub(crate) fn lower_depthwise(cx: &mut KernelCx, geo: &ConvGeom) -> Result<KernelInfo, JitError> {
    let ConvGeom { n, c, h, w, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl, .. } = *geo;
    if n * c == 0 || oh * ow == 0 {
        return Ok(KernelInfo::default());
    }
    let (hp, wp, scratch_bytes) = padded_dims(geo);
    let has_bias = cx.node.inputs.len() == 3;
    let (x, wt, out, pad) = (cx.input(0), cx.input(1), cx.output(0), cx.scratch());
    let bias = if has_bias { Some(cx.input(2)) } else { None };
    let row_bytes = i64_of(wp * 4);
    cx.for_items(|cx, item| {
        // 1. Padded copy of plane `item` (n · C + c).
        let src_plane = {
            let off = cx.b.ins().imul_imm_s(item, i64_of(h * w * 4));
            cx.b.ins().iadd(x, off)
        };
        PaddedPlane { h, w, pt, pl, hp, wp, fill: 0.0 }.emit_copy(cx, src_plane, pad);

        // 2. Output rows.
        let ch = {
            let c_n = cx.iconst(i64_of(c));
            cx.b.ins().urem(item, c_n)
        };
        let w_c = {
            let off = cx.b.ins().imul_imm_s(ch, i64_of(kh * kw * 4));
            cx.b.ins().iadd(wt, off)
        };
        let b_c = bias.map(|bp| {
            let off = cx.b.ins().imul_imm_s(ch, 4);
            cx.b.ins().iadd(bp, off)
        });
        let out_plane = {
            let off = cx.b.ins().imul_imm_s(item, i64_of(oh * ow * 4));
            cx.b.ins().iadd(out, off)
        };
        cx.for_static(0, i64_of(oh), 1, |cx, o_r| {
            let in_row = {
                let off = cx.b.ins().imul_imm_s(o_r, i64_of(sh) * row_bytes);
                cx.b.ins().iadd(pad, off)
            };
            let out_row = {
                let off = cx.b.ins().imul_imm_s(o_r, i64_of(ow * 4));
                cx.b.ins().iadd(out_plane, off)
            };
            let vecs = ow / 4;
            cx.for_static(0, i64_of(vecs), 1, |cx, v| {
                let base = {
                    let off = cx.b.ins().imul_imm_s(v, i64_of(4 * sw * 4));
                    cx.b.ins().iadd(in_row, off)
                };
                let mut acc = match b_c {
                    Some(bp) => {
                        let s = cx.load(types::F32, bp, 0);
                        cx.b.ins().splat(types::F32X4, s)
                    }
                    None => cx.fconst(types::F32X4, 0.0),
                };
                for ki in 0..kh {
                    for kj in 0..kw {
                        let off = i64_of(ki * dh) * row_bytes + i64_of(kj * dw * 4);
                        let xv = load_strided_vec(cx, base, off, sw);
                        let wv = load_off(cx, types::F32, w_c, i64_of((ki * kw + kj) * 4));
                        let wv = cx.b.ins().splat(types::F32X4, wv);
                        acc = cx.mul_add(xv, wv, acc);
                    }
                }
                let o = cx.b.ins().imul_imm_s(v, 16);
                let d = cx.b.ins().iadd(out_row, o);
                cx.store(acc, d, 0);
            });
            for col in vecs * 4..ow {
                let mut acc = match b_c {
                    Some(bp) => cx.load(types::F32, bp, 0),
                    None => cx.fconst(types::F32, 0.0),
                };
                for ki in 0..kh {
                    for kj in 0..kw {
                        let off = i64_of(ki * dh) * row_bytes + i64_of((col * sw + kj * dw) * 4);
                        let xv = load_off(cx, types::F32, in_row, off);
                        let wv = load_off(cx, types::F32, w_c, i64_of((ki * kw + kj) * 4));
                        acc = cx.mul_add(xv, wv, acc);
                    }
                }
                store_off(cx, acc, out_row, i64_of(col * 4));
            }
        });
    });
    Ok(KernelInfo { work_items: n * c, scratch_bytes })
}

/// Loads elements `base + off + i·sw·4` for `i` in `0..4` as one `f32x4`.
pub(crate) fn load_strided_vec(cx: &mut KernelCx, base: Value, off: i64, sw: usize) -> Value {
    match sw {
        1 => load_off(cx, types::F32X4, base, off),
        2 => {
            let lo = load_off(cx, types::I8X16, base, off);
            let hi = load_off(cx, types::I8X16, base, off + 16);
            // Even f32 lanes of lo:hi → bytes 0..4, 8..12 of lo and 0..4, 8..12 of hi (16..).
            let mask: Vec<u8> = [0u8, 2, 4, 6].iter().flat_map(|&l| (0..4).map(move |b| l * 4 + b)).collect();
            let imm: Immediate = cx.b.func.dfg.immediates.push(ConstantData::from(mask));
            let s = cx.b.ins().shuffle(lo, hi, imm);
            let flags =
                cranelift_codegen::ir::MemFlagsData::new().with_endianness(cranelift_codegen::ir::Endianness::Little);
            cx.b.ins().bitcast(types::F32X4, flags, s)
        }
        _ => {
            let first = load_off(cx, types::F32, base, off);
            let mut v = cx.b.ins().scalar_to_vector(types::F32X4, first);
            for l in 1..4u8 {
                let e = load_off(cx, types::F32, base, off + i64_of(l as usize * sw * 4));
                v = cx.b.ins().insertlane(v, e, l);
            }
            v
        }
    }
}
