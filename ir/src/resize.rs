//! The coordinate arithmetic of [`crate::Op::Resize`], shared by every backend.
//!
//! Follows the ONNX reference implementation (`onnx/reference/ops/op_resize.py`), in `f64`.
//! Everything here depends only on static shapes and attributes, so backends evaluate it at
//! compile time (the JIT packs the results as tables; the interpreter uses them directly).
//!
//! The scale: [`crate::ResizeAttrs::scales`] holds an `f32`. When it equals `out / in` rounded
//! to `f32`, the exact ratio `out / in` is used instead, as the reference does when the model
//! gave `sizes`; this keeps ties such as `align_corners` half-way points exact.

use crate::{CoordTransform, NearestMode};

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

/// Source coordinate of output position `x` along one axis (ONNX
/// `coordinate_transformation_mode`).
pub fn source_coord(coord: CoordTransform, x: usize, scale: f64, in_len: usize, out_len: usize) -> f64 {
    let x = x as f64;
    let output_width = scale * in_len as f64;
    match coord {
        CoordTransform::HalfPixel => (x + 0.5) / scale - 0.5,
        CoordTransform::PytorchHalfPixel if output_width == 1.0 => -0.5,
        CoordTransform::PytorchHalfPixel => (x + 0.5) / scale - 0.5,
        CoordTransform::AlignCorners if output_width == 1.0 => 0.0,
        CoordTransform::AlignCorners => x * (in_len as f64 - 1.0) / (output_width - 1.0),
        CoordTransform::Asymmetric => x / scale,
        CoordTransform::HalfPixelSymmetric => {
            let adjustment = out_len as f64 / output_width;
            let offset = in_len as f64 / 2.0 * (1.0 - adjustment);
            offset + (x + 0.5) / scale - 0.5
        }
    }
}

/// `i` clamped to `[0, len - 1]` (`len > 0`; NaN gives 0).
pub fn clamp_index(i: f64, len: usize) -> usize {
    if i <= 0.0 || i.is_nan() {
        0
    } else {
        (i as usize).min(len - 1)
    }
}

/// Linear interpolation taps per output position along one axis: `(i0, i1, c0, c1)`, the two
/// clamped input neighbours and their weights (`y = c0 * x[i0] + c1 * x[i1]`; on an exact
/// input position `c0 = 0`, `c1 = 1`).
pub fn linear_taps(coord: CoordTransform, scale: f64, in_len: usize, out_len: usize) -> Vec<(usize, usize, f64, f64)> {
    (0..out_len)
        .map(|x| {
            let xo = source_coord(coord, x, scale, in_len, out_len);
            let f = xo.floor();
            if xo == f {
                (clamp_index(f - 1.0, in_len), clamp_index(f, in_len), 0.0, 1.0)
            } else {
                let r = xo - f;
                (clamp_index(f, in_len), clamp_index(f + 1.0, in_len), 1.0 - r, r)
            }
        })
        .collect()
}

/// The selected input index per output position along one axis (ONNX `nearest_mode`).
pub fn nearest_taps(coord: CoordTransform, mode: NearestMode, scale: f64, in_len: usize, out_len: usize) -> Vec<usize> {
    (0..out_len)
        .map(|x| {
            let xo = source_coord(coord, x, scale, in_len, out_len);
            let f = xo.floor();
            let r = xo - f;
            let up = xo != f
                && match mode {
                    NearestMode::RoundPreferFloor => r > 0.5,
                    NearestMode::RoundPreferCeil => r >= 0.5,
                    NearestMode::Floor => false,
                    NearestMode::Ceil => true,
                };
            clamp_index(if up { f + 1.0 } else { f }, in_len)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_corners_upsampling_hits_exact_half_way_points() {
        // 5 → 9 with align_corners: output 1 maps to input 0.5 exactly.
        let s = axis_scale(9.0 / 5.0, 5, 9);
        assert_eq!(source_coord(CoordTransform::AlignCorners, 1, s, 5, 9), 0.5);
        assert_eq!(linear_taps(CoordTransform::AlignCorners, s, 5, 9)[1], (0, 1, 0.5, 0.5));
    }

    #[test]
    fn nearest_modes_round_ties_as_named() {
        // Asymmetric ×2 downsampling by 2/3: x = 1 → 1.5.
        let s = 2.0 / 3.0;
        assert_eq!(nearest_taps(CoordTransform::Asymmetric, NearestMode::RoundPreferFloor, s, 3, 2), vec![0, 1]);
        assert_eq!(nearest_taps(CoordTransform::Asymmetric, NearestMode::RoundPreferCeil, s, 3, 2), vec![0, 2]);
        assert_eq!(nearest_taps(CoordTransform::Asymmetric, NearestMode::Ceil, s, 3, 2), vec![0, 2]);
        assert_eq!(nearest_taps(CoordTransform::Asymmetric, NearestMode::Floor, s, 3, 2), vec![0, 1]);
    }

    #[test]
    fn indices_clamp_to_the_input() {
        assert_eq!(clamp_index(-0.5, 4), 0);
        assert_eq!(clamp_index(f64::NAN, 4), 0);
        assert_eq!(clamp_index(7.0, 4), 3);
    }
}
