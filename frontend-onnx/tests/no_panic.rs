//! Hostile bytes never panic the decoder or importer: every prefix of a valid model, and
//! random byte mutations of it and of the real fixtures, give `Ok` or an error.

mod common;

use std::collections::HashMap;

use common::*;
use int8xc_onnx::OnnxModel;
use proptest::prelude::*;
use prost::Message;

fn small_model() -> Vec<u8> {
    let nodes = vec![
        node("Conv", &["x", "w", "b"], &["c"], vec![a_ints("pads", &[1, 1, 1, 1])]),
        node("Relu", &["c"], &["r"], vec![]),
        node("Shape", &["r"], &["s"], vec![]),
        node("Gather", &["s", "zero"], &["n"], vec![]),
        node("Unsqueeze", &["n", "ax"], &["n1"], vec![]),
        node("Concat", &["n1", "m1"], &["shape"], vec![a_int("axis", 0)]),
        node("Reshape", &["r", "shape"], &["f"], vec![]),
        node("Gemm", &["f", "fw"], &["y"], vec![a_int("transB", 1)]),
    ];
    let inits = vec![
        tensor_iota("w", &[2, 1, 3, 3]),
        tensor_iota("b", &[2]),
        tensor_i64("zero", &[], &[0]),
        tensor_i64("ax", &[1], &[0]),
        tensor_i64("m1", &[1], &[-1]),
        tensor_iota("fw", &[3, 32]),
    ];
    model(13, nodes, vec![vi("x", FLOAT, &[-1, 1, 4, 4])], &["y"], inits).encode_to_vec()
}

/// Decodes and imports; the result does not matter, only that it returns.
fn try_import(bytes: &[u8]) {
    if let Ok(model) = OnnxModel::from_bytes(bytes, None) {
        let shapes: HashMap<String, Vec<usize>> = model
            .inputs()
            .iter()
            .map(|i| {
                let dims = i.dims.iter().map(|d| if let int8xc_onnx::Dim::Fixed(f) = d { *f } else { 1 }).collect();
                (i.name.clone(), dims)
            })
            .collect();
        let _ = model.import(&shapes, &int8xc_interp::Interpreter);
    }
}

#[test]
fn small_model_imports() {
    let g = try_import_ok(&small_model());
    assert_eq!(out_ty(&g, 0), "f32[1,3]");
}

fn try_import_ok(bytes: &[u8]) -> int8xc_ir::Graph {
    let model = OnnxModel::from_bytes(bytes, None).unwrap();
    model.import(&HashMap::from([("x".to_string(), vec![1, 1, 4, 4])]), &int8xc_interp::Interpreter).unwrap()
}

#[test]
fn every_prefix_is_an_error_or_a_model() {
    let bytes = small_model();
    for len in 0..bytes.len() {
        try_import(&bytes[..len]);
    }
}

fn fixture_bytes() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");
    ["digits_cnn", "ops_shapes", "ops_resize", "mobilenet_mini"]
        .iter()
        .filter_map(|n| std::fs::read(format!("{dir}/{n}/model.onnx")).ok())
        .collect()
}

proptest! {
    #[test]
    fn mutated_small_model_never_panics(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = small_model();
        for (i, b) in edits {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        try_import(&bytes);
    }

    #[test]
    fn mutated_fixtures_never_panic(which in 0usize..4, edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let all = fixture_bytes();
        if let Some(orig) = all.get(which % all.len().max(1)) {
            let mut bytes = orig.clone();
            for (i, b) in edits {
                let at = i.index(bytes.len());
                bytes[at] = b;
            }
            try_import(&bytes);
        }
    }
}

/// One node of `op` with attribute `name` set to `ints` (or its first value), on an input of
/// shape `dims`, with two i64 initializers `k0`/`k1` as extra inputs.
fn random_node_model(op: &str, attr: &str, ints: &[i64], dims: &[i64], k: &[i64]) -> Vec<u8> {
    let attrs = if attr.is_empty() {
        vec![]
    } else if ["axis", "group", "ceil_mode", "keepdims", "to", "allowzero", "transB", "start", "end"].contains(&attr) {
        vec![a_int(attr, ints.first().copied().unwrap_or(0))]
    } else {
        vec![a_ints(attr, ints)]
    };
    let inputs: &[&str] = match op {
        "Conv" | "ConvTranspose" => &["x", "w"],
        "Reshape" | "Gather" | "Unsqueeze" | "Squeeze" | "Tile" => &["x", "k0"],
        "Slice" => &["x", "k0", "k1"],
        "Resize" => &["x", "", "", "k0"],
        "ConstantOfShape" => &["k0"],
        "Range" => &["k0", "k1", "k1"],
        "Concat" => &["x", "x"],
        _ => &["x"],
    };
    let kdims = [k.len() as i64];
    let inits = vec![tensor_i64("k0", &kdims, k), tensor_i64("k1", &kdims, k), tensor_iota("w", &[2, 2, 2, 2])];
    model(13, vec![node(op, inputs, &["y"], attrs)], vec![vi("x", FLOAT, dims)], &["y"], inits).encode_to_vec()
}

proptest! {
    #[test]
    fn random_attributes_never_panic(
        op in prop::sample::select(vec![
            "Conv", "ConvTranspose", "MaxPool", "AveragePool", "Reshape", "Gather", "Unsqueeze", "Squeeze", "Slice",
            "Resize", "ConstantOfShape", "Range", "Concat", "Transpose", "Flatten", "Softmax", "ArgMax", "ReduceMean",
            "Cast", "Shape", "Gemm", "GlobalAveragePool",
        ]),
        attr in prop::sample::select(vec![
            "", "kernel_shape", "strides", "pads", "dilations", "axis", "axes", "perm", "group", "ceil_mode",
            "keepdims", "to", "allowzero", "output_padding", "output_shape", "start", "end",
        ]),
        ints in prop::collection::vec(-3i64..6, 0..5),
        dims in prop::collection::vec(0i64..5, 0..5),
        k in prop::collection::vec(prop::sample::select(vec![-2i64, -1, 0, 1, 2, 3, i64::MAX, i64::MIN, 1 << 40]), 0..5),
    ) {
        try_import(&random_node_model(op, attr, &ints, &dims, &k));
    }
}
