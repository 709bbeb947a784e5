//! ONNX Runtime's QOperator element-wise ops, bit-exact with the interpreter
//! (`backend-interp/src/ops/qlinear.rs`, `qpool.rs`), which follows ORT operation for
//! operation: `QLinearBinary` (`QLinearAdd` / `QLinearMul`), `QLinearUnary` (the 256-entry
//! lookup-table activations), `QLinearSoftmax` and `QLinearConcat`.
//!
//! Compile-time tables (unary and concat requantization: 256 bytes; softmax exponents: 256
//! `f32`) are stored into the call's scratch buffer at kernel entry with 16-byte `vconst`
//! stores ([`super::quantize::emit_table`]); kernels then index them with the input byte.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::{qlinear_activation, qlinear_lookup_table, quant_range, BinaryOp, DType, TensorType, UnaryOp};

use super::elementwise::{broadcast_strides, collapse};
use super::layout::copy_static;
use super::quantize::{
    emit_table, load_bytes_x16, load_int, store_bytes_x16, store_int, RoundSat, CHUNK, MAGIC, MAGIC_BITS,
};
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// `(scale, zero_point)` of a per-tensor quantized `u8`/`i8` operand.
pub(crate) fn per_tensor_byte(cx: &KernelCx, what: &str, t: &TensorType) -> Result<(f32, i32), JitError> {
    if !matches!(t.dtype, DType::U8 | DType::I8) {
        return Err(JitError::unsupported(cx.node, format!("{what} has dtype {} (JIT: u8, i8)", t.dtype)));
    }
    match t.quant.as_ref() {
        Some(q) if q.axis.is_none() && q.scale.len() == 1 && q.zero_point.len() == 1 => {
            Ok((q.scale[0], q.zero_point[0]))
        }
        _ => Err(JitError::invalid(cx.node, format!("{what} {t} must be quantized per tensor"))),
    }
}

/// The dtype range of a byte dtype.
fn byte_range(dt: DType) -> (i32, i32) {
    quant_range(dt).unwrap_or((0, 255))
}

/// The arithmetic of one `QLinearBinary` (compile-time constants as the interpreter computes
/// them).
#[derive(Clone, Copy)]
enum BinaryMath {
    /// `fma(a, ra, fma(b, rb, fixed))`, or with the scalar operand folded first:
    /// `fma(b, rb, fixed + a * ra)` (`scalar_a`) / `fma(a, ra, fixed + b * rb)` (`scalar_b`).
    Add { ra: f32, rb: f32, fixed: f32, scalar_a: bool, scalar_b: bool },
    /// `f32((a - za) * (b - zb)) * r + f32(zy)`.
    Mul { za: i32, zb: i32, r: f32, zy: f32 },
}

/// `a * b + c` rounded once: Cranelift `fma` (one `vfmadd` with FMA3; without it Cranelift
/// calls libm's `fmaf`, still correctly rounded), as the interpreter's `f32::mul_add`.
fn fused(cx: &mut KernelCx, a: Value, b: Value, c: Value) -> Value {
    cx.b.ins().fma(a, b, c)
}

/// The f32 pre-rounding value of one output element from the operands (`I32` or `I32X4`).
fn binary_value(cx: &mut KernelCx, m: BinaryMath, a: Value, b: Value, fty: Type) -> Value {
    match m {
        BinaryMath::Add { ra, rb, fixed, scalar_a, scalar_b } => {
            let (ra, rb, fixed) = (cx.fconst(fty, ra), cx.fconst(fty, rb), cx.fconst(fty, fixed));
            let x = cx.b.ins().fcvt_from_sint(fty, a);
            let w = cx.b.ins().fcvt_from_sint(fty, b);
            if scalar_a {
                let t = cx.b.ins().fmul(x, ra);
                let t = cx.b.ins().fadd(fixed, t);
                fused(cx, w, rb, t)
            } else if scalar_b {
                let t = cx.b.ins().fmul(w, rb);
                let t = cx.b.ins().fadd(fixed, t);
                fused(cx, x, ra, t)
            } else {
                let t = fused(cx, w, rb, fixed);
                fused(cx, x, ra, t)
            }
        }
        BinaryMath::Mul { za, zb, r, zy } => {
            let ity = if fty.is_vector() { types::I32X4 } else { types::I32 };
            let z = |cx: &mut KernelCx, v: i32| {
                let s = cx.b.ins().iconst(types::I32, i64::from(v));
                if ity.is_vector() {
                    cx.b.ins().splat(ity, s)
                } else {
                    s
                }
            };
            let (za, zb) = (z(cx, za), z(cx, zb));
            let da = cx.b.ins().isub(a, za);
            let db = cx.b.ins().isub(b, zb);
            let p = cx.b.ins().imul(da, db);
            let f = cx.b.ins().fcvt_from_sint(fty, p);
            let (r, zy) = (cx.fconst(fty, r), cx.fconst(fty, zy));
            let t = cx.b.ins().fmul(f, r);
            cx.b.ins().fadd(t, zy)
        }
    }
}

/// `v` if it is a number, else `0` (the interpreter's `NaN as i64` is 0).
fn nan_to_zero(cx: &mut KernelCx, v: Value, fty: Type) -> Value {
    let z = cx.fconst(fty, 0.0);
    let c = cx.b.ins().fcmp(FloatCC::Equal, v, v);
    if fty.is_vector() {
        let m = cx.b.ins().bitcast(fty, super::qgemm::le(), c);
        cx.b.ins().bitselect(m, v, z)
    } else {
        cx.b.ins().select(c, v, z)
    }
}

/// `QLinearBinary { op, .. }` (ONNX Runtime `QLinearAdd` / `QLinearMul`), `u8`/`i8`,
/// per-tensor parameters, numpy broadcasting; the exact formulas of
/// [`int8xc_ir::Op::QLinearBinary`] (the interpreter's operation order, `fma` where it uses
/// `mul_add`), then `y = clamp(rne(v), lo, hi)` (a NaN `v` gives 0, as the interpreter).
///
/// Shapes are collapsed as in the f32 element-wise kernels. Work item: one chunk of at most
/// [`CHUNK`] elements of the collapsed inner run for one outer index; the run is processed
/// 16 elements per step (`f32x4` ×4) when every operand's inner stride is 0 or 1, with a
/// scalar tail.
pub(crate) fn lower_qlinear_binary(
    cx: &mut KernelCx,
    op: BinaryOp,
    out_scale: f32,
    out_zp: i32,
) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=2, 1)?;
    let (ta, tb, to) = (cx.in_ty(0)?, cx.in_ty(1)?, cx.out_ty(0)?);
    let (sa, za) = per_tensor_byte(cx, "input a", ta)?;
    let (sb, zb) = per_tensor_byte(cx, "input b", tb)?;
    if tb.dtype != ta.dtype || to.dtype != ta.dtype {
        return Err(JitError::invalid(cx.node, format!("dtypes {} {} -> {}", ta.dtype, tb.dtype, to.dtype)));
    }
    let (Some(st_a), Some(st_b)) = (broadcast_strides(&ta.shape, &to.shape), broadcast_strides(&tb.shape, &to.shape))
    else {
        return Err(JitError::invalid(
            cx.node,
            format!("{:?} and {:?} do not broadcast to {:?}", ta.shape, tb.shape, to.shape),
        ));
    };
    let math = match op {
        BinaryOp::Add => {
            let (ra, rb) = (sa / out_scale, sb / out_scale);
            let fixed = out_zp as f32 - (ra * za as f32 + rb * zb as f32);
            let (scalar_a, scalar_b) = int8xc_ir::qlinear_scalar_operand(&ta.shape, &tb.shape, &to.shape);
            BinaryMath::Add { ra, rb, fixed, scalar_a, scalar_b }
        }
        BinaryOp::Mul => BinaryMath::Mul { za, zb, r: sa * sb / out_scale, zy: out_zp as f32 },
        other => return Err(JitError::unsupported(cx.node, format!("QLinear form of {other:?}"))),
    };
    let signed = to.dtype == DType::I8;
    let range = byte_range(to.dtype);
    let out_strides: Vec<i64> = int8xc_ir::strides(&to.shape).into_iter().map(i64_of).collect();
    let (dims, st) = collapse(&to.shape, &[st_a, st_b, out_strides]);
    let numel: usize = to.shape.iter().product();
    if numel == 0 {
        return Ok(KernelInfo::default());
    }
    let rank = dims.len();
    let inner = dims[rank - 1];
    let outer_dims = dims[..rank - 1].to_vec();
    let outer: usize = outer_dims.iter().product();
    let chunks = inner.div_ceil(CHUNK);
    let inner_st = [st[0][rank - 1], st[1][rank - 1]];
    let vec_ok = inner_st.iter().all(|&s| s == 0 || s == 1);
    let ptrs = [cx.input(0), cx.input(1), cx.output(0)];
    let rs_s = RoundSat::constant(cx, types::F32, 0, range);
    let rs_v = RoundSat::constant(cx, types::F32X4, 0, range);
    cx.for_items(|cx, item| {
        let (o, c) = if chunks == 1 {
            (item, cx.iconst(0))
        } else {
            let n = cx.iconst(i64_of(chunks));
            (cx.b.ins().udiv(item, n), cx.b.ins().urem(item, n))
        };
        let idx = cx.unravel(o, &outer_dims);
        let start = cx.b.ins().imul_imm_s(c, i64_of(CHUNK));
        let inner_v = cx.iconst(i64_of(inner));
        let rest = cx.b.ins().isub(inner_v, start);
        let full = cx.iconst(i64_of(CHUNK));
        let lt = cx.b.ins().icmp(IntCC::SignedLessThan, rest, full);
        let len = cx.b.ins().select(lt, rest, full);
        let mut bases = [start; 3];
        for (j, &p) in ptrs.iter().enumerate() {
            let off = cx.dot_strides(&idx, &st[j][..rank - 1]);
            let s = cx.b.ins().imul_imm_s(start, st[j][rank - 1]);
            let off = cx.b.ins().iadd(off, s);
            bases[j] = cx.b.ins().iadd(p, off);
        }
        let zero = cx.iconst(0);
        let vend = if vec_ok {
            let vend = cx.b.ins().band_imm_s(len, !15);
            cx.for_range(zero, vend, 16, |cx, k| {
                let mut ops = [[zero; 4]; 2];
                for j in 0..2 {
                    ops[j] = if inner_st[j] == 0 {
                        let s = load_int(cx, types::I8, signed, bases[j]);
                        let v = cx.b.ins().splat(types::I32X4, s);
                        [v; 4]
                    } else {
                        let a = cx.b.ins().iadd(bases[j], k);
                        load_bytes_x16(cx, a, signed)
                    };
                }
                let mut q = [zero; 4];
                for (l, qv) in q.iter_mut().enumerate() {
                    let v = binary_value(cx, math, ops[0][l], ops[1][l], types::F32X4);
                    let v = nan_to_zero(cx, v, types::F32X4);
                    *qv = rs_v.apply(cx, v);
                }
                let o = cx.b.ins().iadd(bases[2], k);
                store_bytes_x16(cx, q, signed, o);
            });
            vend
        } else {
            zero
        };
        cx.for_range(vend, len, 1, |cx, k| {
            let mut v = [zero; 2];
            for j in 0..2 {
                let off = cx.b.ins().imul_imm_s(k, inner_st[j]);
                let a = cx.b.ins().iadd(bases[j], off);
                v[j] = load_int(cx, types::I8, signed, a);
            }
            let f = binary_value(cx, math, v[0], v[1], types::F32);
            let f = nan_to_zero(cx, f, types::F32);
            let q = rs_s.apply(cx, f);
            let o = cx.b.ins().iadd(bases[2], k);
            store_int(cx, q, types::I8, o);
        });
    });
    Ok(KernelInfo { work_items: outer * chunks, scratch_bytes: 0 })
}

/// [`int8xc_ir::qlinear_lookup_table`] as bytes.
fn lookup_table(dtype: DType, px: (f32, i32), py: (f32, i32), f: impl Fn(f32) -> f32) -> Vec<u8> {
    qlinear_lookup_table(dtype, px, py, f).iter().map(|&q| q as u8).collect()
}

/// `dst[k] = table[src[k]]` for `k` in `0..len` (run-time `len`; bytes; `table` in scratch).
fn emit_lookup(cx: &mut KernelCx, src: Value, dst: Value, table: Value, len: Value) {
    let zero = cx.iconst(0);
    let ptr_ty = cx.ptr_ty();
    cx.for_range(zero, len, 1, |cx, k| {
        let a = cx.b.ins().iadd(src, k);
        let x = cx.load(types::I8, a, 0);
        let x = cx.b.ins().uextend(ptr_ty, x);
        let t = cx.b.ins().iadd(table, x);
        let y = cx.load(types::I8, t, 0);
        let o = cx.b.ins().iadd(dst, k);
        cx.store(y, o, 0);
    });
}

/// `QLinearUnary { op, .. }` (ONNX Runtime `QLinearLeakyRelu`, `QLinearSigmoid`, …): `u8`/`i8`
/// per tensor; `y = table[x]` with the 256-entry table of [`int8xc_ir::Op::QLinearUnary`]
/// computed at compile time with the interpreter's scalar function. Work item: a chunk of
/// [`CHUNK`] elements.
pub(crate) fn lower_qlinear_unary(
    cx: &mut KernelCx,
    op: UnaryOp,
    out_scale: f32,
    out_zp: i32,
) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let (tx, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let px = per_tensor_byte(cx, "input", tx)?;
    if to.dtype != tx.dtype || to.shape != tx.shape {
        return Err(JitError::invalid(cx.node, format!("input {tx} -> output {to}")));
    }
    if matches!(op, UnaryOp::Math(_)) {
        return Err(JitError::unsupported(cx.node, format!("QLinear lookup table of {op:?}")));
    }
    let table = lookup_table(tx.dtype, px, (out_scale, out_zp), |v| qlinear_activation(op, v).unwrap_or(f32::NAN));
    let numel = tx.numel();
    if numel == 0 {
        return Ok(KernelInfo::default());
    }
    let (src, dst, scratch) = (cx.input(0), cx.output(0), cx.scratch());
    emit_table(cx, scratch, &table);
    cx.for_items(|cx, item| {
        let start = cx.b.ins().imul_imm_s(item, i64_of(CHUNK));
        let total = cx.iconst(i64_of(numel));
        let rest = cx.b.ins().isub(total, start);
        let full = cx.iconst(i64_of(CHUNK));
        let lt = cx.b.ins().icmp(IntCC::SignedLessThan, rest, full);
        let len = cx.b.ins().select(lt, rest, full);
        let s = cx.b.ins().iadd(src, start);
        let d = cx.b.ins().iadd(dst, start);
        emit_lookup(cx, s, d, scratch, len);
    });
    Ok(KernelInfo { work_items: numel.div_ceil(CHUNK), scratch_bytes: 256 })
}

/// `QLinearConcat { axis, .. }` (ONNX Runtime `QLinearConcat`): as `Concat`, each input's
/// elements requantized through its 256-entry table `quantize_f32(s_i * f32(x - zp_i), s_y,
/// zp_y)` (a plain copy when its parameters equal the output's). Work item: one index of the
/// dims before `axis` (every input's block for it).
pub(crate) fn lower_qlinear_concat(
    cx: &mut KernelCx,
    axis: usize,
    out_scale: f32,
    out_zp: i32,
) -> Result<KernelInfo, JitError> {
    let n_in = cx.node.inputs.len();
    cx.expect_arity(1..=usize::MAX, 1)?;
    let to = cx.out_ty(0)?;
    let rank = to.rank();
    if axis >= rank || !matches!(to.dtype, DType::U8 | DType::I8) {
        return Err(JitError::invalid(cx.node, format!("axis {axis} / output {to}")));
    }
    let mut tables: Vec<u8> = Vec::new();
    // (block length along axis, scratch offset of the table or None for a copy)
    let mut parts = Vec::with_capacity(n_in);
    let mut total = 0usize;
    for j in 0..n_in {
        let t = cx.in_ty(j)?;
        let p = per_tensor_byte(cx, &format!("input {j}"), t)?;
        let ok = t.dtype == to.dtype && t.rank() == rank && (0..rank).all(|d| d == axis || t.shape[d] == to.shape[d]);
        if !ok {
            return Err(JitError::invalid(cx.node, format!("input {j} ({t}) does not match output {to}")));
        }
        total += t.shape[axis];
        let table = if p == (out_scale, out_zp) {
            None
        } else {
            let off = tables.len();
            tables.extend(lookup_table(to.dtype, p, (out_scale, out_zp), |v| v));
            Some(off)
        };
        parts.push((t.shape[axis], table));
    }
    if total != to.shape[axis] {
        return Err(JitError::invalid(cx.node, format!("inputs sum to {total} along axis {axis}, output {to}")));
    }
    let outer: usize = to.shape[..axis].iter().product();
    let inner: usize = to.shape[axis + 1..].iter().product();
    if outer == 0 || inner == 0 || total == 0 {
        return Ok(KernelInfo::default());
    }
    let scratch = cx.scratch();
    emit_table(cx, scratch, &tables);
    let dst = cx.output(0);
    let srcs: Vec<Value> = (0..n_in).map(|j| cx.input(j)).collect();
    cx.for_items(|cx, o| {
        let mut at = 0usize;
        for (j, &(d, table)) in parts.iter().enumerate() {
            let block = d * inner;
            if block == 0 {
                continue;
            }
            let so = cx.b.ins().imul_imm_s(o, i64_of(block));
            let s = cx.b.ins().iadd(srcs[j], so);
            let dof = cx.b.ins().imul_imm_s(o, i64_of(total * inner));
            let dof = cx.b.ins().iadd_imm_s(dof, i64_of(at));
            let dp = cx.b.ins().iadd(dst, dof);
            match table {
                None => copy_static(cx, s, dp, block),
                Some(off) => {
                    let t = cx.b.ins().iadd_imm_s(scratch, i64_of(off));
                    let len = cx.iconst(i64_of(block));
                    emit_lookup(cx, s, dp, t, len);
                }
            }
            at += block;
        }
    });
    Ok(KernelInfo { work_items: outer, scratch_bytes: tables.len() })
}

/// ONNX Runtime's softmax exponent table (the interpreter's `softmax_table`):
/// `table[v] = f32(exp((v - 255 + shift) * s_x))` in f64, `shift = max(0, ln(f64(f32::MAX /
/// f32(D))) - 5) / s_x`.
fn softmax_table(sx: f32, reduce_len: usize) -> Vec<u8> {
    let bit_shift = ((f32::MAX / reduce_len as f32) as f64).ln();
    let bit_shift = (bit_shift - 5.0).max(0.0) / sx as f64;
    (0..256).flat_map(|i| (((i as f64 - 255.0 + bit_shift) * sx as f64).exp() as f32).to_le_bytes()).collect()
}

/// `QLinearSoftmax { axis, .. }` (ONNX Runtime `QLinearSoftmax`), `u8`/`i8` per tensor,
/// exactly [`int8xc_ir::Op::QLinearSoftmax`] as the interpreter computes it:
///
/// ```text
/// m = max_j x[j];  e[j] = table[(255 - m + x[j]) & 0xff];  sum = Σ_j e[j]  (f32, j order)
/// y[j] = min(rne(e[j] * floor(1 / s_y) / sum) + zp_y, dtype max)
/// ```
///
/// (the rounding uses the `1.5·2²³` trick, so `floor(1 / s_y)` must be below `2²²`; larger
/// is unsupported). Work item: one softmax vector (`item = outer · inner + i`, elements
/// `inner` apart).
pub(crate) fn lower_qlinear_softmax(
    cx: &mut KernelCx,
    axis: usize,
    out_scale: f32,
    out_zp: i32,
) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let (tx, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let (sx, _) = per_tensor_byte(cx, "input", tx)?;
    if to.dtype != tx.dtype || to.shape != tx.shape || axis >= tx.rank() {
        return Err(JitError::invalid(cx.node, format!("input {tx} -> output {to}, axis {axis}")));
    }
    let k = (1.0 / out_scale).floor();
    if k.is_nan() || k >= (1u32 << 22) as f32 {
        return Err(JitError::unsupported(cx.node, format!("output scale {out_scale} (1 / scale >= 2^22)")));
    }
    let d = tx.shape[axis];
    let inner: usize = tx.shape[axis + 1..].iter().product();
    let outer: usize = tx.shape[..axis].iter().product();
    if d == 0 || inner == 0 || outer == 0 {
        return Ok(KernelInfo::default());
    }
    let signed = tx.dtype == DType::I8;
    let top = if signed { 127 } else { 255 };
    let table = softmax_table(sx, d);
    let (src, dst, scratch) = (cx.input(0), cx.output(0), cx.scratch());
    emit_table(cx, scratch, &table);
    let ptr_ty = cx.ptr_ty();
    let (di, step) = (i64_of(d), i64_of(inner));
    cx.for_items(|cx, item| {
        let (o, i) = if inner == 1 {
            (item, cx.iconst(0))
        } else {
            let n = cx.iconst(step);
            (cx.b.ins().udiv(item, n), cx.b.ins().urem(item, n))
        };
        let base = cx.b.ins().imul_imm_s(o, di * step);
        let base = cx.b.ins().iadd(base, i);
        let xs = cx.b.ins().iadd(src, base);
        let ys = cx.b.ins().iadd(dst, base);
        let at = |cx: &mut KernelCx, p: Value, j: Value| {
            let off = cx.b.ins().imul_imm_s(j, step);
            cx.b.ins().iadd(p, off)
        };
        let m = cx.b.declare_var(types::I32);
        let lowest = cx.b.ins().iconst(types::I32, if signed { -128 } else { 0 });
        cx.b.def_var(m, lowest);
        cx.for_static(0, di, 1, |cx, j| {
            let a = at(cx, xs, j);
            let v = load_int(cx, types::I8, signed, a);
            let cur = cx.b.use_var(m);
            let nx = cx.b.ins().smax(cur, v);
            cx.b.def_var(m, nx);
        });
        let mx = cx.b.use_var(m);
        let c255 = cx.b.ins().iconst(types::I32, 255);
        let shift = cx.b.ins().isub(c255, mx);
        let e = |cx: &mut KernelCx, j: Value| {
            let a = at(cx, xs, j);
            let v = load_int(cx, types::I8, signed, a);
            let t = cx.b.ins().iadd(v, shift);
            let t = cx.b.ins().band_imm_s(t, 0xff);
            let t = cx.b.ins().uextend(ptr_ty, t);
            let p = cx.b.ins().imul_imm_s(t, 4);
            let p = cx.b.ins().iadd(scratch, p);
            cx.load(types::F32, p, 0)
        };
        let sum = cx.b.declare_var(types::F32);
        let z = cx.b.ins().f32const(0.0);
        cx.b.def_var(sum, z);
        cx.for_static(0, di, 1, |cx, j| {
            let ev = e(cx, j);
            let s = cx.b.use_var(sum);
            let s = cx.b.ins().fadd(s, ev);
            cx.b.def_var(sum, s);
        });
        let total = cx.b.use_var(sum);
        let kv = cx.b.ins().f32const(k);
        let magic = cx.b.ins().f32const(MAGIC);
        cx.for_static(0, di, 1, |cx, j| {
            let ev = e(cx, j);
            let r = cx.b.ins().fmul(ev, kv);
            let r = cx.b.ins().fdiv(r, total);
            // r is in [0, k]: round half to even with the magic constant
            let g = cx.b.ins().fadd(r, magic);
            let bits = cx.b.ins().bitcast(types::I32, super::qgemm::le(), g);
            let y = cx.b.ins().iadd_imm_s(bits, i64::from(out_zp) - i64::from(MAGIC_BITS));
            let top_v = cx.b.ins().iconst(types::I32, top);
            let y = cx.b.ins().smin(y, top_v);
            let a = at(cx, ys, j);
            store_int(cx, y, types::I8, a);
        });
    });
    Ok(KernelInfo { work_items: outer * inner, scratch_bytes: table.len() })
}
