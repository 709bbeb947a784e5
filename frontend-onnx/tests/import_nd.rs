//! 1-D and 3-D `Conv` / `ConvTranspose` / pools (rewritten into the IR's 2-D ops),
//! `ConvTranspose` pads from an `output_shape` larger than the full output, MaxPool's
//! `Indices` output and Dropout's `mask`: the IR the importer builds and the numbers it
//! computes, against direct N-D reference loops written here from the ONNX operator specs.

mod common;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{ConvAttrs, Data, Graph, Op, PoolAttrs, TensorData};
use int8xc_onnx::proto::{AttributeProto, DataType, TensorProto};

const BOOL: i32 = DataType::Bool as i32;

fn ops(g: &Graph) -> Vec<&str> {
    g.nodes.iter().map(|n| n.op.name()).collect()
}

fn pattern(n: usize, seed: usize) -> Vec<f32> {
    (0..n).map(|i| (((i + seed) * 7 % 13) as f32 - 6.0) * 0.25).collect()
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

fn dims(shape: &[usize]) -> Vec<i64> {
    shape.iter().map(|&d| d as i64).collect()
}

/// Every multi-index of `shape` in row-major order.
fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut all = vec![vec![]];
    for &d in shape {
        all = all.into_iter().flat_map(|p| (0..d).map(move |i| [p.clone(), vec![i]].concat())).collect();
    }
    all
}

fn flat(shape: &[usize], at: &[usize]) -> usize {
    shape.iter().zip(at).fold(0, |acc, (&d, &i)| acc * d + i)
}

/// Spatial window attributes of the reference loops (one entry per spatial axis; pads in ONNX
/// order `[begins…, ends…]`, signed for ConvTranspose).
#[derive(Clone)]
struct Win {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    pads: Vec<i64>,
    dilations: Vec<usize>,
}

impl Win {
    fn attrs(&self) -> Vec<AttributeProto> {
        let i = |v: &[usize]| v.iter().map(|&x| x as i64).collect::<Vec<_>>();
        vec![
            a_ints("kernel_shape", &i(&self.kernel)),
            a_ints("strides", &i(&self.strides)),
            a_ints("pads", &self.pads),
            a_ints("dilations", &i(&self.dilations)),
        ]
    }
}

/// ONNX `MaxPool` / `AveragePool` on `x [N, C, spatial…]` with `out` spatial dims, as ONNX
/// Runtime computes them (the interpreter's documented rule for the divisor).
fn pool_ref(x: &[f32], shape: &[usize], out: &[usize], w: &Win, max: bool, include_pad: bool) -> Vec<f32> {
    let r = out.len();
    let sp = &shape[2..];
    let mut y = vec![];
    for o in indices(&[&shape[..2], out].concat()) {
        let (mut acc, mut count) = (if max { f32::NEG_INFINITY } else { 0.0 }, 0);
        for t in indices(&w.kernel) {
            let pos: Vec<i64> =
                (0..r).map(|a| (o[2 + a] * w.strides[a] + t[a] * w.dilations[a]) as i64 - w.pads[a]).collect();
            let inside = (0..r).all(|a| pos[a] >= 0 && pos[a] < sp[a] as i64);
            let padded = (0..r).all(|a| pos[a] < sp[a] as i64 + w.pads[a + r]);
            if inside {
                let at: Vec<usize> = o[..2].iter().copied().chain(pos.iter().map(|&p| p as usize)).collect();
                let e = x[flat(shape, &at)];
                if max {
                    acc = if e > acc { e } else { acc };
                } else {
                    acc += e;
                }
                count += 1;
            } else if include_pad && padded {
                count += 1;
            }
        }
        y.push(if max {
            acc
        } else if count == 0 {
            0.0
        } else {
            acc / count as f32
        });
    }
    y
}

/// ONNX `ConvTranspose` on `x [N, C, spatial…]`, `w [C, M/g, k…]` into `out` spatial dims:
/// `y[n, m, i·s + t·d - pad_begin] += x[n, c, i] · w[c, m, t]` (signed pads), plus the bias.
fn conv_transpose_ref(
    (x, xs): (&[f32], &[usize]),
    (wt, ws): (&[f32], &[usize]),
    bias: Option<&[f32]>,
    out: &[usize],
    w: &Win,
    group: usize,
) -> Vec<f32> {
    let (r, c, mg) = (out.len(), xs[1], ws[1]);
    let m = mg * group;
    let ys = [vec![xs[0], m], out.to_vec()].concat();
    let mut y = vec![0.0f32; numel(&ys)];
    for i in indices(xs) {
        let (b, ci) = (i[0], i[1]);
        let g = ci / (c / group);
        for mi in 0..mg {
            for t in indices(&w.kernel) {
                let o: Vec<i64> =
                    (0..r).map(|a| (i[2 + a] * w.strides[a] + t[a] * w.dilations[a]) as i64 - w.pads[a]).collect();
                if (0..r).any(|a| o[a] < 0 || o[a] >= out[a] as i64) {
                    continue;
                }
                let at: Vec<usize> = [b, g * mg + mi].into_iter().chain(o.iter().map(|&v| v as usize)).collect();
                let wi: Vec<usize> = [ci, mi].into_iter().chain(t.iter().copied()).collect();
                y[flat(&ys, &at)] += x[flat(xs, &i)] * wt[flat(ws, &wi)];
            }
        }
    }
    if let Some(bias) = bias {
        let plane = numel(out);
        for (k, v) in y.iter_mut().enumerate() {
            *v += bias[k / plane % m];
        }
    }
    y
}

fn run(g: &Graph, inputs: &[TensorData]) -> Vec<TensorData> {
    Interpreter.run_graph(g, inputs).unwrap_or_else(|e| panic!("{e}"))
}

#[track_caller]
fn assert_close(got: &TensorData, shape: &[usize], want: &[f32]) {
    assert_eq!(got.shape(), shape);
    let got = got.as_f32().expect("f32");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "element {k}: got {g}, want {w}\n{got:?}\n{want:?}");
    }
}

#[test]
fn conv_1d_is_a_2d_conv_with_a_unit_height_between_reshapes() {
    let n = node(
        "Conv",
        &["x", "w", "b"],
        &["y"],
        vec![a_ints("pads", &[1, 2]), a_ints("strides", &[2]), a_ints("dilations", &[2]), a_int("group", 2)],
    );
    let (xs, ws) = ([2, 4, 9], [6, 2, 3]);
    let inits = vec![tensor_f32("w", &dims(&ws), &pattern(36, 1)), tensor_f32("b", &[6], &pattern(6, 5))];
    let m = model(13, vec![n], vec![vi("x", FLOAT, &dims(&xs))], &["y"], inits);
    let g = import(&m, &[]).unwrap();
    assert_eq!(ops(&g), ["Reshape", "Conv", "Reshape"], "the constant weight is reshaped at import");
    assert_eq!(
        g.nodes[1].op,
        Op::Conv(ConvAttrs { kernel: [1, 3], strides: [1, 2], pads: [0, 1, 0, 2], dilations: [1, 2], group: 2 })
    );
    assert_eq!(g.ty(g.nodes[1].inputs[1]).shape, [6, 2, 1, 3]);
    assert_eq!((g.nodes[2].name.as_str(), g.value(g.outputs[0]).name.as_str()), ("Conv_0", "y"));
    // (9 + 3 - 5) / 2 + 1 = 4
    assert_eq!(out_ty(&g, 0), "f32[2,6,4]");
}

#[test]
fn conv_1d_same_auto_pad_pads_the_length_only() {
    for (mode, pads) in [("SAME_UPPER", [0, 1, 0, 2]), ("SAME_LOWER", [0, 2, 0, 1])] {
        let n = node("Conv", &["x", "w"], &["y"], vec![a_str("auto_pad", mode)]);
        let m = single(11, n, &[1, 2, 7], vec![tensor_iota("w", &[3, 2, 4])]);
        let g = import(&m, &[]).unwrap();
        let Op::Conv(a) = &g.nodes[1].op else { panic!("{:?}", ops(&g)) };
        assert_eq!(a.pads, pads, "{mode}");
        assert_eq!(out_ty(&g, 0), "f32[1,3,7]");
    }
}

#[test]
fn conv_1d_with_runtime_weights_computes_the_1d_convolution() {
    let n = node("Conv", &["x", "w"], &["y"], vec![a_ints("pads", &[2, 0])]);
    let m = model(13, vec![n], vec![vi("x", FLOAT, &[1, 2, 5]), vi("w", FLOAT, &[1, 2, 3])], &["y"], vec![]);
    let g = import(&m, &[]).unwrap();
    assert_eq!(ops(&g), ["Reshape", "Reshape", "Conv", "Reshape"]);
    let (x, w) = (pattern(10, 0), pattern(6, 3));
    let y = run(
        &g,
        &[TensorData::from_f32([1, 2, 5], x.clone()).unwrap(), TensorData::from_f32([1, 2, 3], w.clone()).unwrap()],
    );
    // causal: y[o] = Σ_c Σ_t x[c, o + t - 2] w[c, t]
    let want: Vec<f32> = (0..5usize)
        .map(|o| {
            (0..2)
                .flat_map(|c| (0..3usize).map(move |t| (c, t)))
                .filter_map(|(c, t)| (o + t).checked_sub(2).map(|i| x[c * 5 + i] * w[c * 3 + t]))
                .sum()
        })
        .collect();
    assert_close(&y[0], &[1, 1, 5], &want);
}

/// ONNX `Conv` on `x [N, C, spatial…]`, `w [M, C/g, k…]` into `out` spatial dims:
/// `y[n, m, o] = Σ x[n, c, o·s + t·d - pad_begin] · w[m, c, t] + b[m]`.
fn conv_ref(
    (x, xs): (&[f32], &[usize]),
    (wt, ws): (&[f32], &[usize]),
    bias: &[f32],
    out: &[usize],
    w: &Win,
    group: usize,
) -> Vec<f32> {
    let (r, m, cg) = (out.len(), ws[0], ws[1]);
    let mut y = vec![];
    for o in indices(&[&[xs[0], m][..], out].concat()) {
        let g = o[1] / (m / group);
        let mut acc = 0.0f32;
        for c in 0..cg {
            for t in indices(&w.kernel) {
                let pos: Vec<i64> =
                    (0..r).map(|a| (o[2 + a] * w.strides[a] + t[a] * w.dilations[a]) as i64 - w.pads[a]).collect();
                if (0..r).any(|a| pos[a] < 0 || pos[a] >= xs[2 + a] as i64) {
                    continue;
                }
                let xi: Vec<usize> = [o[0], g * cg + c].into_iter().chain(pos.iter().map(|&p| p as usize)).collect();
                let wi: Vec<usize> = [o[1], c].into_iter().chain(t.iter().copied()).collect();
                acc += x[flat(xs, &xi)] * wt[flat(ws, &wi)];
            }
        }
        y.push(acc + bias[o[1]]);
    }
    y
}

#[test]
fn conv_3d_is_two_2d_convs_over_depth_slices_and_depth() {
    let w3 =
        Win { kernel: vec![3, 2, 2], strides: vec![2, 1, 2], pads: vec![1, 0, 1, 2, 1, 0], dilations: vec![1, 2, 1] };
    let (xs, ws, group) = ([2, 4, 6, 5, 6], [6, 2, 3, 2, 2], 2);
    let n = node("Conv", &["x", "w", "b"], &["y"], [w3.attrs(), vec![a_int("group", group as i64)]].concat());
    let (wv, bv) = (pattern(numel(&ws), 1), pattern(6, 9));
    let inits = vec![tensor_f32("w", &dims(&ws), &wv), tensor_f32("b", &[6], &bv)];
    let g = import(&model(13, vec![n], vec![vi("x", FLOAT, &dims(&xs))], &["y"], inits), &[]).unwrap();
    assert_eq!(ops(&g), ["Transpose", "Reshape", "Conv", "Reshape", "Transpose", "Conv", "Reshape"]);
    assert_eq!((g.nodes[6].name.as_str(), g.value(g.outputs[0]).name.as_str()), ("Conv_0", "y"));
    let out = g.ty(g.outputs[0]).shape[2..].to_vec();
    assert_eq!(out, [4, 4, 3]); // (6+3-3)/2+1, (5+1-3)/1+1, (6+1-2)/2+1
    let x = pattern(numel(&xs), 0);
    let y = run(&g, &[TensorData::from_f32(xs, x.clone()).unwrap()]);
    let want = conv_ref((&x, &xs), (&wv, &ws), &bv, &out, &w3, group);
    assert_close(&y[0], &[2, 6, 4, 4, 3], &want);
}

#[test]
fn convs_with_mismatched_or_too_many_spatial_axes_are_rejected() {
    let n = node("Conv", &["x", "w"], &["y"], vec![]);
    let e = import(&single(13, n, &[1, 1, 2, 2, 2, 2], vec![tensor_iota("w", &[1, 1, 1, 1, 1, 1])]), &[]).unwrap_err();
    assert!(e.to_string().contains("(Conv): input X must have 1 to 3 spatial axes"), "{e}");
    let n = node("Conv", &["x", "w"], &["y"], vec![]);
    let e = import(&single(13, n, &[1, 1, 4, 4], vec![tensor_iota("w", &[1, 1, 2])]), &[]).unwrap_err();
    assert!(e.to_string().contains("different numbers of spatial axes"), "{e}");
}

#[test]
fn pools_1d_match_the_reference_and_keep_the_names() {
    let (xs, out) = ([2, 3, 11], [5]);
    let w = Win { kernel: vec![3], strides: vec![2], pads: vec![1, 1], dilations: vec![2] };
    let x = pattern(numel(&xs), 2);
    for (op, include) in [("MaxPool", false), ("AveragePool", false), ("AveragePool", true)] {
        let mut attrs = w.attrs();
        attrs.push(a_int("count_include_pad", include as i64));
        attrs.push(a_int("ceil_mode", 1));
        let g = import(&single(19, node(op, &["x"], &["y"], attrs), &dims(&xs), vec![]), &[]).unwrap();
        assert_eq!(ops(&g), ["Reshape", op, "Reshape"]);
        let a = PoolAttrs {
            kernel: [1, 3],
            strides: [1, 2],
            pads: [0, 1, 0, 1],
            dilations: [1, 2],
            ceil_mode: true,
            count_include_pad: include,
        };
        assert_eq!(g.nodes[1].op, if op == "MaxPool" { Op::MaxPool(a) } else { Op::AveragePool(a) });
        assert_eq!(g.value(g.outputs[0]).name, "y");
        let y = run(&g, &[TensorData::from_f32(xs, x.clone()).unwrap()]);
        // ceil((11 + 2 - 5) / 2) + 1 = 5
        assert_close(&y[0], &[2, 3, 5], &pool_ref(&x, &xs, &out, &w, op == "MaxPool", include));
    }
}

#[test]
fn max_pool_indices_1d_and_2d() {
    let n = node("MaxPool", &["x"], &["y", "z"], vec![a_ints("kernel_shape", &[2]), a_int("storage_order", 1)]);
    let m = model(12, vec![n], vec![vi("x", FLOAT, &[1, 2, 4])], &["y", "z"], vec![]);
    let g = import(&m, &[]).unwrap();
    assert_eq!(ops(&g), ["Reshape", "MaxPoolWithIndices", "Reshape", "Reshape"]);
    let names: Vec<&str> = g.outputs.iter().map(|&v| g.value(v).name.as_str()).collect();
    assert_eq!(names, ["y", "z"]);
    let x = TensorData::from_f32([1, 2, 4], vec![1., 3., 2., 2., 5., 4., 4., 6.]).unwrap();
    let out = run(&g, &[x]);
    assert_close(&out[0], &[1, 2, 3], &[3., 3., 2., 5., 4., 6.]);
    assert_eq!(out[1].as_i64().unwrap(), &[1, 1, 2, 4, 5, 7], "flat indices into [N, C, L]");

    let n = node("MaxPool", &["x"], &["y", "z"], vec![a_ints("kernel_shape", &[2, 2]), a_int("storage_order", 1)]);
    let g = import(&model(12, vec![n], vec![vi("x", FLOAT, &[1, 1, 3, 3])], &["y", "z"], vec![]), &[]).unwrap();
    let Op::MaxPoolWithIndices { column_major, .. } = only_op(&g) else { panic!("{:?}", ops(&g)) };
    assert!(*column_major);
    let n = node("MaxPool", &["x"], &["y", "z"], vec![a_ints("kernel_shape", &[2, 2, 2])]);
    let e = import(&model(12, vec![n], vec![vi("x", FLOAT, &[1, 1, 3, 3, 3])], &["y", "z"], vec![]), &[]);
    assert!(e.unwrap_err().to_string().contains("'Indices' output of a 3-D MaxPool is not supported"));
}

#[test]
fn pools_3d_are_separable_2d_pools() {
    let xs = [1, 2, 7, 6, 8];
    let x = pattern(numel(&xs), 4);
    let w =
        Win { kernel: vec![3, 2, 3], strides: vec![2, 1, 3], pads: vec![1, 0, 2, 2, 1, 0], dilations: vec![1, 2, 1] };
    for (op, include, ceil) in
        [("MaxPool", false, false), ("MaxPool", false, true), ("AveragePool", false, true), ("AveragePool", true, true)]
    {
        let mut attrs = w.attrs();
        attrs.push(a_int("count_include_pad", include as i64));
        attrs.push(a_int("ceil_mode", ceil as i64));
        let g = import(&single(19, node(op, &["x"], &["y"], attrs), &dims(&xs), vec![]), &[]).unwrap();
        assert_eq!(ops(&g), ["Reshape", op, "Reshape", op, "Reshape"]);
        assert_eq!(g.value(g.outputs[0]).name, "y");
        let out = &g.ty(g.outputs[0]).shape[2..];
        let y = run(&g, &[TensorData::from_f32(xs, x.clone()).unwrap()]);
        let want = pool_ref(&x, &xs, out, &w, op == "MaxPool", include);
        assert_close(&y[0], &[&xs[..2], out].concat(), &want);
    }
}

fn conv_transpose_case(xs: &[usize], ws: &[usize], group: usize, attrs: Vec<AttributeProto>) -> Graph {
    let n = node("ConvTranspose", &["x", "w", "b"], &["y"], [attrs, vec![a_int("group", group as i64)]].concat());
    let m = ws[1] * group;
    let inits = vec![tensor_f32("w", &dims(ws), &pattern(numel(ws), 1)), tensor_f32("b", &[m as i64], &pattern(m, 9))];
    import(&model(13, vec![n], vec![vi("x", FLOAT, &dims(xs))], &["y"], inits), &[]).unwrap()
}

fn check_conv_transpose(g: &Graph, xs: &[usize], ws: &[usize], group: usize, w: &Win) {
    let out = g.ty(g.outputs[0]).shape[2..].to_vec();
    let x = pattern(numel(xs), 0);
    let wt = pattern(numel(ws), 1);
    let bias = pattern(ws[1] * group, 9);
    let y = run(g, &[TensorData::from_f32(xs.to_vec(), x.clone()).unwrap()]);
    let want = conv_transpose_ref((&x, xs), (&wt, ws), Some(&bias), &out, w, group);
    assert_close(&y[0], &[&[xs[0], ws[1] * group][..], &out].concat(), &want);
}

#[test]
fn conv_transpose_1d_and_3d_match_the_reference() {
    let w1 = Win { kernel: vec![3], strides: vec![2], pads: vec![1, 0], dilations: vec![2] };
    let mut attrs = w1.attrs();
    attrs.push(a_ints("output_padding", &[1]));
    let g = conv_transpose_case(&[2, 4, 5], &[4, 3, 3], 2, attrs);
    assert_eq!(ops(&g), ["Reshape", "ConvTranspose", "Reshape"]);
    assert_eq!(out_ty(&g, 0), "f32[2,6,13]"); // 2·4 + 1 + 4 + 1 - 1
    check_conv_transpose(&g, &[2, 4, 5], &[4, 3, 3], 2, &w1);

    let w3 =
        Win { kernel: vec![2, 3, 2], strides: vec![2, 1, 3], pads: vec![1, 0, 1, 0, 2, 0], dilations: vec![1, 2, 1] };
    let mut attrs = w3.attrs();
    attrs.push(a_ints("output_padding", &[1, 0, 2]));
    let (xs, ws) = ([1, 4, 3, 4, 2], [4, 3, 2, 3, 2]);
    let g = conv_transpose_case(&xs, &ws, 2, attrs);
    assert_eq!(out_ty(&g, 0), "f32[1,6,6,6,6]");
    check_conv_transpose(&g, &xs, &ws, 2, &w3);
    assert_eq!(g.value(g.outputs[0]).name, "y");
}

#[test]
fn conv_transpose_output_shape_beyond_the_full_output_adds_rows() {
    // ONNX example convtranspose_output_shape: full 9×7, output_shape [10, 8] → total pad -1:
    // pads (0, -1) per axis, the extra row/column at the end (output_padding 1)
    let w = Win { kernel: vec![3, 3], strides: vec![3, 2], pads: vec![0, 0, -1, -1], dilations: vec![1, 1] };
    let attrs = vec![a_ints("strides", &[3, 2]), a_ints("output_shape", &[10, 8])];
    let g = conv_transpose_case(&[1, 1, 3, 3], &[1, 2, 3, 3], 1, attrs);
    let Op::ConvTranspose(a) = only_op(&g) else { panic!() };
    assert_eq!((a.pads, a.output_padding), ([0; 4], [1, 1]));
    check_conv_transpose(&g, &[1, 1, 3, 3], &[1, 2, 3, 3], 1, &w);

    // SAME_UPPER puts floor(total / 2) first: full 8, output 11, total -3 → begin -2, end -1:
    // two bias-only rows before the output (a Pad, then the bias), one after
    let w = Win { kernel: vec![2, 1], strides: vec![3, 2], pads: vec![-2, 0, -1, 0], dilations: vec![1, 1] };
    let attrs = vec![a_ints("strides", &[3, 2]), a_ints("output_shape", &[11, 5]), a_str("auto_pad", "SAME_UPPER")];
    let g = conv_transpose_case(&[1, 2, 3, 3], &[2, 2, 2, 1], 1, attrs);
    assert_eq!(ops(&g), ["ConvTranspose", "Pad", "Add"]);
    assert_eq!(out_ty(&g, 0), "f32[1,2,11,5]");
    check_conv_transpose(&g, &[1, 2, 3, 3], &[2, 2, 2, 1], 1, &w);

    // 1-D SAME_UPPER with a stride above the kernel: output 4·3, full 10, total -2 → -1, -1
    let w = Win { kernel: vec![1], strides: vec![3], pads: vec![-1, -1], dilations: vec![1] };
    let attrs = vec![a_ints("strides", &[3]), a_str("auto_pad", "SAME_UPPER")];
    let g = conv_transpose_case(&[1, 2, 4], &[2, 3, 1], 1, attrs);
    assert_eq!(ops(&g), ["Reshape", "ConvTranspose", "Reshape", "Pad", "Add"]);
    assert_eq!((out_ty(&g, 0), g.value(g.outputs[0]).name.as_str()), ("f32[1,3,12]".into(), "y"));
    check_conv_transpose(&g, &[1, 2, 4], &[2, 3, 1], 1, &w);
}

#[test]
fn dropout_mask_is_all_true_at_inference() {
    let inputs = vec![vi("x", FLOAT, &[2, 3]), vi("r", FLOAT, &[])];
    let g = import(
        &model(13, vec![node("Dropout", &["x", "r"], &["y", "mask"], vec![])], inputs, &["y", "mask"], vec![]),
        &[],
    )
    .unwrap();
    assert!(g.nodes.is_empty());
    assert_eq!(g.outputs[0], g.inputs[0]);
    let mask = g.constant(g.outputs[1]).expect("constant mask");
    assert_eq!((mask.shape(), mask.data()), (&[2, 3][..], &Data::Bool(vec![true; 6])));
    assert_eq!(g.value(g.outputs[1]).name, "mask");

    // training_mode = true keeps every element only with ratio 0
    let t = |name: &str| TensorProto { name: name.into(), data_type: BOOL, int32_data: vec![1], ..Default::default() };
    let dropout = |ratio: f32| {
        let inits = vec![tensor_f32("r", &[], &[ratio]), t("t")];
        let nodes = vec![node("Dropout", &["x", "r", "t"], &["y", "mask"], vec![])];
        import(&model(13, nodes, vec![vi("x", FLOAT, &[4])], &["y", "mask"], inits), &[])
    };
    assert_eq!(dropout(0.0).unwrap().outputs.len(), 2);
    let e = dropout(0.5).unwrap_err().to_string();
    assert!(e.contains("training_mode = true with ratio 0.5 is not supported"), "{e}");
}
