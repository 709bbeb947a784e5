//! The parser: tokens to [`Graph`], assigning ids in canonical order.

use std::collections::{HashMap, HashSet};

use super::lex::{parse_error, tokenize, Tok, Token};
use super::ops::{build_op, parse_f32, tok_f32, AttrValue, Attrs};
use super::print::type_text;
use crate::{infer_types, DType, Data, Graph, IrError, Node, NodeId, QuantParams, TensorData, TensorType, Value};
use crate::{ValueDef, ValueId};

pub(super) fn parse(text: &str) -> Result<Graph, IrError> {
    let toks = tokenize(text)?;
    let mut p = Parser { toks, pos: 0, g: Graph::default(), names: HashMap::new(), node_names: HashSet::new() };
    p.graph()?;
    Ok(p.g)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    g: Graph,
    names: HashMap<String, ValueId>,
    node_names: HashSet<String>,
}

/// A name with the position where it was written.
struct Spanned {
    name: String,
    line: usize,
    column: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn here(&self) -> (usize, usize) {
        let t = &self.toks[self.pos.min(self.toks.len() - 1)];
        (t.line, t.column)
    }

    fn next(&mut self) -> Token {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn err_here(&self, msg: impl Into<String>) -> IrError {
        let (l, c) = self.here();
        parse_error(l, c, msg)
    }

    fn unexpected(&self, expected: &str) -> IrError {
        self.err_here(format!("expected {expected}, found {}", self.peek().describe()))
    }

    fn eat(&mut self, c: char) -> bool {
        if *self.peek() == Tok::Punct(c) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), IrError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{c}'")))
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Tok::Ident(w) if w == word) {
            self.next();
            true
        } else {
            false
        }
    }

    fn value_name(&mut self) -> Result<Spanned, IrError> {
        let (line, column) = self.here();
        match self.peek().clone() {
            Tok::Value(name) => {
                self.next();
                Ok(Spanned { name, line, column })
            }
            _ => Err(self.unexpected("a value name (%name)")),
        }
    }

    fn lookup(&self, s: &Spanned) -> Result<ValueId, IrError> {
        self.names
            .get(&s.name)
            .copied()
            .ok_or_else(|| parse_error(s.line, s.column, format!("undefined value %{}", s.name)))
    }

    fn define(&mut self, s: &Spanned, ty: TensorType, def: ValueDef) -> Result<ValueId, IrError> {
        if self.names.contains_key(&s.name) {
            return Err(parse_error(s.line, s.column, format!("value %{} is defined twice", s.name)));
        }
        let id =
            ValueId(u32::try_from(self.g.values.len()).map_err(|_| parse_error(s.line, s.column, "too many values"))?);
        self.g.values.push(Value { name: s.name.clone(), ty, def });
        self.names.insert(s.name.clone(), id);
        Ok(id)
    }

    fn graph(&mut self) -> Result<(), IrError> {
        if !self.keyword("graph") {
            return Err(self.unexpected("'graph'"));
        }
        self.g.name = match self.next().tok {
            Tok::Ident(s) | Tok::Str(s) => s,
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("the graph name"));
            }
        };
        self.expect('(')?;
        while !self.eat(')') {
            if !self.g.inputs.is_empty() {
                self.expect(',')?;
            }
            let name = self.value_name()?;
            self.expect(':')?;
            let ty = self.ty()?;
            let id = self.define(&name, ty, ValueDef::Input(self.g.inputs.len()))?;
            self.g.inputs.push(id);
        }
        if *self.peek() != Tok::Arrow {
            return Err(self.unexpected("'->'"));
        }
        self.next();
        self.expect('(')?;
        let mut outputs = Vec::new();
        while !self.eat(')') {
            if !outputs.is_empty() {
                self.expect(',')?;
            }
            outputs.push(self.value_name()?);
        }
        self.expect('{')?;
        while !self.eat('}') {
            if *self.peek() == Tok::Eof {
                return Err(self.unexpected("'}' or a statement"));
            }
            self.statement()?;
        }
        if *self.peek() != Tok::Eof {
            return Err(self.unexpected("end of input"));
        }
        for o in &outputs {
            let id = self.lookup(o)?;
            self.g.outputs.push(id);
        }
        Ok(())
    }

    fn statement(&mut self) -> Result<(), IrError> {
        let mut outs: Vec<(Spanned, Option<TensorType>)> = Vec::new();
        loop {
            let name = self.value_name()?;
            let ty = if self.eat(':') { Some(self.ty()?) } else { None };
            outs.push((name, ty));
            if !self.eat(',') {
                break;
            }
        }
        self.expect('=')?;
        let (line, column) = self.here();
        if self.keyword("const") {
            let [(name, ty)]: [(Spanned, Option<TensorType>); 1] =
                outs.try_into().map_err(|_| parse_error(line, column, "a constant defines exactly one value"))?;
            let ty = ty.ok_or_else(|| parse_error(name.line, name.column, "a constant needs a type"))?;
            if matches!(self.peek(), Tok::Ident(w) if w == "elided") {
                return Err(self.err_here("elided constant: print with PrintOptions::full() to parse"));
            }
            let data = self.const_data(&ty)?;
            self.define(&name, ty, ValueDef::Const(data))?;
            return Ok(());
        }
        let op_name = match self.next().tok {
            Tok::Ident(s) => s,
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("an op name or 'const'"));
            }
        };
        self.expect('(')?;
        let mut inputs = Vec::new();
        while !self.eat(')') {
            if !inputs.is_empty() {
                self.expect(',')?;
            }
            let arg = self.value_name()?;
            inputs.push(self.lookup(&arg)?);
        }
        let mut attrs = Attrs { op: op_name, items: Vec::new(), line, column };
        if self.eat('{') {
            while !self.eat('}') {
                if !attrs.items.is_empty() {
                    self.expect(',')?;
                }
                let (l, c) = self.here();
                let Tok::Ident(key) = self.next().tok else {
                    self.pos -= 1;
                    return Err(self.unexpected("an attribute name"));
                };
                self.expect('=')?;
                let value = self.attr_value()?;
                attrs.items.push((key, value, l, c));
            }
        }
        let op = build_op(attrs)?;
        let node_name = match self.peek().clone() {
            Tok::At(n) => {
                self.next();
                n
            }
            _ => default_node_name(&outs)
                .ok_or_else(|| parse_error(line, column, "a node with several outputs needs @name"))?,
        };
        if !self.node_names.insert(node_name.clone()) {
            return Err(parse_error(line, column, format!("node name '{node_name}' is used twice")));
        }
        let in_types: Vec<&TensorType> = inputs.iter().map(|&v| self.g.ty(v)).collect();
        let inferred = infer_types(&op, &in_types).map_err(|e| parse_error(line, column, e.to_string()))?;
        if inferred.len() != outs.len() {
            return Err(parse_error(
                line,
                column,
                format!("{} has {} outputs, {} written", op.name(), inferred.len(), outs.len()),
            ));
        }
        let node_id = NodeId(self.g.nodes.len() as u32);
        let mut outputs = Vec::with_capacity(outs.len());
        for (k, ((name, declared), want)) in outs.into_iter().zip(inferred).enumerate() {
            if let Some(d) = declared.filter(|d| *d != want) {
                return Err(parse_error(
                    name.line,
                    name.column,
                    format!(
                        "%{} is declared {} but {} gives {}",
                        name.name,
                        type_text(Some(&d)),
                        op.name(),
                        type_text(Some(&want))
                    ),
                ));
            }
            outputs.push(self.define(&name, want, ValueDef::Node(node_id, k))?);
        }
        self.g.nodes.push(Node { name: node_name, op, inputs, outputs });
        Ok(())
    }

    fn attr_value(&mut self) -> Result<AttrValue, IrError> {
        if self.eat('[') {
            let mut items = Vec::new();
            while !self.eat(']') {
                if !items.is_empty() {
                    self.expect(',')?;
                }
                items.push(self.scalar_tok()?);
            }
            Ok(AttrValue::List(items))
        } else {
            Ok(AttrValue::Scalar(self.scalar_tok()?))
        }
    }

    fn scalar_tok(&mut self) -> Result<Tok, IrError> {
        match self.peek() {
            Tok::Num(_) | Tok::Ident(_) => Ok(self.next().tok),
            _ => Err(self.unexpected("a number or word")),
        }
    }

    /// `[a, b, ...]` of scalar tokens, with each token's position.
    fn token_list(&mut self) -> Result<Vec<Token>, IrError> {
        self.expect('[')?;
        let mut items = Vec::new();
        while !self.eat(']') {
            if !items.is_empty() {
                self.expect(',')?;
            }
            self.scalar_tok()?;
            items.push(self.toks[self.pos - 1].clone());
        }
        Ok(items)
    }

    fn ty(&mut self) -> Result<TensorType, IrError> {
        let dtype = match self.peek() {
            Tok::Ident(s) => DType::from_name(s),
            _ => None,
        }
        .ok_or_else(|| self.unexpected("a dtype (f32, u8, ...)"))?;
        self.next();
        let quant = if self.eat('<') { Some(self.quant()?) } else { None };
        let dims = self.token_list()?;
        let shape = dims
            .iter()
            .map(|t| match &t.tok {
                Tok::Num(s) => {
                    s.parse::<usize>().map_err(|_| parse_error(t.line, t.column, format!("bad dimension {s}")))
                }
                other => {
                    Err(parse_error(t.line, t.column, format!("expected a dimension, found {}", other.describe())))
                }
            })
            .collect::<Result<Vec<usize>, IrError>>()?;
        Ok(TensorType { dtype, shape, quant })
    }

    /// After `<`: `scale,zero_point>` or `axis=A,block_size=B,scale=[...],zero_point=[...]>`
    /// (`axis` and `block_size` optional).
    fn quant(&mut self) -> Result<QuantParams, IrError> {
        let (l, c) = self.here();
        let bad = |l, c, m: &str| parse_error(l, c, format!("quantization parameters: {m}"));
        let f32_of = |t: &Token| tok_f32(&t.tok).ok_or_else(|| bad(t.line, t.column, "expected a scale"));
        let i32_of = |t: &Token| match &t.tok {
            Tok::Num(s) => s.parse::<i32>().map_err(|_| bad(t.line, t.column, "expected a zero point")),
            _ => Err(bad(t.line, t.column, "expected a zero point")),
        };
        if matches!(self.peek(), Tok::Num(_)) || matches!(self.peek(), Tok::Ident(s) if parse_f32(s).is_some()) {
            let s = self.next();
            let scale = f32_of(&s)?;
            self.expect(',')?;
            let z = self.next();
            let zero_point = i32_of(&z)?;
            self.expect('>')?;
            return Ok(QuantParams::per_tensor(scale, zero_point));
        }
        let mut q = QuantParams { scale: vec![], zero_point: vec![], axis: None, block_size: None };
        let (mut has_scale, mut has_zp) = (false, false);
        while !self.eat('>') {
            if has_scale || has_zp || q.axis.is_some() || q.block_size.is_some() {
                self.expect(',')?;
            }
            let key = self.next();
            self.expect('=')?;
            match &key.tok {
                Tok::Ident(k) if k == "axis" => {
                    let t = self.next();
                    q.axis = Some(match &t.tok {
                        Tok::Num(s) => s.parse().map_err(|_| bad(t.line, t.column, "bad axis"))?,
                        _ => return Err(bad(t.line, t.column, "expected an axis")),
                    });
                }
                Tok::Ident(k) if k == "block_size" => {
                    let t = self.next();
                    q.block_size = Some(match &t.tok {
                        Tok::Num(s) => s.parse().map_err(|_| bad(t.line, t.column, "bad block_size"))?,
                        _ => return Err(bad(t.line, t.column, "expected a block size")),
                    });
                }
                Tok::Ident(k) if k == "scale" => {
                    q.scale = self.token_list()?.iter().map(f32_of).collect::<Result<_, _>>()?;
                    has_scale = true;
                }
                Tok::Ident(k) if k == "zero_point" => {
                    q.zero_point = self.token_list()?.iter().map(i32_of).collect::<Result<_, _>>()?;
                    has_zp = true;
                }
                _ => return Err(bad(key.line, key.column, "expected axis, block_size, scale or zero_point")),
            }
        }
        if !(has_scale && has_zp) {
            return Err(bad(l, c, "scale and zero_point are required"));
        }
        Ok(q)
    }

    fn const_data(&mut self, ty: &TensorType) -> Result<TensorData, IrError> {
        let (l, c) = self.here();
        let items = self.token_list()?;
        let numel = ty.checked_numel().ok_or_else(|| parse_error(l, c, "constant shape overflows"))?;
        if items.len() != numel {
            return Err(parse_error(
                l,
                c,
                format!("constant of type {} needs {numel} elements, got {}", type_text(Some(ty)), items.len()),
            ));
        }
        fn each<T>(items: &[Token], dtype: DType, f: impl Fn(&Tok) -> Option<T>) -> Result<Vec<T>, IrError> {
            items
                .iter()
                .map(|t| {
                    f(&t.tok).ok_or_else(|| {
                        parse_error(t.line, t.column, format!("expected a {dtype} element, found {}", t.tok.describe()))
                    })
                })
                .collect()
        }
        fn int<T: std::str::FromStr>(t: &Tok) -> Option<T> {
            match t {
                Tok::Num(s) => s.parse().ok(),
                _ => None,
            }
        }
        let d = ty.dtype;
        let data = match d {
            DType::F32 => Data::F32(each(&items, d, tok_f32)?),
            DType::F16 => Data::F16(each(&items, d, |t| match t {
                Tok::Ident(s) if s.starts_with("NaN_0x") => {
                    u16::from_str_radix(&s[6..], 16).ok().map(half::f16::from_bits).filter(|x| x.is_nan())
                }
                t => tok_f32(t).map(half::f16::from_f32),
            })?),
            DType::I64 => Data::I64(each(&items, d, int)?),
            DType::I32 => Data::I32(each(&items, d, int)?),
            DType::I16 => Data::I16(each(&items, d, int)?),
            DType::I8 => Data::I8(each(&items, d, int)?),
            DType::U8 => Data::U8(each(&items, d, int)?),
            DType::I4 | DType::U4 => {
                let range = if d == DType::I4 { -8..=7 } else { 0..=15 };
                let v: Vec<i8> = each(&items, d, |t| int::<i8>(t).filter(|x| range.contains(x)))?;
                let packed = v
                    .chunks(2)
                    .map(|p| (p[0] as u8 & 0x0f) | ((p.get(1).copied().unwrap_or(0) as u8 & 0x0f) << 4))
                    .collect();
                if d == DType::I4 {
                    Data::I4(packed)
                } else {
                    Data::U4(packed)
                }
            }
            DType::Bool => Data::Bool(each(&items, d, |t| match t {
                Tok::Ident(s) if s == "true" => Some(true),
                Tok::Ident(s) if s == "false" => Some(false),
                _ => None,
            })?),
        };
        TensorData::new(ty.shape.clone(), data).map_err(|e| parse_error(l, c, e.to_string()))
    }
}

/// The node name implied by its outputs' names (see `print::has_default_output_names`).
fn default_node_name(outs: &[(Spanned, Option<TensorType>)]) -> Option<String> {
    match outs {
        [(s, _)] => Some(s.name.clone()),
        _ => {
            let base = outs.first()?.0.name.strip_suffix(":0")?;
            outs.iter().enumerate().all(|(i, (s, _))| s.name == format!("{base}:{i}")).then(|| base.to_string())
        }
    }
}
