//! Bad input gives an error that names the problem and where it is, never a panic.

mod common;

use std::collections::HashMap;

use common::*;
use int8xc_onnx::proto::{DataLocation, OperatorSetIdProto, StringStringEntryProto, TensorProto};
use int8xc_onnx::{OnnxError, OnnxModel};
use prost::Message;

fn relu_model() -> int8xc_onnx::proto::ModelProto {
    let nodes = vec![node("Conv", &["x", "w"], &["c"], vec![]), node("Relu", &["c"], &["y"], vec![])];
    model(13, nodes, vec![vi("x", FLOAT, &[1, 2, 4, 4])], &["y"], vec![tensor_iota("w", &[3, 2, 3, 3])])
}

fn decode_err(bytes: &[u8]) -> String {
    OnnxModel::from_bytes(bytes, None).unwrap_err().to_string()
}

#[test]
fn empty_file() {
    assert_eq!(decode_err(&[]), "empty input: an ONNX model file has at least a graph and an ir_version");
}

#[test]
fn truncated_protobuf_names_the_field_and_offset() {
    let bytes = relu_model().encode_to_vec();
    let e = decode_err(&bytes[..bytes.len() / 2]);
    assert!(e.starts_with("malformed ONNX protobuf: ModelProto.graph at byte offset"), "{e}");
    assert!(e.contains("(file truncated?)"), "{e}");
    assert!(e.contains("GraphProto.initializer"), "{e}");
}

#[test]
fn png_and_text_files_are_not_onnx() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10";
    assert_eq!(decode_err(png), "not an ONNX model: the file looks like a PNG image");
    let e = decode_err(b"hello, this is a text file\n");
    assert!(e.starts_with("not an ONNX model:"), "{e}");
    assert!(e.contains("text file"), "{e}");
}

#[test]
fn protobuf_without_graph_is_not_onnx() {
    // A valid OperatorSetIdProto: decodes as a ModelProto with only unknown/irrelevant fields.
    let bytes = OperatorSetIdProto { domain: "x".into(), version: 3 }.encode_to_vec();
    let e = decode_err(&bytes);
    assert!(e.starts_with("not an ONNX model:"), "{e}");
}

#[test]
fn missing_file_names_the_path() {
    let e = OnnxModel::load("/nonexistent/model.onnx".as_ref()).unwrap_err().to_string();
    assert!(e.starts_with("cannot read ONNX model '/nonexistent/model.onnx'"), "{e}");
}

#[test]
fn unsupported_ops_are_all_listed() {
    let mut custom = node("MyOp", &["x"], &["b"], vec![]);
    custom.domain = "com.example".into();
    custom.name = "mine".into();
    let nodes = vec![
        node("Relu", &["x"], &["a"], vec![]),
        node("Hardmax", &["a"], &["h"], vec![]),
        custom,
        node("Unique", &["h", "b"], &["y"], vec![]),
    ];
    let mut m = model(17, nodes, vec![vi("x", FLOAT, &[2, 2])], &["y"], vec![]);
    m.opset_import.push(OperatorSetIdProto { domain: "com.example".into(), version: 1 });
    let e = import(&m, &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unsupported ONNX ops (3):\n  node 'Hardmax_1': Hardmax (domain ai.onnx, opset 17)\n  \
         node 'mine': MyOp (domain com.example, opset 1)\n  node 'Unique_3': Unique (domain ai.onnx, opset 17)"
    );
    assert!(matches!(e, OnnxError::UnsupportedOps(v) if v.len() == 3));
}

#[test]
fn cycle_is_reported_with_its_nodes() {
    let nodes = vec![
        node("Add", &["x", "b"], &["a"], vec![]),
        node("Relu", &["a"], &["b"], vec![]),
        node("Sigmoid", &["b"], &["y"], vec![]),
    ];
    let e = import(&model(13, nodes, vec![vi("x", FLOAT, &[2])], &["y"], vec![]), &[]).unwrap_err().to_string();
    assert_eq!(
        e,
        "invalid ONNX graph: the graph has a cycle through nodes 'Add_0' (Add), 'Relu_1' (Relu) \
         (each needs an output of another); 1 more node(s) depend on it"
    );
}

#[test]
fn dangling_input_is_named() {
    let nodes = vec![node("Add", &["x", "ghost"], &["y"], vec![])];
    let e = import(&model(13, nodes, vec![vi("x", FLOAT, &[2])], &["y"], vec![]), &[]).unwrap_err().to_string();
    assert_eq!(
        e,
        "invalid ONNX graph: node 'Add_0' (Add) input 1 'ghost' is not defined by any node, initializer or graph input"
    );
}

#[test]
fn undefined_graph_output_is_named() {
    let nodes = vec![node("Relu", &["x"], &["y"], vec![])];
    let e = import(&model(13, nodes, vec![vi("x", FLOAT, &[2])], &["z"], vec![]), &[]).unwrap_err().to_string();
    assert!(e.contains("graph output 'z' is not defined"), "{e}");
}

#[test]
fn negative_and_huge_dims_are_rejected_before_allocating() {
    let mut w = tensor_iota("w", &[2]);
    w.dims = vec![-3];
    let m = single(13, node("Add", &["x", "w"], &["y"], vec![]), &[2], vec![w]);
    assert_eq!(import(&m, &[]).unwrap_err().to_string(), "tensor 'w': dims: dim 0 is negative (-3)");
    let mut w = tensor_iota("w", &[2]);
    w.dims = vec![1 << 40];
    let m = single(13, node("Add", &["x", "w"], &["y"], vec![]), &[2], vec![w]);
    assert_eq!(
        import(&m, &[]).unwrap_err().to_string(),
        "tensor 'w': dims: dim 0 is 1099511627776, above the limit 2^31"
    );
    let mut w = tensor_iota("w", &[2]);
    w.dims = vec![1 << 30, 1 << 30, 1 << 30];
    let m = single(13, node("Add", &["x", "w"], &["y"], vec![]), &[2], vec![w]);
    let e = import(&m, &[]).unwrap_err().to_string();
    assert!(e.contains("has more than 2^31 elements"), "{e}");
    // A negative declared input dim, and an absurd given shape.
    let m = single(13, node("Relu", &["x"], &["y"], vec![]), &[2], vec![]);
    let mut bad = m.clone();
    if let Some(int8xc_onnx::proto::type_proto::Value::TensorType(t)) =
        bad.graph.as_mut().unwrap().input[0].r#type.as_mut().unwrap().value.as_mut()
    {
        t.shape.as_mut().unwrap().dim[0].value =
            Some(int8xc_onnx::proto::tensor_shape_proto::dimension::Value::DimValue(-2));
    }
    let e = import(&bad, &[]).unwrap_err().to_string();
    assert_eq!(e, "graph input 'x': dim 0 is declared as invalid -2: negative or above 2^31");
    let e = import(&m, &[("x", &[1usize << 33])]).unwrap_err().to_string();
    assert_eq!(e, "graph input 'x': given dim 0 is 8589934592, above the limit 2^31");
}

#[test]
fn tensor_data_size_must_match_dims() {
    let mut w = tensor_iota("w", &[3]);
    w.dims = vec![4];
    let m = single(13, node("Add", &["x", "w"], &["y"], vec![]), &[4], vec![w]);
    assert_eq!(
        import(&m, &[]).unwrap_err().to_string(),
        "tensor 'w': raw_data has 12 bytes, but dims [4] of f32 need 16"
    );
    let mut w = tensor_i64("w", &[3], &[1, 2]);
    w.name = "idx".into();
    let m = single(13, node("Gather", &["x", "idx"], &["y"], vec![]), &[4], vec![w]);
    assert_eq!(
        import(&m, &[]).unwrap_err().to_string(),
        "tensor 'idx': int64_data has 2 values, but dims [3] of i64 need 3"
    );
}

#[test]
fn unsupported_dtypes_and_opsets_are_named() {
    let w =
        TensorProto { name: "w".into(), dims: vec![1], data_type: 11, double_data: vec![1.0], ..Default::default() };
    let m = single(13, node("Add", &["x", "w"], &["y"], vec![]), &[1], vec![w]);
    assert_eq!(import(&m, &[]).unwrap_err().to_string(), "tensor 'w': element type DOUBLE is not supported by int8xc");
    let m = single(40, node("Relu", &["x"], &["y"], vec![]), &[1], vec![]);
    assert_eq!(
        import(&m, &[]).unwrap_err().to_string(),
        "opset: default-domain opset 40 is outside the supported range 7–28"
    );
}

#[test]
fn shape_errors_name_the_node() {
    let mut n = node("MatMul", &["x", "w"], &["y"], vec![]);
    n.name = "fc".into();
    let m = single(13, n, &[2, 3], vec![tensor_iota("w", &[4, 5])]);
    let e = import(&m, &[]).unwrap_err().to_string();
    assert!(e.starts_with("node 'fc' (MatMul): "), "{e}");
}

#[test]
fn input_shape_binding_errors() {
    let m = single(13, node("Relu", &["x"], &["y"], vec![]), &[-1, 3], vec![]);
    assert_eq!(
        import(&m, &[]).unwrap_err().to_string(),
        "graph input 'x': dim 0 ('N') is symbolic and not bound; pass a shape for 'x' ([N,3])"
    );
    assert_eq!(
        import(&m, &[("x", &[2, 3, 1])]).unwrap_err().to_string(),
        "graph input 'x': given shape [2, 3, 1] has rank 3, the model declares rank 2 ([N,3])"
    );
    assert_eq!(
        import(&m, &[("x", &[2, 3]), ("z", &[1])]).unwrap_err().to_string(),
        "graph input 'z': a shape was given for a name that is not a graph input"
    );
}

/// A model whose weight `w` [3,2,3,3] lives in an external file at `location`.
fn external_model(location: &str, offset: u64, length: Option<u64>) -> Vec<u8> {
    let mut m = relu_model();
    let g = m.graph.as_mut().unwrap();
    let w = &mut g.initializer[0];
    w.raw_data.clear();
    w.data_location = DataLocation::External as i32;
    let kv = |k: &str, v: String| StringStringEntryProto { key: k.into(), value: v };
    w.external_data = vec![kv("location", location.into()), kv("offset", offset.to_string())];
    if let Some(l) = length {
        w.external_data.push(kv("length", l.to_string()));
    }
    m.encode_to_vec()
}

fn import_in(dir: &std::path::Path, bytes: &[u8]) -> Result<int8xc_ir::Graph, OnnxError> {
    std::fs::write(dir.join("model.onnx"), bytes).unwrap();
    let model = OnnxModel::load(&dir.join("model.onnx"))?;
    model.import(&HashMap::new(), &int8xc_interp::Interpreter)
}

#[test]
fn external_data_is_read_relative_to_the_model_and_checked() {
    let dir = std::env::temp_dir().join(format!("int8xc-onnx-ext-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("weights")).unwrap();
    let w = tensor_iota("w", &[3, 2, 3, 3]).raw_data;
    let mut file = vec![0u8; 16];
    file.extend_from_slice(&w);
    std::fs::write(dir.join("weights/w.bin"), &file).unwrap();

    let g = import_in(&dir, &external_model("weights/w.bin", 16, Some(w.len() as u64))).unwrap();
    let c = g.values.iter().find(|v| v.name == "w").unwrap();
    assert!(matches!(&c.def, int8xc_ir::ValueDef::Const(t) if t.to_le_bytes() == w));

    let e = import_in(&dir, &external_model("weights/missing.bin", 0, None)).unwrap_err().to_string();
    assert!(e.starts_with("tensor 'w': external data file '") && e.contains("missing.bin' cannot be opened"), "{e}");
    let e = import_in(&dir, &external_model("../w.bin", 0, None)).unwrap_err().to_string();
    assert!(e.contains("must be a relative path inside the model's directory"), "{e}");
    let e = import_in(&dir, &external_model("/etc/passwd", 0, None)).unwrap_err().to_string();
    assert!(e.contains("must be a relative path inside the model's directory"), "{e}");
    let e = import_in(&dir, &external_model("weights/w.bin", 100, None)).unwrap_err().to_string();
    assert!(e.contains("short read: external data file") && e.contains("has 232 bytes"), "{e}");
    let e = import_in(&dir, &external_model("weights/w.bin", 0, Some(8))).unwrap_err().to_string();
    assert!(e.contains("external data length 8 does not match the 216 bytes"), "{e}");

    let bytes = external_model("weights/w.bin", 16, None);
    let model = OnnxModel::from_bytes(&bytes, None).unwrap();
    let e = model.import(&HashMap::new(), &int8xc_interp::Interpreter).unwrap_err().to_string();
    assert!(e.contains("without a base directory"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
