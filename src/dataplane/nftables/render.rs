//! Desired tables → the nftables objects we want: per service one map (Maglev slot → real
//! server) and one rule, plus the base chains. Pure: host facts (interfaces, routes) come in
//! as [`HostFacts`].
//!
//! NAT services live in `table inet director`, chain `prerouting` (nat hook, priority
//! dstnat): `ip daddr VIP tcp dport P counter dnat ip addr . port to jhash <key> mod M seed S
//! map @m…`. DR services live in `table netdev director`, one ingress chain per interface:
//! `… fwd ip to jhash <key> mod M seed S map @m… device "<egress>"`, which resolves the real
//! server's MAC through the neighbour table and sends the unchanged IP packet to it.
//!
//! The kernel computes the slot as `reciprocal_scale(jhash(key, seed), M)` (nft_hash.c); the
//! seed is fixed ([`JHASH_SEED`]) so every director maps a flow to the same slot, and the
//! Maglev table (the same everywhere) maps the slot to the same real server.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::dataplane::maglev::{self, Backend, Table};
use crate::dataplane::tables::{DesiredTables, FlowHash, Forward, Protocol, Service, ServiceKey};

/// Name of our tables (in the `inet` and `netdev` families). Everything inside is ours.
pub const TABLE: &str = "director";
/// Our NAT base chain.
pub const NAT_CHAIN: &str = "prerouting";
/// Prefix of our per-interface DR ingress chains.
pub const DR_CHAIN_PREFIX: &str = "in_";
/// The fixed jhash seed ("mglv"): part of the cross-director contract, like the Maglev keys.
pub const JHASH_SEED: u32 = 0x6d67_6c76;
/// Rule comments start with this, then the service key; we only manage rules that carry it.
pub const COMMENT_PREFIX: &str = "director ";

/// nftables family of one of our tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NftFamily {
    Inet,
    Netdev,
}

impl NftFamily {
    pub fn as_str(self) -> &'static str {
        match self {
            NftFamily::Inet => "inet",
            NftFamily::Netdev => "netdev",
        }
    }
}

/// Facts about the host that rendering needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// Interfaces that get a DR ingress chain (all but `lo`).
    pub ingress_devices: Vec<String>,
    /// Egress interface towards each DR real server.
    pub egress: BTreeMap<IpAddr, String>,
}

/// The objects one service needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceObjects {
    pub key: ServiceKey,
    pub family: NftFamily,
    pub map: String,
    /// `typeof …` clause of the map declaration.
    pub map_type: String,
    /// Slot → element value (`10.1.0.1 . 80` or `10.1.0.1`), every slot with a live backend.
    pub elements: BTreeMap<u32, String>,
    /// Rule statement text (without `add rule <family> <table> <chain>`), comment included.
    pub rule: String,
    /// The rule's comment: `director <key> #<digest>`; the digest changes with the rule.
    pub comment: String,
    /// Real servers by element value, for statistics.
    pub backends: Vec<(String, crate::dataplane::tables::DestKey, u32)>,
}

/// A service the nftables backend cannot express, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub key: ServiceKey,
    pub reason: String,
}

/// The whole desired nftables state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    pub services: Vec<ServiceObjects>,
    pub unsupported: Vec<Unsupported>,
    /// DR ingress chains (interface names) wanted.
    pub ingress_devices: Vec<String>,
}

impl Rendered {
    pub fn needs(&self, family: NftFamily) -> bool {
        self.services.iter().any(|s| s.family == family)
    }
}

/// Comment tag that identifies the service a rule belongs to.
pub fn comment_tag(key: &ServiceKey) -> String {
    format!("{COMMENT_PREFIX}{key} #")
}

/// Map name for a service: a digest of the key and of the map's shape, so a shape change
/// (size, element type) gets a new map and the switch is one rule replacement.
fn map_name(key: &ServiceKey, shape: &str) -> String {
    let digest = maglev::siphash24(
        (0x6e66_746d_6170_7331, 0),
        format!("{key}|{shape}").as_bytes(),
    );
    format!("m{digest:016x}")
}

fn addr_family_words(key: &ServiceKey) -> (&'static str, &'static str) {
    match key.family() {
        crate::dataplane::tables::Family::Inet => ("ip", "ipv4"),
        crate::dataplane::tables::Family::Inet6 => ("ip6", "ipv6"),
    }
}

fn value_of(addr: &IpAddr, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{addr} . {p}"),
        None => addr.to_string(),
    }
}

/// Renders every desired service.
pub fn render(desired: &DesiredTables, facts: &HostFacts) -> Rendered {
    let mut out = Rendered::default();
    for svc in &desired.services {
        match render_service(svc, svc.maglev_size, facts) {
            Ok(Some(objs)) => out.services.push(objs),
            Ok(None) => {}
            Err(reason) => out.unsupported.push(Unsupported {
                key: svc.spec.key,
                reason,
            }),
        }
    }
    if out.needs(NftFamily::Netdev) {
        out.ingress_devices = facts.ingress_devices.clone();
    }
    out
}

fn render_service(
    svc: &Service,
    size: u32,
    facts: &HostFacts,
) -> Result<Option<ServiceObjects>, String> {
    let key = svc.spec.key;
    let Some(first) = svc.dests.first() else {
        // No real servers at all: nothing to forward to, no objects.
        return Ok(None);
    };
    let method = first.forward;
    if svc.dests.iter().any(|d| d.forward != method) {
        return Err(
            "real servers mix forwarding methods; the nftables backend needs one per service"
                .into(),
        );
    }
    let family = match method {
        Forward::Masq => NftFamily::Inet,
        Forward::Route => NftFamily::Netdev,
        other => {
            return Err(format!(
                "forwarding method {other:?} is not available with the nftables backend (use ipvs)"
            ))
        }
    };
    let (ipw, nfproto) = addr_family_words(&key);
    let mut matches = String::new();
    let (vport, proto) = match key {
        ServiceKey::Addr {
            addr,
            port,
            protocol,
        } => {
            let _ = write!(matches, "{ipw} daddr {addr} ");
            if port == 0 {
                let _ = write!(matches, "meta l4proto {} ", protocol.as_str());
            } else {
                let _ = write!(matches, "{} dport {port} ", protocol.as_str());
            }
            (port, Some(protocol))
        }
        ServiceKey::Fwmark { mark, .. } => {
            if family == NftFamily::Netdev {
                return Err("fwmark services with direct routing are not available with the nftables backend (marks are set after ingress)".into());
            }
            let _ = write!(matches, "meta mark {mark} meta nfproto {nfproto} ");
            (0, None)
        }
    };
    let hash_key = match svc.flow_hash {
        FlowHash::SourceAddr => format!("{ipw} saddr"),
        FlowHash::SourceAddrPort => format!("{ipw} saddr . th sport"),
    };
    // NAT keeps the client's destination port when the service covers all ports; otherwise it
    // rewrites to the real server's port (its own, or the service's when it says 0).
    let with_port = family == NftFamily::Inet && vport != 0;
    let l4 = proto.unwrap_or(Protocol::Tcp).as_str();
    let map_type = if with_port {
        format!("typeof numgen inc mod 2 : {ipw} daddr . {l4} dport")
    } else {
        format!("typeof numgen inc mod 2 : {ipw} daddr")
    };
    let shape = format!("{size}|{map_type}|{family:?}");
    let map = map_name(&key, &shape);
    let backends: Vec<Backend> = svc
        .dests
        .iter()
        .map(|d| Backend {
            name: d.key.to_string(),
            weight: d.weight,
        })
        .collect();
    let table = Table::build(&backends, size).map_err(|e| e.to_string())?;
    let values: Vec<String> = svc
        .dests
        .iter()
        .map(|d| {
            let port = if d.key.port == 0 { vport } else { d.key.port };
            value_of(&d.key.addr, with_port.then_some(port))
        })
        .collect();
    let elements: BTreeMap<u32, String> = table
        .slots()
        .iter()
        .enumerate()
        .filter_map(|(slot, b)| b.map(|b| (slot as u32, values[b as usize].clone())))
        .collect();
    let lookup = format!("jhash {hash_key} mod {size} seed 0x{JHASH_SEED:08x} map @{map}");
    let action = match family {
        NftFamily::Inet if with_port => format!("dnat {ipw} addr . port to {lookup}"),
        NftFamily::Inet => format!("dnat {ipw} to {lookup}"),
        NftFamily::Netdev => {
            let egress = facts
                .egress
                .get(&first.key.addr)
                .ok_or_else(|| format!("no route to real server {}", first.key.addr))?;
            if svc
                .dests
                .iter()
                .any(|d| facts.egress.get(&d.key.addr) != Some(egress))
            {
                return Err(
                    "direct-routing real servers of one service must share one interface".into(),
                );
            }
            if svc
                .dests
                .iter()
                .any(|d| d.key.port != 0 && d.key.port != vport)
            {
                return Err("direct routing cannot change the destination port".into());
            }
            format!("fwd {ipw} to {lookup} device \"{egress}\"")
        }
    };
    let body = format!("{matches}counter {action}");
    let digest = maglev::siphash24((0x6e66_7472_756c_6531, 0), body.as_bytes());
    let comment = format!("{}{digest:016x}", comment_tag(&key));
    let rule = format!("{body} comment \"{comment}\"");
    Ok(Some(ServiceObjects {
        key,
        family,
        map,
        map_type,
        elements,
        rule,
        comment,
        backends: svc
            .dests
            .iter()
            .zip(values)
            .map(|(d, v)| (v, d.key, d.weight))
            .collect(),
    }))
}

/// Chain name for a DR ingress interface (nft identifiers: letters, digits, `_`).
pub fn ingress_chain(device: &str) -> String {
    let clean: String = device
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{DR_CHAIN_PREFIX}{clean}")
}

/// The kernel's `jhash()` (lookup3, as in include/linux/jhash.h) over `key`, for predicting
/// which slot a flow uses (`directorctl`, tests).
pub fn jhash(key: &[u8], seed: u32) -> u32 {
    let mut a: u32 = 0xdead_beef_u32
        .wrapping_add(key.len() as u32)
        .wrapping_add(seed);
    let mut b = a;
    let mut c = a;
    let word = |k: &[u8]| -> u32 {
        let mut w = [0u8; 4];
        w[..k.len().min(4)].copy_from_slice(&k[..k.len().min(4)]);
        u32::from_le_bytes(w)
    };
    let mut k = key;
    while k.len() > 12 {
        a = a.wrapping_add(word(&k[0..4]));
        b = b.wrapping_add(word(&k[4..8]));
        c = c.wrapping_add(word(&k[8..12]));
        // __jhash_mix
        a = a.wrapping_sub(c);
        a ^= c.rotate_left(4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= a.rotate_left(6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= b.rotate_left(8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c);
        a ^= c.rotate_left(16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= a.rotate_left(19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= b.rotate_left(4);
        b = b.wrapping_add(a);
        k = &k[12..];
    }
    if k.is_empty() {
        return c;
    }
    a = a.wrapping_add(word(&k[0..k.len().min(4)]));
    if k.len() > 4 {
        b = b.wrapping_add(word(&k[4..k.len().min(8)]));
    }
    if k.len() > 8 {
        c = c.wrapping_add(word(&k[8..]));
    }
    // __jhash_final
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(24));
    c
}

/// The slot nft picks for a source-address-hashed flow: `reciprocal_scale(jhash, M)`.
pub fn source_slot(saddr: &IpAddr, size: u32) -> u32 {
    let h = match saddr {
        IpAddr::V4(a) => jhash(&a.octets(), JHASH_SEED),
        IpAddr::V6(a) => jhash(&a.octets(), JHASH_SEED),
    };
    ((u64::from(h) * u64::from(size)) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::tables::{DestKey, DestSpec, ServiceSpec};

    fn svc(forward: Forward, port: u16, real_port: u16) -> Service {
        Service {
            spec: ServiceSpec {
                key: ServiceKey::Addr {
                    addr: "10.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
                    port,
                    protocol: Protocol::Tcp,
                },
                scheduler: "mh".into(),
                flags: 0,
                timeout: 0,
                netmask: 32,
            },
            dests: (1..=3)
                .map(|i| DestSpec {
                    key: DestKey {
                        addr: IpAddr::from([10, 1, 0, i]),
                        port: real_port,
                    },
                    forward,
                    weight: 1,
                    upper_threshold: 0,
                    lower_threshold: 0,
                })
                .collect(),
            flow_hash: FlowHash::SourceAddr,
            maglev_size: 13,
        }
    }

    fn facts() -> HostFacts {
        HostFacts {
            ingress_devices: vec!["eth0".into()],
            egress: (1..=3)
                .map(|i| (IpAddr::from([10, 1, 0, i]), "eth1".to_owned()))
                .collect(),
        }
    }

    #[test]
    fn nat_rule_and_map() {
        let d = DesiredTables {
            services: vec![svc(Forward::Masq, 80, 8080)],
            ..Default::default()
        };
        let r = render(&d, &facts());
        assert!(r.unsupported.is_empty());
        let s = &r.services[0];
        assert_eq!(s.family, NftFamily::Inet);
        assert_eq!(s.elements.len(), 13);
        assert!(s.elements.values().all(|v| v.ends_with(" . 8080")));
        assert!(s.rule.starts_with(&format!(
            "ip daddr 10.0.0.1 tcp dport 80 counter dnat ip addr . port to jhash ip saddr mod 13 seed 0x6d676c76 map @{} comment \"director tcp 10.0.0.1:80 #",
            s.map
        )), "{}", s.rule);
        assert!(r.ingress_devices.is_empty());
    }

    #[test]
    fn dr_rule_forwards_to_egress_device() {
        let d = DesiredTables {
            services: vec![svc(Forward::Route, 80, 80)],
            ..Default::default()
        };
        let r = render(&d, &facts());
        let s = &r.services[0];
        assert_eq!(s.family, NftFamily::Netdev);
        assert!(
            s.rule.contains("fwd ip to jhash ip saddr mod 13"),
            "{}",
            s.rule
        );
        assert!(s.rule.contains("device \"eth1\""));
        assert!(s
            .elements
            .values()
            .all(|v| !v.contains('.') || v.matches('.').count() == 3));
        assert_eq!(r.ingress_devices, vec!["eth0".to_owned()]);
    }

    #[test]
    fn unsupported_methods_are_reported_not_dropped_silently() {
        let d = DesiredTables {
            services: vec![svc(
                Forward::Tunnel {
                    kind: crate::dataplane::tables::TunnelType::Ipip,
                    port: 0,
                    flags: 0,
                },
                80,
                80,
            )],
            ..Default::default()
        };
        let r = render(&d, &facts());
        assert_eq!(r.unsupported.len(), 1);
    }

    #[test]
    fn rendering_is_deterministic() {
        let d = DesiredTables {
            services: vec![svc(Forward::Masq, 80, 80)],
            ..Default::default()
        };
        assert_eq!(render(&d, &facts()), render(&d, &facts()));
    }

    #[test]
    fn jhash_tail_lengths_do_not_panic() {
        for n in 0..40 {
            let k: Vec<u8> = (0..n as u8).collect();
            let _ = jhash(&k, 1);
        }
        assert!(source_slot(&IpAddr::from([10, 0, 0, 1]), 13) < 13);
    }
}
