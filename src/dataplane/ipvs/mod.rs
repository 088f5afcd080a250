//! IPVS backend: diffs a view of the kernel's services, real servers, timeouts and sync
//! daemons against the desired tables (`plan.rs`) and applies the difference one object per
//! generic-netlink request. Never `IPVS_CMD_FLUSH`.
//!
//! The view is read back from the kernel (one dump per service) only at start, after a
//! failed request, and on [`Dataplane::resync`]; between those, every request the kernel
//! accepts is applied to the view as well (`memory::apply_op`), so a reconcile costs exactly
//! one round trip per changed object and a reconcile with nothing to change costs none. A
//! resync compares what it read with the view: objects changed behind our back (someone ran
//! `ipvsadm`) are put back, logged and counted (`ReconcileReport::drift_repaired`).
//!
//! Ownership: IPVS objects carry no comment or owner field, so we record what we own in a
//! state file (`<state_dir>/ipvs-owned.json`, `/run/director` by default: tmpfs, so it
//! disappears with the kernel tables at reboot). A service is ours when its key is in the
//! configuration (adopted if it already exists) or listed in that file; a service that leaves
//! the configuration is deleted only if the file lists it. The file is written before any
//! change (desired keys added) and again after (deleted keys removed), so a crash between
//! the two can only make us remember too much of what the config named, never delete a
//! foreign service.

pub mod attr;
pub mod genl;
pub mod listing;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use genl::IpvsError;

use super::memory::apply_op;
use super::plan::{self, Apply, Op};
use super::tables::{
    DesiredTables, DestStats, IpvsSysctls, KernelService, KernelTables, ServiceKey, ServiceStats,
    TableStats,
};
use super::{Dataplane, DataplaneError, Failure, OpKind, OpenOptions, ReconcileReport};
use attr::{cmd, cmd_attr, AttrWriter};
use genl::GenlSocket;

const STATE_FILE: &str = "ipvs-owned.json";
const SYSCTL_DIR: &str = "/proc/sys/net/ipv4/vs";

#[derive(Debug, Default, Serialize, Deserialize)]
struct OwnedState {
    version: u32,
    services: BTreeSet<ServiceKey>,
}

/// The IPVS backend.
pub struct IpvsBackend {
    socket: GenlSocket,
    state_file: PathBuf,
    owned: BTreeSet<ServiceKey>,
    /// `owned` as last written to the state file: a reconcile that changes no ownership
    /// writes nothing.
    owned_saved: Option<BTreeSet<ServiceKey>>,
    /// The kernel's tables as last read, with every accepted request applied since.
    view: Option<KernelTables>,
    /// A request failed since the last read: the kernel may hold what the view does not
    /// (an EEXIST says it does), so the next reconcile reads the tables back first.
    view_stale: bool,
}

/// A service with its real servers and counters, as dumped.
struct Dumped {
    service: attr::ServiceRepr,
    dests: Vec<attr::DestRepr>,
}

impl IpvsBackend {
    pub fn open(options: &OpenOptions) -> Result<IpvsBackend, DataplaneError> {
        let socket = GenlSocket::open(attr::FAMILY_NAME)?;
        let state_file = options.state_dir.join(STATE_FILE);
        let owned = load_owned(&state_file)?;
        Ok(IpvsBackend {
            socket,
            state_file,
            owned,
            owned_saved: None,
            view: None,
            view_stale: false,
        })
    }

    /// The view of the kernel the next reconcile will diff against (None before the first
    /// read).
    pub fn view(&self) -> Option<&KernelTables> {
        self.view.as_ref()
    }

    /// Netlink requests sent since the backend was opened, reads included.
    pub fn netlink_requests(&self) -> u64 {
        self.socket.requests()
    }

    /// The services this backend considers its own.
    pub fn owned(&self) -> &BTreeSet<ServiceKey> {
        &self.owned
    }

    fn dump(&mut self) -> Result<Vec<Dumped>, IpvsError> {
        let replies = self.socket.query(
            cmd::GET_SERVICE,
            AttrWriter::new(),
            true,
            "dump-services",
            "all",
        )?;
        let mut out = Vec::with_capacity(replies.len());
        for r in replies {
            let service = parse_reply(&r, cmd_attr::SERVICE, "dump-services", |p| {
                attr::parse_service(p)
            })?;
            let mut w = AttrWriter::new();
            w.nested(cmd_attr::SERVICE, |s| {
                attr::emit_service_key(s, &service.spec.key)
            });
            let object = service.spec.key.to_string();
            let family = service.spec.key.family();
            let dests = self
                .socket
                .query(cmd::GET_DEST, w, true, "dump-dests", &object)?
                .iter()
                .map(|r| {
                    parse_reply(r, cmd_attr::DEST, "dump-dests", |p| {
                        attr::parse_dest(p, family)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Dumped { service, dests });
        }
        Ok(out)
    }

    /// Reads the kernel's tables (services, real servers in kernel order, timeouts, daemons).
    pub fn read(&mut self) -> Result<KernelTables, IpvsError> {
        let mut t = KernelTables::default();
        for d in self.dump()? {
            t.services.insert(
                d.service.spec.key,
                KernelService {
                    spec: d.service.spec,
                    // The kernel keeps real servers newest first (`list_add` in
                    // `__ip_vs_update_dest`) and dumps them in that order; `mh`/`sh`/`dh`
                    // build their tables from that list. Reversed, it is the insertion order
                    // that `plan` keeps canonical.
                    dests: d.dests.into_iter().rev().map(|d| d.spec).collect(),
                },
            );
        }
        let cfg = self.socket.query(
            cmd::GET_CONFIG,
            AttrWriter::new(),
            false,
            "get-config",
            "timeouts",
        )?;
        if let Some(r) = cfg.first() {
            let (_, attrs) = attr::genl_attrs(r)
                .map_err(|e| IpvsError::new("get-config", "timeouts", None, e.to_string()))?;
            t.timeouts = Some(
                attr::parse_timeouts(attrs)
                    .map_err(|e| IpvsError::new("get-config", "timeouts", None, e.to_string()))?,
            );
        }
        for r in self.socket.query(
            cmd::GET_DAEMON,
            AttrWriter::new(),
            true,
            "dump-daemons",
            "all",
        )? {
            t.sync_daemons.push(parse_reply(
                &r,
                cmd_attr::DAEMON,
                "dump-daemons",
                attr::parse_daemon,
            )?);
        }
        t.sync_daemons.sort();
        Ok(t)
    }

    /// Writes the ownership record when it changed since the last write.
    fn save_owned_if_changed(&mut self, report: &mut ReconcileReport) {
        if self.owned_saved.as_ref() == Some(&self.owned) {
            return;
        }
        match self.save_owned() {
            Ok(()) => self.owned_saved = Some(self.owned.clone()),
            Err(e) => report.failures.push(state_failure(e)),
        }
    }

    fn save_owned(&self) -> Result<(), DataplaneError> {
        let io = |source| DataplaneError::Io {
            path: self.state_file.clone(),
            source,
        };
        if let Some(dir) = self.state_file.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let state = OwnedState {
            version: 1,
            services: self.owned.clone(),
        };
        let text = serde_json::to_vec_pretty(&state).map_err(|e| io(std::io::Error::other(e)))?;
        let tmp = self.state_file.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &self.state_file).map_err(io)
    }
}

fn load_owned(path: &Path) -> Result<BTreeSet<ServiceKey>, DataplaneError> {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice::<OwnedState>(&bytes) {
            Ok(s) => Ok(s.services),
            Err(e) => {
                // A damaged record must not make us delete anything: start with an empty one
                // (we then own only what the configuration names).
                tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable IPVS ownership record");
                Ok(BTreeSet::new())
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(source) => Err(DataplaneError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn parse_reply<T>(
    reply: &[u8],
    kind: u16,
    op: &'static str,
    parse: impl Fn(&[u8]) -> Result<T, attr::AttrError>,
) -> Result<T, IpvsError> {
    let bad = |e: attr::AttrError| IpvsError::new(op, "reply", None, e.to_string());
    let (_, attrs) = attr::genl_attrs(reply).map_err(bad)?;
    let nested = attr::find(attrs, kind)
        .map_err(bad)?
        .ok_or_else(|| IpvsError::new(op, "reply", None, "missing nested attribute"))?;
    parse(nested).map_err(bad)
}

/// Sends each op as one request and keeps the view and the ownership set in step with
/// what the kernel accepted.
struct Applier<'a> {
    socket: &'a mut GenlSocket,
    view: &'a mut KernelTables,
    view_stale: &'a mut bool,
    owned: &'a mut BTreeSet<ServiceKey>,
}

impl Apply for Applier<'_> {
    fn apply(&mut self, op: &Op) -> Result<(), (Option<i32>, String)> {
        let mut w = AttrWriter::new();
        let command = match op {
            Op::AddService(s) | Op::EditService(s) => {
                w.nested(cmd_attr::SERVICE, |n| attr::emit_service(n, s));
                if matches!(op, Op::AddService(_)) {
                    cmd::NEW_SERVICE
                } else {
                    cmd::SET_SERVICE
                }
            }
            Op::DelService(k) => {
                w.nested(cmd_attr::SERVICE, |n| attr::emit_service_key(n, k));
                cmd::DEL_SERVICE
            }
            Op::AddDest(k, d) | Op::EditDest(k, d) => {
                w.nested(cmd_attr::SERVICE, |n| attr::emit_service_key(n, k));
                w.nested(cmd_attr::DEST, |n| attr::emit_dest(n, d));
                if matches!(op, Op::AddDest(..)) {
                    cmd::NEW_DEST
                } else {
                    cmd::SET_DEST
                }
            }
            Op::DelDest(k, d) => {
                w.nested(cmd_attr::SERVICE, |n| attr::emit_service_key(n, k));
                w.nested(cmd_attr::DEST, |n| attr::emit_dest_key(n, d));
                cmd::DEL_DEST
            }
            Op::SetTimeouts(t) => {
                attr::emit_timeouts(&mut w, t);
                cmd::SET_CONFIG
            }
            Op::StartDaemon(d) => {
                w.nested(cmd_attr::DAEMON, |n| attr::emit_daemon(n, d));
                cmd::NEW_DAEMON
            }
            Op::StopDaemon(d) => {
                w.nested(cmd_attr::DAEMON, |n| {
                    n.put_u32(
                        attr::daemon_attr::STATE,
                        match d.state {
                            super::tables::SyncState::Master => attr::STATE_MASTER,
                            super::tables::SyncState::Backup => attr::STATE_BACKUP,
                        },
                    )
                });
                cmd::DEL_DAEMON
            }
        };
        let object = op.object();
        if let Err(e) = self.socket.request(command, w, op_name(op), &object) {
            // The kernel changes nothing on a failed request, so the view still holds;
            // but the failure may be the kernel telling us the view is wrong.
            *self.view_stale = true;
            return Err((e.errno, e.detail));
        }
        if let Err((errno, message)) = apply_op(self.view, op) {
            tracing::debug!(op = %op.kind(), %object, ?errno, %message, "IPVS view disagreed with the kernel; reading it back next time");
            *self.view_stale = true;
        }
        match op {
            Op::AddService(s) => {
                self.owned.insert(s.key);
            }
            Op::DelService(k) => {
                self.owned.remove(k);
            }
            _ => {}
        }
        Ok(())
    }
}

fn op_name(op: &Op) -> &'static str {
    match op.kind() {
        OpKind::AddService => "add-service",
        OpKind::EditService => "edit-service",
        OpKind::DelService => "del-service",
        OpKind::AddDest => "add-dest",
        OpKind::EditDest => "edit-dest",
        OpKind::DelDest => "del-dest",
        OpKind::SetTimeouts => "set-timeouts",
        OpKind::StartDaemon => "start-daemon",
        OpKind::StopDaemon => "stop-daemon",
        _ => "other",
    }
}

/// Sets the `net.ipv4.vs.*` switches that differ; returns the number written.
fn apply_sysctls(want: &IpvsSysctls, dir: &Path, report: &mut ReconcileReport) {
    for (name, value) in [
        ("sloppy_tcp", want.sloppy_tcp),
        ("sloppy_sctp", want.sloppy_sctp),
        ("conntrack", want.conntrack),
        ("expire_nodest_conn", want.expire_nodest_conn),
    ] {
        let Some(value) = value else { continue };
        let path = dir.join(name);
        let want_text = if value { "1" } else { "0" };
        match std::fs::read_to_string(&path) {
            Ok(have) if have.trim() == want_text => continue,
            _ => {}
        }
        report.kernel_ops += 1;
        report.objects_changed += 1;
        if let Err(e) = std::fs::write(&path, want_text) {
            report.failures.push(Failure {
                op: OpKind::SetSysctl,
                object: format!("net.ipv4.vs.{name}"),
                errno: e.raw_os_error(),
                message: e.to_string(),
            });
        }
    }
}

impl IpvsBackend {
    /// Brings the kernel to `desired`, reading it back first when `read_back` or when the
    /// view is missing or stale.
    fn sync(&mut self, desired: &DesiredTables, read_back: bool) -> ReconcileReport {
        let started = Instant::now();
        let mut report = ReconcileReport::default();
        let previous = self.view.take();
        let mut drift_reference = None;
        let mut view = match previous {
            Some(view) if !read_back && !self.view_stale => view,
            previous => {
                let requests_before = self.socket.requests();
                let read = self.read();
                report.kernel_reads = (self.socket.requests() - requests_before) as usize;
                match read {
                    Ok(tables) => {
                        // Only a view that was current can tell drift from our own failures.
                        if !self.view_stale {
                            drift_reference = previous;
                        }
                        self.view_stale = false;
                        tables
                    }
                    Err(e) => {
                        report.failures.push(Failure {
                            op: OpKind::ReadKernel,
                            object: e.object.clone(),
                            errno: e.errno,
                            message: e.to_string(),
                        });
                        report.elapsed = started.elapsed();
                        return report;
                    }
                }
            }
        };
        // Adopt what the configuration names before touching anything.
        self.owned
            .extend(desired.services.iter().map(|s| s.spec.key));
        self.save_owned_if_changed(&mut report);
        let ops = plan::plan(&view, desired, &self.owned);
        if let Some(reference) = drift_reference {
            report.drift_repaired = count_drift(&reference, &ops, desired, &self.owned);
        }
        let mut applier = Applier {
            socket: &mut self.socket,
            view: &mut view,
            view_stale: &mut self.view_stale,
            owned: &mut self.owned,
        };
        plan::execute(&ops, &mut applier, &mut report);
        report.objects_changed += report.kernel_ops;
        // Keys we own that no longer exist in the kernel (deleted by someone else) are
        // forgotten, so that a foreign service re-created under that key stays foreign.
        let desired_keys: BTreeSet<ServiceKey> =
            desired.services.iter().map(|s| s.spec.key).collect();
        self.owned
            .retain(|k| view.services.contains_key(k) || desired_keys.contains(k));
        self.view = Some(view);
        self.save_owned_if_changed(&mut report);
        apply_sysctls(&desired.sysctls, Path::new(SYSCTL_DIR), &mut report);
        report.elapsed = started.elapsed();
        report
    }
}

/// The ops of `ops` (planned from a fresh read) that the view we had before the read did
/// not call for: changes someone else made to our objects. Logged once per resync.
fn count_drift(
    reference: &KernelTables,
    ops: &[Op],
    desired: &DesiredTables,
    owned: &BTreeSet<ServiceKey>,
) -> usize {
    let expected = plan::plan(reference, desired, owned);
    let expected: HashSet<&Op> = expected.iter().collect();
    let drift: Vec<&Op> = ops.iter().filter(|op| !expected.contains(op)).collect();
    if let Some(first) = drift.first() {
        tracing::warn!(
            objects = drift.len(),
            first = %format!("{} {}", first.kind(), first.object()),
            "IPVS tables were changed behind director's back; putting them back"
        );
    }
    drift.len()
}

impl Dataplane for IpvsBackend {
    fn reconcile(&mut self, desired: &DesiredTables) -> ReconcileReport {
        self.sync(desired, false)
    }

    fn resync(&mut self, desired: &DesiredTables) -> ReconcileReport {
        self.sync(desired, true)
    }

    fn stats(&mut self) -> Result<TableStats, DataplaneError> {
        let mut services: Vec<ServiceStats> = self
            .dump()?
            .into_iter()
            .map(|d| ServiceStats {
                key: d.service.spec.key,
                counters: d.service.stats,
                dests: d
                    .dests
                    .into_iter()
                    .map(|x| DestStats {
                        key: x.spec.key,
                        weight: x.spec.weight,
                        active_connections: x.active_connections,
                        inactive_connections: x.inactive_connections,
                        counters: x.stats,
                    })
                    .collect(),
            })
            .collect();
        services.sort_by_key(|s| s.key);
        Ok(TableStats { services })
    }
}

fn state_failure(e: DataplaneError) -> Failure {
    let errno = match &e {
        DataplaneError::Io { source, .. } => source.raw_os_error(),
        _ => None,
    };
    Failure {
        op: OpKind::Transaction,
        object: "ipvs ownership record".to_owned(),
        errno,
        message: e.to_string(),
    }
}
