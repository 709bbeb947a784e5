//! The printer.

use std::fmt::Write;

use super::lex::name_text;
use super::ops::{fmt_f32, print_attrs};
use super::PrintOptions;
use crate::rewrite::{statements, Stmt};
use crate::{unpack_nibble, Data, Graph, Node, QuantParams, TensorData, TensorType, ValueId};

pub(super) fn print(g: &Graph, opts: &PrintOptions) -> String {
    let mut out = String::new();
    let graph_name = if g.name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        name_text(&g.name)
    } else {
        format!("{:?}", g.name)
    };
    let inputs: Vec<String> =
        g.inputs.iter().map(|&v| format!("{}: {}", value_ref(g, v), type_text(value_ty(g, v)))).collect();
    let outputs: Vec<String> = g.outputs.iter().map(|&v| value_ref(g, v)).collect();
    let _ = writeln!(out, "graph {graph_name}({}) -> ({}) {{", inputs.join(", "), outputs.join(", "));
    for s in statements(g) {
        out.push_str("  ");
        match s {
            Stmt::Const(v) => {
                let value = &g.values[v.index()];
                let _ = write!(out, "{}: {} = const ", value_ref(g, v), type_text(Some(&value.ty)));
                if let crate::ValueDef::Const(data) = &value.def {
                    match opts.max_const_elements {
                        Some(max) if data.numel() > max => {
                            let _ = write!(out, "elided ({} elements, fnv1a 0x{:016x})", data.numel(), fnv1a(data));
                        }
                        _ => const_elements(&mut out, data),
                    }
                }
            }
            Stmt::Node(n) => node_line(&mut out, g, &g.nodes[n.index()]),
        }
        out.push('\n');
    }
    out.push_str("}\n");
    out
}

fn value_ty(g: &Graph, v: ValueId) -> Option<&TensorType> {
    g.values.get(v.index()).map(|x| &x.ty)
}

fn value_ref(g: &Graph, v: ValueId) -> String {
    match g.values.get(v.index()) {
        Some(value) => format!("%{}", name_text(&value.name)),
        None => format!("%{:?}", format!("<invalid value {}>", v.0)),
    }
}

fn node_line(out: &mut String, g: &Graph, node: &Node) {
    let outs: Vec<String> =
        node.outputs.iter().map(|&v| format!("{}: {}", value_ref(g, v), type_text(value_ty(g, v)))).collect();
    let args: Vec<String> = node.inputs.iter().map(|&v| value_ref(g, v)).collect();
    let _ = write!(out, "{} = {}({})", outs.join(", "), node.op.name(), args.join(", "));
    let attrs = print_attrs(&node.op);
    if !attrs.is_empty() {
        let items: Vec<String> = attrs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = write!(out, " {{{}}}", items.join(", "));
    }
    if !has_default_output_names(g, node) {
        let _ = write!(out, " @{}", name_text(&node.name));
    }
}

/// True when the output values are named as [`Graph::add_node`] names them, so the node name
/// need not be printed.
pub(super) fn has_default_output_names(g: &Graph, node: &Node) -> bool {
    let name_of = |v: ValueId| g.values.get(v.index()).map(|x| x.name.as_str());
    match node.outputs.as_slice() {
        [] => false,
        [v] => name_of(*v) == Some(node.name.as_str()),
        outs => outs.iter().enumerate().all(|(i, &v)| name_of(v) == Some(format!("{}:{i}", node.name).as_str())),
    }
}

pub(super) fn type_text(ty: Option<&TensorType>) -> String {
    let Some(ty) = ty else { return "?".into() };
    let mut s = ty.dtype.name().to_string();
    if let Some(QuantParams { scale, zero_point, axis, block_size }) = &ty.quant {
        match (axis, scale.as_slice(), zero_point.as_slice()) {
            (None, [sc], [zp]) if block_size.is_none() => {
                let _ = write!(s, "<{},{zp}>", fmt_f32(*sc));
            }
            _ => {
                let scales: Vec<String> = scale.iter().map(|x| fmt_f32(*x)).collect();
                let zps: Vec<String> = zero_point.iter().map(|x| x.to_string()).collect();
                s.push('<');
                if let Some(a) = axis {
                    let _ = write!(s, "axis={a},");
                }
                if let Some(b) = block_size {
                    let _ = write!(s, "block_size={b},");
                }
                let _ = write!(s, "scale=[{}],zero_point=[{}]>", scales.join(","), zps.join(","));
            }
        }
    }
    let dims: Vec<String> = ty.shape.iter().map(|d| d.to_string()).collect();
    let _ = write!(s, "[{}]", dims.join(","));
    s
}

fn join<T>(out: &mut String, v: impl Iterator<Item = T>, f: impl Fn(T) -> String) {
    out.push('[');
    for (i, x) in v.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&f(x));
    }
    out.push(']');
}

fn const_elements(out: &mut String, t: &TensorData) {
    let n = t.numel();
    match t.data() {
        Data::F32(v) => join(out, v.iter(), |x| fmt_f32(*x)),
        Data::F16(v) => join(out, v.iter(), |x| {
            if x.is_nan() && x.to_bits() != half::f16::NAN.to_bits() {
                format!("NaN_0x{:04x}", x.to_bits())
            } else {
                format!("{:?}", x.to_f32())
            }
        }),
        Data::I64(v) => join(out, v.iter(), |x| x.to_string()),
        Data::I32(v) => join(out, v.iter(), |x| x.to_string()),
        Data::I16(v) => join(out, v.iter(), |x| x.to_string()),
        Data::I8(v) => join(out, v.iter(), |x| x.to_string()),
        Data::U8(v) => join(out, v.iter(), |x| x.to_string()),
        Data::I4(v) => join(out, (0..n).filter(|i| i / 2 < v.len()), |i| unpack_nibble(v, i, true).to_string()),
        Data::U4(v) => join(out, (0..n).filter(|i| i / 2 < v.len()), |i| unpack_nibble(v, i, false).to_string()),
        Data::Bool(v) => join(out, v.iter(), |x| x.to_string()),
    }
}

/// 64-bit FNV-1a of the little-endian storage bytes.
fn fnv1a(t: &TensorData) -> u64 {
    t.to_le_bytes().iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}
