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
use std::sync::mpsc;

pub use error::{ConfigError, ConfigErrors, Span, Warning};
pub use model::Config;
use model::VirtualServer;
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
///
/// Where the bytes go matters as much as how many there are. The parser's scratch (file
/// text, logical lines, each block's syntax tree and drafts) is freed as it goes, but glibc
/// cannot give back a page that also holds a piece of the model, and a model built among
/// its scratch leaves the scratch's pages resident: a 10k x 10 file held 260 MiB of RSS
/// for a 70 MiB model at the end of the parse, 241 MiB once trimmed. So the file is parsed
/// on a thread of its own (glibc gives it an arena of its own), and each virtual server is
/// copied into this thread's arena as soon as it is built, its original freed in the
/// loader's arena where the next block's scratch reuses the hole. The rest of the model is
/// small and copied once at the end; the loader's arena is then entirely free and goes
/// back (`heap::release_freed`).
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Loaded, ConfigErrors> {
    let parse = |relocate: &mut dyn FnMut(VirtualServer) -> VirtualServer| {
        let loaded = {
            let mut diag = Diagnostics::default();
            let set = SourceSet::load(path, options, &mut diag);
            build(&set, diag, relocate)
        };
        // The scratch is gone: hand its pages back before the rest is copied.
        crate::heap::release_freed();
        loaded
    };
    let parse = &parse;
    std::thread::scope(|scope| {
        let (to_caller, from_loader) = mpsc::channel::<VirtualServer>();
        // The copy, and the original for the loader to free: freed here, its pieces would
        // go to this thread's allocation cache and come back as parts of the next copies.
        let (to_loader, from_caller) = mpsc::channel::<(VirtualServer, VirtualServer)>();
        let loader = std::thread::Builder::new()
            .name("config-load".into())
            .spawn_scoped(scope, move || {
                parse(&mut |built| match to_caller.send(built) {
                    Ok(()) => match from_caller.recv() {
                        Ok((copy, _original)) => copy,
                        // The caller only stops answering by unwinding, which the scope
                        // propagates: this result is never seen.
                        Err(_) => panic!("config-load: the calling thread stopped copying"),
                    },
                    // The caller is gone: keep the original.
                    Err(mpsc::SendError(built)) => built,
                })
            });
        let loader = match loader {
            Ok(loader) => loader,
            // No thread to be had (resource limits): load here, only less compactly.
            Err(_) => return parse(&mut |built| built),
        };
        // Until the loader drops its sender: copy each virtual server here (equal checker
        // settings held once), free the original there.
        let mut shared = model::SharedSettings::default();
        for built in from_loader.iter() {
            let mut copy = built.clone();
            shared.adopt(&mut copy);
            if to_loader.send((copy, built)).is_err() {
                break;
            }
        }
        match loader.join() {
            Ok(result) => result.map(compact),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// `loaded` with everything but the (already copied) virtual servers copied into this
/// thread's arena, and the list of virtual servers itself reallocated here.
fn compact(mut loaded: Loaded) -> Loaded {
    let servers = std::mem::take(&mut loaded.config.virtual_servers);
    let mut compact = loaded.clone();
    drop(loaded);
    compact.config.virtual_servers = Vec::with_capacity(servers.len());
    compact.config.virtual_servers.extend(servers);
    compact
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
    build(&set, diag, &mut |built| built)
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

/// Parse and validate `set`; `relocate` takes each virtual server as soon as it is built
/// and gives back the one to keep (see [`load_with`]).
fn build(
    set: &SourceSet,
    mut diag: Diagnostics,
    relocate: &mut dyn FnMut(VirtualServer) -> VirtualServer,
) -> Result<Loaded, ConfigErrors> {
    let mut parser = parser::Parser::new(set);
    let mut builder = keywords::Builder::new();
    while let Some(node) = parser.next_node(&mut diag) {
        let built_before = builder.virtual_server_count();
        builder.top(&node, &mut diag);
        // The block's syntax tree goes first, so the copy can reuse its memory.
        drop(node);
        builder.relocate_virtual_servers(built_before, relocate);
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
