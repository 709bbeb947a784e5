//! Per-kernel wall time of a fixture model on the JIT (one thread), with and without the
//! microkernels: where a model's time goes.
//!
//! `cargo run --release --example profile_kernels -- tests/fixtures/resnet_mini [iterations]`

use std::path::PathBuf;

use int8xc::{Compiler, Model};
use int8xc_jit::{JitOptions, Microkernels};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).map_or("tests/fixtures/resnet_mini", String::as_str));
    let iterations: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let model = Model::load(&dir.join("model.onnx"))?;
    let inputs: Vec<_> = (0..model.inputs().len())
        .map(|i| int8xc::npy::read(&dir.join(format!("input_{i}.npy"))))
        .collect::<Result<_, _>>()?;
    let mut compiler = Compiler::new();
    for (info, t) in model.inputs().iter().zip(&inputs) {
        compiler = compiler.input_shape(&info.name, t.shape().to_vec());
    }
    let graph = compiler.optimized_graph(&model)?;
    for ukernels in [Microkernels::Off, Microkernels::Best] {
        let jit = int8xc_jit::compile(&graph, &JitOptions { ukernels, ..JitOptions::default() })?;
        // The machine is shared: keep each kernel's best mean over 5 rounds.
        let mut times = jit.profile(&inputs, iterations)?;
        for _ in 0..4 {
            for (best, (_, t)) in times.iter_mut().zip(jit.profile(&inputs, iterations)?) {
                best.1 = best.1.min(t);
            }
        }
        let total: f64 = times.iter().map(|(_, t)| t.as_secs_f64()).sum();
        println!("{} with microkernels {ukernels:?}: {:.1} µs", dir.display(), total * 1e6);
        for ((name, t), node) in times.iter().zip(&graph.nodes) {
            let us = t.as_secs_f64() * 1e6;
            println!("  {:>8.2} µs {:>5.1} %  {:<12} {name}", us, 100.0 * us / (total * 1e6), node.op.name());
        }
    }
    Ok(())
}
