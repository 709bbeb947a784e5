//! `Dropout` (opset 1–22) at inference: the output is the input, and the optional `mask`
//! output is all true (opset 10+: `bool`; earlier: ones of the input's dtype), a constant of
//! the input's shape.
//!
//! `training_mode = true` (opset 12+, a constant input) drops elements at random and is not
//! supported, except with a constant `ratio` of 0, where ONNX keeps every element (`mask =
//! uniform(0, 1) >= 0`, `y = x * mask / (1 - 0)`): that case is the inference result.

use int8xc_ir::{DType, Data, TensorData, ValueId};

use super::{Ctx, NodeIn};
use crate::OnnxError;

/// `Dropout`: returns `[x]`, or `[x, mask]` when the `mask` output is used.
pub(super) fn dropout(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let training = match cx.const_input(n, 2, "training_mode")? {
        Some(t) => t.to_i64_vec().is_some_and(|v| v.iter().any(|&b| b != 0)),
        None => false,
    };
    if training {
        let ratio = match cx.const_input(n, 1, "ratio")? {
            Some(r) => r.to_f32_vec().first().copied(),
            None => Some(0.5),
        };
        if ratio != Some(0.0) {
            let r = ratio.map_or_else(|| "?".to_string(), |r| r.to_string());
            return Err(n.err(format!(
                "training_mode = true with ratio {r} is not supported (random dropout; inference only)"
            )));
        }
    }
    if !n.output_used(1) {
        return Ok(vec![x]);
    }
    let ty = cx.ty(x).clone();
    let numel = ty.numel();
    if numel.saturating_mul(4) > crate::decode::MAX_FOLD_BYTES {
        return Err(n.err(format!("the 'mask' output {ty} is larger than the constant folding limit")));
    }
    let data = match (n.opset >= 10, ty.dtype) {
        (true, _) => Data::Bool(vec![true; numel]),
        (false, DType::F32) => Data::F32(vec![1.0; numel]),
        (false, DType::F16) => Data::F16(vec![half::f16::ONE; numel]),
        (false, other) => return Err(n.err(format!("the 'mask' output of a {other} Dropout is not supported"))),
    };
    let mask = TensorData::new(ty.shape.clone(), data).map_err(|e| n.err(e.to_string()))?;
    let name = n.proto.output.get(1).cloned().unwrap_or_default();
    Ok(vec![x, cx.graph.add_const(name, mask)])
}
