//! keepalived.conf-compatible configuration: source files, parser, typed model, validation, diff.

pub mod defaults;
pub mod error;
pub mod model;
pub mod parser;
pub mod source;
