//! Element-wise math, comparison, logic and selection ops: the [`MathFn`] functions (`Sqrt`,
//! `Exp`, `Erf`, `Elu`, `Gelu`, …), `Max`/`Min`/`Sum`/`Mean` (variadic), `Pow`, `Mod`,
//! `Equal`/`Less`/`Greater`/`LessOrEqual`/`GreaterOrEqual`, `And`/`Or`/`Xor`/`Not`, `Where`,
//! `Expand`, `PRelu`, `CastLike` and `Size`.

use half::f16;
use int8xc_ir::{
    broadcast_shapes, BinaryOp, CompareOp, DType, Data, LogicalOp, MathFn, Op, TensorData, UnaryOp, ValueId,
};

use super::{Ctx, NodeIn};
use crate::decode::MAX_DIM;
use crate::OnnxError;

/// The ops this module imports.
pub(super) const OPS: &[&str] = &[
    "Abs",
    "Acos",
    "Acosh",
    "And",
    "Asin",
    "Asinh",
    "Atan",
    "Atanh",
    "CastLike",
    "Ceil",
    "Celu",
    "Cos",
    "Cosh",
    "Elu",
    "Equal",
    "Erf",
    "Exp",
    "Expand",
    "Floor",
    "Gelu",
    "Greater",
    "GreaterOrEqual",
    "Less",
    "LessOrEqual",
    "Log",
    "Max",
    "Mean",
    "Min",
    "Mish",
    "Mod",
    "Neg",
    "Not",
    "Or",
    "PRelu",
    "Pow",
    "Reciprocal",
    "Round",
    "Selu",
    "Shrink",
    "Sign",
    "Sin",
    "Sinh",
    "Size",
    "Softplus",
    "Softsign",
    "Sqrt",
    "Sum",
    "Swish",
    "Tan",
    "ThresholdedRelu",
    "Where",
    "Xor",
];

/// Dispatches the ops of this module (the caller has checked the op type is one of [`OPS`]).
pub(super) fn import(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let v = match n.op_type {
        "Max" | "Min" | "Sum" | "Mean" => variadic(cx, n)?,
        "Pow" => pow(cx, n)?,
        "Mod" => {
            let fmod = n.int("fmod", 0)? != 0;
            binary(cx, n, Op::Binary(BinaryOp::Mod { fmod }))?
        }
        "And" | "Or" | "Xor" => {
            let l = LogicalOp::ALL.iter().find(|(_, name)| *name == n.op_type).map(|(l, _)| *l);
            binary(cx, n, Op::Logical(l.ok_or_else(|| n.err("internal: unknown logical op"))?))?
        }
        "Not" => {
            let x = cx.input(n, 0)?;
            cx.emit(n, "", Op::Not, vec![x])?
        }
        "Where" => {
            let inputs = (0..3).map(|i| cx.input(n, i)).collect::<Result<Vec<_>, _>>()?;
            cx.emit(n, "", Op::Where, inputs)?
        }
        "Expand" => expand(cx, n)?,
        "PRelu" => prelu(cx, n)?,
        "CastLike" => {
            let (x, like) = (cx.input(n, 0)?, cx.input(n, 1)?);
            let to = cx.ty(like).dtype;
            if cx.ty(x).dtype == to {
                x
            } else {
                cx.emit(n, "", Op::Cast { to }, vec![x])?
            }
        }
        "Size" => {
            let x = cx.input(n, 0)?;
            let numel = cx.ty(x).shape.iter().product::<usize>() as i64;
            let t = TensorData::from_i64(Vec::<usize>::new(), vec![numel]).map_err(|e| n.err(e.to_string()))?;
            cx.constant(n, "", t)
        }
        other => match CompareOp::ALL.iter().find(|(_, name)| *name == other) {
            Some((c, _)) => binary(cx, n, Op::Compare(*c))?,
            None => unary(cx, n)?,
        },
    };
    Ok(vec![v])
}

fn binary(cx: &mut Ctx, n: &NodeIn, op: Op) -> Result<ValueId, OnnxError> {
    let a = cx.input(n, 0)?;
    let b = cx.input(n, 1)?;
    cx.emit(n, "", op, vec![a, b])
}

/// A scalar constant of `dtype` holding `v` (exact for small integers and the floats used).
fn scalar(cx: &mut Ctx, n: &NodeIn, suffix: &str, dtype: DType, v: f64) -> Result<ValueId, OnnxError> {
    let data = match dtype {
        DType::F32 => Data::F32(vec![v as f32]),
        DType::F16 => Data::F16(vec![f16::from_f64(v)]),
        DType::I64 => Data::I64(vec![v as i64]),
        DType::I32 => Data::I32(vec![v as i32]),
        DType::I16 => Data::I16(vec![v as i16]),
        DType::I8 => Data::I8(vec![v as i8]),
        DType::U8 => Data::U8(vec![v as u8]),
        other => return Err(n.err(format!("{} on {other} tensors is not supported", n.op_type))),
    };
    let t = TensorData::new(Vec::<usize>::new(), data).map_err(|e| n.err(e.to_string()))?;
    Ok(cx.constant(n, suffix, t))
}

/// The [`MathFn`] ops, with their ONNX attribute defaults. `Neg` and `Abs` of integer
/// tensors become `0 - x` and `Max(x, 0 - x)` (wrapping, as two's complement does).
fn unary(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let dtype = cx.ty(x).dtype;
    if dtype.is_integer() && matches!(n.op_type, "Neg" | "Abs") {
        let zero = scalar(cx, n, "zero", dtype, 0.0)?;
        if n.op_type == "Neg" {
            return cx.emit(n, "", Op::Binary(BinaryOp::Sub), vec![zero, x]);
        }
        let neg = cx.emit(n, "neg", Op::Binary(BinaryOp::Sub), vec![zero, x])?;
        return cx.emit(n, "", Op::Binary(BinaryOp::Max), vec![x, neg]);
    }
    let f = match n.op_type {
        "Elu" => MathFn::Elu { alpha: n.float("alpha", 1.0)? },
        "Selu" => MathFn::Selu { alpha: n.float("alpha", 1.673_263_2)?, gamma: n.float("gamma", 1.050_701)? },
        "Celu" => MathFn::Celu { alpha: n.float("alpha", 1.0)? },
        "ThresholdedRelu" => MathFn::ThresholdedRelu { alpha: n.float("alpha", 1.0)? },
        "Swish" => MathFn::Swish { alpha: n.float("alpha", 1.0)? },
        "Shrink" => MathFn::Shrink { lambd: n.float("lambd", 0.5)?, bias: n.float("bias", 0.0)? },
        "Gelu" => match n.string("approximate", "none")?.as_str() {
            "none" => MathFn::Gelu { tanh: false },
            "tanh" => MathFn::Gelu { tanh: true },
            other => return Err(n.err(format!("approximate = '{other}' is not one of none, tanh"))),
        },
        name => MathFn::PLAIN
            .iter()
            .find(|(_, p)| *p == name)
            .map(|(f, _)| *f)
            .ok_or_else(|| n.err(format!("internal: no importer for op type '{name}'")))?,
    };
    cx.emit(n, "", Op::Unary(UnaryOp::Math(f)), vec![x])
}

/// `Max`, `Min`, `Sum` (left fold of the binary op over 1 or more inputs, all broadcasting
/// together) and `Mean` (`Sum / count`).
fn variadic(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let inputs = (0..n.proto.input.len())
        .filter(|&i| n.input_name(i).is_some())
        .map(|i| cx.input(n, i))
        .collect::<Result<Vec<_>, _>>()?;
    let (&first, rest) = inputs.split_first().ok_or_else(|| n.err("needs at least one input"))?;
    let op = match n.op_type {
        "Max" => BinaryOp::Max,
        "Min" => BinaryOp::Min,
        _ => BinaryOp::Add,
    };
    let mean = n.op_type == "Mean";
    let mut acc = first;
    for (k, &v) in rest.iter().enumerate() {
        let last = k + 1 == rest.len() && !mean;
        let suffix = if last { String::new() } else { format!("acc{k}") };
        acc = cx.emit(n, &suffix, Op::Binary(op), vec![acc, v])?;
    }
    if mean && !rest.is_empty() {
        let dtype = cx.ty(acc).dtype;
        let count = scalar(cx, n, "count", dtype, inputs.len() as f64)?;
        acc = cx.emit(n, "", Op::Binary(BinaryOp::Div), vec![acc, count])?;
    }
    Ok(acc)
}

/// `Pow` (opset 7–15): the exponent is cast to the base's dtype when the dtypes differ;
/// an integer base with a float exponent is computed in that float type and cast back
/// (as numpy's `power(a, b).astype(a.dtype)`).
fn pow(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let (a, b) = (cx.input(n, 0)?, cx.input(n, 1)?);
    let (da, db) = (cx.ty(a).dtype, cx.ty(b).dtype);
    if da == db {
        return cx.emit(n, "", Op::Binary(BinaryOp::Pow), vec![a, b]);
    }
    if da.is_integer() && db.is_float() {
        let af = cx.emit(n, "base", Op::Cast { to: db }, vec![a])?;
        let p = cx.emit(n, "pow", Op::Binary(BinaryOp::Pow), vec![af, b])?;
        return cx.emit(n, "", Op::Cast { to: da }, vec![p]);
    }
    let bc = cx.emit(n, "exponent", Op::Cast { to: da }, vec![b])?;
    cx.emit(n, "", Op::Binary(BinaryOp::Pow), vec![a, bc])
}

/// `Expand` (opset 8/13): the constant `shape` input broadcast with the input's shape.
fn expand(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let spec = cx.const_ints(n, 1, "shape")?.ok_or_else(|| n.err("missing required input 1 ('shape')"))?;
    let dims = spec
        .iter()
        .map(|&d| usize::try_from(d).ok().filter(|&d| d as u64 <= MAX_DIM))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| n.err(format!("shape {spec:?} has an invalid entry")))?;
    let shape = broadcast_shapes(&cx.ty(x).shape, &dims).map_err(|e| n.err(e.to_string()))?;
    if shape == cx.ty(x).shape {
        return Ok(x);
    }
    cx.emit(n, "", Op::Expand { shape }, vec![x])
}

/// `PRelu(x, slope)` = `Where(x < 0, x * slope, x)` (`slope` broadcasts to `x`).
fn prelu(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let (x, slope) = (cx.input(n, 0)?, cx.input(n, 1)?);
    let dtype = cx.ty(x).dtype;
    let zero = scalar(cx, n, "zero", dtype, 0.0)?;
    let neg = cx.emit(n, "is_neg", Op::Compare(CompareOp::Less), vec![x, zero])?;
    let scaled = cx.emit(n, "scaled", Op::Binary(BinaryOp::Mul), vec![x, slope])?;
    let y = cx.emit(n, "", Op::Where, vec![neg, scaled, x])?;
    if cx.ty(y).shape != cx.ty(x).shape {
        return Err(n.err(format!(
            "slope {:?} does not broadcast to the input {:?}",
            cx.ty(slope).shape,
            cx.ty(x).shape
        )));
    }
    Ok(y)
}
