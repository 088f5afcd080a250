//! The file set and keepalived's line-level preprocessing: reads the top file and its
//! `include`s (globs, relative to the including file), strips `#`/`!` comments, applies
//! `@id`/`@^id` conditional lines, `$NAME=` parameter definitions and `$NAME`/`${NAME}`
//! substitution (keepalived.conf(5) "ADVANCED CONFIGURATION"), and expands `~SEQ`/`~LST`
//! lines. The result is a list of logical [`Line`]s, each knowing its file and line
//! number, which the parser tokenizes.
//!
//! Lines that need no rewriting are kept as ranges of the file text (no copy), so a
//! large generated configuration costs little more than its text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{ConfigError, Diagnostics, Span};

/// Options of the preprocessor.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// keepalived's config-id (`-i`): `@id` lines are kept only when it matches, `@^id`
    /// lines only when it does not. `None`: every `@id` line is dropped and every `@^id`
    /// line kept. (keepalived itself defaults to the host name; the daemon may pass it.)
    pub config_id: Option<String>,
}

/// Includes nested deeper than this are taken as an include loop.
const MAX_INCLUDE_DEPTH: usize = 16;
/// Substitutions that keep producing text (`$A=$A$A`) must end somewhere.
const MAX_SUBSTITUTIONS_PER_LINE: usize = 1_000;
const MAX_LINE_BYTES: usize = 1 << 20;
/// Upper bound on logical lines after expansion (`~SEQ` can multiply them).
const MAX_LINES: usize = 50_000_000;
/// Recursion bound for lines that expand into lines.
const MAX_EXPANSION_DEPTH: u32 = 64;
/// Lines produced by multi-line parameters and `~SEQ`/`~LST` in one load. Generous for
/// generated configurations (keepalived.conf(5)'s biggest example makes 65,024
/// instances), small enough that a self-multiplying definition stops quickly.
const MAX_EXPANSIONS: usize = 5_000_000;
/// Bytes one load may bring in: every file read (the top file and its includes) plus every
/// line that expansion produces (substituted text, `~SEQ`/`~LST` repetitions, definitions
/// made by expanded lines). Line and expansion counts alone let 526 bytes ask for 20 GB
/// (a 1-million-step `~SEQ` over a line of a hundred 200-byte parameters); this caps the
/// text a reload can hold, whatever its shape. See docs/hostile-input.md for the ceiling.
pub const MAX_TOTAL_BYTES: usize = 32 << 20;

/// One logical line: 20 bytes, as a large file has a million of them alive until the
/// last one is parsed.
#[derive(Debug, Clone)]
pub struct Line {
    file: u32,
    /// 1-based line number in its file.
    pub number: u32,
    /// Column (0-based) in the physical line where the text starts.
    col_base: u32,
    /// The text: bytes `start..end` of the file's text, or, when `end` is [`REWRITTEN`],
    /// entry `start` of the set's rewritten lines (substitution or expansion made it).
    start: u32,
    end: u32,
}

/// `Line::end` of a line whose text was rewritten (files stay below 4 GiB: the load
/// stops at [`MAX_TOTAL_BYTES`]).
const REWRITTEN: u32 = u32::MAX;

#[derive(Debug)]
struct SourceFile {
    name: Arc<str>,
    /// Directory `include`s and `${_PWD}` are relative to.
    dir: PathBuf,
    /// `Arc<String>`, not `Arc<str>`: wrapping the `String` read from disk keeps its
    /// buffer instead of copying it.
    text: Arc<String>,
}

/// The logical lines of a configuration file set.
#[derive(Debug, Default)]
pub struct SourceSet {
    files: Vec<SourceFile>,
    lines: Vec<Line>,
    /// Texts of the rewritten lines.
    rewritten: Vec<Box<str>>,
}

impl SourceSet {
    /// Read `path` and everything it includes. Problems go to `diag`; what could be read
    /// is returned.
    pub fn load(path: &Path, options: &SourceOptions, diag: &mut Diagnostics) -> SourceSet {
        let mut pre = Preprocessor::new(options, diag);
        pre.read_file(path, None, 0);
        pre.finish()
    }

    /// Preprocess `text` as if it were a file called `origin`; includes are relative to
    /// the current directory.
    pub fn from_text(
        origin: &str,
        text: &str,
        options: &SourceOptions,
        diag: &mut Diagnostics,
    ) -> SourceSet {
        let mut pre = Preprocessor::new(options, diag);
        pre.add_text(
            Arc::from(origin),
            PathBuf::from("."),
            Arc::new(text.to_string()),
            0,
        );
        pre.finish()
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    pub fn text<'a>(&'a self, line: &'a Line) -> &'a str {
        if line.end == REWRITTEN {
            &self.rewritten[line.start as usize]
        } else {
            &self.files[line.file as usize].text[line.start as usize..line.end as usize]
        }
    }

    /// The span of byte `offset` of `line`'s text.
    pub fn span(&self, line: &Line, offset: usize) -> Span {
        Span::new(
            self.files[line.file as usize].name.clone(),
            line.number,
            line.col_base
                .saturating_add(offset as u32)
                .saturating_add(1),
        )
    }

    /// Names of the files read, top file first.
    pub fn file_names(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|f| &*f.name)
    }
}

/// Where the text being processed is, so spans and ranges can be computed.
#[derive(Debug, Clone, Copy)]
struct Origin {
    file: u32,
    line: u32,
    /// Byte offset of the physical line in the file.
    line_start: usize,
}

/// Where a piece of text lives: in the file at a byte offset, or rewritten.
#[derive(Debug, Clone, Copy)]
enum Base {
    File(usize),
    Owned,
}

impl Base {
    fn advance(self, by: usize) -> Base {
        match self {
            Base::File(at) => Base::File(at + by),
            Base::Owned => Base::Owned,
        }
    }
}

struct Preprocessor<'a> {
    options: &'a SourceOptions,
    diag: &'a mut Diagnostics,
    files: Vec<SourceFile>,
    lines: Vec<Line>,
    rewritten: Vec<Box<str>>,
    params: HashMap<String, Vec<String>>,
    /// A multi-line `$NAME= \` definition being collected.
    pending_definition: Option<(String, Vec<String>)>,
    /// The file being read had bytes that are not UTF-8.
    lossy: bool,
    /// The physical line being processed ends with `\` after its comment.
    line_continues: bool,
    too_many_lines: bool,
    expansions: usize,
    expansion_aborted: bool,
    /// Bytes counted against [`MAX_TOTAL_BYTES`].
    total_bytes: usize,
    random_state: u64,
}

impl<'a> Preprocessor<'a> {
    fn new(options: &'a SourceOptions, diag: &'a mut Diagnostics) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        Preprocessor {
            options,
            diag,
            files: Vec::new(),
            lines: Vec::new(),
            rewritten: Vec::new(),
            params: HashMap::new(),
            pending_definition: None,
            lossy: false,
            line_continues: false,
            too_many_lines: false,
            expansions: 0,
            expansion_aborted: false,
            total_bytes: 0,
            random_state: seed | 1,
        }
    }

    fn finish(self) -> SourceSet {
        SourceSet {
            files: self.files,
            lines: self.lines,
            rewritten: self.rewritten,
        }
    }

    fn span(&self, origin: Origin, col0: usize) -> Span {
        Span::new(
            self.files[origin.file as usize].name.clone(),
            origin.line,
            col0 as u32 + 1,
        )
    }

    fn col_of(origin: Origin, base: Base) -> usize {
        match base {
            Base::File(at) => at - origin.line_start,
            Base::Owned => 0,
        }
    }

    fn read_file(&mut self, path: &Path, included_from: Option<Span>, depth: usize) {
        // Bytes, not text: real files carry Latin-1 or Shift-JIS comments. Bytes that are
        // not UTF-8 become U+FFFD, and only where they reach a token is it said.
        // Never more than what is left of the budget, plus one byte to notice the excess:
        // `include /dev/zero` must not read forever.
        let room = MAX_TOTAL_BYTES.saturating_sub(self.total_bytes) as u64 + 1;
        let read = std::fs::File::open(path).and_then(|file| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(file, room), &mut bytes)?;
            Ok(bytes)
        });
        match read {
            Ok(bytes) => {
                let dir = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let name: Arc<str> = Arc::from(path.display().to_string());
                let (text, lossy) = match String::from_utf8(bytes) {
                    Ok(text) => (text, false),
                    Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
                };
                let outer = std::mem::replace(&mut self.lossy, lossy);
                self.add_text(name, dir, Arc::new(text), depth);
                self.lossy = outer;
            }
            // keepalived skips an included file that does not exist without a word and
            // runs the rest; director runs the rest too, but says so.
            Err(source) if source.kind() == std::io::ErrorKind::NotFound => match included_from
            {
                Some(span) => self.diag.warn(
                    span,
                    format!(
                        "include: {} does not exist, skipped (as keepalived does); the configuration runs without it",
                        path.display()
                    ),
                ),
                None => self.diag.errors.push(ConfigError::Read {
                    path: path.to_path_buf(),
                    included_from,
                    source,
                }),
            },
            Err(source) => self.diag.errors.push(ConfigError::Read {
                path: path.to_path_buf(),
                included_from,
                source,
            }),
        }
    }

    fn add_text(&mut self, name: Arc<str>, dir: PathBuf, text: Arc<String>, depth: usize) {
        if text.len() >= u32::MAX as usize {
            self.diag.error(
                Span::new(name, 1, 1),
                "file too large, expected under 4 GiB",
            );
            return;
        }
        if !self.charge(text.len()) {
            self.diag.error(
                Span::new(name, 1, 1),
                format!(
                    "configuration is larger than {} MiB in total (files and includes)",
                    MAX_TOTAL_BYTES >> 20
                ),
            );
            return;
        }
        let file = self.files.len() as u32;
        self.files.push(SourceFile {
            name,
            dir,
            text: text.clone(),
        });
        // Most lines become logical lines: size the list once instead of doubling it.
        self.lines
            .reserve(text.bytes().filter(|&b| b == b'\n').count() + 1);
        let mut line_start = 0usize;
        for (index, raw) in text.split('\n').enumerate() {
            let origin = Origin {
                file,
                line: index as u32 + 1,
                line_start,
            };
            line_start += raw.len() + 1;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let content = strip_comment(raw);
            if self.lossy {
                if let Some(at) = content.find(char::REPLACEMENT_CHARACTER) {
                    let span = self.span(origin, at);
                    self.diag.warn(
                        span,
                        "bytes that are not UTF-8 outside a comment, read as U+FFFD (\u{fffd}): this token may not mean what keepalived reads",
                    );
                }
            }
            // keepalived ends a line with `\` even after a comment (`# note \`), and a
            // multi-line definition goes on past it.
            let continues = ends_with_continuation(raw);
            if let Some((name, mut values)) = self.pending_definition.take() {
                let trimmed = content.trim();
                let part = trimmed.strip_suffix('\\').or(continues.then_some(trimmed));
                match part {
                    Some(part) => {
                        if !part.trim().is_empty() {
                            values.push(part.trim().to_string());
                        }
                        self.pending_definition = Some((name, values));
                    }
                    None => {
                        if !trimmed.is_empty() {
                            values.push(trimmed.to_string());
                        }
                        self.params.insert(name, values);
                    }
                }
                continue;
            }
            self.line_continues = continues;
            self.process(origin, content, Base::File(origin.line_start), depth, 0);
            self.line_continues = false;
        }
        if let Some((name, values)) = self.pending_definition.take() {
            self.params.insert(name, values);
        }
    }

    fn push_line(&mut self, origin: Origin, text: &str, base: Base) {
        if self.lines.len() >= MAX_LINES {
            if !self.too_many_lines {
                self.too_many_lines = true;
                let span = self.span(origin, Self::col_of(origin, base));
                self.diag.error(
                    span,
                    format!("configuration expands to more than {MAX_LINES} lines"),
                );
            }
            return;
        }
        let (start, end) = match base {
            Base::File(at) => (at as u32, (at + text.len()) as u32),
            Base::Owned => {
                self.rewritten.push(text.into());
                ((self.rewritten.len() - 1) as u32, REWRITTEN)
            }
        };
        self.lines.push(Line {
            file: origin.file,
            number: origin.line,
            col_base: Self::col_of(origin, base) as u32,
            start,
            end,
        });
    }

    /// One logical line: conditionals, definitions, sequences, substitution, include.
    fn process(&mut self, origin: Origin, text: &str, base: Base, depth: usize, level: u32) {
        let trimmed = text.trim_start();
        let base = base.advance(text.len() - trimmed.len());
        let text = trimmed.trim_end();
        if text.is_empty() {
            return;
        }
        if level > 0 {
            if self.expansion_aborted {
                return;
            }
            self.expansions += 1;
            if !self.charge(text.len()) {
                let message = format!(
                    "parameter expansion produces more than {} MiB of text",
                    MAX_TOTAL_BYTES >> 20
                );
                self.abort_expansion(origin, base, message);
                return;
            }
            if self.expansions > MAX_EXPANSIONS {
                let message =
                    format!("parameter expansion produces more than {MAX_EXPANSIONS} lines");
                self.abort_expansion(origin, base, message);
                return;
            }
        }
        if level > MAX_EXPANSION_DEPTH {
            let message =
                "parameter expansion nests too deeply (a definition that expands to itself?)";
            self.abort_expansion(origin, base, message.to_string());
            return;
        }
        if let Some(cond) = text.strip_prefix('@') {
            let word_len = cond.find(char::is_whitespace).unwrap_or(cond.len());
            let (negated, id) = match cond[..word_len].strip_prefix('^') {
                Some(id) => (true, id),
                None => (false, &cond[..word_len]),
            };
            let matches = self.options.config_id.as_deref() == Some(id);
            if matches != negated {
                let rest = &cond[word_len..];
                self.process(origin, rest, base.advance(1 + word_len), depth, level);
            }
            return;
        }
        if let Some((name, value)) = parse_definition(text) {
            let value = value.trim();
            let continued = (level == 0 && self.line_continues).then_some(value);
            match value.strip_suffix('\\').or(continued) {
                Some(first) => {
                    let mut values = Vec::new();
                    if !first.trim().is_empty() {
                        values.push(first.trim().to_string());
                    }
                    self.pending_definition = Some((name.to_string(), values));
                }
                None => {
                    self.params
                        .insert(name.to_string(), vec![value.to_string()]);
                }
            }
            return;
        }
        if text.starts_with("~SEQ") || text.starts_with("~LST") {
            self.expand_sequence(origin, text, base, depth, level);
            return;
        }
        if text.contains('$') {
            match self.substitute(origin, text) {
                Ok(Some(expanded)) => {
                    for piece in expanded.split('\n') {
                        self.process(origin, piece, Base::Owned, depth, level + 1);
                        if self.expansion_aborted {
                            return;
                        }
                    }
                    return;
                }
                Ok(None) => {}
                Err(message) => {
                    let span = self.span(origin, Self::col_of(origin, base));
                    self.diag.error(span, message);
                    return;
                }
            }
        }
        let first_word = text.split(char::is_whitespace).next().unwrap_or("");
        if first_word == "include" {
            let col = Self::col_of(origin, base);
            self.include(origin, &text["include".len()..], col, depth);
            return;
        }
        self.push_line(origin, text, base);
    }

    /// Counts `bytes` against [`MAX_TOTAL_BYTES`]; false once the budget is exhausted.
    fn charge(&mut self, bytes: usize) -> bool {
        self.total_bytes = self.total_bytes.saturating_add(bytes);
        self.total_bytes <= MAX_TOTAL_BYTES
    }

    /// Stop all further expansion after a runaway one; reported once.
    fn abort_expansion(&mut self, origin: Origin, base: Base, message: String) {
        self.expansion_aborted = true;
        let span = self.span(origin, Self::col_of(origin, base));
        self.diag.error(span, message);
    }

    fn include(&mut self, origin: Origin, patterns: &str, col: usize, depth: usize) {
        let span = self.span(origin, col);
        let patterns = split_words(patterns);
        if patterns.is_empty() {
            self.diag
                .error(span, "include needs a file name or glob pattern");
            return;
        }
        if depth >= MAX_INCLUDE_DEPTH {
            self.diag.error(
                span,
                format!("includes nested deeper than {MAX_INCLUDE_DEPTH} (an include loop?)"),
            );
            return;
        }
        let dir = self.files[origin.file as usize].dir.clone();
        for pattern in &patterns {
            let pattern = pattern.as_str();
            let full = if Path::new(pattern).is_absolute() {
                PathBuf::from(pattern)
            } else {
                dir.join(pattern)
            };
            let full_str = full.display().to_string();
            let is_glob = pattern.contains(['*', '?', '[']);
            if !is_glob {
                self.read_file(&full, Some(span.clone()), depth + 1);
                continue;
            }
            let mut paths: Vec<PathBuf> = match glob::glob(&full_str) {
                Ok(iter) => iter
                    .filter_map(Result::ok)
                    .filter(|p| p.is_file())
                    .collect(),
                Err(e) => {
                    self.diag.error(
                        span.clone(),
                        format!("bad include pattern '{pattern}': {}", e.msg),
                    );
                    continue;
                }
            };
            paths.sort();
            if paths.is_empty() {
                self.diag.warn(
                    span.clone(),
                    format!("include pattern '{pattern}' matched no file"),
                );
            }
            for path in paths {
                self.read_file(&path, Some(span.clone()), depth + 1);
            }
        }
    }

    /// Replace defined parameters in `text`. `Ok(None)`: nothing to replace. Stops right
    /// after inserting a multi-line value so its lines are processed in order (they may
    /// define parameters used by the following ones).
    fn substitute(&mut self, origin: Origin, text: &str) -> Result<Option<String>, String> {
        let mut out = text.to_string();
        let mut from = 0usize;
        let mut replaced = 0usize;
        while let Some(pos) = out[from..].find('$') {
            let at = from + pos;
            let Some((name, end)) = parameter_reference(&out, at) else {
                from = at + 1;
                continue;
            };
            let Some(value) = self.parameter_value(origin, name) else {
                from = at + 1;
                continue;
            };
            out.replace_range(at..end, &value);
            replaced += 1;
            if replaced > MAX_SUBSTITUTIONS_PER_LINE || out.len() > MAX_LINE_BYTES {
                return Err(
                    "parameter substitution does not terminate (a recursive definition?)"
                        .to_string(),
                );
            }
            if value.contains('\n') {
                return Ok(Some(out));
            }
            from = at;
        }
        Ok((replaced > 0).then_some(out))
    }

    fn parameter_value(&mut self, origin: Origin, reference: &str) -> Option<String> {
        let mut words = reference.split_whitespace();
        let name = words.next()?;
        match name {
            "_PWD" => Some(self.files[origin.file as usize].dir.display().to_string()),
            "_INSTANCE" => Some(self.options.config_id.clone().unwrap_or_default()),
            "_HASH" => Some("#".to_string()),
            "_BANG" => Some("!".to_string()),
            "_RANDOM" => {
                let min: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                let max: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(32767);
                let (min, max) = (min.min(max), min.max(max));
                // xorshift64: ${_RANDOM} only needs to differ between uses.
                self.random_state ^= self.random_state << 13;
                self.random_state ^= self.random_state >> 7;
                self.random_state ^= self.random_state << 17;
                let span = max - min;
                let value = if span == u64::MAX {
                    self.random_state
                } else {
                    min + self.random_state % (span + 1)
                };
                Some(value.to_string())
            }
            _ if words.next().is_none() => self.params.get(name).map(|v| v.join("\n")),
            _ => None,
        }
    }

    /// `~SEQ(var, start, step, end) rest` and `~LST(var, v1, v2…) rest`, possibly several
    /// on one line: each value defines `var` and the rest of the line is processed again.
    fn expand_sequence(
        &mut self,
        origin: Origin,
        text: &str,
        base: Base,
        depth: usize,
        level: u32,
    ) {
        let span = self.span(origin, Self::col_of(origin, base));
        let Some(open) = text.find('(') else {
            self.diag.error(span, "expected '(' after ~SEQ or ~LST");
            return;
        };
        let Some(close) = matching_paren(text, open) else {
            self.diag
                .error(span, "unbalanced parenthesis in ~SEQ/~LST, expected ')'");
            return;
        };
        let kind = &text[..open];
        let mut inner = std::borrow::Cow::Borrowed(&text[open + 1..close]);
        // keepalived (add_seq) replaces $PARAMETERS in the numbers of a ~SEQ, not in its
        // variable's name.
        if kind.starts_with("~SEQ") {
            if let Some(comma) = inner.find(',').filter(|&c| inner[c..].contains('$')) {
                match self.substitute(origin, &inner[comma..]) {
                    Ok(Some(numbers)) if numbers.contains('\n') => {
                        self.diag
                            .error(span, "~SEQ: a parameter of the numbers is a multi-line definition, expected a number");
                        return;
                    }
                    Ok(Some(numbers)) => inner = format!("{}{numbers}", &inner[..comma]).into(),
                    Ok(None) => {}
                    Err(message) => {
                        self.diag.error(span, message);
                        return;
                    }
                }
            }
        }
        let inner = &*inner;
        let rest = &text[close + 1..];
        let rest_base = base.advance(close + 1);
        let assignments = match kind {
            "~SEQ" | "~SEQx" => sequence_values(inner, kind == "~SEQx"),
            "~LST" => list_values(inner),
            _ => Err(format!(
                "unknown expansion '{kind}', expected ~SEQ, ~SEQx or ~LST"
            )),
        };
        match assignments {
            Ok(assignments) => {
                for assignment in assignments {
                    for (name, value) in assignment {
                        self.params.insert(name, vec![value]);
                    }
                    self.process(origin, rest, rest_base, depth, level + 1);
                    if self.too_many_lines || self.expansion_aborted {
                        return;
                    }
                }
            }
            Err(message) => self.diag.error(span, message),
        }
    }
}

/// Whitespace-separated words, `"…"`/`'…'` quoting spaces (for `include` names).
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The part of a physical line before a `#` or `!` comment (outside quotes).
pub fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'#' | b'!' => return &line[..i],
                _ => {}
            },
        }
        i += 1;
    }
    line
}

/// keepalived's continuation: the raw line's last byte is a `\` that is not itself
/// escaped, whether or not it is inside a comment.
fn ends_with_continuation(raw: &str) -> bool {
    raw.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

fn is_param_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_param_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// `$NAME=value` (only whitespace may precede the `$`, none before the `=`).
fn parse_definition(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('$')?;
    let bytes = rest.as_bytes();
    if bytes.is_empty() || !is_param_start(bytes[0]) {
        return None;
    }
    let len = bytes.iter().take_while(|&&b| is_param_char(b)).count();
    rest[len..]
        .strip_prefix('=')
        .map(|value| (&rest[..len], value))
}

/// A `$NAME` (followed by whitespace, ',', ')' or the end) or `${NAME…}` reference at `at`:
/// the name (with `_RANDOM`'s arguments) and the end of the reference.
fn parameter_reference(text: &str, at: usize) -> Option<(&str, usize)> {
    let rest = &text[at + 1..];
    if let Some(inner) = rest.strip_prefix('{') {
        let close = inner.find('}')?;
        return Some((&inner[..close], at + 2 + close + 1));
    }
    let bytes = rest.as_bytes();
    if bytes.is_empty() || !is_param_start(bytes[0]) {
        return None;
    }
    let len = bytes.iter().take_while(|&&b| is_param_char(b)).count();
    match bytes.get(len) {
        None => Some((&rest[..len], at + 1 + len)),
        // keepalived's find_definition: a name ends at a blank, ',' or ')' (the last
        // two for `~SEQ(i, $FIRST, $LAST)`).
        Some(b' ' | b'\t' | b',' | b')') => Some((&rest[..len], at + 1 + len)),
        Some(b) if b.is_ascii_whitespace() => Some((&rest[..len], at + 1 + len)),
        Some(_) => None,
    }
}

fn matching_paren(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate().skip(open) {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

type Assignment = Vec<(String, String)>;

const MAX_SEQUENCE: i128 = 1_000_000;

fn parse_seq_number(s: &str) -> Result<i128, String> {
    let s = s.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let value = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16),
        None => digits.parse::<i128>(),
    }
    .map_err(|_| format!("'{s}' is not a number, expected an integer in ~SEQ"))?;
    if value > i64::MAX as i128 {
        return Err(format!("'{s}' is out of range in ~SEQ"));
    }
    Ok(if negative { -value } else { value })
}

fn sequence_values(inner: &str, hex: bool) -> Result<Vec<Assignment>, String> {
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    let var = parts[0];
    if var.is_empty() || !var.bytes().all(is_param_char) {
        return Err(format!("'{var}' is not a parameter name in ~SEQ"));
    }
    let numbers = parts[1..]
        .iter()
        .map(|p| parse_seq_number(p))
        .collect::<Result<Vec<i128>, String>>()?;
    let (start, step, end) = match numbers.as_slice() {
        [end] => (if *end >= 0 { 1 } else { -1 }, 0, *end),
        [start, end] => (*start, 0, *end),
        [start, step, end] => (*start, *step, *end),
        _ => return Err("~SEQ takes (var, [start,] [step,] end)".to_string()),
    };
    let step = if step == 0 {
        if end >= start {
            1
        } else {
            -1
        }
    } else {
        step
    };
    if (end - start).signum() * step.signum() < 0 {
        return Ok(Vec::new());
    }
    let count = (end - start) / step + 1;
    if count > MAX_SEQUENCE {
        return Err(format!(
            "~SEQ produces {count} values, expected at most {MAX_SEQUENCE}"
        ));
    }
    Ok((0..count)
        .map(|i| {
            let v = start + i * step;
            let value = if hex { format!("{v:x}") } else { v.to_string() };
            vec![(var.to_string(), value)]
        })
        .collect())
}

/// Split on commas that are not inside `{…}`.
fn split_top_level(inner: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, b) in inner.bytes().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b',' if depth == 0 => {
                parts.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(inner[start..].trim());
    parts
}

fn braced_items(item: &str) -> Vec<&str> {
    match item.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        Some(inner) => inner.split(',').map(str::trim).collect(),
        None => vec![item],
    }
}

fn list_values(inner: &str) -> Result<Vec<Assignment>, String> {
    let parts = split_top_level(inner);
    let vars = braced_items(parts[0]);
    if vars
        .iter()
        .any(|v| v.is_empty() || !v.bytes().all(is_param_char))
    {
        return Err(format!("'{}' is not a parameter list in ~LST", parts[0]));
    }
    if parts.len() < 2 {
        return Err("~LST needs at least one value".to_string());
    }
    parts[1..]
        .iter()
        .map(|item| {
            let values = braced_items(item);
            if values.len() != vars.len() {
                return Err(format!(
                    "~LST value '{item}' has {} fields, expected {}",
                    values.len(),
                    vars.len()
                ));
            }
            Ok(vars
                .iter()
                .zip(values)
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, id: Option<&str>) -> (Vec<String>, Diagnostics) {
        let mut diag = Diagnostics::default();
        let options = SourceOptions {
            config_id: id.map(str::to_string),
        };
        let set = SourceSet::from_text("t.conf", text, &options, &mut diag);
        let out = set
            .lines()
            .iter()
            .map(|l| set.text(l).to_string())
            .collect();
        (out, diag)
    }

    #[test]
    fn comments_outside_quotes_only() {
        assert_eq!(strip_comment("a b # c"), "a b ");
        assert_eq!(strip_comment("a ! c"), "a ");
        assert_eq!(strip_comment(r#"x "a # b" ! c"#), r#"x "a # b" "#);
        assert_eq!(strip_comment(r#"x "a \" # b""#), r#"x "a \" # b""#);
    }

    #[test]
    fn conditional_lines() {
        let text = "@main router_id a\n@backup router_id b\n@^main x\nplain";
        assert_eq!(lines(text, Some("main")).0, ["router_id a", "plain"]);
        assert_eq!(lines(text, None).0, ["x", "plain"]);
    }

    #[test]
    fn parameters_substitute_at_use_time() {
        let text = "$BASE=10.2.${SUB}\n$SUB=0\n${BASE}.100/32\n$SUB=10\n${BASE}.100/32\n$UNDEF x";
        assert_eq!(
            lines(text, None).0,
            ["10.2.0.100/32", "10.2.10.100/32", "$UNDEF x"]
        );
    }

    #[test]
    fn multiline_definition_defines_in_order() {
        let text = "$RS= \\\nreal_server 10.0.0.${N} 80 \\\n$N=9\n$N=1\n$RS\n";
        assert_eq!(lines(text, None).0, ["real_server 10.0.0.1 80"]);
        let text = "$V= \\\n$N=5 \\\nx ${N}\n$V";
        assert_eq!(lines(text, None).0, ["x 5"]);
    }

    #[test]
    fn conditional_parameters() {
        let text = "@main $P=240\n@backup $P=200\npriority $P";
        assert_eq!(lines(text, Some("backup")).0, ["priority 200"]);
    }

    #[test]
    fn recursive_definition_is_an_error() {
        let (_, diag) = lines("$A=$A $A\nx $A", None);
        assert_eq!(diag.errors.len(), 1);
        assert_eq!(
            diag.errors[0].to_string(),
            "t.conf:2:1: parameter substitution does not terminate (a recursive definition?)"
        );
    }

    #[test]
    fn self_multiplying_definitions_stop() {
        let (_, diag) = lines("$X= \\\n$X \\\n$X\n$X\n", None);
        let messages: Vec<String> = diag.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert_eq!(
            messages[0],
            "t.conf:4:1: parameter expansion nests too deeply (a definition that expands to itself?)"
        );
    }

    #[test]
    fn expansion_stops_at_the_total_byte_budget() {
        // 526 bytes that asked for 20 GB: a 1-million-step ~SEQ over 100 x 200 bytes.
        let text = format!(
            "$A={}\n~SEQ(i,1,1,1000000) {}\n",
            "x".repeat(200),
            "$A ".repeat(100)
        );
        assert!(text.len() <= 526, "{}", text.len());
        let (lines, diag) = lines(&text, None);
        let produced: usize = lines.iter().map(|l| l.len()).sum();
        assert!(produced <= MAX_TOTAL_BYTES, "{produced} bytes");
        assert_eq!(diag.errors.len(), 1, "{:?}", diag.errors);
        assert!(
            diag.errors[0]
                .to_string()
                .contains("parameter expansion produces more than 32 MiB of text"),
            "{}",
            diag.errors[0]
        );
    }

    #[test]
    fn definitions_made_by_expansion_count_too() {
        // Each step defines a new 20 kB parameter and pushes no line at all.
        let text = format!(
            "$A={}\n~SEQ(i,1,1,1000000) $D_${{i}}={}\n",
            "x".repeat(200),
            "${A}".repeat(100)
        );
        let (lines, diag) = lines(&text, None);
        assert!(lines.is_empty(), "{} lines", lines.len());
        assert_eq!(diag.errors.len(), 1, "{:?}", diag.errors);
    }

    #[test]
    fn files_larger_than_the_budget_are_refused() {
        let big = format!("{}\n", "# padding ".repeat(MAX_TOTAL_BYTES / 10 + 1));
        let (lines, diag) = lines(&big, None);
        assert!(lines.is_empty());
        assert!(
            diag.errors[0].to_string().contains("larger than 32 MiB"),
            "{:?}",
            diag.errors
        );
    }

    #[test]
    fn an_endless_include_stops_at_the_budget() {
        let mut diag = Diagnostics::default();
        let set = SourceSet::from_text(
            "t.conf",
            "include /dev/zero\n",
            &SourceOptions::default(),
            &mut diag,
        );
        assert!(set.lines().is_empty());
        assert!(
            diag.errors
                .iter()
                .any(|e| e.to_string().contains("larger than 32 MiB")),
            "{:?}",
            diag.errors
        );
    }

    #[test]
    fn sequences_and_lists() {
        assert_eq!(
            lines("~SEQ(S, 0, 2) ip 10.0.${S}.1", None).0,
            ["ip 10.0.0.1", "ip 10.0.1.1", "ip 10.0.2.1"]
        );
        assert_eq!(
            lines("~SEQx(S, 0x90, 0x10, 0xa0) fe80::${S}", None).0,
            ["fe80::90", "fe80::a0"]
        );
        assert_eq!(
            lines("~LST({A, B}, {10,1},{20,4}) 192.168.${A}.${B}", None).0,
            ["192.168.10.1", "192.168.20.4"]
        );
        assert_eq!(
            lines("~LST(A, 1, 2) ~LST(B, 5) ${A}${B}", None).0,
            ["15", "25"]
        );
    }

    #[test]
    fn spans_point_into_the_physical_line() {
        let mut diag = Diagnostics::default();
        let set = SourceSet::from_text(
            "f",
            "a\n\t  @x key value\n",
            &SourceOptions {
                config_id: Some("x".into()),
            },
            &mut diag,
        );
        let line = &set.lines()[1];
        assert_eq!(set.text(line), "key value");
        assert_eq!(set.span(line, 4).to_string(), "f:2:11");
    }

    #[test]
    fn include_of_missing_file_or_unmatched_glob_is_a_warning() {
        let (_, diag) = lines(
            "include /nonexistent/director-test.conf\ninclude /nonexistent/*.conf",
            None,
        );
        assert!(diag.errors.is_empty(), "{:?}", diag.errors);
        assert_eq!(
            diag.warnings[0].to_string(),
            "t.conf:1:1: warning: include: /nonexistent/director-test.conf does not exist, skipped (as keepalived does); the configuration runs without it"
        );
        assert_eq!(
            diag.warnings[1].to_string(),
            "t.conf:2:1: warning: include pattern '/nonexistent/*.conf' matched no file"
        );
    }

    #[test]
    fn include_of_an_unreadable_file_stays_an_error() {
        // A directory exists but cannot be read as a file: not keepalived's silent case.
        let (_, diag) = lines("include /", None);
        assert_eq!(diag.errors.len(), 1, "{:?}", diag.warnings);
        assert!(diag.errors[0]
            .to_string()
            .starts_with("t.conf:1:1: cannot read included file /: "));
    }
}
