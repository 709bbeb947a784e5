//! f32 GEMM throughput of the JIT (`MatMul` of a run-time `[n, n]` by a constant `[n, n]`,
//! one thread) with and without the microkernels: `cargo bench -p int8xc-jit --bench sgemm`.
//!
//! Criterion reports throughput in "elements/s" where one element is one FLOP (`2·n³` per
//! run), so `Gelem/s` reads as GFLOP/s. Peak on the project's Zen 4 core: 117 GFLOP/s with
//! 512-bit FMA, 54 with 128-bit (DESIGN.md).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use int8xc_ir::{DType, Graph, Op, TensorData, TensorType};
use int8xc_jit::{compile, JitOptions, Microkernels};
use int8xc_runtime::Executable;

fn tensor(shape: &[usize], seed: u32) -> TensorData {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(2_654_435_761) | 1;
    let v = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1 << 24) as f32 - 0.5
        })
        .collect();
    TensorData::from_f32(shape.to_vec(), v).expect("shape matches data")
}

fn sgemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("sgemm");
    group.sample_size(10);
    for n in [256usize, 512, 1024] {
        let mut g = Graph::new("mm");
        let x = g.add_input("x", TensorType::new(DType::F32, vec![n, n]));
        let w = g.add_const("w", tensor(&[n, n], 7));
        let y = g.add_node("y", Op::MatMul, vec![x, w]).expect("valid MatMul")[0];
        g.outputs.push(y);
        let inputs = [tensor(&[n, n], 3)];
        group.throughput(Throughput::Elements(2 * (n * n * n) as u64));
        for mode in [Microkernels::Off, Microkernels::Avx2, Microkernels::Best] {
            let opts = JitOptions { ukernels: mode, verify: false, ..JitOptions::default() };
            let model = compile(&g, &opts).expect("MatMul compiles");
            group.bench_with_input(BenchmarkId::new(format!("{mode:?}"), n), &inputs, |bench, xs| {
                bench.iter(|| model.run(xs).expect("runs"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, sgemm);
criterion_main!(benches);
