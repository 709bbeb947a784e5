//! `Reduce` (ONNX `ReduceSum`/`Max`/`Min`/`Prod`/`L1`/`L2`/`SumSquare`/`LogSum`/`LogSumExp`)
//! on f32, f16 and the integer dtypes, and `LogSoftmax` on f32.
//!
//! `Reduce`: work item = one output element. Its group of input elements is walked with
//! static loops over the reduced axes in row-major order, accumulating from the identity
//! exactly as the interpreter does (`backend-interp/src/ops/reduce_kind.rs`):
//!
//! - floats in scalar f32 (f16 widened exactly, the result rounded to f16 once), so `Sum`,
//!   `Max`, `Min`, `Prod`, `L1`, `SumSquare` and `L2` are bit-exact; `LogSum`/`LogSumExp` use
//!   the polynomial `ln`/`exp`. `LogSumExp` makes two passes (max, then `Σ exp(x - max)`).
//! - integers (`i64`, `i32`, `i16`, `i8`, `u8`) in `i64` with wrapping `Sum`, `Prod`, `L1`,
//!   `SumSquare`, and `Max`/`Min` starting from the dtype's minimum / maximum (the result of
//!   an empty reduction); the result is wrapped to the dtype. Wrapping in `i64` and then to
//!   the dtype equals the interpreter's result. `L2`, `LogSum` and `LogSumExp` on integers
//!   are unsupported, as in the interpreter.
//!
//! `LogSoftmax`: work item = one row along `axis` (`outer * inner` rows); three passes (max,
//! `Σ exp(x - max)`, `x - max - ln(sum)`).

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::{DType, ReduceKind};

use super::elementwise::select_f;
use super::f16::{load_f16, store_f16};
use super::math::exp;
use super::reduce::nest;
use super::unary_math::ln;
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// How the elements of a reduction are stored.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Elems {
    F32,
    F16,
    /// An integer of this memory type, sign-extended when the flag is set.
    Int(Type, bool),
}

impl Elems {
    fn bytes(self) -> i64 {
        match self {
            Elems::F32 => 4,
            Elems::F16 => 2,
            Elems::Int(ty, _) => i64::from(ty.bytes()),
        }
    }

    /// Loads element `off` of `src` as `f32` or `i64`.
    fn load(self, cx: &mut KernelCx, src: Value, off: Value) -> Value {
        let a = cx.elem_addr(src, off, self.bytes());
        match self {
            Elems::F32 => cx.load(types::F32, a, 0),
            Elems::F16 => load_f16(cx, a),
            Elems::Int(types::I64, _) => cx.load(types::I64, a, 0),
            Elems::Int(ty, signed) => {
                let v = cx.load(ty, a, 0);
                if signed {
                    cx.b.ins().sextend(types::I64, v)
                } else {
                    cx.b.ins().uextend(types::I64, v)
                }
            }
        }
    }
}

/// Folds `step(acc, x)` over the group at `base` (element offsets `dims`), starting from
/// `init` (an `f32` or `i64` value).
fn fold(
    cx: &mut KernelCx,
    (src, elems): (Value, Elems),
    base: Value,
    dims: &[(usize, i64)],
    init: Value,
    step: &dyn Fn(&mut KernelCx, Value, Value) -> Value,
) -> Value {
    let ty = cx.b.func.dfg.value_type(init);
    let acc = cx.b.declare_var(ty);
    cx.b.def_var(acc, init);
    nest(cx, dims, base, &mut |cx, off| {
        let v = elems.load(cx, src, off);
        let cur = cx.b.use_var(acc);
        let nv = step(cx, cur, v);
        cx.b.def_var(acc, nv);
    });
    cx.b.use_var(acc)
}

/// [`fold`] from an `f32` identity.
fn fold_f(
    cx: &mut KernelCx,
    src: (Value, Elems),
    base: Value,
    dims: &[(usize, i64)],
    init: f32,
    step: &dyn Fn(&mut KernelCx, Value, Value) -> Value,
) -> Value {
    let init = cx.fconst(types::F32, init);
    fold(cx, src, base, dims, init, step)
}

/// The integer range of an integer dtype (as the interpreter's `int_range`).
fn int_range(dt: DType) -> (i64, i64) {
    match dt {
        DType::I32 => (i32::MIN.into(), i32::MAX.into()),
        DType::I16 => (i16::MIN.into(), i16::MAX.into()),
        DType::I8 => (i8::MIN.into(), i8::MAX.into()),
        DType::U8 => (0, u8::MAX.into()),
        _ => (i64::MIN, i64::MAX),
    }
}

/// The integer reduction of one group (see the module docs); `None` for the float-only kinds.
fn reduce_int(
    cx: &mut KernelCx,
    kind: ReduceKind,
    dt: DType,
    src: (Value, Elems),
    base: Value,
    red: &[(usize, i64)],
) -> Option<Value> {
    let (lo, hi) = int_range(dt);
    let c = |cx: &mut KernelCx, v: i64| cx.b.ins().iconst(types::I64, v);
    Some(match kind {
        ReduceKind::Sum => {
            let z = c(cx, 0);
            fold(cx, src, base, red, z, &|cx, a, v| cx.b.ins().iadd(a, v))
        }
        ReduceKind::Max => {
            let z = c(cx, lo);
            fold(cx, src, base, red, z, &|cx, a, v| cx.b.ins().smax(a, v))
        }
        ReduceKind::Min => {
            let z = c(cx, hi);
            fold(cx, src, base, red, z, &|cx, a, v| cx.b.ins().smin(a, v))
        }
        ReduceKind::Prod => {
            let z = c(cx, 1);
            fold(cx, src, base, red, z, &|cx, a, v| cx.b.ins().imul(a, v))
        }
        ReduceKind::L1 => {
            let z = c(cx, 0);
            fold(cx, src, base, red, z, &|cx, a, v| {
                let av = cx.b.ins().iabs(v);
                cx.b.ins().iadd(a, av)
            })
        }
        ReduceKind::SumSquare => {
            let z = c(cx, 0);
            fold(cx, src, base, red, z, &|cx, a, v| {
                let v2 = cx.b.ins().imul(v, v);
                cx.b.ins().iadd(a, v2)
            })
        }
        ReduceKind::L2 | ReduceKind::LogSum | ReduceKind::LogSumExp => return None,
    })
}

/// `Reduce { kind, axes, keepdims }` on f32, f16 or an integer dtype; see the module docs.
pub(crate) fn lower_reduce(
    cx: &mut KernelCx,
    kind: ReduceKind,
    axes: &[usize],
    keepdims: bool,
) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let dt = ti.dtype;
    let elems = match dt {
        DType::F32 => Elems::F32,
        DType::F16 => Elems::F16,
        DType::I64 => Elems::Int(types::I64, true),
        DType::I32 => Elems::Int(types::I32, true),
        DType::I16 => Elems::Int(types::I16, true),
        DType::I8 => Elems::Int(types::I8, true),
        DType::U8 => Elems::Int(types::I8, false),
        other => return Err(JitError::unsupported(cx.node, format!("{} on dtype {other}", kind.name()))),
    };
    let is_int = matches!(elems, Elems::Int(..));
    if to.dtype != dt {
        return Err(JitError::invalid(cx.node, format!("input dtype {dt} != output dtype {}", to.dtype)));
    }
    if is_int && matches!(kind, ReduceKind::L2 | ReduceKind::LogSum | ReduceKind::LogSumExp) {
        return Err(JitError::unsupported(cx.node, format!("{} on dtype {dt}", kind.name())));
    }
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
    let src = (src, elems);
    cx.for_items(|cx, item| {
        let idx = cx.unravel(item, &kept);
        let base = cx.dot_strides(&idx, &kept_strides);
        if let Elems::Int(ty, _) = elems {
            if let Some(r) = reduce_int(cx, kind, dt, src, base, &red) {
                let r = if ty == types::I64 { r } else { cx.b.ins().ireduce(ty, r) };
                let d = cx.elem_addr(dst, item, elems.bytes());
                cx.store(r, d, 0);
            }
            return;
        }
        let fadd = |cx: &mut KernelCx, a: Value, v: Value| cx.b.ins().fadd(a, v);
        let r = match kind {
            ReduceKind::Sum => fold_f(cx, src, base, &red, 0.0, &fadd),
            ReduceKind::Max => fold_f(cx, src, base, &red, f32::NEG_INFINITY, &|cx, a, v| cx.b.ins().fmax(a, v)),
            ReduceKind::Min => fold_f(cx, src, base, &red, f32::INFINITY, &|cx, a, v| cx.b.ins().fmin(a, v)),
            ReduceKind::Prod => fold_f(cx, src, base, &red, 1.0, &|cx, a, v| cx.b.ins().fmul(a, v)),
            ReduceKind::L1 => fold_f(cx, src, base, &red, 0.0, &|cx, a, v| {
                let av = cx.b.ins().fabs(v);
                cx.b.ins().fadd(a, av)
            }),
            ReduceKind::SumSquare | ReduceKind::L2 => {
                let sq = fold_f(cx, src, base, &red, 0.0, &|cx, a, v| {
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
                let sum = fold_f(cx, src, base, &red, 0.0, &fadd);
                ln(cx, sum, types::F32)
            }
            ReduceKind::LogSumExp => {
                let m = fold_f(cx, src, base, &red, f32::NEG_INFINITY, &|cx, a, v| cx.b.ins().fmax(a, v));
                let sum = fold_f(cx, src, base, &red, 0.0, &|cx, a, v| {
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
        let d = cx.elem_addr(dst, item, elems.bytes());
        if elems == Elems::F16 {
            store_f16(cx, r, d);
        } else {
            cx.store(r, d, 0);
        }
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
        let m = fold_f(cx, (src, Elems::F32), base, &dims, f32::NEG_INFINITY, &|cx, a, v| {
            let lt = cx.b.ins().fcmp(FloatCC::LessThan, v, a);
            let unord = cx.b.ins().fcmp(FloatCC::Unordered, v, v);
            let keep = cx.b.ins().bor(lt, unord);
            cx.b.ins().select(keep, a, v)
        });
        let sum = fold_f(cx, (src, Elems::F32), base, &dims, 0.0, &|cx, a, v| {
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
