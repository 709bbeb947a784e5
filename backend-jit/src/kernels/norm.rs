//! Per-channel kernels over `[N, C, spatial…]` planes: `BatchNormalization` (when the pass did
//! not fold it) and `GlobalAveragePool`.
//!
//! Work item: one channel plane of one image (`item = n · C + c`), processed 4 lanes at a time
//! with a scalar tail.

use cranelift_codegen::ir::{types, InstBuilder, Value};

use super::{i64_of, require_f32, KernelCx, KernelInfo};
use crate::JitError;

/// `(n, c, plane)` of a `[N, C, …]` input.
fn planes(cx: &KernelCx) -> Result<(usize, usize, usize), JitError> {
    let tx = cx.in_ty(0)?;
    if tx.rank() < 2 {
        return Err(JitError::invalid(cx.node, format!("input {:?} must be [N, C, ...]", tx.shape)));
    }
    Ok((tx.shape[0], tx.shape[1], tx.shape[2..].iter().product()))
}

/// Loops over `len` (static) elements of a plane: `vec(cx, byte_offset)` for each full
/// `f32x4`, then `scalar(cx, byte_offset)` for the tail.
fn plane_loop(
    cx: &mut KernelCx,
    len: usize,
    vec: &mut dyn FnMut(&mut KernelCx, Value),
    scalar: &mut dyn FnMut(&mut KernelCx, Value),
) {
    cx.for_static(0, i64_of(len / 4), 1, |cx, i| {
        let off = cx.b.ins().imul_imm_s(i, 16);
        vec(cx, off)
    });
    for i in len / 4 * 4..len {
        let off = cx.iconst(i64_of(i * 4));
        scalar(cx, off);
    }
}

/// `BatchNormalization`: `y = scale · (x − mean) / sqrt(var + ε) + bias` per channel (axis 1),
/// evaluated in exactly the interpreter's order (`sqrt` once per channel), so results are
/// bit-identical. The four parameter vectors `[C]` may be constants or run-time values.
pub(crate) fn lower_batch_norm(cx: &mut KernelCx, epsilon: f32) -> Result<KernelInfo, JitError> {
    cx.expect_arity(5..=5, 1)?;
    require_f32(cx)?;
    let (n, c, plane) = planes(cx)?;
    if cx.out_ty(0)?.shape != cx.in_ty(0)?.shape {
        return Err(JitError::invalid(cx.node, "output shape differs from input"));
    }
    for i in 1..5 {
        if cx.in_ty(i)?.shape != [c] {
            return Err(JitError::invalid(
                cx.node,
                format!("parameter {i} has shape {:?}, expected [{c}]", cx.in_ty(i)?.shape),
            ));
        }
    }
    if n * c * plane == 0 {
        return Ok(KernelInfo::default());
    }
    let (x, out) = (cx.input(0), cx.output(0));
    let params: Vec<Value> = (1..5).map(|i| cx.input(i)).collect();
    cx.for_items(|cx, item| {
        let cn = cx.iconst(i64_of(c));
        let ch = cx.b.ins().urem(item, cn);
        let choff = cx.b.ins().imul_imm_s(ch, 4);
        let p: Vec<Value> = params
            .iter()
            .map(|&base| {
                let a = cx.b.ins().iadd(base, choff);
                cx.load(types::F32, a, 0)
            })
            .collect();
        let (scale, bias, mean, var) = (p[0], p[1], p[2], p[3]);
        let eps = cx.fconst(types::F32, epsilon);
        let ve = cx.b.ins().fadd(var, eps);
        let den = cx.b.ins().sqrt(ve);
        let poff = cx.b.ins().imul_imm_s(item, i64_of(plane * 4));
        let src = cx.b.ins().iadd(x, poff);
        let dst = cx.b.ins().iadd(out, poff);
        let splat = |cx: &mut KernelCx, v: Value| cx.b.ins().splat(types::F32X4, v);
        let (vs, vb, vm, vd) = (splat(cx, scale), splat(cx, bias), splat(cx, mean), splat(cx, den));
        let body = |cx: &mut KernelCx, off: Value, ty: types::Type, s: Value, b: Value, m: Value, d: Value| {
            let a = cx.b.ins().iadd(src, off);
            let xv = cx.load(ty, a, 0);
            let t = cx.b.ins().fsub(xv, m);
            let t = cx.b.ins().fmul(s, t);
            let t = cx.b.ins().fdiv(t, d);
            let y = cx.b.ins().fadd(t, b);
            let o = cx.b.ins().iadd(dst, off);
            cx.store(y, o, 0);
        };
        plane_loop(cx, plane, &mut |cx, off| body(cx, off, types::F32X4, vs, vb, vm, vd), &mut |cx, off| {
            body(cx, off, types::F32, scale, bias, mean, den)
        });
    });
    Ok(KernelInfo { work_items: n * c, scratch_bytes: 0 })
}

/// `GlobalAveragePool`: `y[n, c] = (Σ plane) / |plane|`, summed in 4 lanes then reduced
/// (a reassociated sum: within the f32 tolerance of the interpreter's sequential sum).
pub(crate) fn lower_global_average_pool(cx: &mut KernelCx) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    require_f32(cx)?;
    let (n, c, plane) = planes(cx)?;
    let (tx, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let mut expect = vec![n, c];
    expect.resize(tx.rank(), 1);
    if to.shape != expect {
        return Err(JitError::invalid(cx.node, format!("output {:?}, expected {expect:?}", to.shape)));
    }
    if n * c == 0 {
        return Ok(KernelInfo::default());
    }
    let (x, out) = (cx.input(0), cx.output(0));
    cx.for_items(|cx, item| {
        let poff = cx.b.ins().imul_imm_s(item, i64_of(plane * 4));
        let src = cx.b.ins().iadd(x, poff);
        let vacc = cx.b.declare_var(types::F32X4);
        let sacc = cx.b.declare_var(types::F32);
        let zv = cx.fconst(types::F32X4, 0.0);
        let zs = cx.fconst(types::F32, 0.0);
        cx.b.def_var(vacc, zv);
        cx.b.def_var(sacc, zs);
        plane_loop(
            cx,
            plane,
            &mut |cx, off| {
                let a = cx.b.ins().iadd(src, off);
                let v = cx.load(types::F32X4, a, 0);
                let acc = cx.b.use_var(vacc);
                let s = cx.b.ins().fadd(acc, v);
                cx.b.def_var(vacc, s);
            },
            &mut |cx, off| {
                let a = cx.b.ins().iadd(src, off);
                let v = cx.load(types::F32, a, 0);
                let acc = cx.b.use_var(sacc);
                let s = cx.b.ins().fadd(acc, v);
                cx.b.def_var(sacc, s);
            },
        );
        let v = cx.b.use_var(vacc);
        let mut total = cx.b.use_var(sacc);
        for l in 0..4u8 {
            let e = cx.b.ins().extractlane(v, l);
            total = cx.b.ins().fadd(total, e);
        }
        let cnt = cx.fconst(types::F32, plane as f32);
        let mean = cx.b.ins().fdiv(total, cnt);
        let o = cx.b.ins().imul_imm_s(item, 4);
        let d = cx.b.ins().iadd(out, o);
        cx.store(mean, d, 0);
    });
    Ok(KernelInfo { work_items: n * c, scratch_bytes: 0 })
}
