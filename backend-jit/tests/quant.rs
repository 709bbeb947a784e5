//! Int8 kernels (QMatMul, MatMulInteger, QConv, ConvInteger, QuantizeLinear,
//! DequantizeLinear) vs. the interpreter: bit-exact.

mod common;

use common::*;
use int8xc_ir::{
    ConvAttrs, DType, Data, Graph, Op, QConvAttrs, QMatMulAttrs, QuantParams, Requant, RequantMode, TensorData,
    TensorType,
};
use proptest::prelude::*;

fn qty(dtype: DType, shape: &[usize], q: QuantParams) -> TensorType {
    TensorType { dtype, shape: shape.to_vec(), quant: Some(q) }
}

/// Random 8-bit tensor of `dtype`.
fn ints(rng: &mut TestRng, dtype: DType, shape: &[usize]) -> TensorData {
    let n: usize = shape.iter().product();
    let data = match dtype {
        DType::U8 => Data::U8((0..n).map(|_| rng.next_u64() as u8).collect()),
        _ => Data::I8((0..n).map(|_| rng.next_u64() as i8).collect()),
    };
    TensorData::new(shape.to_vec(), data).unwrap()
}

fn zp(rng: &mut TestRng, dtype: DType) -> i32 {
    let v = (rng.next_u64() % 256) as i32;
    if dtype == DType::U8 {
        v
    } else {
        v - 128
    }
}

/// Weight parameters: per tensor or per `axis` (`channels` entries); `zero_w` forces zero
/// points of 0 (or 128 for u8, the usual symmetric weights).
fn weight_params(rng: &mut TestRng, dtype: DType, per_channel: Option<(usize, usize)>, zero_w: bool) -> QuantParams {
    let z = |rng: &mut TestRng| {
        if zero_w {
            if dtype == DType::U8 {
                128
            } else {
                0
            }
        } else {
            zp(rng, dtype)
        }
    };
    match per_channel {
        None => {
            let s = 0.001 + (rng.f32().abs() * 0.02);
            QuantParams::per_tensor(s, z(rng))
        }
        Some((axis, c)) => {
            let s = (0..c).map(|_| 0.001 + rng.f32().abs() * 0.02).collect();
            let zs = (0..c).map(|_| z(rng)).collect();
            QuantParams::per_axis(axis, s, zs)
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Case {
    a_dt: DType,
    b_dt: DType,
    per_channel: bool,
    zero_w: bool,
    mode: Option<RequantMode>,
    out_dt: DType,
    clamp: bool,
    bias: bool,
}

fn requant(rng: &mut TestRng, c: &Case) -> Option<Requant> {
    c.mode.map(|mode| {
        let zp = zp(rng, c.out_dt);
        Requant {
            mode,
            out_dtype: c.out_dt,
            out_scale: 0.01 + rng.f32().abs() * 0.1,
            out_zero_point: zp,
            clamp: if c.clamp { Some((zp, zp + 40)) } else { None },
        }
    })
}

fn check_qmatmul(a_shape: &[usize], b_shape: &[usize], c: Case, seed: u64) {
    let mut rng = TestRng::new(seed);
    let n = *b_shape.last().unwrap();
    let mut g = Graph::new("qmatmul");
    let qa = QuantParams::per_tensor(0.02 + rng.f32().abs() * 0.01, zp(&mut rng, c.a_dt));
    let x = g.add_input("a", qty(c.a_dt, a_shape, qa));
    let w = g.add_const("w", ints(&mut rng, c.b_dt, b_shape));
    let pc = if c.per_channel { Some((b_shape.len() - 1, n)) } else { None };
    g.values[w.index()].ty.quant = Some(weight_params(&mut rng, c.b_dt, pc, c.zero_w));
    let mut inputs = vec![x, w];
    if c.bias {
        let b: Vec<i32> = (0..n).map(|_| (rng.next_u64() % 20001) as i32 - 10000).collect();
        inputs.push(g.add_const("bias", TensorData::new(vec![n], Data::I32(b)).unwrap()));
    }
    let attrs = QMatMulAttrs { alpha: 1.0, requant: requant(&mut rng, &c) };
    let y = node(&mut g, "y", Op::QMatMul(attrs), inputs);
    g.outputs.push(y);
    let xa = ints(&mut rng, c.a_dt, a_shape);
    let e = diff(&g, &[xa]);
    assert_eq!(e, 0.0, "{a_shape:?} x {b_shape:?} {c:?}");
}

/// `QMatMul` with `b` a graph input (QLinearMatMul of two activations): per-tensor
/// parameters, batch broadcasting, N off the 8-column step.
fn check_qmatmul_runtime_b(a_shape: &[usize], b_shape: &[usize], c: Case, seed: u64) {
    let mut rng = TestRng::new(seed);
    let n = *b_shape.last().unwrap();
    let mut g = Graph::new("qmatmul_rt");
    let qa = QuantParams::per_tensor(0.02 + rng.f32().abs() * 0.01, zp(&mut rng, c.a_dt));
    let x = g.add_input("a", qty(c.a_dt, a_shape, qa));
    let qb = QuantParams::per_tensor(0.01 + rng.f32().abs() * 0.01, if c.zero_w { 0 } else { zp(&mut rng, c.b_dt) });
    let w = g.add_input("b", qty(c.b_dt, b_shape, qb));
    let mut inputs = vec![x, w];
    if c.bias {
        let b: Vec<i32> = (0..n).map(|_| (rng.next_u64() % 20001) as i32 - 10000).collect();
        inputs.push(g.add_const("bias", TensorData::new(vec![n], Data::I32(b)).unwrap()));
    }
    let attrs = QMatMulAttrs { alpha: 1.0, requant: requant(&mut rng, &c) };
    let y = node(&mut g, "y", Op::QMatMul(attrs), inputs);
    g.outputs.push(y);
    let (xa, xb) = (ints(&mut rng, c.a_dt, a_shape), ints(&mut rng, c.b_dt, b_shape));
    assert_eq!(diff(&g, &[xa, xb]), 0.0, "{a_shape:?} x {b_shape:?} {c:?}");
}

#[test]
fn qmatmul_runtime_b_matches_interpreter_bit_exact() {
    for (i, mode) in [Some(RequantMode::F32Multiplier), Some(RequantMode::FixedPoint), None].into_iter().enumerate() {
        let s = 200 + 10 * i as u64;
        let out_dt = if mode.is_none() { DType::F32 } else { DType::U8 };
        let c = Case { mode, out_dt, zero_w: false, bias: true, ..BASE };
        check_qmatmul_runtime_b(&[2, 4], &[4, 3], c, s);
        check_qmatmul_runtime_b(&[2, 3, 5, 17], &[3, 17, 21], Case { bias: false, ..c }, s + 1);
        check_qmatmul_runtime_b(&[7, 9], &[9, 16], Case { a_dt: DType::I8, b_dt: DType::I8, ..c }, s + 2);
        let i8_out = if mode.is_none() { DType::F32 } else { DType::I8 };
        check_qmatmul_runtime_b(&[3, 33], &[33, 13], Case { b_dt: DType::U8, out_dt: i8_out, clamp: true, ..c }, s + 3);
    }
}

const BASE: Case = Case {
    a_dt: DType::U8,
    b_dt: DType::I8,
    per_channel: false,
    zero_w: true,
    mode: Some(RequantMode::F32Multiplier),
    out_dt: DType::U8,
    clamp: false,
    bias: false,
};

#[test]
fn qmatmul_u8_i8_f32_requant_matches_interpreter_bit_exact() {
    check_qmatmul(&[4, 16], &[16, 8], BASE, 1);
    check_qmatmul(&[13, 37], &[37, 29], BASE, 2);
    check_qmatmul(&[64, 300], &[300, 270], Case { bias: true, ..BASE }, 3);
    // Several column blocks with a last width off the 16- and 64-column ukernel tiles, K off 4.
    check_qmatmul(&[6, 1023], &[1023, 600], Case { bias: true, zero_w: false, ..BASE }, 4);
}

#[test]
fn qmatmul_zero_points_per_channel_and_modes() {
    for (i, mode) in [RequantMode::F32Multiplier, RequantMode::FixedPoint].into_iter().enumerate() {
        let c = Case { mode: Some(mode), per_channel: true, zero_w: false, bias: true, ..BASE };
        check_qmatmul(&[9, 21], &[21, 19], c, 10 + i as u64);
        check_qmatmul(&[5, 33], &[33, 17], Case { a_dt: DType::I8, out_dt: DType::I8, ..c }, 20 + i as u64);
        check_qmatmul(&[6, 8], &[8, 9], Case { b_dt: DType::U8, clamp: true, ..c }, 30 + i as u64);
    }
}

#[test]
fn qmatmul_f32_output_batches_and_i16() {
    check_qmatmul(&[2, 3, 7, 10], &[10, 12], Case { mode: None, per_channel: true, ..BASE }, 40);
    check_qmatmul(&[3, 7, 10], &[3, 10, 12], Case { out_dt: DType::I16, ..BASE }, 41);
}

#[test]
fn matmul_integer_matches_interpreter() {
    let mut rng = TestRng::new(50);
    for (a_dt, b_dt) in [(DType::U8, DType::I8), (DType::U8, DType::U8), (DType::I8, DType::I8)] {
        let mut g = Graph::new("mmi");
        let x = g.add_input("a", TensorType::new(a_dt, vec![7, 19]));
        let w = g.add_const("w", ints(&mut rng, b_dt, &[19, 11]));
        let za = g.add_const("za", ints(&mut rng, a_dt, &[]));
        let zb = g.add_const("zb", ints(&mut rng, b_dt, &[11]));
        let y = node(&mut g, "y", Op::MatMulInteger, vec![x, w, za, zb]);
        g.outputs.push(y);
        let e = diff(&g, &[ints(&mut rng, a_dt, &[7, 19])]);
        assert_eq!(e, 0.0);
    }
}

/// Dynamic quantization's `MatMulInteger`: `a_zero_point` a run-time scalar, `b` and
/// per-column `b_zero_point` constants (the microkernel path with `za` read at run time).
#[test]
fn matmul_integer_with_run_time_a_zero_point() {
    let mut rng = TestRng::new(51);
    for (a_dt, b_dt) in [(DType::U8, DType::I8), (DType::U8, DType::U8), (DType::I8, DType::I8)] {
        for (a_shape, b_shape) in [(vec![7, 19], vec![19, 11]), (vec![2, 5, 33], vec![33, 300])] {
            let n = b_shape[1];
            let mut g = Graph::new("mmi_dyn");
            let x = g.add_input("a", TensorType::new(a_dt, a_shape.clone()));
            let w = g.add_const("w", ints(&mut rng, b_dt, &b_shape));
            let za = g.add_input("za", TensorType::new(a_dt, vec![]));
            let zb = g.add_const("zb", ints(&mut rng, b_dt, &[n]));
            let y = node(&mut g, "y", Op::MatMulInteger, vec![x, w, za, zb]);
            g.outputs.push(y);
            let feeds = [ints(&mut rng, a_dt, &a_shape), ints(&mut rng, a_dt, &[])];
            assert_eq!(diff(&g, &feeds), 0.0, "{a_dt} x {b_dt} {a_shape:?} x {b_shape:?}");
        }
    }
}

fn dtypes() -> impl Strategy<Value = (DType, DType)> {
    prop_oneof![Just((DType::U8, DType::I8)), Just((DType::U8, DType::U8)), Just((DType::I8, DType::I8))]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn qmatmul_random_shapes_zero_points_scales(
        m in 1usize..20, k in 1usize..70, n in 1usize..40,
        (a_dt, b_dt) in dtypes(),
        per_channel in any::<bool>(), zero_w in any::<bool>(), fixed in any::<bool>(),
        signed_out in any::<bool>(), clamp in any::<bool>(), bias in any::<bool>(), seed in any::<u64>(),
    ) {
        let mode = Some(if fixed { RequantMode::FixedPoint } else { RequantMode::F32Multiplier });
        let out_dt = if signed_out { DType::I8 } else { DType::U8 };
        let c = Case { a_dt, b_dt, per_channel, zero_w, mode, out_dt, clamp, bias };
        check_qmatmul(&[m, k], &[k, n], c, seed);
    }
}

#[allow(clippy::too_many_arguments)]
fn check_qconv(
    x: [usize; 4],
    m: usize,
    kernel: [usize; 2],
    strides: [usize; 2],
    pads: [usize; 4],
    dil: [usize; 2],
    group: usize,
    c: Case,
    seed: u64,
) {
    let mut rng = TestRng::new(seed);
    let mut g = Graph::new("qconv");
    let qx = QuantParams::per_tensor(0.02 + rng.f32().abs() * 0.01, zp(&mut rng, c.a_dt));
    let xv = g.add_input("x", qty(c.a_dt, &x, qx));
    let ws = [m, x[1] / group, kernel[0], kernel[1]];
    let w = g.add_const("w", ints(&mut rng, c.b_dt, &ws));
    let pc = if c.per_channel { Some((0, m)) } else { None };
    g.values[w.index()].ty.quant = Some(weight_params(&mut rng, c.b_dt, pc, c.zero_w));
    let mut inputs = vec![xv, w];
    if c.bias {
        let b: Vec<i32> = (0..m).map(|_| (rng.next_u64() % 20001) as i32 - 10000).collect();
        inputs.push(g.add_const("bias", TensorData::new(vec![m], Data::I32(b)).unwrap()));
    }
    let conv = ConvAttrs { kernel, strides, pads, dilations: dil, group };
    let attrs = QConvAttrs { conv, requant: requant(&mut rng, &c).unwrap() };
    let y = node(&mut g, "y", Op::QConv(attrs), inputs);
    g.outputs.push(y);
    let e = diff(&g, &[ints(&mut rng, c.a_dt, &x)]);
    assert_eq!(e, 0.0);
}

/// `QConv` and `ConvInteger` whose weights (and `ConvInteger`'s zero points) are graph
/// inputs: the direct-convolution path.
#[test]
fn qconv_and_conv_integer_with_run_time_weights() {
    let mut rng = TestRng::new(300);
    for (i, (mode, per_channel, x_dt)) in [
        (RequantMode::F32Multiplier, true, DType::U8),
        (RequantMode::FixedPoint, false, DType::I8),
        (RequantMode::F32Multiplier, false, DType::I8),
    ]
    .into_iter()
    .enumerate()
    {
        let (xs, m, group) = ([1, 4, 7, 6], 6, if i == 1 { 2 } else { 1 });
        let ws = [m, xs[1] / group, 3, 3];
        let c = Case { a_dt: x_dt, out_dt: x_dt, mode: Some(mode), per_channel, zero_w: false, clamp: i == 2, ..BASE };
        let mut g = Graph::new("qconv_rt");
        let qx = QuantParams::per_tensor(0.03, zp(&mut rng, x_dt));
        let x = g.add_input("x", qty(x_dt, &xs, qx));
        let w = g.add_input(
            "w",
            qty(DType::I8, &ws, weight_params(&mut rng, DType::I8, per_channel.then_some((0, m)), false)),
        );
        let b: Vec<i32> = (0..m).map(|_| (rng.next_u64() % 2001) as i32 - 1000).collect();
        let bias = g.add_const("bias", TensorData::new(vec![m], Data::I32(b)).unwrap());
        let conv = ConvAttrs { kernel: [3, 3], strides: [1, 2], pads: [1, 0, 1, 2], dilations: [1, 1], group };
        let attrs = QConvAttrs { conv: conv.clone(), requant: requant(&mut rng, &c).unwrap() };
        let y = node(&mut g, "y", Op::QConv(attrs), vec![x, w, bias]);
        g.outputs.push(y);
        let feeds = [ints(&mut rng, x_dt, &xs), ints(&mut rng, DType::I8, &ws)];
        assert_eq!(diff(&g, &feeds), 0.0, "case {i}");

        // ConvInteger with run-time zero points (x: scalar, w: per output channel).
        let mut g = Graph::new("convinteger_rt");
        let x = g.add_input("x", TensorType::new(x_dt, xs.to_vec()));
        let w_dt = if x_dt == DType::I8 { DType::I8 } else { DType::U8 };
        let w = g.add_const("w", ints(&mut rng, w_dt, &ws));
        let zx = g.add_input("zx", TensorType::new(x_dt, vec![]));
        let zw = g.add_input("zw", TensorType::new(w_dt, vec![m]));
        let y = node(&mut g, "y", Op::ConvInteger(conv), vec![x, w, zx, zw]);
        g.outputs.push(y);
        let feeds = [ints(&mut rng, x_dt, &xs), ints(&mut rng, x_dt, &[]), ints(&mut rng, w_dt, &[m])];
        assert_eq!(diff(&g, &feeds), 0.0, "ConvInteger case {i}");
    }
}

fn conv_attrs_default() -> ConvAttrs {
    ConvAttrs { kernel: [1, 1], strides: [1, 1], pads: [0; 4], dilations: [1, 1], group: 1 }
}

#[test]
fn qconv_pointwise_3x3_strided_grouped_depthwise() {
    let pc = Case { per_channel: true, bias: true, ..BASE };
    check_qconv([1, 16, 8, 8], 24, [1, 1], [1, 1], [0; 4], [1, 1], 1, pc, 60);
    check_qconv([2, 8, 9, 7], 12, [3, 3], [1, 1], [1; 4], [1, 1], 1, pc, 61);
    check_qconv([1, 6, 11, 10], 9, [3, 3], [2, 2], [1, 0, 1, 2], [1, 2], 3, pc, 62);
    check_qconv([1, 8, 7, 7], 8, [3, 3], [1, 1], [1; 4], [1, 1], 8, pc, 63);
    let zp_w = Case { zero_w: false, mode: Some(RequantMode::FixedPoint), clamp: true, ..pc };
    check_qconv([1, 5, 6, 6], 7, [2, 3], [1, 2], [0, 1, 1, 0], [2, 1], 1, zp_w, 64);
    let signed = Case { a_dt: DType::I8, out_dt: DType::I8, zero_w: false, ..pc };
    check_qconv([1, 4, 5, 5], 4, [3, 3], [1, 1], [2; 4], [1, 1], 2, signed, 65);
}

/// Rows of 16+ input columns: the vectorized paths (depthwise row copy, strided im2col,
/// direct 1×1) with their edge chunks.
#[test]
fn qconv_wide_rows_depthwise_strided_pointwise() {
    let pc = Case { per_channel: true, bias: true, ..BASE };
    let zp_w = Case { zero_w: false, mode: Some(RequantMode::FixedPoint), clamp: true, ..pc };
    let signed = Case { a_dt: DType::I8, out_dt: DType::I8, zero_w: false, ..pc };
    for (i, c) in [pc, zp_w, signed].into_iter().enumerate() {
        let s = 80 + 10 * i as u64;
        check_qconv([1, 5, 19, 37], 5, [3, 3], [1, 1], [1; 4], [1, 1], 5, c, s);
        check_qconv([2, 4, 21, 35], 4, [3, 3], [2, 2], [1, 0, 2, 1], [1, 1], 4, c, s + 1);
        check_qconv([1, 3, 17, 33], 3, [5, 3], [2, 1], [2, 1, 2, 1], [1, 2], 3, c, s + 2);
        check_qconv([1, 3, 34, 40], 6, [7, 7], [2, 2], [3; 4], [1, 1], 1, c, s + 3);
        check_qconv([1, 3, 33, 35], 5, [3, 3], [2, 2], [1; 4], [1, 1], 1, c, s + 4);
        check_qconv([1, 7, 12, 20], 9, [1, 1], [1, 1], [0; 4], [1, 1], 1, c, s + 5);
        check_qconv([2, 6, 9, 11], 5, [1, 1], [1, 1], [0; 4], [1, 1], 1, c, s + 6);
        check_qconv([1, 6, 17, 18], 4, [1, 1], [2, 2], [0; 4], [1, 1], 2, c, s + 7);
    }
    // K = 576: several im2col row blocks, each wider than one 256-pixel ukernel chunk.
    let zp_w = Case { zero_w: false, ..pc };
    check_qconv([1, 64, 30, 30], 6, [3, 3], [1, 1], [1; 4], [1, 1], 1, zp_w, 120);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn qconv_random_geometry_zero_points_scales(
        n in 1usize..3, cg in 1usize..6, group in 1usize..4, mg in 1usize..7, h in 1usize..9, w in 1usize..9,
        kh in 1usize..4, kw in 1usize..4, sh in 1usize..3, sw in 1usize..3, dh in 1usize..3, dw in 1usize..3,
        pads in proptest::array::uniform4(0usize..3),
        (a_dt, b_dt) in dtypes(), per_channel in any::<bool>(), zero_w in any::<bool>(), fixed in any::<bool>(),
        clamp in any::<bool>(), bias in any::<bool>(), depthwise in any::<bool>(), seed in any::<u64>(),
    ) {
        let (cg, mg) = if depthwise { (1, 1) } else { (cg, mg) };
        let span = |k: usize, d: usize| d * (k - 1) + 1;
        prop_assume!(h + pads[0] + pads[2] >= span(kh, dh) && w + pads[1] + pads[3] >= span(kw, dw));
        let mode = Some(if fixed { RequantMode::FixedPoint } else { RequantMode::F32Multiplier });
        let out_dt = if a_dt == DType::I8 { DType::I8 } else { DType::U8 };
        let c = Case { a_dt, b_dt, per_channel, zero_w, mode, out_dt, clamp, bias };
        check_qconv([n, cg * group, h, w], mg * group, [kh, kw], [sh, sw], pads, [dh, dw], group, c, seed);
    }
}

#[test]
fn conv_integer_matches_interpreter() {
    let mut rng = TestRng::new(70);
    let mut g = Graph::new("ci");
    let x = g.add_input("x", TensorType::new(DType::U8, vec![1, 3, 6, 6]));
    let w = g.add_const("w", ints(&mut rng, DType::U8, &[5, 3, 3, 3]));
    let zx = g.add_const("zx", ints(&mut rng, DType::U8, &[]));
    let zw = g.add_const("zw", ints(&mut rng, DType::U8, &[5]));
    let conv = ConvAttrs { kernel: [3, 3], pads: [1; 4], ..conv_attrs_default() };
    let y = node(&mut g, "y", Op::ConvInteger(conv), vec![x, w, zx, zw]);
    g.outputs.push(y);
    assert_eq!(diff(&g, &[ints(&mut rng, DType::U8, &[1, 3, 6, 6])]), 0.0);
}
