//! Topological ordering of an ONNX graph's nodes, with errors for cycles and undefined values.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::proto::GraphProto;
use crate::OnnxError;

/// Orders the nodes so every input is defined before use (stable: an already sorted graph
/// keeps its order).
///
/// Errors: a value defined twice, an input no one defines, a cycle (naming its nodes).
pub(super) fn topo_order(
    graph: &GraphProto,
    names: &[String],
    defined: &HashSet<&str>,
) -> Result<Vec<usize>, OnnxError> {
    let nodes = &graph.node;
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for out in n.output.iter().filter(|o| !o.is_empty()) {
            if defined.contains(out.as_str()) {
                return Err(OnnxError::Graph(format!(
                    "node '{}' ({}) redefines '{out}', which is a graph input or initializer",
                    names[i], n.op_type
                )));
            }
            if let Some(&j) = producer.get(out.as_str()) {
                return Err(OnnxError::Graph(format!(
                    "value '{out}' is defined twice: by node '{}' ({}) and node '{}' ({})",
                    names[j], nodes[j].op_type, names[i], n.op_type
                )));
            }
            producer.insert(out.as_str(), i);
        }
    }
    let mut indegree = vec![0usize; nodes.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for (k, input) in n.input.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
            match producer.get(input.as_str()) {
                Some(&p) => {
                    indegree[i] += 1;
                    users[p].push(i);
                }
                None if defined.contains(input.as_str()) => {}
                None => {
                    return Err(OnnxError::Graph(format!(
                        "node '{}' ({}) input {k} '{input}' is not defined by any node, initializer or graph input",
                        names[i], n.op_type
                    )))
                }
            }
        }
    }
    let mut ready: BTreeSet<usize> = (0..nodes.len()).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &u in &users[i] {
            indegree[u] -= 1;
            if indegree[u] == 0 {
                ready.insert(u);
            }
        }
    }
    if order.len() < nodes.len() {
        // Peel off stuck nodes that merely depend on a cycle (no stuck users) until only
        // the nodes on (or between) cycles remain.
        let mut stuck: Vec<bool> = indegree.iter().map(|&d| d > 0).collect();
        let downstream_before = stuck.iter().filter(|&&s| s).count();
        loop {
            let sinks: Vec<usize> =
                (0..nodes.len()).filter(|&i| stuck[i] && !users[i].iter().any(|&u| stuck[u])).collect();
            if sinks.is_empty() {
                break;
            }
            for i in sinks {
                stuck[i] = false;
            }
        }
        let on_cycle: Vec<usize> = (0..nodes.len()).filter(|&i| stuck[i]).collect();
        let listed: Vec<String> =
            on_cycle.iter().take(10).map(|&i| format!("'{}' ({})", names[i], nodes[i].op_type)).collect();
        let more = if on_cycle.len() > 10 { format!(" and {} more", on_cycle.len() - 10) } else { String::new() };
        let downstream = downstream_before - on_cycle.len();
        let after = if downstream > 0 { format!("; {downstream} more node(s) depend on it") } else { String::new() };
        return Err(OnnxError::Graph(format!(
            "the graph has a cycle through nodes {}{more} (each needs an output of another){after}",
            listed.join(", ")
        )));
    }
    Ok(order)
}
