//! What changed between two configurations, for SIGHUP reloads: services (keyed by
//! [`ServiceKey`]) added, removed or changed, and within a changed service the real
//! servers (keyed by address and port) and which of their settings; VRRP instances,
//! scripts and sync groups by name; OSPF areas and interfaces; director and global
//! settings. The control loop applies only this, so an unchanged service is never
//! touched on reload.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use super::model::*;

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ConfigDelta {
    pub virtual_servers: ServicesDelta,
    pub virtual_server_groups: NamedDelta,
    pub vrrp_instances: NamedDelta,
    pub vrrp_scripts: NamedDelta,
    pub vrrp_sync_groups: NamedDelta,
    /// `None`: OSPF settings are unchanged.
    pub ospf: Option<OspfDelta>,
    pub director_changed: bool,
    pub global_defs_changed: bool,
    pub static_ipaddress_changed: bool,
    pub static_routes_changed: bool,
    pub ssl_changed: bool,
}

impl ConfigDelta {
    pub fn is_empty(&self) -> bool {
        *self == ConfigDelta::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ServicesDelta {
    pub added: Vec<ServiceKey>,
    pub removed: Vec<ServiceKey>,
    pub changed: Vec<ServiceChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceChange {
    pub key: ServiceKey,
    /// Service settings that differ (`scheduler`, `persistence`, …), real servers aside.
    pub settings: Vec<&'static str>,
    pub real_servers_added: Vec<RealServerKey>,
    pub real_servers_removed: Vec<RealServerKey>,
    pub real_servers_changed: Vec<RealServerChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct RealServerKey {
    pub ip: IpAddr,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RealServerChange {
    pub key: RealServerKey,
    /// Settings that differ (`weight`, `checkers`, …).
    pub settings: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct NamedDelta {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OspfInterfaceRef {
    pub area: Ipv4Addr,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OspfDelta {
    /// An ospf block appeared.
    Enabled,
    /// The ospf block went away.
    Disabled,
    Changed {
        router_id: bool,
        vip_metric: bool,
        interfaces_added: Vec<OspfInterfaceRef>,
        interfaces_removed: Vec<OspfInterfaceRef>,
        interfaces_changed: Vec<OspfInterfaceRef>,
    },
}

/// Added, removed and changed items of two lists keyed by `key`, in the order of the
/// new list (added, changed) and the old one (removed).
fn keyed<'a, T: PartialEq, K: Eq + Hash + Clone>(
    old: &'a [T],
    new: &'a [T],
    key: impl Fn(&T) -> K,
) -> (Vec<&'a T>, Vec<&'a T>, Vec<(&'a T, &'a T)>) {
    let old_by_key: HashMap<K, &T> = old.iter().map(|t| (key(t), t)).collect();
    let new_by_key: HashMap<K, &T> = new.iter().map(|t| (key(t), t)).collect();
    let added = new
        .iter()
        .filter(|t| !old_by_key.contains_key(&key(t)))
        .collect();
    let removed = old
        .iter()
        .filter(|t| !new_by_key.contains_key(&key(t)))
        .collect();
    let changed = new
        .iter()
        .filter_map(|n| match old_by_key.get(&key(n)) {
            Some(o) if *o != n => Some((*o, n)),
            _ => None,
        })
        .collect();
    (added, removed, changed)
}

fn named<T: PartialEq>(old: &[T], new: &[T], name: impl Fn(&T) -> &str) -> NamedDelta {
    let (added, removed, changed) = keyed(old, new, |t| name(t).to_string());
    NamedDelta {
        added: added.into_iter().map(|t| name(t).to_string()).collect(),
        removed: removed.into_iter().map(|t| name(t).to_string()).collect(),
        changed: changed
            .into_iter()
            .map(|(_, t)| name(t).to_string())
            .collect(),
    }
}

/// Names of the fields that differ between `$a` and `$b`.
macro_rules! differing {
    ($a:expr, $b:expr, [$($field:ident),* $(,)?]) => {{
        let mut fields = Vec::new();
        $(if $a.$field != $b.$field {
            fields.push(stringify!($field));
        })*
        fields
    }};
}

pub fn diff(old: &Config, new: &Config) -> ConfigDelta {
    ConfigDelta {
        virtual_servers: services(old, new),
        virtual_server_groups: named(
            &old.virtual_server_groups,
            &new.virtual_server_groups,
            |g| &g.name,
        ),
        vrrp_instances: named(&old.vrrp_instances, &new.vrrp_instances, |i| &i.name),
        vrrp_scripts: named(&old.vrrp_scripts, &new.vrrp_scripts, |s| &s.name),
        vrrp_sync_groups: named(&old.vrrp_sync_groups, &new.vrrp_sync_groups, |g| &g.name),
        ospf: ospf(old.ospf.as_ref(), new.ospf.as_ref()),
        director_changed: old.director != new.director,
        global_defs_changed: old.global_defs != new.global_defs,
        static_ipaddress_changed: old.static_ipaddress != new.static_ipaddress,
        static_routes_changed: old.static_routes != new.static_routes,
        ssl_changed: old.ssl != new.ssl,
    }
}

fn services(old: &Config, new: &Config) -> ServicesDelta {
    let (added, removed, changed) = keyed(&old.virtual_servers, &new.virtual_servers, |v| {
        v.key.clone()
    });
    let mut delta = ServicesDelta {
        added: added.into_iter().map(|v| v.key.clone()).collect(),
        removed: removed.into_iter().map(|v| v.key.clone()).collect(),
        changed: changed
            .into_iter()
            .map(|(o, n)| service_change(o, n))
            .collect(),
    };
    // A service on a group changes when the group's addresses do, even if its own
    // block is identical.
    for vs in &new.virtual_servers {
        let ServiceKey::Group { name, .. } = &vs.key else {
            continue;
        };
        let group_changed = old.virtual_server_group(name) != new.virtual_server_group(name);
        let known = old.virtual_server(&vs.key).is_some();
        if group_changed && known {
            match delta.changed.iter_mut().find(|c| c.key == vs.key) {
                Some(change) => change.settings.push("group_members"),
                None => delta.changed.push(ServiceChange {
                    key: vs.key.clone(),
                    settings: vec!["group_members"],
                    real_servers_added: Vec::new(),
                    real_servers_removed: Vec::new(),
                    real_servers_changed: Vec::new(),
                }),
            }
        }
    }
    delta
}

fn service_change(old: &VirtualServer, new: &VirtualServer) -> ServiceChange {
    let settings = differing!(
        old,
        new,
        [
            scheduler,
            scheduler_flags,
            method,
            persistence,
            protocol,
            ip_family,
            delay_loop,
            quorum,
            hysteresis,
            quorum_up,
            quorum_down,
            alpha,
            omega,
            inhibit_on_failure,
            ha_suspend,
            one_packet_scheduling,
            virtualhost,
            sorry_server,
            nat_mask,
            smtp_alert,
        ]
    );
    let rs_key = |r: &RealServer| RealServerKey {
        ip: r.ip,
        port: r.port,
    };
    let (added, removed, changed) = keyed(&old.real_servers, &new.real_servers, rs_key);
    ServiceChange {
        key: new.key.clone(),
        settings,
        real_servers_added: added.into_iter().map(rs_key).collect(),
        real_servers_removed: removed.into_iter().map(rs_key).collect(),
        real_servers_changed: changed
            .into_iter()
            .map(|(o, n)| RealServerChange {
                key: rs_key(n),
                settings: differing!(
                    o,
                    n,
                    [
                        weight,
                        method,
                        inhibit_on_failure,
                        notify_up,
                        notify_down,
                        upper_threshold,
                        lower_threshold,
                        virtualhost,
                        smtp_alert,
                        alpha,
                        checkers,
                    ]
                ),
            })
            .collect(),
    }
}

fn ospf(old: Option<&OspfConfig>, new: Option<&OspfConfig>) -> Option<OspfDelta> {
    match (old, new) {
        (None, None) => None,
        (None, Some(_)) => Some(OspfDelta::Enabled),
        (Some(_), None) => Some(OspfDelta::Disabled),
        (Some(o), Some(n)) if o == n => None,
        (Some(o), Some(n)) => {
            let flatten = |c: &OspfConfig| -> Vec<(OspfInterfaceRef, OspfInterface)> {
                c.areas
                    .iter()
                    .flat_map(|a| {
                        a.interfaces.iter().map(move |i| {
                            (
                                OspfInterfaceRef {
                                    area: a.id,
                                    name: i.name.clone(),
                                },
                                i.clone(),
                            )
                        })
                    })
                    .collect()
            };
            let (old_ifaces, new_ifaces) = (flatten(o), flatten(n));
            let (added, removed, changed) =
                keyed(&old_ifaces, &new_ifaces, |(r, _)| (r.area, r.name.clone()));
            Some(OspfDelta::Changed {
                router_id: o.router_id != n.router_id,
                vip_metric: o.vip_metric != n.vip_metric,
                interfaces_added: added.into_iter().map(|(r, _)| r.clone()).collect(),
                interfaces_removed: removed.into_iter().map(|(r, _)| r.clone()).collect(),
                interfaces_changed: changed.into_iter().map(|(_, (r, _))| r.clone()).collect(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    fn config(text: &str) -> Config {
        match parse_str("t.conf", text) {
            Ok(l) => l.config,
            Err(e) => panic!("{e}"),
        }
    }

    const BASE: &str = r#"
virtual_server 10.0.0.1 80 {
    lb_algo mh
    lb_kind DR
    real_server 10.1.0.1 80 {
        weight 1
    }
    real_server 10.1.0.2 80 {
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
virtual_server 10.0.0.2 443 {
    lb_kind DR
    real_server 10.1.0.1 443 {
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        10.0.0.1
    }
}
ospf {
    area 0 {
        interface eth0 {
            cost 10
        }
    }
}
"#;

    fn addr(ip: &str, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            ip: ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port,
            protocol: Protocol::Tcp,
        }
    }

    #[test]
    fn identical_configs_have_an_empty_delta() {
        assert!(diff(&config(BASE), &config(BASE)).is_empty());
    }

    #[test]
    fn services_added_removed_changed() {
        let new = BASE
            .replace("virtual_server 10.0.0.2 443", "virtual_server 10.0.0.3 443")
            .replace("weight 1", "weight 5")
            .replace("connect_timeout 3", "connect_timeout 4")
            .replace("lb_algo mh", "lb_algo mh\n    real_server 10.1.0.9 80");
        let delta = diff(&config(BASE), &config(&new));
        assert_eq!(delta.virtual_servers.added, [addr("10.0.0.3", 443)]);
        assert_eq!(delta.virtual_servers.removed, [addr("10.0.0.2", 443)]);
        assert_eq!(delta.virtual_servers.changed.len(), 1);
        let change = &delta.virtual_servers.changed[0];
        assert_eq!(change.key, addr("10.0.0.1", 80));
        assert!(change.settings.is_empty(), "{:?}", change.settings);
        let ip = |s: &str| {
            s.parse::<IpAddr>()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        };
        assert_eq!(
            change.real_servers_added,
            [RealServerKey {
                ip: ip("10.1.0.9"),
                port: 80
            }]
        );
        assert!(change.real_servers_removed.is_empty());
        assert_eq!(
            change.real_servers_changed,
            [
                RealServerChange {
                    key: RealServerKey {
                        ip: ip("10.1.0.1"),
                        port: 80
                    },
                    settings: vec!["weight"]
                },
                RealServerChange {
                    key: RealServerKey {
                        ip: ip("10.1.0.2"),
                        port: 80
                    },
                    settings: vec!["checkers"]
                },
            ]
        );
        assert!(delta.vrrp_instances == NamedDelta::default());
        assert!(delta.ospf.is_none());
    }

    #[test]
    fn service_settings_are_named() {
        let new = BASE.replace("lb_algo mh", "lb_algo sh\n    persistence_timeout 60");
        let delta = diff(&config(BASE), &config(&new));
        assert_eq!(
            delta.virtual_servers.changed[0].settings,
            ["scheduler", "persistence"]
        );
    }

    #[test]
    fn vrrp_ospf_and_director_changes() {
        let new = BASE
            .replace("virtual_router_id 1", "virtual_router_id 2")
            .replace("cost 10", "cost 20")
            .replace(
                "ospf {",
                "director {\n dataplane nftables\n}\nospf {\n area 0.0.0.1 {\n interface eth1\n }",
            );
        let delta = diff(&config(BASE), &config(&new));
        assert_eq!(delta.vrrp_instances.changed, ["VI_1"]);
        assert!(delta.director_changed);
        assert_eq!(
            delta.ospf,
            Some(OspfDelta::Changed {
                router_id: false,
                vip_metric: false,
                interfaces_added: vec![OspfInterfaceRef {
                    area: Ipv4Addr::new(0, 0, 0, 1),
                    name: "eth1".into()
                }],
                interfaces_removed: vec![],
                interfaces_changed: vec![OspfInterfaceRef {
                    area: Ipv4Addr::UNSPECIFIED,
                    name: "eth0".into()
                }],
            })
        );
        let without_ospf = &BASE[..BASE.find("ospf {").unwrap_or(BASE.len())];
        assert_eq!(
            diff(&config(BASE), &config(without_ospf)).ospf,
            Some(OspfDelta::Disabled)
        );
        assert_eq!(
            diff(&config(without_ospf), &config(BASE)).ospf,
            Some(OspfDelta::Enabled)
        );
    }

    #[test]
    fn group_membership_change_changes_the_service() {
        let old = "virtual_server_group G {\n 10.0.0.1 80\n}\nvirtual_server group G {\n real_server 10.1.0.1 80\n}";
        let new = "virtual_server_group G {\n 10.0.0.1 80\n 10.0.0.2 80\n}\nvirtual_server group G {\n real_server 10.1.0.1 80\n}";
        let delta = diff(&config(old), &config(new));
        assert_eq!(delta.virtual_server_groups.changed, ["G"]);
        assert_eq!(delta.virtual_servers.changed[0].settings, ["group_members"]);
    }
}
