//! Receive path: packet acceptance (§8.2), then one handler per packet type — Hello (§10.5),
//! Database Description (§10.6), LS Request (§10.7), LS Update (§13), LS Ack (§13.7).
//! Bad packets are counted per reason, logged at debug and dropped without any state change.

use std::cmp::Ordering;
use std::net::Ipv4Addr;
use std::time::Instant;

use crate::api::Event;
use crate::instance::Instance;
use crate::interface::ism;
use crate::neighbor::{nsm, LastDd, Neighbor};
use crate::packet::lsa::{LS_TYPE_EXTERNAL, MAX_AGE, MAX_SEQ};
use crate::packet::{self, Body, DbDesc, Hello, LsAck, LsRequest, LsUpdate, OPTION_E};

impl Instance {
    pub(crate) fn rx_packet(
        &mut self,
        now: Instant,
        ii: usize,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        bytes: &[u8],
    ) {
        let Some(iface) = self.ifaces.get(ii) else {
            return;
        };
        if iface.state == ism::State::Down {
            return self.drop_packet(ii, src, "interface_down");
        }
        if iface.cfg.passive {
            return self.drop_packet(ii, src, "passive_interface");
        }
        let (repr, crypto_seq) = match packet::decode(bytes, &iface.cfg.auth) {
            Ok(x) => x,
            Err(e) => return self.drop_packet(ii, src, e.reason()),
        };
        let kind = repr.body.packet_type().name();
        *self.counters.rx.entry(kind).or_default() += 1;
        if repr.area_id != self.areas[iface.area].id {
            return self.drop_packet(ii, src, "wrong_area");
        }
        if src == iface.addr() {
            return self.drop_packet(ii, src, "own_packet");
        }
        if repr.router_id == self.router_id {
            tracing::warn!(interface = %iface.cfg.name, %src, router_id = %repr.router_id, "OSPF packet with our own router ID from another address: duplicate router ID");
            return self.drop_packet(ii, src, "duplicate_router_id");
        }
        if dst == crate::ALL_D_ROUTERS && !iface.is_dr_or_bdr() {
            return self.drop_packet(ii, src, "not_dr");
        }
        // §8.2: the destination is the interface's address, AllSPFRouters or AllDRouters.
        // Not any multicast group: a raw socket sees every group the host has joined.
        if dst != iface.addr() && dst != crate::ALL_SPF_ROUTERS && dst != crate::ALL_D_ROUTERS {
            return self.drop_packet(ii, src, "wrong_destination");
        }
        if !iface.is_p2p() {
            if let Some(l) = iface.link {
                if !l.address.contains(src) {
                    return self.drop_packet(ii, src, "wrong_subnet");
                }
            }
        }
        let key = self.neighbor_key(ii, src, repr.router_id);
        if let Body::Hello(h) = repr.body {
            return self.rx_hello(now, ii, src, repr.router_id, key, h, crypto_seq);
        }
        let Some(n) = self.ifaces[ii].neighbors.get_mut(&key) else {
            return self.drop_packet(ii, src, "unknown_neighbor");
        };
        if let Some(seq) = crypto_seq {
            if n.crypto_seq.is_some_and(|last| seq < last) {
                return self.drop_packet(ii, src, "crypto_seq_replay");
            }
            n.crypto_seq = Some(seq);
        }
        match repr.body {
            Body::DbDesc(dd) => self.rx_dbdesc(now, ii, key, dd),
            Body::LsRequest(r) => self.rx_lsreq(now, ii, key, r),
            Body::LsUpdate(u) => self.rx_lsupd(now, ii, key, u),
            Body::LsAck(a) => self.rx_lsack(ii, key, a),
            Body::Hello(_) => {}
        }
    }

    #[allow(clippy::too_many_arguments)] // one call site; the arguments are the packet's facts
    fn rx_hello(
        &mut self,
        now: Instant,
        ii: usize,
        src: Ipv4Addr,
        router_id: Ipv4Addr,
        key: Ipv4Addr,
        h: Hello,
        crypto_seq: Option<u32>,
    ) {
        let iface = &self.ifaces[ii];
        if !iface.is_p2p() && h.network_mask != iface.mask() {
            return self.drop_packet(ii, src, "netmask_mismatch");
        }
        if h.hello_interval != iface.cfg.hello_interval {
            return self.drop_packet(ii, src, "hello_interval_mismatch");
        }
        if h.dead_interval != iface.cfg.dead_interval {
            return self.drop_packet(ii, src, "dead_interval_mismatch");
        }
        // §10.5: the E bit must match the area's ExternalRoutingCapability (clear in a
        // stub area, set elsewhere).
        if h.options & OPTION_E != self.area_options(ii) & OPTION_E {
            return self.drop_packet(ii, src, "options_mismatch");
        }
        let known = self.ifaces[ii].neighbors.contains_key(&key);
        if let (false, Some(seq)) = (known, crypto_seq) {
            if self.ifaces[ii].is_retired_replay(key, seq, now) {
                return self.drop_packet(ii, src, "crypto_seq_replay");
            }
        }
        if let Some(n) = self.ifaces[ii].neighbors.get(&key) {
            if let (Some(seq), Some(last)) = (crypto_seq, n.crypto_seq) {
                if seq < last {
                    return self.drop_packet(ii, src, "crypto_seq_replay");
                }
            }
            if n.router_id != router_id {
                // Another router now uses this address: start over with it.
                self.nsm(now, ii, key, nsm::Event::KillNbr);
            }
        }
        let n = self.ifaces[ii]
            .neighbors
            .entry(key)
            .or_insert_with(|| Neighbor::new(router_id, src, now));
        if crypto_seq.is_some() {
            n.crypto_seq = crypto_seq;
        }
        let old_prio = n.priority;
        let was_dr = n.is_dr();
        let was_bdr = n.is_bdr();
        n.router_id = router_id;
        n.addr = src;
        n.priority = h.priority;
        n.dr = h.dr;
        n.bdr = h.bdr;
        let first = n.state == nsm::State::Down;
        self.nsm(now, ii, key, nsm::Event::HelloReceived);
        if !h.neighbors.contains(&self.router_id) {
            self.nsm(now, ii, key, nsm::Event::OneWayReceived);
            return;
        }
        self.nsm(now, ii, key, nsm::Event::TwoWayReceived);
        if self.ifaces[ii].is_p2p() {
            return;
        }
        let Some(n) = self.ifaces[ii].neighbors.get(&key) else {
            return;
        };
        let waiting = self.ifaces[ii].state == ism::State::Waiting;
        let (is_dr, is_bdr) = (n.is_dr(), n.is_bdr());
        let none = Ipv4Addr::UNSPECIFIED;
        let mut neighbor_change = !first && old_prio != h.priority;
        if is_dr && n.bdr == none && waiting {
            self.ism(now, ii, ism::Event::BackupSeen);
        } else if is_dr != was_dr && !first {
            neighbor_change = true;
        }
        if is_bdr && waiting {
            self.ism(now, ii, ism::Event::BackupSeen);
        } else if is_bdr != was_bdr && !first {
            neighbor_change = true;
        }
        if first && (is_dr || is_bdr) && !waiting {
            neighbor_change = true;
        }
        if neighbor_change {
            self.ism(now, ii, ism::Event::NeighborChange);
        }
    }

    fn rx_dbdesc(&mut self, now: Instant, ii: usize, k: Ipv4Addr, dd: DbDesc) {
        let src = self.ifaces[ii].neighbors[&k].addr;
        if dd.mtu > self.ifaces[ii].mtu() {
            return self.drop_packet(ii, src, "mtu_mismatch");
        }
        let mut state = self.ifaces[ii].neighbors[&k].state;
        if state == nsm::State::Init {
            self.nsm(now, ii, k, nsm::Event::TwoWayReceived);
            state = match self.ifaces[ii].neighbors.get(&k) {
                Some(n) => n.state,
                None => return,
            };
        }
        let this = LastDd {
            flags: dd.flags,
            options: dd.options,
            seq: dd.seq,
        };
        match state {
            nsm::State::Down | nsm::State::Init | nsm::State::TwoWay => {
                self.drop_packet(ii, src, "dbdesc_state")
            }
            nsm::State::ExStart => {
                let n = &self.ifaces[ii].neighbors[&k];
                let init_from_master =
                    dd.is_init() && dd.is_more() && dd.is_master() && dd.lsa_headers.is_empty();
                if init_from_master && n.router_id > self.router_id {
                    // We are the slave: adopt the master's sequence number (§10.6).
                    if let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) {
                        n.master = false;
                        n.dd_seq = dd.seq;
                        n.dd_rxmt_due = None;
                        n.options = dd.options;
                    }
                } else if !dd.is_init()
                    && !dd.is_master()
                    && dd.seq == n.dd_seq
                    && n.router_id < self.router_id
                {
                    if let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) {
                        n.options = dd.options;
                    }
                } else {
                    return self.drop_packet(ii, src, "dbdesc_negotiation");
                }
                self.nsm(now, ii, k, nsm::Event::NegotiationDone);
                self.accept_dbdesc(now, ii, k, dd, this);
            }
            nsm::State::Exchange | nsm::State::Loading | nsm::State::Full => {
                let n = &self.ifaces[ii].neighbors[&k];
                if n.last_dd_rx == Some(this) {
                    // Duplicate: the slave answers with its last packet, the master ignores it.
                    if !n.master {
                        self.resend_dbdesc(now, ii, k);
                    }
                    return;
                }
                if state != nsm::State::Exchange {
                    return self.nsm(now, ii, k, nsm::Event::SeqNumberMismatch);
                }
                let expected_seq = if n.master {
                    n.dd_seq
                } else {
                    n.dd_seq.wrapping_add(1)
                };
                let bad = dd.is_master() == n.master
                    || dd.is_init()
                    || dd.options != n.options
                    || dd.seq != expected_seq;
                if bad {
                    return self.nsm(now, ii, k, nsm::Event::SeqNumberMismatch);
                }
                self.accept_dbdesc(now, ii, k, dd, this);
            }
        }
    }

    /// An accepted, in-sequence Database Description: request what we lack, then answer or
    /// continue (§10.6, last part).
    fn accept_dbdesc(&mut self, now: Instant, ii: usize, k: Ipv4Addr, dd: DbDesc, this: LastDd) {
        let stub = self.in_stub_area(ii);
        for h in &dd.lsa_headers {
            // §10.6: unknown types, and AS-external LSAs from a stub-area neighbor.
            if !(1..=5).contains(&h.ls_type) || (stub && h.ls_type == LS_TYPE_EXTERNAL) {
                return self.nsm(now, ii, k, nsm::Event::SeqNumberMismatch);
            }
            let scope = self.scope_of(ii, h.ls_type);
            let newer = match self.lsdb(scope).get(&h.key()) {
                None => true,
                Some(e) => h.compare(&e.header(now)) == Ordering::Greater,
            };
            if newer {
                if let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) {
                    n.ls_request.insert(h.key(), *h);
                }
            }
        }
        let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) else {
            return;
        };
        n.last_dd_rx = Some(this);
        if n.state == nsm::State::Exchange && !n.ls_request.is_empty() && n.ls_request_due.is_none()
        {
            // Start requesting while the exchange goes on (§10.9 allows it).
            n.ls_request_due = Some(now);
        }
        if n.master {
            n.dd_seq = n.dd_seq.wrapping_add(1);
            if !n.more_sent && !dd.is_more() {
                n.dd_rxmt_due = None;
                self.nsm(now, ii, k, nsm::Event::ExchangeDone);
            } else {
                self.send_dbdesc(now, ii, k, 0);
            }
        } else {
            n.dd_seq = dd.seq;
            self.send_dbdesc(now, ii, k, 0);
            let more_sent = self.ifaces[ii]
                .neighbors
                .get(&k)
                .is_some_and(|n| n.more_sent);
            if !dd.is_more() && !more_sent {
                self.nsm(now, ii, k, nsm::Event::ExchangeDone);
            }
        }
    }

    fn rx_lsreq(&mut self, now: Instant, ii: usize, k: Ipv4Addr, r: LsRequest) {
        let n = &self.ifaces[ii].neighbors[&k];
        if n.state < nsm::State::Exchange {
            let src = n.addr;
            return self.drop_packet(ii, src, "lsreq_state");
        }
        let delay = self.ifaces[ii].cfg.transmit_delay;
        let stub = self.in_stub_area(ii);
        let mut lsas = Vec::with_capacity(r.entries.len());
        for key in &r.entries {
            if stub && key.ls_type == LS_TYPE_EXTERNAL {
                return self.nsm(now, ii, k, nsm::Event::BadLsReq);
            }
            let scope = self.scope_of(ii, key.ls_type);
            match self.lsdb(scope).get(key) {
                Some(e) => lsas.push(e.for_transmit(now, delay)),
                None => return self.nsm(now, ii, k, nsm::Event::BadLsReq),
            }
        }
        let dst = self.nbr_dst(ii, k);
        self.send_lsas(now, ii, dst, lsas);
    }

    fn rx_lsupd(&mut self, now: Instant, ii: usize, k: Ipv4Addr, u: LsUpdate) {
        let n = &self.ifaces[ii].neighbors[&k];
        let src = n.addr;
        if n.state < nsm::State::Exchange {
            return self.drop_packet(ii, src, "lsupd_state");
        }
        self.counters.lsas_received += u.lsas.len() as u64;
        let mut direct_acks = Vec::new();
        for lsa in u.lsas {
            // (1) checksum, (2) known type.
            if !lsa.verify_checksum() {
                self.drop_packet(ii, src, "bad_lsa_checksum");
                continue;
            }
            if !(1..=5).contains(&lsa.header.ls_type) {
                self.drop_packet(ii, src, "unknown_lsa_type");
                continue;
            }
            // (3) no AS-external LSA enters a stub area.
            if lsa.header.ls_type == LS_TYPE_EXTERNAL && self.in_stub_area(ii) {
                self.drop_packet(ii, src, "external_lsa_in_stub_area");
                continue;
            }
            let key = lsa.header.key();
            let scope = self.scope_of(ii, key.ls_type);
            let db = self.lsdb(scope).get(&key).map(|e| {
                (
                    e.header(now),
                    e.from_flooding,
                    e.installed_within(now, crate::instance::MIN_LS_ARRIVAL),
                )
            });
            // (4) MaxAge LSA we don't have, nobody exchanging: ack and forget.
            if lsa.header.age >= MAX_AGE && db.is_none() && !self.anyone_exchanging() {
                direct_acks.push(lsa.header);
                continue;
            }
            let cmp = db.map(|(h, _, _)| lsa.header.compare(&h));
            if cmp.is_none() || cmp == Some(Ordering::Greater) {
                // (5a) MinLSArrival.
                if let Some((_, true, true)) = db {
                    self.drop_packet(ii, src, "min_ls_arrival");
                    continue;
                }
                // (5b) flood, (5c) remove old copies from retransmission lists, (5d) install.
                // (Retransmission lists are keyed by LSA, so the old instance is removed
                // before the new one is flooded.)
                self.remove_from_rxmt_lists(&key);
                let header = lsa.header;
                self.lsdb_mut(scope).install(lsa, now, true);
                let flooded_back = self.flood(now, scope, key, Some((ii, k)));
                if let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) {
                    if n.ls_request
                        .get(&key)
                        .is_some_and(|req| header.compare(req) != Ordering::Less)
                    {
                        n.ls_request.remove(&key);
                    }
                }
                let name = self.ifaces[ii].cfg.name.clone();
                self.event(Event::LsaReceived {
                    interface: name,
                    from: src,
                    key,
                    seq: header.seq,
                    age: header.age,
                });
                // (5e) acknowledgment (§13.5).
                if !flooded_back {
                    let backup = self.ifaces[ii].state == ism::State::Backup;
                    let from_dr = self.ifaces[ii].neighbors.get(&k).is_some_and(|n| n.is_dr());
                    if !backup || from_dr {
                        self.delayed_ack(now, ii, header);
                    }
                }
                // (5f) our own LSA from a previous life: supersede it (§13.4).
                if self.is_self_originated(&key) {
                    tracing::info!(lsa = %key, seq = format!("{:#010x}", header.seq as u32), "OSPF received a newer instance of our own LSA: superseding it");
                    self.force.insert((scope, key));
                    self.dirty = true;
                }
                // A changed Router/Network-LSA can change who is adjacent on a segment
                // we are DR of; cheap to re-evaluate.
                continue;
            }
            let on_request = self.ifaces[ii]
                .neighbors
                .get(&k)
                .is_some_and(|n| n.ls_request.contains_key(&key));
            if on_request {
                // (6) the neighbor sent something older than what it told us it had.
                return self.nsm(now, ii, k, nsm::Event::BadLsReq);
            }
            if cmp == Some(Ordering::Equal) {
                // (7) duplicate: implied acknowledgment, or a direct ack.
                let implied = self.ifaces[ii]
                    .neighbors
                    .get_mut(&k)
                    .is_some_and(|n| n.ls_rxmt.remove(&key).is_some());
                if implied {
                    let backup = self.ifaces[ii].state == ism::State::Backup;
                    let from_dr = self.ifaces[ii].neighbors.get(&k).is_some_and(|n| n.is_dr());
                    if backup && from_dr {
                        self.delayed_ack(now, ii, lsa.header);
                    }
                } else {
                    direct_acks.push(lsa.header);
                }
                continue;
            }
            // (8) our copy is newer: send it back, unless it is being flushed at MaxSeq.
            if let Some(e) = self.lsdb(scope).get(&key) {
                if !(e.is_max_age(now) && e.lsa.header.seq == MAX_SEQ) {
                    let copy = e.for_transmit(now, self.ifaces[ii].cfg.transmit_delay);
                    let dst = self.nbr_dst(ii, k);
                    self.send_lsas(now, ii, dst, vec![copy]);
                }
            }
        }
        if !direct_acks.is_empty() {
            let dst = self.nbr_dst(ii, k);
            self.send_acks(now, ii, dst, direct_acks);
        }
        // §10.9: the last request was answered in full: ask for the next batch now rather
        // than at the retransmission timer.
        let next_batch = self.ifaces[ii].neighbors.get(&k).is_some_and(|n| {
            matches!(n.state, nsm::State::Exchange | nsm::State::Loading)
                && !n.ls_request.is_empty()
                && !n.ls_request_sent.is_empty()
                && n.ls_request_sent
                    .iter()
                    .all(|key| !n.ls_request.contains_key(key))
        });
        if next_batch {
            self.send_ls_request(now, ii, k);
        }
        let loading_done = self.ifaces[ii]
            .neighbors
            .get(&k)
            .is_some_and(|n| n.state == nsm::State::Loading && n.ls_request.is_empty());
        if loading_done {
            self.nsm(now, ii, k, nsm::Event::LoadingDone);
        }
    }

    fn rx_lsack(&mut self, ii: usize, k: Ipv4Addr, a: LsAck) {
        let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) else {
            return;
        };
        if n.state < nsm::State::Exchange {
            let src = n.addr;
            return self.drop_packet(ii, src, "lsack_state");
        }
        for h in &a.lsa_headers {
            let key = h.key();
            if n.ls_rxmt
                .get(&key)
                .is_some_and(|mine| mine.compare(h) == Ordering::Equal)
            {
                n.ls_rxmt.remove(&key);
            }
        }
        if n.ls_rxmt.is_empty() {
            n.ls_rxmt_due = None;
        }
    }

    pub(crate) fn anyone_exchanging(&self) -> bool {
        self.ifaces.iter().any(|i| {
            i.neighbors
                .values()
                .any(|n| matches!(n.state, nsm::State::Exchange | nsm::State::Loading))
        })
    }
}
