//! Stateful: scripts of authentic, spoiled, unauthenticated, wrong-key, wrong-area and
//! replayed packets and clock steps against an OSPF instance in Full with MD5
//! (`ospf::fuzzing::ospf_full_md5_script`, replayed on stable by ospf/tests/fuzz_corpus.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ospf::fuzzing::ospf_full_md5_script(data));
