//! `MatMulInteger` whose `b` or `b_zero_point` is a run-time value, or whose run-time
//! `a_zero_point` has more than one element. The dynamic-quantization pattern
//! (`DynamicQuantizeLinear → MatMulInteger` with constant weights: a run-time scalar `a` zero
//! point) and the constant case run on the int8 microkernel (`qmatmul.rs`); here every operand
//! is read at run time, so the kernel is a plain `i32x4` loop nest:
//!
//! ```text
//! y[r, n] = Σ_k (a[r, k] - za) · (b[k, n] - zb[n])      (i32, wrapping; exact)
//! ```
//!
//! with `a` `[batch…, M, K]` (rows `r` over batch and `M`), `b` `[K, N]`, `za` one value
//! (scalar or `[1]`), `zb` one value or `[N]` (each optional, 0 when absent; constants or
//! run-time values alike; `b` may be a run-time value too). Work item: one output row; 4 columns per step, scalar tail.

use cranelift_codegen::ir::{types, InstBuilder, Value};
use int8xc_ir::DType;

use super::qgemm::le;
use super::quantize::load_int;
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// True for the `MatMulInteger` nodes this file lowers: `b` or `b_zero_point` is a run-time
/// value, or `a_zero_point` is a run-time value of more than one element. (A run-time scalar
/// `a_zero_point` with constant `b` — dynamic quantization — runs on the microkernel,
/// `qmatmul.rs`.)
pub(crate) fn has_runtime_operand(cx: &KernelCx) -> bool {
    let runtime = |i: usize| cx.node.inputs.len() > i && cx.constant(i).is_none();
    runtime(1) || runtime(3) || (runtime(2) && cx.in_ty(2).map_or(true, |t| t.numel() != 1))
}

/// `(type, signed)` of a `u8`/`i8` operand.
fn byte_operand(cx: &KernelCx, what: &str, dt: DType) -> Result<bool, JitError> {
    match dt {
        DType::U8 => Ok(false),
        DType::I8 => Ok(true),
        other => Err(JitError::unsupported(cx.node, format!("{what} has dtype {other} (JIT: u8, i8)"))),
    }
}

/// Four bytes at `addr` widened to an `i32x4`.
fn load4(cx: &mut KernelCx, addr: Value, signed: bool) -> Value {
    let w = cx.load(types::I32, addr, 0);
    let v = cx.b.ins().scalar_to_vector(types::I32X4, w);
    let v = cx.b.ins().bitcast(types::I8X16, le(), v);
    let v = if signed { cx.b.ins().swiden_low(v) } else { cx.b.ins().uwiden_low(v) };
    cx.b.ins().swiden_low(v)
}

/// `MatMulInteger` with run-time zero points (see the module docs).
pub(crate) fn lower_matmul_integer_dynamic(cx: &mut KernelCx) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=4, 1)?;
    let (ta, tb, to) = (cx.in_ty(0)?, cx.in_ty(1)?, cx.out_ty(0)?);
    let sa = byte_operand(cx, "a", ta.dtype)?;
    let sb = byte_operand(cx, "b", tb.dtype)?;
    let (&[k, n], true) = (tb.shape.as_slice(), ta.rank() >= 2) else {
        return Err(JitError::unsupported(cx.node, format!("a {ta} x b {tb} (JIT: b of rank 2, a of rank >= 2)")));
    };
    let ra = ta.rank();
    let mut want = ta.shape.clone();
    want[ra - 1] = n;
    if ta.shape[ra - 1] != k || to.shape != want || to.dtype != DType::I32 {
        return Err(JitError::invalid(cx.node, format!("{ta} x {tb} -> {to}")));
    }
    let mut zps = [None, None];
    for (slot, i, dt, len) in [(0usize, 2usize, ta.dtype, 1usize), (1, 3, tb.dtype, n)] {
        if let Ok(t) = cx.in_ty(i) {
            if t.dtype != dt || !(t.numel() == 1 || t.numel() == len) {
                return Err(JitError::unsupported(
                    cx.node,
                    format!("zero point {i} is {t} (JIT: {dt}, one value{})", if len > 1 { " or [N]" } else { "" }),
                ));
            }
            zps[slot] = Some((cx.input(i), t.numel() > 1));
        }
    }
    let rows: usize = ta.shape[..ra - 1].iter().product();
    if rows == 0 || n == 0 {
        return Ok(KernelInfo::default());
    }
    let (pa, pb, py) = (cx.input(0), cx.input(1), cx.output(0));
    let (k, n) = (i64_of(k), i64_of(n));
    cx.for_items(|cx, r| {
        let za = match zps[0] {
            Some((p, _)) => load_int(cx, types::I8, sa, p),
            None => cx.b.ins().iconst(types::I32, 0),
        };
        let ar = cx.b.ins().imul_imm_s(r, k);
        let ar = cx.b.ins().iadd(pa, ar);
        let yr = cx.b.ins().imul_imm_s(r, n * 4);
        let yr = cx.b.ins().iadd(py, yr);
        let zb_at = |cx: &mut KernelCx, col: Value, lanes: bool| -> Value {
            match zps[1] {
                Some((p, true)) => {
                    let a = cx.b.ins().iadd(p, col);
                    if lanes {
                        load4(cx, a, sb)
                    } else {
                        load_int(cx, types::I8, sb, a)
                    }
                }
                Some((p, false)) => {
                    let z = load_int(cx, types::I8, sb, p);
                    if lanes {
                        cx.b.ins().splat(types::I32X4, z)
                    } else {
                        z
                    }
                }
                None => {
                    let z = cx.b.ins().iconst(types::I32, 0);
                    if lanes {
                        cx.b.ins().splat(types::I32X4, z)
                    } else {
                        z
                    }
                }
            }
        };
        let column = |cx: &mut KernelCx, col: Value, lanes: bool| {
            let ty = if lanes { types::I32X4 } else { types::I32 };
            let zb = zb_at(cx, col, lanes);
            let acc = cx.b.declare_var(ty);
            let z = cx.b.ins().iconst(types::I32, 0);
            let z = if lanes { cx.b.ins().splat(ty, z) } else { z };
            cx.b.def_var(acc, z);
            cx.for_static(0, k, 1, |cx, kk| {
                let a = cx.b.ins().iadd(ar, kk);
                let a = load_int(cx, types::I8, sa, a);
                let a = cx.b.ins().isub(a, za);
                let a = if lanes { cx.b.ins().splat(ty, a) } else { a };
                let bo = cx.b.ins().imul_imm_s(kk, n);
                let bo = cx.b.ins().iadd(bo, col);
                let b = cx.b.ins().iadd(pb, bo);
                let b = if lanes { load4(cx, b, sb) } else { load_int(cx, types::I8, sb, b) };
                let b = cx.b.ins().isub(b, zb);
                let p = cx.b.ins().imul(a, b);
                let s = cx.b.use_var(acc);
                let s = cx.b.ins().iadd(s, p);
                cx.b.def_var(acc, s);
            });
            let o = cx.elem_addr(yr, col, 4);
            let v = cx.b.use_var(acc);
            cx.store(v, o, 0);
        };
        let vend = n & !3;
        cx.for_static(0, vend, 4, |cx, col| column(cx, col, true));
        cx.for_static(vend, n, 1, |cx, col| column(cx, col, false));
    });
    Ok(KernelInfo { work_items: rows, scratch_bytes: 0 })
}
