//! VRRP v2/v3 master-backup mode, wire-compatible with keepalived.

pub mod fsm;
pub mod packet;
