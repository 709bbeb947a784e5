//! The AVX2 + FMA f32 GEMM microkernel: register tile [`MR`] = 6 rows × [`NR`] = 16 columns
//! (12 `ymm` accumulators, two `ymm` B rows and one broadcast A register: 15 of the 16 `ymm`).
//!
//! Design: the classic Haswell tile of BLIS (`bli_sgemm_haswell_asm_6x16`) and MLAS
//! (`SgemmKernelFma3`, 6 rows × 16 columns): per `k` step two 8-lane loads of B, six
//! `vbroadcastss` of A, twelve FMAs.
//!
//! Edges: a column tile narrower than 16 reads B and writes C through `vmaskmovps` (nothing
//! past the last column is touched); the last row tile is a narrower instantiation.

use std::arch::x86_64::*;

use super::SgemmArgs;

/// Rows of the register tile (and of the packed A tiles this kernel reads).
pub(crate) const MR: usize = 6;
/// Columns of the register tile (two 8-lane vectors).
pub(crate) const NR: usize = 16;

/// Lane mask (all bits set in lane `i < n`) of the 8 lanes starting at column `first`.
#[inline(always)]
fn lanes(cols: usize, first: usize) -> __m256i {
    let n = cols.saturating_sub(first).min(8) as i32;
    // SAFETY: plain register operations (AVX is implied by the callers' `avx2`).
    unsafe { _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)) }
}

/// One register tile, as the AVX-512 `tile` (see there) with 8-lane vectors; `FULL` means
/// `cols == 16` (unmasked loads and stores).
///
/// # Safety
/// The CPU supports AVX2 and FMA; the operands satisfy the contract of the AVX-512 tile.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const ROWS: usize, const NV: usize, const PACKED: bool, const FULL: bool>(
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
    let mask = [lanes(cols, 0), lanes(cols, 8)];
    let mut acc = [[_mm256_setzero_ps(); NV]; ROWS];
    let mut bp = b;
    let mut ap = a;
    for _ in 0..k {
        let mut bv = [_mm256_setzero_ps(); NV];
        for (v, x) in bv.iter_mut().enumerate() {
            // SAFETY: columns `< cols` of row `p` are readable; masked-off lanes are not read.
            *x = unsafe {
                if FULL {
                    _mm256_loadu_ps(bp.add(8 * v))
                } else {
                    _mm256_maskload_ps(bp.add(8 * v), mask[v])
                }
            };
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
            let av = _mm256_set1_ps(x);
            for v in 0..NV {
                row[v] = _mm256_fmadd_ps(av, bv[v], row[v]);
            }
        }
        bp = bp.wrapping_add(ldb);
        ap = ap.wrapping_add(if PACKED { MR } else { 1 });
    }
    for (r, row) in acc.iter().enumerate() {
        for v in 0..NV {
            let mut x = row[v];
            if !bias.is_null() {
                let bptr = bias.wrapping_add(r * bias_rs + 8 * v * bias_cs);
                // SAFETY: bias(r, j) for j < cols is readable (only bias(r, 0) when
                // `bias_cs == 0`); masked-off lanes are not read.
                let bv = unsafe {
                    if bias_cs == 0 {
                        _mm256_set1_ps(*bptr)
                    } else if FULL {
                        _mm256_loadu_ps(bptr)
                    } else {
                        _mm256_maskload_ps(bptr, mask[v])
                    }
                };
                x = _mm256_add_ps(x, bv);
            }
            // SAFETY: C(r, j) for j < cols is writable; masked-off lanes are not written.
            unsafe {
                let p = c.add(r * ldc + 8 * v);
                if FULL {
                    _mm256_storeu_ps(p, x)
                } else {
                    _mm256_maskstore_ps(p, mask[v], x)
                }
            }
        }
    }
}

/// Calls the `tile` instantiation for `rows` (1..=MR) and `cols` (1..=NR).
///
/// # Safety
/// As for [`tile`] with `ROWS = rows`.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_dispatch<const PACKED: bool>(
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
                if cols == NR {
                    tile::<$r, 2, PACKED, true>(a, lda, b, ldb, k, c, ldc, cols, bias, brs, bcs)
                } else if cols > 8 {
                    tile::<$r, 2, PACKED, false>(a, lda, b, ldb, k, c, ldc, cols, bias, brs, bcs)
                } else {
                    tile::<$r, 1, PACKED, false>(a, lda, b, ldb, k, c, ldc, cols, bias, brs, bcs)
                }
            }
        };
    }
    match rows {
        6 => go!(6),
        5 => go!(5),
        4 => go!(4),
        3 => go!(3),
        2 => go!(2),
        _ => go!(1),
    }
}

/// `C = A·B (+ bias)` over the block `args` describes: column panels of [`NR`] outermost,
/// row tiles of [`MR`] inside (as the AVX-512 kernel).
///
/// # Safety
/// The CPU supports AVX2 and FMA and `args` satisfies the contract of [`SgemmArgs`] for
/// `MR = 6`, `NR = 16`.
#[target_feature(enable = "avx2,fma")]
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
            // SAFETY: the sub-tile lies inside the block `args` describes, so the contract of
            // `SgemmArgs` gives the one of `tile`.
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
