//! VRRP v2/v3 advert codec and IP header readers: no panic, parse -> emit -> parse.
//! Harness: `director::fuzzing::vrrp_packet`, replayed on stable by tests/fuzz_corpus.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| director::fuzzing::vrrp_packet(data));
