//! Element-wise ops: `Binary` (ONNX `Add`/`Sub`/`Mul`/`Div`, opset 14; `Max`/`Min`/`Pow`/`Mod`
//! as defined in `math.rs`) and `Unary` (activations and [`int8xc_ir::MathFn`]).

use int8xc_ir::{BinaryOp, TensorData, UnaryOp};

use super::{
    broadcast_index_map, broadcast_shapes, check_arity, check_output_size, f32_elems, float_dtype, float_tensor,
    i64_elems, int_data, tensor, OpResult,
};
use crate::error::OpErrorKind;

/// `a op b` with numpy multidirectional broadcasting; `a` and `b` have one dtype.
///
/// - Float (`f32`, `f16`): computed in `f32` (IEEE semantics: `x / 0` is ±inf or NaN).
/// - Integer (`i64` … `u8`, `i4`, `u4`): exact integer arithmetic, wrapping on overflow as
///   ONNX Runtime does; `Div` truncates toward zero (C semantics, as ONNX Runtime; numpy
///   floors instead). Division by zero is [`OpErrorKind::DivisionByZero`].
/// - `bool`: not supported (ONNX defines these ops for numbers only).
pub(crate) fn binary(inputs: &[&TensorData], op: BinaryOp) -> OpResult<TensorData> {
    check_arity(inputs, 2, 2)?;
    let (a, b) = (inputs[0], inputs[1]);
    if a.dtype() != b.dtype() {
        return Err(OpErrorKind::invalid(format!("input b has dtype {}, expected {}", b.dtype(), a.dtype())));
    }
    let out_shape = broadcast_shapes(a.shape(), b.shape())?;
    check_output_size(&out_shape)?;
    let ia = broadcast_index_map(a.shape(), &out_shape);
    let ib = broadcast_index_map(b.shape(), &out_shape);
    let dtype = a.dtype();
    if dtype.is_float() {
        float_dtype(&[a, b])?;
        let (va, vb) = (f32_elems(a)?, f32_elems(b)?);
        let out = ia.iter().zip(&ib).map(|(&i, &j)| super::math::binary_f32(op, va[i], vb[j])).collect();
        float_tensor(dtype, out_shape, out)
    } else if dtype.is_integer() {
        let (va, vb) = (i64_elems(a)?, i64_elems(b)?);
        let out = ia
            .iter()
            .zip(&ib)
            .map(|(&i, &j)| super::math::binary_i64(op, va[i], vb[j]))
            .collect::<OpResult<Vec<i64>>>()?;
        // Narrow types: the exact i64 result wrapped to the type's width equals the
        // wrapping result computed at that width (for Div: only MIN / -1 wraps).
        tensor(out_shape, int_data(dtype, &out))
    } else {
        Err(OpErrorKind::unsupported(format!("dtype {dtype}")))
    }
}

/// An activation applied element-wise to an `f32`/`f16` tensor, in `f32`, with the ONNX
/// formula cited on each [`UnaryOp`]. NaN inputs propagate for `Relu`, `LeakyRelu` and
/// `Clip` (as numpy's `maximum`/`clip` in the ONNX reference implementation).
/// `HardSwish` is `HardSigmoid` with `alpha = 1/6` (rounded to f32), `beta = 0.5`, times `x`,
/// as the ONNX function body defines it.
pub(crate) fn unary(inputs: &[&TensorData], op: UnaryOp) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let dtype = float_dtype(&[x])?;
    let hard_sigmoid = |v: f32, alpha: f32, beta: f32| {
        // NaN propagates, as numpy's maximum/minimum do
        (v * alpha + beta).clamp(0.0, 1.0)
    };
    let f = |v: f32| match op {
        UnaryOp::Relu => {
            if v < 0.0 {
                0.0
            } else {
                v
            }
        }
        UnaryOp::LeakyRelu { alpha } => {
            if v < 0.0 {
                alpha * v
            } else {
                v
            }
        }
        UnaryOp::Clip { min, max } => {
            if v < min {
                min
            } else if v > max {
                max
            } else {
                v
            }
        }
        UnaryOp::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        UnaryOp::Tanh => v.tanh(),
        UnaryOp::HardSigmoid { alpha, beta } => hard_sigmoid(v, alpha, beta),
        UnaryOp::HardSwish => v * hard_sigmoid(v, 1.0 / 6.0, 0.5),
        UnaryOp::Math(m) => super::math::math_fn(m, v),
    };
    let out = f32_elems(x)?.iter().map(|&v| f(v)).collect();
    float_tensor(dtype, x.shape().to_vec(), out)
}

#[cfg(test)]
mod tests {
    use int8xc_ir::{DType, Data, Op};

    use crate::ops::test_util::*;
    use crate::OpErrorKind;

    use super::*;

    #[test]
    fn add_broadcasts_numpy_style() {
        let a = f(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
        let b = f(&[3], &[10., 20., 30.]);
        let y = run_ok(&Op::Binary(BinaryOp::Add), &[&a, &b]);
        assert_close(&y, &[2, 3], &[11., 22., 33., 14., 25., 36.], 0.0);
        // [2,1] x [1,3] -> [2,3]
        let c = f(&[2, 1], &[1., 2.]);
        let d = f(&[1, 3], &[1., 10., 100.]);
        let y = run_ok(&Op::Binary(BinaryOp::Mul), &[&c, &d]);
        assert_close(&y, &[2, 3], &[1., 10., 100., 2., 20., 200.], 0.0);
        // scalar
        let s = f(&[], &[2.]);
        let y = run_ok(&Op::Binary(BinaryOp::Sub), &[&s, &b]);
        assert_close(&y, &[3], &[-8., -18., -28.], 0.0);
    }

    #[test]
    fn float_division_by_zero_is_ieee() {
        let a = f(&[3], &[1., -1., 0.]);
        let z = f(&[1], &[0.]);
        let y = run_ok(&Op::Binary(BinaryOp::Div), &[&a, &z]);
        let v = y.as_f32().unwrap();
        assert_eq!(v[0], f32::INFINITY);
        assert_eq!(v[1], f32::NEG_INFINITY);
        assert!(v[2].is_nan());
    }

    #[test]
    fn integer_div_truncates_toward_zero() {
        let a = i(&[4], &[7, -7, 7, -7]);
        let b = i(&[4], &[2, 2, -2, -2]);
        let y = run_ok(&Op::Binary(BinaryOp::Div), &[&a, &b]);
        assert_eq!(y.as_i64().unwrap(), &[3, -3, -3, 3]);
    }

    #[test]
    fn i64_shape_arithmetic() {
        // the shape sub-graphs exporters emit: Mul(shape[1] , shape[2]) etc.
        let a = i(&[2], &[3, 224]);
        let b = i(&[], &[2]);
        assert_eq!(run_ok(&Op::Binary(BinaryOp::Mul), &[&a, &b]).as_i64().unwrap(), &[6, 448]);
        assert_eq!(run_ok(&Op::Binary(BinaryOp::Sub), &[&a, &b]).as_i64().unwrap(), &[1, 222]);
        assert_eq!(run_ok(&Op::Binary(BinaryOp::Add), &[&a, &b]).as_i64().unwrap(), &[5, 226]);
    }

    #[test]
    fn narrow_integers_wrap() {
        let a = t(&[3], Data::I8(vec![127, -128, -128]));
        let b = t(&[3], Data::I8(vec![1, -1, -1]));
        let y = run_ok(&Op::Binary(BinaryOp::Add), &[&a, &b]);
        assert_eq!(y.data(), &Data::I8(vec![-128, 127, 127]));
        let y = run_ok(&Op::Binary(BinaryOp::Div), &[&a, &b]);
        assert_eq!(y.data(), &Data::I8(vec![127, -128, -128]));
        let u = t(&[2], Data::U8(vec![250, 3]));
        let v = t(&[2], Data::U8(vec![10, 5]));
        assert_eq!(run_ok(&Op::Binary(BinaryOp::Add), &[&u, &v]).data(), &Data::U8(vec![4, 8]));
        assert_eq!(run_ok(&Op::Binary(BinaryOp::Sub), &[&u, &v]).data(), &Data::U8(vec![240, 254]));
        let w = t(&[2], Data::I32(vec![i32::MAX, 6]));
        let x = t(&[2], Data::I32(vec![2, -4]));
        assert_eq!(run_ok(&Op::Binary(BinaryOp::Mul), &[&w, &x]).data(), &Data::I32(vec![-2, -24]));
    }

    #[test]
    fn integer_divide_by_zero_is_an_error() {
        let a = i(&[2], &[1, 2]);
        let b = i(&[2], &[1, 0]);
        let e = run(&Op::Binary(BinaryOp::Div), &[&a, &b]).unwrap_err();
        assert_eq!(e.kind(), Some(&OpErrorKind::DivisionByZero));
        assert_eq!(e.to_string(), "Div: integer division by zero");
    }

    #[test]
    fn binary_rejects_bad_inputs() {
        let a = f(&[2, 3], &[0.; 6]);
        let b = f(&[4], &[0.; 4]);
        assert!(run_err(&Op::Binary(BinaryOp::Add), &[&a, &b]).contains("do not broadcast"));
        assert!(run_err(&Op::Binary(BinaryOp::Add), &[&a]).contains("expects 2 inputs, got 1"));
        let c = i(&[3], &[1, 2, 3]);
        assert!(run_err(&Op::Binary(BinaryOp::Add), &[&a, &c]).contains("dtype"));
        let bo = t(&[1], Data::Bool(vec![true]));
        assert!(run_err(&Op::Binary(BinaryOp::Add), &[&bo, &bo]).contains("unsupported"));
    }

    #[test]
    fn f16_computes_in_f32_and_rounds_once() {
        let h = |v: &[f32]| t(&[v.len()], Data::F16(v.iter().map(|&x| half::f16::from_f32(x)).collect()));
        let y = run_ok(&Op::Binary(BinaryOp::Add), &[&h(&[1.0, 2048.0]), &h(&[0.5, 1.0])]);
        assert_eq!(y.dtype(), DType::F16);
        // 2048 + 1 = 2049 is not representable in f16; rounds to even (2048)
        assert_eq!(y.to_f32_vec(), vec![1.5, 2048.0]);
    }

    #[test]
    fn activations_follow_onnx_formulas() {
        let x = f(&[5], &[-3.0, -0.5, 0.0, 0.5, 3.0]);
        let r = |u| run_ok(&Op::Unary(u), &[&x]);
        assert_close(&r(UnaryOp::Relu), &[5], &[0., 0., 0., 0.5, 3.], 0.0);
        assert_close(&r(UnaryOp::LeakyRelu { alpha: 0.1 }), &[5], &[-0.3, -0.05, 0., 0.5, 3.], 1e-7);
        assert_close(&r(UnaryOp::Clip { min: -1.0, max: 1.0 }), &[5], &[-1., -0.5, 0., 0.5, 1.], 0.0);
        // 1/(1+e^3) = 0.04742587, 1/(1+e^0.5) = 0.37754067
        assert_close(&r(UnaryOp::Sigmoid), &[5], &[0.04742587, 0.37754067, 0.5, 0.62245933, 0.95257413], 1e-6);
        assert_close(&r(UnaryOp::Tanh), &[5], &[-0.9950548, -0.46211716, 0., 0.46211716, 0.9950548], 1e-6);
        // max(0, min(1, 0.2x + 0.5))
        assert_close(&r(UnaryOp::HardSigmoid { alpha: 0.2, beta: 0.5 }), &[5], &[0., 0.4, 0.5, 0.6, 1.], 1e-6);
        // x * max(0, min(1, x/6 + 0.5))
        assert_close(&r(UnaryOp::HardSwish), &[5], &[0., -0.5 * 0.41666666, 0., 0.5 * 0.5833333, 3.], 1e-6);
    }

    #[test]
    fn nan_propagates_through_relu_and_clip() {
        let x = f(&[1], &[f32::NAN]);
        assert!(run_ok(&Op::Unary(UnaryOp::Relu), &[&x]).as_f32().unwrap()[0].is_nan());
        assert!(run_ok(&Op::Unary(UnaryOp::Clip { min: 0.0, max: 6.0 }), &[&x]).as_f32().unwrap()[0].is_nan());
    }

    #[test]
    fn unary_rejects_integers() {
        let x = i(&[1], &[1]);
        assert!(run_err(&Op::Unary(UnaryOp::Relu), &[&x]).contains("unsupported: dtype i64"));
    }
}
