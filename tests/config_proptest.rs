//! The configuration reader never panics: not on arbitrary bytes, not on a soup of the
//! tokens real configurations are made of (keywords, braces, quotes, comments,
//! parameters, conditionals, sequences). Errors are fine; a panic or a hang is not.

use director::config::{parse_str, parse_str_with, LoadOptions};
use proptest::prelude::*;

/// Tokens of the grammar and of the preprocessor. No `include`: the test must not read
/// files of the machine it runs on.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "{}",
    "\n",
    "\n",
    "\n",
    " ",
    "\t",
    "#",
    "!",
    "\"",
    "'",
    "\\",
    "\\\n",
    "global_defs",
    "vrrp_instance",
    "vrrp_sync_group",
    "vrrp_script",
    "virtual_server",
    "virtual_server_group",
    "real_server",
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "MISC_CHECK",
    "url",
    "path",
    "digest",
    "status_code",
    "director",
    "ospf",
    "area",
    "interface",
    "authentication",
    "auth_type",
    "auth_pass",
    "auth_key",
    "md5",
    "simple",
    "PASS",
    "virtual_ipaddress",
    "virtual_routes",
    "track_script",
    "track_interface",
    "unicast_peer",
    "static_routes",
    "static_ipaddress",
    "group",
    "fwmark",
    "weight",
    "priority",
    "virtual_router_id",
    "advert_int",
    "state",
    "MASTER",
    "BACKUP",
    "lb_algo",
    "lb_kind",
    "DR",
    "NAT",
    "TUN",
    "type",
    "gue",
    "port",
    "mh",
    "sh",
    "persistence_timeout",
    "persistence_granularity",
    "protocol",
    "UDP",
    "quorum",
    "sorry_server",
    "delay_loop",
    "connect_timeout",
    "nb_get_retry",
    "misc_path",
    "lvs_sync_daemon",
    "lvs_timeouts",
    "tcp",
    "inst",
    "id",
    "mode",
    "active-active",
    "dataplane",
    "metrics_listen",
    "maglev_table_size",
    "dead_interval",
    "hello_interval",
    "version",
    "3",
    "0",
    "1",
    "80",
    "255",
    "256",
    "65536",
    "-1",
    "0.5",
    "10.0.0.1",
    "10.0.0.1/24",
    "10.0.0.1-9",
    "2001:db8::1",
    "fe80::1/64",
    "0.0.0.0/0",
    "255.255.255.0",
    "dev",
    "eth0",
    "via",
    "src",
    "default",
    "blackhole",
    "label",
    "scope",
    "min_ttl",
    "reverse",
    "@a",
    "@^a",
    "$X=",
    "$X",
    "${X}",
    "$Y=$X$X",
    "$Y",
    "${_HASH}",
    "~SEQ(",
    "~SEQx(",
    "~LST(",
    "S,",
    "1,",
    "3)",
    "{A,B}",
    "${S}",
    ",",
    ")",
    "(",
    "é",
    "\u{0}",
    "\r",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..200).prop_map(|tokens| {
        let mut text = String::new();
        for t in tokens {
            text.push_str(t);
            if !t.ends_with('\n') && !t.ends_with('(') {
                text.push(' ');
            }
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_str("fuzz.conf", &text);
    }

    #[test]
    fn token_soup_never_panics(text in soup()) {
        let _ = parse_str("fuzz.conf", &text);
        let with_id = LoadOptions { config_id: Some("a".into()) };
        let _ = parse_str_with("fuzz.conf", &text, &with_id);
    }

    /// Every error and warning names a line of the input (or an include).
    #[test]
    fn diagnostics_point_into_the_file(text in soup()) {
        let lines = text.split('\n').count() as u32;
        let warnings = match parse_str("fuzz.conf", &text) {
            Ok(loaded) => loaded.warnings,
            Err(e) => {
                for error in &e.errors {
                    if let Some(span) = error.span() {
                        prop_assert!(span.line >= 1 && span.line <= lines, "{error}");
                        prop_assert!(span.col >= 1, "{error}");
                    }
                }
                e.warnings
            }
        };
        for w in warnings {
            prop_assert!(w.span.line >= 1 && w.span.line <= lines, "{w}");
        }
    }
}
