//! [`OnnxModel`]: a decoded model plus the directory its external data lives in.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use int8xc_ir::{ConstEval, DType, Graph};

use crate::decode::{decode_model, MAX_DIM};
use crate::proto::{tensor_shape_proto::dimension, type_proto, DataType, GraphProto, ModelProto, ValueInfoProto};
use crate::OnnxError;

/// One dimension of a graph input as the model declares it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    /// A fixed size (`dim_value`).
    Fixed(usize),
    /// A symbolic size (`dim_param`, e.g. `"batch"`); `"?"` when the model gives neither a
    /// value nor a name. Bound to a number by [`OnnxModel::import`]'s `input_shapes`.
    Symbolic(String),
}

/// A real graph input (initializers excluded): what a caller must feed.
#[derive(Clone, Debug, PartialEq)]
pub struct InputInfo {
    /// The ONNX value name.
    pub name: String,
    /// Element type; `None` when the ONNX element type has no IR equivalent (import then fails
    /// with an error naming the input).
    pub dtype: Option<DType>,
    /// Declared dims; empty both for a scalar and, when `rank_known` is false, for an input
    /// whose shape the model does not declare.
    pub dims: Vec<Dim>,
    /// False when the model declares no shape at all (the caller must give the full shape).
    pub rank_known: bool,
}

/// A decoded ONNX model and the directory its external data is resolved against.
///
/// Decoding happens once, at [`OnnxModel::load`] / [`OnnxModel::from_bytes`]; import into IR
/// (with concrete input shapes) can then run any number of times.
#[derive(Clone, Debug)]
pub struct OnnxModel {
    model: ModelProto,
    base_dir: Option<PathBuf>,
}

/// The default ONNX operator-set domain (`""` or `"ai.onnx"`).
pub(crate) fn is_default_domain(domain: &str) -> bool {
    domain.is_empty() || domain == "ai.onnx"
}

impl OnnxModel {
    /// Reads and decodes the model file at `path`; external data is read relative to the
    /// file's directory.
    ///
    /// Errors: [`OnnxError::Io`] when the file cannot be read, otherwise as
    /// [`OnnxModel::from_bytes`].
    pub fn load(path: &Path) -> Result<Self, OnnxError> {
        let bytes = std::fs::read(path).map_err(|source| OnnxError::Io { path: path.to_path_buf(), source })?;
        let dir = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p });
        Self::from_bytes(&bytes, dir)
    }

    /// Decodes a model from memory. `base_dir` is where tensors with external data are read
    /// from; `None` makes such tensors an error at import.
    ///
    /// Errors: [`OnnxError::Empty`], [`OnnxError::NotOnnx`], [`OnnxError::Decode`] (see
    /// [`crate::decode_model`]).
    pub fn from_bytes(bytes: &[u8], base_dir: Option<&Path>) -> Result<Self, OnnxError> {
        let model = decode_model(bytes)?;
        Ok(OnnxModel { model, base_dir: base_dir.map(Path::to_path_buf) })
    }

    /// Wraps an already decoded model (e.g. one built in memory).
    pub fn from_proto(model: ModelProto, base_dir: Option<&Path>) -> Self {
        OnnxModel { model, base_dir: base_dir.map(Path::to_path_buf) }
    }

    /// The decoded protobuf.
    pub fn proto(&self) -> &ModelProto {
        &self.model
    }

    /// The directory external data is read from.
    pub fn base_dir(&self) -> Option<&Path> {
        self.base_dir.as_deref()
    }

    fn graph(&self) -> Option<&GraphProto> {
        self.model.graph.as_ref()
    }

    /// The real graph inputs, in order: graph inputs that are not initializers (older
    /// exporters list initializers as inputs too; those are constants).
    pub fn inputs(&self) -> Vec<InputInfo> {
        let Some(g) = self.graph() else { return Vec::new() };
        let inits: HashSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
        g.input.iter().filter(|i| !inits.contains(i.name.as_str())).map(input_info).collect()
    }

    /// The graph output names, in order.
    pub fn outputs(&self) -> Vec<String> {
        self.graph().map(|g| g.output.iter().map(|o| o.name.clone()).collect()).unwrap_or_default()
    }

    /// The default-domain (`""` / `ai.onnx`) opset version; 0 when the model imports none.
    pub fn opset(&self) -> i64 {
        self.opset_of("")
    }

    /// The opset version the model imports for `domain` (`""` and `"ai.onnx"` are the same);
    /// 0 when not imported.
    pub fn opset_of(&self, domain: &str) -> i64 {
        let default = is_default_domain(domain);
        self.model
            .opset_import
            .iter()
            .filter(|o| if default { is_default_domain(&o.domain) } else { o.domain == domain })
            .map(|o| o.version)
            .max()
            .unwrap_or(0)
    }

    /// Imports the model into IR with every graph input bound to a concrete shape.
    ///
    /// `input_shapes` maps input names to full shapes; an entry is required for inputs with
    /// symbolic (or undeclared) dims and must agree with the fixed dims. Constant sub-graphs
    /// (weights, `Shape → Gather → Concat → Reshape` chains) are folded with `eval`.
    ///
    /// Errors: [`OnnxError::InputShape`] for unbound/contradicting shapes or unsupported input
    /// dtypes, [`OnnxError::Opset`] for opsets outside 7–28, [`OnnxError::UnsupportedOps`]
    /// listing every unsupported node, [`OnnxError::Graph`] for cycles and undefined values,
    /// [`OnnxError::Node`] / [`OnnxError::Tensor`] naming the failing node or tensor, and
    /// [`OnnxError::Graph`] for graphs of more than [`int8xc_ir::MAX_NODES`] nodes (checked
    /// before anything is imported).
    pub fn import(&self, input_shapes: &HashMap<String, Vec<usize>>, eval: &dyn ConstEval) -> Result<Graph, OnnxError> {
        let graph = self.graph().ok_or_else(|| OnnxError::NotOnnx("the model has no graph".into()))?;
        // Checked before any node is imported: a huge graph would otherwise be built (and
        // folded) in full before the verifier rejects it.
        if graph.node.len() > int8xc_ir::MAX_NODES {
            return Err(OnnxError::Graph(format!(
                "the graph has {} nodes; int8xc accepts at most {}",
                graph.node.len(),
                int8xc_ir::MAX_NODES
            )));
        }
        let mut bound = Vec::new();
        for info in self.inputs() {
            let shape = bind_shape(&info, input_shapes.get(&info.name))?;
            let dtype = info.dtype.ok_or_else(|| OnnxError::InputShape {
                input: info.name.clone(),
                message: format!("element type {} is not supported by int8xc", input_elem_name(graph, &info.name)),
            })?;
            bound.push((info.name, dtype, shape));
        }
        for name in input_shapes.keys() {
            if !bound.iter().any(|(n, _, _)| n == name) {
                return Err(OnnxError::InputShape {
                    input: name.clone(),
                    message: "a shape was given for a name that is not a graph input".into(),
                });
            }
        }
        crate::import::import_graph(self, graph, &bound, eval)
    }
}

fn input_elem_name(g: &GraphProto, name: &str) -> String {
    let elem = g.input.iter().find(|i| i.name == name).and_then(tensor_type).map(|t| t.elem_type).unwrap_or(0);
    DataType::name_of(elem)
}

fn tensor_type(v: &ValueInfoProto) -> Option<&type_proto::Tensor> {
    match v.r#type.as_ref()?.value.as_ref()? {
        type_proto::Value::TensorType(t) => Some(t),
    }
}

fn input_info(v: &ValueInfoProto) -> InputInfo {
    let tt = tensor_type(v);
    let dtype = tt.and_then(|t| DataType::try_from(t.elem_type).ok()).and_then(DataType::to_ir);
    let shape = tt.and_then(|t| t.shape.as_ref());
    let dims = shape
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(dimension::Value::DimValue(v)) if *v >= 0 && (*v as u64) <= MAX_DIM => Dim::Fixed(*v as usize),
                    Some(dimension::Value::DimValue(v)) => Dim::Symbolic(format!("<invalid {v}>")),
                    Some(dimension::Value::DimParam(p)) if !p.is_empty() => Dim::Symbolic(p.clone()),
                    _ => Dim::Symbolic("?".into()),
                })
                .collect()
        })
        .unwrap_or_default();
    InputInfo { name: v.name.clone(), dtype, dims, rank_known: shape.is_some() }
}

/// The concrete shape of one input from its declared dims and the caller's shape.
fn bind_shape(info: &InputInfo, given: Option<&Vec<usize>>) -> Result<Vec<usize>, OnnxError> {
    let err = |message: String| OnnxError::InputShape { input: info.name.clone(), message };
    if let Some(shape) = given {
        if let Some((i, &d)) = shape.iter().enumerate().find(|(_, &d)| d as u64 > MAX_DIM) {
            return Err(err(format!("given dim {i} is {d}, above the limit 2^31")));
        }
        if shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64)).is_none_or(|n| n > crate::decode::MAX_ELEMENTS)
        {
            return Err(err(format!("given shape {shape:?} has more than 2^31 elements")));
        }
    }
    if !info.rank_known {
        return given.cloned().ok_or_else(|| err("the model declares no shape; pass its full shape".into()));
    }
    if let Some(shape) = given {
        if shape.len() != info.dims.len() {
            return Err(err(format!(
                "given shape {shape:?} has rank {}, the model declares rank {} ({})",
                shape.len(),
                info.dims.len(),
                format_dims(&info.dims)
            )));
        }
    }
    let mut shape = Vec::with_capacity(info.dims.len());
    for (i, dim) in info.dims.iter().enumerate() {
        let given_dim = given.and_then(|s| s.get(i).copied());
        shape.push(match (dim, given_dim) {
            (Dim::Fixed(f), Some(g)) if *f != g => {
                return Err(err(format!(
                    "given dim {i} is {g}, but the model fixes it to {f} ({})",
                    format_dims(&info.dims)
                )))
            }
            (Dim::Fixed(f), _) => *f,
            (Dim::Symbolic(s), _) if s.starts_with("<invalid") => {
                return Err(err(format!("dim {i} is declared as {}: negative or above 2^31", &s[1..s.len() - 1])))
            }
            (Dim::Symbolic(_), Some(g)) => g,
            (Dim::Symbolic(s), None) => {
                return Err(err(format!(
                    "dim {i} ('{s}') is symbolic and not bound; pass a shape for '{}' ({})",
                    info.name,
                    format_dims(&info.dims)
                )))
            }
        });
    }
    if shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64)).is_none_or(|n| n > crate::decode::MAX_ELEMENTS) {
        return Err(err(format!("shape {shape:?} ({}) has more than 2^31 elements", format_dims(&info.dims))));
    }
    Ok(shape)
}

/// Prints dims as `[batch,3,224,224]`.
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
