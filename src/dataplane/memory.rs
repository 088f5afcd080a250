//! In-memory backend: a model of the kernel's IPVS tables (services, real servers in
//! insertion order, timeouts, sync daemons) for unit tests and `dataplane none`.
//!
//! It behaves like the kernel where tests depend on it: adding an existing object fails
//! with EEXIST, touching a missing one with ESRCH/ENOENT, and nothing is ever flushed.
//! Failures can be injected per object to exercise the keep-going path.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::{self, Apply, Op};
use super::tables::{
    DesiredTables, KernelService, KernelTables, ServiceKey, ServiceStats, TableStats, Timeouts,
};
use super::{Dataplane, DataplaneError, ReconcileReport};

/// The in-memory tables plus the ownership record a real backend keeps in its state file.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    tables: KernelTables,
    owned: BTreeSet<ServiceKey>,
    /// Objects (as `Op::object()` strings) whose next op fails with this errno.
    inject: BTreeMap<String, i32>,
    /// Every op applied, in order (tests assert on it).
    pub log: Vec<Op>,
}

impl MemoryBackend {
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }

    /// Starts over existing tables (what another program or a previous run left), with the
    /// ownership record a previous run of ours left.
    pub fn with_state(tables: KernelTables, owned: BTreeSet<ServiceKey>) -> MemoryBackend {
        MemoryBackend {
            tables,
            owned,
            ..Default::default()
        }
    }

    pub fn tables(&self) -> &KernelTables {
        &self.tables
    }

    /// Mutable access, to simulate another program changing the kernel.
    pub fn tables_mut(&mut self) -> &mut KernelTables {
        &mut self.tables
    }

    pub fn owned(&self) -> &BTreeSet<ServiceKey> {
        &self.owned
    }

    /// Makes ops on `object` fail with `errno` until cleared.
    pub fn inject_failure(&mut self, object: &str, errno: i32) {
        self.inject.insert(object.to_owned(), errno);
    }

    pub fn clear_failures(&mut self) {
        self.inject.clear();
    }
}

impl Apply for MemoryBackend {
    fn apply(&mut self, op: &Op) -> Result<(), (Option<i32>, String)> {
        if let Some(errno) = self.inject.get(&op.object()) {
            return Err((Some(*errno), "injected failure".to_owned()));
        }
        apply_op(&mut self.tables, op)?;
        match op {
            Op::AddService(s) => {
                self.owned.insert(s.key);
            }
            Op::DelService(k) => {
                self.owned.remove(k);
            }
            _ => {}
        }
        self.log.push(op.clone());
        Ok(())
    }
}

/// Applies `op` to a model of the kernel's tables the way the kernel would, failing where
/// the kernel would fail (EEXIST, ESRCH, ENOENT). The IPVS backend keeps its view of the
/// kernel up to date with this after each op the kernel accepted.
pub fn apply_op(t: &mut KernelTables, op: &Op) -> Result<(), (Option<i32>, String)> {
    let missing_service = || (Some(libc::ESRCH), "no such service".to_owned());
    match op {
        Op::AddService(spec) => {
            if t.services.contains_key(&spec.key) {
                return Err((Some(libc::EEXIST), "service exists".to_owned()));
            }
            t.services.insert(
                spec.key,
                KernelService {
                    spec: spec.clone(),
                    dests: Vec::new(),
                },
            );
        }
        Op::EditService(spec) => {
            let svc = t.services.get_mut(&spec.key).ok_or_else(missing_service)?;
            svc.spec = spec.clone();
        }
        Op::DelService(key) => {
            t.services.remove(key).ok_or_else(missing_service)?;
        }
        Op::AddDest(key, dest) => {
            let svc = t.services.get_mut(key).ok_or_else(missing_service)?;
            if svc.dests.iter().any(|d| d.key == dest.key) {
                return Err((Some(libc::EEXIST), "destination exists".to_owned()));
            }
            svc.dests.push(dest.clone());
        }
        Op::EditDest(key, dest) => {
            let svc = t.services.get_mut(key).ok_or_else(missing_service)?;
            let d = svc
                .dests
                .iter_mut()
                .find(|d| d.key == dest.key)
                .ok_or((Some(libc::ENOENT), "no such destination".to_owned()))?;
            *d = dest.clone();
        }
        Op::DelDest(key, dest) => {
            let svc = t.services.get_mut(key).ok_or_else(missing_service)?;
            let before = svc.dests.len();
            svc.dests.retain(|d| d.key != *dest);
            if svc.dests.len() == before {
                return Err((Some(libc::ENOENT), "no such destination".to_owned()));
            }
        }
        Op::SetTimeouts(tm) => {
            // 0 leaves the kernel's value, as with `ipvsadm --set`.
            let have = t.timeouts.unwrap_or_default();
            let pick = |want: u32, have: u32| if want == 0 { have } else { want };
            t.timeouts = Some(Timeouts {
                tcp: pick(tm.tcp, have.tcp),
                tcp_fin: pick(tm.tcp_fin, have.tcp_fin),
                udp: pick(tm.udp, have.udp),
            });
        }
        Op::StartDaemon(d) => {
            if t.sync_daemons.iter().any(|x| x.state == d.state) {
                return Err((Some(libc::EEXIST), "daemon running".to_owned()));
            }
            t.sync_daemons.push(d.clone());
            t.sync_daemons.sort();
        }
        Op::StopDaemon(d) => t.sync_daemons.retain(|x| x.state != d.state),
    }
    Ok(())
}

impl Dataplane for MemoryBackend {
    fn reconcile(&mut self, desired: &DesiredTables) -> ReconcileReport {
        let mut report = ReconcileReport::default();
        // Everything desired is ours from now on (adoption), recorded before any change.
        self.owned
            .extend(desired.services.iter().map(|s| s.spec.key));
        let ops = plan::plan(&self.tables, desired, &self.owned);
        plan::execute(&ops, self, &mut report);
        report.objects_changed =
            report.kernel_ops - report.failures.iter().filter(|f| f.errno.is_some()).count();
        report
    }

    fn stats(&mut self) -> Result<TableStats, DataplaneError> {
        Ok(TableStats {
            services: self
                .tables
                .services
                .values()
                .map(|s| ServiceStats {
                    key: s.spec.key,
                    counters: Default::default(),
                    dests: s
                        .dests
                        .iter()
                        .map(|d| super::tables::DestStats {
                            key: d.key,
                            weight: d.weight,
                            active_connections: 0,
                            inactive_connections: 0,
                            counters: Default::default(),
                        })
                        .collect(),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::tables::{
        DestKey, DestSpec, FlowHash, Forward, Protocol, Service, ServiceSpec,
    };
    use std::net::{IpAddr, Ipv4Addr};

    fn key(last: u8) -> ServiceKey {
        ServiceKey::Addr {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
            port: 80,
            protocol: Protocol::Tcp,
        }
    }
    fn spec(last: u8) -> ServiceSpec {
        ServiceSpec {
            key: key(last),
            scheduler: "mh".into(),
            flags: 0,
            timeout: 0,
            netmask: 32,
        }
    }
    fn dest(last: u8, weight: u32) -> DestSpec {
        DestSpec {
            key: DestKey {
                addr: IpAddr::V4(Ipv4Addr::new(10, 1, 0, last)),
                port: 80,
            },
            forward: Forward::Masq,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }
    fn desired(services: &[(u8, Vec<DestSpec>)]) -> DesiredTables {
        let mut t = DesiredTables {
            services: services
                .iter()
                .map(|(s, d)| Service {
                    spec: spec(*s),
                    dests: d.clone(),
                    flow_hash: FlowHash::SourceAddr,
                    maglev_size: 101,
                })
                .collect(),
            ..Default::default()
        };
        t.canonicalize();
        t
    }

    #[test]
    fn real_server_change_touches_exactly_one_object() {
        let mut m = MemoryBackend::new();
        let d = desired(&[(1, vec![dest(1, 1), dest(2, 1)]), (2, vec![dest(3, 1)])]);
        let r = m.reconcile(&d);
        assert!(r.is_clean());
        assert_eq!(r.kernel_ops, 5);
        m.log.clear();
        let d2 = desired(&[(1, vec![dest(1, 1), dest(2, 0)]), (2, vec![dest(3, 1)])]);
        let r = m.reconcile(&d2);
        assert_eq!((r.kernel_ops, r.ops_planned), (1, 1));
        assert_eq!(m.log, vec![Op::EditDest(key(1), dest(2, 0))]);
        // Nothing to do the second time.
        assert_eq!(m.reconcile(&d2).kernel_ops, 0);
    }

    #[test]
    fn adopts_existing_tables_and_leaves_foreign_objects() {
        // Left by a previous run (ours: key 1) and by an operator (key 9, not ours).
        let mut start = MemoryBackend::new();
        start.reconcile(&desired(&[(1, vec![dest(1, 1), dest(2, 1)])]));
        let mut kernel = start.tables().clone();
        kernel.services.insert(
            key(9),
            KernelService {
                spec: spec(9),
                dests: vec![dest(7, 1)],
            },
        );
        let mut m = MemoryBackend::with_state(kernel.clone(), start.owned().clone());
        let r = m.reconcile(&desired(&[(1, vec![dest(1, 1), dest(2, 1)])]));
        assert_eq!(
            r.kernel_ops, 0,
            "restart over identical tables changes nothing"
        );
        // Config drops service 1: ours, deleted. Service 9 survives.
        let r = m.reconcile(&desired(&[]));
        assert_eq!(m.log, vec![Op::DelService(key(1))]);
        assert!(r.is_clean());
        assert!(m.tables().services.contains_key(&key(9)));
        // A restart without the ownership record (e.g. state file lost) deletes nothing.
        let mut m = MemoryBackend::with_state(kernel, BTreeSet::new());
        m.reconcile(&desired(&[]));
        assert!(m.log.is_empty());
    }

    #[test]
    fn failures_are_reported_and_retried() {
        let mut m = MemoryBackend::new();
        let d = desired(&[(1, vec![dest(1, 1), dest(2, 1)]), (2, vec![dest(3, 1)])]);
        m.inject_failure("tcp 10.0.0.1:80 -> 10.1.0.2:80", libc::ENOMEM);
        let r = m.reconcile(&d);
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].errno, Some(libc::ENOMEM));
        assert_eq!(r.failures[0].op, OpKind::AddDest);
        assert_eq!(m.tables().services[&key(2)].dests.len(), 1, "kept going");
        m.clear_failures();
        let r = m.reconcile(&d);
        assert!(r.is_clean());
        assert_eq!(r.kernel_ops, 1);
    }

    use crate::dataplane::OpKind;
}
