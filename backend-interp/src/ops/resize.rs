//! `Resize` (ONNX opset 11–19, modes `nearest`, `linear` and `cubic`), N-D, matching the
//! ONNX reference implementation (`onnx/reference/ops/op_resize.py`).
//!
//! Interpolation is separable: the axes are resized one after another. The coordinate and
//! filter arithmetic lives in [`int8xc_ir::resize`] (shared with the JIT): along one axis,
//! output position `x` maps to a source coordinate `x_ori` by the
//! [`CoordTransform`](int8xc_ir::CoordTransform), then
//!
//! - `Nearest` (except with `tf_crop_and_resize`) selects one input element by the
//!   [`NearestMode`](int8xc_ir::NearestMode), clamped to the input; it is pure selection, so
//!   it works on every dtype.
//! - Every other case blends the taps of [`resize::filter_taps`] in `f64`
//!   (`Σ_j w_j * in[i_j]`, summed in tap order): 2 taps for `linear`, 4 for `cubic`
//!   (`cubic_coeff_a`, `exclude_outside`), a window widened by `1 / scale` with `antialias`,
//!   and the extrapolation value for `tf_crop_and_resize` positions outside the input. The
//!   value stays `f64` across axes; `f32`/`f16` results are rounded from it once, integer
//!   results rounded half to even and saturated to the dtype's range, as the reference's
//!   `saturate_cast` does (ONNX Runtime rounds `u8` differently).
//!
//! An axis whose scale is within 1e-9 of 1, whose size does not change and whose crop is the
//! whole axis is left as it is (the reference skips it).

use half::f16;
use int8xc_ir::resize::{self, AxisMap};
use int8xc_ir::{CoordTransform, DType, Data, ResizeAttrs, ResizeMode, TensorData};

use super::{check_arity, check_output_size, map_indices, take, tensor, OpResult};
use crate::error::OpErrorKind;

/// ONNX `Resize` to `a.sizes`; see the module docs for the exact arithmetic.
///
/// Errors: `scales`/`sizes` not one per input dim, a scale not finite and > 0, a non-empty
/// output from an empty input axis, an output over the IR's element limit, `bool` input
/// outside plain nearest mode, an absurdly wide antialias filter (see
/// [`resize::filter_taps`]).
pub(crate) fn resize(inputs: &[&TensorData], a: &ResizeAttrs) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let shape = x.shape();
    let rank = shape.len();
    if a.scales.len() != rank || a.sizes.len() != rank {
        return Err(OpErrorKind::invalid(format!(
            "scales {:?} and sizes {:?} must have one entry per dim of {shape:?}",
            a.scales, a.sizes
        )));
    }
    if let Some(s) = a.scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(OpErrorKind::invalid(format!("scale {s:?} must be finite and > 0")));
    }
    if check_output_size(&a.sizes)? == 0 {
        return tensor(a.sizes.clone(), take(x, &[])?);
    }
    if let Some(ax) = (0..rank).find(|&ax| shape[ax] == 0 && a.sizes[ax] > 0) {
        return Err(OpErrorKind::invalid(format!("cannot resize empty axis {ax} to {}", a.sizes[ax])));
    }
    if a.mode == ResizeMode::Nearest && a.coord != CoordTransform::TfCropAndResize {
        resize_nearest(x, a)
    } else {
        resize_filter(x, a)
    }
}

fn resize_nearest(x: &TensorData, a: &ResizeAttrs) -> OpResult<TensorData> {
    let shape = x.shape();
    let taps: Vec<Vec<usize>> = (0..shape.len())
        .map(|ax| {
            let map = AxisMap::new(a, ax, shape[ax]);
            if map.is_identity() {
                (0..shape[ax]).collect()
            } else {
                resize::nearest_taps(&map, a.nearest)
            }
        })
        .collect();
    let strides = int8xc_ir::strides(shape);
    let idx = map_indices(&a.sizes, |o| o.iter().enumerate().map(|(ax, &i)| taps[ax][i] * strides[ax]).sum());
    tensor(a.sizes.clone(), take(x, &idx)?)
}

fn resize_filter(x: &TensorData, a: &ResizeAttrs) -> OpResult<TensorData> {
    let dtype = x.dtype();
    let mut cur: Vec<f64> = match x.data() {
        Data::F32(v) => v.iter().map(|&e| f64::from(e)).collect(),
        Data::F16(v) => v.iter().map(|e| f64::from(e.to_f32())).collect(),
        Data::Bool(_) => return Err(OpErrorKind::unsupported(format!("{:?} resize of bool", a.mode))),
        _ => x.to_i64_vec().unwrap_or_default().into_iter().map(|e| e as f64).collect(),
    };
    let extrapolated = f64::from(a.extrapolation_value);
    let mut shape = x.shape().to_vec();
    for ax in 0..shape.len() {
        let (in_len, out_len) = (shape[ax], a.sizes[ax]);
        let map = AxisMap::new(a, ax, in_len);
        if map.is_identity() {
            continue;
        }
        let taps = resize::filter_taps(a, &map).ok_or_else(|| {
            OpErrorKind::unsupported(format!(
                "the {:?} filter of scale {} on axis {ax} (length {in_len}) is too wide",
                a.mode, map.scale
            ))
        })?;
        let width = taps.width;
        let outer: usize = shape[..ax].iter().product();
        let inner: usize = shape[ax + 1..].iter().product();
        let mut next = Vec::with_capacity(outer * out_len * inner);
        for o in 0..outer {
            let plane = &cur[o * in_len * inner..(o + 1) * in_len * inner];
            for (pos, &outside) in taps.outside.iter().enumerate() {
                if outside {
                    next.extend(std::iter::repeat_n(extrapolated, inner));
                    continue;
                }
                let index = &taps.index[pos * width..(pos + 1) * width];
                let weight = &taps.weight[pos * width..(pos + 1) * width];
                for i in 0..inner {
                    let mut acc = weight[0] * plane[index[0] * inner + i];
                    for (&w, &k) in weight.iter().zip(index).skip(1) {
                        acc += w * plane[k * inner + i];
                    }
                    next.push(acc);
                }
            }
        }
        cur = next;
        shape[ax] = out_len;
    }
    let data = match dtype {
        DType::F32 => Data::F32(cur.iter().map(|&v| v as f32).collect()),
        DType::F16 => Data::F16(cur.iter().map(|&v| f16::from_f64(v)).collect()),
        _ => {
            let (lo, hi) = int_range(dtype);
            let v: Vec<i64> = cur.iter().map(|&v| v.round_ties_even().clamp(lo, hi) as i64).collect();
            super::int_data(dtype, &v)
        }
    };
    tensor(shape, data)
}

/// The value range of an integer dtype, as `f64`.
fn int_range(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::I32 => (i32::MIN as f64, i32::MAX as f64),
        DType::I16 => (i16::MIN as f64, i16::MAX as f64),
        DType::I8 => (-128.0, 127.0),
        DType::U8 => (0.0, 255.0),
        DType::I4 => (-8.0, 7.0),
        DType::U4 => (0.0, 15.0),
        _ => (i64::MIN as f64, i64::MAX as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::test_util::*;
    use int8xc_ir::{Data, NearestMode, Op};

    // Expected values: the ONNX reference implementation (onnx 1.20 `ReferenceEvaluator`),
    // which ONNX Runtime 1.31 matches on every f32 case here. Cases built from `sizes` pass
    // scales = f32(out / in), as the importer does.

    fn op(mode: ResizeMode, coord: CoordTransform, nearest: NearestMode, scales: &[f32], sizes: &[usize]) -> Op {
        Op::Resize(ResizeAttrs {
            mode,
            coord,
            nearest,
            scales: scales.to_vec(),
            sizes: sizes.to_vec(),
            ..ResizeAttrs::default()
        })
    }

    fn x22() -> TensorData {
        f(&[1, 1, 2, 2], &[1., 2., 3., 4.])
    }

    fn x44() -> TensorData {
        f(&[1, 1, 4, 4], &(1..17).map(|v| v as f32).collect::<Vec<_>>())
    }

    fn x5() -> TensorData {
        f(&[1, 5], &[0., 1., 2., 3., 4.])
    }

    #[test]
    fn nearest_up_asym_floor() {
        let y = run_ok(
            &op(
                ResizeMode::Nearest,
                CoordTransform::Asymmetric,
                NearestMode::Floor,
                &[1.0, 1.0, 2.0, 3.0],
                &[1, 1, 4, 6],
            ),
            &[&x22()],
        );
        #[rustfmt::skip]
        let want = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 4.0, 4.0, 3.0, 3.0, 3.0, 4.0, 4.0, 4.0];
        assert_close(&y, &[1, 1, 4, 6], &want, 1e-6);
    }

    #[test]
    fn linear_up_half_pixel() {
        let y = run_ok(
            &op(
                ResizeMode::Linear,
                CoordTransform::HalfPixel,
                NearestMode::RoundPreferFloor,
                &[1.0, 1.0, 2.0, 2.0],
                &[1, 1, 4, 4],
            ),
            &[&x22()],
        );
        #[rustfmt::skip]
        let want = [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0];
        assert_close(&y, &[1, 1, 4, 4], &want, 1e-6);
    }

    #[test]
    fn linear_up_align() {
        let y = run_ok(
            &op(
                ResizeMode::Linear,
                CoordTransform::AlignCorners,
                NearestMode::RoundPreferFloor,
                &[1.0, 1.0, 1.5, 2.5],
                &[1, 1, 3, 5],
            ),
            &[&x22()],
        );
        #[rustfmt::skip]
        let want = [1.0, 1.25, 1.5, 1.75, 2.0, 2.0, 2.25, 2.5, 2.75, 3.0, 3.0, 3.25, 3.5, 3.75, 4.0];
        assert_close(&y, &[1, 1, 3, 5], &want, 1e-6);
    }

    #[test]
    fn nearest_down_half_ceil() {
        let y = run_ok(
            &op(
                ResizeMode::Nearest,
                CoordTransform::HalfPixel,
                NearestMode::RoundPreferCeil,
                &[1.0, 1.0, 0.6, 0.6],
                &[1, 1, 2, 2],
            ),
            &[&x44()],
        );
        #[rustfmt::skip]
        let want = [1.0, 3.0, 9.0, 11.0];
        assert_close(&y, &[1, 1, 2, 2], &want, 1e-6);
    }

    #[test]
    fn linear_down_pytorch() {
        let y = run_ok(
            &op(
                ResizeMode::Linear,
                CoordTransform::PytorchHalfPixel,
                NearestMode::RoundPreferFloor,
                &[1.0, 1.0, 0.75, 0.25],
                &[1, 1, 3, 1],
            ),
            &[&x44()],
        );
        #[rustfmt::skip]
        let want = [1.6666666, 7.0, 12.333333];
        assert_close(&y, &[1, 1, 3, 1], &want, 1e-6);
    }

    #[test]
    fn linear_sym() {
        let y = run_ok(
            &op(
                ResizeMode::Linear,
                CoordTransform::HalfPixelSymmetric,
                NearestMode::RoundPreferFloor,
                &[1.0, 1.0, 1.7, 0.8],
                &[1, 1, 6, 3],
            ),
            &[&x44()],
        );
        #[rustfmt::skip]
        let want = [1.3676473, 2.6176472, 3.8676472, 3.7205884, 4.970588, 6.220588, 6.0735292, 7.3235292, 8.573529, 8.426471, 9.676471, 10.926471, 10.779411, 12.029411, 13.279411, 13.132353, 14.382353, 15.632353];
        assert_close(&y, &[1, 1, 6, 3], &want, 1e-6);
    }

    #[test]
    fn linear_asym_sizes() {
        let y = run_ok(
            &op(
                ResizeMode::Linear,
                CoordTransform::Asymmetric,
                NearestMode::RoundPreferFloor,
                &[1.0, 1.0, 1.75, 0.75],
                &[1, 1, 7, 3],
            ),
            &[&x44()],
        );
        #[rustfmt::skip]
        let want = [1.0, 2.3333333, 3.6666667, 3.2857144, 4.6190476, 5.952381, 5.571429, 6.904762, 8.238095, 7.857143, 9.190476, 10.523809, 10.142858, 11.476191, 12.809524, 12.428572, 13.761905, 15.095238, 13.0, 14.333333, 15.666667];
        assert_close(&y, &[1, 1, 7, 3], &want, 1e-6);
    }

    #[test]
    fn nearest_round_prefer_floor() {
        let y = run_ok(
            &op(ResizeMode::Nearest, CoordTransform::AlignCorners, NearestMode::RoundPreferFloor, &[1.0, 1.8], &[1, 9]),
            &[&x5()],
        );
        #[rustfmt::skip]
        let want = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0];
        assert_close(&y, &[1, 9], &want, 1e-6);
    }

    #[test]
    fn nearest_hp_round_prefer_floor() {
        let y = run_ok(
            &op(ResizeMode::Nearest, CoordTransform::HalfPixel, NearestMode::RoundPreferFloor, &[1.0, 1.6], &[1, 8]),
            &[&x5()],
        );
        #[rustfmt::skip]
        let want = [0.0, 0.0, 1.0, 2.0, 2.0, 3.0, 4.0, 4.0];
        assert_close(&y, &[1, 8], &want, 1e-6);
    }

    #[test]
    fn nearest_round_prefer_ceil() {
        let y = run_ok(
            &op(ResizeMode::Nearest, CoordTransform::AlignCorners, NearestMode::RoundPreferCeil, &[1.0, 1.8], &[1, 9]),
            &[&x5()],
        );
        #[rustfmt::skip]
        let want = [0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0];
        assert_close(&y, &[1, 9], &want, 1e-6);
    }

    #[test]
    fn nearest_hp_round_prefer_ceil() {
        let y = run_ok(
            &op(ResizeMode::Nearest, CoordTransform::HalfPixel, NearestMode::RoundPreferCeil, &[1.0, 1.6], &[1, 8]),
            &[&x5()],
        );
        #[rustfmt::skip]
        let want = [0.0, 0.0, 1.0, 2.0, 2.0, 3.0, 4.0, 4.0];
        assert_close(&y, &[1, 8], &want, 1e-6);
    }

    #[test]
    fn nearest_floor() {
        let y = run_ok(
            &op(ResizeMode::Nearest, CoordTransform::AlignCorners, NearestMode::Floor, &[1.0, 1.8], &[1, 9]),
            &[&x5()],
        );
        #[rustfmt::skip]
        let want = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0];
        assert_close(&y, &[1, 9], &want, 1e-6);
    }

    #[test]
    fn nearest_hp_floor() {
        let y = run_ok(
            &op(ResizeMode::Nearest, CoordTransform::HalfPixel, NearestMode::Floor, &[1.0, 1.6], &[1, 8]),
            &[&x5()],
        );
        #[rustfmt::skip]
        let want = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 4.0];
        assert_close(&y, &[1, 8], &want, 1e-6);
    }

    #[test]
    fn nearest_ceil() {
        let y = run_ok(
            &op(ResizeMode::Nearest, CoordTransform::AlignCorners, NearestMode::Ceil, &[1.0, 1.8], &[1, 9]),
            &[&x5()],
        );
        #[rustfmt::skip]
        let want = [0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0];
        assert_close(&y, &[1, 9], &want, 1e-6);
    }

    #[test]
    fn nearest_hp_ceil() {
        let y = run_ok(
            &op(ResizeMode::Nearest, CoordTransform::HalfPixel, NearestMode::Ceil, &[1.0, 1.6], &[1, 8]),
            &[&x5()],
        );
        #[rustfmt::skip]
        let want = [0.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0];
        assert_close(&y, &[1, 8], &want, 1e-6);
    }

    #[test]
    fn linear_u8_rounds_half_to_even_like_the_reference() {
        let x = t(&[1, 1, 2, 2], Data::U8(vec![0, 255, 100, 3]));
        let y = run_ok(
            &op(ResizeMode::Linear, CoordTransform::HalfPixel, NearestMode::Floor, &[1., 1., 2., 2.], &[1, 1, 4, 4]),
            &[&x],
        );
        assert_eq!(y.data(), &Data::U8(vec![0, 64, 191, 255, 25, 67, 150, 192, 75, 73, 68, 66, 100, 76, 27, 3]));
    }

    #[test]
    fn nearest_works_on_any_dtype() {
        let x = t(&[1, 1, 2, 2], Data::U8(vec![0, 255, 100, 3]));
        let y = run_ok(
            &op(ResizeMode::Nearest, CoordTransform::Asymmetric, NearestMode::Floor, &[1., 1., 1.5, 2.], &[1, 1, 3, 4]),
            &[&x],
        );
        assert_eq!(y.data(), &Data::U8(vec![0, 0, 255, 255, 0, 0, 255, 255, 100, 100, 3, 3]));
        let b = t(&[2], Data::Bool(vec![true, false]));
        let y = run_ok(&op(ResizeMode::Nearest, CoordTransform::Asymmetric, NearestMode::Floor, &[2.], &[4]), &[&b]);
        assert_eq!(y.data(), &Data::Bool(vec![true, true, false, false]));
    }

    #[test]
    fn resize_rejects_bad_attrs() {
        let e =
            run_err(&op(ResizeMode::Nearest, CoordTransform::Asymmetric, NearestMode::Floor, &[2.], &[4]), &[&x22()]);
        assert!(e.contains("one entry per dim"), "{e}");
        let e = run_err(
            &op(ResizeMode::Linear, CoordTransform::Asymmetric, NearestMode::Floor, &[1., 1., 0., 1.], &[1, 1, 0, 2]),
            &[&x22()],
        );
        assert!(e.contains("must be finite and > 0"), "{e}");
        let empty = f(&[0, 2], &[]);
        let e = run_err(
            &op(ResizeMode::Linear, CoordTransform::Asymmetric, NearestMode::Floor, &[2., 1.], &[1, 2]),
            &[&empty],
        );
        assert!(e.contains("empty axis 0"), "{e}");
    }
}
