//! Replays the checked-in fuzz corpora of the OSPF targets (`fuzz/corpus/<target>/*`)
//! through the same harnesses the fuzz targets run (`ospf::fuzzing`), so stable
//! `cargo test` catches a regression on any input that fuzzing once found interesting.

use std::path::PathBuf;

fn replay(target: &str, harness: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    ospf::fuzzing::replay_corpus(&dir, harness);
}

#[test]
fn ospf_packet_corpus_replays() {
    replay("ospf_packet", ospf::fuzzing::packet);
}

#[test]
fn ospf_full_md5_corpus_replays() {
    replay("ospf_full_md5", ospf::fuzzing::ospf_full_md5_script);
}
