//! ONNX Runtime's QOperator element-wise ops: `QLinearAdd`, `QLinearMul`
//! ([`int8xc_ir::Op::QLinearBinary`]), the lookup-table activations (`QLinearLeakyRelu`,
//! `QLinearSigmoid`, … [`int8xc_ir::Op::QLinearUnary`]) and `QLinearConcat`. Each follows the
//! ONNX Runtime kernel named on its IR variant, operation for operation, so that results are
//! bit-identical.

use int8xc_ir::{qlinear_activation, qlinear_lookup_table, BinaryOp, DType, TensorData, TensorType, UnaryOp};

use super::quant::{ints, per_tensor, quantized, range};
use super::{broadcast_index_map, broadcast_shapes, check_output_size, OpResult};
use crate::error::OpErrorKind;

/// `QLinearAdd` / `QLinearMul` (see [`int8xc_ir::Op::QLinearBinary`]).
pub(crate) fn qlinear_binary(
    inputs: &[&TensorData],
    types: &[&TensorType],
    op: BinaryOp,
    out_scale: f32,
    out_zp: i32,
) -> OpResult<TensorData> {
    let (a, b) = (inputs[0], inputs[1]);
    let (sa, za) = per_tensor("input a", types[0])?;
    let (sb, zb) = per_tensor("input b", types[1])?;
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    check_output_size(&shape)?;
    let (ia, ib) = (broadcast_index_map(a.shape(), &shape), broadcast_index_map(b.shape(), &shape));
    let (av, bv) = (ints(a)?, ints(b)?);
    let dtype = a.dtype();
    let (lo, hi) = range(dtype);
    let sat = |v: f32| (v.round_ties_even() as i64).clamp(lo as i64, hi as i64) as i32;
    let get = |v: &[i32], i: usize| v.get(i).copied().unwrap_or(0) as f32;
    let y: Vec<i32> = match op {
        BinaryOp::Add => {
            // qladd_avx2.cpp: ratios, the fixed part, then one fma per operand
            let (ra, rb) = (sa / out_scale, sb / out_scale);
            let fixed = out_zp as f32 - (ra * za as f32 + rb * zb as f32);
            let (scalar_a, scalar_b) = int8xc_ir::qlinear_scalar_operand(a.shape(), b.shape(), &shape);
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| {
                    let (x, w) = (get(&av, i), get(&bv, j));
                    sat(if scalar_a {
                        w.mul_add(rb, fixed + x * ra)
                    } else if scalar_b {
                        x.mul_add(ra, fixed + w * rb)
                    } else {
                        x.mul_add(ra, w.mul_add(rb, fixed))
                    })
                })
                .collect()
        }
        BinaryOp::Mul => {
            // qlmul.cpp (SSE2): integer product, one f32 multiply, add the zero point
            let r = sa * sb / out_scale;
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| {
                    let p = (av.get(i).copied().unwrap_or(0) - za) * (bv.get(j).copied().unwrap_or(0) - zb);
                    sat(p as f32 * r + out_zp as f32)
                })
                .collect()
        }
        other => return Err(OpErrorKind::unsupported(format!("QLinear form of {other:?}"))),
    };
    quantized(dtype, shape, &y)
}

/// The f32 function of a `QLinearUnary` table: [`int8xc_ir::qlinear_activation`], and the
/// interpreter's definition for the `Math` functions.
fn unary_f32(op: UnaryOp, x: f32) -> f32 {
    match op {
        UnaryOp::Math(m) => super::math::math_fn(m, x),
        _ => qlinear_activation(op, x).unwrap_or(f32::NAN),
    }
}

fn table_index(dtype: DType, q: i32) -> usize {
    if dtype == DType::I8 {
        q as i8 as u8 as usize
    } else {
        (q as u8) as usize
    }
}

/// `QLinearUnary` (see [`int8xc_ir::Op::QLinearUnary`]).
pub(crate) fn qlinear_unary(
    x: &TensorData,
    ty: &TensorType,
    op: UnaryOp,
    out_scale: f32,
    out_zp: i32,
) -> OpResult<TensorData> {
    let dtype = x.dtype();
    let table = qlinear_lookup_table(dtype, per_tensor("input", ty)?, (out_scale, out_zp), |v| unary_f32(op, v));
    let y: Vec<i32> = ints(x)?.into_iter().map(|q| table[table_index(dtype, q)]).collect();
    quantized(dtype, x.shape().to_vec(), &y)
}

/// `QLinearConcat` (see [`int8xc_ir::Op::QLinearConcat`]): each input requantized through
/// its lookup table (a copy when its parameters equal the output's), then concatenated.
pub(crate) fn qlinear_concat(
    inputs: &[&TensorData],
    types: &[&TensorType],
    axis: usize,
    out_scale: f32,
    out_zp: i32,
) -> OpResult<TensorData> {
    let dtype = inputs.first().map_or(DType::U8, |t| t.dtype());
    let mut parts = Vec::with_capacity(inputs.len());
    for (i, (x, ty)) in inputs.iter().zip(types).enumerate() {
        let p = per_tensor(&format!("input {i}"), ty)?;
        let vals = ints(x)?;
        let y: Vec<i32> = if p == (out_scale, out_zp) {
            vals
        } else {
            let table = qlinear_lookup_table(dtype, p, (out_scale, out_zp), |v| v);
            vals.into_iter().map(|q| table[table_index(dtype, q)]).collect()
        };
        parts.push(quantized(dtype, x.shape().to_vec(), &y)?);
    }
    let refs: Vec<&TensorData> = parts.iter().collect();
    super::movement::concat(&refs, axis)
}
