//! Reductions: `Softmax` (ONNX opset 13), `ReduceMean` (opset 18, axes resolved), `ArgMax`
//! (opset 13).
//!
//! Each reduces along axes of a row-major tensor; sums are `f32`, from 0, in row-major order
//! of the reduced elements.

use int8xc_ir::{DType, TensorData};

use super::{check_arity, f32_elems, float_dtype, float_tensor, i64_elems, int_data, map_indices, tensor, OpResult};
use crate::error::OpErrorKind;

fn check_axis(axis: usize, rank: usize) -> OpResult<()> {
    if axis < rank {
        Ok(())
    } else {
        Err(OpErrorKind::invalid(format!("axis {axis} out of range for rank {rank}")))
    }
}

/// `(outer, len, inner)` of `shape` around `axis`.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

/// ONNX `Softmax` (opset 13) along `axis`: `exp(x - max) / sum(exp(x - max))`, where `max`
/// and the sum run over `axis` only.
pub(crate) fn softmax(inputs: &[&TensorData], axis: usize) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let dtype = float_dtype(&[x])?;
    check_axis(axis, x.shape().len())?;
    let (outer, len, inner) = split(x.shape(), axis);
    let v = f32_elems(x)?;
    let mut y = vec![0.0f32; v.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * len + k) * inner + i;
            let max = (0..len).map(|k| v[at(k)]).fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0f32;
            for k in 0..len {
                let e = (v[at(k)] - max).exp();
                y[at(k)] = e;
                sum += e;
            }
            for k in 0..len {
                y[at(k)] /= sum;
            }
        }
    }
    float_tensor(dtype, x.shape().to_vec(), y)
}

/// ONNX `ReduceMean` over `axes` (sorted, distinct; empty means no reduction: the input is
/// returned unchanged). Float: `f32` sum / count. Integer: exact `i64` sum divided by the
/// count truncating toward zero (as ONNX Runtime's integer kernels do); an empty reduction
/// is NaN for floats and [`OpErrorKind::DivisionByZero`] for integers.
pub(crate) fn reduce_mean(inputs: &[&TensorData], axes: &[usize], keepdims: bool) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let rank = x.shape().len();
    for (i, &a) in axes.iter().enumerate() {
        check_axis(a, rank)?;
        if i > 0 && axes[i - 1] >= a {
            return Err(OpErrorKind::invalid(format!("axes {axes:?} must be sorted and distinct")));
        }
    }
    if axes.is_empty() {
        return Ok(x.clone());
    }
    let s = x.shape();
    let kept: Vec<usize> = (0..rank).map(|d| if axes.contains(&d) { 1 } else { s[d] }).collect();
    let reduced: Vec<usize> = (0..rank).map(|d| if axes.contains(&d) { s[d] } else { 1 }).collect();
    let count: usize = reduced.iter().product();
    let strides = int8xc_ir::strides(s);
    // flat index of each element of one reduction group, relative to the group's first element
    let offsets = map_indices(&reduced, |r| r.iter().zip(&strides).map(|(i, st)| i * st).sum::<usize>());
    let bases = map_indices(&kept, |k| k.iter().zip(&strides).map(|(i, st)| i * st).sum::<usize>());
    let out_shape: Vec<usize> =
        if keepdims { kept.clone() } else { (0..rank).filter(|d| !axes.contains(d)).map(|d| s[d]).collect() };
    let dtype = x.dtype();
    if dtype.is_float() {
        let v = f32_elems(x)?;
        let y = bases.iter().map(|&b| offsets.iter().fold(0.0f32, |acc, &o| acc + v[b + o]) / count as f32).collect();
        float_tensor(dtype, out_shape, y)
    } else if dtype.is_integer() {
        if count == 0 {
            return Err(OpErrorKind::DivisionByZero);
        }
        let v = i64_elems(x)?;
        let y: Vec<i64> = bases
            .iter()
            .map(|&b| offsets.iter().fold(0i64, |acc, &o| acc.wrapping_add(v[b + o])) / count as i64)
            .collect();
        tensor(out_shape, int_data(dtype, &y))
    } else {
        Err(OpErrorKind::unsupported(format!("dtype {dtype}")))
    }
}

/// ONNX `ArgMax` along `axis`: the `i64` index of the largest element; ties give the first
/// index, or the last with `select_last_index`. Compared as `f32` (floats) or `i64`
/// (integers); NaN never compares greater, so it is selected only at index 0 of an all-NaN
/// slice. An empty axis is an error (unless the output is empty too), as in ONNX Runtime.
pub(crate) fn arg_max(inputs: &[&TensorData], axis: usize, keepdims: bool, select_last: bool) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    check_axis(axis, x.shape().len())?;
    let (outer, len, inner) = split(x.shape(), axis);
    if len == 0 && outer * inner > 0 {
        return Err(OpErrorKind::invalid(format!("axis {axis} is empty (no maximum to index)")));
    }
    fn argmax<T: Copy + PartialOrd>(v: &[T], outer: usize, len: usize, inner: usize, last: bool) -> Vec<i64> {
        let mut y = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| v[(o * len + k) * inner + i];
                let mut best = 0;
                for k in 1..len {
                    if at(k) > at(best) || (last && at(k) == at(best)) {
                        best = k;
                    }
                }
                y.push(best as i64);
            }
        }
        y
    }
    let y = match x.dtype() {
        d if d.is_float() => argmax(&f32_elems(x)?, outer, len, inner, select_last),
        d if d.is_integer() => argmax(&i64_elems(x)?, outer, len, inner, select_last),
        d => return Err(OpErrorKind::unsupported(format!("dtype {d}"))),
    };
    let mut out_shape = x.shape().to_vec();
    if keepdims {
        out_shape[axis] = 1;
    } else {
        out_shape.remove(axis);
    }
    tensor(out_shape, int_data(DType::I64, &y))
}

#[cfg(test)]
mod tests {
    use int8xc_ir::{Data, Op};

    use crate::ops::test_util::*;

    #[test]
    fn softmax_along_each_axis() {
        // ONNX Softmax example: [[-1, 0, 1]] -> [[0.09003058, 0.24472848, 0.66524094]]
        let x = f(&[1, 3], &[-1., 0., 1.]);
        assert_close(&run_ok(&Op::Softmax { axis: 1 }, &[&x]), &[1, 3], &[0.09003058, 0.24472848, 0.66524094], 1e-6);
        // along axis 0 of [2,2]: columns [0, ln 3] and [5, 5]
        let x = f(&[2, 2], &[0., 5., 3f32.ln(), 5.]);
        assert_close(&run_ok(&Op::Softmax { axis: 0 }, &[&x]), &[2, 2], &[0.25, 0.5, 0.75, 0.5], 1e-6);
        // large values do not overflow (max is subtracted first)
        let x = f(&[2], &[1000., 1000.]);
        assert_close(&run_ok(&Op::Softmax { axis: 0 }, &[&x]), &[2], &[0.5, 0.5], 0.0);
        assert!(run_err(&Op::Softmax { axis: 2 }, &[&x]).contains("out of range"));
    }

    #[test]
    fn reduce_mean_keepdims_and_not() {
        // ONNX ReduceMean example: [3,2,2] over axis 1
        let x = f(&[3, 2, 2], &[5., 1., 20., 2., 30., 1., 40., 2., 55., 1., 60., 2.]);
        let y = run_ok(&Op::ReduceMean { axes: vec![1], keepdims: true }, &[&x]);
        assert_close(&y, &[3, 1, 2], &[12.5, 1.5, 35., 1.5, 57.5, 1.5], 0.0);
        let y = run_ok(&Op::ReduceMean { axes: vec![0, 2], keepdims: false }, &[&x]);
        // axis-1 index 0: (5+1+30+1+55+1)/6 = 15.5; index 1: (20+2+40+2+60+2)/6 = 21
        assert_close(&y, &[2], &[15.5, 21.], 1e-6);
        let y = run_ok(&Op::ReduceMean { axes: vec![], keepdims: false }, &[&x]);
        assert_eq!(y, x);
        assert!(run_err(&Op::ReduceMean { axes: vec![2, 1], keepdims: true }, &[&x]).contains("sorted"));
        let xi = i(&[2, 2], &[1, 2, -3, -4]);
        let y = run_ok(&Op::ReduceMean { axes: vec![1], keepdims: false }, &[&xi]);
        assert_eq!(y.as_i64().unwrap(), &[1, -3]);
    }

    #[test]
    fn argmax_ties_first_or_last() {
        let x = f(&[2, 3], &[1., 3., 3., 7., 2., 7.]);
        let y = run_ok(&Op::ArgMax { axis: 1, keepdims: true, select_last_index: false }, &[&x]);
        assert_eq!((y.shape(), y.as_i64().unwrap()), (&[2, 1][..], &[1, 0][..]));
        let y = run_ok(&Op::ArgMax { axis: 1, keepdims: false, select_last_index: true }, &[&x]);
        assert_eq!((y.shape(), y.as_i64().unwrap()), (&[2][..], &[2, 2][..]));
        let y = run_ok(&Op::ArgMax { axis: 0, keepdims: false, select_last_index: false }, &[&x]);
        assert_eq!(y.as_i64().unwrap(), &[1, 0, 1]);
        let u = t(&[3], Data::U8(vec![1, 250, 7]));
        let y = run_ok(&Op::ArgMax { axis: 0, keepdims: false, select_last_index: false }, &[&u]);
        assert_eq!((y.shape(), y.as_i64().unwrap()), (&[][..], &[1][..]));
        let e = f(&[2, 0], &[]);
        assert!(run_err(&Op::ArgMax { axis: 1, keepdims: false, select_last_index: false }, &[&e]).contains("empty"));
    }
}
