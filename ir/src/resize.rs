//! The coordinate and filter arithmetic of [`crate::Op::Resize`], shared by every backend.
//!
//! Follows the ONNX reference implementation (`onnx/reference/ops/op_resize.py`, Resize-19),
//! in `f64`, in the same operation order, so the interpreter and the JIT (which both take
//! their taps from here) agree bit for bit and stay within rounding of the reference.
//! Everything here depends only on static shapes and attributes, so backends evaluate it at
//! compile time (the JIT packs the results as tables; the interpreter uses them directly).
//!
//! One axis is resized at a time ([`AxisMap`]): output position `x` maps to a source
//! coordinate `x_ori` ([`AxisMap::source`]); `nearest` selects one input index
//! ([`nearest_taps`]), `linear` and `cubic` blend a window of inputs ([`filter_taps`]).
//!
//! The scale: [`crate::ResizeAttrs::scales`] holds an `f32`. When it equals `out / in` rounded
//! to `f32`, the exact ratio `out / in` is used instead, as the reference does when the model
//! gave `sizes`; this keeps ties such as `align_corners` half-way points exact.

use crate::{CoordTransform, NearestMode, ResizeAttrs, ResizeMode};

/// The `f64` scale of one axis with stored `f32` `scale` (see the module docs).
pub fn axis_scale(scale: f32, in_len: usize, out_len: usize) -> f64 {
    let ratio = out_len as f64 / in_len as f64;
    if in_len > 0 && ratio as f32 == scale {
        ratio
    } else {
        f64::from(scale)
    }
}

/// True when the axis is left unchanged (`math.isclose(scale, 1)` and equal sizes).
pub fn is_identity(scale: f64, in_len: usize, out_len: usize) -> bool {
    (scale - 1.0).abs() <= 1e-9 * scale.abs().max(1.0) && in_len == out_len
}

/// `i` clamped to `[0, len - 1]` (`len > 0`; NaN gives 0).
pub fn clamp_index(i: f64, len: usize) -> usize {
    if i <= 0.0 || i.is_nan() {
        0
    } else {
        (i as usize).min(len - 1)
    }
}

/// How output positions along one axis map to input coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AxisMap {
    /// The coordinate transform.
    pub coord: CoordTransform,
    /// The `f64` scale ([`axis_scale`]).
    pub scale: f64,
    /// Input length (> 0 for any source coordinate to be meaningful).
    pub in_len: usize,
    /// Output length.
    pub out_len: usize,
    /// The normalized crop `(start, end)` of `TfCropAndResize` (`(0, 1)` otherwise).
    pub roi: (f32, f32),
}

impl AxisMap {
    /// The map of `axis` of `a` for an input of length `in_len`. `axis` must index `a.scales`
    /// and `a.sizes` (callers validate their lengths against the rank first).
    pub fn new(a: &ResizeAttrs, axis: usize, in_len: usize) -> Self {
        let out_len = a.sizes[axis];
        let roi = if a.coord == CoordTransform::TfCropAndResize { a.roi_of(axis) } else { (0.0, 1.0) };
        AxisMap { coord: a.coord, scale: axis_scale(a.scales[axis], in_len, out_len), in_len, out_len, roi }
    }

    /// True when the reference skips this axis: [`is_identity`] and a crop of `(0, 1)`.
    pub fn is_identity(&self) -> bool {
        let (start, end) = (f64::from(self.roi.0), f64::from(self.roi.1));
        is_identity(self.scale, self.in_len, self.out_len) && start == 0.0 && (end - 1.0).abs() <= 1e-9
    }

    /// Source coordinate `x_ori` of output position `x` (ONNX
    /// `coordinate_transformation_mode`). `TfCropAndResize` evaluates the crop's `f32`
    /// products in `f32`, as numpy does with the reference's `f32` `roi`.
    pub fn source(&self, x: usize) -> f64 {
        let (x, in_len) = (x as f64, self.in_len as f64);
        let scale = self.scale;
        let output_width = scale * in_len;
        match self.coord {
            CoordTransform::HalfPixel => (x + 0.5) / scale - 0.5,
            CoordTransform::PytorchHalfPixel if output_width == 1.0 => -0.5,
            CoordTransform::PytorchHalfPixel => (x + 0.5) / scale - 0.5,
            CoordTransform::AlignCorners if output_width == 1.0 => 0.0,
            CoordTransform::AlignCorners => x * (in_len - 1.0) / (output_width - 1.0),
            CoordTransform::Asymmetric => x / scale,
            CoordTransform::HalfPixelSymmetric => {
                let adjustment = self.out_len as f64 / output_width;
                let offset = in_len / 2.0 * (1.0 - adjustment);
                offset + (x + 0.5) / scale - 0.5
            }
            CoordTransform::TfCropAndResize => {
                let (start, end) = self.roi;
                let last = self.in_len.saturating_sub(1) as f32;
                let span = end - start;
                let along = if output_width == 1.0 {
                    f64::from(span * last / 2.0)
                } else {
                    x * f64::from(span) * (in_len - 1.0) / (output_width - 1.0)
                };
                along + f64::from(start * last)
            }
        }
    }

    /// True when `x_ori` takes the extrapolation value: `TfCropAndResize` and `x_ori` outside
    /// `[0, in - 1]`.
    pub fn is_outside(&self, x_ori: f64) -> bool {
        self.coord == CoordTransform::TfCropAndResize && (x_ori < 0.0 || x_ori > self.in_len as f64 - 1.0)
    }
}

/// The selected input index per output position along one axis (ONNX `nearest_mode`),
/// clamped to the input. `TfCropAndResize` positions outside the input also get an index
/// here; [`filter_taps`] flags them.
pub fn nearest_taps(map: &AxisMap, mode: NearestMode) -> Vec<usize> {
    (0..map.out_len)
        .map(|x| {
            let xo = map.source(x);
            let f = xo.floor();
            let r = xo - f;
            let up = xo != f
                && match mode {
                    NearestMode::RoundPreferFloor => r > 0.5,
                    NearestMode::RoundPreferCeil => r >= 0.5,
                    NearestMode::Floor => false,
                    NearestMode::Ceil => true,
                };
            clamp_index(if up { f + 1.0 } else { f }, map.in_len)
        })
        .collect()
}

/// The interpolation taps of one axis: output position `x` is
/// `Σ_j weight[x * width + j] * in[index[x * width + j]]`, summed in `j` order starting from
/// the `j = 0` product, or the extrapolation value when `outside[x]`.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterTaps {
    /// Taps per output position (the same for every position of the axis).
    pub width: usize,
    /// `out_len * width` input indices, clamped to `[0, in - 1]` (edge padding).
    pub index: Vec<usize>,
    /// `out_len * width` weights.
    pub weight: Vec<f64>,
    /// Per output position: true when it is the extrapolation value ([`AxisMap::is_outside`]).
    pub outside: Vec<bool>,
}

/// Upper bound on the taps of one axis (`out * width`): `16 * (in + out) + 4096`. A model's
/// filter stays below `2 * out + 8 * in` (antialias widens by `1 / scale`, and `scale >= 0.5 /
/// in` whenever `out >= 1`); only hand-written IR whose scales disagree with its sizes can
/// exceed it.
fn max_taps(in_len: usize, out_len: usize) -> usize {
    in_len.saturating_add(out_len).saturating_mul(16).saturating_add(4096)
}

/// The filter kernel of one axis, after `antialias` has fixed its scale.
#[derive(Clone, Copy)]
enum Kernel {
    Nearest(NearestMode),
    Linear,
    Cubic {
        a: f64,
    },
    /// Antialiased linear: taps `start .. start + width` around the point, scaled by `s`.
    LinearAa {
        s: f64,
        start: f64,
    },
    /// Antialiased cubic.
    CubicAa {
        s: f64,
        start: f64,
        a: f64,
    },
}

impl Kernel {
    fn of(a: &ResizeAttrs, scale: f64) -> Self {
        let cubic_a = f64::from(a.cubic_coeff_a);
        let s = scale.min(1.0);
        match (a.mode, a.antialias) {
            (ResizeMode::Nearest, _) => Kernel::Nearest(a.nearest),
            (ResizeMode::Linear, false) => Kernel::Linear,
            (ResizeMode::Cubic, false) => Kernel::Cubic { a: cubic_a },
            (ResizeMode::Linear, true) => Kernel::LinearAa { s, start: (-1.0 / s).floor() + 1.0 },
            (ResizeMode::Cubic, true) => Kernel::CubicAa { s, start: (-2.0 / s).floor() + 1.0, a: cubic_a },
        }
    }

    /// Taps per position; `None` when not finite.
    fn width(&self) -> Option<usize> {
        let w = match *self {
            Kernel::Nearest(_) => return Some(1),
            Kernel::Linear => return Some(2),
            Kernel::Cubic { .. } => return Some(4),
            Kernel::LinearAa { start, .. } | Kernel::CubicAa { start, .. } => 2.0 - 2.0 * start,
        };
        (w.is_finite() && w <= usize::MAX as f64 / 2.0).then_some(w as usize)
    }

    /// The weights for a point at fraction `ratio` (in `(0, 1]`) past its left neighbour, in
    /// the reference's `_linear_coeffs`, `_cubic_coeffs` and `*_antialias` order.
    fn coeffs(&self, ratio: f64, out: &mut [f64]) {
        match *self {
            Kernel::Nearest(_) => out[0] = 1.0,
            Kernel::Linear => {
                out[0] = 1.0 - ratio;
                out[1] = ratio;
            }
            Kernel::Cubic { a } => {
                let r1 = ratio + 1.0;
                let q = 1.0 - ratio;
                let q1 = q + 1.0;
                out[0] = ((a * r1 - 5.0 * a) * r1 + 8.0 * a) * r1 - 4.0 * a;
                out[1] = ((a + 2.0) * ratio - (a + 3.0)) * ratio * ratio + 1.0;
                out[2] = ((a + 2.0) * q - (a + 3.0)) * q * q + 1.0;
                out[3] = ((a * q1 - 5.0 * a) * q1 + 8.0 * a) * q1 - 4.0 * a;
            }
            Kernel::LinearAa { s, start } => {
                for (j, c) in out.iter_mut().enumerate() {
                    let arg = (start + j as f64 - ratio) * s;
                    *c = (1.0 - arg.abs()).clamp(0.0, 1.0);
                }
                normalize(out);
            }
            Kernel::CubicAa { s, start, a } => {
                for (j, c) in out.iter_mut().enumerate() {
                    *c = cubic_aa(s * (start + j as f64 - ratio), a);
                }
                normalize(out);
            }
        }
    }
}

/// The reference's `_cubic_coeffs_antialias.compute_coeff`.
fn cubic_aa(x: f64, a: f64) -> f64 {
    let x = x.abs();
    let x2 = x * x;
    let x3 = x * x2;
    if x <= 1.0 {
        (a + 2.0) * x3 - (a + 3.0) * x2 + 1.0
    } else if x < 2.0 {
        a * x3 - 5.0 * a * x2 + 8.0 * a * x - 4.0 * a
    } else {
        0.0
    }
}

/// Divides by the sum (sequential), or by 1 when the sum is 0.
fn normalize(c: &mut [f64]) {
    let sum: f64 = c.iter().fold(0.0, |s, &v| s + v);
    let sum = if sum == 0.0 { 1.0 } else { sum };
    c.iter_mut().for_each(|v| *v /= sum);
}

/// The taps of `a`'s mode along one axis (see [`FilterTaps`]), following the reference's
/// `_interpolate_1d_along_axis`:
///
/// - `ratio = x_ori - floor(x_ori)`, or 1 when `x_ori` is integral (prefer the left pixel);
/// - the window is the `width` input indices nearest to `x_ori` (ties to the smaller), in
///   edge-padded coordinates, then clamped;
/// - `exclude_outside` (linear and cubic) zeroes the weights of unclamped indices outside
///   `[0, in - 1]` and renormalizes;
/// - `nearest` is one tap of weight 1 at [`nearest_taps`]' index (`exclude_outside` is
///   ignored, as ONNX Runtime does).
///
/// `None` when the filter is absurdly wide (an antialias scale far below `1 / in`, possible
/// only in hand-written IR whose scales disagree with its sizes): more than
/// `16 * (in + out) + 4096` taps in total.
pub fn filter_taps(a: &ResizeAttrs, map: &AxisMap) -> Option<FilterTaps> {
    let kernel = Kernel::of(a, map.scale);
    let limit = max_taps(map.in_len, map.out_len);
    let width = kernel.width().filter(|&w| w <= limit)?;
    let total = width.checked_mul(map.out_len).filter(|&t| t <= limit)?;
    let mut taps =
        FilterTaps { width, index: Vec::with_capacity(total), weight: vec![0.0; total], outside: Vec::new() };
    let nearest = match kernel {
        Kernel::Nearest(mode) => nearest_taps(map, mode),
        _ => Vec::new(),
    };
    let half = (width / 2) as f64;
    for x in 0..map.out_len {
        let xo = map.source(x);
        taps.outside.push(map.is_outside(xo));
        let w = &mut taps.weight[x * width..(x + 1) * width];
        if let Some(&i) = nearest.get(x) {
            taps.index.push(i);
            w[0] = 1.0;
            continue;
        }
        let f = xo.floor();
        let ratio = if xo == f { 1.0 } else { xo - f };
        kernel.coeffs(ratio, w);
        // The window start, computed on the padded coordinate as the reference does.
        let padded = xo + half;
        let p = padded.floor();
        let first = if padded - p == 0.0 { p - half } else { p - half + 1.0 } - half;
        if a.exclude_outside {
            for (j, c) in w.iter_mut().enumerate() {
                let i = first + j as f64;
                if i < 0.0 || i >= map.in_len as f64 {
                    *c = 0.0;
                }
            }
            normalize(w);
        }
        taps.index.extend((0..width).map(|j| clamp_index(first + j as f64, map.in_len)));
    }
    Some(taps)
}

#[cfg(test)]
mod tests;
