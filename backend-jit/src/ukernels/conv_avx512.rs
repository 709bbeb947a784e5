//! The AVX-512F f32 convolution ukernel: im2col fused into B-panel packing, then the
//! 8 × 32 GEMM tiles of [`super::sgemm_avx512`] on the panel.
//!
//! For each panel of [`NR`] = 32 consecutive output pixels (flat `oh·OW + ow` order) the
//! kernel gathers the panel's receptive fields into a `[K][NR]` buffer (`K = C·kH·kW`, row
//! `k = (c·kH + ki)·kW + kj`, the order of the packed weights), which stays in L1/L2, and runs
//! every 8-row tile of the packed weights over it. This is MLAS' and BLIS' "pack B per
//! panel" applied to the im2col matrix: the full im2col matrix is never written to memory,
//! and the gather itself is vectorized: unit-stride rows are masked 16-lane loads (the masks
//! cut the padding, whose zeros come from `maskz`), stride-2 rows are two masked loads and one
//! `vpermt2ps` picking the even lanes; other strides fall back to scalar copies.

use std::arch::x86_64::*;

use super::sgemm_avx512::{tile_dispatch, MR, NR};
use super::ConvArgs;

/// Mask of the lanes `l < min(n, 16)` whose source column `start + l` lies in `[0, w)`.
#[inline(always)]
fn valid_lanes(start: isize, w: isize, n: usize) -> __mmask16 {
    let lo = (-start).clamp(0, 16);
    let hi = (w - start).clamp(0, n.min(16) as isize);
    if hi <= lo {
        return 0;
    }
    let bits = |x: isize| if x >= 16 { 0xFFFFu32 } else { (1u32 << x) - 1 };
    (bits(hi) & !bits(lo)) as __mmask16
}

/// One run of a panel row: `len` output pixels of output row `oh` starting at column `ow0`,
/// stored at panel column `t`.
#[derive(Clone, Copy, Default)]
struct Segment {
    t: usize,
    len: usize,
    oh: usize,
    ow0: usize,
}

/// One vector step of a panel row: output lanes `out` (the first `n`) at panel column
/// `dst`, read from column `src` (relative to the source row of segment `seg`) with source
/// masks `m0`/`m1` (the lanes inside `[0, w)`; `m1` covers the second source vector of a
/// stride-2 step).
#[derive(Clone, Copy, Default)]
struct Chunk {
    seg: usize,
    dst: usize,
    src: isize,
    n: usize,
    m0: __mmask16,
    m1: __mmask16,
}

/// The vector steps of kernel column `kj` for the panel's `segs` (at most 2 per segment).
fn chunks_of(a: &ConvArgs, kj: usize, segs: &[Segment], out: &mut [Chunk; 2 * NR]) -> usize {
    let (w, sw) = (a.w as isize, a.sw as isize);
    let mut count = 0;
    for (si, s) in segs.iter().enumerate() {
        let iw0 = s.ow0 as isize * sw + (kj as isize) * a.dw as isize - a.pl as isize;
        let mut i = 0;
        while i < s.len {
            let n = (s.len - i).min(16);
            let src = iw0 + i as isize * sw;
            let (m0, m1) = if sw == 2 {
                let span = 2 * n - 1;
                (valid_lanes(src, w, span), valid_lanes(src + 16, w, span.saturating_sub(16)))
            } else {
                (valid_lanes(src, w, n), 0)
            };
            out[count] = Chunk { seg: si, dst: s.t + i, src, n, m0, m1 };
            count += 1;
            i += n;
        }
    }
    count
}

/// Gathers the panel's im2col rows `(c, ki, kj)` for every input channel `c` into `panel`
/// (row `(c·kH + ki)·kW + kj`, `NR` floats per row).
///
/// # Safety
/// AVX-512F; `x` holds the group's `c` planes of `h × w`; `panel` has `K · NR` writable
/// floats.
#[target_feature(enable = "avx512f")]
unsafe fn gather_panel(a: &ConvArgs, segs: &[Segment], panel: *mut f32) {
    let (h, w, sw) = (a.h as isize, a.w as isize, a.sw as isize);
    let (kh, kw) = (a.kh as usize, a.kw as usize);
    let hw = (a.h * a.w) as usize;
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let mut chunks = [Chunk::default(); 2 * NR];
    // Per segment: offset of its source row in a plane, or `None` in the vertical padding.
    let mut rows = [None::<isize>; NR];
    for kj in 0..kw {
        let nch = chunks_of(a, kj, segs, &mut chunks);
        for ki in 0..kh {
            for (r, s) in rows.iter_mut().zip(segs) {
                let ih = s.oh as isize * a.sh as isize + (ki * a.dh as usize) as isize - a.pt as isize;
                *r = (ih >= 0 && ih < h).then_some(ih * w);
            }
            for ci in 0..a.c as usize {
                let plane = a.x.wrapping_add(ci * hw);
                // SAFETY: row `(ci·kH + ki)·kW + kj < K` of the panel.
                let dst_row = unsafe { panel.add(((ci * kh + ki) * kw + kj) * NR) };
                for ch in &chunks[..nch] {
                    let out = if ch.n >= 16 { 0xFFFF } else { ((1u32 << ch.n) - 1) as __mmask16 };
                    // SAFETY: `dst + n <= NR` (a chunk lies inside its segment, which lies
                    // inside the panel's columns).
                    let d = unsafe { dst_row.add(ch.dst) };
                    let Some(row_off) = rows[ch.seg] else {
                        // SAFETY: as above; masked lanes only.
                        unsafe { _mm512_mask_storeu_ps(d, out, _mm512_setzero_ps()) };
                        continue;
                    };
                    let row = plane.wrapping_offset(row_off);
                    // SAFETY: the source masks keep exactly the lanes whose column lies inside
                    // row `ih` of the plane; masked-off lanes are never accessed (AVX-512 fault
                    // suppression), so out-of-row addresses are not dereferenced.
                    unsafe {
                        if sw == 1 {
                            let v = _mm512_maskz_loadu_ps(ch.m0, row.wrapping_offset(ch.src));
                            _mm512_mask_storeu_ps(d, out, v);
                        } else if sw == 2 {
                            let x0 = _mm512_maskz_loadu_ps(ch.m0, row.wrapping_offset(ch.src));
                            let x1 = _mm512_maskz_loadu_ps(ch.m1, row.wrapping_offset(ch.src + 16));
                            _mm512_mask_storeu_ps(d, out, _mm512_permutex2var_ps(x0, even, x1));
                        } else {
                            for l in 0..ch.n {
                                let col = ch.src + l as isize * sw;
                                *d.add(l) = if col >= 0 && col < w { *row.wrapping_offset(col) } else { 0.0 };
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The convolution of one group of one image over output pixels `[p0, p1)` (see
/// [`ConvArgs`]).
///
/// # Safety
/// AVX-512F and the contract of [`ConvArgs`].
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn conv(a: &ConvArgs) {
    let (kh, kw, ow) = (a.kh as usize, a.kw as usize, a.ow as usize);
    let k = a.c as usize * kh * kw;
    let (m, ohw) = (a.m as usize, (a.oh * a.ow) as usize);
    let (p0, p1) = (a.p0 as usize, a.p1 as usize);
    let mut segs = [Segment::default(); NR];
    for q in (p0..p1).step_by(NR) {
        let cols = (p1 - q).min(NR);
        let mut nseg = 0;
        let (mut t, mut oh, mut ow0) = (0, q / ow, q % ow);
        while t < cols {
            let len = (ow - ow0).min(cols - t);
            segs[nseg] = Segment { t, len, oh, ow0 };
            nseg += 1;
            t += len;
            oh += 1;
            ow0 = 0;
        }
        // SAFETY: the scratch holds `K · NR` floats and `x` the group's planes (contract).
        unsafe { gather_panel(a, &segs[..nseg], a.scratch) };
        for i0 in (0..m).step_by(MR) {
            let rows = (m - i0).min(MR);
            let bias = if a.bias.is_null() { a.bias } else { a.bias.wrapping_add(i0) };
            let c = a.y.wrapping_add(i0 * ohw + q);
            // SAFETY: the panel holds `K × cols` gathered values with row stride NR; the
            // weights are packed `[⌈m/MR⌉][K][MR]`; output rows `i0 .. i0 + rows` of pixels
            // `q .. q + cols` are inside `y` (contract).
            unsafe {
                tile_dispatch::<true>(
                    rows,
                    cols,
                    a.w_packed.wrapping_add(i0 * k),
                    0,
                    a.scratch,
                    NR,
                    k,
                    c,
                    ohw,
                    bias,
                    1,
                    0,
                )
            };
        }
    }
}
