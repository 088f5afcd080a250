//! Keyword tables: for every block, which keywords exist and how each one sets the
//! typed model, including keepalived's historic aliases (`lb_algo`/`lvs_sched`,
//! `lb_kind`/`lvs_method`, `nb_get_retry` in HTTP_GET/SSL_GET, `lvs_sync_daemon_inteface`
//! …). One file per block: global.rs (`global_defs`), vrrp.rs, lvs.rs (`virtual_server`,
//! `real_server`, checkers, `track_file`, `SSL`), ospf.rs, director.rs; this file holds
//! the shared machinery (`Kw`, `apply`, `Builder`, spans) and the top level. Keywords
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
use super::values::{self as v, ip_address_spec, route_spec};

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

// One file per block; the macros above are in scope in each (declared after them).
mod bfd;
mod director;
mod global;
mod lvs;
mod ospf;
mod vrrp;

pub use self::bfd::*;
pub use self::director::*;
pub use self::global::*;
pub use self::lvs::*;
pub use self::ospf::*;
pub use self::vrrp::*;

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
    pub vrrp_track_processes: Vec<Span>,
    pub bfd_instances: Vec<Span>,
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
    pub track_files: Vec<Span>,
    pub track_processes: Vec<Span>,
    pub track_bfds: Vec<Span>,
}

#[derive(Debug, Clone)]
pub struct InstanceSpans {
    pub block: Span,
    pub virtual_router_id: Option<Span>,
    pub advert_int: Option<Span>,
    pub authentication: Option<Span>,
    pub nopreempt: Option<Span>,
    pub track_scripts: Vec<Span>,
    pub track_files: Vec<Span>,
    pub track_processes: Vec<Span>,
    pub track_bfds: Vec<Span>,
    pub virtual_ipaddress: Vec<Span>,
    pub unicast_peers: Option<Span>,
}

#[derive(Debug, Clone)]
pub struct VirtualServerSpans {
    pub block: Span,
    pub scheduler: Option<Span>,
    pub persistence: Option<Span>,
    pub quorum: Option<Span>,
    pub ospf_metric: Option<Span>,
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

    /// How many virtual servers have been built so far.
    pub fn virtual_server_count(&self) -> usize {
        self.config.virtual_servers.len()
    }

    /// Replace each virtual server built since the first `from` by what `relocate` makes
    /// of it (the loader's copy in the caller's arena, see `config::load_with`).
    pub fn relocate_virtual_servers(
        &mut self,
        from: usize,
        relocate: &mut dyn FnMut(VirtualServer) -> VirtualServer,
    ) {
        if from >= self.config.virtual_servers.len() {
            return;
        }
        let built = self.config.virtual_servers.split_off(from);
        self.config
            .virtual_servers
            .extend(built.into_iter().map(relocate));
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

const TOP_IGNORED: &[&str] = &["static_rules", "linkbeat_interfaces", "garp_group"];

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
    kw_many!("vrrp_track_process", |b, n, d| vrrp_track_process(b, n, d)),
    kw_many!("bfd_instance", |b, n, d| bfd_instance(b, n, d)),
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
        ("ospf interface bfd", names(OSPF_BFD)),
        ("SSL", names(SSL)),
        ("vrrp_script", names(VRRP_SCRIPT)),
        ("vrrp_track_process", names(TRACK_PROCESS)),
        ("bfd_instance", names(BFD_INSTANCE)),
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
        ("BFD_CHECK", names(BFD_CHECK)),
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
