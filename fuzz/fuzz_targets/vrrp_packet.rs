//! Fuzz the VRRP advert decoder (v2/v3, IPv4/IPv6) and the IP header readers: no panic on
//! any input, and every accepted advert re-emits to a message that parses identically.
#![no_main]

use std::net::IpAddr;

use director::vrrp::packet::{Family, Ipv4Header, Ipv6Header, Packet, Repr, MCAST_V4, MCAST_V6};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Ipv4Header::parse(data);
    let _ = Ipv6Header::parse(data);
    let Ok(packet) = Packet::new_checked(data) else {
        return;
    };
    for (family, src, dst) in [
        (Family::V4, IpAddr::from([10, 0, 0, 1]), IpAddr::V4(MCAST_V4)),
        (Family::V6, "fe80::1".parse().unwrap(), IpAddr::V6(MCAST_V6)),
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
});
