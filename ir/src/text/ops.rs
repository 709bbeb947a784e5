//! Op names and attributes in both directions: printing an [`Op`]'s attributes, and building
//! an [`Op`] from a parsed name and attribute list. Kept side by side so they stay in sync.

use super::lex::{parse_error, Tok};
use crate::{
    BinaryOp, ConvAttrs, ConvTransposeAttrs, CoordTransform, DType, GemmAttrs, IrError, NearestMode, Op, PoolAttrs,
    ResizeAttrs, ResizeMode, SliceAttrs, UnaryOp,
};

/// Prints an `f32` so that it parses back to the same bits (see the module docs of `text`).
pub(super) fn fmt_f32(x: f32) -> String {
    if x.is_nan() && x.to_bits() != f32::NAN.to_bits() {
        format!("NaN_0x{:08x}", x.to_bits())
    } else {
        format!("{x:?}")
    }
}

/// Parses what [`fmt_f32`] prints (and any decimal float or integer).
pub(super) fn parse_f32(s: &str) -> Option<f32> {
    if let Some(hex) = s.strip_prefix("NaN_0x") {
        return u32::from_str_radix(hex, 16).ok().map(f32::from_bits).filter(|x| x.is_nan());
    }
    s.parse::<f32>().ok()
}

pub(super) fn list<T>(v: &[T], f: impl Fn(&T) -> String) -> String {
    let items: Vec<String> = v.iter().map(f).collect();
    format!("[{}]", items.join(","))
}

fn ints(v: &[usize]) -> String {
    list(v, |x| x.to_string())
}

/// The attributes of `op` as `name=value` pairs, in a fixed order; empty for ops without any.
pub(super) fn print_attrs(op: &Op) -> Vec<(&'static str, String)> {
    let f = |x: &f32| fmt_f32(*x);
    if let Some(v) = super::ops_math::print_math_attrs(op) {
        return v;
    }
    if let Some(v) = super::ops_index::print_index_attrs(op) {
        return v;
    }
    match op {
        Op::Conv(a) => vec![
            ("kernel", ints(&a.kernel)),
            ("strides", ints(&a.strides)),
            ("pads", ints(&a.pads)),
            ("dilations", ints(&a.dilations)),
            ("group", a.group.to_string()),
        ],
        Op::ConvTranspose(a) => vec![
            ("kernel", ints(&a.kernel)),
            ("strides", ints(&a.strides)),
            ("pads", ints(&a.pads)),
            ("dilations", ints(&a.dilations)),
            ("output_padding", ints(&a.output_padding)),
            ("group", a.group.to_string()),
        ],
        Op::Gemm(g) => vec![
            ("alpha", f(&g.alpha)),
            ("beta", f(&g.beta)),
            ("trans_a", g.trans_a.to_string()),
            ("trans_b", g.trans_b.to_string()),
        ],
        Op::MatMul | Op::Binary(_) | Op::GlobalAveragePool => vec![],
        Op::Unary(u) => match u {
            UnaryOp::LeakyRelu { alpha } => vec![("alpha", f(alpha))],
            UnaryOp::Clip { min, max } => vec![("min", f(min)), ("max", f(max))],
            UnaryOp::HardSigmoid { alpha, beta } => vec![("alpha", f(alpha)), ("beta", f(beta))],
            UnaryOp::Relu | UnaryOp::Sigmoid | UnaryOp::Tanh | UnaryOp::HardSwish => vec![],
            UnaryOp::Math(m) => super::ops_math::math_fn_attrs(m),
        },
        Op::Softmax { axis } | Op::Concat { axis } | Op::Gather { axis } => vec![("axis", axis.to_string())],
        Op::MaxPool(a) | Op::AveragePool(a) => vec![
            ("kernel", ints(&a.kernel)),
            ("strides", ints(&a.strides)),
            ("pads", ints(&a.pads)),
            ("dilations", ints(&a.dilations)),
            ("ceil_mode", a.ceil_mode.to_string()),
            ("count_include_pad", a.count_include_pad.to_string()),
        ],
        Op::MaxPoolWithIndices { pool, column_major } => {
            let mut v = print_attrs(&Op::MaxPool(pool.clone()));
            v.push(("column_major", column_major.to_string()));
            v
        }
        Op::ReduceMean { axes, keepdims } => vec![("axes", ints(axes)), ("keepdims", keepdims.to_string())],
        Op::ArgMax { axis, keepdims, select_last_index } => vec![
            ("axis", axis.to_string()),
            ("keepdims", keepdims.to_string()),
            ("select_last_index", select_last_index.to_string()),
        ],
        Op::BatchNormalization { epsilon } => vec![("epsilon", f(epsilon))],
        Op::Reshape { shape } => vec![("shape", ints(shape))],
        Op::Transpose { perm } => vec![("perm", ints(perm))],
        Op::Slice(a) => {
            let i64s = |v: &[i64]| list(v, |x| x.to_string());
            vec![
                ("axes", ints(&a.axes)),
                ("starts", i64s(&a.starts)),
                ("ends", i64s(&a.ends)),
                ("steps", i64s(&a.steps)),
            ]
        }
        Op::Cast { to } => vec![("to", to.name().to_string())],
        Op::Resize(a) => {
            let mut v = vec![
                ("mode", resize_mode_name(a.mode).into()),
                ("coord", coord_name(a.coord).into()),
                ("nearest", nearest_name(a.nearest).into()),
                ("scales", list(&a.scales, f)),
                ("sizes", ints(&a.sizes)),
            ];
            // The filter attributes only when they differ from ONNX's defaults.
            let d = ResizeAttrs::default();
            if a.cubic_coeff_a.to_bits() != d.cubic_coeff_a.to_bits() {
                v.push(("cubic_coeff_a", f(&a.cubic_coeff_a)));
            }
            if a.exclude_outside {
                v.push(("exclude_outside", "true".into()));
            }
            if a.antialias {
                v.push(("antialias", "true".into()));
            }
            if !a.roi.is_empty() {
                v.push(("roi", list(&a.roi, f)));
            }
            if a.extrapolation_value.to_bits() != d.extrapolation_value.to_bits() {
                v.push(("extrapolation_value", f(&a.extrapolation_value)));
            }
            v
        }
        Op::ConvInteger(a) => print_attrs(&Op::Conv(a.clone())),
        _ => super::ops_quant::print_quant_attrs(op),
    }
}

const RESIZE_MODES: [(ResizeMode, &str); 3] =
    [(ResizeMode::Nearest, "nearest"), (ResizeMode::Linear, "linear"), (ResizeMode::Cubic, "cubic")];
const COORDS: [(CoordTransform, &str); 6] = [
    (CoordTransform::HalfPixel, "half_pixel"),
    (CoordTransform::PytorchHalfPixel, "pytorch_half_pixel"),
    (CoordTransform::AlignCorners, "align_corners"),
    (CoordTransform::Asymmetric, "asymmetric"),
    (CoordTransform::HalfPixelSymmetric, "half_pixel_symmetric"),
    (CoordTransform::TfCropAndResize, "tf_crop_and_resize"),
];
const NEAREST: [(NearestMode, &str); 4] = [
    (NearestMode::RoundPreferFloor, "round_prefer_floor"),
    (NearestMode::RoundPreferCeil, "round_prefer_ceil"),
    (NearestMode::Floor, "floor"),
    (NearestMode::Ceil, "ceil"),
];

fn resize_mode_name(m: ResizeMode) -> &'static str {
    RESIZE_MODES.iter().find(|(k, _)| *k == m).map_or("?", |(_, n)| n)
}
fn coord_name(m: CoordTransform) -> &'static str {
    COORDS.iter().find(|(k, _)| *k == m).map_or("?", |(_, n)| n)
}
fn nearest_name(m: NearestMode) -> &'static str {
    NEAREST.iter().find(|(k, _)| *k == m).map_or("?", |(_, n)| n)
}

/// A parsed attribute value: a token (number or word) or a list of them.
#[derive(Clone, Debug)]
pub(super) enum AttrValue {
    Scalar(Tok),
    List(Vec<Tok>),
}

/// Parsed attributes with their source positions; getters remove what they read so that
/// leftovers can be reported as unknown.
pub(super) struct Attrs {
    pub op: String,
    pub items: Vec<(String, AttrValue, usize, usize)>,
    /// Position of the op name, for missing-attribute errors.
    pub line: usize,
    pub column: usize,
}

impl Attrs {
    pub(super) fn take(&mut self, name: &str) -> Result<(AttrValue, usize, usize), IrError> {
        match self.items.iter().position(|(n, ..)| n == name) {
            Some(i) => {
                let (_, v, l, c) = self.items.remove(i);
                Ok((v, l, c))
            }
            None => Err(parse_error(self.line, self.column, format!("{}: missing attribute '{name}'", self.op))),
        }
    }

    /// True when attribute `name` is present (for optional attributes).
    pub(super) fn has(&self, name: &str) -> bool {
        self.items.iter().any(|(n, ..)| n == name)
    }

    pub(super) fn scalar<T>(&mut self, name: &str, what: &str, conv: impl Fn(&Tok) -> Option<T>) -> Result<T, IrError> {
        let (v, l, c) = self.take(name)?;
        match &v {
            AttrValue::Scalar(t) => conv(t),
            AttrValue::List(_) => None,
        }
        .ok_or_else(|| parse_error(l, c, format!("{}: attribute '{name}' must be {what}", self.op)))
    }

    pub(super) fn vec<T>(
        &mut self,
        name: &str,
        what: &str,
        conv: impl Fn(&Tok) -> Option<T>,
    ) -> Result<Vec<T>, IrError> {
        let (v, l, c) = self.take(name)?;
        match &v {
            AttrValue::List(items) => items.iter().map(conv).collect::<Option<Vec<T>>>(),
            AttrValue::Scalar(_) => None,
        }
        .ok_or_else(|| parse_error(l, c, format!("{}: attribute '{name}' must be a list of {what}", self.op)))
    }

    pub(super) fn usize(&mut self, name: &str) -> Result<usize, IrError> {
        self.scalar(name, "a non-negative integer", tok_usize)
    }
    pub(super) fn f32(&mut self, name: &str) -> Result<f32, IrError> {
        self.scalar(name, "a number", tok_f32)
    }
    pub(super) fn bool(&mut self, name: &str) -> Result<bool, IrError> {
        self.scalar(name, "true or false", |t| match t {
            Tok::Ident(s) if s == "true" => Some(true),
            Tok::Ident(s) if s == "false" => Some(false),
            _ => None,
        })
    }
    pub(super) fn usizes(&mut self, name: &str) -> Result<Vec<usize>, IrError> {
        self.vec(name, "non-negative integers", tok_usize)
    }
    pub(super) fn i64s(&mut self, name: &str) -> Result<Vec<i64>, IrError> {
        self.vec(name, "integers", |t| match t {
            Tok::Num(s) => s.parse().ok(),
            _ => None,
        })
    }
    pub(super) fn array<const N: usize>(&mut self, name: &str) -> Result<[usize; N], IrError> {
        let (l, c) =
            self.items.iter().find(|(n, ..)| n == name).map_or((self.line, self.column), |(_, _, l, c)| (*l, *c));
        let v = self.usizes(name)?;
        v.try_into().map_err(|_| parse_error(l, c, format!("{}: attribute '{name}' must have {N} entries", self.op)))
    }
    pub(super) fn word<T: Copy>(&mut self, name: &str, table: &[(T, &str)]) -> Result<T, IrError> {
        let names: Vec<&str> = table.iter().map(|(_, n)| *n).collect();
        self.scalar(name, &format!("one of {}", names.join(", ")), |t| match t {
            Tok::Ident(s) => table.iter().find(|(_, n)| n == s).map(|(k, _)| *k),
            _ => None,
        })
    }

    pub(super) fn pool(&mut self) -> Result<PoolAttrs, IrError> {
        Ok(PoolAttrs {
            kernel: self.array("kernel")?,
            strides: self.array("strides")?,
            pads: self.array("pads")?,
            dilations: self.array("dilations")?,
            ceil_mode: self.bool("ceil_mode")?,
            count_include_pad: self.bool("count_include_pad")?,
        })
    }
}

pub(super) fn tok_usize(t: &Tok) -> Option<usize> {
    match t {
        Tok::Num(s) => s.parse().ok(),
        _ => None,
    }
}

pub(super) fn tok_f32(t: &Tok) -> Option<f32> {
    match t {
        Tok::Num(s) | Tok::Ident(s) => parse_f32(s),
        _ => None,
    }
}

/// A [`UnaryOp`] named `name` (its ONNX name) from its attributes.
pub(super) fn build_unary(name: &str, a: &mut Attrs) -> Result<UnaryOp, IrError> {
    Ok(match name {
        "Relu" => UnaryOp::Relu,
        "LeakyRelu" => UnaryOp::LeakyRelu { alpha: a.f32("alpha")? },
        "Clip" => UnaryOp::Clip { min: a.f32("min")?, max: a.f32("max")? },
        "Sigmoid" => UnaryOp::Sigmoid,
        "Tanh" => UnaryOp::Tanh,
        "HardSigmoid" => UnaryOp::HardSigmoid { alpha: a.f32("alpha")?, beta: a.f32("beta")? },
        "HardSwish" => UnaryOp::HardSwish,
        other => return Err(parse_error(a.line, a.column, format!("unknown op '{other}'"))),
    })
}

/// Builds the op named `attrs.op` from its attributes.
///
/// Errors: unknown op, missing, malformed or unknown attribute.
pub(super) fn build_op(mut a: Attrs) -> Result<Op, IrError> {
    let op_name = a.op.clone();
    let op = match op_name.as_str() {
        "Conv" => Op::Conv(ConvAttrs {
            kernel: a.array("kernel")?,
            strides: a.array("strides")?,
            pads: a.array("pads")?,
            dilations: a.array("dilations")?,
            group: a.usize("group")?,
        }),
        "ConvTranspose" => Op::ConvTranspose(ConvTransposeAttrs {
            kernel: a.array("kernel")?,
            strides: a.array("strides")?,
            pads: a.array("pads")?,
            dilations: a.array("dilations")?,
            output_padding: a.array("output_padding")?,
            group: a.usize("group")?,
        }),
        "MatMul" => Op::MatMul,
        "Gemm" => Op::Gemm(GemmAttrs {
            alpha: a.f32("alpha")?,
            beta: a.f32("beta")?,
            trans_a: a.bool("trans_a")?,
            trans_b: a.bool("trans_b")?,
        }),
        "Add" => Op::Binary(BinaryOp::Add),
        "Sub" => Op::Binary(BinaryOp::Sub),
        "Mul" => Op::Binary(BinaryOp::Mul),
        "Div" => Op::Binary(BinaryOp::Div),
        "Relu" | "LeakyRelu" | "Clip" | "Sigmoid" | "Tanh" | "HardSigmoid" | "HardSwish" => {
            Op::Unary(build_unary(&op_name, &mut a)?)
        }
        "Softmax" => Op::Softmax { axis: a.usize("axis")? },
        "MaxPool" => Op::MaxPool(a.pool()?),
        "AveragePool" => Op::AveragePool(a.pool()?),
        "MaxPoolWithIndices" => Op::MaxPoolWithIndices { pool: a.pool()?, column_major: a.bool("column_major")? },
        "GlobalAveragePool" => Op::GlobalAveragePool,
        "ReduceMean" => Op::ReduceMean { axes: a.usizes("axes")?, keepdims: a.bool("keepdims")? },
        "ArgMax" => Op::ArgMax {
            axis: a.usize("axis")?,
            keepdims: a.bool("keepdims")?,
            select_last_index: a.bool("select_last_index")?,
        },
        "BatchNormalization" => Op::BatchNormalization { epsilon: a.f32("epsilon")? },
        "Reshape" => Op::Reshape { shape: a.usizes("shape")? },
        "Transpose" => Op::Transpose { perm: a.usizes("perm")? },
        "Concat" => Op::Concat { axis: a.usize("axis")? },
        "Slice" => Op::Slice(SliceAttrs {
            axes: a.usizes("axes")?,
            starts: a.i64s("starts")?,
            ends: a.i64s("ends")?,
            steps: a.i64s("steps")?,
        }),
        "Gather" => Op::Gather { axis: a.usize("axis")? },
        "Cast" => {
            let dtypes: Vec<(DType, &str)> = DType::ALL.iter().map(|d| (*d, d.name())).collect();
            Op::Cast { to: a.word("to", &dtypes)? }
        }
        "Resize" => {
            let d = ResizeAttrs::default();
            Op::Resize(ResizeAttrs {
                mode: a.word("mode", &RESIZE_MODES)?,
                coord: a.word("coord", &COORDS)?,
                nearest: a.word("nearest", &NEAREST)?,
                scales: a.vec("scales", "numbers", tok_f32)?,
                sizes: a.usizes("sizes")?,
                cubic_coeff_a: if a.has("cubic_coeff_a") { a.f32("cubic_coeff_a")? } else { d.cubic_coeff_a },
                exclude_outside: a.has("exclude_outside") && a.bool("exclude_outside")?,
                antialias: a.has("antialias") && a.bool("antialias")?,
                roi: if a.has("roi") { a.vec("roi", "numbers", tok_f32)? } else { d.roi },
                extrapolation_value: if a.has("extrapolation_value") {
                    a.f32("extrapolation_value")?
                } else {
                    d.extrapolation_value
                },
            })
        }
        other => match super::ops_math::build_math_op(other, &mut a)? {
            Some(op) => op,
            None => match super::ops_quant::build_quant_op(other, &mut a)? {
                Some(op) => op,
                None => match super::ops_index::build_index_op(other, &mut a)? {
                    Some(op) => op,
                    None => return Err(parse_error(a.line, a.column, format!("unknown op '{other}'"))),
                },
            },
        },
    };
    if let Some((name, _, l, c)) = a.items.first() {
        return Err(parse_error(*l, *c, format!("{}: unknown attribute '{name}'", a.op)));
    }
    Ok(op)
}
