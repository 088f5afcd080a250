//! Peering details routers expect (issue 16): `directord` peers with BIRD and with FRR in a
//! stub area (`stub` / `area 0.0.0.1 stub`), with two keys configured at once —
//! HMAC-SHA-256 (RFC 5709) with BIRD, keyed MD5 with FRR, whose Debian 12 version (8.4) has
//! no HMAC-SHA for OSPFv2 — and the adjacency survives the router switching its key
//! (`birdc configure`, `vtysh`) without leaving Full. One VIP carries `ospf_metric 20`: the router's
//! route to it costs 20 more than to the VIP without one. A `passive` interface sends no
//! Hello, and its subnet still reaches the router.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::netns::{veth, NetNs};
use common::ospf::{director_addr, host, BroadcastLab, Router, ROUTER_ID, VIP_A, VIP_B};
use common::peers::{all_full, route_nexthops, Bird, Frr};
use common::process::Daemon;
use common::wait::{hold_for, wait_stable, wait_until};
use common::TestDir;

const CONVERGE: Duration = Duration::from_secs(60);
const HOLD: Duration = Duration::from_secs(2);
/// Longer than the dead interval (4 s): a side that refused the other's new key would
/// have dropped the adjacency within it.
const ROLLOVER_HOLD: Duration = Duration::from_secs(6);
/// The passive interface's subnet (d1 `eth1` 10.99.50.1, a silent host at .2).
const PASSIVE_NET: &str = "10.99.50.0/24";

/// The router's OSPF interface keys, as (key id, secret), in configuration order.
type Keys<'a> = &'a [(u8, &'a str)];

fn bird_config(keys: Keys) -> String {
    let passwords: String = keys
        .iter()
        .map(|(id, secret)| {
            format!(" password \"{secret}\" {{ id {id}; algorithm hmac sha256; }};")
        })
        .collect();
    format!(
        "router id {ROUTER_ID};\nlog stderr all;\nprotocol device {{ scan time 2; }}\n\
         protocol kernel k4 {{ ipv4 {{ import none; export all; }}; }}\n\
         protocol ospf v2 o4 {{\n  tick 1;\n  ipv4 {{ import all; export none; }};\n  area 1 {{\n    stub yes;\n    \
         interface \"eth0\" {{ type broadcast; hello 1; dead 4; priority 10; authentication cryptographic;{passwords} }};\n  }};\n}}\n"
    )
}

fn frr_config(keys: Keys) -> String {
    let mut c = String::from(
        "hostname router\n!\ninterface eth0\n ip ospf hello-interval 1\n ip ospf dead-interval 4\n \
         ip ospf priority 10\n ip ospf authentication message-digest\n",
    );
    for (id, secret) in keys {
        c.push_str(&format!(" ip ospf message-digest-key {id} md5 {secret}\n"));
    }
    c.push_str(&format!(
        "!\nrouter ospf\n ospf router-id {ROUTER_ID}\n network 10.99.0.0/24 area 0.0.0.1\n area 0.0.0.1 stub\n!\n"
    ));
    c
}

/// d1: stub area 1, both keys (every packet sent once per key), a passive `eth1`, VIP_A with
/// `ospf_metric 20` and VIP_B with the default metric.
fn directord_config(auth_type: &str, keys: Keys, control_socket: &str) -> String {
    let keys: String = keys
        .iter()
        .map(|(id, secret)| format!("                auth_key {id} {secret}\n"))
        .collect();
    let d1 = director_addr(0);
    let vs = |vip: Ipv4Addr, metric: &str| {
        format!(
            "virtual_server {vip} 80 {{\n    lb_algo mh\n    lb_kind DR\n    protocol TCP\n{metric}    \
             real_server 10.99.9.10 80 {{\n        weight 1\n    }}\n}}\n"
        )
    };
    format!(
        "global_defs {{\n    router_id d1\n}}\n\
         director {{\n    mode active-active\n    dataplane none\n    control_socket {control_socket}\n}}\n\
         ospf {{\n    router_id {d1}\n    area 1 {{\n        stub\n        interface eth0 {{\n            \
         hello_interval 1\n            dead_interval 4\n            priority 1\n            \
         authentication {{\n                auth_type {auth_type}\n{keys}            }}\n        }}\n        \
         interface eth1 {{\n            passive\n        }}\n    }}\n}}\n{}{}",
        vs(VIP_A, "    ospf_metric 20\n"),
        vs(VIP_B, "")
    )
}

/// The metric of the router's OSPF route to `vip`: BIRD's `OSPF.metric1`, FRR's `metric`.
fn route_metric(router: &Router, vip: Ipv4Addr) -> Result<u32, String> {
    let prefix = host(vip);
    match router {
        Router::Bird(b) => {
            let text = b.birdc(&["show", "route", "for", &prefix, "all"])?;
            text.lines()
                .find_map(|l| l.trim().strip_prefix("OSPF.metric1:"))
                .and_then(|m| m.trim().parse().ok())
                .ok_or(format!("no OSPF.metric1 for {prefix}: {text}"))
        }
        Router::Frr(f) => {
            let json = f.vtysh(&format!("show ip route {prefix} json"))?;
            let v: serde_json::Value =
                serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
            v[&prefix][0]["metric"]
                .as_u64()
                .map(|m| m as u32)
                .ok_or(format!("no metric for {prefix}: {json}"))
        }
    }
}

/// The Key ID of the next OSPF packet `src` sends on `ns`'s `eth0` (tshark).
fn sending_key_id(ns: &NetNs, src: Ipv4Addr) -> Result<u8, String> {
    let filter = format!("ip proto 89 and src host {src}");
    let out = ns.exec(&[
        "tshark",
        "-i",
        "eth0",
        "-c",
        "1",
        "-a",
        "duration:5",
        "-f",
        &filter,
        "-T",
        "fields",
        "-e",
        "ospf.auth.crypt.key_id",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .map_err(|_| format!("no OSPF packet from {src} in 5 s: {text:?}"))
}

/// How many OSPF packets arrive on `ns`'s `eth0` in `secs` seconds (tshark).
fn ospf_packets_seen(ns: &NetNs, secs: u32) -> usize {
    let duration = format!("duration:{secs}");
    let out = ns.exec(&[
        "tshark",
        "-i",
        "eth0",
        "-a",
        &duration,
        "-f",
        "ip proto 89",
        "-T",
        "fields",
        "-e",
        "ip.src",
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

enum Kind {
    Bird,
    Frr,
}

fn scenario(kind: Kind) {
    let label = match kind {
        Kind::Bird => "BIRD",
        Kind::Frr => "FRR",
    };
    let dir = TestDir::new("peering");
    let lab = BroadcastLab::new(1);
    let d1_ns = &lab.directors[0];
    let silent = NetNs::new("p1");
    veth(d1_ns, "eth1", &silent, "eth0");
    d1_ns.add_addr("eth1", "10.99.50.1/24");
    silent.add_addr("eth0", "10.99.50.2/24");
    let d1 = director_addr(0);
    let both: Keys = &[(1, "old-key"), (2, "new-key")];
    let sub = dir.subdir("router");
    let router = match kind {
        Kind::Bird => Router::Bird(Bird::start_with_config(
            &lab.r1,
            &sub,
            "router-bird",
            &bird_config(both),
        )),
        Kind::Frr => Router::Frr(Frr::start_with_config(
            &lab.r1,
            &sub,
            "router",
            &frr_config(both),
            None,
        )),
    };
    let auth_type = match kind {
        Kind::Bird => "hmac_sha256",
        Kind::Frr => "md5",
    };
    let socket = dir.subdir("d1").join("directord.sock");
    let conf = directord_config(auth_type, both, &socket.to_string_lossy());
    let director: Daemon = common::directord(d1_ns, &dir, "d1", &conf);

    // Stub area, two keys: Full, and both VIPs reach the router.
    let alive = || {
        assert!(
            director.alive(),
            "directord exited; log: {}",
            director.log_path().display()
        )
    };
    wait_stable(CONVERGE, HOLD, || {
        alive();
        all_full(router.neighbors()?, &[d1])?;
        for vip in [VIP_A, VIP_B] {
            if route_nexthops(&lab.r1, &host(vip))? != [d1] {
                return Err(format!("no route to {vip} via {d1}"));
            }
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{label}: d1 Full in stub area 1, both VIPs routed: {e}"));

    // Per-VIP metric: the router's route to VIP_A costs exactly 20 more.
    let (a, b) = wait_until(CONVERGE, Duration::from_millis(200), || {
        Ok((route_metric(&router, VIP_A)?, route_metric(&router, VIP_B)?))
    })
    .unwrap_or_else(|e| panic!("{label}: route metrics: {e}"))
    .value;
    println!("{label}: route metric VIP_A {a} (ospf_metric 20), VIP_B {b} (default 0)");
    assert_eq!(a, b + 20, "{label}: VIP_A's route carries its ospf_metric");

    // Passive eth1: its subnet is routed at the router, and not one OSPF packet leaves it.
    wait_until(
        CONVERGE,
        Duration::from_millis(200),
        || match route_nexthops(&lab.r1, PASSIVE_NET)?.as_slice() {
            [gw] if *gw == d1 => Ok(()),
            other => Err(format!("route to {PASSIVE_NET}: {other:?}")),
        },
    )
    .unwrap_or_else(|e| panic!("{label}: passive subnet routed via d1: {e}"));
    assert_eq!(
        ospf_packets_seen(&silent, 3),
        0,
        "{label}: OSPF packets left the passive interface"
    );

    // Key rollover at the router: it switches its key while d1 holds both (and sends
    // every packet once per key); the adjacency stays Full. FRR 8.4 accepts only the
    // key it signs with, so this holds only because d1 sends both copies.
    let before = sending_key_id(&lab.r1, ROUTER_ID).expect("router's key before");
    let log_at_switch = director.log_text().len();
    let only = |id: u8| -> Vec<(u8, &str)> { both.iter().copied().filter(|k| k.0 == id).collect() };
    match &router {
        Router::Bird(bird) => {
            // BIRD signs with the first password: keep only the second.
            assert_eq!(before, 1, "BIRD signs with its first password");
            let out = bird
                .reconfigure(&bird_config(&only(2)))
                .expect("birdc configure");
            assert!(out.contains("Reconfigured"), "birdc configure: {out}");
        }
        Router::Frr(frr) => {
            // FRR signs (and accepts) with its last message-digest-key: remove it.
            assert_eq!(before, 2, "FRR signs with its last key");
            frr.vtysh_config(&[
                "interface eth0",
                "no ip ospf message-digest-key 2 md5 new-key",
            ])
            .expect("vtysh");
        }
    }
    // From the switch on, every look must find the adjacency Full.
    let still_full = || {
        alive();
        if let Err(e) = router.neighbors().and_then(|n| all_full(n, &[d1])) {
            panic!("{label}: adjacency left Full after the key switch: {e}");
        }
    };
    let after = wait_until(CONVERGE, Duration::from_millis(100), || {
        still_full();
        match sending_key_id(&lab.r1, ROUTER_ID)? {
            id if id != before => Ok(id),
            id => Err(format!("router still signs with key {id}")),
        }
    })
    .unwrap_or_else(|e| panic!("{label}: router switched keys: {e}"))
    .value;
    hold_for(ROLLOVER_HOLD, || {
        still_full();
        Ok::<(), String>(())
    })
    .unwrap_or_else(|e| panic!("{label}: {e}"));
    // d1's side of the same adjacency never left Full either (one INFO line per change).
    assert!(
        !director.log_text()[log_at_switch..].contains("from=Full"),
        "{label}: d1 saw its neighbor leave Full; log: {}",
        director.log_path().display()
    );
    println!("{label}: router switched from key {before} to key {after}; d1 stayed Full");
}

#[test]
fn bird_stub_area_hmac_sha256_rollover_metric_passive() {
    require_root!();
    require_programs!("bird", "birdc", "tshark");
    scenario(Kind::Bird);
}

#[test]
fn frr_stub_area_md5_rollover_metric_passive() {
    require_root!();
    require_programs!("/usr/lib/frr/ospfd", "vtysh", "tshark");
    scenario(Kind::Frr);
}
