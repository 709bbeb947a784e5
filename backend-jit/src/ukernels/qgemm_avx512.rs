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
//! Epilogue: for 8-bit outputs with the f32-multiplier requantization (the common case) the
//! kernel applies it to each 16-lane accumulator itself ([`QgemmArgs::REQUANT`], MLAS
//! `MlasRequantizeOutput`: the same instruction sequence as the generated `RequantF32`
//! epilogue, so results are bit-identical, and 4× fewer instructions than the 128-bit one);
//! other outputs (`i32`, `f32`, `i16`, fixed point) get the raw `i32` block, which the
//! generated epilogue (`kernels/qgemm.rs`) reads. Integer sums are exact in any order.

use std::arch::x86_64::*;

use super::mask16;

use super::QgemmArgs;

/// Columns per panel (one `zmm` of `i32` lanes).
pub(crate) const NR: usize = 16;
/// Rows of the broadcast tile.
pub(crate) const MR: usize = 4;
/// Panels per register tile.
const NV_MAX: usize = 4;

/// One register tile: columns `j..j + cols` (`cols <= 16·NV`) of the call, rows 0..4:
/// `C[r, c] = Σ_g Σ_i A[g][r][i] · P[g][c][i]` over the `NV` panels from `j / 16`, stored raw
/// to `C` or requantized to `y` ([`QgemmArgs::REQUANT`]).
///
/// `A_SIGNED`: the row tile holds the `i8` operand and the panels the `u8` one (else the
/// reverse), as `vpdpbusd` multiplies its first source as `u8` by its second as `i8`.
///
/// # Safety
/// The CPU supports AVX-512F and AVX-512VNNI; `args` satisfies the [`QgemmArgs`] contract for
/// columns `j..j + cols`.
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn tile<const NV: usize, const A_SIGNED: bool>(args: &QgemmArgs, j: usize, cols: usize) {
    let (groups, b_panel) = (args.groups.max(0) as usize, args.b_panel as usize);
    // SAFETY: panel `j / 16` exists by the contract.
    let b = unsafe { args.b.add((j / NR) * b_panel) };
    let a = args.a;
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
    if args.flags & QgemmArgs::REQUANT != 0 {
        let rows = (args.rows.clamp(0, MR as i64)) as usize;
        for (r, row) in acc.iter().enumerate().take(rows) {
            for (v, &x) in row.iter().enumerate() {
                let n = cols.saturating_sub(16 * v).min(16);
                // SAFETY: forwarded contract for row `r`, columns `j + 16v ..+ n`.
                unsafe { requant_store(args, x, r, j + 16 * v, n) };
            }
        }
        return;
    }
    let ldc = args.ldc as usize;
    for (r, row) in acc.iter().enumerate() {
        for (v, &x) in row.iter().enumerate() {
            let m = mask16(cols.saturating_sub(16 * v));
            // SAFETY: lanes under the mask are columns `< cols` of row `r` (writable by the
            // contract); masked-off lanes are not accessed.
            unsafe { _mm512_mask_storeu_epi32(args.c.add(r * ldc + j + 16 * v).cast(), m, x) };
        }
    }
}

/// The fused requantization of one 16-lane vector `x` (row `r`, columns `j..j + n`): exactly
/// the CLIF `RequantF32` epilogue (wrapping `i32` corrections, `cvtdq2ps`, `mulps`, `maxps`
/// then `minps` against `lo − zp`/`hi − zp`, round half to even (`cvtps2dq` under the default
/// MXCSR), `+ zp`), stored as `n` bytes.
///
/// # Safety
/// AVX-512F; the tables named by `args` cover row `r` and columns `j..j + n`; `y` row `r`
/// columns `j..j + n` are writable.
#[target_feature(enable = "avx512f")]
unsafe fn requant_store(args: &QgemmArgs, mut x: __m512i, r: usize, j: usize, n: usize) {
    let m = mask16(n);
    // SAFETY (all loads): entry `r` of a per-row table and entries `j..j + n` of a per-column
    // table are readable by the contract; masked-off lanes are not accessed.
    unsafe {
        if !args.rterm.is_null() {
            x = _mm512_add_epi32(x, _mm512_set1_epi32(*args.rterm.add(r)));
        }
        if !args.cterm.is_null() {
            x = _mm512_add_epi32(x, _mm512_maskz_loadu_epi32(m, args.cterm.add(j).cast()));
        }
        if !args.rz.is_null() && !args.csum.is_null() {
            let p = _mm512_mullo_epi32(
                _mm512_set1_epi32(*args.rz.add(r)),
                _mm512_maskz_loadu_epi32(m, args.csum.add(j).cast()),
            );
            x = _mm512_sub_epi32(x, p);
        }
        if !args.cz.is_null() && !args.rsum.is_null() {
            let p = _mm512_mullo_epi32(
                _mm512_maskz_loadu_epi32(m, args.cz.add(j).cast()),
                _mm512_set1_epi32(*args.rsum.add(r)),
            );
            x = _mm512_sub_epi32(x, p);
        }
        let scale = if args.flags & QgemmArgs::SCALE_PER_COL != 0 {
            _mm512_maskz_loadu_ps(m, args.scale.add(j).cast())
        } else {
            _mm512_set1_ps(*args.scale.add(r))
        };
        let f = _mm512_mul_ps(_mm512_cvtepi32_ps(x), scale);
        let f = _mm512_max_ps(f, _mm512_set1_ps((args.lo - args.zp) as f32));
        let f = _mm512_min_ps(f, _mm512_set1_ps((args.hi - args.zp) as f32));
        let q = _mm512_add_epi32(_mm512_cvtps_epi32(f), _mm512_set1_epi32(args.zp as i32));
        _mm512_mask_cvtepi32_storeu_epi8(args.y.add(r * args.ldy as usize + j).cast(), m, q);
    }
}

/// The kernel over [`QgemmArgs`]: 64-column register tiles, then the narrower tail.
///
/// # Safety
/// As [`tile`] for every tile: the CPU supports AVX-512F + VNNI and `args` satisfies the
/// [`QgemmArgs`] contract.
#[target_feature(enable = "avx512f,avx512vnni")]
pub(crate) unsafe fn qgemm(args: &QgemmArgs) {
    let n = args.n.max(0) as usize;
    let a_signed = args.flags & QgemmArgs::A_SIGNED != 0;
    let mut j = 0;
    while j < n {
        let cols = (n - j).min(NR * NV_MAX);
        // SAFETY: forwarded contract for this tile.
        unsafe {
            match (cols.div_ceil(NR), a_signed) {
                (4, false) => tile::<4, false>(args, j, cols),
                (3, false) => tile::<3, false>(args, j, cols),
                (2, false) => tile::<2, false>(args, j, cols),
                (_, false) => tile::<1, false>(args, j, cols),
                (4, true) => tile::<4, true>(args, j, cols),
                (3, true) => tile::<3, true>(args, j, cols),
                (2, true) => tile::<2, true>(args, j, cols),
                (_, true) => tile::<1, true>(args, j, cols),
            }
        }
        j += cols;
    }
}
