//! Replays the checked-in fuzz corpora (`fuzz/corpus/<target>/*`) through the harnesses
//! the fuzz targets run (`director::fuzzing`), so stable `cargo test` catches a regression
//! on every input fuzzing once found interesting. The OSPF corpora are replayed by
//! `ospf/tests/fuzz_corpus.rs`.

use std::path::PathBuf;

fn replay(target: &str, harness: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    ospf::fuzzing::replay_corpus(&dir, harness);
}

#[test]
fn config_parse_corpus_replays() {
    replay("config_parse", director::fuzzing::config_parse);
}

#[test]
fn ipvs_attrs_corpus_replays() {
    replay("ipvs_attrs", director::fuzzing::ipvs_attrs);
}

#[test]
fn control_request_corpus_replays() {
    replay("control_request", director::fuzzing::control_request);
}

#[test]
fn nft_netlink_corpus_replays() {
    replay("nft_netlink", director::fuzzing::nft_netlink);
}

#[test]
fn vrrp_packet_corpus_replays() {
    replay("vrrp_packet", director::fuzzing::vrrp_packet);
}

#[test]
fn vrrp_script_corpus_replays() {
    replay("vrrp_script", director::fuzzing::vrrp_script);
}

#[test]
fn rtnetlink_event_corpus_replays() {
    replay("rtnetlink_event", director::fuzzing::rtnetlink_event);
}
