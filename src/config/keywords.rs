//! Keyword tables: for every block, which keywords exist and how each one sets the
//! typed model, including keepalived's historic aliases (`lb_algo`/`lvs_sched`,
//! `lb_kind`/`lvs_method`, `nb_get_retry` in HTTP_GET/SSL_GET, `lvs_sync_daemon_inteface` …). Keywords
//! keepalived knows but director does not use are accepted with a warning; unknown
//! keywords get a warning naming them and are skipped, as keepalived does. Keywords in a
//! block where they cannot be (a `real_server` outside a `virtual_server`) are errors.
//!
//! Defaults and the virtual server → real server → checker inheritance are resolved
//! here (values from `defaults.rs`), so the model holds what will actually run. Spans
//! that semantic validation needs are kept in a [`SourceMap`] beside the model.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use ipnetwork::IpNetwork;

use super::defaults as def;
use super::error::{Diagnostics, Span};
use super::model::*;
use super::parser::Node;
use super::values as v;

/// One keyword of a block: its name, whether it may be given more than once, and what
/// it does to the block's draft.
pub struct Kw<T> {
    pub name: &'static str,
    pub repeat: bool,
    pub set: fn(&mut T, &Node, &mut Diagnostics),
}

macro_rules! kw {
    ($name:literal, |$t:ident, $n:ident, $d:ident| $body:expr) => {
        Kw {
            name: $name,
            repeat: false,
            set: |$t, $n, $d| {
                $body;
            },
        }
    };
}

macro_rules! kw_many {
    ($name:literal, |$t:ident, $n:ident, $d:ident| $body:expr) => {
        Kw {
            name: $name,
            repeat: true,
            set: |$t, $n, $d| {
                $body;
            },
        }
    };
}

/// Keywords that only make sense in one place; anywhere else they are errors.
const PLACED: &[(&str, &str)] = &[
    ("real_server", "inside a virtual_server block"),
    ("TCP_CHECK", "inside a real_server block"),
    ("HTTP_GET", "inside a real_server block"),
    ("SSL_GET", "inside a real_server block"),
    ("MISC_CHECK", "inside a real_server block"),
    ("SMTP_CHECK", "inside a real_server block"),
    ("DNS_CHECK", "inside a real_server block"),
    ("UDP_CHECK", "inside a real_server block"),
    ("PING_CHECK", "inside a real_server block"),
    ("FILE_CHECK", "inside a real_server block"),
    ("url", "inside an HTTP_GET or SSL_GET block"),
    ("vrrp_instance", "at the top level"),
    ("virtual_server", "at the top level"),
    ("vrrp_script", "at the top level"),
    ("vrrp_sync_group", "at the top level"),
    ("virtual_server_group", "at the top level"),
    ("global_defs", "at the top level"),
];

const TOP_LEVEL: &str = "top level";

/// Apply `table` to the statements of a block.
pub fn apply<T>(
    block: &str,
    table: &[Kw<T>],
    ignored: &[&str],
    target: &mut T,
    children: &[Node],
    diag: &mut Diagnostics,
) {
    let within = || {
        if block == TOP_LEVEL {
            "at the top level".to_string()
        } else {
            format!("in {block}")
        }
    };
    let mut seen: Vec<(&'static str, u32)> = Vec::new();
    for node in children {
        let keyword = &*node.keyword;
        if let Some(kw) = table.iter().find(|k| k.name == keyword) {
            if !kw.repeat {
                if let Some((_, line)) = seen.iter().find(|(n, _)| *n == kw.name) {
                    diag.warn(
                        node.span.clone(),
                        format!(
                            "'{keyword}' given twice {} (first at line {line}), the last one wins",
                            within()
                        ),
                    );
                } else {
                    seen.push((kw.name, node.span.line));
                }
            }
            (kw.set)(target, node, diag);
            if let Some((_, _, effect)) = NOT_IMPLEMENTED
                .iter()
                .find(|(b, k, _)| *b == block && *k == keyword)
            {
                diag.warn(
                    node.span.clone(),
                    format!("'{keyword}' is read but director does not act on it yet: {effect}"),
                );
            }
        } else if ignored.contains(&keyword) {
            diag.warn(
                node.span.clone(),
                format!("'{keyword}' is a keepalived option director does not use, ignored"),
            );
        } else if let Some((_, place)) = PLACED.iter().find(|(k, _)| *k == keyword) {
            diag.error(
                node.span.clone(),
                format!("'{keyword}' is not valid {}, expected it {place}", within()),
            );
        } else {
            diag.warn(
                node.span.clone(),
                format!("unknown keyword '{keyword}' {}, ignored", within()),
            );
        }
    }
}

// ───────────────────────────── spans for validation ─────────────────────────────

/// Where things are, index-aligned with the model's vectors.
#[derive(Debug, Default)]
pub struct SourceMap {
    pub vrrp_scripts: Vec<Span>,
    pub vrrp_sync_groups: Vec<SyncGroupSpans>,
    pub vrrp_instances: Vec<InstanceSpans>,
    pub virtual_server_groups: Vec<Span>,
    pub virtual_servers: Vec<VirtualServerSpans>,
    pub ospf: Option<OspfSpans>,
    pub director_mode: Option<Span>,
    pub lvs_sync_daemon: Option<Span>,
}

#[derive(Debug, Default, Clone)]
pub struct SyncGroupSpans {
    pub block: Option<Span>,
    pub members: Vec<Span>,
}

#[derive(Debug, Clone)]
pub struct InstanceSpans {
    pub block: Span,
    pub virtual_router_id: Option<Span>,
    pub advert_int: Option<Span>,
    pub authentication: Option<Span>,
    pub nopreempt: Option<Span>,
    pub track_scripts: Vec<Span>,
    pub virtual_ipaddress: Vec<Span>,
    pub unicast_peers: Option<Span>,
}

#[derive(Debug, Clone)]
pub struct VirtualServerSpans {
    pub block: Span,
    pub scheduler: Option<Span>,
    pub persistence: Option<Span>,
    pub quorum: Option<Span>,
    pub real_servers: Vec<Span>,
}

#[derive(Debug, Clone, Default)]
pub struct OspfSpans {
    pub block: Option<Span>,
    pub areas: Vec<Span>,
    pub interfaces: Vec<Vec<Span>>,
}

// ───────────────────────────── the builder ─────────────────────────────

/// Turns top-level nodes into the model, one at a time.
#[derive(Default)]
pub struct Builder {
    config: Config,
    map: SourceMap,
    globals: GlobalsDraft,
    instances: Vec<InstanceDraft>,
    /// The `track_file` blocks read so far: FILE_CHECK looks its name up here.
    track_files: Vec<TrackFile>,
    ospf_block: Option<Span>,
    director_block: Option<Span>,
}

impl Builder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn top(&mut self, node: &Node, diag: &mut Diagnostics) {
        apply(
            TOP_LEVEL,
            TOP,
            TOP_IGNORED,
            self,
            std::slice::from_ref(node),
            diag,
        );
    }

    /// Resolve what depends on the whole file (VRRP defaults from global_defs).
    pub fn finish(mut self) -> (Config, SourceMap) {
        let g = &mut self.globals;
        if !g.lower_prio_delay_set {
            g.defs.vrrp.garp_lower_prio_delay = g.defs.vrrp.garp_master_delay;
        }
        if !g.lower_prio_repeat_set {
            g.defs.vrrp.garp_lower_prio_repeat = g.defs.vrrp.garp_master_repeat;
        }
        self.config.global_defs = self.globals.defs;
        let globals = &self.config.global_defs.vrrp;
        for draft in self.instances {
            let mut inst = draft.inst;
            let o = draft.overrides;
            let ipv6 = inst
                .virtual_ipaddress
                .first()
                .is_some_and(|a| a.address.is_ipv6());
            // "IPv6 instances will always use version 3".
            inst.version = if ipv6 {
                3
            } else {
                o.version.unwrap_or(globals.version)
            };
            inst.garp_master_delay = o.garp_master_delay.unwrap_or(globals.garp_master_delay);
            inst.garp_master_repeat = o.garp_master_repeat.unwrap_or(globals.garp_master_repeat);
            inst.garp_master_refresh = o.garp_master_refresh.unwrap_or(globals.garp_master_refresh);
            inst.garp_master_refresh_repeat = o
                .garp_master_refresh_repeat
                .unwrap_or(globals.garp_master_refresh_repeat);
            inst.garp_lower_prio_delay = o
                .garp_lower_prio_delay
                .unwrap_or(globals.garp_lower_prio_delay);
            inst.garp_lower_prio_repeat = o
                .garp_lower_prio_repeat
                .unwrap_or(globals.garp_lower_prio_repeat);
            inst.skip_check_adv_addr = o.skip_check_adv_addr.unwrap_or(globals.skip_check_adv_addr);
            // "If strict_mode is not specified, it takes the value of vrrp_strict."
            inst.strict_mode = o.strict_mode.unwrap_or(globals.strict);
            inst.check_unicast_src = o.check_unicast_src.unwrap_or(globals.check_unicast_src);
            inst.down_timer_adverts = o.down_timer_adverts.unwrap_or(globals.down_timer_adverts);
            // "Defaults to false, unless strict_mode is set."
            inst.lower_prio_no_advert = o
                .lower_prio_no_advert
                .unwrap_or(globals.lower_prio_no_advert || inst.strict_mode);
            inst.higher_prio_send_advert = o
                .higher_prio_send_advert
                .unwrap_or(globals.higher_prio_send_advert);
            // Accept mode "is the default setting unless strict mode is set".
            inst.accept = o.accept.unwrap_or(!inst.strict_mode);
            self.config.vrrp_instances.push(inst);
            self.map.vrrp_instances.push(draft.spans);
        }
        if let Some(block) = self.ospf_block {
            self.map.ospf.get_or_insert_with(Default::default).block = Some(block);
        }
        // The `SSL { }` block may come anywhere in the file, so its client certificate
        // reaches the SSL_GET checkers only now.
        if let Some(ssl) = &self.config.ssl {
            let checkers = self
                .config
                .virtual_servers
                .iter_mut()
                .flat_map(|vs| vs.real_servers.iter_mut())
                .flat_map(|rs| rs.checkers.iter_mut());
            for checker in checkers {
                if let Checker::Ssl { tls, .. } = checker {
                    tls.certificate.clone_from(&ssl.certificate);
                    tls.key.clone_from(&ssl.key);
                }
            }
        }
        (self.config, self.map)
    }
}

/// Keywords that are parsed into the model (so `--dump-config` shows them) but that no
/// part of the daemon acts on yet: each one warns where it appears, never silently.
/// (block, keyword, what happens instead). docs/configuration.md says the same.
pub const NOT_IMPLEMENTED: &[(&str, &str, &str)] = &[
    (
        TOP_LEVEL,
        "static_ipaddress",
        "the addresses are not added at start",
    ),
    (
        TOP_LEVEL,
        "static_routes",
        "the routes are not added at start",
    ),
    (
        "global_defs",
        "lvs_flush",
        "the IPVS table is not flushed at start (director never flushes: it reconciles)",
    ),
    (
        "global_defs",
        "lvs_flush_on_stop",
        "the IPVS table is left as it is at stop",
    ),
    (
        "global_defs",
        "lvs_flush_onstop",
        "the IPVS table is left as it is at stop",
    ),
    (
        "global_defs",
        "vrrp_startup_delay",
        "VRRP instances start at once",
    ),
    (
        "global_defs",
        "script_user",
        "scripts without their own 'user' run as the daemon's user (root)",
    ),
    (
        "global_defs",
        "enable_script_security",
        "scripts are run without checking who can write them",
    ),
    (
        "vrrp_instance",
        "accept",
        "packets to the VIPs are accepted whatever the mode",
    ),
    (
        "vrrp_instance",
        "no_accept",
        "packets to the VIPs are accepted whatever the mode",
    ),
    (
        "vrrp_instance",
        "unicast_ttl",
        "unicast adverts go out with the system's default TTL",
    ),
    (
        "vrrp_instance",
        "promote_secondaries",
        "the interface's promote_secondaries setting is left as it is",
    ),
    (
        "vrrp_sync_group",
        "track_interface",
        "the group's members do not track these interfaces",
    ),
    (
        "vrrp_sync_group",
        "track_script",
        "the group's members do not track these scripts",
    ),
    (
        "vrrp_sync_group",
        "global_tracking",
        "members track only what their own instance names",
    ),
    (
        "vrrp_sync_group",
        "sync_group_tracking_weight",
        "members track only what their own instance names",
    ),
];

const TOP_IGNORED: &[&str] = &[
    "static_rules",
    "linkbeat_interfaces",
    "garp_group",
    "vrrp_track_process",
    "bfd_instance",
];

const TOP: &[Kw<Builder>] = &[
    kw_many!("global_defs", |b, n, d| global_defs(b, n, d)),
    kw_many!("director", |b, n, d| director(b, n, d)),
    kw_many!("ospf", |b, n, d| ospf(b, n, d)),
    kw_many!("static_ipaddress", |b, n, d| {
        if let Some(children) = v::block(n, d) {
            b.config.static_ipaddress.extend(
                children
                    .iter()
                    .filter_map(|c| ip_address_spec(c, d).map(|(a, _)| a)),
            );
        }
    }),
    kw_many!("static_routes", |b, n, d| {
        if let Some(children) = v::block(n, d) {
            b.config
                .static_routes
                .extend(children.iter().filter_map(|c| route_spec(c, d)));
        }
    }),
    kw_many!("vrrp_script", |b, n, d| vrrp_script(b, n, d)),
    kw_many!("vrrp_sync_group", |b, n, d| vrrp_sync_group(b, n, d)),
    kw_many!("vrrp_instance", |b, n, d| vrrp_instance(b, n, d)),
    kw_many!("virtual_server_group", |b, n, d| virtual_server_group(
        b, n, d
    )),
    kw_many!("virtual_server", |b, n, d| virtual_server(b, n, d)),
    kw_many!("SSL", |b, n, d| ssl(b, n, d)),
    kw_many!("track_file", |b, n, d| track_file(b, n, d)),
    kw_many!("vrrp_track_file", |b, n, d| {
        // keepalived ≥ 2.0.21 logs the same (track_file.c vrrp_track_file_handler).
        d.warn(
            n.span.clone(),
            "'vrrp_track_file' is a deprecated synonym of 'track_file', read as one",
        );
        track_file(b, n, d)
    }),
];

/// The name argument of `vrrp_instance NAME {` and friends.
fn block_name(node: &Node, diag: &mut Diagnostics) -> Option<String> {
    match node.arg(0) {
        Some(name) => {
            v::no_more_args(node, 1, diag);
            Some(name.to_string())
        }
        None => {
            v::bad(node, 0, "a name", diag);
            None
        }
    }
}

// ───────────────────────────── global_defs ─────────────────────────────

#[derive(Default)]
pub struct GlobalsDraft {
    defs: GlobalDefs,
    lower_prio_delay_set: bool,
    lower_prio_repeat_set: bool,
}

fn global_defs(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
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
    "net_namespace",
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

fn lvs_flush_on_stop(g: &mut GlobalsDraft, n: &Node, d: &mut Diagnostics) {
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
fn lvs_sync_daemon(n: &Node, d: &mut Diagnostics) -> Option<LvsSyncDaemon> {
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
fn lvs_timeouts(n: &Node, d: &mut Diagnostics) -> Option<LvsTimeouts> {
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

// ───────────────────────────── director { } and ospf { } ─────────────────────────────

fn director(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    v::no_more_args(node, 0, diag);
    if let Some(first) = &b.director_block {
        diag.error(
            node.span.clone(),
            format!(
                "duplicate director block (first at line {}), expected one",
                first.line
            ),
        );
        return;
    }
    b.director_block = Some(node.span.clone());
    if let Some(children) = v::block(node, diag) {
        apply(
            "director",
            DIRECTOR,
            &[],
            &mut b.config.director,
            children,
            diag,
        );
        b.map.director_mode = children
            .iter()
            .rfind(|c| c.keyword == "mode")
            .map(|c| c.span.clone());
    }
}

pub const DIRECTOR: &[Kw<DirectorSettings>] = &[
    kw!("mode", |s, n, d| {
        s.mode = v::choice(
            n,
            &[
                ("active-active", Mode::ActiveActive),
                ("master-backup", Mode::MasterBackup),
                ("tables-only", Mode::TablesOnly),
            ],
            d,
        )
        .or(s.mode)
    }),
    kw!("dataplane", |s, n, d| {
        if let Some(k) = v::choice(
            n,
            &[
                ("ipvs", DataplaneKind::Ipvs),
                ("nftables", DataplaneKind::Nftables),
                ("none", DataplaneKind::None),
            ],
            d,
        ) {
            s.dataplane = k
        }
    }),
    kw!("control_socket", |s, n, d| {
        if let Some(p) = v::single(n, "a socket path", d) {
            s.control_socket = Some(PathBuf::from(p))
        }
    }),
    kw!("metrics_listen", |s, n, d| {
        if let Some(text) = v::single(n, "ADDR:PORT", d) {
            match text.parse() {
                Ok(addr) => s.metrics_listen = Some(addr),
                Err(_) => v::bad(n, 0, "ADDR:PORT (IPv6 as [ADDR]:PORT)", d),
            }
        }
    }),
];

fn ospf(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    v::no_more_args(node, 0, diag);
    if let Some(first) = &b.ospf_block {
        diag.error(
            node.span.clone(),
            format!(
                "duplicate ospf block (first at line {}), expected one",
                first.line
            ),
        );
        return;
    }
    b.ospf_block = Some(node.span.clone());
    let mut draft = OspfDraft {
        ospf: OspfConfig {
            router_id: None,
            vip_metric: 0,
            areas: Vec::new(),
        },
        spans: OspfSpans::default(),
    };
    if let Some(children) = v::block(node, diag) {
        apply("ospf", OSPF, &[], &mut draft, children, diag);
    }
    b.config.ospf = Some(draft.ospf);
    b.map.ospf = Some(draft.spans);
}

pub struct OspfDraft {
    ospf: OspfConfig,
    spans: OspfSpans,
}

/// An OSPF area ID: dotted quad or a decimal number (`0` is the backbone).
fn area_id(text: &str) -> Option<Ipv4Addr> {
    text.parse::<Ipv4Addr>()
        .ok()
        .or_else(|| text.parse::<u32>().ok().map(Ipv4Addr::from))
}

pub const OSPF: &[Kw<OspfDraft>] = &[
    kw!("router_id", |o, n, d| {
        v::no_block(n, d);
        if let Some(id) = v::ipv4_at(n, 0, d) {
            v::no_more_args(n, 1, d);
            if id.is_unspecified() {
                v::bad(n, 0, "a router ID other than 0.0.0.0", d);
            } else {
                o.ospf.router_id = Some(id)
            }
        }
    }),
    kw!("vip_metric", |o, n, d| {
        if let Some(m) = v::int(n, 0, 65535, d) {
            o.ospf.vip_metric = m
        }
    }),
    kw_many!("area", |o, n, d| {
        let Some(id) = n.arg(0).and_then(area_id) else {
            v::bad(n, 0, "an area ID (A.B.C.D or a decimal number)", d);
            return;
        };
        v::no_more_args(n, 1, d);
        let mut area = AreaDraft {
            area: OspfArea {
                id,
                interfaces: Vec::new(),
            },
            spans: Vec::new(),
        };
        if let Some(children) = v::block(n, d) {
            apply("area", AREA, &[], &mut area, children, d);
        }
        o.ospf.areas.push(area.area);
        o.spans.areas.push(n.span.clone());
        o.spans.interfaces.push(area.spans);
    }),
];

pub struct AreaDraft {
    area: OspfArea,
    spans: Vec<Span>,
}

pub const AREA: &[Kw<AreaDraft>] = &[kw_many!("interface", |a, n, d| {
    let Some(name) = block_name(n, d) else { return };
    let mut iface = OspfInterface {
        name,
        network_type: OspfNetworkType::Broadcast,
        hello_interval: 10,
        dead_interval: 40,
        retransmit_interval: 5,
        transmit_delay: 1,
        priority: 1,
        cost: 10,
        authentication: OspfAuth::None,
    };
    let mut dead_set = false;
    if let Some(children) = n.children.as_deref() {
        dead_set = children.iter().any(|c| c.keyword == "dead_interval");
        apply("interface", OSPF_INTERFACE, &[], &mut iface, children, d);
    }
    if !dead_set {
        // RFC 2328 C.3: RouterDeadInterval, "some multiple of the HelloInterval"; 4×
        // is what BIRD and FRR use.
        iface.dead_interval = 4 * iface.hello_interval as u32;
    }
    a.area.interfaces.push(iface);
    a.spans.push(n.span.clone());
})];

pub const OSPF_INTERFACE: &[Kw<OspfInterface>] = &[
    kw!("network_type", |i, n, d| {
        if let Some(t) = v::choice(
            n,
            &[
                ("broadcast", OspfNetworkType::Broadcast),
                ("point-to-point", OspfNetworkType::PointToPoint),
                ("point_to_point", OspfNetworkType::PointToPoint),
                ("ptp", OspfNetworkType::PointToPoint),
            ],
            d,
        ) {
            i.network_type = t
        }
    }),
    kw!("hello_interval", |i, n, d| {
        if let Some(x) = v::int(n, 1, 65535, d) {
            i.hello_interval = x
        }
    }),
    kw!("dead_interval", |i, n, d| {
        if let Some(x) = v::int(n, 1, u32::MAX as i64, d) {
            i.dead_interval = x
        }
    }),
    kw!("retransmit_interval", |i, n, d| {
        if let Some(x) = v::int(n, 1, 65535, d) {
            i.retransmit_interval = x
        }
    }),
    kw!("transmit_delay", |i, n, d| {
        if let Some(x) = v::int(n, 1, 65535, d) {
            i.transmit_delay = x
        }
    }),
    kw!("priority", |i, n, d| {
        if let Some(x) = v::int(n, 0, 255, d) {
            i.priority = x
        }
    }),
    kw!("cost", |i, n, d| {
        if let Some(x) = v::int(n, 1, 65535, d) {
            i.cost = x
        }
    }),
    kw!("authentication", |i, n, d| {
        v::no_more_args(n, 0, d);
        if let Some(children) = v::block(n, d) {
            let mut auth = OspfAuthDraft::default();
            apply("authentication", OSPF_AUTH, &[], &mut auth, children, d);
            if let Some(a) = auth.resolve(n, d) {
                i.authentication = a
            }
        }
    }),
];

#[derive(Default)]
pub struct OspfAuthDraft {
    kind: Option<&'static str>,
    pass: Option<String>,
    key: Option<(u8, String)>,
}

impl OspfAuthDraft {
    fn resolve(self, n: &Node, d: &mut Diagnostics) -> Option<OspfAuth> {
        match self.kind.unwrap_or("none") {
            "simple" => match self.pass {
                Some(key) => Some(OspfAuth::Simple { key }),
                None => {
                    d.error(
                        n.span.clone(),
                        "authentication: auth_type simple needs auth_pass KEY",
                    );
                    None
                }
            },
            "md5" => match self.key {
                Some((key_id, key)) => Some(OspfAuth::Md5 { key_id, key }),
                None => {
                    d.error(
                        n.span.clone(),
                        "authentication: auth_type md5 needs auth_key ID KEY",
                    );
                    None
                }
            },
            _ => Some(OspfAuth::None),
        }
    }
}

pub const OSPF_AUTH: &[Kw<OspfAuthDraft>] = &[
    kw!("auth_type", |a, n, d| {
        a.kind = v::choice(
            n,
            &[("none", "none"), ("simple", "simple"), ("md5", "md5")],
            d,
        )
        .or(a.kind)
    }),
    kw!("auth_pass", |a, n, d| {
        if let Some(key) = v::single(n, "a password of at most 8 characters", d) {
            if key.len() > 8 {
                v::bad(n, 0, "a password of at most 8 characters", d);
            } else {
                a.pass = Some(key.to_string())
            }
        }
    }),
    kw!("auth_key", |a, n, d| {
        v::no_block(n, d);
        let id = v::int_at(n, 0, 0, 255, d);
        match n.arg(1) {
            Some(key) if key.len() <= 16 => {
                v::no_more_args(n, 2, d);
                if let Some(id) = id {
                    a.key = Some((id as u8, key.to_string()))
                }
            }
            _ => v::bad(n, 1, "a key of at most 16 characters", d),
        }
    }),
];

// ───────────────────────────── SSL ─────────────────────────────

fn ssl(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    v::no_more_args(node, 0, diag);
    let mut ctx = b.config.ssl.take().unwrap_or_default();
    if let Some(children) = v::block(node, diag) {
        apply("SSL", SSL, &[], &mut ctx, children, diag);
    }
    b.config.ssl = Some(ctx);
}

pub const SSL: &[Kw<SslContext>] = &[
    kw!("password", |s, n, d| s.password =
        v::string(n, "a password", d).or(s.password.take())),
    kw!("ca", |s, n, d| s.ca = v::string(n, "a file path", d)
        .map(PathBuf::from)
        .or(s.ca.take())),
    kw!("certificate", |s, n, d| s.certificate =
        v::string(n, "a file path", d)
            .map(PathBuf::from)
            .or(s.certificate.take())),
    kw!("key", |s, n, d| s.key = v::string(n, "a file path", d)
        .map(PathBuf::from)
        .or(s.key.take())),
];

// ───────────────────────────── track_file ─────────────────────────────

/// A top-level `track_file NAME { }`: a file holding a number, for FILE_CHECK (VRRP's
/// `track_file` is still ignored).
pub struct TrackFile {
    name: String,
    span: Span,
    /// `None` when the block has no `file`, which is reported where the block is.
    path: Option<PathBuf>,
    weight: i64,
    reverse: bool,
    init: Option<FileInit>,
}

fn track_file(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    let Some(name) = block_name(node, diag) else {
        return;
    };
    let mut tf = TrackFile {
        name,
        span: node.span.clone(),
        path: None,
        weight: def::TRACK_FILE_WEIGHT,
        reverse: false,
        init: None,
    };
    if let Some(children) = v::block(node, diag) {
        apply(&node.keyword, TRACK_FILE, &[], &mut tf, children, diag);
    }
    if tf.path.is_none() {
        diag.error(
            node.span.clone(),
            format!(
                "{} '{}' has no 'file', expected file \"PATH\"",
                node.keyword, tf.name
            ),
        );
    }
    if let Some(first) = b.track_files.iter().find(|t| t.name == tf.name) {
        diag.error(
            node.span.clone(),
            format!(
                "track_file '{}' defined twice (first at line {}), expected unique names",
                tf.name, first.span.line
            ),
        );
        return;
    }
    b.track_files.push(tf);
}

/// `weight N [reverse|noreverse]` of track_file and FILE_CHECK.
fn file_weight(n: &Node, d: &mut Diagnostics) -> Option<(i64, bool)> {
    v::no_block(n, d);
    let max = def::TRACK_FILE_WEIGHT_MAX;
    let weight = v::int_at(n, 0, -max, max, d)?;
    let reverse = match n.arg(1) {
        None => false,
        Some(_) => v::choice_at(n, 1, &[("reverse", true), ("noreverse", false)], d)?,
    };
    v::no_more_args(n, 2, d);
    Some((weight, reverse))
}

pub const TRACK_FILE: &[Kw<TrackFile>] = &[
    kw!("file", |t, n, d| t.path = v::string(n, "a file path", d)
        .map(PathBuf::from)
        .or(t.path.take())),
    kw!("weight", |t, n, d| {
        if let Some((weight, reverse)) = file_weight(n, d) {
            t.weight = weight;
            t.reverse = reverse;
        }
    }),
    kw!("init_file", |t, n, d| {
        v::no_block(n, d);
        // `init_file [VALUE] [overwrite]`, in either order as keepalived reads it.
        let mut init = FileInit {
            value: 0,
            overwrite: false,
        };
        for (i, arg) in n.args.iter().enumerate() {
            if arg.text == "overwrite" {
                init.overwrite = true;
                continue;
            }
            match v::parse_int(&arg.text) {
                Some(value) if (i32::MIN as i64..=i32::MAX as i64).contains(&value) => {
                    init.value = value
                }
                _ => {
                    v::bad(
                        n,
                        i,
                        "a value from -2147483648 to 2147483647 or 'overwrite'",
                        d,
                    );
                    return;
                }
            }
        }
        t.init = Some(init)
    }),
];

// ───────────────────────────── addresses and routes ─────────────────────────────

const SCOPES: &[(&str, AddressScope)] = &[
    ("global", AddressScope::Global),
    ("site", AddressScope::Site),
    ("link", AddressScope::Link),
    ("host", AddressScope::Host),
    ("nowhere", AddressScope::Nowhere),
];

/// `<IPADDR>[/<MASK>] [brd <IPADDR>] [dev <STRING>] [scope <SCOPE>] [label <LABEL>]
/// [peer <IPADDR>] [no_track] [use_vmac] …` (one line of virtual_ipaddress).
pub fn ip_address_spec(n: &Node, d: &mut Diagnostics) -> Option<(IpAddressSpec, Span)> {
    v::no_block(n, d);
    let Some(address) = v::parse_prefix(&n.keyword) else {
        d.error(
            n.span.clone(),
            format!(
                "expected an IP address with an optional /prefix-length, found '{}'",
                n.keyword
            ),
        );
        return None;
    };
    let mut spec = IpAddressSpec {
        address,
        broadcast: None,
        dev: None,
        scope: None,
        label: None,
        peer: None,
        no_track: false,
        use_vmac: false,
        flags: Vec::new(),
    };
    let mut i = 0;
    while let Some(word) = n.arg(i) {
        let value = n.arg(i + 1);
        let mut takes_value = true;
        match word {
            "brd" | "broadcast" => match value {
                Some("+") | Some("-") => {}
                _ => spec.broadcast = Some(v::ip_at(n, i + 1, d)?),
            },
            "dev" => spec.dev = value.map(str::to_string),
            "scope" => spec.scope = Some(v::choice_at(n, i + 1, SCOPES, d)?),
            "label" => spec.label = value.map(str::to_string),
            "peer" => spec.peer = Some(v::prefix_at(n, i + 1, d)?),
            "preferred_lft" | "track_group" => spec
                .flags
                .extend([word, value.unwrap_or("")].map(str::to_string)),
            "no_track" => {
                spec.no_track = true;
                takes_value = false
            }
            "use_vmac" => {
                spec.use_vmac = true;
                takes_value = false
            }
            "home" | "-nodad" | "nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin" => {
                spec.flags.push(word.to_string());
                takes_value = false
            }
            _ => {
                v::bad(
                    n,
                    i,
                    "brd, dev, scope, label, peer, no_track or an ip-address flag",
                    d,
                );
                return None;
            }
        }
        if takes_value {
            if value.is_none() {
                v::bad(n, i + 1, &format!("a value after '{word}'"), d);
                return None;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Some((spec, n.span.clone()))
}

/// One line of `virtual_routes` / `static_routes`:
/// `[src IP] [to] DEST [via|gw IP] [dev IF] [scope S] [table T] [metric N] [no_track] …`,
/// or `blackhole|unreachable|prohibit DEST`.
pub fn route_spec(n: &Node, d: &mut Diagnostics) -> Option<RouteSpec> {
    v::no_block(n, d);
    let words: Vec<(&str, usize)> = std::iter::once((&*n.keyword, usize::MAX))
        .chain(n.args.iter().enumerate().map(|(i, a)| (&*a.text, i)))
        .collect();
    let span_of = |index: usize| {
        if index == usize::MAX {
            n.span.clone()
        } else {
            n.arg_span(index)
        }
    };
    let mut route = RouteSpec {
        destination: IpNetwork::V4(ipnetwork::Ipv4Network::from(Ipv4Addr::UNSPECIFIED)),
        kind: RouteKind::Unicast,
        src: None,
        via: None,
        dev: None,
        scope: None,
        table: None,
        metric: None,
        no_track: false,
        options: Vec::new(),
    };
    let mut destination = None;
    // `inet`/`inet6` before `default` or after `via`.
    let mut family: Option<&str> = None;
    let mut k = 0;
    while k < words.len() {
        let (word, _) = words[k];
        let value = words.get(k + 1).map(|(w, _)| *w);
        let value_span = words
            .get(k + 1)
            .map(|(_, i)| span_of(*i))
            .unwrap_or_else(|| n.span.clone());
        let need = |d: &mut Diagnostics, what: &str| {
            d.error(
                value_span.clone(),
                format!(
                    "route: expected {what} after '{word}', found '{}'",
                    value.unwrap_or("")
                ),
            );
        };
        let mut step = 2;
        match word {
            "src" => match value.and_then(|x| x.parse().ok()) {
                Some(ip) => route.src = Some(ip),
                None => {
                    need(d, "an IP address");
                    return None;
                }
            },
            // keepalived: `via [inet|inet6] ADDR`.
            "via" | "gw" if matches!(value, Some("inet" | "inet6")) => {
                family = value;
                match words.get(k + 2).and_then(|(x, _)| x.parse().ok()) {
                    Some(ip) => route.via = Some(ip),
                    None => {
                        d.error(
                            words
                                .get(k + 2)
                                .map_or(value_span.clone(), |(_, i)| span_of(*i)),
                            format!(
                                "route: expected an IP address after 'via {}'",
                                family.unwrap_or("")
                            ),
                        );
                        return None;
                    }
                }
                step = 3
            }
            "via" | "gw" => match value.and_then(|x| x.parse().ok()) {
                Some(ip) => route.via = Some(ip),
                None => {
                    need(d, "an IP address");
                    return None;
                }
            },
            "inet" | "inet6" => {
                family = Some(word);
                step = 1
            }
            // keepalived's parse_ipaddress: `default6` is the IPv6 default route.
            "default6" if destination.is_none() => {
                destination = IpNetwork::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0).ok();
                step = 1
            }
            "to" => step = 1,
            "dev" | "oif" => match value {
                Some(dev) => route.dev = Some(dev.to_string()),
                None => {
                    need(d, "an interface name");
                    return None;
                }
            },
            "scope" => match value.and_then(|x| SCOPES.iter().find(|(s, _)| *s == x)) {
                Some((_, s)) => route.scope = Some(*s),
                None => {
                    need(d, "global|site|link|host|nowhere");
                    return None;
                }
            },
            "table" => match value {
                Some(t) => route.table = Some(t.to_string()),
                None => {
                    need(d, "a table");
                    return None;
                }
            },
            "metric" | "priority" | "preference" => match value.and_then(|x| x.parse().ok()) {
                Some(m) => route.metric = Some(m),
                None => {
                    need(d, "a number");
                    return None;
                }
            },
            "blackhole" => {
                route.kind = RouteKind::Blackhole;
                step = 1
            }
            "unreachable" => {
                route.kind = RouteKind::Unreachable;
                step = 1
            }
            "prohibit" => {
                route.kind = RouteKind::Prohibit;
                step = 1
            }
            "no_track" => {
                route.no_track = true;
                step = 1
            }
            "default" | "any" | "all" if destination.is_none() => {
                let ipv6 = family == Some("inet6")
                    || route.via.or(route.src).is_some_and(|a| a.is_ipv6())
                    || words[k + 1..].iter().any(|(w, _)| w.contains(':'));
                let any = if ipv6 {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                } else {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                };
                destination = IpNetwork::new(any, 0).ok();
                step = 1
            }
            _ => {
                match v::parse_prefix(word) {
                    Some(p) if destination.is_none() => destination = Some(p),
                    _ => route.options.push(word.to_string()),
                }
                step = 1
            }
        }
        k += step;
    }
    match destination {
        Some(dst) => {
            route.destination = dst;
            Some(route)
        }
        None => {
            d.error(
                n.span.clone(),
                "route: expected a destination prefix (A.B.C.D/N)",
            );
            None
        }
    }
}

// ───────────────────────────── vrrp_script / sync group ─────────────────────────────

fn vrrp_script(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    let Some(name) = block_name(node, diag) else {
        return;
    };
    let mut draft = VrrpScriptDraft {
        script: VrrpScript {
            name,
            script: Script {
                command: String::new(),
                user: None,
            },
            interval: def::SCRIPT_INTERVAL,
            timeout: None,
            weight: def::SCRIPT_WEIGHT,
            weight_reverse: false,
            rise: def::SCRIPT_RISE_FALL,
            fall: def::SCRIPT_RISE_FALL,
            init_fail: false,
        },
    };
    if let Some(children) = v::block(node, diag) {
        apply("vrrp_script", VRRP_SCRIPT, &[], &mut draft, children, diag);
    }
    if draft.script.script.command.is_empty() {
        diag.error(
            node.span.clone(),
            format!(
                "vrrp_script '{}' has no 'script', expected one",
                draft.script.name
            ),
        );
        return;
    }
    b.config.vrrp_scripts.push(draft.script);
    b.map.vrrp_scripts.push(node.span.clone());
}

pub struct VrrpScriptDraft {
    script: VrrpScript,
}

/// A command given as all the words after the keyword (`script killall -0 haproxy` or
/// `script "killall -0 haproxy"`).
fn command(n: &Node, d: &mut Diagnostics) -> Option<String> {
    v::no_block(n, d);
    if n.args.is_empty() {
        v::bad(n, 0, "a script path or a quoted command", d);
        return None;
    }
    Some(
        n.args
            .iter()
            .map(|a| {
                if a.quoted && a.text.contains(char::is_whitespace) && n.args.len() > 1 {
                    format!("'{}'", a.text)
                } else {
                    a.text.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// `weight N [reverse]` at argument `at` (track_* lists and vrrp_script).
fn weight_and_reverse(
    n: &Node,
    at: usize,
    max: i64,
    d: &mut Diagnostics,
) -> Option<(Option<i32>, bool)> {
    let mut weight = None;
    let mut reverse = false;
    let mut i = at;
    while let Some(word) = n.arg(i) {
        match word {
            "weight" => {
                weight = Some(v::int_at(n, i + 1, -max, max, d)? as i32);
                i += 2;
            }
            "reverse" => {
                reverse = true;
                i += 1
            }
            "noreverse" | "no_reverse" => {
                reverse = false;
                i += 1
            }
            _ => {
                v::bad(n, i, "weight N, reverse or noreverse", d);
                return None;
            }
        }
    }
    Some((weight, reverse))
}

pub const VRRP_SCRIPT: &[Kw<VrrpScriptDraft>] = &[
    kw!("script", |s, n, d| {
        if let Some(c) = command(n, d) {
            s.script.script.command = c
        }
    }),
    kw!("interval", |s, n, d| {
        if let Some(t) = v::timer(n, 86400, d) {
            s.script.interval = t
        }
    }),
    kw!("timeout", |s, n, d| s.script.timeout =
        v::timer(n, 86400, d).or(s.script.timeout)),
    kw!("weight", |s, n, d| {
        v::no_block(n, d);
        if let Some(w) = v::int_at(
            n,
            0,
            -def::TRACK_WEIGHT_MAX as i64,
            def::TRACK_WEIGHT_MAX as i64,
            d,
        ) {
            s.script.weight = w as i32;
            match n.arg(1) {
                None => s.script.weight_reverse = false,
                Some("reverse") => s.script.weight_reverse = true,
                Some(_) => v::bad(n, 1, "reverse or nothing", d),
            }
            v::no_more_args(n, 2, d);
        }
    }),
    kw!("rise", |s, n, d| {
        if let Some(x) = v::int(n, 1, 1_000_000, d) {
            s.script.rise = x
        }
    }),
    kw!("fall", |s, n, d| {
        if let Some(x) = v::int(n, 1, 1_000_000, d) {
            s.script.fall = x
        }
    }),
    kw!("user", |s, n, d| s.script.script.user =
        v::script_user(n, d).or(s.script.script.user.take())),
    kw!("init_fail", |s, n, d| {
        v::bare(n, d);
        s.script.init_fail = true
    }),
];

fn track_interfaces(n: &Node, d: &mut Diagnostics) -> Vec<TrackInterface> {
    let Some(children) = v::block(n, d) else {
        return Vec::new();
    };
    children
        .iter()
        .filter_map(|c| {
            v::no_block(c, d);
            let (weight, reverse) = weight_and_reverse(c, 0, 253, d)?;
            Some(TrackInterface {
                name: c.keyword.to_string(),
                weight: weight.unwrap_or(0),
                reverse,
            })
        })
        .collect()
}

fn track_scripts(n: &Node, d: &mut Diagnostics) -> Vec<(TrackScript, Span)> {
    let Some(children) = v::block(n, d) else {
        return Vec::new();
    };
    children
        .iter()
        .filter_map(|c| {
            v::no_block(c, d);
            let (weight, reverse) = weight_and_reverse(c, 0, 253, d)?;
            Some((
                TrackScript {
                    name: c.keyword.to_string(),
                    weight,
                    reverse,
                },
                c.span.clone(),
            ))
        })
        .collect()
}

fn vrrp_sync_group(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    let Some(name) = block_name(node, diag) else {
        return;
    };
    let mut draft = SyncGroupDraft {
        group: VrrpSyncGroup {
            name,
            group: Vec::new(),
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify: None,
            smtp_alert: false,
            global_tracking: false,
            sync_group_tracking_weight: false,
            track_interface: Vec::new(),
            track_script: Vec::new(),
        },
        spans: SyncGroupSpans {
            block: Some(node.span.clone()),
            members: Vec::new(),
        },
    };
    if let Some(children) = v::block(node, diag) {
        apply(
            "vrrp_sync_group",
            SYNC_GROUP,
            SYNC_GROUP_IGNORED,
            &mut draft,
            children,
            diag,
        );
    }
    b.config.vrrp_sync_groups.push(draft.group);
    b.map.vrrp_sync_groups.push(draft.spans);
}

pub struct SyncGroupDraft {
    group: VrrpSyncGroup,
    spans: SyncGroupSpans,
}

pub const SYNC_GROUP_IGNORED: &[&str] = &[
    "track_file",
    "track_process",
    "track_bfd",
    "notify_priority_changes",
];

pub const SYNC_GROUP: &[Kw<SyncGroupDraft>] = &[
    kw_many!("group", |g, n, d| {
        for (word, span) in v::list_words(n, d) {
            g.group.group.push(word.to_string());
            g.spans.members.push(span);
        }
    }),
    kw!("notify_master", |g, n, d| g.group.notify_master =
        v::script(n, d).or(g.group.notify_master.take())),
    kw!("notify_backup", |g, n, d| g.group.notify_backup =
        v::script(n, d).or(g.group.notify_backup.take())),
    kw!("notify_fault", |g, n, d| g.group.notify_fault =
        v::script(n, d).or(g.group.notify_fault.take())),
    kw!("notify_stop", |g, n, d| g.group.notify_stop =
        v::script(n, d).or(g.group.notify_stop.take())),
    kw!("notify", |g, n, d| g.group.notify =
        v::script(n, d).or(g.group.notify.take())),
    kw!("smtp_alert", |g, n, d| {
        if let Some(f) = v::flag(n, d) {
            g.group.smtp_alert = f
        }
    }),
    kw!("global_tracking", |g, n, d| {
        v::bare(n, d);
        g.group.global_tracking = true
    }),
    kw!("sync_group_tracking_weight", |g, n, d| {
        v::bare(n, d);
        g.group.sync_group_tracking_weight = true
    }),
    kw_many!("track_interface", |g, n, d| g
        .group
        .track_interface
        .extend(track_interfaces(n, d))),
    kw_many!("track_script", |g, n, d| g
        .group
        .track_script
        .extend(track_scripts(n, d).into_iter().map(|(t, _)| t))),
];

// ───────────────────────────── vrrp_instance ─────────────────────────────

/// Instance settings that default to a global_defs value, resolved in
/// [`Builder::finish`].
#[derive(Default)]
struct InstanceOverrides {
    version: Option<u8>,
    garp_master_delay: Option<Duration>,
    garp_master_repeat: Option<u32>,
    garp_master_refresh: Option<Duration>,
    garp_master_refresh_repeat: Option<u32>,
    garp_lower_prio_delay: Option<Duration>,
    garp_lower_prio_repeat: Option<u32>,
    skip_check_adv_addr: Option<bool>,
    strict_mode: Option<bool>,
    check_unicast_src: Option<bool>,
    down_timer_adverts: Option<u8>,
    lower_prio_no_advert: Option<bool>,
    higher_prio_send_advert: Option<bool>,
    accept: Option<bool>,
}

pub struct InstanceDraft {
    inst: VrrpInstance,
    overrides: InstanceOverrides,
    spans: InstanceSpans,
}

fn vrrp_instance(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    let Some(name) = block_name(node, diag) else {
        return;
    };
    let mut draft = InstanceDraft {
        inst: VrrpInstance {
            name,
            state: VrrpState::Backup,
            interface: None,
            virtual_router_id: 0,
            priority: def::PRIORITY,
            advert_int: def::ADVERT_INT,
            version: 2,
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            track_interface: Vec::new(),
            track_script: Vec::new(),
            nopreempt: false,
            preempt_delay: def::PREEMPT_DELAY,
            garp_master_delay: Duration::ZERO,
            garp_master_repeat: 0,
            garp_master_refresh: Duration::ZERO,
            garp_master_refresh_repeat: 0,
            garp_lower_prio_delay: Duration::ZERO,
            garp_lower_prio_repeat: 0,
            mcast_src_ip: None,
            mcast_dst_ip: None,
            unicast_src_ip: None,
            unicast_peer: Vec::new(),
            unicast_ttl: None,
            check_unicast_src: false,
            use_vmac: None,
            vmac_xmit_base: false,
            dont_track_primary: false,
            track_src_ip: false,
            skip_check_adv_addr: false,
            strict_mode: false,
            accept: true,
            promote_secondaries: false,
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify: None,
            notify_master_rx_lower_pri: None,
            smtp_alert: false,
            lvs_sync_daemon_interface: None,
        },
        overrides: InstanceOverrides::default(),
        spans: InstanceSpans {
            block: node.span.clone(),
            virtual_router_id: None,
            advert_int: None,
            authentication: None,
            nopreempt: None,
            track_scripts: Vec::new(),
            virtual_ipaddress: Vec::new(),
            unicast_peers: None,
        },
    };
    if let Some(children) = v::block(node, diag) {
        apply(
            "vrrp_instance",
            VRRP_INSTANCE,
            VRRP_INSTANCE_IGNORED,
            &mut draft,
            children,
            diag,
        );
    }
    let vrid_written = node
        .children()
        .iter()
        .any(|c| c.keyword == "virtual_router_id");
    if draft.spans.virtual_router_id.is_none() {
        if vrid_written {
            // Its value was wrong and is reported already.
            return;
        }
        diag.error(
            node.span.clone(),
            format!(
                "vrrp_instance '{}' has no virtual_router_id, expected one from 1 to 255",
                draft.inst.name
            ),
        );
        return;
    }
    b.instances.push(draft);
}

pub const VRRP_INSTANCE_IGNORED: &[&str] = &[
    "virtual_rules",
    "track_file",
    "track_process",
    "track_bfd",
    "garp_extra_if",
    "use_vmac_addr",
    "use_ipvlan",
    "native_ipv6",
    "unicast_fault_no_peer",
    "debug",
    "old_unicast_checksum",
    "kernel_rx_buf_size",
    "linkbeat_use_polling",
    "notify_priority_changes",
    "vrf",
    "snmp_name",
];

fn lvs_sync_interface(i: &mut InstanceDraft, n: &Node, d: &mut Diagnostics) {
    if let Some(s) = v::string(n, "an interface name", d) {
        i.inst.lvs_sync_daemon_interface = Some(s)
    }
}

fn version(i: &mut InstanceDraft, n: &Node, d: &mut Diagnostics) {
    i.overrides.version = v::int(n, 2, 3, d).or(i.overrides.version)
}

fn parse_vmac(n: &Node, d: &mut Diagnostics) -> Option<UseVmac> {
    v::no_block(n, d);
    let mut vmac = UseVmac::default();
    for (index, arg) in n.args.iter().enumerate().take(2) {
        if arg.text.contains(':') {
            let octets: Vec<&str> = arg.text.split(':').collect();
            if !(5..=6).contains(&octets.len())
                || !octets.iter().all(|o| {
                    !o.is_empty() && o.len() <= 2 && o.bytes().all(|b| b.is_ascii_hexdigit())
                })
            {
                v::bad(n, index, "a MAC address (5 or 6 octets)", d);
                return None;
            }
            vmac.mac = Some(arg.text.to_lowercase());
        } else if vmac.interface.is_none() && index == 0 {
            vmac.interface = Some(arg.text.to_string());
        } else {
            v::bad(n, index, "an interface name or a MAC address", d);
            return None;
        }
    }
    v::no_more_args(n, 2, d);
    Some(vmac)
}

pub const VRRP_INSTANCE: &[Kw<InstanceDraft>] = &[
    kw!("state", |i, n, d| {
        if let Some(s) = v::choice(
            n,
            &[("MASTER", VrrpState::Master), ("BACKUP", VrrpState::Backup)],
            d,
        ) {
            i.inst.state = s
        }
    }),
    kw!("interface", |i, n, d| {
        if let Some(s) = v::string(n, "an interface name", d) {
            i.inst.interface = Some(s)
        }
    }),
    kw!("virtual_router_id", |i, n, d| {
        if let Some(x) = v::int(n, 1, 255, d) {
            i.inst.virtual_router_id = x;
            i.spans.virtual_router_id = Some(n.arg_span(0))
        }
    }),
    kw!("priority", |i, n, d| {
        if let Some(x) = v::int(n, 1, 255, d) {
            i.inst.priority = x
        }
    }),
    kw!("advert_int", |i, n, d| {
        if let Some(t) = v::timer(n, 255, d) {
            i.inst.advert_int = t;
            i.spans.advert_int = Some(n.arg_span(0))
        }
    }),
    kw!("version", |i, n, d| version(i, n, d)),
    kw!("vrrp_version", |i, n, d| version(i, n, d)),
    kw!("authentication", |i, n, d| {
        v::no_more_args(n, 0, d);
        if let Some(children) = v::block(n, d) {
            let mut auth = VrrpAuthDraft::default();
            apply("authentication", VRRP_AUTH, &[], &mut auth, children, d);
            match (auth.kind, auth.pass) {
                (Some(kind), Some(pass)) => {
                    i.inst.authentication = Some(if kind == "AH" {
                        VrrpAuth::Ah { auth_pass: pass }
                    } else {
                        VrrpAuth::Pass { auth_pass: pass }
                    });
                    i.spans.authentication = Some(n.span.clone());
                }
                (None, _) => d.error(
                    n.span.clone(),
                    "authentication: missing auth_type, expected PASS or AH",
                ),
                (_, None) => d.error(
                    n.span.clone(),
                    "authentication: missing auth_pass, expected a password",
                ),
            }
        }
    }),
    kw_many!("virtual_ipaddress", |i, n, d| {
        if let Some(children) = v::block(n, d) {
            for c in children {
                if let Some((spec, span)) = ip_address_spec(c, d) {
                    i.inst.virtual_ipaddress.push(spec);
                    i.spans.virtual_ipaddress.push(span);
                }
            }
        }
    }),
    kw_many!("virtual_ipaddress_excluded", |i, n, d| {
        if let Some(children) = v::block(n, d) {
            i.inst.virtual_ipaddress_excluded.extend(
                children
                    .iter()
                    .filter_map(|c| ip_address_spec(c, d).map(|(a, _)| a)),
            );
        }
    }),
    kw_many!("virtual_routes", |i, n, d| {
        if let Some(children) = v::block(n, d) {
            i.inst
                .virtual_routes
                .extend(children.iter().filter_map(|c| route_spec(c, d)));
        }
    }),
    kw_many!("track_interface", |i, n, d| i
        .inst
        .track_interface
        .extend(track_interfaces(n, d))),
    kw_many!("track_script", |i, n, d| {
        for (t, span) in track_scripts(n, d) {
            i.inst.track_script.push(t);
            i.spans.track_scripts.push(span);
        }
    }),
    kw!("nopreempt", |i, n, d| {
        v::bare(n, d);
        i.inst.nopreempt = true;
        i.spans.nopreempt = Some(n.span.clone())
    }),
    kw!("preempt", |i, n, d| {
        v::bare(n, d);
        i.inst.nopreempt = false;
        i.spans.nopreempt = None
    }),
    kw!("preempt_delay", |i, n, d| {
        if let Some(t) = v::timer(n, 1000, d) {
            i.inst.preempt_delay = t
        }
    }),
    kw!("garp_master_delay", |i, n, d| i
        .overrides
        .garp_master_delay =
        v::timer(n, 86400, d).or(i.overrides.garp_master_delay)),
    kw!("garp_master_repeat", |i, n, d| i
        .overrides
        .garp_master_repeat =
        v::int(n, 0, 1_000_000, d)
            .or(i.overrides.garp_master_repeat)),
    kw!("garp_master_refresh", |i, n, d| i
        .overrides
        .garp_master_refresh =
        v::timer(n, 86400, d).or(i.overrides.garp_master_refresh)),
    kw!("garp_master_refresh_repeat", |i, n, d| i
        .overrides
        .garp_master_refresh_repeat =
        v::int(n, 0, 1_000_000, d).or(i.overrides.garp_master_refresh_repeat)),
    kw!("garp_lower_prio_delay", |i, n, d| i
        .overrides
        .garp_lower_prio_delay =
        v::timer(n, 86400, d).or(i.overrides.garp_lower_prio_delay)),
    kw!("garp_lower_prio_repeat", |i, n, d| i
        .overrides
        .garp_lower_prio_repeat =
        v::int(n, 0, 1_000_000, d).or(i.overrides.garp_lower_prio_repeat)),
    kw!("mcast_src_ip", |i, n, d| i.inst.mcast_src_ip =
        v::loose_ip(n, d).or(i.inst.mcast_src_ip)),
    kw!("mcast_dst_ip", |i, n, d| {
        v::no_block(n, d);
        match v::ip_at(n, 0, d) {
            Some(ip) if ip.is_multicast() => {
                v::no_more_args(n, 1, d);
                i.inst.mcast_dst_ip = Some(ip)
            }
            Some(_) => v::bad(n, 0, "a multicast address", d),
            None => {}
        }
    }),
    kw!("unicast_src_ip", |i, n, d| i.inst.unicast_src_ip =
        v::loose_ip(n, d).or(i.inst.unicast_src_ip)),
    kw_many!("unicast_peer", |i, n, d| {
        v::no_more_args(n, 0, d);
        if let Some(children) = v::block(n, d) {
            i.spans.unicast_peers.get_or_insert(n.span.clone());
            for c in children {
                v::no_block(c, d);
                let Some(address) = v::loose_ip_text("unicast_peer", &c.keyword, c.span.clone(), d)
                else {
                    d.error(
                        c.span.clone(),
                        format!(
                            "unicast_peer: expected an IP address, found '{}'",
                            c.keyword
                        ),
                    );
                    continue;
                };
                let mut peer = UnicastPeer {
                    address,
                    min_ttl: None,
                    max_ttl: None,
                };
                let mut k = 0;
                while let Some(word) = c.arg(k) {
                    let ttl = v::int_at(c, k + 1, 0, 255, d).map(|x| x as u8);
                    match word {
                        "min_ttl" => peer.min_ttl = ttl,
                        "max_ttl" => peer.max_ttl = ttl,
                        _ => {
                            v::bad(c, k, "min_ttl or max_ttl", d);
                            break;
                        }
                    }
                    k += 2;
                }
                if peer.min_ttl.is_some() || peer.max_ttl.is_some() {
                    // "Specifying min_ttl or max_ttl turns on check_unicast_src."
                    i.overrides.check_unicast_src = Some(true);
                }
                i.inst.unicast_peer.push(peer);
            }
        }
    }),
    kw!("unicast_ttl", |i, n, d| i.inst.unicast_ttl =
        v::int(n, 0, 255, d).or(i.inst.unicast_ttl)),
    kw!("check_unicast_src", |i, n, d| i
        .overrides
        .check_unicast_src =
        v::flag(n, d).or(i.overrides.check_unicast_src)),
    kw!("use_vmac", |i, n, d| i.inst.use_vmac =
        parse_vmac(n, d).or(i.inst.use_vmac.take())),
    kw!("vmac_xmit_base", |i, n, d| {
        v::bare(n, d);
        i.inst.vmac_xmit_base = true
    }),
    kw!("dont_track_primary", |i, n, d| {
        v::bare(n, d);
        i.inst.dont_track_primary = true
    }),
    kw!("track_src_ip", |i, n, d| {
        v::bare(n, d);
        i.inst.track_src_ip = true
    }),
    kw!("skip_check_adv_addr", |i, n, d| i
        .overrides
        .skip_check_adv_addr =
        v::flag(n, d).or(i.overrides.skip_check_adv_addr)),
    kw!("strict_mode", |i, n, d| i.overrides.strict_mode =
        v::flag(n, d).or(i.overrides.strict_mode)),
    kw!("accept", |i, n, d| {
        v::bare(n, d);
        i.overrides.accept = Some(true)
    }),
    kw!("no_accept", |i, n, d| {
        v::bare(n, d);
        i.overrides.accept = Some(false)
    }),
    kw!("promote_secondaries", |i, n, d| {
        v::bare(n, d);
        i.inst.promote_secondaries = true
    }),
    kw!("down_timer_adverts", |i, n, d| i
        .overrides
        .down_timer_adverts =
        v::int(n, 1, 100, d).or(i.overrides.down_timer_adverts)),
    kw!("lower_prio_no_advert", |i, n, d| i
        .overrides
        .lower_prio_no_advert =
        v::flag(n, d).or(i.overrides.lower_prio_no_advert)),
    kw!("higher_prio_send_advert", |i, n, d| i
        .overrides
        .higher_prio_send_advert =
        v::flag(n, d).or(i.overrides.higher_prio_send_advert)),
    kw!("notify_master", |i, n, d| i.inst.notify_master =
        v::script(n, d).or(i.inst.notify_master.take())),
    kw!("notify_backup", |i, n, d| i.inst.notify_backup =
        v::script(n, d).or(i.inst.notify_backup.take())),
    kw!("notify_fault", |i, n, d| i.inst.notify_fault =
        v::script(n, d).or(i.inst.notify_fault.take())),
    kw!("notify_stop", |i, n, d| i.inst.notify_stop =
        v::script(n, d).or(i.inst.notify_stop.take())),
    kw!("notify", |i, n, d| i.inst.notify =
        v::script(n, d).or(i.inst.notify.take())),
    kw!("notify_master_rx_lower_pri", |i, n, d| i
        .inst
        .notify_master_rx_lower_pri =
        v::script(n, d).or(i.inst.notify_master_rx_lower_pri.take())),
    kw!("smtp_alert", |i, n, d| {
        if let Some(f) = v::flag(n, d) {
            i.inst.smtp_alert = f
        }
    }),
    kw!("lvs_sync_daemon_interface", |i, n, d| lvs_sync_interface(
        i, n, d
    )),
    // The historic misspelling, still found in configs written for keepalived 1.x.
    kw!("lvs_sync_daemon_inteface", |i, n, d| lvs_sync_interface(
        i, n, d
    )),
];

#[derive(Default)]
pub struct VrrpAuthDraft {
    kind: Option<&'static str>,
    pass: Option<String>,
}

pub const VRRP_AUTH: &[Kw<VrrpAuthDraft>] = &[
    kw!("auth_type", |a, n, d| a.kind =
        v::choice(n, &[("PASS", "PASS"), ("AH", "AH")], d)
            .or(a.kind)),
    kw!("auth_pass", |a, n, d| {
        if let Some(p) = v::single(n, "a password", d) {
            if p.len() > 8 {
                d.warn(
                    n.arg_span(0),
                    "auth_pass: only the first 8 characters are used (keepalived.conf(5))",
                );
            }
            a.pass = Some(p.chars().take(8).collect())
        }
    }),
];

// ───────────────────────────── virtual_server_group ─────────────────────────────

fn virtual_server_group(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    let Some(name) = block_name(node, diag) else {
        return;
    };
    let mut group = VirtualServerGroup {
        name,
        members: Vec::new(),
    };
    if let Some(children) = v::block(node, diag) {
        for c in children {
            if let Some(m) = group_member(c, diag) {
                group.members.push(m);
            }
        }
    }
    b.config.virtual_server_groups.push(group);
    b.map.virtual_server_groups.push(node.span.clone());
}

/// `<IPADDR>[-<LAST>|/<LEN>] [<PORT>]` or `fwmark <INTEGER> [inet|inet6]`.
fn group_member(n: &Node, d: &mut Diagnostics) -> Option<GroupMember> {
    v::no_block(n, d);
    if n.keyword == "fwmark" {
        let mark = v::int_at(n, 0, 1, u32::MAX as i64, d)? as u32;
        let family = match n.arg(1) {
            Some(_) => Some(v::choice_at(
                n,
                1,
                &[("inet", IpFamily::Inet), ("inet6", IpFamily::Inet6)],
                d,
            )?),
            None => None,
        };
        v::no_more_args(n, 2, d);
        return Some(GroupMember::Fwmark { mark, family });
    }
    let Some((first, last)) = address_range(&n.keyword) else {
        d.error(
            n.span.clone(),
            format!(
                "virtual_server_group: expected an IP address, range (A.B.C.D-E) or prefix, or 'fwmark N', found '{}'",
                n.keyword
            ),
        );
        return None;
    };
    let port = match n.arg(0) {
        Some(_) => v::port_at(n, 0, d)?,
        None => 0,
    };
    v::no_more_args(n, 1, d);
    Some(GroupMember::Range { first, last, port })
}

fn address_range(text: &str) -> Option<(IpAddr, IpAddr)> {
    if text.contains('/') {
        let net: IpNetwork = text.parse().ok()?;
        let last = match net {
            IpNetwork::V4(n) => IpAddr::V4(n.broadcast()),
            IpNetwork::V6(n) => {
                let host_bits = 128 - n.prefix() as u32;
                let mask = if host_bits == 128 {
                    u128::MAX
                } else {
                    (1u128 << host_bits) - 1
                };
                IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) | mask))
            }
        };
        return Some((net.network(), last));
    }
    let Some((first, tail)) = text.split_once('-') else {
        let ip: IpAddr = text.parse().ok()?;
        return Some((ip, ip));
    };
    let first: IpAddr = first.parse().ok()?;
    let last: IpAddr = match tail.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => match first {
            IpAddr::V4(f) => {
                let octet: u8 = tail.parse().ok()?;
                let o = f.octets();
                IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], octet))
            }
            IpAddr::V6(f) => {
                let group = u16::from_str_radix(tail, 16).ok()?;
                let mut s = f.segments();
                s[7] = group;
                IpAddr::V6(Ipv6Addr::from(s))
            }
        },
    };
    if first.is_ipv4() != last.is_ipv4() || last < first {
        return None;
    }
    Some((first, last))
}

// ───────────────────────────── virtual_server / real_server / checkers ─────────────────────────────

/// Options a virtual server passes to its real servers and they to their checkers.
#[derive(Default, Clone)]
pub struct Inherited {
    connect_timeout: Option<Duration>,
    retry: Option<u32>,
    delay_before_retry: Option<Duration>,
    warmup: Option<Duration>,
    delay_loop: Option<Duration>,
    alpha: Option<bool>,
    inhibit_on_failure: Option<bool>,
    virtualhost: Option<String>,
    smtp_alert: Option<bool>,
    method: Option<ForwardingMethod>,
}

impl Inherited {
    fn or(&self, parent: &Inherited) -> Inherited {
        Inherited {
            connect_timeout: self.connect_timeout.or(parent.connect_timeout),
            retry: self.retry.or(parent.retry),
            delay_before_retry: self.delay_before_retry.or(parent.delay_before_retry),
            warmup: self.warmup.or(parent.warmup),
            delay_loop: self.delay_loop.or(parent.delay_loop),
            alpha: self.alpha.or(parent.alpha),
            inhibit_on_failure: self.inhibit_on_failure.or(parent.inhibit_on_failure),
            virtualhost: self
                .virtualhost
                .clone()
                .or_else(|| parent.virtualhost.clone()),
            smtp_alert: self.smtp_alert.or(parent.smtp_alert),
            method: self.method.or(parent.method),
        }
    }
}

/// Something that carries [`Inherited`] options.
pub trait HasInherited {
    fn inherited(&mut self) -> &mut Inherited;
    /// keepalived's virtual_server handlers of `alpha` and `inhibit_on_failure` set the
    /// flag whatever follows it (`alpha 1`, even `alpha off`); real_server and checker
    /// handlers read a `<BOOL>`.
    const FLAG_IGNORES_ARGUMENT: bool = false;
}

/// An inherited on/off option, read as keepalived reads it at this level.
fn inherited_flag<T: HasInherited>(n: &Node, d: &mut Diagnostics) -> Option<bool> {
    if T::FLAG_IGNORES_ARGUMENT {
        v::no_block(n, d);
        if let Some(arg) = n.arg(0) {
            d.warn(
                n.arg_span(0),
                format!(
                    "{}: argument '{arg}' ignored, as keepalived ignores it in a virtual_server: the option is on",
                    n.keyword
                ),
            );
        }
        Some(true)
    } else {
        v::flag(n, d)
    }
}

fn inherit_timer(
    t: &mut impl HasInherited,
    n: &Node,
    d: &mut Diagnostics,
    field: fn(&mut Inherited) -> &mut Option<Duration>,
) {
    if let Some(x) = v::timer(n, 86400, d) {
        *field(t.inherited()) = Some(x);
    }
}

fn inherit_retry<T: HasInherited>(t: &mut T, n: &Node, d: &mut Diagnostics) {
    if let Some(x) = v::int(n, 0, 1_000_000, d) {
        t.inherited().retry = Some(x);
    }
}

/// `nb_get_retry` (keepalived 1.x's `retry`) outside HTTP_GET/SSL_GET: keepalived 2
/// installs it only there (check_http.c) and calls it an unknown keyword anywhere else,
/// so the retry count stays the inherited or default one. director does the same, so a
/// file behaves as it did under keepalived, and says so.
fn nb_get_retry_ignored(n: &Node, d: &mut Diagnostics) {
    d.warn(
        n.span.clone(),
        "nb_get_retry is ignored here as keepalived ignores it (it knows it only in HTTP_GET and SSL_GET): the retry count stays the inherited or default one, expected 'retry N' to set it",
    );
}

/// `NAT|DR|TUN [type {ipip|gue port NUM|gre} [nocsum|csum|remcsum]]`.
fn forwarding_method(n: &Node, d: &mut Diagnostics) -> Option<ForwardingMethod> {
    v::no_block(n, d);
    let method = v::choice_at(n, 0, &[("NAT", 0), ("DR", 1), ("TUN", 2)], d)?;
    if let Some(given) = n.arg(0).filter(|m| !matches!(*m, "NAT" | "DR" | "TUN")) {
        // keepalived compares with strcmp: `dr` is unknown to it, reported, and the
        // server runs with the default, NAT.
        d.warn(
            n.arg_span(0),
            format!(
                "{}: '{given}' read as {}; keepalived only knows upper case and would run this server with NAT",
                n.keyword,
                given.to_ascii_uppercase()
            ),
        );
    }
    match method {
        0 => {
            v::no_more_args(n, 1, d);
            Some(ForwardingMethod::Nat)
        }
        1 => {
            v::no_more_args(n, 1, d);
            Some(ForwardingMethod::Dr)
        }
        _ => {
            let mut tunnel_type = TunnelType::Ipip;
            let mut port = None;
            let mut checksum = TunnelChecksum::Nocsum;
            let mut i = 1;
            while let Some(word) = n.arg(i) {
                match word {
                    "type" => {
                        tunnel_type = v::choice_at(
                            n,
                            i + 1,
                            &[
                                ("ipip", TunnelType::Ipip),
                                ("gue", TunnelType::Gue),
                                ("gre", TunnelType::Gre),
                            ],
                            d,
                        )?;
                        i += 2;
                    }
                    "port" => {
                        port = Some(v::port_at(n, i + 1, d)?);
                        i += 2;
                    }
                    _ => {
                        checksum = v::choice_at(
                            n,
                            i,
                            &[
                                ("nocsum", TunnelChecksum::Nocsum),
                                ("csum", TunnelChecksum::Csum),
                                ("remcsum", TunnelChecksum::Remcsum),
                            ],
                            d,
                        )?;
                        i += 1;
                    }
                }
            }
            if tunnel_type == TunnelType::Gue && port.is_none() {
                d.error(
                    n.span.clone(),
                    format!("{}: a GUE tunnel needs 'port NUM'", n.keyword),
                );
                return None;
            }
            Some(ForwardingMethod::Tun {
                tunnel_type,
                port,
                checksum,
            })
        }
    }
}

/// What the `virtual_server` line names, before `protocol` is known.
enum Target {
    Addr { ip: IpAddr, port: Option<u16> },
    Fwmark(u32),
    Group(String),
}

pub struct VsDraft {
    target: Target,
    vs: VirtualServer,
    opts: Inherited,
    persistence_timeout: Option<Duration>,
    persistence_granularity: Option<(String, Span)>,
    persistence_engine: Option<String>,
    sorry_server: Option<(IpAddr, Option<u16>)>,
    sorry_server_inhibit: bool,
    sorry_server_method: Option<ForwardingMethod>,
    real_servers: Vec<RsDraft>,
    spans: VirtualServerSpans,
    log_all_failures: bool,
    /// Whether `protocol` was given: keepalived defaults to UDP (check_data.c).
    protocol_set: bool,
}

impl HasInherited for VsDraft {
    fn inherited(&mut self) -> &mut Inherited {
        &mut self.opts
    }
    const FLAG_IGNORES_ARGUMENT: bool = true;
}

fn virtual_server_target(n: &Node, d: &mut Diagnostics) -> Option<Target> {
    match n.arg(0) {
        Some("fwmark") => {
            let mark = v::int_at(n, 1, 1, u32::MAX as i64, d)? as u32;
            v::no_more_args(n, 2, d);
            Some(Target::Fwmark(mark))
        }
        Some("group") => match n.arg(1) {
            Some(name) => {
                v::no_more_args(n, 2, d);
                Some(Target::Group(name.to_string()))
            }
            None => {
                v::bad(n, 1, "a virtual_server_group name", d);
                None
            }
        },
        _ => {
            let ip = v::loose_ip_at(n, 0, d)?;
            let port = match n.arg(1) {
                Some(_) => Some(v::port_at(n, 1, d)?),
                None => None,
            };
            v::no_more_args(n, 2, d);
            Some(Target::Addr { ip, port })
        }
    }
}

fn virtual_server(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    let target = virtual_server_target(node, diag);
    let children = v::block(node, diag);
    let Some(target) = target else { return };
    let mut draft = VsDraft {
        target,
        vs: VirtualServer {
            key: ServiceKey::Fwmark {
                mark: 0,
                family: IpFamily::Inet,
            },
            scheduler: Scheduler::default(),
            scheduler_flags: SchedulerFlags::default(),
            method: ForwardingMethod::Nat,
            persistence: None,
            protocol: Protocol::Tcp,
            ip_family: None,
            delay_loop: def::DELAY_LOOP,
            quorum: def::QUORUM,
            hysteresis: def::HYSTERESIS,
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
            real_servers: Vec::new(),
        },
        opts: Inherited::default(),
        persistence_timeout: None,
        persistence_granularity: None,
        persistence_engine: None,
        sorry_server: None,
        sorry_server_inhibit: false,
        sorry_server_method: None,
        real_servers: Vec::new(),
        spans: VirtualServerSpans {
            block: node.span.clone(),
            scheduler: None,
            persistence: None,
            quorum: None,
            real_servers: Vec::new(),
        },
        log_all_failures: b.globals.defs.checker_log_all_failures,
        protocol_set: false,
    };
    if let Some(children) = children {
        apply(
            "virtual_server",
            &VIRTUAL_SERVER,
            VIRTUAL_SERVER_IGNORED,
            &mut draft,
            children,
            diag,
        );
    }
    default_protocol(&mut draft, &b.config.virtual_server_groups, diag);
    if let Some(vs) = resolve_virtual_server(draft, &b.track_files, &mut b.map, diag) {
        b.config.virtual_servers.push(vs);
    }
}

/// keepalived's default protocol for a service named by address (or by a group with
/// addresses) is UDP, "the kernel defaults to UDP" (check_data.c
/// `validate_check_config`); a fwmark ignores it. director runs what keepalived runs,
/// and says so, since a TCP service was almost always meant.
fn default_protocol(draft: &mut VsDraft, groups: &[VirtualServerGroup], d: &mut Diagnostics) {
    if draft.protocol_set {
        return;
    }
    let addresses = match &draft.target {
        Target::Addr { .. } => true,
        Target::Fwmark(_) => false,
        // A group defined later, or one with addresses: the protocol applies.
        Target::Group(name) => groups.iter().find(|g| g.name == *name).is_none_or(|g| {
            g.members
                .iter()
                .any(|m| matches!(m, GroupMember::Range { .. }))
        }),
    };
    if addresses {
        draft.vs.protocol = Protocol::Udp;
        d.warn(
            draft.spans.block.clone(),
            "virtual_server without 'protocol' is UDP, as in keepalived (and the kernel), expected 'protocol TCP' for a TCP service",
        );
    }
}

fn resolve_virtual_server(
    mut draft: VsDraft,
    track_files: &[TrackFile],
    map: &mut SourceMap,
    d: &mut Diagnostics,
) -> Option<VirtualServer> {
    let protocol = draft.vs.protocol;
    let (key, vs_port) = match &draft.target {
        Target::Addr { ip, port } => {
            if port.is_none() && draft.persistence_timeout.is_none() {
                // keepalived.conf(5): "The port for the virtual server can only be
                // omitted if the virtual service is persistent."
                d.error(
                    draft.spans.block.clone(),
                    "virtual_server without a port must be persistent, expected a port or persistence_timeout",
                );
            }
            let port = port.unwrap_or(0);
            (
                ServiceKey::Addr {
                    ip: *ip,
                    port,
                    protocol,
                },
                port,
            )
        }
        Target::Fwmark(mark) => (
            ServiceKey::Fwmark {
                mark: *mark,
                family: draft.vs.ip_family.unwrap_or_default(),
            },
            0,
        ),
        Target::Group(name) => (
            ServiceKey::Group {
                name: name.clone(),
                protocol,
            },
            0,
        ),
    };
    let ipv6 = match &draft.target {
        Target::Addr { ip, .. } => ip.is_ipv6(),
        _ => draft.vs.ip_family == Some(IpFamily::Inet6),
    };
    draft.vs.key = key;
    let vs_opts = draft.opts.clone();
    draft.vs.method = vs_opts.method.unwrap_or_default();
    draft.vs.delay_loop = vs_opts.delay_loop.unwrap_or(def::DELAY_LOOP);
    draft.vs.alpha = vs_opts.alpha.unwrap_or(false);
    draft.vs.inhibit_on_failure = vs_opts.inhibit_on_failure.unwrap_or(false);
    draft.vs.virtualhost = vs_opts.virtualhost.clone();
    draft.vs.smtp_alert = vs_opts.smtp_alert;
    if let Some(timeout) = draft.persistence_timeout {
        let granularity = match &draft.persistence_granularity {
            None => None,
            Some((text, span)) => match granularity(text, ipv6) {
                Some(g) => Some(g),
                None => {
                    d.error(
                        span.clone(),
                        format!(
                            "persistence_granularity: expected a netmask or prefix length, found '{text}'"
                        ),
                    );
                    None
                }
            },
        };
        if !timeout.is_zero() {
            draft.vs.persistence = Some(Persistence {
                timeout,
                granularity,
                engine: draft.persistence_engine.clone(),
            });
        }
    }
    if let Some((ip, port)) = draft.sorry_server {
        draft.vs.sorry_server = Some(SorryServer {
            ip,
            port: port.unwrap_or(vs_port),
            method: draft.sorry_server_method.unwrap_or(draft.vs.method),
            inhibit: draft.sorry_server_inhibit,
        });
    }
    draft
        .vs
        .real_servers
        .reserve_exact(draft.real_servers.len());
    for rs in draft.real_servers {
        draft.spans.real_servers.push(rs.span.clone());
        let opts = rs.opts.or(&vs_opts);
        let port = rs.port.unwrap_or(vs_port);
        let mut checkers: Vec<Checker> = rs
            .checkers
            .into_iter()
            .filter_map(|c| {
                let rs = RsContext {
                    opts: &opts,
                    ip: rs.ip,
                    port,
                    log_all_failures: draft.log_all_failures,
                    track_files,
                };
                resolve_checker(c, &rs, d)
            })
            .collect();
        // Exact sizes: with 100,000 real servers, growth slack is most of the memory.
        checkers.shrink_to_fit();
        draft.vs.real_servers.push(RealServer {
            ip: rs.ip,
            port,
            weight: rs.weight,
            method: opts.method.unwrap_or_default(),
            inhibit_on_failure: opts.inhibit_on_failure.unwrap_or(false),
            notify_up: rs.notify_up,
            notify_down: rs.notify_down,
            upper_threshold: rs.upper_threshold,
            lower_threshold: rs.lower_threshold,
            virtualhost: opts.virtualhost.clone(),
            smtp_alert: opts.smtp_alert,
            alpha: opts.alpha.unwrap_or(false),
            checkers,
        });
    }
    map.virtual_servers.push(draft.spans);
    Some(draft.vs)
}

/// A netmask (`255.255.255.0`) or a prefix length (`24`, `/64`).
fn granularity(text: &str, ipv6: bool) -> Option<IpAddr> {
    if let Ok(mask) = text.parse::<IpAddr>() {
        return Some(mask);
    }
    let len: u8 = text.trim_start_matches('/').parse().ok()?;
    if ipv6 {
        IpNetwork::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), len)
            .ok()
            .map(|n| n.mask())
    } else {
        IpNetwork::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), len)
            .ok()
            .map(|n| n.mask())
    }
}

/// What a checker takes from its real server when it is resolved.
struct RsContext<'a> {
    /// The real server's options, already merged with the virtual server's.
    opts: &'a Inherited,
    ip: IpAddr,
    port: u16,
    /// global_defs `checker_log_all_failures`.
    log_all_failures: bool,
    track_files: &'a [TrackFile],
}

fn resolve_checker(c: CheckerDraft, rs: &RsContext, d: &mut Diagnostics) -> Option<Checker> {
    let opts = c.opts.or(rs.opts);
    let delay_loop = opts.delay_loop.unwrap_or(def::DELAY_LOOP);
    let retry = match c.kind {
        CheckerKind::Misc => def::MISC_RETRY,
        CheckerKind::Dns => def::DNS_RETRY,
        _ => def::RETRY,
    };
    let delay_before_retry = match c.kind {
        CheckerKind::Http | CheckerKind::Ssl => def::HTTP_DELAY_BEFORE_RETRY,
        // "Defaults to delay_loop for DNS_CHECK" (see def::DNS_RETRY).
        CheckerKind::Dns => delay_loop,
        _ => def::DELAY_BEFORE_RETRY,
    };
    let common = CheckerCommon {
        connect_ip: c.connect_ip.unwrap_or(rs.ip),
        connect_port: c.connect_port.unwrap_or(rs.port),
        bindto: c.bindto,
        bind_if: c.bind_if,
        bind_port: c.bind_port,
        fwmark: c.fwmark,
        connect_timeout: opts.connect_timeout.unwrap_or(def::CONNECT_TIMEOUT),
        retry: opts.retry.unwrap_or(retry),
        delay_before_retry: opts.delay_before_retry.unwrap_or(delay_before_retry),
        // "Enabled by default, with the maximum at delay_loop."
        warmup: opts.warmup.unwrap_or(delay_loop),
        delay_loop,
        alpha: opts.alpha.unwrap_or(false),
        log_all_failures: c.log_all_failures.unwrap_or(rs.log_all_failures),
    };
    match c.kind {
        CheckerKind::Tcp => Some(Checker::Tcp { common }),
        CheckerKind::Http | CheckerKind::Ssl => {
            if c.http.urls.is_empty() {
                d.warn(
                    c.span,
                    format!(
                        "{} has no url block; keepalived drops such a checker, so does director",
                        if c.kind == CheckerKind::Ssl {
                            "SSL_GET"
                        } else {
                            "HTTP_GET"
                        }
                    ),
                );
                return None;
            }
            let mut http = c.http;
            http.urls.shrink_to_fit();
            http.virtualhost = http.virtualhost.or(opts.virtualhost);
            Some(if c.kind == CheckerKind::Ssl {
                Checker::Ssl {
                    common,
                    http,
                    tls: c.tls,
                }
            } else {
                Checker::Http { common, http }
            })
        }
        CheckerKind::Misc => {
            let Some(mut misc_path) = c.misc_path else {
                d.error(
                    c.span,
                    "MISC_CHECK has no misc_path, expected the script to run",
                );
                return None;
            };
            if misc_path.user.is_none() {
                misc_path.user = c.misc_user;
            }
            Some(Checker::Misc {
                misc: MiscCheck {
                    misc_path,
                    // Silent in keepalived.conf(5); keepalived 2.2 uses delay_loop when
                    // misc_timeout is not set.
                    misc_timeout: c.misc_timeout.unwrap_or(common.delay_loop),
                    misc_dynamic: c.misc_dynamic,
                },
                common,
            })
        }
        CheckerKind::Smtp => Some(Checker::Smtp {
            common,
            smtp: SmtpCheck {
                helo_name: c
                    .smtp
                    .helo_name
                    .or_else(|| Some(def::SMTP_CHECK_HELO.to_string())),
            },
        }),
        CheckerKind::Dns => Some(Checker::Dns {
            common,
            dns: DnsCheck {
                query_type: c.dns_type,
                name: c.dns_name.unwrap_or_else(|| def::DNS_NAME.to_string()),
            },
        }),
        CheckerKind::Udp => {
            let udp = c.udp;
            // check_udp.c says the same ("will always fail") and loads.
            if udp.require_reply && udp.min_reply_length > udp.max_reply_length {
                d.warn(
                    c.span,
                    format!(
                        "UDP_CHECK: min_reply_length {} is above max_reply_length {}, so no reply can pass",
                        udp.min_reply_length, udp.max_reply_length
                    ),
                );
            }
            Some(Checker::Udp { common, udp })
        }
        CheckerKind::Ping => Some(Checker::Ping { common }),
        CheckerKind::File => resolve_file_check(c.file, c.span, rs.track_files, d)
            .map(|file| Checker::File { common, file }),
    }
}

/// FILE_CHECK's `track_file`, looked up among the track_file blocks read so far: as in
/// keepalived (check_file.c `track_file_handler`), the block must come first.
fn resolve_file_check(
    f: FileDraft,
    span: Span,
    track_files: &[TrackFile],
    d: &mut Diagnostics,
) -> Option<FileCheck> {
    let Some((name, name_span)) = f.track_file else {
        d.error(
            span,
            "FILE_CHECK has no track_file, expected 'track_file NAME' naming a track_file block",
        );
        return None;
    };
    let Some(tf) = track_files.iter().find(|t| t.name == name) else {
        d.error(
            name_span,
            format!(
                "track_file: no track_file block '{name}' before this line, expected the name of a top-level track_file defined above"
            ),
        );
        return None;
    };
    // A track_file without `file` is already an error where it is defined.
    let path = tf.path.clone()?;
    let (weight, reverse) = match f.weight {
        // keepalived reads a FILE_CHECK weight of 0 as "not set" and takes the
        // track_file's (check_file.c `file_end_handler`); so does director, loudly.
        Some((0, _, weight_span)) if tf.weight != 0 => {
            d.warn(
                weight_span,
                format!(
                    "weight 0 in FILE_CHECK means the track_file's weight ({}) as in keepalived, expected 'weight 0' on track_file '{name}' for a pass/fail check",
                    tf.weight
                ),
            );
            (tf.weight, tf.reverse)
        }
        Some((weight, reverse, _)) => (weight, reverse),
        None => (tf.weight, tf.reverse),
    };
    Some(FileCheck {
        track_file: name,
        path,
        weight,
        reverse,
        dynamic: f.dynamic,
        init: tf.init,
    })
}

pub const VIRTUAL_SERVER_IGNORED: &[&str] = &["hashed", "snmp_name"];

const SCHEDULERS: &[(&str, Scheduler)] = &[
    ("rr", Scheduler::Rr),
    ("wrr", Scheduler::Wrr),
    ("lc", Scheduler::Lc),
    ("wlc", Scheduler::Wlc),
    ("lblc", Scheduler::Lblc),
    ("lblcr", Scheduler::Lblcr),
    ("dh", Scheduler::Dh),
    ("sh", Scheduler::Sh),
    ("mh", Scheduler::Mh),
    ("sed", Scheduler::Sed),
    ("nq", Scheduler::Nq),
    ("fo", Scheduler::Fo),
    ("ovf", Scheduler::Ovf),
    ("twos", Scheduler::Twos),
];

fn scheduler(s: &mut VsDraft, n: &Node, d: &mut Diagnostics) {
    if let Some(x) = v::choice(n, SCHEDULERS, d) {
        s.vs.scheduler = x;
        s.spans.scheduler = Some(n.arg_span(0));
    }
}

fn vs_method(s: &mut VsDraft, n: &Node, d: &mut Diagnostics) {
    s.opts.method = forwarding_method(n, d).or(s.opts.method);
}

macro_rules! sched_flag {
    ($name:literal, $field:ident) => {
        kw!($name, |s, n, d| {
            v::bare(n, d);
            s.vs.scheduler_flags.$field = true
        })
    };
}

macro_rules! inherited_keywords {
    ($t:ty) => {
        [
            kw!("connect_timeout", |s, n, d| inherit_timer(s, n, d, |o| {
                &mut o.connect_timeout
            })),
            kw!("retry", |s, n, d| inherit_retry(s, n, d)),
            kw!("nb_get_retry", |_s, n, d| nb_get_retry_ignored(n, d)),
            kw!("delay_before_retry", |s, n, d| inherit_timer(
                s,
                n,
                d,
                |o| &mut o.delay_before_retry
            )),
            kw!("warmup", |s, n, d| inherit_timer(s, n, d, |o| &mut o
                .warmup)),
            kw!("delay_loop", |s, n, d| inherit_timer(s, n, d, |o| &mut o
                .delay_loop)),
            kw!("inhibit_on_failure", |s, n, d| {
                if let Some(f) = inherited_flag::<$t>(n, d) {
                    <$t as HasInherited>::inherited(s).inhibit_on_failure = Some(f)
                }
            }),
            kw!("alpha", |s, n, d| {
                if let Some(f) = inherited_flag::<$t>(n, d) {
                    <$t as HasInherited>::inherited(s).alpha = Some(f)
                }
            }),
            kw!("virtualhost", |s, n, d| {
                if let Some(h) = v::string(n, "a host name", d) {
                    <$t as HasInherited>::inherited(s).virtualhost = Some(h)
                }
            }),
            kw!("smtp_alert", |s, n, d| {
                if let Some(f) = v::flag(n, d) {
                    <$t as HasInherited>::inherited(s).smtp_alert = Some(f)
                }
            }),
        ]
    };
}

const VS_INHERITED: [Kw<VsDraft>; 10] = inherited_keywords!(VsDraft);
const RS_INHERITED: [Kw<RsDraft>; 10] = inherited_keywords!(RsDraft);

const VS_OWN: &[Kw<VsDraft>] = &[
    kw!("lvs_sched", |s, n, d| scheduler(s, n, d)),
    kw!("lb_algo", |s, n, d| scheduler(s, n, d)),
    kw!("lvs_method", |s, n, d| vs_method(s, n, d)),
    kw!("lb_kind", |s, n, d| vs_method(s, n, d)),
    sched_flag!("flag-1", flag_1),
    sched_flag!("flag-2", flag_2),
    sched_flag!("flag-3", flag_3),
    sched_flag!("sh-port", sh_port),
    sched_flag!("sh-fallback", sh_fallback),
    sched_flag!("mh-port", mh_port),
    sched_flag!("mh-fallback", mh_fallback),
    kw!("ops", |s, n, d| {
        v::bare(n, d);
        s.vs.one_packet_scheduling = true
    }),
    kw!("persistence_timeout", |s, n, d| {
        v::no_block(n, d);
        s.spans.persistence = Some(n.span.clone());
        // A bare `persistence_timeout` means keepalived's default of 6 minutes.
        match n.arg(0) {
            None => s.persistence_timeout = Some(def::PERSISTENCE_TIMEOUT),
            Some(_) => {
                if let Some(t) = v::int_at(n, 0, 0, 2_678_400, d) {
                    s.persistence_timeout = Some(Duration::from_secs(t as u64));
                }
                v::no_more_args(n, 1, d);
            }
        }
    }),
    kw!("persistence_granularity", |s, n, d| {
        if let Some(g) = v::single(n, "a netmask", d) {
            s.persistence_granularity = Some((g.to_string(), n.arg_span(0)))
        }
    }),
    kw!("persistence_engine", |s, n, d| s.persistence_engine =
        v::string(n, "an engine name (sip)", d)
            .or(s.persistence_engine.take())),
    kw!("protocol", |s, n, d| {
        if let Some(p) = v::choice(
            n,
            &[
                ("TCP", Protocol::Tcp),
                ("UDP", Protocol::Udp),
                ("SCTP", Protocol::Sctp),
            ],
            d,
        ) {
            s.vs.protocol = p;
            s.protocol_set = true
        }
    }),
    kw!("ip_family", |s, n, d| s.vs.ip_family = v::choice(
        n,
        &[("inet", IpFamily::Inet), ("inet6", IpFamily::Inet6)],
        d
    )
    .or(s.vs.ip_family)),
    kw!("ha_suspend", |s, n, d| {
        v::bare(n, d);
        s.vs.ha_suspend = true
    }),
    kw!("omega", |s, n, d| {
        v::bare(n, d);
        s.vs.omega = true
    }),
    kw!("quorum", |s, n, d| {
        if let Some(q) = v::int(n, 0, u32::MAX as i64, d) {
            s.vs.quorum = q;
            s.spans.quorum = Some(n.arg_span(0))
        }
    }),
    kw!("hysteresis", |s, n, d| {
        if let Some(h) = v::int(n, 0, u32::MAX as i64, d) {
            s.vs.hysteresis = h
        }
    }),
    kw!("quorum_up", |s, n, d| s.vs.quorum_up =
        v::script(n, d).or(s.vs.quorum_up.take())),
    kw!("quorum_down", |s, n, d| s.vs.quorum_down =
        v::script(n, d).or(s.vs.quorum_down.take())),
    kw!("sorry_server", |s, n, d| {
        v::no_block(n, d);
        if let Some(ip) = v::loose_ip_at(n, 0, d) {
            let port = match n.arg(1) {
                Some(_) => v::port_at(n, 1, d),
                None => None,
            };
            v::no_more_args(n, 2, d);
            s.sorry_server = Some((ip, port))
        }
    }),
    kw!("sorry_server_inhibit", |s, n, d| {
        if let Some(f) = v::flag(n, d) {
            s.sorry_server_inhibit = f
        }
    }),
    kw!("sorry_server_lvs_method", |s, n, d| s.sorry_server_method =
        forwarding_method(n, d).or(s.sorry_server_method)),
    kw!("nat_mask", |s, n, d| s.vs.nat_mask =
        v::ip(n, d).or(s.vs.nat_mask)),
    kw_many!("real_server", |s, n, d| {
        if let Some(rs) = real_server(n, d) {
            s.real_servers.push(rs)
        }
    }),
];

/// All keywords of `virtual_server`: its own plus those it passes down.
pub static VIRTUAL_SERVER: std::sync::LazyLock<Vec<Kw<VsDraft>>> = std::sync::LazyLock::new(|| {
    VS_OWN
        .iter()
        .map(copy_kw)
        .chain(VS_INHERITED.iter().map(copy_kw))
        .collect()
});

fn copy_kw<T>(k: &Kw<T>) -> Kw<T> {
    Kw {
        name: k.name,
        repeat: k.repeat,
        set: k.set,
    }
}

pub struct RsDraft {
    span: Span,
    ip: IpAddr,
    port: Option<u16>,
    weight: u32,
    opts: Inherited,
    notify_up: Option<Script>,
    notify_down: Option<Script>,
    upper_threshold: Option<u32>,
    lower_threshold: Option<u32>,
    checkers: Vec<CheckerDraft>,
}

impl HasInherited for RsDraft {
    fn inherited(&mut self) -> &mut Inherited {
        &mut self.opts
    }
}

fn real_server(n: &Node, d: &mut Diagnostics) -> Option<RsDraft> {
    let ip = v::loose_ip_at(n, 0, d);
    let port = n.arg(1).map(|_| v::port_at(n, 1, d));
    v::no_more_args(n, 2, d);
    let ip = ip?;
    let port = match port {
        Some(p) => Some(p?),
        None => None,
    };
    let mut rs = RsDraft {
        span: n.span.clone(),
        ip,
        port,
        weight: def::WEIGHT,
        opts: Inherited::default(),
        notify_up: None,
        notify_down: None,
        upper_threshold: None,
        lower_threshold: None,
        checkers: Vec::new(),
    };
    // A real_server with no block is legal (no checker: always up).
    if let Some(children) = n.children.as_deref() {
        apply(
            "real_server",
            &REAL_SERVER,
            REAL_SERVER_IGNORED,
            &mut rs,
            children,
            d,
        );
    }
    Some(rs)
}

pub const REAL_SERVER_IGNORED: &[&str] = &["snmp_name", "track_file"];

fn unsupported_checker(n: &Node, d: &mut Diagnostics) {
    d.warn(
        n.span.clone(),
        format!(
            "{} is not supported by director and is ignored; without another checker this real server is always up",
            n.keyword
        ),
    );
}

macro_rules! unsupported {
    ($name:literal) => {
        kw_many!($name, |_r, n, d| unsupported_checker(n, d))
    };
}

const RS_OWN: &[Kw<RsDraft>] = &[
    kw!("weight", |r, n, d| {
        if let Some(w) = v::int(n, 0, i32::MAX as i64, d) {
            r.weight = w
        }
    }),
    kw!("lvs_method", |r, n, d| r.opts.method =
        forwarding_method(n, d).or(r.opts.method)),
    kw!("lb_kind", |r, n, d| r.opts.method =
        forwarding_method(n, d).or(r.opts.method)),
    kw!("notify_up", |r, n, d| r.notify_up =
        v::script(n, d).or(r.notify_up.take())),
    kw!("notify_down", |r, n, d| r.notify_down =
        v::script(n, d).or(r.notify_down.take())),
    kw!("uthreshold", |r, n, d| r.upper_threshold =
        v::int(n, 0, u32::MAX as i64, d).or(r.upper_threshold)),
    kw!("lthreshold", |r, n, d| r.lower_threshold =
        v::int(n, 0, u32::MAX as i64, d).or(r.lower_threshold)),
    kw_many!("TCP_CHECK", |r, n, d| checker(r, n, CheckerKind::Tcp, d)),
    kw_many!("HTTP_GET", |r, n, d| checker(r, n, CheckerKind::Http, d)),
    kw_many!("SSL_GET", |r, n, d| checker(r, n, CheckerKind::Ssl, d)),
    kw_many!("MISC_CHECK", |r, n, d| checker(r, n, CheckerKind::Misc, d)),
    kw_many!("SMTP_CHECK", |r, n, d| checker(r, n, CheckerKind::Smtp, d)),
    kw_many!("DNS_CHECK", |r, n, d| checker(r, n, CheckerKind::Dns, d)),
    kw_many!("UDP_CHECK", |r, n, d| checker(r, n, CheckerKind::Udp, d)),
    kw_many!("PING_CHECK", |r, n, d| checker(r, n, CheckerKind::Ping, d)),
    kw_many!("FILE_CHECK", |r, n, d| checker(r, n, CheckerKind::File, d)),
    // Waits for director's BFD.
    unsupported!("BFD_CHECK"),
];

pub static REAL_SERVER: std::sync::LazyLock<Vec<Kw<RsDraft>>> = std::sync::LazyLock::new(|| {
    RS_OWN
        .iter()
        .map(copy_kw)
        .chain(RS_INHERITED.iter().map(copy_kw))
        .collect()
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckerKind {
    Tcp,
    Http,
    Ssl,
    Misc,
    Smtp,
    Dns,
    Udp,
    Ping,
    File,
}

pub struct CheckerDraft {
    span: Span,
    kind: CheckerKind,
    opts: Inherited,
    connect_ip: Option<IpAddr>,
    connect_port: Option<u16>,
    bindto: Option<IpAddr>,
    bind_if: Option<String>,
    bind_port: Option<u16>,
    fwmark: Option<u32>,
    log_all_failures: Option<bool>,
    http: HttpCheck,
    tls: TlsCheck,
    misc_path: Option<Script>,
    misc_user: Option<ScriptUser>,
    misc_timeout: Option<Duration>,
    misc_dynamic: bool,
    smtp: SmtpCheck,
    dns_type: DnsQueryType,
    /// `None`: the default "."; a `String` per checker only when one is written.
    dns_name: Option<String>,
    udp: UdpCheck,
    file: FileDraft,
}

/// FILE_CHECK's own keywords, resolved against the track_file blocks.
#[derive(Default)]
pub struct FileDraft {
    /// The name and where it is written.
    track_file: Option<(String, Span)>,
    /// `weight N [reverse]` and where N is written.
    weight: Option<(i64, bool, Span)>,
    dynamic: bool,
}

impl HasInherited for CheckerDraft {
    fn inherited(&mut self) -> &mut Inherited {
        &mut self.opts
    }
}

fn checker(r: &mut RsDraft, n: &Node, kind: CheckerKind, d: &mut Diagnostics) {
    v::no_more_args(n, 0, d);
    let mut c = CheckerDraft {
        span: n.span.clone(),
        kind,
        opts: Inherited::default(),
        connect_ip: None,
        connect_port: None,
        bindto: None,
        bind_if: None,
        bind_port: None,
        fwmark: None,
        log_all_failures: None,
        http: HttpCheck {
            urls: Vec::new(),
            http_protocol: HttpProtocol::default(),
            virtualhost: None,
            fast_recovery: false,
        },
        tls: TlsCheck::default(),
        misc_path: None,
        misc_user: None,
        misc_timeout: None,
        misc_dynamic: false,
        smtp: SmtpCheck::default(),
        dns_type: DnsQueryType::default(),
        dns_name: None,
        udp: UdpCheck {
            payload: None,
            require_reply: false,
            reply_pattern: Vec::new(),
            min_reply_length: def::UDP_MIN_REPLY_LENGTH,
            max_reply_length: def::UDP_MAX_REPLY_LENGTH,
        },
        file: FileDraft::default(),
    };
    let Some(children) = v::block(n, d) else {
        return;
    };
    let table: &[Kw<CheckerDraft>] = match kind {
        CheckerKind::Tcp => &TCP_CHECK,
        CheckerKind::Http => &HTTP_GET,
        CheckerKind::Ssl => &SSL_GET,
        CheckerKind::Misc => &MISC_CHECK,
        CheckerKind::Smtp => &SMTP_CHECK,
        CheckerKind::Dns => &DNS_CHECK,
        CheckerKind::Udp => &UDP_CHECK,
        CheckerKind::Ping => &PING_CHECK,
        CheckerKind::File => &FILE_CHECK,
    };
    apply(&n.keyword, table, &[], &mut c, children, d);
    r.checkers.push(c);
}

/// Options of every checker from `alpha` on (MISC_CHECK has only these).
const CHECKER_TIMING: [Kw<CheckerDraft>; 8] = [
    kw!("alpha", |c, n, d| c.opts.alpha =
        v::flag(n, d).or(c.opts.alpha)),
    kw!("connect_timeout", |c, n, d| inherit_timer(c, n, d, |o| {
        &mut o.connect_timeout
    })),
    kw!("retry", |c, n, d| inherit_retry(c, n, d)),
    kw!("nb_get_retry", |_c, n, d| nb_get_retry_ignored(n, d)),
    kw!("delay_before_retry", |c, n, d| inherit_timer(
        c,
        n,
        d,
        |o| &mut o.delay_before_retry
    )),
    kw!("warmup", |c, n, d| inherit_timer(c, n, d, |o| &mut o
        .warmup)),
    kw!("delay_loop", |c, n, d| inherit_timer(c, n, d, |o| &mut o
        .delay_loop)),
    kw!("log_all_failures", |c, n, d| c.log_all_failures =
        v::flag(n, d).or(c.log_all_failures)),
];

/// Connection options of network checkers.
const CHECKER_CONNECT: [Kw<CheckerDraft>; 6] = [
    kw!("connect_ip", |c, n, d| c.connect_ip =
        v::loose_ip(n, d).or(c.connect_ip)),
    kw!("connect_port", |c, n, d| c.connect_port =
        v::port(n, d).or(c.connect_port)),
    kw!("bindto", |c, n, d| c.bindto = v::ip(n, d).or(c.bindto)),
    kw!("bind_if", |c, n, d| c.bind_if =
        v::string(n, "an interface name", d).or(c.bind_if.take())),
    kw!("bind_port", |c, n, d| c.bind_port =
        v::port(n, d).or(c.bind_port)),
    kw!("fwmark", |c, n, d| c.fwmark =
        v::int(n, 0, u32::MAX as i64, d).or(c.fwmark)),
];

/// keepalived 1.x's name of `retry`, which keepalived 2 still knows in HTTP_GET and
/// SSL_GET only (placed before [`CHECKER_TIMING`], whose `nb_get_retry` is ignored).
const HTTP_NB_GET_RETRY: [Kw<CheckerDraft>; 1] =
    [kw!("nb_get_retry", |c, n, d| inherit_retry(c, n, d))];

const HTTP_OWN: [Kw<CheckerDraft>; 4] = [
    kw_many!("url", |c, n, d| {
        if let Some(url) = url(n, d) {
            c.http.urls.push(url)
        }
    }),
    kw!("http_protocol", |c, n, d| {
        if let Some(p) = v::choice(
            n,
            &[
                ("1.0", HttpProtocol::Http10),
                ("1.0C", HttpProtocol::Http10Close),
                ("1.1", HttpProtocol::Http11),
            ],
            d,
        ) {
            c.http.http_protocol = p
        }
    }),
    kw!("fast_recovery", |c, n, d| {
        if let Some(f) = v::flag(n, d) {
            c.http.fast_recovery = f
        }
    }),
    kw!("virtualhost", |c, n, d| c.http.virtualhost =
        v::string(n, "a host name", d).or(c.http.virtualhost.take())),
];

const SSL_OWN: [Kw<CheckerDraft>; 3] = [
    kw!("enable_sni", |c, n, d| {
        if let Some(f) = v::flag(n, d) {
            c.tls.enable_sni = f
        }
    }),
    // keepalived 2.3.
    kw!("sni_name", |c, n, d| c.tls.sni_name =
        v::string(n, "a server name", d).or(c.tls.sni_name.take())),
    // director's own: keepalived never verifies the server certificate.
    kw!("verify_ca", |c, n, d| {
        if let Some(path) = v::string(n, "a CA file path", d) {
            // Checked now so that `directord -t` fails on a file the checker could not
            // load later.
            match readable_file(&path) {
                Ok(()) => c.tls.verify_ca = Some(PathBuf::from(path)),
                Err(e) => d.error(
                    n.arg_span(0),
                    format!(
                        "verify_ca: cannot read '{path}' ({e}), expected a readable file of CA certificates"
                    ),
                ),
            }
        }
    }),
];

/// Whether `path` is a regular file this process can open.
fn readable_file(path: &str) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    match file.metadata() {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err("not a regular file".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

const SMTP_OWN: [Kw<CheckerDraft>; 1] = [kw!("helo_name", |c, n, d| c.smtp.helo_name =
    v::string(n, "a host name", d).or(c.smtp.helo_name.take()))];

const DNS_TYPES: &[(&str, DnsQueryType)] = &[
    ("A", DnsQueryType::A),
    ("NS", DnsQueryType::Ns),
    ("CNAME", DnsQueryType::Cname),
    ("SOA", DnsQueryType::Soa),
    ("MX", DnsQueryType::Mx),
    ("TXT", DnsQueryType::Txt),
    ("AAAA", DnsQueryType::Aaaa),
];

/// Whether `name` can be put in a DNS question: "." or labels of 1 to 63 bytes, at most
/// 255 bytes on the wire. keepalived (check_dns.c `dns_name_handler`) rejects empty
/// labels; longer ones would not fit the label length byte.
fn dns_name_ok(name: &str) -> bool {
    if name == "." {
        return true;
    }
    let labels = name.strip_suffix('.').unwrap_or(name);
    // Each label costs its length byte; the root label ends the name.
    let wire_len = labels.split('.').map(|l| l.len() + 1).sum::<usize>() + 1;
    wire_len <= 255 && labels.split('.').all(|l| (1..=63).contains(&l.len()))
}

const DNS_OWN: [Kw<CheckerDraft>; 2] = [
    // Case-insensitive, as keepalived's strcasecmp.
    kw!("type", |c, n, d| {
        if let Some(t) = v::choice(n, DNS_TYPES, d) {
            c.dns_type = t
        }
    }),
    kw!("name", |c, n, d| {
        if let Some(name) = v::string(n, "a domain name", d) {
            if dns_name_ok(&name) {
                c.dns_name = Some(name)
            } else {
                v::bad(
                    n,
                    0,
                    "a domain name of labels of 1 to 63 characters (no empty label), at most 255 bytes",
                    d,
                )
            }
        }
    }),
];

/// A `<HEX_STR>` made of all the arguments of `n` (see [`v::parse_hex`]); an error
/// points at the word at fault.
fn hex_arg(n: &Node, wildcard: bool, d: &mut Diagnostics) -> Option<Vec<MaskedByte>> {
    v::no_block(n, d);
    let words: Vec<&str> = n.args.iter().map(|a| &*a.text).collect();
    let what = if wildcard {
        "hex digits, X for an ignored digit (e.g. '0a1b X2')"
    } else {
        "hex digits (e.g. '0a1b 2c')"
    };
    match v::parse_hex(&words, wildcard) {
        Ok(bytes) => Some(bytes),
        Err(at) => {
            v::bad(n, at.unwrap_or(n.args.len()), what, d);
            None
        }
    }
}

const UDP_OWN: [Kw<CheckerDraft>; 4] = [
    kw!("payload", |c, n, d| {
        if let Some(bytes) = hex_arg(n, false, d) {
            c.udp.payload = Some(bytes.iter().map(|b| b.value).collect())
        }
    }),
    kw!("require_reply", |c, n, d| {
        c.udp.require_reply = true;
        // Bare: any reply will do.
        if n.args.is_empty() {
            v::no_block(n, d);
            c.udp.reply_pattern = Vec::new();
        } else if let Some(pattern) = hex_arg(n, true, d) {
            c.udp.reply_pattern = pattern
        }
    }),
    kw!("min_reply_length", |c, n, d| {
        if let Some(l) = v::int(n, 0, def::UDP_REPLY_LENGTH_MAX, d) {
            c.udp.min_reply_length = l
        }
    }),
    kw!("max_reply_length", |c, n, d| {
        if let Some(l) = v::int(n, 0, def::UDP_REPLY_LENGTH_MAX, d) {
            c.udp.max_reply_length = l
        }
    }),
];

/// FILE_CHECK has none of the connection or timing options (keepalived.conf(5)).
const FILE_OWN: [Kw<CheckerDraft>; 3] = [
    kw!("track_file", |c, n, d| {
        if let Some(name) = v::string(n, "a track_file name", d) {
            c.file.track_file = Some((name, n.arg_span(0)))
        }
    }),
    kw!("weight", |c, n, d| {
        if let Some((weight, reverse)) = file_weight(n, d) {
            c.file.weight = Some((weight, reverse, n.arg_span(0)))
        }
    }),
    kw!("dynamic", |c, n, d| {
        v::bare(n, d);
        c.file.dynamic = true
    }),
];

const MISC_OWN: [Kw<CheckerDraft>; 4] = [
    kw!("misc_path", |c, n, d| {
        if let Some(command) = command(n, d) {
            c.misc_path = Some(Script {
                command,
                user: None,
            })
        }
    }),
    kw!("misc_timeout", |c, n, d| c.misc_timeout =
        v::timer(n, 86400, d).or(c.misc_timeout)),
    kw!("misc_dynamic", |c, n, d| {
        v::bare(n, d);
        c.misc_dynamic = true
    }),
    kw!("user", |c, n, d| c.misc_user =
        v::script_user(n, d).or(c.misc_user.take())),
];

fn table(parts: &[&[Kw<CheckerDraft>]]) -> Vec<Kw<CheckerDraft>> {
    parts.iter().flat_map(|p| p.iter().map(copy_kw)).collect()
}

pub static TCP_CHECK: std::sync::LazyLock<Vec<Kw<CheckerDraft>>> =
    std::sync::LazyLock::new(|| table(&[&CHECKER_CONNECT, &CHECKER_TIMING]));
pub static HTTP_GET: std::sync::LazyLock<Vec<Kw<CheckerDraft>>> = std::sync::LazyLock::new(|| {
    table(&[
        &CHECKER_CONNECT,
        &HTTP_NB_GET_RETRY,
        &CHECKER_TIMING,
        &HTTP_OWN,
    ])
});
pub static SSL_GET: std::sync::LazyLock<Vec<Kw<CheckerDraft>>> = std::sync::LazyLock::new(|| {
    table(&[
        &CHECKER_CONNECT,
        &HTTP_NB_GET_RETRY,
        &CHECKER_TIMING,
        &HTTP_OWN,
        &SSL_OWN,
    ])
});
pub static MISC_CHECK: std::sync::LazyLock<Vec<Kw<CheckerDraft>>> =
    std::sync::LazyLock::new(|| table(&[&CHECKER_TIMING, &MISC_OWN]));
pub static SMTP_CHECK: std::sync::LazyLock<Vec<Kw<CheckerDraft>>> =
    std::sync::LazyLock::new(|| table(&[&CHECKER_CONNECT, &CHECKER_TIMING, &SMTP_OWN]));
pub static DNS_CHECK: std::sync::LazyLock<Vec<Kw<CheckerDraft>>> =
    std::sync::LazyLock::new(|| table(&[&CHECKER_CONNECT, &CHECKER_TIMING, &DNS_OWN]));
pub static UDP_CHECK: std::sync::LazyLock<Vec<Kw<CheckerDraft>>> =
    std::sync::LazyLock::new(|| table(&[&CHECKER_CONNECT, &CHECKER_TIMING, &UDP_OWN]));
pub static PING_CHECK: std::sync::LazyLock<Vec<Kw<CheckerDraft>>> =
    std::sync::LazyLock::new(|| table(&[&CHECKER_CONNECT, &CHECKER_TIMING]));
pub static FILE_CHECK: std::sync::LazyLock<Vec<Kw<CheckerDraft>>> =
    std::sync::LazyLock::new(|| table(&[&FILE_OWN]));

fn url(n: &Node, d: &mut Diagnostics) -> Option<UrlCheck> {
    v::no_more_args(n, 0, d);
    let children = v::block(n, d)?;
    let mut url = UrlDraft::default();
    apply("url", URL, URL_IGNORED, &mut url, children, d);
    let Some(path) = url.path else {
        d.error(
            n.span.clone(),
            "url block without 'path', expected e.g. 'path /'",
        );
        return None;
    };
    Some(UrlCheck {
        path,
        digest: url.digest,
        status_code: if url.status_code.is_empty() {
            vec![def::STATUS_CODES]
        } else {
            url.status_code
        },
        virtualhost: url.virtualhost,
        regex: url.regex,
        regex_no_match: url.regex_no_match,
    })
}

#[derive(Default)]
pub struct UrlDraft {
    path: Option<String>,
    digest: Option<String>,
    status_code: Vec<(u16, u16)>,
    virtualhost: Option<String>,
    regex: Option<String>,
    regex_no_match: bool,
}

pub const URL_IGNORED: &[&str] = &[
    "regex_options",
    "regex_stack",
    "regex_min_offset",
    "regex_max_offset",
];

pub const URL: &[Kw<UrlDraft>] = &[
    kw!("path", |u, n, d| u.path =
        v::string(n, "a URL path", d).or(u.path.take())),
    kw!("digest", |u, n, d| {
        if let Some(hex) = v::single(n, "an MD5 digest (32 hex digits)", d) {
            if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                u.digest = Some(hex.to_ascii_lowercase())
            } else {
                v::bad(n, 0, "an MD5 digest (32 hex digits)", d)
            }
        }
    }),
    kw!("status_code", |u, n, d| {
        v::no_block(n, d);
        if n.args.is_empty() {
            v::bad(n, 0, "an HTTP status code or range (200-299)", d);
        }
        u.status_code.clear();
        for (i, arg) in n.args.iter().enumerate() {
            let range = match arg.text.split_once('-') {
                Some((a, b)) => a.parse::<u16>().ok().zip(b.parse::<u16>().ok()),
                None => arg.text.parse::<u16>().ok().map(|c| (c, c)),
            };
            match range {
                Some((a, b)) if (100..=599).contains(&a) && (a..=599).contains(&b) => {
                    u.status_code.push((a, b))
                }
                _ => v::bad(n, i, "an HTTP status code or range from 100 to 599", d),
            }
        }
    }),
    kw!("virtualhost", |u, n, d| u.virtualhost =
        v::string(n, "a host name", d).or(u.virtualhost.take())),
    kw!("regex", |u, n, d| u.regex =
        v::string(n, "a regular expression", d).or(u.regex.take())),
    kw!("regex_no_match", |u, n, d| {
        v::bare(n, d);
        u.regex_no_match = true
    }),
];

/// Every keyword director knows, per block, for the documentation test.
pub fn all_keywords() -> Vec<(&'static str, Vec<&'static str>)> {
    fn names<T>(t: &[Kw<T>]) -> Vec<&'static str> {
        t.iter().map(|k| k.name).collect()
    }
    vec![
        ("top level", names(TOP)),
        ("global_defs", names(GLOBAL_DEFS)),
        ("director", names(DIRECTOR)),
        ("ospf", names(OSPF)),
        ("area", names(AREA)),
        ("interface", names(OSPF_INTERFACE)),
        ("ospf authentication", names(OSPF_AUTH)),
        ("SSL", names(SSL)),
        ("vrrp_script", names(VRRP_SCRIPT)),
        ("vrrp_sync_group", names(SYNC_GROUP)),
        ("vrrp_instance", names(VRRP_INSTANCE)),
        ("vrrp authentication", names(VRRP_AUTH)),
        ("virtual_server", names(&VIRTUAL_SERVER)),
        ("real_server", names(&REAL_SERVER)),
        ("TCP_CHECK", names(&TCP_CHECK)),
        ("HTTP_GET", names(&HTTP_GET)),
        ("SSL_GET", names(&SSL_GET)),
        ("MISC_CHECK", names(&MISC_CHECK)),
        ("SMTP_CHECK", names(&SMTP_CHECK)),
        ("DNS_CHECK", names(&DNS_CHECK)),
        ("UDP_CHECK", names(&UDP_CHECK)),
        ("PING_CHECK", names(&PING_CHECK)),
        ("FILE_CHECK", names(&FILE_CHECK)),
        ("track_file", names(TRACK_FILE)),
        ("url", names(URL)),
    ]
}

/// Every keyword accepted and ignored with a warning, per block.
pub fn ignored_keywords() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("top level", TOP_IGNORED),
        ("global_defs", GLOBAL_IGNORED),
        ("vrrp_sync_group", SYNC_GROUP_IGNORED),
        ("vrrp_instance", VRRP_INSTANCE_IGNORED),
        ("virtual_server", VIRTUAL_SERVER_IGNORED),
        ("real_server", REAL_SERVER_IGNORED),
        ("url", URL_IGNORED),
    ]
}

#[cfg(test)]
mod tests {
    use super::dns_name_ok;

    #[test]
    fn dns_names() {
        assert!(dns_name_ok("."));
        assert!(dns_name_ok("example.com"));
        assert!(dns_name_ok("example.com."));
        assert!(dns_name_ok(&format!("{}.com", "a".repeat(63))));
        // keepalived rejects empty labels; a label over 63 bytes has no wire form.
        assert!(!dns_name_ok(".com"));
        assert!(!dns_name_ok("a..b"));
        assert!(!dns_name_ok("example.com.."));
        assert!(!dns_name_ok(""));
        assert!(!dns_name_ok(&format!("{}.com", "a".repeat(64))));
        // 4 labels of 63 bytes: 256 bytes on the wire, one too many.
        assert!(!dns_name_ok(&vec!["a".repeat(63); 4].join(".")));
        assert!(dns_name_ok(
            &[
                "a".repeat(63),
                "a".repeat(63),
                "a".repeat(63),
                "a".repeat(61)
            ]
            .join(".")
        ));
    }
}
