//! The compile report printed by `int8xc compile --stats`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// Wall-clock time of each compile phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PhaseTimes {
    /// Reading and decoding the ONNX protobuf (filled in by the caller that loaded the model).
    pub parse: Duration,
    /// ONNX → IR import, including folding of shape sub-graphs.
    pub import: Duration,
    /// The pass pipeline.
    pub passes: Duration,
    /// Backend code generation (Cranelift) or interpreter set-up.
    pub codegen: Duration,
}

/// Per-pass statistics.
#[derive(Clone, Debug, Serialize)]
pub struct PassReport {
    /// Pass name.
    pub name: String,
    /// Time spent.
    pub time: Duration,
    /// Nodes before the pass.
    pub nodes_before: usize,
    /// Nodes after the pass.
    pub nodes_after: usize,
}

/// What a compilation did: graph statistics, code size, time per phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CompileReport {
    /// Backend name (`jit` / `interp`).
    pub backend: String,
    /// Target triple.
    pub target: String,
    /// Bound input shapes, in graph-input order.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Nodes right after import.
    pub nodes_imported: usize,
    /// Nodes after the passes.
    pub nodes_optimized: usize,
    /// Node count per op after the passes.
    pub ops: BTreeMap<String, usize>,
    /// Multiply-accumulates per inference.
    pub macs: u64,
    /// Of `macs`, those in integer arithmetic (`QConv`, `QMatMul`, `ConvInteger`,
    /// `MatMulInteger`, `DynamicQuantizeLSTM`).
    pub integer_macs: u64,
    /// Of `macs`, those in floating point (`Conv`, `MatMul`, `Gemm`, `LSTM`, …).
    pub float_macs: u64,
    /// Bytes of constant data (weights) after the passes.
    pub weight_bytes: usize,
    /// Compiled kernels (0 for the interpreter).
    pub kernels: usize,
    /// Machine-code bytes (0 for the interpreter).
    pub code_bytes: usize,
    /// Activation arena bytes (0 for the interpreter).
    pub arena_bytes: usize,
    /// Time per phase.
    pub times: PhaseTimes,
    /// Per-pass statistics.
    pub passes: Vec<PassReport>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl fmt::Display for CompileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "backend {} for {}", self.backend, self.target)?;
        for (name, shape) in &self.input_shapes {
            writeln!(f, "  input {name}: {shape:?}")?;
        }
        writeln!(f, "graph: {} nodes imported, {} after passes", self.nodes_imported, self.nodes_optimized)?;
        for (op, n) in &self.ops {
            writeln!(f, "  {op:<20} {n:>5}")?;
        }
        writeln!(f, "MACs per inference: {}", self.macs)?;
        if self.macs > 0 {
            let pct = |x: u64| 100.0 * x as f64 / self.macs as f64;
            writeln!(
                f,
                "  integer: {} ({:.1}%), float: {} ({:.1}%)",
                self.integer_macs,
                pct(self.integer_macs),
                self.float_macs,
                pct(self.float_macs)
            )?;
        }
        writeln!(f, "weights: {} bytes", self.weight_bytes)?;
        if self.kernels > 0 {
            writeln!(
                f,
                "kernels: {}, code: {} bytes, arena: {} bytes",
                self.kernels, self.code_bytes, self.arena_bytes
            )?;
        }
        let t = &self.times;
        writeln!(
            f,
            "time: parse {:.3} ms, import {:.3} ms, passes {:.3} ms, codegen {:.3} ms, total {:.3} ms",
            ms(t.parse),
            ms(t.import),
            ms(t.passes),
            ms(t.codegen),
            ms(t.parse + t.import + t.passes + t.codegen)
        )?;
        for p in &self.passes {
            writeln!(f, "  pass {:<24} {:>8.3} ms  nodes {} -> {}", p.name, ms(p.time), p.nodes_before, p.nodes_after)?;
        }
        Ok(())
    }
}
