//! The end-to-end lab of the scenario tables (`tests/e2e_scenarios.rs`, `tests/e2e_ipvs.rs`,
//! driven by `tests/common/e2e_table.rs`) and the chaos run (`tests/chaos.rs`): a router
//! (BIRD or FRR, OSPF with BFD), N `directord`s (DR through the [`LabDataplane`]: nftables on
//! the host, IPVS in the IPVS VM; OSPF hello 1 / dead 4, priority 0, BFD), four real servers
//! whose stream service can be stopped, and a client behind the router whose load generator
//! keeps long-lived streams with running checksums open and opens short connections besides.
//!
//! ```text
//!  client 10.99.5.x ── r1 (10.99.0.1) ── switch ── d1..dN 10.99.0.11.. (directord)
//!                                           └───── b1..b4  10.99.0.21.. (VIPs on lo, :80)
//! ```
//!
//! directord is driven as a black box: configuration files, signals, `directorctl`, and
//! the router's view (neighbors, kernel route). What a stream must do is predicted from
//! the outside too: on nftables, the userspace Maglev table of the configured real servers
//! and the kernel's source-address slot ([`predicted_servers`]); on IPVS, the kernel's own
//! `mh` answer for a fresh connection from the stream's source ([`LoadGen::fresh`]) and the
//! connection entries each director holds ([`E2eLab::conn_entries`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::health_lab::{ctl, nft_tables, reals, start_dr_real_server, Real};
use super::netns::{veth, NetNs};
use super::ospf::{director_addr, host, BroadcastLab, Router, RouterKind, FAST};
use super::peers::{all_full, route_nexthops, OspfIface};
use director::dataplane::maglev::DEFAULT_TABLE_SIZE;

use super::process::{Daemon, Signal};
use super::wait::{wait_stable, wait_until};
use super::TestDir;

pub const VIP: Ipv4Addr = super::ospf::VIP_A;
/// VIPs of the other services a reload adds and removes.
pub const OTHER_VIPS: [Ipv4Addr; 2] = [super::ospf::VIP_B, Ipv4Addr::new(10, 99, 100, 3)];
pub const PORT: u16 = 80;
/// Real servers b1..b4; the scenarios start with b1..b3 configured and add b4.
pub const REALS: usize = 4;
const CLIENT_GW: Ipv4Addr = Ipv4Addr::new(10, 99, 5, 1);
const DIRECTORCTL: &str = env!("CARGO_BIN_EXE_directorctl");
const STREAM_SERVER: &str = include_str!("e2e/stream_server.py");
const LOAD_GEN: &str = include_str!("e2e/load_gen.py");

/// Bound for OSPF convergence and route changes at the router.
pub const CONVERGE: Duration = Duration::from_secs(90);
/// Bound for health verdicts and reloads to reach every director's table.
pub const VERDICT: Duration = Duration::from_secs(30);
/// How long a route or table state must hold to count as stable (routes flap after
/// restarts: lab README).
pub const HOLD: Duration = Duration::from_secs(3);
pub const POLL: Duration = Duration::from_millis(100);
/// BFD 200 ms × 5 on the directors and the router (nftables lab): a dead director leaves
/// the route after 1 s. With 100 ms × 3 (the BFD tests' timers), scheduling stalls of a busy
/// 2-core machine (two labs rewriting 65,537-slot maps, other builds) took every session
/// down at once and emptied the route.
pub const BFD_INTERVAL_MS: u32 = 200;
pub const BFD_MULTIPLIER: u8 = 5;
/// BFD 500 ms × 6 in the IPVS VM, where QEMU under TCG runs every process several times
/// slower than the host and User-Mode Linux runs both routers' labs on one CPU: detection
/// takes 3 s instead of 1 s, still faster than OSPF's dead interval (4 s).
pub const VM_BFD_INTERVAL_MS: u32 = 500;
pub const VM_BFD_MULTIPLIER: u8 = 6;

/// The dataplane the directors program, and where the lab can run it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabDataplane {
    /// nftables DR (netdev ingress, userspace Maglev), on the host.
    Nftables,
    /// IPVS DR with the kernel's `mh` scheduler and `sloppy_tcp` (set by the daemon in
    /// active-active mode), inside the IPVS VM (`scripts/lab/ipvs-vm`).
    Ipvs,
}

impl LabDataplane {
    /// The `director { dataplane }` keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            LabDataplane::Nftables => "nftables",
            LabDataplane::Ipvs => "ipvs",
        }
    }

    /// BFD (interval in ms, multiplier) on the directors and the router.
    pub fn bfd_timers(self) -> (u32, u8) {
        match self {
            LabDataplane::Nftables => (BFD_INTERVAL_MS, BFD_MULTIPLIER),
            LabDataplane::Ipvs => (VM_BFD_INTERVAL_MS, VM_BFD_MULTIPLIER),
        }
    }
}

pub fn real_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 99, 0, 21 + i as u8)
}

pub fn real_name(i: usize) -> String {
    format!("b{}", i + 1)
}

/// Sources of the long-lived streams: one stream each, so Maglev (keyed on the source
/// address) spreads them over the real servers and ECMP over the directors.
pub fn stream_sources(n: usize) -> Vec<Ipv4Addr> {
    (0..n as u8)
        .map(|i| Ipv4Addr::new(10, 99, 5, 10 + i))
        .collect()
}

/// Sources of the short probe connections.
pub fn probe_sources() -> Vec<Ipv4Addr> {
    (0..20).map(|i| Ipv4Addr::new(10, 99, 5, 100 + i)).collect()
}

/// Which real server each source lands on when the configured real servers are
/// `configured` and those in `up` are healthy (weight 1, the others 0): the daemon's
/// Maglev table (same size, backends in canonical order) and the kernel's jhash slot of
/// the source address. None when no server is up.
pub fn predicted_servers(
    configured: &[usize],
    up: &[usize],
    sources: &[Ipv4Addr],
) -> BTreeMap<Ipv4Addr, Option<String>> {
    use director::dataplane::maglev::{Backend, Table};
    use director::dataplane::nftables::render::source_slot;
    use director::dataplane::tables::DestKey;
    let mut order: Vec<usize> = configured.to_vec();
    order.sort_by_key(|i| real_addr(*i));
    let backends: Vec<Backend> = order
        .iter()
        .map(|i| Backend {
            name: DestKey {
                addr: real_addr(*i).into(),
                port: PORT,
            }
            .to_string(),
            weight: u32::from(up.contains(i)),
        })
        .collect();
    let table = Table::build(&backends, DEFAULT_TABLE_SIZE).unwrap_or_else(|e| panic!("{e}"));
    sources
        .iter()
        .map(|src| {
            let slot = source_slot(&(*src).into(), DEFAULT_TABLE_SIZE) as usize;
            let server = table.slots()[slot].map(|b| real_name(order[b as usize]));
            (*src, server)
        })
        .collect()
}

/// What the lab runs: the router, how many directors, which real servers are in the
/// configuration, and which other services (VIPs) besides [`VIP`].
#[derive(Clone, Debug)]
pub struct Services {
    pub reals: Vec<usize>,
    pub other_vips: Vec<Ipv4Addr>,
}

/// One director's configuration: OSPF on eth0 with BFD and priority 0 (never DR, as
/// docs/router-peering.md recommends: a director that dies never takes the segment's
/// Network-LSA with it), DR through `dataplane`, one virtual server on [`VIP`] and on each
/// other VIP with the configured real servers, TCP_CHECK each.
///
/// BFD on both sides: [`LabDataplane::bfd_timers`].
pub fn director_config(
    name: &str,
    router_id: Ipv4Addr,
    socket: &Path,
    svc: &Services,
    dataplane: LabDataplane,
) -> String {
    let (bfd_interval, bfd_multiplier) = dataplane.bfd_timers();
    let mut c = String::new();
    let _ = writeln!(c, "global_defs {{\n    router_id {name}\n}}\n");
    let _ = writeln!(
        c,
        "director {{\n    mode active-active\n    dataplane {}\n    control_socket {}\n}}\n",
        dataplane.keyword(),
        socket.display()
    );
    let _ = writeln!(
        c,
        "ospf {{\n    router_id {router_id}\n    area 0 {{\n        interface eth0 {{\n            \
         network_type broadcast\n            hello_interval {}\n            dead_interval {}\n            \
         priority 0\n            bfd {{\n                min_rx {bfd_interval}\n                \
         min_tx {bfd_interval}\n                idle_tx 1000\n                \
         multiplier {bfd_multiplier}\n            }}\n        }}\n    }}\n}}\n",
        FAST.hello, FAST.dead
    );
    // nftables: the table size is pinned, as docs/dataplane.md advises for DR services:
    // adding b4 then moves only b4's share of the streams, where the automatic size would
    // cross a step (3 → 4 real servers) and move most of them.
    // IPVS: the kernel's mh table has a fixed size, but it keeps a weight-0 (failed) real
    // server's slots, so without `mh-fallback` a new connection from a source hashed to a
    // dead server fails (docs/dataplane.md, "`mh` and failed real servers").
    let scheduling = match dataplane {
        LabDataplane::Nftables => format!("\n    maglev_table_size {DEFAULT_TABLE_SIZE}"),
        LabDataplane::Ipvs => "\n    mh-fallback".to_string(),
    };
    for vip in std::iter::once(&VIP).chain(&svc.other_vips) {
        let _ = writeln!(
            c,
            "virtual_server {vip} {PORT} {{\n    delay_loop 1\n    lb_algo mh\n    lb_kind DR\n    protocol TCP{scheduling}"
        );
        for i in &svc.reals {
            let _ = writeln!(
                c,
                "    real_server {} {PORT} {{\n        weight 1\n        TCP_CHECK {{\n            \
                 connect_timeout 1\n            retry 0\n            delay_before_retry 1\n        }}\n    }}",
                real_addr(*i)
            );
        }
        let _ = writeln!(c, "}}\n");
    }
    c
}

/// `directorctl -s SOCK ARGS…` (text output) → stdout, or the error.
pub fn directorctl(socket: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(DIRECTORCTL)
        .arg("-s")
        .arg(socket)
        .args(args)
        .output()
        .map_err(|e| format!("directorctl: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "directorctl {args:?} ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// One directord in the lab.
pub struct DirectorNode {
    pub name: String,
    pub addr: Ipv4Addr,
    pub socket: PathBuf,
    pub conf: PathBuf,
    pub daemon: Daemon,
}

/// The whole lab. Fields drop in declaration order: the load generator, then the
/// processes, then the namespaces, then the directory with the logs.
pub struct E2eLab {
    pub load: Option<LoadGen>,
    pub servers: Vec<Daemon>,
    pub directors: Vec<DirectorNode>,
    pub router: Router,
    pub client: NetNs,
    pub reals: Vec<NetNs>,
    pub net: BroadcastLab,
    pub dir: TestDir,
    pub router_kind: RouterKind,
    pub dataplane: LabDataplane,
    /// What the configuration files say now.
    pub services: Services,
    /// Real servers whose service runs.
    pub serving: BTreeSet<usize>,
}

impl E2eLab {
    /// Builds the lab, starts the router, then `directors` directord with `services`, on
    /// the nftables dataplane.
    pub fn new(tag: &str, router_kind: RouterKind, directors: usize, services: Services) -> E2eLab {
        E2eLab::with_dataplane(
            tag,
            router_kind,
            directors,
            services,
            LabDataplane::Nftables,
        )
    }

    /// [`E2eLab::new`] with the directors on `dataplane`.
    pub fn with_dataplane(
        tag: &str,
        router_kind: RouterKind,
        directors: usize,
        services: Services,
        dataplane: LabDataplane,
    ) -> E2eLab {
        let dir = TestDir::new(tag);
        let net = BroadcastLab::new(directors);
        let r1 = &net.r1;
        r1.enable_forwarding();
        r1.deterministic_multipath_hash(7);
        let client = NetNs::new(&format!("{tag}c"));
        veth(&client, "eth0", r1, "eth1");
        r1.add_addr("eth1", &format!("{CLIENT_GW}/24"));
        let sources: Vec<String> = stream_sources(40)
            .into_iter()
            .chain(probe_sources())
            .map(|a| format!("{a}/24"))
            .collect();
        client.add_addrs("eth0", &sources);
        client.ip(&["route", "add", "default", "via", &CLIENT_GW.to_string()]);
        let server_py = dir.write("stream_server.py", STREAM_SERVER);
        dir.write("load_gen.py", LOAD_GEN);
        let mut reals = Vec::new();
        let mut servers = Vec::new();
        for i in 0..REALS {
            let ns = NetNs::new(&format!("{tag}{}", real_name(i)));
            net.sw.attach(&ns, "eth0");
            ns.add_addr("eth0", &format!("{}/24", real_addr(i)));
            ns.ip(&[
                "route",
                "add",
                "default",
                "via",
                &super::ospf::ROUTER_ID.to_string(),
            ]);
            // DR: every VIP on lo, no ARP for it; answers go back through the router.
            let vips: Vec<Ipv4Addr> = std::iter::once(VIP).chain(OTHER_VIPS).collect();
            servers.push(start_dr_real_server(
                &ns,
                &vips,
                dir.path(),
                &server_py,
                &real_name(i),
            ));
            reals.push(ns);
        }
        // The router first, so it is DR when the directors join (faster Full).
        let (bfd_interval, bfd_multiplier) = dataplane.bfd_timers();
        let iface = OspfIface::broadcast("eth0", FAST.hello, FAST.dead)
            .bfd_timers(bfd_interval, bfd_multiplier);
        let router = Router::start(router_kind, r1, &dir, vec![iface]);
        wait_until(CONVERGE, POLL, || router.is_dr("eth0")).expect("router DR on eth0");
        let mut lab = E2eLab {
            load: None,
            servers,
            directors: Vec::new(),
            router,
            client,
            reals,
            net,
            dir,
            router_kind,
            dataplane,
            services,
            serving: (0..REALS).collect(),
        };
        for n in 0..directors {
            let name = format!("d{}", n + 1);
            let addr = director_addr(n);
            let socket = lab.dir.subdir(&name).join("directord.sock");
            let text = director_config(&name, addr, &socket, &lab.services, dataplane);
            let daemon = super::directord(&lab.net.directors[n], &lab.dir, &name, &text);
            let conf = lab.dir.path().join(&name).join("directord.conf");
            lab.directors.push(DirectorNode {
                name,
                addr,
                socket,
                conf,
                daemon,
            });
        }
        lab
    }

    pub fn label(&self) -> &'static str {
        match self.router_kind {
            RouterKind::Bird => "bird",
            RouterKind::Frr => "frr",
        }
    }

    /// Directors whose process runs.
    pub fn running(&self) -> Vec<usize> {
        (0..self.directors.len())
            .filter(|n| self.directors[*n].daemon.alive())
            .collect()
    }

    pub fn addrs(&self, directors: &[usize]) -> Vec<Ipv4Addr> {
        let mut addrs: Vec<Ipv4Addr> = directors.iter().map(|n| self.directors[*n].addr).collect();
        addrs.sort();
        addrs
    }

    /// Real servers configured and serving: the ones the health checks find up.
    pub fn healthy_reals(&self) -> Vec<usize> {
        self.services
            .reals
            .iter()
            .copied()
            .filter(|i| self.serving.contains(i))
            .collect()
    }

    /// Rewrites every director's configuration for `services` (not yet reloaded).
    pub fn write_configs(&mut self, services: Services) {
        self.services = services;
        for d in &self.directors {
            let text = director_config(&d.name, d.addr, &d.socket, &self.services, self.dataplane);
            std::fs::write(&d.conf, text)
                .unwrap_or_else(|e| panic!("write {}: {e}", d.conf.display()));
        }
    }

    /// SIGHUP to every running director.
    pub fn reload_all(&mut self) {
        for d in &mut self.directors {
            if d.daemon.is_running() {
                d.daemon.signal(Signal::Hup);
            }
        }
    }

    /// The router's route for `vip`.
    pub fn route(&self, vip: Ipv4Addr) -> Result<Vec<Ipv4Addr>, String> {
        route_nexthops(&self.net.r1, &host(vip))
    }

    /// `Ok` when the router's route for `vip` goes through exactly `want`.
    pub fn route_is(&self, vip: Ipv4Addr, want: &[Ipv4Addr]) -> Result<(), String> {
        let hops = self.route(vip)?;
        let mut want = want.to_vec();
        want.sort();
        if hops == want {
            Ok(())
        } else {
            Err(format!("route {vip}/32 at r1 via {hops:?}, want {want:?}"))
        }
    }

    /// `Ok` when the router has exactly the directors `among` as neighbors, all Full.
    pub fn full(&self, among: &[usize]) -> Result<(), String> {
        all_full(self.router.neighbors()?, &self.addrs(among)).map(|_| ())
    }

    /// `Ok` when every director in `among` shows the configured real servers of [`VIP`]
    /// with weight 1 and up for the healthy ones, 0 and down for the others.
    pub fn reals_settled(&self, among: &[usize]) -> Result<(), String> {
        let healthy = self.healthy_reals();
        let want: BTreeMap<String, Real> = self
            .services
            .reals
            .iter()
            .map(|i| {
                let up = healthy.contains(i);
                (
                    format!("{}:{PORT}", real_addr(*i)),
                    Real {
                        weight: u32::from(up),
                        up,
                    },
                )
            })
            .collect();
        for n in among {
            let d = &self.directors[*n];
            let got = reals(&d.socket, VIP)?;
            if got != want {
                return Err(format!("{}: reals {got:?}, want {want:?}", d.name));
            }
        }
        Ok(())
    }

    /// The DR table of director `n` as a comparable text: nftables' DR table with the
    /// counters blanked, or IPVS' `ipvsadm -Sn` sorted.
    fn dataplane_table(&self, n: usize) -> String {
        let ns = &self.net.directors[n];
        match self.dataplane {
            LabDataplane::Nftables => nft_tables(ns),
            LabDataplane::Ipvs => {
                let out = ns.exec(&["ipvsadm", "-Sn"]);
                let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(str::to_owned)
                    .collect();
                lines.sort();
                lines.join("\n")
            }
        }
    }

    /// `Ok` with the table when the DR tables of the directors `among` are identical
    /// (counters aside) and hold the service of [`VIP`] (nftables: a Maglev map; IPVS: an
    /// `mh` service).
    pub fn tables_identical(&self, among: &[usize]) -> Result<String, String> {
        let mut first: Option<(String, String)> = None;
        let has_vip_service = |table: &str| match self.dataplane {
            LabDataplane::Nftables => table.contains("map "),
            LabDataplane::Ipvs => table.contains(&format!("-A -t {VIP}:{PORT} -s mh")),
        };
        for n in among {
            let table = self.dataplane_table(*n);
            let name = &self.directors[*n].name;
            if !has_vip_service(&table) {
                return Err(format!("{name} has no DR table: {table:.200}"));
            }
            match &first {
                None => first = Some((name.clone(), table)),
                Some((first_name, t)) if *t != table => {
                    return Err(format!(
                        "DR tables differ: {first_name} {} chars, {name} {} chars",
                        t.len(),
                        table.len()
                    ))
                }
                Some(_) => {}
            }
        }
        first.map(|(_, t)| t).ok_or("no director to compare".into())
    }

    /// Waits until the lab is settled with the directors `among` running and announcing:
    /// all Full at the router, the VIP via exactly them, every one of them with the
    /// expected real servers and identical tables, all holding together for [`HOLD`].
    pub fn wait_settled(&self, among: &[usize], what: &str) -> Duration {
        let t0 = Instant::now();
        wait_stable(CONVERGE, HOLD, || {
            for n in among {
                let d = &self.directors[*n];
                if !d.daemon.alive() {
                    panic!(
                        "{} exited unexpectedly; log: {}",
                        d.name,
                        d.daemon.log_path().display()
                    );
                }
            }
            self.full(among)?;
            self.route_is(VIP, &self.addrs(among))?;
            self.reals_settled(among)?;
            self.tables_identical(among).map(|_| ())
        })
        .unwrap_or_else(|e| panic!("{}: {what}: {e}", self.label()));
        t0.elapsed()
    }

    /// The director (address) the router sends the stream `src:sport` → VIP:80 through:
    /// `ip route get` with the 5-tuple, which the deterministic multipath hash decides.
    pub fn carrier(&self, src: Ipv4Addr, sport: u16) -> Result<Ipv4Addr, String> {
        let out = self.net.r1.try_ip(&[
            "-j",
            "route",
            "get",
            &VIP.to_string(),
            "from",
            &src.to_string(),
            "iif",
            "eth1",
            "ipproto",
            "tcp",
            "sport",
            &sport.to_string(),
            "dport",
            &PORT.to_string(),
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        let routes: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "ip route get: {e}: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        routes[0]["gateway"]
            .as_str()
            .and_then(|g| g.parse().ok())
            .ok_or_else(|| format!("ip route get: no gateway in {text}"))
    }

    /// The IPVS connection entries of director `n` for [`VIP`]:[`PORT`] (`ipvsadm -Lnc`):
    /// client (source, port) → real server. The state does not matter: IPVS sends a
    /// packet that matches an entry in any state to the entry's real server.
    pub fn conn_entries(&self, n: usize) -> BTreeMap<(Ipv4Addr, u16), Ipv4Addr> {
        let out = self.net.directors[n].exec(&["ipvsadm", "-Lnc"]);
        let vip = format!("{VIP}:{PORT}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                // pro expire state source virtual destination
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() != 6 || f[0] != "TCP" || f[4] != vip {
                    return None;
                }
                let (src, sport) = f[3].split_once(':')?;
                let (server, _) = f[5].split_once(':')?;
                Some((
                    (src.parse().ok()?, sport.parse().ok()?),
                    server.parse().ok()?,
                ))
            })
            .collect()
    }

    /// Starts the load generator in the client: one stream per source of `streams`, probes
    /// from [`probe_sources`], a line every `tick` on each. Returns once it runs (Python
    /// starts in seconds under emulation, the IPVS VM).
    pub fn start_load(&mut self, streams: &[Ipv4Addr], tick: Duration) {
        let script = self.dir.path().join("load_gen.py");
        let log = self.dir.path().join("load_gen.stderr");
        self.load = Some(LoadGen::start(
            &self.client,
            &script,
            &log,
            &[
                VIP.to_string(),
                PORT.to_string(),
                join_addrs(streams),
                join_addrs(&probe_sources()),
                format!("{:.3}", tick.as_secs_f64()),
            ],
        ));
        let started = wait_until(Duration::from_secs(60), POLL, || {
            let load = self.load.as_ref().ok_or("no load generator")?;
            if load.since(0, "ready").is_empty() {
                Err(format!(
                    "not ready; its stderr: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                ))
            } else {
                Ok(())
            }
        })
        .unwrap_or_else(|e| panic!("{}: load generator: {e}", self.label()));
        println!(
            "MEASURE: {}: load generator ready after {:?}",
            self.label(),
            started.after
        );
    }

    pub fn load(&mut self) -> &mut LoadGen {
        self.load
            .as_mut()
            .unwrap_or_else(|| panic!("load generator not started"))
    }

    /// Stops real server `i`'s service (the host stays and answers RST).
    pub fn stop_server(&mut self, i: usize) {
        self.servers[i].stop();
        self.serving.remove(&i);
    }

    pub fn start_server(&mut self, i: usize) {
        self.servers[i].restart();
        self.serving.insert(i);
    }

    /// Restarts the router's OSPF daemon (SIGTERM, start): BIRD, or FRR's ospfd.
    pub fn restart_router(&mut self) {
        match &mut self.router {
            Router::Bird(b) => b.daemon.restart(),
            Router::Frr(f) => f.ospfd.restart(),
        }
    }

    /// Whether the router's OSPF daemon runs.
    pub fn router_alive(&self) -> bool {
        match &self.router {
            Router::Bird(b) => b.daemon.alive(),
            Router::Frr(f) => f.ospfd.alive(),
        }
    }

    /// `directorctl status` of every running director, for a failure message.
    pub fn status_dump(&self) -> String {
        let mut s = String::new();
        for n in self.running() {
            let d = &self.directors[n];
            let _ = writeln!(s, "{}: {:?}", d.name, ctl(&d.socket, &["status"]));
        }
        s
    }
}

/// `a,b,c`: the generator's form of an address list.
fn join_addrs(addrs: &[Ipv4Addr]) -> String {
    addrs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The real server's name for its address.
pub fn real_of_addr(addr: Ipv4Addr) -> Option<String> {
    (0..REALS).find(|i| real_addr(*i) == addr).map(real_name)
}

// ===== the load generator =====

/// One line of the load generator, stamped with when the test read it.
#[derive(Clone, Debug)]
pub struct Stamped {
    pub at: Instant,
    pub ev: serde_json::Value,
}

/// A stream that broke: which source, which real server it was on, why.
#[derive(Clone, Debug)]
pub struct Break {
    pub at: Instant,
    pub src: Ipv4Addr,
    pub sport: u16,
    pub server: String,
    pub seq: u64,
    pub reason: String,
}

/// A new connection (probe, or a stream's reopen) that failed.
#[derive(Clone, Debug)]
pub struct FailedOpen {
    pub at: Instant,
    pub src: String,
    /// `probe_fail` or `open_fail`.
    pub kind: String,
    /// `ECONNREFUSED`, `reset`, `timeout`, `EHOSTUNREACH`, …
    pub reason: String,
}

impl FailedOpen {
    /// Whether a real server answered (refused or reset): the packets got through the
    /// router and a director, to a server that does not serve.
    pub fn answered_by_a_server(&self) -> bool {
        matches!(
            self.reason.as_str(),
            "ECONNREFUSED" | "reset" | "eof" | "mismatch"
        )
    }
}

/// A stream as the load generator holds it now.
#[derive(Clone, Debug)]
pub struct StreamState {
    pub src: Ipv4Addr,
    pub sport: u16,
    pub server: String,
    /// Lines sent and verified on the current connection.
    pub seq: u64,
    pub open: bool,
}

#[derive(Clone, Debug)]
pub struct LoadStatus {
    pub streams: Vec<StreamState>,
    pub probes_ok: u64,
    pub probes_failed: u64,
}

impl LoadStatus {
    pub fn stream(&self, src: Ipv4Addr) -> Option<&StreamState> {
        self.streams.iter().find(|s| s.src == src)
    }
}

/// `load_gen.py` in the client namespace; a thread stamps and keeps every line it prints.
pub struct LoadGen {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Arc<Mutex<Vec<Stamped>>>,
    next_request: u64,
}

impl LoadGen {
    fn start(ns: &NetNs, script: &Path, stderr_log: &Path, args: &[String]) -> LoadGen {
        let stderr = std::fs::File::create(stderr_log)
            .unwrap_or_else(|e| panic!("create {}: {e}", stderr_log.display()));
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns.name(), "python3"])
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("load generator: {e}"));
        let stdin = child.stdin.take();
        let events = Arc::new(Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            let sink = Arc::clone(&events);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let at = Instant::now();
                    let ev = serde_json::from_str(&line)
                        .unwrap_or_else(|_| serde_json::json!({"ev": "garbage", "line": line}));
                    sink.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(Stamped { at, ev });
                }
            });
        }
        LoadGen {
            child,
            stdin,
            events,
            next_request: 0,
        }
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Stamped> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A position in the event list: `breaks_since(mark)` counts from here.
    pub fn mark(&self) -> usize {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn since(&self, mark: usize, kind: &str) -> Vec<Stamped> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events[mark.min(events.len())..]
            .iter()
            .filter(|s| s.ev["ev"] == kind)
            .cloned()
            .collect()
    }

    pub fn breaks_since(&self, mark: usize) -> Vec<Break> {
        self.since(mark, "broken")
            .into_iter()
            .map(|s| Break {
                at: s.at,
                src: s.ev["src"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(Ipv4Addr::UNSPECIFIED),
                sport: s.ev["sport"].as_u64().unwrap_or(0) as u16,
                server: s.ev["server"].as_str().unwrap_or("?").to_string(),
                seq: s.ev["seq"].as_u64().unwrap_or(0),
                reason: s.ev["reason"].as_str().unwrap_or("?").to_string(),
            })
            .collect()
    }

    /// Every probe connection and stream (re)open that failed, in time order.
    pub fn failed_opens_since(&self, mark: usize) -> Vec<FailedOpen> {
        let mut out: Vec<FailedOpen> = ["probe_fail", "open_fail"]
            .iter()
            .flat_map(|kind| self.since(mark, kind))
            .map(|s| FailedOpen {
                at: s.at,
                src: s.ev["src"].as_str().unwrap_or("?").to_string(),
                kind: s.ev["ev"].as_str().unwrap_or("?").to_string(),
                reason: s.ev["reason"].as_str().unwrap_or("?").to_string(),
            })
            .collect();
        out.sort_by_key(|f| f.at);
        out
    }

    /// Lines that were not JSON (a Python traceback): the generator itself failed.
    pub fn garbage(&self) -> Vec<String> {
        self.since(0, "garbage")
            .into_iter()
            .map(|s| s.ev["line"].to_string())
            .collect()
    }

    /// Sends `command ID ARGS…` to the generator; returns the ID its answer will carry.
    fn request(&mut self, command: &str, args: &[String]) -> Result<String, String> {
        self.next_request += 1;
        let id = self.next_request.to_string();
        let stdin = self.stdin.as_mut().ok_or("load generator stdin closed")?;
        writeln!(stdin, "{command} {id} {}", args.join(" "))
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("load generator stdin: {e}"))?;
        Ok(id)
    }

    /// Waits up to `timeout` for the `kind` event answering request `id`.
    fn answer(&self, kind: &str, id: &str, timeout: Duration) -> Result<serde_json::Value, String> {
        Ok(wait_until(timeout, Duration::from_millis(20), || {
            self.since(0, kind)
                .into_iter()
                .rev()
                .find(|s| s.ev["id"] == id)
                .ok_or_else(|| format!("no {kind} answer"))
        })
        .map_err(|e| format!("load generator: {e}"))?
        .value
        .ev)
    }

    /// Asks for and waits for the current state of every stream.
    pub fn status(&mut self) -> Result<LoadStatus, String> {
        let id = self.request("status", &[])?;
        let answer = self.answer("status", &id, Duration::from_secs(10))?;
        let streams = answer["streams"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| StreamState {
                src: s["src"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(Ipv4Addr::UNSPECIFIED),
                sport: s["sport"].as_u64().unwrap_or(0) as u16,
                server: s["server"].as_str().unwrap_or("?").to_string(),
                seq: s["seq"].as_u64().unwrap_or(0),
                open: s["open"].as_bool().unwrap_or(false),
            })
            .collect();
        Ok(LoadStatus {
            streams,
            probes_ok: answer["probes_ok"].as_u64().unwrap_or(0),
            probes_failed: answer["probes_failed"].as_u64().unwrap_or(0),
        })
    }

    /// Where the scheduler sends a new connection from each of `sources` now: one short
    /// connection each, greeted by the real server's name. A connection that fails is an
    /// error: the tables must have a server for every source when this is asked.
    pub fn fresh(&mut self, sources: &[Ipv4Addr]) -> Result<BTreeMap<Ipv4Addr, String>, String> {
        let id = self.request("fresh", &[join_addrs(sources)])?;
        let answer = self.answer(
            "fresh",
            &id,
            Duration::from_secs(10 + 4 * sources.len() as u64),
        )?;
        if let Some(errors) = answer["errors"].as_object().filter(|e| !e.is_empty()) {
            return Err(format!("fresh connections failed: {errors:?}"));
        }
        let servers = answer["servers"]
            .as_object()
            .ok_or_else(|| format!("fresh: no servers in {answer}"))?;
        sources
            .iter()
            .map(|src| {
                servers[&src.to_string()]
                    .as_str()
                    .map(|name| (*src, name.to_string()))
                    .ok_or_else(|| format!("fresh: no answer for {src} in {answer}"))
            })
            .collect()
    }

    /// Waits until every stream of `sources` is open and has verified at least `lines` more
    /// lines than in `before` on the same connection (or is open on a new one that has):
    /// data flows both ways again.
    pub fn wait_progress(
        &mut self,
        sources: &[Ipv4Addr],
        before: &LoadStatus,
        lines: u64,
        timeout: Duration,
    ) -> Result<LoadStatus, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.status()?;
            let lagging: Vec<String> = sources
                .iter()
                .filter(|src| {
                    let Some(s) = now.stream(**src) else {
                        return true;
                    };
                    let base = before
                        .stream(**src)
                        .filter(|b| b.sport == s.sport)
                        .map_or(0, |b| b.seq);
                    !s.open || s.seq < base + lines
                })
                .map(|s| s.to_string())
                .collect();
            if lagging.is_empty() {
                return Ok(now);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "streams without progress after {timeout:?}: {lagging:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for LoadGen {
    fn drop(&mut self) {
        // Closing stdin ends the generator; kill it if it does not go within a bound.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
