//! The hold on a VIP's first announcement: a VIP is not announced until every checker of
//! every real server behind it has given its first verdict (or its bound has passed).
//!
//! Real servers start up (keepalived's semantics without `alpha`), so a director that
//! starts while a real server is down programs a table that still counts it up, and that
//! table differs from the other directors'. Announced, it would attract traffic for the
//! dead server and break the flows ECMP moves to it; held back, it attracts nothing until
//! its own checks have corrected it. A VIP already announced is never held: a reload that
//! adds a service (or changes a checker) on it must not take it away from the routers.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use tokio::time::Instant;

use crate::config::model::{Checker, Config};

use super::groups;

/// The VIPs of `candidates` (those healthy enough to announce) that wait for first
/// verdicts, each with the time it is announced anyway. `already` are the VIPs announced
/// now, which never wait; `awaiting` gives, for a checker whose first verdict is still
/// due, the time its bound passes (None once it gave one, or once the bound passed).
/// Real servers without checkers hold nothing back.
pub fn held_vips(
    config: &Config,
    candidates: &BTreeSet<IpAddr>,
    already: &BTreeSet<IpAddr>,
    awaiting: impl Fn(&Checker) -> Option<Instant>,
) -> BTreeMap<IpAddr, Instant> {
    let mut held: BTreeMap<IpAddr, Instant> = BTreeMap::new();
    for vs in &config.virtual_servers {
        let Some(until) = vs
            .real_servers
            .iter()
            .flat_map(|rs| &rs.checkers)
            .filter_map(&awaiting)
            .max()
        else {
            continue;
        };
        for vip in groups::addresses(config, vs) {
            if candidates.contains(&vip) && !already.contains(&vip) {
                let entry = held.entry(vip).or_insert(until);
                *entry = (*entry).max(until);
            }
        }
    }
    held
}
