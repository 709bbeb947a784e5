//! Quick single-thread speed check of the JIT's f32 GEMM and conv kernels (not part of the
//! test suite): `cargo run --release -p int8xc-jit --example gemm_speed [threads] [speed]`.

use std::time::Instant;

use int8xc_ir::{ConvAttrs, DType, Graph, Op, TensorData, TensorType};
use int8xc_jit::{compile, JitOptions, OptLevel};
use int8xc_runtime::Executable;

fn tensor(shape: &[usize], seed: u32) -> TensorData {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(2654435761) | 1;
    let v = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1 << 24) as f32 - 0.5
        })
        .collect();
    TensorData::from_f32(shape.to_vec(), v).unwrap()
}

fn time(label: &str, g: &Graph, x: TensorData, flops: f64, opts: &JitOptions) {
    let t0 = Instant::now();
    let m = compile(g, opts).unwrap();
    let ct = t0.elapsed();
    let xs = [x];
    m.run(&xs).unwrap();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let reps = 10;
        let t = Instant::now();
        for _ in 0..reps {
            m.run(&xs).unwrap();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    println!(
        "{label:<40} {:8.3} ms  {:6.1} GFLOP/s  (compile {:.2} ms, {} code bytes)",
        best * 1e3,
        flops / best / 1e9,
        ct.as_secs_f64() * 1e3,
        m.stats().code_bytes
    );
}

fn matmul(m: usize, k: usize, n: usize, opts: &JitOptions) {
    let mut g = Graph::new("mm");
    let x = g.add_input("x", TensorType::new(DType::F32, vec![m, k]));
    let w = g.add_const("w", tensor(&[k, n], 7));
    let y = g.add_node("y", Op::MatMul, vec![x, w]).unwrap()[0];
    g.outputs.push(y);
    time(&format!("matmul {m}x{k}x{n}"), &g, tensor(&[m, k], 3), 2.0 * (m * n * k) as f64, opts);
}

#[allow(clippy::too_many_arguments)]
fn conv(c: usize, h: usize, mch: usize, kk: usize, stride: usize, pad: usize, group: usize, opts: &JitOptions) {
    let mut g = Graph::new("conv");
    let x = g.add_input("x", TensorType::new(DType::F32, vec![1, c, h, h]));
    let w = g.add_const("w", tensor(&[mch, c / group, kk, kk], 5));
    let b = g.add_const("b", tensor(&[mch], 6));
    let attrs = ConvAttrs { kernel: [kk, kk], strides: [stride; 2], pads: [pad; 4], dilations: [1, 1], group };
    let y = g.add_node("y", Op::Conv(attrs), vec![x, w, b]).unwrap()[0];
    let oh = g.ty(y).shape[2];
    g.outputs.push(y);
    let flops = 2.0 * (mch * oh * oh * (c / group) * kk * kk) as f64;
    time(&format!("conv {c}->{mch} {h}x{h} k{kk} s{stride} g{group}"), &g, tensor(&[1, c, h, h], 4), flops, opts);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let opt_level = if args.iter().any(|a| a == "speed") { OptLevel::Speed } else { OptLevel::None };
    let opts = JitOptions { threads, opt_level, verify: false, ..JitOptions::default() };
    println!("threads {threads}, opt_level {opt_level:?}");
    matmul(256, 256, 256, &opts);
    matmul(512, 512, 512, &opts);
    matmul(1, 512, 1000, &opts);
    conv(64, 56, 64, 3, 1, 1, 1, &opts);
    conv(64, 56, 256, 1, 1, 0, 1, &opts);
    conv(128, 28, 128, 3, 1, 1, 1, &opts);
    conv(256, 14, 256, 3, 1, 1, 1, &opts);
    conv(3, 224, 64, 7, 2, 3, 1, &opts);
    conv(144, 56, 144, 3, 1, 1, 144, &opts);
    conv(96, 112, 96, 3, 2, 1, 96, &opts);
}
