//! The `int8xc` binary end to end: inspect, compile (JIT and AOT objects), run, bench, and
//! the errors a user sees for bad files.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn int8xc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_int8xc")).args(args).output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn cnn() -> PathBuf {
    common::fixtures_dir().join("digits_cnn")
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("int8xc-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn inspect_prints_the_imported_ir() {
    let o = int8xc(&["inspect", p(&cnn().join("model.onnx")), "--input-shape", "x=1x1x8x8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Conv("), "{text}");
    assert!(text.contains("f32[1,1,8,8]"), "{text}");
}

#[test]
fn compile_stats_reports_ops_kernels_code_and_phases() {
    let o = int8xc(&["compile", p(&cnn().join("model.onnx")), "--jit", "--stats"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in ["Conv", "kernels:", "code:", "parse", "import", "passes", "codegen", "MACs"] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
}

fn elf_machine(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    u16::from_le_bytes([bytes[18], bytes[19]])
}

#[test]
fn compile_emits_elf_objects_for_aarch64_and_x86_64() {
    let dir = temp_dir("obj");
    for (target, machine) in [("aarch64", 183u16), ("x86_64", 62)] {
        let out = dir.join(format!("cnn-{target}.o"));
        let o = int8xc(&["compile", p(&cnn().join("model.onnx")), "--target", target, "--emit", "obj", "-o", p(&out)]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(elf_machine(&out), machine, "{target}");
    }
}

#[test]
fn jit_for_a_foreign_target_is_a_clear_error() {
    let o = int8xc(&["compile", p(&cnn().join("model.onnx")), "--target", "aarch64", "--jit"]);
    if cfg!(target_arch = "aarch64") {
        return;
    }
    assert!(!o.status.success());
    assert!(stderr(&o).contains("host"), "{}", stderr(&o));
}

#[test]
fn run_writes_outputs_matching_onnx_runtime_on_both_backends() {
    for backend in ["jit", "interp"] {
        let out = temp_dir(&format!("run-{backend}"));
        let o = int8xc(&[
            "run",
            p(&cnn().join("model.onnx")),
            "--input",
            p(&cnn().join("input_0.npy")),
            "--backend",
            backend,
            "--output-dir",
            p(&out),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("predicted class"), "{}", stdout(&o));
        let got = common::read_npy(&out.join("output_0.npy"));
        let want = common::read_npy(&cnn().join("output_0.npy"));
        assert!(common::relative_error(&got, &want).unwrap() <= 1e-4, "{backend}");
    }
}

#[test]
fn run_accepts_named_inputs() {
    let out = temp_dir("named");
    let input = format!("x={}", p(&cnn().join("input_0.npy")));
    let o = int8xc(&["run", p(&cnn().join("model.onnx")), "--input", &input, "--output-dir", p(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn bench_reports_compile_time_and_latency_as_json() {
    let o = int8xc(&[
        "bench",
        p(&cnn().join("model.onnx")),
        "--input",
        p(&cnn().join("input_0.npy")),
        "--iterations",
        "3",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert!(v["median_ms"].as_f64().unwrap() > 0.0);
    assert!(v["p90_ms"].as_f64().unwrap() >= v["median_ms"].as_f64().unwrap());
    assert!(v["compile_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn missing_input_file_is_named() {
    let o = int8xc(&["run", p(&cnn().join("model.onnx")), "--input", "/nonexistent/x.npy"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent/x.npy"), "{}", stderr(&o));
}

#[test]
fn missing_model_file_is_named() {
    let o = int8xc(&["compile", "/nonexistent/model.onnx"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent/model.onnx"), "{}", stderr(&o));
}

#[test]
fn input_of_the_wrong_shape_is_named() {
    let dir = temp_dir("wrongshape");
    let bad = dir.join("bad.npy");
    int8xc::npy::write(&bad, &int8xc::TensorData::from_f32([1, 1, 7, 7], vec![0.0; 49]).unwrap()).unwrap();
    let o = int8xc(&["run", p(&cnn().join("model.onnx")), "--input", p(&bad), "--output-dir", p(&dir)]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("'x'") && err.contains("[1, 1, 7, 7]"), "{err}");
}
