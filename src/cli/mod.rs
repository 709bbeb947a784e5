//! Command-line arguments and dispatch.

mod args;
mod bench;
mod compile;
mod inspect;
mod run;

use std::path::Path;

use clap::{Parser, Subcommand, ValueEnum};

pub use args::ModelArgs;

/// int8xc: a JIT-compiling tensor compiler for quantized neural-network inference.
#[derive(Parser, Debug)]
#[command(name = "int8xc", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the imported (or optimized) IR of a model as text.
    Inspect(inspect::InspectArgs),
    /// Import, optimize and compile a model; print a compile report or write an object file.
    Compile(compile::CompileArgs),
    /// Run a model on .npy inputs and write the outputs as .npy files.
    Run(run::RunArgs),
    /// Measure compile time and inference latency (median, p90).
    Bench(bench::BenchArgs),
}

/// Backend choice on the command line.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum BackendArg {
    /// Cranelift JIT for the host.
    Jit,
    /// The reference interpreter.
    Interp,
}

impl From<BackendArg> for int8xc::Backend {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Jit => int8xc::Backend::Jit,
            BackendArg::Interp => int8xc::Backend::Interp,
        }
    }
}

/// Runs one command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect(a) => inspect::inspect(a),
        Command::Compile(a) => compile::compile(a),
        Command::Run(a) => run::run(a),
        Command::Bench(a) => bench::bench(a),
    }
}

/// A path that must name an existing file, with a clear error otherwise.
fn existing_file(path: &Path, what: &str) -> anyhow::Result<()> {
    if !path.is_file() {
        anyhow::bail!("{what} {} does not exist or is not a file", path.display());
    }
    Ok(())
}
