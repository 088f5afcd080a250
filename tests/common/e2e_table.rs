//! The scenario table of issue 14 on the end-to-end lab (`e2e.rs`), for either dataplane:
//! `tests/e2e_scenarios.rs` runs it on nftables on the host, `tests/e2e_ipvs.rs` on IPVS in
//! the IPVS VM. The rows, in order, on one lab of three directors:
//!
//! - (a) `directorctl drain --all` on the director carrying the most streams, then
//!   `undrain --all`: no stream breaks, no probe fails;
//! - (b) kill -9 of the director carrying the most streams (BFD takes its nexthop away),
//!   then its restart: no stream breaks;
//! - (c) a real server added to the service (every director reloaded);
//! - (c′) IPVS only: kill -9 of the director carrying the most streams that (c) left on a
//!   server the table no longer names, then its restart;
//! - (d) a reload that adds another service, then one that adds a third and removes the
//!   second: no stream breaks, the routes of the other VIPs follow;
//! - (e) the real server carrying the most streams dies: its streams break.
//!
//! The dataplanes differ where state matters, and each row asserts its dataplane's truth:
//!
//! - nftables DR is stateless (a netdev ingress hook): in (c) the streams whose source slot
//!   the Maglev table hands to the new server break, predicted from the userspace table;
//!   every stream then runs where the table says; in (e) a stream whose slot Maglev moves
//!   with the dead server may break too (collateral, predicted).
//! - IPVS keeps a connection entry per flow on the director that carried it: in (c) no
//!   stream breaks, each stays on its server although a fresh connection from its source now
//!   lands on the new server; in (c′) a stream that the crash moves to a director without
//!   an entry for it is scheduled afresh (`sloppy_tcp` accepts the mid-flow ACK, `mh` picks
//!   the server the table names now), so it breaks if the table moved its source, and one
//!   that finds an entry there (left by (a) or (b)) survives; the prediction comes from
//!   `ipvsadm -Lnc` on every director before the kill and the router's route after it. In
//!   (e) exactly the dead server's streams break: the others keep their entries.
//!
//! Each row checks that all three directors end with identical tables and the route has
//! exactly the announcing directors. The table is printed at the end; figures are printed
//! with `MEASURE:`, never asserted.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::e2e::{
    directorctl, predicted_servers, probe_sources, real_name, real_of_addr, stream_sources, E2eLab,
    LabDataplane, LoadStatus, Services, CONVERGE, HOLD, OTHER_VIPS, VERDICT, VIP,
};
use super::ospf::RouterKind;
use super::wait::{wait_stable, wait_until};

/// One nftables lab at a time: two labs side by side (six directord rewriting 65,537-slot
/// maps, two routers, two load generators) starved a 2-core machine long enough for BFD to
/// expire every session at once. The IPVS labs (kernel `mh`, no userspace tables, slower
/// BFD) run side by side in the VM: most of a table's time is waiting for protocol timers.
static ONE_NFT_LAB_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How much load a table holds, sized for where its dataplane runs.
struct Load {
    /// Streams held through every scenario.
    streams: usize,
    /// A line every `tick` on each stream.
    tick: Duration,
    /// Lines every stream must verify after an event before the row counts as survived.
    progress: u64,
}

impl Load {
    fn of(dataplane: LabDataplane) -> Load {
        match dataplane {
            LabDataplane::Nftables => Load {
                streams: 24,
                tick: Duration::from_millis(200),
                progress: 5,
            },
            // The VM is slower than the host (QEMU's TCG several times; User-Mode Linux
            // runs both labs on one CPU and forks slowly): half the streams at 2.5 times
            // the interval keep the load generators on time.
            LabDataplane::Ipvs => Load {
                streams: 12,
                tick: Duration::from_millis(500),
                progress: 3,
            },
        }
    }
}

/// One row of the scenario table.
struct Row {
    scenario: &'static str,
    /// Streams carried by the director or real server the scenario acts on ((c′): the
    /// streams that changed director).
    affected: usize,
    broke_expected: usize,
    broke_unexplained: Vec<String>,
    failed_opens: usize,
}

fn print_table(label: &str, rows: &[Row]) {
    println!("{label}: | scenario | streams affected | broke (predicted) | broke (unexplained) | failed new connections |");
    for r in rows {
        println!(
            "{label}: | {} | {} | {} | {} | {} |",
            r.scenario,
            r.affected,
            r.broke_expected,
            r.broke_unexplained.len(),
            r.failed_opens
        );
    }
}

/// Director index → the streams (sources) the router sends through it now.
fn carriers(lab: &E2eLab, status: &LoadStatus) -> BTreeMap<usize, Vec<Ipv4Addr>> {
    let mut out: BTreeMap<usize, Vec<Ipv4Addr>> = BTreeMap::new();
    for s in status.streams.iter().filter(|s| s.open) {
        out.entry(carrier_index(lab, s.src, s.sport))
            .or_default()
            .push(s.src);
    }
    out
}

/// The director the router sends the stream `src:sport` through now.
fn carrier_index(lab: &E2eLab, src: Ipv4Addr, sport: u16) -> usize {
    let via = lab
        .carrier(src, sport)
        .unwrap_or_else(|e| panic!("{}: {e}", lab.label()));
    lab.directors
        .iter()
        .position(|d| d.addr == via)
        .unwrap_or_else(|| panic!("{}: stream {src} via unknown {via}", lab.label()))
}

/// The director carrying the most streams, and those streams.
fn busiest_director(lab: &mut E2eLab) -> (usize, Vec<Ipv4Addr>) {
    let status = lab.load().status().expect("status");
    carriers(lab, &status)
        .into_iter()
        .max_by_key(|(_, s)| s.len())
        .expect("some director carries streams")
}

/// Where new connections from `sources` go now: nftables, the userspace Maglev table of the
/// configured and serving real servers (a prediction); IPVS, the kernel's `mh` answer to a
/// fresh connection from each source (the kernel's table has no lookup interface).
fn scheduled_servers(lab: &mut E2eLab, sources: &[Ipv4Addr]) -> BTreeMap<Ipv4Addr, String> {
    match lab.dataplane {
        LabDataplane::Nftables => {
            predicted_servers(&lab.services.reals, &lab.healthy_reals(), sources)
                .into_iter()
                .map(|(src, server)| (src, server.unwrap_or_else(|| "none".into())))
                .collect()
        }
        LabDataplane::Ipvs => {
            let label = lab.label();
            lab.load()
                .fresh(sources)
                .unwrap_or_else(|e| panic!("{label}: {e}"))
        }
    }
}

/// Waits until every stream of `want` is open on the real server `want` names for it.
fn wait_on_servers(lab: &mut E2eLab, want: &BTreeMap<Ipv4Addr, String>, what: &str) -> LoadStatus {
    let label = lab.label();
    let deadline = Instant::now() + VERDICT;
    loop {
        let status = lab.load().status().expect("status");
        let wrong: Vec<String> = want
            .iter()
            .filter_map(|(src, want)| match status.stream(*src) {
                Some(s) if s.open && s.server == *want => None,
                Some(s) => Some(format!(
                    "{src} on {} (open {}), want {want}",
                    s.server, s.open
                )),
                None => Some(format!("{src} never opened")),
            })
            .collect();
        if wrong.is_empty() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{label}: {what}: streams not on their servers: {wrong:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Splits the breaks since `mark` into expected (source in `explained`) and unexplained.
fn classify(
    lab: &E2eLab,
    mark: usize,
    explained: &BTreeSet<Ipv4Addr>,
) -> (BTreeSet<Ipv4Addr>, Vec<String>) {
    let mut broke = BTreeSet::new();
    let mut unexplained = Vec::new();
    let load = lab.load.as_ref().expect("load generator");
    for b in load.breaks_since(mark) {
        if explained.contains(&b.src) {
            broke.insert(b.src);
        } else {
            unexplained.push(format!(
                "{} on {} after {} lines: {}",
                b.src, b.server, b.seq, b.reason
            ));
        }
    }
    (broke, unexplained)
}

/// A row in which nothing may break, from its start (`mark`, `t0`) until the lab settled.
struct Step {
    name: &'static str,
    scenario: &'static str,
    /// What the streams must make progress after, for messages.
    after: &'static str,
    affected: usize,
    mark: usize,
    t0: Instant,
}

/// The end of `step`: every stream makes progress again, and its row records the breaks
/// and failed new connections since it started; any failed new connection fails the test.
fn nothing_may_break(lab: &mut E2eLab, sources: &[Ipv4Addr], load: &Load, step: Step) -> Row {
    let label = lab.label();
    let name = step.name;
    let now = lab.load().status().expect("status");
    lab.load()
        .wait_progress(sources, &now, load.progress, VERDICT)
        .unwrap_or_else(|e| panic!("{label}: {name} after {}: {e}", step.after));
    let (_, unexplained) = classify(lab, step.mark, &BTreeSet::new());
    let failed = lab.load().failed_opens_since(step.mark);
    println!("{label}: {name} took {:?}", step.t0.elapsed());
    assert!(
        failed.is_empty(),
        "{label}: {name} new connections failed: {failed:?}"
    );
    Row {
        scenario: step.scenario,
        affected: step.affected,
        broke_expected: 0,
        broke_unexplained: unexplained,
        failed_opens: failed.len(),
    }
}

/// Runs the whole table on a fresh lab with `router_kind` as the router.
pub fn scenario_table(router_kind: RouterKind, dataplane: LabDataplane) {
    // A failed table poisons the lock; the other router's table still runs.
    let _one_lab = (dataplane == LabDataplane::Nftables).then(|| {
        ONE_NFT_LAB_AT_A_TIME
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    });
    let t_start = Instant::now();
    let load = Load::of(dataplane);
    let sources = stream_sources(load.streams);
    let mut lab = E2eLab::with_dataplane(
        "e2e",
        router_kind,
        3,
        Services {
            reals: vec![0, 1, 2],
            other_vips: vec![],
        },
        dataplane,
    );
    let label = lab.label();
    let all = [0, 1, 2];
    let settled = lab.wait_settled(&all, "baseline: three directors Full, VIP via all three");
    println!(
        "MEASURE: {label}: lab built and settled in {:?} (settling {settled:?})",
        t_start.elapsed()
    );
    lab.start_load(&sources, load.tick);
    let empty = LoadStatus {
        streams: vec![],
        probes_ok: 0,
        probes_failed: 0,
    };
    lab.load()
        .wait_progress(&sources, &empty, load.progress, VERDICT)
        .expect("every stream open and verified");
    let scheduled = scheduled_servers(&mut lab, &sources);
    let before = wait_on_servers(&mut lab, &scheduled, "baseline");
    // The route has three nexthops (checked by wait_settled); the streams, with random
    // source ports, land on at least two of them (all on one: p = 3·3⁻ⁿ for n streams).
    let spread = carriers(&lab, &before);
    println!("{label}: streams per director: {spread:?}");
    assert!(
        spread.len() >= 2,
        "{label}: ECMP spreads the streams over the directors: {spread:?}"
    );
    let mut rows = Vec::new();

    // ===== (a) graceful drain of the director carrying the most streams =====
    let (target, carried) = busiest_director(&mut lab);
    let others: Vec<usize> = all.iter().copied().filter(|n| *n != target).collect();
    let mark = lab.load().mark();
    let before = lab.load().status().expect("status");
    let t0 = Instant::now();
    directorctl(&lab.directors[target].socket, &["drain", "--all"]).expect("drain --all");
    let gone = wait_stable(CONVERGE, HOLD, || lab.route_is(VIP, &lab.addrs(&others)))
        .unwrap_or_else(|e| panic!("{label}: (a) route without the drained director: {e}"));
    println!(
        "MEASURE: {label}: (a) drain --all -> nexthop gone after {:?}",
        gone.after
    );
    lab.load()
        .wait_progress(&sources, &before, load.progress, VERDICT)
        .unwrap_or_else(|e| panic!("{label}: (a) after drain: {e}"));
    let now = lab.load().status().expect("status");
    assert!(
        !carriers(&lab, &now).contains_key(&target),
        "{label}: (a) no stream through the drained director any more"
    );
    directorctl(&lab.directors[target].socket, &["undrain", "--all"]).expect("undrain --all");
    lab.wait_settled(&all, "(a) undrained: VIP via all three again");
    rows.push(nothing_may_break(
        &mut lab,
        &sources,
        &load,
        Step {
            name: "(a)",
            scenario: "(a) drain --all, undrain",
            after: "undrain",
            affected: carried.len(),
            mark,
            t0,
        },
    ));

    // ===== (b) crash (kill -9) of the director carrying the most streams, BFD on =====
    let (target, carried) = busiest_director(&mut lab);
    let mark = lab.load().mark();
    let t0 = Instant::now();
    let failed_opens = crash_and_restart(&mut lab, target, &sources, &load, "(b)");
    let (_, unexplained) = classify(&lab, mark, &BTreeSet::new());
    println!("{label}: (b) took {:?}", t0.elapsed());
    rows.push(Row {
        scenario: "(b) kill -9 director, restart",
        affected: carried.len(),
        broke_expected: 0,
        broke_unexplained: unexplained,
        failed_opens,
    });

    // ===== (c) a real server added to the service =====
    match dataplane {
        LabDataplane::Nftables => rows.push(add_server_stateless(&mut lab, &sources)),
        LabDataplane::Ipvs => {
            let (row, moved) = add_server_with_conn_entries(&mut lab, &sources, &load);
            rows.push(row);
            rows.push(crash_after_add(&mut lab, &sources, &load, &moved));
        }
    }

    // ===== (d) reloads that add and remove other services =====
    let mark = lab.load().mark();
    let t0 = Instant::now();
    let [vip_b, vip_c] = OTHER_VIPS;
    lab.write_configs(Services {
        reals: vec![0, 1, 2, 3],
        other_vips: vec![vip_b],
    });
    lab.reload_all();
    let addrs = lab.addrs(&all);
    wait_stable(CONVERGE, HOLD, || lab.route_is(vip_b, &addrs))
        .unwrap_or_else(|e| panic!("{label}: (d) the added {vip_b} via all three: {e}"));
    lab.write_configs(Services {
        reals: vec![0, 1, 2, 3],
        other_vips: vec![vip_c],
    });
    lab.reload_all();
    wait_stable(CONVERGE, HOLD, || {
        lab.route_is(vip_c, &addrs)?;
        lab.route_is(vip_b, &[])
    })
    .unwrap_or_else(|e| panic!("{label}: (d) {vip_c} added and {vip_b} removed: {e}"));
    lab.wait_settled(&all, "(d) after the reloads");
    rows.push(nothing_may_break(
        &mut lab,
        &sources,
        &load,
        Step {
            name: "(d)",
            scenario: "(d) reloads adding/removing other services",
            after: "the reloads",
            affected: load.streams,
            mark,
            t0,
        },
    ));

    // ===== (e) the real server carrying the most streams dies =====
    rows.push(server_dies(&mut lab, &sources));

    print_table(label, &rows);
    let garbage = lab.load().garbage();
    assert!(
        garbage.is_empty(),
        "{label}: the load generator failed: {garbage:?}"
    );
    let unexplained: Vec<(&str, &String)> = rows
        .iter()
        .flat_map(|r| r.broke_unexplained.iter().map(move |u| (r.scenario, u)))
        .collect();
    assert!(
        unexplained.is_empty(),
        "{label}: streams broke that no dead component explains: {unexplained:?}\n{}",
        lab.status_dump()
    );
    println!(
        "MEASURE: {label}: scenario table in {:?}",
        t_start.elapsed()
    );
}

/// kill -9 of director `target`, until the router has dropped it and every stream moved
/// on; then its restart, until the lab is settled and every stream moves again. A SYN
/// sent through the dead director before BFD dropped it is lost and connect() retransmits
/// it, so a new connection may fail only until shortly after the route dropped the dead
/// director; a later failure fails the row. Returns the new connections that failed.
fn crash_and_restart(
    lab: &mut E2eLab,
    target: usize,
    sources: &[Ipv4Addr],
    load: &Load,
    row: &str,
) -> usize {
    let label = lab.label();
    let all: Vec<usize> = (0..lab.directors.len()).collect();
    let others: Vec<usize> = all.iter().copied().filter(|n| *n != target).collect();
    let mark = lab.load().mark();
    let before = lab.load().status().expect("status");
    let (bfd_interval, bfd_multiplier) = lab.dataplane.bfd_timers();
    lab.directors[target].daemon.kill();
    let gone = wait_until(Duration::from_secs(15), Duration::from_millis(10), || {
        lab.route_is(VIP, &lab.addrs(&others))
    })
    .unwrap_or_else(|e| panic!("{label}: {row} router dropped the killed director: {e}"));
    let crash_window_end = Instant::now();
    println!(
        "MEASURE: {label}: {row} kill -9 -> nexthop gone after {:?} (BFD {bfd_interval} ms x {bfd_multiplier} from the director)",
        gone.after
    );
    lab.load()
        .wait_progress(sources, &before, load.progress, VERDICT)
        .unwrap_or_else(|e| panic!("{label}: {row} after kill -9: {e}"));
    lab.directors[target].daemon.restart();
    lab.wait_settled(&all, &format!("{row} restarted: VIP via all three again"));
    let now = lab.load().status().expect("status");
    lab.load()
        .wait_progress(sources, &now, load.progress, VERDICT)
        .unwrap_or_else(|e| panic!("{label}: {row} after restart: {e}"));
    let failed = lab.load().failed_opens_since(mark);
    let late: Vec<_> = failed
        .iter()
        .filter(|f| f.at > crash_window_end + Duration::from_secs(4))
        .collect();
    assert!(
        late.is_empty(),
        "{label}: {row} new connections failed after the route had dropped the dead director: {late:?}"
    );
    failed.len()
}

/// (c) on nftables: only streams whose source slot the Maglev table hands to the new
/// server break — DR through a netdev ingress hook is stateless, so such a stream's next
/// packet reaches a server that never saw it (docs/dataplane.md, "Draining") — and every
/// stream then runs on the server the table predicts.
fn add_server_stateless(lab: &mut E2eLab, sources: &[Ipv4Addr]) -> Row {
    let label = lab.label();
    let all = [0, 1, 2];
    let old = predicted_servers(&lab.services.reals, &lab.healthy_reals(), sources);
    let new = predicted_servers(&[0, 1, 2, 3], &[0, 1, 2, 3], sources);
    let moved: BTreeSet<Ipv4Addr> = sources
        .iter()
        .copied()
        .filter(|s| old[s] != new[s])
        .collect();
    assert!(
        moved.iter().all(|s| new[s].as_deref() == Some("b4")),
        "{label}: (c) Maglev moves only slots to the new server: {old:?} -> {new:?}"
    );
    let mark = lab.load().mark();
    let t0 = Instant::now();
    lab.write_configs(Services {
        reals: vec![0, 1, 2, 3],
        other_vips: vec![],
    });
    lab.reload_all();
    lab.wait_settled(&all, "(c) b4 added: up with weight 1 on every director");
    let scheduled = scheduled_servers(lab, sources);
    wait_on_servers(lab, &scheduled, "(c) b4 added");
    let (broke, unexplained) = classify(lab, mark, &moved);
    let failed = lab.load().failed_opens_since(mark);
    println!(
        "{label}: (c) took {:?}; {} of {} streams on slots that moved to b4",
        t0.elapsed(),
        moved.len(),
        sources.len()
    );
    assert_eq!(
        broke, moved,
        "{label}: (c) the streams whose slot moved to b4 are the ones that broke"
    );
    assert!(
        failed.is_empty(),
        "{label}: (c) new connections failed: {failed:?}"
    );
    Row {
        scenario: "(c) real server added (reload)",
        affected: moved.len(),
        broke_expected: broke.len(),
        broke_unexplained: unexplained,
        failed_opens: failed.len(),
    }
}

/// (c) on IPVS: the kernel `mh` table changes (a fresh connection from some stream sources
/// now lands on b4, and only on b4), but no stream breaks: each keeps its connection entry
/// on the director carrying it and stays on its server. Returns the row and the sources
/// the table moved to b4.
fn add_server_with_conn_entries(
    lab: &mut E2eLab,
    sources: &[Ipv4Addr],
    load: &Load,
) -> (Row, BTreeSet<Ipv4Addr>) {
    let label = lab.label();
    let all = [0, 1, 2];
    // The probe sources too: with 12 streams, no stream source moving to b4 is likely
    // enough (about 3 %) that the table's change is shown on more sources than streams.
    let census: Vec<Ipv4Addr> = sources.iter().copied().chain(probe_sources()).collect();
    let old = scheduled_servers(lab, &census);
    let mark = lab.load().mark();
    let before = lab.load().status().expect("status");
    let t0 = Instant::now();
    lab.write_configs(Services {
        reals: vec![0, 1, 2, 3],
        other_vips: vec![],
    });
    lab.reload_all();
    lab.wait_settled(&all, "(c) b4 added: up with weight 1 on every director");
    let new = scheduled_servers(lab, &census);
    let moved_census: BTreeSet<Ipv4Addr> = census
        .iter()
        .copied()
        .filter(|s| old[s] != new[s])
        .collect();
    assert!(
        moved_census.iter().all(|s| new[s] == "b4"),
        "{label}: (c) mh moves sources only to the new server: {old:?} -> {new:?}"
    );
    assert!(
        !moved_census.is_empty(),
        "{label}: (c) the new mh table sends none of {} sources to b4: {new:?}",
        census.len()
    );
    let moved: BTreeSet<Ipv4Addr> = moved_census
        .iter()
        .copied()
        .filter(|s| sources.contains(s))
        .collect();
    lab.load()
        .wait_progress(sources, &before, load.progress, VERDICT)
        .unwrap_or_else(|e| panic!("{label}: (c) after adding b4: {e}"));
    let now = lab.load().status().expect("status");
    let changed: Vec<String> = sources
        .iter()
        .filter_map(|src| {
            let (b, n) = (before.stream(*src)?, now.stream(*src)?);
            (b.sport != n.sport || b.server != n.server).then(|| {
                format!(
                    "{src}: {}:{} -> {}:{}",
                    b.server, b.sport, n.server, n.sport
                )
            })
        })
        .collect();
    assert!(
        changed.is_empty(),
        "{label}: (c) every stream keeps its connection and its server: {changed:?}"
    );
    let (_, unexplained) = classify(lab, mark, &BTreeSet::new());
    let failed = lab.load().failed_opens_since(mark);
    println!(
        "{label}: (c) took {:?}; {} of {} sources now scheduled to b4, {} of them stream sources, whose streams stayed: {moved:?}",
        t0.elapsed(),
        moved_census.len(),
        census.len(),
        moved.len()
    );
    assert!(
        failed.is_empty(),
        "{label}: (c) new connections failed: {failed:?}"
    );
    let row = Row {
        scenario: "(c) real server added (reload)",
        affected: moved.len(),
        broke_expected: 0,
        broke_unexplained: unexplained,
        failed_opens: failed.len(),
    };
    (row, moved)
}

/// (c′) on IPVS: kill -9 of a director carrying streams that (c) left off the table (source
/// `moved` to b4, stream still on its old server). Each of its streams moves to another
/// director, and so do some streams of the survivors: Linux ECMP is hash-threshold, so
/// taking one nexthop out shifts the boundaries between the others. When the director a
/// stream moves to holds a connection entry for it (left by an earlier move in (a) or (b):
/// the same remaining nexthops hash the stream the same way), the stream stays on its
/// server; otherwise `sloppy_tcp` schedules the mid-flow packet afresh through `mh`: a
/// stream whose source the table still sends to its server carries on, one whose source
/// it now sends to b4 reaches b4, which answers with a reset. Predicted from `ipvsadm -Lnc`
/// on every director before the kill and the route after it. When the director comes back,
/// every stream returns to the director it started on, which still holds its entry. The
/// director chosen carries the most off-table streams that no other director has an entry
/// for, then the most off-table streams.
fn crash_after_add(
    lab: &mut E2eLab,
    sources: &[Ipv4Addr],
    load: &Load,
    moved: &BTreeSet<Ipv4Addr>,
) -> Row {
    let label = lab.label();
    let status = lab.load().status().expect("status");
    let stale = |src: &Ipv4Addr| moved.contains(src);
    let entries: Vec<BTreeMap<(Ipv4Addr, u16), Ipv4Addr>> = (0..lab.directors.len())
        .map(|n| lab.conn_entries(n))
        .collect();
    let sport_of = |src: &Ipv4Addr| status.stream(*src).map_or(0, |s| s.sport);
    let unentered_elsewhere = |n: usize, src: &Ipv4Addr| {
        (0..entries.len())
            .filter(|m| *m != n)
            .all(|m| !entries[m].contains_key(&(*src, sport_of(src))))
    };
    let carrying = carriers(lab, &status);
    let carried_by: BTreeMap<Ipv4Addr, usize> = carrying
        .iter()
        .flat_map(|(n, srcs)| srcs.iter().map(move |src| (*src, *n)))
        .collect();
    let (target, carried) = carrying
        .into_iter()
        .max_by_key(|(n, s)| {
            let stale_streams = s.iter().filter(|src| stale(src));
            (
                stale_streams
                    .clone()
                    .filter(|src| unentered_elsewhere(*n, src))
                    .count(),
                stale_streams.count(),
            )
        })
        .expect("some director carries streams");
    let mark = lab.load().mark();
    let t0 = Instant::now();
    // The route is known only once the target is gone: kill, then read where each stream
    // went, before the restart brings them back.
    let others: Vec<usize> = (0..lab.directors.len()).filter(|n| *n != target).collect();
    lab.directors[target].daemon.kill();
    wait_until(Duration::from_secs(15), Duration::from_millis(10), || {
        lab.route_is(VIP, &lab.addrs(&others))
    })
    .unwrap_or_else(|e| panic!("{label}: (c') router dropped the killed director: {e}"));
    let crash_window_end = Instant::now();
    let mut moved_streams = 0;
    let mut kept_by_entry = BTreeSet::new();
    let mut predicted = BTreeSet::new();
    for s in status.streams.iter().filter(|s| s.open) {
        let from = carried_by[&s.src];
        let to = carrier_index(lab, s.src, s.sport);
        if to == from {
            continue;
        }
        moved_streams += 1;
        match entries[to].get(&(s.src, s.sport)) {
            Some(entry_server) => {
                assert_eq!(
                    real_of_addr(*entry_server).as_deref(),
                    Some(s.server.as_str()),
                    "{label}: (c') {}'s entry for {}:{} names another server",
                    lab.directors[to].name,
                    s.src,
                    s.sport
                );
                kept_by_entry.insert(s.src);
            }
            None if stale(&s.src) => {
                predicted.insert(s.src);
            }
            None => {}
        }
    }
    println!(
        "{label}: (c') killed {} carrying {} streams, {} of them off the table; {moved_streams} streams changed director, {} kept by an entry there, predicted to break: {predicted:?}",
        lab.directors[target].name,
        carried.len(),
        carried.iter().filter(|s| stale(s)).count(),
        kept_by_entry.len()
    );
    // Every stream runs again: the predicted ones reopened (on b4), the others moved on.
    let before = lab.load().status().expect("status");
    let want: BTreeMap<Ipv4Addr, String> = sources
        .iter()
        .filter_map(|src| {
            let server = if predicted.contains(src) {
                "b4".to_string()
            } else {
                before.stream(*src)?.server.clone()
            };
            Some((*src, server))
        })
        .collect();
    wait_until(VERDICT, Duration::from_millis(200), || {
        let (broke, _) = classify(lab, mark, &predicted);
        (broke == predicted)
            .then_some(())
            .ok_or_else(|| format!("broke so far: {broke:?}, predicted: {predicted:?}"))
    })
    .unwrap_or_else(|e| panic!("{label}: (c') the predicted streams did not break: {e}"));
    wait_on_servers(lab, &want, "(c') after kill -9");
    lab.load()
        .wait_progress(sources, &before, load.progress, VERDICT)
        .unwrap_or_else(|e| panic!("{label}: (c') after kill -9: {e}"));
    lab.directors[target].daemon.restart();
    lab.wait_settled(&[0, 1, 2], "(c') restarted: VIP via all three again");
    let now = lab.load().status().expect("status");
    lab.load()
        .wait_progress(sources, &now, load.progress, VERDICT)
        .unwrap_or_else(|e| panic!("{label}: (c') after restart: {e}"));
    let (broke, unexplained) = classify(lab, mark, &predicted);
    let failed = lab.load().failed_opens_since(mark);
    let late: Vec<_> = failed
        .iter()
        .filter(|f| f.at > crash_window_end + Duration::from_secs(4))
        .collect();
    println!("{label}: (c') took {:?}", t0.elapsed());
    assert_eq!(
        broke, predicted,
        "{label}: (c') the streams moved to a director without their entry, whose source mh now sends to b4, are the ones that broke"
    );
    assert!(
        late.is_empty(),
        "{label}: (c') new connections failed after the route had dropped the dead director: {late:?}"
    );
    Row {
        scenario: "(c') kill -9 director after (c), restart",
        affected: moved_streams,
        broke_expected: broke.len(),
        broke_unexplained: unexplained,
        failed_opens: failed.len(),
    }
}

/// (e) the real server carrying the most streams dies (its service stops; the host answers
/// with resets). Its streams break, reopen and land where the tables without it schedule
/// them. On nftables a stream whose slot Maglev moves with the dead server may break too
/// (predicted collateral); on IPVS no other stream breaks or moves, since each keeps its
/// connection entry.
fn server_dies(lab: &mut E2eLab, sources: &[Ipv4Addr]) -> Row {
    let label = lab.label();
    let all = [0, 1, 2];
    let status = lab.load().status().expect("status");
    let mut per_server: BTreeMap<String, Vec<Ipv4Addr>> = BTreeMap::new();
    for s in status.streams.iter().filter(|s| s.open) {
        per_server.entry(s.server.clone()).or_default().push(s.src);
    }
    let (victim_name, on_victim) = per_server
        .into_iter()
        .max_by_key(|(_, s)| s.len())
        .expect("streams on some server");
    let victim = (0..4)
        .find(|i| real_name(*i) == victim_name)
        .unwrap_or_else(|| panic!("unknown server {victim_name}"));
    let collateral: BTreeSet<Ipv4Addr> = match lab.dataplane {
        LabDataplane::Nftables => {
            let old = predicted_servers(&lab.services.reals, &lab.healthy_reals(), sources);
            let survivors: Vec<usize> = lab
                .healthy_reals()
                .into_iter()
                .filter(|i| *i != victim)
                .collect();
            let new = predicted_servers(&lab.services.reals, &survivors, sources);
            sources
                .iter()
                .copied()
                .filter(|s| old[s] != new[s] && old[s].as_deref() != Some(victim_name.as_str()))
                .collect()
        }
        LabDataplane::Ipvs => BTreeSet::new(),
    };
    let mut explained: BTreeSet<Ipv4Addr> = on_victim.iter().copied().collect();
    explained.extend(&collateral);
    let mark = lab.load().mark();
    let t0 = Instant::now();
    lab.stop_server(victim);
    lab.wait_settled(&all, "(e) dead server at weight 0 on every director");
    let window_end = Instant::now();
    let scheduled = scheduled_servers(lab, sources);
    let want: BTreeMap<Ipv4Addr, String> = match lab.dataplane {
        LabDataplane::Nftables => scheduled,
        // The streams that did not break stay where they were, whatever the table says.
        LabDataplane::Ipvs => sources
            .iter()
            .filter_map(|src| {
                let server = if explained.contains(src) {
                    scheduled.get(src)?.clone()
                } else {
                    status.stream(*src)?.server.clone()
                };
                Some((*src, server))
            })
            .collect(),
    };
    wait_on_servers(lab, &want, "(e) after the server died");
    let (broke, unexplained) = classify(lab, mark, &explained);
    let failed = lab.load().failed_opens_since(mark);
    let late: Vec<_> = failed.iter().filter(|f| f.at > window_end).collect();
    println!(
        "{label}: (e) took {:?}; {} streams on {victim_name}, {} moved with it (Maglev collateral)",
        t0.elapsed(),
        on_victim.len(),
        collateral.len()
    );
    let on_victim: BTreeSet<Ipv4Addr> = on_victim.into_iter().collect();
    assert!(
        on_victim.is_subset(&broke),
        "{label}: (e) every stream on the dead {victim_name} broke: {on_victim:?} vs {broke:?}"
    );
    assert!(
        late.is_empty(),
        "{label}: (e) new connections failed after the tables had dropped {victim_name}: {late:?}"
    );
    Row {
        scenario: "(e) real server dies",
        affected: on_victim.len(),
        broke_expected: broke.len(),
        broke_unexplained: unexplained,
        failed_opens: failed.len(),
    }
}
