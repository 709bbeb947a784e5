//! The filter path of the JIT `Resize` (`f32`): `linear`, `cubic`, their `antialias` and
//! `exclude_outside` forms, and `tf_crop_and_resize` in any mode.
//!
//! Per resized axis, [`resize::filter_taps`] packed as three tables in the scratch buffer:
//! `index` (`i32` per tap: the input row's element offset `ih * W` for `H`, the column `iw`
//! for `W`), `weight` (`f64` per tap) and `outside` (`i32` per output position, 1 when it is
//! the extrapolation value). Every index is clamped to the input at compile time, so no
//! load leaves the input. After the tables comes an `f64` row buffer `q` of `W` entries.
//!
//! Per output row `oh` (one work item), in the interpreter's operation order:
//!
//! 1. `H` pass: `q[iw] = Σ_j wh_j * x[h_j, iw]` (the `j = 0` product first, then `q += …`),
//!    or `q[iw] = extrapolation_value` when `oh` is outside, or `q[iw] = x[oh, iw]` when `H`
//!    is an identity axis;
//! 2. `W` pass: `y[ow] = Σ_k ww_k * q[w_k]` (same order), the extrapolation value when `ow`
//!    is outside, or `q[ow]` for an identity `W`; rounded to `f32` once.

use cranelift_codegen::ir::{types, InstBuilder, Value};
use int8xc_ir::resize::{self, FilterTaps};
use int8xc_ir::ResizeAttrs;

use super::{load_index, row_of, store_table, Axis};
use crate::kernels::{i64_of, KernelCx};
use crate::JitError;

/// Table bytes above which the kernel is refused: they are stored by straight-line code at
/// each call (one instruction per 16 bytes).
const MAX_TABLE_BYTES: usize = 512 << 10;

/// One axis's packed taps: byte offsets of its tables in the scratch buffer.
struct Table {
    width: usize,
    index_at: usize,
    weight_at: usize,
    outside_at: usize,
}

/// Appends `taps` to `bytes` (indices multiplied by `mul`, each table 16-byte aligned).
fn pack(taps: &FilterTaps, mul: usize, bytes: &mut Vec<u8>) -> Table {
    let align = |b: &mut Vec<u8>| b.resize(b.len().next_multiple_of(16), 0);
    let index_at = bytes.len();
    bytes.extend(taps.index.iter().flat_map(|&i| ((i * mul) as i32).to_le_bytes()));
    align(bytes);
    let weight_at = bytes.len();
    bytes.extend(taps.weight.iter().flat_map(|w| w.to_le_bytes()));
    align(bytes);
    let outside_at = bytes.len();
    bytes.extend(taps.outside.iter().flat_map(|&o| i32::from(o).to_le_bytes()));
    align(bytes);
    Table { width: taps.width, index_at, weight_at, outside_at }
}

/// Emits the filter kernel over output rows of `h` × `w` (the caller validated the shapes,
/// the `f32` dtype and that the plane's element offsets fit in `i32`). Returns the scratch
/// bytes per call.
pub(super) fn lower(cx: &mut KernelCx, a: &ResizeAttrs, h: &Axis, w: &Axis) -> Result<usize, JitError> {
    let mut bytes = Vec::new();
    let table = |cx: &KernelCx, ax: &Axis, mul: usize, bytes: &mut Vec<u8>| -> Result<Option<Table>, JitError> {
        if ax.identity {
            return Ok(None);
        }
        let taps = resize::filter_taps(a, &ax.map).ok_or_else(|| {
            JitError::unsupported(
                cx.node,
                format!("the {:?} filter of scale {} on an axis of {}", a.mode, ax.map.scale, ax.in_len()),
            )
        })?;
        Ok(Some(pack(&taps, mul, bytes)))
    };
    let rows = table(cx, h, w.in_len(), &mut bytes)?;
    let cols = table(cx, w, 1, &mut bytes)?;
    if bytes.len() > MAX_TABLE_BYTES {
        return Err(JitError::unsupported(cx.node, format!("resize tables of {} bytes", bytes.len())));
    }
    let q_at = bytes.len();
    let extrapolated = f64::from(a.extrapolation_value);
    emit(cx, &bytes, rows.as_ref(), cols.as_ref(), q_at, h, w, extrapolated);
    Ok(q_at + 8 * w.in_len())
}

/// `f64` element `i` (pointer-sized) of the buffer at `base`.
fn f64_at(cx: &mut KernelCx, base: Value, i: Value) -> Value {
    cx.elem_addr(base, i, 8)
}

/// The `f32` at `row[i]`, promoted to `f64`.
fn load_promoted(cx: &mut KernelCx, row: Value, i: Value) -> Value {
    let a = cx.elem_addr(row, i, 4);
    let v = cx.load(types::F32, a, 0);
    cx.b.ins().fpromote(types::F64, v)
}

/// Tap `j` of position `pos` of `t`: `(index, weight)` (`j` pointer-sized).
fn tap(cx: &mut KernelCx, sc: Value, t: &Table, pos: Value, j: Value) -> (Value, Value) {
    let first = cx.b.ins().imul_imm_s(pos, i64_of(t.width));
    let k = cx.b.ins().iadd(first, j);
    let idx_tab = cx.b.ins().iadd_imm_s(sc, i64_of(t.index_at));
    let a = cx.elem_addr(idx_tab, k, 4);
    let index = load_index(cx, a, 0);
    let w_tab = cx.b.ins().iadd_imm_s(sc, i64_of(t.weight_at));
    let a = cx.elem_addr(w_tab, k, 8);
    let weight = cx.load(types::F64, a, 0);
    (index, weight)
}

/// The `outside` flag of position `pos` of `t`.
fn outside(cx: &mut KernelCx, sc: Value, t: &Table, pos: Value) -> Value {
    let tab = cx.b.ins().iadd_imm_s(sc, i64_of(t.outside_at));
    let a = cx.elem_addr(tab, pos, 4);
    cx.load(types::I32, a, 0)
}

#[allow(clippy::too_many_arguments)] // the pieces of one kernel, named at the one call site
fn emit(
    cx: &mut KernelCx,
    bytes: &[u8],
    rows: Option<&Table>,
    cols: Option<&Table>,
    q_at: usize,
    h: &Axis,
    w: &Axis,
    extrapolated: f64,
) {
    let sc = cx.scratch();
    store_table(cx, sc, bytes);
    let (src, dst) = (cx.input(0), cx.output(0));
    let q = cx.b.ins().iadd_imm_s(sc, i64_of(q_at));
    let (w_in, w_out) = (i64_of(w.in_len()), i64_of(w.out_len()));
    cx.for_items(|cx, item| {
        let (plane_off, oh) = row_of(cx, item, h, w);
        // 1. The H pass into q.
        match rows {
            None => {
                let r = cx.b.ins().imul_imm_s(oh, w_in);
                let off = cx.b.ins().iadd(plane_off, r);
                let row = cx.elem_addr(src, off, 4);
                cx.for_static(0, w_in, 1, |cx, iw| {
                    let v = load_promoted(cx, row, iw);
                    let d = f64_at(cx, q, iw);
                    cx.store(v, d, 0);
                });
            }
            Some(t) => {
                let flag = outside(cx, sc, t, oh);
                cx.if_else(
                    flag,
                    |cx| {
                        let ev = cx.b.ins().f64const(extrapolated);
                        cx.for_static(0, w_in, 1, |cx, iw| {
                            let d = f64_at(cx, q, iw);
                            cx.store(ev, d, 0);
                        });
                    },
                    |cx| {
                        let row_of_tap = |cx: &mut KernelCx, j: Value| -> (Value, Value) {
                            let (off, weight) = tap(cx, sc, t, oh, j);
                            let off = cx.b.ins().iadd(plane_off, off);
                            (cx.elem_addr(src, off, 4), weight)
                        };
                        let zero = cx.iconst(0);
                        let (row, weight) = row_of_tap(cx, zero);
                        cx.for_static(0, w_in, 1, |cx, iw| {
                            let x = load_promoted(cx, row, iw);
                            let v = cx.b.ins().fmul(weight, x);
                            let d = f64_at(cx, q, iw);
                            cx.store(v, d, 0);
                        });
                        cx.for_static(1, i64_of(t.width), 1, |cx, j| {
                            let (row, weight) = row_of_tap(cx, j);
                            cx.for_static(0, w_in, 1, |cx, iw| {
                                let x = load_promoted(cx, row, iw);
                                let p = cx.b.ins().fmul(weight, x);
                                let d = f64_at(cx, q, iw);
                                let acc = cx.load(types::F64, d, 0);
                                let v = cx.b.ins().fadd(acc, p);
                                cx.store(v, d, 0);
                            });
                        });
                    },
                );
            }
        }
        // 2. The W pass out of q.
        let dst_row = cx.elem_addr(dst, item, w_out * 4);
        cx.for_static(0, w_out, 1, |cx, ow| {
            let y = match cols {
                None => {
                    let a = f64_at(cx, q, ow);
                    cx.load(types::F64, a, 0)
                }
                Some(t) => {
                    let y = cx.b.declare_var(types::F64);
                    let flag = outside(cx, sc, t, ow);
                    cx.if_else(
                        flag,
                        |cx| {
                            let ev = cx.b.ins().f64const(extrapolated);
                            cx.b.def_var(y, ev);
                        },
                        |cx| {
                            let zero = cx.iconst(0);
                            let (iw, weight) = tap(cx, sc, t, ow, zero);
                            let a = f64_at(cx, q, iw);
                            let x = cx.load(types::F64, a, 0);
                            let first = cx.b.ins().fmul(weight, x);
                            cx.b.def_var(y, first);
                            cx.for_static(1, i64_of(t.width), 1, |cx, k| {
                                let (iw, weight) = tap(cx, sc, t, ow, k);
                                let a = f64_at(cx, q, iw);
                                let x = cx.load(types::F64, a, 0);
                                let p = cx.b.ins().fmul(weight, x);
                                let acc = cx.b.use_var(y);
                                let v = cx.b.ins().fadd(acc, p);
                                cx.b.def_var(y, v);
                            });
                        },
                    );
                    cx.b.use_var(y)
                }
            };
            let y = cx.b.ins().fdemote(types::F32, y);
            let d = cx.elem_addr(dst_row, ow, 4);
            cx.store(y, d, 0);
        });
    });
}
