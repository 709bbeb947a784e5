//! `QuantizeLinear`, `DequantizeLinear` (per tensor and per axis on 8/16/32-bit tensors;
//! blocked parameters and packed 4-bit tensors are in
//! [`quantize_per_element`](super::quantize_per_element)) and `DynamicQuantizeLinear`,
//! bit-exact with the interpreter's scalar formulas ([`int8xc_ir::quantize_f32`],
//! [`int8xc_ir::dequantize`]), plus the byte-vector helpers the other quantized element-wise
//! kernels (`qlinear.rs`) share.
//!
//! # Layout of the work
//!
//! The tensor is viewed as `runs × inner`: per tensor, one run of all elements; per axis `a`,
//! `outer · D` runs (`D = shape[a]`) of `inner = Π shape[a+1..]` elements, run `r` using
//! parameter pair `r mod D`. Work item: one chunk of at most [`CHUNK`] elements of one run
//! (`item = run · chunks + chunk`). Per-axis parameters are compile-time constants stored into
//! the call's scratch buffer at kernel entry (16 bytes per channel, 16-byte `vconst` stores);
//! per-tensor parameters are immediates.
//!
//! # Exactness
//!
//! Quantize: `v = x / scale` (`fdiv`), then `v = lo - zp` if `!(lo - zp < v)` (NaN included:
//! what `maxps` does and what `quantize_f32` specifies), `v = hi - zp` if `!(v < hi - zp)`,
//! then round half to even by adding `1.5·2²³` (exact for `|v| <= 2²²`, which holds for
//! `u8`/`i8`/`i16` ranges) and reading the integer from the low mantissa bits, `+ zp`.
//! Dequantize: `f32(q - zp) * scale`, where `q - zp` is exact in `i32` for 8- and 16-bit `q`
//! and computed in `i64` for `i32` `q`.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, ConstantData, InstBuilder, Type, Value};
use int8xc_ir::{quant_range, DType, QuantParams};

use super::qgemm::le;
use super::{i64_of, quantize_per_element, KernelCx, KernelInfo};
use crate::JitError;

/// Most elements one work item processes (a multiple of 16).
pub(crate) const CHUNK: usize = 16 * 1024;

/// `2^23 + 2^22`: adding it to an f32 of magnitude `<= 2^22` rounds it to an integer (ties to
/// even) held in the low mantissa bits.
pub(crate) const MAGIC: f32 = 12_582_912.0;
/// The bit pattern of [`MAGIC`].
pub(crate) const MAGIC_BITS: i32 = 0x4B40_0000;

/// Stores the compile-time `bytes` at `dst` (16-byte `vconst` stores; the last one is
/// zero-padded, so `dst` must have `bytes.len()` rounded up to 16 bytes of room).
pub(crate) fn emit_table(cx: &mut KernelCx, dst: Value, bytes: &[u8]) {
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let mut c = [0u8; 16];
        c[..chunk.len()].copy_from_slice(chunk);
        let h = cx.b.func.dfg.constants.insert(ConstantData::from(c.to_vec()));
        let v = cx.b.ins().vconst(types::I8X16, h);
        cx.store(v, dst, (16 * i) as i32);
    }
}

/// The memory type and signedness of an integer tensor element (`u8`, `i8`, `i16`, `i32`).
pub(crate) fn int_storage(dt: DType) -> Option<(Type, bool)> {
    match dt {
        DType::U8 => Some((types::I8, false)),
        DType::I8 => Some((types::I8, true)),
        DType::I16 => Some((types::I16, true)),
        DType::I32 => Some((types::I32, true)),
        _ => None,
    }
}

/// Loads one integer element of type `ty` at `addr` and extends it to `i32`.
pub(crate) fn load_int(cx: &mut KernelCx, ty: Type, signed: bool, addr: Value) -> Value {
    let v = cx.load(ty, addr, 0);
    if ty == types::I32 {
        v
    } else if signed {
        cx.b.ins().sextend(types::I32, v)
    } else {
        cx.b.ins().uextend(types::I32, v)
    }
}

/// Loads 16 bytes at `addr` as four `i32x4` (elements `4j .. 4j + 4` in vector `j`).
pub(crate) fn load_bytes_x16(cx: &mut KernelCx, addr: Value, signed: bool) -> [Value; 4] {
    let v = cx.load(types::I8X16, addr, 0);
    let b = &mut cx.b;
    let (lo, hi) = if signed {
        (b.ins().swiden_low(v), b.ins().swiden_high(v))
    } else {
        (b.ins().uwiden_low(v), b.ins().uwiden_high(v))
    };
    // i16 lanes are exact; widen them signed.
    [b.ins().swiden_low(lo), b.ins().swiden_high(lo), b.ins().swiden_low(hi), b.ins().swiden_high(hi)]
}

/// Narrows four `i32x4` (every lane already within the byte range) to 16 bytes at `addr`.
pub(crate) fn store_bytes_x16(cx: &mut KernelCx, v: [Value; 4], signed: bool, addr: Value) {
    let b = &mut cx.b;
    let lo = b.ins().snarrow(v[0], v[1]);
    let hi = b.ins().snarrow(v[2], v[3]);
    let n = if signed { b.ins().snarrow(lo, hi) } else { b.ins().unarrow(lo, hi) };
    cx.store(n, addr, 0);
}

/// Stores the `i32` `v` (within range) as one element of type `ty` at `addr`.
pub(crate) fn store_int(cx: &mut KernelCx, v: Value, ty: Type, addr: Value) {
    let v = if ty == types::I32 { v } else { cx.b.ins().ireduce(ty, v) };
    cx.store(v, addr, 0);
}

/// The clamp bounds and rounding constants of a round-and-saturate, in the type the values
/// are processed in (`F32` or `F32X4`).
#[derive(Clone, Copy)]
pub(crate) struct RoundSat {
    /// `lo - zp` (f32).
    lo: Value,
    /// `hi - zp` (f32).
    hi: Value,
    /// [`MAGIC`].
    magic: Value,
    /// `MAGIC_BITS - zp` (i32).
    off: Value,
}

impl RoundSat {
    /// From scalar run-time values `lo - zp`, `hi - zp` (f32) and `MAGIC_BITS - zp` (i32),
    /// splatted when `ty` is a vector.
    pub(crate) fn new(cx: &mut KernelCx, ty: Type, lo: Value, hi: Value, off: Value) -> Self {
        let magic = cx.fconst(ty, MAGIC);
        if ty.is_vector() {
            let b = &mut cx.b;
            RoundSat {
                lo: b.ins().splat(ty, lo),
                hi: b.ins().splat(ty, hi),
                magic,
                off: b.ins().splat(types::I32X4, off),
            }
        } else {
            RoundSat { lo, hi, magic, off }
        }
    }

    /// From compile-time bounds: `zp` and the dtype range `(lo, hi)` (each `|· - zp| <= 2^22`).
    pub(crate) fn constant(cx: &mut KernelCx, ty: Type, zp: i32, (lo, hi): (i32, i32)) -> Self {
        let l = cx.b.ins().f32const((i64::from(lo) - i64::from(zp)) as f32);
        let h = cx.b.ins().f32const((i64::from(hi) - i64::from(zp)) as f32);
        let off = cx.b.ins().iconst(types::I32, i64::from(MAGIC_BITS.wrapping_sub(zp)));
        Self::new(cx, ty, l, h, off)
    }

    /// `round_half_to_even(min(max(v, lo - zp), hi - zp)) + zp` as `i32` (`I32` or `I32X4`),
    /// a NaN `v` giving `lo`.
    pub(crate) fn apply(&self, cx: &mut KernelCx, v: Value) -> Value {
        let ty = cx.b.func.dfg.value_type(v);
        let v = select_lt(cx, self.lo, v, v, self.lo);
        let v = select_lt(cx, v, self.hi, v, self.hi);
        let g = cx.b.ins().fadd(v, self.magic);
        let ity = if ty.is_vector() { types::I32X4 } else { types::I32 };
        let bits = cx.b.ins().bitcast(ity, le(), g);
        cx.b.ins().isub(bits, self.off)
    }
}

/// `a < b ? x : y` on f32 scalars or `f32x4` (a NaN operand selects `y`).
pub(crate) fn select_lt(cx: &mut KernelCx, a: Value, b: Value, x: Value, y: Value) -> Value {
    let ty = cx.b.func.dfg.value_type(x);
    let c = cx.b.ins().fcmp(FloatCC::LessThan, a, b);
    if ty.is_vector() {
        let m = cx.b.ins().bitcast(ty, le(), c);
        cx.b.ins().bitselect(m, x, y)
    } else {
        cx.b.ins().select(c, x, y)
    }
}

/// The run structure of a per-tensor or per-axis parameter set over `shape`:
/// `(runs, inner, channels)`. Errors for blocked parameters (lowered by
/// [`quantize_per_element`](super::quantize_per_element) instead) or an axis out of range.
fn runs_of(cx: &KernelCx, q: &QuantParams, shape: &[usize]) -> Result<(usize, usize, usize), JitError> {
    let numel: usize = shape.iter().product();
    if q.block_size.is_some() {
        return Err(JitError::unsupported(cx.node, "blocked quantization parameters"));
    }
    match q.axis {
        None if q.scale.len() == 1 && q.zero_point.len() == 1 => Ok((1, numel, 1)),
        Some(a) if a < shape.len() && q.scale.len() == shape[a] && q.zero_point.len() == shape[a] => {
            let inner: usize = shape[a + 1..].iter().product();
            Ok((shape[..=a].iter().product(), inner, shape[a]))
        }
        _ => Err(JitError::invalid(cx.node, format!("quantization parameters {q:?} do not fit shape {shape:?}"))),
    }
}

/// The per-parameter table of the quantize kernels: per `(scale, zero point)` pair of `q`,
/// `[scale, lo − zp, hi − zp, MAGIC_BITS − zp]` (`f32`, `f32`, `f32`, `i32`; 16 bytes) for the
/// output `range`.
pub(crate) fn quantize_table(q: &QuantParams, range: (i32, i32)) -> Vec<u8> {
    let mut table = Vec::with_capacity(16 * q.scale.len());
    for (&s, &z) in q.scale.iter().zip(&q.zero_point) {
        table.extend_from_slice(&s.to_le_bytes());
        table.extend_from_slice(&((i64::from(range.0) - i64::from(z)) as f32).to_le_bytes());
        table.extend_from_slice(&((i64::from(range.1) - i64::from(z)) as f32).to_le_bytes());
        table.extend_from_slice(&MAGIC_BITS.wrapping_sub(z).to_le_bytes());
    }
    table
}

/// A chunked loop over `runs × inner` elements (see the module docs). `body(cx, param, base,
/// len)` gets the parameter index (`run mod channels`, pointer-sized), the first element index
/// of the chunk and its length (both pointer-sized run-time values).
pub(crate) fn for_run_chunks(
    cx: &mut KernelCx,
    runs: usize,
    inner: usize,
    channels: usize,
    mut body: impl FnMut(&mut KernelCx, Value, Value, Value),
) -> KernelInfo {
    if runs == 0 || inner == 0 {
        return KernelInfo::default();
    }
    let chunks = inner.div_ceil(CHUNK);
    cx.for_items(|cx, item| {
        let (run, chunk) = if chunks == 1 {
            (item, cx.iconst(0))
        } else {
            let n = cx.iconst(i64_of(chunks));
            (cx.b.ins().udiv(item, n), cx.b.ins().urem(item, n))
        };
        let p = if channels == 1 {
            cx.iconst(0)
        } else {
            let c = cx.iconst(i64_of(channels));
            cx.b.ins().urem(run, c)
        };
        let first = cx.b.ins().imul_imm_s(chunk, i64_of(CHUNK));
        let inner_v = cx.iconst(i64_of(inner));
        let rest = cx.b.ins().isub(inner_v, first);
        let full = cx.iconst(i64_of(CHUNK));
        let lt = cx.b.ins().icmp(IntCC::SignedLessThan, rest, full);
        let len = cx.b.ins().select(lt, rest, full);
        let base = cx.b.ins().imul_imm_s(run, i64_of(inner));
        let base = cx.b.ins().iadd(base, first);
        body(cx, p, base, len);
    });
    KernelInfo { work_items: runs * chunks, scratch_bytes: 0 }
}

/// Emits `out[i] = quantize(in[i])` for `len` elements from element `base` of the f32 input
/// `src` into the integer output `dst` (`oty`: `I8` or `I16`), with `scale` (f32 scalar)
/// and the bounds of `rs_s` / `rs_v` (scalar / vector).
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_quantize_run(
    cx: &mut KernelCx,
    (src, dst): (Value, Value),
    (oty, signed): (Type, bool),
    base: Value,
    len: Value,
    scale: Value,
    rs_s: RoundSat,
    rs_v: RoundSat,
) {
    let ob = i64::from(oty.bytes());
    let xs = cx.elem_addr(src, base, 4);
    let ys = cx.elem_addr(dst, base, ob);
    let scale_v = cx.b.ins().splat(types::F32X4, scale);
    let step = 16 / ob;
    let vend = cx.b.ins().band_imm_s(len, !(step - 1));
    let zero = cx.iconst(0);
    cx.for_range(zero, vend, step, |cx, k| {
        let a = cx.elem_addr(xs, k, 4);
        let mut q = Vec::with_capacity(4);
        for j in 0..(step / 4) as i32 {
            let x = cx.load(types::F32X4, a, 16 * j);
            let v = cx.b.ins().fdiv(x, scale_v);
            q.push(rs_v.apply(cx, v));
        }
        let o = cx.elem_addr(ys, k, ob);
        if ob == 1 {
            store_bytes_x16(cx, [q[0], q[1], q[2], q[3]], signed, o);
        } else {
            let n = cx.b.ins().snarrow(q[0], q[1]);
            cx.store(n, o, 0);
        }
    });
    cx.for_range(vend, len, 1, |cx, k| {
        let a = cx.elem_addr(xs, k, 4);
        let x = cx.load(types::F32, a, 0);
        let v = cx.b.ins().fdiv(x, scale);
        let q = rs_s.apply(cx, v);
        let o = cx.elem_addr(ys, k, ob);
        store_int(cx, q, oty, o);
    });
}

/// The output storage of a quantize: `u8`, `i8` or `i16` (the rounding trick needs
/// `|hi - lo| <= 2^22`; `i32` and the packed 4-bit types are unsupported).
fn quantize_storage(cx: &KernelCx, dt: DType) -> Result<(Type, bool, (i32, i32)), JitError> {
    match (dt, int_storage(dt), quant_range(dt)) {
        (DType::U8 | DType::I8 | DType::I16, Some((ty, signed)), Some(r)) => Ok((ty, signed, r)),
        _ => Err(JitError::unsupported(cx.node, format!("quantizing to {dt} (JIT: u8, i8, i16)"))),
    }
}

/// `QuantizeLinear { dtype, params }` (ONNX `QuantizeLinear`, opsets 10–21), f32 input,
/// per-tensor or per-axis parameters, `u8`/`i8`/`i16` output. Work item and exact formula:
/// see the module docs (equal to [`int8xc_ir::quantize_f32`] per element, bit for bit).
/// Blocked parameters and `u4`/`i4` outputs are lowered by
/// [`quantize_per_element`](super::quantize_per_element).
pub(crate) fn lower_quantize_linear(cx: &mut KernelCx, dtype: DType, q: &QuantParams) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let (tx, ty) = (cx.in_ty(0)?, cx.out_ty(0)?);
    if tx.dtype != DType::F32 {
        return Err(JitError::unsupported(cx.node, format!("quantizing {} input (JIT: f32)", tx.dtype)));
    }
    if ty.dtype != dtype || ty.shape != tx.shape {
        return Err(JitError::invalid(cx.node, format!("output {ty} does not match {dtype}{:?}", tx.shape)));
    }
    if q.block_size.is_some() || matches!(dtype, DType::I4 | DType::U4) {
        return quantize_per_element::lower_quantize(cx, dtype, q);
    }
    let (oty, signed, range) = quantize_storage(cx, dtype)?;
    let (runs, inner, channels) = runs_of(cx, q, &tx.shape)?;
    let (src, dst) = (cx.input(0), cx.output(0));
    if channels == 1 {
        let (s, z) = (q.scale[0], q.zero_point[0]);
        let scale = cx.b.ins().f32const(s);
        let rs_s = RoundSat::constant(cx, types::F32, z, range);
        let rs_v = RoundSat::constant(cx, types::F32X4, z, range);
        return Ok(for_run_chunks(cx, runs, inner, 1, |cx, _, base, len| {
            emit_quantize_run(cx, (src, dst), (oty, signed), base, len, scale, rs_s, rs_v)
        }));
    }
    let table = quantize_table(q, range);
    let scratch = cx.scratch();
    emit_table(cx, scratch, &table);
    let info = for_run_chunks(cx, runs, inner, channels, |cx, p, base, len| {
        let e = cx.elem_addr(scratch, p, 16);
        let scale = cx.load(types::F32, e, 0);
        let lo = cx.load(types::F32, e, 4);
        let hi = cx.load(types::F32, e, 8);
        let off = cx.load(types::I32, e, 12);
        let rs_s = RoundSat::new(cx, types::F32, lo, hi, off);
        let rs_v = RoundSat::new(cx, types::F32X4, lo, hi, off);
        emit_quantize_run(cx, (src, dst), (oty, signed), base, len, scale, rs_s, rs_v)
    });
    Ok(KernelInfo { scratch_bytes: table.len(), ..info })
}

/// `DequantizeLinear` (ONNX `DequantizeLinear`, opsets 10–21): `u8`/`i8`/`i16`/`i32` input
/// with per-tensor or per-axis parameters (from its type; blocked parameters and `u4`/`i4`
/// inputs are lowered by [`quantize_per_element`](super::quantize_per_element)), f32 output
/// `y = f32(x - zp) * scale` ([`int8xc_ir::dequantize`], bit for bit). Work item: see the
/// module docs; 8- and 16-bit inputs are processed 16 / 8 elements per step with `f32x4`.
pub(crate) fn lower_dequantize_linear(cx: &mut KernelCx) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let (tx, ty) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let Some(q) = tx.quant.as_ref() else {
        return Err(JitError::invalid(cx.node, format!("input {tx} has no quantization parameters")));
    };
    if ty.dtype != DType::F32 || ty.shape != tx.shape {
        return Err(JitError::invalid(cx.node, format!("output {ty} does not match f32{:?}", tx.shape)));
    }
    if q.block_size.is_some() || matches!(tx.dtype, DType::I4 | DType::U4) {
        return quantize_per_element::lower_dequantize(cx, q);
    }
    let Some((ity, signed)) = int_storage(tx.dtype) else {
        return Err(JitError::unsupported(
            cx.node,
            format!("dequantizing {} (JIT: u8, i8, i16, i32, u4, i4)", tx.dtype),
        ));
    };
    let (runs, inner, channels) = runs_of(cx, q, &tx.shape)?;
    let (src, dst) = (cx.input(0), cx.output(0));
    let mut table = Vec::new();
    let scratch = cx.scratch();
    if channels > 1 {
        for (&s, &z) in q.scale.iter().zip(&q.zero_point) {
            table.extend_from_slice(&s.to_le_bytes());
            table.extend_from_slice(&z.to_le_bytes());
        }
        emit_table(cx, scratch, &table);
    }
    let ib = i64::from(ity.bytes());
    let (s0, z0) = (q.scale[0], q.zero_point[0]);
    let info = for_run_chunks(cx, runs, inner, channels, |cx, p, base, len| {
        let (scale, zp) = if channels == 1 {
            (cx.b.ins().f32const(s0), cx.b.ins().iconst(types::I32, i64::from(z0)))
        } else {
            let e = cx.elem_addr(scratch, p, 8);
            (cx.load(types::F32, e, 0), cx.load(types::I32, e, 4))
        };
        let xs = cx.elem_addr(src, base, ib);
        let ys = cx.elem_addr(dst, base, 4);
        emit_dequantize_run(cx, (xs, ys, len), (scale, zp), (ity, signed));
    });
    Ok(KernelInfo { scratch_bytes: table.len(), ..info })
}

/// `ys[k] = f32(xs[k] − zp) · scale` for `k < len` (run-time `len`): `xs` integers of storage
/// type `ity` (`signed` or not), 16 / 8 per step with `f32x4` for 8- and 16-bit inputs, the
/// difference exact in `i64` on the scalar path (an `i32` input may overflow an `i32`
/// difference). `scale` (`f32`) and `zp` (`i32`) are run-time values. Shared by the static
/// and the run-time-parameter DequantizeLinear kernels.
pub(crate) fn emit_dequantize_run(
    cx: &mut KernelCx,
    (xs, ys, len): (Value, Value, Value),
    (scale, zp): (Value, Value),
    (ity, signed): (Type, bool),
) {
    let ib = i64::from(ity.bytes());
    let zero = cx.iconst(0);
    let vend = if ity == types::I32 {
        zero
    } else {
        let step = 16 / ib;
        let vend = cx.b.ins().band_imm_s(len, !(step - 1));
        let scale_v = cx.b.ins().splat(types::F32X4, scale);
        let zp_v = cx.b.ins().splat(types::I32X4, zp);
        cx.for_range(zero, vend, step, |cx, k| {
            let a = cx.elem_addr(xs, k, ib);
            let ints: Vec<Value> = if ib == 1 {
                load_bytes_x16(cx, a, signed).to_vec()
            } else {
                let v = cx.load(types::I16X8, a, 0);
                vec![cx.b.ins().swiden_low(v), cx.b.ins().swiden_high(v)]
            };
            let o = cx.elem_addr(ys, k, 4);
            for (j, &v) in ints.iter().enumerate() {
                let d = cx.b.ins().isub(v, zp_v);
                let f = cx.b.ins().fcvt_from_sint(types::F32X4, d);
                let y = cx.b.ins().fmul(f, scale_v);
                cx.store(y, o, 16 * j as i32);
            }
        });
        vend
    };
    cx.for_range(vend, len, 1, |cx, k| {
        let a = cx.elem_addr(xs, k, ib);
        let v = load_int(cx, ity, signed, a);
        let v = cx.b.ins().sextend(types::I64, v);
        let z = cx.b.ins().sextend(types::I64, zp);
        let d = cx.b.ins().isub(v, z);
        let f = cx.b.ins().fcvt_from_sint(types::F32, d);
        let y = cx.b.ins().fmul(f, scale);
        let o = cx.elem_addr(ys, k, 4);
        cx.store(y, o, 0);
    });
}

/// Emits ONNX Runtime's dynamic `u8` quantization parameters of the `numel` f32 values at
/// `src` (the interpreter's `dynamic_params`); returns `(scale f32, zero point i32)`:
///
/// ```text
/// lo = min(0, min x), hi = max(0, max x)     (compare-and-select; NaN never replaces)
/// scale = hi == lo ? 1 : (hi - lo) / 255
/// zp = rne(clamp(0 - lo / scale, 0, 255))    (NaN → 0)
/// ```
///
/// The range pass runs over 4 lanes then folds them; a set's minimum and maximum do not
/// depend on the order (a `-0.0` never replaces the initial `+0.0`).
pub(crate) fn emit_dynamic_params(cx: &mut KernelCx, src: Value, numel: i64) -> (Value, Value) {
    let zero_v = cx.fconst(types::F32X4, 0.0);
    let (lo_var, hi_var) = (cx.b.declare_var(types::F32X4), cx.b.declare_var(types::F32X4));
    cx.b.def_var(lo_var, zero_v);
    cx.b.def_var(hi_var, zero_v);
    let vend = numel & !3;
    cx.for_static(0, vend, 4, |cx, k| {
        let a = cx.elem_addr(src, k, 4);
        let v = cx.load(types::F32X4, a, 0);
        let (lo, hi) = (cx.b.use_var(lo_var), cx.b.use_var(hi_var));
        let lo = select_lt(cx, v, lo, v, lo);
        let hi = select_lt(cx, hi, v, v, hi);
        cx.b.def_var(lo_var, lo);
        cx.b.def_var(hi_var, hi);
    });
    let (lo_s, hi_s) = (cx.b.declare_var(types::F32), cx.b.declare_var(types::F32));
    let zero = cx.b.ins().f32const(0.0);
    cx.b.def_var(lo_s, zero);
    cx.b.def_var(hi_s, zero);
    let (lv, hv) = (cx.b.use_var(lo_var), cx.b.use_var(hi_var));
    let fold = |cx: &mut KernelCx, v_lo: Value, v_hi: Value| {
        let (lo, hi) = (cx.b.use_var(lo_s), cx.b.use_var(hi_s));
        let lo = select_lt(cx, v_lo, lo, v_lo, lo);
        let hi = select_lt(cx, hi, v_hi, v_hi, hi);
        cx.b.def_var(lo_s, lo);
        cx.b.def_var(hi_s, hi);
    };
    for l in 0..4u8 {
        let (a, b) = (cx.b.ins().extractlane(lv, l), cx.b.ins().extractlane(hv, l));
        fold(cx, a, b);
    }
    cx.for_static(vend, numel, 1, |cx, k| {
        let a = cx.elem_addr(src, k, 4);
        let v = cx.load(types::F32, a, 0);
        fold(cx, v, v);
    });
    let (lo, hi) = (cx.b.use_var(lo_s), cx.b.use_var(hi_s));
    let b = &mut cx.b;
    let eq = b.ins().fcmp(FloatCC::Equal, hi, lo);
    let d = b.ins().fsub(hi, lo);
    let c255 = b.ins().f32const(255.0);
    let d = b.ins().fdiv(d, c255);
    let one = b.ins().f32const(1.0);
    let scale = b.ins().select(eq, one, d);
    let r = b.ins().fdiv(lo, scale);
    let initial = b.ins().fsub(zero, r);
    let zp_rs = RoundSat::constant(cx, types::F32, 0, (0, 255));
    let zp = zp_rs.apply(cx, initial);
    (scale, zp)
}

/// The scalar and vector [`RoundSat`] of a `u8` quantization with the run-time zero point
/// `zp` (`i32`, in `0..=255`).
pub(crate) fn dynamic_round_sat(cx: &mut KernelCx, zp: Value) -> (RoundSat, RoundSat) {
    let b = &mut cx.b;
    let neg_zp = b.ins().ineg(zp);
    let lo_z = b.ins().fcvt_from_sint(types::F32, neg_zp);
    let c255 = b.ins().iconst(types::I32, 255);
    let hi_i = b.ins().isub(c255, zp);
    let hi_z = b.ins().fcvt_from_sint(types::F32, hi_i);
    let magic_bits = b.ins().iconst(types::I32, i64::from(MAGIC_BITS));
    let off = b.ins().isub(magic_bits, zp);
    (RoundSat::new(cx, types::F32, lo_z, hi_z, off), RoundSat::new(cx, types::F32X4, lo_z, hi_z, off))
}

/// `DynamicQuantizeLinear` (ONNX opset 11): f32 `x` → `y` `u8`, `y_scale` `f32[]`,
/// `y_zero_point` `u8[]`, exactly the formulas on [`int8xc_ir::Op::DynamicQuantizeLinear`]
/// (the interpreter's `dynamic_params` then `quantize_f32`): parameters as
/// [`emit_dynamic_params`], then `y = quantize_f32(x, scale, zp, (0, 255))`. Work item: the
/// whole tensor (one item; both passes need the global range).
pub(crate) fn lower_dynamic_quantize_linear(cx: &mut KernelCx) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 3)?;
    let (tx, ty, ts, tz) = (cx.in_ty(0)?, cx.out_ty(0)?, cx.out_ty(1)?, cx.out_ty(2)?);
    let ok = tx.dtype == DType::F32
        && ty.dtype == DType::U8
        && ty.shape == tx.shape
        && ts.dtype == DType::F32
        && ts.numel() == 1
        && tz.dtype == DType::U8
        && tz.numel() == 1;
    if !ok {
        return Err(JitError::invalid(cx.node, format!("types {tx} -> {ty}, {ts}, {tz}")));
    }
    let numel = i64_of(tx.numel());
    let (src, dst, out_s, out_z) = (cx.input(0), cx.output(0), cx.output(1), cx.output(2));
    cx.for_items(|cx, _| {
        let (scale, zp) = emit_dynamic_params(cx, src, numel);
        cx.store(scale, out_s, 0);
        store_int(cx, zp, types::I8, out_z);
        let (rs_s, rs_v) = dynamic_round_sat(cx, zp);
        let (base, len) = (cx.iconst(0), cx.iconst(numel));
        emit_quantize_run(cx, (src, dst), (types::I8, false), base, len, scale, rs_s, rs_v);
    });
    Ok(KernelInfo { work_items: 1, scratch_bytes: 0 })
}
