//! The AVX-512F f32 GEMM microkernel: register tile [`MR`] = 8 rows × [`NR`] = 32 columns
//! (16 `zmm` accumulators, two `zmm` B rows and one embedded-broadcast A element per FMA).
//!
//! Design (after MLAS `SgemmKernelAvx512F` and BLIS' `bli_sgemm_skx_asm_32x12`): per `k`
//! step the tile loads two 16-lane rows of B and broadcasts each of its 8 A elements straight
//! from memory into the FMA (`vfmadd231ps zmm, zmm, [a]{1to16}`), so one `k` step is 16 FMAs,
//! 2 vector loads and 8 scalar broadcasts. 16 independent accumulators cover the 4-cycle FMA
//! latency of Zen 4's two 256-bit pipes (which retire one 512-bit FMA per cycle). Measured on
//! Zen 4 (one core, B and A L1/L2-resident, `benches/sgemm.rs`): 8×32 beat 12×32 and 6×64 on
//! the conv shapes of the fixture models (M = 16…96, multiples of 8) and matched them on
//! square GEMMs.
//!
//! Edges are handled here, not by the caller: columns past `n` are masked (`k`-masks on the
//! B loads and the C stores, so nothing past the last column is read or written) and the last
//! row tile is a narrower instantiation of the same code (`ROWS < MR`).

use std::arch::x86_64::*;

use super::mask16;

use super::SgemmArgs;

/// Rows of the register tile (and of the packed A tiles this kernel reads).
pub(crate) const MR: usize = 8;
/// Columns of the register tile (two 16-lane vectors).
pub(crate) const NR: usize = 32;

/// One register tile: `C[0..ROWS, 0..cols] = A[0..ROWS, 0..k] · B[0..k, 0..cols] (+ bias)`
/// with `NV` 16-lane column vectors (`cols <= 16 · NV`).
///
/// `a` addresses A(0, 0) of the tile: packed (`[k][MR]`) when `PACKED`, else A(r, p) is
/// `a[r·lda + p]`. B(p, j) is `b[p·ldb + j]`; C(r, j) is `c[r·ldc + j]`.
///
/// # Safety
/// The CPU supports AVX-512F; every element named above for `r < ROWS`, `p < k`, `j < cols`
/// is readable (A, B, bias) or writable (C); the bias (when not null) as in [`SgemmArgs`].
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const ROWS: usize, const NV: usize, const PACKED: bool>(
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    k: usize,
    c: *mut f32,
    ldc: usize,
    cols: usize,
    bias: *const f32,
    bias_rs: usize,
    bias_cs: usize,
) {
    let mask = [mask16(cols), mask16(cols.saturating_sub(16))];
    let mut acc = [[_mm512_setzero_ps(); NV]; ROWS];
    let mut bp = b;
    let mut ap = a;
    for _ in 0..k {
        let mut bv = [_mm512_setzero_ps(); NV];
        for (v, x) in bv.iter_mut().enumerate() {
            // SAFETY: lanes under the mask are columns `< cols` of row `p` (readable by the
            // contract); masked-off lanes are not accessed.
            *x = unsafe { _mm512_maskz_loadu_ps(mask[v], bp.add(16 * v)) };
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: A(r, p) is readable by the contract.
            let x = unsafe {
                if PACKED {
                    *ap.add(r)
                } else {
                    *ap.add(r * lda)
                }
            };
            let av = _mm512_set1_ps(x);
            for v in 0..NV {
                row[v] = _mm512_fmadd_ps(av, bv[v], row[v]);
            }
        }
        bp = bp.wrapping_add(ldb);
        ap = ap.wrapping_add(if PACKED { MR } else { 1 });
    }
    for (r, row) in acc.iter().enumerate() {
        for v in 0..NV {
            let mut x = row[v];
            if !bias.is_null() {
                let bptr = bias.wrapping_add(r * bias_rs + 16 * v * bias_cs);
                // SAFETY: bias(r, j) for j < cols is readable by the contract; with
                // `bias_cs == 0` only bias(r, 0) is read.
                let bv = unsafe {
                    if bias_cs == 0 {
                        _mm512_set1_ps(*bptr)
                    } else {
                        _mm512_maskz_loadu_ps(mask[v], bptr)
                    }
                };
                x = _mm512_add_ps(x, bv);
            }
            // SAFETY: C(r, j) for j < cols is writable; masked-off lanes are not accessed.
            unsafe { _mm512_mask_storeu_ps(c.add(r * ldc + 16 * v), mask[v], x) };
        }
    }
}

/// Calls the `tile` instantiation for `rows` (1..=MR) and `cols` (1..=NR).
///
/// # Safety
/// As for [`tile`] with `ROWS = rows`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn tile_dispatch<const PACKED: bool>(
    rows: usize,
    cols: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    k: usize,
    c: *mut f32,
    ldc: usize,
    bias: *const f32,
    brs: usize,
    bcs: usize,
) {
    macro_rules! go {
        ($r:literal) => {
            // SAFETY: forwarded contract.
            unsafe {
                if cols > 16 {
                    tile::<$r, 2, PACKED>(a, lda, b, ldb, k, c, ldc, cols, bias, brs, bcs)
                } else {
                    tile::<$r, 1, PACKED>(a, lda, b, ldb, k, c, ldc, cols, bias, brs, bcs)
                }
            }
        };
    }
    match rows {
        8 => go!(8),
        7 => go!(7),
        6 => go!(6),
        5 => go!(5),
        4 => go!(4),
        3 => go!(3),
        2 => go!(2),
        _ => go!(1),
    }
}

/// `C = A·B (+ bias)` over the whole `m × n` block described by `args` (see [`SgemmArgs`]):
/// column panels of [`NR`] outermost (each B panel stays in L1/L2 while every row tile of A
/// streams past it), row tiles of [`MR`] inside.
///
/// # Safety
/// The CPU supports AVX-512F and `args` satisfies the contract of [`SgemmArgs`] for
/// `MR = 8`, `NR = 32`.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn sgemm(args: &SgemmArgs) {
    let (m, n, k) = (args.m as usize, args.n as usize, args.k as usize);
    let packed = args.flags & SgemmArgs::A_PACKED != 0;
    let (lda, ldb, ldc) = (args.lda as usize, args.ldb as usize, args.ldc as usize);
    let (brs, bcs) = (args.bias_rs as usize, args.bias_cs as usize);
    for j0 in (0..n).step_by(NR) {
        let cols = (n - j0).min(NR);
        let b = args.b.wrapping_add((j0 / NR) * args.b_panel as usize);
        for i0 in (0..m).step_by(MR) {
            let rows = (m - i0).min(MR);
            let c = args.c.wrapping_add(i0 * ldc + j0);
            let bias = if args.bias.is_null() { args.bias } else { args.bias.wrapping_add(i0 * brs + j0 * bcs) };
            // SAFETY: the sub-tile lies inside the block `args` describes (rows/cols clipped
            // to m/n), so the contract of `SgemmArgs` gives the one of `tile`.
            unsafe {
                if packed {
                    let a = args.a.wrapping_add(i0 * k);
                    tile_dispatch::<true>(rows, cols, a, 0, b, ldb, k, c, ldc, bias, brs, bcs);
                } else {
                    let a = args.a.wrapping_add(i0 * lda);
                    tile_dispatch::<false>(rows, cols, a, lda, b, ldb, k, c, ldc, bias, brs, bcs);
                }
            }
        }
    }
}
