//! Fuzz the OSPF packet decoder: no panic on any input, and every accepted packet
//! re-encodes to its own bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ospf::packet::{self, AuthConfig, Packet, PacketRepr};

fuzz_target!(|data: &[u8]| {
    let _ = packet::decode(data, &AuthConfig::None);
    let _ = packet::decode(data, &AuthConfig::md5(1, "fuzz"));
    if let Ok(p) = Packet::new_checked(data) {
        if let Ok(repr) = PacketRepr::parse(&p) {
            let mut out = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut out[..]));
            assert_eq!(&out[24..], &p.packet_bytes()[24..]);
        }
    }
});
