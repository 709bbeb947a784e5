//! Classify the digits test set with the JIT-compiled CNN and report top-1 accuracy.
//!
//! `cargo run --release --example classify_digits`

use std::path::Path;

use int8xc::{Compiler, Model};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let model = Model::load(&fixtures.join("digits_cnn/model.onnx"))?;
    let x = int8xc::npy::read(&fixtures.join("digits/test_x.npy"))?;
    let labels = int8xc::npy::read(&fixtures.join("digits/test_y.npy"))?.to_i64_vec().ok_or("labels are integers")?;
    let n = x.shape()[0];
    let images = x.reshaped([n, 1, 8, 8])?;

    let compiled = Compiler::new().input_shape("x", [n, 1, 8, 8]).compile(&model)?;
    let logits = compiled.run(&[images])?;
    let scores = logits[0].as_f32().ok_or("logits are f32")?;
    let correct = scores
        .chunks(10)
        .zip(&labels)
        .filter(|(row, &label)| {
            let best = row.iter().enumerate().fold(0, |b, (j, &v)| if v > row[b] { j } else { b });
            best as i64 == label
        })
        .count();
    let report = compiled.report();
    println!(
        "{n} images, top-1 accuracy {:.2} % (compiled {} kernels in {:.2} ms)",
        100.0 * correct as f64 / n as f64,
        report.kernels,
        (report.times.import + report.times.passes + report.times.codegen).as_secs_f64() * 1e3
    );
    Ok(())
}
