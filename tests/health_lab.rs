//! Health checks drive tables and routes, end to end: a BIRD router, two `directord`s
//! (OSPF hello 1 / dead 4, nftables dataplane, DR), three real servers with a stoppable TCP
//! service and a client behind the router (topology in `tests/common/health_lab.rs`).
//!
//! One lab, one test, in order (OSPF convergence dominates, so the scenarios share it):
//! 1. baseline: both directors Full, the VIP via both (stable), every real server up with
//!    weight 1 on both directors;
//! 2. one service stops: weight 0 on both directors, identical nftables tables, and only
//!    that server's clients move (observed: each server answers with its own name);
//!    `MEASURE:` how long the two directors disagreed about it, down and back up;
//!    2b. only d1's checks to that server fail (refused on the server): the directors
//!    disagree for as long as that lasts, and still only that server's clients can land
//!    on a different server depending on which director ECMP picks;
//! 3. every service stops: both directors withdraw the VIP and the route goes (stable);
//! 4. services back: the route returns via both directors, servers up;
//! 5. a reload of a broken file (SIGHUP on d1, `directorctl reload` on d2) changes nothing
//!    and counts as failed;
//! 6. a reload that adds a virtual server keeps an established connection working;
//! 7. d1, killed and restarted while a real server silently drops its checks (the first
//!    check of it takes connect_timeout 20 s), does not announce the VIPs before its first
//!    verdicts: r1 never has a route via d1 before d1 counts that server down, though the
//!    adjacency is Full and `status` says `awaiting_first_checks`; afterwards the route is
//!    via both and the tables are identical. `MEASURE:` restart → first verdicts → route.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::health_lab::{
    ctl, expected_reals, lab_can_run, nft_packets, nft_tables, predicted_flows, real_addr,
    real_key, real_name, reals, reload_counters, vip_state, HealthLab, PORT, VIP, VIP2,
};
use common::ospf::host;
use common::peers::route_nexthops;
use common::process::Signal;
use common::wait::{hold_for, wait_stable, wait_until};

/// Bound for OSPF convergence and route changes at the router.
const CONVERGE: Duration = Duration::from_secs(60);
/// Bound for health verdicts (delay_loop 1, connect_timeout 1, retry 0) to reach both tables.
const VERDICT: Duration = Duration::from_secs(20);
/// How long a route state must hold to count as stable (lab README: routes flap).
const HOLD: Duration = Duration::from_secs(3);
/// How long table states must hold.
const HOLD_TABLES: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(100);

#[test]
fn health_checks_drive_tables_and_routes() {
    if !lab_can_run(module_path!(), &["bird", "birdc", "nft", "python3", "ip"]) {
        return;
    }
    let t0 = Instant::now();
    let mut lab = HealthLab::new();
    let both = lab.director_addrs();
    let all_up = expected_reals(&[0, 1, 2]);

    // ===== 1. baseline =====
    let up = wait_stable(CONVERGE, HOLD, || {
        lab.assert_alive();
        lab.both_full()?;
        lab.route_is(VIP, &both)?;
        lab.reals_are(VIP, &all_up)?;
        lab.vip_states_are(VIP, "announced")
    })
    .expect("baseline: both directors Full, VIP via both, all real servers up with weight 1");
    eprintln!(
        "baseline reached {:.1?} after the directors started",
        up.after
    );
    let tables_all_up = wait_until(VERDICT, POLL, || lab.nft_identical())
        .expect("baseline: identical nftables tables on both directors")
        .value;
    // The metrics agree: each director's own LSA carries the VIP over a Full adjacency.
    for d in &lab.directors {
        let text = metrics_text(&d.socket);
        for line in [
            format!("director_vip_announced{{vip=\"{VIP}\"}} 1\n"),
            "state=\"Full\"} 1\n".to_string(),
            "director_ospf_adjacency_changes_total ".to_string(),
            "director_ospf_lsas_sent_total ".to_string(),
        ] {
            assert!(text.contains(&line), "{}: no {line:?} in\n{text}", d.name);
        }
    }

    // ===== 2. one service stops: only its flows move =====
    let packets_before: Vec<u64> = lab.net.directors.iter().map(nft_packets).collect();
    let before = lab.flows(VIP);
    assert_eq!(
        before.len(),
        common::health_lab::client_sources().len(),
        "one answer per client source: {before:?}"
    );
    assert!(
        before.values().all(|n| n.starts_with('b')),
        "every client reached a real server: {before:?}"
    );
    assert_eq!(
        before,
        predicted_flows(&[0, 1, 2]),
        "every client on the real server the userspace Maglev table predicts"
    );
    let servers_hit: BTreeSet<&String> = before.values().collect();
    assert!(
        servers_hit.len() >= 2,
        "Maglev spread the clients over several servers: {before:?}"
    );
    for (d, was) in lab.net.directors.iter().zip(&packets_before) {
        assert!(
            nft_packets(d) > *was,
            "ECMP at the router sent some of the connections through {}",
            d.name()
        );
    }
    // The victim: the server the first client reached.
    let victim_name = before.values().next().cloned().unwrap_or_default();
    let victim = (0..3)
        .find(|i| real_name(*i) == victim_name)
        .unwrap_or_else(|| panic!("unknown server {victim_name}"));
    let healthy: Vec<usize> = (0..3).filter(|i| *i != victim).collect();
    eprintln!("stopping {victim_name}'s service ({})", real_key(victim));

    let stopped_at = Instant::now();
    lab.stop_service(victim);
    let down = measure_disagreement(&lab, victim, 0);
    down.report("down", &victim_name, stopped_at);

    let one_down = expected_reals(&healthy);
    wait_stable(VERDICT, HOLD_TABLES, || {
        lab.assert_alive();
        lab.reals_are(VIP, &one_down)
    })
    .expect("one service down: weight 0 (and down) for it on both directors, 1 for the others");
    let victim_ip = real_addr(victim).to_string();
    let tables_one_down = wait_until(VERDICT, POLL, || {
        let t = lab.nft_identical()?;
        if t.contains(&victim_ip) {
            Err(format!("{victim_ip} still in the nftables map"))
        } else {
            Ok(t)
        }
    })
    .expect("one service down: identical nftables tables, without the dead server")
    .value;
    assert_ne!(tables_one_down, tables_all_up);
    // One dead server out of three is no reason to withdraw the VIP.
    lab.route_is(VIP, &both)
        .expect("one service down: VIP still via both");
    lab.vip_states_are(VIP, "announced")
        .expect("one service down: VIP still announced");

    let after = lab.flows(VIP);
    for (src, was) in &before {
        let now = after.get(src).map_or("nothing", String::as_str);
        if *was == victim_name {
            assert!(
                now.starts_with('b') && now != victim_name,
                "{src} was on the stopped {victim_name}, now answered by {now}: {after:?}"
            );
        } else {
            assert_eq!(
                now, was,
                "{src} was on healthy {was} and must stay there; before {before:?} after {after:?}"
            );
        }
    }
    assert_eq!(
        after,
        predicted_flows(&healthy),
        "one service down: every client where the Maglev table without it predicts"
    );
    let moved = before.values().filter(|n| **n == victim_name).count();
    eprintln!(
        "{moved} of {} clients moved off {victim_name}; the others kept their server",
        before.len()
    );

    let restarted_at = Instant::now();
    lab.start_service(victim);
    let back = measure_disagreement(&lab, victim, 1);
    back.report("up", &victim_name, restarted_at);
    wait_stable(VERDICT, HOLD_TABLES, || lab.reals_are(VIP, &all_up))
        .expect("service back: every real server up with weight 1 on both directors");
    wait_until(VERDICT, POLL, || {
        let t = lab.nft_identical()?;
        if t == tables_all_up {
            Ok(())
        } else {
            Err("tables not back to the all-up state".into())
        }
    })
    .expect("service back: the same nftables tables as before on both directors");
    assert_eq!(
        lab.flows(VIP),
        before,
        "service back: every client on its original server (weight 0, never deleted)"
    );

    // ===== 2b. the directors disagree: only the disputed server's flows can differ =====
    // d1's checks to the victim are refused on the victim itself (client traffic, which
    // keeps the client's source address in DR, is not): d1 sees it down, d2 up.
    let d1_addr = both[0];
    lab.reals[victim].exec_ok(&[
        "nft",
        &format!(
            "add table ip hl; add chain ip hl input {{ type filter hook input priority 0; }}; \
             add rule ip hl input ip saddr {d1_addr} tcp dport {PORT} reject with tcp reset"
        ),
    ]);
    let mut d1_view = expected_reals(&healthy);
    let d2_view = all_up.clone();
    wait_stable(VERDICT, HOLD_TABLES, || {
        let got = (
            reals(&lab.directors[0].socket, VIP)?,
            reals(&lab.directors[1].socket, VIP)?,
        );
        if got == (d1_view.clone(), d2_view.clone()) {
            Ok(())
        } else {
            Err(format!("d1 {:?}, d2 {:?}", got.0, got.1))
        }
    })
    .expect("d1's checks refused: d1 has the victim at weight 0, d2 at weight 1");
    assert!(
        lab.nft_identical().is_err(),
        "the disagreement shows in the nftables tables"
    );
    lab.route_is(VIP, &both)
        .expect("while the directors disagree: VIP still via both");
    let disputed = lab.flows(VIP);
    let d1_predicts = predicted_flows(&healthy);
    for (src, was) in &before {
        let now = disputed.get(src).map_or("nothing", String::as_str);
        if *was == victim_name {
            assert!(
                now == victim_name || Some(&now.to_string()) == d1_predicts.get(src),
                "{src}: through d2 it reaches {victim_name}, through d1 {:?}; got {now}",
                d1_predicts.get(src)
            );
        } else {
            assert_eq!(
                now, was,
                "{src} on {was} must not move while the directors disagree about {victim_name}"
            );
        }
    }
    let on_victim: Vec<&String> = before
        .iter()
        .filter(|(_, n)| **n == victim_name)
        .filter_map(|(src, _)| disputed.get(src))
        .collect();
    eprintln!(
        "while the directors disagree: of {} clients of {victim_name}, {} reached it (via d2), \
         {} another server (via d1); every other client kept its server",
        on_victim.len(),
        on_victim.iter().filter(|n| **n == &victim_name).count(),
        on_victim.iter().filter(|n| **n != &victim_name).count()
    );
    lab.reals[victim].exec_ok(&["nft", "delete table ip hl"]);
    d1_view = all_up.clone();
    wait_stable(VERDICT, HOLD_TABLES, || lab.reals_are(VIP, &d1_view))
        .expect("d1's checks pass again: the victim up on both directors");

    // ===== 3. every service stops: the VIP is withdrawn =====
    for i in 0..3 {
        lab.stop_service(i);
    }
    let none_up = expected_reals(&[]);
    let w = wait_stable(CONVERGE, HOLD, || {
        lab.assert_alive();
        lab.reals_are(VIP, &none_up)?;
        lab.vip_states_are(VIP, "withdrawn")?;
        lab.route_is(VIP, &[])?;
        lab.both_full()
    })
    .expect("all services down: both directors withdraw the VIP, no route at the router");
    for d in &lab.directors {
        let text = metrics_text(&d.socket);
        let why =
            format!("director_vip_not_announced_reason{{vip=\"{VIP}\",reason=\"unhealthy\"}} 1\n");
        assert!(text.contains(&why), "{}: no {why:?} in\n{text}", d.name);
    }
    eprintln!("all down: route gone, stable from {:.1?}", w.after);

    // ===== 4. services back: the route returns =====
    for i in 0..3 {
        lab.start_service(i);
    }
    let w = wait_stable(CONVERGE, HOLD, || {
        lab.assert_alive();
        lab.reals_are(VIP, &all_up)?;
        lab.vip_states_are(VIP, "announced")?;
        lab.route_is(VIP, &both)?;
        lab.both_full()
    })
    .expect("services back: VIP announced by both, route via both, servers up");
    eprintln!("all back: 2 nexthops stable from {:.1?}", w.after);
    assert_eq!(
        lab.flows(VIP),
        before,
        "services back: every client on its original server"
    );

    // ===== 5. a broken reload changes nothing =====
    let counters_before: Vec<(u64, u64)> = lab
        .directors
        .iter()
        .map(|d| {
            let (ok, failed, _) = reload_counters(&d.socket).expect("status");
            (ok, failed)
        })
        .collect();
    let tables_before = wait_until(VERDICT, POLL, || lab.nft_identical())
        .expect("identical tables before the broken reload")
        .value;
    let good_config: Vec<String> = lab.directors.iter().map(|d| d.config_for(&[VIP])).collect();
    for (d, good) in lab.directors.iter().zip(&good_config) {
        // A real server block that never closes, and an unknown lb_kind.
        let broken = format!(
            "{good}\nvirtual_server {VIP2} 80 {{\n    lb_kind NOPE\n    real_server {} 80 {{\n",
            real_addr(0)
        );
        d.write_config(&broken);
    }
    lab.directors[0].daemon.signal(Signal::Hup);
    let refused = ctl(&lab.directors[1].socket, &["reload"]);
    assert!(
        refused.is_err(),
        "directorctl reload of a broken file must fail: {refused:?}"
    );
    for (d, (ok, failed)) in lab.directors.iter().zip(&counters_before) {
        let seen = wait_until(VERDICT, POLL, || {
            let (ok_now, failed_now, errors) = reload_counters(&d.socket)?;
            if failed_now == failed + 1 {
                Ok((ok_now, errors))
            } else {
                Err(format!("{}: reloads failed {failed_now}", d.name))
            }
        })
        .unwrap_or_else(|e| panic!("broken reload counted as failed on {}: {e}", d.name))
        .value;
        assert_eq!(seen.0, *ok, "{}: no successful reload counted", d.name);
        assert!(
            !seen.1.is_empty(),
            "{}: the failed reload names its errors",
            d.name
        );
        eprintln!("{} rejected the broken file: {:?}", d.name, seen.1);
    }
    hold_for(HOLD, || {
        lab.assert_alive();
        lab.both_full()?;
        lab.route_is(VIP, &both)?;
        lab.route_is(VIP2, &[])?;
        lab.reals_are(VIP, &all_up)?;
        lab.vip_states_are(VIP, "announced")
    })
    .expect("after the broken reload: route, weights and VIP states unchanged");
    assert_eq!(
        nft_tables(&lab.net.directors[0]),
        tables_before,
        "after the broken reload: d1's nftables tables unchanged"
    );
    lab.nft_identical()
        .expect("after the broken reload: d2's tables still identical to d1's");
    for (d, good) in lab.directors.iter().zip(&good_config) {
        d.write_config(good);
    }

    // ===== 6. a reload that adds a service keeps an established connection =====
    let src = common::health_lab::client_sources()[0];
    let mut held = lab.hold_connection(VIP, src);
    let greeting = held
        .next_line(Duration::from_secs(15))
        .expect("held connection greeting");
    assert_eq!(
        Some(&greeting),
        before.get(&src),
        "held connection reaches the client's usual server"
    );
    let reply = held
        .exchange("before-reload", Duration::from_secs(15))
        .expect("data on the held connection before the reload");
    assert_eq!(reply, format!("{greeting} before-reload"));
    for d in &lab.directors {
        d.write_config(&d.config_for(&[VIP, VIP2]));
    }
    lab.directors[0].daemon.signal(Signal::Hup);
    ctl(&lab.directors[1].socket, &["reload"]).expect("directorctl reload of a valid file");
    for (d, (ok, failed)) in lab.directors.iter().zip(&counters_before) {
        wait_until(VERDICT, POLL, || {
            let (ok_now, failed_now, _) = reload_counters(&d.socket)?;
            if ok_now == ok + 1 && failed_now == failed + 1 {
                Ok(())
            } else {
                Err(format!(
                    "{}: reloads ok {ok_now} failed {failed_now}",
                    d.name
                ))
            }
        })
        .unwrap_or_else(|e| panic!("reload counted as succeeded on {}: {e}", d.name));
    }
    wait_stable(CONVERGE, HOLD, || {
        lab.assert_alive();
        lab.reals_are(VIP2, &all_up)?;
        lab.route_is(VIP2, &both)?;
        lab.route_is(VIP, &both)?;
        lab.reals_are(VIP, &all_up)
    })
    .expect("after the reload: the new VIP via both directors with its servers up, the old one unchanged");
    let reply = held
        .exchange("after-reload", Duration::from_secs(15))
        .expect("data on the held connection after the reload");
    assert_eq!(
        reply,
        format!("{greeting} after-reload"),
        "the connection held across the reload still carries data both ways"
    );
    let new_flows = lab.flows(VIP2);
    assert!(
        new_flows.values().all(|n| n.starts_with('b')),
        "the added service answers: {new_flows:?}"
    );
    assert_eq!(
        lab.flows(VIP),
        before,
        "the old service's mapping unchanged"
    );
    drop(held);

    // ===== 7. a director restarted while a real server is down waits for its verdicts =====
    // The victim drops the SYNs of every check: d2 counts it down after its 1 s timeout,
    // while the restarted d1's first check of it takes the 20 s of its own configuration,
    // far longer than d1 needs to become Full with r1.
    lab.reals[victim].exec_ok(&[
        "nft",
        &format!(
            "add table ip hl7; add chain ip hl7 input {{ type filter hook input priority 0; }}; \
             add rule ip hl7 input tcp dport {PORT} drop"
        ),
    ]);
    let victim_down = expected_reals(&healthy);
    wait_stable(VERDICT, HOLD_TABLES, || lab.reals_are(VIP, &victim_down))
        .expect("the victim silently down: weight 0 on both directors");
    lab.directors[0].daemon.kill();
    wait_stable(CONVERGE, HOLD, || {
        lab.route_is(VIP, &both[1..])?;
        lab.route_is(VIP2, &both[1..])
    })
    .expect("d1 killed: the routes via d2 only");
    let d1 = &lab.directors[0];
    d1.write_config(
        &d1.config_for(&[VIP, VIP2])
            .replace("connect_timeout 1", "connect_timeout 20"),
    );
    let restarted = Instant::now();
    lab.directors[0].daemon.restart();
    let d1 = &lab.directors[0];
    let held_reason = format!(
        "director_vip_not_announced_reason{{vip=\"{VIP}\",reason=\"awaiting_first_checks\"}} 1\n"
    );
    let mut held_while_full = None;
    let verdicts_after = loop {
        d1.assert_alive();
        // The route first, then d1's verdicts: a route seen before verdicts that were not
        // in yet was learnt before them.
        let mut via_d1 = Vec::new();
        for vip in [VIP, VIP2] {
            if route_nexthops(&lab.net.r1, &host(vip)).is_ok_and(|hops| hops.contains(&d1.addr)) {
                via_d1.push(vip);
            }
        }
        if reals(&d1.socket, VIP).is_ok_and(|got| got == victim_down) {
            break restarted.elapsed();
        }
        assert!(
            via_d1.is_empty(),
            "r1 learnt {via_d1:?} via d1 {:.1?} after its restart, before d1's first verdicts",
            restarted.elapsed()
        );
        if held_while_full.is_none()
            && lab.both_full().is_ok()
            && vip_state(&d1.socket, VIP).is_ok_and(|state| state == "awaiting_first_checks")
        {
            let text = metrics_text(&d1.socket);
            assert!(
                text.contains(&held_reason),
                "d1: no {held_reason:?} in\n{text}"
            );
            held_while_full = Some(restarted.elapsed());
        }
        assert!(
            restarted.elapsed() < CONVERGE,
            "d1 gave no verdict on the victim within {CONVERGE:?} of its restart"
        );
        std::thread::sleep(POLL);
    };
    let full_after = held_while_full.unwrap_or_else(|| {
        panic!(
            "d1 never was Full with the VIP awaiting its first checks before they came \
             ({verdicts_after:.1?} after its restart): the hold was not exercised"
        )
    });
    let settling = Instant::now();
    let w = wait_stable(CONVERGE, HOLD, || {
        lab.assert_alive();
        lab.both_full()?;
        lab.route_is(VIP, &both)?;
        lab.route_is(VIP2, &both)?;
        lab.reals_are(VIP, &victim_down)?;
        lab.vip_states_are(VIP, "announced")
    })
    .expect("after d1's first verdicts: VIPs announced by both, route via both");
    lab.nft_identical()
        .expect("d1's first announced table is d2's (the victim at weight 0)");
    eprintln!(
        "MEASURE: d1 restarted while a real server was down: Full and holding the VIPs by \
         {full_after:.1?}, first verdicts {verdicts_after:.1?}, route via both stable from \
         {:.1?} after the restart",
        (settling + w.after).duration_since(restarted)
    );
    eprintln!("health_lab: whole run {:.1?}", t0.elapsed());
}

/// When each director first showed the new weight of one real server.
struct Disagreement {
    /// Per director: time of the first poll that showed the new weight.
    seen: Vec<Option<Instant>>,
    /// Mean time of one `directorctl services` poll (the resolution of the figure).
    poll: Duration,
}

impl Disagreement {
    fn report(&self, what: &str, server: &str, since: Instant) {
        let after: Vec<String> = self
            .seen
            .iter()
            .map(|s| {
                s.map_or("never".into(), |t| {
                    format!("{} ms", (t - since).as_millis())
                })
            })
            .collect();
        match (self.seen[0], self.seen[1]) {
            (Some(a), Some(b)) => {
                let gap = if a > b { a - b } else { b - a };
                println!(
                    "MEASURE: health_lab {server} {what}: d1 and d2 disagreed on its weight for {} ms \
                     (d1 saw it {}, d2 {} after the service change; poll resolution {} ms)",
                    gap.as_millis(), after[0], after[1], self.poll.as_millis()
                );
            }
            _ => println!(
                "MEASURE: health_lab {server} {what}: a director never showed the change within \
                 the window (d1 {}, d2 {})",
                after[0], after[1]
            ),
        }
    }
}

/// Polls both directors' weight for real server `i` as fast as `directorctl` answers, each
/// in its own thread, until both show `weight` (or [`VERDICT`] passes).
fn measure_disagreement(lab: &HealthLab, i: usize, weight: u32) -> Disagreement {
    let key = real_key(i);
    let results: Vec<(Option<Instant>, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = lab
            .directors
            .iter()
            .map(|d| {
                let socket: &Path = &d.socket;
                let key = key.clone();
                s.spawn(move || {
                    let start = Instant::now();
                    let mut polls = 0u32;
                    while start.elapsed() < VERDICT {
                        polls += 1;
                        let w = reals(socket, VIP)
                            .ok()
                            .and_then(|r| r.get(&key).map(|r| r.weight));
                        if w == Some(weight) {
                            return (Some(Instant::now()), start.elapsed() / polls);
                        }
                    }
                    (None, start.elapsed() / polls.max(1))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or((None, Duration::ZERO)))
            .collect()
    });
    let polls: Vec<Duration> = results.iter().map(|r| r.1).collect();
    Disagreement {
        seen: results.iter().map(|r| r.0).collect(),
        poll: polls.iter().sum::<Duration>() / polls.len().max(1) as u32,
    }
}

/// `directorctl metrics` of the director behind `socket`.
fn metrics_text(socket: &Path) -> String {
    ctl(socket, &["metrics"])
        .expect("metrics")
        .as_str()
        .unwrap_or_default()
        .to_string()
}
