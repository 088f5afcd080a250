//! Reload cost on a running daemon (root only): `directord` on the nftables dataplane, in a
//! throwaway network namespace, serves S virtual servers × 10 real servers (NAT, `mh`, no
//! checkers, so every real server stays up); then, `DIRECTOR_BENCH_RELOADS` times, a file
//! that differs in one real server's weight (alternately 7 and back to 1) is written and
//! the daemon gets SIGHUP. Per reload:
//! - `reloaded`:   SIGHUP → the "configuration reloaded" log line (read, validate, diff);
//! - `reconciled`: SIGHUP → the next "dataplane reconciled" log line (the change is in the
//!   kernel: that line is only logged when the reconcile sent something);
//! - `peak_rss`:   the daemon's VmHWM over the reload (reset through /proc/PID/clear_refs
//!   just before the signal), beside `rss_before`, its VmRSS before it.
//!
//! The same reload against keepalived, on IPVS, is measured in the IPVS VM by
//! `scripts/lab/ipvs-compare` (its "one weight" and "reload RSS" columns).
//!
//! `cargo bench --bench reload_cost` (as root). DIRECTOR_BENCH_SERVICES (1000),
//! DIRECTOR_BENCH_RELOADS (5). With `DIRECTOR_BENCH_JSON=1` also the figures for
//! scripts/bench.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "report/mod.rs"]
mod report;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::health_lab::lab_can_run;
use common::netns::NetNs;
use common::process::{Daemon, Signal};
use common::wait::wait_until;
use common::TestDir;

const REALS: usize = 10;
/// The real server whose weight changes: the 4th of the middle service.
const CHANGED_REAL: usize = 3;
const DEADLINE: Duration = Duration::from_secs(600);
/// Log polling: the figures' resolution.
const POLL: Duration = Duration::from_millis(5);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// S services × 10 real servers, NAT, on the nftables dataplane, without checkers; the
/// middle service's 4th real server has `changed_weight`.
fn config(services: usize, changed_weight: u32) -> String {
    let mut text = String::from(
        "global_defs {\n    router_id reloadcost\n}\n\
         director {\n    dataplane nftables\n    dataplane_resync_interval 0\n}\n",
    );
    for s in 0..services {
        let _ = write!(
            text,
            "virtual_server 10.{}.{}.{} 80 {{\n    lb_algo mh\n    lb_kind NAT\n    protocol TCP\n",
            100 + s / 65_536,
            (s / 256) % 256,
            s % 256
        );
        for r in 0..REALS {
            let i = s * REALS + r;
            let weight = if s == services / 2 && r == CHANGED_REAL {
                changed_weight
            } else {
                1
            };
            let _ = write!(
                text,
                "    real_server 172.{}.{}.{} 80 {{\n        weight {weight}\n    }}\n",
                16 + i / 65_536,
                (i / 256) % 256,
                i % 256
            );
        }
        text.push_str("}\n");
    }
    text
}

fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// Polls the daemon's log until each of `needles` (text, times already logged) has been
/// logged once more; when each was first seen, counted from `from`.
fn until_logged(
    daemon: &Daemon,
    needles: &[(&str, usize)],
    from: Instant,
) -> Result<Vec<Duration>, String> {
    let mut seen_at: Vec<Option<Duration>> = vec![None; needles.len()];
    wait_until(DEADLINE, POLL, || {
        let log = daemon.log_text();
        let elapsed = from.elapsed();
        for ((needle, before), at) in needles.iter().zip(seen_at.iter_mut()) {
            if at.is_none() && log.matches(needle).count() > *before {
                *at = Some(elapsed);
            }
        }
        seen_at
            .iter()
            .copied()
            .collect::<Option<Vec<Duration>>>()
            .ok_or_else(|| format!("logged so far: {seen_at:?} of {needles:?}"))
    })
    .map(|waited| waited.value)
    .map_err(|e| e.to_string())
}

struct Reload {
    reloaded: f64,
    reconciled: f64,
    peak_rss: f64,
    rss_before: f64,
}

fn reload(daemon: &mut Daemon, conf: &std::path::Path, text: &str) -> Result<Reload, String> {
    let pid = daemon.pid();
    let log = daemon.log_text();
    let (reloads_seen, reconciles_seen) = (
        log.matches("configuration reloaded").count(),
        log.matches("dataplane reconciled").count(),
    );
    std::fs::write(conf, text).map_err(|e| format!("{}: {e}", conf.display()))?;
    let rss_before = status_mib(pid, "VmRSS:").ok_or("no VmRSS")?;
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .map_err(|e| format!("reset the peak RSS of {pid}: {e}"))?;
    let start = Instant::now();
    daemon.signal(Signal::Hup);
    let seen = until_logged(
        daemon,
        &[
            ("configuration reloaded", reloads_seen),
            ("dataplane reconciled", reconciles_seen),
        ],
        start,
    )?;
    Ok(Reload {
        reloaded: seen[0].as_secs_f64(),
        reconciled: seen[1].as_secs_f64(),
        peak_rss: status_mib(pid, "VmHWM:").ok_or("no VmHWM")?,
        rss_before,
    })
}

fn main() {
    if !lab_can_run("reload_cost", &["nft", "ip"]) {
        return;
    }
    let services = env_usize("DIRECTOR_BENCH_SERVICES", 1000);
    let reloads = env_usize("DIRECTOR_BENCH_RELOADS", 5);
    let dir = TestDir::new("reloadcost");
    let ns = NetNs::new("reloadcost");
    let conf = dir.write("directord.conf", &config(services, 1));
    let run = dir.subdir("run");
    let conf_arg = conf.to_string_lossy().into_owned();
    let run_arg = run.to_string_lossy().into_owned();
    let mut daemon = Daemon::spawn(
        &ns,
        "directord",
        dir.path(),
        &[
            env!("CARGO_BIN_EXE_directord"),
            "-f",
            &conf_arg,
            "-l",
            "info",
            "--runtime-dir",
            &run_arg,
        ],
    );
    if let Err(e) = until_logged(&daemon, &[("dataplane reconciled", 0)], Instant::now()) {
        println!("reload_cost failed: directord never programmed its tables: {e}");
        std::process::exit(1);
    }
    println!(
        "reload_cost: directord, nftables, {services} services x {REALS} real servers, one weight changed per reload"
    );
    println!(
        "| reload | SIGHUP -> reloaded | SIGHUP -> reconciled | RSS before | peak RSS during |"
    );
    println!("|---|---|---|---|---|");
    let mut rows = Vec::new();
    for i in 0..reloads {
        let weight = if i % 2 == 0 { 7 } else { 1 };
        match reload(&mut daemon, &conf, &config(services, weight)) {
            Ok(r) => {
                println!(
                    "| {} | {:.3} s | {:.3} s | {:.1} MiB | {:.1} MiB |",
                    i + 1,
                    r.reloaded,
                    r.reconciled,
                    r.rss_before,
                    r.peak_rss
                );
                rows.push(r);
            }
            Err(e) => {
                println!("| {} | failed: {e} | | | |", i + 1);
                break;
            }
        }
    }
    let services_label = services.to_string();
    let labels = [
        ("dataplane", "nftables"),
        ("services", services_label.as_str()),
    ];
    let column = |f: fn(&Reload) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    report::figure(
        "reload_cost",
        &labels,
        "reloaded",
        "s",
        &column(|r| r.reloaded),
    );
    report::figure(
        "reload_cost",
        &labels,
        "reconciled",
        "s",
        &column(|r| r.reconciled),
    );
    report::figure(
        "reload_cost",
        &labels,
        "peak_rss",
        "MiB",
        &column(|r| r.peak_rss),
    );
    report::figure(
        "reload_cost",
        &labels,
        "rss_before",
        "MiB",
        &column(|r| r.rss_before),
    );
    if rows.len() < reloads {
        std::process::exit(1);
    }
}
