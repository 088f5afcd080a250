//! Chaos run (issue 14): for `CHAOS_SECONDS` (default 90), a seeded random sequence of
//! kill -9 and restart of directors, stop and start of real servers' services, restarts
//! of the router's OSPF daemon, and reloads (another service added or removed, real
//! server b4 added to or removed from the service), at random pauses, while the load
//! generator keeps 24 checksummed streams open (reopening any that break) and opens short
//! connections besides. Lab: three `directord` (nftables DR, OSPF + BFD) behind BIRD, or
//! FRR with `CHAOS_ROUTER=frr` (topology in `tests/common/e2e.rs`).
//!
//! Afterwards: the lab settles with the surviving directors — identical tables on all of
//! them, the route via exactly them, every real server at the weight its health says —,
//! every stream runs on the server the Maglev table predicts, nothing leaked (processes,
//! namespaces), and every broken stream and failed new connection is explained by a
//! component the run disturbed, counted by cause; one that is not fails the test.
//!
//! The seed is printed (`CHAOS: seed N`); `CHAOS_SEED=N` replays the same sequence of
//! actions and pauses (the timing of the daemons' reactions differs from run to run).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};

use common::e2e::{
    predicted_servers, real_name, stream_sources, E2eLab, FailedOpen, LoadStatus, Services,
    CONVERGE, OTHER_VIPS, POLL, VERDICT, VIP,
};
use common::ospf::{host, RouterKind};
use common::peers::parse_route_nexthops;
use common::wait::wait_until;

const STREAMS: usize = 24;
const TICK: Duration = Duration::from_millis(200);
const DIRECTORS: usize = 3;
/// Pause between two actions, in milliseconds.
const PAUSE_MS: std::ops::Range<u64> = 1_000..6_000;

/// How long after a disturbance a new connection may fail because of it: a SYN sent into
/// a killed director before BFD (1 s) and the router take its nexthop away, a
/// stopped server's slots before its health check (delay_loop 1, connect_timeout 1) and
/// the tables drop it, plus the client's 3 s connect timeout.
const DIRECTOR_KILL_WINDOW: Duration = Duration::from_secs(6);
const SERVER_STOP_WINDOW: Duration = Duration::from_secs(10);
/// A connect() that started while the router had no route fails up to its timeout later.
const NO_ROUTE_WINDOW: Duration = Duration::from_secs(4);
/// A router daemon restart empties the route within this time (SIGTERM: it withdraws its
/// kernel routes as it exits, which takes well under a second here).
const ROUTER_FLUSH: Duration = Duration::from_secs(5);
/// How long the tables may lag an event (a health verdict: delay_loop 1, connect_timeout
/// 1, retry 0, then a reconcile): a stream opened this soon after an event may have been
/// placed by the table before it.
const TABLE_LAG: Duration = Duration::from_secs(4);

/// What the run did, when.
#[derive(Clone, Debug)]
enum Action {
    KillDirector(usize),
    StartDirector(usize),
    StopServer(usize),
    StartServer(usize),
    RestartRouter,
    /// The other service (VIP_B) added (true) or removed.
    ReloadOtherService(bool),
    /// Real server b4 added to (true) or removed from the service.
    ReloadB4(bool),
}

/// The table state: configured real servers and those serving.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TableState {
    configured: Vec<usize>,
    serving: Vec<usize>,
}

fn table_state(lab: &E2eLab) -> TableState {
    TableState {
        configured: lab.services.reals.clone(),
        serving: lab.healthy_reals(),
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
    )
}

/// The seed's 8 bytes, repeated: ChaCha wants 32.
fn rng_of(seed: u64) -> TestRng {
    let bytes: Vec<u8> = seed.to_le_bytes().repeat(4);
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// Picks the next action the lab allows: at least one director and one serving
/// configured real server stay, so the service never disappears by design.
fn pick(rng: &mut TestRng, lab: &E2eLab) -> Action {
    loop {
        let running = lab.running();
        let dead: Vec<usize> = (0..DIRECTORS).filter(|n| !running.contains(n)).collect();
        let healthy = lab.healthy_reals();
        let stopped: Vec<usize> = (0..4).filter(|i| !lab.serving.contains(i)).collect();
        let choice = rng.random_range(0..8u32);
        let any = |rng: &mut TestRng, v: &[usize]| v[rng.random_range(0..v.len())];
        match choice {
            0 | 1 if running.len() > 1 => return Action::KillDirector(any(rng, &running)),
            2 if !dead.is_empty() => return Action::StartDirector(any(rng, &dead)),
            3 if healthy.len() > 1 => return Action::StopServer(any(rng, &healthy)),
            4 if !stopped.is_empty() => return Action::StartServer(any(rng, &stopped)),
            5 => return Action::RestartRouter,
            6 => return Action::ReloadOtherService(lab.services.other_vips.is_empty()),
            7 => {
                let add = !lab.services.reals.contains(&3);
                // Removing b4 must leave a serving real server.
                if add || healthy.iter().any(|i| *i != 3) {
                    return Action::ReloadB4(add);
                }
            }
            _ => {}
        }
    }
}

fn apply(lab: &mut E2eLab, action: &Action) {
    match action {
        Action::KillDirector(n) => {
            // Only with another director in the route: the test is about the service
            // surviving, and a lab without an announcing director has no service by design
            // (an outage would then only be explained by "everything was dead").
            let others = lab.addrs(
                &lab.running()
                    .into_iter()
                    .filter(|m| m != n)
                    .collect::<Vec<_>>(),
            );
            wait_until(CONVERGE, POLL, || match lab.route(VIP)? {
                hops if hops.iter().any(|h| others.contains(h)) => Ok(()),
                hops => Err(format!(
                    "route via {hops:?}, no other running director in it"
                )),
            })
            .unwrap_or_else(|e| panic!("{}: before killing d{}: {e}", lab.label(), n + 1));
            lab.directors[*n].daemon.kill();
        }
        Action::StartDirector(n) => lab.directors[*n].daemon.restart(),
        Action::StopServer(i) => lab.stop_server(*i),
        Action::StartServer(i) => lab.start_server(*i),
        Action::RestartRouter => lab.restart_router(),
        Action::ReloadOtherService(add) => {
            let mut svc = lab.services.clone();
            svc.other_vips = if *add { vec![OTHER_VIPS[0]] } else { vec![] };
            lab.write_configs(svc);
            lab.reload_all();
        }
        Action::ReloadB4(add) => {
            let mut svc = lab.services.clone();
            svc.reals = if *add {
                vec![0, 1, 2, 3]
            } else {
                vec![0, 1, 2]
            };
            lab.write_configs(svc);
            lab.reload_all();
        }
    }
}

/// Each change of the router's route: when it was seen, and the nexthops from then on.
type RouteChanges = Vec<(Instant, Vec<Ipv4Addr>)>;

/// Polls the router's route for the VIP every 100 ms and keeps each change, until dropped.
struct RouteMonitor {
    changes: Arc<Mutex<RouteChanges>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RouteMonitor {
    fn start(r1: &str) -> RouteMonitor {
        let changes = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sink, stopped, ns) = (Arc::clone(&changes), Arc::clone(&stop), r1.to_string());
        let thread = std::thread::spawn(move || {
            let mut last: Option<Vec<Ipv4Addr>> = None;
            while !stopped.load(Ordering::Relaxed) {
                let out = std::process::Command::new("ip")
                    .args(["-n", &ns, "-j", "route", "show", &host(VIP)])
                    .output();
                let hops = out
                    .ok()
                    .and_then(|o| parse_route_nexthops(&String::from_utf8_lossy(&o.stdout)).ok())
                    .unwrap_or_default();
                if last.as_ref() != Some(&hops) {
                    sink.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((Instant::now(), hops.clone()));
                    last = Some(hops);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        RouteMonitor {
            changes,
            stop,
            thread: Some(thread),
        }
    }

    /// When each period without a route for the VIP that overlaps `[from, to]` began.
    fn no_route_during(&self, from: Instant, to: Instant) -> Vec<Instant> {
        let changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        changes
            .iter()
            .enumerate()
            .filter(|(i, (at, hops))| {
                let until = changes.get(i + 1).map_or(to, |(next, _)| *next);
                hops.is_empty() && *at <= to && until >= from
            })
            .map(|(_, (at, _))| *at)
            .collect()
    }

    fn empty_periods(&self) -> usize {
        let changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        changes.iter().filter(|(_, hops)| hops.is_empty()).count()
    }
}

impl Drop for RouteMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The run's record: every action with its time and the table state after it.
struct Timeline {
    /// The table state before the first action.
    start: TableState,
    actions: Vec<(Instant, Action, TableState)>,
}

impl Timeline {
    /// Whether an action in `[at - window, at]` moved the slot of `src` to another real
    /// server (the prediction before it differs from the one after it).
    fn slot_moved(&self, src: Ipv4Addr, at: Instant, window: Duration) -> bool {
        let predicted =
            |s: &TableState| predicted_servers(&s.configured, &s.serving, &[src])[&src].clone();
        let mut before = &self.start;
        for (t, _, after) in &self.actions {
            if *t <= at && at.duration_since(*t) <= window && predicted(before) != predicted(after)
            {
                return true;
            }
            before = after;
        }
        false
    }

    fn recent(&self, at: Instant, window: Duration, matches: impl Fn(&Action) -> bool) -> bool {
        self.actions
            .iter()
            .any(|(t, a, _)| *t <= at && at.duration_since(*t) <= window && matches(a))
    }

    fn describe_around(&self, at: Instant, t0: Instant) -> String {
        let mut s = String::new();
        for (t, a, _) in &self.actions {
            if t.max(&at).duration_since(*t.min(&at)) <= Duration::from_secs(15) {
                let _ = write!(s, "[{:.1?} {a:?}] ", t.duration_since(t0));
            }
        }
        s
    }
}

/// Why a stream that opened at `opened` on `server` broke at `at`, or None.
fn explain_break(
    timeline: &Timeline,
    src: Ipv4Addr,
    server: &str,
    opened: Instant,
    at: Instant,
) -> Option<&'static str> {
    let stopped = |a: &Action| matches!(a, Action::StopServer(i) if real_name(*i) == server);
    if timeline
        .actions
        .iter()
        .any(|(t, a, _)| *t >= opened && *t <= at && stopped(a))
    {
        return Some("its real server was stopped");
    }
    // The table states that followed an action during the stream's life (or just before
    // its open, when the table may not have caught up yet): its slot moved if one of them
    // sends its source elsewhere.
    let from = opened.checked_sub(TABLE_LAG).unwrap_or(opened);
    let elsewhere = |state: &TableState| {
        let p = predicted_servers(&state.configured, &state.serving, &[src]);
        p[&src].as_deref() != Some(server)
    };
    for (t, action, state) in timeline
        .actions
        .iter()
        .filter(|(t, _, _)| *t > from && *t <= at)
    {
        if elsewhere(state) {
            return Some("its source slot moved to another real server (a server stopped, started, added or removed)");
        }
        if let Some(optimistic) = added_while_down(action, state) {
            if elsewhere(&optimistic) {
                return Some(ADDED_WHILE_DOWN);
            }
        }
        if let Some((_, optimistic)) = restarted_into_a_stale_route(timeline, *t, action, state) {
            if elsewhere(&optimistic) {
                return Some(RESTARTED_INTO_A_STALE_ROUTE);
            }
        }
    }
    None
}

const ADDED_WHILE_DOWN: &str = "b4 was added while its service was stopped: its new checker \
     starts up until its first check fails (keepalived semantics without `alpha`)";

/// When `action` added b4 to the configuration while its service was stopped: the table
/// state with b4 counted up, which holds until its first check fails.
fn added_while_down(action: &Action, state: &TableState) -> Option<TableState> {
    if !matches!(action, Action::ReloadB4(true)) || state.serving.contains(&3) {
        return None;
    }
    let mut optimistic = state.clone();
    optimistic.serving.push(3);
    Some(optimistic)
}

/// A director started while a real server is stopped counts it up until its first checks
/// (keepalived's semantics without `alpha`), but announces no VIP before them, so no
/// router sends it a flow for its own announcement. What is left: a restart so soon after
/// its kill that the router still routes to the killed process (until BFD takes the
/// nexthop, or the new process's first Hello drops the old adjacency).
const RESTARTED_INTO_A_STALE_ROUTE: &str = "a director restarted while a real server was \
     stopped and before the router dropped its killed predecessor's nexthop: until its first \
     Hello (or BFD) ends that route, its first table, which counts every server up until the \
     first checks, serves what the router still sends it";

/// When `action`, at `start`, restarted a director within DIRECTOR_KILL_WINDOW of its
/// kill while a configured real server was stopped: when it was killed, and the table
/// state of the new director (every configured server counted up).
fn restarted_into_a_stale_route(
    timeline: &Timeline,
    start: Instant,
    action: &Action,
    state: &TableState,
) -> Option<(Instant, TableState)> {
    let Action::StartDirector(d) = action else {
        return None;
    };
    if state.serving.len() >= state.configured.len() {
        return None;
    }
    let killed = timeline.actions.iter().rev().find_map(|(t, a, _)| {
        (*t <= start
            && start.duration_since(*t) <= DIRECTOR_KILL_WINDOW
            && matches!(a, Action::KillDirector(k) if k == d))
        .then_some(*t)
    })?;
    let optimistic = TableState {
        configured: state.configured.clone(),
        serving: state.configured.clone(),
    };
    Some((killed, optimistic))
}

/// Whether a director restarted into its predecessor's stale route while a configured real
/// server was stopped could still send a connection at `at` to that server: from its start
/// until the router has dropped the route (DIRECTOR_KILL_WINDOW after the kill, as for
/// any killed director).
fn restarted_into_a_stale_route_at(timeline: &Timeline, at: Instant) -> bool {
    timeline.actions.iter().any(|(start, action, state)| {
        *start <= at
            && restarted_into_a_stale_route(timeline, *start, action, state)
                .is_some_and(|(killed, _)| at <= killed + DIRECTOR_KILL_WINDOW)
    })
}

/// Why a new connection failed, or None. A refusal comes from a real server that does
/// not serve (stopped, its slots not yet moved); silence (a timeout, unreachable) from a
/// dead director or a missing route.
fn explain_failed_open(
    timeline: &Timeline,
    routes: &RouteMonitor,
    failed: &FailedOpen,
) -> Option<&'static str> {
    let at = failed.at;
    if failed.answered_by_a_server() {
        if timeline.recent(at, SERVER_STOP_WINDOW, |a| {
            matches!(a, Action::StopServer(_))
        }) {
            return Some("a real server stopped (its slots before the health check moved them)");
        }
        let added_down = timeline.actions.iter().any(|(t, a, state)| {
            *t <= at
                && at.duration_since(*t) <= SERVER_STOP_WINDOW
                && added_while_down(a, state).is_some()
        });
        if added_down {
            return Some(ADDED_WHILE_DOWN);
        }
        if restarted_into_a_stale_route_at(timeline, at) {
            return Some(RESTARTED_INTO_A_STALE_ROUTE);
        }
        // A short connection reset mid-way: its slot moved while it was open.
        let src = failed.src.parse().unwrap_or(Ipv4Addr::UNSPECIFIED);
        let moved = failed.reason != "ECONNREFUSED"
            && timeline.slot_moved(src, at, NO_ROUTE_WINDOW + TABLE_LAG);
        return moved.then_some("its source slot moved to another real server while it was open");
    }
    if timeline.recent(at, DIRECTOR_KILL_WINDOW, |a| {
        matches!(a, Action::KillDirector(_))
    }) {
        return Some("a director was killed (SYN into it before BFD took its nexthop)");
    }
    // An outage explains a failure only when a restart of the router's daemon began it
    // (its routes go with it); the monitor polls every 100 ms and can miss the start of
    // an outage, so the restart itself explains the failures just after it.
    let restarted_just_before = |outage: Instant| {
        timeline.actions.iter().any(|(t, a, _)| {
            matches!(a, Action::RestartRouter)
                && *t <= outage
                && outage.duration_since(*t) <= ROUTER_FLUSH
        })
    };
    if routes
        .no_route_during(at.checked_sub(NO_ROUTE_WINDOW).unwrap_or(at), at)
        .into_iter()
        .any(restarted_just_before)
        || timeline.recent(at, NO_ROUTE_WINDOW, |a| matches!(a, Action::RestartRouter))
    {
        return Some("the router had no route (its OSPF daemon restarted)");
    }
    None
}

/// Every namespace of this test process still present (`dt-…-{pid}-{n}`).
fn our_namespaces() -> Vec<String> {
    let pid = format!("-{}-", std::process::id());
    let out = common::run_ok(&["ip", "netns", "list"]);
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| name.starts_with("dt-") && name.contains(&pid))
        .map(str::to_string)
        .collect()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

#[test]
fn chaos() {
    require_root!();
    let seed = env_u64("CHAOS_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let seconds = env_u64("CHAOS_SECONDS").unwrap_or(90);
    let router_kind = match std::env::var("CHAOS_ROUTER").as_deref() {
        Ok("frr") => RouterKind::Frr,
        Ok("bird") | Err(_) => RouterKind::Bird,
        Ok(other) => panic!("CHAOS_ROUTER={other:?}: bird or frr"),
    };
    match router_kind {
        RouterKind::Bird => {
            require_programs!("bird", "birdc", "nft", "python3");
        }
        RouterKind::Frr => {
            require_programs!(
                "/usr/lib/frr/zebra",
                "/usr/lib/frr/ospfd",
                "/usr/lib/frr/bfdd",
                "vtysh",
                "nft",
                "python3"
            );
        }
    }
    println!(
        "CHAOS: seed {seed} ({seconds} s, router {router_kind:?}); replay with CHAOS_SEED={seed}"
    );
    let mut rng = rng_of(seed);
    let sources = stream_sources(STREAMS);
    let mut lab = E2eLab::new(
        "chaos",
        router_kind,
        DIRECTORS,
        Services {
            reals: vec![0, 1, 2],
            other_vips: vec![],
        },
    );
    let label = lab.label();
    lab.wait_settled(
        &[0, 1, 2],
        "before the chaos: three directors Full, VIP via all",
    );
    lab.start_load(&sources, TICK);
    let empty = LoadStatus {
        streams: vec![],
        probes_ok: 0,
        probes_failed: 0,
    };
    lab.load()
        .wait_progress(&sources, &empty, 3, VERDICT)
        .expect("every stream open and verified before the chaos");
    let routes = RouteMonitor::start(lab.net.r1.name());
    let mark = lab.load().mark();

    // ===== the chaos =====
    let t0 = Instant::now();
    let mut timeline = Timeline {
        start: table_state(&lab),
        actions: Vec::new(),
    };
    while t0.elapsed() < Duration::from_secs(seconds) {
        let action = pick(&mut rng, &lab);
        let at = Instant::now();
        apply(&mut lab, &action);
        println!("CHAOS: {:>6.1?} {action:?}", at.duration_since(t0));
        timeline.actions.push((at, action, table_state(&lab)));
        std::thread::sleep(Duration::from_millis(rng.random_range(PAUSE_MS)));
    }
    let chaos_took = t0.elapsed();

    // ===== afterwards =====
    let running = lab.running();
    assert!(lab.router_alive(), "{label}: the router's daemon died");
    let settle = Instant::now();
    lab.wait_settled(
        &running,
        "after the chaos: tables identical, route via exactly the running directors",
    );
    let settled_after = settle.elapsed();
    let predicted = predicted_servers(&lab.services.reals, &lab.healthy_reals(), &sources);
    let deadline = Instant::now() + VERDICT;
    loop {
        let status = lab.load().status().expect("status");
        let wrong: Vec<String> = sources
            .iter()
            .filter(|src| {
                let want = predicted[src].as_deref().unwrap_or("none");
                !status
                    .stream(**src)
                    .is_some_and(|s| s.open && s.server == want)
            })
            .map(|s| s.to_string())
            .collect();
        if wrong.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{label}: after the chaos, streams not open on their predicted servers: {wrong:?} {status:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let before = lab.load().status().expect("status");
    let final_status = lab
        .load()
        .wait_progress(&sources, &before, 3, VERDICT)
        .unwrap_or_else(|e| panic!("{label}: after the chaos: {e}"));

    // Every break and failed connection, by cause.
    let events = lab.load().events();
    let opened_at = |src: Ipv4Addr, sport: u16| {
        events
            .iter()
            .find(|e| {
                e.ev["ev"] == "open"
                    && e.ev["src"] == src.to_string().as_str()
                    && e.ev["sport"] == sport
            })
            .map(|e| e.at)
    };
    let mut causes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    let breaks = lab.load().breaks_since(mark);
    for b in &breaks {
        let opened = opened_at(b.src, b.sport).unwrap_or(t0);
        match explain_break(&timeline, b.src, &b.server, opened, b.at) {
            Some(cause) => {
                println!(
                    "CHAOS: {:>6.1?} stream {} on {} broke ({}): {cause}",
                    b.at.duration_since(t0),
                    b.src,
                    b.server,
                    b.reason
                );
                *causes.entry(cause).or_default() += 1
            }
            None => unexplained.push(format!(
                "stream {}:{} on {} broke ({}) after {} lines at {:.1?}, around: {}",
                b.src,
                b.sport,
                b.server,
                b.reason,
                b.seq,
                b.at.duration_since(t0),
                timeline.describe_around(b.at, t0)
            )),
        }
    }
    let failed = lab.load().failed_opens_since(mark);
    for f in &failed {
        match explain_failed_open(&timeline, &routes, f) {
            Some(cause) => {
                println!(
                    "CHAOS: {:>6.1?} new connection from {} failed ({} {}): {cause}",
                    f.at.duration_since(t0),
                    f.src,
                    f.kind,
                    f.reason
                );
                *causes.entry(cause).or_default() += 1
            }
            None => unexplained.push(format!(
                "new connection from {} failed ({} {}) at {:.1?}, around: {}",
                f.src,
                f.kind,
                f.reason,
                f.at.duration_since(t0),
                timeline.describe_around(f.at, t0)
            )),
        }
    }
    println!(
        "CHAOS: {label}: {} actions in {chaos_took:.1?}, settled {settled_after:.1?} after; {} of {STREAMS} streams broke {} times, {} new connections failed, {} ok; route empty {} times",
        timeline.actions.len(),
        breaks.iter().map(|b| b.src).collect::<BTreeSet<_>>().len(),
        breaks.len(),
        failed.len(),
        final_status.probes_ok,
        routes.empty_periods()
    );
    for (cause, n) in &causes {
        println!("CHAOS: {label}: {n:>4} explained: {cause}");
    }
    let garbage = lab.load().garbage();
    assert!(
        garbage.is_empty(),
        "{label}: the load generator failed: {garbage:?}"
    );
    assert!(
        unexplained.is_empty(),
        "{label}: seed {seed}: {} breaks or failures no disturbed component explains:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );

    // Nothing leaked: every process in the lab's namespaces ends with it, and so do they.
    drop(routes);
    let pids: Vec<u32> = lab
        .net
        .directors
        .iter()
        .chain([&lab.net.r1, &lab.client, lab.net.sw.ns()])
        .chain(&lab.reals)
        .flat_map(|ns| ns.pids())
        .collect();
    assert!(!pids.is_empty(), "the lab runs processes");
    drop(lab);
    let leaked: Vec<u32> = pids.into_iter().filter(|p| alive(*p)).collect();
    assert!(leaked.is_empty(), "processes outlived the lab: {leaked:?}");
    let namespaces = our_namespaces();
    assert!(
        namespaces.is_empty(),
        "namespaces outlived the lab: {namespaces:?}"
    );
}
