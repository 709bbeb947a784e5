//! `Pad` (ONNX `Pad`, opset 2–21; see [`PadAttrs`]): `constant`, `reflect`, `edge` and
//! `wrap` modes on every byte-sized dtype (`f16` only with a zero fill value; not `i4`/`u4`).
//!
//! Each output element copies the input element whose per-axis index is the output index
//! minus `begin`, resolved by the mode where it falls outside `[0, d)` (as the interpreter's
//! `ops/pad.rs`): `edge` clamps, `reflect` mirrors without repeating the edge
//! (`-i`, `2(d-1)-i`), `wrap` adds or subtracts `d`; in `constant` mode such elements get the
//! fill value. Elements are moved as raw bits of their size.
//!
//! Work item: one output row (all of the innermost axis for one index of the outer axes).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::{DType, PadAttrs, PadMode};

use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// The integer type elements of `dt` are moved as, and the fill value's bits in it.
fn elem(cx: &KernelCx, dt: DType, value: f64) -> Result<(Type, i64), JitError> {
    Ok(match dt {
        DType::F32 => (types::I32, i64::from((value as f32).to_bits())),
        DType::F16 if value == 0.0 => (types::I16, 0),
        DType::I64 => (types::I64, value as i64),
        DType::I32 => (types::I32, value as i64),
        DType::I16 => (types::I16, value as i64),
        DType::I8 | DType::U8 => (types::I8, value as i64),
        DType::Bool => (types::I8, i64::from(value != 0.0)),
        other => return Err(JitError::unsupported(cx.node, format!("Pad on dtype {other} (fill value {value})"))),
    })
}

/// The input index along an axis of size `n` for output index `o`, and for `constant` mode
/// whether it is in range (`None`: always in range).
fn source(cx: &mut KernelCx, mode: PadMode, o: Value, begin: usize, n: usize) -> (Value, Option<Value>) {
    let i = cx.b.ins().iadd_imm_s(o, -i64_of(begin));
    let n = i64_of(n);
    let neg = cx.b.ins().icmp_imm_s(IntCC::SignedLessThan, i, 0);
    match mode {
        PadMode::Constant => (i, Some(cx.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, i, n))),
        PadMode::Edge => {
            let zero = cx.iconst(0);
            let last = cx.iconst(n - 1);
            let s = cx.b.ins().smax(i, zero);
            (cx.b.ins().smin(s, last), None)
        }
        PadMode::Reflect => {
            let ni = cx.b.ins().ineg(i);
            let s = cx.b.ins().select(neg, ni, i);
            let over = cx.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, s, n);
            let top = cx.iconst(2 * (n - 1));
            let m = cx.b.ins().isub(top, s);
            (cx.b.ins().select(over, m, s), None)
        }
        PadMode::Wrap => {
            let up = cx.b.ins().iadd_imm_s(i, n);
            let s = cx.b.ins().select(neg, up, i);
            let over = cx.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, s, n);
            let down = cx.b.ins().iadd_imm_s(s, -n);
            (cx.b.ins().select(over, down, s), None)
        }
    }
}

/// Checks the attributes against the node's types (as the shape rule does).
fn check(cx: &KernelCx, a: &PadAttrs) -> Result<(), JitError> {
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let rank = ti.shape.len();
    if ti.dtype != to.dtype || to.shape.len() != rank || a.begin.len() != rank || a.end.len() != rank {
        return Err(JitError::invalid(cx.node, format!("pads do not fit {ti} -> {to}")));
    }
    for d in 0..rank {
        let (n, b, e) = (ti.shape[d], a.begin[d], a.end[d]);
        let padded = b > 0 || e > 0;
        let bad = match a.mode {
            PadMode::Constant => false,
            PadMode::Reflect => padded && (b >= n || e >= n),
            PadMode::Edge => padded && n == 0,
            PadMode::Wrap => padded && (n == 0 || b > n || e > n),
        };
        if bad || n.checked_add(b).and_then(|s| s.checked_add(e)) != Some(to.shape[d]) {
            return Err(JitError::invalid(cx.node, format!("pads ({b}, {e}) of axis {d} do not fit {ti} -> {to}")));
        }
    }
    Ok(())
}

/// `Pad`; see the module docs.
pub(crate) fn lower_pad(cx: &mut KernelCx, a: &PadAttrs) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    check(cx, a)?;
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let (ty, fill) = elem(cx, ti.dtype, a.value)?;
    let esz = i64::from(ty.bytes());
    let total: usize = to.shape.iter().product();
    if total == 0 {
        return Ok(KernelInfo::default());
    }
    // Rank 0 pads nothing: a one-element row.
    let (in_shape, out_shape, begin) = if ti.shape.is_empty() {
        (vec![1], vec![1], vec![0])
    } else {
        (ti.shape.clone(), to.shape.clone(), a.begin.clone())
    };
    let rank = out_shape.len();
    let in_strides: Vec<i64> = int8xc_ir::strides(&in_shape).into_iter().map(i64_of).collect();
    let inner = out_shape[rank - 1];
    let outer_dims = out_shape[..rank - 1].to_vec();
    let rows = total / inner;
    let (x, y) = (cx.input(0), cx.output(0));
    let mode = a.mode;
    let is_padded = |d: usize| in_shape[d] != out_shape[d];
    cx.for_items(|cx, row| {
        let idx = cx.unravel(row, &outer_dims);
        let mut off = cx.iconst(0);
        let mut valid: Option<Value> = None;
        for d in 0..rank - 1 {
            let (s, ok) = if is_padded(d) { source(cx, mode, idx[d], begin[d], in_shape[d]) } else { (idx[d], None) };
            let t = cx.b.ins().imul_imm_s(s, in_strides[d]);
            off = cx.b.ins().iadd(off, t);
            if let Some(ok) = ok {
                valid = Some(match valid {
                    Some(v) => cx.b.ins().band(v, ok),
                    None => ok,
                });
            }
        }
        let row_off = cx.b.ins().imul_imm_s(row, i64_of(inner));
        let out_row = cx.elem_addr(y, row_off, esz);
        let in_row = cx.elem_addr(x, off, esz);
        let last = rank - 1;
        cx.for_static(0, i64_of(inner), 1, |cx, o| {
            let (s, ok) = if is_padded(last) { source(cx, mode, o, begin[last], in_shape[last]) } else { (o, None) };
            let dst = cx.elem_addr(out_row, o, esz);
            let ok = match (valid, ok) {
                (Some(v), Some(k)) => Some(cx.b.ins().band(v, k)),
                (v, k) => v.or(k),
            };
            let copy = |cx: &mut KernelCx| {
                let src = cx.elem_addr(in_row, s, esz);
                let v = cx.load(ty, src, 0);
                cx.store(v, dst, 0);
            };
            match ok {
                Some(ok) => cx.if_else(ok, copy, |cx| {
                    let f = cx.b.ins().iconst(ty, fill);
                    cx.store(f, dst, 0);
                }),
                None => copy(cx),
            }
        });
    });
    Ok(KernelInfo { work_items: rows, scratch_bytes: 0 })
}
