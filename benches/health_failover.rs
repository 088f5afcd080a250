//! Health-check failover latency (root only): from a real server's death to the tables
//! and the routes, with `delay_loop 1`, `retry 1`, `delay_before_retry 1`,
//! `connect_timeout 1` (TCP_CHECK). The expected figure is about (retry + 1) checks,
//! 1–3 s.
//!
//! (a) nftables: `directord` (tables-only, `dataplane nftables`) in a director namespace,
//!     two real servers (this binary re-executed with `--serve`) in another namespace
//!     behind a veth. SIGKILL one real server's listener (its connects are then refused)
//!     and poll the kernel (`nft -j list ruleset`, the service map's elements) every
//!     ~10 ms until its address is gone from the map (weight 0).
//! (b) OSPF: a BIRD router and `DIRECTORS` (default 2) directors on a broadcast segment,
//!     hello 1 / dead 4, one VIP whose only real server (a listener on an address of each
//!     director's lo) is checked by every director. After the router has the VIP with one
//!     nexthop per director, stable, kill every real server and measure until the
//!     router's kernel has no route to the VIP (`ip -j route show`). The VIP stays on the
//!     directors' lo by design (docs/health-checking.md): only the announcement goes.
//! (c) IPVS, in the IPVS VM (`../shared/lab/ipvs-vm.sh`, QEMU TCG unless
//!     `IPVSVM_BACKEND=uml`): the setup of (a) with `directord` (`dataplane ipvs`) and then
//!     keepalived's checker (`keepalived -C`) from the same keepalived.conf text, polling
//!     `ipvsadm -Ln` until the real server is removed (keepalived's default) or at weight 0.
//!     Both under the same emulation, in the same VM run.
//!
//! Each figure is the median (min–max) of `RUNS` runs (default 3), each on a fresh setup.
//! `cargo bench --bench health_failover` (as root). `CASES=nft,ospf,vm` selects cases.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "health_common/mod.rs"]
mod health_common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::netns::{veth, NetNs};
use common::ospf::{
    director_addr, directord_config, host, router_full, BroadcastLab, DirectorSpec, Router,
    RouterKind, VIP_A,
};
use common::peers::{nexthop_count, route_nexthops, OspfIface};
use common::process::Daemon;
use common::wait::wait_stable;
use common::TestDir;
use health_common::{flush, runs, self_exe, summary, SERVE};

#[path = "report/mod.rs"]
mod report;

const VIP: &str = "10.99.100.1";
const RS1: &str = "10.99.61.11";
const RS2: &str = "10.99.61.12";
const CHECK: &str = "        TCP_CHECK {\n            connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }\n";
/// How long one failover may take before the run counts as failed.
const BOUND: Duration = Duration::from_secs(20);

/// The virtual_server text of (a) and (c): two real servers, TCP_CHECK.
fn service_conf() -> String {
    let mut c = format!(
        "virtual_server {VIP} 80 {{\n    delay_loop 1\n    lb_algo mh\n    lb_kind NAT\n    protocol TCP\n"
    );
    for rs in [RS1, RS2] {
        c.push_str(&format!(
            "    real_server {rs} 80 {{\n        weight 1\n{CHECK}    }}\n"
        ));
    }
    c.push_str("}\n");
    c
}

fn global() -> String {
    "global_defs {\n    router_id failover\n}\n\n".into()
}

fn ours_conf(dataplane: &str, socket: &Path) -> String {
    format!(
        "{}director {{\n    mode tables-only\n    dataplane {dataplane}\n    control_socket {}\n}}\n\n{}",
        global(),
        socket.display(),
        service_conf()
    )
}

/// A listener for `addr`:80 in `ns`.
fn listener(ns: &NetNs, dir: &TestDir, name: &str, addr: &str) -> Daemon {
    let count = dir.path().join(format!("{name}.count"));
    Daemon::spawn(
        ns,
        name,
        dir.path(),
        &[
            &self_exe(),
            SERVE,
            "tcp",
            &format!("{addr}:80"),
            &count.to_string_lossy(),
        ],
    )
}

/// Director namespace D (eth1 10.99.61.1) and real-server namespace B (eth0 .11, .12).
fn two_reals(dir: &TestDir) -> (NetNs, NetNs, Daemon, Daemon) {
    let d = NetNs::new("hfd");
    let b = NetNs::new("hfb");
    veth(&d, "eth1", &b, "eth0");
    d.add_addr("eth1", "10.99.61.1/24");
    b.add_addr("eth0", &format!("{RS1}/24"));
    b.add_addr("eth0", &format!("{RS2}/24"));
    let r1 = listener(&b, dir, "rs1", RS1);
    let r2 = listener(&b, dir, "rs2", RS2);
    (d, b, r1, r2)
}

/// The elements of every map in `nft -j list ruleset` of `ns`, as JSON text.
fn nft_map_elems(ns: &NetNs) -> Result<String, String> {
    let out = ns.exec(&["nft", "-j", "list", "ruleset"]);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("nft json: {e}"))?;
    let mut elems = String::new();
    for item in v["nftables"].as_array().into_iter().flatten() {
        if let Some(e) = item.get("map").and_then(|m| m.get("elem")) {
            elems.push_str(&e.to_string());
        }
    }
    Ok(elems)
}

/// Sleeps a random part of a second, so the death falls anywhere in the check period.
fn random_phase() {
    std::thread::sleep(Duration::from_secs_f64(rand::random::<f64>()));
}

/// Polls `gone` every `every` until true; seconds since `t0`.
fn time_until_true(
    t0: Instant,
    every: Duration,
    mut gone: impl FnMut() -> bool,
) -> Result<f64, String> {
    while t0.elapsed() < BOUND {
        if gone() {
            return Ok(t0.elapsed().as_secs_f64());
        }
        std::thread::sleep(every);
    }
    Err(format!("not within {BOUND:?}"))
}

/// Seconds since midnight UTC of now.
fn day_secs_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() % 86_400.0)
}

/// Seconds since midnight UTC of the first log line containing all of `words` (the
/// daemon's text log starts each line with an RFC 3339 UTC timestamp, maybe coloured).
fn log_day_secs(log: &str, words: &[&str]) -> Option<f64> {
    let line = log.lines().find(|l| words.iter().all(|w| l.contains(w)))?;
    let t = line.find('T')?;
    let hms = line.get(t + 1..t + 16)?;
    let h: f64 = hms.get(0..2)?.parse().ok()?;
    let m: f64 = hms.get(3..5)?.parse().ok()?;
    let s: f64 = hms.get(6..15)?.trim_end_matches('Z').parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// (a) one run: seconds from SIGKILL of RS1's listener to the daemon's "real server
/// down" log line, to its next "dataplane reconciled" line, and to RS1 leaving the nft
/// map (with the mean duration of one kernel poll).
fn nft_once() -> Result<[f64; 4], String> {
    let dir = TestDir::new("hfnft");
    let (d, _b, mut r1, _r2) = two_reals(&dir);
    let socket = dir.path().join("d.sock");
    let daemon = common::directord(&d, &dir, "d", &ours_conf("nftables", &socket));
    wait_stable(Duration::from_secs(30), Duration::from_secs(3), || {
        let e = nft_map_elems(&d)?;
        (e.contains(RS1) && e.contains(RS2))
            .then_some(())
            .ok_or_else(|| "both real servers not in the map yet".to_string())
    })
    .map_err(|e| e.to_string())?;
    random_phase();
    let day0 = day_secs_now();
    let t0 = Instant::now();
    r1.kill();
    let (mut polls, mut polled) = (0u32, Duration::ZERO);
    let kernel = time_until_true(t0, Duration::from_millis(10), || {
        let p = Instant::now();
        let gone = nft_map_elems(&d).is_ok_and(|e| !e.contains(RS1) && e.contains(RS2));
        polls += 1;
        polled += p.elapsed();
        gone
    })?;
    let log = daemon.log_text();
    let since = |words: &[&str]| {
        log_day_secs(&log, words).map_or(f64::NAN, |s| (s - day0).rem_euclid(86_400.0))
    };
    let down = since(&["real server down", RS1]);
    // The first reconcile logged after the down line.
    let after_down = log.find("real server down").map_or("", |i| &log[i..]);
    let reconciled = log_day_secs(after_down, &["dataplane reconciled"])
        .map_or(f64::NAN, |s| (s - day0).rem_euclid(86_400.0));
    Ok([
        down,
        reconciled,
        kernel,
        polled.as_secs_f64() / f64::from(polls.max(1)),
    ])
}

/// (b) one run: seconds until the router has no route to the VIP.
fn ospf_once(directors: usize) -> Result<f64, String> {
    let dir = TestDir::new("hfospf");
    let lab = BroadcastLab::new(directors);
    let iface = OspfIface::broadcast("eth0", 1, 4);
    let router = Router::start(RouterKind::Bird, &lab.r1, &dir, vec![iface.clone()]);
    let rs_addr = "10.99.9.10";
    let mut listeners = Vec::new();
    let mut daemons = Vec::new();
    let mut ids = Vec::new();
    for (n, ns) in lab.directors.iter().enumerate() {
        ns.add_addr("lo", &format!("{rs_addr}/32"));
        listeners.push(listener(ns, &dir, &format!("rs{n}"), rs_addr));
        let name = format!("d{}", n + 1);
        let mut spec = DirectorSpec::new(&name, director_addr(n), iface.clone(), &[VIP_A]);
        spec.control_socket = Some(dir.subdir(&name).join("directord.sock"));
        let plain = "    real_server 10.99.9.10 80 {\n        weight 1\n    }\n";
        let base = directord_config(&spec);
        if !base.contains(plain) {
            return Err("directord_config changed: no plain real_server block".into());
        }
        let conf = base
            .replace(
                plain,
                &format!("    real_server {rs_addr} 80 {{\n        weight 1\n{CHECK}    }}\n"),
            )
            .replace("    protocol TCP\n", "    protocol TCP\n    delay_loop 1\n");
        daemons.push(common::directord(ns, &dir, &name, &conf));
        ids.push(director_addr(n));
    }
    let prefix = host(VIP_A);
    let mut full = router_full(&router, &ids);
    let mut hops = nexthop_count(&lab.r1, &prefix, directors);
    wait_stable(Duration::from_secs(90), Duration::from_secs(3), || {
        full()?;
        hops()
    })
    .map_err(|e| e.to_string())?;
    random_phase();
    let t0 = Instant::now();
    for l in &mut listeners {
        l.kill();
    }
    time_until_true(t0, Duration::from_millis(5), || {
        route_nexthops(&lab.r1, &prefix).is_ok_and(|h| h.is_empty())
    })
}

/// `ipvsadm -Ln` of `ns`: whether RS1 is absent or at weight 0 while RS2 is present.
fn ipvs_rs1_out(ns: &NetNs) -> bool {
    let out = ns.exec(&["ipvsadm", "-Ln"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |rs: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("-> {rs}:80")))
            .map(|l| l.split_whitespace().nth(3).unwrap_or("?").to_string())
    };
    let rs1_out = match line(RS1) {
        None => true,
        Some(w) => w == "0",
    };
    rs1_out && line(RS2).is_some_and(|w| w != "0")
}

fn ipvs_both_in(ns: &NetNs) -> bool {
    let out = ns.exec(&["ipvsadm", "-Ln"]);
    let text = String::from_utf8_lossy(&out.stdout);
    [RS1, RS2].iter().all(|rs| {
        text.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("-> {rs}:80")) && l.split_whitespace().nth(3) != Some("0")
        })
    })
}

/// (c) one run inside the VM, ours or keepalived.
fn ipvs_once(keepalived: bool) -> Result<f64, String> {
    let dir = TestDir::new("hfipvs");
    let (d, _b, mut r1, _r2) = two_reals(&dir);
    let _daemon = if keepalived {
        let conf = dir.write("keepalived.conf", &(global() + &service_conf()));
        Daemon::spawn(
            &d,
            "keepalived",
            dir.path(),
            &[
                "keepalived",
                "-C",
                "-n",
                "-l",
                "-D",
                "-f",
                &conf.to_string_lossy(),
                "-p",
                &dir.path().join("k.pid").to_string_lossy(),
                "-c",
                &dir.path().join("kc.pid").to_string_lossy(),
            ],
        )
    } else {
        let socket = dir.path().join("d.sock");
        common::directord(&d, &dir, "d", &ours_conf("ipvs", &socket))
    };
    // Both up and checked for a while (keepalived starts every real server up).
    wait_stable(Duration::from_secs(60), Duration::from_secs(4), || {
        ipvs_both_in(&d)
            .then_some(())
            .ok_or_else(|| "both real servers not in IPVS yet".to_string())
    })
    .map_err(|e| e.to_string())?;
    random_phase();
    let t0 = Instant::now();
    r1.kill();
    time_until_true(t0, Duration::from_millis(10), || ipvs_rs1_out(&d))
}

/// Inside the VM: prints `VMRES: ours|keepalived SECONDS|ERR text` lines.
fn vm_failover(runs: usize) {
    for imp in ["ours", "keepalived"] {
        for _ in 0..runs {
            match ipvs_once(imp == "keepalived") {
                Ok(s) => println!("VMRES: {imp} {s:.3}"),
                Err(e) => println!("VMRES: {imp} ERR {}", e.replace('\n', " ")),
            }
            flush();
        }
    }
}

/// (ours, keepalived, errors) from the VM run.
type VmResults = (Vec<f64>, Vec<f64>, Vec<String>);

fn run_vm(runs: usize) -> Result<VmResults, String> {
    let script = health_common::ipvs_vm_script().ok_or("no ipvs-vm.sh (set IPVS_VM)")?;
    let out = Command::new(&script)
        .args([self_exe(), "--vm-failover".into(), runs.to_string()])
        .env("IPVSVM_TIMEOUT", "600")
        .output()
        .map_err(|e| format!("{script}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut ours, mut ka, mut errs) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines() {
        let Some(rest) = line.trim_end_matches('\r').strip_prefix("VMRES: ") else {
            continue;
        };
        let mut it = rest.splitn(2, ' ');
        let (imp, val) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
        match val.parse::<f64>() {
            Ok(v) if imp == "ours" => ours.push(v),
            Ok(v) => ka.push(v),
            Err(_) => errs.push(format!("{imp}: {val}")),
        }
    }
    if ours.is_empty() && ka.is_empty() {
        let err = String::from_utf8_lossy(&out.stderr);
        let all = format!("{text}\n{err}");
        let tail: Vec<&str> = all.lines().rev().take(8).collect();
        return Err(format!(
            "VM run ({}) gave no results: {:?}",
            out.status, tail
        ));
    }
    Ok((ours, ka, errs))
}

fn main() {
    health_common::serve_if_asked();
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--vm-failover") {
        let n = args.get(i + 1).and_then(|r| r.parse().ok()).unwrap_or(3);
        vm_failover(n);
        return;
    }
    if !common::is_root() {
        println!("SKIPPED: health_failover needs root (network namespaces)");
        return;
    }
    let runs = runs();
    let cases = std::env::var("CASES").unwrap_or_else(|_| "nft,ospf,vm".into());
    let directors: usize = std::env::var("DIRECTORS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(2);
    println!(
        "health_failover: TCP_CHECK delay_loop 1, retry 1, delay_before_retry 1, connect_timeout 1; listener SIGKILLed (connects refused); {runs} runs"
    );
    println!(
        "| case | measured until | median (min–max) | runs ok | notes |\n|---|---|---|---|---|"
    );
    let mut results = Vec::new();
    if cases.contains("nft") {
        if let Some(p) = common::first_missing_program(&["nft"]) {
            println!("SKIPPED: (a) nftables needs `{p}`");
        } else {
            let (mut cols, mut errs) = (vec![Vec::new(); 4], Vec::new());
            for _ in 0..runs {
                match nft_once() {
                    Ok(s) => s.iter().zip(&mut cols).for_each(|(v, c)| c.push(*v)),
                    Err(e) => errs.push(e),
                }
            }
            let ok = cols[2].len();
            for (metric, values) in ["down_logged", "reconciled_logged", "table", "poll"]
                .iter()
                .zip(&cols)
            {
                let labels = [("case", "nftables"), ("impl", "directord")];
                report::figure("health_failover", &labels, metric, "s", values);
            }
            let poll = summary(&mut cols[3], "s");
            for (i, what) in [
                "daemon logs \"real server down\"",
                "daemon logs the next \"dataplane reconciled\"",
                "real server gone from the nft map (kernel)",
            ]
            .iter()
            .enumerate()
            {
                let note = if i == 2 {
                    format!(
                        "one `nft -j list ruleset` poll: {poll}; {}",
                        errs.join("; ")
                    )
                } else {
                    String::new()
                };
                println!(
                    "| (a) directord, nftables | {what} | {} | {ok}/{runs} | {note} |",
                    summary(&mut cols[i], "s")
                );
            }
            flush();
            results.push(format!(
                "health_failover nft_down_logged {}",
                summary(&mut cols[0], "s")
            ));
            results.push(format!(
                "health_failover nft_reconciled_logged {}",
                summary(&mut cols[1], "s")
            ));
            results.push(format!(
                "health_failover nft_map {}",
                summary(&mut cols[2], "s")
            ));
        }
    }
    if cases.contains("ospf") {
        if let Some(p) = common::first_missing_program(&["bird", "birdc"]) {
            println!("SKIPPED: (b) OSPF needs `{p}` (apt-get install bird2)");
        } else {
            let (mut route, mut errs) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                match ospf_once(directors) {
                    Ok(r) => route.push(r),
                    Err(e) => errs.push(e),
                }
            }
            let n = directors.to_string();
            let labels = [("case", "ospf"), ("impl", "directord"), ("directors", &n)];
            report::figure("health_failover", &labels, "route", "s", &route);
            println!(
                "| (b) {directors} directord + BIRD, hello 1/dead 4 | router's route to the VIP gone | {} | {}/{runs} | {} |",
                summary(&mut route, "s"),
                route.len(),
                errs.join("; ")
            );
            flush();
            results.push(format!(
                "health_failover ospf_route directors={directors} {}",
                summary(&mut route, "s")
            ));
        }
    }
    if cases.contains("vm") {
        if let Some(p) = common::first_missing_program(&["keepalived", "ipvsadm"]) {
            println!("SKIPPED: (c) IPVS VM needs `{p}`");
        } else {
            let backend = std::env::var("IPVSVM_BACKEND").unwrap_or_else(|_| "qemu".into());
            match run_vm(runs) {
                Ok((mut ours, mut ka, errs)) => {
                    let case = format!("ipvs-vm-{backend}");
                    for (imp, values) in [("directord", &ours), ("keepalived", &ka)] {
                        let labels = [("case", case.as_str()), ("impl", imp)];
                        report::figure("health_failover", &labels, "table", "s", values);
                    }
                    println!(
                        "| (c) directord, IPVS, in the VM ({backend}) | weight 0 or removed in ipvsadm -Ln | {} | {}/{runs} | {} |",
                        summary(&mut ours, "s"),
                        ours.len(),
                        errs.iter().filter(|e| e.starts_with("ours")).cloned().collect::<Vec<_>>().join("; ")
                    );
                    println!(
                        "| (c) keepalived 2.2.7 -C, IPVS, in the VM ({backend}) | weight 0 or removed in ipvsadm -Ln | {} | {}/{runs} | {} |",
                        summary(&mut ka, "s"),
                        ka.len(),
                        errs.iter().filter(|e| e.starts_with("keepalived")).cloned().collect::<Vec<_>>().join("; ")
                    );
                    results.push(format!(
                        "health_failover ipvs_vm_{backend} directord {}",
                        summary(&mut ours, "s")
                    ));
                    results.push(format!(
                        "health_failover ipvs_vm_{backend} keepalived {}",
                        summary(&mut ka, "s")
                    ));
                }
                Err(e) => println!("SKIPPED: (c) IPVS VM: {e}"),
            }
        }
    }
    for r in results {
        println!("RESULT: {r}");
    }
}
