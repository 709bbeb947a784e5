//! Constant folding.

use int8xc_ir::{Graph, NodeId, Op, TensorData, TensorType, ValueDef};

use crate::{Pass, PassContext, PassError};

/// Evaluates every node whose inputs are all constants with [`PassContext::eval`] (typed:
/// quantized constants carry their parameters, e.g. for `DequantizeLinear`) and
/// replaces its outputs by constants (same values, names and types), in one sweep in
/// topological order, so chains of constant nodes (`Shape → Gather → Concat`, transposed or
/// scaled weights) fold completely. Constants that are no longer read are removed and the
/// graph is renumbered ([`Graph::remove_nodes`]).
///
/// Nodes with an output of more than [`ConstantFolding::max_elements`] elements are left in
/// place (folding them would bloat the model, e.g. a broadcast to a large activation shape).
///
/// A `DequantizeLinear` of a quantized constant whose every reader uses it as the weights
/// (input 1) of `MatMul`, `Conv` or `ConvTranspose` is kept too: the weights stay quantized in
/// the IR (one byte, or half a byte for 4-bit types, per element, as in the model) rather than
/// becoming `f32`, as ONNX Runtime keeps them for its weight-only kernels (`MatMulNBits`). A
/// backend that computes such a layer in float dequantizes the weights once when it packs them
/// (the JIT does, before lowering).
///
/// Errors: [`PassError::AtNode`] when the evaluator fails on a node (the graph would fail
/// the same way at run time), or returns results that do not match the node's output types.
#[derive(Clone, Copy, Debug)]
pub struct ConstantFolding {
    /// Largest output (elements) a node may have to be folded; default 16M (2^24).
    pub max_elements: usize,
}

impl Default for ConstantFolding {
    fn default() -> Self {
        ConstantFolding { max_elements: 1 << 24 }
    }
}

impl Pass for ConstantFolding {
    fn name(&self) -> &'static str {
        "constant-folding"
    }

    fn run(&self, graph: &mut Graph, ctx: &PassContext) -> Result<bool, PassError> {
        let mut folded = Vec::new();
        let users = graph.users();
        for n in 0..graph.nodes.len() {
            let node = &graph.nodes[n];
            if keeps_quantized_weights(graph, &users, n) {
                continue;
            }
            let inputs: Option<Vec<&TensorData>> = node.inputs.iter().map(|&v| graph.constant(v)).collect();
            let Some(inputs) = inputs else { continue };
            let out_types: Vec<TensorType> = node.outputs.iter().map(|&v| graph.ty(v).clone()).collect();
            if inputs.is_empty() || out_types.iter().any(|t| t.numel() > self.max_elements) {
                continue;
            }
            let at_node = |message: String| PassError::AtNode {
                pass: self.name().into(),
                node: node.name.clone(),
                op: node.op.name().into(),
                message,
            };
            let in_types: Vec<&TensorType> = node.inputs.iter().map(|&v| graph.ty(v)).collect();
            let results =
                ctx.eval.eval_typed(&node.op, &inputs, &in_types, &out_types).map_err(|e| at_node(e.to_string()))?;
            if results.len() != out_types.len() || results.iter().zip(&out_types).any(|(r, t)| !r.matches_type(t)) {
                return Err(at_node(format!(
                    "evaluator returned {} results not matching the output types",
                    results.len()
                )));
            }
            tracing::trace!(node = %node.name, op = node.op.name(), "folded");
            let outputs = node.outputs.clone();
            for (v, data) in outputs.into_iter().zip(results) {
                graph.values[v.index()].def = ValueDef::Const(data);
            }
            folded.push(n);
        }
        if folded.is_empty() {
            return Ok(false);
        }
        let mut remove = vec![false; graph.nodes.len()];
        folded.iter().for_each(|&n| remove[n] = true);
        graph.remove_nodes(&remove).map_err(|e| PassError::ir(self.name(), e))?;
        Ok(true)
    }
}

/// Whether node `n` is a `DequantizeLinear` of a quantized constant read only as the weights
/// (input 1) of `MatMul`, `Conv` or `ConvTranspose` (see [`ConstantFolding`]).
fn keeps_quantized_weights(graph: &Graph, users: &[Vec<NodeId>], n: usize) -> bool {
    let node = &graph.nodes[n];
    let (Op::DequantizeLinear, [x], [y]) = (&node.op, node.inputs.as_slice(), node.outputs.as_slice()) else {
        return false;
    };
    if graph.constant(*x).is_none() || graph.ty(*x).quant.is_none() || graph.outputs.contains(y) {
        return false;
    }
    let readers = users.get(y.index()).map_or(&[][..], Vec::as_slice);
    !readers.is_empty()
        && readers.iter().all(|r| {
            graph.nodes.get(r.index()).is_some_and(|c| {
                matches!(c.op, Op::MatMul | Op::Conv(_) | Op::ConvTranspose(_))
                    && c.inputs.get(1) == Some(y)
                    && c.inputs.iter().filter(|&&i| i == *y).count() == 1
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{parse, run_and_check};
    use int8xc_interp::Interpreter;

    #[test]
    fn folds_constant_chains_and_drops_dead_constants() {
        let text = "graph g(%x: f32[2,3]) -> (%y) {
              %w: f32[3,2] = const [1, 2, 3, 4, 5, 6]
              %wt = Transpose(%w) {perm=[1,0]}
              %s: f32[] = const [0.5]
              %ws = Mul(%wt, %s)
              %y = Add(%x, %ws)
            }";
        let (changed, out) = run_and_check(&ConstantFolding::default(), text, 0.0);
        assert!(changed);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn leaves_outputs_above_the_cap() {
        let text = "graph g() -> (%y) {
              %a: f32[4] = const [1, 2, 3, 4]
              %b: f32[4,1] = const [1, 2, 3, 4]
              %y = Add(%a, %b)
            }";
        let mut g = parse(text);
        let pass = ConstantFolding { max_elements: 15 };
        assert!(!pass.run(&mut g, &PassContext { eval: &Interpreter }).unwrap());
        assert_eq!(g.nodes.len(), 1);
        let (changed, out) = run_and_check(&ConstantFolding { max_elements: 16 }, text, 0.0);
        assert!(changed && !out.contains("Add"), "{out}");
    }

    #[test]
    fn keeps_quantized_matmul_weights_and_folds_other_dequantized_constants() {
        let text = "graph g(%x: f32[2,3]) -> (%y, %z) {
              %w: i4<axis=1,scale=[0.5,0.25],zero_point=[1,-1]>[3,2] = const [1, 2, 3, -4, 5, 7]
              %wd = DequantizeLinear(%w)
              %y = MatMul(%x, %wd)
              %b: u8<0.5,3>[2] = const [4, 9]
              %bd = DequantizeLinear(%b)
              %z = Add(%y, %bd)
            }";
        let (changed, out) = run_and_check(&ConstantFolding::default(), text, 0.0);
        assert!(changed);
        assert!(out.contains("%wd: f32[3,2] = DequantizeLinear(%w)"), "{out}");
        assert!(!out.contains("DequantizeLinear(%b)"), "{out}");
    }

    #[test]
    fn evaluation_errors_name_the_node() {
        let text = "graph g() -> (%y) {
              %a: i64[2] = const [1, 2]
              %z: i64[2] = const [1, 0]
              %y = Div(%a, %z) @divide
            }";
        let mut g = parse(text);
        let e = ConstantFolding::default().run(&mut g, &PassContext { eval: &Interpreter }).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("pass constant-folding: node 'divide' (Div): "), "{msg}");
    }
}
