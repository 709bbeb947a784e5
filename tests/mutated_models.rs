//! Mutated fixture models never make loading, compiling or running panic.
//!
//! Each case takes the bytes of a fixture model (`tests/fixtures/*/model.onnx`, and the
//! hand-made bad models) and applies one to three mutations: truncation, bit and byte flips, a
//! chunk of another model spliced in, a varint of the protobuf structure set to a huge or
//! negative value (re-encoded, so the message stays well-formed and the value reaches the
//! importer), or a varint overwritten in place (which breaks the enclosing lengths). Then
//! `Model::from_bytes` → `Compiler::compile` (interpreter) → a run on zero inputs of the bound
//! shapes must return `Ok` or `Err`, never panic.
//!
//! The cases are deterministic (a fixed seed; `INT8XC_MUTATION_SEED=<u64>` picks another,
//! `INT8XC_MUTATION_CASES=<n>` runs more). A failing case prints the seed, the fixture, the
//! mutations and the panic, and its bytes are saved under the cargo target tmpdir; copy them to
//! `tests/fuzz_regressions/` to keep them as a regression case. Every file in
//! `tests/fuzz_regressions/` (crashes found by `cargo fuzz`, see `fuzz/`) is also run.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use int8xc::{Backend, Compiler, Model, Tensor};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

const DEFAULT_SEED: u64 = 0x1e8_c0de;
const DEFAULT_CASES: u32 = 1000;
/// Largest total input size (elements) the run step feeds; bigger bound shapes are only
/// compiled.
const MAX_RUN_ELEMENTS: usize = 1 << 22;

/// One change to a model's bytes; positions are fractions of the current length, so a
/// mutation applies to any model.
#[derive(Clone, Debug)]
enum Mutation {
    /// Keep only the first `at` of the bytes.
    Truncate { at: f64 },
    /// Flip one bit at each position.
    FlipBits { bits: Vec<(f64, u8)> },
    /// Overwrite the byte at each position.
    SetBytes { bytes: Vec<(f64, u8)> },
    /// Replace `replace` bytes at `at` with `len` bytes of fixture `donor` starting at `from`.
    Splice { donor: usize, from: f64, len: usize, at: f64, replace: usize },
    /// Set the `which`-th varint of the parsed protobuf tree to `value` and re-encode.
    SetVarint { which: f64, value: u64 },
    /// Overwrite the varint that starts at (or after) `at` in place with `value`'s encoding.
    RawVarint { at: f64, value: u64 },
    /// Remove the `which`-th field of the parsed tree (depth-first order) and re-encode.
    DropField { which: f64 },
    /// Repeat the `which`-th field of the parsed tree right after itself and re-encode.
    DuplicateField { which: f64 },
    /// Replace the contents of the `which`-th string/bytes field with those of the `from`-th
    /// (names, op types, raw data), and re-encode.
    CopyBytes { which: f64, from: f64 },
}

/// Values that break size arithmetic: limits, powers of two, negatives as two's complement.
fn huge_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(u64::MAX),
        Just(1 << 31),
        Just((1 << 31) + 1),
        Just(1 << 32),
        Just(1 << 40),
        Just(1 << 62),
        Just(i64::MAX as u64),
        Just(i64::MIN as u64),
        Just(-1i64 as u64),
        Just(-2i64 as u64),
        Just(0),
        Just(1),
        Just(255),
        any::<u64>(),
    ]
}

fn mutation(donors: usize) -> impl Strategy<Value = Mutation> {
    let pos = 0.0..1.0f64;
    prop_oneof![
        1 => pos.clone().prop_map(|at| Mutation::Truncate { at }),
        1 => prop::collection::vec((pos.clone(), 0..8u8), 1..8).prop_map(|bits| Mutation::FlipBits { bits }),
        1 => prop::collection::vec((pos.clone(), any::<u8>()), 1..8).prop_map(|bytes| Mutation::SetBytes { bytes }),
        1 => (0..donors, pos.clone(), 1..512usize, pos.clone(), 0..512usize)
            .prop_map(|(donor, from, len, at, replace)| Mutation::Splice { donor, from, len, at, replace }),
        3 => (pos.clone(), huge_value()).prop_map(|(which, value)| Mutation::SetVarint { which, value }),
        1 => (pos.clone(), huge_value()).prop_map(|(at, value)| Mutation::RawVarint { at, value }),
        2 => pos.clone().prop_map(|which| Mutation::DropField { which }),
        2 => pos.clone().prop_map(|which| Mutation::DuplicateField { which }),
        2 => (pos.clone(), pos).prop_map(|(which, from)| Mutation::CopyBytes { which, from }),
    ]
}

fn index(at: f64, len: usize) -> usize {
    ((at * len as f64) as usize).min(len)
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation, donors: &[(String, Vec<u8>)]) {
    let len = bytes.len();
    match m {
        Mutation::Truncate { at } => bytes.truncate(index(*at, len)),
        Mutation::FlipBits { bits } => {
            for &(at, bit) in bits {
                if let Some(b) = bytes.get_mut(index(at, len)) {
                    *b ^= 1 << bit;
                }
            }
        }
        Mutation::SetBytes { bytes: changes } => {
            for &(at, value) in changes {
                if let Some(b) = bytes.get_mut(index(at, len)) {
                    *b = value;
                }
            }
        }
        Mutation::Splice { donor, from, len: n, at, replace } => {
            let donor = &donors[*donor % donors.len()].1;
            let start = index(*from, donor.len());
            let chunk = &donor[start..(start + n).min(donor.len())];
            let at = index(*at, len);
            let end = (at + replace).min(len);
            bytes.splice(at..end, chunk.iter().copied());
        }
        Mutation::SetVarint { which, value } => {
            if let Some(mut fields) = wire::parse(bytes, 0) {
                let count = wire::count_varints(&fields);
                if count > 0 {
                    wire::set_varint(&mut fields, &mut index(*which, count - 1), *value);
                    *bytes = wire::encode(&fields);
                }
            }
        }
        Mutation::DropField { which } | Mutation::DuplicateField { which } => {
            let Some(mut fields) = wire::parse(bytes, 0) else { return };
            let count = wire::count_fields(&fields);
            let duplicate = matches!(m, Mutation::DuplicateField { .. });
            if count > 0 && wire::edit_field(&mut fields, &mut index(*which, count - 1), duplicate) {
                *bytes = wire::encode(&fields);
            }
        }
        Mutation::CopyBytes { which, from } => {
            let Some(mut fields) = wire::parse(bytes, 0) else { return };
            let mut strings = Vec::new();
            wire::collect_bytes(&fields, &mut strings);
            if strings.is_empty() {
                return;
            }
            let donor = strings[index(*from, strings.len() - 1)].clone();
            if wire::set_bytes(&mut fields, &mut index(*which, strings.len() - 1), &donor) {
                *bytes = wire::encode(&fields);
            }
        }
        Mutation::RawVarint { at, value } => {
            let start = index(*at, len);
            if start >= len {
                return;
            }
            let end = bytes[start..].iter().position(|b| b & 0x80 == 0).map_or(len, |p| start + p + 1);
            let mut encoded = Vec::new();
            wire::push_varint(&mut encoded, *value);
            bytes.splice(start..end, encoded);
        }
    }
}

/// A minimal protobuf wire-format tree: enough to find and rewrite varints while keeping the
/// enclosing lengths right.
mod wire {
    #[derive(Clone)]
    pub enum Field {
        Varint(u64, u64),
        Fixed64(u64, [u8; 8]),
        Fixed32(u64, [u8; 4]),
        /// A length-delimited field that does not parse as a message (strings, packed data).
        Bytes(u64, Vec<u8>),
        Message(u64, Vec<Field>),
    }

    pub fn push_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn read_varint(b: &[u8], pos: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*pos)?;
            *pos += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// Parses `b` as a message; `None` when it is not well-formed.
    pub fn parse(b: &[u8], depth: usize) -> Option<Vec<Field>> {
        let mut fields = Vec::new();
        let mut pos = 0;
        while pos < b.len() {
            let tag = read_varint(b, &mut pos)?;
            if tag >> 3 == 0 {
                return None;
            }
            fields.push(match tag & 7 {
                0 => Field::Varint(tag, read_varint(b, &mut pos)?),
                1 => {
                    let v = b.get(pos..pos + 8)?.try_into().ok()?;
                    pos += 8;
                    Field::Fixed64(tag, v)
                }
                5 => {
                    let v = b.get(pos..pos + 4)?.try_into().ok()?;
                    pos += 4;
                    Field::Fixed32(tag, v)
                }
                2 => {
                    let len = usize::try_from(read_varint(b, &mut pos)?).ok()?;
                    let body = b.get(pos..pos.checked_add(len)?)?;
                    pos += len;
                    // A body that parses and re-encodes to itself is taken as a sub-message (a
                    // string or packed array can look like one; then rewriting it is harmless).
                    let inner = (depth < 32 && !body.is_empty()).then(|| parse(body, depth + 1)).flatten();
                    match inner {
                        Some(inner) if encode(&inner) == body => Field::Message(tag, inner),
                        _ => Field::Bytes(tag, body.to_vec()),
                    }
                }
                _ => return None,
            });
        }
        Some(fields)
    }

    pub fn encode(fields: &[Field]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in fields {
            match f {
                Field::Varint(tag, v) => {
                    push_varint(&mut out, *tag);
                    push_varint(&mut out, *v);
                }
                Field::Fixed64(tag, v) => {
                    push_varint(&mut out, *tag);
                    out.extend_from_slice(v);
                }
                Field::Fixed32(tag, v) => {
                    push_varint(&mut out, *tag);
                    out.extend_from_slice(v);
                }
                Field::Bytes(tag, body) => {
                    push_varint(&mut out, *tag);
                    push_varint(&mut out, body.len() as u64);
                    out.extend_from_slice(body);
                }
                Field::Message(tag, inner) => {
                    let body = encode(inner);
                    push_varint(&mut out, *tag);
                    push_varint(&mut out, body.len() as u64);
                    out.extend_from_slice(&body);
                }
            }
        }
        out
    }

    pub fn count_varints(fields: &[Field]) -> usize {
        fields
            .iter()
            .map(|f| match f {
                Field::Varint(..) => 1,
                Field::Message(_, inner) => count_varints(inner),
                _ => 0,
            })
            .sum()
    }

    /// Number of fields at every depth.
    pub fn count_fields(fields: &[Field]) -> usize {
        fields
            .iter()
            .map(|f| match f {
                Field::Message(_, inner) => 1 + count_fields(inner),
                _ => 1,
            })
            .sum()
    }

    /// Removes (or, with `duplicate`, repeats) the `n`-th field in depth-first pre-order.
    pub fn edit_field(fields: &mut Vec<Field>, n: &mut usize, duplicate: bool) -> bool {
        for i in 0..fields.len() {
            if *n == 0 {
                if duplicate {
                    let copy = fields[i].clone();
                    fields.insert(i + 1, copy);
                } else {
                    fields.remove(i);
                }
                return true;
            }
            *n -= 1;
            if let Field::Message(_, inner) = &mut fields[i] {
                if edit_field(inner, n, duplicate) {
                    return true;
                }
            }
        }
        false
    }

    /// The contents of every string/bytes field, depth-first.
    pub fn collect_bytes(fields: &[Field], out: &mut Vec<Vec<u8>>) {
        for f in fields {
            match f {
                Field::Bytes(_, b) => out.push(b.clone()),
                Field::Message(_, inner) => collect_bytes(inner, out),
                _ => {}
            }
        }
    }

    /// Sets the contents of the `n`-th string/bytes field.
    pub fn set_bytes(fields: &mut [Field], n: &mut usize, value: &[u8]) -> bool {
        fields.iter_mut().any(|f| match f {
            Field::Bytes(_, b) if *n == 0 => {
                *b = value.to_vec();
                true
            }
            Field::Bytes(..) => {
                *n -= 1;
                false
            }
            Field::Message(_, inner) => set_bytes(inner, n, value),
            _ => false,
        })
    }

    /// Sets the `n`-th varint (depth-first order); false when there are fewer.
    pub fn set_varint(fields: &mut [Field], n: &mut usize, value: u64) -> bool {
        fields.iter_mut().any(|f| match f {
            Field::Varint(_, v) if *n == 0 => {
                *v = value;
                true
            }
            Field::Varint(..) => {
                *n -= 1;
                false
            }
            Field::Message(_, inner) => set_varint(inner, n, value),
            _ => false,
        })
    }
}

thread_local! {
    /// True while [`exercise`] runs its stages under `catch_unwind`.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// The message and location of the last caught panic on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that records panics inside [`exercise`] instead of printing
/// them (they are reported with their case) and leaves every other panic to the default hook.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(Cell::get) {
                return default(info);
            }
            let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "<non-string panic payload>".into());
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{location}")));
        }));
    });
}

/// How far the exercised inputs got: decode error, compile error, compiled (inputs too big to
/// run), run error, ran.
struct Stages([AtomicUsize; 5]);

impl Stages {
    fn count(&self, stage: usize) {
        self.0[stage].fetch_add(1, Ordering::Relaxed);
    }

    fn take(&self) -> [usize; 5] {
        std::array::from_fn(|i| self.0[i].swap(0, Ordering::Relaxed))
    }
}

static STAGES: Stages = Stages([const { AtomicUsize::new(0) }; 5]);

/// Loads, compiles (interpreter) and, when that succeeds and the inputs are small, runs the
/// model on zeros. `Err(panic message)` when any stage panics.
fn exercise(bytes: &[u8]) -> Result<(), String> {
    install_quiet_hook();
    CATCHING.with(|c| c.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let Ok(model) = Model::from_bytes(bytes, None) else { return STAGES.count(0) };
        let Ok(compiled) = Compiler::new().backend(Backend::Interp).compile(&model) else { return STAGES.count(1) };
        let inputs = &compiled.signature().inputs;
        let elements: usize = inputs.iter().map(|(_, t)| t.shape.iter().product::<usize>()).sum();
        if elements > MAX_RUN_ELEMENTS {
            return STAGES.count(2);
        }
        let zeros: Vec<Tensor> = inputs.iter().map(|(_, t)| Tensor::zeros(t)).collect();
        match compiled.run(&zeros) {
            Ok(_) => STAGES.count(4),
            Err(_) => STAGES.count(3),
        }
    }));
    CATCHING.with(|c| c.set(false));
    result.map_err(|_| LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "<unknown panic>".into()))
}

fn fixture_models() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .flat_map(|p| {
            if p.ends_with("bad") {
                std::fs::read_dir(&p).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default()
            } else {
                vec![p.join("model.onnx")]
            }
        })
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    paths.sort();
    let models: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|p| {
            let name = p.strip_prefix(&dir).unwrap_or(p).display().to_string();
            (name, std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        })
        .collect();
    assert!(models.len() >= 3, "expected fixture models in {}", dir.display());
    models
}

fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[test]
fn mutated_fixture_models_never_panic() {
    let models = fixture_models();
    let seed: u64 = env_number("INT8XC_MUTATION_SEED").unwrap_or(DEFAULT_SEED);
    let cases: u32 = env_number("INT8XC_MUTATION_CASES").unwrap_or(DEFAULT_CASES);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 256, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    let failures = std::env::var_os("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join("mutated_models");
    let strategy = (0..models.len(), prop::collection::vec(mutation(models.len()), 1..4));

    let result = runner.run(&strategy, |(base, mutations)| {
        let (name, original) = &models[base];
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m, &models);
        }
        exercise(&bytes).map_err(|panic| {
            let _ = std::fs::create_dir_all(&failures);
            let file = failures.join(format!("{}-{:016x}.onnx", name.replace('/', "_"), fnv1a(&bytes)));
            let _ = std::fs::write(&file, &bytes);
            TestCaseError::fail(format!(
                "seed {seed}: {name} with {mutations:?} panicked: {panic}\n  bytes saved to {}",
                file.display()
            ))
        })
    });
    let [decode, compile, big, run, ran] = STAGES.take();
    println!(
        "seed {seed}: {cases} cases + shrinking: {decode} decode errors, {compile} compile errors, \
         {big} compiled (inputs too big to run), {run} run errors, {ran} ran"
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn fuzz_regressions_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    let mut paths: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file() && !p.ends_with("README.md")).collect();
    paths.sort();
    let panics: Vec<String> = paths
        .iter()
        .filter_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            exercise(&bytes).err().map(|m| format!("{}: {m}", p.display()))
        })
        .collect();
    assert!(panics.is_empty(), "{} regression input(s) panic:\n  {}", panics.len(), panics.join("\n  "));
}

/// FNV-1a, to name saved failing inputs by content.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[test]
fn wire_tree_reencodes_every_fixture_unchanged() {
    for (name, bytes) in fixture_models() {
        let fields = wire::parse(&bytes, 0).unwrap_or_else(|| panic!("{name} parses"));
        assert!(wire::encode(&fields) == bytes, "{name}: re-encoding changed the bytes");
        assert!(wire::count_varints(&fields) > 0, "{name}");
    }
}
