//! `int8xc bench`: compile time and latency statistics.

use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use int8xc::{Compiler, DType, Tensor, TensorData};
use serde::Serialize;

use super::args::read_inputs;
use super::{BackendArg, ModelArgs};

/// Arguments of `int8xc bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Input .npy files (graph-input order or `name=path`); default: seeded random inputs.
    #[arg(long = "input", short = 'i', value_name = "[NAME=]PATH")]
    inputs: Vec<String>,
    /// Backend.
    #[arg(long, value_enum, default_value = "jit")]
    backend: BackendArg,
    /// JIT worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed runs.
    #[arg(long, default_value_t = 100)]
    iterations: usize,
    /// Untimed warm-up runs.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Benchmark result; times in milliseconds.
#[derive(Serialize, Debug)]
struct BenchReport {
    model: String,
    backend: String,
    threads: usize,
    iterations: usize,
    compile_ms: f64,
    median_ms: f64,
    p90_ms: f64,
    min_ms: f64,
    mean_ms: f64,
}

/// Runs the benchmark.
pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let (model, parse_time) = args.model.load()?;
    let mut compiler = Compiler::new().backend(args.backend.into()).threads(args.threads);
    for (name, shape) in args.model.shapes()? {
        compiler = compiler.input_shape(&name, shape);
    }
    let given = if args.inputs.is_empty() { None } else { Some(read_inputs(&model, &args.inputs)?) };
    if let Some(inputs) = &given {
        for (info, t) in model.inputs().iter().zip(inputs) {
            compiler = compiler.input_shape(&info.name, t.shape().to_vec());
        }
    }
    let t = Instant::now();
    let compiled = compiler.compile(&model)?;
    let compile_time = parse_time + t.elapsed();
    let inputs = match given {
        Some(i) => i,
        None => compiled.signature().inputs.iter().map(|(_, ty)| random_tensor(ty)).collect::<anyhow::Result<_>>()?,
    };
    for _ in 0..args.warmup {
        compiled.run(&inputs)?;
    }
    let progress = if args.json { ProgressBar::hidden() } else { ProgressBar::new(args.iterations as u64) };
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs {elapsed}").unwrap_or(ProgressStyle::default_bar()),
    );
    let mut times: Vec<Duration> = Vec::with_capacity(args.iterations);
    for _ in 0..args.iterations.max(1) {
        let t = Instant::now();
        compiled.run(&inputs)?;
        times.push(t.elapsed());
        progress.inc(1);
    }
    progress.finish_and_clear();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let pct = |p: f64| ms(times[((times.len() - 1) as f64 * p).round() as usize]);
    let report = BenchReport {
        model: args.model.model.display().to_string(),
        backend: args.backend_name(),
        threads: args.threads,
        iterations: times.len(),
        compile_ms: ms(compile_time),
        median_ms: pct(0.5),
        p90_ms: pct(0.9),
        min_ms: ms(times[0]),
        mean_ms: times.iter().map(|&d| ms(d)).sum::<f64>() / times.len() as f64,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} [{}; {} thread(s)]: compile {:.2} ms; latency median {:.3} ms, p90 {:.3} ms, min {:.3} ms over {} runs",
            report.model,
            report.backend,
            report.threads,
            report.compile_ms,
            report.median_ms,
            report.p90_ms,
            report.min_ms,
            report.iterations
        );
    }
    Ok(())
}

impl BenchArgs {
    fn backend_name(&self) -> String {
        int8xc::Backend::from(self.backend).name().to_string()
    }
}

/// Seeded pseudo-random input in [-1, 1) (xorshift; reproducible across runs).
fn random_tensor(ty: &int8xc::TensorType) -> anyhow::Result<Tensor> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    let n = ty.numel();
    Ok(match ty.dtype {
        DType::F32 => TensorData::from_f32(ty.shape.clone(), (0..n).map(|_| next()).collect())?,
        DType::I64 => TensorData::from_i64(ty.shape.clone(), (0..n).map(|_| (next() * 8.0) as i64).collect())?,
        other => anyhow::bail!("bench: no random input generator for dtype {other}; pass --input"),
    })
}
