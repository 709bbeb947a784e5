//! # int8xc-jit
//!
//! The Cranelift backend of int8xc: every IR node of a (static-shape) [`Graph`] becomes one
//! specialized machine-code *kernel* (shapes, strides and constants are immediates; weights
//! are packed at compile time into the layout the inner loop wants), and a small executor
//! calls the kernels in graph order over one preallocated arena.
//!
//! Where it sits in the data flow: `ir::Graph` (after the passes) → **`compile`** →
//! [`JitModel`] (implements [`int8xc_runtime::Executable`]) for the host, or →
//! **`emit_object`** → an ELF relocatable object for `x86_64` or `aarch64` (see
//! [`object`](crate::object) for its exported symbols). The reference interpreter
//! (`int8xc-interp`) is the oracle the tests compare against.
//!
//! - [`kernels`]: the kernel model (`extern "C" fn(args, begin, end)` over work items), the
//!   lowering context [`kernels::KernelCx`] and "how to add a kernel".
//! - [`pack`]: compile-time weight layouts.
//! - `target`: ISA selection and capability predicates ([`TargetFeatures`]).
//! - `legalize`: widening `f16` operands of f32-only kernels (`Cast` around the node), run
//!   before lowering by [`compile`] and [`emit_object`].
//! - `module` / `exec` / `object`: compiling all kernels into a Cranelift module, running them
//!   (with rayon when [`JitOptions::threads`] > 1), emitting objects.
//!
//! Safety: generated code is only reachable through [`JitModel::run`], which checks the inputs
//! against the signature first; every kernel validates the shape relations it relies on at
//! compile time. Every `unsafe` block states why it is sound.
//!
//! ```no_run
//! # fn demo(graph: &int8xc_ir::Graph, x: int8xc_ir::TensorData) -> Result<(), Box<dyn std::error::Error>> {
//! use int8xc_runtime::Executable;
//! let model = int8xc_jit::compile(graph, &int8xc_jit::JitOptions::default())?;
//! let outputs = model.run(&[x])?;
//! println!("{} kernels, {} code bytes", model.stats().kernels, model.stats().code_bytes);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod dequant_weights;
mod error;
mod exec;
pub mod kernels;
mod legalize;
mod module;
pub mod object;
pub mod pack;
pub mod pack_i8;
mod target;
pub mod ukernels;

pub use error::JitError;
pub use exec::JitModel;
pub use module::CodegenStats;
pub use target::{OptLevel, TargetFeatures};
pub use ukernels::Microkernels;

use int8xc_ir::Graph;
use target_lexicon::Triple;

/// Options of [`compile`] and [`emit_object`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JitOptions {
    /// Threads each kernel's work items are split over at run time (default 1: every kernel is
    /// called once with its full range; object files always run single-threaded).
    pub threads: usize,
    /// Cranelift optimization level (default [`OptLevel::None`], see there).
    pub opt_level: OptLevel,
    /// Run Cranelift's IR verifier on every kernel (default: on in debug builds).
    pub verify: bool,
    /// Precompiled microkernels the JIT may call for GEMM tiles (default
    /// [`Microkernels::Best`]: AVX-512 or AVX2 when the host has them; see [`ukernels`]).
    /// [`emit_object`] ignores this and always emits pure Cranelift code.
    pub ukernels: Microkernels,
    /// Largest activation arena (plus scratch) a compiled model may allocate, in bytes
    /// (default [`DEFAULT_MAX_ARENA_BYTES`], 4 GiB). The arena is allocated once at compile
    /// time, so a model whose intermediates need more is refused with [`JitError::Graph`]
    /// instead of allocating.
    pub max_arena_bytes: usize,
}

/// Default of [`JitOptions::max_arena_bytes`]: 4 GiB.
pub const DEFAULT_MAX_ARENA_BYTES: usize = 4 << 30;

impl Default for JitOptions {
    fn default() -> Self {
        JitOptions {
            threads: 1,
            opt_level: OptLevel::None,
            verify: cfg!(debug_assertions),
            ukernels: Microkernels::default(),
            max_arena_bytes: DEFAULT_MAX_ARENA_BYTES,
        }
    }
}

/// Compiles `graph` for the host CPU (features detected at run time).
///
/// Nodes whose kernels are f32-only (`MatMul`, `Conv`, `Softmax`, … on `f16`) are first
/// widened: their `f16` operands are cast to `f32` and their results rounded back to `f16`
/// once (see `legalize`); the signature (input and output names and types) is unchanged.
///
/// Errors: [`JitError::Unsupported`] naming the first node whose op (or dtype, or attribute
/// combination) has no kernel; [`JitError::Invalid`] for inconsistent node types;
/// [`JitError::Codegen`] when Cranelift fails (naming the node); [`JitError::Target`] when
/// the host is not x86_64/aarch64.
pub fn compile(graph: &Graph, options: &JitOptions) -> Result<JitModel, JitError> {
    let span = tracing::info_span!("jit_compile", graph = %graph.name, nodes = graph.nodes.len());
    let _g = span.enter();
    let graph = &legalized(graph)?;
    exec::compile_jit(graph.as_ref(), options)
}

/// `graph` after the JIT-only pre-passes: quantized constant weights dequantized once
/// ([`dequant_weights`]), then `f16` operands of f32-only kernels widened ([`legalize`]).
/// Borrowed when neither applies (no copy).
fn legalized(graph: &Graph) -> Result<std::borrow::Cow<'_, Graph>, JitError> {
    let graph = match dequant_weights::fold_dequantized_weights(graph)? {
        Some(g) => std::borrow::Cow::Owned(g),
        None => std::borrow::Cow::Borrowed(graph),
    };
    Ok(match legalize::widen_f16(&graph)? {
        Some(g) => std::borrow::Cow::Owned(g),
        None => graph,
    })
}

/// Compiles `graph` for `triple` (`x86_64-*` or `aarch64-*`, baseline CPU features) into an
/// ELF relocatable object; see [`object`](crate::object) for its symbols.
///
/// Errors: as [`compile`], plus [`JitError::Target`] for other architectures.
pub fn emit_object(graph: &Graph, triple: &Triple, options: &JitOptions) -> Result<Vec<u8>, JitError> {
    let graph = &legalized(graph)?;
    object::emit(graph.as_ref(), triple, options)
}
