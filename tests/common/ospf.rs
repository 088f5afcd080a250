//! OSPF interop labs: an upstream router (BIRD or FRR) and directors (our `directord`, or
//! BIRD/FRR as reference directors for benchmarks) on a broadcast segment or on
//! point-to-point links, with the checks the interop suites and the benchmark share.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::netns::{veth, NetNs, Switch};
use super::peers::{all_full, nexthop_count, Bird, Frr, LinkType, Neighbor, OspfIface, OspfRouter};
use super::process::Daemon;
use super::wait::{wait_stable, wait_until, WaitError, Waited};
use super::TestDir;

pub const VIP_A: Ipv4Addr = Ipv4Addr::new(10, 99, 100, 1);
pub const VIP_B: Ipv4Addr = Ipv4Addr::new(10, 99, 100, 2);
pub const ROUTER_ID: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);

/// Fast timers keep the suites short (lab README: Full in 4–9 s instead of 40–45 s).
pub const FAST: Timers = Timers { hello: 1, dead: 4 };
pub const DEFAULT: Timers = Timers {
    hello: 10,
    dead: 40,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    pub hello: u16,
    pub dead: u16,
}

/// `n` distinct VIPs from 10.99.100.1 upwards (VIP_A, VIP_B, ...).
pub fn many_vips(n: usize) -> Vec<Ipv4Addr> {
    (0..n as u32)
        .map(|i| Ipv4Addr::from(u32::from(VIP_A) + i))
        .collect()
}

/// "10.99.100.1/32"
pub fn host(addr: Ipv4Addr) -> String {
    format!("{addr}/32")
}

// ===== upstream router =====

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouterKind {
    Bird,
    Frr,
}

pub enum Router {
    Bird(Bird),
    Frr(Frr),
}

impl Router {
    /// Starts the upstream router (router id [`ROUTER_ID`], priority 10 so it wins DR on a
    /// shared segment, routes exported to its kernel) on `ifaces`.
    pub fn start(kind: RouterKind, ns: &NetNs, dir: &TestDir, ifaces: Vec<OspfIface>) -> Router {
        Router::start_with_priority(kind, ns, dir, ifaces, 10)
    }

    /// [`Router::start`] with another priority (0: the router never becomes DR, so one of
    /// the directors must).
    pub fn start_with_priority(
        kind: RouterKind,
        ns: &NetNs,
        dir: &TestDir,
        ifaces: Vec<OspfIface>,
        priority: u8,
    ) -> Router {
        let cfg = OspfRouter {
            router_id: ROUTER_ID,
            ifaces: ifaces.into_iter().map(|i| i.priority(priority)).collect(),
            stubs: vec![],
            kernel_export: true,
            merge_external: false,
        };
        Router::start_config(kind, ns, dir, &cfg)
    }

    /// Starts the upstream router with a complete configuration.
    pub fn start_config(kind: RouterKind, ns: &NetNs, dir: &TestDir, cfg: &OspfRouter) -> Router {
        match kind {
            RouterKind::Bird => {
                Router::Bird(Bird::start(ns, &dir.subdir("router"), "router-bird", cfg))
            }
            RouterKind::Frr => Router::Frr(Frr::start(ns, &dir.subdir("router"), "router", cfg)),
        }
    }

    pub fn neighbors(&self) -> Result<Vec<Neighbor>, String> {
        match self {
            Router::Bird(b) => b.neighbors(),
            Router::Frr(f) => f.neighbors(),
        }
    }

    /// kill -9 of the process holding the router's BFD sessions: BIRD itself (its OSPF
    /// dies with it), or FRR's bfdd (ospfd keeps running).
    pub fn kill_bfd(&mut self) {
        match self {
            Router::Bird(b) => b.daemon.signal(super::process::Signal::Kill),
            Router::Frr(f) => {
                if let Some(bfdd) = f.bfdd.as_mut() {
                    bfdd.signal(super::process::Signal::Kill)
                }
            }
        }
    }

    /// The router's BFD sessions: (peer, Up?) — `birdc show bfd sessions` or
    /// `vtysh show bfd peers json`.
    pub fn bfd_up(&self) -> Result<Vec<(Ipv4Addr, bool)>, String> {
        let sessions = match self {
            Router::Bird(b) => b.bfd_sessions()?,
            Router::Frr(f) => f.bfd_sessions()?,
        };
        Ok(sessions
            .into_iter()
            .map(|(peer, state)| (peer, state.eq_ignore_ascii_case("up")))
            .collect())
    }

    /// Whether the router has elected itself DR on `iface` (a joining neighbor then sees a
    /// settled segment; RFC 2328 BackupSeen ends its Waiting state early).
    pub fn is_dr(&self, iface: &str) -> Result<(), String> {
        let text = match self {
            Router::Bird(b) => b.birdc(&["show", "ospf", "interface", &format!("\"{iface}\"")])?,
            Router::Frr(f) => f.vtysh(&format!("show ip ospf interface {iface}"))?,
        };
        let dr = match self {
            Router::Bird(_) => text.lines().any(|l| l.trim() == "State: DR"),
            Router::Frr(_) => text.contains("State DR,"),
        };
        if dr {
            Ok(())
        } else {
            Err(format!("router not DR yet on {iface}: {}", text.trim()))
        }
    }
}

// ===== directors =====

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectorKind {
    Directord,
    Bird,
    Frr,
    /// The `ospf` crate's example program (`cargo build -p ospf --example speaker`), found
    /// through `DT_SPEAKER_BIN`: checks the speaker before `directord` wires it up.
    Speaker,
}

impl DirectorKind {
    pub fn label(self) -> &'static str {
        match self {
            DirectorKind::Directord => "directord",
            DirectorKind::Bird => "BIRD",
            DirectorKind::Frr => "FRR",
            DirectorKind::Speaker => "speaker",
        }
    }
}

/// What one director runs: its router id, its OSPF interface and the VIPs it announces.
#[derive(Clone, Debug)]
pub struct DirectorSpec {
    pub name: String,
    pub router_id: Ipv4Addr,
    pub iface: OspfIface,
    pub vips: Vec<Ipv4Addr>,
    /// directord's control socket; [`Director::start`] puts it in the test directory, as
    /// parallel tests must not share the default /run/director/directord.sock.
    pub control_socket: Option<PathBuf>,
}

impl DirectorSpec {
    pub fn new(
        name: &str,
        router_id: Ipv4Addr,
        iface: OspfIface,
        vips: &[Ipv4Addr],
    ) -> DirectorSpec {
        DirectorSpec {
            name: name.to_string(),
            router_id,
            iface,
            vips: vips.to_vec(),
            control_socket: None,
        }
    }
}

/// The keepalived-style config `directord` reads: an `ospf` block and one
/// `virtual_server` per VIP (announced as a /32), no dataplane (the kernel has no IPVS).
pub fn directord_config(spec: &DirectorSpec) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "global_defs {{\n    router_id {}\n}}\n", spec.name);
    let _ = writeln!(c, "director {{\n    mode active-active\n    dataplane none");
    if let Some(sock) = &spec.control_socket {
        let _ = writeln!(c, "    control_socket {}", sock.display());
    }
    let _ = writeln!(c, "}}\n");
    let i = &spec.iface;
    let _ = writeln!(
        c,
        "ospf {{\n    router_id {}\n    area 0 {{",
        spec.router_id
    );
    let _ = writeln!(c, "        interface {} {{", i.name);
    let kind = match i.link {
        LinkType::Broadcast => "broadcast",
        LinkType::PointToPoint => "point-to-point",
    };
    let _ = writeln!(c, "            network_type {kind}");
    let _ = writeln!(
        c,
        "            hello_interval {}\n            dead_interval {}",
        i.hello, i.dead
    );
    let _ = writeln!(c, "            priority {}", i.priority);
    if let Some((id, key)) = &i.md5 {
        let _ = writeln!(
            c,
            "            authentication {{\n                auth_type md5\n                auth_key {id} {key}\n            }}"
        );
    }
    if i.bfd {
        let _ = writeln!(
            c,
            "            bfd {{\n                min_rx 100\n                min_tx 100\n                idle_tx 1000\n                multiplier 3"
        );
        if let Some((id, key)) = &i.bfd_sha1 {
            let _ = writeln!(
                c,
                "                auth_type keyed_sha1\n                auth_key {id} {key}"
            );
        }
        let _ = writeln!(c, "            }}");
    }
    let _ = writeln!(c, "        }}\n    }}\n}}\n");
    for vip in &spec.vips {
        let _ = writeln!(
            c,
            "virtual_server {vip} 80 {{\n    lb_algo mh\n    lb_kind DR\n    protocol TCP\n    \
             real_server 10.99.9.10 80 {{\n        weight 1\n    }}\n}}\n"
        );
    }
    c
}

/// The `speaker` example's command line for `spec`.
fn speaker_argv(spec: &DirectorSpec) -> Vec<String> {
    let bin = std::env::var("DT_SPEAKER_BIN")
        .unwrap_or_else(|_| panic!("DT_SPEAKER_BIN must name the ospf speaker example"));
    let i = &spec.iface;
    let mut argv = vec![
        bin,
        "--iface".into(),
        i.name.clone(),
        "--router-id".into(),
        spec.router_id.to_string(),
    ];
    for vip in &spec.vips {
        argv.extend(["--prefix".into(), host(*vip)]);
    }
    argv.extend([
        "--hello".into(),
        i.hello.to_string(),
        "--dead".into(),
        i.dead.to_string(),
    ]);
    argv.extend(["--priority".into(), i.priority.to_string()]);
    if i.link == LinkType::PointToPoint {
        argv.push("--p2p".into());
    }
    if let Some((id, key)) = &i.md5 {
        argv.extend([
            "--md5".into(),
            key.clone(),
            "--key-id".into(),
            id.to_string(),
        ]);
    }
    argv
}

enum Speaker {
    Directord(Daemon),
    Example(Daemon),
    Bird(Bird),
    Frr(Frr),
}

/// A running director of any kind, driven the same way: change the VIP set, SIGTERM,
/// SIGKILL, restart.
pub struct Director {
    pub kind: DirectorKind,
    pub spec: DirectorSpec,
    speaker: Speaker,
}

impl Director {
    pub fn start(
        kind: DirectorKind,
        ns: &NetNs,
        dir: &TestDir,
        mut spec: DirectorSpec,
    ) -> Director {
        spec.control_socket
            .get_or_insert_with(|| dir.subdir(&spec.name).join("directord.sock"));
        let speaker = match kind {
            DirectorKind::Directord => Speaker::Directord(super::directord(
                ns,
                dir,
                &spec.name,
                &directord_config(&spec),
            )),
            DirectorKind::Speaker => Speaker::Example(Daemon::spawn_with_stdin(
                ns,
                &spec.name,
                &dir.subdir(&spec.name),
                &speaker_argv(&spec),
            )),
            DirectorKind::Bird | DirectorKind::Frr => {
                // Reference directors announce the /32s they hold on lo.
                ns.add_addrs(
                    "lo",
                    &spec.vips.iter().map(|v| host(*v)).collect::<Vec<_>>(),
                );
                let cfg = OspfRouter {
                    router_id: spec.router_id,
                    ifaces: vec![spec.iface.clone()],
                    stubs: spec.vips.clone(),
                    kernel_export: false,
                    merge_external: false,
                };
                let sub = dir.subdir(&spec.name);
                if kind == DirectorKind::Bird {
                    Speaker::Bird(Bird::start(ns, &sub, &format!("{}-bird", spec.name), &cfg))
                } else {
                    Speaker::Frr(Frr::start(ns, &sub, &spec.name, &cfg))
                }
            }
        };
        Director {
            kind,
            spec,
            speaker,
        }
    }

    pub fn router_id(&self) -> Ipv4Addr {
        self.spec.router_id
    }

    /// Panics (the test fails at once, with the logs) if the speaker process has died: a
    /// daemon that crashed or exited on a config error will not converge, so waiting for
    /// the timeout would only hide the cause.
    pub fn assert_alive(&self) {
        let daemon = match &self.speaker {
            Speaker::Directord(d) | Speaker::Example(d) => d,
            Speaker::Bird(b) => &b.daemon,
            Speaker::Frr(f) => &f.ospfd,
        };
        assert!(
            daemon.alive(),
            "{} ({}) exited unexpectedly; log: {}",
            self.spec.name,
            self.kind.label(),
            daemon.log_path().display()
        );
    }

    /// The process that speaks OSPF (directord, bird, or FRR's ospfd).
    pub fn process(&mut self) -> &mut Daemon {
        match &mut self.speaker {
            Speaker::Directord(d) | Speaker::Example(d) => d,
            Speaker::Bird(b) => &mut b.daemon,
            Speaker::Frr(f) => &mut f.ospfd,
        }
    }

    /// Announces exactly `vips` from now on: directord gets a rewritten config and SIGHUP;
    /// reference directors get the /32s added to or deleted from lo.
    pub fn set_vips(&mut self, ns: &NetNs, dir: &TestDir, vips: &[Ipv4Addr]) {
        let old = std::mem::replace(&mut self.spec.vips, vips.to_vec());
        match &mut self.speaker {
            Speaker::Directord(d) => {
                dir.write(
                    &format!("{}/directord.conf", self.spec.name),
                    &directord_config(&self.spec),
                );
                d.signal(super::process::Signal::Hup);
            }
            Speaker::Example(d) => {
                for vip in old.iter().filter(|v| !vips.contains(v)) {
                    d.send_line(&format!("withdraw {}", host(*vip)));
                }
                for vip in vips.iter().filter(|v| !old.contains(v)) {
                    d.send_line(&format!("announce {}", host(*vip)));
                }
                d.set_argv(&speaker_argv(&self.spec));
            }
            Speaker::Bird(_) | Speaker::Frr(_) => {
                for vip in old.iter().filter(|v| !vips.contains(v)) {
                    ns.del_addr("lo", &host(*vip));
                }
                for vip in vips.iter().filter(|v| !old.contains(v)) {
                    ns.add_addr("lo", &host(*vip));
                }
            }
        }
    }
}

impl Director {
    /// After the process died (kill -9): starts it again announcing `vips` (directord: new
    /// config file; reference directors: lo addresses).
    pub fn restart_with_vips(&mut self, ns: &NetNs, dir: &TestDir, vips: &[Ipv4Addr]) {
        assert!(
            !self.process().is_running(),
            "{}: restart_with_vips needs a dead process",
            self.spec.name
        );
        match self.kind {
            DirectorKind::Directord => {
                self.spec.vips = vips.to_vec();
                dir.write(
                    &format!("{}/directord.conf", self.spec.name),
                    &directord_config(&self.spec),
                );
            }
            DirectorKind::Speaker => {
                self.spec.vips = vips.to_vec();
                let argv = speaker_argv(&self.spec);
                self.process().set_argv(&argv);
            }
            DirectorKind::Bird | DirectorKind::Frr => {
                // The lo addresses are the announcement for BIRD and FRR.
                let old = std::mem::replace(&mut self.spec.vips, vips.to_vec());
                for vip in old.iter().filter(|v| !vips.contains(v)) {
                    ns.del_addr("lo", &host(*vip));
                }
                for vip in vips.iter().filter(|v| !old.contains(v)) {
                    ns.add_addr("lo", &host(*vip));
                }
            }
        }
        self.process().restart();
    }
}

// ===== topologies =====

/// Router `r1` (10.99.0.1/24) and directors `d{n}` (10.99.0.1{n}/24) on one bridge.
pub struct BroadcastLab {
    pub sw: Switch,
    pub r1: NetNs,
    pub directors: Vec<NetNs>,
}

pub fn director_addr(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 99, 0, 11 + n as u8)
}

impl BroadcastLab {
    pub fn new(directors: usize) -> BroadcastLab {
        let sw = Switch::new("sw");
        let r1 = NetNs::new("r1");
        sw.attach(&r1, "eth0");
        r1.add_addr("eth0", &format!("{ROUTER_ID}/24"));
        let directors = (0..directors)
            .map(|n| {
                let ns = NetNs::new(&format!("d{}", n + 1));
                sw.attach(&ns, "eth0");
                ns.add_addr("eth0", &format!("{}/24", director_addr(n)));
                ns
            })
            .collect();
        BroadcastLab { sw, r1, directors }
    }

    pub fn names(&self) -> Vec<String> {
        let mut names = vec![self.sw.ns().name().to_string(), self.r1.name().to_string()];
        names.extend(self.directors.iter().map(|d| d.name().to_string()));
        names
    }
}

/// Router `r1` with one point-to-point link per director: r1 `eth{n}` 10.99.{n+1}.1/24 <->
/// `d{n+1}` `eth0` 10.99.{n+1}.2/24.
pub struct PointToPointLab {
    pub r1: NetNs,
    pub directors: Vec<NetNs>,
}

impl PointToPointLab {
    pub fn new(directors: usize) -> PointToPointLab {
        let r1 = NetNs::new("r1");
        let directors = (0..directors)
            .map(|n| {
                let ns = NetNs::new(&format!("d{}", n + 1));
                let r_if = format!("eth{n}");
                veth(&r1, &r_if, &ns, "eth0");
                r1.add_addr(&r_if, &format!("10.99.{}.1/24", n + 1));
                ns.add_addr("eth0", &format!("10.99.{}.2/24", n + 1));
                ns
            })
            .collect();
        PointToPointLab { r1, directors }
    }

    pub fn router_ifaces(&self, timers: Timers) -> Vec<OspfIface> {
        (0..self.directors.len())
            .map(|n| OspfIface::point_to_point(&format!("eth{n}"), timers.hello, timers.dead))
            .collect()
    }

    pub fn director_addr(n: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 99, n as u8 + 1, 2)
    }

    pub fn names(&self) -> Vec<String> {
        let mut names = vec![self.r1.name().to_string()];
        names.extend(self.directors.iter().map(|d| d.name().to_string()));
        names
    }
}

// ===== checks =====

/// `Ok` when the router has exactly `ids` as neighbors, all Full.
pub fn router_full<'a>(
    router: &'a Router,
    ids: &[Ipv4Addr],
) -> impl FnMut() -> Result<Vec<Neighbor>, String> + 'a {
    let ids = ids.to_vec();
    move || all_full(router.neighbors()?, &ids)
}

/// What a converged lab looks like from the router.
#[derive(Clone, Copy, Debug)]
pub struct Converged<'a> {
    /// Exactly these neighbors, all Full.
    pub full: &'a [Ipv4Addr],
    pub vip: Ipv4Addr,
    /// This many nexthops for the VIP.
    pub nexthops: usize,
}

/// Waits until the router is `want` (neighbors Full, N nexthops for the VIP), both holding
/// together for `hold`: "Full and staying Full, N nexthops stable". Fails at once if one of
/// `directors` dies.
pub fn wait_converged(
    directors: &[&Director],
    router: &Router,
    r1: &NetNs,
    want: Converged<'_>,
    timeout: Duration,
    hold: Duration,
) -> Result<Waited<Vec<Ipv4Addr>>, WaitError> {
    let prefix = host(want.vip);
    let mut full = router_full(router, want.full);
    let mut hops = nexthop_count(r1, &prefix, want.nexthops);
    wait_stable(timeout, hold, || {
        directors.iter().for_each(|d| d.assert_alive());
        full()?;
        hops()
    })
}

/// What happened after a SIGTERM: when the router's route lost the node's nexthop and
/// when the process exited, both measured from the signal.
#[derive(Debug)]
pub struct ShutdownTrace {
    pub nexthop_dropped: Option<Duration>,
    pub exited: Option<Duration>,
    /// The route read just before the exit was noticed.
    pub route_at_exit: Vec<Ipv4Addr>,
    /// Every change of the route's nexthops seen while tracing (time since the signal).
    pub route_changes: Vec<(Duration, Vec<Ipv4Addr>)>,
}

impl ShutdownTrace {
    /// How long the route had no nexthop at all while tracing (a blackhole for the VIP).
    pub fn blackholed(&self) -> Duration {
        let mut total = Duration::ZERO;
        for (i, (at, hops)) in self.route_changes.iter().enumerate() {
            if hops.is_empty() {
                let until = self.route_changes.get(i + 1).map_or(*at, |(next, _)| *next);
                total += until - *at;
            }
        }
        total
    }

    /// The router dropped the nexthop before the process was seen gone.
    pub fn dropped_before_exit(&self) -> bool {
        match (self.nexthop_dropped, self.exited) {
            (Some(dropped), Some(exited)) => dropped <= exited,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

/// Sends SIGTERM to the director and polls (10 ms) both the router's route for `vip` and the
/// process until the nexthop `gateway` is gone and the process has exited, or `timeout`.
pub fn trace_shutdown(
    director: &mut Director,
    r1: &NetNs,
    vip: Ipv4Addr,
    gateway: Ipv4Addr,
    timeout: Duration,
) -> ShutdownTrace {
    let prefix = host(vip);
    let t0 = Instant::now();
    director.process().signal(super::process::Signal::Term);
    let mut trace = ShutdownTrace {
        nexthop_dropped: None,
        exited: None,
        route_at_exit: vec![],
        route_changes: vec![],
    };
    // Route first, process second: a nexthop seen gone before a poll that still finds the
    // process alive was provably dropped while the process ran.
    let settled = |trace: &ShutdownTrace| {
        trace.route_changes.last().is_some_and(|(at, hops)| {
            !hops.is_empty() && t0.elapsed() - *at > Duration::from_secs(2)
        })
    };
    while t0.elapsed() < timeout
        && (trace.nexthop_dropped.is_none() || trace.exited.is_none() || !settled(&trace))
    {
        let hops = super::peers::route_nexthops(r1, &prefix).unwrap_or_default();
        let read_at = t0.elapsed();
        if trace.route_changes.last().map(|(_, last)| last) != Some(&hops) {
            trace.route_changes.push((read_at, hops.clone()));
        }
        if trace.nexthop_dropped.is_none() && !hops.contains(&gateway) {
            trace.nexthop_dropped = Some(read_at);
        }
        if trace.exited.is_none() && !director.process().is_running() {
            trace.exited = Some(t0.elapsed());
            trace.route_at_exit = hops;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    trace
}

/// Polls until `check` is `Ok`, returning the time it took (for benchmarks: first match,
/// not stable).
pub fn time_until<T>(
    timeout: Duration,
    check: impl FnMut() -> Result<T, String>,
) -> Result<Duration, WaitError> {
    wait_until(timeout, Duration::from_millis(20), check).map(|w| w.after)
}
