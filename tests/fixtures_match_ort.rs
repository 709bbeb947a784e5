//! Interpreter and JIT agree with ONNX Runtime on every fixture model (float: normwise
//! relative error ≤ 1e-4), and on the digits test set their top-1 predictions equal ORT's.

mod common;

use common::{argmax_rows, compile, fixtures, read_npy, relative_error};
use int8xc::{Backend, TensorData};

const TOLERANCE: f64 = 1e-4;

fn check_all(backend: Backend) {
    let mut failures = Vec::new();
    let all = fixtures();
    assert!(all.len() >= 6, "expected the fixture models, found {}", all.len());
    for f in &all {
        let model = f.model();
        let inputs = f.inputs();
        let compiled = match std::panic::catch_unwind(|| compile(&model, backend, &inputs)) {
            Ok(c) => c,
            Err(_) => {
                failures.push(format!("{}: compile failed", f.name));
                continue;
            }
        };
        let outputs = match compiled.run(&inputs) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{}: run failed: {e}", f.name));
                continue;
            }
        };
        for (i, (got, want)) in outputs.iter().zip(f.expected_outputs()).enumerate() {
            match relative_error(got, &want) {
                Ok(err) if err <= TOLERANCE => {}
                Ok(err) => failures.push(format!("{} output {i}: relative error {err:e} > {TOLERANCE:e}", f.name)),
                Err(msg) => failures.push(format!("{} output {i}: {msg}", f.name)),
            }
        }
    }
    assert!(failures.is_empty(), "{} backend:\n{}", backend.name(), failures.join("\n"));
}

#[test]
fn interpreter_matches_onnx_runtime_on_every_fixture() {
    check_all(Backend::Interp);
}

#[test]
fn jit_matches_onnx_runtime_on_every_fixture() {
    check_all(Backend::Jit);
}

fn digits_accuracy(backend: Backend) {
    let dir = common::fixtures_dir().join("digits");
    let x = read_npy(&dir.join("test_x.npy"));
    let labels = read_npy(&dir.join("test_y.npy")).to_i64_vec().expect("i64 labels");
    let n = x.shape()[0];
    let mut checked = 0;
    for f in fixtures().iter().filter(|f| f.name.starts_with("digits_") && f.has_symbolic_batch()) {
        let ort_pred = read_npy(&f.dir.join("ort_predictions.npy")).to_i64_vec().expect("i64 predictions");
        let model = f.model();
        let rank = f.graph_shapes[0].len();
        let input: TensorData = if rank == 4 { x.clone().reshaped([n, 1, 8, 8]).expect("reshape") } else { x.clone() };
        let out = compile(&model, backend, std::slice::from_ref(&input)).run(&[input]).expect("runs");
        let pred: Vec<i64> = argmax_rows(&out[0]).into_iter().map(|p| p as i64).collect();
        let correct = |p: &[i64]| p.iter().zip(&labels).filter(|(a, b)| a == b).count();
        assert_eq!(correct(&pred), correct(&ort_pred), "{}: accuracy differs from ORT", f.name);
        assert_eq!(pred, ort_pred, "{}: predictions differ from ORT", f.name);
        checked += 1;
    }
    assert!(checked >= 2, "expected digits models with a symbolic batch");
}

#[test]
fn interpreter_digits_accuracy_equals_onnx_runtime() {
    digits_accuracy(Backend::Interp);
}

#[test]
fn jit_digits_accuracy_equals_onnx_runtime() {
    digits_accuracy(Backend::Jit);
}
