//! Compiling a [`Model`] for a backend and running it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use int8xc_ir::{Graph, Op, ValueDef};
use int8xc_runtime::{Executable, Signature, Tensor};
use target_lexicon::Triple;

use crate::report::{CompileReport, PassReport};
use crate::{Error, Model};

/// Which backend runs the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// Cranelift JIT for the host (the default).
    #[default]
    Jit,
    /// The reference interpreter (the correctness oracle; slow).
    Interp,
}

impl Backend {
    /// `"jit"` or `"interp"`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Jit => "jit",
            Backend::Interp => "interp",
        }
    }
}

/// Compilation options; every field has a documented default.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Target triple (default: the host). JIT compilation needs the host; other triples can
    /// only emit objects ([`Compiler::emit_object`]).
    pub target: Triple,
    /// Backend (default [`Backend::Jit`]).
    pub backend: Backend,
    /// Worker threads for the JIT (default 1).
    pub threads: usize,
    /// Shapes for inputs with symbolic dims, by input name (default: none; unbound symbolic
    /// dims become 1).
    pub input_shapes: HashMap<String, Vec<usize>>,
    /// Run the optimization passes (default true).
    pub optimize: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            target: Triple::host(),
            backend: Backend::Jit,
            threads: 1,
            input_shapes: HashMap::new(),
            optimize: true,
        }
    }
}

/// Builds a [`CompiledModel`] from a [`Model`]: `Compiler::new().target(..).compile(&model)`.
#[derive(Clone, Debug, Default)]
pub struct Compiler {
    options: CompileOptions,
}

impl Compiler {
    /// A compiler with default [`CompileOptions`].
    pub fn new() -> Self {
        Compiler::default()
    }

    /// A compiler with the given options.
    pub fn with_options(options: CompileOptions) -> Self {
        Compiler { options }
    }

    /// Sets the target triple.
    pub fn target(mut self, triple: Triple) -> Self {
        self.options.target = triple;
        self
    }

    /// Sets the backend.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.options.backend = backend;
        self
    }

    /// Sets the JIT's worker threads (at least 1).
    pub fn threads(mut self, threads: usize) -> Self {
        self.options.threads = threads.max(1);
        self
    }

    /// Binds the shape of input `name` (needed for symbolic dims).
    pub fn input_shape(mut self, name: &str, shape: impl Into<Vec<usize>>) -> Self {
        self.options.input_shapes.insert(name.to_string(), shape.into());
        self
    }

    /// Enables or disables the optimization passes.
    pub fn optimize(mut self, on: bool) -> Self {
        self.options.optimize = on;
        self
    }

    /// The options.
    pub fn options(&self) -> &CompileOptions {
        &self.options
    }

    /// Imports, optimizes and compiles `model` for the configured backend, with input shapes
    /// bound from the options. Further shape variants are compiled on demand by
    /// [`CompiledModel::run`].
    ///
    /// Errors: import, pass and code-generation errors (naming node and op);
    /// [`Error::Target`] when JIT compilation is asked for a triple that is not the host.
    pub fn compile(&self, model: &Model) -> Result<CompiledModel, Error> {
        if self.options.backend == Backend::Jit && !is_host(&self.options.target) {
            return Err(Error::Target(format!(
                "the JIT runs on the host ({}) only; use emit_object (--emit obj) for {}",
                Triple::host(),
                self.options.target
            )));
        }
        let shapes = model.bind_shapes(&self.options.input_shapes, 1)?;
        let variant = compile_variant(model, &self.options, &shapes)?;
        let key = variant_key(variant.exec.signature());
        Ok(CompiledModel {
            model: model.clone(),
            options: self.options.clone(),
            first: variant.clone(),
            variants: Mutex::new(vec![(key, variant)]),
        })
    }

    /// Imports and optimizes `model` and returns the IR the backend would get.
    ///
    /// Errors: import and pass errors.
    pub fn optimized_graph(&self, model: &Model) -> Result<Graph, Error> {
        let shapes = model.bind_shapes(&self.options.input_shapes, 1)?;
        let mut graph = model.import(&shapes)?;
        if self.options.optimize {
            run_passes(&mut graph)?;
        }
        Ok(graph)
    }

    /// Compiles `model` ahead of time into a relocatable object file for the configured
    /// target (ELF for Linux triples): one exported function per kernel, the weights as data,
    /// and a driver `int8xc_model_run(arena)`.
    ///
    /// Errors: import, pass and code-generation errors.
    pub fn emit_object(&self, model: &Model) -> Result<Vec<u8>, Error> {
        let graph = self.optimized_graph(model)?;
        Ok(int8xc_jit::emit_object(&graph, &self.options.target, &jit_options(&self.options))?)
    }
}

fn is_host(triple: &Triple) -> bool {
    let host = Triple::host();
    triple.architecture == host.architecture && triple.operating_system == host.operating_system
}

fn jit_options(options: &CompileOptions) -> int8xc_jit::JitOptions {
    int8xc_jit::JitOptions { threads: options.threads, ..Default::default() }
}

fn run_passes(graph: &mut Graph) -> Result<Vec<PassReport>, Error> {
    let eval = int8xc_interp::Interpreter;
    let stats = int8xc_passes::default_pipeline().run(graph, &int8xc_passes::PassContext { eval: &eval })?;
    Ok(stats
        .into_iter()
        .map(|s| PassReport {
            name: s.name.to_string(),
            time: s.time,
            nodes_before: s.nodes_before,
            nodes_after: s.nodes_after,
        })
        .collect())
}

/// One specialization of a model for one set of input shapes.
struct Variant {
    exec: Box<dyn Executable>,
    report: CompileReport,
}

type ShapeKey = Vec<Vec<usize>>;

fn variant_key(sig: &Signature) -> ShapeKey {
    sig.inputs.iter().map(|(_, t)| t.shape.clone()).collect()
}

fn compile_variant(
    model: &Model,
    options: &CompileOptions,
    shapes: &HashMap<String, Vec<usize>>,
) -> Result<Arc<Variant>, Error> {
    let mut report = CompileReport {
        backend: options.backend.name().into(),
        target: options.target.to_string(),
        ..Default::default()
    };
    let t = Instant::now();
    let mut graph = model.import(shapes)?;
    report.times.import = t.elapsed();
    report.nodes_imported = graph.nodes.len();
    report.input_shapes =
        graph.inputs.iter().map(|&v| (graph.value(v).name.clone(), graph.ty(v).shape.clone())).collect();

    let t = Instant::now();
    if options.optimize {
        report.passes = run_passes(&mut graph)?;
    }
    int8xc_ir::verify(&graph)?;
    report.times.passes = t.elapsed();
    fill_graph_stats(&graph, &mut report);

    let t = Instant::now();
    let exec: Box<dyn Executable> = match options.backend {
        Backend::Interp => Box::new(int8xc_interp::InterpretedModel::new(graph)),
        Backend::Jit => {
            let jit = int8xc_jit::compile(&graph, &jit_options(options))?;
            let stats = jit.stats();
            report.kernels = stats.kernels;
            report.code_bytes = stats.code_bytes;
            report.arena_bytes = stats.arena_bytes;
            Box::new(jit)
        }
    };
    report.times.codegen = t.elapsed();
    tracing::debug!(target: "int8xc", "compiled variant {:?}", report.input_shapes);
    Ok(Arc::new(Variant { exec, report }))
}

fn fill_graph_stats(graph: &Graph, report: &mut CompileReport) {
    report.nodes_optimized = graph.nodes.len();
    let mut ops = BTreeMap::new();
    for node in &graph.nodes {
        *ops.entry(node.op.name().to_string()).or_insert(0) += 1;
        let ins: Vec<&[usize]> = node.inputs.iter().map(|&v| graph.ty(v).shape.as_slice()).collect();
        if let Some(&out) = node.outputs.first() {
            let macs = node.op.macs(&ins, &graph.ty(out).shape);
            report.macs += macs;
            let integer = matches!(
                node.op,
                Op::QConv(_) | Op::QMatMul(_) | Op::ConvInteger(_) | Op::MatMulInteger | Op::DynamicQuantizeLstm(_)
            );
            if integer {
                report.integer_macs += macs;
            } else {
                report.float_macs += macs;
            }
        }
    }
    report.ops = ops;
    report.weight_bytes =
        graph.values.iter().filter(|v| matches!(v.def, ValueDef::Const(_))).map(|v| v.ty.size_bytes()).sum();
}

/// A model compiled for one backend. [`CompiledModel::run`] picks (or compiles and caches) the
/// variant specialized for the given input shapes. `Send + Sync`: runs may come from several
/// threads.
pub struct CompiledModel {
    model: Model,
    options: CompileOptions,
    first: Arc<Variant>,
    variants: Mutex<Vec<(ShapeKey, Arc<Variant>)>>,
}

impl CompiledModel {
    /// Runs the model on `inputs` (graph-input order) and returns the outputs (graph-output
    /// order). A new set of input shapes compiles a new variant first (symbolic dims bound
    /// from the inputs). Inputs are never modified; on error no output is produced.
    ///
    /// Errors: [`Error::Runtime`] for a wrong input count, dtype or shape (naming the input),
    /// [`Error::ShapeBinding`] when a shape contradicts a fixed dim, and compile errors for a
    /// new variant.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, Error> {
        let variant = self.variant_for(inputs)?;
        Ok(variant.exec.run(inputs)?)
    }

    /// The report of the first compiled variant.
    pub fn report(&self) -> &CompileReport {
        &self.first.report
    }

    /// The signature (names, types) of the first compiled variant.
    pub fn signature(&self) -> &Signature {
        self.first.exec.signature()
    }

    /// Number of compiled shape variants.
    pub fn variant_count(&self) -> usize {
        self.variants.lock().map(|v| v.len()).unwrap_or(0)
    }

    fn variant_for(&self, inputs: &[Tensor]) -> Result<Arc<Variant>, Error> {
        // A poisoned lock only means another run panicked while compiling; the cache itself
        // holds only complete variants.
        let mut variants = self.variants.lock().unwrap_or_else(|p| p.into_inner());
        let matches = |k: &ShapeKey| k.len() == inputs.len() && k.iter().zip(inputs).all(|(s, t)| s == t.shape());
        if let Some((_, v)) = variants.iter().find(|(k, _)| matches(k)) {
            return Ok(v.clone());
        }
        let key: ShapeKey = inputs.iter().map(|t| t.shape().to_vec()).collect();
        let sig = self.first.exec.signature();
        if inputs.len() != sig.inputs.len() {
            return Err(
                int8xc_runtime::RuntimeError::InputCount { expected: sig.inputs.len(), actual: inputs.len() }.into()
            );
        }
        let shapes: HashMap<String, Vec<usize>> =
            sig.inputs.iter().zip(inputs).map(|((name, _), t)| (name.clone(), t.shape().to_vec())).collect();
        let shapes = self.model.bind_shapes(&shapes, 1)?;
        let variant = compile_variant(&self.model, &self.options, &shapes)?;
        variants.push((key, variant.clone()));
        Ok(variant)
    }
}
