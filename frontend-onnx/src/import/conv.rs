//! `Conv`, `ConvTranspose`, `MaxPool` and `AveragePool` (NCHW): attributes resolved to
//! explicit pads (`auto_pad`, `output_shape`), kernel sizes read from the weight when absent.
//! The IR's windowed ops are 2-D; 1-D nodes (and 3-D pools and ConvTranspose) are rewritten
//! into them (see [`super::conv_nd`]).

use int8xc_ir::{BinaryOp, ConvAttrs, ConvTransposeAttrs, Op, PadAttrs, PadMode, PoolAttrs, ValueId};

use super::conv_nd::{self, Window3};
use super::window::{
    as_2d, auto_pad, group, kernel_from_weight, pads_2d, positive_list, spatial, window_pads, AutoPad,
};
use super::{Ctx, NodeIn};
use crate::OnnxError;

/// `Conv` (opset 1–11+, 1-D to 3-D): inputs `x [N, C, D…]`, `w [M, C/group, k…]` of the same
/// rank, optional `b [M]`; `kernel_shape` defaults to the weight's spatial dims.
pub(super) fn conv(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let w = cx.input(n, 1)?;
    let b = cx.opt_input(n, 2)?;
    let xs = cx.ty(x).shape.clone();
    let win = conv_window(n, &xs, &cx.ty(w).shape)?;
    if let Some(w3) = win.as_3d() {
        let y = conv_nd::conv_3d(cx, n, (x, w, b), &w3, win.group)?;
        return Ok(vec![conv_nd::finish(cx, n, 0, y)]);
    }
    let attrs = win.as_2d();
    if xs.len() == 3 {
        let inputs: Vec<(ValueId, bool)> = [(x, true), (w, true)].into_iter().chain(b.map(|b| (b, false))).collect();
        let outs = conv_nd::lift_1d(cx, n, Op::Conv(attrs), &inputs)?;
        return Ok(outs.into_iter().enumerate().map(|(k, v)| conv_nd::finish(cx, n, k, v)).collect());
    }
    let inputs = std::iter::once(x).chain(Some(w)).chain(b).collect();
    Ok(vec![cx.emit(n, "", Op::Conv(attrs), inputs)?])
}

/// `Conv` attributes for any spatial rank (lists of `r` entries, pads `2r`).
struct ConvWindow {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    pads: Vec<usize>,
    dilations: Vec<usize>,
    group: usize,
}

impl ConvWindow {
    /// The IR's 2-D attributes of a 1-D (lifted to a height axis of size 1) or 2-D window.
    fn as_2d(&self) -> ConvAttrs {
        ConvAttrs {
            kernel: as_2d(&self.kernel, 1),
            strides: as_2d(&self.strides, 1),
            pads: pads_2d(&self.pads),
            dilations: as_2d(&self.dilations, 1),
            group: self.group,
        }
    }

    /// The geometry of a 3-D window.
    fn as_3d(&self) -> Option<Window3> {
        Window3::from_lists(&self.kernel, &self.strides, &self.pads, &self.dilations)
    }
}

/// The attributes of a `Conv`-like node with input shape `x` and weight shape `w` of the same
/// rank.
fn conv_window(n: &NodeIn, x: &[usize], w: &[usize]) -> Result<ConvWindow, OnnxError> {
    let input = spatial(n, "input X", x)?;
    let wk = spatial(n, "weight W", w)?;
    if wk.len() != input.len() {
        return Err(n.err(format!("weight W {w:?} and input X {x:?} have different numbers of spatial axes")));
    }
    let r = input.len();
    let kernel = kernel_from_weight(n, wk)?;
    let strides = positive_list(n, "strides", r, 1)?;
    let dilations = positive_list(n, "dilations", r, 1)?;
    let group = group(n)?;
    let pads = window_pads(n, input, &kernel, &strides, &dilations)?;
    Ok(ConvWindow { kernel, strides, pads, dilations, group })
}

/// The attributes of a 2-D `Conv`-like node (`ConvInteger`, `QLinearConv`) with input shape
/// `x` and weight shape `w`: `kernel_shape` (default: the weight's spatial dims), `strides`,
/// `dilations`, `group`, and pads resolved from `pads` / `auto_pad`.
pub(super) fn conv_attrs(n: &NodeIn, x: &[usize], w: &[usize]) -> Result<ConvAttrs, OnnxError> {
    if x.len() != 4 {
        return Err(
            n.err(format!("only 2-D {} is supported: input X must be 4-D (N, C, H, W), got shape {x:?}", n.op_type))
        );
    }
    Ok(conv_window(n, x, w)?.as_2d())
}

/// Resolved `ConvTranspose` attributes for `r` spatial axes.
struct TransposeWindow {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    /// Non-negative pads `[begins…, ends…]`.
    pads: Vec<usize>,
    /// `output_padding` plus the negative end pads (extra output at the end).
    output_padding: Vec<usize>,
    /// Negative begin pads: extra output at the start of each axis (bias only).
    shift: Vec<usize>,
    group: usize,
}

/// `ConvTranspose` attributes over spatial dims `input` with weight spatial dims `wk`. Pads
/// come from `pads`, or from `output_shape` / SAME_* `auto_pad` by the ONNX rule (as the
/// reference implementation computes it)
/// `total = stride * (in - 1) + output_padding + (k - 1) * dilation + 1 - out`, split
/// `floor(total / 2)` first for SAME_UPPER and last otherwise, where `out = in * stride` for
/// SAME_* without `output_shape`. A negative total (an output larger than the full one) gives
/// negative pads: extra output rows, which hold the bias only.
fn conv_transpose_window(n: &NodeIn, input: &[usize], wk: &[usize]) -> Result<TransposeWindow, OnnxError> {
    let r = input.len();
    if wk.len() != r {
        return Err(n.err(format!("weight W has {} spatial axes, input X {r}", wk.len())));
    }
    let kernel = kernel_from_weight(n, wk)?;
    let strides = positive_list(n, "strides", r, 1)?;
    let dilations = positive_list(n, "dilations", r, 1)?;
    let mut output_padding = n.usize_list("output_padding", r, 0)?;
    let group = group(n)?;
    let mode = auto_pad(n)?;
    let output_shape = match n.ints("output_shape")? {
        None => None,
        Some(v) if v.len() >= r => Some(
            v[v.len() - r..]
                .iter()
                .map(|&d| {
                    usize::try_from(d).map_err(|_| n.err(format!("attribute 'output_shape' has a negative value {d}")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(v) => return Err(n.err(format!("attribute 'output_shape' needs {r} spatial dims, got {v:?}"))),
    };
    let target = match (output_shape, mode) {
        (Some(out), _) => Some(out),
        (None, AutoPad::SameUpper | AutoPad::SameLower) => {
            Some(input.iter().zip(&strides).map(|(&i, &s)| i.saturating_mul(s)).collect())
        }
        _ => None,
    };
    let signed: Vec<i128> = match (target, mode) {
        (Some(out), _) => {
            let mut pads = vec![0; 2 * r];
            for i in 0..r {
                let full = strides[i] as i128 * (input[i] as i128 - 1)
                    + output_padding[i] as i128
                    + (kernel[i] as i128 - 1) * dilations[i] as i128
                    + 1;
                let total = full - out[i] as i128;
                let half = total.div_euclid(2);
                let (begin, end) = if mode == AutoPad::SameUpper { (half, total - half) } else { (total - half, half) };
                pads[i] = begin;
                pads[i + r] = end;
            }
            pads
        }
        (None, AutoPad::Valid) => vec![0; 2 * r],
        (None, _) => n.usize_list("pads", 2 * r, 0)?.into_iter().map(|p| p as i128).collect(),
    };
    let to_usize =
        |v: i128| usize::try_from(v).map_err(|_| n.err(format!("ConvTranspose pads {signed:?} are out of range")));
    let mut pads = vec![0; 2 * r];
    let mut shift = vec![0; r];
    for i in 0..r {
        let (begin, end) = (signed[i], signed[i + r]);
        pads[i] = to_usize(begin.max(0))?;
        shift[i] = to_usize((-begin).max(0))?;
        pads[i + r] = to_usize(end.max(0))?;
        output_padding[i] =
            output_padding[i].checked_add(to_usize((-end).max(0))?).ok_or_else(|| n.err("output_padding overflows"))?;
    }
    Ok(TransposeWindow { kernel, strides, dilations, pads, output_padding, shift, group })
}

/// `ConvTranspose` (opset 1–11+, 1-D to 3-D): inputs `x [N, C, D…]`, `w [C, M/group, k…]`,
/// optional `b [M]`; see [`conv_transpose_window`] for the pads. Extra output at the start of
/// an axis (negative begin pads) is added with a `Pad` and the bias added after it.
pub(super) fn conv_transpose(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let w = cx.input(n, 1)?;
    let b = cx.opt_input(n, 2)?;
    let xs = cx.ty(x).shape.clone();
    let input = spatial(n, "input X", &xs)?;
    let a = conv_transpose_window(n, input, spatial(n, "weight W", &cx.ty(w).shape)?)?;
    let shifted = a.shift.iter().any(|&s| s > 0);
    let b_now = if shifted { None } else { b };
    let win3 = Window3::from_lists(&a.kernel, &a.strides, &a.pads, &a.dilations);
    let y = if let (Some(win), Ok(op)) = (win3, <[usize; 3]>::try_from(a.output_padding.as_slice())) {
        conv_nd::conv_transpose_3d(cx, n, (x, w, b_now), &win, op, a.group)?
    } else {
        let op = Op::ConvTranspose(ConvTransposeAttrs {
            kernel: as_2d(&a.kernel, 1),
            strides: as_2d(&a.strides, 1),
            pads: pads_2d(&a.pads),
            dilations: as_2d(&a.dilations, 1),
            output_padding: as_2d(&a.output_padding, 0),
            group: a.group,
        });
        let inputs: Vec<ValueId> = std::iter::once(x).chain(Some(w)).chain(b_now).collect();
        match xs.len() {
            4 if !shifted => return Ok(vec![cx.emit(n, "", op, inputs)?]),
            4 => cx.emit(n, "2d", op, inputs)?,
            _ => {
                let lifted: Vec<(ValueId, bool)> =
                    [(x, true), (w, true)].into_iter().chain(b_now.map(|b| (b, false))).collect();
                let outs = conv_nd::lift_1d(cx, n, op, &lifted)?;
                outs.into_iter().next().ok_or_else(|| n.err("internal: ConvTranspose gave no output"))?
            }
        }
    };
    let y = if shifted { shift_and_bias(cx, n, y, &a.shift, b)? } else { y };
    Ok(vec![conv_nd::finish(cx, n, 0, y)])
}

/// Adds `shift[i]` zero rows before spatial axis `i` of `y [N, M, D…]`, then the bias `b [M]`
/// (broadcast as `[M, 1, …]`) when present.
fn shift_and_bias(
    cx: &mut Ctx,
    n: &NodeIn,
    y: ValueId,
    shift: &[usize],
    b: Option<ValueId>,
) -> Result<ValueId, OnnxError> {
    let rank = cx.ty(y).shape.len();
    let begin = [0, 0].into_iter().chain(shift.iter().copied()).collect();
    let pad = PadAttrs { mode: PadMode::Constant, begin, end: vec![0; rank], value: 0.0 };
    let y = cx.emit(n, "shift", Op::Pad(pad), vec![y])?;
    let Some(b) = b else { return Ok(y) };
    let m = cx.ty(b).shape.first().copied().unwrap_or(1);
    let rows = std::iter::once(m).chain(std::iter::repeat_n(1, rank.saturating_sub(2))).collect();
    let b = conv_nd::reshape(cx, n, "bias_rows", b, rows)?;
    cx.emit(n, "bias", Op::Binary(BinaryOp::Add), vec![y, b])
}

/// `MaxPool` (opset 1–12+: `dilations` and `ceil_mode` from opset 10, the optional `Indices`
/// output with `storage_order`) and `AveragePool` (`count_include_pad`, `ceil_mode`,
/// `dilations` from opset 19), 1-D to 3-D (the `Indices` of a 3-D MaxPool are not supported).
pub(super) fn pool(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let is_max = n.op_type == "MaxPool";
    let with_indices = is_max && n.output_used(1);
    let x = cx.input(n, 0)?;
    let xs = cx.ty(x).shape.clone();
    let input = spatial(n, "input X", &xs)?;
    let p = pool_window(n, input, is_max)?;
    let column_major = match n.int("storage_order", 0)? {
        0 => false,
        1 => true,
        other => return Err(n.err(format!("attribute 'storage_order' must be 0 or 1, got {other}"))),
    };
    if let Some(win) = Window3::from_lists(&p.kernel, &p.strides, &p.pads, &p.dilations) {
        if with_indices {
            return Err(n.err("the 'Indices' output of a 3-D MaxPool is not supported"));
        }
        let y = conv_nd::pool_3d(cx, n, x, is_max, &win, p.ceil_mode, p.count_include_pad)?;
        return Ok(vec![conv_nd::finish(cx, n, 0, y)]);
    }
    let attrs = PoolAttrs {
        kernel: as_2d(&p.kernel, 1),
        strides: as_2d(&p.strides, 1),
        pads: pads_2d(&p.pads),
        dilations: as_2d(&p.dilations, 1),
        ceil_mode: p.ceil_mode,
        count_include_pad: p.count_include_pad,
    };
    let op = match (is_max, with_indices) {
        (true, true) => Op::MaxPoolWithIndices { pool: attrs, column_major },
        (true, false) => Op::MaxPool(attrs),
        _ => Op::AveragePool(attrs),
    };
    if input.len() == 1 {
        let outs = conv_nd::lift_1d(cx, n, op, &[(x, true)])?;
        return Ok(outs.into_iter().enumerate().map(|(k, v)| conv_nd::finish(cx, n, k, v)).collect());
    }
    if with_indices {
        return cx.emit_node(n, op, vec![x]);
    }
    Ok(vec![cx.emit(n, "", op, vec![x])?])
}

/// Pool attributes for any spatial rank (lists of `r` entries, pads `2r`).
struct PoolWindow {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    pads: Vec<usize>,
    dilations: Vec<usize>,
    ceil_mode: bool,
    count_include_pad: bool,
}

fn pool_window(n: &NodeIn, input: &[usize], is_max: bool) -> Result<PoolWindow, OnnxError> {
    let r = input.len();
    if n.attr("kernel_shape").is_none() {
        return Err(n.err("missing attribute 'kernel_shape'"));
    }
    let kernel = positive_list(n, "kernel_shape", r, 0)?;
    let strides = positive_list(n, "strides", r, 1)?;
    let dilations = positive_list(n, "dilations", r, 1)?;
    let ceil_mode = n.int("ceil_mode", 0)? != 0;
    let count_include_pad = !is_max && n.int("count_include_pad", 0)? != 0;
    let pads = window_pads(n, input, &kernel, &strides, &dilations)?;
    Ok(PoolWindow { kernel, strides, pads, dilations, ceil_mode, count_include_pad })
}

/// The attributes of a 2-D pooling node (`MaxPool` when `is_max`, else `AveragePool` /
/// `QLinearAveragePool`, whose dilations must be 1) with NCHW input shape `x`.
pub(super) fn pool_attrs(n: &NodeIn, x: &[usize], is_max: bool) -> Result<PoolAttrs, OnnxError> {
    if x.len() != 4 {
        return Err(
            n.err(format!("only 2-D {} is supported: input X must be 4-D (N, C, H, W), got shape {x:?}", n.op_type))
        );
    }
    let p = pool_window(n, &x[2..], is_max)?;
    if n.op_type == "QLinearAveragePool" && p.dilations != [1, 1] {
        return Err(n.err(format!("{} with dilations {:?} is not supported", n.op_type, p.dilations)));
    }
    Ok(PoolAttrs {
        kernel: as_2d(&p.kernel, 1),
        strides: as_2d(&p.strides, 1),
        pads: pads_2d(&p.pads),
        dilations: as_2d(&p.dilations, 1),
        ceil_mode: p.ceil_mode,
        count_include_pad: p.count_include_pad,
    })
}
