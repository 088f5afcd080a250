//! Public API: configuration, [`spawn`], the cloneable [`Handle`] the control loop drives,
//! the [`Event`] stream and the serializable [`Status`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use ipnetwork::Ipv4Network;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::error::Error;
use crate::interface::ism;
use crate::neighbor::nsm;
use crate::packet::{AuthConfig, LsaKey};

/// One OSPFv2 instance (one router ID, one or more areas).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceConfig {
    pub router_id: Ipv4Addr,
    /// Metric of the announced /32 stub links (and of the AS-external LSAs when used).
    /// 0 is what BIRD and FRR announce for a loopback /32: use the same on every director.
    pub stub_metric: u16,
    pub areas: Vec<AreaConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AreaConfig {
    pub id: Ipv4Addr,
    /// A stub area (RFC 2328 §3.6): no AS-external LSAs; Hellos, DDs and our LSAs carry no
    /// E bit, and a neighbor whose Hellos disagree is ignored. VIPs always travel as stub
    /// links here, whatever the [`VipEncoding`].
    pub stub: bool,
    pub interfaces: Vec<InterfaceConfig>,
}

impl AreaConfig {
    /// A normal (non-stub) area.
    pub fn new(id: Ipv4Addr, interfaces: Vec<InterfaceConfig>) -> Self {
        AreaConfig {
            id,
            stub: false,
            interfaces,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkType {
    Broadcast,
    PointToPoint,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceConfig {
    pub name: String,
    pub network_type: NetworkType,
    pub hello_interval: u16,
    pub dead_interval: u32,
    pub retransmit_interval: u16,
    pub transmit_delay: u16,
    /// 0 = never DR/BDR. Any value interoperates: routers with a higher priority win.
    pub priority: u8,
    /// Cost of the interface's own link (the subnet), not of the VIPs.
    pub cost: u16,
    pub auth: AuthConfig,
    /// Passive: the subnet is announced as a stub link, but no Hello is sent and every
    /// packet received is dropped (BIRD `stub yes`, FRR `passive-interface`).
    pub passive: bool,
}

impl InterfaceConfig {
    /// RFC 2328 defaults (hello 10, dead 40, retransmit 5, transmit delay 1, priority 1,
    /// cost 10), broadcast, no authentication.
    pub fn new(name: impl Into<String>) -> Self {
        InterfaceConfig {
            name: name.into(),
            network_type: NetworkType::Broadcast,
            hello_interval: 10,
            dead_interval: 40,
            retransmit_interval: 5,
            transmit_delay: 1,
            priority: 1,
            cost: 10,
            auth: AuthConfig::None,
            passive: false,
        }
    }
}

/// How announced prefixes are encoded (see `docs/ospf.md`, "Many VIPs").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VipEncoding {
    /// Stub links in the Router-LSA while they fit in one packet ([`crate::STUB_LINK_LIMIT`]),
    /// AS-external LSAs (E2) for all of them beyond.
    #[default]
    Auto,
    /// Always one AS-external LSA per prefix (the Router-LSA then has the E bit).
    External,
}

/// Something that happened inside the speaker: for logs, status and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    InterfaceStateChange {
        interface: String,
        from: ism::State,
        to: ism::State,
    },
    NeighborStateChange {
        interface: String,
        router_id: Ipv4Addr,
        address: Ipv4Addr,
        from: nsm::State,
        to: nsm::State,
        event: String,
    },
    AdjacencyFull {
        interface: String,
        router_id: Ipv4Addr,
        address: Ipv4Addr,
    },
    AdjacencyLost {
        interface: String,
        router_id: Ipv4Addr,
        address: Ipv4Addr,
        reason: String,
    },
    LsaOriginated {
        area: Option<Ipv4Addr>,
        key: LsaKey,
        seq: i32,
        flushed: bool,
    },
    LsaReceived {
        interface: String,
        from: Ipv4Addr,
        key: LsaKey,
        seq: i32,
        age: u16,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub router_id: Ipv4Addr,
    pub stub_metric: u16,
    pub vip_encoding: VipEncoding,
    pub announced: BTreeSet<Ipv4Network>,
    /// The metric each announced prefix carries (its own, or `stub_metric`).
    pub metrics: BTreeMap<Ipv4Network, u16>,
    pub interfaces: Vec<InterfaceStatus>,
    pub areas: Vec<AreaStatus>,
    pub as_external_lsas: usize,
    pub counters: Counters,
    pub shutting_down: bool,
    /// The /32 prefixes our own LSAs in the LSDB carry now (stub links of our Router-LSAs,
    /// our AS-external LSAs), MaxAge ones left out: what the routers can see, as opposed to
    /// `announced`, what we were asked to announce.
    #[serde(default)]
    pub in_lsdb: BTreeSet<Ipv4Network>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InterfaceStatus {
    pub name: String,
    pub area: Ipv4Addr,
    pub stub_area: bool,
    pub passive: bool,
    pub network_type: NetworkType,
    pub state: ism::State,
    pub address: Option<Ipv4Network>,
    pub mtu: u16,
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    pub neighbors: Vec<NeighborStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NeighborStatus {
    pub router_id: Ipv4Addr,
    pub address: Ipv4Addr,
    pub state: nsm::State,
    pub priority: u8,
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    pub ls_request: usize,
    pub ls_retransmit: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaStatus {
    pub id: Ipv4Addr,
    /// LSA count per LS type.
    pub lsa_count: BTreeMap<u8, usize>,
    pub lsas: Vec<LsaSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LsaSummary {
    pub key: LsaKey,
    pub seq: i32,
    pub age: u16,
    pub checksum: u16,
    pub self_originated: bool,
}

/// Packet counters: received/sent per type and drops per reason.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    pub rx: BTreeMap<&'static str, u64>,
    pub tx: BTreeMap<&'static str, u64>,
    pub drops: BTreeMap<&'static str, u64>,
    pub tx_errors: u64,
    /// Neighbor transitions into or out of Full.
    pub adjacency_changes: u64,
    /// LSAs in the Link State Updates accepted for processing.
    pub lsas_received: u64,
    /// LSAs in the Link State Updates sent (flooding, answers, retransmissions).
    pub lsas_sent: u64,
    /// LSAs sent again because a neighbor did not acknowledge them in time.
    pub lsas_retransmitted: u64,
}

/// Announced prefixes and the metric each carries: `None` follows the instance's
/// `stub_metric` (and [`Handle::set_metric`]), `Some(m)` is the prefix's own.
pub type Announcements = BTreeMap<Ipv4Network, Option<u16>>;

pub(crate) enum Command {
    SetAnnounced(Announcements),
    Announce(Ipv4Network),
    Withdraw(Ipv4Network),
    SetMetric(u16),
    SetVipEncoding(VipEncoding),
    NeighborDown {
        interface: String,
        address: Ipv4Addr,
        reason: String,
    },
    Status(oneshot::Sender<Status>),
    Shutdown(Duration, oneshot::Sender<()>),
}

/// Cheap to clone; every method is a message to the instance task.
#[derive(Debug, Clone)]
pub struct Handle {
    pub(crate) tx: mpsc::UnboundedSender<Command>,
}

impl Handle {
    fn send(&self, c: Command) {
        // A stopped instance has nothing left to announce: ignoring is the right outcome.
        let _ = self.tx.send(c);
    }

    /// The desired set of announced prefixes (idempotent): the control loop's main call.
    pub fn set_announced(&self, prefixes: BTreeSet<Ipv4Network>) {
        self.send(Command::SetAnnounced(
            prefixes.into_iter().map(|p| (p, None)).collect(),
        ));
    }

    /// [`Handle::set_announced`] with a metric per prefix (stub links and AS-external
    /// LSAs carry it); `None` takes the instance's metric.
    pub fn set_announced_with_metrics(&self, prefixes: Announcements) {
        self.send(Command::SetAnnounced(prefixes));
    }

    pub fn announce(&self, p: Ipv4Network) {
        self.send(Command::Announce(p));
    }

    pub fn withdraw(&self, p: Ipv4Network) {
        self.send(Command::Withdraw(p));
    }

    /// Metric of every announced prefix that has none of its own.
    pub fn set_metric(&self, metric: u16) {
        self.send(Command::SetMetric(metric));
    }

    /// Stub links or AS-external LSAs (see [`VipEncoding`]). Every director of a site should
    /// use the same encoding, decided from the *configured* VIP count, so that ECMP holds.
    pub fn set_vip_encoding(&self, encoding: VipEncoding) {
        self.send(Command::SetVipEncoding(encoding));
    }

    /// Takes the neighbor with interface address `address` on `interface` Down at once,
    /// as if its inactivity timer had fired (RFC 2328 §10.3 InactivityTimer): what BIRD and
    /// FRR do when the BFD session to an OSPF neighbor goes Down (RFC 5882 §4.1). Unknown
    /// neighbors are ignored. `reason` goes to the log line.
    pub fn neighbor_down(&self, interface: &str, address: Ipv4Addr, reason: &str) {
        self.send(Command::NeighborDown {
            interface: interface.to_string(),
            address,
            reason: reason.to_string(),
        });
    }

    pub async fn status(&self) -> Result<Status, Error> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Status(tx))
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Graceful stop: as DR or BDR first resigns (Hellos with priority 0) and, as DR,
    /// waits — at most `max_wait / 2` — for the new DR's network to carry everyone; then
    /// flushes every self-originated LSA (MaxAge), waits until every Full neighbor
    /// acknowledged or `max_wait` passed, tells neighbors we are gone (Hello without
    /// neighbors), then stops the instance.
    pub async fn shutdown(self, max_wait: Duration) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Shutdown(max_wait, tx))
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }
}
