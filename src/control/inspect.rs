//! Builds the control-socket views from the control loop's internal state.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::dataplane::listing::{ListedDest, ListedService, Listing, Rates};
use crate::dataplane::tables::{
    svc_flags, DestKey, DestSpec, Family, Forward, ServiceKey, ServiceSpec, TableStats,
};
use crate::dataplane::DesiredTables;

use super::views::{
    Counters, OspfInterfaceView, OspfLsaView, OspfNeighborView, RatesView, RealHealthView,
    RealView, ServiceView, ServicesView, TimeoutsView,
};

/// The tables as programmed, with each real server's health, and live counters when the
/// backend could give them (the metrics' view: what this director wants, counted).
pub fn services(
    backend: &str,
    desired: &DesiredTables,
    health: &HashMap<(ServiceKey, DestKey), RealHealthView>,
    stats: Option<&TableStats>,
) -> ServicesView {
    // Indexed once: a linear search per real server made large tables quadratic.
    let by_service: HashMap<ServiceKey, _> = stats
        .map(|stats| {
            stats
                .services
                .iter()
                .map(|s| {
                    let dests: HashMap<DestKey, _> = s.dests.iter().map(|d| (d.key, d)).collect();
                    (s.key, (s, dests))
                })
                .collect()
        })
        .unwrap_or_default();
    let services = desired
        .services
        .iter()
        .map(|service| {
            let indexed = by_service.get(&service.spec.key);
            ListedService {
                spec: service.spec.clone(),
                counters: indexed.map(|(s, _)| s.counters).unwrap_or_default(),
                rates: None,
                dests: service
                    .dests
                    .iter()
                    .map(|dest| {
                        let counted = indexed.and_then(|(_, dests)| dests.get(&dest.key).copied());
                        ListedDest {
                            spec: dest.clone(),
                            active_connections: counted.map_or(0, |d| d.active_connections),
                            inactive_connections: counted.map_or(0, |d| d.inactive_connections),
                            counters: counted.map(|d| d.counters).unwrap_or_default(),
                            rates: None,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let listing = Listing {
        services,
        timeouts: None,
        per_real_counters: backend != "nftables",
    };
    let mut view = listed(backend, &listing, health);
    if stats.is_none() {
        for service in &mut view.services {
            service.stats = None;
            for real in &mut service.reals {
                real.stats = None;
            }
        }
    }
    view
}

/// What a backend without a kernel listing of its own (nftables, none) holds: the services
/// its statistics list (read from the kernel), with scheduler and forwarding method from
/// the desired tables (nftables keeps them only as rendered rules and maps).
pub fn kernel_listing_from_stats(desired: &DesiredTables, stats: &TableStats) -> Listing {
    let services = stats
        .services
        .iter()
        .map(|counted| {
            let wanted = desired.service(&counted.key);
            ListedService {
                spec: wanted.map_or_else(
                    || ServiceSpec {
                        key: counted.key,
                        scheduler: String::new(),
                        flags: 0,
                        timeout: 0,
                        netmask: counted.key.family().max_prefix(),
                    },
                    |w| w.spec.clone(),
                ),
                counters: counted.counters,
                rates: None,
                dests: counted
                    .dests
                    .iter()
                    .map(|d| ListedDest {
                        spec: DestSpec {
                            key: d.key,
                            forward: wanted
                                .and_then(|w| w.dests.iter().find(|x| x.key == d.key))
                                .map_or(Forward::Masq, |x| x.forward),
                            weight: d.weight,
                            upper_threshold: 0,
                            lower_threshold: 0,
                        },
                        active_connections: d.active_connections,
                        inactive_connections: d.inactive_connections,
                        counters: d.counters,
                        rates: None,
                    })
                    .collect(),
            }
        })
        .collect();
    Listing {
        services,
        timeouts: None,
        per_real_counters: false,
    }
}

/// A kernel listing as `directorctl services` shows it, with the health of the real
/// servers the configuration names. Sorted as ipvsadm sorts (unless `--nosort`): services
/// by firewall mark, family, protocol, address and port; real servers by address and port
/// (the kernel's own order, which `mh` depends on, is what `--diff` checks).
pub fn listed(
    backend: &str,
    listing: &Listing,
    health: &HashMap<(ServiceKey, DestKey), RealHealthView>,
) -> ServicesView {
    let mut sorted: Vec<&ListedService> = listing.services.iter().collect();
    sorted.sort_by_key(|s| ipvsadm_order(&s.spec.key));
    let services = sorted
        .into_iter()
        .map(|service| {
            let key = service.spec.key;
            let mut dests: Vec<&ListedDest> = service.dests.iter().collect();
            dests.sort_by_key(|d| (d.spec.key.addr, d.spec.key.port));
            let reals = dests
                .into_iter()
                .map(|dest| {
                    let health = health.get(&(key, dest.spec.key));
                    RealView {
                        address: dest.spec.key.to_string(),
                        forward: forward_name(&dest.spec.forward).to_string(),
                        weight: dest.spec.weight,
                        up: health.is_none_or(|h| h.up),
                        health: health.cloned(),
                        active_conns: u64::from(dest.active_connections),
                        inactive_conns: u64::from(dest.inactive_connections),
                        stats: Some(counters(&dest.counters)),
                        rates: dest.rates.as_ref().map(rates),
                    }
                })
                .collect();
            let (protocol, address) = match key {
                ServiceKey::Addr {
                    addr,
                    port,
                    protocol,
                } => (
                    protocol.as_str().to_uppercase(),
                    crate::dataplane::tables::DestKey { addr, port }.to_string(),
                ),
                ServiceKey::Fwmark { mark, .. } => ("FWM".to_string(), mark.to_string()),
            };
            let spec = &service.spec;
            ServiceView {
                protocol,
                address,
                scheduler: spec.scheduler.clone(),
                flags: flag_names(&spec.scheduler, spec.flags),
                persistent: (spec.timeout > 0).then_some(spec.timeout),
                persistence_netmask: (spec.timeout > 0 && spec.netmask < key.family().max_prefix())
                    .then(|| netmask_text(key.family(), spec.netmask)),
                reals,
                stats: Some(counters(&service.counters)),
                rates: service.rates.as_ref().map(rates),
            }
        })
        .collect();
    ServicesView {
        backend: backend.to_string(),
        services,
        timeouts: listing.timeouts.map(|t| TimeoutsView {
            tcp: t.tcp,
            tcp_fin: t.tcp_fin,
            udp: t.udp,
        }),
        per_real_counters: listing.per_real_counters,
    }
}

/// ipvsadm's service order: firewall mark (0 for address services), family, protocol,
/// address, port.
fn ipvsadm_order(key: &ServiceKey) -> (u32, Family, u16, Option<IpAddr>, u16) {
    match *key {
        ServiceKey::Addr {
            addr,
            port,
            protocol,
        } => (0, key.family(), protocol.number(), Some(addr), port),
        ServiceKey::Fwmark { mark, family } => (mark, family, 0, None, 0),
    }
}

/// A persistence netmask as ipvsadm prints it: dotted for IPv4, a prefix length for IPv6.
fn netmask_text(family: Family, prefix: u8) -> String {
    match family {
        Family::Inet => {
            let bits = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            std::net::Ipv4Addr::from(bits).to_string()
        }
        Family::Inet6 => prefix.to_string(),
    }
}

fn rates(r: &Rates) -> RatesView {
    RatesView {
        connections: r.connections,
        packets_in: r.packets_in,
        packets_out: r.packets_out,
        bytes_in: r.bytes_in,
        bytes_out: r.bytes_out,
    }
}

/// Where the kernel's tables (as its statistics list them) differ from the desired ones:
/// services and real servers missing or extra, and weights that differ. Schedulers and
/// flags are not in the statistics, so they are not compared.
pub fn diff(desired: &DesiredTables, kernel: &TableStats) -> Vec<String> {
    let name = |key: &ServiceKey| match key {
        ServiceKey::Addr {
            addr,
            port,
            protocol,
        } => format!(
            "{} {}",
            protocol.as_str().to_uppercase(),
            DestKey {
                addr: *addr,
                port: *port
            }
        ),
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    };
    let held: HashMap<ServiceKey, HashMap<DestKey, u32>> = kernel
        .services
        .iter()
        .map(|s| (s.key, s.dests.iter().map(|d| (d.key, d.weight)).collect()))
        .collect();
    let mut out = Vec::new();
    for service in &desired.services {
        let key = service.spec.key;
        let Some(dests) = held.get(&key) else {
            out.push(format!("{}: missing in the kernel", name(&key)));
            continue;
        };
        for dest in &service.dests {
            match dests.get(&dest.key) {
                None => out.push(format!(
                    "{} -> {}: missing in the kernel",
                    name(&key),
                    dest.key
                )),
                Some(&weight) if weight != dest.weight => out.push(format!(
                    "{} -> {}: weight {weight} in the kernel, {} desired",
                    name(&key),
                    dest.key,
                    dest.weight
                )),
                Some(_) => {}
            }
        }
        for extra in dests
            .keys()
            .filter(|k| !service.dests.iter().any(|d| d.key == **k))
        {
            out.push(format!(
                "{} -> {extra}: in the kernel, not desired",
                name(&key)
            ));
        }
    }
    for key in held.keys() {
        if !desired.services.iter().any(|s| s.spec.key == *key) {
            out.push(format!("{}: in the kernel, not desired", name(key)));
        }
    }
    out.sort();
    out
}

fn counters(c: &crate::dataplane::tables::Counters) -> Counters {
    Counters {
        connections: c.connections,
        packets_in: c.packets_in,
        packets_out: c.packets_out,
        bytes_in: c.bytes_in,
        bytes_out: c.bytes_out,
    }
}

/// ipvsadm's names for the forwarding methods.
fn forward_name(forward: &Forward) -> &'static str {
    match forward {
        Forward::Masq => "Masq",
        Forward::Local => "Local",
        Forward::Tunnel { .. } => "Tunnel",
        Forward::Route => "Route",
        Forward::Bypass => "Bypass",
    }
}

/// The scheduler flags as ipvsadm prints them (`mh-fallback,mh-port`, `flag-1`…).
fn flag_names(scheduler: &str, flags: u32) -> Vec<String> {
    let prefix = match scheduler {
        "sh" | "mh" => Some(scheduler),
        _ => None,
    };
    let mut names = Vec::new();
    if flags & svc_flags::ONEPACKET != 0 {
        names.push("ops".to_string());
    }
    for (bit, suffix, generic) in [
        (svc_flags::SCHED1, "fallback", "flag-1"),
        (svc_flags::SCHED2, "port", "flag-2"),
        (svc_flags::SCHED3, "", "flag-3"),
    ] {
        if flags & bit != 0 {
            names.push(match prefix {
                Some(prefix) if !suffix.is_empty() => format!("{prefix}-{suffix}"),
                _ => generic.to_string(),
            });
        }
    }
    names
}

/// `directorctl ospf interfaces`.
pub fn ospf_interfaces(status: &ospf::Status) -> Vec<OspfInterfaceView> {
    status
        .interfaces
        .iter()
        .map(|iface| OspfInterfaceView {
            name: iface.name.clone(),
            area: if iface.stub_area {
                format!("{} stub", iface.area)
            } else {
                iface.area.to_string()
            },
            network_type: if iface.passive {
                format!("{:?} passive", iface.network_type)
            } else {
                format!("{:?}", iface.network_type)
            },
            state: format!("{:?}", iface.state),
            address: iface
                .address
                .map_or_else(|| "-".to_string(), |a| a.to_string()),
            dr: iface.dr.to_string(),
            bdr: iface.bdr.to_string(),
            neighbors: iface.neighbors.len(),
        })
        .collect()
}

/// `directorctl ospf neighbors`.
pub fn ospf_neighbors(status: &ospf::Status) -> Vec<OspfNeighborView> {
    status
        .interfaces
        .iter()
        .flat_map(|iface| {
            iface.neighbors.iter().map(|nbr| OspfNeighborView {
                router_id: nbr.router_id.to_string(),
                priority: nbr.priority,
                state: format!("{:?}", nbr.state),
                address: nbr.address.to_string(),
                interface: iface.name.clone(),
                dr: nbr.dr.to_string(),
                bdr: nbr.bdr.to_string(),
            })
        })
        .collect()
}

/// `directorctl ospf database`.
pub fn ospf_database(status: &ospf::Status) -> Vec<OspfLsaView> {
    status
        .areas
        .iter()
        .flat_map(|area| {
            area.lsas.iter().map(|lsa| OspfLsaView {
                area: area.id.to_string(),
                lsa_type: lsa_type_name(lsa.key.ls_type),
                link_state_id: lsa.key.id.to_string(),
                advertising_router: lsa.key.adv_rtr.to_string(),
                age: lsa.age,
                sequence: format!("{:#010x}", lsa.seq as u32),
                checksum: format!("{:#06x}", lsa.checksum),
                self_originated: lsa.self_originated,
            })
        })
        .collect()
}

fn lsa_type_name(ls_type: u8) -> String {
    match ls_type {
        1 => "router".into(),
        2 => "network".into(),
        3 => "summary-net".into(),
        4 => "summary-asbr".into(),
        5 => "external".into(),
        other => format!("type-{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_flags_are_named_like_ipvsadm() {
        assert_eq!(
            flag_names("mh", svc_flags::SCHED1 | svc_flags::SCHED2),
            ["mh-fallback", "mh-port"]
        );
        assert_eq!(flag_names("wrr", svc_flags::SCHED3), ["flag-3"]);
        assert!(flag_names("rr", svc_flags::PERSISTENT).is_empty());
    }
}

#[cfg(test)]
mod diff_tests {
    use super::*;
    use crate::dataplane::tables::{
        Counters as Kc, DestSpec, DestStats, FlowHash, Protocol, Service, ServiceSpec, ServiceStats,
    };

    fn key(port: u16) -> ServiceKey {
        ServiceKey::Addr {
            addr: "10.0.0.1".parse().expect("ip"),
            port,
            protocol: Protocol::Tcp,
        }
    }

    fn dest(last: u8) -> DestKey {
        DestKey {
            addr: format!("10.1.0.{last}").parse().expect("ip"),
            port: 80,
        }
    }

    #[test]
    fn diff_names_missing_extra_and_reweighted_objects() {
        let service = |port, dests: &[(u8, u32)]| Service {
            spec: ServiceSpec {
                key: key(port),
                scheduler: "mh".into(),
                flags: 0,
                timeout: 0,
                netmask: 32,
            },
            dests: dests
                .iter()
                .map(|&(d, weight)| DestSpec {
                    key: dest(d),
                    forward: Forward::Route,
                    weight,
                    upper_threshold: 0,
                    lower_threshold: 0,
                })
                .collect(),
            flow_hash: FlowHash::SourceAddrPort,
            maglev_size: 101,
        };
        let desired = DesiredTables {
            services: vec![service(80, &[(1, 1), (2, 1)]), service(443, &[(1, 1)])],
            ..DesiredTables::default()
        };
        let stats = |port, dests: &[(u8, u32)]| ServiceStats {
            key: key(port),
            counters: Kc::default(),
            dests: dests
                .iter()
                .map(|&(d, weight)| DestStats {
                    key: dest(d),
                    weight,
                    active_connections: 0,
                    inactive_connections: 0,
                    counters: Kc::default(),
                })
                .collect(),
        };
        let same = TableStats {
            services: vec![stats(80, &[(1, 1), (2, 1)]), stats(443, &[(1, 1)])],
        };
        assert!(diff(&desired, &same).is_empty());
        let kernel = TableStats {
            services: vec![stats(80, &[(1, 0), (3, 1)]), stats(8080, &[])],
        };
        assert_eq!(
            diff(&desired, &kernel),
            vec![
                "TCP 10.0.0.1:443: missing in the kernel",
                "TCP 10.0.0.1:80 -> 10.1.0.1:80: weight 0 in the kernel, 1 desired",
                "TCP 10.0.0.1:80 -> 10.1.0.2:80: missing in the kernel",
                "TCP 10.0.0.1:80 -> 10.1.0.3:80: in the kernel, not desired",
                "TCP 10.0.0.1:8080: in the kernel, not desired",
            ]
        );
    }
}
