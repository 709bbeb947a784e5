//! A standalone serialized `TensorProto` (an ONNX `.pb` tensor file, as in the ONNX backend
//! tests' `test_data_set_*/input_*.pb`) → [`TensorData`].

use int8xc_ir::TensorData;
use prost::Message;

use crate::decode::tensor_to_data;
use crate::proto::TensorProto;
use crate::OnnxError;

/// Decodes the protobuf bytes of one `TensorProto` and converts it with [`tensor_to_data`]
/// (no base directory: tensors with external data are an error).
///
/// Errors: [`OnnxError::Decode`] when the bytes are not a well-formed `TensorProto`;
/// [`OnnxError::Tensor`] as [`tensor_to_data`] (element type without IR equivalent, absurd
/// dims, a data size that does not match the dims).
pub fn decode_tensor(bytes: &[u8]) -> Result<TensorData, OnnxError> {
    let tensor = TensorProto::decode(bytes).map_err(|e| OnnxError::Decode(format!("TensorProto: {e}")))?;
    tensor_to_data(&tensor, None)
}
