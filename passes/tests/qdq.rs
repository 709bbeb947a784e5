//! `qdq-to-integer`: IR text in, IR text out (snapshots), and the same outputs before and
//! after on the reference interpreter.

use int8xc_interp::Interpreter;
use int8xc_ir::{parse_graph, print_graph, verify, Graph, PrintOptions, TensorData};
use int8xc_passes::{default_pipeline, Pass, PassContext, QdqToInteger};

fn parse(text: &str) -> Graph {
    parse_graph(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Deterministic f32 inputs in about [-2, 2].
fn inputs(g: &Graph) -> Vec<TensorData> {
    g.inputs
        .iter()
        .map(|&v| {
            let ty = g.ty(v);
            let data = (0..ty.numel()).map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.173).collect();
            TensorData::from_f32(ty.shape.clone(), data).expect("input")
        })
        .collect()
}

/// Runs the pass once; checks the result verifies, is canonical, prints and parses back,
/// and computes outputs within `tol` (absolute; one output step where rounding may differ)
/// of the original graph's. Returns whether it changed and the printed result.
fn run(text: &str, tol: f32) -> (bool, String) {
    let before = parse(text);
    let mut after = before.clone();
    let changed = QdqToInteger.run(&mut after, &PassContext { eval: &Interpreter }).unwrap_or_else(|e| panic!("{e}"));
    let printed = print_graph(&after, &PrintOptions::full());
    verify(&after).unwrap_or_else(|e| panic!("{e}\n{printed}"));
    assert!(!changed || after.is_canonical());
    assert_eq!(parse(&printed), after, "printed result does not parse back");
    let xs = inputs(&before);
    let a = Interpreter.run_graph(&before, &xs).unwrap_or_else(|e| panic!("before: {e}"));
    let b = Interpreter.run_graph(&after, &xs).unwrap_or_else(|e| panic!("after: {e}\n{printed}"));
    for (x, y) in a.iter().zip(&b) {
        for (i, (p, q)) in x.to_f32_vec().iter().zip(y.to_f32_vec()).enumerate() {
            assert!((p - q).abs() <= tol, "output element {i}: {p} before, {q} after\n{printed}");
        }
    }
    (changed, printed)
}

const CONV_RELU: &str = "graph g(%x: f32[1,2,4,4]) -> (%y) {
  %xq = QuantizeLinear(%x) {dtype=u8, scale=[0.02], zero_point=[128], axis=none, block_size=none}
  %xd = DequantizeLinear(%xq)
  %w: i8<axis=0,scale=[0.01,0.02],zero_point=[0,0]>[2,2,1,1] = const [10, -20, 30, 40]
  %wd = DequantizeLinear(%w)
  %b: i32<axis=0,scale=[0.0002,0.0004],zero_point=[0,0]>[2] = const [500, -700]
  %bd = DequantizeLinear(%b)
  %c = Conv(%xd, %wd, %bd) {kernel=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %r = Relu(%c)
  %yq = QuantizeLinear(%r) {dtype=u8, scale=[0.005], zero_point=[10], axis=none, block_size=none}
  %y = DequantizeLinear(%yq)
}";

#[test]
fn conv_with_bias_and_relu_becomes_qconv_with_clamp() {
    let (changed, out) = run(CONV_RELU, 0.0);
    assert!(changed);
    insta::assert_snapshot!(out);
}

#[test]
fn int8_activation_with_one_consumer_is_fused_with_two_it_stays_float() {
    // ORT x86: an i8 Q → DQ pair becomes u8 only when the Q has one consumer.
    let single = CONV_RELU
        .replace("dtype=u8, scale=[0.02], zero_point=[128]", "dtype=i8, scale=[0.02], zero_point=[0]")
        .replace("dtype=u8, scale=[0.005], zero_point=[10]", "dtype=i8, scale=[0.005], zero_point=[-118]");
    let (_, out) = run(&single, 0.0);
    assert!(out.contains("QConv") && !out.contains("= Conv("), "{out}");
    let shared = single.replace("-> (%y) {", "-> (%y, %x2) {").replace(
        "  %xd = DequantizeLinear(%xq)\n",
        "  %xd = DequantizeLinear(%xq)\n  %x2 = DequantizeLinear(%xq) @other\n",
    );
    let (changed, out) = run(&shared, 0.0);
    assert!(!changed && out.contains("= Conv("), "{out}");
}

#[test]
fn gemm_with_trans_b_and_int32_bias_becomes_qmatmul() {
    let text = "graph g(%x: f32[2,3]) -> (%y) {
  %xq = QuantizeLinear(%x) {dtype=u8, scale=[0.02], zero_point=[128], axis=none, block_size=none}
  %xd = DequantizeLinear(%xq)
  %w: i8<axis=0,scale=[0.01,0.02],zero_point=[0,0]>[2,3] = const [10, -20, 30, 40, 50, -60]
  %wd = DequantizeLinear(%w)
  %b: i32<axis=0,scale=[0.0002,0.0004],zero_point=[0,0]>[2] = const [500, -700]
  %bd = DequantizeLinear(%b)
  %c = Gemm(%xd, %wd, %bd) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  %yq = QuantizeLinear(%c) {dtype=u8, scale=[0.005], zero_point=[100], axis=none, block_size=none}
  %y = DequantizeLinear(%yq)
}";
    let (changed, out) = run(text, 0.0);
    assert!(changed);
    insta::assert_snapshot!(out);
}

#[test]
fn gemm_without_quantize_gets_an_f32_output() {
    let text = "graph g(%x: f32[2,3]) -> (%y) {
  %xq = QuantizeLinear(%x) {dtype=u8, scale=[0.02], zero_point=[128], axis=none, block_size=none}
  %xd = DequantizeLinear(%xq)
  %w: i8<0.01,0>[3,2] = const [10, -20, 30, 40, 50, -60]
  %wd = DequantizeLinear(%w)
  %y = Gemm(%xd, %wd) {alpha=1.0, beta=1.0, trans_a=false, trans_b=false}
}";
    let (changed, out) = run(text, 1e-6);
    assert!(changed && out.contains("mode=none"), "{out}");
}

#[test]
fn matmul_per_column_weights_becomes_qmatmul() {
    let text = "graph g(%x: f32[2,3]) -> (%y) {
  %xq = QuantizeLinear(%x) {dtype=u8, scale=[0.02], zero_point=[128], axis=none, block_size=none}
  %xd = DequantizeLinear(%xq)
  %w: i8<axis=1,scale=[0.01,0.02],zero_point=[0,0]>[3,2] = const [10, -20, 30, 40, 50, -60]
  %wd = DequantizeLinear(%w)
  %c = MatMul(%xd, %wd)
  %yq = QuantizeLinear(%c) {dtype=u8, scale=[0.005], zero_point=[100], axis=none, block_size=none}
  %y = DequantizeLinear(%yq)
}";
    let (_, out) = run(text, 0.0);
    insta::assert_snapshot!(out);
}

#[test]
fn add_of_two_dequantized_inputs_becomes_qlinear_add() {
    let text = "graph g(%x: f32[1,4]) -> (%y) {
  %aq = QuantizeLinear(%x) {dtype=u8, scale=[0.02], zero_point=[128], axis=none, block_size=none}
  %ad = DequantizeLinear(%aq)
  %bq = QuantizeLinear(%x) {dtype=u8, scale=[0.03], zero_point=[100], axis=none, block_size=none}
  %bd = DequantizeLinear(%bq)
  %s = Add(%ad, %bd)
  %yq = QuantizeLinear(%s) {dtype=u8, scale=[0.04], zero_point=[120], axis=none, block_size=none}
  %y = DequantizeLinear(%yq)
}";
    let (_, out) = run(text, 0.04);
    insta::assert_snapshot!(out);
}

#[test]
fn global_average_pool_becomes_qlinear_and_movement_ops_run_on_integers() {
    let text = "graph g(%x: f32[1,2,4,4]) -> (%y) {
  %xq = QuantizeLinear(%x) {dtype=u8, scale=[0.02], zero_point=[128], axis=none, block_size=none}
  %xd = DequantizeLinear(%xq)
  %m = MaxPool(%xd) {kernel=[2,2], strides=[2,2], pads=[0,0,0,0], dilations=[1,1], ceil_mode=false, count_include_pad=false}
  %mq = QuantizeLinear(%m) {dtype=u8, scale=[0.02], zero_point=[128], axis=none, block_size=none}
  %md = DequantizeLinear(%mq)
  %p = GlobalAveragePool(%md)
  %pq = QuantizeLinear(%p) {dtype=u8, scale=[0.01], zero_point=[128], axis=none, block_size=none}
  %pd = DequantizeLinear(%pq)
  %f = Reshape(%pd) {shape=[1,2]}
  %fq = QuantizeLinear(%f) {dtype=u8, scale=[0.01], zero_point=[128], axis=none, block_size=none}
  %y = DequantizeLinear(%fq)
}";
    let (_, out) = run(text, 0.01);
    insta::assert_snapshot!(out);
}

#[test]
fn dequantize_then_quantize_with_the_same_parameters_is_removed() {
    let text = "graph g(%x: f32[4]) -> (%y) {
  %xq = QuantizeLinear(%x) {dtype=u8, scale=[0.02], zero_point=[128], axis=none, block_size=none}
  %xd = DequantizeLinear(%xq)
  %q2 = QuantizeLinear(%xd) {dtype=u8, scale=[0.02], zero_point=[128], axis=none, block_size=none}
  %y = DequantizeLinear(%q2)
}";
    let (changed, out) = run(text, 0.0);
    assert!(changed);
    assert_eq!(out.matches("QuantizeLinear(").count(), 1, "{out}");
}

#[test]
fn concat_with_equal_parameters_becomes_an_integer_concat() {
    let text = "graph g(%x: f32[1,2]) -> (%y) {
  %aq = QuantizeLinear(%x) {dtype=u8, scale=[0.02], zero_point=[128], axis=none, block_size=none}
  %ad = DequantizeLinear(%aq)
  %bd = DequantizeLinear(%aq) @second
  %c = Concat(%ad, %bd) {axis=1}
  %yq = QuantizeLinear(%c) {dtype=u8, scale=[0.02], zero_point=[128], axis=none, block_size=none}
  %y = DequantizeLinear(%yq)
}";
    let (_, out) = run(text, 0.0);
    assert!(out.contains("= Concat(%aq, %aq)"), "{out}");
}

#[test]
fn float_bias_is_quantized_with_input_times_weight_scale() {
    let text = CONV_RELU.replace(
        "  %b: i32<axis=0,scale=[0.0002,0.0004],zero_point=[0,0]>[2] = const [500, -700]\n  %bd = DequantizeLinear(%b)\n",
        "  %bd: f32[2] = const [0.1, -0.28]\n",
    );
    let (_, out) = run(&text, 0.005);
    assert!(out.contains("[500, -700]"), "{out}");
}

#[test]
fn default_pipeline_fuses_before_folding_the_weights() {
    let mut g = parse(CONV_RELU);
    default_pipeline().run(&mut g, &PassContext { eval: &Interpreter }).unwrap();
    let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
    assert_eq!(ops, ["QuantizeLinear", "QConv", "DequantizeLinear"]);
}
