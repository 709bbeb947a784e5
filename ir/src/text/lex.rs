//! Tokens of the IR text form, with 1-based line and column.

use crate::IrError;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    /// A word: keyword, op or attribute name, dtype, `true`, `NaN`, ...
    Ident(String),
    /// A number as written (parsed where its type is known).
    Num(String),
    /// A quoted string, unescaped.
    Str(String),
    /// `%name`.
    Value(String),
    /// `@name`.
    At(String),
    /// `->`.
    Arrow,
    /// One of `( ) { } [ ] < > , : =`.
    Punct(char),
    Eof,
}

impl Tok {
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Num(s) => format!("number {s}"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Value(s) => format!("%{s}"),
            Tok::At(s) => format!("@{s}"),
            Tok::Arrow => "'->'".into(),
            Tok::Punct(c) => format!("'{c}'"),
            Tok::Eof => "end of input".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub tok: Tok,
    pub line: usize,
    pub column: usize,
}

pub(super) fn parse_error(line: usize, column: usize, message: impl Into<String>) -> IrError {
    IrError::Parse { line, column, message: message.into() }
}

/// Characters of an unquoted name (after `%`/`@`, and graph names).
pub(super) fn is_bare_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn is_number_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-')
}

pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, IrError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    while i < chars.len() {
        let c = chars[i];
        let (tl, tc) = (line, col);
        let start = i;
        let tok = match c {
            '\n' => {
                i += 1;
                line += 1;
                col = 1;
                continue;
            }
            c if c.is_whitespace() => {
                i += 1;
                col += 1;
                continue;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '%' | '@' => {
                i += 1;
                let name = if chars.get(i) == Some(&'"') {
                    let (s, n) = quoted(&chars[i..], tl, tc + 1)?;
                    i += n;
                    s
                } else {
                    let b = i;
                    while i < chars.len() && is_bare_name_char(chars[i]) {
                        i += 1;
                    }
                    if b == i {
                        return Err(parse_error(tl, tc, format!("expected a name after '{c}'")));
                    }
                    chars[b..i].iter().collect()
                };
                if c == '%' {
                    Tok::Value(name)
                } else {
                    Tok::At(name)
                }
            }
            '"' => {
                let (s, n) = quoted(&chars[i..], tl, tc)?;
                i += n;
                Tok::Str(s)
            }
            '-' if chars.get(i + 1) == Some(&'>') => {
                i += 2;
                Tok::Arrow
            }
            c if c.is_ascii_digit()
                || (matches!(c, '-' | '+') && chars.get(i + 1).is_some_and(|d| d.is_ascii_alphanumeric())) =>
            {
                i += 1;
                while i < chars.len() && is_number_char(chars[i]) {
                    i += 1;
                }
                Tok::Num(chars[start..i].iter().collect())
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                while i < chars.len() && is_bare_name_char(chars[i]) {
                    i += 1;
                }
                Tok::Ident(chars[start..i].iter().collect())
            }
            '(' | ')' | '{' | '}' | '[' | ']' | '<' | '>' | ',' | ':' | '=' => {
                i += 1;
                Tok::Punct(c)
            }
            other => return Err(parse_error(tl, tc, format!("unexpected character {other:?}"))),
        };
        // Tokens never span lines except quoted strings with escaped newlines, which stay
        // on one source line.
        col += i - start;
        out.push(Token { tok, line: tl, column: tc });
    }
    out.push(Token { tok: Tok::Eof, line, column: col });
    Ok(out)
}

/// Reads a Rust-style quoted string at `chars[0] == '"'`; returns it and the chars consumed.
fn quoted(chars: &[char], line: usize, column: usize) -> Result<(String, usize), IrError> {
    let mut s = String::new();
    let mut i = 1;
    loop {
        let err = |i: usize, m: &str| parse_error(line, column + i, m);
        match chars.get(i) {
            None | Some('\n') => return Err(err(i, "unterminated string")),
            Some('"') => return Ok((s, i + 1)),
            Some('\\') => {
                let e = chars.get(i + 1).copied();
                i += 2;
                match e {
                    Some('n') => s.push('\n'),
                    Some('r') => s.push('\r'),
                    Some('t') => s.push('\t'),
                    Some('0') => s.push('\0'),
                    Some('\\') => s.push('\\'),
                    Some('"') => s.push('"'),
                    Some('\'') => s.push('\''),
                    Some('u') if chars.get(i) == Some(&'{') => {
                        let close =
                            chars[i..].iter().position(|&c| c == '}').ok_or_else(|| err(i, "unterminated \\u{...}"))?;
                        let hex: String = chars[i + 1..i + close].iter().collect();
                        let ch = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| err(i, "invalid \\u{...} escape"))?;
                        s.push(ch);
                        i += close + 1;
                    }
                    _ => return Err(err(i - 1, "unknown escape")),
                }
            }
            Some(&c) => {
                s.push(c);
                i += 1;
            }
        }
    }
}

/// A name as printed: bare when it is non-empty and made of [`is_bare_name_char`], else
/// quoted with Rust's string escapes.
pub(super) fn name_text(name: &str) -> String {
    if !name.is_empty() && name.chars().all(is_bare_name_char) {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}
