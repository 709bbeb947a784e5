//! A small test-only builder for ONNX models made of the proto structs.

#![allow(dead_code)]

use std::collections::HashMap;

use int8xc_ir::Graph;
use int8xc_onnx::proto::tensor_shape_proto::{dimension, Dimension};
use int8xc_onnx::proto::*;
use int8xc_onnx::{OnnxError, OnnxModel};
use prost::Message;

pub const FLOAT: i32 = DataType::Float as i32;
pub const INT64: i32 = DataType::Int64 as i32;

/// A value info; negative dims become the symbolic dim `"N"`.
pub fn vi(name: &str, elem_type: i32, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(if d < 0 { dimension::Value::DimParam("N".into()) } else { dimension::Value::DimValue(d) }),
            denotation: String::new(),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type,
                shape: Some(TensorShapeProto { dim }),
            })),
            denotation: String::new(),
        }),
        ..Default::default()
    }
}

/// An f32 tensor stored in `raw_data`.
pub fn tensor_f32(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: FLOAT,
        raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// An f32 tensor of `0, 1, 2, ...` stored in `raw_data`.
pub fn tensor_iota(name: &str, dims: &[i64]) -> TensorProto {
    let n: i64 = dims.iter().product();
    let v: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
    tensor_f32(name, dims, &v)
}

/// An i64 tensor stored in `int64_data`.
pub fn tensor_i64(name: &str, dims: &[i64], v: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: INT64,
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

pub fn a_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i, ..Default::default() }
}
pub fn a_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Float as i32, f, ..Default::default() }
}
pub fn a_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: ints.to_vec(), ..Default::default() }
}
pub fn a_floats(name: &str, floats: &[f32]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Floats as i32,
        floats: floats.to_vec(),
        ..Default::default()
    }
}
pub fn a_str(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::String as i32,
        s: s.as_bytes().to_vec(),
        ..Default::default()
    }
}
pub fn a_tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Tensor as i32, t: Some(t), ..Default::default() }
}

/// A default-domain node.
pub fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

/// A model importing the default domain at `opset`.
pub fn model(
    opset: i64,
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: &[&str],
    initializers: Vec<TensorProto>,
) -> ModelProto {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: opset }],
        producer_name: "int8xc-tests".into(),
        graph: Some(GraphProto {
            name: "test".into(),
            node: nodes,
            input: inputs,
            output: outputs.iter().map(|o| ValueInfoProto { name: o.to_string(), ..Default::default() }).collect(),
            initializer: initializers,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Encodes `m`, decodes it back through the public API and imports it with `shapes`.
pub fn import(m: &ModelProto, shapes: &[(&str, &[usize])]) -> Result<Graph, OnnxError> {
    let bytes = m.encode_to_vec();
    let model = OnnxModel::from_bytes(&bytes, None)?;
    let shapes: HashMap<String, Vec<usize>> = shapes.iter().map(|(n, s)| (n.to_string(), s.to_vec())).collect();
    let g = model.import(&shapes, &int8xc_interp::Interpreter)?;
    if let Err(e) = int8xc_ir::verify(&g) {
        panic!("imported graph does not verify: {e}\n{g:#?}");
    }
    Ok(g)
}

/// A one-node model `y = op(x, extra initializers...)` with input `x` of shape `dims`.
pub fn single(opset: i64, op: NodeProto, x_dims: &[i64], inits: Vec<TensorProto>) -> ModelProto {
    let out = op.output[0].clone();
    model(opset, vec![op], vec![vi("x", FLOAT, x_dims)], &[&out], inits)
}

/// The op of the only node of `g`.
pub fn only_op(g: &Graph) -> &int8xc_ir::Op {
    assert_eq!(g.nodes.len(), 1, "nodes: {:#?}", g.nodes);
    &g.nodes[0].op
}

/// The type of graph output `i`, printed.
pub fn out_ty(g: &Graph, i: usize) -> String {
    g.ty(g.outputs[i]).to_string()
}
