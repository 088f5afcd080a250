//! Policy: (configuration, checker verdicts, last quorum states) → what every director must
//! program and announce. Pure functions, no clock, no I/O: two directors with the same
//! configuration and the same verdicts compute the same bytes.
//!
//! - [`evaluate`]: which real servers are alive, with what weight, and which virtual
//!   servers hold their quorum (keepalived's rules, `update_svr_checker_state` and
//!   `update_quorum_state` in ipwrapper.c);
//! - [`tables::desired_tables`]: the forwarding tables;
//! - [`announced_vips`]: the VIPs this director announces;
//! - [`first_checks`]: which of them wait for their checkers' first verdicts;
//! - [`groups`]: group expansion, shared by all of the above;
//! - [`maintenance`]: what the operator took out of service by hand, an input of the
//!   above next to the verdicts.

pub mod first_checks;
pub mod groups;
pub mod maintenance;
pub mod tables;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use crate::config::model::{self as cfg, Checker, Config};
use crate::health::fsm::Verdict;
use crate::health::probe::WeightChange;

pub use maintenance::Maintenance;
pub use tables::desired_tables;

/// keepalived's largest real-server weight (`weight <INTEGER>` is an int; IPVS takes i32).
const MAX_WEIGHT: i64 = i32::MAX as i64;

/// One real server's evaluated health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealStatus {
    /// Every checker passes (a real server without checkers is always alive).
    pub alive: bool,
    /// The weight it gets while alive: configured, changed by dynamic checkers.
    pub weight: u32,
    /// The operator drained it: it stays in the tables at weight 0 and its weight does not
    /// count towards the quorum (as keepalived counts a weight-0 server).
    pub drained: bool,
}

/// One virtual server's evaluated health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    /// Σ weights of the alive real servers.
    pub live_weight: u64,
    pub quorum: bool,
    /// Parallel to the virtual server's `real_servers`.
    pub reals: Vec<RealStatus>,
}

/// The health of every virtual server, parallel to `Config::virtual_servers`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub services: Vec<ServiceStatus>,
}

impl Evaluation {
    /// Quorum states by virtual server, to carry into the next evaluation.
    pub fn quorum_states(&self, config: &Config) -> HashMap<cfg::ServiceKey, bool> {
        config
            .virtual_servers
            .iter()
            .zip(&self.services)
            .map(|(vs, status)| (vs.key.clone(), status.quorum))
            .collect()
    }
}

/// Evaluates every virtual server. `verdict` gives each checker's current verdict;
/// `previous` the quorum state each virtual server had (a new one has none), which the
/// hysteresis needs; `maintenance` the real servers the operator drained.
pub fn evaluate(
    config: &Config,
    verdict: impl Fn(&Checker) -> Verdict,
    previous: &HashMap<cfg::ServiceKey, bool>,
    maintenance: &Maintenance,
) -> Evaluation {
    let services = config
        .virtual_servers
        .iter()
        .map(|vs| {
            let reals: Vec<RealStatus> = vs
                .real_servers
                .iter()
                .map(|rs| RealStatus {
                    drained: maintenance.is_drained(config, vs, rs.ip, rs.port),
                    ..real_status(rs, &verdict)
                })
                .collect();
            let live_weight = reals
                .iter()
                .filter(|r| r.alive && !r.drained)
                .map(|r| u64::from(r.weight))
                .sum();
            let quorum = quorum(vs, live_weight, previous.get(&vs.key).copied());
            ServiceStatus {
                live_weight,
                quorum,
                reals,
            }
        })
        .collect();
    Evaluation { services }
}

/// The evaluation before any check has run: every checker at its initial verdict (up,
/// unless `alpha`).
pub fn initial(config: &Config) -> Evaluation {
    evaluate(
        config,
        |checker| Verdict::initial(checker.common().alpha),
        &HashMap::new(),
        &Maintenance::default(),
    )
}

/// A real server is alive while all of its checkers pass; dynamic checkers set its weight
/// (MISC_CHECK `misc_dynamic`) or shift it (FILE_CHECK `dynamic`).
fn real_status(rs: &cfg::RealServer, verdict: &impl Fn(&Checker) -> Verdict) -> RealStatus {
    let mut alive = true;
    let mut weight = i64::from(rs.weight);
    let mut shift = 0i64;
    for checker in &rs.checkers {
        let v = verdict(checker);
        alive &= v.up;
        match v.weight {
            Some(WeightChange::Set(w)) => weight = i64::from(w),
            Some(WeightChange::Add(delta)) => shift = shift.saturating_add(delta),
            None => {}
        }
    }
    let weight = weight.saturating_add(shift);
    RealStatus {
        // keepalived's FILE_CHECK: a weight driven to zero or below is a failure.
        alive: alive && (shift == 0 || weight > 0),
        weight: weight.clamp(0, MAX_WEIGHT) as u32,
        drained: false,
    }
}

/// keepalived's quorum with hysteresis: gained at `quorum + hysteresis`, lost below
/// `quorum − hysteresis` or when no weight is left at all; in between it keeps its state.
fn quorum(vs: &cfg::VirtualServer, live_weight: u64, previous: Option<bool>) -> bool {
    let quorum = u64::from(vs.quorum);
    let hysteresis = u64::from(vs.hysteresis);
    let gain = live_weight > 0 && live_weight >= quorum + hysteresis;
    let lose = live_weight == 0 || live_weight < quorum.saturating_sub(hysteresis);
    match previous {
        Some(true) => !lose,
        Some(false) => gain,
        None => live_weight > 0 && live_weight >= quorum,
    }
}

/// Every address the virtual servers listen on (what active-active mode holds on `lo`).
pub fn configured_vips(config: &Config) -> BTreeSet<IpAddr> {
    config
        .virtual_servers
        .iter()
        .flat_map(|vs| groups::addresses(config, vs))
        .collect()
}

/// The OSPF metric of every VIP whose services carry `ospf_metric` (validation makes the
/// services of one VIP agree); the others take `ospf { vip_metric }`.
pub fn vip_metrics(config: &Config) -> BTreeMap<IpAddr, u16> {
    config
        .virtual_servers
        .iter()
        .filter_map(|vs| Some((vs, vs.ospf_metric?)))
        .flat_map(|(vs, metric)| {
            groups::addresses(config, vs)
                .into_iter()
                .map(move |vip| (vip, metric))
        })
        .collect()
}

/// The VIPs to announce: an address is announced while at least one virtual server
/// listening on it holds its quorum. Withdrawing a VIP takes every port on it away from
/// this director, so one failed service must not take the healthy ones on the same
/// address with it; a director that can serve none of them withdraws, and the routers send
/// its share to the directors that can. A VIP the operator withdrew (or every VIP, when
/// the whole director is drained) is not announced, whatever its health.
pub fn announced_vips(
    config: &Config,
    health: &Evaluation,
    maintenance: &Maintenance,
) -> BTreeSet<IpAddr> {
    config
        .virtual_servers
        .iter()
        .zip(&health.services)
        .filter(|(_, status)| status.quorum)
        .flat_map(|(vs, _)| groups::addresses(config, vs))
        .filter(|vip| !maintenance.is_withdrawn(*vip))
        .collect()
}

#[cfg(test)]
mod tests;
