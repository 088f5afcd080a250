//! Forwarding tables: the backends that reconcile the kernel towards the desired tables
//! (which `policy` computes) — IPVS over generic netlink, nftables through `nft -j`, and an
//! in-memory model for tests.
//!
//! Files: `tables.rs` (the data: desired, read back, stats, health), `plan.rs` (current vs
//! desired → ordered single-object ops; never a flush), `memory.rs`, `maglev.rs` (the
//! consistent-hash table nftables needs), `ipvs/` and `nftables/` (the kernel backends).
//!
//! Every backend follows the same contract: diff what the kernel holds (read back, or a view
//! kept current since the last read) against the desired tables, apply only the difference, report each failed object (op, object, errno) and keep going; never flush;
//! leave alone what we did not create unless the configuration names it.
//! How ownership is recorded is described in `docs/dataplane.md`.

pub mod ipvs;
pub mod listing;
pub mod maglev;
pub mod memory;
pub mod nftables;
pub mod plan;
pub mod tables;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::config::model::DataplaneKind;

pub use plan::OpKind;
pub use tables::{DesiredTables, TableStats};

/// A dataplane backend. Synchronous: the control loop calls it from a blocking thread.
pub trait Dataplane: Send + 'static {
    /// Diffs the kernel against `desired` and applies only the difference.
    fn reconcile(&mut self, desired: &DesiredTables) -> ReconcileReport;
    /// A reconcile that first reads the whole kernel table back, so that changes made
    /// behind our back (someone ran `ipvsadm`) are found and undone; the report counts them
    /// in `drift_repaired`. Backends that read the kernel on every reconcile need nothing
    /// more than `reconcile`.
    fn resync(&mut self, desired: &DesiredTables) -> ReconcileReport {
        self.reconcile(desired)
    }
    /// Connection and traffic counters per service and real server.
    fn stats(&mut self) -> Result<TableStats, DataplaneError>;
}

/// One object that could not be brought to its desired state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub op: OpKind,
    /// e.g. `tcp 10.0.0.1:80 -> 10.1.0.2:80`.
    pub object: String,
    /// The kernel's errno, when it gave one.
    pub errno: Option<i32>,
    pub message: String,
}

/// What one `reconcile` did. Failed objects are retried by the next reconcile (the diff
/// still contains them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// Object operations the diff called for.
    pub ops_planned: usize,
    /// Kernel operations issued (netlink requests; for nftables one per transaction).
    pub kernel_ops: usize,
    /// Object-level changes inside those kernel operations (for nftables: map elements,
    /// rules, chains; for IPVS equal to `kernel_ops`).
    pub objects_changed: usize,
    /// Kernel requests spent reading the tables back (IPVS: one dump per service plus the
    /// service, timeout and daemon dumps; 0 when the backend's view of the kernel was
    /// current).
    pub kernel_reads: usize,
    /// Objects a resync found changed behind our back and put back.
    pub drift_repaired: usize,
    pub failures: Vec<Failure>,
    #[serde(skip)]
    pub elapsed: Duration,
}

impl ReconcileReport {
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Backend-level errors (opening, reading the kernel, statistics).
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    #[error(transparent)]
    Ipvs(#[from] ipvs::IpvsError),
    #[error(transparent)]
    Nft(#[from] nftables::NftError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where backends keep their ownership records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// Directory of the state files (`/run/director` by default).
    pub state_dir: PathBuf,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            state_dir: PathBuf::from("/run/director"),
        }
    }
}

/// Opens the backend `director { dataplane ipvs|nftables|none }` asks for (`none` keeps the
/// desired state in memory and programs nothing).
pub fn open(
    kind: DataplaneKind,
    options: &OpenOptions,
) -> Result<Box<dyn Dataplane>, DataplaneError> {
    Ok(match kind {
        DataplaneKind::Ipvs => Box::new(ipvs::IpvsBackend::open(options)?),
        DataplaneKind::Nftables => Box::new(nftables::NftBackend::open(options)?),
        DataplaneKind::None => Box::new(memory::MemoryBackend::new()),
    })
}
