use proptest::prelude::*;

use crate::*;

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

fn ramp(shape: &[usize], scale: f32) -> TensorData {
    let n: usize = shape.iter().product();
    TensorData::from_f32(shape.to_vec(), (0..n).map(|i| (i as f32 - n as f32 / 2.0) * scale).collect()).unwrap()
}

/// Verifies `g`, prints it, parses it back and checks both the graph and the text are equal.
fn assert_round_trip(g: &Graph) -> String {
    verify(g).unwrap_or_else(|e| panic!("test graph does not verify: {e}\n{g}"));
    let text = print_graph(g, &PrintOptions::full());
    let back = parse_graph(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(identical(&back, g), "round trip changed the graph:\n{text}\n{back:?}\n{g:?}");
    text
}

/// Bit-exact graph equality: `==` is false for graphs holding NaN, so compare the debug form
/// (every field, floats but NaN exactly) and the printed form (NaN payloads exactly).
fn identical(a: &Graph, b: &Graph) -> bool {
    format!("{a:?}") == format!("{b:?}") && a.to_string() == b.to_string()
}

fn parse_err(text: &str) -> (usize, usize, String) {
    match parse_graph(text) {
        Err(IrError::Parse { line, column, message }) => (line, column, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn conv_attrs(k: usize, stride: usize, pad: usize, group: usize) -> ConvAttrs {
    ConvAttrs { kernel: [k, k], strides: [stride, stride], pads: [pad; 4], dilations: [1, 1], group }
}

/// One single-node graph per op variant, with constants for every non-first operand.
fn one_op_graphs() -> Vec<Graph> {
    let pool = PoolAttrs {
        kernel: [3, 2],
        strides: [2, 1],
        pads: [1, 0, 1, 1],
        dilations: [1, 1],
        ceil_mode: true,
        count_include_pad: true,
    };
    let x = f32t(&[1, 4, 6, 6]);
    let resize = ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordTransform::PytorchHalfPixel,
        nearest: NearestMode::RoundPreferCeil,
        scales: vec![1.0, 1.0, 1.5, 2.0],
        sizes: vec![1, 4, 9, 12],
        ..ResizeAttrs::default()
    };
    let cases: Vec<(Op, TensorType, Vec<TensorData>)> = vec![
        (Op::Conv(conv_attrs(3, 2, 1, 2)), x.clone(), vec![ramp(&[6, 2, 3, 3], 0.1), ramp(&[6], 1.0)]),
        (
            Op::ConvTranspose(ConvTransposeAttrs {
                kernel: [3, 3],
                strides: [2, 2],
                pads: [1, 1, 1, 1],
                dilations: [1, 1],
                output_padding: [1, 1],
                group: 1,
            }),
            x.clone(),
            vec![ramp(&[4, 2, 3, 3], 0.5)],
        ),
        (Op::MatMul, f32t(&[2, 3]), vec![ramp(&[3, 4], 0.25)]),
        (
            Op::Gemm(GemmAttrs { alpha: 0.5, beta: -2.0, trans_a: true, trans_b: true }),
            f32t(&[3, 2]),
            vec![ramp(&[4, 3], 1.0), ramp(&[4], 1.0)],
        ),
        (Op::Binary(BinaryOp::Add), x.clone(), vec![ramp(&[4, 1, 1], 1.0)]),
        (Op::Binary(BinaryOp::Sub), x.clone(), vec![ramp(&[6], 1.0)]),
        (Op::Binary(BinaryOp::Mul), x.clone(), vec![TensorData::scalar_f32(3.0)]),
        (Op::Binary(BinaryOp::Div), x.clone(), vec![ramp(&[1, 4, 6, 6], 1.0)]),
        (Op::Unary(UnaryOp::Relu), x.clone(), vec![]),
        (Op::Unary(UnaryOp::LeakyRelu { alpha: 0.01 }), x.clone(), vec![]),
        (Op::Unary(UnaryOp::Clip { min: f32::NEG_INFINITY, max: 6.0 }), x.clone(), vec![]),
        (Op::Unary(UnaryOp::Sigmoid), x.clone(), vec![]),
        (Op::Unary(UnaryOp::Tanh), x.clone(), vec![]),
        (Op::Unary(UnaryOp::HardSigmoid { alpha: 0.2, beta: 0.5 }), x.clone(), vec![]),
        (Op::Unary(UnaryOp::HardSwish), x.clone(), vec![]),
        (Op::Softmax { axis: 3 }, x.clone(), vec![]),
        (Op::MaxPool(pool.clone()), x.clone(), vec![]),
        (Op::AveragePool(pool), x.clone(), vec![]),
        (Op::GlobalAveragePool, x.clone(), vec![]),
        (Op::ReduceMean { axes: vec![1, 3], keepdims: false }, x.clone(), vec![]),
        (Op::ArgMax { axis: 1, keepdims: true, select_last_index: true }, x.clone(), vec![]),
        (Op::BatchNormalization { epsilon: 1e-5 }, x.clone(), (0..4).map(|i| ramp(&[4], 0.5 + i as f32)).collect()),
        (Op::Reshape { shape: vec![4, 36] }, x.clone(), vec![]),
        (Op::Transpose { perm: vec![0, 2, 3, 1] }, x.clone(), vec![]),
        (Op::Concat { axis: 1 }, x.clone(), vec![ramp(&[1, 2, 6, 6], 1.0)]),
        (
            Op::Slice(SliceAttrs { axes: vec![3, 1], starts: vec![5, 0], ends: vec![-1, 4], steps: vec![-2, 3] }),
            x.clone(),
            vec![],
        ),
        (Op::Gather { axis: 2 }, x.clone(), vec![TensorData::from_i64([2], vec![-1, 0]).unwrap()]),
        (Op::Cast { to: DType::I8 }, x.clone(), vec![]),
        (Op::Resize(resize), x, vec![]),
    ];
    cases
        .into_iter()
        .map(|(op, in_ty, consts)| {
            let mut g = Graph::new(format!("one_{}", op.name()));
            let mut inputs = vec![g.add_input("x", in_ty)];
            for (i, c) in consts.into_iter().enumerate() {
                inputs.push(g.add_const(format!("c{i}"), c));
            }
            let name = op.name().to_lowercase();
            let y = g.add_node(name, op, inputs).unwrap_or_else(|e| panic!("{e}"));
            g.outputs = y;
            g
        })
        .collect()
}

#[test]
fn every_op_round_trips() {
    let graphs = one_op_graphs();
    assert_eq!(graphs.len(), 29, "one case per op variant (and per unary/binary op)");
    for g in graphs {
        assert_round_trip(&g);
    }
}

#[test]
fn resize_filter_attributes_print_only_when_not_default_and_round_trip() {
    let mut g = Graph::new("resize_filters");
    let x = g.add_input("x", f32t(&[1, 1, 4, 4]));
    let cubic = ResizeAttrs {
        mode: ResizeMode::Cubic,
        coord: CoordTransform::TfCropAndResize,
        scales: vec![1.0, 1.0, 0.75, 0.75],
        sizes: vec![1, 1, 3, 3],
        cubic_coeff_a: -0.5,
        exclude_outside: true,
        antialias: true,
        roi: vec![0.0, 0.0, 0.4, 0.6, 1.0, 1.0, 0.6, 0.8],
        extrapolation_value: 10.0,
        ..ResizeAttrs::default()
    };
    let plain = ResizeAttrs { scales: vec![1.0, 1.0, 2.0, 2.0], sizes: vec![1, 1, 8, 8], ..ResizeAttrs::default() };
    let y0 = g.add_node("cubic", Op::Resize(cubic), vec![x]).unwrap_or_else(|e| panic!("{e}"));
    let y1 = g.add_node("plain", Op::Resize(plain), vec![x]).unwrap_or_else(|e| panic!("{e}"));
    g.outputs = vec![y0[0], y1[0]];
    let text = assert_round_trip(&g);
    assert!(
        text.contains("{mode=cubic, coord=tf_crop_and_resize, nearest=round_prefer_floor, scales=[1.0,1.0,0.75,0.75], sizes=[1,1,3,3], cubic_coeff_a=-0.5, exclude_outside=true, antialias=true, roi=[0.0,0.0,0.4,0.6,1.0,1.0,0.6,0.8], extrapolation_value=10.0}"),
        "{text}"
    );
    assert!(
        text.contains(
            "{mode=nearest, coord=half_pixel, nearest=round_prefer_floor, scales=[1.0,1.0,2.0,2.0], sizes=[1,1,8,8]}"
        ),
        "{text}"
    );
}

#[test]
fn max_pool_with_indices_prints_both_outputs_and_round_trips() {
    let mut g = Graph::new("argmax_pool");
    let x = g.add_input("x", f32t(&[1, 2, 5, 5]));
    let pool = PoolAttrs {
        kernel: [2, 3],
        strides: [2, 1],
        pads: [1, 0, 0, 1],
        dilations: [1, 2],
        ceil_mode: true,
        count_include_pad: false,
    };
    g.outputs = g.add_node("pool", Op::MaxPoolWithIndices { pool, column_major: true }, vec![x]).unwrap();
    let text = assert_round_trip(&g);
    assert!(text.contains("MaxPoolWithIndices(%x)"), "{text}");
    assert!(text.contains("column_major=true"), "{text}");
}

#[test]
fn constants_of_every_dtype_round_trip() {
    let mut g = Graph::new("consts");
    let datas = vec![
        Data::F32(vec![
            0.0,
            -0.0,
            1.5e-45,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::from_bits(0xffc0_0001),
        ]),
        Data::F16(vec![
            half::f16::from_f32(0.1),
            half::f16::NAN,
            half::f16::from_bits(0x7e01),
            half::f16::NEG_INFINITY,
        ]),
        Data::I64(vec![i64::MIN, -1, 0, i64::MAX]),
        Data::I32(vec![i32::MIN, 7, 0, i32::MAX]),
        Data::I16(vec![i16::MIN, 7, 0, i16::MAX]),
        Data::I8(vec![-128, 127, 0, 5]),
        Data::U8(vec![0, 255, 1, 2]),
        Data::I4(vec![0x8f, 0x07, 0x0a]),
        Data::U4(vec![0xf0, 0x12]),
        Data::Bool(vec![true, false, false, true]),
    ];
    for (i, d) in datas.into_iter().enumerate() {
        let shape = match &d {
            Data::F32(_) => vec![2, 4],
            Data::I4(_) => vec![5],
            _ => vec![4],
        };
        g.add_const(format!("c{i}"), TensorData::new(shape, d).unwrap());
    }
    let text = assert_round_trip(&g);
    assert!(text.contains("NaN, NaN_0xffc00001]"), "{text}");
    assert!(text.contains("[-1, -8, 7, 0, -6]"), "{text}");
}

#[test]
fn quant_params_names_and_node_names_round_trip() {
    let mut g = Graph::new("9 lives");
    let mut qt = TensorType::new(DType::U8, [1, 3, 2, 2]);
    qt.quant = Some(QuantParams::per_tensor(0.0235, 128));
    let x = g.add_input("input:0", qt);
    let w = g.add_const("conv1/weight", TensorData::new([3, 1], Data::I8(vec![1, -2, 3])).unwrap());
    g.values[w.index()].ty.quant = Some(QuantParams::per_axis(0, vec![0.5, 0.25, 1e-3], vec![0, -1, 2]));
    let y = g.add_node("\"odd\"\tname", Op::Reshape { shape: vec![3, 4] }, vec![x]).unwrap()[0];
    g.values[y.index()].name = "flat".into();
    g.outputs = vec![y, w];
    let text = assert_round_trip(&g);
    assert!(
        text.starts_with("graph \"9 lives\"(%\"input:0\": u8<0.0235,128>[1,3,2,2]) -> (%flat, %\"conv1/weight\") {")
    );
    assert!(text.contains("i8<axis=0,scale=[0.5,0.25,0.001],zero_point=[0,-1,2]>[3,1]"), "{text}");
    assert!(text.contains("@\"\\\"odd\\\"\\tname\""), "{text}");
}

fn small_cnn() -> Graph {
    let mut g = Graph::new("small_cnn");
    let x = g.add_input("input", f32t(&[1, 1, 8, 8]));
    let w0 = g.add_const("w0", ramp(&[4, 1, 3, 3], 0.125));
    let b0 = g.add_const("b0", TensorData::from_f32([4], vec![0.5, -0.25, 0.0, 1.0]).unwrap());
    let conv = g.add_node("conv0", Op::Conv(conv_attrs(3, 1, 1, 1)), vec![x, w0, b0]).unwrap()[0];
    let relu = g.add_node("relu0", Op::Unary(UnaryOp::Relu), vec![conv]).unwrap()[0];
    let pool = PoolAttrs {
        kernel: [2, 2],
        strides: [2, 2],
        pads: [0; 4],
        dilations: [1, 1],
        ceil_mode: false,
        count_include_pad: false,
    };
    let p = g.add_node("pool0", Op::MaxPool(pool), vec![relu]).unwrap()[0];
    let flat = g.add_node("flatten", Op::Reshape { shape: vec![1, 64] }, vec![p]).unwrap()[0];
    let w1 = g.add_const("w1", ramp(&[3, 64], 0.01));
    let b1 = g.add_const("b1", TensorData::from_f32([3], vec![0.1, 0.2, 0.3]).unwrap());
    let gemm = Op::Gemm(GemmAttrs { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: true });
    let logits = g.add_node("fc", gemm, vec![flat, w1, b1]).unwrap()[0];
    let probs = g.add_node("probs", Op::Softmax { axis: 1 }, vec![logits]).unwrap()[0];
    g.outputs = vec![probs];
    g
}

#[test]
fn small_cnn_snapshot() {
    let g = small_cnn();
    assert_round_trip(&g);
    insta::assert_snapshot!(print_graph(&g, &PrintOptions::elide_above(40)));
}

#[test]
fn elided_constants_print_a_checksum_and_do_not_parse() {
    let text = print_graph(&small_cnn(), &PrintOptions::elide_above(40));
    assert!(text.contains("%w1: f32[3,64] = const elided (192 elements, fnv1a 0x"), "{text}");
    assert!(text.contains("%w0: f32[4,1,3,3] = const [-2.25,"), "{text}");
    let (line, column, message) = parse_err(&text);
    assert_eq!((line, column), (8, 26), "{message}");
    assert!(message.contains("elided constant"), "{message}");
}

#[test]
fn hand_written_text_with_inferred_types_and_comments() {
    let text = "
        # a tiny graph
        graph t(%x: f32[2,3]) -> (%y) {
          %w: f32[3] = const [1, 2.5, -3e-2]   # ints parse as floats
          %s = Add(%x, %w)
          %y = Relu(%s) @act
        }";
    let g = parse_graph(text).unwrap();
    assert_eq!(verify(&g), Ok(()));
    assert_eq!(g.ty(g.outputs[0]), &f32t(&[2, 3]));
    assert_eq!(g.nodes[1].name, "act");
    assert_eq!(g.constant(ValueId(1)).unwrap().as_f32(), Some(&[1.0, 2.5, -0.03][..]));
}

#[test]
fn parse_errors_carry_line_and_column() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        ("grph g() -> () {}", (1, 1), "expected 'graph'"),
        ("graph g() -> () {\n  %y = Relu(%x)\n}", (2, 13), "undefined value %x"),
        ("graph g(%x: f32[2]) -> () {\n  %x = Relu(%x)\n}", (2, 3), "value %x is defined twice"),
        ("graph g(%x: f32[2]) -> () {\n  %y = Frob(%x)\n}", (2, 8), "unknown op 'Frob'"),
        ("graph g(%x: f32[2]) -> () {\n  %y = Softmax(%x)\n}", (2, 8), "Softmax: missing attribute 'axis'"),
        ("graph g(%x: f32[2]) -> () {\n  %y = Softmax(%x) {axis=0, ax=1}\n}", (2, 29), "unknown attribute 'ax'"),
        ("graph g(%x: f32[2]) -> () {\n  %y = Softmax(%x) {axis=[0]}\n}", (2, 21), "must be a non-negative integer"),
        (
            "graph g(%x: f32[2]) -> () {\n  %y: f32[3] = Relu(%x)\n}",
            (2, 3),
            "%y is declared f32[3] but Relu gives f32[2]",
        ),
        ("graph g(%x: f32[2]) -> () {\n  %y = Softmax(%x) {axis=1}\n}", (2, 8), "axis 1 out of range for rank 1"),
        ("graph g() -> () {\n  %c: f32[2] = const [1]\n}", (2, 22), "needs 2 elements, got 1"),
        ("graph g() -> () {\n  %c: u8[2] = const [1, 256]\n}", (2, 25), "expected a u8 element"),
        ("graph g() -> () {\n  %c = const [1]\n}", (2, 3), "a constant needs a type"),
        ("graph g() -> (%nope) {\n}", (1, 15), "undefined value %nope"),
        ("graph g(%x: f64[2]) -> () {}", (1, 13), "expected a dtype"),
        (
            "graph g(%x: f32[2]) -> () {\n  %y = Relu(%x) @a\n  %z = Relu(%x) @a\n}",
            (3, 8),
            "node name 'a' is used twice",
        ),
        ("graph g() -> () {\n  %c: f32[] = const [1] $\n}", (2, 25), "unexpected character '$'"),
        ("graph g() -> () {", (1, 18), "expected '}' or a statement"),
        ("graph g(%x: f32[2]) -> () {} extra", (1, 30), "expected end of input"),
        ("graph g(%x: u8<0.5>[2]) -> () {}", (1, 19), "expected ','"),
    ];
    for (text, pos, msg) in cases {
        let (line, column, message) = parse_err(text);
        assert!(message.contains(msg), "{text:?}: message {message:?} lacks {msg:?}");
        assert_eq!((line, column), *pos, "{text:?}: {message}");
    }
}

#[test]
fn display_and_from_str_round_trip() {
    let g = small_cnn();
    let back: Graph = g.to_string().parse().unwrap();
    assert_eq!(back, g, "no NaN here, so == holds");
}

/// A random chain of element-wise, conv and pool ops over one input, with random constants
/// (arbitrary bit patterns, so NaN payloads and subnormals are covered).
fn random_graph() -> impl Strategy<Value = Graph> {
    let dims = (1usize..4, 1usize..9, 1usize..9);
    let steps = prop::collection::vec((0u8..7, 1usize..4, 0usize..3, any::<u32>()), 0..8);
    (dims, steps).prop_map(|((c, h, w), steps)| {
        let mut g = Graph::new("random");
        let mut cur = g.add_input("x", f32t(&[1, c, h, w]));
        for (i, (kind, k, p, bits)) in steps.into_iter().enumerate() {
            let shape = g.ty(cur).shape.clone();
            let ch = shape[1];
            let r = |n: usize| -> Vec<f32> { (0..n).map(|j| f32::from_bits(bits.rotate_left(j as u32 * 7))).collect() };
            let (op, mut inputs) = match kind {
                0 => (Op::Unary(UnaryOp::Relu), vec![cur]),
                1 => (Op::Unary(UnaryOp::LeakyRelu { alpha: f32::from_bits(bits) }), vec![cur]),
                2 | 3 => {
                    let cshape = if kind == 2 { vec![ch, 1, 1] } else { vec![shape[3]] };
                    let n = cshape.iter().product();
                    let cst = g.add_const(format!("k{i}"), TensorData::from_f32(cshape, r(n)).unwrap());
                    (Op::Binary(if kind == 2 { BinaryOp::Add } else { BinaryOp::Mul }), vec![cur, cst])
                }
                4 | 5 => {
                    let group = if kind == 5 { ch } else { 1 };
                    let m = ch * (1 + (bits as usize % 2));
                    let wshape = vec![m, ch / group, k, k];
                    let n = wshape.iter().product();
                    let wv = g.add_const(format!("w{i}"), TensorData::from_f32(wshape, r(n)).unwrap());
                    (Op::Conv(conv_attrs(k, 1 + p % 2, p, group)), vec![cur, wv])
                }
                _ => {
                    let a = PoolAttrs {
                        kernel: [k, k],
                        strides: [1 + p % 2, 1],
                        pads: [p.min(k - 1); 4],
                        dilations: [1, 1],
                        ceil_mode: bits % 2 == 0,
                        count_include_pad: bits % 3 == 0,
                    };
                    (if bits % 2 == 0 { Op::MaxPool(a) } else { Op::AveragePool(a) }, vec![cur])
                }
            };
            if let Op::Conv(_) = op {
                let b = g.add_const(
                    format!("b{i}"),
                    TensorData::from_f32([g.ty(inputs[1]).shape[0]], r(1).repeat(g.ty(inputs[1]).shape[0])).unwrap(),
                );
                inputs.push(b);
            }
            if let Ok(out) = g.add_node(format!("n{i}"), op, inputs) {
                cur = out[0];
            }
        }
        g.outputs.push(cur);
        g
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn random_graphs_round_trip(g in random_graph()) {
        prop_assert_eq!(verify(&g), Ok(()));
        let text = print_graph(&g, &PrintOptions::full());
        let back = parse_graph(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert!(identical(&back, &g), "round trip changed the graph:\n{}", text);
        if !format!("{g:?}").contains("NaN") {
            prop_assert_eq!(back, g);
        }
    }
}

#[test]
fn non_canonical_graphs_parse_back_canonicalized() {
    let mut g = Graph::new("late_input");
    let c = g.add_const("c", TensorData::from_f32([2], vec![1.0, 2.0]).unwrap());
    let x = g.add_input("x", f32t(&[2]));
    let y = g.add_node("add", Op::Binary(BinaryOp::Add), vec![x, c]).unwrap()[0];
    g.outputs.push(y);
    let back = parse_graph(&g.to_string()).unwrap();
    assert_ne!(back, g);
    g.canonicalize();
    assert_eq!(back, g);
}
