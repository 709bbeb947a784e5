//! # int8xc-runtime
//!
//! What every backend shares at run time, after compilation:
//!
//! - [`Tensor`]: the values passed in and out (the IR's [`TensorData`]: static shape plus
//!   row-major typed storage).
//! - [`Executable`]: the trait the interpreter, the JIT and the CiM simulator implement; its
//!   [`Signature`] is checked at the boundary by [`Signature::check_inputs`], so nothing past it
//!   sees a tensor of the wrong shape or dtype.
//! - [`MemoryPlan`]: the static, liveness-based placement of every intermediate value in one
//!   arena, allocated once per compiled model.
//! - [`npy`]: reading and writing NumPy `.npy` files.

#![warn(missing_docs)]

mod error;
pub mod npy;
mod plan;

pub use error::RuntimeError;
pub use int8xc_ir::TensorData;
pub use plan::{MemoryPlan, PlanOptions, Slot};

use int8xc_ir::{Graph, TensorType};

/// A runtime tensor value: the IR's [`TensorData`].
pub type Tensor = TensorData;

/// Names and types of a compiled model's inputs and outputs, in graph order.
#[derive(Clone, Debug, PartialEq)]
pub struct Signature {
    /// `(name, type)` of each input.
    pub inputs: Vec<(String, TensorType)>,
    /// `(name, type)` of each output.
    pub outputs: Vec<(String, TensorType)>,
}

impl Signature {
    /// The signature of `graph`.
    pub fn of_graph(graph: &Graph) -> Self {
        let entry = |&v| (graph.value(v).name.clone(), graph.ty(v).clone());
        Signature {
            inputs: graph.inputs.iter().map(entry).collect(),
            outputs: graph.outputs.iter().map(entry).collect(),
        }
    }

    /// Checks that `inputs` match this signature in count, dtype and shape.
    ///
    /// Errors: [`RuntimeError::InputCount`], [`RuntimeError::InputDType`] or
    /// [`RuntimeError::InputShape`], naming the input.
    pub fn check_inputs(&self, inputs: &[Tensor]) -> Result<(), RuntimeError> {
        if inputs.len() != self.inputs.len() {
            return Err(RuntimeError::InputCount { expected: self.inputs.len(), actual: inputs.len() });
        }
        for (t, (name, ty)) in inputs.iter().zip(&self.inputs) {
            if t.dtype() != ty.dtype {
                return Err(RuntimeError::InputDType { name: name.clone(), expected: ty.dtype, actual: t.dtype() });
            }
            if t.shape() != ty.shape.as_slice() {
                return Err(RuntimeError::InputShape {
                    name: name.clone(),
                    expected: ty.shape.clone(),
                    actual: t.shape().to_vec(),
                });
            }
        }
        Ok(())
    }
}

/// A compiled (or interpreted) model that can be run.
///
/// Implementations check inputs with [`Signature::check_inputs`] before touching them, never
/// modify the inputs, and return outputs in graph-output order. `run` takes `&self` and may be
/// called from several threads; implementations serialize access to internal buffers.
pub trait Executable: Send + Sync {
    /// Input and output names and types.
    fn signature(&self) -> &Signature;

    /// Runs the model on `inputs` (graph-input order).
    ///
    /// Errors: input count/shape/dtype mismatches as [`Signature::check_inputs`]; backend
    /// failures as [`RuntimeError::Backend`].
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError>;
}
