//! Reading our nftables tables back (`nft -j list table …`, JSON) and applying a diff as one
//! `nft -f -` script: one script is one kernel transaction, so packets see either the old or
//! the new state, never a table without a rule or a map with a missing slot.
//!
//! Why text in and JSON out: the nftables 1.0.6 JSON parser cannot declare the maps this
//! backend needs (a jhash result is an unqualified integer key: JSON rejects `"type":
//! "integer"`, and `typeof` has no JSON form in that release), while the text grammar takes
//! `typeof numgen inc mod 2 : ip daddr . tcp dport`. Reading uses JSON, the stable
//! machine-readable form. The script is generated from typed values in `render.rs` and
//! here (statement by statement, one object each), not by splicing user strings: the only
//! strings from the configuration are addresses, ports and interface names, all validated
//! types or kernel-reported names.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::render::{self, NftFamily, Rendered, ServiceObjects, COMMENT_PREFIX, NAT_CHAIN, TABLE};
use super::NftError;

/// Handle of a rule we added ourselves and have not read back yet.
pub const UNKNOWN_HANDLE: u64 = 0;

/// One of our rules as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentRule {
    pub family: NftFamily,
    pub chain: String,
    pub handle: u64,
    pub comment: String,
    pub packets: u64,
    pub bytes: u64,
}

/// What our tables hold now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Current {
    pub tables: BTreeSet<NftFamily>,
    pub chains: BTreeSet<(NftFamily, String)>,
    /// (family, map) → slot → value text.
    pub maps: BTreeMap<(NftFamily, String), BTreeMap<u32, String>>,
    pub rules: Vec<CurrentRule>,
}

/// Runs `nft` with `args`, feeding `stdin`; returns stdout.
pub fn nft(args: &[&str], stdin: Option<&str>) -> Result<String, NftError> {
    let mut child = Command::new("nft")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NftError::Spawn(e.to_string()))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|e| NftError::Spawn(format!("writing to nft: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| NftError::Spawn(e.to_string()))?;
    if !out.status.success() {
        return Err(NftError::Failed {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads both of our tables (absent tables read as empty). `terse` leaves out map elements
/// (`nft -t`): listing a million elements takes nft seconds, so the backend reads them only
/// for maps it has not seen yet and otherwise trusts what it wrote itself.
pub fn read_current(terse: bool) -> Result<Current, NftError> {
    let mut cur = Current::default();
    for family in [NftFamily::Inet, NftFamily::Netdev] {
        let args: &[&str] = if terse {
            &["-t", "-j", "list", "table", family.as_str(), TABLE]
        } else {
            &["-j", "list", "table", family.as_str(), TABLE]
        };
        let text = match nft(args, None) {
            Ok(t) => t,
            Err(NftError::Failed { stderr, .. })
                if stderr.contains("No such file or directory") =>
            {
                continue
            }
            Err(e) => return Err(e),
        };
        parse_listing(&text, family, &mut cur)?;
    }
    Ok(cur)
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => {
            let parts = o.get("concat")?.as_array()?;
            let texts: Option<Vec<String>> = parts.iter().map(value_text).collect();
            Some(texts?.join(" . "))
        }
        _ => None,
    }
}

/// Parses `nft -j list table` output into `cur`.
pub fn parse_listing(text: &str, family: NftFamily, cur: &mut Current) -> Result<(), NftError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| NftError::Parse(e.to_string()))?;
    let items = doc
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or_else(|| NftError::Parse("no \"nftables\" array".into()))?;
    for item in items {
        if item.get("table").is_some() {
            cur.tables.insert(family);
        } else if let Some(c) = item.get("chain") {
            if let Some(name) = c.get("name").and_then(Value::as_str) {
                cur.chains.insert((family, name.to_owned()));
            }
        } else if let Some(m) = item.get("map") {
            let Some(name) = m.get("name").and_then(Value::as_str) else {
                continue;
            };
            let mut elems = BTreeMap::new();
            for e in m
                .get("elem")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(pair) = e.as_array() else { continue };
                let (Some(k), Some(v)) = (
                    pair.first().and_then(Value::as_u64),
                    pair.get(1).and_then(value_text),
                ) else {
                    continue;
                };
                if let Ok(k) = u32::try_from(k) {
                    elems.insert(k, v);
                }
            }
            cur.maps.insert((family, name.to_owned()), elems);
        } else if let Some(r) = item.get("rule") {
            let comment = r.get("comment").and_then(Value::as_str).unwrap_or_default();
            let (Some(chain), Some(handle)) = (
                r.get("chain").and_then(Value::as_str),
                r.get("handle").and_then(Value::as_u64),
            ) else {
                continue;
            };
            let counter = r
                .get("expr")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find_map(|x| x.get("counter"));
            let num = |k| {
                counter
                    .and_then(|c| c.get(k))
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            };
            cur.rules.push(CurrentRule {
                family,
                chain: chain.to_owned(),
                handle,
                comment: comment.to_owned(),
                packets: num("packets"),
                bytes: num("bytes"),
            });
        }
    }
    Ok(())
}

/// A script for one transaction and how many objects it changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    pub text: String,
    pub objects: usize,
    /// A statement needed the handle of a rule we added without learning its handle
    /// (see [`expected_after`]): read the rules back and plan again.
    pub unknown_handle: bool,
}

impl Script {
    fn line(&mut self, objects: usize, s: std::fmt::Arguments<'_>) {
        let _ = self.text.write_fmt(s);
        self.text.push('\n');
        self.objects += objects;
    }

    pub fn is_empty(&self) -> bool {
        self.objects == 0
    }

    fn append(&mut self, other: Script) {
        self.text.push_str(&other.text);
        self.objects += other.objects;
        self.unknown_handle |= other.unknown_handle;
    }

    fn handle(&mut self, handle: u64) -> u64 {
        self.unknown_handle |= handle == UNKNOWN_HANDLE;
        handle
    }
}

/// Largest number of elements per `add element` statement (keeps lines and netlink batches
/// reasonable; all statements still form one transaction).
const ELEMENTS_PER_STATEMENT: usize = 4096;

/// Table and base chains we need (idempotent `add`s; count as objects only when created).
pub fn skeleton(want: &Rendered, cur: &Current) -> Script {
    let mut s = Script::default();
    if want.needs(NftFamily::Inet) {
        let created = !cur.tables.contains(&NftFamily::Inet);
        s.line(usize::from(created), format_args!("add table inet {TABLE}"));
        let created = !cur
            .chains
            .contains(&(NftFamily::Inet, NAT_CHAIN.to_owned()));
        s.line(
            usize::from(created),
            format_args!("add chain inet {TABLE} {NAT_CHAIN} {{ type nat hook prerouting priority dstnat; policy accept; }}"),
        );
    }
    if want.needs(NftFamily::Netdev) {
        let created = !cur.tables.contains(&NftFamily::Netdev);
        s.line(
            usize::from(created),
            format_args!("add table netdev {TABLE}"),
        );
        for dev in &want.ingress_devices {
            let chain = render::ingress_chain(dev);
            let created = !cur.chains.contains(&(NftFamily::Netdev, chain.clone()));
            s.line(
                usize::from(created),
                format_args!(
                    "add chain netdev {TABLE} {chain} {{ type filter hook ingress device \"{dev}\" priority -500; policy accept; }}"
                ),
            );
        }
    }
    s
}

fn chains_for(svc: &ServiceObjects, want: &Rendered) -> Vec<String> {
    match svc.family {
        NftFamily::Inet => vec![NAT_CHAIN.to_owned()],
        NftFamily::Netdev => want
            .ingress_devices
            .iter()
            .map(|d| render::ingress_chain(d))
            .collect(),
    }
}

/// The statements that bring one service from `cur` to `svc`.
pub fn service_script(svc: &ServiceObjects, want: &Rendered, cur: &Current) -> Script {
    let mut s = Script::default();
    let fam = svc.family.as_str();
    let have = cur.maps.get(&(svc.family, svc.map.clone()));
    if have.is_none() {
        s.line(
            1,
            format_args!("add map {fam} {TABLE} {} {{ {}; }}", svc.map, svc.map_type),
        );
    }
    let empty = BTreeMap::new();
    let have = have.unwrap_or(&empty);
    let stale: Vec<u32> = have
        .iter()
        .filter(|(k, v)| svc.elements.get(k) != Some(*v))
        .map(|(k, _)| *k)
        .collect();
    let fresh: Vec<(u32, &String)> = svc
        .elements
        .iter()
        .filter(|(k, v)| have.get(k) != Some(*v))
        .map(|(k, v)| (*k, v))
        .collect();
    for chunk in stale.chunks(ELEMENTS_PER_STATEMENT) {
        let list: Vec<String> = chunk.iter().map(u32::to_string).collect();
        s.line(
            chunk.len(),
            format_args!(
                "delete element {fam} {TABLE} {} {{ {} }}",
                svc.map,
                list.join(", ")
            ),
        );
    }
    for chunk in fresh.chunks(ELEMENTS_PER_STATEMENT) {
        let list: Vec<String> = chunk.iter().map(|(k, v)| format!("{k} : {v}")).collect();
        // A replaced slot was deleted just above: its delete and add count as one change.
        let replaced = chunk.iter().filter(|(k, _)| have.contains_key(k)).count();
        s.line(
            chunk.len() - replaced,
            format_args!(
                "add element {fam} {TABLE} {} {{ {} }}",
                svc.map,
                list.join(", ")
            ),
        );
    }
    let tag = render::comment_tag(&svc.key);
    for chain in chains_for(svc, want) {
        let existing: Vec<&CurrentRule> = cur
            .rules
            .iter()
            .filter(|r| r.family == svc.family && r.chain == chain && r.comment.starts_with(&tag))
            .collect();
        match existing.split_first() {
            None => s.line(
                1,
                format_args!("add rule {fam} {TABLE} {chain} {}", svc.rule),
            ),
            Some((first, extra)) => {
                if first.comment != svc.comment {
                    let handle = s.handle(first.handle);
                    s.line(
                        1,
                        format_args!(
                            "replace rule {fam} {TABLE} {chain} handle {} {}",
                            handle, svc.rule
                        ),
                    );
                }
                for r in extra {
                    let handle = s.handle(r.handle);
                    s.line(
                        1,
                        format_args!("delete rule {fam} {TABLE} {chain} handle {handle}"),
                    );
                }
            }
        }
    }
    s
}

/// Statements removing what is ours but no longer wanted: a table we no longer need at all,
/// else unwanted rules first, then unwanted maps, then the DR chains of vanished interfaces.
pub fn cleanup_script(want: &Rendered, cur: &Current) -> Script {
    let mut s = Script::default();
    for family in &cur.tables {
        if want.needs(*family) {
            s.append(cleanup_family(want, cur, *family));
        } else {
            s.line(1, format_args!("delete table {} {TABLE}", family.as_str()));
        }
    }
    s
}

fn cleanup_family(want: &Rendered, cur: &Current, family: NftFamily) -> Script {
    let mut s = Script::default();
    let wanted_tags: BTreeSet<String> = want
        .services
        .iter()
        .filter(|svc| svc.family == family)
        .map(|svc| render::comment_tag(&svc.key))
        .collect();
    let wanted_chains: BTreeSet<String> = want
        .ingress_devices
        .iter()
        .map(|d| render::ingress_chain(d))
        .collect();
    let chain_removed = |chain: &str| family == NftFamily::Netdev && !wanted_chains.contains(chain);
    for r in cur.rules.iter().filter(|r| r.family == family) {
        let tag_end = r.comment.rfind('#').map_or(r.comment.len(), |i| i + 1);
        let wanted =
            r.comment.starts_with(COMMENT_PREFIX) && wanted_tags.contains(&r.comment[..tag_end]);
        if !wanted || chain_removed(&r.chain) {
            let handle = s.handle(r.handle);
            s.line(
                1,
                format_args!(
                    "delete rule {} {TABLE} {} handle {handle}",
                    family.as_str(),
                    r.chain
                ),
            );
        }
    }
    let wanted_maps: BTreeSet<&str> = want
        .services
        .iter()
        .filter(|svc| svc.family == family)
        .map(|svc| svc.map.as_str())
        .collect();
    for (f, name) in cur.maps.keys() {
        if *f == family && !wanted_maps.contains(name.as_str()) {
            s.line(
                1,
                format_args!("delete map {} {TABLE} {name}", family.as_str()),
            );
        }
    }
    for (f, chain) in &cur.chains {
        if *f == family && chain_removed(chain) {
            s.line(1, format_args!("delete chain netdev {TABLE} {chain}"));
        }
    }
    s
}

/// Our tables right after a transaction that brought `before` to `want` succeeded: exactly
/// the rendered objects. Rules keep their handle when they were left untouched; rules we
/// added or replaced get [`UNKNOWN_HANDLE`] (nft cannot echo handles for a transaction of
/// this size) and are read back only if a later change needs them.
pub fn expected_after(want: &Rendered, before: &Current) -> Current {
    let mut cur = Current::default();
    for family in [NftFamily::Inet, NftFamily::Netdev] {
        if want.needs(family) {
            cur.tables.insert(family);
        }
    }
    if want.needs(NftFamily::Inet) {
        cur.chains.insert((NftFamily::Inet, NAT_CHAIN.to_owned()));
    }
    if want.needs(NftFamily::Netdev) {
        for d in &want.ingress_devices {
            cur.chains
                .insert((NftFamily::Netdev, render::ingress_chain(d)));
        }
    }
    for svc in &want.services {
        cur.maps
            .insert((svc.family, svc.map.clone()), svc.elements.clone());
        for chain in chains_for(svc, want) {
            let kept = before
                .rules
                .iter()
                .find(|r| r.family == svc.family && r.chain == chain && r.comment == svc.comment);
            cur.rules.push(CurrentRule {
                family: svc.family,
                chain,
                handle: kept.map_or(UNKNOWN_HANDLE, |r| r.handle),
                comment: svc.comment.clone(),
                packets: 0,
                bytes: 0,
            });
        }
    }
    cur
}

/// Cheap listings (no elements, no rules: milliseconds however large the maps) of the table,
/// chain and map names of our tables.
pub fn read_names() -> Result<Current, NftError> {
    let mut cur = Current::default();
    for family in [NftFamily::Inet, NftFamily::Netdev] {
        for what in ["chains", "maps"] {
            let text = nft(&["-t", "-j", "list", what, family.as_str()], None)?;
            let doc: Value =
                serde_json::from_str(&text).map_err(|e| NftError::Parse(e.to_string()))?;
            for item in doc
                .get("nftables")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(obj) = item.get("chain").or_else(|| item.get("map")) else {
                    continue;
                };
                if obj.get("table").and_then(Value::as_str) != Some(TABLE) {
                    continue;
                }
                let Some(name) = obj.get("name").and_then(Value::as_str) else {
                    continue;
                };
                cur.tables.insert(family);
                if item.get("chain").is_some() {
                    cur.chains.insert((family, name.to_owned()));
                } else {
                    cur.maps.insert((family, name.to_owned()), BTreeMap::new());
                }
            }
        }
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::tables::{DestKey, ServiceKey};

    fn svc(elements: &[(u32, &str)]) -> ServiceObjects {
        ServiceObjects {
            key: ServiceKey::Addr {
                addr: std::net::IpAddr::from([10, 0, 0, 1]),
                port: 80,
                protocol: crate::dataplane::tables::Protocol::Tcp,
            },
            family: NftFamily::Inet,
            map: "m1".into(),
            map_type: "typeof numgen inc mod 2 : ip daddr . tcp dport".into(),
            elements: elements.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            rule: "ip daddr 10.0.0.1 tcp dport 80 counter dnat ip addr . port to jhash ip saddr mod 3 seed 0x6d676c76 map @m1 comment \"director tcp 10.0.0.1:80 #1\"".into(),
            comment: "director tcp 10.0.0.1:80 #1".into(),
            backends: vec![("10.1.0.1 . 80".into(), DestKey { addr: std::net::IpAddr::from([10, 1, 0, 1]), port: 80 }, 1)],
        }
    }

    const LISTING: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
      {"table": {"family": "inet", "name": "director", "handle": 1}},
      {"map": {"family": "inet", "name": "m1", "table": "director", "type": "integer", "handle": 2,
               "map": "ipv4_addr . inet_service",
               "elem": [[0, {"concat": ["10.1.0.1", 80]}], [1, {"concat": ["10.1.0.2", 80]}], [2, {"concat": ["10.1.0.1", 80]}]]}},
      {"map": {"family": "inet", "name": "stale", "table": "director", "type": "integer", "handle": 5, "map": "ipv4_addr"}},
      {"chain": {"family": "inet", "table": "director", "name": "prerouting", "handle": 3, "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}},
      {"rule": {"family": "inet", "table": "director", "chain": "prerouting", "handle": 4, "comment": "director tcp 10.0.0.1:80 #1",
                "expr": [{"counter": {"packets": 7, "bytes": 420}}]}},
      {"rule": {"family": "inet", "table": "director", "chain": "prerouting", "handle": 6, "comment": "director tcp 10.0.0.9:80 #2", "expr": []}}
    ]}"#;

    fn current() -> Current {
        let mut cur = Current::default();
        parse_listing(LISTING, NftFamily::Inet, &mut cur).unwrap_or_else(|e| panic!("{e}"));
        cur
    }

    #[test]
    fn parses_maps_rules_and_counters() {
        let cur = current();
        assert_eq!(
            cur.maps[&(NftFamily::Inet, "m1".to_owned())][&1],
            "10.1.0.2 . 80"
        );
        assert_eq!(cur.rules.len(), 2);
        assert_eq!(
            (
                cur.rules[0].handle,
                cur.rules[0].packets,
                cur.rules[0].bytes
            ),
            (4, 7, 420)
        );
        assert!(cur
            .chains
            .contains(&(NftFamily::Inet, "prerouting".to_owned())));
    }

    #[test]
    fn one_changed_slot_is_a_delete_and_an_add_in_one_script() {
        let want_svc = svc(&[
            (0, "10.1.0.1 . 80"),
            (1, "10.1.0.1 . 80"),
            (2, "10.1.0.1 . 80"),
        ]);
        let want = Rendered {
            services: vec![want_svc.clone()],
            ..Default::default()
        };
        let cur = current();
        let s = service_script(&want_svc, &want, &cur);
        assert_eq!(
            s.text,
            "delete element inet director m1 { 1 }\nadd element inet director m1 { 1 : 10.1.0.1 . 80 }\n"
        );
        assert_eq!(s.objects, 1);
        // The unwanted service's rule goes, then the unwanted map; the wanted ones stay.
        let c = cleanup_script(&want, &cur);
        assert_eq!(
            c.text,
            "delete rule inet director prerouting handle 6\ndelete map inet director stale\n"
        );
        assert!(skeleton(&want, &cur).is_empty());
    }

    #[test]
    fn expected_after_keeps_known_handles_only() {
        let want_svc = svc(&[(0, "10.1.0.1 . 80")]);
        let want = Rendered {
            services: vec![want_svc.clone()],
            ..Default::default()
        };
        let after = expected_after(&want, &current());
        assert_eq!(after.rules.len(), 1);
        assert_eq!(after.rules[0].handle, 4);
        let mut changed = want_svc;
        changed.comment = "director tcp 10.0.0.1:80 #9".into();
        let want = Rendered {
            services: vec![changed.clone()],
            ..Default::default()
        };
        let after = expected_after(&want, &current());
        assert_eq!(after.rules[0].handle, UNKNOWN_HANDLE);
        // Replacing that rule again later needs a fresh read.
        let mut again = changed;
        again.comment = "director tcp 10.0.0.1:80 #10".into();
        assert!(service_script(&again, &want, &after).unknown_handle);
    }
}
