//! What a virtual server stands for in the kernel and on the wire: its kernel services
//! (a `virtual_server_group` expands to several) and its addresses (the VIPs). The one
//! place where group members are expanded, so tables and announced VIPs always agree.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::model::{self as cfg, Config, MAX_GROUP_RANGE};
use crate::dataplane::tables::{Family, Protocol, ServiceKey};

/// The kernel services a virtual server stands for, in the group's order.
pub fn service_keys(config: &Config, vs: &cfg::VirtualServer) -> Vec<ServiceKey> {
    match &vs.key {
        cfg::ServiceKey::Addr {
            ip,
            port,
            protocol: p,
        } => vec![ServiceKey::Addr {
            addr: *ip,
            port: *port,
            protocol: protocol(*p),
        }],
        cfg::ServiceKey::Fwmark { mark, family: f } => vec![ServiceKey::Fwmark {
            family: family(*f),
            mark: *mark,
        }],
        cfg::ServiceKey::Group { name, protocol: p } => {
            let Some(group) = config.virtual_server_group(name) else {
                return Vec::new();
            };
            let mut keys = Vec::new();
            for member in &group.members {
                match member {
                    // The configuration check rejects ranges wider than MAX_GROUP_RANGE;
                    // here such a range expands to nothing.
                    cfg::GroupMember::Range { first, last, port } => {
                        keys.extend(expand_range(*first, *last).map(|addr| ServiceKey::Addr {
                            addr,
                            port: *port,
                            protocol: protocol(*p),
                        }))
                    }
                    cfg::GroupMember::Fwmark { mark, family: f } => keys.push(ServiceKey::Fwmark {
                        family: family(f.or(vs.ip_family).unwrap_or_default()),
                        mark: *mark,
                    }),
                }
            }
            keys
        }
    }
}

/// The addresses a virtual server listens on; firewall-mark services have none.
pub fn addresses(config: &Config, vs: &cfg::VirtualServer) -> Vec<IpAddr> {
    service_keys(config, vs)
        .into_iter()
        .filter_map(|key| match key {
            ServiceKey::Addr { addr, .. } => Some(addr),
            ServiceKey::Fwmark { .. } => None,
        })
        .collect()
}

fn bounds(first: IpAddr, last: IpAddr) -> Option<(u128, u128)> {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => Some((u32::from(a).into(), u32::from(b).into())),
        (IpAddr::V6(a), IpAddr::V6(b)) => Some((u128::from(a), u128::from(b))),
        _ => None,
    }
}

fn expand_range(first: IpAddr, last: IpAddr) -> impl Iterator<Item = IpAddr> {
    let span = match bounds(first, last) {
        Some((a, b)) if b >= a && b - a < MAX_GROUP_RANGE => Some(a..=b),
        _ => None,
    };
    span.into_iter().flatten().map(move |value| match first {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(value as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(value)),
    })
}

fn protocol(p: cfg::Protocol) -> Protocol {
    match p {
        cfg::Protocol::Tcp => Protocol::Tcp,
        cfg::Protocol::Udp => Protocol::Udp,
        cfg::Protocol::Sctp => Protocol::Sctp,
    }
}

fn family(f: cfg::IpFamily) -> Family {
    match f {
        cfg::IpFamily::Inet => Family::Inet,
        cfg::IpFamily::Inet6 => Family::Inet6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn ranges_expand_inclusively_and_wide_ones_to_nothing() {
        let got: Vec<_> = expand_range(v4("10.0.0.254"), v4("10.0.1.1")).collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[3], v4("10.0.1.1"));
        assert_eq!(expand_range(v4("10.0.0.0"), v4("10.1.0.0")).count(), 0);
        assert_eq!(expand_range(v4("10.0.0.2"), v4("10.0.0.1")).count(), 0);
        assert_eq!(
            expand_range(v4("10.0.0.0"), v4("10.0.255.255")).count(),
            65_536
        );
    }
}
