//! `QuantizeLinearDynamicParams` and `DequantizeLinearDynamicParams`: ONNX `QuantizeLinear` /
//! `DequantizeLinear` whose scale and zero point are run-time tensors (inputs 1 and 2), per
//! tensor or per axis. Bit-exact with the interpreter, which applies the static ops'
//! formulas ([`int8xc_ir::quantize_f32`], [`int8xc_ir::dequantize`]) with those parameters.
//!
//! # Layout of the work
//!
//! As the static kernels (`quantize.rs`): the tensor is `runs × inner`; per tensor one run of
//! all elements, per axis `a` `outer · D` runs (`D = shape[a]`) of `inner = Π shape[a+1..]`
//! elements, run `r` using parameter pair `r mod D`. Work item: one chunk of at most
//! [`CHUNK`] elements of one run (`item = run · chunks + chunk`). Each item loads its pair
//! (scale `f32`, zero point widened to `i32`) and, for quantize, derives the
//! round-and-saturate bounds from it ([`RoundSat::new`] with `lo - zp`, `hi - zp`, exact in
//! `f32` for the 8- and 16-bit ranges); the inner loops are the static kernels'
//! ([`emit_quantize_run`]), so the arithmetic is the same instruction for instruction.
//!
//! Packed 4-bit tensors (`u4`/`i4` output of quantize, input of dequantize, and their zero
//! points) go element by element: quantize writes whole output bytes
//! ([`emit_packed_map`], its work item: a chunk of output bytes), each element finding its
//! pair from its index (`(e / inner) mod D`); dequantize reads nibbles with [`load_int4`].
//!
//! Any scale is taken as it is (zero, negative, NaN): the division then behaves as in
//! `quantize_f32`.

use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::{quant_range, DType, TensorType};

use super::int4::{emit_packed_map, load_int4};
use super::quantize::{
    emit_dequantize_run, emit_quantize_run, for_run_chunks, int_storage, load_int, RoundSat, MAGIC_BITS,
};
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// Checks the `(x, scale, zero point)` types against the op's `axis`; returns
/// `(runs, inner, channels)`.
fn runs_of(
    cx: &KernelCx,
    x: &TensorType,
    scale: &TensorType,
    zp: &TensorType,
    axis: Option<usize>,
) -> Result<(usize, usize, usize), JitError> {
    let channels = match axis {
        None => 1,
        Some(a) if a < x.rank() => x.shape[a],
        Some(a) => return Err(JitError::invalid(cx.node, format!("axis {a} out of range for {x}"))),
    };
    if scale.dtype != DType::F32 || scale.numel() != channels || zp.numel() != channels {
        return Err(JitError::invalid(
            cx.node,
            format!("scale {scale} / zero point {zp} do not fit {x} (axis {axis:?})"),
        ));
    }
    let numel = x.numel();
    Ok(match axis {
        None => (1, numel, 1),
        Some(a) => (x.shape[..=a].iter().product(), x.shape[a + 1..].iter().product(), channels),
    })
}

/// Loads parameter pair `p`: the `f32` scale and the zero point (stored as `(zty, signed)`)
/// widened to `i32`.
fn load_pair(
    cx: &mut KernelCx,
    (scales, zps): (Value, Value),
    p: Value,
    (zty, signed): (Type, bool),
) -> (Value, Value) {
    let a = cx.elem_addr(scales, p, 4);
    let scale = cx.load(types::F32, a, 0);
    let a = cx.elem_addr(zps, p, i64::from(zty.bytes()));
    (scale, load_int(cx, zty, signed, a))
}

/// The round-and-saturate of a quantization to `range` with the run-time zero point `zp`
/// (`i32`): bounds `lo - zp`, `hi - zp` (exact in `f32`), offset `MAGIC_BITS - zp`.
fn round_sat(cx: &mut KernelCx, ty: Type, zp: Value, range: (i32, i32)) -> RoundSat {
    let b = &mut cx.b;
    let lo = b.ins().iconst(types::I32, i64::from(range.0));
    let hi = b.ins().iconst(types::I32, i64::from(range.1));
    let magic = b.ins().iconst(types::I32, i64::from(MAGIC_BITS));
    let (lo, hi, off) = (b.ins().isub(lo, zp), b.ins().isub(hi, zp), b.ins().isub(magic, zp));
    let (lo, hi) = (b.ins().fcvt_from_sint(types::F32, lo), b.ins().fcvt_from_sint(types::F32, hi));
    RoundSat::new(cx, ty, lo, hi, off)
}

/// The parameter index of element `e` (pointer-sized): `(e / inner) mod channels`.
fn param_of(cx: &mut KernelCx, e: Value, (_, inner, channels): (usize, usize, usize)) -> Value {
    if channels == 1 {
        return cx.iconst(0);
    }
    let inner_v = cx.iconst(i64_of(inner));
    let run = cx.b.ins().udiv(e, inner_v);
    let c = cx.iconst(i64_of(channels));
    cx.b.ins().urem(run, c)
}

/// `QuantizeLinearDynamicParams { axis }`: `f32` `x`, output `u8`/`i8`/`i16`/`u4`/`i4` (the
/// zero point's dtype); see the module docs.
pub(crate) fn lower_quantize_linear_dynamic_params(
    cx: &mut KernelCx,
    axis: Option<usize>,
) -> Result<KernelInfo, JitError> {
    cx.expect_arity(3..=3, 1)?;
    let (tx, ts, tz, ty) = (cx.in_ty(0)?, cx.in_ty(1)?, cx.in_ty(2)?, cx.out_ty(0)?);
    if tx.dtype != DType::F32 {
        return Err(JitError::unsupported(cx.node, format!("quantizing {} input (JIT: f32)", tx.dtype)));
    }
    if ty.dtype != tz.dtype || ty.shape != tx.shape {
        return Err(JitError::invalid(cx.node, format!("output {ty} does not match {}{:?}", tz.dtype, tx.shape)));
    }
    let shape = runs_of(cx, tx, ts, tz, axis)?;
    let (runs, inner, channels) = shape;
    let (src, scales, zps, dst) = (cx.input(0), cx.input(1), cx.input(2), cx.output(0));
    let (storage, range) = match (tz.dtype, int_storage(tz.dtype), quant_range(tz.dtype)) {
        (DType::U8 | DType::I8 | DType::I16, Some(s), Some(r)) => (s, r),
        (DType::U4 | DType::I4, _, Some(range)) => {
            let signed = tz.dtype == DType::I4;
            return Ok(emit_packed_map(cx, tx.numel(), dst, &mut |cx, e| {
                let p = param_of(cx, e, shape);
                let a = cx.elem_addr(scales, p, 4);
                let scale = cx.load(types::F32, a, 0);
                let zp = load_int4(cx, zps, p, signed);
                let rs = round_sat(cx, types::F32, zp, range);
                let a = cx.elem_addr(src, e, 4);
                let x = cx.load(types::F32, a, 0);
                let v = cx.b.ins().fdiv(x, scale);
                rs.apply(cx, v)
            }));
        }
        (dt, ..) => {
            return Err(JitError::unsupported(cx.node, format!("quantizing to {dt} (JIT: u8, i8, i16, u4, i4)")))
        }
    };
    Ok(for_run_chunks(cx, runs, inner, channels, |cx, p, base, len| {
        let (scale, zp) = load_pair(cx, (scales, zps), p, storage);
        let rs_s = round_sat(cx, types::F32, zp, range);
        let rs_v = round_sat(cx, types::F32X4, zp, range);
        emit_quantize_run(cx, (src, dst), storage, base, len, scale, rs_s, rs_v);
    }))
}

/// `DequantizeLinearDynamicParams { axis }`: `u8`/`i8`/`i16`/`i32`/`u4`/`i4` `x` and zero
/// point, `f32` output `y = f32(x - zp) * scale` (8- and 16-bit inputs 16 / 8 elements per
/// step with `f32x4`, where `x - zp` is exact in `i32`; `i32` inputs subtract in `i64`;
/// 4-bit inputs one element at a time).
pub(crate) fn lower_dequantize_linear_dynamic_params(
    cx: &mut KernelCx,
    axis: Option<usize>,
) -> Result<KernelInfo, JitError> {
    cx.expect_arity(3..=3, 1)?;
    let (tx, ts, tz, ty) = (cx.in_ty(0)?, cx.in_ty(1)?, cx.in_ty(2)?, cx.out_ty(0)?);
    if tz.dtype != tx.dtype || ty.dtype != DType::F32 || ty.shape != tx.shape {
        return Err(JitError::invalid(cx.node, format!("types {tx}, zero point {tz} -> {ty}")));
    }
    let shape = runs_of(cx, tx, ts, tz, axis)?;
    let (runs, inner, channels) = shape;
    let (src, scales, zps, dst) = (cx.input(0), cx.input(1), cx.input(2), cx.output(0));
    if matches!(tx.dtype, DType::U4 | DType::I4) {
        let signed = tx.dtype == DType::I4;
        return Ok(for_run_chunks(cx, runs, inner, channels, |cx, p, base, len| {
            let a = cx.elem_addr(scales, p, 4);
            let scale = cx.load(types::F32, a, 0);
            let zp = load_int4(cx, zps, p, signed);
            let zero = cx.iconst(0);
            cx.for_range(zero, len, 1, |cx, k| {
                let e = cx.b.ins().iadd(base, k);
                let v = load_int4(cx, src, e, signed);
                let d = cx.b.ins().isub(v, zp);
                let f = cx.b.ins().fcvt_from_sint(types::F32, d);
                let y = cx.b.ins().fmul(f, scale);
                let o = cx.elem_addr(dst, e, 4);
                cx.store(y, o, 0);
            });
        }));
    }
    let Some((ity, signed)) = int_storage(tx.dtype) else {
        return Err(JitError::unsupported(
            cx.node,
            format!("dequantizing {} (JIT: u8, i8, i16, i32, u4, i4)", tx.dtype),
        ));
    };
    let ib = i64::from(ity.bytes());
    Ok(for_run_chunks(cx, runs, inner, channels, |cx, p, base, len| {
        let (scale, zp) = load_pair(cx, (scales, zps), p, (ity, signed));
        let xs = cx.elem_addr(src, base, ib);
        let ys = cx.elem_addr(dst, base, 4);
        emit_dequantize_run(cx, (xs, ys, len), (scale, zp), (ity, signed));
    }))
}
