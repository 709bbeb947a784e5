//! Data-movement kernels.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder};

use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// Bytes one copy work item moves (a multiple of 16).
const COPY_CHUNK: usize = 64 * 1024;

/// `Reshape`: the output is a byte copy of the input (same row-major elements, new static
/// shape). Work item: one chunk of [`COPY_CHUNK`] bytes; 16-byte vector moves and a byte tail.
pub(crate) fn lower_reshape(cx: &mut KernelCx) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    if ti.dtype != to.dtype || ti.size_bytes() != to.size_bytes() {
        return Err(JitError::invalid(cx.node, format!("cannot reshape {ti} to {to}")));
    }
    Ok(emit_copy(cx, to.size_bytes()))
}

/// Copies `bytes` bytes from input 0 to output 0, chunked into work items.
pub(crate) fn emit_copy(cx: &mut KernelCx, bytes: usize) -> KernelInfo {
    if bytes == 0 {
        return KernelInfo::default();
    }
    let (src, dst) = (cx.input(0), cx.output(0));
    cx.for_items(|cx, item| {
        let start = cx.b.ins().imul_imm_s(item, i64_of(COPY_CHUNK));
        let end_full = cx.b.ins().iadd_imm_s(start, i64_of(COPY_CHUNK));
        let total = cx.iconst(i64_of(bytes));
        let lt = cx.b.ins().icmp(IntCC::SignedLessThan, end_full, total);
        let end = cx.b.ins().select(lt, end_full, total);
        let len = cx.b.ins().isub(end, start);
        let s = cx.b.ins().iadd(src, start);
        let d = cx.b.ins().iadd(dst, start);
        let vend = cx.b.ins().band_imm_s(len, !15i64);
        let zero = cx.iconst(0);
        cx.for_range(zero, vend, 16, |cx, k| {
            let a = cx.b.ins().iadd(s, k);
            let v = cx.load(types::I8X16, a, 0);
            let o = cx.b.ins().iadd(d, k);
            cx.store(v, o, 0);
        });
        cx.for_range(vend, len, 1, |cx, k| {
            let a = cx.b.ins().iadd(s, k);
            let v = cx.load(types::I8, a, 0);
            let o = cx.b.ins().iadd(d, k);
            cx.store(v, o, 0);
        });
    });
    KernelInfo { work_items: bytes.div_ceil(COPY_CHUNK), scratch_bytes: 0 }
}
