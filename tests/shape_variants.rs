//! A compiled model keeps one specialized variant per distinct input-shape set, and rejects
//! inputs that contradict the model or its signature.

mod common;

use common::{compile, fixtures, relative_error};
use int8xc::{Backend, Compiler, Error, TensorData};

fn digits_mlp() -> common::Fixture {
    fixtures().into_iter().find(|f| f.name == "digits_mlp").expect("digits_mlp fixture")
}

#[test]
fn new_batch_size_compiles_a_new_variant_with_the_same_answers() {
    let f = digits_mlp();
    let model = f.model();
    let inputs = f.inputs();
    let expected = f.expected_outputs();
    let compiled = compile(&model, Backend::Jit, &inputs);
    assert_eq!(compiled.variant_count(), 1);
    // Row 0 alone, as a batch of 1: a second variant, same logits as row 0 of the batch.
    let row = TensorData::from_f32([1, 64], inputs[0].as_f32().unwrap()[..64].to_vec()).unwrap();
    let out = compiled.run(&[row]).expect("batch 1 runs");
    assert_eq!(compiled.variant_count(), 2);
    let want = TensorData::from_f32([1, 10], expected[0].as_f32().unwrap()[..10].to_vec()).unwrap();
    assert!(relative_error(&out[0], &want).unwrap() <= 1e-4);
    // The original shape reuses the first variant.
    compiled.run(&inputs).expect("batch 8 runs");
    assert_eq!(compiled.variant_count(), 2);
}

#[test]
fn wrong_dtype_is_rejected_naming_the_input() {
    let f = digits_mlp();
    let compiled = compile(&f.model(), Backend::Jit, &f.inputs());
    let bad = TensorData::from_i64([8, 64], vec![0; 8 * 64]).unwrap();
    let err = compiled.run(&[bad]).unwrap_err().to_string();
    assert!(err.contains('x') && err.contains("i64") && err.contains("f32"), "{err}");
}

#[test]
fn shape_contradicting_a_fixed_dim_is_rejected() {
    let f = digits_mlp();
    let compiled = compile(&f.model(), Backend::Interp, &f.inputs());
    let bad = TensorData::from_f32([8, 63], vec![0.0; 8 * 63]).unwrap();
    let err = compiled.run(&[bad]).unwrap_err();
    assert!(matches!(err, Error::ShapeBinding { .. }), "{err}");
    assert!(err.to_string().contains("[batch,64]"), "{err}");
}

#[test]
fn wrong_input_count_is_rejected() {
    let f = digits_mlp();
    let compiled = compile(&f.model(), Backend::Jit, &f.inputs());
    let err = compiled.run(&[]).unwrap_err().to_string();
    assert!(err.contains("1 input"), "{err}");
}

#[test]
fn unknown_input_shape_name_is_rejected() {
    let f = digits_mlp();
    let err = Compiler::new().input_shape("nope", [1, 64]).compile(&f.model()).err().expect("error");
    assert!(err.to_string().contains("nope"), "{err}");
}
