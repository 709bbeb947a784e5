//! Element-wise kernels: broadcasting `Binary` (f32 and f16 vectorized; i64, i32, i16, i8, u8
//! scalar) and `Unary` (f32 and f16 vectorized). f16 operands are widened to `f32` on load and
//! every result is rounded to f16 on store ([`f16`](super::f16)), as the interpreter computes.
//!
//! Shapes are *collapsed* first: size-1 output dims are dropped and adjacent dims merged
//! whenever every operand's strides allow it, so `[1,64,56,56] + [1,64,1,1]` becomes a
//! `[64, 3136]` loop whose inner run is contiguous in the output and either contiguous
//! (stride 1) or broadcast (stride 0, a splat) in each input. The inner run is processed 4 lanes at a
//! time with `f32x4` and a scalar tail.
//!
//! Work item: one *chunk* of at most [`CHUNK`] elements of the inner run, for one index of
//! the outer dims (`item = outer_index * chunks_per_run + chunk`).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Type, Value};
use int8xc_ir::{BinaryOp, DType, UnaryOp};

use super::{f16, i64_of, math, pow_mod, KernelCx, KernelInfo};
use crate::JitError;

/// Most elements one work item processes (a multiple of 4).
pub(crate) const CHUNK: usize = 16 * 1024;

/// Element strides of `shape` (an input's shape) broadcast to `out` (numpy rules: trailing
/// alignment; size-1 dims get stride 0). `None` when the shapes do not broadcast to `out`.
pub(crate) fn broadcast_strides(shape: &[usize], out: &[usize]) -> Option<Vec<i64>> {
    if shape.len() > out.len() {
        return None;
    }
    let lead = out.len() - shape.len();
    let own = int8xc_ir::strides(shape);
    let mut s = vec![0i64; out.len()];
    for (i, (&d, &st)) in shape.iter().zip(&own).enumerate() {
        let o = out[lead + i];
        if d == o {
            s[lead + i] = if d == 1 { 0 } else { i64_of(st) };
        } else if d != 1 {
            return None;
        }
    }
    Some(s)
}

/// Work item `item` of a chunked broadcast loop nest (items = `prod(outer_dims) *
/// ceil(inner / CHUNK)`, outer index major): returns each operand's address at the chunk start
/// and the chunk length (elements). `ptrs[j]` is operand `j`'s base pointer and element size in
/// bytes; `st[j]` its collapsed strides in elements (one per dim of `outer_dims ++ [inner]`).
pub(crate) fn chunk_bases(
    cx: &mut KernelCx,
    item: Value,
    outer_dims: &[usize],
    inner: usize,
    st: &[Vec<i64>],
    ptrs: &[(Value, i64)],
) -> (Vec<Value>, Value) {
    let rank = outer_dims.len() + 1;
    let chunks = inner.div_ceil(CHUNK);
    let (o, c) = if chunks == 1 {
        (item, cx.iconst(0))
    } else {
        let n = cx.iconst(i64_of(chunks));
        (cx.b.ins().udiv(item, n), cx.b.ins().urem(item, n))
    };
    let idx = cx.unravel(o, outer_dims);
    let start = cx.b.ins().imul_imm_s(c, i64_of(CHUNK));
    let end_full = cx.b.ins().iadd_imm_s(start, i64_of(CHUNK));
    let inner_v = cx.iconst(i64_of(inner));
    let lt = cx.b.ins().icmp(IntCC::SignedLessThan, end_full, inner_v);
    let end = cx.b.ins().select(lt, end_full, inner_v);
    let mut bases = Vec::with_capacity(ptrs.len());
    for (j, &(p, esize)) in ptrs.iter().enumerate() {
        let off = cx.dot_strides(&idx, &st[j][..rank - 1]);
        let s = cx.b.ins().imul_imm_s(start, st[j][rank - 1]);
        let off = cx.b.ins().iadd(off, s);
        bases.push(cx.elem_addr(p, off, esize));
    }
    (bases, cx.b.ins().isub(end, start))
}

/// Drops size-1 dims and merges adjacent dims where every operand's strides allow it.
/// Returns the collapsed shape (never empty: at least `[1]`) and per-operand strides.
pub(crate) fn collapse(shape: &[usize], strides: &[Vec<i64>]) -> (Vec<usize>, Vec<Vec<i64>>) {
    let keep: Vec<usize> = (0..shape.len()).filter(|&d| shape[d] != 1).collect();
    let mut dims: Vec<usize> = Vec::new();
    let mut st: Vec<Vec<i64>> = vec![Vec::new(); strides.len()];
    for &d in &keep {
        let mergeable = !dims.is_empty()
            && strides.iter().enumerate().all(|(j, s)| {
                let last = *st[j].last().expect("non-empty");
                last == s[d] * i64_of(shape[d])
            });
        if mergeable {
            let n = dims.len() - 1;
            dims[n] *= shape[d];
            for (j, s) in strides.iter().enumerate() {
                let m = st[j].len() - 1;
                st[j][m] = s[d];
            }
        } else {
            dims.push(shape[d]);
            for (j, s) in strides.iter().enumerate() {
                st[j].push(s[d]);
            }
        }
    }
    if dims.is_empty() {
        dims.push(1);
        for s in &mut st {
            s.push(0);
        }
    }
    (dims, st)
}

/// How the operands of [`emit_map`] are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Storage {
    /// Elements are stored as the compute type itself.
    Native,
    /// Elements are f16, widened to `f32` on load and rounded back on store (see [`f16`]).
    F16,
}

/// Emits the chunked element-wise loop nest: `out[i] = f(in_0[i], …)` over `shape` with
/// per-operand element strides (output is dense). `f` receives the operand values and their
/// type (`elem` or its 4-lane vector). Vectorized when `vectorize` and every operand's inner
/// stride is 0 or 1. With [`Storage::F16`], `elem` must be `F32`: every operand and the output
/// are f16 in memory and `f` computes in `f32`, each result rounded to f16 once.
#[allow(clippy::too_many_arguments)]
fn emit_map(
    cx: &mut KernelCx,
    shape: &[usize],
    operands: &[(Value, Vec<i64>)],
    out: Value,
    elem: Type,
    storage: Storage,
    vectorize: bool,
    f: &dyn Fn(&mut KernelCx, &[Value], Type) -> Value,
) -> KernelInfo {
    let out_strides: Vec<i64> = int8xc_ir::strides(shape).into_iter().map(i64_of).collect();
    let mut all: Vec<Vec<i64>> = operands.iter().map(|(_, s)| s.clone()).collect();
    all.push(out_strides);
    let (dims, st) = collapse(shape, &all);
    let numel: usize = shape.iter().product();
    if numel == 0 {
        return KernelInfo::default();
    }
    let rank = dims.len();
    let inner = dims[rank - 1];
    let outer_dims = &dims[..rank - 1];
    let outer: usize = outer_dims.iter().product();
    let chunks = inner.div_ceil(CHUNK);
    let half = storage == Storage::F16;
    let esize = if half { 2 } else { i64::from(elem.bytes()) };
    let inner_strides: Vec<i64> = st.iter().map(|s| s[rank - 1]).collect();
    let vec_ok = vectorize && inner_strides.iter().all(|&s| s == 0 || s == 1) && inner >= 4;
    let vty = elem.by(4).expect("4 lanes of a scalar type");
    let n_ops = operands.len();
    let ptrs: Vec<(Value, i64)> = operands.iter().map(|(p, _)| (*p, esize)).chain([(out, esize)]).collect();
    let outer_dims = outer_dims.to_vec();

    cx.for_items(|cx, item| {
        let (bases, len) = chunk_bases(cx, item, &outer_dims, inner, &st, &ptrs);
        let zero = cx.iconst(0);
        let body = |cx: &mut KernelCx, k: Value, ty: Type| {
            let mut vals = Vec::with_capacity(n_ops);
            for j in 0..n_ops {
                let v = if inner_strides[j] == 0 {
                    let s = if half { f16::load_f16(cx, bases[j]) } else { cx.load(elem, bases[j], 0) };
                    if ty.is_vector() {
                        cx.b.ins().splat(ty, s)
                    } else {
                        s
                    }
                } else {
                    let a = cx.elem_addr(bases[j], k, esize);
                    match (half, ty.is_vector()) {
                        (true, true) => f16::load_f16x4(cx, a),
                        (true, false) => f16::load_f16(cx, a),
                        (false, _) => cx.load(ty, a, 0),
                    }
                };
                vals.push(v);
            }
            let r = f(cx, &vals, ty);
            let a = cx.elem_addr(bases[n_ops], k, esize);
            match (half, ty.is_vector()) {
                (true, true) => f16::store_f16x4(cx, r, a),
                (true, false) => f16::store_f16(cx, r, a),
                (false, _) => cx.store(r, a, 0),
            }
        };
        let tail_start = if vec_ok {
            let vend = cx.b.ins().band_imm_s(len, !3i64);
            cx.for_range(zero, vend, 4, |cx, k| body(cx, k, vty));
            vend
        } else {
            zero
        };
        cx.for_range(tail_start, len, 1, |cx, k| body(cx, k, elem));
    });
    KernelInfo { work_items: outer * chunks, scratch_bytes: 0 }
}

/// `Binary(op)`: `out = a op b` with numpy broadcasting (ONNX `Add`/`Sub`/`Mul`/`Div`, opset
/// 14; `Max`/`Min`; `Pow` and `Mod` as documented in [`pow_mod`]), as the interpreter computes
/// it (`backend-interp/src/ops/elementwise.rs`):
///
/// - `f32`: vectorized; `f16`: widened to `f32`, computed as for `f32`, each result rounded to
///   f16 (nearest even) once, 4 lanes at a time.
/// - `i64`, `i32`: scalar, wrapping; `i16`, `i8`, `u8`: widened to `i32` (sign- or
///   zero-extended), computed there and wrapped back to the dtype's width, which equals the
///   interpreter's exact result wrapped. Integer division truncates toward zero and `MIN / -1`
///   wraps; a zero divisor yields 0 where the interpreter reports a division by zero (the
///   kernel cannot report errors and must not trap).
pub(crate) fn lower_binary(cx: &mut KernelCx, op: BinaryOp) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=2, 1)?;
    let (ta, tb, to) = (cx.in_ty(0)?, cx.in_ty(1)?, cx.out_ty(0)?);
    if ta.dtype != to.dtype || tb.dtype != to.dtype {
        return Err(JitError::invalid(cx.node, format!("dtypes {} {} -> {}", ta.dtype, tb.dtype, to.dtype)));
    }
    let pow_mod = matches!(op, BinaryOp::Pow | BinaryOp::Mod { .. });
    // (compute / memory type, storage, narrow integer signedness)
    let (elem, storage, narrow) = match to.dtype {
        DType::F32 => (types::F32, Storage::Native, None),
        DType::F16 => (types::F32, Storage::F16, None),
        DType::I64 => (types::I64, Storage::Native, None),
        DType::I32 => (types::I32, Storage::Native, None),
        DType::I16 => (types::I16, Storage::Native, Some(true)),
        DType::I8 => (types::I8, Storage::Native, Some(true)),
        DType::U8 => (types::I8, Storage::Native, Some(false)),
        other => return Err(JitError::unsupported(cx.node, format!("element-wise op on dtype {other}"))),
    };
    if pow_mod && elem == types::F32 && !cx.target.has_round() {
        return Err(JitError::unsupported(cx.node, "f32 Pow/Mod need vector rounding (SSE4.1)"));
    }
    let sa = broadcast_strides(&ta.shape, &to.shape);
    let sb = broadcast_strides(&tb.shape, &to.shape);
    let (Some(sa), Some(sb)) = (sa, sb) else {
        return Err(JitError::invalid(
            cx.node,
            format!("{:?} and {:?} do not broadcast to {:?}", ta.shape, tb.shape, to.shape),
        ));
    };
    let operands = [(cx.input(0), sa), (cx.input(1), sb)];
    let out = cx.output(0);
    let f = move |cx: &mut KernelCx, v: &[Value], ty: Type| -> Value {
        let (a, b) = (v[0], v[1]);
        if let Some(signed) = narrow {
            let widen = |cx: &mut KernelCx, v| {
                if signed {
                    cx.b.ins().sextend(types::I32, v)
                } else {
                    cx.b.ins().uextend(types::I32, v)
                }
            };
            let (wa, wb) = (widen(cx, a), widen(cx, b));
            let r = int_value(cx, op, wa, wb, types::I32);
            return cx.b.ins().ireduce(ty, r);
        }
        if ty.lane_type() != types::F32 {
            return int_value(cx, op, a, b, ty);
        }
        match op {
            BinaryOp::Add => cx.b.ins().fadd(a, b),
            BinaryOp::Sub => cx.b.ins().fsub(a, b),
            BinaryOp::Mul => cx.b.ins().fmul(a, b),
            BinaryOp::Div => cx.b.ins().fdiv(a, b),
            BinaryOp::Max => numpy_max_min(cx, a, b, true),
            BinaryOp::Min => numpy_max_min(cx, a, b, false),
            BinaryOp::Pow | BinaryOp::Mod { .. } => pow_mod::float_value(cx, op, a, b, ty),
        }
    };
    Ok(emit_map(cx, &to.shape, &operands, out, elem, storage, elem == types::F32, &f))
}

/// numpy `maximum` / `minimum` (the interpreter's `nan_or(x, y, f32::max / min)`): a NaN in
/// either operand gives `a + b` (NaN); otherwise the larger / smaller value, and `a` when
/// they compare equal (so `max(-0, +0) = -0`, unlike IEEE `maximum`).
fn numpy_max_min(cx: &mut KernelCx, a: Value, b: Value, max: bool) -> Value {
    let (lo, hi) = if max { (a, b) } else { (b, a) };
    let lt = cx.b.ins().fcmp(FloatCC::LessThan, lo, hi);
    let r = select_f(cx, lt, b, a);
    let unordered = cx.b.ins().fcmp(FloatCC::Unordered, a, b);
    let nan = cx.b.ins().fadd(a, b);
    select_f(cx, unordered, nan, r)
}

/// `a op b` for scalar integers of type `ty` (`I64` or `I32`), wrapping; division by zero
/// gives 0 (see [`lower_binary`]).
fn int_value(cx: &mut KernelCx, op: BinaryOp, a: Value, b: Value, ty: Type) -> Value {
    match op {
        BinaryOp::Add => cx.b.ins().iadd(a, b),
        BinaryOp::Sub => cx.b.ins().isub(a, b),
        BinaryOp::Mul => cx.b.ins().imul(a, b),
        BinaryOp::Max => cx.b.ins().smax(a, b),
        BinaryOp::Min => cx.b.ins().smin(a, b),
        BinaryOp::Pow | BinaryOp::Mod { .. } => pow_mod::int_value(cx, op, a, b, ty),
        BinaryOp::Div => {
            // sdiv traps on b == 0 and on MIN / -1: divide by a safe divisor, then fix up.
            let one = cx.b.ins().iconst(ty, 1);
            let zero = cx.b.ins().iconst(ty, 0);
            let is_zero = cx.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
            let is_m1 = cx.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
            let bad = cx.b.ins().bor(is_zero, is_m1);
            let safe = cx.b.ins().select(bad, one, b);
            let q = cx.b.ins().sdiv(a, safe);
            let neg = cx.b.ins().ineg(a);
            let q = cx.b.ins().select(is_m1, neg, q);
            cx.b.ins().select(is_zero, zero, q)
        }
    }
}

/// `Unary(op)` on f32 or f16, vectorized; formulas as documented on [`UnaryOp`], evaluated in
/// the interpreter's order (`alpha * x + beta` unfused; `HardSwish` multiplies by `1/6`).
/// `Relu`, `Clip` and the clamps are compare + select (NaN passes through, as in the
/// interpreter); `Sigmoid` and `Tanh` use the polynomial `exp` of [`math`](super::math). f16
/// is widened to `f32`, computed as for `f32` and rounded to f16 once (as the interpreter).
pub(crate) fn lower_unary(cx: &mut KernelCx, op: UnaryOp) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let storage = float_storage(cx)?;
    if let UnaryOp::Math(f) = op {
        if !super::unary_math::supported(cx.target, f) {
            return Err(JitError::unsupported(cx.node, format!("no JIT kernel for {}", f.name())));
        }
    }
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    if ti.shape != to.shape {
        return Err(JitError::invalid(cx.node, format!("input {:?} != output {:?}", ti.shape, to.shape)));
    }
    let operands = [(cx.input(0), int8xc_ir::strides(&ti.shape).into_iter().map(i64_of).collect())];
    let out = cx.output(0);
    let f = move |cx: &mut KernelCx, v: &[Value], ty: Type| -> Value { unary_value(cx, op, v[0], ty) };
    Ok(emit_map(cx, &to.shape, &operands, out, types::F32, storage, true, &f))
}

/// The storage of a float kernel whose operands all share dtype `f32` or `f16`; other dtypes
/// are [`JitError::Unsupported`].
fn float_storage(cx: &KernelCx) -> Result<Storage, JitError> {
    let dt = cx.out_ty(0)?.dtype;
    for (i, &v) in cx.node.inputs.iter().chain(&cx.node.outputs).enumerate() {
        let t = cx.graph.ty(v).dtype;
        if t != dt || !t.is_float() {
            return Err(JitError::unsupported(
                cx.node,
                format!("operand {i} has dtype {t}; this kernel takes f32 or f16"),
            ));
        }
    }
    Ok(if dt == DType::F16 { Storage::F16 } else { Storage::Native })
}

/// `x < lo ? lo : x` (NaN passes through, as the interpreter's clamps).
pub(crate) fn max_sel(cx: &mut KernelCx, x: Value, lo: Value) -> Value {
    let lt = cx.b.ins().fcmp(FloatCC::LessThan, x, lo);
    select_f(cx, lt, lo, x)
}

/// `x > hi ? hi : x` (NaN passes through).
pub(crate) fn min_sel(cx: &mut KernelCx, x: Value, hi: Value) -> Value {
    let gt = cx.b.ins().fcmp(FloatCC::GreaterThan, x, hi);
    select_f(cx, gt, hi, x)
}

/// `cond ? a : b` for a compare result of scalar (`i8`) or vector (lane mask) type.
pub(crate) fn select_f(cx: &mut KernelCx, cond: Value, a: Value, b: Value) -> Value {
    let ty = cx.b.func.dfg.value_type(a);
    if ty.is_vector() {
        let flags = MemFlagsData::new().with_endianness(Endianness::Little);
        let mask = cx.b.ins().bitcast(ty, flags, cond);
        cx.b.ins().bitselect(mask, a, b)
    } else {
        cx.b.ins().select(cond, a, b)
    }
}

/// One unary op applied to `x` of type `ty` (`F32` or `F32X4`).
pub(crate) fn unary_value(cx: &mut KernelCx, op: UnaryOp, x: Value, ty: Type) -> Value {
    match op {
        UnaryOp::Relu => {
            let z = cx.fconst(ty, 0.0);
            max_sel(cx, x, z)
        }
        UnaryOp::LeakyRelu { alpha } => {
            let z = cx.fconst(ty, 0.0);
            let a = cx.fconst(ty, alpha);
            let ax = cx.b.ins().fmul(x, a);
            let neg = cx.b.ins().fcmp(FloatCC::LessThan, x, z);
            select_f(cx, neg, ax, x)
        }
        UnaryOp::Clip { min, max } => {
            let (lo, hi) = (cx.fconst(ty, min), cx.fconst(ty, max));
            let t = max_sel(cx, x, lo);
            min_sel(cx, t, hi)
        }
        UnaryOp::HardSigmoid { alpha, beta } => {
            let (a, b) = (cx.fconst(ty, alpha), cx.fconst(ty, beta));
            let t = cx.b.ins().fmul(x, a);
            let t = cx.b.ins().fadd(t, b);
            let (z, one) = (cx.fconst(ty, 0.0), cx.fconst(ty, 1.0));
            let t = max_sel(cx, t, z);
            min_sel(cx, t, one)
        }
        UnaryOp::HardSwish => {
            // HardSigmoid with alpha = 1/6 (rounded to f32) and beta = 0.5, as ONNX defines it.
            let (sixth, half) = (cx.fconst(ty, 1.0 / 6.0), cx.fconst(ty, 0.5));
            let t = cx.b.ins().fmul(x, sixth);
            let t = cx.b.ins().fadd(t, half);
            let (z, one) = (cx.fconst(ty, 0.0), cx.fconst(ty, 1.0));
            let t = max_sel(cx, t, z);
            let t = min_sel(cx, t, one);
            cx.b.ins().fmul(x, t)
        }
        UnaryOp::Sigmoid => math::sigmoid(cx, x, ty),
        UnaryOp::Tanh => math::tanh(cx, x, ty),
        UnaryOp::Math(f) => super::unary_math::math_value(cx, f, x, ty),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_strides_follow_numpy() {
        assert_eq!(broadcast_strides(&[64, 1, 1], &[1, 64, 8, 8]), Some(vec![0, 1, 0, 0]));
        assert_eq!(broadcast_strides(&[3], &[2, 3]), Some(vec![0, 1]));
        assert_eq!(broadcast_strides(&[2], &[2, 3]), None);
    }

    #[test]
    fn collapse_merges_contiguous_and_broadcast_runs() {
        let shape = [1, 64, 8, 8];
        let a = vec![0, 64, 8, 1];
        let b = vec![0, 1, 0, 0];
        let (dims, st) = collapse(&shape, &[a, b]);
        assert_eq!(dims, vec![64, 64]);
        assert_eq!(st, vec![vec![64, 1], vec![1, 0]]);
        let (dims, _) = collapse(&[2, 3, 4], &[vec![12, 4, 1]]);
        assert_eq!(dims, vec![24]);
    }
}
