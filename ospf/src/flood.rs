//! Flooding (RFC 2328 §13.3) and acknowledgments (§13.5): choosing the neighbors and
//! interfaces an LSA goes to, retransmission lists, and delayed acks. Updates are queued and
//! packed into as few LS Updates as possible once per input (`flush_flood_queue`).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::instance::{Instance, Scope, DELAYED_ACK};
use crate::interface::ism;
use crate::neighbor::nsm;
use crate::packet::{LsaHeader, LsaKey};

impl Instance {
    /// Floods the LSDB instance of `key` (§13.3). `from` is the interface and neighbor it came
    /// from (None when we originated it). Returns true if it was flooded back out the
    /// receiving interface (no ack needed then).
    pub(crate) fn flood(
        &mut self,
        now: Instant,
        scope: Scope,
        key: LsaKey,
        from: Option<(usize, Ipv4Addr)>,
    ) -> bool {
        let Some(header) = self.lsdb(scope).get(&key).map(|e| e.header(now)) else {
            return false;
        };
        let mut flooded_back = false;
        for ij in 0..self.ifaces.len() {
            let iface = &self.ifaces[ij];
            if iface.state == ism::State::Down {
                continue;
            }
            match scope {
                Scope::Area(a) if iface.area != a => continue,
                // §13.3 (1): AS-external LSAs are not flooded into stub areas.
                Scope::As if self.areas[iface.area].stub => continue,
                _ => {}
            }
            let rxmt = Duration::from_secs(iface.cfg.retransmit_interval.max(1) as u64);
            let mut added = false;
            let iface = &mut self.ifaces[ij];
            for (nk, n) in iface.neighbors.iter_mut() {
                if n.state < nsm::State::Exchange {
                    continue;
                }
                if n.state < nsm::State::Full {
                    if let Some(req) = n.ls_request.get(&key) {
                        match header.compare(req) {
                            Ordering::Less => continue,
                            Ordering::Equal => {
                                n.ls_request.remove(&key);
                                continue;
                            }
                            Ordering::Greater => {
                                n.ls_request.remove(&key);
                            }
                        }
                    }
                }
                if from == Some((ij, *nk)) {
                    continue;
                }
                n.ls_rxmt.insert(key, header);
                if n.ls_rxmt_due.is_none() {
                    n.ls_rxmt_due = Some(now + rxmt);
                }
                added = true;
            }
            if !added {
                continue;
            }
            if let Some((fi, fk)) = from {
                if fi == ij && !iface.is_p2p() {
                    let from_drb = iface
                        .neighbors
                        .get(&fk)
                        .is_some_and(|n| n.is_dr() || n.is_bdr());
                    if from_drb || iface.state == ism::State::Backup {
                        continue;
                    }
                    flooded_back = true;
                }
            }
            let dst = iface.flood_dst();
            self.flood_queue.push((ij, dst, scope, key));
        }
        flooded_back
    }

    pub(crate) fn remove_from_rxmt_lists(&mut self, key: &LsaKey) {
        for i in &mut self.ifaces {
            for n in i.neighbors.values_mut() {
                n.ls_rxmt.remove(key);
                if n.ls_rxmt.is_empty() {
                    n.ls_rxmt_due = None;
                }
            }
        }
    }

    pub(crate) fn delayed_ack(&mut self, now: Instant, ii: usize, h: LsaHeader) {
        let iface = &mut self.ifaces[ii];
        iface.delayed_acks.push(h);
        if iface.delayed_ack_due.is_none() {
            iface.delayed_ack_due = Some(now + DELAYED_ACK);
        }
    }

    /// Sends everything flooded during this input, grouped per (interface, destination).
    pub(crate) fn flush_flood_queue(&mut self, now: Instant) {
        if self.flood_queue.is_empty() {
            return;
        }
        let mut groups: BTreeMap<(usize, Ipv4Addr), Vec<(Scope, LsaKey)>> = BTreeMap::new();
        for (ii, dst, scope, key) in std::mem::take(&mut self.flood_queue) {
            let v = groups.entry((ii, dst)).or_default();
            if !v.contains(&(scope, key)) {
                v.push((scope, key));
            }
        }
        for ((ii, dst), keys) in groups {
            let delay = self.ifaces[ii].cfg.transmit_delay;
            let lsas = keys
                .iter()
                .filter_map(|(scope, key)| {
                    self.lsdb(*scope)
                        .get(key)
                        .map(|e| e.for_transmit(now, delay))
                })
                .collect();
            self.send_lsas(now, ii, dst, lsas);
        }
    }
}
