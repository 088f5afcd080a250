//! Fuzz the BFD Control packet decoder: no panic on any input, every accepted packet
//! re-encodes to its own bytes, and authentication verification never panics.
#![no_main]

use bfd::packet::{AuthConfig, AuthType, Packet, Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::new_checked(data) {
        if let Ok(repr) = Repr::parse(&p) {
            assert_eq!(repr.to_bytes(), p.packet_bytes());
            if let Some(auth) = &repr.auth {
                for t in [AuthType::SimplePassword, AuthType::MeticulousKeyedMd5, AuthType::KeyedSha1] {
                    if let Ok(cfg) = AuthConfig::new(t, 1, b"fuzz") {
                        let _ = cfg.verify(p.packet_bytes(), auth);
                    }
                }
            }
        }
    }
});
