//! `Resize` (ONNX opset 11–19): `nearest` on any dtype but 4-bit, `linear` and `cubic`
//! (with `antialias`, `exclude_outside`, `cubic_coeff_a`) and `tf_crop_and_resize` on `f32`,
//! bit-exact with the interpreter (`backend-interp/src/ops/resize.rs`, which follows ONNX's
//! `op_resize.py`).
//!
//! Only the last two axes (`H`, `W`; a rank-1 input is `[1, W]`) may change; every leading
//! axis (`N`, `C`, …) must be an identity axis in the interpreter's sense (scale ≈ 1, same
//! size, whole-axis crop), else [`JitError::Unsupported`].
//!
//! Source indices and weights depend only on static shapes, so they are computed at compile
//! time with the shared formulas ([`int8xc_ir::resize`], in `f64`) and packed as tables.
//! Resize has no constant input to carry them, so the kernel writes the tables into its
//! scratch buffer at the start of each call (16-byte constant-pool stores) and then only
//! gathers and blends:
//!
//! - `nearest` (here): per output row `oh` the `i32` element offset of its source row
//!   (`ih * W`), per output column `ow` the `i32` source column; the row is copied with a
//!   gather (or a plain copy when `W` keeps its size).
//! - every other case ([`filter`]): per axis the [`resize::filter_taps`] as tables, an `H`
//!   pass into an `f64` row buffer and a `W` pass out of it, in the interpreter's order.
//!
//! Work item: one output row (`item = plane * oH + oh`, `plane` the flat index of the leading
//! axes).

mod filter;

use cranelift_codegen::ir::{types, ConstantData, InstBuilder, Value};
use int8xc_ir::resize::{self, AxisMap};
use int8xc_ir::{CoordTransform, DType, ResizeAttrs, ResizeMode};

use super::layout::copy_static;
use super::{i64_of, KernelCx, KernelInfo};
use crate::JitError;

/// One axis: how output positions map to input positions, and whether it is left as is.
#[derive(Clone, Copy)]
struct Axis {
    map: AxisMap,
    identity: bool,
}

impl Axis {
    fn new(map: AxisMap) -> Self {
        Axis { map, identity: map.is_identity() }
    }

    /// The `H` of a rank-1 input: one row that stays.
    fn single_row(coord: CoordTransform) -> Self {
        Axis::new(AxisMap { coord, scale: 1.0, in_len: 1, out_len: 1, roi: (0.0, 1.0) })
    }

    fn in_len(&self) -> usize {
        self.map.in_len
    }

    fn out_len(&self) -> usize {
        self.map.out_len
    }
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
    let axis = |d: usize| Axis::new(AxisMap::new(a, d, ti.shape[d]));
    if let Some(d) = (0..rank.saturating_sub(2)).find(|&d| !axis(d).identity) {
        return Err(JitError::unsupported(
            cx.node,
            format!("resizing leading axis {d} (only the last two axes may change)"),
        ));
    }
    let (h, w) = if rank == 1 { (Axis::single_row(a.coord), axis(0)) } else { (axis(rank - 2), axis(rank - 1)) };
    let planes: usize = ti.shape[..rank.saturating_sub(2)].iter().product();
    let plane_elems = h.in_len() * w.in_len();
    if i32::try_from(plane_elems).is_err() {
        return Err(JitError::unsupported(cx.node, format!("input planes of {plane_elems} elements")));
    }
    let items = planes * h.out_len();
    if a.mode != ResizeMode::Nearest || a.coord == CoordTransform::TfCropAndResize {
        if ti.dtype != DType::F32 {
            return Err(JitError::unsupported(
                cx.node,
                format!("{:?} Resize ({:?}) on dtype {}", a.mode, a.coord, ti.dtype),
            ));
        }
        let scratch = filter::lower(cx, a, &h, &w)?;
        return Ok(KernelInfo { work_items: items, scratch_bytes: scratch });
    }
    let esize = match ti.dtype {
        DType::I4 | DType::U4 => return Err(JitError::unsupported(cx.node, format!("dtype {}", ti.dtype))),
        d => d.bits() / 8,
    };
    let nearest = |ax: &Axis| -> Vec<usize> {
        if ax.identity {
            (0..ax.out_len()).collect()
        } else {
            resize::nearest_taps(&ax.map, a.nearest)
        }
    };
    let rows: Vec<u8> = nearest(&h).iter().flat_map(|&i| ((i * w.in_len()) as i32).to_le_bytes()).collect();
    let cols: Vec<u8> = nearest(&w).iter().flat_map(|&i| (i as i32).to_le_bytes()).collect();
    let cols_at = rows.len().next_multiple_of(16);
    let scratch = cols_at + cols.len().next_multiple_of(16);
    emit_nearest(cx, &rows, &cols, cols_at, &h, &w, esize);
    Ok(KernelInfo { work_items: items, scratch_bytes: scratch })
}

/// Splits a row item into the element offset of its plane (`plane * H * W`) and `oh`.
fn row_of(cx: &mut KernelCx, item: Value, h: &Axis, w: &Axis) -> (Value, Value) {
    let n = cx.iconst(i64_of(h.out_len()));
    let (plane, oh) = (cx.b.ins().udiv(item, n), cx.b.ins().urem(item, n));
    (cx.b.ins().imul_imm_s(plane, i64_of(h.in_len() * w.in_len())), oh)
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
        let dst_row = cx.elem_addr(dst, item, i64_of(w.out_len()) * e);
        if w.identity {
            copy_static(cx, src_row, dst_row, w.out_len() * esize);
            return;
        }
        cx.for_static(0, i64_of(w.out_len()), 1, |cx, ow| {
            let rec = cx.elem_addr(col_tab, ow, 4);
            let iw = load_index(cx, rec, 0);
            let s = cx.elem_addr(src_row, iw, e);
            let v = cx.load(ty, s, 0);
            let d = cx.elem_addr(dst_row, ow, e);
            cx.store(v, d, 0);
        });
    });
}
