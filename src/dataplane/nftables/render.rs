//! Desired tables → the nftables objects we want: per service one map (Maglev slot → real
//! server) and one rule, plus the base chains. Pure: host facts (interfaces, routes,
//! interface indexes) come in as [`HostFacts`].
//!
//! NAT services live in `table inet director`, chain `prerouting` (nat hook, priority
//! dstnat): `ip daddr VIP tcp dport P counter dnat ip addr . port to jhash <key> mod M seed S
//! map @m…`. DR services live in `table netdev director`, one ingress chain per interface:
//! `… meta pkttype host counter fwd ip to jhash <key> mod M seed S map @m… device
//! "<egress>"`, which resolves the real server's MAC through the neighbour table and sends
//! the unchanged IP packet to it. `meta pkttype host`: a frame flooded to this host but
//! addressed to another MAC (unknown unicast after a switch forgot a port) is not forwarded,
//! so two directors never both forward one packet — as IPVS, which only sees frames
//! delivered to its host.
//!
//! The kernel computes the slot as `reciprocal_scale(jhash(key, seed), M)` (nft_hash.c); the
//! seed is fixed ([`JHASH_SEED`]) so every director maps a flow to the same slot, and the
//! Maglev table (the same everywhere) maps the slot to the same real server.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::wire::{self, Base, Expr, MapShape, MetaKey};
use crate::dataplane::maglev::{self, Backend, Table};
use crate::dataplane::tables::{DesiredTables, DestKey, FlowHash, Forward, Service, ServiceKey};

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

    /// `NFPROTO_*` of the table.
    pub fn nfproto(self) -> u8 {
        match self {
            NftFamily::Inet => wire::NFPROTO_INET,
            NftFamily::Netdev => wire::NFPROTO_NETDEV,
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
    /// Interface index of each egress interface (`fwd … device` takes an index).
    pub ifindex: BTreeMap<String, u32>,
}

/// Slot value meaning "no backend" (every backend has weight 0).
pub const NO_BACKEND: u16 = u16::MAX;

/// A Maglev map's contents, compactly: each slot holds an index into `values` (the element
/// values of the real servers), so a million slots cost two bytes each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapContents {
    pub values: Vec<Vec<u8>>,
    pub slots: Vec<u16>,
}

impl MapContents {
    pub fn get(&self, slot: usize) -> Option<&[u8]> {
        let i = *self.slots.get(slot)?;
        self.values.get(usize::from(i)).map(Vec::as_slice)
    }

    /// Number of slots that hold a value.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| **s != NO_BACKEND).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Contents from (slot, value) pairs as read back.
    pub fn from_elements(elements: impl IntoIterator<Item = (u32, Vec<u8>)>) -> MapContents {
        let mut out = MapContents::default();
        let mut index: std::collections::HashMap<Vec<u8>, u16> = Default::default();
        for (slot, value) in elements {
            let slot = slot as usize;
            if slot >= out.slots.len() {
                out.slots.resize(slot + 1, NO_BACKEND);
            }
            let next = out.values.len() as u16;
            let i = *index.entry(value.clone()).or_insert_with(|| {
                out.values.push(value);
                next
            });
            out.slots[slot] = i;
        }
        out
    }
}

/// The objects one service needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceObjects {
    pub key: ServiceKey,
    pub family: NftFamily,
    pub map: String,
    pub shape: MapShape,
    /// Slot → element value, every slot with a live backend (shared with the backend's
    /// cache of what the kernel holds: a million slots are not copied per reconcile).
    pub contents: Arc<MapContents>,
    /// The rule's expressions, encoded (`wire::encode_exprs`).
    pub exprs: Vec<u8>,
    /// The rule's comment: `director <key> #<digest>`; the digest changes with the rule.
    pub comment: String,
    /// Real servers and their weights, for statistics.
    pub backends: Vec<(DestKey, u32)>,
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
    pub services: Vec<Arc<ServiceObjects>>,
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

/// The services rendered last time, by key: a service whose desired state and host facts
/// are unchanged is not rendered again (a Maglev table per service is most of the cost of a
/// reconcile that changes nothing).
#[derive(Default)]
pub struct Memo {
    facts: HostFacts,
    services: std::collections::HashMap<ServiceKey, (Service, Arc<ServiceObjects>)>,
}

/// Renders every desired service.
pub fn render(desired: &DesiredTables, facts: &HostFacts) -> Rendered {
    render_with(desired, facts, &mut Memo::default())
}

/// [`render`], reusing what `memo` holds from the previous call and updating it.
pub fn render_with(desired: &DesiredTables, facts: &HostFacts, memo: &mut Memo) -> Rendered {
    if memo.facts != *facts {
        memo.services.clear();
        memo.facts = facts.clone();
    }
    let mut previous = std::mem::take(&mut memo.services);
    let mut out = Rendered::default();
    for svc in &desired.services {
        if let Some((was, objs)) = previous.remove(&svc.spec.key) {
            if was == *svc {
                out.services.push(Arc::clone(&objs));
                memo.services.insert(svc.spec.key, (was, objs));
                continue;
            }
        }
        let rendered = render_service(svc, facts).map(|o| o.map(Arc::new));
        if let Ok(Some(objs)) = &rendered {
            memo.services
                .insert(svc.spec.key, (svc.clone(), Arc::clone(objs)));
        }
        match rendered {
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

/// Registers of the NAT rule (hash input, hash output = map value) and of the DR rule
/// (device index, map value, hash input): the allocation nft itself makes.
struct Registers {
    device: u32,
    value: u32,
    hash_in: u32,
}

/// The 4-byte register just after `len` bytes of the 16-byte register `reg`.
fn after(reg: u32, len: u32) -> u32 {
    // Register n (1..=4) is the 4-byte registers 8 + 4(n-1) .. 8 + 4(n-1) + 3.
    8 + 4 * (reg - 1) + len / 4
}

fn render_service(svc: &Service, facts: &HostFacts) -> Result<Option<ServiceObjects>, String> {
    let key = svc.spec.key;
    let size = svc.maglev_size;
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
    if svc.dests.len() >= usize::from(NO_BACKEND) {
        return Err(format!(
            "{} real servers: the nftables backend takes at most {}",
            svc.dests.len(),
            NO_BACKEND - 1
        ));
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
    let v6 = key.family() == crate::dataplane::tables::Family::Inet6;
    let (nfproto, addr_len, daddr_at, saddr_at, ethertype) = if v6 {
        (wire::NFPROTO_IPV6, 16, 24, 8, [0x86, 0xdd])
    } else {
        (wire::NFPROTO_IPV4, 4, 16, 12, [0x08, 0x00])
    };
    let regs = match family {
        NftFamily::Inet => Registers {
            device: 0,
            value: 1,
            hash_in: 2,
        },
        NftFamily::Netdev => Registers {
            device: 1,
            value: 2,
            hash_in: 3,
        },
    };
    let meta = |key| Expr::Meta { key, dreg: 1 };
    let cmp = |data: Vec<u8>| Expr::CmpEq { sreg: 1, data };
    let mut exprs = Vec::new();
    // Which packets: the family first (nft's dependency for `ip daddr` in inet/netdev).
    let (vport, l4proto) = match key {
        ServiceKey::Addr {
            addr,
            port,
            protocol,
        } => {
            match family {
                NftFamily::Inet => exprs.extend([meta(MetaKey::NfProto), cmp(vec![nfproto])]),
                NftFamily::Netdev => {
                    exprs.extend([meta(MetaKey::Protocol), cmp(ethertype.to_vec())])
                }
            }
            exprs.extend([
                Expr::Payload {
                    base: Base::Network,
                    offset: daddr_at,
                    len: addr_len,
                    dreg: 1,
                },
                cmp(wire::element_value(&addr, None)),
                meta(MetaKey::L4Proto),
                cmp(vec![protocol.number() as u8]),
            ]);
            if port != 0 {
                exprs.extend([
                    Expr::Payload {
                        base: Base::Transport,
                        offset: 2,
                        len: 2,
                        dreg: 1,
                    },
                    cmp(port.to_be_bytes().to_vec()),
                ]);
            }
            (port, Some(protocol.number() as u8))
        }
        ServiceKey::Fwmark { mark, .. } => {
            if family == NftFamily::Netdev {
                return Err("fwmark services with direct routing are not available with the nftables backend (marks are set after ingress)".into());
            }
            exprs.extend([
                meta(MetaKey::Mark),
                cmp(mark.to_ne_bytes().to_vec()),
                meta(MetaKey::NfProto),
                cmp(vec![nfproto]),
            ]);
            (0, None)
        }
    };
    if family == NftFamily::Netdev {
        // PACKET_HOST: only frames addressed to this host's MAC.
        exprs.extend([meta(MetaKey::PktType), cmp(vec![0])]);
    }
    exprs.push(Expr::Counter);
    // NAT keeps the client's destination port when the service covers all ports; otherwise it
    // rewrites to the real server's port (its own, or the service's when it says 0).
    let with_port = family == NftFamily::Inet && vport != 0;
    let shape = MapShape {
        v6,
        port_of: if with_port { l4proto } else { None },
    };
    let map = map_name(&key, &format!("{size}|{}|{family:?}", shape.describe()));
    let backends: Vec<Backend> = svc
        .dests
        .iter()
        .map(|d| Backend {
            name: d.key.to_string(),
            weight: d.weight,
        })
        .collect();
    let table = Table::build(&backends, size).map_err(|e| e.to_string())?;
    let values: Vec<Vec<u8>> = svc
        .dests
        .iter()
        .map(|d| {
            let port = if d.key.port == 0 { vport } else { d.key.port };
            wire::element_value(&d.key.addr, with_port.then_some(port))
        })
        .collect();
    let contents = Arc::new(MapContents {
        values,
        slots: table
            .slots()
            .iter()
            .map(|b| b.map_or(NO_BACKEND, |b| b as u16))
            .collect(),
    });
    if family == NftFamily::Netdev {
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
        let ifindex = facts
            .ifindex
            .get(egress)
            .ok_or_else(|| format!("interface {egress} has no index"))?;
        exprs.push(Expr::Immediate {
            dreg: regs.device,
            data: ifindex.to_ne_bytes().to_vec(),
        });
    }
    exprs.push(Expr::Payload {
        base: Base::Network,
        offset: saddr_at,
        len: addr_len,
        dreg: regs.hash_in,
    });
    let mut hash_len = addr_len;
    if svc.flow_hash == FlowHash::SourceAddrPort {
        exprs.push(Expr::Payload {
            base: Base::Transport,
            offset: 0,
            len: 2,
            dreg: after(regs.hash_in, addr_len),
        });
        hash_len += 4;
    }
    exprs.extend([
        Expr::Jhash {
            sreg: regs.hash_in,
            dreg: regs.value,
            len: hash_len,
            modulus: size,
            seed: JHASH_SEED,
        },
        Expr::Lookup {
            sreg: regs.value,
            dreg: regs.value,
            set: map.clone(),
            set_id: None,
        },
    ]);
    exprs.push(match family {
        NftFamily::Inet => Expr::Dnat {
            family: nfproto,
            addr: regs.value,
            proto: with_port.then(|| after(regs.value, addr_len)),
        },
        NftFamily::Netdev => Expr::Fwd {
            dev: regs.device,
            addr: regs.value,
            family: nfproto,
        },
    });
    let exprs = wire::encode_exprs(&exprs);
    let digest = maglev::siphash24((0x6e66_7472_756c_6531, 0), &exprs);
    let comment = format!("{}{digest:016x}", comment_tag(&key));
    Ok(Some(ServiceObjects {
        key,
        family,
        map,
        shape,
        contents,
        exprs,
        comment,
        backends: svc.dests.iter().map(|d| (d.key, d.weight)).collect(),
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
    use crate::dataplane::tables::{DestSpec, Protocol, ServiceSpec};

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
            ifindex: BTreeMap::from([("eth1".to_owned(), 7)]),
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
        assert_eq!(s.contents.len(), 13);
        let want: Vec<Vec<u8>> = (1..=3)
            .map(|i| wire::element_value(&IpAddr::from([10, 1, 0, i]), Some(8080)))
            .collect();
        assert_eq!(s.contents.values, want);
        assert_eq!(
            s.shape,
            MapShape {
                v6: false,
                port_of: Some(6)
            }
        );
        assert!(s.comment.starts_with("director tcp 10.0.0.1:80 #"));
        assert!(r.ingress_devices.is_empty());
    }

    /// Does `haystack` contain `needle`?
    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn dr_rule_forwards_only_frames_for_this_host() {
        let d = DesiredTables {
            services: vec![svc(Forward::Route, 80, 80)],
            ..Default::default()
        };
        let r = render(&d, &facts());
        let s = &r.services[0];
        assert_eq!(s.family, NftFamily::Netdev);
        assert_eq!(s.shape.port_of, None);
        assert_eq!(r.ingress_devices, vec!["eth0".to_owned()]);
        let host_only = wire::encode_exprs(&[
            Expr::Meta {
                key: MetaKey::PktType,
                dreg: 1,
            },
            Expr::CmpEq {
                sreg: 1,
                data: vec![0],
            },
        ]);
        assert!(contains(&s.exprs, &host_only), "meta pkttype host");
        let egress = wire::encode_exprs(&[Expr::Immediate {
            dreg: 1,
            data: 7u32.to_ne_bytes().to_vec(),
        }]);
        assert!(contains(&s.exprs, &egress), "device eth1 (index 7)");
        // Without the interface's index the service cannot be rendered.
        let mut f = facts();
        f.ifindex.clear();
        assert_eq!(render(&d, &f).unsupported.len(), 1);
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
