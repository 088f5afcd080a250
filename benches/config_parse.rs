//! Parse + validate a generated keepalived.conf with 10,000 virtual servers × 10 real
//! servers (each with a checker), as `directord -t` would: read the file, preprocess,
//! parse, build the typed model, validate. Prints the median time of a few runs and the
//! process's peak RSS (VmHWM), and what the loaded model keeps: the bytes in live heap
//! allocations (glibc's count after the load minus before) and the resident memory (VmRSS
//! after the load and a trim, minus before).
//!
//! Targets: < 1 s, and no more memory per virtual server than keepalived 2.2.7 on the same
//! file, measured on the bench machine (docs/dataplane.md, "Memory of the configuration"):
//! its health-checker process holds 73.4 MiB more with this file than with an empty one
//! (VmRSS, idle after the load), and `keepalived -t` peaks at 82.5 MiB (VmHWM). The bench
//! fails (exit 1) when the model's resident memory or live heap per virtual server exceeds
//! keepalived's, or the peak of the first load exceeds keepalived's peak.
//!
//! Run: `cargo bench --bench config_parse`; with `CONFIG_PARSE_KEEP=FILE` the generated
//! configuration is left in FILE (scripts/bench times `directord -t` and `keepalived -t` on it).

use std::time::{Duration, Instant};

#[path = "generated_config/mod.rs"]
mod generated_config;

const VIRTUAL_SERVERS: usize = 10_000;
const REAL_SERVERS: usize = 10;
const RUNS: usize = 5;

/// keepalived's checker process with this file, minus with an empty one (VmRSS, MiB).
const KEEPALIVED_MODEL_MIB: f64 = 73.4;
/// `keepalived -t` on this file (VmHWM, MiB).
const KEEPALIVED_TEST_PEAK_MIB: f64 = 82.5;

#[path = "report/mod.rs"]
mod report;

/// A field of /proc/self/status in kB.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    let text = generated_config::keepalived_conf(VIRTUAL_SERVERS, REAL_SERVERS, 5, "");
    let keep = std::env::var_os("CONFIG_PARSE_KEEP").map(std::path::PathBuf::from);
    let path = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("director-bench-{}.conf", std::process::id()))
    });
    if let Err(e) = std::fs::write(&path, &text) {
        eprintln!("cannot write {}: {e}", path.display());
        std::process::exit(1);
    }
    let lines = text.lines().count();
    let bytes = text.len();
    drop(text);
    let rss_before = status_kb("VmRSS:").unwrap_or(0);

    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut summary = String::new();
    let mut peak_after_first_kb = 0;
    let mut model_bytes = None;
    let mut model_rss_kb = None;
    for run in 0..RUNS {
        let heap_before = director::heap::in_use();
        let start = Instant::now();
        let loaded = director::config::load(&path);
        let elapsed = start.elapsed();
        if run == 0 {
            // What the loaded model keeps alive (the parser's scratch is freed by now).
            model_bytes = heap_before
                .zip(director::heap::in_use())
                .map(|(before, after)| after.saturating_sub(before));
            // And what it occupies in RAM once the allocator gave free pages back, as the
            // daemon does after a load (comparable to keepalived's RSS).
            director::heap::release_freed();
            model_rss_kb = status_kb("VmRSS:").map(|kb| kb.saturating_sub(rss_before));
        }
        match &loaded {
            Ok(l) => {
                let reals: usize = l
                    .config
                    .virtual_servers
                    .iter()
                    .map(|v| v.real_servers.len())
                    .sum();
                summary = format!(
                    "{} virtual servers, {reals} real servers, {} warnings",
                    l.config.virtual_servers.len(),
                    l.warnings.len()
                );
            }
            Err(e) => {
                eprintln!("generated config failed to load:\n{e}");
                if keep.is_none() {
                    let _ = std::fs::remove_file(&path);
                }
                std::process::exit(1);
            }
        }
        drop(loaded);
        times.push(elapsed);
        if run == 0 {
            peak_after_first_kb = status_kb("VmHWM:").unwrap_or(0);
        }
    }
    if keep.is_none() {
        let _ = std::fs::remove_file(&path);
    }
    times.sort();
    let median = times[RUNS / 2];
    let peak_mb = status_kb("VmHWM:").unwrap_or(0) as f64 / 1024.0;
    let shape = format!("{VIRTUAL_SERVERS}x{REAL_SERVERS}");
    let labels = [("config", shape.as_str())];
    let secs: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    report::figure("config_parse", &labels, "load", "s", &secs);
    report::figure("config_parse", &labels, "peak_rss", "MiB", &[peak_mb]);

    println!("config_parse: load + validate a generated keepalived.conf");
    println!(
        "  input: {VIRTUAL_SERVERS} virtual servers x {REAL_SERVERS} real servers (HTTP_GET/TCP_CHECK), {lines} lines, {:.1} MB",
        bytes as f64 / 1e6
    );
    println!("  result: {summary}");
    println!();
    println!("  {:<28} {:>12} {:>10}", "metric", "value", "target");
    println!(
        "  {:<28} {:>10.3} s {:>10}",
        "time, median of 5",
        median.as_secs_f64(),
        "< 1 s"
    );
    println!(
        "  {:<28} {:>10.3} s {:>10}",
        "time, min / max",
        times[0].as_secs_f64(),
        format!("{:.3} s", times[RUNS - 1].as_secs_f64())
    );
    println!(
        "  {:<28} {:>8.1} MiB {:>10}",
        "peak RSS (VmHWM), 5 runs", peak_mb, ""
    );
    let per_vs_kib = |mib: f64| mib * 1024.0 / VIRTUAL_SERVERS as f64;
    let keepalived_kib = per_vs_kib(KEEPALIVED_MODEL_MIB);
    let mut over = Vec::new();
    let mut model = |what: &str, mib: f64| {
        println!(
            "  {:<28} {:>8.1} MiB {:>10}   {:.2} KiB per virtual server, keepalived {keepalived_kib:.2}",
            what,
            mib,
            format!("<= {KEEPALIVED_MODEL_MIB} MiB"),
            per_vs_kib(mib)
        );
        if mib > KEEPALIVED_MODEL_MIB {
            over.push(format!(
                "{what}: {mib:.1} MiB > keepalived's {KEEPALIVED_MODEL_MIB} MiB"
            ));
        }
    };
    if let Some(bytes) = model_bytes {
        model("model, live heap", bytes as f64 / (1024.0 * 1024.0));
    }
    if let Some(kb) = model_rss_kb {
        let mib = kb as f64 / 1024.0;
        report::figure("config_parse", &labels, "model_rss", "MiB", &[mib]);
        model("model, RSS after trim", mib);
    }
    let first_peak_mib = peak_after_first_kb as f64 / 1024.0;
    println!(
        "  {:<28} {:>8.1} MiB {:>10}",
        "peak RSS of the first load",
        first_peak_mib,
        format!("<= {KEEPALIVED_TEST_PEAK_MIB} MiB")
    );
    if first_peak_mib > KEEPALIVED_TEST_PEAK_MIB {
        over.push(format!(
            "peak of the first load: {first_peak_mib:.1} MiB > keepalived -t's {KEEPALIVED_TEST_PEAK_MIB} MiB"
        ));
    }
    println!(
        "  {:<28} {:>8.1} MiB",
        "RSS before parsing",
        rss_before as f64 / 1024.0
    );
    if !over.is_empty() {
        eprintln!("config_parse: more memory than keepalived for the same file:");
        for line in &over {
            eprintln!("  {line}");
        }
        std::process::exit(1);
    }
}
