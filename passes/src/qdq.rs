//! QDQ → integer ops: the fusions ONNX Runtime's `QDQSelectorActionTransformer` performs
//! (`onnxruntime/core/optimizer/qdq_transformer/selectors_actions/qdq_selectors.cc`,
//! `qdq_selector_action_transformer.cc`), so a QDQ model runs the same integer kernels as in
//! ONNX Runtime with optimizations on.
//!
//! The matching lives in [`plan`]; this module applies the plans and holds the analysis both
//! share ([`Analysis`]).

mod plan;

use std::collections::HashSet;

use int8xc_ir::{DType, Graph, Node, NodeId, Op, TensorData, ValueDef, ValueId};

use crate::{Pass, PassContext, PassError};

/// Rewrites `DequantizeLinear → op → QuantizeLinear` groups into integer ops, following ONNX
/// Runtime's QDQ fusion rules on x86-64 (each rule cites the ORT selector it follows):
///
/// | group | becomes | ORT rule |
/// |---|---|---|
/// | `DQ(x), DQ(w const), [DQ(b i32)] → Conv → [Relu/Clip] → Q` | `QConv` | `ConvNodeGroupSelector` |
/// | `DQ(a), DQ(b) → MatMul → [Relu/Clip] → Q` | `QMatMul` | `MatMulNodeGroupSelector` (Q required) |
/// | `DQ(a), DQ(b), [DQ(c i32)] → Gemm → [Relu/Clip] → [Q]` | `QMatMul` (+ `Transpose`s) | `GemmNodeGroupSelector` (`beta = 1`) |
/// | `DQ(a), DQ(b) → Add/Mul → Q` | `QLinearAdd/Mul` | `BinaryNodeGroupSelector` |
/// | `DQ → AveragePool/GlobalAveragePool/LeakyRelu/Sigmoid/Softmax → Q` | `QLinear*` | `UnaryNodeGroupSelector` |
/// | `DQ(xi)… → Concat → Q` | `Concat` (equal parameters) or `QLinearConcat` | `VariadicNodeGroupSelector` |
/// | `DQ → Reshape/Transpose/MaxPool/Slice/Gather/Resize(nearest) → Q`, equal parameters | the op on integers | `DropQDQNodeGroupSelector` |
/// | `DQ(x) → Q` with `x`'s dtype and parameters | `x` | exact: `Q(DQ(x)) = x` |
///
/// Common conditions (ORT's `NodeGroupSelector::CheckQDQNodes`): every float input of the op
/// comes from a `DequantizeLinear`, the op's output has exactly one consumer (the `Q`, or a
/// `Relu`/`Clip` whose only consumer is the `Q`) and is no graph output; 8-bit activations
/// quantized per tensor; the `Q` per tensor. A fused `Relu`/`Clip` becomes the requantization
/// clamp (`Relu`: `[zp_y, max]`; `Clip(a, b)`: `[quantize(a), quantize(b)]`), which is exact
/// since quantization is monotonic. Bias: `DequantizeLinear` of an `i32` constant, whose
/// integers are added as they are (ORT's action passes them through); as an extension, an
/// `f32` constant bias is quantized with scale `s_x * s_w[m]`, round half to even.
///
/// Signedness follows ORT on x86-64, where `QDQIsInt8Allowed()` is false: ORT first turns each
/// `i8` `Q → DQ` pair whose `Q` has exactly one consumer into `u8` (`QDQS8ToU8Transformer`,
/// after `EnsureUniqueDQForNodeUnit` gave every consumer its own `DQ`), then fuses
/// Conv/MatMul only with a `u8` input and the same output type, and the other groups only when
/// input and output types agree. [`Analysis::effective_dtype`] computes that type, so exactly
/// the groups ORT fuses are fused (the conversion itself changes no value, so the fused ops
/// keep `i8`). Data-movement groups are collapsed whenever the parameters are equal: that is
/// exact whatever ORT does.
///
/// The fused op takes the `Q`'s place and output value; nodes left without users (the float
/// op, its `DequantizeLinear`s) are removed and the graph renumbered.
#[derive(Clone, Copy, Debug, Default)]
pub struct QdqToInteger;

impl Pass for QdqToInteger {
    fn name(&self) -> &'static str {
        "qdq-to-integer"
    }

    fn run(&self, graph: &mut Graph, _: &PassContext) -> Result<bool, PassError> {
        let an = Analysis::new(graph);
        let mut plans = Vec::new();
        let mut claimed = HashSet::new();
        for n in 0..graph.nodes.len() {
            if let Some(p) = plan::plan(&an, n) {
                if p.absorbed.iter().all(|a| !claimed.contains(a)) && !claimed.contains(&p.at) {
                    claimed.extend(p.absorbed.iter().copied());
                    claimed.insert(p.at);
                    plans.push(p);
                }
            }
        }
        let bypass = an.dq_q_bypasses();
        if plans.is_empty() && bypass.is_empty() {
            return Ok(false);
        }
        apply(graph, plans, bypass).map_err(|e| PassError::ir(self.name(), e))?;
        Ok(true)
    }
}

/// What [`plan::plan`] found: replace node `at` (the `Q`, or a `Gemm` without `Q`) by
/// `pre` nodes and the fused `op` on `inputs`, writing `at`'s output; `absorbed` nodes (the
/// float op, a fused activation) lose their only user and are removed.
pub(crate) struct Plan {
    /// Index of the node whose output the fused op produces.
    pub at: usize,
    /// Nodes the group consumed besides `at` (removed unless still used).
    pub absorbed: Vec<usize>,
    /// Name for the fused node (the float op's).
    pub name: String,
    /// The fused op.
    pub op: Op,
    /// Its inputs.
    pub inputs: Vec<Operand>,
}

/// An input of a fused op.
pub(crate) enum Operand {
    /// An existing value.
    Value(ValueId),
    /// A new constant (name suffix, data).
    Const(&'static str, TensorData),
    /// `Transpose(v) {perm=[1,0]}` of an existing value (Gemm's `transA` / `transB`).
    Transposed(ValueId),
}

/// Use counts and producers of the graph the pass starts from.
pub(crate) struct Analysis<'g> {
    pub g: &'g Graph,
    pub users: Vec<Vec<NodeId>>,
    pub is_output: Vec<bool>,
}

impl<'g> Analysis<'g> {
    fn new(g: &'g Graph) -> Self {
        let mut is_output = vec![false; g.values.len()];
        for &v in &g.outputs {
            is_output[v.index()] = true;
        }
        Analysis { g, users: g.users(), is_output }
    }

    /// The node producing `v`.
    pub fn producer(&self, v: ValueId) -> Option<usize> {
        match self.g.value(v).def {
            ValueDef::Node(n, _) => Some(n.index()),
            _ => None,
        }
    }

    /// The only consumer of `v` (a node index), when `v` has exactly one and is no graph
    /// output.
    pub fn sole_user(&self, v: ValueId) -> Option<usize> {
        match self.users[v.index()].as_slice() {
            [u] if !self.is_output[v.index()] => Some(u.index()),
            _ => None,
        }
    }

    /// `(dq node, its quantized input)` when `v` is the output of a `DequantizeLinear`.
    pub fn dq_input(&self, v: ValueId) -> Option<(usize, ValueId)> {
        let p = self.producer(v)?;
        let node = &self.g.nodes[p];
        matches!(node.op, Op::DequantizeLinear).then(|| (p, node.inputs[0]))
    }

    /// The dtype ONNX Runtime sees for quantized value `v` after `QDQS8ToU8Transformer`: `u8`
    /// for an `i8` per-tensor value produced by a quantizing op (a `Q`, or an integer op this
    /// pass made from one) whose only use is one `DequantizeLinear` feeding one consumer (or
    /// one integer op that replaced such a pair); otherwise its dtype.
    pub fn effective_dtype(&self, v: ValueId) -> DType {
        let ty = self.g.ty(v);
        if ty.dtype != DType::I8 || !ty.quant.as_ref().is_some_and(|q| q.is_per_tensor()) || self.is_output[v.index()] {
            return ty.dtype;
        }
        let quantizing = self.producer(v).is_some_and(|p| produces_quantized(&self.g.nodes[p].op));
        let uses: usize = self.users[v.index()]
            .iter()
            .map(|u| {
                let node = &self.g.nodes[u.index()];
                match node.op {
                    Op::DequantizeLinear => {
                        let o = node.outputs[0];
                        (self.users[o.index()].len() + self.is_output[o.index()] as usize).max(1)
                    }
                    _ => 1,
                }
            })
            .sum();
        if quantizing && uses == 1 {
            DType::U8
        } else {
            ty.dtype
        }
    }

    /// `(Q node, replacement value)` for every `Q(DQ(x))` with `x`'s dtype and parameters
    /// whose output is no graph output: the pair is the identity on `x`.
    fn dq_q_bypasses(&self) -> Vec<(usize, ValueId)> {
        (0..self.g.nodes.len())
            .filter_map(|n| {
                let node = &self.g.nodes[n];
                let Op::QuantizeLinear { .. } = node.op else { return None };
                let (_, x) = self.dq_input(node.inputs[0])?;
                let out = node.outputs[0];
                (self.g.ty(x) == self.g.ty(out) && !self.is_output[out.index()]).then_some((n, x))
            })
            .collect()
    }
}

/// Ops whose output is a quantized tensor made by quantizing (ORT: a `Q` before fusion).
fn produces_quantized(op: &Op) -> bool {
    matches!(
        op,
        Op::QuantizeLinear { .. }
            | Op::QConv(_)
            | Op::QMatMul(_)
            | Op::QLinearBinary { .. }
            | Op::QLinearUnary { .. }
            | Op::QLinearAveragePool { .. }
            | Op::QLinearGlobalAveragePool { .. }
            | Op::QLinearSoftmax { .. }
            | Op::QLinearConcat { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::MaxPool(_)
            | Op::Slice(_)
            | Op::Gather { .. }
            | Op::Resize(_)
            | Op::Concat { .. }
    )
}

/// Applies the plans (highest position first, so earlier positions stay valid) and the
/// `DQ → Q` bypasses, then removes what lost its users.
fn apply(g: &mut Graph, mut plans: Vec<Plan>, bypass: Vec<(usize, ValueId)>) -> Result<(), int8xc_ir::IrError> {
    let mut doomed: HashSet<String> = HashSet::new();
    for &(q, x) in &bypass {
        let out = g.nodes[q].outputs[0];
        g.replace_uses(out, x);
        doomed.insert(g.nodes[q].name.clone());
    }
    // Free the names the fused nodes take over.
    for p in &plans {
        for &a in &p.absorbed {
            let old = g.nodes[a].name.clone();
            g.nodes[a].name = g.unique_node_name(&format!("{old}.fused"));
            doomed.insert(g.nodes[a].name.clone());
        }
    }
    for p in &plans {
        let old = g.nodes[p.at].name.clone();
        g.nodes[p.at].name = g.unique_node_name(&format!("{old}.replaced"));
    }
    plans.sort_by_key(|p| std::cmp::Reverse(p.at));
    for p in plans {
        let out = g.nodes[p.at].outputs[0];
        let mut nodes: Vec<Node> = Vec::new();
        let mut inputs = Vec::with_capacity(p.inputs.len());
        for operand in p.inputs {
            inputs.push(match operand {
                Operand::Value(v) => v,
                Operand::Const(suffix, data) => {
                    let name = g.unique_value_name(&format!("{}.{suffix}", p.name));
                    g.add_const(name, data)
                }
                Operand::Transposed(v) => {
                    let base = format!("{}.{}_t", p.name, g.value(v).name.replace(['/', ' '], "_"));
                    let t = g.detached_node(&base, Op::Transpose { perm: vec![1, 0] }, vec![v])?;
                    let o = t.outputs[0];
                    nodes.push(t);
                    o
                }
            });
        }
        let mut fused = g.detached_node(&p.name, p.op, inputs)?;
        if g.ty(fused.outputs[0]) != g.ty(out) {
            return Err(int8xc_ir::IrError::invalid(format!(
                "fusing into '{}' gives {}, not {}",
                p.name,
                g.ty(fused.outputs[0]),
                g.ty(out)
            )));
        }
        fused.outputs = vec![out];
        nodes.push(fused);
        g.splice(NodeId(p.at as u32), nodes)?;
    }
    remove_dead(g, &doomed)
}

/// Removes the `doomed` nodes and every `DequantizeLinear` / float node feeding them that no
/// longer has users, to a fixed point, then compacts.
fn remove_dead(g: &mut Graph, doomed: &HashSet<String>) -> Result<(), int8xc_ir::IrError> {
    let mut remove = vec![false; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        remove[i] = doomed.contains(&n.name);
    }
    loop {
        let mut used = vec![false; g.values.len()];
        for &v in &g.outputs {
            used[v.index()] = true;
        }
        for (i, n) in g.nodes.iter().enumerate() {
            if !remove[i] {
                n.inputs.iter().for_each(|v| used[v.index()] = true);
            }
        }
        let mut changed = false;
        for (i, n) in g.nodes.iter().enumerate() {
            if !remove[i] && matches!(n.op, Op::DequantizeLinear) && !n.outputs.iter().any(|v| used[v.index()]) {
                remove[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    g.remove_nodes(&remove)
}
