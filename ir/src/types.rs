//! Tensor types: dtype, static shape and (for quantized tensors) quantization parameters.

use std::fmt;

use crate::{DType, QuantParams};

/// The type of an SSA value: element type, static shape (row-major, outermost first) and, for
/// quantized integer tensors, [`QuantParams`].
///
/// Prints as `f32[1,3,224,224]`, `u8<0.0235,128>[1,16,8,8]` or `i8<axis=0>[16,3,3,3]` for
/// per-axis parameters (the parameters themselves are printed by the graph printer).
#[derive(Clone, Debug, PartialEq)]
pub struct TensorType {
    /// Element type.
    pub dtype: DType,
    /// Static shape; an empty shape is a scalar.
    pub shape: Vec<usize>,
    /// Quantization parameters of a quantized integer tensor.
    pub quant: Option<QuantParams>,
}

impl TensorType {
    /// A type without quantization parameters.
    pub fn new(dtype: DType, shape: impl Into<Vec<usize>>) -> Self {
        TensorType { dtype, shape: shape.into(), quant: None }
    }

    /// Number of elements (1 for a scalar). Saturates at `usize::MAX` on overflow; the
    /// verifier rejects such shapes.
    pub fn numel(&self) -> usize {
        self.shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).unwrap_or(usize::MAX)
    }

    /// Number of elements, or `None` if the product overflows `usize`.
    pub fn checked_numel(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
    }

    /// Storage size in bytes.
    pub fn size_bytes(&self) -> usize {
        self.dtype.storage_bytes(self.numel())
    }

    /// Rank (number of dimensions).
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dtype)?;
        if let Some(q) = &self.quant {
            match q.axis {
                None => write!(f, "<{:?},{}>", q.scale[0], q.zero_point[0])?,
                Some(a) => write!(f, "<axis={a}>")?,
            }
        }
        write!(f, "[")?;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                write!(f, ",")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

/// Row-major (C-order) strides in elements for `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_plain_and_quantized() {
        assert_eq!(TensorType::new(DType::F32, [1, 3, 8, 8]).to_string(), "f32[1,3,8,8]");
        let mut t = TensorType::new(DType::U8, [1, 16]);
        t.quant = Some(QuantParams::per_tensor(0.0235, 128));
        assert_eq!(t.to_string(), "u8<0.0235,128>[1,16]");
        assert_eq!(TensorType::new(DType::F32, []).to_string(), "f32[]");
    }

    #[test]
    fn strides_are_row_major() {
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(strides(&[]), Vec::<usize>::new());
    }
}
