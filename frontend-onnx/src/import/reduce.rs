//! Reductions and normalizations: `ReduceSum`/`Max`/`Min`/`Prod`/`L1`/`L2`/`SumSquare`/
//! `LogSum`/`LogSumExp` → [`Op::Reduce`], `LogSoftmax`, `ArgMin` (→ `ArgMax` of `-x`),
//! `GlobalMaxPool` (→ `ReduceMax`), and `LayerNormalization` / `InstanceNormalization`
//! (→ `ReduceMean`, `Sub`, `Mul`, `Sqrt`, … as the ONNX function bodies define them).

use int8xc_ir::{BinaryOp, DType, MathFn, Op, ReduceKind, TensorData, UnaryOp, ValueId};

use super::{Ctx, NodeIn};
use crate::OnnxError;

/// The ops this module imports.
pub(super) const OPS: &[&str] = &[
    "ArgMin",
    "GlobalMaxPool",
    "InstanceNormalization",
    "LayerNormalization",
    "LogSoftmax",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "ReduceSumSquare",
];

/// Dispatches the ops of this module (the caller has checked the op type is one of [`OPS`]).
pub(super) fn import(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    Ok(match n.op_type {
        "ArgMin" => vec![arg_min(cx, n)?],
        "GlobalMaxPool" => {
            let x = cx.input(n, 0)?;
            let axes = (2..cx.ty(x).rank()).collect();
            vec![cx.emit(n, "", Op::Reduce { kind: ReduceKind::Max, axes, keepdims: true }, vec![x])?]
        }
        "InstanceNormalization" => vec![instance_norm(cx, n)?],
        "LayerNormalization" => layer_norm(cx, n)?,
        "LogSoftmax" => vec![log_softmax(cx, n)?],
        name => {
            let kind = ReduceKind::ALL.iter().find(|(_, k)| *k == name).map(|(k, _)| *k);
            vec![reduce(cx, n, kind.ok_or_else(|| n.err("internal: unknown reduction"))?)?]
        }
    })
}

/// `Reduce*`: `axes` is an attribute before opset 18 (13 for `ReduceSum`) and an optional
/// constant input after; `keepdims` defaults to 1. Empty/absent axes reduce every axis,
/// unless `noop_with_empty_axes` (opset 13/18): then nothing is reduced (the element
/// function still applies, as in the reference implementation). `ReduceMax`/`ReduceMin` of a
/// `bool` tensor (opset 20) reduce it as `u8` (any / all; empty gives false / true).
fn reduce(cx: &mut Ctx, n: &NodeIn, kind: ReduceKind) -> Result<ValueId, OnnxError> {
    let mut x = cx.input(n, 0)?;
    let is_bool = cx.ty(x).dtype == DType::Bool;
    if is_bool && matches!(kind, ReduceKind::Max | ReduceKind::Min) {
        x = cx.emit(n, "as_u8", Op::Cast { to: DType::U8 }, vec![x])?;
    }
    let rank = cx.ty(x).rank();
    let axes_as_input = n.opset >= if kind == ReduceKind::Sum { 13 } else { 18 };
    let axes = if axes_as_input { cx.const_ints(n, 1, "axes")? } else { n.ints("axes")? }.unwrap_or_default();
    let keepdims = n.int("keepdims", 1)? != 0;
    let mut norm = axes.iter().map(|&a| n.axis("axes entry", a, rank)).collect::<Result<Vec<_>, _>>()?;
    if norm.is_empty() {
        if n.int("noop_with_empty_axes", 0)? != 0 {
            if matches!(kind, ReduceKind::Sum | ReduceKind::Max | ReduceKind::Min | ReduceKind::Prod) {
                return cx.input(n, 0);
            }
        } else {
            norm = (0..rank).collect();
        }
    }
    norm.sort_unstable();
    if norm.windows(2).any(|w| w[0] == w[1]) {
        return Err(n.err(format!("'axes' {axes:?} repeats an axis")));
    }
    if cx.ty(x).dtype == DType::U8 && is_bool {
        let r = cx.emit(n, "reduced", Op::Reduce { kind, axes: norm, keepdims }, vec![x])?;
        return cx.emit(n, "", Op::Cast { to: DType::Bool }, vec![r]);
    }
    cx.emit(n, "", Op::Reduce { kind, axes: norm, keepdims }, vec![x])
}

/// `LogSoftmax`: opset 13 along `axis` (default -1); before, the input is coerced to 2-D at
/// `axis` (default 1), as `Softmax` is.
fn log_softmax(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let shape = cx.ty(x).shape.clone();
    let rank = shape.len();
    let axis = n.axis("axis", n.int("axis", if n.opset >= 13 { -1 } else { 1 })?, rank)?;
    if n.opset >= 13 || shape[axis + 1..].iter().all(|&d| d == 1) {
        return cx.emit(n, "", Op::LogSoftmax { axis }, vec![x]);
    }
    let rows: usize = shape[..axis].iter().product();
    let cols: usize = shape[axis..].iter().product();
    let flat = cx.emit(n, "flatten", Op::Reshape { shape: vec![rows, cols] }, vec![x])?;
    let sm = cx.emit(n, "log_softmax", Op::LogSoftmax { axis: 1 }, vec![flat])?;
    cx.emit(n, "", Op::Reshape { shape }, vec![sm])
}

/// `ArgMin` of a float tensor as `ArgMax(-x)` (negation is exact and reverses the order;
/// ties and `select_last_index` behave the same).
fn arg_min(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    if !cx.ty(x).dtype.is_float() {
        return Err(n.err(format!("ArgMin of {} tensors is not supported (float only)", cx.ty(x).dtype)));
    }
    let axis = n.axis("axis", n.int("axis", 0)?, cx.ty(x).rank())?;
    let neg = cx.emit(n, "neg", Op::Unary(UnaryOp::Math(MathFn::Neg)), vec![x])?;
    let op = Op::ArgMax {
        axis,
        keepdims: n.int("keepdims", 1)? != 0,
        select_last_index: n.int("select_last_index", 0)? != 0,
    };
    cx.emit(n, "", op, vec![neg])
}

fn scalar_f32(cx: &mut Ctx, n: &NodeIn, suffix: &str, v: f32) -> ValueId {
    cx.constant(n, suffix, TensorData::scalar_f32(v))
}

/// `mean`, `x - mean` and `1 / sqrt(var + epsilon)` over `axes` (kept as size 1), in f32.
fn normalize(
    cx: &mut Ctx,
    n: &NodeIn,
    x: ValueId,
    axes: Vec<usize>,
    epsilon: f32,
) -> Result<(ValueId, ValueId, ValueId), OnnxError> {
    let mean = cx.emit(n, "mean", Op::ReduceMean { axes: axes.clone(), keepdims: true }, vec![x])?;
    let d = cx.emit(n, "centered", Op::Binary(BinaryOp::Sub), vec![x, mean])?;
    let d2 = cx.emit(n, "squared", Op::Binary(BinaryOp::Mul), vec![d, d])?;
    let var = cx.emit(n, "var", Op::ReduceMean { axes, keepdims: true }, vec![d2])?;
    let eps = scalar_f32(cx, n, "epsilon", epsilon);
    let ve = cx.emit(n, "var_eps", Op::Binary(BinaryOp::Add), vec![var, eps])?;
    let sd = cx.emit(n, "std", Op::Unary(UnaryOp::Math(MathFn::Sqrt)), vec![ve])?;
    let inv = cx.emit(n, "inv_std", Op::Unary(UnaryOp::Math(MathFn::Reciprocal)), vec![sd])?;
    Ok((mean, d, inv))
}

/// `LayerNormalization` (opset 17): normalize over the axes from `axis` (default -1) on,
/// `Y = (X - mean) * inv_std_dev * Scale + B`; the optional outputs `Mean` and `InvStdDev`
/// are the statistics (kept dims). Computed in f32 (`stash_type` 1); `f16` inputs are cast.
fn layer_norm(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    if n.int("stash_type", 1)? != 1 {
        return Err(n.err("stash_type other than 1 (float) is not supported"));
    }
    let mut x = cx.input(n, 0)?;
    let scale = cx.input(n, 1)?;
    let bias = cx.opt_input(n, 2)?;
    let dtype = cx.ty(x).dtype;
    if dtype != DType::F32 {
        if !dtype.is_float() {
            return Err(n.err(format!("input X must be a float tensor, got {}", cx.ty(x))));
        }
        x = cx.emit(n, "x_f32", Op::Cast { to: DType::F32 }, vec![x])?;
    }
    let rank = cx.ty(x).rank();
    let axis = n.axis("axis", n.int("axis", -1)?, rank)?;
    let (mean, d, inv) = normalize(cx, n, x, (axis..rank).collect(), n.float("epsilon", 1e-5)?)?;
    let normalized = cx.emit(n, "normalized", Op::Binary(BinaryOp::Mul), vec![d, inv])?;
    let mut y = if dtype == DType::F32 {
        normalized
    } else {
        cx.emit(n, "normalized_cast", Op::Cast { to: dtype }, vec![normalized])?
    };
    let last = if bias.is_some() { "scaled" } else { "" };
    y = cx.emit(n, last, Op::Binary(BinaryOp::Mul), vec![y, scale])?;
    if let Some(b) = bias {
        y = cx.emit(n, "", Op::Binary(BinaryOp::Add), vec![y, b])?;
    }
    Ok(vec![y, mean, inv])
}

/// `InstanceNormalization`: per sample and channel over the spatial axes,
/// `y = scale[c] * (x - mean) / sqrt(var + epsilon) + B[c]` (`epsilon` default 1e-5), f32.
fn instance_norm(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let (scale, bias) = (cx.input(n, 1)?, cx.input(n, 2)?);
    let t = cx.ty(x).clone();
    if t.dtype != DType::F32 || t.rank() < 3 {
        return Err(n.err(format!("input must be an f32 tensor of rank 3 or more, got {t}")));
    }
    let c = t.shape[1];
    let per_channel: Vec<usize> = std::iter::once(c).chain(std::iter::repeat_n(1, t.rank() - 2)).collect();
    for (what, v) in [("scale", scale), ("B", bias)] {
        if cx.ty(v).shape != [c] {
            return Err(n.err(format!("input '{what}' must have shape [{c}], got {}", cx.ty(v))));
        }
    }
    let (_, d, inv) = normalize(cx, n, x, (2..t.rank()).collect(), n.float("epsilon", 1e-5)?)?;
    let normalized = cx.emit(n, "normalized", Op::Binary(BinaryOp::Mul), vec![d, inv])?;
    let s = cx.emit(n, "scale_c", Op::Reshape { shape: per_channel.clone() }, vec![scale])?;
    let b = cx.emit(n, "bias_c", Op::Reshape { shape: per_channel }, vec![bias])?;
    let y = cx.emit(n, "scaled", Op::Binary(BinaryOp::Mul), vec![normalized, s])?;
    cx.emit(n, "", Op::Binary(BinaryOp::Add), vec![y, b])
}
