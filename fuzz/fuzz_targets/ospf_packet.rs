//! Fuzz the OSPF packet codec: no panic on any input, parse → emit → parse holds, and what
//! we sign with MD5 decodes. The harness is `ospf::fuzzing::packet`, which
//! `ospf/tests/fuzz_corpus.rs` replays over `fuzz/corpus/ospf_packet` on stable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ospf::fuzzing::packet(data));
