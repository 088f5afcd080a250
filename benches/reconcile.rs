//! Reconcile figures: empty → S services × R real servers, then one real-server weight
//! change, then back, then removal; wall time, kernel operations and peak RSS, per backend.
//!
//! `cargo bench --bench reconcile` runs the in-memory backend, and the nftables backend in a
//! throwaway network namespace when run as root, for 10, 100 and 1,000 services (and the
//! sizes in DIRECTOR_BENCH_NFT_SERVICES, e.g. `10,100,1000,10000`), each beside a
//! hand-written `nft -f` ruleset of the same services (`jhash ip saddr mod R map { … }`,
//! the plain-nft way to spread a VIP) loaded into an empty namespace. Peak RSS: the
//! bench process's `VmHWM` (reset before each step); for `nft -f`, the maximum resident
//! size of the nft process (`/usr/bin/time`). IPVS needs a kernel with ip_vs: run the same
//! binary in the VM,
//! `CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$PWD/scripts/lab/ipvs-vm cargo bench --bench reconcile`;
//! there the IPVS rows are followed by `ipvsadm -R` of the same tables (the baseline).
//! Sizes: DIRECTOR_BENCH_SERVICES (1000, memory and ipvs), DIRECTOR_BENCH_REALS (10);
//! backends: DIRECTOR_BENCH_ONLY=memory,nftables,ipvs (default: all); scheduler:
//! DIRECTOR_BENCH_SCHED (mh). nftables uses the automatic Maglev size (1201 for 10 reals).
//! After the reconcile rows: what reading the counters costs (nftables `stats()`; in the
//! VM each IPVS dump, a scrape before and after the background reader, `services --stats`;
//! for the memory backend the metrics text of the full table).

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use director::control::counters::{CountersHandle, Source};
use director::control::snapshot::{Live, LiveCounters, Snapshot};
use director::control::views::StatusView;
use director::dataplane::ipvs::listing::IpvsReader;
use director::dataplane::ipvs::IpvsBackend;
use director::dataplane::maglev::table_size_for;
use director::dataplane::memory::MemoryBackend;
use director::dataplane::nftables::NftBackend;
use director::dataplane::tables::{
    DesiredTables, DestKey, DestSpec, FlowHash, Forward, Protocol, Service, ServiceKey, ServiceSpec,
};
use director::dataplane::{Dataplane, OpenOptions};

#[path = "report/mod.rs"]
mod report;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn full_sched() -> String {
    std::env::var("DIRECTOR_BENCH_SCHED").unwrap_or_else(|_| "mh".into())
}

fn desired(services: usize, reals: usize, forward: Forward, size: u32) -> DesiredTables {
    let mut t = DesiredTables {
        services: (0..services)
            .map(|s| {
                let key = ServiceKey::Addr {
                    addr: IpAddr::V4(Ipv4Addr::new(10, 200, (s / 256) as u8, (s % 256) as u8)),
                    port: 80,
                    protocol: Protocol::Tcp,
                };
                Service {
                    spec: ServiceSpec {
                        key,
                        scheduler: std::env::var("DIRECTOR_BENCH_SCHED")
                            .unwrap_or_else(|_| "mh".into()),
                        flags: 0,
                        timeout: 0,
                        netmask: 32,
                    },
                    dests: (0..reals)
                        .map(|r| {
                            let i = s * reals + r + 1;
                            DestSpec {
                                key: DestKey {
                                    addr: IpAddr::V4(Ipv4Addr::new(
                                        172,
                                        16 + (i / 65_536) as u8,
                                        ((i / 256) % 256) as u8,
                                        (i % 256) as u8,
                                    )),
                                    port: 80,
                                },
                                forward,
                                weight: 1,
                                upper_threshold: 0,
                                lower_threshold: 0,
                            }
                        })
                        .collect(),
                    flow_hash: FlowHash::SourceAddr,
                    maglev_size: size,
                }
            })
            .collect(),
        ..Default::default()
    };
    t.canonicalize();
    t
}

/// Resets this process's peak RSS (`VmHWM`) to its current RSS.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak RSS since the last reset, in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn row(backend: &str, shape: &str, step: &str, b: &mut dyn Dataplane, d: &DesiredTables) {
    reset_peak_rss();
    let t = Instant::now();
    let r = b.reconcile(d);
    let wall = t.elapsed();
    let labels = [("backend", backend), ("tables", shape), ("step", step)];
    report::figure("reconcile", &labels, "wall", "s", &[wall.as_secs_f64()]);
    report::figure("reconcile", &labels, "peak_rss", "MiB", &[peak_rss_mib()]);
    println!(
        "{backend:<9} {shape:<22} {step:<26} {:>10.1?} {:>9} {:>9} {:>8} {:>9.1}",
        wall,
        r.kernel_ops,
        r.objects_changed,
        r.failures.len(),
        peak_rss_mib()
    );
    if let Some(f) = r.failures.first() {
        println!(
            "          first failure: {} {}: {}",
            f.op, f.object, f.message
        );
    }
}

fn scenario(
    backend: &str,
    b: &mut dyn Dataplane,
    services: usize,
    reals: usize,
    forward: Forward,
    size: u32,
) {
    let shape = if backend == "nftables" {
        format!("{services}x{reals} M={size}")
    } else {
        format!("{services}x{reals} {}", full_sched())
    };
    let full = desired(services, reals, forward, size);
    let mut one = full.clone();
    if let Some(d) = one
        .services
        .get_mut(services / 2)
        .and_then(|s| s.dests.get_mut(reals / 2))
    {
        d.weight = 0;
    }
    row(backend, &shape, "empty -> full", b, &full);
    row(backend, &shape, "again (no change)", b, &full);
    row(backend, &shape, "one real weight -> 0", b, &one);
    row(backend, &shape, "weight back", b, &full);
    row(
        backend,
        &shape,
        "full -> empty",
        b,
        &DesiredTables::default(),
    );
}

/// The same services as `desired(services, reals, Masq, _)`, written by hand for `nft -f`:
/// one rule per service spreading by `jhash ip saddr mod R` over an anonymous map.
fn handwritten_ruleset(services: usize, reals: usize) -> String {
    let mut text = String::from(
        "table inet lb {\n  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n",
    );
    for svc in desired(services, reals, Forward::Masq, 101).services {
        let ServiceKey::Addr { addr, port, .. } = svc.spec.key else {
            continue;
        };
        let targets: Vec<String> = svc
            .dests
            .iter()
            .enumerate()
            .map(|(i, d)| format!("{i} : {} . {}", d.key.addr, d.key.port))
            .collect();
        text.push_str(&format!(
            "    ip daddr {addr} tcp dport {port} dnat ip addr . port to jhash ip saddr mod {} map {{ {} }}\n",
            svc.dests.len(),
            targets.join(", ")
        ));
    }
    text.push_str("  }\n}\n");
    text
}

/// Loads the hand-written ruleset with `nft -f` into the (empty) namespace we run in.
fn handwritten_row(services: usize, reals: usize) {
    let path = std::env::temp_dir().join(format!("director-bench-{}.nft", std::process::id()));
    if std::fs::write(&path, handwritten_ruleset(services, reals)).is_err() {
        println!("nft -f     skipped: cannot write {}", path.display());
        return;
    }
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg("nft")
        .arg("-f")
        .arg(&path)
        .output();
    let wall = t.elapsed();
    let _ = Command::new("nft")
        .args(["delete", "table", "inet", "lb"])
        .status();
    let _ = std::fs::remove_file(&path);
    let Ok(out) = out else {
        println!("nft -f     skipped: cannot run /usr/bin/time nft");
        return;
    };
    let peak_kib: f64 = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0.0);
    let shape = format!("{services}x{reals} jhash mod {reals}");
    if out.status.success() {
        let labels = [
            ("backend", "nft -f"),
            ("tables", shape.as_str()),
            ("step", "empty -> full"),
        ];
        report::figure("reconcile", &labels, "wall", "s", &[wall.as_secs_f64()]);
        report::figure(
            "reconcile",
            &labels,
            "peak_rss",
            "MiB",
            &[peak_kib / 1024.0],
        );
    }
    println!(
        "{:<9} {:<22} {:<26} {:>10.1?} {:>9} {:>9} {:>8} {:>9.1}",
        "nft -f",
        shape,
        "empty -> full",
        wall,
        1,
        services,
        usize::from(!out.status.success()),
        peak_kib / 1024.0
    );
}

fn header() {
    println!(
        "{:<9} {:<22} {:<26} {:>10} {:>9} {:>9} {:>8} {:>9}",
        "backend", "tables", "step", "wall", "kern.ops", "objects", "failures", "peak MiB"
    );
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .map(|u| u.split_whitespace().nth(1) == Some("0"))
            })
        })
        .unwrap_or(false)
}

fn nft_child(reals: usize) {
    let sizes: Vec<usize> = std::env::var("DIRECTOR_BENCH_NFT_SERVICES")
        .unwrap_or_else(|_| "10,100,1000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let size = table_size_for(reals);
    for services in sizes {
        let mut b = match NftBackend::open(&OpenOptions::default()) {
            Ok(b) => b,
            Err(e) => {
                println!("nftables  skipped: {e}");
                return;
            }
        };
        scenario("nftables", &mut b, services, reals, Forward::Masq, size);
        stats_row(&mut b, services, reals, size);
        handwritten_row(services, reals);
    }
}

/// `stats()` over a full table: what the background counter reading behind the metrics
/// and `directorctl services --stats` cost with nftables.
fn stats_row(b: &mut NftBackend, services: usize, reals: usize, size: u32) {
    b.reconcile(&desired(services, reals, Forward::Masq, size));
    reset_peak_rss();
    let t = Instant::now();
    let stats = b.stats();
    let wall = t.elapsed();
    println!(
        "{:<9} {:<22} {:<26} {:>10.1?} {:>9} {:>9} {:>8} {:>9.1}",
        "nftables",
        format!("{services}x{reals} M={size}"),
        "stats (full table)",
        wall,
        2,
        stats.as_ref().map_or(0, |s| s.services.len()),
        usize::from(stats.is_err()),
        peak_rss_mib()
    );
    b.reconcile(&DesiredTables::default());
}

/// One row of a read: wall time and the netlink requests it took.
fn read_row(shape: &str, step: &str, wall: Duration, requests: u64, objects: usize) {
    report::figure(
        "stats",
        &[("backend", "ipvs"), ("tables", shape), ("step", step)],
        "wall",
        "s",
        &[wall.as_secs_f64()],
    );
    println!(
        "{:<9} {shape:<22} {step:<26} {wall:>10.1?} {requests:>9} {objects:>9}",
        "ipvs"
    );
}

/// What reading the counters of a full IPVS table costs: each kind of dump alone, a
/// scrape as it reads the dataplane (`Dataplane::stats` on the backend, then the metrics
/// text), and `directorctl services --stats` (`IpvsReader::read`).
fn ipvs_stats_rows(b: &mut IpvsBackend, services: usize, reals: usize) {
    let shape = format!("{services}x{reals} {}", full_sched());
    let full = desired(services, reals, Forward::Masq, 65_537);
    let loaded = b.reconcile(&full);
    if !loaded.is_clean() {
        println!("ipvs      stats skipped: the full load failed");
        return;
    }
    let mut reader = match IpvsReader::open() {
        Ok(r) => r,
        Err(e) => {
            println!("ipvs      stats skipped: {e}");
            return;
        }
    };
    let mut snapshot = Snapshot::starting(StatusView::default());
    snapshot.backend = "ipvs".into();
    snapshot.desired = Arc::new(full);

    let before = reader.requests();
    let t = Instant::now();
    let listed = reader.services().unwrap_or_default();
    read_row(
        &shape,
        "service dump",
        t.elapsed(),
        reader.requests() - before,
        listed.len(),
    );
    let before = reader.requests();
    let t = Instant::now();
    let dests: usize = listed
        .iter()
        .map(|s| reader.dests(&s.spec.key).map_or(0, |d| d.len()))
        .sum();
    let all = t.elapsed();
    read_row(
        &shape,
        "real-server dumps, all",
        all,
        reader.requests() - before,
        dests,
    );
    read_row(
        &shape,
        "real-server dump, mean",
        all / listed.len().max(1) as u32,
        1,
        dests / listed.len().max(1),
    );

    let before = b.netlink_requests();
    let t = Instant::now();
    let stats = b.stats().ok();
    let text = snapshot.metrics(&Live {
        tables: stats.map(|stats| LiveCounters {
            stats: Arc::new(stats),
            age: Duration::ZERO,
            took: Duration::ZERO,
        }),
        ..Live::default()
    });
    read_row(
        &shape,
        "scrape before: stats()+text",
        t.elapsed(),
        b.netlink_requests() - before,
        text.lines().count(),
    );
    scrape_rows(&snapshot, &shape);

    let before = reader.requests();
    let t = Instant::now();
    let listing = reader.read().map(|l| l.services.len()).unwrap_or(0);
    read_row(
        &shape,
        "services --stats read",
        t.elapsed(),
        reader.requests() - before,
        listing,
    );
    b.reconcile(&DesiredTables::default());
}

/// The metrics text of a full table with every real server's counters: what a scrape
/// costs besides reading them.
fn metrics_text_row(b: &mut MemoryBackend, services: usize, reals: usize) {
    let shape = format!("{services}x{reals}");
    let full = desired(services, reals, Forward::Masq, 65_537);
    b.reconcile(&full);
    let mut snapshot = Snapshot::starting(StatusView::default());
    snapshot.backend = "ipvs".into();
    snapshot.desired = Arc::new(full);
    let counters = b.stats().ok().map(|stats| LiveCounters {
        stats: Arc::new(stats),
        age: Duration::ZERO,
        took: Duration::ZERO,
    });
    let live = Live {
        tables: counters,
        ..Live::default()
    };
    let mut walls = Vec::new();
    let mut lines = 0;
    for _ in 0..5 {
        let t = Instant::now();
        lines = snapshot.metrics(&live).lines().count();
        walls.push(t.elapsed());
    }
    walls.sort();
    report::figure(
        "stats",
        &[
            ("backend", "memory"),
            ("tables", &shape),
            ("step", "metrics text"),
        ],
        "wall",
        "s",
        &walls.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
    );
    println!(
        "{:<9} {shape:<22} {:<26} {:>10.1?} {:>9} {lines:>9}",
        "memory", "metrics text (median of 5)", walls[2], 0
    );
    b.reconcile(&DesiredTables::default());
}

/// A scrape served by the background reader (`control/counters.rs`): the first one, which
/// waits for the first reading, then one from the published reading; and the metrics text
/// alone.
fn scrape_rows(snapshot: &Snapshot, shape: &str) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        println!("ipvs      scrape skipped: no runtime");
        return;
    };
    let counters = match CountersHandle::spawn(Source::Ipvs {
        reader: None,
        requests: 0,
    }) {
        Ok(c) => c,
        Err(e) => {
            println!("ipvs      scrape skipped: {e}");
            return;
        }
    };
    let wait = Duration::from_secs(30);
    let mut sent = 0;
    for step in ["scrape after: first", "scrape after: next"] {
        let t = Instant::now();
        let published = runtime.block_on(counters.current(wait));
        let requests = published.kernel_requests - sent;
        sent = published.kernel_requests;
        let text = snapshot.metrics(&Live {
            tables: published.reading.map(|reading| LiveCounters {
                age: reading.started.elapsed(),
                stats: reading.stats,
                took: reading.took,
            }),
            ..Live::default()
        });
        read_row(shape, step, t.elapsed(), requests, text.lines().count());
    }
    let t = Instant::now();
    let text = snapshot.metrics(&Live::default());
    read_row(
        shape,
        "metrics text, no counters",
        t.elapsed(),
        0,
        text.lines().count(),
    );
}

/// The baseline of the IPVS rows: the same tables loaded by `ipvsadm -R` (one netlink
/// message per object, as keepalived programs them), then cleared with `ipvsadm -C`.
fn ipvsadm_restore(services: usize, reals: usize) {
    let tables = desired(services, reals, Forward::Masq, 65_537);
    let mut rules = String::new();
    for s in &tables.services {
        let ServiceKey::Addr { addr, port, .. } = s.spec.key else {
            continue;
        };
        rules.push_str(&format!("-A -t {addr}:{port} -s {}\n", s.spec.scheduler));
        for d in &s.dests {
            rules.push_str(&format!(
                "-a -t {addr}:{port} -r {}:{} -m -w {}\n",
                d.key.addr, d.key.port, d.weight
            ));
        }
    }
    let t = Instant::now();
    let restored = Command::new("ipvsadm")
        .arg("-R")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                std::io::Write::write_all(&mut stdin, rules.as_bytes())?;
            }
            child.wait()
        });
    let wall = t.elapsed();
    match restored {
        Ok(status) if status.success() => {
            let shape = format!("{services}x{reals} {}", full_sched());
            report::figure(
                "reconcile",
                &[
                    ("backend", "ipvsadm -R"),
                    ("tables", &shape),
                    ("step", "empty -> full"),
                ],
                "wall",
                "s",
                &[wall.as_secs_f64()],
            );
            println!(
                "{:<9} {shape:<22} {:<26} {:>10.1?}",
                "ipvsadm", "-R: empty -> full", wall
            );
        }
        Ok(status) => println!("ipvsadm   -R failed: {status}"),
        Err(e) => println!("ipvsadm   -R failed: {e}"),
    }
    let _ = Command::new("ipvsadm").arg("-C").status();
}

fn main() {
    let services = env_usize("DIRECTOR_BENCH_SERVICES", 1000);
    let reals = env_usize("DIRECTOR_BENCH_REALS", 10);
    if std::env::var("DIRECTOR_BENCH_CHILD").is_ok_and(|v| v == "nft") {
        nft_child(reals);
        return;
    }
    let only =
        std::env::var("DIRECTOR_BENCH_ONLY").unwrap_or_else(|_| "memory,nftables,ipvs".into());
    let wanted = |b: &str| only.split(',').any(|x| x == b);
    header();
    if wanted("memory") {
        let mut mem = MemoryBackend::new();
        scenario("memory", &mut mem, services, reals, Forward::Masq, 65_537);
        metrics_text_row(&mut mem, services, reals);
    }

    if !wanted("nftables") {
    } else if !is_root() {
        println!("nftables  skipped: needs root (network namespace)");
    } else {
        let ns = format!("dpbench-{}", std::process::id());
        let exe = std::env::current_exe()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let created = Command::new("ip")
            .args(["netns", "add", &ns])
            .status()
            .is_ok_and(|s| s.success());
        if created {
            let status = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns,
                    "env",
                    "DIRECTOR_BENCH_CHILD=nft",
                    &exe,
                ])
                .status();
            if !status.is_ok_and(|s| s.success()) {
                println!("nftables  child failed");
            }
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        } else {
            println!("nftables  skipped: cannot create a network namespace");
        }
    }

    if !wanted("ipvs") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("director-bench-ipvs-{}", std::process::id()));
    match IpvsBackend::open(&OpenOptions {
        state_dir: dir.clone(),
    }) {
        Ok(mut b) => {
            scenario("ipvs", &mut b, services, reals, Forward::Masq, 65_537);
            ipvs_stats_rows(&mut b, services, reals);
            ipvsadm_restore(services, reals);
        }
        Err(e) => println!("ipvs      skipped: {e} (run it through scripts/lab/ipvs-vm)"),
    }
    let _ = std::fs::remove_dir_all(dir);
}
