//! JIT-only dtype legalization, run on the graph before any kernel is lowered: nodes whose
//! kernels compute in f32 only get their `f16` operands widened to `f32` and their `f16`
//! results rounded back.
//!
//! A node is rewritten when its op is in [`F32_ONLY_OPS`] and at least one of its operands
//! (inputs or outputs) is `f16`:
//!
//! ```text
//! y: f16 = MatMul(a: f16, w: f16 const)
//! ⇒
//! a.f32 = Cast<f32>(a)            (one per widened run-time value, shared by its readers)
//! w.f32 = const f32               (a widened constant: no Cast at run time)
//! y.f32 = MatMul(a.f32, w.f32)    (keeps the node's name)
//! y: f16 = Cast<f16>(y.f32)       (the original value: same id, name and type)
//! ```
//!
//! Operands of other dtypes (`i64` indices, …) are left alone. Graph inputs and outputs keep
//! their ids, names and types, so the runtime signature is unchanged; the interpreter never
//! sees the rewritten graph.
//!
//! Numerics: `f16 → f32` is exact, the op runs in f32 and the result is rounded to `f16` once
//! (round to nearest even): what the interpreter does for f16 operands, and what ONNX
//! Runtime's CPU provider does for ops without an f16 kernel (its `InsertCastTransformer`,
//! `onnxruntime/core/optimizer/insert_cast_transformer.cc`, surrounds such nodes with
//! `Cast` nodes in the same way).

use std::collections::{HashMap, HashSet};

use int8xc_ir::{infer_types, DType, Graph, Node, NodeId, Op, TensorData, TensorType, Value, ValueDef, ValueId};

use crate::JitError;

/// Ops (by [`Op::name`]) whose JIT kernels accept `f32` float operands only: the kernels
/// that call `require_f32` (`MatMul`, `Gemm`, `Conv`, `ConvTranspose`, `BatchNormalization`,
/// `GlobalAveragePool`, `MaxPool`, `AveragePool`, `Softmax`, `LogSoftmax`, `ReduceMean`) plus
/// `MaxPoolWithIndices` and `ArgMax`, whose kernels check for f32 themselves. Ops whose
/// kernels handle `f16` natively (element-wise, `Cast`, `Expand`, `Where`, comparisons, the
/// `Reduce` family, data movement) must not be listed: widening them would only add casts.
pub(crate) const F32_ONLY_OPS: &[&str] = &[
    "MatMul",
    "Gemm",
    "Conv",
    "ConvTranspose",
    "BatchNormalization",
    "GlobalAveragePool",
    "MaxPool",
    "AveragePool",
    "MaxPoolWithIndices",
    "Softmax",
    "LogSoftmax",
    "ReduceMean",
    "ArgMax",
];

/// Whether `node` is rewritten: an op of [`F32_ONLY_OPS`] with an `f16` operand.
fn needs_widening(graph: &Graph, node: &Node) -> bool {
    F32_ONLY_OPS.contains(&node.op.name())
        && node.inputs.iter().chain(&node.outputs).any(|&v| graph.values.get(v.index()).is_some_and(is_f16))
}

fn is_f16(v: &Value) -> bool {
    v.ty.dtype == DType::F16
}

/// Returns `graph` with every node that needs it widened as described in the module docs,
/// or `None` when no node does (the common f32 case: the graph is not copied).
///
/// Errors: [`JitError::Graph`] for dangling value ids; [`JitError::Invalid`] naming the node
/// when shape inference rejects its widened form or gives other types than its original
/// outputs (the graph was not verified).
pub(crate) fn widen_f16(graph: &Graph) -> Result<Option<Graph>, JitError> {
    if !graph.nodes.iter().any(|n| needs_widening(graph, n)) {
        return Ok(None);
    }
    // Every id in range and every output defined by its node, so the rewrite cannot panic.
    crate::module::validate_graph(graph)?;
    let mut g = graph.clone();
    let old_nodes = std::mem::take(&mut g.nodes);
    let mut w = Widener {
        value_names: graph.values.iter().map(|v| v.name.clone()).collect(),
        node_names: graph.nodes.iter().map(|n| n.name.clone()).collect(),
        widened: HashMap::new(),
        graph: g,
    };
    for node in old_nodes {
        if needs_widening(&w.graph, &node) {
            w.widen_node(node)?;
        } else {
            w.push(node);
        }
    }
    tracing::debug!(graph = %graph.name, added_nodes = w.graph.nodes.len() - graph.nodes.len(), "widened f16 nodes");
    Ok(Some(w.graph))
}

/// The graph being rebuilt node by node, with the names taken so far.
struct Widener {
    graph: Graph,
    value_names: HashSet<String>,
    node_names: HashSet<String>,
    /// `f16` value → its `f32` copy (a widened constant or a `Cast` output).
    widened: HashMap<ValueId, ValueId>,
}

/// `base.f32` (or `base.f32.1`, …): a name not in `taken`, which then holds it.
fn fresh(taken: &mut HashSet<String>, base: &str, suffix: &str) -> String {
    let first = format!("{base}.{suffix}");
    let name = if taken.contains(&first) {
        (1u64..).map(|i| format!("{first}.{i}")).find(|n| !taken.contains(n)).unwrap_or(first)
    } else {
        first
    };
    taken.insert(name.clone());
    name
}

impl Widener {
    /// Appends `node`, pointing its outputs' definitions at its new position.
    fn push(&mut self, node: Node) {
        let id = NodeId(self.graph.nodes.len() as u32);
        for (k, &v) in node.outputs.iter().enumerate() {
            if let Some(value) = self.graph.values.get_mut(v.index()) {
                value.def = ValueDef::Node(id, k);
            }
        }
        self.graph.nodes.push(node);
    }

    /// Adds a value of type `ty` named after `base` (its definition is set when its node is
    /// pushed, or is the given constant).
    fn new_value(&mut self, base: &str, ty: TensorType, def: ValueDef) -> ValueId {
        let id = ValueId(self.graph.values.len() as u32);
        let name = fresh(&mut self.value_names, base, "f32");
        self.graph.values.push(Value { name, ty, def });
        id
    }

    /// The `f32` copy of `f16` value `v`: a widened constant, or the output of a `Cast` node
    /// appended now (each made once per value).
    fn widen_value(&mut self, v: ValueId) -> ValueId {
        if let Some(&f) = self.widened.get(&v) {
            return f;
        }
        let value = self.graph.value(v);
        let (base, ty) = (value.name.clone(), TensorType::new(DType::F32, value.ty.shape.clone()));
        let f = match self.graph.constant(v).map(|t| TensorData::from_f32(t.shape().to_vec(), t.to_f32_vec())) {
            Some(Ok(data)) => self.new_value(&base, ty, ValueDef::Const(data)),
            _ => {
                let out = self.new_value(&base, ty, ValueDef::Node(NodeId(u32::MAX), 0));
                let name = fresh(&mut self.node_names, &base, "to_f32");
                self.push(Node { name, op: Op::Cast { to: DType::F32 }, inputs: vec![v], outputs: vec![out] });
                out
            }
        };
        self.widened.insert(v, f);
        f
    }

    /// Appends `node` computing on `f32` copies of its `f16` inputs into fresh `f32` outputs,
    /// each followed by a `Cast` back into the original `f16` output value.
    fn widen_node(&mut self, node: Node) -> Result<(), JitError> {
        let inputs: Vec<ValueId> =
            node.inputs.iter().map(|&v| if is_f16(self.graph.value(v)) { self.widen_value(v) } else { v }).collect();
        let in_types: Vec<&TensorType> = inputs.iter().map(|&v| self.graph.ty(v)).collect();
        let types = infer_types(&node.op, &in_types).map_err(|e| JitError::invalid(&node, e.to_string()))?;
        if types.len() != node.outputs.len() {
            return Err(JitError::invalid(&node, format!("widened to f32 it has {} outputs", types.len())));
        }
        let mut outputs = Vec::with_capacity(types.len());
        let mut narrow = Vec::new();
        for (&orig, ty) in node.outputs.iter().zip(types) {
            let was = self.graph.ty(orig);
            let narrowed = was.dtype == DType::F16 && ty.dtype == DType::F32;
            if ty.shape != was.shape || (ty.dtype != was.dtype && !narrowed) {
                return Err(JitError::invalid(&node, format!("widened to f32 it gives {ty} instead of {was}")));
            }
            if narrowed {
                let base = self.graph.value(orig).name.clone();
                let wide = self.new_value(&base, ty, ValueDef::Node(NodeId(u32::MAX), 0));
                outputs.push(wide);
                narrow.push((wide, orig));
            } else {
                outputs.push(orig);
            }
        }
        let name = node.name.clone();
        self.push(Node { outputs, inputs, ..node });
        for (wide, orig) in narrow {
            let cast = fresh(&mut self.node_names, &name, "to_f16");
            self.push(Node { name: cast, op: Op::Cast { to: DType::F16 }, inputs: vec![wide], outputs: vec![orig] });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use int8xc_ir::{verify, BinaryOp, DType, Graph, Op, TensorData, TensorType};

    use super::widen_f16;

    fn ty(dtype: DType, shape: &[usize]) -> TensorType {
        TensorType::new(dtype, shape.to_vec())
    }

    /// `f16` weights `[k, n]` (via `f32` data: the JIT crate does not depend on `half`).
    fn f16_weights(k: usize, n: usize) -> TensorData {
        let bits: Vec<u8> = (0..k * n).flat_map(|i| (0x3c00u16 + i as u16).to_le_bytes()).collect();
        TensorData::from_le_bytes(DType::F16, [k, n], &bits).unwrap()
    }

    fn ops(g: &Graph) -> Vec<String> {
        g.nodes.iter().map(|n| format!("{}:{}", n.name, n.op.name())).collect()
    }

    #[test]
    fn f32_graph_is_not_copied() {
        let mut g = Graph::new("g");
        let x = g.add_input("x", ty(DType::F32, &[2, 3]));
        let w = g.add_const("w", TensorData::from_f32([3, 4], vec![0.5; 12]).unwrap());
        let y = g.add_node("mm", Op::MatMul, vec![x, w]).unwrap()[0];
        g.outputs.push(y);
        assert!(widen_f16(&g).unwrap().is_none());
    }

    #[test]
    fn f16_elementwise_graph_is_not_copied() {
        let mut g = Graph::new("g");
        let x = g.add_input("x", ty(DType::F16, &[4]));
        let y = g.add_node("add", Op::Binary(BinaryOp::Add), vec![x, x]).unwrap()[0];
        g.outputs.push(y);
        assert!(widen_f16(&g).unwrap().is_none());
    }

    #[test]
    fn f16_matmul_is_widened_with_f32_constant_weights() {
        let mut g = Graph::new("g");
        let x = g.add_input("x", ty(DType::F16, &[2, 3]));
        let w = g.add_const("w", f16_weights(3, 4));
        let y = g.add_node("mm", Op::MatMul, vec![x, w]).unwrap()[0];
        let z = g.add_node("add", Op::Binary(BinaryOp::Add), vec![y, y]).unwrap()[0];
        g.outputs.extend([y, z]);
        let h = widen_f16(&g).unwrap().expect("rewritten");
        assert_eq!(verify(&h), Ok(()));
        assert_eq!(ops(&h), ["x.to_f32:Cast", "mm:MatMul", "mm.to_f16:Cast", "add:Add"]);
        assert_eq!((h.inputs.clone(), h.outputs.clone()), (g.inputs.clone(), g.outputs.clone()));
        for &v in g.inputs.iter().chain(&g.outputs) {
            assert_eq!((&h.value(v).name, h.ty(v)), (&g.value(v).name, g.ty(v)));
        }
        let mm = &h.nodes[1];
        let wide = h.constant(mm.inputs[1]).expect("the weights stay a constant");
        assert_eq!(wide.as_f32().map(|v| v[1]), Some(1.0 + 1.0 / 1024.0));
        assert_eq!(h.ty(mm.outputs[0]).dtype, DType::F32);
    }

    #[test]
    fn a_value_read_by_two_widened_nodes_is_cast_once() {
        let mut g = Graph::new("g");
        let x = g.add_input("x", ty(DType::F16, &[2, 3]));
        let a = g.add_node("sm", Op::Softmax { axis: 1 }, vec![x]).unwrap()[0];
        let b = g.add_node("lsm", Op::LogSoftmax { axis: 1 }, vec![x]).unwrap()[0];
        g.outputs.extend([a, b]);
        let h = widen_f16(&g).unwrap().expect("rewritten");
        assert_eq!(verify(&h), Ok(()));
        assert_eq!(ops(&h), ["x.to_f32:Cast", "sm:Softmax", "sm.to_f16:Cast", "lsm:LogSoftmax", "lsm.to_f16:Cast"]);
    }
}
