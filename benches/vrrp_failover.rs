//! VRRP failover benchmark (root only): ours and keepalived 2.2.7 measured in the same run.
//!
//! For each implementation, VRRP version/advert interval and stop kind (SIGTERM: priority
//! 0 advert; SIGKILL: Master_Down_Interval), on a fresh two-node segment: wait until the
//! priority-100 master holds the VIP steadily, stop it, then measure the time until the
//! priority-90 backup holds the VIP, and until the first gratuitous ARP for the VIP is on
//! the wire (tcpdump on the bridge). Prints one table row per case: median (min–max) of
//! `RUNS` runs (default 3).
//!
//! `cargo bench --bench vrrp_failover` (as root): runs the real `directord` (release
//! build) and keepalived from the same keepalived.conf text.
//!
//! `cargo bench --bench vrrp_failover -- --idle`: instead, the idle cost of each
//! implementation as VRRP master (v2, advert_int 1, a backup on the segment): CPU (all of
//! its processes, utime + stime over `IDLE_SECONDS`, default 10) and RSS (summed).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/vrrp_common/mod.rs"]
mod vrrp_common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::netns::{NetNs, Switch};
use common::peers::keepalived;
use common::process::{Daemon, Signal};
use common::wait::wait_stable;
use common::TestDir;
use vrrp_common::{directord_conf, has_addr, Node};

#[path = "health_common/mod.rs"]
mod health_common;
#[path = "report/mod.rs"]
mod report;

const VIP: &str = "10.99.20.200/24";
const VIP_ADDR: &str = "10.99.20.200";

#[derive(Clone, Copy, PartialEq)]
enum Impl {
    Ours,
    Keepalived,
}

enum Running {
    Ours(Node),
    Ka(Daemon, std::path::PathBuf),
}

impl Running {
    fn start(
        imp: Impl,
        ns: &NetNs,
        dir: &TestDir,
        name: &str,
        prio: u8,
        ver: u8,
        int: f64,
    ) -> Running {
        // One keepalived.conf text for both; directord only adds `dataplane none`.
        let conf = format!(
            "global_defs {{\n  router_id {name}\n  vrrp_version {ver}\n}}\n\
             vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  \
             virtual_router_id 70\n  priority {prio}\n  advert_int {int}\n  \
             virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n"
        );
        match imp {
            Impl::Ours => Running::Ours(Node::start(ns, dir, name, &directord_conf(&[&conf]))),
            Impl::Keepalived => {
                let kdir = dir.subdir(name);
                Running::Ka(keepalived(ns, &kdir, name, &conf), kdir)
            }
        }
    }

    /// The implementation's processes (keepalived: the parent and its VRRP child).
    fn pids(&self, name: &str) -> Vec<u32> {
        match self {
            Running::Ours(n) => vec![n.daemon.pid()],
            Running::Ka(d, dir) => {
                let child = std::fs::read_to_string(dir.join(format!("{name}-vrrp.pid")))
                    .ok()
                    .and_then(|p| p.trim().parse().ok());
                std::iter::once(d.pid()).chain(child).collect()
            }
        }
    }

    fn stop(&mut self, sig: Signal, name: &str) {
        match self {
            Running::Ours(n) => n.daemon.signal(sig),
            Running::Ka(d, dir) => {
                if sig == Signal::Kill {
                    let child = std::fs::read_to_string(dir.join(format!("{name}-vrrp.pid")))
                        .unwrap_or_default();
                    // The child first: keepalived's VRRP child gets SIGTERM (PDEATHSIG)
                    // when its parent dies, and would resign gracefully.
                    let _ = Command::new("kill").args(["-KILL", child.trim()]).status();
                    d.signal(Signal::Kill);
                } else {
                    d.signal(sig);
                }
            }
        }
    }
}

fn epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// One failover: (seconds until the backup holds the VIP, seconds until the first GARP).
fn run_once(imp: Impl, ver: u8, int: f64, sig: Signal) -> Result<(f64, Option<f64>), String> {
    let dir = TestDir::new("vrrp-bench");
    let sw = Switch::new("vbsw");
    let a = NetNs::new("vba");
    let b = NetNs::new("vbb");
    for (i, h) in [&a, &b].into_iter().enumerate() {
        sw.attach(h, "eth0");
        h.add_addr("eth0", &format!("10.99.20.{}/24", 21 + i));
    }
    let mut ra = Running::start(imp, &a, &dir, "a", 100, ver, int);
    let _rb = Running::start(imp, &b, &dir, "b", 90, ver, int);
    wait_stable(Duration::from_secs(30), Duration::from_secs(2), || {
        (has_addr(&a, VIP) && !has_addr(&b, VIP))
            .then_some(())
            .ok_or_else(|| "a is not the only holder".to_string())
    })
    .map_err(|e| e.to_string())?;
    let mut dump = Command::new("ip")
        .args([
            "netns",
            "exec",
            sw.ns().name(),
            "tcpdump",
            "-l",
            "-n",
            "-tt",
            "-i",
            "br0",
            "arp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("tcpdump: {e}"))?;
    // tcpdump says "listening on br0" once it captures.
    if let Some(err) = dump.stderr.take() {
        let mut lines = BufReader::new(err).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            if line.contains("listening on") {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
    }
    let garps: Arc<Mutex<Vec<f64>>> = Arc::default();
    if let Some(out) = dump.stdout.take() {
        let g = garps.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains(&format!("tell {VIP_ADDR},")) {
                    if let Some(ts) = line.split_whitespace().next().and_then(|t| t.parse().ok()) {
                        if let Ok(mut v) = g.lock() {
                            v.push(ts);
                        }
                    }
                }
            }
        });
    }
    let t0 = epoch();
    let start = Instant::now();
    ra.stop(sig, "a");
    let mut failover = None;
    while start.elapsed() < Duration::from_secs(15) {
        if has_addr(&b, VIP) {
            failover = Some(start.elapsed().as_secs_f64());
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = dump.kill();
    let _ = dump.wait();
    let garp = garps
        .lock()
        .ok()
        .and_then(|v| v.iter().copied().filter(|t| *t > t0).reduce(f64::min))
        .map(|t| t - t0);
    Ok((failover.ok_or("backup never took over")?, garp))
}

/// The master's idle CPU (% of one core) and RSS (MiB), both summed over its processes.
fn idle_once(imp: Impl, seconds: u64) -> Result<(f64, f64), String> {
    let dir = TestDir::new("vrrp-idle");
    let sw = Switch::new("visw");
    let a = NetNs::new("via");
    let b = NetNs::new("vib");
    for (i, h) in [&a, &b].into_iter().enumerate() {
        sw.attach(h, "eth0");
        h.add_addr("eth0", &format!("10.99.20.{}/24", 21 + i));
    }
    let ra = Running::start(imp, &a, &dir, "a", 100, 2, 1.0);
    let _rb = Running::start(imp, &b, &dir, "b", 90, 2, 1.0);
    wait_stable(Duration::from_secs(30), Duration::from_secs(2), || {
        (has_addr(&a, VIP) && !has_addr(&b, VIP))
            .then_some(())
            .ok_or_else(|| "a is not the only holder".to_string())
    })
    .map_err(|e| e.to_string())?;
    let pids = ra.pids("a");
    let ticks = || -> Option<u64> { pids.iter().map(|p| health_common::cpu_ticks(*p)).sum() };
    let before = ticks().ok_or("master gone")?;
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds)); // the measurement window
    let after = ticks().ok_or("master gone")?;
    let cpu = (after - before) as f64 / health_common::clk_tck() / t.elapsed().as_secs_f64();
    let rss: Option<f64> = pids.iter().map(|p| health_common::rss_mib(*p)).sum();
    Ok((cpu * 100.0, rss.ok_or("master gone")?))
}

fn idle_table() {
    let seconds = std::env::var("IDLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    println!("VRRP master idle, v2, advert_int 1, {seconds} s window");
    println!("| implementation | CPU (% of one core) | RSS (MiB, all processes) |");
    println!("|---|---|---|");
    for (imp, name) in [(Impl::Ours, "directord"), (Impl::Keepalived, "keepalived")] {
        match idle_once(imp, seconds) {
            Ok((cpu, rss)) => {
                let labels = [("impl", name), ("mode", "vrrp master")];
                report::figure("idle", &labels, "cpu", "%", &[cpu]);
                report::figure("idle", &labels, "rss", "MiB", &[rss]);
                println!("| {name} | {cpu:.2} | {rss:.1} |");
            }
            Err(e) => println!("| {name} | failed: {e} | |"),
        }
    }
}

fn summary(v: &mut [f64]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort_by(|a, b| a.total_cmp(b));
    format!(
        "{:.3} s ({:.3}–{:.3})",
        v[v.len() / 2],
        v[0],
        v[v.len() - 1]
    )
}

fn main() {
    if !common::is_root() {
        println!("SKIPPED: vrrp_failover needs root (network namespaces)");
        return;
    }
    if common::first_missing_program(&["keepalived", "tcpdump"]).is_some() {
        println!("SKIPPED: vrrp_failover needs keepalived and tcpdump");
        return;
    }
    if std::env::args().any(|a| a == "--idle") {
        idle_table();
        return;
    }
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let cases: [(u8, f64); 3] = [(2, 1.0), (3, 0.1), (3, 0.01)];
    println!("VRRP failover, {runs} runs per row, median (min–max); priorities 100 → 90");
    println!(
        "| implementation | version | advert_int | stop | failover (backup holds VIP) | first gratuitous ARP |"
    );
    println!("|---|---|---|---|---|---|");
    for (ver, int) in cases {
        for sig in [Signal::Term, Signal::Kill] {
            for imp in [Impl::Ours, Impl::Keepalived] {
                let (mut fo, mut ga, mut errors) = (Vec::new(), Vec::new(), Vec::new());
                for _ in 0..runs {
                    match run_once(imp, ver, int, sig) {
                        Ok((f, g)) => {
                            fo.push(f);
                            ga.extend(g);
                        }
                        Err(e) => errors.push(e),
                    }
                }
                let (imp_name, stop) = (
                    match imp {
                        Impl::Ours => "directord",
                        Impl::Keepalived => "keepalived",
                    },
                    if sig == Signal::Term {
                        "SIGTERM"
                    } else {
                        "SIGKILL"
                    },
                );
                let (version, advert) = (format!("v{ver}"), format!("{int}"));
                let labels = [
                    ("impl", imp_name),
                    ("version", version.as_str()),
                    ("advert_int", advert.as_str()),
                    ("stop", stop),
                ];
                report::figure("vrrp_failover", &labels, "failover", "s", &fo);
                report::figure("vrrp_failover", &labels, "garp", "s", &ga);
                println!(
                    "| {} | v{ver} | {int} s | {} | {} | {}{} |",
                    match imp {
                        Impl::Ours => "directord",
                        Impl::Keepalived => "keepalived 2.2.7",
                    },
                    stop,
                    summary(&mut fo),
                    summary(&mut ga),
                    if errors.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} failed: {})", errors.len(), errors[0])
                    }
                );
            }
        }
    }
}
