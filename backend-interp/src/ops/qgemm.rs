//! Integer matrix products and convolutions: `MatMulInteger`, `ConvInteger` (ONNX opset 10),
//! and the requantizing `QMatMul` / `QConv` (ONNX `QLinearMatMul` / `QLinearConv`, ONNX
//! Runtime `QGemm`, and QDQ patterns after the QDQ pass).
//!
//! Accumulation is exact `i32` arithmetic of `(a - a_zp) * (w - w_zp)` (wrapping on
//! overflow, as MLAS's `i32` accumulators do), summed in the same order as the float ops
//! (`k` ascending; input channel, kernel row, kernel column), the bias added first. The
//! epilogue is [`int8xc_ir::requantize_f32`] or [`int8xc_ir::requantize_fixed_point`].

use int8xc_ir::{
    requantize_f32, requantize_fixed_point, ConvAttrs, QConvAttrs, QMatMulAttrs, Requant, RequantMode, TensorData,
    TensorType,
};

use super::quant::{ints, params, per_tensor, quantized};
use super::{broadcast_index_map, broadcast_shapes, check_output_size, tensor, OpResult};
use crate::error::OpErrorKind;

/// `i32` numpy-style batched matmul of zero-point-corrected operands: `a [..., M, K]`,
/// `b [..., K, N]` (rank-1 operands promoted as numpy does), `a_zp(m)` / `b_zp(n)` the zero
/// points. Returns the output shape, the accumulators and `N`.
fn matmul_i32(
    a: &[i32],
    a_shape: &[usize],
    b: &[i32],
    b_shape: &[usize],
    a_zp: &dyn Fn(usize) -> i32,
    b_zp: &dyn Fn(usize) -> i32,
) -> OpResult<(Vec<usize>, Vec<i32>, usize)> {
    if a_shape.is_empty() || b_shape.is_empty() {
        return Err(OpErrorKind::invalid("operands must have rank >= 1"));
    }
    let a2: Vec<usize> = if a_shape.len() == 1 { [&[1], a_shape].concat() } else { a_shape.to_vec() };
    let b2: Vec<usize> = if b_shape.len() == 1 { [b_shape, &[1]].concat() } else { b_shape.to_vec() };
    let (a_batch, a_mat) = a2.split_at(a2.len() - 2);
    let (b_batch, b_mat) = b2.split_at(b2.len() - 2);
    let (m, k, n) = (a_mat[0], a_mat[1], b_mat[1]);
    if b_mat[0] != k {
        return Err(OpErrorKind::invalid(format!("inner dimensions differ: a {a_shape:?}, b {b_shape:?}")));
    }
    let batch = broadcast_shapes(a_batch, b_batch)?;
    check_output_size(&[&batch[..], &[m, n]].concat())?;
    let ab = broadcast_index_map(a_batch, &batch);
    let bb = broadcast_index_map(b_batch, &batch);
    let mut y = Vec::with_capacity(ab.len() * m * n);
    for (&ia, &ib) in ab.iter().zip(&bb) {
        let (a0, b0) = (ia * m * k, ib * k * n);
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0i32;
                for p in 0..k {
                    let x = a.get(a0 + i * k + p).copied().unwrap_or(0).wrapping_sub(a_zp(i));
                    let w = b.get(b0 + p * n + j).copied().unwrap_or(0).wrapping_sub(b_zp(j));
                    acc = acc.wrapping_add(x.wrapping_mul(w));
                }
                y.push(acc);
            }
        }
    }
    let mut shape = batch;
    if a_shape.len() > 1 {
        shape.push(m);
    }
    if b_shape.len() > 1 {
        shape.push(n);
    }
    Ok((shape, y, n))
}

/// `i32` 2-D NCHW convolution of zero-point-corrected operands (padding contributes 0).
#[allow(clippy::too_many_arguments)] // two operands with shapes, geometry, zero points
fn conv_i32(
    x: &[i32],
    xs: &[usize],
    w: &[i32],
    ws: &[usize],
    a: &ConvAttrs,
    out_shape: &[usize],
    x_zp: i32,
    w_zp: &dyn Fn(usize) -> i32,
) -> Vec<i32> {
    let (c, h, wd) = (xs[1], xs[2], xs[3]);
    let (m, cg) = (ws[0], ws[1]);
    let (oh_n, ow_n) = (out_shape[2], out_shape[3]);
    let mg = (m / a.group.max(1)).max(1);
    let mut y = Vec::with_capacity(out_shape.iter().product());
    for n in 0..xs[0] {
        for mo in 0..m {
            let g = mo / mg;
            for oh in 0..oh_n {
                for ow in 0..ow_n {
                    let mut acc = 0i32;
                    for ci in 0..cg {
                        let cin = g * cg + ci;
                        for kh in 0..a.kernel[0] {
                            let Some(ih) = (oh * a.strides[0] + kh * a.dilations[0]).checked_sub(a.pads[0]) else {
                                continue;
                            };
                            if ih >= h {
                                continue;
                            }
                            for kw in 0..a.kernel[1] {
                                let Some(iw) = (ow * a.strides[1] + kw * a.dilations[1]).checked_sub(a.pads[1]) else {
                                    continue;
                                };
                                if iw >= wd {
                                    continue;
                                }
                                let xv = x.get(((n * c + cin) * h + ih) * wd + iw).copied().unwrap_or(0) - x_zp;
                                let wv =
                                    w.get(((mo * cg + ci) * a.kernel[0] + kh) * a.kernel[1] + kw).copied().unwrap_or(0)
                                        - w_zp(mo);
                                acc = acc.wrapping_add(xv.wrapping_mul(wv));
                            }
                        }
                    }
                    y.push(acc);
                }
            }
        }
    }
    y
}

/// A zero-point input of `MatMulInteger`/`ConvInteger` as a lookup: scalar or per index.
fn zero_points(t: Option<&&TensorData>) -> OpResult<Vec<i32>> {
    match t {
        Some(t) => ints(t),
        None => Ok(vec![0]),
    }
}

fn at(v: &[i32], i: usize) -> i32 {
    if v.len() == 1 {
        v[0]
    } else {
        v.get(i).copied().unwrap_or(0)
    }
}

/// ONNX `MatMulInteger`: `i32` output of `Σ (a - a_zp[m]) * (b - b_zp[n])`.
pub(crate) fn matmul_integer(inputs: &[&TensorData]) -> OpResult<TensorData> {
    let (a, b) = (inputs[0], inputs[1]);
    let (azp, bzp) = (zero_points(inputs.get(2))?, zero_points(inputs.get(3))?);
    let (shape, y, _) = matmul_i32(&ints(a)?, a.shape(), &ints(b)?, b.shape(), &|i| at(&azp, i), &|j| at(&bzp, j))?;
    tensor(shape, int8xc_ir::Data::I32(y))
}

/// ONNX `ConvInteger`: `i32` output of the Conv sum of `(x - x_zp) * (w - w_zp[m])`.
pub(crate) fn conv_integer(inputs: &[&TensorData], a: &ConvAttrs, out: &TensorType) -> OpResult<TensorData> {
    let (x, w) = (inputs[0], inputs[1]);
    let (xzp, wzp) = (zero_points(inputs.get(2))?, zero_points(inputs.get(3))?);
    check_output_size(&out.shape)?;
    let y = conv_i32(&ints(x)?, x.shape(), &ints(w)?, w.shape(), a, &out.shape, at(&xzp, 0), &|m| at(&wzp, m));
    tensor(out.shape.clone(), int8xc_ir::Data::I32(y))
}

/// The epilogue: turns accumulators into the requantized output, `channel(i)` giving the
/// weight-scale index of accumulator `i`.
fn requantize(
    r: &Requant,
    acc: &[i32],
    alpha: f32,
    x_scale: f32,
    w_scales: &[f32],
    channel: &dyn Fn(usize) -> usize,
) -> Vec<i32> {
    let range = r.output_range();
    match r.mode {
        RequantMode::F32Multiplier => {
            let mult = r.f32_multipliers(alpha, x_scale, w_scales);
            acc.iter()
                .enumerate()
                .map(|(i, &v)| requantize_f32(v, mult.get(channel(i)).copied().unwrap_or(0.0), r.out_zero_point, range))
                .collect()
        }
        RequantMode::FixedPoint => {
            let mult = r.fixed_point_multipliers(alpha, x_scale, w_scales);
            acc.iter()
                .enumerate()
                .map(|(i, &v)| {
                    let (m, s) = mult.get(channel(i)).copied().unwrap_or((0, 0));
                    requantize_fixed_point(v, m, s, r.out_zero_point, range)
                })
                .collect()
        }
    }
}

/// `QConv`: see [`int8xc_ir::Op::QConv`].
pub(crate) fn qconv(
    inputs: &[&TensorData],
    types: &[&TensorType],
    a: &QConvAttrs,
    out: &TensorType,
) -> OpResult<TensorData> {
    let (x, w) = (inputs[0], inputs[1]);
    let (sx, zx) = per_tensor("input", types[0])?;
    let wq = params("weight", types[1])?;
    check_output_size(&out.shape)?;
    let per_channel = wq.axis.is_some();
    let wzp = |m: usize| if per_channel { wq.zero_point.get(m).copied().unwrap_or(0) } else { wq.zero_point[0] };
    let mut acc = conv_i32(&ints(x)?, x.shape(), &ints(w)?, w.shape(), &a.conv, &out.shape, zx, &wzp);
    let plane = out.shape[2] * out.shape[3];
    let m_of = |i: usize| (i / plane.max(1)) % out.shape[1].max(1);
    if let Some(b) = inputs.get(2) {
        let bv = ints(b)?;
        for (i, v) in acc.iter_mut().enumerate() {
            *v = v.wrapping_add(bv.get(m_of(i)).copied().unwrap_or(0));
        }
    }
    let y = requantize(&a.requant, &acc, 1.0, sx, &wq.scale, &|i| if per_channel { m_of(i) } else { 0 });
    quantized(a.requant.out_dtype, out.shape.clone(), &y)
}

/// `QMatMul`: see [`int8xc_ir::Op::QMatMul`].
pub(crate) fn qmatmul(inputs: &[&TensorData], types: &[&TensorType], a: &QMatMulAttrs) -> OpResult<TensorData> {
    let (x, w) = (inputs[0], inputs[1]);
    let (sa, za) = per_tensor("input a", types[0])?;
    let wq = params("input b", types[1])?;
    let per_column = wq.axis.is_some();
    let wzp = |n: usize| if per_column { wq.zero_point.get(n).copied().unwrap_or(0) } else { wq.zero_point[0] };
    let (shape, mut acc, n) = matmul_i32(&ints(x)?, x.shape(), &ints(w)?, w.shape(), &|_| za, &wzp)?;
    if let Some(b) = inputs.get(2) {
        let bv = ints(b)?;
        let map = broadcast_index_map(b.shape(), &shape);
        for (v, &j) in acc.iter_mut().zip(&map) {
            *v = v.wrapping_add(bv.get(j).copied().unwrap_or(0));
        }
    }
    let column = |i: usize| if per_column { i % n.max(1) } else { 0 };
    match &a.requant {
        Some(r) => {
            let y = requantize(r, &acc, a.alpha, sa, &wq.scale, &column);
            quantized(r.out_dtype, shape, &y)
        }
        None => {
            // ORT QGemm without y_scale: MLAS_QGEMM_SCALE_BIAS_OUTPUT_PROCESSOR, scale * acc.
            let scales: Vec<f32> = wq.scale.iter().map(|&sb| a.alpha * sa * sb).collect();
            let y = acc
                .iter()
                .enumerate()
                .map(|(i, &v)| scales.get(column(i)).copied().unwrap_or(0.0) * v as f32)
                .collect();
            tensor(shape, int8xc_ir::Data::F32(y))
        }
    }
}
