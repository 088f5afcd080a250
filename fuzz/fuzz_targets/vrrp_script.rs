//! Stateful: a VRRP instance driven by valid, spoiled and invalid adverts and clock steps; a rejected advert changes no state, what we send passes a peer's checks.
//! Harness: `director::fuzzing::vrrp_script`, replayed on stable by tests/fuzz_corpus.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| director::fuzzing::vrrp_script(data));
