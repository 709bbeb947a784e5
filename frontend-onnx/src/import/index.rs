//! `GatherElements`, `TopK` and `CumSum` (→ [`Op::GatherElements`], [`Op::TopK`],
//! [`Op::CumSum`]), with their axis/`K` inputs resolved to attributes.

use int8xc_ir::{CumSumAttrs, Op, TopKAttrs, ValueId};

use super::{Ctx, NodeIn};
use crate::OnnxError;

/// The ops this module imports.
pub(super) const OPS: &[&str] = &["CumSum", "GatherElements", "TopK"];

/// Dispatches the ops of this module (the caller has checked the op type is one of [`OPS`]).
pub(super) fn import(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    match n.op_type {
        "GatherElements" => gather_elements(cx, n),
        "TopK" => top_k(cx, n),
        _ => cum_sum(cx, n),
    }
}

/// A constant integer scalar (or one-element tensor) input.
fn scalar_input(cx: &mut Ctx, n: &NodeIn, i: usize, what: &str) -> Result<i64, OnnxError> {
    let t = cx.const_input(n, i, what)?.ok_or_else(|| n.err(format!("missing required input {i} ('{what}')")))?;
    match t.to_i64_vec().as_deref() {
        Some([v]) => Ok(*v),
        _ => Err(n.err(format!("input {i} ('{what}') must be an integer scalar, got {}{:?}", t.dtype(), t.shape()))),
    }
}

/// `GatherElements` (opset 11/13): attribute `axis` (default 0).
fn gather_elements(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let data = cx.input(n, 0)?;
    let indices = cx.input(n, 1)?;
    let axis = n.axis("axis", n.int("axis", 0)?, cx.ty(data).rank())?;
    Ok(vec![cx.emit(n, "", Op::GatherElements { axis }, vec![data, indices])?])
}

/// `TopK`: `k` is an attribute before opset 10, then the constant input `K`; `largest` and
/// `sorted` (opset 11, default 1); `axis` (default -1). Two outputs.
fn top_k(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let axis = n.axis("axis", n.int("axis", -1)?, cx.ty(x).rank())?;
    let k = if n.opset < 10 { n.int_required("k")? } else { scalar_input(cx, n, 1, "K")? };
    let k = usize::try_from(k).map_err(|_| n.err(format!("k = {k} must not be negative")))?;
    let largest = n.int("largest", 1)? != 0;
    let sorted = n.int("sorted", 1)? != 0;
    cx.emit_node(n, Op::TopK(TopKAttrs { axis, k, largest, sorted }), vec![x])
}

/// `CumSum` (opset 11/14): constant input `axis`; attributes `exclusive`, `reverse`.
fn cum_sum(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let axis = scalar_input(cx, n, 1, "axis")?;
    let axis = n.axis("axis", axis, cx.ty(x).rank())?;
    let exclusive = n.int("exclusive", 0)? != 0;
    let reverse = n.int("reverse", 0)? != 0;
    Ok(vec![cx.emit(n, "", Op::CumSum(CumSumAttrs { axis, exclusive, reverse }), vec![x])?])
}
