//! rtnetlink link and address notifications as the watcher decodes them: no panic.
//! Harness: `director::fuzzing::rtnetlink_event`, replayed on stable by tests/fuzz_corpus.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| director::fuzzing::rtnetlink_event(data));
