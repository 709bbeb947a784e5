//! Import of `Range` on `f16` (opset 27): folded to a constant computed like the ONNX
//! reference (numpy `arange` in the `stash_type` precision, then a cast to f16).

mod common;

use common::*;
use half::f16;
use int8xc_ir::Data;
use int8xc_onnx::proto::{DataType, ModelProto, TensorProto};

fn tensor_f16(name: &str, v: f32) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![],
        data_type: DataType::Float16 as i32,
        raw_data: f16::from_f32(v).to_le_bytes().to_vec(),
        ..Default::default()
    }
}

fn range_model(start: f32, limit: f32, delta: f32, attrs: Vec<int8xc_onnx::proto::AttributeProto>) -> ModelProto {
    let inits = vec![tensor_f16("start", start), tensor_f16("limit", limit), tensor_f16("delta", delta)];
    model(27, vec![node("Range", &["start", "limit", "delta"], &["r"], attrs)], vec![], &["r"], inits)
}

fn folded(m: &ModelProto) -> Vec<f16> {
    let g = import(m, &[]).unwrap();
    assert!(g.nodes.is_empty(), "Range folds to a constant");
    match &g.constant(g.outputs[0]).expect("a constant output").data() {
        Data::F16(v) => v.clone(),
        other => panic!("expected f16 data, got {other:?}"),
    }
}

#[test]
fn f16_range_counts_and_rounds_in_float_by_default() {
    assert_eq!(folded(&range_model(1.0, 5.0, 2.0, vec![])), [f16::from_f32(1.0), f16::from_f32(3.0)]);

    // delta = f16(0.1) = 0.0999755859375: 1 / delta is just above 10, so 11 elements.
    let (s, l, d) = (f16::from_f32(0.0).to_f32(), f16::from_f32(1.0).to_f32(), f16::from_f32(0.1).to_f32());
    let count = ((l - s) / d).ceil() as usize;
    assert_eq!(count, 11);
    let want: Vec<f16> = (0..count).map(|i| f16::from_f32((f64::from(s) + i as f64 * f64::from(d)) as f32)).collect();
    assert_eq!(folded(&range_model(0.0, 1.0, 0.1, vec![])), want);

    assert!(folded(&range_model(5.0, 1.0, 2.0, vec![])).is_empty(), "an empty range for a wrong-way delta");
    let down = folded(&range_model(3.0, -1.0, -1.5, vec![a_int("stash_type", 11)]));
    assert_eq!(down, [f16::from_f32(3.0), f16::from_f32(1.5), f16::from_f32(0.0)]);
}

#[test]
fn f16_range_rejects_zero_delta_and_unknown_stash_type() {
    let e = import(&range_model(0.0, 1.0, 0.0, vec![]), &[]).unwrap_err().to_string();
    assert!(e.contains("Range") && e.contains("'delta' must not be 0"), "{e}");
    let e = import(&range_model(0.0, 1.0, 0.5, vec![a_int("stash_type", 10)]), &[]).unwrap_err().to_string();
    assert!(e.contains("stash_type 10"), "{e}");
}
