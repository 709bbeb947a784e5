//! Bytes → [`ModelProto`], and ONNX tensors → [`TensorData`].
//!
//! Decoding never panics on hostile input: protobuf errors are reported with the byte offset
//! and field path where the wire format breaks, tensor sizes are checked against
//! [`MAX_DIM`] / [`MAX_ELEMENTS`] before anything is allocated, and external data is read
//! only from files inside the model's directory.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};

use int8xc_ir::{DType, Data, TensorData};
use prost::Message;

use crate::proto::{DataLocation, DataType, ModelProto, TensorProto};
use crate::OnnxError;

/// Largest accepted dimension (2^31); larger dims are rejected as absurd.
pub const MAX_DIM: u64 = 1 << 31;
/// Largest accepted element count of one tensor (2^31).
pub const MAX_ELEMENTS: u64 = 1 << 31;
/// Largest constant the importer computes itself (256 MiB): bigger results of constant
/// folding stay nodes, and bigger `ConstantOfShape` / `Range` outputs are an error, so a
/// small hostile file cannot make the importer allocate gigabytes.
pub const MAX_FOLD_BYTES: usize = 1 << 28;

/// Decodes an ONNX model from its protobuf bytes.
///
/// Errors: [`OnnxError::Empty`] for no bytes; [`OnnxError::NotOnnx`] when the bytes are not a
/// protobuf that starts like a `ModelProto` (naming the format when recognizable, e.g. a PNG
/// image or a zip/PyTorch checkpoint), or decode but have no `graph` or no `ir_version`;
/// [`OnnxError::Decode`] for a malformed or truncated model, with the byte offset and field
/// path where the wire format breaks.
pub fn decode_model(bytes: &[u8]) -> Result<ModelProto, OnnxError> {
    if bytes.is_empty() {
        return Err(OnnxError::Empty);
    }
    match ModelProto::decode(bytes) {
        Ok(model) => {
            if model.graph.is_none() || model.ir_version.is_none() {
                let missing = match (model.ir_version.is_none(), model.graph.is_none()) {
                    (true, true) => "ir_version and graph",
                    (true, false) => "ir_version",
                    _ => "graph",
                };
                let hint = sniff_format(bytes).map(|f| format!(" (looks like {f})")).unwrap_or_default();
                return Err(OnnxError::NotOnnx(format!(
                    "the {} bytes decode as protobuf but have no {missing}{hint}",
                    bytes.len()
                )));
            }
            Ok(model)
        }
        Err(e) => {
            if let Some(format) = sniff_format(bytes) {
                return Err(OnnxError::NotOnnx(format!("the file looks like {format}")));
            }
            if !starts_like_model(bytes) {
                return Err(OnnxError::NotOnnx(format!(
                    "the first bytes {:02x?} are not a ModelProto field",
                    &bytes[..bytes.len().min(8)]
                )));
            }
            let location = locate_wire_error(bytes, "ModelProto", 0, 0)
                .unwrap_or_else(|| "somewhere inside the message".to_string());
            Err(OnnxError::Decode(format!("{location} ({e})")))
        }
    }
}

/// Recognizes a few common non-ONNX file formats by their magic bytes.
fn sniff_format(bytes: &[u8]) -> Option<&'static str> {
    const MAGICS: &[(&[u8], &str)] = &[
        (b"\x89PNG", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"PK\x03\x04", "a zip archive (e.g. a PyTorch checkpoint)"),
        (b"\x93NUMPY", "a NumPy .npy file"),
        (b"\x7fELF", "an ELF executable"),
        (b"ir_version", "ONNX text format (not supported; convert to binary protobuf)"),
        (b"TFL3", "a TFLite model"),
        (b"\x1f\x8b", "a gzip file"),
    ];
    if let Some((_, name)) = MAGICS.iter().find(|(m, _)| bytes.starts_with(m)) {
        return Some(name);
    }
    let head = &bytes[..bytes.len().min(64)];
    let printable = head.iter().all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    (head.len() >= 4 && printable).then_some("a text file")
}

/// True when the first field tag is a known `ModelProto` field with the right wire type.
fn starts_like_model(bytes: &[u8]) -> bool {
    let Some((tag, _)) = read_varint(bytes, 0) else { return false };
    let (field, wire) = (tag >> 3, tag & 7);
    matches!((field, wire), (1 | 5, 0) | (2 | 3 | 4 | 6 | 7 | 8 | 14 | 20 | 25 | 26, 2))
}

/// Reads a base-128 varint at `pos`; returns the value and the position after it.
fn read_varint(bytes: &[u8], mut pos: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(pos)?;
        pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some((value, pos));
        }
    }
    None
}

/// Sub-message fields of the ONNX messages, for locating wire errors: `(message, field) →
/// (field name, field message type)`.
fn submessage(message: &str, field: u64) -> Option<(&'static str, &'static str)> {
    Some(match (message, field) {
        ("ModelProto", 7) => ("graph", "GraphProto"),
        ("ModelProto", 8) => ("opset_import", "OperatorSetIdProto"),
        ("GraphProto", 1) => ("node", "NodeProto"),
        ("GraphProto", 5) => ("initializer", "TensorProto"),
        ("GraphProto", 11) => ("input", "ValueInfoProto"),
        ("GraphProto", 12) => ("output", "ValueInfoProto"),
        ("GraphProto", 13) => ("value_info", "ValueInfoProto"),
        ("NodeProto", 5) => ("attribute", "AttributeProto"),
        ("AttributeProto", 5) => ("t", "TensorProto"),
        ("AttributeProto", 6) => ("g", "GraphProto"),
        ("AttributeProto", 10) => ("tensors", "TensorProto"),
        ("AttributeProto", 11) => ("graphs", "GraphProto"),
        _ => return None,
    })
}

/// Walks the wire format of `bytes` (a `message`, starting at absolute offset `base`) and
/// describes the first place where it is malformed, descending into known sub-messages.
fn locate_wire_error(bytes: &[u8], message: &str, base: usize, depth: usize) -> Option<String> {
    let mut pos = 0;
    while pos < bytes.len() {
        let at = base + pos;
        let Some((tag, next)) = read_varint(bytes, pos) else {
            return Some(format!("{message}: unterminated field tag at byte offset {at} (file truncated?)"));
        };
        let (field, wire) = (tag >> 3, tag & 7);
        if field == 0 {
            return Some(format!("{message}: invalid field number 0 at byte offset {at}"));
        }
        pos = next;
        let remaining = bytes.len() - pos;
        let need = match wire {
            0 => match read_varint(bytes, pos) {
                Some((_, n)) => n - pos,
                None => {
                    return Some(format!(
                        "{message}: field {field} at byte offset {at}: unterminated varint (file truncated?)"
                    ))
                }
            },
            1 => 8,
            5 => 4,
            2 => {
                let Some((len, data_start)) = read_varint(bytes, pos) else {
                    return Some(format!(
                        "{message}: field {field} at byte offset {at}: unterminated length (file truncated?)"
                    ));
                };
                let available = bytes.len() - data_start;
                let name = submessage(message, field);
                if len > available as u64 {
                    let what =
                        name.map(|(n, _)| format!("{message}.{n}")).unwrap_or(format!("{message} field {field}"));
                    let inner = name
                        .filter(|_| depth < 16)
                        .and_then(|(_, ty)| locate_wire_error(&bytes[data_start..], ty, base + data_start, depth + 1));
                    let here = format!(
                        "{what} at byte offset {at} declares {len} bytes but only {available} remain (file truncated?)"
                    );
                    return Some(match inner {
                        Some(inner) => format!("{here}; inside it: {inner}"),
                        None => here,
                    });
                }
                let end = data_start + len as usize;
                if let Some((fname, ty)) = name.filter(|_| depth < 16) {
                    if let Some(inner) = locate_wire_error(&bytes[data_start..end], ty, base + data_start, depth + 1) {
                        return Some(format!("{message}.{fname} at byte offset {at}: {inner}"));
                    }
                }
                end - pos
            }
            _ => return Some(format!("{message}: field {field} at byte offset {at} has invalid wire type {wire}")),
        };
        if need > remaining {
            return Some(format!("{message}: field {field} at byte offset {at} is cut short (file truncated?)"));
        }
        pos += need;
    }
    None
}

/// Checks ONNX dims (`i64`) and converts them to a shape.
///
/// Errors (naming `what`): a negative dim, a dim above [`MAX_DIM`], or an element count
/// above [`MAX_ELEMENTS`].
pub fn checked_shape(dims: &[i64], what: &str) -> Result<Vec<usize>, String> {
    let mut numel: u64 = 1;
    let mut shape = Vec::with_capacity(dims.len().min(64));
    for (i, &d) in dims.iter().enumerate() {
        if d < 0 {
            return Err(format!("{what}: dim {i} is negative ({d})"));
        }
        if d as u64 > MAX_DIM {
            return Err(format!("{what}: dim {i} is {d}, above the limit 2^31"));
        }
        numel = numel.saturating_mul(d as u64);
        if numel > MAX_ELEMENTS {
            return Err(format!("{what}: shape {dims:?} has more than 2^31 elements"));
        }
        shape.push(d as usize);
    }
    Ok(shape)
}

/// Converts an ONNX tensor to IR tensor data.
///
/// Contents come from `raw_data` (little-endian, 4-bit types packed low nibble first), from
/// the typed field the ONNX spec assigns to the dtype (`float_data` for FLOAT, `int64_data`
/// for INT64, `int32_data` for INT32/INT16/INT8/UINT8/BOOL, FLOAT16 bit patterns and packed
/// INT4/UINT4 bytes), or, when `data_location` is `EXTERNAL`, from a file next to the model
/// (see [`read_external`]; `base_dir` is the model's directory).
///
/// Errors ([`OnnxError::Tensor`], naming the tensor): dtype without IR equivalent, absurd
/// dims, a data size that does not match the dims, segmented tensors, external data problems.
pub fn tensor_to_data(t: &TensorProto, base_dir: Option<&Path>) -> Result<TensorData, OnnxError> {
    let name = if t.name.is_empty() { "<unnamed>" } else { t.name.as_str() };
    let err = |m: String| OnnxError::tensor(name, m);
    let dtype = DataType::try_from(t.data_type)
        .ok()
        .and_then(DataType::to_ir)
        .ok_or_else(|| err(format!("element type {} is not supported by int8xc", DataType::name_of(t.data_type))))?;
    let shape = checked_shape(&t.dims, "dims").map_err(err)?;
    if t.segment.is_some() {
        return Err(err("segmented tensors are not supported".into()));
    }
    let numel: usize = shape.iter().product();
    let sized = |r: Result<TensorData, int8xc_ir::IrError>| r.map_err(|e| err(e.to_string()));
    if t.data_location == DataLocation::External as i32 {
        let bytes = read_external(t, name, dtype.storage_bytes(numel), base_dir)?;
        return sized(TensorData::from_le_bytes(dtype, shape, &bytes));
    }
    if !t.raw_data.is_empty() {
        let expected = dtype.storage_bytes(numel);
        if t.raw_data.len() != expected {
            return Err(err(format!(
                "raw_data has {} bytes, but dims {:?} of {} need {expected}",
                t.raw_data.len(),
                t.dims,
                dtype
            )));
        }
        return sized(TensorData::from_le_bytes(dtype, shape, &t.raw_data));
    }
    let check = |field: &str, len: usize, expected: usize| {
        if len == expected {
            Ok(())
        } else {
            Err(err(format!("{field} has {len} values, but dims {:?} of {dtype} need {expected}", t.dims)))
        }
    };
    let ints = &t.int32_data;
    let data = match dtype {
        DType::F32 => {
            check("float_data", t.float_data.len(), numel)?;
            Data::F32(t.float_data.clone())
        }
        DType::I64 => {
            check("int64_data", t.int64_data.len(), numel)?;
            Data::I64(t.int64_data.clone())
        }
        DType::F16 => {
            check("int32_data", ints.len(), numel)?;
            Data::F16(ints.iter().map(|&b| half::f16::from_bits(b as u16)).collect())
        }
        DType::I32 => {
            check("int32_data", ints.len(), numel)?;
            Data::I32(ints.clone())
        }
        DType::I16 => {
            check("int32_data", ints.len(), numel)?;
            Data::I16(ints.iter().map(|&v| v as i16).collect())
        }
        DType::I8 => {
            check("int32_data", ints.len(), numel)?;
            Data::I8(ints.iter().map(|&v| v as i8).collect())
        }
        DType::U8 => {
            check("int32_data", ints.len(), numel)?;
            Data::U8(ints.iter().map(|&v| v as u8).collect())
        }
        DType::Bool => {
            check("int32_data", ints.len(), numel)?;
            Data::Bool(ints.iter().map(|&v| v != 0).collect())
        }
        DType::I4 | DType::U4 => {
            check("int32_data (two 4-bit values each)", ints.len(), numel.div_ceil(2))?;
            let bytes = ints.iter().map(|&v| v as u8).collect();
            if dtype == DType::I4 {
                Data::I4(bytes)
            } else {
                Data::U4(bytes)
            }
        }
    };
    sized(TensorData::new(shape, data))
}

/// Reads the external data of tensor `name` (`data_location = EXTERNAL`): `expected` bytes
/// from the file `location` (relative to `base_dir`), starting at `offset`; `length`, when
/// given, must equal `expected`.
///
/// Errors ([`OnnxError::Tensor`]): no base directory (model loaded from bytes), missing
/// `location`, an absolute path or one with `..` or that resolves outside `base_dir` (e.g.
/// through a symlink), a missing file, non-numeric `offset`/`length`, or a file too short.
pub fn read_external(
    t: &TensorProto,
    name: &str,
    expected: usize,
    base_dir: Option<&Path>,
) -> Result<Vec<u8>, OnnxError> {
    let err = |m: String| OnnxError::tensor(name, m);
    let entry = |key: &str| t.external_data.iter().find(|e| e.key == key).map(|e| e.value.as_str());
    let location = entry("location").ok_or_else(|| err("external data has no 'location'".into()))?;
    let number = |key: &str| -> Result<Option<u64>, OnnxError> {
        entry(key)
            .map(|v| v.trim().parse::<u64>().map_err(|_| err(format!("external data '{key}' is not a number: '{v}'"))))
            .transpose()
    };
    let offset = number("offset")?.unwrap_or(0);
    let length = number("length")?;
    if let Some(len) = length {
        if len != expected as u64 {
            return Err(err(format!("external data length {len} does not match the {expected} bytes its dims need")));
        }
    }
    let rel = Path::new(location);
    if !rel.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)) || location.is_empty() {
        return Err(err(format!(
            "external data location '{location}' must be a relative path inside the model's directory (no absolute paths, no '..')"
        )));
    }
    let base = base_dir.ok_or_else(|| {
        err(format!(
            "external data '{location}' cannot be read: the model was loaded from bytes without a base directory"
        ))
    })?;
    let path = base.join(rel);
    let canonical = path
        .canonicalize()
        .map_err(|e| err(format!("external data file '{}' cannot be opened: {e}", path.display())))?;
    let canonical_base = base.canonicalize().map_err(|e| err(format!("model directory '{}': {e}", base.display())))?;
    if !canonical.starts_with(&canonical_base) {
        return Err(err(format!("external data file '{}' resolves outside the model's directory", path.display())));
    }
    let mut file = File::open(&canonical)
        .map_err(|e| err(format!("external data file '{}' cannot be opened: {e}", path.display())))?;
    let file_len = file.metadata().map_err(|e| err(format!("external data file '{}': {e}", path.display())))?.len();
    let end = offset.checked_add(expected as u64);
    if end.is_none_or(|end| end > file_len) {
        return Err(err(format!(
            "short read: external data file '{}' has {file_len} bytes, the tensor needs {expected} bytes at offset {offset}",
            path.display()
        )));
    }
    let mut buf = vec![0u8; expected];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(|e| err(format!("reading external data file '{}': {e}", path.display())))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_reads_multi_byte_and_rejects_unterminated() {
        assert_eq!(read_varint(&[0x96, 0x01], 0), Some((150, 2)));
        assert_eq!(read_varint(&[0x96], 0), None);
    }

    #[test]
    fn checked_shape_rejects_negative_huge_and_overflowing() {
        assert!(checked_shape(&[-1], "x").unwrap_err().contains("negative"));
        assert!(checked_shape(&[1 << 40], "x").unwrap_err().contains("2^31"));
        assert!(checked_shape(&[1 << 20, 1 << 20], "x").unwrap_err().contains("elements"));
        assert_eq!(checked_shape(&[2, 3], "x").unwrap(), vec![2, 3]);
    }
}
