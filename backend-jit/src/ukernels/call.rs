//! Emitting a call to the f32 GEMM ukernel from a kernel being lowered: the [`SgemmArgs`]
//! block is built in a stack slot of the generated function (one 8-byte store per field) and
//! its address passed to the imported function.

use cranelift_codegen::ir::{self, InstBuilder, StackSlotData, StackSlotKind, Value};
use cranelift_module::FuncId;

use super::{SgemmArgs, UkernelImports};
use crate::kernels::KernelCx;

/// An operand that is either known at compile time or computed by the generated code.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Operand {
    /// An immediate.
    Imm(i64),
    /// A pointer-sized run-time value.
    Val(Value),
}

/// One call's arguments (fields as in [`SgemmArgs`]; pointers are run-time values).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SgemmCall {
    pub a: Value,
    pub lda: i64,
    pub a_packed: bool,
    pub b: Value,
    pub ldb: i64,
    pub b_panel: i64,
    pub c: Value,
    pub ldc: i64,
    /// `(ptr, rs, cs)` with `cs` 0 or 1.
    pub bias: Option<(Value, i64, i64)>,
    pub m: Operand,
    pub n: Operand,
    pub k: i64,
}

/// Emits `uk(&args)` at the builder's position.
pub(crate) fn emit_sgemm_call(cx: &mut KernelCx, uk: &UkernelImports, call: &SgemmCall) {
    let (bias, bias_rs, bias_cs) = match call.bias {
        Some((p, rs, cs)) => (Operand::Val(p), rs, cs),
        None => (Operand::Imm(0), 0, 0),
    };
    let flags = if call.a_packed { SgemmArgs::A_PACKED } else { 0 };
    // Field order of `SgemmArgs`.
    let fields = [
        Operand::Val(call.a),
        Operand::Imm(call.lda),
        Operand::Val(call.b),
        Operand::Imm(call.ldb),
        Operand::Imm(call.b_panel),
        Operand::Val(call.c),
        Operand::Imm(call.ldc),
        bias,
        Operand::Imm(bias_rs),
        Operand::Imm(bias_cs),
        call.m,
        call.n,
        Operand::Imm(call.k),
        Operand::Imm(flags),
    ];
    debug_assert_eq!(fields.len(), SgemmArgs::FIELDS);
    emit_call(cx, uk, uk.sgemm_func, &fields);
}

/// Emits a call of the ukernel `func` (signature `fn(args: ptr)`) with an argument block
/// of 8-byte `fields`, built in a stack slot of the generated function.
pub(crate) fn emit_call(cx: &mut KernelCx, uk: &UkernelImports, func: FuncId, fields: &[Operand]) {
    let ptr_ty = cx.ptr_ty();
    let size = (fields.len() * 8) as u32;
    let slot = cx.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 3));
    for (i, f) in fields.iter().enumerate() {
        let v = match *f {
            Operand::Imm(x) => cx.iconst(x),
            Operand::Val(v) => v,
        };
        cx.b.ins().stack_store(ptr_ty, v, slot, (i * 8) as i32);
    }
    let addr = cx.b.ins().stack_addr(ptr_ty, slot, 0);
    // As `cranelift_module::Module::declare_func_in_func` does for an imported function
    // (namespace 0 = functions, index = the `FuncId`; imports are not colocated).
    let f = &mut *cx.b.func;
    let signature = f.import_signature(uk.sig.clone());
    let name = f.declare_imported_user_function(ir::UserExternalName { namespace: 0, index: func.as_u32() });
    let fref = f.import_function(ir::ExtFuncData {
        name: ir::ExternalName::user(name),
        signature,
        colocated: false,
        patchable: false,
    });
    cx.b.ins().call(fref, &[addr]);
}
