//! Tensor contents: constants in the IR, and the values the runtime passes in and out.

use crate::{DType, IrError, TensorType};

/// Typed element storage of a tensor, row-major.
///
/// `I4`/`U4` hold packed bytes, two elements per byte, low nibble first (ONNX opset 21); the
/// element count comes from the owning [`TensorData`]'s shape.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// `f32` elements.
    F32(Vec<f32>),
    /// `f16` elements.
    F16(Vec<half::f16>),
    /// `i64` elements.
    I64(Vec<i64>),
    /// `i32` elements.
    I32(Vec<i32>),
    /// `i16` elements.
    I16(Vec<i16>),
    /// `i8` elements.
    I8(Vec<i8>),
    /// `u8` elements.
    U8(Vec<u8>),
    /// Packed signed 4-bit elements.
    I4(Vec<u8>),
    /// Packed unsigned 4-bit elements.
    U4(Vec<u8>),
    /// `bool` elements.
    Bool(Vec<bool>),
}

impl Data {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F16(_) => DType::F16,
            Data::I64(_) => DType::I64,
            Data::I32(_) => DType::I32,
            Data::I16(_) => DType::I16,
            Data::I8(_) => DType::I8,
            Data::U8(_) => DType::U8,
            Data::I4(_) => DType::I4,
            Data::U4(_) => DType::U4,
            Data::Bool(_) => DType::Bool,
        }
    }

    /// Storage length: elements, or bytes for the packed 4-bit types.
    fn storage_len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::F16(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I16(v) => v.len(),
            Data::I8(v) => v.len(),
            Data::U8(v) | Data::I4(v) | Data::U4(v) => v.len(),
            Data::Bool(v) => v.len(),
        }
    }

    /// Zero-filled storage for `numel` elements of `dtype`.
    pub fn zeros(dtype: DType, numel: usize) -> Data {
        match dtype {
            DType::F32 => Data::F32(vec![0.0; numel]),
            DType::F16 => Data::F16(vec![half::f16::ZERO; numel]),
            DType::I64 => Data::I64(vec![0; numel]),
            DType::I32 => Data::I32(vec![0; numel]),
            DType::I16 => Data::I16(vec![0; numel]),
            DType::I8 => Data::I8(vec![0; numel]),
            DType::U8 => Data::U8(vec![0; numel]),
            DType::I4 => Data::I4(vec![0; numel.div_ceil(2)]),
            DType::U4 => Data::U4(vec![0; numel.div_ceil(2)]),
            DType::Bool => Data::Bool(vec![false; numel]),
        }
    }
}

/// A tensor: static shape plus row-major typed storage. Used for IR constants (weights) and
/// for the runtime's input and output values.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorData {
    shape: Vec<usize>,
    data: Data,
}

impl TensorData {
    /// Builds a tensor, checking that the storage length matches the shape.
    ///
    /// Errors: [`IrError::TensorSize`] when `data` does not hold exactly `prod(shape)`
    /// elements (or `ceil(prod/2)` bytes for 4-bit types).
    pub fn new(shape: impl Into<Vec<usize>>, data: Data) -> Result<Self, IrError> {
        let shape = shape.into();
        let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| IrError::TensorSize {
            shape: shape.clone(),
            expected: usize::MAX,
            actual: data.storage_len(),
        })?;
        let expected = match data.dtype() {
            DType::I4 | DType::U4 => numel.div_ceil(2),
            _ => numel,
        };
        if data.storage_len() != expected {
            return Err(IrError::TensorSize { shape, expected, actual: data.storage_len() });
        }
        Ok(TensorData { shape, data })
    }

    /// An `f32` tensor. Errors as [`TensorData::new`].
    pub fn from_f32(shape: impl Into<Vec<usize>>, v: Vec<f32>) -> Result<Self, IrError> {
        Self::new(shape, Data::F32(v))
    }

    /// An `i64` tensor. Errors as [`TensorData::new`].
    pub fn from_i64(shape: impl Into<Vec<usize>>, v: Vec<i64>) -> Result<Self, IrError> {
        Self::new(shape, Data::I64(v))
    }

    /// A scalar `f32` tensor (shape `[]`).
    pub fn scalar_f32(v: f32) -> Self {
        TensorData { shape: vec![], data: Data::F32(vec![v]) }
    }

    /// A zero-filled tensor of the given type.
    pub fn zeros(ty: &TensorType) -> Self {
        TensorData { shape: ty.shape.clone(), data: Data::zeros(ty.dtype, ty.numel()) }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The storage.
    pub fn data(&self) -> &Data {
        &self.data
    }

    /// The storage, mutable (its length cannot change through this).
    pub fn data_mut(&mut self) -> &mut Data {
        &mut self.data
    }

    /// Consumes the tensor, returning shape and storage.
    pub fn into_parts(self) -> (Vec<usize>, Data) {
        (self.shape, self.data)
    }

    /// Same storage, new shape with the same element count.
    ///
    /// Errors: [`IrError::TensorSize`] when the element counts differ.
    pub fn reshaped(self, shape: impl Into<Vec<usize>>) -> Result<Self, IrError> {
        Self::new(shape, self.data)
    }

    /// The `f32` elements, if this is an `f32` tensor.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            Data::F32(v) => Some(v),
            _ => None,
        }
    }

    /// The `i64` elements, if this is an `i64` tensor.
    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            Data::I64(v) => Some(v),
            _ => None,
        }
    }

    /// Elements converted to `i64` for any integer or bool dtype (4-bit types unpacked);
    /// `None` for float tensors. Used for shape and index inputs.
    pub fn to_i64_vec(&self) -> Option<Vec<i64>> {
        Some(match &self.data {
            Data::I64(v) => v.clone(),
            Data::I32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I16(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I8(v) => v.iter().map(|&x| x as i64).collect(),
            Data::U8(v) => v.iter().map(|&x| x as i64).collect(),
            Data::Bool(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I4(v) => (0..self.numel()).map(|i| unpack_nibble(v, i, true) as i64).collect(),
            Data::U4(v) => (0..self.numel()).map(|i| unpack_nibble(v, i, false) as i64).collect(),
            Data::F32(_) | Data::F16(_) => return None,
        })
    }

    /// Elements converted to `f32` for any dtype (integers exactly when representable).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.data {
            Data::F32(v) => v.clone(),
            Data::F16(v) => v.iter().map(|x| x.to_f32()).collect(),
            _ => self.to_i64_vec().unwrap_or_default().into_iter().map(|x| x as f32).collect(),
        }
    }

    /// Raw little-endian bytes of the storage (packed for 4-bit types, 0/1 for bool).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match &self.data {
            Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I8(v) => v.iter().map(|&x| x as u8).collect(),
            Data::U8(v) | Data::I4(v) | Data::U4(v) => v.clone(),
            Data::Bool(v) => v.iter().map(|&x| x as u8).collect(),
        }
    }

    /// Builds a tensor from little-endian bytes, as stored in ONNX `raw_data` and in the
    /// runtime's arena.
    ///
    /// Errors: [`IrError::TensorSize`] when `bytes.len()` is not the storage size of `shape`.
    pub fn from_le_bytes(dtype: DType, shape: impl Into<Vec<usize>>, bytes: &[u8]) -> Result<Self, IrError> {
        let shape = shape.into();
        let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| IrError::TensorSize {
            shape: shape.clone(),
            expected: usize::MAX,
            actual: bytes.len(),
        })?;
        let expected = dtype.storage_bytes(numel);
        if bytes.len() != expected {
            return Err(IrError::TensorSize { shape, expected, actual: bytes.len() });
        }
        fn chunks<const N: usize, T>(b: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
            b.chunks_exact(N).map(|c| f(c.try_into().expect("chunks_exact yields N bytes"))).collect()
        }
        let data = match dtype {
            DType::F32 => Data::F32(chunks(bytes, f32::from_le_bytes)),
            DType::F16 => Data::F16(chunks(bytes, half::f16::from_le_bytes)),
            DType::I64 => Data::I64(chunks(bytes, i64::from_le_bytes)),
            DType::I32 => Data::I32(chunks(bytes, i32::from_le_bytes)),
            DType::I16 => Data::I16(chunks(bytes, i16::from_le_bytes)),
            DType::I8 => Data::I8(bytes.iter().map(|&b| b as i8).collect()),
            DType::U8 => Data::U8(bytes.to_vec()),
            DType::I4 => Data::I4(bytes.to_vec()),
            DType::U4 => Data::U4(bytes.to_vec()),
            DType::Bool => Data::Bool(bytes.iter().map(|&b| b != 0).collect()),
        };
        Ok(TensorData { shape, data })
    }

    /// True when shape and dtype match `ty` (quantization parameters are not compared).
    pub fn matches_type(&self, ty: &TensorType) -> bool {
        self.dtype() == ty.dtype && self.shape == ty.shape
    }
}

/// Element `i` of a packed 4-bit buffer (low nibble first), sign-extended when `signed`.
pub fn unpack_nibble(bytes: &[u8], i: usize, signed: bool) -> i8 {
    let b = bytes[i / 2];
    let n = if i.is_multiple_of(2) { b & 0x0f } else { b >> 4 };
    if signed {
        ((n << 4) as i8) >> 4
    } else {
        n as i8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_rejects_wrong_length() {
        assert!(TensorData::from_f32([2, 2], vec![1.0; 3]).is_err());
        assert!(TensorData::from_f32([2, 2], vec![1.0; 4]).is_ok());
    }

    #[test]
    fn le_bytes_round_trip() {
        let t = TensorData::from_f32([3], vec![1.5, -2.0, 0.25]).unwrap();
        let b = t.to_le_bytes();
        assert_eq!(TensorData::from_le_bytes(DType::F32, [3], &b).unwrap(), t);
        assert!(TensorData::from_le_bytes(DType::F32, [3], &b[..11]).is_err());
    }

    #[test]
    fn int4_unpacks_low_nibble_first_with_sign() {
        let t = TensorData::new([3], Data::I4(vec![0xf7, 0x08])).unwrap();
        assert_eq!(t.to_i64_vec().unwrap(), vec![7, -1, -8]);
        let u = TensorData::new([3], Data::U4(vec![0xf7, 0x08])).unwrap();
        assert_eq!(u.to_i64_vec().unwrap(), vec![7, 15, 8]);
    }
}
