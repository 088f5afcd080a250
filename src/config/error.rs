//! Where a configuration problem is ([`Span`]) and what it is: [`ConfigError`] (the file
//! set is rejected), [`Warning`] (loaded, but something deserves a look), and
//! [`ConfigErrors`], every error of one load.
//!
//! Display is the compiler-style `file:line:col: message`, the message saying what was
//! wrong and what was expected. Columns are 1-based byte offsets in the line.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A position in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The file name as it was given (top file) or found (include), or the origin name
    /// passed to `parse_str`.
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column (byte offset + 1).
    pub col: u32,
}

impl Span {
    pub fn new(file: Arc<str>, line: u32, col: u32) -> Self {
        Span { file, line, col }
    }

    /// The same line, another column.
    pub fn at_col(&self, col: u32) -> Span {
        Span {
            file: self.file.clone(),
            line: self.line,
            col,
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// Something that makes the configuration unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Syntax, a value of the wrong type or range, a keyword in the wrong place, an
    /// impossible combination.
    #[error("{span}: {message}")]
    Invalid { span: Span, message: String },
    /// A file could not be read. `included_from` is the `include` line, if any.
    #[error("{}{}: {source}", included_from.as_ref().map(|s| format!("{s}: cannot read included file ")).unwrap_or_default(), path.display())]
    Read {
        path: PathBuf,
        included_from: Option<Span>,
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    pub fn invalid(span: Span, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            span,
            message: message.into(),
        }
    }

    /// Where the problem is; for an unreadable top-level file, nowhere.
    pub fn span(&self) -> Option<&Span> {
        match self {
            ConfigError::Invalid { span, .. } => Some(span),
            ConfigError::Read { included_from, .. } => included_from.as_ref(),
        }
    }
}

/// Something keepalived would accept (maybe with a log line) that the user should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub span: Span,
    pub message: String,
}

impl Warning {
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Warning {
            span,
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: warning: {}", self.span, self.message)
    }
}

/// All errors of one load (never empty), plus the warnings found on the way so a
/// `--config-test` can show everything at once.
#[derive(Debug, thiserror::Error)]
pub struct ConfigErrors {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<Warning>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Collects errors and warnings while a file set is read; everything is reported, the
/// first error does not stop the load.
///
/// At most [`MAX_REPORTED`] errors and as many warnings are kept; the rest are counted and
/// summed up in one last line by [`Diagnostics::summarize_suppressed`] (a generated
/// configuration with millions of bad lines must not hold millions of messages).
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<Warning>,
    suppressed_errors: usize,
    suppressed_warnings: usize,
}

/// Errors, and warnings, reported one by one.
pub const MAX_REPORTED: usize = 1000;

impl Diagnostics {
    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        if self.errors.len() >= MAX_REPORTED {
            self.suppressed_errors += 1;
            return;
        }
        self.errors.push(ConfigError::invalid(span, message));
    }

    pub fn warn(&mut self, span: Span, message: impl Into<String>) {
        if self.warnings.len() >= MAX_REPORTED {
            self.suppressed_warnings += 1;
            return;
        }
        self.warnings.push(Warning::new(span, message));
    }

    /// Appends "N more …" after the last kept error and warning (call once, at the end).
    pub fn summarize_suppressed(&mut self) {
        if self.suppressed_errors > 0 {
            if let Some(span) = self.errors.last().and_then(|e| e.span().cloned()) {
                let n = self.suppressed_errors;
                self.errors.push(ConfigError::invalid(
                    span,
                    format!("{n} more errors not shown"),
                ));
            }
        }
        if let Some(last) = self.warnings.last() {
            if self.suppressed_warnings > 0 {
                let n = self.suppressed_warnings;
                let span = last.span.clone();
                self.warnings
                    .push(Warning::new(span, format!("{n} more warnings not shown")));
            }
        }
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millions_of_bad_lines_keep_a_thousand_messages() {
        let text = "~SEQ(i,1,1,5000) unknown_keyword_$i\n";
        let loaded = crate::config::parse_str("t.conf", text).expect("only warnings");
        assert_eq!(loaded.warnings.len(), MAX_REPORTED + 1);
        assert_eq!(
            loaded.warnings[MAX_REPORTED].message,
            "4000 more warnings not shown"
        );
        let text = "~SEQ(i,1,1,1500) ~SEQ x\n";
        let errors = crate::config::parse_str("t.conf", text).expect_err("errors");
        assert_eq!(errors.errors.len(), MAX_REPORTED + 1);
        assert!(
            errors.errors[MAX_REPORTED]
                .to_string()
                .ends_with("500 more errors not shown"),
            "{}",
            errors.errors[MAX_REPORTED]
        );
    }
}
