//! BFD (RFC 5880, single hop over IPv4 per RFC 5881) for directord: the routers' BFD
//! sessions to each director, so that a dead director leaves the ECMP route in
//! milliseconds instead of an OSPF dead interval.
//!
//! Same shape as the `ospf` crate:
//! - `packet/` — codec: zero-copy view + `Repr` (`parse`/`emit`), authentication
//!   (§4.2–§4.4 formats, §6.7 signing and verification).
//! - `session.rs` — one session, I/O-free with an injected clock: the §6.2 state machine as
//!   one table (`session::fsm::transition`), reception rules (§6.8.6), transmission with
//!   jitter (§6.8.7), slow transmission until Up and Poll/Final for timer changes
//!   (§6.8.3), detection time (§6.8.4), sequence-number windows (§6.7.3, §6.7.4).
//!   Demand mode and the Echo function are not implemented (never requested).

pub mod packet;
pub mod runtime;
pub mod session;

pub use runtime::{spawn, Event, Handle, SessionInfo, SessionKey, Status};
pub use session::SessionConfig;
