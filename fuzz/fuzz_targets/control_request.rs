//! Control-socket request lines and metrics request heads: no panic, requests and replies round-trip.
//! Harness: `director::fuzzing::control_request`, replayed on stable by tests/fuzz_corpus.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| director::fuzzing::control_request(data));
