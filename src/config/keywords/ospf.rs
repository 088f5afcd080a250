//! `ospf { }`: the built-in OSPFv2 speaker's block.

use super::*;

pub(super) fn ospf(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
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
    pub(super) ospf: OspfConfig,
    pub(super) spans: OspfSpans,
}

/// An OSPF area ID: dotted quad or a decimal number (`0` is the backbone).
pub(super) fn area_id(text: &str) -> Option<Ipv4Addr> {
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
                stub: false,
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
    pub(super) area: OspfArea,
    pub(super) spans: Vec<Span>,
}

pub const AREA: &[Kw<AreaDraft>] = &[
    kw!("stub", |a, n, d| {
        if let Some(stub) = v::flag(n, d) {
            a.area.stub = stub
        }
    }),
    kw_many!("interface", |a, n, d| {
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
            passive: false,
            bfd: None,
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
        if iface.passive && iface.bfd.is_some() {
            d.error(
            n.span.clone(),
            format!(
                "interface {}: a passive interface has no OSPF neighbor for BFD to watch, expected passive or bfd, not both",
                iface.name
            ),
        );
        }
        a.area.interfaces.push(iface);
        a.spans.push(n.span.clone());
    }),
];

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
    kw!("passive", |i, n, d| {
        if let Some(passive) = v::flag(n, d) {
            i.passive = passive
        }
    }),
    kw!("bfd", |i, n, d| {
        v::no_more_args(n, 0, d);
        let mut bfd = BfdDraft::default();
        // `bfd { }` (or `bfd` alone) takes every default.
        if let Some(children) = n.children.as_deref() {
            apply("bfd", OSPF_BFD, &[], &mut bfd, children, d);
        }
        if let Some(b) = bfd.resolve(n, d) {
            i.bfd = Some(b)
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
    pub(super) kind: Option<AuthKind>,
    pub(super) pass: Option<String>,
    /// `auth_key ID KEY [ALGORITHM]` lines in order: (id, key, algorithm, line).
    pub(super) keys: Vec<(u8, String, Option<OspfKeyAlgorithm>, Span)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    None,
    Simple,
    Crypto(OspfKeyAlgorithm),
}

const KEY_ALGORITHMS: &[(&str, OspfKeyAlgorithm)] = &[
    ("md5", OspfKeyAlgorithm::Md5),
    ("hmac_sha1", OspfKeyAlgorithm::HmacSha1),
    ("hmac_sha256", OspfKeyAlgorithm::HmacSha256),
    ("hmac_sha384", OspfKeyAlgorithm::HmacSha384),
    ("hmac_sha512", OspfKeyAlgorithm::HmacSha512),
];

impl OspfAuthDraft {
    fn resolve(self, n: &Node, d: &mut Diagnostics) -> Option<OspfAuth> {
        match self.kind.unwrap_or(AuthKind::None) {
            AuthKind::Simple => match self.pass {
                Some(key) => Some(OspfAuth::Simple { key }),
                None => {
                    d.error(
                        n.span.clone(),
                        "authentication: auth_type simple needs auth_pass KEY",
                    );
                    None
                }
            },
            AuthKind::Crypto(default) => {
                if self.keys.is_empty() {
                    d.error(
                        n.span.clone(),
                        format!(
                            "authentication: auth_type {} needs auth_key ID KEY",
                            default.name()
                        ),
                    );
                    return None;
                }
                let mut keys: Vec<OspfKey> = Vec::new();
                let mut ok = true;
                for (id, key, algorithm, span) in self.keys {
                    let algorithm = algorithm.unwrap_or(default);
                    if keys.iter().any(|k| k.id == id) {
                        d.error(
                            span,
                            format!("authentication: key ID {id} is given twice, expected one key per ID"),
                        );
                        ok = false;
                        continue;
                    }
                    if key.len() > algorithm.max_key_len() {
                        d.error(
                            span,
                            format!(
                                "authentication: a {} key of at most {} characters, got {}",
                                algorithm.name(),
                                algorithm.max_key_len(),
                                key.len()
                            ),
                        );
                        ok = false;
                        continue;
                    }
                    if algorithm != OspfKeyAlgorithm::Md5 && key.len() > algorithm.hash_len() {
                        d.warn(
                            span,
                            format!(
                                "authentication: a {} key longer than {} bytes is hashed first (RFC 5709 §3.3); BIRD 2 does not hash it and will refuse our packets",
                                algorithm.name(),
                                algorithm.hash_len()
                            ),
                        );
                    }
                    keys.push(OspfKey { id, algorithm, key });
                }
                ok.then_some(OspfAuth::Crypto { keys })
            }
            AuthKind::None => Some(OspfAuth::None),
        }
    }
}

pub const OSPF_AUTH: &[Kw<OspfAuthDraft>] = &[
    kw!("auth_type", |a, n, d| {
        a.kind = v::choice(
            n,
            &[
                ("none", AuthKind::None),
                ("simple", AuthKind::Simple),
                ("md5", AuthKind::Crypto(OspfKeyAlgorithm::Md5)),
                ("hmac_sha1", AuthKind::Crypto(OspfKeyAlgorithm::HmacSha1)),
                (
                    "hmac_sha256",
                    AuthKind::Crypto(OspfKeyAlgorithm::HmacSha256),
                ),
                (
                    "hmac_sha384",
                    AuthKind::Crypto(OspfKeyAlgorithm::HmacSha384),
                ),
                (
                    "hmac_sha512",
                    AuthKind::Crypto(OspfKeyAlgorithm::HmacSha512),
                ),
            ],
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
    kw_many!("auth_key", |a, n, d| {
        v::no_block(n, d);
        let id = v::int_at(n, 0, 0, 255, d);
        let Some(key) = n.arg(1).filter(|k| !k.is_empty()) else {
            return v::bad(n, 1, "a key", d);
        };
        let algorithm = match n.arg(2) {
            None => None,
            Some(_) => match v::choice_at(n, 2, KEY_ALGORITHMS, d) {
                Some(alg) => Some(alg),
                None => return,
            },
        };
        v::no_more_args(n, 3, d);
        if let Some(id) = id {
            a.keys
                .push((id as u8, key.to_string(), algorithm, n.span.clone()))
        }
    }),
];

#[derive(Default)]
pub struct BfdDraft {
    pub(super) bfd: OspfBfd,
    pub(super) kind: Option<Option<BfdAuthType>>,
    pub(super) key: Option<(u8, String)>,
}

impl BfdDraft {
    fn resolve(mut self, n: &Node, d: &mut Diagnostics) -> Option<OspfBfd> {
        match (self.kind.flatten(), self.key) {
            (None, _) => {}
            (Some(kind), Some((key_id, key))) => {
                // RFC 5880 §4.2–§4.4: password 1–16 bytes, MD5 key ≤ 16, SHA1 key ≤ 20.
                let max = match kind {
                    BfdAuthType::KeyedSha1 | BfdAuthType::MeticulousKeyedSha1 => 20,
                    _ => 16,
                };
                if key.len() > max {
                    d.error(
                        n.span.clone(),
                        format!(
                            "bfd: auth_key: a key of at most {max} characters for this auth_type"
                        ),
                    );
                    return None;
                }
                self.bfd.authentication = Some(BfdAuth { kind, key_id, key });
            }
            (Some(_), None) => {
                d.error(n.span.clone(), "bfd: this auth_type needs auth_key ID KEY");
                return None;
            }
        }
        Some(self.bfd)
    }
}

/// `bfd { }` inside an OSPF `interface`: milliseconds, keepalived `bfd_instance` names.
pub const OSPF_BFD: &[Kw<BfdDraft>] = &[
    kw!("min_rx", |b, n, d| {
        if let Some(x) = v::int(n, 1, 60_000, d) {
            b.bfd.min_rx_ms = x
        }
    }),
    kw!("min_tx", |b, n, d| {
        if let Some(x) = v::int(n, 1, 60_000, d) {
            b.bfd.min_tx_ms = x
        }
    }),
    kw!("idle_tx", |b, n, d| {
        // RFC 5880 §6.8.3: at least one second while the session is not Up.
        if let Some(x) = v::int(n, 1000, 60_000, d) {
            b.bfd.idle_tx_ms = x
        }
    }),
    kw!("multiplier", |b, n, d| {
        if let Some(x) = v::int(n, 1, 255, d) {
            b.bfd.multiplier = x
        }
    }),
    kw!("auth_type", |b, n, d| {
        b.kind = v::choice(
            n,
            &[
                ("none", None),
                ("simple", Some(BfdAuthType::Simple)),
                ("keyed_md5", Some(BfdAuthType::KeyedMd5)),
                (
                    "meticulous_keyed_md5",
                    Some(BfdAuthType::MeticulousKeyedMd5),
                ),
                ("keyed_sha1", Some(BfdAuthType::KeyedSha1)),
                (
                    "meticulous_keyed_sha1",
                    Some(BfdAuthType::MeticulousKeyedSha1),
                ),
            ],
            d,
        )
        .or(b.kind)
    }),
    kw!("auth_key", |b, n, d| {
        v::no_block(n, d);
        let id = v::int_at(n, 0, 0, 255, d);
        match n.arg(1) {
            Some(key) if !key.is_empty() && key.len() <= 20 => {
                v::no_more_args(n, 2, d);
                if let Some(id) = id {
                    b.key = Some((id as u8, key.to_string()))
                }
            }
            _ => v::bad(n, 1, "a key of 1 to 20 characters", d),
        }
    }),
];
