//! Packed 4-bit tensors (`i4`, `u4`): two elements per byte, element `2j` in the low nibble
//! of byte `j` and `2j + 1` in the high nibble (ONNX opset 21 layout, as
//! [`int8xc_ir::DType::I4`] documents and the interpreter stores them). An odd element count
//! leaves the last byte's high nibble 0.
//!
//! Kernels that write a packed output work on whole bytes (a work item never shares a byte
//! with another one, so threads never write the same byte).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};

use super::{i64_of, KernelCx, KernelInfo};

/// Most output bytes one work item of [`emit_packed_map`] writes.
const CHUNK_BYTES: usize = 8 * 1024;

/// Loads element `k` (pointer-sized index) of the packed 4-bit tensor at `base` as `i32`:
/// sign-extended from 4 bits when `signed` (`i4`), zero-extended otherwise (`u4`).
pub(crate) fn load_int4(cx: &mut KernelCx, base: Value, k: Value, signed: bool) -> Value {
    let byte_idx = cx.b.ins().ushr_imm_u(k, 1);
    let a = cx.b.ins().iadd(base, byte_idx);
    let byte = cx.load(types::I8, a, 0);
    let byte = cx.b.ins().uextend(types::I32, byte);
    let odd = cx.b.ins().band_imm_s(k, 1);
    let odd = cx.b.ins().ireduce(types::I32, odd);
    let shift = cx.b.ins().ishl_imm_u(odd, 2);
    let v = cx.b.ins().ushr(byte, shift);
    if signed {
        let v = cx.b.ins().ishl_imm_u(v, 28);
        cx.b.ins().sshr_imm_u(v, 28)
    } else {
        cx.b.ins().band_imm_s(v, 0xf)
    }
}

/// Emits `out[e] = value(e)` for the `numel` elements of the packed 4-bit output at `dst`:
/// `value` gets the pointer-sized element index and returns an `i32` whose low 4 bits are
/// stored (higher bits are dropped, which wraps to 4 bits).
///
/// Work item: a chunk of at most [`CHUNK_BYTES`] output bytes (`2 ·` as many elements).
pub(crate) fn emit_packed_map(
    cx: &mut KernelCx,
    numel: usize,
    dst: Value,
    value: &mut dyn FnMut(&mut KernelCx, Value) -> Value,
) -> KernelInfo {
    let bytes = numel.div_ceil(2);
    if bytes == 0 {
        return KernelInfo::default();
    }
    let full_pairs = i64_of(numel / 2);
    let odd_tail = numel % 2 == 1;
    let mut pack = |cx: &mut KernelCx, j: Value, hi: Option<Value>| {
        let e0 = cx.b.ins().ishl_imm_u(j, 1);
        let lo = value(cx, e0);
        let lo = cx.b.ins().band_imm_s(lo, 0xf);
        let byte = match hi {
            Some(e1) => {
                let h = value(cx, e1);
                let h = cx.b.ins().ishl_imm_u(h, 4);
                cx.b.ins().bor(lo, h)
            }
            None => lo,
        };
        let byte = cx.b.ins().ireduce(types::I8, byte);
        let a = cx.b.ins().iadd(dst, j);
        cx.store(byte, a, 0);
    };
    cx.for_items(|cx, item| {
        let start = cx.b.ins().imul_imm_s(item, i64_of(CHUNK_BYTES));
        let end_full = cx.b.ins().iadd_imm_s(start, i64_of(CHUNK_BYTES));
        let pairs = cx.iconst(full_pairs);
        let lt = cx.b.ins().icmp(IntCC::SignedLessThan, end_full, pairs);
        let end = cx.b.ins().select(lt, end_full, pairs);
        cx.for_range(start, end, 1, |cx, j| {
            let e0 = cx.b.ins().ishl_imm_u(j, 1);
            let e1 = cx.b.ins().iadd_imm_s(e0, 1);
            pack(cx, j, Some(e1));
        });
        if odd_tail {
            // The last byte holds one element; the item whose range reaches it writes it.
            let last = cx.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, end_full, full_pairs);
            cx.if_then(last, |cx| {
                let j = cx.iconst(full_pairs);
                pack(cx, j, None);
            });
        }
    });
    KernelInfo { work_items: bytes.div_ceil(CHUNK_BYTES), scratch_bytes: 0 }
}
