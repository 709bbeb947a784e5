//! ONNX graph → IR graph.
//!
//! [`import_graph`] binds graph inputs to concrete shapes, sorts the nodes topologically
//! (rejecting cycles and undefined values), checks that every op is supported (one error lists
//! all that are not), then translates node by node: each op family lives in its own module.
//! After building a node whose inputs are all constants, the importer evaluates it with the
//! caller's [`ConstEval`] and records a constant instead, which is how the `Shape → Gather →
//! Unsqueeze → Concat → Reshape` chains exporters emit become static shapes.

mod attrs;
mod batch_norm;
mod conv;
mod conv_nd;
mod dropout;
mod einsum;
mod elementwise;
mod index;
mod lstm;
mod math;
mod nn;
mod pad;
mod qoperator;
mod quant;
mod reduce;
mod registry;
mod resize;
mod shape_ops;
mod topo;
mod trilu;
mod window;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use int8xc_ir::{infer_types, ConstEval, DType, Graph, Op, TensorData, TensorType, ValueDef, ValueId};

pub(crate) use attrs::NodeIn;
use registry::is_supported;
pub(crate) use registry::MS_DOMAIN;
pub use registry::{MS_SUPPORTED_OPS, OPSET1_STABLE_OPS, OPSET_RANGE, SUPPORTED_OPS};
use topo::topo_order;

use crate::decode::tensor_to_data;
use crate::model::is_default_domain;
use crate::proto::{GraphProto, TensorProto};
use crate::{OnnxError, OnnxModel, UnsupportedOp};

/// Import state: the IR graph being built and the ONNX name → value map.
pub(crate) struct Ctx<'a> {
    /// The graph being built.
    pub graph: Graph,
    values: HashMap<String, ValueId>,
    initializers: HashMap<&'a str, &'a TensorProto>,
    base_dir: Option<&'a Path>,
    eval: &'a dyn ConstEval,
    value_names: HashSet<String>,
    node_names: HashSet<String>,
    fold_failures: HashMap<ValueId, String>,
}

fn unique(set: &mut HashSet<String>, base: String) -> String {
    if set.insert(base.clone()) {
        return base;
    }
    let mut k = 1;
    loop {
        let candidate = format!("{base}_{k}");
        if set.insert(candidate.clone()) {
            return candidate;
        }
        k += 1;
    }
}

/// Imports `graph` of `model`; `inputs` are the real graph inputs with bound dtype and shape.
pub(crate) fn import_graph(
    model: &OnnxModel,
    graph: &GraphProto,
    inputs: &[(String, DType, Vec<usize>)],
    eval: &dyn ConstEval,
) -> Result<Graph, OnnxError> {
    let opset = model.opset();
    if opset == 0 {
        return Err(OnnxError::Opset("the model imports no default-domain (ai.onnx) opset".into()));
    }
    let early_ok = opset >= 1
        && graph.node.iter().all(|n| is_default_domain(&n.domain) && OPSET1_STABLE_OPS.contains(&n.op_type.as_str()));
    if (opset < OPSET_RANGE.0 && !early_ok) || opset > OPSET_RANGE.1 {
        return Err(OnnxError::Opset(format!(
            "default-domain opset {opset} is outside the supported range {}–{}",
            OPSET_RANGE.0, OPSET_RANGE.1
        )));
    }

    // Unique node names, then every unsupported op at once.
    let mut node_names = HashSet::new();
    let names: Vec<String> = graph
        .node
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let base = if n.name.is_empty() { format!("{}_{i}", n.op_type) } else { n.name.clone() };
            unique(&mut node_names, base)
        })
        .collect();
    let unsupported: Vec<UnsupportedOp> = graph
        .node
        .iter()
        .zip(&names)
        .filter(|(n, _)| !is_supported(&n.domain, &n.op_type))
        .map(|(n, name)| UnsupportedOp {
            node: name.clone(),
            op_type: n.op_type.clone(),
            domain: n.domain.clone(),
            opset: model.opset_of(&n.domain),
        })
        .collect();
    if !unsupported.is_empty() {
        return Err(OnnxError::UnsupportedOps(unsupported));
    }

    if let Some(sparse) = graph.sparse_initializer.first() {
        let name = sparse.values.as_ref().map(|v| v.name.as_str()).unwrap_or("<unnamed>");
        return Err(OnnxError::tensor(name, "sparse initializers are not supported"));
    }
    let initializers: HashMap<&str, &TensorProto> = graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut defined: HashSet<&str> = initializers.keys().copied().collect();
    defined.extend(inputs.iter().map(|(n, _, _)| n.as_str()));
    let order = topo_order(graph, &names, &defined)?;

    let mut value_names: HashSet<String> = defined.iter().map(|s| s.to_string()).collect();
    value_names.extend(graph.node.iter().flat_map(|n| n.output.iter().filter(|o| !o.is_empty()).cloned()));
    let mut cx = Ctx {
        graph: Graph::new(if graph.name.is_empty() { "main" } else { graph.name.as_str() }),
        values: HashMap::new(),
        initializers,
        base_dir: model.base_dir(),
        eval,
        value_names,
        node_names,
        fold_failures: HashMap::new(),
    };
    for (name, dtype, shape) in inputs {
        if cx.values.contains_key(name) {
            return Err(OnnxError::Graph(format!("graph input '{name}' is declared twice")));
        }
        let id = cx.graph.add_input(name.clone(), TensorType::new(*dtype, shape.clone()));
        cx.values.insert(name.clone(), id);
    }

    for i in order {
        let proto = &graph.node[i];
        let n = NodeIn { proto, name: names[i].clone(), op_type: proto.op_type.as_str(), opset };
        let results = import_node(&mut cx, &n)?;
        for (k, out) in proto.output.iter().enumerate() {
            if out.is_empty() {
                continue;
            }
            let v = results.get(k).copied().ok_or_else(|| {
                n.err(format!(
                    "output {k} ('{out}') is not supported by the importer (only {} output(s))",
                    results.len()
                ))
            })?;
            cx.values.insert(out.clone(), v);
        }
    }

    for out in &graph.output {
        let v = cx.value(&out.name).map_err(|_| {
            OnnxError::Graph(format!("graph output '{}' is not defined by any node, initializer or input", out.name))
        })?;
        cx.graph.outputs.push(v);
    }
    name_outputs(&mut cx.graph, graph);
    prune_unused_constants(&mut cx.graph);
    Ok(cx.graph)
}

/// Drops constants no node reads and no graph output names: shape-input constants folded
/// into attributes (Reshape's `shape`, Slice's `starts`, …) and the inputs of folded
/// sub-graphs. Value ids are renumbered; the order of the remaining values is kept.
fn prune_unused_constants(g: &mut Graph) {
    let mut used = vec![false; g.values.len()];
    for &v in g.nodes.iter().flat_map(|n| n.inputs.iter().chain(&n.outputs)).chain(&g.inputs).chain(&g.outputs) {
        if let Some(u) = used.get_mut(v.index()) {
            *u = true;
        }
    }
    let keep = |i: usize, val: &int8xc_ir::Value| used[i] || !matches!(val.def, ValueDef::Const(_));
    if g.values.iter().enumerate().all(|(i, v)| keep(i, v)) {
        return;
    }
    let mut remap = vec![ValueId(0); g.values.len()];
    let mut kept = Vec::with_capacity(g.values.len());
    for (i, val) in std::mem::take(&mut g.values).into_iter().enumerate() {
        if keep(i, &val) {
            remap[i] = ValueId(kept.len() as u32);
            kept.push(val);
        }
    }
    g.values = kept;
    let fix = |v: &mut ValueId| *v = remap[v.index()];
    for n in &mut g.nodes {
        n.inputs.iter_mut().chain(n.outputs.iter_mut()).for_each(fix);
    }
    g.inputs.iter_mut().chain(g.outputs.iter_mut()).for_each(fix);
}

/// Gives graph-output values their ONNX output names where an alias (Identity, Dropout)
/// left another name on an internal value.
fn name_outputs(g: &mut Graph, proto: &GraphProto) {
    let mut counts: HashMap<ValueId, usize> = HashMap::new();
    for &v in &g.outputs {
        *counts.entry(v).or_default() += 1;
    }
    for (k, out) in proto.output.iter().enumerate() {
        let Some(&v) = g.outputs.get(k) else { continue };
        let is_input = matches!(g.value(v).def, ValueDef::Input(_));
        if g.value(v).name != out.name && !is_input && counts.get(&v) == Some(&1) {
            if g.values.iter().any(|x| x.name == out.name) {
                continue; // the name is taken by another value
            }
            if let Some(val) = g.values.get_mut(v.index()) {
                val.name = out.name.clone();
            }
        }
    }
}

fn import_node(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    if n.proto.domain == MS_DOMAIN {
        return qoperator::import_ms(cx, n);
    }
    match n.op_type {
        "QuantizeLinear" => quant::quantize_linear(cx, n),
        "DequantizeLinear" => quant::dequantize_linear(cx, n),
        "DynamicQuantizeLinear" => quant::dynamic_quantize_linear(cx, n),
        "MatMulInteger" => quant::matmul_integer(cx, n),
        "ConvInteger" => quant::conv_integer(cx, n),
        "QLinearConv" => qoperator::qlinear_conv(cx, n),
        "QLinearMatMul" => qoperator::qlinear_matmul(cx, n),
        "LSTM" => lstm::lstm(cx, n),
        "Add" | "Sub" | "Mul" | "Div" => elementwise::binary(cx, n),
        "Relu" | "LeakyRelu" | "Sigmoid" | "Tanh" | "HardSigmoid" | "HardSwish" => elementwise::unary(cx, n),
        "Clip" => elementwise::clip(cx, n),
        "Conv" => conv::conv(cx, n),
        "ConvTranspose" => conv::conv_transpose(cx, n),
        "MaxPool" | "AveragePool" => conv::pool(cx, n),
        "Dropout" => dropout::dropout(cx, n),
        "GlobalAveragePool" => nn::global_average_pool(cx, n),
        "MatMul" => nn::matmul(cx, n),
        "Gemm" => nn::gemm(cx, n),
        "Softmax" => nn::softmax(cx, n),
        "ReduceMean" => nn::reduce_mean(cx, n),
        "ArgMax" => nn::argmax(cx, n),
        "BatchNormalization" => nn::batch_norm(cx, n),
        "Resize" => resize::resize(cx, n),
        "Upsample" => resize::upsample(cx, n),
        op if math::OPS.contains(&op) => math::import(cx, n),
        op if reduce::OPS.contains(&op) => reduce::import(cx, n),
        op if pad::OPS.contains(&op) => pad::import(cx, n),
        op if index::OPS.contains(&op) => index::import(cx, n),
        "Trilu" => trilu::trilu(cx, n),
        "Einsum" => einsum::einsum(cx, n),
        _ => shape_ops::import(cx, n),
    }
}

impl Ctx<'_> {
    /// The value named `name`: a graph input, an earlier node's output, or an initializer
    /// (converted on first use).
    fn value(&mut self, name: &str) -> Result<ValueId, OnnxError> {
        if let Some(&v) = self.values.get(name) {
            return Ok(v);
        }
        let t =
            *self.initializers.get(name).ok_or_else(|| OnnxError::Graph(format!("value '{name}' is not defined")))?;
        let data = tensor_to_data(t, self.base_dir)?;
        let v = self.graph.add_const(name, data);
        self.values.insert(name.to_string(), v);
        Ok(v)
    }

    /// Required input `i` of `n`.
    pub fn input(&mut self, n: &NodeIn, i: usize) -> Result<ValueId, OnnxError> {
        let name = n.input_name(i).ok_or_else(|| n.err(format!("missing required input {i}")))?;
        self.value(name)
    }

    /// Optional input `i` of `n` (`None` when absent or named `""`).
    pub fn opt_input(&mut self, n: &NodeIn, i: usize) -> Result<Option<ValueId>, OnnxError> {
        match n.input_name(i) {
            None => Ok(None),
            Some(name) => self.value(name).map(Some),
        }
    }

    /// The type of value `v`.
    pub fn ty(&self, v: ValueId) -> &TensorType {
        self.graph.ty(v)
    }

    /// Optional input `i` (`what` names it in errors), which must be a constant.
    pub fn const_input(&mut self, n: &NodeIn, i: usize, what: &str) -> Result<Option<TensorData>, OnnxError> {
        let Some(v) = self.opt_input(n, i)? else { return Ok(None) };
        match self.graph.constant(v) {
            Some(t) => Ok(Some(t.clone())),
            None => {
                let why =
                    self.fold_failures.get(&v).map(|m| format!(" (constant folding failed: {m})")).unwrap_or_default();
                Err(n.err(format!(
                    "input {i} ('{what}', value '{}') must be a constant known at import time{why}",
                    self.graph.value(v).name
                )))
            }
        }
    }

    /// Optional constant integer input `i`, as `i64`s.
    pub fn const_ints(&mut self, n: &NodeIn, i: usize, what: &str) -> Result<Option<Vec<i64>>, OnnxError> {
        match self.const_input(n, i, what)? {
            None => Ok(None),
            Some(t) => {
                t.to_i64_vec().map(Some).ok_or_else(|| n.err(format!("input {i} ('{what}') must be an integer tensor")))
            }
        }
    }

    /// Records constant `data` as the result of `n` (named after output 0, or
    /// `"{output}/{suffix}"`).
    pub fn constant(&mut self, n: &NodeIn, suffix: &str, data: TensorData) -> ValueId {
        let name = self.value_name(n, suffix);
        self.graph.add_const(name, data)
    }

    fn value_name(&mut self, n: &NodeIn, suffix: &str) -> String {
        let base = n.proto.output.first().filter(|s| !s.is_empty()).cloned();
        match (base, suffix.is_empty()) {
            (Some(b), true) => b,
            (Some(b), false) => unique(&mut self.value_names, format!("{b}/{suffix}")),
            (None, _) => {
                unique(&mut self.value_names, format!("{}/{}", n.name, if suffix.is_empty() { "out" } else { suffix }))
            }
        }
    }

    /// Adds `op` applied to `inputs` for node `n` and returns its output. The main node of
    /// an ONNX node has an empty `suffix` and takes the ONNX node and output names; helper
    /// nodes (e.g. the reshapes around an opset-11 Softmax) are named `"{name}/{suffix}"`.
    /// When every input is constant the op is evaluated with the [`ConstEval`] and a
    /// constant is recorded instead of a node.
    ///
    /// Errors: shape inference errors, attached to the node.
    pub fn emit(&mut self, n: &NodeIn, suffix: &str, op: Op, inputs: Vec<ValueId>) -> Result<ValueId, OnnxError> {
        let in_types: Vec<&TensorType> = inputs.iter().map(|&v| self.graph.ty(v)).collect();
        let out_types = infer_types(&op, &in_types).map_err(|e| n.err(e.to_string()))?;
        let out_ty = match <[TensorType; 1]>::try_from(out_types) {
            Ok([t]) => t,
            Err(v) => return Err(n.err(format!("op {} has {} outputs; the importer expects one", op.name(), v.len()))),
        };
        let value_name = self.value_name(n, suffix);
        let mut failure = None;
        if inputs.iter().all(|&v| self.graph.constant(v).is_some()) {
            match self.fold(&op, &inputs, &out_ty) {
                Ok(data) => {
                    let v = self.graph.add_const(value_name, data);
                    self.graph.values[v.index()].ty.quant = out_ty.quant;
                    return Ok(v);
                }
                Err(m) => {
                    tracing::debug!(node = %n.name, op = op.name(), "constant folding failed: {m}");
                    failure = Some(m);
                }
            }
        }
        let node_name = if suffix.is_empty() {
            n.name.clone()
        } else {
            unique(&mut self.node_names, format!("{}/{suffix}", n.name))
        };
        let outs = self.graph.add_node_typed(node_name, op, inputs, vec![out_ty]);
        let v = *outs.first().ok_or_else(|| n.err("internal: node has no output"))?;
        if let Some(val) = self.graph.values.get_mut(v.index()) {
            val.name = value_name;
        }
        if let Some(m) = failure {
            self.fold_failures.insert(v, m);
        }
        Ok(v)
    }

    /// Adds `op` applied to `inputs` as a node even when every input is constant, with as many
    /// outputs as the op has; outputs are named after the ONNX outputs of `n` (unused or
    /// absent ones `"{output 0}/{k}"`). Used for ops with several outputs and for
    /// `DequantizeLinear` of constant weights, which the QDQ pass fuses into integer ops
    /// (constant folding would turn them into `f32` weights first).
    ///
    /// Errors: shape inference errors, attached to the node.
    pub fn emit_node(&mut self, n: &NodeIn, op: Op, inputs: Vec<ValueId>) -> Result<Vec<ValueId>, OnnxError> {
        let in_types: Vec<&TensorType> = inputs.iter().map(|&v| self.graph.ty(v)).collect();
        let out_types = infer_types(&op, &in_types).map_err(|e| n.err(e.to_string()))?;
        let names: Vec<String> = (0..out_types.len())
            .map(|k| match n.proto.output.get(k).filter(|s| !s.is_empty()) {
                Some(name) => name.clone(),
                None => unique(&mut self.value_names, format!("{}/{k}", n.name)),
            })
            .collect();
        let outs = self.graph.add_node_typed(n.name.clone(), op, inputs, out_types);
        for (&v, name) in outs.iter().zip(names) {
            if let Some(val) = self.graph.values.get_mut(v.index()) {
                val.name = name;
            }
        }
        Ok(outs)
    }

    fn fold(&self, op: &Op, inputs: &[ValueId], out_ty: &TensorType) -> Result<TensorData, String> {
        if out_ty.size_bytes() > crate::decode::MAX_FOLD_BYTES {
            return Err(format!("the result ({out_ty}) is larger than the folding limit of 256 MiB"));
        }
        let data: Vec<&TensorData> = inputs.iter().filter_map(|&v| self.graph.constant(v)).collect();
        if let (Op::Reshape { shape }, [x]) = (op, data.as_slice()) {
            return (*x).clone().reshaped(shape.clone()).map_err(|e| e.to_string());
        }
        let types: Vec<&TensorType> = inputs.iter().map(|&v| self.graph.ty(v)).collect();
        let outs = self.eval.eval_typed(op, &data, &types, std::slice::from_ref(out_ty)).map_err(|e| e.to_string())?;
        let out = outs.into_iter().next().ok_or("the evaluator returned no output")?;
        if !out.matches_type(out_ty) {
            return Err(format!("the evaluator returned {}{:?}, expected {out_ty}", out.dtype(), out.shape()));
        }
        Ok(out)
    }
}
