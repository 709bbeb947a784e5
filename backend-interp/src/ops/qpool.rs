//! ONNX Runtime's QOperator reductions: `QLinearAveragePool`, `QLinearGlobalAveragePool`
//! (`contrib_ops/cpu/quantization/qlinear_pool.cc`, MLAS `qlgavgpool.cpp`) and
//! `QLinearSoftmax` (`qlinear_softmax.cc`), operation for operation.

use int8xc_ir::{requantize_f32, DType, PoolAttrs, TensorData, TensorType};

use super::quant::{ints, per_tensor, quantized, range};
use super::{check_output_size, OpResult};
use crate::error::OpErrorKind;

/// `QLinearGlobalAveragePool` over the trailing dims of `x [N, C, ...]` (see
/// [`int8xc_ir::Op::QLinearGlobalAveragePool`]).
pub(crate) fn qlinear_global_average_pool(
    x: &TensorData,
    ty: &TensorType,
    out_scale: f32,
    out_zp: i32,
    out: &TensorType,
) -> OpResult<TensorData> {
    let (sx, zx) = per_tensor("input", ty)?;
    let s = x.shape();
    let image: usize = s.get(2..).map_or(0, |d| d.iter().product());
    let y = global_average(&ints(x)?, image, (sx, zx), (out_scale, out_zp), x.dtype());
    quantized(x.dtype(), out.shape.clone(), &y)
}

/// One requantized mean per `image`-long run of `v`.
fn global_average(v: &[i32], image: usize, (sx, zx): (f32, i32), (sy, zy): (f32, i32), dtype: DType) -> Vec<i32> {
    let scale = sx / (sy * image as f32);
    let bias = (-zx).wrapping_mul(image as i32);
    v.chunks(image.max(1))
        .map(|run| {
            let acc = run.iter().fold(bias, |a, &q| a.wrapping_add(q));
            requantize_f32(acc, scale, zy, range(dtype))
        })
        .collect()
}

/// `QLinearAveragePool` (see [`int8xc_ir::Op::QLinearAveragePool`]).
pub(crate) fn qlinear_average_pool(
    x: &TensorData,
    ty: &TensorType,
    a: &PoolAttrs,
    (sy, zy): (f32, i32),
    out: &TensorType,
) -> OpResult<TensorData> {
    let (sx, zx) = per_tensor("input", ty)?;
    let s = x.shape();
    let [n, c, h, w] = [s[0], s[1], s[2], s[3]];
    let [oh_n, ow_n] = [out.shape[2], out.shape[3]];
    check_output_size(&out.shape)?;
    let q = ints(x)?;
    if a.kernel == [h, w] && a.pads == [0; 4] {
        // ORT falls back to the integer global average pool
        let y = global_average(&q, h * w, (sx, zx), (sy, zy), x.dtype());
        return quantized(x.dtype(), out.shape.clone(), &y);
    }
    let deq: Vec<f32> = q.iter().map(|&v| sx * (v - zx) as f32).collect();
    let (lo, hi) = range(x.dtype());
    let mut y = Vec::with_capacity(n * c * oh_n * ow_n);
    for plane in deq.chunks(h * w).take(n * c) {
        for ph in 0..oh_n {
            let hstart = (ph * a.strides[0]) as i64 - a.pads[0] as i64;
            let hend = (hstart + a.kernel[0] as i64).min(h as i64);
            let hstart = hstart.max(0);
            for pw in 0..ow_n {
                let wstart = (pw * a.strides[1]) as i64 - a.pads[1] as i64;
                let wend = (wstart + a.kernel[1] as i64).min(w as i64);
                let wstart = wstart.max(0);
                let mut sum = 0.0f32;
                for ih in hstart..hend {
                    for iw in wstart..wend {
                        sum += plane.get(ih as usize * w + iw as usize).copied().unwrap_or(0.0);
                    }
                }
                let count = if a.count_include_pad {
                    (a.kernel[0] * a.kernel[1]) as i64
                } else {
                    (hend - hstart).max(0) * (wend - wstart).max(0)
                };
                let mean = sum / count as f32;
                let v = (mean / sy + zy as f32).round_ties_even();
                y.push((v as i64).clamp(lo as i64, hi as i64) as i32);
            }
        }
    }
    quantized(x.dtype(), out.shape.clone(), &y)
}

/// ONNX Runtime's softmax exponent table (`QlinearBuildLookupTableUint32` with `float`
/// entries): `table[v] = f32(exp((v - 255 + shift) * s_x))` for `v` in `0..256`.
fn softmax_table(sx: f32, reduce_len: usize) -> [f32; 256] {
    let bit_shift = ((f32::MAX / reduce_len as f32) as f64).ln();
    let bit_shift = (bit_shift - 5.0).max(0.0) / sx as f64;
    let mut table = [0.0f32; 256];
    for (i, e) in table.iter_mut().enumerate() {
        *e = ((i as f64 - 255.0 + bit_shift) * sx as f64).exp() as f32;
    }
    table
}

/// `QLinearSoftmax` (see [`int8xc_ir::Op::QLinearSoftmax`]).
pub(crate) fn qlinear_softmax(
    x: &TensorData,
    ty: &TensorType,
    axis: usize,
    out_scale: f32,
    out_zp: i32,
) -> OpResult<TensorData> {
    let (sx, _) = per_tensor("input", ty)?;
    let s = x.shape();
    let d = *s.get(axis).ok_or_else(|| OpErrorKind::invalid(format!("axis {axis} out of range")))?;
    let inner: usize = s[axis + 1..].iter().product();
    let outer: usize = s[..axis].iter().product();
    let q = ints(x)?;
    let table = softmax_table(sx, d);
    let k = (1.0 / out_scale).floor();
    let signed = x.dtype() == DType::I8;
    let mut y = vec![0i32; q.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| (o * d + j) * inner + i;
            let xmax = (0..d).map(|j| q[at(j)]).max().unwrap_or(0);
            // index 255 - xmax + x, wrapped to a byte as ORT's pointer/uint8 arithmetic does
            let e = |j: usize| table[((255 - xmax + q[at(j)]) & 0xff) as usize];
            let sum = (0..d).fold(0.0f32, |acc, j| acc + e(j));
            for j in 0..d {
                let r = (e(j) * k / sum).round_ties_even() as i64 + out_zp as i64;
                // onnxruntime 1.31 saturates at the top only (the value is >= zp_y)
                y[at(j)] = if signed { r.min(127) as i8 as i32 } else { r.min(255) as u8 as i32 };
            }
        }
    }
    quantized(x.dtype(), s.to_vec(), &y)
}
