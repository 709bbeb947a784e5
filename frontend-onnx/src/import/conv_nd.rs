//! 1-D and 3-D `Conv` / `ConvTranspose` / pools as the IR's 2-D ops (the IR's windowed ops are
//! NCHW only).
//!
//! - **1-D** (as ONNX Runtime and tract do): `x [N, C, L] → [N, C, 1, L]`, weights
//!   `[M, C/g, k] → [M, C/g, 1, k]` (constant weights are reshaped at import), the attributes
//!   get a neutral height axis (kernel 1, stride 1, pad 0, dilation 1, output padding 0), and
//!   the output is reshaped back to 3-D. The height axis is 1 in and out, so `auto_pad` and
//!   `ceil_mode` act on the length alone, and MaxPool's flat indices are those of `[N, C, L]`.
//! - **3-D pools** are separable: the window is a box, so MaxPool is the max over depth of the
//!   max over `(H, W)`, and AveragePool divides by a product of per-axis counts (input
//!   positions, or padded positions with `count_include_pad`): a 2-D pool over `(H, W)` of
//!   `[N, C·D, H, W]`, then a `(kD, 1)` pool over `[N, C, D, oH·oW]`.
//! - **3-D Conv** in two 2-D steps: over `(H, W)` for every depth slice (`[N·D, C, H, W]`,
//!   weights `[M, C/g, kD, kH, kW]` transposed to `[M·kD, C/g, kH, kW]`, so output channel
//!   `m·kD + t` holds depth tap `t` of channel `m`), then over depth (`[N, M·kD, D, oH·oW]`,
//!   group `M`, constant one-hot weights `[M, kD, kD, 1]` that read tap `t` at kernel row `t`)
//!   with the depth stride, pads and dilation, and the bias.
//! - **3-D ConvTranspose** in two 2-D steps: over `(H, W)` for every depth slice
//!   (`[N·D, C, H, W]`, weights `[C, M/g, kD, kH, kW]` read as `[C, (M/g)·kD, kH, kW]`, so
//!   output channel `m·kD + t` holds depth tap `t` of channel `m`), then over depth
//!   (`[N, M·kD, D, oH·oW]`, group `M`, constant one-hot weights `[M·kD, 1, kD, 1]` that route
//!   tap `t` to kernel row `t`) with the depth stride, pads, dilation and output padding, and
//!   the bias.

use int8xc_ir::{ConvAttrs, ConvTransposeAttrs, DType, Op, PoolAttrs, TensorData, ValueDef, ValueId};

use super::{Ctx, NodeIn};
use crate::OnnxError;

/// `Reshape` of `v` to `shape` as helper node `"{node}/{suffix}"`.
pub(super) fn reshape(
    cx: &mut Ctx,
    n: &NodeIn,
    suffix: &str,
    v: ValueId,
    shape: Vec<usize>,
) -> Result<ValueId, OnnxError> {
    cx.emit(n, suffix, Op::Reshape { shape }, vec![v])
}

fn transpose(cx: &mut Ctx, n: &NodeIn, suffix: &str, v: ValueId, perm: Vec<usize>) -> Result<ValueId, OnnxError> {
    cx.emit(n, suffix, Op::Transpose { perm }, vec![v])
}

/// Gives `v`, the last value an ONNX node became, the name of the node's output `k`, and its
/// producing node the ONNX node's name, each unless another value or node has it.
pub(super) fn finish(cx: &mut Ctx, n: &NodeIn, k: usize, v: ValueId) -> ValueId {
    if let Some(name) = n.proto.output.get(k).filter(|s| !s.is_empty()) {
        if !cx.graph.values.iter().any(|val| val.name == *name) {
            cx.graph.values[v.index()].name = name.clone();
        }
    }
    if let ValueDef::Node(id, _) = cx.graph.value(v).def {
        if !cx.graph.nodes.iter().any(|node| node.name == n.name) {
            cx.graph.nodes[id.index()].name = n.name.clone();
        }
    }
    v
}

/// `shape` without its height axis (`[N, C, 1, L] → [N, C, L]`).
fn drop_height(shape: &[usize]) -> Vec<usize> {
    let mut s = shape.to_vec();
    if s.len() > 2 {
        s.remove(2);
    }
    s
}

/// Runs the 2-D `op` on 1-D operands: each of `inputs` whose flag is set is lifted
/// (`[A, B, L] → [A, B, 1, L]`) and the op's outputs are reshaped back to 3-D (not yet named
/// after the node's outputs: see [`finish`]).
pub(super) fn lift_1d(cx: &mut Ctx, n: &NodeIn, op: Op, inputs: &[(ValueId, bool)]) -> Result<Vec<ValueId>, OnnxError> {
    let mut lifted = Vec::with_capacity(inputs.len());
    for (i, &(v, lift)) in inputs.iter().enumerate() {
        lifted.push(if lift {
            let shape = super::window::lifted_shape(&cx.ty(v).shape);
            reshape(cx, n, &format!("input{i}_2d"), v, shape)?
        } else {
            v
        });
    }
    let outs = if matches!(op, Op::MaxPoolWithIndices { .. }) {
        let outs = cx.emit_node(n, op, lifted)?;
        for &v in &outs {
            let name = format!("{}/2d", cx.graph.value(v).name);
            cx.graph.values[v.index()].name = super::unique(&mut cx.value_names, name);
        }
        outs
    } else {
        vec![cx.emit(n, "2d", op, lifted)?]
    };
    let mut results = Vec::with_capacity(outs.len());
    for (k, v) in outs.into_iter().enumerate() {
        let shape = drop_height(&cx.ty(v).shape);
        results.push(reshape(cx, n, &format!("output{k}_1d"), v, shape)?);
    }
    Ok(results)
}

/// Window geometry of a 3-D op: per axis `(D, H, W)`.
pub(super) struct Window3 {
    pub kernel: [usize; 3],
    pub strides: [usize; 3],
    /// `[begin_d, begin_h, begin_w, end_d, end_h, end_w]` (ONNX order).
    pub pads: [usize; 6],
    pub dilations: [usize; 3],
}

impl Window3 {
    /// The geometry of a window with 3 spatial axes (`None` for other lengths).
    pub fn from_lists(kernel: &[usize], strides: &[usize], pads: &[usize], dilations: &[usize]) -> Option<Self> {
        Some(Window3 {
            kernel: kernel.try_into().ok()?,
            strides: strides.try_into().ok()?,
            pads: pads.try_into().ok()?,
            dilations: dilations.try_into().ok()?,
        })
    }
}

fn five(n: &NodeIn, shape: &[usize]) -> Result<[usize; 5], OnnxError> {
    <[usize; 5]>::try_from(shape).map_err(|_| n.err(format!("expected a 5-D tensor, got shape {shape:?}")))
}

/// 3-D `MaxPool` / `AveragePool` (see the module docs): `x [N, C, D, H, W]`. The result is
/// not yet named after the node's output.
pub(super) fn pool_3d(
    cx: &mut Ctx,
    n: &NodeIn,
    x: ValueId,
    is_max: bool,
    win: &Window3,
    ceil_mode: bool,
    count_include_pad: bool,
) -> Result<ValueId, OnnxError> {
    let [nb, c, d, h, w] = five(n, &cx.ty(x).shape)?;
    let (k, s, p, dl) = (win.kernel, win.strides, win.pads, win.dilations);
    let hw = PoolAttrs {
        kernel: [k[1], k[2]],
        strides: [s[1], s[2]],
        pads: [p[1], p[2], p[4], p[5]],
        dilations: [dl[1], dl[2]],
        ceil_mode,
        count_include_pad,
    };
    let depth = PoolAttrs {
        kernel: [k[0], 1],
        strides: [s[0], 1],
        pads: [p[0], 0, p[3], 0],
        dilations: [dl[0], 1],
        ceil_mode,
        count_include_pad,
    };
    let op = |a: PoolAttrs| if is_max { Op::MaxPool(a) } else { Op::AveragePool(a) };
    let planes = reshape(cx, n, "planes", x, vec![nb, c * d, h, w])?;
    let y = cx.emit(n, "pool_hw", op(hw), vec![planes])?;
    let [_, _, oh, ow] = <[usize; 4]>::try_from(cx.ty(y).shape.as_slice()).unwrap_or_default();
    let y = reshape(cx, n, "depth_rows", y, vec![nb, c, d, oh * ow])?;
    let y = cx.emit(n, "pool_d", op(depth), vec![y])?;
    let od = cx.ty(y).shape.get(2).copied().unwrap_or(0);
    reshape(cx, n, "output_3d", y, vec![nb, c, od, oh, ow])
}

/// 3-D `Conv` (see the module docs): `x [N, C, D, H, W]`, `w [M, C/g, kD, kH, kW]`,
/// optional bias `b [M]`. The result is not yet named after the node's output.
pub(super) fn conv_3d(
    cx: &mut Ctx,
    n: &NodeIn,
    (x, w, b): (ValueId, ValueId, Option<ValueId>),
    win: &Window3,
    group: usize,
) -> Result<ValueId, OnnxError> {
    let [nb, c, d, h, wd] = five(n, &cx.ty(x).shape)?;
    let [m, cg, kd, kh, kw] = five(n, &cx.ty(w).shape)?;
    let (s, p, dl) = (win.strides, win.pads, win.dilations);
    let hw = ConvAttrs {
        kernel: [kh, kw],
        strides: [s[1], s[2]],
        pads: [p[1], p[2], p[4], p[5]],
        dilations: [dl[1], dl[2]],
        group,
    };
    let depth =
        ConvAttrs { kernel: [kd, 1], strides: [s[0], 1], pads: [p[0], 0, p[3], 0], dilations: [dl[0], 1], group: m };
    let xt = transpose(cx, n, "depth_first", x, vec![0, 2, 1, 3, 4])?;
    let slices = reshape(cx, n, "slices", xt, vec![nb * d, c, h, wd])?;
    let wt = transpose(cx, n, "weight_taps_first", w, vec![0, 2, 1, 3, 4])?;
    let w_hw = reshape(cx, n, "weight_hw", wt, vec![m * kd, cg, kh, kw])?;
    let z = cx.emit(n, "conv_hw", Op::Conv(hw), vec![slices, w_hw])?;
    let [_, _, oh, ow] = <[usize; 4]>::try_from(cx.ty(z).shape.as_slice()).unwrap_or_default();
    let z = reshape(cx, n, "taps", z, vec![nb, d, m * kd, oh * ow])?;
    let z = transpose(cx, n, "taps_first", z, vec![0, 2, 1, 3])?;
    let taps = one_hot_taps(cx, n, [m, kd, kd, 1], cx.ty(x).dtype)?;
    let y = cx.emit(n, "conv_d", Op::Conv(depth), std::iter::once(z).chain([taps]).chain(b).collect())?;
    let od = cx.ty(y).shape.get(2).copied().unwrap_or(0);
    reshape(cx, n, "output_3d", y, vec![nb, m, od, oh, ow])
}

/// Constant weights of `shape = [A, B, kD, 1]` (`A·B` channels, `kD` taps): the element of
/// flattened channel `ch` and kernel row `j` is 1 when `j == ch % kD`, else 0; in `dtype`.
fn one_hot_taps(cx: &mut Ctx, n: &NodeIn, shape: [usize; 4], dtype: DType) -> Result<ValueId, OnnxError> {
    let kd = shape[2];
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let count = count.filter(|&c| c.saturating_mul(4) <= crate::decode::MAX_FOLD_BYTES).ok_or_else(|| {
        n.err(format!("the depth-tap weights {shape:?} of the 3-D rewrite are larger than the folding limit"))
    })?;
    let one_hot = (0..count).map(|i| if i / kd % kd == i % kd { 1.0 } else { 0.0 }).collect();
    let one_hot = TensorData::from_f32(shape, one_hot).map_err(|e| n.err(e.to_string()))?;
    let taps = cx.constant(n, "depth_taps", one_hot);
    if dtype == DType::F32 {
        return Ok(taps);
    }
    cx.emit(n, "depth_taps_cast", Op::Cast { to: dtype }, vec![taps])
}

/// 3-D `ConvTranspose` (see the module docs): `x [N, C, D, H, W]`, `w [C, M/g, kD, kH, kW]`,
/// optional bias `b [M]`; `output_padding` per axis `(D, H, W)`. The result is not yet named
/// after the node's output (the caller may add nodes after it).
pub(super) fn conv_transpose_3d(
    cx: &mut Ctx,
    n: &NodeIn,
    (x, w, b): (ValueId, ValueId, Option<ValueId>),
    win: &Window3,
    output_padding: [usize; 3],
    group: usize,
) -> Result<ValueId, OnnxError> {
    let [nb, c, d, h, wd] = five(n, &cx.ty(x).shape)?;
    let [wc, mg, kd, kh, kw] = five(n, &cx.ty(w).shape)?;
    let (s, p, dl) = (win.strides, win.pads, win.dilations);
    let m = mg * group;
    let dtype = cx.ty(x).dtype;
    let hw = ConvTransposeAttrs {
        kernel: [kh, kw],
        strides: [s[1], s[2]],
        pads: [p[1], p[2], p[4], p[5]],
        dilations: [dl[1], dl[2]],
        output_padding: [output_padding[1], output_padding[2]],
        group,
    };
    let depth = ConvTransposeAttrs {
        kernel: [kd, 1],
        strides: [s[0], 1],
        pads: [p[0], 0, p[3], 0],
        dilations: [dl[0], 1],
        output_padding: [output_padding[0], 0],
        group: m,
    };
    let xt = transpose(cx, n, "depth_first", x, vec![0, 2, 1, 3, 4])?;
    let slices = reshape(cx, n, "slices", xt, vec![nb * d, c, h, wd])?;
    let w_hw = reshape(cx, n, "weight_hw", w, vec![wc, mg * kd, kh, kw])?;
    let z = cx.emit(n, "conv_hw", Op::ConvTranspose(hw), vec![slices, w_hw])?;
    let [_, _, oh, ow] = <[usize; 4]>::try_from(cx.ty(z).shape.as_slice()).unwrap_or_default();
    let z = reshape(cx, n, "taps", z, vec![nb, d, m * kd, oh * ow])?;
    let z = transpose(cx, n, "taps_first", z, vec![0, 2, 1, 3])?;
    let taps = one_hot_taps(cx, n, [m * kd, 1, kd, 1], dtype)?;
    let y = cx.emit(n, "conv_d", Op::ConvTranspose(depth), std::iter::once(z).chain([taps]).chain(b).collect())?;
    let od = cx.ty(y).shape.get(2).copied().unwrap_or(0);
    reshape(cx, n, "output_3d", y, vec![nb, m, od, oh, ow])
}
