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
pub(super) fn clip(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
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
    Ok(vec![cx.emit(n, "", Op::Unary(UnaryOp::Clip { min, max }), vec![x])?])
}
