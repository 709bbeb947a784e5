//! Import of `BatchNormalization` with `training_mode = 1` (opset 14+): the decomposition into
//! reductions and elementwise ops, run by the interpreter and checked against the ONNX
//! reference formulas (`_batchnorm_training_mode`) computed here with plain loops.

mod common;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{Data, Op, TensorData};

/// `Y`, `running_mean`, `running_var` of ONNX training-mode BatchNormalization for `x` of
/// shape `[n, c, inner]` (the trailing dims flattened): batch statistics over `n` and
/// `inner`, population variance, `Y` normalized with the batch statistics.
#[allow(clippy::too_many_arguments)]
fn reference(
    x: &[f32],
    (n, c, inner): (usize, usize, usize),
    scale: &[f32],
    bias: &[f32],
    mean: &[f32],
    var: &[f32],
    momentum: f64,
    epsilon: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let at = |b: usize, ch: usize, i: usize| f64::from(x[(b * c + ch) * inner + i]);
    let count = (n * inner) as f64;
    let mut y = vec![0.0; x.len()];
    let (mut running_mean, mut running_var) = (vec![0.0; c], vec![0.0; c]);
    for ch in 0..c {
        let mut sum = 0.0;
        for b in 0..n {
            for i in 0..inner {
                sum += at(b, ch, i);
            }
        }
        let batch_mean = sum / count;
        let mut sq = 0.0;
        for b in 0..n {
            for i in 0..inner {
                sq += (at(b, ch, i) - batch_mean).powi(2);
            }
        }
        let batch_var = sq / count;
        for b in 0..n {
            for i in 0..inner {
                let norm = (at(b, ch, i) - batch_mean) / (batch_var + epsilon).sqrt();
                y[(b * c + ch) * inner + i] = f64::from(scale[ch]) * norm + f64::from(bias[ch]);
            }
        }
        running_mean[ch] = f64::from(mean[ch]) * momentum + batch_mean * (1.0 - momentum);
        running_var[ch] = f64::from(var[ch]) * momentum + batch_var * (1.0 - momentum);
    }
    (y, running_mean, running_var)
}

fn assert_close(what: &str, got: &TensorData, want: &[f64]) {
    let got = got.to_f32_vec();
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!((f64::from(g) - w).abs() <= 1e-5 * (1.0 + w.abs()), "{what}[{i}]: got {g}, want {w}");
    }
}

/// Deterministic, uneven test data (`len` values in about `[-2, 3]`).
fn data(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32).map(|i| ((i * 37 + seed * 11) % 23) as f32 * 0.21 - 2.0 + (i % 3) as f32 * 0.1).collect()
}

/// A training-mode BatchNormalization model `bn` with graph input `x` of `dims` and the
/// per-channel inputs as initializers.
fn training_model(
    dims: &[i64],
    per_channel: [&[f32]; 4],
    outputs: &[&str],
    attrs: Vec<int8xc_onnx::proto::AttributeProto>,
) -> int8xc_onnx::proto::ModelProto {
    let c = per_channel[0].len() as i64;
    let names = ["s", "b", "m", "v"];
    let inits = names.iter().zip(per_channel).map(|(name, v)| tensor_f32(name, &[c], v)).collect();
    let mut n = node("BatchNormalization", &["x", "s", "b", "m", "v"], outputs, attrs);
    n.name = "bn".into();
    model(15, vec![n], vec![vi("x", FLOAT, dims)], outputs, inits)
}

#[test]
fn training_mode_matches_the_onnx_reference_formulas() {
    let (n, c, h, w) = (2, 3, 2, 4);
    let x = data(n * c * h * w, 1);
    let (scale, bias, mean, var) = ([0.5, -1.25, 2.0], [0.1, 0.0, -0.3], [0.2, -0.4, 1.0], [1.0, 0.5, 2.5]);
    let attrs = vec![a_int("training_mode", 1), a_float("momentum", 0.8), a_float("epsilon", 0.01)];
    let m = training_model(&[2, 3, 2, 4], [&scale, &bias, &mean, &var], &["y", "rm", "rv"], attrs);
    let g = import(&m, &[]).unwrap();
    assert!(g.nodes.iter().all(|node| !matches!(node.op, Op::BatchNormalization { .. })));
    assert!(g.nodes.iter().any(|node| node.name == "bn"), "the Y node keeps the ONNX node name");
    assert!(g.nodes.iter().filter(|node| node.name != "bn").all(|node| node.name.starts_with("bn/")));
    let names: Vec<&str> = g.outputs.iter().map(|&v| g.value(v).name.as_str()).collect();
    assert_eq!(names, ["y", "rm", "rv"]);
    assert_eq!([out_ty(&g, 0), out_ty(&g, 1), out_ty(&g, 2)], ["f32[2,3,2,4]", "f32[3]", "f32[3]"]);

    let input = TensorData::new([n, c, h, w], Data::F32(x.clone())).unwrap();
    let outs = Interpreter.run_graph(&g, &[input]).unwrap();
    let momentum = f64::from(0.8f32);
    let (y, rm, rv) = reference(&x, (n, c, h * w), &scale, &bias, &mean, &var, momentum, f64::from(0.01f32));
    assert_close("y", &outs[0], &y);
    assert_close("running_mean", &outs[1], &rm);
    assert_close("running_var", &outs[2], &rv);
}

#[test]
fn training_mode_on_rank_3_uses_defaults_and_skips_unused_statistics() {
    let (n, c, l) = (3, 2, 5);
    let x = data(n * c * l, 7);
    let (scale, bias, mean, var) = ([1.5, 0.75], [-0.5, 0.25], [0.0, 0.0], [1.0, 1.0]);
    let m = training_model(&[3, 2, 5], [&scale, &bias, &mean, &var], &["y"], vec![a_int("training_mode", 1)]);
    let g = import(&m, &[]).unwrap();
    let reductions = g.nodes.iter().filter(|node| matches!(node.op, Op::ReduceMean { .. })).count();
    assert_eq!(reductions, 2, "batch mean and variance");
    assert_eq!(g.nodes.len(), 9, "no running-statistics nodes when only Y is used: {:#?}", g.nodes);

    let input = TensorData::new([n, c, l], Data::F32(x.clone())).unwrap();
    let outs = Interpreter.run_graph(&g, &[input]).unwrap();
    let (y, _, _) = reference(&x, (n, c, l), &scale, &bias, &mean, &var, 0.9, f64::from(1e-5f32));
    assert_close("y", &outs[0], &y);
}

#[test]
fn inference_mode_still_imports_as_one_op() {
    let ones = [1.0; 3];
    let m = training_model(&[1, 3, 2, 2], [&ones, &ones, &ones, &ones], &["y"], vec![a_int("training_mode", 0)]);
    let g = import(&m, &[]).unwrap();
    assert!(matches!(only_op(&g), Op::BatchNormalization { .. }));
}

#[test]
fn training_mode_rejects_rank_1_and_mismatched_channels() {
    let one = [1.0];
    let m = training_model(&[4], [&one, &one, &one, &one], &["y"], vec![a_int("training_mode", 1)]);
    let e = import(&m, &[]).unwrap_err().to_string();
    assert!(e.contains("node 'bn'") && e.contains("rank 2"), "{e}");

    let two = [1.0, 1.0];
    let m = training_model(&[2, 3, 2], [&two, &two, &two, &two], &["y"], vec![a_int("training_mode", 1)]);
    let e = import(&m, &[]).unwrap_err().to_string();
    assert!(e.contains("node 'bn'") && e.contains("'scale'"), "{e}");
}
