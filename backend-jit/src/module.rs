//! Compiling a whole graph's kernels into a Cranelift [`Module`] (the JIT module or an object
//! module), shared by [`crate::compile`] and [`crate::emit_object`].

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use cranelift_codegen::ir::UserFuncName;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{FuncId, Linkage, Module};
use int8xc_ir::{Graph, ValueDef, ValueId};
use int8xc_runtime::{MemoryPlan, PlanOptions};

use crate::kernels::{kernel_signature, lower_node, FaultKind, KernelCx, KernelInfo};
use crate::target::TargetFeatures;
use crate::JitError;

/// Largest arena or constant the backend accepts (bytes); larger models are an error.
const MAX_BYTES: usize = 1 << 40;

/// Code generation statistics of a compiled model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CodegenStats {
    /// Kernels (Cranelift functions) compiled: one per node.
    pub kernels: usize,
    /// Machine-code bytes of all kernels.
    pub code_bytes: usize,
    /// Bytes of constants the executable owns (raw and packed weights).
    pub constant_bytes: usize,
    /// Arena bytes (intermediate values plus per-thread scratch).
    pub arena_bytes: usize,
    /// Wall time of lowering and Cranelift compilation (excluding module finalization).
    pub compile_time: Duration,
    /// Kernels per op name.
    pub per_op: BTreeMap<String, usize>,
}

/// Where one kernel argument points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArgSource {
    /// `arena + offset`.
    Arena(usize),
    /// Constant buffer `index` (see [`CompiledGraph::consts`]).
    Const(usize),
}

/// One compiled kernel and how to call it.
#[derive(Clone, Debug)]
pub(crate) struct KernelPlan {
    /// The node's name (for messages).
    pub node: String,
    /// The function in the module.
    pub func: FuncId,
    /// Inputs then outputs (the scratch pointer, and for a kernel that can fault the
    /// fault-record pointer, are appended at call time).
    pub args: Vec<ArgSource>,
    /// Work items and scratch size.
    pub info: KernelInfo,
    /// The node's op name (for messages).
    pub op: &'static str,
    /// `Some` when the kernel takes a fault record (see [`crate::kernels::fault`]).
    pub fault: Option<FaultKind>,
}

/// All kernels of a graph, its memory plan and its constant buffers.
pub(crate) struct CompiledGraph {
    pub kernels: Vec<KernelPlan>,
    /// Constant buffers (raw little-endian constants and packed weights), each to be stored
    /// 64-byte aligned.
    pub consts: Vec<Vec<u8>>,
    pub plan: MemoryPlan,
    /// Largest scratch any kernel needs, rounded up to 64 bytes.
    pub scratch_bytes: usize,
    pub stats: CodegenStats,
}

/// A linker-friendly symbol for kernel `index` of node `name`.
fn symbol_name(index: usize, name: &str) -> String {
    let clean: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).take(48).collect();
    format!("int8xc_k{index}_{clean}")
}

/// Checks that every value id the graph mentions exists, node outputs are defined by their
/// node, and every value's storage size is representable (so planning cannot overflow).
pub(crate) fn validate_graph(graph: &Graph) -> Result<(), JitError> {
    let n = graph.values.len();
    let bad = |what: String| JitError::Graph(what);
    for v in graph.inputs.iter().chain(&graph.outputs) {
        if v.index() >= n {
            return Err(bad(format!("graph input/output refers to missing value {}", v.0)));
        }
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        for v in node.inputs.iter().chain(&node.outputs) {
            if v.index() >= n {
                return Err(bad(format!("node '{}' refers to missing value {}", node.name, v.0)));
            }
        }
        for (k, v) in node.outputs.iter().enumerate() {
            match graph.value(*v).def {
                ValueDef::Node(id, j) if id.index() == i && j == k => {}
                _ => return Err(bad(format!("node '{}' output {k} is not defined by it", node.name))),
            }
        }
    }
    for (i, v) in graph.values.iter().enumerate() {
        let ok = v.ty.checked_numel().and_then(|e| e.checked_mul(8)).is_some_and(|b| b <= MAX_BYTES);
        if !ok {
            return Err(bad(format!("value '{}' ({i}) of type {} is too large", v.name, v.ty)));
        }
        if let ValueDef::Const(t) = &v.def {
            if !t.matches_type(&v.ty) {
                return Err(bad(format!("constant '{}' does not match its type {}", v.name, v.ty)));
            }
        }
    }
    Ok(())
}

/// Lowers and compiles every node of `graph` into `module`, declaring kernels with `linkage`.
pub(crate) fn build_kernels<M: Module>(
    module: &mut M,
    graph: &Graph,
    target: &TargetFeatures,
    linkage: Linkage,
) -> Result<CompiledGraph, JitError> {
    validate_graph(graph)?;
    let start = Instant::now();
    let plan = MemoryPlan::new(graph, PlanOptions { alignment: 64 });
    let ptr_ty = module.target_config().pointer_type();
    let sig = kernel_signature(ptr_ty, module.isa().default_call_conv());
    let mut consts: Vec<Vec<u8>> = Vec::new();
    let mut raw_const: HashMap<ValueId, usize> = HashMap::new();
    let mut kernels = Vec::with_capacity(graph.nodes.len());
    let mut stats = CodegenStats::default();
    let mut scratch_bytes = 0usize;
    let mut fbc = FunctionBuilderContext::new();
    let mut ctx = module.make_context();

    for (index, node) in graph.nodes.iter().enumerate() {
        let span = tracing::debug_span!("kernel", node = %node.name, op = node.op.name());
        let _g = span.enter();
        module.clear_context(&mut ctx);
        ctx.func.signature = sig.clone();
        ctx.func.name = UserFuncName::user(0, index as u32);
        let (info, mut packed, fault) = {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fbc);
            let mut cx = KernelCx::new(&mut b, graph, node, target);
            let info = lower_node(&mut cx)?;
            let fault = cx.fault_kind();
            let packed = cx.finish();
            b.finalize(module.target_config());
            (info, packed, fault)
        };
        let symbol = symbol_name(index, &node.name);
        let codegen = |e: String| JitError::Codegen { node: node.name.clone(), message: e };
        let func = module.declare_function(&symbol, linkage, &sig).map_err(|e| codegen(e.to_string()))?;
        module.define_function(func, &mut ctx).map_err(|e| codegen(format!("{e:?}")))?;
        stats.code_bytes += ctx.compiled_code().map_or(0, |c| c.code_buffer().len());

        let mut args = Vec::with_capacity(node.inputs.len() + node.outputs.len());
        for (i, &v) in node.inputs.iter().enumerate() {
            let src = if let Some(bytes) = packed.get_mut(i).and_then(Option::take) {
                consts.push(bytes);
                ArgSource::Const(consts.len() - 1)
            } else if let Some(t) = graph.constant(v) {
                let k = *raw_const.entry(v).or_insert_with(|| {
                    consts.push(t.to_le_bytes());
                    consts.len() - 1
                });
                ArgSource::Const(k)
            } else {
                let slot = plan.slot(v).ok_or_else(|| JitError::Graph(format!("value {} has no arena slot", v.0)))?;
                ArgSource::Arena(slot.offset)
            };
            args.push(src);
        }
        for &v in &node.outputs {
            let slot = plan.slot(v).ok_or_else(|| JitError::Graph(format!("value {} has no arena slot", v.0)))?;
            args.push(ArgSource::Arena(slot.offset));
        }
        scratch_bytes = scratch_bytes.max(info.scratch_bytes.next_multiple_of(64));
        *stats.per_op.entry(node.op.name().to_string()).or_default() += 1;
        kernels.push(KernelPlan { node: node.name.clone(), func, args, info, op: node.op.name(), fault });
    }
    stats.kernels = kernels.len();
    stats.constant_bytes = consts.iter().map(Vec::len).sum();
    stats.compile_time = start.elapsed();
    Ok(CompiledGraph { kernels, consts, plan, scratch_bytes, stats })
}
