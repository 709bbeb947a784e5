//! Import of each supported op family from hand-built models: op, attributes and types.

mod common;

use common::*;
use int8xc_ir::{
    BinaryOp, ConvAttrs, CoordTransform, GemmAttrs, NearestMode, Op, PoolAttrs, ResizeMode, SliceAttrs, UnaryOp,
    ValueDef,
};

#[test]
fn conv_reads_kernel_from_weight_and_keeps_names() {
    let mut n = node("Conv", &["x", "w", "b"], &["y"], vec![a_ints("pads", &[1, 1, 1, 1]), a_ints("strides", &[2, 2])]);
    n.name = "conv1".into();
    let m = single(13, n, &[-1, 3, 8, 8], vec![tensor_iota("w", &[4, 3, 3, 3]), tensor_iota("b", &[4])]);
    let g = import(&m, &[("x", &[2, 3, 8, 8])]).unwrap();
    assert_eq!(
        only_op(&g),
        &Op::Conv(ConvAttrs { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 })
    );
    assert_eq!(g.nodes[0].name, "conv1");
    assert_eq!(g.value(g.outputs[0]).name, "y");
    assert_eq!(out_ty(&g, 0), "f32[2,4,4,4]");
}

#[test]
fn depthwise_conv_with_same_upper_and_lower_auto_pad() {
    for (mode, pads) in [("SAME_UPPER", [0, 0, 1, 1]), ("SAME_LOWER", [1, 1, 0, 0])] {
        let n = node(
            "Conv",
            &["x", "w"],
            &["y"],
            vec![a_str("auto_pad", mode), a_int("group", 4), a_ints("strides", &[2, 2])],
        );
        let m = single(11, n, &[1, 4, 8, 8], vec![tensor_iota("w", &[4, 1, 3, 3])]);
        let g = import(&m, &[]).unwrap();
        let Op::Conv(a) = only_op(&g) else { panic!() };
        assert_eq!((a.pads, a.group), (pads, 4), "{mode}");
        assert_eq!(out_ty(&g, 0), "f32[1,4,4,4]");
    }
}

#[test]
fn conv_rejects_4d_spatial_with_clear_error() {
    let n = node("Conv", &["x", "w"], &["y"], vec![]);
    let m = single(13, n, &[1, 3, 4, 4, 4, 4], vec![tensor_iota("w", &[4, 3, 3, 3, 3, 3])]);
    let e = import(&m, &[]).unwrap_err().to_string();
    assert!(e.contains("node 'Conv_0' (Conv): input X must have 1 to 3 spatial axes"), "{e}");
}

#[test]
fn conv_transpose_output_shape_resolves_pads() {
    let n = node(
        "ConvTranspose",
        &["x", "w"],
        &["y"],
        vec![a_ints("strides", &[2, 2]), a_ints("output_shape", &[8, 8]), a_int("group", 1)],
    );
    let m = single(13, n, &[1, 2, 4, 4], vec![tensor_iota("w", &[2, 3, 3, 3])]);
    let g = import(&m, &[]).unwrap();
    let Op::ConvTranspose(a) = only_op(&g) else { panic!() };
    // full = 2*3 + 0 + 2 + 1 = 9, total pad 1 → NOTSET puts the larger half first.
    assert_eq!(a.pads, [1, 1, 0, 0]);
    assert_eq!(out_ty(&g, 0), "f32[1,3,8,8]");
}

#[test]
fn pools_resolve_attributes() {
    let n = node(
        "MaxPool",
        &["x"],
        &["y"],
        vec![a_ints("kernel_shape", &[3, 3]), a_ints("strides", &[2, 2]), a_int("ceil_mode", 1)],
    );
    let g = import(&single(13, n, &[1, 1, 8, 8], vec![]), &[]).unwrap();
    assert_eq!(
        only_op(&g),
        &Op::MaxPool(PoolAttrs {
            kernel: [3, 3],
            strides: [2, 2],
            pads: [0; 4],
            dilations: [1, 1],
            ceil_mode: true,
            count_include_pad: false
        })
    );
    let n = node(
        "AveragePool",
        &["x"],
        &["y"],
        vec![a_ints("kernel_shape", &[2, 2]), a_ints("pads", &[1, 1, 1, 1]), a_int("count_include_pad", 1)],
    );
    let g = import(&single(13, n, &[1, 1, 8, 8], vec![]), &[]).unwrap();
    let Op::AveragePool(a) = only_op(&g) else { panic!() };
    assert!(a.count_include_pad);
    assert_eq!(out_ty(&g, 0), "f32[1,1,9,9]");
}

#[test]
fn maxpool_indices_output_becomes_max_pool_with_indices() {
    let n = node("MaxPool", &["x"], &["y", "idx"], vec![a_ints("kernel_shape", &[2, 2])]);
    let g = import(&single(13, n, &[1, 1, 4, 4], vec![]), &[]).unwrap();
    let Op::MaxPoolWithIndices { column_major: false, .. } = only_op(&g) else { panic!("{:?}", g.nodes) };
    assert_eq!(g.ty(g.nodes[0].outputs[1]).to_string(), "i64[1,1,3,3]");
}

#[test]
fn gemm_keeps_attributes() {
    let n = node("Gemm", &["x", "w", "b"], &["y"], vec![a_int("transB", 1), a_float("alpha", 0.5)]);
    let m = single(13, n, &[-1, 4], vec![tensor_iota("w", &[3, 4]), tensor_iota("b", &[3])]);
    let g = import(&m, &[("x", &[5, 4])]).unwrap();
    assert_eq!(only_op(&g), &Op::Gemm(GemmAttrs { alpha: 0.5, beta: 1.0, trans_a: false, trans_b: true }));
    assert_eq!(out_ty(&g, 0), "f32[5,3]");
}

#[test]
fn binary_and_unary_ops() {
    let nodes = vec![
        node("Add", &["x", "c"], &["a"], vec![]),
        node("LeakyRelu", &["a"], &["b"], vec![a_float("alpha", 0.2)]),
        node("HardSigmoid", &["b"], &["y"], vec![]),
    ];
    let m = model(17, nodes, vec![vi("x", FLOAT, &[2, 3])], &["y"], vec![tensor_iota("c", &[3])]);
    let g = import(&m, &[]).unwrap();
    let ops: Vec<&Op> = g.nodes.iter().map(|n| &n.op).collect();
    assert_eq!(
        ops,
        [
            &Op::Binary(BinaryOp::Add),
            &Op::Unary(UnaryOp::LeakyRelu { alpha: 0.2 }),
            &Op::Unary(UnaryOp::HardSigmoid { alpha: 0.2, beta: 0.5 })
        ]
    );
}

#[test]
fn clip_bounds_from_attributes_before_opset_11_and_inputs_after() {
    let n = node("Clip", &["x"], &["y"], vec![a_float("min", 0.0), a_float("max", 6.0)]);
    let g = import(&single(9, n, &[4], vec![]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Unary(UnaryOp::Clip { min: 0.0, max: 6.0 }));
    let n = node("Clip", &["x", "", "hi"], &["y"], vec![]);
    let g = import(&single(13, n, &[4], vec![tensor_f32("hi", &[], &[6.0])]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Unary(UnaryOp::Clip { min: f32::NEG_INFINITY, max: 6.0 }));
}

#[test]
fn clip_with_runtime_bound_is_an_error() {
    let n = node("Clip", &["x", "x"], &["y"], vec![]);
    let e = import(&single(13, n, &[1], vec![]), &[]).unwrap_err().to_string();
    assert!(e.contains("input 1 ('min', value 'x') must be a constant"), "{e}");
}

#[test]
fn softmax_opset_13_and_legacy_flatten_semantics() {
    let n = node("Softmax", &["x"], &["y"], vec![]);
    let g = import(&single(13, n.clone(), &[2, 3, 4], vec![]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Softmax { axis: 2 });
    // Opset 11, default axis 1 on rank 3: flatten to [2, 12], softmax, reshape back.
    let g = import(&single(11, n.clone(), &[2, 3, 4], vec![]), &[]).unwrap();
    let ops: Vec<&Op> = g.nodes.iter().map(|n| &n.op).collect();
    assert_eq!(
        ops,
        [&Op::Reshape { shape: vec![2, 12] }, &Op::Softmax { axis: 1 }, &Op::Reshape { shape: vec![2, 3, 4] }]
    );
    assert_eq!(g.value(g.outputs[0]).name, "y");
    // Axis already last: a plain softmax.
    let g = import(&single(11, n, &[2, 3], vec![]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Softmax { axis: 1 });
}

#[test]
fn reduce_mean_axes_attribute_and_input_forms() {
    let n = node("ReduceMean", &["x"], &["y"], vec![a_ints("axes", &[-1, 1]), a_int("keepdims", 0)]);
    let g = import(&single(13, n, &[2, 3, 4], vec![]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::ReduceMean { axes: vec![1, 2], keepdims: false });
    let n = node("ReduceMean", &["x", "axes"], &["y"], vec![]);
    let g = import(&single(18, n, &[2, 3, 4], vec![tensor_i64("axes", &[1], &[0])]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::ReduceMean { axes: vec![0], keepdims: true });
    let n = node("ReduceMean", &["x"], &["y"], vec![a_int("noop_with_empty_axes", 1)]);
    let g = import(&single(18, n, &[2, 3], vec![]), &[]).unwrap();
    assert!(g.nodes.is_empty());
    assert_eq!(g.outputs, g.inputs);
    assert!(matches!(g.value(g.outputs[0]).def, ValueDef::Input(0)));
}

#[test]
fn argmax_and_batchnorm() {
    let n = node("ArgMax", &["x"], &["y"], vec![a_int("axis", -1), a_int("keepdims", 0)]);
    let g = import(&single(13, n, &[2, 5], vec![]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::ArgMax { axis: 1, keepdims: false, select_last_index: false });
    assert_eq!(out_ty(&g, 0), "i64[2]");
    let inits = ["s", "b", "m", "v"].iter().map(|n| tensor_iota(n, &[3])).collect();
    let n = node("BatchNormalization", &["x", "s", "b", "m", "v"], &["y"], vec![a_float("epsilon", 1e-3)]);
    let g = import(&single(15, n, &[1, 3, 2, 2], inits), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::BatchNormalization { epsilon: 1e-3 });
}

#[test]
fn batchnorm_training_outputs_before_opset_14_are_rejected() {
    // Opset 14+ training mode is decomposed (tests/import_batchnorm_training.rs); the opset 9
    // training-statistics outputs are not.
    let inits = ["s", "b", "m", "v"].iter().map(|n| tensor_iota(n, &[3])).collect();
    let n = node("BatchNormalization", &["x", "s", "b", "m", "v"], &["y", "rm", "rv"], vec![]);
    let e = import(&single(9, n, &[1, 3, 2, 2], inits), &[]).unwrap_err().to_string();
    assert!(e.contains("(BatchNormalization): output 1 (training statistics)"), "{e}");
}

#[test]
fn flatten_squeeze_unsqueeze_become_reshape() {
    let nodes = vec![
        node("Unsqueeze", &["x", "ax"], &["a"], vec![]),
        node("Squeeze", &["a"], &["b"], vec![]),
        node("Flatten", &["b"], &["y"], vec![a_int("axis", 2)]),
    ];
    let m = model(13, nodes, vec![vi("x", FLOAT, &[2, 3, 4])], &["y"], vec![tensor_i64("ax", &[2], &[0, -1])]);
    let g = import(&m, &[]).unwrap();
    let ops: Vec<&Op> = g.nodes.iter().map(|n| &n.op).collect();
    assert_eq!(
        ops,
        [
            &Op::Reshape { shape: vec![1, 2, 3, 4, 1] },
            &Op::Reshape { shape: vec![2, 3, 4] },
            &Op::Reshape { shape: vec![6, 4] }
        ]
    );
}

#[test]
fn shape_chain_folds_into_a_static_reshape() {
    // y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1]))  — the torch.flatten export.
    let nodes = vec![
        node("Shape", &["x"], &["s"], vec![]),
        node("Gather", &["s", "zero"], &["n"], vec![a_int("axis", 0)]),
        node("Unsqueeze", &["n", "ax0"], &["n1"], vec![]),
        node("Concat", &["n1", "minus1"], &["shape"], vec![a_int("axis", 0)]),
        node("Reshape", &["x", "shape"], &["y"], vec![]),
    ];
    let inits = vec![tensor_i64("zero", &[], &[0]), tensor_i64("ax0", &[1], &[0]), tensor_i64("minus1", &[1], &[-1])];
    let m = model(13, nodes, vec![vi("x", FLOAT, &[-1, 2, 3])], &["y"], inits);
    let g = import(&m, &[("x", &[4, 2, 3])]).unwrap();
    assert_eq!(only_op(&g), &Op::Reshape { shape: vec![4, 6] });
    // The folded shape constants were only read by Reshape's attribute: pruned.
    let names: Vec<&str> = g.values.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["x", "y"]);
}

#[test]
fn reshape_zero_and_minus_one() {
    let n = node("Reshape", &["x", "s"], &["y"], vec![]);
    let g = import(&single(14, n.clone(), &[2, 3, 4], vec![tensor_i64("s", &[2], &[0, -1])]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Reshape { shape: vec![2, 12] });
    let e = import(&single(14, n, &[2, 3, 4], vec![tensor_i64("s", &[2], &[5, -1])]), &[]).unwrap_err().to_string();
    assert!(e.contains("(Reshape): cannot reshape [2, 3, 4] (24 elements) to [5, -1]"), "{e}");
}

#[test]
fn transpose_default_perm_reverses() {
    let n = node("Transpose", &["x"], &["y"], vec![]);
    let g = import(&single(13, n, &[2, 3, 4], vec![]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Transpose { perm: vec![2, 1, 0] });
    assert_eq!(out_ty(&g, 0), "f32[4,3,2]");
}

#[test]
fn slice_clamps_per_spec() {
    let n = node("Slice", &["x", "st", "en", "ax", "sp"], &["y"], vec![]);
    let inits = vec![
        tensor_i64("st", &[2], &[-100, -1]),
        tensor_i64("en", &[2], &[i64::MAX, i64::MIN]),
        tensor_i64("ax", &[2], &[0, 1]),
        tensor_i64("sp", &[2], &[2, -1]),
    ];
    let g = import(&single(13, n, &[5, 4], inits), &[]).unwrap();
    assert_eq!(
        only_op(&g),
        &Op::Slice(SliceAttrs { axes: vec![0, 1], starts: vec![0, 3], ends: vec![5, -1], steps: vec![2, -1] })
    );
    assert_eq!(out_ty(&g, 0), "f32[3,4]");
}

#[test]
fn cast_and_constant_ops() {
    let nodes = vec![
        node("Constant", &[], &["c"], vec![a_floats("value_floats", &[1.0, 2.0])]),
        node("Add", &["x", "c"], &["a"], vec![]),
        node("Cast", &["a"], &["y"], vec![a_int("to", 7)]),
    ];
    let m = model(13, nodes, vec![vi("x", FLOAT, &[2])], &["y"], vec![]);
    let g = import(&m, &[]).unwrap();
    assert_eq!(g.nodes[1].op, Op::Cast { to: int8xc_ir::DType::I64 });
    assert_eq!(out_ty(&g, 0), "i64[2]");
}

#[test]
fn identity_and_dropout_pass_through() {
    let nodes = vec![
        node("Relu", &["x"], &["r"], vec![]),
        node("Dropout", &["r"], &["d"], vec![]),
        node("Identity", &["d"], &["y"], vec![]),
    ];
    let g = import(&model(13, nodes, vec![vi("x", FLOAT, &[2])], &["y"], vec![]), &[]).unwrap();
    assert_eq!(g.nodes.len(), 1);
    assert_eq!(g.value(g.outputs[0]).name, "y");
    let nodes = vec![node("Dropout", &["x"], &["y", "mask"], vec![])];
    let g = import(&model(13, nodes, vec![vi("x", FLOAT, &[2])], &["y", "mask"], vec![]), &[]).unwrap();
    assert!(g.constant(g.outputs[1]).is_some(), "the inference mask is a constant");
}

#[test]
fn resize_scales_and_sizes() {
    let n = node(
        "Resize",
        &["x", "", "sc"],
        &["y"],
        vec![
            a_str("mode", "nearest"),
            a_str("coordinate_transformation_mode", "asymmetric"),
            a_str("nearest_mode", "floor"),
        ],
    );
    let g = import(&single(13, n, &[1, 2, 3, 3], vec![tensor_f32("sc", &[4], &[1.0, 1.0, 2.0, 2.0])]), &[]).unwrap();
    let Op::Resize(a) = only_op(&g) else { panic!() };
    assert_eq!((a.mode, a.coord, a.nearest), (ResizeMode::Nearest, CoordTransform::Asymmetric, NearestMode::Floor));
    assert_eq!(a.sizes, vec![1, 2, 6, 6]);
    let n = node("Resize", &["x", "", "", "sz"], &["y"], vec![a_str("mode", "linear")]);
    let g = import(&single(13, n, &[1, 2, 3, 3], vec![tensor_i64("sz", &[4], &[1, 2, 7, 5])]), &[]).unwrap();
    let Op::Resize(a) = only_op(&g) else { panic!() };
    assert_eq!((a.mode, a.coord), (ResizeMode::Linear, CoordTransform::HalfPixel));
    assert_eq!(a.sizes, vec![1, 2, 7, 5]);
    assert_eq!(out_ty(&g, 0), "f32[1,2,7,5]");
}

#[test]
fn resize_cubic_and_tf_crop_import_their_filter_attributes() {
    let n = node(
        "Resize",
        &["x", "", "sc"],
        &["y"],
        vec![
            a_str("mode", "cubic"),
            a_float("cubic_coeff_a", -0.5),
            a_int("exclude_outside", 1),
            a_int("antialias", 1),
        ],
    );
    let g = import(&single(19, n, &[1, 1, 4, 4], vec![tensor_f32("sc", &[4], &[1.0, 1.0, 0.5, 0.5])]), &[]).unwrap();
    let Op::Resize(a) = only_op(&g) else { panic!() };
    assert_eq!((a.mode, a.cubic_coeff_a, a.exclude_outside, a.antialias), (ResizeMode::Cubic, -0.5, true, true));
    assert!(a.roi.is_empty());
    // The roi of axes [3, 2] spreads over all four axes: [starts…, ends…].
    let n = node(
        "Resize",
        &["x", "roi", "", "sz"],
        &["y"],
        vec![
            a_str("mode", "linear"),
            a_str("coordinate_transformation_mode", "tf_crop_and_resize"),
            a_ints("axes", &[3, 2]),
            a_float("extrapolation_value", 10.0),
        ],
    );
    let inits = vec![tensor_f32("roi", &[4], &[0.6, 0.4, 0.8, 0.6]), tensor_i64("sz", &[2], &[3, 3])];
    let g = import(&single(19, n, &[1, 1, 4, 4], inits), &[]).unwrap();
    let Op::Resize(a) = only_op(&g) else { panic!() };
    assert_eq!((a.coord, a.extrapolation_value), (CoordTransform::TfCropAndResize, 10.0));
    assert_eq!(a.roi, vec![0.0, 0.0, 0.4, 0.6, 1.0, 1.0, 0.6, 0.8]);
    let n =
        node("Resize", &["x", "", "sc"], &["y"], vec![a_str("coordinate_transformation_mode", "tf_crop_and_resize")]);
    let e = import(&single(19, n, &[1, 1, 2, 2], vec![tensor_f32("sc", &[4], &[1.0, 1.0, 2.0, 2.0])]), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("(Resize): coordinate_transformation_mode 'tf_crop_and_resize' needs a constant 'roi'"), "{e}");
    let n = node("Resize", &["x", "", "sc"], &["y"], vec![a_int("antialias", 1)]);
    let e = import(&single(19, n, &[1, 1, 2, 2], vec![tensor_f32("sc", &[4], &[1.0, 1.0, 0.5, 0.5])]), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("antialias = 1 is not defined for mode 'nearest'"), "{e}");
}

#[test]
fn upsample_opset_9_is_asymmetric_nearest() {
    let n = node("Upsample", &["x", "sc"], &["y"], vec![]);
    let g = import(&single(9, n, &[1, 1, 2, 2], vec![tensor_f32("sc", &[4], &[1.0, 1.0, 2.0, 3.0])]), &[]).unwrap();
    let Op::Resize(a) = only_op(&g) else { panic!() };
    assert_eq!((a.coord, a.nearest), (CoordTransform::Asymmetric, NearestMode::Floor));
    assert_eq!(out_ty(&g, 0), "f32[1,1,4,6]");
}

#[test]
fn constant_of_shape_and_range_become_constants() {
    let nodes = vec![
        node("ConstantOfShape", &["s"], &["z"], vec![a_tensor("value", tensor_i64("", &[1], &[7]))]),
        node("Range", &["a", "b", "d"], &["r"], vec![]),
    ];
    let inits = vec![
        tensor_i64("s", &[2], &[2, 3]),
        tensor_i64("a", &[], &[10]),
        tensor_i64("b", &[], &[0]),
        tensor_i64("d", &[], &[-3]),
    ];
    let g = import(&model(13, nodes, vec![], &["z", "r"], inits), &[]).unwrap();
    assert_eq!(g.constant(g.outputs[0]).unwrap().as_i64(), Some(&[7i64; 6][..]));
    assert_eq!(g.constant(g.outputs[1]).unwrap().as_i64(), Some(&[10i64, 7, 4, 1][..]));
}

#[test]
fn nodes_out_of_order_are_sorted_and_unnamed_nodes_get_names() {
    let nodes = vec![node("Relu", &["a"], &["y"], vec![]), node("Sigmoid", &["x"], &["a"], vec![])];
    let g = import(&model(13, nodes, vec![vi("x", FLOAT, &[2])], &["y"], vec![]), &[]).unwrap();
    let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["Sigmoid_1", "Relu_0"]);
}

#[test]
fn initializers_listed_as_inputs_are_constants() {
    let n = node("Add", &["x", "c"], &["y"], vec![]);
    let mut m = single(11, n, &[3], vec![tensor_iota("c", &[3])]);
    m.graph.as_mut().unwrap().input.push(vi("c", FLOAT, &[3]));
    let om = int8xc_onnx::OnnxModel::from_proto(m.clone(), None);
    assert_eq!(om.inputs().len(), 1);
    let g = import(&m, &[]).unwrap();
    assert_eq!(g.inputs.len(), 1);
}

#[test]
fn legacy_attribute_forms_of_slice_squeeze_and_resize() {
    let n = node("Slice", &["x"], &["y"], vec![a_ints("starts", &[1]), a_ints("ends", &[-1]), a_ints("axes", &[1])]);
    let g = import(&single(9, n, &[2, 5], vec![]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Slice(SliceAttrs { axes: vec![1], starts: vec![1], ends: vec![4], steps: vec![1] }));
    let n = node("Squeeze", &["x"], &["y"], vec![a_ints("axes", &[0])]);
    let g = import(&single(11, n, &[1, 3, 1], vec![]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Reshape { shape: vec![3, 1] });
    let n = node("Resize", &["x", "sc"], &["y"], vec![]);
    let g = import(&single(10, n, &[1, 1, 2, 2], vec![tensor_f32("sc", &[4], &[1.0, 1.0, 2.0, 2.0])]), &[]).unwrap();
    let Op::Resize(a) = only_op(&g) else { panic!() };
    assert_eq!(
        (a.coord, a.nearest, a.sizes.clone()),
        (CoordTransform::Asymmetric, NearestMode::Floor, vec![1, 1, 4, 4])
    );
}

#[test]
fn resize_opset_18_axes_and_aspect_ratio_policy() {
    let n = node(
        "Resize",
        &["x", "", "", "sz"],
        &["y"],
        vec![a_ints("axes", &[2, 3]), a_str("keep_aspect_ratio_policy", "not_larger")],
    );
    let g = import(&single(18, n, &[1, 1, 4, 8], vec![tensor_i64("sz", &[2], &[6, 6])]), &[]).unwrap();
    let Op::Resize(a) = only_op(&g) else { panic!() };
    // scale = min(6/4, 6/8) = 0.75 → [3, 6]
    assert_eq!(a.sizes, vec![1, 1, 3, 6]);
    assert_eq!(a.scales, vec![1.0, 1.0, 0.75, 0.75]);
}

#[test]
fn shape_start_end_window_and_gather_on_constants_fold() {
    let nodes = vec![
        node("Shape", &["x"], &["s"], vec![a_int("start", 1), a_int("end", -1)]),
        node("Gather", &["s", "i"], &["y"], vec![]),
    ];
    let m = model(15, nodes, vec![vi("x", FLOAT, &[2, 3, 4, 5])], &["y"], vec![tensor_i64("i", &[1], &[-1])]);
    let g = import(&m, &[]).unwrap();
    assert!(g.nodes.is_empty());
    assert_eq!(g.constant(g.outputs[0]).unwrap().as_i64(), Some(&[4i64][..]));
}

#[test]
fn maxpool_same_upper_and_conv_kernel_mismatch() {
    let n = node("MaxPool", &["x"], &["y"], vec![a_ints("kernel_shape", &[2, 2]), a_str("auto_pad", "SAME_UPPER")]);
    let g = import(&single(13, n, &[1, 1, 5, 5], vec![]), &[]).unwrap();
    let Op::MaxPool(a) = only_op(&g) else { panic!() };
    assert_eq!(a.pads, [0, 0, 1, 1]);
    assert_eq!(out_ty(&g, 0), "f32[1,1,5,5]");
    let n = node("Conv", &["x", "w"], &["y"], vec![a_ints("kernel_shape", &[5, 5])]);
    let e = import(&single(13, n, &[1, 1, 8, 8], vec![tensor_iota("w", &[1, 1, 3, 3])]), &[]).unwrap_err().to_string();
    assert_eq!(
        e,
        "node 'Conv_0' (Conv): attribute 'kernel_shape' [5, 5] does not match the weight's spatial dims [3, 3]"
    );
}

#[test]
fn reshape_with_runtime_shape_names_the_input() {
    let nodes = vec![node("Cast", &["x"], &["s"], vec![a_int("to", 7)]), node("Reshape", &["x", "s"], &["y"], vec![])];
    let e = import(&model(13, nodes, vec![vi("x", FLOAT, &[2])], &["y"], vec![]), &[]).unwrap_err().to_string();
    assert_eq!(e, "node 'Reshape_1' (Reshape): input 1 ('shape', value 's') must be a constant known at import time");
}

#[test]
fn attribute_of_the_wrong_type_is_named() {
    let n = node("Gemm", &["x", "w"], &["y"], vec![a_float("transB", 1.0)]);
    let e = import(&single(13, n, &[2, 2], vec![tensor_iota("w", &[2, 2])]), &[]).unwrap_err().to_string();
    assert_eq!(e, "node 'Gemm_0' (Gemm): attribute 'transB' has type FLOAT, expected INT");
}

#[test]
fn constant_tensor_value_and_newer_opsets() {
    let nodes = vec![
        node("Constant", &[], &["c"], vec![a_tensor("value", tensor_f32("", &[2], &[1.0, -1.0]))]),
        node("Mul", &["x", "c"], &["y"], vec![]),
    ];
    let g = import(&model(28, nodes, vec![vi("x", FLOAT, &[2])], &["y"], vec![]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Binary(BinaryOp::Mul));
    assert_eq!(g.constant(g.nodes[0].inputs[1]).unwrap().as_f32(), Some(&[1.0f32, -1.0][..]));
}
