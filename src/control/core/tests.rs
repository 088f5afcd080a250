//! The core with a fake clock: results in, decisions out.

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
    let first = core.recompute();
    assert!(first.transitions.is_empty(), "nothing changed yet");
    assert_eq!(first.announce.len(), 2);

    let shared = checker_of(&config, 0, 0);
    assert!(core.on_result(result(&shared, false, now), now));
    assert!(
        !core.on_result(result(&shared, false, now), now),
        "no change twice"
    );
    let decisions = core.recompute();
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
    let decisions = core.recompute();
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
    core.recompute();

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
    core.recompute();
    let stranger = load(&TWO_SERVICES.replace("connect_timeout 1", "connect_timeout 9"));
    let checker = checker_of(&stranger, 0, 0);
    assert!(!core.on_result(result(&checker, false, now), now));
    assert!(!core.is_dirty());
}

#[test]
fn omega_reports_everything_down_at_shutdown() {
    let config = load(&TWO_SERVICES.replace("quorum_down", "omega\n    quorum_down"));
    let mut core = Core::new(config, Maintenance::default(), Instant::now());
    core.recompute();
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
    core.recompute();
    let edited = TWO_SERVICES.replace(
        "real_server 10.1.0.2 80 { TCP_CHECK { connect_timeout 1 } }",
        "real_server 10.1.0.2 80 { TCP_CHECK { connect_timeout 2 } }",
    );
    core.set_config(load(&edited), now);
    let changed = checker_of(core.config(), 0, 1);
    assert_eq!(core.record(&changed).map(|r| r.verdict.up), Some(false));
    let decisions = core.recompute();
    assert!(
        decisions.transitions.is_empty(),
        "no flap: {:?}",
        decisions.transitions
    );
    // Its first success brings it back.
    assert!(core.on_result(result(&changed, true, now), now));
    assert_eq!(core.recompute().transitions.len(), 1);
}

#[test]
fn maintenance_is_planned_then_set_and_survives_a_reload() {
    use crate::policy::maintenance::MaintenanceOp;
    let config = load(TWO_SERVICES);
    let now = Instant::now();
    let mut core = Core::new(config.clone(), Maintenance::default(), now);
    let before = core.recompute();
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
    let after = core.recompute();
    assert!(!after.announce.contains(&vip), "withdrawn");
    assert_eq!(after.tables, before.tables, "the tables stay");
    assert_eq!(
        core.plan_maintenance(MaintenanceOp::Withdraw(vip)),
        Ok(None),
        "repeating it changes nothing"
    );
    core.set_config(config, now);
    assert!(
        !core.recompute().announce.contains(&vip),
        "kept across a reload"
    );
}
