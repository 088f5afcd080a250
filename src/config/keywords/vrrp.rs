//! `vrrp_script`, `vrrp_sync_group` and `vrrp_instance`.

use super::*;

// ───────────────────────────── vrrp_script / sync group ─────────────────────────────

pub(super) fn vrrp_script(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
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

// ───────────────────────────── vrrp_track_process ─────────────────────────────

/// `vrrp_track_process NAME { }` (keepalived's vrrp_parser.c `vrrp_tprocess_*`).
pub(super) fn vrrp_track_process(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    let Some(name) = block_name(node, diag) else {
        return;
    };
    let mut draft = TrackProcessDraft {
        tp: VrrpTrackProcess {
            name,
            process: String::new(),
            params: None,
            param_match: ParamMatch::Exact,
            weight: def::TRACK_PROCESS_WEIGHT,
            reverse: false,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
            full_command: false,
        },
        param_match: false,
    };
    if let Some(children) = v::block(node, diag) {
        apply(
            &node.keyword,
            TRACK_PROCESS,
            &[],
            &mut draft,
            children,
            diag,
        );
    }
    let mut tp = draft.tp;
    if tp.process.is_empty() {
        diag.error(
            node.span.clone(),
            format!(
                "vrrp_track_process '{}' has no 'process', expected process NAME [PARAM…]",
                tp.name
            ),
        );
        return;
    }
    // `param_match` without parameters: the process must have none (keepalived.conf(5)).
    if draft.param_match && tp.params.is_none() {
        tp.params = Some(Vec::new());
    }
    if tp.quorum_max < tp.quorum {
        // keepalived: "quorum_max must be >= quorum", and it sets quorum_max = quorum.
        diag.warn(
            node.span.clone(),
            format!(
                "vrrp_track_process '{}': quorum_max {} is below quorum {}, read as {}",
                tp.name, tp.quorum_max, tp.quorum, tp.quorum
            ),
        );
        tp.quorum_max = tp.quorum;
    }
    if let Some(first) = b
        .config
        .vrrp_track_processes
        .iter()
        .position(|t| t.name == tp.name)
    {
        diag.error(
            node.span.clone(),
            format!(
                "vrrp_track_process '{}' defined twice (first at line {}), expected unique names",
                tp.name, b.map.vrrp_track_processes[first].line
            ),
        );
        return;
    }
    b.config.vrrp_track_processes.push(tp);
    b.map.vrrp_track_processes.push(node.span.clone());
}

pub struct TrackProcessDraft {
    pub(super) tp: VrrpTrackProcess,
    /// `param_match` was written.
    pub(super) param_match: bool,
}

/// keepalived's limit on the delays (`read_decimal_unsigned_strvec` … `TIMER_MAXIMUM`).
const PROCESS_DELAY_MAX_SECS: u64 = 3600;

pub const TRACK_PROCESS: &[Kw<TrackProcessDraft>] = &[
    kw!("process", |t, n, d| {
        v::no_block(n, d);
        let Some(first) = n.arg(0) else {
            v::bad(n, 0, "a process name", d);
            return;
        };
        t.tp.process = first.to_string();
        let params: Vec<String> = n.args[1..].iter().map(|a| a.text.to_string()).collect();
        t.tp.params = (!params.is_empty()).then_some(params);
    }),
    kw!("param_match", |t, n, d| {
        if let Some(m) = v::choice(
            n,
            &[
                ("initial", ParamMatch::Initial),
                ("partial", ParamMatch::Partial),
            ],
            d,
        ) {
            t.tp.param_match = m;
            t.param_match = true;
        }
    }),
    kw!("weight", |t, n, d| {
        // `weight N [reverse|noreverse]`, N from -254 to 254 (keepalived.conf(5)).
        v::no_block(n, d);
        let Some(weight) = v::int_at(n, 0, -254, 254, d) else {
            return;
        };
        let reverse = match n.arg(1) {
            None => false,
            Some(_) => match v::choice_at(n, 1, &[("reverse", true), ("noreverse", false)], d) {
                Some(r) => r,
                None => return,
            },
        };
        v::no_more_args(n, 2, d);
        t.tp.weight = weight as i32;
        t.tp.reverse = reverse;
    }),
    kw!("quorum", |t, n, d| {
        if let Some(q) = v::int(n, 0, i64::from(u32::MAX), d) {
            t.tp.quorum = q
        }
    }),
    kw!("quorum_max", |t, n, d| {
        if let Some(q) = v::int(n, 0, i64::from(u32::MAX), d) {
            t.tp.quorum_max = q
        }
    }),
    kw!("fork_delay", |t, n, d| {
        if let Some(x) = v::timer(n, PROCESS_DELAY_MAX_SECS, d) {
            t.tp.fork_delay = x
        }
    }),
    kw!("terminate_delay", |t, n, d| {
        if let Some(x) = v::timer(n, PROCESS_DELAY_MAX_SECS, d) {
            t.tp.terminate_delay = x
        }
    }),
    kw!("delay", |t, n, d| {
        if let Some(x) = v::timer(n, PROCESS_DELAY_MAX_SECS, d) {
            t.tp.fork_delay = x;
            t.tp.terminate_delay = x;
        }
    }),
    kw!("full_command", |t, n, d| {
        v::bare(n, d);
        t.tp.full_command = true
    }),
];

pub struct VrrpScriptDraft {
    pub(super) script: VrrpScript,
}

/// A command given as all the words after the keyword (`script killall -0 haproxy` or
/// `script "killall -0 haproxy"`).
pub(super) fn command(n: &Node, d: &mut Diagnostics) -> Option<String> {
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
pub(super) fn weight_and_reverse(
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
        v::script_user(n, d).map(Box::new).or(s
            .script
            .script
            .user
            .take())),
    kw!("init_fail", |s, n, d| {
        v::bare(n, d);
        s.script.init_fail = true
    }),
];

pub(super) fn track_interfaces(n: &Node, d: &mut Diagnostics) -> Vec<TrackInterface> {
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

pub(super) fn track_scripts(n: &Node, d: &mut Diagnostics) -> Vec<(TrackScript, Span)> {
    named_weight_refs(n, 253, d, |name, weight, reverse| TrackScript {
        name,
        weight,
        reverse,
    })
}

/// The entries `NAME [weight -MAX..MAX] [reverse|noreverse]` of a `track_*` block, each
/// made into a reference by `make`.
fn named_weight_refs<T>(
    n: &Node,
    max_weight: i64,
    d: &mut Diagnostics,
    make: impl Fn(String, Option<i32>, bool) -> T,
) -> Vec<(T, Span)> {
    let Some(children) = v::block(n, d) else {
        return Vec::new();
    };
    children
        .iter()
        .filter_map(|c| {
            v::no_block(c, d);
            let (weight, reverse) = weight_and_reverse(c, 0, max_weight, d)?;
            Some((make(c.keyword.to_string(), weight, reverse), c.span.clone()))
        })
        .collect()
}

/// `track_file { NAME [weight -254..254] [reverse|noreverse] }` (and `track_process`, the
/// same shape) of an instance or a sync group; the names are resolved against the
/// top-level blocks in validation, so a block may come before or after its users.
pub(super) fn track_file_refs(n: &Node, d: &mut Diagnostics) -> Vec<(TrackFileRef, Span)> {
    // keepalived's vrrp_track.c `alloc_track_file` range.
    named_weight_refs(n, 254, d, |name, weight, reverse| TrackFileRef {
        name,
        weight,
        reverse,
    })
}

pub(super) fn vrrp_sync_group(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
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
            track_file: Vec::new(),
            track_process: Vec::new(),
            track_bfd: Vec::new(),
        },
        spans: SyncGroupSpans {
            block: Some(node.span.clone()),
            members: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            track_bfds: Vec::new(),
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
    pub(super) group: VrrpSyncGroup,
    pub(super) spans: SyncGroupSpans,
}

pub const SYNC_GROUP_IGNORED: &[&str] = &["track_process", "notify_priority_changes"];

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
    kw_many!("track_file", |g, n, d| {
        for (t, span) in track_file_refs(n, d) {
            g.group.track_file.push(t);
            g.spans.track_files.push(span);
        }
    }),
    kw_many!("track_process", |g, n, d| {
        for (t, span) in track_file_refs(n, d) {
            g.group.track_process.push(t);
            g.spans.track_processes.push(span);
        }
    }),
    kw_many!("track_bfd", |g, n, d| {
        for (t, span) in track_file_refs(n, d) {
            g.group.track_bfd.push(t);
            g.spans.track_bfds.push(span);
        }
    }),
];

// ───────────────────────────── vrrp_instance ─────────────────────────────

/// Instance settings that default to a global_defs value, resolved in
/// [`Builder::finish`].
#[derive(Default)]
pub(super) struct InstanceOverrides {
    pub(super) version: Option<u8>,
    pub(super) garp_master_delay: Option<Duration>,
    pub(super) garp_master_repeat: Option<u32>,
    pub(super) garp_master_refresh: Option<Duration>,
    pub(super) garp_master_refresh_repeat: Option<u32>,
    pub(super) garp_lower_prio_delay: Option<Duration>,
    pub(super) garp_lower_prio_repeat: Option<u32>,
    pub(super) skip_check_adv_addr: Option<bool>,
    pub(super) strict_mode: Option<bool>,
    pub(super) check_unicast_src: Option<bool>,
    pub(super) down_timer_adverts: Option<u8>,
    pub(super) lower_prio_no_advert: Option<bool>,
    pub(super) higher_prio_send_advert: Option<bool>,
    pub(super) accept: Option<bool>,
}

pub struct InstanceDraft {
    pub(super) inst: VrrpInstance,
    pub(super) overrides: InstanceOverrides,
    pub(super) spans: InstanceSpans,
}

pub(super) fn vrrp_instance(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
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
            track_file: Vec::new(),
            track_process: Vec::new(),
            track_bfd: Vec::new(),
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
            track_files: Vec::new(),
            track_processes: Vec::new(),
            track_bfds: Vec::new(),
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

pub(super) fn lvs_sync_interface(i: &mut InstanceDraft, n: &Node, d: &mut Diagnostics) {
    if let Some(s) = v::string(n, "an interface name", d) {
        i.inst.lvs_sync_daemon_interface = Some(s)
    }
}

pub(super) fn version(i: &mut InstanceDraft, n: &Node, d: &mut Diagnostics) {
    i.overrides.version = v::int(n, 2, 3, d).or(i.overrides.version)
}

pub(super) fn parse_vmac(n: &Node, d: &mut Diagnostics) -> Option<UseVmac> {
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
    kw_many!("track_file", |i, n, d| {
        for (t, span) in track_file_refs(n, d) {
            i.inst.track_file.push(t);
            i.spans.track_files.push(span);
        }
    }),
    kw_many!("track_process", |i, n, d| {
        for (t, span) in track_file_refs(n, d) {
            i.inst.track_process.push(t);
            i.spans.track_processes.push(span);
        }
    }),
    kw_many!("track_bfd", |i, n, d| {
        for (t, span) in track_file_refs(n, d) {
            i.inst.track_bfd.push(t);
            i.spans.track_bfds.push(span);
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
    pub(super) kind: Option<&'static str>,
    pub(super) pass: Option<String>,
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
