//! `Cast { to }` (ONNX `Cast`, opsets 6–21; `CastLike` is imported as `Cast`) between every
//! pair of dtypes, exactly as the interpreter (`backend-interp/src/ops/movement.rs`, `cast`):
//!
//! - The source element is read into one of two domains: *float* (`f32`, and `f16` widened
//!   exactly, [`f16_to_f32`](super::f16::f16_to_f32)) or *integer* (`i64`; narrower integers sign-extended, `u8`,
//!   `u4` and `bool` zero-extended, `i4` sign-extended from its nibble).
//! - float → `f32`: itself; → `f16`: rounded to nearest even ([`f32_to_f16`]); → `bool`:
//!   `x != 0` (NaN is true); → `i64`: truncated toward zero, out of range or NaN giving
//!   `i64::MIN`; → any narrower integer (4-bit included): truncated to `i32` the same way
//!   (`i32::MIN` when out of range or NaN, x86-64 `cvttss2si`) and then wrapped to the target
//!   width (no saturation: what numpy, ONNX Runtime on x86-64 and `ml_dtypes` do).
//! - integer → `f32`: rounded to nearest even; → `f16`: through `f32`, which is exact for
//!   every integer that does not overflow f16 (`|x| < 2^24`), and larger ones are `±inf`
//!   both ways, so this equals the interpreter's single rounding; → `bool`: `x != 0`; →
//!   integer: wraps (two's complement truncation; 4-bit keeps the low nibble).
//! - Same dtype: a byte copy.
//!
//! Work item: a chunk of at most [`CHUNK`] elements converted one by one; for a packed 4-bit
//! output, a chunk of whole output bytes ([`int4::emit_packed_map`]).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use int8xc_ir::DType;

use super::f16::{f32_to_f16, load_f16};
use super::{i64_of, int4, movement, KernelCx, KernelInfo};
use crate::JitError;

/// Most elements one work item converts (non-4-bit outputs).
const CHUNK: usize = 16 * 1024;

/// A source element after loading: in the float domain (an `f32`) or the integer domain (an
/// exact `i64`).
#[derive(Clone, Copy)]
enum Elem {
    Float(Value),
    Int(Value),
}

/// The integer type one element of a byte-addressable `dt` is stored as; `None` for `f32`
/// and the 4-bit types.
fn int_mem_ty(dt: DType) -> Option<Type> {
    match dt {
        DType::I64 => Some(types::I64),
        DType::I32 => Some(types::I32),
        DType::I16 | DType::F16 => Some(types::I16),
        DType::I8 | DType::U8 | DType::Bool => Some(types::I8),
        DType::F32 | DType::I4 | DType::U4 => None,
    }
}

/// Bytes per element of a byte-addressable dtype (`f32`: 4).
fn elem_bytes(dt: DType) -> i64 {
    i64_of(dt.bits() / 8)
}

/// Loads element `k` (pointer-sized index) of the input `src` of dtype `from`.
fn load_elem(cx: &mut KernelCx, src: Value, k: Value, from: DType) -> Elem {
    match from {
        DType::F32 => {
            let a = cx.elem_addr(src, k, 4);
            Elem::Float(cx.load(types::F32, a, 0))
        }
        DType::F16 => {
            let a = cx.elem_addr(src, k, 2);
            Elem::Float(load_f16(cx, a))
        }
        DType::I4 | DType::U4 => {
            let v = int4::load_int4(cx, src, k, from == DType::I4);
            Elem::Int(cx.b.ins().sextend(types::I64, v))
        }
        _ => {
            let ty = int_mem_ty(from).unwrap_or(types::I64);
            let a = cx.elem_addr(src, k, i64::from(ty.bytes()));
            let v = cx.load(ty, a, 0);
            Elem::Int(match from {
                DType::I64 => v,
                DType::U8 | DType::Bool => cx.b.ins().uextend(types::I64, v),
                _ => cx.b.ins().sextend(types::I64, v),
            })
        }
    }
}

/// `float → integer` as the interpreter does it (x86-64 `cvttss2si`): truncate toward zero
/// when `-limit <= x < limit`, else (out of range or NaN) `min` of the `ty` (`i32`/`i64`).
fn float_to_int(cx: &mut KernelCx, x: Value, ty: Type) -> Value {
    let limit = if ty == types::I64 { 9_223_372_036_854_775_808.0f32 } else { 2_147_483_648.0f32 };
    let (lo, hi) = (cx.fconst(types::F32, -limit), cx.fconst(types::F32, limit));
    let ge = cx.b.ins().fcmp(FloatCC::GreaterThanOrEqual, x, lo);
    let lt = cx.b.ins().fcmp(FloatCC::LessThan, x, hi);
    let ok = cx.b.ins().band(ge, lt);
    let zero = cx.fconst(types::F32, 0.0);
    let safe = cx.b.ins().select(ok, x, zero);
    let t = cx.b.ins().fcvt_to_sint_sat(ty, safe);
    let min = if ty == types::I64 { i64::MIN } else { i64::from(i32::MIN) };
    let min = cx.b.ins().iconst(ty, min);
    cx.b.ins().select(ok, t, min)
}

/// Converts `x` to `to` (see the module docs): a value of the type `to` is stored as (`F32`,
/// or [`int_mem_ty`]); for 4-bit targets an `i32` whose low nibble is the result.
fn convert(cx: &mut KernelCx, x: Elem, to: DType) -> Value {
    match x {
        Elem::Float(f) => match to {
            DType::F32 => f,
            DType::F16 => {
                let h = f32_to_f16(cx, f);
                cx.b.ins().ireduce(types::I16, h)
            }
            DType::Bool => {
                let z = cx.fconst(types::F32, 0.0);
                cx.b.ins().fcmp(FloatCC::NotEqual, f, z)
            }
            DType::I64 => float_to_int(cx, f, types::I64),
            _ => {
                let v = float_to_int(cx, f, types::I32);
                narrow(cx, v, to)
            }
        },
        Elem::Int(w) => match to {
            DType::F32 => cx.b.ins().fcvt_from_sint(types::F32, w),
            DType::F16 => {
                let f = cx.b.ins().fcvt_from_sint(types::F32, w);
                let h = f32_to_f16(cx, f);
                cx.b.ins().ireduce(types::I16, h)
            }
            DType::Bool => cx.b.ins().icmp_imm_s(IntCC::NotEqual, w, 0),
            DType::I64 => w,
            _ => {
                let v = cx.b.ins().ireduce(types::I32, w);
                narrow(cx, v, to)
            }
        },
    }
}

/// Wraps the `i32` `v` to the integer dtype `to` (`i32` and narrower; 4-bit: unchanged, the
/// caller keeps the low nibble).
fn narrow(cx: &mut KernelCx, v: Value, to: DType) -> Value {
    match to {
        DType::I16 => cx.b.ins().ireduce(types::I16, v),
        DType::I8 | DType::U8 => cx.b.ins().ireduce(types::I8, v),
        _ => v,
    }
}

/// `Cast { to }`; see the module docs.
pub(crate) fn lower_cast(cx: &mut KernelCx, to: DType) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let (ti, tout) = (cx.in_ty(0)?, cx.out_ty(0)?);
    if tout.dtype != to || ti.shape != tout.shape {
        return Err(JitError::invalid(cx.node, format!("cast {ti} to {to} gives {tout}")));
    }
    let from = ti.dtype;
    if from == to {
        return Ok(movement::emit_copy(cx, ti.size_bytes()));
    }
    let numel = ti.numel();
    let (src, dst) = (cx.input(0), cx.output(0));
    if matches!(to, DType::I4 | DType::U4) {
        return Ok(int4::emit_packed_map(cx, numel, dst, &mut |cx, k| {
            let x = load_elem(cx, src, k, from);
            convert(cx, x, to)
        }));
    }
    if numel == 0 {
        return Ok(KernelInfo::default());
    }
    let ob = elem_bytes(to);
    cx.for_items(|cx, item| {
        let start = cx.b.ins().imul_imm_s(item, i64_of(CHUNK));
        let end_full = cx.b.ins().iadd_imm_s(start, i64_of(CHUNK));
        let total = cx.iconst(i64_of(numel));
        let lt = cx.b.ins().icmp(IntCC::SignedLessThan, end_full, total);
        let end = cx.b.ins().select(lt, end_full, total);
        cx.for_range(start, end, 1, |cx, k| {
            let x = load_elem(cx, src, k, from);
            let y = convert(cx, x, to);
            let d = cx.elem_addr(dst, k, ob);
            cx.store(y, d, 0);
        });
    });
    Ok(KernelInfo { work_items: numel.div_ceil(CHUNK), scratch_bytes: 0 })
}
