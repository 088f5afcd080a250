//! The pure function (configuration, health) → [`DesiredTables`].
//!
//! Same inputs, same bytes: nothing here reads the clock, the kernel, the host name or a
//! randomly seeded hash, and the result is put in canonical order. Rules (see
//! `docs/dataplane.md` for the why):
//! - a failed real server keeps its place with weight 0 in active-active mode (identical
//!   tables everywhere, established connections finish); in the other modes keepalived's
//!   rule applies: weight 0 with `inhibit_on_failure`, otherwise removed;
//! - the sorry server is added when the live weight falls below the quorum (keepalived's
//!   rule; "everything down" with the default quorum of 1), and kept at weight 0 otherwise
//!   when it is `inhibit`ed;
//! - persistence, scheduler flags and one-packet scheduling become IPVS service flags
//!   exactly as ipvsadm would set them;
//! - active-active mode turns on `sloppy_tcp`/`sloppy_sctp` so a director accepts a flow
//!   that started on another one; sync daemons run as master and backup at once.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::model::{self as cfg, Config, Mode};

use super::maglev::DEFAULT_TABLE_SIZE;
use super::tables::{
    svc_flags, DesiredTables, DestKey, DestSpec, Family, FlowHash, Forward, HealthState,
    IpvsSysctls, Protocol, Service, ServiceKey, ServiceSpec, SyncDaemon, SyncState, Timeouts,
    TunnelType,
};

/// Largest address range a `virtual_server_group` member may expand to.
const MAX_GROUP_RANGE: u128 = 65_536;

/// The tables every director with this configuration and health state must program.
pub fn desired_tables(config: &Config, health: &HealthState) -> DesiredTables {
    let active_active = config.mode() == Mode::ActiveActive;
    let mut services = Vec::new();
    for vs in &config.virtual_servers {
        for key in service_keys(config, vs) {
            services.push(service(vs, key, health, active_active));
        }
    }
    let timeouts = config.global_defs.lvs_timeouts.as_ref().and_then(|t| {
        let s = |d: Option<std::time::Duration>| {
            d.map_or(0, |d| d.as_secs().min(u64::from(u32::MAX)) as u32)
        };
        let t = Timeouts {
            tcp: s(t.tcp),
            tcp_fin: s(t.tcpfin),
            udp: s(t.udp),
        };
        (t != Timeouts::default()).then_some(t)
    });
    let sync_daemons = config
        .global_defs
        .lvs_sync_daemon
        .as_ref()
        .map(|d| {
            [SyncState::Master, SyncState::Backup]
                .into_iter()
                .map(|state| SyncDaemon {
                    state,
                    interface: d.interface.clone(),
                    sync_id: u32::from(d.sync_id.unwrap_or(0)),
                    max_len: d.maxlen,
                    group: d.group,
                    port: d.port,
                    ttl: d.ttl,
                })
                .collect()
        })
        .unwrap_or_default();
    let sysctls = if active_active {
        IpvsSysctls {
            sloppy_tcp: Some(true),
            sloppy_sctp: Some(true),
            conntrack: None,
            expire_nodest_conn: None,
        }
    } else {
        IpvsSysctls::default()
    };
    let mut tables = DesiredTables {
        services,
        timeouts,
        sync_daemons,
        sysctls,
        maglev_size: DEFAULT_TABLE_SIZE,
    };
    tables.canonicalize();
    tables
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

/// The kernel services a virtual server stands for (a group expands to several).
fn service_keys(config: &Config, vs: &cfg::VirtualServer) -> Vec<ServiceKey> {
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
            for m in &group.members {
                match m {
                    cfg::GroupMember::Range { first, last, port } => {
                        for addr in expand_range(*first, *last) {
                            keys.push(ServiceKey::Addr {
                                addr,
                                port: *port,
                                protocol: protocol(*p),
                            });
                        }
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

fn expand_range(first: IpAddr, last: IpAddr) -> Vec<IpAddr> {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(a), u32::from(b));
            if b < a || u128::from(b - a) >= MAX_GROUP_RANGE {
                return vec![IpAddr::V4(Ipv4Addr::from(a))];
            }
            (a..=b).map(|x| IpAddr::V4(Ipv4Addr::from(x))).collect()
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (u128::from(a), u128::from(b));
            if b < a || b - a >= MAX_GROUP_RANGE {
                return vec![IpAddr::V6(Ipv6Addr::from(a))];
            }
            (a..=b).map(|x| IpAddr::V6(Ipv6Addr::from(x))).collect()
        }
        (a, _) => vec![a],
    }
}

fn forward(m: &cfg::ForwardingMethod) -> Forward {
    match m {
        cfg::ForwardingMethod::Nat => Forward::Masq,
        cfg::ForwardingMethod::Dr => Forward::Route,
        cfg::ForwardingMethod::Tun {
            tunnel_type,
            port,
            checksum,
        } => {
            let kind = match tunnel_type {
                cfg::TunnelType::Ipip => TunnelType::Ipip,
                cfg::TunnelType::Gue => TunnelType::Gue,
                cfg::TunnelType::Gre => TunnelType::Gre,
            };
            if kind == TunnelType::Ipip {
                return Forward::Tunnel {
                    kind,
                    port: 0,
                    flags: 0,
                };
            }
            // IP_VS_TUNNEL_ENCAP_FLAG_{NOCSUM,CSUM,REMCSUM} = 0, 1, 2.
            let flags = match checksum {
                cfg::TunnelChecksum::Nocsum => 0,
                cfg::TunnelChecksum::Csum => 1,
                cfg::TunnelChecksum::Remcsum => 2,
            };
            let port = if kind == TunnelType::Gue {
                port.unwrap_or(0)
            } else {
                0
            };
            Forward::Tunnel { kind, port, flags }
        }
    }
}

fn prefix_of(mask: &IpAddr) -> u8 {
    match mask {
        IpAddr::V4(m) => u32::from(*m).leading_ones() as u8,
        IpAddr::V6(m) => u128::from(*m).leading_ones() as u8,
    }
}

fn service(
    vs: &cfg::VirtualServer,
    key: ServiceKey,
    health: &HealthState,
    active_active: bool,
) -> Service {
    let fam = key.family();
    let mut flags = vs.scheduler_flags.kernel_bits();
    let (mut timeout, mut netmask) = (0, fam.max_prefix());
    if let Some(p) = &vs.persistence {
        flags |= svc_flags::PERSISTENT;
        timeout = p.timeout.as_secs().clamp(1, u64::from(u32::MAX)) as u32;
        if let Some(g) = &p.granularity {
            netmask = prefix_of(g).min(fam.max_prefix());
        }
    }
    if vs.one_packet_scheduling {
        flags |= svc_flags::ONEPACKET;
    }
    let mut dests = Vec::with_capacity(vs.real_servers.len() + 1);
    let mut live_weight: u64 = 0;
    for rs in &vs.real_servers {
        let dkey = DestKey {
            addr: rs.ip,
            port: rs.port,
        };
        let down = health.is_down(&key, &dkey);
        if down && !active_active && !rs.inhibit_on_failure {
            continue;
        }
        let weight = if down { 0 } else { rs.weight };
        live_weight += u64::from(weight);
        dests.push(DestSpec {
            key: dkey,
            forward: forward(&rs.method),
            weight,
            upper_threshold: rs.upper_threshold.unwrap_or(0),
            lower_threshold: rs.lower_threshold.unwrap_or(0),
        });
    }
    if let Some(sorry) = &vs.sorry_server {
        let needed = live_weight < u64::from(vs.quorum.max(1));
        let skey = DestKey {
            addr: sorry.ip,
            port: sorry.port,
        };
        if (needed || sorry.inhibit) && !dests.iter().any(|d| d.key == skey) {
            dests.push(DestSpec {
                key: skey,
                forward: forward(&sorry.method),
                weight: u32::from(needed),
                upper_threshold: 0,
                lower_threshold: 0,
            });
        }
    }
    dests.sort_by_key(|d| d.key);
    let source_sticky = vs.persistence.is_some()
        || (vs.scheduler.is_source_hashing() && flags & svc_flags::SCHED2 == 0);
    Service {
        spec: ServiceSpec {
            key,
            scheduler: vs.scheduler.name().to_owned(),
            flags,
            timeout,
            netmask,
        },
        dests,
        flow_hash: if source_sticky {
            FlowHash::SourceAddr
        } else {
            FlowHash::SourceAddrPort
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    pub(crate) fn real(ip: &str, weight: u32) -> cfg::RealServer {
        cfg::RealServer {
            ip: ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port: 80,
            weight,
            method: cfg::ForwardingMethod::Dr,
            inhibit_on_failure: false,
            notify_up: None,
            notify_down: None,
            upper_threshold: None,
            lower_threshold: None,
            virtualhost: None,
            smtp_alert: None,
            alpha: false,
            checkers: vec![],
        }
    }

    pub(crate) fn vs(ip: &str, port: u16, reals: Vec<cfg::RealServer>) -> cfg::VirtualServer {
        cfg::VirtualServer {
            key: cfg::ServiceKey::Addr {
                ip: ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                port,
                protocol: cfg::Protocol::Tcp,
            },
            scheduler: cfg::Scheduler::Mh,
            scheduler_flags: cfg::SchedulerFlags::default(),
            method: cfg::ForwardingMethod::Dr,
            persistence: None,
            protocol: cfg::Protocol::Tcp,
            ip_family: None,
            delay_loop: Duration::from_secs(60),
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            alpha: false,
            omega: false,
            inhibit_on_failure: false,
            ha_suspend: false,
            one_packet_scheduling: false,
            virtualhost: None,
            sorry_server: None,
            nat_mask: None,
            smtp_alert: None,
            real_servers: reals,
        }
    }

    fn config(vss: Vec<cfg::VirtualServer>, mode: Mode) -> Config {
        let mut c = Config::default();
        c.director.mode = Some(mode);
        c.virtual_servers = vss;
        c
    }

    fn skey(ip: &str, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            addr: ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port,
            protocol: Protocol::Tcp,
        }
    }

    #[test]
    fn two_directors_same_inputs_byte_identical() {
        // Same content, different order in the file: same tables, same bytes.
        let a = config(
            vec![
                vs(
                    "10.0.0.2",
                    443,
                    vec![real("10.1.0.9", 1), real("10.1.0.3", 2)],
                ),
                vs(
                    "10.0.0.1",
                    80,
                    vec![real("10.1.0.2", 1), real("10.1.0.1", 1)],
                ),
            ],
            Mode::ActiveActive,
        );
        let mut b = a.clone();
        b.virtual_servers.reverse();
        for v in &mut b.virtual_servers {
            v.real_servers.reverse();
        }
        let mut h = HealthState::default();
        h.set_down(
            skey("10.0.0.1", 80),
            DestKey {
                addr: "10.1.0.2"
                    .parse()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                port: 80,
            },
        );
        let ta = desired_tables(&a, &h);
        let tb = desired_tables(&b, &h.clone());
        assert_eq!(ta, tb);
        let ja = serde_json::to_vec(&ta).unwrap_or_default();
        let jb = serde_json::to_vec(&tb).unwrap_or_default();
        assert!(!ja.is_empty());
        assert_eq!(ja, jb);
        assert_eq!(ta.services[0].spec.key, skey("10.0.0.1", 80));
        assert_eq!(
            ta.services[0].dests[1].weight, 0,
            "failed server stays with weight 0"
        );
        assert_eq!(ta.sysctls.sloppy_tcp, Some(true));
    }

    #[test]
    fn keepalived_semantics_outside_active_active() {
        let mut v = vs(
            "10.0.0.1",
            80,
            vec![real("10.1.0.1", 1), real("10.1.0.2", 1)],
        );
        v.real_servers[1].inhibit_on_failure = true;
        let c = config(vec![v], Mode::TablesOnly);
        let mut h = HealthState::default();
        for last in ["10.1.0.1", "10.1.0.2"] {
            h.set_down(
                skey("10.0.0.1", 80),
                DestKey {
                    addr: last.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                    port: 80,
                },
            );
        }
        let t = desired_tables(&c, &h);
        assert_eq!(t.services[0].dests.len(), 1);
        assert_eq!(t.services[0].dests[0].weight, 0);
        assert_eq!(t.sysctls, IpvsSysctls::default());
    }

    #[test]
    fn persistence_flags_and_sorry_server() {
        let mut v = vs("10.0.0.1", 0, vec![real("10.1.0.1", 1)]);
        v.real_servers[0].port = 0;
        v.scheduler = cfg::Scheduler::Sh;
        v.scheduler_flags.sh_port = true;
        v.persistence = Some(cfg::Persistence {
            timeout: Duration::from_secs(600),
            granularity: Some(IpAddr::V4(Ipv4Addr::new(255, 255, 255, 0))),
            engine: None,
        });
        v.sorry_server = Some(cfg::SorryServer {
            ip: IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)),
            port: 80,
            method: cfg::ForwardingMethod::Nat,
            inhibit: false,
        });
        let c = config(vec![v], Mode::ActiveActive);
        let t = desired_tables(&c, &HealthState::default());
        let s = &t.services[0];
        assert_eq!(s.spec.flags, svc_flags::PERSISTENT | svc_flags::SCHED2);
        assert_eq!((s.spec.timeout, s.spec.netmask), (600, 24));
        assert_eq!(
            s.dests.len(),
            1,
            "no sorry server while a real server is up"
        );
        assert_eq!(s.flow_hash, FlowHash::SourceAddr);
        let mut h = HealthState::default();
        h.set_down(skey("10.0.0.1", 0), s.dests[0].key);
        let t = desired_tables(&c, &h);
        let d = &t.services[0].dests;
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].weight, d[1].weight, d[1].forward),
            (0, 1, Forward::Masq)
        );
    }

    #[test]
    fn groups_expand_to_sorted_services() {
        let mut c = config(vec![], Mode::ActiveActive);
        c.virtual_server_groups.push(cfg::VirtualServerGroup {
            name: "web".into(),
            members: vec![
                cfg::GroupMember::Range {
                    first: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
                    last: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
                    port: 80,
                },
                cfg::GroupMember::Fwmark {
                    mark: 4,
                    family: None,
                },
            ],
        });
        let mut v = vs("10.0.0.1", 80, vec![real("10.1.0.1", 1)]);
        v.key = cfg::ServiceKey::Group {
            name: "web".into(),
            protocol: cfg::Protocol::Tcp,
        };
        c.virtual_servers.push(v);
        let t = desired_tables(&c, &HealthState::default());
        assert_eq!(t.services.len(), 4);
        assert_eq!(t.services[0].spec.key, skey("10.0.0.3", 80));
        assert_eq!(
            t.services[3].spec.key,
            ServiceKey::Fwmark {
                family: Family::Inet,
                mark: 4
            }
        );
    }
}
