//! One module per op family, plus the helpers they share: input checks, row-major index
//! iteration, numpy broadcasting, dtype-generic element selection and dtype conversions.
//!
//! Every op function takes its inputs (already checked against the node's value types when
//! run from a graph, but re-checked here, since `eval_op` may be called directly) and returns
//! the output tensors or an [`OpErrorKind`]. Index arithmetic only runs after the shapes it
//! depends on have been checked, so no user data reaches an index that can panic.

pub(crate) mod batchnorm;
pub(crate) mod conv;
pub(crate) mod elementwise;
pub(crate) mod index;
pub(crate) mod lstm;
pub(crate) mod math;
pub(crate) mod matmul;
pub(crate) mod movement;
pub(crate) mod pad;
pub(crate) mod pool;
pub(crate) mod qgemm;
pub(crate) mod qlinear;
pub(crate) mod qpool;
pub(crate) mod quant;
pub(crate) mod reduce;
pub(crate) mod reduce_kind;
pub(crate) mod resize;
pub(crate) mod select;

use std::borrow::Cow;

use half::f16;
use int8xc_ir::{DType, Data, TensorData, MAX_TENSOR_ELEMENTS};

use crate::error::OpErrorKind;

/// Result of one op's evaluation.
pub(crate) type OpResult<T> = Result<T, OpErrorKind>;

/// Checks the input count is in `min..=max`.
pub(crate) fn check_arity(inputs: &[&TensorData], min: usize, max: usize) -> OpResult<()> {
    let n = inputs.len();
    if n < min || n > max {
        let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
        return Err(OpErrorKind::invalid(format!("expects {want} inputs, got {n}")));
    }
    Ok(())
}

/// Checks `t` has rank `rank`.
pub(crate) fn check_rank(what: &str, t: &TensorData, rank: usize) -> OpResult<()> {
    if t.shape().len() == rank {
        Ok(())
    } else {
        Err(OpErrorKind::invalid(format!("{what} must have rank {rank}, got shape {:?}", t.shape())))
    }
}

/// Product of `shape`, or an error when it overflows `usize`.
pub(crate) fn checked_numel(shape: &[usize]) -> OpResult<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| OpErrorKind::invalid(format!("shape {shape:?} has too many elements")))
}

/// Checks that an output of `shape` has at most [`MAX_TENSOR_ELEMENTS`] elements (the
/// IR's limit), before anything is allocated for it.
pub(crate) fn check_output_size(shape: &[usize]) -> OpResult<usize> {
    match shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) {
        Some(n) if n <= MAX_TENSOR_ELEMENTS => Ok(n),
        _ => Err(OpErrorKind::invalid(format!("output shape {shape:?} has more than {MAX_TENSOR_ELEMENTS} elements"))),
    }
}

/// Builds a tensor; a storage/shape mismatch (an interpreter bug) becomes an error.
pub(crate) fn tensor(shape: Vec<usize>, data: Data) -> OpResult<TensorData> {
    TensorData::new(shape, data).map_err(|e| OpErrorKind::invalid(e.to_string()))
}

/// Calls `f` with every multi-index of `shape` in row-major order and collects the results.
/// A shape with a zero dimension yields nothing; a scalar (`[]`) yields one empty index.
pub(crate) fn map_indices<T>(shape: &[usize], mut f: impl FnMut(&[usize]) -> T) -> Vec<T> {
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return out;
    }
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..total {
        out.push(f(&idx));
        // odometer increment, last axis fastest
        for ax in (0..shape.len()).rev() {
            idx[ax] += 1;
            if idx[ax] < shape[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
    out
}

/// Numpy multidirectional broadcast of two shapes (ONNX "Broadcasting in ONNX").
pub(crate) fn broadcast_shapes(a: &[usize], b: &[usize]) -> OpResult<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i < rank - s.len() { 1 } else { s[i - (rank - s.len())] };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(OpErrorKind::invalid(format!(
                "shapes {a:?} and {b:?} do not broadcast (output dim {i}: {x} vs {y})"
            ))),
        })
        .collect()
}

/// For an operand of shape `src` broadcast to `out` (checked by [`broadcast_shapes`] or a
/// unidirectional check), the flat source index of every output element, row-major.
pub(crate) fn broadcast_index_map(src: &[usize], out: &[usize]) -> Vec<usize> {
    let offset = out.len() - src.len();
    let src_strides = int8xc_ir::strides(src);
    map_indices(out, |idx| {
        src.iter().enumerate().map(|(i, &d)| if d == 1 { 0 } else { idx[i + offset] * src_strides[i] }).sum()
    })
}

/// Checks that `src` broadcasts to exactly `out` (unidirectional broadcasting, as for Gemm's
/// `C`).
pub(crate) fn check_unidirectional(what: &str, src: &[usize], out: &[usize]) -> OpResult<()> {
    let ok = src.len() <= out.len() && src.iter().rev().zip(out.iter().rev()).all(|(&s, &o)| s == o || s == 1);
    if ok {
        Ok(())
    } else {
        Err(OpErrorKind::invalid(format!("{what} of shape {src:?} does not broadcast to {out:?}")))
    }
}

/// The raw 4-bit values (0..=15) of a packed buffer holding `numel` elements.
fn nibbles(bytes: &[u8], numel: usize) -> Vec<u8> {
    (0..numel).map(|i| bytes.get(i / 2).map_or(0, |b| if i % 2 == 0 { b & 0x0f } else { b >> 4 })).collect()
}

/// Packs raw 4-bit values two per byte, low nibble first (ONNX opset 21).
fn pack_nibbles(vals: &[u8]) -> Vec<u8> {
    vals.chunks(2).map(|c| (c[0] & 0x0f) | (c.get(1).copied().unwrap_or(0) << 4)).collect()
}

/// Element `i` of `v`, or an internal error.
fn pick<T: Copy>(v: &[T], idx: &[usize]) -> OpResult<Vec<T>> {
    idx.iter()
        .map(|&i| v.get(i).copied().ok_or_else(|| OpErrorKind::invalid(format!("element {i} out of range"))))
        .collect()
}

/// Selects elements of `t` by flat index (any dtype; 4-bit types are unpacked and repacked):
/// output element `k` is input element `idx[k]`. This is what every data-movement op reduces
/// to, so they all support every dtype.
pub(crate) fn take(t: &TensorData, idx: &[usize]) -> OpResult<Data> {
    Ok(match t.data() {
        Data::F32(v) => Data::F32(pick(v, idx)?),
        Data::F16(v) => Data::F16(pick(v, idx)?),
        Data::I64(v) => Data::I64(pick(v, idx)?),
        Data::I32(v) => Data::I32(pick(v, idx)?),
        Data::I16(v) => Data::I16(pick(v, idx)?),
        Data::I8(v) => Data::I8(pick(v, idx)?),
        Data::U8(v) => Data::U8(pick(v, idx)?),
        Data::Bool(v) => Data::Bool(pick(v, idx)?),
        Data::I4(v) => Data::I4(pack_nibbles(&pick(&nibbles(v, t.numel()), idx)?)),
        Data::U4(v) => Data::U4(pack_nibbles(&pick(&nibbles(v, t.numel()), idx)?)),
    })
}

/// The flat concatenation of the elements of `parts` (all of one dtype) as a rank-1 tensor.
pub(crate) fn concat_flat(parts: &[&TensorData]) -> OpResult<TensorData> {
    fn cat<T: Copy>(vs: &[&[T]]) -> Vec<T> {
        vs.iter().flat_map(|v| v.iter().copied()).collect()
    }
    let first = parts.first().ok_or_else(|| OpErrorKind::invalid("no inputs"))?;
    let total: usize = parts.iter().map(|p| p.numel()).sum();
    macro_rules! join {
        ($variant:ident) => {{
            let mut vs = Vec::with_capacity(parts.len());
            for p in parts {
                match p.data() {
                    Data::$variant(v) => vs.push(v.as_slice()),
                    _ => return Err(OpErrorKind::invalid("inputs have different dtypes")),
                }
            }
            Data::$variant(cat(&vs))
        }};
    }
    macro_rules! join4 {
        ($variant:ident) => {{
            let mut vs = Vec::with_capacity(parts.len());
            for p in parts {
                match p.data() {
                    Data::$variant(v) => vs.push(nibbles(v, p.numel())),
                    _ => return Err(OpErrorKind::invalid("inputs have different dtypes")),
                }
            }
            let refs: Vec<&[u8]> = vs.iter().map(|v| v.as_slice()).collect();
            Data::$variant(pack_nibbles(&cat(&refs)))
        }};
    }
    let data = match first.data() {
        Data::F32(_) => join!(F32),
        Data::F16(_) => join!(F16),
        Data::I64(_) => join!(I64),
        Data::I32(_) => join!(I32),
        Data::I16(_) => join!(I16),
        Data::I8(_) => join!(I8),
        Data::U8(_) => join!(U8),
        Data::Bool(_) => join!(Bool),
        Data::I4(_) => join4!(I4),
        Data::U4(_) => join4!(U4),
    };
    tensor(vec![total], data)
}

/// The dtype shared by the float operands `ts` (`f32` or `f16`).
///
/// Float ops compute in `f32`; `f16` operands are widened exactly and the result is rounded
/// to `f16` once at the end (round to nearest even).
pub(crate) fn float_dtype(ts: &[&TensorData]) -> OpResult<DType> {
    let dtype = ts.first().map_or(DType::F32, |t| t.dtype());
    if !dtype.is_float() {
        return Err(OpErrorKind::unsupported(format!("dtype {dtype} (this op takes f32 or f16)")));
    }
    for (i, t) in ts.iter().enumerate() {
        if t.dtype() != dtype {
            return Err(OpErrorKind::invalid(format!("input {i} has dtype {}, expected {dtype}", t.dtype())));
        }
    }
    Ok(dtype)
}

/// The elements of a float tensor as `f32` (borrowed for `f32`, widened for `f16`).
pub(crate) fn f32_elems(t: &TensorData) -> OpResult<Cow<'_, [f32]>> {
    match t.data() {
        Data::F32(v) => Ok(Cow::Borrowed(v)),
        Data::F16(v) => Ok(Cow::Owned(v.iter().map(|x| x.to_f32()).collect())),
        _ => Err(OpErrorKind::unsupported(format!("dtype {} (this op takes f32 or f16)", t.dtype()))),
    }
}

/// An `f32` result stored as `dtype` (`f32`, or `f16` rounded to nearest even).
pub(crate) fn float_tensor(dtype: DType, shape: Vec<usize>, v: Vec<f32>) -> OpResult<TensorData> {
    let data = match dtype {
        DType::F16 => Data::F16(v.into_iter().map(f16::from_f32).collect()),
        _ => Data::F32(v),
    };
    tensor(shape, data)
}

/// Integer values stored as integer `dtype`, wrapping (two's complement truncation, as C
/// casts and numpy `astype` do); 4-bit types keep the low 4 bits and are packed; `bool` is
/// `x != 0`; float dtypes convert with rounding to nearest.
pub(crate) fn int_data(dtype: DType, v: &[i64]) -> Data {
    match dtype {
        DType::I64 => Data::I64(v.to_vec()),
        DType::I32 => Data::I32(v.iter().map(|&x| x as i32).collect()),
        DType::I16 => Data::I16(v.iter().map(|&x| x as i16).collect()),
        DType::I8 => Data::I8(v.iter().map(|&x| x as i8).collect()),
        DType::U8 => Data::U8(v.iter().map(|&x| x as u8).collect()),
        DType::I4 | DType::U4 => {
            let raw: Vec<u8> = v.iter().map(|&x| (x & 0x0f) as u8).collect();
            if dtype == DType::I4 {
                Data::I4(pack_nibbles(&raw))
            } else {
                Data::U4(pack_nibbles(&raw))
            }
        }
        DType::Bool => Data::Bool(v.iter().map(|&x| x != 0).collect()),
        DType::F32 => Data::F32(v.iter().map(|&x| x as f32).collect()),
        DType::F16 => Data::F16(v.iter().map(|&x| f16::from_f64(x as f64)).collect()),
    }
}

/// The elements of an integer or bool tensor as `i64` (exact).
pub(crate) fn i64_elems(t: &TensorData) -> OpResult<Vec<i64>> {
    t.to_i64_vec().ok_or_else(|| OpErrorKind::invalid(format!("expected an integer tensor, got dtype {}", t.dtype())))
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers for the op tests.
    use int8xc_ir::{DType, Data, Op, TensorData, TensorType};

    use crate::{InterpError, Interpreter};

    /// An f32 tensor.
    pub fn f(shape: &[usize], v: &[f32]) -> TensorData {
        TensorData::from_f32(shape.to_vec(), v.to_vec()).unwrap()
    }

    /// An i64 tensor.
    pub fn i(shape: &[usize], v: &[i64]) -> TensorData {
        TensorData::from_i64(shape.to_vec(), v.to_vec()).unwrap()
    }

    /// A tensor of any dtype.
    pub fn t(shape: &[usize], d: Data) -> TensorData {
        TensorData::new(shape.to_vec(), d).unwrap()
    }

    /// Runs `op` without checking output types.
    pub fn run(op: &Op, inputs: &[&TensorData]) -> Result<TensorData, InterpError> {
        Interpreter.eval_op(op, inputs, &[]).map(|mut v| v.remove(0))
    }

    /// Runs `op`, expecting success.
    pub fn run_ok(op: &Op, inputs: &[&TensorData]) -> TensorData {
        match run(op, inputs) {
            Ok(t) => t,
            Err(e) => panic!("{} failed: {e}", op.name()),
        }
    }

    /// Runs `op`, expecting failure; returns the message.
    pub fn run_err(op: &Op, inputs: &[&TensorData]) -> String {
        match run(op, inputs) {
            Ok(t) => panic!("{} unexpectedly gave {} {:?}", op.name(), t.dtype(), t.shape()),
            Err(e) => e.to_string(),
        }
    }

    /// Asserts `t` is f32 with `shape` and elements within `tol` of `want`.
    #[track_caller]
    pub fn assert_close(t: &TensorData, shape: &[usize], want: &[f32], tol: f32) {
        assert_eq!(t.shape(), shape, "shape");
        let got = t.as_f32().expect("f32 output");
        assert_eq!(got.len(), want.len(), "length");
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            let ok = (g - w).abs() <= tol * (1.0 + w.abs()) || (g.is_nan() && w.is_nan()) || g == w;
            assert!(ok, "element {k}: got {g}, want {w}\n got: {got:?}\nwant: {want:?}");
        }
    }

    /// An f32 type.
    pub fn f32t(shape: &[usize]) -> TensorType {
        TensorType::new(DType::F32, shape.to_vec())
    }
}
