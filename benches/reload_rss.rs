//! RSS of `directord` across reloads: starts the daemon on a generated keepalived.conf of
//! 10,000 virtual servers × 10 real servers (each with a checker, as in `config_parse`),
//! reloads it 100 times (SIGHUP, waiting for "configuration reloaded" each time), and prints
//! VmRSS after start and after each reload. Fails (exit 1) when the RSS after the last
//! reload is more than 10 % above the RSS after the first: RSS must not creep.
//!
//! Needs root (the daemon runs in a throwaway network namespace holding only `lo`, so its
//! 100,000 checkers fail at once instead of probing the network; `delay_loop 3600` keeps
//! them idle). Run: `cargo bench --bench reload_rss`; DIRECTOR_BENCH_SERVICES (10000),
//! DIRECTOR_BENCH_RELOADS (100).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "generated_config/mod.rs"]
mod generated_config;

const REALS: usize = 10;
const TOLERANCE: f64 = 1.10;
const RELOAD_DEADLINE: Duration = Duration::from_secs(600);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn count_in(log: &Path, needle: &str) -> usize {
    let mut text = String::new();
    match std::fs::File::open(log) {
        Ok(mut f) => {
            let _ = f.read_to_string(&mut text);
        }
        Err(_) => return 0,
    }
    text.matches(needle).count()
}

/// Polls `log` until `needle` occurs more than `seen` times.
fn wait_for(daemon: &mut Child, log: &Path, needle: &str, seen: usize) -> Result<(), String> {
    let start = Instant::now();
    while count_in(log, needle) <= seen {
        if let Ok(Some(status)) = daemon.try_wait() {
            return Err(format!(
                "directord exited ({status}) waiting for {needle:?}"
            ));
        }
        if start.elapsed() > RELOAD_DEADLINE {
            return Err(format!("no {needle:?} within {RELOAD_DEADLINE:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// A network namespace with only `lo`, deleted on drop.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn main() {
    let services = env_usize("DIRECTOR_BENCH_SERVICES", 10_000);
    let reloads = env_usize("DIRECTOR_BENCH_RELOADS", 100).max(1);
    // Not under /tmp nor named dt-*: the test sweepers (scripts/lab/sweep-netns) would
    // take a long run for a leftover.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("director-reload-rss-{}", std::process::id()));
    let ns = Netns(format!("director-rss-{}", std::process::id()));
    let made = Command::new("ip")
        .args(["netns", "add", &ns.0])
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("ip")
            .args(["-n", &ns.0, "link", "set", "lo", "up"])
            .status()
            .is_ok_and(|s| s.success());
    if !made {
        println!("reload_rss skipped: cannot create a network namespace (needs root)");
        return;
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("{}: {e}", dir.display());
        std::process::exit(1);
    }
    let conf = dir.join("directord.conf");
    let log = dir.join("directord.log");
    if let Err(e) = std::fs::write(
        &conf,
        generated_config::keepalived_conf(
            services,
            REALS,
            3600,
            "director {\n    mode tables-only\n    dataplane none\n}\n",
        ),
    ) {
        eprintln!("{}: {e}", conf.display());
        std::process::exit(1);
    }
    let code = run(&ns.0, &dir, &conf, &log, services, reloads);
    let _ = std::fs::remove_dir_all(&dir);
    drop(ns);
    std::process::exit(code);
}

fn run(ns: &str, dir: &Path, conf: &Path, log: &PathBuf, services: usize, reloads: usize) -> i32 {
    let files = std::fs::File::create(log).and_then(|f| Ok((f.try_clone()?, f)));
    let (out, err) = match files {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{}: {e}", log.display());
            return 1;
        }
    };
    let spawned = Command::new("ip")
        .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_directord"), "-f"])
        .arg(conf)
        .arg("--runtime-dir")
        .arg(dir.join("run"))
        .args(["-l", "info"])
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn();
    let mut daemon = match spawned {
        Ok(child) => child,
        Err(e) => {
            eprintln!("starting directord: {e}");
            return 1;
        }
    };
    // `ip netns exec` execs the daemon: the child's pid is directord's.
    let pid = daemon.id();
    let result = (|| -> Result<(f64, Vec<f64>), String> {
        wait_for(&mut daemon, log, "directord started", 0)?;
        let started = rss_mib(pid).ok_or("no VmRSS")?;
        let mut after = Vec::with_capacity(reloads);
        for i in 0..reloads {
            let seen = count_in(log, "configuration reloaded");
            let sent = Command::new("kill")
                .args(["-HUP", &pid.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if !sent {
                return Err("cannot signal directord".into());
            }
            wait_for(&mut daemon, log, "configuration reloaded", seen)?;
            let rss = rss_mib(pid).ok_or("no VmRSS")?;
            println!("  reload {:>3}: RSS {rss:>7.1} MiB", i + 1);
            after.push(rss);
        }
        Ok((started, after))
    })();
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = daemon.wait();
    let (started, after) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("reload_rss: {e}");
            return 1;
        }
    };
    let first = after[0];
    let last = after[after.len() - 1];
    let max = after.iter().copied().fold(0.0, f64::max);
    println!("reload_rss: {services} virtual servers x {REALS} real servers, {reloads} reloads");
    println!("  RSS after start        {started:>7.1} MiB");
    println!("  RSS after reload 1     {first:>7.1} MiB");
    println!("  RSS after reload {reloads:<5} {last:>7.1} MiB");
    println!("  highest after a reload {max:>7.1} MiB");
    if last > first * TOLERANCE {
        println!(
            "  FAIL: the last reload ends {:.1} % above the first (limit 10 %)",
            (last / first - 1.0) * 100.0
        );
        return 1;
    }
    println!(
        "  ok: the last reload ends within 10 % of the first ({:+.1} %)",
        (last / first - 1.0) * 100.0
    );
    0
}
