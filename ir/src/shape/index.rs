//! Shape rules of `GatherElements`, `TopK` and `CumSum`.

use super::{check_arity, check_axis, fail, one_input, require_numeric};
use crate::{CumSumAttrs, DType, IrError, Op, TensorType, TopKAttrs};

/// `GatherElements`: `indices` (`i64`/`i32`) of `data`'s rank, its dims other than `axis` at
/// most `data`'s; output `data`'s dtype (and per-tensor parameters) in `indices`' shape.
pub(super) fn gather_elements(op: &Op, axis: usize, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 2)?;
    let (data, idx) = (inputs[0], inputs[1]);
    if !matches!(idx.dtype, DType::I64 | DType::I32) {
        return Err(fail(op, format!("indices must be i64 or i32, got {idx}")));
    }
    if idx.rank() != data.rank() {
        return Err(fail(op, format!("indices {idx} must have the rank of data {data}")));
    }
    check_axis(op, "axis", axis, data.rank())?;
    for (d, (&i, &n)) in idx.shape.iter().zip(&data.shape).enumerate() {
        if d != axis && i > n {
            return Err(fail(op, format!("indices dim {d} ({i}) exceeds data's ({n})")));
        }
    }
    if data.shape[axis] == 0 && idx.shape.iter().all(|&d| d > 0) {
        return Err(fail(op, format!("cannot gather from the empty axis {axis} of {data}")));
    }
    let mut t = TensorType::new(data.dtype, idx.shape.clone());
    if data.quant.as_ref().is_some_and(|q| q.is_per_tensor()) {
        t.quant = data.quant.clone();
    }
    Ok(t)
}

/// `TopK`: numeric input, `k <= shape[axis]`; outputs values (input dtype) and `i64` indices,
/// both with `shape[axis] = k`.
pub(super) fn top_k(op: &Op, a: &TopKAttrs, inputs: &[&TensorType]) -> Result<Vec<TensorType>, IrError> {
    let x = one_input(op, inputs)?;
    require_numeric(op, "input", x)?;
    check_axis(op, "axis", a.axis, x.rank())?;
    if a.k > x.shape[a.axis] {
        return Err(fail(op, format!("k = {} exceeds axis {} of {x}", a.k, a.axis)));
    }
    let mut shape = x.shape.clone();
    shape[a.axis] = a.k;
    Ok(vec![TensorType::new(x.dtype, shape.clone()), TensorType::new(DType::I64, shape)])
}

/// `CumSum`: numeric input of rank >= 1; same type out (without quantization parameters).
pub(super) fn cum_sum(op: &Op, a: &CumSumAttrs, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_numeric(op, "input", x)?;
    if matches!(x.dtype, DType::I4 | DType::U4) {
        return Err(fail(op, format!("4-bit input {x} is not supported")));
    }
    check_axis(op, "axis", a.axis, x.rank())?;
    Ok(TensorType::new(x.dtype, x.shape.clone()))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use crate::{infer_types, CumSumAttrs, DType, Op, TensorType, TopKAttrs};

    #[test]
    fn gather_elements_takes_the_indices_shape() {
        let i = |s: &[usize]| TensorType::new(DType::I64, s.to_vec());
        let op = Op::GatherElements { axis: 1 };
        assert_eq!(shape_of(&op, &[f32t(&[2, 3]), i(&[2, 5])]), vec![2, 5]);
        assert!(err_of(&op, &[f32t(&[2, 3]), i(&[3, 1])]).contains("exceeds"));
        assert!(err_of(&op, &[f32t(&[2, 3]), i(&[2])]).contains("rank"));
        assert!(err_of(&op, &[f32t(&[2, 3]), f32t(&[2, 3])]).contains("i64 or i32"));
    }

    #[test]
    fn top_k_has_values_and_indices() {
        let op = Op::TopK(TopKAttrs { axis: 1, k: 2, largest: true, sorted: true });
        let x = f32t(&[3, 4]);
        let t = infer_types(&op, &[&x]).unwrap();
        assert_eq!((t[0].dtype, &t[0].shape), (DType::F32, &vec![3, 2]));
        assert_eq!((t[1].dtype, &t[1].shape), (DType::I64, &vec![3, 2]));
        let big = Op::TopK(TopKAttrs { axis: 1, k: 5, largest: true, sorted: true });
        assert!(infer_types(&big, &[&x]).unwrap_err().to_string().contains("exceeds"));
    }

    #[test]
    fn cum_sum_keeps_the_type() {
        let op = Op::CumSum(CumSumAttrs { axis: 0, exclusive: true, reverse: false });
        assert_eq!(shape_of(&op, &[TensorType::new(DType::I32, [5])]), vec![5]);
        assert!(err_of(&op, &[f32t(&[])]).contains("out of range"));
    }
}
