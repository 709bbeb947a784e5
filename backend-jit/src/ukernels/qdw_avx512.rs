//! The AVX-512 VNNI depthwise int8 convolution microkernel: one channel, 16 output pixels per
//! vector, one `vpmovzxwd` + one `vpdpwssd` per tap, then the f32-multiplier requantization
//! (MLAS `MlasRequantizeOutput`, the same sequence as the generated `RequantF32` epilogue) and
//! a masked byte store.
//!
//! Input: the channel's zero-point-corrected plane `P` (`i16`, `x − zx`, padding 0, columns
//! split by phase modulo the horizontal stride) that the generated code builds in scratch
//! (`kernels/qconv_dw.rs`, layout `[hp][sw][wq]`): output pixel `(r, o)` and tap `(ki, kj)`
//! read `P[r·sh + ki·dh][(kj·dw) mod sw][o + (kj·dw) div sw]`, so 16 consecutive outputs read
//! 16 consecutive `i16`. Zero-extended to 32-bit lanes, each holds `(p, 0)` as an `i16` pair,
//! and `vpdpwssd` with the tap's weight pair `(w − zw, 0)` adds `p·(w − zw)` exactly
//! (`|p|, |w − zw| <= 255`).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
use super::mask16;

/// The argument block (`repr(C)`, 8-byte fields) of [`QdwArgs::SYMBOL`].
///
/// For `r < oh`, `o < ow`: `y[r·ow + o] = requant(bias + Σ_{ki<kh, kj<kw} P(r, o, ki, kj) ·
/// taps[ki·kw + kj])` with `P` as in the module docs (`wq >= 16·⌈ow/16⌉ + (kw−1)·dw div sw`,
/// every `P` row readable), `requant(x) = clamp(f32(x)·scale, lo − zp, hi − zp)` rounded half
/// to even `+ zp`, stored as a byte.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QdwArgs {
    /// The plane `P` (`i16`).
    pub p: *const i16,
    /// Per tap: `w − zw` in the low 16 bits, 0 in the high 16.
    pub taps: *const i32,
    /// The output plane (`oh × ow` bytes).
    pub y: *mut u8,
    /// The channel's requantization multiplier.
    pub scale: *const f32,
    /// The channel's `i32` bias.
    pub bias: i64,
    /// Kernel height.
    pub kh: i64,
    /// Kernel width.
    pub kw: i64,
    /// Vertical dilation.
    pub dh: i64,
    /// Horizontal dilation.
    pub dw: i64,
    /// Vertical stride.
    pub sh: i64,
    /// Horizontal stride (the number of phases of `P`).
    pub sw: i64,
    /// Columns per phase row of `P`.
    pub wq: i64,
    /// Output height.
    pub oh: i64,
    /// Output width.
    pub ow: i64,
    /// Output zero point.
    pub zp: i64,
    /// Lowest output value.
    pub lo: i64,
    /// Highest output value.
    pub hi: i64,
}

impl QdwArgs {
    /// Number of 8-byte fields.
    pub const FIELDS: usize = 17;
    /// Most taps (`kh·kw`) the kernel takes (callers use the generated kernel beyond).
    pub const MAX_TAPS: usize = 64;
    /// The symbol generated code imports.
    pub const SYMBOL: &'static str = "int8xc_qdw_avx512vnni";
}

/// The kernel (see [`QdwArgs`]).
///
/// # Safety
/// The CPU supports AVX-512F, BW and VNNI; `args` satisfies the [`QdwArgs`] contract.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(crate) unsafe fn qdw(args: &QdwArgs) {
    let u = |v: i64| v.max(0) as usize;
    let (kh, kw, dh, dw, sh, sw) = (u(args.kh), u(args.kw), u(args.dh), u(args.dw), u(args.sh), u(args.sw).max(1));
    let (wq, oh, ow) = (u(args.wq), u(args.oh), u(args.ow));
    let row = sw * wq;
    let taps = (kh * kw).min(QdwArgs::MAX_TAPS);
    // Per tap: the element offset into `P` from an output row's base, and the weight pair.
    let mut offs = [0u32; QdwArgs::MAX_TAPS];
    for (t, o) in offs.iter_mut().enumerate().take(taps) {
        let (ki, c) = (t / kw, (t % kw) * dw);
        *o = (ki * dh * row + (c % sw) * wq + c / sw) as u32;
    }
    // SAFETY (whole body): every `P` element a tap reads and every output byte written lies
    // in the buffers by the contract; masked-off lanes are not accessed.
    unsafe {
        let scale = _mm512_set1_ps(*args.scale);
        let lo = _mm512_set1_ps((args.lo - args.zp) as f32);
        let hi = _mm512_set1_ps((args.hi - args.zp) as f32);
        let zp = _mm512_set1_epi32(args.zp as i32);
        let bias = _mm512_set1_epi32(args.bias as i32);
        for r in 0..oh {
            let prow = args.p.add(r * sh * row);
            let yrow = args.y.add(r * ow);
            let mut o0 = 0;
            while o0 < ow {
                let n = (ow - o0).min(16);
                let mut acc = bias;
                let base = prow.add(o0);
                for (t, &o) in offs[..taps].iter().enumerate() {
                    let x = _mm512_cvtepu16_epi32(_mm256_loadu_si256(base.add(o as usize).cast()));
                    acc = _mm512_dpwssd_epi32(acc, x, _mm512_set1_epi32(*args.taps.add(t)));
                }
                let f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale);
                let f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
                let q = _mm512_add_epi32(_mm512_cvtps_epi32(f), zp);
                _mm512_mask_cvtepi32_storeu_epi8(yrow.add(o0).cast(), mask16(n), q);
                o0 += 16;
            }
        }
    }
}
