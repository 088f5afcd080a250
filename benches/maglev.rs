//! Maglev table figures: build time for M = 65537 and 10/100/1000 backends, and the share
//! of slots that move when one of 10 / one of 100 backends leaves (ideal: 1/N), with the
//! "collateral" share (slots that did not belong to the leaving backend but moved anyway).
//!
//! Then, with the automatic table size (`maglev::table_size_for`), the share of flows that
//! change real server when one real server is added: within a size step only the
//! newcomer's share moves; crossing a step changes M and almost every flow moves.
//!
//! `cargo bench --bench maglev` (a plain program that prints a table; no criterion).

use std::hint::black_box;
use std::time::{Duration, Instant};

use director::dataplane::maglev::{table_size_for, Backend, Table, DEFAULT_TABLE_SIZE};
use director::dataplane::nftables::render::source_slot;

#[path = "report/mod.rs"]
mod report;

fn backends(n: usize) -> Vec<Backend> {
    (0..n)
        .map(|i| Backend {
            name: format!("10.{}.{}.{}:80", i / 65_536, (i / 256) % 256, i % 256),
            weight: 1,
        })
        .collect()
}

fn build(b: &[Backend], size: u32) -> Table {
    match Table::build(b, size) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("maglev: {e}");
            std::process::exit(1);
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    println!("Maglev table build, M = {DEFAULT_TABLE_SIZE} (median of runs)");
    println!(
        "{:>9} {:>6} {:>12} {:>12}",
        "backends", "runs", "median", "min"
    );
    for n in [10usize, 100, 1000] {
        let b = backends(n);
        let runs = 21;
        let times: Vec<Duration> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                black_box(build(black_box(&b), DEFAULT_TABLE_SIZE));
                t.elapsed()
            })
            .collect();
        let min = times.iter().min().copied().unwrap_or_default();
        let secs: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
        report::figure(
            "maglev",
            &[("backends", &n.to_string())],
            "build",
            "s",
            &secs,
        );
        println!("{n:>9} {runs:>6} {:>12.3?} {min:>12.3?}", median(times));
    }
    println!();
    println!("Slots moved when one backend leaves, M = {DEFAULT_TABLE_SIZE} (mean over every choice of leaver)");
    println!(
        "{:>9} {:>10} {:>10} {:>12} {:>14}",
        "backends", "ideal 1/N", "moved", "|moved-1/N|", "collateral"
    );
    for n in [10usize, 100] {
        let all = backends(n);
        let before = build(&all, DEFAULT_TABLE_SIZE);
        let (mut moved_sum, mut coll_sum) = (0.0f64, 0.0f64);
        for leaver in 0..n {
            let mut fewer = all.clone();
            fewer.remove(leaver);
            let after = build(&fewer, DEFAULT_TABLE_SIZE);
            let (mut moved, mut collateral) = (0usize, 0usize);
            for (b, a) in before.slots().iter().zip(after.slots()) {
                let b = b.map(|k| &all[k as usize].name);
                let a = a.map(|k| &fewer[k as usize].name);
                if a != b {
                    moved += 1;
                    if b != Some(&all[leaver].name) {
                        collateral += 1;
                    }
                }
            }
            moved_sum += moved as f64 / before.len() as f64;
            coll_sum += collateral as f64 / before.len() as f64;
        }
        let moved = moved_sum / n as f64;
        let coll = coll_sum / n as f64;
        let ideal = 1.0 / n as f64;
        let labels = [("backends", n.to_string())];
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        report::figure("maglev", &labels, "moved", "share", &[moved]);
        report::figure("maglev", &labels, "ideal", "share", &[ideal]);
        report::figure("maglev", &labels, "collateral", "share", &[coll]);
        println!(
            "{n:>9} {:>9.3}% {:>9.3}% {:>10.3} pp {:>13.3}%",
            ideal * 100.0,
            moved * 100.0,
            (moved - ideal).abs() * 100.0,
            coll * 100.0
        );
    }
    println!();
    added_flows();
}

/// Share of 65,536 client addresses whose real server changes when the service goes from
/// N to N+1 real servers, each table at its automatic size.
fn added_flows() {
    println!("Flows moved when a real server is added, automatic M (65,536 client addresses)");
    println!(
        "{:>9} {:>8} {:>8} {:>10} {:>10}",
        "N -> N+1", "M", "M'", "ideal", "moved"
    );
    let clients: Vec<std::net::IpAddr> = (0..65_536u32)
        .map(|i| std::net::IpAddr::from([10, 99, (i >> 8) as u8, i as u8]))
        .collect();
    for n in [3usize, 4, 10, 11, 12, 16, 24, 100] {
        let (before, after) = (backends(n), backends(n + 1));
        let (m, m2) = (table_size_for(n), table_size_for(n + 1));
        let (t, t2) = (build(&before, m), build(&after, m2));
        let server = |t: &Table, b: &[Backend], m: u32, c: &std::net::IpAddr| {
            t.slots()[source_slot(c, m) as usize].map(|k| b[k as usize].name.clone())
        };
        let moved = clients
            .iter()
            .filter(|c| server(&t, &before, m, c) != server(&t2, &after, m2, c))
            .count();
        println!(
            "{:>9} {m:>8} {m2:>8} {:>9.2}% {:>9.2}%",
            format!("{n} -> {}", n + 1),
            100.0 / (n + 1) as f64,
            moved as f64 * 100.0 / clients.len() as f64
        );
    }
}
