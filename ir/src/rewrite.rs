//! Graph editing helpers for passes: replacing uses, removing nodes, and renumbering values
//! and nodes into the canonical order the text form uses.
//!
//! Passes edit a [`Graph`] in place (change a node's inputs, turn a value into a constant,
//! point a value at another node) and then call [`Graph::remove_nodes`] or
//! [`Graph::compact`] once, which drops what became unused and renumbers every id.
//!
//! **Canonical numbering**: graph inputs are values `0..inputs.len()` in input order; after
//! them come the *statements* — constants and nodes — where each node's outputs get
//! consecutive ids in output order, nodes keep their relative order, and a constant comes
//! before a node when its old id was smaller than the node's first output id or the node
//! reads it. The builder
//! ([`Graph::add_input`] first, then `add_const`/`add_node` in any mix) produces this order,
//! and the text parser assigns ids this way, so printing and parsing a canonical graph gives
//! the same graph back.

use crate::{Graph, IrError, Node, NodeId, Op, Value, ValueDef, ValueId};

fn unique(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    (1u64..).map(|i| format!("{base}.{i}")).find(|n| !taken(n)).unwrap_or_else(|| base.to_string())
}

/// A body statement in canonical order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stmt {
    /// A constant value.
    Const(ValueId),
    /// A node.
    Node(NodeId),
}

/// Constants and nodes merged into canonical statement order (see the module docs). Values
/// that are neither graph inputs, constants, nor listed node outputs are skipped.
pub(crate) fn statements(graph: &Graph) -> Vec<Stmt> {
    let is_const = |v: ValueId| graph.values.get(v.index()).is_some_and(|x| matches!(x.def, ValueDef::Const(_)));
    let consts = (0..graph.values.len() as u32).map(ValueId).filter(|&v| is_const(v));
    let mut consts = consts.peekable();
    let mut emitted = vec![false; graph.values.len()];
    let mut out = Vec::with_capacity(graph.nodes.len());
    for (n, node) in graph.nodes.iter().enumerate() {
        let first = node.outputs.iter().min().copied().unwrap_or(ValueId(u32::MAX));
        while let Some(c) = consts.next_if(|c| *c < first) {
            if !std::mem::replace(&mut emitted[c.index()], true) {
                out.push(Stmt::Const(c));
            }
        }
        // A constant added after the node that reads it still comes before it.
        let mut late: Vec<ValueId> =
            node.inputs.iter().copied().filter(|&v| is_const(v) && !emitted[v.index()]).collect();
        late.sort();
        late.dedup();
        for c in late {
            emitted[c.index()] = true;
            out.push(Stmt::Const(c));
        }
        out.push(Stmt::Node(NodeId(n as u32)));
    }
    out.extend(consts.filter(|c| !emitted[c.index()]).map(Stmt::Const));
    out
}

impl Graph {
    /// `base` if no value has that name yet, else `base.1`, `base.2`, ... (the first free one).
    pub fn unique_value_name(&self, base: &str) -> String {
        unique(base, |n| self.values.iter().any(|v| v.name == n))
    }

    /// `base` if no node has that name yet, else the first free `base.1`, `base.2`, ...
    pub fn unique_node_name(&self, base: &str) -> String {
        unique(base, |n| self.nodes.iter().any(|v| v.name == n))
    }

    /// Builds a node that is not in the graph yet, for [`Graph::splice`]: its output values
    /// are added to the graph with types from [`crate::infer_types`] and names made unique
    /// from `name` (the node gets a unique node name too). Until spliced, the outputs'
    /// definitions are placeholders, so the graph does not verify.
    ///
    /// Errors: the shape-inference error, located at the new node.
    pub fn detached_node(&mut self, name: &str, op: Op, inputs: Vec<ValueId>) -> Result<Node, IrError> {
        let node_name = self.unique_node_name(name);
        let in_types: Vec<&crate::TensorType> = inputs.iter().map(|&v| self.ty(v)).collect();
        let types = crate::infer_types(&op, &in_types).map_err(|e| e.at_node(&node_name, op.name()))?;
        let single = types.len() == 1;
        let mut outputs = Vec::with_capacity(types.len());
        for (i, ty) in types.into_iter().enumerate() {
            let vname = self.unique_value_name(&if single { node_name.clone() } else { format!("{node_name}:{i}") });
            outputs.push(ValueId(self.values.len() as u32));
            self.values.push(Value { name: vname, ty, def: ValueDef::Node(NodeId(u32::MAX), i) });
        }
        Ok(Node { name: node_name, op, inputs, outputs })
    }

    /// Replaces the node `at` by `replacement` (in order, at the same position), and points
    /// every node output's definition at its new position. Outputs of the old node that no
    /// replacement lists are left dangling: call [`Graph::compact`] afterwards (their uses
    /// must have been replaced, e.g. by making the last replacement node output them).
    ///
    /// Errors: [`IrError::Verify`] when `at` is out of range (the graph is unchanged).
    pub fn splice(&mut self, at: NodeId, replacement: Vec<Node>) -> Result<(), IrError> {
        if at.index() >= self.nodes.len() {
            return Err(IrError::Verify(format!("splice at node #{} of {}", at.0, self.nodes.len())));
        }
        self.nodes.splice(at.index()..=at.index(), replacement);
        for (n, node) in self.nodes.iter().enumerate() {
            for (k, &v) in node.outputs.iter().enumerate() {
                if let Some(value) = self.values.get_mut(v.index()) {
                    value.def = ValueDef::Node(NodeId(n as u32), k);
                }
            }
        }
        Ok(())
    }

    /// Replaces every use of `old` (node inputs and graph outputs) by `new`. The definition
    /// of `old` is untouched; [`Graph::compact`] drops it once unused (constants) or its node
    /// is removed.
    pub fn replace_uses(&mut self, old: ValueId, new: ValueId) {
        for node in &mut self.nodes {
            for v in &mut node.inputs {
                if *v == old {
                    *v = new;
                }
            }
        }
        for v in &mut self.outputs {
            if *v == old {
                *v = new;
            }
        }
    }

    /// Removes the nodes `n` with `remove[n.index()]` (missing entries mean keep), then
    /// compacts like [`Graph::compact`].
    ///
    /// Errors: [`IrError::Verify`] when an output of a removed node is still read by a kept
    /// node or is a graph output (the graph is left unchanged).
    pub fn remove_nodes(&mut self, remove: &[bool]) -> Result<(), IrError> {
        let removed = |n: NodeId| remove.get(n.index()).copied().unwrap_or(false);
        let used = self.referenced(|n| !removed(n));
        for (i, v) in self.values.iter().enumerate() {
            if let ValueDef::Node(n, _) = v.def {
                let listed = self.nodes.get(n.index()).is_some_and(|node| node.outputs.contains(&ValueId(i as u32)));
                if removed(n) && listed && used[i] {
                    return Err(IrError::Verify(format!(
                        "cannot remove node '{}': its output %{} is still used",
                        self.nodes[n.index()].name,
                        v.name
                    )));
                }
            }
        }
        let mut keep_node = Vec::with_capacity(self.nodes.len());
        keep_node.extend((0..self.nodes.len()).map(|n| !removed(NodeId(n as u32))));
        self.renumber(&keep_node, true);
        Ok(())
    }

    /// Drops constants that nothing reads (and values no node lists as an output), then
    /// renumbers values and nodes canonically (see the module docs). Graph inputs, node
    /// outputs and graph outputs are always kept.
    pub fn compact(&mut self) {
        let keep = vec![true; self.nodes.len()];
        self.renumber(&keep, true);
    }

    /// Renumbers values and nodes canonically without dropping any constant; values no node
    /// lists as an output (and that are not graph inputs) are still dropped, since they
    /// have no place in the canonical order.
    pub fn canonicalize(&mut self) {
        let keep = vec![true; self.nodes.len()];
        self.renumber(&keep, false);
    }

    /// True when the values are numbered canonically (what [`Graph::canonicalize`] gives).
    pub fn is_canonical(&self) -> bool {
        let mut next = 0u32;
        let mut expect = |v: ValueId| {
            let ok = v.0 == next;
            next += 1;
            ok
        };
        if !self.inputs.iter().all(|&v| expect(v)) {
            return false;
        }
        for s in statements(self) {
            let ok = match s {
                Stmt::Const(v) => expect(v),
                Stmt::Node(n) => self.nodes[n.index()].outputs.iter().all(|&v| expect(v)),
            };
            if !ok {
                return false;
            }
        }
        next as usize == self.values.len()
    }

    /// For each value, whether a kept node reads or defines it or the graph lists it as input
    /// or output.
    fn referenced(&self, keep_node: impl Fn(NodeId) -> bool) -> Vec<bool> {
        let mut used = vec![false; self.values.len()];
        let mut mark = |v: ValueId| {
            if let Some(u) = used.get_mut(v.index()) {
                *u = true;
            }
        };
        self.inputs.iter().chain(&self.outputs).for_each(|&v| mark(v));
        for (n, node) in self.nodes.iter().enumerate() {
            if keep_node(NodeId(n as u32)) {
                node.inputs.iter().chain(&node.outputs).for_each(|&v| mark(v));
            }
        }
        used
    }

    fn renumber(&mut self, keep_node: &[bool], drop_unused_consts: bool) {
        let kept = |n: NodeId| keep_node.get(n.index()).copied().unwrap_or(true);
        let used = self.referenced(kept);
        let old_len = self.values.len();
        let mut new_id: Vec<Option<ValueId>> = vec![None; old_len];
        let mut order: Vec<ValueId> = Vec::with_capacity(old_len);
        let mut assign = |v: ValueId, order: &mut Vec<ValueId>| {
            if let Some(slot) = new_id.get_mut(v.index()) {
                if slot.is_none() {
                    *slot = Some(ValueId(order.len() as u32));
                    order.push(v);
                }
            }
        };
        for &v in &self.inputs {
            assign(v, &mut order);
        }
        let mut node_map: Vec<Option<NodeId>> = vec![None; self.nodes.len()];
        let mut new_nodes = 0u32;
        for s in statements(self) {
            match s {
                Stmt::Const(v) => {
                    if !drop_unused_consts || used[v.index()] {
                        assign(v, &mut order);
                    }
                }
                Stmt::Node(n) if kept(n) => {
                    node_map[n.index()] = Some(NodeId(new_nodes));
                    new_nodes += 1;
                    for &v in &self.nodes[n.index()].outputs {
                        assign(v, &mut order);
                    }
                }
                Stmt::Node(_) => {}
            }
        }
        let mut old_values: Vec<Option<Value>> = std::mem::take(&mut self.values).into_iter().map(Some).collect();
        let map = |v: &mut ValueId| {
            if let Some(Some(n)) = new_id.get(v.index()) {
                *v = *n;
            }
        };
        self.values = order
            .iter()
            .filter_map(|v| old_values.get_mut(v.index()).and_then(Option::take))
            .map(|mut value| {
                if let ValueDef::Node(n, k) = value.def {
                    if let Some(Some(m)) = node_map.get(n.index()) {
                        value.def = ValueDef::Node(*m, k);
                    }
                }
                value
            })
            .collect();
        let nodes = std::mem::take(&mut self.nodes);
        self.nodes = nodes.into_iter().enumerate().filter(|(n, _)| kept(NodeId(*n as u32))).map(|(_, n)| n).collect();
        for node in &mut self.nodes {
            node.inputs.iter_mut().chain(node.outputs.iter_mut()).for_each(map);
        }
        self.inputs.iter_mut().chain(self.outputs.iter_mut()).for_each(map);
        for (pos, &v) in self.inputs.iter().enumerate() {
            if let Some(value) = self.values.get_mut(v.index()) {
                value.def = ValueDef::Input(pos);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{verify, BinaryOp, DType, Graph, Op, TensorData, TensorType, UnaryOp, ValueDef, ValueId};

    fn f32t(shape: &[usize]) -> TensorType {
        TensorType::new(DType::F32, shape.to_vec())
    }

    #[test]
    fn builder_order_is_canonical() {
        let mut g = Graph::new("g");
        let x = g.add_input("x", f32t(&[2]));
        let c = g.add_const("c", TensorData::from_f32([2], vec![1.0, 2.0]).unwrap());
        let y = g.add_node("add", Op::Binary(BinaryOp::Add), vec![x, c]).unwrap()[0];
        g.add_const("unused", TensorData::scalar_f32(0.0));
        g.outputs.push(y);
        assert!(g.is_canonical());
        let before = g.clone();
        g.canonicalize();
        assert_eq!(g, before);
        g.compact();
        assert_eq!(g.values.len(), 3);
        assert_eq!(verify(&g), Ok(()));
    }

    #[test]
    fn late_input_is_renumbered_first() {
        let mut g = Graph::new("g");
        let c = g.add_const("c", TensorData::from_f32([2], vec![1.0, 2.0]).unwrap());
        let x = g.add_input("x", f32t(&[2]));
        let y = g.add_node("add", Op::Binary(BinaryOp::Add), vec![x, c]).unwrap()[0];
        g.outputs.push(y);
        assert!(!g.is_canonical());
        g.canonicalize();
        assert!(g.is_canonical());
        assert_eq!(g.inputs, vec![ValueId(0)]);
        assert_eq!(g.value(ValueId(1)).name, "c");
        assert_eq!(g.nodes[0].inputs, vec![ValueId(0), ValueId(1)]);
        assert_eq!(verify(&g), Ok(()));
    }

    #[test]
    fn remove_nodes_renumbers_defs_and_uses() {
        let mut g = Graph::new("g");
        let x = g.add_input("x", f32t(&[2]));
        let a = g.add_node("dead", Op::Unary(UnaryOp::Relu), vec![x]).unwrap()[0];
        let b = g.add_node("live", Op::Unary(UnaryOp::Tanh), vec![x]).unwrap()[0];
        g.outputs.push(b);
        assert!(g.remove_nodes(&[false, true]).is_err(), "live's output is a graph output");
        g.remove_nodes(&[true]).unwrap();
        assert_eq!(g.nodes.len(), 1);
        assert_eq!(g.nodes[0].name, "live");
        assert_eq!(g.outputs, vec![ValueId(1)]);
        assert_eq!(g.value(ValueId(1)).def, ValueDef::Node(crate::NodeId(0), 0));
        assert_ne!(a, b);
        assert_eq!(verify(&g), Ok(()));
    }

    #[test]
    fn splice_replaces_a_node_keeping_its_output_value() {
        let mut g = Graph::new("g");
        let x = g.add_input("x", f32t(&[2]));
        let y = g.add_node("act", Op::Unary(UnaryOp::Sigmoid), vec![x]).unwrap()[0];
        let z = g.add_node("out", Op::Unary(UnaryOp::Relu), vec![y]).unwrap()[0];
        g.outputs.push(z);
        let relu = g.detached_node("act", Op::Unary(UnaryOp::Relu), vec![x]).unwrap();
        assert_eq!(relu.name, "act.1");
        let mut tanh = g.detached_node("act", Op::Unary(UnaryOp::Tanh), vec![relu.outputs[0]]).unwrap();
        tanh.name = "act".into();
        tanh.outputs = vec![y];
        g.splice(crate::NodeId(0), vec![relu, tanh]).unwrap();
        g.compact();
        assert_eq!(verify(&g), Ok(()));
        let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["act.1", "act", "out"]);
        assert_eq!(g.value(g.nodes[1].outputs[0]).name, "act");
        assert!(g.splice(crate::NodeId(9), vec![]).is_err());
    }

    #[test]
    fn constants_added_after_their_user_move_before_it() {
        let mut g = Graph::new("g");
        let x = g.add_input("x", f32t(&[2]));
        let c = g.add_const("c", TensorData::from_f32([2], vec![1.0, 2.0]).unwrap());
        let y = g.add_node("mul", Op::Binary(BinaryOp::Mul), vec![x, c]).unwrap()[0];
        g.outputs.push(y);
        let d = g.add_const("d", TensorData::from_f32([2], vec![3.0, 4.0]).unwrap());
        g.nodes[0].inputs[1] = d;
        assert!(!g.is_canonical());
        g.canonicalize();
        assert!(g.is_canonical());
        let names: Vec<&str> = g.values.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["x", "c", "d", "mul"]);
        assert_eq!(verify(&g), Ok(()));
    }

    #[test]
    fn replace_uses_then_compact_drops_the_old_constant() {
        let mut g = Graph::new("g");
        let x = g.add_input("x", f32t(&[2]));
        let c = g.add_const("c", TensorData::from_f32([2], vec![1.0, 2.0]).unwrap());
        let y = g.add_node("mul", Op::Binary(BinaryOp::Mul), vec![x, c]).unwrap()[0];
        g.outputs.push(y);
        let d = g.add_const("d", TensorData::from_f32([2], vec![3.0, 4.0]).unwrap());
        g.replace_uses(c, d);
        g.compact();
        assert_eq!(g.values.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["x", "d", "mul"]);
        assert_eq!(verify(&g), Ok(()));
    }
}
