//! Quantized operators in QOperator form: ONNX `QLinearConv` and `QLinearMatMul` (opset 10),
//! and the ONNX Runtime contrib ops (domain `com.microsoft`, as ONNX Runtime's
//! `quantize_static(quant_format=QOperator)` emits them): `QLinearAdd`, `QLinearMul`,
//! `QLinearGlobalAveragePool`, `QLinearAveragePool`, `QLinearLeakyRelu`, `QLinearSigmoid`,
//! `QLinearSoftmax`, `QLinearConcat`, `QGemm`, and `DynamicQuantizeLSTM` (in `lstm.rs`).
//!
//! Each maps onto one IR op (plus transposes where ONNX Runtime has a layout attribute): the
//! constant scale / zero-point inputs become the inputs' type parameters (see
//! [`super::quant::read_params`]) and the output's attributes. Input/output names and
//! semantics follow ONNX Runtime's contrib-op schemas (`contrib_defs.cc`,
//! `quantization_defs.cc`).

use int8xc_ir::{BinaryOp, DType, Op, QConvAttrs, QMatMulAttrs, Requant, RequantMode, UnaryOp, ValueId};

use super::quant::{read_params, require_params, Granularity};
use super::{Ctx, NodeIn};
use crate::OnnxError;

/// Dispatches the `com.microsoft` ops (the caller has checked the op is supported).
pub(super) fn import_ms(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    match n.op_type {
        "QLinearAdd" | "QLinearMul" => qlinear_binary(cx, n),
        "QLinearLeakyRelu" | "QLinearSigmoid" => qlinear_unary(cx, n),
        "QLinearGlobalAveragePool" => qlinear_global_average_pool(cx, n),
        "QLinearAveragePool" => qlinear_average_pool(cx, n),
        "QLinearSoftmax" => qlinear_softmax(cx, n),
        "QLinearConcat" => qlinear_concat(cx, n),
        "QGemm" => qgemm(cx, n),
        "DynamicQuantizeLSTM" => super::lstm::dynamic_quantize_lstm(cx, n),
        other => Err(n.err(format!("internal: no importer for com.microsoft op '{other}'"))),
    }
}

/// Quantized input `i` with its scale (input `si`) and zero point (input `zi`), per tensor
/// unless `granularity` allows per axis: returns the value carrying the parameters.
fn quantized_input(
    cx: &mut Ctx,
    n: &NodeIn,
    i: usize,
    (si, zi): (usize, usize),
    granularity: Granularity,
    what: &str,
) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, i)?;
    let (xdtype, shape) = (cx.ty(x).dtype, cx.ty(x).shape.clone());
    let (dtype, params) = read_params(cx, n, (si, zi), &shape, granularity, xdtype)?;
    require_params(cx, n, x, what, dtype, &params)
}

/// Output scale / zero point (inputs `si`, `zi`, per tensor): `(dtype, scale, zero point)`;
/// the dtype defaults to `default` when the zero point is absent.
fn output_params(
    cx: &mut Ctx,
    n: &NodeIn,
    (si, zi): (usize, usize),
    default: DType,
) -> Result<(DType, f32, i32), OnnxError> {
    let (dtype, q) = read_params(cx, n, (si, zi), &[], Granularity::PerTensor, default)?;
    Ok((dtype, q.scale[0], q.zero_point[0]))
}

fn requant(dtype: DType, scale: f32, zero_point: i32) -> Requant {
    Requant {
        mode: RequantMode::F32Multiplier,
        out_dtype: dtype,
        out_scale: scale,
        out_zero_point: zero_point,
        clamp: None,
    }
}

/// `QLinearConv` (opset 10): `x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
/// y_zero_point[, B]` → [`Op::QConv`] (f32 requantization, ONNX Runtime's arithmetic);
/// `w_scale` per tensor or `[M]` (per output channel, axis 0); `B` is `i32 [M]`.
pub(super) fn qlinear_conv(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = quantized_input(cx, n, 0, (1, 2), Granularity::PerTensor, "input x")?;
    let w = quantized_input(cx, n, 3, (4, 5), Granularity::Axis(0), "weight w")?;
    let (dtype, scale, zp) = output_params(cx, n, (6, 7), cx.ty(x).dtype)?;
    let bias = cx.opt_input(n, 8)?;
    let conv = super::conv::conv_attrs(n, &cx.ty(x).shape, &cx.ty(w).shape)?;
    let op = Op::QConv(QConvAttrs { conv, requant: requant(dtype, scale, zp) });
    Ok(vec![cx.emit(n, "", op, [x, w].into_iter().chain(bias).collect())?])
}

/// `QLinearMatMul` (opset 10): `a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale,
/// y_zero_point` → [`Op::QMatMul`] with `alpha = 1`; `b_scale` per tensor or per column.
pub(super) fn qlinear_matmul(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let a = quantized_input(cx, n, 0, (1, 2), Granularity::PerTensor, "input a")?;
    let b = quantized_input(cx, n, 3, (4, 5), Granularity::Axis(-1), "input b")?;
    let (dtype, scale, zp) = output_params(cx, n, (6, 7), cx.ty(a).dtype)?;
    let op = Op::QMatMul(QMatMulAttrs { alpha: 1.0, requant: Some(requant(dtype, scale, zp)) });
    Ok(vec![cx.emit(n, "", op, vec![a, b])?])
}

/// `QGemm` (com.microsoft): `A, a_scale, a_zero_point, B, b_scale, b_zero_point[, C][,
/// y_scale, y_zero_point]`, attributes `alpha` (1), `transA`, `transB` (0) → [`Op::QMatMul`].
/// `transA` becomes a `Transpose` of `A`; `transB` a transposed constant (or a `Transpose`
/// node); a per-channel `b_scale` `[N]` follows `B`'s `N` axis. Without `y_scale` the output
/// is `f32`. `C` is `i32`, broadcast to `[M, N]`.
fn qgemm(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let (trans_a, trans_b) = (n.int("transA", 0)? != 0, n.int("transB", 0)? != 0);
    let a = quantized_input(cx, n, 0, (1, 2), Granularity::PerTensor, "input A")?;
    let b = quantized_input(cx, n, 3, (4, 5), Granularity::Axis(if trans_b { 0 } else { 1 }), "input B")?;
    for (v, what) in [(a, "A"), (b, "B")] {
        if cx.ty(v).rank() != 2 {
            return Err(n.err(format!("input {what} must be 2-D, got {}", cx.ty(v))));
        }
    }
    let t = || Op::Transpose { perm: vec![1, 0] };
    let a = if trans_a { cx.emit(n, "a_t", t(), vec![a])? } else { a };
    let b = if trans_b { cx.emit(n, "b_t", t(), vec![b])? } else { b };
    let c = cx.opt_input(n, 6)?;
    let requant = match n.input_name(7) {
        None => None,
        Some(_) => {
            let (dtype, scale, zp) = output_params(cx, n, (7, 8), cx.ty(a).dtype)?;
            Some(requant(dtype, scale, zp))
        }
    };
    let alpha = n.float("alpha", 1.0)?;
    let op = Op::QMatMul(QMatMulAttrs { alpha, requant });
    Ok(vec![cx.emit(n, "", op, [a, b].into_iter().chain(c).collect())?])
}

/// `QLinearAdd` / `QLinearMul` (com.microsoft): `A, A_scale, A_zero_point, B, B_scale,
/// B_zero_point, C_scale, C_zero_point` → [`Op::QLinearBinary`].
fn qlinear_binary(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let op = if n.op_type == "QLinearAdd" { BinaryOp::Add } else { BinaryOp::Mul };
    let a = quantized_input(cx, n, 0, (1, 2), Granularity::PerTensor, "input A")?;
    let b = quantized_input(cx, n, 3, (4, 5), Granularity::PerTensor, "input B")?;
    let (dtype, out_scale, out_zero_point) = output_params(cx, n, (6, 7), cx.ty(a).dtype)?;
    check_same_dtype(n, cx.ty(a).dtype, dtype)?;
    Ok(vec![cx.emit(n, "", Op::QLinearBinary { op, out_scale, out_zero_point }, vec![a, b])?])
}

/// The output zero point must have the input's dtype (the QLinear ops' output type is the
/// input's in ONNX Runtime's schemas).
fn check_same_dtype(n: &NodeIn, input: DType, output: DType) -> Result<(), OnnxError> {
    if input != output {
        return Err(n.err(format!("output zero point has dtype {output}, but the input is {input}")));
    }
    Ok(())
}

/// `QLinearLeakyRelu` (`alpha`, default 0.01) / `QLinearSigmoid` (com.microsoft): `X,
/// X_scale, X_zero_point, Y_scale, Y_zero_point` → [`Op::QLinearUnary`].
fn qlinear_unary(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let op = match n.op_type {
        "QLinearLeakyRelu" => UnaryOp::LeakyRelu { alpha: n.float("alpha", 0.01)? },
        _ => UnaryOp::Sigmoid,
    };
    let x = quantized_input(cx, n, 0, (1, 2), Granularity::PerTensor, "input X")?;
    let (dtype, out_scale, out_zero_point) = output_params(cx, n, (3, 4), cx.ty(x).dtype)?;
    check_same_dtype(n, cx.ty(x).dtype, dtype)?;
    Ok(vec![cx.emit(n, "", Op::QLinearUnary { op, out_scale, out_zero_point }, vec![x])?])
}

/// Runs `body` on `x` in NCHW: with `channels_last = 1` the NHWC input is transposed to NCHW
/// first and the result back to NHWC.
fn in_nchw(
    cx: &mut Ctx,
    n: &NodeIn,
    x: ValueId,
    body: impl FnOnce(&mut Ctx, ValueId, &str) -> Result<ValueId, OnnxError>,
) -> Result<ValueId, OnnxError> {
    if n.int("channels_last", 0)? == 0 {
        return body(cx, x, "");
    }
    if cx.ty(x).rank() != 4 {
        return Err(n.err(format!("channels_last needs a 4-D input, got {}", cx.ty(x))));
    }
    let nchw = cx.emit(n, "to_nchw", Op::Transpose { perm: vec![0, 3, 1, 2] }, vec![x])?;
    let y = body(cx, nchw, "nchw")?;
    cx.emit(n, "", Op::Transpose { perm: vec![0, 2, 3, 1] }, vec![y])
}

/// `QLinearGlobalAveragePool` (com.microsoft): `X, x_scale, x_zero_point, y_scale,
/// y_zero_point`, `channels_last` → [`Op::QLinearGlobalAveragePool`].
fn qlinear_global_average_pool(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = quantized_input(cx, n, 0, (1, 2), Granularity::PerTensor, "input X")?;
    let (dtype, out_scale, out_zero_point) = output_params(cx, n, (3, 4), cx.ty(x).dtype)?;
    check_same_dtype(n, cx.ty(x).dtype, dtype)?;
    let op = Op::QLinearGlobalAveragePool { out_scale, out_zero_point };
    Ok(vec![in_nchw(cx, n, x, |cx, x, suffix| cx.emit(n, suffix, op, vec![x]))?])
}

/// `QLinearAveragePool` (com.microsoft): `X, x_scale, x_zero_point, y_scale, y_zero_point`,
/// `AveragePool`'s attributes and `channels_last` → [`Op::QLinearAveragePool`].
fn qlinear_average_pool(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = quantized_input(cx, n, 0, (1, 2), Granularity::PerTensor, "input X")?;
    let (dtype, out_scale, out_zero_point) = output_params(cx, n, (3, 4), cx.ty(x).dtype)?;
    check_same_dtype(n, cx.ty(x).dtype, dtype)?;
    let y = in_nchw(cx, n, x, |cx, x, suffix| {
        let pool = super::conv::pool_attrs(n, &cx.ty(x).shape, false)?;
        cx.emit(n, suffix, Op::QLinearAveragePool { pool, out_scale, out_zero_point }, vec![x])
    })?;
    Ok(vec![y])
}

/// `QLinearSoftmax` (com.microsoft): `X, X_scale, x_zero_point, y_scale, y_zero_point`,
/// attributes `axis` and `opset` (the `Softmax` semantics it follows). With `opset < 13` the
/// input is coerced to 2-D at `axis` (default 1), which is imported as `Reshape →
/// QLinearSoftmax(axis=1) → Reshape` unless every dim after `axis` is 1.
fn qlinear_softmax(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = quantized_input(cx, n, 0, (1, 2), Granularity::PerTensor, "input X")?;
    let (dtype, out_scale, out_zero_point) = output_params(cx, n, (3, 4), cx.ty(x).dtype)?;
    check_same_dtype(n, cx.ty(x).dtype, dtype)?;
    let shape = cx.ty(x).shape.clone();
    let rank = shape.len();
    let semantics = n.int("opset", 13)?;
    let op = |axis| Op::QLinearSoftmax { axis, out_scale, out_zero_point };
    if semantics >= 13 {
        let axis = n.axis("axis", n.int("axis", -1)?, rank)?;
        return Ok(vec![cx.emit(n, "", op(axis), vec![x])?]);
    }
    let axis = n.axis("axis", n.int("axis", 1)?, rank)?;
    if shape[axis + 1..].iter().all(|&d| d == 1) {
        return Ok(vec![cx.emit(n, "", op(axis), vec![x])?]);
    }
    let rows: usize = shape[..axis].iter().product();
    let cols: usize = shape[axis..].iter().product();
    let flat = cx.emit(n, "flatten", Op::Reshape { shape: vec![rows, cols] }, vec![x])?;
    let sm = cx.emit(n, "softmax", op(1), vec![flat])?;
    Ok(vec![cx.emit(n, "", Op::Reshape { shape }, vec![sm])?])
}

/// `QLinearConcat` (com.microsoft): `Y_scale, Y_zero_point`, then one `(X, X_scale,
/// X_zero_point)` triple per input; attribute `axis` → [`Op::QLinearConcat`].
fn qlinear_concat(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let count = n.proto.input.len();
    if count < 5 || !(count - 2).is_multiple_of(3) {
        return Err(
            n.err(format!("expects Y_scale, Y_zero_point and (X, scale, zero point) triples, got {count} inputs"))
        );
    }
    let mut inputs = Vec::new();
    for k in 0..(count - 2) / 3 {
        let i = 2 + 3 * k;
        inputs.push(quantized_input(cx, n, i, (i + 1, i + 2), Granularity::PerTensor, &format!("input {i}"))?);
    }
    let first = cx.ty(inputs[0]).clone();
    let (dtype, out_scale, out_zero_point) = output_params(cx, n, (0, 1), first.dtype)?;
    check_same_dtype(n, first.dtype, dtype)?;
    let axis = n.axis("axis", n.int_required("axis")?, first.rank())?;
    Ok(vec![cx.emit(n, "", Op::QLinearConcat { axis, out_scale, out_zero_point }, inputs)?])
}
