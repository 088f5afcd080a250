//! The desired forwarding tables: what every director must program, as plain data.
//!
//! [`DesiredTables`] is a pure function of (configuration, health state) — see
//! [`crate::policy::desired_tables`] — and is kept in a canonical order (services sorted by
//! key, real servers sorted by address then port) so that two directors with the same
//! inputs hold byte-identical values (`Serialize` + `PartialEq`). The same types describe
//! what a backend reads back from the kernel ([`KernelTables`]), so planning is a diff of
//! like with like.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// IPVS service flags (`IP_VS_SVC_F_*` in `include/uapi/linux/ip_vs.h`).
pub mod svc_flags {
    pub const PERSISTENT: u32 = 0x0001;
    /// Set by the kernel on every hashed service; never part of what we program or compare.
    pub const HASHED: u32 = 0x0002;
    pub const ONEPACKET: u32 = 0x0004;
    /// sh-fallback / mh-fallback.
    pub const SCHED1: u32 = 0x0008;
    /// sh-port / mh-port.
    pub const SCHED2: u32 = 0x0010;
    pub const SCHED3: u32 = 0x0020;
    /// Everything a user can set.
    pub const USER_MASK: u32 = PERSISTENT | ONEPACKET | SCHED1 | SCHED2 | SCHED3;
}

/// Transport protocol of an address-keyed service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// IANA protocol number, as IPVS wants it.
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    pub fn from_number(n: u16) -> Option<Protocol> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// Address family of a fwmark service (address-keyed services take it from the address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// `AF_INET` / `AF_INET6`.
    pub fn af(self) -> u16 {
        match self {
            Family::Inet => libc::AF_INET as u16,
            Family::Inet6 => libc::AF_INET6 as u16,
        }
    }

    pub fn from_af(af: u16) -> Option<Family> {
        match i32::from(af) {
            libc::AF_INET => Some(Family::Inet),
            libc::AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }

    /// Host-route prefix length (the "no persistence netmask" value).
    pub fn max_prefix(self) -> u8 {
        match self {
            Family::Inet => 32,
            Family::Inet6 => 128,
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKey {
    Addr {
        addr: IpAddr,
        port: u16,
        protocol: Protocol,
    },
    Fwmark {
        family: Family,
        mark: u32,
    },
}

impl ServiceKey {
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                addr: IpAddr::V6(a),
                port,
                protocol,
            } => write!(f, "{} [{a}]:{port}", protocol.as_str()),
            ServiceKey::Addr {
                addr,
                port,
                protocol,
            } => write!(f, "{} {addr}:{port}", protocol.as_str()),
            ServiceKey::Fwmark { family, mark } => {
                let fam = if *family == Family::Inet6 {
                    " ipv6"
                } else {
                    ""
                };
                write!(f, "fwmark {mark}{fam}")
            }
        }
    }
}

/// What identifies a real server inside a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
        }
    }
}

/// IPVS tunnel encapsulation (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    Ipip,
    Gue,
    Gre,
}

/// Forwarding method of a real server (`IP_VS_CONN_F_*` & `IP_VS_CONN_F_FWD_MASK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "method")]
pub enum Forward {
    /// NAT (`-m`).
    Masq,
    Local,
    /// `-i`; `port` and `flags` only matter for GUE (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
    Tunnel {
        kind: TunnelType,
        port: u16,
        flags: u16,
    },
    /// Direct routing (`-g`).
    Route,
    Bypass,
}

/// Service parameters that the kernel stores (everything but the real servers).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub key: ServiceKey,
    /// Kernel scheduler name: rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf twos.
    pub scheduler: String,
    /// `svc_flags::*`, never HASHED. PERSISTENT is set iff `timeout > 0`.
    pub flags: u32,
    /// Persistence timeout in seconds (0: not persistent).
    pub timeout: u32,
    /// Persistence netmask as a prefix length (32/128 when unset, as ipvsadm sends it).
    pub netmask: u8,
}

/// A real server as the kernel stores it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DestSpec {
    pub key: DestKey,
    pub forward: Forward,
    pub weight: u32,
    pub upper_threshold: u32,
    pub lower_threshold: u32,
}

/// Which part of a flow the nftables backend hashes to pick a Maglev slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowHash {
    /// Source address only: every connection of a client lands on the same real server
    /// (persistence, `sh`/`mh` without the port flag).
    SourceAddr,
    /// Source address and port: per-connection spreading.
    SourceAddrPort,
}

/// One desired virtual service with its real servers in canonical order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub spec: ServiceSpec,
    /// Sorted by (addr, port). Failed servers are present with weight 0.
    pub dests: Vec<DestSpec>,
    pub flow_hash: FlowHash,
    /// Maglev table size of the nftables backend (a prime; see `maglev::table_size_for`).
    /// IPVS ignores it: the kernel's `mh` table size is fixed when the kernel is built.
    pub maglev_size: u32,
}

/// `ipvsadm --set tcp tcpfin udp`, in seconds (0 = leave the kernel's value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// State of the kernel's connection-sync daemon (`IP_VS_STATE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncState {
    Master,
    Backup,
}

/// One kernel sync daemon (`ipvsadm --start-daemon`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SyncDaemon {
    pub state: SyncState,
    pub interface: String,
    pub sync_id: u32,
    /// Optional parameters; `None` leaves the kernel default.
    pub max_len: Option<u16>,
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
}

/// `/proc/sys/net/ipv4/vs/*` switches the daemon sets (None: leave as is).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvsSysctls {
    pub sloppy_tcp: Option<bool>,
    pub sloppy_sctp: Option<bool>,
    pub conntrack: Option<bool>,
    pub expire_nodest_conn: Option<bool>,
}

/// Everything a backend programs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredTables {
    /// Sorted by key.
    pub services: Vec<Service>,
    pub timeouts: Option<Timeouts>,
    /// Sorted.
    pub sync_daemons: Vec<SyncDaemon>,
    pub sysctls: IpvsSysctls,
}

impl DesiredTables {
    /// Puts services, real servers and daemons in canonical order and drops duplicate keys
    /// (the first occurrence wins), so that equal inputs give equal values.
    pub fn canonicalize(&mut self) {
        self.services.sort_by_key(|s| s.spec.key);
        self.services.dedup_by(|a, b| a.spec.key == b.spec.key);
        for s in &mut self.services {
            s.dests.sort_by_key(|d| d.key);
            s.dests.dedup_by(|a, b| a.key == b.key);
        }
        self.sync_daemons.sort();
        self.sync_daemons.dedup();
    }

    pub fn service(&self, key: &ServiceKey) -> Option<&Service> {
        self.services
            .binary_search_by(|s| s.spec.key.cmp(key))
            .ok()
            .and_then(|i| self.services.get(i))
    }
}

/// A service as read back from a backend, real servers in the backend's own order (for IPVS
/// the insertion order, which `mh`/`sh`/`dh` tables depend on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelService {
    pub spec: ServiceSpec,
    pub dests: Vec<DestSpec>,
}

/// What a backend holds now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelTables {
    pub services: BTreeMap<ServiceKey, KernelService>,
    pub timeouts: Option<Timeouts>,
    pub sync_daemons: Vec<SyncDaemon>,
}

/// Traffic counters of one object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub connections: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// Counters of one real server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestStats {
    pub key: DestKey,
    pub weight: u32,
    pub active_connections: u32,
    pub inactive_connections: u32,
    pub counters: Counters,
}

/// Counters of one service and its real servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStats {
    pub key: ServiceKey,
    pub counters: Counters,
    pub dests: Vec<DestStats>,
}

/// Statistics read back from a backend, sorted by service key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableStats {
    pub services: Vec<ServiceStats>,
}
