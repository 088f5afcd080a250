//! keepalived's grammar: each logical line (from [`SourceSet`]) is tokenized with nom into
//! words (unquoted runs and `"…"`/`'…'` quoted parts with shell-like escapes, glued
//! together when adjacent) and the braces `{` `}`; statements `keyword args…` are one per
//! line, a block is a statement followed by `{` (on the same line or the next) and closed
//! by `}`. The result is an untyped tree of [`Node`]s, delivered one top-level node at a
//! time so memory stays bounded by the largest block, not the file.
//!
//! The parser never panics and never stops at the first problem: lexical and brace
//! errors are recorded and parsing goes on with a best guess of what was meant.

use std::borrow::Cow;
use std::collections::VecDeque;

use nom::branch::alt;
use nom::bytes::complete::{take_while, take_while1};
use nom::character::complete::char;
use nom::combinator::value;
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser as _};

use super::error::{Diagnostics, Span};
use super::source::{Line, SourceSet};

/// Blocks deeper than this are reported and their contents dropped (real configs
/// nest at most 4 levels: virtual_server → real_server → HTTP_GET → url).
pub const MAX_DEPTH: usize = 16;

/// Blocks that only exist at the top level. Meeting one of them inside a block means
/// the block before it was not closed; saying so beats a cascade of misplaced keywords.
const TOP_LEVEL_BLOCKS: &[&str] = &[
    "global_defs",
    "director",
    "ospf",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "vrrp_script",
    "vrrp_sync_group",
    "vrrp_instance",
    "virtual_server_group",
    "virtual_server",
    "linkbeat_interfaces",
    "garp_group",
    "vrrp_track_process",
    "bfd_instance",
];

/// One statement: `keyword args…`, with its block if it opened one.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'a> {
    pub keyword: Cow<'a, str>,
    /// Where the keyword is.
    pub span: Span,
    pub args: Vec<Arg<'a>>,
    /// `Some` when the statement opened a block (possibly empty).
    pub children: Option<Vec<Node<'a>>>,
}

/// A word after the keyword.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg<'a> {
    pub text: Cow<'a, str>,
    /// Column of the word in the statement's line.
    pub col: u32,
    /// Whether (part of) the word was quoted.
    pub quoted: bool,
}

impl<'a> Node<'a> {
    pub fn arg_span(&self, index: usize) -> Span {
        match self.args.get(index) {
            Some(arg) => self.span.at_col(arg.col),
            None => self.span.clone(),
        }
    }

    pub fn arg(&self, index: usize) -> Option<&str> {
        self.args.get(index).map(|a| &*a.text)
    }

    pub fn children(&self) -> &[Node<'a>] {
        self.children.as_deref().unwrap_or(&[])
    }
}

// ───────────────────────────── lexer (nom) ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Brace {
    Open,
    Close,
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind<'a> {
    Word { text: Cow<'a, str>, quoted: bool },
    Brace(Brace),
}

#[derive(Debug, Clone, PartialEq)]
struct Token<'a> {
    kind: TokenKind<'a>,
    /// Byte offset in the line.
    offset: usize,
}

/// A lexical error: where (the remaining input at that point) and what.
#[derive(Debug, PartialEq)]
struct LexError<'a> {
    at: &'a str,
    message: &'static str,
}

impl<'a> ParseError<&'a str> for LexError<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        LexError {
            at: input,
            message: "unexpected character",
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type LexResult<'a, T> = IResult<&'a str, T, LexError<'a>>;

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '{' | '}' | '"' | '\'')
}

fn whitespace(input: &str) -> LexResult<'_, &str> {
    take_while(char::is_whitespace).parse(input)
}

fn brace(input: &str) -> LexResult<'_, Brace> {
    alt((
        value(Brace::Open, char('{')),
        value(Brace::Close, char('}')),
    ))
    .parse(input)
}

fn unquoted(input: &str) -> LexResult<'_, &str> {
    take_while1(is_word_char).parse(input)
}

/// `"…"` or `'…'` with keepalived's escapes (keepalived.conf(5) "Quoted strings").
fn quoted(input: &str) -> LexResult<'_, Cow<'_, str>> {
    let (rest, quote) = alt((char('"'), char('\''))).parse(input)?;
    let Some(close) = find_closing_quote(rest, quote) else {
        return Err(nom::Err::Failure(LexError {
            at: input,
            message: "unterminated quoted string, expected a closing quote",
        }));
    };
    let body = &rest[..close];
    let after = &rest[close + 1..];
    if body.contains('\\') {
        Ok((after, Cow::Owned(unescape(body))))
    } else {
        Ok((after, Cow::Borrowed(body)))
    }
}

fn find_closing_quote(text: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some(i);
        }
    }
    None
}

fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'E' | 'e' => out.push('\x1b'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v & 0xff).unwrap_or('?'));
            }
            'x' => {
                let mut v = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match chars.peek().and_then(|c| c.to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            chars.next();
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.push('x');
                } else {
                    out.push(char::from_u32(v).unwrap_or('?'));
                }
            }
            'c' => match chars.next() {
                Some(c) => {
                    out.push(char::from_u32((c.to_ascii_uppercase() as u32) ^ 0x40).unwrap_or('?'))
                }
                None => out.push('c'),
            },
            other => out.push(other),
        }
    }
    out
}

/// A word: adjacent unquoted and quoted parts form one word (`abcd" efg"` is `abcd efg`).
fn word(input: &str) -> LexResult<'_, (Cow<'_, str>, bool)> {
    let segment = |i| -> LexResult<'_, (Cow<'_, str>, bool)> {
        alt((
            unquoted.map(|s| (Cow::Borrowed(s), false)),
            quoted.map(|s| (s, true)),
        ))
        .parse(i)
    };
    let (mut rest, (mut text, mut any_quoted)) = segment(input)?;
    loop {
        match segment(rest) {
            Ok((next, (part, quoted))) => {
                text.to_mut().push_str(&part);
                any_quoted |= quoted;
                rest = next;
            }
            Err(nom::Err::Error(_)) => return Ok((rest, (text, any_quoted))),
            Err(e) => return Err(e),
        }
    }
}

fn token(input: &str) -> LexResult<'_, TokenKind<'_>> {
    alt((
        brace.map(TokenKind::Brace),
        word.map(|(text, quoted)| TokenKind::Word { text, quoted }),
    ))
    .parse(input)
}

/// Tokens of one line into `tokens`; on a lexical error, the tokens before it and the
/// error.
fn tokenize<'t>(line: &'t str, tokens: &mut Vec<Token<'t>>) -> Option<(usize, &'static str)> {
    let mut rest = line;
    loop {
        if let Ok((r, _)) = whitespace(rest) {
            rest = r;
        }
        if rest.is_empty() {
            return None;
        }
        let offset = line.len() - rest.len();
        match token(rest) {
            Ok((r, kind)) => {
                tokens.push(Token { kind, offset });
                rest = r;
            }
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                return Some((line.len() - e.at.len(), e.message));
            }
            Err(nom::Err::Incomplete(_)) => return Some((offset, "incomplete token")),
        }
    }
}

/// Guides copy configs with `//` notes after values (`lb_kind DR // direct routing`).
/// `//` is not a comment in keepalived.conf: keepalived reads the words as arguments and
/// refuses them. director drops the words from the first unquoted one starting with `//`
/// to the end of the line (braces stay, so blocks open and close as keepalived sees
/// them), with one warning for the line.
fn strip_slash_annotation(
    tokens: &mut Vec<Token<'_>>,
    span_at: impl Fn(usize) -> Span,
    diag: &mut Diagnostics,
) {
    let Some(cut) = tokens.iter().position(
        |t| matches!(&t.kind, TokenKind::Word { text, quoted: false } if text.starts_with("//")),
    ) else {
        return;
    };
    diag.warn(
        span_at(tokens[cut].offset),
        "'//' is not a comment in keepalived.conf (use '#' or '!'); ignored it and the words after it on this line",
    );
    let mut index = 0;
    tokens.retain(|t| {
        index += 1;
        index <= cut || matches!(t.kind, TokenKind::Brace(_))
    });
}

// ───────────────────────────── blocks ─────────────────────────────

/// An open block on the stack.
struct Open<'a> {
    node: Node<'a>,
    /// Blocks opened without a keyword, or too deep: their content is checked for
    /// balance but dropped.
    discard: bool,
}

/// Streams the top-level nodes of a [`SourceSet`].
pub struct Parser<'a> {
    set: &'a SourceSet,
    next_line: usize,
    stack: Vec<Open<'a>>,
    /// The last statement of the previous line, which becomes a block if the next line
    /// starts with `{`.
    pending: Option<Node<'a>>,
    ready: VecDeque<Node<'a>>,
    finished: bool,
    /// Reused for every line: one allocation instead of one per line.
    token_buffer: Vec<Token<'a>>,
}

impl<'a> Parser<'a> {
    pub fn new(set: &'a SourceSet) -> Self {
        Parser {
            set,
            next_line: 0,
            stack: Vec::new(),
            pending: None,
            ready: VecDeque::new(),
            finished: false,
            token_buffer: Vec::new(),
        }
    }

    /// The next top-level node; problems go to `diag`.
    pub fn next_node(&mut self, diag: &mut Diagnostics) -> Option<Node<'a>> {
        loop {
            if let Some(node) = self.ready.pop_front() {
                return Some(node);
            }
            if self.finished {
                return None;
            }
            let set = self.set;
            match set.lines().get(self.next_line) {
                Some(line) => {
                    self.next_line += 1;
                    self.line(line, diag);
                }
                None => self.finish(diag),
            }
        }
    }

    /// Parse everything into a list of top-level nodes.
    pub fn parse_all(set: &'a SourceSet, diag: &mut Diagnostics) -> Vec<Node<'a>> {
        let mut parser = Parser::new(set);
        let mut nodes = Vec::new();
        while let Some(node) = parser.next_node(diag) {
            nodes.push(node);
        }
        nodes
    }

    fn line(&mut self, line: &'a Line, diag: &mut Diagnostics) {
        let set = self.set;
        let text = set.text(line);
        let mut buffer = std::mem::take(&mut self.token_buffer);
        let lex_error = tokenize(text, &mut buffer);
        strip_slash_annotation(&mut buffer, |offset| set.span(line, offset), diag);
        let mut tokens = buffer.drain(..).peekable();

        match tokens.peek() {
            Some(Token {
                kind: TokenKind::Brace(Brace::Open),
                offset,
            }) => {
                let offset = *offset;
                tokens.next();
                match self.pending.take() {
                    Some(node) => self.open(node, diag),
                    None => self.open_anonymous(set.span(line, offset), diag),
                }
            }
            _ => self.flush_pending(),
        }

        while let Some(tok) = tokens.next() {
            match tok.kind {
                TokenKind::Brace(Brace::Close) => self.close(set.span(line, tok.offset), diag),
                TokenKind::Brace(Brace::Open) => {
                    self.open_anonymous(set.span(line, tok.offset), diag)
                }
                TokenKind::Word { text: keyword, .. } => {
                    let span = set.span(line, tok.offset);
                    let mut args = Vec::new();
                    while let Some(Token {
                        kind: TokenKind::Word { .. },
                        ..
                    }) = tokens.peek()
                    {
                        if let Some(Token {
                            kind: TokenKind::Word { text, quoted },
                            offset,
                        }) = tokens.next()
                        {
                            args.push(Arg {
                                text,
                                col: span.col - tok.offset as u32 + offset as u32,
                                quoted,
                            });
                        }
                    }
                    let node = Node {
                        keyword,
                        span,
                        args,
                        children: None,
                    };
                    match tokens.peek().map(|t| &t.kind) {
                        Some(TokenKind::Brace(Brace::Open)) => {
                            tokens.next();
                            self.open(node, diag);
                        }
                        Some(_) => self.attach(node),
                        // The statement was cut short by a lexical error: already
                        // reported, and judging its arguments would only add noise.
                        None if lex_error.is_some() => {}
                        None => self.pending = Some(node),
                    }
                }
            }
        }

        drop(tokens);
        self.token_buffer = buffer;
        if let Some((offset, message)) = lex_error {
            diag.error(set.span(line, offset), message);
        }
    }

    fn flush_pending(&mut self) {
        if let Some(node) = self.pending.take() {
            self.attach(node);
        }
    }

    /// A finished node goes into its parent, or out if it is top-level.
    fn attach(&mut self, node: Node<'a>) {
        match self.stack.last_mut() {
            Some(parent) => {
                if !parent.discard {
                    parent.node.children.get_or_insert_with(Vec::new).push(node);
                }
            }
            None => self.ready.push_back(node),
        }
    }

    fn open(&mut self, mut node: Node<'a>, diag: &mut Diagnostics) {
        if !self.stack.is_empty() && TOP_LEVEL_BLOCKS.contains(&&*node.keyword) {
            if let Some(outer) = self.stack.first() {
                diag.error(
                    outer.node.span.clone(),
                    format!(
                        "'{}' block is not closed before '{}' at line {}, expected '}}'",
                        outer.node.keyword, node.keyword, node.span.line
                    ),
                );
            }
            while let Some(open) = self.stack.pop() {
                if !open.discard {
                    self.attach(open.node);
                }
            }
        }
        let discard = self.stack.len() >= MAX_DEPTH;
        if self.stack.len() == MAX_DEPTH {
            diag.error(
                node.span.clone(),
                format!("blocks nested deeper than {MAX_DEPTH}, expected '}}' earlier"),
            );
        }
        node.children = Some(Vec::new());
        self.stack.push(Open { node, discard });
    }

    fn open_anonymous(&mut self, span: Span, diag: &mut Diagnostics) {
        diag.error(
            span.clone(),
            "'{' without a keyword before it, expected 'keyword {'",
        );
        self.stack.push(Open {
            node: Node {
                keyword: Cow::Borrowed(""),
                span,
                args: Vec::new(),
                children: Some(Vec::new()),
            },
            discard: true,
        });
    }

    fn close(&mut self, span: Span, diag: &mut Diagnostics) {
        self.flush_pending();
        match self.stack.pop() {
            Some(open) => {
                if !open.discard {
                    self.attach(open.node);
                }
            }
            None => diag.error(span, "unbalanced '}': no block is open here"),
        }
    }

    fn finish(&mut self, diag: &mut Diagnostics) {
        self.flush_pending();
        if let Some(outer) = self.stack.first() {
            diag.error(
                outer.node.span.clone(),
                format!(
                    "'{}' block is never closed, expected '}}' before the end of the file",
                    outer.node.keyword
                ),
            );
        }
        while let Some(open) = self.stack.pop() {
            if !open.discard {
                self.attach(open.node);
            }
        }
        self.finished = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::SourceOptions;

    fn parse(text: &str) -> (Vec<String>, Vec<String>) {
        let mut diag = Diagnostics::default();
        let set = SourceSet::from_text("t", text, &SourceOptions::default(), &mut diag);
        let nodes = Parser::parse_all(&set, &mut diag);
        (
            nodes.iter().map(render).collect(),
            diag.errors.iter().map(|e| e.to_string()).collect(),
        )
    }

    fn render(node: &Node) -> String {
        let mut s = node.keyword.to_string();
        for a in &node.args {
            s.push(' ');
            s.push_str(&a.text);
        }
        if let Some(children) = &node.children {
            s.push_str(" {");
            for c in children {
                s.push(' ');
                s.push_str(&render(c));
                s.push(';');
            }
            s.push_str(" }");
        }
        s
    }

    #[test]
    fn statements_and_blocks() {
        let (nodes, errors) = parse(
            "global_defs {\n  router_id LB1 # comment\n}\nvrrp_instance VI_1\n{\n state MASTER\n virtual_ipaddress { 10.0.0.1/32 dev eth0 }\n}\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            nodes,
            [
                "global_defs { router_id LB1; }",
                "vrrp_instance VI_1 { state MASTER; virtual_ipaddress { 10.0.0.1/32 dev eth0; }; }"
            ]
        );
    }

    #[test]
    fn quoted_words() {
        let (nodes, errors) =
            parse("a abcd\" efg h jkl \"mnop 'x y' \"t\\tz\\\"\" \"a # not a comment\"\nb{c}");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            nodes,
            [
                "a abcd efg h jkl mnop x y t\tz\" a # not a comment",
                "b { c; }"
            ]
        );
    }

    #[test]
    fn spans_of_keyword_and_args() {
        let mut diag = Diagnostics::default();
        let set = SourceSet::from_text(
            "t",
            "x {\n\tpriority   100\n}",
            &SourceOptions::default(),
            &mut diag,
        );
        let nodes = Parser::parse_all(&set, &mut diag);
        let child = &nodes[0].children()[0];
        assert_eq!(child.span.to_string(), "t:2:2");
        assert_eq!(child.arg_span(0).to_string(), "t:2:13");
    }

    #[test]
    fn brace_errors() {
        let (_, errors) = parse("a {\n b\n}\n}\n");
        assert_eq!(errors, ["t:4:1: unbalanced '}': no block is open here"]);
        let (nodes, errors) = parse("a {\n b {\n c\n");
        assert_eq!(
            errors,
            ["t:1:1: 'a' block is never closed, expected '}' before the end of the file"]
        );
        assert_eq!(nodes, ["a { b { c; }; }"]);
        let (_, errors) = parse("{\n x\n}\n");
        assert_eq!(
            errors,
            ["t:1:1: '{' without a keyword before it, expected 'keyword {'"]
        );
    }

    #[test]
    fn unclosed_block_before_next_top_level_block() {
        let (nodes, errors) =
            parse("vrrp_instance A {\n priority 1\nvirtual_server 1.1.1.1 80 {\n}\n");
        assert_eq!(
            errors,
            ["t:1:1: 'vrrp_instance' block is not closed before 'virtual_server' at line 3, expected '}'"]
        );
        assert_eq!(
            nodes,
            [
                "vrrp_instance A { priority 1; }",
                "virtual_server 1.1.1.1 80 { }"
            ]
        );
    }

    #[test]
    fn unterminated_quote() {
        let (nodes, errors) = parse("a \"b c\nd");
        assert_eq!(
            errors,
            ["t:1:3: unterminated quoted string, expected a closing quote"]
        );
        assert_eq!(nodes, ["d"]);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let text = "a {\n".repeat(100) + &"}\n".repeat(100);
        let (nodes, errors) = parse(&text);
        assert_eq!(nodes.len(), 1);
        assert_eq!(
            errors,
            ["t:17:1: blocks nested deeper than 16, expected '}' earlier"]
        );
    }
}
