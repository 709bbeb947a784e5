//! The JIT executable: compiled kernels in a `JITModule`, the arena, the constants, and the
//! safe `run` that is the only way into generated code.

use std::sync::Mutex;

use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage};
use int8xc_ir::{Graph, ValueDef};
use int8xc_runtime::{Executable, RuntimeError, Signature, Slot, Tensor};
use rayon::prelude::*;

use crate::kernels::{FaultKind, FaultRecord, KernelInfo};
use crate::module::{build_kernels, ArgSource, CodegenStats};
use crate::target::{host_isa, IsaConfig, TargetFeatures};
use crate::ukernels::{self, CpuFeatures};
use crate::{JitError, JitOptions};

/// The machine-code signature of every kernel (see [`crate::kernels`]).
type KernelFn = unsafe extern "C" fn(args: *const *mut u8, begin: i64, end: i64);

/// A 64-byte aligned, zero-initialized byte buffer (a vector of cache lines, so no manual
/// allocation is needed).
pub(crate) struct AlignedBuf {
    lines: Vec<Line>,
    len: usize,
}

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

impl AlignedBuf {
    pub(crate) fn zeroed(len: usize) -> Self {
        AlignedBuf { lines: vec![Line([0; 64]); len.div_ceil(64).max(1)], len }
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        let mut b = Self::zeroed(bytes.len());
        b.bytes_mut().copy_from_slice(bytes);
        b
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `Line` is `repr(C)` plain bytes without padding, so the lines are
        // `lines.len() * 64 >= len` contiguous initialized bytes borrowed immutably with `self`.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<u8>(), self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, borrowed mutably with `self`.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<u8>(), self.len) }
    }

    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.lines.as_mut_ptr().cast::<u8>()
    }
}

/// The `JITModule` owning the executable memory of the kernels.
struct CodeMemory(Option<JITModule>);

// SAFETY: after `finalize_definitions` the module is never used again except by `Drop`, which
// has exclusive access; the code it owns is immutable and may be executed from any thread.
unsafe impl Send for CodeMemory {}
// SAFETY: see `Send`: shared references never touch the module.
unsafe impl Sync for CodeMemory {}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        if let Some(m) = self.0.take() {
            // SAFETY: the only pointers into this memory are the `KernelFn`s held by the
            // `JitModel` being dropped, and no call can be running (`run` borrows the model).
            unsafe { m.free_memory() };
        }
    }
}

struct ReadyKernel {
    node: String,
    op: &'static str,
    f: KernelFn,
    args: Vec<ArgSource>,
    info: KernelInfo,
    /// `Some`: the kernel takes a fault record after the scratch pointer.
    fault: Option<FaultKind>,
}

/// Per-call argument array; raw pointers into the arena, constants and scratch.
struct CallArgs(Vec<*mut u8>);

// SAFETY: the pointers are only dereferenced by the kernel call made for this chunk, and
// concurrently running chunks write disjoint output parts and their own scratch regions (the
// kernel contract in `crate::kernels`).
unsafe impl Send for CallArgs {}
// SAFETY: as for `Send`.
unsafe impl Sync for CallArgs {}

/// Where a graph output's bytes come from.
enum OutputSource {
    Arena(Slot),
    Const(Tensor),
}

/// A graph compiled to host machine code (see [`crate::compile`]).
///
/// `run` is thread-safe: the arena (one 64-byte aligned allocation of
/// `MemoryPlan::arena_bytes()` plus per-thread scratch) is behind a mutex.
pub struct JitModel {
    signature: Signature,
    kernels: Vec<ReadyKernel>,
    consts: Vec<AlignedBuf>,
    arena: Mutex<AlignedBuf>,
    arena_bytes: usize,
    scratch_bytes: usize,
    inputs: Vec<Slot>,
    outputs: Vec<OutputSource>,
    threads: usize,
    pool: Option<rayon::ThreadPool>,
    stats: CodegenStats,
    // Declared last: dropped after everything that holds kernel pointers.
    _code: CodeMemory,
}

impl std::fmt::Debug for JitModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitModel").field("signature", &self.signature).field("stats", &self.stats).finish()
    }
}

pub(crate) fn compile_jit(graph: &Graph, options: &JitOptions) -> Result<JitModel, JitError> {
    // Refuse oversized models before generating any code (the arena is allocated up front).
    let planned = int8xc_runtime::MemoryPlan::new(graph, int8xc_runtime::PlanOptions::default()).arena_bytes();
    check_arena_size(planned, options)?;
    let cfg = IsaConfig { opt_level: options.opt_level, pic: false, verify: options.verify };
    let isa = host_isa(cfg)?;
    let ukernel_isa = CpuFeatures::host().select(options.ukernels);
    let mut builder = JITBuilder::with_isa(isa.clone(), default_libcall_names());
    if let Some(u) = ukernel_isa {
        ukernels::register_symbols(&mut builder, u);
    }
    let mut module = JITModule::new(builder);
    let imports = ukernel_isa.map(|u| ukernels::declare_imports(&mut module, u)).transpose()?;
    let target = TargetFeatures::new(isa).with_ukernels(imports);
    let compiled = build_kernels(&mut module, graph, &target, Linkage::Local)?;
    module.finalize_definitions().map_err(|e| JitError::Codegen { node: "<module>".into(), message: e.to_string() })?;
    let kernels = compiled
        .kernels
        .iter()
        .map(|k| {
            let p = module.get_finalized_function(k.func);
            // SAFETY: `p` is the finalized code of a function declared with
            // `kernel_signature` in the host's default calling convention, which is the C ABI
            // `KernelFn` names.
            let f = unsafe { std::mem::transmute::<*const u8, KernelFn>(p) };
            ReadyKernel { node: k.node.clone(), op: k.op, f, args: k.args.clone(), info: k.info, fault: k.fault }
        })
        .collect();
    let threads = options.threads.max(1);
    let pool = if threads > 1 {
        Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| JitError::Graph(format!("cannot start {threads} threads: {e}")))?,
        )
    } else {
        None
    };
    let plan = &compiled.plan;
    let slot =
        |v: int8xc_ir::ValueId| plan.slot(v).ok_or_else(|| JitError::Graph(format!("value {} has no slot", v.0)));
    let inputs = graph.inputs.iter().map(|&v| slot(v)).collect::<Result<Vec<_>, _>>()?;
    let outputs = graph
        .outputs
        .iter()
        .map(|&v| match &graph.value(v).def {
            ValueDef::Const(t) => Ok(OutputSource::Const(t.clone())),
            _ => slot(v).map(OutputSource::Arena),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let arena_bytes = plan.arena_bytes();
    let total = compiled
        .scratch_bytes
        .checked_mul(threads)
        .and_then(|s| s.checked_add(arena_bytes))
        .ok_or_else(|| JitError::Graph("arena size overflows usize".into()))?;
    check_arena_size(total, options)?;
    let mut stats = compiled.stats;
    stats.arena_bytes = total;
    Ok(JitModel {
        signature: Signature::of_graph(graph),
        kernels,
        consts: compiled.consts.iter().map(|c| AlignedBuf::from_bytes(c)).collect(),
        arena: Mutex::new(AlignedBuf::zeroed(total)),
        arena_bytes,
        scratch_bytes: compiled.scratch_bytes,
        inputs,
        outputs,
        threads,
        pool,
        stats,
        _code: CodeMemory(Some(module)),
    })
}

impl JitModel {
    /// Code generation statistics.
    pub fn stats(&self) -> &CodegenStats {
        &self.stats
    }

    /// Threads the kernels are split over.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs the model `iterations` times on `inputs` (after one warm-up run) and returns each
    /// kernel's node name and mean wall time per run, in graph order: where the time goes.
    ///
    /// Errors: as [`Executable::run`].
    pub fn profile(
        &self,
        inputs: &[Tensor],
        iterations: usize,
    ) -> Result<Vec<(String, std::time::Duration)>, RuntimeError> {
        self.run(inputs)?;
        let mut arena = self.arena.lock().unwrap_or_else(|e| e.into_inner());
        let consts: Vec<*mut u8> = self.consts.iter().map(|c| c.lines.as_ptr().cast::<u8>().cast_mut()).collect();
        let mut total = vec![std::time::Duration::ZERO; self.kernels.len()];
        for _ in 0..iterations {
            self.load_inputs(&mut arena, inputs)?;
            let base = arena.as_mut_ptr();
            for (k, t) in self.kernels.iter().zip(&mut total) {
                let start = std::time::Instant::now();
                self.call_kernel(k, base, &consts)?;
                *t += start.elapsed();
            }
        }
        let n = iterations.max(1) as u32;
        Ok(self.kernels.iter().zip(total).map(|(k, t)| (k.node.clone(), t / n)).collect())
    }

    /// Checks `inputs` against the signature and copies them into their arena slots.
    fn load_inputs(&self, arena: &mut AlignedBuf, inputs: &[Tensor]) -> Result<(), RuntimeError> {
        self.signature.check_inputs(inputs)?;
        for (t, slot) in inputs.iter().zip(&self.inputs) {
            let bytes = t.to_le_bytes();
            let dst = arena.bytes_mut().get_mut(slot.offset..slot.offset + bytes.len());
            let dst = dst.ok_or_else(|| RuntimeError::Backend("input does not fit its arena slot".into()))?;
            dst.copy_from_slice(&bytes);
        }
        Ok(())
    }

    /// Calls kernel `k` over its work items (split over the pool). Errors: the kernel found
    /// a bad run-time value (see [`crate::kernels::fault`]): the first faulting chunk's
    /// record, as `node '<name>' (<op>): <message>`.
    fn call_kernel(&self, k: &ReadyKernel, arena: *mut u8, consts: &[*mut u8]) -> Result<(), RuntimeError> {
        let w = k.info.work_items;
        if w == 0 {
            return Ok(());
        }
        let mut base: Vec<*mut u8> = Vec::with_capacity(k.args.len() + 1);
        for a in &k.args {
            base.push(match *a {
                // SAFETY: slot offsets come from the memory plan of this graph and lie inside
                // the arena (`offset + size <= arena_bytes`).
                ArgSource::Arena(off) => unsafe { arena.add(off) },
                ArgSource::Const(i) => consts[i],
            });
        }
        let chunks = if self.pool.is_some() { self.threads.min(w) } else { 1 };
        // One zeroed fault record per chunk, only for kernels that report faults; it outlives
        // the calls below.
        let mut records = vec![FaultRecord::default(); if k.fault.is_some() { chunks } else { 0 }];
        let record_ptrs: Vec<*mut u8> = records.iter_mut().map(|r| std::ptr::from_mut(r).cast::<u8>()).collect();
        let calls: Vec<(CallArgs, i64, i64)> = (0..chunks)
            .map(|j| {
                let mut args = base.clone();
                // SAFETY: scratch region `j < threads` lies after the planned values:
                // `arena_bytes + (j + 1) * scratch_bytes <= total`.
                args.push(unsafe { arena.add(self.arena_bytes + j * self.scratch_bytes) });
                args.extend(record_ptrs.get(j));
                let (b, e) = (w * j / chunks, w * (j + 1) / chunks);
                (CallArgs(args), b as i64, e as i64)
            })
            .collect();
        let call = |(args, b, e): &(CallArgs, i64, i64)| {
            // SAFETY: `run` checked the inputs against the signature, so every argument points
            // to a buffer of exactly the size the kernel was specialized for (arena slots and
            // constants sized by the node's value types, scratch of `info.scratch_bytes`, and
            // for a faulting kernel its own `FaultRecord` in `records`), and
            // `0 <= b <= e <= work_items`. Concurrent chunks write disjoint outputs, their
            // own scratch and their own record (see `CallArgs`).
            unsafe { (k.f)(args.0.as_ptr(), *b, *e) }
        };
        match &self.pool {
            Some(pool) if chunks > 1 => pool.install(|| calls.par_iter().for_each(call)),
            _ => calls.iter().for_each(call),
        }
        drop(calls);
        tracing::trace!(node = %k.node, items = w, "kernel done");
        match (k.fault, records.iter().find(|r| r.code != 0)) {
            (Some(kind), Some(r)) => {
                Err(RuntimeError::Backend(format!("node '{}' ({}): {}", k.node, k.op, kind.message(r.value))))
            }
            _ => Ok(()),
        }
    }
}

impl Executable for JitModel {
    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        self.signature.check_inputs(inputs)?;
        // A poisoned lock only means another `run` panicked; the arena is rewritten each run.
        let mut arena = self.arena.lock().unwrap_or_else(|e| e.into_inner());
        self.load_inputs(&mut arena, inputs)?;
        let consts: Vec<*mut u8> = self.consts.iter().map(|c| c.lines.as_ptr().cast::<u8>().cast_mut()).collect();
        let base = arena.as_mut_ptr();
        // A fault stops the run before any output is copied out: the caller gets no tensors.
        for k in &self.kernels {
            self.call_kernel(k, base, &consts)?;
        }
        let mut out = Vec::with_capacity(self.outputs.len());
        for (src, (name, ty)) in self.outputs.iter().zip(&self.signature.outputs) {
            out.push(match src {
                OutputSource::Const(t) => t.clone(),
                OutputSource::Arena(slot) => {
                    let bytes = arena.bytes().get(slot.offset..slot.offset + ty.size_bytes());
                    let bytes =
                        bytes.ok_or_else(|| RuntimeError::Backend(format!("output '{name}' outside the arena")))?;
                    Tensor::from_le_bytes(ty.dtype, ty.shape.clone(), bytes)
                        .map_err(|e| RuntimeError::Backend(format!("output '{name}': {e}")))?
                }
            });
        }
        Ok(out)
    }
}

/// Errors with [`JitError::Graph`] when `bytes` exceeds [`JitOptions::max_arena_bytes`].
fn check_arena_size(bytes: usize, options: &JitOptions) -> Result<(), JitError> {
    if bytes > options.max_arena_bytes {
        return Err(JitError::Graph(format!(
            "the activation arena needs {bytes} bytes, above the limit of {} bytes (JitOptions::max_arena_bytes)",
            options.max_arena_bytes
        )));
    }
    Ok(())
}
