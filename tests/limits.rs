//! Absurd sizes in hostile ONNX files are rejected with a clear error before anything big is
//! allocated.
//!
//! The models are written with a tiny protobuf byte builder (no prost), so a test can declare a
//! 2^40-element tensor in a few bytes. The test binary's global allocator refuses any single
//! allocation above [`ALLOCATION_CAP`]: code that tries to allocate gigabytes aborts this test
//! binary ("memory allocation of N bytes failed") instead of swapping the machine.

use std::alloc::{GlobalAlloc, Layout, System};
use std::time::{Duration, Instant};

use int8xc::{Backend, Compiler, Error, Model};

/// Largest single allocation the tests allow (the importer's own fold limit is 256 MiB).
const ALLOCATION_CAP: usize = 512 << 20;

/// The system allocator, refusing allocations above [`ALLOCATION_CAP`].
struct CappedAllocator;

// SAFETY: every call forwards to `System` with the caller's arguments, or returns null, which
// `GlobalAlloc` allows for any failed allocation; the allocator never unwinds.
unsafe impl GlobalAlloc for CappedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_CAP {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_CAP {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > ALLOCATION_CAP {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CappedAllocator = CappedAllocator;

// ---------------------------------------------------------------------------------------------
// A protobuf writer for the few ONNX messages these tests need (field numbers from onnx.proto).

/// One protobuf message being written.
#[derive(Clone, Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn new() -> Self {
        Msg::default()
    }

    fn tag(mut self, field: u32, wire: u8) -> Self {
        push_varint(&mut self.0, (u64::from(field) << 3) | u64::from(wire));
        self
    }

    /// A varint field (int64 values are written as their two's-complement `u64`, as protobuf
    /// does: a negative value takes 10 bytes).
    fn int(self, field: u32, v: i64) -> Self {
        let mut m = self.tag(field, 0);
        push_varint(&mut m.0, v as u64);
        m
    }

    fn bytes(self, field: u32, b: &[u8]) -> Self {
        let mut m = self.tag(field, 2);
        push_varint(&mut m.0, b.len() as u64);
        m.0.extend_from_slice(b);
        m
    }

    fn str(self, field: u32, s: &str) -> Self {
        self.bytes(field, s.as_bytes())
    }

    fn msg(self, field: u32, m: &Msg) -> Self {
        self.bytes(field, &m.0)
    }
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

const FLOAT: i64 = 1;
const INT64: i64 = 7;

/// `TensorProto { dims, data_type, name, raw_data }`.
fn tensor(name: &str, dtype: i64, dims: &[i64], raw: &[u8]) -> Msg {
    let mut t = Msg::new();
    for &d in dims {
        t = t.int(1, d);
    }
    t.int(2, dtype).str(8, name).bytes(9, raw)
}

/// `ValueInfoProto` of a tensor with fixed dims (`Ok`) or symbolic ones (`Err`).
fn value_info(name: &str, dtype: i64, dims: &[Result<i64, &str>]) -> Msg {
    let mut shape = Msg::new();
    for d in dims {
        let dim = match d {
            Ok(v) => Msg::new().int(1, *v),
            Err(p) => Msg::new().str(2, p),
        };
        shape = shape.msg(1, &dim);
    }
    let tensor_type = Msg::new().int(1, dtype).msg(2, &shape);
    Msg::new().str(1, name).msg(2, &Msg::new().msg(1, &tensor_type))
}

/// `NodeProto { input, output, name, op_type }`.
fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> Msg {
    let mut n = Msg::new();
    for i in inputs {
        n = n.str(1, i);
    }
    for o in outputs {
        n = n.str(2, o);
    }
    n.str(3, name).str(4, op)
}

/// A `ModelProto` (ir_version 8, opset 17) around a graph.
fn model(graph: &Msg) -> Vec<u8> {
    let opset = Msg::new().str(1, "").int(2, 17);
    Msg::new().int(1, 8).msg(8, &opset).msg(7, graph).0
}

/// A graph `x → Relu → y` over a float input with the given dims.
fn relu_graph(dims: &[Result<i64, &str>]) -> Msg {
    Msg::new()
        .msg(1, &node("Relu", "relu", &["x"], &["y"]))
        .str(2, "limits")
        .msg(11, &value_info("x", FLOAT, dims))
        .msg(12, &value_info("y", FLOAT, &[]))
}

/// A graph `y = x + w` with initializer `w` of the given dims and raw bytes.
fn add_initializer_graph(w_dims: &[i64], w_raw: &[u8]) -> Msg {
    Msg::new()
        .msg(1, &node("Add", "add", &["x", "w"], &["y"]))
        .str(2, "limits")
        .msg(5, &tensor("w", FLOAT, w_dims, w_raw))
        .msg(11, &value_info("x", FLOAT, &[Ok(1)]))
        .msg(12, &value_info("y", FLOAT, &[]))
}

/// Decodes `bytes` and compiles them for `backend`; the error message of the first stage that
/// fails.
fn compile_error(bytes: &[u8], backend: Backend) -> String {
    let result = Model::from_bytes(bytes, None).and_then(|m| Compiler::new().backend(backend).compile(&m));
    match result {
        Ok(_) => panic!("expected an error, but the model compiled for {}", backend.name()),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(message.contains(needle), "error message {message:?} should mention {needle:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Initializers

#[test]
fn initializer_with_2_pow_40_elements_is_rejected_before_allocation() {
    let bytes = model(&add_initializer_graph(&[1 << 40], &[0; 16]));
    for backend in [Backend::Interp, Backend::Jit] {
        let message = compile_error(&bytes, backend);
        assert_mentions(&message, &["'w'", "2^31"]);
    }
}

#[test]
fn initializer_whose_dims_multiply_past_2_pow_31_is_rejected() {
    // Every dim is allowed, the product (2^40) is not.
    let bytes = model(&add_initializer_graph(&[1 << 20, 1 << 20], &[0; 16]));
    assert_mentions(&compile_error(&bytes, Backend::Interp), &["'w'", "more than 2^31 elements"]);
}

#[test]
fn initializer_with_a_negative_dim_is_rejected() {
    let bytes = model(&add_initializer_graph(&[-4], &[0; 16]));
    assert_mentions(&compile_error(&bytes, Backend::Interp), &["'w'", "negative"]);
}

#[test]
fn initializer_dims_whose_product_overflows_u64_are_rejected() {
    // 2^31 · 2^31 · 2^31 · 2^31 wraps to 0 in u64 arithmetic.
    let bytes = model(&add_initializer_graph(&[1 << 31; 4], &[]));
    assert_mentions(&compile_error(&bytes, Backend::Interp), &["'w'", "2^31"]);
}

#[test]
fn initializer_with_fewer_raw_bytes_than_its_dims_need_is_rejected() {
    let bytes = model(&add_initializer_graph(&[1 << 30], &[0; 16]));
    assert_mentions(&compile_error(&bytes, Backend::Interp), &["'w'", "raw_data has 16 bytes"]);
}

// ---------------------------------------------------------------------------------------------
// Graph inputs

#[test]
fn graph_input_with_a_2_pow_40_dim_is_rejected() {
    let bytes = model(&relu_graph(&[Ok(1 << 40)]));
    for backend in [Backend::Interp, Backend::Jit] {
        assert_mentions(&compile_error(&bytes, backend), &["'x'", "2^31"]);
    }
}

#[test]
fn graph_input_with_a_negative_dim_is_rejected() {
    let bytes = model(&relu_graph(&[Ok(1), Ok(-3)]));
    assert_mentions(&compile_error(&bytes, Backend::Interp), &["'x'", "negative"]);
}

#[test]
fn graph_input_whose_fixed_dims_multiply_past_2_pow_31_is_rejected() {
    // Each dim is below the 2^31 limit; the input would be 2^40 floats (4 TiB) and the JIT
    // would plan an arena of that size.
    let bytes = model(&relu_graph(&[Ok(1 << 20), Ok(1 << 20)]));
    for backend in [Backend::Interp, Backend::Jit] {
        assert_mentions(&compile_error(&bytes, backend), &["'x'", "2^31"]);
    }
}

#[test]
fn binding_a_symbolic_dim_to_2_pow_40_is_rejected() {
    let bytes = model(&relu_graph(&[Err("batch"), Ok(8)]));
    let model = Model::from_bytes(&bytes, None).expect("decodes");
    let result = Compiler::new().backend(Backend::Interp).input_shape("x", [1usize << 40, 8]).compile(&model);
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert_mentions(&message, &["'x'", "2^31"]);
}

// ---------------------------------------------------------------------------------------------
// Shape-creating ops: a few bytes that ask for a huge tensor

#[test]
fn constant_of_shape_with_a_huge_constant_shape_is_rejected() {
    // ConstantOfShape(shape = [2^30, 4]) of f32: 16 GiB from a 16-byte initializer.
    let shape: Vec<u8> = [1i64 << 30, 4].iter().flat_map(|v| v.to_le_bytes()).collect();
    let graph = Msg::new()
        .msg(1, &node("ConstantOfShape", "cos", &["shape"], &["c"]))
        .msg(1, &node("Add", "add", &["x", "c"], &["y"]))
        .str(2, "limits")
        .msg(5, &tensor("shape", INT64, &[2], &shape))
        .msg(11, &value_info("x", FLOAT, &[Ok(1)]))
        .msg(12, &value_info("y", FLOAT, &[]));
    let message = compile_error(&model(&graph), Backend::Interp);
    assert_mentions(&message, &["ConstantOfShape"]);
}

#[test]
fn range_with_a_huge_count_is_rejected() {
    let scalar = |name: &str, v: i64| tensor(name, INT64, &[], &v.to_le_bytes());
    let graph = Msg::new()
        .msg(1, &node("Range", "range", &["start", "limit", "delta"], &["r"]))
        .msg(1, &node("Add", "add", &["x", "r"], &["y"]))
        .str(2, "limits")
        .msg(5, &scalar("start", 0))
        .msg(5, &scalar("limit", i64::MAX))
        .msg(5, &scalar("delta", 1))
        .msg(11, &value_info("x", INT64, &[Ok(1)]))
        .msg(12, &value_info("y", INT64, &[]));
    let message = compile_error(&model(&graph), Backend::Interp);
    assert_mentions(&message, &["Range", "limit"]);
}

// ---------------------------------------------------------------------------------------------
// Wire format

#[test]
fn length_prefix_of_2_pow_62_is_a_decode_error() {
    // ModelProto { ir_version: 8, graph: <declares 2^62 bytes, has 3> }.
    let mut bytes = Msg::new().int(1, 8).tag(7, 2).0;
    push_varint(&mut bytes, 1 << 62);
    bytes.extend_from_slice(&[0x0a, 0x01, 0x00]);
    let message = Model::from_bytes(&bytes, None).err().map(|e| e.to_string()).unwrap_or_default();
    assert_mentions(&message, &["graph", "byte offset"]);
}

#[test]
fn graph_nested_200_levels_deep_is_an_error_not_a_stack_overflow() {
    // A node attribute holding a graph holding a node with a graph attribute, ... (If/Loop
    // bodies): prost's recursion limit must stop the decoder.
    let mut graph = Msg::new().str(2, "leaf");
    for depth in 0..200 {
        let attribute = Msg::new().str(1, "then_branch").msg(6, &graph).int(20, 5);
        let name = format!("if_{depth}");
        graph = Msg::new().msg(1, &node("If", &name, &["c"], &["o"]).msg(5, &attribute)).str(2, "g");
    }
    let bytes = model(&graph);
    let message = Model::from_bytes(&bytes, None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(!message.is_empty(), "a 200-level graph nesting should not decode");
}

// ---------------------------------------------------------------------------------------------
// Size of the graph

#[test]
fn a_million_relu_chain_imports_or_errors_quickly() {
    // 10^6 nodes take ~9 s to compile in release builds and ~13 s in debug builds; debug builds
    // (`cargo test --workspace`) check 2·10^5.
    const NODES: usize = if cfg!(debug_assertions) { 200_000 } else { 1_000_000 };
    let mut graph = Msg::new();
    for i in 0..NODES {
        let input = if i == 0 { "x".to_string() } else { format!("v{}", i - 1) };
        let output = if i + 1 == NODES { "y".to_string() } else { format!("v{i}") };
        graph = graph.msg(1, &node("Relu", "", &[&input], &[&output]));
    }
    let graph = graph.str(2, "chain").msg(11, &value_info("x", FLOAT, &[Ok(4)])).msg(12, &value_info("y", FLOAT, &[]));
    let bytes = model(&graph);
    let start = Instant::now();
    let model = Model::from_bytes(&bytes, None).expect("a million nodes decode");
    let decode = start.elapsed();
    let result = Compiler::new().backend(Backend::Interp).compile(&model);
    let compile = start.elapsed() - decode;
    println!(
        "{NODES} nodes ({} MB): decode {decode:.2?}, compile {compile:.2?}: {:?}",
        bytes.len() >> 20,
        result.as_ref().err()
    );
    assert!(
        compile < Duration::from_secs(120),
        "compiling a {NODES}-node chain took {compile:.1?}; the importer should refuse such graphs early"
    );
    if let Err(e) = result {
        assert!(!matches!(e, Error::Runtime(_)), "unexpected error kind: {e}");
    }
}

#[test]
fn more_nodes_than_the_limit_are_refused_before_import() {
    let nodes = int8xc_ir::MAX_NODES + 1;
    let mut graph = Msg::new();
    for i in 0..nodes {
        let input = if i == 0 { "x".to_string() } else { format!("v{}", i - 1) };
        let output = if i + 1 == nodes { "y".to_string() } else { format!("v{i}") };
        graph = graph.msg(1, &node("Relu", "", &[&input], &[&output]));
    }
    let graph = graph.str(2, "chain").msg(11, &value_info("x", FLOAT, &[Ok(4)])).msg(12, &value_info("y", FLOAT, &[]));
    let model = Model::from_bytes(&model(&graph), None).expect("decodes");
    let start = Instant::now();
    let err = Compiler::new().backend(Backend::Interp).compile(&model).err().expect("refused").to_string();
    assert!(err.contains("at most 1000000"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5), "refusal took {:?}", start.elapsed());
}

#[test]
fn graph_input_of_exactly_2_pow_31_elements_compiles_for_the_interpreter_without_allocating() {
    // 2^31 f32 elements (8 GiB) is at the limit, so the model is valid; compiling must not
    // allocate the tensors (running it needs an 8 GiB input from the caller).
    let bytes = model(&relu_graph(&[Ok(1 << 31)]));
    let model = Model::from_bytes(&bytes, None).expect("decodes");
    let compiled = Compiler::new().backend(Backend::Interp).compile(&model);
    assert!(compiled.is_ok(), "{:?}", compiled.err().map(|e| e.to_string()));
    // The JIT allocates its arena at compile time; 16 GiB (input and output) is above its
    // limit, so it refuses with an error naming the size instead of allocating.
    let err = Compiler::new().backend(Backend::Jit).compile(&model).err().expect("refused").to_string();
    assert!(err.contains("arena needs 17179869184 bytes"), "{err}");
}
