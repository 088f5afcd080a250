//! Health checking: keepalived's checkers, run inside the daemon.
//!
//! `probe/` does one check of one kind (the only I/O: sockets, scripts, files); `fsm.rs`
//! turns a checker's stream of probe results into up/down verdicts with keepalived's
//! semantics (retry, delay_before_retry, warmup, alpha) as an I/O-free core with an
//! injected clock; `runtime.rs` runs one task per distinct checker and reports verdicts to
//! the control loop. What a verdict does to the tables and routes is `policy`'s business.

pub mod fsm;
pub mod probe;
pub mod runtime;
