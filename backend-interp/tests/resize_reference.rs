//! Resize's filter modes (`cubic`, `cubic_coeff_a`, `exclude_outside`, `antialias`,
//! `tf_crop_and_resize`) against the ONNX reference implementation. The expected values are
//! printed by `fixtures/resize_reference.py` (onnx 1.20 `ReferenceEvaluator`, Resize-19) on
//! the same inputs; float results agree to rounding of the reference's numpy summation
//! order, integer results exactly.

use int8xc_interp::Interpreter;
use int8xc_ir::{CoordTransform, Data, Op, ResizeAttrs, ResizeMode, TensorData};

/// The fixture's input: `x[i] = ((7 * i) % 11) - 5 + 0.25 * (i % 4)` over the flat index.
fn input(shape: &[usize]) -> TensorData {
    let n: usize = shape.iter().product();
    let v = (0..n).map(|i| ((7 * i) % 11) as f32 - 5.0 + 0.25 * (i % 4) as f32).collect();
    TensorData::from_f32(shape.to_vec(), v).unwrap()
}

/// How the importer resolves the model's `scales` or `sizes` input.
enum Given<'a> {
    Scales(&'a [f32]),
    Sizes(&'a [usize]),
}

fn attrs(base: ResizeAttrs, shape: &[usize], given: Given) -> ResizeAttrs {
    let (scales, sizes) = match given {
        Given::Scales(s) => (s.to_vec(), shape.iter().zip(s).map(|(&d, &s)| (d as f32 * s).floor() as usize).collect()),
        Given::Sizes(o) => (shape.iter().zip(o).map(|(&d, &o)| o as f32 / d as f32).collect(), o.to_vec()),
    };
    ResizeAttrs { scales, sizes, ..base }
}

fn run(a: ResizeAttrs, x: &TensorData) -> TensorData {
    let mut out = Interpreter.eval_op(&Op::Resize(a), &[x], &[]).unwrap_or_else(|e| panic!("{e}"));
    out.remove(0)
}

fn assert_matches_reference(a: ResizeAttrs, shape: &[usize], want_shape: &[usize], want: &[f32]) {
    let y = run(a.clone(), &input(shape));
    assert_eq!(y.shape(), want_shape, "{a:?}");
    for (k, (g, w)) in y.as_f32().unwrap().iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 2e-6 * w.abs().max(1.0), "{a:?}: element {k}: {g} vs {w}");
    }
}

fn cubic() -> ResizeAttrs {
    ResizeAttrs { mode: ResizeMode::Cubic, ..ResizeAttrs::default() }
}

#[test]
fn cubic_half_pixel_upsampling() {
    #[rustfmt::skip]
    let want = [-6.3628635, -0.9674072, 2.6566868, -2.012155, 1.6119385, 7.007395, -3.8442805, -1.1976318, 1.0780684, -0.17694473, 2.3323975, 5.2059755, 0.377862, -1.5958252, -1.5887167, 2.885837, 3.593872, 2.3009722, 0.7098934, -1.263794, -1.1932782, 3.534912, 2.0997314, -1.3363856, -3.0356865, -0.3890381, 2.0410776, 1.4037443, -1.3062744, -3.6520605, -5.2573943, 0.13806152, 3.9732645, 0.14888349, -3.362671, -5.1028666];
    let a = attrs(cubic(), &[1, 3, 4], Given::Scales(&[1.0, 2.0, 1.5]));
    assert_matches_reference(a, &[1, 3, 4], &[1, 6, 6], &want);
}

#[test]
fn cubic_a_minus_half_excluding_outside_taps_downsampling() {
    #[rustfmt::skip]
    let want = [-2.6829867, -1.3278184, 2.4272916, -0.93153936, 1.2480476, 2.019159, -0.670056, 4.167969, -0.4081022, 1.9547836, -3.7840192, -0.6296395];
    let base = ResizeAttrs { cubic_coeff_a: -0.5, exclude_outside: true, ..cubic() };
    let a = attrs(base, &[1, 5, 5], Given::Scales(&[1.0, 0.8, 0.6]));
    assert_matches_reference(a, &[1, 5, 5], &[1, 4, 3], &want);
}

#[test]
fn cubic_align_corners_and_asymmetric() {
    #[rustfmt::skip]
    let want = [-5.0, 0.3842606, 1.8750006, -1.5, 0.4921875, 1.6906829, 0.62586856, -2.0078125, 5.75, 2.9120357, -0.70833296, -2.75, 6.1328125, 2.922163, -1.1773721, -3.4921875, 4.5, 2.4583325, -1.1620363, -4.0, 3.25, 1.0972216, -2.0972214, -4.25, 2.6484375, -0.051215973, -0.8631369, 0.7421875, 2.0, -1.3750008, 0.11573927, 5.5, 1.7578125, -2.0743642, -0.35735106, 5.7890625, 1.75, -2.310186, -1.2453716, 4.25];
    let base = ResizeAttrs { coord: CoordTransform::AlignCorners, ..cubic() };
    let a = attrs(base, &[2, 3, 3], Given::Sizes(&[2, 5, 4]));
    assert_matches_reference(a, &[2, 3, 3], &[2, 5, 4], &want);
    #[rustfmt::skip]
    let want = [-5.0, 0.049438477, 1.9101562, -1.5541992, 2.2187493, 5.774048, 2.3310554, 0.4781499, -3.875, 1.1744385, 3.2460938, 0.0014648438, -0.21875012, 1.0953368, 1.8857422, 2.26233, -2.75, 2.2994385, 4.5820312, 1.5571289, -2.6562495, -3.5833743, 1.440429, 4.04651, -2.5390625, 2.510376, 4.8325195, 1.8488159, -3.1132805, -4.4606323, 1.3569328, 4.381044];
    let base = ResizeAttrs { coord: CoordTransform::Asymmetric, ..cubic() };
    let a = attrs(base, &[1, 2, 5], Given::Scales(&[1.0, 2.0, 1.6]));
    assert_matches_reference(a, &[1, 2, 5], &[1, 4, 8], &want);
}

#[test]
fn antialias_stretches_linear_and_cubic_filters_when_downsampling() {
    #[rustfmt::skip]
    let want = [-0.3402778, 0.8905229, 0.20833333, 0.8611111, 0.6143791, -0.39583334];
    let base = ResizeAttrs { mode: ResizeMode::Linear, antialias: true, ..ResizeAttrs::default() };
    let a = attrs(base, &[1, 6, 7], Given::Sizes(&[1, 2, 3]));
    assert_matches_reference(a, &[1, 6, 7], &[1, 2, 3], &want);
    #[rustfmt::skip]
    let want = [-0.7043906, 1.0960116, -0.18472217, 0.3698536, 0.43779683, 0.15531448, 0.9800102, 0.6369891, -0.39042255];
    let a = attrs(ResizeAttrs { antialias: true, ..cubic() }, &[1, 6, 7], Given::Scales(&[1.0, 0.5, 0.45]));
    assert_matches_reference(a, &[1, 6, 7], &[1, 3, 3], &want);
}

#[test]
fn tf_crop_and_resize_extrapolates_outside_the_input() {
    #[rustfmt::skip]
    let want = [-7.5, -7.5, -7.5, -7.5, 3.4124997, -2.320833, -7.5, -7.5, -1.9849997, 1.0750004, -7.5, -7.5];
    let base = ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordTransform::TfCropAndResize,
        roi: vec![0.0, -0.2, 0.3, 1.0, 0.9, 1.4],
        extrapolation_value: -7.5,
        ..ResizeAttrs::default()
    };
    let a = attrs(base, &[1, 4, 5], Given::Sizes(&[1, 3, 4]));
    assert_matches_reference(a, &[1, 4, 5], &[1, 3, 4], &want);
    let want = [0.0, -5.0, -1.5, 5.75, 0.0, -0.5, 2.0, -1.75, 0.0, 0.0, 0.0, 0.0];
    let base = ResizeAttrs {
        coord: CoordTransform::TfCropAndResize,
        roi: vec![0.0, 0.1, -0.3, 1.0, 1.2, 0.8],
        ..ResizeAttrs::default()
    };
    let a = attrs(base, &[1, 4, 5], Given::Sizes(&[1, 3, 4]));
    assert_matches_reference(a, &[1, 4, 5], &[1, 3, 4], &want);
}

#[test]
fn cubic_on_u8_rounds_and_saturates_like_the_reference() {
    let x = TensorData::new(vec![1, 3, 4], Data::U8((0..12).map(|i| ((37 * i) % 256) as u8).collect())).unwrap();
    let a = attrs(cubic(), &[1, 3, 4], Given::Scales(&[1.0, 2.0, 1.5]));
    #[rustfmt::skip]
    let want = vec![0, 0, 29, 48, 94, 128, 34, 52, 83, 109, 100, 79, 123, 141, 175, 212, 109, 0, 136, 154, 188, 225, 123, 9, 66, 85, 116, 142, 132, 111, 25, 44, 73, 92, 138, 172];
    assert_eq!(run(a, &x).data(), &Data::U8(want));
}

#[test]
fn bool_input_is_unsupported_outside_plain_nearest() {
    let x = TensorData::new(vec![2], Data::Bool(vec![true, false])).unwrap();
    let a = attrs(cubic(), &[2], Given::Scales(&[2.0]));
    let e = Interpreter.eval_op(&Op::Resize(a), &[&x], &[]).unwrap_err().to_string();
    assert!(e.contains("Cubic resize of bool"), "{e}");
}
