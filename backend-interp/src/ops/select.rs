//! Comparison, boolean and selection ops: `Compare` (ONNX `Equal`/`Less`/`Greater`/
//! `LessOrEqual`/`GreaterOrEqual`), `Logical` (`And`/`Or`/`Xor`), `Not`, `Where` (opset 16)
//! and `Expand` (opset 13). All broadcast numpy-style.

use int8xc_ir::{CompareOp, Data, LogicalOp, TensorData};

use super::{
    broadcast_index_map, broadcast_shapes, check_arity, check_output_size, f32_elems, i64_elems, take, tensor, OpResult,
};
use crate::error::OpErrorKind;

fn bools(t: &TensorData, what: &str) -> OpResult<Vec<bool>> {
    match t.data() {
        Data::Bool(v) => Ok(v.clone()),
        _ => Err(OpErrorKind::invalid(format!("{what} must be bool, got dtype {}", t.dtype()))),
    }
}

fn cmp<T: PartialOrd>(op: CompareOp, x: T, y: T) -> bool {
    match op {
        CompareOp::Equal => x == y,
        CompareOp::Less => x < y,
        CompareOp::LessOrEqual => x <= y,
        CompareOp::Greater => x > y,
        CompareOp::GreaterOrEqual => x >= y,
    }
}

/// `a op b` per element, `bool` output; floats compare as `f32` (IEEE: NaN is unordered and
/// unequal), integers exactly. `a` and `b` have one numeric dtype.
pub(crate) fn compare(inputs: &[&TensorData], op: CompareOp) -> OpResult<TensorData> {
    check_arity(inputs, 2, 2)?;
    let (a, b) = (inputs[0], inputs[1]);
    if a.dtype() != b.dtype() {
        return Err(OpErrorKind::invalid(format!("input b has dtype {}, expected {}", b.dtype(), a.dtype())));
    }
    let out_shape = broadcast_shapes(a.shape(), b.shape())?;
    check_output_size(&out_shape)?;
    let ia = broadcast_index_map(a.shape(), &out_shape);
    let ib = broadcast_index_map(b.shape(), &out_shape);
    let out: Vec<bool> = if a.dtype().is_float() {
        let (va, vb) = (f32_elems(a)?, f32_elems(b)?);
        ia.iter().zip(&ib).map(|(&i, &j)| cmp(op, va[i], vb[j])).collect()
    } else if a.dtype().is_integer() {
        let (va, vb) = (i64_elems(a)?, i64_elems(b)?);
        ia.iter().zip(&ib).map(|(&i, &j)| cmp(op, va[i], vb[j])).collect()
    } else {
        return Err(OpErrorKind::unsupported(format!("dtype {}", a.dtype())));
    };
    tensor(out_shape, Data::Bool(out))
}

/// `a op b` on `bool` tensors.
pub(crate) fn logical(inputs: &[&TensorData], op: LogicalOp) -> OpResult<TensorData> {
    check_arity(inputs, 2, 2)?;
    let (a, b) = (bools(inputs[0], "input a")?, bools(inputs[1], "input b")?);
    let out_shape = broadcast_shapes(inputs[0].shape(), inputs[1].shape())?;
    check_output_size(&out_shape)?;
    let ia = broadcast_index_map(inputs[0].shape(), &out_shape);
    let ib = broadcast_index_map(inputs[1].shape(), &out_shape);
    let out = ia
        .iter()
        .zip(&ib)
        .map(|(&i, &j)| match op {
            LogicalOp::And => a[i] && b[j],
            LogicalOp::Or => a[i] || b[j],
            LogicalOp::Xor => a[i] != b[j],
        })
        .collect();
    tensor(out_shape, Data::Bool(out))
}

/// `!x` on a `bool` tensor.
pub(crate) fn not(inputs: &[&TensorData]) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = bools(inputs[0], "input")?;
    tensor(inputs[0].shape().to_vec(), Data::Bool(x.iter().map(|v| !v).collect()))
}

/// `cond ? x : y` with three-way broadcasting; `x` and `y` of one dtype (any).
pub(crate) fn where_(inputs: &[&TensorData]) -> OpResult<TensorData> {
    check_arity(inputs, 3, 3)?;
    let (c, x, y) = (inputs[0], inputs[1], inputs[2]);
    let cond = bools(c, "input cond")?;
    if x.dtype() != y.dtype() {
        return Err(OpErrorKind::invalid(format!("input y has dtype {}, expected {}", y.dtype(), x.dtype())));
    }
    let out_shape = broadcast_shapes(&broadcast_shapes(c.shape(), x.shape())?, y.shape())?;
    check_output_size(&out_shape)?;
    let ic = broadcast_index_map(c.shape(), &out_shape);
    let ix = broadcast_index_map(x.shape(), &out_shape);
    let iy = broadcast_index_map(y.shape(), &out_shape);
    // Select from the concatenation [x.., y..] by flat index.
    let both = super::concat_flat(&[x, y])?;
    let nx = x.numel();
    let idx: Vec<usize> = (0..ic.len()).map(|k| if cond[ic[k]] { ix[k] } else { nx + iy[k] }).collect();
    tensor(out_shape, take(&both, &idx)?)
}

/// The input broadcast to `shape` (which must be its broadcast with `shape`).
pub(crate) fn expand(inputs: &[&TensorData], shape: &[usize]) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let out = broadcast_shapes(x.shape(), shape)?;
    if out != shape {
        return Err(OpErrorKind::invalid(format!("shape {:?} does not broadcast to {shape:?}", x.shape())));
    }
    check_output_size(shape)?;
    let idx = broadcast_index_map(x.shape(), shape);
    tensor(shape.to_vec(), take(x, &idx)?)
}

#[cfg(test)]
mod tests {
    use int8xc_ir::{Data, Op};

    use super::*;
    use crate::ops::test_util::*;

    #[test]
    fn compare_broadcasts_and_handles_nan() {
        let a = f(&[2, 2], &[1., 2., f32::NAN, 4.]);
        let b = f(&[2], &[2., 2.]);
        let y = run_ok(&Op::Compare(CompareOp::LessOrEqual), &[&a, &b]);
        assert_eq!(y.data(), &Data::Bool(vec![true, true, false, false]));
        let y = run_ok(&Op::Compare(CompareOp::Equal), &[&i(&[3], &[1, 2, 3]), &i(&[], &[2])]);
        assert_eq!(y.data(), &Data::Bool(vec![false, true, false]));
        assert!(run_err(&Op::Compare(CompareOp::Less), &[&a, &i(&[1], &[1])]).contains("dtype"));
    }

    #[test]
    fn logical_ops_and_not() {
        let a = t(&[2, 1], Data::Bool(vec![true, false]));
        let b = t(&[2], Data::Bool(vec![true, false]));
        let and = run_ok(&Op::Logical(LogicalOp::And), &[&a, &b]);
        assert_eq!(and.data(), &Data::Bool(vec![true, false, false, false]));
        let xor = run_ok(&Op::Logical(LogicalOp::Xor), &[&a, &b]);
        assert_eq!(xor.data(), &Data::Bool(vec![false, true, true, false]));
        assert_eq!(run_ok(&Op::Not, &[&b]).data(), &Data::Bool(vec![false, true]));
        assert!(run_err(&Op::Not, &[&f(&[1], &[1.])]).contains("bool"));
    }

    #[test]
    fn where_selects_with_broadcasting() {
        let c = t(&[2, 1], Data::Bool(vec![true, false]));
        let x = i(&[2], &[1, 2]);
        let y = i(&[], &[9]);
        let out = run_ok(&Op::Where, &[&c, &x, &y]);
        assert_eq!((out.shape(), out.as_i64().unwrap()), (&[2usize, 2][..], &[1, 2, 9, 9][..]));
    }

    #[test]
    fn expand_broadcasts_to_shape() {
        let x = f(&[3, 1], &[1., 2., 3.]);
        let y = run_ok(&Op::Expand { shape: vec![2, 3, 2] }, &[&x]);
        assert_close(&y, &[2, 3, 2], &[1., 1., 2., 2., 3., 3., 1., 1., 2., 2., 3., 3.], 0.0);
        assert!(run_err(&Op::Expand { shape: vec![2] }, &[&x]).contains("broadcast"));
    }
}
