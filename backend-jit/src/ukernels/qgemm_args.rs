//! The int8 ukernels' argument block ([`QgemmArgs`]), their C entry points, and a safe
//! slice-level wrapper of the GEMM kernel for tests and benchmarks.

use super::CpuFeatures;
#[cfg(target_arch = "x86_64")]
use super::QdwArgs;
use crate::JitError;

/// The argument block of the int8 GEMM ukernel (AVX-512 VNNI only; `repr(C)`, 8-byte
/// fields): the raw `i32` dot products of one packed 4-row tile with `n` columns of panels.
///
/// `C(r, j) = Σ_{g, i<4} A[g][r][i] · B[j / 16][g][j % 16][i]` for `r < 4`, `j < n`, with
/// - `a`: the row tile `[groups][4 rows][4 k]` bytes ([`crate::kernels::qmatmul`] packs it);
/// - `b`: panels of 16 columns, `[groups][16 cols][4 k]` bytes each, `b_panel` bytes apart
///   ([`crate::pack_i8::pack_panels_k4`] with `nr = 16`); all `⌈n/16⌉` panels are readable
///   in full (padding columns included);
/// - `C(r, j) = c[r·ldc + j]` (`i32`), only `j < n` written;
/// - bytes are `u8` on one side and `i8` on the other: the panels are `i8` unless `flags`
///   has [`QgemmArgs::A_SIGNED`].
///
/// With [`QgemmArgs::REQUANT`] in `flags` the kernel applies the f32-multiplier requantization
/// itself (the `RequantF32` epilogue of `kernels/qgemm.rs`, MLAS `MlasRequantizeOutput`) and
/// stores bytes instead of `C`: for `r < rows`, `j < n`
///
/// ```text
/// x = C(r, j) + rterm[r] + cterm[j] − rz[r]·csum[j] − cz[j]·rsum[r]          (wrapping i32)
/// y[r·ldy + j] = clamp(f32(x) · scale[r or j], lo − zp, hi − zp) rounded half to even + zp
/// ```
///
/// where a null table contributes nothing (`rz`/`csum` and `cz`/`rsum` come in pairs), the
/// scale is per column with [`QgemmArgs::SCALE_PER_COL`] (else per row), and `y` holds `i8`
/// or `u8` (the clamp range decides; the store truncates the in-range `i32`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QgemmArgs {
    /// The packed row tile.
    pub a: *const u8,
    /// The first panel.
    pub b: *const u8,
    /// Bytes between consecutive panels.
    pub b_panel: i64,
    /// The `i32` output.
    pub c: *mut i32,
    /// Row stride of C, in elements.
    pub ldc: i64,
    /// Columns.
    pub n: i64,
    /// `k` groups of 4 (`⌈K/4⌉`).
    pub groups: i64,
    /// [`QgemmArgs::A_SIGNED`], [`QgemmArgs::REQUANT`], [`QgemmArgs::SCALE_PER_COL`].
    pub flags: i64,
    /// Rows stored with `REQUANT` (at most 4).
    pub rows: i64,
    /// Per-row `i32` term or null.
    pub rterm: *const i32,
    /// Per-column `i32` term or null.
    pub cterm: *const i32,
    /// Per-row zero points times per-column sums (both or null).
    pub rz: *const i32,
    /// See `rz`.
    pub csum: *const i32,
    /// Per-column zero points times per-row sums (both or null).
    pub cz: *const i32,
    /// See `cz`.
    pub rsum: *const i32,
    /// Requantization multipliers (per row, or per column with `SCALE_PER_COL`).
    pub scale: *const f32,
    /// Output zero point.
    pub zp: i64,
    /// Lowest output value.
    pub lo: i64,
    /// Highest output value.
    pub hi: i64,
    /// The byte output.
    pub y: *mut u8,
    /// Row stride of `y`, in bytes.
    pub ldy: i64,
}

impl QgemmArgs {
    /// Null pointers and zeros: a raw call without requantization (fill in `a`..`flags`).
    pub fn raw() -> QgemmArgs {
        let null = std::ptr::null::<i32>();
        QgemmArgs {
            a: std::ptr::null(),
            b: std::ptr::null(),
            b_panel: 0,
            c: std::ptr::null_mut(),
            ldc: 0,
            n: 0,
            groups: 0,
            flags: 0,
            rows: 0,
            rterm: null,
            cterm: null,
            rz: null,
            csum: null,
            cz: null,
            rsum: null,
            scale: std::ptr::null(),
            zp: 0,
            lo: 0,
            hi: 0,
            y: std::ptr::null_mut(),
            ldy: 0,
        }
    }

    /// `flags` bit: the row tile holds the `i8` operand (the panels the `u8` one).
    pub const A_SIGNED: i64 = 1;
    /// `flags` bit: requantize and store bytes to `y` (see the type's docs).
    pub const REQUANT: i64 = 2;
    /// `flags` bit: the requantization scale is per column (else per row).
    pub const SCALE_PER_COL: i64 = 4;
    /// Number of 8-byte fields.
    pub const FIELDS: usize = 21;
    /// Columns per panel.
    pub const NR: usize = 16;
    /// The symbol generated code imports.
    pub const SYMBOL: &'static str = "int8xc_qgemm_u8i8_avx512vnni";
}

/// The AVX-512 VNNI int8 GEMM entry point ([`QgemmArgs::SYMBOL`]).
///
/// # Safety
/// Only for generated code and [`qgemm_tile`]: the CPU supports AVX-512F + VNNI and `args`
/// points to a valid [`QgemmArgs`].
#[cfg(target_arch = "x86_64")]
pub(super) unsafe extern "C" fn int8xc_qgemm_u8i8_avx512vnni(args: *const QgemmArgs) {
    // SAFETY: forwarded contract.
    unsafe { super::qgemm_avx512::qgemm(&*args) }
}

/// The AVX-512 VNNI depthwise int8 entry point ([`QdwArgs::SYMBOL`]).
///
/// # Safety
/// Only for generated code: the CPU supports AVX-512F + BW + VNNI and `args` points to a
/// valid [`QdwArgs`].
#[cfg(target_arch = "x86_64")]
pub(super) unsafe extern "C" fn int8xc_qdw_avx512vnni(args: *const QdwArgs) {
    // SAFETY: forwarded contract.
    unsafe { super::qdw_avx512::qdw(&*args) }
}

/// Runs the int8 ukernel on slices (for tests and benchmarks): `c[4 × n]` (row stride `n`)
/// with `a` a packed 4-row tile of `groups` groups and `b` the 16-column panels of `n`
/// columns, as in [`QgemmArgs`].
///
/// Errors: [`JitError::Target`] without AVX-512 VNNI; [`JitError::Graph`] when a slice is
/// shorter than the shapes need.
pub fn qgemm_tile(n: usize, groups: usize, a: &[u8], b: &[u8], a_signed: bool, c: &mut [i32]) -> Result<(), JitError> {
    if !CpuFeatures::host().avx512vnni {
        return Err(JitError::Target { triple: "host".into(), message: "no AVX-512 VNNI on this CPU".into() });
    }
    let panel = groups * 64;
    for (what, have, need) in
        [("A", a.len(), groups * 16), ("B", b.len(), n.div_ceil(16) * panel), ("C", c.len(), 4 * n)]
    {
        if have < need {
            return Err(JitError::Graph(format!(
                "qgemm 4x{n}, {groups} groups: {what} has {have} elements, needs {need}"
            )));
        }
    }
    let args = QgemmArgs {
        a: a.as_ptr(),
        b: b.as_ptr(),
        b_panel: panel as i64,
        c: c.as_mut_ptr(),
        ldc: n as i64,
        n: n as i64,
        groups: groups as i64,
        flags: if a_signed { QgemmArgs::A_SIGNED } else { 0 },
        ..QgemmArgs::raw()
    };
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the host supports AVX-512 VNNI (checked above) and the slices cover every
    // element the arguments name (lengths checked above).
    unsafe {
        int8xc_qgemm_u8i8_avx512vnni(&args)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = args;
    Ok(())
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    fn qgemm_tile_matches_a_reference_on_edge_widths_both_signednesses() {
        if !CpuFeatures::host().avx512vnni {
            return;
        }
        for &(n, groups) in &[(1usize, 1usize), (15, 3), (16, 1), (17, 2), (64, 5), (65, 4), (130, 7), (8, 0)] {
            let a: Vec<u8> = (0..groups * 16).map(|i| (i * 37 % 251) as u8).collect();
            let b: Vec<u8> = (0..n.div_ceil(16) * groups * 64).map(|i| (i * 101 % 253) as u8).collect();
            for a_signed in [false, true] {
                let mut c = vec![i32::MIN; 4 * n + 5];
                qgemm_tile(n, groups, &a, &b, a_signed, &mut c).unwrap();
                for r in 0..4 {
                    for j in 0..n {
                        let want: i32 = (0..groups * 4)
                            .map(|p| {
                                let (g, i) = (p / 4, p % 4);
                                let x = a[g * 16 + r * 4 + i];
                                let y = b[(j / 16) * groups * 64 + g * 64 + (j % 16) * 4 + i];
                                if a_signed {
                                    i32::from(x as i8) * i32::from(y)
                                } else {
                                    i32::from(x) * i32::from(y as i8)
                                }
                            })
                            .sum();
                        assert_eq!(c[r * n + j], want, "n {n} groups {groups} signed {a_signed} ({r}, {j})");
                    }
                }
                assert!(c[4 * n..].iter().all(|&x| x == i32::MIN), "wrote past C");
            }
        }
        assert!(qgemm_tile(16, 2, &[0; 31], &[0; 128], false, &mut [0; 64]).is_err());
    }
}
