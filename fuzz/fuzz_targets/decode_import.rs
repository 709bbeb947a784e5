//! Fuzz target: arbitrary bytes → ONNX decode → import into IR (symbolic dims bound to 1,
//! constants folded with the reference interpreter) → IR verifier. Any panic, abort, hang or
//! out-of-memory is a bug: hostile input must give an error.

#![no_main]

use std::collections::HashMap;

use int8xc_onnx::{Dim, OnnxModel};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = OnnxModel::from_bytes(data, None) else { return };
    let shapes: HashMap<String, Vec<usize>> = model
        .inputs()
        .into_iter()
        .filter(|input| input.rank_known)
        .map(|input| {
            let shape = input
                .dims
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => *n,
                    Dim::Symbolic(_) => 1,
                })
                .collect();
            (input.name, shape)
        })
        .collect();
    if let Ok(graph) = model.import(&shapes, &int8xc_interp::Interpreter) {
        let _ = int8xc_ir::verify(&graph);
    }
});
