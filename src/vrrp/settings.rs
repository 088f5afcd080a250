//! Runtime settings of the VRRP module, derived from the configuration model: every
//! keepalived default and inheritance resolved, units converted to wire units, and the
//! combinations keepalived refuses (or silently fixes) handled here, once.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::config::model::{
    AddressScope, Config, IpAddressSpec, RouteSpec, Script, TrackFileDef, TrackFileRef,
    TrackInterface, VrrpAuth, VrrpInstance, VrrpScript, VrrpSyncGroup, VrrpTrackProcess,
};
use crate::net::Scope;

use super::packet::{Auth, Family, Version};
use super::VrrpError;

/// A virtual address and how to install it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vip {
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// `dev`: an interface other than the instance's.
    pub dev: Option<String>,
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    pub scope: Scope,
}

/// Gratuitous ARP / unsolicited NA schedule (keepalived's `garp_*` settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GarpSettings {
    /// Second burst this long after becoming master (0: none).
    pub master_delay: Duration,
    /// Messages per burst.
    pub master_repeat: u32,
    /// Periodic burst while master (0: none).
    pub master_refresh: Duration,
    pub master_refresh_repeat: u32,
    /// Gap between messages of a burst (`vrrp_garp_interval` / `vrrp_gna_interval`).
    pub interval: Duration,
    /// The schedule after a master hears a lower priority advert (`garp_lower_prio_*`).
    pub lower_prio_delay: Duration,
    pub lower_prio_repeat: u32,
}

/// A tracked script as an instance uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedScript {
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
}

/// A tracked file as an instance uses it (its own `track_file` and its sync group's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedFile {
    pub name: String,
    /// 0: a non-zero value is FAULT; otherwise value × weight joins the priority.
    pub weight: i64,
    pub reverse: bool,
}

/// A tracked process as an instance uses it: up while its quorum holds; the weight works
/// as a vrrp_script's.
pub type TrackedProcess = TrackedScript;

/// A tracked `bfd_instance`: up while its BFD session is Up; the weight works as a
/// vrrp_script's.
pub type TrackedBfd = TrackedScript;

/// The notify scripts of an instance or a sync group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifyScripts {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    /// Called after the specific one with `INSTANCE|GROUP name STATE priority`.
    pub generic: Option<Script>,
}

/// Everything one instance needs at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSettings {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub version: Version,
    pub family: Family,
    pub priority: u8,
    /// Wire units: seconds (v2) or centiseconds (v3).
    pub adver_int: u16,
    pub preempt: bool,
    pub preempt_delay: Duration,
    pub auth: Auth,
    /// Advertised and installed.
    pub vips: Vec<Vip>,
    /// Installed, not advertised (`virtual_ipaddress_excluded`, other-family addresses).
    pub excluded_vips: Vec<Vip>,
    pub routes: Vec<RouteSpec>,
    /// Source of adverts: `unicast_src_ip` / `mcast_src_ip`, else the interface's primary.
    pub src_ip: Option<IpAddr>,
    pub unicast_peers: Vec<IpAddr>,
    pub mcast_group: IpAddr,
    /// `use_vmac`: macvlan name and MAC (00:00:5e:00:01:VRID, or :02: for IPv6).
    pub vmac: Option<(String, [u8; 6])>,
    pub vmac_xmit_base: bool,
    pub garp: GarpSettings,
    pub track_interfaces: Vec<TrackInterface>,
    pub track_scripts: Vec<TrackedScript>,
    pub track_files: Vec<TrackedFile>,
    pub track_processes: Vec<TrackedProcess>,
    pub track_bfds: Vec<TrackedBfd>,
    pub dont_track_primary: bool,
    pub notify: NotifyScripts,
    pub notify_master_rx_lower_pri: Option<Script>,
    pub smtp_alert: bool,
    pub strict: bool,
    pub v3_checksum_as_v2: bool,
    pub skip_check_adv_addr: bool,
    pub check_unicast_src: bool,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub down_timer_adverts: u8,
}

impl InstanceSettings {
    /// Fields whose change needs a restart of the instance (new sockets, new identity).
    pub fn same_identity(&self, other: &InstanceSettings) -> bool {
        self.interface == other.interface
            && self.vrid == other.vrid
            && self.version == other.version
            && self.family == other.family
            && self.vmac == other.vmac
            && self.vmac_xmit_base == other.vmac_xmit_base
            && self.src_ip == other.src_ip
            && self.unicast_peers == other.unicast_peers
            && self.mcast_group == other.mcast_group
    }

    /// Every address the instance installs.
    pub fn all_vips(&self) -> impl Iterator<Item = &Vip> {
        self.vips.iter().chain(self.excluded_vips.iter())
    }
}

/// A `vrrp_sync_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupSettings {
    pub name: String,
    pub members: Vec<String>,
    pub notify: NotifyScripts,
    pub smtp_alert: bool,
}

/// Mail settings from global_defs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmtpSettings {
    pub server: Option<(String, u16)>,
    pub helo: String,
    pub from: String,
    pub to: Vec<String>,
    pub connect_timeout: Duration,
    pub router_id: String,
}

/// All VRRP settings of a configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub instances: Vec<InstanceSettings>,
    pub sync_groups: Vec<SyncGroupSettings>,
    pub scripts: Vec<VrrpScript>,
    /// The `track_file` blocks, for the files the instances track.
    pub track_files: Vec<TrackFileDef>,
    /// The `vrrp_track_process` blocks, for the processes the instances track.
    pub track_processes: Vec<VrrpTrackProcess>,
    pub smtp: SmtpSettings,
    /// Messages about settings keepalived would accept with a warning.
    pub warnings: Vec<String>,
}

fn scope(s: Option<AddressScope>) -> Scope {
    match s {
        None | Some(AddressScope::Global) => Scope::Global,
        Some(AddressScope::Site) => Scope::Site,
        Some(AddressScope::Link) => Scope::Link,
        Some(AddressScope::Host) => Scope::Host,
        Some(AddressScope::Nowhere) => Scope::Nowhere,
    }
}

fn vip(spec: &IpAddressSpec) -> Vip {
    Vip {
        addr: spec.address.ip(),
        prefix_len: spec.address.prefix(),
        dev: spec.dev.clone(),
        label: spec.label.clone(),
        broadcast: match spec.broadcast {
            Some(IpAddr::V4(b)) => Some(b),
            _ => None,
        },
        scope: scope(spec.scope),
    }
}

/// The advert interval in wire units, rounded as keepalived does (v2: whole seconds, at
/// least 1; v3: centiseconds, 1..=4095).
fn adver_int(version: Version, d: Duration, warnings: &mut Vec<String>, name: &str) -> u16 {
    match version {
        Version::V2 => {
            let secs = d.as_secs_f64().round().clamp(1.0, 255.0) as u16;
            if (d.as_secs_f64() - f64::from(secs)).abs() > f64::EPSILON {
                warnings.push(format!(
                    "vrrp_instance {name}: VRRPv2 advert_int must be whole seconds; using {secs}"
                ));
            }
            secs
        }
        Version::V3 => {
            let cs = (d.as_millis() / 10).clamp(1, 4095) as u16;
            if d.as_millis() % 10 != 0 || d.as_millis() / 10 != u128::from(cs) {
                warnings.push(format!(
                    "vrrp_instance {name}: VRRPv3 advert_int is in centiseconds 0.01..40.95; using {cs} cs"
                ));
            }
            cs
        }
    }
}

impl Settings {
    /// Resolves the VRRP part of `config`. Every refusal here is also a config
    /// validation error with its place (config/validate.rs), so a configuration that
    /// loaded never fails here; the checks stay as guards for hand-built models.
    pub fn from_config(config: &Config) -> Result<Settings, VrrpError> {
        let mut warnings = Vec::new();
        let mut instances = Vec::new();
        for inst in &config.vrrp_instances {
            instances.push(instance(config, inst, &mut warnings)?);
        }
        for (i, a) in instances.iter().enumerate() {
            for b in &instances[i + 1..] {
                if a.interface == b.interface && a.vrid == b.vrid && a.family == b.family {
                    return Err(VrrpError::Config {
                        instance: b.name.clone(),
                        message: format!(
                            "virtual_router_id {} on {} is already used by {}",
                            b.vrid, b.interface, a.name
                        ),
                    });
                }
            }
        }
        let mut sync_groups = Vec::new();
        for group in &config.vrrp_sync_groups {
            // A member naming no instance is ignored, as keepalived does (config
            // validation warns about it with its place).
            let members = group
                .group
                .iter()
                .filter(|m| instances.iter().any(|i| &i.name == *m))
                .cloned()
                .collect();
            sync_groups.push(SyncGroupSettings {
                name: group.name.clone(),
                members,
                notify: NotifyScripts {
                    master: group.notify_master.clone(),
                    backup: group.notify_backup.clone(),
                    fault: group.notify_fault.clone(),
                    stop: group.notify_stop.clone(),
                    generic: group.notify.clone(),
                },
                smtp_alert: group.smtp_alert || global_smtp_alert(config),
            });
        }
        Ok(Settings {
            instances,
            sync_groups,
            scripts: config.vrrp_scripts.clone(),
            track_files: config.track_files.clone(),
            track_processes: config.vrrp_track_processes.clone(),
            smtp: SmtpSettings::from_config(config),
            warnings,
        })
    }

    pub fn instance(&self, name: &str) -> Option<&InstanceSettings> {
        self.instances.iter().find(|i| i.name == name)
    }

    pub fn group_of(&self, instance: &str) -> Option<&SyncGroupSettings> {
        self.sync_groups
            .iter()
            .find(|g| g.members.iter().any(|m| m == instance))
    }
}

fn global_smtp_alert(config: &Config) -> bool {
    let g = &config.global_defs;
    g.smtp_alert_vrrp.or(g.smtp_alert).unwrap_or(false)
}

impl SmtpSettings {
    /// global_defs' mail settings, shared by VRRP and checker alerts.
    pub fn from_config(config: &Config) -> Self {
        let g = &config.global_defs;
        SmtpSettings {
            server: g.smtp_server.as_ref().map(|s| (s.host.clone(), s.port)),
            helo: g.smtp_helo_name.clone().unwrap_or_else(hostname),
            from: g
                .notification_email_from
                .clone()
                .unwrap_or_else(|| format!("keepalived@{}", hostname())),
            to: g.notification_email.clone(),
            connect_timeout: g.smtp_connect_timeout,
            router_id: g.router_id.clone().unwrap_or_else(hostname),
        }
    }
}

/// The host's name, as keepalived uses it for router_id and HELO defaults.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

fn instance(
    config: &Config,
    inst: &VrrpInstance,
    warnings: &mut Vec<String>,
) -> Result<InstanceSettings, VrrpError> {
    let g = &config.global_defs.vrrp;
    let err = |message: String| VrrpError::Config {
        instance: inst.name.clone(),
        message,
    };
    let interface = inst
        .interface
        .clone()
        .or_else(|| config.global_defs.default_interface.clone())
        .ok_or_else(|| err("no interface (and no global default_interface)".into()))?;
    if inst.virtual_router_id == 0 {
        return Err(err("virtual_router_id must be 1..255".into()));
    }
    if inst.priority == 0 {
        return Err(err("priority must be 1..255".into()));
    }
    // The family is the first virtual address's (keepalived); addresses of the other
    // family are installed but not advertised.
    let family = inst
        .virtual_ipaddress
        .first()
        .map(|s| Family::of(&s.address.ip()))
        .or(inst.unicast_src_ip.map(|a| Family::of(&a)))
        .unwrap_or(Family::V4);
    let mut version = if inst.version == 3 {
        Version::V3
    } else {
        Version::V2
    };
    if family == Family::V6 && version == Version::V2 {
        warnings.push(format!(
            "vrrp_instance {}: IPv6 needs VRRPv3; using version 3",
            inst.name
        ));
        version = Version::V3;
    }
    let (mut vips, mut excluded_vips) = (Vec::new(), Vec::new());
    for spec in &inst.virtual_ipaddress {
        if Family::of(&spec.address.ip()) == family {
            vips.push(vip(spec));
        } else {
            warnings.push(format!(
                "vrrp_instance {}: {} is not of the instance's family; installed but not advertised",
                inst.name, spec.address
            ));
            excluded_vips.push(vip(spec));
        }
    }
    excluded_vips.extend(inst.virtual_ipaddress_excluded.iter().map(vip));

    let strict = inst.strict_mode;
    let mut auth = match &inst.authentication {
        None => Auth::None,
        Some(VrrpAuth::Pass { auth_pass }) => {
            if version == Version::V3 {
                warnings.push(format!(
                    "vrrp_instance {}: authentication is not part of VRRPv3; ignored",
                    inst.name
                ));
                Auth::None
            } else {
                warnings.push(format!(
                    "vrrp_instance {}: auth_type PASS sends the password in clear text; it \
                     protects against misconfiguration only, not against attackers",
                    inst.name
                ));
                Auth::password(auth_pass)
            }
        }
        Some(VrrpAuth::Ah { .. }) => {
            return Err(err(
                "auth_type AH is not supported (use PASS or none)".into()
            ))
        }
    };
    let mut unicast_peers: Vec<IpAddr> = inst.unicast_peer.iter().map(|p| p.address).collect();
    if strict {
        // vrrp_strict (keepalived.conf(5)): no authentication, no unicast peers.
        if auth != Auth::None {
            warnings.push(format!(
                "vrrp_instance {}: strict mode forbids authentication; disabled",
                inst.name
            ));
            auth = Auth::None;
        }
        if !unicast_peers.is_empty() {
            warnings.push(format!(
                "vrrp_instance {}: strict mode forbids unicast peers; using multicast",
                inst.name
            ));
            unicast_peers.clear();
        }
    }
    if let Some(p) = unicast_peers.iter().find(|p| Family::of(p) != family) {
        return Err(err(format!(
            "unicast_peer {p} is not of the instance's family"
        )));
    }
    let src_ip = inst.unicast_src_ip.or(inst.mcast_src_ip);
    let mcast_group = match (inst.mcast_dst_ip, family) {
        (Some(a), _) => a,
        (None, Family::V4) => IpAddr::V4(g.mcast_group4),
        (None, Family::V6) => IpAddr::V6(g.mcast_group6),
    };
    let vmac = inst.use_vmac.as_ref().map(|v| {
        let name = v
            .interface
            .clone()
            .unwrap_or_else(|| format!("vrrp.{}", inst.virtual_router_id));
        let kind = if family == Family::V6 { 0x02 } else { 0x01 };
        (name, [0x00, 0x00, 0x5e, 0x00, kind, inst.virtual_router_id])
    });
    // A track_script naming no vrrp_script is ignored, as keepalived does (config
    // validation warns about it with its place).
    let track_scripts = inst
        .track_script
        .iter()
        .filter_map(|t| {
            let script = config.vrrp_script(&t.name)?;
            Some(TrackedScript {
                name: t.name.clone(),
                weight: t.weight.unwrap_or(script.weight),
                reverse: t.reverse || script.weight_reverse,
            })
        })
        .collect();
    let track_files = tracked_files(config, inst);
    let track_processes = tracked_processes(config, inst);
    let track_bfds = tracked_bfds(config, inst);
    let interval = if family == Family::V6 {
        g.gna_interval
    } else {
        g.garp_interval
    };
    Ok(InstanceSettings {
        name: inst.name.clone(),
        interface,
        vrid: inst.virtual_router_id,
        version,
        family,
        priority: inst.priority,
        adver_int: adver_int(version, inst.advert_int, warnings, &inst.name),
        preempt: !inst.nopreempt,
        preempt_delay: inst.preempt_delay,
        auth,
        vips,
        excluded_vips,
        routes: inst.virtual_routes.clone(),
        src_ip,
        unicast_peers,
        mcast_group,
        vmac,
        vmac_xmit_base: inst.vmac_xmit_base,
        garp: GarpSettings {
            master_delay: inst.garp_master_delay,
            master_repeat: inst.garp_master_repeat.max(1),
            master_refresh: inst.garp_master_refresh,
            master_refresh_repeat: inst.garp_master_refresh_repeat.max(1),
            interval,
            lower_prio_delay: inst.garp_lower_prio_delay,
            lower_prio_repeat: inst.garp_lower_prio_repeat,
        },
        track_interfaces: inst.track_interface.clone(),
        track_scripts,
        track_files,
        track_processes,
        track_bfds,
        dont_track_primary: inst.dont_track_primary,
        notify: NotifyScripts {
            master: inst.notify_master.clone(),
            backup: inst.notify_backup.clone(),
            fault: inst.notify_fault.clone(),
            stop: inst.notify_stop.clone(),
            generic: inst.notify.clone(),
        },
        notify_master_rx_lower_pri: inst.notify_master_rx_lower_pri.clone(),
        smtp_alert: inst.smtp_alert || global_smtp_alert(config),
        strict,
        v3_checksum_as_v2: false,
        skip_check_adv_addr: inst.skip_check_adv_addr,
        check_unicast_src: inst.check_unicast_src,
        lower_prio_no_advert: inst.lower_prio_no_advert,
        higher_prio_send_advert: inst.higher_prio_send_advert,
        down_timer_adverts: inst.down_timer_adverts.max(1),
    })
}

/// The files and processes `inst` tracks: its own, then its sync group's, each once (the
/// first wins), naming an existing block (others are ignored, as keepalived does; config
/// validation warns about each of these rules with its place). As in keepalived (vrrp.c
/// `vrrp_complete_instance`): in a sync group without `sync_group_tracking_weight` every
/// weight becomes 0, and the address owner (priority 255) drops weighted ones, its
/// priority being fixed. `lookup` gives the block's (weight, reverse).
fn tracked(
    config: &Config,
    inst: &VrrpInstance,
    own: &[TrackFileRef],
    of_group: fn(&VrrpSyncGroup) -> &[TrackFileRef],
    lookup: impl Fn(&str) -> Option<(i64, bool)>,
) -> Vec<(String, i64, bool)> {
    let group = config
        .vrrp_sync_groups
        .iter()
        .find(|g| g.group.contains(&inst.name));
    let weighted = group.is_none_or(|g| g.sync_group_tracking_weight);
    let group_refs = group.into_iter().flat_map(|g| of_group(g).iter());
    let mut out: Vec<(String, i64, bool)> = Vec::new();
    for r in own.iter().chain(group_refs) {
        let Some((default_weight, default_reverse)) = lookup(&r.name) else {
            continue;
        };
        if out.iter().any(|(name, _, _)| *name == r.name) {
            continue;
        }
        let weight = if weighted {
            r.weight.map(i64::from).unwrap_or(default_weight)
        } else {
            0
        };
        if weight != 0 && inst.priority == super::fsm::PRIORITY_OWNER {
            continue;
        }
        out.push((r.name.clone(), weight, r.reverse || default_reverse));
    }
    out
}

fn tracked_files(config: &Config, inst: &VrrpInstance) -> Vec<TrackedFile> {
    tracked(
        config,
        inst,
        &inst.track_file,
        |g| &g.track_file,
        |n| config.track_file(n).map(|d| (d.weight, d.reverse)),
    )
    .into_iter()
    .map(|(name, weight, reverse)| TrackedFile {
        name,
        weight,
        reverse,
    })
    .collect()
}

fn tracked_processes(config: &Config, inst: &VrrpInstance) -> Vec<TrackedProcess> {
    tracked(
        config,
        inst,
        &inst.track_process,
        |g| &g.track_process,
        |n| {
            config
                .track_process(n)
                .map(|d| (i64::from(d.weight), d.reverse))
        },
    )
    .into_iter()
    .map(|(name, weight, reverse)| TrackedProcess {
        name,
        // Within −254..=254: the keyword tables bound every weight.
        weight: weight as i32,
        reverse,
    })
    .collect()
}

fn tracked_bfds(config: &Config, inst: &VrrpInstance) -> Vec<TrackedBfd> {
    tracked(
        config,
        inst,
        &inst.track_bfd,
        |g| &g.track_bfd,
        |n| config.bfd_instance(n).map(|b| (b.weight, b.reverse)),
    )
    .into_iter()
    .map(|(name, weight, reverse)| TrackedBfd {
        name,
        // Within −254..=254: the keyword tables bound every weight.
        weight: weight as i32,
        reverse,
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"
global_defs {
    router_id LB1
    notification_email {
        ops@example.org
    }
    notification_email_from lb1@example.org
    smtp_server 127.0.0.1 2525
    vrrp_garp_master_delay 2
}
vrrp_script chk_haproxy {
    script "/usr/bin/pgrep haproxy"
    interval 2
    weight -20
    fall 3
    rise 2
}
vrrp_sync_group VG_1 {
    group {
        VI_WAN
        VI_LAN
    }
    notify "/usr/local/bin/notify.sh"
}
vrrp_instance VI_WAN {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass verysecretpassword
    }
    virtual_ipaddress {
        192.0.2.10/24 dev eth0 label eth0:vip
        2001:db8::10/64
    }
    track_script {
        chk_haproxy
    }
    smtp_alert
}
vrrp_instance VI_LAN {
    interface eth1
    virtual_router_id 52
    priority 150
    advert_int 0.5
    version 3
    nopreempt
    use_vmac
    unicast_src_ip 10.0.0.1
    unicast_peer {
        10.0.0.2
    }
    virtual_ipaddress {
        10.0.0.10/24
    }
}
vrrp_instance VI_6 {
    interface eth1
    virtual_router_id 53
    virtual_ipaddress {
        fd00::10/64
    }
}
"#;

    /// `track_file` in instances and sync groups, resolved as keepalived does; each
    /// rule it changes or ignores is a warning at its place.
    #[test]
    fn track_files_resolve_with_keepalived_weights() {
        let conf = r#"
vrrp_instance SOLO {
    interface eth0
    virtual_router_id 1
    track_file {
        flag
        level weight -3 reverse
        level
        ghost
    }
    virtual_ipaddress {
        10.0.0.1
    }
}
vrrp_instance OWNER {
    interface eth0
    virtual_router_id 2
    priority 255
    track_file {
        level
        flag weight 0
    }
    virtual_ipaddress {
        10.0.0.2
    }
}
vrrp_sync_group G {
    group {
        A
        B
    }
    track_file {
        level
    }
}
vrrp_instance A {
    interface eth0
    virtual_router_id 3
    track_file {
        flag weight 5
    }
    virtual_ipaddress {
        10.0.0.3
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 4
    virtual_ipaddress {
        10.0.0.4
    }
}
track_file level {
    file "/run/level"
    weight 10
}
track_file flag {
    file "/run/flag"
    weight 0
}
"#;
        let loaded = match crate::config::parse_str("tf.conf", conf) {
            Ok(l) => l,
            Err(e) => panic!("config: {e}"),
        };
        let s = Settings::from_config(&loaded.config).expect("settings");
        let file = |name: &str, weight: i64, reverse: bool| TrackedFile {
            name: name.into(),
            weight,
            reverse,
        };
        // The block after its users is found; the first mention wins; unknown ignored.
        assert_eq!(
            s.instance("SOLO").expect("SOLO").track_files,
            vec![file("flag", 0, false), file("level", -3, true)]
        );
        // The address owner keeps only pass/fail files.
        assert_eq!(
            s.instance("OWNER").expect("OWNER").track_files,
            vec![file("flag", 0, false)]
        );
        // In a sync group without sync_group_tracking_weight every weight is 0, and the
        // group's files apply to every member.
        assert_eq!(
            s.instance("A").expect("A").track_files,
            vec![file("flag", 0, false), file("level", 0, false)]
        );
        assert_eq!(
            s.instance("B").expect("B").track_files,
            vec![file("level", 0, false)]
        );
        let warnings: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
        for expected in [
            "tf.conf:8:9: warning: duplicate track_file 'level', ignored",
            "tf.conf:9:9: warning: track_file 'ghost' names no track_file block, ignored",
            "tf.conf:20:9: warning: track_file 'level' with weight 10 ignored: the address owner's priority stays 255",
            "tf.conf:33:9: warning: track_file 'level': weight 10 ignored in vrrp_sync_group 'G' without sync_group_tracking_weight",
            "tf.conf:40:9: warning: track_file 'flag': weight 5 ignored in vrrp_sync_group 'G'",
        ] {
            assert!(
                warnings.iter().any(|w| w.starts_with(expected)),
                "missing {expected:?} in {warnings:#?}"
            );
        }
        assert!(
            !warnings.iter().any(|w| w.contains("not act on")),
            "{warnings:#?}"
        );

        // With sync_group_tracking_weight the weights stay.
        let weighted = conf.replace(
            "    track_file {\n        level\n    }\n}",
            "    sync_group_tracking_weight\n    track_file {\n        level\n    }\n}",
        );
        assert_ne!(weighted, conf);
        let loaded = crate::config::parse_str("tf.conf", &weighted).expect("weighted");
        let s = Settings::from_config(&loaded.config).expect("settings");
        assert_eq!(
            s.instance("A").expect("A").track_files,
            vec![file("flag", 5, false), file("level", 10, false)]
        );
    }

    /// `vrrp_track_process` blocks load with keepalived's defaults and rules, and
    /// instances resolve `track_process` as they do `track_file`.
    #[test]
    fn track_processes_load_and_resolve() {
        let conf = r#"
vrrp_track_process haproxy {
    process "/usr/sbin/haproxy" -f "/etc/h a.cfg"
    param_match initial
    weight 20 reverse
    quorum 2
    quorum_max 1
    delay 1.5
    terminate_delay 3
}
vrrp_track_process bare {
    process nginx
    param_match partial
    full_command
}
vrrp_instance V {
    interface eth0
    virtual_router_id 1
    track_process {
        haproxy weight -5
        bare
        nothing
    }
    virtual_ipaddress {
        10.0.0.1
    }
}
"#;
        let loaded = match crate::config::parse_str("tp.conf", conf) {
            Ok(l) => l,
            Err(e) => panic!("config: {e}"),
        };
        let c = &loaded.config;
        let h = c.track_process("haproxy").expect("haproxy");
        assert_eq!(h.process, "/usr/sbin/haproxy");
        assert_eq!(
            h.params,
            Some(vec!["-f".to_string(), "/etc/h a.cfg".to_string()])
        );
        assert_eq!(h.param_match, crate::config::model::ParamMatch::Initial);
        assert_eq!((h.weight, h.reverse), (20, true));
        // quorum_max below quorum is raised to it, with a warning.
        assert_eq!((h.quorum, h.quorum_max), (2, 2));
        assert_eq!(h.fork_delay, Duration::from_millis(1500));
        assert_eq!(h.terminate_delay, Duration::from_secs(3));
        let b = c.track_process("bare").expect("bare");
        assert_eq!(
            b.params,
            Some(Vec::new()),
            "param_match alone: no parameters"
        );
        assert!(b.full_command);
        assert_eq!((b.weight, b.quorum, b.quorum_max), (1, 1, u32::MAX));
        let s = Settings::from_config(c).expect("settings");
        let names: Vec<(String, i32, bool)> = s
            .instance("V")
            .expect("V")
            .track_processes
            .iter()
            .map(|t| (t.name.clone(), t.weight, t.reverse))
            .collect();
        assert_eq!(
            names,
            vec![("haproxy".into(), -5, true), ("bare".into(), 1, false)]
        );
        let warnings: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
        for expected in [
            "tp.conf:2:1: warning: vrrp_track_process 'haproxy': quorum_max 1 is below quorum 2, read as 2",
            "tp.conf:22:9: warning: track_process 'nothing' names no vrrp_track_process block, ignored",
        ] {
            assert!(
                warnings.iter().any(|w| w.starts_with(expected)),
                "missing {expected:?} in {warnings:#?}"
            );
        }
        assert!(
            !warnings.iter().any(|w| w.contains("not use")),
            "{warnings:#?}"
        );
        // No process: an error with its place.
        let err = crate::config::parse_str("tp.conf", "vrrp_track_process x {\n    quorum 1\n}\n")
            .map(|_| ())
            .expect_err("no process");
        assert!(
            err.to_string()
                .contains("tp.conf:1:1: vrrp_track_process 'x' has no 'process'"),
            "{err}"
        );
    }

    #[test]
    fn keepalived_conf_resolves() {
        let loaded = match crate::config::parse_str("test.conf", CONF) {
            Ok(l) => l,
            Err(e) => panic!("config: {e}"),
        };
        let s = Settings::from_config(&loaded.config).expect("settings");
        let wan = s.instance("VI_WAN").expect("VI_WAN");
        assert_eq!(wan.version, Version::V2);
        assert_eq!(wan.family, Family::V4);
        assert_eq!(wan.adver_int, 1);
        assert_eq!(wan.auth, Auth::Password(*b"verysecr"));
        assert_eq!(wan.vips.len(), 1);
        assert_eq!(wan.vips[0].label.as_deref(), Some("eth0:vip"));
        assert_eq!(
            wan.excluded_vips.len(),
            1,
            "the IPv6 address is not advertised by v2"
        );
        assert_eq!(wan.track_scripts[0].weight, -20);
        assert_eq!(wan.garp.master_delay, Duration::from_secs(2));
        assert!(wan.smtp_alert);
        assert!(wan.preempt);
        let lan = s.instance("VI_LAN").expect("VI_LAN");
        assert_eq!(lan.version, Version::V3);
        assert_eq!(lan.adver_int, 50, "0.5 s in centiseconds");
        assert!(!lan.preempt);
        assert_eq!(lan.vmac, Some(("vrrp.52".into(), [0, 0, 0x5e, 0, 1, 52])));
        assert_eq!(
            lan.unicast_peers,
            vec!["10.0.0.2".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(lan.src_ip, Some("10.0.0.1".parse().unwrap()));
        let v6 = s.instance("VI_6").expect("VI_6");
        assert_eq!(v6.version, Version::V3, "IPv6 forces VRRPv3");
        assert_eq!(v6.family, Family::V6);
        assert_eq!(v6.mcast_group, IpAddr::V6(super::super::packet::MCAST_V6));
        assert_eq!(v6.priority, 100);
        let g = s.group_of("VI_LAN").expect("group");
        assert_eq!(g.name, "VG_1");
        assert!(g.notify.generic.is_some());
        assert_eq!(s.smtp.server, Some(("127.0.0.1".into(), 2525)));
        assert_eq!(s.smtp.router_id, "LB1");
        assert!(s.warnings.iter().any(|w| w.contains("clear text")));
    }

    #[test]
    fn strict_mode_drops_auth_and_unicast_with_warnings() {
        let conf = r#"
global_defs {
    vrrp_strict
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 9
    authentication {
        auth_type PASS
        auth_pass x
    }
    unicast_peer {
        10.0.0.2
    }
    virtual_ipaddress {
        10.0.0.10/24
    }
}
"#;
        let loaded = match crate::config::parse_str("strict.conf", conf) {
            Ok(l) => l,
            Err(e) => panic!("config: {e}"),
        };
        let s = Settings::from_config(&loaded.config).expect("settings");
        let i = s.instance("VI_1").expect("VI_1");
        assert!(i.strict);
        assert_eq!(i.auth, Auth::None);
        assert!(i.unicast_peers.is_empty());
        assert!(s
            .warnings
            .iter()
            .any(|w| w.contains("strict mode forbids unicast")));
    }
}
