//! `LSTM` (ONNX opset 7–22, float) and ONNX Runtime's `DynamicQuantizeLSTM`
//! (com.microsoft) → [`Op::Lstm`] / [`Op::DynamicQuantizeLstm`].
//!
//! The IR ops take all seven operands; absent optional ones (`B`, `initial_h`, `initial_c`,
//! `P`) become zero constants, which is their ONNX default. `sequence_lens` is accepted only
//! as a constant equal to the sequence length for every batch entry (then it changes
//! nothing). Only the default activations (`Sigmoid`, `Tanh`, `Tanh`) are supported.
//! `layout = 1` (batch-major) becomes transposes around the op.

use int8xc_ir::{DType, Data, LstmAttrs, LstmDirection, Op, QuantParams, TensorData, ValueId};

use super::quant::require_params;
use super::{Ctx, NodeIn};
use crate::OnnxError;

/// The common attributes; `dirs` is checked against the weight's first dim by the IR.
fn attrs(n: &NodeIn, hidden_from_r: Option<usize>) -> Result<LstmAttrs, OnnxError> {
    let direction = match n.string("direction", "forward")?.as_str() {
        "forward" => LstmDirection::Forward,
        "reverse" => LstmDirection::Reverse,
        "bidirectional" => LstmDirection::Bidirectional,
        other => return Err(n.err(format!("attribute 'direction' has unknown value '{other}'"))),
    };
    if let Some(a) = n.attr("activations") {
        let names: Vec<String> = a.strings.iter().map(|s| String::from_utf8_lossy(s).to_lowercase()).collect();
        let ok = names.chunks(3).all(|c| c == ["sigmoid", "tanh", "tanh"]) && names.len() == 3 * direction.count();
        if !ok {
            return Err(n.err(format!(
                "activations {names:?} are not supported (only the default Sigmoid, Tanh, Tanh per direction)"
            )));
        }
    }
    let hidden = match n.attr("hidden_size") {
        Some(_) => usize::try_from(n.int_required("hidden_size")?).ok().filter(|&h| h > 0),
        None => hidden_from_r,
    };
    let hidden_size = hidden.ok_or_else(|| n.err("attribute 'hidden_size' must be a positive integer"))?;
    let clip = match n.attr("clip") {
        None => None,
        Some(_) => {
            let c = n.float("clip", 0.0)?;
            if !(c.is_finite() && c > 0.0) {
                return Err(n.err(format!("attribute 'clip' {c:?} must be finite and > 0")));
            }
            Some(c)
        }
    };
    Ok(LstmAttrs { hidden_size, direction, clip, input_forget: n.int("input_forget", 0)? != 0 })
}

/// Input `i` or a zero `f32` constant of `shape` when absent.
fn or_zeros(cx: &mut Ctx, n: &NodeIn, i: usize, what: &str, shape: Vec<usize>) -> Result<ValueId, OnnxError> {
    if let Some(v) = cx.opt_input(n, i)? {
        return Ok(v);
    }
    let numel = shape.iter().product();
    let t = TensorData::new(shape, Data::zeros(DType::F32, numel)).map_err(|e| n.err(e.to_string()))?;
    Ok(cx.constant(n, what, t))
}

/// Checks `sequence_lens` (input 4): absent, or a constant equal to `seq` everywhere.
fn check_sequence_lens(cx: &mut Ctx, n: &NodeIn, seq: usize) -> Result<(), OnnxError> {
    if let Some(lens) = cx.const_ints(n, 4, "sequence_lens")? {
        if lens.iter().any(|&l| l != seq as i64) {
            return Err(n.err(format!(
                "sequence_lens {lens:?} differ from the sequence length {seq}; variable-length sequences are not supported"
            )));
        }
    }
    Ok(())
}

/// The operands after `x`, `w`, `r`: `[b, initial_h, initial_c, p]`, absent ones as zeros.
fn rest(cx: &mut Ctx, n: &NodeIn, a: &LstmAttrs, batch: usize) -> Result<Vec<ValueId>, OnnxError> {
    let (d, h) = (a.direction.count(), a.hidden_size);
    Ok(vec![
        or_zeros(cx, n, 3, "B", vec![d, 8 * h])?,
        or_zeros(cx, n, 5, "initial_h", vec![d, batch, h])?,
        or_zeros(cx, n, 6, "initial_c", vec![d, batch, h])?,
        or_zeros(cx, n, 7, "P", vec![d, 3 * h])?,
    ])
}

/// `x` (input 0) in sequence-major layout `[seq, batch, I]`: transposed when `layout = 1`.
fn input_x(cx: &mut Ctx, n: &NodeIn) -> Result<(ValueId, bool), OnnxError> {
    let x = cx.input(n, 0)?;
    if cx.ty(x).rank() != 3 {
        return Err(n.err(format!("input X must be 3-D, got {}", cx.ty(x))));
    }
    let batch_major = n.int("layout", 0)? != 0;
    if batch_major {
        return Ok((cx.emit(n, "x_seq_major", Op::Transpose { perm: vec![1, 0, 2] }, vec![x])?, true));
    }
    Ok((x, false))
}

/// Emits the op and, for `layout = 1`, transposes `y` to `[batch, seq, dirs, H]` and
/// `y_h`/`y_c` to `[batch, dirs, H]`.
fn finish(
    cx: &mut Ctx,
    n: &NodeIn,
    op: Op,
    inputs: Vec<ValueId>,
    batch_major: bool,
) -> Result<Vec<ValueId>, OnnxError> {
    let outs = cx.emit_node(n, op, inputs)?;
    if !batch_major {
        return Ok(outs);
    }
    let y = cx.emit(n, "y", Op::Transpose { perm: vec![2, 0, 1, 3] }, vec![outs[0]])?;
    let yh = cx.emit(n, "y_h", Op::Transpose { perm: vec![1, 0, 2] }, vec![outs[1]])?;
    let yc = cx.emit(n, "y_c", Op::Transpose { perm: vec![1, 0, 2] }, vec![outs[2]])?;
    Ok(vec![y, yh, yc])
}

/// ONNX `LSTM`: `X, W [dirs, 4H, I], R [dirs, 4H, H][, B, sequence_lens, initial_h,
/// initial_c, P]`; attributes `hidden_size`, `direction`, `clip`, `input_forget`, `layout`.
pub(super) fn lstm(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let (x, batch_major) = input_x(cx, n)?;
    let w = cx.input(n, 1)?;
    let r = cx.input(n, 2)?;
    let a = attrs(n, cx.ty(r).shape.get(2).copied())?;
    let (seq, batch) = (cx.ty(x).shape[0], cx.ty(x).shape[1]);
    check_sequence_lens(cx, n, seq)?;
    let inputs = [x, w, r].into_iter().chain(rest(cx, n, &a, batch)?).collect();
    finish(cx, n, Op::Lstm(a), inputs, batch_major)
}

/// The parameters of a `DynamicQuantizeLSTM` weight `[dirs, rows, 4H]` from its scale (input
/// `si`) and zero point (input `zi`): scale `[dirs]` is per direction (per tensor when
/// `dirs = 1`), `[dirs, 4H]` per column (supported for `dirs = 1`).
fn weight_params(
    cx: &mut Ctx,
    n: &NodeIn,
    w: ValueId,
    (si, zi): (usize, usize),
    what: &str,
) -> Result<ValueId, OnnxError> {
    let (dtype, shape) = (cx.ty(w).dtype, cx.ty(w).shape.clone());
    let scale =
        cx.const_input(n, si, "scale")?.ok_or_else(|| n.err(format!("missing required input {si} ({what} scale)")))?;
    let scales = scale
        .as_f32()
        .map(<[f32]>::to_vec)
        .ok_or_else(|| n.err(format!("input {si} ({what} scale) must be float32")))?;
    if let Some(bad) = scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(n.err(format!("input {si} ({what} scale) holds {bad:?}; scales must be finite and > 0")));
    }
    let zps: Vec<i32> = match cx.const_input(n, zi, "zero_point")? {
        None => vec![0; scales.len()],
        Some(z) if z.shape() == scale.shape() && z.dtype() == dtype => {
            z.to_i64_vec().unwrap_or_default().into_iter().map(|v| v as i32).collect()
        }
        Some(z) => {
            return Err(n.err(format!(
                "input {zi} ({what} zero point) must be {dtype}{:?} like its scale, got {}{:?}",
                scale.shape(),
                z.dtype(),
                z.shape()
            )))
        }
    };
    let dirs = shape.first().copied().unwrap_or(0);
    let params = match scale.shape() {
        [d] if *d == dirs && dirs == 1 => QuantParams::per_tensor(scales[0], zps[0]),
        [d] if *d == dirs => QuantParams::per_axis(0, scales, zps),
        [1, c] if dirs == 1 && shape.get(2) == Some(c) => QuantParams::per_axis(2, scales, zps),
        s => {
            return Err(n.err(format!(
                "{what} scale shape {s:?} is not supported for {what} {shape:?} ([dirs] per direction, or [1, 4H] per column)"
            )))
        }
    };
    params.check(dtype, &shape).map_err(|m| n.err(format!("{what} quantization parameters: {m}")))?;
    require_params(cx, n, w, what, dtype, &params)
}

/// ONNX Runtime `DynamicQuantizeLSTM` (com.microsoft): `X, W [dirs, I, 4H], R [dirs, H, 4H],
/// B, sequence_lens, initial_h, initial_c, P, W_scale, W_zero_point, R_scale,
/// R_zero_point`; `W`/`R` are `i8`/`u8`, transposed relative to ONNX `LSTM`.
pub(super) fn dynamic_quantize_lstm(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let (x, batch_major) = input_x(cx, n)?;
    let w = cx.input(n, 1)?;
    let r = cx.input(n, 2)?;
    let w = weight_params(cx, n, w, (8, 9), "W")?;
    let r = weight_params(cx, n, r, (10, 11), "R")?;
    let a = attrs(n, cx.ty(r).shape.get(1).copied())?;
    let (seq, batch) = (cx.ty(x).shape[0], cx.ty(x).shape[1]);
    check_sequence_lens(cx, n, seq)?;
    let inputs = [x, w, r].into_iter().chain(rest(cx, n, &a, batch)?).collect();
    finish(cx, n, Op::DynamicQuantizeLstm(a), inputs, batch_major)
}
