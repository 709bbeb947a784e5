//! `QMatMul` whose `b` is a run-time value: ONNX `QLinearMatMul` of two activations (the
//! attention products of quantized transformers, and the ONNX node tests). The microkernel
//! path (`qmatmul.rs`) packs `b` and folds its zero-point terms at compile time; here both
//! operands are read as they are, zero points subtracted before the multiply:
//!
//! ```text
//! acc[r, c] = Σ_k (a[r, k] − za) · (b[k, c] − zb) + bias[c]      (i32, exact)
//! y[r, c]   = epilogue(acc)   (the requantization of `qgemm.rs`, the same code as the
//!                              microkernel path, so results are bit-identical)
//! ```
//!
//! `a` `[batch…, M, K]`, `b` `[batch…, K, N]` (numpy broadcasting of the batch dims), both
//! `u8`/`i8` with per-tensor quantization parameters; `bias` an optional constant `[N]` `i32`.
//! Work item: one output row; 8 columns per step (two `i32x4` accumulators), the last step
//! narrower, reading only columns `< N`. The per-tensor parameter entry is written to the
//! scratch buffer, replicated over the 8 columns the epilogue reads, at the start of each item.

use cranelift_codegen::ir::{types, InstBuilder, Value};
use int8xc_ir::{DType, QMatMulAttrs};

use super::elementwise::broadcast_strides;
use super::matmul::{matmul_geometry, MatMulGeometry};
use super::qgemm::{emit_epilogue, le, out_bytes, splat_i32, ChannelAxis, QCTile, QEpilogue, QOutKind};
use super::qparams::{const_ints, param_table, requant_out};
use super::quantize::load_int;
use super::{i64_of, KernelCx, KernelInfo};
use crate::pack_i8::{push_i32s, QNR};
use crate::JitError;

/// `QMatMul` with a run-time `b` (see the module docs).
///
/// Errors: [`JitError::Unsupported`] for per-axis parameters or operands other than
/// `u8`/`i8`; [`JitError::Invalid`] for inconsistent shapes or a non-constant bias.
pub(crate) fn lower_qmatmul_runtime_b(cx: &mut KernelCx, attrs: &QMatMulAttrs) -> Result<KernelInfo, JitError> {
    cx.expect_arity(2..=3, 1)?;
    let (ta, tb) = (cx.in_ty(0)?, cx.in_ty(1)?);
    let bad = |what: &str| JitError::unsupported(cx.node, format!("{what} must have quantization parameters"));
    let qa = ta.quant.as_ref().ok_or_else(|| bad("a"))?;
    let qb = tb.quant.as_ref().ok_or_else(|| bad("b"))?;
    if !qa.is_per_tensor() || !qb.is_per_tensor() {
        return Err(JitError::unsupported(cx.node, "int8 MatMul with a run-time b needs per-tensor parameters"));
    }
    let signed = |what: &str, dt: DType| match dt {
        DType::U8 => Ok(false),
        DType::I8 => Ok(true),
        other => Err(JitError::unsupported(cx.node, format!("{what} has dtype {other} (JIT: u8, i8)"))),
    };
    let (sa, sb) = (signed("a", ta.dtype)?, signed("b", tb.dtype)?);
    let out = match &attrs.requant {
        Some(r) => requant_out(cx, r)?,
        None if cx.out_ty(0)?.dtype == DType::F32 => QOutKind::F32,
        None => return Err(JitError::invalid(cx.node, "QMatMul without requant must output f32")),
    };
    let MatMulGeometry { m, k, n, batch_a, batch_b, batch } = matmul_geometry(cx)?;
    let table = param_table(out, attrs.requant.as_ref(), attrs.alpha, qa.scale[0], &qb.scale, QNR, QNR);
    let n8 = n.div_ceil(QNR) * QNR;
    let has_bias = match const_ints(cx, 2, "QMatMul bias")? {
        Some(b) if b.len() == 1 || b.len() == n => {
            let v: Vec<i32> = (0..n).map(|c| b[if b.len() == 1 { 0 } else { c }] as i32).collect();
            let mut bytes = Vec::new();
            push_i32s(&mut bytes, &v, n8, 0);
            cx.pack_input(2, bytes);
            true
        }
        Some(b) => return Err(JitError::invalid(cx.node, format!("bias has {} values, expected 1 or {n}", b.len()))),
        None => false,
    };
    let batches: usize = batch.iter().product();
    if batches == 0 || m == 0 || n == 0 {
        return Ok(KernelInfo::default());
    }
    let strides = |own: &[usize], unit: usize| -> Vec<i64> {
        broadcast_strides(own, &batch).unwrap_or_default().into_iter().map(|s| s * i64_of(unit)).collect()
    };
    let (a_batch, b_batch) = (strides(batch_a, m * k), strides(batch_b, k * n));
    let (za, zb) = (qa.zero_point[0], qb.zero_point[0]);
    let ob = out_bytes(out);
    let (pa, pb, py, scratch) = (cx.input(0), cx.input(1), cx.output(0), cx.scratch());
    let bias = if has_bias { Some(cx.input(2)) } else { None };
    cx.for_items(|cx, item| {
        for (i, w) in table.chunks_exact(4).enumerate() {
            let v = cx.b.ins().iconst(types::I32, i64::from(i32::from_le_bytes([w[0], w[1], w[2], w[3]])));
            cx.store(v, scratch, 4 * i as i32);
        }
        let m_n = cx.iconst(i64_of(m));
        let r = cx.b.ins().urem(item, m_n);
        let bt = cx.b.ins().udiv(item, m_n);
        let idx = cx.unravel(bt, &batch);
        let a_row = {
            let off = cx.dot_strides(&idx, &a_batch);
            let ro = cx.b.ins().imul_imm_s(r, i64_of(k));
            let t = cx.b.ins().iadd(off, ro);
            cx.b.ins().iadd(pa, t)
        };
        let b_mat = {
            let off = cx.dot_strides(&idx, &b_batch);
            cx.b.ins().iadd(pb, off)
        };
        let y_row = {
            let o = cx.b.ins().imul_imm_s(item, i64_of(n * ob));
            cx.b.ins().iadd(py, o)
        };
        let step = |cx: &mut KernelCx, col: Value, cols: usize| {
            let zero = splat_i32(cx, 0);
            let acc = [cx.b.declare_var(types::I32X4), cx.b.declare_var(types::I32X4)];
            for &v in &acc {
                cx.b.def_var(v, zero);
            }
            let zb_v = splat_i32(cx, zb);
            let b_col = cx.b.ins().iadd(b_mat, col);
            cx.for_static(0, i64_of(k), 1, |cx, kk| {
                let ap = cx.b.ins().iadd(a_row, kk);
                let x = load_int(cx, types::I8, sa, ap);
                let x = cx.b.ins().iadd_imm_s(x, -i64::from(za));
                let xv = cx.b.ins().splat(types::I32X4, x);
                let row = {
                    let o = cx.b.ins().imul_imm_s(kk, i64_of(n));
                    cx.b.ins().iadd(b_col, o)
                };
                for (v, &var) in acc.iter().enumerate() {
                    let lanes = cols.saturating_sub(4 * v).min(4);
                    if lanes == 0 {
                        continue;
                    }
                    let w = load_lanes(cx, row, 4 * v as i32, lanes, sb);
                    let w = cx.b.ins().isub(w, zb_v);
                    let p = cx.b.ins().imul(xv, w);
                    let s = cx.b.use_var(var);
                    let s = cx.b.ins().iadd(s, p);
                    cx.b.def_var(var, s);
                }
            });
            let (a0, a1) = (cx.b.use_var(acc[0]), cx.b.use_var(acc[1]));
            let cterm = bias.map(|p| {
                let o = cx.b.ins().imul_imm_s(col, 4);
                cx.b.ins().iadd(p, o)
            });
            let ep = QEpilogue {
                axis: ChannelAxis::Cols,
                rterm: None,
                cterm,
                rz_csum: None,
                cz_rsum: None,
                params: Some(scratch),
                out,
            };
            let ptr = {
                let o = cx.b.ins().imul_imm_s(col, i64_of(ob));
                cx.b.ins().iadd(y_row, o)
            };
            emit_epilogue(cx, &[a0, a1, zero, zero, zero, zero, zero, zero], 1, cols, &ep, QCTile { ptr, ldc: 0 });
        };
        let full = n / QNR;
        cx.for_static(0, i64_of(full), 1, |cx, j| {
            let col = cx.b.ins().imul_imm_s(j, QNR as i64);
            step(cx, col, QNR);
        });
        if !n.is_multiple_of(QNR) {
            let col = cx.iconst(i64_of(full * QNR));
            step(cx, col, n % QNR);
        }
    });
    Ok(KernelInfo { work_items: batches * m, scratch_bytes: table.len().max(16) })
}

/// `lanes` (1..=4) bytes at `addr + off` widened to the low lanes of an `i32x4` (the other
/// lanes 0); never reads past the last of them.
fn load_lanes(cx: &mut KernelCx, addr: Value, off: i32, lanes: usize, signed: bool) -> Value {
    if lanes == 4 {
        let w = cx.load(types::I32, addr, off);
        let v = cx.b.ins().scalar_to_vector(types::I32X4, w);
        let v = cx.b.ins().bitcast(types::I8X16, le(), v);
        let v = if signed { cx.b.ins().swiden_low(v) } else { cx.b.ins().uwiden_low(v) };
        return cx.b.ins().swiden_low(v);
    }
    let mut v = splat_i32(cx, 0);
    for l in 0..lanes {
        let p = cx.b.ins().iadd_imm_s(addr, i64::from(off) + l as i64);
        let x = load_int(cx, types::I8, signed, p);
        v = cx.b.ins().insertlane(v, x, l as u8);
    }
    v
}
