//! The nft -j listing reader: no panic on any document.
//! Harness: `director::fuzzing::nft_listing`, replayed on stable by tests/fuzz_corpus.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| director::fuzzing::nft_listing(data));
