//! Renders control-socket views as the tables `directorctl` prints.

use std::fmt::Write;

use crate::control::views::{
    ConnectionsView, OspfInterfaceView, OspfLsaView, OspfNeighborView, RealView, ServicesView,
    StatusView, TablesDiffView,
};

/// Which of ipvsadm's layouts `directorctl services` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `ipvsadm -Ln`, each real server's line followed by its health.
    Health,
    /// `ipvsadm -Ln --stats`.
    Stats,
    /// `ipvsadm -Ln --rate`.
    Rate,
    /// `ipvsadm -L --timeout`.
    Timeout,
}

/// `ipvsadm -Ln`'s layouts (columns as ipvsadm prints them). The default one ends each
/// real server's line with its health: `up` or `DOWN`, for how long (relative to
/// `now_unix`), and for a down server the failing check's reason.
pub fn services(view: &ServicesView, layout: Layout, now_unix: u64) -> String {
    let mut out = String::new();
    if layout == Layout::Timeout {
        return match view.timeouts {
            Some(t) => format!(
                "Timeout (tcp tcpfin udp): {} {} {}\n",
                t.tcp, t.tcp_fin, t.udp
            ),
            None => format!(
                "the {} dataplane has no timeouts of its own (conntrack's apply)\n",
                view.backend
            ),
        };
    }
    let _ = writeln!(
        out,
        "Director dataplane: {} (as the kernel holds it)",
        view.backend
    );
    match layout {
        Layout::Stats => {
            out.push_str(
                "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n\
                 \x20 -> RemoteAddress:Port\n",
            );
        }
        Layout::Rate => {
            out.push_str(
                "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n\
                 \x20 -> RemoteAddress:Port\n",
            );
        }
        Layout::Health | Layout::Timeout => {
            out.push_str(
                "Prot LocalAddress:Port Scheduler Flags\n\
                 \x20 -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
            );
        }
    }
    for service in &view.services {
        let name = format!("{:<4} {}", service.protocol, service.address);
        match layout {
            Layout::Stats | Layout::Rate => {
                let _ = writeln!(
                    out,
                    "{name:<33}{}",
                    numbers(layout, &service.stats, &service.rates)
                );
                for real in &service.reals {
                    let _ = writeln!(
                        out,
                        "  -> {:<28}{}",
                        real.address,
                        numbers(layout, &real.stats, &real.rates)
                    );
                }
                continue;
            }
            Layout::Health | Layout::Timeout => {}
        }
        let mut line = format!("{name} {}", service.scheduler);
        if !service.flags.is_empty() {
            let _ = write!(line, " ({})", service.flags.join(","));
        }
        if let Some(timeout) = service.persistent {
            let _ = write!(line, " persistent {timeout}");
            if let Some(mask) = &service.persistence_netmask {
                let _ = write!(line, " mask {mask}");
            }
        }
        let _ = writeln!(out, "{line}");
        for real in &service.reals {
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {:<6} {:<10} {:<9} {}",
                real.address,
                real.forward,
                real.weight,
                real.active_conns,
                real.inactive_conns,
                health_column(real, now_unix)
            );
        }
    }
    if !view.per_real_counters && layout != Layout::Timeout {
        let _ = writeln!(
            out,
            "(the {} dataplane counts per service only: per real server counts read 0{})",
            view.backend,
            if layout == Layout::Rate {
                ", and it keeps no rates"
            } else {
                ""
            }
        );
    }
    out
}

/// The five number columns of `--stats` (counters) or `--rate` (per second).
fn numbers(
    layout: Layout,
    stats: &Option<crate::control::views::Counters>,
    rates: &Option<crate::control::views::RatesView>,
) -> String {
    let values = if layout == Layout::Rate {
        let r = rates.clone().unwrap_or_default();
        [
            r.connections,
            r.packets_in,
            r.packets_out,
            r.bytes_in,
            r.bytes_out,
        ]
    } else {
        let c = stats.clone().unwrap_or_default();
        [
            c.connections,
            c.packets_in,
            c.packets_out,
            c.bytes_in,
            c.bytes_out,
        ]
    };
    values.iter().map(|&v| largenum(v)).collect()
}

/// `directorctl connections`, like `ipvsadm -Lnc`.
pub fn connections(view: &ConnectionsView) -> String {
    let mut out = format!("Director connection entries ({})\n", view.backend);
    out.push_str("pro expire state       source             virtual            destination\n");
    for c in &view.entries {
        let _ = writeln!(
            out,
            "{:<3} {:02}:{:02}  {:<11} {:<18} {:<18} {}",
            c.protocol,
            c.expires / 60,
            c.expires % 60,
            c.state,
            c.source,
            c.virtual_address,
            c.destination
        );
    }
    if view.total > view.entries.len() {
        let _ = writeln!(
            out,
            "(the first {} of {} entries)",
            view.entries.len(),
            view.total
        );
    }
    if let Some(note) = &view.note {
        let _ = writeln!(out, "({note})");
    }
    out
}

/// `up 00:05:12`, `DOWN 00:00:12 TCP_CHECK 10.1.0.2:80: connect …: refused`, or `-` for a
/// server outside the configuration's real servers.
fn health_column(real: &RealView, now_unix: u64) -> String {
    // Not a real server of the configuration: the sorry server, or a service not ours.
    let Some(health) = &real.health else {
        return "-".into();
    };
    let age = duration(now_unix.saturating_sub(health.since_unix));
    // Drained by the operator: say so first, the health still matters for undrain.
    let drained = if health.drained { "drained, " } else { "" };
    if health.up && !drained.is_empty() {
        return format!("{drained}up {age}");
    }
    if health.up {
        let latency = health
            .checks
            .iter()
            .filter_map(|c| c.latency_ms)
            .fold(None, |max: Option<f64>, l| {
                Some(max.map_or(l, |m| m.max(l)))
            });
        return match latency {
            Some(ms) => format!("up {age} ({ms:.1} ms)"),
            None => format!("up {age}"),
        };
    }
    let why = health
        .checks
        .iter()
        .find(|c| !c.up)
        .map(|c| match &c.reason {
            Some(reason) => format!("{}: {reason}", c.checker),
            None => format!("{}: {}", c.checker, c.last_result),
        })
        .unwrap_or_default();
    format!("{drained}DOWN {age} {why}")
}

/// ipvsadm's `print_largenum`: nine columns, exact below 10^8, then K, M, G or T so a
/// column never grows.
fn largenum(value: u64) -> String {
    match value {
        0..100_000_000 => format!("{value:>9}"),
        100_000_000..1_000_000_000 => format!("{:>8}K", value / 1_000),
        1_000_000_000..100_000_000_000 => format!("{:>8}M", value / 1_000_000),
        100_000_000_000..100_000_000_000_000 => format!("{:>8}G", value / 1_000_000_000),
        _ => format!("{:>8}T", value / 1_000_000_000_000),
    }
}

/// Left-aligned columns as wide as their widest cell, two spaces apart.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            if i + 1 == widths.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ");
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut out = line(&mut headers.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// `directorctl ospf interfaces`.
pub fn ospf_interfaces(rows: &[OspfInterfaceView]) -> String {
    if rows.is_empty() {
        return "no OSPF interface is running\n".into();
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|i| {
            vec![
                i.name.clone(),
                i.area.clone(),
                i.network_type.clone(),
                i.state.clone(),
                i.address.clone(),
                i.dr.clone(),
                i.bdr.clone(),
                i.neighbors.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "Interface",
            "Area",
            "Type",
            "State",
            "Address",
            "DR",
            "BDR",
            "Neighbors",
        ],
        &rows,
    )
}

/// `directorctl ospf neighbors`; with none, says so and what that means.
pub fn ospf_neighbors(rows: &[OspfNeighborView]) -> String {
    if rows.is_empty() {
        return "no OSPF neighbors: no router has answered our hellos (check the interface, \
                area, timers and authentication against the router's)\n"
            .into();
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|n| {
            vec![
                n.router_id.clone(),
                n.priority.to_string(),
                n.state.clone(),
                n.address.clone(),
                n.interface.clone(),
                n.dr.clone(),
                n.bdr.clone(),
            ]
        })
        .collect();
    table(
        &[
            "Neighbor ID",
            "Pri",
            "State",
            "Address",
            "Interface",
            "DR",
            "BDR",
        ],
        &rows,
    )
}

/// `directorctl ospf database`, one line per LSA; `*` marks our own.
pub fn ospf_database(rows: &[OspfLsaView]) -> String {
    if rows.is_empty() {
        return "the link-state database is empty\n".into();
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|l| {
            vec![
                l.area.clone(),
                l.lsa_type.clone(),
                l.link_state_id.clone(),
                format!(
                    "{}{}",
                    l.advertising_router,
                    if l.self_originated { " *" } else { "" }
                ),
                l.age.to_string(),
                l.sequence.clone(),
                l.checksum.clone(),
            ]
        })
        .collect();
    table(
        &[
            "Area",
            "Type",
            "Link ID",
            "ADV Router",
            "Age",
            "Seq#",
            "Checksum",
        ],
        &rows,
    )
}

/// `directorctl services --diff`: one line per difference, or that there is none.
pub fn diff(view: &TablesDiffView) -> String {
    if view.differences.is_empty() {
        return format!(
            "the {} tables hold exactly the desired ones\n",
            view.backend
        );
    }
    let mut out = String::new();
    for difference in &view.differences {
        let _ = writeln!(out, "{difference}");
    }
    out
}

/// Whether a `services --diff` answer lists differences (directorctl then exits 1).
pub fn diff_found(answer: &serde_json::Value) -> bool {
    answer["differences"]
        .as_array()
        .is_some_and(|d| !d.is_empty())
}

/// `directorctl status`.
pub fn status(view: &StatusView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "directord {} — mode {}", view.version, view.mode);
    let _ = writeln!(out, "config:     {}", view.config_file);
    let _ = writeln!(out, "uptime:     {}", duration(view.uptime_seconds));
    let _ = writeln!(
        out,
        "dataplane:  {} ({} operations in the last reconcile, {} failing)",
        view.dataplane.backend,
        view.dataplane.last_operations,
        view.dataplane.failures.len()
    );
    for failure in &view.dataplane.failures {
        let _ = writeln!(out, "            failing: {failure}");
    }
    if let Some(ospf) = &view.ospf {
        let _ = writeln!(
            out,
            "ospf:       router-id {}, {}/{} neighbors full",
            ospf.router_id, ospf.neighbors_full, ospf.neighbors_total
        );
    }
    let _ = writeln!(
        out,
        "reloads:    {} ok, {} failed",
        view.reloads.succeeded, view.reloads.failed
    );
    for error in &view.reloads.last_errors {
        let _ = writeln!(out, "            {error}");
    }
    for note in &view.notes {
        let _ = writeln!(out, "note:       {note}");
    }
    if !view.maintenance.is_empty() {
        out.push_str(&super::maintenance::state(&view.maintenance));
    }
    if !view.vips.is_empty() {
        let _ = writeln!(out, "\nVIP                                      State");
        for vip in &view.vips {
            let _ = writeln!(out, "{:<40} {}", vip.address, vip.state);
        }
    }
    out
}

fn duration(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (hours, rest) = (rest / 3600, rest % 3600);
    let (minutes, seconds) = (rest / 60, rest % 60);
    if days > 0 {
        format!("{days}d {hours:02}:{minutes:02}:{seconds:02}")
    } else {
        format!("{hours:02}:{minutes:02}:{seconds:02}")
    }
}

/// Renders any JSON view as indented `key: value` lines, for views without a dedicated table.
/// `directorctl bfd`: one line per session, then the drops that matched no session.
pub fn bfd(value: &serde_json::Value) -> String {
    use serde_json::Value;
    let Some(sessions) = value.get("sessions").and_then(Value::as_array) else {
        return generic(value);
    };
    let text = |v: &Value, k: &str| match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".to_string(),
        Some(other) => other.to_string(),
    };
    let ms = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .map_or("-".to_string(), |us| format!("{}", us as f64 / 1000.0))
    };
    let mut out = format!(
        "{:<16} {:<10} {:<6} {:<6} {:>8} {:>9} {:>4} {:<22} {:>10} {}\n",
        "PEER",
        "INTERFACE",
        "STATE",
        "REMOTE",
        "TX(ms)",
        "DETECT(ms)",
        "MULT",
        "AUTH",
        "IN STATE",
        "LAST DOWN"
    );
    for s in sessions {
        let last_down = match s.get("last_down") {
            Some(d @ Value::Object(_)) => {
                format!(
                    "{} ({} s ago)",
                    text(d, "reason"),
                    d.get("ago_ms").and_then(Value::as_u64).unwrap_or(0) / 1000
                )
            }
            _ => "-".to_string(),
        };
        let in_state = s.get("in_state_ms").and_then(Value::as_u64).unwrap_or(0) / 1000;
        out.push_str(&format!(
            "{:<16} {:<10} {:<6} {:<6} {:>8} {:>9} {:>4} {:<22} {:>8} s {}\n",
            text(s, "peer"),
            text(s, "ifname"),
            text(s, "state"),
            text(s, "remote_state"),
            ms(s, "tx_interval_us"),
            ms(s, "detection_time_us"),
            text(s, "multiplier"),
            text(s, "authentication"),
            in_state,
            last_down,
        ));
    }
    if let Some(drops) = value.get("drops").and_then(Value::as_object) {
        if !drops.is_empty() {
            let list: Vec<String> = drops.iter().map(|(k, v)| format!("{k} {v}")).collect();
            out.push_str(&format!(
                "dropped before a session matched: {}\n",
                list.join(", ")
            ));
        }
    }
    out
}

pub fn generic(value: &serde_json::Value) -> String {
    let mut out = String::new();
    generic_into(&mut out, value, 0);
    out
}

fn generic_into(out: &mut String, value: &serde_json::Value, depth: usize) {
    let indent = "  ".repeat(depth);
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                if value.is_object() || value.is_array() {
                    let _ = writeln!(out, "{indent}{key}:");
                    generic_into(out, value, depth + 1);
                } else {
                    let _ = writeln!(out, "{indent}{key}: {}", scalar(value));
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                if item.is_object() || item.is_array() {
                    let _ = writeln!(out, "{indent}-");
                    generic_into(out, item, depth + 1);
                } else {
                    let _ = writeln!(out, "{indent}- {}", scalar(item));
                }
            }
        }
        other => {
            let _ = writeln!(out, "{indent}{}", scalar(other));
        }
    }
}

fn scalar(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::views::{
        CheckView, ConnectionView, Counters, RatesView, RealHealthView, ServiceView, TimeoutsView,
    };

    #[test]
    fn bfd_sessions_table() {
        let v = serde_json::json!({
            "sessions": [{
                "peer": "10.99.0.1", "ifname": "eth0", "state": "Up", "remote_state": "Up",
                "tx_interval_us": 100000, "detection_time_us": 300000, "multiplier": 3,
                "authentication": "keyed_sha1", "in_state_ms": 12000,
                "last_down": {"reason": "control_detection_time_expired", "ago_ms": 65000}
            }],
            "drops": {"no_session": 2}
        });
        let out = super::bfd(&v);
        let row = out.lines().nth(1).expect("a row");
        for want in [
            "10.99.0.1",
            "eth0",
            "Up",
            "100",
            "300",
            "keyed_sha1",
            "12 s",
            "control_detection_time_expired (65 s ago)",
        ] {
            assert!(row.contains(want), "{want} missing in {row}");
        }
        assert!(out.contains("no_session 2"));
    }

    #[test]
    fn services_table_looks_like_ipvsadm() {
        let view = ServicesView {
            backend: "ipvs".into(),
            services: vec![ServiceView {
                protocol: "TCP".into(),
                address: "10.0.0.1:80".into(),
                scheduler: "mh".into(),
                flags: vec!["mh-port".into()],
                persistent: None,
                persistence_netmask: None,
                reals: vec![
                    RealView {
                        address: "192.168.1.10:80".into(),
                        forward: "Route".into(),
                        weight: 1,
                        up: true,
                        health: Some(RealHealthView {
                            up: true,
                            drained: false,
                            since_unix: 1000,
                            checks: vec![],
                        }),
                        active_conns: 3,
                        inactive_conns: 0,
                        stats: Some(Counters {
                            connections: 123_456_789,
                            packets_in: 10,
                            ..Default::default()
                        }),
                        rates: Some(RatesView {
                            connections: 2,
                            bytes_in: 4_000,
                            ..Default::default()
                        }),
                    },
                    RealView {
                        address: "192.168.1.11:80".into(),
                        forward: "Route".into(),
                        weight: 0,
                        up: false,
                        health: Some(RealHealthView {
                            up: false,
                            drained: true,
                            since_unix: 1000,
                            checks: vec![CheckView {
                                checker: "TCP_CHECK 192.168.1.11:80".into(),
                                up: false,
                                last_result: "failure".into(),
                                reason: Some("connection refused".into()),
                                latency_ms: Some(0.2),
                                checked_unix: Some(1060),
                            }],
                        }),
                        active_conns: 0,
                        inactive_conns: 0,
                        stats: None,
                        rates: None,
                    },
                ],
                stats: Some(Counters {
                    connections: 7,
                    ..Default::default()
                }),
                rates: None,
            }],
            timeouts: Some(TimeoutsView {
                tcp: 900,
                tcp_fin: 120,
                udp: 300,
            }),
            per_real_counters: true,
        };
        let text = services(&view, Layout::Health, 1072);
        assert!(text.contains("TCP  10.0.0.1:80 mh (mh-port)\n"), "{text}");
        assert!(
            text.contains(
                "  -> 192.168.1.10:80              Route   1      3          0         up 00:01:12"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "0         drained, DOWN 00:01:12 TCP_CHECK 192.168.1.11:80: connection refused"
            ),
            "{text}"
        );
        // ipvsadm -Ln --stats: numbers in nine columns from column 33.
        let stats = services(&view, Layout::Stats, 1072);
        assert!(
            stats.contains(
                "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n\
                 \x20 -> RemoteAddress:Port\n\
                 TCP  10.0.0.1:80                         7        0        0        0        0\n\
                 \x20 -> 192.168.1.10:80               123456K       10        0        0        0\n\
                 \x20 -> 192.168.1.11:80                     0        0        0        0        0\n"
            ),
            "{stats}"
        );
        let rate = services(&view, Layout::Rate, 1072);
        assert!(
            rate.contains(
                "  -> 192.168.1.10:80                     2        0        0     4000        0\n"
            ),
            "{rate}"
        );
        assert_eq!(
            services(&view, Layout::Timeout, 0),
            "Timeout (tcp tcpfin udp): 900 120 300\n"
        );
    }

    #[test]
    fn ospf_views_are_tables_and_say_when_they_are_empty() {
        let neighbor = OspfNeighborView {
            router_id: "10.0.0.1".into(),
            priority: 1,
            state: "Full".into(),
            address: "10.0.0.1".into(),
            interface: "eth0".into(),
            dr: "10.0.0.1".into(),
            bdr: "10.0.0.11".into(),
        };
        assert_eq!(
            ospf_neighbors(&[neighbor]),
            "Neighbor ID  Pri  State  Address   Interface  DR        BDR\n\
             10.0.0.1     1    Full   10.0.0.1  eth0       10.0.0.1  10.0.0.11\n"
        );
        assert!(ospf_neighbors(&[]).starts_with("no OSPF neighbors"));
        let lsa = OspfLsaView {
            area: "0.0.0.0".into(),
            lsa_type: "router".into(),
            link_state_id: "10.0.0.11".into(),
            advertising_router: "10.0.0.11".into(),
            age: 3,
            sequence: "0x80000002".into(),
            checksum: "0x1a2b".into(),
            self_originated: true,
        };
        let text = ospf_database(&[lsa]);
        assert!(
            text.starts_with("Area     Type    Link ID    ADV Router"),
            "{text}"
        );
        assert!(text.contains("10.0.0.11 *"), "{text}");
        assert_eq!(ospf_database(&[]), "the link-state database is empty\n");
        let iface = OspfInterfaceView {
            name: "eth0".into(),
            area: "0.0.0.0".into(),
            network_type: "broadcast".into(),
            state: "DROther".into(),
            address: "10.0.0.11/24".into(),
            dr: "10.0.0.1".into(),
            bdr: "10.0.0.2".into(),
            neighbors: 2,
        };
        let text = ospf_interfaces(&[iface]);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            text.lines().nth(1).is_some_and(|l| l.ends_with("  2")),
            "{text}"
        );
        assert_eq!(ospf_interfaces(&[]), "no OSPF interface is running\n");
    }

    #[test]
    fn a_diff_says_whether_the_kernel_differs() {
        let view = TablesDiffView {
            backend: "ipvs".into(),
            differences: vec!["TCP 10.0.0.1:80: missing in the kernel".into()],
        };
        assert_eq!(diff(&view), "TCP 10.0.0.1:80: missing in the kernel\n");
        assert!(diff_found(&serde_json::to_value(&view).expect("json")));
        let same = TablesDiffView {
            backend: "ipvs".into(),
            differences: vec![],
        };
        assert!(diff(&same).contains("exactly"));
        assert!(!diff_found(&serde_json::to_value(&same).expect("json")));
    }

    #[test]
    fn counters_abbreviate_like_ipvsadm() {
        assert_eq!(largenum(99_999_999), " 99999999");
        assert_eq!(largenum(123_456_789), "  123456K");
        assert_eq!(largenum(2_500_000_000), "    2500M");
        assert_eq!(largenum(250_000_000_000), "     250G");
    }

    #[test]
    fn connections_look_like_ipvsadm_lnc() {
        let view = ConnectionsView {
            backend: "ipvs".into(),
            total: 3,
            entries: vec![ConnectionView {
                protocol: "TCP".into(),
                expires: 899,
                state: "ESTABLISHED".into(),
                source: "10.0.0.1:40000".into(),
                virtual_address: "10.0.0.100:80".into(),
                destination: "10.1.0.1:80".into(),
            }],
            note: None,
        };
        assert_eq!(
            connections(&view),
            "Director connection entries (ipvs)\n\
             pro expire state       source             virtual            destination\n\
             TCP 14:59  ESTABLISHED 10.0.0.1:40000     10.0.0.100:80      10.1.0.1:80\n\
             (the first 1 of 3 entries)\n"
        );
    }
}
