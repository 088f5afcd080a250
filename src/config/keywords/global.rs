//! `global_defs { }`: the keyword table and the draft it fills.

use super::*;

// ───────────────────────────── global_defs ─────────────────────────────

#[derive(Default)]
pub struct GlobalsDraft {
    pub(super) defs: GlobalDefs,
    pub(super) lower_prio_delay_set: bool,
    pub(super) lower_prio_repeat_set: bool,
}

pub(super) fn global_defs(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    v::no_more_args(node, 0, diag);
    if let Some(children) = v::block(node, diag) {
        apply(
            "global_defs",
            GLOBAL_DEFS,
            GLOBAL_IGNORED,
            &mut b.globals,
            children,
            diag,
        );
        if b.map.lvs_sync_daemon.is_none() && b.globals.defs.lvs_sync_daemon.is_some() {
            b.map.lvs_sync_daemon = children
                .iter()
                .find(|c| c.keyword == "lvs_sync_daemon")
                .map(|c| c.span.clone());
        }
    }
}

/// global_defs keywords keepalived has and director does not use (process tuning,
/// SNMP/DBus, firewall integration, FIFOs …).
pub const GLOBAL_IGNORED: &[&str] = &[
    "bfd_cpu_affinity",
    "bfd_no_swap",
    "bfd_priority",
    "bfd_process_name",
    "bfd_rlimit_rttime",
    "bfd_rt_priority",
    "checker_cpu_affinity",
    "checker_no_swap",
    "checker_priority",
    "checker_process_name",
    "checker_rlimit_rttime",
    "checker_rt_priority",
    "child_wait_time",
    "config_save_dir",
    "data_use_instance",
    "dbus_service_name",
    "disable_local_igmp",
    "enable_dbus",
    "enable_snmp_checker",
    "enable_snmp_keepalived",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_snmp_vrrp",
    "enable_traps",
    "fifo_write_vrrp_states_on_reload",
    "include_check",
    "instance",
    "linkbeat_use_polling",
    "log_unknown_vrids",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "max_auto_priority",
    "min_auto_priority_delay",
    "namespace_with_ipsets",
    "net_namespace_ipvs",
    "nftables",
    "nftables_counters",
    "nftables_ifindex",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "nftables_priority",
    "no_checker_emails",
    "no_email_faults",
    "notify_fifo",
    "notify_fifo_script",
    "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force",
    "process_name",
    "process_names",
    "random_seed",
    "reload_check_config",
    "reload_file",
    "reload_repeat",
    "reload_time_file",
    "rs_init_notifies",
    "shutdown_script",
    "shutdown_script_timeout",
    "snmp_socket",
    "startup_script",
    "startup_script_timeout",
    "tmp_config_directory",
    "umask",
    "use_pid_dir",
    "vmac_addr_prefix",
    "vmac_prefix",
    "vrrp_cpu_affinity",
    "vrrp_garp_extra_if",
    "vrrp_ipsets",
    "vrrp_iptables",
    "vrrp_min_garp",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "vrrp_no_swap",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "vrrp_notify_priority_changes",
    "vrrp_priority",
    "vrrp_process_name",
    "vrrp_rlimit_rttime",
    "vrrp_rt_priority",
    "vrrp_rx_bufs_multiplier",
    "vrrp_rx_bufs_policy",
    "vrrp_nftables",
];

pub const GLOBAL_DEFS: &[Kw<GlobalsDraft>] = &[
    kw!("router_id", |g, n, d| g.defs.router_id =
        v::string(n, "a router name", d).or(g.defs.router_id.take())),
    kw!("net_namespace", |g, n, d| {
        if let Some(name) = v::string(n, "a network namespace name", d) {
            // `ip netns` names are file names under /run/netns.
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                v::bad(
                    n,
                    0,
                    "a network namespace name (a file name under /run/netns)",
                    d,
                );
            } else {
                // The daemon refuses to start without it; say so at `-t` already, as a
                // warning since the check may run on another host.
                if !std::path::Path::new("/run/netns").join(&name).exists() {
                    d.warn(
                        n.span.clone(),
                        format!("net_namespace '{name}': /run/netns/{name} does not exist on this host; directord will not start until it does (ip netns add {name})"),
                    );
                }
                g.defs.net_namespace = Some(name);
            }
        }
    }),
    kw_many!("notification_email", |g, n, d| {
        let words = v::list_words(n, d);
        g.defs
            .notification_email
            .extend(words.into_iter().map(|(w, _)| w.to_string()));
    }),
    kw!("notification_email_from", |g, n, d| {
        if let Some(s) = v::string(n, "an e-mail address", d) {
            g.defs.notification_email_from = Some(s)
        }
    }),
    kw!("smtp_server", |g, n, d| {
        v::no_block(n, d);
        match n.arg(0) {
            Some(host) => {
                let port = match n.arg(1) {
                    Some(_) => v::port_at(n, 1, d),
                    None => Some(def::SMTP_PORT),
                };
                v::no_more_args(n, 2, d);
                if let Some(port) = port {
                    g.defs.smtp_server = Some(SmtpServer {
                        host: host.to_string(),
                        port,
                    });
                }
            }
            None => v::bad(n, 0, "an address or host name", d),
        }
    }),
    kw!("smtp_helo_name", |g, n, d| {
        if let Some(s) = v::string(n, "a host name", d) {
            g.defs.smtp_helo_name = Some(s)
        }
    }),
    kw!("smtp_connect_timeout", |g, n, d| {
        if let Some(t) = v::timer(n, 3600, d) {
            g.defs.smtp_connect_timeout = t
        }
    }),
    kw!("smtp_alert", |g, n, d| g.defs.smtp_alert =
        v::flag(n, d).or(g.defs.smtp_alert)),
    kw!("smtp_alert_vrrp", |g, n, d| g.defs.smtp_alert_vrrp =
        v::flag(n, d).or(g.defs.smtp_alert_vrrp)),
    kw!("smtp_alert_checker", |g, n, d| g.defs.smtp_alert_checker =
        v::flag(n, d).or(g.defs.smtp_alert_checker)),
    kw!("enable_script_security", |g, n, d| {
        v::bare(n, d);
        g.defs.enable_script_security = true
    }),
    kw!("script_user", |g, n, d| g.defs.script_user =
        v::script_user(n, d).or(g.defs.script_user.take())),
    kw!("default_interface", |g, n, d| {
        if let Some(s) = v::string(n, "an interface name", d) {
            g.defs.default_interface = Some(s)
        }
    }),
    kw!("dynamic_interfaces", |g, n, d| {
        v::no_block(n, d);
        if n.arg(0).is_some_and(|a| a != "allow_if_changes") {
            v::bad(n, 0, "nothing or allow_if_changes", d);
        }
        v::no_more_args(n, 1, d);
        g.defs.dynamic_interfaces = true
    }),
    kw!("checker_log_all_failures", |g, n, d| {
        if let Some(f) = v::flag(n, d) {
            g.defs.checker_log_all_failures = f
        }
    }),
    kw!("vrrp_strict", |g, n, d| {
        if let Some(f) = v::flag(n, d) {
            g.defs.vrrp.strict = f
        }
    }),
    kw!("vrrp_version", |g, n, d| {
        if let Some(x) = v::int(n, 2, 3, d) {
            g.defs.vrrp.version = x
        }
    }),
    // keepalived: 1 µs to UINT_MAX µs (about 71 minutes).
    kw!("vrrp_garp_interval", |g, n, d| {
        if let Some(t) = v::timer(n, 4294, d) {
            g.defs.vrrp.garp_interval = t
        }
    }),
    kw!("vrrp_gna_interval", |g, n, d| {
        if let Some(t) = v::timer(n, 4294, d) {
            g.defs.vrrp.gna_interval = t
        }
    }),
    kw!("vrrp_garp_master_delay", |g, n, d| {
        if let Some(t) = v::timer(n, 86400, d) {
            g.defs.vrrp.garp_master_delay = t
        }
    }),
    kw!("vrrp_garp_master_repeat", |g, n, d| {
        if let Some(x) = v::int(n, 0, 1_000_000, d) {
            g.defs.vrrp.garp_master_repeat = x
        }
    }),
    kw!("vrrp_garp_lower_prio_delay", |g, n, d| {
        if let Some(t) = v::timer(n, 86400, d) {
            g.defs.vrrp.garp_lower_prio_delay = t;
            g.lower_prio_delay_set = true
        }
    }),
    kw!("vrrp_garp_lower_prio_repeat", |g, n, d| {
        if let Some(x) = v::int(n, 0, 1_000_000, d) {
            g.defs.vrrp.garp_lower_prio_repeat = x;
            g.lower_prio_repeat_set = true
        }
    }),
    kw!("vrrp_garp_master_refresh", |g, n, d| {
        if let Some(t) = v::timer(n, 86400, d) {
            g.defs.vrrp.garp_master_refresh = t
        }
    }),
    kw!("vrrp_garp_master_refresh_repeat", |g, n, d| {
        if let Some(x) = v::int(n, 0, 1_000_000, d) {
            g.defs.vrrp.garp_master_refresh_repeat = x
        }
    }),
    kw!("vrrp_skip_check_adv_addr", |g, n, d| {
        if let Some(f) = v::flag(n, d) {
            g.defs.vrrp.skip_check_adv_addr = f
        }
    }),
    kw!("vrrp_check_unicast_src", |g, n, d| {
        if let Some(f) = v::flag(n, d) {
            g.defs.vrrp.check_unicast_src = f
        }
    }),
    kw!("vrrp_lower_prio_no_advert", |g, n, d| {
        if let Some(f) = v::flag(n, d) {
            g.defs.vrrp.lower_prio_no_advert = f
        }
    }),
    kw!("vrrp_higher_prio_send_advert", |g, n, d| {
        if let Some(f) = v::flag(n, d) {
            g.defs.vrrp.higher_prio_send_advert = f
        }
    }),
    kw!("vrrp_down_timer_adverts", |g, n, d| {
        if let Some(x) = v::int(n, 1, 100, d) {
            g.defs.vrrp.down_timer_adverts = x
        }
    }),
    kw!("vrrp_mcast_group4", |g, n, d| {
        v::no_block(n, d);
        match n.arg(0).and_then(|a| a.parse::<Ipv4Addr>().ok()) {
            Some(ip) if ip.is_multicast() => {
                v::no_more_args(n, 1, d);
                g.defs.vrrp.mcast_group4 = ip
            }
            _ => v::bad(n, 0, "an IPv4 multicast address", d),
        }
    }),
    kw!("vrrp_mcast_group6", |g, n, d| {
        v::no_block(n, d);
        match n.arg(0).and_then(|a| a.parse::<Ipv6Addr>().ok()) {
            Some(ip) if ip.is_multicast() => {
                v::no_more_args(n, 1, d);
                g.defs.vrrp.mcast_group6 = ip
            }
            _ => v::bad(n, 0, "an IPv6 multicast address", d),
        }
    }),
    kw!("vrrp_startup_delay", |g, n, d| {
        if let Some(t) = v::timer(n, 3600, d) {
            g.defs.vrrp.startup_delay = t
        }
    }),
    kw!("lvs_sync_daemon", |g, n, d| g.defs.lvs_sync_daemon =
        lvs_sync_daemon(n, d).or(g.defs.lvs_sync_daemon.take())),
    kw!("lvs_timeouts", |g, n, d| g.defs.lvs_timeouts =
        lvs_timeouts(n, d).or(g.defs.lvs_timeouts.take())),
    kw!("lvs_flush", |g, n, d| {
        v::bare(n, d);
        g.defs.lvs_flush = true
    }),
    kw!("lvs_flush_on_stop", |g, n, d| lvs_flush_on_stop(g, n, d)),
    kw!("lvs_flush_onstop", |g, n, d| lvs_flush_on_stop(g, n, d)),
];

pub(super) fn lvs_flush_on_stop(g: &mut GlobalsDraft, n: &Node, d: &mut Diagnostics) {
    v::no_block(n, d);
    match n.arg(0) {
        None => g.defs.lvs_flush_on_stop = LvsFlushOnStop::Full,
        Some(_) => {
            if let Some(x) = v::choice_at(n, 0, &[("VS", LvsFlushOnStop::VirtualServers)], d) {
                g.defs.lvs_flush_on_stop = x;
            }
            v::no_more_args(n, 1, d);
        }
    }
}

/// `lvs_sync_daemon <INTERFACE> [[inst] <VRRP_INSTANCE>] [id <SYNC_ID>] [maxlen <LEN>]
/// [port <PORT>] [ttl <TTL>] [group <IP ADDR>]`.
pub(super) fn lvs_sync_daemon(n: &Node, d: &mut Diagnostics) -> Option<LvsSyncDaemon> {
    v::no_block(n, d);
    let Some(interface) = n.arg(0) else {
        v::bad(n, 0, "an interface name", d);
        return None;
    };
    let mut sync = LvsSyncDaemon {
        interface: interface.to_string(),
        vrrp_instance: None,
        sync_id: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let mut i = 1;
    while let Some(word) = n.arg(i) {
        match word {
            "inst" => {
                sync.vrrp_instance = n.arg(i + 1).map(str::to_string);
                if sync.vrrp_instance.is_none() {
                    v::bad(n, i + 1, "a vrrp_instance name", d);
                }
            }
            "id" => sync.sync_id = v::int_at(n, i + 1, 0, 255, d).map(|x| x as u8),
            "maxlen" => sync.maxlen = v::int_at(n, i + 1, 1, 65507, d).map(|x| x as u16),
            "port" => sync.port = v::port_at(n, i + 1, d),
            "ttl" => sync.ttl = v::int_at(n, i + 1, 1, 255, d).map(|x| x as u8),
            "group" => sync.group = v::ip_at(n, i + 1, d),
            name if i == 1 => {
                sync.vrrp_instance = Some(name.to_string());
                i += 1;
                continue;
            }
            _ => {
                v::bad(n, i, "inst, id, maxlen, port, ttl or group", d);
                return None;
            }
        }
        i += 2;
    }
    Some(sync)
}

/// `lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS]` (what `ipvsadm --set` does).
pub(super) fn lvs_timeouts(n: &Node, d: &mut Diagnostics) -> Option<LvsTimeouts> {
    v::no_block(n, d);
    let mut t = LvsTimeouts::default();
    let mut i = 0;
    while let Some(word) = n.arg(i) {
        let value = v::int_at(n, i + 1, 1, 2_678_400, d).map(|s| Duration::from_secs(s as u64));
        match word {
            "tcp" => t.tcp = value,
            "tcpfin" => t.tcpfin = value,
            "udp" => t.udp = value,
            _ => {
                v::bad(n, i, "tcp, tcpfin or udp", d);
                return None;
            }
        }
        i += 2;
    }
    if t == LvsTimeouts::default() {
        v::bad(n, 0, "at least one of tcp SECS, tcpfin SECS, udp SECS", d);
        return None;
    }
    Some(t)
}
