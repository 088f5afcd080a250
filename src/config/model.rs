//! The typed configuration model: what a parsed, validated keepalived.conf (plus our
//! `director { }` and `ospf { }` blocks) means, with every default filled in.
//!
//! Nothing in here is a string tree: each keyword lands in a typed field. Defaults are
//! resolved at load time (see `defaults.rs` for where each value comes from), so the
//! daemon and `--dump-config` see the values that will actually be used. Inheritance
//! (virtual server → real server → checker, as keepalived.conf(5) "LVS CONFIGURATION"
//! describes) is resolved too: a checker carries its own effective timers.
//!
//! Durations serialize as (fractional) seconds, which is how the file writes them.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ipnetwork::IpNetwork;
use serde::Serialize;

/// Serialize a `Duration` as seconds (float), the unit keepalived.conf uses.
fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Serialize what an `Arc` points to, as if it were held inline.
fn shared<S: serde::Serializer, T: Serialize>(value: &Arc<T>, s: S) -> Result<S::Ok, S::Error> {
    T::serialize(value, s)
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// The whole configuration of one director.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Config {
    pub global_defs: GlobalDefs,
    pub director: DirectorSettings,
    pub ospf: Option<OspfConfig>,
    pub static_ipaddress: Vec<IpAddressSpec>,
    pub static_routes: Vec<RouteSpec>,
    pub vrrp_scripts: Vec<VrrpScript>,
    /// The top-level `track_file` blocks that have a `file` (VRRP's `track_file`
    /// references; FILE_CHECK copies what it needs into its own `FileCheck`).
    pub track_files: Vec<TrackFileDef>,
    pub vrrp_track_processes: Vec<VrrpTrackProcess>,
    /// The top-level `bfd_instance` blocks (VRRP's `track_bfd` references).
    pub bfd_instances: Vec<BfdInstance>,
    pub vrrp_sync_groups: Vec<VrrpSyncGroup>,
    pub vrrp_instances: Vec<VrrpInstance>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
    /// The top-level `SSL { }` block: client context of SSL_GET checkers.
    pub ssl: Option<SslContext>,
}

impl Config {
    /// How this director runs: an explicit `director { mode … }` wins; otherwise an
    /// `ospf` block means active-active, `vrrp_instance`s alone mean master-backup, and
    /// with neither the daemon only programs tables and runs health checks.
    pub fn mode(&self) -> Mode {
        if let Some(mode) = self.director.mode {
            return mode;
        }
        if self.ospf.is_some() {
            Mode::ActiveActive
        } else if !self.vrrp_instances.is_empty() {
            Mode::MasterBackup
        } else {
            Mode::TablesOnly
        }
    }

    pub fn vrrp_script(&self, name: &str) -> Option<&VrrpScript> {
        self.vrrp_scripts.iter().find(|s| s.name == name)
    }

    pub fn track_process(&self, name: &str) -> Option<&VrrpTrackProcess> {
        self.vrrp_track_processes.iter().find(|t| t.name == name)
    }

    pub fn track_file(&self, name: &str) -> Option<&TrackFileDef> {
        self.track_files.iter().find(|t| t.name == name)
    }

    pub fn bfd_instance(&self, name: &str) -> Option<&BfdInstance> {
        self.bfd_instances.iter().find(|b| b.name == name)
    }

    pub fn vrrp_instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.vrrp_instances.iter().find(|i| i.name == name)
    }

    pub fn virtual_server_group(&self, name: &str) -> Option<&VirtualServerGroup> {
        self.virtual_server_groups.iter().find(|g| g.name == name)
    }

    pub fn virtual_server(&self, key: &ServiceKey) -> Option<&VirtualServer> {
        self.virtual_servers.iter().find(|v| &v.key == key)
    }
}

/// keepalived's `SSL { password ca certificate key }`; none set: a default context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct SslContext {
    pub password: Option<String>,
    pub ca: Option<PathBuf>,
    pub certificate: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

// ───────────────────────────── director { } ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    ActiveActive,
    MasterBackup,
    TablesOnly,
}

impl Mode {
    /// The name the configuration (`director { mode … }`) and the docs use.
    pub fn name(self) -> &'static str {
        match self {
            Mode::ActiveActive => "active-active",
            Mode::MasterBackup => "master-backup",
            Mode::TablesOnly => "tables-only",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DataplaneKind {
    /// keepalived programs IPVS; so do we unless told otherwise.
    #[default]
    Ipvs,
    Nftables,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct DirectorSettings {
    /// Explicit mode; `None` means "derive it" (see [`Config::mode`]).
    pub mode: Option<Mode>,
    pub dataplane: DataplaneKind,
    pub control_socket: Option<PathBuf>,
    /// Group allowed to use the control socket besides root (name or GID); read at start.
    pub control_socket_group: Option<String>,
    pub metrics_listen: Option<SocketAddr>,
    /// `maglev_table_size`: the nftables Maglev table size of every virtual server that
    /// does not set its own; `None` (`auto`): sized from each one's real-server count.
    pub maglev_table_size: Option<u32>,
    /// How often the dataplane reads the kernel's tables back to undo changes made behind
    /// its back; `None`: the default (300 s), zero: never.
    #[serde(serialize_with = "opt_secs")]
    pub dataplane_resync_interval: Option<Duration>,
    /// The longest a VIP waits for the first verdicts of its checkers before it is
    /// announced anyway; `None`: each checker's own worst case, zero: no wait.
    #[serde(serialize_with = "opt_secs")]
    pub first_checks_timeout: Option<Duration>,
}

// ───────────────────────────── ospf { } ─────────────────────────────

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OspfConfig {
    /// `None`: the daemon picks one (global_defs router_id if it is an address, else the
    /// highest IPv4 address of the host, as BIRD and FRR do).
    pub router_id: Option<Ipv4Addr>,
    /// Metric of the VIP stub links. 0, what BIRD and FRR announce for a /32 on lo: all
    /// directors and any routing-daemon director must announce the same value or ECMP
    /// collapses.
    pub vip_metric: u16,
    pub areas: Vec<OspfArea>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OspfArea {
    pub id: Ipv4Addr,
    /// `stub`: a stub area (RFC 2328 §3.6), as the routers' `stub` (BIRD) or
    /// `area ID stub` (FRR): no AS-external LSAs, no E bit in Hellos.
    pub stub: bool,
    pub interfaces: Vec<OspfInterface>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OspfNetworkType {
    #[default]
    Broadcast,
    PointToPoint,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OspfInterface {
    pub name: String,
    pub network_type: OspfNetworkType,
    /// Seconds (RFC 2328 HelloInterval, default 10).
    pub hello_interval: u16,
    /// Seconds (RouterDeadInterval, default 4 × hello = 40).
    pub dead_interval: u32,
    /// Seconds (RxmtInterval, default 5).
    pub retransmit_interval: u16,
    /// Seconds (InfTransDelay, default 1).
    pub transmit_delay: u16,
    /// Router priority for DR election (default 1).
    pub priority: u8,
    /// Interface output cost (default 10, as BIRD's default for broadcast links).
    pub cost: u16,
    pub authentication: OspfAuth,
    /// `passive`: the subnet is announced, no Hello is sent, received packets are ignored.
    pub passive: bool,
    /// `bfd { }`: a BFD session (RFC 5880/5881) to every neighbor on this interface from
    /// 2-Way on; `None` = no BFD.
    pub bfd: Option<OspfBfd>,
}

/// BFD timers of an OSPF interface, in milliseconds (keepalived `bfd_instance` names).
/// The defaults (300/300/1000 × 3) are FRR bfdd's; BIRD's defaults negotiate with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OspfBfd {
    /// Required Min RX Interval.
    pub min_rx_ms: u32,
    /// Desired Min TX Interval once Up.
    pub min_tx_ms: u32,
    /// Desired Min TX Interval while not Up (at least 1000: RFC 5880 §6.8.3).
    pub idle_tx_ms: u32,
    /// Detect Mult.
    pub multiplier: u8,
    pub authentication: Option<BfdAuth>,
}

impl Default for OspfBfd {
    fn default() -> Self {
        OspfBfd {
            min_rx_ms: 300,
            min_tx_ms: 300,
            idle_tx_ms: 1000,
            multiplier: 3,
            authentication: None,
        }
    }
}

/// BFD authentication (RFC 5880 §6.7): one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BfdAuth {
    #[serde(rename = "type")]
    pub kind: BfdAuthType,
    pub key_id: u8,
    pub key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BfdAuthType {
    Simple,
    KeyedMd5,
    MeticulousKeyedMd5,
    KeyedSha1,
    MeticulousKeyedSha1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum OspfAuth {
    #[default]
    None,
    /// Simple password, at most 8 bytes on the wire.
    Simple { key: String },
    /// Cryptographic authentication: keyed MD5 (RFC 2328 appendix D) and HMAC-SHA (RFC
    /// 5709) keys, every one accepted, the last one signing.
    Crypto { keys: Vec<OspfKey> },
}

/// One `auth_key ID KEY [ALGORITHM]` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OspfKey {
    pub id: u8,
    #[serde(rename = "type")]
    pub algorithm: OspfKeyAlgorithm,
    pub key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OspfKeyAlgorithm {
    Md5,
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl OspfKeyAlgorithm {
    /// The configuration name (`auth_type`, `auth_key`'s third argument).
    pub fn name(self) -> &'static str {
        match self {
            OspfKeyAlgorithm::Md5 => "md5",
            OspfKeyAlgorithm::HmacSha1 => "hmac_sha1",
            OspfKeyAlgorithm::HmacSha256 => "hmac_sha256",
            OspfKeyAlgorithm::HmacSha384 => "hmac_sha384",
            OspfKeyAlgorithm::HmacSha512 => "hmac_sha512",
        }
    }

    /// Longest key: MD5 keys are 16 bytes on the wire; HMAC keys are bounded only to
    /// keep inputs bounded.
    pub fn max_key_len(self) -> usize {
        match self {
            OspfKeyAlgorithm::Md5 => 16,
            _ => 128,
        }
    }

    /// The hash length L (RFC 5709 §3.3): longer HMAC keys are hashed first.
    pub fn hash_len(self) -> usize {
        match self {
            OspfKeyAlgorithm::Md5 => 16,
            OspfKeyAlgorithm::HmacSha1 => 20,
            OspfKeyAlgorithm::HmacSha256 => 32,
            OspfKeyAlgorithm::HmacSha384 => 48,
            OspfKeyAlgorithm::HmacSha512 => 64,
        }
    }
}

// ───────────────────────────── global_defs ─────────────────────────────

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    /// `net_namespace NAME`: the daemon runs in the named network namespace
    /// (`/run/netns/NAME`, as `ip netns add` creates it).
    pub net_namespace: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_helo_name: Option<String>,
    #[serde(serialize_with = "secs")]
    pub smtp_connect_timeout: Duration,
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub smtp_alert_checker: Option<bool>,
    pub enable_script_security: bool,
    pub script_user: Option<ScriptUser>,
    pub default_interface: Option<String>,
    pub dynamic_interfaces: bool,
    pub vrrp: VrrpGlobals,
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    pub lvs_timeouts: Option<LvsTimeouts>,
    pub lvs_flush: bool,
    pub lvs_flush_on_stop: LvsFlushOnStop,
    pub checker_log_all_failures: bool,
}

/// The `vrrp_*` tunables of global_defs; instances inherit them unless they override.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpGlobals {
    pub strict: bool,
    pub version: u8,
    #[serde(serialize_with = "secs")]
    pub garp_interval: Duration,
    #[serde(serialize_with = "secs")]
    pub gna_interval: Duration,
    #[serde(serialize_with = "secs")]
    pub garp_master_delay: Duration,
    pub garp_master_repeat: u32,
    #[serde(serialize_with = "secs")]
    pub garp_lower_prio_delay: Duration,
    pub garp_lower_prio_repeat: u32,
    /// Zero: no periodic refresh.
    #[serde(serialize_with = "secs")]
    pub garp_master_refresh: Duration,
    pub garp_master_refresh_repeat: u32,
    pub skip_check_adv_addr: bool,
    pub check_unicast_src: bool,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub down_timer_adverts: u8,
    pub mcast_group4: Ipv4Addr,
    pub mcast_group6: std::net::Ipv6Addr,
    #[serde(serialize_with = "secs")]
    pub startup_delay: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpServer {
    /// An address or a host name, as keepalived accepts both.
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ScriptUser {
    pub user: String,
    pub group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LvsSyncDaemon {
    pub interface: String,
    pub vrrp_instance: Option<String>,
    pub sync_id: Option<u8>,
    pub maxlen: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
}

/// `lvs_timeouts`: what `ipvsadm --set tcp tcpfin udp` does. An unset value leaves the
/// kernel's current setting alone.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct LvsTimeouts {
    #[serde(serialize_with = "opt_secs")]
    pub tcp: Option<Duration>,
    #[serde(serialize_with = "opt_secs")]
    pub tcpfin: Option<Duration>,
    #[serde(serialize_with = "opt_secs")]
    pub udp: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LvsFlushOnStop {
    /// Delete each managed service and real server individually (keepalived's default).
    #[default]
    No,
    /// Flush the whole IPVS table.
    Full,
    /// Delete each managed virtual server, leaving real-server removal to the kernel.
    VirtualServers,
}

// ───────────────────────────── addresses and routes ─────────────────────────────

/// One line of `virtual_ipaddress`, `virtual_ipaddress_excluded` or `static_ipaddress`:
/// `<IPADDR>[/<MASK>] [brd <IPADDR>] [dev <STRING>] [scope <SCOPE>] [label <LABEL>] …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpAddressSpec {
    /// Address with its prefix length (/32 or /128 when none was written).
    pub address: IpNetwork,
    pub broadcast: Option<IpAddr>,
    pub dev: Option<String>,
    pub scope: Option<AddressScope>,
    pub label: Option<String>,
    pub peer: Option<IpNetwork>,
    pub no_track: bool,
    pub use_vmac: bool,
    /// The rarer `ip address add` flags (home, -nodad, noprefixroute, …), kept verbatim.
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressScope {
    Global,
    Site,
    Link,
    Host,
    Nowhere,
}

/// One line of `virtual_routes` / `static_routes`, `ip route`-like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteSpec {
    pub destination: IpNetwork,
    pub kind: RouteKind,
    pub src: Option<IpAddr>,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub scope: Option<AddressScope>,
    pub table: Option<String>,
    pub metric: Option<u32>,
    pub no_track: bool,
    /// Any further `ip route` options (onlink, proto, mtu …), kept verbatim.
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    #[default]
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
}

// ───────────────────────────── scripts ─────────────────────────────

/// A script with the user it runs as: `<STRING>|<QUOTED-STRING> [username [groupname]]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Script {
    pub command: String,
    /// Boxed: rarely set, and a `notify_up`/`notify_down` sits in every real server.
    pub user: Option<Box<ScriptUser>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpScript {
    pub name: String,
    pub script: Script,
    #[serde(serialize_with = "secs")]
    pub interval: Duration,
    #[serde(serialize_with = "opt_secs")]
    pub timeout: Option<Duration>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
}

/// How a `vrrp_track_process`'s parameters are compared (`param_match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ParamMatch {
    /// The process has exactly the configured parameters.
    #[default]
    Exact,
    /// The first configured parameters match exactly; the process may have more.
    Partial,
    /// As `Partial`, and the last configured parameter may be a prefix of the process's.
    Initial,
}

/// A top-level `vrrp_track_process NAME { }`: how many processes run a command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct VrrpTrackProcess {
    pub name: String,
    /// The command name (`/proc/PID/comm`), or with parameters or `full_command` the
    /// first word of the command line.
    pub process: String,
    /// `None`: parameters are not compared; `Some(empty)`: the process has none.
    pub params: Option<Vec<String>>,
    pub param_match: ParamMatch,
    pub weight: i32,
    pub reverse: bool,
    pub quorum: u32,
    pub quorum_max: u32,
    /// Quorum must hold this long after it is reached before it counts.
    #[serde(serialize_with = "secs")]
    pub fork_delay: Duration,
    /// Quorum must be lost this long before it counts.
    #[serde(serialize_with = "secs")]
    pub terminate_delay: Duration,
    pub full_command: bool,
}

// ───────────────────────────── VRRP ─────────────────────────────

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VrrpSyncGroup {
    pub name: String,
    pub group: Vec<String>,
    pub notify_master: Option<Script>,
    pub notify_backup: Option<Script>,
    pub notify_fault: Option<Script>,
    pub notify_stop: Option<Script>,
    pub notify: Option<Script>,
    pub smtp_alert: bool,
    pub global_tracking: bool,
    pub sync_group_tracking_weight: bool,
    pub track_interface: Vec<TrackInterface>,
    pub track_script: Vec<TrackScript>,
    pub track_file: Vec<TrackFileRef>,
    pub track_process: Vec<TrackProcessRef>,
    pub track_bfd: Vec<TrackBfdRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum VrrpState {
    Master,
    #[default]
    Backup,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpInstance {
    pub name: String,
    pub state: VrrpState,
    /// May be absent with unicast peers (keepalived.conf(5)).
    pub interface: Option<String>,
    pub virtual_router_id: u8,
    pub priority: u8,
    #[serde(serialize_with = "secs")]
    pub advert_int: Duration,
    /// 2 or 3; inherited from global `vrrp_version` (IPv6 instances always use 3).
    pub version: u8,
    pub authentication: Option<VrrpAuth>,
    pub virtual_ipaddress: Vec<IpAddressSpec>,
    pub virtual_ipaddress_excluded: Vec<IpAddressSpec>,
    pub virtual_routes: Vec<RouteSpec>,
    pub track_interface: Vec<TrackInterface>,
    pub track_script: Vec<TrackScript>,
    pub track_file: Vec<TrackFileRef>,
    pub track_process: Vec<TrackProcessRef>,
    pub track_bfd: Vec<TrackBfdRef>,
    pub nopreempt: bool,
    #[serde(serialize_with = "secs")]
    pub preempt_delay: Duration,
    #[serde(serialize_with = "secs")]
    pub garp_master_delay: Duration,
    pub garp_master_repeat: u32,
    #[serde(serialize_with = "secs")]
    pub garp_master_refresh: Duration,
    pub garp_master_refresh_repeat: u32,
    #[serde(serialize_with = "secs")]
    pub garp_lower_prio_delay: Duration,
    pub garp_lower_prio_repeat: u32,
    pub mcast_src_ip: Option<IpAddr>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peer: Vec<UnicastPeer>,
    pub unicast_ttl: Option<u8>,
    pub check_unicast_src: bool,
    pub use_vmac: Option<UseVmac>,
    pub vmac_xmit_base: bool,
    pub dont_track_primary: bool,
    pub track_src_ip: bool,
    pub skip_check_adv_addr: bool,
    pub strict_mode: bool,
    /// Accept mode (RFC 5798 §6.1): on unless `no_accept` or strict mode.
    pub accept: bool,
    pub promote_secondaries: bool,
    pub down_timer_adverts: u8,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub notify_master: Option<Script>,
    pub notify_backup: Option<Script>,
    pub notify_fault: Option<Script>,
    pub notify_stop: Option<Script>,
    pub notify: Option<Script>,
    pub notify_master_rx_lower_pri: Option<Script>,
    pub smtp_alert: bool,
    /// Set from the instance's `lvs_sync_daemon_interface` (or its historic misspelling
    /// `lvs_sync_daemon_inteface`), which keepalived ≥ 1.2.20 moved to global_defs.
    pub lvs_sync_daemon_interface: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "auth_type", rename_all = "UPPERCASE")]
pub enum VrrpAuth {
    /// Simple password; only the first 8 bytes go on the wire.
    Pass { auth_pass: String },
    /// IPsec AH (keepalived's own HMAC-MD5-96 variant).
    Ah { auth_pass: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackInterface {
    pub name: String,
    /// 0: interface down → FAULT. Otherwise added to / subtracted from the priority.
    pub weight: i32,
    pub reverse: bool,
}

/// A top-level `track_file NAME { file; weight [reverse]; init_file }` block.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TrackFileDef {
    pub name: String,
    pub path: PathBuf,
    /// The default weight of the instances and groups that name it (default 1).
    pub weight: i64,
    pub reverse: bool,
    pub init: Option<FileInit>,
}

/// `track_file { NAME [weight N] [reverse|noreverse] }` in a vrrp_instance or sync group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackFileRef {
    pub name: String,
    /// `None`: the weight declared in the `track_file` block.
    pub weight: Option<i32>,
    pub reverse: bool,
}

/// `track_process { NAME [weight N] [reverse|noreverse] }`: the same shape.
pub type TrackProcessRef = TrackFileRef;

/// `track_bfd { NAME [weight N] [reverse|noreverse] }`: the same shape.
pub type TrackBfdRef = TrackFileRef;

/// A top-level `bfd_instance NAME { }` (keepalived.conf(5) "BFD CONFIGURATION"): a
/// single-hop BFD session (RFC 5880/5881) to one neighbor, run by the same speaker as the
/// OSPF interfaces' sessions; VRRP instances follow it with `track_bfd`. Intervals are
/// in microseconds (keepalived reads milliseconds with a microsecond resolution).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BfdInstance {
    pub name: String,
    pub neighbor: Ipv4Addr,
    /// Our address on the link; `None`: the address of the interface that reaches the
    /// neighbor directly.
    pub source: Option<Ipv4Addr>,
    /// Required Min RX Interval.
    pub min_rx_us: u32,
    /// Desired Min TX Interval once Up.
    pub min_tx_us: u32,
    /// Desired Min TX Interval while not Up (raised to 1 s, RFC 5880 §6.8.3).
    pub idle_tx_us: u32,
    /// Detect Mult.
    pub multiplier: u8,
    /// Default weight of the `track_bfd` references that give none.
    pub weight: i64,
    pub reverse: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackScript {
    pub name: String,
    /// `None`: the weight declared in the `vrrp_script`.
    pub weight: Option<i32>,
    pub reverse: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnicastPeer {
    pub address: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct UseVmac {
    /// Name of the macvlan interface; keepalived's default is `vrrp.<VRID>`.
    pub interface: Option<String>,
    pub mac: Option<String>,
}

// ───────────────────────────── LVS ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IpFamily {
    #[default]
    Inet,
    Inet6,
}

/// What identifies a virtual service. Two virtual servers with the same key cannot
/// both exist (IPVS would refuse the second).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ServiceKey {
    /// `virtual_server IP [PORT]`; port 0 is the persistent all-ports service.
    Addr {
        ip: IpAddr,
        port: u16,
        protocol: Protocol,
    },
    /// `virtual_server fwmark N`.
    Fwmark { mark: u32, family: IpFamily },
    /// `virtual_server group NAME` (the group lists the addresses / fwmarks).
    Group { name: String, protocol: Protocol },
}

impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceKey::Addr {
                ip: IpAddr::V6(ip),
                port,
                protocol,
            } => {
                write!(f, "{protocol:?} [{ip}]:{port}")
            }
            ServiceKey::Addr { ip, port, protocol } => write!(f, "{protocol:?} {ip}:{port}"),
            ServiceKey::Fwmark { mark, family } => write!(f, "fwmark {mark} ({family:?})"),
            ServiceKey::Group { name, protocol } => write!(f, "{protocol:?} group {name}"),
        }
    }
}

/// IPVS schedulers keepalived accepts (`lvs_sched` / `lb_algo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    /// keepalived.conf(5) is silent on the default; keepalived 2.2 leaves the scheduler
    /// empty and the kernel then uses wlc, so wlc is what runs.
    #[default]
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Mh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Twos,
}

impl Scheduler {
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Mh => "mh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Twos => "twos",
        }
    }

    /// Hashing schedulers whose choice is already sticky per source.
    pub fn is_source_hashing(self) -> bool {
        matches!(self, Scheduler::Sh | Scheduler::Mh)
    }
}

/// Scheduler flags (`ipvsadm -b`). `sh-*` and `mh-*` share the kernel's flag-1/flag-2
/// bits; we keep what was written so `--dump-config` reads like the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub struct SchedulerFlags {
    pub flag_1: bool,
    pub flag_2: bool,
    pub flag_3: bool,
    pub sh_fallback: bool,
    pub sh_port: bool,
    pub mh_fallback: bool,
    pub mh_port: bool,
}

impl SchedulerFlags {
    /// The IP_VS_SVC_F_SCHED1..3 bits (0x08, 0x10, 0x20) as the kernel sees them:
    /// sh-fallback/mh-fallback = flag-1, sh-port/mh-port = flag-2.
    pub fn kernel_bits(&self) -> u32 {
        let mut bits = 0;
        if self.flag_1 || self.sh_fallback || self.mh_fallback {
            bits |= 0x08;
        }
        if self.flag_2 || self.sh_port || self.mh_port {
            bits |= 0x10;
        }
        if self.flag_3 {
            bits |= 0x20;
        }
        bits
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TunnelChecksum {
    #[default]
    Nocsum,
    Csum,
    Remcsum,
}

/// Forwarding method (`lvs_method` / `lb_kind`). keepalived.conf(5): "default is NAT".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(tag = "method", rename_all = "UPPERCASE")]
pub enum ForwardingMethod {
    #[default]
    Nat,
    Dr,
    Tun {
        tunnel_type: TunnelType,
        /// Only for GUE.
        port: Option<u16>,
        checksum: TunnelChecksum,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Persistence {
    #[serde(serialize_with = "secs")]
    pub timeout: Duration,
    /// Netmask applied to the client address (`-M`); /32 (or /128) when not set.
    pub granularity: Option<IpAddr>,
    pub engine: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SorryServer {
    pub ip: IpAddr,
    pub port: u16,
    pub method: ForwardingMethod,
    pub inhibit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VirtualServerGroup {
    pub name: String,
    pub members: Vec<GroupMember>,
}

/// Most addresses one `virtual_server_group` range may stand for: each becomes a kernel
/// service and a VIP, so a wider range is a mistake, not a plan.
pub const MAX_GROUP_RANGE: u128 = 65_536;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum GroupMember {
    /// A single address or an inclusive range (`192.168.200.1-10`, `a.b.c.d-e.f.g.h`,
    /// `a.b.c.d/nn`), with the port (0 = all ports).
    Range {
        first: IpAddr,
        last: IpAddr,
        port: u16,
    },
    Fwmark {
        mark: u32,
        family: Option<IpFamily>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VirtualServer {
    pub key: ServiceKey,
    pub scheduler: Scheduler,
    pub scheduler_flags: SchedulerFlags,
    pub method: ForwardingMethod,
    pub persistence: Option<Persistence>,
    pub protocol: Protocol,
    pub ip_family: Option<IpFamily>,
    #[serde(serialize_with = "secs")]
    pub delay_loop: Duration,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    pub alpha: bool,
    pub omega: bool,
    pub inhibit_on_failure: bool,
    pub ha_suspend: bool,
    pub one_packet_scheduling: bool,
    pub virtualhost: Option<String>,
    pub sorry_server: Option<SorryServer>,
    /// keepalived's old `nat_mask`: accepted, not used by IPVS.
    pub nat_mask: Option<IpAddr>,
    pub smtp_alert: Option<bool>,
    /// `maglev_table_size` (director's own keyword): `None` takes the `director { }` value.
    pub maglev_table_size: Option<u32>,
    /// `ospf_metric`: the OSPF metric of this service's VIPs (active-active mode); `None`
    /// takes `ospf { vip_metric }`. Every service of one VIP must agree.
    pub ospf_metric: Option<u16>,
    pub real_servers: Vec<RealServer>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RealServer {
    pub ip: IpAddr,
    /// Defaults to the virtual server's port.
    pub port: u16,
    pub weight: u32,
    pub method: ForwardingMethod,
    pub inhibit_on_failure: bool,
    /// Boxed, as most real servers have none (one real server is 112 bytes, not 160).
    pub notify_up: Option<Box<Script>>,
    pub notify_down: Option<Box<Script>>,
    pub upper_threshold: Option<u32>,
    pub lower_threshold: Option<u32>,
    pub virtualhost: Option<String>,
    pub smtp_alert: Option<bool>,
    pub alpha: bool,
    /// No checker: always up, as in keepalived.
    pub checkers: Vec<Checker>,
}

/// Options every checker shares, resolved from checker → real server → virtual server
/// → keepalived default.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct CheckerCommon {
    /// Defaults to the real server's address.
    pub connect_ip: IpAddr,
    /// Defaults to the real server's port.
    pub connect_port: u16,
    pub bindto: Option<IpAddr>,
    pub bind_if: Option<String>,
    pub bind_port: Option<u16>,
    pub fwmark: Option<u32>,
    #[serde(serialize_with = "secs")]
    pub connect_timeout: Duration,
    pub retry: u32,
    #[serde(serialize_with = "secs")]
    pub delay_before_retry: Duration,
    /// Maximum random delay before the first check (default: delay_loop).
    #[serde(serialize_with = "secs")]
    pub warmup: Duration,
    #[serde(serialize_with = "secs")]
    pub delay_loop: Duration,
    pub alpha: bool,
    pub log_all_failures: bool,
}

/// One health check of a real server. Two checkers that compare equal probe the same thing
/// the same way, which is how the health runtime runs a check shared by several virtual
/// servers only once.
///
/// Each variant holds the shared options inline and its own settings boxed: an enum is as
/// large as its largest variant, and inline SSL_GET settings made every TCP_CHECK of a
/// 100,000-real-server configuration 304 bytes instead of 168. The HTTP settings (URLs,
/// status codes) are usually the same for every real server of a site, so a loaded
/// configuration shares equal ones (see [`SharedSettings`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type")]
pub enum Checker {
    #[serde(rename = "TCP_CHECK")]
    Tcp { common: CheckerCommon },
    #[serde(rename = "HTTP_GET")]
    Http {
        common: CheckerCommon,
        #[serde(serialize_with = "shared")]
        http: Arc<HttpCheck>,
    },
    #[serde(rename = "SSL_GET")]
    Ssl {
        common: CheckerCommon,
        #[serde(serialize_with = "shared")]
        http: Arc<HttpCheck>,
        tls: Box<TlsCheck>,
    },
    #[serde(rename = "MISC_CHECK")]
    Misc {
        common: CheckerCommon,
        misc: Box<MiscCheck>,
    },
    #[serde(rename = "SMTP_CHECK")]
    Smtp {
        common: CheckerCommon,
        smtp: SmtpCheck,
    },
    #[serde(rename = "DNS_CHECK")]
    Dns {
        common: CheckerCommon,
        dns: Box<DnsCheck>,
    },
    #[serde(rename = "UDP_CHECK")]
    Udp {
        common: CheckerCommon,
        udp: Box<UdpCheck>,
    },
    #[serde(rename = "PING_CHECK")]
    Ping { common: CheckerCommon },
    #[serde(rename = "FILE_CHECK")]
    File {
        common: CheckerCommon,
        file: Box<FileCheck>,
    },
    #[serde(rename = "BFD_CHECK")]
    Bfd {
        common: CheckerCommon,
        bfd: BfdCheck,
    },
}

/// BFD_CHECK: up while the session of a `bfd_instance` is Up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct BfdCheck {
    /// The `bfd_instance`'s name.
    pub name: String,
}

impl GroupMember {
    /// How many addresses a range stands for (`None` for a firewall mark, or a reversed or
    /// mixed-family range).
    pub fn address_count(&self) -> Option<u128> {
        let GroupMember::Range { first, last, .. } = self else {
            return None;
        };
        let (a, b) = match (first, last) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(*a).into(), u32::from(*b).into()),
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(*a), u128::from(*b)),
            _ => return None,
        };
        (b >= a).then(|| b - a + 1)
    }
}

impl Checker {
    pub fn common(&self) -> &CheckerCommon {
        match self {
            Checker::Tcp { common }
            | Checker::Http { common, .. }
            | Checker::Ssl { common, .. }
            | Checker::Misc { common, .. }
            | Checker::Smtp { common, .. }
            | Checker::Dns { common, .. }
            | Checker::Udp { common, .. }
            | Checker::Ping { common }
            | Checker::File { common, .. }
            | Checker::Bfd { common, .. } => common,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Checker::Tcp { .. } => "TCP_CHECK",
            Checker::Http { .. } => "HTTP_GET",
            Checker::Ssl { .. } => "SSL_GET",
            Checker::Misc { .. } => "MISC_CHECK",
            Checker::Smtp { .. } => "SMTP_CHECK",
            Checker::Dns { .. } => "DNS_CHECK",
            Checker::Udp { .. } => "UDP_CHECK",
            Checker::Ping { .. } => "PING_CHECK",
            Checker::File { .. } => "FILE_CHECK",
            Checker::Bfd { .. } => "BFD_CHECK",
        }
    }
}

/// SSL_GET's TLS settings: keepalived's `SSL { }` block (global) plus the checker's own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Default)]
pub struct TlsCheck {
    /// `enable_sni`: send a server name (the `sni_name`, else the virtualhost, else none).
    pub enable_sni: bool,
    pub sni_name: Option<String>,
    /// director's opt-in `verify_ca FILE`: check the server's chain against these CAs
    /// (keepalived never verifies the server certificate).
    pub verify_ca: Option<PathBuf>,
    /// Client certificate and key from the `SSL { }` block, if any.
    pub certificate: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Default)]
pub struct SmtpCheck {
    /// HELO argument; the parser fills keepalived's default, `smtpchecker.keepalived.org`.
    pub helo_name: Option<String>,
}

/// DNS_CHECK query types keepalived knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub enum DnsQueryType {
    A,
    Ns,
    Cname,
    #[default]
    Soa,
    Mx,
    Txt,
    Aaaa,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DnsCheck {
    pub query_type: DnsQueryType,
    /// Query name; keepalived's default is the root, ".".
    pub name: String,
}

/// One byte of `require_reply`'s pattern: each nibble either must match or is `X` (ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct MaskedByte {
    pub value: u8,
    /// Bits that must match (0xF0 for `Xa`... as written, 0xFF for a plain byte).
    pub mask: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct UdpCheck {
    /// Datagram payload; random bytes when unset, as keepalived.
    pub payload: Option<Vec<u8>>,
    /// `require_reply`: a reply must arrive (otherwise only an ICMP error fails the check).
    pub require_reply: bool,
    /// `require_reply HEX`: the reply must match up to the shorter of the two lengths.
    pub reply_pattern: Vec<MaskedByte>,
    pub min_reply_length: u32,
    pub max_reply_length: u32,
}

/// FILE_CHECK: a number read from a `track_file`'s file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct FileCheck {
    /// The `track_file` block's name, for messages.
    pub track_file: String,
    pub path: PathBuf,
    /// With weight 0 a non-zero value is a failure; otherwise value × weight (negated with
    /// `reverse`), and only keepalived's fault weight −2147483648 is a failure.
    pub weight: i64,
    pub reverse: bool,
    /// `dynamic`: the result also changes the real server's weight.
    pub dynamic: bool,
    /// The `track_file`'s `init_file`: written when the checker starts.
    pub init: Option<FileInit>,
}

/// `init_file [VALUE] [overwrite]`: the value to write at start (default 0), and whether an
/// existing file is overwritten too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct FileInit {
    pub value: i64,
    pub overwrite: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub enum HttpProtocol {
    #[serde(rename = "1.0")]
    #[default]
    Http10,
    /// 1.0 plus `Connection: close`.
    #[serde(rename = "1.0C")]
    Http10Close,
    #[serde(rename = "1.1")]
    Http11,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct HttpCheck {
    pub urls: Vec<UrlCheck>,
    pub http_protocol: HttpProtocol,
    /// Host header; from the checker, the real server or the virtual server.
    pub virtualhost: Option<String>,
    pub fast_recovery: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct UrlCheck {
    pub path: String,
    /// Lower-case hex MD5 of the body, as `genhash` prints it.
    pub digest: Option<String>,
    /// Accepted status codes as inclusive ranges; keepalived's default 200-299.
    pub status_code: Vec<(u16, u16)>,
    pub virtualhost: Option<String>,
    pub regex: Option<String>,
    pub regex_no_match: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct MiscCheck {
    pub misc_path: Script,
    /// Script execution timeout; keepalived uses delay_loop when unset.
    #[serde(serialize_with = "secs")]
    pub misc_timeout: Duration,
    /// Exit status 2..255 sets the weight to status − 2.
    pub misc_dynamic: bool,
}

/// Equal checker settings of one configuration, held once: `config::load_with` passes every
/// virtual server through [`SharedSettings::adopt`] as it copies it out of the parser's
/// arena.
#[derive(Debug, Default)]
pub struct SharedSettings {
    http: HashSet<Arc<HttpCheck>>,
}

impl SharedSettings {
    /// Point each HTTP_GET/SSL_GET of `vs` at the settings held here, adding a copy of any
    /// not seen yet (a copy, so that it lives where this is called from).
    pub fn adopt(&mut self, vs: &mut VirtualServer) {
        let checkers = vs.real_servers.iter_mut().flat_map(|rs| &mut rs.checkers);
        for checker in checkers {
            if let Checker::Http { http, .. } | Checker::Ssl { http, .. } = checker {
                *http = match self.http.get(&**http) {
                    Some(held) => Arc::clone(held),
                    None => {
                        let held = Arc::new(HttpCheck::clone(http));
                        self.http.insert(Arc::clone(&held));
                        held
                    }
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 10k x 10 configuration holds 100,000 of each: a field added inline (rather than
    /// boxed, when it is usually empty) shows here first.
    #[test]
    fn real_servers_and_checkers_stay_small() {
        assert!(std::mem::size_of::<RealServer>() <= 112);
        assert!(std::mem::size_of::<Checker>() <= 176);
    }
}
