//! Import of `Einsum`, `Trilu`, `TopK`, `CumSum`, `GatherElements`, integer `Clip` and
//! opset-1 `Not`: the IR they become and, for the rewrites, the numbers it computes.

mod common;

use std::collections::HashMap;

use common::*;
use int8xc_interp::Interpreter;
use int8xc_ir::{BinaryOp, CumSumAttrs, Op, TensorData, TopKAttrs};

fn ops(g: &int8xc_ir::Graph) -> Vec<&str> {
    g.nodes.iter().map(|n| n.op.name()).collect()
}

fn iota(n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|i| ((i * 7 % 11) as f32 - 5.0) * scale).collect()
}

/// Reference einsum by enumerating every assignment of the letters.
fn naive_einsum(eq: &str, a: (&[usize], &[f32]), b: (&[usize], &[f32])) -> Vec<f32> {
    let (lhs, out) = eq.split_once("->").unwrap();
    let (ta, tb) = lhs.split_once(',').unwrap();
    let mut size = HashMap::new();
    for (t, s) in [(ta, a.0), (tb, b.0)] {
        for (c, &d) in t.chars().zip(s) {
            size.insert(c, d);
        }
    }
    let letters: Vec<char> = size.keys().copied().collect();
    let out_letters: Vec<char> = out.chars().collect();
    let out_len: usize = out_letters.iter().map(|c| size[c]).product();
    let mut y = vec![0.0f32; out_len];
    let total: usize = letters.iter().map(|c| size[c]).product();
    let flat = |t: &str, at: &HashMap<char, usize>| t.chars().fold(0, |acc, c| acc * size[&c] + at[&c]);
    for mut k in 0..total {
        let mut at = HashMap::new();
        for c in &letters {
            at.insert(*c, k % size[c]);
            k /= size[c];
        }
        y[flat(out, &at)] += a.1[flat(ta, &at)] * b.1[flat(tb, &at)];
    }
    y
}

#[test]
fn einsum_matmul_like_equations_match_a_naive_einsum() {
    let cases: [(&str, &[i64], &[i64]); 6] = [
        ("bij,bjk->bik", &[2, 3, 4], &[2, 4, 5]),
        ("ik,jk->ij", &[3, 4], &[5, 4]),
        ("bhqd,bhkd->bhqk", &[1, 2, 3, 4], &[1, 2, 5, 4]),
        ("i,i->", &[6], &[6]),
        ("ij,jk->ki", &[2, 3], &[3, 4]),
        ("abc,cd->bd", &[2, 3, 4], &[4, 2]),
    ];
    for (eq, da, db) in cases {
        let na: usize = da.iter().product::<i64>() as usize;
        let nb: usize = db.iter().product::<i64>() as usize;
        let (va, vb) = (iota(na, 0.5), iota(nb, 0.25));
        let m = model(
            12,
            vec![node("Einsum", &["x", "w"], &["y"], vec![a_str("equation", eq)])],
            vec![vi("x", FLOAT, da)],
            &["y"],
            vec![tensor_f32("w", db, &vb)],
        );
        let g = import(&m, &[]).unwrap_or_else(|e| panic!("{eq}: {e}"));
        let sa: Vec<usize> = da.iter().map(|&d| d as usize).collect();
        let x = TensorData::from_f32(sa.clone(), va.clone()).unwrap();
        let y = Interpreter.run_graph(&g, &[x]).unwrap().remove(0);
        let sb: Vec<usize> = db.iter().map(|&d| d as usize).collect();
        let want = naive_einsum(eq, (&sa, &va), (&sb, &vb));
        let got = y.as_f32().unwrap();
        assert_eq!(got.len(), want.len(), "{eq}");
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{eq}: {got:?} vs {want:?}");
        }
    }
}

#[test]
fn einsum_single_operand_and_errors() {
    let m = single(12, node("Einsum", &["x"], &["y"], vec![a_str("equation", "ij->ji")]), &[2, 3], vec![]);
    let g = import(&m, &[]).unwrap();
    assert_eq!(ops(&g), ["Transpose", "Reshape"]);
    let m = single(12, node("Einsum", &["x"], &["y"], vec![a_str("equation", "ij -> i")]), &[2, 3], vec![]);
    assert_eq!(ops(&import(&m, &[]).unwrap()), ["ReduceSum", "Reshape"]);
    for (eq, want) in [("ii->i", "repeated letter 'i'"), ("...ij->ij", "ellipsis"), ("ij->k", "output letter 'k'")] {
        let m = single(12, node("Einsum", &["x"], &["y"], vec![a_str("equation", eq)]), &[3, 3], vec![]);
        let e = import(&m, &[]).unwrap_err().to_string();
        assert!(e.contains("node 'Einsum_0' (Einsum)") && e.contains(want), "{eq}: {e}");
    }
}

#[test]
fn trilu_becomes_where_with_a_constant_mask() {
    let m = single(
        14,
        node("Trilu", &["x", "k"], &["y"], vec![a_int("upper", 0)]),
        &[2, 3],
        vec![tensor_i64("k", &[], &[-1])],
    );
    let g = import(&m, &[]).unwrap();
    assert_eq!(ops(&g), ["Where"]);
    let x = TensorData::from_f32([2, 3], vec![1., 2., 3., 4., 5., 6.]).unwrap();
    let y = Interpreter.run_graph(&g, &[x]).unwrap().remove(0);
    assert_eq!(y.as_f32().unwrap(), &[0., 0., 0., 4., 0., 0.]);
}

#[test]
fn top_k_cum_sum_and_gather_elements_resolve_their_inputs() {
    let m = single(
        11,
        node("TopK", &["x", "k"], &["v", "i"], vec![a_int("largest", 0)]),
        &[2, 5],
        vec![tensor_i64("k", &[1], &[3])],
    );
    let mut m = m;
    m.graph
        .as_mut()
        .unwrap()
        .output
        .push(int8xc_onnx::proto::ValueInfoProto { name: "i".into(), ..Default::default() });
    let g = import(&m, &[]).unwrap();
    assert_eq!(only_op(&g), &Op::TopK(TopKAttrs { axis: 1, k: 3, largest: false, sorted: true }));
    assert_eq!((out_ty(&g, 0), out_ty(&g, 1)), ("f32[2,3]".to_string(), "i64[2,3]".to_string()));

    let m = single(
        14,
        node("CumSum", &["x", "a"], &["y"], vec![a_int("reverse", 1)]),
        &[2, 5],
        vec![tensor_i64("a", &[], &[-1])],
    );
    assert_eq!(
        only_op(&import(&m, &[]).unwrap()),
        &Op::CumSum(CumSumAttrs { axis: 1, exclusive: false, reverse: true })
    );

    let m = single(13, node("GatherElements", &["x", "i"], &["y"], vec![a_int("axis", -2)]), &[2, 5], vec![]);
    let m = {
        let mut m = m;
        m.graph.as_mut().unwrap().input.push(vi("i", INT64, &[1, 5]));
        m
    };
    let g = import(&m, &[]).unwrap();
    assert_eq!(only_op(&g), &Op::GatherElements { axis: 0 });
    assert_eq!(out_ty(&g, 0), "f32[1,5]");
}

#[test]
fn integer_clip_becomes_max_and_min_and_min_above_max_gives_max() {
    let m = model(
        13,
        vec![node("Clip", &["x", "lo", "hi"], &["y"], vec![])],
        vec![vi("x", INT64, &[4])],
        &["y"],
        vec![tensor_i64("lo", &[], &[-1]), tensor_i64("hi", &[], &[2])],
    );
    let g = import(&m, &[]).unwrap();
    assert_eq!(
        g.nodes.iter().map(|n| &n.op).collect::<Vec<_>>(),
        [&Op::Binary(BinaryOp::Max), &Op::Binary(BinaryOp::Min)]
    );
    let x = TensorData::from_i64([4], vec![-5, 0, 1, 9]).unwrap();
    assert_eq!(Interpreter.run_graph(&g, &[x]).unwrap()[0].as_i64().unwrap(), &[-1, 0, 1, 2]);

    let inits = vec![tensor_f32("lo", &[], &[2.0]), tensor_f32("hi", &[], &[1.0])];
    let m =
        model(13, vec![node("Clip", &["x", "lo", "hi"], &["y"], vec![])], vec![vi("x", FLOAT, &[2])], &["y"], inits);
    let g = import(&m, &[]).unwrap();
    let y = Interpreter.run_graph(&g, &[TensorData::from_f32([2], vec![-3.0, 5.0]).unwrap()]).unwrap();
    assert_eq!(y[0].as_f32().unwrap(), &[1.0, 1.0]);
}

#[test]
fn opset_1_models_import_when_they_use_only_not() {
    let m = model(1, vec![node("Not", &["x"], &["y"], vec![])], vec![vi("x", 9, &[3])], &["y"], vec![]);
    assert_eq!(only_op(&import(&m, &[]).unwrap()), &Op::Not);
    let m = model(
        1,
        vec![node("Not", &["x"], &["t"], vec![]), node("Not", &["t"], &["y"], vec![])],
        vec![vi("x", 9, &[3])],
        &["y"],
        vec![],
    );
    assert!(import(&m, &[]).is_ok());
    let m = single(6, node("Relu", &["x"], &["y"], vec![]), &[3], vec![]);
    let e = import(&m, &[]).unwrap_err().to_string();
    assert!(e.contains("opset 6 is outside the supported range"), "{e}");
}
