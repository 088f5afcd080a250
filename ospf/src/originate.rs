//! Self-originated LSAs: the Router-LSA of each area (interface links plus one /32 stub link
//! per announced prefix, §12.4.1), the Network-LSA of every segment where we are DR with at
//! least one Full neighbor (§12.4.2), AS-external LSAs when prefixes are encoded as externals
//! (§12.4.4), refresh at LSRefreshTime, MinLSInterval, flushing what is no longer wanted, and
//! superseding instances left over from a previous run (§13.4).
//!
//! Everything goes through one idempotent function, `sync_self_lsas`: compute the desired
//! set, compare with the LSDB, originate/flush the difference.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::api::{NetworkType, VipEncoding};
use crate::instance::{Instance, Scope, LS_REFRESH_TIME, MIN_LS_ARRIVAL, MIN_LS_INTERVAL};
use crate::interface::ism;
use crate::neighbor::nsm;
use crate::packet::lsa::{
    ExternalLsa, LsaBody, NetworkLsa, RouterLink, RouterLsa, INITIAL_SEQ, LINK_P2P, LINK_STUB,
    LINK_TRANSIT, LS_TYPE_EXTERNAL, LS_TYPE_NETWORK, LS_TYPE_ROUTER, MAX_AGE, MAX_SEQ,
    ROUTER_FLAG_E,
};
use crate::packet::{Lsa, LsaHeader, LsaKey, OPTION_E};

/// How long after an origination the next instance of the same LSA may follow:
/// MinLSArrival plus a margin. A receiver that measures a little less than MinLSArrival
/// discards the new instance without acknowledging it (FRR did, in
/// tests/ospf_dr_handover.rs), and the retransmission comes only RxmtInterval later.
pub(crate) const NEXT_INSTANCE_AFTER: Duration =
    MIN_LS_ARRIVAL.saturating_add(Duration::from_millis(100));

impl Instance {
    /// Are announced prefixes encoded as AS-external LSAs rather than stub links (in the
    /// areas that are not stub areas; stub areas always get stub links)?
    pub fn vips_as_externals(&self) -> bool {
        let wanted = match self.vip_encoding {
            VipEncoding::External => true,
            VipEncoding::Auto => self.announced.len() > crate::STUB_LINK_LIMIT,
        };
        wanted && self.areas.iter().any(|a| !a.stub)
    }

    fn new_lsa(&self, options: u8, ls_type: u8, id: Ipv4Addr, body: LsaBody) -> Lsa {
        Lsa {
            header: LsaHeader {
                age: 0,
                options,
                ls_type,
                id,
                adv_rtr: self.router_id,
                seq: INITIAL_SEQ,
                checksum: 0,
                length: 0,
            },
            body,
        }
    }

    fn router_lsa(&self, area: usize, externals: bool) -> Lsa {
        let mut links = Vec::new();
        for iface in self.ifaces.iter().filter(|i| i.area == area) {
            let Some(link) = iface.link else { continue };
            let cost = iface.cfg.cost;
            let subnet = RouterLink {
                id: link.address.network(),
                data: link.address.mask(),
                link_type: LINK_STUB,
                metric: cost,
                tos: vec![],
            };
            match (iface.cfg.network_type, iface.state) {
                (_, ism::State::Down) => {}
                (NetworkType::PointToPoint, _) => {
                    for n in iface.full_neighbors() {
                        links.push(RouterLink {
                            id: n.router_id,
                            data: link.address.ip(),
                            link_type: LINK_P2P,
                            metric: cost,
                            tos: vec![],
                        });
                    }
                    links.push(subnet);
                }
                (NetworkType::Broadcast, ism::State::Waiting) => links.push(subnet),
                (NetworkType::Broadcast, state) => {
                    let full_with_dr = if state == ism::State::Dr {
                        iface.full_neighbors().next().is_some()
                    } else {
                        iface
                            .dr_neighbor()
                            .is_some_and(|n| n.state == nsm::State::Full)
                    };
                    if full_with_dr {
                        links.push(RouterLink {
                            id: iface.dr,
                            data: link.address.ip(),
                            link_type: LINK_TRANSIT,
                            metric: cost,
                            tos: vec![],
                        });
                    } else {
                        links.push(subnet);
                    }
                }
            }
        }
        // AS-external LSAs do not enter a stub area (§3.6): there the VIPs stay stub links.
        let stub_area = self.areas[area].stub;
        let externals = externals && !stub_area;
        if !externals {
            for p in self.announced.keys() {
                links.push(RouterLink {
                    id: p.network(),
                    data: p.mask(),
                    link_type: LINK_STUB,
                    metric: self.prefix_metric(p),
                    tos: vec![],
                });
            }
        }
        let flags = if externals && !self.announced.is_empty() {
            ROUTER_FLAG_E
        } else {
            0
        };
        self.new_lsa(
            area_options(stub_area),
            LS_TYPE_ROUTER,
            self.router_id,
            LsaBody::Router(RouterLsa {
                flags,
                reserved: 0,
                links,
            }),
        )
    }

    /// Every LSA we want in the LSDBs right now (nothing once a shutdown is flushing).
    fn desired_lsas(&self) -> Vec<(Scope, Lsa)> {
        if self.flushing() {
            return Vec::new();
        }
        let externals = self.vips_as_externals();
        let mut out = Vec::new();
        for area in 0..self.areas.len() {
            out.push((Scope::Area(area), self.router_lsa(area, externals)));
        }
        for iface in &self.ifaces {
            if iface.state != ism::State::Dr {
                continue;
            }
            let Some(link) = iface.link else { continue };
            let mut attached: Vec<Ipv4Addr> = iface.full_neighbors().map(|n| n.router_id).collect();
            if attached.is_empty() {
                continue;
            }
            attached.insert(0, self.router_id);
            out.push((
                Scope::Area(iface.area),
                self.new_lsa(
                    area_options(self.areas[iface.area].stub),
                    LS_TYPE_NETWORK,
                    link.address.ip(),
                    LsaBody::Network(NetworkLsa {
                        mask: link.address.mask(),
                        attached,
                    }),
                ),
            ));
        }
        if externals {
            for p in self.announced.keys() {
                out.push((
                    Scope::As,
                    self.new_lsa(
                        OPTION_E,
                        LS_TYPE_EXTERNAL,
                        p.network(),
                        LsaBody::External(ExternalLsa {
                            mask: p.mask(),
                            e_bit: true,
                            tos_bits: 0,
                            metric: self.prefix_metric(p) as u32,
                            forwarding: Ipv4Addr::UNSPECIFIED,
                            tag: 0,
                            extra: vec![],
                        }),
                    ),
                ));
            }
        }
        out
    }

    pub(crate) fn sync_self_lsas(&mut self, now: Instant) {
        let desired = self.desired_lsas();
        let wanted: BTreeSet<(Scope, LsaKey)> =
            desired.iter().map(|(s, l)| (*s, l.header.key())).collect();
        for (scope, mut lsa) in desired {
            let key = lsa.header.key();
            let forced = self.force.contains(&(scope, key));
            let db = self.lsdb(scope).get(&key);
            let changed = match db {
                None => true,
                Some(e) => {
                    e.is_max_age(now)
                        || e.lsa.body != lsa.body
                        || e.lsa.header.options != lsa.header.options
                        || e.age(now) >= LS_REFRESH_TIME
                }
            };
            if !changed && !forced {
                continue;
            }
            if !forced {
                if let Some(last) = self.last_origination.get(&(scope, key)) {
                    if now.saturating_duration_since(*last) < MIN_LS_INTERVAL {
                        self.schedule_origination(*last + MIN_LS_INTERVAL);
                        continue;
                    }
                }
            }
            let prev_seq = db.map(|e| e.lsa.header.seq);
            if prev_seq == Some(MAX_SEQ) {
                // §12.1.6: the sequence space wrapped; flush first, originate afresh after.
                self.flush_self_lsa(now, scope, key);
                self.schedule_origination(now + NEXT_INSTANCE_AFTER);
                continue;
            }
            self.force.remove(&(scope, key));
            lsa.header.seq = prev_seq.map(|s| s.wrapping_add(1)).unwrap_or(INITIAL_SEQ);
            lsa.finalize();
            let seq = lsa.header.seq;
            self.remove_from_rxmt_lists(&key);
            self.lsdb_mut(scope).install(lsa, now, false);
            self.last_origination.insert((scope, key), now);
            self.flood(now, scope, key, None);
            self.log_origination(scope, key, seq, false);
        }
        // Ours but no longer wanted (withdrawn externals, Network-LSA after losing DR, or
        // leftovers of a previous run): flush by premature aging (§14.1).
        let mut scopes: Vec<Scope> = (0..self.areas.len()).map(Scope::Area).collect();
        scopes.push(Scope::As);
        for scope in scopes {
            let stale: Vec<LsaKey> = self
                .lsdb(scope)
                .iter()
                .filter(|(k, e)| {
                    self.is_self_originated(k)
                        && !e.is_max_age(now)
                        && !wanted.contains(&(scope, **k))
                        && !self
                            .frozen_lsas()
                            .is_some_and(|f| f.contains(&(scope, **k)))
                })
                .map(|(k, _)| *k)
                .collect();
            for key in stale {
                if let Some(last) = self.last_origination.get(&(scope, key)) {
                    // Receivers ignore a new instance within MinLSArrival of the previous one.
                    if now.saturating_duration_since(*last) < NEXT_INSTANCE_AFTER {
                        self.schedule_origination(*last + NEXT_INSTANCE_AFTER);
                        continue;
                    }
                }
                self.flush_self_lsa(now, scope, key);
            }
        }
        self.force.retain(|k| wanted.contains(k));
    }

    fn schedule_origination(&mut self, at: Instant) {
        self.originate_due = Some(self.originate_due.map_or(at, |t| t.min(at)));
    }

    fn flush_self_lsa(&mut self, now: Instant, scope: Scope, key: LsaKey) {
        let Some(e) = self.lsdb(scope).get(&key) else {
            return;
        };
        let mut lsa = e.lsa.clone();
        lsa.header.age = MAX_AGE;
        let seq = lsa.header.seq;
        self.remove_from_rxmt_lists(&key);
        self.lsdb_mut(scope).install(lsa, now, false);
        self.last_origination.insert((scope, key), now);
        self.flood(now, scope, key, None);
        self.log_origination(scope, key, seq, true);
    }

    fn log_origination(&mut self, scope: Scope, key: LsaKey, seq: i32, flushed: bool) {
        let area = match scope {
            Scope::Area(a) => Some(self.areas[a].id),
            Scope::As => None,
        };
        if flushed {
            tracing::info!(lsa = %key, seq = format!("{:#010x}", seq as u32), "OSPF LSA flushed");
        } else {
            tracing::info!(lsa = %key, seq = format!("{:#010x}", seq as u32), "OSPF LSA originated");
        }
        self.event(crate::api::Event::LsaOriginated {
            area,
            key,
            seq,
            flushed,
        });
    }

    /// True when none of our LSAs is still live in any LSDB.
    pub(crate) fn self_lsas_all_flushed(&self, now: Instant) -> bool {
        self.areas
            .iter()
            .map(|a| &a.lsdb)
            .chain(std::iter::once(&self.as_lsdb))
            .all(|db| {
                db.iter()
                    .all(|(k, e)| !self.is_self_originated(k) || e.is_max_age(now))
            })
    }
}

/// LSA options in an area: the E bit, except in a stub area (§12.1.2).
fn area_options(stub_area: bool) -> u8 {
    if stub_area {
        0
    } else {
        OPTION_E
    }
}
