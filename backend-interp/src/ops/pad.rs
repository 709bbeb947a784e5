//! `Pad` (ONNX opset 2–21; `constant`, `reflect`, `edge`, `wrap`), any dtype.

use int8xc_ir::{Data, PadAttrs, PadMode, TensorData};

use super::{check_arity, check_output_size, concat_flat, float_tensor, int_data, map_indices, take, tensor, OpResult};
use crate::error::OpErrorKind;

/// The input index along one axis of size `d` for output index `o` (`o - begin` outside
/// `[0, d)` resolved by `mode`); `None` for a constant-filled position.
fn source(mode: PadMode, o: usize, begin: usize, d: usize) -> Option<usize> {
    let i = o as i64 - begin as i64;
    let n = d as i64;
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    let j = match mode {
        PadMode::Constant => return None,
        PadMode::Edge => i.clamp(0, n - 1),
        PadMode::Reflect => {
            if i < 0 {
                -i
            } else {
                2 * (n - 1) - i
            }
        }
        PadMode::Wrap => i.rem_euclid(n),
    };
    usize::try_from(j).ok().filter(|&j| j < d)
}

/// ONNX `Pad`: see [`PadAttrs`]. The constant `value` is converted to the input dtype
/// (integers: truncated toward zero; `bool`: non-zero is true).
pub(crate) fn pad(inputs: &[&TensorData], a: &PadAttrs) -> OpResult<TensorData> {
    check_arity(inputs, 1, 1)?;
    let x = inputs[0];
    let shape = x.shape();
    let rank = shape.len();
    if a.begin.len() != rank || a.end.len() != rank {
        return Err(OpErrorKind::invalid(format!("pads do not match rank {rank}")));
    }
    let mut out_shape = Vec::with_capacity(rank);
    for (d, ((&n, &b), &e)) in shape.iter().zip(&a.begin).zip(&a.end).enumerate() {
        let padded = b > 0 || e > 0;
        let bad = match a.mode {
            PadMode::Reflect => padded && (b >= n || e >= n),
            PadMode::Edge | PadMode::Wrap => padded && n == 0,
            PadMode::Constant => false,
        };
        if bad {
            return Err(OpErrorKind::invalid(format!(
                "pads ({b}, {e}) of axis {d} (size {n}) are invalid in {:?} mode",
                a.mode
            )));
        }
        out_shape.push(n.saturating_add(b).saturating_add(e));
    }
    check_output_size(&out_shape)?;
    let strides = int8xc_ir::strides(shape);
    let nx = x.numel();
    let idx = map_indices(&out_shape, |o| {
        let mut flat = 0;
        for d in 0..rank {
            match source(a.mode, o[d], a.begin[d], shape[d]) {
                Some(i) => flat += i * strides[d],
                None => return nx, // the fill value, appended after the input
            }
        }
        flat
    });
    let dtype = x.dtype();
    let fill = if dtype.is_float() {
        float_tensor(dtype, vec![1], vec![a.value as f32])?
    } else {
        tensor(vec![1], int_data(dtype, &[a.value as i64]))?
    };
    let all = concat_flat(&[x, &fill])?;
    let data: Data = take(&all, &idx)?;
    tensor(out_shape, data)
}

#[cfg(test)]
mod tests {
    use int8xc_ir::{Data, Op, PadAttrs, PadMode};

    use crate::ops::test_util::*;

    fn pad(mode: PadMode, begin: &[usize], end: &[usize], value: f64) -> Op {
        Op::Pad(PadAttrs { mode, begin: begin.to_vec(), end: end.to_vec(), value })
    }

    #[test]
    fn modes_along_one_axis() {
        let x = f(&[3], &[1., 2., 3.]);
        let y = |mode, v| run_ok(&pad(mode, &[2], &[2], v), &[&x]);
        assert_close(&y(PadMode::Constant, 9.0), &[7], &[9., 9., 1., 2., 3., 9., 9.], 0.0);
        assert_close(&y(PadMode::Reflect, 0.0), &[7], &[3., 2., 1., 2., 3., 2., 1.], 0.0);
        assert_close(&y(PadMode::Edge, 0.0), &[7], &[1., 1., 1., 2., 3., 3., 3.], 0.0);
        assert_close(&y(PadMode::Wrap, 0.0), &[7], &[2., 3., 1., 2., 3., 1., 2.], 0.0);
    }

    #[test]
    fn two_dims_and_integers() {
        let x = t(&[2, 2], Data::I32(vec![1, 2, 3, 4]));
        let y = run_ok(&pad(PadMode::Constant, &[0, 1], &[1, 0], -1.0), &[&x]);
        assert_eq!(y.shape(), &[3, 3]);
        assert_eq!(y.data(), &Data::I32(vec![-1, 1, 2, -1, 3, 4, -1, -1, -1]));
        assert!(run_err(&pad(PadMode::Reflect, &[2, 0], &[0, 0], 0.0), &[&x]).contains("reflect"));
    }
}
