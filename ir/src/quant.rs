//! Quantization parameters, part of a quantized tensor's type.

/// Affine quantization parameters: `real = scale * (q - zero_point)`.
///
/// Per-tensor when `axis` is `None` (one `scale` and one `zero_point`); per-axis when
/// `axis = Some(a)` (one pair per index along dimension `a`), as in ONNX `QuantizeLinear`
/// (opset 13+).
#[derive(Clone, Debug, PartialEq)]
pub struct QuantParams {
    /// Scale per tensor (length 1) or per index along `axis`. Finite and > 0.
    pub scale: Vec<f32>,
    /// Zero point, same length as `scale`, within the range of the quantized dtype.
    pub zero_point: Vec<i32>,
    /// The quantized dimension for per-axis parameters.
    pub axis: Option<usize>,
}

impl QuantParams {
    /// Per-tensor parameters.
    pub fn per_tensor(scale: f32, zero_point: i32) -> Self {
        QuantParams { scale: vec![scale], zero_point: vec![zero_point], axis: None }
    }
}
