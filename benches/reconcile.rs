//! Reconcile figures: empty → S services × R real servers, then one real-server weight
//! change, then back, then removal; wall time and kernel operations, per backend.
//!
//! `cargo bench --bench reconcile` runs the in-memory backend, and the nftables backend in a
//! throwaway network namespace when run as root. IPVS needs a kernel with ip_vs: run the same
//! binary in the VM,
//! `CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$PWD/scripts/lab/ipvs-vm cargo bench --bench reconcile`.
//! Sizes: DIRECTOR_BENCH_SERVICES (1000), DIRECTOR_BENCH_REALS (10); backends:
//! DIRECTOR_BENCH_ONLY=memory,nftables,ipvs (default: all); scheduler: DIRECTOR_BENCH_SCHED (mh).

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::Instant;

use director::dataplane::ipvs::IpvsBackend;
use director::dataplane::memory::MemoryBackend;
use director::dataplane::nftables::NftBackend;
use director::dataplane::tables::{
    DesiredTables, DestKey, DestSpec, FlowHash, Forward, Protocol, Service, ServiceKey, ServiceSpec,
};
use director::dataplane::{Dataplane, OpenOptions};

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
                }
            })
            .collect(),
        maglev_size: size,
        ..Default::default()
    };
    t.canonicalize();
    t
}

fn row(backend: &str, shape: &str, step: &str, b: &mut dyn Dataplane, d: &DesiredTables) {
    let t = Instant::now();
    let r = b.reconcile(d);
    let wall = t.elapsed();
    println!(
        "{backend:<9} {shape:<22} {step:<26} {:>10.1?} {:>9} {:>9} {:>8}",
        wall,
        r.kernel_ops,
        r.objects_changed,
        r.failures.len()
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
        &DesiredTables {
            maglev_size: size,
            ..Default::default()
        },
    );
}

fn header() {
    println!(
        "{:<9} {:<22} {:<26} {:>10} {:>9} {:>9} {:>8}",
        "backend", "tables", "step", "wall", "kern.ops", "objects", "failures"
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

fn nft_child(services: usize, reals: usize) {
    let mut b = match NftBackend::open(&OpenOptions::default()) {
        Ok(b) => b,
        Err(e) => {
            println!("nftables  skipped: {e}");
            return;
        }
    };
    scenario("nftables", &mut b, services, reals, Forward::Masq, 1021);
    scenario("nftables", &mut b, 10, reals, Forward::Masq, 65_537);
}

fn main() {
    let services = env_usize("DIRECTOR_BENCH_SERVICES", 1000);
    let reals = env_usize("DIRECTOR_BENCH_REALS", 10);
    if std::env::var("DIRECTOR_BENCH_CHILD").is_ok_and(|v| v == "nft") {
        nft_child(services, reals);
        return;
    }
    let only =
        std::env::var("DIRECTOR_BENCH_ONLY").unwrap_or_else(|_| "memory,nftables,ipvs".into());
    let wanted = |b: &str| only.split(',').any(|x| x == b);
    header();
    if wanted("memory") {
        let mut mem = MemoryBackend::new();
        scenario("memory", &mut mem, services, reals, Forward::Masq, 65_537);
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
        Ok(mut b) => scenario("ipvs", &mut b, services, reals, Forward::Masq, 65_537),
        Err(e) => println!("ipvs      skipped: {e} (run through scripts/lab/ipvs-vm)"),
    }
    let _ = std::fs::remove_dir_all(dir);
}
