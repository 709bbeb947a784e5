//! Data-movement and shape ops: `Reshape`, `Flatten`, `Squeeze`, `Unsqueeze` (all →
//! [`Op::Reshape`]), `Transpose`, `Concat`, `Slice`, `Gather`, `Cast`, and the ops that
//! become constants or aliases: `Shape`, `Constant`, `ConstantOfShape`, `Range`, `Identity`
//! (`Dropout` is in `dropout.rs`).

use int8xc_ir::{DType, Data, Op, SliceAttrs, TensorData, ValueId};

use super::{Ctx, NodeIn};
use crate::decode::{checked_shape, tensor_to_data, MAX_DIM, MAX_FOLD_BYTES};
use crate::proto::DataType;
use crate::OnnxError;

/// Dispatches the ops of this module (the caller has checked the op type is supported).
pub(super) fn import(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let v = match n.op_type {
        "Reshape" => reshape(cx, n)?,
        "Flatten" => flatten(cx, n)?,
        "Squeeze" => squeeze(cx, n)?,
        "Unsqueeze" => unsqueeze(cx, n)?,
        "Transpose" => transpose(cx, n)?,
        "Concat" => concat(cx, n)?,
        "Slice" => slice(cx, n)?,
        "Gather" => gather(cx, n)?,
        "Cast" => cast(cx, n)?,
        "Shape" => shape(cx, n)?,
        "Constant" => constant(cx, n)?,
        "ConstantOfShape" => constant_of_shape(cx, n)?,
        "Range" => range(cx, n)?,
        "Identity" => cx.input(n, 0)?,
        other => return Err(n.err(format!("internal: no importer for op type '{other}'"))),
    };
    Ok(vec![v])
}

fn reshape_to(cx: &mut Ctx, n: &NodeIn, x: ValueId, shape: Vec<usize>) -> Result<ValueId, OnnxError> {
    cx.emit(n, "", Op::Reshape { shape }, vec![x])
}

/// `Reshape` (opset 5+): the `shape` input must fold to a constant. `0` copies the input dim
/// (unless `allowzero = 1`, opset 14), one `-1` is inferred from the element count.
fn reshape(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let spec = cx.const_ints(n, 1, "shape")?.ok_or_else(|| n.err("missing required input 1 ('shape')"))?;
    let input = cx.ty(x).shape.clone();
    let allowzero = n.int("allowzero", 0)? != 0;
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &s) in spec.iter().enumerate() {
        out.push(match s {
            0 if !allowzero => *input.get(i).ok_or_else(|| {
                n.err(format!("shape {spec:?}: entry {i} is 0 (copy) but the input {input:?} has rank {}", input.len()))
            })?,
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            -1 => return Err(n.err(format!("shape {spec:?} has more than one -1"))),
            s if s < 0 || s as u64 > MAX_DIM => return Err(n.err(format!("shape {spec:?}: invalid entry {s}"))),
            s => s as usize,
        });
    }
    let total: usize = input.iter().product();
    if let Some(i) = infer {
        let known: usize = out.iter().product();
        if known == 0 || !total.is_multiple_of(known) {
            return Err(n.err(format!("cannot reshape {input:?} ({total} elements) to {spec:?}")));
        }
        out[i] = total / known;
    }
    if out.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(total) {
        return Err(n.err(format!("cannot reshape {input:?} ({total} elements) to {spec:?}")));
    }
    reshape_to(cx, n, x, out)
}

/// `Flatten` (`axis` default 1, in `[-rank, rank]`): `[prod(d[..axis]), prod(d[axis..])]`.
fn flatten(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let shape = cx.ty(x).shape.clone();
    let axis = n.int("axis", 1)?;
    let axis = if axis == shape.len() as i64 { shape.len() } else { n.axis("axis", axis, shape.len())? };
    let out = vec![shape[..axis].iter().product(), shape[axis..].iter().product()];
    reshape_to(cx, n, x, out)
}

/// Axes from the `axes` attribute (opset < 13) or the optional constant input 1 (opset 13+).
fn axes_arg(cx: &mut Ctx, n: &NodeIn) -> Result<Option<Vec<i64>>, OnnxError> {
    if n.opset >= 13 {
        cx.const_ints(n, 1, "axes")
    } else {
        n.ints("axes")
    }
}

fn normalized_axes(n: &NodeIn, axes: &[i64], rank: usize) -> Result<Vec<usize>, OnnxError> {
    let mut v = axes.iter().map(|&a| n.axis("axes entry", a, rank)).collect::<Result<Vec<_>, _>>()?;
    v.sort_unstable();
    if v.windows(2).any(|w| w[0] == w[1]) {
        return Err(n.err(format!("'axes' {axes:?} repeats an axis")));
    }
    Ok(v)
}

/// `Squeeze`: removes the listed size-1 axes (all size-1 axes when `axes` is absent).
fn squeeze(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let shape = cx.ty(x).shape.clone();
    let out = match axes_arg(cx, n)? {
        None => shape.iter().copied().filter(|&d| d != 1).collect(),
        Some(axes) => {
            let axes = normalized_axes(n, &axes, shape.len())?;
            if let Some(&a) = axes.iter().find(|&&a| shape[a] != 1) {
                return Err(n.err(format!("cannot squeeze axis {a} of shape {shape:?}: its size is not 1")));
            }
            shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect()
        }
    };
    reshape_to(cx, n, x, out)
}

/// `Unsqueeze`: inserts size-1 axes at the listed positions of the output.
fn unsqueeze(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let shape = cx.ty(x).shape.clone();
    let axes = axes_arg(cx, n)?.ok_or_else(|| n.err("missing 'axes'"))?;
    let axes = normalized_axes(n, &axes, shape.len() + axes.len())?;
    let mut rest = shape.iter().copied();
    let out =
        (0..shape.len() + axes.len()).map(|i| if axes.contains(&i) { 1 } else { rest.next().unwrap_or(1) }).collect();
    reshape_to(cx, n, x, out)
}

/// `Transpose` (`perm` defaults to reversing the dims).
fn transpose(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let rank = cx.ty(x).rank();
    let perm = match n.ints("perm")? {
        None => (0..rank).rev().collect(),
        Some(p) => {
            let mut seen = vec![false; rank];
            let mut out = Vec::with_capacity(rank);
            for &a in &p {
                let a = usize::try_from(a).ok().filter(|&a| a < rank && !seen[a]);
                let a = a.ok_or_else(|| n.err(format!("'perm' {p:?} is not a permutation of 0..{rank}")))?;
                seen[a] = true;
                out.push(a);
            }
            if out.len() != rank {
                return Err(n.err(format!("'perm' {p:?} is not a permutation of 0..{rank}")));
            }
            out
        }
    };
    cx.emit(n, "", Op::Transpose { perm }, vec![x])
}

/// `Concat` along `axis` (required; negative counts from the end).
fn concat(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let inputs = (0..n.proto.input.len())
        .filter(|&i| n.input_name(i).is_some())
        .map(|i| cx.input(n, i))
        .collect::<Result<Vec<_>, _>>()?;
    let first = *inputs.first().ok_or_else(|| n.err("needs at least one input"))?;
    let axis = n.axis("axis", n.int_required("axis")?, cx.ty(first).rank())?;
    cx.emit(n, "", Op::Concat { axis }, inputs)
}

/// `Slice`: `starts`/`ends`/`axes` attributes before opset 10, constant inputs `starts`,
/// `ends`, optional `axes`, `steps` from opset 10. Indices are clamped as the ONNX spec
/// says: negative values add the dim; for positive steps into `[0, d]`, for negative steps
/// `start` into `[0, d - 1]` and `end` into `[-1, d - 1]`.
fn slice(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let shape = cx.ty(x).shape.clone();
    let (starts, ends, axes, steps) = if n.opset < 10 {
        let starts = n.ints("starts")?.ok_or_else(|| n.err("missing attribute 'starts'"))?;
        let ends = n.ints("ends")?.ok_or_else(|| n.err("missing attribute 'ends'"))?;
        (starts, ends, n.ints("axes")?, None)
    } else {
        let starts = cx.const_ints(n, 1, "starts")?.ok_or_else(|| n.err("missing required input 1 ('starts')"))?;
        let ends = cx.const_ints(n, 2, "ends")?.ok_or_else(|| n.err("missing required input 2 ('ends')"))?;
        (starts, ends, cx.const_ints(n, 3, "axes")?, cx.const_ints(n, 4, "steps")?)
    };
    let k = starts.len();
    let axes = axes.unwrap_or_else(|| (0..k as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; k]);
    if ends.len() != k || axes.len() != k || steps.len() != k {
        return Err(n.err(format!(
            "starts, ends, axes and steps must have the same length, got {k}, {}, {}, {}",
            ends.len(),
            axes.len(),
            steps.len()
        )));
    }
    let mut a = SliceAttrs { axes: Vec::new(), starts: Vec::new(), ends: Vec::new(), steps: steps.clone() };
    for i in 0..k {
        let axis = n.axis("axes entry", axes[i], shape.len())?;
        if a.axes.contains(&axis) {
            return Err(n.err(format!("'axes' {axes:?} repeats an axis")));
        }
        let d = shape[axis] as i64;
        let step = steps[i];
        if step == 0 {
            return Err(n.err("'steps' must not contain 0"));
        }
        let resolve = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
        let (start, end) = if step > 0 {
            (resolve(starts[i]).clamp(0, d), resolve(ends[i]).clamp(0, d))
        } else {
            (resolve(starts[i]).clamp(0, (d - 1).max(0)), resolve(ends[i]).clamp(-1, d - 1))
        };
        a.axes.push(axis);
        a.starts.push(start);
        a.ends.push(end);
    }
    cx.emit(n, "", Op::Slice(a), vec![x])
}

/// `Gather` along `axis` (default 0).
fn gather(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let data = cx.input(n, 0)?;
    let indices = cx.input(n, 1)?;
    let axis = n.axis("axis", n.int("axis", 0)?, cx.ty(data).rank())?;
    cx.emit(n, "", Op::Gather { axis }, vec![data, indices])
}

/// The IR dtype of an ONNX `to` / `dtype` attribute value.
fn ir_dtype(n: &NodeIn, what: &str, code: i64) -> Result<DType, OnnxError> {
    i32::try_from(code)
        .ok()
        .and_then(|c| DataType::try_from(c).ok())
        .and_then(DataType::to_ir)
        .ok_or_else(|| n.err(format!("{what} {} is not supported by int8xc", DataType::name_of(code as i32))))
}

/// `Cast` to `to` (a cast to the input's own dtype is an identity).
fn cast(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let to = ir_dtype(n, "target type", n.int_required("to")?)?;
    if cx.ty(x).dtype == to {
        return Ok(x);
    }
    cx.emit(n, "", Op::Cast { to }, vec![x])
}

/// `Shape` → an `i64` constant (shapes are static), with the opset-15 `start`/`end` window
/// (negative values add the rank, then clamp to `[0, rank]`).
fn shape(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let dims: Vec<i64> = cx.ty(x).shape.iter().map(|&d| d as i64).collect();
    let r = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clamp(n.int("start", 0)?);
    let end = clamp(n.int("end", r)?).max(start);
    let v = dims[start..end].to_vec();
    let t = TensorData::from_i64([v.len()], v).map_err(|e| n.err(e.to_string()))?;
    Ok(cx.constant(n, "", t))
}

/// `Constant` from `value` (a tensor), `value_float(s)` or `value_int(s)`; string and sparse
/// values are not supported.
fn constant(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let t = if let Some(t) = n.tensor("value")? {
        tensor_to_data(t, cx.base_dir).map_err(|e| n.err(format!("attribute 'value': {e}")))?
    } else if n.attr("value_float").is_some() {
        TensorData::scalar_f32(n.float("value_float", 0.0)?)
    } else if let Some(v) = n.floats("value_floats")? {
        TensorData::from_f32([v.len()], v).map_err(|e| n.err(e.to_string()))?
    } else if n.attr("value_int").is_some() {
        TensorData::from_i64(Vec::<usize>::new(), vec![n.int("value_int", 0)?]).map_err(|e| n.err(e.to_string()))?
    } else if let Some(v) = n.ints("value_ints")? {
        TensorData::from_i64([v.len()], v).map_err(|e| n.err(e.to_string()))?
    } else {
        let which = n.proto.attribute.first().map(|a| a.name.as_str()).unwrap_or("none");
        return Err(
            n.err(format!("unsupported value attribute '{which}' (supported: value, value_float(s), value_int(s))"))
        );
    };
    Ok(cx.constant(n, "", t))
}

/// `ConstantOfShape`: the constant `shape` input filled with the one-element `value`
/// attribute (default `f32` 0).
fn constant_of_shape(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let dims = cx.const_ints(n, 0, "shape")?.ok_or_else(|| n.err("missing required input 0 ('input')"))?;
    let shape = checked_shape(&dims, "input 'shape'").map_err(|m| n.err(m))?;
    let value = match n.tensor("value")? {
        Some(t) => tensor_to_data(t, None).map_err(|e| n.err(format!("attribute 'value': {e}")))?,
        None => TensorData::scalar_f32(0.0),
    };
    if value.numel() != 1 || matches!(value.dtype(), DType::I4 | DType::U4) {
        return Err(n.err("attribute 'value' must be a one-element tensor of a byte-sized type"));
    }
    let numel: usize = shape.iter().product();
    if value.dtype().storage_bytes(numel) > MAX_FOLD_BYTES {
        return Err(n.err(format!("output {shape:?} is larger than the import limit of 256 MiB")));
    }
    let bytes = value.to_le_bytes().repeat(numel);
    let t = TensorData::from_le_bytes(value.dtype(), shape, &bytes).map_err(|e| n.err(e.to_string()))?;
    Ok(cx.constant(n, "", t))
}

/// `Range` on constant scalar `start`, `limit`, `delta` (`f32`, `f16`, `i32` or `i64`):
/// `max(ceil((limit - start) / delta), 0)` elements `start + i * delta`. `f16` (opset 27)
/// is computed in the `stash_type` precision and rounded to `f16`, as the ONNX reference does.
fn range(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let mut scalar = |i: usize, what: &str| -> Result<TensorData, OnnxError> {
        let t = cx.const_input(n, i, what)?.ok_or_else(|| n.err(format!("missing required input {i} ('{what}')")))?;
        if t.numel() != 1 {
            return Err(n.err(format!("input {i} ('{what}') must be a scalar")));
        }
        Ok(t)
    };
    let (start, limit, delta) = (scalar(0, "start")?, scalar(1, "limit")?, scalar(2, "delta")?);
    let dtype = start.dtype();
    let max_count = (MAX_FOLD_BYTES / 8) as u64;
    let too_many = || n.err(format!("Range would have more than {max_count} elements (the import limit)"));
    let t = match dtype {
        DType::F32 => {
            let (s, l, d) = (start.to_f32_vec()[0], limit.to_f32_vec()[0], delta.to_f32_vec()[0]);
            if d == 0.0 {
                return Err(n.err("'delta' must not be 0"));
            }
            let count = ((l - s) / d).ceil().max(0.0);
            if !count.is_finite() || count > max_count as f32 {
                return Err(too_many());
            }
            let v: Vec<f32> = (0..count as usize).map(|i| s + i as f32 * d).collect();
            TensorData::new([v.len()], Data::F32(v))
        }
        DType::F16 => {
            // ONNX reference (opset 27): numpy `arange` in the `stash_type` precision (1 =
            // float, the default; 11 = double), then a cast to f16. numpy counts
            // `ceil((limit - start) / delta)` in that precision and fills `start + i * delta`
            // in double, stored in that precision.
            let stash_f32 = match n.int("stash_type", 1)? {
                1 => true,
                11 => false,
                other => return Err(n.err(format!("stash_type {other} is not supported (1 = float, 11 = double)"))),
            };
            let get = |t: &TensorData| t.to_f32_vec()[0];
            let (s, l, d) = (get(&start), get(&limit), get(&delta));
            if d == 0.0 {
                return Err(n.err("'delta' must not be 0"));
            }
            let count = if stash_f32 {
                f64::from(((l - s) / d).ceil())
            } else {
                ((f64::from(l) - f64::from(s)) / f64::from(d)).ceil()
            }
            .max(0.0);
            if !count.is_finite() || count > max_count as f64 {
                return Err(too_many());
            }
            let (s, d) = (f64::from(s), f64::from(d));
            let round = |x: f64| if stash_f32 { half::f16::from_f32(x as f32) } else { half::f16::from_f64(x) };
            let v: Vec<half::f16> = (0..count as usize).map(|i| round(s + i as f64 * d)).collect();
            TensorData::new([v.len()], Data::F16(v))
        }
        DType::I64 | DType::I32 => {
            let get = |t: &TensorData| t.to_i64_vec().and_then(|v| v.first().copied()).unwrap_or(0);
            let (s, l, d) = (get(&start), get(&limit), get(&delta));
            if d == 0 {
                return Err(n.err("'delta' must not be 0"));
            }
            let span = l as i128 - s as i128;
            let count = ((span + d as i128 - d.signum() as i128) / d as i128).max(0);
            if count > max_count as i128 {
                return Err(too_many());
            }
            let v: Vec<i64> = (0..count as i64).map(|i| s.wrapping_add(i.wrapping_mul(d))).collect();
            if dtype == DType::I64 {
                TensorData::new([v.len()], Data::I64(v))
            } else {
                TensorData::new([v.len()], Data::I32(v.into_iter().map(|x| x as i32).collect()))
            }
        }
        other => return Err(n.err(format!("Range on {other} is not supported"))),
    }
    .map_err(|e| n.err(e.to_string()))?;
    Ok(cx.constant(n, "", t))
}
