//! Compile-time weight packing: constant matrices rearranged into the layouts the GEMM
//! microkernel ([`crate::kernels`], `gemm.rs`) streams through. All packed buffers are
//! little-endian `f32`, zero-padded, and owned by the executable (64-byte aligned).
//!
//! A matrix is read from a flat slice through strides, so transposed sources need no copy:
//! element `(i, j)` is `src[i * rs + j * cs]`.

/// Rows per A tile of the microkernel.
pub const MR: usize = 4;
/// Columns per B panel of the microkernel (two `f32x4`).
pub const NR: usize = 8;

/// A strided view of an `rows × cols` f32 matrix inside a flat slice.
#[derive(Clone, Copy, Debug)]
pub struct MatrixView<'a> {
    /// The storage.
    pub data: &'a [f32],
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

impl MatrixView<'_> {
    /// Element `(i, j)`, or 0 outside the matrix (the padding) or outside `data`.
    pub fn get(&self, i: usize, j: usize) -> f32 {
        if i >= self.rows || j >= self.cols {
            return 0.0;
        }
        self.data.get(self.offset + i * self.rs + j * self.cs).copied().unwrap_or(0.0)
    }
}

/// Bytes of an `m × k` matrix packed by [`pack_a`].
pub fn packed_a_len(m: usize, k: usize) -> usize {
    m.div_ceil(MR) * k * MR * 4
}

/// Bytes of a `k × n` matrix packed by [`pack_b`].
pub fn packed_b_len(k: usize, n: usize) -> usize {
    n.div_ceil(NR) * k * NR * 4
}

/// Packs the A operand (`m × k`, e.g. conv weights `[M, C/g·kH·kW]`) into row tiles:
/// layout `[ceil(m / MR)][k][MR]`, so the microkernel reads the `MR` values of one column `k`
/// of a tile with one 16-byte load. Rows past `m` are zero. Appends to `out`.
pub fn pack_a(a: &MatrixView, out: &mut Vec<u8>) {
    pack_a_tiles(a, MR, out);
}

/// [`pack_a`] with `mr` rows per tile (layout `[ceil(m / mr)][k][mr]`, `m.div_ceil(mr) · mr
/// · k · 4` bytes): the A layout of the microkernels ([`crate::ukernels`], whose MR is 8 for
/// AVX-512 and 6 for AVX2).
pub fn pack_a_tiles(a: &MatrixView, mr: usize, out: &mut Vec<u8>) {
    out.reserve(a.rows.div_ceil(mr) * mr * a.cols * 4);
    for t in 0..a.rows.div_ceil(mr) {
        for k in 0..a.cols {
            for r in 0..mr {
                out.extend_from_slice(&a.get(t * mr + r, k).to_le_bytes());
            }
        }
    }
}

/// Packs the B operand (`k × n`, e.g. MatMul weights `[K, N]`) into column panels: layout
/// `[ceil(n / NR)][k][NR]`, so the microkernel reads the `NR` values of one row `k` of a panel
/// with two contiguous 16-byte loads. Columns past `n` are zero. Appends to `out`.
pub fn pack_b(b: &MatrixView, out: &mut Vec<u8>) {
    pack_b_panels(b, NR, out);
}

/// [`pack_b`] with `nr` columns per panel (layout `[ceil(n / nr)][k][nr]`, `n.div_ceil(nr) ·
/// nr · k · 4` bytes): the packed-B layout of the microkernels (NR 32 for AVX-512, 16 for
/// AVX2).
pub fn pack_b_panels(b: &MatrixView, nr: usize, out: &mut Vec<u8>) {
    out.reserve(b.cols.div_ceil(nr) * nr * b.rows * 4);
    for p in 0..b.cols.div_ceil(nr) {
        for k in 0..b.rows {
            for c in 0..nr {
                out.extend_from_slice(&b.get(k, p * nr + c).to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floats(b: &[u8]) -> Vec<f32> {
        b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    #[test]
    fn pack_a_interleaves_four_rows_per_column_and_pads() {
        // 5 x 2 matrix, value = 10 * row + col
        let data: Vec<f32> = (0..5).flat_map(|r| (0..2).map(move |c| (10 * r + c) as f32)).collect();
        let v = MatrixView { data: &data, rows: 5, cols: 2, rs: 2, cs: 1, offset: 0 };
        let mut out = Vec::new();
        pack_a(&v, &mut out);
        assert_eq!(out.len(), packed_a_len(5, 2));
        let f = floats(&out);
        assert_eq!(&f[..8], &[0., 10., 20., 30., 1., 11., 21., 31.]);
        assert_eq!(&f[8..16], &[40., 0., 0., 0., 41., 0., 0., 0.]);
    }

    #[test]
    fn pack_b_reads_transposed_sources_through_strides() {
        // B = [[0, 1, 2], [3, 4, 5]] (2 x 3) stored transposed (3 x 2): rs = 1, cs = 2.
        let bt = [0., 3., 1., 4., 2., 5.];
        let v = MatrixView { data: &bt, rows: 2, cols: 3, rs: 1, cs: 2, offset: 0 };
        let mut out = Vec::new();
        pack_b(&v, &mut out);
        let f = floats(&out);
        assert_eq!(&f[..8], &[0., 1., 2., 0., 0., 0., 0., 0.]);
        assert_eq!(&f[8..16], &[3., 4., 5., 0., 0., 0., 0., 0.]);
    }
}
