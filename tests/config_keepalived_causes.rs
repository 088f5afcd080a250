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

#[test]
fn a_missing_include_is_skipped_with_a_warning_as_keepalived_skips_it() {
    let dir = std::env::temp_dir().join(format!("director-causes-inc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("top.conf");
    std::fs::write(
        &path,
        "global_defs {\n    router_id LB1\n}\ninclude /nonexistent/director-missing.conf\n",
    )
    .expect("write fixture");
    let result = load(&path);
    let _ = std::fs::remove_dir_all(&dir);
    let l = result.expect("keepalived runs a file whose include names no file");
    assert_eq!(l.config.global_defs.router_id.as_deref(), Some("LB1"));
    let w = warnings(&l);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].ends_with("top.conf:4:1: warning: include: /nonexistent/director-missing.conf does not exist, skipped (as keepalived does); the configuration runs without it"),
        "{w:?}"
    );
}

const NB_GET_RETRY_IGNORED: &str = "warning: nb_get_retry is ignored here as keepalived ignores it (it knows it only in HTTP_GET and SSL_GET): the retry count stays the inherited or default one, expected 'retry N' to set it";

#[test]
fn nb_get_retry_counts_only_in_http_and_ssl_get_as_in_keepalived() {
    let text = "virtual_server 10.0.0.1 80 {\n    protocol TCP\n    nb_get_retry 7\n    real_server 10.0.1.1 80 {\n        TCP_CHECK {\n            nb_get_retry 3\n        }\n        HTTP_GET {\n            url {\n                path /\n            }\n            nb_get_retry 4\n        }\n    }\n}\n";
    let l = loaded(text);
    let checkers = &l.config.virtual_servers[0].real_servers[0].checkers;
    let Checker::Tcp { common, .. } = &checkers[0] else {
        panic!("expected TCP_CHECK, got {:?}", checkers[0])
    };
    assert_eq!(
        common.retry, 1,
        "TCP_CHECK's default retry, as in keepalived"
    );
    let Checker::Http { common, .. } = &checkers[1] else {
        panic!("expected HTTP_GET, got {:?}", checkers[1])
    };
    assert_eq!(common.retry, 4, "keepalived reads nb_get_retry in HTTP_GET");
    assert_eq!(
        warnings(&l),
        [
            format!("t.conf:3:5: {NB_GET_RETRY_IGNORED}"),
            format!("t.conf:6:13: {NB_GET_RETRY_IGNORED}"),
        ]
    );
}

#[test]
fn a_virtual_server_without_protocol_is_udp_as_in_keepalived() {
    let text = "virtual_server 10.0.0.1 53 {\n    real_server 10.0.1.1 53 {\n    }\n}\n\
virtual_server fwmark 7 {\n    real_server 10.0.1.1 0 {\n    }\n}\n\
virtual_server_group G {\n    10.0.0.2 80\n}\n\
virtual_server group G {\n    real_server 10.0.1.1 80 {\n    }\n}\n";
    let l = loaded(text);
    let keys: Vec<&ServiceKey> = l.config.virtual_servers.iter().map(|v| &v.key).collect();
    assert_eq!(
        keys,
        [
            &ServiceKey::Addr {
                ip: ip("10.0.0.1"),
                port: 53,
                protocol: Protocol::Udp
            },
            &ServiceKey::Fwmark {
                mark: 7,
                family: IpFamily::Inet
            },
            &ServiceKey::Group {
                name: "G".into(),
                protocol: Protocol::Udp
            },
        ]
    );
    let said = "warning: virtual_server without 'protocol' is UDP, as in keepalived (and the kernel), expected 'protocol TCP' for a TCP service";
    assert_eq!(
        warnings(&l),
        [
            format!("t.conf:1:1: {said}"),
            format!("t.conf:12:1: {said}")
        ]
    );
}

#[test]
fn services_the_nftables_backend_cannot_express_are_load_errors() {
    let text = "director {\n    dataplane nftables\n}\n\
virtual_server 10.0.0.1 80 {\n    protocol TCP\n    lb_kind DR\n    real_server 10.0.1.1 80 {\n    }\n    real_server 10.0.1.2 8080 {\n    }\n    real_server 10.0.1.3 80 {\n        lvs_method NAT\n    }\n}\n\
virtual_server 10.0.0.2 80 {\n    protocol TCP\n    lb_kind TUN\n    real_server 10.0.1.1 80 {\n    }\n}\n\
virtual_server fwmark 3 {\n    lb_kind DR\n    real_server 10.0.1.1 0 {\n    }\n}\n";
    let e = parse_str("t.conf", text).expect_err("render.rs refuses these at every reconcile");
    let got: Vec<String> = e.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        got,
        [
            "t.conf:9:5: real_server 10.0.1.2 port 8080: DR forwarding cannot change the destination port with 'dataplane nftables', expected port 80 or 0",
            "t.conf:11:5: real_server 10.0.1.3 port 80: NAT forwarding, but the real server first at t.conf:7:5 uses DR; 'dataplane nftables' needs one forwarding method per service, expected DR",
            "t.conf:18:5: real_server 10.0.1.1 port 80: TUN forwarding is not available with 'dataplane nftables', expected NAT or DR (or 'dataplane ipvs')",
            "t.conf:23:5: real_server 10.0.1.1 port 0: DR forwarding of a fwmark service is not available with 'dataplane nftables' (marks are set after ingress), expected NAT (or 'dataplane ipvs')",
        ]
    );
    // The same services are fine for IPVS.
    let ipvs = text.replace("dataplane nftables", "dataplane ipvs");
    loaded(&ipvs);
}

#[test]
fn ipv6_vips_in_active_active_mode_are_said_to_be_unannounced() {
    let text = "ospf {\n    area 0 {\n        interface eth0\n    }\n}\n\
virtual_server 2001:db8::10 80 {\n    protocol TCP\n    real_server 2001:db8:1::1 80 {\n    }\n}\n\
virtual_server 192.0.2.10 80 {\n    protocol TCP\n    real_server 10.0.1.1 80 {\n    }\n}\n";
    let l = loaded(text);
    assert_eq!(
        warnings(&l),
        ["t.conf:6:1: warning: virtual_server Tcp [2001:db8::10]:80: its IPv6 VIPs are held on lo but never announced in active-active mode (the OSPFv2 speaker carries IPv4 only), expected routers to reach them some other way"]
    );
}
