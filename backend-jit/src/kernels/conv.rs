//! 2-D convolution (ONNX `Conv`, NCHW, f32) with constant weights.
//!
//! Three strategies, chosen from the static attributes:
//! - **pointwise** (1×1, stride 1, no padding): per group, `Y[Mg, H·W] = W[Mg, Cg] · X[Cg, H·W]`
//!   on the GEMM microkernel reading X in place;
//! - **im2col + GEMM** (every other non-depthwise case, incl. grouped): for a block of output
//!   rows, the receptive fields are copied into the scratch buffer as a `[K][cols]` matrix
//!   (`K = Cg·kH·kW`; padding becomes zeros; the copy of each `(c, ki, kj)` row segment is
//!   split statically into zero / data / zero runs), then one GEMM per block;
//! - **depthwise** (`group == C == M`): see [`super::conv_dw`].
//!
//! Weights are packed per group with [`crate::pack::pack_a`] (`[Mg/4][K][4]`); the optional
//! bias `[M]` is read per output channel in the GEMM epilogue.
//!
//! Work item (GEMM paths): one block of output rows of one group of one image,
//! `item = (n · group + g) · n_blocks + block`; a block spans `rows_per_block` whole output rows
//! (its width `rows · oW` columns), sized so its im2col matrix fits in ~512 KB of L2.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use int8xc_ir::ConvAttrs;

use super::gemm::{emit_columns, load_off, store_off, ATile, BBlock, BiasTile, CTile, Epilogue};
use super::{conv_dw, i64_of, require_f32, KernelCx, KernelInfo};
use crate::pack::{pack_a_tiles, MatrixView, MR};
use crate::ukernels::call::{emit_call, emit_sgemm_call, Operand, SgemmCall};
use crate::ukernels::{ConvArgs, UkernelImports};
use crate::JitError;

/// Bytes of one im2col block in scratch (aim: L2-resident).
const IM2COL_BUDGET: usize = 512 * 1024;

/// Validated static geometry of a convolution.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvGeom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub m: usize,
    pub g: usize,
    pub kh: usize,
    pub kw: usize,
    pub oh: usize,
    pub ow: usize,
    pub sh: usize,
    pub sw: usize,
    pub dh: usize,
    pub dw: usize,
    pub pt: usize,
    pub pl: usize,
}

impl ConvGeom {
    /// Input channels per group.
    pub fn cg(&self) -> usize {
        self.c / self.g
    }
    /// Output channels per group.
    pub fn mg(&self) -> usize {
        self.m / self.g
    }
}

fn out_len(input: usize, pad: usize, k: usize, d: usize, s: usize) -> Option<usize> {
    let span = d.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
    let padded = input.checked_add(pad)?;
    if s == 0 || padded < span {
        return None;
    }
    Some((padded - span) / s + 1)
}

/// Checks the node's shapes against the ONNX `Conv` rules and returns the geometry.
pub(crate) fn conv_geometry(cx: &KernelCx, a: &ConvAttrs) -> Result<ConvGeom, JitError> {
    cx.expect_arity(2..=3, 1)?;
    require_f32(cx)?;
    let geo = conv_shape_geometry(cx, a)?;
    if cx.node.inputs.len() == 3 && cx.in_ty(2)?.shape != [geo.m] {
        return Err(JitError::invalid(cx.node, format!("bias {:?}, expected [{}]", cx.in_ty(2)?.shape, geo.m)));
    }
    Ok(geo)
}

/// The geometry of inputs 0 (`x`) and 1 (`w`) and output 0 alone (any dtypes, any further
/// inputs), checked against the ONNX `Conv` shape rules.
pub(crate) fn conv_shape_geometry(cx: &KernelCx, a: &ConvAttrs) -> Result<ConvGeom, JitError> {
    let (tx, tw, to) = (cx.in_ty(0)?, cx.in_ty(1)?, cx.out_ty(0)?);
    let bad = |m: String| JitError::invalid(cx.node, m);
    let (&[n, c, h, w], &[m, cg, kh, kw]) = (tx.shape.as_slice(), tw.shape.as_slice()) else {
        return Err(bad(format!("expected x [N,C,H,W] and w [M,C/g,kH,kW], got {:?} and {:?}", tx.shape, tw.shape)));
    };
    let g = a.group;
    if g == 0 || c % g != 0 || m % g != 0 || cg != c / g || [kh, kw] != a.kernel {
        return Err(bad(format!(
            "group {g}, x {:?}, w {:?}, kernel {:?} are inconsistent",
            tx.shape, tw.shape, a.kernel
        )));
    }
    if a.dilations.contains(&0) {
        return Err(bad("zero dilation".into()));
    }
    let oh = out_len(h, a.pads[0] + a.pads[2], kh, a.dilations[0], a.strides[0]);
    let ow = out_len(w, a.pads[1] + a.pads[3], kw, a.dilations[1], a.strides[1]);
    let (Some(oh), Some(ow)) = (oh, ow) else {
        return Err(bad(format!("window does not fit input {:?} with pads {:?}", tx.shape, a.pads)));
    };
    if to.shape != [n, m, oh, ow] {
        return Err(bad(format!("output {:?}, expected {:?}", to.shape, [n, m, oh, ow])));
    }
    Ok(ConvGeom {
        n,
        c,
        h,
        w,
        m,
        g,
        kh,
        kw,
        oh,
        ow,
        sh: a.strides[0],
        sw: a.strides[1],
        dh: a.dilations[0],
        dw: a.dilations[1],
        pt: a.pads[0],
        pl: a.pads[1],
    })
}

/// `Conv`: dispatches to the pointwise, im2col or depthwise strategy.
pub(crate) fn lower_conv(cx: &mut KernelCx, a: &ConvAttrs) -> Result<KernelInfo, JitError> {
    let geo = conv_geometry(cx, a)?;
    let Some(wdata) = cx.constant(1).and_then(|t| t.as_f32()) else {
        return super::conv_direct::lower_conv_direct(cx, &geo, &super::conv_direct::DirectConv::F32);
    };
    if geo.g == geo.c && geo.m == geo.c && geo.g > 1 {
        return conv_dw::lower_depthwise(cx, &geo);
    }
    let (mg, k) = (geo.mg(), geo.cg() * geo.kh * geo.kw);
    let uk = cx.target.sgemm_ukernel().cloned();
    let mr = uk.as_ref().map_or(MR, |u| u.sgemm.mr);
    let mut packed = Vec::new();
    for g in 0..geo.g {
        let view = MatrixView { data: wdata, rows: mg, cols: k, rs: k, cs: 1, offset: g * mg * k };
        pack_a_tiles(&view, mr, &mut packed);
    }
    cx.pack_input(1, packed);
    let pointwise = geo.kh == 1 && geo.kw == 1 && geo.sh == 1 && geo.sw == 1 && geo.pt == 0 && geo.pl == 0;
    if let Some(uk) =
        uk.as_ref().filter(|u| u.conv_func.is_some() && !(pointwise && geo.oh == geo.h && geo.ow == geo.w))
    {
        return Ok(emit_conv_ukernel(cx, &geo, uk));
    }
    Ok(emit_conv_gemm(cx, &geo, uk.as_ref()))
}

/// Output pixels per work item of the convolution ukernel (8 panels).
const UK_PIXELS: usize = 8 * ConvArgs::PANEL;

/// The im2col strategy on the convolution ukernel (im2col fused into its B-panel packing,
/// see [`ConvArgs`]): work item `item = (n · group + g) · n_blocks + block` is one call over
/// [`UK_PIXELS`] output pixels of every output channel of group `g` of image `n`.
fn emit_conv_ukernel(cx: &mut KernelCx, geo: &ConvGeom, uk: &UkernelImports) -> KernelInfo {
    let ConvGeom { n, h, w, m, g, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl, .. } = *geo;
    let (cg, mg) = (geo.cg(), geo.mg());
    let (k, ohw) = (cg * kh * kw, oh * ow);
    let Some(func) = uk.conv_func else { return KernelInfo::default() };
    if n == 0 || m == 0 || ohw == 0 {
        return KernelInfo::default();
    }
    let n_blocks = ohw.div_ceil(UK_PIXELS);
    let a_group_bytes = i64_of(mg.div_ceil(uk.sgemm.mr) * uk.sgemm.mr * k * 4);
    let has_bias = cx.node.inputs.len() == 3;
    let (x, wp, out, scratch) = (cx.input(0), cx.input(1), cx.output(0), cx.scratch());
    let bias_ptr = if has_bias { Some(cx.input(2)) } else { None };
    cx.for_items(|cx, item| {
        let nb_n = cx.iconst(i64_of(n_blocks));
        let blk = cx.b.ins().urem(item, nb_n);
        let ng = cx.b.ins().udiv(item, nb_n);
        let g_n = cx.iconst(i64_of(g));
        let gi = cx.b.ins().urem(ng, g_n);
        // (n · C + g · Cg) input planes, (n · M + g · Mg) output planes: both are `ng` times
        // the per-group counts.
        let xg = {
            let off = cx.b.ins().imul_imm_s(ng, i64_of(cg * h * w * 4));
            cx.b.ins().iadd(x, off)
        };
        let yg = {
            let off = cx.b.ins().imul_imm_s(ng, i64_of(mg * ohw * 4));
            cx.b.ins().iadd(out, off)
        };
        let wg = {
            let off = cx.b.ins().imul_imm_s(gi, a_group_bytes);
            cx.b.ins().iadd(wp, off)
        };
        let bias = match bias_ptr {
            Some(bp) => {
                let off = cx.b.ins().imul_imm_s(gi, i64_of(mg * 4));
                Operand::Val(cx.b.ins().iadd(bp, off))
            }
            None => Operand::Imm(0),
        };
        let p0 = cx.b.ins().imul_imm_s(blk, i64_of(UK_PIXELS));
        let p1 = {
            let e = cx.b.ins().iadd_imm_s(p0, i64_of(UK_PIXELS));
            let total = cx.iconst(i64_of(ohw));
            cx.b.ins().smin(e, total)
        };
        let imm = |v: usize| Operand::Imm(i64_of(v));
        // Field order of `ConvArgs`.
        let fields = [
            Operand::Val(xg),
            Operand::Val(wg),
            bias,
            Operand::Val(yg),
            Operand::Val(scratch),
            imm(cg),
            imm(h),
            imm(w),
            imm(kh),
            imm(kw),
            imm(sh),
            imm(sw),
            imm(dh),
            imm(dw),
            imm(pt),
            imm(pl),
            imm(oh),
            imm(ow),
            imm(mg),
            Operand::Val(p0),
            Operand::Val(p1),
        ];
        debug_assert_eq!(fields.len(), ConvArgs::FIELDS);
        emit_call(cx, uk, func, &fields);
    });
    KernelInfo { work_items: n * g * n_blocks, scratch_bytes: k * ConvArgs::PANEL * 4 }
}

/// Output channels per ukernel call (in ukernel row tiles): a block of packed weights
/// (`UK_M_TILES · MR × K`) stays in L2 while the im2col panels stream past.
const UK_M_TILES: usize = 16;

/// Row stride of the im2col matrix for `cols` columns: a multiple of 8 (the CLIF tile's
/// vector reads), and for the ukernel a multiple of 16 floats with an odd number of 64-byte
/// lines, so consecutive rows of a B panel fall into different L1 sets (a stride of 4 KB
/// would put all `K` rows of a panel into one 8-way set).
fn im2col_ld(cols: usize, ukernel: bool) -> usize {
    if !ukernel {
        return cols.next_multiple_of(8);
    }
    let ld = cols.next_multiple_of(16);
    if (ld / 16).is_multiple_of(2) {
        ld + 16
    } else {
        ld
    }
}

/// The output columns `[lo, hi)` of a row whose input column `o·sW + shift` lies in `[0, w)`
/// (the data part of an im2col row; `[0, lo)` and `[hi, oW)` read padding). Compile time.
pub(crate) fn valid_columns(ow: usize, sw: usize, shift: i64, w: usize) -> (usize, usize) {
    let lo = (0..ow).find(|&o| i64_of(o * sw) + shift >= 0).unwrap_or(ow);
    let hi = (lo..ow).find(|&o| i64_of(o * sw) + shift >= i64_of(w)).unwrap_or(ow);
    (lo, hi)
}

/// The blocking of an im2col convolution's output rows shared by the f32 (`conv.rs`) and int8
/// (`qconv.rs`) kernels: blocks of `rows` whole output rows (`cols = rows · oW` pixels, the
/// last block `last_cols`), as many rows as let one block's im2col matrix (`col_bytes` per
/// pixel) fit `budget` bytes, at least `min_cols` pixels. Work item `item = (n · G + g) ·
/// blocks + block`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowBlocks {
    pub rows: usize,
    pub blocks: usize,
    pub cols: usize,
    pub last_cols: usize,
}

/// One work item of [`RowBlocks`], decoded (pointer-sized run-time values).
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockItem {
    /// Block and group index.
    pub blk: Value,
    pub gi: Value,
    /// First output row of the block and its row count (`rows` but for the last block).
    pub oh0: Value,
    pub rows_left: Value,
    /// First input channel of the group in the image (`n · C + g · C/G`) and first output
    /// channel (`n · M + g · M/G`).
    pub ch0: Value,
    pub oc0: Value,
}

impl RowBlocks {
    pub(crate) fn new(geo: &ConvGeom, col_bytes: usize, budget: usize, min_cols: usize) -> Self {
        let (oh, ow) = (geo.oh.max(1), geo.ow.max(1));
        let budget_cols = (budget / col_bytes.max(1)).max(min_cols);
        let rows = (budget_cols / ow).clamp(1, oh);
        let blocks = oh.div_ceil(rows);
        RowBlocks { rows, blocks, cols: rows * ow, last_cols: (oh - (blocks - 1) * rows) * ow }
    }

    /// Work items over `geo` (images × groups × blocks).
    pub(crate) fn work_items(&self, geo: &ConvGeom) -> usize {
        geo.n * geo.g * self.blocks
    }

    /// Decodes work item `item`.
    pub(crate) fn emit_decode(&self, cx: &mut KernelCx, geo: &ConvGeom, item: Value) -> BlockItem {
        let nb_n = cx.iconst(i64_of(self.blocks));
        let blk = cx.b.ins().urem(item, nb_n);
        let ng = cx.b.ins().udiv(item, nb_n);
        let g_n = cx.iconst(i64_of(geo.g));
        let gi = cx.b.ins().urem(ng, g_n);
        let ni = cx.b.ins().udiv(ng, g_n);
        let oh0 = cx.b.ins().imul_imm_s(blk, i64_of(self.rows));
        let rows_left = {
            let total = cx.iconst(i64_of(geo.oh));
            let left = cx.b.ins().isub(total, oh0);
            let r = cx.iconst(i64_of(self.rows));
            let lt = cx.b.ins().icmp(IntCC::SignedLessThan, left, r);
            cx.b.ins().select(lt, left, r)
        };
        let base = |cx: &mut KernelCx, per_image: usize, per_group: usize| {
            let a = cx.b.ins().imul_imm_s(ni, i64_of(per_image));
            let b = cx.b.ins().imul_imm_s(gi, i64_of(per_group));
            cx.b.ins().iadd(a, b)
        };
        let ch0 = base(cx, geo.c, geo.cg());
        let oc0 = base(cx, geo.m, geo.mg());
        BlockItem { blk, gi, oh0, rows_left, ch0, oc0 }
    }
}

fn emit_conv_gemm(cx: &mut KernelCx, geo: &ConvGeom, uk: Option<&UkernelImports>) -> KernelInfo {
    let ConvGeom { n, h, w, m, kh, kw, oh, ow, sh, sw, pt, pl, .. } = *geo;
    let (cg, mg) = (geo.cg(), geo.mg());
    let k = cg * kh * kw;
    let ohw = oh * ow;
    if n == 0 || m == 0 || ohw == 0 {
        return KernelInfo::default();
    }
    let pointwise = kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && oh == h && ow == w;
    let blocks = RowBlocks::new(geo, 4 * k, IM2COL_BUDGET, 8);
    let RowBlocks { blocks: n_blocks, cols: block_cols, last_cols, .. } = blocks;
    let ld_scratch = im2col_ld(block_cols, uk.is_some());
    let mr = uk.map_or(MR, |u| u.sgemm.mr);
    let m_tiles = mg.div_ceil(MR);
    let tail_rows = mg - (m_tiles - 1) * MR;
    let a_group_bytes = i64_of(mg.div_ceil(mr) * mr * k * 4);
    let has_bias = cx.node.inputs.len() == 3;
    let (x, wp, out, scratch) = (cx.input(0), cx.input(1), cx.output(0), cx.scratch());
    let bias_ptr = if has_bias { Some(cx.input(2)) } else { None };

    cx.for_items(|cx, item| {
        let BlockItem { blk, gi, oh0, rows_left, ch0, oc0 } = blocks.emit_decode(cx, geo, item);
        let b_block = if pointwise {
            let off = cx.b.ins().imul_imm_s(ch0, i64_of(h * w * 4));
            let col = cx.b.ins().imul_imm_s(blk, i64_of(block_cols * 4));
            let p = cx.b.ins().iadd(x, off);
            BBlock::Strided { ptr: cx.b.ins().iadd(p, col), rs: i64_of(h * w), padded: false }
        } else {
            let x_ch = {
                let off = cx.b.ins().imul_imm_s(ch0, i64_of(h * w * 4));
                cx.b.ins().iadd(x, off)
            };
            emit_im2col(cx, geo, x_ch, oh0, rows_left, scratch, ld_scratch);
            BBlock::Strided { ptr: scratch, rs: i64_of(ld_scratch), padded: true }
        };
        // Output channel base (n · M + g · Mg) and column base of the block.
        let c_base = {
            let a = cx.b.ins().imul_imm_s(oc0, i64_of(ohw * 4));
            let b = cx.b.ins().imul_imm_s(blk, i64_of(block_cols * 4));
            let t = cx.b.ins().iadd(a, b);
            cx.b.ins().iadd(out, t)
        };
        let a_base = {
            let off = cx.b.ins().imul_imm_s(gi, a_group_bytes);
            cx.b.ins().iadd(wp, off)
        };
        let bias_base = bias_ptr.map(|bp| {
            let off = cx.b.ins().imul_imm_s(gi, i64_of(mg * 4));
            cx.b.ins().iadd(bp, off)
        });
        if let Some(uk) = uk {
            let BBlock::Strided { ptr: b, rs: ldb, .. } = b_block else { unreachable!("conv B is strided") };
            let cols = if n_blocks == 1 {
                cx.iconst(i64_of(last_cols))
            } else {
                let last = cx.b.ins().icmp_imm_s(IntCC::Equal, blk, i64_of(n_blocks - 1));
                let (lc, bc) = (cx.iconst(i64_of(last_cols)), cx.iconst(i64_of(block_cols)));
                cx.b.ins().select(last, lc, bc)
            };
            let mb = UK_M_TILES * mr;
            for i0 in (0..mg).step_by(mb) {
                let rows = (mg - i0).min(mb);
                let call = SgemmCall {
                    a: cx.b.ins().iadd_imm_s(a_base, i64_of(i0 * k * 4)),
                    lda: 0,
                    a_packed: true,
                    b,
                    ldb,
                    b_panel: i64_of(uk.sgemm.nr),
                    c: cx.b.ins().iadd_imm_s(c_base, i64_of(i0 * ohw * 4)),
                    ldc: i64_of(ohw),
                    bias: bias_base.map(|bb| (cx.b.ins().iadd_imm_s(bb, i64_of(i0 * 4)), 1, 0)),
                    m: Operand::Imm(i64_of(rows)),
                    n: Operand::Val(cols),
                    k: i64_of(k),
                };
                emit_sgemm_call(cx, uk, &call);
            }
            return;
        }
        let is_last_block = cx.b.ins().icmp_imm_s(IntCC::Equal, blk, i64_of(n_blocks - 1));
        cx.for_static(0, i64_of(m_tiles), 1, |cx, mt| {
            let a_tile = {
                let off = cx.b.ins().imul_imm_s(mt, i64_of(k * MR * 4));
                ATile::Packed { ptr: cx.b.ins().iadd(a_base, off) }
            };
            let c_tile = {
                let off = cx.b.ins().imul_imm_s(mt, i64_of(MR * ohw * 4));
                CTile { ptr: cx.b.ins().iadd(c_base, off), ldc: i64_of(ohw) }
            };
            let bias = bias_base.map(|bb| {
                let off = cx.b.ins().imul_imm_s(mt, i64_of(MR * 4));
                BiasTile { ptr: cx.b.ins().iadd(bb, off), rs: 1, cs: 0, beta: 1.0 }
            });
            let ep = Epilogue { alpha: 1.0, bias };
            let cols = |cx: &mut KernelCx, mr: usize| {
                if n_blocks == 1 {
                    emit_columns(cx, k, mr, last_cols, a_tile, b_block, c_tile, &ep);
                } else {
                    cx.if_else(
                        is_last_block,
                        |cx| emit_columns(cx, k, mr, last_cols, a_tile, b_block, c_tile, &ep),
                        |cx| emit_columns(cx, k, mr, block_cols, a_tile, b_block, c_tile, &ep),
                    );
                }
            };
            if tail_rows == MR {
                cols(cx, MR);
            } else if m_tiles == 1 {
                cols(cx, tail_rows);
            } else {
                let last = cx.b.ins().icmp_imm_s(IntCC::Equal, mt, i64_of(m_tiles - 1));
                cx.if_else(last, |cx| cols(cx, tail_rows), |cx| cols(cx, MR));
            }
        });
    });
    let scratch_bytes = if pointwise { 0 } else { k * ld_scratch * 4 };
    KernelInfo { work_items: blocks.work_items(geo), scratch_bytes }
}

/// Stores `len` zeros (static) at `dst` (byte address).
fn store_zeros(cx: &mut KernelCx, dst: Value, len: usize) {
    let zv = cx.fconst(types::F32X4, 0.0);
    let zs = cx.fconst(types::F32, 0.0);
    for i in 0..len / 4 {
        store_off(cx, zv, dst, i64_of(i * 16));
    }
    for i in len / 4 * 4..len {
        store_off(cx, zs, dst, i64_of(i * 4));
    }
}

/// Copies `len` (static) elements from `src` (element stride `stride`) to contiguous `dst`.
fn copy_run(cx: &mut KernelCx, src: Value, stride: usize, dst: Value, len: usize) {
    if stride == 1 {
        let vecs = len / 4;
        cx.for_static(0, i64_of(vecs), 1, |cx, i| {
            let off = cx.b.ins().imul_imm_s(i, 16);
            let s = cx.b.ins().iadd(src, off);
            let d = cx.b.ins().iadd(dst, off);
            let v = cx.load(types::F32X4, s, 0);
            cx.store(v, d, 0);
        });
        for i in vecs * 4..len {
            let v = load_off(cx, types::F32, src, i64_of(i * 4));
            store_off(cx, v, dst, i64_of(i * 4));
        }
    } else {
        cx.for_static(0, i64_of(len), 1, |cx, i| {
            let so = cx.b.ins().imul_imm_s(i, i64_of(stride * 4));
            let s = cx.b.ins().iadd(src, so);
            let dof = cx.b.ins().imul_imm_s(i, 4);
            let d = cx.b.ins().iadd(dst, dof);
            let v = cx.load(types::F32, s, 0);
            cx.store(v, d, 0);
        });
    }
}

/// Fills `scratch` with the `[K][ld]` im2col matrix of output rows `oh0 .. oh0 + rows` for
/// the group whose first input channel plane starts at `x_ch`. Row `k = (c·kH + ki)·kW + kj`,
/// column `(oh - oh0)·oW + ow` holds `x[c, oh·sH - pT + ki·dH, ow·sW - pL + kj·dW]` or 0 in the
/// padding.
fn emit_im2col(cx: &mut KernelCx, geo: &ConvGeom, x_ch: Value, oh0: Value, rows: Value, scratch: Value, ld: usize) {
    let ConvGeom { h, w, kh, kw, ow, sh, sw, dh, dw, pt, pl, .. } = *geo;
    let cg = geo.cg();
    let zero = cx.iconst(0);
    cx.for_static(0, i64_of(cg), 1, |cx, ci| {
        let plane = {
            let off = cx.b.ins().imul_imm_s(ci, i64_of(h * w * 4));
            cx.b.ins().iadd(x_ch, off)
        };
        for ki in 0..kh {
            for kj in 0..kw {
                // Static split of ow into [0, lo) zeros, [lo, hi) data, [hi, oW) zeros:
                // iw = ow·sW + kj·dW - pL must lie in [0, W).
                let shift = i64_of(kj * dw) - i64_of(pl);
                let (lo, hi) = valid_columns(ow, sw, shift, w);
                let krow = {
                    let base = cx.b.ins().imul_imm_s(ci, i64_of(kh * kw * ld * 4));
                    let t = cx.b.ins().iadd_imm_s(base, i64_of((ki * kw + kj) * ld * 4));
                    cx.b.ins().iadd(scratch, t)
                };
                cx.for_range(zero, rows, 1, |cx, r| {
                    let dst = {
                        let off = cx.b.ins().imul_imm_s(r, i64_of(ow * 4));
                        cx.b.ins().iadd(krow, off)
                    };
                    // ih = (oh0 + r)·sH + ki·dH - pT
                    let ohv = cx.b.ins().iadd(oh0, r);
                    let ih = cx.b.ins().imul_imm_s(ohv, i64_of(sh));
                    let ih = cx.b.ins().iadd_imm_s(ih, i64_of(ki * dh) - i64_of(pt));
                    let inside = cx.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, ih, i64_of(h));
                    cx.if_else(
                        inside,
                        |cx| {
                            store_zeros(cx, dst, lo);
                            if hi > lo {
                                let src = {
                                    let row = cx.b.ins().imul_imm_s(ih, i64_of(w * 4));
                                    let col = (i64_of(lo * sw) + shift) * 4;
                                    let t = cx.b.ins().iadd_imm_s(row, col);
                                    cx.b.ins().iadd(plane, t)
                                };
                                let d = cx.b.ins().iadd_imm_s(dst, i64_of(lo * 4));
                                copy_run(cx, src, sw, d, hi - lo);
                            }
                            let d = cx.b.ins().iadd_imm_s(dst, i64_of(hi * 4));
                            store_zeros(cx, d, ow - hi);
                        },
                        |cx| store_zeros(cx, dst, ow),
                    );
                });
            }
        }
    });
}
