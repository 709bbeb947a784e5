//! ConvTranspose with `output_padding` at least the stride (how the importer expresses the
//! negative end pads ONNX derives from a large `output_shape`; the extra rows hold only the
//! bias) and the grouped one-hot depth step of a 3-D ConvTranspose vs. the interpreter:
//! bit-exact, as the kernel documents.

mod common;

use common::*;
use int8xc_ir::{ConvTransposeAttrs, Graph, Op, TensorData};
use proptest::prelude::*;

/// `ConvTranspose(a)` over `x` (input) with constant weights `w` and bias; error vs. the
/// interpreter.
fn diff_conv_t(a: ConvTransposeAttrs, x: &[usize], w: TensorData, seed: u64) -> f32 {
    let mut rng = TestRng::new(seed);
    let mut g = Graph::new("ct");
    let xv = g.add_input("x", f32_ty(x));
    let m = w.shape()[1] * a.group;
    let wv = g.add_const("w", w);
    let b = g.add_const("b", rng.tensor(&[m]));
    let y = node(&mut g, "y", Op::ConvTranspose(a), vec![xv, wv, b]);
    g.outputs.push(y);
    diff(&g, &[rng.tensor(x)])
}

#[test]
fn output_padding_beyond_the_stride_adds_bias_only_rows() {
    let a = ConvTransposeAttrs {
        kernel: [3, 3],
        strides: [3, 2],
        pads: [0; 4],
        dilations: [1, 1],
        output_padding: [4, 3],
        group: 1,
    };
    let w = TestRng::new(1).tensor(&[1, 2, 3, 3]);
    assert_eq!(diff_conv_t(a, &[1, 1, 3, 3], w, 2), 0.0);
}

#[test]
fn depth_step_of_a_3d_conv_transpose_is_bit_exact() {
    // [N, M·kD, D, P] with group M and one-hot weights [M·kD, 1, kD, 1]
    let (m, kd) = (3, 2);
    let one_hot = (0..m * kd * kd).map(|i| if i / kd % kd == i % kd { 1.0 } else { 0.0 }).collect();
    let w = TensorData::from_f32([m * kd, 1, kd, 1], one_hot).unwrap();
    let a = ConvTransposeAttrs {
        kernel: [kd, 1],
        strides: [2, 1],
        pads: [1, 0, 0, 0],
        dilations: [1, 1],
        output_padding: [1, 0],
        group: m,
    };
    assert_eq!(diff_conv_t(a, &[1, m * kd, 4, 10], w, 3), 0.0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn random_output_padding_matches_interpreter(
        k in (1usize..4, 1usize..4),
        s in (1usize..4, 1usize..4),
        extra in (0usize..6, 0usize..6),
        hw in (1usize..6, 1usize..6),
        seed in any::<u64>(),
    ) {
        let a = ConvTransposeAttrs {
            kernel: [k.0, k.1],
            strides: [s.0, s.1],
            pads: [0; 4],
            dilations: [1, 1],
            output_padding: [extra.0, extra.1],
            group: 1,
        };
        let w = TestRng::new(seed ^ 1).tensor(&[2, 3, k.0, k.1]);
        prop_assert_eq!(diff_conv_t(a, &[1, 2, hw.0, hw.1], w, seed), 0.0);
    }
}
