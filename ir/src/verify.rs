//! The graph verifier: checks every invariant of [`Graph`] that the rest of the compiler
//! relies on, so that passes and backends can index and iterate without re-checking.

use std::collections::HashMap;

use crate::{infer_types, Graph, IrError, NodeId, TensorType, ValueDef, ValueId, MAX_TENSOR_ELEMENTS};

/// Most nodes a graph may have.
pub const MAX_NODES: usize = 1_000_000;

/// Checks that `graph` is well formed:
///
/// - at most [`MAX_NODES`] nodes, at most `u32::MAX` values, every tensor at most
///   [`MAX_TENSOR_ELEMENTS`] elements;
/// - every [`ValueId`] used (graph inputs and outputs, node inputs and outputs) is in range;
/// - every value is defined exactly once and its [`ValueDef`] says where: `Input(n)` is
///   `graph.inputs[n]`, `Node(id, i)` is `nodes[id].outputs[i]`;
/// - nodes are in topological order: every node input is a graph input, a constant or an
///   output of an earlier node;
/// - value names and node names are non-empty and unique;
/// - every node's output types equal [`infer_types`] of its input types (dtype, shape and
///   quantization parameters);
/// - types are well formed ([`crate::QuantParams::check`]): quantization parameters only on
///   integer dtypes, with finite scales > 0, one zero point per scale within the dtype's
///   range, one pair per tensor, per index along an axis that exists (per axis), or per
///   block (blocked);
/// - quantized ops' own invariants, checked by shape inference: the parameters they read
///   are present and of the supported granularity, bias parameters are consistent
///   (zero point 0, scale `s_x * s_w`), no signedness mix ONNX Runtime rejects;
/// - constants' data have their value's dtype and shape.
///
/// Errors: the first violation found, as [`IrError::Verify`] (or [`IrError::Limit`] for a
/// size limit), naming the node (`node 'conv0' (Conv)`), the value (`%w0`) and the problem.
pub fn verify(graph: &Graph) -> Result<(), IrError> {
    let nv = graph.values.len();
    if graph.nodes.len() > MAX_NODES {
        return Err(IrError::Limit(format!("graph has {} nodes, more than {MAX_NODES}", graph.nodes.len())));
    }
    if u32::try_from(nv).is_err() {
        return Err(IrError::Limit(format!("graph has {nv} values, more than {}", u32::MAX)));
    }
    let bad = |msg: String| Err(IrError::Verify(msg));
    let in_range = |v: ValueId| v.index() < nv;

    for (pos, &v) in graph.inputs.iter().enumerate() {
        if !in_range(v) {
            return bad(format!("graph input {pos} is value {} of {nv}", v.0));
        }
    }
    for (pos, &v) in graph.outputs.iter().enumerate() {
        if !in_range(v) {
            return bad(format!("graph output {pos} is value {} of {nv}", v.0));
        }
    }
    for (ni, node) in graph.nodes.iter().enumerate() {
        if let Some((i, v)) = node.inputs.iter().chain(&node.outputs).enumerate().find(|(_, v)| !in_range(**v)) {
            let what = if i < node.inputs.len() { "input" } else { "output" };
            let i = if i < node.inputs.len() { i } else { i - node.inputs.len() };
            return bad(format!(
                "node '{}' ({}) #{ni}: {what} {i} is value {} of {nv}",
                node.name,
                node.op.name(),
                v.0
            ));
        }
    }

    // Names and definitions of values.
    let mut names: HashMap<&str, ValueId> = HashMap::with_capacity(nv);
    for (i, value) in graph.values.iter().enumerate() {
        let id = ValueId(i as u32);
        if value.name.is_empty() {
            return bad(format!("value {i} has an empty name"));
        }
        if let Some(prev) = names.insert(&value.name, id) {
            return bad(format!("values {} and {i} are both named %{}", prev.0, value.name));
        }
        check_type(&value.ty).map_err(|m| IrError::Verify(format!("%{}: type {}: {m}", value.name, value.ty)))?;
        match value.ty.checked_numel() {
            Some(n) if n <= MAX_TENSOR_ELEMENTS => {}
            _ => {
                return Err(IrError::Limit(format!(
                    "%{} of type {} has more than {MAX_TENSOR_ELEMENTS} elements",
                    value.name, value.ty
                )))
            }
        }
        match &value.def {
            ValueDef::Input(n) => {
                if graph.inputs.get(*n) != Some(&id) {
                    return bad(format!("%{} says it is graph input {n}, but that is not listed", value.name));
                }
            }
            ValueDef::Const(data) => {
                if !data.matches_type(&value.ty) {
                    return bad(format!(
                        "constant %{} has data {}{:?} but type {}",
                        value.name,
                        data.dtype(),
                        data.shape(),
                        value.ty
                    ));
                }
            }
            ValueDef::Node(n, k) => {
                if graph.nodes.get(n.index()).and_then(|node| node.outputs.get(*k)) != Some(&id) {
                    return bad(format!(
                        "%{} says it is output {k} of node #{}, but that node does not list it",
                        value.name, n.0
                    ));
                }
            }
        }
    }
    // Each graph input position points back (a value listed twice fails here).
    for (pos, &v) in graph.inputs.iter().enumerate() {
        if graph.value(v).def != ValueDef::Input(pos) {
            return bad(format!("graph input {pos} %{} is not defined as input {pos}", graph.value(v).name));
        }
    }

    let mut node_names: HashMap<&str, usize> = HashMap::with_capacity(graph.nodes.len());
    for (ni, node) in graph.nodes.iter().enumerate() {
        let at = || format!("node '{}' ({})", node.name, node.op.name());
        if node.name.is_empty() {
            return bad(format!("node #{ni} ({}) has an empty name", node.op.name()));
        }
        if let Some(prev) = node_names.insert(&node.name, ni) {
            return bad(format!("nodes #{prev} and #{ni} are both named '{}'", node.name));
        }
        for (k, &v) in node.outputs.iter().enumerate() {
            if graph.value(v).def != ValueDef::Node(NodeId(ni as u32), k) {
                return bad(format!("{}: output {k} %{} is defined elsewhere", at(), graph.value(v).name));
            }
        }
        for (k, &v) in node.inputs.iter().enumerate() {
            if let ValueDef::Node(def, _) = graph.value(v).def {
                if def.index() >= ni {
                    let producer = graph.nodes.get(def.index()).map_or("?", |n| n.name.as_str());
                    return bad(format!(
                        "{}: input {k} %{} is used before it is defined (by node '{producer}' #{})",
                        at(),
                        graph.value(v).name,
                        def.0
                    ));
                }
            }
        }
        let in_types: Vec<&TensorType> = node.inputs.iter().map(|&v| graph.ty(v)).collect();
        let inferred = infer_types(&node.op, &in_types).map_err(|e| IrError::Verify(format!("{}: {e}", at())))?;
        if inferred.len() != node.outputs.len() {
            return bad(format!("{}: has {} outputs, the op has {}", at(), node.outputs.len(), inferred.len()));
        }
        for (k, (&v, want)) in node.outputs.iter().zip(&inferred).enumerate() {
            if graph.ty(v) != want {
                return bad(format!(
                    "{}: output {k} %{} has type {}, shape inference gives {want}",
                    at(),
                    graph.value(v).name,
                    graph.ty(v)
                ));
            }
        }
    }
    Ok(())
}

/// Checks the quantization parameters of a type; the message says what is wrong.
fn check_type(ty: &TensorType) -> Result<(), String> {
    match &ty.quant {
        Some(q) => q.check(ty.dtype, &ty.shape),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BinaryOp, ConvAttrs, DType, Op, QuantParams, TensorData, UnaryOp, Value};

    fn f32t(shape: &[usize]) -> TensorType {
        TensorType::new(DType::F32, shape.to_vec())
    }

    /// x -> Conv(w, b) -> Relu -> Add(x') -> out
    fn small() -> Graph {
        let mut g = Graph::new("small");
        let x = g.add_input("x", f32t(&[1, 2, 4, 4]));
        let w = g.add_const("w", TensorData::from_f32([2, 2, 1, 1], vec![1.0, 0.0, 0.0, 1.0]).unwrap());
        let b = g.add_const("b", TensorData::from_f32([2], vec![0.5, -0.5]).unwrap());
        let attrs = ConvAttrs { kernel: [1, 1], strides: [1, 1], pads: [0; 4], dilations: [1, 1], group: 1 };
        let c = g.add_node("conv", Op::Conv(attrs), vec![x, w, b]).unwrap()[0];
        let r = g.add_node("relu", Op::Unary(UnaryOp::Relu), vec![c]).unwrap()[0];
        let y = g.add_node("add", Op::Binary(BinaryOp::Add), vec![r, x]).unwrap()[0];
        g.outputs.push(y);
        g
    }

    fn verify_err(g: &Graph) -> String {
        match verify(g) {
            Ok(()) => panic!("graph verified"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn built_graph_verifies() {
        assert_eq!(verify(&small()), Ok(()));
        assert_eq!(verify(&Graph::new("empty")), Ok(()));
    }

    #[test]
    fn use_before_def_is_rejected() {
        let mut g = small();
        g.nodes.swap(1, 2); // add now reads relu's output before relu runs
        for (i, n) in g.nodes.iter().enumerate() {
            for (k, &v) in n.outputs.iter().enumerate() {
                g.values[v.index()].def = ValueDef::Node(NodeId(i as u32), k);
            }
        }
        let e = verify_err(&g);
        assert!(e.contains("node 'add' (Add): input 0 %relu is used before it is defined (by node 'relu' #2)"), "{e}");
    }

    #[test]
    fn self_cycle_is_rejected() {
        let mut g = small();
        let out = g.nodes[1].outputs[0];
        g.nodes[1].inputs[0] = out;
        assert!(verify_err(&g).contains("node 'relu' (Relu): input 0 %relu is used before it is defined"));
    }

    #[test]
    fn dangling_ids_are_rejected() {
        let mut g = small();
        g.nodes[2].inputs[1] = ValueId(99);
        assert!(verify_err(&g).contains("node 'add' (Add) #2: input 1 is value 99 of 6"));
        let mut g = small();
        g.outputs.push(ValueId(6));
        assert!(verify_err(&g).contains("graph output 1 is value 6 of 6"));
        let mut g = small();
        g.values[4].def = ValueDef::Node(NodeId(7), 0);
        assert!(verify_err(&g).contains("%relu says it is output 0 of node #7, but that node does not list it"));
    }

    #[test]
    fn values_defined_twice_are_rejected() {
        let mut g = small();
        let relu_out = g.nodes[1].outputs[0];
        g.nodes[2].outputs[0] = relu_out;
        g.outputs[0] = relu_out;
        // %add is no longer listed by its node
        assert!(verify_err(&g).contains("%add says it is output 0 of node #2"));
        let mut g = small();
        g.inputs.push(g.inputs[0]);
        assert!(verify_err(&g).contains("graph input 1 %x is not defined as input 1"));
        let mut g = small();
        g.values[1].def = ValueDef::Input(0);
        assert!(verify_err(&g).contains("%w says it is graph input 0"));
    }

    #[test]
    fn duplicate_or_empty_names_are_rejected() {
        let mut g = small();
        g.values[4].name = "w".into();
        assert!(verify_err(&g).contains("values 1 and 4 are both named %w"));
        let mut g = small();
        g.nodes[2].name = "conv".into();
        assert!(verify_err(&g).contains("nodes #0 and #2 are both named 'conv'"));
        let mut g = small();
        g.nodes[0].name.clear();
        assert!(verify_err(&g).contains("node #0 (Conv) has an empty name"));
    }

    #[test]
    fn wrong_output_type_is_rejected() {
        let mut g = small();
        g.values[4].ty = f32t(&[1, 2, 4, 5]);
        let e = verify_err(&g);
        assert!(
            e.contains("node 'relu' (Relu): output 0 %relu has type f32[1,2,4,5], shape inference gives f32[1,2,4,4]"),
            "{e}"
        );
        let mut g = small();
        g.values[1].ty = f32t(&[2, 3, 1, 1]);
        g.values[1].def = ValueDef::Const(TensorData::from_f32([2, 3, 1, 1], vec![0.0; 6]).unwrap());
        let e = verify_err(&g);
        assert!(e.contains("node 'conv' (Conv): Conv: input channels 2 / group 1 != weight dim 1 = 3"), "{e}");
    }

    #[test]
    fn constant_data_must_match_type() {
        let mut g = small();
        g.values[2].def = ValueDef::Const(TensorData::from_f32([3], vec![0.0; 3]).unwrap());
        assert!(verify_err(&g).contains("constant %b has data f32[3] but type f32[2]"));
    }

    #[test]
    fn malformed_quant_params_are_rejected() {
        let mut g = Graph::new("q");
        let mut ty = TensorType::new(DType::U8, [2, 3]);
        ty.quant = Some(QuantParams::per_tensor(0.5, 300));
        g.add_input("x", ty.clone());
        assert!(verify_err(&g).contains("zero point 300 outside u8's range [0, 255]"));
        g.values[0].ty.quant = Some(QuantParams::per_axis(1, vec![0.5; 2], vec![0; 2]));
        assert!(verify_err(&g).contains("2 scales, expected 3"));
        g.values[0].ty.quant = Some(QuantParams::per_tensor(-1.0, 0));
        assert!(verify_err(&g).contains("scale -1.0 is not finite and > 0"));
        g.values[0].ty = TensorType { dtype: DType::F32, ..ty };
        assert!(verify_err(&g).contains("non-integer dtype f32"));
    }

    #[test]
    fn element_limit_is_enforced() {
        let mut g = Graph::new("big");
        g.values.push(Value { name: "x".into(), ty: f32t(&[1 << 16, 1 << 16]), def: ValueDef::Input(0) });
        g.inputs.push(ValueId(0));
        assert!(matches!(verify(&g), Err(IrError::Limit(_))));
    }
}
