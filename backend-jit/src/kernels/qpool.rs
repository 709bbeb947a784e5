//! Pools on quantized (`u8`/`i8`) tensors, bit-exact with the interpreter
//! (`backend-interp/src/ops/qpool.rs`, `pool.rs`): ONNX Runtime's
//! `QLinearGlobalAveragePool` and `QLinearAveragePool`, and `MaxPool` on 8-bit integers
//! (which the QDQ pass leaves on quantized activations).
//!
//! Work item of all three: one channel plane of one image (`item = n · C + c`).

use cranelift_codegen::ir::{types, InstBuilder, Value};
use int8xc_ir::{DType, PoolAttrs};

use super::qgemm::shuffle;
use super::qlinear::per_tensor_byte;
use super::quantize::{load_bytes_x16, load_int, store_int, RoundSat};
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// `[N, C, H, W]` of input 0 and `[oh, ow]` of output 0 (same `N`, `C`, same dtype `u8`/`i8`).
fn geometry(cx: &KernelCx) -> Result<([usize; 4], [usize; 2]), JitError> {
    let (tx, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    match (tx.shape.as_slice(), to.shape.as_slice()) {
        (&[n, c, h, w], &[n2, c2, oh, ow]) if n == n2 && c == c2 && tx.dtype == to.dtype => {
            Ok(([n, c, h, w], [oh, ow]))
        }
        _ => Err(JitError::invalid(cx.node, format!("input {tx} -> output {to}: expected [N, C, H, W] planes"))),
    }
}

/// Emits, per plane item, `y = requantize_f32(Σ x - zp_x · image, s_x / (s_y · f32(image)),
/// zp_y)` over `image` bytes per plane (MLAS `qlgavgpool.cpp`, the interpreter's
/// `global_average`). The sum is 16 bytes per step (`i32x4` lanes, wrapping) plus a tail.
fn emit_global_average(
    cx: &mut KernelCx,
    planes: usize,
    image: usize,
    dtype: DType,
    (sx, zx): (f32, i32),
    (sy, zy): (f32, i32),
) -> KernelInfo {
    if planes == 0 {
        return KernelInfo::default();
    }
    let signed = dtype == DType::I8;
    let range = int8xc_ir::quant_range(dtype).unwrap_or((0, 255));
    let scale = sx / (sy * image as f32);
    let bias = (-zx).wrapping_mul(image as i32);
    let (src, dst) = (cx.input(0), cx.output(0));
    let rs = RoundSat::constant(cx, types::F32, zy, range);
    cx.for_items(|cx, p| {
        let off = cx.b.ins().imul_imm_s(p, i64_of(image));
        let xs = cx.b.ins().iadd(src, off);
        let zero = cx.b.ins().iconst(types::I32, 0);
        let zv = cx.b.ins().splat(types::I32X4, zero);
        let acc_v = cx.b.declare_var(types::I32X4);
        cx.b.def_var(acc_v, zv);
        let vend = i64_of(image / 16 * 16);
        cx.for_static(0, vend, 16, |cx, k| {
            let a = cx.b.ins().iadd(xs, k);
            let v = load_bytes_x16(cx, a, signed);
            let mut acc = cx.b.use_var(acc_v);
            for x in v {
                acc = cx.b.ins().iadd(acc, x);
            }
            cx.b.def_var(acc_v, acc);
        });
        let acc = cx.b.declare_var(types::I32);
        let b0 = cx.b.ins().iconst(types::I32, i64::from(bias));
        let av = cx.b.use_var(acc_v);
        let mut s = b0;
        for l in 0..4 {
            let e = cx.b.ins().extractlane(av, l);
            s = cx.b.ins().iadd(s, e);
        }
        cx.b.def_var(acc, s);
        cx.for_static(vend, i64_of(image), 1, |cx, k| {
            let a = cx.b.ins().iadd(xs, k);
            let v = load_int(cx, types::I8, signed, a);
            let cur = cx.b.use_var(acc);
            let nx = cx.b.ins().iadd(cur, v);
            cx.b.def_var(acc, nx);
        });
        let total = cx.b.use_var(acc);
        let f = cx.b.ins().fcvt_from_sint(types::F32, total);
        let m = cx.b.ins().f32const(scale);
        let f = cx.b.ins().fmul(f, m);
        let y = rs.apply(cx, f);
        let o = cx.b.ins().iadd(dst, p);
        store_int(cx, y, types::I8, o);
    });
    KernelInfo { work_items: planes, scratch_bytes: 0 }
}

/// `QLinearGlobalAveragePool` (ONNX Runtime, NCHW): `[N, C, H, W] → [N, C, 1, 1]`, exactly
/// [`int8xc_ir::Op::QLinearGlobalAveragePool`]'s formula (`i32` sum, f32 scale
/// `s_x / (s_y · f32(H·W))`, `requantize_f32`). Work item: one plane.
pub(crate) fn lower_qlinear_global_average_pool(
    cx: &mut KernelCx,
    out_scale: f32,
    out_zp: i32,
) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let (tx, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let px = per_tensor_byte(cx, "input", tx)?;
    let ok = tx.rank() >= 2
        && to.dtype == tx.dtype
        && to.shape.len() == tx.rank()
        && to.shape[..2] == tx.shape[..2]
        && to.shape[2..].iter().all(|&d| d == 1);
    if !ok {
        return Err(JitError::invalid(cx.node, format!("input {tx} -> output {to}")));
    }
    let image: usize = tx.shape[2..].iter().product();
    if image > i32::MAX as usize / 256 {
        return Err(JitError::unsupported(cx.node, format!("image of {image} elements")));
    }
    let planes = tx.shape[0] * tx.shape[1];
    Ok(emit_global_average(cx, planes, image, tx.dtype, px, (out_scale, out_zp)))
}

/// `QLinearAveragePool` (ONNX Runtime, NCHW, dilations 1) as the interpreter computes it:
/// the whole-image window without pads is [`lower_qlinear_global_average_pool`]'s formula;
/// otherwise per output `sum = Σ s_x · f32(x - zp_x)` (f32, window row then column, in-bounds
/// elements only), `count = kH·kW` (`count_include_pad`) or the in-bounds count,
/// `y = clamp(rne(sum / f32(count) / s_y + f32(zp_y)), lo, hi)` (a NaN gives 0). Work item:
/// one plane; window bounds are computed at run time per output.
pub(crate) fn lower_qlinear_average_pool(
    cx: &mut KernelCx,
    a: &PoolAttrs,
    out_scale: f32,
    out_zp: i32,
) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let tx = cx.in_ty(0)?;
    let (sx, zx) = per_tensor_byte(cx, "input", tx)?;
    let ([n, c, h, w], [oh_n, ow_n]) = geometry(cx)?;
    if a.dilations != [1, 1] || a.strides.contains(&0) {
        return Err(JitError::unsupported(cx.node, format!("dilations {:?} / strides {:?}", a.dilations, a.strides)));
    }
    let dtype = tx.dtype;
    if a.kernel == [h, w] && a.pads == [0; 4] {
        if oh_n * ow_n != 1 {
            return Err(JitError::invalid(cx.node, format!("whole-image window but output {oh_n}x{ow_n}")));
        }
        return Ok(emit_global_average(cx, n * c, h * w, dtype, (sx, zx), (out_scale, out_zp)));
    }
    let planes = n * c;
    if planes == 0 || oh_n == 0 || ow_n == 0 {
        return Ok(KernelInfo::default());
    }
    let signed = dtype == DType::I8;
    let range = int8xc_ir::quant_range(dtype).unwrap_or((0, 255));
    let (src, dst) = (cx.input(0), cx.output(0));
    let rs = RoundSat::constant(cx, types::F32, 0, range);
    let [kh, kw] = a.kernel.map(i64_of);
    let [s0, s1] = a.strides.map(i64_of);
    let (p0, p1) = (i64_of(a.pads[0]), i64_of(a.pads[1]));
    let (hh, ww) = (i64_of(h), i64_of(w));
    let include_pad = a.count_include_pad;
    cx.for_items(|cx, p| {
        let xo = cx.b.ins().imul_imm_s(p, hh * ww);
        let xs = cx.b.ins().iadd(src, xo);
        let yo = cx.b.ins().imul_imm_s(p, i64_of(oh_n * ow_n));
        let ys = cx.b.ins().iadd(dst, yo);
        let clamp_lo = |cx: &mut KernelCx, v: Value| {
            let z = cx.iconst(0);
            cx.b.ins().smax(v, z)
        };
        let clamp_hi = |cx: &mut KernelCx, v: Value, hi: i64| {
            let z = cx.iconst(hi);
            cx.b.ins().smin(v, z)
        };
        cx.for_static(0, i64_of(oh_n), 1, |cx, oh| {
            let hs = cx.b.ins().imul_imm_s(oh, s0);
            let hs = cx.b.ins().iadd_imm_s(hs, -p0);
            let he = cx.b.ins().iadd_imm_s(hs, kh);
            let he = clamp_hi(cx, he, hh);
            let hs = clamp_lo(cx, hs);
            cx.for_static(0, i64_of(ow_n), 1, |cx, ow| {
                let ws = cx.b.ins().imul_imm_s(ow, s1);
                let ws = cx.b.ins().iadd_imm_s(ws, -p1);
                let we = cx.b.ins().iadd_imm_s(ws, kw);
                let we = clamp_hi(cx, we, ww);
                let ws = clamp_lo(cx, ws);
                let sum = cx.b.declare_var(types::F32);
                let z = cx.b.ins().f32const(0.0);
                cx.b.def_var(sum, z);
                cx.for_range(hs, he, 1, |cx, ih| {
                    let ro = cx.b.ins().imul_imm_s(ih, ww);
                    let row = cx.b.ins().iadd(xs, ro);
                    cx.for_range(ws, we, 1, |cx, iw| {
                        let a = cx.b.ins().iadd(row, iw);
                        let q = load_int(cx, types::I8, signed, a);
                        let d = cx.b.ins().iadd_imm_s(q, -i64::from(zx));
                        let f = cx.b.ins().fcvt_from_sint(types::F32, d);
                        let sxv = cx.b.ins().f32const(sx);
                        let v = cx.b.ins().fmul(sxv, f);
                        let s = cx.b.use_var(sum);
                        let s = cx.b.ins().fadd(s, v);
                        cx.b.def_var(sum, s);
                    });
                });
                let count = if include_pad {
                    cx.iconst(kh * kw)
                } else {
                    let dh = cx.b.ins().isub(he, hs);
                    let dh = clamp_lo(cx, dh);
                    let dw = cx.b.ins().isub(we, ws);
                    let dw = clamp_lo(cx, dw);
                    cx.b.ins().imul(dh, dw)
                };
                let cf = cx.b.ins().fcvt_from_sint(types::F32, count);
                let s = cx.b.use_var(sum);
                let mean = cx.b.ins().fdiv(s, cf);
                let syv = cx.b.ins().f32const(out_scale);
                let v = cx.b.ins().fdiv(mean, syv);
                let zyv = cx.b.ins().f32const(out_zp as f32);
                let v = cx.b.ins().fadd(v, zyv);
                let zero = cx.b.ins().f32const(0.0);
                let is_num = cx.b.ins().fcmp(cranelift_codegen::ir::condcodes::FloatCC::Equal, v, v);
                let v = cx.b.ins().select(is_num, v, zero);
                let y = rs.apply(cx, v);
                let oo = cx.b.ins().imul_imm_s(oh, i64_of(ow_n));
                let oo = cx.b.ins().iadd(oo, ow);
                let o = cx.b.ins().iadd(ys, oo);
                store_int(cx, y, types::I8, o);
            });
        });
    });
    Ok(KernelInfo { work_items: planes, scratch_bytes: 0 })
}

/// `MaxPool` on `u8`/`i8` (the interpreter's integer `max_pool`): the maximum over each
/// window's in-bounds elements (padding and dilation as [`PoolAttrs`]), the dtype's minimum
/// for a window with none. Work item: one plane.
///
/// The plane is first copied into scratch with its padding (and whatever ceil mode or the
/// last vector step reads past the end) materialized as the dtype's minimum, which never wins
/// a maximum; then every output row is computed 16 outputs per step with no bounds checks:
/// per tap one 16-byte load (stride 1), or two loads and an even-byte shuffle (stride 2), or
/// 16 byte inserts (larger strides), and one `pmaxub`/`pmaxsb`. The last step of a row stores
/// only its valid lanes.
pub(crate) fn lower_max_pool_int8(cx: &mut KernelCx, a: &PoolAttrs) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let dtype = cx.in_ty(0)?.dtype;
    if !matches!(dtype, DType::U8 | DType::I8) {
        return Err(JitError::unsupported(cx.node, format!("MaxPool on {dtype}")));
    }
    let ([n, c, h, w], [oh_n, ow_n]) = geometry(cx)?;
    let planes = n * c;
    if planes == 0 || oh_n == 0 || ow_n == 0 {
        return Ok(KernelInfo::default());
    }
    if h == 0 || w == 0 {
        return Err(JitError::invalid(cx.node, "empty input plane"));
    }
    let signed = dtype == DType::I8;
    let lowest: i64 = if signed { -128 } else { 0 };
    let [kh, kw] = a.kernel;
    let [s0, s1] = a.strides;
    let [d0, d1] = a.dilations;
    let (pt, pl) = (a.pads[0], a.pads[1]);
    let steps = ow_n.div_ceil(16);
    // Padded plane: every row/column any step reads (a stride-2 step loads one byte more
    // than it uses), plus 32 bytes of slack.
    let hp = (pt + h).max((oh_n - 1) * s0 + (kh - 1) * d0 + 1);
    let wp = (pl + w).max((16 * steps - 1) * s1 + (kw - 1) * d1 + 2);
    let scratch_bytes = hp * wp + 32;
    let (src, dst, pad) = (cx.input(0), cx.output(0), cx.scratch());
    cx.for_items(|cx, p| {
        // 1. The padded plane.
        let low = cx.b.ins().iconst(types::I8, lowest);
        let low_v = cx.b.ins().splat(types::I8X16, low);
        cx.for_static(0, i64_of(scratch_bytes / 16), 1, |cx, i| {
            let o = cx.b.ins().imul_imm_s(i, 16);
            let d = cx.b.ins().iadd(pad, o);
            cx.store(low_v, d, 0);
        });
        let xs = {
            let o = cx.b.ins().imul_imm_s(p, i64_of(h * w));
            cx.b.ins().iadd(src, o)
        };
        cx.for_static(0, i64_of(h), 1, |cx, r| {
            let s = {
                let o = cx.b.ins().imul_imm_s(r, i64_of(w));
                cx.b.ins().iadd(xs, o)
            };
            let d = {
                let o = cx.b.ins().imul_imm_s(r, i64_of(wp));
                let t = cx.b.ins().iadd(pad, o);
                cx.b.ins().iadd_imm_s(t, i64_of(pt * wp + pl))
            };
            cx.for_static(0, i64_of(w / 16), 1, |cx, i| {
                let o = cx.b.ins().imul_imm_s(i, 16);
                let sa = cx.b.ins().iadd(s, o);
                let da = cx.b.ins().iadd(d, o);
                let v = cx.load(types::I8X16, sa, 0);
                cx.store(v, da, 0);
            });
            for i in w / 16 * 16..w {
                let v = cx.load(types::I8, s, i as i32);
                cx.store(v, d, i as i32);
            }
        });
        // 2. Output rows, 16 outputs per step.
        let ys = {
            let o = cx.b.ins().imul_imm_s(p, i64_of(oh_n * ow_n));
            cx.b.ins().iadd(dst, o)
        };
        let even: [u8; 16] = std::array::from_fn(|i| 2 * i as u8);
        let step = |cx: &mut KernelCx, row: Value, out: Value, ow0: Value, lanes: usize| {
            let base = {
                let o = cx.b.ins().imul_imm_s(ow0, i64_of(s1));
                cx.b.ins().iadd(row, o)
            };
            let mut m = low_v;
            for i in 0..kh {
                for j in 0..kw {
                    let off = (i * d0 * wp + j * d1) as i32;
                    let v = match s1 {
                        1 => cx.load(types::I8X16, base, off),
                        2 => {
                            let lo = cx.load(types::I8X16, base, off);
                            let hi = cx.load(types::I8X16, base, off + 16);
                            shuffle(cx, lo, hi, even)
                        }
                        _ => {
                            let mut v = low_v;
                            for l in 0..16 {
                                let e = cx.load(types::I8, base, off + (l * s1) as i32);
                                v = cx.b.ins().insertlane(v, e, l as u8);
                            }
                            v
                        }
                    };
                    m = if signed { cx.b.ins().smax(m, v) } else { cx.b.ins().umax(m, v) };
                }
            }
            let o = cx.b.ins().iadd(out, ow0);
            if lanes == 16 {
                cx.store(m, o, 0);
            } else {
                for l in 0..lanes {
                    let e = cx.b.ins().extractlane(m, l as u8);
                    cx.store(e, o, l as i32);
                }
            }
        };
        cx.for_static(0, i64_of(oh_n), 1, |cx, oh| {
            let row = {
                let o = cx.b.ins().imul_imm_s(oh, i64_of(s0 * wp));
                cx.b.ins().iadd(pad, o)
            };
            let out = {
                let o = cx.b.ins().imul_imm_s(oh, i64_of(ow_n));
                cx.b.ins().iadd(ys, o)
            };
            cx.for_static(0, i64_of(ow_n / 16), 1, |cx, q| {
                let ow0 = cx.b.ins().imul_imm_s(q, 16);
                step(cx, row, out, ow0, 16);
            });
            if !ow_n.is_multiple_of(16) {
                let ow0 = cx.iconst(i64_of(ow_n / 16 * 16));
                step(cx, row, out, ow0, ow_n % 16);
            }
        });
    });
    Ok(KernelInfo { work_items: planes, scratch_bytes })
}

/// True when input 0 is `u8`/`i8` (the `MaxPool` nodes this file lowers).
pub(crate) fn has_int8_input(cx: &KernelCx) -> bool {
    cx.in_ty(0).is_ok_and(|t| matches!(t.dtype, DType::U8 | DType::I8))
}
