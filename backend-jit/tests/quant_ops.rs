//! The quantized element-wise, pooling, softmax, concat and LSTM kernels (`quantize.rs`,
//! `qlinear.rs`, `lstm.rs`) vs. the interpreter: QuantizeLinear, DequantizeLinear,
//! DynamicQuantizeLinear and the QOperator ops bit-exact; LSTM within the tolerance stated
//! on `kernels/lstm.rs`.
//!
//! The ONNX Runtime cases of the interpreter (`backend-interp/tests/data/*.rs`: one-node
//! graphs in IR text with ORT's outputs) run on the JIT too, so the JIT is checked against
//! both the interpreter and ORT.

mod common;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{parse_graph, verify, DType, Data, Graph, TensorData};
use int8xc_jit::{compile, JitError, JitOptions};
use int8xc_runtime::Executable;
use proptest::prelude::*;

#[allow(dead_code)]
struct OrtCase {
    name: &'static str,
    ir: &'static str,
    inputs: &'static [(&'static str, &'static [f64])],
    outputs: &'static [(&'static str, &'static [f64])],
}

include!("../../backend-interp/tests/data/quant_ort_cases.rs");

#[allow(dead_code)]
struct LstmCase {
    name: &'static str,
    ir: &'static str,
    x: &'static [f64],
    outputs: [&'static [f64]; 3],
}

include!("../../backend-interp/tests/data/lstm_cases.rs");

fn data(dtype: DType, v: &[f64]) -> Data {
    match dtype {
        DType::F32 => Data::F32(v.iter().map(|&x| x as f32).collect()),
        DType::U8 => Data::U8(v.iter().map(|&x| x as u8).collect()),
        DType::I8 => Data::I8(v.iter().map(|&x| x as i8).collect()),
        DType::I32 => Data::I32(v.iter().map(|&x| x as i32).collect()),
        other => panic!("test data of dtype {other}"),
    }
}

/// Runs `g` on the JIT (every microkernel mode, 1 and 3 threads) and the interpreter;
/// `Ok(worst f32 error)` (integer outputs must be equal), `Err` when the JIT does not
/// compile the graph.
fn jit_vs_interp(g: &Graph, inputs: &[TensorData]) -> Result<f32, JitError> {
    let want = Interpreter.run_graph(g, inputs).unwrap_or_else(|e| panic!("interp: {e}\n{g}"));
    let mut worst = 0.0f32;
    for threads in [1, 3] {
        for ukernels in MICROKERNELS {
            let opts = JitOptions { threads, ukernels, ..JitOptions::default() };
            let model = compile(g, &opts)?;
            let got = model.run(inputs).unwrap_or_else(|e| panic!("run: {e}\n{g}"));
            assert_eq!(got.len(), want.len());
            for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                if b.dtype() == DType::F32 {
                    worst = worst.max(max_rel_err(a, b));
                } else {
                    assert_eq!(a, b, "output {k} differs\n{g}");
                }
            }
        }
    }
    Ok(worst)
}

/// Names of the ORT cases the JIT does not compile (asserted, so the list shrinks as
/// support lands): none.
const ORT_CASES_UNSUPPORTED: &[&str] = &[];

#[test]
fn onnxruntime_quantized_cases_run_on_the_jit_bit_exact() {
    let mut unsupported = Vec::new();
    for case in CASES {
        let g = parse_graph(case.ir).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        verify(&g).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let inputs: Vec<TensorData> = case
            .inputs
            .iter()
            .zip(&g.inputs)
            .map(|((_, v), &id)| {
                let ty = g.ty(id);
                TensorData::new(ty.shape.clone(), data(ty.dtype, v)).unwrap()
            })
            .collect();
        match jit_vs_interp(&g, &inputs) {
            Ok(err) => assert_eq!(err, 0.0, "{}: f32 outputs differ from the interpreter", case.name),
            Err(JitError::Unsupported { .. }) => unsupported.push(case.name),
            Err(e) => panic!("{}: {e}", case.name),
        }
    }
    assert_eq!(unsupported, ORT_CASES_UNSUPPORTED);
}

fn run_ir(ir: &str, inputs: &[TensorData]) -> f32 {
    let g = parse_graph(ir).unwrap_or_else(|e| panic!("{e}\n{ir}"));
    verify(&g).unwrap_or_else(|e| panic!("{e}\n{ir}"));
    jit_vs_interp(&g, inputs).unwrap_or_else(|e| panic!("{e}\n{ir}"))
}

fn shape_text(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",")
}

fn f32s(rng: &mut TestRng, shape: &[usize], scale: f32) -> TensorData {
    rng.tensor_scaled(shape, scale)
}

fn bytes(rng: &mut TestRng, dtype: DType, shape: &[usize]) -> TensorData {
    let n: usize = shape.iter().product();
    let d = match dtype {
        DType::U8 => Data::U8((0..n).map(|_| rng.next_u64() as u8).collect()),
        _ => Data::I8((0..n).map(|_| rng.next_u64() as i8).collect()),
    };
    TensorData::new(shape.to_vec(), d).unwrap()
}

fn zero_point(rng: &mut TestRng, dtype: DType) -> i32 {
    let v = (rng.next_u64() % 256) as i32;
    match dtype {
        DType::U8 => v,
        DType::I8 => v - 128,
        _ => v * 100 - 12800,
    }
}

fn scale(rng: &mut TestRng) -> f32 {
    0.002 + rng.f32().abs() * 0.05
}

fn dtype_of(k: u8) -> DType {
    [DType::U8, DType::I8, DType::I16][k as usize % 3]
}

#[test]
fn quantize_handles_nan_infinities_ties_and_saturation() {
    let x = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.25, 0.75, 1.25, -1.25, 1e30, -1e30, -0.0, 2.5, 3.5];
    let mut v: Vec<f32> = Vec::new();
    for _ in 0..3 {
        v.extend_from_slice(&x); // 36 elements: vector body and scalar tail
    }
    let t = TensorData::from_f32(vec![36], v).unwrap();
    for (dt, zp) in [("u8", 10), ("i8", -3), ("i16", 7)] {
        let ir = format!(
            "graph g(%x: f32[36]) -> (%y) {{\n  %y = QuantizeLinear(%x) {{dtype={dt}, scale=[0.5], zero_point=[{zp}], axis=none, block_size=none}}\n}}"
        );
        run_ir(&ir, std::slice::from_ref(&t));
    }
}

#[test]
fn dynamic_quantize_of_zeros_and_nans() {
    let ir = "graph g(%x: f32[21]) -> (%y, %s, %z) {\n  %y, %s, %z = DynamicQuantizeLinear(%x) @dq\n}";
    let zeros = TensorData::from_f32(vec![21], vec![0.0; 21]).unwrap();
    run_ir(ir, &[zeros]);
    let mut v: Vec<f32> = (0..21).map(|i| i as f32 * 0.3 - 2.0).collect();
    v[3] = f32::NAN;
    v[17] = f32::NAN;
    run_ir(ir, &[TensorData::from_f32(vec![21], v).unwrap()]);
    let pos: Vec<f32> = (0..21).map(|i| i as f32 * 0.7 + 0.1).collect();
    run_ir(ir, &[TensorData::from_f32(vec![21], pos).unwrap()]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// QuantizeLinear then DequantizeLinear, per tensor or per axis, random shapes and
    /// parameters: both bit-exact.
    #[test]
    fn quantize_dequantize_match_interpreter(
        shape in prop::collection::vec(1usize..7, 1..4),
        last in 1usize..40,
        axis_pick in 0usize..5,
        dt in 0u8..3,
        seed in any::<u64>(),
    ) {
        let mut rng = TestRng::new(seed);
        let mut shape = shape;
        shape.push(last);
        let dtype = dtype_of(dt);
        let rank = shape.len();
        let axis = (axis_pick < rank).then_some(axis_pick);
        let n = axis.map_or(1, |a| shape[a]);
        let scales: Vec<String> = (0..n).map(|_| format!("{:?}", scale(&mut rng))).collect();
        let zps: Vec<String> = (0..n).map(|_| zero_point(&mut rng, dtype).to_string()).collect();
        let axis_text = axis.map_or("none".to_string(), |a| a.to_string());
        let s = shape_text(&shape);
        let ir = format!(
            "graph g(%x: f32[{s}]) -> (%y, %q) {{\n  %q = QuantizeLinear(%x) {{dtype={dtype}, scale=[{}], zero_point=[{}], axis={axis_text}, block_size=none}}\n  %y = DequantizeLinear(%q)\n}}",
            scales.join(","),
            zps.join(","),
        );
        let x = f32s(&mut rng, &shape, 3.0);
        prop_assert_eq!(run_ir(&ir, &[x]), 0.0);
    }
}

fn zero_point_any(rng: &mut TestRng, dtype: DType) -> i32 {
    let (lo, hi) = int8xc_ir::quant_range(dtype).unwrap();
    lo + (rng.next_u64() % (hi - lo + 1) as u64) as i32
}

/// QuantizeLinear then DequantizeLinear as IR text, with `pairs` random parameter pairs.
fn qdq_ir(rng: &mut TestRng, shape: &[usize], dtype: DType, axis: Option<usize>, block: Option<usize>) -> String {
    let pairs = match (axis, block) {
        (None, _) => 1,
        (Some(a), None) => shape[a],
        (Some(a), Some(b)) => shape.iter().enumerate().map(|(i, &d)| if i == a { d.div_ceil(b) } else { d }).product(),
    };
    let scales: Vec<String> = (0..pairs).map(|_| format!("{:?}", scale(rng))).collect();
    let zps: Vec<String> = (0..pairs).map(|_| zero_point_any(rng, dtype).to_string()).collect();
    let opt = |v: Option<usize>| v.map_or("none".to_string(), |a| a.to_string());
    format!(
        "graph g(%x: f32[{}]) -> (%y, %q) {{\n  %q = QuantizeLinear(%x) {{dtype={dtype}, scale=[{}], zero_point=[{}], axis={}, block_size={}}}\n  %y = DequantizeLinear(%q)\n}}",
        shape_text(shape),
        scales.join(","),
        zps.join(","),
        opt(axis),
        opt(block),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Blocked parameters (opset 21 `block_size`) and packed 4-bit tensors, every
    /// granularity: QuantizeLinear then DequantizeLinear bit-exact (odd element counts leave
    /// a half-filled last byte).
    #[test]
    fn blocked_and_int4_quantize_dequantize_match_interpreter(
        shape in prop::collection::vec(1usize..7, 1..4),
        axis_pick in 0usize..4,
        block in 0usize..5,
        dt in prop::sample::select(vec![DType::U4, DType::I4, DType::U8, DType::I8, DType::I16]),
        seed in any::<u64>(),
    ) {
        let mut rng = TestRng::new(seed);
        let axis = (axis_pick < shape.len()).then_some(axis_pick);
        let block = (block > 0 && axis.is_some()).then_some(block);
        let ir = qdq_ir(&mut rng, &shape, dt, axis, block);
        let x = f32s(&mut rng, &shape, 1.0);
        prop_assert_eq!(run_ir(&ir, &[x]), 0.0);
    }
}

#[test]
fn large_int4_tensors_split_into_whole_bytes_across_threads() {
    let mut rng = TestRng::new(31);
    // 3 * 13_335 = 40_005 elements: several work items, an odd count.
    let shape = [3, 13_335];
    for (dt, axis, block) in [(DType::U4, Some(0), None), (DType::I4, None, None), (DType::I4, Some(1), Some(1000))] {
        let ir = qdq_ir(&mut rng, &shape, dt, axis, block);
        let err = run_ir(&ir, &[f32s(&mut rng, &shape, 2.0)]);
        assert_eq!(err, 0.0, "{dt} axis {axis:?} block {block:?}");
    }
}

/// `QuantizeLinearDynamicParams` / `DequantizeLinearDynamicParams` with packed 4-bit zero
/// points (run-time parameters, lowered by `quantize_per_element.rs`): bit-exact, per tensor
/// and per axis, odd element counts, several work items.
#[test]
fn int4_with_run_time_parameters_matches_interpreter() {
    let mut rng = TestRng::new(41);
    for dt in [DType::U4, DType::I4] {
        for (shape, axis) in
            [(vec![7usize], None), (vec![3, 5], Some(0)), (vec![2, 3, 5], Some(1)), (vec![5, 8001], Some(0))]
        {
            let n = axis.map_or(1, |a| shape[a]);
            let s = shape_text(&shape);
            let ir = format!(
                "graph g(%x: f32[{s}], %s: f32[{n}], %z: {dt}[{n}]) -> (%q, %y) {{\n  %q = QuantizeLinearDynamicParams(%x, %s, %z) {{axis={}}}\n  %y = DequantizeLinearDynamicParams(%q, %s, %z) {{axis={}}}\n}}",
                axis.map_or("none".to_string(), |a| a.to_string()),
                axis.map_or("none".to_string(), |a| a.to_string()),
            );
            let scales = TensorData::from_f32([n], (0..n).map(|_| scale(&mut rng) * 20.0).collect()).unwrap();
            let zps: Vec<i64> = (0..n).map(|_| i64::from(zero_point_any(&mut rng, dt))).collect();
            let zps = Interpreter
                .eval_op(&int8xc_ir::Op::Cast { to: dt }, &[&TensorData::from_i64([n], zps).unwrap()], &[])
                .unwrap()
                .remove(0);
            assert_eq!(run_ir(&ir, &[f32s(&mut rng, &shape, 1.5), scales, zps]), 0.0, "{dt} {shape:?}");
        }
    }
}

#[test]
fn too_many_blocked_parameters_are_unsupported_not_a_crash() {
    let mut rng = TestRng::new(5);
    let ir = qdq_ir(&mut rng, &[2, 4100], DType::I8, Some(0), Some(1));
    let g = parse_graph(&ir).unwrap();
    let e = compile(&g, &JitOptions::default()).unwrap_err();
    assert!(matches!(e, JitError::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("quantization parameter pairs"), "{e}");
}

/// The interpreter's ONNX Runtime LSTM cases (forward, bidirectional, DynamicQuantizeLSTM):
/// within `1e-5` of the interpreter (relative to `max(|ref|, 1)`; the gates' `σ`/`tanh` are
/// polynomial approximations, see `kernels/lstm.rs`).
#[test]
fn lstm_cases_match_interpreter_within_tolerance() {
    for case in LSTM_CASES {
        let g = parse_graph(case.ir).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        verify(&g).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let ty = g.ty(g.inputs[0]);
        let x = TensorData::new(ty.shape.clone(), data(DType::F32, case.x)).unwrap();
        let err = jit_vs_interp(&g, &[x]).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert!(err <= TOL, "{}: {err}", case.name);
    }
}

/// Broadcast shape pairs: `(a, b)` with numpy broadcasting (scalar operands, inner and outer
/// broadcasts, non-contiguous inner runs).
const BROADCASTS: &[(&[usize], &[usize])] = &[
    (&[2, 3, 37], &[2, 3, 37]),
    (&[1], &[4, 21]),
    (&[4, 21], &[1]),
    (&[3, 1], &[3, 40]),
    (&[40], &[3, 40]),
    (&[2, 1, 5], &[2, 19, 5]),
    (&[2, 19, 1], &[1, 19, 18]),
    (&[1, 16, 4, 4], &[1, 16, 4, 4]),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// QLinearAdd / QLinearMul with broadcasting, random parameters: bit-exact.
    #[test]
    fn qlinear_binary_matches_interpreter(
        pick in 0usize..BROADCASTS.len(),
        swap in any::<bool>(),
        mul in any::<bool>(),
        signed in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut rng = TestRng::new(seed);
        let (mut a, mut b) = BROADCASTS[pick];
        if swap {
            std::mem::swap(&mut a, &mut b);
        }
        let dtype = if signed { DType::I8 } else { DType::U8 };
        let (sa, za, sb, zb) = (scale(&mut rng), zero_point(&mut rng, dtype), scale(&mut rng), zero_point(&mut rng, dtype));
        let (sy, zy) = (scale(&mut rng), zero_point(&mut rng, dtype));
        let op = if mul { "QLinearMul" } else { "QLinearAdd" };
        let ir = format!(
            "graph g(%a: {dtype}<{sa:?},{za}>[{}], %b: {dtype}<{sb:?},{zb}>[{}]) -> (%y) {{\n  %y = {op}(%a, %b) {{out_scale={sy:?}, out_zero_point={zy}}}\n}}",
            shape_text(a),
            shape_text(b),
        );
        let inputs = [bytes(&mut rng, dtype, a), bytes(&mut rng, dtype, b)];
        prop_assert_eq!(run_ir(&ir, &inputs), 0.0);
    }
}

/// Object files get the same kernels (pure CLIF; no imported microkernels). On baseline
/// x86-64 (no FMA3) QLinearAdd's fused multiply-adds become calls of libm's `fmaf`, which
/// the object imports (link with `-lm`); aarch64 always has a fused instruction.
#[test]
fn quantized_kernels_emit_objects() {
    let ir = "graph g(%x: f32[2,16], %a: u8<0.05,3>[2,16]) -> (%y, %d) {\n  %q = QuantizeLinear(%x) {dtype=u8, scale=[0.1], zero_point=[7], axis=none, block_size=none}\n  %y = QLinearAdd(%q, %a) {out_scale=0.2, out_zero_point=9}\n  %d = DequantizeLinear(%y)\n}";
    let g = parse_graph(ir).unwrap();
    verify(&g).unwrap();
    for triple in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        let t: target_lexicon::Triple = triple.parse().unwrap();
        let obj = int8xc_jit::emit_object(&g, &t, &JitOptions::default()).unwrap_or_else(|e| panic!("{triple}: {e}"));
        let text = String::from_utf8_lossy(&obj);
        assert_eq!(text.contains("fmaf"), triple.starts_with("x86_64"), "{triple}");
    }
}
