//! The published snapshot: what `directorctl status`/`services` and the metrics endpoint
//! show, built by the control loop after each change and read by the socket and metrics
//! servers without asking the loop, so a scrape or a slow client never delays the reaction
//! to a failure — and a slow reconcile never delays a scrape.

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
use super::metrics::{Family, Kind};
use super::views::{CheckView, RealHealthView, ServicesView, StatusView};

/// Everything the read-only requests need.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub status: StatusView,
    pub backend: String,
    pub desired: Arc<DesiredTables>,
    pub health: Arc<HashMap<(ServiceKey, DestKey), RealHealthView>>,
    pub checks: CheckStats,
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
        }
    }

    /// `directorctl services`, with counters when given.
    pub fn services(&self, stats: Option<&TableStats>) -> ServicesView {
        inspect::services(&self.backend, &self.desired, &self.health, stats)
    }

    /// `directorctl services --diff`: the desired tables against the kernel's.
    pub fn diff(&self, kernel: &TableStats) -> super::views::TablesDiffView {
        super::views::TablesDiffView {
            backend: self.backend.clone(),
            differences: inspect::diff(&self.desired, kernel),
        }
    }

    /// Every number the daemon exposes, in the Prometheus text format.
    pub fn metrics(&self, stats: Option<&TableStats>) -> String {
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
        let mut vips = Family::new(
            "director_vip_announced",
            Kind::Gauge,
            "1 when the VIP is in this director's LSAs and at least one adjacency is Full.",
        );
        for vip in &status.vips {
            vips = vips.sample(
                vec![("vip", vip.address.clone())],
                if vip.state == "announced" { 1.0 } else { 0.0 },
            );
        }
        families.push(vips);
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
        super::metrics::render(&families)
    }
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
        let text = Snapshot::starting(status).metrics(None);
        assert!(
            text.contains("director_vip_maintenance{vip=\"10.0.0.1\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("director_vip_maintenance{vip=\"10.0.0.2\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("director_vip_announced{vip=\"10.0.0.2\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("\ndirector_drained 1\n"), "{text}");
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
        let text = Snapshot::starting(status).metrics(None);
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
        let none = Snapshot::starting(StatusView::default()).metrics(None);
        assert!(!none.contains("director_bfd"), "no BFD, no BFD metrics");
    }
}
