//! Harnesses shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`, nightly, cargo-fuzz) and
//! by the corpus replay tests (`ospf/tests/fuzz_corpus.rs`, stable): the same function runs
//! on every input, so a corpus file that once found a bug keeps checking it on stable.
//!
//! Each harness panics on a broken promise (a round trip that does not hold) and must
//! return normally for any input that is merely invalid.

use crate::packet::auth::{Algorithm, CryptoKey, CryptoKeys};
use crate::packet::{self, AuthConfig, Packet, PacketRepr};

/// Runs `harness` on every file of a checked-in corpus directory, in name order, and panics
/// naming the file whose input broke a promise. Used by the replay tests of this crate and
/// of `director`.
pub fn replay_corpus(dir: &std::path::Path, harness: fn(&[u8])) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    for file in &files {
        let data = std::fs::read(file).expect("corpus file");
        let outcome = std::panic::catch_unwind(|| harness(&data));
        assert!(outcome.is_ok(), "{}: harness panicked", file.display());
    }
}

/// OSPF packet codec: `decode` never panics with any authentication (MD5, HMAC-SHA, a
/// key ring mixing them); whatever `PacketRepr::parse` accepts emits to the same body
/// bytes, and the emitted packet parses back to the same value (parse → emit → parse). With
/// every cryptographic key, `encode` → `decode` holds too.
pub fn packet(data: &[u8]) {
    let _ = packet::decode(data, &AuthConfig::None);
    let md5 = AuthConfig::md5(1, "fuzz");
    let _ = packet::decode(data, &md5);
    let ring = fuzz_key_ring();
    let _ = packet::decode(data, &ring);
    let Ok(p) = Packet::new_checked(data) else {
        return;
    };
    let Ok(repr) = PacketRepr::parse(&p) else {
        return;
    };
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut out[..]));
    assert_eq!(
        &out[packet::HEADER_LEN..],
        &p.packet_bytes()[packet::HEADER_LEN..],
        "emit must reproduce the parsed body"
    );
    let again = Packet::new_checked(&out[..]).expect("emitted header");
    assert_eq!(
        PacketRepr::parse(&again).as_ref(),
        Ok(&repr),
        "parse → emit → parse"
    );
    let signed = packet::encode(&repr, &md5, 7);
    let (decoded, seq) = packet::decode(&signed, &md5).expect("what we sign decodes");
    assert_eq!((decoded, seq), (repr.clone(), Some(7)));
    for key in ring_keys() {
        let one = AuthConfig::Crypto(CryptoKeys::new(vec![key]).expect("one key"));
        let signed = packet::encode(&repr, &one, 8);
        let (decoded, seq) = packet::decode(&signed, &ring).expect("any ring key verifies");
        assert_eq!((decoded, seq), (repr.clone(), Some(8)));
    }
}

/// One key per algorithm, the long HMAC key hashed (RFC 5709 §3.3).
fn ring_keys() -> Vec<CryptoKey> {
    vec![
        CryptoKey::new(1, Algorithm::KeyedMd5, b"fuzz"),
        CryptoKey::new(2, Algorithm::HmacSha1, b"fuzz"),
        CryptoKey::new(3, Algorithm::HmacSha256, &[b'k'; 40]),
        CryptoKey::new(4, Algorithm::HmacSha384, b"fuzz"),
        CryptoKey::new(5, Algorithm::HmacSha512, b"fuzz"),
    ]
}

fn fuzz_key_ring() -> AuthConfig {
    AuthConfig::Crypto(CryptoKeys::new(ring_keys()).expect("distinct key ids"))
}

// ===== stateful: an instance in Full with MD5 =====

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::api::{AreaConfig, InstanceConfig, InterfaceConfig};
use crate::instance::{Input, Instance, Output};
use crate::interface::LinkInfo;
use crate::neighbor::nsm;
use crate::packet::dbdesc::{FLAG_I, FLAG_M, FLAG_MS};
use crate::packet::lsa::RouterLsa;
use crate::packet::{
    Body, DbDesc, Hello, LsAck, LsRequest, LsUpdate, Lsa, LsaBody, LsaHeader, OPTION_E,
};
use crate::{Ipv4Network, ALL_SPF_ROUTERS};

const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 21);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 99);
const KEY_ID: u8 = 1;
const KEY: &str = "s3cret";

/// An [`Instance`] with one broadcast interface (10.0.0.21/24, MD5 key 1) in Full with a
/// scripted neighbor 10.0.0.99 (router ID = address, the DR), driven with a fake clock.
pub struct FullLab {
    pub inst: Instance,
    pub now: Instant,
    pub auth: AuthConfig,
    /// The neighbor's next cryptographic sequence number.
    pub seq: u32,
    /// Authentic packets sent so far (for replays).
    pub sent_by_peer: Vec<Vec<u8>>,
}

impl FullLab {
    pub fn new() -> FullLab {
        let auth = AuthConfig::md5(KEY_ID, KEY);
        let cfg = InstanceConfig {
            router_id: ME,
            stub_metric: 0,
            areas: vec![AreaConfig::new(
                Ipv4Addr::UNSPECIFIED,
                vec![InterfaceConfig {
                    priority: 1,
                    auth: auth.clone(),
                    ..InterfaceConfig::new("eth0")
                }],
            )],
        };
        let now = Instant::now();
        let mut inst = Instance::new(&cfg, now, 1_700_000_000);
        inst.handle(
            now,
            Input::Link {
                iface: 0,
                info: Some(LinkInfo {
                    ifindex: 2,
                    address: Ipv4Network::new(ME, 24).expect("prefix"),
                    mtu: 1500,
                }),
            },
        );
        let vip = Ipv4Network::new(Ipv4Addr::new(192, 0, 2, 1), 32).expect("prefix");
        inst.handle(now, Input::SetAnnounced(BTreeMap::from([(vip, None)])));
        let mut lab = FullLab {
            inst,
            now,
            auth,
            seq: 1000,
            sent_by_peer: Vec::new(),
        };
        lab.authentic(ALL_SPF_ROUTERS, lab.hello(true));
        // We are the slave (lower router ID): the master starts, then ends the exchange.
        for (flags, seq) in [(FLAG_I | FLAG_M | FLAG_MS, 77), (FLAG_MS, 78)] {
            let dd = Body::DbDesc(DbDesc {
                mtu: 1500,
                options: OPTION_E,
                flags,
                seq,
                lsa_headers: vec![],
            });
            lab.authentic(ME, dd);
        }
        assert_eq!(lab.peer_state(), Some(nsm::State::Full), "lab reaches Full");
        lab.advance(Duration::from_secs(6));
        lab.advance(Duration::from_secs(6));
        lab.check_output();
        lab
    }

    pub fn peer_state(&self) -> Option<nsm::State> {
        self.inst.ifaces[0].neighbors.get(&PEER).map(|n| n.state)
    }

    pub fn hello(&self, sees_me: bool) -> Body {
        Body::Hello(Hello {
            network_mask: Ipv4Addr::new(255, 255, 255, 0),
            hello_interval: 10,
            options: OPTION_E,
            priority: 10,
            dead_interval: 40,
            dr: PEER,
            bdr: Ipv4Addr::UNSPECIFIED,
            neighbors: if sees_me { vec![ME] } else { vec![] },
        })
    }

    /// Bytes of `body` from the neighbor, signed with `auth` and sequence number `seq`.
    pub fn packet(&self, body: Body, auth: &AuthConfig, seq: u32) -> Vec<u8> {
        let repr = PacketRepr {
            router_id: PEER,
            area_id: Ipv4Addr::UNSPECIFIED,
            body,
        };
        packet::encode(&repr, auth, seq)
    }

    /// Sends an authentic packet with the next sequence number.
    pub fn authentic(&mut self, dst: Ipv4Addr, body: Body) {
        self.seq += 1;
        let bytes = self.packet(body, &self.auth.clone(), self.seq);
        self.sent_by_peer.push(bytes.clone());
        self.deliver(dst, bytes);
    }

    pub fn deliver(&mut self, dst: Ipv4Addr, bytes: Vec<u8>) {
        self.inst.handle(
            self.now,
            Input::Packet {
                iface: 0,
                src: PEER,
                dst,
                bytes,
            },
        );
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.inst.poll(self.now);
    }

    /// Everything the instance sends decodes with our key.
    pub fn check_output(&mut self) {
        for out in self.inst.drain_output() {
            if let Output::Packet { bytes, .. } = out {
                if let Err(e) = packet::decode(&bytes, &self.auth) {
                    panic!("we sent a packet that does not decode: {e}");
                }
            }
        }
    }

    /// The protocol state a dropped packet must not touch: interfaces, neighbors, LSDBs
    /// (the status without its counters).
    pub fn state(&self) -> String {
        let mut status = self.inst.status(self.now);
        status.counters = Default::default();
        format!("{status:?}")
    }

    fn dropped(&self) -> u64 {
        self.inst.counters.drops.values().sum()
    }

    /// Delivers a packet that must be dropped: no state change, no output, one more drop.
    pub fn must_drop(&mut self, dst: Ipv4Addr, bytes: Vec<u8>) {
        let (before, drops) = (self.state(), self.dropped());
        self.deliver(dst, bytes);
        assert_eq!(self.state(), before, "a dropped packet changed state");
        assert_eq!(
            self.dropped(),
            drops + 1,
            "a dropped packet was not counted"
        );
        assert!(
            self.inst.drain_output().is_empty(),
            "a dropped packet caused output"
        );
    }
}

impl Default for FullLab {
    fn default() -> Self {
        FullLab::new()
    }
}

fn peer_router_lsa(seq: u32) -> Lsa {
    let mut l = Lsa {
        header: LsaHeader {
            age: 1,
            options: OPTION_E,
            ls_type: 1,
            id: PEER,
            adv_rtr: PEER,
            seq: seq as i32,
            checksum: 0,
            length: 0,
        },
        body: LsaBody::Router(RouterLsa {
            flags: 0,
            reserved: 0,
            links: vec![],
        }),
    };
    l.finalize();
    l
}

/// Reads a fuzz input as a script: opcodes and their arguments (zeros past the end).
pub struct Script<'a>(pub &'a [u8]);

impl<'a> Script<'a> {
    pub fn op(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    pub fn byte(&mut self) -> u8 {
        self.op().unwrap_or(0)
    }

    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
}

/// A script of packets and clock steps against an instance in Full with MD5. Each step is
/// one byte of opcode and its arguments: authentic packets (hello, LSU, LSR, ack, or a body
/// the fuzzer wrote), spoiled ones (a byte flipped), unauthenticated, wrong-key, wrong-area
/// and replayed ones, and clock steps. Asserts that a rejected packet changes no state and
/// that everything the instance sends decodes.
pub fn ospf_full_md5_script(data: &[u8]) {
    let mut lab = FullLab::new();
    let mut script = Script(data);
    let mut lsa_seq = 0x8000_0001u32;
    while let Some(op) = script.op() {
        match op % 12 {
            0 => {
                let body = lab.hello(true);
                lab.authentic(ALL_SPF_ROUTERS, body);
            }
            1 => {
                lsa_seq = lsa_seq.wrapping_add(u32::from(script.byte()));
                let body = Body::LsUpdate(LsUpdate {
                    lsas: vec![peer_router_lsa(lsa_seq)],
                });
                lab.authentic(ALL_SPF_ROUTERS, body);
            }
            2 => {
                let headers = lab
                    .inst
                    .areas
                    .first()
                    .map(|a| a.lsdb.iter().map(|(_, e)| e.lsa.header).collect())
                    .unwrap_or_default();
                let body = Body::LsAck(LsAck {
                    lsa_headers: headers,
                });
                lab.authentic(ALL_SPF_ROUTERS, body);
            }
            3 => {
                let body = Body::LsRequest(LsRequest {
                    entries: vec![crate::packet::LsaKey {
                        ls_type: 1,
                        id: ME,
                        adv_rtr: ME,
                    }],
                });
                lab.authentic(ME, body);
            }
            4 => {
                // Spoiled: one byte of an authentic packet flipped.
                let at = usize::from(script.byte());
                let mask = script.byte() | 1;
                let body = lab.hello(true);
                let mut bytes = lab.packet(body, &lab.auth.clone(), lab.seq + 1);
                let i = at % bytes.len();
                bytes[i] ^= mask;
                lab.must_drop(ALL_SPF_ROUTERS, bytes);
            }
            5 => {
                let body = lab.hello(true);
                let bytes = lab.packet(body, &AuthConfig::None, 0);
                lab.must_drop(ALL_SPF_ROUTERS, bytes);
            }
            6 => {
                let body = lab.hello(true);
                let wrong = AuthConfig::md5(KEY_ID, "not-the-key");
                let bytes = lab.packet(body, &wrong, lab.seq + 1);
                lab.must_drop(ALL_SPF_ROUTERS, bytes);
            }
            7 => {
                // Replay of an older authentic packet (strictly older sequence number).
                let n = lab.sent_by_peer.len();
                let i = usize::from(script.byte()) % n;
                let bytes = lab.sent_by_peer[i].clone();
                // A dead neighbor's last sequence number is kept for RETIRED_SEQ_HOLD;
                // after that RFC 2328 keeps nothing, and a replay cannot be told from a
                // restarted neighbor (docs/hostile-input.md): only then may it be taken.
                let forgotten = lab.peer_state().is_none()
                    && lab.inst.ifaces[0]
                        .retired_crypto_seq
                        .get(&PEER)
                        .is_none_or(|(_, at)| {
                            lab.now.saturating_duration_since(*at)
                                >= crate::interface::RETIRED_SEQ_HOLD
                        });
                if forgotten {
                    lab.deliver(ALL_SPF_ROUTERS, bytes);
                } else if i + 1 < n {
                    lab.must_drop(ALL_SPF_ROUTERS, bytes);
                }
            }
            8 => {
                // Wrong area, authentic otherwise.
                lab.seq += 1;
                let repr = PacketRepr {
                    router_id: PEER,
                    area_id: Ipv4Addr::new(0, 0, 0, 1),
                    body: lab.hello(true),
                };
                let bytes = packet::encode(&repr, &lab.auth, lab.seq);
                lab.must_drop(ALL_SPF_ROUTERS, bytes);
            }
            9 => {
                // Raw bytes from the script, unsigned: the digest cannot match.
                let len = usize::from(script.byte());
                let raw = script.take(len);
                let (before, drops) = (lab.state(), lab.dropped());
                lab.deliver(ALL_SPF_ROUTERS, raw.to_vec());
                if lab.dropped() > drops {
                    assert_eq!(lab.state(), before, "a dropped packet changed state");
                }
            }
            10 => {
                // An authentic packet whose body the script wrote (parse → sign → deliver).
                let len = usize::from(script.byte());
                let raw = script.take(len);
                let mut bytes = vec![0u8; packet::HEADER_LEN];
                bytes[0] = 2;
                bytes[1] = raw.first().map_or(1, |t| t % 5 + 1);
                bytes.extend_from_slice(raw.get(1..).unwrap_or_default());
                let total = bytes.len() as u16;
                bytes[2..4].copy_from_slice(&total.to_be_bytes());
                if let Ok(p) = Packet::new_checked(&bytes[..]) {
                    if let Ok(repr) = PacketRepr::parse(&p) {
                        let dst = if script.byte() & 1 == 0 {
                            ALL_SPF_ROUTERS
                        } else {
                            ME
                        };
                        lab.authentic(dst, repr.body);
                    }
                }
            }
            _ => {
                let step = Duration::from_millis(u64::from(script.byte()) * 250);
                lab.advance(step);
            }
        }
        lab.check_output();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_step_runs_from_full() {
        // Each opcode once, with arguments, then a long clock step.
        let script = [
            0, 1, 5, 2, 3, 4, 7, 0x40, 5, 6, 7, 0, 8, 9, 3, 1, 2, 3, 10, 2, 0, 0, 11, 200, 11, 200,
        ];
        ospf_full_md5_script(&script);
        let lab = FullLab::new();
        assert_eq!(lab.peer_state(), Some(nsm::State::Full));
    }

    #[test]
    fn replayed_hello_does_not_bring_back_a_dead_neighbor() {
        // Fuzz finding (ospf_full_md5): once the neighbor died, its sequence number went
        // with it, and a replay of its first Hello created it again (and made it DR).
        // Then the same with its last Hello, whose number equals the one it died with.
        let mut lab = FullLab::new();
        let first_hello = lab.sent_by_peer[0].clone();
        let hello = lab.hello(true);
        lab.authentic(ALL_SPF_ROUTERS, hello);
        let last_hello = lab.sent_by_peer.last().cloned().expect("sent");
        lab.advance(Duration::from_secs(41));
        lab.advance(Duration::from_secs(1));
        assert_eq!(lab.peer_state(), None, "the neighbor died");
        lab.check_output();
        lab.must_drop(ALL_SPF_ROUTERS, first_hello);
        lab.must_drop(ALL_SPF_ROUTERS, last_hello);
        assert_eq!(lab.inst.counters.drops.get("crypto_seq_replay"), Some(&2));
        // The real neighbor, with a newer number, comes back.
        let hello = lab.hello(true);
        lab.authentic(ALL_SPF_ROUTERS, hello);
        assert!(lab.peer_state().is_some());
    }

    #[test]
    fn authentic_packet_to_another_multicast_group_is_dropped() {
        let mut lab = FullLab::new();
        for group in [Ipv4Addr::new(224, 0, 0, 9), Ipv4Addr::new(239, 1, 1, 1)] {
            lab.seq += 1;
            let bytes = lab.packet(lab.hello(false), &lab.auth.clone(), lab.seq);
            lab.must_drop(group, bytes);
        }
        assert_eq!(lab.inst.counters.drops.get("wrong_destination"), Some(&2));
        assert_eq!(lab.peer_state(), Some(nsm::State::Full));
    }
}
