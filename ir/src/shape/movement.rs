//! Shape rules of the data-movement ops (Reshape, Transpose, Concat, Slice, Gather, Resize),
//! which keep their input's quantization parameters, moving per-axis parameters with their axis.

use super::{check_arity, check_axis, fail, one_input, require_numeric};
use crate::{CoordTransform, DType, IrError, Op, QuantParams, ResizeAttrs, ResizeMode, SliceAttrs, TensorType};

/// Blocked quantization parameters (a parameter tensor) do not follow data movement; only
/// `QuantizeLinear`, `DequantizeLinear` and the quantized compute ops read them.
fn reject_blocked(op: &Op, x: &TensorType) -> Result<(), IrError> {
    match &x.quant {
        Some(q) if q.block_size.is_some() => {
            Err(fail(op, format!("input {x} has blocked quantization parameters, which do not move with the data")))
        }
        _ => Ok(()),
    }
}

/// ONNX `Reshape` (opset 14) with a resolved static shape.
pub(super) fn reshape(op: &Op, shape: &[usize], inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    reject_blocked(op, x)?;
    let out = TensorType::new(x.dtype, shape.to_vec());
    if out.checked_numel() != x.checked_numel() {
        return Err(fail(op, format!("cannot reshape {x} ({} elements) to {shape:?}", x.numel())));
    }
    let quant = match &x.quant {
        Some(q @ QuantParams { axis: Some(a), .. }) => {
            // The quantized axis survives when some output dim has the same size and the same
            // number of elements before it.
            let before: usize = x.shape[..*a].iter().product();
            let dim = x.shape.get(*a).copied().unwrap_or(0);
            let mut prefix = 1usize;
            let mut found = None;
            for (j, &d) in shape.iter().enumerate() {
                if prefix == before && d == dim {
                    found = Some(j);
                    break;
                }
                prefix = prefix.saturating_mul(d);
            }
            let Some(j) = found else {
                return Err(fail(
                    op,
                    format!("reshape of {x} to {shape:?} splits or merges the per-axis quantized axis {a}"),
                ));
            };
            Some(QuantParams { axis: Some(j), ..q.clone() })
        }
        other => other.clone(),
    };
    Ok(TensorType { quant, ..out })
}

/// ONNX `Transpose` (opset 13).
pub(super) fn transpose(op: &Op, perm: &[usize], inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    reject_blocked(op, x)?;
    let mut seen = vec![false; x.rank()];
    if perm.len() != x.rank() || !perm.iter().all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true)) {
        return Err(fail(op, format!("perm {perm:?} is not a permutation of the {} dims of {x}", x.rank())));
    }
    let shape = perm.iter().map(|&p| x.shape[p]).collect();
    let quant = x.quant.clone().map(|q| match q.axis {
        Some(a) => QuantParams { axis: perm.iter().position(|&p| p == a), ..q },
        None => q,
    });
    Ok(TensorType { dtype: x.dtype, shape, quant })
}

/// ONNX `Concat` (opset 13).
pub(super) fn concat(op: &Op, axis: usize, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 1, usize::MAX)?;
    let first = inputs[0];
    check_axis(op, "axis", axis, first.rank())?;
    let mut shape = first.shape.clone();
    shape[axis] = 0;
    for (i, t) in inputs.iter().enumerate() {
        reject_blocked(op, t)?;
        if t.dtype != first.dtype {
            return Err(fail(op, format!("input {i} has dtype {}, input 0 has {}", t.dtype, first.dtype)));
        }
        let same_other_dims = t.rank() == first.rank()
            && t.shape.iter().zip(&first.shape).enumerate().all(|(d, (a, b))| d == axis || a == b);
        if !same_other_dims {
            return Err(fail(op, format!("input {i} {t} does not match input 0 {first} outside axis {axis}")));
        }
        shape[axis] =
            shape[axis].checked_add(t.shape[axis]).ok_or_else(|| IrError::Limit("Concat: size overflows".into()))?;
    }
    let quant = match &first.quant {
        Some(q) if q.axis == Some(axis) => {
            let mut cat = QuantParams::per_axis(axis, vec![], vec![]);
            for (i, t) in inputs.iter().enumerate() {
                match &t.quant {
                    Some(qi) if qi.axis == Some(axis) => {
                        cat.scale.extend_from_slice(&qi.scale);
                        cat.zero_point.extend_from_slice(&qi.zero_point);
                    }
                    _ => return Err(fail(op, format!("input {i} is not quantized per axis {axis} like input 0"))),
                }
            }
            Some(cat)
        }
        q => {
            if let Some(i) = inputs.iter().position(|t| &t.quant != q) {
                return Err(fail(
                    op,
                    format!("input {i} {} has other quantization parameters than input 0 {first}", inputs[i]),
                ));
            }
            q.clone()
        }
    };
    Ok(TensorType { dtype: first.dtype, shape, quant })
}

/// ONNX `Slice` (opset 13) with clamped starts and ends; see [`SliceAttrs`].
pub(super) fn slice(op: &Op, a: &SliceAttrs, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    reject_blocked(op, x)?;
    let n = a.axes.len();
    if a.starts.len() != n || a.ends.len() != n || a.steps.len() != n {
        return Err(fail(
            op,
            format!(
                "axes, starts, ends and steps must have the same length, got {n}, {}, {}, {}",
                a.starts.len(),
                a.ends.len(),
                a.steps.len()
            ),
        ));
    }
    let mut shape = x.shape.clone();
    let mut quant = x.quant.clone();
    for (i, &axis) in a.axes.iter().enumerate() {
        check_axis(op, "axis", axis, x.rank())?;
        if a.axes[..i].contains(&axis) {
            return Err(fail(op, format!("axis {axis} listed twice")));
        }
        let (start, end, step) = (a.starts[i], a.ends[i], a.steps[i]);
        let d = i64::try_from(x.shape[axis]).map_err(|_| fail(op, "dimension too large"))?;
        let (start_ok, end_ok) = match step {
            0 => return Err(fail(op, format!("step for axis {axis} is 0"))),
            s if s > 0 => ((0..=d).contains(&start), (0..=d).contains(&end)),
            _ => ((0..d).contains(&start), (-1..d).contains(&end)),
        };
        if !start_ok || !end_ok {
            return Err(fail(
                op,
                format!("start {start} / end {end} for axis {axis} (size {d}, step {step}) are not clamped to the ONNX ranges"),
            ));
        }
        let len = SliceAttrs::output_len(start, end, step);
        shape[axis] = len;
        if let Some(q) = quant.as_mut().filter(|q| q.axis == Some(axis)) {
            let pick = |v: &[f32]| -> Option<Vec<f32>> {
                (0..len).map(|k| v.get((start + k as i64 * step) as usize).copied()).collect()
            };
            let pick_zp = |v: &[i32]| -> Option<Vec<i32>> {
                (0..len).map(|k| v.get((start + k as i64 * step) as usize).copied()).collect()
            };
            match (pick(&q.scale), pick_zp(&q.zero_point)) {
                (Some(s), Some(z)) => (q.scale, q.zero_point) = (s, z),
                _ => {
                    return Err(fail(
                        op,
                        format!("per-axis quantization parameters of {x} are shorter than axis {axis}"),
                    ))
                }
            }
        }
    }
    Ok(TensorType { dtype: x.dtype, shape, quant })
}

/// ONNX `Gather` (opset 13).
pub(super) fn gather(op: &Op, axis: usize, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 2)?;
    let (data, idx) = (inputs[0], inputs[1]);
    reject_blocked(op, data)?;
    check_axis(op, "axis", axis, data.rank())?;
    if !matches!(idx.dtype, DType::I64 | DType::I32) {
        return Err(fail(op, format!("indices must be i64 or i32, got {idx}")));
    }
    let mut shape = data.shape[..axis].to_vec();
    shape.extend_from_slice(&idx.shape);
    shape.extend_from_slice(&data.shape[axis + 1..]);
    let quant = match &data.quant {
        Some(q) => match q.axis {
            Some(a) if a == axis => {
                return Err(fail(op, format!("cannot gather along axis {axis}, the per-axis quantized axis of {data}")))
            }
            Some(a) if a > axis => Some(QuantParams { axis: Some(a - 1 + idx.rank()), ..q.clone() }),
            _ => Some(q.clone()),
        },
        None => None,
    };
    Ok(TensorType { dtype: data.dtype, shape, quant })
}

/// ONNX `Resize` (opset 19) with resolved output sizes.
pub(super) fn resize(op: &Op, a: &ResizeAttrs, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_numeric(op, "input", x)?;
    reject_blocked(op, x)?;
    if a.sizes.len() != x.rank() || a.scales.len() != x.rank() {
        return Err(fail(
            op,
            format!("sizes {:?} and scales {:?} must both have one entry per dim of {x}", a.sizes, a.scales),
        ));
    }
    if let Some(s) = a.scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(fail(op, format!("scale {s:?} must be finite and > 0")));
    }
    let tf_crop = a.coord == CoordTransform::TfCropAndResize;
    if (tf_crop && a.roi.len() != 2 * x.rank()) || (!tf_crop && !a.roi.is_empty()) {
        return Err(fail(
            op,
            format!("roi {:?} must have 2 entries per dim of {x} for tf_crop_and_resize, none otherwise", a.roi),
        ));
    }
    if let Some(v) = a.roi.iter().chain([&a.cubic_coeff_a]).find(|v| !v.is_finite()) {
        return Err(fail(op, format!("roi and cubic_coeff_a must be finite, got {v:?}")));
    }
    // Nearest selects input elements (quantization carries over), except that
    // tf_crop_and_resize may write the float extrapolation value.
    let quant = match (&x.quant, a.mode) {
        (Some(q), ResizeMode::Nearest) if !tf_crop => {
            if let Some(ax) = q.axis.filter(|&ax| a.sizes.get(ax) != x.shape.get(ax)) {
                return Err(fail(op, format!("cannot resize along axis {ax}, the per-axis quantized axis of {x}")));
            }
            Some(q.clone())
        }
        _ => None,
    };
    Ok(TensorType { dtype: x.dtype, shape: a.sizes.clone(), quant })
}

#[cfg(test)]
#[allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads better in tables of cases
mod tests {
    use super::super::test_util::*;
    use crate::{CoordTransform, DType, NearestMode, Op, QuantParams, ResizeAttrs, ResizeMode, SliceAttrs, TensorType};

    fn per_axis(shape: &[usize], axis: usize) -> TensorType {
        let n = shape[axis];
        let scale = (0..n).map(|i| 0.1 * (i + 1) as f32).collect();
        let zero_point = (0..n as i32).collect();
        TensorType {
            dtype: DType::I8,
            shape: shape.to_vec(),
            quant: Some(QuantParams::per_axis(axis, scale, zero_point)),
        }
    }

    fn slice(axes: Vec<usize>, starts: Vec<i64>, ends: Vec<i64>, steps: Vec<i64>) -> Op {
        Op::Slice(SliceAttrs { axes, starts, ends, steps })
    }

    #[test]
    fn reshape_keeps_count_and_quant() {
        let op = Op::Reshape { shape: vec![1, 48] };
        let t = infer1(&op, &[u8q(&[1, 3, 4, 4], 0.5, 7)]).unwrap();
        assert_eq!(t, u8q(&[1, 48], 0.5, 7));
        let e = err_of(&Op::Reshape { shape: vec![5, 10] }, &[f32t(&[1, 48])]);
        assert!(e.contains("cannot reshape f32[1,48] (48 elements) to [5, 10]"), "{e}");
        assert_eq!(shape_of(&Op::Reshape { shape: vec![] }, &[f32t(&[1, 1])]), Vec::<usize>::new());
    }

    #[test]
    fn reshape_moves_per_axis_quant_or_rejects() {
        let t = infer1(&Op::Reshape { shape: vec![8, 9] }, &[per_axis(&[8, 3, 3], 0)]).unwrap();
        assert_eq!(t.quant.unwrap().axis, Some(0));
        let t = infer1(&Op::Reshape { shape: vec![1, 8, 9] }, &[per_axis(&[8, 3, 3], 0)]).unwrap();
        assert_eq!(t.quant.unwrap().axis, Some(1));
        let e = err_of(&Op::Reshape { shape: vec![72] }, &[per_axis(&[8, 3, 3], 0)]);
        assert!(e.contains("per-axis quantized axis 0"), "{e}");
    }

    #[test]
    fn transpose_permutes_shape_and_quant_axis() {
        let op = Op::Transpose { perm: vec![0, 2, 3, 1] };
        assert_eq!(shape_of(&op, &[f32t(&[1, 3, 4, 5])]), vec![1, 4, 5, 3]);
        let t = infer1(&op, &[per_axis(&[1, 3, 4, 5], 1)]).unwrap();
        assert_eq!(t.quant.unwrap().axis, Some(3));
        for bad in [vec![0, 1, 2], vec![0, 1, 1, 2], vec![0, 1, 2, 4]] {
            let e = err_of(&Op::Transpose { perm: bad }, &[f32t(&[1, 3, 4, 5])]);
            assert!(e.contains("is not a permutation"), "{e}");
        }
    }

    #[test]
    fn concat_sums_axis_and_checks_others() {
        let op = Op::Concat { axis: 1 };
        assert_eq!(shape_of(&op, &[f32t(&[1, 2, 3]), f32t(&[1, 5, 3]), f32t(&[1, 0, 3])]), vec![1, 7, 3]);
        let e = err_of(&op, &[f32t(&[1, 2, 3]), f32t(&[1, 2, 4])]);
        assert!(e.contains("input 1 f32[1,2,4] does not match input 0 f32[1,2,3] outside axis 1"), "{e}");
        let e = err_of(&op, &[f32t(&[1, 2, 3]), TensorType::new(DType::I64, [1, 2, 3])]);
        assert!(e.contains("input 1 has dtype i64"), "{e}");
        assert!(err_of(&op, &[]).contains("expects"));
        assert!(err_of(&Op::Concat { axis: 3 }, &[f32t(&[1, 2, 3])]).contains("out of range"));
    }

    #[test]
    fn concat_quant_params_must_agree_or_concatenate_per_axis() {
        let op = Op::Concat { axis: 0 };
        let t = infer1(&op, &[u8q(&[2], 0.5, 1), u8q(&[3], 0.5, 1)]).unwrap();
        assert_eq!(t, u8q(&[5], 0.5, 1));
        let e = err_of(&op, &[u8q(&[2], 0.5, 1), u8q(&[3], 0.25, 1)]);
        assert!(e.contains("other quantization parameters"), "{e}");
        let t = infer1(&op, &[per_axis(&[2, 3], 0), per_axis(&[1, 3], 0)]).unwrap();
        let q = t.quant.unwrap();
        assert_eq!((q.scale.len(), q.zero_point, q.axis), (3, vec![0, 1, 0], Some(0)));
    }

    #[test]
    fn slice_lengths_positive_and_negative_steps() {
        let x = f32t(&[10, 8, 6]);
        assert_eq!(shape_of(&slice(vec![0], vec![2], vec![7], vec![1]), &[x.clone()]), vec![5, 8, 6]);
        assert_eq!(shape_of(&slice(vec![0, 2], vec![1, 0], vec![10, 6], vec![3, 2]), &[x.clone()]), vec![3, 8, 3]);
        // reverse the whole axis: start d-1, end -1, step -1
        assert_eq!(shape_of(&slice(vec![1], vec![7], vec![-1], vec![-1]), &[x.clone()]), vec![10, 8, 6]);
        assert_eq!(shape_of(&slice(vec![1], vec![7], vec![0], vec![-3]), &[x.clone()]), vec![10, 3, 6]);
        assert_eq!(shape_of(&slice(vec![1], vec![5], vec![2], vec![1]), &[x.clone()]), vec![10, 0, 6]);
        let e = err_of(&slice(vec![0], vec![0], vec![11], vec![1]), &[x.clone()]);
        assert!(e.contains("not clamped"), "{e}");
        assert!(err_of(&slice(vec![0], vec![0], vec![1], vec![0]), &[x.clone()]).contains("step for axis 0 is 0"));
        assert!(err_of(&slice(vec![0, 0], vec![0, 0], vec![1, 1], vec![1, 1]), &[x.clone()]).contains("listed twice"));
        assert!(err_of(&slice(vec![0], vec![0], vec![], vec![1]), &[x]).contains("same length"));
    }

    #[test]
    fn slice_keeps_quant_and_slices_per_axis_params() {
        let t = infer1(&slice(vec![0], vec![1], vec![3], vec![1]), &[u8q(&[4, 2], 0.5, 9)]).unwrap();
        assert_eq!(t, u8q(&[2, 2], 0.5, 9));
        let t = infer1(&slice(vec![0], vec![3], vec![-1], vec![-2]), &[per_axis(&[4, 2], 0)]).unwrap();
        assert_eq!(t.quant.unwrap().zero_point, vec![3, 1]);
    }

    #[test]
    fn gather_shapes_and_index_dtype() {
        let op = Op::Gather { axis: 1 };
        let idx = TensorType::new(DType::I64, [2, 3]);
        assert_eq!(shape_of(&op, &[f32t(&[4, 5, 6]), idx.clone()]), vec![4, 2, 3, 6]);
        let scalar = TensorType::new(DType::I32, []);
        assert_eq!(shape_of(&Op::Gather { axis: 0 }, &[f32t(&[4, 5]), scalar]), vec![5]);
        let e = err_of(&op, &[f32t(&[4, 5]), f32t(&[2])]);
        assert!(e.contains("indices must be i64 or i32"), "{e}");
        let t = infer1(&op, &[per_axis(&[4, 5, 6], 2), idx.clone()]).unwrap();
        assert_eq!(t.quant.unwrap().axis, Some(3));
        assert!(err_of(&op, &[per_axis(&[4, 5, 6], 1), idx]).contains("per-axis quantized axis"));
    }

    #[test]
    fn resize_takes_sizes_and_keeps_quant_when_nearest() {
        let mk = |mode, sizes: Vec<usize>| {
            Op::Resize(ResizeAttrs {
                mode,
                coord: CoordTransform::Asymmetric,
                nearest: NearestMode::Floor,
                scales: vec![1.0, 1.0, 2.0, 2.0],
                sizes,
                ..ResizeAttrs::default()
            })
        };
        let q = u8q(&[1, 3, 4, 4], 0.5, 2);
        let t = infer1(&mk(ResizeMode::Nearest, vec![1, 3, 8, 8]), &[q.clone()]).unwrap();
        assert_eq!(t, u8q(&[1, 3, 8, 8], 0.5, 2));
        let t = infer1(&mk(ResizeMode::Linear, vec![1, 3, 8, 8]), &[q]).unwrap();
        assert_eq!(t.quant, None);
        assert!(err_of(&mk(ResizeMode::Linear, vec![1, 3, 8]), &[f32t(&[1, 3, 4, 4])]).contains("one entry per dim"));
        let mut bad = ResizeAttrs {
            mode: ResizeMode::Nearest,
            coord: CoordTransform::HalfPixel,
            nearest: NearestMode::RoundPreferFloor,
            scales: vec![1.0, 0.0],
            sizes: vec![1, 1],
            ..ResizeAttrs::default()
        };
        assert!(err_of(&Op::Resize(bad.clone()), &[f32t(&[1, 2])]).contains("scale 0.0 must be finite and > 0"));
        bad.scales = vec![1.0, 0.5];
        assert_eq!(shape_of(&Op::Resize(bad.clone()), &[f32t(&[1, 2])]), vec![1, 1]);
        bad.coord = CoordTransform::TfCropAndResize;
        assert!(err_of(&Op::Resize(bad.clone()), &[f32t(&[1, 2])]).contains("2 entries per dim"));
        bad.roi = vec![0.0, 0.2, 1.0, f32::NAN];
        assert!(err_of(&Op::Resize(bad.clone()), &[f32t(&[1, 2])]).contains("must be finite"));
        bad.roi = vec![0.0, 0.2, 1.0, 0.8];
        bad.mode = ResizeMode::Nearest;
        let t = infer1(&Op::Resize(bad), &[u8q(&[1, 2], 0.5, 2)]).unwrap();
        assert_eq!(t.quant, None, "tf_crop_and_resize may write the extrapolation value");
    }
}
