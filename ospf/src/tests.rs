//! Protocol-core tests: the `Instance` is driven with a fake clock and scripted neighbor
//! packets, and its outputs (packets, events) are decoded and asserted. No sockets.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::api::{AreaConfig, InstanceConfig, InterfaceConfig};
use crate::instance::{Input, Instance, Output};
use crate::interface::{ism, LinkInfo};
use crate::neighbor::nsm;
use crate::packet::dbdesc::{FLAG_I, FLAG_M, FLAG_MS};
use crate::packet::lsa::{
    LsaBody, NetworkLsa, RouterLink, RouterLsa, LINK_STUB, LINK_TRANSIT, LS_TYPE_NETWORK, MAX_AGE,
};
use crate::packet::{
    self, AuthConfig, Body, DbDesc, Hello, LsAck, LsRequest, LsUpdate, Lsa, LsaHeader, PacketRepr,
    OPTION_E,
};
use crate::{Ipv4Network, ALL_D_ROUTERS, ALL_SPF_ROUTERS};

const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 21);
const AREA0: Ipv4Addr = Ipv4Addr::UNSPECIFIED;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn vip() -> Ipv4Network {
    "192.0.2.1/32".parse().unwrap()
}

struct Lab {
    inst: Instance,
    now: Instant,
    auth: AuthConfig,
    /// Options of the neighbors' Hellos and DDs (E, or 0 in a stub area).
    options: u8,
}

impl Lab {
    fn new(priority: u8, auth: AuthConfig) -> Self {
        Lab::with_area(priority, auth, |_| {})
    }

    /// [`Lab::new`] with the area configuration changed by `edit` (stub, passive, ...).
    fn with_area(priority: u8, auth: AuthConfig, edit: impl FnOnce(&mut AreaConfig)) -> Self {
        let mut area = AreaConfig::new(
            AREA0,
            vec![InterfaceConfig {
                priority,
                auth: auth.clone(),
                ..InterfaceConfig::new("eth0")
            }],
        );
        edit(&mut area);
        let cfg = InstanceConfig {
            router_id: ME,
            stub_metric: 0,
            areas: vec![area],
        };
        let now = Instant::now();
        let mut inst = Instance::new(&cfg, now, 1_700_000_000);
        inst.handle(
            now,
            Input::Link {
                iface: 0,
                info: Some(LinkInfo {
                    ifindex: 2,
                    address: "10.0.0.21/24".parse().unwrap(),
                    mtu: 1500,
                }),
            },
        );
        Lab {
            inst,
            now,
            auth,
            options: OPTION_E,
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.inst.poll(self.now);
    }

    fn input(&mut self, i: Input) {
        self.inst.handle(self.now, i);
    }

    /// A packet from `rid` at `src` (to AllSPFRouters unless `dst` given).
    fn rx_from(&mut self, rid: Ipv4Addr, src: Ipv4Addr, dst: Ipv4Addr, body: Body) {
        let repr = PacketRepr {
            router_id: rid,
            area_id: AREA0,
            body,
        };
        let bytes = packet::encode(&repr, &self.auth, 1_700_000_000);
        self.input(Input::Packet {
            iface: 0,
            src,
            dst,
            bytes,
        });
    }

    fn hello(
        &mut self,
        rid: Ipv4Addr,
        src: Ipv4Addr,
        prio: u8,
        dr: Ipv4Addr,
        bdr: Ipv4Addr,
        sees_me: bool,
    ) {
        let h = Hello {
            network_mask: ip("255.255.255.0"),
            hello_interval: 10,
            options: self.options,
            priority: prio,
            dead_interval: 40,
            dr,
            bdr,
            neighbors: if sees_me { vec![ME] } else { vec![] },
        };
        self.rx_from(rid, src, ALL_SPF_ROUTERS, Body::Hello(h));
    }

    /// Decoded packets sent since the last call, with their destination.
    fn sent(&mut self) -> Vec<(Ipv4Addr, PacketRepr)> {
        self.inst
            .drain_output()
            .into_iter()
            .filter_map(|o| match o {
                Output::Packet { dst, bytes, .. } => Some((
                    dst,
                    packet::decode(&bytes, &self.auth)
                        .expect("we emit valid packets")
                        .0,
                )),
                _ => None,
            })
            .collect()
    }

    fn nbr_state(&self, key: Ipv4Addr) -> Option<nsm::State> {
        self.inst.ifaces[0].neighbors.get(&key).map(|n| n.state)
    }

    fn drops(&self, reason: &str) -> u64 {
        self.inst.counters.drops.get(reason).copied().unwrap_or(0)
    }

    fn our_router_lsa(&self) -> Lsa {
        let key = crate::packet::LsaKey {
            ls_type: 1,
            id: ME,
            adv_rtr: ME,
        };
        self.inst.areas[0]
            .lsdb
            .get(&key)
            .expect("our Router-LSA")
            .lsa
            .clone()
    }
}

fn dbdescs(sent: &[(Ipv4Addr, PacketRepr)]) -> Vec<DbDesc> {
    sent.iter()
        .filter_map(|(_, p)| match &p.body {
            Body::DbDesc(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

fn router_lsa(rid: Ipv4Addr, seq: u32, links: Vec<RouterLink>) -> Lsa {
    let mut l = Lsa {
        header: LsaHeader {
            age: 1,
            options: OPTION_E,
            ls_type: 1,
            id: rid,
            adv_rtr: rid,
            seq: seq as i32,
            checksum: 0,
            length: 0,
        },
        body: LsaBody::Router(RouterLsa {
            flags: 0,
            reserved: 0,
            links,
        }),
    };
    l.finalize();
    l
}

fn stub_links(lsa: &Lsa) -> Vec<Ipv4Addr> {
    match &lsa.body {
        LsaBody::Router(r) => r
            .links
            .iter()
            .filter(|l| l.link_type == LINK_STUB && l.data == ip("255.255.255.255"))
            .map(|l| l.id)
            .collect(),
        _ => vec![],
    }
}

const R1: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1); // a router with a lower router ID
const R9: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 99); // a router with a higher router ID

#[test]
fn interface_up_waits_and_sends_hello() {
    let mut lab = Lab::new(1, AuthConfig::None);
    assert_eq!(lab.inst.ifaces[0].state, ism::State::Waiting);
    lab.advance(Duration::ZERO);
    let sent = lab.sent();
    let Body::Hello(h) = &sent[0].1.body else {
        panic!("hello first")
    };
    assert_eq!(sent[0].0, ALL_SPF_ROUTERS);
    assert_eq!(
        (
            h.hello_interval,
            h.dead_interval,
            h.priority,
            h.network_mask
        ),
        (10, 40, 1, ip("255.255.255.0"))
    );
    // Wait timer (= dead interval) elects ourselves DR on an empty segment.
    lab.advance(Duration::from_secs(40));
    assert_eq!(lab.inst.ifaces[0].state, ism::State::Dr);
}

#[test]
fn priority_zero_is_drother_at_once_and_never_dr() {
    let mut lab = Lab::new(0, AuthConfig::None);
    assert_eq!(lab.inst.ifaces[0].state, ism::State::DrOther);
    lab.hello(R1, R1, 1, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(lab.inst.ifaces[0].dr, R1);
    assert_eq!(
        lab.nbr_state(R1),
        Some(nsm::State::ExStart),
        "adjacency with the DR"
    );
}

/// BIRD as DR with priority 10: we become BDR via BackupSeen and start the exchange.
#[test]
fn router_as_dr_backup_seen_then_exstart() {
    let mut lab = Lab::new(1, AuthConfig::None);
    lab.sent();
    lab.hello(
        R1,
        R1,
        10,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        false,
    );
    assert_eq!(lab.nbr_state(R1), Some(nsm::State::Init));
    lab.hello(R1, R1, 10, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(
        lab.inst.ifaces[0].state,
        ism::State::Backup,
        "BackupSeen ends Waiting"
    );
    assert_eq!((lab.inst.ifaces[0].dr, lab.inst.ifaces[0].bdr), (R1, ME));
    assert_eq!(lab.nbr_state(R1), Some(nsm::State::ExStart));
    let dds = dbdescs(&lab.sent());
    assert_eq!(dds.len(), 1);
    assert_eq!(dds[0].flags, FLAG_I | FLAG_M | FLAG_MS);
    assert!(dds[0].lsa_headers.is_empty());
    // The initial DD is retransmitted every RxmtInterval until negotiation.
    lab.advance(Duration::from_secs(5));
    assert_eq!(dbdescs(&lab.sent()).len(), 1);
}

#[test]
fn hello_error_paths_change_nothing() {
    let mut lab = Lab::new(1, AuthConfig::None);
    let base = Hello {
        network_mask: ip("255.255.255.0"),
        hello_interval: 10,
        options: OPTION_E,
        priority: 1,
        dead_interval: 40,
        dr: Ipv4Addr::UNSPECIFIED,
        bdr: Ipv4Addr::UNSPECIFIED,
        neighbors: vec![],
    };
    let cases: Vec<(&str, Hello)> = vec![
        (
            "hello_interval_mismatch",
            Hello {
                hello_interval: 1,
                ..base.clone()
            },
        ),
        (
            "dead_interval_mismatch",
            Hello {
                dead_interval: 4,
                ..base.clone()
            },
        ),
        (
            "netmask_mismatch",
            Hello {
                network_mask: ip("255.255.0.0"),
                ..base.clone()
            },
        ),
        (
            "options_mismatch",
            Hello {
                options: 0,
                ..base.clone()
            },
        ),
    ];
    for (reason, h) in cases {
        lab.rx_from(R1, R1, ALL_SPF_ROUTERS, Body::Hello(h));
        assert_eq!(lab.drops(reason), 1, "{reason}");
    }
    // Wrong area.
    let repr = PacketRepr {
        router_id: R1,
        area_id: ip("0.0.0.1"),
        body: Body::Hello(base.clone()),
    };
    let bytes = packet::encode(&repr, &AuthConfig::None, 0);
    lab.input(Input::Packet {
        iface: 0,
        src: R1,
        dst: ALL_SPF_ROUTERS,
        bytes,
    });
    assert_eq!(lab.drops("wrong_area"), 1);
    // Our own router ID from another address: duplicate router ID.
    lab.rx_from(ME, R1, ALL_SPF_ROUTERS, Body::Hello(base.clone()));
    assert_eq!(lab.drops("duplicate_router_id"), 1);
    // Source outside the interface subnet.
    lab.rx_from(
        R1,
        ip("10.9.9.9"),
        ALL_SPF_ROUTERS,
        Body::Hello(base.clone()),
    );
    assert_eq!(lab.drops("wrong_subnet"), 1);
    // To AllDRouters while we are not DR/BDR.
    lab.rx_from(R1, R1, ALL_D_ROUTERS, Body::Hello(base));
    assert_eq!(lab.drops("not_dr"), 1);
    assert!(lab.inst.ifaces[0].neighbors.is_empty());
    assert_eq!(lab.inst.ifaces[0].state, ism::State::Waiting);
}

#[test]
fn bad_md5_key_is_dropped_and_forms_nothing() {
    let mut lab = Lab::new(1, AuthConfig::md5(1, "right"));
    lab.auth = AuthConfig::md5(1, "wrong");
    lab.hello(R1, R1, 10, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(lab.drops("bad_digest"), 1);
    lab.auth = AuthConfig::None;
    lab.hello(R1, R1, 10, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(lab.drops("auth_type_mismatch"), 1);
    assert!(lab.inst.ifaces[0].neighbors.is_empty());
    // The right key works, and our packets carry a digest the peer can check.
    lab.auth = AuthConfig::md5(1, "right");
    lab.sent();
    lab.hello(R1, R1, 10, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(lab.nbr_state(R1), Some(nsm::State::ExStart));
    assert!(!lab.sent().is_empty());
    // A replayed (older) cryptographic sequence number is refused.
    let repr = PacketRepr {
        router_id: R1,
        area_id: AREA0,
        body: Body::LsAck(LsAck {
            lsa_headers: vec![],
        }),
    };
    let bytes = packet::encode(&repr, &lab.auth, 1_000);
    lab.input(Input::Packet {
        iface: 0,
        src: R1,
        dst: ME,
        bytes,
    });
    assert_eq!(lab.drops("crypto_seq_replay"), 1);
}

/// Brings R at `rid` to ExStart with us (router is DR, we are BDR).
fn to_exstart(rid: Ipv4Addr) -> Lab {
    let mut lab = Lab::new(1, AuthConfig::None);
    lab.input(Input::SetAnnounced(BTreeMap::from([(vip(), None)])));
    lab.hello(rid, rid, 10, rid, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(lab.nbr_state(rid), Some(nsm::State::ExStart));
    lab.sent();
    lab
}

#[test]
fn dd_exchange_as_slave() {
    let mut lab = to_exstart(R9);
    let theirs = router_lsa(R9, 0x8000_0007, vec![]);
    // The master (higher router ID) starts.
    lab.rx_from(
        R9,
        R9,
        ME,
        Body::DbDesc(DbDesc {
            mtu: 1500,
            options: OPTION_E,
            flags: FLAG_I | FLAG_M | FLAG_MS,
            seq: 5000,
            lsa_headers: vec![],
        }),
    );
    assert_eq!(lab.nbr_state(R9), Some(nsm::State::Exchange));
    let dds = dbdescs(&lab.sent());
    assert_eq!(dds.len(), 1);
    assert_eq!(
        dds[0].seq, 5000,
        "slave echoes the master's sequence number"
    );
    assert_eq!(dds[0].flags & (FLAG_I | FLAG_MS), 0);
    assert!(
        dds[0].lsa_headers.iter().any(|h| h.adv_rtr == ME),
        "our Router-LSA is described"
    );
    // Master's next DD carries its header and ends the exchange (M clear).
    lab.rx_from(
        R9,
        R9,
        ME,
        Body::DbDesc(DbDesc {
            mtu: 1500,
            options: OPTION_E,
            flags: FLAG_MS,
            seq: 5001,
            lsa_headers: vec![theirs.header],
        }),
    );
    assert_eq!(lab.nbr_state(R9), Some(nsm::State::Loading));
    let sent = lab.sent();
    assert_eq!(dbdescs(&sent)[0].seq, 5001);
    let req = sent
        .iter()
        .find_map(|(_, p)| match &p.body {
            Body::LsRequest(r) => Some(r.clone()),
            _ => None,
        })
        .expect("LS request");
    assert_eq!(req.entries, vec![theirs.header.key()]);
    // A duplicate from the master makes the slave repeat its last packet.
    lab.rx_from(
        R9,
        R9,
        ME,
        Body::DbDesc(DbDesc {
            mtu: 1500,
            options: OPTION_E,
            flags: FLAG_MS,
            seq: 5001,
            lsa_headers: vec![theirs.header],
        }),
    );
    assert_eq!(dbdescs(&lab.sent()).len(), 1);
    // The requested LSA arrives: Full, and it is acknowledged (delayed ack).
    lab.rx_from(
        R9,
        R9,
        ME,
        Body::LsUpdate(LsUpdate {
            lsas: vec![theirs.clone()],
        }),
    );
    assert_eq!(lab.nbr_state(R9), Some(nsm::State::Full));
    lab.advance(Duration::from_secs(1));
    let acked = lab.sent().iter().any(
        |(_, p)| matches!(&p.body, Body::LsAck(a) if a.lsa_headers[0].key() == theirs.header.key()),
    );
    assert!(acked);
    // Full with the DR: our Router-LSA now has a transit link to it (after MinLSInterval).
    lab.advance(Duration::from_secs(5));
    let LsaBody::Router(r) = lab.our_router_lsa().body else {
        panic!()
    };
    assert!(r
        .links
        .iter()
        .any(|l| l.link_type == crate::packet::lsa::LINK_TRANSIT && l.id == R9));
    assert_eq!(stub_links(&lab.our_router_lsa()), vec![ip("192.0.2.1")]);
}

#[test]
fn dd_exchange_as_master_and_seq_mismatch() {
    let mut lab = to_exstart(R1);
    let our_seq = lab.inst.ifaces[0].neighbors[&R1].dd_seq;
    // The slave (lower router ID) answers our initial DD with its headers.
    let theirs = router_lsa(R1, 0x8000_0001, vec![]);
    lab.rx_from(
        R1,
        R1,
        ME,
        Body::DbDesc(DbDesc {
            mtu: 1500,
            options: OPTION_E,
            flags: 0,
            seq: our_seq,
            lsa_headers: vec![theirs.header],
        }),
    );
    assert_eq!(lab.nbr_state(R1), Some(nsm::State::Exchange));
    let dds = dbdescs(&lab.sent());
    let last = dds.last().expect("master sends the next DD");
    assert_eq!(last.seq, our_seq.wrapping_add(1));
    assert_eq!(last.flags & FLAG_MS, FLAG_MS);
    assert_eq!(last.flags & FLAG_M, 0, "everything fits in one packet");
    // A DD with the wrong sequence number: SeqNumberMismatch, back to ExStart.
    lab.rx_from(
        R1,
        R1,
        ME,
        Body::DbDesc(DbDesc {
            mtu: 1500,
            options: OPTION_E,
            flags: 0,
            seq: our_seq.wrapping_add(7),
            lsa_headers: vec![],
        }),
    );
    assert_eq!(lab.nbr_state(R1), Some(nsm::State::ExStart));
    let dds = dbdescs(&lab.sent());
    assert_eq!(dds.last().map(|d| d.flags), Some(FLAG_I | FLAG_M | FLAG_MS));
    // Redo the exchange properly: slave acks, then our M-clear DD is acked: ExchangeDone.
    let seq = lab.inst.ifaces[0].neighbors[&R1].dd_seq;
    lab.rx_from(
        R1,
        R1,
        ME,
        Body::DbDesc(DbDesc {
            mtu: 1500,
            options: OPTION_E,
            flags: 0,
            seq,
            lsa_headers: vec![],
        }),
    );
    lab.rx_from(
        R1,
        R1,
        ME,
        Body::DbDesc(DbDesc {
            mtu: 1500,
            options: OPTION_E,
            flags: 0,
            seq: seq.wrapping_add(1),
            lsa_headers: vec![],
        }),
    );
    assert_eq!(lab.nbr_state(R1), Some(nsm::State::Full));
}

#[test]
fn dd_with_larger_mtu_is_refused() {
    let mut lab = to_exstart(R9);
    lab.rx_from(
        R9,
        R9,
        ME,
        Body::DbDesc(DbDesc {
            mtu: 9000,
            options: OPTION_E,
            flags: FLAG_I | FLAG_M | FLAG_MS,
            seq: 1,
            lsa_headers: vec![],
        }),
    );
    assert_eq!(lab.drops("mtu_mismatch"), 1);
    assert_eq!(lab.nbr_state(R9), Some(nsm::State::ExStart));
}

fn full_with(rid: Ipv4Addr) -> Lab {
    full_from(to_exstart(rid), rid)
}

/// Completes the DD exchange of a neighbor in ExStart (with the lab's options).
fn full_from(mut lab: Lab, rid: Ipv4Addr) -> Lab {
    exchange_to_full(&mut lab, rid);
    lab
}

/// Runs the empty database exchange with `rid` (in ExStart, with the lab's options) up to
/// Full, then lets the originations it triggered pass MinLSInterval.
fn exchange_to_full(lab: &mut Lab, rid: Ipv4Addr) {
    let options = lab.options;
    let seq = lab.inst.ifaces[0].neighbors[&rid].dd_seq;
    if rid > ME {
        lab.rx_from(
            rid,
            rid,
            ME,
            Body::DbDesc(DbDesc {
                mtu: 1500,
                options,
                flags: FLAG_I | FLAG_M | FLAG_MS,
                seq: 77,
                lsa_headers: vec![],
            }),
        );
        lab.rx_from(
            rid,
            rid,
            ME,
            Body::DbDesc(DbDesc {
                mtu: 1500,
                options,
                flags: FLAG_MS,
                seq: 78,
                lsa_headers: vec![],
            }),
        );
    } else {
        lab.rx_from(
            rid,
            rid,
            ME,
            Body::DbDesc(DbDesc {
                mtu: 1500,
                options,
                flags: 0,
                seq,
                lsa_headers: vec![],
            }),
        );
        lab.rx_from(
            rid,
            rid,
            ME,
            Body::DbDesc(DbDesc {
                mtu: 1500,
                options,
                flags: 0,
                seq: seq.wrapping_add(1),
                lsa_headers: vec![],
            }),
        );
    }
    assert_eq!(lab.nbr_state(rid), Some(nsm::State::Full));
    // Let the originations triggered by the adjacency pass MinLSInterval and settle.
    lab.advance(Duration::from_secs(6));
    lab.advance(Duration::from_secs(6));
    lab.sent();
}

#[test]
fn newer_copy_of_our_own_lsa_is_superseded() {
    let mut lab = full_with(R9);
    // A copy from our previous life, with a higher sequence number and no VIP.
    let stale = router_lsa(ME, 0x8000_0042, vec![]);
    lab.rx_from(R9, R9, ME, Body::LsUpdate(LsUpdate { lsas: vec![stale] }));
    let ours = lab.our_router_lsa();
    assert_eq!(
        ours.header.seq, 0x8000_0043u32 as i32,
        "one past the received instance"
    );
    assert_eq!(stub_links(&ours), vec![ip("192.0.2.1")]);
    let flooded = lab.sent().iter().any(|(_, p)| matches!(&p.body, Body::LsUpdate(u) if u.lsas.iter().any(|l| l.header.adv_rtr == ME && l.header.seq == 0x8000_0043u32 as i32)));
    assert!(flooded);
}

#[test]
fn withdraw_reoriginates_and_min_ls_interval_holds_the_next_change() {
    let mut lab = full_with(R9);
    let seq0 = lab.our_router_lsa().header.seq;
    lab.input(Input::SetAnnounced(BTreeMap::new()));
    let l = lab.our_router_lsa();
    assert_eq!(l.header.seq, seq0 + 1);
    assert!(stub_links(&l).is_empty());
    // Announce again 1 s later: held until MinLSInterval (5 s) has passed.
    lab.advance(Duration::from_secs(1));
    lab.input(Input::SetAnnounced(BTreeMap::from([(vip(), None)])));
    assert!(stub_links(&lab.our_router_lsa()).is_empty());
    lab.advance(Duration::from_secs(4));
    assert_eq!(stub_links(&lab.our_router_lsa()), vec![ip("192.0.2.1")]);
    // The neighbor must acknowledge: retransmitted every RxmtInterval until then.
    lab.sent();
    lab.advance(Duration::from_secs(5));
    assert!(lab
        .sent()
        .iter()
        .any(|(_, p)| matches!(p.body, Body::LsUpdate(_))));
    let h = lab.our_router_lsa().header;
    lab.rx_from(
        R9,
        R9,
        ME,
        Body::LsAck(LsAck {
            lsa_headers: vec![h],
        }),
    );
    assert!(lab.inst.ifaces[0].neighbors[&R9].ls_rxmt.is_empty());
}

#[test]
fn external_encoding_and_many_vips() {
    let mut lab = full_with(R9);
    let many: BTreeMap<Ipv4Network, Option<u16>> = (0..1000u32)
        .map(|i| {
            (
                Ipv4Network::new(Ipv4Addr::from(0xc633_0000 + i), 32).unwrap(),
                None,
            )
        })
        .collect();
    lab.input(Input::SetAnnounced(many));
    assert_eq!(lab.inst.as_lsdb.len(), 1000);
    let r = lab.our_router_lsa();
    assert!(stub_links(&r).is_empty());
    let LsaBody::Router(body) = r.body else {
        panic!()
    };
    assert_eq!(
        body.flags & crate::packet::lsa::ROUTER_FLAG_E,
        crate::packet::lsa::ROUTER_FLAG_E
    );
    // Flooded in MTU-sized updates.
    for (_, p) in lab.sent() {
        let bytes = packet::encode(&p, &AuthConfig::None, 0);
        assert!(bytes.len() + 20 <= 1500, "packet of {} bytes", bytes.len());
    }
}

#[test]
fn graceful_shutdown_flushes_waits_for_ack_then_says_goodbye() {
    let mut lab = full_with(R9);
    lab.input(Input::Shutdown {
        max_wait: Duration::from_secs(3),
    });
    let l = lab.our_router_lsa();
    assert_eq!(l.header.age, MAX_AGE);
    assert!(!lab.inst.is_finished(), "waits for the acknowledgment");
    let sent = lab.sent();
    assert!(sent.iter().any(|(_, p)| matches!(&p.body, Body::LsUpdate(u) if u.lsas.iter().any(|x| x.header.adv_rtr == ME && x.header.age == MAX_AGE))));
    lab.rx_from(
        R9,
        R9,
        ME,
        Body::LsAck(LsAck {
            lsa_headers: vec![l.header],
        }),
    );
    assert!(
        !lab.inst.is_finished(),
        "settles while the routers recompute"
    );
    lab.sent();
    lab.advance(crate::instance::SHUTDOWN_SETTLE);
    assert!(lab.inst.is_finished());
    let bye = lab
        .sent()
        .into_iter()
        .find_map(|(_, p)| match p.body {
            Body::Hello(h) => Some(h),
            _ => None,
        })
        .expect("goodbye hello");
    assert!(bye.neighbors.is_empty());
}

/// We are DR (elected at the end of Waiting, higher router ID) and R1 BDR, Full, R1's
/// Hellos declaring that.
fn dr_full_with_r1() -> Lab {
    let mut lab = Lab::new(1, AuthConfig::None);
    lab.input(Input::SetAnnounced(BTreeMap::from([(vip(), None)])));
    for _ in 0..4 {
        lab.hello(
            R1,
            R1,
            1,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            true,
        );
        lab.advance(Duration::from_secs(10));
    }
    assert_eq!(lab.inst.ifaces[0].state, ism::State::Dr);
    assert_eq!(lab.nbr_state(R1), Some(nsm::State::ExStart));
    exchange_to_full(&mut lab, R1);
    lab.hello(R1, R1, 1, ip("10.0.0.21"), R1, true);
    assert_eq!(lab.inst.ifaces[0].state, ism::State::Dr);
    assert!(lab.inst.areas[0].lsdb.get(&our_network_key()).is_some());
    lab.sent();
    lab
}

fn our_network_key() -> crate::packet::LsaKey {
    crate::packet::LsaKey {
        ls_type: LS_TYPE_NETWORK,
        id: ip("10.0.0.21"),
        adv_rtr: ME,
    }
}

fn transit_links(lsa: &Lsa) -> Vec<Ipv4Addr> {
    match &lsa.body {
        LsaBody::Router(r) => r
            .links
            .iter()
            .filter(|l| l.link_type == LINK_TRANSIT)
            .map(|l| l.id)
            .collect(),
        _ => vec![],
    }
}

fn lsdb_age(lab: &Lab, key: &crate::packet::LsaKey) -> u16 {
    lab.inst.areas[0]
        .lsdb
        .get(key)
        .expect("LSA in the LSDB")
        .header(lab.now)
        .age
}

/// R1 took over: its Network-LSA lists both of us and its Router-LSA points at it.
fn r1_takes_over(lab: &mut Lab) {
    let mut network = Lsa {
        header: LsaHeader {
            age: 1,
            options: OPTION_E,
            ls_type: LS_TYPE_NETWORK,
            id: R1,
            adv_rtr: R1,
            seq: 0x8000_0001u32 as i32,
            checksum: 0,
            length: 0,
        },
        body: LsaBody::Network(NetworkLsa {
            mask: ip("255.255.255.0"),
            attached: vec![R1, ME],
        }),
    };
    network.finalize();
    let transit = RouterLink {
        id: R1,
        data: R1,
        link_type: LINK_TRANSIT,
        metric: 10,
        tos: vec![],
    };
    let router = router_lsa(R1, 0x8000_0005, vec![transit]);
    lab.rx_from(
        R1,
        R1,
        ALL_SPF_ROUTERS,
        Body::LsUpdate(LsUpdate {
            lsas: vec![network, router],
        }),
    );
}

#[test]
fn dr_resigns_and_flushes_only_once_the_new_dr_took_over() {
    let mut lab = dr_full_with_r1();
    lab.input(Input::Shutdown {
        max_wait: Duration::from_secs(5),
    });
    let sent = lab.sent();
    let hello_at = sent
        .iter()
        .position(|(_, p)| matches!(p.body, Body::Hello(_)))
        .expect("a Hello at once");
    let Body::Hello(hello) = &sent[hello_at].1.body else {
        unreachable!()
    };
    let update_at = sent
        .iter()
        .position(|(_, p)| matches!(&p.body, Body::LsUpdate(u) if u.lsas.iter().any(|l| l.header.adv_rtr == ME && l.header.ls_type == 1)))
        .expect("our new Router-LSA flooded at once");
    assert!(
        update_at < hello_at,
        "the Router-LSA pointing at R1's network goes out before the Hello that moves R1"
    );
    assert_eq!(hello.priority, 0, "resigned");
    assert_eq!(hello.dr, R1, "R1, the BDR, is the new DR");
    assert_eq!(lab.inst.ifaces[0].state, ism::State::DrOther);
    // Still announcing, now through R1's network; our Network-LSA stays as it was.
    let ours = lab.our_router_lsa();
    assert!(ours.header.age < MAX_AGE);
    assert_eq!(stub_links(&ours), vec![ip("192.0.2.1")]);
    assert_eq!(transit_links(&ours), vec![R1]);
    assert!(lsdb_age(&lab, &our_network_key()) < MAX_AGE);
    lab.advance(Duration::from_secs(1));
    assert!(lsdb_age(&lab, &our_network_key()) < MAX_AGE, "waits for R1");

    r1_takes_over(&mut lab);
    // Our Router-LSA changed a moment ago: its flush waits for MinLSArrival.
    lab.advance(crate::originate::NEXT_INSTANCE_AFTER);
    assert_eq!(lsdb_age(&lab, &our_network_key()), MAX_AGE);
    assert_eq!(lab.our_router_lsa().header.age, MAX_AGE);
    assert!(!lab.inst.is_finished(), "waits for the acknowledgment");
}

#[test]
fn dr_handover_gives_up_at_half_of_max_wait() {
    let mut lab = dr_full_with_r1();
    lab.input(Input::Shutdown {
        max_wait: Duration::from_secs(4),
    });
    lab.advance(Duration::from_millis(1900));
    assert!(lsdb_age(&lab, &our_network_key()) < MAX_AGE);
    lab.advance(Duration::from_millis(100));
    assert_eq!(lsdb_age(&lab, &our_network_key()), MAX_AGE);
    assert_eq!(lab.our_router_lsa().header.age, MAX_AGE);
    lab.advance(Duration::from_secs(2));
    assert!(lab.inst.is_finished());
}

/// As BDR nothing waits: the DR's Network-LSA does not change when we leave.
#[test]
fn bdr_resigns_and_flushes_at_once() {
    let mut lab = full_with(R9);
    assert_eq!(lab.inst.ifaces[0].state, ism::State::Backup);
    lab.input(Input::Shutdown {
        max_wait: Duration::from_secs(3),
    });
    let sent = lab.sent();
    assert!(sent
        .iter()
        .any(|(_, p)| matches!(&p.body, Body::Hello(h) if h.priority == 0 && h.dr == R9)));
    assert_eq!(lab.inst.ifaces[0].state, ism::State::DrOther);
    assert_eq!(lab.our_router_lsa().header.age, MAX_AGE);
}

#[test]
fn shutdown_gives_up_after_max_wait() {
    let mut lab = full_with(R9);
    lab.input(Input::Shutdown {
        max_wait: Duration::from_secs(2),
    });
    lab.advance(Duration::from_secs(2));
    assert!(lab.inst.is_finished());
}

#[test]
fn inactivity_timer_and_link_down_drop_the_adjacency() {
    let mut lab = full_with(R9);
    lab.advance(Duration::from_secs(40));
    assert_eq!(lab.nbr_state(R9), None, "dead interval without Hello");
    let events: Vec<_> = lab.inst.drain_output();
    assert!(events
        .iter()
        .any(|o| matches!(o, Output::Event(crate::Event::AdjacencyLost { .. }))));

    let mut lab = full_with(R9);
    lab.input(Input::Link {
        iface: 0,
        info: None,
    });
    assert_eq!(lab.inst.ifaces[0].state, ism::State::Down);
    assert!(lab.inst.ifaces[0].neighbors.is_empty());
}

#[test]
fn neighbor_down_from_bfd_kills_the_adjacency_at_once() {
    let mut lab = full_with(R9);
    let addr = lab.inst.ifaces[0].neighbors[&R9].addr;
    let name = lab.inst.ifaces[0].cfg.name.clone();
    // Unknown interface or address: nothing happens.
    lab.input(Input::NeighborDown {
        interface: "nope".into(),
        address: addr,
        reason: "bfd".into(),
    });
    lab.input(Input::NeighborDown {
        interface: name.clone(),
        address: ip("10.9.9.9"),
        reason: "bfd".into(),
    });
    assert_eq!(lab.nbr_state(R9), Some(nsm::State::Full));
    lab.inst.drain_output();
    lab.input(Input::NeighborDown {
        interface: name,
        address: addr,
        reason: "bfd".into(),
    });
    assert_eq!(lab.nbr_state(R9), None);
    let out = lab.inst.drain_output();
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Event(crate::Event::AdjacencyLost { reason, .. }) if reason == "inactivity_timer"
    )));
}

#[test]
fn one_way_hello_drops_to_init() {
    let mut lab = full_with(R9);
    lab.hello(R9, R9, 10, R9, ME, false);
    assert_eq!(lab.nbr_state(R9), Some(nsm::State::Init));
}

#[test]
fn bad_ls_request_restarts_exchange() {
    let mut lab = full_with(R9);
    let missing = crate::packet::LsaKey {
        ls_type: 1,
        id: ip("7.7.7.7"),
        adv_rtr: ip("7.7.7.7"),
    };
    lab.rx_from(
        R9,
        R9,
        ME,
        Body::LsRequest(LsRequest {
            entries: vec![missing],
        }),
    );
    assert_eq!(lab.nbr_state(R9), Some(nsm::State::ExStart));
}

proptest! {
    /// Malformed packets (random bytes, or a valid packet with random corruption) never
    /// change state: no neighbor appears and nothing is sent.
    #[test]
    fn malformed_packets_change_nothing(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut lab = Lab::new(1, AuthConfig::None);
        lab.sent();
        let before = lab.inst.ifaces[0].state;
        lab.input(Input::Packet { iface: 0, src: R1, dst: ALL_SPF_ROUTERS, bytes });
        prop_assert!(lab.inst.ifaces[0].neighbors.is_empty());
        prop_assert_eq!(lab.inst.ifaces[0].state, before);
        prop_assert!(lab.sent().is_empty());
    }
}

#[test]
fn ls_requests_go_out_batch_after_batch() {
    let mut lab = to_exstart(R9);
    let lsas: Vec<Lsa> = (0..300u32)
        .map(|i| router_lsa(Ipv4Addr::from(0x0a01_0000 + i), 0x8000_0001, vec![]))
        .collect();
    lab.rx_from(
        R9,
        R9,
        ME,
        Body::DbDesc(DbDesc {
            mtu: 1500,
            options: OPTION_E,
            flags: FLAG_I | FLAG_M | FLAG_MS,
            seq: 9,
            lsa_headers: vec![],
        }),
    );
    lab.rx_from(
        R9,
        R9,
        ME,
        Body::DbDesc(DbDesc {
            mtu: 1500,
            options: OPTION_E,
            flags: FLAG_MS,
            seq: 10,
            lsa_headers: lsas.iter().map(|l| l.header).collect(),
        }),
    );
    assert_eq!(lab.nbr_state(R9), Some(nsm::State::Loading));
    let mut served = 0;
    for _round in 0..10 {
        let reqs: Vec<LsRequest> = lab
            .sent()
            .into_iter()
            .filter_map(|(_, p)| match p.body {
                Body::LsRequest(r) => Some(r),
                _ => None,
            })
            .collect();
        let Some(req) = reqs.last() else { break };
        let answer: Vec<Lsa> = lsas
            .iter()
            .filter(|l| req.entries.contains(&l.header.key()))
            .cloned()
            .collect();
        served += answer.len();
        lab.rx_from(R9, R9, ME, Body::LsUpdate(LsUpdate { lsas: answer }));
    }
    assert_eq!(served, 300);
    assert_eq!(
        lab.nbr_state(R9),
        Some(nsm::State::Full),
        "loaded without waiting for RxmtInterval"
    );
}

/// Retransmitted packets carry a current MD5 sequence number (a stored copy would be
/// refused by BIRD as a replay: "lower sequence number").
#[test]
fn dd_retransmission_refreshes_crypto_sequence() {
    let mut lab = Lab::new(1, AuthConfig::md5(1, "k"));
    lab.hello(R1, R1, 10, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(lab.nbr_state(R1), Some(nsm::State::ExStart));
    let dd_seqs = |lab: &mut Lab| -> Vec<u32> {
        let auth = lab.auth.clone();
        lab.inst
            .drain_output()
            .into_iter()
            .filter_map(|o| match o {
                Output::Packet { bytes, .. } => packet::decode(&bytes, &auth).ok(),
                _ => None,
            })
            .filter(|(p, _)| matches!(p.body, Body::DbDesc(_)))
            .filter_map(|(_, seq)| seq)
            .collect()
    };
    let first = dd_seqs(&mut lab);
    lab.advance(Duration::from_secs(5));
    let again = dd_seqs(&mut lab);
    assert_eq!((first.len(), again.len()), (1, 1));
    assert!(again[0] > first[0], "{again:?} after {first:?}");
}

#[test]
fn status_shows_the_prefixes_our_lsas_carry_and_counts_lsas_and_adjacencies() {
    let mut lab = full_with(R9);
    let status = lab.inst.status(lab.now);
    assert_eq!(status.in_lsdb, BTreeSet::from([vip()]));
    assert_eq!(status.counters.adjacency_changes, 1);
    assert!(status.counters.lsas_sent > 0);
    let received = status.counters.lsas_received;
    lab.rx_from(
        R9,
        R9,
        ME,
        Body::LsUpdate(LsUpdate {
            lsas: vec![router_lsa(R9, 0x8000_0001, vec![])],
        }),
    );
    assert_eq!(
        lab.inst.status(lab.now).counters.lsas_received,
        received + 1
    );
    // Withdrawn: asked for nothing, and our LSA no longer carries it.
    lab.input(Input::SetAnnounced(BTreeMap::new()));
    let status = lab.inst.status(lab.now);
    assert!(status.announced.is_empty() && status.in_lsdb.is_empty());
    // R9 does not acknowledge the new instance: it goes out again after RxmtInterval.
    let before = status.counters.lsas_retransmitted;
    lab.advance(Duration::from_secs(5));
    assert!(lab.inst.status(lab.now).counters.lsas_retransmitted > before);
    // As AS-external LSAs, too.
    lab.advance(Duration::from_secs(5));
    let many: BTreeSet<Ipv4Network> = (0..200u32)
        .map(|i| Ipv4Network::new(Ipv4Addr::from(0xc633_0000 + i), 32).unwrap())
        .collect();
    lab.input(Input::SetAnnounced(
        many.iter().map(|&prefix| (prefix, None)).collect(),
    ));
    assert_eq!(lab.inst.status(lab.now).in_lsdb, many);
    // The adjacency goes: a second change.
    lab.input(Input::Link {
        iface: 0,
        info: None,
    });
    assert_eq!(lab.inst.status(lab.now).counters.adjacency_changes, 2);
}

// ===== peering details: stub areas, passive interfaces, per-prefix metrics, key rings =====

fn stub_lab() -> Lab {
    let mut lab = Lab::with_area(1, AuthConfig::None, |a| a.stub = true);
    lab.options = 0;
    lab
}

fn hellos(sent: &[(Ipv4Addr, PacketRepr)]) -> Vec<Hello> {
    sent.iter()
        .filter_map(|(_, p)| match &p.body {
            Body::Hello(h) => Some(h.clone()),
            _ => None,
        })
        .collect()
}

fn external(id: &str, metric: u32) -> Lsa {
    let mut l = Lsa {
        header: LsaHeader {
            age: 1,
            options: OPTION_E,
            ls_type: 5,
            id: ip(id),
            adv_rtr: R9,
            seq: 0x8000_0001u32 as i32,
            checksum: 0,
            length: 0,
        },
        body: LsaBody::External(crate::packet::lsa::ExternalLsa {
            mask: ip("255.255.255.255"),
            e_bit: true,
            tos_bits: 0,
            metric,
            forwarding: Ipv4Addr::UNSPECIFIED,
            tag: 0,
            extra: vec![],
        }),
    };
    l.finalize();
    l
}

#[test]
fn stub_area_hellos_have_no_e_bit_and_need_none() {
    let mut lab = stub_lab();
    lab.advance(Duration::from_millis(1));
    let sent = hellos(&lab.sent());
    assert!(!sent.is_empty() && sent.iter().all(|h| h.options & OPTION_E == 0));
    // A router that believes the area is not stub: ignored (§10.5).
    lab.options = OPTION_E;
    lab.hello(R1, R1, 10, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(lab.drops("options_mismatch"), 1);
    assert!(lab.inst.ifaces[0].neighbors.is_empty());
    lab.options = 0;
    lab.hello(R1, R1, 10, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(lab.nbr_state(R1), Some(nsm::State::ExStart));
    // And the other way round: a normal area ignores Hellos without the E bit.
    let mut normal = Lab::new(1, AuthConfig::None);
    normal.options = 0;
    normal.hello(R1, R1, 10, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(normal.drops("options_mismatch"), 1);
}

#[test]
fn stub_area_keeps_vips_as_stub_links_and_refuses_externals() {
    let mut lab = stub_lab();
    lab.input(Input::SetVipEncoding(crate::api::VipEncoding::External));
    lab.input(Input::SetAnnounced(BTreeMap::from([(vip(), None)])));
    lab.hello(R9, R9, 10, R9, Ipv4Addr::UNSPECIFIED, true);
    let mut lab = full_from(lab, R9);
    let ours = lab.our_router_lsa();
    assert_eq!(ours.header.options & OPTION_E, 0, "no E bit in a stub area");
    assert_eq!(stub_links(&ours), vec![ip("192.0.2.1")]);
    let LsaBody::Router(body) = &ours.body else {
        panic!()
    };
    assert_eq!(
        body.flags & crate::packet::lsa::ROUTER_FLAG_E,
        0,
        "not an ASBR"
    );
    assert!(lab.inst.as_lsdb.is_empty(), "no AS-external LSA originated");
    lab.rx_from(
        R9,
        R9,
        ME,
        Body::LsUpdate(LsUpdate {
            lsas: vec![external("198.51.100.1", 20)],
        }),
    );
    assert_eq!(lab.drops("external_lsa_in_stub_area"), 1);
    assert!(lab.inst.as_lsdb.is_empty());
}

#[test]
fn passive_interface_sends_no_hello_ignores_packets_and_announces_its_subnet() {
    let mut lab = Lab::with_area(1, AuthConfig::None, |a| a.interfaces[0].passive = true);
    for _ in 0..5 {
        lab.advance(Duration::from_secs(10));
    }
    assert!(lab.sent().is_empty(), "nothing leaves a passive interface");
    assert_eq!(lab.inst.ifaces[0].state, ism::State::DrOther);
    lab.hello(R1, R1, 10, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(lab.drops("passive_interface"), 1);
    assert!(lab.inst.ifaces[0].neighbors.is_empty());
    let LsaBody::Router(body) = lab.our_router_lsa().body else {
        panic!()
    };
    let subnet = body
        .links
        .iter()
        .find(|l| l.link_type == LINK_STUB && l.id == ip("10.0.0.0"))
        .expect("the subnet as a stub link");
    assert_eq!((subnet.data, subnet.metric), (ip("255.255.255.0"), 10));
}

fn link_metrics(lsa: &Lsa) -> BTreeMap<Ipv4Addr, u16> {
    match &lsa.body {
        LsaBody::Router(r) => r
            .links
            .iter()
            .filter(|l| l.link_type == LINK_STUB && l.data == ip("255.255.255.255"))
            .map(|l| (l.id, l.metric))
            .collect(),
        _ => BTreeMap::new(),
    }
}

#[test]
fn each_prefix_carries_its_own_metric() {
    let mut lab = full_with(R9);
    let other: Ipv4Network = "192.0.2.2/32".parse().unwrap();
    lab.input(Input::SetAnnounced(BTreeMap::from([
        (vip(), Some(30)),
        (other, None),
    ])));
    lab.advance(Duration::from_secs(6));
    let metrics = link_metrics(&lab.our_router_lsa());
    assert_eq!(
        metrics,
        BTreeMap::from([(ip("192.0.2.1"), 30), (ip("192.0.2.2"), 0)])
    );
    // The instance metric moves only the prefixes without their own.
    lab.input(Input::SetMetric(5));
    lab.advance(Duration::from_secs(6));
    let metrics = link_metrics(&lab.our_router_lsa());
    assert_eq!(
        metrics,
        BTreeMap::from([(ip("192.0.2.1"), 30), (ip("192.0.2.2"), 5)])
    );
    let status = lab.inst.status(lab.now);
    assert_eq!(status.metrics.get(&vip()), Some(&30));
    // AS-external LSAs carry it too.
    lab.input(Input::SetVipEncoding(crate::api::VipEncoding::External));
    lab.advance(Duration::from_secs(6));
    let ext = lab
        .inst
        .as_lsdb
        .iter()
        .find(|(k, _)| k.id == ip("192.0.2.1"))
        .map(|(_, e)| e.lsa.body.clone());
    assert!(matches!(ext, Some(LsaBody::External(e)) if e.metric == 30));
}

#[test]
fn key_ring_accepts_every_key_and_sends_one_copy_per_key() {
    use crate::packet::auth::{Algorithm, CryptoKey, CryptoKeys};
    let ring = AuthConfig::Crypto(
        CryptoKeys::new(vec![
            CryptoKey::new(1, Algorithm::KeyedMd5, b"old"),
            CryptoKey::new(2, Algorithm::HmacSha256, b"new"),
        ])
        .unwrap(),
    );
    let mut lab = Lab::new(1, ring.clone());
    // The router still signs with the old key, then switches to the new one.
    lab.auth = AuthConfig::md5(1, "old");
    lab.hello(R1, R1, 10, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(lab.nbr_state(R1), Some(nsm::State::ExStart));
    lab.auth = AuthConfig::single(2, Algorithm::HmacSha256, "new");
    lab.hello(R1, R1, 10, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(lab.nbr_state(R1), Some(nsm::State::ExStart));
    assert!(
        lab.inst.counters.drops.is_empty(),
        "{:?}",
        lab.inst.counters.drops
    );
    // A key we do not have is refused.
    lab.auth = AuthConfig::single(3, Algorithm::HmacSha256, "new");
    lab.hello(R1, R1, 10, R1, Ipv4Addr::UNSPECIFIED, true);
    assert_eq!(lab.drops("bad_key_id"), 1);
    // Every packet goes out once per key, same sequence number: a router holding either
    // key alone finds one copy it can verify.
    lab.advance(Duration::from_secs(10));
    let sent: Vec<Vec<u8>> = lab
        .inst
        .drain_output()
        .into_iter()
        .filter_map(|o| match o {
            Output::Packet { bytes, .. } => Some(bytes),
            _ => None,
        })
        .collect();
    assert!(
        !sent.is_empty() && sent.len() % 2 == 0,
        "{} packets",
        sent.len()
    );
    let old = AuthConfig::md5(1, "old");
    let new = AuthConfig::single(2, Algorithm::HmacSha256, "new");
    let by_old: Vec<_> = sent
        .iter()
        .filter_map(|b| packet::decode(b, &old).ok())
        .collect();
    let by_new: Vec<_> = sent
        .iter()
        .filter_map(|b| packet::decode(b, &new).ok())
        .collect();
    assert_eq!(by_old.len(), sent.len() / 2);
    assert_eq!(
        by_old, by_new,
        "the same packets, the same sequence numbers"
    );
}
