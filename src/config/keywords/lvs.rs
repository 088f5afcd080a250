//! LVS: `SSL`, `track_file`, `virtual_server_group`, `virtual_server`, `real_server` and
//! the checkers.

use super::*;

// ───────────────────────────── SSL ─────────────────────────────

pub(super) fn ssl(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
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

/// A top-level `track_file NAME { }`: a file holding a number, for FILE_CHECK (which must
/// come after it, as in keepalived) and VRRP's `track_file` (through
/// `Config::track_files`, resolved in validation wherever the block is).
pub struct TrackFile {
    pub(super) name: String,
    pub(super) span: Span,
    /// `None` when the block has no `file`, which is reported where the block is.
    pub(super) path: Option<PathBuf>,
    pub(super) weight: i64,
    pub(super) reverse: bool,
    pub(super) init: Option<FileInit>,
}

pub(super) fn track_file(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
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
    if let Some(path) = &tf.path {
        b.config.track_files.push(TrackFileDef {
            name: tf.name.clone(),
            path: path.clone(),
            weight: tf.weight,
            reverse: tf.reverse,
            init: tf.init,
        });
    }
    b.track_files.push(tf);
}

/// `weight N [reverse|noreverse]` of track_file and FILE_CHECK.
pub(super) fn file_weight(n: &Node, d: &mut Diagnostics) -> Option<(i64, bool)> {
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

// ───────────────────────────── virtual_server_group ─────────────────────────────

pub(super) fn virtual_server_group(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
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
pub(super) fn group_member(n: &Node, d: &mut Diagnostics) -> Option<GroupMember> {
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

pub(super) fn address_range(text: &str) -> Option<(IpAddr, IpAddr)> {
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
    pub(super) connect_timeout: Option<Duration>,
    pub(super) retry: Option<u32>,
    pub(super) delay_before_retry: Option<Duration>,
    pub(super) warmup: Option<Duration>,
    pub(super) delay_loop: Option<Duration>,
    pub(super) alpha: Option<bool>,
    pub(super) inhibit_on_failure: Option<bool>,
    pub(super) virtualhost: Option<String>,
    pub(super) smtp_alert: Option<bool>,
    pub(super) method: Option<ForwardingMethod>,
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
pub(super) fn inherited_flag<T: HasInherited>(n: &Node, d: &mut Diagnostics) -> Option<bool> {
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

pub(super) fn inherit_timer(
    t: &mut impl HasInherited,
    n: &Node,
    d: &mut Diagnostics,
    field: fn(&mut Inherited) -> &mut Option<Duration>,
) {
    if let Some(x) = v::timer(n, 86400, d) {
        *field(t.inherited()) = Some(x);
    }
}

pub(super) fn inherit_retry<T: HasInherited>(t: &mut T, n: &Node, d: &mut Diagnostics) {
    if let Some(x) = v::int(n, 0, 1_000_000, d) {
        t.inherited().retry = Some(x);
    }
}

/// `nb_get_retry` (keepalived 1.x's `retry`) outside HTTP_GET/SSL_GET: keepalived 2
/// installs it only there (check_http.c) and calls it an unknown keyword anywhere else,
/// so the retry count stays the inherited or default one. director does the same, so a
/// file behaves as it did under keepalived, and says so.
pub(super) fn nb_get_retry_ignored(n: &Node, d: &mut Diagnostics) {
    d.warn(
        n.span.clone(),
        "nb_get_retry is ignored here as keepalived ignores it (it knows it only in HTTP_GET and SSL_GET): the retry count stays the inherited or default one, expected 'retry N' to set it",
    );
}

/// `NAT|DR|TUN [type {ipip|gue port NUM|gre} [nocsum|csum|remcsum]]`.
pub(super) fn forwarding_method(n: &Node, d: &mut Diagnostics) -> Option<ForwardingMethod> {
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
pub(super) enum Target {
    Addr { ip: IpAddr, port: Option<u16> },
    Fwmark(u32),
    Group(String),
}

pub struct VsDraft {
    pub(super) target: Target,
    pub(super) vs: VirtualServer,
    pub(super) opts: Inherited,
    pub(super) persistence_timeout: Option<Duration>,
    pub(super) persistence_granularity: Option<(String, Span)>,
    pub(super) persistence_engine: Option<String>,
    pub(super) sorry_server: Option<(IpAddr, Option<u16>)>,
    pub(super) sorry_server_inhibit: bool,
    pub(super) sorry_server_method: Option<ForwardingMethod>,
    pub(super) real_servers: Vec<RsDraft>,
    pub(super) spans: VirtualServerSpans,
    pub(super) log_all_failures: bool,
    /// Whether `protocol` was given: keepalived defaults to UDP (check_data.c).
    pub(super) protocol_set: bool,
}

impl HasInherited for VsDraft {
    fn inherited(&mut self) -> &mut Inherited {
        &mut self.opts
    }
    const FLAG_IGNORES_ARGUMENT: bool = true;
}

pub(super) fn virtual_server_target(n: &Node, d: &mut Diagnostics) -> Option<Target> {
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

pub(super) fn virtual_server(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
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
            maglev_table_size: None,
            ospf_metric: None,
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
            ospf_metric: None,
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
    if let Some(vs) = resolve_virtual_server(
        draft,
        &b.track_files,
        &b.config.bfd_instances,
        &mut b.map,
        diag,
    ) {
        b.config.virtual_servers.push(vs);
    }
}

/// keepalived's default protocol for a service named by address (or by a group with
/// addresses) is UDP, "the kernel defaults to UDP" (check_data.c
/// `validate_check_config`); a fwmark ignores it. director runs what keepalived runs,
/// and says so, since a TCP service was almost always meant.
pub(super) fn default_protocol(
    draft: &mut VsDraft,
    groups: &[VirtualServerGroup],
    d: &mut Diagnostics,
) {
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

pub(super) fn resolve_virtual_server(
    mut draft: VsDraft,
    track_files: &[TrackFile],
    bfd_instances: &[BfdInstance],
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
                    bfd_instances,
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
            notify_up: rs.notify_up.map(Box::new),
            notify_down: rs.notify_down.map(Box::new),
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
pub(super) fn granularity(text: &str, ipv6: bool) -> Option<IpAddr> {
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
pub(super) struct RsContext<'a> {
    /// The real server's options, already merged with the virtual server's.
    pub(super) opts: &'a Inherited,
    pub(super) ip: IpAddr,
    pub(super) port: u16,
    /// global_defs `checker_log_all_failures`.
    pub(super) log_all_failures: bool,
    pub(super) track_files: &'a [TrackFile],
    /// The bfd_instance blocks read so far (BFD_CHECK names one).
    pub(super) bfd_instances: &'a [BfdInstance],
}

pub(super) fn resolve_checker(
    c: CheckerDraft,
    rs: &RsContext,
    d: &mut Diagnostics,
) -> Option<Checker> {
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
                    http: std::sync::Arc::new(http),
                    tls: Box::new(c.tls),
                }
            } else {
                Checker::Http {
                    common,
                    http: std::sync::Arc::new(http),
                }
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
                misc_path.user = c.misc_user.map(Box::new);
            }
            Some(Checker::Misc {
                misc: Box::new(MiscCheck {
                    misc_path,
                    // Silent in keepalived.conf(5); keepalived 2.2 uses delay_loop when
                    // misc_timeout is not set.
                    misc_timeout: c.misc_timeout.unwrap_or(common.delay_loop),
                    misc_dynamic: c.misc_dynamic,
                }),
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
            dns: Box::new(DnsCheck {
                query_type: c.dns_type,
                name: c.dns_name.unwrap_or_else(|| def::DNS_NAME.to_string()),
            }),
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
            Some(Checker::Udp {
                common,
                udp: Box::new(udp),
            })
        }
        CheckerKind::Ping => Some(Checker::Ping { common }),
        CheckerKind::File => {
            resolve_file_check(c.file, c.span, rs.track_files, d).map(|file| Checker::File {
                common,
                file: Box::new(file),
            })
        }
        CheckerKind::Bfd => {
            // keepalived (check_bfd.c) reports an unknown or missing name and drops the
            // checker; so does director, as a warning, so that its files still load.
            let Some((name, span)) = c.bfd_name else {
                d.warn(
                    c.span,
                    "BFD_CHECK has no name, ignored (as keepalived does), expected 'name NAME' naming a bfd_instance; without another checker this real server is always up",
                );
                return None;
            };
            if !rs.bfd_instances.iter().any(|b| b.name == name) {
                d.warn(
                    span,
                    format!("BFD_CHECK: no bfd_instance '{name}' defined above, ignored (as keepalived does); without another checker this real server is always up"),
                );
                return None;
            }
            // Nothing to probe: the verdict follows the session (polled every
            // BFD_CHECK_POLL, one failure is down, one success up).
            let common = CheckerCommon {
                retry: 0,
                delay_before_retry: def::BFD_CHECK_POLL,
                warmup: Duration::ZERO,
                delay_loop: def::BFD_CHECK_POLL,
                ..common
            };
            Some(Checker::Bfd {
                common,
                bfd: BfdCheck { name },
            })
        }
    }
}

/// FILE_CHECK's `track_file`, looked up among the track_file blocks read so far: as in
/// keepalived (check_file.c `track_file_handler`), the block must come first.
pub(super) fn resolve_file_check(
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

pub(super) const SCHEDULERS: &[(&str, Scheduler)] = &[
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

pub(super) fn scheduler(s: &mut VsDraft, n: &Node, d: &mut Diagnostics) {
    if let Some(x) = v::choice(n, SCHEDULERS, d) {
        s.vs.scheduler = x;
        s.spans.scheduler = Some(n.arg_span(0));
    }
}

pub(super) fn vs_method(s: &mut VsDraft, n: &Node, d: &mut Diagnostics) {
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

/// The checker timers every level may set (virtual server, real server, checker), written
/// once: the array of these six keywords followed by `$extra`.
macro_rules! with_timer_keywords {
    ($($extra:expr),* $(,)?) => {
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
            $($extra),*
        ]
    };
}

/// What a virtual server passes to its real servers and a real server to its checkers.
macro_rules! inherited_keywords {
    ($t:ty) => {
        with_timer_keywords![
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

pub(super) const VS_INHERITED: [Kw<VsDraft>; 10] = inherited_keywords!(VsDraft);
pub(super) const RS_INHERITED: [Kw<RsDraft>; 10] = inherited_keywords!(RsDraft);

pub(super) const VS_OWN: &[Kw<VsDraft>] = &[
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
    kw!("maglev_table_size", |s, n, d| {
        if let Some(size) = super::director::maglev_table_size(n, d) {
            s.vs.maglev_table_size = size
        }
    }),
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
    kw!("ospf_metric", |s, n, d| {
        if let Some(m) = v::int(n, 0, 65535, d) {
            s.vs.ospf_metric = Some(m);
            s.spans.ospf_metric = Some(n.arg_span(0))
        }
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

pub(super) fn copy_kw<T>(k: &Kw<T>) -> Kw<T> {
    Kw {
        name: k.name,
        repeat: k.repeat,
        set: k.set,
    }
}

pub struct RsDraft {
    pub(super) span: Span,
    pub(super) ip: IpAddr,
    pub(super) port: Option<u16>,
    pub(super) weight: u32,
    pub(super) opts: Inherited,
    pub(super) notify_up: Option<Script>,
    pub(super) notify_down: Option<Script>,
    pub(super) upper_threshold: Option<u32>,
    pub(super) lower_threshold: Option<u32>,
    pub(super) checkers: Vec<CheckerDraft>,
}

impl HasInherited for RsDraft {
    fn inherited(&mut self) -> &mut Inherited {
        &mut self.opts
    }
}

pub(super) fn real_server(n: &Node, d: &mut Diagnostics) -> Option<RsDraft> {
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

pub(super) const RS_OWN: &[Kw<RsDraft>] = &[
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
    kw_many!("BFD_CHECK", |r, n, d| checker(r, n, CheckerKind::Bfd, d)),
];

pub static REAL_SERVER: std::sync::LazyLock<Vec<Kw<RsDraft>>> = std::sync::LazyLock::new(|| {
    RS_OWN
        .iter()
        .map(copy_kw)
        .chain(RS_INHERITED.iter().map(copy_kw))
        .collect()
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CheckerKind {
    Tcp,
    Http,
    Ssl,
    Misc,
    Smtp,
    Dns,
    Udp,
    Ping,
    File,
    Bfd,
}

pub struct CheckerDraft {
    pub(super) span: Span,
    pub(super) kind: CheckerKind,
    pub(super) opts: Inherited,
    pub(super) connect_ip: Option<IpAddr>,
    pub(super) connect_port: Option<u16>,
    pub(super) bindto: Option<IpAddr>,
    pub(super) bind_if: Option<String>,
    pub(super) bind_port: Option<u16>,
    pub(super) fwmark: Option<u32>,
    pub(super) log_all_failures: Option<bool>,
    pub(super) http: HttpCheck,
    pub(super) tls: TlsCheck,
    pub(super) misc_path: Option<Script>,
    pub(super) misc_user: Option<ScriptUser>,
    pub(super) misc_timeout: Option<Duration>,
    pub(super) misc_dynamic: bool,
    pub(super) smtp: SmtpCheck,
    pub(super) dns_type: DnsQueryType,
    /// `None`: the default "."; a `String` per checker only when one is written.
    pub(super) dns_name: Option<String>,
    pub(super) udp: UdpCheck,
    pub(super) file: FileDraft,
    /// BFD_CHECK's `name` and where it is written.
    pub(super) bfd_name: Option<(String, Span)>,
}

/// FILE_CHECK's own keywords, resolved against the track_file blocks.
#[derive(Default)]
pub struct FileDraft {
    /// The name and where it is written.
    pub(super) track_file: Option<(String, Span)>,
    /// `weight N [reverse]` and where N is written.
    pub(super) weight: Option<(i64, bool, Span)>,
    pub(super) dynamic: bool,
}

impl HasInherited for CheckerDraft {
    fn inherited(&mut self) -> &mut Inherited {
        &mut self.opts
    }
}

pub(super) fn checker(r: &mut RsDraft, n: &Node, kind: CheckerKind, d: &mut Diagnostics) {
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
        bfd_name: None,
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
        CheckerKind::Bfd => BFD_CHECK,
    };
    apply(&n.keyword, table, &[], &mut c, children, d);
    r.checkers.push(c);
}

/// Options of every checker from `alpha` on (MISC_CHECK has only these).
pub(super) const CHECKER_TIMING: [Kw<CheckerDraft>; 8] = with_timer_keywords![
    kw!("alpha", |c, n, d| c.opts.alpha =
        v::flag(n, d).or(c.opts.alpha)),
    kw!("log_all_failures", |c, n, d| c.log_all_failures =
        v::flag(n, d).or(c.log_all_failures)),
];

/// Connection options of network checkers.
pub(super) const CHECKER_CONNECT: [Kw<CheckerDraft>; 6] = [
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
pub(super) const HTTP_NB_GET_RETRY: [Kw<CheckerDraft>; 1] =
    [kw!("nb_get_retry", |c, n, d| inherit_retry(c, n, d))];

pub(super) const HTTP_OWN: [Kw<CheckerDraft>; 4] = [
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

pub(super) const SSL_OWN: [Kw<CheckerDraft>; 3] = [
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
pub(super) fn readable_file(path: &str) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    match file.metadata() {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err("not a regular file".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

pub(super) const SMTP_OWN: [Kw<CheckerDraft>; 1] = [kw!("helo_name", |c, n, d| c.smtp.helo_name =
    v::string(n, "a host name", d).or(c.smtp.helo_name.take()))];

pub(super) const DNS_TYPES: &[(&str, DnsQueryType)] = &[
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
pub(super) fn dns_name_ok(name: &str) -> bool {
    if name == "." {
        return true;
    }
    let labels = name.strip_suffix('.').unwrap_or(name);
    // Each label costs its length byte; the root label ends the name.
    let wire_len = labels.split('.').map(|l| l.len() + 1).sum::<usize>() + 1;
    wire_len <= 255 && labels.split('.').all(|l| (1..=63).contains(&l.len()))
}

pub(super) const DNS_OWN: [Kw<CheckerDraft>; 2] = [
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
pub(super) fn hex_arg(n: &Node, wildcard: bool, d: &mut Diagnostics) -> Option<Vec<MaskedByte>> {
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

pub(super) const UDP_OWN: [Kw<CheckerDraft>; 4] = [
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
pub(super) const FILE_OWN: [Kw<CheckerDraft>; 3] = [
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

pub(super) const MISC_OWN: [Kw<CheckerDraft>; 4] = [
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

pub(super) fn table(parts: &[&[Kw<CheckerDraft>]]) -> Vec<Kw<CheckerDraft>> {
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
/// BFD_CHECK has none of the standard options (keepalived.conf(5)), only the name.
pub const BFD_CHECK: &[Kw<CheckerDraft>] = &[kw!("name", |c, n, d| {
    if let Some(name) = v::single(n, "a bfd_instance name", d) {
        c.bfd_name = Some((name.to_string(), n.span.clone()));
    }
})];

pub(super) fn url(n: &Node, d: &mut Diagnostics) -> Option<UrlCheck> {
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
    pub(super) path: Option<String>,
    pub(super) digest: Option<String>,
    pub(super) status_code: Vec<(u16, u16)>,
    pub(super) virtualhost: Option<String>,
    pub(super) regex: Option<String>,
    pub(super) regex_no_match: bool,
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
