//! ONNX quantization ops in the default domain: `QuantizeLinear` / `DequantizeLinear`
//! (opsets 10, 13, 19, 21), `DynamicQuantizeLinear` (11), `MatMulInteger` and `ConvInteger`
//! (10), and the shared reading of constant scale / zero-point inputs into [`QuantParams`]
//! that the QOperator importers (`qoperator.rs`) use too.
//!
//! Scales and zero points are inputs in ONNX; in the IR they are part of the quantized
//! value's type. So they must be constants known at import (an error names the node and the
//! input otherwise), and a quantized tensor read by a `DequantizeLinear` or a `QLinear*` op
//! must carry exactly the parameters the node gives: constants and graph inputs get them
//! attached, values produced by other nodes must already have them.
//!
//! The exception: a `QuantizeLinear` / `DequantizeLinear` whose scale or zero point is
//! computed at run time (per tensor or per axis; blocked ones must still be constant)
//! becomes [`Op::QuantizeLinearDynamicParams`] / [`Op::DequantizeLinearDynamicParams`],
//! which take them as tensor inputs and produce a plain integer (or `f32`) tensor.

use int8xc_ir::{BinaryOp, DType, Data, Op, QuantParams, TensorData, ValueDef, ValueId};

use super::{Ctx, NodeIn};
use crate::OnnxError;

/// How the scale input of a node may be shaped, besides per tensor (a scalar or a
/// one-element 1-D tensor, as ONNX Runtime's `IsScalarOr1ElementVector` accepts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Granularity {
    /// Only per tensor (activations of the QLinear ops, opset-10 Q/DQ).
    PerTensor,
    /// Per tensor, or a 1-D scale along this (possibly negative) axis of the quantized
    /// tensor: ONNX `axis` attribute semantics.
    Axis(i64),
    /// Blocked along `axis` with `block_size` elements per block (opset 21): the scale has
    /// the tensor's rank, with dimension `axis` equal to `ceil(d / block_size)`.
    Blocked {
        /// Possibly negative axis.
        axis: i64,
        /// Block length (>= 1).
        block_size: usize,
    },
}

/// Reads the constant scale (input `si`) and optional zero point (input `zi`) of node `n`
/// for a quantized tensor of shape `shape`; returns the quantized dtype (the zero point's,
/// or `default_dtype` without one) and the parameters.
///
/// Errors (naming the node and input): non-constant scale or zero point; a scale that is not
/// `f32`, not finite or not `> 0` (ONNX Runtime's quantization tool never writes such scales,
/// and dividing by them is undefined); a zero point whose shape differs from the scale's or
/// whose dtype is not a quantized integer type; per-axis / blocked lengths that do not match
/// the tensor; zero points outside the dtype's range.
pub(super) fn read_params(
    cx: &mut Ctx,
    n: &NodeIn,
    (si, zi): (usize, usize),
    shape: &[usize],
    granularity: Granularity,
    default_dtype: DType,
) -> Result<(DType, QuantParams), OnnxError> {
    let scale_name = n.input_name(si).unwrap_or("").to_string();
    let scale = cx.const_input(n, si, "scale")?.ok_or_else(|| n.err(format!("missing required input {si} (scale)")))?;
    // f16 scales (ONNX opset 19+) widen to f32 exactly.
    let scales = match scale.dtype() {
        DType::F32 | DType::F16 => scale.to_f32_vec(),
        other => return Err(n.err(format!("input {si} (scale '{scale_name}') must be float32, got {other}"))),
    };
    if let Some(bad) = scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(n.err(format!("input {si} (scale '{scale_name}') holds {bad:?}; scales must be finite and > 0")));
    }
    let zp = cx.const_input(n, zi, "zero_point")?;
    let dtype = zp.as_ref().map_or(default_dtype, TensorData::dtype);
    if int8xc_ir::quant_range(dtype).is_none() {
        return Err(n.err(format!("input {zi} (zero point) has dtype {dtype}, not a quantized integer type")));
    }
    let zero_point: Vec<i32> = match &zp {
        None => vec![0; scales.len()],
        Some(z) => {
            if z.shape() != scale.shape() && !(z.numel() == 1 && scales.len() == 1) {
                return Err(n.err(format!(
                    "zero point shape {:?} differs from scale shape {:?}",
                    z.shape(),
                    scale.shape()
                )));
            }
            let v = z.to_i64_vec().unwrap_or_default();
            v.iter().map(|&x| i32::try_from(x).unwrap_or(i32::MAX)).collect()
        }
    };
    let per_tensor = scales.len() == 1 && scale.shape().len() <= 1;
    let params = match granularity {
        Granularity::Blocked { axis, block_size } => {
            let a = n.axis("axis", axis, shape.len())?;
            let want: Vec<usize> =
                shape.iter().enumerate().map(|(i, &d)| if i == a { d.div_ceil(block_size) } else { d }).collect();
            if scale.shape() != want.as_slice() {
                return Err(n.err(format!(
                    "blocked scale has shape {:?}, expected {want:?} for input {shape:?} with block_size {block_size} along axis {a}",
                    scale.shape()
                )));
            }
            QuantParams { scale: scales, zero_point, axis: Some(a), block_size: Some(block_size) }
        }
        _ if per_tensor => QuantParams::per_tensor(scales[0], zero_point[0]),
        Granularity::PerTensor => {
            return Err(n.err(format!(
                "input {si} (scale '{scale_name}') must be a scalar (per-tensor), got shape {:?}",
                scale.shape()
            )))
        }
        Granularity::Axis(axis) => {
            let a = n.axis("axis", axis, shape.len())?;
            if scale.shape().len() != 1 || scales.len() != shape[a] {
                return Err(n.err(format!(
                    "per-axis scale '{scale_name}' has shape {:?}, but axis {a} of the quantized input {shape:?} has {} entries",
                    scale.shape(),
                    shape[a]
                )));
            }
            QuantParams::per_axis(a, scales, zero_point)
        }
    };
    params.check(dtype, shape).map_err(|m| n.err(format!("quantization parameters: {m}")))?;
    Ok((dtype, params))
}

/// Makes value `v` (input `what` of `n`) carry `dtype<params>`: returns `v` when it already
/// does, attaches the parameters to a constant or graph input without parameters (a
/// constant that already has other parameters is copied), and returns `None` for a value
/// computed by a node with no or different parameters.
///
/// Errors: the value's dtype is not `dtype` (ONNX requires the zero point to have the
/// quantized tensor's type; ONNX Runtime rejects the model otherwise).
pub(super) fn bind_params(
    cx: &mut Ctx,
    n: &NodeIn,
    v: ValueId,
    what: &str,
    dtype: DType,
    params: &QuantParams,
) -> Result<Option<ValueId>, OnnxError> {
    let ty = cx.ty(v);
    if ty.dtype != dtype {
        return Err(n.err(format!(
            "{what} '{}' has dtype {}, but its zero point (or the default) says {dtype}",
            cx.graph.value(v).name,
            ty.dtype
        )));
    }
    if ty.quant.as_ref() == Some(params) {
        return Ok(Some(v));
    }
    let unbound = ty.quant.is_none();
    match &cx.graph.value(v).def {
        ValueDef::Const(data) if !unbound => {
            let data = data.clone();
            let name = format!("{}<{what}>", cx.graph.value(v).name);
            let c = cx.graph.add_const(cx.graph.unique_value_name(&name), data);
            cx.graph.values[c.index()].ty.quant = Some(params.clone());
            Ok(Some(c))
        }
        ValueDef::Const(_) | ValueDef::Input(_) if unbound => {
            cx.graph.values[v.index()].ty.quant = Some(params.clone());
            Ok(Some(v))
        }
        _ => Ok(None),
    }
}

/// As [`bind_params`], but a value that cannot be bound is an error: the IR has no op that
/// reinterprets a tensor under other parameters.
pub(super) fn require_params(
    cx: &mut Ctx,
    n: &NodeIn,
    v: ValueId,
    what: &str,
    dtype: DType,
    params: &QuantParams,
) -> Result<ValueId, OnnxError> {
    bind_params(cx, n, v, what, dtype, params)?.ok_or_else(|| {
        let ty = cx.ty(v);
        n.err(format!(
            "{what} '{}' ({ty}) is produced with other quantization parameters than the node gives ({dtype} scale {:?}, zero point {:?}); re-interpreting a quantized tensor is not supported",
            cx.graph.value(v).name,
            params.scale,
            params.zero_point
        ))
    })
}

/// The scale granularity of `QuantizeLinear` / `DequantizeLinear` at the node's opset:
/// per tensor only before 13, `axis` (default 1) from 13, `block_size` from 21.
fn qdq_granularity(n: &NodeIn) -> Result<Granularity, OnnxError> {
    if n.opset < 13 {
        return Ok(Granularity::PerTensor);
    }
    let axis = n.int("axis", 1)?;
    let block = n.int("block_size", 0)?;
    match block {
        0 => Ok(Granularity::Axis(axis)),
        b if b > 0 && n.opset >= 21 => Ok(Granularity::Blocked { axis, block_size: b as usize }),
        b => Err(n.err(format!("attribute 'block_size' {b} is invalid (must be >= 1, opset 21)"))),
    }
}

/// Whether node `n` gets its scale (input 1) or zero point (input 2) at run time in a form
/// the `*DynamicParams` ops take (per tensor or per axis; not blocked).
fn dynamic_params_wanted(cx: &mut Ctx, n: &NodeIn, granularity: Granularity) -> Result<bool, OnnxError> {
    if matches!(granularity, Granularity::Blocked { .. }) {
        return Ok(false);
    }
    for i in [1, 2] {
        if cx.opt_input(n, i)?.is_some_and(|v| cx.graph.constant(v).is_none()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The run-time scale (input 1) and zero point (input 2) of `n` for a tensor of shape
/// `shape`, as the inputs of a `*DynamicParams` op, and its axis (`None` per tensor: a scale
/// with one element and rank <= 1). An absent zero point becomes zeros of `default_dtype`
/// shaped as the scale; a one-element zero point of another shape is reshaped to it.
///
/// Errors (naming the node): a scale that is not `f32`; a per-axis scale whose shape is not
/// `[shape[axis]]`, or any non-scalar scale before opset 13.
fn dynamic_params(
    cx: &mut Ctx,
    n: &NodeIn,
    shape: &[usize],
    granularity: Granularity,
    default_dtype: DType,
) -> Result<(ValueId, ValueId, Option<usize>), OnnxError> {
    let scale = cx.input(n, 1)?;
    let sty = cx.ty(scale).clone();
    if sty.dtype != DType::F32 {
        return Err(n.err(format!(
            "input 1 (scale, computed at run time) has dtype {}; only float32 run-time scales are supported",
            sty.dtype
        )));
    }
    let axis = match granularity {
        _ if sty.numel() == 1 && sty.rank() <= 1 => None,
        Granularity::Axis(axis) => {
            let a = n.axis("axis", axis, shape.len())?;
            if sty.shape != [shape[a]] {
                return Err(n.err(format!(
                    "per-axis scale has shape {:?}, but axis {a} of the quantized input {shape:?} has {} entries",
                    sty.shape, shape[a]
                )));
            }
            Some(a)
        }
        _ => return Err(n.err(format!("input 1 (scale) must be a scalar (per-tensor), got shape {:?}", sty.shape))),
    };
    let zp = match cx.opt_input(n, 2)? {
        Some(z) if cx.ty(z).shape != sty.shape && cx.ty(z).numel() == 1 && sty.numel() == 1 => {
            cx.emit(n, "zero_point", Op::Reshape { shape: sty.shape.clone() }, vec![z])?
        }
        Some(z) => z,
        None => {
            let zeros = TensorData::new(sty.shape.clone(), Data::zeros(default_dtype, sty.numel()))
                .map_err(|e| n.err(e.to_string()))?;
            cx.constant(n, "zero_point", zeros)
        }
    };
    Ok((scale, zp, axis))
}

/// `QuantizeLinear` (opsets 10, 13, 19, 21) → [`Op::QuantizeLinear`]: `x` (`f32`/`f16`),
/// constant `y_scale` and optional `y_zero_point` (its dtype is the output dtype; without it
/// `output_dtype` (opset 21) or `u8`). A constant `x` is folded. A scale or zero point
/// computed at run time gives [`Op::QuantizeLinearDynamicParams`] instead (see
/// [`dynamic_params`]).
pub(super) fn quantize_linear(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let shape = cx.ty(x).shape.clone();
    let default = match n.int("output_dtype", 0)? {
        0 => DType::U8,
        t => crate::proto::DataType::try_from(t as i32)
            .ok()
            .and_then(crate::proto::DataType::to_ir)
            .ok_or_else(|| n.err(format!("attribute 'output_dtype' {t} is not a supported type")))?,
    };
    let granularity = qdq_granularity(n)?;
    let supported = |dtype: DType| {
        if matches!(dtype, DType::U8 | DType::I8 | DType::U4 | DType::I4 | DType::I16) {
            Ok(())
        } else {
            Err(n.err(format!("quantizing to {dtype} is not supported (u8, i8, u4, i4, i16 are)")))
        }
    };
    if dynamic_params_wanted(cx, n, granularity)? {
        let (scale, zp, axis) = dynamic_params(cx, n, &shape, granularity, default)?;
        supported(cx.ty(zp).dtype)?;
        return Ok(vec![cx.emit(n, "", Op::QuantizeLinearDynamicParams { axis }, vec![x, scale, zp])?]);
    }
    let (dtype, params) = read_params(cx, n, (1, 2), &shape, granularity, default)?;
    supported(dtype)?;
    Ok(vec![cx.emit(n, "", Op::QuantizeLinear { dtype, params }, vec![x])?])
}

/// `DequantizeLinear` (opsets 10, 13, 19, 21) → [`Op::DequantizeLinear`] on `x` with the
/// node's parameters in its type (see [`bind_params`]). Always a node, also for constant
/// `x`: the QDQ pass fuses `DequantizeLinear(weight)` into integer ops, and constant folding
/// dequantizes what stays. When `x` comes from a node with other (or no) parameters, the
/// ONNX formula is built from float ops instead: `(Cast(x, f32) - zp) * scale` (per-axis
/// scales reshaped to broadcast; exact for `|x - zp| < 2^24`). A scale or zero point
/// computed at run time gives [`Op::DequantizeLinearDynamicParams`] (see [`dynamic_params`]).
pub(super) fn dequantize_linear(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let (xdtype, shape) = (cx.ty(x).dtype, cx.ty(x).shape.clone());
    // The output has the scale's dtype; the IR's DequantizeLinear outputs f32.
    let scale = cx.input(n, 1)?;
    if cx.ty(scale).dtype != DType::F32 {
        return Err(n.err(format!("input 1 (scale) must be float32, got {}", cx.ty(scale).dtype)));
    }
    let granularity = qdq_granularity(n)?;
    if dynamic_params_wanted(cx, n, granularity)? {
        let (scale, zp, axis) = dynamic_params(cx, n, &shape, granularity, xdtype)?;
        return Ok(vec![cx.emit(n, "", Op::DequantizeLinearDynamicParams { axis }, vec![x, scale, zp])?]);
    }
    let (dtype, params) = read_params(cx, n, (1, 2), &shape, granularity, xdtype)?;
    if let Some(xq) = bind_params(cx, n, x, "input x", dtype, &params)? {
        return cx.emit_node(n, Op::DequantizeLinear, vec![xq]);
    }
    if params.block_size.is_some() {
        return Err(n.err("blocked DequantizeLinear of a computed tensor with other parameters is not supported"));
    }
    let bshape: Vec<usize> = match params.axis {
        None => vec![],
        Some(a) => (0..shape.len()).map(|i| if i == a { shape[i] } else { 1 }).collect(),
    };
    let f = cx.emit(n, "cast", Op::Cast { to: DType::F32 }, vec![x])?;
    let zp: Vec<f32> = params.zero_point.iter().map(|&z| z as f32).collect();
    let zp = cx.constant(n, "zero_point", f32_tensor(n, &bshape, zp)?);
    let centered = cx.emit(n, "sub", Op::Binary(BinaryOp::Sub), vec![f, zp])?;
    let scale = cx.constant(n, "scale", f32_tensor(n, &bshape, params.scale)?);
    Ok(vec![cx.emit(n, "", Op::Binary(BinaryOp::Mul), vec![centered, scale])?])
}

fn f32_tensor(n: &NodeIn, shape: &[usize], v: Vec<f32>) -> Result<TensorData, OnnxError> {
    TensorData::from_f32(shape.to_vec(), v).map_err(|e| n.err(e.to_string()))
}

/// A zero scalar of `dtype`, for an absent zero-point input that precedes a given one.
pub(super) fn zero_scalar(cx: &mut Ctx, n: &NodeIn, what: &str, dtype: DType) -> Result<ValueId, OnnxError> {
    let t = TensorData::new(Vec::<usize>::new(), Data::zeros(dtype, 1)).map_err(|e| n.err(e.to_string()))?;
    Ok(cx.constant(n, what, t))
}

/// `DynamicQuantizeLinear` (opset 11) → [`Op::DynamicQuantizeLinear`]: outputs `y` (`u8`),
/// `y_scale`, `y_zero_point`.
pub(super) fn dynamic_quantize_linear(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    cx.emit_node(n, Op::DynamicQuantizeLinear, vec![x])
}

/// Operands and optional zero points (inputs 2 and 3) of `MatMulInteger` / `ConvInteger`; an
/// absent first zero point before a present second one becomes a zero constant.
fn integer_inputs(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let a = cx.input(n, 0)?;
    let b = cx.input(n, 1)?;
    let mut inputs = vec![a, b];
    let za = cx.opt_input(n, 2)?;
    let zb = cx.opt_input(n, 3)?;
    match (za, zb) {
        (None, None) => {}
        (Some(za), None) => inputs.push(za),
        (za, Some(zb)) => {
            let za = match za {
                Some(v) => v,
                None => zero_scalar(cx, n, "a_zero_point", cx.ty(a).dtype)?,
            };
            inputs.extend([za, zb]);
        }
    }
    Ok(inputs)
}

/// `MatMulInteger` (opset 10) → [`Op::MatMulInteger`] (zero points may be computed values,
/// e.g. `DynamicQuantizeLinear`'s).
pub(super) fn matmul_integer(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let inputs = integer_inputs(cx, n)?;
    Ok(vec![cx.emit(n, "", Op::MatMulInteger, inputs)?])
}

/// `ConvInteger` (opset 10, 2-D) → [`Op::ConvInteger`] with `Conv`'s attributes.
pub(super) fn conv_integer(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let inputs = integer_inputs(cx, n)?;
    let attrs = super::conv::conv_attrs(n, &cx.ty(inputs[0]).shape, &cx.ty(inputs[1]).shape)?;
    Ok(vec![cx.emit(n, "", Op::ConvInteger(attrs), inputs)?])
}
