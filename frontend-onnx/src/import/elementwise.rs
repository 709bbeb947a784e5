//! Element-wise ops: `Add`/`Sub`/`Mul`/`Div` (broadcasting, opset 7+), the activations and
//! `Clip`.

use int8xc_ir::{BinaryOp, Op, UnaryOp, ValueId};

use super::{Ctx, NodeIn};
use crate::OnnxError;

/// `Add`, `Sub`, `Mul`, `Div` (opset 7–14+: numpy broadcasting; both inputs one dtype).
pub(super) fn binary(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let op = match n.op_type {
        "Add" => BinaryOp::Add,
        "Sub" => BinaryOp::Sub,
        "Mul" => BinaryOp::Mul,
        _ => BinaryOp::Div,
    };
    let a = cx.input(n, 0)?;
    let b = cx.input(n, 1)?;
    Ok(vec![cx.emit(n, "", Op::Binary(op), vec![a, b])?])
}

/// `Relu`, `LeakyRelu` (alpha 0.01), `Sigmoid`, `Tanh`, `HardSigmoid` (alpha 0.2, beta 0.5),
/// `HardSwish`.
pub(super) fn unary(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let op = match n.op_type {
        "Relu" => UnaryOp::Relu,
        "LeakyRelu" => UnaryOp::LeakyRelu { alpha: n.float("alpha", 0.01)? },
        "Sigmoid" => UnaryOp::Sigmoid,
        "Tanh" => UnaryOp::Tanh,
        "HardSigmoid" => UnaryOp::HardSigmoid { alpha: n.float("alpha", 0.2)?, beta: n.float("beta", 0.5)? },
        _ => UnaryOp::HardSwish,
    };
    let x = cx.input(n, 0)?;
    Ok(vec![cx.emit(n, "", Op::Unary(op), vec![x])?])
}

/// `Clip`: before opset 11 the bounds are the `min`/`max` attributes; from opset 11 they are
/// optional inputs 1 and 2, which must be constant scalars. Absent bounds are ±infinity.
/// When `min > max` every element becomes `max` (ONNX `Clip`, opset 13), imported as
/// `min = max`. Integer inputs (opset 12+) become `Max` then `Min` with the scalar bounds.
pub(super) fn clip(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    if !cx.ty(x).dtype.is_float() {
        if n.opset < 12 {
            return Err(n.err(format!("Clip on {} needs opset 12 (integer Clip)", cx.ty(x).dtype)));
        }
        return clip_int(cx, n, x);
    }
    let (min, max) = if n.opset < 11 {
        (n.float("min", f32::NEG_INFINITY)?, n.float("max", f32::INFINITY)?)
    } else {
        let mut bound = |i: usize, what: &str, default: f32| -> Result<f32, OnnxError> {
            match cx.const_input(n, i, what)? {
                None => Ok(default),
                Some(t) => match t.to_f32_vec().as_slice() {
                    [v] => Ok(*v),
                    other => Err(n.err(format!("input {i} ('{what}') must be a scalar, got {} values", other.len()))),
                },
            }
        };
        (bound(1, "min", f32::NEG_INFINITY)?, bound(2, "max", f32::INFINITY)?)
    };
    if min.is_nan() || max.is_nan() {
        return Err(n.err("clip bounds must not be NaN"));
    }
    let min = min.min(max);
    Ok(vec![cx.emit(n, "", Op::Unary(UnaryOp::Clip { min, max }), vec![x])?])
}

/// Integer `Clip` (ONNX opset 12+): `min(max(x, lo), hi)` with each present bound a constant
/// scalar of `x`'s dtype; with `lo > hi` every element becomes `hi`, as the spec says.
fn clip_int(cx: &mut Ctx, n: &NodeIn, x: ValueId) -> Result<Vec<ValueId>, OnnxError> {
    let dtype = cx.ty(x).dtype;
    let mut bounds = Vec::with_capacity(2);
    for (i, what) in [(1, "min"), (2, "max")] {
        let Some(t) = cx.const_input(n, i, what)? else {
            bounds.push(None);
            continue;
        };
        if t.numel() != 1 || t.dtype() != dtype {
            return Err(n.err(format!("input {i} ('{what}') must be a {dtype} scalar, got {:?}", t.shape())));
        }
        let t = t.reshaped(Vec::<usize>::new()).map_err(|e| n.err(e.to_string()))?;
        bounds.push(Some(t));
    }
    let (lo, hi) = (bounds[0].take(), bounds[1].take());
    let mut y = x;
    if let Some(lo) = lo {
        let c = cx.constant(n, "min", lo);
        let suffix = if hi.is_some() { "max" } else { "" };
        y = cx.emit(n, suffix, Op::Binary(BinaryOp::Max), vec![y, c])?;
    }
    if let Some(hi) = hi {
        let c = cx.constant(n, "max", hi);
        y = cx.emit(n, "", Op::Binary(BinaryOp::Min), vec![y, c])?;
    }
    Ok(vec![y])
}
