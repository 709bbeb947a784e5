//! Precompiled microkernels ("ukernels") that generated code calls for the innermost GEMM
//! tiles, where Cranelift cannot reach the machine's peak (it has 128-bit vectors only).
//!
//! The scheme follows IREE's ukernels: plain Rust functions with a C ABI, compiled for
//! several ISA levels (`#[target_feature]`), one of which is chosen once per process from the
//! CPU's features ([`CpuFeatures::host`]) and bound into the JIT module by symbol
//! (`JITBuilder::symbol` + `Linkage::Import`). The Cranelift loop nest around the call (work
//! items, batch and group offsets, im2col into scratch) stays generated code; the ukernel owns
//! the register tiles of one block, including its edges (masked loads and stores), so a call
//! costs one function call per work item, not per tile.
//!
//! | ISA level | tile (MR × NR) | file | source of the design |
//! |---|---|---|---|
//! | AVX-512F | 8 × 32 (16 zmm accumulators) | `sgemm_avx512.rs` | MLAS `SgemmKernelAvx512F`, BLIS skx |
//! | AVX2 + FMA | 6 × 16 (12 ymm accumulators) | `sgemm_avx2.rs` | BLIS haswell 6×16, MLAS FMA3 |
//! | AVX-512 VNNI (int8) | 4 × 64 (16 zmm `i32` accumulators) | `qgemm_avx512.rs` | MLAS `QgemmU8S8KernelAvx512Vnni`, oneDNN brgemm |
//! | AVX-512 VNNI (int8 depthwise) | 16 pixels × 1 channel (`vpdpwssd`) | `qdw_avx512.rs` | MLAS `MlasConvDepthwise` (per-channel direct), XNNPACK dwconv |
//!
//! Object files ([`crate::emit_object`]) never call ukernels: a foreign target has none of
//! these symbols, so object emission always takes the pure-CLIF path.
//!
//! Numerics: each output element is `Σ_p A(i,p)·B(p,j)` accumulated in `p` order with fused
//! multiply-adds, then `+ bias`, exactly as the CLIF kernel; only the vector width differs,
//! which does not change any element's order of operations. Against the interpreter's
//! unfused sequential sum the difference is the FMA rounding, bounded by
//! `k · ε · Σ_p |A(i,p)·B(p,j)|` (ε = 2⁻²⁴); the tests' tolerance (`1e-5` relative to
//! `max(|ref|, 1)`) covers the sizes they use.

use std::sync::OnceLock;

use cranelift_codegen::ir::{types, AbiParam, Signature};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module};

use crate::JitError;

pub(crate) mod call;
#[cfg(target_arch = "x86_64")]
mod conv_avx512;
mod qdw_avx512;
mod qgemm_args;
#[cfg(target_arch = "x86_64")]
mod qgemm_avx512;

#[cfg(target_arch = "x86_64")]
use qgemm_args::{int8xc_qdw_avx512vnni, int8xc_qgemm_u8i8_avx512vnni};
pub use qgemm_args::{qgemm_tile, QgemmArgs};

pub use qdw_avx512::QdwArgs;
#[cfg(target_arch = "x86_64")]
mod sgemm_avx2;
#[cfg(target_arch = "x86_64")]
mod sgemm_avx512;

/// Mask of the first `n` lanes of a 16-lane AVX-512 vector (all 16 when `n >= 16`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn mask16(n: usize) -> u16 {
    if n >= 16 {
        0xFFFF
    } else {
        ((1u32 << n) - 1) as u16
    }
}

/// Which microkernels the JIT may call (a [`crate::JitOptions`] field).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Microkernels {
    /// Pure Cranelift code (what object files always get).
    Off,
    /// The AVX2 + FMA kernels when the host has them (even if it also has AVX-512), else
    /// pure Cranelift code. For testing the AVX2 path on AVX-512 machines.
    Avx2,
    /// The best kernels the host supports: AVX-512F, else AVX2 + FMA, else pure Cranelift
    /// code (the default).
    #[default]
    Best,
}

/// An ISA level the microkernels are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UkernelIsa {
    /// x86-64 AVX2 + FMA3 (256-bit).
    Avx2,
    /// x86-64 AVX-512F (512-bit).
    Avx512,
}

/// CPU features relevant to the microkernels, detected once per process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuFeatures {
    /// AVX2 and FMA3.
    pub avx2_fma: bool,
    /// AVX-512 Foundation.
    pub avx512f: bool,
    /// AVX-512 VNNI and BW (512-bit `vpdpbusd`/`vpdpwssd`; the int8 kernels).
    pub avx512vnni: bool,
}

impl CpuFeatures {
    /// The host's features (`is_x86_feature_detected!`, cached after the first call).
    pub fn host() -> CpuFeatures {
        static HOST: OnceLock<CpuFeatures> = OnceLock::new();
        *HOST.get_or_init(detect)
    }

    /// The ISA level `choice` selects on a CPU with these features (`None`: pure CLIF).
    pub fn select(&self, choice: Microkernels) -> Option<UkernelIsa> {
        match choice {
            Microkernels::Off => None,
            Microkernels::Avx2 => self.avx2_fma.then_some(UkernelIsa::Avx2),
            Microkernels::Best if self.avx512f => Some(UkernelIsa::Avx512),
            Microkernels::Best => self.avx2_fma.then_some(UkernelIsa::Avx2),
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn detect() -> CpuFeatures {
    CpuFeatures {
        avx2_fma: is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
        avx512f: is_x86_feature_detected!("avx512f"),
        avx512vnni: is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni"),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> CpuFeatures {
    CpuFeatures::default()
}

/// The argument block of the f32 GEMM ukernels (`extern "C" fn(args: *const SgemmArgs)`;
/// `repr(C)`, every field 8 bytes, so field `i` is at byte offset `8·i`).
///
/// Computes `C(i, j) = Σ_{p<k} A(i, p)·B(p, j) (+ bias(i, j))` for `i < m`, `j < n`, with
/// - A: with [`SgemmArgs::A_PACKED`] in `flags`, tiles of `MR` rows packed `[⌈m/MR⌉][k][MR]`
///   (zero rows past `m`; see [`crate::pack::pack_a_tiles`]), else A(i, p) = `a[i·lda + p]`;
/// - B(p, j) = `b[(j / NR)·b_panel + p·ldb + j % NR]`: row-major B is `ldb` = row stride,
///   `b_panel = NR`; B packed in `[⌈n/NR⌉][k][NR]` panels is `ldb = NR`, `b_panel = k·NR`;
/// - C(i, j) = `c[i·ldc + j]`; only `i < m`, `j < n` are written;
/// - bias (null: none) bias(i, j) = `bias[i·bias_rs + j·bias_cs]` with `bias_cs` 0 or 1.
///
/// All strides are in elements and non-negative; MR and NR are those of the [`SgemmUkernel`].
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SgemmArgs {
    /// A (packed or row-major).
    pub a: *const f32,
    /// Row stride of a row-major A.
    pub lda: i64,
    /// B.
    pub b: *const f32,
    /// Row stride of B within a panel.
    pub ldb: i64,
    /// Elements between consecutive `NR`-column panels of B.
    pub b_panel: i64,
    /// C.
    pub c: *mut f32,
    /// Row stride of C.
    pub ldc: i64,
    /// Bias, or null.
    pub bias: *const f32,
    /// Bias row stride.
    pub bias_rs: i64,
    /// Bias column stride (0 or 1).
    pub bias_cs: i64,
    /// Rows of C.
    pub m: i64,
    /// Columns of C.
    pub n: i64,
    /// Reduction length.
    pub k: i64,
    /// [`SgemmArgs::A_PACKED`] or 0.
    pub flags: i64,
}

impl SgemmArgs {
    /// `flags` bit: A is packed in `MR`-row tiles.
    pub const A_PACKED: i64 = 1;
    /// Number of 8-byte fields.
    pub const FIELDS: usize = 14;
}

/// The argument block of the f32 convolution ukernel (AVX-512 only; `repr(C)`, 8-byte
/// fields): one group of one image, output pixels `[p0, p1)` (flat `oh·ow` index).
///
/// `y[i, p] = bias[i] + Σ_{c,ki,kj} W(i, (c·kh + ki)·kw + kj) · x[c, oh·sh - pt + ki·dh,
/// ow·sw - pl + kj·dw]` (zero outside the `h × w` plane) for `i < m`, `p = oh·ow_ + ow` in
/// `[p0, p1)`, with
/// - `x`: the group's first input channel, `c` planes of `h × w`;
/// - `w_packed`: the group's weights `m × K` (`K = c·kh·kw`) packed in 8-row tiles
///   (`[⌈m/8⌉][K][8]`, [`crate::pack::pack_a_tiles`]);
/// - `bias`: `m` floats or null; `y`: the group's first output channel, `m` planes of
///   `oh × ow`;
/// - `scratch`: `K · 32` writable floats, private to the call (the im2col panel).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ConvArgs {
    /// Input planes of the group.
    pub x: *const f32,
    /// Packed weights of the group.
    pub w_packed: *const f32,
    /// Bias of the group or null.
    pub bias: *const f32,
    /// Output planes of the group.
    pub y: *mut f32,
    /// Panel buffer.
    pub scratch: *mut f32,
    /// Input channels per group.
    pub c: i64,
    /// Input height.
    pub h: i64,
    /// Input width.
    pub w: i64,
    /// Kernel height.
    pub kh: i64,
    /// Kernel width.
    pub kw: i64,
    /// Vertical stride.
    pub sh: i64,
    /// Horizontal stride.
    pub sw: i64,
    /// Vertical dilation.
    pub dh: i64,
    /// Horizontal dilation.
    pub dw: i64,
    /// Top padding.
    pub pt: i64,
    /// Left padding.
    pub pl: i64,
    /// Output height.
    pub oh: i64,
    /// Output width.
    pub ow: i64,
    /// Output channels of the group.
    pub m: i64,
    /// First output pixel.
    pub p0: i64,
    /// One past the last output pixel.
    pub p1: i64,
}

impl ConvArgs {
    /// Number of 8-byte fields.
    pub const FIELDS: usize = 21;
    /// Output pixels per panel (the scratch holds `K ·` this many floats).
    pub const PANEL: usize = 32;
    /// The symbol generated code imports.
    pub const SYMBOL: &'static str = "int8xc_conv_f32_avx512";
}

/// The AVX-512 convolution entry point ([`ConvArgs::SYMBOL`]).
///
/// # Safety
/// Only for generated code: the CPU supports AVX-512F and `args` points to a valid
/// [`ConvArgs`] whose pointers cover every element its contract names.
#[cfg(target_arch = "x86_64")]
unsafe extern "C" fn int8xc_conv_f32_avx512(args: *const ConvArgs) {
    // SAFETY: forwarded contract.
    unsafe { conv_avx512::conv(&*args) }
}

/// The AVX-512 entry point (symbol [`SgemmUkernel::symbol`]).
///
/// # Safety
/// Only for generated code (and the safe [`sgemm`]): the CPU supports AVX-512F and `args`
/// points to a valid [`SgemmArgs`] for MR = 8, NR = 32.
#[cfg(target_arch = "x86_64")]
unsafe extern "C" fn int8xc_sgemm_f32_avx512(args: *const SgemmArgs) {
    // SAFETY: forwarded contract.
    unsafe { sgemm_avx512::sgemm(&*args) }
}

/// The AVX2 entry point (MR = 6, NR = 16); contract as [`int8xc_sgemm_f32_avx512`] with
/// AVX2 + FMA.
///
/// # Safety
/// As [`int8xc_sgemm_f32_avx512`] for AVX2 + FMA, MR = 6, NR = 16.
#[cfg(target_arch = "x86_64")]
unsafe extern "C" fn int8xc_sgemm_f32_avx2(args: *const SgemmArgs) {
    // SAFETY: forwarded contract.
    unsafe { sgemm_avx2::sgemm(&*args) }
}

/// An f32 GEMM ukernel: its tile, symbol and address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SgemmUkernel {
    /// ISA level.
    pub isa: UkernelIsa,
    /// Rows per register tile (and per packed A tile).
    pub mr: usize,
    /// Columns per register tile (and per packed B panel).
    pub nr: usize,
    /// The symbol generated code imports.
    pub symbol: &'static str,
}

impl SgemmUkernel {
    /// The kernel of `isa`.
    pub fn of(isa: UkernelIsa) -> SgemmUkernel {
        match isa {
            UkernelIsa::Avx512 => SgemmUkernel { isa, mr: 8, nr: 32, symbol: "int8xc_sgemm_f32_avx512" },
            UkernelIsa::Avx2 => SgemmUkernel { isa, mr: 6, nr: 16, symbol: "int8xc_sgemm_f32_avx2" },
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn entry(&self) -> unsafe extern "C" fn(*const SgemmArgs) {
        match self.isa {
            UkernelIsa::Avx512 => int8xc_sgemm_f32_avx512,
            UkernelIsa::Avx2 => int8xc_sgemm_f32_avx2,
        }
    }
}

/// Runs the ukernel of `isa` on slices (for tests and benchmarks): `c[m × n]` (row stride
/// `n`) `= a · b (+ bias per row)` with `a` packed by [`crate::pack::pack_a_tiles`] for the
/// kernel's MR and `b` row-major `k × n`.
///
/// Errors: [`JitError::Target`] when the host lacks `isa`; [`JitError::Graph`] when a slice
/// is shorter than the shapes need.
pub fn sgemm(
    isa: UkernelIsa,
    (m, n, k): (usize, usize, usize),
    a_packed: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    c: &mut [f32],
) -> Result<(), JitError> {
    let uk = SgemmUkernel::of(isa);
    let host = CpuFeatures::host();
    let supported = match isa {
        UkernelIsa::Avx512 => host.avx512f,
        UkernelIsa::Avx2 => host.avx2_fma,
    };
    if !supported {
        return Err(JitError::Target { triple: "host".into(), message: format!("no {isa:?} on this CPU") });
    }
    let short = |what: &str, have: usize, need: usize| {
        JitError::Graph(format!("sgemm {m}x{n}x{k}: {what} has {have} elements, needs {need}"))
    };
    let need_a = m.div_ceil(uk.mr) * uk.mr * k;
    if a_packed.len() < need_a {
        return Err(short("A", a_packed.len(), need_a));
    }
    if b.len() < k * n {
        return Err(short("B", b.len(), k * n));
    }
    if c.len() < m * n {
        return Err(short("C", c.len(), m * n));
    }
    if let Some(bi) = bias {
        if bi.len() < m {
            return Err(short("bias", bi.len(), m));
        }
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    let i = |x: usize| x as i64;
    let args = SgemmArgs {
        a: a_packed.as_ptr(),
        lda: 0,
        b: b.as_ptr(),
        ldb: i(n),
        b_panel: i(uk.nr),
        c: c.as_mut_ptr(),
        ldc: i(n),
        bias: bias.map_or(std::ptr::null(), <[f32]>::as_ptr),
        bias_rs: 1,
        bias_cs: 0,
        m: i(m),
        n: i(n),
        k: i(k),
        flags: SgemmArgs::A_PACKED,
    };
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the host supports `isa` (checked above) and the slices cover every element the
    // arguments name (lengths checked above).
    unsafe {
        (uk.entry())(&args)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = args;
    Ok(())
}

/// The ukernels bound into one JIT module: what the lowering may call.
#[derive(Clone, Debug)]
pub(crate) struct UkernelImports {
    /// The f32 GEMM kernel.
    pub sgemm: SgemmUkernel,
    /// Its imported function in the module.
    pub sgemm_func: FuncId,
    /// The signature of every ukernel entry point (`fn(args: ptr)`).
    pub sig: Signature,
    /// The convolution kernel ([`ConvArgs`]; AVX-512 only).
    pub conv_func: Option<FuncId>,
    /// The int8 GEMM kernel ([`QgemmArgs`]; AVX-512 VNNI hosts only).
    pub qgemm_func: Option<FuncId>,
    /// The int8 depthwise kernel (`QdwArgs`; AVX-512 VNNI hosts only).
    pub qdw_func: Option<FuncId>,
}

/// Registers the symbols of `isa`'s kernels with the JIT builder (before the module exists).
#[cfg(target_arch = "x86_64")]
pub(crate) fn register_symbols(builder: &mut JITBuilder, isa: UkernelIsa) {
    let uk = SgemmUkernel::of(isa);
    builder.symbol(uk.symbol, uk.entry() as *const u8);
    if isa == UkernelIsa::Avx512 {
        builder.symbol(ConvArgs::SYMBOL, int8xc_conv_f32_avx512 as *const u8);
        if CpuFeatures::host().avx512vnni {
            builder.symbol(QgemmArgs::SYMBOL, int8xc_qgemm_u8i8_avx512vnni as *const u8);
            builder.symbol(QdwArgs::SYMBOL, int8xc_qdw_avx512vnni as *const u8);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn register_symbols(_builder: &mut JITBuilder, _isa: UkernelIsa) {}

/// Declares `isa`'s kernels as imported functions of `module`.
pub(crate) fn declare_imports(module: &mut JITModule, isa: UkernelIsa) -> Result<UkernelImports, JitError> {
    let sgemm = SgemmUkernel::of(isa);
    let mut sig = Signature::new(module.isa().default_call_conv());
    sig.params.push(AbiParam::new(types::I64));
    let err =
        |e: cranelift_module::ModuleError| JitError::Codegen { node: "<ukernels>".into(), message: e.to_string() };
    let sgemm_func = module.declare_function(sgemm.symbol, Linkage::Import, &sig).map_err(err)?;
    let conv_func = if isa == UkernelIsa::Avx512 && cfg!(target_arch = "x86_64") {
        Some(module.declare_function(ConvArgs::SYMBOL, Linkage::Import, &sig).map_err(err)?)
    } else {
        None
    };
    let vnni = isa == UkernelIsa::Avx512 && cfg!(target_arch = "x86_64") && CpuFeatures::host().avx512vnni;
    let (qgemm_func, qdw_func) = if vnni {
        (
            Some(module.declare_function(QgemmArgs::SYMBOL, Linkage::Import, &sig).map_err(err)?),
            Some(module.declare_function(QdwArgs::SYMBOL, Linkage::Import, &sig).map_err(err)?),
        )
    } else {
        (None, None)
    };
    Ok(UkernelImports { sgemm, sgemm_func, sig, conv_func, qgemm_func, qdw_func })
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::pack::{pack_a_tiles, MatrixView};

    fn reference(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], bias: &[f32]) -> Vec<f32> {
        let mut c = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for p in 0..k {
                    s += a[i * k + p] as f64 * b[p * n + j] as f64;
                }
                c[i * n + j] = s as f32 + bias[i];
            }
        }
        c
    }

    #[test]
    fn every_supported_isa_matches_a_reference_gemm_on_edge_shapes() {
        let host = CpuFeatures::host();
        for isa in [UkernelIsa::Avx2, UkernelIsa::Avx512] {
            if host.select(if isa == UkernelIsa::Avx2 { Microkernels::Avx2 } else { Microkernels::Best }) != Some(isa) {
                continue;
            }
            let uk = SgemmUkernel::of(isa);
            for &(m, n, k) in &[(1, 1, 1), (8, 32, 5), (13, 37, 17), (6, 16, 64), (17, 50, 3), (3, 7, 0)] {
                let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0).collect();
                let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0).collect();
                let bias: Vec<f32> = (0..m).map(|i| i as f32 * 0.5).collect();
                let mut packed = Vec::new();
                pack_a_tiles(&MatrixView { data: &a, rows: m, cols: k, rs: k, cs: 1, offset: 0 }, uk.mr, &mut packed);
                let ap: Vec<f32> =
                    packed.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                let mut c = vec![f32::NAN; m * n + 3];
                sgemm(isa, (m, n, k), &ap, &b, Some(&bias), &mut c).unwrap();
                let want = reference(m, n, k, &a, &b, &bias);
                for (i, (&got, &w)) in c.iter().zip(&want).enumerate() {
                    assert!((got - w).abs() <= 1e-4 * w.abs().max(1.0), "{isa:?} {m}x{n}x{k} [{i}]: {got} vs {w}");
                }
                assert!(c[m * n..].iter().all(|x| x.is_nan()), "{isa:?} wrote past C");
            }
        }
    }

    #[test]
    fn short_slices_are_an_error() {
        let isa = match CpuFeatures::host().select(Microkernels::Best) {
            Some(isa) => isa,
            None => return,
        };
        let mut c = vec![0.0; 4];
        assert!(sgemm(isa, (2, 2, 2), &[0.0; 4], &[0.0; 4], None, &mut c).is_err());
    }
}
