//! keepalived.conf-compatible configuration: source files, parser, typed model, validation.
//!
//! The pipeline, one file per step:
//!
//! ```text
//!  source.rs    files + includes, comments, @id conditionals, $PARAMETERS, ~SEQ/~LST
//!      │        → logical lines with file:line
//!  parser.rs    nom tokens, statements and { } blocks → untyped Node tree, one
//!      │        top-level block at a time
//!  keywords/    keyword tables, one file per block → typed model (model.rs) with keepalived's
//!      │        defaults (defaults.rs) and inheritance resolved
//!  validate.rs  cross-block rules: references, duplicates, impossible combinations
//!      ▼
//!  Loaded { config, warnings }  or  ConfigErrors (every error of the file set)
//! ```
//!

pub mod defaults;
pub mod error;
pub mod keywords;
pub mod model;
pub mod parser;
pub mod redact;
pub mod source;
pub mod validate;
pub mod values;

use std::path::Path;

pub use error::{ConfigError, ConfigErrors, Span, Warning};
pub use model::Config;
pub use source::SourceOptions as LoadOptions;

use error::Diagnostics;
use source::SourceSet;

/// A configuration that loaded, and what deserves a look in it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Warning>,
}

/// Read, parse and validate `path` and the files it includes.
pub fn load(path: &Path) -> Result<Loaded, ConfigErrors> {
    load_with(path, &LoadOptions::default())
}

/// [`load`] with keepalived's config-id (`-i`) for `@id` conditional lines.
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Loaded, ConfigErrors> {
    let parse = || {
        let loaded = {
            let mut diag = Diagnostics::default();
            let set = SourceSet::load(path, options, &mut diag);
            build(&set, diag)
        };
        // The scratch is gone: hand its pages back before the copy doubles the model.
        crate::heap::release_freed();
        loaded
    };
    // The parser's scratch (file text, tokens, syntax tree) is freed right after the load,
    // but its pages hold the model's allocations too, so the heap could not shrink: a
    // 10k x 10 file left 241 MiB resident for a 70 MiB model. Parsed on a thread of its
    // own, everything lands in that thread's glibc arena; the model is copied out compactly
    // here and the whole arena is free afterwards (control/heap.rs returns it).
    let parse = &parse;
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .name("config-load".into())
            .spawn_scoped(scope, parse)
        {
            Ok(loader) => match loader.join() {
                Ok(result) => result.map(|loaded| {
                    // The copy is allocated here, in this thread's arena; the original
                    // goes back to the loader's arena, which is then empty.
                    let compact = loaded.clone();
                    drop(loaded);
                    compact
                }),
                Err(panic) => std::panic::resume_unwind(panic),
            },
            // No thread to be had (resource limits): load here, only less compactly.
            Err(_) => parse(),
        }
    })
}

/// Parse `text` as if it were a file named `origin_name`; includes are relative to the
/// current directory.
pub fn parse_str(origin_name: &str, text: &str) -> Result<Loaded, ConfigErrors> {
    parse_str_with(origin_name, text, &LoadOptions::default())
}

pub fn parse_str_with(
    origin_name: &str,
    text: &str,
    options: &LoadOptions,
) -> Result<Loaded, ConfigErrors> {
    let mut diag = Diagnostics::default();
    let set = SourceSet::from_text(origin_name, text, options, &mut diag);
    build(&set, diag)
}

/// Report in file order (top file, then includes as read), then line and column, as a
/// compiler does; validation finds its problems after parsing but they belong in place.
fn sort_by_position(set: &SourceSet, diag: &mut Diagnostics) {
    let files: Vec<&str> = set.file_names().collect();
    let rank = |span: Option<&Span>| match span {
        None => (0, 0, 0),
        Some(s) => (
            files
                .iter()
                .position(|f| **f == *s.file)
                .map_or(usize::MAX, |i| i + 1),
            s.line,
            s.col,
        ),
    };
    diag.errors.sort_by_key(|e| rank(e.span()));
    diag.warnings.sort_by_key(|w| rank(Some(&w.span)));
}

fn build(set: &SourceSet, mut diag: Diagnostics) -> Result<Loaded, ConfigErrors> {
    let mut parser = parser::Parser::new(set);
    let mut builder = keywords::Builder::new();
    while let Some(node) = parser.next_node(&mut diag) {
        builder.top(&node, &mut diag);
    }
    let (config, map) = builder.finish();
    validate::validate(&config, &map, &mut diag);
    sort_by_position(set, &mut diag);
    diag.summarize_suppressed();
    if diag.has_errors() {
        Err(ConfigErrors {
            errors: diag.errors,
            warnings: diag.warnings,
        })
    } else {
        Ok(Loaded {
            config,
            warnings: diag.warnings,
        })
    }
}
