//! Which connections survive each kind of failure, and how many carry data over time (root
//! only), for directord and for the keepalived + LVS reference. Labs (`LABS`):
//! - `directord`: tests/common/health_lab.rs, a BIRD router (ECMP over two `directord`s,
//!   nftables DR, hello 1 / dead 4), three real servers (Python echo servers), a client;
//! - `directord-ipvs`: the same with the IPVS dataplane, in the IPVS VM (its kernel needs
//!   `fib_multipath_hash_seed`: `IPVSVM_KERNEL=backports`);
//! - `lvs`, `lvs-sync`: tests/common/lvs_lab.rs, the same router, client and real servers
//!   with a keepalived VRRP pair doing LVS-DR (rr, advert_int 1) in the directors' places,
//!   without and with `lvs_sync_daemon`. They need IPVS: run them in the IPVS VM
//!   (`CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$PWD/scripts/lab/ipvs-vm
//!   LABS=lvs,lvs-sync cargo bench --bench connection_survival`).
//!
//! For each lab and failure, on a fresh lab: one long-lived connection from each of the 24
//! client sources (spread over the three real servers, and with directord over the two
//! directors); every connection sends a line every `PING` and checks that the answer comes
//! back from the real server that greeted it. Then the failure of the first director (d1,
//! or l1, the VRRP master):
//! - `drain`:  SIGTERM (directord withdraws its VIPs, then exits, its tables stay;
//!   keepalived sends a priority-0 advert and exits);
//! - `crash`:  SIGKILL and every packet the host receives dropped (the whole director is
//!   gone: the router notices after the OSPF dead interval, the VRRP backup after
//!   Master_Down_Interval);
//! - `server`: one real server's service is killed (its connections must break, no other);
//! - `reload`: both directors reload a configuration that adds another service.
//!
//! A connection survives when it answers again, from the same real server, before the end
//! of the window (`WINDOW` seconds after the failure, default 12). Prints a table; with
//! `DIRECTOR_BENCH_JSON=1` also the figures and two timelines for the plots of
//! docs/benchmarks.md: connections carrying data (replies within the last 0.5 s, sampled
//! every 0.1 s) and the path to the VIP (polled): the router's nexthops with directord,
//! the VRRP master (1 = l1, 2 = l2, 0 = none) with keepalived.
//!
//! `cargo bench --bench connection_survival` (as root). `FAILURES=drain,crash,server,reload`,
//! `LABS=directord` (or any of directord,lvs,lvs-sync).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "report/mod.rs"]
mod report;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::health_lab::{
    client_sources, expected_reals, lab_can_run, real_name, HealthLab, HeldConnection, VIP, VIP2,
};
use common::lvs_lab::{crash_host, kernel_has_ipvs, reload_nodes, vip_holder, LvsLab};
use common::ospf::host;
use common::peers::route_nexthops;
use common::process::Signal;
use common::wait::wait_stable;

const PING: Duration = Duration::from_millis(100);
/// A reply slower than this counts as a broken connection (the client's own socket timeout
/// is 10 s).
const REPLY_TIMEOUT: Duration = Duration::from_secs(9);
/// For all the clients to start and be greeted.
const GREETING_TIMEOUT: Duration = Duration::from_secs(60);
/// Observed before the failure, for the timeline.
const BEFORE: Duration = Duration::from_secs(2);
/// "Carrying data" at t: a reply in (t - RECENT, t].
const RECENT: f64 = 0.5;

/// Which directors the lab runs.
#[derive(Clone, Copy, PartialEq)]
enum Lab {
    Directord,
    DirectordIpvs,
    Lvs,
    LvsSync,
}

impl Lab {
    fn name(self) -> &'static str {
        match self {
            Lab::Directord => "directord",
            Lab::DirectordIpvs => "directord-ipvs",
            Lab::Lvs => "lvs",
            Lab::LvsSync => "lvs-sync",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Lab::Directord => {
                "2 directord (nftables DR, OSPF hello 1/dead 4, ECMP at a BIRD router)"
            }
            Lab::DirectordIpvs => {
                "2 directord (IPVS DR, OSPF hello 1/dead 4, ECMP at a BIRD router)"
            }
            Lab::Lvs => "keepalived VRRP pair + LVS-DR (rr, advert_int 1), no connection sync",
            Lab::LvsSync => "keepalived VRRP pair + LVS-DR (rr, advert_int 1), lvs_sync_daemon",
        }
    }

    fn programs(self) -> &'static [&'static str] {
        match self {
            Lab::Directord => &["bird", "birdc", "nft", "python3", "ip"],
            Lab::DirectordIpvs => &["bird", "birdc", "ipvsadm", "python3", "ip"],
            Lab::Lvs | Lab::LvsSync => &["keepalived", "ipvsadm", "nft", "python3", "ip"],
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Failure {
    Drain,
    Crash,
    Server,
    Reload,
}

impl Failure {
    fn name(self) -> &'static str {
        match self {
            Failure::Drain => "drain",
            Failure::Crash => "crash",
            Failure::Server => "server",
            Failure::Reload => "reload",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Failure::Drain => "graceful drain of director 1 (SIGTERM)",
            Failure::Crash => "crash of director 1 (SIGKILL, host drops everything)",
            Failure::Server => "death of real server b1",
            Failure::Reload => "reload adding a service",
        }
    }
}

/// Why a connection broke, from what its client saw.
#[derive(Clone, Copy, PartialEq)]
enum Cause {
    /// A reset (or a write into a reset connection).
    Reset,
    /// The server closed it (end of file).
    Closed,
    /// No answer within `REPLY_TIMEOUT`.
    Timeout,
    /// An answer from another real server.
    Moved,
    /// Any other error.
    Other,
}

impl Cause {
    const ALL: [Cause; 5] = [
        Cause::Reset,
        Cause::Closed,
        Cause::Timeout,
        Cause::Moved,
        Cause::Other,
    ];

    fn name(self) -> &'static str {
        match self {
            Cause::Reset => "reset",
            Cause::Closed => "closed",
            Cause::Timeout => "timeout",
            Cause::Moved => "moved",
            Cause::Other => "other",
        }
    }

    /// The cause of a reply that is not the expected one (the hold client prints `eof` or
    /// `err:ExceptionName`).
    fn of_reply(reply: &str) -> Cause {
        match reply {
            "eof" => Cause::Closed,
            r if r.contains("Reset") || r.contains("BrokenPipe") => Cause::Reset,
            r if r.contains("imeout") => Cause::Timeout,
            r if r.starts_with("err:") => Cause::Other,
            _ => Cause::Moved,
        }
    }
}

/// What one connection saw: the reply times (relative to the failure), and when and why it
/// broke.
struct Trace {
    server: String,
    replies: Vec<f64>,
    broken_at: Option<f64>,
    cause: Option<Cause>,
}

/// Seconds from `failure_at` to `t` (negative before the failure).
fn since(failure_at: Instant, t: Instant) -> f64 {
    if t >= failure_at {
        t.duration_since(failure_at).as_secs_f64()
    } else {
        -failure_at.duration_since(t).as_secs_f64()
    }
}

/// Pings `conn` until `end`; every reply must come from `server`.
fn ping(
    mut conn: HeldConnection,
    server: String,
    failure_at: Instant,
    end: Instant,
    done: mpsc::Sender<Trace>,
) {
    let mut trace = Trace {
        server: server.clone(),
        replies: Vec::new(),
        broken_at: None,
        cause: None,
    };
    let mut seq = 0u64;
    while Instant::now() < end {
        seq += 1;
        let want = format!("{server} {seq}");
        match conn.exchange(&seq.to_string(), REPLY_TIMEOUT) {
            Ok(reply) if reply == want => trace.replies.push(since(failure_at, Instant::now())),
            broken => {
                trace.broken_at = Some(since(failure_at, Instant::now()));
                trace.cause = Some(broken.map_or(Cause::Timeout, |r| Cause::of_reply(&r)));
                break;
            }
        }
        std::thread::sleep(PING);
    }
    let _ = done.send(trace);
}

struct Outcome {
    traces: Vec<Trace>,
    /// (seconds from the failure, the path to the VIP: the router's nexthops, or the VRRP
    /// master).
    path: Vec<(f64, f64)>,
    window: Duration,
    victim: String,
}

fn run(lab: Lab, failure: Failure, window: Duration) -> Result<Outcome, String> {
    match lab {
        Lab::Directord => run_directord("nftables", failure, window),
        Lab::DirectordIpvs => run_directord("ipvs", failure, window),
        Lab::Lvs => run_lvs(false, failure, window),
        Lab::LvsSync => run_lvs(true, failure, window),
    }
}

fn run_directord(
    dataplane: &'static str,
    failure: Failure,
    window: Duration,
) -> Result<Outcome, String> {
    let mut lab = HealthLab::with_dataplane(dataplane);
    let both = lab.director_addrs();
    let all_up = expected_reals(&[0, 1, 2]);
    wait_stable(Duration::from_secs(90), Duration::from_secs(3), || {
        lab.both_full()?;
        lab.route_is(VIP, &both)?;
        lab.reals_are(VIP, &all_up)
    })
    .map_err(|e| format!("baseline: {e}"))?;
    let conns = hold_all(|src| lab.hold_connection(VIP, src))?;
    let router = &lab.net.r1;
    let vip = host(VIP);
    let d1_ns = &lab.net.directors[0];
    let (directors, servers) = (&mut lab.directors, &mut lab.servers);
    Ok(observe(
        conns,
        window,
        || route_nexthops(router, &vip).map_or(0, |h| h.len()) as f64,
        || inject(failure, directors, servers, d1_ns),
    ))
}

fn run_lvs(sync: bool, failure: Failure, window: Duration) -> Result<Outcome, String> {
    let mut lab = LvsLab::new(sync);
    lab.wait_baseline(Duration::from_secs(120))
        .map_err(|e| format!("baseline: {e}"))?;
    let conns = hold_all(|src| lab.hold_connection(VIP, src))
        .map_err(|e| format!("{e}; {}", lab.diagnostics()))?;
    let directors = &lab.net.directors;
    let (nodes, servers, sync) = (&mut lab.nodes, &mut lab.servers, lab.sync);
    Ok(observe(
        conns,
        window,
        || f64::from(vip_holder(directors)),
        || match failure {
            Failure::Drain => nodes[0].daemon.signal(Signal::Term),
            Failure::Crash => crash_host(&directors[0]),
            Failure::Server => {
                servers[0].stop();
            }
            Failure::Reload => reload_nodes(nodes, &[VIP, VIP2], sync),
        },
    ))
}

/// One long-lived connection from each client source, each greeted by a real server. The
/// clients start together (a Python start costs seconds under the VM's emulation).
fn hold_all(
    hold: impl Fn(std::net::Ipv4Addr) -> HeldConnection,
) -> Result<Vec<(HeldConnection, String)>, String> {
    let started: Vec<_> = client_sources()
        .into_iter()
        .map(|src| (src, hold(src)))
        .collect();
    let mut conns = Vec::new();
    for (src, conn) in started {
        let greeting = conn
            .next_line(GREETING_TIMEOUT)
            .map_err(|e| format!("{src}: {e}"))?;
        if !greeting.starts_with('b') {
            return Err(format!("{src}: no greeting ({greeting})"));
        }
        conns.push((conn, greeting));
    }
    Ok(conns)
}

/// Pings every connection from `BEFORE` before the failure to `window` after it, samples
/// `path` every `PING`, and calls `inject` at the failure.
fn observe(
    conns: Vec<(HeldConnection, String)>,
    window: Duration,
    path: impl Fn() -> f64 + Sync,
    inject: impl FnOnce(),
) -> Outcome {
    let failure_at = Instant::now() + BEFORE;
    let end = failure_at + window;
    let (tx, rx) = mpsc::channel();
    let threads: Vec<_> = conns
        .into_iter()
        .map(|(conn, server)| {
            let tx = tx.clone();
            std::thread::spawn(move || ping(conn, server, failure_at, end, tx))
        })
        .collect();
    drop(tx);
    let path = std::thread::scope(|scope| {
        let poller = scope.spawn(|| {
            let mut points = Vec::new();
            while Instant::now() < end {
                let value = path();
                points.push((since(failure_at, Instant::now()), value));
                std::thread::sleep(PING);
            }
            points
        });
        std::thread::sleep(failure_at.saturating_duration_since(Instant::now()));
        inject();
        poller.join().unwrap_or_default()
    });
    let traces: Vec<Trace> = rx.iter().collect();
    for t in threads {
        let _ = t.join();
    }
    Outcome {
        traces,
        path,
        window,
        victim: real_name(0),
    }
}

/// Applies `failure` to the lab: d1 is `directors[0]` in the namespace `d1_ns`, b1 is
/// `servers[0]`.
fn inject(
    failure: Failure,
    directors: &mut [common::health_lab::Director],
    servers: &mut [common::process::Daemon],
    d1_ns: &common::netns::NetNs,
) {
    match failure {
        Failure::Drain => directors[0].daemon.signal(Signal::Term),
        // IPVS drops frames for another host's MAC before it sees them: the link down is
        // the host gone (and an nft rule would cost seconds of module loading in the VM).
        Failure::Crash if directors[0].dataplane == "ipvs" => crash_host(d1_ns),
        Failure::Crash => {
            let _ = directors[0].daemon.kill();
            // The host stops forwarding, but its switch port stays up: with the link down,
            // the lab's bridge would flood d1's frames to d2, whose netdev ingress rule
            // forwards them, and hide the dead interval a real crash costs.
            d1_ns.exec_ok(&[
                "nft",
                "add table netdev crashed; add chain netdev crashed everything { type filter hook ingress device eth0 priority -500; policy drop; }",
            ]);
        }
        Failure::Server => {
            servers[0].stop();
        }
        Failure::Reload => {
            for d in directors.iter() {
                d.write_config(&d.config_for(&[VIP, VIP2]));
            }
            for d in directors.iter_mut() {
                d.daemon.signal(Signal::Hup);
            }
        }
    }
}

impl Outcome {
    /// Answered again after the failure, and not broken.
    fn survived(t: &Trace) -> bool {
        t.broken_at.is_none() && t.replies.last().is_some_and(|r| *r > 0.0)
    }

    /// The longest gap between two replies after the failure (a stall that recovered).
    fn longest_stall(t: &Trace) -> f64 {
        t.replies
            .windows(2)
            .filter(|w| w[1] > 0.0)
            .map(|w| w[1] - w[0])
            .fold(0.0, f64::max)
    }

    fn timeline(&self) -> Vec<(f64, f64)> {
        // Tenths of a second, as integers, so that the sample times print exactly.
        let (from, to) = (
            -(BEFORE.as_millis() as i64 / 100),
            self.window.as_millis() as i64 / 100,
        );
        (from..=to)
            .map(|tenth| {
                let t = tenth as f64 / 10.0;
                let carrying = self
                    .traces
                    .iter()
                    .filter(|tr| tr.replies.iter().any(|r| *r <= t && *r > t - RECENT))
                    .count();
                (t, carrying as f64)
            })
            .collect()
    }
}

fn main() {
    let window = Duration::from_secs(
        std::env::var("WINDOW")
            .ok()
            .and_then(|w| w.parse().ok())
            .unwrap_or(12),
    );
    let failures: Vec<Failure> = std::env::var("FAILURES")
        .unwrap_or_else(|_| "drain,crash,server,reload".into())
        .split(',')
        .filter_map(|f| match f.trim() {
            "drain" => Some(Failure::Drain),
            "crash" => Some(Failure::Crash),
            "server" => Some(Failure::Server),
            "reload" => Some(Failure::Reload),
            _ => None,
        })
        .collect();
    let labs: Vec<Lab> = std::env::var("LABS")
        .unwrap_or_else(|_| "directord".into())
        .split(',')
        .filter_map(|l| match l.trim() {
            "directord" => Some(Lab::Directord),
            "directord-ipvs" => Some(Lab::DirectordIpvs),
            "lvs" => Some(Lab::Lvs),
            "lvs-sync" => Some(Lab::LvsSync),
            _ => None,
        })
        .collect();
    for lab in labs {
        if !lab_can_run(
            &format!("connection_survival {}", lab.name()),
            lab.programs(),
        ) {
            continue;
        }
        if lab != Lab::Directord && !kernel_has_ipvs() {
            common::skip(
                &format!("connection_survival {}", lab.name()),
                "needs IPVS (the host kernel has none): run it through scripts/lab/ipvs-vm",
            );
            continue;
        }
        measure(lab, &failures, window);
    }
}

fn measure(lab: Lab, failures: &[Failure], window: Duration) {
    println!(
        "connection_survival: {}: {} connections, 3 real servers, window {} s",
        lab.describe(),
        client_sources().len(),
        window.as_secs()
    );
    let causes: Vec<&str> = Cause::ALL.iter().map(|c| c.name()).collect();
    println!(
        "| failure | survived | broke on the dead server | broke elsewhere | {} | longest stall (s) |",
        causes.join(" | ")
    );
    println!("|---|---|---|---|{}---|", "---|".repeat(causes.len()));
    for &failure in failures {
        let out = match run(lab, failure, window) {
            Ok(o) => o,
            Err(e) => {
                println!("| {} | failed: {e} | | | |", failure.describe());
                continue;
            }
        };
        let total = out.traces.len();
        let survived = out.traces.iter().filter(|t| Outcome::survived(t)).count();
        let on_victim = |t: &&Trace| failure == Failure::Server && t.server == out.victim;
        let broke_victim = out
            .traces
            .iter()
            .filter(|t| !Outcome::survived(t))
            .filter(on_victim)
            .count();
        let broke_elsewhere = total - survived - broke_victim;
        let broke_by: Vec<usize> = Cause::ALL
            .iter()
            .map(|c| {
                out.traces
                    .iter()
                    .filter(|t| !Outcome::survived(t) && t.cause == Some(*c))
                    .count()
            })
            .collect();
        let stall = out
            .traces
            .iter()
            .filter(|t| Outcome::survived(t))
            .map(Outcome::longest_stall)
            .fold(0.0, f64::max);
        let share = if total == 0 {
            0.0
        } else {
            survived as f64 / total as f64
        };
        let labels = [("lab", lab.name()), ("failure", failure.name())];
        let figure = |metric: &str, unit: &str, value: f64| {
            report::figure("connection_survival", &labels, metric, unit, &[value]);
        };
        figure("survived", "share", share);
        figure("connections", "count", total as f64);
        figure("broke_on_dead_server", "count", broke_victim as f64);
        figure("broke_elsewhere", "count", broke_elsewhere as f64);
        for (cause, n) in Cause::ALL.iter().zip(&broke_by) {
            figure(&format!("broke_{}", cause.name()), "count", *n as f64);
        }
        figure("longest_stall", "s", stall);
        let path = match lab {
            Lab::Directord | Lab::DirectordIpvs => "nexthops",
            Lab::Lvs | Lab::LvsSync => "vrrp_master",
        };
        report::series("connection_survival", &labels, "carrying", &out.timeline());
        report::series("connection_survival", &labels, path, &out.path);
        let by: Vec<String> = broke_by.iter().map(usize::to_string).collect();
        println!(
            "| {} | {survived}/{total} | {broke_victim} | {broke_elsewhere} | {} | {stall:.2} |",
            failure.describe(),
            by.join(" | ")
        );
        let _ = std::io::Write::flush(&mut std::io::stdout());
    }
}
