//! AveragePool with dilations and MaxPool with its `Indices` output (`MaxPoolWithIndices`)
//! vs. the interpreter.

mod common;

use common::*;
use int8xc_ir::{Graph, Op, PoolAttrs, TensorData};
use proptest::prelude::*;

/// A graph of one pool node over an f32 input of `shape`, or `None` when shape inference
/// rejects the attributes.
fn pool_graph(op: Op, shape: &[usize]) -> Option<Graph> {
    let mut g = Graph::new("pool");
    let x = g.add_input("x", f32_ty(shape));
    g.outputs = g.add_node("y", op, vec![x]).ok()?;
    Some(g)
}

/// Compares JIT and interpreter on `x` (indices exactly, values within `tol`); false when
/// shape inference rejects the attributes.
fn check(op: Op, x: &TensorData, tol: f32) -> bool {
    let Some(g) = pool_graph(op.clone(), x.shape()) else { return false };
    let e = diff(&g, std::slice::from_ref(x));
    assert!(e <= tol, "{op:?} {:?}: {e}", x.shape());
    true
}

fn attrs(k: [usize; 2], s: [usize; 2], pads: [usize; 4], d: [usize; 2], ceil: bool, include: bool) -> PoolAttrs {
    PoolAttrs { kernel: k, strides: s, pads, dilations: d, ceil_mode: ceil, count_include_pad: include }
}

#[test]
fn average_pool_with_dilations_matches_the_onnx_example() {
    // ONNX AveragePool example averagepool_2d_dilations: x = 1..=16 as [1, 1, 4, 4], kernel 2,
    // dilation 2, ceil mode → [[6, 7], [10, 11]]
    let x = TensorData::from_f32([1, 1, 4, 4], (1..=16).map(|v| v as f32).collect()).unwrap();
    let a = attrs([2, 2], [1, 1], [0; 4], [2, 2], true, false);
    let g = pool_graph(Op::AveragePool(a.clone()), &[1, 1, 4, 4]).unwrap();
    let y = int8xc_interp::Interpreter.run_graph(&g, std::slice::from_ref(&x)).unwrap();
    assert_eq!(y[0].as_f32().unwrap(), &[6.0, 7.0, 10.0, 11.0]);
    assert!(check(Op::AveragePool(a), &x, 0.0));
}

#[test]
fn average_pool_dilations_with_padding_and_ceil_mode() {
    let x = TestRng::new(7).tensor(&[2, 3, 13, 11]);
    for include in [false, true] {
        for ceil in [false, true] {
            let a = attrs([3, 2], [2, 3], [1, 0, 2, 1], [2, 3], ceil, include);
            assert!(check(Op::AveragePool(a), &x, TOL));
        }
    }
}

#[test]
fn max_pool_indices_match_the_onnx_examples() {
    let x = TensorData::from_f32([1, 1, 5, 5], (1..=25).map(|v| v as f32).collect()).unwrap();
    for column_major in [false, true] {
        let strides = attrs([2, 2], [2, 2], [0; 4], [1, 1], false, false);
        assert!(check(Op::MaxPoolWithIndices { pool: strides, column_major }, &x, 0.0));
        let pads = attrs([5, 5], [1, 1], [2; 4], [1, 1], false, false);
        assert!(check(Op::MaxPoolWithIndices { pool: pads, column_major }, &x, 0.0));
    }
}

#[test]
fn max_pool_indices_with_ties_nan_and_empty_windows() {
    // ties keep the first element; a leading NaN stays; a window of padding only gives -inf, -1
    let x =
        TensorData::from_f32([1, 2, 2, 3], vec![1., 1., 0., 1., f32::NAN, 2., f32::NAN, 2., 3., 3., 3., 3.]).unwrap();
    for column_major in [false, true] {
        for a in [
            attrs([2, 2], [1, 1], [0; 4], [1, 1], false, false),
            attrs([1, 2], [1, 1], [0, 1, 0, 1], [1, 3], false, false),
            attrs([2, 2], [1, 1], [1, 1, 1, 1], [2, 2], true, false),
        ] {
            assert!(check(Op::MaxPoolWithIndices { pool: a, column_major }, &x, 0.0));
        }
    }
    // one column padded 1 + 1, dilation 2: the only window holds no input element
    let one = TensorData::from_f32([1, 1, 1, 1], vec![5.0]).unwrap();
    let a = attrs([1, 2], [1, 1], [0, 1, 0, 1], [1, 2], false, false);
    let g = pool_graph(Op::MaxPoolWithIndices { pool: a.clone(), column_major: false }, &[1, 1, 1, 1]).unwrap();
    let y = int8xc_interp::Interpreter.run_graph(&g, std::slice::from_ref(&one)).unwrap();
    assert_eq!((y[0].as_f32().unwrap(), y[1].as_i64().unwrap()), (&[f32::NEG_INFINITY][..], &[-1][..]));
    assert!(check(Op::MaxPoolWithIndices { pool: a, column_major: false }, &one, 0.0));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_dilated_average_pools_match_interpreter(
        k in (1usize..4, 1usize..4),
        s in (1usize..4, 1usize..4),
        p in (0usize..3, 0usize..3, 0usize..3, 0usize..3),
        d in (1usize..4, 1usize..4),
        ceil in any::<bool>(),
        include in any::<bool>(),
        nc in (1usize..3, 1usize..4),
        hw in (1usize..16, 1usize..16),
        seed in any::<u64>(),
    ) {
        // ONNX requires pads smaller than the kernel.
        let pads = [p.0.min(k.0 - 1), p.1.min(k.1 - 1), p.2.min(k.0 - 1), p.3.min(k.1 - 1)];
        let a = attrs([k.0, k.1], [s.0, s.1], pads, [d.0, d.1], ceil, include);
        let x = TestRng::new(seed).tensor(&[nc.0, nc.1, hw.0, hw.1]);
        check(Op::AveragePool(a), &x, TOL);
    }

    #[test]
    fn random_max_pools_with_indices_match_interpreter(
        k in (1usize..4, 1usize..4),
        s in (1usize..4, 1usize..4),
        p in (0usize..3, 0usize..3, 0usize..3, 0usize..3),
        d in (1usize..3, 1usize..3),
        ceil in any::<bool>(),
        column_major in any::<bool>(),
        nc in (1usize..3, 1usize..4),
        hw in (1usize..16, 1usize..16),
        levels in 2u64..64,
        seed in any::<u64>(),
    ) {
        let pads = [p.0.min(k.0 - 1), p.1.min(k.1 - 1), p.2.min(k.0 - 1), p.3.min(k.1 - 1)];
        let a = attrs([k.0, k.1], [s.0, s.1], pads, [d.0, d.1], ceil, false);
        // few distinct values, so windows hold ties
        let shape = [nc.0, nc.1, hw.0, hw.1];
        let mut rng = TestRng::new(seed);
        let v = (0..shape.iter().product()).map(|_| (rng.next_u64() % levels) as f32).collect();
        let x = TensorData::from_f32(shape, v).unwrap();
        check(Op::MaxPoolWithIndices { pool: a, column_major }, &x, 0.0);
    }
}
