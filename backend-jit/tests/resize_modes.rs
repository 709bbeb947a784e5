//! Resize's filter modes (`cubic`, `antialias`, `exclude_outside`, `tf_crop_and_resize`)
//! vs. the interpreter: the JIT takes its taps from the same `int8xc_ir::resize` tables and
//! sums in the same order, so every test asserts bit-identical `f32` outputs.

mod common;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{CoordTransform, DType, Graph, NearestMode, Op, ResizeAttrs, ResizeMode, TensorData, TensorType};
use int8xc_jit::{compile, JitError, JitOptions};
use int8xc_runtime::Executable;
use proptest::prelude::*;

const COORDS: [CoordTransform; 6] = [
    CoordTransform::HalfPixel,
    CoordTransform::PytorchHalfPixel,
    CoordTransform::AlignCorners,
    CoordTransform::Asymmetric,
    CoordTransform::HalfPixelSymmetric,
    CoordTransform::TfCropAndResize,
];

fn resize_graph(a: ResizeAttrs, ty: TensorType) -> Graph {
    let mut g = Graph::new("resize");
    let x = g.add_input("x", ty);
    let y = node(&mut g, "y", Op::Resize(a), vec![x]);
    g.outputs.push(y);
    g
}

/// Runs `g` with the JIT (1 and 2 threads) and the interpreter; panics unless every output
/// element has the same bits.
fn assert_bit_exact(g: &Graph, x: &TensorData, what: &str) {
    let want = Interpreter.run_graph(g, std::slice::from_ref(x)).unwrap_or_else(|e| panic!("interp: {e} ({what})"));
    for threads in [1, 2] {
        let model = compile(g, &JitOptions { threads, ..JitOptions::default() })
            .unwrap_or_else(|e| panic!("compile: {e} ({what})"));
        let got = model.run(std::slice::from_ref(x)).unwrap_or_else(|e| panic!("run: {e} ({what})"));
        let (a, b) = (got[0].as_f32().expect("f32"), want[0].as_f32().expect("f32"));
        assert_eq!(got[0].shape(), want[0].shape(), "{what}");
        for (k, (p, q)) in a.iter().zip(b).enumerate() {
            assert!(p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()), "{what}: element {k}: {p} vs {q}");
        }
    }
}

/// Attributes resizing the last two axes of `inp` to `out` with scales `out / in`.
fn attrs(mode: ResizeMode, coord: CoordTransform, inp: &[usize], out: &[usize]) -> ResizeAttrs {
    let scales = inp.iter().zip(out).map(|(&i, &o)| o as f32 / i as f32).collect();
    let roi = if coord == CoordTransform::TfCropAndResize {
        let r = inp.len();
        let mut roi = [vec![0.0; r], vec![1.0; r]].concat();
        roi[r - 2..r].copy_from_slice(&[0.2, -0.1]);
        roi[2 * r - 2..].copy_from_slice(&[0.7, 1.3]);
        roi
    } else {
        Vec::new()
    };
    ResizeAttrs { mode, coord, scales, sizes: out.to_vec(), roi, extrapolation_value: 10.0, ..ResizeAttrs::default() }
}

#[test]
fn onnx_node_test_shapes_are_bit_exact_in_every_filter_mode() {
    let mut rng = TestRng::new(41);
    let cases: [([usize; 4], [usize; 4]); 5] = [
        ([1, 1, 4, 4], [1, 1, 8, 8]),
        ([1, 1, 4, 4], [1, 1, 3, 3]),
        ([1, 1, 4, 4], [1, 1, 9, 10]),
        ([2, 3, 7, 5], [2, 3, 2, 11]),
        ([1, 2, 9, 9], [1, 2, 9, 4]),
    ];
    for (inp, out) in cases {
        let x = rng.tensor_scaled(&inp, 10.0);
        for coord in COORDS {
            for mode in [ResizeMode::Linear, ResizeMode::Cubic] {
                for (antialias, exclude_outside) in [(false, false), (true, false), (false, true), (true, true)] {
                    let a = ResizeAttrs {
                        antialias,
                        exclude_outside,
                        cubic_coeff_a: -0.5,
                        ..attrs(mode, coord, &inp, &out)
                    };
                    let what = format!("{mode:?} {coord:?} aa={antialias} excl={exclude_outside} {inp:?}->{out:?}");
                    assert_bit_exact(&resize_graph(a, f32_ty(&inp)), &x, &what);
                }
            }
        }
        // Nearest with tf_crop_and_resize also blends (one tap), for the extrapolation value.
        let a = attrs(ResizeMode::Nearest, CoordTransform::TfCropAndResize, &inp, &out);
        assert_bit_exact(&resize_graph(a, f32_ty(&inp)), &x, "nearest tf_crop_and_resize");
    }
}

#[test]
fn strong_antialiased_downsampling_and_rank_1_are_bit_exact() {
    let mut rng = TestRng::new(42);
    let x = rng.tensor_scaled(&[1, 1, 40, 37], 10.0);
    for mode in [ResizeMode::Linear, ResizeMode::Cubic] {
        let a =
            ResizeAttrs { antialias: true, ..attrs(mode, CoordTransform::HalfPixel, &[1, 1, 40, 37], &[1, 1, 3, 5]) };
        assert_bit_exact(&resize_graph(a, f32_ty(&[1, 1, 40, 37])), &x, "strong antialias");
    }
    let x = rng.tensor_scaled(&[13], 10.0);
    let a = attrs(ResizeMode::Cubic, CoordTransform::AlignCorners, &[13], &[29]);
    assert_bit_exact(&resize_graph(a, f32_ty(&[13])), &x, "rank 1 cubic");
}

#[test]
fn filter_modes_on_integers_and_leading_axis_crops_are_unsupported() {
    let a = attrs(ResizeMode::Cubic, CoordTransform::HalfPixel, &[1, 1, 4, 4], &[1, 1, 8, 8]);
    let g = resize_graph(a, TensorType::new(DType::U8, vec![1, 1, 4, 4]));
    assert!(matches!(compile(&g, &JitOptions::default()), Err(JitError::Unsupported { .. })));
    let mut a = attrs(ResizeMode::Linear, CoordTransform::TfCropAndResize, &[1, 2, 4, 4], &[1, 2, 3, 3]);
    a.roi[1] = 0.5;
    let g = resize_graph(a, f32_ty(&[1, 2, 4, 4]));
    assert!(matches!(compile(&g, &JitOptions::default()), Err(JitError::Unsupported { .. })));
}

fn filter_case() -> impl Strategy<Value = (Vec<usize>, ResizeAttrs, u64)> {
    let dims = (1usize..3, 1usize..3, 1usize..8, 1usize..9, 1usize..12, 1usize..14);
    let scale = prop_oneof![Just(None), (0.15f32..3.5).prop_map(Some)];
    let mode = prop_oneof![Just(ResizeMode::Linear), Just(ResizeMode::Cubic), Just(ResizeMode::Nearest)];
    let roi = (-0.4f32..0.9, -0.4f32..1.4, -0.4f32..0.9, -0.4f32..1.4);
    let flags = (any::<bool>(), any::<bool>(), prop_oneof![Just(-0.75f32), Just(-0.5f32)], -5.0f32..5.0);
    (dims, (scale.clone(), scale), mode, 0usize..6, roi, flags, any::<u64>()).prop_map(
        |((n, c, h, w, oh, ow), (sh, sw), mode, coord, roi, (antialias, exclude_outside, a, ev), seed)| {
            let coord = COORDS[coord];
            let inp = vec![n, c, h, w];
            // A given scale fixes the size as the importer does (`floor(in * scale)`, at least 1).
            let axis = |len: usize, out: usize, s: Option<f32>| match s {
                Some(s) => (s, ((len as f32 * s).floor() as usize).max(1)),
                None => (out as f32 / len as f32, out),
            };
            let ((s_h, oh), (s_w, ow)) = (axis(h, oh, sh), axis(w, ow, sw));
            let roi = if coord == CoordTransform::TfCropAndResize {
                vec![0.0, 0.0, roi.0, roi.2, 1.0, 1.0, roi.1, roi.3]
            } else {
                Vec::new()
            };
            // Nearest with antialias is not ONNX; a filter mode or tf_crop_and_resize otherwise.
            let mode = if mode == ResizeMode::Nearest && coord != CoordTransform::TfCropAndResize {
                ResizeMode::Linear
            } else {
                mode
            };
            let attrs = ResizeAttrs {
                mode,
                coord,
                nearest: NearestMode::RoundPreferCeil,
                scales: vec![1.0, 1.0, s_h, s_w],
                sizes: vec![n, c, oh, ow],
                cubic_coeff_a: a,
                exclude_outside,
                antialias: antialias && mode != ResizeMode::Nearest,
                roi,
                extrapolation_value: ev,
            };
            (inp, attrs, seed)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_filter_resizes_are_bit_exact((inp, a, seed) in filter_case()) {
        let x = TestRng::new(seed).tensor_scaled(&inp, 10.0);
        let what = format!("{a:?} on {inp:?}");
        assert_bit_exact(&resize_graph(a, f32_ty(&inp)), &x, &what);
    }
}
