//! `GatherElements`, `TopK` and `CumSum` kernels (ONNX opsets 13, 11–24 and 14; semantics as
//! the interpreter's `ops/index.rs`), on the byte-sized dtypes (`f32`, `i64`, `i32`, `i16`,
//! `i8`, `u8`; `bool` for `GatherElements`). Elements are loaded as their own width.
//!
//! - `GatherElements`: as [`Gather`](super::gather::lower_gather), constant indices that are
//!   all in range are resolved at compile time into an `i64` table of source element offsets
//!   that replaces the indices argument; run-time indices (`i64`/`i32`, or
//!   constant ones with a value out of range) are resolved and checked per element, a bad
//!   one skipped and reported through the fault record ([`FaultKind::IndexOutOfRange`], see
//!   [`super::fault`]): the run fails naming the node and the index, and no element outside
//!   `data` is read. Work item: one output element row (the innermost dim).
//! - `TopK`: per lane (one index of the dims around `axis`), `k` rounds of selection over the
//!   `n` elements not yet taken (marked in an `n`-byte scratch), a candidate replacing the
//!   best only when strictly better, so ties keep the lower index; NaN ranks above every
//!   number. `O(k·n)` per lane. Work item: one lane.
//! - `CumSum`: per lane, a running sum in index (or reverse) order: `f32` adds in the
//!   interpreter's order (bit-identical), integers wrap at their own width, which equals the
//!   interpreter's `i64` sum wrapped to the dtype. Work item: one lane.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::{CumSumAttrs, DType, TopKAttrs};

use super::gather::{index_storage, load_index, resolve_index};
use super::{i64_of, FaultKind, KernelCx, KernelInfo};
use crate::JitError;

/// The CLIF type `dt` is loaded as, and whether integers compare unsigned.
fn elem_ty(cx: &KernelCx, dt: DType, allow_bool: bool) -> Result<(Type, bool), JitError> {
    Ok(match dt {
        DType::F32 => (types::F32, false),
        DType::I64 => (types::I64, false),
        DType::I32 => (types::I32, false),
        DType::I16 => (types::I16, false),
        DType::I8 => (types::I8, false),
        DType::U8 => (types::I8, true),
        DType::Bool if allow_bool => (types::I8, true),
        other => return Err(JitError::unsupported(cx.node, format!("{} on dtype {other}", cx.node.op.name()))),
    })
}

/// `(outer, n, inner)` extents around `axis`.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

/// The compile-time table of source element offsets of `GatherElements` with constant
/// `values` over indices shape `ishape` and data `dshape`; `None` when an index is out of
/// range (the run-time form then reports it).
fn gather_elements_table(values: &[i64], ishape: &[usize], dshape: &[usize], axis: usize) -> Option<Vec<u8>> {
    let strides = int8xc_ir::strides(dshape);
    let n = i64_of(dshape[axis]);
    let mut table = Vec::with_capacity(values.len() * 8);
    let mut idx = vec![0usize; ishape.len()];
    for &raw in values {
        let j = if raw < 0 { raw + n } else { raw };
        if !(0..n).contains(&j) {
            return None;
        }
        let off: usize =
            idx.iter().zip(&strides).enumerate().map(|(d, (&i, &s))| if d == axis { j as usize } else { i } * s).sum();
        table.extend_from_slice(&i64_of(off).to_le_bytes());
        for d in (0..ishape.len()).rev() {
            idx[d] += 1;
            if idx[d] < ishape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Some(table)
}

/// `GatherElements { axis }`; see the module docs.
pub(crate) fn lower_gather_elements(cx: &mut KernelCx, axis: usize) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=2, 1)?;
    let (td, ti, to) = (cx.in_ty(0)?, cx.in_ty(1)?, cx.out_ty(0)?);
    let (ty, _) = elem_ty(cx, td.dtype, true)?;
    let rank = td.rank();
    if to.dtype != td.dtype || to.shape != ti.shape || ti.rank() != rank || axis >= rank {
        return Err(JitError::invalid(cx.node, format!("types {td}, {ti} -> {to} (axis {axis})")));
    }
    if (0..rank).any(|d| d != axis && ti.shape[d] > td.shape[d]) {
        return Err(JitError::invalid(cx.node, format!("indices {ti} exceed data {td}")));
    }
    let storage = index_storage(cx, ti.dtype)?;
    let total = ti.numel();
    if total == 0 {
        return Ok(KernelInfo::default());
    }
    let table =
        cx.constant(1).and_then(|t| t.to_i64_vec()).and_then(|v| gather_elements_table(&v, &ti.shape, &td.shape, axis));
    let fault = match table {
        Some(table) => {
            cx.pack_input(1, table);
            None
        }
        None => Some(cx.fault_record(FaultKind::IndexOutOfRange { axis, size: td.shape[axis] })),
    };
    let inner = ti.shape[rank - 1];
    let esz = i64::from(ty.bytes());
    let n = i64_of(td.shape[axis]);
    let strides: Vec<i64> = int8xc_ir::strides(&td.shape).into_iter().map(i64_of).collect();
    // Data offset of a row's first element without the `axis` coordinate.
    let row_strides: Vec<i64> = (0..rank - 1).map(|d| if d == axis { 0 } else { strides[d] }).collect();
    let row_dims = ti.shape[..rank - 1].to_vec();
    let (src, ind, dst) = (cx.input(0), cx.input(1), cx.output(0));
    cx.for_items(|cx, row| {
        let base = cx.b.ins().imul_imm_s(row, i64_of(inner));
        let data_base = match fault {
            Some(_) => {
                let idx = cx.unravel(row, &row_dims);
                cx.dot_strides(&idx, &row_strides)
            }
            None => base,
        };
        cx.for_static(0, i64_of(inner), 1, |cx, k| {
            let e = cx.b.ins().iadd(base, k);
            let d = cx.elem_addr(dst, e, esz);
            match fault {
                None => {
                    let t = cx.elem_addr(ind, e, 8);
                    let off = cx.load(types::I64, t, 0);
                    let s = cx.elem_addr(src, off, esz);
                    let v = cx.load(ty, s, 0);
                    cx.store(v, d, 0);
                }
                Some(record) => {
                    let raw = load_index(cx, ind, e, storage);
                    let (r, ok) = resolve_index(cx, raw, n);
                    cx.if_else(
                        ok,
                        |cx| {
                            // The last coordinate is `k`, or `r` when it is the gathered axis.
                            let off = if axis == rank - 1 {
                                cx.b.ins().iadd(data_base, r)
                            } else {
                                let ra = cx.b.ins().imul_imm_s(r, strides[axis]);
                                let o = cx.b.ins().iadd(data_base, ra);
                                cx.b.ins().iadd(o, k)
                            };
                            let s = cx.elem_addr(src, off, esz);
                            let v = cx.load(ty, s, 0);
                            cx.store(v, d, 0);
                        },
                        |cx| cx.emit_fault(record, raw),
                    );
                }
            }
        });
    });
    Ok(KernelInfo { work_items: total / inner, scratch_bytes: 0 })
}

/// Whether candidate `v` ranks strictly before the current best `b` (see the module docs).
fn better(cx: &mut KernelCx, v: Value, b: Value, ty: Type, unsigned: bool, largest: bool) -> Value {
    if ty == types::F32 {
        // NaN ranks above every number.
        let v_nan = cx.b.ins().fcmp(FloatCC::Unordered, v, v);
        let b_nan = cx.b.ins().fcmp(FloatCC::Unordered, b, b);
        if largest {
            let gt = cx.b.ins().fcmp(FloatCC::GreaterThan, v, b);
            let nb = cx.b.ins().bxor_imm_s(b_nan, 1);
            let nan_win = cx.b.ins().band(v_nan, nb);
            cx.b.ins().bor(gt, nan_win)
        } else {
            let lt = cx.b.ins().fcmp(FloatCC::LessThan, v, b);
            let nv = cx.b.ins().bxor_imm_s(v_nan, 1);
            let num_win = cx.b.ins().band(b_nan, nv);
            cx.b.ins().bor(lt, num_win)
        }
    } else {
        let cc = match (largest, unsigned) {
            (true, false) => IntCC::SignedGreaterThan,
            (true, true) => IntCC::UnsignedGreaterThan,
            (false, false) => IntCC::SignedLessThan,
            (false, true) => IntCC::UnsignedLessThan,
        };
        cx.b.ins().icmp(cc, v, b)
    }
}

/// `TopK`; see the module docs. Outputs values and `i64` indices.
pub(crate) fn lower_top_k(cx: &mut KernelCx, a: &TopKAttrs) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 2)?;
    let (tx, tv, tix) = (cx.in_ty(0)?, cx.out_ty(0)?, cx.out_ty(1)?);
    let (ty, unsigned) = elem_ty(cx, tx.dtype, false)?;
    if a.axis >= tx.rank() || a.k > tx.shape[a.axis] {
        return Err(JitError::invalid(cx.node, format!("axis {} / k {} do not fit {tx}", a.axis, a.k)));
    }
    let mut want = tx.shape.clone();
    want[a.axis] = a.k;
    if tv.dtype != tx.dtype || tv.shape != want || tix.dtype != DType::I64 || tix.shape != want {
        return Err(JitError::invalid(cx.node, format!("outputs {tv}, {tix} do not fit {tx} with k = {}", a.k)));
    }
    let (outer, n, inner) = split(&tx.shape, a.axis);
    let lanes = outer * inner;
    if lanes == 0 || a.k == 0 {
        return Ok(KernelInfo::default());
    }
    let (k, largest) = (a.k, a.largest);
    let esz = i64::from(ty.bytes());
    let (x, yv, yi, flags) = (cx.input(0), cx.output(0), cx.output(1), cx.scratch());
    cx.for_items(|cx, lane| {
        let inner_v = cx.iconst(i64_of(inner));
        let o = cx.b.ins().udiv(lane, inner_v);
        let i = cx.b.ins().urem(lane, inner_v);
        // Element j of this lane: (o * n + j) * inner + i; output rank r: (o * k + r) * inner + i.
        let in_base = cx.b.ins().imul_imm_s(o, i64_of(n * inner));
        let in_base = cx.b.ins().iadd(in_base, i);
        let out_base = cx.b.ins().imul_imm_s(o, i64_of(k * inner));
        let out_base = cx.b.ins().iadd(out_base, i);
        cx.for_static(0, i64_of(n), 1, |cx, j| {
            let f = cx.elem_addr(flags, j, 1);
            let z = cx.b.ins().iconst(types::I8, 0);
            cx.store(z, f, 0);
        });
        let best_j = cx.b.declare_var(cx.ptr_ty());
        let best_v = cx.b.declare_var(ty);
        cx.for_static(0, i64_of(k), 1, |cx, r| {
            let none = cx.iconst(-1);
            cx.b.def_var(best_j, none);
            let zero = if ty == types::F32 { cx.b.ins().f32const(0.0) } else { cx.b.ins().iconst(ty, 0) };
            cx.b.def_var(best_v, zero);
            cx.for_static(0, i64_of(n), 1, |cx, j| {
                let f = cx.elem_addr(flags, j, 1);
                let taken = cx.load(types::I8, f, 0);
                let free = cx.b.ins().icmp_imm_s(IntCC::Equal, taken, 0);
                cx.if_then(free, |cx| {
                    let e = cx.b.ins().imul_imm_s(j, i64_of(inner));
                    let e = cx.b.ins().iadd(in_base, e);
                    let p = cx.elem_addr(x, e, esz);
                    let v = cx.load(ty, p, 0);
                    let (bj, bv) = (cx.b.use_var(best_j), cx.b.use_var(best_v));
                    let first = cx.b.ins().icmp_imm_s(IntCC::SignedLessThan, bj, 0);
                    let win = better(cx, v, bv, ty, unsigned, largest);
                    let take = cx.b.ins().bor(first, win);
                    let nj = cx.b.ins().select(take, j, bj);
                    let nv = cx.b.ins().select(take, v, bv);
                    cx.b.def_var(best_j, nj);
                    cx.b.def_var(best_v, nv);
                });
            });
            let (bj, bv) = (cx.b.use_var(best_j), cx.b.use_var(best_v));
            let f = cx.elem_addr(flags, bj, 1);
            let one = cx.b.ins().iconst(types::I8, 1);
            cx.store(one, f, 0);
            let e = cx.b.ins().imul_imm_s(r, i64_of(inner));
            let e = cx.b.ins().iadd(out_base, e);
            let pv = cx.elem_addr(yv, e, esz);
            cx.store(bv, pv, 0);
            let pi = cx.elem_addr(yi, e, 8);
            let bj64 = if cx.ptr_ty() == types::I64 { bj } else { cx.b.ins().sextend(types::I64, bj) };
            cx.store(bj64, pi, 0);
        });
    });
    Ok(KernelInfo { work_items: lanes, scratch_bytes: n })
}

/// `CumSum`; see the module docs.
pub(crate) fn lower_cum_sum(cx: &mut KernelCx, a: &CumSumAttrs) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let (tx, ty_out) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let (ty, _) = elem_ty(cx, tx.dtype, false)?;
    if a.axis >= tx.rank() || ty_out.dtype != tx.dtype || ty_out.shape != tx.shape {
        return Err(JitError::invalid(cx.node, format!("axis {} / output {ty_out} do not fit {tx}", a.axis)));
    }
    let (outer, n, inner) = split(&tx.shape, a.axis);
    let lanes = outer * inner;
    if lanes == 0 || n == 0 {
        return Ok(KernelInfo::default());
    }
    let esz = i64::from(ty.bytes());
    let (x, y) = (cx.input(0), cx.output(0));
    let (exclusive, reverse) = (a.exclusive, a.reverse);
    cx.for_items(|cx, lane| {
        let inner_v = cx.iconst(i64_of(inner));
        let o = cx.b.ins().udiv(lane, inner_v);
        let i = cx.b.ins().urem(lane, inner_v);
        let base = cx.b.ins().imul_imm_s(o, i64_of(n * inner));
        let base = cx.b.ins().iadd(base, i);
        let acc = cx.b.declare_var(ty);
        let zero = if ty == types::F32 { cx.b.ins().f32const(0.0) } else { cx.b.ins().iconst(ty, 0) };
        cx.b.def_var(acc, zero);
        cx.for_static(0, i64_of(n), 1, |cx, step| {
            let j = if reverse {
                let last = cx.iconst(i64_of(n - 1));
                cx.b.ins().isub(last, step)
            } else {
                step
            };
            let e = cx.b.ins().imul_imm_s(j, i64_of(inner));
            let e = cx.b.ins().iadd(base, e);
            let p = cx.elem_addr(x, e, esz);
            let v = cx.load(ty, p, 0);
            let cur = cx.b.use_var(acc);
            let next = if ty == types::F32 { cx.b.ins().fadd(cur, v) } else { cx.b.ins().iadd(cur, v) };
            cx.b.def_var(acc, next);
            let d = cx.elem_addr(y, e, esz);
            cx.store(if exclusive { cur } else { next }, d, 0);
        });
    });
    Ok(KernelInfo { work_items: lanes, scratch_bytes: 0 })
}
