//! Text attributes of `GatherElements`, `TopK` and `CumSum`, both directions (see `ops.rs`
//! for the rest).
//!
//! ```text
//! %y = GatherElements(%x, %i) {axis=1}
//! %v, %i = TopK(%x) {axis=1, k=2, largest=true, sorted=true}
//! %s = CumSum(%x) {axis=0, exclusive=false, reverse=true}
//! ```

use super::ops::Attrs;
use crate::{CumSumAttrs, IrError, Op, TopKAttrs};

/// The attributes of the ops of this module; `None` for any other op.
pub(super) fn print_index_attrs(op: &Op) -> Option<Vec<(&'static str, String)>> {
    Some(match op {
        Op::GatherElements { axis } => vec![("axis", axis.to_string())],
        Op::TopK(a) => vec![
            ("axis", a.axis.to_string()),
            ("k", a.k.to_string()),
            ("largest", a.largest.to_string()),
            ("sorted", a.sorted.to_string()),
        ],
        Op::CumSum(a) => vec![
            ("axis", a.axis.to_string()),
            ("exclusive", a.exclusive.to_string()),
            ("reverse", a.reverse.to_string()),
        ],
        _ => return None,
    })
}

/// Builds the op of this module named `name`; `None` when the name is not one of them.
pub(super) fn build_index_op(name: &str, a: &mut Attrs) -> Result<Option<Op>, IrError> {
    Ok(Some(match name {
        "GatherElements" => Op::GatherElements { axis: a.usize("axis")? },
        "TopK" => Op::TopK(TopKAttrs {
            axis: a.usize("axis")?,
            k: a.usize("k")?,
            largest: a.bool("largest")?,
            sorted: a.bool("sorted")?,
        }),
        "CumSum" => Op::CumSum(CumSumAttrs {
            axis: a.usize("axis")?,
            exclusive: a.bool("exclusive")?,
            reverse: a.bool("reverse")?,
        }),
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use crate::{parse_graph, print_graph, verify, CumSumAttrs, DType, Graph, Op, PrintOptions, TensorType, TopKAttrs};

    fn round_trip(op: Op, inputs: &[TensorType]) {
        let mut g = Graph::new("one");
        let ids = inputs.iter().enumerate().map(|(i, t)| g.add_input(format!("x{i}"), t.clone())).collect();
        g.outputs = g.add_node("y", op.clone(), ids).unwrap_or_else(|e| panic!("{e}"));
        verify(&g).unwrap();
        let text = print_graph(&g, &PrintOptions::full());
        let back = parse_graph(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, g, "{text}");
        assert!(text.contains(op.name()), "{text}");
    }

    #[test]
    fn index_ops_round_trip() {
        let x = TensorType::new(DType::F32, [3, 4]);
        let i = TensorType::new(DType::I64, [3, 2]);
        round_trip(Op::GatherElements { axis: 1 }, &[x.clone(), i]);
        round_trip(Op::TopK(TopKAttrs { axis: 1, k: 2, largest: false, sorted: true }), std::slice::from_ref(&x));
        round_trip(Op::CumSum(CumSumAttrs { axis: 0, exclusive: true, reverse: false }), &[x]);
    }
}
