//! Shape rules of the comparison, logical, selection, reduction and padding ops.

use super::{
    broadcast_shapes, check_arity, check_axis, fail, one_input, reduced_shape, require_float, require_numeric,
    require_same_dtype,
};
use crate::{DType, IrError, Op, PadAttrs, PadMode, ReduceKind, TensorType};

/// `Compare`: two inputs of one numeric dtype, broadcast; `bool` output.
pub(super) fn compare(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 2)?;
    let (a, b) = (inputs[0], inputs[1]);
    require_numeric(op, "input a", a)?;
    require_same_dtype(op, "input b", b, a.dtype)?;
    let shape = broadcast_shapes(&a.shape, &b.shape).map_err(|e| fail(op, e))?;
    Ok(TensorType::new(DType::Bool, shape))
}

/// `Logical`: two `bool` inputs, broadcast; `bool` output.
pub(super) fn logical(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 2, 2)?;
    require_same_dtype(op, "input a", inputs[0], DType::Bool)?;
    require_same_dtype(op, "input b", inputs[1], DType::Bool)?;
    let shape = broadcast_shapes(&inputs[0].shape, &inputs[1].shape).map_err(|e| fail(op, e))?;
    Ok(TensorType::new(DType::Bool, shape))
}

/// `Not`: one `bool` input.
pub(super) fn not(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_same_dtype(op, "input", x, DType::Bool)?;
    Ok(TensorType::new(DType::Bool, x.shape.clone()))
}

/// `Where`: `cond` `bool`, `x` and `y` of one dtype; the three shapes broadcast together.
/// Quantization parameters of `x` are kept when `y` has the same ones.
pub(super) fn where_(op: &Op, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    check_arity(op, inputs, 3, 3)?;
    let (c, x, y) = (inputs[0], inputs[1], inputs[2]);
    require_same_dtype(op, "input cond", c, DType::Bool)?;
    require_same_dtype(op, "input y", y, x.dtype)?;
    let s = broadcast_shapes(&c.shape, &x.shape).map_err(|e| fail(op, e))?;
    let shape = broadcast_shapes(&s, &y.shape).map_err(|e| fail(op, e))?;
    let mut t = TensorType::new(x.dtype, shape);
    if x.quant == y.quant && x.quant.as_ref().is_some_and(|q| q.is_per_tensor()) {
        t.quant = x.quant.clone();
    }
    Ok(t)
}

/// `Expand`: the input must broadcast to exactly `shape`.
pub(super) fn expand(op: &Op, shape: &[usize], inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    let b = broadcast_shapes(&x.shape, shape).map_err(|e| fail(op, e))?;
    if b != shape {
        return Err(fail(op, format!("input {x} does not broadcast to the output shape {shape:?}")));
    }
    let mut t = TensorType::new(x.dtype, shape.to_vec());
    if x.quant.as_ref().is_some_and(|q| q.is_per_tensor()) {
        t.quant = x.quant.clone();
    }
    Ok(t)
}

/// `Reduce`: axes sorted, distinct, in range; float input for the float-only kinds.
pub(super) fn reduce(
    op: &Op,
    kind: ReduceKind,
    axes: &[usize],
    keepdims: bool,
    inputs: &[&TensorType],
) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_numeric(op, "input", x)?;
    if !kind.allows_integers() {
        require_float(op, "input", x)?;
    }
    for (i, &a) in axes.iter().enumerate() {
        check_axis(op, "axis", a, x.rank())?;
        if i > 0 && axes[i - 1] >= a {
            return Err(fail(op, format!("axes {axes:?} must be sorted and distinct")));
        }
    }
    Ok(TensorType::new(x.dtype, reduced_shape(&x.shape, axes, keepdims)))
}

/// `LogSoftmax`: float input, axis in range.
pub(super) fn log_softmax(op: &Op, axis: usize, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    require_float(op, "input", x)?;
    check_axis(op, "axis", axis, x.rank())?;
    Ok(TensorType::new(x.dtype, x.shape.clone()))
}

/// `Pad`: one pad pair per axis; `Reflect` pads at most `d - 1`, `Edge`/`Wrap` need a
/// non-empty axis to pad from. Per-tensor quantization parameters are kept.
pub(super) fn pad(op: &Op, a: &PadAttrs, inputs: &[&TensorType]) -> Result<TensorType, IrError> {
    let x = one_input(op, inputs)?;
    if a.begin.len() != x.rank() || a.end.len() != x.rank() {
        return Err(fail(
            op,
            format!("pads have {} + {} entries, expected {} each for {x}", a.begin.len(), a.end.len(), x.rank()),
        ));
    }
    let mut shape = Vec::with_capacity(x.rank());
    for (i, ((&d, &b), &e)) in x.shape.iter().zip(&a.begin).zip(&a.end).enumerate() {
        let padded = b > 0 || e > 0;
        match a.mode {
            PadMode::Reflect if padded && (b >= d || e >= d) => {
                return Err(fail(op, format!("reflect pads ({b}, {e}) of axis {i} must be smaller than its size {d}")))
            }
            PadMode::Edge | PadMode::Wrap if padded && d == 0 => {
                return Err(fail(op, format!("cannot pad the empty axis {i} in {:?} mode", a.mode)))
            }
            PadMode::Wrap if b > d || e > d => {
                return Err(fail(op, format!("wrap pads ({b}, {e}) of axis {i} exceed its size {d}")))
            }
            _ => {}
        }
        let o = d.checked_add(b).and_then(|s| s.checked_add(e)).ok_or_else(|| fail(op, "padded size overflows"))?;
        shape.push(o);
    }
    let mut t = TensorType::new(x.dtype, shape);
    if x.quant.as_ref().is_some_and(|q| q.is_per_tensor()) {
        t.quant = x.quant.clone();
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use crate::{CompareOp, DType, LogicalOp, Op, PadAttrs, PadMode, ReduceKind, TensorType};

    #[test]
    fn compare_gives_bool_and_broadcasts() {
        let t = infer1(&Op::Compare(CompareOp::Less), &[f32t(&[2, 3]), f32t(&[3])]).unwrap();
        assert_eq!((t.dtype, t.shape), (DType::Bool, vec![2, 3]));
        let e = err_of(&Op::Compare(CompareOp::Equal), &[f32t(&[2]), TensorType::new(DType::I32, [2])]);
        assert!(e.starts_with("Equal: input b has dtype i32"), "{e}");
    }

    #[test]
    fn logical_and_not_need_bool() {
        let b = |s: &[usize]| TensorType::new(DType::Bool, s.to_vec());
        assert_eq!(shape_of(&Op::Logical(LogicalOp::Xor), &[b(&[3, 1]), b(&[4])]), vec![3, 4]);
        assert!(err_of(&Op::Logical(LogicalOp::And), &[f32t(&[1]), b(&[1])]).contains("expected bool"));
        assert_eq!(shape_of(&Op::Not, &[b(&[2])]), vec![2]);
        assert!(err_of(&Op::Not, &[f32t(&[2])]).starts_with("Not:"));
    }

    #[test]
    fn where_broadcasts_three_ways() {
        let c = TensorType::new(DType::Bool, [2, 1]);
        assert_eq!(shape_of(&Op::Where, &[c.clone(), f32t(&[1, 3]), f32t(&[])]), vec![2, 3]);
        let e = err_of(&Op::Where, &[c, f32t(&[3]), TensorType::new(DType::I64, [3])]);
        assert!(e.contains("input y has dtype i64"), "{e}");
    }

    #[test]
    fn expand_checks_target() {
        assert_eq!(shape_of(&Op::Expand { shape: vec![2, 3, 4] }, &[f32t(&[3, 1])]), vec![2, 3, 4]);
        assert!(err_of(&Op::Expand { shape: vec![3] }, &[f32t(&[2, 3])]).contains("does not broadcast"));
    }

    #[test]
    fn reduce_checks_axes_and_dtype() {
        let op = |kind, axes: Vec<usize>| Op::Reduce { kind, axes, keepdims: false };
        assert_eq!(shape_of(&op(ReduceKind::Sum, vec![0, 2]), &[f32t(&[2, 3, 4])]), vec![3]);
        let i = TensorType::new(DType::I64, [2]);
        assert!(infer1(&op(ReduceKind::Max, vec![0]), std::slice::from_ref(&i)).is_ok());
        assert!(err_of(&op(ReduceKind::L2, vec![0]), &[i]).contains("float"));
        assert!(err_of(&op(ReduceKind::Sum, vec![1, 0]), &[f32t(&[2, 3])]).contains("sorted"));
    }

    #[test]
    fn pad_adds_and_checks_modes() {
        let pad = |mode, begin: Vec<usize>, end: Vec<usize>| Op::Pad(PadAttrs { mode, begin, end, value: 0.0 });
        assert_eq!(shape_of(&pad(PadMode::Constant, vec![0, 2], vec![1, 0]), &[f32t(&[3, 4])]), vec![4, 6]);
        assert!(err_of(&pad(PadMode::Reflect, vec![0, 3], vec![0, 0]), &[f32t(&[3, 3])]).contains("smaller"));
        assert!(err_of(&pad(PadMode::Edge, vec![1], vec![0]), &[f32t(&[0])]).contains("empty axis"));
        assert!(err_of(&pad(PadMode::Edge, vec![1], vec![0]), &[f32t(&[2, 2])]).contains("entries"));
    }

    #[test]
    fn log_softmax_checks_axis() {
        assert_eq!(shape_of(&Op::LogSoftmax { axis: 1 }, &[f32t(&[2, 3])]), vec![2, 3]);
        assert!(err_of(&Op::LogSoftmax { axis: 2 }, &[f32t(&[2, 3])]).contains("out of range"));
    }
}
