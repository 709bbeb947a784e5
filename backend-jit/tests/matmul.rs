//! MatMul and Gemm kernels vs. the interpreter.

mod common;

use common::*;
use int8xc_ir::{GemmAttrs, Graph, Op};
use proptest::prelude::*;

/// `a @ b` with `b` constant (packed weights) or a second graph input.
fn matmul_graph(a: &[usize], b: &[usize], b_data: Option<int8xc_ir::TensorData>) -> Graph {
    let mut g = Graph::new("matmul");
    let x = g.add_input("a", f32_ty(a));
    let w = match b_data {
        Some(t) => g.add_const("w", t),
        None => g.add_input("b", f32_ty(b)),
    };
    let y = node(&mut g, "y", Op::MatMul, vec![x, w]);
    g.outputs.push(y);
    g
}

fn check_matmul(a: &[usize], b: &[usize], const_b: bool, seed: u64) {
    let mut rng = TestRng::new(seed);
    let (ta, tb) = (rng.tensor(a), rng.tensor(b));
    let (g, inputs) =
        if const_b { (matmul_graph(a, b, Some(tb)), vec![ta]) } else { (matmul_graph(a, b, None), vec![ta, tb]) };
    let e = diff(&g, &inputs);
    assert!(e <= TOL, "{a:?} x {b:?} (const b: {const_b}): max error {e}");
}

#[test]
fn square_matmul_with_packed_and_runtime_weights() {
    for const_b in [true, false] {
        check_matmul(&[64, 64], &[64, 64], const_b, 1);
        check_matmul(&[13, 29], &[29, 37], const_b, 2);
        check_matmul(&[1, 512], &[512, 1000], const_b, 3);
    }
}

#[test]
fn rank_one_and_batched_operands() {
    check_matmul(&[7], &[7, 5], true, 4);
    check_matmul(&[3, 7], &[7], false, 5);
    check_matmul(&[7], &[7], false, 6);
    check_matmul(&[2, 3, 5, 6], &[6, 9], true, 7);
    check_matmul(&[2, 1, 5, 6], &[3, 6, 9], false, 8);
    check_matmul(&[5, 6], &[4, 6, 9], true, 9);
}

#[test]
fn threads_split_tiles_without_changing_results() {
    let mut rng = TestRng::new(11);
    let g = matmul_graph(&[37, 70], &[70, 300], Some(rng.tensor(&[70, 300])));
    let x = rng.tensor(&[37, 70]);
    let one = diff_with_threads(&g, std::slice::from_ref(&x), 1);
    let two = diff_with_threads(&g, &[x], 2);
    assert!(one <= TOL && two <= TOL, "{one} {two}");
}

fn gemm_graph(
    attrs: GemmAttrs,
    a: &[usize],
    b: &[usize],
    c: Option<&[usize]>,
    seed: u64,
) -> (Graph, Vec<int8xc_ir::TensorData>) {
    let mut rng = TestRng::new(seed);
    let mut g = Graph::new("gemm");
    let x = g.add_input("a", f32_ty(a));
    let w = g.add_const("w", rng.tensor(b));
    let mut ins = vec![x, w];
    if let Some(c) = c {
        ins.push(g.add_const("c", rng.tensor(c)));
    }
    let y = node(&mut g, "y", Op::Gemm(attrs), ins);
    g.outputs.push(y);
    (g, vec![rng.tensor(a)])
}

#[test]
fn gemm_with_transposes_scales_and_broadcast_bias() {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        for c in [None, Some(&[10usize][..]), Some(&[6, 1][..]), Some(&[6, 10][..]), Some(&[][..])] {
            let attrs = GemmAttrs { alpha: 0.5, beta: 2.0, trans_a: ta, trans_b: tb };
            let a = if ta { [9, 6] } else { [6, 9] };
            let b = if tb { [10, 9] } else { [9, 10] };
            let (g, inputs) = gemm_graph(attrs, &a, &b, c, 21);
            let e = diff(&g, &inputs);
            assert!(e <= TOL, "trans {ta} {tb} c {c:?}: {e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn random_matmul_shapes_match_interpreter(
        m in 1usize..40, n in 1usize..150, k in 1usize..70,
        batch in prop::collection::vec(1usize..4, 0..=2),
        broadcast_b in any::<bool>(),
        const_b in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut a = batch.clone();
        a.extend([m, k]);
        let mut b = if broadcast_b { vec![] } else { batch.clone() };
        b.extend([k, n]);
        check_matmul(&a, &b, const_b, seed);
    }
}
