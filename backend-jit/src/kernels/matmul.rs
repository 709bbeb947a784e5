//! `MatMul` (numpy semantics, batch broadcast, rank-1 operands) and `Gemm`, on the register-
//! tiled microkernel of [`super::gemm`].
//!
//! Constant operands are packed at compile time ([`crate::pack`]): a constant B (the usual
//! weight `[K, N]`) into `[N/8][K][8]` panels, a constant A into `[M/4][K][4]` tiles; `Gemm`'s
//! transposes are absorbed by the packing (or by the strides of a run-time A).
//!
//! Work item: one 4-row tile × one block of up to [`NB`] columns × one batch index:
//! `item = (batch · n_blocks + block) · m_tiles + m_tile` (row tiles vary fastest, so
//! consecutive items reuse the same B block from cache).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, Value};
use int8xc_ir::GemmAttrs;

use super::elementwise::broadcast_strides;
use super::gemm::{emit_columns, ATile, BBlock, BiasTile, CTile, Epilogue};
use super::{i64_of, require_f32, KernelCx, KernelInfo};
use crate::pack::{pack_a_tiles, pack_b_panels, MatrixView, MR, NR};
use crate::ukernels::call::{emit_sgemm_call, Operand, SgemmCall};
use crate::ukernels::UkernelImports;
use crate::JitError;

/// Columns per work item (a multiple of [`NR`]).
pub(crate) const NB: usize = 128;

/// How the GEMM reads A for batch index `b`: byte offset `Σ idx[d] · batch[d]`.
#[derive(Clone, Debug)]
pub(crate) enum GemmA {
    /// Input `input` packed by [`pack_a`] (one packed matrix per batch).
    Packed { input: usize, batch: Vec<i64> },
    /// Input `input` at run time: `A[m, k]` at `(m·rs + k·cs)·4`.
    Strided { input: usize, rs: i64, cs: i64, batch: Vec<i64> },
}

/// How the GEMM reads B.
#[derive(Clone, Debug)]
pub(crate) enum GemmB {
    /// Input `input` packed by [`pack_b`].
    Packed { input: usize, batch: Vec<i64> },
    /// Input `input` at run time: `B[k, n]` at `(k·rs + n)·4`.
    Strided { input: usize, rs: i64, batch: Vec<i64> },
}

/// A (batched) GEMM `C = alpha·A·B + beta·bias` with dense row-major `C [batch…, M, N]` in
/// output 0.
#[derive(Clone, Debug)]
pub(crate) struct GemmSpec {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// Output batch dims.
    pub batch: Vec<usize>,
    pub a: GemmA,
    pub b: GemmB,
    pub alpha: f32,
    /// `(input, rs, cs, beta)`: bias element `(m, n)` at `(m·rs + n·cs)·4`, same for every batch.
    pub bias: Option<(usize, i64, i64, f32)>,
}

/// Emits the work-item loop of a GEMM; returns the kernel info.
pub(crate) fn emit_gemm(cx: &mut KernelCx, s: &GemmSpec) -> KernelInfo {
    let batches: usize = s.batch.iter().product();
    if batches == 0 || s.m == 0 || s.n == 0 {
        return KernelInfo::default();
    }
    let m_tiles = s.m.div_ceil(MR);
    let n_blocks = s.n.div_ceil(NB);
    let last_width = s.n - (n_blocks - 1) * NB;
    let c_base = cx.output(0);
    cx.for_items(|cx, item| {
        let GemmItem { mt, nb, bt, idx, m0, n0 } = GemmItem::decode(cx, item, (m_tiles, MR), (n_blocks, NB), &s.batch);
        // A tile.
        let a = match &s.a {
            GemmA::Packed { input, batch } => {
                let off = cx.dot_strides(&idx, batch);
                let t = cx.b.ins().imul_imm_s(mt, i64_of(s.k * MR * 4));
                let p = {
                    let base = cx.input(*input);
                    cx.b.ins().iadd(base, off)
                };
                ATile::Packed { ptr: cx.b.ins().iadd(p, t) }
            }
            GemmA::Strided { input, rs, cs, batch } => {
                let off = cx.dot_strides(&idx, batch);
                let r = cx.b.ins().imul_imm_s(m0, rs * 4);
                let p = {
                    let base = cx.input(*input);
                    cx.b.ins().iadd(base, off)
                };
                ATile::Strided { ptr: cx.b.ins().iadd(p, r), rs: *rs, cs: *cs }
            }
        };
        let b = match &s.b {
            GemmB::Packed { input, batch } => {
                let off = cx.dot_strides(&idx, batch);
                let t = cx.b.ins().imul_imm_s(n0, i64_of(s.k * 4));
                let p = {
                    let base = cx.input(*input);
                    cx.b.ins().iadd(base, off)
                };
                BBlock::Packed { ptr: cx.b.ins().iadd(p, t), k: s.k }
            }
            GemmB::Strided { input, rs, batch } => {
                let off = cx.dot_strides(&idx, batch);
                let t = cx.b.ins().imul_imm_s(n0, 4);
                let p = {
                    let base = cx.input(*input);
                    cx.b.ins().iadd(base, off)
                };
                BBlock::Strided { ptr: cx.b.ins().iadd(p, t), rs: *rs, padded: false }
            }
        };
        let c_off = {
            let bi = cx.b.ins().imul_imm_s(bt, i64_of(s.m * s.n * 4));
            let r = cx.b.ins().imul_imm_s(m0, i64_of(s.n * 4));
            let col = cx.b.ins().imul_imm_s(n0, 4);
            let t = cx.b.ins().iadd(bi, r);
            cx.b.ins().iadd(t, col)
        };
        let c = CTile { ptr: cx.b.ins().iadd(c_base, c_off), ldc: i64_of(s.n) };
        let bias = s.bias.map(|(input, rs, cs, beta)| {
            let r = cx.b.ins().imul_imm_s(m0, rs * 4);
            let col = cx.b.ins().imul_imm_s(n0, cs * 4);
            let off = cx.b.ins().iadd(r, col);
            BiasTile {
                ptr: {
                    let base = cx.input(input);
                    cx.b.ins().iadd(base, off)
                },
                rs,
                cs,
                beta,
            }
        });
        let ep = Epilogue { alpha: s.alpha, bias };
        let (k, m) = (s.k, s.m);
        let rows = |cx: &mut KernelCx, mr: usize| {
            if n_blocks == 1 {
                emit_columns(cx, k, mr, last_width, a, b, c, &ep);
            } else {
                let is_last = cx.b.ins().icmp_imm_s(IntCC::Equal, nb, i64_of(n_blocks - 1));
                cx.if_else(
                    is_last,
                    |cx| emit_columns(cx, k, mr, last_width, a, b, c, &ep),
                    |cx| emit_columns(cx, k, mr, NB, a, b, c, &ep),
                );
            }
        };
        let tail_rows = m - (m_tiles - 1) * MR;
        if tail_rows == MR {
            rows(cx, MR);
        } else if m_tiles == 1 {
            rows(cx, tail_rows);
        } else {
            let is_last: Value = cx.b.ins().icmp_imm_s(IntCC::Equal, mt, i64_of(m_tiles - 1));
            cx.if_else(is_last, |cx| rows(cx, tail_rows), |cx| rows(cx, MR));
        }
    });
    KernelInfo { work_items: batches * n_blocks * m_tiles, scratch_bytes: 0 }
}

/// Register tiles per work item of the ukernel path: rows (`UK_M_TILES · MR`) and columns
/// (`UK_N_TILES · NR`). A block of A (≤ 128 rows) stays in L2 while the B panels stream past.
const UK_M_TILES: usize = 16;
const UK_N_TILES: usize = 8;

/// [`emit_gemm`] on the ukernel: work item `item = (batch · n_blocks + n_block) · m_blocks +
/// m_block` is one call computing a block of up to `UK_M_TILES · MR` rows and `UK_N_TILES ·
/// NR` columns (the ukernel handles the tiles and edges inside). Requires `alpha == 1`, a
/// bias (if any) with `beta == 1` and column stride 0 or 1, and a unit column stride of a
/// run-time A (checked by the callers); constant operands packed for the ukernel's tile.
pub(crate) fn emit_gemm_ukernel(cx: &mut KernelCx, s: &GemmSpec, uk: &UkernelImports) -> KernelInfo {
    let batches: usize = s.batch.iter().product();
    if batches == 0 || s.m == 0 || s.n == 0 {
        return KernelInfo::default();
    }
    let (mr, nr) = (uk.sgemm.mr, uk.sgemm.nr);
    let (mb, nb) = (UK_M_TILES * mr, UK_N_TILES * nr);
    let (m_blocks, n_blocks) = (s.m.div_ceil(mb), s.n.div_ceil(nb));
    let (m, n, k) = (i64_of(s.m), i64_of(s.n), i64_of(s.k));
    let c_base = cx.output(0);
    cx.for_items(|cx, item| {
        let mb_n = cx.iconst(i64_of(m_blocks));
        let mblk = cx.b.ins().urem(item, mb_n);
        let rest = cx.b.ins().udiv(item, mb_n);
        let nb_n = cx.iconst(i64_of(n_blocks));
        let nblk = cx.b.ins().urem(rest, nb_n);
        let bt = cx.b.ins().udiv(rest, nb_n);
        let idx = cx.unravel(bt, &s.batch);
        let i0 = cx.b.ins().imul_imm_s(mblk, i64_of(mb));
        let j0 = cx.b.ins().imul_imm_s(nblk, i64_of(nb));
        let left = |cx: &mut KernelCx, total: i64, start: Value, block: usize| {
            let t = cx.iconst(total);
            let l = cx.b.ins().isub(t, start);
            let blk = cx.iconst(i64_of(block));
            Operand::Val(cx.b.ins().smin(l, blk))
        };
        let rows = if m_blocks == 1 { Operand::Imm(m) } else { left(cx, m, i0, mb) };
        let cols = if n_blocks == 1 { Operand::Imm(n) } else { left(cx, n, j0, nb) };
        let at = |cx: &mut KernelCx, input: usize, batch: &[i64], scaled: Value, bytes: i64| {
            let off = cx.dot_strides(&idx, batch);
            let base = cx.input(input);
            let p = cx.b.ins().iadd(base, off);
            let t = cx.b.ins().imul_imm_s(scaled, bytes);
            cx.b.ins().iadd(p, t)
        };
        // A packed: tile i0 / MR starts at (i0 / MR) · k · MR floats = i0 · k.
        let (a, lda, a_packed) = match &s.a {
            GemmA::Packed { input, batch } => (at(cx, *input, batch, i0, k * 4), 0, true),
            GemmA::Strided { input, rs, batch, .. } => (at(cx, *input, batch, i0, rs * 4), *rs, false),
        };
        // B packed: panel j0 / NR starts at (j0 / NR) · k · NR floats = j0 · k.
        let (b, ldb, b_panel) = match &s.b {
            GemmB::Packed { input, batch } => (at(cx, *input, batch, j0, k * 4), i64_of(nr), k * i64_of(nr)),
            GemmB::Strided { input, rs, batch } => (at(cx, *input, batch, j0, 4), *rs, i64_of(nr)),
        };
        let c = {
            let bi = cx.b.ins().imul_imm_s(bt, m * n * 4);
            let r = cx.b.ins().imul_imm_s(i0, n * 4);
            let col = cx.b.ins().imul_imm_s(j0, 4);
            let t = cx.b.ins().iadd(bi, r);
            let t = cx.b.ins().iadd(t, col);
            cx.b.ins().iadd(c_base, t)
        };
        let bias = s.bias.map(|(input, rs, cs, _beta)| {
            let r = cx.b.ins().imul_imm_s(i0, rs * 4);
            let col = cx.b.ins().imul_imm_s(j0, cs * 4);
            let off = cx.b.ins().iadd(r, col);
            let base = cx.input(input);
            (cx.b.ins().iadd(base, off), rs, cs)
        });
        let call = SgemmCall { a, lda, a_packed, b, ldb, b_panel, c, ldc: n, bias, m: rows, n: cols, k };
        emit_sgemm_call(cx, uk, &call);
    });
    KernelInfo { work_items: batches * n_blocks * m_blocks, scratch_bytes: 0 }
}

/// Numpy broadcast of two batch shapes, or `None`.
pub(crate) fn broadcast_batch(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    (0..r)
        .map(|i| {
            let da = if i < r - a.len() { 1 } else { a[i - (r - a.len())] };
            let db = if i < r - b.len() { 1 } else { b[i - (r - b.len())] };
            match (da, db) {
                (x, y) if x == y => Some(x),
                (1, y) => Some(y),
                (x, 1) => Some(x),
                _ => None,
            }
        })
        .collect()
}

/// One work item of a batched GEMM kernel, `item = (batch · n_blocks + n_block) · m_tiles +
/// m_tile`, decoded (pointer-sized run-time values; shared by the f32 and int8 MatMul kernels).
pub(crate) struct GemmItem {
    /// Row tile, column block, flat batch index and its per-dim indices.
    pub mt: Value,
    pub nb: Value,
    pub bt: Value,
    pub idx: Vec<Value>,
    /// First row (`mt · tile rows`) and first column (`nb · block columns`).
    pub m0: Value,
    pub n0: Value,
}

impl GemmItem {
    /// Decodes `item` for `(m_tiles, rows per tile)`, `(n_blocks, columns per block)` and the
    /// output batch dims `batch`.
    pub(crate) fn decode(
        cx: &mut KernelCx,
        item: Value,
        (m_tiles, mr): (usize, usize),
        (n_blocks, nb_cols): (usize, usize),
        batch: &[usize],
    ) -> GemmItem {
        let mt_n = cx.iconst(i64_of(m_tiles));
        let mt = cx.b.ins().urem(item, mt_n);
        let rest = cx.b.ins().udiv(item, mt_n);
        let nb_n = cx.iconst(i64_of(n_blocks));
        let nb = cx.b.ins().urem(rest, nb_n);
        let bt = cx.b.ins().udiv(rest, nb_n);
        let idx = cx.unravel(bt, batch);
        let m0 = cx.b.ins().imul_imm_s(mt, i64_of(mr));
        let n0 = cx.b.ins().imul_imm_s(nb, i64_of(nb_cols));
        GemmItem { mt, nb, bt, idx, m0, n0 }
    }
}

/// Register tile `(mr, nr)` of the GEMM a node is lowered to: the ukernel's when `uk` is
/// used, else the CLIF microkernel's.
fn tile_of(uk: Option<&UkernelImports>) -> (usize, usize) {
    uk.map_or((MR, NR), |u| (u.sgemm.mr, u.sgemm.nr))
}

/// Bytes of one `rows × cols` matrix packed as A (`is_a`, tiles of `tile.0` rows) or as B
/// (panels of `tile.1` columns).
fn packed_len(rows: usize, cols: usize, tile: (usize, usize), is_a: bool) -> usize {
    if is_a {
        rows.div_ceil(tile.0) * tile.0 * cols * 4
    } else {
        cols.div_ceil(tile.1) * tile.1 * rows * 4
    }
}

/// Packs every batch matrix of a constant `[batch…, rows, cols]` as A (`is_a`) or B for the
/// register tile `tile` (`transposed` reads each matrix as its transpose).
fn pack_batched(
    data: &[f32],
    mats: usize,
    (rows, cols): (usize, usize),
    transposed: bool,
    tile: (usize, usize),
    is_a: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..mats {
        let (rs, cs) = if transposed { (1, rows) } else { (cols, 1) };
        let v = MatrixView { data, rows, cols, rs, cs, offset: i * rows * cols };
        if is_a {
            pack_a_tiles(&v, tile.0, &mut out);
        } else {
            pack_b_panels(&v, tile.1, &mut out);
        }
    }
    out
}

/// The shapes of a numpy-`matmul` node (`a [..., M, K]`, `b [..., K, N]`, rank-1 operands
/// promoted and their added dimension dropped from the output), checked against its output
/// type. Shared by the f32 and the integer matmul kernels.
pub(crate) struct MatMulGeometry<'a> {
    /// Rows of `a`.
    pub m: usize,
    /// Reduction length.
    pub k: usize,
    /// Columns of `b`.
    pub n: usize,
    /// Batch dims of `a` (all but its last two).
    pub batch_a: &'a [usize],
    /// Batch dims of `b`.
    pub batch_b: &'a [usize],
    /// The broadcast batch dims of the output.
    pub batch: Vec<usize>,
}

/// Reads and validates the geometry of the matmul `cx.node` (inputs 0 and 1, output 0).
///
/// Errors: [`JitError::Invalid`] for a rank-0 operand, mismatched `K`, batch dims that do not
/// broadcast, or an output type other than the numpy `matmul` shape.
pub(crate) fn matmul_geometry<'a>(cx: &KernelCx<'a, '_>) -> Result<MatMulGeometry<'a>, JitError> {
    let (ta, tb, to) = (cx.in_ty(0)?, cx.in_ty(1)?, cx.out_ty(0)?);
    let (ra, rb) = (ta.rank(), tb.rank());
    if ra == 0 || rb == 0 {
        return Err(JitError::invalid(cx.node, format!("{} operands must have rank >= 1", cx.node.op.name())));
    }
    let (m, k) = if ra == 1 { (1, ta.shape[0]) } else { (ta.shape[ra - 2], ta.shape[ra - 1]) };
    let (k2, n) = if rb == 1 { (tb.shape[0], 1) } else { (tb.shape[rb - 2], tb.shape[rb - 1]) };
    let batch_a = &ta.shape[..ra.saturating_sub(2)];
    let batch_b = &tb.shape[..rb.saturating_sub(2)];
    let batch = broadcast_batch(batch_a, batch_b);
    let expected = batch.clone().map(|mut s| {
        if ra >= 2 {
            s.push(m);
        }
        if rb >= 2 {
            s.push(n);
        }
        s
    });
    if k != k2 || expected.as_deref() != Some(to.shape.as_slice()) {
        return Err(JitError::invalid(cx.node, format!("{:?} x {:?} -> {:?}", ta.shape, tb.shape, to.shape)));
    }
    Ok(MatMulGeometry { m, k, n, batch_a, batch_b, batch: batch.unwrap_or_default() })
}

/// `MatMul` (ONNX `MatMul`, numpy `matmul` semantics).
pub(crate) fn lower_matmul(cx: &mut KernelCx) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=2, 1)?;
    require_f32(cx)?;
    let MatMulGeometry { m, k, n, batch_a, batch_b, batch } = matmul_geometry(cx)?;
    let bstr = |own: &[usize], unit: usize| -> Vec<i64> {
        broadcast_strides(own, &batch).unwrap_or_default().into_iter().map(|s| s * i64_of(unit)).collect()
    };
    let mats = |own: &[usize]| own.iter().product::<usize>();
    let uk = cx.target.sgemm_ukernel().cloned();
    let tile = tile_of(uk.as_ref());
    let a = match cx.constant(0).and_then(|t| t.as_f32()) {
        Some(data) => {
            cx.pack_input(0, pack_batched(data, mats(batch_a), (m, k), false, tile, true));
            GemmA::Packed { input: 0, batch: bstr(batch_a, packed_len(m, k, tile, true)) }
        }
        None => GemmA::Strided { input: 0, rs: i64_of(k), cs: 1, batch: bstr(batch_a, m * k * 4) },
    };
    let b = match cx.constant(1).and_then(|t| t.as_f32()) {
        Some(data) => {
            cx.pack_input(1, pack_batched(data, mats(batch_b), (k, n), false, tile, false));
            GemmB::Packed { input: 1, batch: bstr(batch_b, packed_len(k, n, tile, false)) }
        }
        None => GemmB::Strided { input: 1, rs: i64_of(n), batch: bstr(batch_b, k * n * 4) },
    };
    let spec = GemmSpec { m, n, k, batch, a, b, alpha: 1.0, bias: None };
    Ok(match uk {
        Some(uk) => emit_gemm_ukernel(cx, &spec, &uk),
        None => emit_gemm(cx, &spec),
    })
}

/// `Gemm` (ONNX `Gemm`, opset 13): `alpha · A'·B' + beta · C`. A run-time B must not be
/// transposed (the import pass folds transposes of weights into constants).
pub(crate) fn lower_gemm(cx: &mut KernelCx, attrs: &GemmAttrs) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=3, 1)?;
    require_f32(cx)?;
    let (ta, tb, to) = (cx.in_ty(0)?, cx.in_ty(1)?, cx.out_ty(0)?);
    if ta.rank() != 2 || tb.rank() != 2 {
        return Err(JitError::invalid(cx.node, "Gemm operands must be rank 2"));
    }
    let (m, k) = if attrs.trans_a { (ta.shape[1], ta.shape[0]) } else { (ta.shape[0], ta.shape[1]) };
    let (k2, n) = if attrs.trans_b { (tb.shape[1], tb.shape[0]) } else { (tb.shape[0], tb.shape[1]) };
    if k != k2 || to.shape != [m, n] {
        return Err(JitError::invalid(cx.node, format!("{:?} x {:?} -> {:?}", ta.shape, tb.shape, to.shape)));
    }
    // The ukernel computes `A·B + bias` over a unit-stride A row: other scales and a
    // transposed run-time A stay on the CLIF path.
    let runtime_a_transposed = attrs.trans_a && cx.constant(0).is_none();
    let plain = attrs.alpha == 1.0 && (attrs.beta == 1.0 || cx.node.inputs.len() == 2) && !runtime_a_transposed;
    let uk = cx.target.sgemm_ukernel().filter(|_| plain).cloned();
    let tile = tile_of(uk.as_ref());
    let a = match cx.constant(0).and_then(|t| t.as_f32()) {
        Some(data) => {
            cx.pack_input(0, pack_batched(data, 1, (m, k), attrs.trans_a, tile, true));
            GemmA::Packed { input: 0, batch: vec![] }
        }
        None if attrs.trans_a => GemmA::Strided { input: 0, rs: 1, cs: i64_of(m), batch: vec![] },
        None => GemmA::Strided { input: 0, rs: i64_of(k), cs: 1, batch: vec![] },
    };
    let b = match cx.constant(1).and_then(|t| t.as_f32()) {
        Some(data) => {
            cx.pack_input(1, pack_batched(data, 1, (k, n), attrs.trans_b, tile, false));
            GemmB::Packed { input: 1, batch: vec![] }
        }
        None if attrs.trans_b => {
            return Err(JitError::unsupported(cx.node, "Gemm with a transposed run-time B (trans_b on a non-constant)"))
        }
        None => GemmB::Strided { input: 1, rs: i64_of(n), batch: vec![] },
    };
    let bias = if cx.node.inputs.len() == 3 && attrs.beta != 0.0 {
        let tc = cx.in_ty(2)?;
        let st = broadcast_strides(&tc.shape, &[m, n])
            .ok_or_else(|| JitError::invalid(cx.node, format!("C {:?} does not broadcast to [{m}, {n}]", tc.shape)))?;
        Some((2, st[0], st[1], attrs.beta))
    } else {
        None
    };
    let spec = GemmSpec { m, n, k, batch: vec![], a, b, alpha: attrs.alpha, bias };
    Ok(match uk {
        Some(uk) => emit_gemm_ukernel(cx, &spec, &uk),
        None => emit_gemm(cx, &spec),
    })
}
