//! Pooling: `MaxPool` (also with its `Indices` output), `AveragePool` (ONNX opset 12 / 19,
//! 2-D, NCHW, with dilations) and `GlobalAveragePool`.
//!
//! Window geometry (both pools): output `o` along an axis covers input positions
//! `o * stride - pad_begin + k * dilation` for `k in 0..kernel`. The output size is
//! [`pool_out_dim`], which matches ONNX Runtime (and PyTorch) in `ceil_mode`.

use int8xc_ir::{DType, Data, PoolAttrs, TensorData};

use super::{
    check_arity, check_output_size, check_rank, f32_elems, float_dtype, float_tensor, i64_elems, int_data, tensor,
    OpResult,
};
use crate::error::OpErrorKind;

/// Output size along one axis: `floor((in + pads - span) / stride) + 1` with
/// `span = dil * (k - 1) + 1`; with `ceil_mode` the division rounds up, and the last window
/// is dropped when it would start at or after `in + pad_begin` (ONNX Runtime's rule).
pub(crate) fn pool_out_dim(
    input: usize,
    pads: (usize, usize),
    k: usize,
    stride: usize,
    dil: usize,
    ceil: bool,
) -> OpResult<usize> {
    let overflow = || OpErrorKind::invalid(format!("pads {}+{}, kernel {k}, dilation {dil} overflow", pads.0, pads.1));
    let padded = input.checked_add(pads.0).and_then(|v| v.checked_add(pads.1)).ok_or_else(overflow)?;
    let span = dil.checked_mul(k.saturating_sub(1)).and_then(|v| v.checked_add(1)).ok_or_else(overflow)?;
    if k == 0 || stride == 0 || dil == 0 || padded < span {
        return Err(OpErrorKind::invalid(format!(
            "kernel {k} (dilation {dil}, stride {stride}) does not fit input {input} padded by {}+{}",
            pads.0, pads.1
        )));
    }
    let q = padded - span;
    let mut out = if ceil { q.div_ceil(stride) + 1 } else { q / stride + 1 };
    if ceil && (out - 1) * stride >= input + pads.0 {
        out -= 1;
    }
    Ok(out)
}

/// Checked geometry of a 2-D pool on `x [N, C, H, W]`.
struct Geometry {
    nc: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
}

fn geometry(x: &TensorData, a: &PoolAttrs) -> OpResult<Geometry> {
    check_rank("input", x, 4)?;
    let s = x.shape();
    let oh = pool_out_dim(s[2], (a.pads[0], a.pads[2]), a.kernel[0], a.strides[0], a.dilations[0], a.ceil_mode)?;
    let ow = pool_out_dim(s[3], (a.pads[1], a.pads[3]), a.kernel[1], a.strides[1], a.dilations[1], a.ceil_mode)?;
    check_output_size(&[s[0], s[1], oh, ow])?;
    Ok(Geometry { nc: s[0] * s[1], h: s[2], w: s[3], oh, ow })
}

/// Padded-frame coordinates (`position + pad_begin`) covered by window `o` along one axis.
fn window(o: usize, k: usize, stride: usize, dil: usize) -> impl Iterator<Item = usize> {
    (0..k).map(move |i| o * stride + i * dil)
}

/// Max over each window of a plane-major buffer, skipping padding (`lowest` for a window
/// with no input element). `v > max` comparisons: a NaN never replaces the running max.
fn max_windows<T: Copy + PartialOrd>(v: &[T], g: &Geometry, a: &PoolAttrs, lowest: T) -> Vec<T> {
    let mut y = Vec::with_capacity(g.nc * g.oh * g.ow);
    for p in 0..g.nc {
        for oh in 0..g.oh {
            for ow in 0..g.ow {
                let mut m = lowest;
                for ph in window(oh, a.kernel[0], a.strides[0], a.dilations[0]) {
                    let Some(ih) = ph.checked_sub(a.pads[0]).filter(|&i| i < g.h) else { continue };
                    for pw in window(ow, a.kernel[1], a.strides[1], a.dilations[1]) {
                        let Some(iw) = pw.checked_sub(a.pads[1]).filter(|&i| i < g.w) else { continue };
                        let e = v[(p * g.h + ih) * g.w + iw];
                        if e > m {
                            m = e;
                        }
                    }
                }
                y.push(m);
            }
        }
    }
    y
}

/// ONNX `MaxPool` (single output): the maximum over each window, padding counting as
/// -infinity (it is never selected). Works on `f32`/`f16` and on the integer dtypes (as ONNX
/// opset 12 allows for `i8`/`u8`; a window with no input element, possible only with
/// dilation, gives the dtype's minimum / -inf).
pub(crate) fn max_pool(inputs: &[&TensorData], a: &PoolAttrs) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let g = geometry(x, a)?;
    let out_shape = vec![x.shape()[0], x.shape()[1], g.oh, g.ow];
    let dtype = x.dtype();
    if dtype.is_float() {
        let y = max_windows(&f32_elems(x)?, &g, a, f32::NEG_INFINITY);
        float_tensor(dtype, out_shape, y)
    } else if dtype.is_integer() {
        let y = max_windows(&i64_elems(x)?, &g, a, integer_lowest(dtype));
        tensor(out_shape, int_data(dtype, &y))
    } else {
        Err(OpErrorKind::unsupported(format!("dtype {dtype}")))
    }
}

/// Max and its flat input index over each window (see [`max_pool_with_indices`]).
fn argmax_windows<T: Copy + PartialOrd>(
    v: &[T],
    g: &Geometry,
    a: &PoolAttrs,
    lowest: T,
    column_major: bool,
) -> (Vec<T>, Vec<i64>) {
    let len = g.nc * g.oh * g.ow;
    let (mut y, mut idx) = (Vec::with_capacity(len), Vec::with_capacity(len));
    for p in 0..g.nc {
        for oh in 0..g.oh {
            for ow in 0..g.ow {
                let (mut m, mut at) = (lowest, None);
                for ph in window(oh, a.kernel[0], a.strides[0], a.dilations[0]) {
                    let Some(ih) = ph.checked_sub(a.pads[0]).filter(|&i| i < g.h) else { continue };
                    for pw in window(ow, a.kernel[1], a.strides[1], a.dilations[1]) {
                        let Some(iw) = pw.checked_sub(a.pads[1]).filter(|&i| i < g.w) else { continue };
                        let e = v[(p * g.h + ih) * g.w + iw];
                        if at.is_none() || e > m {
                            m = e;
                            at = Some(if column_major { iw * g.h + ih } else { ih * g.w + iw });
                        }
                    }
                }
                y.push(m);
                idx.push(at.map_or(-1, |i| (p * g.h * g.w + i) as i64));
            }
        }
    }
    (y, idx)
}

/// ONNX `MaxPool` with its `Indices` output ([`int8xc_ir::Op::MaxPoolWithIndices`], as the
/// ONNX reference implementation computes it): the running maximum starts at the window's
/// first input element and is replaced by each later element `e > max`; the index is the flat
/// position of the chosen element in `x` (`(n·C + c)·H·W + h·W + w`, or `… + w·H + h` when
/// `column_major`). A window without input element gives the dtype's lowest value and -1.
pub(crate) fn max_pool_with_indices(
    inputs: &[&TensorData],
    a: &PoolAttrs,
    column_major: bool,
) -> OpResult<Vec<TensorData>> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let g = geometry(x, a)?;
    let out_shape = vec![x.shape()[0], x.shape()[1], g.oh, g.ow];
    let dtype = x.dtype();
    let (y, idx) = if dtype.is_float() {
        let (y, idx) = argmax_windows(&f32_elems(x)?, &g, a, f32::NEG_INFINITY, column_major);
        (float_tensor(dtype, out_shape.clone(), y)?, idx)
    } else if dtype.is_integer() {
        let (y, idx) = argmax_windows(&i64_elems(x)?, &g, a, integer_lowest(dtype), column_major);
        (tensor(out_shape.clone(), int_data(dtype, &y))?, idx)
    } else {
        return Err(OpErrorKind::unsupported(format!("dtype {dtype}")));
    };
    Ok(vec![y, tensor(out_shape, Data::I64(idx))?])
}

/// The smallest value of an integer dtype, as `i64`.
fn integer_lowest(dtype: DType) -> i64 {
    match dtype {
        DType::I64 => i64::MIN,
        DType::I32 => i32::MIN as i64,
        DType::I16 => i16::MIN as i64,
        DType::I8 => i8::MIN as i64,
        DType::I4 => -8,
        _ => 0,
    }
}

/// ONNX `AveragePool` (opset 19, as ONNX Runtime computes it): the `f32` sum of the window's
/// input elements (window row, then column) divided by
/// - without `count_include_pad`: the number of input elements in the window;
/// - with `count_include_pad`: the number of window positions inside the padded input
///   `[-pad_begin, in + pad_end)` (positions beyond the end padding, which `ceil_mode` can
///   create, are not counted).
///
/// A window with a zero divisor gives 0.
pub(crate) fn average_pool(inputs: &[&TensorData], a: &PoolAttrs) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let dtype = float_dtype(&[x])?;
    let g = geometry(x, a)?;
    let v = f32_elems(x)?;
    let (padded_h, padded_w) = (g.h + a.pads[0] + a.pads[2], g.w + a.pads[1] + a.pads[3]);
    let mut y = Vec::with_capacity(g.nc * g.oh * g.ow);
    for p in 0..g.nc {
        for oh in 0..g.oh {
            for ow in 0..g.ow {
                let (mut sum, mut count) = (0.0f32, 0usize);
                for ph in window(oh, a.kernel[0], a.strides[0], a.dilations[0]) {
                    let ih = ph.checked_sub(a.pads[0]).filter(|&i| i < g.h);
                    for pw in window(ow, a.kernel[1], a.strides[1], a.dilations[1]) {
                        let iw = pw.checked_sub(a.pads[1]).filter(|&i| i < g.w);
                        if let (Some(ih), Some(iw)) = (ih, iw) {
                            sum += v[(p * g.h + ih) * g.w + iw];
                            count += 1;
                        } else if a.count_include_pad && ph < padded_h && pw < padded_w {
                            count += 1;
                        }
                    }
                }
                y.push(if count == 0 { 0.0 } else { sum / count as f32 });
            }
        }
    }
    float_tensor(dtype, vec![x.shape()[0], x.shape()[1], g.oh, g.ow], y)
}

/// ONNX `GlobalAveragePool`: `[N, C, d1, …] → [N, C, 1, …]`, the mean of each channel's
/// spatial elements (`f32` sum in row-major order, divided by their count).
pub(crate) fn global_average_pool(inputs: &[&TensorData]) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let dtype = float_dtype(&[x])?;
    let s = x.shape();
    if s.len() < 3 {
        return Err(OpErrorKind::invalid(format!("input must have rank >= 3, got shape {s:?}")));
    }
    let plane: usize = s[2..].iter().product();
    let v = f32_elems(x)?;
    let y = (0..s[0] * s[1])
        .map(|p| v[p * plane..(p + 1) * plane].iter().fold(0.0f32, |acc, &e| acc + e) / plane as f32)
        .collect();
    let out_shape = s.iter().enumerate().map(|(i, &d)| if i < 2 { d } else { 1 }).collect();
    float_tensor(dtype, out_shape, y)
}

#[cfg(test)]
mod tests {
    use int8xc_ir::Op;

    use super::*;
    use crate::ops::test_util::*;

    /// `(i * 7) % 11 - 5`, shape [1, 2, 5, 6]; expected values from ONNX Runtime 1.31 (which
    /// agrees with the ONNX reference implementation on all of them).
    fn input() -> TensorData {
        f(&[1, 2, 5, 6], &(0..60).map(|i| ((i * 7) % 11) as f32 - 5.0).collect::<Vec<_>>())
    }

    fn pool(
        kernel: [usize; 2],
        strides: [usize; 2],
        pads: [usize; 4],
        dilations: [usize; 2],
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> PoolAttrs {
        PoolAttrs { kernel, strides, pads, dilations, ceil_mode, count_include_pad }
    }

    #[test]
    fn out_dim_ceil_mode_drops_windows_starting_in_end_padding() {
        assert_eq!(pool_out_dim(5, (0, 0), 2, 2, 1, false).unwrap(), 2);
        assert_eq!(pool_out_dim(5, (0, 0), 2, 2, 1, true).unwrap(), 3);
        // in 4, pads 1+1, k 2, s 2: ceil((6-2)/2)+1 = 3, last window starts at 4 >= 4+1? no -> 3
        assert_eq!(pool_out_dim(4, (1, 1), 2, 2, 1, true).unwrap(), 3);
        // in 2, pads 0+1, k 1, s 2: ceil(2/2)+1 = 2, last window starts at 2 >= 2 -> 1
        assert_eq!(pool_out_dim(2, (0, 1), 1, 2, 1, true).unwrap(), 1);
        assert!(pool_out_dim(2, (0, 0), 3, 1, 1, false).is_err());
        assert!(pool_out_dim(2, (0, 0), 1, 0, 1, false).is_err());
    }

    #[test]
    fn max_pool_matches_onnx_runtime() {
        let x = input();
        let y = run_ok(&Op::MaxPool(pool([2, 3], [2, 2], [1, 0, 0, 1], [1, 2], true, false)), &[&x]);
        #[rustfmt::skip]
        let want = [1.0, 1.0, 5.0, 5.0, 4.0, 4.0, 2.0, 2.0, 5.0, 0.0, 5.0, 5.0]
;
        assert_close(&y, &[1, 2, 3, 2], &want, 1e-6);
        let y = run_ok(&Op::MaxPool(pool([3, 3], [2, 2], [1, 1, 1, 1], [1, 1], false, false)), &[&x]);
        #[rustfmt::skip]
        let want = [4.0, 5.0, 5.0, 4.0, 5.0, 4.0, 5.0, 5.0, 4.0, 5.0, 4.0, 4.0, 5.0, 4.0, 5.0, 1.0, 4.0, 5.0]
;
        assert_close(&y, &[1, 2, 3, 3], &want, 1e-6);
    }

    #[test]
    fn max_pool_padding_is_negative_infinity() {
        let x = f(&[1, 1, 2, 2], &[-5., -6., -7., -8.]);
        let y = run_ok(&Op::MaxPool(pool([2, 2], [1, 1], [1, 1, 1, 1], [1, 1], false, false)), &[&x]);
        assert_close(&y, &[1, 1, 3, 3], &[-5., -5., -6., -5., -5., -6., -7., -7., -8.], 0.0);
    }

    #[test]
    fn max_pool_on_integers() {
        let x = t(&[1, 1, 2, 2], Data::I8(vec![-5, -6, -7, -128]));
        let y = run_ok(&Op::MaxPool(pool([2, 2], [1, 1], [1, 1, 1, 1], [1, 1], false, false)), &[&x]);
        assert_eq!(y.data(), &Data::I8(vec![-5, -5, -6, -5, -5, -6, -7, -7, -128]));
        let u = t(&[1, 1, 2, 2], Data::U8(vec![1, 200, 3, 4]));
        let y = run_ok(&Op::MaxPool(pool([2, 2], [2, 2], [0; 4], [1, 1], false, false)), &[&u]);
        assert_eq!(y.data(), &Data::U8(vec![200]));
    }

    fn argmax_pool(op: &Op, x: &TensorData) -> (TensorData, Vec<i64>) {
        let mut out = crate::Interpreter.eval_op(op, &[x], &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.len(), 2);
        let idx = out.pop().unwrap();
        assert_eq!(idx.shape(), out[0].shape());
        (out.remove(0), idx.as_i64().expect("i64 indices").to_vec())
    }

    #[test]
    fn max_pool_indices_match_the_onnx_examples() {
        // ONNX MaxPool examples maxpool_with_argmax_2d_precomputed_{strides,pads}: x = 1..=25
        let x = f(&[1, 1, 5, 5], &(1..=25).map(|v| v as f32).collect::<Vec<_>>());
        let op = |pool, column_major| Op::MaxPoolWithIndices { pool, column_major };
        let (y, idx) = argmax_pool(&op(pool([2, 2], [2, 2], [0; 4], [1, 1], false, false), true), &x);
        assert_close(&y, &[1, 1, 2, 2], &[7., 9., 17., 19.], 0.0);
        assert_eq!(idx, [6, 16, 8, 18]);
        let (_, idx) = argmax_pool(&op(pool([2, 2], [2, 2], [0; 4], [1, 1], false, false), false), &x);
        assert_eq!(idx, [6, 8, 16, 18]);
        let (y, idx) = argmax_pool(&op(pool([5, 5], [1, 1], [2; 4], [1, 1], false, false), false), &x);
        assert_eq!(y.as_f32().unwrap()[..5], [13., 14., 15., 15., 15.]);
        assert_eq!(idx[..5], [12, 13, 14, 14, 14]);
        assert_eq!(idx[20..], [22, 23, 24, 24, 24]);
    }

    #[test]
    fn max_pool_indices_count_planes_ties_nan_and_empty_windows() {
        // two planes: indices include the plane offset; ties keep the first element
        let x = f(&[1, 2, 2, 2], &[1., 1., 0., 1., 3., 2., 3., 3.]);
        let a = pool([2, 2], [1, 1], [0; 4], [1, 1], false, false);
        let (_, idx) = argmax_pool(&Op::MaxPoolWithIndices { pool: a.clone(), column_major: false }, &x);
        assert_eq!(idx, [0, 4]);
        let (_, idx) = argmax_pool(&Op::MaxPoolWithIndices { pool: a.clone(), column_major: true }, &x);
        assert_eq!(idx, [0, 4]);
        // a NaN as the first element stays (ONNX reference), unlike MaxPool's -inf start
        let x = f(&[1, 1, 1, 2], &[f32::NAN, 1.]);
        let (y, idx) = argmax_pool(
            &Op::MaxPoolWithIndices { pool: pool([1, 2], [1, 1], [0; 4], [1, 1], false, false), column_major: false },
            &x,
        );
        assert!(y.as_f32().unwrap()[0].is_nan());
        assert_eq!(idx, [0]);
        // an i8 window holding only the dtype's lowest value picks its first element; with
        // dilation 2 over one column padded 1+1, the window holds only padding
        let x = t(&[1, 1, 1, 2], Data::I8(vec![-128, -128]));
        let a = pool([1, 2], [1, 1], [0; 4], [1, 1], false, false);
        let (y, idx) = argmax_pool(&Op::MaxPoolWithIndices { pool: a, column_major: false }, &x);
        assert_eq!((y.data(), idx.as_slice()), (&Data::I8(vec![-128]), &[0][..]));
        let x = t(&[1, 1, 1, 1], Data::I8(vec![5]));
        let a = pool([1, 2], [1, 1], [0, 1, 0, 1], [1, 2], false, false);
        let (y, idx) = argmax_pool(&Op::MaxPoolWithIndices { pool: a, column_major: false }, &x);
        assert_eq!((y.data(), idx.as_slice()), (&Data::I8(vec![-128]), &[-1][..]));
    }

    #[test]
    fn average_pool_count_include_pad_both_ways() {
        let x = input();
        let y = run_ok(&Op::AveragePool(pool([3, 2], [1, 2], [1, 1, 2, 1], [1, 1], false, true)), &[&x]);
        #[rustfmt::skip]
        let want = [-0.16666667, -0.6666667, 1.3333334, -1.3333334, 0.16666667, -0.16666667, 1.0, -0.6666667, 1.0, -0.33333334, -1.0, 0.16666667, 0.0, 1.3333334, -1.1666666, 1.0, -0.33333334, 0.8333333, -0.8333333, 0.33333334, -0.33333334, 1.0, 0.16666667, 0.0, 0.16666667, 0.0, 0.16666667, -1.0, 0.6666667, -1.0, 0.16666667, -0.16666667, 1.5, -1.1666666, 0.0, 0.6666667, 0.5, -1.3333334, -0.16666667, 1.5, 0.0, -0.33333334, -0.16666667, 0.6666667, -0.16666667, -0.5, 0.5, 0.16666667]
;
        assert_close(&y, &[1, 2, 6, 4], &want, 1e-6);
        let y = run_ok(&Op::AveragePool(pool([3, 2], [1, 2], [1, 1, 2, 1], [1, 1], false, false)), &[&x]);
        #[rustfmt::skip]
        let want = [-0.5, -1.0, 2.0, -4.0, 0.33333334, -0.16666667, 1.0, -1.3333334, 2.0, -0.33333334, -1.0, 0.33333334, 0.0, 1.3333334, -1.1666666, 2.0, -1.0, 1.25, -1.25, 1.0, -2.0, 3.0, 0.5, 0.0, 0.5, 0.0, 0.25, -3.0, 1.3333334, -1.0, 0.16666667, -0.33333334, 3.0, -1.1666666, 0.0, 1.3333334, 1.0, -1.3333334, -0.16666667, 3.0, 0.0, -0.5, -0.25, 2.0, -1.0, -1.5, 1.5, 1.0]
;
        assert_close(&y, &[1, 2, 6, 4], &want, 1e-6);
    }

    #[test]
    fn average_pool_ceil_mode_windows() {
        let x = input();
        let y = run_ok(&Op::AveragePool(pool([3, 3], [2, 2], [1, 1, 0, 0], [1, 1], true, true)), &[&x]);
        #[rustfmt::skip]
        let want = [0.11111111, 0.44444445, 0.0, 0.0, 0.11111111, -0.5555556, -0.16666667, 0.16666667, -0.5, 0.5555556, -0.11111111, -0.5555556, 0.6666667, -0.11111111, 0.44444445, -1.3333334, -0.6666667, 0.5]
;
        assert_close(&y, &[1, 2, 3, 3], &want, 1e-6);
        let y = run_ok(&Op::AveragePool(pool([3, 3], [2, 2], [1, 1, 0, 0], [1, 1], true, false)), &[&x]);
        #[rustfmt::skip]
        let want = [0.25, 0.6666667, 0.0, 0.0, 0.11111111, -0.5555556, -0.25, 0.16666667, -0.5, 1.25, -0.16666667, -0.8333333, 1.0, -0.11111111, 0.44444445, -2.0, -0.6666667, 0.5]
;
        assert_close(&y, &[1, 2, 3, 3], &want, 1e-6);
    }

    #[test]
    fn global_average_pool_means_each_channel() {
        let y = run_ok(&Op::GlobalAveragePool, &[&input()]);
        assert_close(&y, &[1, 2, 1, 1], &[0.06666667, -0.033333335], 1e-6);
        assert!(run_err(&Op::GlobalAveragePool, &[&f(&[2, 2], &[0.; 4])]).contains("rank >= 3"));
    }

    #[test]
    fn pools_reject_bad_inputs() {
        let x = f(&[1, 1, 2, 2], &[0.; 4]);
        let e = run_err(&Op::MaxPool(pool([3, 3], [1, 1], [0; 4], [1, 1], false, false)), &[&x]);
        assert!(e.contains("does not fit"), "{e}");
        let e = run_err(&Op::AveragePool(pool([1, 1], [1, 1], [0; 4], [1, 1], false, false)), &[&f(&[4], &[0.; 4])]);
        assert!(e.contains("rank 4"), "{e}");
        let b = t(&[1, 1, 1, 1], Data::Bool(vec![true]));
        assert!(
            run_err(&Op::MaxPool(pool([1, 1], [1, 1], [0; 4], [1, 1], false, false)), &[&b]).contains("unsupported")
        );
        let i8x = t(&[1, 1, 1, 1], Data::I8(vec![1]));
        assert!(run_err(&Op::AveragePool(pool([1, 1], [1, 1], [0; 4], [1, 1], false, false)), &[&i8x])
            .contains("unsupported"));
    }
}
