//! Attributes of the ops that select or accumulate along one axis: [`TopKAttrs`] and
//! [`CumSumAttrs`] (`GatherElements` needs only its axis).

/// Attributes of [`crate::Op::TopK`] (ONNX `TopK`, opset 11–24, with the `K` input resolved
/// at import). Outputs the `k` largest (or smallest) elements along `axis` and their `i64`
/// indices, best first; equal values keep the lower index first (as ONNX specifies). A NaN
/// counts as larger than every number. `sorted = false` allows any order; the result is the
/// sorted one either way.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TopKAttrs {
    /// Normalized axis.
    pub axis: usize,
    /// Number of elements kept (at most the axis size).
    pub k: usize,
    /// Keep the largest elements (else the smallest).
    pub largest: bool,
    /// The ONNX `sorted` attribute (informative: the output is always sorted).
    pub sorted: bool,
}

/// Attributes of [`crate::Op::CumSum`] (ONNX `CumSum`, opset 11/14, with the `axis` input
/// resolved at import): `y[.., i, ..] = Σ_{j <= i} x[.., j, ..]` along `axis`; `exclusive`
/// leaves out `x[i]` itself (`y[0] = 0`), `reverse` sums from the end (`j >= i`). Integers
/// wrap; floats are summed in index order (`f16` in `f32`, rounded once).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CumSumAttrs {
    /// Normalized axis.
    pub axis: usize,
    /// Leave out the element itself.
    pub exclusive: bool,
    /// Accumulate from the last element.
    pub reverse: bool,
}
