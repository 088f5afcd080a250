//! Replays the checked-in fuzz corpora of the OSPF targets (`fuzz/corpus/<target>/*`)
//! through the same harnesses the fuzz targets run (`ospf::fuzzing`), so stable
//! `cargo test` catches a regression on any input that fuzzing once found interesting.

use std::path::PathBuf;

fn replay(target: &str, harness: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    for file in &files {
        let data = std::fs::read(file).expect("corpus file");
        let outcome = std::panic::catch_unwind(|| harness(&data));
        assert!(outcome.is_ok(), "{}: harness panicked", file.display());
    }
}

#[test]
fn ospf_packet_corpus_replays() {
    replay("ospf_packet", ospf::fuzzing::packet);
}

#[test]
fn ospf_full_md5_corpus_replays() {
    replay("ospf_full_md5", ospf::fuzzing::ospf_full_md5_script);
}
