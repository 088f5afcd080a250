//! The pure function (configuration, evaluated health) → [`DesiredTables`].
//!
//! Same inputs, same bytes: nothing here reads the clock, the kernel, the host name or a
//! randomly seeded hash, and the result is put in canonical order. Rules (see
//! `docs/dataplane.md` for the why):
//! - a failed real server keeps its place with weight 0 in active-active mode (identical
//!   tables everywhere, established connections finish); in the other modes keepalived's
//!   rule applies: weight 0 with `inhibit_on_failure`, otherwise removed;
//! - when a service has lost its quorum and has a sorry server, the sorry server takes
//!   the traffic (weight 1) and the live real servers leave the pool — weight 0 in
//!   active-active mode or with `inhibit_on_failure`, removed otherwise, as keepalived's
//!   `update_quorum_state` does; an `inhibit`ed sorry server stays at weight 0 otherwise;
//! - a real server the operator drained stays in place at weight 0 in every mode (never
//!   removed: its established connections finish, and `mh` keeps its slot order);
//! - an `mh` service gets `mh-fallback` in active-active mode, and in any mode while one of
//!   its real servers is drained: the kernel's `mh` keeps a weight-0 server's slots (it
//!   builds from the last non-zero weight), and without the flag a new connection hashed to
//!   one of them finds no server at all; with it, the kernel walks on to the next slots,
//!   the same walk on every director;
//! - persistence, scheduler flags and one-packet scheduling become IPVS service flags
//!   exactly as ipvsadm would set them;
//! - active-active mode turns on `sloppy_tcp`/`sloppy_sctp` so a director accepts a flow
//!   that started on another one; sync daemons run as master and backup at once.

use std::net::IpAddr;

use crate::config::model::{self as cfg, Config, Mode};
use crate::dataplane::maglev;
use crate::dataplane::tables::{
    svc_flags, DesiredTables, DestKey, DestSpec, FlowHash, Forward, IpvsSysctls, Service,
    ServiceKey, ServiceSpec, SyncDaemon, SyncState, Timeouts, TunnelType,
};

use super::{groups, Evaluation, ServiceStatus};

/// The tables every director with this configuration and evaluated health must program.
pub fn desired_tables(config: &Config, health: &Evaluation) -> DesiredTables {
    let active_active = config.mode() == Mode::ActiveActive;
    let mut services = Vec::new();
    for (vs, status) in config.virtual_servers.iter().zip(&health.services) {
        for key in groups::service_keys(config, vs) {
            services.push(service(
                vs,
                key,
                status,
                active_active,
                maglev_size(config, vs),
            ));
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
    };
    tables.canonicalize();
    tables
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

/// The Maglev table size of `vs`: its own keyword, else the `director { }` one, else sized
/// from the configured real servers (sorry server included), never from health, so a
/// failing server does not resize the table and every director computes the same M.
fn maglev_size(config: &Config, vs: &cfg::VirtualServer) -> u32 {
    vs.maglev_table_size
        .or(config.director.maglev_table_size)
        .unwrap_or_else(|| {
            maglev::table_size_for(vs.real_servers.len() + usize::from(vs.sorry_server.is_some()))
        })
}

fn service(
    vs: &cfg::VirtualServer,
    key: ServiceKey,
    status: &ServiceStatus,
    active_active: bool,
    maglev_size: u32,
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
    let any_drained = status.reals.iter().any(|real| real.drained);
    if vs.scheduler == cfg::Scheduler::Mh && (active_active || any_drained) {
        flags |= svc_flags::SCHED1;
    }
    let mut dests = Vec::with_capacity(vs.real_servers.len() + 1);
    let sorry_in_charge = !status.quorum && vs.sorry_server.is_some();
    for (rs, real) in vs.real_servers.iter().zip(&status.reals) {
        let serving = real.alive && !real.drained && !sorry_in_charge;
        if !serving && !active_active && !rs.inhibit_on_failure && !real.drained {
            continue;
        }
        dests.push(DestSpec {
            key: DestKey {
                addr: rs.ip,
                port: rs.port,
            },
            forward: forward(&rs.method),
            weight: if serving { real.weight } else { 0 },
            upper_threshold: rs.upper_threshold.unwrap_or(0),
            lower_threshold: rs.lower_threshold.unwrap_or(0),
        });
    }
    if let Some(sorry) = &vs.sorry_server {
        let skey = DestKey {
            addr: sorry.ip,
            port: sorry.port,
        };
        if (sorry_in_charge || sorry.inhibit) && !dests.iter().any(|d| d.key == skey) {
            dests.push(DestSpec {
                key: skey,
                forward: forward(&sorry.method),
                weight: u32::from(sorry_in_charge),
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
        maglev_size,
    }
}
