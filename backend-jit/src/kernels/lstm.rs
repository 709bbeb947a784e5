//! `Lstm` (ONNX `LSTM`, opset 14, float) and `DynamicQuantizeLstm` (ONNX Runtime
//! `DynamicQuantizeLSTM`): a scalar CLIF loop nest following the interpreter
//! (`backend-interp/src/ops/lstm.rs`) operation for operation.
//!
//! Work item: one direction (`dirs` items; a bidirectional LSTM runs its two directions on
//! different threads). Per item, in the call's scratch buffer:
//!
//! ```text
//! xw   [seq·batch, 4H] f32   input projection of the whole sequence (one product, as ORT)
//! hr   [batch, 4H]     f32   recurrent projection of the current hidden state
//! h, c [batch, H]      f32   state
//! bias [4H]            f32   Wb + Rb
//! qa   bytes                 DynamicQuantizeLstm: the dynamically quantized left operand
//! wq   [dirs·4H] (f32, i32)  DynamicQuantizeLstm: weight scale and zero point per column
//! ```
//!
//! Products: float `Σ_p a[r,p] · w[n,p]` in `p` order, unfused (`fmul` + `fadd`, as the
//! interpreter), so `xw`/`hr` are bit-identical to the interpreter's; quantized
//! `(s_a · s_w[n]) · f32(Σ_p (qa - zp_a)(w[p,n] - zp_w[n]))` with `(s_a, zp_a)` from
//! [`super::quantize::emit_dynamic_params`] over the whole operand, also bit-identical.
//! Gates, per step: `g = (xw + hr) + bias`, optional clip, `i = σ(g_i + P_i·c)`,
//! `f = σ(g_f + P_f·c)` (or `1 - i`), `c̃ = tanh(g_c)`, `c' = f·c + i·c̃`,
//! `o = σ(g_o + P_o·c')`, `h' = o·tanh(c')`.
//!
//! # Accuracy
//!
//! `σ(x) = 1 / (1 + exp(-x))` and `tanh` are the polynomial approximations of
//! [`super::math`] (Cephes, about 1 ULP; `tanh` ≤ 2 ULP) where the interpreter calls libm, so
//! the outputs are not bit-exact: per step each gate differs by a few ULP, and the state
//! recurrence keeps the difference at that level (`|Δc|, |Δh| ≲ 1e-6` absolute for the
//! bounded state of typical models; the tests assert `1e-5` relative to `max(|ref|, 1)`
//! against the interpreter; the fixtures' contract is `1e-4` relative to ONNX Runtime).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use int8xc_ir::{DType, LstmAttrs, LstmDirection, TensorType};

use super::elementwise::{max_sel, min_sel};
use super::quantize::{dynamic_round_sat, emit_dynamic_params, emit_quantize_run, emit_table, load_int};
use super::{i64_of, math, KernelCx, KernelInfo};
use crate::JitError;

/// A weight operand of one product: float `[dirs, N, K]` (ONNX layout) or quantized
/// `[dirs, K, N]` (ORT layout, `signed` bytes, per-column parameters at scratch offset
/// `params`, `[dirs, N]` entries of `(f32 scale, i32 zero point)`).
#[derive(Clone, Copy)]
enum Weight {
    Float { ptr: Value },
    Quant { ptr: Value, signed: bool, params: i64 },
}

/// Scratch offsets (bytes) of one call.
#[derive(Clone, Copy)]
struct Layout {
    xw: i64,
    hr: i64,
    h: i64,
    c: i64,
    bias: i64,
    qa: i64,
}

/// Checks `t` is `dtype[shape]`.
fn expect(cx: &KernelCx, what: &str, t: &TensorType, dtype: DType, shape: &[usize]) -> Result<(), JitError> {
    if t.dtype != dtype || t.shape != shape {
        return Err(JitError::invalid(cx.node, format!("{what} is {t}, expected {dtype}{shape:?}")));
    }
    Ok(())
}

/// The `(scale, zero point)` table of a quantized weight `[dirs, K, N]` as the interpreter's
/// `quant_weights` reads its parameters: per tensor, per axis 0 (per direction) or per
/// column; `dirs · N` entries.
fn weight_params(cx: &KernelCx, what: &str, t: &TensorType, dirs: usize, n: usize) -> Result<Vec<u8>, JitError> {
    let Some(q) = t.quant.as_ref().filter(|q| q.block_size.is_none()) else {
        return Err(JitError::invalid(cx.node, format!("{what} {t} needs per-tensor or per-axis parameters")));
    };
    let pick = |d: usize, j: usize| -> Option<(f32, i32)> {
        let i = match q.axis {
            None => 0,
            Some(0) => d,
            Some(_) => j,
        };
        Some((*q.scale.get(i)?, *q.zero_point.get(i)?))
    };
    let mut out = Vec::with_capacity(dirs * n * 8);
    for d in 0..dirs {
        for j in 0..n {
            let (s, z) = pick(d, j)
                .ok_or_else(|| JitError::invalid(cx.node, format!("{what} parameters do not cover column {j}")))?;
            out.extend_from_slice(&s.to_le_bytes());
            out.extend_from_slice(&z.to_le_bytes());
        }
    }
    Ok(out)
}

/// `out[r, j] = Σ_p a[r, p] · W[j, p]` (float) or the dynamically quantized product (see the
/// module docs) for `rows × k` f32 `a` and direction `d`'s weight; `out` is `[rows, n]` f32.
#[allow(clippy::too_many_arguments)]
fn emit_product(
    cx: &mut KernelCx,
    a: Value,
    (rows, k, n): (i64, i64, i64),
    w: Weight,
    d: Value,
    out: Value,
    qa: Value,
) {
    match w {
        Weight::Float { ptr } => {
            let wd = cx.b.ins().imul_imm_s(d, n * k * 4);
            let wd = cx.b.ins().iadd(ptr, wd);
            cx.for_static(0, rows, 1, |cx, r| {
                let ar = cx.b.ins().imul_imm_s(r, k * 4);
                let ar = cx.b.ins().iadd(a, ar);
                cx.for_static(0, n, 1, |cx, j| {
                    let wj = cx.b.ins().imul_imm_s(j, k * 4);
                    let wj = cx.b.ins().iadd(wd, wj);
                    let acc = cx.b.declare_var(types::F32);
                    let z = cx.b.ins().f32const(0.0);
                    cx.b.def_var(acc, z);
                    cx.for_static(0, k, 1, |cx, p| {
                        let x = cx.elem_addr(ar, p, 4);
                        let x = cx.load(types::F32, x, 0);
                        let y = cx.elem_addr(wj, p, 4);
                        let y = cx.load(types::F32, y, 0);
                        let m = cx.b.ins().fmul(x, y);
                        let s = cx.b.use_var(acc);
                        let s = cx.b.ins().fadd(s, m);
                        cx.b.def_var(acc, s);
                    });
                    let o = cx.b.ins().imul_imm_s(r, n);
                    let o = cx.b.ins().iadd(o, j);
                    let o = cx.elem_addr(out, o, 4);
                    let v = cx.b.use_var(acc);
                    cx.store(v, o, 0);
                });
            });
        }
        Weight::Quant { ptr, signed, params } => {
            let (sa, za) = emit_dynamic_params(cx, a, rows * k);
            let (rs_s, rs_v) = dynamic_round_sat(cx, za);
            let (base, len) = (cx.iconst(0), cx.iconst(rows * k));
            emit_quantize_run(cx, (a, qa), (types::I8, false), base, len, sa, rs_s, rs_v);
            let wd = cx.b.ins().imul_imm_s(d, k * n);
            let wd = cx.b.ins().iadd(ptr, wd);
            let pd = cx.b.ins().imul_imm_s(d, n * 8);
            let scratch = cx.scratch();
            let pd = cx.b.ins().iadd(scratch, pd);
            let pd = cx.b.ins().iadd_imm_s(pd, params);
            cx.for_static(0, rows, 1, |cx, r| {
                let ar = cx.b.ins().imul_imm_s(r, k);
                let ar = cx.b.ins().iadd(qa, ar);
                cx.for_static(0, n, 1, |cx, j| {
                    let e = cx.elem_addr(pd, j, 8);
                    let (sw, zw) = (cx.load(types::F32, e, 0), cx.load(types::I32, e, 4));
                    let acc = cx.b.declare_var(types::I32);
                    let z = cx.b.ins().iconst(types::I32, 0);
                    cx.b.def_var(acc, z);
                    let wj = cx.b.ins().iadd(wd, j);
                    cx.for_static(0, k, 1, |cx, p| {
                        let x = cx.b.ins().iadd(ar, p);
                        let x = load_int(cx, types::I8, false, x);
                        let x = cx.b.ins().isub(x, za);
                        let y = cx.b.ins().imul_imm_s(p, n);
                        let y = cx.b.ins().iadd(wj, y);
                        let y = load_int(cx, types::I8, signed, y);
                        let y = cx.b.ins().isub(y, zw);
                        let m = cx.b.ins().imul(x, y);
                        let s = cx.b.use_var(acc);
                        let s = cx.b.ins().iadd(s, m);
                        cx.b.def_var(acc, s);
                    });
                    let s = cx.b.ins().fmul(sa, sw);
                    let v = cx.b.use_var(acc);
                    let v = cx.b.ins().fcvt_from_sint(types::F32, v);
                    let v = cx.b.ins().fmul(s, v);
                    let o = cx.b.ins().imul_imm_s(r, n);
                    let o = cx.b.ins().iadd(o, j);
                    let o = cx.elem_addr(out, o, 4);
                    cx.store(v, o, 0);
                });
            });
        }
    }
}

/// `Lstm` (`quantized == false`) and `DynamicQuantizeLstm` (`true`): inputs and outputs as
/// [`int8xc_ir::Op::Lstm`] / [`int8xc_ir::Op::DynamicQuantizeLstm`] document them (every
/// input present, `x` `[seq, batch, I]`); see the module docs for the work item, formulas and
/// accuracy.
pub(crate) fn lower_lstm(cx: &mut KernelCx, a: &LstmAttrs, quantized: bool) -> Result<KernelInfo, JitError> {
    cx.expect_arity(7..=7, 3)?;
    let tx = cx.in_ty(0)?;
    let &[seq, batch, input] = tx.shape.as_slice() else {
        return Err(JitError::invalid(cx.node, format!("x is {tx}, expected [seq, batch, input]")));
    };
    expect(cx, "x", tx, DType::F32, &[seq, batch, input])?;
    let h = a.hidden_size;
    let dirs = a.direction.count();
    let g4 = 4 * h;
    let (tw, tr) = (cx.in_ty(1)?, cx.in_ty(2)?);
    let mut params = Vec::new();
    if quantized {
        for (what, t, k) in [("w", tw, input), ("r", tr, h)] {
            if !matches!(t.dtype, DType::U8 | DType::I8) || t.shape != [dirs, k, g4] {
                return Err(JitError::invalid(cx.node, format!("{what} is {t}, expected u8/i8[{dirs},{k},{g4}]")));
            }
        }
    } else {
        expect(cx, "w", tw, DType::F32, &[dirs, g4, input])?;
        expect(cx, "r", tr, DType::F32, &[dirs, g4, h])?;
    }
    expect(cx, "b", cx.in_ty(3)?, DType::F32, &[dirs, 8 * h])?;
    expect(cx, "initial_h", cx.in_ty(4)?, DType::F32, &[dirs, batch, h])?;
    expect(cx, "initial_c", cx.in_ty(5)?, DType::F32, &[dirs, batch, h])?;
    expect(cx, "p", cx.in_ty(6)?, DType::F32, &[dirs, 3 * h])?;
    expect(cx, "y", cx.out_ty(0)?, DType::F32, &[seq, dirs, batch, h])?;
    expect(cx, "y_h", cx.out_ty(1)?, DType::F32, &[dirs, batch, h])?;
    expect(cx, "y_c", cx.out_ty(2)?, DType::F32, &[dirs, batch, h])?;
    if seq == 0 || batch == 0 || h == 0 {
        return Err(JitError::unsupported(cx.node, "empty sequence, batch or hidden size"));
    }
    // Scratch layout (16-byte aligned pieces).
    let up = |b: usize| b.next_multiple_of(16);
    let mut at = 0usize;
    let mut take = |bytes: usize| {
        let o = at;
        at += up(bytes);
        i64_of(o)
    };
    let w_params = if quantized {
        let p = weight_params(cx, "w", tw, dirs, g4)?;
        let o = take(p.len());
        params.push((o, p));
        let p = weight_params(cx, "r", tr, dirs, g4)?;
        let o2 = take(p.len());
        params.push((o2, p));
        Some((o, o2))
    } else {
        None
    };
    let lay = Layout {
        xw: take(seq * batch * g4 * 4),
        hr: take(batch * g4 * 4),
        h: take(batch * h * 4),
        c: take(batch * h * 4),
        bias: take(g4 * 4),
        qa: take(if quantized { (seq * batch * input).max(batch * h) } else { 0 }),
    };
    let scratch_bytes = at;
    let scratch = cx.scratch();
    for (o, p) in &params {
        let dst = cx.b.ins().iadd_imm_s(scratch, *o);
        emit_table(cx, dst, p);
    }
    let (w, r) = match w_params {
        Some((pw, pr)) => (
            Weight::Quant { ptr: cx.input(1), signed: tw.dtype == DType::I8, params: pw },
            Weight::Quant { ptr: cx.input(2), signed: tr.dtype == DType::I8, params: pr },
        ),
        None => (Weight::Float { ptr: cx.input(1) }, Weight::Float { ptr: cx.input(2) }),
    };
    let ins: Vec<Value> = (0..7).map(|i| cx.input(i)).collect();
    let outs: Vec<Value> = (0..3).map(|i| cx.output(i)).collect();
    let (seq, batch, input, h, g4, dirs_i) =
        (i64_of(seq), i64_of(batch), i64_of(input), i64_of(h), i64_of(g4), i64_of(dirs));
    let dir = a.direction;
    let clip = a.clip;
    let input_forget = a.input_forget;
    cx.for_items(|cx, d| {
        let sc = |cx: &mut KernelCx, off: i64| cx.b.ins().iadd_imm_s(scratch, off);
        let (xw, hr, hs, cs, bias, qa) =
            (sc(cx, lay.xw), sc(cx, lay.hr), sc(cx, lay.h), sc(cx, lay.c), sc(cx, lay.bias), sc(cx, lay.qa));
        // bias = Wb + Rb; state = initial state.
        let bd = cx.b.ins().imul_imm_s(d, 8 * h * 4);
        let bd = cx.b.ins().iadd(ins[3], bd);
        cx.for_static(0, g4, 1, |cx, j| {
            let p = cx.elem_addr(bd, j, 4);
            let wb = cx.load(types::F32, p, 0);
            let rb = cx.load(types::F32, p, (g4 * 4) as i32);
            let s = cx.b.ins().fadd(wb, rb);
            let o = cx.elem_addr(bias, j, 4);
            cx.store(s, o, 0);
        });
        let sd = cx.b.ins().imul_imm_s(d, batch * h * 4);
        for (src, dst) in [(ins[4], hs), (ins[5], cs)] {
            let s = cx.b.ins().iadd(src, sd);
            super::layout::copy_static(cx, s, dst, (batch * h * 4) as usize);
        }
        emit_product(cx, ins[0], (seq * batch, input, g4), w, d, xw, qa);
        let pd = cx.b.ins().imul_imm_s(d, 3 * h * 4);
        let peep = cx.b.ins().iadd(ins[6], pd);
        let reverse = match dir {
            LstmDirection::Forward => cx.iconst(0),
            LstmDirection::Reverse => cx.iconst(1),
            LstmDirection::Bidirectional => cx.b.ins().icmp_imm_s(IntCC::Equal, d, 1),
        };
        cx.for_static(0, seq, 1, |cx, step| {
            let last = cx.iconst(seq - 1);
            let back = cx.b.ins().isub(last, step);
            let t = cx.b.ins().select(reverse, back, step);
            emit_product(cx, hs, (batch, h, g4), r, d, hr, qa);
            cx.for_static(0, batch, 1, |cx, bi| {
                let row = cx.b.ins().imul_imm_s(t, batch);
                let row = cx.b.ins().iadd(row, bi);
                let xrow = cx.b.ins().imul_imm_s(row, g4 * 4);
                let xrow = cx.b.ins().iadd(xw, xrow);
                let hrow = cx.b.ins().imul_imm_s(bi, g4 * 4);
                let hrow = cx.b.ins().iadd(hr, hrow);
                let srow = cx.b.ins().imul_imm_s(bi, h * 4);
                let (hrow_s, crow_s) = (cx.b.ins().iadd(hs, srow), cx.b.ins().iadd(cs, srow));
                // y[t, d, bi, :]
                let yrow = cx.b.ins().imul_imm_s(t, dirs_i);
                let yrow = cx.b.ins().iadd(yrow, d);
                let yrow = cx.b.ins().imul_imm_s(yrow, batch);
                let yrow = cx.b.ins().iadd(yrow, bi);
                let yrow = cx.b.ins().imul_imm_s(yrow, h * 4);
                let yrow = cx.b.ins().iadd(outs[0], yrow);
                cx.for_static(0, h, 1, |cx, j| {
                    let j4 = cx.b.ins().imul_imm_s(j, 4);
                    let gate = |cx: &mut KernelCx, g: i64| {
                        let off = (g * h * 4) as i32;
                        let xa = cx.b.ins().iadd(xrow, j4);
                        let x = cx.load(types::F32, xa, off);
                        let ha = cx.b.ins().iadd(hrow, j4);
                        let y = cx.load(types::F32, ha, off);
                        let ba = cx.b.ins().iadd(bias, j4);
                        let b = cx.load(types::F32, ba, off);
                        let s = cx.b.ins().fadd(x, y);
                        cx.b.ins().fadd(s, b)
                    };
                    let clip_v = |cx: &mut KernelCx, v: Value| match clip {
                        Some(c) => {
                            let (lo, hi) = (cx.b.ins().f32const(-c), cx.b.ins().f32const(c));
                            let v = max_sel(cx, v, lo);
                            min_sel(cx, v, hi)
                        }
                        None => v,
                    };
                    let pa = cx.b.ins().iadd(peep, j4);
                    let peep_term = |cx: &mut KernelCx, g: i64, c: Value| {
                        let p = cx.load(types::F32, pa, (g * h * 4) as i32);
                        cx.b.ins().fmul(p, c)
                    };
                    let ca = cx.b.ins().iadd(crow_s, j4);
                    let c_prev = cx.load(types::F32, ca, 0);
                    let gi = gate(cx, 0);
                    let pt = peep_term(cx, 0, c_prev);
                    let vi = cx.b.ins().fadd(gi, pt);
                    let vi = clip_v(cx, vi);
                    let i = math::sigmoid(cx, vi, types::F32);
                    let f = if input_forget {
                        let one = cx.b.ins().f32const(1.0);
                        cx.b.ins().fsub(one, i)
                    } else {
                        let gf = gate(cx, 2);
                        let pt = peep_term(cx, 2, c_prev);
                        let vf = cx.b.ins().fadd(gf, pt);
                        let vf = clip_v(cx, vf);
                        math::sigmoid(cx, vf, types::F32)
                    };
                    let gc = gate(cx, 3);
                    let gc = clip_v(cx, gc);
                    let c_tilde = math::tanh(cx, gc, types::F32);
                    let fc = cx.b.ins().fmul(f, c_prev);
                    let ic = cx.b.ins().fmul(i, c_tilde);
                    let c_new = cx.b.ins().fadd(fc, ic);
                    let go = gate(cx, 1);
                    let pt = peep_term(cx, 1, c_new);
                    let vo = cx.b.ins().fadd(go, pt);
                    let vo = clip_v(cx, vo);
                    let o = math::sigmoid(cx, vo, types::F32);
                    let tc = math::tanh(cx, c_new, types::F32);
                    let h_new = cx.b.ins().fmul(o, tc);
                    cx.store(c_new, ca, 0);
                    let ha = cx.b.ins().iadd(hrow_s, j4);
                    cx.store(h_new, ha, 0);
                    let ya = cx.b.ins().iadd(yrow, j4);
                    cx.store(h_new, ya, 0);
                });
            });
        });
        let od = cx.b.ins().imul_imm_s(d, batch * h * 4);
        for (src, out) in [(hs, outs[1]), (cs, outs[2])] {
            let dst = cx.b.ins().iadd(out, od);
            super::layout::copy_static(cx, src, dst, (batch * h * 4) as usize);
        }
    });
    Ok(KernelInfo { work_items: dirs, scratch_bytes })
}
