//! `QuantizeLinear` / `DequantizeLinear` on one scalar path in which every element looks up
//! its own parameter pair: *blocked* parameters (ONNX opset 21 `block_size`) and packed 4-bit
//! tensors (`i4`, `u4`, per tensor or per axis), with compile-time parameters or with run-time
//! ones (`QuantizeLinearDynamicParams` / `DequantizeLinearDynamicParams` on 4-bit tensors).
//! Bit-exact with the interpreter (`backend-interp/src/ops/quant.rs`:
//! [`int8xc_ir::quantize_f32`] and [`int8xc_ir::dequantize`] with the pair
//! [`int8xc_ir::QuantParams::param_index_map`] gives).
//!
//! Parameter index of flat element `e` (with `D = shape[axis]`, `inner = Π shape[axis+1..]`):
//! per tensor `0`; per axis `(e / inner) mod D`; blocked with block `b` (`nb = ceil(D / b)`
//! blocks) `(outer · nb + ia / b) · inner + rest` where `outer = e / (D · inner)`,
//! `ia = (e / inner) mod D`, `rest = e mod inner`.
//!
//! Compile-time parameters are written into the call's scratch buffer at kernel entry
//! ([`emit_table`]: 16 bytes per pair for quantize — `scale`, `lo - zp`, `hi - zp`,
//! `MAGIC_BITS - zp` as [`RoundSat`] uses them — and 8 for dequantize — `scale`, `zp`), so at
//! most [`MAX_PAIRS`] pairs are supported. Run-time parameters are read from the scale (`f32`)
//! and zero-point (the quantized dtype, 4-bit packed) tensors. Quantize rounds exactly as the
//! vector path of [`quantize`](super::quantize) (exact for these ranges); dequantize is
//! `f32(q - zp) * scale` with the difference in `i64`.
//!
//! Work item: a chunk of at most [`CHUNK`] elements (f32 or 8/16/32-bit output), or of whole
//! bytes of a packed 4-bit output ([`int4::emit_packed_map`]).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use int8xc_ir::{quant_range, DType, QuantParams};

use super::quantize::{emit_table, int_storage, load_int, quantize_table, store_int, RoundSat, MAGIC_BITS};
use super::{i64_of, int4, KernelCx, KernelInfo};
use crate::JitError;

/// Most elements one work item handles (non-4-bit outputs).
const CHUNK: usize = 16 * 1024;

/// Most compile-time parameter pairs the table may hold (16 bytes each, written at every
/// kernel call).
pub(crate) const MAX_PAIRS: usize = 4096;

/// Static description of how an element finds its parameter pair (see the module docs).
#[derive(Clone, Copy)]
struct ParamIndex {
    /// `shape[axis]`; `None` per tensor.
    axis_len: Option<usize>,
    /// The block length along the axis, for blocked parameters.
    block: Option<usize>,
    /// `Π shape[axis+1..]`.
    inner: usize,
}

impl ParamIndex {
    /// Per tensor (`axis` `None`), per axis or blocked over `shape` (`axis < rank` checked).
    fn new(cx: &KernelCx, shape: &[usize], axis: Option<usize>, block: Option<usize>) -> Result<Self, JitError> {
        match axis {
            None => Ok(ParamIndex { axis_len: None, block: None, inner: 1 }),
            Some(a) if a < shape.len() => {
                Ok(ParamIndex { axis_len: Some(shape[a]), block, inner: shape[a + 1..].iter().product() })
            }
            Some(a) => Err(JitError::invalid(cx.node, format!("axis {a} out of range for shape {shape:?}"))),
        }
    }

    /// Emits the parameter index of the pointer-sized element index `e`.
    fn emit(&self, cx: &mut KernelCx, e: Value) -> Value {
        let Some(d) = self.axis_len else { return cx.iconst(0) };
        let (inner, d) = (i64_of(self.inner.max(1)), i64_of(d.max(1)));
        let inner_v = cx.iconst(inner);
        let row = cx.b.ins().udiv(e, inner_v);
        let d_v = cx.iconst(d);
        let ia = cx.b.ins().urem(row, d_v);
        let Some(b) = self.block else { return ia };
        let b = i64_of(b.max(1));
        let nb = (d + b - 1) / b;
        let outer = cx.b.ins().udiv(row, d_v);
        let rest = cx.b.ins().urem(e, inner_v);
        let blk = cx.b.ins().udiv_imm_u(ia, b);
        let p = cx.b.ins().imul_imm_s(outer, nb);
        let p = cx.b.ins().iadd(p, blk);
        let p = cx.b.ins().imul_imm_s(p, inner);
        cx.b.ins().iadd(p, rest)
    }
}

/// The index of compile-time parameters `q` over `shape`, after checking their count and the
/// table limit.
fn static_index(cx: &KernelCx, q: &QuantParams, shape: &[usize]) -> Result<ParamIndex, JitError> {
    let want = q.expected_len(shape).map_err(|e| JitError::invalid(cx.node, e))?;
    if q.scale.len() != want || q.zero_point.len() != want {
        return Err(JitError::invalid(cx.node, format!("quantization parameters {q:?} do not fit shape {shape:?}")));
    }
    if want > MAX_PAIRS {
        return Err(JitError::unsupported(
            cx.node,
            format!("{want} quantization parameter pairs (JIT: at most {MAX_PAIRS} for blocked or 4-bit tensors)"),
        ));
    }
    ParamIndex::new(cx, shape, q.axis, q.block_size)
}

/// Where the parameter pairs are.
#[derive(Clone, Copy)]
enum Params {
    /// The compile-time table in scratch (entry layout: see the module docs).
    Table(Value),
    /// Run-time tensors: `f32` scales and zero points of dtype `zp`.
    Tensors { scales: Value, zps: Value, zp: DType },
}

/// Loads integer element `k` of `dt` (8 to 32 bits, or packed 4-bit) at `base` as `i32`.
fn load_any_int(cx: &mut KernelCx, base: Value, k: Value, dt: DType) -> Value {
    match int_storage(dt) {
        Some((ty, signed)) => {
            let a = cx.elem_addr(base, k, i64::from(ty.bytes()));
            load_int(cx, ty, signed, a)
        }
        None => int4::load_int4(cx, base, k, dt == DType::I4),
    }
}

/// `for e in chunk(item)` over `numel` elements in chunks of [`CHUNK`].
fn for_elements(cx: &mut KernelCx, numel: usize, mut body: impl FnMut(&mut KernelCx, Value)) -> KernelInfo {
    if numel == 0 {
        return KernelInfo::default();
    }
    cx.for_items(|cx, item| {
        let start = cx.b.ins().imul_imm_s(item, i64_of(CHUNK));
        let end_full = cx.b.ins().iadd_imm_s(start, i64_of(CHUNK));
        let total = cx.iconst(i64_of(numel));
        let lt = cx.b.ins().icmp(IntCC::SignedLessThan, end_full, total);
        let end = cx.b.ins().select(lt, end_full, total);
        cx.for_range(start, end, 1, &mut body);
    });
    KernelInfo { work_items: numel.div_ceil(CHUNK), scratch_bytes: 0 }
}

/// The range of a dtype this path quantizes to (`u8`, `i8`, `i16`, `u4`, `i4`: the rounding
/// needs `|hi - lo| <= 2^22`).
fn quantize_range(cx: &KernelCx, dtype: DType) -> Result<(i32, i32), JitError> {
    match quant_range(dtype) {
        Some(r) if dtype != DType::I32 => Ok(r),
        _ => Err(JitError::unsupported(cx.node, format!("quantizing to {dtype} (JIT: u8, i8, i16, u4, i4)"))),
    }
}

/// Emits the quantize loop of `numel` f32 inputs at input 0 into output 0 of `dtype` (whose
/// range is `range`).
fn emit_quantize(
    cx: &mut KernelCx,
    (dtype, range): (DType, (i32, i32)),
    numel: usize,
    index: ParamIndex,
    params: Params,
) -> KernelInfo {
    let (src, dst) = (cx.input(0), cx.output(0));
    let mut value = move |cx: &mut KernelCx, e: Value| -> Value {
        let p = index.emit(cx, e);
        let (scale, lo, hi, off) = match params {
            Params::Table(table) => {
                let t = cx.elem_addr(table, p, 16);
                (
                    cx.load(types::F32, t, 0),
                    cx.load(types::F32, t, 4),
                    cx.load(types::F32, t, 8),
                    cx.load(types::I32, t, 12),
                )
            }
            Params::Tensors { scales, zps, zp } => {
                let a = cx.elem_addr(scales, p, 4);
                let scale = cx.load(types::F32, a, 0);
                let zp = load_any_int(cx, zps, p, zp);
                let b = &mut cx.b;
                let lo = b.ins().iconst(types::I32, i64::from(range.0));
                let hi = b.ins().iconst(types::I32, i64::from(range.1));
                let magic = b.ins().iconst(types::I32, i64::from(MAGIC_BITS));
                let (lo, hi, off) = (b.ins().isub(lo, zp), b.ins().isub(hi, zp), b.ins().isub(magic, zp));
                (scale, b.ins().fcvt_from_sint(types::F32, lo), b.ins().fcvt_from_sint(types::F32, hi), off)
            }
        };
        let a = cx.elem_addr(src, e, 4);
        let x = cx.load(types::F32, a, 0);
        let v = cx.b.ins().fdiv(x, scale);
        RoundSat::new(cx, types::F32, lo, hi, off).apply(cx, v)
    };
    match int_storage(dtype) {
        Some((oty, _)) => for_elements(cx, numel, |cx, e| {
            let q = value(cx, e);
            let o = cx.elem_addr(dst, e, i64::from(oty.bytes()));
            store_int(cx, q, oty, o);
        }),
        None => int4::emit_packed_map(cx, numel, dst, &mut value),
    }
}

/// Emits the dequantize loop of `numel` elements of `dt` at input 0 into f32 output 0.
fn emit_dequantize(cx: &mut KernelCx, dt: DType, numel: usize, index: ParamIndex, params: Params) -> KernelInfo {
    let (src, dst) = (cx.input(0), cx.output(0));
    for_elements(cx, numel, |cx, e| {
        let p = index.emit(cx, e);
        let (scale, zp) = match params {
            Params::Table(table) => {
                let t = cx.elem_addr(table, p, 8);
                (cx.load(types::F32, t, 0), cx.load(types::I32, t, 4))
            }
            Params::Tensors { scales, zps, zp } => {
                let a = cx.elem_addr(scales, p, 4);
                (cx.load(types::F32, a, 0), load_any_int(cx, zps, p, zp))
            }
        };
        let v = load_any_int(cx, src, e, dt);
        let v = cx.b.ins().sextend(types::I64, v);
        let z = cx.b.ins().sextend(types::I64, zp);
        let d = cx.b.ins().isub(v, z);
        let f = cx.b.ins().fcvt_from_sint(types::F32, d);
        let y = cx.b.ins().fmul(f, scale);
        let o = cx.elem_addr(dst, e, 4);
        cx.store(y, o, 0);
    })
}

/// Whether `dt` is a dequantizable integer dtype of this path.
fn dequantizable(dt: DType) -> bool {
    matches!(dt, DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::U4 | DType::I4)
}

/// `QuantizeLinear` to `dtype` (`u8`, `i8`, `i16`, `u4`, `i4`) from f32 with compile-time
/// parameters of any granularity (the caller has checked the types); see the module docs.
pub(crate) fn lower_quantize(cx: &mut KernelCx, dtype: DType, q: &QuantParams) -> Result<KernelInfo, JitError> {
    let tx = cx.in_ty(0)?;
    let index = static_index(cx, q, &tx.shape)?;
    let range = quantize_range(cx, dtype)?;
    let table = quantize_table(q, range);
    let scratch = cx.scratch();
    emit_table(cx, scratch, &table);
    let info = emit_quantize(cx, (dtype, range), tx.numel(), index, Params::Table(scratch));
    Ok(KernelInfo { scratch_bytes: table.len().next_multiple_of(16), ..info })
}

/// `DequantizeLinear` of `u8`, `i8`, `i16`, `i32`, `u4` or `i4` input with compile-time
/// parameters `q` (from the input's type) of any granularity to f32; see the module docs.
pub(crate) fn lower_dequantize(cx: &mut KernelCx, q: &QuantParams) -> Result<KernelInfo, JitError> {
    let tx = cx.in_ty(0)?;
    if !dequantizable(tx.dtype) {
        return Err(JitError::unsupported(
            cx.node,
            format!("dequantizing {} (JIT: u8, i8, i16, i32, u4, i4)", tx.dtype),
        ));
    }
    let index = static_index(cx, q, &tx.shape)?;
    let mut table = Vec::with_capacity(8 * q.scale.len());
    for (&s, &z) in q.scale.iter().zip(&q.zero_point) {
        table.extend_from_slice(&s.to_le_bytes());
        table.extend_from_slice(&z.to_le_bytes());
    }
    let scratch = cx.scratch();
    emit_table(cx, scratch, &table);
    let info = emit_dequantize(cx, tx.dtype, tx.numel(), index, Params::Table(scratch));
    Ok(KernelInfo { scratch_bytes: table.len().next_multiple_of(16), ..info })
}

/// Whether a `*DynamicParams` node quantizes to or from a packed 4-bit dtype (its zero
/// point's dtype, input 2): [`lower_quantize_dynamic`] / [`lower_dequantize_dynamic`] lower
/// those.
pub(crate) fn has_int4_zero_point(cx: &KernelCx) -> bool {
    cx.in_ty(2).is_ok_and(|t| matches!(t.dtype, DType::I4 | DType::U4))
}

/// Checks the run-time `scale` (`f32`, one per channel) and zero point (one per channel)
/// inputs 1 and 2 against `x` and `axis`; returns the parameter index.
fn dynamic_index(cx: &KernelCx, axis: Option<usize>) -> Result<ParamIndex, JitError> {
    let (tx, ts, tz) = (cx.in_ty(0)?, cx.in_ty(1)?, cx.in_ty(2)?);
    let index = ParamIndex::new(cx, &tx.shape, axis, None)?;
    let channels = index.axis_len.unwrap_or(1);
    if ts.dtype != DType::F32 || ts.numel() != channels || tz.numel() != channels {
        return Err(JitError::invalid(
            cx.node,
            format!("scale {ts} / zero point {tz} do not fit {tx} (axis {axis:?})"),
        ));
    }
    Ok(index)
}

/// `QuantizeLinearDynamicParams { axis }` (ONNX `QuantizeLinear` with run-time scale and
/// zero point, per tensor or per axis) with any output dtype of this path, in practice the
/// packed 4-bit ones: `f32` `x`, output of the zero point's dtype; see the module docs.
pub(crate) fn lower_quantize_dynamic(cx: &mut KernelCx, axis: Option<usize>) -> Result<KernelInfo, JitError> {
    cx.expect_arity(3..=3, 1)?;
    let (tx, tz, ty) = (cx.in_ty(0)?, cx.in_ty(2)?, cx.out_ty(0)?);
    if tx.dtype != DType::F32 {
        return Err(JitError::unsupported(cx.node, format!("quantizing {} input (JIT: f32)", tx.dtype)));
    }
    if ty.dtype != tz.dtype || ty.shape != tx.shape {
        return Err(JitError::invalid(cx.node, format!("output {ty} does not match {}{:?}", tz.dtype, tx.shape)));
    }
    let range = quantize_range(cx, ty.dtype)?;
    let index = dynamic_index(cx, axis)?;
    let params = Params::Tensors { scales: cx.input(1), zps: cx.input(2), zp: tz.dtype };
    Ok(emit_quantize(cx, (ty.dtype, range), tx.numel(), index, params))
}

/// `DequantizeLinearDynamicParams { axis }` (ONNX `DequantizeLinear` with run-time scale and
/// zero point, per tensor or per axis) of any input dtype of this path, in practice the packed
/// 4-bit ones: zero point of `x`'s dtype, `f32` output; see the module docs.
pub(crate) fn lower_dequantize_dynamic(cx: &mut KernelCx, axis: Option<usize>) -> Result<KernelInfo, JitError> {
    cx.expect_arity(3..=3, 1)?;
    let (tx, tz, ty) = (cx.in_ty(0)?, cx.in_ty(2)?, cx.out_ty(0)?);
    if !dequantizable(tx.dtype) {
        return Err(JitError::unsupported(
            cx.node,
            format!("dequantizing {} (JIT: u8, i8, i16, i32, u4, i4)", tx.dtype),
        ));
    }
    if tz.dtype != tx.dtype || ty.dtype != DType::F32 || ty.shape != tx.shape {
        return Err(JitError::invalid(cx.node, format!("types {tx}, zero point {tz} -> {ty}")));
    }
    let index = dynamic_index(cx, axis)?;
    let params = Params::Tensors { scales: cx.input(1), zps: cx.input(2), zp: tz.dtype };
    Ok(emit_dequantize(cx, tx.dtype, tx.numel(), index, params))
}
