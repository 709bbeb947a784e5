//! The AVX-512 VNNI int8 GEMM microkernel: the raw `i32` dot products of one 4-row tile
//! against a block of column panels, 512-bit `vpdpbusd` (64 multiply-adds per instruction).
//!
//! Register tile 4 rows × 64 columns: 16 `zmm` accumulators, four 64-byte B loads (one per
//! 16-column panel) and four 32-bit A broadcasts per `k` group of 4, i.e. 16 `vpdpbusd` per
//! 8 loads. Sixteen independent accumulators cover `vpdpbusd`'s latency at Zen 4's one
//! 512-bit VNNI instruction per cycle; the A tile (`16·⌈K/4⌉` bytes) stays in L1 while the
//! kernel sweeps the block's panels. Design after oneDNN's `brgemm` AVX-512 VNNI kernels and
//! MLAS `QgemmU8S8KernelAvx512Vnni` (broadcast the row operand's 4-byte groups, stream
//! 16-column × 4-`k` panels).
//!
//! The epilogue (zero-point corrections, bias, requantization) stays in generated code
//! ([`crate::kernels::qgemm::emit_epilogue`]), which reads the accumulators this kernel
//! stores; so both paths share one epilogue and are bit-identical (integer sums are exact in
//! any order).

use std::arch::x86_64::*;

use super::QgemmArgs;

/// Columns per panel (one `zmm` of `i32` lanes).
pub(crate) const NR: usize = 16;
/// Rows of the broadcast tile.
pub(crate) const MR: usize = 4;
/// Panels per register tile.
const NV_MAX: usize = 4;

/// Mask of the first `n` lanes (`n <= 16`).
#[inline(always)]
fn lanes(n: usize) -> __mmask16 {
    if n >= 16 {
        0xFFFF
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// One register tile: `C[r, 0..cols] = Σ_g Σ_i A[g][r][i] · P_v[g][c][i]` for the `NV` panels
/// starting at `b` (`cols <= 16·NV`).
///
/// `A_SIGNED`: the row tile holds the `i8` operand and the panels the `u8` one (else the
/// reverse), as `vpdpbusd` multiplies its first source as `u8` by its second as `i8`.
///
/// # Safety
/// The CPU supports AVX-512F and AVX-512VNNI; `a` holds `groups · 16` readable bytes; each of
/// the `NV` panels (`b + v·b_panel`) holds `groups · 64` readable bytes; `C(r, j) =
/// c[r·ldc + j]` is writable for `r < 4`, `j < cols`.
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn tile<const NV: usize, const A_SIGNED: bool>(
    a: *const u8,
    b: *const u8,
    b_panel: usize,
    groups: usize,
    c: *mut i32,
    ldc: usize,
    cols: usize,
) {
    let mut acc = [[_mm512_setzero_si512(); NV]; MR];
    for g in 0..groups {
        let mut bv = [_mm512_setzero_si512(); NV];
        for (v, x) in bv.iter_mut().enumerate() {
            // SAFETY: group `g` of panel `v` is 64 readable bytes by the contract.
            *x = unsafe { _mm512_loadu_si512(b.add(v * b_panel + g * 64).cast()) };
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: the word of row `r` in group `g` is readable by the contract.
            let w = unsafe { a.add(g * 16 + r * 4).cast::<i32>().read_unaligned() };
            let av = _mm512_set1_epi32(w);
            for (x, &p) in row.iter_mut().zip(&bv) {
                *x = if A_SIGNED { _mm512_dpbusd_epi32(*x, p, av) } else { _mm512_dpbusd_epi32(*x, av, p) };
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, &x) in row.iter().enumerate() {
            let m = lanes(cols.saturating_sub(16 * v));
            // SAFETY: lanes under the mask are columns `< cols` of row `r` (writable by the
            // contract); masked-off lanes are not accessed.
            unsafe { _mm512_mask_storeu_epi32(c.add(r * ldc + 16 * v).cast(), m, x) };
        }
    }
}

/// The kernel over [`QgemmArgs`]: 64-column register tiles, then the narrower tail.
///
/// # Safety
/// As [`tile`] for every tile: the CPU supports AVX-512F + VNNI and `args` satisfies the
/// [`QgemmArgs`] contract.
#[target_feature(enable = "avx512f,avx512vnni")]
pub(crate) unsafe fn qgemm(args: &QgemmArgs) {
    let (n, groups) = (args.n.max(0) as usize, args.groups.max(0) as usize);
    let (b_panel, ldc) = (args.b_panel as usize, args.ldc as usize);
    let a_signed = args.flags & QgemmArgs::A_SIGNED != 0;
    let mut j = 0;
    while j < n {
        let cols = (n - j).min(NR * NV_MAX);
        // SAFETY: panel `j / 16` and the following `⌈cols/16⌉` panels exist and columns
        // `j..j + cols` of C are writable by the contract.
        let (b, c) = unsafe { (args.b.add((j / NR) * b_panel), args.c.add(j)) };
        // SAFETY: forwarded contract for this tile.
        unsafe {
            match (cols.div_ceil(NR), a_signed) {
                (4, false) => tile::<4, false>(args.a, b, b_panel, groups, c, ldc, cols),
                (3, false) => tile::<3, false>(args.a, b, b_panel, groups, c, ldc, cols),
                (2, false) => tile::<2, false>(args.a, b, b_panel, groups, c, ldc, cols),
                (_, false) => tile::<1, false>(args.a, b, b_panel, groups, c, ldc, cols),
                (4, true) => tile::<4, true>(args.a, b, b_panel, groups, c, ldc, cols),
                (3, true) => tile::<3, true>(args.a, b, b_panel, groups, c, ldc, cols),
                (2, true) => tile::<2, true>(args.a, b, b_panel, groups, c, ldc, cols),
                (_, true) => tile::<1, true>(args.a, b, b_panel, groups, c, ldc, cols),
            }
        }
        j += cols;
    }
}
