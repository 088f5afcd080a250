//! keepalived.conf-compatible configuration: source files, parser, typed model, validation, diff.

pub mod defaults;
pub mod model;
