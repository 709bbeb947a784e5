//! `f16` operands of the JIT's f32-only kernels (`MatMul`, `Gemm`, `Conv`, `ConvTranspose`,
//! `Softmax`, `LogSoftmax`, `ReduceMean`, `BatchNormalization`, pools, `ArgMax`) vs. the
//! interpreter. The JIT widens such nodes before lowering (`Cast` to f32, the op on f32,
//! `Cast` back to f16); the interpreter computes f16 ops in f32 and rounds once. Weights are
//! `f16` constants and inputs are `f16` graph inputs.
//!
//! Tolerance: both round an f32 result to f16 once, but the JIT's f32 result may differ from
//! the interpreter's by a few f32 ULP (reassociated sums), which can move it across an f16
//! rounding boundary: an element passes when `|jit - ref| <= 2^-10 · |ref| + 1e-5` (one f16
//! ULP plus the f32 sum error of short dot products of values in [-1, 1]). Integer outputs
//! (`ArgMax`, pool indices) and max pools must match exactly.

mod common;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{
    BinaryOp, ConvAttrs, ConvTransposeAttrs, DType, GemmAttrs, Graph, Op, PoolAttrs, TensorData, TensorType,
};
use int8xc_jit::{compile, emit_object, JitOptions};
use int8xc_runtime::Executable;

fn f16_ty(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F16, shape.to_vec())
}

/// `t` rounded to f16 (by the interpreter's `Cast`, round to nearest even).
fn to_f16(t: &TensorData) -> TensorData {
    let mut g = Graph::new("cast");
    let x = g.add_input("x", TensorType::new(t.dtype(), t.shape().to_vec()));
    let y = node(&mut g, "y", Op::Cast { to: DType::F16 }, vec![x]);
    g.outputs.push(y);
    Interpreter.run_graph(&g, std::slice::from_ref(t)).unwrap().remove(0)
}

/// Random f16 values in [-1, 1).
fn rand_f16(rng: &mut TestRng, shape: &[usize]) -> TensorData {
    to_f16(&rng.tensor(shape))
}

/// Runs `g` with the interpreter and the JIT (every microkernel mode) and compares every
/// output: f16 within the tolerance of the module docs (bit-exact when `exact`), others
/// exactly. Returns how many f16 elements were compared.
fn check(g: &Graph, inputs: &[TensorData], exact: bool) -> usize {
    let want = Interpreter.run_graph(g, inputs).unwrap_or_else(|e| panic!("interp: {e}"));
    let mut compared = 0;
    for ukernels in MICROKERNELS {
        let model = compile(g, &JitOptions { ukernels, ..JitOptions::default() })
            .unwrap_or_else(|e| panic!("compile ({ukernels:?}): {e}"));
        let got = model.run(inputs).unwrap_or_else(|e| panic!("run ({ukernels:?}): {e}"));
        assert_eq!(got.len(), want.len());
        for (k, (a, b)) in got.iter().zip(&want).enumerate() {
            assert_eq!((a.dtype(), a.shape()), (b.dtype(), b.shape()), "output {k}");
            if b.dtype() != DType::F16 || exact {
                assert_eq!(a, b, "output {k} ({ukernels:?})");
                continue;
            }
            for (i, (x, y)) in a.to_f32_vec().into_iter().zip(b.to_f32_vec()).enumerate() {
                let tol = y.abs() / 1024.0 + 1e-5;
                assert!((x - y).abs() <= tol, "output {k}[{i}] ({ukernels:?}): jit {x}, interp {y}");
                compared += 1;
            }
        }
    }
    compared
}

#[test]
fn f16_batched_matmul_with_constant_and_runtime_operands() {
    let mut rng = TestRng::new(1);
    let mut g = Graph::new("mm");
    let x = g.add_input("x", f16_ty(&[2, 3, 5, 7]));
    let z = g.add_input("z", f16_ty(&[3, 9, 4]));
    let w = g.add_const("w", rand_f16(&mut rng, &[7, 9]));
    let y = node(&mut g, "y", Op::MatMul, vec![x, w]);
    let out = node(&mut g, "out", Op::MatMul, vec![y, z]);
    g.outputs.extend([y, out]);
    let inputs = [rand_f16(&mut rng, &[2, 3, 5, 7]), rand_f16(&mut rng, &[3, 9, 4])];
    assert!(check(&g, &inputs, false) > 0);
}

#[test]
fn f16_gemm_with_transposed_constant_weights_and_bias() {
    let mut rng = TestRng::new(2);
    let mut g = Graph::new("gemm");
    let a = g.add_input("a", f16_ty(&[6, 11]));
    let b = g.add_const("b", rand_f16(&mut rng, &[5, 11]));
    let c = g.add_const("c", rand_f16(&mut rng, &[5]));
    let attrs = GemmAttrs { alpha: 0.5, beta: 2.0, trans_a: false, trans_b: true };
    let y = node(&mut g, "y", Op::Gemm(attrs), vec![a, b, c]);
    g.outputs.push(y);
    check(&g, &[rand_f16(&mut rng, &[6, 11])], false);
}

#[test]
fn f16_conv_with_constant_weights_and_bias() {
    let mut rng = TestRng::new(3);
    let mut g = Graph::new("conv");
    let x = g.add_input("x", f16_ty(&[1, 3, 9, 9]));
    let w = g.add_const("w", rand_f16(&mut rng, &[4, 3, 3, 3]));
    let b = g.add_const("b", rand_f16(&mut rng, &[4]));
    let attrs = ConvAttrs { kernel: [3, 3], strides: [1, 1], pads: [1; 4], dilations: [1, 1], group: 1 };
    let y = node(&mut g, "y", Op::Conv(attrs), vec![x, w, b]);
    g.outputs.push(y);
    check(&g, &[rand_f16(&mut rng, &[1, 3, 9, 9])], false);
}

/// A depthwise causal 1-D convolution (as ONNX `Conv` on `[N, C, 1, T]` with left padding
/// only), the shape of the `causal_conv_with_state` node tests.
#[test]
fn f16_depthwise_causal_conv() {
    let mut rng = TestRng::new(4);
    let mut g = Graph::new("causal");
    let x = g.add_input("x", f16_ty(&[2, 4, 1, 10]));
    let w = g.add_const("w", rand_f16(&mut rng, &[4, 1, 1, 3]));
    let attrs = ConvAttrs { kernel: [1, 3], strides: [1, 1], pads: [0, 2, 0, 0], dilations: [1, 1], group: 4 };
    let y = node(&mut g, "y", Op::Conv(attrs), vec![x, w]);
    g.outputs.push(y);
    check(&g, &[rand_f16(&mut rng, &[2, 4, 1, 10])], false);
}

#[test]
fn f16_conv_transpose() {
    let mut rng = TestRng::new(5);
    let mut g = Graph::new("convt");
    let x = g.add_input("x", f16_ty(&[1, 2, 4, 5]));
    let w = g.add_const("w", rand_f16(&mut rng, &[2, 3, 3, 3]));
    let attrs = ConvTransposeAttrs {
        kernel: [3, 3],
        strides: [2, 2],
        pads: [1; 4],
        dilations: [1, 1],
        output_padding: [1, 1],
        group: 1,
    };
    let y = node(&mut g, "y", Op::ConvTranspose(attrs), vec![x, w]);
    g.outputs.push(y);
    check(&g, &[rand_f16(&mut rng, &[1, 2, 4, 5])], false);
}

#[test]
fn f16_softmax_log_softmax_reduce_mean_and_batch_norm() {
    let mut rng = TestRng::new(6);
    let mut g = Graph::new("norms");
    let shape = [2, 4, 3, 5];
    let x = g.add_input("x", f16_ty(&shape));
    let sm = node(&mut g, "sm", Op::Softmax { axis: 3 }, vec![x]);
    let lsm = node(&mut g, "lsm", Op::LogSoftmax { axis: 1 }, vec![x]);
    let rm = node(&mut g, "rm", Op::ReduceMean { axes: vec![1, 3], keepdims: true }, vec![x]);
    let mut bn_in = vec![x];
    bn_in.extend(["scale", "bias", "mean"].map(|n| g.add_const(n, rand_f16(&mut rng, &[4]))));
    bn_in.push(g.add_const("var", to_f16(&TensorData::from_f32([4], vec![0.5, 1.0, 2.0, 0.25]).unwrap())));
    let bn = node(&mut g, "bn", Op::BatchNormalization { epsilon: 1e-5 }, bn_in);
    let gap = node(&mut g, "gap", Op::GlobalAveragePool, vec![x]);
    g.outputs.extend([sm, lsm, rm, bn, gap]);
    check(&g, &[rand_f16(&mut rng, &shape)], false);
}

/// Max pools (with and without indices) and `ArgMax` select an input element: exact.
#[test]
fn f16_max_pools_and_arg_max_are_exact() {
    let mut rng = TestRng::new(7);
    let mut g = Graph::new("pools");
    let shape = [1, 3, 7, 6];
    let x = g.add_input("x", f16_ty(&shape));
    let pool = PoolAttrs {
        kernel: [3, 2],
        strides: [2, 2],
        pads: [1, 0, 1, 1],
        dilations: [1, 1],
        ceil_mode: false,
        count_include_pad: false,
    };
    let mp = node(&mut g, "mp", Op::MaxPool(pool.clone()), vec![x]);
    let mpi = g.add_node("mpi", Op::MaxPoolWithIndices { pool, column_major: false }, vec![x]).unwrap();
    let am = node(&mut g, "am", Op::ArgMax { axis: 3, keepdims: false, select_last_index: false }, vec![x]);
    g.outputs.extend([mp, mpi[0], mpi[1], am]);
    check(&g, &[rand_f16(&mut rng, &shape)], true);
}

#[test]
fn f16_average_pool() {
    let mut rng = TestRng::new(8);
    let mut g = Graph::new("avg");
    let x = g.add_input("x", f16_ty(&[2, 2, 6, 6]));
    let pool = PoolAttrs {
        kernel: [3, 3],
        strides: [2, 2],
        pads: [1; 4],
        dilations: [1, 1],
        ceil_mode: true,
        count_include_pad: false,
    };
    let y = node(&mut g, "y", Op::AveragePool(pool), vec![x]);
    g.outputs.push(y);
    check(&g, &[rand_f16(&mut rng, &[2, 2, 6, 6])], false);
}

/// `x: f16 → MatMul(w) → Add → Softmax`, in f16 or in f32.
fn chain(dtype: DType, rng: &mut TestRng) -> Graph {
    let mut g = Graph::new("chain");
    let x = g.add_input("x", TensorType::new(dtype, vec![4, 8]));
    let w = rng.tensor(&[8, 6]);
    let w = g.add_const("w", if dtype == DType::F16 { to_f16(&w) } else { w });
    let mm = node(&mut g, "mm", Op::MatMul, vec![x, w]);
    let add = node(&mut g, "add", Op::Binary(BinaryOp::Add), vec![mm, mm]);
    let sm = node(&mut g, "sm", Op::Softmax { axis: 1 }, vec![add]);
    g.outputs.extend([add, sm]);
    g
}

/// The widened graph keeps the signature (names and types), casts each run-time f16 value
/// once, turns the f16 weights into an f32 constant (no `Cast` kernel for them) and leaves
/// the natively f16 `Add` alone.
#[test]
fn f16_chain_keeps_signature_and_adds_only_the_needed_casts() {
    let mut rng = TestRng::new(9);
    let g = chain(DType::F16, &mut rng);
    let model = compile(&g, &JitOptions::default()).unwrap();
    let sig = model.signature();
    let names = |vs: &[int8xc_ir::ValueId]| -> Vec<(String, TensorType)> {
        vs.iter().map(|&v| (g.value(v).name.clone(), g.ty(v).clone())).collect()
    };
    assert_eq!(sig.inputs, names(&g.inputs));
    assert_eq!(sig.outputs, names(&g.outputs));
    let per_op = &model.stats().per_op;
    // x → f32, mm → f16, add → f32 (Softmax input), sm → f16.
    assert_eq!(per_op.get("Cast"), Some(&4), "{per_op:?}");
    assert_eq!((per_op.get("MatMul"), per_op.get("Add"), per_op.get("Softmax")), (Some(&1), Some(&1), Some(&1)));
    check(&g, &[rand_f16(&mut rng, &[4, 8])], false);
}

#[test]
fn f32_graph_is_compiled_without_casts() {
    let g = chain(DType::F32, &mut TestRng::new(10));
    let model = compile(&g, &JitOptions::default()).unwrap();
    assert_eq!(model.stats().kernels, g.nodes.len());
    assert_eq!(model.stats().per_op.get("Cast"), None);
}

/// Object files get the same widening (the kernels are f32-only there too).
#[test]
fn f16_chain_emits_objects() {
    let g = chain(DType::F16, &mut TestRng::new(11));
    for triple in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        let t: target_lexicon::Triple = triple.parse().unwrap();
        let opts = JitOptions { verify: true, ..JitOptions::default() };
        let obj = emit_object(&g, &t, &opts).unwrap_or_else(|e| panic!("{triple}: {e}"));
        assert!(!obj.is_empty(), "{triple}");
    }
}
