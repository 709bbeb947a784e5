//! JIT-only pre-pass: constant weights that the IR keeps quantized behind a `DequantizeLinear`
//! (weight-only quantization: `MatMul(x, DequantizeLinear(w: i4/i8 const))`, which constant
//! folding leaves in place so the IR stores the weights quantized) are dequantized once here,
//! so the float kernel packs them as constants at compile time, as for any `f32` weight.
//!
//! Numerics: [`int8xc_ir::dequantize_tensor`], the function the interpreter's
//! `DequantizeLinear` uses, so both backends see the same `f32` weights.

use int8xc_ir::{dequantize_tensor, Graph, Op, ValueDef};

use crate::JitError;

/// Returns `graph` with every `DequantizeLinear` of a quantized constant replaced by its
/// `f32` result (same value id, name and type; the quantized constant is dropped when nothing
/// else reads it), or `None` when there is none (the graph is not copied).
///
/// Errors: [`JitError::Invalid`] naming the node when the constant does not match its
/// parameters; [`JitError::Graph`] if the graph cannot be compacted (not verified).
pub(crate) fn fold_dequantized_weights(graph: &Graph) -> Result<Option<Graph>, JitError> {
    let is_target = |n: &int8xc_ir::Node| {
        matches!(n.op, Op::DequantizeLinear)
            && n.inputs.len() == 1
            && n.outputs.len() == 1
            && graph.constant(n.inputs[0]).is_some()
            && graph.ty(n.inputs[0]).quant.is_some()
    };
    if !graph.nodes.iter().any(is_target) {
        return Ok(None);
    }
    crate::module::validate_graph(graph)?;
    let mut g = graph.clone();
    let mut remove = vec![false; g.nodes.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        if !is_target(node) {
            continue;
        }
        let (x, y) = (node.inputs[0], node.outputs[0]);
        let (Some(data), Some(q)) = (graph.constant(x), graph.ty(x).quant.as_ref()) else { continue };
        let f = dequantize_tensor(data, q).filter(|t| t.matches_type(graph.ty(y))).ok_or_else(|| {
            JitError::invalid(node, format!("constant {} does not match its parameters", graph.ty(x)))
        })?;
        g.values[y.index()].def = ValueDef::Const(f);
        remove[i] = true;
    }
    g.remove_nodes(&remove).map_err(|e| JitError::Graph(e.to_string()))?;
    tracing::debug!(graph = %graph.name, folded = remove.iter().filter(|&&r| r).count(), "dequantized constant weights");
    Ok(Some(g))
}

#[cfg(test)]
mod tests {
    use int8xc_ir::{parse_graph, Data};

    use super::*;

    #[test]
    fn dequantizes_int4_weights_once_and_drops_the_quantized_constant() {
        let g = parse_graph(
            "graph g(%x: f32[2,3]) -> (%y) {
              %w: i4<axis=1,scale=[0.5,0.25],zero_point=[1,-1]>[3,2] = const [1, 2, 3, -4, 5, 7]
              %wd = DequantizeLinear(%w)
              %y = MatMul(%x, %wd)
            }",
        )
        .unwrap();
        let out = fold_dequantized_weights(&g).unwrap().expect("rewritten");
        assert_eq!(out.nodes.len(), 1);
        let wd = out.nodes[0].inputs[1];
        let Data::F32(v) = out.constant(wd).expect("constant").data() else { panic!("f32") };
        assert_eq!(v, &[0.0, 0.75, 1.0, -0.75, 2.0, 2.0]);
        assert!(out.values.iter().all(|v| v.name != "w"), "the i4 constant is dropped");
        assert!(fold_dequantized_weights(&out).unwrap().is_none());
    }
}
