//! The IR text form: a stable, diffable printer and a parser that reads it back.
//!
//! ```text
//! graph digits_cnn(%input: f32[1,1,8,8]) -> (%logits) {
//!   %w0: f32[8,1,3,3] = const [0.1, -0.25, ...]
//!   %conv0: f32[1,8,8,8] = Conv(%input, %w0, %b0) {kernel=[3,3], strides=[1,1], pads=[1,1,1,1], dilations=[1,1], group=1}
//!   %q: u8<0.0235,128>[1,8,8,8] = Cast(%conv0) {to=u8} @cast_node
//! }
//! ```
//!
//! - The header lists the graph inputs with their types and the graph outputs.
//! - Each body line is a constant or a node, in canonical order (see [`Graph::canonicalize`]):
//!   `%a: TYPE, %b: TYPE = Op(%in, ...) {attr=value, ...} @node_name`. Every attribute is
//!   printed; `@node_name` only when the node's name is not its output's name (one output) or
//!   `"{name}:{i}"` for output `i` (several outputs). When parsing, node output types may be
//!   omitted (`%y = Relu(%x)`): they are then inferred.
//! - Types: `f32[1,3,8,8]`, per-tensor quantized `u8<0.0235,128>[...]` (scale, zero point),
//!   per-axis `i8<axis=0,scale=[0.1,0.2],zero_point=[0,0]>[2,3]`, blocked
//!   `i4<axis=1,block_size=2,scale=[..4 values..],zero_point=[..]>[2,4]`.
//! - Constants list their elements row-major: floats as Rust prints them (the shortest text
//!   that parses back to the same bits; `inf`, `-inf`, `NaN`; a NaN other than the canonical
//!   one as `NaN_0x7fc00001` with its bits), integers in decimal, `true`/`false`, 4-bit types
//!   unpacked (the padding nibble of an odd-length 4-bit tensor is printed nowhere and
//!   parses as 0).
//! - Names that are not made of ASCII letters, digits, `_` and `.` are quoted like Rust
//!   strings: `%"conv1/weight:0"`. `#` starts a comment that runs to the end of the line.
//!
//! **Round trip**: for every graph that passes [`crate::verify`] and is in canonical
//! numbering, `parse_graph(&print_graph(g, &PrintOptions::default())) == g`; for other
//! verified graphs the result equals `g` after [`Graph::canonicalize`]. Printing never fails
//! and never panics, even on graphs that do not verify (handy when debugging a pass).
//! Elided constants (see [`PrintOptions`]) do not parse.

mod lex;
mod ops;
mod ops_index;
mod ops_math;
mod ops_quant;
mod parse;
mod print;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use crate::{Graph, IrError};

/// How [`print_graph`] prints a graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// Constants with more elements than this print as a summary,
    /// `const elided (432 elements, fnv1a 0x…)` (64-bit FNV-1a of the little-endian
    /// storage bytes), which keeps snapshots of real models small but does not parse.
    /// `None` (the default) prints every element.
    pub max_const_elements: Option<usize>,
}

impl PrintOptions {
    /// Full printing: every constant element (the output parses back).
    pub fn full() -> Self {
        PrintOptions { max_const_elements: None }
    }

    /// Elides constants with more than `max` elements.
    pub fn elide_above(max: usize) -> Self {
        PrintOptions { max_const_elements: Some(max) }
    }
}

/// Prints `graph` in the text form described in the module docs. Never fails; values or
/// nodes that are out of range print as `%"<invalid value 7>"`.
pub fn print_graph(graph: &Graph, options: &PrintOptions) -> String {
    print::print(graph, options)
}

/// Parses the text form into a graph with canonical numbering (see the module docs).
///
/// Each node's output types are checked against (or, when omitted, taken from)
/// [`crate::infer_types`], so a parsed graph has consistent types; run [`crate::verify`] for
/// the remaining invariants.
///
/// Errors: [`IrError::Parse`] with the 1-based line and column of the offending token and
/// what was expected (syntax, unknown op or attribute, undefined or duplicate name, constant
/// of the wrong length, type that shape inference disagrees with, elided constant).
pub fn parse_graph(text: &str) -> Result<Graph, IrError> {
    parse::parse(text)
}

/// Full printing ([`PrintOptions::full`]), so `graph.to_string()` parses back.
impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print_graph(self, &PrintOptions::full()))
    }
}

/// [`parse_graph`].
impl FromStr for Graph {
    type Err = IrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_graph(s)
    }
}
