//! `BatchNormalization` in inference mode (ONNX opset 15, `training_mode = 0`).

use int8xc_ir::TensorData;

use super::{check_arity, f32_elems, float_dtype, float_tensor, OpResult};
use crate::error::OpErrorKind;

/// `y = scale * (x - mean) / sqrt(var + epsilon) + bias` per channel (axis 1), evaluated in
/// `f32` in exactly that order (as the ONNX reference implementation does). Inputs: `x [N, C,
/// ...]` (rank >= 2), `scale`, `bias`, `mean`, `var`, each `[C]`, all of one float dtype.
pub(crate) fn batch_norm(inputs: &[&TensorData], epsilon: f32) -> OpResult<TensorData> {
    check_arity(inputs, 5, 5)?;
    let dtype = float_dtype(inputs)?;
    let x = inputs[0];
    let s = x.shape();
    if s.len() < 2 {
        return Err(OpErrorKind::invalid(format!("input must have rank >= 2, got shape {s:?}")));
    }
    let c = s[1];
    for (name, t) in ["scale", "bias", "mean", "var"].iter().zip(&inputs[1..]) {
        if t.shape() != [c] {
            return Err(OpErrorKind::invalid(format!("{name} has shape {:?}, expected [{c}]", t.shape())));
        }
    }
    let [xv, sc, bi, me, va] = [0, 1, 2, 3, 4].map(|i| f32_elems(inputs[i]));
    let (xv, sc, bi, me, va) = (xv?, sc?, bi?, me?, va?);
    let inner: usize = s[2..].iter().product();
    let y = xv
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            let ch = (k / inner.max(1)) % c;
            sc[ch] * (v - me[ch]) / (va[ch] + epsilon).sqrt() + bi[ch]
        })
        .collect();
    float_tensor(dtype, s.to_vec(), y)
}

#[cfg(test)]
mod tests {
    use int8xc_ir::Op;

    use crate::ops::test_util::*;

    #[test]
    fn batch_norm_per_channel() {
        // ONNX BatchNormalization example: x [[[[-1, 0, 1]], [[2, 3, 4]]]], s [1, 1.5],
        // bias [0, 1], mean [0, 3], var [1, 1.5], eps 1e-5
        let x = f(&[1, 2, 1, 3], &[-1., 0., 1., 2., 3., 4.]);
        let (s, b, m, v) = (f(&[2], &[1., 1.5]), f(&[2], &[0., 1.]), f(&[2], &[0., 3.]), f(&[2], &[1., 1.5]));
        let y = run_ok(&Op::BatchNormalization { epsilon: 1e-5 }, &[&x, &s, &b, &m, &v]);
        #[rustfmt::skip]
        let want = [-0.999995, 0., 0.999995, -0.22474074, 1., 2.2247407];
        assert_close(&y, &[1, 2, 1, 3], &want, 1e-6);
        let bad = f(&[3], &[1.; 3]);
        let e = run_err(&Op::BatchNormalization { epsilon: 1e-5 }, &[&x, &s, &b, &m, &bad]);
        assert!(e.contains("var has shape [3], expected [2]"), "{e}");
        assert!(run_err(&Op::BatchNormalization { epsilon: 1e-5 }, &[&x, &s]).contains("expects 5 inputs"));
    }
}
