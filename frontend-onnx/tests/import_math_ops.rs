//! Import of the math, comparison, reduction and padding families: the normalized IR they
//! become (ops, attributes, types).

mod common;

use common::*;
use int8xc_ir::{BinaryOp, CompareOp, MathFn, Op, PadAttrs, PadMode, ReduceKind, SliceAttrs, UnaryOp};

fn ops(g: &int8xc_ir::Graph) -> Vec<&str> {
    g.nodes.iter().map(|n| n.op.name()).collect()
}

#[test]
fn math_functions_take_onnx_defaults() {
    let cases = [
        ("Sqrt", vec![], MathFn::Sqrt),
        ("Elu", vec![], MathFn::Elu { alpha: 1.0 }),
        ("Selu", vec![a_float("gamma", 3.0)], MathFn::Selu { alpha: 1.673_263_2, gamma: 3.0 }),
        ("Gelu", vec![a_str("approximate", "tanh")], MathFn::Gelu { tanh: true }),
        ("Shrink", vec![a_float("lambd", 1.5)], MathFn::Shrink { lambd: 1.5, bias: 0.0 }),
    ];
    for (name, attrs, want) in cases {
        let m = single(22, node(name, &["x"], &["y"], attrs), &[2, 3], vec![]);
        let g = import(&m, &[]).unwrap();
        assert_eq!(only_op(&g), &Op::Unary(UnaryOp::Math(want)), "{name}");
    }
    let m = single(20, node("Gelu", &["x"], &["y"], vec![a_str("approximate", "erf")]), &[2], vec![]);
    let e = import(&m, &[]).unwrap_err().to_string();
    assert!(e.contains("node 'Gelu_0' (Gelu): approximate = 'erf'"), "{e}");
}

#[test]
fn comparisons_give_bool_and_mean_divides_the_sum() {
    let m = single(13, node("Less", &["x", "c"], &["y"], vec![]), &[2, 3], vec![tensor_f32("c", &[3], &[0.; 3])]);
    let g = import(&m, &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Compare(CompareOp::Less));
    assert_eq!(out_ty(&g, 0), "bool[2,3]");
    let m = single(13, node("Mean", &["x", "x", "x"], &["y"], vec![]), &[4], vec![]);
    let g = import(&m, &[]).unwrap();
    assert_eq!(ops(&g), ["Add", "Add", "Div"]);
    let m = single(13, node("Max", &["x"], &["y"], vec![]), &[4], vec![]);
    assert!(import(&m, &[]).unwrap().nodes.is_empty(), "one-input Max is the identity");
}

#[test]
fn pow_casts_a_mixed_exponent_and_mod_keeps_fmod() {
    let m = single(15, node("Pow", &["x", "e"], &["y"], vec![]), &[3], vec![tensor_i64("e", &[1], &[2])]);
    let g = import(&m, &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Binary(BinaryOp::Pow), "the exponent cast folds into a constant");
    let m = single(13, node("Mod", &["x", "x"], &["y"], vec![a_int("fmod", 1)]), &[3], vec![]);
    assert_eq!(only_op(&import(&m, &[]).unwrap()), &Op::Binary(BinaryOp::Mod { fmod: true }));
}

#[test]
fn reductions_resolve_axes_and_noop() {
    let r =
        |name: &str, opset, attrs, inits| single(opset, node(name, &["x", "axes"], &["y"], attrs), &[2, 3, 4], inits);
    let g =
        import(&r("ReduceSum", 13, vec![a_int("keepdims", 0)], vec![tensor_i64("axes", &[2], &[-1, 0])]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Reduce { kind: ReduceKind::Sum, axes: vec![0, 2], keepdims: false });
    assert_eq!(out_ty(&g, 0), "f32[3]");
    let m = single(11, node("ReduceMax", &["x"], &["y"], vec![]), &[2, 3], vec![]);
    let g = import(&m, &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Reduce { kind: ReduceKind::Max, axes: vec![0, 1], keepdims: true });
    let noop = vec![a_int("noop_with_empty_axes", 1)];
    let g = import(&r("ReduceSumSquare", 18, noop, vec![tensor_i64("axes", &[0], &[])]), &[]).unwrap();
    assert_eq!(only_op(&g), &Op::Reduce { kind: ReduceKind::SumSquare, axes: vec![], keepdims: true });
}

#[test]
fn layer_norm_has_three_outputs() {
    let n = node("LayerNormalization", &["x", "s", "b"], &["y", "mean", "inv"], vec![a_int("axis", 1)]);
    let inits = vec![tensor_f32("s", &[3, 4], &[1.; 12]), tensor_f32("b", &[4], &[0.; 4])];
    let m = model(17, vec![n], vec![vi("x", FLOAT, &[2, 3, 4])], &["y", "mean", "inv"], inits);
    let g = import(&m, &[]).unwrap();
    assert_eq!([out_ty(&g, 0), out_ty(&g, 1), out_ty(&g, 2)], ["f32[2,3,4]", "f32[2,1,1]", "f32[2,1,1]"]);
}

#[test]
fn pad_with_negative_pads_slices_first() {
    let n = node("Pad", &["x", "pads", "v"], &["y"], vec![a_str("mode", "constant")]);
    let inits = vec![tensor_i64("pads", &[4], &[1, -1, 0, 2]), tensor_f32("v", &[], &[2.5])];
    let g = import(&single(18, n, &[3, 4], inits), &[]).unwrap();
    assert_eq!(ops(&g), ["Slice", "Pad"]);
    assert_eq!(g.nodes[0].op, Op::Slice(SliceAttrs { axes: vec![1], starts: vec![1], ends: vec![4], steps: vec![1] }));
    let want = PadAttrs { mode: PadMode::Constant, begin: vec![1, 0], end: vec![0, 2], value: 2.5 };
    assert_eq!(g.nodes[1].op, Op::Pad(want));
    assert_eq!(out_ty(&g, 0), "f32[4,5]");
}

#[test]
fn split_tile_and_depth_to_space_use_movement_ops() {
    let n = node("Split", &["x"], &["a", "b", "c"], vec![a_int("axis", 1), a_int("num_outputs", 3)]);
    let m = model(18, vec![n], vec![vi("x", FLOAT, &[2, 7])], &["a", "b", "c"], vec![]);
    let g = import(&m, &[]).unwrap();
    assert_eq!(ops(&g), ["Slice", "Slice", "Slice"]);
    assert_eq!([out_ty(&g, 0), out_ty(&g, 1), out_ty(&g, 2)], ["f32[2,3]", "f32[2,3]", "f32[2,1]"]);
    let m = single(13, node("Tile", &["x", "r"], &["y"], vec![]), &[2, 3], vec![tensor_i64("r", &[2], &[2, 1])]);
    let g = import(&m, &[]).unwrap();
    assert_eq!(ops(&g), ["Reshape", "Expand", "Reshape"]);
    assert_eq!(out_ty(&g, 0), "f32[4,3]");
    let n = node("DepthToSpace", &["x"], &["y"], vec![a_int("blocksize", 2), a_str("mode", "CRD")]);
    let g = import(&single(13, n, &[1, 8, 2, 3], vec![]), &[]).unwrap();
    assert_eq!(out_ty(&g, 0), "f32[1,2,4,6]");
}
