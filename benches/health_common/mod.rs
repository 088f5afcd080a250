//! Shared by the health-check benchmarks: a real-server stand-in (this bench binary
//! re-executed with `--serve`), daemon metrics and /proc readings, and the summary format.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The argument that turns the bench binary into a real-server stand-in:
/// `--serve tcp|http ADDR:PORT COUNTFILE`.
pub const SERVE: &str = "--serve";

/// The HTTP answer of the stand-in (its body's MD5 is [`HTTP_BODY_MD5`]).
pub const HTTP_BODY: &str = "ok\n";
pub const HTTP_BODY_MD5: &str = "eff5bc1ef8ec9d03e640fc4370f5eacd";

/// If the process was started as a stand-in, serves forever and never returns.
pub fn serve_if_asked() {
    let args: Vec<String> = std::env::args().collect();
    let Some(i) = args.iter().position(|a| a == SERVE) else {
        return;
    };
    let (Some(mode), Some(addr), Some(count)) = (args.get(i + 1), args.get(i + 2), args.get(i + 3))
    else {
        eprintln!("usage: {SERVE} tcp|http ADDR:PORT COUNTFILE");
        std::process::exit(2);
    };
    let http = mode == "http";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    rt.block_on(serve(http, addr.clone(), count.clone()));
    std::process::exit(0);
}

/// Accepts on `addr` (backlog 4096); `tcp` closes each connection at once, `http` reads
/// the request head and answers 200 with [`HTTP_BODY`]. Every 100 ms the number of
/// accepted connections is written to `count_file` (write + rename).
async fn serve(http: bool, addr: String, count_file: String) {
    let sa: std::net::SocketAddr = addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}"));
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(sa),
        socket2::Type::STREAM,
        None,
    )
    .unwrap_or_else(|e| panic!("socket: {e}"));
    let _ = sock.set_reuse_address(true);
    sock.bind(&sa.into())
        .unwrap_or_else(|e| panic!("bind {sa}: {e}"));
    sock.listen(4096).unwrap_or_else(|e| panic!("listen: {e}"));
    sock.set_nonblocking(true).unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::from_std(sock.into()).unwrap_or_else(|e| panic!("{e}"));
    let accepted = Arc::new(AtomicU64::new(0));
    {
        let accepted = accepted.clone();
        tokio::spawn(async move {
            let tmp = format!("{count_file}.tmp");
            loop {
                let n = accepted.load(Ordering::Relaxed);
                if std::fs::write(&tmp, n.to_string()).is_ok() {
                    let _ = std::fs::rename(&tmp, &count_file);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        };
        accepted.fetch_add(1, Ordering::Relaxed);
        if !http {
            drop(stream);
            continue;
        }
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let mut seen = Vec::new();
            let read = async {
                loop {
                    let n = stream.read(&mut buf).await.ok()?;
                    if n == 0 {
                        return None;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        return Some(());
                    }
                }
            };
            if tokio::time::timeout(Duration::from_secs(5), read)
                .await
                .ok()
                .flatten()
                .is_some()
            {
                let answer = format!(
                    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{HTTP_BODY}",
                    HTTP_BODY.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        });
    }
}

/// The accepted-connection count a stand-in last wrote.
pub fn served(count_file: &Path) -> u64 {
    std::fs::read_to_string(count_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// This bench binary, for re-executing it as a stand-in.
pub fn self_exe() -> String {
    std::env::current_exe()
        .unwrap_or_else(|e| panic!("current_exe: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// (successes, failures) summed over checker kinds from `directorctl metrics`.
pub fn check_counts(directorctl: &str, socket: &Path) -> Result<(f64, f64), String> {
    let out = Command::new(directorctl)
        .arg("-s")
        .arg(socket)
        .arg("metrics")
        .output()
        .map_err(|e| format!("directorctl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "directorctl metrics: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(parse_check_counts(&String::from_utf8_lossy(&out.stdout)))
}

pub fn parse_check_counts(text: &str) -> (f64, f64) {
    let (mut ok, mut failed) = (0.0, 0.0);
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("director_health_checks_total{") else {
            continue;
        };
        let value: f64 = rest
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        if rest.contains("result=\"success\"") {
            ok += value;
        } else if rest.contains("result=\"failure\"") {
            failed += value;
        }
    }
    (ok, failed)
}

/// utime + stime of `pid` in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at state (field 3).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Nanoseconds the threads of `pid` spent runnable but waiting for a CPU (second field of
/// /proc/PID/task/*/schedstat): how much CPU other processes took from it.
pub fn run_delay_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when unknown).
pub fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// VmRSS of `pid` in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// "median (min–max)" with `unit`, or "-" for no values.
pub fn summary(v: &mut [f64], unit: &str) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort_by(|a, b| a.total_cmp(b));
    format!(
        "{:.2} {unit} ({:.2}–{:.2})",
        v[v.len() / 2],
        v[0],
        v[v.len() - 1]
    )
}

/// `RUNS` from the environment, default 3.
pub fn runs() -> usize {
    std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(3)
}

/// The IPVS VM script: `IPVS_VM` or `../shared/lab/ipvs-vm.sh` next to the repository.
pub fn ipvs_vm_script() -> Option<String> {
    let path = std::env::var("IPVS_VM")
        .unwrap_or_else(|_| format!("{}/../shared/lab/ipvs-vm.sh", env!("CARGO_MANIFEST_DIR")));
    Path::new(&path).exists().then_some(path)
}

/// Flushes stdout (results are read while a long bench still runs).
pub fn flush() {
    let _ = std::io::stdout().flush();
}
