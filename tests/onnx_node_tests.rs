//! The ONNX backend node tests (onnx 1.23.2: 1,884 single-op models with inputs and expected
//! outputs), run on the interpreter and on the JIT.
//!
//! The data is generated, not committed: `scripts/onnx_node_tests.sh` writes it to
//! `target/onnx-node-tests/node` (or `$ONNX_NODE_TESTS_DIR/node`). Without it this test prints
//! a note and passes, so `cargo test` never needs the network.
//!
//! Every test is classified per backend as
//! - **pass**: every output matches (float: `|got - expected| <= 1e-7 + 1e-3 * |expected|`,
//!   NaN matches NaN, as the ONNX runner's `assert_allclose`; integers and bools: exact; dtype
//!   and shape must match),
//! - **unsupported**: import or compilation (or the interpreter, for a dtype) says an op,
//!   attribute, opset or element type is not supported,
//! - **fail**: any other error, a wrong output, or a panic (`panic: …`: always a bug).
//!
//! The results are compared with the committed table `docs/onnx-conformance.md`: a test listed
//! as passing that no longer passes fails this test (no silent regressions); newly passing
//! tests are listed with the suggestion to regenerate the table:
//!
//! ```text
//! scripts/onnx_node_tests.sh
//! INT8XC_WRITE_CONFORMANCE=1 cargo test --release --test onnx_node_tests
//! ```
//!
//! Debugging: `INT8XC_NODE_TESTS_FILTER=softmax` runs only the tests whose name contains the
//! string (no table comparison); `INT8XC_NODE_TESTS_VERBOSE=1` prints each test as it starts
//! (to find one that crashes the process) and every result.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use int8xc::{Backend, Compiler, Error, Model, Tensor};
use int8xc_onnx::proto::{type_proto, GraphProto, ValueInfoProto};
use int8xc_onnx::OnnxError;

const RTOL: f64 = 1e-3;
const ATOL: f64 = 1e-7;
const TABLE: &str = "docs/onnx-conformance.md";
const BACKENDS: [Backend; 2] = [Backend::Interp, Backend::Jit];
/// A test running longer than this is named on stderr (a hang cannot be interrupted).
const SLOW: Duration = Duration::from_secs(20);
/// Longest reason kept in the table.
const REASON_CHARS: usize = 160;

/// What happened to one node test on one backend.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Pass,
    /// A pass with a note (inputs frozen to constants).
    PassWith(String),
    Fail(String),
    Unsupported(String),
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Pass | Outcome::PassWith(_) => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::Unsupported(_) => "unsupported",
        }
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Pass => None,
            Outcome::PassWith(r) | Outcome::Fail(r) | Outcome::Unsupported(r) => Some(r),
        }
    }
}

/// One node test's results.
struct TestResult {
    name: String,
    ops: String,
    /// Interpreter, JIT (as [`BACKENDS`]).
    outcomes: [Outcome; 2],
    time: Duration,
}

/// A node test: the model bytes and, per `test_data_set_*`, the inputs (every graph input, by
/// name, with its `.pb` bytes) and the expected outputs.
struct Case {
    dir: PathBuf,
    bytes: Vec<u8>,
    data_sets: Vec<DataSet>,
}

struct DataSet {
    /// `(graph input name, input_j.pb bytes, decoded tensor)` in graph-input order.
    inputs: Vec<(String, Vec<u8>, Tensor)>,
    outputs: Vec<Tensor>,
}

#[test]
fn onnx_node_tests_match_the_conformance_table() {
    let Some(dir) = data_dir() else {
        eprintln!(
            "note: ONNX node-test data not found (target/onnx-node-tests/node or $ONNX_NODE_TESTS_DIR); \
             run scripts/onnx_node_tests.sh to generate it. Skipping."
        );
        return;
    };
    let filter = std::env::var("INT8XC_NODE_TESTS_FILTER").ok().filter(|f| !f.is_empty());
    let verbose = std::env::var("INT8XC_NODE_TESTS_VERBOSE").is_ok_and(|v| v == "1");
    let mut tests: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").is_file())
        .filter(|p| filter.as_deref().is_none_or(|f| file_name(p).contains(f)))
        .collect();
    tests.sort();
    assert!(!tests.is_empty() || filter.is_some(), "no node tests in {}", dir.display());

    let start = Instant::now();
    let results = run_all(&tests, verbose);
    let elapsed = start.elapsed();
    let table = render_table(&results);
    println!("{}", summary_lines(&results).join("\n"));
    let mut slowest: Vec<&TestResult> = results.iter().collect();
    slowest.sort_by_key(|r| std::cmp::Reverse(r.time));
    let slow: Vec<String> = slowest.iter().take(5).map(|r| format!("{} {:.2?}", r.name, r.time)).collect();
    println!("{} node tests in {elapsed:.1?} (slowest: {})", results.len(), slow.join(", "));
    if verbose {
        for r in &results {
            for (b, o) in BACKENDS.iter().zip(&r.outcomes) {
                println!("{} [{}] {}: {}", r.name, b.name(), o.word(), o.reason().unwrap_or(""));
            }
        }
    }
    if filter.is_some() {
        return;
    }

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(TABLE);
    let committed = std::fs::read_to_string(&path).ok();
    let write = std::env::var("INT8XC_WRITE_CONFORMANCE").is_ok_and(|v| v == "1");
    let (regressions, improvements) = match &committed {
        Some(text) => compare(&parse_table(text), &results),
        None => (Vec::new(), Vec::new()),
    };
    if write {
        std::fs::write(&path, &table).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!("wrote {}", path.display());
    } else if committed.is_none() {
        println!("note: {TABLE} does not exist; write it with INT8XC_WRITE_CONFORMANCE=1");
    }
    if !improvements.is_empty() {
        println!(
            "{} newly passing (regenerate {TABLE} with INT8XC_WRITE_CONFORMANCE=1):\n  {}",
            improvements.len(),
            improvements.join("\n  ")
        );
    }
    if !regressions.is_empty() {
        let message = format!(
            "{} node test result(s) listed as passing in {TABLE} no longer pass:\n  {}",
            regressions.len(),
            regressions.join("\n  ")
        );
        if write {
            println!("warning: {message}");
        } else {
            panic!("{message}");
        }
    }
}

/// `$ONNX_NODE_TESTS_DIR/node` (or `$ONNX_NODE_TESTS_DIR` itself when it holds the tests), else
/// `target/onnx-node-tests/node`.
fn data_dir() -> Option<PathBuf> {
    let root = match std::env::var_os("ONNX_NODE_TESTS_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/onnx-node-tests"),
    };
    [root.join("node"), root].into_iter().find(|d| d.is_dir() && has_tests(d))
}

fn has_tests(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut entries| entries.any(|e| e.is_ok_and(|e| e.path().join("model.onnx").is_file())))
        .unwrap_or(false)
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Running

thread_local! {
    /// The message and location of the last panic on this thread (set by the quiet hook).
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs every test on all cores (each worker pulls the next test), panics caught per test.
fn run_all(tests: &[PathBuf], verbose: bool) -> Vec<TestResult> {
    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{}{location}", payload_message(info.payload()))));
    }));
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(tests.len()));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(tests.len().max(1));
    // What each worker runs since when, for the watchdog.
    let running: Vec<Mutex<Option<(String, Instant)>>> = (0..workers).map(|_| Mutex::new(None)).collect();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let workers: Vec<_> = running
            .iter()
            .map(|slot| {
                // Generous stacks: a deep recursion in a backend should be a caught failure,
                // not an abort of the whole run.
                std::thread::Builder::new()
                    .stack_size(64 << 20)
                    .spawn_scoped(s, || loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(dir) = tests.get(i) else { break };
                        if verbose {
                            progress(&format!("start {}", file_name(dir)));
                        }
                        *lock(slot) = Some((file_name(dir), Instant::now()));
                        let result = run_test(dir);
                        *lock(slot) = None;
                        lock(&results).push(result);
                    })
                    .expect("spawn worker thread")
            })
            .collect();
        // A hang cannot be interrupted; name it (on stderr, uncaptured) so a CI timeout says
        // which test it was.
        s.spawn(|| {
            let mut reported = Vec::new();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                for slot in &running {
                    if let Some((name, since)) = lock(slot).as_ref() {
                        if since.elapsed() > SLOW && !reported.contains(name) {
                            progress(&format!("{name} has been running for more than {SLOW:?}"));
                            reported.push(name.clone());
                        }
                    }
                }
            }
        });
        for worker in workers {
            let _ = worker.join();
        }
        done.store(true, Ordering::Relaxed);
    });
    panic::set_hook(previous_hook);
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by(|a, b| a.name.cmp(&b.name));
    results
}

/// Locks, ignoring poisoning (panics are caught per test; the data stays consistent).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes a line to stderr directly, past the test harness's output capture.
fn progress(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// Runs `f`, turning a panic into `Outcome::Fail("panic: …")`.
fn guarded(f: impl FnOnce() -> Outcome) -> Outcome {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(outcome) => outcome,
        Err(payload) => {
            let message = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| payload_message(&*payload));
            Outcome::Fail(format!("panic: {message}"))
        }
    }
}

fn run_test(dir: &Path) -> TestResult {
    let start = Instant::now();
    let name = file_name(dir);
    let bytes = std::fs::read(dir.join("model.onnx")).unwrap_or_default();
    let ops = op_types(&bytes);
    let case = match panic::catch_unwind(AssertUnwindSafe(|| load_case(dir, &bytes))) {
        Ok(case) => case,
        Err(payload) => {
            let message = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| payload_message(&*payload));
            Err(Outcome::Fail(format!("panic: {message}")))
        }
    };
    let outcomes = match case {
        Ok(case) => BACKENDS.map(|backend| guarded(|| run_case(&case, backend))),
        Err(outcome) => [outcome.clone(), outcome],
    };
    TestResult { name, ops, outcomes, time: start.elapsed() }
}

/// The default-domain op types of the model (other domains as `domain:Op`), in order of first
/// use; nested graphs are not listed.
fn op_types(bytes: &[u8]) -> String {
    let Ok(model) = int8xc_onnx::decode_model(bytes) else { return "?".into() };
    let mut ops: Vec<String> = Vec::new();
    for node in model.graph.iter().flat_map(|g| &g.node) {
        let op = match node.domain.as_str() {
            "" | "ai.onnx" => node.op_type.clone(),
            domain => format!("{domain}:{}", node.op_type),
        };
        if !ops.contains(&op) {
            ops.push(op);
        }
    }
    const SHOWN: usize = 8;
    if ops.len() > SHOWN {
        let more = ops.len() - SHOWN;
        ops.truncate(SHOWN);
        ops.push(format!("+{more}"));
    }
    ops.join(" ")
}

/// Decodes the model and every data set; `Err` is the outcome for both backends.
fn load_case(dir: &Path, bytes: &[u8]) -> Result<Case, Outcome> {
    Model::from_bytes(bytes, Some(dir)).map_err(classify)?;
    let proto = int8xc_onnx::decode_model(bytes).map_err(|e| Outcome::Fail(format!("decode: {e}")))?;
    let graph = proto.graph.unwrap_or_default();
    for (kind, values) in [("input", &graph.input), ("output", &graph.output)] {
        if let Some(v) = values.iter().find(|v| !is_tensor(v)) {
            return Err(Outcome::Unsupported(format!("{kind} '{}' is not a tensor (sequence/optional/map)", v.name)));
        }
    }
    let mut sets: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Outcome::Fail(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && file_name(p).starts_with("test_data_set_"))
        .collect();
    sets.sort();
    let mut data_sets = Vec::new();
    for set in sets {
        // An unsupported op explains more than an unsupported element type of its data.
        let unimported = |outcome: Outcome| match unimported_ops(&graph) {
            Some(ops) => Outcome::Unsupported(format!("op {ops} not imported")),
            None => outcome,
        };
        let inputs = read_tensors(&set, "input", graph.input.len()).map_err(unimported)?;
        let outputs =
            read_tensors(&set, "output", graph.output.len()).map_err(unimported)?.into_iter().map(|(_, t)| t).collect();
        // `input_j.pb` is graph input j.
        let inputs = graph.input.iter().zip(inputs).map(|(v, (bytes, t))| (v.name.clone(), bytes, t)).collect();
        data_sets.push(DataSet { inputs, outputs });
    }
    if data_sets.is_empty() {
        return Err(Outcome::Fail("no test_data_set_*".into()));
    }
    Ok(Case { dir: dir.to_path_buf(), bytes: bytes.to_vec(), data_sets })
}

/// The ops of `graph` the importer does not translate (as [`OnnxError::UnsupportedOps`] lists
/// them), or `None`.
fn unimported_ops(graph: &GraphProto) -> Option<String> {
    let mut ops: Vec<String> = Vec::new();
    for node in &graph.node {
        let op = match node.domain.as_str() {
            "" | "ai.onnx" if int8xc_onnx::SUPPORTED_OPS.contains(&node.op_type.as_str()) => continue,
            "" | "ai.onnx" => node.op_type.clone(),
            domain => format!("{domain}:{}", node.op_type),
        };
        if !ops.contains(&op) {
            ops.push(op);
        }
    }
    (!ops.is_empty()).then(|| ops.join(", "))
}

fn is_tensor(v: &ValueInfoProto) -> bool {
    matches!(v.r#type.as_ref().and_then(|t| t.value.as_ref()), Some(type_proto::Value::TensorType(_)))
}

/// `{kind}_0.pb` … `{kind}_{n-1}.pb` of one data set: bytes and decoded tensor.
fn read_tensors(set: &Path, kind: &str, n: usize) -> Result<Vec<(Vec<u8>, Tensor)>, Outcome> {
    (0..n)
        .map(|j| {
            let path = set.join(format!("{kind}_{j}.pb"));
            let bytes = std::fs::read(&path).map_err(|e| Outcome::Fail(format!("{}: {e}", path.display())))?;
            let tensor = int8xc_onnx::decode_tensor(&bytes).map_err(|e| match &e {
                OnnxError::Tensor { message, .. } if message.contains("not supported") => {
                    Outcome::Unsupported(format!("{kind} {j}: {message}"))
                }
                _ => Outcome::Fail(format!("{kind} {j}: {e}")),
            })?;
            Ok((bytes, tensor))
        })
        .collect()
}

/// The model with the graph inputs in `frozen` turned into initializers holding data set 0's
/// values.
///
/// Protobuf merges repeated occurrences of a message field, so appending
/// `graph { initializer: <input_j.pb> }` to the model bytes adds the initializers without
/// re-encoding the model (the `.pb` is a `TensorProto` named after the input).
fn model_with_frozen(case: &Case, frozen: &[String]) -> Result<Model, Error> {
    let mut bytes = case.bytes.clone();
    for name in frozen {
        if let Some((_, pb, _)) = case.data_sets[0].inputs.iter().find(|(n, _, _)| n == name) {
            let mut initializer = vec![(5 << 3) | 2];
            push_varint(&mut initializer, pb.len() as u64);
            initializer.extend_from_slice(pb);
            bytes.push((7 << 3) | 2);
            push_varint(&mut bytes, initializer.len() as u64);
            bytes.extend_from_slice(&initializer);
        }
    }
    Model::from_bytes(&bytes, Some(&case.dir))
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The graph input the importer wants constant ("input 1 ('axes', value 'axes') must be a
/// constant known at import time").
fn needs_constant(e: &Error) -> Option<String> {
    let Error::Onnx(OnnxError::Node { message, .. }) = e else { return None };
    if !message.contains("must be a constant known at import time") {
        return None;
    }
    let start = message.find("value '")? + "value '".len();
    let len = message[start..].find('\'')?;
    Some(message[start..start + len].to_string())
}

/// Compiles for `backend` with shapes bound from the first data set and runs every data set.
/// Inputs the importer needs as constants (shape-like operands: `axes`, `shape`, `scales`, …)
/// are frozen to data set 0's values and the test is retried; the outcome's reason says so.
fn run_case(case: &Case, backend: Backend) -> Outcome {
    let mut frozen: Vec<String> = Vec::new();
    let (model, compiled) = loop {
        let model = match model_with_frozen(case, &frozen) {
            Ok(model) => model,
            Err(e) => return with_frozen(classify(e), &frozen),
        };
        let mut compiler = Compiler::new().backend(backend);
        for info in model.inputs() {
            if let Some((_, _, t)) = case.data_sets[0].inputs.iter().find(|(n, _, _)| *n == info.name) {
                compiler = compiler.input_shape(&info.name, t.shape().to_vec());
            }
        }
        match compiler.compile(&model) {
            Ok(compiled) => break (model, compiled),
            Err(e) => match needs_constant(&e) {
                Some(v) if !frozen.contains(&v) && case.data_sets[0].inputs.iter().any(|(n, _, _)| *n == v) => {
                    frozen.push(v)
                }
                _ => return with_frozen(classify(e), &frozen),
            },
        }
    };
    let names: Vec<String> = model.inputs().into_iter().map(|i| i.name).collect();
    for (k, set) in case.data_sets.iter().enumerate() {
        let inputs: Vec<Tensor> = names
            .iter()
            .filter_map(|n| set.inputs.iter().find(|(m, _, _)| m == n).map(|(_, _, t)| t.clone()))
            .collect();
        let got = match compiled.run(&inputs) {
            Ok(got) => got,
            Err(e) => {
                let outcome = match classify(e) {
                    Outcome::Unsupported(r) => Outcome::Unsupported(format!("run: {r}")),
                    Outcome::Fail(r) => Outcome::Fail(format!("run: {r}")),
                    pass => pass,
                };
                return with_frozen(outcome, &frozen);
            }
        };
        if let Err(mismatch) = compare_outputs(&got, &set.outputs) {
            let set = if case.data_sets.len() > 1 { format!("data set {k}: ") } else { String::new() };
            return with_frozen(Outcome::Fail(format!("{set}{mismatch}")), &frozen);
        }
    }
    with_frozen(Outcome::Pass, &frozen)
}

/// Prefixes the reason with the inputs that were frozen to constants (`[const axes]`); a pass
/// with frozen inputs is a pass with that note.
fn with_frozen(outcome: Outcome, frozen: &[String]) -> Outcome {
    if frozen.is_empty() {
        return outcome;
    }
    let note = format!("[const {}]", frozen.join(", "));
    match outcome {
        Outcome::Pass => Outcome::PassWith(note),
        Outcome::Fail(r) => Outcome::Fail(format!("{note} {r}")),
        Outcome::Unsupported(r) => Outcome::Unsupported(format!("{note} {r}")),
        other => other,
    }
}

/// Sorts an error into unsupported (an op, attribute, opset or dtype the stage declines) or
/// fail.
fn classify(e: Error) -> Outcome {
    let unsupported = match &e {
        Error::Onnx(OnnxError::UnsupportedOps(ops)) => {
            let mut names: Vec<String> = Vec::new();
            for o in ops {
                let name = if o.domain.is_empty() { o.op_type.clone() } else { format!("{}:{}", o.domain, o.op_type) };
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            return Outcome::Unsupported(format!("op {} not imported", names.join(", ")));
        }
        Error::Onnx(OnnxError::Opset(_)) => true,
        Error::Onnx(OnnxError::Node { message, .. })
        | Error::Onnx(OnnxError::Tensor { message, .. })
        | Error::Onnx(OnnxError::InputShape { message, .. }) => is_unsupported_message(message),
        Error::Jit(int8xc_jit::JitError::Unsupported { .. }) => true,
        other => is_unsupported_message(&other.to_string()),
    };
    let message = one_line(&e.to_string());
    if unsupported {
        Outcome::Unsupported(message)
    } else {
        Outcome::Fail(message)
    }
}

/// Messages of a stage declining a feature: "… is not supported", "unsupported …", "only 2-D
/// Conv is supported", or a value that must be constant but is computed at run time (unless
/// constant folding itself failed, which is a bug).
fn is_unsupported_message(message: &str) -> bool {
    message.contains("not supported")
        || message.contains("unsupported")
        || (message.contains("only ") && message.contains(" is supported"))
        || (message.contains("must be a constant known at import time") && !message.contains("constant folding failed"))
}

fn one_line(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > REASON_CHARS {
        let cut: String = s.chars().take(REASON_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// Checks count, dtype, shape and values of every output.
fn compare_outputs(got: &[Tensor], expected: &[Tensor]) -> Result<(), String> {
    if got.len() != expected.len() {
        return Err(format!("{} outputs, expected {}", got.len(), expected.len()));
    }
    for (k, (g, e)) in got.iter().zip(expected).enumerate() {
        if g.dtype() != e.dtype() {
            return Err(format!("output {k}: dtype {}, expected {}", g.dtype(), e.dtype()));
        }
        if g.shape() != e.shape() {
            return Err(format!("output {k}: shape {:?}, expected {:?}", g.shape(), e.shape()));
        }
        if e.dtype().is_float() {
            let (gv, ev) = (g.to_f32_vec(), e.to_f32_vec());
            let bad = gv.iter().zip(&ev).enumerate().filter(|(_, (&a, &b))| !close(a, b));
            let count = bad.clone().count();
            if let Some((i, (a, b))) = bad.max_by(|x, y| {
                let d = |(a, b): (&f32, &f32)| (*a as f64 - *b as f64).abs();
                d(x.1).partial_cmp(&d(y.1)).unwrap_or(std::cmp::Ordering::Less)
            }) {
                return Err(format!(
                    "output {k}: {count} of {} values differ; worst at {:?}: {a}, expected {b}",
                    ev.len(),
                    index_of(i, e.shape())
                ));
            }
        } else {
            let (gv, ev) = (g.to_i64_vec().unwrap_or_default(), e.to_i64_vec().unwrap_or_default());
            let count = gv.iter().zip(&ev).filter(|(a, b)| a != b).count();
            if let Some((i, (a, b))) = gv.iter().zip(&ev).enumerate().find(|(_, (a, b))| a != b) {
                return Err(format!(
                    "output {k}: {count} of {} values differ; first at {:?}: {a}, expected {b}",
                    ev.len(),
                    index_of(i, e.shape())
                ));
            }
        }
    }
    Ok(())
}

/// `numpy.testing.assert_allclose(got, expected, rtol, atol)` for one element (NaN == NaN).
fn close(got: f32, expected: f32) -> bool {
    if got.is_nan() || expected.is_nan() {
        return got.is_nan() && expected.is_nan();
    }
    if got.is_infinite() || expected.is_infinite() {
        return got == expected;
    }
    (got as f64 - expected as f64).abs() <= ATOL + RTOL * (expected as f64).abs()
}

/// The multi-index of flat index `i` in `shape`.
fn index_of(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            index[k] = i % d;
            i /= d;
        }
    }
    index
}

// ---------------------------------------------------------------------------------------------
// The table

/// Known causes of failures that the error message alone does not explain, by test name (or
/// `prefix_*`); shown before the message of a failing test in the table.
const NOTES: &[(&str, &str)] = &[
    (
        "test_attention_4d_causal_fp16_expanded",
        "f16 chain: results differ by one f16 ulp (~1e-3 relative), the ONNX reference rounds every op's output to f16",
    ),
    ("test_clip_default_int8_*", "opset 13 Clip on int8: integer Clip is valid since opset 12"),
    ("test_clip_min_greater_than_max", "opset 13 Clip with min > max: ONNX defines the result as all max"),
    (
        "test_convtranspose_output_shape",
        "output_shape [10, 8] with strides [3, 2] gives total padding -1: ONNX adds the missing row/column \
         (as output_padding [1, 1]), the importer rejects it",
    ),
    ("test_qlinearmatmul_2D_int8_float16", QLINEARMATMUL_F16),
    ("test_qlinearmatmul_2D_uint8_float16", QLINEARMATMUL_F16),
    ("test_qlinearmatmul_3D_int8_float16", QLINEARMATMUL_F16),
    ("test_qlinearmatmul_3D_uint8_float16", QLINEARMATMUL_F16),
];

const QLINEARMATMUL_F16: &str = "opset 21 QLinearMatMul with float16 scales: the importer takes f32 scales only";

/// The note for a test: an exact name, or a prefix written `name_*`.
fn note_for(name: &str) -> Option<&'static str> {
    NOTES
        .iter()
        .find(|(key, _)| match key.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *key,
        })
        .map(|(_, note)| *note)
}

fn summary_lines(results: &[TestResult]) -> Vec<String> {
    BACKENDS
        .iter()
        .enumerate()
        .map(|(b, backend)| {
            let count = |w: &str| results.iter().filter(|r| r.outcomes[b].word() == w).count();
            format!(
                "{:>6}: {} passed, {} failed, {} unsupported of {}",
                backend.name(),
                count("pass"),
                count("fail"),
                count("unsupported"),
                results.len()
            )
        })
        .collect()
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn render_table(results: &[TestResult]) -> String {
    let mut out = String::new();
    let total = results.len();
    out.push_str("# ONNX backend node-test conformance\n\n");
    out.push_str(
        "Generated by `tests/onnx_node_tests.rs` from the node tests of onnx 1.23.2 \
         (`scripts/onnx_node_tests.sh`, then\n`INT8XC_WRITE_CONFORMANCE=1 cargo test --release --test onnx_node_tests`); \
         do not edit by hand.\nA test listed as `pass` that stops passing fails `cargo test`. Floats are compared with \
         rtol 1e-3 / atol 1e-7 (as the ONNX runner), integers and bools exactly.\n\n",
    );
    out.push_str("| backend | passed | failed | unsupported | total |\n|---|---:|---:|---:|---:|\n");
    for (b, backend) in BACKENDS.iter().enumerate() {
        let count = |w: &str| results.iter().filter(|r| r.outcomes[b].word() == w).count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {total} |",
            match backend {
                Backend::Interp => "interpreter",
                Backend::Jit => "JIT",
            },
            count("pass"),
            count("fail"),
            count("unsupported")
        );
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in results {
        if let Outcome::Unsupported(reason) = &r.outcomes[0] {
            if let Some(op) = reason.strip_prefix("op ").and_then(|r| r.strip_suffix(" not imported")) {
                for op in op.split(", ") {
                    *reasons.entry(op.to_string()).or_default() += 1;
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "\nOps not imported (tests that use them): {}.\n",
        reasons.iter().map(|(op, n)| format!("{op} ({n})")).collect::<Vec<_>>().join(", ")
    );
    out.push_str("| test | op types | interpreter | JIT | reason |\n|---|---|---|---|---|\n");
    for r in results {
        let [interp, jit] = &r.outcomes;
        let mut reason = match (interp.reason(), jit.reason()) {
            (None, None) => String::new(),
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), None) => format!("interpreter: {a}"),
            (None, Some(b)) => format!("JIT: {b}"),
            (Some(a), Some(b)) => format!("interpreter: {a}; JIT: {b}"),
        };
        if let Some(note) = note_for(&r.name).filter(|_| r.outcomes.iter().any(|o| o.word() == "fail")) {
            reason = format!("**{note}**: {reason}");
        }
        let _ =
            writeln!(out, "| {} | {} | {} | {} | {} |", r.name, cell(&r.ops), interp.word(), jit.word(), cell(&reason));
    }
    out
}

/// `test name → [interpreter, JIT]` status words from a committed table.
fn parse_table(text: &str) -> HashMap<String, [String; 2]> {
    text.lines()
        .filter(|l| l.starts_with("| test_"))
        .filter_map(|l| {
            // The op-type and reason cells may contain escaped pipes; the status cells do not.
            let cells: Vec<&str> = l.split(" | ").map(str::trim).collect();
            let name = cells.first()?.trim_start_matches('|').trim().to_string();
            Some((name, [cells.get(2)?.to_string(), cells.get(3)?.to_string()]))
        })
        .collect()
}

/// (regressions, improvements) of `results` against the committed statuses.
fn compare(committed: &HashMap<String, [String; 2]>, results: &[TestResult]) -> (Vec<String>, Vec<String>) {
    let mut regressions = Vec::new();
    let mut improvements = Vec::new();
    for r in results {
        let Some(before) = committed.get(&r.name) else { continue };
        for (b, backend) in BACKENDS.iter().enumerate() {
            let now = &r.outcomes[b];
            match (before[b].as_str(), now.word()) {
                ("pass", "pass") => {}
                ("pass", _) => regressions.push(format!(
                    "{} [{}]: {} ({})",
                    r.name,
                    backend.name(),
                    now.word(),
                    now.reason().unwrap_or("")
                )),
                (_, "pass") => improvements.push(format!("{} [{}]", r.name, backend.name())),
                _ => {}
            }
        }
    }
    (regressions, improvements)
}
