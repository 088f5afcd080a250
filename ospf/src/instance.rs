//! The protocol core: one `Instance` owns every area, interface, neighbor and LSDB. It is
//! pure — no sockets, no clock: the runtime (api.rs/runtime.rs) feeds it [`Input`]s and the
//! current time, calls [`Instance::poll`] at [`Instance::next_wakeup`], and drains
//! [`Output`]s (packets to send, events). Tests drive it the same way with a fake clock.
//!
//! This file holds the dispatch, the timers, the interface and neighbor state machines
//! (§9.3, §10.3) and status; packet handlers are in rx.rs, packet building in tx.rs,
//! flooding and acks in flood.rs, self-originated LSAs in originate.rs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use ipnetwork::Ipv4Network;
use tracing::{debug, info, warn};

use crate::api::{
    Announcements, AreaStatus, Counters, Event, InstanceConfig, InterfaceStatus, LsaSummary,
    NeighborStatus, Status, VipEncoding,
};
use crate::interface::{elect_dr, ism, Interface, LinkInfo};
use crate::lsdb::Lsdb;
use crate::neighbor::nsm;
use crate::packet::dbdesc::{FLAG_I, FLAG_M, FLAG_MS};
use crate::packet::lsa::{
    LsaBody, LINK_STUB, LINK_TRANSIT, LS_TYPE_EXTERNAL, LS_TYPE_NETWORK, LS_TYPE_ROUTER,
};
use crate::packet::{LsaKey, OPTION_E};

/// MinLSArrival (RFC 2328 Appendix B).
pub const MIN_LS_ARRIVAL: Duration = Duration::from_secs(1);
/// MinLSInterval.
pub const MIN_LS_INTERVAL: Duration = Duration::from_secs(5);
/// LSRefreshTime, in seconds of LS age.
pub const LS_REFRESH_TIME: u16 = 1800;
/// After every flush is acknowledged, how long a graceful shutdown keeps running so that the
/// routers have recomputed their routes (BIRD does it on a 1 s tick) before we go.
pub const SHUTDOWN_SETTLE: Duration = Duration::from_millis(1100);
/// Delay before sending collected delayed acknowledgments (must be < RxmtInterval).
pub const DELAYED_ACK: Duration = Duration::from_millis(500);

/// What the runtime feeds into the instance.
#[derive(Debug, Clone)]
pub enum Input {
    /// An IP payload received on an interface (the runtime strips the IP header).
    Packet {
        iface: usize,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        bytes: Vec<u8>,
    },
    /// Kernel state of an interface: `None` = down or no IPv4 address.
    Link {
        iface: usize,
        info: Option<LinkInfo>,
    },
    /// Prefixes to announce, each with its own metric or `None` for `stub_metric`.
    SetAnnounced(Announcements),
    SetMetric(u16),
    SetVipEncoding(VipEncoding),
    /// An outside detector (BFD) says the neighbor with this interface address is gone.
    NeighborDown {
        interface: String,
        address: Ipv4Addr,
        reason: String,
    },
    Shutdown {
        max_wait: Duration,
    },
}

/// What the instance asks the runtime to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Packet {
        iface: usize,
        dst: Ipv4Addr,
        bytes: Vec<u8>,
    },
    /// Join (true) or leave AllDRouters on the interface (we became / stopped being DR/BDR).
    AllDRouters {
        iface: usize,
        join: bool,
    },
    Event(Event),
}

/// A graceful shutdown's first phase on the segments where we were DR. Flushing our
/// Network-LSA at once would leave every router on the segment without a transit network
/// until a new DR is elected and originates its own (a blackhole of 1–3 s); instead we
/// resign (priority 0), keep our Network-LSA as it was, point our Router-LSA at the new DR,
/// and flush only once the LSDB shows everyone on the segment moved to the new DR's network.
#[derive(Debug)]
pub(crate) struct Handover {
    /// When to stop waiting and flush anyway.
    pub until: Instant,
    /// Indexes of the interfaces where we were DR.
    pub ifaces: Vec<usize>,
    /// Our Network-LSAs on those segments, left untouched until the handover ends.
    pub frozen: BTreeSet<(Scope, LsaKey)>,
}

/// Flooding scope of an LSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Area(usize),
    As,
}

#[derive(Debug)]
pub struct Area {
    pub id: Ipv4Addr,
    /// Stub area (§3.6): no AS-external LSAs, no E bit.
    pub stub: bool,
    pub lsdb: Lsdb,
}

#[derive(Debug)]
pub(crate) struct ShutdownState {
    pub deadline: Instant,
    /// Set while the DR role is being handed over, before anything is flushed.
    pub handover: Option<Handover>,
    /// Set once every flush is acknowledged: when to say goodbye and stop.
    pub settle_until: Option<Instant>,
}

#[derive(Debug)]
pub struct Instance {
    pub router_id: Ipv4Addr,
    pub stub_metric: u16,
    pub vip_encoding: VipEncoding,
    pub areas: Vec<Area>,
    pub ifaces: Vec<Interface>,
    pub as_lsdb: Lsdb,
    pub announced: Announcements,
    pub counters: Counters,
    pub(crate) out: Vec<Output>,
    /// Self-originated LSAs must be re-evaluated (something they depend on changed).
    pub(crate) dirty: bool,
    /// Keys to re-originate now regardless of MinLSInterval (§13.4 supersede).
    pub(crate) force: BTreeSet<(Scope, LsaKey)>,
    pub(crate) last_origination: BTreeMap<(Scope, LsaKey), Instant>,
    pub(crate) originate_due: Option<Instant>,
    pub(crate) flood_queue: Vec<(usize, Ipv4Addr, Scope, LsaKey)>,
    pub(crate) next_age_check: Instant,
    pub(crate) shutdown: Option<ShutdownState>,
    pub(crate) finished: bool,
    start: Instant,
    wall_base: u32,
    dd_seed: u32,
}

impl Instance {
    /// `wall_secs` (seconds since the Unix epoch) seeds the MD5 cryptographic sequence number
    /// so that it never goes backwards across restarts.
    pub fn new(cfg: &InstanceConfig, now: Instant, wall_secs: u64) -> Self {
        let mut areas = Vec::new();
        let mut ifaces = Vec::new();
        for (ai, a) in cfg.areas.iter().enumerate() {
            areas.push(Area {
                id: a.id,
                stub: a.stub,
                lsdb: Lsdb::default(),
            });
            for ic in &a.interfaces {
                ifaces.push(Interface::new(ic.clone(), ai));
            }
        }
        Instance {
            router_id: cfg.router_id,
            stub_metric: cfg.stub_metric,
            vip_encoding: VipEncoding::Auto,
            areas,
            ifaces,
            as_lsdb: Lsdb::default(),
            announced: Announcements::new(),
            counters: Counters::default(),
            out: Vec::new(),
            dirty: true,
            force: BTreeSet::new(),
            last_origination: BTreeMap::new(),
            originate_due: None,
            flood_queue: Vec::new(),
            next_age_check: now + Duration::from_secs(1),
            shutdown: None,
            finished: false,
            start: now,
            wall_base: wall_secs as u32,
            dd_seed: (wall_secs as u32).wrapping_mul(2_654_435_761) ^ u32::from(cfg.router_id),
        }
    }

    pub fn drain_output(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    /// The graceful shutdown completed (or the instance can stop).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    pub(crate) fn crypto_seq(&self, now: Instant) -> u32 {
        self.wall_base
            .wrapping_add(now.saturating_duration_since(self.start).as_secs() as u32)
    }

    pub(crate) fn event(&mut self, e: Event) {
        self.out.push(Output::Event(e));
    }

    pub(crate) fn drop_packet(&mut self, iface: usize, src: Ipv4Addr, reason: &'static str) {
        *self.counters.drops.entry(reason).or_default() += 1;
        debug!(interface = %self.ifaces[iface].cfg.name, %src, reason, "OSPF packet dropped");
    }

    pub(crate) fn lsdb(&self, scope: Scope) -> &Lsdb {
        match scope {
            Scope::Area(a) => &self.areas[a].lsdb,
            Scope::As => &self.as_lsdb,
        }
    }

    pub(crate) fn lsdb_mut(&mut self, scope: Scope) -> &mut Lsdb {
        match scope {
            Scope::Area(a) => &mut self.areas[a].lsdb,
            Scope::As => &mut self.as_lsdb,
        }
    }

    /// The Options field of Hellos, DDs and our LSAs in this interface's area: E, unless
    /// the area is a stub area (§3.6, §10.5: a mismatch keeps routers from neighboring).
    pub(crate) fn area_options(&self, ii: usize) -> u8 {
        if self.areas[self.ifaces[ii].area].stub {
            0
        } else {
            OPTION_E
        }
    }

    /// Whether the interface belongs to a stub area (no AS-external LSAs cross it).
    pub(crate) fn in_stub_area(&self, ii: usize) -> bool {
        self.areas[self.ifaces[ii].area].stub
    }

    /// The metric `prefix` is announced with.
    pub fn prefix_metric(&self, prefix: &Ipv4Network) -> u16 {
        self.announced
            .get(prefix)
            .copied()
            .flatten()
            .unwrap_or(self.stub_metric)
    }

    pub(crate) fn scope_of(&self, iface: usize, ls_type: u8) -> Scope {
        if ls_type == LS_TYPE_EXTERNAL {
            Scope::As
        } else {
            Scope::Area(self.ifaces[iface].area)
        }
    }

    /// Is this LSA ours (§13.4): advertised by our router ID, or a Network-LSA for one of our
    /// interface addresses.
    pub(crate) fn is_self_originated(&self, key: &LsaKey) -> bool {
        key.adv_rtr == self.router_id
            || (key.ls_type == LS_TYPE_NETWORK
                && self
                    .ifaces
                    .iter()
                    .any(|i| i.link.is_some() && i.addr() == key.id))
    }

    // ===== inputs =====

    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Packet {
                iface,
                src,
                dst,
                bytes,
            } => self.rx_packet(now, iface, src, dst, &bytes),
            Input::Link { iface, info } => self.link_change(now, iface, info),
            Input::SetAnnounced(set) => self.set_announced(set),
            Input::SetMetric(m) => {
                if m != self.stub_metric {
                    info!(metric = m, "OSPF stub metric changed");
                    self.stub_metric = m;
                    self.dirty = true;
                }
            }
            Input::SetVipEncoding(e) => {
                if e != self.vip_encoding {
                    info!(encoding = ?e, "OSPF VIP encoding changed");
                    self.vip_encoding = e;
                    self.dirty = true;
                }
            }
            Input::NeighborDown {
                interface,
                address,
                reason,
            } => self.neighbor_down(now, &interface, address, &reason),
            Input::Shutdown { max_wait } => {
                if self.shutdown.is_none() {
                    self.start_shutdown(now, max_wait);
                }
            }
        }
        self.finish(now);
    }

    /// RFC 2328 leaves a DR's departure to the dead interval or to the flush of its
    /// Network-LSA, and both blackhole the segment until a successor's Network-LSA is in
    /// place. So a DR or BDR first resigns where an eligible neighbor can take over (the
    /// Hello with priority 0 makes every router re-elect at once, §9.2 NeighborChange),
    /// and a DR waits — at most half of `max_wait` — for the handover before flushing.
    fn start_shutdown(&mut self, now: Instant, max_wait: Duration) {
        let resigning: Vec<usize> = (0..self.ifaces.len())
            .filter(|&ii| {
                let iface = &self.ifaces[ii];
                let successor = iface
                    .neighbors
                    .values()
                    .any(|n| n.state >= nsm::State::TwoWay && n.priority > 0);
                !iface.is_p2p() && iface.is_dr_or_bdr() && successor
            })
            .collect();
        let mut handover = Handover {
            until: now + max_wait / 2,
            ifaces: Vec::new(),
            frozen: BTreeSet::new(),
        };
        for &ii in &resigning {
            let iface = &self.ifaces[ii];
            if iface.state != ism::State::Dr {
                continue;
            }
            let key = LsaKey {
                ls_type: LS_TYPE_NETWORK,
                id: iface.addr(),
                adv_rtr: self.router_id,
            };
            let scope = Scope::Area(iface.area);
            if self.lsdb(scope).get(&key).is_some() {
                handover.frozen.insert((scope, key));
            }
            handover.ifaces.push(ii);
        }
        let handover = if handover.ifaces.is_empty() {
            info!(
                max_wait_ms = max_wait.as_millis() as u64,
                "OSPF graceful shutdown: flushing self-originated LSAs"
            );
            None
        } else {
            info!(
                max_wait_ms = max_wait.as_millis() as u64,
                "OSPF graceful shutdown: waiting for the new DR before flushing"
            );
            Some(handover)
        };
        self.shutdown = Some(ShutdownState {
            deadline: now + max_wait,
            handover,
            settle_until: None,
        });
        for &ii in &resigning {
            let iface = &self.ifaces[ii];
            info!(interface = %iface.cfg.name, role = ?iface.state, "OSPF graceful shutdown: resigning the DR/BDR role");
            let area = iface.area;
            self.ifaces[ii].resigned = true;
            self.ism(now, ii, ism::Event::NeighborChange);
            let router_lsa = LsaKey {
                ls_type: LS_TYPE_ROUTER,
                id: self.router_id,
                adv_rtr: self.router_id,
            };
            self.force.insert((Scope::Area(area), router_lsa));
        }
        // Our Router-LSA pointing at the successor's network goes out before the Hello that
        // moves the others: a router whose SPF runs between the two packets (FRR's first
        // one runs at once) still reaches the other directors through our old network,
        // and from the moment it moves, reaches us through its new one.
        self.sync_self_lsas(now);
        self.flush_flood_queue(now);
        for &ii in &resigning {
            self.send_hello(now, ii, false);
        }
        self.dirty = true;
    }

    /// Our LSAs the handover keeps as they are (neither re-originated nor flushed).
    pub(crate) fn frozen_lsas(&self) -> Option<&BTreeSet<(Scope, LsaKey)>> {
        self.shutdown
            .as_ref()
            .and_then(|s| s.handover.as_ref())
            .map(|h| &h.frozen)
    }

    /// The handover is done on a segment when a new DR's Network-LSA is in the LSDB and
    /// every router it lists has a Router-LSA pointing at that network: from then on every
    /// router's shortest-path tree reaches the others through the new network, and ours
    /// can go.
    fn handed_over(&self, now: Instant, ii: usize) -> bool {
        let iface = &self.ifaces[ii];
        if iface.state == ism::State::Dr {
            return false;
        }
        let Some(dr) = iface.dr_neighbor() else {
            return false;
        };
        let db = &self.areas[iface.area].lsdb;
        let live = |key: LsaKey| db.get(&key).filter(|e| !e.is_max_age(now));
        let network = live(LsaKey {
            ls_type: LS_TYPE_NETWORK,
            id: dr.addr,
            adv_rtr: dr.router_id,
        });
        let Some(LsaBody::Network(network)) = network.map(|e| &e.lsa.body) else {
            return false;
        };
        network.attached.iter().all(|rid| {
            let router = live(LsaKey {
                ls_type: LS_TYPE_ROUTER,
                id: *rid,
                adv_rtr: *rid,
            });
            matches!(router.map(|e| &e.lsa.body), Some(LsaBody::Router(r))
                if r.links.iter().any(|l| l.link_type == LINK_TRANSIT && l.id == dr.addr))
        })
    }

    /// Ends the handover phase once every segment is handed over, or at its deadline.
    fn advance_handover(&mut self, now: Instant) {
        let Some(h) = self.shutdown.as_ref().and_then(|s| s.handover.as_ref()) else {
            return;
        };
        let done = h.ifaces.iter().all(|&ii| self.handed_over(now, ii));
        if !done && now < h.until {
            return;
        }
        if done {
            info!("OSPF graceful shutdown: the new DR took over; flushing self-originated LSAs");
        } else {
            warn!("OSPF graceful shutdown: no new DR took over in time; flushing self-originated LSAs");
        }
        if let Some(s) = &mut self.shutdown {
            s.handover = None;
        }
        self.dirty = true;
    }

    /// Flushing: the handover (if any) is over and nothing of ours is wanted any more.
    pub(crate) fn flushing(&self) -> bool {
        self.shutdown.as_ref().is_some_and(|s| s.handover.is_none())
    }

    fn set_announced(&mut self, set: Announcements) {
        if set == self.announced {
            return;
        }
        for (p, metric) in &set {
            match self.announced.get(p) {
                None => {
                    info!(prefix = %p, metric = metric.unwrap_or(self.stub_metric), "OSPF announce")
                }
                Some(old) if old != metric => {
                    info!(prefix = %p, metric = metric.unwrap_or(self.stub_metric), "OSPF prefix metric changed")
                }
                Some(_) => {}
            }
        }
        for p in self.announced.keys().filter(|p| !set.contains_key(p)) {
            info!(prefix = %p, "OSPF withdraw");
        }
        self.announced = set;
        self.dirty = true;
    }

    fn link_change(&mut self, now: Instant, ii: usize, info: Option<LinkInfo>) {
        let Some(iface) = self.ifaces.get(ii) else {
            return;
        };
        let old = iface.link;
        if old == info {
            return;
        }
        let addr_changed = match (old, info) {
            (Some(a), Some(b)) => a.address != b.address || a.ifindex != b.ifindex,
            (Some(_), None) => true,
            _ => false,
        };
        if addr_changed && self.ifaces[ii].state != ism::State::Down {
            self.ism(now, ii, ism::Event::InterfaceDown);
        }
        self.ifaces[ii].link = info;
        if info.is_some() && self.ifaces[ii].state == ism::State::Down {
            self.ism(now, ii, ism::Event::InterfaceUp);
        }
        self.dirty = true;
    }

    // ===== timers =====

    pub fn next_wakeup(&self) -> Instant {
        let mut t = self.next_age_check;
        let mut take = |x: Option<Instant>| {
            if let Some(x) = x {
                t = t.min(x);
            }
        };
        take(self.originate_due);
        take(self.shutdown.as_ref().map(|s| s.deadline));
        take(self.shutdown.as_ref().and_then(|s| s.settle_until));
        take(
            self.shutdown
                .as_ref()
                .and_then(|s| s.handover.as_ref())
                .map(|h| h.until),
        );
        for i in &self.ifaces {
            take(i.hello_due);
            take(i.wait_due);
            take(i.delayed_ack_due);
            for n in i.neighbors.values() {
                take(Some(n.next_due()));
            }
        }
        t
    }

    pub fn poll(&mut self, now: Instant) {
        for ii in 0..self.ifaces.len() {
            if self.ifaces[ii].hello_due.is_some_and(|t| t <= now) {
                let hi = Duration::from_secs(self.ifaces[ii].cfg.hello_interval.max(1) as u64);
                self.ifaces[ii].hello_due = Some(now + hi);
                self.send_hello(now, ii, false);
            }
            if self.ifaces[ii].wait_due.is_some_and(|t| t <= now) {
                self.ifaces[ii].wait_due = None;
                self.ism(now, ii, ism::Event::WaitTimer);
            }
            if self.ifaces[ii].delayed_ack_due.is_some_and(|t| t <= now) {
                self.send_delayed_acks(now, ii);
            }
            let keys: Vec<Ipv4Addr> = self.ifaces[ii].neighbors.keys().copied().collect();
            for k in keys {
                self.poll_neighbor(now, ii, k);
            }
        }
        if self.next_age_check <= now {
            self.next_age_check = now + Duration::from_secs(1);
            self.age_tick(now);
        }
        if self.originate_due.is_some_and(|t| t <= now) {
            self.originate_due = None;
            self.dirty = true;
        }
        self.finish(now);
    }

    fn poll_neighbor(&mut self, now: Instant, ii: usize, k: Ipv4Addr) {
        let rxmt = Duration::from_secs(self.ifaces[ii].cfg.retransmit_interval.max(1) as u64);
        let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) else {
            return;
        };
        if n.inactivity_due <= now {
            self.nsm(now, ii, k, nsm::Event::InactivityTimer);
            return;
        }
        if n.dd_rxmt_due.is_some_and(|t| t <= now) {
            n.dd_rxmt_due = Some(now + rxmt);
            self.resend_dbdesc(now, ii, k);
        }
        if self.ifaces[ii].neighbors[&k]
            .ls_request_due
            .is_some_and(|t| t <= now)
        {
            self.send_ls_request(now, ii, k);
        }
        if self.ifaces[ii].neighbors[&k]
            .ls_rxmt_due
            .is_some_and(|t| t <= now)
        {
            self.retransmit(now, ii, k);
        }
    }

    /// Once a second: flood LSAs that just reached MaxAge, drop flushed ones nobody still
    /// needs (§14), and refresh our own LSAs at LSRefreshTime.
    fn age_tick(&mut self, now: Instant) {
        let exchanging = self.ifaces.iter().any(|i| {
            i.neighbors
                .values()
                .any(|n| matches!(n.state, nsm::State::Exchange | nsm::State::Loading))
        });
        let mut scopes: Vec<Scope> = (0..self.areas.len()).map(Scope::Area).collect();
        scopes.push(Scope::As);
        for scope in scopes {
            let mut newly_max = Vec::new();
            let mut refresh = false;
            let mut removable = Vec::new();
            for (k, e) in self.lsdb(scope).iter() {
                let age = e.age(now);
                if age >= crate::packet::lsa::MAX_AGE {
                    if e.lsa.header.age < crate::packet::lsa::MAX_AGE {
                        newly_max.push(*k);
                    } else if !exchanging && !self.on_any_rxmt_list(k) {
                        removable.push(*k);
                    }
                } else if age >= LS_REFRESH_TIME && self.is_self_originated(k) {
                    refresh = true;
                }
            }
            self.dirty |= refresh;
            for k in newly_max {
                if let Some(e) = self.lsdb(scope).get(&k) {
                    let mut lsa = e.lsa.clone();
                    lsa.header.age = crate::packet::lsa::MAX_AGE;
                    self.lsdb_mut(scope).install(lsa, now, false);
                    self.flood(now, scope, k, None);
                }
            }
            for k in removable {
                self.lsdb_mut(scope).remove(&k);
            }
        }
    }

    fn on_any_rxmt_list(&self, k: &LsaKey) -> bool {
        self.ifaces
            .iter()
            .any(|i| i.neighbors.values().any(|n| n.ls_rxmt.contains_key(k)))
    }

    /// Runs after every input and poll: re-originates what changed, sends queued floods and
    /// advances a graceful shutdown.
    fn finish(&mut self, now: Instant) {
        self.advance_handover(now);
        if self.dirty {
            self.dirty = false;
            self.sync_self_lsas(now);
        }
        self.flush_flood_queue(now);
        self.advance_shutdown(now);
    }

    fn advance_shutdown(&mut self, now: Instant) {
        let Some(s) = &self.shutdown else {
            return;
        };
        if self.finished || s.handover.is_some() {
            return;
        }
        let (deadline, settle_until) = (s.deadline, s.settle_until);
        let all_flushed = self.self_lsas_all_flushed(now);
        let all_acked = self
            .ifaces
            .iter()
            .all(|i| i.neighbors.values().all(|n| n.ls_rxmt.is_empty()));
        let acknowledged = all_flushed && all_acked;
        let timed_out = now >= deadline;
        if acknowledged && !timed_out {
            // Acknowledged means installed, not yet used: routers recompute routes a little
            // later (BIRD on its 1 s tick). Keep running until then, so that the process
            // exits only after the routers stopped forwarding to us.
            let adjacent = self.ifaces.iter().any(|i| {
                i.neighbors
                    .values()
                    .any(|n| n.state >= nsm::State::Exchange)
            });
            let until = match settle_until {
                Some(t) => t,
                None if adjacent => {
                    let t = (now + SHUTDOWN_SETTLE).min(deadline);
                    if let Some(s) = &mut self.shutdown {
                        s.settle_until = Some(t);
                    }
                    t
                }
                None => now,
            };
            if now < until {
                return;
            }
        }
        if !acknowledged && !timed_out {
            return;
        }
        if !acknowledged {
            warn!("OSPF shutdown: not every neighbor acknowledged the flush before the deadline");
        }
        // A Hello listing no neighbor makes every router drop the adjacency at once
        // (1-WayReceived) instead of waiting for the dead interval.
        for ii in 0..self.ifaces.len() {
            if self.ifaces[ii].state != ism::State::Down {
                self.send_hello(now, ii, true);
            }
        }
        info!(acknowledged, "OSPF shutdown complete");
        self.finished = true;
    }

    // ===== interface state machine (§9.3) =====

    pub(crate) fn ism(&mut self, now: Instant, ii: usize, ev: ism::Event) {
        use ism::{Event as E, State as S};
        let old = self.ifaces[ii].state;
        let new = match (old, ev) {
            (S::Down, E::InterfaceUp) => {
                let iface = &mut self.ifaces[ii];
                if iface.cfg.passive {
                    // No Hello, no neighbor, no election: the subnet becomes a stub link.
                    let passive = if iface.is_p2p() {
                        S::PointToPoint
                    } else {
                        S::DrOther
                    };
                    return self.set_iface_state(ii, old, passive);
                }
                iface.hello_due = Some(now);
                if iface.is_p2p() {
                    S::PointToPoint
                } else if iface.priority() == 0 {
                    S::DrOther
                } else {
                    iface.wait_due =
                        Some(now + Duration::from_secs(iface.cfg.dead_interval as u64));
                    S::Waiting
                }
            }
            (S::Waiting, E::BackupSeen | E::WaitTimer) => {
                self.ifaces[ii].wait_due = None;
                self.dr_election(now, ii)
            }
            (S::DrOther | S::Backup | S::Dr, E::NeighborChange) => self.dr_election(now, ii),
            (S::Down, E::InterfaceDown) => S::Down,
            (_, E::InterfaceDown) => {
                let keys: Vec<Ipv4Addr> = self.ifaces[ii].neighbors.keys().copied().collect();
                for k in keys {
                    self.nsm(now, ii, k, nsm::Event::KillNbr);
                }
                let iface = &mut self.ifaces[ii];
                iface.hello_due = None;
                iface.wait_due = None;
                iface.delayed_acks.clear();
                iface.delayed_ack_due = None;
                iface.dr = Ipv4Addr::UNSPECIFIED;
                iface.bdr = Ipv4Addr::UNSPECIFIED;
                S::Down
            }
            (s, _) => s,
        };
        // The election already recorded its own transition; don't report it twice.
        let current = self.ifaces[ii].state;
        self.set_iface_state(ii, current, new);
    }

    fn set_iface_state(&mut self, ii: usize, old: ism::State, new: ism::State) {
        self.ifaces[ii].state = new;
        if old == new {
            return;
        }
        let was_drb = matches!(old, ism::State::Dr | ism::State::Backup);
        let is_drb = matches!(new, ism::State::Dr | ism::State::Backup);
        if was_drb != is_drb {
            self.out.push(Output::AllDRouters {
                iface: ii,
                join: is_drb,
            });
        }
        let iface = &self.ifaces[ii];
        info!(interface = %iface.cfg.name, from = ?old, to = ?new, dr = %iface.dr, bdr = %iface.bdr, "OSPF interface state change");
        let name = iface.cfg.name.clone();
        self.event(Event::InterfaceStateChange {
            interface: name,
            from: old,
            to: new,
        });
        self.dirty = true;
    }

    /// §9.4: elects DR/BDR, sets the interface state, and sends AdjOk? to neighbors when the
    /// result changed. Returns the new state.
    fn dr_election(&mut self, now: Instant, ii: usize) -> ism::State {
        let cands = self.ifaces[ii].election_candidates(self.router_id);
        let (dr, bdr) = elect_dr(&cands);
        let iface = &mut self.ifaces[ii];
        let changed = (iface.dr, iface.bdr) != (dr, bdr);
        iface.dr = dr;
        iface.bdr = bdr;
        let me = iface.addr();
        let new = if dr == me {
            ism::State::Dr
        } else if bdr == me {
            ism::State::Backup
        } else {
            ism::State::DrOther
        };
        let old = iface.state;
        self.set_iface_state(ii, old, new);
        if changed {
            let keys: Vec<Ipv4Addr> = self.ifaces[ii]
                .neighbors
                .iter()
                .filter(|(_, n)| n.state >= nsm::State::TwoWay)
                .map(|(k, _)| *k)
                .collect();
            for k in keys {
                self.nsm(now, ii, k, nsm::Event::AdjOk);
            }
            self.dirty = true;
        }
        new
    }

    /// RFC 5882 §4.1 / what BIRD (`INM_INACTTIM`) and FRR (`NSM_InactivityTimer`) do on a
    /// BFD Down: the neighbor's InactivityTimer event (RFC 2328 §10.3), now.
    fn neighbor_down(&mut self, now: Instant, interface: &str, address: Ipv4Addr, reason: &str) {
        let Some(ii) = self.ifaces.iter().position(|i| i.cfg.name == interface) else {
            return;
        };
        let Some(k) = self.ifaces[ii]
            .neighbors
            .iter()
            .find(|(_, n)| n.addr == address)
            .map(|(k, _)| *k)
        else {
            return;
        };
        info!(%interface, %address, reason, "OSPF neighbor declared down by an outside detector");
        self.nsm(now, ii, k, nsm::Event::InactivityTimer);
    }

    // ===== neighbor state machine (§10.3) =====

    pub(crate) fn nsm(&mut self, now: Instant, ii: usize, k: Ipv4Addr, ev: nsm::Event) {
        use nsm::{Event as E, State as S};
        let dead = Duration::from_secs(self.ifaces[ii].cfg.dead_interval as u64);
        let Some(n) = self.ifaces[ii].neighbors.get(&k) else {
            return;
        };
        let old = n.state;
        let wanted = self.ifaces[ii].adjacency_wanted(n);
        let new = match (old, ev) {
            (s, E::HelloReceived) => {
                if let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) {
                    n.inactivity_due = now + dead;
                }
                if s == S::Down {
                    S::Init
                } else {
                    s
                }
            }
            (S::Init, E::TwoWayReceived) => {
                if wanted {
                    S::ExStart
                } else {
                    S::TwoWay
                }
            }
            (s, E::OneWayReceived) if s >= S::TwoWay => S::Init,
            (S::ExStart, E::NegotiationDone) => S::Exchange,
            (S::Exchange, E::ExchangeDone) => {
                if self.ifaces[ii].neighbors[&k].ls_request.is_empty() {
                    S::Full
                } else {
                    S::Loading
                }
            }
            (S::Loading, E::LoadingDone) => S::Full,
            (S::TwoWay, E::AdjOk) if wanted => S::ExStart,
            (s, E::AdjOk) if s >= S::ExStart && !wanted => S::TwoWay,
            (s, E::SeqNumberMismatch | E::BadLsReq) if s >= S::Exchange => S::ExStart,
            (_, E::KillNbr | E::InactivityTimer | E::LlDown) => S::Down,
            (s, _) => s,
        };
        let restart_exstart = new == S::ExStart
            && (old != S::ExStart || matches!(ev, E::SeqNumberMismatch | E::BadLsReq));
        if new == old && !restart_exstart {
            return;
        }
        // Actions of the transition.
        if new <= S::TwoWay || restart_exstart {
            if let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) {
                n.reset_adjacency();
            }
        }
        if restart_exstart {
            self.start_exstart(now, ii, k);
        }
        match new {
            S::Exchange => self.build_summary(now, ii, k),
            S::Loading => self.send_ls_request(now, ii, k),
            S::Full => {
                if let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) {
                    n.ls_request_due = None;
                    if n.master {
                        n.dd_rxmt_due = None;
                    }
                }
            }
            _ => {}
        }
        let n = &self.ifaces[ii].neighbors[&k];
        let (router_id, address) = (n.router_id, n.addr);
        let name = self.ifaces[ii].cfg.name.clone();
        if new != old {
            info!(interface = %name, neighbor = %router_id, %address, from = ?old, to = ?new, event = ev.name(), "OSPF neighbor state change");
            self.event(Event::NeighborStateChange {
                interface: name.clone(),
                router_id,
                address,
                from: old,
                to: new,
                event: ev.name().to_string(),
            });
            if new == S::Full {
                self.event(Event::AdjacencyFull {
                    interface: name.clone(),
                    router_id,
                    address,
                });
            }
            if old == S::Full {
                self.event(Event::AdjacencyLost {
                    interface: name.clone(),
                    router_id,
                    address,
                    reason: ev.name().to_string(),
                });
            }
            if new == S::Full || old == S::Full {
                self.counters.adjacency_changes += 1;
                self.dirty = true;
            }
        }
        if new == S::Down {
            if let Some(seq) = self.ifaces[ii]
                .neighbors
                .remove(&k)
                .and_then(|n| n.crypto_seq)
            {
                self.ifaces[ii].retire_crypto_seq(k, seq, now);
            }
        } else if let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) {
            n.state = new;
        }
        // Crossing 2-Way changes the election input (§9.2 NeighborChange).
        let crossed = (old >= S::TwoWay) != (new >= S::TwoWay);
        if crossed && !self.ifaces[ii].is_p2p() && self.ifaces[ii].state != ism::State::Down {
            self.ism(now, ii, ism::Event::NeighborChange);
        }
    }

    /// Entering ExStart (§10.3): claim mastership with a fresh DD sequence number and send
    /// the empty initial Database Description.
    fn start_exstart(&mut self, now: Instant, ii: usize, k: Ipv4Addr) {
        let rxmt = Duration::from_secs(self.ifaces[ii].cfg.retransmit_interval.max(1) as u64);
        self.dd_seed = self
            .dd_seed
            .wrapping_mul(1_103_515_245)
            .wrapping_add(12_345);
        let seed = self.dd_seed;
        let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) else {
            return;
        };
        n.master = true;
        n.dd_seq = if n.dd_seq == 0 {
            seed | 1
        } else {
            n.dd_seq.wrapping_add(seed | 1)
        };
        n.state = nsm::State::ExStart;
        n.dd_rxmt_due = Some(now + rxmt);
        self.send_dbdesc(now, ii, k, FLAG_I | FLAG_M | FLAG_MS);
    }

    /// Entering Exchange: snapshot the LSDB headers into the summary list (§10.3).
    fn build_summary(&mut self, now: Instant, ii: usize, k: Ipv4Addr) {
        let area = self.ifaces[ii].area;
        let mut headers = self.areas[area].lsdb.headers(now);
        if !self.areas[area].stub {
            headers.extend(self.as_lsdb.headers(now));
        }
        if let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) {
            n.db_summary = headers.into();
        }
    }

    pub(crate) fn neighbor_key(&self, ii: usize, src: Ipv4Addr, router_id: Ipv4Addr) -> Ipv4Addr {
        if self.ifaces[ii].is_p2p() {
            router_id
        } else {
            src
        }
    }

    // ===== status =====

    pub fn status(&self, now: Instant) -> Status {
        let interfaces = self
            .ifaces
            .iter()
            .map(|i| InterfaceStatus {
                name: i.cfg.name.clone(),
                area: self.areas[i.area].id,
                stub_area: self.areas[i.area].stub,
                passive: i.cfg.passive,
                network_type: i.cfg.network_type,
                state: i.state,
                address: i.link.map(|l| l.address),
                mtu: i.mtu(),
                dr: i.dr,
                bdr: i.bdr,
                neighbors: i
                    .neighbors
                    .values()
                    .map(|n| NeighborStatus {
                        router_id: n.router_id,
                        address: n.addr,
                        state: n.state,
                        priority: n.priority,
                        dr: n.dr,
                        bdr: n.bdr,
                        ls_request: n.ls_request.len(),
                        ls_retransmit: n.ls_rxmt.len(),
                    })
                    .collect(),
            })
            .collect();
        let summarize = |db: &Lsdb| -> (BTreeMap<u8, usize>, Vec<LsaSummary>) {
            let mut count = BTreeMap::new();
            let mut lsas = Vec::new();
            for (k, e) in db.iter() {
                *count.entry(k.ls_type).or_insert(0) += 1;
                lsas.push(LsaSummary {
                    key: *k,
                    seq: e.lsa.header.seq,
                    age: e.age(now),
                    checksum: e.lsa.header.checksum,
                    self_originated: self.is_self_originated(k),
                });
            }
            (count, lsas)
        };
        let areas = self
            .areas
            .iter()
            .map(|a| {
                let (lsa_count, lsas) = summarize(&a.lsdb);
                AreaStatus {
                    id: a.id,
                    lsa_count,
                    lsas,
                }
            })
            .collect();
        Status {
            router_id: self.router_id,
            stub_metric: self.stub_metric,
            vip_encoding: self.vip_encoding,
            announced: self.announced.keys().copied().collect(),
            metrics: self
                .announced
                .keys()
                .map(|p| (*p, self.prefix_metric(p)))
                .collect(),
            interfaces,
            areas,
            as_external_lsas: self.as_lsdb.len(),
            counters: self.counters.clone(),
            shutting_down: self.shutdown.is_some(),
            in_lsdb: self.prefixes_in_lsdb(now),
        }
    }

    /// The /32 prefixes our own live (not MaxAge) LSAs carry: stub links of our
    /// Router-LSAs and our AS-external LSAs.
    fn prefixes_in_lsdb(&self, now: Instant) -> BTreeSet<Ipv4Network> {
        let host = |addr: Ipv4Addr, mask: Ipv4Addr| {
            (mask == Ipv4Addr::BROADCAST).then(|| Ipv4Network::new(addr, 32).ok())?
        };
        let own = |db: &'_ Lsdb| -> Vec<Ipv4Network> {
            db.iter()
                .filter(|(k, e)| k.adv_rtr == self.router_id && !e.is_max_age(now))
                .flat_map(|(k, e)| match &e.lsa.body {
                    LsaBody::Router(r) => r
                        .links
                        .iter()
                        .filter(|l| l.link_type == LINK_STUB)
                        .filter_map(|l| host(l.id, l.data))
                        .collect(),
                    LsaBody::External(x) => host(k.id, x.mask).into_iter().collect(),
                    _ => Vec::new(),
                })
                .collect()
        };
        self.areas
            .iter()
            .flat_map(|a| own(&a.lsdb))
            .chain(own(&self.as_lsdb))
            .collect()
    }
}
