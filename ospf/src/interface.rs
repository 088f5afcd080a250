//! OSPF interface: configuration, kernel facts (address, MTU), the interface state machine
//! (`ism`, RFC 2328 §9.3) and the DR/BDR election (§9.4). The transitions are driven by
//! `Instance::ism` (instance.rs), which owns the side effects.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Instant;

use ipnetwork::Ipv4Network;

use crate::api::{InterfaceConfig, NetworkType};
use crate::neighbor::{nsm, Neighbor};
use crate::packet::LsaHeader;

pub mod ism {
    use serde::Serialize;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
    #[serde(rename_all = "snake_case")]
    pub enum State {
        #[default]
        Down,
        Waiting,
        PointToPoint,
        DrOther,
        Backup,
        Dr,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Event {
        InterfaceUp,
        WaitTimer,
        BackupSeen,
        NeighborChange,
        InterfaceDown,
    }
}

/// Kernel facts about the interface, from rtnetlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkInfo {
    pub ifindex: u32,
    pub address: Ipv4Network,
    pub mtu: u16,
}

#[derive(Debug)]
pub struct Interface {
    pub cfg: InterfaceConfig,
    pub area: usize,
    pub state: ism::State,
    pub link: Option<LinkInfo>,
    /// Interface addresses of the DR and BDR (0.0.0.0 = none), as in Hello packets.
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    /// Keyed by source address on broadcast networks, by router ID on point-to-point.
    pub neighbors: BTreeMap<Ipv4Addr, Neighbor>,
    /// The last cryptographic sequence number of neighbors that went Down, by the same
    /// key, and when: for [`RETIRED_SEQ_HOLD`] a Hello older than it is a replay, not the
    /// neighbor coming back (otherwise replaying its old Hellos would bring it back).
    pub retired_crypto_seq: BTreeMap<Ipv4Addr, (u32, Instant)>,
    pub hello_due: Option<Instant>,
    pub wait_due: Option<Instant>,
    pub delayed_acks: Vec<LsaHeader>,
    pub delayed_ack_due: Option<Instant>,
    /// The DR/BDR role was given up for a graceful shutdown: our Hellos say priority 0 and
    /// the election passes us over, so the others elect a successor while we still forward.
    pub resigned: bool,
}

/// How long the sequence number of a neighbor that went Down is remembered: MaxAge, one
/// hour. BIRD, FRR and this speaker derive the number from the time of day, so a neighbor
/// that restarts comes back with a higher one; one that restarts at a lower number is
/// accepted once this has passed.
pub const RETIRED_SEQ_HOLD: std::time::Duration = std::time::Duration::from_secs(3600);
/// Retired sequence numbers kept per interface (the oldest go first).
pub const MAX_RETIRED_SEQ: usize = 256;

impl Interface {
    /// Remembers the sequence number of a neighbor that went Down.
    pub fn retire_crypto_seq(&mut self, key: Ipv4Addr, seq: u32, now: Instant) {
        self.retired_crypto_seq
            .retain(|_, (_, at)| now.saturating_duration_since(*at) < RETIRED_SEQ_HOLD);
        self.retired_crypto_seq.insert(key, (seq, now));
        while self.retired_crypto_seq.len() > MAX_RETIRED_SEQ {
            let oldest = self
                .retired_crypto_seq
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => self.retired_crypto_seq.remove(&k),
                None => break,
            };
        }
    }

    /// Whether `seq` from a neighbor we do not know is not newer than the one it had when
    /// it went Down (within [`RETIRED_SEQ_HOLD`]). Equal counts as a replay here: a live
    /// neighbor may repeat its number (RFC 2328 D.3 drops only smaller ones), but one that
    /// comes back after the dead interval has moved on.
    pub fn is_retired_replay(&self, key: Ipv4Addr, seq: u32, now: Instant) -> bool {
        self.retired_crypto_seq.get(&key).is_some_and(|(last, at)| {
            seq <= *last && now.saturating_duration_since(*at) < RETIRED_SEQ_HOLD
        })
    }

    pub fn new(cfg: InterfaceConfig, area: usize) -> Self {
        Interface {
            cfg,
            area,
            state: ism::State::Down,
            link: None,
            dr: Ipv4Addr::UNSPECIFIED,
            bdr: Ipv4Addr::UNSPECIFIED,
            neighbors: BTreeMap::new(),
            retired_crypto_seq: BTreeMap::new(),
            hello_due: None,
            wait_due: None,
            delayed_acks: Vec::new(),
            delayed_ack_due: None,
            resigned: false,
        }
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.link
            .map(|l| l.address.ip())
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    pub fn mask(&self) -> Ipv4Addr {
        self.link
            .map(|l| l.address.mask())
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    pub fn mtu(&self) -> u16 {
        self.link.map(|l| l.mtu).unwrap_or(1500)
    }

    /// The Router Priority we declare: the configured one, 0 once resigned.
    pub fn priority(&self) -> u8 {
        if self.resigned {
            0
        } else {
            self.cfg.priority
        }
    }

    pub fn is_p2p(&self) -> bool {
        self.cfg.network_type == NetworkType::PointToPoint
    }

    pub fn is_dr_or_bdr(&self) -> bool {
        matches!(self.state, ism::State::Dr | ism::State::Backup)
    }

    /// Destination of flooded updates and delayed acks (§13.3 (5), §13.5).
    pub fn flood_dst(&self) -> Ipv4Addr {
        if self.is_p2p() || self.is_dr_or_bdr() {
            crate::ALL_SPF_ROUTERS
        } else {
            crate::ALL_D_ROUTERS
        }
    }

    /// The neighbor that is the DR, if any.
    pub fn dr_neighbor(&self) -> Option<&Neighbor> {
        self.neighbors.values().find(|n| n.addr == self.dr)
    }

    pub fn full_neighbors(&self) -> impl Iterator<Item = &Neighbor> {
        self.neighbors
            .values()
            .filter(|n| n.state == nsm::State::Full)
    }

    /// §10.4: should an adjacency be formed with this neighbor?
    pub fn adjacency_wanted(&self, n: &Neighbor) -> bool {
        self.is_p2p()
            || self.is_dr_or_bdr()
            || (n.addr == self.dr && self.dr != Ipv4Addr::UNSPECIFIED)
            || (n.addr == self.bdr && self.bdr != Ipv4Addr::UNSPECIFIED)
    }

    /// Candidates of the DR election: ourselves and every neighbor in state ≥ 2-Way.
    pub fn election_candidates(&self, router_id: Ipv4Addr) -> Vec<Candidate> {
        let mut c = vec![Candidate {
            router_id,
            addr: self.addr(),
            priority: self.priority(),
            dr: self.dr,
            bdr: self.bdr,
        }];
        for n in self.neighbors.values() {
            if n.state >= nsm::State::TwoWay {
                c.push(Candidate {
                    router_id: n.router_id,
                    addr: n.addr,
                    priority: n.priority,
                    dr: n.dr,
                    bdr: n.bdr,
                });
            }
        }
        c
    }
}

/// One router in the DR election: what it declares in its Hellos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub router_id: Ipv4Addr,
    pub addr: Ipv4Addr,
    pub priority: u8,
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
}

/// RFC 2328 §9.4 election. `candidates[0]` is the calculating router. Returns the new
/// (DR, BDR) interface addresses (0.0.0.0 when none).
pub fn elect_dr(candidates: &[Candidate]) -> (Ipv4Addr, Ipv4Addr) {
    let none = Ipv4Addr::UNSPECIFIED;
    let mut cands: Vec<Candidate> = candidates.to_vec();
    let me_addr = cands[0].addr;
    let (dr0, bdr0) = (cands[0].dr, cands[0].bdr);

    let run = |cands: &[Candidate]| -> (Ipv4Addr, Ipv4Addr) {
        let eligible: Vec<&Candidate> = cands.iter().filter(|c| c.priority > 0).collect();
        let best = |it: &mut dyn Iterator<Item = &&Candidate>| -> Option<Ipv4Addr> {
            it.max_by(|a, b| (a.priority, a.router_id).cmp(&(b.priority, b.router_id)))
                .map(|c| c.addr)
        };
        // Step 2: BDR among those not declaring themselves DR; self-declared BDRs first.
        let not_dr: Vec<&&Candidate> = eligible.iter().filter(|c| c.dr != c.addr).collect();
        let bdr = best(&mut not_dr.iter().copied().filter(|c| c.bdr == c.addr))
            .or_else(|| best(&mut not_dr.iter().copied()))
            .unwrap_or(none);
        // Step 3: DR among those declaring themselves DR, else the BDR.
        let dr = best(&mut eligible.iter().filter(|c| c.dr == c.addr)).unwrap_or(bdr);
        (dr, bdr)
    };

    let (mut dr, mut bdr) = run(&cands);
    // Step 4: if the calculating router's role changed, redo steps 2 and 3 with its
    // declaration updated.
    let was = (dr0 == me_addr, bdr0 == me_addr);
    let is = (dr == me_addr, bdr == me_addr);
    if was != is {
        cands[0].dr = dr;
        cands[0].bdr = bdr;
        (dr, bdr) = run(&cands);
    }
    (dr, bdr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: u8, prio: u8, dr: u8, bdr: u8) -> Candidate {
        let a = |x: u8| {
            if x == 0 {
                Ipv4Addr::UNSPECIFIED
            } else {
                Ipv4Addr::new(10, 0, 0, x)
            }
        };
        Candidate {
            router_id: Ipv4Addr::new(1, 1, 1, id),
            addr: a(id),
            priority: prio,
            dr: a(dr),
            bdr: a(bdr),
        }
    }

    fn ip(x: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, x)
    }

    #[test]
    fn fresh_segment_elects_highest_priority_dr_and_next_bdr() {
        // Nobody declares anything yet: the BDR (highest priority) is promoted to DR and, as
        // the RFC says, is also still the BDR in this first calculation. We must not declare
        // ourselves BDR here: a self-declared BDR wins step 2 over a higher priority, and the
        // router (BIRD and FRR both) would then make us DR.
        let (dr, bdr) = elect_dr(&[c(11, 1, 0, 0), c(1, 10, 0, 0), c(12, 1, 0, 0)]);
        assert_eq!((dr, bdr), (ip(1), ip(1)));
        // Next round, the router declares itself DR: the BDR is then elected among the rest.
        let (dr, bdr) = elect_dr(&[c(11, 1, 1, 1), c(1, 10, 1, 0), c(12, 1, 1, 1)]);
        assert_eq!(dr, ip(1), "router with priority 10 stays DR");
        assert_eq!(bdr, ip(12), "highest router ID among priority 1 is BDR");
    }

    #[test]
    fn existing_dr_is_kept_even_with_lower_priority() {
        // A router with a higher priority joining later does not preempt (no preemption in OSPF).
        let (dr, bdr) = elect_dr(&[c(20, 100, 0, 0), c(1, 1, 1, 12), c(12, 1, 1, 12)]);
        assert_eq!((dr, bdr), (ip(1), ip(12)));
    }

    #[test]
    fn priority_zero_never_elected() {
        let (dr, bdr) = elect_dr(&[c(11, 0, 0, 0), c(1, 1, 0, 0)]);
        assert_eq!(
            (dr, bdr),
            (ip(1), ip(1)),
            "first calculation: BDR promoted, still BDR"
        );
        let (dr, bdr) = elect_dr(&[c(11, 0, 1, 1), c(1, 1, 1, 0)]);
        assert_eq!((dr, bdr), (ip(1), Ipv4Addr::UNSPECIFIED));
        let (dr, bdr) = elect_dr(&[c(11, 0, 0, 0)]);
        assert_eq!((dr, bdr), (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED));
    }

    #[test]
    fn bdr_takes_over_when_dr_disappears() {
        // The DR (10.0.0.1) is gone from the candidate list; we were BDR.
        let (dr, bdr) = elect_dr(&[c(11, 1, 1, 11), c(12, 1, 1, 0)]);
        assert_eq!((dr, bdr), (ip(11), ip(12)));
    }
}
