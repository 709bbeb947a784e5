//! `Trilu` (ONNX opset 14), rewritten into `Where(mask, x, 0)` with a constant `bool` mask.

use int8xc_ir::{Data, Op, TensorData, TensorType, ValueId};

use super::{Ctx, NodeIn};
use crate::OnnxError;

/// `Trilu`: input `x [..., N, M]`, optional constant `k` (`i64` scalar, default 0),
/// attribute `upper` (default 1). Keeps `x[..., i, j]` where `j - i >= k` (upper) or
/// `j - i <= k` (lower) and zeroes the rest: `Where(mask [N, M], x, 0)`, the mask broadcast
/// over the batch dims.
pub(super) fn trilu(cx: &mut Ctx, n: &NodeIn) -> Result<Vec<ValueId>, OnnxError> {
    let x = cx.input(n, 0)?;
    let upper = n.int("upper", 1)? != 0;
    let k = match cx.const_input(n, 1, "k")? {
        None => 0,
        Some(t) => match t.to_i64_vec().as_deref() {
            Some([k]) => *k,
            _ => {
                return Err(n.err(format!("input 1 ('k') must be an integer scalar, got {}{:?}", t.dtype(), t.shape())))
            }
        },
    };
    let ty = cx.ty(x).clone();
    let rank = ty.shape.len();
    if rank < 2 {
        return Err(n.err(format!("input must have rank >= 2, got {ty}")));
    }
    let (rows, cols) = (ty.shape[rank - 2], ty.shape[rank - 1]);
    let mut mask = Vec::with_capacity(rows.saturating_mul(cols));
    for i in 0..rows {
        for j in 0..cols {
            let d = j as i128 - i as i128;
            mask.push(if upper { d >= i128::from(k) } else { d <= i128::from(k) });
        }
    }
    let mask = TensorData::new(vec![rows, cols], Data::Bool(mask)).map_err(|e| n.err(e.to_string()))?;
    let mask = cx.constant(n, "mask", mask);
    let zero = cx.constant(n, "zero", TensorData::zeros(&TensorType::new(ty.dtype, Vec::<usize>::new())));
    Ok(vec![cx.emit(n, "", Op::Where, vec![mask, x, zero])?])
}
