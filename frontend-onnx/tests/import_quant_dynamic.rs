//! `QuantizeLinear` / `DequantizeLinear` whose scale or zero point is computed at run time
//! import as the `*DynamicParams` ops; constant ones keep the static ops.

mod common;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{DType, Op, TensorData};
use int8xc_onnx::proto::DataType;

const UINT8: i32 = DataType::Uint8 as i32;
const INT8: i32 = DataType::Int8 as i32;

#[test]
fn run_time_scale_and_zero_point_give_dynamic_params_ops() {
    let nodes = vec![
        node("QuantizeLinear", &["x", "s", "z"], &["q"], vec![]),
        node("DequantizeLinear", &["q", "s", "z"], &["y"], vec![]),
    ];
    let inputs = vec![vi("x", FLOAT, &[2, 3]), vi("s", FLOAT, &[]), vi("z", INT8, &[])];
    let g = import(&model(13, nodes, inputs, &["q", "y"], vec![]), &[]).unwrap();
    assert_eq!(g.nodes[0].op, Op::QuantizeLinearDynamicParams { axis: None });
    assert_eq!(g.nodes[1].op, Op::DequantizeLinearDynamicParams { axis: None });
    assert_eq!((out_ty(&g, 0), out_ty(&g, 1)), ("i8[2,3]".to_string(), "f32[2,3]".to_string()));

    let x = TensorData::from_f32([2, 3], vec![-1.0, 0.25, 0.75, 1.25, 100.0, f32::NAN]).unwrap();
    let s = TensorData::scalar_f32(0.5);
    let z = TensorData::new(Vec::<usize>::new(), int8xc_ir::Data::I8(vec![3])).unwrap();
    let out = Interpreter.run_graph(&g, &[x, s, z]).unwrap();
    assert_eq!(out[0].to_i64_vec().unwrap(), vec![1, 3, 5, 5, 127, -128]);
    assert_eq!(out[1].as_f32().unwrap(), &[-1.0, 0.0, 1.0, 1.0, 62.0, -65.5]);
}

#[test]
fn absent_zero_point_becomes_zeros_of_the_default_dtype() {
    let q = node("QuantizeLinear", &["x", "s"], &["q"], vec![a_int("output_dtype", INT8 as i64)]);
    let g = import(&model(21, vec![q], vec![vi("x", FLOAT, &[4]), vi("s", FLOAT, &[1])], &["q"], vec![]), &[]).unwrap();
    assert_eq!(g.nodes[0].op, Op::QuantizeLinearDynamicParams { axis: None });
    let zp = g.constant(g.nodes[0].inputs[2]).unwrap();
    assert_eq!((zp.dtype(), zp.shape(), zp.to_i64_vec().unwrap()), (DType::I8, &[1usize][..], vec![0]));

    let d = node("DequantizeLinear", &["xq", "s"], &["y"], vec![]);
    let g = import(&model(13, vec![d], vec![vi("xq", UINT8, &[4]), vi("s", FLOAT, &[])], &["y"], vec![]), &[]).unwrap();
    assert_eq!(g.nodes[0].op, Op::DequantizeLinearDynamicParams { axis: None });
    assert_eq!(g.constant(g.nodes[0].inputs[2]).unwrap().dtype(), DType::U8);
}

#[test]
fn per_axis_run_time_scale_keeps_its_axis_and_is_checked() {
    let q = node("QuantizeLinear", &["x", "s", "z"], &["q"], vec![a_int("axis", -1)]);
    let inputs = vec![vi("x", FLOAT, &[2, 3]), vi("s", FLOAT, &[3])];
    let g = import(&model(13, vec![q.clone()], inputs, &["q"], vec![tensor_u8("z", &[3], &[0, 1, 2])]), &[]).unwrap();
    assert_eq!(g.nodes[0].op, Op::QuantizeLinearDynamicParams { axis: Some(1) });
    assert_eq!(out_ty(&g, 0), "u8[2,3]");

    let inputs = vec![vi("x", FLOAT, &[2, 3]), vi("s", FLOAT, &[2])];
    let e =
        import(&model(13, vec![q], inputs, &["q"], vec![tensor_u8("z", &[2], &[0, 1])]), &[]).unwrap_err().to_string();
    assert!(e.contains("(QuantizeLinear): per-axis scale has shape [2], but axis 1"), "{e}");
}

#[test]
fn constant_parameters_keep_the_static_ops() {
    let nodes = vec![
        node("QuantizeLinear", &["x", "s", "z"], &["q"], vec![]),
        node("DequantizeLinear", &["q", "s", "z"], &["y"], vec![]),
    ];
    let inits = vec![tensor_f32("s", &[], &[0.5]), tensor_u8("z", &[], &[7])];
    let g = import(&model(13, nodes, vec![vi("x", FLOAT, &[2])], &["y"], inits), &[]).unwrap();
    assert!(matches!(g.nodes[0].op, Op::QuantizeLinear { .. }));
    assert!(matches!(g.nodes[1].op, Op::DequantizeLinear));
}

#[test]
fn blocked_run_time_scales_must_still_be_constants() {
    let q = node("QuantizeLinear", &["x", "s"], &["q"], vec![a_int("axis", 1), a_int("block_size", 2)]);
    let inputs = vec![vi("x", FLOAT, &[2, 4]), vi("s", FLOAT, &[2, 2])];
    let e = import(&model(21, vec![q], inputs, &["q"], vec![]), &[]).unwrap_err().to_string();
    assert!(e.contains("input 1 ('scale', value 's') must be a constant known at import time"), "{e}");
}

/// ONNX's `DynamicQuantizeLinear` function body (the `test_dynamicquantizelinear_expanded`
/// node test): the parameters come from `ReduceMin`/`ReduceMax` of `x`, and the result equals
/// the `DynamicQuantizeLinear` op's.
#[test]
fn dynamic_quantize_linear_expansion_matches_the_op() {
    let nodes = vec![
        node("ReduceMin", &["x"], &["xmin"], vec![a_int("keepdims", 0)]),
        node("Min", &["xmin", "zero"], &["lo"], vec![]),
        node("ReduceMax", &["x"], &["xmax"], vec![a_int("keepdims", 0)]),
        node("Max", &["xmax", "zero"], &["hi"], vec![]),
        node("Sub", &["hi", "lo"], &["range"], vec![]),
        node("Div", &["range", "qmax"], &["scale"], vec![]),
        node("Div", &["lo", "scale"], &["lo_scaled"], vec![]),
        node("Sub", &["zero", "lo_scaled"], &["zp_initial"], vec![]),
        node("Clip", &["zp_initial", "zero", "qmax"], &["zp_clipped"], vec![]),
        node("Round", &["zp_clipped"], &["zp_rounded"], vec![]),
        node("Cast", &["zp_rounded"], &["zp"], vec![a_int("to", UINT8 as i64)]),
        node("QuantizeLinear", &["x", "scale", "zp"], &["y"], vec![]),
    ];
    let inits = vec![tensor_f32("zero", &[], &[0.0]), tensor_f32("qmax", &[], &[255.0])];
    let g = import(&model(11, nodes, vec![vi("x", FLOAT, &[6])], &["y", "scale", "zp"], inits), &[]).unwrap();
    let x = TensorData::from_f32([6], vec![0.0, 2.0, -3.0, -2.5, 1.34, 0.5]).unwrap();
    let got = Interpreter.run_graph(&g, std::slice::from_ref(&x)).unwrap();
    let want = Interpreter.eval_op(&Op::DynamicQuantizeLinear, &[&x], &[]).unwrap();
    assert_eq!(got, want);
}

fn tensor_u8(name: &str, dims: &[i64], v: &[u8]) -> int8xc_onnx::proto::TensorProto {
    int8xc_onnx::proto::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: UINT8,
        raw_data: v.to_vec(),
        ..Default::default()
    }
}
