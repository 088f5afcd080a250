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

/// Record lines as a step's .jsonl holds them (without the prefix).
fn jsonl(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.strip_prefix(report::PREFIX).unwrap_or(l).to_string() + "\n")
        .collect()
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
    // The keepalived + LVS reference, from the IPVS VM: half survive, the others reset.
    for (metric, unit, value) in [
        ("survived", "share", 0.5),
        ("connections", "count", 24.0),
        ("broke_reset", "count", 12.0),
    ] {
        lines.push(report::record_line(
            "connection_survival",
            &[("lab", "lvs-sync"), ("failure", "crash")],
            metric,
            unit,
            &[value],
        ));
    }
    jsonl(&lines)
}

/// The records of the steps added for issue 14: BFD failover, nftables against `nft -f`,
/// the reload of a running daemon (host and VM), ipvs-compare and reload_rss.
fn reload_and_bfd_records() -> Vec<(&'static str, String)> {
    let bfd = [
        ("directord", "no", 4.0),
        ("directord", "yes", 0.4),
        ("BIRD", "yes", 0.5),
    ]
    .iter()
    .map(|(director, bfd, secs)| {
        report::record_line(
            "bfd_kill",
            &[("router", "Bird"), ("director", director), ("bfd", bfd)],
            "sigkill",
            "s",
            &[*secs],
        )
    })
    .collect::<Vec<_>>();
    let nft = [
        ("nftables", "100x10 M=1201", 0.02),
        ("nft -f", "100x10 jhash mod 10", 0.08),
    ]
    .iter()
    .map(|(backend, tables, secs)| {
        report::record_line(
            "reconcile",
            &[
                ("backend", backend),
                ("tables", tables),
                ("step", "empty -> full"),
            ],
            "wall",
            "s",
            &[*secs],
        )
    })
    .collect::<Vec<_>>();
    let mut vm = Vec::new();
    for (tool, weight, rss) in [("directord", 1.0, 30.0), ("keepalived", 4.0, 20.0)] {
        let labels = [("tool", tool), ("services", "1000")];
        vm.push(report::record_line(
            "ipvs_compare",
            &labels,
            "full",
            "s",
            &[2.0],
        ));
        vm.push(report::record_line(
            "ipvs_compare",
            &labels,
            "one_weight",
            "s",
            &[weight],
        ));
        vm.push(report::record_line(
            "ipvs_compare",
            &labels,
            "reload_peak_rss",
            "MiB",
            &[rss],
        ));
    }
    let host = [("reconciled", "s", 0.25), ("peak_rss", "MiB", 12.0)]
        .iter()
        .map(|(metric, unit, v)| {
            report::record_line(
                "reload_cost",
                &[("dataplane", "nftables"), ("services", "1000")],
                metric,
                unit,
                &[*v],
            )
        })
        .collect::<Vec<_>>();
    let rss = [("first_reload", 300.0), ("last_reload", 303.0)]
        .iter()
        .map(|(metric, v)| {
            report::record_line(
                "reload_rss",
                &[("services", "10000"), ("reloads", "100")],
                metric,
                "MiB",
                &[*v],
            )
        })
        .collect::<Vec<_>>();
    vec![
        ("bfd", jsonl(&bfd)),
        ("reconcile", jsonl(&nft)),
        ("ipvs-compare", jsonl(&vm)),
        ("reload", jsonl(&host)),
        ("reload-rss", jsonl(&rss)),
    ]
}

/// Runs scripts/lab/bench-report.py on `reports` and returns the page.
fn write_page(dir: &Path, reports: &Path) -> String {
    let page = dir.join("benchmarks.md");
    let out = Command::new(Path::new(ROOT).join("scripts/lab/bench-report.py"))
        .arg(reports)
        .arg(&page)
        .arg(dir.join("plots"))
        .output()
        .expect("run scripts/lab/bench-report.py (needs /usr/bin/python3)");
    assert!(
        out.status.success(),
        "bench-report.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&page).expect("the page")
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
    let text = write_page(&dir, &reports);
    // Medians: directord 1.2 s, BIRD 2.2 s; the ratio is ours / theirs.
    assert!(
        text.contains("| 1.20 s | BIRD as director | 2.20 s | **0.55×** |"),
        "{text}"
    );
    assert!(text.contains("| 1.20 s (1.00 s–5.00 s, n=3) |"), "{text}");
    assert!(text.contains("crash of a director"), "{text}");
    // Records without a lab are directord's; the reference's share gives the ratio.
    assert!(
        text.contains("| connections surviving the crash of a director (SIGKILL, its host drops every packet), directord, nftables DR, OSPF ECMP (host) | 100.0 % | keepalived + LVS with lvs_sync_daemon | 50.0 % | **2.00×** | higher is better |"),
        "{text}"
    );
    assert!(text.contains("| reset 12 |"), "{text}");
    assert!(
        text.contains("Not measured in this run: machine, maglev"),
        "steps without records are listed: {text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reload_bfd_and_nft_records_get_their_sections_and_ratios() {
    let dir = scratch("bench-report-reload");
    let reports = dir.join("records");
    std::fs::create_dir_all(&reports).expect("records dir");
    for (step, text) in reload_and_bfd_records() {
        std::fs::write(reports.join(format!("{step}.jsonl")), text).expect("write records");
    }
    let text = write_page(&dir, &reports);
    for row in [
        // BFD: directord 0.4 s against BIRD's 0.5 s, same router, both with BFD.
        "| crash failover (kill -9 → route dropped) with BFD, router Bird | 0.40 s | BIRD as director | 0.50 s | **0.80×** |",
        "| nftables programming over netlink, empty → 100 × 10 | 20.0 ms | `nft -f` of a hand-written ruleset | 80.0 ms | **0.25×** |",
        "| reload changing one weight of 1,000 services (IPVS VM): SIGHUP → in the kernel | 1.00 s | keepalived | 4.00 s | **0.25×** |",
        "| reload changing one weight of 1,000 services (IPVS VM): peak RSS during the reload | 30.0 MiB | keepalived | 20.0 MiB | **1.50×** |",
        "| directord, nftables (host), 1,000 services | 0.25 s | 12.0 MiB |",
        "| RSS after 100 reloads of 10,000 × 10 | 303.0 MiB | after the first reload | 300.0 MiB | **1.01×** |",
    ] {
        assert!(text.contains(row), "missing {row:?} in:\n{text}");
    }
    // Only the steps given are measured; the others are listed, not guessed.
    assert!(
        text.contains("Not measured in this run: machine, maglev, config, reconcile-ipvs, vrrp"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_step_cut_short_leaves_its_section_out_and_says_so() {
    let dir = scratch("bench-report-short");
    let reports = dir.join("records");
    std::fs::create_dir_all(&reports).expect("records dir");
    // ospf_many without its `vips` label: what a run killed half-way could leave.
    let broken = report::record_line(
        "ospf_many",
        &[("director", "directord")],
        "all_routes",
        "s",
        &[6.0],
    );
    let mut steps = reload_and_bfd_records();
    steps.push(("ospf-many", jsonl(&[broken])));
    for (step, text) in steps {
        std::fs::write(reports.join(format!("{step}.jsonl")), text).expect("write records");
    }
    let text = write_page(&dir, &reports);
    assert!(
        text.contains("Left out because their records are incomplete: ospf_many"),
        "{text}"
    );
    assert!(!text.contains("VIPs: time to all routes"), "{text}");
    assert!(
        text.contains("## Crash failover with and without BFD"),
        "{text}"
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
    for step in [
        "ospf",
        "vrrp",
        "survival",
        "reconcile-ipvs",
        "ipvs-compare",
        "reload",
        "reload-rss",
        "bfd",
        "survival-lvs",
        "report",
    ] {
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
