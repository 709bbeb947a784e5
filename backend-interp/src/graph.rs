//! Running whole graphs: [`Interpreter::run_graph`] and [`InterpretedModel`].

use int8xc_ir::{Graph, TensorData, ValueDef, ValueId};
use int8xc_runtime::{Executable, RuntimeError, Signature, Tensor};

use crate::{InterpError, Interpreter, OpErrorKind};

/// A value's storage during a run: inputs and constants are borrowed, node results owned.
enum Slot<'a> {
    /// Not computed yet, or freed after its last use.
    Empty,
    /// A graph input or constant.
    Borrowed(&'a TensorData),
    /// A node result.
    Owned(TensorData),
}

impl Slot<'_> {
    fn get(&self) -> Option<&TensorData> {
        match self {
            Slot::Empty => None,
            Slot::Borrowed(t) => Some(t),
            Slot::Owned(t) => Some(t),
        }
    }
}

impl Interpreter {
    /// Runs every node of `graph` in order on `inputs` (graph-input order) and returns the
    /// graph outputs (graph-output order). `inputs` are not modified.
    ///
    /// Checks, in order: the graph's value ids are in range; `inputs` match the graph's input
    /// types ([`Signature::check_inputs`]); for each node, every input has been computed and
    /// matches its value's dtype and shape, and every result matches its output value's type.
    /// Node results are freed after their last use (graph outputs are kept).
    ///
    /// Errors: [`InterpError::Input`] for mismatched inputs; [`InterpError::Op`] naming the
    /// node and op for anything wrong while running it; [`InterpError::Graph`] for a
    /// malformed graph (dangling id, use before definition).
    pub fn run_graph(&self, graph: &Graph, inputs: &[TensorData]) -> Result<Vec<TensorData>, InterpError> {
        let n_values = graph.values.len();
        let check_id = |v: ValueId, what: &str| {
            if v.index() < n_values {
                Ok(())
            } else {
                Err(InterpError::Graph(format!("{what} refers to value {} of {n_values}", v.0)))
            }
        };
        for &v in graph.inputs.iter().chain(&graph.outputs) {
            check_id(v, "graph input/output")?;
        }
        for node in &graph.nodes {
            for &v in node.inputs.iter().chain(&node.outputs) {
                check_id(v, &format!("node '{}'", node.name))?;
            }
        }
        Signature::of_graph(graph).check_inputs(inputs).map_err(|e| InterpError::Input(e.to_string()))?;

        let mut slots: Vec<Slot> = graph
            .values
            .iter()
            .map(|v| match &v.def {
                ValueDef::Input(n) => inputs.get(*n).map_or(Slot::Empty, Slot::Borrowed),
                ValueDef::Const(t) => Slot::Borrowed(t),
                ValueDef::Node(..) => Slot::Empty,
            })
            .collect();
        // Liveness: index of the last node reading each value; graph outputs live to the end.
        let mut last_use: Vec<usize> = vec![0; n_values];
        for (i, node) in graph.nodes.iter().enumerate() {
            for &v in &node.inputs {
                last_use[v.index()] = i;
            }
        }
        for &v in &graph.outputs {
            last_use[v.index()] = usize::MAX;
        }

        for (i, node) in graph.nodes.iter().enumerate() {
            let at_node =
                |kind| InterpError::Op { node: Some(node.name.clone()), op: node.op.name().to_string(), kind };
            let mut args = Vec::with_capacity(node.inputs.len());
            for (k, &v) in node.inputs.iter().enumerate() {
                let value = graph.value(v);
                let t = slots[v.index()].get().ok_or_else(|| {
                    InterpError::Graph(format!(
                        "node '{}' ({}) reads '{}' before it is defined",
                        node.name,
                        node.op.name(),
                        value.name
                    ))
                })?;
                if !t.matches_type(&value.ty) {
                    return Err(at_node(OpErrorKind::invalid(format!(
                        "input {k} ('{}') is {}{:?}, but its type is {}",
                        value.name,
                        t.dtype(),
                        t.shape(),
                        value.ty
                    ))));
                }
                args.push(t);
            }
            let out_types: Vec<_> = node.outputs.iter().map(|&v| graph.ty(v).clone()).collect();
            let in_types: Vec<_> = node.inputs.iter().map(|&v| graph.ty(v)).collect();
            let results =
                self.eval_op_typed(&node.op, &args, &in_types, &out_types).map_err(|e| e.at_node(&node.name))?;
            if results.len() != node.outputs.len() {
                return Err(at_node(OpErrorKind::invalid(format!(
                    "produced {} outputs, node has {}",
                    results.len(),
                    node.outputs.len()
                ))));
            }
            for (&v, t) in node.outputs.iter().zip(results) {
                slots[v.index()] = Slot::Owned(t);
                if last_use[v.index()] < i {
                    // never read and not a graph output
                    slots[v.index()] = Slot::Empty;
                }
            }
            for &v in &node.inputs {
                if last_use[v.index()] == i && matches!(slots[v.index()], Slot::Owned(_)) {
                    slots[v.index()] = Slot::Empty;
                }
            }
        }

        let mut outputs = Vec::with_capacity(graph.outputs.len());
        for (k, &v) in graph.outputs.iter().enumerate() {
            let repeated_later = graph.outputs[k + 1..].contains(&v);
            let t = match std::mem::replace(&mut slots[v.index()], Slot::Empty) {
                Slot::Owned(t) if !repeated_later => t,
                Slot::Owned(t) => {
                    let copy = t.clone();
                    slots[v.index()] = Slot::Owned(t);
                    copy
                }
                Slot::Borrowed(t) => {
                    slots[v.index()] = Slot::Borrowed(t);
                    t.clone()
                }
                Slot::Empty => {
                    return Err(InterpError::Graph(format!("graph output '{}' is never defined", graph.value(v).name)))
                }
            };
            outputs.push(t);
        }
        Ok(outputs)
    }
}

/// A graph run by the reference interpreter behind the [`Executable`] trait, so it can stand
/// in for a compiled model (and be compared with one).
#[derive(Clone, Debug)]
pub struct InterpretedModel {
    graph: Graph,
    signature: Signature,
}

impl InterpretedModel {
    /// Wraps `graph`; its signature is the graph's inputs and outputs. Does not panic: a
    /// malformed graph (e.g. an input or output id out of range, which leaves the signature
    /// empty) fails at [`Executable::run`].
    pub fn new(graph: Graph) -> Self {
        let in_range = graph.inputs.iter().chain(&graph.outputs).all(|v| v.index() < graph.values.len());
        let signature =
            if in_range { Signature::of_graph(&graph) } else { Signature { inputs: Vec::new(), outputs: Vec::new() } };
        InterpretedModel { graph, signature }
    }

    /// The interpreted graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }
}

impl Executable for InterpretedModel {
    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Checks `inputs` against the signature, then [`Interpreter::run_graph`]; interpreter
    /// errors become [`RuntimeError::Backend`] with the interpreter's message.
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        self.signature.check_inputs(inputs)?;
        Interpreter.run_graph(&self.graph, inputs).map_err(|e| RuntimeError::Backend(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use int8xc_ir::{BinaryOp, DType, Op, TensorType, UnaryOp};

    use super::*;
    use crate::ops::test_util::*;

    /// y = relu(x - c); z = y * y; outputs [z, y]
    fn small_graph() -> Graph {
        let mut g = Graph::new("g");
        let ty = f32t(&[3]);
        let x = g.add_input("x", ty.clone());
        let c = g.add_const("c", f(&[1], &[1.0]));
        let d = g.add_node_typed("sub", Op::Binary(BinaryOp::Sub), vec![x, c], vec![ty.clone()]);
        let y = g.add_node_typed("relu", Op::Unary(UnaryOp::Relu), d, vec![ty.clone()]);
        let z = g.add_node_typed("sq", Op::Binary(BinaryOp::Mul), vec![y[0], y[0]], vec![ty]);
        g.outputs = vec![z[0], y[0]];
        g
    }

    #[test]
    fn runs_nodes_in_order_and_returns_outputs() {
        let g = small_graph();
        let x = f(&[3], &[0.0, 2.0, 4.0]);
        let out = Interpreter.run_graph(&g, std::slice::from_ref(&x)).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].as_f32().unwrap(), &[0.0, 1.0, 9.0]);
        assert_eq!(out[1].as_f32().unwrap(), &[0.0, 1.0, 3.0]);
        assert_eq!(x.as_f32().unwrap(), &[0.0, 2.0, 4.0], "input untouched");
    }

    #[test]
    fn outputs_may_repeat_or_be_inputs_and_constants() {
        let mut g = small_graph();
        let c = ValueId(1);
        g.outputs = vec![g.outputs[0], g.outputs[0], g.inputs[0], c];
        let out = Interpreter.run_graph(&g, &[f(&[3], &[0.0, 2.0, 4.0])]).unwrap();
        assert_eq!(out[0], out[1]);
        assert_eq!(out[2].as_f32().unwrap(), &[0.0, 2.0, 4.0]);
        assert_eq!(out[3].as_f32().unwrap(), &[1.0]);
    }

    #[test]
    fn checks_graph_inputs() {
        let g = small_graph();
        let e = Interpreter.run_graph(&g, &[]).unwrap_err();
        assert!(matches!(e, InterpError::Input(_)), "{e}");
        let e = Interpreter.run_graph(&g, &[f(&[4], &[0.0; 4])]).unwrap_err();
        assert_eq!(e.to_string(), "input 'x': expected shape [3], got [4]");
        let e = Interpreter.run_graph(&g, &[i(&[3], &[0; 3])]).unwrap_err();
        assert!(e.to_string().contains("expected dtype f32, got i64"), "{e}");
    }

    #[test]
    fn op_errors_name_the_node() {
        let mut g = Graph::new("g");
        let ty = TensorType::new(DType::I64, [2]);
        let a = g.add_input("a", ty.clone());
        let b = g.add_input("b", ty.clone());
        let q = g.add_node_typed("div1", Op::Binary(BinaryOp::Div), vec![a, b], vec![ty]);
        g.outputs = q;
        let e = Interpreter.run_graph(&g, &[i(&[2], &[4, 5]), i(&[2], &[2, 0])]).unwrap_err();
        assert_eq!(e.to_string(), "node 'div1' (Div): integer division by zero");
    }

    #[test]
    fn wrong_value_types_and_input_counts_are_errors() {
        // node output type disagrees with what the op produces
        let mut g = Graph::new("g");
        let x = g.add_input("x", f32t(&[2]));
        let y = g.add_node_typed("r", Op::Unary(UnaryOp::Relu), vec![x], vec![f32t(&[3])]);
        g.outputs = y;
        let e = Interpreter.run_graph(&g, &[f(&[2], &[1.0, 2.0])]).unwrap_err();
        assert!(e.to_string().starts_with("node 'r' (Relu): output 0 is f32[2], but its type is f32[3]"), "{e}");
        // a constant whose value type lies about its shape
        let mut g = Graph::new("g");
        let c = g.add_const("c", f(&[2], &[1.0, 2.0]));
        g.values[c.index()].ty = f32t(&[5]);
        let y = g.add_node_typed("r", Op::Unary(UnaryOp::Relu), vec![c], vec![f32t(&[5])]);
        g.outputs = y;
        let e = Interpreter.run_graph(&g, &[]).unwrap_err();
        assert!(e.to_string().contains("input 0 ('c') is f32[2], but its type is f32[5]"), "{e}");
        // wrong input count
        let mut g = Graph::new("g");
        let x = g.add_input("x", f32t(&[2]));
        let y = g.add_node_typed("add", Op::Binary(BinaryOp::Add), vec![x], vec![f32t(&[2])]);
        g.outputs = y;
        let e = Interpreter.run_graph(&g, &[f(&[2], &[1.0, 2.0])]).unwrap_err();
        assert_eq!(e.to_string(), "node 'add' (Add): expects 2 inputs, got 1");
    }

    #[test]
    fn malformed_graphs_are_errors() {
        let mut g = small_graph();
        g.nodes.swap(0, 1); // relu reads sub's output before sub runs
        let e = Interpreter.run_graph(&g, &[f(&[3], &[0.0; 3])]).unwrap_err();
        assert!(e.to_string().contains("reads 'sub' before it is defined"), "{e}");
        let mut g = small_graph();
        g.outputs.push(ValueId(99));
        assert!(matches!(Interpreter.run_graph(&g, &[f(&[3], &[0.0; 3])]), Err(InterpError::Graph(_))));
        assert!(InterpretedModel::new(g).run(&[f(&[3], &[0.0; 3])]).is_err());
        let mut g = small_graph();
        g.nodes[2].inputs[0] = ValueId(1000);
        assert!(matches!(Interpreter.run_graph(&g, &[f(&[3], &[0.0; 3])]), Err(InterpError::Graph(_))));
        // an output value whose node was removed
        let mut g = small_graph();
        g.nodes.pop();
        assert!(Interpreter.run_graph(&g, &[f(&[3], &[0.0; 3])]).unwrap_err().to_string().contains("never defined"));
    }

    #[test]
    fn interpreted_model_is_an_executable() {
        let m = InterpretedModel::new(small_graph());
        assert_eq!(m.signature().inputs[0].0, "x");
        let out = m.run(&[f(&[3], &[3.0, 0.0, 1.0])]).unwrap();
        assert_eq!(out[0].as_f32().unwrap(), &[4.0, 0.0, 0.0]);
        assert!(matches!(m.run(&[]), Err(RuntimeError::InputCount { expected: 1, actual: 0 })));
    }
}
