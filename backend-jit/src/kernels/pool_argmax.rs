//! `MaxPool` with its `Indices` output (ONNX `MaxPool` opset 12, `storage_order`; the IR's
//! `MaxPoolWithIndices`), f32, NCHW.
//!
//! Work item: one channel plane of one image (`item = n · C + c`). For each output position
//! (run-time loops over rows and columns) the kernel walks the window's taps (unrolled), each
//! with a run-time bounds check of its input row and column: an out-of-bounds tap reads the
//! plane's first element and is ignored. The running maximum starts at the window's first
//! input element and takes each later element `e > max` (`fcmp gt`, so a NaN never replaces
//! it), exactly as the interpreter: values are copied, so the result is bit-exact, and the
//! index is the chosen element's flat position in `x` (row-major within the plane, or
//! column-major with `column_major`), -1 for a window without input element (its value is
//! `-inf`).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use int8xc_ir::{DType, PoolAttrs};

use super::pool::out_dim;
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// Most window taps (`kH · kW`) the kernel unrolls.
const MAX_TAPS: usize = 1024;

/// `coord = o · stride + tap · dil - pad` and whether it lies in `0..len` (both run-time).
fn tap_coord(cx: &mut KernelCx, o: Value, stride: usize, offset: i64, len: usize) -> (Value, Value) {
    let base = cx.b.ins().imul_imm_s(o, i64_of(stride));
    let coord = cx.b.ins().iadd_imm_s(base, offset);
    let ge = cx.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, coord, 0);
    let lt = cx.b.ins().icmp_imm_s(IntCC::SignedLessThan, coord, i64_of(len));
    (coord, cx.b.ins().band(ge, lt))
}

/// `MaxPoolWithIndices { pool, column_major }` on f32; see the module docs.
pub(crate) fn lower_max_pool_with_indices(
    cx: &mut KernelCx,
    a: &PoolAttrs,
    column_major: bool,
) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 2)?;
    let (tx, ty, ti) = (cx.in_ty(0)?, cx.out_ty(0)?, cx.out_ty(1)?);
    if tx.dtype != DType::F32 || ty.dtype != DType::F32 || ti.dtype != DType::I64 {
        return Err(JitError::unsupported(
            cx.node,
            format!("MaxPool with indices on {} (this kernel is f32-only)", tx.dtype),
        ));
    }
    if cx.ptr_ty() != types::I64 {
        return Err(JitError::unsupported(cx.node, "MaxPool indices need a 64-bit target"));
    }
    let &[n, c, h, w] = tx.shape.as_slice() else {
        return Err(JitError::invalid(cx.node, format!("input {:?} must be [N, C, H, W]", tx.shape)));
    };
    let ([kh, kw], [sh, sw], [dh, dw], [pt, pl, pb, pr]) = (a.kernel, a.strides, a.dilations, a.pads);
    let oh = out_dim(h, (pt, pb), kh, sh, dh, a.ceil_mode);
    let ow = out_dim(w, (pl, pr), kw, sw, dw, a.ceil_mode);
    let (Some(oh), Some(ow)) = (oh, ow) else {
        return Err(JitError::invalid(cx.node, format!("window {:?} does not fit {:?}", a.kernel, tx.shape)));
    };
    if ty.shape != [n, c, oh, ow] || ti.shape != ty.shape {
        return Err(JitError::invalid(
            cx.node,
            format!("outputs {:?} and {:?}, expected {:?}", ty.shape, ti.shape, [n, c, oh, ow]),
        ));
    }
    if kh * kw > MAX_TAPS {
        return Err(JitError::unsupported(cx.node, format!("window {kh}x{kw} has more than {MAX_TAPS} taps")));
    }
    if n * c * oh * ow == 0 {
        return Ok(KernelInfo::default());
    }
    let (x, y, idx) = (cx.input(0), cx.output(0), cx.output(1));
    let plane = h * w;
    cx.for_items(|cx, item| {
        let x_plane = cx.elem_addr(x, item, i64_of(plane * 4));
        let first = cx.b.ins().imul_imm_s(item, i64_of(plane));
        let out_first = cx.b.ins().imul_imm_s(item, i64_of(oh * ow));
        cx.for_static(0, i64_of(oh), 1, |cx, r| {
            let rows: Vec<(Value, Value)> =
                (0..kh).map(|ki| tap_coord(cx, r, sh, i64_of(ki * dh) - i64_of(pt), h)).collect();
            let out_row = cx.b.ins().imul_imm_s(r, i64_of(ow));
            let out_row = cx.b.ins().iadd(out_first, out_row);
            cx.for_static(0, i64_of(ow), 1, |cx, col| {
                let mut m = cx.fconst(types::F32, f32::NEG_INFINITY);
                let mut at = cx.iconst(-1);
                for &(ih, vh) in &rows {
                    for kj in 0..kw {
                        let (iw, vw) = tap_coord(cx, col, sw, i64_of(kj * dw) - i64_of(pl), w);
                        let valid = cx.b.ins().band(vh, vw);
                        let row_major = {
                            let t = cx.b.ins().imul_imm_s(ih, i64_of(w));
                            cx.b.ins().iadd(t, iw)
                        };
                        let zero = cx.iconst(0);
                        let off = cx.b.ins().select(valid, row_major, zero);
                        let addr = cx.elem_addr(x_plane, off, 4);
                        let e = cx.load(types::F32, addr, 0);
                        let gt = cx.b.ins().fcmp(FloatCC::GreaterThan, e, m);
                        let none = cx.b.ins().icmp_imm_s(IntCC::SignedLessThan, at, 0);
                        let better = cx.b.ins().bor(gt, none);
                        let take = cx.b.ins().band(valid, better);
                        let pos = if column_major {
                            let t = cx.b.ins().imul_imm_s(iw, i64_of(h));
                            cx.b.ins().iadd(t, ih)
                        } else {
                            row_major
                        };
                        m = cx.b.ins().select(take, e, m);
                        at = cx.b.ins().select(take, pos, at);
                    }
                }
                let found = cx.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, at, 0);
                let flat = cx.b.ins().iadd(at, first);
                let flat = cx.b.ins().select(found, flat, at);
                let o = cx.b.ins().iadd(out_row, col);
                let ya = cx.elem_addr(y, o, 4);
                cx.store(m, ya, 0);
                let ia = cx.elem_addr(idx, o, 8);
                cx.store(flat, ia, 0);
            });
        });
    });
    Ok(KernelInfo { work_items: n * c, scratch_bytes: 0 })
}
