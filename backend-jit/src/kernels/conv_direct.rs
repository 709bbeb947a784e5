//! Direct 2-D convolution for weights or zero points that are run-time values: `Conv`
//! (`f32`), `QConv` and `ConvInteger` whose `w` (or a zero point) is a graph input rather than
//! an initializer — rare in deployed models (weights are initializers), common in the ONNX
//! node tests and in graphs that compute their filters. The fast paths (`conv.rs`,
//! `qconv.rs`) pack the weights at compile time; this one reads them where they are, with
//! plain scalar loops (correctness first; not tuned):
//!
//! ```text
//! acc[n, m, oh, ow] = Σ_{c < C/g, ki, kj} x̂[n, g(m)·C/g + c, oh·sh − pt + ki·dh, ow·sw − pl + kj·dw]
//!                                        · ŵ[m, c, ki, kj]
//! f32:  y = acc + bias[m]                        (x̂ = x, 0 in the padding; ŵ = w)
//! int:  y = epilogue(acc + bias[m])              (x̂ = x − zx, 0 in the padding; ŵ = w − zw[m];
//!                                                 the requantization of `qgemm.rs`)
//! ```
//!
//! ONNX `Conv`/`QLinearConv`/`ConvInteger`; NCHW, `w` `[M, C/g, kH, kW]`. Work item: one output
//! row `(n, oh)` over every channel `m` and column `ow`. Padded taps load from a clamped
//! address and are replaced by 0, so no access leaves the tensors. Per-channel constants (the
//! requantization table, constant weight zero points) are written to the scratch buffer at
//! the start of each item, as the epilogue reads them from memory.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};

use super::conv::ConvGeom;
use super::qgemm::{emit_epilogue, out_bytes, ChannelAxis, QCTile, QEpilogue, QOutKind, FIXED_ENTRY_BYTES};
use super::quantize::load_int;
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// Largest per-item constant table written to scratch (bytes).
const MAX_TABLE_BYTES: usize = 64 * 1024;

/// A zero point of the integer convolutions.
#[derive(Clone, Debug)]
pub(crate) enum Zp {
    /// Known at compile time: one value, or one per output channel (weights).
    Const(Vec<i32>),
    /// Read at run time from input `index` (`u8`/`i8`), one value or one per output channel.
    Input { index: usize, per_channel: bool, signed: bool },
}

/// What the convolution computes.
#[derive(Clone, Debug)]
pub(crate) enum DirectConv {
    /// `f32` `Conv`, optional bias input 2.
    F32,
    /// `QConv` / `ConvInteger`: `u8`/`i8` operands, the epilogue `out` with its parameter
    /// `table` (per output channel, see [`super::qparams::param_table`]), and with `bias`
    /// the `i32` bias input 2 (`QConv`).
    Int { out: QOutKind, table: Vec<u8>, zx: Zp, zw: Zp, x_signed: bool, w_signed: bool, bias: bool },
}

/// Lowers the node as a direct convolution of geometry `geo`.
///
/// Errors: [`JitError::Unsupported`] when the per-channel tables exceed
/// [`MAX_TABLE_BYTES`]; [`JitError::Invalid`] for a bias or zero point of the wrong length.
pub(crate) fn lower_conv_direct(cx: &mut KernelCx, geo: &ConvGeom, kind: &DirectConv) -> Result<KernelInfo, JitError> {
    let ConvGeom { n, c, h, w, m, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl, .. } = *geo;
    let (cg, mg) = (geo.cg(), geo.mg());
    if n == 0 || m == 0 || oh == 0 || ow == 0 {
        return Ok(KernelInfo::default());
    }
    let has_bias = match kind {
        DirectConv::F32 => cx.node.inputs.len() > 2,
        DirectConv::Int { bias, .. } => *bias,
    };
    if has_bias && cx.in_ty(2)?.numel() != m {
        return Err(JitError::invalid(cx.node, format!("bias must have {m} values")));
    }
    // Scratch: [params table][constant per-channel zw as i32].
    let (table, zw_table) = match kind {
        DirectConv::F32 => (Vec::new(), None),
        DirectConv::Int { table, zw, .. } => {
            let zw_t = match zw {
                Zp::Const(v) if v.len() > 1 => {
                    if v.len() != m {
                        return Err(JitError::invalid(
                            cx.node,
                            format!("w zero point has {} values, not {m}", v.len()),
                        ));
                    }
                    Some(v.iter().flat_map(|z| z.to_le_bytes()).collect::<Vec<u8>>())
                }
                _ => None,
            };
            (table.clone(), zw_t)
        }
    };
    let zw_off = table.len().next_multiple_of(16);
    let scratch_bytes = zw_off + zw_table.as_ref().map_or(0, Vec::len);
    if scratch_bytes > MAX_TABLE_BYTES {
        return Err(JitError::unsupported(cx.node, format!("{m} output channels of run-time weights")));
    }
    let (x_eb, w_eb, ob) = match kind {
        DirectConv::F32 => (4, 4, 4),
        DirectConv::Int { out, .. } => (1, 1, out_bytes(*out)),
    };
    let (px, pw, py, scratch) = (cx.input(0), cx.input(1), cx.output(0), cx.scratch());
    let bias = if has_bias { Some(cx.input(2)) } else { None };
    let zp_ptrs: Vec<Option<Value>> = match kind {
        DirectConv::Int { zx, zw, .. } => [zx, zw]
            .iter()
            .map(|z| match z {
                Zp::Input { index, .. } => Some(cx.input(*index)),
                Zp::Const(_) => None,
            })
            .collect(),
        DirectConv::F32 => vec![None, None],
    };
    cx.for_items(|cx, item| {
        let mut bytes = table.clone();
        if let Some(z) = &zw_table {
            bytes.resize(zw_off, 0);
            bytes.extend_from_slice(z);
        }
        for (i, w4) in bytes.chunks_exact(4).enumerate() {
            let v = cx.b.ins().iconst(types::I32, i64::from(i32::from_le_bytes([w4[0], w4[1], w4[2], w4[3]])));
            cx.store(v, scratch, 4 * i as i32);
        }
        let oh_n = cx.iconst(i64_of(oh));
        let ohi = cx.b.ins().urem(item, oh_n);
        let ni = cx.b.ins().udiv(item, oh_n);
        let zx = match kind {
            DirectConv::Int { zx: Zp::Const(v), .. } => Some(cx.b.ins().iconst(types::I32, i64::from(v[0]))),
            DirectConv::Int { zx: Zp::Input { signed, .. }, .. } => {
                Some(load_int(cx, types::I8, *signed, zp_ptrs[0].unwrap_or(px)))
            }
            DirectConv::F32 => None,
        };
        let ih0 = {
            let t = cx.b.ins().imul_imm_s(ohi, i64_of(sh));
            cx.b.ins().iadd_imm_s(t, -i64_of(pt))
        };
        cx.for_static(0, i64_of(m), 1, |cx, mi| {
            let gi = cx.b.ins().udiv_imm_u(mi, i64_of(mg));
            let zw = match kind {
                DirectConv::Int { zw: Zp::Const(v), .. } if v.len() > 1 => {
                    let a = cx.elem_addr(scratch, mi, 4);
                    Some(cx.load(types::I32, a, zw_off as i32))
                }
                DirectConv::Int { zw: Zp::Const(v), .. } => Some(cx.b.ins().iconst(types::I32, i64::from(v[0]))),
                DirectConv::Int { zw: Zp::Input { per_channel, signed, .. }, .. } => {
                    let base = zp_ptrs[1].unwrap_or(px);
                    let a = if *per_channel { cx.b.ins().iadd(base, mi) } else { base };
                    Some(load_int(cx, types::I8, *signed, a))
                }
                DirectConv::F32 => None,
            };
            let x_plane0 = {
                // Channel (n·C + g·C/g) of x, as an element index.
                let a = cx.b.ins().imul_imm_s(ni, i64_of(c));
                let b = cx.b.ins().imul_imm_s(gi, i64_of(cg));
                let ch = cx.b.ins().iadd(a, b);
                cx.b.ins().imul_imm_s(ch, i64_of(h * w))
            };
            let w_m = cx.b.ins().imul_imm_s(mi, i64_of(cg * kh * kw));
            cx.for_static(0, i64_of(ow), 1, |cx, owi| {
                let iw0 = {
                    let t = cx.b.ins().imul_imm_s(owi, i64_of(sw));
                    cx.b.ins().iadd_imm_s(t, -i64_of(pl))
                };
                let acc_ty = if zx.is_some() { types::I32 } else { types::F32 };
                let acc = cx.b.declare_var(acc_ty);
                let zero = if zx.is_some() { cx.b.ins().iconst(types::I32, 0) } else { cx.b.ins().f32const(0.0) };
                cx.b.def_var(acc, zero);
                cx.for_static(0, i64_of(cg), 1, |cx, ci| {
                    let plane = {
                        let t = cx.b.ins().imul_imm_s(ci, i64_of(h * w));
                        cx.b.ins().iadd(x_plane0, t)
                    };
                    let w_c = {
                        let t = cx.b.ins().imul_imm_s(ci, i64_of(kh * kw));
                        cx.b.ins().iadd(w_m, t)
                    };
                    for ki in 0..kh {
                        let ih = cx.b.ins().iadd_imm_s(ih0, i64_of(ki * dh));
                        let in_h = cx.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, ih, i64_of(h));
                        for kj in 0..kw {
                            let iw = cx.b.ins().iadd_imm_s(iw0, i64_of(kj * dw));
                            let in_w = cx.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, iw, i64_of(w));
                            let inside = cx.b.ins().band(in_h, in_w);
                            let idx = {
                                let r = cx.b.ins().imul_imm_s(ih, i64_of(w));
                                let t = cx.b.ins().iadd(r, iw);
                                let t = cx.b.ins().iadd(plane, t);
                                let first = cx.iconst(0);
                                cx.b.ins().select(inside, t, first)
                            };
                            let xa = cx.elem_addr(px, idx, x_eb);
                            let wa = {
                                let t = cx.b.ins().iadd_imm_s(w_c, i64_of(ki * kw + kj));
                                cx.elem_addr(pw, t, w_eb)
                            };
                            let s = cx.b.use_var(acc);
                            let next = match (kind, zx, zw) {
                                (DirectConv::Int { x_signed, w_signed, .. }, Some(zx), Some(zw)) => {
                                    let xv = load_int(cx, types::I8, *x_signed, xa);
                                    let xv = cx.b.ins().isub(xv, zx);
                                    let z = cx.b.ins().iconst(types::I32, 0);
                                    let xv = cx.b.ins().select(inside, xv, z);
                                    let wv = load_int(cx, types::I8, *w_signed, wa);
                                    let wv = cx.b.ins().isub(wv, zw);
                                    let p = cx.b.ins().imul(xv, wv);
                                    cx.b.ins().iadd(s, p)
                                }
                                _ => {
                                    let xv = cx.load(types::F32, xa, 0);
                                    let z = cx.b.ins().f32const(0.0);
                                    let xv = cx.b.ins().select(inside, xv, z);
                                    let wv = cx.load(types::F32, wa, 0);
                                    let p = cx.b.ins().fmul(xv, wv);
                                    cx.b.ins().fadd(s, p)
                                }
                            };
                            cx.b.def_var(acc, next);
                        }
                    }
                });
                let y_idx = {
                    let a = cx.b.ins().imul_imm_s(ni, i64_of(m));
                    let t = cx.b.ins().iadd(a, mi);
                    let t = cx.b.ins().imul_imm_s(t, i64_of(oh));
                    let t = cx.b.ins().iadd(t, ohi);
                    let t = cx.b.ins().imul_imm_s(t, i64_of(ow));
                    cx.b.ins().iadd(t, owi)
                };
                let ya = cx.elem_addr(py, y_idx, i64_of(ob));
                let s = cx.b.use_var(acc);
                let bias_at = |cx: &mut KernelCx| {
                    bias.map(|p| {
                        let o = cx.b.ins().imul_imm_s(mi, 4);
                        cx.b.ins().iadd(p, o)
                    })
                };
                match kind {
                    DirectConv::F32 => {
                        let y = match bias_at(cx) {
                            Some(p) => {
                                let b = cx.load(types::F32, p, 0);
                                cx.b.ins().fadd(s, b)
                            }
                            None => s,
                        };
                        cx.store(y, ya, 0);
                    }
                    DirectConv::Int { out, .. } => {
                        let entry = if matches!(out, QOutKind::RequantFixed { .. }) { FIXED_ENTRY_BYTES } else { 4 };
                        let params = if matches!(out, QOutKind::I32) {
                            None
                        } else {
                            let o = cx.b.ins().imul_imm_s(mi, i64_of(entry));
                            Some(cx.b.ins().iadd(scratch, o))
                        };
                        let ep = QEpilogue {
                            axis: ChannelAxis::Rows,
                            rterm: bias_at(cx),
                            cterm: None,
                            rz_csum: None,
                            cz_rsum: None,
                            params,
                            out: *out,
                        };
                        let v = cx.b.ins().splat(types::I32X4, s);
                        emit_epilogue(cx, &[v; 8], 1, 1, &ep, QCTile { ptr: ya, ldc: 0 });
                    }
                }
            });
        });
    });
    Ok(KernelInfo { work_items: n * oh, scratch_bytes: scratch_bytes.max(16) })
}
