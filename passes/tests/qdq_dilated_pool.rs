//! `qdq-to-integer` leaves a dilated `AveragePool` in float: ONNX Runtime's
//! `QLinearAveragePool` has no dilations.

use int8xc_interp::Interpreter;
use int8xc_ir::{parse_graph, verify, Op};
use int8xc_passes::{Pass, PassContext, QdqToInteger};

fn pooled(dilations: &str) -> String {
    format!(
        "graph g(%x: f32[1,2,6,6]) -> (%y) {{
  %xq = QuantizeLinear(%x) {{dtype=u8, scale=[0.02], zero_point=[128], axis=none, block_size=none}}
  %xd = DequantizeLinear(%xq)
  %p = AveragePool(%xd) {{kernel=[2,2], strides=[1,1], pads=[0,0,0,0], dilations={dilations}, ceil_mode=false, count_include_pad=false}}
  %pq = QuantizeLinear(%p) {{dtype=u8, scale=[0.01], zero_point=[128], axis=none, block_size=none}}
  %y = DequantizeLinear(%pq)
}}"
    )
}

fn has_qlinear_pool(text: &str) -> bool {
    let mut g = parse_graph(text).unwrap_or_else(|e| panic!("{e}"));
    QdqToInteger.run(&mut g, &PassContext { eval: &Interpreter }).unwrap_or_else(|e| panic!("{e}"));
    verify(&g).unwrap_or_else(|e| panic!("{e}"));
    g.nodes.iter().any(|n| matches!(n.op, Op::QLinearAveragePool { .. }))
}

#[test]
fn only_undilated_average_pools_become_qlinear_average_pool() {
    assert!(has_qlinear_pool(&pooled("[1,1]")));
    assert!(!has_qlinear_pool(&pooled("[2,2]")));
}
