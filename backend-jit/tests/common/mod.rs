//! Shared helpers of the differential tests: build graphs, run them with the JIT and the
//! reference interpreter, compare.
//!
//! Float tolerance (documented in DESIGN.md terms, "a few ULP"): an element passes when
//! `|jit - ref| <= 1e-5 * max(|ref|, 1)`. With inputs in [-1, 1] this is ≤ 1e-5 relative for
//! results of magnitude ≥ 1 and ≤ 1e-5 absolute for small results, where reassociated sums
//! (GEMM tiles, FMA contraction) differ from the interpreter's sequential sums by a few ULP of
//! the *partial sums*, not of the result.

#![allow(dead_code)]

use int8xc_interp::Interpreter;
use int8xc_ir::{DType, Graph, Op, TensorData, TensorType, ValueId};
use int8xc_jit::{compile, JitOptions, Microkernels};
use int8xc_runtime::Executable;

/// A deterministic xorshift generator (tests need no `rand`).
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        TestRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// Uniform in [-1, 1).
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub fn tensor(&mut self, shape: &[usize]) -> TensorData {
        let n = shape.iter().product();
        TensorData::from_f32(shape.to_vec(), (0..n).map(|_| self.f32()).collect()).unwrap()
    }
    pub fn tensor_scaled(&mut self, shape: &[usize], scale: f32) -> TensorData {
        let n = shape.iter().product();
        TensorData::from_f32(shape.to_vec(), (0..n).map(|_| self.f32() * scale).collect()).unwrap()
    }
}

pub fn f32_ty(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

/// Adds a node whose output type comes from shape inference.
pub fn node(g: &mut Graph, name: &str, op: Op, inputs: Vec<ValueId>) -> ValueId {
    g.add_node(name, op, inputs).unwrap_or_else(|e| panic!("{e}"))[0]
}

/// Max |jit - ref| / max(|ref|, 1) over all elements (f32 tensors).
pub fn max_rel_err(jit: &TensorData, reference: &TensorData) -> f32 {
    assert_eq!(jit.shape(), reference.shape(), "shapes differ");
    let (a, b) = (jit.as_f32().expect("f32"), reference.as_f32().expect("f32"));
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            if x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()) {
                0.0
            } else {
                (x - y).abs() / y.abs().max(1.0)
            }
        })
        .fold(0.0, f32::max)
}

/// Every code path of the JIT the differential tests cover: pure Cranelift code, the AVX2
/// microkernels and the best ones of the host (each falls back to pure Cranelift code on a
/// CPU without them, so the list is the same everywhere).
pub const MICROKERNELS: [Microkernels; 3] = [Microkernels::Off, Microkernels::Avx2, Microkernels::Best];

/// Runs `graph` on `inputs` with the JIT (`threads`, once per [`MICROKERNELS`] mode) and with
/// the interpreter; returns the largest error over all modes and outputs (integer outputs
/// must match exactly).
pub fn diff_with_threads(graph: &Graph, inputs: &[TensorData], threads: usize) -> f32 {
    let want = Interpreter.run_graph(graph, inputs).unwrap_or_else(|e| panic!("interp: {e}"));
    let mut worst = 0.0f32;
    for ukernels in MICROKERNELS {
        let opts = JitOptions { threads, ukernels, ..JitOptions::default() };
        let model = compile(graph, &opts).unwrap_or_else(|e| panic!("compile ({ukernels:?}): {e}"));
        let got = model.run(inputs).unwrap_or_else(|e| panic!("run ({ukernels:?}): {e}"));
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            if w.dtype() == DType::F32 {
                worst = worst.max(max_rel_err(g, w));
            } else {
                assert_eq!(g, w, "integer outputs differ ({ukernels:?})");
            }
        }
    }
    worst
}

pub fn diff(graph: &Graph, inputs: &[TensorData]) -> f32 {
    diff_with_threads(graph, inputs, 1)
}

pub const TOL: f32 = 1e-5;
