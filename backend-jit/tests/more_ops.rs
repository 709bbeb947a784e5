//! Softmax, ReduceMean, ArgMax, Transpose, Slice, Concat, Gather, Cast, Resize and
//! ConvTranspose kernels vs. the interpreter.
//!
//! Tolerance: float results pass when `|jit - ref| <= 1e-5 * max(|ref|, 1)` (`common::TOL`).
//! Only Softmax (polynomial `exp`, and a reassociated sum when the axis is last) and
//! ReduceMean over a trailing run (4-lane partial sums) use it; every other kernel here is
//! bit-exact with the interpreter (movement ops, Cast, Resize's f64 blend, ConvTranspose's
//! summation order, ReduceMean with a kept innermost run), and the tests assert error 0.

mod common;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{
    ConvTransposeAttrs, CoordTransform, DType, Data, Graph, NearestMode, Op, ResizeAttrs, ResizeMode, SliceAttrs,
    TensorData, TensorType,
};
use int8xc_jit::{compile, JitError, JitOptions};
use int8xc_runtime::Executable;
use proptest::prelude::*;

/// A graph with one input of `ty` and one node `op` (plus `consts` as further inputs).
fn unary_graph(op: Op, ty: TensorType, consts: Vec<TensorData>) -> Graph {
    let mut g = Graph::new("t");
    let x = g.add_input("x", ty);
    let mut ins = vec![x];
    for (i, c) in consts.into_iter().enumerate() {
        ins.push(g.add_const(format!("c{i}"), c));
    }
    let y = node(&mut g, "y", op, ins);
    g.outputs.push(y);
    g
}

/// Random tensor of any movable dtype.
fn tensor_of(rng: &mut TestRng, dt: DType, shape: &[usize]) -> TensorData {
    if dt == DType::F32 {
        return rng.tensor_scaled(shape, 100.0);
    }
    let n: usize = shape.iter().product();
    let mut ints = || (0..n).map(|_| rng.next_u64() as i64).collect::<Vec<_>>();
    let data = match dt {
        DType::I64 => Data::I64(ints()),
        DType::I32 => Data::I32(ints().into_iter().map(|v| v as i32).collect()),
        DType::I16 => Data::I16(ints().into_iter().map(|v| v as i16).collect()),
        DType::I8 => Data::I8(ints().into_iter().map(|v| v as i8).collect()),
        DType::U8 => Data::U8(ints().into_iter().map(|v| v as u8).collect()),
        DType::Bool => Data::Bool(ints().into_iter().map(|v| v & 1 == 1).collect()),
        other => panic!("no generator for {other}"),
    };
    TensorData::new(shape.to_vec(), data).unwrap()
}

/// Runs `g` with the JIT (1 and 2 threads) and the interpreter: integer outputs must be
/// equal, f32 outputs must have NaN in the same places (`common::max_rel_err` skips NaN
/// differences); returns the largest relative error of the other elements.
fn run_diff(g: &Graph, inputs: &[TensorData]) -> f32 {
    let want = Interpreter.run_graph(g, inputs).unwrap_or_else(|e| panic!("interp: {e}"));
    let mut worst = 0.0f32;
    for threads in [1, 2] {
        let model =
            compile(g, &JitOptions { threads, ..JitOptions::default() }).unwrap_or_else(|e| panic!("compile: {e}"));
        let got = model.run(inputs).unwrap_or_else(|e| panic!("run: {e}"));
        assert_eq!(got.len(), want.len());
        for (k, (a, b)) in got.iter().zip(&want).enumerate() {
            if b.dtype() != DType::F32 {
                assert_eq!(a, b, "output {k} differs");
                continue;
            }
            let (av, bv) = (a.as_f32().expect("f32"), b.as_f32().expect("f32"));
            let nan_diff = av.iter().zip(bv).position(|(x, y)| x.is_nan() != y.is_nan());
            assert!(nan_diff.is_none(), "output {k}: NaN mismatch at {nan_diff:?}");
            worst = worst.max(max_rel_err(a, b));
        }
    }
    worst
}

fn compile_err(g: &Graph) -> JitError {
    match compile(g, &JitOptions::default()) {
        Ok(_) => panic!("compiled, expected an error"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------- Softmax

#[test]
fn softmax_every_axis_matches_interpreter() {
    let mut rng = TestRng::new(11);
    for shape in [vec![7usize], vec![2, 9], vec![3, 5, 6], vec![1, 10, 7, 7], vec![2, 3, 4, 33]] {
        for axis in 0..shape.len() {
            let g = unary_graph(Op::Softmax { axis }, f32_ty(&shape), vec![]);
            let e = run_diff(&g, &[rng.tensor_scaled(&shape, 20.0)]);
            assert!(e <= TOL, "{shape:?} axis {axis}: {e}");
        }
    }
}

#[test]
fn softmax_large_values_and_nan_skipping_max() {
    let g = unary_graph(Op::Softmax { axis: 1 }, f32_ty(&[2, 5]), vec![]);
    let x = TensorData::from_f32([2, 5], vec![1000., 1000., -1000., 999., 0., -5., 80., 81., 82., 83.]).unwrap();
    assert!(run_diff(&g, &[x]) <= TOL);
    // A NaN makes its whole slice NaN (the maximum skips it, the sum does not).
    let g = unary_graph(Op::Softmax { axis: 1 }, f32_ty(&[3, 6]), vec![]);
    let mut v: Vec<f32> = (0..18).map(|i| i as f32 * 0.5).collect();
    v[2] = f32::NAN;
    v[17] = f32::NAN;
    assert!(run_diff(&g, &[TensorData::from_f32([3, 6], v).unwrap()]) <= TOL);
    let g = unary_graph(Op::Softmax { axis: 0 }, f32_ty(&[3, 6]), vec![]);
    let mut v: Vec<f32> = (0..18).map(|i| i as f32 * 0.5).collect();
    v[2] = f32::NAN;
    assert!(run_diff(&g, &[TensorData::from_f32([3, 6], v).unwrap()]) <= TOL);
}

// ---------------------------------------------------------------- ReduceMean

#[test]
fn reduce_mean_over_kept_inner_run_is_bit_exact() {
    let mut rng = TestRng::new(12);
    for (shape, axes) in [(vec![2, 5, 3, 7], vec![1]), (vec![4, 6, 9], vec![0, 1]), (vec![3, 1, 2, 5], vec![0, 2])] {
        for keepdims in [true, false] {
            let g = unary_graph(Op::ReduceMean { axes: axes.clone(), keepdims }, f32_ty(&shape), vec![]);
            assert_eq!(run_diff(&g, &[rng.tensor(&shape)]), 0.0, "{shape:?} {axes:?}");
        }
    }
}

#[test]
fn reduce_mean_spatial_and_full() {
    let mut rng = TestRng::new(13);
    for (shape, axes) in
        [(vec![1, 8, 7, 7], vec![2, 3]), (vec![3, 4, 5], vec![0, 1, 2]), (vec![5], vec![0]), (vec![2, 3], vec![])]
    {
        let g = unary_graph(Op::ReduceMean { axes: axes.clone(), keepdims: false }, f32_ty(&shape), vec![]);
        let e = run_diff(&g, &[rng.tensor(&shape)]);
        assert!(e <= TOL, "{shape:?} {axes:?}: {e}");
    }
}

// ---------------------------------------------------------------- ArgMax

#[test]
fn argmax_ties_nan_and_dtypes_match_exactly() {
    let v = vec![1., 3., 3., f32::NAN, 7., 2., 7., 7., f32::NAN, 0., 0., 5.];
    for axis in 0..2 {
        for (keepdims, last) in [(false, false), (true, true), (false, true)] {
            let op = Op::ArgMax { axis, keepdims, select_last_index: last };
            let g = unary_graph(op, f32_ty(&[3, 4]), vec![]);
            run_diff(&g, &[TensorData::from_f32([3, 4], v.clone()).unwrap()]);
        }
    }
    let mut rng = TestRng::new(14);
    for dt in [DType::I64, DType::I32, DType::I16, DType::I8, DType::U8] {
        for axis in 0..3 {
            let op = Op::ArgMax { axis, keepdims: false, select_last_index: axis == 1 };
            let g = unary_graph(op, TensorType::new(dt, vec![3, 5, 6]), vec![]);
            let x = tensor_of(&mut rng, dt, &[3, 5, 6]);
            // Few distinct values, so ties happen.
            let x = TensorData::new(
                [3, 5, 6],
                match x.into_parts().1 {
                    Data::U8(v) => Data::U8(v.into_iter().map(|b| b % 4 + 250).collect()),
                    Data::I8(v) => Data::I8(v.into_iter().map(|b| b % 3).collect()),
                    d => d,
                },
            )
            .unwrap();
            run_diff(&g, &[x]);
        }
    }
}

// ---------------------------------------------------------------- Transpose, Slice, Concat

#[test]
fn transpose_moves_every_element_size() {
    let mut rng = TestRng::new(15);
    for dt in [DType::F32, DType::I64, DType::I16, DType::U8, DType::Bool] {
        for perm in [vec![0, 2, 3, 1], vec![0, 3, 1, 2], vec![3, 2, 1, 0], vec![1, 0, 2, 3]] {
            let shape = [2, 3, 5, 7];
            let g = unary_graph(Op::Transpose { perm: perm.clone() }, TensorType::new(dt, shape.to_vec()), vec![]);
            assert_eq!(run_diff(&g, &[tensor_of(&mut rng, dt, &shape)]), 0.0, "{dt} {perm:?}");
        }
    }
}

#[test]
fn concat_along_each_axis_with_an_empty_input() {
    let mut rng = TestRng::new(16);
    for axis in 0..3 {
        let mut g = Graph::new("cat");
        let shapes: Vec<Vec<usize>> = (0..3)
            .map(|k| {
                let mut s = vec![2, 3, 4];
                s[axis] = [1, 0, 5][k];
                s
            })
            .collect();
        let ins: Vec<_> = shapes.iter().enumerate().map(|(k, s)| g.add_input(format!("x{k}"), f32_ty(s))).collect();
        let y = node(&mut g, "y", Op::Concat { axis }, ins);
        g.outputs.push(y);
        let xs: Vec<_> = shapes.iter().map(|s| rng.tensor(s)).collect();
        assert_eq!(run_diff(&g, &xs), 0.0);
    }
}

// ---------------------------------------------------------------- Gather

#[test]
fn gather_constant_indices_any_axis_negative_and_scalar() {
    let mut rng = TestRng::new(17);
    let data_shape = [4, 5, 3];
    for axis in 0..3 {
        let d = data_shape[axis] as i64;
        for idx in [
            TensorData::from_i64([2, 2], vec![0, -1, d - 1, 1 - d]).unwrap(),
            TensorData::new([3], Data::I32(vec![-1, 0, 1])).unwrap(),
            TensorData::from_i64(Vec::<usize>::new(), vec![-2]).unwrap(),
        ] {
            let g = unary_graph(Op::Gather { axis }, TensorType::new(DType::I16, data_shape.to_vec()), vec![idx]);
            assert_eq!(run_diff(&g, &[tensor_of(&mut rng, DType::I16, &data_shape)]), 0.0);
        }
    }
}

#[test]
fn gather_out_of_range_constant_index_is_a_run_time_error() {
    // Run-time indices compile (see gather_runtime.rs); an out-of-range constant index fails
    // when the model runs, as in the interpreter.
    let g = unary_graph(Op::Gather { axis: 0 }, f32_ty(&[4, 3]), vec![TensorData::from_i64([1], vec![4]).unwrap()]);
    let model = compile(&g, &JitOptions::default()).unwrap_or_else(|e| panic!("compile: {e}"));
    let e = model.run(&[TensorData::from_f32([4, 3], vec![0.0; 12]).unwrap()]).unwrap_err();
    assert!(e.to_string().contains("index 4 out of range for axis 0 of size 4"), "{e}");
}

// ---------------------------------------------------------------- Cast

/// f16 and the packed 4-bit types are covered in `dtypes.rs`.
#[test]
fn cast_every_supported_pair_matches_exactly() {
    let types = [DType::F32, DType::I64, DType::I32, DType::I16, DType::I8, DType::U8, DType::Bool];
    let floats = vec![
        -2.7,
        -0.5,
        0.5,
        1.9,
        300.7,
        -300.2,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        2147483648.0,
        -2147483648.0,
        2147483520.0,
        -2147483904.0,
        9.3e18,
        -9.223372e18,
        1e30,
        -0.0,
        0.0,
        65535.9,
        255.5,
    ];
    let mut rng = TestRng::new(18);
    for from in types {
        let x = if from == DType::F32 {
            TensorData::from_f32([floats.len()], floats.clone()).unwrap()
        } else {
            let mut t = tensor_of(&mut rng, from, &[40]);
            if from == DType::I64 {
                let mut v = t.as_i64().unwrap().to_vec();
                v[..6].copy_from_slice(&[0, -1, 255, 256, 1 << 40, i64::MIN]);
                t = TensorData::from_i64([40], v).unwrap();
            }
            t
        };
        for to in types {
            let g = unary_graph(Op::Cast { to }, TensorType::new(from, x.shape().to_vec()), vec![]);
            assert_eq!(run_diff(&g, std::slice::from_ref(&x)), 0.0, "{from} -> {to}");
        }
    }
}

// ---------------------------------------------------------------- Resize

fn resize_op(mode: ResizeMode, coord: CoordTransform, nearest: NearestMode, scales: &[f32], sizes: &[usize]) -> Op {
    Op::Resize(ResizeAttrs {
        mode,
        coord,
        nearest,
        scales: scales.to_vec(),
        sizes: sizes.to_vec(),
        ..Default::default()
    })
}

#[test]
fn resize_every_mode_and_transform_is_bit_exact() {
    let coords = [
        CoordTransform::HalfPixel,
        CoordTransform::PytorchHalfPixel,
        CoordTransform::AlignCorners,
        CoordTransform::Asymmetric,
        CoordTransform::HalfPixelSymmetric,
    ];
    let nearests = [NearestMode::RoundPreferFloor, NearestMode::RoundPreferCeil, NearestMode::Floor, NearestMode::Ceil];
    // (input, output, scales): sizes-derived scales, explicit scales, down-sampling, to 1.
    let cases: [([usize; 4], [usize; 4], [f32; 4]); 6] = [
        ([1, 2, 4, 4], [1, 2, 8, 8], [1.0, 1.0, 2.0, 2.0]),
        ([2, 3, 5, 7], [2, 3, 7, 3], [1.0, 1.0, 7.0 / 5.0, 3.0 / 7.0]),
        ([1, 1, 4, 6], [1, 1, 6, 15], [1.0, 1.0, 1.6, 2.5]),
        ([1, 2, 6, 6], [1, 2, 6, 13], [1.0, 1.0, 1.0, 13.0 / 6.0]),
        ([1, 1, 5, 5], [1, 1, 1, 2], [1.0, 1.0, 0.2, 0.4]),
        ([1, 3, 3, 4], [1, 3, 9, 4], [1.0, 1.0, 3.0, 1.0]),
    ];
    let mut rng = TestRng::new(19);
    for (inp, out, scales) in cases {
        let x = rng.tensor_scaled(&inp, 10.0);
        for coord in coords {
            let g = unary_graph(
                resize_op(ResizeMode::Linear, coord, NearestMode::Floor, &scales, &out),
                f32_ty(&inp),
                vec![],
            );
            assert_eq!(run_diff(&g, std::slice::from_ref(&x)), 0.0, "linear {coord:?} {inp:?}->{out:?}");
            for nm in nearests {
                let g = unary_graph(resize_op(ResizeMode::Nearest, coord, nm, &scales, &out), f32_ty(&inp), vec![]);
                assert_eq!(run_diff(&g, std::slice::from_ref(&x)), 0.0, "nearest {coord:?} {nm:?} {inp:?}->{out:?}");
            }
        }
    }
}

#[test]
fn resize_nearest_on_u8_and_rank_2() {
    let mut rng = TestRng::new(20);
    let op = resize_op(
        ResizeMode::Nearest,
        CoordTransform::Asymmetric,
        NearestMode::Floor,
        &[1.0, 1.0, 2.0, 3.0],
        &[1, 2, 6, 9],
    );
    let g = unary_graph(op, TensorType::new(DType::U8, vec![1, 2, 3, 3]), vec![]);
    assert_eq!(run_diff(&g, &[tensor_of(&mut rng, DType::U8, &[1, 2, 3, 3])]), 0.0);
    let op = resize_op(ResizeMode::Linear, CoordTransform::HalfPixel, NearestMode::Floor, &[2.0, 0.8], &[6, 4]);
    let g = unary_graph(op, f32_ty(&[3, 5]), vec![]);
    assert_eq!(run_diff(&g, &[rng.tensor(&[3, 5])]), 0.0);
}

#[test]
fn resize_of_channel_axis_is_unsupported() {
    let op = resize_op(
        ResizeMode::Nearest,
        CoordTransform::Asymmetric,
        NearestMode::Floor,
        &[1.0, 2.0, 1.0, 1.0],
        &[1, 4, 3, 3],
    );
    let g = unary_graph(op, f32_ty(&[1, 2, 3, 3]), vec![]);
    assert!(matches!(compile_err(&g), JitError::Unsupported { .. }));
}

// ---------------------------------------------------------------- ConvTranspose

fn conv_t(
    kernel: [usize; 2],
    strides: [usize; 2],
    pads: [usize; 4],
    dilations: [usize; 2],
    output_padding: [usize; 2],
    group: usize,
) -> Op {
    Op::ConvTranspose(ConvTransposeAttrs { kernel, strides, pads, dilations, output_padding, group })
}

/// ConvTranspose with constant (`const_w`) or run-time weights, optional bias.
fn conv_t_diff(op: Op, x: &[usize], w: &[usize], bias: bool, const_w: bool, seed: u64) -> f32 {
    let mut rng = TestRng::new(seed);
    let mut g = Graph::new("ct");
    let xv = g.add_input("x", f32_ty(x));
    let wt = rng.tensor(w);
    let mut inputs = vec![rng.tensor(x)];
    let wv = if const_w {
        g.add_const("w", wt)
    } else {
        inputs.push(wt);
        g.add_input("w", f32_ty(w))
    };
    let m = w[1]
        * match &op {
            Op::ConvTranspose(a) => a.group,
            _ => 1,
        };
    let mut ins = vec![xv, wv];
    if bias {
        ins.push(g.add_const("b", rng.tensor(&[m])));
    }
    let y = node(&mut g, "y", op, ins);
    g.outputs.push(y);
    run_diff(&g, &inputs)
}

#[test]
fn conv_transpose_configurations_are_bit_exact() {
    let cases = [
        (conv_t([3, 3], [1, 1], [0; 4], [1, 1], [0, 0], 1), [1, 1, 3, 3], [1, 2, 3, 3]),
        (conv_t([3, 2], [2, 3], [1, 0, 2, 1], [2, 1], [1, 2], 2), [1, 4, 3, 2], [4, 3, 3, 2]),
        (conv_t([4, 4], [2, 2], [1, 1, 1, 1], [1, 1], [0, 0], 1), [2, 8, 5, 6], [8, 3, 4, 4]),
        (conv_t([3, 3], [1, 1], [1, 1, 1, 1], [1, 1], [0, 0], 4), [1, 4, 9, 11], [4, 1, 3, 3]),
        (conv_t([1, 1], [3, 2], [0; 4], [1, 1], [2, 1], 1), [1, 3, 4, 4], [3, 5, 1, 1]),
        (conv_t([2, 2], [1, 1], [0, 0, 0, 0], [3, 2], [0, 0], 1), [1, 2, 6, 9], [2, 3, 2, 2]),
    ];
    for (k, (op, x, w)) in cases.into_iter().enumerate() {
        for (bias, const_w) in [(false, true), (true, true), (true, false)] {
            assert_eq!(conv_t_diff(op.clone(), &x, &w, bias, const_w, k as u64), 0.0, "case {k} {op:?}");
        }
    }
}

// ---------------------------------------------------------------- empty tensors

#[test]
fn zero_sized_tensors_and_empty_reductions() {
    let mut rng = TestRng::new(21);
    let cases = [
        (Op::Transpose { perm: vec![1, 0] }, vec![0, 3]),
        (Op::Softmax { axis: 1 }, vec![2, 0]),
        (Op::Softmax { axis: 0 }, vec![0, 5]),
        (Op::ReduceMean { axes: vec![0], keepdims: false }, vec![0, 3]),
        (Op::ReduceMean { axes: vec![1], keepdims: true }, vec![3, 0]),
        (Op::ReduceMean { axes: vec![1], keepdims: false }, vec![0, 4]),
        (Op::Cast { to: DType::I32 }, vec![0]),
        (Op::Slice(SliceAttrs { axes: vec![1], starts: vec![2], ends: vec![1], steps: vec![1] }), vec![3, 4]),
    ];
    for (op, shape) in cases {
        let g = unary_graph(op.clone(), f32_ty(&shape), vec![]);
        assert_eq!(run_diff(&g, &[rng.tensor(&shape)]), 0.0, "{op:?} {shape:?}");
    }
}

// ---------------------------------------------------------------- property tests

/// A random shape of rank 1..=4 with dims 1..=7 and an axis of it.
fn shape_and_axis() -> impl Strategy<Value = (Vec<usize>, usize)> {
    prop::collection::vec(1usize..8, 1..5).prop_flat_map(|s| {
        let r = s.len();
        (Just(s), 0..r)
    })
}

/// Slice attributes for `shape`: a random subset of axes with clamped starts/ends and steps
/// in ±1..=3.
fn slice_case() -> impl Strategy<Value = (Vec<usize>, SliceAttrs)> {
    prop::collection::vec(1usize..7, 1..5).prop_flat_map(|s| {
        let per_axis: Vec<_> = s
            .iter()
            .map(|&d| {
                let d = d as i64;
                (any::<bool>(), 1i64..4, any::<bool>(), 0..=d, 0..=d).prop_map(move |(use_it, mag, neg, a, b)| {
                    if neg {
                        (use_it, (a.min(d - 1), b - 1, -mag))
                    } else {
                        (use_it, (a, b, mag))
                    }
                })
            })
            .collect();
        (Just(s), per_axis).prop_map(|(s, picks)| {
            let mut a = SliceAttrs { axes: vec![], starts: vec![], ends: vec![], steps: vec![] };
            for (axis, (use_it, (st, en, step))) in picks.into_iter().enumerate() {
                if use_it {
                    a.axes.push(axis);
                    a.starts.push(st);
                    a.ends.push(en);
                    a.steps.push(step);
                }
            }
            (s, a)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn softmax_random_shapes(case in shape_and_axis(), seed in any::<u64>()) {
        let (shape, axis) = case;
        let g = unary_graph(Op::Softmax { axis }, f32_ty(&shape), vec![]);
        let e = run_diff(&g, &[TestRng::new(seed).tensor_scaled(&shape, 10.0)]);
        prop_assert!(e <= TOL, "{:?} axis {}: {}", shape, axis, e);
    }

    #[test]
    fn reduce_mean_random_axes(shape in prop::collection::vec(1usize..7, 1..5), mask in any::<u8>(), keepdims in any::<bool>(), seed in any::<u64>()) {
        let axes: Vec<usize> = (0..shape.len()).filter(|d| mask >> d & 1 == 1).collect();
        let g = unary_graph(Op::ReduceMean { axes, keepdims }, f32_ty(&shape), vec![]);
        let e = run_diff(&g, &[TestRng::new(seed).tensor(&shape)]);
        prop_assert!(e <= TOL);
    }

    #[test]
    fn transpose_random_perms(shape in prop::collection::vec(1usize..7, 1..6), seed in any::<u64>()) {
        let mut rng = TestRng::new(seed);
        let mut perm: Vec<usize> = (0..shape.len()).collect();
        for i in (1..perm.len()).rev() {
            perm.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let dt = [DType::F32, DType::I64, DType::I16, DType::U8][(seed % 4) as usize];
        let g = unary_graph(Op::Transpose { perm }, TensorType::new(dt, shape.clone()), vec![]);
        prop_assert_eq!(run_diff(&g, &[tensor_of(&mut rng, dt, &shape)]), 0.0);
    }

    #[test]
    fn slice_random_attrs(case in slice_case(), seed in any::<u64>()) {
        let (shape, attrs) = case;
        let g = unary_graph(Op::Slice(attrs), f32_ty(&shape), vec![]);
        prop_assert_eq!(run_diff(&g, &[TestRng::new(seed).tensor(&shape)]), 0.0);
    }

    #[test]
    fn concat_random_shapes(case in shape_and_axis(), lens in prop::collection::vec(0usize..5, 1..5), seed in any::<u64>()) {
        let (shape, axis) = case;
        let mut rng = TestRng::new(seed);
        let mut g = Graph::new("cat");
        let mut xs = Vec::new();
        let mut ins = Vec::new();
        for (k, &l) in lens.iter().enumerate() {
            let mut s = shape.clone();
            s[axis] = l;
            ins.push(g.add_input(format!("x{k}"), TensorType::new(DType::I32, s.clone())));
            xs.push(tensor_of(&mut rng, DType::I32, &s));
        }
        let y = node(&mut g, "y", Op::Concat { axis }, ins);
        g.outputs.push(y);
        prop_assert_eq!(run_diff(&g, &xs), 0.0);
    }

    #[test]
    fn resize_random_sizes(h in 1usize..6, w in 1usize..6, oh in 1usize..12, ow in 1usize..12, linear in any::<bool>(), c in 0usize..5, seed in any::<u64>()) {
        let coord = [CoordTransform::HalfPixel, CoordTransform::PytorchHalfPixel, CoordTransform::AlignCorners, CoordTransform::Asymmetric, CoordTransform::HalfPixelSymmetric][c];
        let mode = if linear { ResizeMode::Linear } else { ResizeMode::Nearest };
        let scales = [1.0, 1.0, oh as f32 / h as f32, ow as f32 / w as f32];
        let op = resize_op(mode, coord, NearestMode::RoundPreferFloor, &scales, &[1, 2, oh, ow]);
        let g = unary_graph(op, f32_ty(&[1, 2, h, w]), vec![]);
        prop_assert_eq!(run_diff(&g, &[TestRng::new(seed).tensor(&[1, 2, h, w])]), 0.0);
    }

    #[test]
    fn conv_transpose_random(c in 1usize..4, mg in 1usize..4, group in 1usize..3, k in 1usize..4, s in 1usize..4, d in 1usize..3, p in 0usize..2, hw in 1usize..6, seed in any::<u64>()) {
        let op = conv_t([k, k + 1], [s, s], [p, 0, 0, p], [d, 1], [s - 1, 0], group);
        let x = [1, c * group, hw, hw + 1];
        let w = [c * group, mg, k, k + 1];
        // skip configurations whose output would be empty
        let oh = s * (hw - 1) + (s - 1) + d * (k - 1) + 1;
        prop_assume!(oh > p && (hw + 1 - 1) * s + k + 1 > p);
        prop_assert_eq!(conv_t_diff(op, &x, &w, seed % 2 == 0, seed % 3 != 0, seed), 0.0);
    }
}

// ---------------------------------------------------------------- all ops in one graph

/// One graph using every kernel of this file (several outputs of one input).
fn every_op_graph() -> (Graph, TensorData) {
    let mut rng = TestRng::new(22);
    let shape = [1, 4, 6, 6];
    let mut g = Graph::new("every_op");
    let x = g.add_input("x", f32_ty(&shape));
    let mut outs = vec![
        node(&mut g, "softmax", Op::Softmax { axis: 1 }, vec![x]),
        node(&mut g, "mean", Op::ReduceMean { axes: vec![2, 3], keepdims: true }, vec![x]),
        node(&mut g, "argmax", Op::ArgMax { axis: 1, keepdims: false, select_last_index: false }, vec![x]),
        node(&mut g, "nhwc", Op::Transpose { perm: vec![0, 2, 3, 1] }, vec![x]),
        node(
            &mut g,
            "slice",
            Op::Slice(SliceAttrs { axes: vec![2, 3], starts: vec![5, 1], ends: vec![-1, 6], steps: vec![-2, 2] }),
            vec![x],
        ),
        node(&mut g, "cat", Op::Concat { axis: 1 }, vec![x, x]),
    ];
    let idx = g.add_const("idx", TensorData::from_i64([2], vec![3, -4]).unwrap());
    outs.push(node(&mut g, "gather", Op::Gather { axis: 1 }, vec![x, idx]));
    let i = node(&mut g, "to_i64", Op::Cast { to: DType::I64 }, vec![x]);
    let u = node(&mut g, "to_u8", Op::Cast { to: DType::U8 }, vec![i]);
    outs.push(node(&mut g, "to_f32", Op::Cast { to: DType::F32 }, vec![u]));
    for (name, mode) in [("up_linear", ResizeMode::Linear), ("up_nearest", ResizeMode::Nearest)] {
        let op = resize_op(
            mode,
            CoordTransform::HalfPixel,
            NearestMode::RoundPreferFloor,
            &[1., 1., 2., 2.],
            &[1, 4, 12, 12],
        );
        outs.push(node(&mut g, name, op, vec![x]));
    }
    let w = g.add_const("w", rng.tensor(&[4, 3, 3, 3]));
    outs.push(node(&mut g, "deconv", conv_t([3, 3], [2, 2], [1, 1, 1, 1], [1, 1], [1, 1], 1), vec![x, w]));
    g.outputs = outs;
    (g, rng.tensor_scaled(&shape, 300.0))
}

#[test]
fn every_op_in_one_graph_matches_interpreter() {
    let (g, x) = every_op_graph();
    assert!(run_diff(&g, &[x]) <= TOL);
}

#[test]
fn every_op_emits_objects_for_x86_64_and_aarch64() {
    let (g, _) = every_op_graph();
    for triple in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        let t: target_lexicon::Triple = triple.parse().unwrap();
        let obj = int8xc_jit::emit_object(&g, &t, &JitOptions::default()).unwrap_or_else(|e| panic!("{triple}: {e}"));
        assert!(obj.starts_with(b"\x7fELF"), "{triple}");
    }
}
