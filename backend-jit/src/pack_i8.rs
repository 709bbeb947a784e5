//! Compile-time packing of 8-bit operands for the int8 GEMM microkernel (`kernels/qgemm.rs`).
//!
//! The microkernel multiplies a *row tile* (the broadcast operand: [`QMR`] rows, one 32-bit
//! word = 4 consecutive `k` per row and step) by a *column panel* ([`QNR`] columns, each
//! 16-byte vector holding 4 columns × 4 consecutive `k`), accumulating with the `u8 × i8 →
//! i32` dot-product tree (`vpdpbusd` on VNNI hosts). So both layouts group `k` by
//! [`KG`] = 4:
//!
//! - **row tiles** ([`pack_rows_k4`]): `[ceil(rows/4)][ceil(k/4)][4 rows][4 k]`; one 16-byte
//!   load gives the four rows' words of one `k` group.
//! - **column panels** ([`pack_panels_k4`]): `[ceil(cols/nr)][ceil(k/4)][nr cols][4 k]`;
//!   with `nr` = [`QNR`] = 8 (the CLIF microkernel) two 16-byte loads give the eight columns
//!   of one `k` group, with `nr` = 16 (the AVX-512 VNNI ukernel) one 64-byte load.
//!
//! Padding (rows, columns, `k` up to a multiple of 4) is the byte 0, so padded `k` contribute
//! nothing to any dot product. Values are stored as `value + delta` in two's complement bytes:
//! `delta = -128` turns `u8` into the `i8` the signed operand needs, `+128` turns `i8` into
//! the `u8` the unsigned operand needs (the zero point moves by the same `delta`, so
//! `(x + delta) - (zp + delta) = x - zp` and the integer result is unchanged).

/// Rows of a row tile.
pub const QMR: usize = 4;
/// Columns of a column panel.
pub const QNR: usize = 8;
/// `k` values per dot-product group (one 32-bit lane).
pub const KG: usize = 4;

/// A strided view of an integer `rows × cols` matrix: element `(i, j)` is
/// `data[offset + i·rs + j·cs]`.
#[derive(Clone, Copy, Debug)]
pub struct IntMatrix<'a> {
    /// The storage (quantized values widened to `i64`).
    pub data: &'a [i64],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Element stride between rows.
    pub rs: usize,
    /// Element stride between columns.
    pub cs: usize,
    /// Index of element `(0, 0)`.
    pub offset: usize,
}

impl IntMatrix<'_> {
    /// Element `(i, j)`, or `None` outside the matrix or the storage.
    pub fn get(&self, i: usize, j: usize) -> Option<i64> {
        if i >= self.rows || j >= self.cols {
            return None;
        }
        self.data.get(self.offset + i * self.rs + j * self.cs).copied()
    }
}

/// Bytes of a `rows × k` matrix packed by [`pack_rows_k4`].
pub fn packed_rows_len(rows: usize, k: usize) -> usize {
    rows.div_ceil(QMR) * k.div_ceil(KG) * QMR * KG
}

/// Bytes of a `k × cols` matrix packed by [`pack_panels_k4`] in `nr`-column panels.
pub fn packed_panels_len(k: usize, cols: usize, nr: usize) -> usize {
    cols.div_ceil(nr) * k.div_ceil(KG) * nr * KG
}

fn byte(v: Option<i64>, delta: i64) -> u8 {
    v.map_or(0, |v| (v + delta) as u8)
}

/// Packs an `rows × k` matrix (e.g. conv weights `[Mg, Cg·kH·kW]`) into row tiles
/// `[ceil(rows/4)][ceil(k/4)][4][4]` of bytes `value + delta`. Appends to `out`.
pub fn pack_rows_k4(m: &IntMatrix, delta: i64, out: &mut Vec<u8>) {
    out.reserve(packed_rows_len(m.rows, m.cols));
    for t in 0..m.rows.div_ceil(QMR) {
        for g in 0..m.cols.div_ceil(KG) {
            for r in 0..QMR {
                for j in 0..KG {
                    out.push(byte(m.get(t * QMR + r, g * KG + j), delta));
                }
            }
        }
    }
}

/// Packs a `k × cols` matrix (e.g. MatMul weights `[K, N]`; `m.rows` is `k`) into column
/// panels `[ceil(cols/nr)][ceil(k/4)][nr][4]` of bytes `value + delta`. Appends to `out`.
pub fn pack_panels_k4(m: &IntMatrix, delta: i64, nr: usize, out: &mut Vec<u8>) {
    out.reserve(packed_panels_len(m.rows, m.cols, nr));
    for p in 0..m.cols.div_ceil(nr) {
        for g in 0..m.rows.div_ceil(KG) {
            for c in 0..nr {
                for j in 0..KG {
                    out.push(byte(m.get(g * KG + j, p * nr + c), delta));
                }
            }
        }
    }
}

/// `Σ_j (m[i, j] + delta)` per row `i` (wrapping `i32`), as the packed bytes hold them.
pub fn row_sums(m: &IntMatrix, delta: i64) -> Vec<i32> {
    (0..m.rows)
        .map(|i| (0..m.cols).fold(0i32, |s, j| s.wrapping_add((m.get(i, j).unwrap_or(0) + delta) as i8 as i32)))
        .collect()
}

/// `Σ_i (m[i, j] + delta)` per column `j` (wrapping `i32`); `signed` reads the stored byte as
/// `i8`, else as `u8`.
pub fn col_sums(m: &IntMatrix, delta: i64, signed: bool) -> Vec<i32> {
    let conv = |v: i64| if signed { (v + delta) as i8 as i32 } else { (v + delta) as u8 as i32 };
    (0..m.cols).map(|j| (0..m.rows).fold(0i32, |s, i| s.wrapping_add(conv(m.get(i, j).unwrap_or(0))))).collect()
}

/// Appends `v` as little-endian `i32`s, padded with `pad` to `len` entries.
pub fn push_i32s(out: &mut Vec<u8>, v: &[i32], len: usize, pad: i32) {
    for i in 0..len {
        out.extend_from_slice(&v.get(i).copied().unwrap_or(pad).to_le_bytes());
    }
}

/// Appends `v` as little-endian `f32`s, padded with `pad` to `len` entries.
pub fn push_f32s(out: &mut Vec<u8>, v: &[f32], len: usize, pad: f32) {
    for i in 0..len {
        out.extend_from_slice(&v.get(i).copied().unwrap_or(pad).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_group_four_k_per_column_and_pad() {
        // K = 5, N = 3, value = 10 * k + n
        let data: Vec<i64> = (0..5).flat_map(|k| (0..3).map(move |n| 10 * k + n)).collect();
        let m = IntMatrix { data: &data, rows: 5, cols: 3, rs: 3, cs: 1, offset: 0 };
        let mut out = Vec::new();
        pack_panels_k4(&m, 0, QNR, &mut out);
        assert_eq!(out.len(), packed_panels_len(5, 3, QNR));
        assert_eq!(&out[..12], &[0, 10, 20, 30, 1, 11, 21, 31, 2, 12, 22, 32]);
        assert_eq!(&out[12..32], &[0; 20]);
        assert_eq!(&out[32..40], &[40, 0, 0, 0, 41, 0, 0, 0]);
        assert_eq!(col_sums(&m, 0, true), vec![100, 105, 110]);
        let mut wide = Vec::new();
        pack_panels_k4(&m, 0, 16, &mut wide);
        assert_eq!(wide.len(), packed_panels_len(5, 3, 16));
        assert_eq!(&wide[..12], &out[..12]);
        assert_eq!(&wide[64..72], &[40, 0, 0, 0, 41, 0, 0, 0]);
    }

    #[test]
    fn row_tiles_group_four_k_per_row_and_shift_by_delta() {
        // 2 x 5 u8 matrix stored as i8 (delta -128)
        let data: Vec<i64> = (0..10).map(|v| 128 + v).collect();
        let m = IntMatrix { data: &data, rows: 2, cols: 5, rs: 5, cs: 1, offset: 0 };
        let mut out = Vec::new();
        pack_rows_k4(&m, -128, &mut out);
        assert_eq!(out.len(), packed_rows_len(2, 5));
        assert_eq!(&out[..8], &[0, 1, 2, 3, 5, 6, 7, 8]);
        assert_eq!(&out[8..16], &[0; 8]);
        assert_eq!(&out[16..24], &[4, 0, 0, 0, 9, 0, 0, 0]);
        assert_eq!(row_sums(&m, -128), vec![10, 35]);
    }
}
