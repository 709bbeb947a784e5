//! `QConv` and `ConvInteger` (2-D NCHW, constant weights) on the int8 microkernel of
//! [`super::qgemm`]: per group, `Y[Mg, pixels] = W[Mg, K] · X[K, pixels]`, `K = Cg·kH·kW`,
//! weights broadcast as row tiles (`i8`), the im2col matrix streamed as column panels (`u8`).
//!
//! Per work item (one block of output rows of one group of one image,
//! `item = (n · group + g) · n_blocks + block`), in scratch:
//! 1. **im2col** `S1 [K4][ld]` bytes (`K4 = ceil(K/4)·4`, `ld` = block pixels rounded up to
//!    16): row `k = (c·kH + ki)·kW + kj`, column `(oh − oh0)·oW + ow`; padded positions hold
//!    `zp_x` (so they contribute 0), an `i8` `x` is flipped to `u8` (`^ 0x80`); rows `K..K4`
//!    are 0;
//! 2. **interleave** `S1` into column panels `S2 [ld/8][K4/4][8][4]` (byte/word unpacks of 4
//!    rows × 16 pixels), with the per-pixel column sums `S3 [ld] i32` when some weight zero
//!    point is non-zero; 16-pixel panels `[ld/16][K4/4][16][4]` for the AVX-512 VNNI ukernel;
//! 3. per 4-channel tile and 8-pixel panel: the dot products and the fused epilogue, stored
//!    to `y[n, m, pixel]`. With the ukernel ([`crate::ukernels::QgemmArgs`]) the dot products
//!    of up to [`QNB`] pixels come from one call into an `i32` block `S4 [4][QNB]`, which the
//!    same epilogue reads 4 × 8 at a time.
//!
//! Corrections (`zx`, `zw[m]` in the stored domains, see [`crate::pack_i8`]):
//! `acc = Σ w·x + rterm[m] − zw[m]·colsum(x)[pixel]`, `rterm[m] = bias[m] − zx·rowsum(w)[m] +
//! K·zx·zw[m]` (compile time).
//!
//! Packed constant (input 1): per group `[row tiles: packed_rows_len(Mg, K)]`, then the
//! tables, each `[group][Mg4]` (`Mg4 = ceil(Mg/4)·4`): `rterm` (`i32`), `zw` (`i32`, when
//! needed), parameters ([`super::qparams::param_table`]).
//!
//! Steps 1 and 2 live in [`super::qconv_im2col`]. Depthwise convolutions (one channel per
//! group) take the direct kernel of [`super::qconv_dw`]; run-time weights or zero points the
//! direct convolution of [`super::conv_direct`].

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, Value};
use int8xc_ir::{ConvAttrs, DType, QConvAttrs};

use super::conv::{conv_shape_geometry, BlockItem, ConvGeom, RowBlocks};
use super::conv_direct::{lower_conv_direct, DirectConv, Zp};
use super::qconv_im2col::{emit_im2col_u8, emit_interleave, fill};
use super::qgemm::{
    emit_dot_tile, emit_epilogue, out_bytes, ChannelAxis, QCTile, QEpilogue, QOutKind, SignedSide, FIXED_ENTRY_BYTES,
};
use super::qgemm_call::{emit_qgemm_call, fused_requant, load_acc_block, FusedRequant};
use super::qmatmul::QNB;
use super::qparams::{byte_delta, const_ints, param_table, per_channel, requant_out};
use super::{i64_of, qconv_dw, KernelCx, KernelInfo};
use crate::pack_i8::{pack_rows_k4, packed_rows_len, push_i32s, row_sums, IntMatrix, KG, QMR, QNR};
use crate::ukernels::QgemmArgs;
use crate::JitError;

/// Bytes of the im2col matrix of one block (aim: `S1` + `S2` L2-resident).
const IM2COL_BUDGET: usize = 256 * 1024;

/// `QConv`: see [`int8xc_ir::Op::QConv`].
pub(crate) fn lower_qconv(cx: &mut KernelCx, attrs: &QConvAttrs) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=3, 1)?;
    let geo = conv_shape_geometry(cx, &attrs.conv)?;
    let (tx, tw) = (cx.in_ty(0)?, cx.in_ty(1)?);
    let bad = |what: &str| JitError::unsupported(cx.node, format!("{what} must have quantization parameters"));
    let qx = tx.quant.as_ref().ok_or_else(|| bad("x"))?;
    let qw = tw.quant.as_ref().ok_or_else(|| bad("w"))?;
    if !qx.is_per_tensor() || qw.block_size.is_some() || qw.axis.is_some_and(|a| a != 0) {
        return Err(JitError::unsupported(cx.node, "QConv needs per-tensor x and per-tensor or per-axis-0 w"));
    }
    let zw: Vec<i64> = qw.zero_point.iter().map(|&z| i64::from(z)).collect();
    let zw = per_channel(cx, &zw, geo.m, "w zero point")?;
    let out = requant_out(cx, &attrs.requant)?;
    let mg4 = geo.mg().div_ceil(QMR) * QMR;
    // Parameters per channel, laid out [group][Mg4].
    let all = param_table(out, Some(&attrs.requant), 1.0, qx.scale[0], &qw.scale, geo.m, geo.m);
    if cx.constant(1).is_none() {
        let kind = DirectConv::Int {
            out,
            table: all,
            zx: Zp::Const(vec![qx.zero_point[0]]),
            zw: Zp::Const(zw.iter().map(|&z| z as i32).collect()),
            x_signed: byte_delta(cx, "x", tx.dtype, false)? != 0,
            w_signed: byte_delta(cx, "w", tw.dtype, true)? == 0,
            bias: cx.node.inputs.len() > 2,
        };
        return lower_conv_direct(cx, &geo, &kind);
    }
    let entry = all.len() / geo.m.max(1);
    let mut params = Vec::with_capacity(geo.g * mg4 * entry);
    for g in 0..geo.g {
        for r in 0..mg4 {
            match all.get((g * geo.mg() + r) * entry..(g * geo.mg() + r + 1) * entry) {
                Some(e) if r < geo.mg() => params.extend_from_slice(e),
                _ => params.extend(std::iter::repeat_n(0u8, entry)),
            }
        }
    }
    let bias = const_ints(cx, 2, "QConv bias")?;
    if bias.as_ref().is_some_and(|b| b.len() != geo.m) {
        return Err(JitError::invalid(cx.node, format!("bias must have {} values", geo.m)));
    }
    lower(cx, &geo, i64::from(qx.zero_point[0]), zw, bias, out, params)
}

/// `ConvInteger` (ONNX opset 10); with run-time weights or zero points, the direct
/// convolution of [`super::conv_direct`].
pub(crate) fn lower_conv_integer(cx: &mut KernelCx, a: &ConvAttrs) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=4, 1)?;
    let geo = conv_shape_geometry(cx, a)?;
    if cx.out_ty(0)?.dtype != DType::I32 {
        return Err(JitError::invalid(cx.node, "ConvInteger output must be i32"));
    }
    if (1..cx.node.inputs.len()).any(|i| cx.constant(i).is_none()) {
        let (tx, tw) = (cx.in_ty(0)?, cx.in_ty(1)?);
        let zp = |cx: &KernelCx, i: usize, what: &str| -> Result<Zp, JitError> {
            let Ok(t) = cx.in_ty(i) else { return Ok(Zp::Const(vec![0])) };
            match const_ints(cx, i, what) {
                Ok(Some(v)) => Ok(Zp::Const(v.iter().map(|&z| z as i32).collect())),
                _ => Ok(Zp::Input {
                    index: i,
                    per_channel: t.numel() > 1,
                    signed: byte_delta(cx, what, t.dtype, true)? == 0,
                }),
            }
        };
        let kind = DirectConv::Int {
            out: QOutKind::I32,
            table: Vec::new(),
            zx: zp(cx, 2, "x_zero_point")?,
            zw: zp(cx, 3, "w_zero_point")?,
            x_signed: byte_delta(cx, "x", tx.dtype, false)? != 0,
            w_signed: byte_delta(cx, "w", tw.dtype, true)? == 0,
            bias: false,
        };
        return lower_conv_direct(cx, &geo, &kind);
    }
    let zx = const_ints(cx, 2, "x_zero_point")?.unwrap_or_else(|| vec![0]);
    let [zx] = zx.as_slice() else {
        return Err(JitError::unsupported(cx.node, "ConvInteger x_zero_point must be a scalar"));
    };
    let zw = const_ints(cx, 3, "w_zero_point")?.unwrap_or_else(|| vec![0]);
    let zw = per_channel(cx, &zw, geo.m, "w_zero_point")?;
    lower(cx, &geo, *zx, zw, None, QOutKind::I32, Vec::new())
}

fn lower(
    cx: &mut KernelCx,
    geo: &ConvGeom,
    zx: i64,
    zw: Vec<i64>,
    bias: Option<Vec<i64>>,
    out: QOutKind,
    params: Vec<u8>,
) -> Result<KernelInfo, JitError> {
    let (tx, tw) = (cx.in_ty(0)?, cx.in_ty(1)?);
    let x_delta = byte_delta(cx, "x", tx.dtype, false)?;
    let w_delta = byte_delta(cx, "w", tw.dtype, true)?;
    let Some(wdata) = cx.constant(1).and_then(|t| t.to_i64_vec()) else {
        return Err(JitError::unsupported(cx.node, "int8 Conv with run-time (non-constant) weights"));
    };
    let (mg, k) = (geo.mg(), geo.cg() * geo.kh * geo.kw);
    let mg4 = mg.div_ceil(QMR) * QMR;
    if qconv_dw::is_depthwise(geo) {
        // One entry per channel (the tables hold `Mg4` entries per group).
        let entry = params.len() / (geo.g * mg4).max(1);
        let params = params.chunks(entry.max(1) * mg4).flat_map(|c| c[..entry].iter().copied()).collect();
        let plan = qconv_dw::DwPlan {
            w: &wdata,
            zx,
            zw: &zw,
            bias: bias.as_deref(),
            x_signed: tx.dtype == DType::I8,
            out,
            params,
            entry,
        };
        return Ok(qconv_dw::lower(cx, geo, &plan));
    }
    let zx = zx + x_delta;
    let zw: Vec<i64> = zw.iter().map(|&z| z + w_delta).collect();
    let need_csum = zw.iter().any(|&z| z != 0);
    let mut packed = Vec::new();
    let mut rterm = Vec::with_capacity(geo.g * mg4);
    let mut zws = Vec::with_capacity(geo.g * mg4);
    for g in 0..geo.g {
        let view = IntMatrix { data: &wdata, rows: mg, cols: k, rs: k, cs: 1, offset: g * mg * k };
        pack_rows_k4(&view, w_delta, &mut packed);
        let rs = row_sums(&view, w_delta);
        for r in 0..mg4 {
            let m = g * mg + r;
            if r < mg {
                let b = bias.as_ref().map_or(0, |b| b[m]) as i32;
                let corr = (k as i64 * zx * zw[m]) as i32;
                rterm
                    .push(b.wrapping_sub((zx as i32).wrapping_mul(rs.get(r).copied().unwrap_or(0))).wrapping_add(corr));
                zws.push(zw[m] as i32);
            } else {
                rterm.push(0);
                zws.push(0);
            }
        }
    }
    let rterm_off = i64_of(packed.len());
    push_i32s(&mut packed, &rterm, rterm.len(), 0);
    let zw_off = i64_of(packed.len());
    if need_csum {
        push_i32s(&mut packed, &zws, zws.len(), 0);
    }
    let params_off = i64_of(packed.len());
    packed.extend_from_slice(&params);
    cx.pack_input(1, packed);
    let plan = ConvPlan { flip: x_delta != 0, pad: zx as u8, need_csum, out, rterm_off, zw_off, params_off };
    Ok(emit(cx, geo, &plan))
}

struct ConvPlan {
    flip: bool,
    /// The padding byte (`zx` in the `u8` domain).
    pad: u8,
    need_csum: bool,
    out: QOutKind,
    rterm_off: i64,
    zw_off: i64,
    params_off: i64,
}

fn emit(cx: &mut KernelCx, geo: &ConvGeom, p: &ConvPlan) -> KernelInfo {
    let ConvGeom { n, h, w, m, kh, kw, oh, ow, .. } = *geo;
    let (cg, mg) = (geo.cg(), geo.mg());
    let k = cg * kh * kw;
    let (groups, k4) = (k.div_ceil(KG), k.div_ceil(KG) * KG);
    let ohw = oh * ow;
    if n == 0 || m == 0 || ohw == 0 {
        return KernelInfo::default();
    }
    let blocks = RowBlocks::new(geo, k4, IM2COL_BUDGET, 16);
    let RowBlocks { blocks: n_blocks, cols: block_cols, last_cols, .. } = blocks;
    let ld = block_cols.next_multiple_of(16);
    let (s1_bytes, s2_bytes) = (k4 * ld, k4 * ld);
    let m_tiles = mg.div_ceil(QMR);
    let tail_rows = mg - (m_tiles - 1) * QMR;
    let mg4 = m_tiles * QMR;
    let w_group = i64_of(packed_rows_len(mg, k));
    let ob = out_bytes(p.out);
    let entry = if matches!(p.out, QOutKind::RequantFixed { .. }) { FIXED_ENTRY_BYTES } else { 4 };
    let (x, wp, y, scratch) = (cx.input(0), cx.input(1), cx.output(0), cx.scratch());
    let s2 = cx.b.ins().iadd_imm_s(scratch, i64_of(s1_bytes));
    let s3 = cx.b.ins().iadd_imm_s(s2, i64_of(s2_bytes));
    let uk = cx.target.qgemm_ukernel().cloned();
    let s4_off = (s1_bytes + s2_bytes + 4 * ld).div_ceil(64) * 64;
    let s4 = cx.b.ins().iadd_imm_s(scratch, i64_of(s4_off));

    cx.for_items(|cx, item| {
        let BlockItem { blk, gi, oh0, rows_left, ch0, oc0 } = blocks.emit_decode(cx, geo, item);
        let x_ch = {
            let off = cx.b.ins().imul_imm_s(ch0, i64_of(h * w));
            cx.b.ins().iadd(x, off)
        };
        emit_im2col_u8(cx, geo, (p.flip, p.pad), x_ch, oh0, rows_left, scratch, ld);
        for kr in k..k4 {
            let row = cx.b.ins().iadd_imm_s(scratch, i64_of(kr * ld));
            fill(cx, row, ld, 0);
        }
        emit_interleave(cx, scratch, ld, groups, s2, if p.need_csum { Some(s3) } else { None }, uk.is_some());
        let y_blk = {
            let a = cx.b.ins().imul_imm_s(oc0, i64_of(ohw * ob));
            let b = cx.b.ins().imul_imm_s(blk, i64_of(block_cols * ob));
            let t = cx.b.ins().iadd(a, b);
            cx.b.ins().iadd(y, t)
        };
        let w_grp = {
            let off = cx.b.ins().imul_imm_s(gi, w_group);
            cx.b.ins().iadd(wp, off)
        };
        // Table index of this group's channel 0: gi · Mg4.
        let t_idx = cx.b.ins().imul_imm_s(gi, i64_of(mg4));
        let is_last_block = cx.b.ins().icmp_imm_s(IntCC::Equal, blk, i64_of(n_blocks - 1));
        cx.for_static(0, i64_of(m_tiles), 1, |cx, mt| {
            let rows = {
                let off = cx.b.ins().imul_imm_s(mt, i64_of(groups * QMR * KG));
                cx.b.ins().iadd(w_grp, off)
            };
            let ch = {
                let t = cx.b.ins().imul_imm_s(mt, QMR as i64);
                cx.b.ins().iadd(t_idx, t)
            };
            let table = |cx: &mut KernelCx, off: i64, esize: usize| {
                let t = cx.b.ins().imul_imm_s(ch, i64_of(esize));
                let b = cx.b.ins().iadd_imm_s(wp, off);
                cx.b.ins().iadd(b, t)
            };
            let rterm = table(cx, p.rterm_off, 4);
            let rz = if p.need_csum { Some(table(cx, p.zw_off, 4)) } else { None };
            let params = if matches!(p.out, QOutKind::I32) { None } else { Some(table(cx, p.params_off, entry)) };
            let y_tile = {
                let off = cx.b.ins().imul_imm_s(mt, i64_of(QMR * ohw * ob));
                cx.b.ins().iadd(y_blk, off)
            };
            let panels = |cx: &mut KernelCx, mr: usize, width: usize| {
                // The epilogue of 8-pixel panel `j` (`cols` pixels) from accumulators `acc`.
                let epilogue = |cx: &mut KernelCx, j: Value, cols: usize, acc: [Value; 8]| {
                    let rz_csum = rz.map(|rz| {
                        let off = cx.b.ins().imul_imm_s(j, (QNR * 4) as i64);
                        (rz, cx.b.ins().iadd(s3, off))
                    });
                    let ep = QEpilogue {
                        axis: ChannelAxis::Rows,
                        rterm: Some(rterm),
                        cterm: None,
                        rz_csum,
                        cz_rsum: None,
                        params,
                        out: p.out,
                    };
                    let cp = {
                        let off = cx.b.ins().imul_imm_s(j, i64_of(QNR * ob));
                        cx.b.ins().iadd(y_tile, off)
                    };
                    emit_epilogue(cx, &acc, mr, cols, &ep, QCTile { ptr: cp, ldc: i64_of(ohw) });
                };
                if let (Some(uk), Some(zp_lo_hi), Some(scale)) = (&uk, fused_requant(p.out), params) {
                    // One ukernel call for the block, requantizing and storing itself.
                    let fused = FusedRequant {
                        rows: mr,
                        rterm: Some(rterm),
                        cterm: None,
                        rz_csum: rz.map(|rz| (rz, s3)),
                        cz_rsum: None,
                        scale,
                        per_col: false,
                        zp_lo_hi,
                        y: y_tile,
                        ldy: ohw,
                    };
                    emit_qgemm_call(cx, uk, (rows, s2, s4), width, groups, QgemmArgs::A_SIGNED, QNB, Some(&fused));
                } else if let Some(uk) = &uk {
                    // Chunks of up to QNB pixels: one ukernel call, then the epilogues.
                    let chunk = |cx: &mut KernelCx, j0: Value, cw: usize| {
                        let b = {
                            let off = cx.b.ins().imul_imm_s(j0, i64_of(groups * KG));
                            cx.b.ins().iadd(s2, off)
                        };
                        emit_qgemm_call(cx, uk, (rows, b, s4), cw, groups, QgemmArgs::A_SIGNED, QNB, None);
                        let p0 = cx.b.ins().udiv_imm_u(j0, QNR as i64);
                        let from_s4 = |cx: &mut KernelCx, jj: Value, cols: usize| {
                            let acc = load_acc_block(cx, s4, jj);
                            let j = cx.b.ins().iadd(p0, jj);
                            epilogue(cx, j, cols, acc);
                        };
                        cx.for_static(0, i64_of(cw / QNR), 1, |cx, jj| from_s4(cx, jj, QNR));
                        if !cw.is_multiple_of(QNR) {
                            let jj = cx.iconst(i64_of(cw / QNR));
                            from_s4(cx, jj, cw % QNR);
                        }
                    };
                    cx.for_static(0, i64_of(width / QNB), 1, |cx, c| {
                        let j0 = cx.b.ins().imul_imm_s(c, QNB as i64);
                        chunk(cx, j0, QNB);
                    });
                    if !width.is_multiple_of(QNB) {
                        let j0 = cx.iconst(i64_of(width / QNB * QNB));
                        chunk(cx, j0, width % QNB);
                    }
                } else {
                    let panel = |cx: &mut KernelCx, j: Value, cols: usize| {
                        let cols_ptr = {
                            let off = cx.b.ins().imul_imm_s(j, i64_of(groups * QNR * KG));
                            cx.b.ins().iadd(s2, off)
                        };
                        let acc = emit_dot_tile(cx, rows, cols_ptr, groups, SignedSide::Rows);
                        epilogue(cx, j, cols, acc);
                    };
                    let full = width / QNR;
                    cx.for_static(0, i64_of(full), 1, |cx, j| panel(cx, j, QNR));
                    if !width.is_multiple_of(QNR) {
                        let j = cx.iconst(i64_of(full));
                        panel(cx, j, width % QNR);
                    }
                }
            };
            let by_width = |cx: &mut KernelCx, mr: usize| {
                if n_blocks == 1 {
                    panels(cx, mr, last_cols);
                } else {
                    cx.if_else(is_last_block, |cx| panels(cx, mr, last_cols), |cx| panels(cx, mr, block_cols));
                }
            };
            if tail_rows == QMR {
                by_width(cx, QMR);
            } else if m_tiles == 1 {
                by_width(cx, tail_rows);
            } else {
                let last = cx.b.ins().icmp_imm_s(IntCC::Equal, mt, i64_of(m_tiles - 1));
                cx.if_else(last, |cx| by_width(cx, tail_rows), |cx| by_width(cx, QMR));
            }
        });
    });
    let scratch_bytes = if uk.is_some() { s4_off + QMR * QNB * 4 } else { s1_bytes + s2_bytes + 4 * ld };
    KernelInfo { work_items: blocks.work_items(geo), scratch_bytes }
}
