//! Matrix products: `MatMul` (ONNX opset 13, numpy `matmul` semantics) and `Gemm` (opset 13).
//!
//! Dot products accumulate in `f32` from 0 with `k` ascending.

use int8xc_ir::{GemmAttrs, TensorData};

use super::{
    broadcast_index_map, broadcast_shapes, check_arity, check_output_size, check_rank, check_unidirectional, f32_elems,
    float_dtype, float_tensor, OpResult,
};
use crate::error::OpErrorKind;

/// ONNX `MatMul`: `a [..., M, K] x b [..., K, N] → [..., M, N]`, batch dims broadcast (numpy).
/// A rank-1 `a` is treated as `[1, K]` and a rank-1 `b` as `[K, 1]`, and the added dimension
/// is removed from the result. Scalars (rank 0) are rejected.
pub(crate) fn matmul(inputs: &[&TensorData]) -> OpResult<TensorData> {
    check_arity(inputs, 2, 2)?;
    let dtype = float_dtype(inputs)?;
    let (a, b) = (inputs[0], inputs[1]);
    if a.shape().is_empty() || b.shape().is_empty() {
        return Err(OpErrorKind::invalid("operands must have rank >= 1"));
    }
    let a_shape: Vec<usize> = if a.shape().len() == 1 { [&[1], a.shape()].concat() } else { a.shape().to_vec() };
    let b_shape: Vec<usize> = if b.shape().len() == 1 { [b.shape(), &[1]].concat() } else { b.shape().to_vec() };
    let (a_batch, a_mat) = a_shape.split_at(a_shape.len() - 2);
    let (b_batch, b_mat) = b_shape.split_at(b_shape.len() - 2);
    let (m, k, n) = (a_mat[0], a_mat[1], b_mat[1]);
    if b_mat[0] != k {
        return Err(OpErrorKind::invalid(format!("inner dimensions differ: a {:?}, b {:?}", a.shape(), b.shape())));
    }
    let batch = broadcast_shapes(a_batch, b_batch)?;
    check_output_size(&[&batch[..], &[m, n]].concat())?;
    let a_batches = broadcast_index_map(a_batch, &batch);
    let b_batches = broadcast_index_map(b_batch, &batch);
    let (av, bv) = (f32_elems(a)?, f32_elems(b)?);
    let mut y = Vec::with_capacity(a_batches.len() * m * n);
    for (&ab, &bb) in a_batches.iter().zip(&b_batches) {
        let (a0, b0) = (ab * m * k, bb * k * n);
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0f32;
                for p in 0..k {
                    acc += av[a0 + i * k + p] * bv[b0 + p * n + j];
                }
                y.push(acc);
            }
        }
    }
    let mut out_shape = batch;
    if a.shape().len() > 1 {
        out_shape.push(m);
    }
    if b.shape().len() > 1 {
        out_shape.push(n);
    }
    float_tensor(dtype, out_shape, y)
}

/// ONNX `Gemm`: `Y = alpha * (A' B') + beta * C` with `A' = trans_a ? Aᵀ : A` (`[M, K]`),
/// `B' = trans_b ? Bᵀ : B` (`[K, N]`), and the optional `C` broadcast (unidirectionally) to
/// `[M, N]`. Computed as `alpha * acc + beta * c` where `acc` is the dot product.
pub(crate) fn gemm(inputs: &[&TensorData], g: &GemmAttrs) -> OpResult<TensorData> {
    check_arity(inputs, 2, 3)?;
    let dtype = float_dtype(inputs)?;
    let (a, b) = (inputs[0], inputs[1]);
    check_rank("input a", a, 2)?;
    check_rank("input b", b, 2)?;
    let (m, k) = if g.trans_a { (a.shape()[1], a.shape()[0]) } else { (a.shape()[0], a.shape()[1]) };
    let (kb, n) = if g.trans_b { (b.shape()[1], b.shape()[0]) } else { (b.shape()[0], b.shape()[1]) };
    if kb != k {
        return Err(OpErrorKind::invalid(format!(
            "inner dimensions differ: a {:?} (trans_a {}), b {:?} (trans_b {})",
            a.shape(),
            g.trans_a,
            b.shape(),
            g.trans_b
        )));
    }
    let c = match inputs.get(2) {
        Some(c) => {
            check_unidirectional("input c", c.shape(), &[m, n])?;
            Some((f32_elems(c)?, broadcast_index_map(c.shape(), &[m, n])))
        }
        None => None,
    };
    let (av, bv) = (f32_elems(a)?, f32_elems(b)?);
    let a_at = |i: usize, p: usize| if g.trans_a { av[p * m + i] } else { av[i * k + p] };
    let b_at = |p: usize, j: usize| if g.trans_b { bv[j * k + p] } else { bv[p * n + j] };
    let mut y = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                acc += a_at(i, p) * b_at(p, j);
            }
            let mut v = g.alpha * acc;
            if let Some((cv, ci)) = &c {
                v += g.beta * cv[ci[i * n + j]];
            }
            y.push(v);
        }
    }
    float_tensor(dtype, vec![m, n], y)
}

#[cfg(test)]
mod tests {
    use int8xc_ir::Op;

    use super::*;
    use crate::ops::test_util::*;

    fn iota(shape: &[usize], start: f32) -> TensorData {
        let n: usize = shape.iter().product();
        f(shape, &(0..n).map(|v| v as f32 + start).collect::<Vec<_>>())
    }

    #[test]
    fn matmul_2d() {
        // [[1,2,3],[4,5,6]] x [[1,2],[3,4],[5,6]] = [[22,28],[49,64]]
        let y = run_ok(&Op::MatMul, &[&iota(&[2, 3], 1.0), &iota(&[3, 2], 1.0)]);
        assert_close(&y, &[2, 2], &[22., 28., 49., 64.], 0.0);
    }

    #[test]
    fn matmul_rank1_operands_drop_the_added_dim() {
        let m = iota(&[2, 3], 1.0);
        let v = f(&[3], &[1., 0., -1.]);
        assert_close(&run_ok(&Op::MatMul, &[&m, &v]), &[2], &[-2., -2.], 0.0);
        let u = f(&[2], &[1., 1.]);
        assert_close(&run_ok(&Op::MatMul, &[&u, &m]), &[3], &[5., 7., 9.], 0.0);
        assert_close(&run_ok(&Op::MatMul, &[&v, &v]), &[], &[2.], 0.0);
        // batched matrix times vector: [2,2,3] x [3] -> [2,2]
        let bm = iota(&[2, 2, 3], 0.0);
        assert_close(&run_ok(&Op::MatMul, &[&bm, &v]), &[2, 2], &[-2., -2., -2., -2.], 0.0);
    }

    #[test]
    fn matmul_broadcasts_batch_dims() {
        // a [2,1,1,2] x b [3,2,1] -> [2,3,1,1]; a batches [0,1],[2,3]; b batches [0,1],[2,3],[4,5]
        let a = iota(&[2, 1, 1, 2], 0.0);
        let b = iota(&[3, 2, 1], 0.0);
        let y = run_ok(&Op::MatMul, &[&a, &b]);
        // row0=[0,1]: 1, 3, 5; row1=[2,3]: 3, 13, 23
        assert_close(&y, &[2, 3, 1, 1], &[1., 3., 5., 3., 13., 23.], 0.0);
        let e = run_err(&Op::MatMul, &[&iota(&[2, 3], 0.0), &iota(&[2, 3], 0.0)]);
        assert!(e.contains("inner dimensions differ"), "{e}");
        let e = run_err(&Op::MatMul, &[&iota(&[2, 2, 3], 0.0), &iota(&[3, 3, 1], 0.0)]);
        assert!(e.contains("do not broadcast"), "{e}");
        assert!(run_err(&Op::MatMul, &[&f(&[], &[1.]), &iota(&[1], 0.0)]).contains("rank >= 1"));
    }

    #[test]
    fn gemm_with_transposes_alpha_beta_and_broadcast_c() {
        let a = iota(&[3, 2], 1.0); // Aᵀ = [[1,3,5],[2,4,6]]
        let b = iota(&[2, 3], 1.0); // Bᵀ = [[1,4],[2,5],[3,6]]
        let c = f(&[2], &[10., 20.]); // broadcast over rows of [2,2]
        let g = GemmAttrs { alpha: 0.5, beta: 2.0, trans_a: true, trans_b: true };
        let y = run_ok(&Op::Gemm(g), &[&a, &b, &c]);
        // AᵀBᵀ = [[22,49],[28,64]]
        assert_close(&y, &[2, 2], &[31., 64.5, 34., 72.], 0.0);
        let g = GemmAttrs { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: false };
        let c = f(&[2, 1], &[1., -1.]);
        let y = run_ok(&Op::Gemm(g.clone()), &[&iota(&[2, 3], 1.0), &iota(&[3, 2], 1.0), &c]);
        assert_close(&y, &[2, 2], &[23., 29., 48., 63.], 0.0);
        let y = run_ok(&Op::Gemm(g.clone()), &[&iota(&[2, 3], 1.0), &iota(&[3, 2], 1.0)]);
        assert_close(&y, &[2, 2], &[22., 28., 49., 64.], 0.0);
        let e = run_err(&Op::Gemm(g), &[&iota(&[2, 3], 1.0), &iota(&[3, 2], 1.0), &f(&[3], &[0.; 3])]);
        assert!(e.contains("does not broadcast to [2, 2]"), "{e}");
    }
}
