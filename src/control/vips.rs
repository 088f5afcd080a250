//! The service VIPs of active-active mode: which addresses the configuration serves, and
//! holding them as host routes on `lo` so the kernel accepts their traffic.
//!
//! IPv4 addresses we add carry the label [`VIP_LABEL`], which is how a restarted daemon
//! tells its own VIPs (which it may remove when the configuration drops them) from
//! addresses an operator put on `lo` (which it never touches). IPv6 addresses have no
//! label, so an IPv6 VIP counts as ours only once this process added or wanted it.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::config::model::{Config, GroupMember, ServiceKey};
use crate::net::{IfAddress, NetError, Netlink};

/// Label of the VIP addresses this daemon adds to `lo`.
pub const VIP_LABEL: &str = "lo:director";

/// A group range wider than this is a configuration mistake, not a set of VIPs to hold.
const MAX_RANGE_ADDRESSES: u128 = 65_536;

/// Every address the virtual servers listen on, in a stable order. Firewall-mark services
/// have no address of their own and contribute none.
pub fn service_addresses(config: &Config) -> BTreeSet<IpAddr> {
    let mut addresses = BTreeSet::new();
    for service in &config.virtual_servers {
        match &service.key {
            ServiceKey::Addr { ip, .. } => {
                addresses.insert(*ip);
            }
            ServiceKey::Fwmark { .. } => {}
            ServiceKey::Group { name, .. } => {
                let Some(group) = config.virtual_server_group(name) else {
                    continue;
                };
                for member in &group.members {
                    if let GroupMember::Range { first, last, .. } = member {
                        addresses.extend(address_range(*first, *last));
                    }
                }
            }
        }
    }
    addresses
}

fn address_range(first: IpAddr, last: IpAddr) -> Vec<IpAddr> {
    let (start, end) = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b))),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b)),
        _ => return Vec::new(),
    };
    if end < start || end - start >= MAX_RANGE_ADDRESSES {
        return Vec::new();
    }
    (start..=end)
        .map(|value| match first {
            IpAddr::V4(_) => IpAddr::V4((value as u32).into()),
            IpAddr::V6(_) => IpAddr::V6(value.into()),
        })
        .collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_inclusively_and_refuse_absurd_widths() {
        let range = address_range("10.0.0.254".parse().unwrap(), "10.0.1.1".parse().unwrap());
        assert_eq!(range.len(), 4);
        assert_eq!(range[3], "10.0.1.1".parse::<IpAddr>().unwrap());
        assert!(address_range("10.0.0.0".parse().unwrap(), "10.2.0.0".parse().unwrap()).is_empty());
        assert!(address_range("10.0.0.2".parse().unwrap(), "10.0.0.1".parse().unwrap()).is_empty());
    }
}
