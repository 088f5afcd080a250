//! OSPFv2 (RFC 2328) speaker for a stub router that announces prefixes.
//!
//! Knows nothing about load balancing: its API is "run these interfaces,
//! originate these stub prefixes with this metric, withdraw that one, shut
//! down gracefully", and it reports neighbor and adjacency events.

pub mod packet;
