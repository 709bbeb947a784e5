//! MaxPool / AveragePool kernels vs. the interpreter.

mod common;

use common::*;
use int8xc_ir::{DType, Data, Graph, Op, PoolAttrs, TensorData, TensorType};
use proptest::prelude::*;

fn pool_graph(max: bool, a: PoolAttrs, shape: &[usize]) -> Option<Graph> {
    let mut g = Graph::new("pool");
    let x = g.add_input("x", f32_ty(shape));
    let op = if max { Op::MaxPool(a) } else { Op::AveragePool(a) };
    let y = g.add_node("y", op, vec![x]).ok()?[0];
    g.outputs.push(y);
    Some(g)
}

/// Compares JIT and interpreter; returns false when shape inference rejects the attributes.
fn check(max: bool, a: PoolAttrs, shape: &[usize], seed: u64) -> bool {
    let Some(g) = pool_graph(max, a.clone(), shape) else { return false };
    let x = TestRng::new(seed).tensor(shape);
    let e = diff(&g, &[x]);
    let tol = if max { 0.0 } else { TOL };
    assert!(e <= tol, "max {max} {a:?} {shape:?}: {e}");
    true
}

fn attrs(k: usize, s: usize, p: usize) -> PoolAttrs {
    PoolAttrs {
        kernel: [k, k],
        strides: [s, s],
        pads: [p; 4],
        dilations: [1, 1],
        ceil_mode: false,
        count_include_pad: false,
    }
}

#[test]
fn resnet_and_classic_pools() {
    assert!(check(true, attrs(3, 2, 1), &[1, 8, 17, 17], 1));
    assert!(check(true, attrs(2, 2, 0), &[2, 3, 12, 12], 2));
    assert!(check(false, attrs(3, 1, 1), &[1, 5, 9, 14], 3));
    assert!(check(false, PoolAttrs { count_include_pad: true, ..attrs(3, 2, 1) }, &[1, 4, 11, 11], 4));
    assert!(check(false, PoolAttrs { ceil_mode: true, ..attrs(3, 2, 0) }, &[1, 2, 10, 10], 5));
    assert!(check(true, PoolAttrs { ceil_mode: true, dilations: [2, 2], ..attrs(2, 3, 1) }, &[1, 2, 13, 13], 6));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_pools_match_interpreter(
        max in any::<bool>(),
        k in (1usize..4, 1usize..4),
        s in (1usize..4, 1usize..4),
        p in (0usize..3, 0usize..3, 0usize..3, 0usize..3),
        d in (1usize..3, 1usize..3),
        ceil in any::<bool>(),
        include in any::<bool>(),
        hw in (1usize..16, 1usize..16),
        seed in any::<u64>(),
    ) {
        let d = if max { [d.0, d.1] } else { [1, 1] };
        // ONNX requires pads smaller than the kernel.
        let pads = [p.0.min(k.0 - 1), p.1.min(k.1 - 1), p.2.min(k.0 - 1), p.3.min(k.1 - 1)];
        let a = PoolAttrs { kernel: [k.0, k.1], strides: [s.0, s.1], pads, dilations: d, ceil_mode: ceil, count_include_pad: include };
        check(max, a, &[1, 3, hw.0, hw.1], seed);
    }
}

/// `MaxPool` on `u8`/`i8` planes wide enough for the 16-output vector steps (strides 1 and 2)
/// and their scalar borders; bit-exact.
fn check_int8(signed: bool, a: PoolAttrs, shape: &[usize], seed: u64) -> bool {
    let dtype = if signed { DType::I8 } else { DType::U8 };
    let mut g = Graph::new("qpool");
    let x = g.add_input("x", TensorType::new(dtype, shape.to_vec()));
    let Ok(y) = g.add_node("y", Op::MaxPool(a.clone()), vec![x]) else { return false };
    g.outputs.push(y[0]);
    let mut rng = TestRng::new(seed);
    let len: usize = shape.iter().product();
    let data = if signed {
        Data::I8((0..len).map(|_| rng.next_u64() as i8).collect())
    } else {
        Data::U8((0..len).map(|_| rng.next_u64() as u8).collect())
    };
    let e = diff(&g, &[TensorData::new(shape.to_vec(), data).unwrap()]);
    assert_eq!(e, 0.0, "{dtype} {a:?} {shape:?}");
    true
}

#[test]
fn int8_max_pool_resnet_stem_and_wide_planes() {
    assert!(check_int8(false, attrs(3, 2, 1), &[1, 16, 32, 32], 20));
    assert!(check_int8(true, attrs(3, 1, 1), &[2, 3, 9, 40], 21));
    assert!(check_int8(false, PoolAttrs { dilations: [2, 3], ..attrs(3, 2, 2) }, &[1, 2, 20, 75], 22));
    assert!(check_int8(true, PoolAttrs { ceil_mode: true, ..attrs(2, 2, 0) }, &[1, 2, 7, 67], 23));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_int8_max_pools_match_interpreter(
        signed in any::<bool>(),
        k in (1usize..4, 1usize..4),
        s in (1usize..4, 1usize..5),
        p in (0usize..3, 0usize..3, 0usize..3, 0usize..3),
        d in (1usize..3, 1usize..3),
        ceil in any::<bool>(),
        hw in (1usize..12, 1usize..80),
        seed in any::<u64>(),
    ) {
        let pads = [p.0.min(k.0 - 1), p.1.min(k.1 - 1), p.2.min(k.0 - 1), p.3.min(k.1 - 1)];
        let a = PoolAttrs { kernel: [k.0, k.1], strides: [s.0, s.1], pads, dilations: [d.0, d.1], ceil_mode: ceil, count_include_pad: false };
        check_int8(signed, a, &[1, 2, hw.0, hw.1], seed);
    }
}
