//! Arguments shared by several commands, and their parsing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use int8xc::{Model, Tensor};
use target_lexicon::Triple;

/// The model file and how to bind its input shapes.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// The ONNX model.
    pub model: PathBuf,
    /// Bind an input's shape: `name=1x3x224x224` (repeatable). Unbound symbolic dims are 1.
    #[arg(long = "input-shape", value_name = "NAME=DIMS")]
    pub input_shapes: Vec<String>,
}

impl ModelArgs {
    /// Loads the model, returning it and the time spent reading and decoding it.
    pub fn load(&self) -> anyhow::Result<(Model, Duration)> {
        super::existing_file(&self.model, "model")?;
        let t = Instant::now();
        let model = Model::load(&self.model).with_context(|| format!("loading {}", self.model.display()))?;
        Ok((model, t.elapsed()))
    }

    /// The `--input-shape` bindings.
    pub fn shapes(&self) -> anyhow::Result<HashMap<String, Vec<usize>>> {
        self.input_shapes.iter().map(|s| parse_shape_binding(s)).collect()
    }
}

/// Parses `name=1x3x224x224`.
pub fn parse_shape_binding(s: &str) -> anyhow::Result<(String, Vec<usize>)> {
    let Some((name, dims)) = s.split_once('=') else {
        bail!("--input-shape '{s}': expected NAME=DIMS, e.g. input=1x3x224x224");
    };
    let dims = dims
        .split(['x', ','])
        .map(|d| d.trim().parse::<usize>().with_context(|| format!("--input-shape '{s}': '{d}' is not a dimension")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((name.to_string(), dims))
}

/// Parses `--target`: a full target triple, or the short names `x86_64` / `aarch64` / `host`.
pub fn parse_target(s: &str) -> anyhow::Result<Triple> {
    let full = match s {
        "host" => return Ok(Triple::host()),
        "x86_64" | "x86-64" | "x64" => "x86_64-unknown-linux-gnu",
        "aarch64" | "arm64" => "aarch64-unknown-linux-gnu",
        other => other,
    };
    Triple::from_str(full).map_err(|e| anyhow::anyhow!("--target '{s}': {e}"))
}

/// Reads `--input` values: `path.npy` in graph-input order, or `name=path.npy`.
pub fn read_inputs(model: &Model, specs: &[String]) -> anyhow::Result<Vec<Tensor>> {
    let names: Vec<String> = model.inputs().into_iter().map(|i| i.name).collect();
    if specs.len() != names.len() {
        bail!("the model has {} input(s) ({}), {} --input given", names.len(), names.join(", "), specs.len());
    }
    let mut slots: Vec<Option<Tensor>> = vec![None; names.len()];
    for (i, spec) in specs.iter().enumerate() {
        let (index, path) = match spec.split_once('=') {
            Some((name, path)) if !Path::new(spec).exists() => {
                let idx = names.iter().position(|n| n == name).with_context(|| {
                    format!("--input {spec}: no input named '{name}' (inputs: {})", names.join(", "))
                })?;
                (idx, path)
            }
            _ => (i, spec.as_str()),
        };
        let path = Path::new(path);
        super::existing_file(path, "input file")?;
        let t = int8xc::npy::read(path)?;
        if slots[index].replace(t).is_some() {
            bail!("input '{}' given twice", names[index]);
        }
    }
    slots.into_iter().zip(&names).map(|(t, n)| t.with_context(|| format!("no value for input '{n}'"))).collect()
}
