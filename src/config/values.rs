//! Typed values of statement arguments (keepalived.conf(5) "PARAMETER SYNTAX": integers,
//! `<BOOL>`, `<TIMER>` fractional seconds, addresses, ports, scripts). Each reader
//! records a `file:line:col: keyword: expected …, found '…'` error and returns `None`
//! when the argument is missing or wrong, so the caller keeps its default and goes on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use ipnetwork::IpNetwork;

use super::error::{Diagnostics, Span};
use super::model::{
    AddressScope, IpAddressSpec, MaskedByte, RouteKind, RouteSpec, Script, ScriptUser,
};
use super::parser::Node;

/// The error for argument `index` of `node`.
pub fn bad(node: &Node, index: usize, what: &str, diag: &mut Diagnostics) {
    match node.arg(index) {
        Some(found) => diag.error(
            node.arg_span(index),
            format!("{}: expected {what}, found '{found}'", node.keyword),
        ),
        None => diag.error(
            node.span.clone(),
            format!("{}: missing value, expected {what}", node.keyword),
        ),
    }
}

/// Warn about arguments from `from` on, which the keyword does not take.
pub fn no_more_args(node: &Node, from: usize, diag: &mut Diagnostics) {
    if let Some(extra) = node.args.get(from) {
        diag.warn(
            node.arg_span(from),
            format!(
                "{}: ignoring unexpected extra argument '{}'",
                node.keyword, extra.text
            ),
        );
    }
}

/// A statement that must not open a block, and a block that must.
pub fn no_block(node: &Node, diag: &mut Diagnostics) {
    if node.children.is_some() {
        diag.error(
            node.span.clone(),
            format!(
                "{}: unexpected block, expected a plain statement",
                node.keyword
            ),
        );
    }
}

pub fn block<'n, 'a>(node: &'n Node<'a>, diag: &mut Diagnostics) -> Option<&'n [Node<'a>]> {
    match &node.children {
        Some(children) => Some(children),
        None => {
            diag.error(
                node.span.clone(),
                format!("{}: expected a block '{{ … }}'", node.keyword),
            );
            None
        }
    }
}

/// The single argument of a plain `keyword VALUE` statement.
pub fn single<'n>(node: &'n Node, what: &str, diag: &mut Diagnostics) -> Option<&'n str> {
    no_block(node, diag);
    match node.arg(0) {
        Some(v) => {
            no_more_args(node, 1, diag);
            Some(v)
        }
        None => {
            bad(node, 0, what, diag);
            None
        }
    }
}

pub fn parse_int(text: &str) -> Option<i64> {
    text.parse::<i64>().ok()
}

/// An integer in `min..=max` at argument `index`.
pub fn int_at(
    node: &Node,
    index: usize,
    min: i64,
    max: i64,
    diag: &mut Diagnostics,
) -> Option<i64> {
    match node.arg(index).and_then(parse_int) {
        Some(v) if (min..=max).contains(&v) => Some(v),
        _ => {
            bad(
                node,
                index,
                &format!("an integer from {min} to {max}"),
                diag,
            );
            None
        }
    }
}

/// `keyword INTEGER` with the value in `min..=max`.
pub fn int<T: TryFrom<i64>>(node: &Node, min: i64, max: i64, diag: &mut Diagnostics) -> Option<T> {
    no_block(node, diag);
    let v = int_at(node, 0, min, max, diag)?;
    no_more_args(node, 1, diag);
    T::try_from(v).ok()
}

/// A `<TIMER>`: non-negative seconds with up to microsecond resolution.
pub fn parse_timer(text: &str) -> Option<Duration> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let secs: f64 = text.parse().ok()?;
    if !secs.is_finite() || !(0.0..=(u32::MAX as f64)).contains(&secs) {
        return None;
    }
    Some(Duration::from_micros((secs * 1e6).round() as u64))
}

pub fn timer_at(
    node: &Node,
    index: usize,
    max_secs: u64,
    diag: &mut Diagnostics,
) -> Option<Duration> {
    match node.arg(index).and_then(parse_timer) {
        Some(d) if d <= Duration::from_secs(max_secs) => Some(d),
        _ => {
            bad(
                node,
                index,
                &format!("a time in seconds from 0 to {max_secs}"),
                diag,
            );
            None
        }
    }
}

/// `keyword SECONDS`.
pub fn timer(node: &Node, max_secs: u64, diag: &mut Diagnostics) -> Option<Duration> {
    no_block(node, diag);
    let v = timer_at(node, 0, max_secs, diag)?;
    no_more_args(node, 1, diag);
    Some(v)
}

pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// `keyword [<BOOL>]`: a bare keyword means true.
pub fn flag(node: &Node, diag: &mut Diagnostics) -> Option<bool> {
    no_block(node, diag);
    match node.arg(0) {
        None => Some(true),
        Some(text) => match parse_bool(text) {
            Some(v) => {
                no_more_args(node, 1, diag);
                Some(v)
            }
            None => {
                bad(node, 0, "on|off|true|false|yes|no or nothing", diag);
                None
            }
        },
    }
}

/// A bare keyword that takes no argument.
pub fn bare(node: &Node, diag: &mut Diagnostics) {
    no_block(node, diag);
    no_more_args(node, 0, diag);
}

pub fn ip_at(node: &Node, index: usize, diag: &mut Diagnostics) -> Option<IpAddr> {
    match node.arg(index).and_then(|t| IpAddr::from_str(t).ok()) {
        Some(ip) => Some(ip),
        None => {
            bad(node, index, "an IP address", diag);
            None
        }
    }
}

/// keepalived's `inet_stosockaddr`: an address where keepalived cuts a `/mask` or a
/// `-range` off and uses what comes before. The text up to the cut, and what was cut.
pub fn split_loose_ip(text: &str) -> (&str, Option<&str>) {
    match text.find(['-', '/']) {
        Some(at) => (&text[..at], Some(&text[at..])),
        None => (text, None),
    }
}

/// An address at argument `index` that may carry a `/mask` or `-range`, which keepalived
/// ignores there (`unicast_src_ip`, `virtual_server`, `real_server`, `connect_ip`…):
/// director ignores it too, with a warning.
pub fn loose_ip_at(node: &Node, index: usize, diag: &mut Diagnostics) -> Option<IpAddr> {
    let Some(text) = node.arg(index) else {
        bad(node, index, "an IP address", diag);
        return None;
    };
    loose_ip_text(&node.keyword, text, node.arg_span(index), diag).or_else(|| {
        bad(node, index, "an IP address", diag);
        None
    })
}

/// [`loose_ip_at`] for a word that is not an argument (a line of a `unicast_peer` block).
pub fn loose_ip_text(
    keyword: &str,
    text: &str,
    span: super::error::Span,
    diag: &mut Diagnostics,
) -> Option<IpAddr> {
    let (addr, cut) = split_loose_ip(text);
    let ip = IpAddr::from_str(addr).ok()?;
    if let Some(cut) = cut {
        diag.warn(
            span,
            format!(
                "{keyword}: '{cut}' after the address is ignored (as keepalived does), using {ip}"
            ),
        );
    }
    Some(ip)
}

/// `keyword ADDRESS[/MASK|-RANGE]`, see [`loose_ip_at`].
pub fn loose_ip(node: &Node, diag: &mut Diagnostics) -> Option<IpAddr> {
    no_block(node, diag);
    let v = loose_ip_at(node, 0, diag)?;
    no_more_args(node, 1, diag);
    Some(v)
}

pub fn ip(node: &Node, diag: &mut Diagnostics) -> Option<IpAddr> {
    no_block(node, diag);
    let v = ip_at(node, 0, diag)?;
    no_more_args(node, 1, diag);
    Some(v)
}

pub fn ipv4_at(node: &Node, index: usize, diag: &mut Diagnostics) -> Option<Ipv4Addr> {
    match node.arg(index).and_then(|t| Ipv4Addr::from_str(t).ok()) {
        Some(ip) => Some(ip),
        None => {
            bad(node, index, "an IPv4 address (A.B.C.D)", diag);
            None
        }
    }
}

pub fn port_at(node: &Node, index: usize, diag: &mut Diagnostics) -> Option<u16> {
    match node.arg(index).and_then(|t| t.parse::<u16>().ok()) {
        Some(p) => Some(p),
        None => {
            bad(node, index, "a port number from 0 to 65535", diag);
            None
        }
    }
}

pub fn port(node: &Node, diag: &mut Diagnostics) -> Option<u16> {
    no_block(node, diag);
    let v = port_at(node, 0, diag)?;
    no_more_args(node, 1, diag);
    Some(v)
}

/// `ADDR[/LEN]`; without a length the host prefix (/32, /128).
pub fn parse_prefix(text: &str) -> Option<IpNetwork> {
    match text.split_once('/') {
        Some((addr, len)) => {
            let addr = IpAddr::from_str(addr).ok()?;
            let len: u8 = len.parse().ok()?;
            IpNetwork::new(addr, len).ok()
        }
        None => {
            let addr = IpAddr::from_str(text).ok()?;
            let len = if addr.is_ipv4() { 32 } else { 128 };
            IpNetwork::new(addr, len).ok()
        }
    }
}

pub fn prefix_at(node: &Node, index: usize, diag: &mut Diagnostics) -> Option<IpNetwork> {
    match node.arg(index).and_then(parse_prefix) {
        Some(p) => Some(p),
        None => {
            bad(
                node,
                index,
                "an IP address with an optional /prefix-length",
                diag,
            );
            None
        }
    }
}

pub fn string(node: &Node, what: &str, diag: &mut Diagnostics) -> Option<String> {
    single(node, what, diag).map(str::to_string)
}

/// `<STRING>|<QUOTED-STRING> [username [groupname]]`.
pub fn script(node: &Node, diag: &mut Diagnostics) -> Option<Script> {
    no_block(node, diag);
    let Some(command) = node.arg(0) else {
        bad(node, 0, "a script path or a quoted command", diag);
        return None;
    };
    if command.trim().is_empty() {
        bad(node, 0, "a script path or a quoted command", diag);
        return None;
    }
    let user = node.arg(1).map(|user| {
        Box::new(ScriptUser {
            user: user.to_string(),
            group: node.arg(2).map(str::to_string),
        })
    });
    no_more_args(node, 3, diag);
    Some(Script {
        command: command.to_string(),
        user,
    })
}

/// `USER [GROUP]`.
pub fn script_user(node: &Node, diag: &mut Diagnostics) -> Option<ScriptUser> {
    no_block(node, diag);
    let Some(user) = node.arg(0) else {
        bad(node, 0, "a user name", diag);
        return None;
    };
    no_more_args(node, 2, diag);
    Some(ScriptUser {
        user: user.to_string(),
        group: node.arg(1).map(str::to_string),
    })
}

/// One of `choices` (case-insensitive); the error lists them.
pub fn choice_at<T: Copy>(
    node: &Node,
    index: usize,
    choices: &[(&str, T)],
    diag: &mut Diagnostics,
) -> Option<T> {
    let found = node.arg(index).and_then(|text| {
        choices
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
            .map(|(_, v)| *v)
    });
    if found.is_none() {
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        bad(node, index, &names.join("|"), diag);
    }
    found
}

pub fn choice<T: Copy>(node: &Node, choices: &[(&str, T)], diag: &mut Diagnostics) -> Option<T> {
    no_block(node, diag);
    let v = choice_at(node, 0, choices, diag)?;
    no_more_args(node, 1, diag);
    Some(v)
}

/// The words of a list block (`notification_email { a b }`, `group { … }`): every
/// keyword and argument of every line.
pub fn list_words<'n>(
    node: &'n Node,
    diag: &mut Diagnostics,
) -> Vec<(&'n str, super::error::Span)> {
    let Some(children) = block(node, diag) else {
        return Vec::new();
    };
    let mut words = Vec::new();
    for child in children {
        no_block(child, diag);
        words.push((&*child.keyword, child.span.clone()));
        for i in 0..child.args.len() {
            words.push((&*child.args[i].text, child.arg_span(i)));
        }
    }
    words
}

/// keepalived's "quite free format" `<HEX_STR>` (UDP_CHECK `payload`, `require_reply`),
/// read as keepalived's `read_hex_str()` (lib/parser.c) does: whitespace separates
/// groups, each group is read two digits to a byte, and a group of odd length ends in a
/// byte of its last digit alone (`Ab12f 3` → `AB 12 0F 03`). With `wildcard`, `X`/`x`
/// stands for a digit whose value is ignored (its mask bits are 0).
///
/// On failure, the index of the argument at fault (or `None`: nothing to read).
pub fn parse_hex(words: &[&str], wildcard: bool) -> Result<Vec<MaskedByte>, Option<usize>> {
    let nibble = |c: u8| -> Option<(u8, u8)> {
        match c {
            b'X' | b'x' if wildcard => Some((0, 0)),
            _ => (c as char).to_digit(16).map(|d| (d as u8, 0x0F)),
        }
    };
    let mut bytes = Vec::new();
    for (index, word) in words.iter().enumerate() {
        for group in word.split_ascii_whitespace() {
            for pair in group.as_bytes().chunks(2) {
                let byte = match pair {
                    [hi, lo] => {
                        nibble(*hi)
                            .zip(nibble(*lo))
                            .map(|((hv, hm), (lv, lm))| MaskedByte {
                                value: hv << 4 | lv,
                                mask: hm << 4 | lm,
                            })
                    }
                    // The implied high digit is a 0 that must match.
                    [single] => nibble(*single).map(|(value, mask)| MaskedByte {
                        value,
                        mask: 0xF0 | mask,
                    }),
                    _ => None,
                };
                bytes.push(byte.ok_or(Some(index))?);
            }
        }
    }
    if bytes.is_empty() {
        return Err(None);
    }
    Ok(bytes)
}

// ───────────────────────────── addresses and routes ─────────────────────────────

const SCOPES: &[(&str, AddressScope)] = &[
    ("global", AddressScope::Global),
    ("site", AddressScope::Site),
    ("link", AddressScope::Link),
    ("host", AddressScope::Host),
    ("nowhere", AddressScope::Nowhere),
];

/// `<IPADDR>[/<MASK>] [brd <IPADDR>] [dev <STRING>] [scope <SCOPE>] [label <LABEL>]
/// [peer <IPADDR>] [no_track] [use_vmac] …` (one line of virtual_ipaddress).
pub fn ip_address_spec(n: &Node, d: &mut Diagnostics) -> Option<(IpAddressSpec, Span)> {
    no_block(n, d);
    let Some(address) = parse_prefix(&n.keyword) else {
        d.error(
            n.span.clone(),
            format!(
                "expected an IP address with an optional /prefix-length, found '{}'",
                n.keyword
            ),
        );
        return None;
    };
    let mut spec = IpAddressSpec {
        address,
        broadcast: None,
        dev: None,
        scope: None,
        label: None,
        peer: None,
        no_track: false,
        use_vmac: false,
        flags: Vec::new(),
    };
    let mut i = 0;
    while let Some(word) = n.arg(i) {
        let value = n.arg(i + 1);
        let mut takes_value = true;
        match word {
            "brd" | "broadcast" => match value {
                Some("+") | Some("-") => {}
                _ => spec.broadcast = Some(ip_at(n, i + 1, d)?),
            },
            "dev" => spec.dev = value.map(str::to_string),
            "scope" => spec.scope = Some(choice_at(n, i + 1, SCOPES, d)?),
            "label" => spec.label = value.map(str::to_string),
            "peer" => spec.peer = Some(prefix_at(n, i + 1, d)?),
            "preferred_lft" | "track_group" => spec
                .flags
                .extend([word, value.unwrap_or("")].map(str::to_string)),
            "no_track" => {
                spec.no_track = true;
                takes_value = false
            }
            "use_vmac" => {
                spec.use_vmac = true;
                takes_value = false
            }
            "home" | "-nodad" | "nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin" => {
                spec.flags.push(word.to_string());
                takes_value = false
            }
            _ => {
                bad(
                    n,
                    i,
                    "brd, dev, scope, label, peer, no_track or an ip-address flag",
                    d,
                );
                return None;
            }
        }
        if takes_value {
            if value.is_none() {
                bad(n, i + 1, &format!("a value after '{word}'"), d);
                return None;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Some((spec, n.span.clone()))
}

/// One line of `virtual_routes` / `static_routes`:
/// `[src IP] [to] DEST [via|gw IP] [dev IF] [scope S] [table T] [metric N] [no_track] …`,
/// or `blackhole|unreachable|prohibit DEST`.
pub fn route_spec(n: &Node, d: &mut Diagnostics) -> Option<RouteSpec> {
    no_block(n, d);
    let words: Vec<(&str, usize)> = std::iter::once((&*n.keyword, usize::MAX))
        .chain(n.args.iter().enumerate().map(|(i, a)| (&*a.text, i)))
        .collect();
    let span_of = |index: usize| {
        if index == usize::MAX {
            n.span.clone()
        } else {
            n.arg_span(index)
        }
    };
    let mut route = RouteSpec {
        destination: IpNetwork::V4(ipnetwork::Ipv4Network::from(Ipv4Addr::UNSPECIFIED)),
        kind: RouteKind::Unicast,
        src: None,
        via: None,
        dev: None,
        scope: None,
        table: None,
        metric: None,
        no_track: false,
        options: Vec::new(),
    };
    let mut destination = None;
    // `inet`/`inet6` before `default` or after `via`.
    let mut family: Option<&str> = None;
    let mut k = 0;
    while k < words.len() {
        let (word, _) = words[k];
        let value = words.get(k + 1).map(|(w, _)| *w);
        let value_span = words
            .get(k + 1)
            .map(|(_, i)| span_of(*i))
            .unwrap_or_else(|| n.span.clone());
        let need = |d: &mut Diagnostics, what: &str| {
            d.error(
                value_span.clone(),
                format!(
                    "route: expected {what} after '{word}', found '{}'",
                    value.unwrap_or("")
                ),
            );
        };
        let mut step = 2;
        match word {
            "src" => match value.and_then(|x| x.parse().ok()) {
                Some(ip) => route.src = Some(ip),
                None => {
                    need(d, "an IP address");
                    return None;
                }
            },
            // keepalived: `via [inet|inet6] ADDR`.
            "via" | "gw" if matches!(value, Some("inet" | "inet6")) => {
                family = value;
                match words.get(k + 2).and_then(|(x, _)| x.parse().ok()) {
                    Some(ip) => route.via = Some(ip),
                    None => {
                        d.error(
                            words
                                .get(k + 2)
                                .map_or(value_span.clone(), |(_, i)| span_of(*i)),
                            format!(
                                "route: expected an IP address after 'via {}'",
                                family.unwrap_or("")
                            ),
                        );
                        return None;
                    }
                }
                step = 3
            }
            "via" | "gw" => match value.and_then(|x| x.parse().ok()) {
                Some(ip) => route.via = Some(ip),
                None => {
                    need(d, "an IP address");
                    return None;
                }
            },
            "inet" | "inet6" => {
                family = Some(word);
                step = 1
            }
            // keepalived's parse_ipaddress: `default6` is the IPv6 default route.
            "default6" if destination.is_none() => {
                destination = IpNetwork::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0).ok();
                step = 1
            }
            "to" => step = 1,
            "dev" | "oif" => match value {
                Some(dev) => route.dev = Some(dev.to_string()),
                None => {
                    need(d, "an interface name");
                    return None;
                }
            },
            "scope" => match value.and_then(|x| SCOPES.iter().find(|(s, _)| *s == x)) {
                Some((_, s)) => route.scope = Some(*s),
                None => {
                    need(d, "global|site|link|host|nowhere");
                    return None;
                }
            },
            "table" => match value {
                Some(t) => route.table = Some(t.to_string()),
                None => {
                    need(d, "a table");
                    return None;
                }
            },
            "metric" | "priority" | "preference" => match value.and_then(|x| x.parse().ok()) {
                Some(m) => route.metric = Some(m),
                None => {
                    need(d, "a number");
                    return None;
                }
            },
            "blackhole" => {
                route.kind = RouteKind::Blackhole;
                step = 1
            }
            "unreachable" => {
                route.kind = RouteKind::Unreachable;
                step = 1
            }
            "prohibit" => {
                route.kind = RouteKind::Prohibit;
                step = 1
            }
            "no_track" => {
                route.no_track = true;
                step = 1
            }
            "default" | "any" | "all" if destination.is_none() => {
                let ipv6 = family == Some("inet6")
                    || route.via.or(route.src).is_some_and(|a| a.is_ipv6())
                    || words[k + 1..].iter().any(|(w, _)| w.contains(':'));
                let any = if ipv6 {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                } else {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                };
                destination = IpNetwork::new(any, 0).ok();
                step = 1
            }
            _ => {
                match parse_prefix(word) {
                    Some(p) if destination.is_none() => destination = Some(p),
                    _ => route.options.push(word.to_string()),
                }
                step = 1
            }
        }
        k += step;
    }
    match destination {
        Some(dst) => {
            route.destination = dst;
            Some(route)
        }
        None => {
            d.error(
                n.span.clone(),
                "route: expected a destination prefix (A.B.C.D/N)",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers() {
        assert_eq!(parse_timer("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_timer("0.001"), Some(Duration::from_millis(1)));
        assert_eq!(
            parse_timer("2.71828"),
            Some(Duration::from_micros(2_718_280))
        );
        assert_eq!(parse_timer("-1"), None);
        assert_eq!(parse_timer("1e3"), None);
        assert_eq!(parse_timer("inf"), None);
        assert_eq!(parse_timer(""), None);
    }

    #[test]
    fn prefixes() {
        assert_eq!(parse_prefix("10.0.0.1").map(|p| p.prefix()), Some(32));
        assert_eq!(parse_prefix("10.0.0.1/24").map(|p| p.prefix()), Some(24));
        assert_eq!(parse_prefix("2001:db8::1").map(|p| p.prefix()), Some(128));
        assert_eq!(parse_prefix("10.0.0.1/33"), None);
        assert_eq!(parse_prefix("10.0.0.256"), None);
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("off"), Some(false));
        assert_eq!(parse_bool("1"), None);
    }

    fn plain(bytes: &[u8]) -> Vec<MaskedByte> {
        bytes
            .iter()
            .map(|&value| MaskedByte { value, mask: 0xFF })
            .collect()
    }

    #[test]
    fn hex_strings_as_the_man_page_example() {
        // keepalived.conf(5) UDP_CHECK: "Ab12f 3 456 546443123" is "AB 12 0F 03 45 06 54
        // 64 43 12 03".
        let words = ["Ab12f", "3", "456", "546443123"];
        let expected = [
            0xAB, 0x12, 0x0F, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03,
        ];
        assert_eq!(parse_hex(&words, false), Ok(plain(&expected)));
        assert_eq!(parse_hex(&words, true), Ok(plain(&expected)));
        // One quoted word with the same spaces reads the same.
        assert_eq!(
            parse_hex(&["Ab12f 3 456 546443123"], false),
            Ok(plain(&expected))
        );
    }

    #[test]
    fn hex_wildcards_mask_nibbles() {
        assert_eq!(
            parse_hex(&["Xa", "bx", "xX", "X"], true),
            Ok(vec![
                MaskedByte {
                    value: 0x0A,
                    mask: 0x0F
                },
                MaskedByte {
                    value: 0xB0,
                    mask: 0xF0
                },
                MaskedByte {
                    value: 0x00,
                    mask: 0x00
                },
                MaskedByte {
                    value: 0x00,
                    mask: 0xF0
                },
            ])
        );
        // A payload is sent as written: no wildcard there.
        assert_eq!(parse_hex(&["01", "Xa"], false), Err(Some(1)));
    }

    #[test]
    fn bad_hex_strings() {
        assert_eq!(parse_hex(&["0g"], false), Err(Some(0)));
        assert_eq!(parse_hex(&["12", "+"], true), Err(Some(1)));
        assert_eq!(parse_hex(&[], false), Err(None));
        assert_eq!(parse_hex(&[" "], false), Err(None));
    }
}
