//! The hand-written prost messages read a model written by the reference `onnx` Python
//! package (`tests/data/rich.onnx`, from `tests/data/make_rich.py`) field for field, which
//! pins every field number; tensors decode from each typed field.

use int8xc_onnx::proto::tensor_shape_proto::dimension::Value as DimValue;
use int8xc_onnx::proto::*;
use int8xc_onnx::tensor_to_data;
use prost::Message;

fn rich() -> ModelProto {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rich.onnx")).unwrap();
    ModelProto::decode(&bytes[..]).unwrap()
}

#[test]
fn model_graph_and_node_fields() {
    let m = rich();
    assert_eq!(m.ir_version, Some(14));
    assert_eq!((m.producer_name.as_str(), m.producer_version.as_str(), m.domain.as_str()), ("p", "1", "d"));
    assert_eq!((m.model_version, m.doc_string.as_str()), (5, "md"));
    assert_eq!(m.metadata_props[0].key, "mk");
    assert_eq!(
        m.opset_import.iter().map(|o| (o.domain.as_str(), o.version)).collect::<Vec<_>>(),
        [("", 17), ("dom", 2)]
    );
    let g = m.graph.as_ref().unwrap();
    assert_eq!((g.name.as_str(), g.doc_string.as_str()), ("g", "gdoc"));
    assert_eq!((g.initializer.len(), g.sparse_initializer.len(), g.value_info.len()), (8, 1, 1));
    assert_eq!(g.metadata_props[0].value, "gv");
    let n = &g.node[0];
    assert_eq!(
        (n.name.as_str(), n.op_type.as_str(), n.domain.as_str(), n.overload.as_str()),
        ("n0", "Foo", "dom", "ov")
    );
    assert_eq!(
        (n.input.clone(), n.output.clone()),
        (vec!["x".into(), "".into(), "w".into()], vec!["y".into(), "z".into()])
    );
    assert_eq!((n.doc_string.as_str(), n.metadata_props[0].key.as_str()), ("nd", "a"));
}

#[test]
fn attribute_fields() {
    let m = rich();
    let n = &m.graph.as_ref().unwrap().node[0];
    let a = |name: &str| n.attribute.iter().find(|a| a.name == name).unwrap();
    assert_eq!((a("f").f, a("f").r#type), (1.5, AttributeType::Float as i32));
    assert_eq!((a("f").doc_string.as_str(), a("f").ref_attr_name.as_str()), ("adoc", "ref"));
    assert_eq!(a("i").i, -3);
    assert_eq!(a("s").s, b"str");
    assert_eq!(a("t").t.as_ref().unwrap().float_data, [1.5, 2.5]);
    assert_eq!(a("g").g.as_ref().unwrap().node[0].op_type, "Relu");
    assert_eq!(a("floats").floats, [1.0, 2.0]);
    assert_eq!(a("ints").ints, [1, -2]);
    assert_eq!(a("strings").strings, [b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(a("tensors").tensors[0].int32_data, [1, -2, 3]);
    assert_eq!(a("graphs").graphs[0].name, "sub");
    assert_eq!(a("sp").sparse_tensor.as_ref().unwrap().dims, [4]);
    assert_eq!(a("sp").r#type, AttributeType::SparseTensor as i32);
    let Some(type_proto::Value::TensorType(t)) = &a("tp").tp.as_ref().unwrap().value else { panic!() };
    assert_eq!(t.elem_type, DataType::Float as i32);
}

#[test]
fn value_info_and_shape_fields() {
    let m = rich();
    let x = &m.graph.as_ref().unwrap().input[0];
    assert_eq!((x.doc_string.as_str(), x.metadata_props[0].key.as_str()), ("xdoc", "m"));
    let ty = x.r#type.as_ref().unwrap();
    assert_eq!(ty.denotation, "TENSOR");
    let Some(type_proto::Value::TensorType(t)) = &ty.value else { panic!() };
    let dims = &t.shape.as_ref().unwrap().dim;
    assert_eq!(dims[0].value, Some(DimValue::DimParam("batch".into())));
    assert_eq!(dims[0].denotation, "DATA_BATCH");
    assert_eq!(dims[1].value, Some(DimValue::DimValue(3)));
    assert_eq!(dims[2].value, None);
}

#[test]
fn tensor_fields_and_typed_data() {
    let m = rich();
    let g = m.graph.as_ref().unwrap();
    let t = |name: &str| g.initializer.iter().find(|t| t.name == name).unwrap();
    let w = tensor_to_data(t("w"), None).unwrap();
    assert_eq!((w.shape(), w.as_f32().unwrap()), (&[2usize, 3][..], &[0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0][..]));
    assert_eq!(tensor_to_data(t("tf"), None).unwrap().as_f32(), Some(&[1.5f32, 2.5][..]));
    assert_eq!(tensor_to_data(t("ti"), None).unwrap().to_i64_vec(), Some(vec![1, -2, 3]));
    assert_eq!(tensor_to_data(t("tl"), None).unwrap().as_i64(), Some(&[7i64, -9][..]));
    assert_eq!(t("td").double_data, [3.25]);
    assert_eq!(t("tu").uint64_data, [12345678901]);
    assert_eq!(t("ts").string_data, [b"hi".to_vec()]);
    let e = t("te");
    assert_eq!(e.data_location, DataLocation::External as i32);
    assert_eq!((e.external_data[0].key.as_str(), e.external_data[0].value.as_str()), ("location", "w.bin"));
    assert_eq!(e.segment.as_ref().map(|s| (s.begin, s.end)), Some((1, 3)));
    assert_eq!((e.doc_string.as_str(), e.metadata_props[0].value.as_str()), ("doc", "v"));
    let sp = &g.sparse_initializer[0];
    assert_eq!(sp.values.as_ref().unwrap().float_data, [1.0, 2.0]);
    assert_eq!(sp.indices.as_ref().unwrap().int64_data, [0, 3]);
}

#[test]
fn four_bit_float16_and_bool_tensors_decode_from_int32_data() {
    let mk = |dt: DataType, dims: Vec<i64>, ints: Vec<i32>| TensorProto {
        name: "t".into(),
        dims,
        data_type: dt as i32,
        int32_data: ints,
        ..Default::default()
    };
    let t = tensor_to_data(&mk(DataType::Int4, vec![3], vec![0xf7, 0x08]), None).unwrap();
    assert_eq!(t.to_i64_vec(), Some(vec![7, -1, -8]));
    let t = tensor_to_data(&mk(DataType::Uint4, vec![3], vec![0xf7, 0x08]), None).unwrap();
    assert_eq!(t.to_i64_vec(), Some(vec![7, 15, 8]));
    let t = tensor_to_data(&mk(DataType::Float16, vec![2], vec![0x3c00, 0xc000]), None).unwrap();
    assert_eq!(t.to_f32_vec(), vec![1.0, -2.0]);
    let t = tensor_to_data(&mk(DataType::Bool, vec![2], vec![1, 0]), None).unwrap();
    assert_eq!(t.to_i64_vec(), Some(vec![1, 0]));
    let e = tensor_to_data(&mk(DataType::Int4, vec![3], vec![1]), None).unwrap_err().to_string();
    assert_eq!(e, "tensor 't': int32_data (two 4-bit values each) has 1 values, but dims [3] of i4 need 2");
    let raw = TensorProto { raw_data: vec![0x21, 0x03], ..mk(DataType::Uint4, vec![3], vec![]) };
    assert_eq!(tensor_to_data(&raw, None).unwrap().to_i64_vec(), Some(vec![1, 2, 3]));
}
