//! A health-check lab: a BIRD router, two `directord`s (nftables dataplane, DR) announcing a
//! VIP over OSPF, three real servers whose TCP service can be stopped and started without
//! removing the host, and a client behind the router.
//!
//! ```text
//!  client 10.99.5.x ── r1 (BIRD, 10.99.0.1) ── switch ── d1 10.99.0.11  (directord)
//!                                                  ├── d2 10.99.0.12  (directord)
//!                                                  ├── b1 10.99.0.21  (VIP on lo, service :80)
//!                                                  ├── b2 10.99.0.22
//!                                                  └── b3 10.99.0.23
//! ```
//!
//! Direct routing: r1 sends a VIP packet to d1 or d2 (ECMP, deterministic 5-tuple hash),
//! the director's netdev ingress rule forwards it unchanged to the real server that the
//! Maglev table names, and the real server (VIP on `lo`, no ARP for it) answers the client
//! through r1. Both directors hash a source address to the same real server, so which
//! director carries a connection does not change which server answers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::netns::{veth, NetNs};
use super::ospf::{director_addr, host, BroadcastLab, Router, RouterKind, FAST};
use super::peers::{all_full, route_nexthops, OspfIface};
use super::process::Daemon;
use super::wait::wait_until;
use super::TestDir;

pub const VIP: Ipv4Addr = super::ospf::VIP_A;
/// The VIP of the virtual server a reload adds.
pub const VIP2: Ipv4Addr = super::ospf::VIP_B;
pub const PORT: u16 = 80;
pub const CLIENT_GW: Ipv4Addr = Ipv4Addr::new(10, 99, 5, 1);
const DIRECTORCTL: &str = env!("CARGO_BIN_EXE_directorctl");
/// The system's Python rather than the first `python3` on PATH: a pyenv shim is a bash
/// script, which costs seconds a start under the IPVS VM's emulation.
const PYTHON: &str = "/usr/bin/python3";

/// Returns whether the lab can run. When it cannot (not root, a program missing), it says
/// so loudly; under `CI` it fails the test instead, so a CI run never passes by skipping.
pub fn lab_can_run(test: &str, programs: &[&str]) -> bool {
    let reason = if !super::is_root() {
        Some("needs root (network namespaces, raw sockets); run the tests as root".to_string())
    } else {
        super::first_missing_program(programs)
            .map(|p| format!("needs `{p}` (apt-get install bird2 nftables python3)"))
    };
    match reason {
        None => true,
        Some(reason) => {
            super::skip(test, &reason);
            false
        }
    }
}

pub fn real_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 99, 0, 21 + i as u8)
}

pub fn real_name(i: usize) -> String {
    format!("b{}", i + 1)
}

/// `10.99.0.21:80`, as `directorctl services` names a real server.
pub fn real_key(i: usize) -> String {
    format!("{}:{PORT}", real_addr(i))
}

/// Client source addresses: one connection from each, so Maglev (keyed on the source
/// address) spreads them over the real servers.
pub fn client_sources() -> Vec<Ipv4Addr> {
    (10..34).map(|n| Ipv4Addr::new(10, 99, 5, n)).collect()
}

/// What the userspace Maglev table (the daemon's size, weight 1 for the servers in `up`, 0
/// for the others) and the kernel's jhash of the source address predict for each client
/// source: the name of the real server that must answer it.
pub fn predicted_flows(up: &[usize]) -> BTreeMap<Ipv4Addr, String> {
    use director::dataplane::maglev::{table_size_for, Backend, Table};
    use director::dataplane::nftables::render::source_slot;
    use director::dataplane::tables::DestKey;
    let backends: Vec<Backend> = (0..3)
        .map(|i| Backend {
            name: DestKey {
                addr: real_addr(i).into(),
                port: PORT,
            }
            .to_string(),
            weight: u32::from(up.contains(&i)),
        })
        .collect();
    // The daemon's automatic size for a service of three real servers.
    let size = table_size_for(3);
    let table = Table::build(&backends, size).unwrap_or_else(|e| panic!("{e}"));
    client_sources()
        .into_iter()
        .map(|src| {
            let slot = source_slot(&src.into(), size) as usize;
            let name = table.slots()[slot].map_or("none".to_string(), |b| real_name(b as usize));
            (src, name)
        })
        .collect()
}

/// The real servers' service: greets a connection with the server's name, then answers
/// each line `L` with `name L` (so a held connection proves data both ways).
const ECHO_SERVER: &str = r#"
import socketserver, sys
name = sys.argv[2].encode()
class H(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(name + b"\n")
        for line in self.rfile:
            self.wfile.write(name + b" " + line)
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
socketserver.ThreadingTCPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
"#;

/// One connection per source: prints `src name` (or `src err:Kind`).
const MAP_CLIENT: &str = r#"
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
for src in sys.argv[3].split(","):
    try:
        s = socket.socket(); s.settimeout(3); s.bind((src, 0)); s.connect((host, port))
        print(src, s.makefile("rb").readline().decode().strip() or "empty"); s.close()
    except Exception as e:
        print(src, "err:" + type(e).__name__)
"#;

/// Holds one connection: prints the greeting, then sends each stdin line and prints the
/// answer (or `err:Kind`), flushing after each line.
const HOLD_CLIENT: &str = r#"
import socket, sys
try:
    s = socket.socket(); s.settimeout(10); s.bind((sys.argv[3], 0)); s.connect((sys.argv[1], int(sys.argv[2])))
    f = s.makefile("rwb")
    print(f.readline().decode().strip(), flush=True)
    for line in sys.stdin:
        f.write(line.encode()); f.flush()
        print(f.readline().decode().strip() or "eof", flush=True)
except Exception as e:
    print("err:" + type(e).__name__, flush=True)
"#;

/// The directors' configuration: OSPF on eth0 (hello 1 / dead 4), nftables, and one DR
/// virtual server with the three real servers per VIP, each checked with TCP_CHECK.
pub fn director_config(
    name: &str,
    router_id: Ipv4Addr,
    socket: &Path,
    vips: &[Ipv4Addr],
    dataplane: &str,
) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "global_defs {{\n    router_id {name}\n}}\n");
    let _ = writeln!(
        c,
        "director {{\n    mode active-active\n    dataplane {dataplane}\n    control_socket {}\n}}\n",
        socket.display()
    );
    let _ = writeln!(
        c,
        "ospf {{\n    router_id {router_id}\n    area 0 {{\n        interface eth0 {{\n            \
         network_type broadcast\n            hello_interval {}\n            dead_interval {}\n            \
         priority 1\n        }}\n    }}\n}}\n",
        FAST.hello, FAST.dead
    );
    c.push_str(&dr_virtual_servers(vips, "mh"));
    c
}

/// One DR virtual server per VIP with `lb_algo` `algo` and the three real servers, each
/// checked with TCP_CHECK every second: the services of the directors here and of the
/// keepalived + LVS reference lab (tests/common/lvs_lab.rs).
pub fn dr_virtual_servers(vips: &[Ipv4Addr], algo: &str) -> String {
    let mut c = String::new();
    for vip in vips {
        let _ = writeln!(
            c,
            "virtual_server {vip} {PORT} {{\n    delay_loop 1\n    lb_algo {algo}\n    lb_kind DR\n    protocol TCP"
        );
        for i in 0..3 {
            let _ = writeln!(
                c,
                "    real_server {} {PORT} {{\n        weight 1\n        TCP_CHECK {{\n            \
                 connect_timeout 1\n            retry 0\n            delay_before_retry 1\n        }}\n    }}",
                real_addr(i)
            );
        }
        let _ = writeln!(c, "}}\n");
    }
    c
}

/// `directorctl -s SOCK --json ARGS…` → the parsed answer, or the error text. An answer
/// comes with exit status 0 or 1 (1: what was asked about is not healthy); an error has no
/// answer on stdout.
pub fn ctl(socket: &Path, args: &[&str]) -> Result<serde_json::Value, String> {
    let out = Command::new(DIRECTORCTL)
        .arg("-s")
        .arg(socket)
        .arg("--json")
        .args(args)
        .output()
        .map_err(|e| format!("directorctl: {e}"))?;
    if out.stdout.is_empty() {
        return Err(format!(
            "directorctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("directorctl output: {e}"))
}

/// What one director says about one real server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Real {
    pub weight: u32,
    pub up: bool,
}

/// Real server → (weight, up) of the service `vip:80` on the director behind `socket`.
pub fn reals(socket: &Path, vip: Ipv4Addr) -> Result<BTreeMap<String, Real>, String> {
    let view = ctl(socket, &["services"])?;
    let want = format!("{vip}:{PORT}");
    let svc = view["services"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["address"].as_str() == Some(want.as_str()))
        .ok_or_else(|| format!("no service {want} in {view}"))?;
    let mut out = BTreeMap::new();
    for r in svc["reals"].as_array().into_iter().flatten() {
        let addr = r["address"].as_str().unwrap_or("?").to_string();
        let weight = r["weight"].as_u64().unwrap_or(u64::MAX) as u32;
        let up = r["health"]["up"].as_bool().unwrap_or(false);
        out.insert(addr, Real { weight, up });
    }
    Ok(out)
}

/// The expected reals view: weight 1 and up for the real servers in `up`, weight 0 and down
/// for the others.
pub fn expected_reals(up: &[usize]) -> BTreeMap<String, Real> {
    (0..3)
        .map(|i| {
            let alive = up.contains(&i);
            (
                real_key(i),
                Real {
                    weight: u32::from(alive),
                    up: alive,
                },
            )
        })
        .collect()
}

/// The state (`announced`, `pending`, `withdrawn`) `directorctl status` gives `vip`.
pub fn vip_state(socket: &Path, vip: Ipv4Addr) -> Result<String, String> {
    let status = ctl(socket, &["status"])?;
    status["vips"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["address"].as_str() == Some(vip.to_string().as_str()))
        .and_then(|v| v["state"].as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("no VIP {vip} in status {status}"))
}

/// (succeeded, failed, last_errors) from `directorctl status`.
pub fn reload_counters(socket: &Path) -> Result<(u64, u64, Vec<String>), String> {
    let status = ctl(socket, &["status"])?;
    let r = &status["reloads"];
    let errors = r["last_errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect();
    Ok((
        r["succeeded"].as_u64().unwrap_or(0),
        r["failed"].as_u64().unwrap_or(0),
        errors,
    ))
}

/// `nft list table netdev director` with the counters blanked: the DR rules and the Maglev
/// map elements, comparable across directors and over time.
pub fn nft_tables(ns: &NetNs) -> String {
    let out = ns.exec(&["nft", "list", "table", "netdev", "director"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words: Vec<&str> = text.split_whitespace().collect();
    for i in 1..words.len() {
        if words[i - 1] == "packets" || words[i - 1] == "bytes" {
            words[i] = "_";
        }
    }
    words.join(" ")
}

/// Sum of the packet counters of our DR rules in `ns`: which directors carried traffic.
pub fn nft_packets(ns: &NetNs) -> u64 {
    let out = ns.exec(&["nft", "list", "table", "netdev", "director"]);
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "packets")
        .filter_map(|w| w[1].parse::<u64>().ok())
        .sum()
}

/// One directord in the lab.
pub struct Director {
    pub name: String,
    pub addr: Ipv4Addr,
    pub socket: PathBuf,
    pub conf: PathBuf,
    pub daemon: Daemon,
    /// `nftables` or `ipvs`.
    pub dataplane: &'static str,
}

impl Director {
    /// Writes a new configuration file (not yet reloaded).
    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.conf, text)
            .unwrap_or_else(|e| panic!("write {}: {e}", self.conf.display()));
    }

    pub fn config_for(&self, vips: &[Ipv4Addr]) -> String {
        director_config(&self.name, self.addr, &self.socket, vips, self.dataplane)
    }

    pub fn assert_alive(&self) {
        assert!(
            self.daemon.alive(),
            "{} exited unexpectedly; log: {}",
            self.name,
            self.daemon.log_path().display()
        );
    }
}

/// The whole lab. Fields drop in declaration order: processes first, then namespaces, then
/// the directory with the logs.
pub struct HealthLab {
    pub servers: Vec<Daemon>,
    pub directors: Vec<Director>,
    pub router: Router,
    pub client: NetNs,
    pub reals: Vec<NetNs>,
    pub net: BroadcastLab,
    pub dir: TestDir,
}

impl HealthLab {
    pub fn new() -> HealthLab {
        HealthLab::with_dataplane("nftables")
    }

    /// The lab with directors on `dataplane` (`nftables`, or `ipvs` in the IPVS VM, whose
    /// kernel must have `fib_multipath_hash_seed`: `IPVSVM_KERNEL=backports`).
    pub fn with_dataplane(dataplane: &'static str) -> HealthLab {
        let dir = TestDir::new("hl");
        let net = BroadcastLab::new(2);
        let r1 = &net.r1;
        r1.enable_forwarding();
        r1.deterministic_multipath_hash(7);
        let client = client_behind(r1);
        let (reals, servers) = dr_real_servers(&net, &dir);
        // The router first, so it is DR when the directors join (faster Full).
        let iface = OspfIface::broadcast("eth0", FAST.hello, FAST.dead);
        let router = Router::start(RouterKind::Bird, r1, &dir, vec![iface]);
        wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
            router.is_dr("eth0")
        })
        .expect("router DR on eth0");
        let mut lab = HealthLab {
            servers,
            directors: Vec::new(),
            router,
            client,
            reals,
            net,
            dir,
        };
        for n in 0..2 {
            let name = format!("d{}", n + 1);
            let addr = director_addr(n);
            let socket = lab.dir.subdir(&name).join("directord.sock");
            let text = director_config(&name, addr, &socket, &[VIP], dataplane);
            let daemon = super::directord(&lab.net.directors[n], &lab.dir, &name, &text);
            let conf = lab.dir.path().join(&name).join("directord.conf");
            lab.directors.push(Director {
                name,
                addr,
                socket,
                conf,
                daemon,
                dataplane,
            });
        }
        lab
    }

    pub fn director_addrs(&self) -> Vec<Ipv4Addr> {
        self.directors.iter().map(|d| d.addr).collect()
    }

    pub fn assert_alive(&self) {
        self.directors.iter().for_each(Director::assert_alive);
    }

    /// `Ok` when the router has both directors Full.
    pub fn both_full(&self) -> Result<(), String> {
        all_full(self.router.neighbors()?, &self.director_addrs()).map(|_| ())
    }

    /// `Ok` when the router's route for `vip` goes through exactly `want`.
    pub fn route_is(&self, vip: Ipv4Addr, want: &[Ipv4Addr]) -> Result<Vec<Ipv4Addr>, String> {
        let hops = route_nexthops(&self.net.r1, &host(vip))?;
        let mut want = want.to_vec();
        want.sort();
        if hops == want {
            Ok(hops)
        } else {
            Err(format!("route {vip}/32 at r1 via {hops:?}, want {want:?}"))
        }
    }

    /// `Ok` when both directors show exactly `want` for the service on `vip`.
    pub fn reals_are(&self, vip: Ipv4Addr, want: &BTreeMap<String, Real>) -> Result<(), String> {
        for d in &self.directors {
            let got = reals(&d.socket, vip)?;
            if &got != want {
                return Err(format!("{}: reals {got:?}, want {want:?}", d.name));
            }
        }
        Ok(())
    }

    /// `Ok` when both directors give `vip` the state `want`.
    pub fn vip_states_are(&self, vip: Ipv4Addr, want: &str) -> Result<(), String> {
        for d in &self.directors {
            let state = vip_state(&d.socket, vip)?;
            if state != want {
                return Err(format!("{}: VIP {vip} is {state}, want {want}", d.name));
            }
        }
        Ok(())
    }

    /// `Ok` when both directors' nftables DR tables are identical (counters aside) and not
    /// empty.
    pub fn nft_identical(&self) -> Result<String, String> {
        let a = nft_tables(&self.net.directors[0]);
        let b = nft_tables(&self.net.directors[1]);
        if a.is_empty() || !a.contains("map ") {
            return Err(format!("d1 has no DR table: {a:.200}"));
        }
        if a == b {
            Ok(a)
        } else {
            Err(format!(
                "nft tables differ: d1 {} chars, d2 {} chars",
                a.len(),
                b.len()
            ))
        }
    }

    /// One connection from each client source to `vip`: source → the name of the real
    /// server that answered (or `err:…`).
    pub fn flows(&self, vip: Ipv4Addr) -> BTreeMap<Ipv4Addr, String> {
        let script = self.dir.path().join("map_client.py");
        let sources: Vec<String> = client_sources().iter().map(|s| s.to_string()).collect();
        let out = self.client.exec_ok(&[
            PYTHON,
            &script.to_string_lossy(),
            &vip.to_string(),
            &PORT.to_string(),
            &sources.join(","),
        ]);
        out.lines()
            .filter_map(|l| l.split_once(' '))
            .filter_map(|(a, b)| Some((a.parse().ok()?, b.to_owned())))
            .collect()
    }

    /// Stops real server `i`'s service (the host stays).
    pub fn stop_service(&mut self, i: usize) {
        self.servers[i].stop();
    }

    /// Starts real server `i`'s service again.
    pub fn start_service(&mut self, i: usize) {
        self.servers[i].restart();
    }

    /// Opens a long-lived connection from `src` to `vip` through the lab.
    pub fn hold_connection(&self, vip: Ipv4Addr, src: Ipv4Addr) -> HeldConnection {
        hold_connection(&self.client, &self.dir, vip, src)
    }
}

/// The client namespace behind `r1` (its `eth1`, [`CLIENT_GW`]), holding every address of
/// [`client_sources`], with `r1` as its default route.
pub fn client_behind(r1: &NetNs) -> NetNs {
    let client = NetNs::new("hlc");
    veth(&client, "eth0", r1, "eth1");
    r1.add_addr("eth1", &format!("{CLIENT_GW}/24"));
    for src in client_sources() {
        client.add_addr("eth0", &format!("{src}/24"));
    }
    client.ip(&["route", "add", "default", "via", &CLIENT_GW.to_string()]);
    client
}

/// Real servers b1..b3 on the directors' segment of `net`, serving [`VIP`] and [`VIP2`]:
/// DR, so the VIPs on lo and no ARP for them; they answer the client through the router.
/// Also writes the lab's client scripts into `dir`.
pub fn dr_real_servers(net: &BroadcastLab, dir: &TestDir) -> (Vec<NetNs>, Vec<Daemon>) {
    let server_py = dir.write("echo_server.py", ECHO_SERVER);
    dir.write("map_client.py", MAP_CLIENT);
    dir.write("hold_client.py", HOLD_CLIENT);
    let mut reals = Vec::new();
    let mut servers = Vec::new();
    for i in 0..3 {
        let ns = NetNs::new(&format!("hl{}", real_name(i)));
        net.sw.attach(&ns, "eth0");
        ns.add_addr("eth0", &format!("{}/24", real_addr(i)));
        ns.ip(&["route", "add", "default", "via", "10.99.0.1"]);
        servers.push(start_dr_real_server(
            &ns,
            &[VIP, VIP2],
            dir.path(),
            &server_py,
            &real_name(i),
        ));
        reals.push(ns);
    }
    (reals, servers)
}

/// Opens a long-lived connection from `src` (an address of `client`) to `vip`, through the
/// client script [`dr_real_servers`] wrote into `dir`.
pub fn hold_connection(
    client: &NetNs,
    dir: &TestDir,
    vip: Ipv4Addr,
    src: Ipv4Addr,
) -> HeldConnection {
    let script = dir.path().join("hold_client.py");
    let mut child = Command::new("ip")
        .args(["netns", "exec", client.name(), PYTHON])
        .arg(&script)
        .args([vip.to_string(), PORT.to_string(), src.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("hold client: {e}"));
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = stdout {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    HeldConnection {
        child,
        stdin,
        lines: rx,
    }
}

impl Default for HealthLab {
    fn default() -> Self {
        HealthLab::new()
    }
}

/// A client process holding one TCP connection, driven line by line.
pub struct HeldConnection {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl HeldConnection {
    /// The next line the client printed (the greeting, an answer or an error).
    pub fn next_line(&self, timeout: Duration) -> Result<String, String> {
        self.lines
            .recv_timeout(timeout)
            .map_err(|e| format!("hold client printed nothing: {e}"))
    }

    /// Sends `line` over the held connection and returns the answer.
    pub fn exchange(&mut self, line: &str, timeout: Duration) -> Result<String, String> {
        let stdin = self.stdin.as_mut().ok_or("hold client stdin closed")?;
        writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("hold client stdin: {e}"))?;
        self.next_line(timeout)
    }
}

impl Drop for HeldConnection {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes `ns` an LVS-DR real server of `vips` (each on `lo` as /32, no ARP answered for
/// them, no reverse-path filter against the router's asymmetric path) and starts the lab's
/// Python server `server_py` in it on [`PORT`], answering with `name`.
pub fn start_dr_real_server(
    ns: &NetNs,
    vips: &[Ipv4Addr],
    dir: &Path,
    server_py: &Path,
    name: &str,
) -> Daemon {
    for &vip in vips {
        ns.add_addr("lo", &host(vip));
    }
    ns.sysctl("net.ipv4.conf.all.arp_ignore", "1");
    ns.sysctl("net.ipv4.conf.all.arp_announce", "2");
    ns.sysctl("net.ipv4.conf.all.rp_filter", "0");
    Daemon::spawn(
        ns,
        name,
        dir,
        &[
            PYTHON,
            &server_py.to_string_lossy(),
            &PORT.to_string(),
            name,
        ],
    )
}
