//! The nf_tables netlink reply readers: no panic on any bytes.
//! Harness: `director::fuzzing::nft_netlink`, replayed on stable by tests/fuzz_corpus.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| director::fuzzing::nft_netlink(data));
