//! Harnesses shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`, nightly, cargo-fuzz) and
//! by the corpus replay tests (`ospf/tests/fuzz_corpus.rs`, stable): the same function runs
//! on every input, so a corpus file that once found a bug keeps checking it on stable.
//!
//! Each harness panics on a broken promise (a round trip that does not hold) and must
//! return normally for any input that is merely invalid.

use crate::packet::{self, AuthConfig, Packet, PacketRepr};

/// OSPF packet codec: `decode` never panics with any authentication; whatever
/// `PacketRepr::parse` accepts emits to the same body bytes, and the emitted packet parses
/// back to the same value (parse → emit → parse). With MD5, `encode` → `decode` holds too.
pub fn packet(data: &[u8]) {
    let _ = packet::decode(data, &AuthConfig::None);
    let md5 = AuthConfig::md5(1, "fuzz");
    let _ = packet::decode(data, &md5);
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
    assert_eq!((decoded, seq), (repr, Some(7)));
}
