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
    /// BFD sessions (to OSPF neighbors on interfaces with a `bfd` block, and of the
    /// `bfd_instance`s), from their events.
    #[serde(default)]
    pub bfd: Vec<BfdSessionView>,
    pub reloads: ReloadCounters,
    /// What the operator took out of service (`directorctl withdraw`/`drain`).
    #[serde(default)]
    pub maintenance: MaintenanceView,
    /// Why something an operator expects is not happening yet (e.g. why no VIP is
    /// announced), in words.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The operator's maintenance state, kept across reloads and restarts until undone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceView {
    /// VIPs withdrawn from OSPF; their tables stay.
    pub withdrawn: Vec<String>,
    /// Drained real servers, as `VIP:PORT REALSERVER[:PORT]`.
    pub drained: Vec<String>,
    /// The whole director is drained: every VIP withdrawn.
    pub director_drained: bool,
}

impl MaintenanceView {
    pub fn is_empty(&self) -> bool {
        *self == MaintenanceView::default()
    }
}

impl From<&crate::policy::Maintenance> for MaintenanceView {
    fn from(m: &crate::policy::Maintenance) -> Self {
        MaintenanceView {
            withdrawn: m.withdrawn.iter().map(ToString::to_string).collect(),
            drained: m.drained.iter().map(ToString::to_string).collect(),
            director_drained: m.director_drained,
        }
    }
}

/// The answer to a maintenance request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceReply {
    /// What was asked, e.g. `withdraw 10.0.0.1`.
    pub operation: String,
    /// False when the state already was so (repeating an operation is harmless).
    pub changed: bool,
    pub maintenance: MaintenanceView,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataplaneView {
    pub backend: String,
    /// Kernel operations of the last reconcile.
    pub last_operations: usize,
    /// Objects periodic resyncs found changed behind our back (someone ran `ipvsadm`) and
    /// put back, since the daemon started.
    #[serde(default)]
    pub drift_repaired: u64,
    /// Objects the last reconcile could not program (each retried).
    pub failures: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VipView {
    pub address: String,
    /// `announced` (in our LSAs, with at least one Full adjacency to carry them),
    /// `pending` (healthy, but no Full adjacency yet or the tables are not programmed),
    /// `withdrawn` (no service on it holds its quorum), `awaiting_first_checks` (healthy,
    /// held back until the checkers behind it gave their first verdicts), `maintenance`
    /// (withdrawn by the operator: `directorctl withdraw` or `drain --all`), or `local`
    /// (no OSPF speaker).
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
    /// Seconds the last read of the configuration took (parse, includes, validation),
    /// at start or at a reload, whether it was accepted or not.
    #[serde(default)]
    pub last_load_seconds: f64,
}

/// `directorctl services --diff`: where the kernel differs from the desired tables (empty:
/// it holds them exactly), in services, real servers and weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TablesDiffView {
    pub backend: String,
    pub differences: Vec<String>,
}

/// `directorctl services`: the tables as the kernel holds them (every service, ours or
/// not), with each configured real server's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicesView {
    pub backend: String,
    pub services: Vec<ServiceView>,
    /// IPVS's connection timeouts (`--timeout`); absent for nftables.
    #[serde(default)]
    pub timeouts: Option<TimeoutsView>,
    /// False when the backend keeps no per-real-server counters or connection counts
    /// (nftables): those columns then read 0.
    #[serde(default)]
    pub per_real_counters: bool,
}

/// IPVS connection timeouts in seconds, as `ipvsadm -L --timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutsView {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// Per-second rates (`ipvsadm -L --rate`): connections, packets and bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RatesView {
    pub connections: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// `directorctl connections`: the backend's connection entries (at most the first
/// `entries.len()` of `total`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionsView {
    pub backend: String,
    pub total: usize,
    pub entries: Vec<ConnectionView>,
    /// What the list cannot show (nftables: DR flows bypass conntrack).
    #[serde(default)]
    pub note: Option<String>,
}

/// One connection, as a line of `ipvsadm -Lnc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub protocol: String,
    /// Seconds until the entry expires.
    pub expires: u64,
    pub state: String,
    pub source: String,
    pub virtual_address: String,
    pub destination: String,
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
    #[serde(default)]
    pub rates: Option<RatesView>,
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
    #[serde(default)]
    pub rates: Option<RatesView>,
}

/// A real server's health: its verdict, since when, and each checker's last result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealHealthView {
    pub up: bool,
    /// The operator drained it (`directorctl drain`): weight 0 whatever its health.
    #[serde(default)]
    pub drained: bool,
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
