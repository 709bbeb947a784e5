//! `GatherElements`, `TopK` and `CumSum` vs. the interpreter.

mod common;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{CumSumAttrs, DType, Graph, Op, TensorData, TensorType, TopKAttrs};

fn one_op(op: Op, inputs: &[TensorType]) -> Graph {
    let mut g = Graph::new("one");
    let ids = inputs.iter().enumerate().map(|(i, t)| g.add_input(format!("x{i}"), t.clone())).collect();
    let outs = g.add_node("y", op, ids).unwrap_or_else(|e| panic!("{e}"));
    g.outputs = outs;
    g
}

fn cast(t: &TensorData, dtype: DType) -> TensorData {
    Interpreter.eval_op(&Op::Cast { to: dtype }, &[t], &[]).unwrap().remove(0)
}

#[test]
fn top_k_matches_interpreter_with_ties_and_nan() {
    let v = vec![3.0, 1.0, 3.0, f32::NAN, -2.0, 1.0, 0.5, 3.0, -2.0, 7.0, 1.0, 1.0];
    let x = TensorData::from_f32([3, 4], v).unwrap();
    for (axis, k) in [(1, 3), (0, 2), (1, 4)] {
        for largest in [true, false] {
            let op = Op::TopK(TopKAttrs { axis, k, largest, sorted: true });
            let g = one_op(op.clone(), &[f32_ty(&[3, 4])]);
            assert_eq!(diff(&g, std::slice::from_ref(&x)), 0.0, "{op:?}");
            for dtype in [DType::I64, DType::I32, DType::U8, DType::I8] {
                let xi =
                    cast(&TensorData::from_i64([3, 4], vec![5, -1, 5, 2, 0, 9, 9, -3, 4, 4, 4, 1]).unwrap(), dtype);
                let g = one_op(op.clone(), &[TensorType::new(dtype, [3, 4])]);
                diff(&g, &[xi]);
            }
        }
    }
}

#[test]
fn cum_sum_matches_interpreter() {
    let mut rng = TestRng::new(9);
    let x = rng.tensor(&[3, 5, 2]);
    for axis in 0..3 {
        for (exclusive, reverse) in [(false, false), (true, false), (false, true), (true, true)] {
            let op = Op::CumSum(CumSumAttrs { axis, exclusive, reverse });
            let g = one_op(op.clone(), &[f32_ty(&[3, 5, 2])]);
            assert_eq!(diff(&g, std::slice::from_ref(&x)), 0.0, "{op:?}");
            let xi = cast(&TensorData::from_i64([2, 3], vec![100, 100, -50, 7, 120, 1]).unwrap(), DType::I8);
            if axis < 2 {
                let g = one_op(op, &[TensorType::new(DType::I8, [2, 3])]);
                diff(&g, &[xi]);
            }
        }
    }
}

#[test]
fn gather_elements_with_constant_indices_matches_interpreter() {
    let mut g = Graph::new("ge");
    let x = g.add_input("x", f32_ty(&[3, 4]));
    let idx = g.add_const("idx", TensorData::from_i64([3, 2], vec![0, -1, 3, 2, 1, 1]).unwrap());
    g.outputs = g.add_node("y", Op::GatherElements { axis: 1 }, vec![x, idx]).unwrap();
    let mut rng = TestRng::new(4);
    assert_eq!(diff(&g, &[rng.tensor(&[3, 4])]), 0.0);
}
