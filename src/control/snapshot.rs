//! The published snapshot: what `directorctl status`/`services` and the metrics endpoint
//! show, built by the control loop after each change and read by the socket and metrics
//! servers without asking the loop, so a scrape or a slow client never delays the reaction
//! to a failure — and a slow reconcile never delays a scrape. What changes too often to be
//! published (traffic counters, OSPF and VRRP packet counters) is read at scrape time from
//! its owner ([`Live`]), each with a time limit.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::dataplane::tables::{DestKey, ServiceKey, TableStats};
use crate::dataplane::DesiredTables;
use crate::health::probe::Outcome;
use crate::policy::groups;

use super::core::{describe, CheckStats, Core, DURATION_BUCKETS};
use super::inspect;
use super::metrics::{Family, Kind, Labels};
use super::views::{CheckView, RealHealthView, ServicesView, StatusView, VipView};
use crate::vrrp::{StatusReader as VrrpReader, VrrpStatus};

/// Everything the read-only requests need.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub status: StatusView,
    pub backend: String,
    pub desired: Arc<DesiredTables>,
    pub health: Arc<HashMap<(ServiceKey, DestKey), RealHealthView>>,
    pub checks: CheckStats,
    /// The OSPF speaker, when one runs.
    pub ospf: Option<OspfReader>,
    /// The VRRP task, when instances are configured.
    pub vrrp: Option<VrrpReader>,
}

/// Read-only access to the OSPF speaker's status (the handle itself could also steer it).
#[derive(Debug, Clone)]
pub struct OspfReader(ospf::Handle);

impl OspfReader {
    pub fn new(handle: ospf::Handle) -> Self {
        OspfReader(handle)
    }

    pub async fn status(&self) -> Result<ospf::Status, ospf::Error> {
        self.0.status().await
    }
}

/// What a scrape reads from the components themselves; `None` where one did not answer
/// in time (or does not run).
#[derive(Debug, Default)]
pub struct Live {
    pub tables: Option<LiveCounters>,
    pub ospf: Option<ospf::Status>,
    pub vrrp: Option<VrrpStatus>,
}

/// The dataplane's counters as last read in the background (`counters.rs`).
#[derive(Debug, Clone)]
pub struct LiveCounters {
    pub stats: Arc<TableStats>,
    /// Since the reading started.
    pub age: Duration,
    /// How long the reading took.
    pub took: Duration,
}

impl Snapshot {
    /// An empty snapshot, for the moment before the loop published its first one.
    pub fn starting(status: StatusView) -> Self {
        Snapshot {
            backend: status.dataplane.backend.clone(),
            status,
            desired: Arc::default(),
            health: Arc::default(),
            checks: CheckStats::default(),
            ospf: None,
            vrrp: None,
        }
    }

    /// `directorctl services`, with counters when given.
    pub fn services(&self, stats: Option<&TableStats>) -> ServicesView {
        inspect::services(&self.backend, &self.desired, &self.health, stats)
    }

    /// `directorctl services`: what the kernel holds, with the health of our real servers.
    pub fn listed(&self, listing: &crate::dataplane::listing::Listing) -> ServicesView {
        inspect::listed(&self.backend, listing, &self.health)
    }

    /// `directorctl services --diff`: the desired tables against the kernel's.
    pub fn diff(&self, kernel: &TableStats) -> super::views::TablesDiffView {
        super::views::TablesDiffView {
            backend: self.backend.clone(),
            differences: inspect::diff(&self.desired, kernel),
        }
    }

    /// Every number the daemon exposes, in the Prometheus text format.
    pub fn metrics(&self, live: &Live) -> String {
        let stats = live.tables.as_ref().map(|counters| &*counters.stats);
        let status = &self.status;
        let mut families = vec![
            Family::new(
                "director_info",
                Kind::Gauge,
                "Static facts about this director.",
            )
            .sample(
                vec![
                    ("version", status.version.clone()),
                    ("mode", status.mode.clone()),
                    ("dataplane", status.dataplane.backend.clone()),
                ],
                1.0,
            ),
            Family::new(
                "director_uptime_seconds",
                Kind::Gauge,
                "Seconds since the daemon started.",
            )
            .sample(vec![], status.uptime_seconds as f64),
            Family::new(
                "director_config_reloads_total",
                Kind::Counter,
                "Configuration reloads by outcome (a failed one changes nothing).",
            )
            .sample(
                vec![("result", "ok".into())],
                status.reloads.succeeded as f64,
            )
            .sample(
                vec![("result", "failed".into())],
                status.reloads.failed as f64,
            ),
            Family::new(
                "director_dataplane_last_kernel_operations",
                Kind::Gauge,
                "Kernel operations of the last dataplane reconcile.",
            )
            .sample(vec![], status.dataplane.last_operations as f64),
            Family::new(
                "director_dataplane_failing_objects",
                Kind::Gauge,
                "Objects the dataplane could not program (retried with back-off).",
            )
            .sample(vec![], status.dataplane.failures.len() as f64),
            Family::new(
                "director_dataplane_drift_repaired_total",
                Kind::Counter,
                "Kernel objects a periodic resync found changed behind director's back and put back.",
            )
            .sample(vec![], status.dataplane.drift_repaired as f64),
        ];
        if let Some(counters) = &live.tables {
            families.push(
                Family::new(
                    "director_dataplane_counters_age_seconds",
                    Kind::Gauge,
                    "Age of the real-server counters in this scrape: they are read in the background at most every 2 s (IPVS adds up to 2 s of its own).",
                )
                .sample(vec![], counters.age.as_secs_f64()),
            );
            families.push(
                Family::new(
                    "director_dataplane_counters_read_seconds",
                    Kind::Gauge,
                    "Time the last background read of the dataplane's counters took.",
                )
                .sample(vec![], counters.took.as_secs_f64()),
            );
        }
        families.push(
            Family::new(
                "director_config_load_duration_seconds",
                Kind::Gauge,
                "Time the last read of the configuration took (at start or reload).",
            )
            .sample(vec![], status.reloads.last_load_seconds),
        );
        let mut vips = Family::new(
            "director_vip_announced",
            Kind::Gauge,
            "1 when our own LSA in the OSPF database carries the VIP and an adjacency is Full.",
        );
        let mut reasons = Family::new(
            "director_vip_not_announced_reason",
            Kind::Gauge,
            "1 for the reason a VIP is not announced (one series per VIP not announced).",
        );
        for vip in &status.vips {
            let labels = vec![("vip", vip.address.clone())];
            let speaker_runs = self.ospf.is_some() || live.ospf.is_some();
            match announcement(vip, speaker_runs, live.ospf.as_ref()) {
                Ok(()) => vips.push(labels, 1.0),
                Err(reason) => {
                    vips.push(labels.clone(), 0.0);
                    reasons.push([labels, vec![("reason", reason.into())]].concat(), 1.0);
                }
            }
        }
        families.push(vips);
        families.push(reasons);
        // A VIP the operator withdrew reads 0 above; this says it is on purpose, so alerts
        // can leave it out.
        let mut maintained = Family::new(
            "director_vip_maintenance",
            Kind::Gauge,
            "1 when the operator withdrew the VIP (directorctl withdraw or drain --all).",
        );
        for vip in &status.vips {
            maintained = maintained.sample(
                vec![("vip", vip.address.clone())],
                if vip.state == "maintenance" { 1.0 } else { 0.0 },
            );
        }
        families.push(maintained);
        families.push(
            Family::new(
                "director_drained",
                Kind::Gauge,
                "1 while the whole director is drained (directorctl drain --all).",
            )
            .sample(
                vec![],
                if status.maintenance.director_drained {
                    1.0
                } else {
                    0.0
                },
            ),
        );
        if let Some(ospf) = &status.ospf {
            families.push(
                Family::new(
                    "director_ospf_neighbors",
                    Kind::Gauge,
                    "OSPF neighbors, all and in state Full.",
                )
                .sample(vec![("state", "full".into())], ospf.neighbors_full as f64)
                .sample(vec![("state", "any".into())], ospf.neighbors_total as f64),
            );
        }
        if !status.bfd.is_empty() {
            let mut up = Family::new(
                "director_bfd_session_up",
                Kind::Gauge,
                "1 when the BFD session to an OSPF neighbor is Up.",
            );
            let mut transitions = Family::new(
                "director_bfd_session_transitions_total",
                Kind::Counter,
                "State changes of each BFD session since it started.",
            );
            for s in &status.bfd {
                let labels = vec![("peer", s.peer.clone()), ("interface", s.interface.clone())];
                up = up.sample(labels.clone(), if s.state == "Up" { 1.0 } else { 0.0 });
                transitions = transitions.sample(labels, s.transitions as f64);
            }
            families.push(up);
            families.push(transitions);
        }
        let services = self.services(stats);
        let mut weight = Family::new(
            "director_real_server_weight",
            Kind::Gauge,
            "Programmed weight of each real server (0 when drained or down).",
        );
        let mut up = Family::new(
            "director_real_server_up",
            Kind::Gauge,
            "1 while every health check of the real server passes.",
        );
        let mut connections = Family::new(
            "director_real_server_connections_total",
            Kind::Counter,
            "Connections scheduled to each real server by this director.",
        );
        let mut bytes = Family::new(
            "director_real_server_bytes_total",
            Kind::Counter,
            "Bytes forwarded to and from each real server by this director.",
        );
        for service in &services.services {
            let name = format!("{} {}", service.protocol, service.address);
            for real in &service.reals {
                let labels = vec![("service", name.clone()), ("real", real.address.clone())];
                weight = weight.sample(labels.clone(), f64::from(real.weight));
                if let Some(health) = &real.health {
                    up = up.sample(labels.clone(), if health.up { 1.0 } else { 0.0 });
                }
                if let Some(counters) = &real.stats {
                    connections = connections.sample(labels.clone(), counters.connections as f64);
                    bytes = bytes.sample(
                        [labels.clone(), vec![("direction", "in".into())]].concat(),
                        counters.bytes_in as f64,
                    );
                    bytes = bytes.sample(
                        [labels, vec![("direction", "out".into())]].concat(),
                        counters.bytes_out as f64,
                    );
                }
            }
        }
        families.extend([weight, up, connections, bytes]);

        let mut results = Family::new(
            "director_health_checks_total",
            Kind::Counter,
            "Finished health-check probes by checker kind and result.",
        );
        let mut counted: Vec<_> = self.checks.results.iter().collect();
        counted.sort();
        for ((kind, result), count) in counted {
            results = results.sample(
                vec![("checker", (*kind).into()), ("result", (*result).into())],
                *count as f64,
            );
        }
        families.push(results);
        let mut durations = Family::new(
            "director_health_check_duration_seconds",
            Kind::Histogram,
            "Duration of health-check probes by checker kind.",
        );
        let mut kinds: Vec<_> = self.checks.durations.iter().collect();
        kinds.sort_by_key(|(kind, _)| **kind);
        for (kind, (buckets, count, sum)) in kinds {
            durations = durations.histogram(
                vec![("checker", (*kind).into())],
                &DURATION_BUCKETS,
                buckets,
                *count,
                *sum,
            );
        }
        families.push(durations);
        if let Some(ospf) = &live.ospf {
            families.extend(ospf_families(ospf));
        }
        if let Some(vrrp) = &live.vrrp {
            families.extend(vrrp_families(vrrp));
        }
        super::metrics::render(families)
    }
}

/// Whether a VIP is announced — our own LSA in the database carries it and an adjacency
/// is Full — or why not (the `reason` label of `director_vip_not_announced_reason`).
pub fn announcement(
    vip: &VipView,
    speaker_runs: bool,
    ospf: Option<&ospf::Status>,
) -> Result<(), &'static str> {
    match vip.state.as_str() {
        "local" => return Err("no_ospf"),
        "maintenance" => return Err("maintenance"),
        "withdrawn" => return Err("unhealthy"),
        "awaiting_first_checks" => return Err("awaiting_first_checks"),
        _ => {}
    }
    if !speaker_runs {
        return Err("speaker_not_started");
    }
    let Some(ospf) = ospf else {
        return Err("speaker_not_answering");
    };
    let Ok(addr) = vip.address.parse::<std::net::Ipv4Addr>() else {
        return Err("not_ipv4");
    };
    let in_lsdb = ospf
        .in_lsdb
        .iter()
        .any(|p| p.ip() == addr && p.prefix() == 32);
    let full = ospf
        .interfaces
        .iter()
        .flat_map(|i| &i.neighbors)
        .any(|n| n.state == ospf::neighbor::nsm::State::Full);
    match (in_lsdb, full) {
        (true, true) => Ok(()),
        (false, _) if !ospf.announced.iter().any(|p| p.ip() == addr) => Err("pending"),
        (false, _) => Err("not_in_lsdb"),
        (true, false) => Err("no_full_adjacency"),
    }
}

const NSM_STATES: [ospf::neighbor::nsm::State; 7] = {
    use ospf::neighbor::nsm::State as S;
    [
        S::Down,
        S::Init,
        S::TwoWay,
        S::ExStart,
        S::Exchange,
        S::Loading,
        S::Full,
    ]
};

/// The speaker's neighbors, adjacency changes, LSA and packet counters.
fn ospf_families(status: &ospf::Status) -> Vec<Family> {
    let mut state = Family::new(
        "director_ospf_neighbor_state",
        Kind::Gauge,
        "1 for the state each OSPF neighbor is in, 0 for the others.",
    );
    for iface in &status.interfaces {
        for nbr in &iface.neighbors {
            for s in NSM_STATES {
                state.push(
                    vec![
                        ("interface", iface.name.clone()),
                        ("neighbor", nbr.router_id.to_string()),
                        ("state", format!("{s:?}")),
                    ],
                    if nbr.state == s { 1.0 } else { 0.0 },
                );
            }
        }
    }
    let c = &status.counters;
    let count = |name, help, value: u64| {
        Family::new(name, Kind::Counter, help).sample(vec![], value as f64)
    };
    let by =
        |name, help, label: &'static str, map: &std::collections::BTreeMap<&'static str, u64>| {
            let mut family = Family::new(name, Kind::Counter, help);
            for (key, value) in map {
                family.push(vec![(label, (*key).to_string())], *value as f64);
            }
            family
        };
    vec![
        state,
        count(
            "director_ospf_adjacency_changes_total",
            "OSPF neighbor transitions into or out of Full.",
            c.adjacency_changes,
        ),
        count(
            "director_ospf_lsas_received_total",
            "LSAs received in Link State Updates.",
            c.lsas_received,
        ),
        count(
            "director_ospf_lsas_sent_total",
            "LSAs sent in Link State Updates (retransmissions included).",
            c.lsas_sent,
        ),
        count(
            "director_ospf_lsas_retransmitted_total",
            "LSAs sent again because a neighbor did not acknowledge them in time.",
            c.lsas_retransmitted,
        ),
        by(
            "director_ospf_packets_received_total",
            "OSPF packets received, by type.",
            "type",
            &c.rx,
        ),
        by(
            "director_ospf_packets_sent_total",
            "OSPF packets sent, by type.",
            "type",
            &c.tx,
        ),
        by(
            "director_ospf_packets_dropped_total",
            "OSPF packets dropped, by reason.",
            "reason",
            &c.drops,
        ),
        count(
            "director_ospf_send_errors_total",
            "OSPF packets the kernel refused to send.",
            c.tx_errors,
        ),
    ]
}

const VRRP_STATES: [crate::vrrp::fsm::State; 4] = {
    use crate::vrrp::fsm::State as S;
    [S::Initialize, S::Backup, S::Master, S::Fault]
};

/// Per-instance VRRP state and counters; the errors carry the names of the RFC 6527
/// VRRPv3 MIB counters (see docs/operations.md for the table).
fn vrrp_families(status: &VrrpStatus) -> Vec<Family> {
    let mut state = Family::new(
        "director_vrrp_state",
        Kind::Gauge,
        "1 for the state each VRRP instance is in, 0 for the others.",
    );
    let mut transitions = Family::new(
        "director_vrrp_transitions_total",
        Kind::Counter,
        "State changes of each VRRP instance.",
    );
    let mut to_master = Family::new(
        "director_vrrp_master_transitions_total",
        Kind::Counter,
        "Transitions to Master (vrrpv3StatisticsMasterTransitions).",
    );
    let mut received = Family::new(
        "director_vrrp_adverts_received_total",
        Kind::Counter,
        "Valid advertisements received (vrrpv3StatisticsRcvdAdvertisements).",
    );
    let mut sent = Family::new(
        "director_vrrp_adverts_sent_total",
        Kind::Counter,
        "Advertisements sent.",
    );
    let mut priority_zero = Family::new(
        "director_vrrp_priority_zero_packets_total",
        Kind::Counter,
        "Priority 0 advertisements (vrrpv3StatisticsRcvdPriZeroPackets, SentPriZeroPackets).",
    );
    let mut errors = Family::new(
        "director_vrrp_errors_total",
        Kind::Counter,
        "Advertisements dropped, by the MIB counter that counts them.",
    );
    let mut send_errors = Family::new(
        "director_vrrp_send_errors_total",
        Kind::Counter,
        "Advertisements the kernel refused to send.",
    );
    for i in &status.instances {
        let labels: Labels = vec![("instance", i.name.clone())];
        for s in VRRP_STATES {
            state.push(
                [
                    labels.clone(),
                    vec![("state", s.keepalived_name().to_lowercase())],
                ]
                .concat(),
                if i.state == s { 1.0 } else { 0.0 },
            );
        }
        let c = &i.counters;
        transitions.push(labels.clone(), c.transitions as f64);
        to_master.push(labels.clone(), c.became_master as f64);
        received.push(labels.clone(), c.adverts_rx as f64);
        sent.push(labels.clone(), c.adverts_tx as f64);
        for (direction, value) in [
            ("received", c.priority_zero_rx),
            ("sent", c.priority_zero_tx),
        ] {
            priority_zero.push(
                [labels.clone(), vec![("direction", direction.into())]].concat(),
                value as f64,
            );
        }
        for (error, value) in [
            ("adv_interval_errors", c.interval_errors),
            ("ip_ttl_errors", c.ttl_errors),
            ("rcvd_invalid_type_packets", c.invalid_type_errors),
            ("address_list_errors", c.address_list_errors),
            ("packet_length_errors", c.packet_length_errors),
            ("checksum_errors", c.checksum_errors),
            ("version_errors", c.version_errors),
            ("auth_failures", c.auth_errors),
            ("unknown_peer_errors", c.unknown_peer_errors),
        ] {
            errors.push(
                [labels.clone(), vec![("error", error.into())]].concat(),
                value as f64,
            );
        }
        send_errors.push(labels, c.send_errors as f64);
    }
    let router = Family::new(
        "director_vrrp_router_errors_total",
        Kind::Counter,
        "Advertisements no instance could take, by MIB counter (vrrpv3RouterVrIdErrors…).",
    )
    .sample(
        vec![("error", "vr_id_errors".into())],
        status.global.vrid_errors as f64,
    )
    .sample(
        vec![("error", "packet_length_errors".into())],
        status.global.packet_length_errors as f64,
    );
    vec![
        state,
        transitions,
        to_master,
        received,
        sent,
        priority_zero,
        errors,
        send_errors,
        router,
    ]
}

/// Each real server's health as the views show it, keyed like the tables.
pub fn health_views(
    core: &Core,
    now: Instant,
    wall: SystemTime,
    started: Instant,
) -> HashMap<(ServiceKey, DestKey), RealHealthView> {
    let unix = |at: Instant| {
        let ago = now.saturating_duration_since(at);
        wall.checked_sub(ago)
            .unwrap_or(wall)
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs()
    };
    let config = core.config();
    let mut views = HashMap::new();
    for (vs, status) in config
        .virtual_servers
        .iter()
        .zip(&core.evaluation().services)
    {
        let keys = groups::service_keys(config, vs);
        for (rs, real) in vs.real_servers.iter().zip(&status.reals) {
            let mut since = started;
            let checks = rs
                .checkers
                .iter()
                .map(|checker| {
                    let record = core.record(checker);
                    if let Some(record) = record {
                        since = since.max(record.since);
                    }
                    let last = record.and_then(|r| r.last.as_ref());
                    CheckView {
                        checker: describe(checker),
                        up: record.is_none_or(|r| r.verdict.up),
                        last_result: match last {
                            None => "pending",
                            Some(l) if l.retrying => "retrying",
                            Some(l) if matches!(l.outcome, Outcome::Down(_)) => "failure",
                            Some(_) => "success",
                        }
                        .into(),
                        reason: last.and_then(|l| match &l.outcome {
                            Outcome::Down(why) => Some(why.clone()),
                            _ => None,
                        }),
                        latency_ms: last.map(|l| l.latency.as_secs_f64() * 1000.0),
                        checked_unix: last.map(|l| unix(l.at)),
                    }
                })
                .collect();
            let view = RealHealthView {
                up: real.alive,
                drained: real.drained,
                since_unix: unix(since),
                checks,
            };
            let dest = DestKey {
                addr: rs.ip,
                port: rs.port,
            };
            for key in &keys {
                views.insert((*key, dest), view.clone());
            }
        }
    }
    views
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::views::{MaintenanceView, VipView};

    #[test]
    fn real_server_counters_carry_their_keys_and_age() {
        use crate::dataplane::tables::{
            Counters, DestSpec, DestStats, FlowHash, Forward, Protocol, Service, ServiceSpec,
            ServiceStats,
        };
        let service = ServiceKey::Addr {
            addr: "10.0.0.1".parse().expect("addr"),
            port: 80,
            protocol: Protocol::Tcp,
        };
        let real = |last: u8| DestKey {
            addr: format!("10.1.0.{last}").parse().expect("addr"),
            port: 80,
        };
        let mut snapshot = Snapshot::starting(StatusView::default());
        snapshot.desired = Arc::new(DesiredTables {
            services: vec![Service {
                spec: ServiceSpec {
                    key: service,
                    scheduler: "mh".into(),
                    flags: 0,
                    timeout: 0,
                    netmask: 32,
                },
                dests: [2, 3]
                    .map(|last| DestSpec {
                        key: real(last),
                        forward: Forward::Route,
                        weight: 1,
                        upper_threshold: 0,
                        lower_threshold: 0,
                    })
                    .to_vec(),
                flow_hash: FlowHash::SourceAddr,
                maglev_size: 101,
            }],
            ..DesiredTables::default()
        });
        // Read back newest first, as the kernel lists them.
        let counted = |last: u8, connections: u64| DestStats {
            key: real(last),
            weight: 1,
            active_connections: 0,
            inactive_connections: 0,
            counters: Counters {
                connections,
                ..Counters::default()
            },
        };
        let live = Live {
            tables: Some(LiveCounters {
                stats: Arc::new(TableStats {
                    services: vec![ServiceStats {
                        key: service,
                        counters: Counters::default(),
                        dests: vec![counted(3, 7), counted(2, 5)],
                    }],
                }),
                age: Duration::from_millis(1500),
                took: Duration::from_millis(250),
            }),
            ..Live::default()
        };
        let text = snapshot.metrics(&live);
        for line in [
            "director_real_server_connections_total{service=\"TCP 10.0.0.1:80\",real=\"10.1.0.2:80\"} 5\n",
            "director_real_server_connections_total{service=\"TCP 10.0.0.1:80\",real=\"10.1.0.3:80\"} 7\n",
            "director_dataplane_counters_age_seconds 1.5\n",
            "director_dataplane_counters_read_seconds 0.25\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        let without = snapshot.metrics(&Live::default());
        assert!(!without.contains("director_dataplane_counters_age_seconds"));
        assert!(!without.contains("director_real_server_connections_total{"));
    }

    #[test]
    fn maintenance_shows_in_the_metrics() {
        let status = StatusView {
            vips: vec![
                VipView {
                    address: "10.0.0.1".into(),
                    state: "maintenance".into(),
                },
                VipView {
                    address: "10.0.0.2".into(),
                    state: "announced".into(),
                },
            ],
            maintenance: MaintenanceView {
                director_drained: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let text = Snapshot::starting(status).metrics(&Live::default());
        assert!(
            text.contains("director_vip_maintenance{vip=\"10.0.0.1\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("director_vip_maintenance{vip=\"10.0.0.2\"} 0\n"),
            "{text}"
        );
        // Announced as far as the loop knows, but no speaker answered: not counted as such.
        assert!(
            text.contains("director_vip_announced{vip=\"10.0.0.2\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "director_vip_not_announced_reason{vip=\"10.0.0.1\",reason=\"maintenance\"} 1\n"
            ),
            "{text}"
        );
        assert!(text.contains("\ndirector_drained 1\n"), "{text}");
    }

    fn ospf_status(neighbor: ospf::neighbor::nsm::State, in_lsdb: &[&str]) -> ospf::Status {
        let prefix = |p: &str| p.parse::<ospf::Ipv4Network>().expect("prefix");
        let mut counters = ospf::Counters {
            adjacency_changes: 3,
            lsas_received: 7,
            lsas_sent: 5,
            lsas_retransmitted: 1,
            ..Default::default()
        };
        counters.drops.insert("bad_checksum", 2);
        counters.rx.insert("hello", 40);
        ospf::Status {
            router_id: "10.0.0.21".parse().expect("ip"),
            stub_metric: 0,
            vip_encoding: ospf::VipEncoding::Auto,
            announced: [prefix("10.0.0.1/32"), prefix("10.0.0.2/32")].into(),
            metrics: Default::default(),
            interfaces: vec![ospf::InterfaceStatus {
                name: "eth0".into(),
                area: "0.0.0.0".parse().expect("ip"),
                network_type: ospf::NetworkType::Broadcast,
                stub_area: false,
                passive: false,
                state: ospf::interface::ism::State::DrOther,
                address: None,
                mtu: 1500,
                dr: "10.0.0.1".parse().expect("ip"),
                bdr: "0.0.0.0".parse().expect("ip"),
                neighbors: vec![ospf::NeighborStatus {
                    router_id: "10.0.0.1".parse().expect("ip"),
                    address: "10.0.0.1".parse().expect("ip"),
                    state: neighbor,
                    priority: 1,
                    dr: "10.0.0.1".parse().expect("ip"),
                    bdr: "0.0.0.0".parse().expect("ip"),
                    ls_request: 0,
                    ls_retransmit: 0,
                }],
            }],
            areas: Vec::new(),
            as_external_lsas: 0,
            counters,
            shutting_down: false,
            in_lsdb: in_lsdb.iter().map(|p| prefix(p)).collect(),
        }
    }

    fn vip(address: &str, state: &str) -> VipView {
        VipView {
            address: address.into(),
            state: state.into(),
        }
    }

    #[test]
    fn a_vip_is_announced_only_when_our_lsa_carries_it_over_a_full_adjacency() {
        use ospf::neighbor::nsm::State as N;
        let full = ospf_status(N::Full, &["10.0.0.1/32"]);
        assert_eq!(
            announcement(&vip("10.0.0.1", "announced"), true, Some(&full)),
            Ok(())
        );
        assert_eq!(
            announcement(&vip("10.0.0.2", "announced"), true, Some(&full)),
            Err("not_in_lsdb")
        );
        assert_eq!(
            announcement(&vip("10.0.0.3", "pending"), true, Some(&full)),
            Err("pending")
        );
        let exchanging = ospf_status(N::Exchange, &["10.0.0.1/32"]);
        assert_eq!(
            announcement(&vip("10.0.0.1", "pending"), true, Some(&exchanging)),
            Err("no_full_adjacency")
        );
        assert_eq!(
            announcement(&vip("10.0.0.1", "announced"), true, None),
            Err("speaker_not_answering")
        );
        assert_eq!(
            announcement(&vip("10.0.0.1", "pending"), false, None),
            Err("speaker_not_started")
        );
        assert_eq!(
            announcement(&vip("10.0.0.1", "withdrawn"), true, Some(&full)),
            Err("unhealthy")
        );
        assert_eq!(
            announcement(&vip("10.0.0.1", "awaiting_first_checks"), true, Some(&full)),
            Err("awaiting_first_checks")
        );
        assert_eq!(
            announcement(&vip("10.0.0.1", "local"), false, None),
            Err("no_ospf")
        );
    }

    #[test]
    fn ospf_and_vrrp_counters_become_metrics() {
        use crate::vrrp::instance::Counters as VrrpCounters;
        let status = StatusView {
            vips: vec![vip("10.0.0.1", "announced")],
            ..Default::default()
        };
        let vrrp = VrrpStatus {
            instances: vec![crate::vrrp::InstanceStatus {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                version: 3,
                family: "inet",
                state: crate::vrrp::fsm::State::Master,
                fault: None,
                base_priority: 100,
                priority: 100,
                master_addr: None,
                advert_interval_ms: 1000,
                master_down_interval_ms: 3610,
                virtual_addresses: Vec::new(),
                sync_group: None,
                last_reason: None,
                seconds_in_state: None,
                counters: VrrpCounters {
                    transitions: 2,
                    became_master: 1,
                    adverts_tx: 9,
                    ttl_errors: 4,
                    ..Default::default()
                },
            }],
            global: crate::vrrp::GlobalCounters {
                vrid_errors: 6,
                packet_length_errors: 0,
            },
        };
        let live = Live {
            tables: None,
            ospf: Some(ospf_status(
                ospf::neighbor::nsm::State::Full,
                &["10.0.0.1/32"],
            )),
            vrrp: Some(vrrp),
        };
        let text = Snapshot::starting(status).metrics(&live);
        for line in [
            "director_vip_announced{vip=\"10.0.0.1\"} 1\n",
            "director_ospf_neighbor_state{interface=\"eth0\",neighbor=\"10.0.0.1\",state=\"Full\"} 1\n",
            "director_ospf_neighbor_state{interface=\"eth0\",neighbor=\"10.0.0.1\",state=\"Down\"} 0\n",
            "# TYPE director_ospf_adjacency_changes_total counter\ndirector_ospf_adjacency_changes_total 3\n",
            "director_ospf_lsas_received_total 7\n",
            "director_ospf_lsas_sent_total 5\n",
            "director_ospf_lsas_retransmitted_total 1\n",
            "director_ospf_packets_dropped_total{reason=\"bad_checksum\"} 2\n",
            "director_ospf_packets_received_total{type=\"hello\"} 40\n",
            "director_vrrp_state{instance=\"VI_1\",state=\"master\"} 1\n",
            "director_vrrp_state{instance=\"VI_1\",state=\"backup\"} 0\n",
            "director_vrrp_transitions_total{instance=\"VI_1\"} 2\n",
            "director_vrrp_master_transitions_total{instance=\"VI_1\"} 1\n",
            "director_vrrp_adverts_sent_total{instance=\"VI_1\"} 9\n",
            "director_vrrp_errors_total{instance=\"VI_1\",error=\"ip_ttl_errors\"} 4\n",
            "director_vrrp_router_errors_total{error=\"vr_id_errors\"} 6\n",
            "director_config_load_duration_seconds 0\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}

#[cfg(test)]
mod bfd_metrics_tests {
    use super::*;
    use crate::control::views::BfdSessionView;

    #[test]
    fn bfd_sessions_become_metrics() {
        let status = StatusView {
            bfd: vec![BfdSessionView {
                peer: "10.99.0.1".into(),
                interface: "eth0".into(),
                state: "Up".into(),
                transitions: 3,
                last_down_reason: Some("control_detection_time_expired".into()),
            }],
            ..StatusView::default()
        };
        let text = Snapshot::starting(status).metrics(&Live::default());
        assert!(
            text.contains("director_bfd_session_up{peer=\"10.99.0.1\",interface=\"eth0\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "director_bfd_session_transitions_total{peer=\"10.99.0.1\",interface=\"eth0\"} 3"
            ),
            "{text}"
        );
        let none = Snapshot::starting(StatusView::default()).metrics(&Live::default());
        assert!(!none.contains("director_bfd"), "no BFD, no BFD metrics");
    }
}
