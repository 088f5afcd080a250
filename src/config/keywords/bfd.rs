//! `bfd_instance NAME { }` (keepalived.conf(5) "BFD CONFIGURATION"): a BFD session to one
//! neighbor, followed by VRRP's `track_bfd`.

use super::*;

/// What is read of a `bfd_instance` block before its neighbor is known.
pub struct BfdInstanceDraft {
    pub(super) neighbor: Option<Ipv4Addr>,
    pub(super) instance: BfdInstance,
}

pub(super) fn bfd_instance(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    let Some(name) = block_name(node, diag) else {
        return;
    };
    let mut draft = BfdInstanceDraft {
        neighbor: None,
        instance: BfdInstance {
            name,
            neighbor: Ipv4Addr::UNSPECIFIED,
            source: None,
            min_rx_us: def::BFD_MIN_RX_US,
            min_tx_us: def::BFD_MIN_TX_US,
            idle_tx_us: def::BFD_IDLE_TX_US,
            multiplier: def::BFD_MULTIPLIER,
            weight: 0,
            reverse: false,
        },
    };
    if let Some(children) = v::block(node, diag) {
        apply(&node.keyword, BFD_INSTANCE, &[], &mut draft, children, diag);
    }
    let mut bfd = draft.instance;
    // keepalived (bfd_parser.c) reports these and disables the instance; so does director,
    // as warnings, so that its files still load.
    let Some(neighbor) = draft.neighbor else {
        diag.warn(
            node.span.clone(),
            format!(
                "bfd_instance '{}' has no IPv4 'neighbor_ip', ignored (as keepalived disables it), expected neighbor_ip A.B.C.D",
                bfd.name
            ),
        );
        return;
    };
    bfd.neighbor = neighbor;
    if let Some(first) = b.config.bfd_instance(&bfd.name) {
        let line = b
            .config
            .bfd_instances
            .iter()
            .position(|x| x.name == first.name)
            .and_then(|i| b.map.bfd_instances.get(i))
            .map_or(0, |s| s.line);
        diag.warn(
            node.span.clone(),
            format!(
                "bfd_instance '{}' defined twice (first at line {line}), this one ignored (as keepalived does), expected unique names",
                bfd.name
            ),
        );
        return;
    }
    b.config.bfd_instances.push(bfd);
    b.map.bfd_instances.push(node.span.clone());
}

/// keepalived's intervals: milliseconds with a microsecond resolution ("3.312").
fn millis(n: &Node, min_ms: f64, d: &mut Diagnostics) -> Option<u32> {
    let text = v::single(n, "an interval in milliseconds", d)?;
    match text.parse::<f64>() {
        Ok(ms) if (min_ms..=60_000.0).contains(&ms) => Some((ms * 1000.0).round() as u32),
        _ => {
            v::bad(
                n,
                0,
                &format!("milliseconds from {min_ms} to 60000 (e.g. 100 or 3.312)"),
                d,
            );
            None
        }
    }
}

pub const BFD_INSTANCE: &[Kw<BfdInstanceDraft>] = &[
    kw!("neighbor_ip", |b, n, d| neighbor(b, n, d)),
    kw!("neighbour_ip", |b, n, d| neighbor(b, n, d)),
    kw!("source_ip", |b, n, d| {
        v::no_more_args(n, 1, d);
        b.instance.source = v::ipv4_at(n, 0, d).or(b.instance.source)
    }),
    kw!("min_rx", |b, n, d| {
        if let Some(us) = millis(n, 0.001, d) {
            b.instance.min_rx_us = us
        }
    }),
    kw!("min_tx", |b, n, d| {
        if let Some(us) = millis(n, 0.001, d) {
            b.instance.min_tx_us = us
        }
    }),
    kw!("idle_tx", |b, n, d| {
        if let Some(us) = millis(n, 0.001, d) {
            b.instance.idle_tx_us = us
        }
    }),
    kw!("multiplier", |b, n, d| {
        if let Some(x) = v::int(n, 1, 255, d) {
            b.instance.multiplier = x
        }
    }),
    kw!("weight", |b, n, d| {
        v::no_block(n, d);
        let Some(weight) = v::int_at(n, 0, -253, 253, d) else {
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
        b.instance.weight = weight;
        b.instance.reverse = reverse;
    }),
    kw!("passive", |_b, n, d| {
        v::bare(n, d);
        d.warn(
            n.span.clone(),
            "passive is not supported and is ignored: the session is active (it sends first), which interoperates with an active or passive peer (RFC 5880 §6.1)",
        );
    }),
    kw!("ttl", |_b, n, d| {
        if let Some(ttl) = v::int::<u8>(n, 1, 255, d) {
            if ttl != 255 {
                d.warn(
                    n.span.clone(),
                    format!(
                        "ttl {ttl} is ignored: single-hop BFD is sent with TTL 255 (RFC 5881 §5)"
                    ),
                );
            }
        }
    }),
    kw!("max_hops", |_b, n, d| {
        if let Some(hops) = v::int::<u8>(n, 0, 255, d) {
            if hops != 0 {
                d.warn(
                    n.span.clone(),
                    format!("max_hops {hops} is ignored: a packet without authentication must arrive with TTL 255 (RFC 5881 §5)"),
                );
            }
        }
    }),
    kw!("hoplimit", |_b, n, d| {
        let _ = v::int::<u8>(n, 1, 255, d);
        d.warn(
            n.span.clone(),
            "hoplimit is ignored: director's BFD is IPv4 only",
        );
    }),
    kw!("vrrp", |_b, n, d| {
        v::bare(n, d);
        d.warn(
            n.span.clone(),
            "'vrrp' is ignored: the session's state goes to whatever names this bfd_instance",
        );
    }),
    kw!("checker", |_b, n, d| {
        v::bare(n, d);
        d.warn(
            n.span.clone(),
            "'checker' is ignored: the session's state goes to whatever names this bfd_instance",
        );
    }),
];

fn neighbor(b: &mut BfdInstanceDraft, n: &Node, d: &mut Diagnostics) {
    v::no_more_args(n, 1, d);
    match v::ip_at(n, 0, d) {
        Some(IpAddr::V4(ip)) => b.neighbor = Some(ip),
        Some(IpAddr::V6(ip)) => d.warn(
            n.span.clone(),
            format!("neighbor_ip {ip} is IPv6, which director's BFD does not speak"),
        ),
        None => {}
    }
}
