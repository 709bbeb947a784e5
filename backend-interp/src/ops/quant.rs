//! Quantize and dequantize: `QuantizeLinear`, `DequantizeLinear` (ONNX opsets 10–21,
//! per-tensor, per-axis and blocked) and `DynamicQuantizeLinear` (opset 11), plus the helpers
//! the other quantized ops share.
//!
//! Inputs have passed `int8xc_ir::infer_types` for their types (see `eval_op_typed`), so the
//! quantization parameters an op reads exist and have the right granularity.

use int8xc_ir::{quant_range, quantize_f32, DType, QuantParams, TensorData, TensorType};

use super::{f32_elems, i64_elems, int_data, tensor, OpResult};
use crate::error::OpErrorKind;

/// The elements of an integer tensor as `i32` (quantized values always fit).
pub(crate) fn ints(t: &TensorData) -> OpResult<Vec<i32>> {
    Ok(i64_elems(t)?.into_iter().map(|v| v.clamp(i32::MIN as i64, i32::MAX as i64) as i32).collect())
}

/// The parameters of a quantized input type.
pub(crate) fn params<'a>(what: &str, ty: &'a TensorType) -> OpResult<&'a QuantParams> {
    ty.quant.as_ref().ok_or_else(|| OpErrorKind::invalid(format!("{what} {ty} has no quantization parameters")))
}

/// `(scale, zero_point)` of a per-tensor quantized input type.
pub(crate) fn per_tensor(what: &str, ty: &TensorType) -> OpResult<(f32, i32)> {
    let q = params(what, ty)?;
    match (q.axis, q.scale.as_slice(), q.zero_point.as_slice()) {
        (None, [s], [z]) => Ok((*s, *z)),
        _ => Err(OpErrorKind::invalid(format!("{what} {ty} must be quantized per tensor"))),
    }
}

/// The range of a quantized dtype (the full `i32` range for others).
pub(crate) fn range(dtype: DType) -> (i32, i32) {
    quant_range(dtype).unwrap_or((i32::MIN, i32::MAX))
}

/// A tensor of quantized `dtype` holding `vals` (already within range).
pub(crate) fn quantized(dtype: DType, shape: Vec<usize>, vals: &[i32]) -> OpResult<TensorData> {
    let wide: Vec<i64> = vals.iter().map(|&v| v as i64).collect();
    tensor(shape, int_data(dtype, &wide))
}

/// ONNX `QuantizeLinear`: [`int8xc_ir::quantize_f32`] per element with the element's
/// parameter pair (per tensor, per axis or per block).
pub(crate) fn quantize_linear(x: &TensorData, dtype: DType, q: &QuantParams) -> OpResult<TensorData> {
    let xv = f32_elems(x)?;
    let map = q.param_index_map(x.shape());
    let r = range(dtype);
    let mut out = Vec::with_capacity(xv.len());
    for (v, &p) in xv.iter().zip(&map) {
        let (s, z) = pair(q, p)?;
        out.push(quantize_f32(*v, s, z, r));
    }
    quantized(dtype, x.shape().to_vec(), &out)
}

fn pair(q: &QuantParams, p: usize) -> OpResult<(f32, i32)> {
    match (q.scale.get(p), q.zero_point.get(p)) {
        (Some(&s), Some(&z)) => Ok((s, z)),
        _ => Err(OpErrorKind::invalid(format!("quantization parameter {p} out of range"))),
    }
}

/// ONNX `DequantizeLinear`: `f32(x - zero_point) * scale` per element
/// ([`int8xc_ir::dequantize`]), parameters from `x`'s type.
pub(crate) fn dequantize_linear(x: &TensorData, ty: &TensorType) -> OpResult<TensorData> {
    let q = params("input", ty)?;
    if !x.dtype().is_integer() {
        return Err(OpErrorKind::invalid(format!("input has dtype {}, expected integers", x.dtype())));
    }
    int8xc_ir::dequantize_tensor(x, q)
        .ok_or_else(|| OpErrorKind::invalid(format!("input {ty}: too few quantization parameters for its shape")))
}

/// The run-time `scale` and `zero_point` tensors of the `*DynamicParams` ops as
/// [`QuantParams`] (per tensor, or per `axis`), so they share the static ops' code.
fn runtime_params(scale: &TensorData, zero_point: &TensorData, axis: Option<usize>) -> OpResult<QuantParams> {
    let scale = f32_elems(scale)?.into_owned();
    let zero_point = ints(zero_point)?;
    Ok(QuantParams { scale, zero_point, axis, block_size: None })
}

/// ONNX `QuantizeLinear` with run-time parameters (`x`, `y_scale`, `y_zero_point`; shapes
/// checked by shape inference): exactly [`quantize_linear`] with those parameters, to the
/// zero point's dtype.
pub(crate) fn quantize_linear_dynamic_params(inputs: &[&TensorData], axis: Option<usize>) -> OpResult<TensorData> {
    let [x, scale, zp] = inputs else { return Err(OpErrorKind::invalid("expects 3 inputs")) };
    quantize_linear(x, zp.dtype(), &runtime_params(scale, zp, axis)?)
}

/// ONNX `DequantizeLinear` with run-time parameters (`x`, `x_scale`, `x_zero_point`):
/// exactly [`dequantize_linear`] with those parameters (any in `x`'s type are ignored).
pub(crate) fn dequantize_linear_dynamic_params(inputs: &[&TensorData], axis: Option<usize>) -> OpResult<TensorData> {
    let [x, scale, zp] = inputs else { return Err(OpErrorKind::invalid("expects 3 inputs")) };
    let q = runtime_params(scale, zp, axis)?;
    dequantize_linear(x, &TensorType { dtype: x.dtype(), shape: x.shape().to_vec(), quant: Some(q) })
}

/// `(scale, zero_point)` of ONNX Runtime's dynamic quantization to `u8`
/// (`GetQuantizationParameter` in `core/providers/cpu/quantization/quantize_linear.cc` /
/// `dynamicquantizelinear.cc`): the range `[min(0, min x), max(0, max x)]` (NaNs skipped),
/// `scale = (max - min) / 255` (1 when the range is empty), `zero_point =
/// round_half_to_even(clamp(0 - min / scale, 0, 255))`.
pub(crate) fn dynamic_params(x: &[f32]) -> (f32, i32) {
    let (mut lo, mut hi) = (0.0f32, 0.0f32);
    for &v in x {
        if v < lo {
            lo = v;
        }
        if v > hi {
            hi = v;
        }
    }
    let scale = if hi == lo { 1.0 } else { (hi - lo) / 255.0 };
    let initial = 0.0 - lo / scale;
    let zp = initial.clamp(0.0, 255.0).round_ties_even() as i32;
    (scale, zp)
}

/// ONNX `DynamicQuantizeLinear`: outputs `y` `u8`, `y_scale` `f32[]`, `y_zero_point` `u8[]`.
pub(crate) fn dynamic_quantize_linear(x: &TensorData) -> OpResult<Vec<TensorData>> {
    let xv = f32_elems(x)?;
    let (scale, zp) = dynamic_params(&xv);
    let y: Vec<i32> = xv.iter().map(|&v| quantize_f32(v, scale, zp, (0, 255))).collect();
    Ok(vec![
        quantized(DType::U8, x.shape().to_vec(), &y)?,
        TensorData::scalar_f32(scale),
        quantized(DType::U8, vec![], &[zp])?,
    ])
}

#[cfg(test)]
mod tests {
    use int8xc_ir::{Data, Op, QuantParams, TensorType};

    use crate::ops::test_util::*;
    use crate::Interpreter;

    fn run_typed(op: &Op, inputs: &[(&TensorData, TensorType)]) -> Result<Vec<TensorData>, String> {
        let data: Vec<&TensorData> = inputs.iter().map(|(d, _)| *d).collect();
        let types: Vec<&TensorType> = inputs.iter().map(|(_, t)| t).collect();
        Interpreter.eval_op_typed(op, &data, &types, &[]).map_err(|e| e.to_string())
    }
    use int8xc_ir::TensorData;

    fn qty(dtype: int8xc_ir::DType, shape: &[usize], q: QuantParams) -> TensorType {
        TensorType { dtype, shape: shape.to_vec(), quant: Some(q) }
    }

    // Expected values: onnxruntime 1.31.1, QuantizeLinear / DequantizeLinear opset 21
    // single-node models with these inputs (see tests/data/gen.py for the harness). More
    // cases, for every quantized op, are in tests/quant_matches_ort.rs.
    #[test]
    fn quantize_linear_per_tensor_matches_ort() {
        let x = f(&[8], &[-1.0, -0.25, 0.0, 0.25, 0.75, 1.25, 100.0, -100.0]);
        let op = Op::QuantizeLinear { dtype: int8xc_ir::DType::U8, params: QuantParams::per_tensor(0.5, 3) };
        let y = &run_typed(&op, &[(&x, f32t(&[8]))]).unwrap()[0];
        // x / 0.5 = -2, -0.5, 0, 0.5, 1.5, 2.5, 200, -200 → rne → -2, -0, 0, 0, 2, 2, 200, -200
        assert_eq!(y.data(), &Data::U8(vec![1, 3, 3, 3, 5, 5, 203, 0]));
        let op = Op::QuantizeLinear { dtype: int8xc_ir::DType::I4, params: QuantParams::per_tensor(0.5, -1) };
        let y = &run_typed(&op, &[(&x, f32t(&[8]))]).unwrap()[0];
        assert_eq!(y.to_i64_vec().unwrap(), vec![-3, -1, -1, -1, 1, 1, 7, -8]);
    }

    #[test]
    fn quantize_and_dequantize_per_axis_and_blocked() {
        let x = f(&[2, 4], &[0.1, 0.2, 0.3, 0.4, -0.1, -0.2, -0.3, -0.4]);
        let pa = QuantParams::per_axis(0, vec![0.1, 0.05], vec![0, 10]);
        let op = Op::QuantizeLinear { dtype: int8xc_ir::DType::I8, params: pa.clone() };
        let y = run_typed(&op, &[(&x, f32t(&[2, 4]))]).unwrap().remove(0);
        assert_eq!(y.data(), &Data::I8(vec![1, 2, 3, 4, 8, 6, 4, 2]));
        let back = run_typed(&Op::DequantizeLinear, &[(&y, qty(int8xc_ir::DType::I8, &[2, 4], pa))]).unwrap();
        assert_close(&back[0], &[2, 4], &[0.1, 0.2, 0.3, 0.4, -0.1, -0.2, -0.3, -0.4], 1e-6);
        let blocked =
            QuantParams { block_size: Some(2), ..QuantParams::per_axis(1, vec![0.1, 0.2, 0.1, 0.2], vec![0; 4]) };
        let op = Op::QuantizeLinear { dtype: int8xc_ir::DType::I8, params: blocked };
        let y = run_typed(&op, &[(&x, f32t(&[2, 4]))]).unwrap().remove(0);
        assert_eq!(y.data(), &Data::I8(vec![1, 2, 2, 2, -1, -2, -2, -2]));
    }

    #[test]
    fn dequantize_without_params_is_an_error() {
        let x = t(&[2], Data::U8(vec![1, 2]));
        let e = run_typed(&Op::DequantizeLinear, &[(&x, TensorType::new(int8xc_ir::DType::U8, [2]))]).unwrap_err();
        assert!(e.contains("has no quantization parameters"), "{e}");
    }

    #[test]
    fn dynamic_params_ops_equal_the_static_ops_bit_for_bit() {
        use int8xc_ir::DType;
        let xs: Vec<f32> =
            (0..24).map(|i| (i as f32 - 11.3) * 0.37).chain([f32::NAN, 1e9, -1e9, 0.5, -0.5, 2.5, -2.5, 0.0]).collect();
        let x = f(&[4, 8], &xs);
        let cases = [
            (DType::U8, QuantParams::per_tensor(0.05, 131)),
            (DType::I8, QuantParams::per_axis(0, vec![0.5, 0.1, 1.0, 0.25], vec![-3, 0, 7, 127])),
            (
                DType::I16,
                QuantParams::per_axis(1, (1..=8).map(|k| k as f32 * 0.01).collect(), vec![-9, 0, 1, 2, 3, 4, 5, 300]),
            ),
            (DType::I4, QuantParams::per_tensor(0.5, -1)),
            (DType::U4, QuantParams::per_axis(0, vec![1.0, 2.0, 0.5, 0.1], vec![0, 3, 8, 15])),
        ];
        for (dtype, q) in cases {
            let ps = q.scale.len();
            let pshape: Vec<usize> = if q.axis.is_some() { vec![ps] } else { vec![] };
            let scale = f(&pshape, &q.scale);
            let zp = crate::ops::quant::quantized(dtype, pshape.clone(), &q.zero_point).unwrap();
            let stat = run_typed(&Op::QuantizeLinear { dtype, params: q.clone() }, &[(&x, f32t(&[4, 8]))]).unwrap();
            let dynamic_op = Op::QuantizeLinearDynamicParams { axis: q.axis };
            let dynamic = Interpreter.eval_op(&dynamic_op, &[&x, &scale, &zp], &[]).unwrap();
            assert_eq!(stat[0].data(), dynamic[0].data(), "{dtype} {q:?}");
            let back_static = run_typed(&Op::DequantizeLinear, &[(&stat[0], qty(dtype, &[4, 8], q.clone()))]).unwrap();
            let dq = Op::DequantizeLinearDynamicParams { axis: q.axis };
            let back = Interpreter.eval_op(&dq, &[&dynamic[0], &scale, &zp], &[]).unwrap();
            let bits = |t: &TensorData| t.as_f32().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&back_static[0]), bits(&back[0]), "{dtype} {q:?}");
        }
    }

    // onnxruntime 1.31.1 DynamicQuantizeLinear (opset 11).
    #[test]
    fn dynamic_quantize_linear_matches_ort() {
        let x = f(&[6], &[0.0, 2.0, -3.0, -2.5, 1.34, 0.5]);
        let out = run_typed(&Op::DynamicQuantizeLinear, &[(&x, f32t(&[6]))]).unwrap();
        assert_eq!(out[1].as_f32().unwrap(), &[5.0f32 / 255.0]);
        assert_eq!(out[2].data(), &Data::U8(vec![153]));
        assert_eq!(out[0].data(), &Data::U8(vec![153, 255, 0, 26, 221, 179]));
        // all zeros: scale 1, zero point 0
        let z = f(&[2], &[0.0, 0.0]);
        let out = run_typed(&Op::DynamicQuantizeLinear, &[(&z, f32t(&[2]))]).unwrap();
        assert_eq!((out[1].as_f32().unwrap()[0], out[2].data()), (1.0, &Data::U8(vec![0])));
    }
}
