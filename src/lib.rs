//! director: an active-active load-balancer daemon.
//!
//! Data flows one way:
//!
//! ```text
//!  config file ──parse──▶ config::Config (typed, validated)
//!                              │  SIGHUP: parse the new file, diff against the running one
//!                              ▼
//!  health checkers ──events──▶ control loop (single owner of desired state)
//!                              │
//!            ┌─────────────────┼──────────────────┐
//!            ▼                 ▼                  ▼
//!     dataplane backend    announcer (ospf)   VRRP instances
//! ```
//!
//! Every module owns one thing and says so at its top.

pub mod cli;
pub mod config;
pub mod control;
pub mod dataplane;
pub mod fuzzing;
pub mod health;
pub mod heap;
pub mod net;
pub mod policy;
pub mod script;
pub mod vrrp;
