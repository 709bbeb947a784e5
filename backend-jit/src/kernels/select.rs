//! Comparison, boolean and selection kernels: `Compare` (ONNX `Equal`/`Less`/`Greater`/
//! `LessOrEqual`/`GreaterOrEqual`), `Logical` (`And`/`Or`/`Xor`), `Not`, `Where` and
//! `Expand`, on every byte-sized dtype (not `i4`/`u4`). `f16` elements are moved as their 16
//! bits, and compared after an exact widening to `f32`.
//!
//! All share one scalar loop nest with numpy broadcasting: shapes are collapsed as in
//! [`elementwise`](super::elementwise) (size-1 dims dropped, mergeable dims merged), the
//! output is dense and each operand has its own element type and strides (0 where
//! broadcast). `bool` is one byte, 0 or 1; comparisons produce exactly 0 or 1.
//!
//! Work item: one chunk of at most [`CHUNK`] elements of the innermost collapsed dim, for one
//! index of the outer dims (`item = outer_index * chunks_per_run + chunk`).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::{CompareOp, DType, LogicalOp};

use super::elementwise::{broadcast_strides, chunk_bases, collapse, CHUNK};
use super::f16::f16_to_f32;
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// The CLIF type a dtype is loaded as (`bool`/`u8` as `i8`, `f16` as its bits in `i16`).
fn load_ty(cx: &KernelCx, dt: DType) -> Result<Type, JitError> {
    match dt {
        DType::F32 => Ok(types::F32),
        DType::F16 => Ok(types::I16),
        DType::I64 => Ok(types::I64),
        DType::I32 => Ok(types::I32),
        DType::I16 => Ok(types::I16),
        DType::I8 | DType::U8 | DType::Bool => Ok(types::I8),
        other => Err(JitError::unsupported(cx.node, format!("{} on dtype {other}", cx.node.op.name()))),
    }
}

/// One operand of [`emit_typed_map`]: pointer, element strides over the output shape, type.
type Operand = (Value, Vec<i64>, Type);

/// `out[i] = f(in_0[i], …)` over `shape`, scalar, with per-operand types and strides.
fn emit_typed_map(
    cx: &mut KernelCx,
    shape: &[usize],
    operands: &[Operand],
    out: (Value, Type),
    f: &dyn Fn(&mut KernelCx, &[Value]) -> Value,
) -> KernelInfo {
    if shape.iter().product::<usize>() == 0 {
        return KernelInfo::default();
    }
    let out_strides: Vec<i64> = int8xc_ir::strides(shape).into_iter().map(i64_of).collect();
    let mut all: Vec<Vec<i64>> = operands.iter().map(|o| o.1.clone()).collect();
    all.push(out_strides);
    let (dims, st) = collapse(shape, &all);
    let rank = dims.len();
    let inner = dims[rank - 1];
    let outer_dims = dims[..rank - 1].to_vec();
    let outer: usize = outer_dims.iter().product();
    let chunks = inner.div_ceil(CHUNK);
    let ptrs: Vec<(Value, Type)> = operands.iter().map(|o| (o.0, o.2)).chain([out]).collect();
    let n_ops = operands.len();
    cx.for_items(|cx, item| {
        let bases_in: Vec<(Value, i64)> = ptrs.iter().map(|&(p, ty)| (p, i64::from(ty.bytes()))).collect();
        let (bases, len) = chunk_bases(cx, item, &outer_dims, inner, &st, &bases_in);
        let zero = cx.iconst(0);
        cx.for_range(zero, len, 1, |cx, k| {
            let mut vals = Vec::with_capacity(n_ops);
            for j in 0..n_ops {
                let ty = ptrs[j].1;
                let step = st[j][rank - 1];
                let a = if step == 0 {
                    bases[j]
                } else {
                    let e = cx.b.ins().imul_imm_s(k, step);
                    cx.elem_addr(bases[j], e, i64::from(ty.bytes()))
                };
                vals.push(cx.load(ty, a, 0));
            }
            let r = f(cx, &vals);
            let a = cx.elem_addr(bases[n_ops], k, i64::from(ptrs[n_ops].1.bytes()));
            cx.store(r, a, 0);
        });
    });
    KernelInfo { work_items: outer * chunks, scratch_bytes: 0 }
}

/// Operand `i` of the node broadcast to the output shape, with its load type.
fn operand(cx: &KernelCx, i: usize) -> Result<Operand, JitError> {
    let (t, to) = (cx.in_ty(i)?, cx.out_ty(0)?);
    let strides = broadcast_strides(&t.shape, &to.shape).ok_or_else(|| {
        JitError::invalid(cx.node, format!("input {i} {:?} does not broadcast to {:?}", t.shape, to.shape))
    })?;
    Ok((cx.input(i), strides, load_ty(cx, t.dtype)?))
}

fn output(cx: &KernelCx) -> Result<(Value, Type), JitError> {
    Ok((cx.output(0), load_ty(cx, cx.out_ty(0)?.dtype)?))
}

/// `Compare(op)`: `bool` output; floats compare ordered (any comparison with NaN is false;
/// `f16` widened to `f32` first), integers signed (`u8` unsigned).
pub(crate) fn lower_compare(cx: &mut KernelCx, op: CompareOp) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=2, 1)?;
    let (a, b) = (operand(cx, 0)?, operand(cx, 1)?);
    let unsigned = cx.in_ty(0)?.dtype == DType::U8;
    if cx.in_ty(1)?.dtype != cx.in_ty(0)?.dtype || cx.out_ty(0)?.dtype != DType::Bool {
        return Err(JitError::invalid(cx.node, "Compare needs two inputs of one dtype and a bool output"));
    }
    let dtype = cx.in_ty(0)?.dtype;
    let is_float = dtype.is_float();
    let f = move |cx: &mut KernelCx, v: &[Value]| -> Value {
        if is_float {
            let (x, y) = if dtype == DType::F16 {
                let widen = |cx: &mut KernelCx, h: Value| {
                    let h = cx.b.ins().uextend(types::I32, h);
                    f16_to_f32(cx, h)
                };
                (widen(cx, v[0]), widen(cx, v[1]))
            } else {
                (v[0], v[1])
            };
            let cc = match op {
                CompareOp::Equal => FloatCC::Equal,
                CompareOp::Less => FloatCC::LessThan,
                CompareOp::LessOrEqual => FloatCC::LessThanOrEqual,
                CompareOp::Greater => FloatCC::GreaterThan,
                CompareOp::GreaterOrEqual => FloatCC::GreaterThanOrEqual,
            };
            return cx.b.ins().fcmp(cc, x, y);
        }
        let cc = match (op, unsigned) {
            (CompareOp::Equal, _) => IntCC::Equal,
            (CompareOp::Less, false) => IntCC::SignedLessThan,
            (CompareOp::LessOrEqual, false) => IntCC::SignedLessThanOrEqual,
            (CompareOp::Greater, false) => IntCC::SignedGreaterThan,
            (CompareOp::GreaterOrEqual, false) => IntCC::SignedGreaterThanOrEqual,
            (CompareOp::Less, true) => IntCC::UnsignedLessThan,
            (CompareOp::LessOrEqual, true) => IntCC::UnsignedLessThanOrEqual,
            (CompareOp::Greater, true) => IntCC::UnsignedGreaterThan,
            (CompareOp::GreaterOrEqual, true) => IntCC::UnsignedGreaterThanOrEqual,
        };
        cx.b.ins().icmp(cc, v[0], v[1])
    };
    let shape = cx.out_ty(0)?.shape.clone();
    let out = output(cx)?;
    Ok(emit_typed_map(cx, &shape, &[a, b], out, &f))
}

fn require_bool(cx: &KernelCx) -> Result<(), JitError> {
    let n_in = cx.node.inputs.len();
    for i in 0..n_in {
        if cx.in_ty(i)?.dtype != DType::Bool {
            return Err(JitError::invalid(cx.node, format!("input {i} must be bool")));
        }
    }
    if cx.out_ty(0)?.dtype != DType::Bool {
        return Err(JitError::invalid(cx.node, "output must be bool"));
    }
    Ok(())
}

/// `Logical(op)` on `bool` bytes.
pub(crate) fn lower_logical(cx: &mut KernelCx, op: LogicalOp) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=2, 1)?;
    require_bool(cx)?;
    let (a, b) = (operand(cx, 0)?, operand(cx, 1)?);
    let f = move |cx: &mut KernelCx, v: &[Value]| -> Value {
        match op {
            LogicalOp::And => cx.b.ins().band(v[0], v[1]),
            LogicalOp::Or => cx.b.ins().bor(v[0], v[1]),
            LogicalOp::Xor => cx.b.ins().bxor(v[0], v[1]),
        }
    };
    let shape = cx.out_ty(0)?.shape.clone();
    let out = output(cx)?;
    Ok(emit_typed_map(cx, &shape, &[a, b], out, &f))
}

/// `Not` on `bool` bytes (`x ^ 1`).
pub(crate) fn lower_not(cx: &mut KernelCx) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    require_bool(cx)?;
    let a = operand(cx, 0)?;
    let f = |cx: &mut KernelCx, v: &[Value]| -> Value { cx.b.ins().bxor_imm_s(v[0], 1) };
    let shape = cx.out_ty(0)?.shape.clone();
    let out = output(cx)?;
    Ok(emit_typed_map(cx, &shape, &[a], out, &f))
}

/// `Where(cond, x, y)`: a `select` per element (bit copy of `x` or `y`).
pub(crate) fn lower_where(cx: &mut KernelCx) -> Result<KernelInfo, JitError> {
    cx.expect_arity(3..=3, 1)?;
    if cx.in_ty(0)?.dtype != DType::Bool || cx.in_ty(1)?.dtype != cx.in_ty(2)?.dtype {
        return Err(JitError::invalid(cx.node, "Where needs a bool condition and x, y of one dtype"));
    }
    let ops = [operand(cx, 0)?, operand(cx, 1)?, operand(cx, 2)?];
    let f = |cx: &mut KernelCx, v: &[Value]| -> Value { cx.b.ins().select(v[0], v[1], v[2]) };
    let shape = cx.out_ty(0)?.shape.clone();
    let out = output(cx)?;
    Ok(emit_typed_map(cx, &shape, &ops, out, &f))
}

/// `Expand`: a broadcasting copy.
pub(crate) fn lower_expand(cx: &mut KernelCx) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    if cx.in_ty(0)?.dtype != cx.out_ty(0)?.dtype {
        return Err(JitError::invalid(cx.node, "Expand changes the dtype"));
    }
    let a = operand(cx, 0)?;
    let f = |_: &mut KernelCx, v: &[Value]| -> Value { v[0] };
    let shape = cx.out_ty(0)?.shape.clone();
    let out = output(cx)?;
    Ok(emit_typed_map(cx, &shape, &[a], out, &f))
}
