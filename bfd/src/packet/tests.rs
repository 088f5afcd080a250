use proptest::prelude::*;

use super::*;

fn sample() -> Repr {
    Repr {
        diag: Diag::None,
        state: State::Up,
        poll: true,
        final_: false,
        cpi: false,
        demand: false,
        multipoint: false,
        detect_mult: 3,
        my_discr: 0x0102_0304,
        your_discr: 0x0a0b_0c0d,
        desired_min_tx: 100_000,
        required_min_rx: 100_000,
        required_min_echo_rx: 0,
        auth: None,
    }
}

#[test]
fn emit_then_parse_without_auth() {
    let r = sample();
    let b = r.to_bytes();
    assert_eq!(b.len(), 24);
    assert_eq!(b[0], 0x20); // version 1, diag 0
    assert_eq!(b[1], 0xe0); // Up, P
    assert_eq!(b[3], 24);
    let p = Packet::new_checked(&b[..]).unwrap();
    assert_eq!(Repr::parse(&p).unwrap(), r);
}

#[test]
fn length_rules_of_6_8_6() {
    let mut b = sample().to_bytes();
    b[3] = 23;
    assert_eq!(
        Packet::new_checked(&b[..]).unwrap_err(),
        DecodeError::BadLength(23)
    );
    b[3] = 25; // more than received
    assert_eq!(
        Packet::new_checked(&b[..]).unwrap_err(),
        DecodeError::BadLength(25)
    );
    b[3] = 24;
    b[1] |= flags::AUTH; // A bit needs at least 26
    assert_eq!(
        Packet::new_checked(&b[..]).unwrap_err(),
        DecodeError::BadLength(24)
    );
    let mut v = sample().to_bytes();
    v[0] = 0x40; // version 2
    let p = Packet::new_checked(&v[..]).unwrap();
    assert_eq!(Repr::parse(&p).unwrap_err(), DecodeError::BadVersion(2));
    assert!(matches!(
        Packet::new_checked(&v[..10]),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn trailing_udp_padding_is_not_part_of_the_packet() {
    let mut b = sample().to_bytes();
    b.extend_from_slice(&[0, 0, 0, 0]);
    let p = Packet::new_checked(&b[..]).unwrap();
    assert_eq!(Repr::parse(&p).unwrap(), sample());
    assert_eq!(p.packet_bytes().len(), 24);
}

#[test]
fn every_auth_type_signs_and_verifies() {
    for (t, key) in [
        (AuthType::SimplePassword, &b"pw"[..]),
        (AuthType::KeyedMd5, b"md5-key"),
        (AuthType::MeticulousKeyedMd5, b"0123456789abcdef"),
        (AuthType::KeyedSha1, b"sha1"),
        (AuthType::MeticulousKeyedSha1, b"01234567890123456789"),
    ] {
        let cfg = AuthConfig::new(t, 9, key).unwrap();
        let mut r = sample();
        let bytes = cfg.sign(&mut r, 77);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        let parsed = Repr::parse(&p).unwrap();
        assert_eq!(parsed, r, "{t:?}");
        assert_eq!(parsed.to_bytes(), bytes);
        let auth = parsed.auth.as_ref().unwrap();
        assert_eq!(auth.seq(), (t != AuthType::SimplePassword).then_some(77));
        cfg.verify(p.packet_bytes(), auth).unwrap();
        // Wrong key, wrong key id, wrong type, one flipped bit.
        let other = AuthConfig::new(t, 9, b"other").unwrap();
        assert!(other.verify(p.packet_bytes(), auth).is_err());
        let id = AuthConfig::new(t, 8, key).unwrap();
        assert_eq!(id.verify(p.packet_bytes(), auth), Err(AuthError::KeyId(9)));
        if t != AuthType::SimplePassword {
            let mut flipped = bytes.clone();
            flipped[13] ^= 1; // Desired Min TX
            let fp = Packet::new_checked(&flipped[..]).unwrap();
            let fr = Repr::parse(&fp).unwrap();
            assert_eq!(
                cfg.verify(fp.packet_bytes(), fr.auth.as_ref().unwrap()),
                Err(AuthError::BadDigest)
            );
        }
    }
    let md5 = AuthConfig::new(AuthType::KeyedMd5, 1, b"k").unwrap();
    let sha = AuthConfig::new(AuthType::KeyedSha1, 1, b"k").unwrap();
    let mut r = sample();
    let b = md5.sign(&mut r, 1);
    assert_eq!(
        sha.verify(&b, r.auth.as_ref().unwrap()),
        Err(AuthError::TypeMismatch { got: 2 })
    );
}

#[test]
fn key_lengths_are_checked() {
    assert!(AuthConfig::new(AuthType::SimplePassword, 1, b"").is_err());
    assert!(AuthConfig::new(AuthType::SimplePassword, 1, &[b'x'; 17]).is_err());
    assert!(AuthConfig::new(AuthType::KeyedMd5, 1, &[b'x'; 16]).is_ok());
    assert!(AuthConfig::new(AuthType::KeyedMd5, 1, &[b'x'; 17]).is_err());
    assert!(AuthConfig::new(AuthType::KeyedSha1, 1, &[b'x'; 20]).is_ok());
    assert!(AuthConfig::new(AuthType::KeyedSha1, 1, &[b'x'; 21]).is_err());
}

#[test]
fn malformed_auth_sections() {
    let mut r = sample();
    r.auth = Some(Auth::Simple {
        key_id: 1,
        password: b"abc".to_vec(),
    });
    let good = r.to_bytes();
    let mut b = good.clone();
    b[24] = 9; // unknown type
    let p = Packet::new_checked(&b[..]).unwrap();
    assert_eq!(
        Repr::parse(&p).unwrap_err(),
        DecodeError::UnknownAuthType(9)
    );
    let mut b = good.clone();
    b[25] = 5; // Auth Len disagrees with Length
    let p = Packet::new_checked(&b[..]).unwrap();
    assert!(matches!(
        Repr::parse(&p),
        Err(DecodeError::BadAuthLength { .. })
    ));
    let mut b = good;
    b[24] = 2; // MD5 needs Auth Len 24
    let p = Packet::new_checked(&b[..]).unwrap();
    assert!(matches!(
        Repr::parse(&p),
        Err(DecodeError::BadAuthLength { .. })
    ));
}

proptest! {
    /// Any bytes: no panic; whatever parses re-emits to the same bytes.
    #[test]
    fn arbitrary_bytes_round_trip(data in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(p) = Packet::new_checked(&data[..]) {
            if let Ok(r) = Repr::parse(&p) {
                prop_assert_eq!(r.to_bytes(), p.packet_bytes().to_vec());
            }
        }
    }

    /// Mostly-valid packets (version 1, sane Length): exercises the auth parsers.
    #[test]
    fn near_valid_round_trip(
        head in proptest::collection::vec(any::<u8>(), 24),
        auth_type in 0u8..7,
        body in proptest::collection::vec(any::<u8>(), 0..30),
        with_auth: bool,
    ) {
        let mut data = head;
        data[0] = (data[0] & 0x1f) | 0x20;
        if with_auth {
            data[1] |= flags::AUTH;
            data.push(auth_type);
            data.push((body.len() + 2) as u8);
            data.extend_from_slice(&body);
        } else {
            data[1] &= !flags::AUTH;
        }
        data[3] = data.len() as u8;
        let p = Packet::new_checked(&data[..]).unwrap();
        if let Ok(r) = Repr::parse(&p) {
            prop_assert_eq!(r.to_bytes(), data);
        }
    }
}
