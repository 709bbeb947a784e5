//! Window attributes shared by `Conv`, `ConvTranspose` and the pools, for any spatial rank
//! (ONNX allows 1 to 3 spatial axes): kernel, strides, dilations and `auto_pad` / `pads`
//! resolved to explicit pads, plus the lift of 1-D lists to the IR's 2-D form (a leading
//! height axis of size 1 with neutral attributes).

use super::NodeIn;
use crate::OnnxError;

/// `auto_pad` values (ONNX: NOTSET, SAME_UPPER, SAME_LOWER, VALID).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum AutoPad {
    NotSet,
    SameUpper,
    SameLower,
    Valid,
}

/// The node's `auto_pad` attribute (default NOTSET).
pub(super) fn auto_pad(n: &NodeIn) -> Result<AutoPad, OnnxError> {
    match n.string("auto_pad", "NOTSET")?.as_str() {
        "NOTSET" | "" => Ok(AutoPad::NotSet),
        "SAME_UPPER" => Ok(AutoPad::SameUpper),
        "SAME_LOWER" => Ok(AutoPad::SameLower),
        "VALID" => Ok(AutoPad::Valid),
        other => Err(n.err(format!("attribute 'auto_pad' has unknown value '{other}'"))),
    }
}

/// The spatial dims of `shape` (`[N, C, D1, …]` with 1 to 3 spatial axes), or an error naming
/// `what`.
pub(super) fn spatial<'s>(n: &NodeIn, what: &str, shape: &'s [usize]) -> Result<&'s [usize], OnnxError> {
    match shape {
        [_, _, rest @ ..] if (1..=3).contains(&rest.len()) => Ok(rest),
        _ => Err(n.err(format!("{what} must have 1 to 3 spatial axes (N, C, D1[, D2[, D3]]), got shape {shape:?}"))),
    }
}

/// A list attribute of `rank` positive values (`default` for each when absent).
pub(super) fn positive_list(n: &NodeIn, name: &str, rank: usize, default: usize) -> Result<Vec<usize>, OnnxError> {
    let v = n.usize_list(name, rank, default)?;
    if v.contains(&0) {
        return Err(n.err(format!("attribute '{name}' must be positive, got {v:?}")));
    }
    Ok(v)
}

/// The `group` attribute (default 1, must be positive).
pub(super) fn group(n: &NodeIn) -> Result<usize, OnnxError> {
    usize::try_from(n.int("group", 1)?)
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| n.err("attribute 'group' must be positive"))
}

/// `kernel_shape` of a node with weights: the weight's spatial dims `wk` when absent; when
/// present it must equal them.
pub(super) fn kernel_from_weight(n: &NodeIn, wk: &[usize]) -> Result<Vec<usize>, OnnxError> {
    if n.attr("kernel_shape").is_none() {
        return Ok(wk.to_vec());
    }
    let kernel = positive_list(n, "kernel_shape", wk.len(), 0)?;
    if kernel != wk {
        return Err(
            n.err(format!("attribute 'kernel_shape' {kernel:?} does not match the weight's spatial dims {wk:?}"))
        );
    }
    Ok(kernel)
}

/// Explicit pads `[begin_1, …, begin_r, end_1, …, end_r]` (ONNX order) for a windowed op
/// (Conv, pooling) over spatial dims `input`: the `pads` attribute for NOTSET, zeros for
/// VALID, and for SAME_* the ONNX rule `out = ceil(in / stride)`, `total = max(0, (out - 1) *
/// stride + (k - 1) * dilation + 1 - in)`, with the odd element at the end (SAME_UPPER) or
/// the beginning (SAME_LOWER).
pub(super) fn window_pads(
    n: &NodeIn,
    input: &[usize],
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
) -> Result<Vec<usize>, OnnxError> {
    let r = input.len();
    let mode = auto_pad(n)?;
    match mode {
        AutoPad::NotSet => n.usize_list("pads", 2 * r, 0),
        AutoPad::Valid => Ok(vec![0; 2 * r]),
        AutoPad::SameUpper | AutoPad::SameLower => {
            let mut pads = vec![0; 2 * r];
            for i in 0..r {
                let out = input[i].div_ceil(strides[i]);
                let span = (kernel[i] - 1) * dilations[i] + 1;
                let total = (out.saturating_sub(1) * strides[i] + span).saturating_sub(input[i]);
                let small = total / 2;
                let (begin, end) =
                    if mode == AutoPad::SameUpper { (small, total - small) } else { (total - small, small) };
                pads[i] = begin;
                pads[i + r] = end;
            }
            Ok(pads)
        }
    }
}

/// A per-axis list of 1 or 2 spatial axes as the IR's `[H, W]`: a 1-D list `[l]` becomes
/// `[neutral, l]` (the lifted height axis has size 1).
pub(super) fn as_2d(v: &[usize], neutral: usize) -> [usize; 2] {
    match v {
        [l] => [neutral, *l],
        [h, w, ..] => [*h, *w],
        [] => [neutral; 2],
    }
}

/// ONNX pads of 1 or 2 spatial axes as the IR's `[top, left, bottom, right]` (no padding on
/// a lifted height axis).
pub(super) fn pads_2d(p: &[usize]) -> [usize; 4] {
    match p {
        [b, e] => [0, *b, 0, *e],
        [t, l, b, r, ..] => [*t, *l, *b, *r],
        _ => [0; 4],
    }
}

/// A shape with a size-1 height axis inserted after `N, C` (`[N, C, L] → [N, C, 1, L]`, also
/// for weights `[M, C/g, k] → [M, C/g, 1, k]`).
pub(super) fn lifted_shape(shape: &[usize]) -> Vec<usize> {
    let mut s = shape.to_vec();
    s.insert(2.min(s.len()), 1);
    s
}
