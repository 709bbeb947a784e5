//! Import of the quantization ops (QDQ, QOperator, com.microsoft) and their bad-input errors.

mod common;

use common::*;
use int8xc_ir::{Op, QuantParams};
use int8xc_onnx::proto::{DataType, NodeProto, OperatorSetIdProto, TensorProto};

fn raw(name: &str, dims: &[i64], dt: DataType, bytes: Vec<u8>) -> TensorProto {
    TensorProto { name: name.into(), dims: dims.to_vec(), data_type: dt as i32, raw_data: bytes, ..Default::default() }
}
fn u8s(name: &str, dims: &[i64], v: &[u8]) -> TensorProto {
    raw(name, dims, DataType::Uint8, v.to_vec())
}
fn i8s(name: &str, dims: &[i64], v: &[i8]) -> TensorProto {
    raw(name, dims, DataType::Int8, v.iter().map(|&x| x as u8).collect())
}
fn i32s(name: &str, dims: &[i64], v: &[i32]) -> TensorProto {
    raw(name, dims, DataType::Int32, v.iter().flat_map(|x| x.to_le_bytes()).collect())
}
fn ms(mut n: NodeProto) -> NodeProto {
    n.domain = "com.microsoft".into();
    n
}
fn with_ms(mut m: int8xc_onnx::proto::ModelProto) -> int8xc_onnx::proto::ModelProto {
    m.opset_import.push(OperatorSetIdProto { domain: "com.microsoft".into(), version: 1 });
    m
}

/// `x (f32) → QuantizeLinear(s, zp u8) → xq`, then `extra` nodes; inputs `x [1,2,4,4]`.
fn quantized_model(extra: Vec<NodeProto>, out: &str, mut inits: Vec<TensorProto>) -> int8xc_onnx::proto::ModelProto {
    inits.extend([tensor_f32("xs", &[], &[0.02]), u8s("xz", &[], &[128])]);
    let mut nodes = vec![node("QuantizeLinear", &["x", "xs", "xz"], &["xq"], vec![])];
    nodes.extend(extra);
    with_ms(model(13, nodes, vec![vi("x", FLOAT, &[1, 2, 4, 4])], &[out], inits))
}

fn qlinear_conv(w: TensorProto, ws: TensorProto, wz: TensorProto) -> int8xc_onnx::proto::ModelProto {
    let n = node("QLinearConv", &["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], &["yq"], vec![]);
    let inits = vec![w, ws, wz, tensor_f32("ys", &[], &[0.05]), u8s("yz", &[], &[3]), i32s("b", &[2], &[10, -10])];
    quantized_model(vec![n], "yq", inits)
}

#[test]
fn qlinear_conv_per_channel_becomes_qconv_with_typed_weight() {
    let m = qlinear_conv(
        i8s("w", &[2, 2, 1, 1], &[1, -2, 3, 4]),
        tensor_f32("ws", &[2], &[0.1, 0.2]),
        i8s("wz", &[2], &[0, 0]),
    );
    let g = import(&m, &[]).unwrap();
    let Op::QConv(a) = &g.nodes[1].op else { panic!("{:?}", g.nodes[1].op) };
    assert_eq!((a.requant.out_scale, a.requant.out_zero_point), (0.05, 3));
    let w = g.ty(g.nodes[1].inputs[1]);
    assert_eq!(w.quant, Some(QuantParams::per_axis(0, vec![0.1, 0.2], vec![0, 0])));
    assert_eq!(out_ty(&g, 0), "u8<0.05,3>[1,2,4,4]");
}

#[test]
fn scales_that_are_not_finite_and_positive_are_rejected() {
    for bad in [0.0, -0.1, f32::NAN, f32::INFINITY] {
        let m = qlinear_conv(
            i8s("w", &[2, 2, 1, 1], &[1, -2, 3, 4]),
            tensor_f32("ws", &[2], &[0.1, bad]),
            i8s("wz", &[2], &[0, 0]),
        );
        let e = import(&m, &[]).unwrap_err().to_string();
        assert!(e.contains("(QLinearConv): input 4 (scale 'ws')") && e.contains("must be finite and > 0"), "{e}");
    }
}

#[test]
fn per_axis_lengths_must_match_the_axis() {
    let m = qlinear_conv(
        i8s("w", &[2, 2, 1, 1], &[1, -2, 3, 4]),
        tensor_f32("ws", &[3], &[0.1, 0.2, 0.3]),
        i8s("wz", &[3], &[0, 0, 0]),
    );
    let e = import(&m, &[]).unwrap_err().to_string();
    assert!(
        e.contains("per-axis scale 'ws' has shape [3], but axis 0 of the quantized input [2, 2, 1, 1] has 2"),
        "{e}"
    );
    let m = qlinear_conv(
        i8s("w", &[2, 2, 1, 1], &[1, -2, 3, 4]),
        tensor_f32("ws", &[2], &[0.1, 0.2]),
        i8s("wz", &[1], &[0]),
    );
    let e = import(&m, &[]).unwrap_err().to_string();
    assert!(e.contains("zero point shape [1] differs from scale shape [2]"), "{e}");
}

#[test]
fn zero_point_type_must_match_the_tensor() {
    // A u8 activation with an i8 zero point: ONNX requires one type, ORT rejects the model.
    let n = node("QLinearConv", &["xq", "xs", "bad_zp", "w", "ws", "wz", "ys", "yz"], &["yq"], vec![]);
    let inits = vec![
        i8s("bad_zp", &[], &[-3]),
        i8s("w", &[2, 2, 1, 1], &[1, -2, 3, 4]),
        tensor_f32("ws", &[], &[0.1]),
        i8s("wz", &[], &[0]),
        tensor_f32("ys", &[], &[0.05]),
        u8s("yz", &[], &[3]),
    ];
    let e = import(&quantized_model(vec![n], "yq", inits), &[]).unwrap_err().to_string();
    assert!(e.contains("input x 'xq' has dtype u8, but its zero point (or the default) says i8"), "{e}");
    // An int32 zero point would make QuantizeLinear produce i32, which it cannot.
    let m = single(
        13,
        node("QuantizeLinear", &["x", "s", "z"], &["y"], vec![]),
        &[2],
        vec![tensor_f32("s", &[], &[0.5]), i32s("z", &[], &[7])],
    );
    let e = import(&m, &[]).unwrap_err().to_string();
    assert!(e.contains("quantizing to i32 is not supported"), "{e}");
}

#[test]
fn signed_input_with_unsigned_weight_is_rejected_as_ort_does() {
    let n = node("QLinearConv", &["sq", "xs", "sz", "w", "ws", "wz", "ys", "yz"], &["yq"], vec![]);
    let q = node("QuantizeLinear", &["x", "xs", "sz"], &["sq"], vec![]);
    let inits = vec![
        i8s("sz", &[], &[0]),
        u8s("w", &[2, 2, 1, 1], &[1, 2, 3, 4]),
        tensor_f32("ws", &[], &[0.1]),
        u8s("wz", &[], &[0]),
        tensor_f32("ys", &[], &[0.05]),
        i8s("yz", &[], &[3]),
    ];
    let e = import(&quantized_model(vec![q, n], "yq", inits), &[]).unwrap_err().to_string();
    assert!(e.contains("(QLinearConv)") && e.contains("signed input i8 with unsigned weight u8"), "{e}");
}

#[test]
fn run_time_scale_inputs_import_as_dynamic_params() {
    // (Blocked run-time scales must still be constants: see import_quant_dynamic.rs.)
    let n = node("QuantizeLinear", &["x", "s"], &["y"], vec![]);
    let m = model(13, vec![n], vec![vi("x", FLOAT, &[2]), vi("s", FLOAT, &[])], &["y"], vec![]);
    let g = import(&m, &[]).unwrap();
    assert_eq!(g.nodes[0].op, Op::QuantizeLinearDynamicParams { axis: None });
    assert_eq!(out_ty(&g, 0), "u8[2]");
}

#[test]
fn quantize_dequantize_keep_parameters_in_types() {
    let nodes = vec![
        node("QuantizeLinear", &["x", "s", "z"], &["q"], vec![a_int("axis", 0)]),
        node("DequantizeLinear", &["q", "s", "z"], &["y"], vec![a_int("axis", 0)]),
    ];
    let inits = vec![tensor_f32("s", &[2], &[0.5, 0.25]), i8s("z", &[2], &[1, -1])];
    let g = import(&model(13, nodes, vec![vi("x", FLOAT, &[2, 3])], &["y"], inits), &[]).unwrap();
    assert_eq!(g.ty(g.nodes[0].outputs[0]).quant, Some(QuantParams::per_axis(0, vec![0.5, 0.25], vec![1, -1])));
    assert!(matches!(g.nodes[1].op, Op::DequantizeLinear));
    assert_eq!(out_ty(&g, 0), "f32[2,3]");
}

#[test]
fn com_microsoft_qlinear_add_and_qgemm_import() {
    let add = ms(node("QLinearAdd", &["xq", "xs", "xz", "xq", "xs", "xz", "ys", "yz"], &["a"], vec![]));
    let flat = node("Flatten", &["a"], &["f"], vec![]);
    let gemm = ms(node(
        "QGemm",
        &["f", "ys", "yz", "w", "ws", "wz", "", "gs", "gz"],
        &["g"],
        vec![a_int("transB", 1), a_float("alpha", 1.0)],
    ));
    let inits = vec![
        tensor_f32("ys", &[], &[0.04]),
        u8s("yz", &[], &[100]),
        i8s("w", &[3, 32], &[1; 96]),
        tensor_f32("ws", &[3], &[0.1, 0.2, 0.3]),
        i8s("wz", &[3], &[0, 0, 0]),
        tensor_f32("gs", &[], &[0.5]),
        u8s("gz", &[], &[7]),
    ];
    let g = import(&quantized_model(vec![add, flat, gemm], "g", inits), &[]).unwrap();
    let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
    assert_eq!(ops, ["QuantizeLinear", "QLinearAdd", "Reshape", "QMatMul"]);
    let w = g.ty(g.nodes[3].inputs[1]);
    assert_eq!((w.shape.as_slice(), w.quant.as_ref().and_then(|q| q.axis)), ([32, 3].as_slice(), Some(1)));
    assert_eq!(out_ty(&g, 0), "u8<0.5,7>[1,3]");
}

#[test]
fn unsupported_contrib_ops_are_listed_with_their_domain() {
    let n = ms(node("QAttention", &["x"], &["y"], vec![]));
    let m = with_ms(single(13, n, &[2], vec![]));
    let e = import(&m, &[]).unwrap_err().to_string();
    assert!(e.contains("QAttention (domain com.microsoft, opset 1)"), "{e}");
}

#[test]
fn lstm_rejects_variable_sequence_lengths_and_other_activations() {
    let inits = vec![tensor_iota("w", &[1, 8, 3]), tensor_iota("r", &[1, 8, 2]), tensor_i64("lens", &[1], &[2])];
    let n = node("LSTM", &["x", "w", "r", "", "lens"], &["y"], vec![a_int("hidden_size", 2)]);
    let e = import(&single(14, n, &[4, 1, 3], inits.clone()), &[]).unwrap_err().to_string();
    assert!(e.contains("sequence_lens [2] differ from the sequence length 4"), "{e}");
    let mut n = node("LSTM", &["x", "w", "r"], &["y"], vec![a_int("hidden_size", 2)]);
    n.attribute.push(int8xc_onnx::proto::AttributeProto {
        name: "activations".into(),
        r#type: int8xc_onnx::proto::AttributeType::Strings as i32,
        strings: vec![b"Relu".to_vec(), b"Tanh".to_vec(), b"Tanh".to_vec()],
        ..Default::default()
    });
    let e = import(&single(14, n, &[4, 1, 3], inits), &[]).unwrap_err().to_string();
    assert!(e.contains("activations [\"relu\", \"tanh\", \"tanh\"] are not supported"), "{e}");
}
