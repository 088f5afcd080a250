//! The configuration reader never panics or hangs.
//! Harness: `director::fuzzing::config_parse`, replayed on stable by tests/fuzz_corpus.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| director::fuzzing::config_parse(data));
