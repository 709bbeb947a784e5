//! Element-wise kernels vs. the interpreter.

mod common;

use common::*;
use int8xc_ir::{BinaryOp, DType, Graph, Op, TensorData, TensorType, UnaryOp};
use int8xc_jit::{compile, JitOptions};
use int8xc_runtime::Executable;
use proptest::prelude::*;

fn unary_graph(op: UnaryOp, shape: &[usize]) -> Graph {
    let mut g = Graph::new("unary");
    let x = g.add_input("x", f32_ty(shape));
    let y = node(&mut g, "y", Op::Unary(op), vec![x]);
    g.outputs.push(y);
    g
}

#[test]
fn relu_of_known_values() {
    let g = unary_graph(UnaryOp::Relu, &[7]);
    let m = compile(&g, &JitOptions::default()).unwrap();
    let x = TensorData::from_f32([7], vec![-3.0, -0.5, 0.0, 0.5, 3.0, -1.0, 2.0]).unwrap();
    let y = m.run(&[x]).unwrap();
    assert_eq!(y[0].as_f32().unwrap(), &[0.0, 0.0, 0.0, 0.5, 3.0, 0.0, 2.0]);
}

#[test]
fn every_unary_op_matches_interpreter() {
    let ops = [
        UnaryOp::Relu,
        UnaryOp::LeakyRelu { alpha: 0.1 },
        UnaryOp::Clip { min: -0.5, max: 0.25 },
        UnaryOp::Sigmoid,
        UnaryOp::Tanh,
        UnaryOp::HardSigmoid { alpha: 0.2, beta: 0.5 },
        UnaryOp::HardSwish,
    ];
    let mut rng = TestRng::new(1);
    for op in ops {
        for shape in [vec![1usize], vec![3, 5], vec![2, 3, 67], vec![1, 16, 40, 40]] {
            let g = unary_graph(op, &shape);
            let x = rng.tensor_scaled(&shape, 12.0);
            let e = diff(&g, &[x]);
            assert!(e <= TOL, "{op:?} {shape:?}: max error {e}");
        }
    }
}

#[test]
fn sigmoid_and_tanh_are_accurate_over_their_whole_range() {
    // Dense sweep of [-100, 100] plus tiny magnitudes where tanh(x) ≈ x.
    let mut v: Vec<f32> = (0..20_000).map(|i| -100.0 + i as f32 * 0.01).collect();
    v.extend((0..1000).map(|i| (i as f32 - 500.0) * 1e-6));
    let n = v.len();
    for op in [UnaryOp::Sigmoid, UnaryOp::Tanh] {
        let g = unary_graph(op, &[n]);
        let x = TensorData::from_f32([n], v.clone()).unwrap();
        let got = compile(&g, &JitOptions::default()).unwrap().run(std::slice::from_ref(&x)).unwrap();
        let got = got[0].as_f32().unwrap();
        for (i, (&xv, &y)) in v.iter().zip(got).enumerate() {
            let want = match op {
                UnaryOp::Sigmoid => 1.0 / (1.0 + (-xv).exp()),
                _ => xv.tanh(),
            };
            let err = (y - want).abs();
            // ≤ 1e-6 relative, or 1e-30 absolute for results in the denormal range.
            assert!(err <= 1e-6 * want.abs() || err < 1e-30, "{op:?}({xv}) [{i}] = {y}, want {want}");
        }
    }
}

fn binary_graph(op: BinaryOp, a: &[usize], b: &[usize], dtype: DType) -> Graph {
    let mut g = Graph::new("binary");
    let x = g.add_input("a", TensorType::new(dtype, a.to_vec()));
    let y = g.add_input("b", TensorType::new(dtype, b.to_vec()));
    let z = node(&mut g, "z", Op::Binary(op), vec![x, y]);
    g.outputs.push(z);
    g
}

#[test]
fn integer_binary_ops_match_interpreter() {
    for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div] {
        let g = binary_graph(op, &[2, 3], &[3], DType::I64);
        let a = TensorData::from_i64([2, 3], vec![7, -7, i64::MIN, 100, -5, 9]).unwrap();
        let b = TensorData::from_i64([3], vec![2, -2, -1]).unwrap();
        assert_eq!(diff(&g, &[a, b]), 0.0);
        let g = binary_graph(op, &[4], &[1], DType::I32);
        let a = TensorData::new([4], int8xc_ir::Data::I32(vec![7, -7, i32::MIN, 3])).unwrap();
        let b = TensorData::new([1], int8xc_ir::Data::I32(vec![-1])).unwrap();
        assert_eq!(diff(&g, &[a, b]), 0.0);
    }
}

#[test]
fn integer_division_by_zero_gives_zero_instead_of_trapping() {
    let g = binary_graph(BinaryOp::Div, &[2], &[2], DType::I64);
    let m = compile(&g, &JitOptions::default()).unwrap();
    let a = TensorData::from_i64([2], vec![5, 6]).unwrap();
    let b = TensorData::from_i64([2], vec![0, 3]).unwrap();
    let y = m.run(&[a, b]).unwrap();
    assert_eq!(y[0].as_i64().unwrap(), &[0, 2]);
}

#[test]
fn wrong_input_shape_is_an_error_not_a_crash() {
    let g = unary_graph(UnaryOp::Relu, &[4]);
    let m = compile(&g, &JitOptions::default()).unwrap();
    let e = m.run(&[TensorData::from_f32([5], vec![0.0; 5]).unwrap()]).unwrap_err();
    assert!(e.to_string().contains("expected shape [4]"), "{e}");
    assert!(m.run(&[]).is_err());
}

#[test]
fn large_tensors_split_across_threads_match() {
    let shape = [3, 64, 100, 9];
    let g = binary_graph(BinaryOp::Mul, &shape, &[64, 1, 1], DType::F32);
    let mut rng = TestRng::new(3);
    let (a, b) = (rng.tensor(&shape), rng.tensor(&[64, 1, 1]));
    assert_eq!(diff_with_threads(&g, &[a, b], 2), 0.0);
}

/// A random shape of rank 0..=4 and a second shape broadcastable with it.
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec(1usize..7, 0..=4).prop_flat_map(|a| {
        let n = a.len();
        let mask = prop::collection::vec(0u8..3, n);
        (Just(a), mask, 0..=n).prop_map(|(a, mask, drop)| {
            // b: a suffix of a's rank, with some dims set to 1 (broadcast).
            let b: Vec<usize> = a.iter().zip(&mask).map(|(&d, &m)| if m == 0 { 1 } else { d }).skip(drop).collect();
            (a, b)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn broadcasting_binary_ops_match_interpreter(
        (a, b) in broadcast_pair(),
        swap in any::<bool>(),
        op in prop_oneof![Just(BinaryOp::Add), Just(BinaryOp::Sub), Just(BinaryOp::Mul), Just(BinaryOp::Div)],
        seed in any::<u64>(),
    ) {
        let (a, b) = if swap { (b, a) } else { (a, b) };
        let g = binary_graph(op, &a, &b, DType::F32);
        let mut rng = TestRng::new(seed);
        let e = diff(&g, &[rng.tensor(&a), rng.tensor(&b)]);
        prop_assert!(e <= TOL, "{:?} {:?} {:?}: {}", op, a, b, e);
    }
}
