//! `QuantizeLinearDynamicParams` / `DequantizeLinearDynamicParams`: shape and type rules,
//! verifier, and the text round trip.

use int8xc_ir::{infer_types, parse_graph, print_graph, verify, DType, Op, PrintOptions, TensorType};

const TEXT: &str = "\
graph qdq(%x: f32[2,3], %s: f32[], %z: i8[], %sa: f32[3], %za: u8[3]) -> (%q, %qa, %d) {
  %q: i8[2,3] = QuantizeLinearDynamicParams(%x, %s, %z) {axis=none}
  %qa: u8[2,3] = QuantizeLinearDynamicParams(%x, %sa, %za) {axis=1}
  %d: f32[2,3] = DequantizeLinearDynamicParams(%qa, %sa, %za) {axis=1}
}
";

#[test]
fn dynamic_params_ops_print_and_parse_back() {
    let g = parse_graph(TEXT).unwrap();
    verify(&g).unwrap();
    assert_eq!(print_graph(&g, &PrintOptions::default()), TEXT);
    assert_eq!(parse_graph(&print_graph(&g, &PrintOptions::default())).unwrap(), g);
}

#[test]
fn output_types_come_from_the_zero_point_and_carry_no_parameters() {
    let x = TensorType::new(DType::F32, [4, 2]);
    let (s, z) = (TensorType::new(DType::F32, [1]), TensorType::new(DType::I16, [1]));
    let q = infer_types(&Op::QuantizeLinearDynamicParams { axis: None }, &[&x, &s, &z]).unwrap();
    assert_eq!(q, vec![TensorType::new(DType::I16, [4, 2])]);
    let (s0, z0) = (TensorType::new(DType::F32, [4]), TensorType::new(DType::I32, [4]));
    let xi = TensorType::new(DType::I32, [4, 2]);
    let d = infer_types(&Op::DequantizeLinearDynamicParams { axis: Some(0) }, &[&xi, &s0, &z0]).unwrap();
    assert_eq!(d, vec![TensorType::new(DType::F32, [4, 2])]);
}

#[test]
fn inconsistent_parameters_are_rejected() {
    let x = TensorType::new(DType::F32, [4, 2]);
    let t = |dt, shape: &[usize]| TensorType::new(dt, shape.to_vec());
    let q = |axis, s: &TensorType, z: &TensorType| {
        infer_types(&Op::QuantizeLinearDynamicParams { axis }, &[&x, s, z]).unwrap_err().to_string()
    };
    // per axis: the scale has the axis' length
    assert!(q(Some(1), &t(DType::F32, &[4]), &t(DType::U8, &[4])).contains("must have shape [2]"));
    // per tensor: one element
    assert!(q(None, &t(DType::F32, &[2]), &t(DType::U8, &[2])).contains("must have shape [] or [1]"));
    // zero point shaped as the scale, of a quantized dtype, scale f32
    assert!(q(None, &t(DType::F32, &[]), &t(DType::U8, &[1])).contains("differ in shape"));
    assert!(q(None, &t(DType::F32, &[]), &t(DType::I32, &[])).contains("zero point must be"));
    assert!(q(None, &t(DType::F16, &[]), &t(DType::U8, &[])).contains("scale must be f32"));
    assert!(q(Some(2), &t(DType::F32, &[2]), &t(DType::U8, &[2])).contains("out of range"));
    // dequantize: the zero point has x's dtype
    let xi = t(DType::U8, &[4, 2]);
    let e =
        infer_types(&Op::DequantizeLinearDynamicParams { axis: None }, &[&xi, &t(DType::F32, &[]), &t(DType::I8, &[])])
            .unwrap_err()
            .to_string();
    assert!(e.contains("must have the dtype of the input"), "{e}");
}
