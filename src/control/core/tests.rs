//! The core with a fake clock: results in, decisions out.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::config;
use crate::health::fsm::Step;

fn load(text: &str) -> Arc<Config> {
    match config::parse_str("director.conf", text) {
        Ok(loaded) => Arc::new(loaded.config),
        Err(failed) => panic!("config: {:?}", failed.errors),
    }
}

const TWO_SERVICES: &str = r#"
director { dataplane none }
ospf {
    router_id 10.0.0.11
    area 0 { interface eth0 { } }
}
virtual_server 10.99.0.1 80 {
    lb_algo mh
    quorum_down "/bin/echo q80"
    real_server 10.1.0.1 80 {
        notify_down "/bin/echo down"
        TCP_CHECK { connect_timeout 1 }
    }
    real_server 10.1.0.2 80 { TCP_CHECK { connect_timeout 1 } }
}
virtual_server 10.99.0.2 80 {
    lb_algo mh
    real_server 10.1.0.1 80 { TCP_CHECK { connect_timeout 1 } }
}
"#;

fn result(checker: &Checker, up: bool, now: Instant) -> CheckResult {
    CheckResult {
        checker: Arc::new(checker.clone()),
        outcome: if up {
            Outcome::Up
        } else {
            Outcome::Down("connection refused".into())
        },
        latency: Duration::from_millis(2),
        step: Step {
            verdict: Verdict { up, weight: None },
            changed: true,
            retrying: false,
            next_probe: now + Duration::from_secs(1),
        },
    }
}

/// Long after every first-verdict bound of these configurations: no VIP waits any more.
fn settled(start: Instant) -> Instant {
    start + Duration::from_secs(3600)
}

fn checker_of(config: &Config, vs: usize, rs: usize) -> Checker {
    config.virtual_servers[vs].real_servers[rs].checkers[0].clone()
}

#[test]
fn a_check_shared_by_two_virtual_servers_is_one_record() {
    let config = load(TWO_SERVICES);
    let core = Core::new(config, Maintenance::default(), Instant::now());
    assert_eq!(core.checkers().count(), 2);
}

#[test]
fn a_down_verdict_zeroes_the_weight_everywhere_and_says_why() {
    let config = load(TWO_SERVICES);
    let now = Instant::now();
    let mut core = Core::new(config.clone(), Maintenance::default(), now);
    let first = core.recompute(settled(now));
    assert!(first.transitions.is_empty(), "nothing changed yet");
    assert_eq!(first.announce.len(), 2);

    let shared = checker_of(&config, 0, 0);
    assert!(core.on_result(result(&shared, false, now), now));
    assert!(
        !core.on_result(result(&shared, false, now), now),
        "no change twice"
    );
    let decisions = core.recompute(settled(now));
    let weights: Vec<Vec<u32>> = decisions
        .tables
        .services
        .iter()
        .map(|s| s.dests.iter().map(|d| d.weight).collect())
        .collect();
    assert_eq!(weights, [vec![0, 1], vec![0]]);
    // 10.99.0.2 lost its only server: quorum down and withdrawn; 10.99.0.1 stays.
    assert_eq!(decisions.announce.len(), 1);
    let reals: Vec<_> = decisions
        .transitions
        .iter()
        .filter_map(|t| match t {
            Transition::Real {
                up, reason, script, ..
            } => Some((*up, reason.clone(), script.is_some())),
            _ => None,
        })
        .collect();
    assert_eq!(reals.len(), 2, "one transition per virtual server");
    assert!(reals.iter().all(|(up, _, _)| !up));
    assert!(reals[0]
        .1
        .contains("TCP_CHECK 10.1.0.1:80: connection refused"));
    assert!(reals[0].2, "notify_down of the first virtual server");
    assert!(decisions
        .transitions
        .iter()
        .any(|t| matches!(t, Transition::Quorum { up: false, .. })));

    assert!(core.on_result(result(&shared, true, now), now));
    let decisions = core.recompute(settled(now));
    assert_eq!(decisions.announce.len(), 2);
    assert_eq!(decisions.transitions.len(), 3, "2 servers up, 1 quorum up");
}

#[test]
fn reload_keeps_unchanged_verdicts_and_forgets_removed_checkers() {
    let config = load(TWO_SERVICES);
    let now = Instant::now();
    let mut core = Core::new(config.clone(), Maintenance::default(), now);
    let shared = checker_of(&config, 0, 0);
    let other = checker_of(&config, 0, 1);
    core.on_result(result(&shared, false, now), now);
    core.on_result(result(&other, false, now), now);
    core.recompute(settled(now));

    // The second server's checker changes (connect_timeout), the shared one does not.
    let edited = TWO_SERVICES.replace(
        "real_server 10.1.0.2 80 { TCP_CHECK { connect_timeout 1 } }",
        "real_server 10.1.0.2 80 { TCP_CHECK { connect_timeout 2 } }",
    );
    let later = now + Duration::from_secs(5);
    core.set_config(load(&edited), later);
    assert!(core.is_dirty());
    assert!(
        !core.record(&shared).is_none_or(|r| r.verdict.up),
        "kept down"
    );
    assert!(core.record(&other).is_none(), "the old checker is gone");
    let changed = checker_of(core.config(), 0, 1);
    let record = core.record(&changed).map(|r| (r.verdict.up, r.since));
    assert_eq!(
        record,
        Some((false, later)),
        "a new checker of a dead server starts afresh, and down"
    );
}

#[test]
fn results_of_removed_checkers_change_nothing() {
    let config = load(TWO_SERVICES);
    let now = Instant::now();
    let mut core = Core::new(config, Maintenance::default(), now);
    core.recompute(settled(now));
    let stranger = load(&TWO_SERVICES.replace("connect_timeout 1", "connect_timeout 9"));
    let checker = checker_of(&stranger, 0, 0);
    assert!(!core.on_result(result(&checker, false, now), now));
    assert!(!core.is_dirty());
}

#[test]
fn omega_reports_everything_down_at_shutdown() {
    let config = load(&TWO_SERVICES.replace("quorum_down", "omega\n    quorum_down"));
    let now = Instant::now();
    let mut core = Core::new(config, Maintenance::default(), now);
    core.recompute(now);
    let omega = core.omega_transitions();
    assert_eq!(omega.len(), 3, "two servers and the quorum of 10.99.0.1");
}

#[test]
fn durations_and_results_are_counted_by_kind() {
    let config = load(TWO_SERVICES);
    let now = Instant::now();
    let mut core = Core::new(config.clone(), Maintenance::default(), now);
    let shared = checker_of(&config, 0, 0);
    core.on_result(result(&shared, true, now), now);
    core.on_result(result(&shared, false, now), now);
    let stats = core.stats();
    assert_eq!(stats.results.get(&("TCP_CHECK", "success")), Some(&1));
    assert_eq!(stats.results.get(&("TCP_CHECK", "failure")), Some(&1));
    let (buckets, count, _) = &stats.durations["TCP_CHECK"];
    assert_eq!(*count, 2);
    assert_eq!(buckets[0], 0, "2 ms is above the 1 ms bucket");
    assert_eq!(buckets[1], 2);
}

#[test]
fn a_changed_checker_of_a_dead_server_starts_down() {
    let config = load(TWO_SERVICES);
    let now = Instant::now();
    let mut core = Core::new(config.clone(), Maintenance::default(), now);
    let other = checker_of(&config, 0, 1);
    core.on_result(result(&other, false, now), now);
    core.recompute(settled(now));
    let edited = TWO_SERVICES.replace(
        "real_server 10.1.0.2 80 { TCP_CHECK { connect_timeout 1 } }",
        "real_server 10.1.0.2 80 { TCP_CHECK { connect_timeout 2 } }",
    );
    core.set_config(load(&edited), now);
    let changed = checker_of(core.config(), 0, 1);
    assert_eq!(core.record(&changed).map(|r| r.verdict.up), Some(false));
    let decisions = core.recompute(settled(now));
    assert!(
        decisions.transitions.is_empty(),
        "no flap: {:?}",
        decisions.transitions
    );
    // Its first success brings it back.
    assert!(core.on_result(result(&changed, true, now), now));
    assert_eq!(core.recompute(settled(now)).transitions.len(), 1);
}

#[test]
fn maintenance_is_planned_then_set_and_survives_a_reload() {
    use crate::policy::maintenance::MaintenanceOp;
    let config = load(TWO_SERVICES);
    let now = Instant::now();
    let mut core = Core::new(config.clone(), Maintenance::default(), now);
    let before = core.recompute(settled(now));
    let vip = *before.announce.iter().next().expect("a VIP");
    let next = core
        .plan_maintenance(MaintenanceOp::Withdraw(vip))
        .expect("valid")
        .expect("a change");
    assert!(
        !core.is_dirty() && core.maintenance().is_empty(),
        "planning changes nothing"
    );
    core.set_maintenance(next);
    assert!(core.is_dirty());
    let after = core.recompute(settled(now));
    assert!(!after.announce.contains(&vip), "withdrawn");
    assert_eq!(after.tables, before.tables, "the tables stay");
    assert_eq!(
        core.plan_maintenance(MaintenanceOp::Withdraw(vip)),
        Ok(None),
        "repeating it changes nothing"
    );
    core.set_config(config, now);
    assert!(
        !core.recompute(settled(now)).announce.contains(&vip),
        "kept across a reload"
    );
}

// ===== first verdicts before the first announcement =====

fn vips(list: &[&str]) -> BTreeSet<IpAddr> {
    list.iter().filter_map(|v| v.parse().ok()).collect()
}

#[test]
fn a_vip_waits_for_the_first_verdicts_of_every_checker_behind_it() {
    let config = load(TWO_SERVICES);
    let t0 = Instant::now();
    let mut core = Core::new(config.clone(), Maintenance::default(), t0);
    let start = core.recompute(t0);
    assert!(start.announce.is_empty(), "{:?}", start.announce);
    assert_eq!(
        start
            .awaiting_first_checks
            .keys()
            .copied()
            .collect::<BTreeSet<_>>(),
        vips(&["10.99.0.1", "10.99.0.2"])
    );

    // The shared checker's first success changes no verdict, yet releases 10.99.0.2,
    // whose only real server it checks; 10.99.0.1 still waits for 10.1.0.2's.
    let at = t0 + Duration::from_secs(1);
    assert!(!core.on_result(result(&checker_of(&config, 0, 0), true, at), at));
    assert!(core.is_dirty(), "a first verdict is worth a recompute");
    let one = core.recompute(at);
    assert_eq!(one.announce, vips(&["10.99.0.2"]));
    assert_eq!(
        one.awaiting_first_checks
            .keys()
            .copied()
            .collect::<BTreeSet<_>>(),
        vips(&["10.99.0.1"])
    );

    // 10.1.0.2 is down: its first verdict says so, and the table the VIP is announced
    // with already gives it weight 0.
    assert!(core.on_result(result(&checker_of(&config, 0, 1), false, at), at));
    let both = core.recompute(at);
    assert_eq!(both.announce, vips(&["10.99.0.1", "10.99.0.2"]));
    assert!(both.awaiting_first_checks.is_empty());
    assert_eq!(core.next_hold_deadline(), None);
    let weights: Vec<u32> = both.tables.services[0]
        .dests
        .iter()
        .map(|d| d.weight)
        .collect();
    assert_eq!(weights, [1, 0]);

    // Later results are ordinary: an unchanged verdict is not worth a recompute.
    assert!(!core.on_result(result(&checker_of(&config, 0, 0), true, at), at));
    assert!(!core.is_dirty());
}

#[test]
fn a_vip_is_announced_anyway_once_its_bound_passes() {
    let config = load(TWO_SERVICES);
    let t0 = Instant::now();
    let mut core = Core::new(config, Maintenance::default(), t0);
    core.recompute(t0);
    // 1 s + the first round's spread (2 s, shorter than warmup = delay_loop 60 s) + a
    // probe's budget (connect_timeout 1 twice, plus 3 s of slack) + 1 s for the result.
    let bound = t0 + Duration::from_secs(9);
    assert_eq!(core.next_hold_deadline(), Some(bound));
    let before = core.recompute(bound - Duration::from_millis(1));
    assert!(before.announce.is_empty());
    assert_eq!(before.awaiting_first_checks.values().max(), Some(&bound));
    let after = core.recompute(bound);
    assert_eq!(after.announce, vips(&["10.99.0.1", "10.99.0.2"]));
    assert_eq!(core.next_hold_deadline(), None);
}

#[test]
fn first_checks_timeout_caps_the_wait_and_zero_turns_it_off() {
    let capped = load(&TWO_SERVICES.replace(
        "director { dataplane none }",
        "director {\n    dataplane none\n    first_checks_timeout 5\n}",
    ));
    let t0 = Instant::now();
    let mut core = Core::new(capped, Maintenance::default(), t0);
    assert!(core.recompute(t0).announce.is_empty());
    assert_eq!(core.next_hold_deadline(), Some(t0 + Duration::from_secs(5)));

    let off = load(&TWO_SERVICES.replace(
        "director { dataplane none }",
        "director {\n    dataplane none\n    first_checks_timeout 0\n}",
    ));
    let mut core = Core::new(off, Maintenance::default(), t0);
    let start = core.recompute(t0);
    assert_eq!(start.announce.len(), 2, "announced at once");
    assert!(start.awaiting_first_checks.is_empty());
}

#[test]
fn real_servers_without_checkers_hold_nothing_back() {
    let config = load(
        r#"
director { dataplane none }
ospf {
    router_id 10.0.0.11
    area 0 { interface eth0 { } }
}
virtual_server 10.99.0.1 80 {
    lb_algo mh
    real_server 10.1.0.1 80 { }
}
"#,
    );
    let t0 = Instant::now();
    let mut core = Core::new(config, Maintenance::default(), t0);
    assert_eq!(core.recompute(t0).announce, vips(&["10.99.0.1"]));
}

#[test]
fn a_reload_holds_new_vips_but_never_an_announced_one() {
    let config = load(TWO_SERVICES);
    let t0 = Instant::now();
    let mut core = Core::new(config.clone(), Maintenance::default(), t0);
    for (vs, rs) in [(0, 0), (0, 1)] {
        core.on_result(result(&checker_of(&config, vs, rs), true, t0), t0);
    }
    assert_eq!(core.recompute(t0).announce.len(), 2);

    // A new service on the announced 10.99.0.1, and a new VIP: both with a new checker.
    let grown = format!(
        "{TWO_SERVICES}
virtual_server 10.99.0.1 443 {{
    lb_algo mh
    real_server 10.1.0.3 443 {{ TCP_CHECK {{ connect_timeout 1 }} }}
}}
virtual_server 10.99.0.3 80 {{
    lb_algo mh
    real_server 10.1.0.3 80 {{ TCP_CHECK {{ connect_timeout 1 }} }}
}}
"
    );
    let later = t0 + Duration::from_secs(10);
    core.set_config(load(&grown), later);
    let reloaded = core.recompute(later);
    assert_eq!(
        reloaded.announce,
        vips(&["10.99.0.1", "10.99.0.2"]),
        "announced VIPs stay announced"
    );
    assert_eq!(
        reloaded
            .awaiting_first_checks
            .keys()
            .copied()
            .collect::<BTreeSet<_>>(),
        vips(&["10.99.0.3"]),
        "the new VIP waits"
    );
    let new_checker = checker_of(core.config(), 3, 0);
    core.on_result(result(&new_checker, true, later), later);
    assert!(core.is_dirty());
    assert_eq!(
        core.recompute(later).announce,
        vips(&["10.99.0.1", "10.99.0.2", "10.99.0.3"])
    );
}

#[test]
fn a_vip_withdrawn_for_its_health_waits_again_only_for_new_checkers() {
    let config = load(TWO_SERVICES);
    let t0 = Instant::now();
    let mut core = Core::new(config.clone(), Maintenance::default(), t0);
    let shared = checker_of(&config, 0, 0);
    core.on_result(result(&shared, false, t0), t0);
    core.on_result(result(&checker_of(&config, 0, 1), true, t0), t0);
    // 10.99.0.2 lost its only server: withdrawn, not awaiting anything.
    let decided = core.recompute(t0);
    assert_eq!(decided.announce, vips(&["10.99.0.1"]));
    assert!(decided.awaiting_first_checks.is_empty());
    // Back up: announced at once, its checker has long given its first verdict.
    core.on_result(result(&shared, true, t0), t0);
    assert_eq!(core.recompute(t0).announce.len(), 2);
}

#[test]
fn nothing_waits_outside_active_active_mode() {
    let config = load(
        &TWO_SERVICES
            .replace(
                "director { dataplane none }",
                "director {\n    dataplane none\n    mode tables-only\n}",
            )
            .replace(
                "ospf {\n    router_id 10.0.0.11\n    area 0 { interface eth0 { } }\n}",
                "",
            ),
    );
    let t0 = Instant::now();
    let mut core = Core::new(config, Maintenance::default(), t0);
    let start = core.recompute(t0);
    assert!(start.announce.is_empty() && start.awaiting_first_checks.is_empty());
    assert_eq!(core.next_hold_deadline(), None);
}
