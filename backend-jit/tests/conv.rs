//! Conv kernels (pointwise, im2col + GEMM, grouped, depthwise) vs. the interpreter.

mod common;

use common::*;
use int8xc_ir::{ConvAttrs, Graph, Op, TensorData};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Case {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    m: usize,
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 4],
    d: [usize; 2],
    g: usize,
    bias: bool,
}

fn conv_graph(cs: &Case, seed: u64) -> (Graph, TensorData) {
    let mut rng = TestRng::new(seed);
    let mut g = Graph::new("conv");
    let x = g.add_input("x", f32_ty(&[cs.n, cs.c, cs.h, cs.w]));
    let w = g.add_const("w", rng.tensor(&[cs.m, cs.c / cs.g, cs.k[0], cs.k[1]]));
    let mut ins = vec![x, w];
    if cs.bias {
        ins.push(g.add_const("b", rng.tensor(&[cs.m])));
    }
    let attrs = ConvAttrs { kernel: cs.k, strides: cs.s, pads: cs.p, dilations: cs.d, group: cs.g };
    let y = node(&mut g, "y", Op::Conv(attrs), ins);
    g.outputs.push(y);
    (g, rng.tensor(&[cs.n, cs.c, cs.h, cs.w]))
}

fn check(cs: &Case, seed: u64, threads: usize) {
    let (g, x) = conv_graph(cs, seed);
    let e = diff_with_threads(&g, &[x], threads);
    assert!(e <= TOL, "{cs:?}: max error {e}");
}

fn case(c: usize, h: usize, m: usize, k: usize, s: usize, p: usize, g: usize) -> Case {
    Case { n: 1, c, h, w: h, m, k: [k, k], s: [s, s], p: [p; 4], d: [1, 1], g, bias: true }
}

#[test]
fn pointwise_conv_reads_input_in_place() {
    check(&case(16, 9, 24, 1, 1, 0, 1), 1, 1);
    check(&Case { n: 2, bias: false, ..case(5, 7, 3, 1, 1, 0, 1) }, 2, 1);
}

#[test]
fn im2col_conv_with_padding_stride_and_dilation() {
    check(&case(3, 17, 8, 3, 1, 1, 1), 3, 1);
    check(&case(4, 16, 13, 3, 2, 1, 1), 4, 1);
    check(&case(3, 23, 16, 7, 2, 3, 1), 5, 1);
    check(&Case { d: [2, 3], p: [2, 1, 0, 3], ..case(5, 15, 9, 3, 1, 0, 1) }, 6, 1);
    check(&case(8, 9, 8, 1, 2, 0, 1), 7, 1);
}

#[test]
fn grouped_and_depthwise_conv() {
    check(&case(8, 10, 12, 3, 1, 1, 4), 8, 1);
    check(&case(16, 13, 16, 3, 1, 1, 16), 9, 1);
    check(&case(12, 14, 12, 3, 2, 1, 12), 10, 1);
    check(&case(6, 11, 6, 5, 3, 2, 6), 11, 1);
    check(&Case { bias: false, d: [2, 2], ..case(4, 12, 4, 3, 1, 2, 4) }, 12, 1);
}

/// Weights and bias that are graph inputs (the direct-convolution path).
#[test]
fn conv_with_run_time_weights_and_bias() {
    for (i, cs) in [
        case(3, 9, 4, 3, 1, 1, 1),
        Case { d: [2, 1], p: [2, 1, 0, 3], s: [2, 1], ..case(4, 11, 6, 3, 1, 0, 2) },
        Case { n: 2, bias: false, ..case(6, 7, 6, 3, 2, 1, 6) },
    ]
    .iter()
    .enumerate()
    {
        let mut rng = TestRng::new(30 + i as u64);
        let mut g = Graph::new("conv_rt");
        let x = g.add_input("x", f32_ty(&[cs.n, cs.c, cs.h, cs.w]));
        let w_shape = [cs.m, cs.c / cs.g, cs.k[0], cs.k[1]];
        let w = g.add_input("w", f32_ty(&w_shape));
        let mut ins = vec![x, w];
        let mut feeds = vec![rng.tensor(&[cs.n, cs.c, cs.h, cs.w]), rng.tensor(&w_shape)];
        if cs.bias {
            ins.push(g.add_input("b", f32_ty(&[cs.m])));
            feeds.push(rng.tensor(&[cs.m]));
        }
        let attrs = ConvAttrs { kernel: cs.k, strides: cs.s, pads: cs.p, dilations: cs.d, group: cs.g };
        let y = node(&mut g, "y", Op::Conv(attrs), ins);
        g.outputs.push(y);
        let e = diff_with_threads(&g, &feeds, 2);
        assert!(e <= TOL, "{cs:?}: max error {e}");
    }
}

#[test]
fn big_conv_splits_across_threads() {
    check(&Case { n: 2, ..case(32, 30, 40, 3, 1, 1, 1) }, 13, 2);
    check(&Case { n: 2, ..case(32, 30, 32, 3, 1, 1, 32) }, 14, 2);
}

fn arb_case() -> impl Strategy<Value = Case> {
    (
        1usize..3,
        1usize..5,
        prop_oneof![Just(1usize), Just(2), Just(3)],
        1usize..6,
        (1usize..4, 1usize..4),
        (1usize..3, 1usize..3),
        (1usize..3, 1usize..3),
        (0usize..3, 0usize..3, 0usize..3, 0usize..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(n, cpg, g, mpg, k, s, d, p, depthwise, bias)| {
            let (g, cpg, mpg) = if depthwise { (cpg * g + 1, 1, 1) } else { (g, cpg, mpg) };
            let min_h = (d.0 * (k.0 - 1) + 1).saturating_sub(p.0 + p.2).max(1);
            let min_w = (d.1 * (k.1 - 1) + 1).saturating_sub(p.1 + p.3).max(1);
            (min_h..min_h + 12, min_w..min_w + 12).prop_map(move |(h, w)| Case {
                n,
                c: cpg * g,
                h,
                w,
                m: mpg * g,
                k: [k.0, k.1],
                s: [s.0, s.1],
                p: [p.0, p.1, p.2, p.3],
                d: [d.0, d.1],
                g,
                bias,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_convs_match_interpreter(cs in arb_case(), seed in any::<u64>()) {
        check(&cs, seed, 1);
    }
}
