//! Golden decodes of real BIRD 2.0.12 / FRR 8.4.4 packets from the project lab's capture
//! `ospf-bird-frr.pcapng` (frame numbers as in its `ospf-summary.txt`;
//! 10.99.0.1 = BIRD r1, 10.99.0.11 = FRR d1, 10.99.0.12 = BIRD d2), round trips, checksum and
//! authentication vectors, and a proptest that the decoder never panics.

use std::net::Ipv4Addr;

use ospf::packet::auth::{Algorithm, CryptoKey, CryptoKeys};
use ospf::packet::lsa::{self, LsaBody, RouterLink, LINK_STUB, LINK_TRANSIT};
use ospf::packet::{
    self, AuthConfig, Body, DbDesc, DecodeError, Hello, LsAck, LsRequest, LsUpdate, LsaHeader,
    LsaKey, PacketRepr,
};
use proptest::prelude::*;

/// Frame 4: BIRD r1 → 224.0.0.5, Hello listing 10.99.0.12 and 10.99.0.11.
#[rustfmt::skip]
const BIRD_HELLO: [u8; 52] = [
    // OSPF header
    0x02, 0x01, 0x00, 0x34, 0x0a, 0x63, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xdd, 0x4c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    // body
    0xff, 0xff, 0xff, 0x00, 0x00, 0x0a, 0x02, 0x0a, 0x00, 0x00, 0x00, 0x28,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x63, 0x00, 0x0c,
    0x0a, 0x63, 0x00, 0x0b,
];

/// Frame 6: FRR d1 → 224.0.0.5, Hello listing 10.99.0.1 and 10.99.0.12.
#[rustfmt::skip]
const FRR_HELLO: [u8; 52] = [
    // OSPF header
    0x02, 0x01, 0x00, 0x34, 0x0a, 0x63, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0xdd, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    // body
    0xff, 0xff, 0xff, 0x00, 0x00, 0x0a, 0x02, 0x01, 0x00, 0x00, 0x00, 0x28,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x63, 0x00, 0x01,
    0x0a, 0x63, 0x00, 0x0c,
];

/// Frame 14: BIRD r1 → FRR d1, first Database Description (I|M|MS, no headers).
#[rustfmt::skip]
const BIRD_DD_INIT: [u8; 32] = [
    // OSPF header
    0x02, 0x02, 0x00, 0x20, 0x0a, 0x63, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x13, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    // body
    0x05, 0xdc, 0x42, 0x07, 0x96, 0x6f, 0x01, 0xf6,
];

/// Frame 19: BIRD r1 → FRR d1, Database Description (slave) with BIRD's Router-LSA header.
#[rustfmt::skip]
const BIRD_DD_HDR: [u8; 52] = [
    // OSPF header
    0x02, 0x02, 0x00, 0x34, 0x0a, 0x63, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0xca, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    // body
    0x05, 0xdc, 0x42, 0x00, 0x2f, 0x12, 0xed, 0x0c, 0x00, 0x26, 0x42, 0x01,
    0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x01, 0x80, 0x00, 0x00, 0x01,
    0xb5, 0x7f, 0x00, 0x30,
];

/// Frame 22: FRR d1 → BIRD r1, LS Request for BIRD's Router-LSA.
#[rustfmt::skip]
const FRR_LSR: [u8; 36] = [
    // OSPF header
    0x02, 0x03, 0x00, 0x24, 0x0a, 0x63, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0xde, 0xa1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    // body
    0x00, 0x00, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x01,
];

/// Frame 27: BIRD r1 → FRR d1, LS Update with BIRD's Router-LSA (two stub links).
#[rustfmt::skip]
const BIRD_LSU: [u8; 76] = [
    // OSPF header
    0x02, 0x04, 0x00, 0x4c, 0x0a, 0x63, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x4b, 0xcb, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    // body
    0x00, 0x00, 0x00, 0x01, 0x00, 0x27, 0x42, 0x01, 0x0a, 0x63, 0x00, 0x01,
    0x0a, 0x63, 0x00, 0x01, 0x80, 0x00, 0x00, 0x01, 0xb5, 0x7f, 0x00, 0x30,
    0x00, 0x00, 0x00, 0x02, 0x0a, 0x63, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00,
    0x03, 0x00, 0x00, 0x0a, 0x0a, 0x63, 0x02, 0x00, 0xff, 0xff, 0xff, 0x00,
    0x03, 0x00, 0x00, 0x0a,
];

/// Frame 33: FRR d1 → 224.0.0.6, LS Update with two instances of FRR's Router-LSA.
#[rustfmt::skip]
const FRR_LSU: [u8; 124] = [
    // OSPF header
    0x02, 0x04, 0x00, 0x7c, 0x0a, 0x63, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x75, 0x8b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    // body
    0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x02, 0x01, 0x0a, 0x63, 0x00, 0x0b,
    0x0a, 0x63, 0x00, 0x0b, 0x80, 0x00, 0x00, 0x03, 0xcf, 0x36, 0x00, 0x30,
    0x00, 0x00, 0x00, 0x02, 0x0a, 0x63, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00,
    0x03, 0x00, 0x00, 0x0a, 0x0a, 0x63, 0x64, 0x01, 0xff, 0xff, 0xff, 0xff,
    0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x01, 0x0a, 0x63, 0x00, 0x0b,
    0x0a, 0x63, 0x00, 0x0b, 0x80, 0x00, 0x00, 0x04, 0x7a, 0x12, 0x00, 0x30,
    0x00, 0x00, 0x00, 0x02, 0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x0b,
    0x02, 0x00, 0x00, 0x0a, 0x0a, 0x63, 0x64, 0x01, 0xff, 0xff, 0xff, 0xff,
    0x03, 0x00, 0x00, 0x00,
];

/// Frame 37: BIRD r1 → FRR d1, LS Acknowledgment of FRR's Router-LSA.
#[rustfmt::skip]
const BIRD_LSACK: [u8; 44] = [
    // OSPF header
    0x02, 0x05, 0x00, 0x2c, 0x0a, 0x63, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x8d, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    // body
    0x00, 0x01, 0x02, 0x01, 0x0a, 0x63, 0x00, 0x0b, 0x0a, 0x63, 0x00, 0x0b,
    0x80, 0x00, 0x00, 0x03, 0xcf, 0x36, 0x00, 0x30,
];

/// Frame 40: FRR d1 → 224.0.0.6, delayed LS Acknowledgment of three LSAs.
#[rustfmt::skip]
const FRR_LSACK: [u8; 84] = [
    // OSPF header
    0x02, 0x05, 0x00, 0x54, 0x0a, 0x63, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x2e, 0x59, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    // body
    0x00, 0x27, 0x42, 0x01, 0x0a, 0x63, 0x00, 0x01, 0x0a, 0x63, 0x00, 0x01,
    0x80, 0x00, 0x00, 0x01, 0xb5, 0x7f, 0x00, 0x30, 0x00, 0x28, 0x42, 0x01,
    0x0a, 0x63, 0x00, 0x0c, 0x0a, 0x63, 0x00, 0x0c, 0x80, 0x00, 0x00, 0x01,
    0xb7, 0x0e, 0x00, 0x30, 0x00, 0x01, 0x42, 0x02, 0x0a, 0x63, 0x00, 0x01,
    0x0a, 0x63, 0x00, 0x01, 0x80, 0x00, 0x00, 0x01, 0xd3, 0x05, 0x00, 0x24,
];

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[allow(clippy::too_many_arguments)] // mirrors the eight LSA header fields, in wire order
fn hdr(
    age: u16,
    options: u8,
    ls_type: u8,
    id: &str,
    adv: &str,
    seq: u32,
    checksum: u16,
    length: u16,
) -> LsaHeader {
    LsaHeader {
        age,
        options,
        ls_type,
        id: ip(id),
        adv_rtr: ip(adv),
        seq: seq as i32,
        checksum,
        length,
    }
}

fn stub(id: &str, mask: &str, metric: u16) -> RouterLink {
    RouterLink {
        id: ip(id),
        data: ip(mask),
        link_type: LINK_STUB,
        metric,
        tos: vec![],
    }
}

/// Decodes with null auth, checks the expected representation and that encoding gives the
/// captured bytes back.
fn golden(raw: &[u8], expected: PacketRepr) {
    let (repr, seq) = packet::decode(raw, &AuthConfig::None).expect("golden packet decodes");
    assert_eq!(seq, None);
    assert_eq!(repr, expected);
    assert_eq!(
        packet::encode(&repr, &AuthConfig::None, 0),
        raw,
        "emit reproduces the capture"
    );
}

#[test]
fn golden_bird_hello() {
    golden(
        &BIRD_HELLO,
        PacketRepr {
            router_id: ip("10.99.0.1"),
            area_id: ip("0.0.0.0"),
            body: Body::Hello(Hello {
                network_mask: ip("255.255.255.0"),
                hello_interval: 10,
                options: 0x02,
                priority: 10,
                dead_interval: 40,
                dr: ip("0.0.0.0"),
                bdr: ip("0.0.0.0"),
                neighbors: vec![ip("10.99.0.12"), ip("10.99.0.11")],
            }),
        },
    );
}

#[test]
fn golden_frr_hello() {
    golden(
        &FRR_HELLO,
        PacketRepr {
            router_id: ip("10.99.0.11"),
            area_id: ip("0.0.0.0"),
            body: Body::Hello(Hello {
                network_mask: ip("255.255.255.0"),
                hello_interval: 10,
                options: 0x02,
                priority: 1,
                dead_interval: 40,
                dr: ip("0.0.0.0"),
                bdr: ip("0.0.0.0"),
                neighbors: vec![ip("10.99.0.1"), ip("10.99.0.12")],
            }),
        },
    );
}

#[test]
fn golden_bird_dbdesc() {
    golden(
        &BIRD_DD_INIT,
        PacketRepr {
            router_id: ip("10.99.0.1"),
            area_id: ip("0.0.0.0"),
            body: Body::DbDesc(DbDesc {
                mtu: 1500,
                options: 0x42,
                flags: 0x07,
                seq: 0x966f_01f6,
                lsa_headers: vec![],
            }),
        },
    );
    golden(
        &BIRD_DD_HDR,
        PacketRepr {
            router_id: ip("10.99.0.1"),
            area_id: ip("0.0.0.0"),
            body: Body::DbDesc(DbDesc {
                mtu: 1500,
                options: 0x42,
                flags: 0x00,
                seq: 0x2f12_ed0c,
                lsa_headers: vec![hdr(
                    38,
                    0x42,
                    1,
                    "10.99.0.1",
                    "10.99.0.1",
                    0x8000_0001,
                    0xb57f,
                    48,
                )],
            }),
        },
    );
}

#[test]
fn golden_frr_lsreq() {
    golden(
        &FRR_LSR,
        PacketRepr {
            router_id: ip("10.99.0.11"),
            area_id: ip("0.0.0.0"),
            body: Body::LsRequest(LsRequest {
                entries: vec![LsaKey {
                    ls_type: 1,
                    id: ip("10.99.0.1"),
                    adv_rtr: ip("10.99.0.1"),
                }],
            }),
        },
    );
}

#[test]
fn golden_bird_lsupd() {
    golden(
        &BIRD_LSU,
        PacketRepr {
            router_id: ip("10.99.0.1"),
            area_id: ip("0.0.0.0"),
            body: Body::LsUpdate(LsUpdate {
                lsas: vec![lsa::Lsa {
                    header: hdr(
                        39,
                        0x42,
                        1,
                        "10.99.0.1",
                        "10.99.0.1",
                        0x8000_0001,
                        0xb57f,
                        48,
                    ),
                    body: LsaBody::Router(lsa::RouterLsa {
                        flags: 0,
                        reserved: 0,
                        links: vec![
                            stub("10.99.0.0", "255.255.255.0", 10),
                            stub("10.99.2.0", "255.255.255.0", 10),
                        ],
                    }),
                }],
            }),
        },
    );
}

#[test]
fn golden_frr_lsupd() {
    golden(
        &FRR_LSU,
        PacketRepr {
            router_id: ip("10.99.0.11"),
            area_id: ip("0.0.0.0"),
            body: Body::LsUpdate(LsUpdate {
                lsas: vec![
                    lsa::Lsa {
                        header: hdr(
                            1,
                            0x02,
                            1,
                            "10.99.0.11",
                            "10.99.0.11",
                            0x8000_0003,
                            0xcf36,
                            48,
                        ),
                        body: LsaBody::Router(lsa::RouterLsa {
                            flags: 0,
                            reserved: 0,
                            links: vec![
                                stub("10.99.0.0", "255.255.255.0", 10),
                                stub("10.99.100.1", "255.255.255.255", 0),
                            ],
                        }),
                    },
                    lsa::Lsa {
                        header: hdr(
                            1,
                            0x02,
                            1,
                            "10.99.0.11",
                            "10.99.0.11",
                            0x8000_0004,
                            0x7a12,
                            48,
                        ),
                        body: LsaBody::Router(lsa::RouterLsa {
                            flags: 0,
                            reserved: 0,
                            links: vec![
                                RouterLink {
                                    id: ip("10.99.0.1"),
                                    data: ip("10.99.0.11"),
                                    link_type: LINK_TRANSIT,
                                    metric: 10,
                                    tos: vec![],
                                },
                                stub("10.99.100.1", "255.255.255.255", 0),
                            ],
                        }),
                    },
                ],
            }),
        },
    );
}

#[test]
fn golden_lsacks() {
    golden(
        &BIRD_LSACK,
        PacketRepr {
            router_id: ip("10.99.0.1"),
            area_id: ip("0.0.0.0"),
            body: Body::LsAck(LsAck {
                lsa_headers: vec![hdr(
                    1,
                    0x02,
                    1,
                    "10.99.0.11",
                    "10.99.0.11",
                    0x8000_0003,
                    0xcf36,
                    48,
                )],
            }),
        },
    );
    golden(
        &FRR_LSACK,
        PacketRepr {
            router_id: ip("10.99.0.11"),
            area_id: ip("0.0.0.0"),
            body: Body::LsAck(LsAck {
                lsa_headers: vec![
                    hdr(
                        39,
                        0x42,
                        1,
                        "10.99.0.1",
                        "10.99.0.1",
                        0x8000_0001,
                        0xb57f,
                        48,
                    ),
                    hdr(
                        40,
                        0x42,
                        1,
                        "10.99.0.12",
                        "10.99.0.12",
                        0x8000_0001,
                        0xb70e,
                        48,
                    ),
                    hdr(
                        1,
                        0x42,
                        2,
                        "10.99.0.1",
                        "10.99.0.1",
                        0x8000_0001,
                        0xd305,
                        36,
                    ),
                ],
            }),
        },
    );
}

/// The Fletcher checksums BIRD and FRR computed verify, and recomputing them gives the same value.
#[test]
fn fletcher_checksum_matches_bird_and_frr() {
    for raw in [&BIRD_LSU[..], &FRR_LSU[..]] {
        let (repr, _) = packet::decode(raw, &AuthConfig::None).unwrap();
        let Body::LsUpdate(upd) = repr.body else {
            panic!("not an LSU")
        };
        for l in upd.lsas {
            assert!(l.verify_checksum(), "{}", l.header.key());
            let mut again = l.clone();
            again.header.age = 1234; // age is outside the checksum
            again.finalize();
            assert_eq!(again.header.checksum, l.header.checksum);
        }
    }
}

/// A single flipped bit anywhere in a packet is caught by the OSPF checksum.
#[test]
fn ospf_checksum_detects_corruption() {
    for i in 0..BIRD_LSU.len() {
        if (16..24).contains(&i) {
            continue; // the auth field is outside the checksum
        }
        let mut bad = BIRD_LSU;
        bad[i] ^= 0x10;
        assert!(packet::decode(&bad, &AuthConfig::None).is_err(), "byte {i}");
    }
}

/// RFC 2328 D.4.3 MD5 vector computed independently (python3 hashlib):
/// `md5(packet_with_autype2_keyid1_len16_seq0x5f5e1000 || b"secret" padded to 16)`.
#[test]
fn md5_auth_vector() {
    let (repr, _) = packet::decode(&BIRD_HELLO, &AuthConfig::None).unwrap();
    let auth = AuthConfig::md5(1, "secret");
    let bytes = packet::encode(&repr, &auth, 0x5f5e_1000);
    assert_eq!(bytes.len(), BIRD_HELLO.len() + 16);
    #[rustfmt::skip]
    let expected_auth_field = [0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0x10, 0x5f, 0x5e, 0x10, 0x00];
    assert_eq!(
        &bytes[12..24],
        &expected_auth_field,
        "checksum 0, AuType 2, key 1, len 16, seq"
    );
    assert_eq!(hex(&bytes[52..]), MD5_VECTOR_DIGEST);
    let (back, seq) = packet::decode(&bytes, &auth).unwrap();
    assert_eq!(back, repr);
    assert_eq!(seq, Some(0x5f5e_1000));
    // Wrong key, wrong key id, no auth configured, truncated digest: all rejected.
    assert_eq!(
        packet::decode(&bytes, &AuthConfig::md5(1, "secreT")).unwrap_err(),
        DecodeError::BadDigest
    );
    assert_eq!(
        packet::decode(&bytes, &AuthConfig::md5(2, "secret")).unwrap_err(),
        DecodeError::BadKeyId(1)
    );
    assert!(matches!(
        packet::decode(&bytes, &AuthConfig::None),
        Err(DecodeError::AuthTypeMismatch { got: 2, want: 0 })
    ));
    assert!(matches!(
        packet::decode(&bytes[..bytes.len() - 1], &auth),
        Err(DecodeError::Truncated { .. })
    ));
}

const MD5_VECTOR_DIGEST: &str = include_str!("md5_vector.txt");

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn simple_password_auth() {
    let (repr, _) = packet::decode(&FRR_HELLO, &AuthConfig::None).unwrap();
    let auth = AuthConfig::simple("pw");
    let bytes = packet::encode(&repr, &auth, 0);
    assert_eq!(&bytes[14..24], &[0, 1, b'p', b'w', 0, 0, 0, 0, 0, 0]);
    assert_eq!(packet::decode(&bytes, &auth).unwrap().0, repr);
    assert_eq!(
        packet::decode(&bytes, &AuthConfig::simple("px")).unwrap_err(),
        DecodeError::BadPassword
    );
}

#[test]
fn truncated_and_bad_headers_are_rejected() {
    assert!(matches!(
        packet::decode(&BIRD_HELLO[..10], &AuthConfig::None),
        Err(DecodeError::Truncated { .. })
    ));
    let mut v3 = BIRD_HELLO;
    v3[0] = 3;
    assert_eq!(
        packet::decode(&v3, &AuthConfig::None).unwrap_err(),
        DecodeError::BadVersion(3)
    );
    let mut long = BIRD_HELLO;
    long[3] = 0x40; // length beyond the buffer
    assert_eq!(
        packet::decode(&long, &AuthConfig::None).unwrap_err(),
        DecodeError::BadLength(0x40)
    );
}

/// Every packet type survives encode → decode with every auth mode.
#[test]
fn round_trip_all_types_all_auth() {
    let router = lsa::Lsa {
        header: hdr(0, 0x02, 1, "10.0.0.9", "10.0.0.9", 0x8000_0005, 0, 0),
        body: LsaBody::Router(lsa::RouterLsa {
            flags: lsa::ROUTER_FLAG_E,
            reserved: 0,
            links: vec![stub("192.0.2.1", "255.255.255.255", 0)],
        }),
    };
    let ext = lsa::Lsa {
        header: hdr(3, 0x02, 5, "198.51.100.7", "10.0.0.9", 0x8000_0001, 0, 0),
        body: LsaBody::External(lsa::ExternalLsa {
            mask: ip("255.255.255.255"),
            e_bit: true,
            tos_bits: 0,
            metric: 20,
            forwarding: ip("0.0.0.0"),
            tag: 7,
            extra: vec![],
        }),
    };
    let unknown = lsa::Lsa {
        header: hdr(3, 0x42, 10, "1.0.0.1", "10.0.0.9", 0x8000_0001, 0, 0),
        body: LsaBody::Unknown(vec![1, 2, 3, 4]),
    };
    let lsas: Vec<lsa::Lsa> = [router, ext, unknown]
        .into_iter()
        .map(|mut l| {
            l.finalize();
            l
        })
        .collect();
    let bodies = vec![
        Body::Hello(Hello {
            network_mask: ip("255.255.255.0"),
            hello_interval: 1,
            options: 2,
            priority: 0,
            dead_interval: 4,
            dr: ip("10.0.0.1"),
            bdr: ip("0.0.0.0"),
            neighbors: vec![ip("10.0.0.1")],
        }),
        Body::DbDesc(DbDesc {
            mtu: 9000,
            options: 2,
            flags: 0x07,
            seq: 42,
            lsa_headers: lsas.iter().map(|l| l.header).collect(),
        }),
        Body::LsRequest(LsRequest {
            entries: lsas.iter().map(|l| l.header.key()).collect(),
        }),
        Body::LsUpdate(LsUpdate { lsas: lsas.clone() }),
        Body::LsAck(LsAck {
            lsa_headers: lsas.iter().map(|l| l.header).collect(),
        }),
    ];
    for auth in [
        AuthConfig::None,
        AuthConfig::simple("abc"),
        AuthConfig::md5(7, "k"),
        AuthConfig::single(1, Algorithm::HmacSha1, "k"),
        AuthConfig::single(2, Algorithm::HmacSha256, "k"),
        AuthConfig::single(3, Algorithm::HmacSha384, "k"),
        AuthConfig::single(4, Algorithm::HmacSha512, "k"),
    ] {
        for body in &bodies {
            let repr = PacketRepr {
                router_id: ip("10.0.0.9"),
                area_id: ip("0.0.0.1"),
                body: body.clone(),
            };
            let bytes = packet::encode(&repr, &auth, 99);
            let (back, _) = packet::decode(&bytes, &auth).unwrap();
            assert_eq!(back, repr);
        }
    }
    for l in &lsas {
        assert!(l.verify_checksum());
    }
}

#[test]
fn lsa_compare_rfc2328_13_1() {
    use std::cmp::Ordering::*;
    let base = hdr(10, 2, 1, "1.1.1.1", "1.1.1.1", 0x8000_0005, 0x1000, 36);
    let newer_seq = LsaHeader {
        seq: 0x8000_0006u32 as i32,
        ..base
    };
    assert_eq!(newer_seq.compare(&base), Greater);
    // Sequence numbers are signed: 0x80000001 is the smallest used, 0x7fffffff the largest.
    let max = LsaHeader {
        seq: lsa::MAX_SEQ,
        ..base
    };
    assert_eq!(max.compare(&base), Greater);
    let higher_cksum = LsaHeader {
        checksum: 0x2000,
        ..base
    };
    assert_eq!(higher_cksum.compare(&base), Greater);
    let maxage = LsaHeader {
        age: lsa::MAX_AGE,
        ..base
    };
    assert_eq!(maxage.compare(&base), Greater);
    assert_eq!(base.compare(&maxage), Less);
    let much_younger = LsaHeader { age: 10, ..base };
    let older = LsaHeader { age: 1000, ..base };
    assert_eq!(much_younger.compare(&older), Greater);
    let slightly_older = LsaHeader { age: 800, ..base };
    assert_eq!(
        slightly_older.compare(&base),
        Equal,
        "age difference within MaxAgeDiff: same instance"
    );
}

proptest! {
    /// The decoder never panics on arbitrary bytes, and whatever it accepts re-encodes
    /// to the same bytes.
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = packet::decode(&bytes, &AuthConfig::None);
        let _ = packet::decode(&bytes, &AuthConfig::md5(1, "k"));
        let ring = AuthConfig::Crypto(CryptoKeys::new(vec![
            CryptoKey::new(0, Algorithm::KeyedMd5, b"k"),
            CryptoKey::new(1, Algorithm::HmacSha1, b"k"),
            CryptoKey::new(2, Algorithm::HmacSha256, b"k"),
            CryptoKey::new(3, Algorithm::HmacSha384, b"k"),
            CryptoKey::new(4, Algorithm::HmacSha512, b"k"),
        ]).unwrap());
        let _ = packet::decode(&bytes, &ring);
        if let Ok(p) = packet::Packet::new_checked(&bytes[..]) {
            if let Ok(repr) = PacketRepr::parse(&p) {
                let mut out = vec![0u8; repr.buffer_len()];
                repr.emit(&mut packet::Packet::new_unchecked(&mut out[..]));
                // Header bytes 12..24 (checksum/auth) are not part of the representation.
                prop_assert_eq!(&out[24..], &p.packet_bytes()[24..]);
            }
        }
    }

    /// Same with a valid header around random bodies, so the body parsers get exercised.
    #[test]
    fn body_parsers_never_panic(ty in 1u8..=5, body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut buf = vec![0u8; 24];
        buf[0] = 2;
        buf[1] = ty;
        let len = (24 + body.len()) as u16;
        buf[2..4].copy_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&body);
        let p = packet::Packet::new_checked(&buf[..]).unwrap();
        if let Ok(repr) = PacketRepr::parse(&p) {
            let mut out = vec![0u8; repr.buffer_len()];
            repr.emit(&mut packet::Packet::new_unchecked(&mut out[..]));
            prop_assert_eq!(&out[24..], &buf[24..]);
        }
    }
}

// ===== cryptographic authentication: RFC 5709 HMAC-SHA and key rings, on BIRD captures =====

/// (algorithm name, key id, key, packet) from `bird_crypto_hellos.txt`.
fn bird_crypto_hellos() -> Vec<(String, u8, String, Vec<u8>)> {
    include_str!("bird_crypto_hellos.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let bytes = (0..f[3].len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&f[3][i..i + 2], 16).unwrap())
                .collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].to_string(),
                bytes,
            )
        })
        .collect()
}

fn algorithm(name: &str) -> Algorithm {
    match name {
        "keyed_md5" => Algorithm::KeyedMd5,
        "hmac_sha1" => Algorithm::HmacSha1,
        "hmac_sha256" | "long_hmac_sha256" => Algorithm::HmacSha256,
        "hmac_sha384" => Algorithm::HmacSha384,
        "hmac_sha512" => Algorithm::HmacSha512,
        other => panic!("unknown algorithm {other}"),
    }
}

/// BIRD's HMAC-SHA-1/256/384/512 and keyed-MD5 Hellos verify, carry BIRD's sequence
/// number, and re-encoding the decoded packet with the same key and sequence number gives
/// BIRD's bytes back, digest included.
#[test]
fn golden_bird_cryptographic_hellos() {
    let mut seen = 0;
    for (name, id, key, bytes) in bird_crypto_hellos() {
        if name.starts_with("long_") {
            continue;
        }
        let auth = AuthConfig::single(id, algorithm(&name), &key);
        let (repr, seq) = packet::decode(&bytes, &auth).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(seq, Some(1_796_114_976), "{name}");
        let Body::Hello(h) = &repr.body else {
            panic!("{name}: not a Hello")
        };
        assert_eq!((h.hello_interval, h.dead_interval), (10, 40), "{name}");
        assert_eq!(repr.router_id, ip("10.77.0.1"));
        assert_eq!(
            bytes.len(),
            44 + algorithm(&name).digest_len(),
            "{name}: digest after the packet"
        );
        assert_eq!(packet::encode(&repr, &auth, 1_796_114_976), bytes, "{name}");
        // One flipped digest bit, or the right key under another id: refused.
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(
            packet::decode(&bad, &auth).unwrap_err(),
            DecodeError::BadDigest
        );
        let other_id = AuthConfig::single(id + 1, algorithm(&name), &key);
        assert_eq!(
            packet::decode(&bytes, &other_id).unwrap_err(),
            DecodeError::BadKeyId(id)
        );
        seen += 1;
    }
    assert_eq!(seen, 5);
}

/// Key rollover (RFC 2328 D.3): with keys 1 and 2 configured, BIRD signs with key 1; a
/// ring holding both accepts it whichever key signs ours, a ring without key 1 does not,
/// and a digest length that does not match the key's algorithm is refused.
#[test]
fn key_ring_accepts_bird_with_either_key_configured() {
    let (_, _, _, md5) = bird_crypto_hellos()
        .into_iter()
        .find(|(n, ..)| n == "keyed_md5")
        .unwrap();
    let ring = |keys: Vec<CryptoKey>| AuthConfig::Crypto(CryptoKeys::new(keys).unwrap());
    let old = CryptoKey::new(1, Algorithm::KeyedMd5, b"old");
    let new = CryptoKey::new(2, Algorithm::HmacSha256, b"new");
    for auth in [
        ring(vec![old.clone(), new.clone()]),
        ring(vec![new.clone(), old.clone()]),
    ] {
        assert!(packet::decode(&md5, &auth).is_ok());
    }
    assert_eq!(
        packet::decode(&md5, &ring(vec![new])).unwrap_err(),
        DecodeError::BadKeyId(1)
    );
    let sha_under_md5_id = ring(vec![CryptoKey::new(1, Algorithm::HmacSha1, b"old")]);
    assert_eq!(
        packet::decode(&md5, &sha_under_md5_id).unwrap_err(),
        DecodeError::BadAuthDataLen(16)
    );
}

/// RFC 5709 §3.3: a key longer than the hash length L is first hashed (Ko = H(K)). BIRD
/// 2.0.12 gives such keys to plain HMAC (RFC 2104: hashed only beyond the block size), so
/// its packets with a 40-byte SHA-256 key do not verify under the RFC — the reason
/// docs/ospf.md asks for keys of at most L bytes when peering with BIRD. The same capture
/// verifies with Ko = K, which is what plain HMAC does for keys up to the block size.
#[test]
fn bird_hashes_long_hmac_keys_differently_from_rfc_5709() {
    let (_, id, key, bytes) = bird_crypto_hellos()
        .into_iter()
        .find(|(n, ..)| n == "long_hmac_sha256")
        .unwrap();
    assert!(key.len() > 32);
    let rfc = AuthConfig::single(id, Algorithm::HmacSha256, &key);
    assert_eq!(
        packet::decode(&bytes, &rfc).unwrap_err(),
        DecodeError::BadDigest
    );
    use hmac::{Hmac, Mac};
    let plen = u16::from_be_bytes([bytes[2], bytes[3]]) as usize;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(&bytes[..plen]);
    mac.update(&[0x87, 0x8f, 0xe1, 0xf3].repeat(8));
    assert_eq!(mac.finalize().into_bytes().as_slice(), &bytes[plen..]);
}
