//! `int8xc compile`: JIT-compile for the host, or emit an object file for any target.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use int8xc::{Backend, Compiler};

use super::args::parse_target;
use super::ModelArgs;

/// What `compile` produces.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Emit {
    /// A relocatable object file (ELF) with the kernels, the weights and a driver function.
    Obj,
    /// The optimized IR as text.
    Ir,
}

/// Arguments of `int8xc compile`.
#[derive(Args, Debug)]
pub struct CompileArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Target triple, or `x86_64` / `aarch64` / `host` (default: host).
    #[arg(long, default_value = "host")]
    target: String,
    /// JIT-compile for the host (the default when nothing is emitted).
    #[arg(long)]
    jit: bool,
    /// Emit an artifact instead of (only) JIT-compiling.
    #[arg(long, value_enum)]
    emit: Option<Emit>,
    /// Output path for `--emit` (default: the model's name with `.o` / `.ir`).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Print the compile report (ops by type, kernels, code bytes, time per phase).
    #[arg(long)]
    stats: bool,
    /// Print the compile report as JSON.
    #[arg(long)]
    json: bool,
    /// JIT worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Compiles.
pub fn compile(args: CompileArgs) -> anyhow::Result<()> {
    let target = parse_target(&args.target)?;
    let (model, parse_time) = args.model.load()?;
    let mut compiler = Compiler::new().target(target.clone()).threads(args.threads).backend(Backend::Jit);
    for (name, shape) in args.model.shapes()? {
        compiler = compiler.input_shape(&name, shape);
    }
    let stem = args.model.model.with_extension("");
    match args.emit {
        Some(Emit::Obj) => {
            if args.jit && target != target_lexicon::Triple::host() {
                bail!("--jit runs on the host only; drop --jit to emit an object for {target}");
            }
            let bytes = compiler.emit_object(&model)?;
            let out = args.output.unwrap_or_else(|| stem.with_extension("o"));
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {} ({} bytes, {target})", out.display(), bytes.len());
        }
        Some(Emit::Ir) => {
            let graph = compiler.optimized_graph(&model)?;
            let text = int8xc_ir::print_graph(&graph, &int8xc_ir::PrintOptions { max_const_elements: None });
            let out = args.output.unwrap_or_else(|| stem.with_extension("ir"));
            std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {}", out.display());
        }
        None => {
            let compiled = compiler.compile(&model)?;
            let mut report = compiled.report().clone();
            report.times.parse = parse_time;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if args.stats {
                print!("{report}");
            } else {
                let t = &report.times;
                println!(
                    "compiled {} for {}: {} kernels, {} code bytes in {:.2} ms",
                    args.model.model.display(),
                    report.target,
                    report.kernels,
                    report.code_bytes,
                    (t.parse + t.import + t.passes + t.codegen).as_secs_f64() * 1e3
                );
            }
        }
    }
    Ok(())
}
