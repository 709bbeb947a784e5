//! Bad model files give a clear error, never a panic.

mod common;

use int8xc::Model;

fn load_err(bytes: &[u8]) -> String {
    match Model::from_bytes(bytes, None) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn empty_file_is_rejected() {
    let e = load_err(&[]);
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn truncated_protobuf_is_rejected() {
    let bytes = std::fs::read(common::fixtures_dir().join("digits_cnn/model.onnx")).unwrap();
    for cut in [1, 7, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let e = load_err(&bytes[..cut]);
        assert!(!e.is_empty(), "cut at {cut}");
    }
}

#[test]
fn non_onnx_file_is_rejected() {
    let e = load_err(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    assert!(e.to_lowercase().contains("onnx"), "{e}");
    let e = load_err(b"hello, this is a text file\n");
    assert!(e.to_lowercase().contains("onnx"), "{e}");
}

#[test]
fn bad_model_fixtures_get_clear_errors() {
    let dir = common::fixtures_dir().join("bad");
    let cases = [
        ("unsupported_ops.onnx", vec!["NonMaxSuppression", "Hardmax", "nms_node", "hardmax_node"]),
        ("cycle.onnx", vec!["cycle"]),
        ("dangling_input.onnx", vec!["ghost"]),
    ];
    for (file, needles) in cases {
        let model = Model::load(&dir.join(file));
        let err = match model {
            Err(e) => e.to_string(),
            Ok(m) => match int8xc::Compiler::new().compile(&m) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{file}: expected an error"),
            },
        };
        for n in needles {
            assert!(err.contains(n), "{file}: '{n}' missing from: {err}");
        }
    }
}
