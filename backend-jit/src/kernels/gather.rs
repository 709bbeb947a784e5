//! `Gather` (ONNX `Gather`, opset 13; semantics as the interpreter's `movement::gather`):
//! `data [outer, d, inner]` (the dims before, at and after `axis`), `indices` of any shape
//! with `n` elements → `out [outer, n, inner]`, `out[o, j, :] = data[o, r_j, :]` where
//! `r_j = indices[j]`, plus `d` when negative. Any dtype of whole bytes (`f16` included; the
//! packed 4-bit types cannot be addressed per element) is moved as bytes.
//!
//! Two forms:
//!
//! - **Constant indices**, all in range: resolved at compile time into an `i64` table of
//!   source byte offsets `r_j * inner * esize`, which replaces the indices argument.
//! - **Run-time indices** (`i64` or `i32`; also constant indices with a value
//!   out of range, so that, as in the interpreter, the error happens when the model runs):
//!   each index is loaded, resolved and checked against `[0, d)`; a bad one is not copied
//!   and is reported through the kernel's fault record
//!   ([`FaultKind::IndexOutOfRange`], see [`super::fault`]), so the run returns an error
//!   naming the node and the index. The kernel never reads outside `data`.
//!
//! Work item (both forms): one `(o, j)` pair (`item = o * n + j`), a contiguous copy of
//! `inner` elements. When there is nothing to copy (`outer` or `inner` is 0), run-time
//! indices are still checked, one per work item.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::DType;

use super::layout::copy_static;
use super::{i64_of, FaultKind, KernelCx, KernelInfo};
use crate::JitError;

/// The type a run-time index element is loaded as: `i64` or `i32` (the IR's index dtypes).
pub(crate) fn index_storage(cx: &KernelCx, dt: DType) -> Result<Type, JitError> {
    match dt {
        DType::I64 => Ok(types::I64),
        DType::I32 => Ok(types::I32),
        other => Err(JitError::invalid(cx.node, format!("indices have dtype {other}, expected i64 or i32"))),
    }
}

/// Loads index element `k` of `indices` (stored as `ty`, `i64` or `i32`) as an `i64`.
pub(crate) fn load_index(cx: &mut KernelCx, indices: Value, k: Value, ty: Type) -> Value {
    let a = cx.elem_addr(indices, k, i64::from(ty.bytes()));
    let v = cx.load(ty, a, 0);
    if ty == types::I64 {
        v
    } else {
        cx.b.ins().sextend(types::I64, v)
    }
}

/// Resolves the `i64` index `raw` against an axis of length `d` (`raw + d` when negative);
/// returns the pointer-sized resolved index and whether it lies in `[0, d)`.
pub(crate) fn resolve_index(cx: &mut KernelCx, raw: Value, d: i64) -> (Value, Value) {
    let neg = cx.b.ins().icmp_imm_s(IntCC::SignedLessThan, raw, 0);
    let wrapped = cx.b.ins().iadd_imm_s(raw, d);
    let r = cx.b.ins().select(neg, wrapped, raw);
    // Unsigned compare: a still-negative `r` is huge and fails too.
    let ok = cx.b.ins().icmp_imm_u(IntCC::UnsignedLessThan, r, d);
    let ptr_ty = cx.ptr_ty();
    let r = if ptr_ty == types::I64 { r } else { cx.b.ins().ireduce(ptr_ty, r) };
    (r, ok)
}

/// `Gather { axis }`; see the module docs.
pub(crate) fn lower_gather(cx: &mut KernelCx, axis: usize) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=2, 1)?;
    let (td, ti, to) = (cx.in_ty(0)?, cx.in_ty(1)?, cx.out_ty(0)?);
    if td.dtype != to.dtype {
        return Err(JitError::invalid(cx.node, format!("input dtype {} != output dtype {}", td.dtype, to.dtype)));
    }
    if matches!(td.dtype, DType::I4 | DType::U4) {
        return Err(JitError::unsupported(cx.node, format!("Gather on packed 4-bit dtype {}", td.dtype)));
    }
    let esize = td.dtype.bits() / 8;
    let rank = td.rank();
    if axis >= rank {
        return Err(JitError::invalid(cx.node, format!("axis {axis} out of range for rank {rank}")));
    }
    let want = [&td.shape[..axis], &ti.shape[..], &td.shape[axis + 1..]].concat();
    if want != to.shape {
        return Err(JitError::invalid(cx.node, format!("output {:?}, expected {want:?}", to.shape)));
    }
    let storage = index_storage(cx, ti.dtype)?;
    let d = i64_of(td.shape[axis]);
    let inner: usize = td.shape[axis + 1..].iter().product();
    let outer: usize = td.shape[..axis].iter().product();
    let n_idx = ti.numel();
    let row = i64_of(inner * esize);
    if n_idx == 0 {
        return Ok(KernelInfo::default());
    }
    let table = cx.constant(1).and_then(|t| t.to_i64_vec()).and_then(|values| {
        let resolved: Option<Vec<i64>> =
            values.iter().map(|&i| Some(if i < 0 { i + d } else { i }).filter(|r| (0..d).contains(r))).collect();
        resolved.map(|rs| rs.iter().flat_map(|r| (r * row).to_le_bytes()).collect::<Vec<u8>>())
    });
    let fault = match table {
        Some(table) => {
            cx.pack_input(1, table);
            None
        }
        None => Some(cx.fault_record(FaultKind::IndexOutOfRange { axis, size: td.shape[axis] })),
    };
    let (src, ind, dst) = (cx.input(0), cx.input(1), cx.output(0));
    if outer == 0 || inner == 0 {
        // Nothing to copy, but a bad index is still an error, as in the interpreter.
        let Some(record) = fault else { return Ok(KernelInfo::default()) };
        cx.for_items(|cx, j| {
            let raw = load_index(cx, ind, j, storage);
            let (_, ok) = resolve_index(cx, raw, d);
            let bad = cx.b.ins().bxor_imm_s(ok, 1);
            cx.if_then(bad, |cx| cx.emit_fault(record, raw));
        });
        return Ok(KernelInfo { work_items: n_idx, scratch_bytes: 0 });
    }
    cx.for_items(|cx, item| {
        let (o, j) = if outer == 1 {
            (cx.iconst(0), item)
        } else {
            let n = cx.iconst(i64_of(n_idx));
            (cx.b.ins().udiv(item, n), cx.b.ins().urem(item, n))
        };
        let base = cx.elem_addr(src, o, d * row);
        let dd = cx.elem_addr(dst, item, row);
        match fault {
            None => {
                let t = cx.elem_addr(ind, j, 8);
                let off = cx.load(types::I64, t, 0);
                let s = cx.b.ins().iadd(base, off);
                copy_static(cx, s, dd, inner * esize);
            }
            Some(record) => {
                let raw = load_index(cx, ind, j, storage);
                let (r, ok) = resolve_index(cx, raw, d);
                cx.if_else(
                    ok,
                    |cx| {
                        let s = cx.elem_addr(base, r, row);
                        copy_static(cx, s, dd, inner * esize);
                    },
                    |cx| cx.emit_fault(record, raw),
                );
            }
        }
    });
    Ok(KernelInfo { work_items: outer * n_idx, scratch_bytes: 0 })
}
