//! Ahead-of-time object files (ELF relocatable, via `cranelift-object`).
//!
//! The object exports:
//!
//! - every kernel as a function `int8xc_k{i}_{node}` with the kernel signature of
//!   [`crate::kernels`];
//! - every constant buffer (raw or packed weights) as a read-only data object
//!   `int8xc_const{i}`, 64-byte aligned;
//! - `int8xc_model_arena_bytes: u64`: the arena size the caller must provide (64-byte
//!   aligned): planned values first, then one kernel scratch buffer;
//! - `int8xc_model_input_offsets: [u64; n_inputs]` and `int8xc_model_output_offsets:
//!   [u64; n_outputs]`: where the caller writes each input and reads each output (dense,
//!   row-major, little-endian); `u64::MAX` marks an output that is a constant;
//! - the driver `uint64_t int8xc_model_run(uint8_t *arena)`, which calls every kernel in
//!   graph order over its full work range (single-threaded) with pointers into `arena` and to
//!   the constants, and returns 0; or, when kernel `k` finds a bad run-time value (an index
//!   out of range, see [`crate::kernels::fault`]), stops after it and returns `1 + k`: the
//!   outputs are then not valid.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Signature, StackSlotData, StackSlotKind, UserFuncName};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{default_libcall_names, DataDescription, Linkage, Module};
use cranelift_object::{ObjectBuilder, ObjectModule};
use int8xc_ir::{Graph, ValueDef};
use target_lexicon::Triple;

use crate::kernels::fault;
use crate::module::{build_kernels, ArgSource};
use crate::target::{triple_isa, IsaConfig, TargetFeatures};
use crate::{JitError, JitOptions};

/// Name of the exported driver function.
pub const DRIVER_SYMBOL: &str = "int8xc_model_run";

fn cg(node: &str, e: impl std::fmt::Display) -> JitError {
    JitError::Codegen { node: node.to_string(), message: e.to_string() }
}

fn define_data(
    module: &mut ObjectModule,
    name: &str,
    bytes: Vec<u8>,
    align: u64,
) -> Result<cranelift_module::DataId, JitError> {
    let id = module.declare_data(name, Linkage::Export, false, false).map_err(|e| cg(name, e))?;
    let mut d = DataDescription::new();
    d.define(bytes.into_boxed_slice());
    d.set_align(align);
    module.define_data(id, &d).map_err(|e| cg(name, e))?;
    Ok(id)
}

fn u64_bytes(v: impl IntoIterator<Item = u64>) -> Vec<u8> {
    v.into_iter().flat_map(u64::to_le_bytes).collect()
}

pub(crate) fn emit(graph: &Graph, triple: &Triple, options: &JitOptions) -> Result<Vec<u8>, JitError> {
    let cfg = IsaConfig { opt_level: options.opt_level, pic: true, verify: options.verify };
    let isa = triple_isa(triple, cfg)?;
    let target = TargetFeatures::new(isa.clone());
    let builder = ObjectBuilder::new(isa, graph.name.as_bytes().to_vec(), default_libcall_names())
        .map_err(|e| cg("<object>", e))?;
    let mut module = ObjectModule::new(builder);
    let compiled = build_kernels(&mut module, graph, &target, Linkage::Export)?;

    let mut const_ids = Vec::with_capacity(compiled.consts.len());
    for (i, c) in compiled.consts.into_iter().enumerate() {
        const_ids.push(define_data(&mut module, &format!("int8xc_const{i}"), c, 64)?);
    }
    let arena_bytes = compiled.plan.arena_bytes();
    let total = (arena_bytes + compiled.scratch_bytes) as u64;
    define_data(&mut module, "int8xc_model_arena_bytes", u64_bytes([total]), 8)?;
    let offset = |v: int8xc_ir::ValueId| match graph.value(v).def {
        ValueDef::Const(_) => u64::MAX,
        _ => compiled.plan.slot(v).map_or(u64::MAX, |s| s.offset as u64),
    };
    define_data(&mut module, "int8xc_model_input_offsets", u64_bytes(graph.inputs.iter().map(|&v| offset(v))), 8)?;
    define_data(&mut module, "int8xc_model_output_offsets", u64_bytes(graph.outputs.iter().map(|&v| offset(v))), 8)?;

    // The driver.
    let ptr_ty = module.target_config().pointer_type();
    let mut sig = Signature::new(module.isa().default_call_conv());
    sig.params.push(AbiParam::new(ptr_ty));
    sig.returns.push(AbiParam::new(types::I64));
    let driver = module.declare_function(DRIVER_SYMBOL, Linkage::Export, &sig).map_err(|e| cg(DRIVER_SYMBOL, e))?;
    let mut ctx = module.make_context();
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(1, 0);
    let mut fbc = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fbc);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let arena = b.block_params(entry)[0];
        let const_gvs: Vec<_> = const_ids.iter().map(|&id| module.declare_data_in_func(id, b.func)).collect();
        let pbytes = ptr_ty.bytes();
        let record = b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, fault::RECORD_BYTES, 3));
        for (index, k) in compiled.kernels.iter().enumerate() {
            if k.info.work_items == 0 {
                continue;
            }
            let n = k.args.len() as u32 + 1 + u32::from(k.fault.is_some());
            let slot = b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, n * pbytes, 3));
            for (i, a) in k.args.iter().enumerate() {
                let p = match *a {
                    ArgSource::Arena(off) => b.ins().iadd_imm_s(arena, off as i64),
                    ArgSource::Const(c) => b.ins().symbol_value(ptr_ty, const_gvs[c]),
                };
                b.ins().stack_store(ptr_ty, p, slot, (i as u32 * pbytes) as i32);
            }
            let scratch = b.ins().iadd_imm_s(arena, arena_bytes as i64);
            b.ins().stack_store(ptr_ty, scratch, slot, (k.args.len() as u32 * pbytes) as i32);
            if k.fault.is_some() {
                let zero = b.ins().iconst(types::I64, 0);
                b.ins().stack_store(ptr_ty, zero, record, fault::CODE_OFFSET);
                let p = b.ins().stack_addr(ptr_ty, record, 0);
                b.ins().stack_store(ptr_ty, p, slot, ((n - 1) * pbytes) as i32);
            }
            let args = b.ins().stack_addr(ptr_ty, slot, 0);
            let fref = module.declare_func_in_func(k.func, b.func);
            let begin = b.ins().iconst(types::I64, 0);
            let end = b.ins().iconst(types::I64, k.info.work_items as i64);
            b.ins().call(fref, &[args, begin, end]);
            if k.fault.is_some() {
                let code = b.ins().stack_load(ptr_ty, types::I64, record, fault::CODE_OFFSET);
                let failed = b.ins().icmp_imm_s(IntCC::NotEqual, code, 0);
                let (stop, next) = (b.create_block(), b.create_block());
                b.ins().brif(failed, stop, &[], next, &[]);
                b.switch_to_block(stop);
                b.seal_block(stop);
                let status = b.ins().iconst(types::I64, index as i64 + 1);
                b.ins().return_(&[status]);
                b.switch_to_block(next);
                b.seal_block(next);
            }
        }
        let ok = b.ins().iconst(types::I64, 0);
        b.ins().return_(&[ok]);
        b.finalize(module.target_config());
    }
    module.define_function(driver, &mut ctx).map_err(|e| cg(DRIVER_SYMBOL, format!("{e:?}")))?;
    module.finish().emit().map_err(|e| cg("<object>", e))
}
