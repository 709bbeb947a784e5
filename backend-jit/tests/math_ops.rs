//! Math functions, comparisons, selection and reductions vs. the interpreter.

mod common;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{
    BinaryOp, CompareOp, DType, Data, Graph, LogicalOp, MathFn, Op, PadAttrs, PadMode, ReduceKind, TensorData,
    TensorType, UnaryOp,
};

fn one_op(op: Op, inputs: &[TensorType]) -> Graph {
    let mut g = Graph::new("one");
    let ids = inputs.iter().enumerate().map(|(i, t)| g.add_input(format!("x{i}"), t.clone())).collect();
    let y = node(&mut g, "y", op, ids);
    g.outputs.push(y);
    g
}

fn bools(rng: &mut TestRng, shape: &[usize]) -> TensorData {
    let n = shape.iter().product();
    TensorData::new(shape.to_vec(), Data::Bool((0..n).map(|_| rng.next_u64() & 1 == 1).collect())).unwrap()
}

fn bool_ty(shape: &[usize]) -> TensorType {
    TensorType::new(DType::Bool, shape.to_vec())
}

#[test]
fn math_functions_match_interpreter() {
    let fns = [
        (MathFn::Abs, 0.0),
        (MathFn::Neg, 0.0),
        (MathFn::Sqrt, 0.0),
        (MathFn::Reciprocal, 0.0),
        (MathFn::Floor, 0.0),
        (MathFn::Ceil, 0.0),
        (MathFn::Round, 0.0),
        (MathFn::Exp, 0.0),
        (MathFn::Log, 0.0),
        (MathFn::Erf, 2e-6),
        (MathFn::Sign, 0.0),
        (MathFn::Softplus, 0.0),
        (MathFn::Softsign, 0.0),
        (MathFn::Mish, 0.0),
        (MathFn::Elu { alpha: 2.0 }, 0.0),
        (MathFn::Selu { alpha: 1.67, gamma: 1.05 }, 0.0),
        (MathFn::Celu { alpha: 2.0 }, 0.0),
        (MathFn::ThresholdedRelu { alpha: 1.0 }, 0.0),
        (MathFn::Swish { alpha: 0.5 }, 0.0),
        (MathFn::Gelu { tanh: false }, 2e-6),
        (MathFn::Gelu { tanh: true }, 0.0),
        (MathFn::Shrink { lambd: 0.5, bias: 0.25 }, 0.0),
    ];
    let mut rng = TestRng::new(7);
    for (f, extra) in fns {
        for shape in [vec![1usize], vec![3, 5], vec![2, 67]] {
            let g = one_op(Op::Unary(UnaryOp::Math(f)), &[f32_ty(&shape)]);
            let mut x = rng.tensor_scaled(&shape, 6.0);
            if matches!(f, MathFn::Sqrt | MathFn::Log) {
                x = TensorData::from_f32(shape.clone(), x.as_f32().unwrap().iter().map(|v| v.abs()).collect()).unwrap();
            }
            let e = diff(&g, &[x]);
            assert!(e <= TOL + extra, "{f:?} {shape:?}: max error {e}");
        }
    }
}

#[test]
fn log_handles_special_values() {
    let v = vec![0.0, -1.0, f32::INFINITY, f32::NAN, 1.0, f32::MIN_POSITIVE, 3.0e38, 0.5];
    let g = one_op(Op::Unary(UnaryOp::Math(MathFn::Log)), &[f32_ty(&[v.len()])]);
    let x = TensorData::from_f32([v.len()], v).unwrap();
    assert!(diff(&g, &[x]) <= TOL);
}

#[test]
fn trig_functions_match_interpreter() {
    // (function, input scale, input offset, allowed relative error)
    let fns = [
        (MathFn::Sin, 20.0, 0.0, 2e-5),
        (MathFn::Cos, 20.0, 0.0, 2e-5),
        (MathFn::Tan, 1.5, 0.0, 2e-5),
        (MathFn::Asin, 1.0, 0.0, 2e-5),
        (MathFn::Acos, 1.0, 0.0, 2e-5),
        (MathFn::Atan, 10.0, 0.0, 2e-5),
        (MathFn::Sinh, 5.0, 0.0, 2e-5),
        (MathFn::Cosh, 5.0, 0.0, 2e-5),
        (MathFn::Asinh, 10.0, 0.0, 2e-5),
        (MathFn::Acosh, 5.0, 6.0, 2e-5),
        (MathFn::Atanh, 0.99, 0.0, 2e-5),
    ];
    let mut rng = TestRng::new(11);
    for (f, scale, offset, tol) in fns {
        for shape in [vec![1usize], vec![2, 67]] {
            let g = one_op(Op::Unary(UnaryOp::Math(f)), &[f32_ty(&shape)]);
            let x = rng.tensor_scaled(&shape, scale);
            let x =
                TensorData::from_f32(shape.clone(), x.as_f32().unwrap().iter().map(|v| v + offset).collect()).unwrap();
            let e = diff(&g, &[x]);
            assert!(e <= tol, "{f:?} {shape:?}: max error {e}");
        }
    }
    // tiny arguments take the series branches
    for f in [MathFn::Sinh, MathFn::Asinh, MathFn::Atanh, MathFn::Sin, MathFn::Atan] {
        let v = vec![1e-6, -3e-4, 0.02, -0.03, 0.0];
        let g = one_op(Op::Unary(UnaryOp::Math(f)), &[f32_ty(&[v.len()])]);
        let e = diff(&g, &[TensorData::from_f32([v.len()], v).unwrap()]);
        assert!(e <= 2e-5, "{f:?} small: max error {e}");
    }
}

#[test]
fn max_min_match_interpreter() {
    let mut rng = TestRng::new(3);
    for op in [BinaryOp::Max, BinaryOp::Min] {
        let g = one_op(Op::Binary(op), &[f32_ty(&[3, 8]), f32_ty(&[8])]);
        assert!(diff(&g, &[rng.tensor(&[3, 8]), rng.tensor(&[8])]) <= TOL);
        let t = TensorType::new(DType::I64, [5]);
        let g = one_op(Op::Binary(op), &[t.clone(), t]);
        let a = TensorData::from_i64([5], vec![-3, 4, 9, i64::MIN, 0]).unwrap();
        let b = TensorData::from_i64([5], vec![2, 4, -9, 7, 0]).unwrap();
        diff(&g, &[a, b]);
    }
}

#[test]
fn compare_logical_where_expand_match_interpreter() {
    let mut rng = TestRng::new(11);
    for (c, _) in CompareOp::ALL {
        let g = one_op(Op::Compare(c), &[f32_ty(&[4, 1, 6]), f32_ty(&[5, 1])]);
        let mut b = rng.tensor(&[5, 1]);
        if let Data::F32(v) = b.data_mut() {
            v[0] = f32::NAN;
        }
        diff(&g, &[rng.tensor(&[4, 1, 6]), b]);
        let t = TensorType::new(DType::U8, [7]);
        let g = one_op(Op::Compare(c), &[t.clone(), t]);
        let a = TensorData::new([7], Data::U8(vec![0, 1, 200, 255, 3, 3, 128])).unwrap();
        let b = TensorData::new([7], Data::U8(vec![1, 1, 100, 0, 3, 4, 127])).unwrap();
        diff(&g, &[a, b]);
    }
    for (l, _) in LogicalOp::ALL {
        let g = one_op(Op::Logical(l), &[bool_ty(&[3, 4]), bool_ty(&[4])]);
        diff(&g, &[bools(&mut rng, &[3, 4]), bools(&mut rng, &[4])]);
    }
    let g = one_op(Op::Not, &[bool_ty(&[9])]);
    diff(&g, &[bools(&mut rng, &[9])]);
    let g = one_op(Op::Where, &[bool_ty(&[2, 1, 5]), f32_ty(&[3, 5]), f32_ty(&[])]);
    assert!(diff(&g, &[bools(&mut rng, &[2, 1, 5]), rng.tensor(&[3, 5]), rng.tensor(&[])]) == 0.0);
    let t = TensorType::new(DType::I64, [2]);
    let g = one_op(Op::Where, &[bool_ty(&[2]), t.clone(), t]);
    let (x, y) = (TensorData::from_i64([2], vec![1, 2]).unwrap(), TensorData::from_i64([2], vec![-1, -2]).unwrap());
    diff(&g, &[bools(&mut rng, &[2]), x, y]);
    let g = one_op(Op::Expand { shape: vec![2, 3, 4] }, &[f32_ty(&[3, 1])]);
    assert!(diff(&g, &[rng.tensor(&[3, 1])]) == 0.0);
}

#[test]
fn reductions_match_interpreter() {
    let mut rng = TestRng::new(5);
    for (kind, _) in ReduceKind::ALL {
        for (axes, keepdims) in [(vec![1], false), (vec![0, 2], true), (vec![], true), (vec![0, 1, 2], false)] {
            let g = one_op(Op::Reduce { kind, axes: axes.clone(), keepdims }, &[f32_ty(&[3, 4, 5])]);
            let mut x = rng.tensor_scaled(&[3, 4, 5], 2.0);
            if kind == ReduceKind::LogSum {
                x = TensorData::from_f32([3, 4, 5], x.as_f32().unwrap().iter().map(|v| v.abs()).collect()).unwrap();
            }
            let e = diff(&g, &[x]);
            assert!(e <= TOL, "{kind:?} {axes:?}: max error {e}");
        }
    }
}

#[test]
fn log_softmax_matches_interpreter() {
    let mut rng = TestRng::new(9);
    for axis in 0..3 {
        let g = one_op(Op::LogSoftmax { axis }, &[f32_ty(&[3, 4, 5])]);
        let e = diff(&g, &[rng.tensor_scaled(&[3, 4, 5], 20.0)]);
        assert!(e <= TOL, "axis {axis}: max error {e}");
    }
}

#[test]
fn pow_and_mod_match_interpreter_on_floats() {
    let mut rng = TestRng::new(21);
    let base = rng.tensor_scaled(&[4, 9], 4.0);
    // integer and fractional exponents, including negative bases with integer exponents
    let exps: Vec<f32> = (0..9).map(|i| [2.0, 3.0, -1.0, 0.5, 0.0, -2.0, 1.5, 4.0, -3.0][i]).collect();
    let g = one_op(Op::Binary(BinaryOp::Pow), &[f32_ty(&[4, 9]), f32_ty(&[9])]);
    let e = diff(&g, &[base.clone(), TensorData::from_f32([9], exps).unwrap()]);
    assert!(e <= 1e-4, "Pow: max error {e}");
    let special = vec![0.0, 0.0, 1.0, f32::NAN, -2.0, 0.0];
    let special_exp = vec![2.0, -1.0, f32::NAN, 0.0, 0.5, 0.0];
    let g = one_op(Op::Binary(BinaryOp::Pow), &[f32_ty(&[6]), f32_ty(&[6])]);
    let x = [TensorData::from_f32([6], special).unwrap(), TensorData::from_f32([6], special_exp).unwrap()];
    assert!(diff(&g, &x) <= TOL);
    for fmod in [false, true] {
        let g = one_op(Op::Binary(BinaryOp::Mod { fmod }), &[f32_ty(&[4, 9]), f32_ty(&[9])]);
        let divisors = rng.tensor_scaled(&[9], 3.0);
        assert!(diff(&g, &[base.clone(), divisors]) <= TOL, "Mod fmod={fmod}");
        let a = vec![5.0, -5.0, 3.0, f32::INFINITY, -0.0, 7.5];
        let b = vec![f32::INFINITY, f32::NEG_INFINITY, 0.0, 2.0, 3.0, -2.0];
        let g = one_op(Op::Binary(BinaryOp::Mod { fmod }), &[f32_ty(&[6]), f32_ty(&[6])]);
        let x = [TensorData::from_f32([6], a).unwrap(), TensorData::from_f32([6], b).unwrap()];
        assert!(diff(&g, &x) <= TOL, "Mod fmod={fmod} special values");
    }
}

#[test]
fn pow_mod_max_min_match_interpreter_on_integers() {
    let a: Vec<i64> = vec![3, -3, 7, -7, 0, 1, -1, 2, 5, -128, 127, 100];
    let b: Vec<i64> = vec![2, 3, -2, 2, 5, -4, -3, 7, 0, -1, 3, -7];
    for dtype in [DType::I64, DType::I32, DType::I16, DType::I8, DType::U8] {
        let data = |v: &[i64]| {
            let t = TensorData::from_i64([v.len()], v.to_vec()).unwrap();
            Interpreter.eval_op(&Op::Cast { to: dtype }, &[&t], &[]).unwrap().remove(0)
        };
        let t = TensorType::new(dtype, [a.len()]);
        for op in [BinaryOp::Max, BinaryOp::Min, BinaryOp::Mod { fmod: false }, BinaryOp::Mod { fmod: true }] {
            // the interpreter rejects a zero divisor; the JIT writes 0 there
            let b: Vec<i64> = b.iter().map(|&v| if v == 0 { 1 } else { v }).collect();
            let g = one_op(Op::Binary(op), &[t.clone(), t.clone()]);
            diff(&g, &[data(&a), data(&b)]);
        }
        // Pow: exponents 0..=9 and negative ones; 0^-n is a division by zero
        let pa: Vec<i64> = vec![3, -3, 7, 2, 1, -1, -1, 5, 0, 4];
        let pb: Vec<i64> = vec![0, 3, 2, 9, -4, -3, -2, -1, 4, 1];
        let t = TensorType::new(dtype, [pa.len()]);
        let g = one_op(Op::Binary(BinaryOp::Pow), &[t.clone(), t]);
        diff(&g, &[data(&pa), data(&pb)]);
    }
}

#[test]
fn pad_matches_interpreter_in_every_mode() {
    let mut rng = TestRng::new(5);
    let x = rng.tensor(&[2, 3, 4]);
    for mode in [PadMode::Constant, PadMode::Reflect, PadMode::Edge, PadMode::Wrap] {
        let op = Op::Pad(PadAttrs { mode, begin: vec![1, 2, 0], end: vec![0, 1, 3], value: 1.5 });
        let g = one_op(op, &[f32_ty(&[2, 3, 4])]);
        assert_eq!(diff(&g, std::slice::from_ref(&x)), 0.0, "{mode:?}");
    }
    let xi = TensorData::from_i64([2, 2], vec![1, 2, 3, 4]).unwrap();
    let op = Op::Pad(PadAttrs { mode: PadMode::Constant, begin: vec![1, 1], end: vec![1, 0], value: -7.0 });
    let g = one_op(op, &[TensorType::new(DType::I64, [2, 2])]);
    diff(&g, &[xi]);
}
