//! Data movement built from the IR's movement ops: `Pad` (→ [`Op::Pad`], with a `Slice`
//! first for negative pads), `Split` (→ one `Slice` per output), `Tile` (→ `Reshape`,
//! `Expand`, `Reshape`), `DepthToSpace` / `SpaceToDepth` (→ `Reshape`, `Transpose`,
//! `Reshape`).

use int8xc_ir::{Op, PadAttrs, PadMode, SliceAttrs, ValueId};

use super::{Ctx, NodeIn};
use crate::decode::MAX_DIM;
use crate::OnnxError;

/// The ops this module imports.
pub(super) const OPS: &[&str] = &["DepthToSpace", "Pad", "SpaceToDepth", "Split", "Tile"];

/// Dispatches the ops of this module (the caller has checked the op type is one of [`OPS`]).
pub(super) fn import(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    Ok(match n.op_type {
        "Pad" => vec![pad(cx, n)?],
        "Split" => split(cx, n)?,
        "Tile" => vec![tile(cx, n)?],
        "DepthToSpace" => vec![depth_space(cx, n, true)?],
        _ => vec![depth_space(cx, n, false)?],
    })
}

fn dim(n: &NodeIn, what: &str, v: i64) -> Result<usize, OnnxError> {
    usize::try_from(v).ok().filter(|&d| d as u64 <= MAX_DIM).ok_or_else(|| n.err(format!("{what}: invalid value {v}")))
}

/// `Pad`: `pads` (`[x1_begin, x2_begin, …, x1_end, x2_end, …]`), `mode` and `value` are
/// attributes before opset 11; from 11 `pads` and the optional scalar `constant_value` are
/// constant inputs, and from 18 the optional `axes` input says which axes `pads` covers.
/// Negative pads remove elements: they become a `Slice` before the padding.
fn pad(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let shape = cx.ty(x).shape.clone();
    let rank = shape.len();
    let mode = n.string("mode", "constant")?;
    let mode = PadMode::ALL
        .iter()
        .find(|(_, name)| *name == mode)
        .map(|(m, _)| *m)
        .ok_or_else(|| n.err(format!("mode '{mode}' is not one of constant, reflect, edge, wrap")))?;
    let (pads, value, axes) = if n.opset < 11 {
        let pads = n.ints("pads")?.ok_or_else(|| n.err("missing attribute 'pads'"))?;
        (pads, f64::from(n.float("value", 0.0)?), None)
    } else {
        let pads = cx.const_ints(n, 1, "pads")?.ok_or_else(|| n.err("missing required input 1 ('pads')"))?;
        let value = match cx.const_input(n, 2, "constant_value")? {
            None => 0.0,
            Some(t) if t.numel() == 1 => match t.to_i64_vec() {
                Some(v) => v[0] as f64,
                None => f64::from(t.to_f32_vec()[0]),
            },
            Some(t) => return Err(n.err(format!("input 2 ('constant_value') must be a scalar, got {:?}", t.shape()))),
        };
        (pads, value, cx.const_ints(n, 3, "axes")?)
    };
    let axes = match axes {
        None => (0..rank).collect::<Vec<_>>(),
        Some(a) => a.iter().map(|&v| n.axis("axes entry", v, rank)).collect::<Result<_, _>>()?,
    };
    if pads.len() != 2 * axes.len() {
        return Err(n.err(format!("'pads' has {} values, expected {} (2 per axis)", pads.len(), 2 * axes.len())));
    }
    let (mut begin, mut end) = (vec![0i64; rank], vec![0i64; rank]);
    for (k, &a) in axes.iter().enumerate() {
        begin[a] = pads[k];
        end[a] = pads[k + axes.len()];
    }
    // Negative pads crop first.
    let mut input = x;
    if begin.iter().chain(&end).any(|&p| p < 0) {
        let mut s = SliceAttrs { axes: Vec::new(), starts: Vec::new(), ends: Vec::new(), steps: Vec::new() };
        for d in 0..rank {
            let (b, e) = (begin[d].min(0), end[d].min(0));
            if b < 0 || e < 0 {
                let len = shape[d] as i64;
                s.axes.push(d);
                s.starts.push((-b).min(len));
                s.ends.push((len + e).max((-b).min(len)));
                s.steps.push(1);
            }
        }
        input = cx.emit(n, "crop", Op::Slice(s), vec![x])?;
    }
    let begin = begin.iter().map(|&p| dim(n, "pads", p.max(0))).collect::<Result<Vec<_>, _>>()?;
    let end = end.iter().map(|&p| dim(n, "pads", p.max(0))).collect::<Result<Vec<_>, _>>()?;
    if begin.iter().chain(&end).all(|&p| p == 0) {
        return Ok(input);
    }
    cx.emit(n, "", Op::Pad(PadAttrs { mode, begin, end, value }), vec![input])
}

/// `Split` along `axis` (default 0) into the node's outputs: sizes from the `split`
/// attribute (before opset 13) or constant input (13+); otherwise equal parts, or with
/// `num_outputs` (opset 18) parts of `ceil(d / num_outputs)` with a smaller last one.
fn split(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let shape = cx.ty(x).shape.clone();
    let axis = n.axis("axis", n.int("axis", 0)?, shape.len())?;
    let d = shape[axis];
    let given = if n.opset < 13 { n.ints("split")? } else { cx.const_ints(n, 1, "split")? };
    let outputs = n.proto.output.len();
    let sizes: Vec<usize> = match given {
        Some(v) => v.iter().map(|&s| dim(n, "split", s)).collect::<Result<_, _>>()?,
        None => {
            let parts = match n.attr("num_outputs") {
                Some(_) => dim(n, "num_outputs", n.int("num_outputs", 0)?)?,
                None => outputs,
            };
            if parts == 0 {
                return Err(n.err("cannot split into 0 parts"));
            }
            let chunk = if n.attr("num_outputs").is_some() { d.div_ceil(parts) } else { d / parts };
            if n.attr("num_outputs").is_none() && !d.is_multiple_of(parts) {
                return Err(n.err(format!("axis {axis} of size {d} does not split into {parts} equal parts")));
            }
            (0..parts).map(|k| chunk.min(d.saturating_sub(k * chunk))).collect()
        }
    };
    if sizes.iter().sum::<usize>() != d || sizes.len() != outputs {
        return Err(n.err(format!("split sizes {sizes:?} must sum to {d} and number the {outputs} outputs")));
    }
    let mut start = 0;
    let mut out = Vec::with_capacity(sizes.len());
    for (k, &s) in sizes.iter().enumerate() {
        let a =
            SliceAttrs { axes: vec![axis], starts: vec![start as i64], ends: vec![(start + s) as i64], steps: vec![1] };
        let name = n.proto.output.get(k).cloned().unwrap_or_default();
        let suffix = if k == 0 { String::new() } else { format!("part{k}") };
        let v = cx.emit(n, &suffix, Op::Slice(a), vec![x])?;
        if k > 0 && !name.is_empty() {
            cx.graph.values[v.index()].name = name;
        }
        out.push(v);
        start += s;
    }
    Ok(out)
}

/// `Tile`: `[d0, d1, …]` repeated `[r0, r1, …]` times is `x` reshaped to `[1, d0, 1, d1, …]`,
/// expanded to `[r0, d0, r1, d1, …]` and reshaped to `[r0 * d0, r1 * d1, …]`.
fn tile(cx: &mut Ctx, n: &NodeIn) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let shape = cx.ty(x).shape.clone();
    let reps = cx.const_ints(n, 1, "repeats")?.ok_or_else(|| n.err("missing required input 1 ('repeats')"))?;
    if reps.len() != shape.len() {
        return Err(n.err(format!("'repeats' has {} values for rank {}", reps.len(), shape.len())));
    }
    let reps = reps.iter().map(|&r| dim(n, "repeats", r)).collect::<Result<Vec<_>, _>>()?;
    if reps.iter().all(|&r| r == 1) {
        return Ok(x);
    }
    let inter: Vec<usize> = shape.iter().flat_map(|&d| [1, d]).collect();
    let expanded: Vec<usize> = shape.iter().zip(&reps).flat_map(|(&d, &r)| [r, d]).collect();
    let out: Vec<usize> = shape.iter().zip(&reps).map(|(&d, &r)| d.saturating_mul(r)).collect();
    let r = cx.emit(n, "split_axes", Op::Reshape { shape: inter }, vec![x])?;
    let e = cx.emit(n, "repeat", Op::Expand { shape: expanded }, vec![r])?;
    cx.emit(n, "", Op::Reshape { shape: out }, vec![e])
}

/// `DepthToSpace` (`mode` DCR or CRD) and `SpaceToDepth` (DCR; CRD for opset 28's `mode`) on
/// `[N, C, H, W]` with `blocksize` b, as the ONNX reference reshapes and transposes.
fn depth_space(cx: &mut Ctx, n: &NodeIn, to_space: bool) -> Result<ValueId, OnnxError> {
    let x = cx.input(n, 0)?;
    let t = cx.ty(x).clone();
    let b = dim(n, "blocksize", n.int_required("blocksize")?)?;
    let [nn, c, h, w] = t.shape[..] else {
        return Err(n.err(format!("input must have rank 4, got {t}")));
    };
    let crd = n.string("mode", "DCR")? == "CRD";
    let (inter, perm, out) = if to_space {
        if b == 0 || !c.is_multiple_of(b * b) {
            return Err(n.err(format!("channels {c} are not divisible by blocksize² ({b}²)")));
        }
        let c2 = c / (b * b);
        if crd {
            (vec![nn, c2, b, b, h, w], vec![0, 1, 4, 2, 5, 3], vec![nn, c2, h * b, w * b])
        } else {
            (vec![nn, b, b, c2, h, w], vec![0, 3, 4, 1, 5, 2], vec![nn, c2, h * b, w * b])
        }
    } else {
        if b == 0 || !h.is_multiple_of(b) || !w.is_multiple_of(b) {
            return Err(n.err(format!("spatial dims {h}x{w} are not divisible by blocksize {b}")));
        }
        let inter = vec![nn, c, h / b, b, w / b, b];
        let perm = if crd { vec![0, 1, 3, 5, 2, 4] } else { vec![0, 3, 5, 1, 2, 4] };
        (inter, perm, vec![nn, c * b * b, h / b, w / b])
    };
    let r = cx.emit(n, "blocks", Op::Reshape { shape: inter }, vec![x])?;
    let p = cx.emit(n, "permute", Op::Transpose { perm }, vec![r])?;
    cx.emit(n, "", Op::Reshape { shape: out }, vec![p])
}
