//! Replays the checked-in fuzz corpus of the OSPF codec (`fuzz/corpus/ospf_packet/*`)
//! through the same harness the fuzz target runs, so stable `cargo test` catches a
//! regression on any input that fuzzing once found interesting.

use std::path::PathBuf;

#[test]
fn ospf_packet_corpus_replays() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ospf_packet");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    for file in &files {
        let data = std::fs::read(file).expect("corpus file");
        let outcome = std::panic::catch_unwind(|| ospf::fuzzing::packet(&data));
        assert!(outcome.is_ok(), "{}: harness panicked", file.display());
    }
}
