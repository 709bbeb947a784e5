//! `GatherElements` (ONNX opset 13), `TopK` (opset 11–24) and `CumSum` (opset 14): ops that
//! select or accumulate along one axis, on every dtype the IR allows for them.

use std::cmp::Ordering;

use int8xc_ir::{CumSumAttrs, Data, TensorData, TopKAttrs};

use super::{check_arity, f32_elems, float_tensor, i64_elems, int_data, map_indices, take, tensor, OpResult};
use crate::error::OpErrorKind;

/// `(outer, axis, inner)` extents of `shape` around `axis` (checked by the caller).
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

fn check_axis(axis: usize, rank: usize) -> OpResult<()> {
    if axis < rank {
        Ok(())
    } else {
        Err(OpErrorKind::invalid(format!("axis {axis} is out of range for rank {rank}")))
    }
}

/// ONNX `GatherElements`: `out[i] = data[i with i[axis] = indices[i]]` (negative indices
/// count from the end). Errors: rank mismatch, non-integer indices, an index out of range.
pub(crate) fn gather_elements(inputs: &[&TensorData], axis: usize) -> OpResult<TensorData> {
    check_arity(inputs, 2, 2)?;
    let (data, indices) = (inputs[0], inputs[1]);
    let (ds, is) = (data.shape(), indices.shape());
    if ds.len() != is.len() {
        return Err(OpErrorKind::invalid(format!("indices {is:?} must have the rank of data {ds:?}")));
    }
    check_axis(axis, ds.len())?;
    if let Some(d) = (0..ds.len()).find(|&d| d != axis && is[d] > ds[d]) {
        return Err(OpErrorKind::invalid(format!("indices dim {d} ({}) exceeds data's ({})", is[d], ds[d])));
    }
    let idx = i64_elems(indices)?;
    let strides = int8xc_ir::strides(ds);
    let n = ds[axis] as i64;
    let mut k = 0;
    let mut bad = None;
    let flat = map_indices(is, |o| {
        let raw = idx[k];
        k += 1;
        let j = if raw < 0 { raw + n } else { raw };
        if !(0..n).contains(&j) {
            bad.get_or_insert(raw);
            return 0;
        }
        o.iter().zip(&strides).enumerate().map(|(d, (&i, &s))| if d == axis { j as usize * s } else { i * s }).sum()
    });
    if let Some(raw) = bad {
        return Err(OpErrorKind::invalid(format!("index {raw} is out of range for axis {axis} of size {n}")));
    }
    tensor(is.to_vec(), take(data, &flat)?)
}

/// Orders two elements for `TopK`: `Less` means `a` comes first (better); ties keep the
/// lower index first because the sort is stable.
fn float_rank(a: f32, b: f32, largest: bool) -> Ordering {
    // NaN is larger than every number.
    let o = a.partial_cmp(&b).unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()));
    if largest {
        o.reverse()
    } else {
        o
    }
}

/// ONNX `TopK`: the `k` best elements along `axis` (largest or smallest, ties to the lower
/// index) and their `i64` indices, best first.
pub(crate) fn top_k(inputs: &[&TensorData], a: &TopKAttrs) -> OpResult<Vec<TensorData>> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let shape = x.shape();
    check_axis(a.axis, shape.len())?;
    let (outer, n, inner) = split(shape, a.axis);
    if a.k > n {
        return Err(OpErrorKind::invalid(format!("k = {} exceeds the axis size {n}", a.k)));
    }
    let floats = if x.dtype().is_float() { Some(f32_elems(x)?) } else { None };
    let ints = if floats.is_none() { Some(i64_elems(x)?) } else { None };
    let mut flat = Vec::with_capacity(outer * a.k * inner);
    let mut indices = vec![0i64; outer * a.k * inner];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| (o * n + j) * inner + i;
            order.clear();
            order.extend(0..n);
            match (&floats, &ints) {
                (Some(v), _) => order.sort_by(|&p, &q| float_rank(v[at(p)], v[at(q)], a.largest)),
                (_, Some(v)) => order.sort_by(|&p, &q| {
                    let c = v[at(p)].cmp(&v[at(q)]);
                    if a.largest {
                        c.reverse()
                    } else {
                        c
                    }
                }),
                _ => {}
            }
            for (r, &j) in order[..a.k].iter().enumerate() {
                indices[(o * a.k + r) * inner + i] = j as i64;
            }
        }
    }
    // Values in output order.
    for o in 0..outer {
        for r in 0..a.k {
            for i in 0..inner {
                let j = indices[(o * a.k + r) * inner + i] as usize;
                flat.push((o * n + j) * inner + i);
            }
        }
    }
    let mut out_shape = shape.to_vec();
    out_shape[a.axis] = a.k;
    let values = tensor(out_shape.clone(), take(x, &flat)?)?;
    Ok(vec![values, tensor(out_shape, Data::I64(indices))?])
}

/// ONNX `CumSum`; see [`CumSumAttrs`]. Floats accumulate in `f32` in index order, integers
/// in wrapping `i64` (stored wrapped to the dtype).
pub(crate) fn cum_sum(inputs: &[&TensorData], a: &CumSumAttrs) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let shape = x.shape().to_vec();
    check_axis(a.axis, shape.len())?;
    let (outer, n, inner) = split(&shape, a.axis);
    fn scan<T: Copy>(
        v: &[T],
        (outer, n, inner): (usize, usize, usize),
        a: &CumSumAttrs,
        zero: T,
        add: fn(T, T) -> T,
    ) -> Vec<T> {
        let mut out = vec![zero; v.len()];
        for o in 0..outer {
            for i in 0..inner {
                let mut acc = zero;
                for step in 0..n {
                    let j = if a.reverse { n - 1 - step } else { step };
                    let at = (o * n + j) * inner + i;
                    if a.exclusive {
                        out[at] = acc;
                        acc = add(acc, v[at]);
                    } else {
                        acc = add(acc, v[at]);
                        out[at] = acc;
                    }
                }
            }
        }
        out
    }
    let dims = (outer, n, inner);
    if x.dtype().is_float() {
        let v = f32_elems(x)?;
        float_tensor(x.dtype(), shape, scan(&v, dims, a, 0.0, |p, q| p + q))
    } else {
        let v = i64_elems(x)?;
        tensor(shape, int_data(x.dtype(), &scan(&v, dims, a, 0, i64::wrapping_add)))
    }
}

#[cfg(test)]
mod tests {
    use int8xc_ir::{CumSumAttrs, Data, Op, TopKAttrs};

    use crate::ops::test_util::*;
    use crate::Interpreter;

    #[test]
    fn gather_elements_follows_onnx_example() {
        let data = f(&[2, 2], &[1., 2., 3., 4.]);
        let idx = i(&[2, 2], &[0, 0, 1, -2]);
        let y = run_ok(&Op::GatherElements { axis: 1 }, &[&data, &idx]);
        assert_eq!(y.as_f32().unwrap(), &[1., 1., 4., 3.]);
        assert!(run_err(&Op::GatherElements { axis: 1 }, &[&data, &i(&[2, 1], &[0, 2])]).contains("out of range"));
    }

    #[test]
    fn top_k_breaks_ties_by_lower_index() {
        let x = f(&[1, 5], &[3., 7., 7., f32::NAN, 1.]);
        let op = Op::TopK(TopKAttrs { axis: 1, k: 3, largest: true, sorted: true });
        let out = Interpreter.eval_op(&op, &[&x], &[]).unwrap();
        assert!(out[0].as_f32().unwrap()[0].is_nan());
        assert_eq!(&out[0].as_f32().unwrap()[1..], &[7., 7.]);
        assert_eq!(out[1].data(), &Data::I64(vec![3, 1, 2]));
        let op = Op::TopK(TopKAttrs { axis: 0, k: 1, largest: false, sorted: true });
        let out = Interpreter.eval_op(&op, &[&i(&[3, 1], &[5, -2, -2])], &[]).unwrap();
        assert_eq!((out[0].data(), out[1].data()), (&Data::I64(vec![-2]), &Data::I64(vec![1])));
    }

    #[test]
    fn cum_sum_exclusive_and_reverse() {
        let x = i(&[4], &[1, 2, 3, 4]);
        let cs = |exclusive, reverse| {
            let y = run_ok(&Op::CumSum(CumSumAttrs { axis: 0, exclusive, reverse }), &[&x]);
            y.as_i64().unwrap().to_vec()
        };
        assert_eq!(cs(false, false), vec![1, 3, 6, 10]);
        assert_eq!(cs(true, false), vec![0, 1, 3, 6]);
        assert_eq!(cs(false, true), vec![10, 9, 7, 4]);
        assert_eq!(cs(true, true), vec![9, 7, 4, 0]);
        let y = run_ok(
            &Op::CumSum(CumSumAttrs { axis: 1, exclusive: false, reverse: false }),
            &[&f(&[2, 2], &[1., 2., 3., 4.])],
        );
        assert_eq!(y.as_f32().unwrap(), &[1., 3., 3., 7.]);
    }
}
