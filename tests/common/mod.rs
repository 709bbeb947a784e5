//! Shared helpers of the integration tests: fixture discovery and comparison.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use int8xc::{Backend, Compiler, Model, Tensor};

/// `tests/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// One fixture model from `tests/fixtures/manifest.json`.
pub struct Fixture {
    pub name: String,
    pub dir: PathBuf,
    pub n_inputs: usize,
    pub n_outputs: usize,
    /// Graph input shapes as declared (numbers or symbolic names).
    pub graph_shapes: Vec<Vec<serde_json::Value>>,
}

impl Fixture {
    pub fn model(&self) -> Model {
        Model::load(&self.dir.join("model.onnx")).unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    pub fn inputs(&self) -> Vec<Tensor> {
        (0..self.n_inputs).map(|i| read_npy(&self.dir.join(format!("input_{i}.npy")))).collect()
    }

    pub fn expected_outputs(&self) -> Vec<Tensor> {
        (0..self.n_outputs).map(|i| read_npy(&self.dir.join(format!("output_{i}.npy")))).collect()
    }

    /// True when the first input's first dim is symbolic (a batch).
    pub fn has_symbolic_batch(&self) -> bool {
        self.graph_shapes.first().and_then(|s| s.first()).is_some_and(|d| d.is_string())
    }
}

pub fn read_npy(path: &Path) -> Tensor {
    int8xc::npy::read(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Every fixture model listed in the manifest.
pub fn fixtures() -> Vec<Fixture> {
    let text = std::fs::read_to_string(fixtures_dir().join("manifest.json")).expect("manifest.json");
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest parses");
    manifest["models"]
        .as_array()
        .expect("models array")
        .iter()
        .map(|m| {
            let name = m["name"].as_str().expect("name").to_string();
            let inputs = m["inputs"].as_array().expect("inputs");
            Fixture {
                dir: fixtures_dir().join(&name),
                n_inputs: inputs.len(),
                n_outputs: m["outputs"].as_array().expect("outputs").len(),
                graph_shapes: inputs.iter().map(|i| i["graph_shape"].as_array().cloned().unwrap_or_default()).collect(),
                name,
            }
        })
        .collect()
}

/// Compiles `model` for `backend` with input shapes bound to the given tensors.
pub fn compile(model: &Model, backend: Backend, inputs: &[Tensor]) -> int8xc::CompiledModel {
    let mut compiler = Compiler::new().backend(backend);
    for (info, t) in model.inputs().iter().zip(inputs) {
        compiler = compiler.input_shape(&info.name, t.shape().to_vec());
    }
    compiler.compile(model).unwrap_or_else(|e| panic!("compile ({}): {e}", backend.name()))
}

/// Normwise relative error `max|a - b| / max(max|b|, 1e-6)`, or an error message when the
/// dtypes or shapes differ. Integer tensors must match exactly (error 0 or infinity).
pub fn relative_error(actual: &Tensor, expected: &Tensor) -> Result<f64, String> {
    if actual.dtype() != expected.dtype() || actual.shape() != expected.shape() {
        return Err(format!(
            "got {}{:?}, expected {}{:?}",
            actual.dtype(),
            actual.shape(),
            expected.dtype(),
            expected.shape()
        ));
    }
    let a = actual.to_f32_vec();
    let b = expected.to_f32_vec();
    if !actual.dtype().is_float() {
        return Ok(if a == b { 0.0 } else { f64::INFINITY });
    }
    let scale = b.iter().fold(0f64, |m, &x| m.max(x.abs() as f64)).max(1e-6);
    let mut max = 0f64;
    for (&x, &y) in a.iter().zip(&b) {
        if x.is_nan() != y.is_nan() {
            return Ok(f64::INFINITY);
        }
        if !x.is_nan() {
            max = max.max((x as f64 - y as f64).abs());
        }
    }
    Ok(max / scale)
}

/// Index of the maximum of each row of a `[N, C]` tensor (first on ties).
pub fn argmax_rows(t: &Tensor) -> Vec<usize> {
    let c = t.shape()[1];
    t.to_f32_vec()
        .chunks(c)
        .map(|row| row.iter().enumerate().fold(0, |best, (j, &v)| if v > row[best] { j } else { best }))
        .collect()
}
