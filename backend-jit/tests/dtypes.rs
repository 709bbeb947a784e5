//! Element types beyond f32 on the JIT vs. the interpreter: `Cast` between every pair of
//! dtypes (f16 and packed 4-bit included), element-wise `Binary` on i16/i8/u8/f16, `Unary` on
//! f16, `Compare`/`Where`/`Expand` on f16, and `Reduce` on f16 and the integer dtypes.
//!
//! Exactness: every comparison is bit for bit (outputs' little-endian bytes), except that a
//! NaN matches any NaN in arithmetic results, and the f16 results of the polynomial
//! transcendental functions (`Sigmoid`, `Tanh`, `Exp`-based activations, `Pow`, `LogSum`,
//! `LogSumExp`) may differ from the interpreter's by one f16 ulp (their f32 results differ
//! by a few f32 ulps, which moves a value across an f16 rounding boundary rarely).

mod common;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{BinaryOp, CompareOp, DType, Graph, MathFn, Op, ReduceKind, TensorData, TensorType, UnaryOp};
use int8xc_jit::{compile, JitOptions};
use int8xc_runtime::Executable;
use proptest::prelude::*;

/// A graph with inputs of `tys` and one node `op` over them.
fn graph(op: Op, tys: &[TensorType]) -> Graph {
    let mut g = Graph::new("t");
    let ins = tys.iter().enumerate().map(|(i, t)| g.add_input(format!("x{i}"), t.clone())).collect();
    let y = node(&mut g, "y", op, ins);
    g.outputs.push(y);
    g
}

fn ty(dt: DType, shape: &[usize]) -> TensorType {
    TensorType::new(dt, shape.to_vec())
}

/// A tensor of `dt` from raw little-endian storage bytes (a 4-bit tensor with an odd element
/// count gets its unused last nibble cleared, as the runtime stores it).
fn from_bytes(dt: DType, shape: &[usize], mut bytes: Vec<u8>) -> TensorData {
    let n: usize = shape.iter().product();
    if matches!(dt, DType::I4 | DType::U4) && n % 2 == 1 {
        if let Some(last) = bytes.last_mut() {
            *last &= 0x0f;
        }
    }
    if dt == DType::Bool {
        bytes.iter_mut().for_each(|b| *b &= 1);
    }
    TensorData::from_le_bytes(dt, shape.to_vec(), &bytes).unwrap()
}

/// Random storage bytes of `dt[shape]` (every bit pattern: NaN, inf and subnormal floats too).
fn random_tensor(rng: &mut TestRng, dt: DType, shape: &[usize]) -> TensorData {
    let n: usize = shape.iter().product();
    let bytes = (0..dt.storage_bytes(n)).map(|_| rng.next_u64() as u8).collect();
    from_bytes(dt, shape, bytes)
}

fn f16_tensor(bits: &[u16]) -> TensorData {
    from_bytes(DType::F16, &[bits.len()], bits.iter().flat_map(|b| b.to_le_bytes()).collect())
}

fn f32_bits_tensor(bits: &[u32]) -> TensorData {
    from_bytes(DType::F32, &[bits.len()], bits.iter().flat_map(|b| b.to_le_bytes()).collect())
}

/// How two results may differ.
#[derive(Clone, Copy, PartialEq)]
enum Exact {
    /// Same bytes.
    Bits,
    /// Same bytes, or both NaN (float outputs).
    NanAny,
    /// f16 outputs within one ulp (ordered as sign-magnitude integers) or 1e-6 absolute (the
    /// interpreter's `exp(x) - 1` cancels near 0, the JIT's `expm1` does not); NaN matches NaN.
    F16Ulp,
}

/// The f32 bits of a finite or infinite f16 (test-side reference decoder).
fn f16_to_f32_bits(h: u16) -> u32 {
    let sign = u32::from(h & 0x8000) << 16;
    let (e, m) = (u32::from(h >> 10 & 0x1f), u32::from(h & 0x3ff));
    let mag = match e {
        0 => (m as f32 * 2.0f32.powi(-24)).to_bits(),
        31 => 0x7f80_0000 | m << 13,
        _ => (e + 112) << 23 | m << 13,
    };
    sign | mag
}

/// Whether element values `a` (JIT) and `b` (interpreter) of a float dtype agree under `how`.
fn float_agrees(dt: DType, a: &[u8], b: &[u8], how: Exact) -> bool {
    if a == b {
        return true;
    }
    match dt {
        DType::F16 => {
            let (x, y) = (u16::from_le_bytes([a[0], a[1]]), u16::from_le_bytes([b[0], b[1]]));
            let nan = |h: u16| h & 0x7fff > 0x7c00;
            if nan(x) && nan(y) {
                return true;
            }
            // Sign-magnitude to an ordered integer line.
            let ord = |h: u16| if h & 0x8000 != 0 { -i32::from(h & 0x7fff) } else { i32::from(h) };
            let value = |h: u16| f32::from_bits(f16_to_f32_bits(h));
            how == Exact::F16Ulp
                && !nan(x)
                && !nan(y)
                && ((ord(x) - ord(y)).abs() <= 1 || (value(x) - value(y)).abs() <= 1e-6)
        }
        DType::F32 => {
            let (x, y) = (f32::from_le_bytes(a.try_into().unwrap()), f32::from_le_bytes(b.try_into().unwrap()));
            x.is_nan() && y.is_nan()
        }
        _ => false,
    }
}

/// Runs `g` on the JIT (1 and 3 threads) and the interpreter and compares every output
/// under `how` (integer and bool outputs always bit for bit).
fn check(g: &Graph, inputs: &[TensorData], how: Exact) {
    let want = Interpreter.run_graph(g, inputs).unwrap_or_else(|e| panic!("interp: {e}\n{g}"));
    for threads in [1, 3] {
        let model = compile(g, &JitOptions { threads, ..JitOptions::default() }).unwrap_or_else(|e| panic!("{e}\n{g}"));
        let got = model.run(inputs).unwrap_or_else(|e| panic!("run: {e}\n{g}"));
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(&want) {
            assert_eq!((a.dtype(), a.shape()), (b.dtype(), b.shape()));
            let (ab, bb) = (a.to_le_bytes(), b.to_le_bytes());
            let dt = b.dtype();
            if how == Exact::Bits || !dt.is_float() {
                assert!(
                    ab == bb,
                    "{dt} outputs differ (threads {threads})\n{g}\njit {ab:?}\nref {bb:?}\ninputs {inputs:?}"
                );
                continue;
            }
            let w = dt.bits() / 8;
            for (k, (x, y)) in ab.chunks(w).zip(bb.chunks(w)).enumerate() {
                assert!(float_agrees(dt, x, y, how), "element {k}: jit {x:?} ref {y:?} (threads {threads})\n{g}");
            }
        }
    }
}

const ALL_TYPES: [DType; 10] = DType::ALL;

/// f16 patterns around every special case: zeros, subnormals, the normal boundary, the
/// largest finite value, infinities, quiet and signalling NaNs with payloads.
const F16_EDGES: [u16; 20] = [
    0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x83ff, 0x0400, 0x8400, 0x3c00, 0xbc00, 0x7bff, 0xfbff, 0x7c00, 0xfc00,
    0x7e00, 0xfe00, 0x7c01, 0xfd55, 0x3555, 0x5a5a,
];

// ---------------------------------------------------------------- f16 conversions

#[test]
fn every_f16_pattern_casts_to_every_dtype_like_the_interpreter() {
    let bits: Vec<u16> = (0..=u16::MAX).collect();
    let x = f16_tensor(&bits);
    for to in ALL_TYPES {
        check(&graph(Op::Cast { to }, &[ty(DType::F16, x.shape())]), std::slice::from_ref(&x), Exact::Bits);
    }
}

/// The f32 values exactly halfway between adjacent f16 values (and one f32 ulp either side)
/// must round to nearest even, including across the subnormal/normal boundary and into inf.
#[test]
fn f32_to_f16_rounds_ties_to_even_at_every_binade() {
    let all: Vec<u16> = (0..0x7c00u16).collect();
    let widened = Interpreter.eval_op(&Op::Cast { to: DType::F32 }, &[&f16_tensor(&all)], &[]).unwrap().remove(0);
    let v = widened.as_f32().unwrap();
    let mut bits = Vec::new();
    for w in v.windows(2).step_by(7) {
        let mid = ((f64::from(w[0]) + f64::from(w[1])) / 2.0) as f32; // exact: 12 significant bits
        for m in [mid, -mid] {
            let b = m.to_bits();
            bits.extend([b, b - 1, b + 1]);
        }
    }
    // Overflow threshold 65520 (ties to even = inf), the last finite values, f32 subnormals,
    // the smallest tie (2^-25 -> 0), NaNs with payloads.
    for f in [65504.0f32, 65519.996, 65520.0, 65536.0, 1e-40, 2.0f32.powi(-25), 3.0 * 2.0f32.powi(-25), 1e10] {
        bits.extend([f.to_bits(), (-f).to_bits()]);
    }
    bits.extend([0x7f80_0000, 0xff80_0000, 0x7fc0_0000, 0x7f80_0001, 0xffbf_ffff, 0x7fa0_2000, 0, 0x8000_0000]);
    let x = f32_bits_tensor(&bits);
    check(&graph(Op::Cast { to: DType::F16 }, &[ty(DType::F32, x.shape())]), &[x], Exact::Bits);
}

// ---------------------------------------------------------------- Cast, every pair

#[test]
fn cast_between_every_pair_of_dtypes_matches_exactly() {
    let mut rng = TestRng::new(7);
    for from in ALL_TYPES {
        // Odd length: the last 4-bit byte is half full; more than one 4-bit work item.
        for n in [1usize, 37, 40_001] {
            let x = random_tensor(&mut rng, from, &[n]);
            for to in ALL_TYPES {
                check(&graph(Op::Cast { to }, &[ty(from, &[n])]), std::slice::from_ref(&x), Exact::Bits);
            }
        }
    }
}

#[test]
fn float_to_int4_wraps_like_the_interpreter() {
    // ml_dtypes semantics: truncate toward zero, then keep the low 4 bits.
    let v = [-9.7f32, 8.2, 20.0, -0.5, 7.9, -8.0, f32::NAN, 1e10, -3.0];
    let x = TensorData::from_f32([v.len()], v.to_vec()).unwrap();
    for to in [DType::I4, DType::U4] {
        check(&graph(Op::Cast { to }, &[ty(DType::F32, &[v.len()])]), std::slice::from_ref(&x), Exact::Bits);
    }
    let g = graph(Op::Cast { to: DType::I4 }, &[ty(DType::F32, &[v.len()])]);
    let got = compile(&g, &JitOptions::default()).unwrap().run(&[x]).unwrap().remove(0);
    assert_eq!(got.to_i64_vec().unwrap(), vec![7, -8, 4, 0, 7, -8, 0, 0, -3]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn cast_of_random_bit_patterns_matches(
        from in prop::sample::select(ALL_TYPES.to_vec()),
        to in prop::sample::select(ALL_TYPES.to_vec()),
        shape in prop::collection::vec(1usize..6, 1..4),
        seed in any::<u64>(),
    ) {
        let x = random_tensor(&mut TestRng::new(seed), from, &shape);
        check(&graph(Op::Cast { to }, &[ty(from, &shape)]), &[x], Exact::Bits);
    }
}

// ---------------------------------------------------------------- Binary

const BINARY_OPS: [BinaryOp; 9] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Max,
    BinaryOp::Min,
    BinaryOp::Pow,
    BinaryOp::Mod { fmod: false },
    BinaryOp::Mod { fmod: true },
];

/// Integer operands the interpreter accepts for `op`: no zero divisor (it reports a division
/// by zero) and no zero base with a negative exponent.
fn int_operands(rng: &mut TestRng, op: BinaryOp, dt: DType, sa: &[usize], sb: &[usize]) -> [TensorData; 2] {
    let a = random_tensor(rng, dt, sa);
    let b = random_tensor(rng, dt, sb);
    let fix = |t: TensorData, f: &dyn Fn(i64) -> i64| {
        let v: Vec<i64> = t.to_i64_vec().unwrap().into_iter().map(f).collect();
        Interpreter
            .eval_op(&Op::Cast { to: dt }, &[&TensorData::from_i64(t.shape().to_vec(), v).unwrap()], &[])
            .unwrap()
            .remove(0)
    };
    match op {
        BinaryOp::Div | BinaryOp::Mod { .. } => [a, fix(b, &|v| if v == 0 { 3 } else { v })],
        BinaryOp::Pow => [fix(a, &|v| if v == 0 { -1 } else { v }), fix(b, &|v| v.rem_euclid(12) - 2)],
        _ => [a, b],
    }
}

#[test]
fn narrow_integer_binary_ops_wrap_like_the_interpreter() {
    let mut rng = TestRng::new(3);
    for dt in [DType::I16, DType::I8, DType::U8] {
        for op in BINARY_OPS {
            for (sa, sb) in [(vec![67], vec![67]), (vec![3, 1, 5], vec![4, 1]), (vec![1], vec![2, 9])] {
                let x = int_operands(&mut rng, op, dt, &sa, &sb);
                check(&graph(Op::Binary(op), &[ty(dt, &sa), ty(dt, &sb)]), &x, Exact::Bits);
            }
        }
    }
}

#[test]
fn narrow_integer_extremes_wrap() {
    // MIN / -1 wraps to MIN; products and sums overflow.
    for (dt, vals) in
        [(DType::I8, [-128i64, 127, -1, 2]), (DType::I16, [-32768, 32767, -1, 300]), (DType::U8, [255, 128, 1, 2])]
    {
        let mk = |v: &[i64]| {
            Interpreter
                .eval_op(&Op::Cast { to: dt }, &[&TensorData::from_i64([4], v.to_vec()).unwrap()], &[])
                .unwrap()
                .remove(0)
        };
        let (a, b) = (mk(&vals), mk(&[-1, 127, 255, -128]));
        for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div] {
            check(&graph(Op::Binary(op), &[ty(dt, &[4]), ty(dt, &[4])]), &[a.clone(), b.clone()], Exact::Bits);
        }
    }
}

#[test]
fn narrow_integer_division_by_zero_gives_zero_instead_of_trapping() {
    for dt in [DType::I16, DType::I8, DType::U8] {
        let g = graph(Op::Binary(BinaryOp::Div), &[ty(dt, &[3]), ty(dt, &[3])]);
        let a = random_tensor(&mut TestRng::new(1), dt, &[3]);
        let b = TensorData::zeros(&ty(dt, &[3]));
        let got = compile(&g, &JitOptions::default()).unwrap().run(&[a, b]).unwrap().remove(0);
        assert_eq!(got.to_i64_vec().unwrap(), vec![0, 0, 0], "{dt}");
    }
}

#[test]
fn f16_binary_ops_round_each_f32_result_once() {
    let mut rng = TestRng::new(5);
    for op in BINARY_OPS {
        // Pow uses the polynomial exp/ln; Mod's fma formula is exact while |a / b| < 2^24,
        // which the magnitudes below keep.
        let how = if op == BinaryOp::Pow { Exact::F16Ulp } else { Exact::NanAny };
        for (sa, sb) in [(vec![67], vec![67]), (vec![2, 3, 9], vec![9]), (vec![4, 1], vec![1, 5])] {
            let mut a = random_tensor(&mut rng, DType::F16, &sa);
            let mut b = random_tensor(&mut rng, DType::F16, &sb);
            if matches!(op, BinaryOp::Mod { .. } | BinaryOp::Pow) {
                a = moderate_f16(&mut rng, &sa, 30.0);
                b = moderate_f16(&mut rng, &sb, 4.0);
            }
            check(&graph(Op::Binary(op), &[ty(DType::F16, &sa), ty(DType::F16, &sb)]), &[a, b], how);
        }
    }
    // The edge patterns against each other (inf - inf, 0 * inf, NaN payloads, subnormals).
    let n = F16_EDGES.len();
    let a: Vec<u16> = F16_EDGES.iter().flat_map(|&x| std::iter::repeat_n(x, n)).collect();
    let b: Vec<u16> = (0..n).flat_map(|_| F16_EDGES).collect();
    for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Max, BinaryOp::Min] {
        let g = graph(Op::Binary(op), &[ty(DType::F16, &[n * n]), ty(DType::F16, &[n * n])]);
        check(&g, &[f16_tensor(&a), f16_tensor(&b)], Exact::NanAny);
    }
}

/// f16 values uniform in `[-scale, scale)`.
fn moderate_f16(rng: &mut TestRng, shape: &[usize], scale: f32) -> TensorData {
    let x = rng.tensor_scaled(shape, scale);
    Interpreter.eval_op(&Op::Cast { to: DType::F16 }, &[&x], &[]).unwrap().remove(0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn random_narrow_and_f16_binary_ops_match(
        dt in prop::sample::select(vec![DType::I16, DType::I8, DType::U8, DType::F16]),
        op in prop::sample::select(vec![BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Max, BinaryOp::Min]),
        rows in 1usize..5,
        cols in 1usize..40,
        broadcast in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut rng = TestRng::new(seed);
        let sb = if broadcast { vec![cols] } else { vec![rows, cols] };
        let x = int_or_float_operands(&mut rng, op, dt, &[rows, cols], &sb);
        let how = if dt == DType::F16 { Exact::NanAny } else { Exact::Bits };
        check(&graph(Op::Binary(op), &[ty(dt, &[rows, cols]), ty(dt, &sb)]), &x, how);
    }
}

fn int_or_float_operands(rng: &mut TestRng, op: BinaryOp, dt: DType, sa: &[usize], sb: &[usize]) -> [TensorData; 2] {
    if dt == DType::F16 {
        [random_tensor(rng, dt, sa), random_tensor(rng, dt, sb)]
    } else {
        int_operands(rng, op, dt, sa, sb)
    }
}

// ---------------------------------------------------------------- Unary, Compare, Where, Expand

#[test]
fn f16_unary_ops_compute_in_f32_and_round_once() {
    let exact = [
        UnaryOp::Relu,
        UnaryOp::LeakyRelu { alpha: 0.1 },
        UnaryOp::Clip { min: -0.5, max: 0.25 },
        UnaryOp::HardSigmoid { alpha: 0.2, beta: 0.5 },
        UnaryOp::HardSwish,
        UnaryOp::Math(MathFn::Abs),
        UnaryOp::Math(MathFn::Neg),
        UnaryOp::Math(MathFn::Sqrt),
    ];
    let poly = [
        UnaryOp::Sigmoid,
        UnaryOp::Tanh,
        UnaryOp::Math(MathFn::Exp),
        UnaryOp::Math(MathFn::Celu { alpha: 2.0 }),
        UnaryOp::Math(MathFn::Elu { alpha: 1.0 }),
        UnaryOp::Math(MathFn::Swish { alpha: 1.0 }),
    ];
    let mut rng = TestRng::new(11);
    // FIXME(jit/interp): the polynomial activations get finite edges only. With NaN or inf
    // inputs the f32 kernels already differ from the interpreter: its Celu uses f32::max /
    // min, which drop a NaN (Celu(NaN) = 0, numpy gives NaN), and Swish(-inf) is NaN there
    // (-inf / inf) but -inf on the JIT.
    let finite: Vec<u16> = F16_EDGES.into_iter().filter(|h| h & 0x7fff < 0x7c00).collect();
    for (ops, how, edges) in [(&exact[..], Exact::NanAny, &F16_EDGES[..]), (&poly[..], Exact::F16Ulp, &finite[..])] {
        let edges_t = f16_tensor(edges);
        for &op in ops {
            for shape in [vec![3usize], vec![5, 67]] {
                let x = moderate_f16(&mut rng, &shape, 8.0);
                check(&graph(Op::Unary(op), &[ty(DType::F16, &shape)]), &[x], how);
            }
            check(&graph(Op::Unary(op), &[ty(DType::F16, &[edges.len()])]), std::slice::from_ref(&edges_t), how);
        }
    }
}

#[test]
fn f16_compare_where_and_expand_match_exactly() {
    let mut rng = TestRng::new(13);
    let n = F16_EDGES.len();
    let a: Vec<u16> = F16_EDGES.iter().flat_map(|&x| std::iter::repeat_n(x, n)).collect();
    let b: Vec<u16> = (0..n).flat_map(|_| F16_EDGES).collect();
    let (a, b) = (f16_tensor(&a), f16_tensor(&b));
    for op in [CompareOp::Equal, CompareOp::Less, CompareOp::LessOrEqual, CompareOp::Greater, CompareOp::GreaterOrEqual]
    {
        let g = graph(Op::Compare(op), &[ty(DType::F16, &[n * n]), ty(DType::F16, &[n * n])]);
        check(&g, &[a.clone(), b.clone()], Exact::Bits);
    }
    let c = random_tensor(&mut rng, DType::Bool, &[n * n]);
    let g = graph(Op::Where, &[ty(DType::Bool, &[n * n]), ty(DType::F16, &[n * n]), ty(DType::F16, &[n * n])]);
    check(&g, &[c, a, b], Exact::Bits);
    let x = random_tensor(&mut rng, DType::F16, &[3, 1]);
    check(&graph(Op::Expand { shape: vec![2, 3, 4] }, &[ty(DType::F16, &[3, 1])]), &[x], Exact::Bits);
}

// ---------------------------------------------------------------- Reduce

const REDUCE_KINDS: [ReduceKind; 9] = [
    ReduceKind::Sum,
    ReduceKind::Max,
    ReduceKind::Min,
    ReduceKind::Prod,
    ReduceKind::L1,
    ReduceKind::L2,
    ReduceKind::SumSquare,
    ReduceKind::LogSum,
    ReduceKind::LogSumExp,
];

#[test]
fn integer_reductions_wrap_like_the_interpreter() {
    let mut rng = TestRng::new(17);
    for dt in [DType::I64, DType::I32, DType::I16, DType::I8, DType::U8] {
        for kind in REDUCE_KINDS {
            if matches!(kind, ReduceKind::L2 | ReduceKind::LogSum | ReduceKind::LogSumExp) {
                continue; // not defined on integers (the interpreter rejects them too)
            }
            for (shape, axes, keepdims) in
                [(vec![4, 5, 6], vec![1], true), (vec![4, 5, 6], vec![0, 2], false), (vec![3, 0, 2], vec![1], true)]
            {
                let x = random_tensor(&mut rng, dt, &shape);
                let op = Op::Reduce { kind, axes, keepdims };
                check(&graph(op, &[ty(dt, &shape)]), &[x], Exact::Bits);
            }
        }
    }
}

#[test]
fn f16_reductions_accumulate_in_f32_and_round_once() {
    let mut rng = TestRng::new(19);
    for kind in REDUCE_KINDS {
        let how =
            if matches!(kind, ReduceKind::LogSum | ReduceKind::LogSumExp) { Exact::F16Ulp } else { Exact::NanAny };
        for (shape, axes) in [(vec![4, 5, 6], vec![1]), (vec![3, 7], vec![0, 1])] {
            let mut x = moderate_f16(&mut rng, &shape, 3.0);
            if kind == ReduceKind::LogSum {
                x = Interpreter.eval_op(&Op::Unary(UnaryOp::Math(MathFn::Abs)), &[&x], &[]).unwrap().remove(0);
            }
            let op = Op::Reduce { kind, axes, keepdims: true };
            check(&graph(op, &[ty(DType::F16, &shape)]), &[x], how);
        }
    }
}

// ---------------------------------------------------------------- other targets

/// The f16 conversions are integer CLIF (no F16C), so every kernel here also lowers for
/// AArch64; the packed 4-bit and narrow-integer kernels too.
#[test]
fn dtype_kernels_emit_objects_for_x86_64_and_aarch64() {
    let mut g = Graph::new("dtypes");
    let x = g.add_input("x", ty(DType::F32, &[3, 9]));
    let h = node(&mut g, "h", Op::Cast { to: DType::F16 }, vec![x]);
    let s = node(&mut g, "s", Op::Binary(BinaryOp::Mul), vec![h, h]);
    let m = node(&mut g, "m", Op::Binary(BinaryOp::Max), vec![s, h]);
    let u = node(&mut g, "u", Op::Unary(UnaryOp::Math(MathFn::Swish { alpha: 1.0 })), vec![m]);
    let c = node(&mut g, "c", Op::Compare(CompareOp::Less), vec![u, h]);
    let q = node(&mut g, "q", Op::Cast { to: DType::I4 }, vec![u]);
    let b = node(&mut g, "b", Op::Cast { to: DType::I8 }, vec![q]);
    let d = node(&mut g, "d", Op::Binary(BinaryOp::Mul), vec![b, b]);
    let r = node(&mut g, "r", Op::Reduce { kind: ReduceKind::Max, axes: vec![1], keepdims: false }, vec![d]);
    g.outputs = vec![c, r];
    for triple in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        let t: target_lexicon::Triple = triple.parse().unwrap();
        let opts = JitOptions { verify: true, ..JitOptions::default() };
        let obj = int8xc_jit::emit_object(&g, &t, &opts).unwrap_or_else(|e| panic!("{triple}: {e}"));
        assert!(!obj.is_empty(), "{triple}");
    }
    check(&g, &[TestRng::new(2).tensor_scaled(&[3, 9], 9.0)], Exact::F16Ulp);
}
