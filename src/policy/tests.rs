//! Policy tests: the same inputs give the same tables on every director; keepalived's
//! liveness, quorum, hysteresis, sorry-server and inhibit rules; the announce rule.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::*;
use crate::config::model::{CheckerCommon, Mode};
use crate::dataplane::tables::{
    svc_flags, Family, FlowHash, Forward, IpvsSysctls, Protocol, ServiceKey,
};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// A TCP_CHECK aimed at `target`: tests mark checkers down by their target address.
fn tcp_check(target: &str) -> Checker {
    Checker::Tcp {
        common: CheckerCommon {
            connect_ip: ip(target),
            connect_port: 80,
            bindto: None,
            bind_if: None,
            bind_port: None,
            fwmark: None,
            connect_timeout: Duration::from_secs(5),
            retry: 1,
            delay_before_retry: Duration::from_secs(1),
            warmup: Duration::from_secs(60),
            delay_loop: Duration::from_secs(60),
            alpha: false,
            log_all_failures: false,
        },
    }
}

fn real(addr: &str, weight: u32) -> cfg::RealServer {
    cfg::RealServer {
        ip: ip(addr),
        port: 80,
        weight,
        method: cfg::ForwardingMethod::Dr,
        inhibit_on_failure: false,
        notify_up: None,
        notify_down: None,
        upper_threshold: None,
        lower_threshold: None,
        virtualhost: None,
        smtp_alert: None,
        alpha: false,
        checkers: vec![tcp_check(addr)],
    }
}

fn vs(addr: &str, port: u16, reals: Vec<cfg::RealServer>) -> cfg::VirtualServer {
    cfg::VirtualServer {
        key: cfg::ServiceKey::Addr {
            ip: ip(addr),
            port,
            protocol: cfg::Protocol::Tcp,
        },
        scheduler: cfg::Scheduler::Mh,
        scheduler_flags: cfg::SchedulerFlags::default(),
        method: cfg::ForwardingMethod::Dr,
        persistence: None,
        protocol: cfg::Protocol::Tcp,
        ip_family: None,
        delay_loop: Duration::from_secs(60),
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        alpha: false,
        omega: false,
        inhibit_on_failure: false,
        ha_suspend: false,
        one_packet_scheduling: false,
        virtualhost: None,
        sorry_server: None,
        nat_mask: None,
        smtp_alert: None,
        maglev_table_size: None,
        ospf_metric: None,
        real_servers: reals,
    }
}

fn config(vss: Vec<cfg::VirtualServer>, mode: Mode) -> Config {
    let mut c = Config::default();
    c.director.mode = Some(mode);
    c.virtual_servers = vss;
    c
}

fn skey(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        addr: ip(addr),
        port,
        protocol: Protocol::Tcp,
    }
}

/// Verdicts where the checkers aimed at `down` fail.
fn verdicts(down: &[&str]) -> impl Fn(&Checker) -> Verdict {
    let down: BTreeSet<IpAddr> = down.iter().map(|a| ip(a)).collect();
    move |checker: &Checker| Verdict {
        up: !down.contains(&checker.common().connect_ip),
        weight: None,
    }
}

fn eval(c: &Config, down: &[&str]) -> Evaluation {
    evaluate(c, verdicts(down), &HashMap::new(), &Maintenance::default())
}

#[test]
fn two_directors_same_inputs_byte_identical() {
    // Same content, different order in the file: same tables, same bytes.
    let a = config(
        vec![
            vs(
                "10.0.0.2",
                443,
                vec![real("10.1.0.9", 1), real("10.1.0.3", 2)],
            ),
            vs(
                "10.0.0.1",
                80,
                vec![real("10.1.0.2", 1), real("10.1.0.1", 1)],
            ),
        ],
        Mode::ActiveActive,
    );
    let mut b = a.clone();
    b.virtual_servers.reverse();
    for v in &mut b.virtual_servers {
        v.real_servers.reverse();
    }
    let ta = desired_tables(&a, &eval(&a, &["10.1.0.2"]));
    let tb = desired_tables(&b, &eval(&b, &["10.1.0.2"]));
    assert_eq!(ta, tb);
    let ja = serde_json::to_vec(&ta).unwrap_or_default();
    let jb = serde_json::to_vec(&tb).unwrap_or_default();
    assert!(!ja.is_empty());
    assert_eq!(ja, jb);
    assert_eq!(ta.services[0].spec.key, skey("10.0.0.1", 80));
    assert_eq!(
        ta.services[0].dests[1].weight, 0,
        "failed server stays with weight 0"
    );
    assert_eq!(ta.services[0].dests.len(), 2, "and is never deleted");
    assert_eq!(ta.sysctls.sloppy_tcp, Some(true));
}

#[test]
fn maglev_size_comes_from_the_configuration_not_from_health() {
    let reals = |n: usize| (1..=n).map(|i| real(&format!("10.1.0.{i}"), 1)).collect();
    let mut c = config(
        vec![vs("10.0.0.1", 80, reals(10)), vs("10.0.0.2", 80, reals(3))],
        Mode::ActiveActive,
    );
    let size = |c: &Config, down: &[&str]| -> Vec<u32> {
        desired_tables(c, &eval(c, down))
            .services
            .iter()
            .map(|s| s.maglev_size)
            .collect()
    };
    assert_eq!(size(&c, &[]), [1201, 307]);
    // A failed real server does not resize the table (that would move most flows).
    assert_eq!(size(&c, &["10.1.0.1", "10.1.0.2"]), [1201, 307]);
    // The global default, then the service's own keyword, win over the automatic size.
    c.director.maglev_table_size = Some(4093);
    c.virtual_servers[1].maglev_table_size = Some(13);
    assert_eq!(size(&c, &[]), [4093, 13]);
}

#[test]
fn keepalived_semantics_outside_active_active() {
    let mut v = vs(
        "10.0.0.1",
        80,
        vec![real("10.1.0.1", 1), real("10.1.0.2", 1)],
    );
    v.real_servers[1].inhibit_on_failure = true;
    let c = config(vec![v], Mode::TablesOnly);
    let t = desired_tables(&c, &eval(&c, &["10.1.0.1", "10.1.0.2"]));
    assert_eq!(t.services[0].dests.len(), 1, "deleted unless inhibited");
    assert_eq!(t.services[0].dests[0].weight, 0);
    assert_eq!(t.sysctls, IpvsSysctls::default());
}

#[test]
fn a_real_server_is_alive_only_while_every_checker_passes() {
    let mut r = real("10.1.0.1", 3);
    r.checkers.push(tcp_check("10.1.0.100"));
    let c = config(vec![vs("10.0.0.1", 80, vec![r])], Mode::ActiveActive);
    let e = eval(&c, &[]);
    assert_eq!(e.services[0].live_weight, 3);
    let e = eval(&c, &["10.1.0.100"]);
    assert!(!e.services[0].reals[0].alive);
    assert!(!e.services[0].quorum);
    // No checker at all: always alive, as in keepalived.
    let mut bare = real("10.1.0.2", 1);
    bare.checkers.clear();
    let c = config(vec![vs("10.0.0.1", 80, vec![bare])], Mode::ActiveActive);
    assert!(eval(&c, &["10.1.0.2"]).services[0].reals[0].alive);
}

#[test]
fn dynamic_checkers_set_and_shift_the_weight() {
    let r = real("10.1.0.1", 3);
    let c = config(vec![vs("10.0.0.1", 80, vec![r])], Mode::ActiveActive);
    let set = |change| {
        evaluate(
            &c,
            move |_: &Checker| Verdict {
                up: true,
                weight: Some(change),
            },
            &HashMap::new(),
            &Maintenance::default(),
        )
    };
    assert_eq!(set(WeightChange::Set(7)).services[0].reals[0].weight, 7);
    assert_eq!(set(WeightChange::Add(2)).services[0].reals[0].weight, 5);
    let e = set(WeightChange::Add(-3));
    assert!(!e.services[0].reals[0].alive, "a weight driven to 0 fails");
    let t = desired_tables(&c, &set(WeightChange::Set(7)));
    assert_eq!(t.services[0].dests[0].weight, 7);
}

#[test]
fn quorum_with_hysteresis() {
    let reals = (1..=5).map(|i| real(&format!("10.1.0.{i}"), 1)).collect();
    let mut v = vs("10.0.0.1", 80, reals);
    v.quorum = 3;
    v.hysteresis = 1;
    let c = config(vec![v], Mode::ActiveActive);
    let step = |down: &[&str], before: bool| {
        let prev = HashMap::from([(c.virtual_servers[0].key.clone(), before)]);
        evaluate(&c, verdicts(down), &prev, &Maintenance::default()).services[0].quorum
    };
    // Held: lost only below quorum − hysteresis = 2.
    assert!(step(&["10.1.0.1", "10.1.0.2", "10.1.0.3"], true));
    assert!(!step(
        &["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"],
        true
    ));
    // Lost: gained only at quorum + hysteresis = 4.
    assert!(!step(&["10.1.0.1", "10.1.0.2"], false));
    assert!(step(&["10.1.0.1"], false));
    // A new service starts from the plain comparison.
    assert!(eval(&c, &["10.1.0.1", "10.1.0.2"]).services[0].quorum);
    assert!(!eval(&c, &["10.1.0.1", "10.1.0.2", "10.1.0.3"]).services[0].quorum);
}

#[test]
fn quorum_is_lost_at_zero_weight_even_with_a_zero_quorum() {
    let mut v = vs("10.0.0.1", 80, vec![real("10.1.0.1", 1)]);
    v.quorum = 0;
    let c = config(vec![v], Mode::ActiveActive);
    let prev = HashMap::from([(c.virtual_servers[0].key.clone(), true)]);
    assert!(
        !evaluate(&c, verdicts(&["10.1.0.1"]), &prev, &Maintenance::default()).services[0].quorum
    );
}

#[test]
fn persistence_flags_and_sorry_server() {
    let mut v = vs("10.0.0.1", 0, vec![real("10.1.0.1", 1)]);
    v.real_servers[0].port = 0;
    v.scheduler = cfg::Scheduler::Sh;
    v.scheduler_flags.sh_port = true;
    v.persistence = Some(cfg::Persistence {
        timeout: Duration::from_secs(600),
        granularity: Some(IpAddr::V4(Ipv4Addr::new(255, 255, 255, 0))),
        engine: None,
    });
    v.sorry_server = Some(cfg::SorryServer {
        ip: IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)),
        port: 80,
        method: cfg::ForwardingMethod::Nat,
        inhibit: false,
    });
    let c = config(vec![v], Mode::ActiveActive);
    let t = desired_tables(&c, &eval(&c, &[]));
    let s = &t.services[0];
    assert_eq!(s.spec.flags, svc_flags::PERSISTENT | svc_flags::SCHED2);
    assert_eq!((s.spec.timeout, s.spec.netmask), (600, 24));
    assert_eq!(
        s.dests.len(),
        1,
        "no sorry server while a real server is up"
    );
    assert_eq!(s.flow_hash, FlowHash::SourceAddr);
    let t = desired_tables(&c, &eval(&c, &["10.1.0.1"]));
    let d = &t.services[0].dests;
    assert_eq!(d.len(), 2);
    assert_eq!(
        (d[0].weight, d[1].weight, d[1].forward),
        (0, 1, Forward::Masq)
    );
}

#[test]
fn a_sorry_server_takes_over_from_live_servers_below_quorum() {
    let mut v = vs(
        "10.0.0.1",
        80,
        vec![real("10.1.0.1", 1), real("10.1.0.2", 1)],
    );
    v.quorum = 2;
    v.sorry_server = Some(cfg::SorryServer {
        ip: ip("10.9.9.9"),
        port: 80,
        method: cfg::ForwardingMethod::Dr,
        inhibit: true,
    });
    let mut c = config(vec![v], Mode::ActiveActive);
    let t = desired_tables(&c, &eval(&c, &[]));
    let weights: Vec<_> = t.services[0].dests.iter().map(|d| d.weight).collect();
    assert_eq!(
        weights,
        [1, 1, 0],
        "inhibited sorry server waits at weight 0"
    );
    let t = desired_tables(&c, &eval(&c, &["10.1.0.1"]));
    let weights: Vec<_> = t.services[0].dests.iter().map(|d| d.weight).collect();
    assert_eq!(weights, [0, 0, 1], "live server leaves the pool, kept at 0");
    // keepalived's mode deletes the live server instead (no inhibit_on_failure).
    c.director.mode = Some(Mode::TablesOnly);
    let t = desired_tables(&c, &eval(&c, &["10.1.0.1"]));
    let keys: Vec<_> = t.services[0].dests.iter().map(|d| d.key.addr).collect();
    assert_eq!(keys, [ip("10.9.9.9")]);
}

#[test]
fn a_vip_is_announced_while_one_of_its_services_holds_quorum() {
    let c = config(
        vec![
            vs("10.0.0.1", 80, vec![real("10.1.0.1", 1)]),
            vs("10.0.0.1", 443, vec![real("10.1.0.2", 1)]),
            vs("10.0.0.2", 80, vec![real("10.1.0.3", 1)]),
        ],
        Mode::ActiveActive,
    );
    assert_eq!(configured_vips(&c).len(), 2);
    let announced = announced_vips(
        &c,
        &eval(&c, &["10.1.0.1", "10.1.0.3"]),
        &Maintenance::default(),
    );
    assert_eq!(announced, BTreeSet::from([ip("10.0.0.1")]));
    let announced = announced_vips(
        &c,
        &eval(&c, &["10.1.0.1", "10.1.0.2", "10.1.0.3"]),
        &Maintenance::default(),
    );
    assert!(
        announced.is_empty(),
        "a director that can serve nothing withdraws"
    );
}

#[test]
fn groups_expand_to_sorted_services_and_their_vips() {
    let mut c = config(vec![], Mode::ActiveActive);
    c.virtual_server_groups.push(cfg::VirtualServerGroup {
        name: "web".into(),
        members: vec![
            cfg::GroupMember::Range {
                first: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
                last: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
                port: 80,
            },
            cfg::GroupMember::Fwmark {
                mark: 4,
                family: None,
            },
        ],
    });
    let mut v = vs("10.0.0.1", 80, vec![real("10.1.0.1", 1)]);
    v.key = cfg::ServiceKey::Group {
        name: "web".into(),
        protocol: cfg::Protocol::Tcp,
    };
    c.virtual_servers.push(v);
    let t = desired_tables(&c, &eval(&c, &[]));
    assert_eq!(t.services.len(), 4);
    assert_eq!(t.services[0].spec.key, skey("10.0.0.3", 80));
    assert_eq!(
        t.services[3].spec.key,
        ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 4
        }
    );
    assert_eq!(configured_vips(&c).len(), 3);
}

// ===== maintenance =====

use super::maintenance::{Drain, MaintenanceError, MaintenanceOp};

fn sock(s: &str) -> std::net::SocketAddr {
    s.parse().expect("socket address")
}

fn drain(service: &str, real: &str, port: Option<u16>) -> Drain {
    Drain {
        service: sock(service),
        real: ip(real),
        port,
    }
}

fn maintained(c: &Config, ops: &[MaintenanceOp]) -> Maintenance {
    let mut m = Maintenance::default();
    for op in ops {
        m.apply(c, *op).expect("maintenance op");
    }
    m
}

#[test]
fn a_drained_real_server_keeps_its_place_at_weight_zero_in_every_mode() {
    for mode in [Mode::ActiveActive, Mode::TablesOnly] {
        let c = config(
            vec![vs(
                "10.0.0.1",
                80,
                vec![real("10.1.0.1", 3), real("10.1.0.2", 5)],
            )],
            mode,
        );
        let m = maintained(
            &c,
            &[MaintenanceOp::Drain(drain("10.0.0.1:80", "10.1.0.2", None))],
        );
        let e = evaluate(&c, verdicts(&[]), &HashMap::new(), &m);
        assert!(e.services[0].reals[1].drained);
        assert!(
            e.services[0].reals[1].alive,
            "draining is not a health verdict"
        );
        assert_eq!(
            e.services[0].live_weight, 3,
            "a drained server adds no weight"
        );
        let t = desired_tables(&c, &e);
        let weights: Vec<(IpAddr, u32)> = t.services[0]
            .dests
            .iter()
            .map(|d| (d.key.addr, d.weight))
            .collect();
        assert_eq!(
            weights,
            vec![(ip("10.1.0.1"), 3), (ip("10.1.0.2"), 0)],
            "{mode:?}: kept, not removed, so established flows finish"
        );
    }
}

#[test]
fn draining_the_last_real_server_loses_the_quorum_and_withdraws() {
    let c = config(
        vec![vs("10.0.0.1", 80, vec![real("10.1.0.1", 1)])],
        Mode::ActiveActive,
    );
    let m = maintained(
        &c,
        &[MaintenanceOp::Drain(drain(
            "10.0.0.1:80",
            "10.1.0.1",
            Some(80),
        ))],
    );
    let e = evaluate(&c, verdicts(&[]), &HashMap::new(), &m);
    assert!(!e.services[0].quorum);
    assert!(announced_vips(&c, &e, &m).is_empty());
}

#[test]
fn a_withdrawn_vip_leaves_the_announcements_and_keeps_its_tables() {
    let c = config(
        vec![
            vs("10.0.0.1", 80, vec![real("10.1.0.1", 1)]),
            vs("10.0.0.2", 80, vec![real("10.1.0.2", 1)]),
        ],
        Mode::ActiveActive,
    );
    let none = Maintenance::default();
    let m = maintained(&c, &[MaintenanceOp::Withdraw(ip("10.0.0.1"))]);
    let e = eval(&c, &[]);
    assert_eq!(announced_vips(&c, &e, &m), BTreeSet::from([ip("10.0.0.2")]));
    let e_m = evaluate(&c, verdicts(&[]), &HashMap::new(), &m);
    assert_eq!(desired_tables(&c, &e_m), desired_tables(&c, &e));
    // Announce undoes it; repeating either is harmless.
    let mut m2 = m.clone();
    assert!(!m2
        .apply(&c, MaintenanceOp::Withdraw(ip("10.0.0.1")))
        .expect("again"));
    assert!(m2
        .apply(&c, MaintenanceOp::Announce(ip("10.0.0.1")))
        .expect("announce"));
    assert_eq!(m2, none);
}

#[test]
fn a_drained_director_withdraws_everything_and_keeps_its_tables() {
    let c = config(
        vec![
            vs("10.0.0.1", 80, vec![real("10.1.0.1", 1)]),
            vs("10.0.0.2", 80, vec![real("10.1.0.2", 1)]),
        ],
        Mode::ActiveActive,
    );
    let m = maintained(&c, &[MaintenanceOp::DrainDirector]);
    let e = evaluate(&c, verdicts(&[]), &HashMap::new(), &m);
    assert!(announced_vips(&c, &e, &m).is_empty());
    assert_eq!(desired_tables(&c, &e), desired_tables(&c, &eval(&c, &[])));
    let mut m = m;
    assert!(m
        .apply(&c, MaintenanceOp::UndrainDirector)
        .expect("undrain"));
    assert_eq!(announced_vips(&c, &e, &m).len(), 2);
}

#[test]
fn maintenance_of_what_the_configuration_lacks_is_refused() {
    let c = config(
        vec![vs("10.0.0.1", 80, vec![real("10.1.0.1", 1)])],
        Mode::ActiveActive,
    );
    let mut m = Maintenance::default();
    assert_eq!(
        m.apply(&c, MaintenanceOp::Withdraw(ip("10.0.0.9"))),
        Err(MaintenanceError::UnknownVip(ip("10.0.0.9")))
    );
    assert!(matches!(
        m.apply(
            &c,
            MaintenanceOp::Drain(drain("10.0.0.1:443", "10.1.0.1", None))
        ),
        Err(MaintenanceError::UnknownService(_))
    ));
    assert!(matches!(
        m.apply(
            &c,
            MaintenanceOp::Drain(drain("10.0.0.1:80", "10.1.0.1", Some(81)))
        ),
        Err(MaintenanceError::UnknownReal { .. })
    ));
    assert!(m.is_empty());
    // Only active-active mode announces; elsewhere a withdrawal would silently do nothing.
    let t = config(c.virtual_servers.clone(), Mode::TablesOnly);
    assert_eq!(
        m.apply(&t, MaintenanceOp::Withdraw(ip("10.0.0.1"))),
        Err(MaintenanceError::NotAnnouncing("tables-only"))
    );
    assert!(m.apply(&t, MaintenanceOp::DrainDirector).is_err());
    // Undoing always works, so an entry left by a removed service can be cleared.
    let mut stale = Maintenance::default();
    stale.drained.insert(drain("10.0.0.5:80", "10.1.0.1", None));
    assert!(stale
        .apply(
            &c,
            MaintenanceOp::Undrain(drain("10.0.0.5:80", "10.1.0.1", None))
        )
        .expect("undrain"));
    assert!(stale.is_empty());
}

#[test]
fn maintenance_state_round_trips_through_json() {
    let c = config(
        vec![vs("10.0.0.1", 80, vec![real("10.1.0.1", 1)])],
        Mode::ActiveActive,
    );
    let m = maintained(
        &c,
        &[
            MaintenanceOp::Withdraw(ip("10.0.0.1")),
            MaintenanceOp::Drain(drain("10.0.0.1:80", "10.1.0.1", Some(80))),
            MaintenanceOp::DrainDirector,
        ],
    );
    let text = serde_json::to_string(&m).expect("encode");
    assert_eq!(
        serde_json::from_str::<Maintenance>(&text).expect("decode"),
        m
    );
    // A file written by an older daemon with fewer fields still loads.
    assert_eq!(
        serde_json::from_str::<Maintenance>("{}").expect("decode"),
        Maintenance::default()
    );
}

#[test]
fn mh_gets_its_fallback_in_active_active_mode_and_while_a_server_is_drained() {
    let two = || {
        vec![vs(
            "10.0.0.1",
            80,
            vec![real("10.1.0.1", 1), real("10.1.0.2", 1)],
        )]
    };
    let flags = |mode: Mode, ops: &[MaintenanceOp], scheduler: cfg::Scheduler| {
        let mut services = two();
        services[0].scheduler = scheduler;
        let c = config(services, mode);
        let m = maintained(&c, ops);
        let e = evaluate(&c, verdicts(&[]), &HashMap::new(), &m);
        desired_tables(&c, &e).services[0].spec.flags
    };
    let drained = [MaintenanceOp::Drain(drain("10.0.0.1:80", "10.1.0.2", None))];
    let mh = cfg::Scheduler::Mh;
    assert_ne!(
        flags(Mode::ActiveActive, &[], mh) & svc_flags::SCHED1,
        0,
        "active-active keeps failed servers at weight 0: mh must walk past their slots"
    );
    assert_eq!(
        flags(Mode::TablesOnly, &[], mh) & svc_flags::SCHED1,
        0,
        "keepalived's modes program the flags as configured"
    );
    assert_ne!(
        flags(Mode::TablesOnly, &drained, mh) & svc_flags::SCHED1,
        0,
        "a drained server keeps its slots at weight 0 in every mode"
    );
    assert_eq!(
        flags(Mode::ActiveActive, &drained, cfg::Scheduler::Wlc) & svc_flags::SCHED1,
        0,
        "flag-1 means something else to other schedulers"
    );
}
