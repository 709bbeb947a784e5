//! Gemm lowering.

use int8xc_ir::{BinaryOp, DType, Graph, IrError, Node, NodeId, Op, TensorData};

use crate::{Pass, PassContext, PassError};

/// Rewrites `f32` `Gemm` (ONNX `Gemm`, opset 13: `Y = alpha * A' * B' + beta * C`) into the
/// IR's normalized form:
///
/// ```text
/// A' = Transpose(A) {perm=[1,0]}      when trans_a
/// B' = Transpose(B) {perm=[1,0]}      when trans_b
/// B' = Mul(B', alpha)                 when alpha != 1 and B is constant
/// Y  = MatMul(A', B')
/// Y  = Mul(Y, alpha)                  when alpha != 1 and B is not constant
/// Y  = Add(Y, C) or Add(Y, Mul(C, beta))   when C is given and beta != 0
/// ```
///
/// Transposes and scalings of constant operands are folded by [`crate::ConstantFolding`]
/// later in the pipeline. The last node keeps the Gemm's name and output value. Gemms of
/// other dtypes are left alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct GemmToMatMul;

impl Pass for GemmToMatMul {
    fn name(&self) -> &'static str {
        "gemm-to-matmul"
    }

    fn run(&self, graph: &mut Graph, _: &PassContext) -> Result<bool, PassError> {
        let gemms: Vec<usize> = (0..graph.nodes.len())
            .filter(|&n| {
                matches!(graph.nodes[n].op, Op::Gemm(_)) && graph.ty(graph.nodes[n].outputs[0]).dtype == DType::F32
            })
            .collect();
        for &n in gemms.iter().rev() {
            let replacement = lower(graph, n).map_err(|e| PassError::ir(self.name(), e))?;
            graph.splice(NodeId(n as u32), replacement).map_err(|e| PassError::ir(self.name(), e))?;
        }
        if gemms.is_empty() {
            return Ok(false);
        }
        graph.compact();
        Ok(true)
    }
}

fn lower(graph: &mut Graph, n: usize) -> Result<Vec<Node>, IrError> {
    let gemm = graph.nodes[n].clone();
    let Op::Gemm(attrs) = &gemm.op else { return Ok(vec![gemm]) };
    let name = gemm.name.as_str();
    let (a, b, c) = (gemm.inputs[0], gemm.inputs[1], gemm.inputs.get(2).copied());
    let mut nodes = Vec::new();
    let mut push = |graph: &mut Graph, suffix: &str, op: Op, inputs| -> Result<_, IrError> {
        let node = graph.detached_node(&format!("{name}.{suffix}"), op, inputs)?;
        let out = node.outputs[0];
        nodes.push(node);
        Ok(out)
    };
    let transpose = || Op::Transpose { perm: vec![1, 0] };
    let a2 = if attrs.trans_a { push(graph, "a_t", transpose(), vec![a])? } else { a };
    let mut b2 = if attrs.trans_b { push(graph, "b_t", transpose(), vec![b])? } else { b };
    let scale_b = attrs.alpha != 1.0 && graph.constant(b).is_some();
    if scale_b {
        let alpha =
            graph.add_const(graph.unique_value_name(&format!("{name}.alpha")), TensorData::scalar_f32(attrs.alpha));
        b2 = push(graph, "b_alpha", Op::Binary(BinaryOp::Mul), vec![b2, alpha])?;
    }
    let mut y = push(graph, "matmul", Op::MatMul, vec![a2, b2])?;
    if attrs.alpha != 1.0 && !scale_b {
        let alpha =
            graph.add_const(graph.unique_value_name(&format!("{name}.alpha")), TensorData::scalar_f32(attrs.alpha));
        y = push(graph, "alpha", Op::Binary(BinaryOp::Mul), vec![y, alpha])?;
    }
    if let Some(c) = c.filter(|_| attrs.beta != 0.0) {
        let mut c2 = c;
        if attrs.beta != 1.0 {
            let beta =
                graph.add_const(graph.unique_value_name(&format!("{name}.beta")), TensorData::scalar_f32(attrs.beta));
            c2 = push(graph, "c_beta", Op::Binary(BinaryOp::Mul), vec![c, beta])?;
        }
        y = push(graph, "bias", Op::Binary(BinaryOp::Add), vec![y, c2])?;
    }
    let Some(last) = nodes.last_mut() else { return Ok(vec![gemm]) };
    if graph.ty(y) != graph.ty(gemm.outputs[0]) {
        return Err(IrError::invalid(format!(
            "Gemm lowering of '{name}' gives {}, not {}",
            graph.ty(y),
            graph.ty(gemm.outputs[0])
        )));
    }
    last.name = gemm.name.clone();
    last.outputs = gemm.outputs.clone();
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::run_and_check;
    use crate::{default_pipeline, ConstantFolding};

    fn gemm_text(alpha: f32, beta: f32, trans_a: bool, trans_b: bool, b_const: bool) -> String {
        let (a_shape, b_shape) = (if trans_a { "3,2" } else { "2,3" }, if trans_b { "4,3" } else { "3,4" });
        let b_decl = if b_const {
            format!("  %b: f32[{b_shape}] = const [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\n")
        } else {
            String::new()
        };
        let b_input = if b_const { String::new() } else { format!(", %b: f32[{b_shape}]") };
        format!(
            "graph g(%a: f32[{a_shape}]{b_input}) -> (%y) {{\n{b_decl}  %c: f32[4] = const [0.5, -1, 2, 0]\n  \
             %y = Gemm(%a, %b, %c) {{alpha={alpha:?}, beta={beta:?}, trans_a={trans_a}, trans_b={trans_b}}}\n}}"
        )
    }

    #[test]
    fn lowers_with_trans_flags_alpha_and_beta() {
        let (changed, out) = run_and_check(&GemmToMatMul, &gemm_text(0.5, 2.0, true, true, true), 1e-5);
        assert!(changed);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn every_flag_combination_computes_the_same() {
        for trans_a in [false, true] {
            for trans_b in [false, true] {
                for (alpha, beta) in [(1.0, 1.0), (0.5, 0.0), (2.0, -1.5)] {
                    for b_const in [false, true] {
                        let text = gemm_text(alpha, beta, trans_a, trans_b, b_const);
                        let (changed, out) = run_and_check(&GemmToMatMul, &text, 1e-5);
                        assert!(changed && !out.contains("Gemm"), "{out}");
                    }
                }
            }
        }
    }

    #[test]
    fn default_pipeline_folds_the_constant_transposes() {
        let text = gemm_text(0.5, 1.0, false, true, true);
        let (_, out) = run_and_check(&default_pipeline_as_pass(), &text, 1e-5);
        insta::assert_snapshot!(out);
        let (changed, _) = run_and_check(&ConstantFolding::default(), &out, 0.0);
        assert!(!changed);
    }

    struct Pipeline;
    impl Pass for Pipeline {
        fn name(&self) -> &'static str {
            "default-pipeline"
        }
        fn run(&self, graph: &mut Graph, ctx: &PassContext) -> Result<bool, PassError> {
            let stats = default_pipeline().run(graph, ctx)?;
            Ok(stats.runs.iter().any(|r| r.changed))
        }
    }

    fn default_pipeline_as_pass() -> Pipeline {
        Pipeline
    }
}
