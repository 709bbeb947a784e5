//! `int8xc run`: run a model on .npy inputs.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use int8xc::{Compiler, DType, Tensor};

use super::args::read_inputs;
use super::{BackendArg, ModelArgs};

/// Arguments of `int8xc run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// An input .npy file, in graph-input order, or `name=path.npy` (repeatable).
    #[arg(long = "input", short = 'i', value_name = "[NAME=]PATH")]
    inputs: Vec<String>,
    /// Backend.
    #[arg(long, value_enum, default_value = "jit")]
    backend: BackendArg,
    /// Where to write output_0.npy, output_1.npy, … (graph-output order).
    #[arg(long, default_value = "out")]
    output_dir: PathBuf,
    /// JIT worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Runs the model once.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let (model, _) = args.model.load()?;
    let inputs = read_inputs(&model, &args.inputs)?;
    let mut compiler = Compiler::new().backend(args.backend.into()).threads(args.threads);
    for (name, shape) in args.model.shapes()? {
        compiler = compiler.input_shape(&name, shape);
    }
    for (info, t) in model.inputs().iter().zip(&inputs) {
        compiler = compiler.input_shape(&info.name, t.shape().to_vec());
    }
    let compiled = compiler.compile(&model)?;
    let outputs = compiled.run(&inputs)?;
    std::fs::create_dir_all(&args.output_dir).with_context(|| format!("creating {}", args.output_dir.display()))?;
    let names: Vec<String> = compiled.signature().outputs.iter().map(|(n, _)| n.clone()).collect();
    for (i, (t, name)) in outputs.iter().zip(&names).enumerate() {
        let path = args.output_dir.join(format!("output_{i}.npy"));
        int8xc::npy::write(&path, t)?;
        println!("output {i} '{name}': {}{:?} -> {}", t.dtype(), t.shape(), path.display());
        if let Some(classes) = argmax_rows(t) {
            println!("  predicted class per row: {classes:?}");
        }
    }
    Ok(())
}

/// Row-wise argmax of a `[N, C]` float tensor (classifier logits), else `None`.
fn argmax_rows(t: &Tensor) -> Option<Vec<usize>> {
    if t.dtype() != DType::F32 || t.shape().len() != 2 || t.shape()[1] < 2 {
        return None;
    }
    let data = t.as_f32()?;
    Some(
        data.chunks(t.shape()[1])
            .map(|row| row.iter().enumerate().fold(0, |best, (j, &v)| if v > row[best] { j } else { best }))
            .collect(),
    )
}
