//! OSPFv2 (RFC 2328) speaker for a stub router that announces prefixes.
//!
//! Knows nothing about load balancing: its API is "run these interfaces, originate these
//! stub prefixes with this metric, withdraw that one, shut down gracefully", and it reports
//! neighbor and adjacency events. OSPFv2 only, concrete types. It forms real adjacencies
//! (DR/BDR election, DD exchange, flooding) with BIRD 2 and FRR 8; see `docs/ospf.md`.
//!
//! # API
//! ```no_run
//! # async fn demo() -> Result<(), ospf::Error> {
//! use std::{collections::BTreeSet, time::Duration};
//! use ospf::{AreaConfig, InstanceConfig, InterfaceConfig};
//! let cfg = InstanceConfig {
//!     router_id: "10.0.0.11".parse().unwrap(),
//!     stub_metric: 0,
//!     areas: vec![AreaConfig::new("0.0.0.0".parse().unwrap(), vec![InterfaceConfig::new("eth0")])],
//! };
//! let (handle, mut events) = ospf::spawn(cfg)?;          // inside a tokio runtime
//! handle.set_announced(BTreeSet::from(["192.0.2.1/32".parse().unwrap()])); // idempotent
//! let status = handle.status().await?;                 // serde::Serialize
//! while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(1), events.recv()).await { let _ = ev; }
//! handle.shutdown(Duration::from_secs(3)).await?;      // resign DR/BDR, flush, acks, goodbye
//! # Ok(()) }
//! ```
//! `Handle` (Clone): `set_announced`, `set_announced_with_metrics` (a metric per prefix),
//! `announce`, `withdraw`, `set_metric`, `set_vip_encoding`,
//! `neighbor_down` (an outside detector such as BFD declared a neighbor dead),
//! `status().await`, `shutdown(max_wait).await`. Events: `InterfaceStateChange`,
//! `NeighborStateChange`, `AdjacencyFull`, `AdjacencyLost`, `LsaOriginated`, `LsaReceived`.
//! The router ID is the caller's choice (the daemon passes its configured one or the highest
//! IPv4 address).
//!
//! # Files (who owns what)
//! - `api.rs` — configuration types, `Handle`, `Event`, `Status`, counters.
//! - `runtime.rs` — `spawn` and the instance task: commands, packets, link changes, timers.
//! - `network.rs` — raw proto-89 sockets per interface, multicast membership, rx tasks,
//!   rtnetlink link/address watcher.
//! - `instance.rs` — the pure protocol core (`Instance`: inputs, outputs, timers with an
//!   injected clock), interface and neighbor state machines, status.
//! - `interface.rs` — `Interface`, `pub mod ism`, DR/BDR election (§9.4).
//! - `neighbor.rs` — `Neighbor`, `pub mod nsm`, DD/request/retransmission state.
//! - `rx.rs` — packet acceptance and one handler per packet type (§8.2, §10.5–10.7, §13).
//! - `tx.rs` — building and sending packets, MTU-sized LSU/LSR/DD/ack packing, retransmits.
//! - `flood.rs` — flooding (§13.3) and acknowledgments (§13.5).
//! - `originate.rs` — Router-LSA with VIP stubs, Network-LSA as DR, AS-external LSAs,
//!   MinLSInterval, refresh, flush, superseding our LSAs from a previous run (§13.4).
//! - `lsdb.rs` — the LSDB of one scope, aging by install time.
//! - `packet/` — the codec: header view + `Repr` per packet type, LSAs, checksums, auth.
//! - `error.rs` — `Error`.
//!
//! Test entry points: unit tests beside the code, `src/tests.rs` drives the core with a fake
//! clock and scripted neighbors; `tests/codec.rs` holds golden BIRD/FRR packets;
//! `examples/speaker.rs` runs a speaker on real interfaces.

pub mod api;
mod error;
mod flood;
pub mod fuzzing;
pub mod instance;
pub mod interface;
pub mod lsdb;
pub mod neighbor;
mod network;
mod originate;
pub mod packet;
mod runtime;
mod rx;
mod tx;

#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;

pub use api::{
    Announcements, AreaConfig, AreaStatus, Counters, Event, Handle, InstanceConfig,
    InterfaceConfig, InterfaceStatus, LsaSummary, NeighborStatus, NetworkType, Status, VipEncoding,
};
pub use error::Error;
pub use ipnetwork::Ipv4Network;
pub use packet::auth::{Algorithm, CryptoKey, CryptoKeys};
pub use packet::AuthConfig;
pub use runtime::spawn;

/// AllSPFRouters.
pub const ALL_SPF_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 5);
/// AllDRouters.
pub const ALL_D_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 6);

/// Most VIPs announced as stub links in the Router-LSA ([`VipEncoding::Auto`]); above it all
/// are announced as AS-external LSAs (never in a stub area). 100 stub links plus up to 17
/// interface links keep the Router-LSA (24 + 12·links bytes) within one LS Update in a
/// 1500-byte MTU with MD5 (20 IP + 24 OSPF + 4 + 16 digest), up to 13 with HMAC-SHA-512
/// (64-byte digest): see docs/ospf.md.
pub const STUB_LINK_LIMIT: usize = 100;
