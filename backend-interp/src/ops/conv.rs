//! Convolutions: `Conv` and `ConvTranspose` (ONNX opset 11+), 2-D, NCHW.
//!
//! Both are written as a sum per output element, in `f32`, starting from 0, in the order
//! input channel (within the group), kernel row, kernel column; the bias is added after the
//! sum. Positions that fall into the padding contribute nothing.

use int8xc_ir::{ConvAttrs, ConvTransposeAttrs, TensorData};

use super::{check_arity, check_output_size, check_rank, f32_elems, float_dtype, float_tensor, OpResult};
use crate::error::OpErrorKind;

/// Shapes shared by both convolutions, checked.
struct ConvShapes {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    /// Output channels.
    m: usize,
}

/// Checks `x` rank 4, `w` rank 4 with the given kernel, optional `bias [m]`, one float dtype,
/// non-zero strides/dilations/group.
fn check_common(
    inputs: &[&TensorData],
    kernel: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
    group: usize,
) -> OpResult<()> {
    check_arity(inputs, 2, 3)?;
    float_dtype(inputs)?;
    check_rank("input x", inputs[0], 4)?;
    check_rank("weight", inputs[1], 4)?;
    if strides.contains(&0) || dilations.contains(&0) || group == 0 {
        return Err(OpErrorKind::invalid(format!(
            "strides {strides:?}, dilations {dilations:?} and group {group} must be positive"
        )));
    }
    let ws = inputs[1].shape();
    if ws[2..] != kernel {
        return Err(OpErrorKind::invalid(format!("weight shape {ws:?} does not match kernel {kernel:?}")));
    }
    Ok(())
}

fn check_bias(inputs: &[&TensorData], m: usize) -> OpResult<()> {
    match inputs.get(2) {
        Some(b) if b.shape() != [m] => Err(OpErrorKind::invalid(format!("bias shape {:?}, expected [{m}]", b.shape()))),
        _ => Ok(()),
    }
}

/// One output dimension: `(in + pads - dil * (k - 1) - 1) / stride + 1`, or an error when the
/// dilated kernel does not fit into the padded input.
fn conv_out_dim(
    input: usize,
    pad_begin: usize,
    pad_end: usize,
    k: usize,
    stride: usize,
    dil: usize,
) -> OpResult<usize> {
    let overflow = || OpErrorKind::invalid(format!("pads {pad_begin}+{pad_end}, kernel {k}, dilation {dil} overflow"));
    let padded = input.checked_add(pad_begin).and_then(|v| v.checked_add(pad_end)).ok_or_else(overflow)?;
    let span = dil.checked_mul(k.max(1) - 1).and_then(|v| v.checked_add(1)).ok_or_else(overflow)?;
    if k == 0 || padded < span {
        return Err(OpErrorKind::invalid(format!(
            "kernel {k} with dilation {dil} does not fit input {input} padded by {pad_begin}+{pad_end}"
        )));
    }
    Ok((padded - span) / stride + 1)
}

/// ONNX `Conv`: `x [N, C, H, W]`, `w [M, C/group, kH, kW]`, optional `bias [M]` →
/// `y [N, M, oH, oW]` with
///
/// ```text
/// y[n, m, oh, ow] = sum over c, kh, kw of
///     x[n, g*C/group + c, oh*sH - pad_top + kh*dH, ow*sW - pad_left + kw*dW] * w[m, c, kh, kw]
///   + bias[m],    g = m / (M/group)
/// ```
///
/// (terms in the padding are skipped). Groups, depthwise, dilation, asymmetric pads and
/// strides all follow from this formula.
pub(crate) fn conv(inputs: &[&TensorData], a: &ConvAttrs) -> OpResult<TensorData> {
    check_common(inputs, a.kernel, a.strides, a.dilations, a.group)?;
    let (x, wt) = (inputs[0], inputs[1]);
    let xs = x.shape();
    let s = ConvShapes { n: xs[0], c: xs[1], h: xs[2], w: xs[3], m: wt.shape()[0] };
    let cg = wt.shape()[1];
    if !s.c.is_multiple_of(a.group) || !s.m.is_multiple_of(a.group) || cg * a.group != s.c {
        return Err(OpErrorKind::invalid(format!(
            "input channels {} and output channels {} with group {} do not match weight {:?}",
            s.c,
            s.m,
            a.group,
            wt.shape()
        )));
    }
    check_bias(inputs, s.m)?;
    let [kh_n, kw_n] = a.kernel;
    let [sh, sw] = a.strides;
    let [dh, dw] = a.dilations;
    let [pt, pl, pb, pr] = a.pads;
    let oh_n = conv_out_dim(s.h, pt, pb, kh_n, sh, dh)?;
    let ow_n = conv_out_dim(s.w, pl, pr, kw_n, sw, dw)?;
    check_output_size(&[s.n, s.m, oh_n, ow_n])?;
    let xv = f32_elems(x)?;
    let wv = f32_elems(wt)?;
    let bias = inputs.get(2).map(|b| f32_elems(b)).transpose()?;
    let mg = s.m / a.group;
    let mut y = Vec::with_capacity(s.n * s.m * oh_n * ow_n);
    for n in 0..s.n {
        for m in 0..s.m {
            let g = m / mg;
            for oh in 0..oh_n {
                for ow in 0..ow_n {
                    let mut acc = 0.0f32;
                    for c in 0..cg {
                        let ci = g * cg + c;
                        for kh in 0..kh_n {
                            // padded coordinate minus the leading pad; negative means padding
                            let ih = (oh * sh + kh * dh).checked_sub(pt).filter(|&v| v < s.h);
                            let Some(ih) = ih else { continue };
                            for kw in 0..kw_n {
                                let iw = (ow * sw + kw * dw).checked_sub(pl).filter(|&v| v < s.w);
                                let Some(iw) = iw else { continue };
                                let xi = ((n * s.c + ci) * s.h + ih) * s.w + iw;
                                let wi = ((m * cg + c) * kh_n + kh) * kw_n + kw;
                                acc += xv[xi] * wv[wi];
                            }
                        }
                    }
                    y.push(acc + bias.as_ref().map_or(0.0, |b| b[m]));
                }
            }
        }
    }
    float_tensor(x.dtype(), vec![s.n, s.m, oh_n, ow_n], y)
}

/// ONNX `ConvTranspose`: `x [N, C, H, W]`, `w [C, M/group, kH, kW]`, optional `bias [M]` →
/// `y [N, M, oH, oW]`, `oH = sH*(H-1) + output_padding_h + dH*(kH-1) + 1 - pad_top - pad_bottom`.
/// Each input pixel scatters `x * w` to `oh = ih*sH + kh*dH - pad_top`; written here as the
/// equivalent gather per output element: `y[n, m, oh, ow] = sum_{c, kh, kw} x[n, c, ih, iw] *
/// w[c, m - g*M/group, kh, kw] + bias[m]` over the `c` of group `g = m / (M/group)` and the
/// `(kh, kw)` for which `ih = (oh + pad_top - kh*dH) / sH` is an in-range integer (same for
/// `iw`).
pub(crate) fn conv_transpose(inputs: &[&TensorData], a: &ConvTransposeAttrs) -> OpResult<TensorData> {
    check_common(inputs, a.kernel, a.strides, a.dilations, a.group)?;
    let (x, wt) = (inputs[0], inputs[1]);
    let xs = x.shape();
    let mg = wt.shape()[1];
    let s = ConvShapes { n: xs[0], c: xs[1], h: xs[2], w: xs[3], m: mg * a.group };
    if wt.shape()[0] != s.c || !s.c.is_multiple_of(a.group) {
        return Err(OpErrorKind::invalid(format!(
            "input channels {} with group {} do not match weight {:?}",
            s.c,
            a.group,
            wt.shape()
        )));
    }
    check_bias(inputs, s.m)?;
    let [kh_n, kw_n] = a.kernel;
    let [sh, sw] = a.strides;
    let [dh, dw] = a.dilations;
    let [pt, pl, pb, pr] = a.pads;
    let out_dim = |input: usize, stride: usize, out_pad: usize, k: usize, dil: usize, p0: usize, p1: usize| {
        let full = stride
            .checked_mul(input.saturating_sub(1))
            .and_then(|v| v.checked_add(out_pad))
            .and_then(|v| v.checked_add(dil.checked_mul(k.saturating_sub(1))?))
            .and_then(|v| v.checked_add(1));
        full.and_then(|f| f.checked_sub(p0.checked_add(p1)?)).filter(|&o| o > 0 && input > 0 && k > 0).ok_or_else(
            || OpErrorKind::invalid(format!("pads {p0}+{p1} leave no output or overflow (input {input}, kernel {k})")),
        )
    };
    let oh_n = out_dim(s.h, sh, a.output_padding[0], kh_n, dh, pt, pb)?;
    let ow_n = out_dim(s.w, sw, a.output_padding[1], kw_n, dw, pl, pr)?;
    check_output_size(&[s.n, s.m, oh_n, ow_n])?;
    let xv = f32_elems(x)?;
    let wv = f32_elems(wt)?;
    let bias = inputs.get(2).map(|b| f32_elems(b)).transpose()?;
    let cg = s.c / a.group;
    // input index along one axis that output `o` reads through kernel tap `k`, if any
    let source = |o: usize, k: usize, pad: usize, dil: usize, stride: usize, len: usize| {
        o.checked_add(pad)?
            .checked_sub(k.checked_mul(dil)?)
            .filter(|v| v % stride == 0)
            .map(|v| v / stride)
            .filter(|&i| i < len)
    };
    let mut y = Vec::with_capacity(s.n * s.m * oh_n * ow_n);
    for n in 0..s.n {
        for m in 0..s.m {
            let g = m / mg;
            let mi = m % mg;
            for oh in 0..oh_n {
                for ow in 0..ow_n {
                    let mut acc = 0.0f32;
                    for c in 0..cg {
                        let ci = g * cg + c;
                        for kh in 0..kh_n {
                            let Some(ih) = source(oh, kh, pt, dh, sh, s.h) else { continue };
                            for kw in 0..kw_n {
                                let Some(iw) = source(ow, kw, pl, dw, sw, s.w) else { continue };
                                let xi = ((n * s.c + ci) * s.h + ih) * s.w + iw;
                                let wi = ((ci * mg + mi) * kh_n + kh) * kw_n + kw;
                                acc += xv[xi] * wv[wi];
                            }
                        }
                    }
                    y.push(acc + bias.as_ref().map_or(0.0, |b| b[m]));
                }
            }
        }
    }
    float_tensor(x.dtype(), vec![s.n, s.m, oh_n, ow_n], y)
}

#[cfg(test)]
mod tests {
    use int8xc_ir::{Data, Op};

    use super::*;
    use crate::ops::test_util::*;

    /// Deterministic small integers `(i * a) % b - off`, so sums are exact in f32 (the same
    /// pattern generated the expected values with ONNX Runtime 1.31).
    fn pat(shape: &[usize], a: usize, b: usize, off: f32) -> TensorData {
        let n: usize = shape.iter().product();
        f(shape, &(0..n).map(|i| ((i * a) % b) as f32 - off).collect::<Vec<_>>())
    }

    fn conv_op(kernel: [usize; 2], strides: [usize; 2], pads: [usize; 4], dilations: [usize; 2], group: usize) -> Op {
        Op::Conv(ConvAttrs { kernel, strides, pads, dilations, group })
    }

    #[test]
    fn conv_onnx_spec_example_with_padding() {
        // ONNX Conv example "conv_with_padding": x = 0..25 as [1,1,5,5], w = ones [1,1,3,3], pads 1
        let x = f(&[1, 1, 5, 5], &(0..25).map(|v| v as f32).collect::<Vec<_>>());
        let w = f(&[1, 1, 3, 3], &[1.0; 9]);
        let y = run_ok(&conv_op([3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 1), &[&x, &w]);
        #[rustfmt::skip]
        let want = [12., 21., 27., 33., 24., 33., 54., 63., 72., 51., 63., 99., 108., 117., 81.,
                    93., 144., 153., 162., 111., 72., 111., 117., 123., 84.];
        assert_close(&y, &[1, 1, 5, 5], &want, 0.0);
        // "conv_with_strides_no_padding": stride 2 -> [[54, 72], [144, 162]]
        let y = run_ok(&conv_op([3, 3], [2, 2], [0; 4], [1, 1], 1), &[&x, &w]);
        assert_close(&y, &[1, 1, 2, 2], &[54., 72., 144., 162.], 0.0);
    }

    #[test]
    fn conv_groups_strides_dilation_asymmetric_pads_and_bias() {
        let x = pat(&[1, 4, 5, 6], 7, 11, 5.0);
        let w = pat(&[6, 2, 2, 3], 5, 7, 3.0);
        let b = f(&[6], &[1., -2., 3., 0., 5., -1.]);
        let y = run_ok(&conv_op([2, 3], [2, 1], [1, 0, 0, 2], [1, 2], 2), &[&x, &w, &b]);
        #[rustfmt::skip]
        let want = [14.0, 13.0, 4.0, -14.0, -3.0, 8.0, -1.0, -10.0, 8.0, 8.0, -10.0, 3.0, -4.0, -11.0, 1.0, 19.0, 12.0, 16.0, 7.0, 20.0, 16.0, -2.0, 20.0, 0.0, 7.0, -6.0, -1.0, 4.0, -21.0, -24.0, 9.0, -26.0, -24.0, 17.0, -26.0, 5.0, -1.0, -10.0, 13.0, -7.0, -12.0, 5.0, -4.0, 5.0, 5.0, -11.0, 5.0, 14.0, 2.0, 20.0, 1.0, 1.0, 24.0, -15.0, -3.0, 24.0, -15.0, -10.0, 24.0, -15.0, 15.0, -17.0, -8.0, 12.0, -28.0, -25.0, 15.0, 4.0, -25.0, 22.0, 4.0, 15.0]
;
        assert_close(&y, &[1, 6, 3, 4], &want, 0.0);
    }

    #[test]
    fn conv_depthwise() {
        let x = pat(&[1, 3, 4, 4], 7, 11, 5.0);
        let w = pat(&[3, 1, 3, 3], 5, 7, 3.0);
        let y = run_ok(&conv_op([3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 3), &[&x, &w]);
        #[rustfmt::skip]
        let want = [-22.0, 30.0, -14.0, 15.0, 8.0, 5.0, -2.0, 24.0, -17.0, 21.0, -8.0, -33.0, -4.0, 13.0, 9.0, -14.0, -7.0, 9.0, 10.0, -6.0, 8.0, 5.0, 2.0, 3.0, -22.0, -7.0, 23.0, -8.0, 15.0, 9.0, -16.0, -1.0, 14.0, -17.0, 12.0, 8.0, 10.0, -32.0, -4.0, 12.0, -9.0, 25.0, 9.0, 3.0, -6.0, 12.0, -18.0, 24.0]
;
        assert_close(&y, &[1, 3, 4, 4], &want, 0.0);
    }

    #[test]
    fn conv_rejects_mismatched_shapes() {
        let x = pat(&[1, 4, 5, 6], 7, 11, 5.0);
        let w = pat(&[6, 3, 2, 3], 5, 7, 3.0);
        assert!(run_err(&conv_op([2, 3], [1, 1], [0; 4], [1, 1], 2), &[&x, &w]).contains("do not match weight"));
        let w = pat(&[6, 2, 2, 3], 5, 7, 3.0);
        assert!(run_err(&conv_op([3, 3], [1, 1], [0; 4], [1, 1], 2), &[&x, &w]).contains("does not match kernel"));
        assert!(run_err(&conv_op([2, 3], [0, 1], [0; 4], [1, 1], 2), &[&x, &w]).contains("must be positive"));
        assert!(run_err(&conv_op([2, 3], [1, 1], [0; 4], [9, 1], 2), &[&x, &w]).contains("does not fit"));
        let b = f(&[5], &[0.; 5]);
        assert!(run_err(&conv_op([2, 3], [1, 1], [0; 4], [1, 1], 2), &[&x, &w, &b]).contains("bias shape"));
        assert!(run_err(&conv_op([2, 3], [1, 1], [0; 4], [1, 1], 2), &[&x]).contains("expects 2 to 3 inputs"));
        let xi = t(&[1, 4, 5, 6], Data::I8(vec![0; 120]));
        assert!(run_err(&conv_op([2, 3], [1, 1], [0; 4], [1, 1], 2), &[&xi, &w]).contains("unsupported"));
    }

    #[test]
    fn conv_transpose_onnx_spec_example() {
        // ONNX ConvTranspose example: x = 0..9 as [1,1,3,3], w = ones [1,2,3,3]
        let x = f(&[1, 1, 3, 3], &(0..9).map(|v| v as f32).collect::<Vec<_>>());
        let w = f(&[1, 2, 3, 3], &[1.0; 18]);
        let a = ConvTransposeAttrs {
            kernel: [3, 3],
            strides: [1, 1],
            pads: [0; 4],
            dilations: [1, 1],
            output_padding: [0, 0],
            group: 1,
        };
        let y = run_ok(&Op::ConvTranspose(a), &[&x, &w]);
        #[rustfmt::skip]
        let one = [0., 1., 3., 3., 2., 3., 8., 15., 12., 7., 9., 21., 36., 27., 15.,
                   9., 20., 33., 24., 13., 6., 13., 21., 15., 8.];
        assert_close(&y, &[1, 2, 5, 5], &[one, one].concat(), 0.0);
    }

    #[test]
    fn conv_transpose_groups_strides_pads_output_padding_dilation() {
        let x = pat(&[1, 4, 3, 2], 7, 11, 5.0);
        let w = pat(&[4, 3, 3, 2], 5, 7, 3.0);
        let b = f(&[6], &[1., -2., 3., 0., 5., -1.]);
        let a = ConvTransposeAttrs {
            kernel: [3, 2],
            strides: [2, 3],
            pads: [1, 0, 2, 1],
            dilations: [2, 1],
            output_padding: [1, 2],
            group: 2,
        };
        let y = run_ok(&Op::ConvTranspose(a), &[&x, &w, &b]);
        #[rustfmt::skip]
        let want = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -9.0, -9.0, 1.0, -5.0, 10.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -8.0, 13.0, 1.0, -2.0, -27.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -12.0, 0.0, 1.0, 27.0, 27.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -2.0, -2.0, -2.0, -2.0, -2.0, -2.0, 2.0, -12.0, -2.0, -9.0, -8.0, -2.0, -2.0, -2.0, -2.0, -2.0, -2.0, -2.0, -11.0, -11.0, -2.0, 20.0, -5.0, -2.0, -2.0, -2.0, -2.0, -2.0, -2.0, -2.0, 15.0, -15.0, -2.0, -32.0, 24.0, -2.0, -2.0, -2.0, -2.0, -2.0, -2.0, -2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 28.0, 7.0, 3.0, 2.0, -4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, -6.0, -6.0, 3.0, -6.0, 25.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 1.0, 20.0, 3.0, -6.0, -27.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 9.0, 3.0, 0.0, 17.0, -13.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -28.0, 24.0, 0.0, 9.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 26.0, -30.0, 0.0, -13.0, 17.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, -1.0, 14.0, 5.0, 3.0, 22.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 2.0, -23.0, 5.0, -14.0, 14.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 31.0, 31.0, 5.0, 4.0, -8.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -8.0, -7.0, -1.0, -8.0, -3.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 21.0, -4.0, -1.0, 8.0, -20.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -31.0, 25.0, -1.0, 10.0, -2.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0]
;
        assert_close(&y, &[1, 6, 7, 6], &want, 0.0);
    }
}
