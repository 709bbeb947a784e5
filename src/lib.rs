//! # int8xc
//!
//! A JIT-compiling tensor compiler for (quantized) neural-network inference. This crate is the
//! library API and the `int8xc` command-line tool; the stages live in their own crates
//! (`int8xc-ir`, `int8xc-onnx`, `int8xc-passes`, `int8xc-interp`, `int8xc-jit`,
//! `int8xc-runtime`), see DESIGN.md.
//!
//! One call compiles, one call runs:
//!
//! ```no_run
//! use int8xc::{Compiler, Model, Tensor};
//! # fn main() -> Result<(), int8xc::Error> {
//! let model = Model::load("tests/fixtures/digits_cnn/model.onnx".as_ref())?;
//! let compiled = Compiler::new().input_shape("input", [1, 1, 8, 8]).compile(&model)?;
//! let x = Tensor::from_f32([1, 1, 8, 8], vec![0.0; 64])?;
//! let logits = compiled.run(&[x])?;
//! # Ok(()) }
//! ```
//!
//! Real models have symbolic dims (a batch `N`). [`Compiler::compile`] binds them from
//! [`Compiler::input_shape`] (unbound symbolic dims default to 1), and
//! [`CompiledModel::run`] compiles and caches one specialized variant per distinct set of
//! input shapes, as a JIT should.

#![warn(missing_docs)]

mod compiler;
mod error;
mod model;
mod report;

pub use compiler::{Backend, CompileOptions, CompiledModel, Compiler};
pub use error::Error;
pub use int8xc_ir::{DType, Graph, TensorData, TensorType};
pub use int8xc_runtime::{npy, Tensor};
pub use model::{Dim, InputInfo, Model};
pub use report::{CompileReport, PhaseTimes};
