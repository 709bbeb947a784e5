//! # int8xc-passes
//!
//! Graph-to-graph transformations over [`int8xc_ir::Graph`], between the front end and the
//! backends (`frontend-onnx → ir::Graph → passes → backends`; see DESIGN.md).
//!
//! - [`Pass`]: one transformation; [`PassContext`] gives it what it may use besides the graph
//!   (the constant evaluator, [`int8xc_ir::ConstEval`], implemented by the reference
//!   interpreter, so that folding and the backends share one definition of every op).
//! - [`PassManager`]: runs a pipeline once or to a fixed point, verifies the graph after each
//!   pass (by default in debug builds), and records [`PassStats`] (time and node counts per
//!   pass run) that `int8xc compile --stats` prints.
//! - The passes: [`DeadCodeElimination`], [`ConstantFolding`], [`BatchNormFolding`],
//!   [`GemmToMatMul`], [`QdqToInteger`] (QDQ groups → integer ops, as ONNX Runtime fuses
//!   them); [`default_pipeline`] chains them.
//!
//! ```
//! use int8xc_passes::{default_pipeline, PassContext};
//! # struct NoEval;
//! # impl int8xc_ir::ConstEval for NoEval {
//! #     fn eval(&self, op: &int8xc_ir::Op, _: &[&int8xc_ir::TensorData], _: &[int8xc_ir::TensorType])
//! #         -> Result<Vec<int8xc_ir::TensorData>, int8xc_ir::IrError> {
//! #         Err(int8xc_ir::IrError::invalid(format!("{} not supported", op.name())))
//! #     }
//! # }
//! let mut graph: int8xc_ir::Graph = "graph g(%x: f32[2]) -> (%y) { %y = Relu(%x) }".parse().unwrap();
//! let stats = default_pipeline().run(&mut graph, &PassContext { eval: &NoEval }).unwrap();
//! assert!(stats.converged);
//! ```
//!
//! Passes edit the graph in place with the helpers of [`int8xc_ir::Graph`]
//! (`replace_uses`, `detached_node`, `splice`, `remove_nodes`, `compact`) and leave it
//! verified and canonically numbered.

#![warn(missing_docs)]

mod batchnorm;
mod dce;
mod error;
mod fold;
mod gemm;
mod manager;
mod qdq;
#[cfg(test)]
mod testing;

pub use batchnorm::BatchNormFolding;
pub use dce::DeadCodeElimination;
pub use error::PassError;
pub use fold::ConstantFolding;
pub use gemm::GemmToMatMul;
pub use manager::{default_pipeline, Pass, PassContext, PassManager, PassRun, PassStats, RunMode};
pub use qdq::QdqToInteger;
