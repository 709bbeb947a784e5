//! Test helpers: IR text in, IR text or numbers out.

use int8xc_interp::Interpreter;
use int8xc_ir::{parse_graph, print_graph, ConstEval, Graph, IrError, Op, PrintOptions, TensorData, TensorType};

use crate::{Pass, PassContext};

/// A `ConstEval` that evaluates nothing, for passes that must not need it.
pub struct NoEval;

impl ConstEval for NoEval {
    fn eval(&self, op: &Op, _: &[&TensorData], _: &[TensorType]) -> Result<Vec<TensorData>, IrError> {
        Err(IrError::invalid(format!("{}: NoEval evaluates nothing", op.name())))
    }
}

pub fn parse(text: &str) -> Graph {
    parse_graph(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

pub fn print(g: &Graph) -> String {
    print_graph(g, &PrintOptions::full())
}

/// Runs `pass` once on the graph in `text` with the interpreter as evaluator; checks the
/// result verifies and computes the same outputs (relative tolerance `tol`) on a
/// deterministic input. Returns whether it changed and the printed result.
pub fn run_and_check(pass: &dyn Pass, text: &str, tol: f32) -> (bool, String) {
    let before = parse(text);
    let mut after = before.clone();
    let changed = pass.run(&mut after, &PassContext { eval: &Interpreter }).unwrap_or_else(|e| panic!("{e}"));
    int8xc_ir::verify(&after).unwrap_or_else(|e| panic!("{e}\n{}", print(&after)));
    assert_same_outputs(&before, &after, tol);
    assert!(!changed || after.is_canonical(), "a pass that changes the graph leaves it canonical");
    let text = print(&after);
    let mut canonical = after.clone();
    canonical.canonicalize();
    assert_eq!(parse(&text), canonical, "printed result does not parse back");
    (changed, text)
}

/// Deterministic, varied inputs for every graph input (f32 only).
pub fn sample_inputs(g: &Graph) -> Vec<TensorData> {
    g.inputs
        .iter()
        .map(|&v| {
            let ty = g.ty(v);
            let n = ty.numel();
            let data = (0..n).map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.173).collect();
            TensorData::from_f32(ty.shape.clone(), data).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

pub fn assert_same_outputs(before: &Graph, after: &Graph, tol: f32) {
    let inputs = sample_inputs(before);
    let a = Interpreter.run_graph(before, &inputs).unwrap_or_else(|e| panic!("before: {e}"));
    let b = Interpreter.run_graph(after, &inputs).unwrap_or_else(|e| panic!("after: {e}"));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.shape(), y.shape());
        for (i, (p, q)) in x.to_f32_vec().iter().zip(y.to_f32_vec()).enumerate() {
            assert!((p - q).abs() <= tol * (1.0 + p.abs()), "output element {i}: {p} before, {q} after");
        }
    }
}
