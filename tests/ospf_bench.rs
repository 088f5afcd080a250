//! OSPF convergence benchmark (ignored by `cargo test`; run it with
//! `scripts/lab/bench-ospf`): BIRD, FRR and `directord` as directors against the same
//! upstream router, measured in the same run, at default and fast timers. Prints a table;
//! asserts nothing about timings.
//!
//! Per director kind and timer set, in a fresh lab (router r1, directors d1 and d2 on one
//! bridge, both announcing VIP_A and VIP_B):
//! - full:     both directors started at t0 (router already DR) -> router sees both Full
//! - route:    t0 -> router's kernel route for VIP_A has 2 nexthops (first sight)
//! - withdraw: d1 stops announcing VIP_B (directord: SIGHUP with a config without it;
//!   BIRD/FRR: /32 deleted from lo) -> router's VIP_B route down to d2
//! - restore:  d1 announces VIP_B again -> 2 nexthops, stable 3 s (start of the stable run)
//! - sigterm:  SIGTERM to d1's speaker -> router's VIP_A route down to d2 (and: -> exit)
//! - restart:  d1 restarted -> VIP_A via both, stable 3 s (start of the stable run)
//! - sigkill:  SIGKILL to d1's speaker -> router's VIP_A route down to d2
//!
//! Environment: DT_BENCH_ROUTER=bird|frr (default bird), DT_BENCH_TIMERS=fast|default|both
//! (default both), DT_BENCH_KINDS=bird,frr,directord (default all three).
//!
//! `bfd_kill_table` (`scripts/lab/bench-ospf bfd`): kill -9 of every process of a
//! director -> the router dropped its nexthop, hello 1 / dead 4, with and without BFD
//! (100 ms x 3), for directord, BIRD and FRR as directors (the reference: their own BFD),
//! against BIRD and FRR routers (DT_BENCH_ROUTER=bird|frr picks one; DT_BENCH_REPEAT=N;
//! DT_BENCH_KINDS picks the directors). With DIRECTOR_BENCH_JSON=1 every table also prints
//! its figures as `bench-json` records (benches/report/mod.rs) for scripts/bench.

mod common;
#[path = "../benches/report/mod.rs"]
mod report;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::ospf::{
    director_addr, host, time_until, trace_shutdown, BroadcastLab, Director, DirectorKind,
    DirectorSpec, Router, RouterKind, Timers, DEFAULT, FAST, VIP_A, VIP_B,
};
use common::peers::{route_nexthops, OspfIface, OspfRouter};
use common::wait::wait_stable;
use common::TestDir;

const HOLD: Duration = Duration::from_secs(3);

#[derive(Default)]
struct Row {
    full: Option<Duration>,
    route: Option<Duration>,
    withdraw: Option<Duration>,
    restore: Option<Duration>,
    sigterm: Option<Duration>,
    sigterm_exit: Option<Duration>,
    restart: Option<Duration>,
    sigkill: Option<Duration>,
    note: String,
}

/// The directors to measure: DT_BENCH_KINDS (default bird,frr,directord).
fn bench_kinds() -> Vec<DirectorKind> {
    std::env::var("DT_BENCH_KINDS")
        .unwrap_or_else(|_| "bird,frr,directord".into())
        .split(',')
        .filter_map(|k| match k.trim() {
            "bird" => Some(DirectorKind::Bird),
            "frr" => Some(DirectorKind::Frr),
            "directord" => Some(DirectorKind::Directord),
            "speaker" => Some(DirectorKind::Speaker),
            _ => None,
        })
        .collect()
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_string(), |d| format!("{:.2}", d.as_secs_f64()))
}

fn route_is(r1: &common::netns::NetNs, vip: Ipv4Addr, want: &[Ipv4Addr]) -> Result<(), String> {
    let got = route_nexthops(r1, &host(vip))?;
    let mut want = want.to_vec();
    want.sort();
    if got == want {
        Ok(())
    } else {
        Err(format!("{vip}: {got:?}, want {want:?}"))
    }
}

fn measure(router_kind: RouterKind, kind: DirectorKind, timers: Timers) -> Row {
    let mut row = Row::default();
    let dir = TestDir::new("bench");
    let lab = BroadcastLab::new(2);
    let (d1, d2) = (director_addr(0), director_addr(1));
    let both = [d1, d2];
    let r1 = &lab.r1;
    let iface = OspfIface::broadcast("eth0", timers.hello, timers.dead);
    let router = Router::start(router_kind, r1, &dir, vec![iface.clone()]);
    let dead = Duration::from_secs(u64::from(timers.dead));
    let bound = dead * 3 + Duration::from_secs(60);
    if let Err(e) = time_until(bound, || router.is_dr("eth0")) {
        row.note = format!("router never DR: {e}");
        return row;
    }

    let spec = |name: &str, id| DirectorSpec::new(name, id, iface.clone(), &[VIP_A, VIP_B]);
    let t0 = Instant::now();
    let mut dir1 = Director::start(kind, &lab.directors[0], &dir, spec("d1", d1));
    let _dir2 = Director::start(kind, &lab.directors[1], &dir, spec("d2", d2));
    let mut full = common::ospf::router_full(&router, &both);
    let mut full_at = None;
    let mut route_at = None;
    let waited = time_until(bound, || {
        if full_at.is_none() && full().is_ok() {
            full_at = Some(t0.elapsed());
        }
        if route_at.is_none() && route_is(r1, VIP_A, &both).is_ok() {
            route_at = Some(t0.elapsed());
        }
        match (full_at, route_at) {
            (Some(_), Some(_)) => Ok(()),
            _ => Err(format!("full at {full_at:?}, route at {route_at:?}")),
        }
    });
    row.full = full_at;
    row.route = route_at;
    if let Err(e) = waited {
        row.note = format!("no convergence: {e}");
        return row;
    }
    let stable = |vip: Ipv4Addr, want: &[Ipv4Addr]| {
        wait_stable(bound, HOLD, || {
            route_is(r1, vip, want)?;
            route_is(r1, VIP_A, &both)
        })
    };
    let check = |label: &str, r: Result<_, _>, row: &mut Row| {
        if let Err(e) = r {
            row.note = format!("{label}: {e}");
            false
        } else {
            true
        }
    };
    if !check("settle", stable(VIP_B, &both).map(|_| ()), &mut row) {
        return row;
    }

    let t = Instant::now();
    dir1.set_vips(&lab.directors[0], &dir, &[VIP_A]);
    let r = time_until(bound, || route_is(r1, VIP_B, &[d2]));
    row.withdraw = r.as_ref().ok().map(|_| t.elapsed());
    if !check("withdraw", r.map(|_| ()), &mut row) {
        return row;
    }

    dir1.set_vips(&lab.directors[0], &dir, &[VIP_A, VIP_B]);
    let r = stable(VIP_B, &both);
    row.restore = r.as_ref().ok().map(|w| w.after);
    if !check("restore", r.map(|_| ()), &mut row) {
        return row;
    }

    let trace = trace_shutdown(&mut dir1, r1, VIP_A, d1, bound);
    row.sigterm = trace.nexthop_dropped;
    row.sigterm_exit = trace.exited;
    if trace.nexthop_dropped.is_none() || trace.exited.is_none() {
        row.note = format!("sigterm: {trace:?}");
        return row;
    }

    dir1.process().restart();
    let r = stable(VIP_B, &both);
    row.restart = r.as_ref().ok().map(|w| w.after);
    if !check("restart", r.map(|_| ()), &mut row) {
        return row;
    }

    let t = Instant::now();
    dir1.process().kill();
    let r = time_until(bound, || route_is(r1, VIP_A, &[d2]));
    row.sigkill = r.as_ref().ok().map(|_| t.elapsed());
    check("sigkill", r.map(|_| ()), &mut row);
    row
}

#[test]
#[ignore = "benchmark: run scripts/lab/bench-ospf"]
fn ospf_convergence_table() {
    require_root!();
    require_programs!(
        "bird",
        "birdc",
        "vtysh",
        "/usr/lib/frr/zebra",
        "/usr/lib/frr/ospfd"
    );
    let router_kind = match std::env::var("DT_BENCH_ROUTER").as_deref() {
        Ok("frr") => RouterKind::Frr,
        _ => RouterKind::Bird,
    };
    let timer_sets: Vec<(&str, Timers)> = match std::env::var("DT_BENCH_TIMERS").as_deref() {
        Ok("fast") => vec![("1/4", FAST)],
        Ok("default") => vec![("10/40", DEFAULT)],
        _ => vec![("10/40", DEFAULT), ("1/4", FAST)],
    };
    let kinds = bench_kinds();

    let mut rows = Vec::new();
    for (label, timers) in &timer_sets {
        for kind in &kinds {
            eprintln!(
                "bench: {router_kind:?} router, {} directors, hello/dead {label} ...",
                kind.label()
            );
            let row = measure(router_kind, *kind, *timers);
            if !row.note.is_empty() {
                eprintln!("bench: {}: {}", kind.label(), row.note);
            }
            rows.push((*label, *kind, row));
        }
    }

    println!();
    println!("OSPF convergence, router {router_kind:?} (seconds; 2 directors on one bridge; one run each)");
    println!(
        "| director  | hello/dead | start->Full | start->2 nexthops | withdraw->dropped | re-announce->2 stable | SIGTERM->dropped | SIGTERM->exit | restart->2 stable | SIGKILL->dropped | note |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (label, kind, r) in &rows {
        let router = format!("{router_kind:?}");
        let labels = [
            ("router", router.as_str()),
            ("director", kind.label()),
            ("timers", label),
        ];
        for (metric, value) in [
            ("start_full", r.full),
            ("start_route", r.route),
            ("withdraw", r.withdraw),
            ("restore", r.restore),
            ("sigterm", r.sigterm),
            ("sigterm_exit", r.sigterm_exit),
            ("restart", r.restart),
            ("sigkill", r.sigkill),
        ] {
            let values: Vec<f64> = value.iter().map(Duration::as_secs_f64).collect();
            report::figure("ospf_convergence", &labels, metric, "s", &values);
        }
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            kind.label(),
            label,
            secs(r.full),
            secs(r.route),
            secs(r.withdraw),
            secs(r.restore),
            secs(r.sigterm),
            secs(r.sigterm_exit),
            secs(r.restart),
            secs(r.sigkill),
            r.note.replace('\n', " ")
        );
    }
}

/// Resident set size (kB) and cumulative CPU ticks (utime + stime) of `pid`.
fn rss_and_cpu(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
    Some((rss, ticks))
}

struct ManyRow {
    all_routes: Option<Duration>,
    rss_kb: Option<u64>,
    cpu_pct: Option<f64>,
    note: String,
}

fn measure_many(router_kind: RouterKind, kind: DirectorKind, n: usize) -> ManyRow {
    let mut row = ManyRow {
        all_routes: None,
        rss_kb: None,
        cpu_pct: None,
        note: String::new(),
    };
    let dir = TestDir::new("benchn");
    let lab = BroadcastLab::new(2);
    let (d1, d2) = (director_addr(0), director_addr(1));
    let r1 = &lab.r1;
    let iface = OspfIface::broadcast("eth0", FAST.hello, FAST.dead);
    // More than ospf::STUB_LINK_LIMIT VIPs go out as AS-external LSAs; BIRD merges equal
    // externals from two ASBRs into one multipath route only with `merge external yes`.
    let cfg = OspfRouter {
        router_id: common::ospf::ROUTER_ID,
        ifaces: vec![iface.clone().priority(10)],
        stubs: vec![],
        kernel_export: true,
        merge_external: true,
    };
    let router = Router::start_config(router_kind, r1, &dir, &cfg);
    let bound = Duration::from_secs(120);
    if let Err(e) = time_until(bound, || router.is_dr("eth0")) {
        row.note = format!("router never DR: {e}");
        return row;
    }
    let vips = common::ospf::many_vips(n);
    let spec = |name: &str, id| DirectorSpec::new(name, id, iface.clone(), &vips);
    let t0 = Instant::now();
    let mut dir1 = Director::start(kind, &lab.directors[0], &dir, spec("d1", d1));
    let _dir2 = Director::start(kind, &lab.directors[1], &dir, spec("d2", d2));
    let want: std::collections::HashSet<String> = vips.iter().map(|v| v.to_string()).collect();
    let r = time_until(bound, || {
        let routes = route_table(r1)?;
        let ecmp = routes
            .iter()
            .filter(|(dst, gws)| want.contains(dst) && gws.len() == 2)
            .count();
        if ecmp == n {
            Ok(())
        } else {
            Err(format!("{ecmp} of {n} VIP routes with 2 nexthops"))
        }
    });
    match r {
        Ok(_) => row.all_routes = Some(t0.elapsed()),
        Err(e) => {
            row.note = format!("{e}");
            return row;
        }
    }
    // Idle: 2 neighbors, every VIP announced; sample the speaker over 10 s.
    let pid = dir1.process().pid();
    let idle = Duration::from_secs(10);
    let Some((_, before)) = rss_and_cpu(pid) else {
        row.note = "speaker gone".into();
        return row;
    };
    let t = Instant::now();
    std::thread::sleep(idle); // a measurement window, not synchronisation
    if let Some((rss, after)) = rss_and_cpu(pid) {
        let ticks_per_sec = 100.0; // USER_HZ on Linux
        row.rss_kb = Some(rss);
        row.cpu_pct =
            Some((after - before) as f64 / ticks_per_sec / t.elapsed().as_secs_f64() * 100.0);
    }
    row
}

fn route_table(r1: &common::netns::NetNs) -> Result<Vec<(String, Vec<Ipv4Addr>)>, String> {
    common::peers::routes(r1)
}

#[test]
#[ignore = "benchmark: run scripts/lab/bench-ospf many"]
fn ospf_many_vips_table() {
    require_root!();
    require_programs!(
        "bird",
        "birdc",
        "vtysh",
        "/usr/lib/frr/zebra",
        "/usr/lib/frr/ospfd"
    );
    let router_kind = match std::env::var("DT_BENCH_ROUTER").as_deref() {
        Ok("frr") => RouterKind::Frr,
        _ => RouterKind::Bird,
    };
    let n: usize = std::env::var("DT_BENCH_VIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let kinds = bench_kinds();
    let mut rows = Vec::new();
    for kind in kinds {
        eprintln!(
            "bench: {router_kind:?} router, {} directors, {n} VIPs ...",
            kind.label()
        );
        let row = measure_many(router_kind, kind, n);
        if !row.note.is_empty() {
            eprintln!("bench: {}: {}", kind.label(), row.note);
        }
        rows.push((kind, row));
    }
    println!();
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("{n} VIPs from each of 2 directors, router {router_kind:?} (BIRD: merge external yes), hello/dead 1/4, {build} builds");
    println!("| director | start->all {n} routes with 2 nexthops (s) | speaker RSS idle (MB) | speaker CPU idle (%, 10 s) | note |");
    println!("|---|---|---|---|---|");
    for (kind, r) in rows {
        let (router, vips) = (format!("{router_kind:?}"), n.to_string());
        let labels = [
            ("router", router.as_str()),
            ("director", kind.label()),
            ("vips", vips.as_str()),
        ];
        let all: Vec<f64> = r.all_routes.iter().map(Duration::as_secs_f64).collect();
        report::figure("ospf_many", &labels, "all_routes", "s", &all);
        let rss: Vec<f64> = r.rss_kb.iter().map(|kb| *kb as f64 / 1024.0).collect();
        report::figure("ospf_many", &labels, "rss_idle", "MiB", &rss);
        report::figure(
            "ospf_many",
            &labels,
            "cpu_idle",
            "%",
            &Vec::from_iter(r.cpu_pct),
        );
        println!(
            "| {} | {} | {} | {} | {} |",
            kind.label(),
            secs(r.all_routes),
            r.rss_kb
                .map_or("-".into(), |kb| format!("{:.1}", kb as f64 / 1024.0)),
            r.cpu_pct.map_or("-".into(), |p| format!("{p:.2}")),
            r.note.replace('\n', " ")
        );
    }
}

/// kill -9 of every process of d1 (directord; bird; FRR's zebra, ospfd and bfdd: the host's
/// routing software dies, its kernel still forwards) -> the router's route for VIP_A is
/// down to d2, with hello 1 / dead 4, with and without BFD (100 ms x 3 on both sides).
fn measure_bfd_kill(
    router_kind: RouterKind,
    kind: DirectorKind,
    bfd: bool,
) -> Result<Duration, String> {
    let dir = TestDir::new("benchbfd");
    let lab = BroadcastLab::new(2);
    let (d1, d2) = (director_addr(0), director_addr(1));
    let both = [d1, d2];
    let r1 = &lab.r1;
    let mut iface = OspfIface::broadcast("eth0", FAST.hello, FAST.dead);
    if bfd {
        iface = iface.bfd();
    }
    let bound = Duration::from_secs(60);
    let router = Router::start(router_kind, r1, &dir, vec![iface.clone()]);
    time_until(bound, || router.is_dr("eth0")).map_err(|e| format!("router never DR: {e}"))?;
    let spec = |name: &str, id| DirectorSpec::new(name, id, iface.clone(), &[VIP_A]);
    let _dir1 = Director::start(kind, &lab.directors[0], &dir, spec("d1", d1));
    let _dir2 = Director::start(kind, &lab.directors[1], &dir, spec("d2", d2));
    wait_stable(bound, HOLD, || {
        route_is(r1, VIP_A, &both)?;
        if bfd {
            let up = router.bfd_up()?;
            if !both.iter().all(|a| up.contains(&(*a, true))) {
                return Err(format!("router's BFD sessions {up:?}"));
            }
        }
        Ok(())
    })
    .map_err(|e| format!("no convergence: {e}"))?;
    let pids: Vec<String> = lab.directors[0]
        .pids()
        .iter()
        .map(|p| p.to_string())
        .collect();
    let t = Instant::now();
    let killed = std::process::Command::new("kill")
        .arg("-9")
        .args(&pids)
        .status()
        .map_err(|e| format!("kill: {e}"))?;
    if !killed.success() {
        return Err(format!("kill -9 {pids:?} failed"));
    }
    time_until(bound, || route_is(r1, VIP_A, &[d2]))
        .map(|_| t.elapsed())
        .map_err(|e| format!("nexthop never dropped: {e}"))
}

#[test]
#[ignore = "benchmark: run scripts/lab/bench-ospf bfd"]
fn bfd_kill_table() {
    require_root!();
    require_programs!(
        "bird",
        "birdc",
        "vtysh",
        "/usr/lib/frr/zebra",
        "/usr/lib/frr/ospfd",
        "/usr/lib/frr/bfdd"
    );
    let routers = match std::env::var("DT_BENCH_ROUTER").as_deref() {
        Ok("frr") => vec![RouterKind::Frr],
        Ok("bird") => vec![RouterKind::Bird],
        _ => vec![RouterKind::Bird, RouterKind::Frr],
    };
    let repeat: usize = std::env::var("DT_BENCH_REPEAT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let kinds = bench_kinds();
    let rows: Vec<(DirectorKind, bool)> = [
        DirectorKind::Directord,
        DirectorKind::Bird,
        DirectorKind::Frr,
    ]
    .into_iter()
    .filter(|k| kinds.contains(k))
    .flat_map(|k| [(k, false), (k, true)])
    .collect();
    let mut table = Vec::new();
    for router_kind in &routers {
        for &(kind, bfd) in &rows {
            let mut runs = Vec::new();
            for _ in 0..repeat {
                eprintln!(
                    "bench: {router_kind:?} router, {} directors, BFD {bfd} ...",
                    kind.label()
                );
                let r = measure_bfd_kill(*router_kind, kind, bfd);
                if let Err(e) = &r {
                    eprintln!("bench: {}: {e}", kind.label());
                }
                runs.push(r.ok());
            }
            table.push((*router_kind, kind, bfd, runs));
        }
    }
    println!();
    println!("kill -9 of a director -> router dropped its nexthop (seconds; hello 1 / dead 4; BFD 100 ms x 3; {repeat} run(s) each)");
    println!("| router | director | BFD | kill -9 -> dropped |");
    println!("|---|---|---|---|");
    for (router_kind, kind, bfd, runs) in &table {
        let router = format!("{router_kind:?}");
        let labels = [
            ("router", router.as_str()),
            ("director", kind.label()),
            ("bfd", if *bfd { "yes" } else { "no" }),
        ];
        let values: Vec<f64> = runs.iter().flatten().map(Duration::as_secs_f64).collect();
        report::figure("bfd_kill", &labels, "sigkill", "s", &values);
        let figures: Vec<String> = runs.iter().map(|r| secs(*r)).collect();
        println!(
            "| {router_kind:?} | {} | {} | {} |",
            kind.label(),
            if *bfd { "yes" } else { "no" },
            figures.join(", ")
        );
    }
}
