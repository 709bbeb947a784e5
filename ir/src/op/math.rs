//! Attributes of the element-wise math, comparison, logical, reduction and padding ops
//! (ONNX opsets 13–22 unless noted): [`MathFn`] (inside [`crate::UnaryOp::Math`]),
//! [`CompareOp`], [`LogicalOp`], [`ReduceKind`] and [`PadAttrs`].

/// Element-wise math functions on float tensors (ONNX opset 13–22 definitions, evaluated in
/// `f32`; `f16` inputs are widened and the result rounded once).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MathFn {
    /// `|x|` (ONNX `Abs`).
    Abs,
    /// `-x` (ONNX `Neg`).
    Neg,
    /// `sqrt(x)`, NaN for `x < 0` (ONNX `Sqrt`).
    Sqrt,
    /// `1 / x` (ONNX `Reciprocal`).
    Reciprocal,
    /// `e^x` (ONNX `Exp`).
    Exp,
    /// `ln(x)` (ONNX `Log`).
    Log,
    /// Round toward −∞ (ONNX `Floor`).
    Floor,
    /// Round toward +∞ (ONNX `Ceil`).
    Ceil,
    /// Round to nearest, ties to even (ONNX `Round`).
    Round,
    /// `-1`, `0` or `1` by the sign of `x`; NaN stays NaN (ONNX `Sign`).
    Sign,
    /// The error function (ONNX `Erf`).
    Erf,
    /// `sin(x)` (ONNX `Sin`).
    Sin,
    /// `cos(x)` (ONNX `Cos`).
    Cos,
    /// `tan(x)` (ONNX `Tan`).
    Tan,
    /// `asin(x)` (ONNX `Asin`).
    Asin,
    /// `acos(x)` (ONNX `Acos`).
    Acos,
    /// `atan(x)` (ONNX `Atan`).
    Atan,
    /// `sinh(x)` (ONNX `Sinh`).
    Sinh,
    /// `cosh(x)` (ONNX `Cosh`).
    Cosh,
    /// `asinh(x)` (ONNX `Asinh`).
    Asinh,
    /// `acosh(x)` (ONNX `Acosh`).
    Acosh,
    /// `atanh(x)` (ONNX `Atanh`).
    Atanh,
    /// `ln(1 + e^x)` (ONNX `Softplus`).
    Softplus,
    /// `x / (1 + |x|)` (ONNX `Softsign`).
    Softsign,
    /// `x * tanh(softplus(x))` (ONNX `Mish`).
    Mish,
    /// `x < 0 ? alpha * (e^x - 1) : x` (ONNX `Elu`, default alpha 1).
    Elu {
        /// Scale of the negative part.
        alpha: f32,
    },
    /// `gamma * (x <= 0 ? alpha * (e^x - 1) : x)` (ONNX `Selu`, defaults 1.67326319217681884765625
    /// / 1.05070102214813232421875).
    Selu {
        /// Scale of the negative part.
        alpha: f32,
        /// Output scale.
        gamma: f32,
    },
    /// `max(0, x) + min(0, alpha * (e^(x / alpha) - 1))` (ONNX `Celu`, default alpha 1).
    Celu {
        /// Scale.
        alpha: f32,
    },
    /// `x > alpha ? x : 0` (ONNX `ThresholdedRelu`, default alpha 1).
    ThresholdedRelu {
        /// Threshold.
        alpha: f32,
    },
    /// `x * sigmoid(alpha * x)` (ONNX `Swish`, opset 24, default alpha 1).
    Swish {
        /// Slope inside the sigmoid.
        alpha: f32,
    },
    /// ONNX `Gelu` (opset 20): `0.5 * x * (1 + erf(x / sqrt(2)))`, or with `tanh`
    /// (`approximate = "tanh"`) `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))`.
    Gelu {
        /// The tanh approximation.
        tanh: bool,
    },
    /// `x < -lambd ? x + bias : x > lambd ? x - bias : 0` (ONNX `Shrink`, defaults lambd 0.5,
    /// bias 0).
    Shrink {
        /// Threshold.
        lambd: f32,
        /// Shift.
        bias: f32,
    },
}

impl MathFn {
    /// Every function without attributes, by ONNX name.
    pub const PLAIN: [(MathFn, &'static str); 25] = [
        (MathFn::Abs, "Abs"),
        (MathFn::Neg, "Neg"),
        (MathFn::Sqrt, "Sqrt"),
        (MathFn::Reciprocal, "Reciprocal"),
        (MathFn::Exp, "Exp"),
        (MathFn::Log, "Log"),
        (MathFn::Floor, "Floor"),
        (MathFn::Ceil, "Ceil"),
        (MathFn::Round, "Round"),
        (MathFn::Sign, "Sign"),
        (MathFn::Erf, "Erf"),
        (MathFn::Sin, "Sin"),
        (MathFn::Cos, "Cos"),
        (MathFn::Tan, "Tan"),
        (MathFn::Asin, "Asin"),
        (MathFn::Acos, "Acos"),
        (MathFn::Atan, "Atan"),
        (MathFn::Sinh, "Sinh"),
        (MathFn::Cosh, "Cosh"),
        (MathFn::Asinh, "Asinh"),
        (MathFn::Acosh, "Acosh"),
        (MathFn::Atanh, "Atanh"),
        (MathFn::Softplus, "Softplus"),
        (MathFn::Softsign, "Softsign"),
        (MathFn::Mish, "Mish"),
    ];

    /// The ONNX op name.
    pub fn name(&self) -> &'static str {
        match self {
            MathFn::Elu { .. } => "Elu",
            MathFn::Selu { .. } => "Selu",
            MathFn::Celu { .. } => "Celu",
            MathFn::ThresholdedRelu { .. } => "ThresholdedRelu",
            MathFn::Swish { .. } => "Swish",
            MathFn::Gelu { .. } => "Gelu",
            MathFn::Shrink { .. } => "Shrink",
            plain => Self::PLAIN.iter().find(|(f, _)| f == plain).map_or("?", |(_, n)| n),
        }
    }
}

/// Element-wise comparisons (ONNX `Equal`, `Less`, `Greater`, `LessOrEqual`,
/// `GreaterOrEqual`, opset 7–19): two inputs of one numeric dtype, numpy broadcasting, `bool`
/// output. Float comparisons are IEEE (`NaN` compares unequal to everything).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `a == b`.
    Equal,
    /// `a < b`.
    Less,
    /// `a <= b`.
    LessOrEqual,
    /// `a > b`.
    Greater,
    /// `a >= b`.
    GreaterOrEqual,
}

impl CompareOp {
    /// Every comparison with its ONNX name.
    pub const ALL: [(CompareOp, &'static str); 5] = [
        (CompareOp::Equal, "Equal"),
        (CompareOp::Less, "Less"),
        (CompareOp::LessOrEqual, "LessOrEqual"),
        (CompareOp::Greater, "Greater"),
        (CompareOp::GreaterOrEqual, "GreaterOrEqual"),
    ];

    /// The ONNX op name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(c, _)| *c == self).map_or("?", |(_, n)| n)
    }
}

/// Element-wise boolean ops (ONNX `And`, `Or`, `Xor`, opset 7): two `bool` inputs, numpy
/// broadcasting, `bool` output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogicalOp {
    /// `a && b`.
    And,
    /// `a || b`.
    Or,
    /// `a != b`.
    Xor,
}

impl LogicalOp {
    /// Every logical op with its ONNX name.
    pub const ALL: [(LogicalOp, &'static str); 3] =
        [(LogicalOp::And, "And"), (LogicalOp::Or, "Or"), (LogicalOp::Xor, "Xor")];

    /// The ONNX op name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(c, _)| *c == self).map_or("?", |(_, n)| n)
    }
}

/// What [`crate::Op::Reduce`] computes over the reduced elements `x_i` (ONNX `Reduce*`,
/// opset 13/18). An empty reduction gives the operation's identity: 0 for sums, 1 for
/// `Prod`, `-inf`/`+inf` (float) or the dtype's min/max (integer) for `Max`/`Min`, `-inf` for
/// `LogSum`/`LogSumExp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceKind {
    /// `Σ x_i` (ONNX `ReduceSum`).
    Sum,
    /// `max x_i`; NaN propagates (ONNX `ReduceMax`).
    Max,
    /// `min x_i`; NaN propagates (ONNX `ReduceMin`).
    Min,
    /// `Π x_i` (ONNX `ReduceProd`).
    Prod,
    /// `Σ |x_i|` (ONNX `ReduceL1`).
    L1,
    /// `sqrt(Σ x_i²)` (ONNX `ReduceL2`).
    L2,
    /// `Σ x_i²` (ONNX `ReduceSumSquare`).
    SumSquare,
    /// `ln(Σ x_i)` (ONNX `ReduceLogSum`).
    LogSum,
    /// `ln(Σ e^x_i)`, computed as `m + ln(Σ e^(x_i - m))` with `m = max x_i` (ONNX
    /// `ReduceLogSumExp`).
    LogSumExp,
}

impl ReduceKind {
    /// Every kind with its ONNX op name.
    pub const ALL: [(ReduceKind, &'static str); 9] = [
        (ReduceKind::Sum, "ReduceSum"),
        (ReduceKind::Max, "ReduceMax"),
        (ReduceKind::Min, "ReduceMin"),
        (ReduceKind::Prod, "ReduceProd"),
        (ReduceKind::L1, "ReduceL1"),
        (ReduceKind::L2, "ReduceL2"),
        (ReduceKind::SumSquare, "ReduceSumSquare"),
        (ReduceKind::LogSum, "ReduceLogSum"),
        (ReduceKind::LogSumExp, "ReduceLogSumExp"),
    ];

    /// The ONNX op name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(c, _)| *c == self).map_or("?", |(_, n)| n)
    }

    /// Whether the kind is defined for integer inputs (computed exactly, wrapping): `Sum`,
    /// `Max`, `Min`, `Prod`, `L1`, `SumSquare`. The others need a float input.
    pub fn allows_integers(self) -> bool {
        !matches!(self, ReduceKind::L2 | ReduceKind::LogSum | ReduceKind::LogSumExp)
    }
}

/// ONNX `Pad` `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PadMode {
    /// Fill with the constant `value`.
    Constant,
    /// Mirror without repeating the edge (`[1,2,3]` padded by 2 → `3,2,[1,2,3],2,1`).
    Reflect,
    /// Repeat the edge element.
    Edge,
    /// Wrap around (`[1,2,3]` padded by 2 → `2,3,[1,2,3],1,2`).
    Wrap,
}

impl PadMode {
    /// Every mode with its ONNX name.
    pub const ALL: [(PadMode, &'static str); 4] = [
        (PadMode::Constant, "constant"),
        (PadMode::Reflect, "reflect"),
        (PadMode::Edge, "edge"),
        (PadMode::Wrap, "wrap"),
    ];
}

/// Attributes of [`crate::Op::Pad`] (ONNX `Pad`, opset 2–21, with the `pads`, `value` and
/// `axes` inputs resolved at import; negative pads, which crop, become a `Slice` first).
///
/// Output dim `i` is `begin[i] + d_i + end[i]`; output element at index `o` (per axis) reads
/// input index `o - begin` when that lies in `[0, d)`, otherwise the mode decides.
/// `Reflect` needs `begin, end <= d - 1`; `Edge` and `Wrap` need `d > 0` when padding.
#[derive(Clone, Debug, PartialEq)]
pub struct PadAttrs {
    /// How padded elements are filled.
    pub mode: PadMode,
    /// Elements added before each axis (length = rank).
    pub begin: Vec<usize>,
    /// Elements added after each axis (length = rank).
    pub end: Vec<usize>,
    /// Fill value of `Constant` mode, converted to the tensor's dtype (as ONNX casts the
    /// `constant_value` input; exact for every integer dtype but `i64` beyond ±2^53).
    pub value: f64,
}
