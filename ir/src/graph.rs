//! The graph: SSA values, nodes in topological order, graph inputs and outputs.

use crate::{IrError, Op, TensorData, TensorType};

/// Index of a value in [`Graph::values`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

/// Index of a node in [`Graph::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl ValueId {
    /// As a vector index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl NodeId {
    /// As a vector index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueDef {
    /// Graph input number `n` (position in [`Graph::inputs`]).
    Input(usize),
    /// A constant (weights, folded shapes).
    Const(TensorData),
    /// Output `index` of a node.
    Node(NodeId, usize),
}

/// An SSA value: a name (from the source model, for messages), a type and its definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// Name; unique within the graph.
    pub name: String,
    /// Static type.
    pub ty: TensorType,
    /// Definition.
    pub def: ValueDef,
}

/// One operation applied to values.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Name from the source model (or generated), for messages; unique within the graph.
    pub name: String,
    /// The operation and its attributes.
    pub op: Op,
    /// Operands, in the op's documented order.
    pub inputs: Vec<ValueId>,
    /// Results.
    pub outputs: Vec<ValueId>,
}

/// A dataflow graph in SSA form with static shapes.
///
/// Invariants (checked by [`crate::verify`]): nodes are in topological order, every value is
/// defined exactly once (graph input, constant or node output), every node's output types are
/// what shape inference gives for its inputs, names are unique.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    /// Graph name.
    pub name: String,
    /// All values, indexed by [`ValueId`].
    pub values: Vec<Value>,
    /// Nodes in topological order, indexed by [`NodeId`].
    pub nodes: Vec<Node>,
    /// Graph inputs, in order.
    pub inputs: Vec<ValueId>,
    /// Graph outputs, in order.
    pub outputs: Vec<ValueId>,
}

impl Graph {
    /// An empty graph.
    pub fn new(name: impl Into<String>) -> Self {
        Graph { name: name.into(), ..Default::default() }
    }

    /// The value `id`.
    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.index()]
    }

    /// The type of value `id`.
    pub fn ty(&self, id: ValueId) -> &TensorType {
        &self.values[id.index()].ty
    }

    /// The node `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// The constant behind value `id`, if it is one.
    pub fn constant(&self, id: ValueId) -> Option<&TensorData> {
        match &self.values[id.index()].def {
            ValueDef::Const(t) => Some(t),
            _ => None,
        }
    }

    /// Adds a graph input of type `ty`.
    pub fn add_input(&mut self, name: impl Into<String>, ty: TensorType) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        let n = self.inputs.len();
        self.values.push(Value { name: name.into(), ty, def: ValueDef::Input(n) });
        self.inputs.push(id);
        id
    }

    /// Adds a constant value; its type is the tensor's dtype and shape.
    pub fn add_const(&mut self, name: impl Into<String>, data: TensorData) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        let ty = TensorType::new(data.dtype(), data.shape().to_vec());
        self.values.push(Value { name: name.into(), ty, def: ValueDef::Const(data) });
        id
    }

    /// Appends a node whose output types are inferred from its inputs with
    /// [`crate::infer_types`]; returns its output values, named `"{name}"` (one output) or
    /// `"{name}:{i}"`.
    ///
    /// Errors: the shape-inference error, naming the node and op.
    pub fn add_node(&mut self, name: impl Into<String>, op: Op, inputs: Vec<ValueId>) -> Result<Vec<ValueId>, IrError> {
        let name = name.into();
        let in_types: Vec<&TensorType> = inputs.iter().map(|&v| self.ty(v)).collect();
        let out_types = crate::infer_types(&op, &in_types).map_err(|e| e.at_node(&name, op.name()))?;
        Ok(self.add_node_typed(name, op, inputs, out_types))
    }

    /// Appends a node with explicitly given output types (the caller vouches for them; the
    /// verifier re-checks).
    pub fn add_node_typed(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<ValueId>,
        out_types: Vec<TensorType>,
    ) -> Vec<ValueId> {
        let name = name.into();
        let node_id = NodeId(self.nodes.len() as u32);
        let single = out_types.len() == 1;
        let outputs: Vec<ValueId> = out_types
            .into_iter()
            .enumerate()
            .map(|(i, ty)| {
                let id = ValueId(self.values.len() as u32);
                let vname = if single { name.clone() } else { format!("{name}:{i}") };
                self.values.push(Value { name: vname, ty, def: ValueDef::Node(node_id, i) });
                id
            })
            .collect();
        self.nodes.push(Node { name, op, inputs, outputs: outputs.clone() });
        outputs
    }

    /// For each value, the nodes that read it (in node order; a node reading a value twice
    /// appears twice).
    pub fn users(&self) -> Vec<Vec<NodeId>> {
        let mut users = vec![Vec::new(); self.values.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for &v in &n.inputs {
                users[v.index()].push(NodeId(i as u32));
            }
        }
        users
    }
}
