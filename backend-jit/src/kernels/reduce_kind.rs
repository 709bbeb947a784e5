//! `Reduce` (ONNX `ReduceSum`/`Max`/`Min`/`Prod`/`L1`/`L2`/`SumSquare`/`LogSum`/`LogSumExp`)
//! and `LogSoftmax`, on f32.
//!
//! `Reduce`: work item = one output element. Its group of input elements is walked with
//! static loops over the reduced axes in row-major order, accumulating in scalar f32 from the
//! identity exactly as the interpreter does (so `Sum`, `Max`, `Min`, `Prod`, `L1`,
//! `SumSquare` and `L2` are bit-exact; `LogSum`/`LogSumExp` use the polynomial `ln`/`exp`).
//! `LogSumExp` makes two passes (max, then `Σ exp(x - max)`).
//!
//! `LogSoftmax`: work item = one row along `axis` (`outer * inner` rows); three passes (max,
//! `Σ exp(x - max)`, `x - max - ln(sum)`).

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use int8xc_ir::ReduceKind;

use super::elementwise::select_f;
use super::math::exp;
use super::reduce::nest;
use super::unary_math::ln;
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// Sums `g(x)` over the group at `base` (element offsets `dims`), starting from `init`.
fn fold(
    cx: &mut KernelCx,
    src: Value,
    base: Value,
    dims: &[(usize, i64)],
    init: f32,
    step: &dyn Fn(&mut KernelCx, Value, Value) -> Value,
) -> Value {
    let acc = cx.b.declare_var(types::F32);
    let z = cx.fconst(types::F32, init);
    cx.b.def_var(acc, z);
    nest(cx, dims, base, &mut |cx, off| {
        let a = cx.elem_addr(src, off, 4);
        let v = cx.load(types::F32, a, 0);
        let cur = cx.b.use_var(acc);
        let nv = step(cx, cur, v);
        cx.b.def_var(acc, nv);
    });
    cx.b.use_var(acc)
}

/// `Reduce { kind, axes, keepdims }` on f32; see the module docs.
pub(crate) fn lower_reduce(
    cx: &mut KernelCx,
    kind: ReduceKind,
    axes: &[usize],
    keepdims: bool,
) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    super::require_f32(cx)?;
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let s = &ti.shape;
    let rank = s.len();
    if !axes.windows(2).all(|w| w[0] < w[1]) || axes.iter().any(|&a| a >= rank) {
        return Err(JitError::invalid(cx.node, format!("axes {axes:?} invalid for rank {rank}")));
    }
    let kept: Vec<usize> = (0..rank).map(|d| if axes.contains(&d) { 1 } else { s[d] }).collect();
    let want: Vec<usize> =
        if keepdims { kept.clone() } else { (0..rank).filter(|d| !axes.contains(d)).map(|d| s[d]).collect() };
    if want != to.shape {
        return Err(JitError::invalid(cx.node, format!("output {:?}, expected {want:?}", to.shape)));
    }
    let n_out = to.numel();
    if n_out == 0 {
        return Ok(KernelInfo::default());
    }
    let strides: Vec<i64> = int8xc_ir::strides(s).into_iter().map(i64_of).collect();
    let kept_strides: Vec<i64> = (0..rank).map(|d| if axes.contains(&d) { 0 } else { strides[d] }).collect();
    let red: Vec<(usize, i64)> = axes.iter().map(|&a| (s[a], strides[a])).collect();
    let (src, dst) = (cx.input(0), cx.output(0));
    cx.for_items(|cx, item| {
        let idx = cx.unravel(item, &kept);
        let base = cx.dot_strides(&idx, &kept_strides);
        let fadd = |cx: &mut KernelCx, a: Value, v: Value| cx.b.ins().fadd(a, v);
        let r = match kind {
            ReduceKind::Sum => fold(cx, src, base, &red, 0.0, &fadd),
            ReduceKind::Max => fold(cx, src, base, &red, f32::NEG_INFINITY, &|cx, a, v| cx.b.ins().fmax(a, v)),
            ReduceKind::Min => fold(cx, src, base, &red, f32::INFINITY, &|cx, a, v| cx.b.ins().fmin(a, v)),
            ReduceKind::Prod => fold(cx, src, base, &red, 1.0, &|cx, a, v| cx.b.ins().fmul(a, v)),
            ReduceKind::L1 => fold(cx, src, base, &red, 0.0, &|cx, a, v| {
                let av = cx.b.ins().fabs(v);
                cx.b.ins().fadd(a, av)
            }),
            ReduceKind::SumSquare | ReduceKind::L2 => {
                let sq = fold(cx, src, base, &red, 0.0, &|cx, a, v| {
                    let v2 = cx.b.ins().fmul(v, v);
                    cx.b.ins().fadd(a, v2)
                });
                if kind == ReduceKind::L2 {
                    cx.b.ins().sqrt(sq)
                } else {
                    sq
                }
            }
            ReduceKind::LogSum => {
                let sum = fold(cx, src, base, &red, 0.0, &fadd);
                ln(cx, sum, types::F32)
            }
            ReduceKind::LogSumExp => {
                let m = fold(cx, src, base, &red, f32::NEG_INFINITY, &|cx, a, v| cx.b.ins().fmax(a, v));
                let sum = fold(cx, src, base, &red, 0.0, &|cx, a, v| {
                    let d = cx.b.ins().fsub(v, m);
                    let e = exp(cx, d, types::F32);
                    cx.b.ins().fadd(a, e)
                });
                let l = ln(cx, sum, types::F32);
                let r = cx.b.ins().fadd(m, l);
                let am = cx.b.ins().fabs(m);
                let inf = cx.fconst(types::F32, f32::INFINITY);
                let is_inf = cx.b.ins().fcmp(FloatCC::Equal, am, inf);
                select_f(cx, is_inf, m, r)
            }
        };
        let d = cx.elem_addr(dst, item, 4);
        cx.store(r, d, 0);
    });
    Ok(KernelInfo { work_items: n_out, scratch_bytes: 0 })
}

/// `LogSoftmax { axis }` on f32; see the module docs.
pub(crate) fn lower_log_softmax(cx: &mut KernelCx, axis: usize) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    super::require_f32(cx)?;
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    if ti.shape != to.shape || axis >= ti.rank() {
        return Err(JitError::invalid(cx.node, format!("axis {axis} / shapes {:?} -> {:?}", ti.shape, to.shape)));
    }
    let s = &ti.shape;
    let (outer, len, inner) = (s[..axis].iter().product::<usize>(), s[axis], s[axis + 1..].iter().product::<usize>());
    if outer * len * inner == 0 {
        return Ok(KernelInfo::default());
    }
    let (src, dst) = (cx.input(0), cx.output(0));
    let dims = [(len, i64_of(inner))];
    cx.for_items(|cx, item| {
        let n = cx.iconst(i64_of(inner));
        let (o, i) = (cx.b.ins().udiv(item, n), cx.b.ins().urem(item, n));
        let ob = cx.b.ins().imul_imm_s(o, i64_of(len * inner));
        let base = cx.b.ins().iadd(ob, i);
        // f32::max in the interpreter ignores NaN; `x < m ? m : x` does too.
        let m = fold(cx, src, base, &dims, f32::NEG_INFINITY, &|cx, a, v| {
            let lt = cx.b.ins().fcmp(FloatCC::LessThan, v, a);
            let unord = cx.b.ins().fcmp(FloatCC::Unordered, v, v);
            let keep = cx.b.ins().bor(lt, unord);
            cx.b.ins().select(keep, a, v)
        });
        let sum = fold(cx, src, base, &dims, 0.0, &|cx, a, v| {
            let d = cx.b.ins().fsub(v, m);
            let e = exp(cx, d, types::F32);
            cx.b.ins().fadd(a, e)
        });
        let l = ln(cx, sum, types::F32);
        nest(cx, &dims, base, &mut |cx, off| {
            let a = cx.elem_addr(src, off, 4);
            let v = cx.load(types::F32, a, 0);
            let d = cx.b.ins().fsub(v, m);
            let y = cx.b.ins().fsub(d, l);
            let p = cx.elem_addr(dst, off, 4);
            cx.store(y, p, 0);
        });
    });
    Ok(KernelInfo { work_items: outer * inner, scratch_bytes: 0 })
}
