//! Semantic checks on the whole model, after every block was read: references between
//! blocks, duplicates that cannot both hold, combinations IPVS, VRRP or OSPF would refuse
//! or silently misbehave with. Errors where keepalived refuses the configuration or would
//! do something else than what is written; warnings where it logs and carries on, or
//! where the configuration is legal but probably not what was meant.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use super::error::{Diagnostics, Span};
use super::keywords::SourceMap;
use super::model::*;

pub fn validate(config: &Config, map: &SourceMap, diag: &mut Diagnostics) {
    director_mode(config, map, diag);
    vrrp(config, map, diag);
    virtual_servers(config, map, diag);
    if let (Some(ospf), Some(spans)) = (&config.ospf, &map.ospf) {
        ospf_areas(ospf, spans, diag);
        stub_areas_fit(config, ospf, spans, diag);
    }
    vip_metrics(config, map, diag);
}

fn first_at(span: &Span) -> String {
    format!("first at {span}")
}

/// Report every name given twice in `names`.
fn duplicates<'a>(
    what: &str,
    names: impl Iterator<Item = (&'a str, &'a Span)>,
    diag: &mut Diagnostics,
) {
    let mut seen: HashMap<&str, &Span> = HashMap::new();
    for (name, span) in names {
        match seen.get(name) {
            Some(first) => diag.error(
                span.clone(),
                format!(
                    "duplicate {what} '{name}' ({}), expected unique names",
                    first_at(first)
                ),
            ),
            None => {
                seen.insert(name, span);
            }
        }
    }
}

fn director_mode(config: &Config, map: &SourceMap, diag: &mut Diagnostics) {
    let Some(span) = &map.director_mode else {
        return;
    };
    match config.director.mode {
        Some(Mode::ActiveActive) if config.ospf.is_none() => diag.error(
            span.clone(),
            "mode active-active announces VIPs with OSPF, expected an ospf block",
        ),
        Some(Mode::MasterBackup) if config.vrrp_instances.is_empty() => diag.error(
            span.clone(),
            "mode master-backup runs VRRP, expected at least one vrrp_instance",
        ),
        _ => {}
    }
}

// ───────────────────────────── VRRP ─────────────────────────────

fn vrrp(config: &Config, map: &SourceMap, diag: &mut Diagnostics) {
    duplicates(
        "vrrp_script",
        config
            .vrrp_scripts
            .iter()
            .map(|s| s.name.as_str())
            .zip(&map.vrrp_scripts),
        diag,
    );
    duplicates(
        "vrrp_instance",
        config
            .vrrp_instances
            .iter()
            .map(|i| i.name.as_str())
            .zip(map.vrrp_instances.iter().map(|s| &s.block)),
        diag,
    );
    let group_spans: Vec<Span> = map
        .vrrp_sync_groups
        .iter()
        .map(|g| {
            g.block
                .clone()
                .unwrap_or_else(|| Span::new("".into(), 0, 0))
        })
        .collect();
    duplicates(
        "vrrp_sync_group",
        config
            .vrrp_sync_groups
            .iter()
            .map(|g| g.name.as_str())
            .zip(&group_spans),
        diag,
    );

    for (inst, spans) in config.vrrp_instances.iter().zip(&map.vrrp_instances) {
        instance(config, inst, spans, diag);
    }
    shared_vrids(config, map, diag);

    // Sync groups: members exist, and belong to one group only.
    let mut member_of: HashMap<&str, (&str, &Span)> = HashMap::new();
    for (group, spans) in config.vrrp_sync_groups.iter().zip(&map.vrrp_sync_groups) {
        for (member, span) in group.group.iter().zip(&spans.members) {
            if config.vrrp_instance(member).is_none() {
                diag.warn(
                    span.clone(),
                    format!(
                        "vrrp_sync_group '{}' names no vrrp_instance '{member}', ignored",
                        group.name
                    ),
                );
                continue;
            }
            if let Some((other, first)) = member_of.get(member.as_str()) {
                diag.error(
                    span.clone(),
                    format!(
                        "vrrp_instance '{member}' is already in vrrp_sync_group '{other}' ({}), expected one group per instance",
                        first_at(first)
                    ),
                );
            } else {
                member_of.insert(member, (&group.name, span));
            }
        }
        let existing = group
            .group
            .iter()
            .filter(|m| config.vrrp_instance(m).is_some())
            .count();
        if let (1, Some(block)) = (existing, &spans.block) {
            diag.warn(
                block.clone(),
                format!(
                    "vrrp_sync_group '{}' has a single member; a sync group synchronises several instances",
                    group.name
                ),
            );
        }
    }

    track_refs(config, map, diag);

    if let (Some(sync), Some(span)) = (&config.global_defs.lvs_sync_daemon, &map.lvs_sync_daemon) {
        if let Some(name) = &sync.vrrp_instance {
            if config.vrrp_instance(name).is_none() {
                diag.warn(
                    span.clone(),
                    format!("lvs_sync_daemon names no vrrp_instance '{name}'"),
                );
            }
        }
    }
}

/// What one kind of VRRP tracking reference (`track_file`, `track_process`, `track_bfd`)
/// needs from
/// the model to be checked.
struct TrackKind {
    keyword: &'static str,
    block: &'static str,
    /// The weight of the named block, `None` if there is no such block.
    default_weight: fn(&Config, &str) -> Option<i64>,
    instance: fn(&VrrpInstance) -> &[TrackFileRef],
    instance_spans: fn(&super::keywords::InstanceSpans) -> &[Span],
    group: fn(&VrrpSyncGroup) -> &[TrackFileRef],
    group_spans: fn(&super::keywords::SyncGroupSpans) -> &[Span],
}

const TRACK_KINDS: &[TrackKind] = &[
    TrackKind {
        keyword: "track_file",
        block: "track_file",
        default_weight: |c, n| c.track_file(n).map(|d| d.weight),
        instance: |i| &i.track_file,
        instance_spans: |s| &s.track_files,
        group: |g| &g.track_file,
        group_spans: |s| &s.track_files,
    },
    TrackKind {
        keyword: "track_process",
        block: "vrrp_track_process",
        default_weight: |c, n| c.track_process(n).map(|d| i64::from(d.weight)),
        instance: |i| &i.track_process,
        instance_spans: |s| &s.track_processes,
        group: |g| &g.track_process,
        group_spans: |s| &s.track_processes,
    },
    TrackKind {
        keyword: "track_bfd",
        block: "bfd_instance",
        default_weight: |c, n| c.bfd_instance(n).map(|b| b.weight),
        instance: |i| &i.track_bfd,
        instance_spans: |s| &s.track_bfds,
        group: |g| &g.track_bfd,
        group_spans: |s| &s.track_bfds,
    },
];

/// VRRP `track_file` and `track_process` references: what the VRRP module ignores or
/// changes (vrrp::settings `tracked`), said where it is written.
fn track_refs(config: &Config, map: &SourceMap, diag: &mut Diagnostics) {
    for kind in TRACK_KINDS {
        track_refs_of(kind, config, map, diag);
    }
}

fn track_refs_of(kind: &TrackKind, config: &Config, map: &SourceMap, diag: &mut Diagnostics) {
    let (keyword, block) = (kind.keyword, kind.block);
    let unknown = |r: &TrackFileRef, span: &Span, diag: &mut Diagnostics| {
        diag.warn(
            span.clone(),
            format!(
                "{keyword} '{}' names no {block} block, ignored (as keepalived does)",
                r.name
            ),
        );
    };
    let zeroed = |r: &TrackFileRef,
                  weight: i64,
                  group: &str,
                  span: &Span,
                  diag: &mut Diagnostics| {
        if weight != 0 {
            diag.warn(
                span.clone(),
                format!(
                    "{keyword} '{}': weight {weight} ignored in vrrp_sync_group '{group}' without sync_group_tracking_weight, it only decides FAULT (as keepalived does)",
                    r.name
                ),
            );
        }
    };
    for (inst, spans) in config.vrrp_instances.iter().zip(&map.vrrp_instances) {
        let group = config
            .vrrp_sync_groups
            .iter()
            .find(|g| g.group.contains(&inst.name));
        let refs = (kind.instance)(inst);
        for (i, (r, span)) in refs.iter().zip((kind.instance_spans)(spans)).enumerate() {
            let Some(default) = (kind.default_weight)(config, &r.name) else {
                unknown(r, span, diag);
                continue;
            };
            if refs[..i].iter().any(|p| p.name == r.name) {
                diag.warn(
                    span.clone(),
                    format!("duplicate {keyword} '{}', ignored", r.name),
                );
                continue;
            }
            let weight = r.weight.map_or(default, i64::from);
            match group {
                Some(g) if !g.sync_group_tracking_weight => zeroed(r, weight, &g.name, span, diag),
                _ if inst.priority == 255 && weight != 0 => diag.warn(
                    span.clone(),
                    format!(
                        "{keyword} '{}' with weight {weight} ignored: the address owner's priority stays 255, expected weight 0 (as keepalived does)",
                        r.name
                    ),
                ),
                _ => {}
            }
        }
    }
    for (group, spans) in config.vrrp_sync_groups.iter().zip(&map.vrrp_sync_groups) {
        for (r, span) in (kind.group)(group).iter().zip((kind.group_spans)(spans)) {
            match (kind.default_weight)(config, &r.name) {
                None => unknown(r, span, diag),
                Some(default) if !group.sync_group_tracking_weight => zeroed(
                    r,
                    r.weight.map_or(default, i64::from),
                    &group.name,
                    span,
                    diag,
                ),
                Some(_) => {}
            }
        }
    }
}

fn instance(
    config: &Config,
    inst: &VrrpInstance,
    spans: &super::keywords::InstanceSpans,
    diag: &mut Diagnostics,
) {
    let name = &inst.name;
    // The checks the VRRP module makes when it starts (vrrp::settings), here with a place,
    // so that what `-t` passes the daemon runs.
    if inst.interface.is_none() && config.global_defs.default_interface.is_none() {
        diag.error(
            spans.block.clone(),
            format!("vrrp_instance '{name}' has no interface, expected 'interface IFNAME' (director needs one also for unicast instances) or a global default_interface"),
        );
    }
    if let (Some(VrrpAuth::Ah { .. }), Some(span)) = (&inst.authentication, &spans.authentication) {
        if inst.version != 3 && !inst.strict_mode {
            diag.error(
                span.clone(),
                format!("vrrp_instance '{name}': auth_type AH is not supported by director, expected auth_type PASS or no authentication"),
            );
        }
    }
    // The instance's family is its first virtual address's (else unicast_src_ip's).
    let ipv6 = match (inst.virtual_ipaddress.first(), inst.unicast_src_ip) {
        (Some(first), _) => first.address.is_ipv6(),
        (None, Some(src)) => src.is_ipv6(),
        (None, None) => false,
    };
    if !inst.strict_mode {
        if let Some(peer) = inst
            .unicast_peer
            .iter()
            .find(|p| p.address.is_ipv6() != ipv6)
        {
            let span = spans
                .unicast_peers
                .clone()
                .unwrap_or_else(|| spans.block.clone());
            diag.error(
                span,
                format!(
                    "vrrp_instance '{name}': unicast_peer {} is not of the instance's family, expected an {} address",
                    peer.address,
                    if ipv6 { "IPv6" } else { "IPv4" }
                ),
            );
        }
    }
    for (track, span) in inst.track_script.iter().zip(&spans.track_scripts) {
        if config.vrrp_script(&track.name).is_none() {
            diag.warn(
                span.clone(),
                format!(
                    "track_script '{}' names no vrrp_script, ignored (as keepalived does)",
                    track.name
                ),
            );
        }
    }
    if let Some(span) = &spans.nopreempt {
        if inst.state == VrrpState::Master {
            diag.warn(
                span.clone(),
                format!("vrrp_instance '{name}': nopreempt has no effect with state MASTER, expected state BACKUP"),
            );
        }
    }
    if let (Some(span), 3) = (&spans.authentication, inst.version) {
        diag.warn(
            span.clone(),
            format!("vrrp_instance '{name}': VRRPv3 has no authentication (RFC 5798), ignored"),
        );
    }
    if inst.virtual_ipaddress.is_empty() {
        diag.warn(
            spans.block.clone(),
            format!("vrrp_instance '{name}' has no virtual_ipaddress"),
        );
    }
    if let Some(first) = inst.virtual_ipaddress.first() {
        for (vip, span) in inst.virtual_ipaddress.iter().zip(&spans.virtual_ipaddress) {
            if vip.address.is_ipv4() != first.address.is_ipv4() {
                diag.warn(
                    span.clone(),
                    format!("vrrp_instance '{name}': {} is not of the family of the first address; keepalived ignores it, use virtual_ipaddress_excluded", vip.address),
                );
            }
        }
    }
    advert_int(inst, spans, diag);
}

fn advert_int(inst: &VrrpInstance, spans: &super::keywords::InstanceSpans, diag: &mut Diagnostics) {
    let span = spans
        .advert_int
        .clone()
        .unwrap_or_else(|| spans.block.clone());
    let centis = inst.advert_int.as_micros().div_ceil(10_000);
    if inst.version == 3 {
        // RFC 5798: 12-bit field in centiseconds.
        if centis == 0 || centis > 4095 {
            diag.error(
                span,
                format!(
                    "advert_int {} s: VRRPv3 expected 0.01 to 40.95 s",
                    inst.advert_int.as_secs_f64()
                ),
            );
        }
    } else if inst.advert_int < Duration::from_secs(1) {
        diag.error(
            span,
            format!(
                "advert_int {} s: VRRPv2 advertises whole seconds, expected 1 to 255 (or version 3)",
                inst.advert_int.as_secs_f64()
            ),
        );
    } else if inst.advert_int.subsec_micros() != 0 {
        diag.warn(
            span,
            format!(
                "advert_int {} s: VRRPv2 advertises whole seconds, {} s is used",
                inst.advert_int.as_secs_f64(),
                inst.advert_int.as_secs() + 1
            ),
        );
    }
}

/// Two instances may share a VRID on one interface only with different address
/// families: director's VRRP hands an advert to the instance of its (interface, family,
/// VRID), so different multicast groups or disjoint unicast peers are not enough.
fn shared_vrids(config: &Config, map: &SourceMap, diag: &mut Diagnostics) {
    type Key<'a> = (&'a str, u8, bool);
    let mut seen: HashMap<Key, Vec<usize>> = HashMap::new();
    for (index, inst) in config.vrrp_instances.iter().enumerate() {
        let iface = inst
            .interface
            .as_deref()
            .or(config.global_defs.default_interface.as_deref())
            .unwrap_or("");
        let ipv6 = inst
            .virtual_ipaddress
            .first()
            .is_some_and(|a| a.address.is_ipv6());
        let key = (iface, inst.virtual_router_id, ipv6);
        let others = seen.entry(key).or_default();
        if let Some(&other) = others.first() {
            let a = &config.vrrp_instances[other];
            let span = map.vrrp_instances[index]
                .virtual_router_id
                .clone()
                .unwrap_or_else(|| map.vrrp_instances[index].block.clone());
            diag.error(
                span,
                format!(
                    "virtual_router_id {} on {} is already used by vrrp_instance '{}' ({}), expected a VRID unique per interface and family",
                    inst.virtual_router_id,
                    if iface.is_empty() { "the default interface" } else { iface },
                    a.name,
                    first_at(&map.vrrp_instances[other].block)
                ),
            );
        }
        others.push(index);
    }
}

// ───────────────────────────── LVS ─────────────────────────────

fn is_ipv6_service(config: &Config, vs: &VirtualServer) -> Option<bool> {
    match &vs.key {
        ServiceKey::Addr { ip, .. } => Some(ip.is_ipv6()),
        ServiceKey::Fwmark { family, .. } => Some(*family == IpFamily::Inet6),
        ServiceKey::Group { name, .. } => config.virtual_server_group(name).and_then(|g| {
            g.members.iter().find_map(|m| match m {
                GroupMember::Range { first, .. } => Some(first.is_ipv6()),
                GroupMember::Fwmark { family, .. } => family.map(|f| f == IpFamily::Inet6),
            })
        }),
    }
}

fn virtual_servers(config: &Config, map: &SourceMap, diag: &mut Diagnostics) {
    duplicates(
        "virtual_server_group",
        config
            .virtual_server_groups
            .iter()
            .map(|g| g.name.as_str())
            .zip(&map.virtual_server_groups),
        diag,
    );
    for (group, span) in config
        .virtual_server_groups
        .iter()
        .zip(&map.virtual_server_groups)
    {
        for member in &group.members {
            if let GroupMember::Range { first, last, .. } = member {
                if member.address_count().is_some_and(|n| n > MAX_GROUP_RANGE) {
                    diag.error(
                        span.clone(),
                        format!(
                            "virtual_server_group '{}': the range {first}-{last} holds more than {MAX_GROUP_RANGE} addresses, expected a smaller range",
                            group.name
                        ),
                    );
                }
            }
        }
    }
    let mut keys: HashMap<&ServiceKey, &Span> =
        HashMap::with_capacity(config.virtual_servers.len());
    for (vs, spans) in config.virtual_servers.iter().zip(&map.virtual_servers) {
        let block = &spans.block;
        if let Some(first) = keys.get(&vs.key) {
            diag.error(
                block.clone(),
                format!(
                    "duplicate virtual_server {} ({}), expected each service once",
                    vs.key,
                    first_at(first)
                ),
            );
        } else {
            keys.insert(&vs.key, block);
        }
        if let ServiceKey::Group { name, .. } = &vs.key {
            if config.virtual_server_group(name).is_none() {
                diag.error(
                    block.clone(),
                    format!("virtual_server group '{name}': no virtual_server_group of that name, expected one to be defined"),
                );
            }
        }
        virtual_server(config, vs, spans, diag);
        if config.director.dataplane == DataplaneKind::Nftables {
            nftables_service(config, vs, spans, diag);
        }
        if config.mode() == Mode::ActiveActive {
            ipv6_vips_unannounced(config, vs, block, diag);
        }
    }
}

/// Whether `vs` is (or expands to) fwmark services.
fn has_fwmark(config: &Config, vs: &VirtualServer) -> bool {
    match &vs.key {
        ServiceKey::Addr { .. } => false,
        ServiceKey::Fwmark { .. } => true,
        ServiceKey::Group { name, .. } => config.virtual_server_group(name).is_some_and(|g| {
            g.members
                .iter()
                .any(|m| matches!(m, GroupMember::Fwmark { .. }))
        }),
    }
}

/// What the nftables backend refuses at every reconcile (dataplane/nftables/render.rs)
/// and can be known from the file: an error here, so `-t` says it instead of a service
/// that never comes up. What depends on the host (a route to a DR real server, DR real
/// servers behind different interfaces) can only be seen at run time.
fn nftables_service(
    config: &Config,
    vs: &VirtualServer,
    spans: &super::keywords::VirtualServerSpans,
    diag: &mut Diagnostics,
) {
    let block = &spans.block;
    let fwmark = has_fwmark(config, vs);
    let vs_port = match vs.key {
        ServiceKey::Addr { port, .. } => Some(port).filter(|p| *p != 0),
        _ => None,
    };
    let method_name = |m: &ForwardingMethod| match m {
        ForwardingMethod::Nat => "NAT",
        ForwardingMethod::Dr => "DR",
        ForwardingMethod::Tun { .. } => "TUN",
    };
    let mut first: Option<(&ForwardingMethod, &Span)> = None;
    for (rs, span) in vs.real_servers.iter().zip(&spans.real_servers) {
        let what = format!("real_server {} port {}", rs.ip, rs.port);
        match rs.method {
            ForwardingMethod::Tun { .. } => {
                diag.error(
                    span.clone(),
                    format!("{what}: TUN forwarding is not available with 'dataplane nftables', expected NAT or DR (or 'dataplane ipvs')"),
                );
                continue;
            }
            ForwardingMethod::Dr if fwmark => diag.error(
                span.clone(),
                format!("{what}: DR forwarding of a fwmark service is not available with 'dataplane nftables' (marks are set after ingress), expected NAT (or 'dataplane ipvs')"),
            ),
            ForwardingMethod::Dr => {
                if let Some(port) = vs_port.filter(|p| rs.port != 0 && rs.port != *p) {
                    diag.error(
                        span.clone(),
                        format!("{what}: DR forwarding cannot change the destination port with 'dataplane nftables', expected port {port} or 0"),
                    );
                }
            }
            ForwardingMethod::Nat => {}
        }
        match first {
            None => first = Some((&rs.method, span)),
            Some((method, at)) if method_name(method) != method_name(&rs.method) => diag.error(
                span.clone(),
                format!(
                    "{what}: {} forwarding, but the real server {} uses {}; 'dataplane nftables' needs one forwarding method per service, expected {}",
                    method_name(&rs.method),
                    first_at(at),
                    method_name(method),
                    method_name(method)
                ),
            ),
            Some(_) => {}
        }
    }
    if let Some(sorry) = &vs.sorry_server {
        if matches!(sorry.method, ForwardingMethod::Tun { .. })
            || (fwmark && sorry.method == ForwardingMethod::Dr)
        {
            diag.error(
                block.clone(),
                format!(
                    "sorry_server {}: {} forwarding{} is not available with 'dataplane nftables', expected NAT{} (or 'dataplane ipvs')",
                    sorry.ip,
                    method_name(&sorry.method),
                    if fwmark { " of a fwmark service" } else { "" },
                    if fwmark { "" } else { " or DR" }
                ),
            );
        }
    }
}

/// The OSPFv2 speaker carries IPv4 prefixes only: an IPv6 VIP is put on lo and served,
/// but no router learns it from this director.
fn ipv6_vips_unannounced(
    config: &Config,
    vs: &VirtualServer,
    block: &Span,
    diag: &mut Diagnostics,
) {
    let ipv6 = match &vs.key {
        ServiceKey::Addr { ip, .. } => ip.is_ipv6(),
        ServiceKey::Group { name, .. } => config.virtual_server_group(name).is_some_and(|g| {
            g.members
                .iter()
                .any(|m| matches!(m, GroupMember::Range { first, .. } if first.is_ipv6()))
        }),
        ServiceKey::Fwmark { .. } => false,
    };
    if ipv6 {
        diag.warn(
            block.clone(),
            format!(
                "virtual_server {}: its IPv6 VIPs are held on lo but never announced in active-active mode (the OSPFv2 speaker carries IPv4 only), expected routers to reach them some other way",
                vs.key
            ),
        );
    }
}

fn virtual_server(
    config: &Config,
    vs: &VirtualServer,
    spans: &super::keywords::VirtualServerSpans,
    diag: &mut Diagnostics,
) {
    let block = &spans.block;
    let vs_port = match vs.key {
        ServiceKey::Addr { port, .. } => Some(port).filter(|p| *p != 0),
        _ => None,
    };
    let vs_ipv6 = is_ipv6_service(config, vs);

    let mut reals: HashMap<(IpAddr, u16), &Span> = HashMap::with_capacity(vs.real_servers.len());
    for (rs, span) in vs.real_servers.iter().zip(&spans.real_servers) {
        if let Some(first) = reals.get(&(rs.ip, rs.port)) {
            diag.error(
                span.clone(),
                format!(
                    "duplicate real_server {} port {} in virtual_server {} ({}), expected each real server once",
                    rs.ip,
                    rs.port,
                    vs.key,
                    first_at(first)
                ),
            );
        } else {
            reals.insert((rs.ip, rs.port), span);
        }
        let tunnelled = matches!(rs.method, ForwardingMethod::Tun { .. });
        if let Some(ipv6) = vs_ipv6 {
            if !tunnelled && rs.ip.is_ipv6() != ipv6 {
                diag.error(
                    span.clone(),
                    format!(
                        "real_server {} is not of the virtual server's address family, expected an IPv{} address (only TUN can mix families)",
                        rs.ip,
                        if ipv6 { 6 } else { 4 }
                    ),
                );
            }
        }
        if let (Some(port), ForwardingMethod::Dr | ForwardingMethod::Tun { .. }) =
            (vs_port, rs.method)
        {
            if rs.port != port {
                diag.warn(
                    span.clone(),
                    format!(
                        "real_server {} port {}: {} forwarding cannot change the port, it will receive port {port}",
                        rs.ip,
                        rs.port,
                        if tunnelled { "TUN" } else { "DR" }
                    ),
                );
            }
        }
    }

    if let (true, Some(span)) = (
        vs.scheduler.is_source_hashing() && vs.persistence.is_some(),
        &spans.persistence,
    ) {
        diag.warn(
            span.clone(),
            format!(
                "persistence_timeout with the {} scheduler is redundant: it already sends a client to the same real server",
                vs.scheduler.name()
            ),
        );
    }
    let flags = vs.scheduler_flags;
    if (flags.sh_port || flags.sh_fallback) && vs.scheduler != Scheduler::Sh {
        diag.warn(
            spans.scheduler.clone().unwrap_or_else(|| block.clone()),
            format!(
                "sh-port/sh-fallback only apply to the sh scheduler, not {}",
                vs.scheduler.name()
            ),
        );
    }
    if (flags.mh_port || flags.mh_fallback) && vs.scheduler != Scheduler::Mh {
        diag.warn(
            spans.scheduler.clone().unwrap_or_else(|| block.clone()),
            format!(
                "mh-port/mh-fallback only apply to the mh scheduler, not {}",
                vs.scheduler.name()
            ),
        );
    }
    let total: u64 = vs.real_servers.iter().map(|r| r.weight as u64).sum();
    if !vs.real_servers.is_empty() && (vs.quorum as u64) > total {
        diag.warn(
            spans.quorum.clone().unwrap_or_else(|| block.clone()),
            format!(
                "quorum {} can never be reached: the real servers' weights add up to {total}",
                vs.quorum
            ),
        );
    }
}

// ───────────────────────────── OSPF ─────────────────────────────

fn ospf_areas(ospf: &OspfConfig, spans: &super::keywords::OspfSpans, diag: &mut Diagnostics) {
    if ospf.areas.iter().all(|a| a.interfaces.is_empty()) {
        if let Some(block) = &spans.block {
            diag.error(
                block.clone(),
                "ospf has no interface to announce on, expected 'area ID { interface NAME { … } }'",
            );
        }
    }
    let mut areas: HashMap<std::net::Ipv4Addr, &Span> = HashMap::new();
    let mut interfaces: HashMap<&str, &Span> = HashMap::new();
    for ((area, area_span), iface_spans) in
        ospf.areas.iter().zip(&spans.areas).zip(&spans.interfaces)
    {
        if let Some(first) = areas.get(&area.id) {
            diag.error(
                area_span.clone(),
                format!(
                    "duplicate area {} ({}), expected each area once",
                    area.id,
                    first_at(first)
                ),
            );
        } else {
            areas.insert(area.id, area_span);
        }
        for (iface, span) in area.interfaces.iter().zip(iface_spans) {
            if let Some(first) = interfaces.get(iface.name.as_str()) {
                diag.error(
                    span.clone(),
                    format!(
                        "interface {} is already configured ({}), expected an interface in one area only",
                        iface.name,
                        first_at(first)
                    ),
                );
            } else {
                interfaces.insert(&iface.name, span);
            }
            if iface.dead_interval <= iface.hello_interval as u32 {
                diag.error(
                    span.clone(),
                    format!(
                        "interface {}: dead_interval {} must be longer than hello_interval {}",
                        iface.name, iface.dead_interval, iface.hello_interval
                    ),
                );
            }
        }
    }
}

/// A stub area admits no AS-external LSA (RFC 2328 §3.6), so the VIPs stay stub links of
/// the Router-LSA there, and the automatic switch to AS-external LSAs above
/// `ospf::STUB_LINK_LIMIT` VIPs cannot happen: more would not fit in one packet.
fn stub_areas_fit(
    config: &Config,
    ospf: &OspfConfig,
    spans: &super::keywords::OspfSpans,
    diag: &mut Diagnostics,
) {
    let ipv4_vips = crate::policy::configured_vips(config)
        .iter()
        .filter(|vip| vip.is_ipv4())
        .count();
    if ipv4_vips <= ospf::STUB_LINK_LIMIT {
        return;
    }
    for (area, span) in ospf.areas.iter().zip(&spans.areas) {
        if area.stub {
            diag.error(
                span.clone(),
                format!(
                    "area {} is a stub area, which admits no AS-external LSA: at most {} IPv4 VIPs can be announced in it (as stub links), the configuration has {ipv4_vips}; expected a normal area or fewer VIPs",
                    area.id,
                    ospf::STUB_LINK_LIMIT
                ),
            );
        }
    }
}

/// `ospf_metric` needs the OSPF speaker, and every service of one VIP must announce it
/// with the same metric (a service without one counts as `ospf { vip_metric }`): the VIP
/// is one route, whichever of its services keeps it announced.
fn vip_metrics(config: &Config, map: &SourceMap, diag: &mut Diagnostics) {
    let mut first: HashMap<IpAddr, (u16, &Span)> = HashMap::new();
    for (vs, spans) in config.virtual_servers.iter().zip(&map.virtual_servers) {
        let Some(ospf) = &config.ospf else {
            if let Some(span) = &spans.ospf_metric {
                diag.error(
                    span.clone(),
                    "ospf_metric is the metric of the VIP's OSPF route, expected an ospf block (active-active mode)",
                );
            }
            continue;
        };
        let metric = vs.ospf_metric.unwrap_or(ospf.vip_metric);
        let span = spans.ospf_metric.as_ref().unwrap_or(&spans.block);
        for vip in crate::policy::groups::addresses(config, vs) {
            match first.get(&vip) {
                Some((other, at)) if *other != metric => diag.error(
                    span.clone(),
                    format!(
                        "VIP {vip}: OSPF metric {metric} differs from the metric {other} of another virtual_server with this VIP ({}), expected the same ospf_metric on every service of a VIP (a service without one has ospf vip_metric {})",
                        first_at(at),
                        ospf.vip_metric
                    ),
                ),
                Some(_) => {}
                None => {
                    first.insert(vip, (metric, span));
                }
            }
        }
    }
}
