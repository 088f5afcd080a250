//! nftables backend, for hosts without IPVS and for containers: NAT through `dnat … map`,
//! DR through a netdev ingress `fwd`, both keyed by a fixed-seed jhash into a Maglev table
//! computed here, so every director sends a flow to the same real server.
//!
//! Ownership is simple: our objects live in our own tables, `inet director` and `netdev
//! director`; nothing outside them is read or changed. Inside them everything is ours.
//! Each reconcile is one `nft -f -` transaction (atomic); if the kernel rejects it, each
//! service is retried in a transaction of its own so that one bad object cannot block the
//! others, and the failures are reported per service.

pub mod apply;
pub mod render;
pub mod wire;

use std::net::IpAddr;
use std::time::Instant;

use serde_json::Value;

use super::tables::{Counters, DesiredTables, DestStats, Forward, ServiceStats, TableStats};
use super::{Dataplane, DataplaneError, Failure, OpKind, OpenOptions, ReconcileReport};
use render::{HostFacts, Rendered};

/// nftables backend errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NftError {
    #[error("cannot run nft: {0}")]
    Spawn(String),
    #[error("nft {args}: {stderr}")]
    Failed { args: String, stderr: String },
    #[error("unexpected nft output: {0}")]
    Parse(String),
}

/// The nftables backend.
pub struct NftBackend {
    /// What the last reconcile rendered (stats map element values back to real servers).
    last: Option<Rendered>,
    /// Our tables as we last read or wrote them. They are ours alone, so between reconciles
    /// they hold what we wrote: each reconcile checks the names of tables, chains and maps
    /// (cheap) and reads everything back (seconds for millions of map elements) only at the
    /// first reconcile, after a failed transaction, when the names differ, or when a rule
    /// must be replaced whose handle we never read.
    cache: Option<apply::Current>,
}

impl NftBackend {
    pub fn open(_options: &OpenOptions) -> Result<NftBackend, DataplaneError> {
        apply::nft(&["--version"], None)?;
        Ok(NftBackend {
            last: None,
            cache: None,
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
                facts.egress.insert(addr, dev);
            }
        }
        facts
    }

    /// Our tables: the cache if the kernel's names still match it, else read in full.
    /// The bool says whether the value came from the cache.
    fn read_current(&mut self) -> Result<(apply::Current, bool), NftError> {
        if let Some(cache) = self.cache.take() {
            let names = apply::read_names()?;
            let same = names.tables == cache.tables
                && names.chains == cache.chains
                && names.maps.keys().eq(cache.maps.keys());
            if same {
                return Ok((cache, true));
            }
            tracing::info!("nftables tables changed behind our back; reading them in full");
        }
        Ok((apply::read_current(false)?, false))
    }

    fn run_script(text: &str) -> Result<(), NftError> {
        apply::nft(&["-f", "-"], Some(text)).map(|_| ())
    }
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
        let want = render::render(desired, &Self::host_facts(desired));
        for u in &want.unsupported {
            report.failures.push(Failure {
                op: OpKind::AddService,
                object: u.key.to_string(),
                errno: None,
                message: u.reason.clone(),
            });
        }
        let current = match self.read_current() {
            Ok(c) => c,
            Err(e) => {
                report.failures.push(Failure {
                    op: OpKind::ReadKernel,
                    object: format!("nft table {}", render::TABLE),
                    errno: None,
                    message: e.to_string(),
                });
                report.elapsed = started.elapsed();
                return report;
            }
        };
        let (mut current, mut from_cache) = current;
        let (skeleton, services, cleanup) = loop {
            let skeleton = apply::skeleton(&want, &current);
            let services: Vec<(String, apply::Script)> = want
                .services
                .iter()
                .map(|s| (s.key.to_string(), apply::service_script(s, &want, &current)))
                .filter(|(_, script)| !script.is_empty())
                .collect();
            let cleanup = apply::cleanup_script(&want, &current);
            let unknown = cleanup.unknown_handle || services.iter().any(|(_, s)| s.unknown_handle);
            if !unknown || !from_cache {
                break (skeleton, services, cleanup);
            }
            match apply::read_current(false) {
                Ok(c) => current = c,
                Err(e) => {
                    report.failures.push(Failure {
                        op: OpKind::ReadKernel,
                        object: format!("nft table {}", render::TABLE),
                        errno: None,
                        message: e.to_string(),
                    });
                    report.elapsed = started.elapsed();
                    return report;
                }
            }
            from_cache = false;
        };
        report.ops_planned = skeleton.objects
            + services.iter().map(|(_, s)| s.objects).sum::<usize>()
            + cleanup.objects;
        if report.ops_planned == 0 {
            self.cache = Some(current);
            self.last = Some(want);
            report.elapsed = started.elapsed();
            return report;
        }
        let mut all = skeleton.text.clone();
        for (_, s) in &services {
            all.push_str(&s.text);
        }
        all.push_str(&cleanup.text);
        report.kernel_ops += 1;
        match Self::run_script(&all) {
            Ok(()) => {
                report.objects_changed = report.ops_planned;
                self.cache = Some(apply::expected_after(&want, &current));
            }
            Err(whole) => {
                // Unknown outcome per map: read them all back next time.
                self.cache = None;
                tracing::warn!(error = %whole, "nft transaction rejected; retrying per service");
                // One transaction per service, each with the (idempotent) skeleton in front.
                for (object, s) in services.iter().map(|(o, s)| (o.clone(), s)).chain(
                    std::iter::once(("cleanup of unwanted objects".to_owned(), &cleanup))
                        .filter(|(_, s)| !s.is_empty()),
                ) {
                    report.kernel_ops += 1;
                    match Self::run_script(&format!("{}{}", skeleton.text, s.text)) {
                        Ok(()) => report.objects_changed += s.objects,
                        Err(e) => report.failures.push(Failure {
                            op: OpKind::Transaction,
                            object,
                            errno: None,
                            message: e.to_string(),
                        }),
                    }
                }
            }
        }
        self.last = Some(want);
        report.elapsed = started.elapsed();
        report
    }

    fn stats(&mut self) -> Result<TableStats, DataplaneError> {
        let current = apply::read_current(true)?;
        let Some(want) = &self.last else {
            return Ok(TableStats::default());
        };
        let mut services = Vec::new();
        for svc in &want.services {
            let tag = render::comment_tag(&svc.key);
            let mut counters = Counters::default();
            for r in current.rules.iter().filter(|r| r.comment.starts_with(&tag)) {
                counters.packets_in += r.packets;
                counters.bytes_in += r.bytes;
            }
            // Per real server nft keeps no counters (one rule, one map lookup): real
            // servers are listed with their weights and zero counters.
            services.push(ServiceStats {
                key: svc.key,
                counters,
                dests: svc
                    .backends
                    .iter()
                    .map(|(_, key, weight)| DestStats {
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
