//! `LSTM` (ONNX opset 14, float) and ONNX Runtime's `DynamicQuantizeLSTM` (com.microsoft).
//!
//! Both follow the ONNX definition step by step (gate order `i, o, f, c`; default
//! activations `σ`, `tanh`, `tanh`), in `f32`. They agree with ONNX Runtime within a
//! tolerance, not bit for bit: ONNX Runtime evaluates `σ` and `tanh` with MLAS's rational
//! approximations and blocks its GEMMs differently. `DynamicQuantizeLSTM`'s matrix products
//! are computed as ONNX Runtime's quantized `rnn::detail::ComputeGemm` does: the float left
//! operand is quantized to `u8` dynamically ([`super::quant::dynamic_params`]) — the whole
//! input sequence at once per direction, the hidden state once per step — multiplied in
//! `i32` with the quantized weight, and scaled by `s_a * s_w[column]`.

use int8xc_ir::{quantize_f32, LstmAttrs, LstmDirection, TensorData, TensorType};

use super::quant::{dynamic_params, ints, params};
use super::{f32_elems, tensor, OpResult};
use crate::error::OpErrorKind;

/// The weights of one direction for `rows x k` by `k x 4H` products.
enum Weights {
    /// ONNX layout `[4H, K]`: out[r, n] = Σ a[r, k] w[n, k].
    Float(Vec<f32>),
    /// ORT layout `[K, 4H]`, quantized with per-column (or one) scale and zero point.
    Quant { w: Vec<i32>, scale: Vec<f32>, zp: Vec<i32> },
}

impl Weights {
    /// `a [rows, k]` times the weights: `[rows, n]`.
    fn apply(&self, a: &[f32], rows: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; rows * n];
        match self {
            Weights::Float(w) => {
                for r in 0..rows {
                    for j in 0..n {
                        let mut acc = 0.0f32;
                        for p in 0..k {
                            acc += a[r * k + p] * w.get(j * k + p).copied().unwrap_or(0.0);
                        }
                        out[r * n + j] = acc;
                    }
                }
            }
            Weights::Quant { w, scale, zp } => {
                let (sa, za) = dynamic_params(&a[..rows * k]);
                let qa: Vec<i32> = a[..rows * k].iter().map(|&v| quantize_f32(v, sa, za, (0, 255))).collect();
                let col = |v: &[f32], j: usize| if v.len() == 1 { v[0] } else { v.get(j).copied().unwrap_or(0.0) };
                let colz = |j: usize| if zp.len() == 1 { zp[0] } else { zp.get(j).copied().unwrap_or(0) };
                for r in 0..rows {
                    for j in 0..n {
                        let mut acc = 0i32;
                        for p in 0..k {
                            let wv = w.get(p * n + j).copied().unwrap_or(0) - colz(j);
                            acc = acc.wrapping_add((qa[r * k + p] - za).wrapping_mul(wv));
                        }
                        out[r * n + j] = sa * col(scale, j) * acc as f32;
                    }
                }
            }
        }
        out
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `LSTM` / `DynamicQuantizeLSTM`: inputs as documented on [`int8xc_ir::Op::Lstm`];
/// returns `[y, y_h, y_c]`.
pub(crate) fn lstm(
    inputs: &[&TensorData],
    types: &[&TensorType],
    a: &LstmAttrs,
    quantized: bool,
) -> OpResult<Vec<TensorData>> {
    let x = f32_elems(inputs[0])?;
    let xs = inputs[0].shape();
    let (seq, batch, input) = (xs[0], xs[1], xs[2]);
    let h = a.hidden_size;
    let dirs = a.direction.count();
    let (b, h0, c0, p) = (f32_elems(inputs[3])?, f32_elems(inputs[4])?, f32_elems(inputs[5])?, f32_elems(inputs[6])?);
    let mut y = vec![0.0f32; seq * dirs * batch * h];
    let mut y_h = vec![0.0f32; dirs * batch * h];
    let mut y_c = vec![0.0f32; dirs * batch * h];
    for d in 0..dirs {
        let (w, r) = if quantized {
            (quant_weights(inputs[1], types[1], d, input * 4 * h)?, quant_weights(inputs[2], types[2], d, h * 4 * h)?)
        } else {
            let (w, r) = (f32_elems(inputs[1])?, f32_elems(inputs[2])?);
            (
                Weights::Float(w[d * 4 * h * input..(d + 1) * 4 * h * input].to_vec()),
                Weights::Float(r[d * 4 * h * h..(d + 1) * 4 * h * h].to_vec()),
            )
        };
        let reverse = a.direction == LstmDirection::Reverse || d == 1;
        // the input projection of the whole sequence at once (one GEMM, as ORT does)
        let xw = w.apply(&x, seq * batch, input, 4 * h);
        let bias: Vec<f32> = (0..4 * h).map(|j| b[d * 8 * h + j] + b[d * 8 * h + 4 * h + j]).collect();
        let peep = &p[d * 3 * h..(d + 1) * 3 * h];
        let mut hs = h0[d * batch * h..(d + 1) * batch * h].to_vec();
        let mut cs = c0[d * batch * h..(d + 1) * batch * h].to_vec();
        for step in 0..seq {
            let t = if reverse { seq - 1 - step } else { step };
            let hr = r.apply(&hs, batch, h, 4 * h);
            for bi in 0..batch {
                let g = |gate: usize, j: usize| {
                    let idx = gate * h + j;
                    xw[(t * batch + bi) * 4 * h + idx] + hr[bi * 4 * h + idx] + bias[idx]
                };
                for j in 0..h {
                    let c_prev = cs[bi * h + j];
                    let clip = |v: f32| a.clip.map_or(v, |c| v.clamp(-c, c));
                    let i = sigmoid(clip(g(0, j) + peep[j] * c_prev));
                    let f = if a.input_forget { 1.0 - i } else { sigmoid(clip(g(2, j) + peep[2 * h + j] * c_prev)) };
                    let c_tilde = clip(g(3, j)).tanh();
                    let c_new = f * c_prev + i * c_tilde;
                    let o = sigmoid(clip(g(1, j) + peep[h + j] * c_new));
                    let h_new = o * c_new.tanh();
                    cs[bi * h + j] = c_new;
                    hs[bi * h + j] = h_new;
                    y[((t * dirs + d) * batch + bi) * h + j] = h_new;
                }
            }
        }
        y_h[d * batch * h..(d + 1) * batch * h].copy_from_slice(&hs);
        y_c[d * batch * h..(d + 1) * batch * h].copy_from_slice(&cs);
    }
    Ok(vec![
        tensor(vec![seq, dirs, batch, h], int8xc_ir::Data::F32(y))?,
        tensor(vec![dirs, batch, h], int8xc_ir::Data::F32(y_h))?,
        tensor(vec![dirs, batch, h], int8xc_ir::Data::F32(y_c))?,
    ])
}

/// Direction `d` of a quantized `[dirs, K, 4H]` weight with its parameters.
fn quant_weights(t: &TensorData, ty: &TensorType, d: usize, per_dir: usize) -> OpResult<Weights> {
    let q = params("weight", ty)?;
    let all = ints(t)?;
    let w = all
        .get(d * per_dir..(d + 1) * per_dir)
        .ok_or_else(|| OpErrorKind::invalid("weight shorter than its shape"))?
        .to_vec();
    let (scale, zp) = match q.axis {
        None => (q.scale.clone(), q.zero_point.clone()),
        Some(0) => (vec![q.scale[d]], vec![q.zero_point[d]]),
        _ => (q.scale.clone(), q.zero_point.clone()),
    };
    Ok(Weights::Quant { w, scale, zp })
}
