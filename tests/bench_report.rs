//! The benchmark report's pipeline without the measurements: the records a bench prints
//! (benches/report/mod.rs) go through scripts/lab/bench-report.py into a page with the
//! ratios of the same run; scripts/bench knows its steps. No figure here is measured.

#[path = "../benches/report/mod.rs"]
mod report;

use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn scratch(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("director-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// The record lines of a made-up run: OSPF failover of directord and BIRD, and a
/// connection-survival timeline.
fn records() -> String {
    let mut lines = Vec::new();
    for (director, sigkill) in [("directord", [1.0, 1.2, 5.0]), ("BIRD", [2.0, 2.4, 2.2])] {
        let labels = [
            ("router", "Bird"),
            ("director", director),
            ("timers", "1/4"),
        ];
        lines.push(report::record_line(
            "ospf_convergence",
            &labels,
            "sigkill",
            "s",
            &sigkill,
        ));
    }
    lines.push(report::record_line(
        "connection_survival",
        &[("failure", "crash")],
        "survived",
        "share",
        &[1.0],
    ));
    lines
        .iter()
        .map(|l| l.strip_prefix(report::PREFIX).unwrap_or(l).to_string() + "\n")
        .collect()
}

#[test]
fn records_become_a_page_with_same_run_ratios() {
    let dir = scratch("bench-report");
    let reports = dir.join("records");
    std::fs::create_dir_all(&reports).expect("records dir");
    std::fs::write(reports.join("ospf.jsonl"), records()).expect("write records");
    std::fs::write(
        reports.join("machine.json"),
        r#"{"nproc": 2, "mode": "quick", "cpu": "test"}"#,
    )
    .expect("write machine.json");
    let page = dir.join("benchmarks.md");
    let out = Command::new(Path::new(ROOT).join("scripts/lab/bench-report.py"))
        .arg(&reports)
        .arg(&page)
        .arg(dir.join("plots"))
        .output()
        .expect("run scripts/lab/bench-report.py (needs /usr/bin/python3)");
    assert!(
        out.status.success(),
        "bench-report.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&page).expect("the page");
    // Medians: directord 1.2 s, BIRD 2.2 s; the ratio is ours / theirs.
    assert!(
        text.contains("| 1.20 s | BIRD as director | 2.20 s | **0.55×** |"),
        "{text}"
    );
    assert!(text.contains("| 1.20 s (1.00 s–5.00 s, n=3) |"), "{text}");
    assert!(text.contains("crash of a director"), "{text}");
    assert!(
        text.contains("Not measured in this run: machine, maglev"),
        "steps without records are listed: {text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scripts_bench_lists_its_steps() {
    let out = Command::new(Path::new(ROOT).join("scripts/bench"))
        .arg("--list")
        .output()
        .expect("scripts/bench");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for step in ["ospf", "vrrp", "survival", "reconcile-ipvs", "report"] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{step} "))),
            "{step} missing from:\n{text}"
        );
    }
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(Path::new(ROOT).join("scripts/bench"))
        .status()
        .expect("bash");
    assert!(syntax.success(), "scripts/bench is valid bash");
}
