//! `BatchNormalization` in training mode (opset 14+, `training_mode = 1`) as a decomposition
//! into ops every backend runs, following the ONNX reference implementation
//! (`onnx/reference/ops/op_batch_normalization.py`, `_batchnorm_training_mode`):
//!
//! - `saved_mean = ReduceMean(x, axes = all but 1, keepdims)`, shape `[1, C, 1, …]`;
//! - `saved_var = ReduceMean((x - saved_mean)²)` (the population variance, numpy `var`);
//! - `Y = scale · (x - saved_mean) / sqrt(saved_var + epsilon) + B`, with `scale` and `B`
//!   reshaped to `[1, C, 1, …]` (the batch statistics normalize, not the running ones);
//! - `running_mean = input_mean · momentum + saved_mean · (1 - momentum)`, and likewise
//!   `running_var` from `input_var` and `saved_var`, both `[C]`.
//!
//! `momentum` defaults to 0.9 and `epsilon` to 1e-5. Helper nodes are named
//! `"{node}/{step}"`; the final `Add` of `Y` takes the node's name.

use int8xc_ir::{BinaryOp, DType, Data, MathFn, Op, TensorData, UnaryOp, ValueId};

use super::conv_nd::{finish, reshape};
use super::{Ctx, NodeIn};
use crate::OnnxError;

/// Imports a training-mode `BatchNormalization` (`x [N, C, D…]`, `scale`, `B`, `input_mean`,
/// `input_var` all `[C]`, one dtype, `f32` or `f16`) and returns `[Y, running_mean,
/// running_var]`; the running statistics are only computed when their outputs are named.
///
/// Errors: `x` of rank < 2, per-channel inputs that are not `[C]`, mixed or non-float dtypes.
pub(super) fn batch_norm_training(cx: &mut Ctx, n: &NodeIn, epsilon: f32) -> Result<Vec<ValueId>, OnnxError> {
    let inputs = (0..5).map(|i| cx.input(n, i)).collect::<Result<Vec<_>, _>>()?;
    let [x, scale, bias, input_mean, input_var] =
        <[ValueId; 5]>::try_from(inputs).map_err(|_| n.err("internal: expected 5 inputs"))?;
    let momentum = n.float("momentum", 0.9)?;
    let x_ty = cx.ty(x).clone();
    let rank = x_ty.rank();
    if rank < 2 {
        return Err(n.err(format!("input 'X' {x_ty} must have rank 2 or more ([N, C, D…])")));
    }
    let channels = x_ty.shape[1];
    let dtype = x_ty.dtype;
    if !matches!(dtype, DType::F32 | DType::F16) {
        return Err(n.err(format!("training mode on {dtype} tensors is not supported (f32, f16)")));
    }
    for (v, what) in [(scale, "scale"), (bias, "B"), (input_mean, "input_mean"), (input_var, "input_var")] {
        let ty = cx.ty(v);
        if ty.shape != [channels] || ty.dtype != dtype {
            return Err(n.err(format!("input '{what}' is {ty}; training mode needs {dtype}[{channels}] like 'X'")));
        }
    }

    let axes: Vec<usize> = std::iter::once(0).chain(2..rank).collect();
    let mut stat_shape = vec![1; rank];
    stat_shape[1] = channels;
    let reduce = Op::ReduceMean { axes, keepdims: true };
    let bin = |op| Op::Binary(op);

    let saved_mean = cx.emit(n, "saved_mean", reduce.clone(), vec![x])?;
    let centered = cx.emit(n, "centered", bin(BinaryOp::Sub), vec![x, saved_mean])?;
    let squared = cx.emit(n, "squared", bin(BinaryOp::Mul), vec![centered, centered])?;
    let saved_var = cx.emit(n, "saved_var", reduce, vec![squared])?;
    let eps = scalar(cx, n, "epsilon", dtype, epsilon)?;
    let var_eps = cx.emit(n, "var_eps", bin(BinaryOp::Add), vec![saved_var, eps])?;
    let std = cx.emit(n, "std", Op::Unary(UnaryOp::Math(MathFn::Sqrt)), vec![var_eps])?;
    let scale_b = reshape(cx, n, "scale_bcast", scale, stat_shape.clone())?;
    let bias_b = reshape(cx, n, "bias_bcast", bias, stat_shape)?;
    let scaled = cx.emit(n, "scaled", bin(BinaryOp::Mul), vec![scale_b, centered])?;
    let normalized = cx.emit(n, "normalized", bin(BinaryOp::Div), vec![scaled, std])?;
    let y = cx.emit(n, "", bin(BinaryOp::Add), vec![normalized, bias_b])?;

    let mut outs = vec![y];
    let (keep, take) = if n.output_used(1) || n.output_used(2) {
        let keep = scalar(cx, n, "momentum", dtype, momentum)?;
        (keep, scalar(cx, n, "one_minus_momentum", dtype, (1.0 - f64::from(momentum)) as f32)?)
    } else {
        (y, y)
    };
    for (k, input_stat, saved, what) in
        [(1, input_mean, saved_mean, "running_mean"), (2, input_var, saved_var, "running_var")]
    {
        if !n.output_used(k) {
            outs.push(y); // placeholder for an absent output; the caller skips it
            continue;
        }
        let flat = reshape(cx, n, &format!("{what}/batch"), saved, vec![channels])?;
        let kept = cx.emit(n, &format!("{what}/kept"), bin(BinaryOp::Mul), vec![input_stat, keep])?;
        let taken = cx.emit(n, &format!("{what}/taken"), bin(BinaryOp::Mul), vec![flat, take])?;
        let stat = cx.emit(n, what, bin(BinaryOp::Add), vec![kept, taken])?;
        outs.push(finish(cx, n, k, stat));
    }
    Ok(outs)
}

/// A `[1]` constant `value` of `dtype` (`f32` or `f16`) for node `n`.
fn scalar(cx: &mut Ctx, n: &NodeIn, suffix: &str, dtype: DType, value: f32) -> Result<ValueId, OnnxError> {
    let data = match dtype {
        DType::F16 => Data::F16(vec![half::f16::from_f32(value)]),
        _ => Data::F32(vec![value]),
    };
    let t = TensorData::new([1], data).map_err(|e| n.err(e.to_string()))?;
    Ok(cx.constant(n, suffix, t))
}
