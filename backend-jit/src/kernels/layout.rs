//! Layout kernels: `Transpose`, `Slice` and `Concat` (`Gather` is in `gather.rs`, `Cast` in
//! `cast.rs`).
//!
//! The data-movement ops are dtype-generic: they move elements by their byte size (1, 2, 4 or
//! 8 bytes; the packed 4-bit types are unsupported). `Transpose` and `Slice` are both a
//! *strided view* of the input: output element `idx` (row-major) is input
//! element `offset + Σ idx[d] * stride[d]`, where for `Transpose` the strides are the input's
//! permuted and for `Slice` they are `step * input_stride` (negative for negative steps) and
//! `offset = Σ start * input_stride`. The view is collapsed like the element-wise kernels
//! (size-1 dims dropped, mergeable dims merged), so e.g. `[1,64,56,56] → perm [0,1,3,2]`
//! becomes a `[64, 56, 56]` loop and a slice that keeps whole rows becomes one contiguous run.
//! A run with input stride 1 is copied with 16-byte vector moves; otherwise element by element.
//! Work item of the strided copy (`Transpose`, `Slice`): one chunk of at most [`CHUNK`]
//! elements of a collapsed inner run.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::DType;

use super::elementwise::collapse;
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// Most elements one strided-copy work item handles.
const CHUNK: usize = 16 * 1024;

/// Bytes per element of a dtype the layout kernels can move (4-bit types cannot be addressed
/// per element).
fn elem_bytes(cx: &KernelCx, dt: DType) -> Result<usize, JitError> {
    match dt {
        DType::I4 | DType::U4 => Err(JitError::unsupported(cx.node, format!("packed 4-bit dtype {dt}"))),
        _ => Ok(dt.bits() / 8),
    }
}

/// The integer type moving one element of `bytes` bytes.
fn move_ty(bytes: usize) -> Type {
    match bytes {
        1 => types::I8,
        2 => types::I16,
        4 => types::I32,
        _ => types::I64,
    }
}

/// Copies a static number of bytes from `src` to `dst`: 16-byte vector moves (unrolled up
/// to 4, else a loop), then an 8/4/2/1-byte tail.
pub(crate) fn copy_static(cx: &mut KernelCx, src: Value, dst: Value, bytes: usize) {
    let vec_bytes = bytes / 16 * 16;
    let mv = |cx: &mut KernelCx, ty: Type, off: Value| {
        let s = cx.b.ins().iadd(src, off);
        let v = cx.load(ty, s, 0);
        let d = cx.b.ins().iadd(dst, off);
        cx.store(v, d, 0);
    };
    if vec_bytes <= 64 {
        for off in (0..vec_bytes).step_by(16) {
            let o = cx.iconst(i64_of(off));
            mv(cx, types::I8X16, o);
        }
    } else {
        cx.for_static(0, i64_of(vec_bytes), 16, |cx, o| mv(cx, types::I8X16, o));
    }
    let mut off = vec_bytes;
    for w in [8, 4, 2, 1] {
        while bytes - off >= w {
            let o = cx.iconst(i64_of(off));
            mv(cx, move_ty(w), o);
            off += w;
        }
    }
}

/// Emits `out[idx] = in[offset + Σ idx[d] * strides[d]]` over the dense output `shape`
/// (strides and offset in elements of `esize` bytes; the caller has checked that every
/// index stays in the input).
///
/// Work item: one chunk of at most [`CHUNK`] elements of the collapsed innermost run, for
/// one index of the outer dims (`item = outer * chunks + chunk`).
fn emit_strided_copy(cx: &mut KernelCx, shape: &[usize], strides: &[i64], offset: i64, esize: usize) -> KernelInfo {
    if shape.contains(&0) {
        return KernelInfo::default();
    }
    let out_strides: Vec<i64> = int8xc_ir::strides(shape).into_iter().map(i64_of).collect();
    let (dims, st) = collapse(shape, &[strides.to_vec(), out_strides]);
    let rank = dims.len();
    let inner = dims[rank - 1];
    let in_step = st[0][rank - 1];
    let outer_dims = dims[..rank - 1].to_vec();
    let outer: usize = outer_dims.iter().product();
    let chunks = inner.div_ceil(CHUNK);
    let last_len = inner - (chunks - 1) * CHUNK;
    let e = i64_of(esize);
    let (src, dst) = (cx.input(0), cx.output(0));
    let in_outer = st[0][..rank - 1].to_vec();
    cx.for_items(|cx, item| {
        let (o, c) = if chunks == 1 {
            (item, cx.iconst(0))
        } else {
            let n = cx.iconst(i64_of(chunks));
            (cx.b.ins().udiv(item, n), cx.b.ins().urem(item, n))
        };
        let idx = cx.unravel(o, &outer_dims);
        let start = cx.b.ins().imul_imm_s(c, i64_of(CHUNK));
        let src_off = cx.dot_strides(&idx, &in_outer);
        let s = cx.b.ins().imul_imm_s(start, in_step);
        let src_off = cx.b.ins().iadd(src_off, s);
        let src_off = cx.b.ins().iadd_imm_s(src_off, offset);
        let s_base = cx.elem_addr(src, src_off, e);
        let o_inner = cx.b.ins().imul_imm_s(o, i64_of(inner));
        let dst_off = cx.b.ins().iadd(o_inner, start);
        let d_base = cx.elem_addr(dst, dst_off, e);
        let run = |cx: &mut KernelCx, len: usize| {
            if in_step == 1 {
                copy_static(cx, s_base, d_base, len * esize);
            } else {
                cx.for_static(0, i64_of(len), 1, |cx, k| {
                    let ks = cx.b.ins().imul_imm_s(k, in_step);
                    let a = cx.elem_addr(s_base, ks, e);
                    let v = cx.load(move_ty(esize), a, 0);
                    let d = cx.elem_addr(d_base, k, e);
                    cx.store(v, d, 0);
                });
            }
        };
        if chunks == 1 {
            run(cx, last_len);
        } else {
            let is_last = cx.b.ins().icmp_imm_s(IntCC::Equal, c, i64_of(chunks - 1));
            cx.if_else(is_last, |cx| run(cx, last_len), |cx| run(cx, CHUNK));
        }
    });
    KernelInfo { work_items: outer * chunks, scratch_bytes: 0 }
}

/// Checks input 0 and output 0 share a dtype; returns its element size.
fn same_dtype(cx: &KernelCx) -> Result<usize, JitError> {
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    if ti.dtype != to.dtype {
        return Err(JitError::invalid(cx.node, format!("input dtype {} != output dtype {}", ti.dtype, to.dtype)));
    }
    elem_bytes(cx, to.dtype)
}

/// `Transpose { perm }` (ONNX `Transpose`): output dim `i` is input dim `perm[i]`; any
/// dtype but 4-bit. A strided copy (see the module docs); when the last input dim stays last
/// the inner runs are contiguous block copies.
pub(crate) fn lower_transpose(cx: &mut KernelCx, perm: &[usize]) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let esize = same_dtype(cx)?;
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let rank = ti.rank();
    let mut seen = vec![false; rank];
    let is_perm = perm.len() == rank && perm.iter().all(|&p| p < rank && !std::mem::replace(&mut seen[p], true));
    let out_shape: Vec<usize> = if is_perm { perm.iter().map(|&p| ti.shape[p]).collect() } else { Vec::new() };
    if !is_perm || out_shape != to.shape {
        return Err(JitError::invalid(cx.node, format!("perm {perm:?} does not map {:?} to {:?}", ti.shape, to.shape)));
    }
    let in_strides = int8xc_ir::strides(&ti.shape);
    let strides: Vec<i64> = perm.iter().map(|&p| i64_of(in_strides[p])).collect();
    Ok(emit_strided_copy(cx, &to.shape, &strides, 0, esize))
}

/// `Slice` (ONNX `Slice`, opset 13, clamped attributes as [`int8xc_ir::SliceAttrs`]
/// documents): a strided copy with strides `step * input_stride` (see the module docs). Every
/// sliced axis is checked at compile time: its first and last selected index lie inside the
/// input, and the output shape matches.
pub(crate) fn lower_slice(cx: &mut KernelCx, a: &int8xc_ir::SliceAttrs) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let esize = same_dtype(cx)?;
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let rank = ti.rank();
    let n = a.axes.len();
    if a.starts.len() != n || a.ends.len() != n || a.steps.len() != n {
        return Err(JitError::invalid(cx.node, "axes, starts, ends and steps differ in length"));
    }
    let in_strides = int8xc_ir::strides(&ti.shape);
    let mut strides: Vec<i64> = in_strides.iter().map(|&s| i64_of(s)).collect();
    let mut shape = ti.shape.clone();
    let mut offset: i128 = 0;
    let mut sliced = vec![false; rank];
    for k in 0..n {
        let (axis, start, end, step) = (a.axes[k], a.starts[k], a.ends[k], a.steps[k]);
        if axis >= rank || std::mem::replace(&mut sliced[axis], true) || step == 0 {
            return Err(JitError::invalid(
                cx.node,
                format!("axes {:?} / steps {:?} invalid for rank {rank}", a.axes, a.steps),
            ));
        }
        let d = i128::from(i64_of(ti.shape[axis]));
        let len = if d == 0 { 0 } else { int8xc_ir::SliceAttrs::output_len(start, end, step) };
        if len > 0 {
            let (first, last) = (i128::from(start), i128::from(start) + (len as i128 - 1) * i128::from(step));
            if !(0..d).contains(&first) || !(0..d).contains(&last) {
                return Err(JitError::invalid(
                    cx.node,
                    format!("axis {axis} (size {d}): start {start}, end {end}, step {step} leave the input"),
                ));
            }
            offset += first * i128::from(strides[axis]);
        }
        strides[axis] = strides[axis].saturating_mul(step);
        shape[axis] = len;
    }
    if shape != to.shape {
        return Err(JitError::invalid(cx.node, format!("sliced shape {shape:?} != output {:?}", to.shape)));
    }
    let offset = i64::try_from(offset).map_err(|_| JitError::invalid(cx.node, "slice offset overflows"))?;
    Ok(emit_strided_copy(cx, &to.shape, &strides, offset, esize))
}

/// `Concat { axis }` (ONNX `Concat`): for each index of the dims before `axis`, every input's
/// block (`dim_j(axis) * inner` contiguous elements) is copied in input order.
///
/// Work item: one index of the dims before `axis` (all inputs' blocks for it).
pub(crate) fn lower_concat(cx: &mut KernelCx, axis: usize) -> Result<KernelInfo, JitError> {
    let n_in = cx.node.inputs.len();
    cx.expect_arity(1..=usize::MAX, 1)?;
    let to = cx.out_ty(0)?;
    let esize = elem_bytes(cx, to.dtype)?;
    let rank = to.rank();
    if axis >= rank {
        return Err(JitError::invalid(cx.node, format!("axis {axis} out of range for rank {rank}")));
    }
    let mut blocks = Vec::with_capacity(n_in);
    let mut total = 0usize;
    for j in 0..n_in {
        let t = cx.in_ty(j)?;
        let ok = t.dtype == to.dtype && t.rank() == rank && (0..rank).all(|d| d == axis || t.shape[d] == to.shape[d]);
        if !ok {
            return Err(JitError::invalid(
                cx.node,
                format!("input {j} ({t}) does not match output {to} outside axis {axis}"),
            ));
        }
        total += t.shape[axis];
        blocks.push(t.shape[axis]);
    }
    if total != to.shape[axis] {
        return Err(JitError::invalid(
            cx.node,
            format!("inputs sum to {total} along axis {axis}, output has {}", to.shape[axis]),
        ));
    }
    let outer: usize = to.shape[..axis].iter().product();
    let inner: usize = to.shape[axis + 1..].iter().product();
    if outer == 0 || inner == 0 || total == 0 {
        return Ok(KernelInfo::default());
    }
    let row = i64_of(total * inner * esize);
    let dst = cx.output(0);
    let ins: Vec<Value> = (0..n_in).map(|j| cx.input(j)).collect();
    cx.for_items(|cx, o| {
        let d_row = cx.elem_addr(dst, o, row);
        let mut at = 0usize;
        for (j, &len) in blocks.iter().enumerate() {
            let bytes = len * inner * esize;
            if bytes == 0 {
                continue;
            }
            let s = cx.elem_addr(ins[j], o, i64_of(bytes));
            let d = cx.b.ins().iadd_imm_s(d_row, i64_of(at));
            copy_static(cx, s, d, bytes);
            at += bytes;
        }
    });
    Ok(KernelInfo { work_items: outer, scratch_bytes: 0 })
}
