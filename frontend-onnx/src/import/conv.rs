//! `Conv`, `ConvTranspose`, `MaxPool` and `AveragePool` (2-D, NCHW): attributes resolved to
//! explicit pads (`auto_pad`, `output_shape`), kernel sizes read from the weight when absent.

use int8xc_ir::{ConvAttrs, ConvTransposeAttrs, Op, PoolAttrs, ValueId};

use super::{Ctx, NodeIn};
use crate::OnnxError;

/// The spatial dims `[H, W]` of a 4-D NCHW tensor, or an error for other ranks (only 2-D
/// convolution and pooling are supported).
fn spatial(n: &NodeIn, what: &str, shape: &[usize]) -> Result<[usize; 2], OnnxError> {
    match shape {
        [_, _, h, w] => Ok([*h, *w]),
        _ => Err(
            n.err(format!("only 2-D {} is supported: {what} must be 4-D (N, C, H, W), got shape {shape:?}", n.op_type))
        ),
    }
}

fn pair(n: &NodeIn, name: &str, default: usize) -> Result<[usize; 2], OnnxError> {
    let v = n.usize_list(name, 2, default)?;
    Ok([v[0], v[1]])
}

fn positive(n: &NodeIn, name: &str, v: [usize; 2]) -> Result<[usize; 2], OnnxError> {
    if v.contains(&0) {
        return Err(n.err(format!("attribute '{name}' must be positive, got {v:?}")));
    }
    Ok(v)
}

/// `auto_pad` values (ONNX: NOTSET, SAME_UPPER, SAME_LOWER, VALID).
#[derive(Clone, Copy, PartialEq)]
enum AutoPad {
    NotSet,
    SameUpper,
    SameLower,
    Valid,
}

fn auto_pad(n: &NodeIn) -> Result<AutoPad, OnnxError> {
    match n.string("auto_pad", "NOTSET")?.as_str() {
        "NOTSET" | "" => Ok(AutoPad::NotSet),
        "SAME_UPPER" => Ok(AutoPad::SameUpper),
        "SAME_LOWER" => Ok(AutoPad::SameLower),
        "VALID" => Ok(AutoPad::Valid),
        other => Err(n.err(format!("attribute 'auto_pad' has unknown value '{other}'"))),
    }
}

/// Explicit pads `[top, left, bottom, right]` for a windowed op (Conv, pooling): the `pads`
/// attribute for NOTSET, zeros for VALID, and for SAME_* the ONNX rule `out = ceil(in /
/// stride)`, `total = max(0, (out - 1) * stride + (k - 1) * dilation + 1 - in)`, with the odd
/// element at the end (SAME_UPPER) or the beginning (SAME_LOWER).
fn window_pads(
    n: &NodeIn,
    input: [usize; 2],
    kernel: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
) -> Result<[usize; 4], OnnxError> {
    let mode = auto_pad(n)?;
    match mode {
        AutoPad::NotSet => {
            let p = n.usize_list("pads", 4, 0)?;
            Ok([p[0], p[1], p[2], p[3]])
        }
        AutoPad::Valid => Ok([0; 4]),
        AutoPad::SameUpper | AutoPad::SameLower => {
            let mut pads = [0; 4];
            for i in 0..2 {
                let out = input[i].div_ceil(strides[i]);
                let span = (kernel[i] - 1) * dilations[i] + 1;
                let total = ((out.saturating_sub(1)) * strides[i] + span).saturating_sub(input[i]);
                let small = total / 2;
                let (begin, end) =
                    if mode == AutoPad::SameUpper { (small, total - small) } else { (total - small, small) };
                pads[i] = begin;
                pads[i + 2] = end;
            }
            Ok(pads)
        }
    }
}

/// `Conv` (opset 1–11+, 2-D only): inputs `x [N, C, H, W]`, `w [M, C/group, kH, kW]`,
/// optional `b [M]`; `kernel_shape` defaults to the weight's spatial dims.
pub(super) fn conv(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let w = cx.input(n, 1)?;
    let b = cx.opt_input(n, 2)?;
    let attrs = conv_attrs(n, &cx.ty(x).shape, &cx.ty(w).shape)?;
    let inputs = std::iter::once(x).chain(Some(w)).chain(b).collect();
    Ok(vec![cx.emit(n, "", Op::Conv(attrs), inputs)?])
}

/// The attributes of a `Conv`-like node (`Conv`, `ConvInteger`, `QLinearConv`) with input
/// shape `x` and weight shape `w`: `kernel_shape` (default: the weight's spatial dims),
/// `strides`, `dilations`, `group`, and pads resolved from `pads` / `auto_pad`.
pub(super) fn conv_attrs(n: &NodeIn, x: &[usize], w: &[usize]) -> Result<ConvAttrs, OnnxError> {
    let input = spatial(n, "input X", x)?;
    let wk = spatial(n, "weight W", w)?;
    let kernel = if n.attr("kernel_shape").is_some() { pair(n, "kernel_shape", 0)? } else { wk };
    let kernel = positive(n, "kernel_shape", kernel)?;
    if kernel != wk {
        return Err(
            n.err(format!("attribute 'kernel_shape' {kernel:?} does not match the weight's spatial dims {wk:?}"))
        );
    }
    let strides = positive(n, "strides", pair(n, "strides", 1)?)?;
    let dilations = positive(n, "dilations", pair(n, "dilations", 1)?)?;
    let group = usize::try_from(n.int("group", 1)?)
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| n.err("attribute 'group' must be positive"))?;
    let pads = window_pads(n, input, kernel, strides, dilations)?;
    Ok(ConvAttrs { kernel, strides, pads, dilations, group })
}

/// `ConvTranspose` (opset 1–11+, 2-D only): inputs `x [N, C, H, W]`, `w [C, M/group, kH,
/// kW]`, optional `b [M]`. Pads come from `pads`, or from `output_shape` / SAME_* `auto_pad`
/// by the ONNX rule `total = stride * (in - 1) + output_padding + (k - 1) * dilation + 1 -
/// out` (split `total/2` first for SAME_UPPER, the larger half first otherwise), where `out =
/// in * stride` for SAME_* without `output_shape`.
pub(super) fn conv_transpose(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let w = cx.input(n, 1)?;
    let b = cx.opt_input(n, 2)?;
    let input = spatial(n, "input X", &cx.ty(x).shape)?;
    let wk = spatial(n, "weight W", &cx.ty(w).shape)?;
    let kernel = if n.attr("kernel_shape").is_some() { pair(n, "kernel_shape", 0)? } else { wk };
    let kernel = positive(n, "kernel_shape", kernel)?;
    if kernel != wk {
        return Err(
            n.err(format!("attribute 'kernel_shape' {kernel:?} does not match the weight's spatial dims {wk:?}"))
        );
    }
    let strides = positive(n, "strides", pair(n, "strides", 1)?)?;
    let dilations = positive(n, "dilations", pair(n, "dilations", 1)?)?;
    let output_padding = pair(n, "output_padding", 0)?;
    let group = usize::try_from(n.int("group", 1)?)
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| n.err("attribute 'group' must be positive"))?;
    let mode = auto_pad(n)?;
    let output_shape = match n.ints("output_shape")? {
        None => None,
        Some(v) if v.len() >= 2 => {
            let hw = &v[v.len() - 2..];
            let conv = |d: i64| {
                usize::try_from(d).map_err(|_| n.err(format!("attribute 'output_shape' has a negative value {d}")))
            };
            Some([conv(hw[0])?, conv(hw[1])?])
        }
        Some(v) => return Err(n.err(format!("attribute 'output_shape' needs 2 spatial dims, got {v:?}"))),
    };
    let target = match (output_shape, mode) {
        (Some(out), _) => Some(out),
        (None, AutoPad::SameUpper | AutoPad::SameLower) => Some([input[0] * strides[0], input[1] * strides[1]]),
        _ => None,
    };
    let pads = match (target, mode) {
        (Some(out), _) => {
            let mut pads = [0; 4];
            for i in 0..2 {
                let full =
                    strides[i] * input[i].saturating_sub(1) + output_padding[i] + (kernel[i] - 1) * dilations[i] + 1;
                let total = full.checked_sub(out[i]).ok_or_else(|| {
                    n.err(format!(
                        "output size {} along spatial axis {i} is larger than the {full} this input, kernel, stride and output_padding give",
                        out[i]
                    ))
                })?;
                let (begin, end) = if mode == AutoPad::SameUpper {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                };
                pads[i] = begin;
                pads[i + 2] = end;
            }
            pads
        }
        (None, AutoPad::Valid) => [0; 4],
        (None, _) => {
            let p = n.usize_list("pads", 4, 0)?;
            [p[0], p[1], p[2], p[3]]
        }
    };
    let op = Op::ConvTranspose(ConvTransposeAttrs { kernel, strides, pads, dilations, output_padding, group });
    let inputs = std::iter::once(x).chain(Some(w)).chain(b).collect();
    Ok(vec![cx.emit(n, "", op, inputs)?])
}

/// `MaxPool` (opset 1–12+: `dilations` and `ceil_mode` from opset 10) and `AveragePool`
/// (`count_include_pad`, `ceil_mode`; dilations other than 1 are rejected), 2-D only.
/// MaxPool's optional `Indices` output is not supported.
pub(super) fn pool(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let is_max = n.op_type == "MaxPool";
    if is_max && n.output_used(1) {
        return Err(n.err("the optional 'Indices' output is not supported"));
    }
    let x = cx.input(n, 0)?;
    let attrs = pool_attrs(n, &cx.ty(x).shape, is_max)?;
    let op = if is_max { Op::MaxPool(attrs) } else { Op::AveragePool(attrs) };
    Ok(vec![cx.emit(n, "", op, vec![x])?])
}

/// The attributes of a pooling node (`MaxPool` when `is_max`, else `AveragePool` /
/// `QLinearAveragePool`) with NCHW input shape `x`.
pub(super) fn pool_attrs(n: &NodeIn, x: &[usize], is_max: bool) -> Result<PoolAttrs, OnnxError> {
    let input = spatial(n, "input X", x)?;
    if n.attr("kernel_shape").is_none() {
        return Err(n.err("missing attribute 'kernel_shape'"));
    }
    let kernel = positive(n, "kernel_shape", pair(n, "kernel_shape", 0)?)?;
    let strides = positive(n, "strides", pair(n, "strides", 1)?)?;
    let dilations = positive(n, "dilations", pair(n, "dilations", 1)?)?;
    if !is_max && dilations != [1, 1] {
        return Err(n.err(format!("{} with dilations {dilations:?} is not supported", n.op_type)));
    }
    let ceil_mode = n.int("ceil_mode", 0)? != 0;
    let count_include_pad = !is_max && n.int("count_include_pad", 0)? != 0;
    let pads = window_pads(n, input, kernel, strides, dilations)?;
    Ok(PoolAttrs { kernel, strides, pads, dilations, ceil_mode, count_include_pad })
}
