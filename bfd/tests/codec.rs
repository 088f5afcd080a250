//! Golden tests: real BFD Control packets captured from BIRD 2.0.12 and FRR 8.4.4 bfdd
//! (`bfd/scripts/capture.sh`, BIRD key "bfd-secret" id 7). Every packet must parse,
//! re-emit byte for byte, and every authenticated one must verify with the right key and
//! fail with a wrong one.

use bfd::packet::{Auth, AuthConfig, AuthType, Packet, Repr, State};

fn load(name: &str) -> Vec<(String, Vec<u8>)> {
    let path = format!("{}/tests/captures/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (src, hex) = l.split_once('\t').unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (src.to_string(), bytes)
        })
        .collect()
}

fn parse_all(name: &str) -> Vec<(String, Vec<u8>, Repr)> {
    let pkts = load(name);
    assert!(pkts.len() > 10, "{name}: {} packets", pkts.len());
    pkts.into_iter()
        .map(|(src, b)| {
            let p = Packet::new_checked(&b[..]).unwrap();
            let r = Repr::parse(&p).unwrap();
            assert_eq!(r.to_bytes(), b, "{name}: round trip");
            (src, b, r)
        })
        .collect()
}

#[test]
fn bird_and_frr_unauthenticated_session() {
    let pkts = parse_all("bird-frr");
    // Both sides reach Up; FRR (10.77.0.2) uses 300 ms, BIRD 100 ms.
    assert!(pkts
        .iter()
        .any(|(s, _, r)| s == "10.77.0.1" && r.state == State::Up));
    assert!(pkts
        .iter()
        .any(|(s, _, r)| s == "10.77.0.2" && r.state == State::Up));
    // Slow transmission while not Up (RFC 5880 §6.8.3): Desired Min TX 1 s.
    for (_, _, r) in pkts.iter().filter(|(_, _, r)| r.state != State::Up) {
        assert!(r.desired_min_tx >= 1_000_000, "{r:?}");
    }
    // The first packets carry Your Discriminator 0 and state Down.
    let (_, _, first) = &pkts[0];
    assert_eq!((first.state, first.your_discr), (State::Down, 0));
    // Poll/Final (§6.5): each Poll is answered by a Final from the other side.
    let polls = pkts.iter().filter(|(_, _, r)| r.poll).count();
    let finals = pkts.iter().filter(|(_, _, r)| r.final_).count();
    assert!(polls >= 2 && finals >= 2, "polls {polls} finals {finals}");
    // Nobody sets P and F together, nor A, D, M.
    for (_, _, r) in &pkts {
        assert!(!(r.poll && r.final_), "{r:?}");
        assert!(r.auth.is_none() && !r.demand && !r.multipoint, "{r:?}");
        assert_eq!(r.detect_mult, 3);
    }
}

fn check_auth(name: &str, t: AuthType) {
    let good = AuthConfig::new(t, 7, b"bfd-secret").unwrap();
    let bad = AuthConfig::new(t, 7, b"bfd-secreT").unwrap();
    let pkts = parse_all(name);
    let mut last_seq: std::collections::HashMap<String, u32> = Default::default();
    for (src, b, r) in &pkts {
        let auth = r.auth.as_ref().unwrap();
        assert_eq!(auth.auth_type(), t);
        let p = Packet::new_checked(&b[..]).unwrap();
        good.verify(p.packet_bytes(), auth).unwrap();
        assert!(bad.verify(p.packet_bytes(), auth).is_err());
        if let Auth::Crypto { seq, .. } = auth {
            if let Some(prev) = last_seq.insert(src.clone(), *seq) {
                if t.meticulous() {
                    // §6.7.3/§6.7.4: meticulous senders increment on every packet.
                    assert_eq!(*seq, prev.wrapping_add(1), "{name} {src}");
                } else {
                    assert!(seq.wrapping_sub(prev) < 1000, "{name} {src}");
                }
            }
        }
    }
}

#[test]
fn bird_simple_password() {
    check_auth("bird-simple", AuthType::SimplePassword);
}

#[test]
fn bird_keyed_md5() {
    check_auth("bird-keyed-md5", AuthType::KeyedMd5);
}

#[test]
fn bird_meticulous_keyed_md5() {
    check_auth("bird-meticulous-keyed-md5", AuthType::MeticulousKeyedMd5);
}

#[test]
fn bird_keyed_sha1() {
    check_auth("bird-keyed-sha1", AuthType::KeyedSha1);
}

#[test]
fn bird_meticulous_keyed_sha1() {
    check_auth("bird-meticulous-keyed-sha1", AuthType::MeticulousKeyedSha1);
}

/// Our signer reproduces BIRD's digest bit for bit when given BIRD's fields.
#[test]
fn our_signature_equals_birds() {
    for (name, t) in [
        ("bird-meticulous-keyed-md5", AuthType::MeticulousKeyedMd5),
        ("bird-keyed-sha1", AuthType::KeyedSha1),
    ] {
        let cfg = AuthConfig::new(t, 7, b"bfd-secret").unwrap();
        for (_, b, r) in parse_all(name).into_iter().take(5) {
            let seq = r.auth.as_ref().unwrap().seq().unwrap();
            let mut ours = r.clone();
            assert_eq!(cfg.sign(&mut ours, seq), b, "{name}");
        }
    }
}
