//! BatchNormalization folding.

use int8xc_ir::{BinaryOp, Graph, NodeId, Op, TensorData, ValueDef, ValueId};

use crate::{Pass, PassContext, PassError};

/// Removes inference `BatchNormalization` nodes whose parameters (`scale`, `bias`, `mean`,
/// `var`) are `f32` constants:
///
/// - after a `Conv` whose weight (and bias, if any) are `f32` constants and whose output
///   only the BatchNorm reads (and is not a graph output), into the Conv's weights: with
///   `s = scale / sqrt(var + epsilon)` per output channel `o`,
///   `w'[o, ...] = w[o, ...] * s[o]` and `b'[o] = (b[o] - mean[o]) * s[o] + bias[o]`
///   (`b = 0` without a bias); the Conv then defines the BatchNorm's output value;
/// - otherwise, into `Mul(x, s)` then `Add(·, bias - mean * s)` with constants of shape
///   `[C, 1, …, 1]` (one 1 per dim after the channel dim), which later fusion can absorb.
///
/// Folded parameters are computed in `f64` and rounded to `f32` once, so results differ
/// from the unfolded graph by float rounding only. Other BatchNorms are left alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchNormFolding;

/// Per-channel `s = scale / sqrt(var + eps)` and `t = bias - mean * s`, or `None` when a
/// parameter is not an `f32` constant.
fn bn_params(graph: &Graph, inputs: &[ValueId], epsilon: f32) -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let p = |i: usize| inputs.get(i).and_then(|&v| graph.constant(v)).and_then(TensorData::as_f32);
    let (scale, bias, mean, var) = (p(1)?, p(2)?, p(3)?, p(4)?);
    let s: Vec<f64> = scale.iter().zip(var).map(|(&g, &v)| g as f64 / (v as f64 + epsilon as f64).sqrt()).collect();
    let mean = mean.iter().map(|&m| m as f64).collect();
    let bias = bias.iter().map(|&b| b as f64).collect();
    Some((s, mean, bias))
}

impl Pass for BatchNormFolding {
    fn name(&self) -> &'static str {
        "batchnorm-folding"
    }

    fn run(&self, graph: &mut Graph, _: &PassContext) -> Result<bool, PassError> {
        let err = |e| PassError::ir(self.name(), e);
        let users = graph.users();
        let mut folded = Vec::new();
        let mut standalone = Vec::new();
        for b in 0..graph.nodes.len() {
            let Op::BatchNormalization { epsilon } = graph.nodes[b].op else { continue };
            let bn_inputs = graph.nodes[b].inputs.clone();
            let Some((s, mean, bias)) = bn_params(graph, &bn_inputs, epsilon) else { continue };
            let x = bn_inputs[0];
            match conv_to_fold(graph, x, &users) {
                Some(c) => {
                    fold_into_conv(graph, c, &graph.nodes[b].outputs.clone(), &s, &mean, &bias).map_err(err)?;
                    folded.push(b);
                }
                None if graph.ty(x).dtype == int8xc_ir::DType::F32 => standalone.push((b, s, mean, bias)),
                None => {}
            }
        }
        let changed = !folded.is_empty() || !standalone.is_empty();
        let mut remove = vec![false; graph.nodes.len()];
        folded.iter().for_each(|&b| remove[b] = true);
        // Splice from the last node backwards so earlier node ids stay valid.
        for (b, s, mean, bias) in standalone.into_iter().rev() {
            to_mul_add(graph, NodeId(b as u32), &s, &mean, &bias).map_err(err)?;
        }
        if changed {
            graph.remove_nodes(&remove).map_err(err)?;
        }
        Ok(changed)
    }
}

/// The Conv node defining `x` when the BatchNorm reading `x` can fold into it.
fn conv_to_fold(graph: &Graph, x: ValueId, users: &[Vec<NodeId>]) -> Option<usize> {
    let ValueDef::Node(c, 0) = graph.value(x).def else { return None };
    let conv = graph.node(c);
    let foldable = matches!(conv.op, Op::Conv(_))
        && users[x.index()].len() == 1
        && !graph.outputs.contains(&x)
        && graph.ty(x).dtype == int8xc_ir::DType::F32
        && conv.inputs.iter().skip(1).all(|&v| graph.constant(v).and_then(TensorData::as_f32).is_some());
    foldable.then_some(c.index())
}

fn fold_into_conv(
    graph: &mut Graph,
    c: usize,
    bn_outputs: &[ValueId],
    s: &[f64],
    mean: &[f64],
    bias: &[f64],
) -> Result<(), int8xc_ir::IrError> {
    let conv = &graph.nodes[c];
    let (w_id, x_in) = (conv.inputs[1], conv.inputs[0]);
    let b_id = conv.inputs.get(2).copied();
    let w = graph.constant(w_id).ok_or_else(|| int8xc_ir::IrError::invalid("Conv weight is not constant"))?;
    let m = w.shape()[0];
    let per_out = w.numel() / m.max(1);
    let w_f = w.as_f32().unwrap_or_default();
    let new_w: Vec<f32> = w_f.iter().enumerate().map(|(i, &v)| (v as f64 * s[i / per_out.max(1)]) as f32).collect();
    let old_b: Vec<f64> = match b_id.and_then(|v| graph.constant(v)).and_then(TensorData::as_f32) {
        Some(b) => b.iter().map(|&v| v as f64).collect(),
        None => vec![0.0; m],
    };
    let new_b: Vec<f32> = (0..m).map(|o| ((old_b[o] - mean[o]) * s[o] + bias[o]) as f32).collect();
    let w_shape = w.shape().to_vec();
    let w_name = graph.unique_value_name(&format!("{}.bn", graph.value(w_id).name));
    let b_name = graph.unique_value_name(&format!("{}.bias_bn", graph.nodes[c].name));
    let w2 = graph.add_const(w_name, TensorData::from_f32(w_shape, new_w)?);
    let b2 = graph.add_const(b_name, TensorData::from_f32([m], new_b)?);
    let conv = &mut graph.nodes[c];
    conv.inputs = vec![x_in, w2, b2];
    conv.outputs = bn_outputs.to_vec();
    for (k, &v) in bn_outputs.iter().enumerate() {
        graph.values[v.index()].def = ValueDef::Node(NodeId(c as u32), k);
    }
    Ok(())
}

fn to_mul_add(graph: &mut Graph, b: NodeId, s: &[f64], mean: &[f64], bias: &[f64]) -> Result<(), int8xc_ir::IrError> {
    let bn = graph.node(b).clone();
    let x = bn.inputs[0];
    let mut shape = vec![s.len()];
    shape.resize(graph.ty(x).rank().saturating_sub(1), 1);
    let t: Vec<f32> = (0..s.len()).map(|c| (bias[c] - mean[c] * s[c]) as f32).collect();
    let s32: Vec<f32> = s.iter().map(|&v| v as f32).collect();
    let s_name = graph.unique_value_name(&format!("{}.scale", bn.name));
    let t_name = graph.unique_value_name(&format!("{}.shift", bn.name));
    let s_c = graph.add_const(s_name, TensorData::from_f32(shape.clone(), s32)?);
    let t_c = graph.add_const(t_name, TensorData::from_f32(shape, t)?);
    let mul = graph.detached_node(&format!("{}.mul", bn.name), Op::Binary(BinaryOp::Mul), vec![x, s_c])?;
    let mut add = graph.detached_node(&bn.name, Op::Binary(BinaryOp::Add), vec![mul.outputs[0], t_c])?;
    add.name = bn.name.clone();
    add.outputs = bn.outputs.clone();
    graph.splice(b, vec![mul, add])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::run_and_check;

    const CONV_BN: &str = "graph g(%x: f32[1,2,4,4]) -> (%bn) {
          %w: f32[3,2,1,1] = const [1, -1, 0.5, 2, -0.25, 1.5]
          %b: f32[3] = const [0.1, 0.2, 0.3]
          %conv = Conv(%x, %w, %b) {kernel=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
          %gamma: f32[3] = const [1, 2, 0.5]
          %beta: f32[3] = const [0, 1, -1]
          %mean: f32[3] = const [0.5, -0.5, 1]
          %var: f32[3] = const [1, 4, 0.25]
          %bn = BatchNormalization(%conv, %gamma, %beta, %mean, %var) {epsilon=0.001}
        }";

    #[test]
    fn folds_into_preceding_conv() {
        let (changed, out) = run_and_check(&BatchNormFolding, CONV_BN, 1e-5);
        assert!(changed);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn conv_with_another_user_becomes_mul_add() {
        let text = CONV_BN.replace("-> (%bn)", "-> (%bn, %conv)");
        let (changed, out) = run_and_check(&BatchNormFolding, &text, 1e-5);
        assert!(changed);
        assert!(out.contains("Conv(%x, %w, %b)") && out.contains("Mul(%conv, %bn.scale)"), "{out}");
    }

    #[test]
    fn standalone_batchnorm_becomes_mul_add() {
        let text = "graph g(%x: f32[2,3,2,2]) -> (%y) {
              %gamma: f32[3] = const [1, 2, 0.5]
              %beta: f32[3] = const [0, 1, -1]
              %mean: f32[3] = const [0.5, -0.5, 1]
              %var: f32[3] = const [1, 4, 0.25]
              %bn = BatchNormalization(%x, %gamma, %beta, %mean, %var) {epsilon=0.00001}
              %y = Relu(%bn)
            }";
        let (changed, out) = run_and_check(&BatchNormFolding, text, 1e-5);
        assert!(changed);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn runtime_parameters_are_left_alone() {
        let text = "graph g(%x: f32[1,2], %gamma: f32[2]) -> (%bn) {
              %beta: f32[2] = const [0, 1]
              %bn = BatchNormalization(%x, %gamma, %beta, %beta, %beta) {epsilon=0.00001}
            }";
        let (changed, _) = run_and_check(&BatchNormFolding, text, 0.0);
        assert!(!changed);
    }
}
