//! `Resize` (opset 10, 11/13, 18, 19) and `Upsample` (opset 7/9) → [`Op::Resize`] with the
//! output shape resolved and, for `tf_crop_and_resize`, the constant `roi` spread over every
//! axis.

use int8xc_ir::{CoordTransform, NearestMode, Op, ResizeAttrs, ResizeMode, ValueId};

use super::{Ctx, NodeIn};
use crate::decode::MAX_DIM;
use crate::OnnxError;

fn mode(n: &NodeIn) -> Result<ResizeMode, OnnxError> {
    match n.string("mode", "nearest")?.as_str() {
        "nearest" => Ok(ResizeMode::Nearest),
        "linear" | "bilinear" => Ok(ResizeMode::Linear),
        "cubic" => Ok(ResizeMode::Cubic),
        other => Err(n.err(format!("mode '{other}' is not supported (supported: nearest, linear, cubic)"))),
    }
}

/// The mode of the pre-opset-11 forms, which have no `cubic`.
fn legacy_mode(n: &NodeIn) -> Result<ResizeMode, OnnxError> {
    match mode(n)? {
        ResizeMode::Cubic => Err(n.err(format!("mode 'cubic' needs Resize opset 11 (this is opset {})", n.opset))),
        m => Ok(m),
    }
}

/// Output dims `floor(in * scale)` (computed in `f32`, as ONNX Runtime does).
fn scaled_sizes(n: &NodeIn, input: &[usize], scales: &[f32]) -> Result<Vec<usize>, OnnxError> {
    input
        .iter()
        .zip(scales)
        .map(|(&d, &s)| {
            let out = (d as f32 * s).floor();
            if !(out >= 0.0 && out <= MAX_DIM as f32) {
                return Err(n.err(format!("scale {s} on a dim of {d} gives an invalid output size")));
            }
            Ok(out as usize)
        })
        .collect()
}

fn check_scales(n: &NodeIn, scales: &[f32], rank: usize) -> Result<(), OnnxError> {
    if scales.len() != rank {
        return Err(n.err(format!("'scales' has {} values, the input has rank {rank}", scales.len())));
    }
    if let Some(s) = scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(n.err(format!("'scales' must be finite and positive, got {s}")));
    }
    Ok(())
}

/// Nearest rounding of the pre-opset-11 forms (Upsample, Resize-10), as ONNX Runtime does it:
/// truncation when upsampling, ceil when downsampling.
fn legacy_nearest(n: &NodeIn, scales: &[f32]) -> Result<NearestMode, OnnxError> {
    let down = scales.iter().any(|&s| s < 1.0);
    let up = scales.iter().any(|&s| s > 1.0);
    match (down, up) {
        (true, true) => Err(n.err(format!("scales {scales:?} mix up- and downsampling, which is not supported"))),
        (true, false) => Ok(NearestMode::Ceil),
        _ => Ok(NearestMode::Floor),
    }
}

fn emit(cx: &mut Ctx, n: &NodeIn, x: ValueId, attrs: ResizeAttrs) -> Result<Vec<ValueId>, OnnxError> {
    Ok(vec![cx.emit(n, "", Op::Resize(attrs), vec![x])?])
}

/// `Upsample`: scales from the `scales` attribute (opset 7) or the constant input 1 (opset 9);
/// `asymmetric` coordinates.
pub(super) fn upsample(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let input = cx.ty(x).shape.clone();
    let scales = match n.floats("scales")? {
        Some(s) => s,
        None => cx.const_input(n, 1, "scales")?.ok_or_else(|| n.err("missing 'scales'"))?.to_f32_vec(),
    };
    check_scales(n, &scales, input.len())?;
    let sizes = scaled_sizes(n, &input, &scales)?;
    let attrs = ResizeAttrs {
        mode: legacy_mode(n)?,
        coord: CoordTransform::Asymmetric,
        nearest: legacy_nearest(n, &scales)?,
        scales,
        sizes,
        ..ResizeAttrs::default()
    };
    emit(cx, n, x, attrs)
}

/// `Resize`. Opset 10: `X, scales`, asymmetric coordinates. Opset 11+: `X, roi, scales,
/// sizes` (exactly one of `scales`/`sizes`, constant), `coordinate_transformation_mode`
/// (half_pixel, pytorch_half_pixel, align_corners, asymmetric, half_pixel_symmetric),
/// `nearest_mode`, `cubic_coeff_a`, `exclude_outside`, `extrapolation_value` and
/// `tf_crop_and_resize` with a constant `roi`; opset 18 `antialias`, `axes` and
/// `keep_aspect_ratio_policy`.
pub(super) fn resize(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let input = cx.ty(x).shape.clone();
    let rank = input.len();
    if n.opset < 11 {
        let mode = legacy_mode(n)?;
        let scales =
            cx.const_input(n, 1, "scales")?.ok_or_else(|| n.err("missing required input 1 ('scales')"))?.to_f32_vec();
        check_scales(n, &scales, rank)?;
        let sizes = scaled_sizes(n, &input, &scales)?;
        let attrs = ResizeAttrs {
            mode,
            coord: CoordTransform::Asymmetric,
            nearest: legacy_nearest(n, &scales)?,
            scales,
            sizes,
            ..ResizeAttrs::default()
        };
        return emit(cx, n, x, attrs);
    }
    let mode = mode(n)?;
    let coord = match n.string("coordinate_transformation_mode", "half_pixel")?.as_str() {
        "half_pixel" => CoordTransform::HalfPixel,
        "pytorch_half_pixel" => CoordTransform::PytorchHalfPixel,
        "align_corners" => CoordTransform::AlignCorners,
        "asymmetric" => CoordTransform::Asymmetric,
        "half_pixel_symmetric" => CoordTransform::HalfPixelSymmetric,
        "tf_crop_and_resize" => CoordTransform::TfCropAndResize,
        other => return Err(n.err(format!("coordinate_transformation_mode '{other}' is not supported"))),
    };
    let nearest = match n.string("nearest_mode", "round_prefer_floor")?.as_str() {
        "round_prefer_floor" => NearestMode::RoundPreferFloor,
        "round_prefer_ceil" => NearestMode::RoundPreferCeil,
        "floor" => NearestMode::Floor,
        "ceil" => NearestMode::Ceil,
        other => return Err(n.err(format!("nearest_mode '{other}' is not supported"))),
    };
    let antialias = n.int("antialias", 0)? != 0;
    if antialias && mode == ResizeMode::Nearest {
        return Err(n.err("antialias = 1 is not defined for mode 'nearest'"));
    }
    let cubic_coeff_a = n.float("cubic_coeff_a", ResizeAttrs::DEFAULT_CUBIC_COEFF_A)?;
    if !cubic_coeff_a.is_finite() {
        return Err(n.err(format!("cubic_coeff_a must be finite, got {cubic_coeff_a}")));
    }
    let axes = match n.ints("axes")? {
        None => (0..rank).collect::<Vec<_>>(),
        Some(a) => {
            let v = a.iter().map(|&x| n.axis("axes entry", x, rank)).collect::<Result<Vec<_>, _>>()?;
            if (1..v.len()).any(|i| v[..i].contains(&v[i])) {
                return Err(n.err(format!("'axes' {a:?} repeats an axis")));
            }
            v
        }
    };
    let scales_in = cx.const_input(n, 2, "scales")?.map(|t| t.to_f32_vec()).filter(|v| !v.is_empty());
    let sizes_in = cx.const_ints(n, 3, "sizes")?.filter(|v| !v.is_empty());
    let (scales, sizes) = match (scales_in, sizes_in) {
        (Some(_), Some(_)) => return Err(n.err("only one of 'scales' and 'sizes' may be given")),
        (None, None) => return Err(n.err("one of 'scales' and 'sizes' must be given")),
        (Some(s), None) => {
            if s.len() != axes.len() {
                return Err(n.err(format!("'scales' has {} values for {} axes", s.len(), axes.len())));
            }
            let mut scales = vec![1.0f32; rank];
            for (&a, &v) in axes.iter().zip(&s) {
                scales[a] = v;
            }
            check_scales(n, &scales, rank)?;
            let sizes = scaled_sizes(n, &input, &scales)?;
            (scales, sizes)
        }
        (None, Some(sz)) => {
            if sz.len() != axes.len() {
                return Err(n.err(format!("'sizes' has {} values for {} axes", sz.len(), axes.len())));
            }
            let mut sizes = input.clone();
            for (&a, &v) in axes.iter().zip(&sz) {
                sizes[a] = usize::try_from(v)
                    .ok()
                    .filter(|&v| v > 0 && v as u64 <= MAX_DIM)
                    .ok_or_else(|| n.err(format!("'sizes' entry {v} is invalid")))?;
            }
            if let Some(&d) = axes.iter().map(|&a| &input[a]).find(|&&d| d == 0) {
                return Err(n.err(format!("cannot resize an empty dim ({d}) to a given size")));
            }
            let policy = n.string("keep_aspect_ratio_policy", "stretch")?;
            let ratios: Vec<f32> = (0..rank).map(|a| sizes[a] as f32 / input[a].max(1) as f32).collect();
            let ratio = |a: usize| ratios[a];
            let common = match policy.as_str() {
                "stretch" => None,
                "not_larger" => Some(axes.iter().map(|&a| ratio(a)).fold(f32::INFINITY, f32::min)),
                "not_smaller" => Some(axes.iter().map(|&a| ratio(a)).fold(0.0, f32::max)),
                other => return Err(n.err(format!("keep_aspect_ratio_policy '{other}' is not supported"))),
            };
            let mut scales = vec![1.0f32; rank];
            for &a in &axes {
                if let Some(s) = common {
                    sizes[a] = (s * input[a] as f32).round() as usize;
                    scales[a] = s;
                } else {
                    scales[a] = ratio(a);
                }
            }
            (scales, sizes)
        }
    };
    let roi = if coord == CoordTransform::TfCropAndResize { crop_roi(cx, n, &axes, rank)? } else { Vec::new() };
    let attrs = ResizeAttrs {
        mode,
        coord,
        nearest,
        scales,
        sizes,
        cubic_coeff_a,
        exclude_outside: n.int("exclude_outside", 0)? != 0,
        antialias,
        roi,
        extrapolation_value: n.float("extrapolation_value", 0.0)?,
    };
    emit(cx, n, x, attrs)
}

/// The constant `roi` (input 1) of `tf_crop_and_resize`: `[starts…, ends…]` over `axes`,
/// spread to every axis in the IR's layout (`(0, 1)`, the whole axis, elsewhere).
fn crop_roi(cx: &mut Ctx, n: &NodeIn, axes: &[usize], rank: usize) -> Result<Vec<f32>, OnnxError> {
    let given = cx
        .const_input(n, 1, "roi")?
        .map(|t| t.to_f32_vec())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| n.err("coordinate_transformation_mode 'tf_crop_and_resize' needs a constant 'roi'"))?;
    if given.len() != 2 * axes.len() {
        return Err(n.err(format!("'roi' has {} values, expected 2 per resized axis ({})", given.len(), axes.len())));
    }
    if let Some(v) = given.iter().find(|v| !v.is_finite()) {
        return Err(n.err(format!("'roi' must be finite, got {v}")));
    }
    let mut roi: Vec<f32> = [vec![0.0; rank], vec![1.0; rank]].concat();
    for (k, &a) in axes.iter().enumerate() {
        roi[a] = given[k];
        roi[rank + a] = given[axes.len() + k];
    }
    Ok(roi)
}
