//! Current vs desired → the ordered list of object operations that turns one into the
//! other, shared by every backend. Never a flush: each op touches exactly one object.
//!
//! Rules:
//! - A service whose key is in the desired tables is ours (adopted if it already exists).
//!   A service that is not desired is deleted only if `owned` says we created it; anything
//!   else in the kernel is left alone, real servers included.
//! - A real server whose parameters differ is edited in place (one op: a weight change,
//!   e.g. a health-check failure, is exactly one `EditDest`).
//! - Order-sensitive schedulers (`mh`, `sh`, `dh`: the kernel fills their lookup table by
//!   walking the real servers in insertion order) must end with their real servers in
//!   canonical order, or two directors would build different tables. When a new real server
//!   sorts before existing ones, the existing tail is deleted and re-added in order; IPVS
//!   revives a deleted destination from its trash with its connections intact when it is
//!   re-added, so established flows survive.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::tables::{
    DesiredTables, DestKey, DestSpec, KernelService, KernelTables, ServiceKey, ServiceSpec,
    SyncDaemon, Timeouts,
};
use super::{Failure, ReconcileReport};

/// Schedulers whose kernel lookup table depends on real-server insertion order.
pub const ORDER_SENSITIVE_SCHEDULERS: &[&str] = &["mh", "sh", "dh"];

/// One operation on one kernel object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    AddService(ServiceSpec),
    EditService(ServiceSpec),
    DelService(ServiceKey),
    AddDest(ServiceKey, DestSpec),
    EditDest(ServiceKey, DestSpec),
    DelDest(ServiceKey, DestKey),
    SetTimeouts(Timeouts),
    StartDaemon(SyncDaemon),
    StopDaemon(SyncDaemon),
}

/// The kind of an [`Op`], for reports and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    AddService,
    EditService,
    DelService,
    AddDest,
    EditDest,
    DelDest,
    SetTimeouts,
    StartDaemon,
    StopDaemon,
    /// Anything that is not one object (reading the kernel, a whole nft transaction).
    Transaction,
    ReadKernel,
    SetSysctl,
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&s)
    }
}

impl Op {
    pub fn kind(&self) -> OpKind {
        match self {
            Op::AddService(_) => OpKind::AddService,
            Op::EditService(_) => OpKind::EditService,
            Op::DelService(_) => OpKind::DelService,
            Op::AddDest(..) => OpKind::AddDest,
            Op::EditDest(..) => OpKind::EditDest,
            Op::DelDest(..) => OpKind::DelDest,
            Op::SetTimeouts(_) => OpKind::SetTimeouts,
            Op::StartDaemon(_) => OpKind::StartDaemon,
            Op::StopDaemon(_) => OpKind::StopDaemon,
        }
    }

    /// The service this op belongs to, if any.
    pub fn service(&self) -> Option<&ServiceKey> {
        match self {
            Op::AddService(s) | Op::EditService(s) => Some(&s.key),
            Op::DelService(k) | Op::AddDest(k, _) | Op::EditDest(k, _) | Op::DelDest(k, _) => {
                Some(k)
            }
            _ => None,
        }
    }

    /// Human-readable name of the object the op touches ("tcp 10.0.0.1:80 -> 10.1.0.1:80").
    pub fn object(&self) -> String {
        match self {
            Op::AddService(s) | Op::EditService(s) => s.key.to_string(),
            Op::DelService(k) => k.to_string(),
            Op::AddDest(k, d) | Op::EditDest(k, d) => format!("{k} -> {}", d.key),
            Op::DelDest(k, d) => format!("{k} -> {d}"),
            Op::SetTimeouts(_) => "timeouts".to_owned(),
            Op::StartDaemon(d) | Op::StopDaemon(d) => {
                format!("sync daemon {:?} {} id {}", d.state, d.interface, d.sync_id)
            }
        }
    }
}

/// Computes the ops that take `current` to `desired`.
pub fn plan(
    current: &KernelTables,
    desired: &DesiredTables,
    owned: &BTreeSet<ServiceKey>,
) -> Vec<Op> {
    let mut ops = Vec::new();
    if let Some(t) = desired.timeouts {
        // 0 means "leave the kernel's value", as with `ipvsadm --set 0 0 0`.
        let have = current.timeouts.unwrap_or_default();
        let differs = |want: u32, have: u32| want != 0 && want != have;
        if differs(t.tcp, have.tcp) || differs(t.tcp_fin, have.tcp_fin) || differs(t.udp, have.udp)
        {
            ops.push(Op::SetTimeouts(t));
        }
    }
    for d in &current.sync_daemons {
        if !desired.sync_daemons.iter().any(|w| daemon_satisfied(w, d)) {
            ops.push(Op::StopDaemon(d.clone()));
        }
    }
    for d in &desired.sync_daemons {
        if !current.sync_daemons.iter().any(|c| daemon_satisfied(d, c)) {
            ops.push(Op::StartDaemon(d.clone()));
        }
    }
    for svc in &desired.services {
        let key = svc.spec.key;
        match current.services.get(&key) {
            None => {
                ops.push(Op::AddService(svc.spec.clone()));
                ops.extend(svc.dests.iter().map(|d| Op::AddDest(key, d.clone())));
            }
            Some(have) => {
                if have.spec != svc.spec {
                    ops.push(Op::EditService(svc.spec.clone()));
                }
                plan_dests(&mut ops, have, &svc.spec, &svc.dests);
            }
        }
    }
    for key in current.services.keys() {
        if desired.service(key).is_none() && owned.contains(key) {
            ops.push(Op::DelService(*key));
        }
    }
    ops
}

/// Does the running daemon `have` do what `want` asks? Optional parameters left unset in
/// the configuration accept whatever default the kernel reports.
fn daemon_satisfied(want: &SyncDaemon, have: &SyncDaemon) -> bool {
    fn opt<T: PartialEq>(w: &Option<T>, h: &Option<T>) -> bool {
        w.is_none() || w == h
    }
    want.state == have.state
        && want.interface == have.interface
        && want.sync_id == have.sync_id
        && opt(&want.max_len, &have.max_len)
        && opt(&want.group, &have.group)
        && opt(&want.port, &have.port)
        && opt(&want.ttl, &have.ttl)
}

fn plan_dests(ops: &mut Vec<Op>, have: &KernelService, spec: &ServiceSpec, want: &[DestSpec]) {
    let key = spec.key;
    let wanted: BTreeSet<DestKey> = want.iter().map(|d| d.key).collect();
    for d in &have.dests {
        if !wanted.contains(&d.key) {
            ops.push(Op::DelDest(key, d.key));
        }
    }
    let kept: Vec<&DestSpec> = have
        .dests
        .iter()
        .filter(|d| wanted.contains(&d.key))
        .collect();
    // How many leading kernel entries already match the canonical order; for order-sensitive
    // schedulers everything after that point is re-added in order.
    let in_order_prefix = if ORDER_SENSITIVE_SCHEDULERS.contains(&spec.scheduler.as_str()) {
        kept.iter()
            .zip(want.iter())
            .take_while(|(k, w)| k.key == w.key)
            .count()
    } else {
        usize::MAX
    };
    if in_order_prefix != usize::MAX && in_order_prefix < kept.len() {
        for d in &kept[in_order_prefix..] {
            ops.push(Op::DelDest(key, d.key));
        }
        for (i, w) in want.iter().enumerate() {
            if i < in_order_prefix {
                if kept[i] != w {
                    ops.push(Op::EditDest(key, w.clone()));
                }
            } else {
                ops.push(Op::AddDest(key, w.clone()));
            }
        }
        return;
    }
    for w in want {
        match kept.iter().find(|k| k.key == w.key) {
            Some(k) if *k != w => ops.push(Op::EditDest(key, w.clone())),
            Some(_) => {}
            None => ops.push(Op::AddDest(key, w.clone())),
        }
    }
}

/// A backend's way of applying one op. `Err` carries the errno (if the kernel gave one) and
/// a message.
pub trait Apply {
    fn apply(&mut self, op: &Op) -> Result<(), (Option<i32>, String)>;
}

/// Applies `ops` in order, keeps going after failures, and skips the real servers of a
/// service whose creation failed (they would fail too; the service is reported once).
pub fn execute(ops: &[Op], backend: &mut dyn Apply, report: &mut ReconcileReport) {
    let mut failed_services: BTreeSet<ServiceKey> = BTreeSet::new();
    report.ops_planned += ops.len();
    for op in ops {
        if let (Op::AddDest(k, _), true) = (
            op,
            op.service().is_some_and(|k| failed_services.contains(k)),
        ) {
            report.failures.push(Failure {
                op: op.kind(),
                object: op.object(),
                errno: None,
                message: format!("skipped: service {k} could not be created"),
            });
            continue;
        }
        report.kernel_ops += 1;
        match backend.apply(op) {
            Ok(()) => {
                tracing::debug!(op = %op.kind(), object = %op.object(), "dataplane op applied");
            }
            Err((errno, message)) => {
                if let Op::AddService(s) = op {
                    failed_services.insert(s.key);
                }
                tracing::warn!(op = %op.kind(), object = %op.object(), ?errno, %message, "dataplane op failed");
                report.failures.push(Failure {
                    op: op.kind(),
                    object: op.object(),
                    errno,
                    message,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::tables::{FlowHash, Forward, Protocol, Service};
    use std::net::{IpAddr, Ipv4Addr};

    fn key(port: u16) -> ServiceKey {
        ServiceKey::Addr {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            port,
            protocol: Protocol::Tcp,
        }
    }
    fn dest(last: u8, weight: u32) -> DestSpec {
        DestSpec {
            key: DestKey {
                addr: IpAddr::V4(Ipv4Addr::new(10, 1, 0, last)),
                port: 80,
            },
            forward: Forward::Route,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }
    fn spec(port: u16, sched: &str) -> ServiceSpec {
        ServiceSpec {
            key: key(port),
            scheduler: sched.to_owned(),
            flags: 0,
            timeout: 0,
            netmask: 32,
        }
    }
    fn desired(sched: &str, dests: Vec<DestSpec>) -> DesiredTables {
        DesiredTables {
            services: vec![Service {
                spec: spec(80, sched),
                dests,
                flow_hash: FlowHash::SourceAddr,
                maglev_size: 101,
            }],
            ..Default::default()
        }
    }
    fn current(sched: &str, dests: Vec<DestSpec>) -> KernelTables {
        let mut t = KernelTables::default();
        t.services.insert(
            key(80),
            KernelService {
                spec: spec(80, sched),
                dests,
            },
        );
        t
    }

    #[test]
    fn empty_to_service_adds_in_canonical_order() {
        let ops = plan(
            &KernelTables::default(),
            &desired("mh", vec![dest(1, 1), dest(2, 1)]),
            &BTreeSet::new(),
        );
        assert_eq!(
            ops,
            vec![
                Op::AddService(spec(80, "mh")),
                Op::AddDest(key(80), dest(1, 1)),
                Op::AddDest(key(80), dest(2, 1)),
            ]
        );
    }

    #[test]
    fn weight_change_is_one_edit() {
        let ops = plan(
            &current("mh", vec![dest(1, 1), dest(2, 1)]),
            &desired("mh", vec![dest(1, 1), dest(2, 0)]),
            &BTreeSet::new(),
        );
        assert_eq!(ops, vec![Op::EditDest(key(80), dest(2, 0))]);
    }

    #[test]
    fn mh_insert_in_the_middle_readds_the_tail_only() {
        let ops = plan(
            &current("mh", vec![dest(1, 1), dest(3, 1)]),
            &desired("mh", vec![dest(1, 1), dest(2, 1), dest(3, 1)]),
            &BTreeSet::new(),
        );
        assert_eq!(
            ops,
            vec![
                Op::DelDest(key(80), dest(3, 1).key),
                Op::AddDest(key(80), dest(2, 1)),
                Op::AddDest(key(80), dest(3, 1)),
            ]
        );
        // wlc does not care about order: one add.
        let ops = plan(
            &current("wlc", vec![dest(1, 1), dest(3, 1)]),
            &desired("wlc", vec![dest(1, 1), dest(2, 1), dest(3, 1)]),
            &BTreeSet::new(),
        );
        assert_eq!(ops, vec![Op::AddDest(key(80), dest(2, 1))]);
    }

    #[test]
    fn undesired_services_are_deleted_only_when_owned() {
        let mut cur = current("rr", vec![dest(1, 1)]);
        cur.services.insert(
            key(81),
            KernelService {
                spec: spec(81, "rr"),
                dests: vec![],
            },
        );
        let want = DesiredTables::default();
        let ops = plan(&cur, &want, &BTreeSet::from([key(81)]));
        assert_eq!(ops, vec![Op::DelService(key(81))]);
    }

    struct FailDest;
    impl Apply for FailDest {
        fn apply(&mut self, op: &Op) -> Result<(), (Option<i32>, String)> {
            match op {
                Op::AddService(s) if s.key == key(81) => Err((Some(libc::EEXIST), "exists".into())),
                Op::AddDest(_, d) if d.key == dest(2, 1).key => {
                    Err((Some(libc::EINVAL), "bad".into()))
                }
                _ => Ok(()),
            }
        }
    }

    #[test]
    fn execute_keeps_going_and_skips_children_of_failed_services() {
        let ops = vec![
            Op::AddService(spec(81, "rr")),
            Op::AddDest(key(81), dest(1, 1)),
            Op::AddService(spec(80, "rr")),
            Op::AddDest(key(80), dest(1, 1)),
            Op::AddDest(key(80), dest(2, 1)),
            Op::AddDest(key(80), dest(3, 1)),
        ];
        let mut report = ReconcileReport::default();
        execute(&ops, &mut FailDest, &mut report);
        assert_eq!(report.kernel_ops, 5);
        assert_eq!(report.failures.len(), 3);
        assert_eq!(report.failures[0].errno, Some(libc::EEXIST));
        assert_eq!(report.failures[1].errno, None);
        assert_eq!(report.failures[2].errno, Some(libc::EINVAL));
        assert_eq!(report.failures[2].object, "tcp 10.0.0.1:80 -> 10.1.0.2:80");
    }
}
