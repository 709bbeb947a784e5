//! Compile-time parameters shared by the int8 compute kernels (`qmatmul.rs`, `qconv.rs`):
//! operand sign handling, the output conversion of the epilogue and its per-channel tables.

use int8xc_ir::{DType, Requant, RequantMode, TensorData};

use super::qgemm::{QOutKind, FIXED_ENTRY_BYTES};
use super::KernelCx;
use crate::pack_i8::{push_f32s, push_i32s};
use crate::JitError;

/// The shift that stores an 8-bit operand of `dtype` in the byte domain the dot product wants
/// (`signed`: `i8`, else `u8`): `stored = value + delta` (see [`crate::pack_i8`]).
pub(crate) fn byte_delta(cx: &KernelCx, what: &str, dtype: DType, signed: bool) -> Result<i64, JitError> {
    match (dtype, signed) {
        (DType::I8, true) | (DType::U8, false) => Ok(0),
        (DType::U8, true) => Ok(-128),
        (DType::I8, false) => Ok(128),
        _ => Err(JitError::unsupported(cx.node, format!("{what} has dtype {dtype}; int8 kernels take u8/i8"))),
    }
}

/// The epilogue's output conversion for a requantized output of `req` (whose dtype must be
/// the node's output dtype).
pub(crate) fn requant_out(cx: &KernelCx, req: &Requant) -> Result<QOutKind, JitError> {
    let to = cx.out_ty(0)?;
    if to.dtype != req.out_dtype {
        return Err(JitError::invalid(
            cx.node,
            format!("output dtype {} != requant dtype {}", to.dtype, req.out_dtype),
        ));
    }
    let bytes = match req.out_dtype {
        DType::U8 | DType::I8 => 1,
        DType::I16 => 2,
        other => return Err(JitError::unsupported(cx.node, format!("requantized output dtype {other}"))),
    };
    let (lo, hi) = req.output_range();
    if lo > hi {
        return Err(JitError::invalid(cx.node, format!("empty output range [{lo}, {hi}]")));
    }
    let zp = req.out_zero_point;
    Ok(match req.mode {
        RequantMode::F32Multiplier => QOutKind::RequantF32 { zp, lo, hi, bytes },
        RequantMode::FixedPoint => QOutKind::RequantFixed { zp, lo, hi, bytes },
    })
}

/// The per-channel parameter table of `out` for `channels` channels padded to `len` entries:
/// `f32` scales (`F32`: `(alpha · s_x) · s_w[c]`), `f32` multipliers (`RequantF32`), or
/// fixed-point entries (`RequantFixed`, [`FIXED_ENTRY_BYTES`] each); empty for `I32`.
/// `w_scales` has one entry (per tensor) or `channels`.
pub(crate) fn param_table(
    out: QOutKind,
    req: Option<&Requant>,
    alpha: f32,
    x_scale: f32,
    w_scales: &[f32],
    channels: usize,
    len: usize,
) -> Vec<u8> {
    let per = |v: &[f32]| -> Vec<f32> {
        (0..channels).map(|c| v.get(if v.len() == 1 { 0 } else { c }).copied().unwrap_or(0.0)).collect()
    };
    let mut t = Vec::new();
    match (out, req) {
        (QOutKind::F32, _) => {
            let s: Vec<f32> = w_scales.iter().map(|&sw| alpha * x_scale * sw).collect();
            push_f32s(&mut t, &per(&s), len, 0.0);
        }
        (QOutKind::RequantF32 { .. }, Some(r)) => {
            push_f32s(&mut t, &per(&r.f32_multipliers(alpha, x_scale, w_scales)), len, 0.0)
        }
        (QOutKind::RequantFixed { .. }, Some(r)) => {
            let mq = r.fixed_point_multipliers(alpha, x_scale, w_scales);
            for c in 0..len {
                let (m, shift) = if c < channels {
                    mq.get(if mq.len() == 1 { 0 } else { c }).copied().unwrap_or((0, 0))
                } else {
                    (0, 0)
                };
                let left = shift.clamp(0, 31);
                let right = (-shift).clamp(0, 31);
                let half = if right > 0 { 1i32 << (right - 1) } else { 0 };
                let entry = [m, left, right, half, i32::from(right > 0)];
                push_i32s(&mut t, &entry, FIXED_ENTRY_BYTES / 4, 0);
            }
        }
        _ => {}
    }
    t
}

/// The values of an optional constant integer input `i` (zero points, bias), or `None` when
/// absent. Errors when present but not constant.
pub(crate) fn const_ints(cx: &KernelCx, i: usize, what: &str) -> Result<Option<Vec<i64>>, JitError> {
    if cx.node.inputs.len() <= i {
        return Ok(None);
    }
    let t: &TensorData = cx
        .constant(i)
        .ok_or_else(|| JitError::unsupported(cx.node, format!("{what} must be a constant for the JIT")))?;
    t.to_i64_vec()
        .filter(|_| t.dtype().is_integer())
        .map(Some)
        .ok_or_else(|| JitError::invalid(cx.node, format!("{what} has dtype {}", t.dtype())))
}

/// Per-channel values: `v` has one entry (broadcast) or `channels`.
pub(crate) fn per_channel(cx: &KernelCx, v: &[i64], channels: usize, what: &str) -> Result<Vec<i64>, JitError> {
    match v.len() {
        1 => Ok(vec![v[0]; channels]),
        l if l == channels => Ok(v.to_vec()),
        l => Err(JitError::invalid(cx.node, format!("{what} has {l} values, expected 1 or {channels}"))),
    }
}
