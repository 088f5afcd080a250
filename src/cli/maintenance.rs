//! `directorctl withdraw|announce|drain|undrain`: argument parsing, the requests they
//! send, and how their answers and a draining director's progress are shown.

use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

use crate::control::views::{MaintenanceReply, MaintenanceView, ServicesView};
use crate::policy::maintenance::{Drain, MaintenanceOp};

use super::{DrainArgs, UndrainArgs};

/// A real server on the command line: an address, with or without a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealArg {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

/// `10.1.0.1`, `10.1.0.1:80`, `2001:db8::1` or `[2001:db8::1]:80`.
pub fn parse_real(text: &str) -> Result<RealArg, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(RealArg {
            ip: addr.ip(),
            port: Some(addr.port()),
        });
    }
    text.parse::<IpAddr>()
        .map(|ip| RealArg { ip, port: None })
        .map_err(|_| format!("`{text}` is neither IP nor IP:PORT"))
}

fn drain_of(service: Option<SocketAddr>, real: Option<RealArg>) -> Option<Drain> {
    let (service, real) = (service?, real?);
    Some(Drain {
        service,
        real: real.ip,
        port: real.port,
    })
}

/// The request `drain` sends; None when clap let through an incomplete command line
/// (it requires both positionals unless --all).
pub fn drain_op(args: &DrainArgs) -> Option<MaintenanceOp> {
    if args.all {
        return Some(MaintenanceOp::DrainDirector);
    }
    drain_of(args.service, args.real).map(MaintenanceOp::Drain)
}

pub fn undrain_op(args: &UndrainArgs) -> Option<MaintenanceOp> {
    if args.all {
        return Some(MaintenanceOp::UndrainDirector);
    }
    drain_of(args.service, args.real).map(MaintenanceOp::Undrain)
}

/// `withdraw 10.0.0.1: done`, then the maintenance state.
pub fn reply(reply: &MaintenanceReply) -> String {
    let mut out = format!(
        "{}: {}\n",
        reply.operation,
        if reply.changed {
            "done"
        } else {
            "already so, nothing changed"
        }
    );
    out.push_str(&state(&reply.maintenance));
    out
}

/// The maintenance lines of `status` (nothing when nothing is in maintenance).
pub fn state(view: &MaintenanceView) -> String {
    let mut out = String::new();
    if view.is_empty() {
        out.push_str("maintenance: none\n");
        return out;
    }
    if view.director_drained {
        let _ = writeln!(out, "maintenance: director drained (every VIP withdrawn)");
    }
    for vip in &view.withdrawn {
        let _ = writeln!(out, "maintenance: VIP {vip} withdrawn");
    }
    for drain in &view.drained {
        let _ = writeln!(out, "maintenance: real server drained: {drain}");
    }
    out
}

/// Connections still on this director: (active, inactive), summed over every real server;
/// None when the backend cannot count them (nftables keeps no per-server count).
pub fn connections(view: &ServicesView) -> Option<(u64, u64)> {
    if !view.per_real_counters {
        return None;
    }
    Some(
        view.services
            .iter()
            .flat_map(|s| &s.reals)
            .fold((0, 0), |(a, i), r| {
                (a + r.active_conns, i + r.inactive_conns)
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::views::{RealView, ServiceView};

    #[test]
    fn real_servers_parse_with_or_without_port() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(
            parse_real("10.1.0.1"),
            Ok(RealArg {
                ip: ip("10.1.0.1"),
                port: None
            })
        );
        assert_eq!(
            parse_real("[2001:db8::1]:80"),
            Ok(RealArg {
                ip: ip("2001:db8::1"),
                port: Some(80)
            })
        );
        assert!(parse_real("10.1.0.1:http").is_err());
    }

    fn view(backend: &str, conns: &[(u64, u64)]) -> ServicesView {
        ServicesView {
            backend: backend.into(),
            services: vec![ServiceView {
                protocol: "TCP".into(),
                address: "10.0.0.1:80".into(),
                scheduler: "mh".into(),
                flags: vec![],
                persistent: None,
                persistence_netmask: None,
                reals: conns
                    .iter()
                    .map(|&(active, inactive)| RealView {
                        address: "10.1.0.1:80".into(),
                        forward: "Route".into(),
                        weight: 1,
                        up: true,
                        health: None,
                        active_conns: active,
                        inactive_conns: inactive,
                        stats: None,
                        rates: None,
                    })
                    .collect(),
                stats: None,
                rates: None,
            }],
            timeouts: None,
            per_real_counters: backend == "ipvs",
        }
    }

    #[test]
    fn connections_are_summed_where_the_backend_counts_them() {
        assert_eq!(connections(&view("ipvs", &[(3, 1), (2, 0)])), Some((5, 1)));
        assert_eq!(connections(&view("nftables", &[(0, 0)])), None);
    }

    #[test]
    fn replies_say_whether_anything_changed() {
        let mut r = MaintenanceReply {
            operation: "withdraw 10.0.0.1".into(),
            changed: true,
            maintenance: MaintenanceView {
                withdrawn: vec!["10.0.0.1".into()],
                ..Default::default()
            },
        };
        assert_eq!(
            reply(&r),
            "withdraw 10.0.0.1: done\nmaintenance: VIP 10.0.0.1 withdrawn\n"
        );
        r.changed = false;
        assert!(reply(&r).contains("already so"));
    }
}
