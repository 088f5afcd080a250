//! Harnesses shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`, nightly, cargo-fuzz) and
//! by the corpus replay test (`tests/fuzz_corpus.rs`, stable): the same function runs on
//! every input, so a corpus file that once found a bug keeps checking it on stable Rust.
//! The OSPF harnesses live in `ospf::fuzzing`.
//!
//! A harness panics on a broken promise (a round trip that does not hold, a rejected packet
//! that changed state) and returns normally for input that is merely invalid.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ospf::fuzzing::Script;

use crate::config::{parse_str, parse_str_with, LoadOptions};
use crate::control::metrics;
use crate::control::socket::{self, Reply};
use crate::dataplane::ipvs::{attr, genl};
use crate::dataplane::nftables::wire;
use crate::dataplane::tables::Family as TableFamily;
use crate::vrrp::fsm::{Action, Event};
use crate::vrrp::instance::{Drop, Instance, RxDatagram};
use crate::vrrp::packet::{
    Auth, Family, Ipv4Header, Ipv6Header, Packet, Repr, MCAST_V4, MCAST_V6, TTL,
};
use crate::vrrp::settings::{InstanceSettings, Settings};

/// The configuration reader (preprocessor, tokenizer, block parser, keyword tables,
/// validation) never panics or hangs. The first byte selects a config-id so `@id`
/// conditionals go both ways; `include` is skipped (it would read the machine's files).
pub fn config_parse(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    if text.contains("include") {
        return;
    }
    let options = LoadOptions {
        config_id: (selector & 1 == 1).then(|| "a".to_string()),
    };
    if let Ok(loaded) = parse_str_with("fuzz.conf", &text, &options) {
        // The dump must work for whatever loads.
        let _ = serde_json::to_string(&loaded.config);
    }
}

/// The IPVS generic-netlink attribute codec and reply framing: no panic, and every
/// service, real server or daemon it accepts re-encodes to the same value.
pub fn ipvs_attrs(data: &[u8]) {
    let _ = attr::parse_any(data);
    let _ = attr::genl_attrs(data);
    let code = genl::done_code(data);
    assert!(genl::kernel_errno(code) >= 0);
    if let Ok(s) = attr::parse_service(data) {
        let mut w = attr::AttrWriter::new();
        attr::emit_service(&mut w, &s.spec);
        let again = attr::parse_service(&w.into_bytes()).map(|r| r.spec);
        assert_eq!(again, Ok(s.spec));
    }
    for family in [TableFamily::Inet, TableFamily::Inet6] {
        if let Ok(d) = attr::parse_dest(data, family) {
            let mut w = attr::AttrWriter::new();
            attr::emit_dest(&mut w, &d.spec);
            let again = attr::parse_dest(&w.into_bytes(), family).map(|r| r.spec);
            assert_eq!(again, Ok(d.spec));
        }
    }
    if let Ok(d) = attr::parse_daemon(data) {
        let mut w = attr::AttrWriter::new();
        attr::emit_daemon(&mut w, &d);
        assert_eq!(attr::parse_daemon(&w.into_bytes()), Ok(d));
    }
}

/// What arrives on the control socket and the metrics endpoint: every line parses to a
/// request or an error, a request round-trips through JSON, every reply is one line.
pub fn control_request(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        match socket::parse_request(line) {
            None | Some(Err(_)) => {}
            Some(Ok(request)) => {
                let text = serde_json::to_vec(&request).expect("a request encodes");
                assert_eq!(socket::parse_request(&text), Some(Ok(request)));
            }
        }
        let reply = Reply::Error(String::from_utf8_lossy(line).into_owned());
        let text = socket::reply_line(&reply);
        assert_eq!(text.matches('\n').count(), 1, "one reply, one line");
        let back: Reply = serde_json::from_str(text.trim_end()).expect("a reply decodes");
        assert_eq!(back, reply);
    }
    let _ = metrics::route(data);
}

/// rtnetlink link and address notifications, decoded as the watcher decodes them
/// (`netlink-packet-route`, then our `Link`/`IfAddress`): no panic on any bytes.
pub fn rtnetlink_event(data: &[u8]) {
    let _ = crate::net::decode_event(data);
}

/// The nf_tables netlink reply readers (messages, errors, generation, tables, chains,
/// maps, rules with counters and comments, map elements): no panic on any bytes.
pub fn nft_netlink(data: &[u8]) {
    for m in wire::messages(data) {
        let _ = wire::error_of(&m);
        let _ = wire::gen_id(&m);
        let _ = wire::table_name(&m);
        let _ = wire::chain_name(&m);
        let _ = wire::set_name(&m);
        let _ = wire::rule_info(&m);
        let _ = wire::set_elements(&m);
    }
}

/// The VRRP advert codec (v2/v3, IPv4/IPv6) and the IP header readers: no panic, and every
/// accepted advert re-emits to a message that parses identically (parse → emit → parse).
pub fn vrrp_packet(data: &[u8]) {
    let _ = Ipv4Header::parse(data);
    let _ = Ipv6Header::parse(data);
    let Ok(packet) = Packet::new_checked(data) else {
        return;
    };
    let v6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    for (family, src, dst) in [
        (
            Family::V4,
            IpAddr::from([10, 0, 0, 1]),
            IpAddr::V4(MCAST_V4),
        ),
        (Family::V6, v6, IpAddr::V6(MCAST_V6)),
    ] {
        let _ = packet.verify_checksum(src, dst, false);
        let _ = packet.verify_checksum(src, dst, true);
        if let Ok(repr) = Repr::parse(&packet, family) {
            let bytes = repr.to_bytes(src, dst, false);
            assert_eq!(bytes.len(), repr.buffer_len());
            let again = Packet::new_checked(&bytes[..]).expect("emitted header");
            assert!(again.verify_checksum(src, dst, false));
            assert_eq!(Repr::parse(&again, family).expect("emitted advert"), repr);
        }
    }
}

const VRRP_V2_PASS: &str = "vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        192.0.2.10/32
        192.0.2.11/32
    }
}
";

const VRRP_V3_UNICAST: &str = "vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    version 3
    priority 100
    advert_int 1
    unicast_src_ip 10.0.0.1
    check_unicast_src
    unicast_peer {
        10.0.0.2
    }
    virtual_ipaddress {
        192.0.2.20/32
    }
}
";

const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// A VRRP instance (v2 with PASS over multicast, or v3 unicast: the first byte chooses)
/// driven by a script of valid, spoiled and invalid adverts (TTL, length, password,
/// interval, address list, unknown source, raw bytes) and clock steps. Asserts that a
/// rejected advert changes no state and is counted once, and that every advert the
/// instance asks to send passes a peer's receive checks.
pub fn vrrp_script(data: &[u8]) {
    run_vrrp_script(data);
}

fn run_vrrp_script(data: &[u8]) -> crate::vrrp::instance::Counters {
    let mut script = Script(data);
    let mut s = harness_settings(script.byte() & 1 == 1);
    s.src_ip = Some(IpAddr::V4(ME));
    let mut me = Instance::new(s.clone());
    me.machine.params.primary_addr = IpAddr::V4(ME);
    // The peer checks what we send: same settings, seen from the other side.
    let mut peer_settings = s;
    peer_settings.src_ip = Some(IpAddr::V4(PEER));
    if !peer_settings.unicast_peers.is_empty() {
        peer_settings.unicast_peers = vec![IpAddr::V4(ME)];
    }
    let mut peer = Instance::new(peer_settings);
    let dst = if me.settings.unicast_peers.is_empty() {
        me.settings.mcast_group
    } else {
        IpAddr::V4(ME)
    };
    let mut now = Instant::now();
    let actions = me.machine.fsm(now, Event::Startup);
    check_actions(&me, &mut peer, &actions);
    let mut sent: Vec<RxDatagram> = Vec::new();
    while let Some(op) = script.op() {
        let dgram = |payload: Vec<u8>, ttl: u8, src: Ipv4Addr| RxDatagram {
            ifindex: 2,
            family: Family::V4,
            ttl,
            src: IpAddr::V4(src),
            dst,
            payload,
        };
        let valid = |priority: u8| {
            let mut repr = me.advert(priority);
            repr.vrid = me.settings.vrid;
            repr.to_bytes(IpAddr::V4(PEER), dst, me.settings.v3_checksum_as_v2)
        };
        let d = match op % 10 {
            0 => dgram(valid(script.byte()), TTL, PEER),
            1 => {
                let mut bytes = valid(script.byte());
                let at = usize::from(script.byte()) % bytes.len();
                bytes[at] ^= script.byte() | 1;
                dgram(bytes, TTL, PEER)
            }
            2 => dgram(valid(100), script.byte().min(254), PEER),
            3 => {
                let mut bytes = valid(100);
                match script.byte() % 3 {
                    0 => bytes.push(0),
                    1 => {
                        bytes.pop();
                    }
                    _ => bytes.truncate(4),
                }
                dgram(bytes, TTL, PEER)
            }
            4 => {
                // A well-formed advert that breaks one rule: password, interval, addresses.
                let mut repr = me.advert(script.byte().max(1));
                match script.byte() % 3 {
                    0 => repr.auth = Auth::Password(*b"wrong\0\0\0"),
                    1 => repr.adver_int = repr.adver_int.wrapping_add(1).max(1),
                    _ => repr.addresses.push(IpAddr::from([198, 51, 100, 7])),
                }
                let bytes = repr.to_bytes(IpAddr::V4(PEER), dst, false);
                dgram(bytes, TTL, PEER)
            }
            5 => {
                let stranger = Ipv4Addr::new(10, 0, 0, script.byte().max(3));
                let bytes = me.advert(200).to_bytes(
                    IpAddr::V4(stranger),
                    dst,
                    me.settings.v3_checksum_as_v2,
                );
                dgram(bytes, TTL, stranger)
            }
            6 => {
                let len = usize::from(script.byte());
                dgram(script.take(len).to_vec(), TTL, PEER)
            }
            7 => match sent.len() {
                0 => continue,
                n => sent[usize::from(script.byte()) % n].clone(),
            },
            _ => {
                now += Duration::from_millis(u64::from(script.byte()) * 50);
                if me.machine.timer.deadline().is_some_and(|t| t <= now) {
                    let actions = me.machine.fsm(now, Event::TimerExpired);
                    check_actions(&me, &mut peer, &actions);
                }
                continue;
            }
        };
        let (machine, counters) = (me.machine.clone(), me.counters.clone());
        match me.validate(&d) {
            Ok(advert) => {
                let actions = me.machine.fsm(now, Event::Advert(advert));
                check_actions(&me, &mut peer, &actions);
                sent.push(d);
            }
            Err(reason) => {
                assert_eq!(me.machine, machine, "a rejected advert changed state");
                let counted = counter_sum(&me) - counter_sum_of(&counters);
                let expect = u64::from(reason != Drop::OwnAdvert);
                assert_eq!(counted, expect, "{reason:?} counted {counted} times");
            }
        }
    }
    me.counters.clone()
}

/// The instance settings of the two harness configurations, loaded once per process.
fn harness_settings(v3_unicast: bool) -> InstanceSettings {
    static LOADED: OnceLock<[InstanceSettings; 2]> = OnceLock::new();
    let load = |text: &str| {
        let loaded = parse_str("fuzz.conf", text).expect("harness config loads");
        let settings = Settings::from_config(&loaded.config).expect("harness settings");
        let Some(s) = settings.instances.into_iter().next() else {
            panic!("harness config has an instance");
        };
        s
    };
    let both = LOADED.get_or_init(|| [load(VRRP_V2_PASS), load(VRRP_V3_UNICAST)]);
    both[usize::from(v3_unicast)].clone()
}

fn counter_sum(i: &Instance) -> u64 {
    counter_sum_of(&i.counters)
}

fn counter_sum_of(c: &crate::vrrp::instance::Counters) -> u64 {
    c.checksum_errors
        + c.version_errors
        + c.interval_errors
        + c.auth_errors
        + c.ttl_errors
        + c.address_list_errors
        + c.packet_length_errors
        + c.invalid_type_errors
        + c.unknown_peer_errors
}

/// Every advert the instance asks to send passes the peer's receive checks.
fn check_actions(me: &Instance, peer: &mut Instance, actions: &[Action]) {
    for action in actions {
        if let Action::SendAdvert { priority } = action {
            let dst = if me.settings.unicast_peers.is_empty() {
                me.settings.mcast_group
            } else {
                IpAddr::V4(PEER)
            };
            let bytes =
                me.advert(*priority)
                    .to_bytes(IpAddr::V4(ME), dst, me.settings.v3_checksum_as_v2);
            let d = RxDatagram {
                ifindex: 2,
                family: Family::V4,
                ttl: TTL,
                src: IpAddr::V4(ME),
                dst,
                payload: bytes,
            };
            match peer.validate(&d) {
                Ok(adv) => assert_eq!(adv.priority, *priority),
                Err(reason) => panic!("the peer drops our advert: {reason:?}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrrp_script_reaches_every_receive_check() {
        for config in [0u8, 1] {
            let c = run_vrrp_script(&[
                config, 0, 200, // valid, higher priority
                1, 0, 6, 4, // spoiled: checksum
                2, 64, // TTL
                3, 0, // one byte too long
                4, 100, 1, // interval (v2) / accepted (v3)
                4, 100, 2, // address list
                6, 3, 1, 2, 3, // raw bytes: too short
            ]);
            assert_eq!(c.adverts_rx, 1 + u64::from(config == 1), "{c:?}");
            assert_eq!(c.checksum_errors, 1, "{c:?}");
            assert_eq!(c.ttl_errors, 1, "{c:?}");
            assert_eq!(c.packet_length_errors, 2, "{c:?}");
            assert_eq!(c.address_list_errors, 1, "{c:?}");
            assert_eq!(c.interval_errors, u64::from(config == 0), "{c:?}");
        }
        // v2 password, v3 unknown unicast source.
        assert_eq!(run_vrrp_script(&[0, 4, 100, 0]).auth_errors, 1);
        assert_eq!(run_vrrp_script(&[1, 5, 9]).unknown_peer_errors, 1);
    }

    #[test]
    fn netlink_done_with_int_min_does_not_panic() {
        ipvs_attrs(&i32::MIN.to_ne_bytes());
    }
}

#[cfg(test)]
mod rtnetlink_tests {
    use rtnetlink::packet_core::NetlinkMessage;
    use rtnetlink::packet_route::link::LinkMessage;
    use rtnetlink::packet_route::RouteNetlinkMessage;

    use crate::net::{decode_event, NetEvent};

    #[test]
    fn a_link_notification_decodes_to_a_link_change() {
        let mut link = LinkMessage::default();
        link.header.index = 7;
        let mut msg = NetlinkMessage::from(RouteNetlinkMessage::NewLink(link));
        msg.finalize();
        let mut bytes = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut bytes);
        match decode_event(&bytes) {
            Some(NetEvent::LinkChanged(l)) => assert_eq!(l.index, 7),
            other => panic!("{other:?}"),
        }
        assert!(decode_event(&bytes[..bytes.len() - 1]).is_none());
        super::rtnetlink_event(&bytes);
    }
}
