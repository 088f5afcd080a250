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

// ===== keepalived's bfd_instance and track_bfd =====

const BFD_AND_VRRP: &str = "bfd_instance peer {
    neighbour_ip 10.0.0.2
    source_ip 10.0.0.1
    min_rx 100
    min_tx 3.312
    idle_tx 2000
    multiplier 3
    weight -20 reverse
}
bfd_instance other {
    neighbor_ip 10.0.1.2
}
vrrp_sync_group G {
    group {
        VI_1
    }
    track_bfd {
        other
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.100/24
    }
    track_bfd {
        peer
        other weight 10
    }
}
";

#[test]
fn bfd_instance_and_track_bfd_load() {
    use director::config::model::{BfdInstance, TrackFileRef};
    let loaded = parse_str("t.conf", BFD_AND_VRRP).expect("loads");
    let c = &loaded.config;
    assert_eq!(
        c.bfd_instance("peer"),
        Some(&BfdInstance {
            name: "peer".into(),
            neighbor: "10.0.0.2".parse().unwrap(),
            source: Some("10.0.0.1".parse().unwrap()),
            min_rx_us: 100_000,
            min_tx_us: 3_312,
            idle_tx_us: 2_000_000,
            multiplier: 3,
            weight: -20,
            reverse: true,
        })
    );
    // keepalived's defaults: 10 ms, 10 ms, 1000 ms, × 5, weight 0.
    let other = c.bfd_instance("other").expect("other");
    assert_eq!(
        (
            other.min_rx_us,
            other.min_tx_us,
            other.idle_tx_us,
            other.multiplier,
            other.weight
        ),
        (10_000, 10_000, 1_000_000, 5, 0)
    );
    assert_eq!(
        c.vrrp_instances[0].track_bfd,
        vec![
            TrackFileRef {
                name: "peer".into(),
                weight: None,
                reverse: false
            },
            TrackFileRef {
                name: "other".into(),
                weight: Some(10),
                reverse: false
            },
        ]
    );
    assert_eq!(c.vrrp_sync_groups[0].track_bfd.len(), 1);
}

#[test]
fn bfd_instance_keywords_director_does_not_honour_are_warned_about() {
    let text = "bfd_instance p {\n    neighbor_ip 10.0.0.2\n    passive\n    ttl 64\n    max_hops 2\n    hoplimit 64\n    vrrp\n}\nvrrp_instance V {\n    interface eth0\n    virtual_router_id 1\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100/24\n    }\n    track_bfd {\n        p\n        nosuch\n    }\n}\n";
    let loaded = parse_str("t.conf", text).expect("loads with warnings");
    let lines: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
    for (line, what) in [
        ("t.conf:3:", "passive"),
        ("t.conf:4:", "ttl 64"),
        ("t.conf:5:", "max_hops 2"),
        ("t.conf:6:", "hoplimit"),
        ("t.conf:7:", "'vrrp'"),
        ("t.conf:18:", "track_bfd 'nosuch' names no bfd_instance"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(line) && l.contains(what)),
            "no warning {line} {what}: {lines:#?}"
        );
    }
}

#[test]
fn bfd_instances_keepalived_disables_are_ignored_with_a_warning() {
    for (text, what) in [
        ("bfd_instance p {\n    min_rx 100\n}\n", "no IPv4 'neighbor_ip'"),
        ("bfd_instance p {\n    neighbor_ip fe80::1\n}\n", "is IPv6"),
        (
            "bfd_instance p {\n    neighbor_ip 10.0.0.2\n}\nbfd_instance p {\n    neighbor_ip 10.0.0.3\n}\n",
            "defined twice",
        ),
    ] {
        let loaded = parse_str("t.conf", text).expect(what);
        let warned = loaded.warnings.iter().any(|w| {
            let w = w.to_string();
            w.starts_with("t.conf:") && w.contains(what)
        });
        assert!(warned, "{what}: {:?}", loaded.warnings);
        assert!(
            loaded
                .config
                .bfd_instances
                .iter()
                .all(|b| b.neighbor.to_string() == "10.0.0.2"),
            "{what}: only the first, valid one stays"
        );
    }
}

#[test]
fn bad_bfd_instances_are_errors() {
    for (text, what) in [
        (
            "bfd_instance p {\n    neighbor_ip 10.0.0.2\n    min_rx 0\n}\n",
            "min_rx 0",
        ),
        (
            "bfd_instance p {\n    neighbor_ip 10.0.0.2\n    multiplier 0\n}\n",
            "multiplier 0",
        ),
        (
            "bfd_instance p {\n    neighbor_ip 10.0.0.2\n    weight 254\n}\n",
            "weight over 253",
        ),
    ] {
        let err = parse_str("t.conf", text).expect_err(what);
        assert!(
            err.errors
                .iter()
                .all(|e| e.to_string().starts_with("t.conf:")),
            "{what}: {err}"
        );
    }
}

#[test]
fn bfd_check_names_a_bfd_instance_above_it() {
    use director::config::model::{BfdCheck, Checker};
    let text = "bfd_instance peer {\n    neighbor_ip 10.0.0.2\n}\nvirtual_server 10.0.0.100 80 {\n    protocol TCP\n    delay_loop 30\n    real_server 10.0.0.2 80 {\n        BFD_CHECK {\n            name peer\n        }\n        BFD_CHECK {\n            name nosuch\n        }\n        BFD_CHECK {\n        }\n    }\n}\n";
    let loaded = parse_str("t.conf", text).expect("loads");
    let checkers = &loaded.config.virtual_servers[0].real_servers[0].checkers;
    assert_eq!(checkers.len(), 1, "{checkers:?}");
    let Checker::Bfd { common, bfd } = &checkers[0] else {
        panic!("{checkers:?}")
    };
    assert_eq!(
        bfd,
        &BfdCheck {
            name: "peer".into()
        }
    );
    // Follows the session, not the virtual server's delay_loop.
    assert_eq!(
        (common.delay_loop, common.retry),
        (std::time::Duration::from_millis(100), 0)
    );
    let lines: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        lines[0].starts_with("t.conf:12:13: warning: BFD_CHECK: no bfd_instance 'nosuch'"),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with("t.conf:14:9: warning: BFD_CHECK has no name"),
        "{lines:#?}"
    );
}
