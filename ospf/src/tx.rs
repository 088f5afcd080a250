//! Building and sending packets: Hello, Database Description (with the summary list cut to
//! the MTU), LS Request, LS Update (LSAs packed into MTU-sized packets), LS Ack, and the
//! retransmissions (§10.8, §10.9, §13.6).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::instance::{Instance, Output};
use crate::neighbor::nsm;
use crate::packet::dbdesc::{FLAG_M, FLAG_MS};
use crate::packet::{
    self, Body, DbDesc, Hello, LsAck, LsRequest, LsUpdate, Lsa, LsaHeader, PacketRepr,
};

/// IPv4 header without options.
const IP_HEADER_LEN: usize = 20;

impl Instance {
    /// Room for the body of one packet on this interface (MTU minus IP, OSPF header, digest).
    pub(crate) fn max_body(&self, ii: usize) -> usize {
        let iface = &self.ifaces[ii];
        (iface.mtu() as usize)
            .saturating_sub(IP_HEADER_LEN + packet::HEADER_LEN + iface.cfg.auth.trailer_len())
            .max(64)
    }

    /// Unicast to the neighbor on broadcast links; AllSPFRouters on point-to-point (works
    /// for unnumbered links too).
    pub(crate) fn nbr_dst(&self, ii: usize, k: Ipv4Addr) -> Ipv4Addr {
        if self.ifaces[ii].is_p2p() {
            crate::ALL_SPF_ROUTERS
        } else {
            self.ifaces[ii]
                .neighbors
                .get(&k)
                .map(|n| n.addr)
                .unwrap_or(crate::ALL_SPF_ROUTERS)
        }
    }

    pub(crate) fn push_packet(
        &mut self,
        ii: usize,
        dst: Ipv4Addr,
        bytes: Vec<u8>,
        kind: &'static str,
    ) {
        *self.counters.tx.entry(kind).or_default() += 1;
        self.out.push(Output::Packet {
            iface: ii,
            dst,
            bytes,
        });
    }

    /// The packet(s) for `body`: one copy per configured key (key rollover, see
    /// `packet::auth`).
    pub(crate) fn encode_body(&self, now: Instant, ii: usize, body: Body) -> Vec<Vec<u8>> {
        let iface = &self.ifaces[ii];
        let repr = PacketRepr {
            router_id: self.router_id,
            area_id: self.areas[iface.area].id,
            body,
        };
        packet::encode_per_key(&repr, &iface.cfg.auth, self.crypto_seq(now))
    }

    pub(crate) fn send_body(&mut self, now: Instant, ii: usize, dst: Ipv4Addr, body: Body) {
        let kind = body.packet_type().name();
        for bytes in self.encode_body(now, ii, body) {
            self.push_packet(ii, dst, bytes, kind);
        }
    }

    /// Hello (§9.5). `goodbye` lists no neighbor: receivers drop the adjacency at once.
    pub(crate) fn send_hello(&mut self, now: Instant, ii: usize, goodbye: bool) {
        let options = self.area_options(ii);
        let iface = &self.ifaces[ii];
        if iface.cfg.passive {
            return;
        }
        let neighbors = if goodbye {
            Vec::new()
        } else {
            iface
                .neighbors
                .values()
                .filter(|n| n.state >= nsm::State::Init)
                .map(|n| n.router_id)
                .collect()
        };
        let (dr, bdr) = if goodbye || iface.is_p2p() {
            (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED)
        } else {
            (iface.dr, iface.bdr)
        };
        let hello = Hello {
            network_mask: iface.mask(),
            hello_interval: iface.cfg.hello_interval,
            options,
            priority: if goodbye { 0 } else { iface.priority() },
            dead_interval: iface.cfg.dead_interval,
            dr,
            bdr,
            neighbors,
        };
        self.send_body(now, ii, crate::ALL_SPF_ROUTERS, Body::Hello(hello));
    }

    /// Next Database Description to this neighbor, taking as many summary headers as fit.
    pub(crate) fn send_dbdesc(&mut self, now: Instant, ii: usize, k: Ipv4Addr, extra_flags: u8) {
        let max_headers = (self.max_body(ii) - 8) / LsaHeader::LEN;
        let mtu = self.ifaces[ii].mtu();
        let options = self.area_options(ii);
        let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) else {
            return;
        };
        let in_exstart = n.state == nsm::State::ExStart && extra_flags != 0;
        let mut headers = Vec::new();
        if !in_exstart {
            while headers.len() < max_headers {
                match n.db_summary.pop_front() {
                    Some(h) => headers.push(h),
                    None => break,
                }
            }
        }
        let mut flags = extra_flags;
        if !in_exstart {
            if !n.db_summary.is_empty() {
                flags |= FLAG_M;
            }
            if n.master {
                flags |= FLAG_MS;
            }
        }
        n.more_sent = flags & FLAG_M != 0;
        let dd = DbDesc {
            mtu,
            options,
            flags,
            seq: n.dd_seq,
            lsa_headers: headers,
        };
        let rxmt = Duration::from_secs(self.ifaces[ii].cfg.retransmit_interval.max(1) as u64);
        if let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) {
            n.last_dd_tx = Some(dd.clone());
            if n.master {
                n.dd_rxmt_due = Some(now + rxmt);
            }
        }
        let dst = self.nbr_dst(ii, k);
        self.send_body(now, ii, dst, Body::DbDesc(dd));
    }

    /// Sends our last Database Description again (master timer, or a slave answering a
    /// duplicate).
    pub(crate) fn resend_dbdesc(&mut self, now: Instant, ii: usize, k: Ipv4Addr) {
        let Some(dd) = self.ifaces[ii]
            .neighbors
            .get(&k)
            .and_then(|n| n.last_dd_tx.clone())
        else {
            return;
        };
        let dst = self.nbr_dst(ii, k);
        self.send_body(now, ii, dst, Body::DbDesc(dd));
    }

    /// LS Request for the head of the request list (§10.9); re-sent every RxmtInterval until
    /// the list is empty.
    pub(crate) fn send_ls_request(&mut self, now: Instant, ii: usize, k: Ipv4Addr) {
        let max = self.max_body(ii) / packet::lsreq::ENTRY_LEN;
        let rxmt = Duration::from_secs(self.ifaces[ii].cfg.retransmit_interval.max(1) as u64);
        let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) else {
            return;
        };
        if n.ls_request.is_empty() {
            n.ls_request_due = None;
            return;
        }
        let entries: Vec<_> = n.ls_request.keys().take(max).copied().collect();
        n.ls_request_sent = entries.clone();
        n.ls_request_due = Some(now + rxmt);
        let dst = self.nbr_dst(ii, k);
        self.send_body(now, ii, dst, Body::LsRequest(LsRequest { entries }));
    }

    /// Sends LSAs in as few LS Updates as the MTU allows.
    pub(crate) fn send_lsas(&mut self, now: Instant, ii: usize, dst: Ipv4Addr, lsas: Vec<Lsa>) {
        self.counters.lsas_sent += lsas.len() as u64;
        let max = self.max_body(ii);
        let mut batch: Vec<Lsa> = Vec::new();
        let mut size = 4;
        for lsa in lsas {
            let len = lsa.buffer_len();
            if !batch.is_empty() && size + len > max {
                let lsas = std::mem::take(&mut batch);
                self.send_body(now, ii, dst, Body::LsUpdate(LsUpdate { lsas }));
                size = 4;
            }
            size += len;
            batch.push(lsa);
        }
        if !batch.is_empty() {
            self.send_body(now, ii, dst, Body::LsUpdate(LsUpdate { lsas: batch }));
        }
    }

    pub(crate) fn send_acks(
        &mut self,
        now: Instant,
        ii: usize,
        dst: Ipv4Addr,
        headers: Vec<LsaHeader>,
    ) {
        let max = self.max_body(ii) / LsaHeader::LEN;
        for chunk in headers.chunks(max.max(1)) {
            let body = Body::LsAck(LsAck {
                lsa_headers: chunk.to_vec(),
            });
            self.send_body(now, ii, dst, body);
        }
    }

    pub(crate) fn send_delayed_acks(&mut self, now: Instant, ii: usize) {
        let iface = &mut self.ifaces[ii];
        iface.delayed_ack_due = None;
        let headers = std::mem::take(&mut iface.delayed_acks);
        if headers.is_empty() {
            return;
        }
        let dst = self.ifaces[ii].flood_dst();
        self.send_acks(now, ii, dst, headers);
    }

    /// Retransmits every unacknowledged LSA to the neighbor (§13.6), unicast.
    pub(crate) fn retransmit(&mut self, now: Instant, ii: usize, k: Ipv4Addr) {
        let rxmt = Duration::from_secs(self.ifaces[ii].cfg.retransmit_interval.max(1) as u64);
        let delay = self.ifaces[ii].cfg.transmit_delay;
        let Some(n) = self.ifaces[ii].neighbors.get(&k) else {
            return;
        };
        let keys: Vec<_> = n.ls_rxmt.keys().copied().collect();
        let mut lsas = Vec::new();
        let mut gone = Vec::new();
        for key in keys {
            let scope = self.scope_of(ii, key.ls_type);
            match self.lsdb(scope).get(&key) {
                Some(e) => lsas.push(e.for_transmit(now, delay)),
                None => gone.push(key),
            }
        }
        if let Some(n) = self.ifaces[ii].neighbors.get_mut(&k) {
            for g in gone {
                n.ls_rxmt.remove(&g);
            }
            n.ls_rxmt_due = if n.ls_rxmt.is_empty() {
                None
            } else {
                Some(now + rxmt)
            };
        }
        if !lsas.is_empty() {
            *self.counters.tx.entry("lsupd_retransmit").or_default() += 1;
            self.counters.lsas_retransmitted += lsas.len() as u64;
            let dst = self.nbr_dst(ii, k);
            self.send_lsas(now, ii, dst, lsas);
        }
    }
}
