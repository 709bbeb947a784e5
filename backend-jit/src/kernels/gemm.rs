//! The f32 GEMM microkernel: `C[m0..m0+mr, n0..n0+cols] = alpha · A·B (+ beta · bias)` for one
//! register tile, emitted as straight-line CLIF inside an unrolled `k` loop.
//!
//! A tile is at most [`MR`] = 4 rows × [`NR`] = 8 columns: 8 `f32x4` accumulators, two `f32x4`
//! loads of B and four broadcasts of A per `k` (DESIGN.md: 12 accumulators spill with xmm0–15).
//! A is broadcast either by `splat(load)` (one `vbroadcastss` from memory on AVX) or, when
//! packed, by one 16-byte load and a lane shuffle (`pshufd`); see [`A_BROADCAST_BY_SHUFFLE`].
//! The multiply-add is `fma` when the target has it ([`crate::TargetFeatures::has_fma`]).
//!
//! Operands (all pointers address element `(m0, 0)` / `(0, n0)` of the tile):
//! - [`ATile::Packed`]: a tile of [`crate::pack::pack_a`]'s layout, `[k][MR]`.
//! - [`ATile::Strided`]: `A[r, k]` at `ptr + (r·rs + k·cs)·4`.
//! - [`BTile::Packed`]: a panel of [`crate::pack::pack_b`]'s layout, `[k][NR]`.
//! - [`BTile::Strided`]: `B[k, c]` at `ptr + (k·rs + c)·4`; with `padded` the columns up to the
//!   next multiple of 8 are readable (their values only reach lanes that are not stored).
//!
//! Edges: rows are static (`mr ≤ 4`, only valid rows are loaded from strided A and stored);
//! columns are static (`cols ≤ 8`): vector lanes past `cols` are computed but not stored
//! (masked store lane by lane), and when B cannot be over-read the last `cols % 4` columns use
//! a scalar tile.

use cranelift_codegen::ir::ConstantData;
use cranelift_codegen::ir::{types, Endianness, Immediate, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::Variable;

use super::KernelCx;
use crate::pack::{MR, NR};

/// Broadcast packed A lanes with a shuffle of one 16-byte load (true) or with one
/// `splat(load f32)` per row (false). Measured on Zen 4 with `examples/gemm_speed.rs`
/// (f32 MatMul 512³): 49.2 GFLOP/s with the shuffle, 50.1 with `splat(load)`, which lowers
/// to one `vbroadcastss` from memory (a pure load) on AVX, so the simpler form is used.
pub(crate) const A_BROADCAST_BY_SHUFFLE: bool = false;

/// `k` steps per loop iteration of the microkernel.
const UNROLL: usize = 4;

/// How a tile reads A.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ATile {
    /// `[k][MR]` packed tile.
    Packed { ptr: Value },
    /// Row stride `rs`, column stride `cs` (elements).
    Strided { ptr: Value, rs: i64, cs: i64 },
}

/// How a tile reads B.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BTile {
    /// `[k][NR]` packed panel.
    Packed { ptr: Value },
    /// Row stride `rs` (elements), unit column stride.
    Strided { ptr: Value, rs: i64, padded: bool },
}

/// Bias added after scaling: `bias(r, c)` at `ptr + (r·rs + c·cs)·4`, times `beta`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BiasTile {
    pub ptr: Value,
    pub rs: i64,
    pub cs: i64,
    pub beta: f32,
}

/// What happens to the accumulators before the store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Epilogue {
    /// Scale of the product.
    pub alpha: f32,
    /// Optional bias.
    pub bias: Option<BiasTile>,
}

/// Where the tile is stored: `C[r, c]` at `ptr + (r·ldc + c)·4`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CTile {
    pub ptr: Value,
    pub ldc: i64,
}

/// Loads `ty` at `base + off` bytes, folding `off` into the instruction when it fits.
pub(crate) fn load_off(cx: &mut KernelCx, ty: types::Type, base: Value, off: i64) -> Value {
    match i32::try_from(off) {
        Ok(o) => cx.load(ty, base, o),
        Err(_) => {
            let a = cx.b.ins().iadd_imm_s(base, off);
            cx.load(ty, a, 0)
        }
    }
}

/// Stores `v` at `base + off` bytes.
pub(crate) fn store_off(cx: &mut KernelCx, v: Value, base: Value, off: i64) {
    match i32::try_from(off) {
        Ok(o) => cx.store(v, base, o),
        Err(_) => {
            let a = cx.b.ins().iadd_imm_s(base, off);
            cx.store(v, a, 0)
        }
    }
}

/// Runs `step(cx, s, ptrs)` for `s` in `0..k`, unrolled by [`UNROLL`]: `ptrs[i]` is the
/// current value of pointer `i`, which advances by `strides[i]` bytes per step (the step
/// itself adds `s_in_group · stride` as an immediate offset; `s_in_group` is passed).
fn k_loop(cx: &mut KernelCx, k: usize, ptrs: &[(Value, i64)], step: &mut dyn FnMut(&mut KernelCx, i64, &[Value])) {
    let ptr_ty = cx.ptr_ty();
    let vars: Vec<Variable> = ptrs
        .iter()
        .map(|&(p, _)| {
            let v = cx.b.declare_var(ptr_ty);
            cx.b.def_var(v, p);
            v
        })
        .collect();
    let mut group = |cx: &mut KernelCx, n: usize| {
        let cur: Vec<Value> = vars.iter().map(|&v| cx.b.use_var(v)).collect();
        for s in 0..n {
            step(cx, s as i64, &cur);
        }
        for ((&v, &c), &(_, stride)) in vars.iter().zip(&cur).zip(ptrs) {
            let next = cx.b.ins().iadd_imm_s(c, stride * n as i64);
            cx.b.def_var(v, next);
        }
    };
    let iters = (k / UNROLL) as i64;
    if iters > 0 {
        cx.for_static(0, iters, 1, |cx, _| group(cx, UNROLL));
    }
    if !k.is_multiple_of(UNROLL) {
        group(cx, k % UNROLL);
    }
}

/// `splat` of lane `lane` of an `f32x4` by a 32-bit lane shuffle.
fn splat_lane(cx: &mut KernelCx, v: Value, lane: u8) -> Value {
    let flags = MemFlagsData::new().with_endianness(Endianness::Little);
    let bytes = cx.b.ins().bitcast(types::I8X16, flags, v);
    let mask: Vec<u8> = (0..16).map(|i| lane * 4 + (i % 4)).collect();
    let imm: Immediate = cx.b.func.dfg.immediates.push(ConstantData::from(mask));
    let s = cx.b.ins().shuffle(bytes, bytes, imm);
    cx.b.ins().bitcast(types::F32X4, flags, s)
}

/// Emits one tile of `mr ≤ 4` rows × `cols ≤ 8` columns with reduction length `k`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_tile(
    cx: &mut KernelCx,
    k: usize,
    mr: usize,
    cols: usize,
    a: ATile,
    b: BTile,
    c: CTile,
    ep: &Epilogue,
) {
    debug_assert!((1..=MR).contains(&mr) && (1..=NR).contains(&cols));
    let over_read_ok = match b {
        BTile::Packed { .. } => true,
        BTile::Strided { padded, .. } => padded,
    };
    let vec_cols = if over_read_ok { cols } else { cols / 4 * 4 };
    if vec_cols > 0 {
        emit_vector_tile(cx, k, mr, vec_cols, a, b, c, ep);
    }
    for col in vec_cols..cols {
        emit_scalar_column(cx, k, mr, col, a, b, c, ep);
    }
}

fn a_strides(a: ATile) -> (Value, i64) {
    match a {
        ATile::Packed { ptr } => (ptr, (MR * 4) as i64),
        ATile::Strided { ptr, cs, .. } => (ptr, cs * 4),
    }
}

fn b_strides(b: BTile) -> (Value, i64) {
    match b {
        BTile::Packed { ptr } => (ptr, (NR * 4) as i64),
        BTile::Strided { ptr, rs, .. } => (ptr, rs * 4),
    }
}

/// Byte offset of row `r` of A at step `s` (relative to the current A pointer).
fn a_offset(a: ATile, r: usize, s: i64) -> i64 {
    match a {
        ATile::Packed { .. } => s * (MR * 4) as i64 + r as i64 * 4,
        ATile::Strided { rs, cs, .. } => (s * cs + r as i64 * rs) * 4,
    }
}

#[allow(clippy::too_many_arguments)]
fn emit_vector_tile(cx: &mut KernelCx, k: usize, mr: usize, cols: usize, a: ATile, b: BTile, c: CTile, ep: &Epilogue) {
    let nv = cols.div_ceil(4);
    let zero = cx.fconst(types::F32X4, 0.0);
    let acc: Vec<Variable> = (0..mr * nv)
        .map(|_| {
            let v = cx.b.declare_var(types::F32X4);
            cx.b.def_var(v, zero);
            v
        })
        .collect();
    let (a_ptr, a_step) = a_strides(a);
    let (b_ptr, b_step) = b_strides(b);
    let mut step = |cx: &mut KernelCx, s: i64, p: &[Value]| {
        let bv: Vec<Value> = (0..nv).map(|v| load_off(cx, types::F32X4, p[1], s * b_step + v as i64 * 16)).collect();
        let packed_vec = match a {
            ATile::Packed { .. } if A_BROADCAST_BY_SHUFFLE => {
                Some(load_off(cx, types::F32X4, p[0], s * (MR * 4) as i64))
            }
            _ => None,
        };
        for r in 0..mr {
            let ar = match packed_vec {
                Some(pv) => splat_lane(cx, pv, r as u8),
                None => {
                    let x = load_off(cx, types::F32, p[0], a_offset(a, r, s));
                    cx.b.ins().splat(types::F32X4, x)
                }
            };
            for (v, &bvv) in bv.iter().enumerate() {
                let cur = cx.b.use_var(acc[r * nv + v]);
                let nx = cx.mul_add(ar, bvv, cur);
                cx.b.def_var(acc[r * nv + v], nx);
            }
        }
    };
    k_loop(cx, k, &[(a_ptr, a_step), (b_ptr, b_step)], &mut step);
    for r in 0..mr {
        for v in 0..nv {
            let x = cx.b.use_var(acc[r * nv + v]);
            let lanes = (cols - v * 4).min(4);
            let x = scale(cx, x, ep.alpha, types::F32X4);
            let row_off = r as i64 * c.ldc * 4;
            if lanes == 4 {
                let x = match ep.bias {
                    Some(bt) => {
                        let off = (r as i64 * bt.rs + (v as i64 * 4) * bt.cs) * 4;
                        let bvec = if bt.cs == 0 {
                            let s = load_off(cx, types::F32, bt.ptr, off);
                            cx.b.ins().splat(types::F32X4, s)
                        } else {
                            load_off(cx, types::F32X4, bt.ptr, off)
                        };
                        let bvec = scale(cx, bvec, bt.beta, types::F32X4);
                        cx.b.ins().fadd(x, bvec)
                    }
                    None => x,
                };
                store_off(cx, x, c.ptr, row_off + v as i64 * 16);
            } else {
                for l in 0..lanes {
                    let col = (v * 4 + l) as i64;
                    let e = cx.b.ins().extractlane(x, l as u8);
                    let e = add_scalar_bias(cx, e, ep, r as i64, col);
                    store_off(cx, e, c.ptr, row_off + col * 4);
                }
            }
        }
    }
}

fn scale(cx: &mut KernelCx, x: Value, s: f32, ty: types::Type) -> Value {
    if s == 1.0 {
        x
    } else {
        let sv = cx.fconst(ty, s);
        cx.b.ins().fmul(x, sv)
    }
}

fn add_scalar_bias(cx: &mut KernelCx, e: Value, ep: &Epilogue, r: i64, col: i64) -> Value {
    match ep.bias {
        Some(bt) => {
            let bv = load_off(cx, types::F32, bt.ptr, (r * bt.rs + col * bt.cs) * 4);
            let bv = scale(cx, bv, bt.beta, types::F32);
            cx.b.ins().fadd(e, bv)
        }
        None => e,
    }
}

#[allow(clippy::too_many_arguments)]
fn emit_scalar_column(cx: &mut KernelCx, k: usize, mr: usize, col: usize, a: ATile, b: BTile, c: CTile, ep: &Epilogue) {
    let zero = cx.fconst(types::F32, 0.0);
    let acc: Vec<Variable> = (0..mr)
        .map(|_| {
            let v = cx.b.declare_var(types::F32);
            cx.b.def_var(v, zero);
            v
        })
        .collect();
    let (a_ptr, a_step) = a_strides(a);
    let (b_ptr, b_step) = b_strides(b);
    let col_off = col as i64 * 4;
    let mut step = |cx: &mut KernelCx, s: i64, p: &[Value]| {
        let bv = load_off(cx, types::F32, p[1], s * b_step + col_off);
        for (r, &var) in acc.iter().enumerate() {
            let av = load_off(cx, types::F32, p[0], a_offset(a, r, s));
            let cur = cx.b.use_var(var);
            let nx = cx.mul_add(av, bv, cur);
            cx.b.def_var(var, nx);
        }
    };
    k_loop(cx, k, &[(a_ptr, a_step), (b_ptr, b_step)], &mut step);
    for (r, &var) in acc.iter().enumerate() {
        let x = cx.b.use_var(var);
        let x = scale(cx, x, ep.alpha, types::F32);
        let x = add_scalar_bias(cx, x, ep, r as i64, col as i64);
        store_off(cx, x, c.ptr, (r as i64 * c.ldc + col as i64) * 4);
    }
}

/// A B operand for a whole block of columns; [`BBlock::at`] gives the tile at a column.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BBlock {
    /// Packed panels `[n/8][k][8]` starting at `ptr` (column 0 of the block is a panel start).
    Packed { ptr: Value, k: usize },
    /// `B[k, c]` at `ptr + (k·rs + c)·4`.
    Strided { ptr: Value, rs: i64, padded: bool },
}

impl BBlock {
    fn at(self, cx: &mut KernelCx, n: Value) -> BTile {
        match self {
            BBlock::Packed { ptr, k } => {
                // Panel n / 8 starts at (n / 8) · k · 8 · 4 = n · k · 4 bytes (n is a multiple of 8).
                let off = cx.b.ins().imul_imm_s(n, (k * 4) as i64);
                BTile::Packed { ptr: cx.b.ins().iadd(ptr, off) }
            }
            BBlock::Strided { ptr, rs, padded } => {
                let off = cx.b.ins().imul_imm_s(n, 4);
                BTile::Strided { ptr: cx.b.ins().iadd(ptr, off), rs, padded }
            }
        }
    }
}

/// Emits the tiles of rows `[0, mr)` × columns `[0, width)` of a block (`width` static):
/// `width / 8` full panels in a loop, then one tail tile of `width % 8` columns. `c` and
/// `ep.bias` address element `(0, 0)` of the block.
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_columns(
    cx: &mut KernelCx,
    k: usize,
    mr: usize,
    width: usize,
    a: ATile,
    b: BBlock,
    c: CTile,
    ep: &Epilogue,
) {
    let at = |cx: &mut KernelCx, n: Value, cols: usize| {
        let bt = b.at(cx, n);
        let coff = cx.b.ins().imul_imm_s(n, 4);
        let cp = cx.b.ins().iadd(c.ptr, coff);
        let mut ep2 = *ep;
        if let Some(bias) = &mut ep2.bias {
            let boff = cx.b.ins().imul_imm_s(n, bias.cs * 4);
            bias.ptr = cx.b.ins().iadd(bias.ptr, boff);
        }
        emit_tile(cx, k, mr, cols, a, bt, CTile { ptr: cp, ldc: c.ldc }, &ep2);
    };
    let full = (width / NR) as i64;
    cx.for_static(0, full, 1, |cx, p| {
        let n = cx.b.ins().imul_imm_s(p, NR as i64);
        at(cx, n, NR);
    });
    if !width.is_multiple_of(NR) {
        let n = cx.iconst(full * NR as i64);
        at(cx, n, width % NR);
    }
}
