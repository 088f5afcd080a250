//! Machine-readable figures for `scripts/bench`: when `DIRECTOR_BENCH_JSON=1`, a bench also
//! prints every figure it measured as one `bench-json {...}` line on stdout, beside its
//! human-readable table. `scripts/bench` keeps those lines (target/bench-report/*.jsonl) and
//! writes docs/benchmarks.md from them.
//!
//! Stdout rather than a file because some figures are measured inside the IPVS VM, whose
//! file writes are thrown away but whose stdout comes back. A record carries every raw
//! sample (`values`), not a summary, so the report can take medians and ratios itself.
#![allow(dead_code)] // each bench uses the part it needs

use serde_json::{json, Map, Value};

/// The prefix of every record line.
pub const PREFIX: &str = "bench-json ";

/// Whether records are wanted (`DIRECTOR_BENCH_JSON=1`).
pub fn enabled() -> bool {
    std::env::var("DIRECTOR_BENCH_JSON").is_ok_and(|v| v == "1")
}

fn case(labels: &[(&str, &str)]) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), Value::String((*v).to_string())))
            .collect::<Map<_, _>>(),
    )
}

/// The record line of `metric` (one value per run) for the case `labels`. Non-finite
/// values are left out.
pub fn record_line(
    bench: &str,
    labels: &[(&str, &str)],
    metric: &str,
    unit: &str,
    values: &[f64],
) -> String {
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let record = json!({
        "bench": bench,
        "case": case(labels),
        "metric": metric,
        "unit": unit,
        "values": values,
    });
    format!("{PREFIX}{record}")
}

/// [`record_line`], or `None` when records are not wanted.
pub fn figure_line(
    bench: &str,
    labels: &[(&str, &str)],
    metric: &str,
    unit: &str,
    values: &[f64],
) -> Option<String> {
    enabled().then(|| record_line(bench, labels, metric, unit, values))
}

/// Prints the record of `metric` (see [`figure_line`]).
pub fn figure(bench: &str, labels: &[(&str, &str)], metric: &str, unit: &str, values: &[f64]) {
    if let Some(line) = figure_line(bench, labels, metric, unit, values) {
        println!("{line}");
    }
}

/// Prints a time series (`points` as (seconds, value)) for a plot.
pub fn series(bench: &str, labels: &[(&str, &str)], name: &str, points: &[(f64, f64)]) {
    if !enabled() {
        return;
    }
    let points: Vec<[f64; 2]> = points.iter().map(|&(t, v)| [t, v]).collect();
    let record = json!({
        "bench": bench,
        "case": case(labels),
        "series": name,
        "points": points,
    });
    println!("{PREFIX}{record}");
}
