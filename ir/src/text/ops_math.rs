//! Text attributes of the math, comparison, logical, reduction and padding ops, both
//! directions (see `ops.rs` for the rest).
//!
//! ```text
//! %y = Elu(%x) {alpha=1.0}
//! %g = Gelu(%x) {approximate=tanh}
//! %r = Mod(%a, %b) {fmod=false}
//! %c = Less(%a, %b)
//! %s = ReduceSum(%x) {axes=[1], keepdims=true}
//! %p = Pad(%x) {mode=reflect, begin=[0,1], end=[0,2], value=0.0}
//! ```

use super::lex::{parse_error, Tok};
use super::ops::{fmt_f32, list, AttrValue, Attrs};
use crate::{BinaryOp, CompareOp, IrError, LogicalOp, MathFn, Op, PadAttrs, PadMode, ReduceKind, UnaryOp};

const GELU: [(bool, &str); 2] = [(false, "none"), (true, "tanh")];

fn ints(v: &[usize]) -> String {
    list(v, |x| x.to_string())
}

/// The attributes of a [`MathFn`], in a fixed order.
pub(super) fn math_fn_attrs(m: &MathFn) -> Vec<(&'static str, String)> {
    let f = |x: &f32| fmt_f32(*x);
    match m {
        MathFn::Elu { alpha }
        | MathFn::Celu { alpha }
        | MathFn::ThresholdedRelu { alpha }
        | MathFn::Swish { alpha } => vec![("alpha", f(alpha))],
        MathFn::Selu { alpha, gamma } => vec![("alpha", f(alpha)), ("gamma", f(gamma))],
        MathFn::Gelu { tanh } => vec![("approximate", if *tanh { "tanh" } else { "none" }.to_string())],
        MathFn::Shrink { lambd, bias } => vec![("lambd", f(lambd)), ("bias", f(bias))],
        _ => vec![],
    }
}

/// The attributes of the ops of this module; `None` for any other op.
pub(super) fn print_math_attrs(op: &Op) -> Option<Vec<(&'static str, String)>> {
    Some(match op {
        Op::Unary(UnaryOp::Math(m)) => math_fn_attrs(m),
        Op::Binary(BinaryOp::Mod { fmod }) => vec![("fmod", fmod.to_string())],
        Op::Binary(BinaryOp::Max | BinaryOp::Min | BinaryOp::Pow) => vec![],
        Op::Compare(_) | Op::Logical(_) | Op::Not | Op::Where => vec![],
        Op::Expand { shape } => vec![("shape", ints(shape))],
        Op::Reduce { axes, keepdims, .. } => vec![("axes", ints(axes)), ("keepdims", keepdims.to_string())],
        Op::LogSoftmax { axis } => vec![("axis", axis.to_string())],
        Op::Pad(p) => vec![
            ("mode", PadMode::ALL.iter().find(|(m, _)| *m == p.mode).map_or("?", |(_, n)| n).to_string()),
            ("begin", ints(&p.begin)),
            ("end", ints(&p.end)),
            ("value", format!("{:?}", p.value)),
        ],
        _ => return None,
    })
}

fn math_fn(name: &str, a: &mut Attrs) -> Result<Option<MathFn>, IrError> {
    if let Some((f, _)) = MathFn::PLAIN.iter().find(|(_, n)| *n == name) {
        return Ok(Some(*f));
    }
    Ok(Some(match name {
        "Elu" => MathFn::Elu { alpha: a.f32("alpha")? },
        "Selu" => MathFn::Selu { alpha: a.f32("alpha")?, gamma: a.f32("gamma")? },
        "Celu" => MathFn::Celu { alpha: a.f32("alpha")? },
        "ThresholdedRelu" => MathFn::ThresholdedRelu { alpha: a.f32("alpha")? },
        "Swish" => MathFn::Swish { alpha: a.f32("alpha")? },
        "Gelu" => MathFn::Gelu { tanh: a.word("approximate", &GELU)? },
        "Shrink" => MathFn::Shrink { lambd: a.f32("lambd")?, bias: a.f32("bias")? },
        _ => return Ok(None),
    }))
}

/// Builds the op of this module named `name`; `None` when the name is not one of them.
pub(super) fn build_math_op(name: &str, a: &mut Attrs) -> Result<Option<Op>, IrError> {
    if let Some(f) = math_fn(name, a)? {
        return Ok(Some(Op::Unary(UnaryOp::Math(f))));
    }
    if let Some((c, _)) = CompareOp::ALL.iter().find(|(_, n)| *n == name) {
        return Ok(Some(Op::Compare(*c)));
    }
    if let Some((l, _)) = LogicalOp::ALL.iter().find(|(_, n)| *n == name) {
        return Ok(Some(Op::Logical(*l)));
    }
    if let Some((kind, _)) = ReduceKind::ALL.iter().find(|(_, n)| *n == name) {
        return Ok(Some(Op::Reduce { kind: *kind, axes: a.usizes("axes")?, keepdims: a.bool("keepdims")? }));
    }
    Ok(Some(match name {
        "Max" => Op::Binary(BinaryOp::Max),
        "Min" => Op::Binary(BinaryOp::Min),
        "Pow" => Op::Binary(BinaryOp::Pow),
        "Mod" => Op::Binary(BinaryOp::Mod { fmod: a.bool("fmod")? }),
        "Not" => Op::Not,
        "Where" => Op::Where,
        "Expand" => Op::Expand { shape: a.usizes("shape")? },
        "LogSoftmax" => Op::LogSoftmax { axis: a.usize("axis")? },
        "Pad" => {
            let mode = a.word("mode", &PadMode::ALL)?;
            let (begin, end) = (a.usizes("begin")?, a.usizes("end")?);
            let (v, l, c) = a.take("value")?;
            let value = match &v {
                AttrValue::Scalar(Tok::Num(s) | Tok::Ident(s)) => s.parse::<f64>().ok(),
                _ => None,
            }
            .ok_or_else(|| parse_error(l, c, "Pad: attribute 'value' must be a number"))?;
            Op::Pad(PadAttrs { mode, begin, end, value })
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use crate::{
        parse_graph, print_graph, verify, BinaryOp, CompareOp, DType, Graph, LogicalOp, MathFn, Op, PadAttrs, PadMode,
        PrintOptions, ReduceKind, TensorType, UnaryOp,
    };

    fn round_trip(op: Op, inputs: &[TensorType]) {
        let mut g = Graph::new("one");
        let ids = inputs.iter().enumerate().map(|(i, t)| g.add_input(format!("x{i}"), t.clone())).collect();
        g.outputs = g.add_node("y", op.clone(), ids).unwrap_or_else(|e| panic!("{e}"));
        verify(&g).unwrap();
        let text = print_graph(&g, &PrintOptions::full());
        let back = parse_graph(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, g, "{text}");
        assert!(text.contains(op.name()), "{text}");
    }

    #[test]
    fn math_ops_round_trip() {
        let x = TensorType::new(DType::F32, [2, 3]);
        let b = TensorType::new(DType::Bool, [2, 3]);
        let mut unary: Vec<MathFn> = MathFn::PLAIN.iter().map(|(f, _)| *f).collect();
        unary.extend([
            MathFn::Elu { alpha: 0.5 },
            MathFn::Selu { alpha: 1.5, gamma: 2.5 },
            MathFn::Celu { alpha: 2.0 },
            MathFn::ThresholdedRelu { alpha: 1.0 },
            MathFn::Swish { alpha: 0.25 },
            MathFn::Gelu { tanh: true },
            MathFn::Gelu { tanh: false },
            MathFn::Shrink { lambd: 0.5, bias: 0.125 },
        ]);
        for f in unary {
            round_trip(Op::Unary(UnaryOp::Math(f)), std::slice::from_ref(&x));
        }
        for op in [BinaryOp::Max, BinaryOp::Min, BinaryOp::Pow, BinaryOp::Mod { fmod: true }] {
            round_trip(Op::Binary(op), &[x.clone(), x.clone()]);
        }
        for (c, _) in CompareOp::ALL {
            round_trip(Op::Compare(c), &[x.clone(), x.clone()]);
        }
        for (l, _) in LogicalOp::ALL {
            round_trip(Op::Logical(l), &[b.clone(), b.clone()]);
        }
        round_trip(Op::Not, std::slice::from_ref(&b));
        round_trip(Op::Where, &[b.clone(), x.clone(), x.clone()]);
        round_trip(Op::Expand { shape: vec![4, 2, 3] }, std::slice::from_ref(&x));
        for (kind, _) in ReduceKind::ALL {
            round_trip(Op::Reduce { kind, axes: vec![1], keepdims: false }, std::slice::from_ref(&x));
        }
        round_trip(Op::LogSoftmax { axis: 1 }, std::slice::from_ref(&x));
        for (mode, _) in PadMode::ALL {
            let value = if mode == PadMode::Constant { -1.5 } else { 0.0 };
            round_trip(Op::Pad(PadAttrs { mode, begin: vec![1, 0], end: vec![0, 2], value }), std::slice::from_ref(&x));
        }
    }

    #[test]
    fn bad_math_attributes_are_parse_errors() {
        let text = "graph g(%x: f32[2]) -> (%y) {\n  %y = Gelu(%x) {approximate=erf}\n}\n";
        let e = parse_graph(text).unwrap_err().to_string();
        assert!(e.contains("approximate") && e.contains("none, tanh"), "{e}");
        let text = "graph g(%x: f32[2]) -> (%y) {\n  %y = Pad(%x) {mode=constant, begin=[1], end=[0], value=x}\n}\n";
        assert!(parse_graph(text).unwrap_err().to_string().contains("'value' must be a number"));
    }
}
