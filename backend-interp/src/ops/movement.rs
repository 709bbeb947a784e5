//! Data movement: `Reshape`, `Transpose`, `Concat`, `Slice`, `Gather`, and `Cast`.
//!
//! Movement ops work on every dtype (including packed 4-bit and `bool`): each computes, for
//! every output element in row-major order, the flat index of the input element it copies,
//! and [`take`] does the copy.

use half::f16;
use int8xc_ir::{DType, Data, SliceAttrs, TensorData};

use super::{
    check_arity, check_output_size, checked_numel, concat_flat, i64_elems, int_data, map_indices, take, tensor,
    OpResult,
};
use crate::error::OpErrorKind;

/// ONNX `Reshape` (opset 14) with a static target shape: same elements in row-major order.
/// Errors when the element count changes.
pub(crate) fn reshape(inputs: &[&TensorData], shape: &[usize]) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    if checked_numel(shape)? != x.numel() {
        return Err(OpErrorKind::invalid(format!(
            "cannot reshape {:?} ({} elements) to {shape:?}",
            x.shape(),
            x.numel()
        )));
    }
    tensor(shape.to_vec(), x.data().clone())
}

/// ONNX `Transpose`: output dim `i` is input dim `perm[i]`. Errors unless `perm` is a
/// permutation of `0..rank`.
pub(crate) fn transpose(inputs: &[&TensorData], perm: &[usize]) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let rank = x.shape().len();
    let mut seen = vec![false; rank];
    if perm.len() != rank || !perm.iter().all(|&p| p < rank && !std::mem::replace(&mut seen[p], true)) {
        return Err(OpErrorKind::invalid(format!("perm {perm:?} is not a permutation of 0..{rank}")));
    }
    let in_strides = int8xc_ir::strides(x.shape());
    let out_shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let idx = map_indices(&out_shape, |o| o.iter().zip(perm).map(|(&i, &p)| i * in_strides[p]).sum());
    tensor(out_shape, take(x, &idx)?)
}

/// ONNX `Concat` along `axis`: all inputs have one dtype and rank, and equal dims except
/// along `axis`.
pub(crate) fn concat(inputs: &[&TensorData], axis: usize) -> OpResult<TensorData> {
    check_arity(inputs, 1, usize::MAX)?;
    let first = inputs[0];
    let rank = first.shape().len();
    if axis >= rank {
        return Err(OpErrorKind::invalid(format!("axis {axis} out of range for rank {rank}")));
    }
    let mut out_shape = first.shape().to_vec();
    out_shape[axis] = 0;
    // Offset of each input's block inside the flat concatenation.
    let mut starts = Vec::with_capacity(inputs.len());
    let mut flat_start = 0;
    for (i, t) in inputs.iter().enumerate() {
        let s = t.shape();
        let same_other_dims = s.len() == rank && (0..rank).all(|d| d == axis || s[d] == first.shape()[d]);
        if !same_other_dims || t.dtype() != first.dtype() {
            return Err(OpErrorKind::invalid(format!(
                "input {i} ({} {:?}) does not match input 0 ({} {:?}) outside axis {axis}",
                t.dtype(),
                s,
                first.dtype(),
                first.shape()
            )));
        }
        starts.push((out_shape[axis], flat_start));
        out_shape[axis] += s[axis];
        flat_start += t.numel();
    }
    let flat = concat_flat(inputs)?;
    let idx = map_indices(&out_shape, |o| {
        // the last input whose block along `axis` starts at or before o[axis] (empty inputs
        // share their start with the next one, so the last match is the non-empty one)
        let k = starts.partition_point(|&(a, _)| a <= o[axis]) - 1;
        let (axis_start, base) = starts[k];
        let s = inputs[k].shape();
        let local = (0..rank).fold(0, |acc, d| acc * s[d] + if d == axis { o[d] - axis_start } else { o[d] });
        base + local
    });
    tensor(out_shape, take(&flat, &idx)?)
}

/// ONNX `Slice` (opset 13) with resolved, clamped `starts`/`ends` (see [`SliceAttrs`]): along
/// each listed axis, output element `i` is input element `start + i * step`. Errors when an
/// axis is repeated or out of range, a step is 0, or a start/end lies outside the clamped
/// range [`SliceAttrs`] documents.
pub(crate) fn slice(inputs: &[&TensorData], a: &SliceAttrs) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let rank = x.shape().len();
    let n = a.axes.len();
    if a.starts.len() != n || a.ends.len() != n || a.steps.len() != n {
        return Err(OpErrorKind::invalid("axes, starts, ends and steps differ in length"));
    }
    // per input axis: (start, step)
    let mut start_step: Vec<(i64, i64)> = vec![(0, 1); rank];
    let mut out_shape = x.shape().to_vec();
    let mut sliced = vec![false; rank];
    for k in 0..n {
        let (axis, start, end, step) = (a.axes[k], a.starts[k], a.ends[k], a.steps[k]);
        if axis >= rank || std::mem::replace(&mut sliced[axis], true) {
            return Err(OpErrorKind::invalid(format!("axes {:?} invalid for rank {rank}", a.axes)));
        }
        let d = x.shape()[axis] as i64;
        let in_range = match step {
            0 => false,
            s if s > 0 => (0..=d).contains(&start) && (0..=d).contains(&end),
            _ => (0..d).contains(&start) && (-1..d).contains(&end),
        };
        if !(in_range || (step < 0 && d == 0)) {
            return Err(OpErrorKind::invalid(format!(
                "axis {axis} (size {d}): start {start}, end {end}, step {step} are not clamped"
            )));
        }
        out_shape[axis] = if d == 0 { 0 } else { SliceAttrs::output_len(start, end, step) };
        start_step[axis] = (start, step);
    }
    let in_strides = int8xc_ir::strides(x.shape());
    // In range: for step > 0, start + (len-1)*step < end <= d; for step < 0, > end >= -1.
    let idx = map_indices(&out_shape, |o| {
        o.iter()
            .enumerate()
            .map(|(ax, &i)| (start_step[ax].0 + i as i64 * start_step[ax].1) as usize * in_strides[ax])
            .sum()
    });
    tensor(out_shape, take(x, &idx)?)
}

/// ONNX `Gather` along `axis`: output shape `data[..axis] ++ indices ++ data[axis+1..]`;
/// negative indices count from the end. Errors: [`OpErrorKind::IndexOutOfRange`] for an
/// index outside `[-d, d)`; non-integer indices.
pub(crate) fn gather(inputs: &[&TensorData], axis: usize) -> OpResult<TensorData> {
    check_arity(inputs, 2, 2)?;
    let (x, ind) = (inputs[0], inputs[1]);
    let rank = x.shape().len();
    if axis >= rank {
        return Err(OpErrorKind::invalid(format!("axis {axis} out of range for rank {rank}")));
    }
    if !ind.dtype().is_integer() {
        return Err(OpErrorKind::invalid(format!("indices must be integers, got dtype {}", ind.dtype())));
    }
    let d = x.shape()[axis];
    let resolved = i64_elems(ind)?
        .into_iter()
        .map(|i| {
            let r = if i < 0 { i + d as i64 } else { i };
            if (0..d as i64).contains(&r) {
                Ok(r as usize)
            } else {
                Err(OpErrorKind::IndexOutOfRange { index: i, axis, size: d })
            }
        })
        .collect::<OpResult<Vec<usize>>>()?;
    let out_shape = [&x.shape()[..axis], ind.shape(), &x.shape()[axis + 1..]].concat();
    check_output_size(&out_shape)?;
    let outer: usize = x.shape()[..axis].iter().product();
    let inner: usize = x.shape()[axis + 1..].iter().product();
    let mut idx = Vec::with_capacity(outer * resolved.len() * inner);
    for o in 0..outer {
        for &r in &resolved {
            idx.extend((0..inner).map(|i| (o * d + r) * inner + i));
        }
    }
    tensor(out_shape, take(x, &idx)?)
}

/// ONNX `Cast` to `to`, for every pair of dtypes:
///
/// - float → float: `f32 → f16` rounds to nearest even; `f16 → f32` is exact.
/// - float → integer: truncates toward zero. Out-of-range values and NaN are undefined in ONNX;
///   here they follow numpy and ONNX Runtime on x86-64: targets of 32 bits or less convert to
///   `i32` first (out of range or NaN gives `i32::MIN`) and then wrap to the target width;
///   `i64` gives `i64::MIN`. 4-bit targets wrap like the others (as `ml_dtypes` does).
/// - integer → integer (and → 4-bit): wraps (two's complement truncation), as numpy `astype`.
/// - integer → float: rounds to nearest (exact for values the float type represents).
/// - anything → bool: `x != 0` (NaN is true); bool → anything: 0 or 1.
pub(crate) fn cast(inputs: &[&TensorData], to: DType) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let shape = x.shape().to_vec();
    if x.dtype() == to {
        return Ok(x.clone());
    }
    let data = match x.data() {
        Data::F32(v) => cast_floats(v, to),
        Data::F16(v) => cast_floats(&v.iter().map(|h| h.to_f32()).collect::<Vec<_>>(), to),
        _ => int_data(to, &i64_elems(x)?),
    };
    tensor(shape, data)
}

fn cast_floats(v: &[f32], to: DType) -> Data {
    // x86-64 `cvttss2si` semantics: truncate; out of range or NaN → the minimum value.
    let to_i32 = |x: f32| if (-2147483648.0..2147483648.0).contains(&x) { x as i32 } else { i32::MIN };
    let limit = -(i64::MIN as f32); // 2^63, exact in f32
    let to_i64 = |x: f32| if (-limit..limit).contains(&x) { x as i64 } else { i64::MIN };
    match to {
        DType::F32 => Data::F32(v.to_vec()),
        DType::F16 => Data::F16(v.iter().map(|&x| f16::from_f32(x)).collect()),
        DType::Bool => Data::Bool(v.iter().map(|&x| x != 0.0).collect()),
        DType::I64 => Data::I64(v.iter().map(|&x| to_i64(x)).collect()),
        _ => int_data(to, &v.iter().map(|&x| to_i32(x) as i64).collect::<Vec<_>>()),
    }
}

#[cfg(test)]
mod tests {
    use int8xc_ir::Op;

    use super::*;
    use crate::ops::test_util::*;
    use crate::OpErrorKind;

    fn iota(shape: &[usize]) -> TensorData {
        let n: usize = shape.iter().product();
        f(shape, &(0..n).map(|v| v as f32).collect::<Vec<_>>())
    }

    fn slice_op(axes: &[usize], starts: &[i64], ends: &[i64], steps: &[i64]) -> Op {
        Op::Slice(SliceAttrs {
            axes: axes.to_vec(),
            starts: starts.to_vec(),
            ends: ends.to_vec(),
            steps: steps.to_vec(),
        })
    }

    #[test]
    fn reshape_keeps_elements_and_checks_count() {
        let x = iota(&[2, 3]);
        let y = run_ok(&Op::Reshape { shape: vec![3, 1, 2] }, &[&x]);
        assert_close(&y, &[3, 1, 2], &[0., 1., 2., 3., 4., 5.], 0.0);
        assert!(run_err(&Op::Reshape { shape: vec![4] }, &[&x]).contains("cannot reshape [2, 3] (6 elements) to [4]"));
    }

    #[test]
    fn transpose_permutes_axes() {
        let x = iota(&[2, 3]);
        let y = run_ok(&Op::Transpose { perm: vec![1, 0] }, &[&x]);
        assert_close(&y, &[3, 2], &[0., 3., 1., 4., 2., 5.], 0.0);
        // [2,3,4] with perm [2,0,1]: y[k,i,j] = x[i,j,k] = 12i + 4j + k
        let x = iota(&[2, 3, 4]);
        let y = run_ok(&Op::Transpose { perm: vec![2, 0, 1] }, &[&x]);
        let want: Vec<f32> =
            (0..4).flat_map(|k| (0..2).flat_map(move |i| (0..3).map(move |j| (12 * i + 4 * j + k) as f32))).collect();
        assert_close(&y, &[4, 2, 3], &want, 0.0);
        assert!(run_err(&Op::Transpose { perm: vec![0, 0, 1] }, &[&x]).contains("not a permutation"));
        assert!(run_err(&Op::Transpose { perm: vec![0, 1] }, &[&x]).contains("not a permutation"));
    }

    #[test]
    fn transpose_moves_packed_int4() {
        // [2,3] i4: 1 2 3 / -1 -2 -3
        let x = t(&[2, 3], int_data(DType::I4, &[1, 2, 3, -1, -2, -3]));
        let y = run_ok(&Op::Transpose { perm: vec![1, 0] }, &[&x]);
        assert_eq!(y.to_i64_vec().unwrap(), vec![1, -1, 2, -2, 3, -3]);
    }

    #[test]
    fn concat_along_middle_axis() {
        let a = iota(&[2, 1, 2]);
        let b = f(&[2, 2, 2], &[10., 11., 12., 13., 14., 15., 16., 17.]);
        let y = run_ok(&Op::Concat { axis: 1 }, &[&a, &b]);
        assert_close(&y, &[2, 3, 2], &[0., 1., 10., 11., 12., 13., 2., 3., 14., 15., 16., 17.], 0.0);
        // i64 shape pieces, with an empty one
        let s1 = i(&[1], &[1]);
        let s0 = i(&[0], &[]);
        let s2 = i(&[2], &[-1, 7]);
        let y = run_ok(&Op::Concat { axis: 0 }, &[&s1, &s0, &s2]);
        assert_eq!(y.as_i64().unwrap(), &[1, -1, 7]);
        assert!(run_err(&Op::Concat { axis: 0 }, &[&a, &b]).contains("does not match input 0"));
        assert!(run_err(&Op::Concat { axis: 0 }, &[&s1, &a]).contains("does not match"));
        assert!(run_err(&Op::Concat { axis: 0 }, &[]).contains("expects 1 to"));
    }

    #[test]
    fn slice_with_positive_and_negative_steps() {
        let x = iota(&[3, 4]);
        // x[0:2, 1:4:2]
        let y = run_ok(&slice_op(&[0, 1], &[0, 1], &[2, 4], &[1, 2]), &[&x]);
        assert_close(&y, &[2, 2], &[1., 3., 5., 7.], 0.0);
        // x[:, ::-1]  (start 3, end -1 meaning "through index 0")
        let y = run_ok(&slice_op(&[1], &[3], &[-1], &[-1]), &[&x]);
        assert_close(&y, &[3, 4], &[3., 2., 1., 0., 7., 6., 5., 4., 11., 10., 9., 8.], 0.0);
        // x[2:0:-2, 3:0:-2]
        let y = run_ok(&slice_op(&[0, 1], &[2, 3], &[0, 0], &[-2, -2]), &[&x]);
        assert_close(&y, &[1, 2], &[11., 9.], 0.0);
        // empty: x[2:1]
        let y = run_ok(&slice_op(&[0], &[2], &[1], &[1]), &[&x]);
        assert_eq!(y.shape(), &[0, 4]);
    }

    #[test]
    fn slice_rejects_unclamped_attrs() {
        let x = iota(&[3, 4]);
        assert!(run_err(&slice_op(&[1], &[0], &[5], &[1]), &[&x]).contains("not clamped"));
        assert!(run_err(&slice_op(&[1], &[4], &[-1], &[-1]), &[&x]).contains("not clamped"));
        assert!(run_err(&slice_op(&[1], &[0], &[1], &[0]), &[&x]).contains("not clamped"));
        assert!(run_err(&slice_op(&[2], &[0], &[1], &[1]), &[&x]).contains("invalid for rank 2"));
        assert!(run_err(&slice_op(&[1, 1], &[0, 0], &[1, 1], &[1, 1]), &[&x]).contains("invalid"));
    }

    #[test]
    fn gather_with_negative_indices() {
        // ONNX Gather example (axis 0): data [[1,1.2],[2.3,3.4],[4.5,5.7]], indices [[0,1],[1,2]]
        let data = f(&[3, 2], &[1.0, 1.2, 2.3, 3.4, 4.5, 5.7]);
        let ind = i(&[2, 2], &[0, 1, 1, 2]);
        let y = run_ok(&Op::Gather { axis: 0 }, &[&data, &ind]);
        assert_close(&y, &[2, 2, 2], &[1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7], 0.0);
        // axis 1 with a negative index and i32 indices
        let ind = t(&[2], Data::I32(vec![-1, 0]));
        let y = run_ok(&Op::Gather { axis: 1 }, &[&data, &ind]);
        assert_close(&y, &[3, 2], &[1.2, 1.0, 3.4, 2.3, 5.7, 4.5], 0.0);
        // scalar index on a shape vector: Shape -> Gather(0-d) gives a scalar
        let shape = i(&[4], &[1, 3, 224, 224]);
        let y = run_ok(&Op::Gather { axis: 0 }, &[&shape, &i(&[], &[1])]);
        assert_eq!((y.shape(), y.as_i64().unwrap()), (&[][..], &[3][..]));
    }

    #[test]
    fn gather_index_out_of_range_is_an_error() {
        let data = iota(&[3, 2]);
        let e = run(&Op::Gather { axis: 0 }, &[&data, &i(&[2], &[0, 3])]).unwrap_err();
        assert_eq!(e.kind(), Some(&OpErrorKind::IndexOutOfRange { index: 3, axis: 0, size: 3 }));
        assert_eq!(e.to_string(), "Gather: index 3 out of range for axis 0 of size 3");
        assert!(run(&Op::Gather { axis: 0 }, &[&data, &i(&[1], &[-4])]).is_err());
        assert!(run_err(&Op::Gather { axis: 0 }, &[&data, &f(&[1], &[0.0])]).contains("integers"));
        assert!(run_err(&Op::Gather { axis: 2 }, &[&data, &i(&[1], &[0])]).contains("out of range for rank 2"));
    }

    #[test]
    fn cast_float_to_int_truncates_toward_zero() {
        let x = f(&[6], &[-2.7, -0.5, 0.5, 1.9, 300.7, f32::NAN]);
        let c = |to| run_ok(&Op::Cast { to }, &[&x]);
        assert_eq!(c(DType::I64).as_i64().unwrap(), &[-2, 0, 0, 1, 300, i64::MIN]);
        assert_eq!(c(DType::I32).data(), &Data::I32(vec![-2, 0, 0, 1, 300, i32::MIN]));
        // numpy: 300 wraps to 44 in i8/u8, -2 to 254 in u8, NaN gives 0 (low bits of i32::MIN)
        assert_eq!(c(DType::I8).data(), &Data::I8(vec![-2, 0, 0, 1, 44, 0]));
        assert_eq!(c(DType::U8).data(), &Data::U8(vec![254, 0, 0, 1, 44, 0]));
        assert_eq!(c(DType::Bool).data(), &Data::Bool(vec![true, true, true, true, true, true]));
        // ml_dtypes: -9.7 -> 7, 8.2 -> -8, 20.0 -> 4 in int4
        let y = run_ok(&Op::Cast { to: DType::I4 }, &[&f(&[3], &[-9.7, 8.2, 20.0])]);
        assert_eq!(y.to_i64_vec().unwrap(), vec![7, -8, 4]);
    }

    #[test]
    fn cast_between_ints_wraps_and_to_float_is_exact() {
        let x = i(&[4], &[-1, 255, 256, 1 << 40]);
        assert_eq!(run_ok(&Op::Cast { to: DType::U8 }, &[&x]).data(), &Data::U8(vec![255, 255, 0, 0]));
        assert_eq!(run_ok(&Op::Cast { to: DType::I16 }, &[&x]).data(), &Data::I16(vec![-1, 255, 256, 0]));
        assert_eq!(run_ok(&Op::Cast { to: DType::U4 }, &[&x]).to_i64_vec().unwrap(), vec![15, 15, 0, 0]);
        let y = run_ok(&Op::Cast { to: DType::F32 }, &[&x]);
        assert_eq!(y.as_f32().unwrap(), &[-1.0, 255.0, 256.0, 1099511627776.0]);
        let b = t(&[2], Data::Bool(vec![true, false]));
        assert_eq!(run_ok(&Op::Cast { to: DType::F32 }, &[&b]).as_f32().unwrap(), &[1.0, 0.0]);
        assert_eq!(run_ok(&Op::Cast { to: DType::Bool }, &[&x]).data(), &Data::Bool(vec![true; 4]));
    }

    #[test]
    fn cast_float_widths_round_to_nearest_even() {
        let x = f(&[3], &[1.0, 2049.0, 65520.0]);
        let h = run_ok(&Op::Cast { to: DType::F16 }, &[&x]);
        assert_eq!(h.dtype(), DType::F16);
        let back = run_ok(&Op::Cast { to: DType::F32 }, &[&h]);
        assert_eq!(back.as_f32().unwrap(), &[1.0, 2048.0, f32::INFINITY]);
        let hi = run_ok(&Op::Cast { to: DType::I8 }, &[&run_ok(&Op::Cast { to: DType::F16 }, &[&f(&[1], &[-3.75])])]);
        assert_eq!(hi.data(), &Data::I8(vec![-3]));
    }
}
