//! What the control socket answers: plain serialisable views of the daemon's state, built by
//! the control loop and rendered by `directorctl`. They are the stable contract between the
//! two binaries, so they hold no internal types.

use serde::{Deserialize, Serialize};

/// `directorctl status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    pub version: String,
    pub mode: String,
    pub config_file: String,
    pub uptime_seconds: u64,
    pub dataplane: DataplaneView,
    pub vips: Vec<VipView>,
    /// Set when an OSPF speaker runs.
    pub ospf: Option<OspfSummaryView>,
    /// BFD sessions to OSPF neighbors (interfaces with a `bfd` block), from their events.
    #[serde(default)]
    pub bfd: Vec<BfdSessionView>,
    pub reloads: ReloadCounters,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataplaneView {
    pub backend: String,
    /// Kernel operations of the last reconcile.
    pub last_operations: usize,
    /// Objects the last reconcile could not program (each retried).
    pub failures: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VipView {
    pub address: String,
    /// `announced` (in our LSAs, with at least one Full adjacency to carry them),
    /// `pending` (healthy, but no Full adjacency yet or the tables are not programmed),
    /// `withdrawn` (no service on it holds its quorum), or `local` (no OSPF speaker).
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OspfSummaryView {
    pub router_id: String,
    pub neighbors_full: usize,
    pub neighbors_total: usize,
}

/// One BFD session as the metrics see it (`directorctl bfd` asks the speaker for more).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BfdSessionView {
    pub peer: String,
    pub interface: String,
    pub state: String,
    pub transitions: u64,
    /// Diagnostic of the last transition to Down, if any.
    pub last_down_reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReloadCounters {
    pub succeeded: u64,
    pub failed: u64,
    /// The errors of the last failed reload, if the last reload failed.
    pub last_errors: Vec<String>,
}

/// `directorctl services`: the tables as the dataplane programs them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicesView {
    pub backend: String,
    pub services: Vec<ServiceView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceView {
    /// `TCP`, `UDP`, `SCTP` or `FWM`.
    pub protocol: String,
    /// `10.0.0.1:80`, `[2001:db8::1]:443` or the firewall mark.
    pub address: String,
    pub scheduler: String,
    pub flags: Vec<String>,
    /// Persistence timeout in seconds, when the service is persistent.
    pub persistent: Option<u32>,
    pub persistence_netmask: Option<String>,
    pub reals: Vec<RealView>,
    pub stats: Option<Counters>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealView {
    pub address: String,
    /// `Masq`, `Route`, `Tunnel`, or `Local`.
    pub forward: String,
    pub weight: u32,
    /// Health: false once the checks declared it down (it then carries weight 0).
    pub up: bool,
    /// What the checks say, for real servers of the configuration (not a sorry server).
    #[serde(default)]
    pub health: Option<RealHealthView>,
    pub active_conns: u64,
    pub inactive_conns: u64,
    pub stats: Option<Counters>,
}

/// A real server's health: its verdict, since when, and each checker's last result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealHealthView {
    pub up: bool,
    /// Unix time (seconds) of the last change of `up`.
    pub since_unix: u64,
    pub checks: Vec<CheckView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckView {
    /// `TCP_CHECK 10.1.0.1:80`, `MISC_CHECK `/path``…
    pub checker: String,
    pub up: bool,
    /// `success`, `failure`, `retrying` (a failure within `retry`), or `pending` (no
    /// result yet).
    pub last_result: String,
    /// Why the last probe failed.
    pub reason: Option<String>,
    /// Duration of the last probe, in milliseconds.
    pub latency_ms: Option<f64>,
    /// Unix time (seconds) of the last probe.
    pub checked_unix: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    pub connections: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// `directorctl ospf interfaces`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OspfInterfaceView {
    pub name: String,
    pub area: String,
    pub network_type: String,
    pub state: String,
    pub address: String,
    pub dr: String,
    pub bdr: String,
    pub neighbors: usize,
}

/// `directorctl ospf neighbors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OspfNeighborView {
    pub router_id: String,
    pub priority: u8,
    pub state: String,
    pub address: String,
    pub interface: String,
    pub dr: String,
    pub bdr: String,
}

/// `directorctl ospf database`: one line per LSA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OspfLsaView {
    pub area: String,
    pub lsa_type: String,
    pub link_state_id: String,
    pub advertising_router: String,
    pub age: u16,
    pub sequence: String,
    pub checksum: String,
    pub self_originated: bool,
}
