//! Dead-code elimination.

use int8xc_ir::{Graph, ValueDef};

use crate::{Pass, PassContext, PassError};

/// Removes nodes none of whose outputs reach a graph output, then constants nothing reads,
/// and renumbers values and nodes canonically ([`Graph::compact`]). Graph inputs are kept
/// even when unused (they are the graph's interface).
///
/// Reports a change when a node or value was removed (renumbering alone is not a change).
#[derive(Clone, Copy, Debug, Default)]
pub struct DeadCodeElimination;

impl Pass for DeadCodeElimination {
    fn name(&self) -> &'static str {
        "dce"
    }

    fn run(&self, graph: &mut Graph, _: &PassContext) -> Result<bool, PassError> {
        let mut live = vec![false; graph.values.len()];
        for &v in &graph.outputs {
            live[v.index()] = true;
        }
        let mut remove = vec![false; graph.nodes.len()];
        for (n, node) in graph.nodes.iter().enumerate().rev() {
            if node.outputs.iter().any(|v| live[v.index()]) {
                for &v in &node.inputs {
                    live[v.index()] = true;
                }
            } else {
                remove[n] = true;
            }
        }
        let (nodes, values) = (graph.nodes.len(), graph.values.len());
        let dead_consts = graph.values.iter().zip(&live).any(|(v, l)| !l && matches!(v.def, ValueDef::Const(_)));
        if !remove.contains(&true) && !dead_consts {
            return Ok(false);
        }
        graph.remove_nodes(&remove).map_err(|e| PassError::ir(self.name(), e))?;
        Ok(graph.nodes.len() != nodes || graph.values.len() != values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{parse, run_and_check, NoEval};

    #[test]
    fn removes_unused_nodes_and_constants() {
        let text = "graph g(%x: f32[2,3], %unused: f32[1]) -> (%y) {
              %c: f32[3] = const [1, 2, 3]
              %dead_c: f32[3] = const [4, 5, 6]
              %a = Add(%x, %c)
              %dead1 = Mul(%x, %dead_c)
              %dead2 = Relu(%dead1)
              %y = Relu(%a)
            }";
        let (changed, out) = run_and_check(&DeadCodeElimination, text, 0.0);
        assert!(changed);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn keeps_a_live_graph_unchanged() {
        let text = "graph g(%x: f32[2]) -> (%y, %x) {\n  %y = Relu(%x)\n}";
        let mut g = parse(text);
        let before = g.clone();
        assert!(!DeadCodeElimination.run(&mut g, &PassContext { eval: &NoEval }).unwrap());
        assert_eq!(g, before);
    }
}
