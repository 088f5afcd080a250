//! Malformed configurations: one test per error class, asserting the exact
//! `file:line:col: message`, that every error of a file is reported in one run, and the
//! semantic warnings.

use director::config::{parse_str, Loaded};

fn errors(text: &str) -> Vec<String> {
    match parse_str("t.conf", text) {
        Ok(loaded) => panic!(
            "expected errors, loaded with warnings {:?}",
            loaded
                .warnings
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
        ),
        Err(e) => e.errors.iter().map(|e| e.to_string()).collect(),
    }
}

fn warnings(text: &str) -> Vec<String> {
    match parse_str("t.conf", text) {
        Ok(Loaded { warnings, .. }) => warnings.iter().map(|w| w.to_string()).collect(),
        Err(e) => panic!("expected a load, got\n{e}"),
    }
}

const VS_HEAD: &str = "virtual_server 10.0.0.1 80 {\n";

#[test]
fn unbalanced_closing_brace() {
    let text = "global_defs {\n    router_id a\n}\n}\n";
    assert_eq!(
        errors(text),
        ["t.conf:4:1: unbalanced '}': no block is open here"]
    );
}

#[test]
fn block_never_closed() {
    let text = "global_defs {\n    router_id a\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        10.0.0.1\n    }\n";
    assert_eq!(
        errors(text),
        ["t.conf:4:1: 'vrrp_instance' block is never closed, expected '}' before the end of the file"]
    );
}

#[test]
fn block_not_closed_before_the_next_one() {
    let text = format!("{VS_HEAD}    real_server 10.1.0.1 80 {{\n        weight 1\n\nvirtual_server 10.0.0.2 80 {{\n}}\n");
    assert_eq!(
        errors(&text),
        ["t.conf:1:1: 'virtual_server' block is not closed before 'virtual_server' at line 5, expected '}'"]
    );
}

#[test]
fn brace_without_keyword() {
    assert_eq!(
        errors("{\n}\n"),
        ["t.conf:1:1: '{' without a keyword before it, expected 'keyword {'"]
    );
}

#[test]
fn value_of_the_wrong_type() {
    let text =
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    priority high\n}\n";
    assert_eq!(
        errors(text),
        ["t.conf:4:14: priority: expected an integer from 1 to 255, found 'high'"]
    );
    let text = format!("{VS_HEAD}    delay_loop soon\n}}\n");
    assert_eq!(
        errors(&text),
        ["t.conf:2:16: delay_loop: expected a time in seconds from 0 to 86400, found 'soon'"]
    );
    let text = "global_defs {\n    vrrp_strict maybe\n}\n";
    assert_eq!(
        errors(text),
        ["t.conf:2:17: vrrp_strict: expected on|off|true|false|yes|no or nothing, found 'maybe'"]
    );
    let text = format!("{VS_HEAD}    lb_kind FAST\n}}\n");
    assert_eq!(
        errors(&text),
        ["t.conf:2:13: lb_kind: expected NAT|DR|TUN, found 'FAST'"]
    );
}

#[test]
fn value_out_of_range() {
    let text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 256\n}\n";
    assert_eq!(
        errors(text),
        ["t.conf:3:23: virtual_router_id: expected an integer from 1 to 255, found '256'"]
    );
}

#[test]
fn missing_value() {
    let text = "global_defs {\n    router_id\n}\n";
    assert_eq!(
        errors(text),
        ["t.conf:2:5: router_id: missing value, expected a router name"]
    );
}

#[test]
fn bad_ip_address() {
    assert_eq!(
        errors("virtual_server 10.0.0.300 80 {\n}\n"),
        ["t.conf:1:16: virtual_server: expected an IP address, found '10.0.0.300'"]
    );
    let text = format!("{VS_HEAD}    real_server 10.1.0 80 {{\n    }}\n}}\n");
    assert_eq!(
        errors(&text),
        ["t.conf:2:17: real_server: expected an IP address, found '10.1.0'"]
    );
    let text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        192.168.1.256/24 dev eth0\n    }\n}\n";
    assert_eq!(
        errors(text),
        ["t.conf:5:9: expected an IP address with an optional /prefix-length, found '192.168.1.256/24'"]
    );
}

#[test]
fn port_out_of_range() {
    let text = format!("{VS_HEAD}    real_server 10.1.0.1 70000 {{\n    }}\n}}\n");
    assert_eq!(
        errors(&text),
        ["t.conf:2:26: real_server: expected a port number from 0 to 65535, found '70000'"]
    );
    assert_eq!(
        errors("virtual_server 10.0.0.1 -1 {\n}\n"),
        ["t.conf:1:25: virtual_server: expected a port number from 0 to 65535, found '-1'"]
    );
}

#[test]
fn real_server_outside_virtual_server() {
    assert_eq!(
        errors("real_server 10.1.0.1 80 {\n    weight 1\n}\n"),
        ["t.conf:1:1: 'real_server' is not valid at the top level, expected it inside a virtual_server block"]
    );
    let text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    real_server 10.1.0.1 80 {\n    }\n}\n";
    assert_eq!(
        errors(text),
        ["t.conf:4:5: 'real_server' is not valid in vrrp_instance, expected it inside a virtual_server block"]
    );
    let text = format!("{VS_HEAD}    TCP_CHECK {{\n    }}\n}}\n");
    assert_eq!(
        errors(&text),
        ["t.conf:2:5: 'TCP_CHECK' is not valid in virtual_server, expected it inside a real_server block"]
    );
}

#[test]
fn duplicate_virtual_servers() {
    let text = "virtual_server 10.0.0.1 80 {\n}\nvirtual_server 10.0.0.1 80 {\n    protocol TCP\n}\nvirtual_server 10.0.0.1 80 {\n    protocol UDP\n}\n";
    assert_eq!(
        errors(text),
        // Without 'protocol' the first is UDP, as in keepalived: the third repeats it.
        ["t.conf:6:1: duplicate virtual_server Udp 10.0.0.1:80 (first at t.conf:1:1), expected each service once"]
    );
}

#[test]
fn duplicate_real_servers() {
    let text = format!("{VS_HEAD}    real_server 10.1.0.1 80\n    real_server 10.1.0.2 80\n    real_server 10.1.0.1 80\n}}\n");
    assert_eq!(
        errors(&text),
        ["t.conf:4:5: duplicate real_server 10.1.0.1 port 80 in virtual_server Udp 10.0.0.1:80 (first at t.conf:2:5), expected each real server once"]
    );
}

#[test]
fn duplicate_vrrp_instances_and_vrids() {
    let instance = |name: &str, vrid: u8, iface: &str| {
        format!("vrrp_instance {name} {{\n    interface {iface}\n    virtual_router_id {vrid}\n    virtual_ipaddress {{\n        10.0.0.{vrid}\n    }}\n}}\n")
    };
    let text = instance("A", 1, "eth0") + &instance("A", 2, "eth0");
    assert_eq!(
        errors(&text),
        ["t.conf:8:1: duplicate vrrp_instance 'A' (first at t.conf:1:1), expected unique names"]
    );
    let text = instance("A", 7, "eth0") + &instance("B", 7, "eth1") + &instance("C", 7, "eth0");
    assert_eq!(
        errors(&text),
        ["t.conf:17:23: virtual_router_id 7 on eth0 is already used by vrrp_instance 'A' (first at t.conf:1:1), expected a VRID unique per interface and family"]
    );
}

/// The checks the VRRP module makes at start are config errors with a place, so that
/// `-t` refuses what the daemon would refuse (issue 11).
#[test]
fn vrrp_start_checks_are_config_errors() {
    let head = "vrrp_instance V {\n    virtual_router_id 9\n";
    let vips = "    virtual_ipaddress {\n        10.0.0.9\n    }\n";
    let text = format!("{head}    interface eth0\n    authentication {{\n        auth_type AH\n        auth_pass secret\n    }}\n{vips}}}\n");
    assert_eq!(
        errors(&text),
        ["t.conf:4:5: vrrp_instance 'V': auth_type AH is not supported by director, expected auth_type PASS or no authentication"]
    );
    let text = format!("{head}    unicast_peer {{\n        10.0.0.2\n    }}\n{vips}}}\n");
    assert_eq!(
        errors(&text),
        ["t.conf:1:1: vrrp_instance 'V' has no interface, expected 'interface IFNAME' (director needs one also for unicast instances) or a global default_interface"]
    );
    let text = format!(
        "{head}    interface eth0\n    unicast_peer {{\n        2001:db8::2\n    }}\n{vips}}}\n"
    );
    assert_eq!(
        errors(&text),
        ["t.conf:4:5: vrrp_instance 'V': unicast_peer 2001:db8::2 is not of the instance's family, expected an IPv4 address"]
    );
    // Disjoint unicast peers do not make a shared VRID work: adverts are handed to the
    // instance of (interface, family, VRID).
    let instance = |name: &str, peer: &str| {
        format!("vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id 7\n    unicast_peer {{\n        {peer}\n    }}\n    virtual_ipaddress {{\n        10.0.0.7\n    }}\n}}\n")
    };
    let text = instance("A", "10.0.0.2") + &instance("B", "10.0.0.3");
    assert_eq!(
        errors(&text),
        ["t.conf:13:23: virtual_router_id 7 on eth0 is already used by vrrp_instance 'A' (first at t.conf:1:1), expected a VRID unique per interface and family"]
    );
}

/// A track_script or sync group member naming nothing is ignored by the daemon as by
/// keepalived, matching the warning `-t` gives.
#[test]
fn what_validation_ignores_the_vrrp_module_ignores() {
    let text = "vrrp_sync_group G {\n    group {\n        V\n        W\n    }\n}\nvrrp_instance V {\n    interface eth0\n    virtual_router_id 9\n    track_script {\n        nothing\n    }\n    virtual_ipaddress {\n        10.0.0.9\n    }\n}\n";
    let loaded = director::config::parse_str("t.conf", text).expect("loads with warnings");
    assert!(loaded.warnings.iter().any(|w| w
        .message
        .contains("track_script 'nothing' names no vrrp_script, ignored")));
    let settings = director::vrrp::settings::Settings::from_config(&loaded.config)
        .expect("the daemon takes what -t passes");
    assert!(settings.instances[0].track_scripts.is_empty());
    assert_eq!(settings.sync_groups[0].members, ["V"]);
}

#[test]
fn instance_in_two_sync_groups() {
    let text = "vrrp_sync_group G1 {\n    group {\n        A\n        B\n    }\n}\nvrrp_sync_group G2 {\n    group {\n        A\n        B\n    }\n}\nvrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\nvrrp_instance B {\n    interface eth0\n    virtual_router_id 2\n    virtual_ipaddress {\n        10.0.0.2\n    }\n}\n";
    assert_eq!(
        errors(text),
        [
            "t.conf:9:9: vrrp_instance 'A' is already in vrrp_sync_group 'G1' (first at t.conf:3:9), expected one group per instance",
            "t.conf:10:9: vrrp_instance 'B' is already in vrrp_sync_group 'G1' (first at t.conf:4:9), expected one group per instance",
        ]
    );
}

#[test]
fn unknown_virtual_server_group() {
    assert_eq!(
        errors("virtual_server group NOPE {\n}\n"),
        ["t.conf:1:1: virtual_server group 'NOPE': no virtual_server_group of that name, expected one to be defined"]
    );
}

#[test]
fn portless_virtual_server_must_be_persistent() {
    assert_eq!(
        errors("virtual_server 10.0.0.1 {\n    lb_kind DR\n}\n"),
        ["t.conf:1:1: virtual_server without a port must be persistent, expected a port or persistence_timeout"]
    );
}

#[test]
fn unterminated_quoted_string() {
    let text = "vrrp_script chk {\n    script \"/bin/check --fast\n}\n";
    assert_eq!(
        errors(text),
        [
            "t.conf:1:1: vrrp_script 'chk' has no 'script', expected one",
            "t.conf:2:12: unterminated quoted string, expected a closing quote",
        ]
    );
}

#[test]
fn statement_given_a_block_and_block_given_no_block() {
    let text =
        "global_defs {\n    router_id {\n    }\n    notification_email admin@example.com\n}\n";
    assert_eq!(
        errors(text),
        [
            "t.conf:2:5: router_id: unexpected block, expected a plain statement",
            "t.conf:2:5: router_id: missing value, expected a router name",
            "t.conf:4:5: notification_email: expected a block '{ … }'",
        ]
    );
}

#[test]
fn checker_problems() {
    let text = format!("{VS_HEAD}    real_server 10.1.0.1 80 {{\n        MISC_CHECK {{\n            misc_timeout 3\n        }}\n        HTTP_GET {{\n            url {{\n                digest abc\n            }}\n        }}\n    }}\n}}\n");
    assert_eq!(
        errors(&text),
        [
            "t.conf:3:9: MISC_CHECK has no misc_path, expected the script to run",
            "t.conf:7:13: url block without 'path', expected e.g. 'path /'",
            "t.conf:8:24: digest: expected an MD5 digest (32 hex digits), found 'abc'",
        ]
    );
}

#[test]
fn director_and_ospf_problems() {
    assert_eq!(
        errors("director {\n    mode active-active\n}\n"),
        ["t.conf:2:5: mode active-active announces VIPs with OSPF, expected an ospf block"]
    );
    assert_eq!(
        errors("director {\n    metrics_listen localhost\n}\n"),
        ["t.conf:2:20: metrics_listen: expected ADDR:PORT (IPv6 as [ADDR]:PORT), found 'localhost'"]
    );
    assert_eq!(
        errors("director {\n    maglev_table_size 1000\n}\n"),
        ["t.conf:2:23: maglev_table_size: expected auto or a prime from 3 to 1048573 (e.g. 1009, 4093, 65537), found '1000'"]
    );
    assert_eq!(
        errors("virtual_server 10.0.0.1 80 {\n    protocol TCP\n    maglev_table_size 2000003\n}\n"),
        ["t.conf:3:23: maglev_table_size: expected auto or a prime from 3 to 1048573 (e.g. 1009, 4093, 65537), found '2000003'"]
    );
    let text = "ospf {\n    router_id 0.0.0.0\n    area 0 {\n        interface eth0 {\n            hello_interval 10\n            dead_interval 10\n        }\n    }\n    area backbone {\n    }\n}\n";
    assert_eq!(
        errors(text),
        [
            "t.conf:2:15: router_id: expected a router ID other than 0.0.0.0, found '0.0.0.0'",
            "t.conf:4:9: interface eth0: dead_interval 10 must be longer than hello_interval 10",
            "t.conf:9:10: area: expected an area ID (A.B.C.D or a decimal number), found 'backbone'",
        ]
    );
}

#[test]
fn vrrp_timing_problems() {
    let text = "vrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n    advert_int 0.5\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n";
    assert_eq!(
        errors(text),
        ["t.conf:4:16: advert_int 0.5 s: VRRPv2 advertises whole seconds, expected 1 to 255 (or version 3)"]
    );
    let with_v3 = text.replace("advert_int 0.5", "advert_int 41\n    version 3");
    assert_eq!(
        errors(&with_v3),
        ["t.conf:4:16: advert_int 41 s: VRRPv3 expected 0.01 to 40.95 s"]
    );
}

#[test]
fn unreadable_include_is_an_error() {
    // A missing one is skipped with a warning, as keepalived skips it (config_keepalived_causes).
    assert_eq!(
        errors("include /\n"),
        ["t.conf:1:1: cannot read included file /: Is a directory (os error 21)"]
    );
}

#[test]
fn every_error_of_a_file_is_reported() {
    let text = "\
global_defs {
    smtp_connect_timeout never
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 0
    virtual_ipaddress {
        10.0.0.1/33
    }
}
virtual_server 10.0.0.1 80 {
    lb_algo magic
    real_server 10.1.0.1 99999
}
real_server 10.1.0.2 80
}
";
    assert_eq!(
        errors(text),
        [
            "t.conf:2:26: smtp_connect_timeout: expected a time in seconds from 0 to 3600, found 'never'",
            "t.conf:7:14: priority: expected an integer from 1 to 255, found '0'",
            "t.conf:9:9: expected an IP address with an optional /prefix-length, found '10.0.0.1/33'",
            "t.conf:13:13: lb_algo: expected rr|wrr|lc|wlc|lblc|lblcr|dh|sh|mh|sed|nq|fo|ovf|twos, found 'magic'",
            "t.conf:14:26: real_server: expected a port number from 0 to 65535, found '99999'",
            "t.conf:16:1: 'real_server' is not valid at the top level, expected it inside a virtual_server block",
            "t.conf:17:1: unbalanced '}': no block is open here",
        ]
    );
}

#[test]
fn errors_display_together() {
    let e = parse_str("t.conf", "}\n}\n").expect_err("two errors");
    assert_eq!(
        e.to_string(),
        "t.conf:1:1: unbalanced '}': no block is open here\nt.conf:2:1: unbalanced '}': no block is open here"
    );
}

// ───────────────────────────── warnings ─────────────────────────────

#[test]
fn semantic_warnings() {
    let text = "\
vrrp_sync_group G {
    group {
        VI_1
        VI_GONE
    }
}
vrrp_instance VI_1 {
    state MASTER
    nopreempt
    interface eth0
    virtual_router_id 1
    priority 100
    priority 101
    virtual_ipaddress {
        10.0.0.1
        2001:db8::1
    }
    track_script {
        chk_missing weight 10
    }
}
virtual_server 10.0.0.1 80 {
    lb_algo mh
    sh-port
    quorum 5
    real_server 10.1.0.1 80
}
";
    assert_eq!(
        warnings(text),
        [
            "t.conf:1:1: warning: vrrp_sync_group 'G' has a single member; a sync group synchronises several instances",
            "t.conf:4:9: warning: vrrp_sync_group 'G' names no vrrp_instance 'VI_GONE', ignored",
            "t.conf:9:5: warning: vrrp_instance 'VI_1': nopreempt has no effect with state MASTER, expected state BACKUP",
            "t.conf:13:5: warning: 'priority' given twice in vrrp_instance (first at line 12), the last one wins",
            "t.conf:16:9: warning: vrrp_instance 'VI_1': 2001:db8::1/128 is not of the family of the first address; keepalived ignores it, use virtual_ipaddress_excluded",
            "t.conf:19:9: warning: track_script 'chk_missing' names no vrrp_script, ignored (as keepalived does)",
            "t.conf:22:1: warning: virtual_server without 'protocol' is UDP, as in keepalived (and the kernel), expected 'protocol TCP' for a TCP service",
            "t.conf:23:13: warning: sh-port/sh-fallback only apply to the sh scheduler, not mh",
            "t.conf:25:12: warning: quorum 5 can never be reached: the real servers' weights add up to 1",
        ]
    );
}

#[test]
fn extra_arguments_warn() {
    let text = "vrrp_instance VI_1 {\n    interface eth0 eth1\n    virtual_router_id 1\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n";
    assert_eq!(
        warnings(text),
        ["t.conf:2:20: warning: interface: ignoring unexpected extra argument 'eth1'"]
    );
}

// ───────────────────────────── checkers beyond TCP/HTTP/MISC ─────────────────────────────

#[test]
fn track_file_and_file_check_problems() {
    let text = "\
track_file tf {
    weight 2
}
track_file ok {
    file /run/ok
    init_file maybe
}
track_file ok {
    file /run/again
}
virtual_server 10.0.0.1 80 {
    real_server 10.1.0.1 80 {
        FILE_CHECK {
            track_file later
            weight 5 sideways
        }
        FILE_CHECK {
        }
        FILE_CHECK {
            track_file tf
        }
    }
}
track_file later {
    file /run/later
}
";
    assert_eq!(
        errors(text),
        [
            "t.conf:1:1: track_file 'tf' has no 'file', expected file \"PATH\"",
            "t.conf:6:15: init_file: expected a value from -2147483648 to 2147483647 or 'overwrite', found 'maybe'",
            "t.conf:8:1: track_file 'ok' defined twice (first at line 4), expected unique names",
            "t.conf:14:24: track_file: no track_file block 'later' before this line, expected the name of a top-level track_file defined above",
            "t.conf:15:22: weight: expected reverse|noreverse, found 'sideways'",
            "t.conf:17:9: FILE_CHECK has no track_file, expected 'track_file NAME' naming a track_file block",
        ]
    );
}

#[test]
fn dns_udp_and_ssl_problems() {
    let text = format!(
        "{VS_HEAD}    real_server 10.1.0.1 80 {{
        DNS_CHECK {{
            type SRV
            name a..b
        }}
        UDP_CHECK {{
            payload 01 0x2
            require_reply 0g
            max_reply_length 70000
        }}
        SSL_GET {{
            url {{
                path /
            }}
            verify_ca /nonexistent/director-ca.pem
        }}
    }}
}}
"
    );
    let errors = errors(&text);
    assert_eq!(
        errors[..5],
        [
            "t.conf:4:18: type: expected A|NS|CNAME|SOA|MX|TXT|AAAA, found 'SRV'",
            "t.conf:5:18: name: expected a domain name of labels of 1 to 63 characters (no empty label), at most 255 bytes, found 'a..b'",
            "t.conf:8:24: payload: expected hex digits (e.g. '0a1b 2c'), found '0x2'",
            "t.conf:9:27: require_reply: expected hex digits, X for an ignored digit (e.g. '0a1b X2'), found '0g'",
            "t.conf:10:30: max_reply_length: expected an integer from 0 to 65535, found '70000'",
        ]
    );
    assert_eq!(errors.len(), 6);
    assert!(
        errors[5].starts_with(
            "t.conf:16:23: verify_ca: cannot read '/nonexistent/director-ca.pem' (No such file"
        ) && errors[5].ends_with("), expected a readable file of CA certificates"),
        "{}",
        errors[5]
    );
}

#[test]
fn verify_ca_must_be_a_readable_file() {
    let dir = std::env::temp_dir().join(format!("director-verify-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, "not parsed at load\n").expect("temp file");
    let checker = |path: &std::path::Path| {
        format!(
            "{VS_HEAD}    real_server 10.1.0.1 80 {{\n        SSL_GET {{\n            url {{\n                path /\n            }}\n            verify_ca {}\n        }}\n    }}\n}}\n",
            path.display()
        )
    };
    let loaded = match parse_str("t.conf", &checker(&ca)) {
        Ok(loaded) => loaded,
        Err(e) => panic!("{e}"),
    };
    let rs = &loaded.config.virtual_servers[0].real_servers[0];
    let director::config::model::Checker::Ssl { tls, .. } = &rs.checkers[0] else {
        panic!("expected SSL_GET")
    };
    assert_eq!(tls.verify_ca.as_deref(), Some(ca.as_path()));
    assert_eq!(
        errors(&checker(&dir)),
        [format!(
            "t.conf:7:23: verify_ca: cannot read '{}' (not a regular file), expected a readable file of CA certificates",
            dir.display()
        )]
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn checker_warnings() {
    let text = "\
track_file tf {
    file /run/tf
    weight 4
}
vrrp_track_file old {
    file /run/old
}
virtual_server 10.0.0.1 53 {
    real_server 10.1.0.1 53 {
        UDP_CHECK {
            require_reply
            min_reply_length 300
        }
        FILE_CHECK {
            track_file tf
            weight 0
            connect_ip 10.9.9.9
        }
        DNS_CHECK {
            retries 3
        }
        BFD_CHECK {
            name bfd_1
        }
    }
}
";
    assert_eq!(
        warnings(text),
        [
            "t.conf:5:1: warning: 'vrrp_track_file' is a deprecated synonym of 'track_file', read as one",
            "t.conf:8:1: warning: virtual_server without 'protocol' is UDP, as in keepalived (and the kernel), expected 'protocol TCP' for a TCP service",
            "t.conf:10:9: warning: UDP_CHECK: min_reply_length 300 is above max_reply_length 255, so no reply can pass",
            "t.conf:16:20: warning: weight 0 in FILE_CHECK means the track_file's weight (4) as in keepalived, expected 'weight 0' on track_file 'tf' for a pass/fail check",
            "t.conf:17:13: warning: unknown keyword 'connect_ip' in FILE_CHECK, ignored",
            "t.conf:20:13: warning: unknown keyword 'retries' in DNS_CHECK, ignored",
            "t.conf:23:13: warning: BFD_CHECK: no bfd_instance 'bfd_1' defined above, ignored (as keepalived does); without another checker this real server is always up",
        ]
    );
}

#[test]
fn a_group_range_wider_than_65536_addresses_is_refused() {
    let errors = errors(
        "virtual_server_group web {\n    10.0.0.0-10.1.0.0 80\n}\nvirtual_server group web {\n    real_server 10.1.0.1 80 { }\n}\n",
    );
    assert!(
        errors.iter().any(|e| e.contains(
            "1:1: virtual_server_group 'web': the range 10.0.0.0-10.1.0.0 holds more than 65536 addresses"
        )),
        "{errors:?}"
    );
}

#[test]
fn net_namespace_must_be_a_file_name() {
    let errors = errors("global_defs {\n    net_namespace ../etc\n}\n");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("2:19:") && e.contains("a network namespace name")),
        "{errors:?}"
    );
}

/// The `ospf` block of the peering tests, with `iface` inside `interface eth0 { }` and
/// `area` inside `area 1 { }`.
fn ospf_block(area: &str, iface: &str) -> String {
    format!(
        "ospf {{\n    area 1 {{\n{area}        interface eth0 {{\n{iface}        }}\n    }}\n}}\n"
    )
}

#[test]
fn ospf_authentication_problems() {
    let keys = "            authentication {\n                auth_type hmac_sha256\n                auth_key 1 old\n                auth_key 1 new\n                auth_key 2 x sha3\n                auth_key 3 0123456789abcdefX md5\n            }\n";
    assert_eq!(
        errors(&ospf_block("", keys)),
        [
            "t.conf:7:17: authentication: key ID 1 is given twice, expected one key per ID",
            "t.conf:8:30: auth_key: expected md5|hmac_sha1|hmac_sha256|hmac_sha384|hmac_sha512, found 'sha3'",
            "t.conf:9:17: authentication: a md5 key of at most 16 characters, got 17",
        ]
    );
    let no_key =
        "            authentication {\n                auth_type hmac_sha512\n            }\n";
    assert_eq!(
        errors(&ospf_block("", no_key)),
        ["t.conf:4:13: authentication: auth_type hmac_sha512 needs auth_key ID KEY"]
    );
}

#[test]
fn ospf_long_hmac_key_warns_about_bird() {
    let long = format!(
        "            authentication {{\n                auth_type hmac_sha1\n                auth_key 1 {}\n            }}\n",
        "k".repeat(21)
    );
    assert_eq!(
        warnings(&ospf_block("", &long)),
        ["t.conf:6:17: warning: authentication: a hmac_sha1 key longer than 20 bytes is hashed first (RFC 5709 §3.3); BIRD 2 does not hash it and will refuse our packets"]
    );
}

#[test]
fn passive_interface_with_bfd() {
    assert_eq!(
        errors(&ospf_block("", "            passive\n            bfd { }\n")),
        ["t.conf:3:9: interface eth0: a passive interface has no OSPF neighbor for BFD to watch, expected passive or bfd, not both"]
    );
}

#[test]
fn stub_area_with_more_vips_than_stub_links() {
    let mut text = ospf_block("        stub\n", "");
    for i in 0..=ospf::STUB_LINK_LIMIT {
        text.push_str(&format!(
            "virtual_server 10.0.{}.{} 80 {{\n    protocol TCP\n}}\n",
            i / 200,
            i % 200 + 1
        ));
    }
    assert_eq!(
        errors(&text),
        ["t.conf:2:5: area 0.0.0.1 is a stub area, which admits no AS-external LSA: at most 100 IPv4 VIPs can be announced in it (as stub links), the configuration has 101; expected a normal area or fewer VIPs"]
    );
}

#[test]
fn ospf_metric_problems() {
    let vs = |port: u16, metric: &str| {
        format!("virtual_server 10.0.0.1 {port} {{\n    protocol TCP\n{metric}}}\n")
    };
    // Without an ospf block there is no route to carry it.
    assert_eq!(
        errors(&vs(80, "    ospf_metric 10\n")),
        ["t.conf:3:17: ospf_metric is the metric of the VIP's OSPF route, expected an ospf block (active-active mode)"]
    );
    // Two services of one VIP with different metrics (the second has vip_metric 0).
    let text = format!(
        "{}{}{}",
        ospf_block("", ""),
        vs(80, "    ospf_metric 10\n"),
        vs(443, "")
    );
    assert_eq!(
        errors(&text),
        ["t.conf:11:1: VIP 10.0.0.1: OSPF metric 0 differs from the metric 10 of another virtual_server with this VIP (first at t.conf:9:17), expected the same ospf_metric on every service of a VIP (a service without one has ospf vip_metric 0)"]
    );
    let same = format!(
        "{}{}{}",
        ospf_block("", ""),
        vs(80, "    ospf_metric 10\n"),
        vs(443, "    ospf_metric 10\n")
    );
    assert!(warnings(&same).is_empty());
}
