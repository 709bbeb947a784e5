//! `Gather` and `GatherElements` with run-time indices vs. the interpreter, and the fault
//! mechanism: an out-of-range index is an error naming the node and the index, never an
//! out-of-bounds access, with one thread or several.

mod common;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{DType, Graph, Op, TensorData, TensorType};
use int8xc_jit::{compile, JitOptions};
use int8xc_runtime::Executable;
use proptest::prelude::*;

/// A graph `y = op(data, indices)` with both operands as graph inputs.
fn one_op(op: Op, data: TensorType, indices: TensorType) -> Graph {
    let mut g = Graph::new("gather");
    let d = g.add_input("data", data);
    let i = g.add_input("indices", indices);
    g.outputs = g.add_node("gather_node", op, vec![d, i]).unwrap_or_else(|e| panic!("{e}"));
    g
}

fn cast(t: &TensorData, dtype: DType) -> TensorData {
    Interpreter.eval_op(&Op::Cast { to: dtype }, &[t], &[]).unwrap().remove(0)
}

/// `n` indices in `[-d, d)`.
fn indices(rng: &mut TestRng, shape: &[usize], d: usize) -> TensorData {
    let n: usize = shape.iter().product();
    let v = (0..n).map(|_| (rng.next_u64() % (2 * d as u64)) as i64 - d as i64).collect();
    TensorData::from_i64(shape.to_vec(), v).unwrap()
}

/// Runs with 1 and 3 threads; returns the error messages (both runs must fail).
fn run_errors(g: &Graph, inputs: &[TensorData]) -> Vec<String> {
    [1, 3]
        .into_iter()
        .map(|threads| {
            let model = compile(g, &JitOptions { threads, ..JitOptions::default() }).unwrap();
            let e = model.run(inputs).expect_err("out-of-range index must fail");
            e.to_string()
        })
        .collect()
}

#[test]
fn gather_run_time_indices_match_interpreter_for_every_dtype() {
    let mut rng = TestRng::new(11);
    let data = rng.tensor(&[4, 5, 3]);
    for axis in 0..3 {
        let d = [4, 5, 3][axis];
        for ishape in [vec![], vec![7], vec![2, 3]] {
            let idx = indices(&mut rng, &ishape, d);
            for idt in [DType::I64, DType::I32] {
                for ddt in
                    [DType::F32, DType::F16, DType::I64, DType::I32, DType::I16, DType::I8, DType::U8, DType::Bool]
                {
                    let x = cast(&data, ddt);
                    let i = cast(&idx, idt);
                    let g = one_op(
                        Op::Gather { axis },
                        TensorType::new(ddt, x.shape().to_vec()),
                        TensorType::new(idt, ishape.clone()),
                    );
                    for threads in [1, 2] {
                        assert_eq!(diff_with_threads(&g, &[x.clone(), i.clone()], threads), 0.0, "{axis} {ddt} {idt}");
                    }
                }
            }
        }
    }
}

#[test]
fn gather_elements_run_time_indices_match_interpreter() {
    let mut rng = TestRng::new(12);
    let data = rng.tensor(&[3, 4, 5]);
    for axis in 0..3 {
        let d = [3, 4, 5][axis];
        // Indices no larger than data outside `axis`, any length along it.
        let mut ishape = vec![2, 3, 4];
        ishape[axis] = 6;
        let idx = indices(&mut rng, &ishape, d);
        for idt in [DType::I64, DType::I32] {
            for ddt in [DType::F32, DType::I8, DType::I64] {
                let x = cast(&data, ddt);
                let g = one_op(
                    Op::GatherElements { axis },
                    TensorType::new(ddt, [3, 4, 5]),
                    TensorType::new(idt, ishape.clone()),
                );
                for threads in [1, 2] {
                    let inputs = [x.clone(), cast(&idx, idt)];
                    assert_eq!(diff_with_threads(&g, &inputs, threads), 0.0, "{axis} {ddt} {idt}");
                }
            }
        }
    }
}

#[test]
fn gather_out_of_range_index_is_an_error_naming_node_and_index() {
    let g = one_op(Op::Gather { axis: 1 }, f32_ty(&[2, 3]), TensorType::new(DType::I64, [4]));
    let data = TensorData::from_f32([2, 3], vec![1., 2., 3., 4., 5., 6.]).unwrap();
    for bad in [3, -4, i64::MAX, i64::MIN] {
        let idx = TensorData::from_i64([4], vec![0, -1, bad, 7]).unwrap();
        for e in run_errors(&g, &[data.clone(), idx]) {
            assert_eq!(e, format!("node 'gather_node' (Gather): index {bad} out of range for axis 1 of size 3"));
        }
    }
    // The interpreter reports the same.
    let idx = TensorData::from_i64([4], vec![0, 5, 1, 1]).unwrap();
    let want = Interpreter.run_graph(&g, &[data.clone(), idx.clone()]).unwrap_err().to_string();
    assert_eq!(run_errors(&g, &[data.clone(), idx]), vec![want.clone(), want]);
    // The same compiled model runs good indices afterwards (the fault records are per run).
    let model = compile(&g, &JitOptions { threads: 2, ..JitOptions::default() }).unwrap();
    assert!(model.run(&[data.clone(), TensorData::from_i64([4], vec![9, 0, 0, 0]).unwrap()]).is_err());
    let ok = model.run(&[data, TensorData::from_i64([4], vec![2, -3, 1, 0]).unwrap()]).unwrap();
    assert_eq!(ok[0].as_f32().unwrap(), &[3., 1., 2., 1., 6., 4., 5., 4.]);
}

#[test]
fn first_bad_index_is_reported_when_chunks_run_on_several_threads() {
    // data -> Gather (bad index) -> Relu -> output: the error names the Gather node.
    let mut g = Graph::new("chain");
    let d = g.add_input("data", f32_ty(&[64, 8]));
    let i = g.add_input("indices", TensorType::new(DType::I32, [100]));
    let y = node(&mut g, "gather0", Op::Gather { axis: 0 }, vec![d, i]);
    g.outputs = vec![node(&mut g, "relu0", Op::Unary(int8xc_ir::UnaryOp::Relu), vec![y])];
    let mut rng = TestRng::new(3);
    let data = rng.tensor(&[64, 8]);
    let mut v: Vec<i64> = (0..100).map(|k| k % 64).collect();
    v[37] = 64;
    v[90] = -65;
    let idx = cast(&TensorData::from_i64([100], v).unwrap(), DType::I32);
    for e in run_errors(&g, &[data, idx]) {
        // With 3 threads the chunks are checked in order: the first bad index is reported.
        assert_eq!(e, "node 'gather0' (Gather): index 64 out of range for axis 0 of size 64");
    }
}

#[test]
fn indices_are_checked_even_when_nothing_is_copied() {
    // data [0, 3] (outer 0) and [3, 0] (inner 0): the output is empty, a bad index still fails.
    for (shape, axis) in [([0, 3], 1), ([3, 0], 0)] {
        let g = one_op(Op::Gather { axis }, f32_ty(&shape), TensorType::new(DType::I64, [2]));
        let data = TensorData::from_f32(shape.to_vec(), vec![]).unwrap();
        let ok = TensorData::from_i64([2], vec![2, -3]).unwrap();
        assert_eq!(diff_with_threads(&g, &[data.clone(), ok], 2), 0.0);
        let bad = TensorData::from_i64([2], vec![1, 3]).unwrap();
        let want = Interpreter.run_graph(&g, &[data.clone(), bad.clone()]).unwrap_err().to_string();
        assert_eq!(run_errors(&g, &[data, bad]), vec![want.clone(), want]);
    }
}

#[test]
fn gather_elements_out_of_range_index_is_an_error() {
    let g = one_op(Op::GatherElements { axis: 0 }, f32_ty(&[3, 2]), TensorType::new(DType::I32, [2, 2]));
    let data = TensorData::from_f32([3, 2], vec![1., 2., 3., 4., 5., 6.]).unwrap();
    let idx = cast(&TensorData::from_i64([2, 2], vec![0, 2, -4, 1]).unwrap(), DType::I32);
    for e in run_errors(&g, &[data, idx]) {
        assert_eq!(e, "node 'gather_node' (GatherElements): index -4 out of range for axis 0 of size 3");
    }
}

#[test]
fn constant_out_of_range_index_fails_when_run_not_when_compiled() {
    // As in the interpreter, the error comes from running the model.
    for op in [Op::Gather { axis: 0 }, Op::GatherElements { axis: 0 }] {
        let mut g = Graph::new("const_idx");
        let d = g.add_input("data", f32_ty(&[3]));
        let i = g.add_const("idx", TensorData::from_i64([2], vec![1, 3]).unwrap());
        g.outputs = vec![node(&mut g, "g", op.clone(), vec![d, i])];
        let data = TensorData::from_f32([3], vec![1., 2., 3.]).unwrap();
        for e in run_errors(&g, &[data]) {
            assert_eq!(e, format!("node 'g' ({}): index 3 out of range for axis 0 of size 3", op.name()));
        }
    }
}

#[test]
fn object_file_with_run_time_gather_is_emitted() {
    let g = one_op(Op::Gather { axis: 0 }, f32_ty(&[4, 2]), TensorType::new(DType::I64, [3]));
    for triple in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        let obj = int8xc_jit::emit_object(&g, &triple.parse().unwrap(), &JitOptions::default()).unwrap();
        assert!(obj.windows(16).any(|w| w == b"int8xc_model_run"), "{triple}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn gather_random_shapes_match_interpreter(
        dims in prop::collection::vec(1usize..5, 1..4),
        ishape in prop::collection::vec(0usize..4, 0..3),
        axis_pick in 0usize..3,
        seed in 0u64..1000,
        threads in 1usize..4,
    ) {
        let axis = axis_pick % dims.len();
        let mut rng = TestRng::new(seed);
        let x = rng.tensor(&dims);
        let idx = indices(&mut rng, &ishape, dims[axis]);
        let g = one_op(Op::Gather { axis }, f32_ty(&dims), TensorType::new(DType::I64, ishape.clone()));
        prop_assert_eq!(diff_with_threads(&g, &[x, idx], threads), 0.0);
    }
}
