//! Reductions: `ReduceMean` (f32, any set of axes) and `ArgMax` (f32 and integer inputs,
//! `i64` output).
//!
//! `ReduceMean` views the input as alternating runs of kept and reduced dims (size-1 dims
//! dropped, adjacent dims of one kind merged; the input is dense, so a merged run is one
//! strided dim). The output is dense over the kept dims (`keepdims` only inserts 1s). Each
//! mean is `Σ x / count` in f32, the sum starting from 0 as the interpreter's.
//!
//! - Last run kept (e.g. `[N, C, H, W]` over `C`): four adjacent outputs are computed at once,
//!   one per `f32x4` lane, each summing in the interpreter's order (bit-exact). Work item: one
//!   group of 4 innermost outputs, or one scalar output of the `L % 4` remainder
//!   (`item = outer * (L / 4 + L % 4) + r`, `L` the last kept run's length).
//! - Last run reduced (e.g. over `H, W`): the contiguous inner run is summed 4 lanes at a time
//!   into partial sums that are added up at the end (reassociated: within a few ULP). Work
//!   item: one output element.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::DType;

use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// Emits nested static loops over `dims` (`(size, stride in elements)`, outermost first),
/// calling `body` with `off + Σ i_d * stride_d` in row-major order.
pub(crate) fn nest(cx: &mut KernelCx, dims: &[(usize, i64)], off: Value, body: &mut dyn FnMut(&mut KernelCx, Value)) {
    match dims.split_first() {
        None => body(cx, off),
        Some((&(n, s), rest)) => cx.for_static(0, i64_of(n), 1, |cx, i| {
            let t = cx.b.ins().imul_imm_s(i, s);
            let o = cx.b.ins().iadd(off, t);
            nest(cx, rest, o, body);
        }),
    }
}

/// `ReduceMean { axes, keepdims }` on f32 (ONNX `ReduceMean`, axes resolved); see the module
/// docs. An empty `axes` copies the input (as the interpreter does); a reduction over zero
/// elements gives NaN (`0 / 0`).
pub(crate) fn lower_reduce_mean(cx: &mut KernelCx, axes: &[usize], keepdims: bool) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    super::require_f32(cx)?;
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let s = &ti.shape;
    let rank = s.len();
    let sorted = axes.windows(2).all(|w| w[0] < w[1]);
    if !sorted || axes.iter().any(|&a| a >= rank) {
        return Err(JitError::invalid(cx.node, format!("axes {axes:?} invalid for rank {rank}")));
    }
    let reduced = |d: usize| axes.contains(&d);
    let want: Vec<usize> = if keepdims || axes.is_empty() {
        (0..rank).map(|d| if reduced(d) { 1 } else { s[d] }).collect()
    } else {
        (0..rank).filter(|&d| !reduced(d)).map(|d| s[d]).collect()
    };
    if want != to.shape {
        return Err(JitError::invalid(cx.node, format!("output {:?}, expected {want:?}", to.shape)));
    }
    if axes.is_empty() {
        return Ok(super::movement::emit_copy(cx, ti.size_bytes()));
    }
    if to.numel() == 0 {
        return Ok(KernelInfo::default());
    }
    let count: usize = axes.iter().map(|&a| s[a]).product();
    // Runs of (size, stride, reduced), size-1 dims dropped, same-kind neighbours merged.
    let strides = int8xc_ir::strides(s);
    let mut runs: Vec<(usize, i64, bool)> = Vec::new();
    for d in 0..rank {
        if s[d] == 1 {
            continue;
        }
        match runs.last_mut() {
            Some(last) if last.2 == reduced(d) => {
                last.0 *= s[d];
                last.1 = i64_of(strides[d]);
            }
            _ => runs.push((s[d], i64_of(strides[d]), reduced(d))),
        }
    }
    if runs.is_empty() {
        runs.push((1, 1, false));
    }
    let kept: Vec<(usize, i64)> = runs.iter().filter(|r| !r.2).map(|r| (r.0, r.1)).collect();
    let red: Vec<(usize, i64)> = runs.iter().filter(|r| r.2).map(|r| (r.0, r.1)).collect();
    let count_f = count as f32;
    let (src, dst) = (cx.input(0), cx.output(0));
    let last_kept = runs.last().is_some_and(|r| !r.2);
    if last_kept {
        let (l, _) = kept[kept.len() - 1];
        let outer_dims: Vec<usize> = kept[..kept.len() - 1].iter().map(|k| k.0).collect();
        let outer_strides: Vec<i64> = kept[..kept.len() - 1].iter().map(|k| k.1).collect();
        let (full, tail) = (l / 4, l % 4);
        let per_outer = full + tail;
        cx.for_items(|cx, item| {
            let n = cx.iconst(i64_of(per_outer));
            let (o, r) = (cx.b.ins().udiv(item, n), cx.b.ins().urem(item, n));
            let idx = cx.unravel(o, &outer_dims);
            let base = cx.dot_strides(&idx, &outer_strides);
            let o_l = cx.b.ins().imul_imm_s(o, i64_of(l));
            let lanes = |cx: &mut KernelCx, lane: Value, ty: Type| {
                let acc = cx.b.declare_var(ty);
                let z = cx.fconst(ty, 0.0);
                cx.b.def_var(acc, z);
                let start = cx.b.ins().iadd(base, lane);
                let p = cx.elem_addr(src, start, 4);
                let zero = cx.iconst(0);
                nest(cx, &red, zero, &mut |cx, off| {
                    let a = cx.elem_addr(p, off, 4);
                    let v = cx.load(ty, a, 0);
                    let cur = cx.b.use_var(acc);
                    let nv = cx.b.ins().fadd(cur, v);
                    cx.b.def_var(acc, nv);
                });
                let sum = cx.b.use_var(acc);
                let c = cx.fconst(ty, count_f);
                let mean = cx.b.ins().fdiv(sum, c);
                let out_i = cx.b.ins().iadd(o_l, lane);
                let d = cx.elem_addr(dst, out_i, 4);
                cx.store(mean, d, 0);
            };
            if full == 0 {
                lanes(cx, r, types::F32);
            } else if tail == 0 {
                let lane = cx.b.ins().imul_imm_s(r, 4);
                lanes(cx, lane, types::F32X4);
            } else {
                let is_vec = cx.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, r, i64_of(full));
                cx.if_else(
                    is_vec,
                    |cx| {
                        let lane = cx.b.ins().imul_imm_s(r, 4);
                        lanes(cx, lane, types::F32X4)
                    },
                    |cx| {
                        let lane = cx.b.ins().iadd_imm_s(r, i64_of(3 * full));
                        lanes(cx, lane, types::F32)
                    },
                );
            }
        });
        return Ok(KernelInfo { work_items: to.numel().div_ceil(l) * per_outer, scratch_bytes: 0 });
    }
    // Last run reduced and contiguous: vector partial sums along it.
    let (l, _) = red[red.len() - 1];
    let outer_red = red[..red.len() - 1].to_vec();
    let kept_dims: Vec<usize> = kept.iter().map(|k| k.0).collect();
    let kept_strides: Vec<i64> = kept.iter().map(|k| k.1).collect();
    let vend = i64_of(l / 4 * 4);
    cx.for_items(|cx, item| {
        let idx = cx.unravel(item, &kept_dims);
        let base = cx.dot_strides(&idx, &kept_strides);
        let p = cx.elem_addr(src, base, 4);
        let vacc = cx.b.declare_var(types::F32X4);
        let sacc = cx.b.declare_var(types::F32);
        let (z4, z) = (cx.fconst(types::F32X4, 0.0), cx.fconst(types::F32, 0.0));
        cx.b.def_var(vacc, z4);
        cx.b.def_var(sacc, z);
        let zero = cx.iconst(0);
        nest(cx, &outer_red, zero, &mut |cx, off| {
            let row = cx.elem_addr(p, off, 4);
            cx.for_static(0, vend, 4, |cx, k| {
                let a = cx.elem_addr(row, k, 4);
                let v = cx.load(types::F32X4, a, 0);
                let cur = cx.b.use_var(vacc);
                let nv = cx.b.ins().fadd(cur, v);
                cx.b.def_var(vacc, nv);
            });
            cx.for_static(vend, i64_of(l), 1, |cx, k| {
                let a = cx.elem_addr(row, k, 4);
                let v = cx.load(types::F32, a, 0);
                let cur = cx.b.use_var(sacc);
                let nv = cx.b.ins().fadd(cur, v);
                cx.b.def_var(sacc, nv);
            });
        });
        let v = cx.b.use_var(vacc);
        let mut sum = cx.b.ins().extractlane(v, 0);
        for lane in 1..4u8 {
            let x = cx.b.ins().extractlane(v, lane);
            sum = cx.b.ins().fadd(sum, x);
        }
        let tail = cx.b.use_var(sacc);
        let sum = cx.b.ins().fadd(sum, tail);
        let c = cx.fconst(types::F32, count_f);
        let mean = cx.b.ins().fdiv(sum, c);
        let d = cx.elem_addr(dst, item, 4);
        cx.store(mean, d, 0);
    });
    Ok(KernelInfo { work_items: to.numel(), scratch_bytes: 0 })
}

/// `ArgMax { axis, keepdims, select_last_index }` (ONNX `ArgMax`): the `i64` index of the
/// largest element along `axis`, exactly as the interpreter: start at index 0 and move to `k`
/// when `x[k] > best` (or `x[k] == best` with `select_last_index`). Floats compare ordered,
/// so NaN never wins (a NaN at index 0 stays selected); integers compare by their value
/// (`u8` unsigned). Inputs: `f32`, `i64`, `i32`, `i16`, `i8`, `u8`. An empty axis is
/// [`JitError::Invalid`] (the interpreter fails on it at run time).
///
/// Work item: one output element (scalar scan along the axis).
pub(crate) fn lower_arg_max(
    cx: &mut KernelCx,
    axis: usize,
    keepdims: bool,
    last: bool,
) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let (ty, esize) = match ti.dtype {
        DType::F32 => (types::F32, 4),
        DType::I64 => (types::I64, 8),
        DType::I32 => (types::I32, 4),
        DType::I16 => (types::I16, 2),
        DType::I8 | DType::U8 => (types::I8, 1),
        d => return Err(JitError::unsupported(cx.node, format!("ArgMax on dtype {d}"))),
    };
    let rank = ti.rank();
    if axis >= rank || to.dtype != DType::I64 {
        return Err(JitError::invalid(cx.node, format!("axis {axis} of {ti} -> {to}")));
    }
    let mut want = ti.shape.clone();
    if keepdims {
        want[axis] = 1;
    } else {
        want.remove(axis);
    }
    if want != to.shape {
        return Err(JitError::invalid(cx.node, format!("output {:?}, expected {want:?}", to.shape)));
    }
    let len = ti.shape[axis];
    let outer: usize = ti.shape[..axis].iter().product();
    let inner: usize = ti.shape[axis + 1..].iter().product();
    if outer * inner == 0 {
        return Ok(KernelInfo::default());
    }
    if len == 0 {
        return Err(JitError::invalid(cx.node, format!("ArgMax over empty axis {axis}")));
    }
    let float = ti.dtype == DType::F32;
    let gt_cc = if ti.dtype == DType::U8 { IntCC::UnsignedGreaterThan } else { IntCC::SignedGreaterThan };
    // `a > b` (`greater`) or `a == b`, ordered for floats.
    let compare = move |cx: &mut KernelCx, greater: bool, a: Value, b: Value| -> Value {
        match (float, greater) {
            (true, true) => cx.b.ins().fcmp(FloatCC::GreaterThan, a, b),
            (true, false) => cx.b.ins().fcmp(FloatCC::Equal, a, b),
            (false, true) => cx.b.ins().icmp(gt_cc, a, b),
            (false, false) => cx.b.ins().icmp(IntCC::Equal, a, b),
        }
    };
    let (src, dst) = (cx.input(0), cx.output(0));
    let e = i64_of(esize);
    cx.for_items(|cx, item| {
        let n = cx.iconst(i64_of(inner));
        let (o, i) = (cx.b.ins().udiv(item, n), cx.b.ins().urem(item, n));
        let start = cx.b.ins().imul_imm_s(o, i64_of(len * inner));
        let start = cx.b.ins().iadd(start, i);
        let p = cx.elem_addr(src, start, e);
        let best_v = cx.b.declare_var(ty);
        let best_i = cx.b.declare_var(types::I64);
        let v0 = cx.load(ty, p, 0);
        cx.b.def_var(best_v, v0);
        let z = cx.b.ins().iconst(types::I64, 0);
        cx.b.def_var(best_i, z);
        cx.for_static(1, i64_of(len), 1, |cx, k| {
            let a = cx.elem_addr(p, k, i64_of(inner) * e);
            let v = cx.load(ty, a, 0);
            let cur = cx.b.use_var(best_v);
            let mut take = compare(cx, true, v, cur);
            if last {
                let same = compare(cx, false, v, cur);
                take = cx.b.ins().bor(take, same);
            }
            let nv = cx.b.ins().select(take, v, cur);
            cx.b.def_var(best_v, nv);
            let ci = cx.b.use_var(best_i);
            let k64 = if cx.ptr_ty() == types::I64 { k } else { cx.b.ins().sextend(types::I64, k) };
            let ni = cx.b.ins().select(take, k64, ci);
            cx.b.def_var(best_i, ni);
        });
        let bi = cx.b.use_var(best_i);
        let d = cx.elem_addr(dst, item, 8);
        cx.store(bi, d, 0);
    });
    Ok(KernelInfo { work_items: outer * inner, scratch_bytes: 0 })
}
