//! Reading and writing NumPy `.npy` files (format version 1–3, via the `npyz` crate).
//!
//! Supported dtypes: `<f4`, `<f2`, `<i8`, `<i4`, `<i2`, `|i1`, `|u1`, `|b1` (little-endian,
//! C order). Fortran-order files are rejected with a clear error.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use int8xc_ir::{DType, Data, TensorData};

use crate::RuntimeError;

fn err(path: &Path, message: impl ToString) -> RuntimeError {
    RuntimeError::Npy { path: path.display().to_string(), message: message.to_string() }
}

/// Reads a `.npy` file into a tensor.
///
/// Errors: [`RuntimeError::Npy`] naming the file when it is missing, is not a `.npy` file, is
/// Fortran-ordered, has an unsupported dtype, or is shorter than its header says.
pub fn read(path: &Path) -> Result<TensorData, RuntimeError> {
    let bytes = std::fs::read(path).map_err(|e| err(path, e))?;
    read_bytes(&bytes).map_err(|m| err(path, m))
}

/// Parses `.npy` bytes; the error is a message without the path.
pub fn read_bytes(bytes: &[u8]) -> Result<TensorData, String> {
    let npy = npyz::NpyFile::new(bytes).map_err(|e| format!("not a valid .npy file: {e}"))?;
    if npy.order() == npyz::Order::Fortran {
        return Err("Fortran-order arrays are not supported; save with np.ascontiguousarray".into());
    }
    let shape: Vec<usize> = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("dimension {d} too large")))
        .collect::<Result<_, _>>()?;
    let type_str = npy.dtype().descr();
    let descr = type_str.trim_matches('\'');
    let read_err = |e: std::io::Error| format!("data: {e}");
    let data = match descr {
        "<f4" => Data::F32(npy.into_vec::<f32>().map_err(read_err)?),
        "<f2" => Data::F16(npy.into_vec::<u16>().map_err(read_err)?.into_iter().map(half::f16::from_bits).collect()),
        "<i8" => Data::I64(npy.into_vec::<i64>().map_err(read_err)?),
        "<i4" => Data::I32(npy.into_vec::<i32>().map_err(read_err)?),
        "<i2" => Data::I16(npy.into_vec::<i16>().map_err(read_err)?),
        "|i1" => Data::I8(npy.into_vec::<i8>().map_err(read_err)?),
        "|u1" => Data::U8(npy.into_vec::<u8>().map_err(read_err)?),
        "|b1" => Data::Bool(npy.into_vec::<bool>().map_err(read_err)?),
        other => return Err(format!("unsupported dtype {other} (supported: <f4 <f2 <i8 <i4 <i2 |i1 |u1 |b1)")),
    };
    TensorData::new(shape, data).map_err(|e| e.to_string())
}

/// Writes a tensor as a `.npy` file (version 1, C order, little-endian).
///
/// Errors: [`RuntimeError::Npy`] when the file cannot be written or the dtype has no `.npy`
/// equivalent (`i4`/`u4`).
pub fn write(path: &Path, tensor: &TensorData) -> Result<(), RuntimeError> {
    let file = File::create(path).map_err(|e| err(path, e))?;
    let shape: Vec<u64> = tensor.shape().iter().map(|&d| d as u64).collect();
    let w = BufWriter::new(file);
    let io = |e: std::io::Error| err(path, e);
    fn put<T: npyz::AutoSerialize + Copy>(
        w: BufWriter<File>,
        shape: &[u64],
        v: impl IntoIterator<Item = T>,
    ) -> std::io::Result<()> {
        use npyz::WriterBuilder;
        let mut wr = npyz::WriteOptions::new().default_dtype().shape(shape).writer(w).begin_nd()?;
        wr.extend(v)?;
        wr.finish()
    }
    match tensor.data() {
        Data::F32(v) => put(w, &shape, v.iter().copied()).map_err(io),
        Data::F16(v) => {
            use npyz::WriterBuilder;
            let dtype = npyz::DType::Plain("<f2".parse().map_err(|e| err(path, e))?);
            let mut wr =
                npyz::WriteOptions::<u16>::new().dtype(dtype).shape(&shape).writer(w).begin_nd().map_err(io)?;
            wr.extend(v.iter().map(|x| x.to_bits())).map_err(io)?;
            wr.finish().map_err(io)
        }
        Data::I64(v) => put(w, &shape, v.iter().copied()).map_err(io),
        Data::I32(v) => put(w, &shape, v.iter().copied()).map_err(io),
        Data::I16(v) => put(w, &shape, v.iter().copied()).map_err(io),
        Data::I8(v) => put(w, &shape, v.iter().copied()).map_err(io),
        Data::U8(v) => put(w, &shape, v.iter().copied()).map_err(io),
        Data::Bool(v) => put(w, &shape, v.iter().copied()).map_err(io),
        Data::I4(_) | Data::U4(_) => {
            Err(err(path, format!("dtype {} has no .npy equivalent; cast to i8/u8 first", tensor.dtype())))
        }
    }
}

/// The dtype a `.npy` descr string maps to, if supported.
pub fn dtype_of_descr(descr: &str) -> Option<DType> {
    Some(match descr {
        "<f4" => DType::F32,
        "<f2" => DType::F16,
        "<i8" => DType::I64,
        "<i4" => DType::I32,
        "<i2" => DType::I16,
        "|i1" => DType::I8,
        "|u1" => DType::U8,
        "|b1" => DType::Bool,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(t: TensorData) {
        let dir = std::env::temp_dir().join(format!("int8xc-npy-{}-{:?}", std::process::id(), t.dtype()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.npy");
        write(&p, &t).unwrap();
        assert_eq!(read(&p).unwrap(), t);
    }

    #[test]
    fn round_trips_each_dtype() {
        round_trip(TensorData::from_f32([2, 3], vec![1.0, -2.5, 3.0, 0.0, f32::MAX, -0.0]).unwrap());
        round_trip(TensorData::from_i64([3], vec![1, -2, i64::MAX]).unwrap());
        round_trip(TensorData::new([2, 2], Data::U8(vec![0, 1, 254, 255])).unwrap());
        round_trip(TensorData::new([2], Data::I8(vec![-128, 127])).unwrap());
        round_trip(TensorData::new([2], Data::Bool(vec![true, false])).unwrap());
        round_trip(TensorData::new([], Data::I32(vec![7])).unwrap());
    }

    #[test]
    fn rejects_garbage_and_missing_files() {
        assert!(read_bytes(b"hello").unwrap_err().contains("not a valid .npy"));
        let e = read(Path::new("/nonexistent/x.npy")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/x.npy"), "{e}");
    }
}
