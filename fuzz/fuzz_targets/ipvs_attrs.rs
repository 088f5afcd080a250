//! IPVS generic-netlink attributes and reply framing: no panic, accepted values round-trip.
//! Harness: `director::fuzzing::ipvs_attrs`, replayed on stable by tests/fuzz_corpus.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| director::fuzzing::ipvs_attrs(data));
