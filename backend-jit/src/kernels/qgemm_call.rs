//! Calling the AVX-512 VNNI int8 GEMM ukernel ([`crate::ukernels::QgemmArgs`]) from the
//! int8 kernels (`qmatmul.rs`, `qconv.rs`): the argument block, the fused requantization it
//! can apply, and reading back the raw `i32` block the other epilogues start from.

use cranelift_codegen::ir::{types, InstBuilder, Value};

use super::qgemm::QOutKind;
use super::qmatmul::QNB;
use super::{i64_of, KernelCx};
use crate::pack_i8::QNR;
use crate::ukernels::call::{emit_call, Operand};
use crate::ukernels::{QgemmArgs, UkernelImports};

/// The requantization the ukernel applies itself ([`QgemmArgs::REQUANT`]); every pointer is a
/// run-time value addressing row 0 (per-row tables) or column 0 of the call (per-column
/// tables and `y`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FusedRequant {
    /// Rows stored (1..=4).
    pub rows: usize,
    pub rterm: Option<Value>,
    pub cterm: Option<Value>,
    /// `(rz per row, csum per column)`.
    pub rz_csum: Option<(Value, Value)>,
    /// `(cz per column, rsum per row)`.
    pub cz_rsum: Option<(Value, Value)>,
    /// `f32` multipliers, per column when `per_col`, else per row.
    pub scale: Value,
    pub per_col: bool,
    /// Output zero point and clamp range.
    pub zp_lo_hi: (i32, i32, i32),
    /// Output bytes of row 0, column 0, and the row stride in bytes.
    pub y: Value,
    pub ldy: usize,
}

/// `(zp, lo, hi)` when the ukernel can apply epilogue `out` itself: the f32-multiplier
/// requantization to 8-bit outputs. Other outputs (`i32`, `f32`, `i16`, fixed point) take the
/// raw block and the CLIF epilogue.
pub(crate) fn fused_requant(out: QOutKind) -> Option<(i32, i32, i32)> {
    match out {
        QOutKind::RequantF32 { zp, lo, hi, bytes: 1 } => Some((zp, lo, hi)),
        _ => None,
    }
}

/// Emits the ukernel call over the packed row tile `a` and the `width` columns of 16-column
/// panels (`groups · 64` bytes apart) at `b`: raw `i32` into `c` (row stride `ldc`), or with
/// `fused` requantized bytes into `fused.y`. `flags`: [`QgemmArgs::A_SIGNED`] or 0.
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_qgemm_call(
    cx: &mut KernelCx,
    uk: &UkernelImports,
    (a, b, c): (Value, Value, Value),
    width: usize,
    groups: usize,
    flags: i64,
    ldc: usize,
    fused: Option<&FusedRequant>,
) {
    let Some(func) = uk.qgemm_func else { return };
    let ptr = |v: Option<Value>| v.map_or(Operand::Imm(0), Operand::Val);
    let mut fields = vec![
        Operand::Val(a),
        Operand::Val(b),
        Operand::Imm(i64_of(groups * 64)),
        Operand::Val(c),
        Operand::Imm(i64_of(ldc)),
        Operand::Imm(i64_of(width)),
        Operand::Imm(i64_of(groups)),
    ];
    match fused {
        Some(f) => {
            let flags = flags | QgemmArgs::REQUANT | if f.per_col { QgemmArgs::SCALE_PER_COL } else { 0 };
            let (zp, lo, hi) = f.zp_lo_hi;
            fields.extend([
                Operand::Imm(flags),
                Operand::Imm(i64_of(f.rows)),
                ptr(f.rterm),
                ptr(f.cterm),
                ptr(f.rz_csum.map(|p| p.0)),
                ptr(f.rz_csum.map(|p| p.1)),
                ptr(f.cz_rsum.map(|p| p.0)),
                ptr(f.cz_rsum.map(|p| p.1)),
                Operand::Val(f.scale),
                Operand::Imm(i64::from(zp)),
                Operand::Imm(i64::from(lo)),
                Operand::Imm(i64::from(hi)),
                Operand::Val(f.y),
                Operand::Imm(i64_of(f.ldy)),
            ]);
        }
        None => {
            fields.push(Operand::Imm(flags));
            fields.extend(std::iter::repeat_n(Operand::Imm(0), QgemmArgs::FIELDS - fields.len()));
        }
    }
    debug_assert_eq!(fields.len(), QgemmArgs::FIELDS);
    emit_call(cx, uk, func, &fields);
}

/// The 8 accumulators of 8-column panel `panel` (run time) of an `i32` block `[QMR][QNB]`
/// written by the ukernel, in `emit_dot_tile`'s order (`acc[2·r + v]`: row `r`, columns
/// `4v..4v + 4` of the panel).
pub(crate) fn load_acc_block(cx: &mut KernelCx, block: Value, panel: Value) -> [Value; 8] {
    let off = cx.b.ins().imul_imm_s(panel, i64_of(QNR * 4));
    let tile = cx.b.ins().iadd(block, off);
    std::array::from_fn(|i| {
        let (r, v) = (i / 2, i % 2);
        cx.load(types::I32X4, tile, (4 * (r * QNB + 4 * v)) as i32)
    })
}
