//! The pass interface, the pass manager and its statistics.

use std::fmt;
use std::time::{Duration, Instant};

use int8xc_ir::{verify, ConstEval, Graph};

use crate::{BatchNormFolding, ConstantFolding, DeadCodeElimination, GemmToMatMul, PassError, QdqToInteger};

/// What a pass may use besides the graph.
#[derive(Clone, Copy)]
pub struct PassContext<'a> {
    /// Evaluates ops on constant inputs (the reference interpreter implements it).
    pub eval: &'a dyn ConstEval,
}

/// One graph transformation.
///
/// Contract: given a graph that passes [`int8xc_ir::verify`], `run` leaves a graph that
/// passes it too, computes the same outputs for every input (up to float rounding where the
/// pass documents it), keeps graph input and output names and types, and returns whether it
/// changed anything. A pass that returns an error may have left the graph half-edited; the
/// caller should drop it.
pub trait Pass {
    /// Stable name, used in statistics, logs and errors (`"dce"`, `"constant-folding"`, ...).
    fn name(&self) -> &'static str;

    /// Runs the pass on `graph`; `Ok(true)` when the graph changed.
    ///
    /// Errors: [`PassError`] naming the pass (and node and op where one is at fault).
    fn run(&self, graph: &mut Graph, ctx: &PassContext) -> Result<bool, PassError>;
}

/// How [`PassManager::run`] repeats its pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// Each pass once, in order.
    Once,
    /// The whole pipeline again while any pass changed the graph, at most `max_iterations`
    /// times (hitting the limit is not an error: [`PassStats::converged`] is then false).
    FixedPoint {
        /// Most pipeline iterations.
        max_iterations: usize,
    },
}

/// Runs passes in order and records what they did.
pub struct PassManager {
    passes: Vec<Box<dyn Pass>>,
    /// Repetition of the pipeline; default `FixedPoint { max_iterations: 8 }`.
    pub mode: RunMode,
    /// Verify the graph before the first pass and after every pass; default on in debug
    /// builds (and so in tests), off in release builds.
    pub verify_each: bool,
}

impl Default for PassManager {
    fn default() -> Self {
        PassManager {
            passes: Vec::new(),
            mode: RunMode::FixedPoint { max_iterations: 8 },
            verify_each: cfg!(debug_assertions),
        }
    }
}

impl fmt::Debug for PassManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.passes.iter().map(|p| p.name()).collect();
        f.debug_struct("PassManager")
            .field("passes", &names)
            .field("mode", &self.mode)
            .field("verify_each", &self.verify_each)
            .finish()
    }
}

impl PassManager {
    /// An empty pipeline with the default mode and verification.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a pass.
    pub fn with_pass(mut self, pass: impl Pass + 'static) -> Self {
        self.passes.push(Box::new(pass));
        self
    }

    /// Sets the run mode.
    pub fn with_mode(mut self, mode: RunMode) -> Self {
        self.mode = mode;
        self
    }

    /// The names of the passes, in order.
    pub fn pass_names(&self) -> Vec<&'static str> {
        self.passes.iter().map(|p| p.name()).collect()
    }

    /// Runs the pipeline on `graph` according to [`PassManager::mode`].
    ///
    /// Errors: the first pass error; with `verify_each`, [`PassError::Verify`] naming the
    /// pass after which the graph stopped verifying (or `"input"`).
    pub fn run(&self, graph: &mut Graph, ctx: &PassContext) -> Result<PassStats, PassError> {
        if self.verify_each {
            verify(graph).map_err(|source| PassError::Verify { pass: "input".into(), source })?;
        }
        let max_iterations = match self.mode {
            RunMode::Once => 1,
            RunMode::FixedPoint { max_iterations } => max_iterations,
        };
        let mut stats = PassStats { runs: Vec::new(), iterations: 0, converged: false };
        while stats.iterations < max_iterations {
            stats.iterations += 1;
            let mut any_change = false;
            for pass in &self.passes {
                let nodes_before = graph.nodes.len();
                let start = Instant::now();
                let changed = pass.run(graph, ctx)?;
                let time = start.elapsed();
                tracing::debug!(pass = pass.name(), changed, nodes_before, nodes_after = graph.nodes.len(), ?time);
                if self.verify_each {
                    verify(graph).map_err(|source| PassError::Verify { pass: pass.name().into(), source })?;
                }
                stats.runs.push(PassRun {
                    name: pass.name(),
                    iteration: stats.iterations,
                    changed,
                    time,
                    nodes_before,
                    nodes_after: graph.nodes.len(),
                });
                any_change |= changed;
            }
            if !any_change {
                stats.converged = true;
                break;
            }
        }
        if self.mode == RunMode::Once {
            stats.converged = !stats.runs.iter().any(|r| r.changed);
        }
        Ok(stats)
    }
}

/// One run of one pass.
#[derive(Clone, Debug, PartialEq)]
pub struct PassRun {
    /// The pass's name.
    pub name: &'static str,
    /// Pipeline iteration, from 1.
    pub iteration: usize,
    /// Whether the pass changed the graph.
    pub changed: bool,
    /// Wall time of the pass (verification excluded).
    pub time: Duration,
    /// Node count before the pass.
    pub nodes_before: usize,
    /// Node count after the pass.
    pub nodes_after: usize,
}

/// What [`PassManager::run`] did, pass run by pass run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassStats {
    /// Every pass run in order.
    pub runs: Vec<PassRun>,
    /// Pipeline iterations done.
    pub iterations: usize,
    /// True when the last iteration changed nothing (in `Once` mode: when no pass changed
    /// anything).
    pub converged: bool,
}

impl PassStats {
    /// Total time over all pass runs.
    pub fn total_time(&self) -> Duration {
        self.runs.iter().map(|r| r.time).sum()
    }
}

/// The pass runs, in order.
impl IntoIterator for PassStats {
    type Item = PassRun;
    type IntoIter = std::vec::IntoIter<PassRun>;

    fn into_iter(self) -> Self::IntoIter {
        self.runs.into_iter()
    }
}

/// The pass runs, in order.
impl<'a> IntoIterator for &'a PassStats {
    type Item = &'a PassRun;
    type IntoIter = std::slice::Iter<'a, PassRun>;

    fn into_iter(self) -> Self::IntoIter {
        self.runs.iter()
    }
}

/// A table, one line per pass run: iteration, pass, nodes before → after, changed, time.
impl fmt::Display for PassStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:>4}  {:<20} {:>8} {:>8}  {:<7} {:>10}", "iter", "pass", "nodes", "after", "changed", "time")?;
        for r in &self.runs {
            writeln!(
                f,
                "{:>4}  {:<20} {:>8} {:>8}  {:<7} {:>8.3}ms",
                r.iteration,
                r.name,
                r.nodes_before,
                r.nodes_after,
                if r.changed { "yes" } else { "no" },
                r.time.as_secs_f64() * 1e3
            )?;
        }
        write!(
            f,
            "{} iteration(s), {}, total {:.3}ms",
            self.iterations,
            if self.converged { "converged" } else { "iteration limit reached" },
            self.total_time().as_secs_f64() * 1e3
        )
    }
}

/// The classic pipeline, to a fixed point: QDQ fusion, constant folding, Gemm lowering,
/// BatchNorm folding, dead-code elimination. (Gemm lowering's transposes of constant operands
/// and BatchNorm parameters computed by constant sub-graphs are folded in the next
/// iteration.) QDQ fusion comes first: constant folding would otherwise dequantize the
/// weights (`DequantizeLinear` of a constant) the integer ops need.
pub fn default_pipeline() -> PassManager {
    PassManager::new()
        .with_pass(QdqToInteger)
        .with_pass(ConstantFolding::default())
        .with_pass(GemmToMatMul)
        .with_pass(BatchNormFolding)
        .with_pass(DeadCodeElimination)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{parse, NoEval};

    struct Breaker;
    impl Pass for Breaker {
        fn name(&self) -> &'static str {
            "breaker"
        }
        fn run(&self, graph: &mut Graph, _: &PassContext) -> Result<bool, PassError> {
            graph.nodes[0].name = graph.nodes[1].name.clone();
            Ok(true)
        }
    }

    struct CountDown(std::cell::Cell<usize>);
    impl Pass for CountDown {
        fn name(&self) -> &'static str {
            "count-down"
        }
        fn run(&self, _: &mut Graph, _: &PassContext) -> Result<bool, PassError> {
            let n = self.0.get();
            self.0.set(n.saturating_sub(1));
            Ok(n > 0)
        }
    }

    const TWO_RELUS: &str = "graph g(%x: f32[2]) -> (%b) { %a = Relu(%x) %b = Relu(%a) }";

    #[test]
    fn verification_names_the_breaking_pass() {
        let mut g = parse(TWO_RELUS);
        let err = PassManager::new().with_pass(Breaker).run(&mut g, &PassContext { eval: &NoEval }).unwrap_err();
        assert!(matches!(&err, PassError::Verify { pass, .. } if pass == "breaker"), "{err}");
        assert!(err.to_string().contains("both named 'b'"), "{err}");
    }

    #[test]
    fn fixed_point_repeats_until_nothing_changes() {
        let mut g = parse(TWO_RELUS);
        let pm = PassManager::new().with_pass(CountDown(2.into()));
        let stats = pm.run(&mut g, &PassContext { eval: &NoEval }).unwrap();
        assert_eq!((stats.iterations, stats.converged, stats.runs.len()), (3, true, 3));
        let pm = PassManager::new().with_pass(CountDown(5.into())).with_mode(RunMode::FixedPoint { max_iterations: 2 });
        let stats = pm.run(&mut g, &PassContext { eval: &NoEval }).unwrap();
        assert_eq!((stats.iterations, stats.converged), (2, false));
        let text = stats.to_string();
        assert!(text.contains("count-down") && text.contains("iteration limit reached"), "{text}");
    }

    #[test]
    fn default_pipeline_on_a_small_cnn() {
        let text = "graph cnn(%x: f32[1,1,4,4]) -> (%y) {
              %w: f32[2,1,3,3] = const [1, 0, -1, 2, 0, -2, 1, 0, -1, 0.5, 0.5, 0.5, 0, 0, 0, -0.5, -0.5, -0.5]
              %conv = Conv(%x, %w) {kernel=[3,3], strides=[1,1], pads=[1,1,1,1], dilations=[1,1], group=1}
              %gamma: f32[2] = const [1.5, 0.5]
              %beta: f32[2] = const [0.1, -0.1]
              %mean: f32[2] = const [0.2, 0.3]
              %var: f32[2] = const [2, 0.5]
              %bn = BatchNormalization(%conv, %gamma, %beta, %mean, %var) {epsilon=0.00001}
              %relu = Relu(%bn)
              %gap = GlobalAveragePool(%relu)
              %flat = Reshape(%gap) {shape=[1,2]}
              %fc_w: f32[3,2] = const [1, 2, 3, 4, 5, 6]
              %fc_b: f32[3] = const [0, 1, 2]
              %unused = Sigmoid(%flat)
              %y = Gemm(%flat, %fc_w, %fc_b) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
            }";
        let (changed, out) = crate::testing::run_and_check(&PipelineOnce, text, 1e-5);
        assert!(changed);
        insta::assert_snapshot!(out);
    }

    struct PipelineOnce;
    impl Pass for PipelineOnce {
        fn name(&self) -> &'static str {
            "default-pipeline"
        }
        fn run(&self, graph: &mut Graph, ctx: &PassContext) -> Result<bool, PassError> {
            let stats = default_pipeline().run(graph, ctx)?;
            assert!(stats.converged, "{stats}");
            Ok(stats.runs.iter().any(|r| r.changed))
        }
    }

    #[test]
    fn once_runs_each_pass_once_and_records_node_counts() {
        let mut g = parse(TWO_RELUS);
        let pm = default_pipeline().with_mode(RunMode::Once);
        assert_eq!(
            pm.pass_names(),
            ["qdq-to-integer", "constant-folding", "gemm-to-matmul", "batchnorm-folding", "dce"]
        );
        let stats = pm.run(&mut g, &PassContext { eval: &NoEval }).unwrap();
        assert_eq!(stats.runs.len(), 5);
        assert!(stats.runs.iter().all(|r| r.nodes_before == 2 && r.nodes_after == 2 && !r.changed));
        assert!(stats.converged);
    }
}
