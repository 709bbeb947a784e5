//! Matching of the QDQ groups (see [`super::QdqToInteger`] for the rules and their ONNX
//! Runtime sources).

use int8xc_ir::{
    quant_range, quantize_f32, BinaryOp, DType, Data, GemmAttrs, Op, QConvAttrs, QMatMulAttrs, QuantParams, Requant,
    RequantMode, TensorData, UnaryOp, ValueId,
};

use super::{Analysis, Operand, Plan};

/// The `Q` of a group: node index, output dtype and per-tensor `(scale, zero point)`.
struct QOut {
    at: usize,
    dtype: DType,
    scale: f32,
    zero_point: i32,
    out: ValueId,
}

/// The plan for node `n`, when `n` ends a fusable group.
pub(super) fn plan(an: &Analysis, n: usize) -> Option<Plan> {
    let node = &an.g.nodes[n];
    match &node.op {
        Op::QuantizeLinear { dtype, params } => {
            let (scale, zero_point) = per_tensor(params)?;
            if !matches!(dtype, DType::U8 | DType::I8) {
                return None;
            }
            let q = QOut { at: n, dtype: *dtype, scale, zero_point, out: node.outputs[0] };
            plan_quantized(an, &q)
        }
        Op::Gemm(attrs) => {
            // QGemm with an f32 output: the Gemm's output is not (only) quantized.
            let y = node.outputs[0];
            let quantized_next = an.sole_user(y).is_some_and(|u| {
                matches!(an.g.nodes[u].op, Op::QuantizeLinear { .. } | Op::Unary(UnaryOp::Relu | UnaryOp::Clip { .. }))
            });
            if quantized_next {
                return None;
            }
            gemm(an, n, attrs, None, None)
        }
        _ => None,
    }
}

fn per_tensor(q: &QuantParams) -> Option<(f32, i32)> {
    match (q.axis, q.scale.as_slice(), q.zero_point.as_slice()) {
        (None, [s], [z]) => Some((*s, *z)),
        _ => None,
    }
}

/// The quantized input of an 8-bit per-tensor activation `DequantizeLinear` feeding `v`.
fn act_input(an: &Analysis, v: ValueId) -> Option<ValueId> {
    let (_, x) = an.dq_input(v)?;
    let ty = an.g.ty(x);
    (matches!(ty.dtype, DType::U8 | DType::I8) && per_tensor(ty.quant.as_ref()?).is_some()).then_some(x)
}

/// The group ending in `q`: finds the op (through an optional `Relu`/`Clip`) and dispatches.
fn plan_quantized(an: &Analysis, q: &QOut) -> Option<Plan> {
    let y = an.g.nodes[q.at].inputs[0];
    let p = an.producer(y)?;
    if an.sole_user(y) != Some(q.at) {
        return None;
    }
    let (target, act) = match an.g.nodes[p].op {
        Op::Unary(UnaryOp::Relu | UnaryOp::Clip { .. }) => {
            let t = an.producer(an.g.nodes[p].inputs[0])?;
            (an.sole_user(an.g.nodes[p].inputs[0]) == Some(p)).then_some((t, Some(p)))?
        }
        _ => (p, None),
    };
    let tnode = &an.g.nodes[target];
    let clamp = act.map(|a| clamp_of(&an.g.nodes[a].op, q));
    match &tnode.op {
        Op::Conv(attrs) => conv(an, target, attrs, q, act, clamp),
        Op::MatMul => matmul(an, target, q, act, clamp),
        Op::Gemm(attrs) => gemm(an, target, attrs, Some(q), act.map(|a| (a, clamp.flatten()))),
        _ if act.is_some() => None,
        Op::Binary(op @ (BinaryOp::Add | BinaryOp::Mul)) => binary(an, target, *op, q),
        Op::AveragePool(_) | Op::GlobalAveragePool | Op::Softmax { .. } => unary(an, target, q),
        Op::Unary(UnaryOp::LeakyRelu { .. } | UnaryOp::Sigmoid) => unary(an, target, q),
        Op::Concat { axis } => concat(an, target, *axis, q),
        Op::Reshape { .. } | Op::Transpose { .. } | Op::MaxPool(_) | Op::Slice(_) | Op::Gather { .. } => {
            movement(an, target, q)
        }
        // Pure selection only: tf_crop_and_resize may write the float extrapolation value.
        Op::Resize(r)
            if r.mode == int8xc_ir::ResizeMode::Nearest && r.coord != int8xc_ir::CoordTransform::TfCropAndResize =>
        {
            movement(an, target, q)
        }
        _ => None,
    }
}

/// The requantization clamp equivalent to `Relu` / `Clip` followed by `q`.
fn clamp_of(op: &Op, q: &QOut) -> Option<(i32, i32)> {
    let range = quant_range(q.dtype)?;
    match op {
        Op::Unary(UnaryOp::Relu) => Some((quantize_f32(0.0, q.scale, q.zero_point, range), range.1)),
        Op::Unary(UnaryOp::Clip { min, max }) => {
            Some((quantize_f32(*min, q.scale, q.zero_point, range), quantize_f32(*max, q.scale, q.zero_point, range)))
        }
        _ => None,
    }
}

fn requant(q: &QOut, clamp: Option<Option<(i32, i32)>>) -> Requant {
    Requant {
        mode: RequantMode::F32Multiplier,
        out_dtype: q.dtype,
        out_scale: q.scale,
        out_zero_point: q.zero_point,
        clamp: clamp.flatten(),
    }
}

fn group(q: &QOut, target: usize, act: Option<usize>, name: &str, op: Op, inputs: Vec<Operand>) -> Plan {
    Plan { at: q.at, absorbed: std::iter::once(target).chain(act).collect(), name: name.to_string(), op, inputs }
}

/// A constant weight `DequantizeLinear(w)` feeding `v`: `w` 8-bit, per tensor or per `axis`.
fn const_weight(an: &Analysis, v: ValueId, axis: usize) -> Option<ValueId> {
    let (_, w) = an.dq_input(v)?;
    an.g.constant(w)?;
    weight_ok(an, w, axis).then_some(w)
}

fn weight_ok(an: &Analysis, w: ValueId, axis: usize) -> bool {
    let ty = an.g.ty(w);
    matches!(ty.dtype, DType::U8 | DType::I8)
        && ty.quant.as_ref().is_some_and(|q| q.block_size.is_none() && q.axis.is_none_or(|a| a == axis))
}

/// The `i32` bias of a fused op from input `v`: `DequantizeLinear` of an `i32` constant (its
/// integers, parameters dropped: ORT ignores the bias scale), or (extension) an `f32`
/// constant quantized with scale `s_x * s_w[c]` (`c` along the bias's last axis).
fn bias(an: &Analysis, v: ValueId, x_scale: f32, w: ValueId) -> Option<Operand> {
    if let Some((_, b)) = an.dq_input(v) {
        let data = an.g.constant(b)?;
        return (data.dtype() == DType::I32).then(|| Operand::Const("bias", data.clone()));
    }
    let data = an.g.constant(v)?;
    let values = data.as_f32()?;
    let ws = &an.g.ty(w).quant.as_ref()?.scale;
    let last = data.shape().last().copied().unwrap_or(1).max(1);
    if ws.len() != 1 && ws.len() != last {
        return None;
    }
    let q: Vec<i32> = values
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let s = x_scale * ws[if ws.len() == 1 { 0 } else { i % last }];
            let r = (b / s).round_ties_even();
            r.clamp(i32::MIN as f32, i32::MAX as f32) as i32
        })
        .collect();
    TensorData::new(data.shape().to_vec(), Data::I32(q)).ok().map(|t| Operand::Const("bias", t))
}

/// ORT x86 rule for Conv / MatMul: the effective input type is `u8` (int8 activations are not
/// fused, `QDQIsInt8Allowed() == false`) and equals the output's.
fn u8_in_out(an: &Analysis, x: ValueId, q: &QOut) -> bool {
    an.effective_dtype(x) == DType::U8 && an.effective_dtype(q.out) == DType::U8 && an.g.ty(x).dtype == q.dtype
}

fn conv(
    an: &Analysis,
    t: usize,
    attrs: &int8xc_ir::ConvAttrs,
    q: &QOut,
    act: Option<usize>,
    clamp: Option<Option<(i32, i32)>>,
) -> Option<Plan> {
    let node = &an.g.nodes[t];
    let x = act_input(an, node.inputs[0])?;
    let w = const_weight(an, node.inputs[1], 0)?;
    if !u8_in_out(an, x, q) || (an.g.ty(x).dtype == DType::I8 && an.g.ty(w).dtype == DType::U8) {
        return None;
    }
    let sx = an.g.ty(x).quant.as_ref()?.scale[0];
    let mut inputs = vec![Operand::Value(x), Operand::Value(w)];
    if let Some(&b) = node.inputs.get(2) {
        inputs.push(bias(an, b, sx, w)?);
    }
    let op = Op::QConv(QConvAttrs { conv: attrs.clone(), requant: requant(q, clamp) });
    Some(group(q, t, act, &node.name, op, inputs))
}

fn matmul(an: &Analysis, t: usize, q: &QOut, act: Option<usize>, clamp: Option<Option<(i32, i32)>>) -> Option<Plan> {
    let node = &an.g.nodes[t];
    let a = act_input(an, node.inputs[0])?;
    let (_, b) = an.dq_input(node.inputs[1])?;
    let (ra, rb) = (an.g.ty(a).rank(), an.g.ty(b).rank());
    if ra < 2 || rb < 2 || !weight_ok(an, b, rb - 1) || !u8_in_out(an, a, q) {
        return None;
    }
    if an.g.ty(a).dtype == DType::I8 && an.g.ty(b).dtype == DType::U8 {
        return None;
    }
    let op = Op::QMatMul(QMatMulAttrs { alpha: 1.0, requant: Some(requant(q, clamp)) });
    Some(group(q, t, act, &node.name, op, vec![Operand::Value(a), Operand::Value(b)]))
}

/// `Gemm` with (`q`) or without a quantized output. ORT's `GemmNodeGroupSelector`: `A` signed
/// requires `B` signed, `A` and `Y` of one (effective) type, `beta = 1` with a bias, which
/// must be `DQ(i32)`.
fn gemm(
    an: &Analysis,
    t: usize,
    attrs: &GemmAttrs,
    q: Option<&QOut>,
    act: Option<(usize, Option<(i32, i32)>)>,
) -> Option<Plan> {
    let node = &an.g.nodes[t];
    let a = act_input(an, node.inputs[0])?;
    let (_, b) = an.dq_input(node.inputs[1])?;
    if an.g.ty(a).rank() != 2 || an.g.ty(b).rank() != 2 || !weight_ok(an, b, if attrs.trans_b { 0 } else { 1 }) {
        return None;
    }
    let ea = an.effective_dtype(a);
    if ea == DType::I8 && an.g.ty(b).dtype != DType::I8 {
        return None;
    }
    if let Some(q) = q {
        if ea != an.effective_dtype(q.out) || an.g.ty(a).dtype != q.dtype {
            return None;
        }
    }
    let sa = an.g.ty(a).quant.as_ref()?.scale[0];
    let mut inputs = vec![
        if attrs.trans_a { Operand::Transposed(a) } else { Operand::Value(a) },
        if attrs.trans_b { Operand::Transposed(b) } else { Operand::Value(b) },
    ];
    if let Some(&c) = node.inputs.get(2) {
        if attrs.beta != 1.0 {
            return None;
        }
        inputs.push(bias(an, c, attrs.alpha * sa, b)?);
    }
    let (act, clamp) = match act {
        Some((a, c)) => (Some(a), Some(c)),
        None => (None, None),
    };
    let requant = q.map(|q| requant(q, clamp));
    let op = Op::QMatMul(QMatMulAttrs { alpha: attrs.alpha, requant });
    let at = q.map_or(t, |q| q.at);
    let absorbed = if q.is_some() { std::iter::once(t).chain(act).collect() } else { Vec::new() };
    Some(Plan { at, absorbed, name: node.name.clone(), op, inputs })
}

/// All inputs of node `t` through per-tensor 8-bit `DequantizeLinear`s whose effective
/// dtype is the output's (ORT's Binary/Unary/Variadic selectors).
fn same_type_inputs(an: &Analysis, t: usize, q: &QOut) -> Option<Vec<ValueId>> {
    let eq = an.effective_dtype(q.out);
    an.g.nodes[t]
        .inputs
        .iter()
        .map(|&v| act_input(an, v).filter(|&x| an.g.ty(x).dtype == q.dtype && an.effective_dtype(x) == eq))
        .collect()
}

fn binary(an: &Analysis, t: usize, op: BinaryOp, q: &QOut) -> Option<Plan> {
    let inputs = same_type_inputs(an, t, q)?;
    let op = Op::QLinearBinary { op, out_scale: q.scale, out_zero_point: q.zero_point };
    Some(group(q, t, None, &an.g.nodes[t].name, op, inputs.into_iter().map(Operand::Value).collect()))
}

fn unary(an: &Analysis, t: usize, q: &QOut) -> Option<Plan> {
    let inputs = same_type_inputs(an, t, q)?;
    let (out_scale, out_zero_point) = (q.scale, q.zero_point);
    let op = match &an.g.nodes[t].op {
        // QLinearAveragePool (ONNX Runtime) has no dilations: a dilated pool stays float
        Op::AveragePool(pool) if pool.dilations == [1, 1] => {
            Op::QLinearAveragePool { pool: pool.clone(), out_scale, out_zero_point }
        }
        Op::GlobalAveragePool => Op::QLinearGlobalAveragePool { out_scale, out_zero_point },
        Op::Softmax { axis } => Op::QLinearSoftmax { axis: *axis, out_scale, out_zero_point },
        Op::Unary(u) => Op::QLinearUnary { op: *u, out_scale, out_zero_point },
        _ => return None,
    };
    Some(group(q, t, None, &an.g.nodes[t].name, op, inputs.into_iter().map(Operand::Value).collect()))
}

/// `Concat` of dequantized inputs: a plain integer `Concat` when every input has the output's
/// parameters (exact), else `QLinearConcat` under ORT's variadic rule.
fn concat(an: &Analysis, t: usize, axis: usize, q: &QOut) -> Option<Plan> {
    let node = &an.g.nodes[t];
    let out_ty = an.g.ty(q.out);
    let xs: Option<Vec<ValueId>> = node.inputs.iter().map(|&v| an.dq_input(v).map(|(_, x)| x)).collect();
    let xs = xs?;
    let equal = xs.iter().all(|&x| an.g.ty(x).dtype == out_ty.dtype && an.g.ty(x).quant == out_ty.quant);
    let (op, xs) = if equal {
        (Op::Concat { axis }, xs)
    } else {
        (Op::QLinearConcat { axis, out_scale: q.scale, out_zero_point: q.zero_point }, same_type_inputs(an, t, q)?)
    };
    Some(group(q, t, None, &node.name, op, xs.into_iter().map(Operand::Value).collect()))
}

/// A data-movement op between `DQ` and `Q` with equal dtype and parameters runs on the
/// integers (exact: these ops only move elements, and `MaxPool` commutes with the monotonic
/// dequantization).
fn movement(an: &Analysis, t: usize, q: &QOut) -> Option<Plan> {
    let node = &an.g.nodes[t];
    let (_, x) = an.dq_input(node.inputs[0])?;
    let (xt, qt) = (an.g.ty(x), an.g.ty(q.out));
    if xt.dtype != qt.dtype || xt.quant != qt.quant {
        return None;
    }
    if node.inputs[1..].iter().any(|&v| an.dq_input(v).is_some()) {
        return None;
    }
    let inputs = std::iter::once(x).chain(node.inputs[1..].iter().copied()).map(Operand::Value).collect();
    Some(group(q, t, None, &node.name, node.op.clone(), inputs))
}
