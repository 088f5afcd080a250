//! Fuzz the IPVS generic-netlink attribute codec: no panic on any input, and every service,
//! real server or daemon it accepts re-encodes to something that parses to the same value.
#![no_main]

use director::dataplane::ipvs::attr::{self, AttrWriter};
use director::dataplane::tables::Family;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = attr::parse_any(data);
    let _ = attr::genl_attrs(data);
    if let Ok(s) = attr::parse_service(data) {
        let mut w = AttrWriter::new();
        attr::emit_service(&mut w, &s.spec);
        let again = attr::parse_service(&w.into_bytes()).map(|r| r.spec);
        assert_eq!(again, Ok(s.spec));
    }
    for family in [Family::Inet, Family::Inet6] {
        if let Ok(d) = attr::parse_dest(data, family) {
            let mut w = AttrWriter::new();
            attr::emit_dest(&mut w, &d.spec);
            let again = attr::parse_dest(&w.into_bytes(), family).map(|r| r.spec);
            assert_eq!(again, Ok(d.spec));
        }
    }
    if let Ok(d) = attr::parse_daemon(data) {
        let mut w = AttrWriter::new();
        attr::emit_daemon(&mut w, &d);
        assert_eq!(attr::parse_daemon(&w.into_bytes()), Ok(d));
    }
});
