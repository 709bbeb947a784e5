//! `QMatMul` (all epilogues) and `MatMulInteger` on the int8 microkernel of [`super::qgemm`].
//!
//! `a` (`u8`/`i8`, `[batch…, M, K]`, run time) is the broadcast operand, `b` (`u8`/`i8`
//! constant `[batch…, K, N]`) the column panels. `a` is stored as `u8` (an `i8` `a` is
//! flipped by `^ 0x80`, its zero point moved by 128), `b` as `i8` (a `u8` `b` is moved by
//! −128). With `za`, `zb[n]` the zero points in those domains:
//!
//! ```text
//! acc[m, n] = Σ a·b  + cterm[n] − zb[n]·rowsum(a)[m]
//! cterm[n]  = bias[n] − za·colsum(b)[n] + K·za·zb[n]          (compile time)
//! ```
//!
//! `rowsum(a)` is computed only when some `zb[n] ≠ 0` (symmetric `i8` weights and `u8`
//! weights with zero point 128 need none).
//!
//! `MatMulInteger` whose `a_zero_point` is a run-time scalar (dynamic quantization:
//! `DynamicQuantizeLinear → MatMulInteger`) keeps `za` out of `cterm` and subtracts
//! `za·csum'[n]` in the epilogue instead, `csum'[n] = colsum(b)[n] − K·zb[n]` (compile time),
//! with `za` read once per work item.
//!
//! Packed constant (input 1): per batch matrix `[panels: packed_panels_len(K, N, nr)][cterm:
//! i32 × N8]`, then `[zb: i32 × N8]` (when needed) and the per-column parameter table
//! ([`super::qparams::param_table`]), `N8 = ceil(N/8)·8`. The panels are 8 columns wide
//! for the CLIF microkernel and 16 wide when the AVX-512 VNNI ukernel
//! ([`crate::ukernels::QgemmArgs`]) is used.
//!
//! Work item: one 4-row tile × one block of up to [`QNB`] columns × one batch index,
//! `item = (batch · n_blocks + block) · m_tiles + m_tile`. Each item packs its 4 rows of `a`
//! into scratch (`[K/4][4][4]` + the 4 row sums), then runs the tiles of its block: the CLIF
//! tile ([`super::qgemm::emit_dot_tile`]) per 8 columns followed by the epilogue, or one
//! ukernel call for the whole block into an `i32` scratch block that the same epilogue then
//! reads 4 × 8 at a time.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use int8xc_ir::{DType, QMatMulAttrs};

use super::elementwise::broadcast_strides;
use super::matmul::{matmul_geometry, GemmItem, MatMulGeometry};
use super::qgemm::{
    dot4, emit_dot_tile, emit_epilogue, out_bytes, shuffle, splat_i32, ChannelAxis, QCTile, QEpilogue, QOutKind,
    SignedSide, FIXED_ENTRY_BYTES,
};
use super::qgemm_call::{emit_qgemm_call, fused_requant, load_acc_block, FusedRequant};
use super::qparams::{byte_delta, const_ints, param_table, per_channel, requant_out};
use super::quantize::load_int;
use super::{i64_of, KernelCx, KernelInfo};
use crate::pack_i8::{col_sums, pack_panels_k4, packed_panels_len, push_i32s, IntMatrix, KG, QMR, QNR};
use crate::ukernels::{QgemmArgs, UkernelImports};
use crate::JitError;

/// Columns per work item (a multiple of [`QNR`]); a `K × 256` block of `b` is L2-resident.
pub(crate) const QNB: usize = 256;

/// Everything the emitter needs, validated.
struct QGemmPlan {
    m: usize,
    n: usize,
    k: usize,
    batch: Vec<usize>,
    /// Byte strides of `a` per output batch dim.
    a_batch: Vec<i64>,
    /// Byte strides of the packed `b` blocks per output batch dim.
    b_batch: Vec<i64>,
    /// `a` is `i8` (flip to `u8`).
    a_flip: bool,
    need_rsum: bool,
    out: QOutKind,
    /// Byte offset of the shared tables (`zb`, then the parameter table).
    shared: i64,
    /// The AVX-512 VNNI ukernel, when the dot products run on it (16-column panels).
    uk: Option<UkernelImports>,
    /// `Some(a_delta)`: `za` is the run-time scalar input 2, shifted by `a_delta` into the
    /// stored domain; each packed `b` matrix then carries `csum'` after `cterm`.
    za_runtime: Option<i64>,
}

/// `(a_zero_point, b_zero_points per column, b scales or empty)` of the operands.
struct Operands {
    za: i64,
    zb: Vec<i64>,
    /// `za` is the run-time scalar input 2 (`za` above is then unused).
    za_runtime: bool,
}

/// `QMatMul`: see [`int8xc_ir::Op::QMatMul`].
pub(crate) fn lower_qmatmul(cx: &mut KernelCx, attrs: &QMatMulAttrs) -> Result<KernelInfo, JitError> {
    if cx.constant(1).is_none() {
        return super::qmatmul_runtime::lower_qmatmul_runtime_b(cx, attrs);
    }
    cx.expect_arity(2..=3, 1)?;
    let (ta, tb) = (cx.in_ty(0)?, cx.in_ty(1)?);
    let bad = |what: &str| JitError::unsupported(cx.node, format!("{what} must have quantization parameters"));
    let qa = ta.quant.as_ref().ok_or_else(|| bad("a"))?;
    let qb = tb.quant.as_ref().ok_or_else(|| bad("b"))?;
    if !qa.is_per_tensor() || qb.block_size.is_some() || qb.axis.is_some_and(|ax| ax + 1 != tb.rank()) {
        return Err(JitError::unsupported(cx.node, "QMatMul needs per-tensor a and per-tensor or per-column b"));
    }
    let n = tb.shape.last().copied().unwrap_or(1);
    let zb: Vec<i64> = qb.zero_point.iter().map(|&z| i64::from(z)).collect();
    let ops =
        Operands { za: i64::from(qa.zero_point[0]), zb: per_channel(cx, &zb, n, "b zero point")?, za_runtime: false };
    let out = match &attrs.requant {
        Some(r) => requant_out(cx, r)?,
        None if cx.out_ty(0)?.dtype == DType::F32 => QOutKind::F32,
        None => return Err(JitError::invalid(cx.node, "QMatMul without requant must output f32")),
    };
    let params =
        param_table(out, attrs.requant.as_ref(), attrs.alpha, qa.scale[0], &qb.scale, n, n.div_ceil(QNR) * QNR);
    let bias = const_ints(cx, 2, "QMatMul bias")?;
    if let Some(b) = &bias {
        let ok = cx.in_ty(2)?.shape.iter().rev().skip(1).all(|&d| d == 1);
        if !ok || !(b.len() == 1 || b.len() == n) {
            return Err(JitError::unsupported(cx.node, "QMatMul bias must be a per-column [N] constant"));
        }
    }
    lower(cx, ops, bias, out, params)
}

/// `MatMulInteger` (ONNX opset 10) with constant `b` and `b_zero_point`; `a_zero_point` a
/// constant (the same for every row) or a run-time scalar.
pub(crate) fn lower_matmul_integer(cx: &mut KernelCx) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=4, 1)?;
    if cx.out_ty(0)?.dtype != DType::I32 {
        return Err(JitError::invalid(cx.node, "MatMulInteger output must be i32"));
    }
    let tb = cx.in_ty(1)?;
    let n = if tb.rank() == 1 { 1 } else { tb.shape.last().copied().unwrap_or(1) };
    let za_runtime = cx.node.inputs.len() > 2 && cx.constant(2).is_none();
    let za = if za_runtime {
        if cx.in_ty(2)?.numel() != 1 {
            return Err(JitError::unsupported(cx.node, "MatMulInteger with a run-time per-row a_zero_point"));
        }
        vec![0]
    } else {
        const_ints(cx, 2, "a_zero_point")?.unwrap_or_else(|| vec![0])
    };
    if za.iter().any(|&z| Some(&z) != za.first()) || za.is_empty() {
        return Err(JitError::unsupported(cx.node, "MatMulInteger with per-row a_zero_point"));
    }
    let zb = const_ints(cx, 3, "b_zero_point")?.unwrap_or_else(|| vec![0]);
    let ops = Operands { za: za[0], zb: per_channel(cx, &zb, n, "b_zero_point")?, za_runtime };
    lower(cx, ops, None, QOutKind::I32, Vec::new())
}

fn lower(
    cx: &mut KernelCx,
    ops: Operands,
    bias: Option<Vec<i64>>,
    out: QOutKind,
    params: Vec<u8>,
) -> Result<KernelInfo, JitError> {
    let (ta, tb) = (cx.in_ty(0)?, cx.in_ty(1)?);
    let MatMulGeometry { m, k, n, batch_a, batch_b, batch } = matmul_geometry(cx)?;
    if ops.zb.len() != n {
        return Err(JitError::invalid(cx.node, "b zero points do not match N"));
    }
    let a_delta = byte_delta(cx, "a", ta.dtype, false)?;
    let b_delta = byte_delta(cx, "b", tb.dtype, true)?;
    if a_delta == 128 && b_delta != 0 {
        return Err(JitError::unsupported(cx.node, "i8 a with u8 b (ONNX Runtime rejects it too)"));
    }
    let Some(bdata) = cx.constant(1).and_then(|t| t.to_i64_vec()) else {
        return Err(JitError::unsupported(cx.node, "int8 MatMul with a run-time (non-constant) b"));
    };
    // With a run-time za, cterm holds no za terms (see the module docs).
    let za = if ops.za_runtime { 0 } else { ops.za + a_delta };
    let zb: Vec<i64> = ops.zb.iter().map(|&z| z + b_delta).collect();
    let need_rsum = zb.iter().any(|&z| z != 0);
    let n8 = n.div_ceil(QNR) * QNR;
    let uk = cx.target.qgemm_ukernel().cloned();
    let nr = if uk.is_some() { QgemmArgs::NR } else { QNR };
    let mats: usize = batch_b.iter().product();
    let mut packed = Vec::new();
    for i in 0..mats {
        let view = IntMatrix { data: &bdata, rows: k, cols: n, rs: n, cs: 1, offset: i * k * n };
        pack_panels_k4(&view, b_delta, nr, &mut packed);
        let cs = col_sums(&view, b_delta, true);
        let cterm: Vec<i32> = (0..n)
            .map(|c| {
                let bias_c = bias.as_ref().map_or(0, |b| b[if b.len() == 1 { 0 } else { c }]) as i32;
                let corr = (k as i64 * za * zb[c]) as i32;
                bias_c.wrapping_sub((za as i32).wrapping_mul(cs[c])).wrapping_add(corr)
            })
            .collect();
        push_i32s(&mut packed, &cterm, n8, 0);
        if ops.za_runtime {
            let csum: Vec<i32> = (0..n).map(|c| cs[c].wrapping_sub((k as i64 * zb[c]) as i32)).collect();
            push_i32s(&mut packed, &csum, n8, 0);
        }
    }
    let tables = if ops.za_runtime { 2 } else { 1 };
    let block = i64_of(packed_panels_len(k, n, nr) + tables * 4 * n8);
    let shared = i64_of(packed.len());
    if need_rsum {
        let z: Vec<i32> = zb.iter().map(|&z| z as i32).collect();
        push_i32s(&mut packed, &z, n8, 0);
    }
    packed.extend_from_slice(&params);
    cx.pack_input(1, packed);
    let strides = |own: &[usize], unit: i64| -> Vec<i64> {
        broadcast_strides(own, &batch).unwrap_or_default().into_iter().map(|s| s * unit).collect()
    };
    let plan = QGemmPlan {
        m,
        n,
        k,
        a_batch: strides(batch_a, i64_of(m * k)),
        b_batch: strides(batch_b, block),
        batch,
        a_flip: a_delta != 0,
        need_rsum,
        out,
        shared,
        uk,
        za_runtime: ops.za_runtime.then_some(a_delta),
    };
    Ok(emit(cx, &plan))
}

/// Packs rows `a[r, 0..k]` (`r < 4`; row `r` at `rows[r]`) into `dst` as `[ceil(k/4)][4][4]`
/// bytes, `^ 0x80` when `flip`, zero-padding `k` to a multiple of 4.
pub(crate) fn emit_pack_rows(cx: &mut KernelCx, rows: [Value; 4], k: usize, flip: bool, dst: Value) {
    let sign = if flip { Some(cx.b.ins().iconst(types::I8, -128)) } else { None };
    let sign_v = sign.map(|s| cx.b.ins().splat(types::I8X16, s));
    let chunks = k / 16;
    cx.for_static(0, i64_of(chunks), 1, |cx, q| {
        let off = cx.b.ins().imul_imm_s(q, 16);
        let mut r = [off; 4];
        for (i, &row) in rows.iter().enumerate() {
            let p = cx.b.ins().iadd(row, off);
            let v = cx.load(types::I8X16, p, 0);
            r[i] = match sign_v {
                Some(s) => cx.b.ins().bxor(v, s),
                None => v,
            };
        }
        // 4 × 4 transpose of 32-bit words.
        let lo32 = [0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23];
        let hi32 = [8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31];
        let lo64 = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
        let hi64 = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];
        let t0 = shuffle(cx, r[0], r[1], lo32);
        let t1 = shuffle(cx, r[0], r[1], hi32);
        let t2 = shuffle(cx, r[2], r[3], lo32);
        let t3 = shuffle(cx, r[2], r[3], hi32);
        let g = [
            shuffle(cx, t0, t2, lo64),
            shuffle(cx, t0, t2, hi64),
            shuffle(cx, t1, t3, lo64),
            shuffle(cx, t1, t3, hi64),
        ];
        let d = cx.b.ins().imul_imm_s(q, 64);
        let d = cx.b.ins().iadd(dst, d);
        for (i, &v) in g.iter().enumerate() {
            cx.store(v, d, 16 * i as i32);
        }
    });
    let k4 = k.div_ceil(KG) * KG;
    for j in chunks * 16..k4 {
        let off = i64_of((j / KG) * QMR * KG + j % KG);
        for (r, &row) in rows.iter().enumerate() {
            let v = if j < k {
                let v = cx.load(types::I8, row, j as i32);
                match sign {
                    Some(s) => cx.b.ins().bxor(v, s),
                    None => v,
                }
            } else {
                cx.b.ins().iconst(types::I8, 0)
            };
            cx.store(v, dst, (off + i64_of(r * KG)) as i32);
        }
    }
}

/// Row sums of a packed row tile (`groups` groups at `tile`), stored as 4 `i32` at `dst`.
pub(crate) fn emit_tile_row_sums(cx: &mut KernelCx, tile: Value, groups: usize, dst: Value) {
    let ones = {
        let one = cx.b.ins().iconst(types::I8, 1);
        cx.b.ins().splat(types::I8X16, one)
    };
    let zero = splat_i32(cx, 0);
    let acc = cx.b.declare_var(types::I32X4);
    cx.b.def_var(acc, zero);
    cx.for_static(0, i64_of(groups), 1, |cx, g| {
        let off = cx.b.ins().imul_imm_s(g, 16);
        let p = cx.b.ins().iadd(tile, off);
        let v = cx.load(types::I8X16, p, 0);
        let cur = cx.b.use_var(acc);
        let nx = dot4(cx, ones, v, cur);
        cx.b.def_var(acc, nx);
    });
    let v = cx.b.use_var(acc);
    cx.store(v, dst, 0);
}

fn emit(cx: &mut KernelCx, p: &QGemmPlan) -> KernelInfo {
    let batches: usize = p.batch.iter().product();
    if batches == 0 || p.m == 0 || p.n == 0 {
        return KernelInfo::default();
    }
    let (m, n, k) = (p.m, p.n, p.k);
    let groups = k.div_ceil(KG);
    let m_tiles = m.div_ceil(QMR);
    let n_blocks = n.div_ceil(QNB);
    let last_width = n - (n_blocks - 1) * QNB;
    let ob = out_bytes(p.out);
    let n8 = n.div_ceil(QNR) * QNR;
    let (a_base, b_base, c_base, scratch) = (cx.input(0), cx.input(1), cx.output(0), cx.scratch());
    let rsum_ptr = cx.b.ins().iadd_imm_s(scratch, i64_of(groups * 16));
    // The run-time za splat over the tile's rows (a `Rows` table for the epilogue).
    let za_ptr = cx.b.ins().iadd_imm_s(scratch, i64_of(groups * 16 + 16));
    // The ukernel's i32 block `[QMR][QNB]`, 64-byte aligned after the row tile and tables.
    let c_block_off = (groups * 16 + 32).div_ceil(64) * 64;
    let c_block = cx.b.ins().iadd_imm_s(scratch, i64_of(c_block_off));
    let zb_off = p.shared;
    let params_off = p.shared + if p.need_rsum { i64_of(4 * n8) } else { 0 };
    let entry = match p.out {
        QOutKind::RequantFixed { .. } => FIXED_ENTRY_BYTES as i64,
        _ => 4,
    };
    let za_input = p.za_runtime.map(|_| cx.input(2));
    let za_signed = cx.in_ty(2).is_ok_and(|t| t.dtype == DType::I8);
    cx.for_items(|cx, item| {
        if let (Some(src), Some(delta)) = (za_input, p.za_runtime) {
            // za (stored domain) for every row of the tile.
            let z = load_int(cx, types::I8, za_signed, src);
            let z = cx.b.ins().iadd_imm_s(z, delta);
            let v = cx.b.ins().splat(types::I32X4, z);
            cx.store(v, za_ptr, 0);
        }
        let GemmItem { mt, nb, bt, idx, m0, n0 } =
            GemmItem::decode(cx, item, (m_tiles, QMR), (n_blocks, QNB), &p.batch);
        // Pack this item's 4 rows of a (rows past M read row m0 again; they are not stored).
        let a_off = cx.dot_strides(&idx, &p.a_batch);
        let a0 = {
            let r = cx.b.ins().imul_imm_s(m0, i64_of(k));
            let t = cx.b.ins().iadd(a_off, r);
            cx.b.ins().iadd(a_base, t)
        };
        let mut rows = [a0; 4];
        for (r, row) in rows.iter_mut().enumerate().skip(1) {
            let mr = cx.b.ins().iadd_imm_s(m0, r as i64);
            let inside = cx.b.ins().icmp_imm_s(IntCC::SignedLessThan, mr, i64_of(m));
            let pr = cx.b.ins().iadd_imm_s(a0, i64_of(r * k));
            *row = cx.b.ins().select(inside, pr, a0);
        }
        emit_pack_rows(cx, rows, k, p.a_flip, scratch);
        if p.need_rsum {
            emit_tile_row_sums(cx, scratch, groups, rsum_ptr);
        }
        let b_mat = {
            let off = cx.dot_strides(&idx, &p.b_batch);
            cx.b.ins().iadd(b_base, off)
        };
        let c_row = {
            let bi = cx.b.ins().imul_imm_s(bt, i64_of(m * n * ob));
            let r = cx.b.ins().imul_imm_s(m0, i64_of(n * ob));
            let t = cx.b.ins().iadd(bi, r);
            cx.b.ins().iadd(c_base, t)
        };
        let block = |cx: &mut KernelCx, mr: usize, width: usize| {
            if let Some(uk) = &p.uk {
                // Panel `n0 / 16` starts at byte `(n0 / 16)·groups·64 = n0·groups·4`.
                let b = {
                    let off = cx.b.ins().imul_imm_s(n0, i64_of(groups * KG));
                    cx.b.ins().iadd(b_mat, off)
                };
                if let Some((zp, lo, hi)) = fused_requant(p.out) {
                    // The ukernel requantizes and stores the block itself.
                    let c4 = cx.b.ins().imul_imm_s(n0, 4);
                    let at = |cx: &mut KernelCx, base: Value, off: i64| {
                        let t = cx.b.ins().iadd_imm_s(base, off);
                        cx.b.ins().iadd(t, c4)
                    };
                    let nr = QgemmArgs::NR;
                    let fused = FusedRequant {
                        rows: mr,
                        rterm: None,
                        cterm: Some(at(cx, b_mat, i64_of(packed_panels_len(k, n, nr)))),
                        rz_csum: None,
                        cz_rsum: if p.need_rsum { Some((at(cx, b_base, zb_off), rsum_ptr)) } else { None },
                        scale: at(cx, b_base, params_off),
                        per_col: true,
                        zp_lo_hi: (zp, lo, hi),
                        y: cx.b.ins().iadd(c_row, n0),
                        ldy: n,
                    };
                    emit_qgemm_call(cx, uk, (scratch, b, c_block), width, groups, 0, QNB, Some(&fused));
                    return;
                }
                emit_qgemm_call(cx, uk, (scratch, b, c_block), width, groups, 0, QNB, None);
            }
            let panel = |cx: &mut KernelCx, col: Value, cols: usize| {
                // col: first column of the panel (multiple of 8).
                let acc = if p.uk.is_some() {
                    let local = cx.b.ins().isub(col, n0);
                    let panel = cx.b.ins().udiv_imm_u(local, QNR as i64);
                    load_acc_block(cx, c_block, panel)
                } else {
                    let cols_ptr = {
                        let off = cx.b.ins().imul_imm_s(col, i64_of(groups * KG));
                        cx.b.ins().iadd(b_mat, off)
                    };
                    emit_dot_tile(cx, scratch, cols_ptr, groups, SignedSide::Cols)
                };
                let c4 = cx.b.ins().imul_imm_s(col, 4);
                let cterm = {
                    let nr = if p.uk.is_some() { QgemmArgs::NR } else { QNR };
                    let t = cx.b.ins().iadd_imm_s(b_mat, i64_of(packed_panels_len(k, n, nr)));
                    cx.b.ins().iadd(t, c4)
                };
                let cz_rsum = if p.need_rsum {
                    let t = cx.b.ins().iadd_imm_s(b_base, zb_off);
                    Some((cx.b.ins().iadd(t, c4), rsum_ptr))
                } else {
                    None
                };
                let params = if matches!(p.out, QOutKind::I32) {
                    None
                } else {
                    let t = cx.b.ins().iadd_imm_s(b_base, params_off);
                    let o = cx.b.ins().imul_imm_s(col, entry);
                    Some(cx.b.ins().iadd(t, o))
                };
                // csum' follows cterm in the block (run-time za only).
                let rz_csum = p.za_runtime.map(|_| (za_ptr, cx.b.ins().iadd_imm_s(cterm, i64_of(4 * n8))));
                let ep = QEpilogue {
                    axis: ChannelAxis::Cols,
                    rterm: None,
                    cterm: Some(cterm),
                    rz_csum,
                    cz_rsum,
                    params,
                    out: p.out,
                };
                let cp = {
                    let o = cx.b.ins().imul_imm_s(col, i64_of(ob));
                    cx.b.ins().iadd(c_row, o)
                };
                emit_epilogue(cx, &acc, mr, cols, &ep, QCTile { ptr: cp, ldc: i64_of(n) });
            };
            let full = width / QNR;
            cx.for_static(0, i64_of(full), 1, |cx, j| {
                let c = cx.b.ins().imul_imm_s(j, QNR as i64);
                let col = cx.b.ins().iadd(n0, c);
                panel(cx, col, QNR);
            });
            if !width.is_multiple_of(QNR) {
                let col = cx.b.ins().iadd_imm_s(n0, i64_of(full * QNR));
                panel(cx, col, width % QNR);
            }
        };
        let rows_of = |cx: &mut KernelCx, mr: usize| {
            if n_blocks == 1 {
                block(cx, mr, last_width);
            } else {
                let is_last = cx.b.ins().icmp_imm_s(IntCC::Equal, nb, i64_of(n_blocks - 1));
                cx.if_else(is_last, |cx| block(cx, mr, last_width), |cx| block(cx, mr, QNB));
            }
        };
        let tail_rows = m - (m_tiles - 1) * QMR;
        if tail_rows == QMR {
            rows_of(cx, QMR);
        } else if m_tiles == 1 {
            rows_of(cx, tail_rows);
        } else {
            let is_last = cx.b.ins().icmp_imm_s(IntCC::Equal, mt, i64_of(m_tiles - 1));
            cx.if_else(is_last, |cx| rows_of(cx, tail_rows), |cx| rows_of(cx, QMR));
        }
    });
    let scratch_bytes = if p.uk.is_some() { c_block_off + QMR * QNB * 4 } else { groups * 16 + 32 };
    KernelInfo { work_items: batches * n_blocks * m_tiles, scratch_bytes }
}

#[cfg(test)]
mod tests {
    use cranelift_codegen::ir::UserFuncName;
    use cranelift_codegen::Context;
    use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
    use int8xc_ir::{Data, Graph, Op, QMatMulAttrs, QuantParams, Requant, RequantMode, TensorData, TensorType};

    use crate::kernels::{kernel_signature, lower_node, KernelCx};
    use crate::target::{host_isa, IsaConfig, TargetFeatures};
    use crate::OptLevel;

    /// Prints the machine code of a small QMatMul kernel (run with `--nocapture` to read the
    /// inner loop; on AVX-512VNNI hosts it holds `vpdpbusd` and no widening multiplies).
    #[test]
    fn qmatmul_kernel_disassembly_uses_vpdpbusd_on_vnni_hosts() {
        let mut g = Graph::new("d");
        let a_ty = TensorType {
            quant: Some(QuantParams::per_tensor(0.02, 3)),
            ..TensorType::new(int8xc_ir::DType::U8, vec![4, 64])
        };
        let x = g.add_input("a", a_ty);
        let w = g.add_const("w", TensorData::new(vec![64, 8], Data::I8(vec![1; 512])).unwrap());
        g.values[w.index()].ty.quant = Some(QuantParams::per_tensor(0.01, 0));
        let r = Requant {
            mode: RequantMode::F32Multiplier,
            out_dtype: int8xc_ir::DType::U8,
            out_scale: 0.1,
            out_zero_point: 0,
            clamp: None,
        };
        let y = g.add_node("y", Op::QMatMul(QMatMulAttrs { alpha: 1.0, requant: Some(r) }), vec![x, w]).unwrap()[0];
        g.outputs.push(y);
        let isa = host_isa(IsaConfig { opt_level: OptLevel::None, pic: false, verify: true }).unwrap();
        let target = TargetFeatures::new(isa.clone());
        let mut ctx = Context::new();
        ctx.func.signature = kernel_signature(isa.pointer_type(), isa.default_call_conv());
        ctx.func.name = UserFuncName::user(0, 0);
        let mut fbc = FunctionBuilderContext::new();
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fbc);
            let mut cx = KernelCx::new(&mut b, &g, &g.nodes[0], &target);
            lower_node(&mut cx).unwrap();
            cx.finish();
            b.finalize(isa.frontend_config());
        }
        ctx.set_disasm(true);
        let code = ctx.compile(&*isa, &mut Default::default()).unwrap();
        let text = code.vcode.clone().unwrap_or_default();
        println!("{text}");
        let vnni = std::is_x86_feature_detected!("avx512vnni") || std::is_x86_feature_detected!("avxvnni");
        if vnni {
            assert!(text.contains("vpdpbusd"), "no vpdpbusd in:\n{text}");
        }
    }
}
