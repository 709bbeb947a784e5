//! Text attributes of the quantized ops, both directions (see `ops.rs` for the rest).
//!
//! ```text
//! %q: u8<0.5,3>[2] = QuantizeLinear(%x) {dtype=u8, scale=[0.5], zero_point=[3], axis=none, block_size=none}
//! %r: i8[2,3] = QuantizeLinearDynamicParams(%x, %scale, %zp) {axis=1}   # parameters computed at run time
//! %y = QConv(%q, %w, %b) {kernel=[3,3], strides=[1,1], pads=[1,1,1,1], dilations=[1,1], group=1,
//!                         mode=f32, out_dtype=u8, out_scale=0.05, out_zero_point=0, clamp=[0,255]}
//! %z = QMatMul(%a, %b) {alpha=1.0, mode=none}          # f32 output (no requantization)
//! %s = QLinearAdd(%a, %b) {out_scale=0.1, out_zero_point=128}
//! %l = QLinearLeakyRelu(%a) {alpha=0.1, out_scale=0.1, out_zero_point=128}
//! %h, %hy, %cy = LSTM(%x, %w, %r, %b, %h0, %c0, %p) {hidden_size=8, direction=forward, clip=none, input_forget=false} @lstm
//! ```
//!
//! Absent optional values print as `none`.

use super::lex::{parse_error, Tok};
use super::ops::{build_unary, fmt_f32, list, print_attrs, tok_f32, tok_usize, AttrValue, Attrs};
use crate::{
    BinaryOp, ConvAttrs, DType, IrError, LstmAttrs, LstmDirection, Op, QConvAttrs, QMatMulAttrs, QuantParams, Requant,
    RequantMode, UnaryOp,
};

const MODES: [(RequantMode, &str); 2] = [(RequantMode::F32Multiplier, "f32"), (RequantMode::FixedPoint, "fixed_point")];
const DIRECTIONS: [(LstmDirection, &str); 3] = [
    (LstmDirection::Forward, "forward"),
    (LstmDirection::Reverse, "reverse"),
    (LstmDirection::Bidirectional, "bidirectional"),
];

fn name_of<T: PartialEq + Copy>(table: &[(T, &'static str)], k: T) -> &'static str {
    table.iter().find(|(x, _)| *x == k).map_or("?", |(_, n)| n)
}

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or_else(|| "none".to_string(), f)
}

fn out_attrs(scale: f32, zp: i32) -> Vec<(&'static str, String)> {
    vec![("out_scale", fmt_f32(scale)), ("out_zero_point", zp.to_string())]
}

fn requant_attrs(r: &Requant) -> Vec<(&'static str, String)> {
    let mut v = vec![("mode", name_of(&MODES, r.mode).to_string()), ("out_dtype", r.out_dtype.name().to_string())];
    v.extend(out_attrs(r.out_scale, r.out_zero_point));
    v.push(("clamp", opt(r.clamp, |(a, b)| format!("[{a},{b}]"))));
    v
}

/// The attributes of a quantized op (and of the few other ops `ops.rs` delegates here).
pub(super) fn print_quant_attrs(op: &Op) -> Vec<(&'static str, String)> {
    match op {
        Op::QuantizeLinear { dtype, params } => vec![
            ("dtype", dtype.name().to_string()),
            ("scale", list(&params.scale, |x| fmt_f32(*x))),
            ("zero_point", list(&params.zero_point, |x| x.to_string())),
            ("axis", opt(params.axis, |a| a.to_string())),
            ("block_size", opt(params.block_size, |b| b.to_string())),
        ],
        Op::QuantizeLinearDynamicParams { axis } | Op::DequantizeLinearDynamicParams { axis } => {
            vec![("axis", opt(*axis, |a| a.to_string()))]
        }
        Op::QConv(a) => {
            let mut v = print_attrs(&Op::Conv(a.conv.clone()));
            v.extend(requant_attrs(&a.requant));
            v
        }
        Op::QMatMul(a) => {
            let mut v = vec![("alpha", fmt_f32(a.alpha))];
            match &a.requant {
                Some(r) => v.extend(requant_attrs(r)),
                None => v.push(("mode", "none".to_string())),
            }
            v
        }
        Op::QLinearBinary { out_scale, out_zero_point, .. }
        | Op::QLinearGlobalAveragePool { out_scale, out_zero_point } => out_attrs(*out_scale, *out_zero_point),
        Op::QLinearUnary { op, out_scale, out_zero_point } => {
            let mut v = print_attrs(&Op::Unary(*op));
            v.extend(out_attrs(*out_scale, *out_zero_point));
            v
        }
        Op::QLinearAveragePool { pool, out_scale, out_zero_point } => {
            let mut v = print_attrs(&Op::AveragePool(pool.clone()));
            v.extend(out_attrs(*out_scale, *out_zero_point));
            v
        }
        Op::QLinearSoftmax { axis, out_scale, out_zero_point }
        | Op::QLinearConcat { axis, out_scale, out_zero_point } => {
            let mut v = vec![("axis", axis.to_string())];
            v.extend(out_attrs(*out_scale, *out_zero_point));
            v
        }
        Op::Lstm(a) | Op::DynamicQuantizeLstm(a) => vec![
            ("hidden_size", a.hidden_size.to_string()),
            ("direction", name_of(&DIRECTIONS, a.direction).to_string()),
            ("clip", opt(a.clip, fmt_f32)),
            ("input_forget", a.input_forget.to_string()),
        ],
        _ => vec![],
    }
}

fn is_none(t: &Tok) -> bool {
    matches!(t, Tok::Ident(s) if s == "none")
}

fn opt_usize(a: &mut Attrs, name: &str) -> Result<Option<usize>, IrError> {
    a.scalar(name, "a non-negative integer or none", |t| if is_none(t) { Some(None) } else { tok_usize(t).map(Some) })
}

fn i32_tok(t: &Tok) -> Option<i32> {
    match t {
        Tok::Num(s) => s.parse().ok(),
        _ => None,
    }
}

fn conv_attrs(a: &mut Attrs) -> Result<ConvAttrs, IrError> {
    Ok(ConvAttrs {
        kernel: a.array("kernel")?,
        strides: a.array("strides")?,
        pads: a.array("pads")?,
        dilations: a.array("dilations")?,
        group: a.usize("group")?,
    })
}

fn out(a: &mut Attrs) -> Result<(f32, i32), IrError> {
    Ok((a.f32("out_scale")?, a.scalar("out_zero_point", "an integer", i32_tok)?))
}

fn requant(a: &mut Attrs, mode: RequantMode) -> Result<Requant, IrError> {
    let dtypes: Vec<(DType, &str)> = DType::ALL.iter().map(|d| (*d, d.name())).collect();
    let out_dtype = a.word("out_dtype", &dtypes)?;
    let (out_scale, out_zero_point) = out(a)?;
    let (l, c) = (a.line, a.column);
    let clamp = match a.take("clamp")?.0 {
        AttrValue::Scalar(t) if is_none(&t) => None,
        AttrValue::List(v) => match v.as_slice() {
            [x, y] => Some((
                i32_tok(x).ok_or_else(|| parse_error(l, c, "clamp bounds must be integers"))?,
                i32_tok(y).ok_or_else(|| parse_error(l, c, "clamp bounds must be integers"))?,
            )),
            _ => return Err(parse_error(l, c, format!("{}: clamp must be [lo,hi] or none", a.op))),
        },
        _ => return Err(parse_error(l, c, format!("{}: clamp must be [lo,hi] or none", a.op))),
    };
    Ok(Requant { mode, out_dtype, out_scale, out_zero_point, clamp })
}

fn requant_mode(a: &mut Attrs) -> Result<Option<RequantMode>, IrError> {
    let table =
        [(Some(RequantMode::F32Multiplier), "f32"), (Some(RequantMode::FixedPoint), "fixed_point"), (None, "none")];
    a.word("mode", &table)
}

fn lstm(a: &mut Attrs) -> Result<LstmAttrs, IrError> {
    Ok(LstmAttrs {
        hidden_size: a.usize("hidden_size")?,
        direction: a.word("direction", &DIRECTIONS)?,
        clip: a.scalar("clip", "a number or none", |t| if is_none(t) { Some(None) } else { tok_f32(t).map(Some) })?,
        input_forget: a.bool("input_forget")?,
    })
}

/// Builds a quantized op from its name and attributes; `None` when `name` is not one.
pub(super) fn build_quant_op(name: &str, a: &mut Attrs) -> Result<Option<Op>, IrError> {
    let op = match name {
        "QuantizeLinear" => {
            let dtypes: Vec<(DType, &str)> = DType::ALL.iter().map(|d| (*d, d.name())).collect();
            let dtype = a.word("dtype", &dtypes)?;
            let scale = a.vec("scale", "numbers", tok_f32)?;
            let zero_point = a.vec("zero_point", "integers", i32_tok)?;
            let axis = opt_usize(a, "axis")?;
            let block_size = opt_usize(a, "block_size")?;
            Op::QuantizeLinear { dtype, params: QuantParams { scale, zero_point, axis, block_size } }
        }
        "DequantizeLinear" => Op::DequantizeLinear,
        "DynamicQuantizeLinear" => Op::DynamicQuantizeLinear,
        "QuantizeLinearDynamicParams" => Op::QuantizeLinearDynamicParams { axis: opt_usize(a, "axis")? },
        "DequantizeLinearDynamicParams" => Op::DequantizeLinearDynamicParams { axis: opt_usize(a, "axis")? },
        "MatMulInteger" => Op::MatMulInteger,
        "ConvInteger" => Op::ConvInteger(conv_attrs(a)?),
        "QConv" => {
            let conv = conv_attrs(a)?;
            let (l, c) = (a.line, a.column);
            let mode = requant_mode(a)?.ok_or_else(|| parse_error(l, c, "QConv: mode must be f32 or fixed_point"))?;
            Op::QConv(QConvAttrs { conv, requant: requant(a, mode)? })
        }
        "QMatMul" => {
            let alpha = a.f32("alpha")?;
            let requant = match requant_mode(a)? {
                Some(mode) => Some(requant(a, mode)?),
                None => None,
            };
            Op::QMatMul(QMatMulAttrs { alpha, requant })
        }
        "QLinearAdd" | "QLinearMul" => {
            let op = if name == "QLinearAdd" { BinaryOp::Add } else { BinaryOp::Mul };
            let (out_scale, out_zero_point) = out(a)?;
            Op::QLinearBinary { op, out_scale, out_zero_point }
        }
        "QLinearGlobalAveragePool" => {
            let (out_scale, out_zero_point) = out(a)?;
            Op::QLinearGlobalAveragePool { out_scale, out_zero_point }
        }
        "QLinearAveragePool" => {
            let pool = a.pool()?;
            let (out_scale, out_zero_point) = out(a)?;
            Op::QLinearAveragePool { pool, out_scale, out_zero_point }
        }
        "QLinearSoftmax" | "QLinearConcat" => {
            let axis = a.usize("axis")?;
            let (out_scale, out_zero_point) = out(a)?;
            if name == "QLinearSoftmax" {
                Op::QLinearSoftmax { axis, out_scale, out_zero_point }
            } else {
                Op::QLinearConcat { axis, out_scale, out_zero_point }
            }
        }
        "LSTM" => Op::Lstm(lstm(a)?),
        "DynamicQuantizeLSTM" => Op::DynamicQuantizeLstm(lstm(a)?),
        other => match other.strip_prefix("QLinear") {
            Some(u @ ("Relu" | "LeakyRelu" | "Clip" | "Sigmoid" | "Tanh" | "HardSigmoid" | "HardSwish")) => {
                let op: UnaryOp = build_unary(u, a)?;
                let (out_scale, out_zero_point) = out(a)?;
                Op::QLinearUnary { op, out_scale, out_zero_point }
            }
            _ => return Ok(None),
        },
    };
    Ok(Some(op))
}
