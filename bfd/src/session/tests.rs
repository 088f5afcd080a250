//! The session driven by a fake clock: two sessions wired back to back, and hand-made
//! packets for every reception rule.

use std::time::{Duration, Instant};

use super::*;
use crate::packet::{AuthConfig, AuthType, Diag, Packet, Repr, State};

const MS: Duration = Duration::from_millis(1);

fn cfg(ms: u64, mult: u8) -> SessionConfig {
    SessionConfig {
        min_tx: Duration::from_millis(ms),
        min_rx: Duration::from_millis(ms),
        idle_tx: SLOW_TX,
        multiplier: mult,
        auth: None,
    }
}

/// Two sessions joined by a perfect link that can be cut in either direction.
struct Pair {
    t: Instant,
    s: [Session; 2],
    /// Packets sent by each side, with the send time.
    sent: [Vec<(Instant, Repr)>; 2],
    link: [bool; 2],
    changes: [Vec<(Instant, State, State, Diag)>; 2],
}

impl Pair {
    fn new(a: SessionConfig, b: SessionConfig) -> Pair {
        let t = Instant::now();
        Pair {
            t,
            s: [Session::new(0x11, a, t, 1), Session::new(0x22, b, t, 2)],
            sent: [vec![], vec![]],
            link: [true, true],
            changes: [vec![], vec![]],
        }
    }

    fn apply(&mut self, side: usize, out: Vec<Output>) {
        for o in out {
            match o {
                Output::Send(bytes) => {
                    let r = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()).unwrap();
                    self.sent[side].push((self.t, r));
                    if self.link[side] {
                        let mut o2 = vec![];
                        let input = Input::Packet {
                            bytes: &bytes,
                            ttl: Some(255),
                        };
                        self.s[1 - side].handle(self.t, input, &mut o2);
                        self.apply(1 - side, o2);
                    }
                }
                Output::StateChange { from, to, diag } => {
                    self.changes[side].push((self.t, from, to, diag))
                }
                // Packets reaching a session in AdminDown are discarded by rule (§6.8.6).
                Output::Dropped(Drop::LocalAdminDown) => {}
                Output::Dropped(d) => panic!("side {side} dropped {d:?}"),
            }
        }
    }

    /// Advances the clock from wakeup to wakeup until `until`.
    fn run_for(&mut self, d: Duration) {
        let end = self.t + d;
        loop {
            let next = [0, 1]
                .iter()
                .filter_map(|&i| self.s[i].next_wakeup())
                .min()
                .unwrap();
            if next > end {
                self.t = end;
                return;
            }
            self.t = self.t.max(next);
            for i in 0..2 {
                if self.s[i].next_wakeup().is_some_and(|w| w <= self.t) {
                    let mut out = vec![];
                    self.s[i].handle(self.t, Input::Timer, &mut out);
                    self.apply(i, out);
                }
            }
        }
    }
}

#[test]
fn two_sessions_come_up_and_negotiate() {
    let mut p = Pair::new(cfg(100, 3), cfg(300, 3));
    p.run_for(3 * SLOW_TX);
    assert_eq!(p.s[0].state(), State::Up);
    assert_eq!(p.s[1].state(), State::Up);
    // Down → Init → Up on one side, Down → Up on the other (§6.8.6).
    let seq: Vec<_> = p.changes[1].iter().map(|c| (c.1, c.2)).collect();
    assert!(
        seq == [(State::Down, State::Init), (State::Init, State::Up)]
            || seq == [(State::Down, State::Up)],
        "{seq:?}"
    );
    // The Poll after Up was answered: no Poll pending; the slower side wins (§6.8.2).
    for s in &p.s {
        let st = s.status(p.t);
        assert!(!st.poll_pending);
        assert_eq!(st.tx_interval_us, 300_000);
        assert_eq!(st.detection_time_us, 900_000);
    }
    assert!(p.sent[0].iter().any(|(_, r)| r.poll));
    assert!(p.sent[1].iter().any(|(_, r)| r.final_));
    assert!(p.sent.iter().flatten().all(|(_, r)| !(r.poll && r.final_)));
}

#[test]
fn slow_transmission_until_up() {
    // The peer never answers: only slow packets, 0.75–1 s apart, Desired Min TX 1 s.
    let mut p = Pair::new(cfg(100, 3), cfg(100, 3));
    p.link = [false, false];
    p.run_for(20 * SLOW_TX);
    let sent = &p.sent[0];
    assert!(sent.len() >= 20 && sent.len() <= 28, "{}", sent.len());
    for w in sent.windows(2) {
        let gap = w[1].0 - w[0].0;
        assert!(gap >= 750 * MS && gap <= 1000 * MS, "{gap:?}");
        assert_eq!(w[1].1.desired_min_tx, 1_000_000);
        assert_eq!(w[1].1.state, State::Down);
        assert_eq!(w[1].1.your_discr, 0);
    }
    assert_eq!(p.s[0].state(), State::Down);
}

fn gaps_when_up(mult: u8) -> Vec<f64> {
    let mut p = Pair::new(cfg(100, mult), cfg(100, mult));
    p.run_for(3 * SLOW_TX);
    assert_eq!(p.s[0].state(), State::Up);
    let start = p.sent[0].len();
    p.run_for(60 * SLOW_TX);
    p.sent[0][start..]
        .windows(2)
        .filter(|w| !w[1].1.final_ && !w[0].1.final_)
        .map(|w| (w[1].0 - w[0].0).as_secs_f64() / 0.1)
        .collect()
}

#[test]
fn jitter_is_0_to_25_percent() {
    // §6.8.7: reduced by 0–25 %.
    let g = gaps_when_up(3);
    assert!(g.len() > 500);
    let (min, max) = g
        .iter()
        .fold((9.0f64, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(min >= 0.75 - 1e-9 && max <= 1.0 + 1e-9, "{min} {max}");
    assert!(
        min < 0.77 && max > 0.98,
        "jitter does not span the range: {min} {max}"
    );
}

#[test]
fn jitter_with_detect_mult_1_is_75_to_90_percent() {
    let g = gaps_when_up(1);
    let (min, max) = g
        .iter()
        .fold((9.0f64, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(min >= 0.75 - 1e-9 && max <= 0.90 + 1e-9, "{min} {max}");
}

#[test]
fn detection_time_expiry_goes_down_with_diag_1() {
    let mut p = Pair::new(cfg(100, 3), cfg(100, 3));
    p.run_for(3 * SLOW_TX);
    assert_eq!(p.s[0].state(), State::Up);
    // The peer dies: nothing from side 1 reaches side 0 any more.
    p.link[1] = false;
    let cut = p.t;
    let last_rx = p.sent[1].last().unwrap().0;
    p.run_for(2 * SLOW_TX);
    let down = p.changes[0].last().unwrap();
    assert_eq!(
        (down.1, down.2, down.3),
        (State::Up, State::Down, Diag::ControlDetectionTimeExpired)
    );
    // §6.8.4: 3 × max(100 ms, 100 ms) after the last packet received.
    assert_eq!(down.0 - last_rx, 300 * MS, "cut at {:?}", cut - last_rx);
    assert_eq!(p.s[0].remote_discr(), 0);
    let st = p.s[0].status(p.t);
    assert_eq!(
        st.last_down.unwrap().reason,
        "control_detection_time_expired"
    );
    // After Down: slow packets with Your Discriminator 0 (§6.8.1).
    let (_, last) = p.sent[0].last().unwrap();
    assert_eq!(
        (last.state, last.your_discr, last.desired_min_tx),
        (State::Down, 0, 1_000_000)
    );
}

#[test]
fn remote_down_and_admin_down_signal_diag_3() {
    for remote in [State::Down, State::AdminDown] {
        let mut p = Pair::new(cfg(100, 3), cfg(100, 3));
        p.run_for(3 * SLOW_TX);
        let mut out = vec![];
        let pkt = packet(remote, 0x22, 0x11, 3);
        p.s[0].handle(
            p.t,
            Input::Packet {
                bytes: &pkt,
                ttl: Some(255),
            },
            &mut out,
        );
        assert!(out.contains(&Output::StateChange {
            from: State::Up,
            to: State::Down,
            diag: Diag::NeighborSignaledSessionDown
        }));
        // The runtime tells its client whether the peer said AdminDown (RFC 5882 §3.2).
        assert_eq!(p.s[0].remote_state(), remote);
    }
    // Our own AdminDown reaches the peer as diag 3 there, and we send diag 7.
    let mut p = Pair::new(cfg(100, 3), cfg(100, 3));
    p.run_for(3 * SLOW_TX);
    let mut out = vec![];
    p.s[0].handle(p.t, Input::AdminDown, &mut out);
    p.apply(0, out);
    assert_eq!(p.s[0].state(), State::AdminDown);
    assert_eq!(p.s[1].state(), State::Down);
    let (_, last) = p.sent[0].last().unwrap();
    assert_eq!(
        (last.state, last.diag),
        (State::AdminDown, Diag::AdministrativelyDown)
    );
    let mut out = vec![];
    p.s[0].handle(p.t, Input::AdminUp, &mut out);
    p.apply(0, out);
    p.run_for(3 * SLOW_TX);
    assert_eq!(p.s[0].state(), State::Up);
}

#[test]
fn poll_is_answered_at_once_with_final() {
    let mut p = Pair::new(cfg(100, 3), cfg(100, 3));
    p.run_for(3 * SLOW_TX);
    let mut r =
        Repr::parse(&Packet::new_checked(&packet(State::Up, 0x22, 0x11, 3)[..]).unwrap()).unwrap();
    r.poll = true;
    let mut out = vec![];
    p.s[0].handle(
        p.t,
        Input::Packet {
            bytes: &r.to_bytes(),
            ttl: Some(255),
        },
        &mut out,
    );
    let Some(Output::Send(b)) = out.first() else {
        panic!("{out:?}")
    };
    let f = Repr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap();
    assert!(f.final_ && !f.poll);
}

#[test]
fn timer_change_while_up_uses_a_poll_sequence() {
    let mut p = Pair::new(cfg(100, 3), cfg(100, 3));
    p.run_for(3 * SLOW_TX);
    // Slow down side 0's TX to 500 ms; cut the return path so the Final cannot arrive.
    p.link[1] = false;
    let mut out = vec![];
    let slower = cfg(500, 3);
    p.s[0].handle(p.t, Input::Configure(&slower), &mut out);
    p.apply(0, out);
    let st = p.s[0].status(p.t);
    assert!(st.poll_pending);
    assert_eq!(st.desired_min_tx_us, 500_000);
    // §6.8.3: the increased interval must not apply before the Final.
    assert_eq!(st.tx_interval_us, 100_000);
    // Detection uses max(old, new) RequiredMinRx while the poll is open.
    assert_eq!(st.detection_time_us, 1_500_000);
    let before = p.sent[0].len();
    p.run_for(250 * MS);
    let during = &p.sent[0][before..];
    assert!(during.len() >= 2);
    assert!(
        during
            .iter()
            .all(|(_, r)| r.poll && r.desired_min_tx == 500_000),
        "{during:?}"
    );
    // Let the Final through.
    p.link[1] = true;
    p.run_for(SLOW_TX);
    let st = p.s[0].status(p.t);
    assert!(!st.poll_pending);
    assert_eq!(st.tx_interval_us, 500_000);
    assert_eq!(p.s[0].state(), State::Up);
    assert_eq!(p.s[1].status(p.t).detection_time_us, 1_500_000);
}

/// A hand-made packet from the peer (discriminator `my`, to `your`).
fn packet(state: State, my: u32, your: u32, mult: u8) -> Vec<u8> {
    Repr {
        diag: Diag::None,
        state,
        poll: false,
        final_: false,
        cpi: false,
        demand: false,
        multipoint: false,
        detect_mult: mult,
        my_discr: my,
        your_discr: your,
        desired_min_tx: 100_000,
        required_min_rx: 100_000,
        required_min_echo_rx: 0,
        auth: None,
    }
    .to_bytes()
}

/// Feeds `bytes` and asserts exactly one drop with `reason` and no other change.
fn assert_dropped(s: &mut Session, t: Instant, bytes: &[u8], ttl: Option<u8>, reason: &str) {
    let before = s.clone();
    let mut out = vec![];
    s.handle(t, Input::Packet { bytes, ttl }, &mut out);
    assert_eq!(out.len(), 1, "{reason}: {out:?}");
    let Output::Dropped(d) = out[0] else {
        panic!("{reason}: {out:?}")
    };
    assert_eq!(d.reason(), reason);
    assert_eq!(
        s.counters.drops.get(reason),
        Some(&(before.counters.drops.get(reason).unwrap_or(&0) + 1))
    );
    let mut same = s.clone();
    same.counters = before.counters.clone();
    assert_eq!(same, before, "{reason} changed state");
}

#[test]
fn every_reception_rule_drops_without_changing_state() {
    for up in [false, true] {
        let mut p = Pair::new(cfg(100, 3), cfg(100, 3));
        if up {
            p.run_for(3 * SLOW_TX);
            assert_eq!(p.s[0].state(), State::Up);
        }
        let t = p.t;
        let s = &mut p.s[0];
        let ok = packet(State::Up, 0x22, 0x11, 3);
        let mut b = ok.clone();
        b[0] = 0x40;
        assert_dropped(s, t, &b, Some(255), "bad_version");
        let mut b = ok.clone();
        b[3] = 30;
        assert_dropped(s, t, &b, Some(255), "bad_length");
        assert_dropped(s, t, &ok[..20], Some(255), "truncated");
        assert_dropped(s, t, &ok, Some(254), "ttl");
        assert_dropped(
            s,
            t,
            &packet(State::Up, 0x22, 0x11, 0),
            Some(255),
            "zero_detect_mult",
        );
        let mut b = ok.clone();
        b[1] |= crate::packet::flags::MULTIPOINT;
        assert_dropped(s, t, &b, Some(255), "multipoint");
        assert_dropped(
            s,
            t,
            &packet(State::Up, 0, 0x11, 3),
            Some(255),
            "zero_my_discriminator",
        );
        assert_dropped(
            s,
            t,
            &packet(State::Up, 0x22, 0x99, 3),
            Some(255),
            "your_discriminator_mismatch",
        );
        assert_dropped(
            s,
            t,
            &packet(State::Up, 0x22, 0, 3),
            Some(255),
            "zero_your_discriminator_state",
        );
        assert_dropped(
            s,
            t,
            &packet(State::Init, 0x22, 0, 3),
            Some(255),
            "zero_your_discriminator_state",
        );
        let sha = AuthConfig::new(AuthType::KeyedSha1, 1, b"k").unwrap();
        let mut r = Repr::parse(&Packet::new_checked(&ok[..]).unwrap()).unwrap();
        assert_dropped(s, t, &sha.sign(&mut r, 5), Some(255), "unexpected_auth");
    }
}

fn auth_pair(t: AuthType) -> Pair {
    let key = AuthConfig::new(t, 3, b"director").unwrap();
    let mut a = cfg(100, 3);
    a.auth = Some(key);
    let mut p = Pair::new(a.clone(), a);
    p.run_for(3 * SLOW_TX);
    assert_eq!(p.s[0].state(), State::Up, "{t:?}");
    assert_eq!(p.s[1].state(), State::Up, "{t:?}");
    p
}

#[test]
fn authenticated_sessions_come_up_and_refuse_bad_packets() {
    for t in [
        AuthType::SimplePassword,
        AuthType::KeyedMd5,
        AuthType::MeticulousKeyedMd5,
        AuthType::KeyedSha1,
        AuthType::MeticulousKeyedSha1,
    ] {
        let mut p = auth_pair(t);
        let now = p.t;
        let s = &mut p.s[0];
        // Unauthenticated packet on an authenticated session.
        assert_dropped(
            s,
            now,
            &packet(State::Up, 0x22, 0x11, 3),
            Some(255),
            "missing_auth",
        );
        // Wrong key, wrong key id, wrong type.
        let mut r =
            Repr::parse(&Packet::new_checked(&packet(State::Down, 0x22, 0x11, 3)[..]).unwrap())
                .unwrap();
        let seq = p.s[0].rcv_auth_seq.wrapping_add(1);
        let wrong = AuthConfig::new(t, 3, b"other").unwrap();
        let reason = if t == AuthType::SimplePassword {
            "bad_password"
        } else {
            "bad_digest"
        };
        assert_dropped(
            &mut p.s[0],
            now,
            &wrong.sign(&mut r, seq),
            Some(255),
            reason,
        );
        let id = AuthConfig::new(t, 4, b"director").unwrap();
        assert_dropped(
            &mut p.s[0],
            now,
            &id.sign(&mut r, seq),
            Some(255),
            "auth_key_id",
        );
        let other_type = if t == AuthType::KeyedSha1 {
            AuthType::KeyedMd5
        } else {
            AuthType::KeyedSha1
        };
        let ty = AuthConfig::new(other_type, 3, b"director").unwrap();
        assert_dropped(
            &mut p.s[0],
            now,
            &ty.sign(&mut r, seq),
            Some(255),
            "auth_type_mismatch",
        );
        // TTL is not checked when authentication is in use (RFC 5881 §5); a good packet
        // with TTL 64 is accepted.
        let good = AuthConfig::new(t, 3, b"director").unwrap();
        let mut up =
            Repr::parse(&Packet::new_checked(&packet(State::Up, 0x22, 0x11, 3)[..]).unwrap())
                .unwrap();
        let mut out = vec![];
        p.s[0].handle(
            now,
            Input::Packet {
                bytes: &good.sign(&mut up, seq),
                ttl: Some(64),
            },
            &mut out,
        );
        assert!(
            out.iter().all(|o| !matches!(o, Output::Dropped(_))),
            "{t:?} {out:?}"
        );
    }
}

#[test]
fn sequence_number_windows() {
    // §6.7.3/§6.7.4: meticulous needs seq in [last+1, last+3×mult], keyed [last, last+3×mult].
    for (t, same_ok) in [
        (AuthType::MeticulousKeyedMd5, false),
        (AuthType::KeyedSha1, true),
    ] {
        let mut p = auth_pair(t);
        let now = p.t;
        let key = AuthConfig::new(t, 3, b"director").unwrap();
        let last = p.s[0].rcv_auth_seq;
        let mut r =
            Repr::parse(&Packet::new_checked(&packet(State::Up, 0x22, 0x11, 3)[..]).unwrap())
                .unwrap();
        // A replay (lower number) and a jump beyond the window.
        assert_dropped(
            &mut p.s[0],
            now,
            &key.sign(&mut r, last.wrapping_sub(1)),
            Some(255),
            "auth_sequence",
        );
        assert_dropped(
            &mut p.s[0],
            now,
            &key.sign(&mut r, last.wrapping_add(10)),
            Some(255),
            "auth_sequence",
        );
        let same = key.sign(&mut r, last);
        if same_ok {
            let mut out = vec![];
            p.s[0].handle(
                now,
                Input::Packet {
                    bytes: &same,
                    ttl: None,
                },
                &mut out,
            );
            assert!(out.iter().all(|o| !matches!(o, Output::Dropped(_))));
        } else {
            assert_dropped(&mut p.s[0], now, &same, Some(255), "auth_sequence");
        }
        // The edge of the window is accepted.
        let mut out = vec![];
        p.s[0].handle(
            now,
            Input::Packet {
                bytes: &key.sign(&mut r, last.wrapping_add(9)),
                ttl: None,
            },
            &mut out,
        );
        assert!(
            out.iter().all(|o| !matches!(o, Output::Dropped(_))),
            "{t:?}"
        );
    }
    // Meticulous senders increment on every packet.
    let p = auth_pair(AuthType::MeticulousKeyedSha1);
    let seqs: Vec<u32> = p.sent[0]
        .iter()
        .map(|(_, r)| r.auth.as_ref().unwrap().seq().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
}

#[test]
fn wrong_key_never_comes_up() {
    let mut a = cfg(100, 3);
    a.auth = Some(AuthConfig::new(AuthType::KeyedSha1, 1, b"right").unwrap());
    let mut b = cfg(100, 3);
    b.auth = Some(AuthConfig::new(AuthType::KeyedSha1, 1, b"wrong").unwrap());
    let t = Instant::now();
    let mut s = [Session::new(1, a, t, 1), Session::new(2, b, t, 2)];
    let mut now = t;
    for _ in 0..20 {
        now += SLOW_TX;
        let mut out = vec![];
        s[0].handle(now, Input::Timer, &mut out);
        for o in out {
            if let Output::Send(bytes) = o {
                let mut o2 = vec![];
                s[1].handle(
                    now,
                    Input::Packet {
                        bytes: &bytes,
                        ttl: Some(255),
                    },
                    &mut o2,
                );
                assert!(matches!(
                    o2[..],
                    [Output::Dropped(Drop::Auth(AuthError::BadDigest))]
                ));
            }
        }
    }
    assert_eq!(s[1].state(), State::Down);
    assert!(s[1].counters().drops["bad_digest"] >= 10);
}

#[test]
fn fsm_table_follows_6_8_6() {
    use fsm::{transition, Event::*};
    use State::*;
    assert_eq!(transition(Down, Recv(Down)), Some((Init, Diag::None)));
    assert_eq!(transition(Down, Recv(Init)), Some((Up, Diag::None)));
    assert_eq!(transition(Down, Recv(Up)), None);
    assert_eq!(transition(Down, Recv(AdminDown)), None);
    assert_eq!(transition(Init, Recv(Up)), Some((Up, Diag::None)));
    assert_eq!(transition(Init, Recv(Down)), None);
    assert_eq!(
        transition(Up, Recv(Down)),
        Some((Down, Diag::NeighborSignaledSessionDown))
    );
    assert_eq!(
        transition(Up, Recv(AdminDown)),
        Some((Down, Diag::NeighborSignaledSessionDown))
    );
    assert_eq!(
        transition(Up, DetectionTimeExpired),
        Some((Down, Diag::ControlDetectionTimeExpired))
    );
    assert_eq!(
        transition(Init, DetectionTimeExpired),
        Some((Down, Diag::ControlDetectionTimeExpired))
    );
    assert_eq!(transition(Down, DetectionTimeExpired), None);
    assert_eq!(transition(AdminDown, Recv(Up)), None);
    assert_eq!(
        transition(Up, SetAdminDown),
        Some((AdminDown, Diag::AdministrativelyDown))
    );
    assert_eq!(transition(AdminDown, SetAdminUp), Some((Down, Diag::None)));
}

#[test]
fn local_admin_down_discards_packets() {
    let mut p = Pair::new(cfg(100, 3), cfg(100, 3));
    let mut out = vec![];
    p.s[0].handle(p.t, Input::AdminDown, &mut out);
    let t = p.t;
    assert_dropped(
        &mut p.s[0],
        t,
        &packet(State::Down, 0x22, 0, 3),
        Some(255),
        "local_admin_down",
    );
}

#[test]
fn no_periodic_transmission_when_remote_min_rx_is_zero() {
    let mut p = Pair::new(cfg(100, 3), cfg(100, 3));
    let mut r =
        Repr::parse(&Packet::new_checked(&packet(State::Down, 0x22, 0, 3)[..]).unwrap()).unwrap();
    r.required_min_rx = 0;
    let mut out = vec![];
    p.s[0].handle(
        p.t,
        Input::Packet {
            bytes: &r.to_bytes(),
            ttl: Some(255),
        },
        &mut out,
    );
    // The transition to Init still sends one packet, then nothing periodic (§6.8.7).
    p.t += 5 * SLOW_TX;
    let mut out = vec![];
    p.s[0].handle(p.t, Input::Timer, &mut out);
    assert!(out.iter().all(|o| !matches!(o, Output::Send(_))), "{out:?}");
}
