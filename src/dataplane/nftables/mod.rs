//! nftables backend, for hosts without IPVS and for containers: NAT through `dnat … map`,
//! DR through a netdev ingress `fwd`, both keyed by a fixed-seed jhash into a Maglev table
//! computed here, so every director sends a flow to the same real server.
//!
//! Ownership is simple: our objects live in our own tables, `inet director` and `netdev
//! director`; nothing outside them is read or changed. Inside them everything is ours.
//! Each reconcile is one netlink batch (one atomic kernel transaction, `wire.rs` builds it,
//! `netlink.rs` sends it); if the kernel rejects it, each service is retried in a batch of
//! its own so that one bad object cannot block the others, and the failures are reported
//! per service.

pub mod apply;
pub mod netlink;
pub mod render;
pub mod wire;

use std::net::IpAddr;
use std::time::Instant;

use serde_json::Value;

use super::tables::{Counters, DesiredTables, DestStats, Forward, ServiceStats, TableStats};
use super::{Dataplane, DataplaneError, Failure, OpKind, OpenOptions, ReconcileReport};
use netlink::{NetlinkError, NfSocket};
use render::{HostFacts, Rendered};

/// nftables backend errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NftError {
    #[error("nftables: {0}")]
    Netlink(#[from] NetlinkError),
}

/// The nftables backend.
pub struct NftBackend {
    socket: NfSocket,
    /// What the last reconcile rendered (stats map rules back to services).
    last: Option<Rendered>,
    /// Our tables as we last read or wrote them, and the ruleset generation they belong to.
    /// While the kernel's generation is unchanged nobody has committed anything, so the
    /// cache is exact and a reconcile reads nothing. When it changed (someone else's
    /// transaction, perhaps on a foreign table), the names and rules of our tables are
    /// read again (milliseconds) and map contents are taken from the cache for maps we
    /// wrote ourselves: editing elements inside our table behind our back is only noticed
    /// at the next full read (restart, failed transaction) — the table is ours, don't.
    cache: Option<(apply::Current, u32)>,
    memo: render::Memo,
}

impl NftBackend {
    pub fn open(_options: &OpenOptions) -> Result<NftBackend, DataplaneError> {
        let mut socket = NfSocket::open().map_err(NftError::from)?;
        // Proves the kernel speaks nf_tables before the first reconcile.
        socket.generation().map_err(NftError::from)?;
        Ok(NftBackend {
            socket,
            last: None,
            cache: None,
            memo: render::Memo::default(),
        })
    }

    /// Interfaces and routes the DR rules need (only looked up when there are DR services).
    fn host_facts(desired: &DesiredTables) -> HostFacts {
        let mut facts = HostFacts::default();
        let dr: Vec<IpAddr> = desired
            .services
            .iter()
            .flat_map(|s| s.dests.iter())
            .filter(|d| d.forward == Forward::Route)
            .map(|d| d.key.addr)
            .collect();
        if dr.is_empty() {
            return facts;
        }
        if let Ok(entries) = std::fs::read_dir("/sys/class/net") {
            let mut devs: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "lo")
                .collect();
            devs.sort();
            facts.ingress_devices = devs;
        }
        for addr in dr {
            if facts.egress.contains_key(&addr) {
                continue;
            }
            if let Some(dev) = route_device(&addr) {
                let index = std::fs::read_to_string(format!("/sys/class/net/{dev}/ifindex"))
                    .ok()
                    .and_then(|t| t.trim().parse().ok());
                if let Some(index) = index {
                    facts.ifindex.insert(dev.clone(), index);
                }
                facts.egress.insert(addr, dev);
            }
        }
        facts
    }

    /// Our tables as the kernel holds them, with the contents of every map `want` keeps,
    /// and the ruleset generation they were read at.
    fn read_current(&mut self, want: &Rendered) -> Result<(apply::Current, u32), NetlinkError> {
        let generation = self.socket.generation()?;
        let known = match self.cache.take() {
            Some((cache, seen)) if seen == generation => return Ok((cache, generation)),
            Some((cache, _)) => cache.maps,
            None => Default::default(),
        };
        let mut cur = apply::read_skeleton(&mut self.socket)?;
        for svc in &want.services {
            let id = (svc.family, svc.map.clone());
            if let Some(contents) = cur.maps.get_mut(&id) {
                *contents = match known.get(&id) {
                    Some(Some(c)) => Some(std::sync::Arc::clone(c)),
                    _ => Some(std::sync::Arc::new(apply::read_map(
                        &mut self.socket,
                        svc.family,
                        &svc.map,
                    )?)),
                };
            }
        }
        Ok((cur, generation))
    }

    /// Plans `services` (indexes into `want.services`) and, if `with_cleanup`, the removal of
    /// unwanted objects, into one batch.
    fn plan(
        &mut self,
        want: &Rendered,
        current: &apply::Current,
        services: impl Iterator<Item = usize>,
        with_cleanup: bool,
    ) -> (wire::Batch, apply::Planned) {
        let mut batch = self.socket.batch();
        let mut planned = apply::skeleton(&mut batch, want, current);
        let rules = apply::RuleIndex::new(current);
        for i in services {
            if let Some(svc) = want.services.get(i) {
                planned += apply::service(&mut batch, svc, want, current, &rules, i as u32 + 1);
            }
        }
        if with_cleanup {
            planned += apply::cleanup(&mut batch, want, current);
        }
        (batch, planned)
    }

    /// After a successful transaction: what our tables hold, with the handles of rules the
    /// kernel just created read back.
    fn after_commit(
        &mut self,
        want: &Rendered,
        before: &apply::Current,
        planned: apply::Planned,
    ) -> Result<apply::Current, NetlinkError> {
        let mut after = apply::expected_after(want, before);
        if planned.rules_written {
            after.rules.clear();
            for family in after.tables.clone() {
                after
                    .rules
                    .extend(apply::read_rules(&mut self.socket, family)?);
            }
        }
        Ok(after)
    }

    /// Retries each service in a transaction of its own, then the cleanup, after the whole
    /// transaction was rejected: one bad object must not block the others.
    fn apply_one_by_one(
        &mut self,
        want: &Rendered,
        current: &apply::Current,
        report: &mut ReconcileReport,
    ) {
        let parts = (0..want.services.len())
            .map(|i| (Some(i), want.services[i].key.to_string()))
            .chain(std::iter::once((
                None,
                "cleanup of unwanted objects".to_owned(),
            )));
        for (index, object) in parts {
            let (batch, planned) = self.plan(want, current, index.into_iter(), index.is_none());
            if batch.messages() == 0 {
                continue;
            }
            report.kernel_ops += 1;
            let failure = match self.socket.commit(batch) {
                Ok(Ok(_)) => {
                    report.objects_changed += planned.objects;
                    continue;
                }
                Ok(Err(rejected)) => Failure {
                    op: OpKind::Transaction,
                    object,
                    errno: rejected.errors.first().map(|(_, e)| *e),
                    message: describe(&rejected),
                },
                Err(e) => Failure {
                    op: OpKind::Transaction,
                    object,
                    errno: None,
                    message: e.to_string(),
                },
            };
            report.failures.push(failure);
        }
    }
}

/// "object: error; …" for each message the kernel refused.
fn describe(rejected: &netlink::Rejected) -> String {
    rejected
        .errors
        .iter()
        .map(|(object, errno)| format!("{object}: {}", std::io::Error::from_raw_os_error(*errno)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The interface `ip route get ADDR` would use.
fn route_device(addr: &IpAddr) -> Option<String> {
    let out = std::process::Command::new("ip")
        .args(["-j", "route", "get", &addr.to_string()])
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v.as_array()?
        .first()?
        .get("dev")?
        .as_str()
        .map(str::to_owned)
}

impl Dataplane for NftBackend {
    fn reconcile(&mut self, desired: &DesiredTables) -> ReconcileReport {
        let started = Instant::now();
        let mut report = ReconcileReport::default();
        let want = render::render_with(desired, &Self::host_facts(desired), &mut self.memo);
        for u in &want.unsupported {
            report.failures.push(Failure {
                op: OpKind::AddService,
                object: u.key.to_string(),
                errno: None,
                message: u.reason.clone(),
            });
        }
        let read_failure = |e: NetlinkError| Failure {
            op: OpKind::ReadKernel,
            object: format!("nft table {}", render::TABLE),
            errno: match e {
                NetlinkError::Kernel { errno, .. } => Some(errno),
                _ => None,
            },
            message: e.to_string(),
        };
        let (current, generation) = match self.read_current(&want) {
            Ok(c) => c,
            Err(e) => {
                report.failures.push(read_failure(e));
                report.elapsed = started.elapsed();
                return report;
            }
        };
        let (batch, planned) = self.plan(&want, &current, 0..want.services.len(), true);
        report.ops_planned = planned.objects;
        if batch.messages() == 0 {
            self.cache = Some((current, generation));
            self.last = Some(want);
            report.elapsed = started.elapsed();
            return report;
        }
        report.kernel_ops += 1;
        match self.socket.commit(batch) {
            Ok(Ok(generation)) => {
                report.objects_changed = planned.objects;
                match self.after_commit(&want, &current, planned) {
                    Ok(after) => self.cache = Some((after, generation)),
                    Err(e) => report.failures.push(read_failure(e)),
                }
            }
            Ok(Err(rejected)) => {
                tracing::warn!(errors = %describe(&rejected), "nftables transaction rejected; retrying per service");
                self.apply_one_by_one(&want, &current, &mut report);
            }
            Err(e) => {
                // Unknown outcome: read everything back next time.
                report.failures.push(Failure {
                    op: OpKind::Transaction,
                    object: format!("nft table {}", render::TABLE),
                    errno: None,
                    message: e.to_string(),
                });
            }
        }
        self.last = Some(want);
        report.elapsed = started.elapsed();
        report
    }

    /// Counters of every rule of our tables: one rule dump per table, no map elements
    /// (milliseconds for thousands of services).
    fn stats(&mut self) -> Result<TableStats, DataplaneError> {
        let Some(want) = &self.last else {
            return Ok(TableStats::default());
        };
        let mut rules = Vec::new();
        for family in [render::NftFamily::Inet, render::NftFamily::Netdev] {
            if want.needs(family) {
                rules.extend(apply::read_rules(&mut self.socket, family).map_err(NftError::from)?);
            }
        }
        let mut by_tag: std::collections::HashMap<&str, Counters> = Default::default();
        for r in &rules {
            let c = by_tag.entry(apply::tag_of(&r.comment)).or_default();
            c.packets_in += r.packets;
            c.bytes_in += r.bytes;
        }
        let mut services = Vec::new();
        for svc in &want.services {
            let tag = render::comment_tag(&svc.key);
            // Per real server nft keeps no counters (one rule, one map lookup): real
            // servers are listed with their weights and zero counters.
            services.push(ServiceStats {
                key: svc.key,
                counters: by_tag.get(tag.as_str()).copied().unwrap_or_default(),
                dests: svc
                    .backends
                    .iter()
                    .map(|(key, weight)| DestStats {
                        key: *key,
                        weight: *weight,
                        active_connections: 0,
                        inactive_connections: 0,
                        counters: Counters::default(),
                    })
                    .collect(),
            });
        }
        services.sort_by_key(|s| s.key);
        Ok(TableStats { services })
    }
}
