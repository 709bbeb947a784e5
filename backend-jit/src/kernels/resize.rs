//! `Resize` (ONNX opset 11–19) in `nearest` (any dtype but 4-bit) and `linear` (f32) modes,
//! bit-exact with the interpreter (`backend-interp/src/ops/resize.rs`, which follows ONNX's
//! `op_resize.py`).
//!
//! Only the last two axes (`H`, `W`; a rank-1 input is `[1, W]`) may change; every leading
//! axis (`N`, `C`, …) must be an identity axis in the interpreter's sense (scale ≈ 1, same
//! size), else [`JitError::Unsupported`].
//!
//! Source indices and weights depend only on static shapes, so they are computed at compile
//! time with the shared formulas ([`int8xc_ir::resize`], in `f64`) and packed as tables.
//! Resize has no constant input to carry them, so the kernel writes the tables into its
//! scratch buffer at the start of each call (16-byte constant-pool stores, about
//! `24 * (oH + oW)` bytes) and then only gathers and blends:
//!
//! - per output row `oh`: `i32` element offsets of the source rows (`ih * W`), and for linear
//!   the `f64` weights; per output column `ow`: `i32` source columns (and weights). Linear
//!   records are `{i0: i32, i1: i32, c0: f64, c1: f64}` (24 bytes), nearest records one `i32`.
//! - Linear blends in `f64` exactly as the interpreter: first along `H`
//!   (`q = c0h * x[h0] + c1h * x[h1]`), then along `W` (`y = c0w * q[w0] + c1w * q[w1]`),
//!   rounded to `f32` once; an identity axis is skipped.
//!
//! Work item: one output row (`item = plane * oH + oh`, `plane` the flat index of the leading
//! axes).

use cranelift_codegen::ir::{types, ConstantData, InstBuilder, Value};
use int8xc_ir::resize::{self, axis_scale, is_identity};
use int8xc_ir::{CoordTransform, DType, NearestMode, ResizeAttrs, ResizeMode};

use super::layout::copy_static;
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// One axis: its lengths and how output positions map to input positions.
#[derive(Clone, Copy)]
struct Axis {
    in_len: usize,
    out_len: usize,
    /// `None` for an identity axis.
    scale: Option<f64>,
}

impl Axis {
    fn new(scale: f32, in_len: usize, out_len: usize) -> Self {
        let s = axis_scale(scale, in_len, out_len);
        Axis { in_len, out_len, scale: (!is_identity(s, in_len, out_len)).then_some(s) }
    }

    /// `(i0, i1, c0, c1)` per output position ([`resize::linear_taps`]).
    fn linear(&self, coord: CoordTransform, scale: f64) -> Vec<(usize, usize, f64, f64)> {
        resize::linear_taps(coord, scale, self.in_len, self.out_len)
    }

    /// The selected input index per output position ([`resize::nearest_taps`]).
    fn nearest(&self, coord: CoordTransform, mode: NearestMode) -> Vec<usize> {
        let Some(scale) = self.scale else { return (0..self.out_len).collect() };
        resize::nearest_taps(coord, mode, scale, self.in_len, self.out_len)
    }
}

/// Linear record bytes: `{i0 * mul: i32, i1 * mul: i32, c0: f64, c1: f64}` per position.
fn linear_records(taps: &[(usize, usize, f64, f64)], mul: usize) -> Vec<u8> {
    let mut t = Vec::with_capacity(taps.len() * 24);
    for &(i0, i1, c0, c1) in taps {
        t.extend_from_slice(&((i0 * mul) as i32).to_le_bytes());
        t.extend_from_slice(&((i1 * mul) as i32).to_le_bytes());
        t.extend_from_slice(&c0.to_le_bytes());
        t.extend_from_slice(&c1.to_le_bytes());
    }
    t
}

/// Emits stores writing `bytes` to `dst` (16 bytes per constant-pool vector).
fn store_table(cx: &mut KernelCx, dst: Value, bytes: &[u8]) {
    for (k, chunk) in bytes.chunks(16).enumerate() {
        let mut v = chunk.to_vec();
        v.resize(16, 0);
        let c = cx.b.func.dfg.constants.insert(ConstantData::from(v));
        let val = cx.b.ins().vconst(types::I8X16, c);
        let a = cx.b.ins().iadd_imm_s(dst, i64_of(k * 16));
        cx.store(val, a, 0);
    }
}

/// `Resize(attrs)`; see the module docs for the supported cases, tables and work items.
pub(crate) fn lower_resize(cx: &mut KernelCx, a: &ResizeAttrs) -> Result<KernelInfo, JitError> {
    cx.expect_arity(1..=1, 1)?;
    let (ti, to) = (cx.in_ty(0)?, cx.out_ty(0)?);
    let rank = ti.rank();
    if ti.dtype != to.dtype || a.sizes != to.shape || a.scales.len() != rank || a.sizes.len() != rank || rank == 0 {
        return Err(JitError::invalid(
            cx.node,
            format!("resize {ti} with sizes {:?} scales {:?} to {to}", a.sizes, a.scales),
        ));
    }
    if let Some(s) = a.scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(JitError::invalid(cx.node, format!("scale {s:?} must be finite and > 0")));
    }
    if to.numel() == 0 {
        return Ok(KernelInfo::default());
    }
    if let Some(ax) = (0..rank).find(|&ax| ti.shape[ax] == 0) {
        return Err(JitError::invalid(cx.node, format!("cannot resize empty axis {ax} to {}", a.sizes[ax])));
    }
    let axis = |d: usize| Axis::new(a.scales[d], ti.shape[d], a.sizes[d]);
    if let Some(d) = (0..rank.saturating_sub(2)).find(|&d| axis(d).scale.is_some()) {
        return Err(JitError::unsupported(
            cx.node,
            format!("resizing leading axis {d} (only the last two axes may change)"),
        ));
    }
    let (h, w) = if rank == 1 {
        (Axis { in_len: 1, out_len: 1, scale: None }, axis(0))
    } else {
        (axis(rank - 2), axis(rank - 1))
    };
    let planes: usize = ti.shape[..rank.saturating_sub(2)].iter().product();
    let plane_elems = h.in_len * w.in_len;
    if i32::try_from(plane_elems).is_err() {
        return Err(JitError::unsupported(cx.node, format!("input planes of {plane_elems} elements")));
    }
    let items = planes * h.out_len;
    match a.mode {
        ResizeMode::Nearest => {
            let esize = match ti.dtype {
                DType::I4 | DType::U4 => return Err(JitError::unsupported(cx.node, format!("dtype {}", ti.dtype))),
                d => d.bits() / 8,
            };
            let rows: Vec<u8> =
                h.nearest(a.coord, a.nearest).iter().flat_map(|&i| ((i * w.in_len) as i32).to_le_bytes()).collect();
            let cols: Vec<u8> = w.nearest(a.coord, a.nearest).iter().flat_map(|&i| (i as i32).to_le_bytes()).collect();
            let cols_at = rows.len().next_multiple_of(16);
            let scratch = cols_at + cols.len().next_multiple_of(16);
            emit_nearest(cx, &rows, &cols, cols_at, &h, &w, esize);
            Ok(KernelInfo { work_items: items, scratch_bytes: scratch })
        }
        ResizeMode::Linear => {
            if ti.dtype != DType::F32 {
                return Err(JitError::unsupported(cx.node, format!("linear Resize on dtype {}", ti.dtype)));
            }
            let rows = h.scale.map(|s| linear_records(&h.linear(a.coord, s), w.in_len)).unwrap_or_default();
            let cols = w.scale.map(|s| linear_records(&w.linear(a.coord, s), 1)).unwrap_or_default();
            let cols_at = rows.len().next_multiple_of(16);
            let scratch = cols_at + cols.len().next_multiple_of(16);
            emit_linear(cx, &rows, &cols, cols_at, &h, &w);
            Ok(KernelInfo { work_items: items, scratch_bytes: scratch })
        }
    }
}

/// Splits a row item into the element offset of its plane (`plane * H * W`) and `oh`.
fn row_of(cx: &mut KernelCx, item: Value, h: &Axis, w: &Axis) -> (Value, Value) {
    let n = cx.iconst(i64_of(h.out_len));
    let (plane, oh) = (cx.b.ins().udiv(item, n), cx.b.ins().urem(item, n));
    (cx.b.ins().imul_imm_s(plane, i64_of(h.in_len * w.in_len)), oh)
}

/// Loads the `i32` at `addr + off` as a pointer-sized integer.
fn load_index(cx: &mut KernelCx, addr: Value, off: i32) -> Value {
    let v = cx.load(types::I32, addr, off);
    let ptr = cx.ptr_ty();
    if ptr == types::I32 {
        v
    } else {
        cx.b.ins().sextend(ptr, v)
    }
}

fn emit_nearest(cx: &mut KernelCx, rows: &[u8], cols: &[u8], cols_at: usize, h: &Axis, w: &Axis, esize: usize) {
    let sc = cx.scratch();
    store_table(cx, sc, rows);
    let col_tab = cx.b.ins().iadd_imm_s(sc, i64_of(cols_at));
    store_table(cx, col_tab, cols);
    let (src, dst) = (cx.input(0), cx.output(0));
    let e = i64_of(esize);
    let ty = match esize {
        1 => types::I8,
        2 => types::I16,
        4 => types::I32,
        _ => types::I64,
    };
    cx.for_items(|cx, item| {
        let (plane_off, oh) = row_of(cx, item, h, w);
        let rec = cx.elem_addr(sc, oh, 4);
        let row_off = load_index(cx, rec, 0);
        let off = cx.b.ins().iadd(plane_off, row_off);
        let src_row = cx.elem_addr(src, off, e);
        let dst_row = cx.elem_addr(dst, item, i64_of(w.out_len) * e);
        if w.scale.is_none() {
            copy_static(cx, src_row, dst_row, w.out_len * esize);
            return;
        }
        cx.for_static(0, i64_of(w.out_len), 1, |cx, ow| {
            let rec = cx.elem_addr(col_tab, ow, 4);
            let iw = load_index(cx, rec, 0);
            let s = cx.elem_addr(src_row, iw, e);
            let v = cx.load(ty, s, 0);
            let d = cx.elem_addr(dst_row, ow, e);
            cx.store(v, d, 0);
        });
    });
}

fn emit_linear(cx: &mut KernelCx, rows: &[u8], cols: &[u8], cols_at: usize, h: &Axis, w: &Axis) {
    let sc = cx.scratch();
    store_table(cx, sc, rows);
    let col_tab = cx.b.ins().iadd_imm_s(sc, i64_of(cols_at));
    store_table(cx, col_tab, cols);
    let (src, dst) = (cx.input(0), cx.output(0));
    cx.for_items(|cx, item| {
        let (plane_off, oh) = row_of(cx, item, h, w);
        // Source rows (two when H is resized, with their weights).
        let (row0, vert) = if h.scale.is_some() {
            let rec = cx.elem_addr(sc, oh, 24);
            let (i0, i1) = (load_index(cx, rec, 0), load_index(cx, rec, 4));
            let c0 = cx.load(types::F64, rec, 8);
            let c1 = cx.load(types::F64, rec, 16);
            let (o0, o1) = (cx.b.ins().iadd(plane_off, i0), cx.b.ins().iadd(plane_off, i1));
            (cx.elem_addr(src, o0, 4), Some((cx.elem_addr(src, o1, 4), c0, c1)))
        } else {
            let r = cx.b.ins().imul_imm_s(oh, i64_of(w.in_len));
            let o = cx.b.ins().iadd(plane_off, r);
            (cx.elem_addr(src, o, 4), None)
        };
        // Column `iw` blended along H, in f64.
        let column = |cx: &mut KernelCx, iw: Value| -> Value {
            let a = cx.elem_addr(row0, iw, 4);
            let x0 = cx.load(types::F32, a, 0);
            let x0 = cx.b.ins().fpromote(types::F64, x0);
            match vert {
                None => x0,
                Some((row1, c0, c1)) => {
                    let a = cx.elem_addr(row1, iw, 4);
                    let x1 = cx.load(types::F32, a, 0);
                    let x1 = cx.b.ins().fpromote(types::F64, x1);
                    let p0 = cx.b.ins().fmul(c0, x0);
                    let p1 = cx.b.ins().fmul(c1, x1);
                    cx.b.ins().fadd(p0, p1)
                }
            }
        };
        let dst_row = cx.elem_addr(dst, item, i64_of(w.out_len * 4));
        let resize_w = w.scale.is_some();
        cx.for_static(0, i64_of(w.out_len), 1, |cx, ow| {
            let y = if resize_w {
                let rec = cx.elem_addr(col_tab, ow, 24);
                let (i0, i1) = (load_index(cx, rec, 0), load_index(cx, rec, 4));
                let c0 = cx.load(types::F64, rec, 8);
                let c1 = cx.load(types::F64, rec, 16);
                let q0 = column(cx, i0);
                let q1 = column(cx, i1);
                let p0 = cx.b.ins().fmul(c0, q0);
                let p1 = cx.b.ins().fmul(c1, q1);
                cx.b.ins().fadd(p0, p1)
            } else {
                column(cx, ow)
            };
            let y = cx.b.ins().fdemote(types::F32, y);
            let d = cx.elem_addr(dst_row, ow, 4);
            cx.store(y, d, 0);
        });
    });
}
