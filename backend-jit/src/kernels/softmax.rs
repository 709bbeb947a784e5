//! `Softmax` along any axis (f32): `y = exp(x - max) / Σ exp(x - max)` over the axis (ONNX
//! `Softmax`, opset 13), in three passes per slice as the interpreter does: the maximum
//! (NaN elements are skipped, as `f32::max` does), then `e = exp(x - max)` stored into the
//! output while summing, then `y = e / sum` (a division, not a reciprocal multiply). `exp` is
//! the polynomial of [`math`](super::math) (≈1 ULP).
//!
//! The input is viewed as `[outer, len, inner]` around the axis.
//!
//! - Axis not last (`inner > 1`): four adjacent slices (consecutive `inner` indices) are
//!   processed at once, one per `f32x4` lane; loads step by `inner` elements along the axis.
//!   Each lane's sums run in the interpreter's order. Work item: one group of 4 lanes, or one
//!   scalar slice for the `inner % 4` remainder (`item = o * (inner / 4 + inner % 4) + r`).
//! - Axis last (`inner == 1`): the slice is a contiguous row, vectorized along the axis with 4
//!   partial maxima/sums (combined at the end, so the sum is reassociated). Work item: one row.

use cranelift_codegen::ir::{types, InstBuilder, Type, Value};

use super::elementwise::max_sel;
use super::{i64_of, math, KernelCx, KernelInfo};
use crate::JitError;

/// `Softmax { axis }` on f32; see the module docs for the work items.
pub(crate) fn lower_softmax(cx: &mut KernelCx, axis: usize) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    super::require_f32(cx)?;
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    if ti.shape != to.shape || axis >= ti.rank() {
        return Err(JitError::invalid(cx.node, format!("axis {axis}, input {:?}, output {:?}", ti.shape, to.shape)));
    }
    let shape = &ti.shape;
    let outer: usize = shape[..axis].iter().product();
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    if outer * len * inner == 0 {
        return Ok(KernelInfo::default());
    }
    let (src, dst) = (cx.input(0), cx.output(0));
    let slice_bytes = i64_of(len * inner * 4);
    if inner == 1 {
        cx.for_items(|cx, o| {
            let s = cx.elem_addr(src, o, slice_bytes);
            let d = cx.elem_addr(dst, o, slice_bytes);
            emit_row(cx, s, d, len);
        });
        return Ok(KernelInfo { work_items: outer, scratch_bytes: 0 });
    }
    let (full, tail) = (inner / 4, inner % 4);
    let per_outer = full + tail;
    let stride = i64_of(inner * 4);
    cx.for_items(|cx, item| {
        let n = cx.iconst(i64_of(per_outer));
        let (o, r) = (cx.b.ins().udiv(item, n), cx.b.ins().urem(item, n));
        let base = cx.b.ins().imul_imm_s(o, slice_bytes);
        let is_vec = cx.b.ins().icmp_imm_s(cranelift_codegen::ir::condcodes::IntCC::UnsignedLessThan, r, i64_of(full));
        let column = |cx: &mut KernelCx, lane: Value, ty: Type| {
            let off = cx.b.ins().imul_imm_s(lane, 4);
            let off = cx.b.ins().iadd(base, off);
            let s = cx.b.ins().iadd(src, off);
            let d = cx.b.ins().iadd(dst, off);
            emit_column(cx, s, d, stride, len, ty);
        };
        if full == 0 {
            column(cx, r, types::F32);
        } else if tail == 0 {
            let lane = cx.b.ins().imul_imm_s(r, 4);
            column(cx, lane, types::F32X4);
        } else {
            cx.if_else(
                is_vec,
                |cx| {
                    let lane = cx.b.ins().imul_imm_s(r, 4);
                    column(cx, lane, types::F32X4)
                },
                |cx| {
                    let lane = cx.b.ins().iadd_imm_s(r, i64_of(3 * full));
                    column(cx, lane, types::F32)
                },
            );
        }
    });
    Ok(KernelInfo { work_items: outer * per_outer, scratch_bytes: 0 })
}

/// One slice (`ty = F32`) or four adjacent slices (`F32X4`) whose `len` elements are
/// `stride` bytes apart, from `src` to `dst`.
fn emit_column(cx: &mut KernelCx, src: Value, dst: Value, stride: i64, len: usize, ty: Type) {
    let m = cx.b.declare_var(ty);
    let ninf = cx.fconst(ty, f32::NEG_INFINITY);
    cx.b.def_var(m, ninf);
    let n = i64_of(len);
    cx.for_static(0, n, 1, |cx, k| {
        let a = cx.elem_addr(src, k, stride);
        let v = cx.load(ty, a, 0);
        let cur = cx.b.use_var(m);
        let nm = max_sel(cx, cur, v);
        cx.b.def_var(m, nm);
    });
    let max = cx.b.use_var(m);
    let sum = cx.b.declare_var(ty);
    let zero = cx.fconst(ty, 0.0);
    cx.b.def_var(sum, zero);
    cx.for_static(0, n, 1, |cx, k| {
        let a = cx.elem_addr(src, k, stride);
        let v = cx.load(ty, a, 0);
        let t = cx.b.ins().fsub(v, max);
        let e = math::exp(cx, t, ty);
        let d = cx.elem_addr(dst, k, stride);
        cx.store(e, d, 0);
        let s = cx.b.use_var(sum);
        let s = cx.b.ins().fadd(s, e);
        cx.b.def_var(sum, s);
    });
    let total = cx.b.use_var(sum);
    cx.for_static(0, n, 1, |cx, k| {
        let d = cx.elem_addr(dst, k, stride);
        let e = cx.load(ty, d, 0);
        let y = cx.b.ins().fdiv(e, total);
        cx.store(y, d, 0);
    });
}

/// Horizontal `combine` of the 4 lanes of `v` (lane order 0, 1, 2, 3).
fn reduce_lanes(cx: &mut KernelCx, v: Value, combine: fn(&mut KernelCx, Value, Value) -> Value) -> Value {
    let mut acc = cx.b.ins().extractlane(v, 0);
    for lane in 1..4u8 {
        let x = cx.b.ins().extractlane(v, lane);
        acc = combine(cx, acc, x);
    }
    acc
}

fn fmax_nan_skipping(cx: &mut KernelCx, a: Value, b: Value) -> Value {
    max_sel(cx, a, b)
}

fn fadd(cx: &mut KernelCx, a: Value, b: Value) -> Value {
    cx.b.ins().fadd(a, b)
}

/// One contiguous row of `len` elements: 4-lane partial maxima and sums over `len / 4 * 4`
/// elements, combined, then the scalar tail.
fn emit_row(cx: &mut KernelCx, src: Value, dst: Value, len: usize) {
    let vend = i64_of(len / 4 * 4);
    let n = i64_of(len);
    let v4 = types::F32X4;
    // Pass 1: maximum.
    let vm = cx.b.declare_var(v4);
    let ninf4 = cx.fconst(v4, f32::NEG_INFINITY);
    cx.b.def_var(vm, ninf4);
    cx.for_static(0, vend, 4, |cx, k| {
        let a = cx.elem_addr(src, k, 4);
        let v = cx.load(v4, a, 0);
        let cur = cx.b.use_var(vm);
        let nm = max_sel(cx, cur, v);
        cx.b.def_var(vm, nm);
    });
    let m = cx.b.declare_var(types::F32);
    let vmax = cx.b.use_var(vm);
    let m0 = reduce_lanes(cx, vmax, fmax_nan_skipping);
    cx.b.def_var(m, m0);
    cx.for_static(vend, n, 1, |cx, k| {
        let a = cx.elem_addr(src, k, 4);
        let v = cx.load(types::F32, a, 0);
        let cur = cx.b.use_var(m);
        let nm = max_sel(cx, cur, v);
        cx.b.def_var(m, nm);
    });
    let max = cx.b.use_var(m);
    let max4 = cx.b.ins().splat(v4, max);
    // Pass 2: exponentials and their sum.
    let vs = cx.b.declare_var(v4);
    let zero4 = cx.fconst(v4, 0.0);
    cx.b.def_var(vs, zero4);
    cx.for_static(0, vend, 4, |cx, k| {
        let a = cx.elem_addr(src, k, 4);
        let v = cx.load(v4, a, 0);
        let t = cx.b.ins().fsub(v, max4);
        let e = math::exp(cx, t, v4);
        let d = cx.elem_addr(dst, k, 4);
        cx.store(e, d, 0);
        let s = cx.b.use_var(vs);
        let s = cx.b.ins().fadd(s, e);
        cx.b.def_var(vs, s);
    });
    let s = cx.b.declare_var(types::F32);
    let vsum = cx.b.use_var(vs);
    let s0 = reduce_lanes(cx, vsum, fadd);
    cx.b.def_var(s, s0);
    cx.for_static(vend, n, 1, |cx, k| {
        let a = cx.elem_addr(src, k, 4);
        let v = cx.load(types::F32, a, 0);
        let t = cx.b.ins().fsub(v, max);
        let e = math::exp(cx, t, types::F32);
        let d = cx.elem_addr(dst, k, 4);
        cx.store(e, d, 0);
        let acc = cx.b.use_var(s);
        let acc = cx.b.ins().fadd(acc, e);
        cx.b.def_var(s, acc);
    });
    // Pass 3: divide by the sum.
    let total = cx.b.use_var(s);
    let total4 = cx.b.ins().splat(v4, total);
    cx.for_static(0, vend, 4, |cx, k| {
        let d = cx.elem_addr(dst, k, 4);
        let e = cx.load(v4, d, 0);
        let y = cx.b.ins().fdiv(e, total4);
        cx.store(y, d, 0);
    });
    cx.for_static(vend, n, 1, |cx, k| {
        let d = cx.elem_addr(dst, k, 4);
        let e = cx.load(types::F32, d, 0);
        let y = cx.b.ins().fdiv(e, total);
        cx.store(y, d, 0);
    });
}
