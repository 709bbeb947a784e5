//! Operations and their attributes.
//!
//! Ops are the IR's normalized form, not a copy of ONNX: attributes are resolved to static
//! values at import (negative axes made positive, `auto_pad` turned into explicit pads, shape
//! inputs folded into attributes), `Flatten`/`Squeeze`/`Unsqueeze` become [`Op::Reshape`],
//! `Identity`/`Dropout` disappear, and `Constant` becomes a constant value. Layouts are NCHW.

mod attrs;
mod index;
mod math;
mod quant;

pub use attrs::{
    BinaryOp, ConvAttrs, ConvTransposeAttrs, CoordTransform, GemmAttrs, NearestMode, PoolAttrs, ResizeAttrs,
    ResizeMode, SliceAttrs, UnaryOp,
};
pub use index::{CumSumAttrs, TopKAttrs};
pub use math::{CompareOp, LogicalOp, MathFn, PadAttrs, PadMode, ReduceKind};
pub use quant::{LstmAttrs, LstmDirection, QConvAttrs, QMatMulAttrs, Requant, RequantMode};

use crate::{DType, QuantParams};

/// An IR operation. Each variant documents its inputs; outputs are one value unless noted.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// 2-D convolution; see [`ConvAttrs`].
    Conv(ConvAttrs),
    /// 2-D transposed convolution; see [`ConvTransposeAttrs`].
    ConvTranspose(ConvTransposeAttrs),
    /// Matrix product with numpy `matmul` semantics (ONNX `MatMul`): `a [..., M, K]`,
    /// `b [..., K, N]`, batch dims broadcast; rank-1 operands are promoted and the added
    /// dimension removed.
    MatMul,
    /// General matrix multiply; see [`GemmAttrs`]. Lowered to `MatMul` + `Add` by a pass.
    Gemm(GemmAttrs),
    /// Broadcasting element-wise binary op: inputs `a`, `b` of the same dtype.
    Binary(BinaryOp),
    /// Element-wise unary op on one input.
    Unary(UnaryOp),
    /// `exp(x - max) / sum(exp(x - max))` along `axis` (ONNX `Softmax`, opset 13 semantics).
    Softmax {
        /// Normalized axis.
        axis: usize,
    },
    /// 2-D max pooling (padding is -infinity); see [`PoolAttrs`].
    MaxPool(PoolAttrs),
    /// 2-D average pooling; see [`PoolAttrs`].
    AveragePool(PoolAttrs),
    /// 2-D max pooling with ONNX `MaxPool`'s optional second output `Indices` (opset 8+,
    /// `storage_order` opset 8+). Outputs `y` (as [`Op::MaxPool`], but the running maximum
    /// starts at the window's first input element, as the ONNX reference does: a NaN there
    /// stays) and `indices` (`i64`, the shape of `y`): the flat index into `x [N, C, H, W]` of
    /// the element `y` came from — the first in window order (row, then column) on ties —
    /// `(n·C + c)·H·W + h·W + w`, or `(n·C + c)·H·W + w·H + h` when `column_major` (ONNX
    /// `storage_order = 1`). A window without input element gives the dtype's lowest value
    /// and index -1.
    MaxPoolWithIndices {
        /// Window geometry (`count_include_pad` is unused).
        pool: PoolAttrs,
        /// Indices count column-major within each `H × W` plane (ONNX `storage_order = 1`).
        column_major: bool,
    },
    /// Mean over the spatial dims: `[N, C, H, W] → [N, C, 1, 1]`.
    GlobalAveragePool,
    /// Mean over `axes` (sorted, distinct), keeping them as size 1 when `keepdims` (ONNX
    /// `ReduceMean`; an empty `axes` list has been resolved at import).
    ReduceMean {
        /// Reduced axes.
        axes: Vec<usize>,
        /// Keep reduced axes as size 1.
        keepdims: bool,
    },
    /// Index (`i64`) of the maximum along `axis` (ONNX `ArgMax`); ties pick the first index,
    /// or the last with `select_last_index`.
    ArgMax {
        /// Reduced axis.
        axis: usize,
        /// Keep the axis as size 1.
        keepdims: bool,
        /// Ties pick the last index.
        select_last_index: bool,
    },
    /// Inference batch normalization: inputs `x [N, C, ...]`, `scale [C]`, `bias [C]`,
    /// `mean [C]`, `var [C]`; `y = scale * (x - mean) / sqrt(var + epsilon) + bias`.
    /// Folded into a preceding `Conv` by a pass when its operands are constant.
    BatchNormalization {
        /// Added to the variance.
        epsilon: f32,
    },
    /// Same elements (row-major order), new static shape `shape` (ONNX `Reshape` with the
    /// `shape` input resolved at import: no `0` or `-1` entries; also `Flatten`, `Squeeze`,
    /// `Unsqueeze`). The element count must not change.
    Reshape {
        /// The output shape.
        shape: Vec<usize>,
    },
    /// Permute dimensions: output dim `i` is input dim `perm[i]`.
    Transpose {
        /// The permutation.
        perm: Vec<usize>,
    },
    /// Concatenate all inputs along `axis`.
    Concat {
        /// Normalized axis.
        axis: usize,
    },
    /// Strided slice; see [`SliceAttrs`].
    Slice(SliceAttrs),
    /// Gather along `axis` (ONNX `Gather`): inputs `data`, `indices` (`i64`/`i32`, negative
    /// values count from the end); output shape `data[..axis] ++ indices ++ data[axis+1..]`.
    Gather {
        /// Normalized axis.
        axis: usize,
    },
    /// Element type conversion (ONNX `Cast`: float → int truncates toward zero, saturation
    /// is not applied).
    Cast {
        /// Target type (also the output type's dtype).
        to: DType,
    },
    /// Resize / upsample; see [`ResizeAttrs`].
    Resize(ResizeAttrs),

    // ---- comparison, selection and reductions (see `op/math.rs`) ----
    /// Broadcasting comparison of `a`, `b` (one numeric dtype); output `bool`.
    Compare(CompareOp),
    /// Broadcasting boolean op on two `bool` inputs; output `bool`.
    Logical(LogicalOp),
    /// Element-wise negation of a `bool` tensor (ONNX `Not`).
    Not,
    /// ONNX `Where` (opset 16): inputs `cond` (`bool`), `x`, `y` (one dtype), all three
    /// broadcast together; `out = cond ? x : y`.
    Where,
    /// ONNX `Expand` (opset 13) with the `shape` input resolved at import: the input
    /// broadcast (numpy rules) to `shape`, which is already the broadcast of the input shape
    /// and the requested one.
    Expand {
        /// The output shape.
        shape: Vec<usize>,
    },
    /// A reduction over `axes` (sorted, distinct; empty reduces nothing: an identity that
    /// still applies the element function, e.g. `x²` for `SumSquare`), keeping them as size 1
    /// when `keepdims`; see [`ReduceKind`].
    Reduce {
        /// What is computed.
        kind: ReduceKind,
        /// Reduced axes.
        axes: Vec<usize>,
        /// Keep reduced axes as size 1.
        keepdims: bool,
    },
    /// `x - max - ln(Σ exp(x - max))` along `axis` (ONNX `LogSoftmax`, opset 13 semantics).
    LogSoftmax {
        /// Normalized axis.
        axis: usize,
    },
    /// Padding; see [`PadAttrs`]. One input, any dtype.
    Pad(PadAttrs),
    /// ONNX `GatherElements` (opset 13): inputs `data` and `indices` (`i64`/`i32`, same rank;
    /// negative values count from the end; other dims at most `data`'s); output shape of
    /// `indices`: `out[i] = data[i with i[axis] replaced by indices[i]]`.
    GatherElements {
        /// Normalized axis.
        axis: usize,
    },
    /// Top `k` along an axis; see [`TopKAttrs`]. Outputs values and `i64` indices.
    TopK(TopKAttrs),
    /// Cumulative sum along an axis; see [`CumSumAttrs`]. One numeric input.
    CumSum(CumSumAttrs),

    // ---- quantization (see `op/quant.rs` and DESIGN.md "Numerics") ----
    /// ONNX `QuantizeLinear` (opsets 10, 13, 19, 21) with constant scale and zero point
    /// folded into `params`. Input `x` (`f32`/`f16`); output `dtype<params>[shape of x]`
    /// (`dtype` one of `u8`, `i8`, `u4`, `i4`, `i16`; `params` per tensor, per axis or
    /// blocked, checked against the output type). Per element, with the element's
    /// parameter pair: `q = saturate(round_half_to_even(x / scale) + zero_point)`, computed
    /// as [`crate::quantize_f32`] (MLAS `MlasQuantizeLinear`; NaN gives the dtype's minimum).
    QuantizeLinear {
        /// Output dtype.
        dtype: DType,
        /// Output quantization parameters (the output type's).
        params: QuantParams,
    },
    /// ONNX `DequantizeLinear` (opsets 10, 13, 19, 21): input `x` of a quantized type
    /// (`u8`/`i8`/`u4`/`i4`/`i16`/`i32` with parameters); output `f32`, same shape:
    /// `y = f32(x - zero_point) * scale` per element ([`crate::dequantize`], as ONNX
    /// Runtime computes it).
    DequantizeLinear,
    /// ONNX `DynamicQuantizeLinear` (opset 11): input `x` `f32`; three outputs `y` `u8`
    /// (no type parameters: they are data), `y_scale` `f32[]`, `y_zero_point` `u8[]`:
    ///
    /// ```text
    /// lo = min(0, min(x)), hi = max(0, max(x))          (f32; NaN elements are skipped)
    /// y_scale = hi == lo ? 1.0 : (hi - lo) / 255.0      (f32)
    /// y_zero_point = round_half_to_even(clamp(0 - lo / y_scale, 0, 255))
    /// y = quantize_f32(x, y_scale, y_zero_point)
    /// ```
    ///
    /// (ONNX Runtime `GetQuantizationParameter` + `MlasQuantizeLinear`.)
    DynamicQuantizeLinear,
    /// ONNX `QuantizeLinear` (opsets 10, 13, 19, 21) whose scale and zero point are computed
    /// at run time, so they are data, not type parameters. Inputs: `x` (`f32`/`f16`),
    /// `y_scale` (`f32`), `y_zero_point` (`u8`/`i8`/`u4`/`i4`/`i16`: the output dtype; the
    /// shape of `y_scale`). Per tensor (`axis` `None`): both `[]` or `[1]`; per axis: both
    /// `[shape[axis]]`. Output `dtype of y_zero_point [shape of x]` without quantization
    /// parameters. Per element, with its pair, exactly as [`Op::QuantizeLinear`]:
    /// `q = quantize_f32(x, scale, zero_point, range(dtype))` (no check on the scale: a zero,
    /// negative or NaN scale follows the IEEE division in that formula). Blocked parameters
    /// must be constant.
    QuantizeLinearDynamicParams {
        /// The quantized axis of `x` (per axis), or `None` (per tensor).
        axis: Option<usize>,
    },
    /// ONNX `DequantizeLinear` (opsets 10, 13, 19, 21) whose scale and zero point are
    /// computed at run time. Inputs: `x` (`u8`/`i8`/`u4`/`i4`/`i16`/`i32`; quantization
    /// parameters in its type are ignored), `x_scale` (`f32`), `x_zero_point` (`x`'s dtype,
    /// the shape of `x_scale`), shaped as for [`Op::QuantizeLinearDynamicParams`]. Output
    /// `f32 [shape of x]`: `y = f32(x - zero_point) * scale` per element, exactly as
    /// [`Op::DequantizeLinear`] ([`crate::dequantize`]).
    DequantizeLinearDynamicParams {
        /// The quantized axis of `x` (per axis), or `None` (per tensor).
        axis: Option<usize>,
    },
    /// ONNX `MatMulInteger` (opset 10): inputs `a` (`u8`/`i8`, `[..., M, K]`), `b`
    /// (`u8`/`i8`, `[..., K, N]`), optional `a_zero_point` (same dtype as `a`: scalar/`[1]`,
    /// or `[M]` per row), optional `b_zero_point` (same dtype as `b`: scalar/`[1]`, or `[N]`
    /// per column). Quantization parameters on `a`/`b` types are ignored. Output `i32`,
    /// numpy `matmul` shape: `y[m, n] = Σ_k (a[m,k] - a_zp[m]) * (b[k,n] - b_zp[n])`,
    /// exact, wrapping on `i32` overflow.
    MatMulInteger,
    /// ONNX `ConvInteger` (opset 10), 2-D NCHW: inputs `x` (`u8`/`i8`), `w` (`u8`/`i8`),
    /// optional `x_zero_point` (scalar/`[1]`), optional `w_zero_point` (scalar/`[1]` or `[M]`
    /// per output channel). Output `i32`, shape as [`Op::Conv`]: the Conv sum of
    /// `(x - x_zp) * (w - w_zp[m])`; padded positions are `x_zp` (contribute 0).
    ConvInteger(ConvAttrs),
    /// Quantized convolution (ONNX `QLinearConv`, and `DequantizeLinear → Conv →
    /// QuantizeLinear` after the QDQ pass), 2-D NCHW. Inputs: `x` (`u8`/`i8`/`u4`/`i4`,
    /// per-tensor parameters), `w` (`u8`/`i8`/`u4`/`i4`, per-tensor or per-axis-0 parameters),
    /// optional `bias` (`i32[M]`; parameters optional, if present zero point 0 and scale
    /// `s_x * s_w[m]`, ±1e-5 relative; the integer values are what is added). Signedness:
    /// `x` signed requires `w` signed (ONNX Runtime rejects `i8` x with `u8` w).
    ///
    /// ```text
    /// acc[n,m,oh,ow] = bias[m] + Σ_{c,kh,kw} (x[..] - zp_x) * (w[m,c,kh,kw] - zp_w[m])   (i32)
    /// y = requant(acc, channel m)     (see Requant; multiplier from s_x, s_w[m], s_y)
    /// ```
    ///
    /// Padded positions contribute 0 (they are `zp_x`). Output
    /// `out_dtype<out_scale,out_zero_point>`, shape as [`Op::Conv`].
    QConv(QConvAttrs),
    /// Quantized matrix product (ONNX `QLinearMatMul`, ONNX Runtime `QGemm` after the
    /// importer folds transposes into `Transpose` nodes or constants, and `DequantizeLinear →
    /// MatMul/Gemm → QuantizeLinear` after the QDQ pass). Inputs: `a` (`u8`/`i8`,
    /// `[..., M, K]`, per-tensor parameters), `b` (`u8`/`i8`/`u4`/`i4`, `[..., K, N]`,
    /// per-tensor or per-column parameters: axis `rank(b) - 1`), optional `bias` (`i32`,
    /// broadcastable to the output; zero point 0 if it has parameters). numpy `matmul`
    /// shapes (rank >= 2 each, batch dims broadcast). `a` signed requires `b` signed.
    ///
    /// ```text
    /// acc[.., m, n] = bias[..] + Σ_k (a[.., m, k] - zp_a) * (b[.., k, n] - zp_b[n])   (i32)
    /// y = requant(acc, column n) with alpha     (Some(requant))
    /// y = ((alpha * s_a) * s_b[n]) * f32(acc)   (None: f32 output, ORT QGemm without y_scale)
    /// ```
    QMatMul(QMatMulAttrs),
    /// ONNX Runtime `QLinearAdd` / `QLinearMul` (com.microsoft): inputs `a`, `b` of one
    /// dtype (`u8`/`i8`), per-tensor parameters, numpy broadcasting; output the same dtype
    /// with `<out_scale, out_zero_point>`. Exact formulas (MLAS on x86-64 with AVX2,
    /// `qladd_avx2.cpp`, `qlmul.cpp`), all f32, `fma` fused:
    ///
    /// ```text
    /// Add: rA = s_a / s_y, rB = s_b / s_y, fixed = f32(zp_y) - (rA * zp_a + rB * zp_b)
    ///      y = sat(rne(fma(a, rA, fma(b, rB, fixed))))
    /// Mul: r = (s_a * s_b) / s_y
    ///      y = sat(rne(f32((a - zp_a) * (b - zp_b)) * r + f32(zp_y)))
    /// ```
    ///
    /// When one operand is broadcast along the innermost non-trivial output dimension
    /// (ONNX Runtime then calls the kernel with a scalar operand), Add folds that operand
    /// into `fixed` first: `fixed' = fixed + b * rB` (mul, then add) and
    /// `y = sat(rne(fma(a, rA, fixed')))` (symmetrically for a scalar `a`).
    QLinearBinary {
        /// `Add` or `Mul`.
        op: BinaryOp,
        /// Output scale.
        out_scale: f32,
        /// Output zero point.
        out_zero_point: i32,
    },
    /// ONNX Runtime `QLinearLeakyRelu` / `QLinearSigmoid` (and any other [`UnaryOp`]) as a
    /// 256-entry lookup table (`qlinear_lookup_table.cc`): input `x` `u8`/`i8` with
    /// per-tensor parameters, output the same dtype `<out_scale,out_zero_point>`;
    /// `y = table[x]` with `table[q] = quantize_f32(f(s_x * (q - zp_x)), s_y, zp_y)` where
    /// `s_x * (q - zp_x)` is an f32 product. `f` is the op's f32 definition, except `Sigmoid`,
    /// which is MLAS's rational approximation `MlasComputeLogistic` (what ORT evaluates).
    QLinearUnary {
        /// The element-wise function.
        op: UnaryOp,
        /// Output scale.
        out_scale: f32,
        /// Output zero point.
        out_zero_point: i32,
    },
    /// ONNX Runtime `QLinearAveragePool` (com.microsoft, NCHW; `channels_last` is turned
    /// into transposes by the importer): input `x` `u8`/`i8` per tensor, output the same dtype
    /// `<out_scale,out_zero_point>`, geometry as [`Op::AveragePool`] (dilations must be 1).
    /// Computed as ONNX Runtime does: when the window is the whole image and pads are 0, as
    /// [`Op::QLinearGlobalAveragePool`]; otherwise `v = s_x * f32(x - zp_x)` per element, the
    /// f32 sum over the window's input elements (row, then column), divided by the count
    /// (`kH * kW` with `count_include_pad`, else the in-bounds count), and
    /// `y = sat(rne(sum / count / s_y + f32(zp_y)))`.
    QLinearAveragePool {
        /// Window geometry.
        pool: PoolAttrs,
        /// Output scale.
        out_scale: f32,
        /// Output zero point.
        out_zero_point: i32,
    },
    /// ONNX Runtime `QLinearGlobalAveragePool` (com.microsoft, NCHW): `[N, C, H, W] →
    /// [N, C, 1, 1]`, `u8`/`i8` per tensor (MLAS `qlgavgpool.cpp`):
    ///
    /// ```text
    /// acc = Σ x - zp_x * H * W                  (i32)
    /// r   = s_x / (s_y * f32(H * W))            (f32)
    /// y   = sat(rne(f32(acc) * r) + zp_y)       (as requantize_f32)
    /// ```
    QLinearGlobalAveragePool {
        /// Output scale.
        out_scale: f32,
        /// Output zero point.
        out_zero_point: i32,
    },
    /// ONNX Runtime `QLinearSoftmax` (com.microsoft, opset-13 semantics: one `axis`; the
    /// importer reshapes for `opset < 13`), `u8`/`i8` per tensor, output same dtype; exactly
    /// ONNX Runtime's `qlinear_softmax.cc` (`x`'s zero point cancels out):
    ///
    /// ```text
    /// D = shape[axis]; shift = max(0, ln(f64(f32::MAX / f32(D))) - 5) / s_x    (f64)
    /// e[v] = f32(exp((f64(v) - 255 + shift) * s_x)),  v = x - max(x along axis) + 255
    /// sum = Σ e (f32, in index order); k = floor(1 / s_y) (f32)
    /// y = min(rne(e * k / sum) + zp_y, dtype max)     (e * k / sum >= 0, so y >= zp_y)
    /// ```
    QLinearSoftmax {
        /// Normalized axis.
        axis: usize,
        /// Output scale.
        out_scale: f32,
        /// Output zero point.
        out_zero_point: i32,
    },
    /// ONNX Runtime `QLinearConcat` (com.microsoft): inputs of one dtype (`u8`/`i8`), each
    /// with its own per-tensor parameters; concatenated along `axis` as [`Op::Concat`], each
    /// element requantized `y = quantize_f32(s_i * f32(x - zp_i), s_y, zp_y)` (a copy when
    /// the parameters are equal).
    QLinearConcat {
        /// Normalized axis.
        axis: usize,
        /// Output scale.
        out_scale: f32,
        /// Output zero point.
        out_zero_point: i32,
    },
    /// ONNX `LSTM` (opset 14), float, see [`LstmAttrs`]. Inputs (all required; the importer
    /// materializes absent optional ones as zeros): `x [seq, batch, I]`, `w [dirs, 4H, I]`,
    /// `r [dirs, 4H, H]`, `b [dirs, 8H]`, `initial_h [dirs, batch, H]`,
    /// `initial_c [dirs, batch, H]`, `p [dirs, 3H]`; gate order `i, o, f, c`. Outputs
    /// `y [seq, dirs, batch, H]`, `y_h [dirs, batch, H]`, `y_c [dirs, batch, H]`. Per step
    /// (ONNX): `i = σ(Xt Wiᵀ + Ht-1 Riᵀ + Wbi + Rbi + Pi ⊙ Ct-1)`, `f` likewise,
    /// `c̃ = tanh(..)`, `Ct = f ⊙ Ct-1 + i ⊙ c̃`, `o = σ(.. + Po ⊙ Ct)`, `Ht = o ⊙ tanh(Ct)`.
    Lstm(LstmAttrs),
    /// ONNX Runtime `DynamicQuantizeLSTM` (com.microsoft): as [`Op::Lstm`] but `w [dirs, I, 4H]`
    /// and `r [dirs, H, 4H]` are quantized (`u8`/`i8`, note the transposed layout), with
    /// per-tensor (dirs = 1), per-axis 0 (one pair per direction) or per-axis 2 (per column,
    /// dirs = 1) parameters. The matrix products quantize their float left operand
    /// dynamically as [`Op::DynamicQuantizeLinear`] does (the whole `x` sequence once per
    /// direction, the hidden state once per step) and compute
    /// `s_a * s_w[n] * Σ (a - zp_a)(w - zp_w)` in i32 then f32, as ONNX Runtime's
    /// `deep_cpu_lstm` quantized GEMM does.
    DynamicQuantizeLstm(LstmAttrs),
}

impl Op {
    /// The op's name as printed in IR text (ONNX names where they exist).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv(_) => "Conv",
            Op::ConvTranspose(_) => "ConvTranspose",
            Op::MatMul => "MatMul",
            Op::Gemm(_) => "Gemm",
            Op::Binary(BinaryOp::Add) => "Add",
            Op::Binary(BinaryOp::Sub) => "Sub",
            Op::Binary(BinaryOp::Mul) => "Mul",
            Op::Binary(BinaryOp::Div) => "Div",
            Op::Binary(BinaryOp::Max) => "Max",
            Op::Binary(BinaryOp::Min) => "Min",
            Op::Binary(BinaryOp::Pow) => "Pow",
            Op::Binary(BinaryOp::Mod { .. }) => "Mod",
            Op::Unary(UnaryOp::Relu) => "Relu",
            Op::Unary(UnaryOp::LeakyRelu { .. }) => "LeakyRelu",
            Op::Unary(UnaryOp::Clip { .. }) => "Clip",
            Op::Unary(UnaryOp::Sigmoid) => "Sigmoid",
            Op::Unary(UnaryOp::Tanh) => "Tanh",
            Op::Unary(UnaryOp::HardSigmoid { .. }) => "HardSigmoid",
            Op::Unary(UnaryOp::HardSwish) => "HardSwish",
            Op::Unary(UnaryOp::Math(f)) => f.name(),
            Op::Softmax { .. } => "Softmax",
            Op::MaxPool(_) => "MaxPool",
            Op::AveragePool(_) => "AveragePool",
            Op::MaxPoolWithIndices { .. } => "MaxPoolWithIndices",
            Op::GlobalAveragePool => "GlobalAveragePool",
            Op::ReduceMean { .. } => "ReduceMean",
            Op::ArgMax { .. } => "ArgMax",
            Op::BatchNormalization { .. } => "BatchNormalization",
            Op::Reshape { .. } => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::Concat { .. } => "Concat",
            Op::Slice(_) => "Slice",
            Op::Gather { .. } => "Gather",
            Op::Cast { .. } => "Cast",
            Op::Resize(_) => "Resize",
            Op::Compare(c) => c.name(),
            Op::Logical(l) => l.name(),
            Op::Not => "Not",
            Op::Where => "Where",
            Op::Expand { .. } => "Expand",
            Op::Reduce { kind, .. } => kind.name(),
            Op::LogSoftmax { .. } => "LogSoftmax",
            Op::Pad(_) => "Pad",
            Op::GatherElements { .. } => "GatherElements",
            Op::TopK(_) => "TopK",
            Op::CumSum(_) => "CumSum",
            Op::QuantizeLinear { .. } => "QuantizeLinear",
            Op::DequantizeLinear => "DequantizeLinear",
            Op::DynamicQuantizeLinear => "DynamicQuantizeLinear",
            Op::QuantizeLinearDynamicParams { .. } => "QuantizeLinearDynamicParams",
            Op::DequantizeLinearDynamicParams { .. } => "DequantizeLinearDynamicParams",
            Op::MatMulInteger => "MatMulInteger",
            Op::ConvInteger(_) => "ConvInteger",
            Op::QConv(_) => "QConv",
            Op::QMatMul(_) => "QMatMul",
            Op::QLinearBinary { op: BinaryOp::Mul, .. } => "QLinearMul",
            Op::QLinearBinary { op: BinaryOp::Sub, .. } => "QLinearSub",
            Op::QLinearBinary { op: BinaryOp::Div, .. } => "QLinearDiv",
            Op::QLinearBinary { op: BinaryOp::Add, .. } => "QLinearAdd",
            Op::QLinearBinary { .. } => "QLinearBinary",
            Op::QLinearUnary { op, .. } => match op {
                UnaryOp::Relu => "QLinearRelu",
                UnaryOp::LeakyRelu { .. } => "QLinearLeakyRelu",
                UnaryOp::Clip { .. } => "QLinearClip",
                UnaryOp::Sigmoid => "QLinearSigmoid",
                UnaryOp::Tanh => "QLinearTanh",
                UnaryOp::HardSigmoid { .. } => "QLinearHardSigmoid",
                UnaryOp::HardSwish => "QLinearHardSwish",
                UnaryOp::Math(_) => "QLinearUnary",
            },
            Op::QLinearAveragePool { .. } => "QLinearAveragePool",
            Op::QLinearGlobalAveragePool { .. } => "QLinearGlobalAveragePool",
            Op::QLinearSoftmax { .. } => "QLinearSoftmax",
            Op::QLinearConcat { .. } => "QLinearConcat",
            Op::Lstm(_) => "LSTM",
            Op::DynamicQuantizeLstm(_) => "DynamicQuantizeLSTM",
        }
    }

    /// Multiply-accumulate count of one execution, for compile statistics; 0 for ops that
    /// are not compute ops. `input_shapes` / `output_shape` are the node's value shapes.
    pub fn macs(&self, input_shapes: &[&[usize]], output_shape: &[usize]) -> u64 {
        let prod = |s: &[usize]| s.iter().map(|&d| d as u64).product::<u64>();
        match self {
            Op::Conv(a) | Op::ConvInteger(a) | Op::QConv(QConvAttrs { conv: a, .. }) => {
                let cin_per_group = input_shapes.get(1).and_then(|w| w.get(1)).copied().unwrap_or(0) as u64;
                prod(output_shape) * cin_per_group * (a.kernel[0] * a.kernel[1]) as u64
            }
            Op::ConvTranspose(a) => {
                let x = input_shapes.first().copied().unwrap_or(&[]);
                let w = input_shapes.get(1).copied().unwrap_or(&[]);
                prod(x) * w.get(1).copied().unwrap_or(0) as u64 * (a.kernel[0] * a.kernel[1]) as u64
            }
            Op::MatMul | Op::Gemm(_) | Op::MatMulInteger | Op::QMatMul(_) => {
                let a = input_shapes.first().copied().unwrap_or(&[]);
                let k = match self {
                    Op::Gemm(g) if g.trans_a => a.first(),
                    _ => a.last(),
                };
                prod(output_shape) * k.copied().unwrap_or(0) as u64
            }
            Op::Lstm(a) | Op::DynamicQuantizeLstm(a) => {
                // per step and direction: [batch, I] x [I, 4H] and [batch, H] x [H, 4H]
                let x = input_shapes.first().copied().unwrap_or(&[]);
                let (seq, batch, input) =
                    (x.first().copied().unwrap_or(0), x.get(1).copied().unwrap_or(0), x.get(2).copied().unwrap_or(0));
                let h = a.hidden_size as u64;
                (a.direction.count() * seq * batch) as u64 * 4 * h * (input as u64 + h)
            }
            _ => 0,
        }
    }
}
