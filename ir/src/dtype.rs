//! Element types of tensors.

use std::fmt;

/// The element type of a tensor value.
///
/// The set follows DESIGN.md: float (`f32`, `f16`), integer (`i64` … `u8`), packed 4-bit
/// integers (`i4`, `u4`: two values per byte, low nibble first, as in ONNX opset 21) and `bool`
/// (one byte per element, 0 or 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary16.
    F16,
    /// Signed 64-bit integer (shapes, indices).
    I64,
    /// Signed 32-bit integer (accumulators, biases).
    I32,
    /// Signed 16-bit integer.
    I16,
    /// Signed 8-bit integer.
    I8,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 4-bit integer, two per byte, low nibble first.
    I4,
    /// Unsigned 4-bit integer, two per byte, low nibble first.
    U4,
    /// Boolean, one byte per element.
    Bool,
}

impl DType {
    /// Every dtype, in printing order.
    pub const ALL: [DType; 10] = [
        DType::F32,
        DType::F16,
        DType::I64,
        DType::I32,
        DType::I16,
        DType::I8,
        DType::U8,
        DType::I4,
        DType::U4,
        DType::Bool,
    ];

    /// Size of one element in bits (4 for `i4`/`u4`, 8 for `bool`).
    pub fn bits(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 32,
            DType::F16 | DType::I16 => 16,
            DType::I64 => 64,
            DType::I8 | DType::U8 | DType::Bool => 8,
            DType::I4 | DType::U4 => 4,
        }
    }

    /// Bytes needed to store `elements` elements of this type (4-bit types round up).
    pub fn storage_bytes(self, elements: usize) -> usize {
        (elements * self.bits()).div_ceil(8)
    }

    /// True for `f32` and `f16`.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16)
    }

    /// True for the integer types (not `bool`).
    pub fn is_integer(self) -> bool {
        !self.is_float() && self != DType::Bool
    }

    /// The text name used by the IR printer and parser (`f32`, `u8`, …).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::I64 => "i64",
            DType::I32 => "i32",
            DType::I16 => "i16",
            DType::I8 => "i8",
            DType::U8 => "u8",
            DType::I4 => "i4",
            DType::U4 => "u4",
            DType::Bool => "bool",
        }
    }

    /// Parses a name printed by [`DType::name`].
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_name(d.name()), Some(d));
        }
        assert_eq!(DType::from_name("f64"), None);
    }

    #[test]
    fn four_bit_types_pack_two_per_byte() {
        assert_eq!(DType::I4.storage_bytes(3), 2);
        assert_eq!(DType::U8.storage_bytes(3), 3);
        assert_eq!(DType::F32.storage_bytes(3), 12);
    }
}
