//! Int8 GEMM throughput: `QMatMul` u8 × i8 → u8 (f32 requantization), 256³ and 1024³, one
//! thread, on the default path (the AVX-512 VNNI ukernel where the host has it) and on the
//! pure-Cranelift microkernel (`_clif`, what object files and other hosts get).
//! Reported as elements = multiply-accumulates, so criterion's "thrpt" is MAC/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use int8xc_ir::{Data, Graph, Op, QMatMulAttrs, QuantParams, Requant, RequantMode, TensorData, TensorType};
use int8xc_jit::{compile, JitOptions, Microkernels};
use int8xc_runtime::Executable;

fn qmatmul_graph(m: usize, k: usize, n: usize) -> (Graph, TensorData) {
    let mut g = Graph::new("qgemm");
    let a_ty = TensorType {
        quant: Some(QuantParams::per_tensor(0.02, 120)),
        ..TensorType::new(int8xc_ir::DType::U8, vec![m, k])
    };
    let x = g.add_input("a", a_ty);
    let wv: Vec<i8> = (0..k * n).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as i8).collect();
    let w = g.add_const("w", TensorData::new(vec![k, n], Data::I8(wv)).expect("weights"));
    g.values[w.index()].ty.quant = Some(QuantParams::per_tensor(0.003, 0));
    let requant = Requant {
        mode: RequantMode::F32Multiplier,
        out_dtype: int8xc_ir::DType::U8,
        out_scale: 0.5,
        out_zero_point: 128,
        clamp: None,
    };
    let y =
        g.add_node("y", Op::QMatMul(QMatMulAttrs { alpha: 1.0, requant: Some(requant) }), vec![x, w]).expect("node")[0];
    g.outputs.push(y);
    let av: Vec<u8> = (0..m * k).map(|i| (i.wrapping_mul(40_503) >> 5) as u8).collect();
    (g, TensorData::new(vec![m, k], Data::U8(av)).expect("input"))
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("qgemm");
    group.sample_size(20);
    for s in [256usize, 1024] {
        let (g, a) = qmatmul_graph(s, s, s);
        let inputs = [a];
        group.throughput(Throughput::Elements((s * s * s) as u64));
        for (suffix, ukernels) in [("", Microkernels::Best), ("_clif", Microkernels::Off)] {
            let model = compile(&g, &JitOptions { ukernels, ..JitOptions::default() }).expect("compile");
            group.bench_function(format!("u8xi8_{s}x{s}x{s}{suffix}"), |b| b.iter(|| model.run(&inputs).expect("run")));
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
