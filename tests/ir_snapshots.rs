//! Snapshots of every fixture model's IR right after import and after the pass pipeline,
//! with large constants elided. A change to the importer or a pass shows up here as a diff
//! (`INSTA_UPDATE=always cargo test --test ir_snapshots` rewrites them; review the diff).

mod common;

use std::collections::HashMap;

use int8xc::Compiler;
use int8xc_ir::{print_graph, PrintOptions};

fn shapes(f: &common::Fixture) -> HashMap<String, Vec<usize>> {
    f.model().inputs().into_iter().zip(f.inputs()).map(|(info, t)| (info.name, t.shape().to_vec())).collect()
}

fn snapshot_all(optimize: bool) {
    let suffix = if optimize { "optimized" } else { "imported" };
    for f in common::fixtures() {
        let mut compiler = Compiler::new().optimize(optimize);
        for (name, shape) in shapes(&f) {
            compiler = compiler.input_shape(&name, shape);
        }
        let graph = compiler.optimized_graph(&f.model()).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        int8xc_ir::verify(&graph).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let text = print_graph(&graph, &PrintOptions::elide_above(16));
        insta::assert_snapshot!(format!("{}_{suffix}", f.name), text);
    }
}

#[test]
fn imported_ir_of_every_fixture() {
    snapshot_all(false);
}

#[test]
fn optimized_ir_of_every_fixture() {
    snapshot_all(true);
}

#[test]
fn full_ir_text_of_every_fixture_parses_back() {
    for f in common::fixtures() {
        let mut compiler = Compiler::new();
        for (name, shape) in shapes(&f) {
            compiler = compiler.input_shape(&name, shape);
        }
        let graph = compiler.optimized_graph(&f.model()).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let text = print_graph(&graph, &PrintOptions::full());
        let parsed = int8xc_ir::parse_graph(&text).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(parsed, graph, "{}: round trip changed the graph", f.name);
    }
}
