//! Health-check capacity on one core (root only): how many checks per second the real
//! `directord` sustains, and keepalived's checker on the same configuration text.
//!
//! For each checker kind (TCP_CHECK, HTTP_GET with `digest`) and each target rate N, one
//! network namespace holds a real-server stand-in (this binary re-executed with `--serve`:
//! a single-threaded tokio accept loop on 0.0.0.0:80, pinned to CPU 0) and `directord`
//! (release build, `dataplane none`, tables-only, pinned to CPU 1 with `taskset -c 1`)
//! checking N real servers 127.1.x.y:80 (loopback has the whole /8) with `delay_loop 1`,
//! so N checks/s are due. After startup and the warmup spread, for `MEASURE` seconds
//! (default 10): achieved checks/s from `director_health_checks_total` (`directorctl
//! metrics`, read twice), connections/s the stand-in accepted, failed checks in the
//! window, daemon CPU % (utime+stime from /proc/PID/stat) and VmRSS. 100 % CPU = one core.
//!
//! keepalived's checker needs IPVS, which this host kernel lacks, so the comparison runs
//! in the IPVS VM (`../shared/lab/ipvs-vm.sh`, QEMU TCG by default, `IPVSVM_BACKEND=uml`
//! for UML): this binary with `--vm-capacity N` runs both there, ours with
//! `dataplane ipvs` and keepalived (`-C`, checker only) from the same virtual_server text,
//! one after the other under the same emulation, and reports accepted connections/s, the
//! checker process's CPU % and RSS, and how many real servers IPVS still holds.
//!
//! `cargo bench --bench health_capacity` (as root). Environment: `KINDS=tcp,http`,
//! `RATES=1000,5000,10000,20000`, `MEASURE=10` (seconds), `VM_RATES=500,2000` (empty:
//! no VM run), `IPVS_VM=path/to/ipvs-vm.sh`.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "health_common/mod.rs"]
mod health_common;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::netns::NetNs;
use common::process::Daemon;
use common::TestDir;
#[path = "report/mod.rs"]
mod report;

use health_common::{
    check_counts, clk_tck, cpu_ticks, flush, rss_mib, run_delay_ns, self_exe, served,
    HTTP_BODY_MD5, SERVE,
};

const DIRECTORD: &str = env!("CARGO_BIN_EXE_directord");
const DIRECTORCTL: &str = env!("CARGO_BIN_EXE_directorctl");
/// Real servers per virtual_server block.
const PER_VS: usize = 1000;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Tcp,
    Http,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Tcp => "TCP_CHECK",
            Kind::Http => "HTTP_GET",
        }
    }
    fn serve_mode(self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Http => "http",
        }
    }
}

/// The i-th real server: 127.1.0.1, 127.1.0.2, ... (last octet 1–254).
fn real(i: usize) -> String {
    let (a, b) = (i / 254, i % 254 + 1);
    format!("127.{}.{}.{b}", 1 + a / 256, a % 256)
}

/// The keepalived.conf text both implementations read (virtual_servers only); `director`
/// is ours' extra block, if any.
fn config(kind: Kind, n: usize, director: Option<&str>) -> String {
    let mut c = String::from("global_defs {\n    router_id capacity\n}\n\n");
    if let Some(d) = director {
        c.push_str(d);
    }
    let checker = match kind {
        Kind::Tcp => "        TCP_CHECK {\n            connect_timeout 2\n        }\n".to_string(),
        Kind::Http => format!(
            "        HTTP_GET {{\n            url {{\n                path /health\n                \
             digest {HTTP_BODY_MD5}\n                status_code 200\n            }}\n            \
             connect_timeout 2\n        }}\n"
        ),
    };
    for (g, start) in (0..n).step_by(PER_VS).enumerate() {
        let _ = writeln!(
            c,
            "virtual_server 10.200.{}.{} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP",
            g / 250,
            g % 250 + 1
        );
        for i in start..(start + PER_VS).min(n) {
            let _ = writeln!(c, "    real_server {} 80 {{\n{checker}    }}", real(i));
        }
        c.push_str("}\n");
    }
    c
}

struct Row {
    kind: Kind,
    imp: &'static str,
    target: usize,
    checks: Option<f64>,
    accepted: f64,
    failures: Option<f64>,
    cpu: f64,
    /// Share of the window the daemon's threads were runnable but not running (%).
    waited: f64,
    /// CPU of the stand-in (%).
    stand_in_cpu: f64,
    rss: f64,
    startup: f64,
    note: String,
}

impl Row {
    /// A row for one run, before anything was measured.
    fn empty(kind: Kind, imp: &'static str, target: usize) -> Self {
        Row {
            kind,
            imp,
            target,
            checks: None,
            accepted: 0.0,
            failures: None,
            cpu: 0.0,
            waited: 0.0,
            stand_in_cpu: 0.0,
            rss: 0.0,
            startup: 0.0,
            note: String::new(),
        }
    }

    /// The row's figures as `report` lines, each after `prefix` (`VMROW:` inside the VM, so
    /// that the host side passes them on).
    fn report_lines(&self, place: &str, prefix: &str) -> Vec<String> {
        let target = self.target.to_string();
        let labels = [
            ("impl", self.imp.trim_end_matches(" (VM)")),
            ("checker", self.kind.name()),
            ("target", target.as_str()),
            ("place", place),
        ];
        let rate = self.checks.unwrap_or(self.accepted);
        [
            ("checks_per_s", "1/s", rate),
            ("accepted_per_s", "1/s", self.accepted),
            ("cpu", "%", self.cpu),
            ("rss", "MiB", self.rss),
            ("startup", "s", self.startup),
        ]
        .iter()
        .filter_map(|(metric, unit, v)| {
            report::figure_line("health_capacity", &labels, metric, unit, &[*v])
        })
        .map(|l| format!("{prefix}{l}"))
        .collect()
    }

    fn line(&self) -> String {
        let opt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |v| format!("{v:.p$}"));
        let rate = self.checks.unwrap_or(self.accepted);
        let per_check = (rate > 0.0).then(|| self.cpu / 100.0 / rate * 1e6);
        format!(
            "| {} | {} | {} | {} | {:.0} | {} | {:.0} % | {} | {} | {:.0} % | {:.0} % | {:.1} MiB | {:.1} s | {} |",
            self.imp,
            self.kind.name(),
            self.target,
            opt(self.checks, 0),
            self.accepted,
            opt(self.failures, 0),
            self.cpu,
            opt(per_check, 1),
            opt(per_check.map(|us| 1e6 / us), 0),
            self.waited,
            self.stand_in_cpu,
            self.rss,
            self.startup,
            self.note
        )
    }
}

const HEADER: &str = "| impl | checker | target checks/s | achieved checks/s | accepted conn/s | failed in window | CPU (1 core = 100 %) | CPU µs/check | projected checks/s per core | runqueue wait | stand-in CPU | RSS | startup | note |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn measure_secs() -> u64 {
    std::env::var("MEASURE")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10)
}

/// Starts the stand-in for `kind` in `ns` (pinned to CPU 0); returns it and its count file.
fn stand_in(ns: &NetNs, dir: &TestDir, kind: Kind) -> (Daemon, PathBuf) {
    let count = dir.path().join("accepted");
    let d = Daemon::spawn(
        ns,
        "rs",
        dir.path(),
        &[
            "taskset",
            "-c",
            "0",
            &self_exe(),
            SERVE,
            kind.serve_mode(),
            "0.0.0.0:80",
            &count.to_string_lossy(),
        ],
    );
    (d, count)
}

fn tune(ns: &NetNs) {
    ns.sysctl("net.ipv4.ip_local_port_range", "1024 65535");
    ns.sysctl("net.ipv4.tcp_tw_reuse", "1");
}

/// Waits until `f` gives `Ok(Some(_))`; `Ok(None)` retries, `Err` gives up at once.
fn poll<T>(bound: Duration, mut f: impl FnMut() -> Result<Option<T>, String>) -> Result<T, String> {
    let start = Instant::now();
    loop {
        match f()? {
            Some(v) => return Ok(v),
            None if start.elapsed() > bound => return Err(format!("not within {bound:?}")),
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// One step on the host: ours at `n` checks/s.
fn step(kind: Kind, n: usize, measure: Duration, vm: bool) -> Row {
    let mut row = Row::empty(kind, if vm { "directord (VM)" } else { "directord" }, n);
    let dir = TestDir::new("hcap");
    let ns = NetNs::new("hcap");
    tune(&ns);
    let (rs, count) = stand_in(&ns, &dir, kind);
    let socket = dir.path().join("directord.sock");
    let dataplane = if vm { "ipvs" } else { "none" };
    let director = format!(
        "director {{\n    mode tables-only\n    dataplane {dataplane}\n    control_socket {}\n}}\n\n",
        socket.display()
    );
    let conf = dir.write("directord.conf", &config(kind, n, Some(&director)));
    let runtime = dir.subdir("run");
    let t0 = Instant::now();
    // The soft RLIMIT_NOFILE (20000 here) is enough: probes hold a socket for about a
    // millisecond each.
    let mut argv: Vec<String> = Vec::new();
    if !vm {
        argv.extend(["taskset".into(), "-c".into(), "1".into()]);
    }
    argv.extend([
        DIRECTORD.into(),
        "-f".into(),
        conf.to_string_lossy().into_owned(),
        "-l".into(),
        "warn".into(),
        "--runtime-dir".into(),
        runtime.to_string_lossy().into_owned(),
    ]);
    let mut daemon = Daemon::spawn(&ns, "directord", dir.path(), &argv);
    let pid = daemon.pid();
    let started = poll(Duration::from_secs(120), || {
        if !daemon.is_running() {
            return Err("directord exited".into());
        }
        Ok(check_counts(DIRECTORCTL, &socket)
            .ok()
            .filter(|(ok, failed)| ok + failed > 0.0)
            .map(|_| ()))
    });
    if let Err(e) = started {
        row.note = format!("did not start: {e}; log tail: {}", tail(&daemon.log_text()));
        return row;
    }
    row.startup = t0.elapsed().as_secs_f64();
    // Warmup spreads the first checks over delay_loop (1 s); let the schedule settle.
    std::thread::sleep(Duration::from_secs(3));
    let hz = clk_tck();
    let read = |what: &str| check_counts(DIRECTORCTL, &socket).map_err(|e| format!("{what}: {e}"));
    // A counter read takes a while with many real servers (the metrics name each one):
    // date it at the middle of the call.
    let timed_read = |what: &str| {
        let before = Instant::now();
        let c = read(what)?;
        let took = before.elapsed();
        Ok::<_, String>((c, before + took / 2, took))
    };
    let (c0, m0, took0) = match timed_read("before") {
        Ok(c) => c,
        Err(e) => {
            row.note = e;
            return row;
        }
    };
    let rs_pid = rs.pid();
    let (ta, cpu_a, wait_a, rs_a, acc_a) = (
        Instant::now(),
        cpu_ticks(pid),
        run_delay_ns(pid),
        cpu_ticks(rs_pid),
        served(&count),
    );
    std::thread::sleep(measure);
    let (tb, cpu_b, wait_b, rs_b, acc_b) = (
        Instant::now(),
        cpu_ticks(pid),
        run_delay_ns(pid),
        cpu_ticks(rs_pid),
        served(&count),
    );
    let (c1, m1, took1) = match timed_read("after") {
        Ok(c) => c,
        Err(e) => {
            row.note = e;
            return row;
        }
    };
    let t_counts = m1.duration_since(m0).as_secs_f64();
    let t = tb.duration_since(ta).as_secs_f64();
    row.checks = Some((c1.0 + c1.1 - c0.0 - c0.1) / t_counts);
    row.failures = Some(c1.1 - c0.1);
    row.accepted = acc_b.saturating_sub(acc_a) as f64 / t;
    if let (Some(a), Some(b)) = (cpu_a, cpu_b) {
        row.cpu = (b - a) as f64 / hz / t * 100.0;
    }
    if let (Some(a), Some(b)) = (rs_a, rs_b) {
        row.stand_in_cpu = (b - a) as f64 / hz / t * 100.0;
    }
    row.waited = wait_b.saturating_sub(wait_a) as f64 / 1e9 / t * 100.0;
    row.note = format!(
        "metrics read {:.0}/{:.0} ms",
        took0.as_secs_f64() * 1000.0,
        took1.as_secs_f64() * 1000.0
    );
    row.rss = rss_mib(pid).unwrap_or(0.0);
    if vm {
        row.note = format!("{}; {}", row.note, ipvs_reals(&ns));
    }
    if !daemon.is_running() {
        row.note = "directord died".into();
    }
    row
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" / ")
}

/// "IPVS: k real servers" in `ns`.
fn ipvs_reals(ns: &NetNs) -> String {
    let out = ns.exec(&["ipvsadm", "-Ln"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let n = text
        .lines()
        .filter(|l| l.trim_start().starts_with("-> 127."))
        .count();
    let zero = text
        .lines()
        .filter(|l| l.trim_start().starts_with("-> 127."))
        .filter(|l| l.split_whitespace().nth(3) == Some("0"))
        .count();
    format!("IPVS: {n} real servers, {zero} at weight 0")
}

/// keepalived's checker (`-C`) at `n` checks/s, in the VM.
fn keepalived_step(kind: Kind, n: usize, measure: Duration) -> Row {
    let mut row = Row::empty(kind, "keepalived (VM)", n);
    let dir = TestDir::new("hcapk");
    let ns = NetNs::new("hcapk");
    tune(&ns);
    let (rs, count) = stand_in(&ns, &dir, kind);
    let conf = dir.write("keepalived.conf", &config(kind, n, None));
    let checker_pid = dir.path().join("checkers.pid");
    let t0 = Instant::now();
    let daemon = Daemon::spawn(
        &ns,
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
            &dir.path().join("keepalived.pid").to_string_lossy(),
            "-c",
            &checker_pid.to_string_lossy(),
        ],
    );
    let pid = poll(Duration::from_secs(120), || {
        let pid: Option<u32> = std::fs::read_to_string(&checker_pid)
            .ok()
            .and_then(|p| p.trim().parse().ok());
        Ok(pid.filter(|_| served(&count) > 0))
    });
    let pid = match pid {
        Ok(p) => p,
        Err(e) => {
            row.note = format!("did not start: {e}; log tail: {}", tail(&daemon.log_text()));
            return row;
        }
    };
    row.startup = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(3));
    let hz = clk_tck();
    let rs_pid = rs.pid();
    let (ta, cpu_a, wait_a, rs_a, acc_a) = (
        Instant::now(),
        cpu_ticks(pid),
        run_delay_ns(pid),
        cpu_ticks(rs_pid),
        served(&count),
    );
    std::thread::sleep(measure);
    let (tb, cpu_b, wait_b, rs_b, acc_b) = (
        Instant::now(),
        cpu_ticks(pid),
        run_delay_ns(pid),
        cpu_ticks(rs_pid),
        served(&count),
    );
    let t = tb.duration_since(ta).as_secs_f64();
    row.accepted = acc_b.saturating_sub(acc_a) as f64 / t;
    if let (Some(a), Some(b)) = (cpu_a, cpu_b) {
        row.cpu = (b - a) as f64 / hz / t * 100.0;
    }
    if let (Some(a), Some(b)) = (rs_a, rs_b) {
        row.stand_in_cpu = (b - a) as f64 / hz / t * 100.0;
    }
    row.waited = wait_b.saturating_sub(wait_a) as f64 / 1e9 / t * 100.0;
    row.rss = rss_mib(pid).unwrap_or(0.0);
    row.note = ipvs_reals(&ns);
    row
}

/// Inside the VM: ours, then keepalived, at each rate, TCP_CHECK; prints `VMROW:` lines.
fn vm_capacity(rates: &[usize]) {
    let measure = Duration::from_secs(measure_secs());
    for &n in rates {
        for row in [
            step(Kind::Tcp, n, measure, true),
            keepalived_step(Kind::Tcp, n, measure),
        ] {
            println!("VMROW:{}", row.line());
            row.report_lines("vm", "VMROW:")
                .iter()
                .for_each(|l| println!("{l}"));
            flush();
        }
    }
}

fn run_vm(rates: &[String]) -> Vec<String> {
    let Some(script) = health_common::ipvs_vm_script() else {
        return vec!["SKIPPED: keepalived comparison: no ipvs-vm.sh (set IPVS_VM)".into()];
    };
    let mut args = vec![self_exe(), "--vm-capacity".into()];
    args.extend(rates.iter().cloned());
    let out = Command::new(&script)
        .args(&args)
        .env("IPVSVM_TIMEOUT", "900")
        .output();
    match out {
        Err(e) => vec![format!("SKIPPED: keepalived comparison: {script}: {e}")],
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            let rows: Vec<String> = text
                .lines()
                .filter_map(|l| l.trim_end_matches('\r').strip_prefix("VMROW:"))
                .map(str::to_string)
                .collect();
            if rows.is_empty() {
                let err = String::from_utf8_lossy(&o.stderr);
                vec![format!(
                    "SKIPPED: keepalived comparison: the VM run gave no rows ({}): {}",
                    o.status,
                    tail(&format!("{text}\n{err}"))
                )]
            } else {
                rows
            }
        }
    }
}

fn main() {
    health_common::serve_if_asked();
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--vm-capacity") {
        let rates: Vec<usize> = args[i + 1..]
            .iter()
            .filter_map(|r| r.parse().ok())
            .collect();
        vm_capacity(&rates);
        return;
    }
    if !common::is_root() {
        println!("SKIPPED: health_capacity needs root (network namespaces)");
        return;
    }
    if let Some(p) = common::first_missing_program(&["taskset"]) {
        println!("SKIPPED: health_capacity needs `{p}` (util-linux)");
        return;
    }
    let measure = Duration::from_secs(measure_secs());
    let kinds: Vec<Kind> = env_list("KINDS", "tcp,http")
        .iter()
        .filter_map(|k| match k.as_str() {
            "tcp" => Some(Kind::Tcp),
            "http" => Some(Kind::Http),
            _ => None,
        })
        .collect();
    let rates: Vec<usize> = env_list("RATES", "1000,5000,10000,20000")
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect();
    println!(
        "health_capacity: directord on CPU 1 (taskset), stand-in on CPU 0, delay_loop 1, measure {} s",
        measure.as_secs()
    );
    println!("{HEADER}");
    let mut rows = Vec::new();
    for &kind in &kinds {
        for &n in &rates {
            let row = step(kind, n, measure, false);
            println!("{}", row.line());
            row.report_lines("host", "")
                .iter()
                .for_each(|l| println!("{l}"));
            flush();
            rows.push(row);
        }
    }
    for r in &rows {
        println!(
            "RESULT: health_capacity {} target={}/s achieved={}/s accepted={:.0}/s failed={} cpu={:.0}% runqueue_wait={:.0}% rss={:.1}MiB",
            r.kind.name(),
            r.target,
            r.checks.map_or("-".into(), |c| format!("{c:.0}")),
            r.accepted,
            r.failures.map_or("-".into(), |f| format!("{f:.0}")),
            r.cpu,
            r.waited,
            r.rss
        );
    }
    let vm_rates = env_list("VM_RATES", "500,2000");
    if vm_rates.is_empty() {
        return;
    }
    if common::first_missing_program(&["keepalived"]).is_some() {
        println!("SKIPPED: keepalived comparison: keepalived is not installed");
        return;
    }
    println!(
        "\nkeepalived comparison in the IPVS VM (backend {}), TCP_CHECK, same virtual_server text:",
        std::env::var("IPVSVM_BACKEND").unwrap_or_else(|_| "qemu".into())
    );
    println!("{HEADER}");
    for line in run_vm(&vm_rates) {
        println!("{line}");
        if let Some(row) = line.strip_prefix("| ") {
            println!("RESULT: health_capacity_vm {}", row.trim_end_matches(" |"));
        }
    }
}
