//! `Einsum` (ONNX opset 12) for the matmul-like equations, rewritten into `ReduceSum`,
//! `Transpose`, `Reshape` and `MatMul`.
//!
//! Supported: one or two operands, each subscript a list of distinct letters (no ellipsis `...`,
//! no repeated letter inside one operand, which would take a diagonal), an explicit (`->`) or
//! implicit output (the letters used once, alphabetically). Letters shared by both operands
//! must have equal sizes (no broadcasting). Everything else is an import error naming the node.
//!
//! With two operands, letters fall into: *batch* (both operands and the output), *contracted*
//! (both operands, not the output), and *kept* (one operand and the output); a letter of one
//! operand alone that is not in the output is summed away first. Then
//! `A → [batch.., M, K]`, `B → [batch.., K, N]`, `MatMul`, and a reshape and transpose into the
//! output order.

use int8xc_ir::{Op, ReduceKind, ValueId};

use super::{Ctx, NodeIn};
use crate::OnnxError;

/// An operand being rewritten: its value and the letter of each axis.
struct Term {
    v: ValueId,
    letters: Vec<char>,
}

/// Emits the helper nodes with unique suffixes.
struct Emitter<'a, 'b> {
    n: &'a NodeIn<'b>,
    k: usize,
}

impl Emitter<'_, '_> {
    fn emit(&mut self, cx: &mut Ctx, op: Op, inputs: Vec<ValueId>) -> Result<ValueId, OnnxError> {
        self.k += 1;
        cx.emit(self.n, &format!("einsum{}", self.k), op, inputs)
    }

    /// Permutes `t` so its letters are `order` (a permutation of them); no node when already so.
    fn transpose(&mut self, cx: &mut Ctx, t: Term, order: &[char]) -> Result<Term, OnnxError> {
        if t.letters == order {
            return Ok(t);
        }
        let perm: Vec<usize> =
            order.iter().map(|c| t.letters.iter().position(|l| l == c).unwrap_or(usize::MAX)).collect();
        let v = self.emit(cx, Op::Transpose { perm }, vec![t.v])?;
        Ok(Term { v, letters: order.to_vec() })
    }

    fn reshape(&mut self, cx: &mut Ctx, v: ValueId, shape: Vec<usize>) -> Result<ValueId, OnnxError> {
        if cx.ty(v).shape == shape {
            return Ok(v);
        }
        self.emit(cx, Op::Reshape { shape }, vec![v])
    }
}

/// Parses one subscript: distinct ASCII letters.
fn subscript(n: &NodeIn, s: &str) -> Result<Vec<char>, OnnxError> {
    if s.contains("...") {
        return Err(n.err(format!("equation term '{s}': ellipsis ('...') is not supported")));
    }
    let letters: Vec<char> = s.chars().collect();
    if let Some(c) = letters.iter().find(|c| !c.is_ascii_alphabetic()) {
        return Err(n.err(format!("equation term '{s}': unexpected character {c:?}")));
    }
    for (i, c) in letters.iter().enumerate() {
        if letters[..i].contains(c) {
            return Err(n.err(format!("equation term '{s}': repeated letter '{c}' (a diagonal) is not supported")));
        }
    }
    Ok(letters)
}

/// The dimension of `c` in `t`.
fn dim(cx: &Ctx, t: &Term, c: char) -> usize {
    t.letters.iter().position(|&l| l == c).map_or(1, |i| cx.ty(t.v).shape[i])
}

/// `Einsum`; see the module docs.
pub(super) fn einsum(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let eq: String = n.string("equation", "")?.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l.to_string(), Some(r.to_string())),
        None => (eq.clone(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != n.proto.input.len() {
        return Err(n.err(format!("equation '{eq}' has {} terms for {} inputs", terms.len(), n.proto.input.len())));
    }
    if terms.len() > 2 {
        return Err(n.err(format!("equation '{eq}': only one or two operands are supported")));
    }
    let mut ops = Vec::with_capacity(terms.len());
    for (i, s) in terms.iter().enumerate() {
        let letters = subscript(n, s)?;
        let v = cx.input(n, i)?;
        if cx.ty(v).rank() != letters.len() {
            return Err(n.err(format!(
                "term '{s}' has {} letters for input {i} of rank {}",
                letters.len(),
                cx.ty(v).rank()
            )));
        }
        ops.push(Term { v, letters });
    }
    let all: Vec<char> = ops.iter().flat_map(|t| t.letters.iter().copied()).collect();
    let out: Vec<char> = match rhs {
        Some(r) => subscript(n, &r)?,
        None => {
            let mut once: Vec<char> =
                all.iter().copied().filter(|c| all.iter().filter(|d| *d == c).count() == 1).collect();
            once.sort_unstable();
            once
        }
    };
    if let Some(c) = out.iter().find(|c| !all.contains(c)) {
        return Err(n.err(format!("equation '{eq}': output letter '{c}' is not in any input")));
    }
    let mut em = Emitter { n, k: 0 };
    // Sum away the letters of one operand that appear nowhere else.
    for i in 0..ops.len() {
        let other: Vec<char> =
            ops.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, t)| t.letters.clone()).collect();
        let t = &ops[i];
        let axes: Vec<usize> =
            (0..t.letters.len()).filter(|&a| !out.contains(&t.letters[a]) && !other.contains(&t.letters[a])).collect();
        if !axes.is_empty() {
            let letters = t.letters.iter().enumerate().filter(|(a, _)| !axes.contains(a)).map(|(_, &c)| c).collect();
            let v = em.emit(cx, Op::Reduce { kind: ReduceKind::Sum, axes, keepdims: false }, vec![t.v])?;
            ops[i] = Term { v, letters };
        }
    }
    let result = if ops.len() == 1 {
        let t = ops.remove(0);
        em.transpose(cx, t, &out)?.v
    } else {
        let b = ops.remove(1);
        let a = ops.remove(0);
        let in_both = |c: &char| a.letters.contains(c) && b.letters.contains(c);
        for c in a.letters.iter().filter(|c| in_both(c)) {
            let (da, db) = (dim(cx, &a, *c), dim(cx, &b, *c));
            if da != db {
                return Err(
                    n.err(format!("letter '{c}' has size {da} in input 0 and {db} in input 1 (no broadcasting)"))
                );
            }
        }
        let batch: Vec<char> = out.iter().copied().filter(|c| in_both(c)).collect();
        let contracted: Vec<char> = a.letters.iter().copied().filter(|c| in_both(c) && !out.contains(c)).collect();
        let a_only: Vec<char> =
            out.iter().copied().filter(|c| a.letters.contains(c) && !b.letters.contains(c)).collect();
        let b_only: Vec<char> =
            out.iter().copied().filter(|c| b.letters.contains(c) && !a.letters.contains(c)).collect();
        let size = |t: &Term, cs: &[char]| cs.iter().map(|&c| dim(cx, t, c)).product::<usize>();
        let batch_dims: Vec<usize> = batch.iter().map(|&c| dim(cx, &a, c)).collect();
        let (m, k, nn) = (size(&a, &a_only), size(&a, &contracted), size(&b, &b_only));
        let a_dims: Vec<usize> = a_only.iter().map(|&c| dim(cx, &a, c)).collect();
        let b_dims: Vec<usize> = b_only.iter().map(|&c| dim(cx, &b, c)).collect();
        let a = em.transpose(cx, a, &[batch.clone(), a_only.clone(), contracted.clone()].concat())?;
        let b = em.transpose(cx, b, &[batch.clone(), contracted.clone(), b_only.clone()].concat())?;
        let av = em.reshape(cx, a.v, [batch_dims.clone(), vec![m, k]].concat())?;
        let bv = em.reshape(cx, b.v, [batch_dims.clone(), vec![k, nn]].concat())?;
        let y = em.emit(cx, Op::MatMul, vec![av, bv])?;
        let y = em.reshape(cx, y, [batch_dims, a_dims, b_dims].concat())?;
        em.transpose(cx, Term { v: y, letters: [batch, a_only, b_only].concat() }, &out)?.v
    };
    // The ONNX output name goes to a final (possibly identity) reshape.
    let shape = cx.ty(result).shape.clone();
    Ok(vec![cx.emit(n, "", Op::Reshape { shape }, vec![result])?])
}
