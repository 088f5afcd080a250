//! `directorctl realserver setup|teardown|check --vip A.B.C.D`: what an LVS-DR real server
//! needs, in place of the `realserver.sh` of every LVS guide.
//!
//! In DR mode the director forwards a client's packet unchanged, only to the real
//! server's MAC address, so the real server must accept packets for the VIP (the VIP as a
//! /32 on `lo`) without ever answering ARP for it — otherwise the router would send the
//! VIP's traffic straight to a real server: `arp_ignore=1` (answer only for addresses of
//! the interface asked on, which `lo` is not) and `arp_announce=2` (never use the VIP as
//! the source of its own ARP requests), on `lo` and `all` (the kernel takes the larger of
//! `all` and the interface's value, so `all` covers every interface). `rp_filter` is left
//! alone: in DR the client's packets arrive on the interface that routes back to the
//! client, which strict reverse-path filtering accepts.
//!
//! Planning is pure ([`plan`]) over the observed [`HostState`]; [`apply`] and [`observe`]
//! do the I/O. Every command is idempotent and says what it changed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use crate::net::{IfAddress, NetError, Netlink};

/// The label of the VIPs this helper puts on `lo`: teardown resets the ARP switches only
/// once no address so labelled is left.
pub const LABEL: &str = "lo:dr";

/// The ARP switches DR needs, as (path under /proc/sys/net/ipv4/conf, value).
pub const ARP_SYSCTLS: [(&str, u8); 4] = [
    ("lo/arp_ignore", 1),
    ("all/arp_ignore", 1),
    ("lo/arp_announce", 2),
    ("all/arp_announce", 2),
];

/// What the helper reads from the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostState {
    /// IPv4 /32 addresses on `lo`, with whether they carry [`LABEL`].
    pub lo_vips: BTreeMap<Ipv4Addr, bool>,
    /// Current values of [`ARP_SYSCTLS`] (a missing entry: unreadable).
    pub sysctls: BTreeMap<String, u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Setup,
    Teardown,
}

/// One change to the host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    AddVip(Ipv4Addr),
    DelVip(Ipv4Addr),
    Sysctl {
        key: String,
        from: Option<u8>,
        to: u8,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::AddVip(vip) => write!(f, "add {vip}/32 to lo"),
            Change::DelVip(vip) => write!(f, "remove {vip}/32 from lo"),
            Change::Sysctl { key, from, to } => {
                let key = key.replace('/', ".");
                match from {
                    Some(from) => write!(f, "net.ipv4.conf.{key}: {from} -> {to}"),
                    None => write!(f, "net.ipv4.conf.{key}: unreadable -> {to}"),
                }
            }
        }
    }
}

/// The changes that bring `host` to what `action` on `vips` wants; none when it is there.
/// Setup adds the missing VIPs and the ARP switches. Teardown removes the VIPs and, once
/// no VIP this helper added is left on `lo`, puts the switches back to the kernel's
/// defaults (0): `arp_ignore=1` on `all` would otherwise keep changing how every
/// interface answers ARP.
pub fn plan(host: &HostState, vips: &BTreeSet<Ipv4Addr>, action: Action) -> Vec<Change> {
    let mut changes = Vec::new();
    let switches = |changes: &mut Vec<Change>, default: bool| {
        for (key, value) in ARP_SYSCTLS {
            let to = if default { 0 } else { value };
            let from = host.sysctls.get(key).copied();
            if from != Some(to) {
                changes.push(Change::Sysctl {
                    key: key.to_string(),
                    from,
                    to,
                });
            }
        }
    };
    match action {
        Action::Setup => {
            changes.extend(
                vips.iter()
                    .filter(|vip| !host.lo_vips.contains_key(vip))
                    .map(|vip| Change::AddVip(*vip)),
            );
            switches(&mut changes, false);
        }
        Action::Teardown => {
            changes.extend(
                vips.iter()
                    .filter(|vip| host.lo_vips.contains_key(vip))
                    .map(|vip| Change::DelVip(*vip)),
            );
            let ours_left = host
                .lo_vips
                .iter()
                .any(|(vip, ours)| *ours && !vips.contains(vip));
            if !ours_left {
                switches(&mut changes, true);
            }
        }
    }
    changes
}

#[derive(Debug, thiserror::Error)]
pub enum RealServerError {
    #[error(transparent)]
    Netlink(#[from] NetError),
    #[error("{path}: {source}")]
    Sysctl {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where the ARP switches live; tests point it elsewhere.
pub const SYSCTL_DIR: &str = "/proc/sys/net/ipv4/conf";

/// Reads `lo`'s /32 addresses and the ARP switches.
pub async fn observe(netlink: &Netlink, sysctl_dir: &Path) -> Result<HostState, RealServerError> {
    let lo = netlink.link_by_name("lo").await?;
    let lo_vips = netlink
        .addresses(Some(lo.index))
        .await?
        .into_iter()
        .filter_map(|a| match a.addr {
            IpAddr::V4(v4) if a.prefix_len == 32 => Some((v4, a.label.as_deref() == Some(LABEL))),
            _ => None,
        })
        .collect();
    let sysctls = ARP_SYSCTLS
        .iter()
        .filter_map(|(key, _)| {
            let text = std::fs::read_to_string(sysctl_dir.join(key)).ok()?;
            Some((key.to_string(), text.trim().parse().ok()?))
        })
        .collect();
    Ok(HostState { lo_vips, sysctls })
}

/// Carries the changes out, in order; stops at the first failure (what was done before
/// it stays done, and a second run finishes the rest).
pub async fn apply(
    netlink: &Netlink,
    sysctl_dir: &Path,
    changes: &[Change],
) -> Result<(), RealServerError> {
    let lo = netlink.link_by_name("lo").await?;
    let vip_address = |vip: Ipv4Addr| {
        let mut address = IfAddress::new(lo.index, IpAddr::V4(vip), 32);
        address.label = Some(LABEL.to_string());
        // Host scope, as `ip addr add VIP/32 dev lo` gives: the address is not used as
        // the source towards the network.
        address.scope = crate::net::Scope::Host;
        address
    };
    for change in changes {
        match change {
            Change::AddVip(vip) => netlink.add_address(&vip_address(*vip)).await?,
            Change::DelVip(vip) => netlink.del_address(&vip_address(*vip)).await?,
            Change::Sysctl { key, to, .. } => {
                let path = sysctl_dir.join(key);
                std::fs::write(&path, format!("{to}\n"))
                    .map_err(|source| RealServerError::Sysctl { path, source })?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vips(list: &[&str]) -> BTreeSet<Ipv4Addr> {
        list.iter().map(|v| v.parse().expect("ip")).collect()
    }

    fn set_up(list: &[&str]) -> HostState {
        HostState {
            lo_vips: vips(list).into_iter().map(|v| (v, true)).collect(),
            sysctls: ARP_SYSCTLS
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
        }
    }

    #[test]
    fn setup_adds_what_is_missing_and_nothing_twice() {
        let fresh = HostState {
            sysctls: ARP_SYSCTLS
                .iter()
                .map(|(k, _)| (k.to_string(), 0))
                .collect(),
            ..HostState::default()
        };
        let changes = plan(&fresh, &vips(&["10.99.0.1"]), Action::Setup);
        assert_eq!(changes.len(), 5, "{changes:?}");
        assert_eq!(changes[0].to_string(), "add 10.99.0.1/32 to lo");
        assert_eq!(
            changes[1].to_string(),
            "net.ipv4.conf.lo.arp_ignore: 0 -> 1"
        );
        let done = set_up(&["10.99.0.1"]);
        assert!(plan(&done, &vips(&["10.99.0.1"]), Action::Setup).is_empty());
        assert_eq!(
            plan(&done, &vips(&["10.99.0.1", "10.99.0.2"]), Action::Setup),
            vec![Change::AddVip("10.99.0.2".parse().expect("ip"))]
        );
    }

    #[test]
    fn teardown_resets_the_switches_only_with_the_last_vip() {
        let two = set_up(&["10.99.0.1", "10.99.0.2"]);
        assert_eq!(
            plan(&two, &vips(&["10.99.0.1"]), Action::Teardown),
            vec![Change::DelVip("10.99.0.1".parse().expect("ip"))],
            "10.99.0.2 still needs the ARP switches"
        );
        let changes = plan(&two, &vips(&["10.99.0.1", "10.99.0.2"]), Action::Teardown);
        assert_eq!(changes.len(), 6, "{changes:?}");
        assert!(changes.contains(&Change::Sysctl {
            key: "all/arp_announce".into(),
            from: Some(2),
            to: 0
        }));
        // An address an operator put on lo without our label does not hold them back.
        let mut mixed = set_up(&["10.99.0.1"]);
        mixed
            .lo_vips
            .insert("10.98.0.1".parse().expect("ip"), false);
        assert_eq!(
            plan(&mixed, &vips(&["10.99.0.1"]), Action::Teardown).len(),
            5
        );
        assert!(plan(
            &HostState::default(),
            &vips(&["10.99.0.1"]),
            Action::Teardown
        )
        .iter()
        .all(|c| !matches!(c, Change::DelVip(_))));
    }
}
