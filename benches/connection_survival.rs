//! Which connections survive each kind of failure, and how many carry data over time (root
//! only). The lab of tests/common/health_lab.rs: a BIRD router (ECMP over two `directord`s,
//! nftables DR, hello 1 / dead 4), three real servers (Python echo servers) and a client.
//!
//! For each failure, on a fresh lab: one long-lived connection from each of the 24 client
//! sources (Maglev spreads them over the three real servers, ECMP over the two directors);
//! every connection sends a line every `PING` and checks that the answer comes back from
//! the real server that greeted it. Then the failure:
//! - `drain`:  SIGTERM to d1 (withdraws its VIPs, then exits; its tables stay);
//! - `crash`:  SIGKILL to d1 and every packet it receives dropped (the whole director is
//!   gone; the router notices after the OSPF dead interval);
//! - `server`: one real server's service is killed (its connections must break, no other);
//! - `reload`: both directors reload a configuration that adds another service.
//!
//! A connection survives when it answers again, from the same real server, before the end
//! of the window (`WINDOW` seconds after the failure, default 12). Prints a table; with
//! `DIRECTOR_BENCH_JSON=1` also the figures and two timelines for the plots of
//! docs/benchmarks.md: connections carrying data (replies within the last 0.5 s, sampled
//! every 0.1 s) and the number of nexthops of the router's route to the VIP (polled).
//!
//! `cargo bench --bench connection_survival` (as root). `FAILURES=drain,crash,server,reload`.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "report/mod.rs"]
mod report;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::health_lab::{
    client_sources, expected_reals, lab_can_run, real_name, HealthLab, HeldConnection, VIP, VIP2,
};
use common::ospf::host;
use common::peers::route_nexthops;
use common::process::Signal;
use common::wait::wait_stable;

const PING: Duration = Duration::from_millis(100);
/// A reply slower than this counts as a broken connection (the client's own socket timeout
/// is 10 s).
const REPLY_TIMEOUT: Duration = Duration::from_secs(9);
/// Observed before the failure, for the timeline.
const BEFORE: Duration = Duration::from_secs(2);
/// "Carrying data" at t: a reply in (t - RECENT, t].
const RECENT: f64 = 0.5;

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
            Failure::Drain => "graceful drain of d1 (SIGTERM)",
            Failure::Crash => "crash of d1 (SIGKILL, host drops everything)",
            Failure::Server => "death of real server b1",
            Failure::Reload => "reload adding a service",
        }
    }
}

/// What one connection saw: the reply times (relative to the failure), and when it broke.
struct Trace {
    server: String,
    replies: Vec<f64>,
    broken_at: Option<f64>,
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
    };
    let mut seq = 0u64;
    while Instant::now() < end {
        seq += 1;
        let want = format!("{server} {seq}");
        match conn.exchange(&seq.to_string(), REPLY_TIMEOUT) {
            Ok(reply) if reply == want => trace.replies.push(since(failure_at, Instant::now())),
            _ => {
                trace.broken_at = Some(since(failure_at, Instant::now()));
                break;
            }
        }
        std::thread::sleep(PING);
    }
    let _ = done.send(trace);
}

struct Outcome {
    traces: Vec<Trace>,
    /// (seconds from the failure, nexthops of the router's route to the VIP).
    nexthops: Vec<(f64, f64)>,
    window: Duration,
    victim: String,
}

fn run(failure: Failure, window: Duration) -> Result<Outcome, String> {
    let mut lab = HealthLab::new();
    let both = lab.director_addrs();
    let all_up = expected_reals(&[0, 1, 2]);
    wait_stable(Duration::from_secs(90), Duration::from_secs(3), || {
        lab.both_full()?;
        lab.route_is(VIP, &both)?;
        lab.reals_are(VIP, &all_up)
    })
    .map_err(|e| format!("baseline: {e}"))?;

    let mut conns = Vec::new();
    for src in client_sources() {
        let conn = lab.hold_connection(VIP, src);
        let greeting = conn.next_line(Duration::from_secs(15))?;
        if !greeting.starts_with('b') {
            return Err(format!("{src}: no greeting ({greeting})"));
        }
        conns.push((conn, greeting));
    }
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
    let router = &lab.net.r1;
    let vip = host(VIP);
    let (nexthops, victim) = std::thread::scope(|scope| {
        let poller = scope.spawn(|| {
            let mut points = Vec::new();
            while Instant::now() < end {
                let hops = route_nexthops(router, &vip).map_or(0, |h| h.len());
                points.push((since(failure_at, Instant::now()), hops as f64));
                std::thread::sleep(PING);
            }
            points
        });
        std::thread::sleep(failure_at.saturating_duration_since(Instant::now()));
        inject(
            failure,
            &mut lab.directors,
            &mut lab.servers,
            &lab.net.directors[0],
        );
        (poller.join().unwrap_or_default(), real_name(0))
    });
    let traces: Vec<Trace> = rx.iter().collect();
    for t in threads {
        let _ = t.join();
    }
    Ok(Outcome {
        traces,
        nexthops,
        window,
        victim,
    })
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
    if !lab_can_run(
        "connection_survival",
        &["bird", "birdc", "nft", "python3", "ip"],
    ) {
        return;
    }
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
    println!(
        "connection_survival: {} connections, 2 directors (nftables DR, OSPF hello 1/dead 4), 3 real servers, window {} s",
        client_sources().len(),
        window.as_secs()
    );
    println!(
        "| failure | survived | broke on the dead server | broke elsewhere | longest stall (s) |"
    );
    println!("|---|---|---|---|---|");
    for failure in failures {
        let out = match run(failure, window) {
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
        let labels = [("failure", failure.name())];
        report::figure(
            "connection_survival",
            &labels,
            "survived",
            "share",
            &[share],
        );
        report::figure(
            "connection_survival",
            &labels,
            "connections",
            "count",
            &[total as f64],
        );
        report::figure(
            "connection_survival",
            &labels,
            "broke_on_dead_server",
            "count",
            &[broke_victim as f64],
        );
        report::figure(
            "connection_survival",
            &labels,
            "broke_elsewhere",
            "count",
            &[broke_elsewhere as f64],
        );
        report::figure(
            "connection_survival",
            &labels,
            "longest_stall",
            "s",
            &[stall],
        );
        report::series("connection_survival", &labels, "carrying", &out.timeline());
        report::series("connection_survival", &labels, "nexthops", &out.nexthops);
        println!(
            "| {} | {survived}/{total} | {broke_victim} | {broke_elsewhere} | {stall:.2} |",
            failure.describe()
        );
        let _ = std::io::Write::flush(&mut std::io::stdout());
    }
}
