//! nftables backend in network namespaces: a client, a director and three real servers on a
//! switch. Traffic must reach the real server that the Maglev table and the kernel's jhash
//! predict (NAT and DR), a drained server keeps its established connections, and a reload
//! that changes one service leaves every other mapping untouched.
//!
//! ```text
//!  client (10.99.3.2-9) ── eth0 | director (VIP 10.99.100.1 on lo) | eth1 ── switch ── b1 10.99.1.11
//!                                                                          ├── b2 10.99.1.12
//!                                                                          └── b3 10.99.1.13
//! ```
//!
//! The backend runs `nft`, so it must run inside the director's namespace: each reconcile
//! re-executes this test binary there (`ip netns exec … <self> --exact helper_reconcile`),
//! with the desired tables in a JSON file, exactly as the daemon would call it.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use common::netns::{veth, NetNs, Switch};
use common::process::Daemon;
use common::wait::wait_until;
use common::TestDir;
use director::dataplane::nftables::render::source_slot;
use director::dataplane::tables::{
    DesiredTables, DestKey, DestSpec, FlowHash, Forward, Protocol, Service, ServiceKey, ServiceSpec,
};
use director::dataplane::{Dataplane, OpenOptions};

const VIP: &str = "10.99.100.1";
const SIZE: u32 = 4093;
const SOURCES: [&str; 8] = [
    "10.99.3.2",
    "10.99.3.3",
    "10.99.3.4",
    "10.99.3.5",
    "10.99.3.6",
    "10.99.3.7",
    "10.99.3.8",
    "10.99.3.9",
];

/// Runs in the director's namespace when the other tests re-execute the binary.
#[test]
#[ignore = "helper: the other tests run it inside the director's namespace"]
fn helper_reconcile() {
    let (Ok(input), Ok(output)) = (
        std::env::var("DIRECTOR_NFT_HELPER_IN"),
        std::env::var("DIRECTOR_NFT_HELPER_OUT"),
    ) else {
        return;
    };
    let text = std::fs::read_to_string(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
    // Several tables in a row go through one backend, as in a running daemon (its cache).
    let steps: Vec<DesiredTables> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let mut backend = director::dataplane::nftables::NftBackend::open(&OpenOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    // Each report with the ruleset generation after it: a reconcile that sends nothing
    // leaves the generation where it was.
    let mut socket =
        director::dataplane::nftables::netlink::NfSocket::open().unwrap_or_else(|e| panic!("{e}"));
    let reports: Vec<serde_json::Value> = steps
        .iter()
        .map(|d| {
            let mut report =
                serde_json::to_value(backend.reconcile(d)).unwrap_or_else(|e| panic!("{e}"));
            let generation = socket.generation().unwrap_or_else(|e| panic!("{e}"));
            report["generation"] = serde_json::json!(generation);
            report
        })
        .collect();
    let json = serde_json::to_string(&reports).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&output, json).unwrap_or_else(|e| panic!("{output}: {e}"));
}

/// Reconciles `desired` inside `ns` with a fresh backend (a daemon start); returns the report.
fn reconcile_in(ns: &NetNs, dir: &Path, desired: &DesiredTables) -> serde_json::Value {
    let mut reports = reconcile_steps_in(ns, dir, std::slice::from_ref(desired));
    reports.pop().unwrap_or_default()
}

/// Reconciles each of `steps` in turn with one backend (a running daemon's reloads); every
/// step must succeed.
fn reconcile_steps_in(ns: &NetNs, dir: &Path, steps: &[DesiredTables]) -> Vec<serde_json::Value> {
    let reports = run_helper(ns, dir, steps);
    for r in &reports {
        assert_eq!(r["failures"], serde_json::json!([]), "{r}");
    }
    reports
}

/// The reports of reconciling each of `steps` with one backend, failures included.
fn run_helper(ns: &NetNs, dir: &Path, steps: &[DesiredTables]) -> Vec<serde_json::Value> {
    let input = dir.join("desired.json");
    let output = dir.join("report.json");
    let _ = std::fs::remove_file(&output);
    std::fs::write(&input, serde_json::to_vec(steps).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let out = ns.exec(&[
        "env",
        &format!("DIRECTOR_NFT_HELPER_IN={}", input.display()),
        &format!("DIRECTOR_NFT_HELPER_OUT={}", output.display()),
        &exe.to_string_lossy(),
        "--exact",
        "helper_reconcile",
        "--ignored",
        "--nocapture",
    ]);
    assert!(
        out.status.success(),
        "helper failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&output).unwrap_or_else(|e| panic!("report: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"))
}

const NAME_SERVER: &str = r#"
import socketserver, sys
name = sys.argv[2].encode() + b"\n"
class H(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(name)
        for _ in self.rfile:
            self.wfile.write(name)
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
socketserver.ThreadingTCPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
"#;

/// Connects from each source once; prints `src name` per line.
const CLIENT: &str = r#"
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
for src in sys.argv[3].split(","):
    try:
        s = socket.socket(); s.settimeout(3); s.bind((src, 0)); s.connect((host, port))
        print(src, s.recv(64).decode().strip() or "empty"); s.close()
    except Exception as e:
        print(src, "err:" + type(e).__name__)
"#;

/// Connects, reads the name, signals readiness, waits for "go", sends a line, reads again.
const HOLD_CLIENT: &str = r#"
import socket, sys, os, time
s = socket.socket(); s.settimeout(10); s.bind((sys.argv[3], 0)); s.connect((sys.argv[1], int(sys.argv[2])))
f = s.makefile("rwb")
first = f.readline().decode().strip()
open(sys.argv[4] + ".tmp", "w").write(first); os.rename(sys.argv[4] + ".tmp", sys.argv[4])
while not os.path.exists(sys.argv[5]): time.sleep(0.05)
f.write(b"again\n"); f.flush()
print(first, f.readline().decode().strip())
"#;

struct Lab {
    dir: TestDir,
    client: NetNs,
    director: NetNs,
    _switch: Switch,
    _reals: Vec<NetNs>,
    _servers: Vec<Daemon>,
}

fn real_addr(i: usize) -> String {
    format!("10.99.1.1{}", i + 1)
}

impl Lab {
    fn new(tag: &str, dr: bool) -> Lab {
        let dir = TestDir::new(tag);
        let client = NetNs::new(&format!("{tag}c"));
        let director = NetNs::new(&format!("{tag}d"));
        let switch = Switch::new(&format!("{tag}s"));
        veth(&client, "eth0", &director, "eth0");
        for s in SOURCES {
            client.add_addr("eth0", &format!("{s}/24"));
        }
        client.add_route(
            &format!("{VIP}/32"),
            Some(
                "10.99.3.1"
                    .parse()
                    .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
            ),
            None,
        );
        director.add_addr("eth0", "10.99.3.1/24");
        switch.attach(&director, "eth1");
        director.add_addr("eth1", "10.99.1.1/24");
        director.add_addr("lo", &format!("{VIP}/32"));
        director.enable_forwarding();
        director.sysctl("net.ipv4.conf.all.rp_filter", "0");
        if dr {
            // Only in this lab do DR replies (source: the VIP) come back through the director,
            // which holds the VIP itself: accept them instead of dropping a "martian".
            for conf in ["all", "eth1"] {
                director.sysctl(&format!("net.ipv4.conf.{conf}.accept_local"), "1");
                director.sysctl(&format!("net.ipv4.conf.{conf}.rp_filter"), "0");
            }
        }
        let server_py = dir.write("name_server.py", NAME_SERVER);
        dir.write("client.py", CLIENT);
        dir.write("hold.py", HOLD_CLIENT);
        let mut reals = Vec::new();
        let mut servers = Vec::new();
        for i in 0..3 {
            let ns = NetNs::new(&format!("{tag}b{i}"));
            switch.attach(&ns, "eth0");
            ns.add_addr("eth0", &format!("{}/24", real_addr(i)));
            ns.ip(&["route", "add", "default", "via", "10.99.1.1"]);
            if dr {
                // LVS-DR real server: the VIP on lo, never answered for in ARP.
                ns.add_addr("lo", &format!("{VIP}/32"));
                ns.sysctl("net.ipv4.conf.all.arp_ignore", "1");
                ns.sysctl("net.ipv4.conf.all.arp_announce", "2");
                ns.sysctl("net.ipv4.conf.all.rp_filter", "0");
            }
            for port in ["80", "8080"] {
                let name = format!("b{}", i + 1);
                servers.push(Daemon::spawn(
                    &ns,
                    &format!("{name}-{port}"),
                    dir.path(),
                    &["python3", &server_py.to_string_lossy(), port, &name],
                ));
            }
            reals.push(ns);
        }
        let lab = Lab {
            dir,
            client,
            director,
            _switch: switch,
            _reals: reals,
            _servers: servers,
        };
        for i in 0..3 {
            let addr = real_addr(i);
            wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
                let out = lab.director.exec(&[
                    "bash",
                    "-c",
                    &format!("exec 3<>/dev/tcp/{addr}/80 && head -1 <&3"),
                ]);
                let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                if text == format!("b{}", i + 1) {
                    Ok(())
                } else {
                    Err(format!("{addr}:80 said {text:?}"))
                }
            })
            .unwrap_or_else(|e| panic!("{e}"));
        }
        lab
    }

    /// source → server name, one connection per source.
    fn map(&self, port: u16) -> BTreeMap<String, String> {
        let script = self.dir.path().join("client.py");
        let out = self.client.exec_ok(&[
            "python3",
            &script.to_string_lossy(),
            VIP,
            &port.to_string(),
            &SOURCES.join(","),
        ]);
        out.lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect()
    }

    fn nft_map(&self, name: &str) -> String {
        self.director
            .exec_ok(&["nft", "list", "map", "inet", "director", name])
    }
}

fn service(port: u16, forward: Forward, weights: [u32; 3]) -> Service {
    Service {
        spec: ServiceSpec {
            key: ServiceKey::Addr {
                addr: VIP.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
                port,
                protocol: Protocol::Tcp,
            },
            scheduler: "mh".into(),
            flags: 0,
            timeout: 0,
            netmask: 32,
        },
        dests: (0..3)
            .map(|i| DestSpec {
                key: DestKey {
                    addr: real_addr(i).parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
                    port,
                },
                forward,
                weight: weights[i],
                upper_threshold: 0,
                lower_threshold: 0,
            })
            .collect(),
        flow_hash: FlowHash::SourceAddr,
        maglev_size: SIZE,
    }
}

fn tables(services: Vec<Service>) -> DesiredTables {
    let mut t = DesiredTables {
        services,
        ..Default::default()
    };
    t.canonicalize();
    t
}

/// What the Maglev table plus the kernel's jhash say each source must reach.
fn predicted(svc: &Service) -> BTreeMap<String, String> {
    let backends: Vec<director::dataplane::maglev::Backend> = svc
        .dests
        .iter()
        .map(|d| director::dataplane::maglev::Backend {
            name: d.key.to_string(),
            weight: d.weight,
        })
        .collect();
    let table = director::dataplane::maglev::Table::build(&backends, SIZE)
        .unwrap_or_else(|e| panic!("{e}"));
    SOURCES
        .iter()
        .map(|s| {
            let slot = source_slot(&s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])), SIZE);
            let b = table.slots()[slot as usize].unwrap_or(u32::MAX);
            (s.to_string(), format!("b{}", b + 1))
        })
        .collect()
}

fn traffic_reaches_predicted_server(tag: &str, forward: Forward) {
    require_root!();
    require_programs!("nft", "python3");
    let lab = Lab::new(tag, forward == Forward::Route);
    let svc = service(80, forward, [1, 1, 1]);
    let report = reconcile_in(&lab.director, lab.dir.path(), &tables(vec![svc.clone()]));
    assert_eq!(report["kernel_ops"], 1, "{report}");
    let want = predicted(&svc);
    let got = lab.map(80);
    assert_eq!(got, want, "traffic vs Maglev+jhash prediction");
    let distinct: std::collections::BTreeSet<&String> = got.values().collect();
    assert!(distinct.len() >= 2, "8 sources all on one server: {got:?}");
    // Idempotent: nothing to do the second time, not even an empty transaction.
    let again = reconcile_in(&lab.director, lab.dir.path(), &tables(vec![svc]));
    assert_eq!(again["kernel_ops"], 0, "{again}");
    assert_eq!(
        again["generation"], report["generation"],
        "nothing was committed"
    );
    // Readable for operators: nft shows the map's typeof and the rule's comment.
    let (family, typeof_clause) = match forward {
        Forward::Route => ("netdev", "typeof numgen inc mod 2 : ip daddr\n"),
        _ => ("inet", "typeof numgen inc mod 2 : ip daddr . tcp dport"),
    };
    let listing = lab
        .director
        .exec_ok(&["nft", "list", "table", family, "director"]);
    assert!(listing.contains(typeof_clause), "{listing}");
    assert!(
        listing.contains(&format!("comment \"director tcp {VIP}:80 #")),
        "{listing}"
    );
}

/// A transaction the kernel refuses changes nothing, and the report names the refused
/// object and errno: here someone made our `prerouting` a filter chain, where `dnat` is
/// not allowed.
#[test]
fn nft_rejected_transaction_names_the_object() {
    require_root!();
    require_programs!("nft");
    let dir = TestDir::new("nftrej");
    let ns = NetNs::new("nftrej");
    ns.exec_ok(&[
        "nft",
        "add table inet director; add chain inet director prerouting { type filter hook prerouting priority 0; }",
    ]);
    let reports = run_helper(
        &ns,
        dir.path(),
        &[tables(vec![service(80, Forward::Masq, [1, 1, 1])])],
    );
    let report = &reports[0];
    // The whole batch, then the service alone: both refused.
    assert_eq!(report["kernel_ops"], 2, "{report}");
    assert_eq!(report["objects_changed"], 0, "{report}");
    let failures = report["failures"].as_array().cloned().unwrap_or_default();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0]["object"], format!("tcp {VIP}:80"), "{report}");
    assert_eq!(failures[0]["errno"], libc::EOPNOTSUPP, "{report}");
    let message = failures[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("in chain prerouting"), "{message}");
    // Nothing of the refused batch is in the kernel: no map was created.
    let maps = ns.exec_ok(&["nft", "list", "maps", "inet"]);
    assert!(!maps.contains("map m"), "{maps}");
}

/// A frame addressed to another host's MAC (flooded unknown unicast) is not forwarded by
/// the DR ingress rule, as IPVS would not see it: two directors never both forward it.
#[test]
fn nft_dr_ignores_frames_for_another_mac() {
    require_root!();
    require_programs!("nft", "python3");
    let lab = Lab::new("nftmac", true);
    let svc = service(80, Forward::Route, [1, 1, 1]);
    reconcile_in(&lab.director, lab.dir.path(), &tables(vec![svc.clone()]));
    let source = SOURCES[0];
    let predicted_server = predicted(&svc).get(source).cloned().unwrap_or_default();
    let one = |lab: &Lab| -> String {
        let script = lab.dir.path().join("client.py");
        lab.client
            .exec_ok(&["python3", &script.to_string_lossy(), VIP, "80", source])
            .trim()
            .to_owned()
    };
    assert_eq!(one(&lab), format!("{source} {predicted_server}"));
    let packets = |lab: &Lab| -> u64 {
        let text = lab
            .director
            .exec_ok(&["nft", "list", "table", "netdev", "director"]);
        text.split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[0] == "packets")
            .filter_map(|w| w[1].parse::<u64>().ok())
            .sum()
    };
    let before = packets(&lab);
    // The client now sends to a MAC that is not the director's: the director's interface
    // still receives the frames (a point-to-point veth, like a flooding switch port).
    lab.client.ip(&[
        "neigh",
        "replace",
        "10.99.3.1",
        "lladdr",
        "02:00:00:00:99:99",
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);
    let answer = one(&lab);
    assert!(
        answer.starts_with(&format!("{source} err:")),
        "no answer expected: {answer}"
    );
    assert_eq!(
        packets(&lab),
        before,
        "no frame for another MAC was forwarded"
    );
}

#[test]
fn nft_nat_traffic_reaches_expected_real_server() {
    traffic_reaches_predicted_server("nftnat", Forward::Masq);
}

#[test]
fn nft_dr_traffic_reaches_expected_real_server() {
    traffic_reaches_predicted_server("nftdr", Forward::Route);
}

#[test]
fn nft_drain_keeps_established_flows() {
    require_root!();
    require_programs!("nft", "python3");
    let lab = Lab::new("nftdrain", false);
    let svc = service(80, Forward::Masq, [1, 1, 1]);
    reconcile_in(&lab.director, lab.dir.path(), &tables(vec![svc.clone()]));
    let before = lab.map(80);
    let (src, victim) = before
        .iter()
        .next()
        .map(|(a, b)| (a.clone(), b.clone()))
        .unwrap_or_default();
    let ready = lab.dir.path().join("ready");
    let go = lab.dir.path().join("go");
    let hold = lab.dir.path().join("hold.py");
    let holder = std::process::Command::new("ip")
        .args(["netns", "exec", lab.client.name(), "python3"])
        .arg(&hold)
        .args([VIP, "80", &src])
        .arg(&ready)
        .arg(&go)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let first = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        std::fs::read_to_string(&ready).map_err(|e| e.to_string())
    })
    .unwrap_or_else(|e| panic!("{e}"))
    .value;
    assert_eq!(first, victim);
    // Drain the server that holds the connection.
    let idx: usize = victim.trim_start_matches('b').parse::<usize>().unwrap_or(1) - 1;
    let mut weights = [1, 1, 1];
    weights[idx] = 0;
    let report = reconcile_in(
        &lab.director,
        lab.dir.path(),
        &tables(vec![service(80, Forward::Masq, weights)]),
    );
    assert_eq!(report["kernel_ops"], 1, "one transaction: {report}");
    // New connections avoid it…
    let after = lab.map(80);
    assert!(after.values().all(|n| *n != victim), "{after:?}");
    // …sources that were not on it keep their server (Maglev moves only the drained share)…
    for (s, n) in &before {
        if *n != victim {
            assert_eq!(after.get(s), Some(n), "source {s} moved");
        }
    }
    // …and the established connection still talks to it.
    std::fs::write(&go, b"go").unwrap_or_else(|e| panic!("{e}"));
    let out = holder.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{victim} {victim}")
    );
}

#[test]
fn nft_reload_changes_no_unrelated_mapping() {
    require_root!();
    require_programs!("nft", "python3");
    let lab = Lab::new("nftreload", false);
    let web = service(80, Forward::Masq, [1, 1, 1]);
    let alt = service(8080, Forward::Masq, [1, 1, 1]);
    // Someone else's table, with a rule: never touched.
    let foreign = "add table ip operator; add chain ip operator input { type filter hook input priority 0; policy accept; }; add rule ip operator input tcp dport 22 counter accept";
    lab.director.exec_ok(&["nft", foreign]);
    let foreign_before = lab
        .director
        .exec_ok(&["nft", "list", "table", "ip", "operator"]);
    reconcile_in(
        &lab.director,
        lab.dir.path(),
        &tables(vec![web.clone(), alt.clone()]),
    );
    // Rules with their handles, counters blanked (traffic changes them).
    let rules = |lab: &Lab| {
        let text = lab.director.exec_ok(&[
            "nft",
            "-a",
            "list",
            "chain",
            "inet",
            "director",
            "prerouting",
        ]);
        let mut words: Vec<&str> = text.split_whitespace().collect();
        for i in 1..words.len() {
            if words[i - 1] == "packets" || words[i - 1] == "bytes" {
                words[i] = "_";
            }
        }
        words.join(" ")
    };
    let maps_before: Vec<String> = lab
        .director
        .exec_ok(&["nft", "list", "maps", "inet"])
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("map ")
                .map(|m| m.trim_end_matches(" {").to_owned())
        })
        .collect();
    assert_eq!(maps_before.len(), 2);
    let contents_before: Vec<String> = maps_before.iter().map(|m| lab.nft_map(m)).collect();
    let rules_before = rules(&lab);
    let web_before = lab.map(80);
    // Restart over our own tables, then a reload where one weight changes in the 8080
    // service only (one running backend: the second step uses its cache).
    let alt2 = service(8080, Forward::Masq, [1, 3, 1]);
    let reports = reconcile_steps_in(
        &lab.director,
        lab.dir.path(),
        &[
            tables(vec![web.clone(), alt.clone()]),
            tables(vec![web.clone(), alt2]),
        ],
    );
    assert_eq!(
        reports[0]["kernel_ops"], 0,
        "restart adopts, changes nothing: {}",
        reports[0]
    );
    assert_eq!(
        reports[1]["kernel_ops"], 1,
        "one transaction: {}",
        reports[1]
    );
    assert_eq!(
        reports[1]["objects_changed"], reports[1]["ops_planned"],
        "{}",
        reports[1]
    );
    let contents_after: Vec<String> = maps_before.iter().map(|m| lab.nft_map(m)).collect();
    let changed: Vec<bool> = contents_before
        .iter()
        .zip(&contents_after)
        .map(|(a, b)| a != b)
        .collect();
    assert_eq!(
        changed.iter().filter(|c| **c).count(),
        1,
        "exactly one map changed"
    );
    assert_eq!(
        rules(&lab),
        rules_before,
        "rules (and their handles) untouched"
    );
    assert_eq!(lab.map(80), web_before, "port 80 mapping unchanged");
    // Removing every service removes our tables, and only ours.
    let report = reconcile_in(&lab.director, lab.dir.path(), &tables(vec![]));
    assert_eq!(report["kernel_ops"], 1, "{report}");
    let tables_left = lab.director.exec_ok(&["nft", "list", "tables"]);
    assert!(!tables_left.contains("director"), "{tables_left}");
    let foreign_after = lab
        .director
        .exec_ok(&["nft", "list", "table", "ip", "operator"]);
    let strip = |t: &str| t.split("counter").next().unwrap_or_default().to_owned();
    assert_eq!(strip(&foreign_after), strip(&foreign_before));
    assert!(foreign_after.contains("tcp dport 22"));
}

/// The point of it all: two directors with the same tables, a client flow that ECMP (here:
/// a route change) moves from one to the other mid-connection keeps its real server. DR is
/// stateless, so the second director forwards the established flow on its own.
#[test]
fn nft_dr_flow_survives_moving_to_another_director() {
    require_root!();
    require_programs!("nft", "python3");
    let dir = TestDir::new("nftmove");
    let client = NetNs::new("nftmovec");
    let front = Switch::new("nftmovef");
    let back = Switch::new("nftmoveb");
    let directors = [NetNs::new("nftmovea"), NetNs::new("nftmoveb")];
    front.attach(&client, "eth0");
    for s in SOURCES {
        client.add_addr("eth0", &format!("{s}/24"));
    }
    for (i, d) in directors.iter().enumerate() {
        front.attach(d, "eth0");
        back.attach(d, "eth1");
        d.add_addr("eth0", &format!("10.99.3.{}/24", 250 + i));
        d.add_addr("eth1", &format!("10.99.1.{}/24", 1 + i));
        d.add_addr("lo", &format!("{VIP}/32"));
        d.enable_forwarding();
        for conf in ["all", "eth1"] {
            d.sysctl(&format!("net.ipv4.conf.{conf}.accept_local"), "1");
            d.sysctl(&format!("net.ipv4.conf.{conf}.rp_filter"), "0");
        }
    }
    let via = |i: usize| format!("10.99.3.{}", 250 + i);
    client.ip(&["route", "add", &format!("{VIP}/32"), "via", &via(0)]);
    let server_py = dir.write("name_server.py", NAME_SERVER);
    let hold = dir.write("hold.py", HOLD_CLIENT);
    let mut reals = Vec::new();
    let mut servers = Vec::new();
    for i in 0..3 {
        let ns = NetNs::new(&format!("nftmover{i}"));
        back.attach(&ns, "eth0");
        ns.add_addr("eth0", &format!("{}/24", real_addr(i)));
        ns.ip(&["route", "add", "default", "via", "10.99.1.1"]);
        ns.add_addr("lo", &format!("{VIP}/32"));
        ns.sysctl("net.ipv4.conf.all.arp_ignore", "1");
        ns.sysctl("net.ipv4.conf.all.arp_announce", "2");
        let name = format!("b{}", i + 1);
        servers.push(Daemon::spawn(
            &ns,
            &name,
            dir.path(),
            &["python3", &server_py.to_string_lossy(), "80", &name],
        ));
        reals.push(ns);
    }
    for i in 0..3 {
        let addr = real_addr(i);
        wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
            let out = directors[0].exec(&[
                "bash",
                "-c",
                &format!("exec 3<>/dev/tcp/{addr}/80 && head -1 <&3"),
            ]);
            let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if text.starts_with('b') {
                Ok(())
            } else {
                Err(format!("{addr}:80 said {text:?}"))
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }
    // Same desired state on both directors, computed and applied independently.
    let svc = service(80, Forward::Route, [1, 1, 1]);
    for d in &directors {
        let sub = dir.subdir(d.name());
        reconcile_in(d, &sub, &tables(vec![svc.clone()]));
    }
    let listing = |d: &NetNs| {
        let text = d.exec_ok(&["nft", "list", "table", "netdev", "director"]);
        let mut words: Vec<&str> = text.split_whitespace().collect();
        for i in 1..words.len() {
            if words[i - 1] == "packets" || words[i - 1] == "bytes" {
                words[i] = "_";
            }
        }
        words.join(" ")
    };
    assert_eq!(
        listing(&directors[0]),
        listing(&directors[1]),
        "identical tables"
    );
    // A connection through director A…
    let src = SOURCES[3];
    let ready = dir.path().join("ready");
    let go = dir.path().join("go");
    let holder = std::process::Command::new("ip")
        .args(["netns", "exec", client.name(), "python3"])
        .arg(&hold)
        .args([VIP, "80", src])
        .arg(&ready)
        .arg(&go)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let first = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        std::fs::read_to_string(&ready).map_err(|e| e.to_string())
    })
    .unwrap_or_else(|e| panic!("{e}"))
    .value;
    assert_eq!(Some(&first), predicted(&svc).get(src));
    // …moves to director B (as when ECMP rehashes after a director change)…
    client.ip(&["route", "replace", &format!("{VIP}/32"), "via", &via(1)]);
    let packets_b = |d: &NetNs| -> u64 {
        let text = d.exec_ok(&["nft", "list", "table", "netdev", "director"]);
        text.split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[0] == "packets")
            .filter_map(|w| w[1].parse::<u64>().ok())
            .sum()
    };
    let before_b = packets_b(&directors[1]);
    std::fs::write(&go, b"go").unwrap_or_else(|e| panic!("{e}"));
    let out = holder.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    // …and carries on with the same real server.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{first} {first}")
    );
    assert!(
        packets_b(&directors[1]) > before_b,
        "the flow really went through director B"
    );
    drop(servers);
    drop(reals);
}
