//! Small fixtures for each cause found by running real keepalived.conf files through
//! `directord -t` and `keepalived -t` (issue 11): every one is a form keepalived 2.2.7
//! accepts, and director must load too, saying what it did where it differs.

use std::net::IpAddr;

use director::config::model::*;
use director::config::{load, parse_str, Loaded};

fn loaded(text: &str) -> Loaded {
    match parse_str("t.conf", text) {
        Ok(loaded) => loaded,
        Err(e) => panic!("expected a load, got\n{e}"),
    }
}

fn warnings(loaded: &Loaded) -> Vec<String> {
    loaded.warnings.iter().map(|w| w.to_string()).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

const VRRP_HEAD: &str = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.0.2.10\n    }\n";

#[test]
fn addresses_with_a_mask_or_range_lose_it_as_in_keepalived() {
    let text = format!(
        "{VRRP_HEAD}    unicast_src_ip 192.168.0.91/24\n    mcast_src_ip 192.168.0.91-95\n    unicast_peer {{\n        192.168.0.92/24\n    }}\n}}\n\
virtual_server 10.0.0.1/32 80 {{\n    protocol TCP\n    sorry_server 10.0.9.9/24 80\n    real_server 10.0.1.1/24 80 {{\n        TCP_CHECK {{\n            connect_ip 10.0.1.2/32\n        }}\n    }}\n}}\n"
    );
    let l = loaded(&text);
    let inst = &l.config.vrrp_instances[0];
    assert_eq!(inst.unicast_src_ip, Some(ip("192.168.0.91")));
    assert_eq!(inst.mcast_src_ip, Some(ip("192.168.0.91")));
    assert_eq!(inst.unicast_peer[0].address, ip("192.168.0.92"));
    let vs = &l.config.virtual_servers[0];
    assert_eq!(
        vs.key,
        ServiceKey::Addr {
            ip: ip("10.0.0.1"),
            port: 80,
            protocol: Protocol::Tcp
        }
    );
    assert_eq!(vs.sorry_server.as_ref().map(|s| s.ip), Some(ip("10.0.9.9")));
    assert_eq!(vs.real_servers[0].ip, ip("10.0.1.1"));
    assert_eq!(
        warnings(&l),
        [
            "t.conf:8:20: warning: unicast_src_ip: '/24' after the address is ignored (as keepalived does), using 192.168.0.91",
            "t.conf:9:18: warning: mcast_src_ip: '-95' after the address is ignored (as keepalived does), using 192.168.0.91",
            "t.conf:11:9: warning: unicast_peer: '/24' after the address is ignored (as keepalived does), using 192.168.0.92",
            "t.conf:14:16: warning: virtual_server: '/32' after the address is ignored (as keepalived does), using 10.0.0.1",
            "t.conf:16:18: warning: sorry_server: '/24' after the address is ignored (as keepalived does), using 10.0.9.9",
            "t.conf:17:17: warning: real_server: '/24' after the address is ignored (as keepalived does), using 10.0.1.1",
            "t.conf:19:24: warning: connect_ip: '/32' after the address is ignored (as keepalived does), using 10.0.1.2",
        ]
    );
}

#[test]
fn virtual_server_alpha_ignores_its_argument_as_keepalived_does() {
    let text = "virtual_server 10.0.0.1 80 {\n    protocol TCP\n    alpha 1\n    inhibit_on_failure off\n    real_server 10.0.1.1 80 {\n    }\n}\n";
    let l = loaded(text);
    let vs = &l.config.virtual_servers[0];
    assert!(vs.alpha);
    assert!(vs.inhibit_on_failure);
    assert_eq!(
        warnings(&l),
        [
            "t.conf:3:11: warning: alpha: argument '1' ignored, as keepalived ignores it in a virtual_server: the option is on",
            "t.conf:4:24: warning: inhibit_on_failure: argument 'off' ignored, as keepalived ignores it in a virtual_server: the option is on",
        ]
    );
}

#[test]
fn a_checker_alpha_still_reads_a_bool() {
    let text = "virtual_server 10.0.0.1 80 {\n    protocol TCP\n    real_server 10.0.1.1 80 {\n        TCP_CHECK {\n            alpha 1\n        }\n    }\n}\n";
    let e = parse_str("t.conf", text).expect_err("keepalived reports 'Invalid alpha parameter'");
    assert_eq!(
        e.errors[0].to_string(),
        "t.conf:5:19: alpha: expected on|off|true|false|yes|no or nothing, found '1'"
    );
}

#[test]
fn bytes_that_are_not_utf8_in_comments_are_fine() {
    let dir = std::env::temp_dir().join(format!("director-causes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("latin1.conf");
    // Latin-1 "é" (0xE9) in a comment, Shift-JIS bytes in another, and one in a value.
    let mut bytes =
        b"! r\xe9seau principal\nglobal_defs {\n    router_id LB1 # \x83e\x83X\x83g\n}\n".to_vec();
    bytes.extend_from_slice(b"vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.10\n    }\n    notify_master \"/bin/echo caf\xe9\"\n}\n");
    std::fs::write(&path, &bytes).expect("write fixture");
    let result = load(&path);
    let _ = std::fs::remove_dir_all(&dir);
    let l = result.expect("a file with Latin-1 and Shift-JIS comments loads");
    assert_eq!(l.config.global_defs.router_id.as_deref(), Some("LB1"));
    let w = warnings(&l);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].ends_with(":11:33: warning: bytes that are not UTF-8 outside a comment, read as U+FFFD (\u{fffd}): this token may not mean what keepalived reads"),
        "{w:?}"
    );
}

#[test]
fn multi_line_definition_goes_on_past_a_comment_ending_in_backslash() {
    let text = "$VIPS= \\\n# the service addresses \\\n        192.0.2.10 \\\n        192.0.2.11\n\
vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        $VIPS\n    }\n}\n";
    let l = loaded(text);
    let vips: Vec<IpAddr> = l.config.vrrp_instances[0]
        .virtual_ipaddress
        .iter()
        .map(|a| a.address.ip())
        .collect();
    assert_eq!(vips, [ip("192.0.2.10"), ip("192.0.2.11")]);
    assert_eq!(warnings(&l), Vec::<String>::new());
}

#[test]
fn parameters_inside_seq_numbers() {
    let text = "$FIRST=10\n$LAST=12\n\
vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        ~SEQ(n, $FIRST, $LAST) 192.0.2.$n\n    }\n}\n";
    let l = loaded(text);
    let vips: Vec<IpAddr> = l.config.vrrp_instances[0]
        .virtual_ipaddress
        .iter()
        .map(|a| a.address.ip())
        .collect();
    assert_eq!(vips, [ip("192.0.2.10"), ip("192.0.2.11"), ip("192.0.2.12")]);
}

#[test]
fn routes_via_inet6_and_default6() {
    let text = format!(
        "{VRRP_HEAD}    virtual_routes {{\n        default6 via inet6 fe80::1 dev eth0\n        inet6 default via fe80::2\n        10.9.0.0/16 via inet 192.0.2.1\n    }}\n}}\n"
    );
    let l = loaded(&text);
    let routes = &l.config.vrrp_instances[0].virtual_routes;
    assert_eq!(routes.len(), 3);
    assert_eq!(routes[0].destination.to_string(), "::/0");
    assert_eq!(routes[0].via, Some(ip("fe80::1")));
    assert_eq!(routes[0].dev.as_deref(), Some("eth0"));
    assert_eq!(routes[1].destination.to_string(), "::/0");
    assert_eq!(routes[1].via, Some(ip("fe80::2")));
    assert_eq!(routes[2].destination.to_string(), "10.9.0.0/16");
    assert_eq!(routes[2].via, Some(ip("192.0.2.1")));
    assert!(routes.iter().all(|r| r.options.is_empty()), "{routes:?}");
}

#[test]
fn garp_interval_beyond_one_second() {
    let text = "global_defs {\n    vrrp_garp_interval 5\n    vrrp_gna_interval 2.5\n}\n";
    let l = loaded(text);
    let g = &l.config.global_defs.vrrp;
    assert_eq!(g.garp_interval, std::time::Duration::from_secs(5));
    assert_eq!(g.gna_interval, std::time::Duration::from_millis(2500));
}

#[test]
fn slash_annotations_are_dropped_with_one_warning_per_line() {
    let text = "virtual_server 10.0.0.1 80 { // the web service\n    lb_kind DR // direct routing\n    protocol TCP //tcp only\n    real_server 10.0.1.1 80 {\n        // a whole line\n    }\n}\n";
    let l = loaded(text);
    let vs = &l.config.virtual_servers[0];
    assert_eq!(vs.method, ForwardingMethod::Dr);
    assert_eq!(
        warnings(&l),
        [
            "t.conf:1:30: warning: '//' is not a comment in keepalived.conf (use '#' or '!'); ignored it and the words after it on this line",
            "t.conf:2:16: warning: '//' is not a comment in keepalived.conf (use '#' or '!'); ignored it and the words after it on this line",
            "t.conf:3:18: warning: '//' is not a comment in keepalived.conf (use '#' or '!'); ignored it and the words after it on this line",
            "t.conf:5:9: warning: '//' is not a comment in keepalived.conf (use '#' or '!'); ignored it and the words after it on this line",
        ]
    );
}

#[test]
fn lower_case_lb_kind_is_read_but_said() {
    let text = "virtual_server 10.0.0.1 80 {\n    lb_kind dr\n    protocol TCP\n    real_server 10.0.1.1 80 {\n    }\n}\n";
    let l = loaded(text);
    assert_eq!(l.config.virtual_servers[0].method, ForwardingMethod::Dr);
    assert_eq!(
        warnings(&l),
        ["t.conf:2:13: warning: lb_kind: 'dr' read as DR; keepalived only knows upper case and would run this server with NAT"]
    );
}
