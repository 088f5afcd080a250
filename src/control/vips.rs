//! The service VIPs of active-active mode: holding them as host addresses on `lo` so the
//! kernel accepts their traffic (which addresses they are is `policy`'s business).
//!
//! IPv4 addresses we add carry the label [`VIP_LABEL`], which is how a restarted daemon
//! tells its own VIPs (which it may remove when the configuration drops them) from
//! addresses an operator put on `lo` (which it never touches). IPv6 addresses have no
//! label, so an IPv6 VIP counts as ours only once this process added or wanted it.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::net::{IfAddress, NetError, Netlink};

/// Label of the VIP addresses this daemon adds to `lo`.
pub const VIP_LABEL: &str = "lo:director";

/// Keeps the wanted VIPs on `lo`, as /32 or /128 host addresses.
pub struct LoopbackVips {
    netlink: Netlink,
    lo_index: u32,
    ipv6_ours: BTreeSet<IpAddr>,
}

/// Outcome of one [`LoopbackVips::reconcile`]: what changed and what failed.
#[derive(Debug, Default)]
pub struct VipChanges {
    pub added: Vec<IpAddr>,
    pub removed: Vec<IpAddr>,
    pub failed: Vec<NetError>,
}

impl LoopbackVips {
    pub async fn new(netlink: Netlink) -> Result<Self, NetError> {
        let lo_index = netlink.link_by_name("lo").await?.index;
        Ok(LoopbackVips {
            netlink,
            lo_index,
            ipv6_ours: BTreeSet::new(),
        })
    }

    fn vip_address(&self, addr: IpAddr) -> IfAddress {
        let prefix_len = if addr.is_ipv4() { 32 } else { 128 };
        let mut address = IfAddress::new(self.lo_index, addr, prefix_len);
        if addr.is_ipv4() {
            // Labels exist only for IPv4; IPv6 VIPs are recognised by their /128 on lo.
            address.label = Some(VIP_LABEL.to_string());
        }
        address
    }

    /// Our VIPs currently on `lo`.
    async fn held(&self) -> Result<BTreeSet<IpAddr>, NetError> {
        let addresses = self.netlink.addresses(Some(self.lo_index)).await?;
        Ok(addresses
            .into_iter()
            .filter(|a| match a.addr {
                IpAddr::V4(_) => a.label.as_deref() == Some(VIP_LABEL),
                IpAddr::V6(_) => self.ipv6_ours.contains(&a.addr),
            })
            .map(|a| a.addr)
            .collect())
    }

    /// Adds the missing wanted VIPs and removes the ones we hold that are no longer wanted.
    /// Failures are collected, not fatal: the caller retries.
    pub async fn reconcile(&mut self, wanted: &BTreeSet<IpAddr>) -> VipChanges {
        let mut changes = VipChanges::default();
        self.ipv6_ours
            .extend(wanted.iter().filter(|addr| addr.is_ipv6()).copied());
        let held = match self.held().await {
            Ok(held) => held,
            Err(err) => {
                changes.failed.push(err);
                return changes;
            }
        };
        for addr in wanted.difference(&held) {
            match self.netlink.add_address(&self.vip_address(*addr)).await {
                Ok(()) => changes.added.push(*addr),
                Err(err) => changes.failed.push(err),
            }
        }
        for addr in held.difference(wanted) {
            match self.netlink.del_address(&self.vip_address(*addr)).await {
                Ok(()) => {
                    self.ipv6_ours.remove(addr);
                    changes.removed.push(*addr);
                }
                Err(err) => changes.failed.push(err),
            }
        }
        changes
    }
}
