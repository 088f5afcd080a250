//! No blackhole when the DR or BDR director stops (issue 16). BIRD or FRR is the router,
//! two `directord` announce the same VIP; d1 is DR (the router BDR) or BDR (the router DR),
//! d2 has priority 0. SIGTERM of d1 while the router's kernel route for the VIP is read as
//! fast as `ip route` allows: every sample must have at least one nexthop, d1's must go
//! before d1 exits, and d2's must stay. As DR, d1 resigns (Hellos with priority 0) and
//! flushes only once the router's new Network-LSA carries everyone: its log says so. An
//! `ip monitor route` in the router's namespace must see no deletion of the VIP's route
//! either (samples can miss a short gap; the kernel's events cannot).
//! Sample counts and the longest gap between samples are printed with `MEASURE:`.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::netns::NetNs;
use common::ospf::{
    director_addr, host, wait_converged, BroadcastLab, Converged, Director, DirectorKind,
    DirectorSpec, Router, RouterKind, FAST, VIP_A,
};
use common::peers::{route_nexthops, OspfIface};
use common::process::{Daemon, Signal};
use common::wait::wait_until;
use common::TestDir;

const CONVERGE: Duration = Duration::from_secs(60);
/// Longer than MinLSInterval (5 s): every speaker may re-originate at once when the DR
/// changes, as on a segment that has been up for a while.
const SETTLED: Duration = Duration::from_secs(6);
const HANDED_OVER: &str = "OSPF graceful shutdown: the new DR took over";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Dr,
    Bdr,
}

/// What the router's route for the VIP did from SIGTERM until the director exited and the
/// route had been [d2] for a while.
#[derive(Debug)]
struct Samples {
    count: usize,
    longest_gap: Duration,
    /// Time since SIGTERM of every sample with no nexthop.
    empty: Vec<Duration>,
    /// Every change of the nexthop set (time since SIGTERM).
    changes: Vec<(Duration, Vec<Ipv4Addr>)>,
    dropped: Option<Duration>,
    exited: Option<Duration>,
}

/// SIGTERM to `director`, then reads the route back to back until it exited and the route
/// has been `survivor` alone for 2 s (or `timeout`).
fn sample_shutdown(
    director: &mut Director,
    r1: &NetNs,
    gateway: Ipv4Addr,
    survivor: Ipv4Addr,
    timeout: Duration,
) -> Samples {
    let prefix = host(VIP_A);
    let mut s = Samples {
        count: 0,
        longest_gap: Duration::ZERO,
        empty: vec![],
        changes: vec![],
        dropped: None,
        exited: None,
    };
    let t0 = Instant::now();
    director.process().signal(Signal::Term);
    let mut last = Duration::ZERO;
    while t0.elapsed() < timeout {
        let hops = route_nexthops(r1, &prefix).unwrap_or_default();
        let at = t0.elapsed();
        s.count += 1;
        s.longest_gap = s.longest_gap.max(at - last);
        last = at;
        if hops.is_empty() {
            s.empty.push(at);
        }
        if s.dropped.is_none() && !hops.contains(&gateway) {
            s.dropped = Some(at);
        }
        if s.changes.last().map(|(_, h)| h) != Some(&hops) {
            s.changes.push((at, hops.clone()));
        }
        if s.exited.is_none() && !director.process().is_running() {
            s.exited = Some(t0.elapsed());
        }
        let settled = s.changes.last().is_some_and(|(since, h)| {
            h.as_slice() == [survivor] && at - *since > Duration::from_secs(2)
        });
        if s.exited.is_some() && settled {
            break;
        }
    }
    s
}

/// Waits until d1's log shows it became DR on its own (the segment's first router).
fn wait_dr(d: &mut Director) {
    wait_until(CONVERGE, Duration::from_millis(100), || {
        let log = d.process().log_text();
        if log
            .lines()
            .any(|l| l.contains("OSPF interface state change") && l.contains("to=Dr"))
        {
            Ok(())
        } else {
            Err("not DR yet".to_string())
        }
    })
    .expect("d1 elected DR alone on the segment");
}

fn scenario(router_kind: RouterKind, role: Role) {
    let label = format!("{router_kind:?} router, director {role:?}").to_lowercase();
    let dir = TestDir::new("drh");
    let lab = BroadcastLab::new(2);
    let (d1, d2) = (director_addr(0), director_addr(1));
    let iface = OspfIface::broadcast("eth0", FAST.hello, FAST.dead);
    let start = |n: usize, name: &str, addr, priority| {
        Director::start(
            DirectorKind::Directord,
            &lab.directors[n],
            &dir,
            DirectorSpec::new(name, addr, iface.clone().priority(priority), &[VIP_A]),
        )
    };
    // OSPF never preempts a DR: whoever is alone first keeps the role.
    let (mut dir1, router) = match role {
        Role::Dr => {
            let mut dir1 = start(0, "d1", d1, 20);
            wait_dr(&mut dir1);
            let router = Router::start(router_kind, &lab.r1, &dir, vec![iface.clone()]);
            (dir1, router)
        }
        Role::Bdr => {
            let router = Router::start(router_kind, &lab.r1, &dir, vec![iface.clone()]);
            wait_until(CONVERGE, Duration::from_millis(100), || {
                router.is_dr("eth0")
            })
            .expect("router DR");
            (start(0, "d1", d1, 1), router)
        }
    };
    let dir2 = start(1, "d2", d2, 0);
    let r1 = &lab.r1;
    wait_converged(
        &[&dir1, &dir2],
        &router,
        r1,
        Converged {
            full: &[d1, d2],
            vip: VIP_A,
            nexthops: 2,
        },
        CONVERGE,
        SETTLED,
    )
    .expect("both Full, VIP_A via d1 and d2");
    let roles = router.neighbors().expect("router's neighbors");
    // BIRD says BDR, FRR Backup.
    let want: &[&str] = match role {
        Role::Dr => &["DR"],
        Role::Bdr => &["BDR", "Backup"],
    };
    assert!(
        roles
            .iter()
            .any(|n| n.router_id == d1 && want.contains(&n.role.as_str())),
        "d1 should be {want:?}: {roles:?}"
    );

    // Every change of the router's kernel routes, as well: a deletion of the VIP's route
    // between two samples would show here.
    let mut monitor = Daemon::spawn(
        r1,
        "route-monitor",
        &dir.subdir("monitor"),
        &["ip", "-ts", "monitor", "route"],
    );
    let s = sample_shutdown(&mut dir1, r1, d1, d2, Duration::from_secs(30));
    monitor.signal(Signal::Term);
    let vip_events: Vec<String> = monitor
        .log_text()
        .lines()
        .filter(|l| l.contains(&format!("{VIP_A} ")))
        .map(str::to_string)
        .collect();
    eprintln!("{label}: kernel route events for the VIP: {vip_events:#?}");
    println!(
        "MEASURE: {label}: SIGTERM -> d1's nexthop dropped at {:?}, d1 exited at {:?}; {} route samples, longest gap between samples {:?}, samples without a nexthop: {}",
        s.dropped,
        s.exited,
        s.count,
        s.longest_gap,
        s.empty.len()
    );
    eprintln!("{label}: route changes {:?}", s.changes);
    assert!(
        s.empty.is_empty(),
        "{label}: the VIP had no nexthop at {:?} (changes {:?})",
        s.empty,
        s.changes
    );
    assert!(
        !vip_events.iter().any(|l| l.contains("Deleted")),
        "{label}: the router deleted the VIP's route: {vip_events:#?}"
    );
    let (Some(dropped), Some(exited)) = (s.dropped, s.exited) else {
        panic!("{label}: d1 not dropped or not exited within 30 s: {s:?}");
    };
    assert!(
        dropped <= exited,
        "{label}: the router still had d1's nexthop when d1 exited: {s:?}"
    );
    assert_eq!(
        s.changes.last().map(|(_, h)| h.clone()),
        Some(vec![d2]),
        "{label}: VIP_A via d2 at the end"
    );
    if role == Role::Dr {
        let log = dir1.process().log_text();
        assert!(
            log.contains(HANDED_OVER),
            "{label}: d1 flushed without waiting for the new DR: {}",
            log.lines()
                .filter(|l| l.contains("graceful shutdown"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn bird_router_dr_director_sigterm_no_blackhole() {
    require_root!();
    require_programs!("bird", "birdc");
    scenario(RouterKind::Bird, Role::Dr);
}

#[test]
fn bird_router_bdr_director_sigterm_no_blackhole() {
    require_root!();
    require_programs!("bird", "birdc");
    scenario(RouterKind::Bird, Role::Bdr);
}

#[test]
fn frr_router_dr_director_sigterm_no_blackhole() {
    require_root!();
    require_programs!("/usr/lib/frr/zebra", "/usr/lib/frr/ospfd", "vtysh");
    scenario(RouterKind::Frr, Role::Dr);
}

#[test]
fn frr_router_bdr_director_sigterm_no_blackhole() {
    require_root!();
    require_programs!("/usr/lib/frr/zebra", "/usr/lib/frr/ospfd", "vtysh");
    scenario(RouterKind::Frr, Role::Bdr);
}
