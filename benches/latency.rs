//! Interpreter vs JIT latency on the fixture models (single thread).
//!
//! `cargo bench --bench latency`. For a comparison against ONNX Runtime measured in the same
//! run, use `scripts/bench_vs_ort.py`.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use int8xc::{Backend, Compiler, Model, Tensor};

fn fixture(name: &str) -> (Model, Vec<Tensor>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let model = Model::load(&dir.join("model.onnx")).expect("fixture model loads");
    let inputs = (0..model.inputs().len())
        .map(|i| int8xc::npy::read(&dir.join(format!("input_{i}.npy"))).expect("fixture input reads"))
        .collect();
    (model, inputs)
}

fn latency(c: &mut Criterion) {
    for name in ["digits_cnn", "resnet_mini", "mobilenet_mini"] {
        let (model, inputs) = fixture(name);
        let mut group = c.benchmark_group(name);
        group.sample_size(20);
        for backend in [Backend::Jit, Backend::Interp] {
            let mut compiler = Compiler::new().backend(backend);
            for (info, t) in model.inputs().iter().zip(&inputs) {
                compiler = compiler.input_shape(&info.name, t.shape().to_vec());
            }
            let compiled = compiler.compile(&model).expect("fixture compiles");
            group.bench_function(backend.name(), |b| b.iter(|| compiled.run(&inputs).expect("runs")));
        }
        group.finish();
    }
}

fn compile_time(c: &mut Criterion) {
    let (model, inputs) = fixture("resnet_mini");
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.bench_function("resnet_mini_jit", |b| {
        b.iter(|| {
            let mut compiler = Compiler::new();
            for (info, t) in model.inputs().iter().zip(&inputs) {
                compiler = compiler.input_shape(&info.name, t.shape().to_vec());
            }
            compiler.compile(&model).expect("compiles")
        })
    });
    group.finish();
}

criterion_group!(benches, latency, compile_time);
criterion_main!(benches);
