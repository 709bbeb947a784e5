//! `QuantizeLinearDynamicParams` / `DequantizeLinearDynamicParams` (scale and zero point as
//! run-time tensors) vs. the interpreter: bit-exact, per tensor and per axis, random shapes.

mod common;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{DType, Graph, Op, TensorData, TensorType};
use proptest::prelude::*;

/// `q = QuantizeLinearDynamicParams(x, scale, zp)`, `d = DequantizeLinearDynamicParams(q, scale,
/// zp)`, all three operands graph inputs; outputs `q` and `d`.
fn graph(x: &[usize], pshape: &[usize], dtype: DType, axis: Option<usize>) -> Graph {
    let mut g = Graph::new("qdq_dynamic");
    let xv = g.add_input("x", f32_ty(x));
    let s = g.add_input("scale", f32_ty(pshape));
    let z = g.add_input("zero_point", TensorType::new(dtype, pshape.to_vec()));
    let q = node(&mut g, "q", Op::QuantizeLinearDynamicParams { axis }, vec![xv, s, z]);
    let d = node(&mut g, "d", Op::DequantizeLinearDynamicParams { axis }, vec![q, s, z]);
    g.outputs = vec![q, d];
    g
}

/// Zero points spread over `dtype`'s range.
fn zero_points(rng: &mut TestRng, n: usize, dtype: DType) -> TensorData {
    let (lo, hi) = int8xc_ir::quant_range(dtype).unwrap();
    let v: Vec<i64> = (0..n).map(|_| i64::from(lo) + (rng.next_u64() % (hi - lo + 1) as u64) as i64).collect();
    let t = TensorData::from_i64([n], v).unwrap();
    Interpreter.eval_op(&Op::Cast { to: dtype }, &[&t], &[]).unwrap().remove(0)
}

/// Checks both outputs bit for bit (the `f32` dequantized output too) with `threads`.
fn check(g: &Graph, inputs: &[TensorData], threads: usize) {
    assert_eq!(diff_with_threads(g, inputs, threads), 0.0);
}

#[test]
fn per_tensor_matches_interpreter_for_each_dtype_and_scale() {
    let mut rng = TestRng::new(21);
    let mut v: Vec<f32> = rng.tensor_scaled(&[3, 37], 40.0).as_f32().unwrap().to_vec();
    v[..6].copy_from_slice(&[f32::NAN, f32::INFINITY, -f32::INFINITY, 0.5, 1.5, -2.5]);
    let x = TensorData::from_f32([3, 37], v).unwrap();
    for dtype in [DType::U8, DType::I8, DType::I16, DType::U4, DType::I4] {
        for scale in [0.37f32, 1.0, 1e-3, 250.0, 0.0, -0.5, f32::NAN] {
            for pshape in [vec![], vec![1]] {
                let g = graph(&[3, 37], &pshape, dtype, None);
                let zp = zero_points(&mut rng, 1, dtype).reshaped(pshape.clone()).unwrap();
                let s = TensorData::from_f32(pshape.clone(), vec![scale]).unwrap();
                check(&g, &[x.clone(), s, zp], 1);
            }
        }
    }
}

#[test]
fn per_axis_matches_interpreter_on_every_axis() {
    let mut rng = TestRng::new(22);
    let shape = [2, 5, 3, 7];
    let x = rng.tensor_scaled(&shape, 10.0);
    for axis in 0..4 {
        for dtype in [DType::U8, DType::I8, DType::I16, DType::U4, DType::I4] {
            let d = shape[axis];
            let g = graph(&shape, &[d], dtype, Some(axis));
            let s: Vec<f32> = (0..d).map(|_| rng.f32().abs() * 0.2 + 0.01).collect();
            let inputs = [x.clone(), TensorData::from_f32([d], s).unwrap(), zero_points(&mut rng, d, dtype)];
            check(&g, &inputs, 1);
            check(&g, &inputs, 3);
        }
    }
}

#[test]
fn long_runs_split_into_chunks_match_interpreter() {
    let mut rng = TestRng::new(23);
    let x = rng.tensor_scaled(&[2, 40_001], 3.0);
    for dtype in [DType::I8, DType::I4] {
        let g = graph(&[2, 40_001], &[2], dtype, Some(0));
        let inputs = [x.clone(), TensorData::from_f32([2], vec![0.02, 0.5]).unwrap(), zero_points(&mut rng, 2, dtype)];
        check(&g, &inputs, 2);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_shapes_match_interpreter(
        dims in prop::collection::vec(1usize..6, 1..4),
        axis_pick in 0usize..4,
        dtype_pick in 0usize..5,
        seed in 0u64..1000,
        threads in 1usize..3,
    ) {
        let dtype = [DType::U8, DType::I8, DType::I16, DType::U4, DType::I4][dtype_pick];
        let mut rng = TestRng::new(seed);
        let x = rng.tensor_scaled(&dims, 50.0);
        let axis = (axis_pick < dims.len()).then_some(axis_pick);
        let n = axis.map_or(1, |a| dims[a]);
        let pshape: Vec<usize> = if axis.is_some() { vec![n] } else { vec![] };
        let s: Vec<f32> = (0..n).map(|_| rng.f32().abs() + 0.001).collect();
        let zp = zero_points(&mut rng, n, dtype).reshaped(pshape.clone()).unwrap();
        let g = graph(&dims, &pshape, dtype, axis);
        check(&g, &[x, TensorData::from_f32(pshape, s).unwrap(), zp], threads);
    }
}
