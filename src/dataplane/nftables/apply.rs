//! Reading our nftables tables back and turning the difference into one netlink batch: one
//! batch is one kernel transaction, so packets see either the old or the new state, never
//! a table without a rule or a map with a missing slot.
//!
//! Reading is by netlink dumps of our two tables only (tables, chains, maps, rules; map
//! elements only for maps whose contents we do not know yet). Planning is pure: [`plan`]
//! takes what the kernel holds and what we want and appends the messages to a batch.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::netlink::{NetlinkError, NfSocket};
use super::render::{
    self, MapContents, NftFamily, Rendered, ServiceObjects, COMMENT_PREFIX, NAT_CHAIN, TABLE,
};
use super::wire::{self, Batch, MsgType, Placement};

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
    /// (family, map) → contents; `None` when the elements have not been read.
    pub maps: BTreeMap<(NftFamily, String), Option<Arc<MapContents>>>,
    pub rules: Vec<CurrentRule>,
}

const FAMILIES: [NftFamily; 2] = [NftFamily::Inet, NftFamily::Netdev];

/// Reads the names of our tables, chains and maps and every rule with its counter (no map
/// elements: milliseconds however large the maps).
pub fn read_skeleton(sock: &mut NfSocket) -> Result<Current, NetlinkError> {
    let mut cur = Current::default();
    for family in FAMILIES {
        let nfproto = family.nfproto();
        let exists = sock.query(
            "table director",
            |seq| wire::get_table(seq, nfproto, TABLE),
            |_| {},
        )?;
        if !exists {
            continue;
        }
        cur.tables.insert(family);
        sock.query(
            "chains",
            |seq| wire::dump(MsgType::GetChain, seq, nfproto, Some(TABLE)),
            |m| {
                if let Some((table, name)) = wire::chain_name(m) {
                    if table == TABLE {
                        cur.chains.insert((family, name));
                    }
                }
            },
        )?;
        sock.query(
            "maps",
            |seq| wire::dump(MsgType::GetSet, seq, nfproto, Some(TABLE)),
            |m| {
                if let Some((table, name)) = wire::set_name(m) {
                    if table == TABLE {
                        cur.maps.insert((family, name), None);
                    }
                }
            },
        )?;
        cur.rules.extend(read_rules(sock, family)?);
    }
    Ok(cur)
}

/// Every rule of our table in `family`, with its counter.
pub fn read_rules(
    sock: &mut NfSocket,
    family: NftFamily,
) -> Result<Vec<CurrentRule>, NetlinkError> {
    let mut rules = Vec::new();
    sock.query(
        "rules",
        |seq| wire::dump(MsgType::GetRule, seq, family.nfproto(), Some(TABLE)),
        |m| {
            if let Some(r) = wire::rule_info(m) {
                if r.table == TABLE {
                    rules.push(CurrentRule {
                        family,
                        chain: r.chain,
                        handle: r.handle,
                        comment: r.comment,
                        packets: r.packets,
                        bytes: r.bytes,
                    });
                }
            }
        },
    )?;
    Ok(rules)
}

/// The elements of one of our maps.
pub fn read_map(
    sock: &mut NfSocket,
    family: NftFamily,
    map: &str,
) -> Result<MapContents, NetlinkError> {
    let mut elements = Vec::new();
    sock.query(
        &format!("elements of map {map}"),
        |seq| wire::dump_elements(seq, family.nfproto(), TABLE, map),
        |m| {
            if let Some((_, _, mut e)) = wire::set_elements(m) {
                elements.append(&mut e);
            }
        },
    )?;
    Ok(MapContents::from_elements(elements))
}

/// What [`plan`] appended: how many objects it changes, and whether it adds or replaces
/// rules (whose new handles must then be read back).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Planned {
    pub objects: usize,
    pub rules_written: bool,
}

impl std::ops::AddAssign for Planned {
    fn add_assign(&mut self, o: Planned) {
        self.objects += o.objects;
        self.rules_written |= o.rules_written;
    }
}

/// Table and base chains we need (created only when missing).
pub fn skeleton(b: &mut Batch, want: &Rendered, cur: &Current) -> Planned {
    let mut p = Planned::default();
    if want.needs(NftFamily::Inet) {
        if !cur.tables.contains(&NftFamily::Inet) {
            wire::new_table(b, wire::NFPROTO_INET, TABLE);
            p.objects += 1;
        }
        if !cur
            .chains
            .contains(&(NftFamily::Inet, NAT_CHAIN.to_owned()))
        {
            let nat = wire::BaseChain {
                kind: "nat",
                hook: 0,
                priority: -100,
                device: None,
            };
            wire::new_chain(b, wire::NFPROTO_INET, TABLE, NAT_CHAIN, &nat);
            p.objects += 1;
        }
    }
    if want.needs(NftFamily::Netdev) {
        if !cur.tables.contains(&NftFamily::Netdev) {
            wire::new_table(b, wire::NFPROTO_NETDEV, TABLE);
            p.objects += 1;
        }
        for dev in &want.ingress_devices {
            let chain = render::ingress_chain(dev);
            if !cur.chains.contains(&(NftFamily::Netdev, chain.clone())) {
                let ingress = wire::BaseChain {
                    kind: "filter",
                    hook: 0,
                    priority: -500,
                    device: Some(dev),
                };
                wire::new_chain(b, wire::NFPROTO_NETDEV, TABLE, &chain, &ingress);
                p.objects += 1;
            }
        }
    }
    p
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

/// The service tag of a rule comment (`director <key> #`), or the whole comment.
pub fn tag_of(comment: &str) -> &str {
    let end = comment.rfind('#').map_or(comment.len(), |i| i + 1);
    &comment[..end]
}

/// Our rules by (family, chain, service tag), so planning a thousand services does not scan
/// a thousand rules for each.
pub struct RuleIndex<'a> {
    rules: std::collections::HashMap<(NftFamily, String, String), Vec<&'a CurrentRule>>,
}

impl<'a> RuleIndex<'a> {
    pub fn new(cur: &'a Current) -> RuleIndex<'a> {
        let mut rules: std::collections::HashMap<_, Vec<&CurrentRule>> = Default::default();
        for r in &cur.rules {
            rules
                .entry((r.family, r.chain.clone(), tag_of(&r.comment).to_owned()))
                .or_default()
                .push(r);
        }
        RuleIndex { rules }
    }

    fn get(&self, family: NftFamily, chain: &str, tag: &str) -> &[&'a CurrentRule] {
        self.rules
            .get(&(family, chain.to_owned(), tag.to_owned()))
            .map_or(&[], Vec::as_slice)
    }
}

/// The messages that bring one service from `cur` to `svc`. `map_id` numbers a map created
/// in this batch. The map's contents must be known (read) when the map exists.
pub fn service(
    b: &mut Batch,
    svc: &ServiceObjects,
    want: &Rendered,
    cur: &Current,
    rules: &RuleIndex<'_>,
    map_id: u32,
) -> Planned {
    let mut p = Planned::default();
    let nfproto = svc.family.nfproto();
    let empty = MapContents::default();
    let have = match cur.maps.get(&(svc.family, svc.map.clone())) {
        Some(contents) => contents.as_deref().unwrap_or(&empty),
        None => {
            wire::new_map(
                b,
                nfproto,
                TABLE,
                &svc.map,
                svc.shape,
                Some(svc.contents.slots.len() as u32),
                map_id,
            );
            p.objects += 1;
            &empty
        }
    };
    let slots = if *have == *svc.contents {
        0
    } else {
        have.slots.len().max(svc.contents.slots.len())
    };
    let mut stale: Vec<(u32, &[u8])> = Vec::new();
    let mut fresh: Vec<(u32, &[u8])> = Vec::new();
    for slot in 0..slots {
        let (old, new) = (have.get(slot), svc.contents.get(slot));
        if old == new {
            continue;
        }
        if let Some(v) = old {
            stale.push((slot as u32, v));
        }
        if let Some(v) = new {
            fresh.push((slot as u32, v));
        }
    }
    // A replaced slot is a delete and an add in the same transaction: one change.
    p.objects += stale.len().max(fresh.len());
    wire::map_elements(b, nfproto, TABLE, &svc.map, None, &stale, true);
    wire::map_elements(b, nfproto, TABLE, &svc.map, None, &fresh, false);
    let tag = render::comment_tag(&svc.key);
    for chain in chains_for(svc, want) {
        let mut existing = rules.get(svc.family, &chain, &tag).iter();
        match existing.next() {
            None => {
                wire::new_rule(
                    b,
                    nfproto,
                    TABLE,
                    &chain,
                    &svc.exprs,
                    &svc.comment,
                    Placement::Append,
                );
                p.objects += 1;
                p.rules_written = true;
            }
            Some(first) => {
                if first.comment != svc.comment {
                    wire::new_rule(
                        b,
                        nfproto,
                        TABLE,
                        &chain,
                        &svc.exprs,
                        &svc.comment,
                        Placement::Replace(first.handle),
                    );
                    p.objects += 1;
                    p.rules_written = true;
                }
                for r in existing {
                    wire::del_rule(b, nfproto, TABLE, &chain, r.handle);
                    p.objects += 1;
                }
            }
        }
    }
    p
}

/// Messages removing what is ours but no longer wanted: a table we no longer need at all,
/// else unwanted rules first, then unwanted maps, then the DR chains of vanished interfaces.
pub fn cleanup(b: &mut Batch, want: &Rendered, cur: &Current) -> Planned {
    let mut p = Planned::default();
    for family in &cur.tables {
        if want.needs(*family) {
            p += cleanup_family(b, want, cur, *family);
        } else {
            wire::del_table(b, family.nfproto(), TABLE);
            p.objects += 1;
        }
    }
    p
}

fn cleanup_family(b: &mut Batch, want: &Rendered, cur: &Current, family: NftFamily) -> Planned {
    let mut p = Planned::default();
    let nfproto = family.nfproto();
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
        let wanted =
            r.comment.starts_with(COMMENT_PREFIX) && wanted_tags.contains(tag_of(&r.comment));
        if !wanted || chain_removed(&r.chain) {
            wire::del_rule(b, nfproto, TABLE, &r.chain, r.handle);
            p.objects += 1;
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
            wire::del_map(b, nfproto, TABLE, name);
            p.objects += 1;
        }
    }
    for (f, chain) in &cur.chains {
        if *f == family && chain_removed(chain) {
            wire::del_chain(b, nfproto, TABLE, chain);
            p.objects += 1;
        }
    }
    p
}

/// Our tables right after a transaction that brought `before` to `want` succeeded: exactly
/// the rendered objects. Rules keep their handles when they were left untouched; the caller
/// reads rules back when the transaction wrote any (their handles are the kernel's choice).
pub fn expected_after(want: &Rendered, before: &Current) -> Current {
    let mut cur = Current::default();
    for family in FAMILIES {
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
        cur.maps.insert(
            (svc.family, svc.map.clone()),
            Some(Arc::clone(&svc.contents)),
        );
        for chain in chains_for(svc, want) {
            if let Some(kept) = before
                .rules
                .iter()
                .find(|r| r.family == svc.family && r.chain == chain && r.comment == svc.comment)
            {
                cur.rules.push(kept.clone());
            }
        }
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::nftables::wire::MapShape;
    use crate::dataplane::tables::{DestKey, Protocol, ServiceKey};

    fn value(last: u8) -> Vec<u8> {
        wire::element_value(&std::net::IpAddr::from([10, 1, 0, last]), Some(80))
    }

    fn svc(slots: &[u16]) -> ServiceObjects {
        ServiceObjects {
            key: ServiceKey::Addr {
                addr: std::net::IpAddr::from([10, 0, 0, 1]),
                port: 80,
                protocol: Protocol::Tcp,
            },
            family: NftFamily::Inet,
            map: "m1".into(),
            shape: MapShape {
                v6: false,
                port_of: Some(6),
            },
            contents: Arc::new(MapContents {
                values: vec![value(1), value(2)],
                slots: slots.to_vec(),
            }),
            exprs: wire::encode_exprs(&[wire::Expr::Counter]),
            comment: "director tcp 10.0.0.1:80 #1".into(),
            backends: vec![(
                DestKey {
                    addr: std::net::IpAddr::from([10, 1, 0, 1]),
                    port: 80,
                },
                1,
            )],
        }
    }

    fn current() -> Current {
        let mut cur = Current::default();
        cur.tables.insert(NftFamily::Inet);
        cur.chains.insert((NftFamily::Inet, NAT_CHAIN.to_owned()));
        cur.maps.insert(
            (NftFamily::Inet, "m1".into()),
            Some(Arc::new(MapContents {
                values: vec![value(1), value(2)],
                slots: vec![0, 1, 0],
            })),
        );
        cur.maps.insert((NftFamily::Inet, "stale".into()), None);
        for (handle, comment) in [
            (4, "director tcp 10.0.0.1:80 #1"),
            (6, "director tcp 10.0.0.9:80 #2"),
        ] {
            cur.rules.push(CurrentRule {
                family: NftFamily::Inet,
                chain: NAT_CHAIN.into(),
                handle,
                comment: comment.into(),
                packets: 0,
                bytes: 0,
            });
        }
        cur
    }

    /// The (message type, object) list of a batch.
    fn ops(b: Batch) -> Vec<String> {
        let (_, objects, _) = b.finish();
        objects.into_iter().map(|(_, o)| o).collect()
    }

    #[test]
    fn one_changed_slot_is_a_delete_and_an_add_in_one_batch() {
        let want_svc = svc(&[0, 0, 0]);
        let want = Rendered {
            services: vec![Arc::new(want_svc.clone())],
            ..Default::default()
        };
        let cur = current();
        let mut b = Batch::new(1);
        assert_eq!(skeleton(&mut b, &want, &cur), Planned::default());
        let p = service(&mut b, &want_svc, &want, &cur, &RuleIndex::new(&cur), 1);
        assert_eq!(
            p,
            Planned {
                objects: 1,
                rules_written: false
            }
        );
        let c = cleanup(&mut b, &want, &cur);
        assert_eq!(c.objects, 2);
        assert_eq!(
            ops(b),
            [
                "delete 1 elements of map m1",
                "add 1 elements of map m1",
                "delete rule handle 6 in chain prerouting",
                "delete map stale",
            ]
        );
    }

    #[test]
    fn nothing_to_do_sends_nothing() {
        let want_svc = svc(&[0, 1, 0]);
        let want = Rendered {
            services: vec![Arc::new(want_svc.clone())],
            ..Default::default()
        };
        let mut cur = current();
        cur.maps.remove(&(NftFamily::Inet, "stale".into()));
        cur.rules.truncate(1);
        let mut b = Batch::new(1);
        let mut p = skeleton(&mut b, &want, &cur);
        p += service(&mut b, &want_svc, &want, &cur, &RuleIndex::new(&cur), 1);
        p += cleanup(&mut b, &want, &cur);
        assert_eq!(p, Planned::default());
        assert_eq!(b.messages(), 0);
        // And what a successful transaction leaves is what was wanted: nothing more to do.
        assert_eq!(expected_after(&want, &cur), cur);
    }

    #[test]
    fn a_changed_rule_is_replaced_in_place_and_a_new_service_gets_map_and_rule() {
        let mut changed = svc(&[0, 1, 0]);
        changed.comment = "director tcp 10.0.0.1:80 #9".into();
        let mut new = svc(&[1]);
        new.key = ServiceKey::Addr {
            addr: std::net::IpAddr::from([10, 0, 0, 2]),
            port: 80,
            protocol: Protocol::Tcp,
        };
        new.map = "m2".into();
        new.comment = "director tcp 10.0.0.2:80 #1".into();
        let want = Rendered {
            services: vec![Arc::new(changed.clone()), Arc::new(new.clone())],
            ..Default::default()
        };
        let cur = current();
        let mut b = Batch::new(1);
        let p = service(&mut b, &changed, &want, &cur, &RuleIndex::new(&cur), 1);
        assert_eq!(
            p,
            Planned {
                objects: 1,
                rules_written: true
            }
        );
        let p = service(&mut b, &new, &want, &cur, &RuleIndex::new(&cur), 2);
        assert_eq!(p.objects, 3);
        assert_eq!(
            ops(b),
            [
                "rule \"director tcp 10.0.0.1:80 #9\" in chain prerouting",
                "map m2",
                "add 1 elements of map m2",
                "rule \"director tcp 10.0.0.2:80 #1\" in chain prerouting",
            ]
        );
    }

    #[test]
    fn an_unwanted_family_goes_with_its_table() {
        let cur = current();
        let mut b = Batch::new(1);
        let p = cleanup(&mut b, &Rendered::default(), &cur);
        assert_eq!(p.objects, 1);
        assert_eq!(ops(b), ["delete table director"]);
    }
}
