//! `Reduce` (ONNX `ReduceSum`/`Max`/`Min`/`Prod`/`L1`/`L2`/`SumSquare`/`LogSum`/`LogSumExp`,
//! opset 13/18 with the axes resolved at import) and `LogSoftmax` (opset 13).
//!
//! Float reductions accumulate in `f32`, from the identity, in row-major order of the reduced
//! elements (as `ReduceMean`); integer ones are exact with wrapping. An empty axes list
//! reduces nothing but still applies the element function (`x²` for `SumSquare`, `|x|` for
//! `L1`/`L2`, `ln x` for `LogSum`), as numpy does for `axis=()`.

use int8xc_ir::{DType, ReduceKind, TensorData};

use super::{check_arity, f32_elems, float_dtype, float_tensor, i64_elems, int_data, map_indices, tensor, OpResult};
use crate::error::OpErrorKind;

/// For every output element, the flat index of its group's first input element, and the
/// offsets of the group's elements; plus the output shape.
fn groups(shape: &[usize], axes: &[usize], keepdims: bool) -> OpResult<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    let rank = shape.len();
    for (i, &a) in axes.iter().enumerate() {
        if a >= rank {
            return Err(OpErrorKind::invalid(format!("axis {a} out of range for rank {rank}")));
        }
        if i > 0 && axes[i - 1] >= a {
            return Err(OpErrorKind::invalid(format!("axes {axes:?} must be sorted and distinct")));
        }
    }
    let kept: Vec<usize> = (0..rank).map(|d| if axes.contains(&d) { 1 } else { shape[d] }).collect();
    let reduced: Vec<usize> = (0..rank).map(|d| if axes.contains(&d) { shape[d] } else { 1 }).collect();
    let strides = int8xc_ir::strides(shape);
    let offsets = map_indices(&reduced, |r| r.iter().zip(&strides).map(|(i, st)| i * st).sum::<usize>());
    let bases = map_indices(&kept, |k| k.iter().zip(&strides).map(|(i, st)| i * st).sum::<usize>());
    let out_shape = if keepdims { kept } else { (0..rank).filter(|d| !axes.contains(d)).map(|d| shape[d]).collect() };
    Ok((bases, offsets, out_shape))
}

fn int_range(dtype: DType) -> (i64, i64) {
    match dtype {
        DType::I64 => (i64::MIN, i64::MAX),
        DType::I32 => (i32::MIN.into(), i32::MAX.into()),
        DType::I16 => (i16::MIN.into(), i16::MAX.into()),
        DType::I8 => (i8::MIN.into(), i8::MAX.into()),
        DType::U8 => (0, u8::MAX.into()),
        DType::I4 => (-8, 7),
        DType::U4 => (0, 15),
        _ => (0, 1),
    }
}

fn reduce_f32(kind: ReduceKind, vals: impl Iterator<Item = f32>) -> f32 {
    let nan_max = |a: f32, x: f32| if a.is_nan() || x.is_nan() { a + x } else { a.max(x) };
    let nan_min = |a: f32, x: f32| if a.is_nan() || x.is_nan() { a + x } else { a.min(x) };
    match kind {
        ReduceKind::Sum => vals.fold(0.0, |a, x| a + x),
        ReduceKind::Max => vals.fold(f32::NEG_INFINITY, nan_max),
        ReduceKind::Min => vals.fold(f32::INFINITY, nan_min),
        ReduceKind::Prod => vals.fold(1.0, |a, x| a * x),
        ReduceKind::L1 => vals.fold(0.0, |a, x| a + x.abs()),
        ReduceKind::L2 => vals.fold(0.0, |a, x| a + x * x).sqrt(),
        ReduceKind::SumSquare => vals.fold(0.0, |a, x| a + x * x),
        ReduceKind::LogSum => vals.fold(0.0, |a, x| a + x).ln(),
        ReduceKind::LogSumExp => {
            let v: Vec<f32> = vals.collect();
            let m = v.iter().copied().fold(f32::NEG_INFINITY, nan_max);
            if m.is_infinite() {
                // all -inf (or empty): -inf; any +inf: +inf
                return m;
            }
            m + v.iter().fold(0.0f32, |a, &x| a + (x - m).exp()).ln()
        }
    }
}

fn reduce_i64(kind: ReduceKind, dtype: DType, vals: impl Iterator<Item = i64>) -> OpResult<i64> {
    let (lo, hi) = int_range(dtype);
    Ok(match kind {
        ReduceKind::Sum => vals.fold(0, i64::wrapping_add),
        ReduceKind::Max => vals.fold(lo, i64::max),
        ReduceKind::Min => vals.fold(hi, i64::min),
        ReduceKind::Prod => vals.fold(1, i64::wrapping_mul),
        ReduceKind::L1 => vals.fold(0, |a, x| a.wrapping_add(x.wrapping_abs())),
        ReduceKind::SumSquare => vals.fold(0, |a, x| a.wrapping_add(x.wrapping_mul(x))),
        other => return Err(OpErrorKind::unsupported(format!("{} on dtype {dtype}", other.name()))),
    })
}

/// ONNX `Reduce*` over `axes` (sorted, distinct); see the module docs.
pub(crate) fn reduce(inputs: &[&TensorData], kind: ReduceKind, axes: &[usize], keepdims: bool) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let (bases, offsets, out_shape) = groups(x.shape(), axes, keepdims)?;
    let dtype = x.dtype();
    if dtype.is_float() {
        let v = f32_elems(x)?;
        let y = bases.iter().map(|&b| reduce_f32(kind, offsets.iter().map(|&o| v[b + o]))).collect();
        float_tensor(dtype, out_shape, y)
    } else if dtype.is_integer() {
        let v = i64_elems(x)?;
        let y = bases
            .iter()
            .map(|&b| reduce_i64(kind, dtype, offsets.iter().map(|&o| v[b + o])))
            .collect::<OpResult<Vec<i64>>>()?;
        tensor(out_shape, int_data(dtype, &y))
    } else {
        Err(OpErrorKind::unsupported(format!("dtype {dtype}")))
    }
}

/// ONNX `LogSoftmax` (opset 13) along `axis`: `x - max - ln(Σ exp(x - max))` in `f32`.
pub(crate) fn log_softmax(inputs: &[&TensorData], axis: usize) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let dtype = float_dtype(&[x])?;
    let shape = x.shape();
    if axis >= shape.len() {
        return Err(OpErrorKind::invalid(format!("axis {axis} out of range for rank {}", shape.len())));
    }
    let (outer, len, inner) =
        (shape[..axis].iter().product::<usize>(), shape[axis], shape[axis + 1..].iter().product());
    let v = f32_elems(x)?;
    let mut y = vec![0.0f32; v.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * len + k) * inner + i;
            let max = (0..len).map(|k| v[at(k)]).fold(f32::NEG_INFINITY, f32::max);
            let sum = (0..len).fold(0.0f32, |s, k| s + (v[at(k)] - max).exp());
            let log_sum = sum.ln();
            for k in 0..len {
                y[at(k)] = v[at(k)] - max - log_sum;
            }
        }
    }
    float_tensor(dtype, shape.to_vec(), y)
}

#[cfg(test)]
mod tests {
    use int8xc_ir::{Data, Op, ReduceKind};

    use crate::ops::test_util::*;

    fn red(kind: ReduceKind, axes: &[usize], keepdims: bool) -> Op {
        Op::Reduce { kind, axes: axes.to_vec(), keepdims }
    }

    #[test]
    fn float_reductions() {
        let x = f(&[2, 3], &[1., -2., 3., 4., 5., -6.]);
        assert_close(&run_ok(&red(ReduceKind::Sum, &[1], false), &[&x]), &[2], &[2., 3.], 0.0);
        assert_close(&run_ok(&red(ReduceKind::Max, &[0], true), &[&x]), &[1, 3], &[4., 5., 3.], 0.0);
        assert_close(&run_ok(&red(ReduceKind::Min, &[0, 1], false), &[&x]), &[], &[-6.], 0.0);
        assert_close(&run_ok(&red(ReduceKind::Prod, &[1], false), &[&x]), &[2], &[-6., -120.], 0.0);
        assert_close(&run_ok(&red(ReduceKind::L1, &[1], false), &[&x]), &[2], &[6., 15.], 0.0);
        assert_close(&run_ok(&red(ReduceKind::L2, &[1], false), &[&x]), &[2], &[14f32.sqrt(), 77f32.sqrt()], 1e-6);
        assert_close(
            &run_ok(&red(ReduceKind::SumSquare, &[], false), &[&x]),
            &[2, 3],
            &[1., 4., 9., 16., 25., 36.],
            0.0,
        );
        let lse = run_ok(&red(ReduceKind::LogSumExp, &[1], false), &[&x]);
        let want = |v: [f32; 3]| v.iter().map(|a| a.exp()).sum::<f32>().ln();
        assert_close(&lse, &[2], &[want([1., -2., 3.]), want([4., 5., -6.])], 1e-6);
        let ls = run_ok(&red(ReduceKind::LogSum, &[0], false), &[&x]);
        assert_close(&ls, &[3], &[5f32.ln(), 3f32.ln(), f32::NAN], 1e-6);
    }

    #[test]
    fn empty_reductions_give_identities() {
        let x = f(&[0, 2], &[]);
        assert_close(&run_ok(&red(ReduceKind::Sum, &[0], false), &[&x]), &[2], &[0., 0.], 0.0);
        assert_close(&run_ok(&red(ReduceKind::Max, &[0], false), &[&x]), &[2], &[f32::NEG_INFINITY; 2], 0.0);
        assert_close(&run_ok(&red(ReduceKind::LogSumExp, &[0], false), &[&x]), &[2], &[f32::NEG_INFINITY; 2], 0.0);
        let xi = t(&[0], Data::I8(vec![]));
        assert_eq!(run_ok(&red(ReduceKind::Max, &[0], false), &[&xi]).data(), &Data::I8(vec![-128]));
    }

    #[test]
    fn integer_reductions_are_exact() {
        let x = i(&[2, 2], &[3, -4, 5, 6]);
        assert_eq!(run_ok(&red(ReduceKind::Sum, &[0], false), &[&x]).as_i64().unwrap(), &[8, 2]);
        assert_eq!(run_ok(&red(ReduceKind::L1, &[1], false), &[&x]).as_i64().unwrap(), &[7, 11]);
        assert!(run_err(&red(ReduceKind::L2, &[1], false), &[&x]).contains("L2"));
    }

    #[test]
    fn log_softmax_is_log_of_softmax() {
        let x = f(&[2, 2], &[1., 2., 3., 3.]);
        let y = run_ok(&Op::LogSoftmax { axis: 1 }, &[&x]);
        let a = (1.0f32 + 1f32.exp()).ln();
        assert_close(&y, &[2, 2], &[-a, 1.0 - a, -2f32.ln(), -2f32.ln()], 1e-6);
    }
}
