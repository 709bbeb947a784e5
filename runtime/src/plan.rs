//! Static memory planning: every non-constant value gets a fixed offset in one arena.

use int8xc_ir::{Graph, ValueDef, ValueId};

/// Where a value lives in the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Byte offset from the arena start (a multiple of [`PlanOptions::alignment`]).
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
}

/// Options of [`MemoryPlan::new`].
#[derive(Clone, Copy, Debug)]
pub struct PlanOptions {
    /// Alignment of every slot in bytes (default 64: one cache line, any SIMD width).
    pub alignment: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions { alignment: 64 }
    }
}

/// A static memory plan: an arena size and a [`Slot`] for every graph input, node output and
/// graph output (constants have none: backends keep them separately).
///
/// Algorithm: a value is live from the node that defines it (graph inputs: from the start) to
/// its last reader (graph outputs: to the end). Values are placed greedily, largest first, at
/// the lowest offset that does not overlap any already-placed value whose live range
/// intersects — the "greedy by size" planner of TensorFlow Lite's arena planner. Two values
/// share bytes only if their live ranges are disjoint, so a node never writes over its own
/// inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    slots: Vec<Option<Slot>>,
    arena_bytes: usize,
}

impl MemoryPlan {
    /// Plans `graph`.
    pub fn new(graph: &Graph, options: PlanOptions) -> Self {
        let align = options.alignment.max(1);
        let n_nodes = graph.nodes.len();
        let end = n_nodes + 1;
        // Live range [first, last] in "steps": step 0 is before any node, node i runs at i + 1.
        let mut range: Vec<Option<(usize, usize)>> = vec![None; graph.values.len()];
        for (i, v) in graph.values.iter().enumerate() {
            range[i] = match v.def {
                ValueDef::Input(_) => Some((0, 0)),
                ValueDef::Node(n, _) => Some((n.index() + 1, n.index() + 1)),
                ValueDef::Const(_) => None,
            };
        }
        for (i, node) in graph.nodes.iter().enumerate() {
            for v in &node.inputs {
                if let Some((_, last)) = &mut range[v.index()] {
                    *last = (*last).max(i + 1);
                }
            }
        }
        for v in graph.inputs.iter().chain(&graph.outputs) {
            if let Some((_, last)) = &mut range[v.index()] {
                *last = end;
            }
        }
        let mut order: Vec<ValueId> =
            (0..graph.values.len()).filter(|&i| range[i].is_some()).map(|i| ValueId(i as u32)).collect();
        order.sort_by_key(|v| (std::cmp::Reverse(graph.ty(*v).size_bytes()), v.0));

        let mut slots: Vec<Option<Slot>> = vec![None; graph.values.len()];
        let mut placed: Vec<(usize, usize, Slot)> = Vec::new();
        let mut arena_bytes = 0;
        for v in order {
            let (first, last) = range[v.index()].expect("filtered to planned values");
            let size = graph.ty(v).size_bytes().max(1);
            let mut conflicts: Vec<Slot> =
                placed.iter().filter(|(f, l, _)| *f <= last && first <= *l).map(|(_, _, s)| *s).collect();
            conflicts.sort_by_key(|s| s.offset);
            let mut offset = 0;
            for s in conflicts {
                if offset + size <= s.offset {
                    break;
                }
                offset = offset.max((s.offset + s.size).next_multiple_of(align));
            }
            let slot = Slot { offset, size };
            arena_bytes = arena_bytes.max(offset + size);
            placed.push((first, last, slot));
            slots[v.index()] = Some(slot);
        }
        MemoryPlan { slots, arena_bytes: arena_bytes.next_multiple_of(align) }
    }

    /// The slot of `value`, or `None` for constants.
    pub fn slot(&self, value: ValueId) -> Option<Slot> {
        self.slots.get(value.index()).copied().flatten()
    }

    /// Arena size in bytes.
    pub fn arena_bytes(&self) -> usize {
        self.arena_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use int8xc_ir::{DType, Graph, TensorType};

    /// input → a → b → c (output); with chain liveness a and c may share memory.
    fn chain() -> Graph {
        let mut g = Graph::new("chain");
        let x = g.add_input("x", TensorType::new(DType::F32, [256]));
        let mut prev = x;
        for name in ["a", "b", "c"] {
            let ty = TensorType::new(DType::F32, [256]);
            prev = g.add_node_typed(name, int8xc_ir::Op::Unary(int8xc_ir::UnaryOp::Relu), vec![prev], vec![ty])[0];
        }
        g.outputs.push(prev);
        g
    }

    fn overlaps(a: Slot, b: Slot) -> bool {
        a.offset < b.offset + b.size && b.offset < a.offset + a.size
    }

    #[test]
    fn live_values_never_share_bytes() {
        let g = chain();
        let plan = MemoryPlan::new(&g, PlanOptions::default());
        let s = |i: u32| plan.slot(ValueId(i)).unwrap();
        // x is live to the end (inputs are kept), a overlaps x and b, b overlaps a and c.
        assert!(!overlaps(s(0), s(1)));
        assert!(!overlaps(s(1), s(2)));
        assert!(!overlaps(s(2), s(3)));
        assert!(!overlaps(s(0), s(3)));
        // a (dead after b) is reused by c.
        assert_eq!(s(1).offset, s(3).offset);
        assert_eq!(plan.arena_bytes(), 3 * 1024);
    }

    #[test]
    fn slots_are_aligned() {
        let mut g = Graph::new("odd");
        let x = g.add_input("x", TensorType::new(DType::U8, [3]));
        let y = g.add_node_typed(
            "y",
            int8xc_ir::Op::Unary(int8xc_ir::UnaryOp::Relu),
            vec![x],
            vec![TensorType::new(DType::U8, [5])],
        )[0];
        g.outputs.push(y);
        let plan = MemoryPlan::new(&g, PlanOptions { alignment: 16 });
        for v in [x, y] {
            assert_eq!(plan.slot(v).unwrap().offset % 16, 0);
        }
    }
}
