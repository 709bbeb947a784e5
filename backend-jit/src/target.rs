//! Target selection: a Cranelift [`TargetIsa`] for the host (with detected CPU features) or for
//! another triple (baseline features), and the capability predicates kernels query.
//!
//! Flags: `opt_level` from [`OptLevel`] (`none` by default, see there), `is_pic` for object files,
//! `enable_verifier` from [`crate::JitOptions::verify`]. Cranelift 0.135 always enables its
//! 128-bit SIMD types (there is no `enable_simd` setting any more).

use std::sync::Arc;

use cranelift_codegen::isa::{self, OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use target_lexicon::{Architecture, Triple};

use crate::ukernels::UkernelImports;
use crate::JitError;

/// Cranelift optimization level.
///
/// The default is [`OptLevel::None`]: the kernels are emitted hand-scheduled (loads and FMAs
/// interleaved per `k` step), and Cranelift's `speed` pipeline (e-graph elaboration) sinks the
/// pure FMAs after all loads of an unrolled group, which spills the 8 accumulators. Measured
/// on Zen 4, f32 MatMul 512³ single-thread: 49.6 GFLOP/s with `none`, 25.7 with `speed`;
/// `none` also compiles faster (DESIGN.md measured ~35 %).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OptLevel {
    /// No optimizations: instructions stay in emission order (the default).
    #[default]
    None,
    /// Cranelift's `speed` pipeline (e-graph rewrites, GVN, LICM).
    Speed,
}

/// Which machine the code is for and how Cranelift is configured.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IsaConfig {
    pub opt_level: OptLevel,
    pub pic: bool,
    pub verify: bool,
}

fn shared_flags(cfg: IsaConfig, triple: &Triple) -> Result<settings::Flags, JitError> {
    let err = |e: settings::SetError| JitError::Target { triple: triple.to_string(), message: e.to_string() };
    let mut b = settings::builder();
    b.set("opt_level", if cfg.opt_level == OptLevel::Speed { "speed" } else { "none" }).map_err(err)?;
    b.set("is_pic", if cfg.pic { "true" } else { "false" }).map_err(err)?;
    b.set("enable_verifier", if cfg.verify { "true" } else { "false" }).map_err(err)?;
    Ok(settings::Flags::new(b))
}

/// The host ISA with every CPU feature `cranelift-native` detects (SSE4.1, AVX, AVX-512, FMA,
/// NEON dot product, …).
pub(crate) fn host_isa(cfg: IsaConfig) -> Result<OwnedTargetIsa, JitError> {
    let triple = Triple::host();
    let builder = cranelift_native::builder()
        .map_err(|m| JitError::Target { triple: triple.to_string(), message: m.to_string() })?;
    builder
        .finish(shared_flags(cfg, &triple)?)
        .map_err(|e| JitError::Target { triple: triple.to_string(), message: e.to_string() })
}

/// The ISA for `triple` with that architecture's baseline features (objects for another
/// machine must not assume the build host's CPU). Supported: `x86_64` and `aarch64`.
pub(crate) fn triple_isa(triple: &Triple, cfg: IsaConfig) -> Result<OwnedTargetIsa, JitError> {
    let terr = |m: String| JitError::Target { triple: triple.to_string(), message: m };
    match triple.architecture {
        Architecture::X86_64 | Architecture::Aarch64(_) => {}
        other => return Err(terr(format!("architecture {other} is not supported (x86_64, aarch64)"))),
    }
    let builder = isa::lookup(triple.clone()).map_err(|e| terr(e.to_string()))?;
    builder.finish(shared_flags(cfg, triple)?).map_err(|e| terr(e.to_string()))
}

/// What the target can do, queried by kernels at lowering time (the lowering never guesses what
/// the CPU has).
#[derive(Clone)]
pub struct TargetFeatures {
    isa: Arc<dyn TargetIsa>,
    ukernels: Option<UkernelImports>,
}

impl std::fmt::Debug for TargetFeatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetFeatures")
            .field("triple", &self.isa.triple().to_string())
            .field("fma", &self.has_fma())
            .field("ukernels", &self.ukernels.as_ref().map(|u| u.sgemm.isa))
            .finish()
    }
}

impl TargetFeatures {
    pub(crate) fn new(isa: Arc<dyn TargetIsa>) -> Self {
        TargetFeatures { isa, ukernels: None }
    }

    /// These features plus the microkernels imported into the module being built (JIT only).
    pub(crate) fn with_ukernels(mut self, ukernels: Option<UkernelImports>) -> Self {
        self.ukernels = ukernels;
        self
    }

    /// The f32 GEMM microkernel generated code may call, or `None` (pure CLIF: object files,
    /// [`crate::Microkernels::Off`], or a CPU without AVX2 + FMA).
    pub(crate) fn sgemm_ukernel(&self) -> Option<&UkernelImports> {
        self.ukernels.as_ref()
    }

    /// The imports when they include the int8 GEMM microkernel
    /// ([`crate::ukernels::QgemmArgs`]; AVX-512 VNNI hosts under
    /// [`crate::Microkernels::Best`]), else `None` (the CLIF microkernel).
    pub(crate) fn qgemm_ukernel(&self) -> Option<&UkernelImports> {
        self.ukernels.as_ref().filter(|u| u.qgemm_func.is_some())
    }

    /// `fma` on `f32x4` lowers to one fused instruction (x86: AVX + FMA3; aarch64: always).
    /// Without it kernels emit `fmul` + `fadd`.
    pub fn has_fma(&self) -> bool {
        self.isa.has_native_fma()
    }

    /// Vector `floor`/`ceil`/`nearest` lower to one instruction (x86: SSE4.1).
    pub fn has_round(&self) -> bool {
        self.isa.has_round()
    }

    /// The pointer type (`i64` on both supported targets).
    pub fn pointer_type(&self) -> cranelift_codegen::ir::Type {
        self.isa.pointer_type()
    }

    /// The target triple.
    pub fn triple(&self) -> &Triple {
        self.isa.triple()
    }
}
