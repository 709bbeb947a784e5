//! A loaded ONNX model, before shapes are bound.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use int8xc_ir::Graph;
use int8xc_onnx::OnnxModel;

use crate::Error;

pub use int8xc_onnx::{Dim, InputInfo};

/// A decoded ONNX model. Cheap to clone (shared).
#[derive(Clone)]
pub struct Model {
    onnx: Arc<OnnxModel>,
}

impl Model {
    /// Reads and decodes an ONNX file; external-data tensors are read from its directory.
    ///
    /// Errors: [`Error::Onnx`] for a missing, empty, truncated or non-ONNX file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        Ok(Model { onnx: Arc::new(OnnxModel::load(path)?) })
    }

    /// Decodes an ONNX model from memory; external data is resolved against `base_dir`.
    ///
    /// Errors: as [`Model::load`].
    pub fn from_bytes(bytes: &[u8], base_dir: Option<&Path>) -> Result<Self, Error> {
        Ok(Model { onnx: Arc::new(OnnxModel::from_bytes(bytes, base_dir)?) })
    }

    /// The graph inputs (initializers excluded) with their dims, fixed or symbolic.
    pub fn inputs(&self) -> Vec<InputInfo> {
        self.onnx.inputs()
    }

    /// The graph output names.
    pub fn outputs(&self) -> Vec<String> {
        self.onnx.outputs()
    }

    /// The default-domain opset.
    pub fn opset(&self) -> i64 {
        self.onnx.opset()
    }

    /// Resolves concrete shapes for the importer: every `given` shape (checked against the
    /// fixed dims), and for inputs with symbolic dims that were not given, their dims with
    /// the symbolic ones set to `default_symbolic`. Inputs whose dims are all fixed and that
    /// were not given are left out (the importer binds them).
    ///
    /// Errors: [`Error::UnknownInput`] for a name that is not an input, and
    /// [`Error::ShapeBinding`] when a given shape contradicts the model.
    pub fn bind_shapes(
        &self,
        given: &HashMap<String, Vec<usize>>,
        default_symbolic: usize,
    ) -> Result<HashMap<String, Vec<usize>>, Error> {
        let inputs = self.inputs();
        for name in given.keys() {
            if !inputs.iter().any(|i| &i.name == name) {
                let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
                return Err(Error::UnknownInput(name.clone(), names.join(", ")));
            }
        }
        let mut bound = HashMap::new();
        for input in &inputs {
            let shape = match given.get(&input.name) {
                Some(shape) => {
                    let fits = shape.len() == input.dims.len()
                        && shape.iter().zip(&input.dims).all(|(&s, d)| match d {
                            Dim::Fixed(f) => *f == s,
                            Dim::Symbolic(_) => true,
                        });
                    if !fits {
                        return Err(Error::ShapeBinding {
                            name: input.name.clone(),
                            given: shape.clone(),
                            expected: format_dims(&input.dims),
                        });
                    }
                    shape.clone()
                }
                // Fully fixed inputs are left to the importer, which checks their dims
                // (and words errors as the model's, not as a given shape).
                None if input.dims.iter().all(|d| matches!(d, Dim::Fixed(_))) => continue,
                None => input
                    .dims
                    .iter()
                    .map(|d| match d {
                        Dim::Fixed(f) => *f,
                        Dim::Symbolic(_) => default_symbolic,
                    })
                    .collect(),
            };
            bound.insert(input.name.clone(), shape);
        }
        Ok(bound)
    }

    /// Imports the model into IR with every input bound to the given concrete shape; shape
    /// sub-graphs are folded with the reference interpreter.
    ///
    /// Errors: [`Error::Onnx`] naming the node and op that failed to import.
    pub fn import(&self, shapes: &HashMap<String, Vec<usize>>) -> Result<Graph, Error> {
        Ok(self.onnx.import(shapes, &int8xc_interp::Interpreter)?)
    }
}

/// Prints dims as `[batch,1,8,8]`.
pub(crate) fn format_dims(dims: &[Dim]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| match d {
            Dim::Fixed(f) => f.to_string(),
            Dim::Symbolic(s) => s.clone(),
        })
        .collect();
    format!("[{}]", parts.join(","))
}
