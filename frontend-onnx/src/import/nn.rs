//! `MatMul`, `Gemm`, `Softmax`, `ReduceMean`, `ArgMax`, `BatchNormalization`,
//! `GlobalAveragePool`.

use int8xc_ir::{GemmAttrs, Op, ValueId};

use super::{Ctx, NodeIn};
use crate::OnnxError;

/// `MatMul` (numpy semantics).
pub(super) fn matmul(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let a = cx.input(n, 0)?;
    let b = cx.input(n, 1)?;
    Ok(vec![cx.emit(n, "", Op::MatMul, vec![a, b])?])
}

/// `Gemm` (opset 7–13+: `alpha`, `beta` default 1, `transA`/`transB` default 0, `C` optional
/// from opset 11) → [`Op::Gemm`]; a pass lowers it to `MatMul` + `Add`.
pub(super) fn gemm(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let a = cx.input(n, 0)?;
    let b = cx.input(n, 1)?;
    let c = cx.opt_input(n, 2)?;
    let attrs = GemmAttrs {
        alpha: n.float("alpha", 1.0)?,
        beta: n.float("beta", 1.0)?,
        trans_a: n.int("transA", 0)? != 0,
        trans_b: n.int("transB", 0)? != 0,
    };
    let inputs = [a, b].into_iter().chain(c).collect();
    Ok(vec![cx.emit(n, "", Op::Gemm(attrs), inputs)?])
}

/// `Softmax`. Opset 13+: along `axis` (default -1). Before opset 13 (default axis 1) the
/// input is coerced to 2-D `[prod(d[..axis]), prod(d[axis..])]` and normalized along its
/// second dim: imported as `Softmax{axis}` when every dim after `axis` is 1 (the same
/// thing), else as `Reshape → Softmax(axis=1) → Reshape`.
pub(super) fn softmax(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let shape = cx.ty(x).shape.clone();
    let rank = shape.len();
    if n.opset >= 13 {
        let axis = n.axis("axis", n.int("axis", -1)?, rank)?;
        return Ok(vec![cx.emit(n, "", Op::Softmax { axis }, vec![x])?]);
    }
    let axis = n.axis("axis", n.int("axis", 1)?, rank)?;
    if shape[axis + 1..].iter().all(|&d| d == 1) {
        return Ok(vec![cx.emit(n, "", Op::Softmax { axis }, vec![x])?]);
    }
    let rows: usize = shape[..axis].iter().product();
    let cols: usize = shape[axis..].iter().product();
    let flat = cx.emit(n, "flatten", Op::Reshape { shape: vec![rows, cols] }, vec![x])?;
    let sm = cx.emit(n, "softmax", Op::Softmax { axis: 1 }, vec![flat])?;
    Ok(vec![cx.emit(n, "", Op::Reshape { shape }, vec![sm])?])
}

/// `ReduceMean`: `axes` is an attribute before opset 18 and an optional constant input from
/// 18; `keepdims` defaults to 1. Empty/absent axes reduce every axis, unless
/// `noop_with_empty_axes` (opset 18) makes the op an identity.
pub(super) fn reduce_mean(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let rank = cx.ty(x).rank();
    let axes = if n.opset >= 18 { cx.const_ints(n, 1, "axes")? } else { n.ints("axes")? };
    let axes = axes.unwrap_or_default();
    if axes.is_empty() && n.int("noop_with_empty_axes", 0)? != 0 {
        return Ok(vec![x]);
    }
    let mut norm = axes.iter().map(|&a| n.axis("axes entry", a, rank)).collect::<Result<Vec<_>, _>>()?;
    if norm.is_empty() {
        norm = (0..rank).collect();
    }
    norm.sort_unstable();
    if norm.windows(2).any(|w| w[0] == w[1]) {
        return Err(n.err(format!("'axes' {axes:?} repeats an axis")));
    }
    let keepdims = n.int("keepdims", 1)? != 0;
    Ok(vec![cx.emit(n, "", Op::ReduceMean { axes: norm, keepdims }, vec![x])?])
}

/// `ArgMax` (`axis` default 0, `keepdims` default 1, `select_last_index` from opset 12).
pub(super) fn argmax(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let axis = n.axis("axis", n.int("axis", 0)?, cx.ty(x).rank())?;
    let op = Op::ArgMax {
        axis,
        keepdims: n.int("keepdims", 1)? != 0,
        select_last_index: n.int("select_last_index", 0)? != 0,
    };
    Ok(vec![cx.emit(n, "", op, vec![x])?])
}

/// `BatchNormalization` (`epsilon` default 1e-5): inputs `x`, `scale`, `B`, `mean`, `var`.
/// Inference mode → [`Op::BatchNormalization`]; opset-14+ training mode (`training_mode = 1`,
/// outputs `Y`, `running_mean`, `running_var`) is decomposed by
/// [`super::batch_norm::batch_norm_training`]. Before opset 14, the optional
/// training-statistics outputs are rejected.
pub(super) fn batch_norm(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    if n.opset >= 14 && n.int("training_mode", 0)? != 0 {
        let epsilon = n.float("epsilon", 1e-5)?;
        return super::batch_norm::batch_norm_training(cx, n, epsilon);
    }
    if n.int("training_mode", 0)? != 0 {
        return Err(n.err("training_mode = 1 before opset 14 is not supported"));
    }
    if let Some(k) = (1..n.proto.output.len()).find(|&k| n.output_used(k)) {
        return Err(n.err(format!(
            "output {k} (training statistics) is not supported; only inference BatchNormalization imports"
        )));
    }
    if n.opset < 9 && n.int("spatial", 1)? == 0 {
        return Err(n.err("spatial = 0 (per-activation statistics) is not supported"));
    }
    let inputs = (0..5).map(|i| cx.input(n, i)).collect::<Result<Vec<_>, _>>()?;
    let epsilon = n.float("epsilon", 1e-5)?;
    Ok(vec![cx.emit(n, "", Op::BatchNormalization { epsilon }, inputs)?])
}

/// `GlobalAveragePool` (`[N, C, H, W] → [N, C, 1, 1]`).
pub(super) fn global_average_pool(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    Ok(vec![cx.emit(n, "", Op::GlobalAveragePool, vec![x])?])
}
