use super::*;

// Expected weights: the ONNX reference (`op_resize._interpolate_1d_along_axis` on an
// identity matrix, onnx 1.20), i.e. each output position's weight per input index after
// edge clamping.

fn attrs(mode: ResizeMode, coord: CoordTransform) -> ResizeAttrs {
    ResizeAttrs { mode, coord, ..ResizeAttrs::default() }
}

fn map(coord: CoordTransform, scale: f64, in_len: usize, out_len: usize) -> AxisMap {
    AxisMap { coord, scale, in_len, out_len, roi: (0.0, 1.0) }
}

/// The taps as a dense `[out][in]` weight matrix (`None` rows for outside positions).
fn dense(t: &FilterTaps, in_len: usize) -> Vec<Option<Vec<f64>>> {
    (0..t.outside.len())
        .map(|x| {
            let mut row = vec![0.0; in_len];
            for j in 0..t.width {
                row[t.index[x * t.width + j]] += t.weight[x * t.width + j];
            }
            (!t.outside[x]).then_some(row)
        })
        .collect()
}

fn assert_rows(got: &[Option<Vec<f64>>], want: &[&[f64]]) {
    for (x, (g, w)) in got.iter().zip(want).enumerate() {
        let g = g.as_ref().unwrap_or_else(|| panic!("row {x} is outside"));
        for (a, b) in g.iter().zip(w.iter()) {
            assert!((a - b).abs() <= 1e-12, "row {x}: {g:?} vs {w:?}");
        }
    }
}

#[test]
fn align_corners_upsampling_hits_exact_half_way_points() {
    // 5 → 9 with align_corners: output 1 maps to input 0.5 exactly.
    let s = axis_scale(9.0 / 5.0, 5, 9);
    let m = map(CoordTransform::AlignCorners, s, 5, 9);
    assert_eq!(m.source(1), 0.5);
    let t = filter_taps(&attrs(ResizeMode::Linear, CoordTransform::AlignCorners), &m).unwrap();
    assert_eq!((t.width, &t.index[2..4], &t.weight[2..4]), (2, &[0, 1][..], &[0.5, 0.5][..]));
}

#[test]
fn nearest_modes_round_ties_as_named() {
    // Asymmetric downsampling by 2/3: x = 1 → 1.5.
    let m = map(CoordTransform::Asymmetric, 2.0 / 3.0, 3, 2);
    assert_eq!(nearest_taps(&m, NearestMode::RoundPreferFloor), vec![0, 1]);
    assert_eq!(nearest_taps(&m, NearestMode::RoundPreferCeil), vec![0, 2]);
    assert_eq!(nearest_taps(&m, NearestMode::Ceil), vec![0, 2]);
    assert_eq!(nearest_taps(&m, NearestMode::Floor), vec![0, 1]);
}

#[test]
fn indices_clamp_to_the_input() {
    assert_eq!(clamp_index(-0.5, 4), 0);
    assert_eq!(clamp_index(f64::NAN, 4), 0);
    assert_eq!(clamp_index(7.0, 4), 3);
}

#[test]
fn cubic_upsampling_reads_four_edge_clamped_taps() {
    let t =
        filter_taps(&attrs(ResizeMode::Cubic, CoordTransform::HalfPixel), &map(CoordTransform::HalfPixel, 2.0, 4, 8))
            .unwrap();
    assert_eq!(t.width, 4);
    // x = 0 → x_ori = -0.25: window [-2, 1] clamps to [0, 0, 0, 1].
    assert_eq!(&t.index[..4], &[0, 0, 0, 1]);
    assert_rows(
        &dense(&t, 4)[..2],
        &[&[1.10546875, -0.10546875, 0.0, 0.0], &[0.7734375, 0.26171875, -0.03515625, 0.0]],
    );
}

#[test]
fn exclude_outside_renormalizes_the_inside_weights() {
    let mut a = attrs(ResizeMode::Cubic, CoordTransform::HalfPixel);
    a.cubic_coeff_a = -0.5;
    a.exclude_outside = true;
    let t = filter_taps(&a, &map(CoordTransform::HalfPixel, 2.0, 4, 8)).unwrap();
    #[rustfmt::skip]
    assert_rows(&dense(&t, 4)[..2], &[
        &[1.088235294117647, -0.08823529411764706, 0.0, 0.0],
        &[0.8102189781021898, 0.2116788321167883, -0.021897810218978103, 0.0],
    ]);
}

#[test]
fn antialias_widens_the_filter_by_the_downsampling_factor() {
    let mut a = attrs(ResizeMode::Linear, CoordTransform::HalfPixel);
    a.antialias = true;
    let m = map(CoordTransform::HalfPixel, 0.5, 8, 4);
    let t = filter_taps(&a, &m).unwrap();
    assert_eq!(t.width, 4);
    #[rustfmt::skip]
    assert_rows(&dense(&t, 8), &[
        &[0.5, 0.375, 0.125, 0.0, 0.0, 0.0, 0.0, 0.0],
        &[0.0, 0.125, 0.375, 0.375, 0.125, 0.0, 0.0, 0.0],
        &[0.0, 0.0, 0.0, 0.125, 0.375, 0.375, 0.125, 0.0],
        &[0.0, 0.0, 0.0, 0.0, 0.0, 0.125, 0.375, 0.5],
    ]);
    a.mode = ResizeMode::Cubic;
    let t = filter_taps(&a, &m).unwrap();
    assert_eq!(t.width, 8);
    assert_rows(&dense(&t, 8)[..1], &[&[0.5, 0.439453125, 0.130859375, -0.052734375, -0.017578125, 0.0, 0.0, 0.0]]);
}

#[test]
fn tf_crop_and_resize_flags_positions_outside_the_input() {
    let mut a = attrs(ResizeMode::Linear, CoordTransform::TfCropAndResize);
    a.roi = vec![0.4, 1.2];
    let m = AxisMap { coord: CoordTransform::TfCropAndResize, scale: 0.75, in_len: 4, out_len: 3, roi: (0.4, 1.2) };
    assert!(!m.is_identity());
    let d = dense(&filter_taps(&a, &m).unwrap(), 4);
    assert_eq!(d[2], None);
    #[rustfmt::skip]
    assert_rows(&d[..2], &[&[0.0, 0.7999999523162842, 0.20000004768371582, 0.0], &[0.0, 0.0, 0.5999998450279236, 0.4000001549720764]]);
}

#[test]
fn absurd_antialias_widths_are_refused() {
    let mut a = attrs(ResizeMode::Cubic, CoordTransform::HalfPixel);
    a.antialias = true;
    assert_eq!(filter_taps(&a, &map(CoordTransform::HalfPixel, 1e-30, 4, 1)), None);
    assert!(filter_taps(&a, &map(CoordTransform::HalfPixel, 0.25, 4, 1)).is_some());
    // Scales below 1 / in (sizes kept at 1) are still fine while the filter stays reasonable.
    assert_eq!(filter_taps(&a, &map(CoordTransform::HalfPixel, 0.15, 1, 1)).map(|t| t.width), Some(28));
}
