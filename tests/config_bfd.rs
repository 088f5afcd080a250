//! `bfd { }` inside an OSPF interface block (issue 16).

use director::config::model::{BfdAuth, BfdAuthType, OspfBfd};
use director::config::parse_str;

fn ospf(iface_body: &str) -> String {
    format!(
        "ospf {{\n  router_id 10.0.0.1\n  area 0 {{\n    interface eth0 {{\n{iface_body}\n    }}\n    interface eth1\n  }}\n}}\n"
    )
}

#[test]
fn bfd_block_with_timers_and_keyed_sha1() {
    let text = ospf(
        "      bfd {\n        min_rx 100\n        min_tx 150\n        idle_tx 2000\n        multiplier 5\n        auth_type keyed_sha1\n        auth_key 3 twenty-bytes-secret1\n      }",
    );
    let loaded = parse_str("t.conf", &text).expect("loads");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let o = loaded.config.ospf.expect("ospf");
    let ifaces = &o.areas[0].interfaces;
    assert_eq!(
        ifaces[0].bfd,
        Some(OspfBfd {
            min_rx_ms: 100,
            min_tx_ms: 150,
            idle_tx_ms: 2000,
            multiplier: 5,
            authentication: Some(BfdAuth {
                kind: BfdAuthType::KeyedSha1,
                key_id: 3,
                key: "twenty-bytes-secret1".into()
            }),
        })
    );
    assert_eq!(ifaces[1].bfd, None, "no bfd block, no BFD");
}

#[test]
fn empty_bfd_block_takes_the_defaults() {
    let loaded = parse_str("t.conf", &ospf("      bfd { }")).expect("loads");
    let o = loaded.config.ospf.expect("ospf");
    assert_eq!(o.areas[0].interfaces[0].bfd, Some(OspfBfd::default()));
    let d = OspfBfd::default();
    assert_eq!(
        (d.min_rx_ms, d.min_tx_ms, d.idle_tx_ms, d.multiplier),
        (300, 300, 1000, 3)
    );
}

#[test]
fn bad_bfd_blocks_are_errors() {
    for (body, what) in [
        ("      bfd {\n        idle_tx 500\n      }", "idle_tx below 1 s (RFC 5880 §6.8.3)"),
        ("      bfd {\n        multiplier 0\n      }", "multiplier 0"),
        ("      bfd {\n        auth_type meticulous_keyed_md5\n      }", "auth_type without a key"),
        (
            "      bfd {\n        auth_type keyed_md5\n        auth_key 1 seventeen-chars-xx\n      }",
            "MD5 key over 16",
        ),
        ("      bfd {\n        auth_type sha256\n      }", "unknown auth_type"),
    ] {
        assert!(parse_str("t.conf", &ospf(body)).is_err(), "{what} was accepted");
    }
}

#[test]
fn bfd_keys_are_redacted() {
    let text = ospf("      bfd {\n        auth_type meticulous_keyed_md5\n        auth_key 1 bfd-topsecret\n      }");
    let loaded = parse_str("t.conf", &text).expect("loads");
    let json = director::config::redact::redacted_json(&loaded.config)
        .unwrap()
        .to_string();
    assert!(!json.contains("bfd-topsecret"), "{json}");
    assert!(json.contains("meticulous_keyed_md5"));
}
