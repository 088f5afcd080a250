//! Live hostile-input test: a running `directord` with a Full MD5 adjacency to BIRD and a
//! VRRP peer (keepalived, BACKUP) while a sender next to them (`tests/hostile/flood.py`,
//! raw sockets) fires thousands of malformed, truncated, replayed, wrong-area, wrong-key
//! and unauthenticated OSPF packets and malformed, truncated, TTL, password, interval,
//! address-list, checksum and VRID-spoiled VRRP adverts, twice. The adjacency and the VRRP
//! state never change, the daemon's RSS stays flat, and the drop counters say why each
//! packet was dropped.
//!
//! Needs root, `bird`/`birdc`, `keepalived` and `python3`; without them it skips loudly,
//! and fails when `CI` (or `DIRECTOR_REQUIRE_ALL=1`) is set.

mod common;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use common::netns::NetNs;
use common::ospf::{directord_config, BroadcastLab, DirectorSpec, Router, RouterKind, FAST};
use common::peers::{all_full, keepalived, OspfIface};
use common::wait::wait_stable;
use common::TestDir;

/// Packets of each kind per flood (14 kinds).
const COUNT: usize = 1000;
const KEY: &str = "s3cr3t";
const VRRP_PASS: &str = "secret";
const ATTACKER: &str = "10.99.0.66";

/// Whether the prerequisites are there; without them: skip loudly, or fail under CI.
fn prerequisites() -> bool {
    let missing = if !common::is_root() {
        Some("root".to_string())
    } else {
        common::first_missing_program(&["bird", "birdc", "keepalived", "python3"])
            .map(str::to_string)
    };
    match missing {
        None => true,
        Some(what) => {
            common::skip("hostile_flood", &format!("needs {what}"));
            false
        }
    }
}

fn vrrp_block(priority: u8) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {priority}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        \
         auth_pass {VRRP_PASS}\n    }}\n    virtual_ipaddress {{\n        10.99.0.100/24\n    }}\n}}\n"
    )
}

fn directorctl(socket: &std::path::Path, args: &[&str]) -> Result<serde_json::Value, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_directorctl"))
        .arg("-s")
        .arg(socket)
        .arg("-j")
        .args(args)
        .output()
        .map_err(|e| format!("directorctl: {e}"))?;
    // Exit 1 with an answer: the answer says something is not healthy; still an answer.
    if out.stdout.is_empty() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("directorctl JSON: {e}"))
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

fn counter(v: &serde_json::Value, path: &[&str]) -> u64 {
    path.iter()
        .try_fold(v, |v, key| v.get(*key))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

fn flood(atk: &NetNs, script: &str, router: Ipv4Addr, target: Ipv4Addr) {
    let out = atk.exec(&[
        "python3",
        script,
        "eth0",
        ATTACKER,
        &target.to_string(),
        &router.to_string(),
        "1",
        KEY,
        "51",
        VRRP_PASS,
        &COUNT.to_string(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "flood.py failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("sent ")).count(),
        14
    );
}

/// The protocol state that must not move: OSPF neighbors and VRRP states, as text.
fn state(socket: &std::path::Path, router: &Router) -> Result<String, String> {
    let neighbors = directorctl(socket, &["ospf", "neighbors"])?;
    let nbr: Vec<(String, String)> = neighbors
        .as_array()
        .ok_or("neighbors is not a list")?
        .iter()
        .map(|n| (n["router_id"].to_string(), n["state"].to_string()))
        .collect();
    if nbr.len() != 1 || !nbr[0].1.contains("Full") {
        return Err(format!("directord neighbors: {nbr:?}"));
    }
    all_full(router.neighbors()?, &[Ipv4Addr::new(10, 99, 0, 11)])?;
    let vrrp = directorctl(socket, &["vrrp"])?;
    let states: Vec<String> = vrrp["instances"]
        .as_array()
        .ok_or("no VRRP instances")?
        .iter()
        .map(|i| i["state"].to_string())
        .collect();
    if states != ["\"MASTER\""] && states != ["\"master\""] {
        return Err(format!("VRRP states {states:?}"));
    }
    Ok(format!("{nbr:?} {states:?}"))
}

fn transitions(log: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.contains("OSPF neighbor state change") || l.contains("VRRP") && l.contains("state")
        })
        .count()
}

#[test]
fn hostile_flood_changes_nothing() {
    if !prerequisites() {
        return;
    }
    let dir = TestDir::new("hf");
    let lab = BroadcastLab::new(1);
    let atk = NetNs::new("atk");
    lab.sw.attach(&atk, "eth0");
    atk.add_addr("eth0", &format!("{ATTACKER}/24"));
    let router_addr = Ipv4Addr::new(10, 99, 0, 1);
    let me = Ipv4Addr::new(10, 99, 0, 11);
    let iface = OspfIface::broadcast("eth0", FAST.hello, FAST.dead).md5(1, KEY);
    let router = Router::start(RouterKind::Bird, &lab.r1, &dir, vec![iface.clone()]);
    let _peer = keepalived(
        &lab.r1,
        &dir.subdir("keepalived"),
        "keepalived",
        &vrrp_block(50),
    );
    let spec = DirectorSpec::new("d1", me, iface, &[Ipv4Addr::new(10, 99, 100, 1)]);
    let config = directord_config(&spec) + &vrrp_block(100);
    let d1 = common::directord(&lab.directors[0], &dir, "d1", &config);
    let socket = dir.path().join("d1/run/directord.sock");

    let settled = wait_stable(Duration::from_secs(90), Duration::from_secs(5), || {
        assert!(d1.alive(), "directord died: {}", d1.log_path().display());
        state(&socket, &router)
    })
    .expect("Full with BIRD and VRRP MASTER, stable");
    let before_state = settled.value;
    let before_transitions = transitions(&d1.log_text());
    let ospf_before = directorctl(&socket, &["ospf", "counters"]).expect("ospf counters");
    let vrrp_before = directorctl(&socket, &["vrrp"]).expect("vrrp status");
    let rss_before = rss_kib(d1.pid());

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hostile/flood.py");
    flood(&atk, script, router_addr, me);
    let rss_first = rss_kib(d1.pid());
    flood(&atk, script, router_addr, me);
    let rss_second = rss_kib(d1.pid());

    assert!(d1.alive(), "directord died during the flood");
    let after = wait_stable(Duration::from_secs(20), Duration::from_secs(3), || {
        state(&socket, &router)
    })
    .expect("still Full and MASTER after the flood");
    assert_eq!(after.value, before_state);
    assert_eq!(
        transitions(&d1.log_text()),
        before_transitions,
        "an OSPF neighbor or VRRP state changed during the flood"
    );

    let ospf_after = directorctl(&socket, &["ospf", "counters"]).expect("ospf counters");
    eprintln!("hostile_flood: ospf counters before {ospf_before}\nafter {ospf_after}");
    let vrrp_after = directorctl(&socket, &["vrrp"]).expect("vrrp status");
    let sent = 2 * COUNT as u64;
    // A raw socket's receive buffer overflows when the daemon is starved of CPU (seen: 82 %
    // of one kind counted at load 13 on 2 cores), and those packets never reach us. The
    // assertion is that every kind is counted at all (a broken counter reads 0), so half
    // is enough; the counts themselves are printed above for the record.
    let enough = sent / 2;
    let ospf_drop = |reason: &str| {
        counter(&ospf_after, &["drops", reason]) - counter(&ospf_before, &["drops", reason])
    };
    let vrrp_global = |name: &str| {
        counter(&vrrp_after, &["global", name]) - counter(&vrrp_before, &["global", name])
    };
    let mut report = Vec::new();
    for reason in [
        "crypto_seq_replay",
        "wrong_area",
        "bad_digest",
        "auth_type_mismatch",
        "truncated",
        "bad_length",
        "bad_version",
        "bad_packet_type",
        "bad_checksum",
    ] {
        report.push(format!("ospf {reason} +{}", ospf_drop(reason)));
    }
    eprintln!(
        "hostile_flood: RSS {rss_before} KiB before, {rss_first} after one flood, {rss_second} after two; {}",
        report.join(", ")
    );
    for reason in [
        "crypto_seq_replay",
        "wrong_area",
        "bad_digest",
        "auth_type_mismatch",
    ] {
        assert!(
            ospf_drop(reason) >= enough,
            "ospf {reason}: {}",
            ospf_drop(reason)
        );
    }
    assert!(
        ospf_drop("truncated") + ospf_drop("bad_length") >= enough,
        "ospf truncated"
    );
    let vrrp_instances = vrrp_after["instances"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let vrrp_before_instances = vrrp_before["instances"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let vc = |name: &str| {
        counter(&vrrp_instances[0], &["counters", name])
            - counter(&vrrp_before_instances[0], &["counters", name])
    };
    eprintln!(
        "hostile_flood: vrrp ttl +{} auth +{} interval +{} address_list +{} checksum +{} length +{} vrid +{}",
        vc("ttl_errors"),
        vc("auth_errors"),
        vc("interval_errors"),
        vc("address_list_errors"),
        vc("checksum_errors"),
        vc("packet_length_errors"),
        vrrp_global("vrid_errors")
    );
    for name in [
        "ttl_errors",
        "auth_errors",
        "interval_errors",
        "address_list_errors",
        "checksum_errors",
        "packet_length_errors",
    ] {
        assert!(vc(name) >= enough, "vrrp {name}: +{}", vc(name));
    }
    assert!(vrrp_global("vrid_errors") >= enough, "vrrp vrid_errors");
    // The metrics carry the same counts (read after the flood, so nothing moves between).
    let metrics = directorctl(&socket, &["metrics"]).expect("metrics");
    let text = metrics.as_str().unwrap_or_default();
    let instance = vrrp_instances[0]["name"].as_str().unwrap_or_default();
    let vrrp_now = directorctl(&socket, &["vrrp"]).expect("vrrp status");
    let ospf_now = directorctl(&socket, &["ospf", "counters"]).expect("ospf counters");
    for line in [
        format!(
            "director_ospf_packets_dropped_total{{reason=\"bad_digest\"}} {}\n",
            counter(&ospf_now, &["drops", "bad_digest"])
        ),
        format!(
            "director_vrrp_errors_total{{instance=\"{instance}\",error=\"ip_ttl_errors\"}} {}\n",
            counter(&vrrp_now["instances"][0], &["counters", "ttl_errors"])
        ),
        format!(
            "director_vrrp_router_errors_total{{error=\"vr_id_errors\"}} {}\n",
            counter(&vrrp_now, &["global", "vrid_errors"])
        ),
        format!("director_vrrp_state{{instance=\"{instance}\",state=\"master\"}} 1\n"),
    ] {
        assert!(text.contains(&line), "no {line:?} in\n{text}");
    }
    // Flat: a second flood of the same size must not grow the daemon.
    assert!(
        rss_second <= rss_first + 1024,
        "RSS grew from {rss_first} to {rss_second} KiB over the second flood"
    );
    assert!(
        rss_second <= rss_before + 8 * 1024,
        "RSS grew from {rss_before} to {rss_second} KiB"
    );
}
