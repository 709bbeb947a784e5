//! Whole graphs: a small CNN end to end, BatchNorm / GlobalAveragePool / Reshape, errors, and
//! object files for x86_64 and aarch64.

mod common;

use common::*;
use int8xc_ir::{BinaryOp, ConvAttrs, GemmAttrs, Graph, Op, TensorData, UnaryOp};
use int8xc_jit::{compile, emit_object, JitError, JitOptions};
use int8xc_runtime::Executable;
use target_lexicon::Triple;

/// conv → BatchNormalization → Relu → depthwise conv → HardSwish → GlobalAveragePool →
/// Reshape → MatMul → Add (bias) → Sigmoid.
fn small_cnn(rng: &mut TestRng) -> Graph {
    let mut g = Graph::new("small_cnn");
    let x = g.add_input("x", f32_ty(&[2, 3, 20, 20]));
    let w1 = g.add_const("w1", rng.tensor(&[16, 3, 3, 3]));
    let b1 = g.add_const("b1", rng.tensor(&[16]));
    let attrs = ConvAttrs { kernel: [3, 3], strides: [2, 2], pads: [1; 4], dilations: [1, 1], group: 1 };
    let c1 = node(&mut g, "conv1", Op::Conv(attrs), vec![x, w1, b1]);
    let scale = g.add_const("bn_scale", rng.tensor(&[16]));
    let bias = g.add_const("bn_bias", rng.tensor(&[16]));
    let mean = g.add_const("bn_mean", rng.tensor(&[16]));
    let var = g.add_const("bn_var", rng.tensor_scaled(&[16], 0.5));
    let var = node(&mut g, "var_pos", Op::Unary(UnaryOp::Relu), vec![var]);
    let bn = node(&mut g, "bn", Op::BatchNormalization { epsilon: 1e-3 }, vec![c1, scale, bias, mean, var]);
    let r = node(&mut g, "relu", Op::Unary(UnaryOp::Relu), vec![bn]);
    let wd = g.add_const("wd", rng.tensor(&[16, 1, 3, 3]));
    let dw = ConvAttrs { kernel: [3, 3], strides: [1, 1], pads: [1; 4], dilations: [1, 1], group: 16 };
    let d = node(&mut g, "dwconv", Op::Conv(dw), vec![r, wd]);
    let hs = node(&mut g, "hswish", Op::Unary(UnaryOp::HardSwish), vec![d]);
    let gap = node(&mut g, "gap", Op::GlobalAveragePool, vec![hs]);
    let flat = node(&mut g, "flatten", Op::Reshape { shape: vec![2, 16] }, vec![gap]);
    let wf = g.add_const("wf", rng.tensor(&[16, 10]));
    let fc = node(&mut g, "fc", Op::MatMul, vec![flat, wf]);
    let bf = g.add_const("bf", rng.tensor(&[10]));
    let add = node(&mut g, "fc_bias", Op::Binary(BinaryOp::Add), vec![fc, bf]);
    let y = node(&mut g, "prob", Op::Unary(UnaryOp::Sigmoid), vec![add]);
    g.outputs.push(y);
    g.outputs.push(gap);
    g
}

#[test]
fn small_cnn_matches_interpreter_single_and_multi_threaded() {
    let mut rng = TestRng::new(42);
    let g = small_cnn(&mut rng);
    let x = rng.tensor(&[2, 3, 20, 20]);
    for threads in [1, 2] {
        let e = diff_with_threads(&g, std::slice::from_ref(&x), threads);
        assert!(e <= TOL, "threads {threads}: {e}");
    }
}

#[test]
fn stats_count_kernels_per_op() {
    let mut rng = TestRng::new(1);
    let g = small_cnn(&mut rng);
    let m = compile(&g, &JitOptions::default()).unwrap();
    let s = m.stats();
    assert_eq!(s.kernels, g.nodes.len());
    assert_eq!(s.per_op.get("Conv"), Some(&2));
    assert_eq!(s.per_op.get("Relu"), Some(&2));
    assert!(s.code_bytes > 0 && s.constant_bytes > 0 && s.arena_bytes > 0);
}

#[test]
fn model_can_run_repeatedly_and_from_several_threads() {
    let mut rng = TestRng::new(2);
    let g = small_cnn(&mut rng);
    let m = compile(&g, &JitOptions::default()).unwrap();
    let x = rng.tensor(&[2, 3, 20, 20]);
    let first = m.run(std::slice::from_ref(&x)).unwrap();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| assert_eq!(m.run(std::slice::from_ref(&x)).unwrap(), first));
        }
    });
}

#[test]
fn unsupported_configuration_is_a_compile_error_naming_node_and_op() {
    // The JIT's Gemm kernel needs a transposed B to be a constant (the interpreter runs it).
    let mut g = Graph::new("gemm_runtime_bt");
    let a = g.add_input("a", f32_ty(&[2, 5]));
    let b = g.add_input("b", f32_ty(&[3, 5]));
    let attrs = GemmAttrs { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: true };
    let y = node(&mut g, "my_gemm", Op::Gemm(attrs), vec![a, b]);
    g.outputs.push(y);
    let e = compile(&g, &JitOptions::default()).unwrap_err();
    assert!(matches!(e, JitError::Unsupported { .. }));
    let msg = e.to_string();
    assert!(msg.contains("my_gemm") && msg.contains("Gemm"), "{msg}");
}

#[test]
fn inconsistent_node_types_are_rejected_before_codegen() {
    let mut g = Graph::new("bad");
    let x = g.add_input("x", f32_ty(&[4]));
    // Claims a larger output than the input: a kernel trusting it would read out of bounds.
    let y = g.add_node_typed("r", Op::Reshape { shape: vec![8] }, vec![x], vec![f32_ty(&[8])])[0];
    g.outputs.push(y);
    let e = compile(&g, &JitOptions::default()).unwrap_err();
    assert!(matches!(e, JitError::Invalid { .. }), "{e}");
}

#[test]
fn graph_outputs_may_be_inputs_or_constants() {
    let mut g = Graph::new("passthrough");
    let x = g.add_input("x", f32_ty(&[3]));
    let c = g.add_const("c", TensorData::from_f32([2], vec![1.0, 2.0]).unwrap());
    g.outputs.extend([x, c]);
    let m = compile(&g, &JitOptions::default()).unwrap();
    let xin = TensorData::from_f32([3], vec![4.0, 5.0, 6.0]).unwrap();
    let out = m.run(std::slice::from_ref(&xin)).unwrap();
    assert_eq!(out[0], xin);
    assert_eq!(out[1].as_f32().unwrap(), &[1.0, 2.0]);
}

/// `e_machine` of an ELF file (little-endian, offset 18).
fn elf_machine(bytes: &[u8]) -> u16 {
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    u16::from_le_bytes([bytes[18], bytes[19]])
}

#[test]
fn objects_are_elf_for_the_requested_machine() {
    let mut rng = TestRng::new(3);
    let g = small_cnn(&mut rng);
    for (triple, machine) in [("x86_64-unknown-linux-gnu", 62), ("aarch64-unknown-linux-gnu", 183)] {
        let t: Triple = triple.parse().unwrap();
        let obj = emit_object(&g, &t, &JitOptions::default()).unwrap_or_else(|e| panic!("{triple}: {e}"));
        assert_eq!(elf_machine(&obj), machine, "{triple}");
        let text = String::from_utf8_lossy(&obj);
        for sym in ["int8xc_model_run", "int8xc_model_arena_bytes", "int8xc_const0", "int8xc_k0_conv1"] {
            assert!(text.contains(sym), "{triple}: symbol {sym} missing");
        }
    }
}

#[test]
fn objects_for_other_architectures_are_refused() {
    let g = small_cnn(&mut TestRng::new(4));
    let t: Triple = "riscv64gc-unknown-linux-gnu".parse().unwrap();
    assert!(matches!(emit_object(&g, &t, &JitOptions::default()), Err(JitError::Target { .. })));
}
