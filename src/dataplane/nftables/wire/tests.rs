//! Golden tests: every request is compared with what `nft` 1.0.6 sent for the same
//! statement (`nft --debug=mnl -f`, the message after its `nlmsghdr`), and the readers
//! round-trip what the writers produce.

use super::*;

/// Message 8 of the capture.
const INET_TABLE: &str = "010000000d0001006469726563746f72000000000800020000000000";
/// Message 9 of the capture.
const NAT_CHAIN: &str = concat!(
    "010000000d0001006469726563746f72000000000f000300707265726f7574696e670000080007006e61740008000500",
    "0000000114000480080001000000000008000200ffffff9c",
);
/// Message 10 of the capture.
const MAP_IP_TCP: &str = concat!(
    "010000000d0001006469726563746f7200000000070002006d3100000800030000000008080004000000000408000500",
    "0000000408000600000001cd080007000000000808000a000000000168000d00000401000000010400000000031a0004",
    "170000000112000400000000010402000000020400000000043400040d000000012c0014000407000000010c00040c00",
    "000001040c0000000114000407000000010c000408000000010402000000060400000000",
);
/// Message 11 of the capture.
const ELEMENTS_IP_TCP: &str = concat!(
    "010000000d0001006469726563746f7200000000070002006d310000080004000000000144000380200001800c000180",
    "0800010000000000100002800c0001000a0100011f900000200002800c0001800800010001000000100002800c000100",
    "0a0100021f900000",
);
/// `add map inet director m9 { typeof numgen inc mod 2 : ip daddr; size 1201; }`.
const MAP_IP_SIZED: &str = concat!(
    "010000000d0001006469726563746f7200000000070002006d3900000800030000000008080004000000000408000500",
    "000000040800060000000007080007000000000408000a00000000010c00098008000100000004b148000d0000040100",
    "0000010402000000031a00041700000001120004000000000104020000000204000000000414000407000000010c0004",
    "0c00000001040c000000060400000000",
);

/// Message 12 of the capture.
const RULE_NAT_IP_TCP: &str = concat!(
    "010000000d0001006469726563746f72000000000f000200707265726f7574696e6700005c0204802400018009000100",
    "6d6574610000000014000280080002000000000f08000100000000012c00018008000100636d70002000028008000100",
    "0000000108000200000000000c0003800500010002000000340001800c0001007061796c6f6164002400028008000100",
    "000000010800020000000001080003000000001008000400000000042c00018008000100636d70002000028008000100",
    "0000000108000200000000000c000380080001000a00000124000180090001006d657461000000001400028008000200",
    "0000001008000100000000012c00018008000100636d700020000280080001000000000108000200000000000c000380",
    "0500010006000000340001800c0001007061796c6f616400240002800800010000000001080002000000000208000300",
    "0000000208000400000000022c00018008000100636d700020000280080001000000000108000200000000000c000380",
    "0600010000500000140001800c000100636f756e7465720004000280340001800c0001007061796c6f61640024000280",
    "08000100000000020800020000000001080003000000000c08000400000000044c000180090001006861736800000000",
    "3c000280080001000000000208000200000000010800030000000004080004000000000d080005006d676c7608000600",
    "000000000800070000000000340001800b0001006c6f6f6b757000002400028008000200000000010800030000000001",
    "070001006d310000080004000000000130000180080001006e6174002400028008000100000000010800020000000002",
    "0800030000000001080005000000000924000700001e6469726563746f72207463702031302e302e302e313a38302023",
    "61626300",
);
/// Message 21 of the capture.
const NETDEV_TABLE: &str = "050000000d0001006469726563746f72000000000800020000000000";
/// Message 22 of the capture.
const INGRESS_CHAIN: &str = concat!(
    "050000000d0001006469726563746f72000000000c000300696e5f65746831000b00070066696c746572000008000500",
    "0000000120000480080001000000000008000200fffffe0c090003006574683100000000",
);
/// Message 23 of the capture.
const MAP_IP: &str = concat!(
    "050000000d0001006469726563746f7200000000070002006d3200000800030000000008080004000000000408000500",
    "000000040800060000000007080007000000000408000a000000000148000d00000401000000010402000000031a0004",
    "1700000001120004000000000104020000000204000000000414000407000000010c00040c00000001040c0000000604",
    "00000000",
);
/// Message 24 of the capture.
const ELEMENTS_IP: &str = concat!(
    "050000000d0001006469726563746f7200000000070002006d32000008000400000000013c0003801c0001800c000180",
    "08000100000000000c000280080001000a0100011c0002800c00018008000100010000000c000280080001000a010002",
);
/// Message 25 of the capture.
const RULE_DR_IP: &str = concat!(
    "050000000d0001006469726563746f72000000000c000200696e5f65746831000403048024000180090001006d657461",
    "0000000014000280080002000000000108000100000000012c00018008000100636d7000200002800800010000000001",
    "08000200000000000c0003800600010008000000340001800c0001007061796c6f616400240002800800010000000001",
    "0800020000000001080003000000001008000400000000042c00018008000100636d7000200002800800010000000001",
    "08000200000000000c000380080001000a00000124000180090001006d65746100000000140002800800020000000010",
    "08000100000000012c00018008000100636d700020000280080001000000000108000200000000000c00038005000100",
    "06000000340001800c0001007061796c6f61640024000280080001000000000108000200000000020800030000000002",
    "08000400000000022c00018008000100636d700020000280080001000000000108000200000000000c00038006000100",
    "0050000024000180090001006d6574610000000014000280080002000000001308000100000000012c00018008000100",
    "636d700020000280080001000000000108000200000000000c0003800500010000000000140001800c000100636f756e",
    "74657200040002802c0001800e000100696d6d6564696174650000001800028008000100000000010c00028008000100",
    "03000000340001800c0001007061796c6f6164002400028008000100000000030800020000000001080003000000000c",
    "0800040000000004340001800c0001007061796c6f616400240002800800010000000011080002000000000208000300",
    "0000000008000400000000024c0001800900010068617368000000003c00028008000100000000030800020000000002",
    "0800030000000008080004000000000d080005006d676c7608000600000000000800070000000000340001800b000100",
    "6c6f6f6b757000002400028008000200000000020800030000000002070001006d320000080004000000000128000180",
    "08000100667764001c00028008000100000000010800020000000002080003000000000224000700001e646972656374",
    "6f72207463702031302e302e302e313a3830202361626300",
);
/// Message 27 of the capture.
const MAP_IP6_UDP: &str = concat!(
    "010000000d0001006469726563746f7200000000070002006d3300000800030000000008080004000000000408000500",
    "00000004080006000000020d080007000000001408000a000000000268000d00000401000000010400000000031a0004",
    "170000000112000400000000010402000000020400000000043400040d000000012c0014000407000000010c00040d00",
    "00000104090000000114000407000000010c000406000000010402000000060400000000",
);
/// Message 28 of the capture.
const MAP_IP6: &str = concat!(
    "010000000d0001006469726563746f7200000000070002006d3400000800030000000008080004000000000408000500",
    "000000040800060000000008080007000000001008000a000000000348000d00000401000000010402000000031a0004",
    "1700000001120004000000000104020000000204000000000414000407000000010c00040d0000000104090000000604",
    "00000000",
);
/// Message 29 of the capture.
const MAP_IP_SCTP: &str = concat!(
    "010000000d0001006469726563746f7200000000070002006d3500000800030000000008080004000000000408000500",
    "0000000408000600000001cd080007000000000808000a000000000468000d00000401000000010400000000031a0004",
    "170000000112000400000000010402000000020400000000043400040d000000012c0014000407000000010c00040c00",
    "000001040c0000000114000407000000010c00040a000000010402000000060400000000",
);
/// Message 31 of the capture.
const ELEMENTS_IP6_UDP: &str = concat!(
    "010000000d0001006469726563746f7200000000070002006d3300000800040000000002300003802c0001800c000180",
    "08000100000000001c0002801800010020010db800000000000000000000000100350000",
);
/// Message 33 of the capture.
const RULE_NAT_IP6_L4PROTO: &str = concat!(
    "010000000d0001006469726563746f72000000000f000200707265726f7574696e670000000204802400018009000100",
    "6d6574610000000014000280080002000000000f08000100000000012c00018008000100636d70002000028008000100",
    "0000000108000200000000000c000380050001000a000000340001800c0001007061796c6f6164002400028008000100",
    "000000010800020000000001080003000000001808000400000000103800018008000100636d70002c00028008000100",
    "000000010800020000000000180003801400010020010db800000000000000000000010024000180090001006d657461",
    "0000000014000280080002000000001008000100000000012c00018008000100636d7000200002800800010000000001",
    "08000200000000000c0003800500010011000000140001800c000100636f756e7465720004000280340001800c000100",
    "7061796c6f6164002400028008000100000000020800020000000001080003000000000808000400000000104c000180",
    "0900010068617368000000003c000280080001000000000208000200000000010800030000000010080004000000000d",
    "080005006d676c7608000600000000000800070000000000340001800b0001006c6f6f6b757000002400028008000200",
    "000000010800030000000001070001006d340000080004000000000328000180080001006e6174001c00028008000100",
    "00000001080002000000000a08000300000000010800070000027800",
);
/// Message 34 of the capture.
const RULE_NAT_FWMARK: &str = concat!(
    "010000000d0001006469726563746f72000000000f000200707265726f7574696e670000c80104802400018009000100",
    "6d6574610000000014000280080002000000000308000100000000012c00018008000100636d70002000028008000100",
    "0000000108000200000000000c000380080001000700000024000180090001006d657461000000001400028008000200",
    "0000000f08000100000000012c00018008000100636d700020000280080001000000000108000200000000000c000380",
    "0500010002000000140001800c000100636f756e7465720004000280340001800c0001007061796c6f61640024000280",
    "08000100000000020800020000000001080003000000000c0800040000000004340001800c0001007061796c6f616400",
    "24000280080001000000000d0800020000000002080003000000000008000400000000024c0001800900010068617368",
    "000000003c000280080001000000000208000200000000010800030000000008080004000000000d080005006d676c76",
    "08000600000000000800070000000000340001800b0001006c6f6f6b7570000024000280080002000000000108000300",
    "00000001070001006d360000080004000000000528000180080001006e6174001c000280080001000000000108000200",
    "0000000208000300000000010800070000027900",
);

/// The first message of a batch that `fill` writes, without its `nlmsghdr`, as hex.
fn first(fill: impl FnOnce(&mut Batch)) -> String {
    let mut b = Batch::new(1);
    fill(&mut b);
    let (buf, _, _) = b.finish();
    let payload = messages(&buf).nth(1).map(|m| m.payload).unwrap_or_default();
    payload.iter().map(|b| format!("{b:02x}")).collect()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

fn octets(text: &str) -> Vec<u8> {
    element_value(&ip(text), None)
}

const SEED: u32 = 0x6d67_6c76;

#[test]
fn tables_and_chains_match_nft() {
    assert_eq!(
        first(|b| new_table(b, NFPROTO_INET, "director")),
        INET_TABLE
    );
    assert_eq!(
        first(|b| new_table(b, NFPROTO_NETDEV, "director")),
        NETDEV_TABLE
    );
    let nat = BaseChain {
        kind: "nat",
        hook: 0,
        priority: -100,
        device: None,
    };
    assert_eq!(
        first(|b| new_chain(b, NFPROTO_INET, "director", "prerouting", &nat)),
        NAT_CHAIN
    );
    let ingress = BaseChain {
        kind: "filter",
        hook: 0,
        priority: -500,
        device: Some("eth1"),
    };
    assert_eq!(
        first(|b| new_chain(b, NFPROTO_NETDEV, "director", "in_eth1", &ingress)),
        INGRESS_CHAIN
    );
}

#[test]
fn maps_carry_nfts_typeof_annotation() {
    let map = |family, name: &str, v6, port_of, id| {
        first(|b| {
            new_map(
                b,
                family,
                "director",
                name,
                MapShape { v6, port_of },
                None,
                id,
            )
        })
    };
    assert_eq!(map(NFPROTO_INET, "m1", false, Some(6), 1), MAP_IP_TCP);
    assert_eq!(map(NFPROTO_NETDEV, "m2", false, None, 1), MAP_IP);
    assert_eq!(map(NFPROTO_INET, "m3", true, Some(17), 2), MAP_IP6_UDP);
    assert_eq!(map(NFPROTO_INET, "m4", true, None, 3), MAP_IP6);
    assert_eq!(map(NFPROTO_INET, "m5", false, Some(132), 4), MAP_IP_SCTP);
    // `size 1201;`
    let shape = MapShape {
        v6: false,
        port_of: None,
    };
    assert_eq!(
        first(|b| new_map(b, NFPROTO_INET, "director", "m9", shape, Some(1201), 1)),
        MAP_IP_SIZED
    );
}

#[test]
fn elements_match_nft() {
    let v1 = element_value(&ip("10.1.0.1"), Some(8080));
    let v2 = element_value(&ip("10.1.0.2"), Some(8080));
    let elems = [(0, v1.as_slice()), (1, v2.as_slice())];
    assert_eq!(
        first(|b| map_elements(b, NFPROTO_INET, "director", "m1", Some(1), &elems, false)),
        ELEMENTS_IP_TCP
    );
    let (a1, a2) = (octets("10.1.0.1"), octets("10.1.0.2"));
    let elems = [(0, a1.as_slice()), (1, a2.as_slice())];
    assert_eq!(
        first(|b| map_elements(b, NFPROTO_NETDEV, "director", "m2", Some(1), &elems, false)),
        ELEMENTS_IP
    );
    let v6 = element_value(&ip("2001:db8::1"), Some(53));
    assert_eq!(
        first(|b| map_elements(
            b,
            NFPROTO_INET,
            "director",
            "m3",
            Some(2),
            &[(0, v6.as_slice())],
            false
        )),
        ELEMENTS_IP6_UDP
    );
}

fn rule_hex(family: u8, chain: &str, exprs: &[Expr], comment: &str) -> String {
    first(|b| {
        new_rule(
            b,
            family,
            "director",
            chain,
            &encode_exprs(exprs),
            comment,
            Placement::Append,
        )
    })
}

fn l4(proto: u8, port: Option<u16>) -> Vec<Expr> {
    let mut v = vec![
        Expr::Meta {
            key: MetaKey::L4Proto,
            dreg: 1,
        },
        Expr::CmpEq {
            sreg: 1,
            data: vec![proto],
        },
    ];
    if let Some(p) = port {
        v.push(Expr::Payload {
            base: Base::Transport,
            offset: 2,
            len: 2,
            dreg: 1,
        });
        v.push(Expr::CmpEq {
            sreg: 1,
            data: p.to_be_bytes().to_vec(),
        });
    }
    v
}

#[test]
fn nat_rules_match_nft() {
    let mut exprs = vec![
        Expr::Meta {
            key: MetaKey::NfProto,
            dreg: 1,
        },
        Expr::CmpEq {
            sreg: 1,
            data: vec![NFPROTO_IPV4],
        },
        Expr::Payload {
            base: Base::Network,
            offset: 16,
            len: 4,
            dreg: 1,
        },
        Expr::CmpEq {
            sreg: 1,
            data: octets("10.0.0.1"),
        },
    ];
    exprs.extend(l4(6, Some(80)));
    exprs.extend([
        Expr::Counter,
        Expr::Payload {
            base: Base::Network,
            offset: 12,
            len: 4,
            dreg: 2,
        },
        Expr::Jhash {
            sreg: 2,
            dreg: 1,
            len: 4,
            modulus: 13,
            seed: SEED,
        },
        Expr::Lookup {
            sreg: 1,
            dreg: 1,
            set: "m1".into(),
            set_id: Some(1),
        },
        Expr::Dnat {
            family: NFPROTO_IPV4,
            addr: 1,
            proto: Some(9),
        },
    ]);
    assert_eq!(
        rule_hex(
            NFPROTO_INET,
            "prerouting",
            &exprs,
            "director tcp 10.0.0.1:80 #abc"
        ),
        RULE_NAT_IP_TCP
    );

    let mut exprs = vec![
        Expr::Meta {
            key: MetaKey::NfProto,
            dreg: 1,
        },
        Expr::CmpEq {
            sreg: 1,
            data: vec![NFPROTO_IPV6],
        },
        Expr::Payload {
            base: Base::Network,
            offset: 24,
            len: 16,
            dreg: 1,
        },
        Expr::CmpEq {
            sreg: 1,
            data: octets("2001:db8::100"),
        },
    ];
    exprs.extend(l4(17, None));
    exprs.extend([
        Expr::Counter,
        Expr::Payload {
            base: Base::Network,
            offset: 8,
            len: 16,
            dreg: 2,
        },
        Expr::Jhash {
            sreg: 2,
            dreg: 1,
            len: 16,
            modulus: 13,
            seed: SEED,
        },
        Expr::Lookup {
            sreg: 1,
            dreg: 1,
            set: "m4".into(),
            set_id: Some(3),
        },
        Expr::Dnat {
            family: NFPROTO_IPV6,
            addr: 1,
            proto: None,
        },
    ]);
    assert_eq!(
        rule_hex(NFPROTO_INET, "prerouting", &exprs, "x"),
        RULE_NAT_IP6_L4PROTO
    );

    let exprs = [
        Expr::Meta {
            key: MetaKey::Mark,
            dreg: 1,
        },
        Expr::CmpEq {
            sreg: 1,
            data: 7u32.to_ne_bytes().to_vec(),
        },
        Expr::Meta {
            key: MetaKey::NfProto,
            dreg: 1,
        },
        Expr::CmpEq {
            sreg: 1,
            data: vec![NFPROTO_IPV4],
        },
        Expr::Counter,
        Expr::Payload {
            base: Base::Network,
            offset: 12,
            len: 4,
            dreg: 2,
        },
        Expr::Payload {
            base: Base::Transport,
            offset: 0,
            len: 2,
            dreg: 13,
        },
        Expr::Jhash {
            sreg: 2,
            dreg: 1,
            len: 8,
            modulus: 13,
            seed: SEED,
        },
        Expr::Lookup {
            sreg: 1,
            dreg: 1,
            set: "m6".into(),
            set_id: Some(5),
        },
        Expr::Dnat {
            family: NFPROTO_IPV4,
            addr: 1,
            proto: None,
        },
    ];
    assert_eq!(
        rule_hex(NFPROTO_INET, "prerouting", &exprs, "y"),
        RULE_NAT_FWMARK
    );
}

#[test]
fn dr_rule_matches_nft() {
    let mut exprs = vec![
        Expr::Meta {
            key: MetaKey::Protocol,
            dreg: 1,
        },
        Expr::CmpEq {
            sreg: 1,
            data: vec![0x08, 0x00],
        },
        Expr::Payload {
            base: Base::Network,
            offset: 16,
            len: 4,
            dreg: 1,
        },
        Expr::CmpEq {
            sreg: 1,
            data: octets("10.0.0.1"),
        },
    ];
    exprs.extend(l4(6, Some(80)));
    exprs.extend([
        Expr::Meta {
            key: MetaKey::PktType,
            dreg: 1,
        },
        Expr::CmpEq {
            sreg: 1,
            data: vec![0],
        },
        Expr::Counter,
        Expr::Immediate {
            dreg: 1,
            data: 3u32.to_ne_bytes().to_vec(),
        },
        Expr::Payload {
            base: Base::Network,
            offset: 12,
            len: 4,
            dreg: 3,
        },
        Expr::Payload {
            base: Base::Transport,
            offset: 0,
            len: 2,
            dreg: 17,
        },
        Expr::Jhash {
            sreg: 3,
            dreg: 2,
            len: 8,
            modulus: 13,
            seed: SEED,
        },
        Expr::Lookup {
            sreg: 2,
            dreg: 2,
            set: "m2".into(),
            set_id: Some(1),
        },
        Expr::Fwd {
            dev: 1,
            addr: 2,
            family: NFPROTO_IPV4,
        },
    ]);
    assert_eq!(
        rule_hex(
            NFPROTO_NETDEV,
            "in_eth1",
            &exprs,
            "director tcp 10.0.0.1:80 #abc"
        ),
        RULE_DR_IP
    );
}

/// Turns a request into the reply the kernel would send for it (same body, `NEW*` type).
fn as_reply(buf: &[u8]) -> Vec<u8> {
    buf.to_vec()
}

#[test]
fn readers_round_trip_the_writers() {
    let mut b = Batch::new(7);
    new_table(&mut b, NFPROTO_INET, "director");
    let v = element_value(&ip("10.1.0.1"), Some(80));
    map_elements(
        &mut b,
        NFPROTO_INET,
        "director",
        "m1",
        None,
        &[(5, v.as_slice())],
        false,
    );
    let exprs = encode_exprs(&[Expr::Counter]);
    new_rule(
        &mut b,
        NFPROTO_INET,
        "director",
        "prerouting",
        &exprs,
        "director tcp 10.0.0.1:80 #1",
        Placement::Replace(42),
    );
    let (buf, objects, next) = b.finish();
    assert_eq!(next, 12);
    assert_eq!(objects.len(), 3);
    let reply = as_reply(&buf);
    let msgs: Vec<Message> = messages(&reply).collect();
    assert_eq!(msgs.len(), 5);
    assert_eq!(table_name(&msgs[1]).as_deref(), Some("director"));
    assert_eq!(
        set_elements(&msgs[2]),
        Some(("director".into(), "m1".into(), vec![(5, v.clone())]))
    );
    let rule = rule_info(&msgs[3]).unwrap_or_else(|| panic!("rule"));
    assert_eq!(
        (rule.chain.as_str(), rule.handle, rule.comment.as_str()),
        ("prerouting", 42, "director tcp 10.0.0.1:80 #1")
    );
}

#[test]
fn truncated_input_never_panics() {
    let mut b = Batch::new(1);
    new_table(&mut b, NFPROTO_INET, "director");
    let (buf, _, _) = b.finish();
    for cut in 0..buf.len() {
        for m in messages(&buf[..cut]) {
            let _ = (table_name(&m), rule_info(&m), set_elements(&m), gen_id(&m));
            let _ = error_of(&m);
        }
        let _ = attrs(&buf[cut..]).count();
    }
}
