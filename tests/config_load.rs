//! Real-world keepalived.conf files (tests/configs/) and the example configurations
//! (config/) load, with the typed values and the warnings they should produce.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use director::config::model::*;
use director::config::{load, load_with, LoadOptions, Loaded};

fn path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn load_ok_with(relative: &str, config_id: Option<&str>) -> Loaded {
    let options = LoadOptions {
        config_id: config_id.map(str::to_string),
    };
    match load_with(&path(relative), &options) {
        Ok(loaded) => loaded,
        Err(e) => panic!("{relative} failed to load:\n{e}"),
    }
}

fn load_ok(relative: &str) -> Loaded {
    load_ok_with(relative, None)
}

/// Warnings as `line:col: message`, file name dropped (it is absolute here).
fn warnings(loaded: &Loaded) -> Vec<String> {
    loaded
        .warnings
        .iter()
        .map(|w| format!("{}:{}: {}", w.span.line, w.span.col, w.message))
        .collect()
}

/// No warning except those for keywords director reads but does not act on yet
/// (keywords::NOT_IMPLEMENTED; their own test is `not_implemented_keywords_warn`).
fn no_warnings(relative: &str) -> Config {
    let loaded = load_ok(relative);
    let other: Vec<String> = warnings(&loaded)
        .into_iter()
        .filter(|w| !w.contains("is read but director does not act on it yet"))
        .collect();
    assert_eq!(other, Vec::<String>::new(), "{relative}");
    loaded.config
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        ip: ip(addr),
        port,
        protocol: Protocol::Tcp,
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn vs<'a>(config: &'a Config, key: &ServiceKey) -> &'a VirtualServer {
    config
        .virtual_server(key)
        .unwrap_or_else(|| panic!("no virtual server {key}"))
}

#[test]
fn keepalived_sample() {
    let c = no_warnings("tests/configs/01-keepalived-sample.conf");
    let g = &c.global_defs;
    assert_eq!(g.router_id.as_deref(), Some("LVS_DEVEL"));
    assert_eq!(g.notification_email.len(), 3);
    assert_eq!(
        g.smtp_server,
        Some(SmtpServer {
            host: "192.168.200.1".into(),
            port: 25
        })
    );
    assert_eq!(g.smtp_connect_timeout, secs(30));
    let v = vs(&c, &tcp("192.168.200.100", 443));
    assert_eq!(v.scheduler, Scheduler::Rr);
    assert_eq!(v.method, ForwardingMethod::Nat);
    assert_eq!(v.delay_loop, secs(6));
    assert_eq!(v.nat_mask, Some(ip("255.255.255.0")));
    assert_eq!(v.persistence.as_ref().map(|p| p.timeout), Some(secs(50)));
    let Checker::Ssl { common, http, .. } = &v.real_servers[0].checkers[0] else {
        panic!("expected SSL_GET")
    };
    assert_eq!(http.urls.len(), 2);
    assert_eq!(
        http.urls[1].digest.as_deref(),
        Some("9b3a0c85a887a256d6939da88aabd8cd")
    );
    assert_eq!(http.urls[0].status_code, [(200, 299)]);
    assert_eq!(common.retry, 3, "nb_get_retry is retry");
    assert_eq!(common.connect_timeout, secs(3));
    assert_eq!(
        common.delay_loop,
        secs(6),
        "inherited from the virtual server"
    );
    assert_eq!(common.connect_ip, ip("192.168.201.100"));
    assert_eq!(common.connect_port, 443);
    let v = vs(&c, &tcp("10.10.10.2", 1358));
    assert_eq!(
        v.sorry_server,
        Some(SorryServer {
            ip: ip("192.168.200.200"),
            port: 1358,
            method: ForwardingMethod::Nat,
            inhibit: false
        })
    );
    assert_eq!(v.real_servers.len(), 2);
    assert_eq!(c.mode(), Mode::TablesOnly);
}

#[test]
fn messy_master() {
    let c = no_warnings("tests/configs/02-messy-master.conf");
    assert_eq!(c.global_defs.router_id.as_deref(), Some("lb01"));
    assert_eq!(c.global_defs.notification_email, ["noc@example.com"]);
    assert!(c.global_defs.enable_script_security);
    assert!(c.global_defs.vrrp.skip_check_adv_addr);
    assert_eq!(c.global_defs.vrrp.garp_interval, Duration::from_millis(1));
    assert_eq!(c.global_defs.vrrp.gna_interval, Duration::from_micros(1));
    let script = &c.vrrp_scripts[0];
    assert_eq!(script.script.command, "killall -0 haproxy");
    assert_eq!(
        (script.interval, script.weight, script.fall, script.rise),
        (secs(2), -20, 2, 3)
    );
    let i = &c.vrrp_instances[0];
    assert_eq!(i.name, "VI_WEB");
    assert_eq!(i.state, VrrpState::Master);
    assert_eq!(i.interface.as_deref(), Some("eth0"));
    assert_eq!((i.virtual_router_id, i.priority), (51, 150));
    assert_eq!(i.lvs_sync_daemon_interface.as_deref(), Some("eth1"));
    assert_eq!(
        i.authentication,
        Some(VrrpAuth::Pass {
            auth_pass: "s3cr3t".into()
        })
    );
    assert_eq!(i.virtual_ipaddress.len(), 2);
    assert_eq!(i.virtual_ipaddress[0].address.to_string(), "192.0.2.10/24");
    assert_eq!(i.virtual_ipaddress[0].label.as_deref(), Some("eth0:web"));
    assert_eq!(i.track_interface[1].weight, -10);
    assert_eq!(i.track_script[0].name, "chk_haproxy");
    assert_eq!(i.track_script[0].weight, None);
    assert_eq!(
        i.notify_master.as_ref().map(|s| s.command.as_str()),
        Some("/etc/keepalived/notify.sh MASTER")
    );
    // Inherited from global_defs.
    assert_eq!((i.garp_master_delay, i.garp_master_repeat), (secs(1), 3));
    assert_eq!(
        (i.garp_lower_prio_delay, i.garp_lower_prio_repeat),
        (secs(1), 3)
    );
    assert_eq!(i.version, 2);
    assert!(i.accept);
    assert_eq!(c.mode(), Mode::MasterBackup);
}

#[test]
fn dr_with_http_get() {
    let loaded = load_ok("tests/configs/03-dr-http-get.conf");
    assert_eq!(
        warnings(&loaded),
        ["44:5: real_server 10.20.0.13 port 8080: DR forwarding cannot change the port, it will receive port 80"]
    );
    let v = vs(&loaded.config, &tcp("203.0.113.80", 80));
    assert_eq!(v.method, ForwardingMethod::Dr);
    assert_eq!(v.scheduler, Scheduler::Wlc);
    assert!(v.inhibit_on_failure);
    let [a, b, c] = &v.real_servers[..] else {
        panic!("three real servers")
    };
    assert!(a.inhibit_on_failure, "inherited");
    assert!(!b.inhibit_on_failure, "overridden with off");
    assert_eq!((a.weight, c.weight, c.port), (100, 50, 8080));
    assert_eq!(a.method, ForwardingMethod::Dr);
    let Checker::Http { common, http } = &a.checkers[0] else {
        panic!("expected HTTP_GET")
    };
    assert_eq!(http.http_protocol, HttpProtocol::Http11);
    assert_eq!(http.virtualhost.as_deref(), Some("www.example.com"));
    assert_eq!(http.urls[1].status_code, [(200, 299), (304, 304)]);
    assert_eq!(
        http.urls[1].virtualhost.as_deref(),
        Some("ready.example.com")
    );
    assert_eq!((common.retry, common.delay_before_retry), (2, secs(1)));
    assert_eq!(common.delay_loop, secs(10));
    assert_eq!(common.warmup, secs(10), "warmup defaults to delay_loop");
    let Checker::Http { common, .. } = &b.checkers[0] else {
        panic!("expected HTTP_GET")
    };
    // keepalived.conf(5): retry 1, delay_before_retry 3 s for HTTP_GET, connect_timeout 5.
    assert_eq!(
        (
            common.retry,
            common.delay_before_retry,
            common.connect_timeout
        ),
        (1, secs(3), secs(5))
    );
    let Checker::Tcp { common } = &c.checkers[0] else {
        panic!("expected TCP_CHECK")
    };
    assert_eq!(
        common.delay_before_retry,
        secs(1),
        "1 s for non-HTTP checkers"
    );
    assert_eq!(common.connect_port, 8080);
}

#[test]
fn persistent_all_ports() {
    let c = no_warnings("tests/configs/04-persistent-all-ports.conf");
    let v = vs(&c, &tcp("10.0.0.10", 0));
    let p = v.persistence.as_ref().expect("persistent");
    assert_eq!(p.timeout, secs(600));
    assert_eq!(p.granularity, Some(ip("255.255.255.0")));
    assert_eq!(v.real_servers[0].port, 0);
    let v = vs(&c, &tcp("10.0.0.11", 0));
    assert_eq!(
        v.persistence.as_ref().map(|p| p.timeout),
        Some(secs(360)),
        "a bare persistence_timeout means 6 minutes"
    );
    assert_eq!(v.real_servers[0].weight, 1);
    let Checker::Tcp { common } = &v.real_servers[0].checkers[0] else {
        panic!("expected TCP_CHECK")
    };
    assert_eq!(common.connect_port, 22);
}

#[test]
fn fwmark_and_tunnels() {
    let c = no_warnings("tests/configs/05-fwmark-tun.conf");
    let v = vs(
        &c,
        &ServiceKey::Fwmark {
            mark: 7,
            family: IpFamily::Inet,
        },
    );
    assert_eq!(v.scheduler, Scheduler::Lc);
    assert_eq!(
        v.real_servers[0].method,
        ForwardingMethod::Tun {
            tunnel_type: TunnelType::Ipip,
            port: None,
            checksum: TunnelChecksum::Nocsum
        }
    );
    assert_eq!(
        v.real_servers[1].method,
        ForwardingMethod::Tun {
            tunnel_type: TunnelType::Gue,
            port: Some(6080),
            checksum: TunnelChecksum::Csum
        }
    );
    let v = vs(
        &c,
        &ServiceKey::Fwmark {
            mark: 8,
            family: IpFamily::Inet6,
        },
    );
    assert!(matches!(
        v.method,
        ForwardingMethod::Tun {
            tunnel_type: TunnelType::Gre,
            ..
        }
    ));
}

#[test]
fn virtual_server_groups() {
    let c = no_warnings("tests/configs/06-vs-group.conf");
    let g = &c.virtual_server_groups[0];
    assert_eq!(g.name, "WEB");
    assert_eq!(
        g.members,
        [
            GroupMember::Range {
                first: ip("192.0.2.1"),
                last: ip("192.0.2.1"),
                port: 80
            },
            GroupMember::Range {
                first: ip("192.0.2.10"),
                last: ip("192.0.2.20"),
                port: 80
            },
            GroupMember::Range {
                first: ip("198.51.100.0"),
                last: ip("198.51.100.7"),
                port: 443
            },
            GroupMember::Range {
                first: ip("2001:db8::1"),
                last: ip("2001:db8::1"),
                port: 80
            },
            GroupMember::Fwmark {
                mark: 100,
                family: None
            },
            GroupMember::Fwmark {
                mark: 101,
                family: Some(IpFamily::Inet6)
            },
        ]
    );
    let keys: Vec<_> = c.virtual_servers.iter().map(|v| v.key.clone()).collect();
    assert_eq!(
        keys,
        [
            ServiceKey::Group {
                name: "WEB".into(),
                protocol: Protocol::Tcp
            },
            ServiceKey::Group {
                name: "WEB".into(),
                protocol: Protocol::Udp
            }
        ]
    );
}

#[test]
fn misc_checks() {
    let c = no_warnings("tests/configs/07-misc-check.conf");
    assert_eq!(
        c.global_defs.script_user,
        Some(ScriptUser {
            user: "keepalived_script".into(),
            group: Some("keepalived_script".into())
        })
    );
    let v = vs(&c, &tcp("10.1.1.1", 3306));
    assert_eq!(v.scheduler, Scheduler::Wrr);
    let Checker::Misc { common, misc } = &v.real_servers[0].checkers[0] else {
        panic!("expected MISC_CHECK")
    };
    assert_eq!(
        misc.misc_path.command,
        "/usr/local/bin/check_mysql --host 10.1.2.1 --port 3306"
    );
    assert_eq!(
        misc.misc_path.user.as_ref().map(|u| u.user.as_str()),
        Some("mysqlcheck")
    );
    assert_eq!(misc.misc_timeout, secs(5));
    assert!(misc.misc_dynamic);
    assert_eq!(common.retry, 0, "MISC_CHECK: the retry default is 0");
    assert!(common.log_all_failures, "global checker_log_all_failures");
    let Checker::Misc { common, misc } = &v.real_servers[1].checkers[0] else {
        panic!("expected MISC_CHECK")
    };
    assert!(!common.log_all_failures);
    assert_eq!(
        misc.misc_timeout,
        secs(7),
        "misc_timeout defaults to delay_loop"
    );
}

#[test]
fn sync_groups_and_scripts() {
    let c = no_warnings("tests/configs/08-sync-group.conf");
    let g = &c.vrrp_sync_groups[0];
    assert_eq!(g.group, ["VI_OUTSIDE", "VI_INSIDE"]);
    assert!(g.smtp_alert);
    assert_eq!(
        g.notify_fault.as_ref().map(|s| s.command.as_str()),
        Some("/etc/keepalived/fw.sh fault")
    );
    let s = c.vrrp_script("chk_nginx").expect("script");
    assert_eq!(s.timeout, Some(secs(2)));
    assert!(s.init_fail);
    assert_eq!(
        s.script.user,
        Some(Box::new(ScriptUser {
            user: "nobody".into(),
            group: Some("nogroup".into())
        }))
    );
    let d = c.vrrp_script("chk_disk").expect("script");
    assert_eq!((d.weight, d.rise, d.fall), (0, 1, 1));
    let o = c.vrrp_instance("VI_OUTSIDE").expect("instance");
    assert!(o.nopreempt);
    assert_eq!(o.preempt_delay, secs(30));
    assert_eq!(o.garp_master_delay, secs(2));
    assert_eq!(o.garp_master_repeat, 5, "keepalived default");
    assert_eq!(o.virtual_ipaddress[0].broadcast, Some(ip("203.0.113.255")));
    assert_eq!(o.virtual_ipaddress[0].scope, Some(AddressScope::Global));
    assert_eq!(o.track_script[0].weight, Some(50));
    let i = c.vrrp_instance("VI_INSIDE").expect("instance");
    assert_eq!(
        i.track_interface[0],
        TrackInterface {
            name: "eth0".into(),
            weight: 20,
            reverse: true
        }
    );
}

#[test]
fn unicast_vrrp3_and_ipv6() {
    let c = no_warnings("tests/configs/09-unicast-v3-ipv6.conf");
    let i = c.vrrp_instance("VI_CLOUD").expect("instance");
    assert_eq!(i.version, 3);
    assert_eq!(i.advert_int, Duration::from_millis(500));
    assert_eq!(i.unicast_src_ip, Some(ip("172.31.0.10")));
    assert_eq!(i.unicast_peer.len(), 2);
    assert_eq!(i.unicast_peer[1].min_ttl, Some(250));
    assert!(i.check_unicast_src, "min_ttl turns on check_unicast_src");
    assert_eq!(i.unicast_ttl, Some(255));
    let v6 = c.vrrp_instance("VI_V6").expect("instance");
    assert_eq!(v6.version, 3);
    assert_eq!(
        v6.virtual_ipaddress[1].address.to_string(),
        "2001:db8:78::1/64"
    );
}

#[test]
fn newer_keepalived_keywords_warn_and_load() {
    let loaded = load_ok("tests/configs/10-newer-keywords.conf");
    assert_eq!(
        warnings(&loaded),
        [
            "4:5: 'max_auto_priority' is a keepalived option director does not use, ignored",
            "5:5: 'vrrp_notify_priority_changes' is a keepalived option director does not use, ignored",
            "6:5: 'enable_snmp_vrrp' is a keepalived option director does not use, ignored",
            "7:5: 'nftables_ipvs' is a keepalived option director does not use, ignored",
            "8:5: unknown keyword 'some_future_global_option' in global_defs, ignored",
            "26:5: unknown keyword 'notify_deleted' in vrrp_instance, ignored",
            "34:13: BFD_CHECK: no bfd_instance 'bfd_1' defined above, ignored (as keepalived does); without another checker this real server is always up",
        ]
    );
    assert_eq!(
        loaded.warnings[4].to_string(),
        format!(
            "{}:8:5: warning: unknown keyword 'some_future_global_option' in global_defs, ignored",
            path("tests/configs/10-newer-keywords.conf").display()
        )
    );
    let c = &loaded.config;
    assert_eq!(c.virtual_servers[0].scheduler, Scheduler::Twos);
    assert!(c.virtual_servers[0].real_servers[0].checkers.is_empty());
    assert_eq!(
        c.vrrp_instances[0].state,
        VrrpState::Backup,
        "default state"
    );
    assert_eq!(c.vrrp_instances[0].priority, 120);
}

#[test]
fn active_active_director() {
    let c = no_warnings("tests/configs/11-active-active.conf");
    assert_eq!(c.mode(), Mode::ActiveActive);
    assert_eq!(c.director.dataplane, DataplaneKind::Ipvs);
    assert_eq!(
        c.director.control_socket.as_deref(),
        Some(Path::new("/run/director/directord.sock"))
    );
    assert_eq!(
        c.director.metrics_listen,
        Some("127.0.0.1:9547".parse().expect("addr"))
    );
    let o = c.ospf.as_ref().expect("ospf");
    assert_eq!(o.router_id, Some(Ipv4Addr::new(10, 255, 0, 1)));
    assert_eq!(o.vip_metric, 0);
    assert_eq!(o.areas.len(), 2);
    assert_eq!(o.areas[1].id, Ipv4Addr::new(0, 0, 0, 1), "decimal area id");
    let [eth0, eth1] = &o.areas[0].interfaces[..] else {
        panic!("two interfaces in area 0")
    };
    assert_eq!(eth0.network_type, OspfNetworkType::PointToPoint);
    assert_eq!((eth0.hello_interval, eth0.dead_interval), (1, 4));
    assert_eq!(
        eth0.authentication,
        OspfAuth::Crypto {
            keys: vec![OspfKey {
                id: 1,
                algorithm: OspfKeyAlgorithm::Md5,
                key: "ospf-md5-secret".into()
            }]
        }
    );
    assert_eq!(
        (
            eth1.hello_interval,
            eth1.dead_interval,
            eth1.retransmit_interval,
            eth1.transmit_delay
        ),
        (10, 40, 5, 1)
    );
    assert_eq!((eth1.priority, eth1.cost), (0, 10));
    assert_eq!(
        eth1.authentication,
        OspfAuth::Simple {
            key: "s1mple".into()
        }
    );
    let eth2 = &o.areas[1].interfaces[0];
    assert_eq!(eth2.network_type, OspfNetworkType::Broadcast);
    let v = vs(&c, &tcp("198.51.100.10", 443));
    assert_eq!(v.scheduler, Scheduler::Mh);
    assert!(v.scheduler_flags.mh_port && v.scheduler_flags.mh_fallback);
    assert_eq!(v.scheduler_flags.kernel_bits(), 0x18);
    assert_eq!(v.quorum, 2);
}

#[test]
fn includes_with_globs_and_quotes() {
    let c = no_warnings("tests/configs/12-include.conf");
    let keys: Vec<_> = c.virtual_servers.iter().map(|v| v.key.clone()).collect();
    assert_eq!(
        keys,
        [
            tcp("192.0.2.50", 80),
            ServiceKey::Addr {
                ip: ip("192.0.2.53"),
                port: 53,
                protocol: Protocol::Udp
            }
        ],
        "conf.d/*.conf in sorted order"
    );
    assert!(c.virtual_servers[1].one_packet_scheduling);
    assert_eq!(c.static_ipaddress[0].dev.as_deref(), Some("lo"));
}

#[test]
fn conditional_configuration_and_parameters() {
    for (id, priority, router_id, garp_repeat) in
        [("lb-a", 200, "lb-a", 5), ("lb-b", 100, "lb-b", 2)]
    {
        let loaded = load_ok_with("tests/configs/13-conditional-params.conf", Some(id));
        assert_eq!(warnings(&loaded), Vec::<String>::new());
        let c = loaded.config;
        assert_eq!(c.global_defs.router_id.as_deref(), Some(router_id));
        assert_eq!(c.global_defs.vrrp.garp_master_repeat, garp_repeat);
        let names: Vec<_> = c.vrrp_instances.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["VI_1", "VI_2"]);
        assert!(c.vrrp_instances.iter().all(|i| i.priority == priority));
        assert_eq!(c.vrrp_instances[1].virtual_router_id, 2);
        assert_eq!(
            c.vrrp_instances[1].virtual_ipaddress[0].address.to_string(),
            "10.9.0.2/32"
        );
        let reals: Vec<_> = c.virtual_servers[0]
            .real_servers
            .iter()
            .map(|r| r.ip)
            .collect();
        assert_eq!(reals, [ip("10.9.1.1"), ip("10.9.1.2"), ip("10.9.1.3")]);
    }
    // Without a config-id neither $PRIO definition applies, as with keepalived.
    let err = load(&path("tests/configs/13-conditional-params.conf")).expect_err("no $PRIO");
    let messages: Vec<_> = err.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].ends_with("priority: expected an integer from 1 to 255, found '$PRIO'"));
}

#[test]
fn routes_vmac_and_lvs_globals() {
    let c = no_warnings("tests/configs/14-routes-vmac-lvs-sync.conf");
    let g = &c.global_defs;
    assert_eq!(
        g.lvs_sync_daemon,
        Some(LvsSyncDaemon {
            interface: "eth1".into(),
            vrrp_instance: Some("VI_GW".into()),
            sync_id: Some(5),
            maxlen: Some(1472),
            port: Some(8848),
            ttl: Some(1),
            group: Some(ip("224.0.0.81")),
        })
    );
    assert_eq!(
        g.lvs_timeouts,
        Some(LvsTimeouts {
            tcp: Some(secs(7200)),
            tcpfin: Some(secs(120)),
            udp: Some(secs(300))
        })
    );
    assert!(g.lvs_flush);
    assert_eq!(g.lvs_flush_on_stop, LvsFlushOnStop::VirtualServers);
    assert_eq!(g.vrrp.mcast_group4, Ipv4Addr::new(224, 0, 0, 19));
    assert_eq!(c.static_ipaddress[1].label.as_deref(), Some("lo:svc"));
    assert!(c.static_ipaddress[1].no_track);
    assert_eq!(c.static_routes.len(), 3);
    assert_eq!(c.static_routes[1].kind, RouteKind::Blackhole);
    assert_eq!(c.static_routes[2].src, Some(ip("10.0.0.254")));
    assert_eq!(c.static_routes[2].table.as_deref(), Some("100"));
    assert_eq!(c.static_routes[2].metric, Some(5));
    let i = &c.vrrp_instances[0];
    assert_eq!(
        i.use_vmac,
        Some(UseVmac {
            interface: Some("vrrp.42".into()),
            mac: None
        })
    );
    assert!(i.vmac_xmit_base && i.promote_secondaries);
    assert!(!i.accept, "no_accept");
    assert_eq!(i.garp_master_refresh, secs(30));
    assert_eq!(i.garp_master_refresh_repeat, 2, "from global_defs");
    assert_eq!(i.virtual_routes[0].via, Some(ip("10.0.0.254")));
    assert_eq!(i.virtual_routes[1].destination.to_string(), "0.0.0.0/0");
    assert_eq!(i.virtual_ipaddress_excluded.len(), 1);
}

#[test]
fn sorry_server_quorum_udp() {
    let c = no_warnings("tests/configs/15-sorry-quorum-udp.conf");
    let key = ServiceKey::Addr {
        ip: ip("192.0.2.123"),
        port: 123,
        protocol: Protocol::Udp,
    };
    let v = vs(&c, &key);
    assert_eq!(v.scheduler, Scheduler::Sed);
    assert!(v.one_packet_scheduling && v.alpha && v.omega && v.ha_suspend);
    assert_eq!((v.quorum, v.hysteresis), (3, 1));
    assert!(v.quorum_up.is_some() && v.quorum_down.is_some());
    assert_eq!(v.sorry_server.as_ref().map(|s| s.inhibit), Some(true));
    let Checker::Misc { common, .. } = &v.real_servers[0].checkers[0] else {
        panic!("expected MISC_CHECK")
    };
    assert!(common.alpha, "alpha inherited from the virtual server");
    assert_eq!(common.warmup, Duration::ZERO);
    assert_eq!(common.delay_before_retry, secs(2));
    let rs = &v.real_servers[1];
    assert_eq!(
        (rs.upper_threshold, rs.lower_threshold),
        (Some(10000), Some(100))
    );
    let Checker::Tcp { common } = &rs.checkers[0] else {
        panic!("expected TCP_CHECK")
    };
    assert_eq!(common.connect_ip, ip("10.9.1.2"));
    assert_eq!(common.bindto, Some(ip("10.9.0.254")));
    assert_eq!((common.bind_port, common.fwmark), (Some(40022), Some(9)));
    assert_eq!(common.connect_timeout, secs(4));
    assert_eq!(common.delay_loop, secs(20));
}

#[test]
fn ipv6_source_hashing() {
    let loaded = load_ok("tests/configs/16-ipv6-sh.conf");
    assert_eq!(
        warnings(&loaded),
        ["7:5: persistence_timeout with the sh scheduler is redundant: it already sends a client to the same real server"]
    );
    let c = loaded.config;
    let v = &c.virtual_servers[0];
    assert!(v.scheduler_flags.sh_port && v.scheduler_flags.sh_fallback);
    assert_eq!(
        v.persistence.as_ref().and_then(|p| p.granularity),
        Some(ip("ffff:ffff:ffff:ffff::"))
    );
    let Checker::Ssl { tls, .. } = &v.real_servers[0].checkers[0] else {
        panic!("expected SSL_GET")
    };
    assert!(tls.enable_sni);
    assert_eq!(
        c.ssl.as_ref().and_then(|s| s.key.as_deref()),
        Some(Path::new("/etc/keepalived/client.key"))
    );
}

#[test]
fn keepalived_1x_configuration() {
    let loaded = load_ok("tests/configs/17-keepalived-1x.conf");
    let ignored = "nb_get_retry is ignored here as keepalived ignores it (it knows it only in HTTP_GET and SSL_GET): the retry count stays the inherited or default one, expected 'retry N' to set it";
    assert_eq!(
        warnings(&loaded),
        [format!("31:13: {ignored}"), format!("40:13: {ignored}")]
    );
    let c = loaded.config;
    let i = &c.vrrp_instances[0];
    assert_eq!(i.lvs_sync_daemon_interface.as_deref(), Some("eth0"));
    assert_eq!(i.priority, 99);
    assert_eq!(
        i.notify_master.as_ref().map(|s| s.command.as_str()),
        Some("/usr/local/bin/become_master.sh")
    );
    let v = vs(&c, &tcp("172.16.0.100", 80));
    assert_eq!(
        (v.scheduler, v.method),
        (Scheduler::Wrr, ForwardingMethod::Dr)
    );
    let Checker::Tcp { common } = &v.real_servers[1].checkers[0] else {
        panic!("expected TCP_CHECK")
    };
    // keepalived 2 ignores nb_get_retry in TCP_CHECK: TCP_CHECK's default retry.
    assert_eq!(
        (common.retry, common.connect_timeout, common.connect_port),
        (1, secs(10), 80)
    );
}

#[test]
fn every_fixture_serializes_to_json() {
    let dir = path("tests/configs");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let p = entry.expect("entry").path();
        if p.extension().is_some_and(|e| e == "conf") {
            let loaded = load_with(
                &p,
                &LoadOptions {
                    config_id: Some("lb-a".into()),
                },
            )
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let json = serde_json::to_string(&loaded.config).expect("json");
            assert!(json.starts_with("{\"global_defs\":"));
            count += 1;
        }
    }
    assert!(count >= 15, "only {count} fixtures");
}

// ───────────────────────────── example configurations ─────────────────────────────

#[test]
fn example_dr_master_backup_pair() {
    let master = no_warnings("config/keepalived-dr-master.conf");
    let backup = no_warnings("config/keepalived-dr-backup.conf");
    assert_eq!(master.mode(), Mode::MasterBackup);
    assert_eq!(backup.mode(), Mode::MasterBackup);
    let (m, b) = (&master.vrrp_instances[0], &backup.vrrp_instances[0]);
    assert_eq!(m.state, VrrpState::Master);
    assert_eq!(b.state, VrrpState::Backup);
    assert!(m.priority > b.priority);
    assert_eq!(m.virtual_router_id, b.virtual_router_id);
    assert_eq!(m.virtual_ipaddress, b.virtual_ipaddress);
    assert_eq!(master.virtual_servers, backup.virtual_servers);
    assert!(master
        .virtual_servers
        .iter()
        .all(|v| v.method == ForwardingMethod::Dr));
}

#[test]
fn example_nat_http() {
    let c = no_warnings("config/nat-http.conf");
    assert_eq!(c.mode(), Mode::TablesOnly);
    let v = &c.virtual_servers[0];
    assert_eq!(v.method, ForwardingMethod::Nat);
    assert!(v
        .real_servers
        .iter()
        .all(|r| matches!(r.checkers.first(), Some(Checker::Http { .. }))));
}

#[test]
fn example_active_active() {
    let c = no_warnings("config/active-active.conf");
    assert_eq!(c.mode(), Mode::ActiveActive);
    assert_eq!(c.ospf.as_ref().map(|o| o.vip_metric), Some(0));
    assert!(c
        .virtual_servers
        .iter()
        .all(|v| v.scheduler == Scheduler::Mh && v.method == ForwardingMethod::Dr));
}

// ───────────────────────────── every checker kind ─────────────────────────────

fn udp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        ip: ip(addr),
        port,
        protocol: Protocol::Udp,
    }
}

#[test]
fn dns_udp_and_ping_checks() {
    let loaded = load_ok("tests/configs/18-every-checker.conf");
    assert_eq!(
        warnings(&loaded),
        ["8:1: 'vrrp_track_file' is a deprecated synonym of 'track_file', read as one"]
    );
    let c = &loaded.config;
    let v = vs(c, &udp("192.0.2.10", 53));
    let rs = &v.real_servers[0];
    assert_eq!(rs.checkers.len(), 4);

    let Checker::Dns { common, dns } = &rs.checkers[0] else {
        panic!("expected DNS_CHECK")
    };
    assert_eq!(
        dns.query_type,
        DnsQueryType::Aaaa,
        "type is case-insensitive"
    );
    assert_eq!(dns.name, "www.example.com.");
    assert_eq!(common.retry, 3, "DNS_CHECK: the retry default is 3");
    assert_eq!(
        common.delay_before_retry,
        secs(7),
        "from the real server, over DNS_CHECK's delay_loop default"
    );
    assert_eq!(common.delay_loop, secs(20), "from the virtual server");
    assert_eq!(common.warmup, secs(20));
    assert_eq!(common.connect_timeout, secs(4), "from the virtual server");
    assert_eq!(
        (common.connect_ip, common.connect_port),
        (ip("10.0.0.1"), 53)
    );

    let Checker::Dns { common, dns } = &rs.checkers[1] else {
        panic!("expected DNS_CHECK")
    };
    assert_eq!(
        &**dns,
        &DnsCheck {
            query_type: DnsQueryType::Soa,
            name: ".".into()
        },
        "keepalived's defaults"
    );
    assert_eq!(common.connect_port, 5353);

    let Checker::Udp { common, udp } = &rs.checkers[2] else {
        panic!("expected UDP_CHECK")
    };
    assert_eq!(
        udp.payload.as_deref(),
        Some(&[0xAB, 0x12, 0x0F, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03][..]),
        "the man page's example"
    );
    assert!(udp.require_reply);
    assert_eq!(
        udp.reply_pattern,
        [
            MaskedByte {
                value: 0x0A,
                mask: 0xFF
            },
            MaskedByte {
                value: 0x0B,
                mask: 0x0F
            }
        ]
    );
    assert_eq!((udp.min_reply_length, udp.max_reply_length), (2, 512));
    assert_eq!(common.retry, 1);
    assert_eq!(common.delay_before_retry, secs(7));

    let Checker::Ping { common } = &rs.checkers[3] else {
        panic!("expected PING_CHECK")
    };
    assert_eq!(common.retry, 2);
    assert_eq!(common.delay_before_retry, secs(7));

    let rs = &v.real_servers[1];
    let Checker::Dns { common, .. } = &rs.checkers[0] else {
        panic!("expected DNS_CHECK")
    };
    assert_eq!(
        (common.retry, common.delay_before_retry),
        (3, secs(20)),
        "DNS_CHECK: delay_before_retry defaults to delay_loop"
    );
    let Checker::Udp { common, udp } = &rs.checkers[1] else {
        panic!("expected UDP_CHECK")
    };
    assert_eq!(
        &**udp,
        &UdpCheck {
            payload: None,
            require_reply: true,
            reply_pattern: Vec::new(),
            min_reply_length: 0,
            max_reply_length: 255,
        },
        "a bare require_reply: any reply, default lengths"
    );
    assert_eq!(common.delay_before_retry, secs(1));
    let Checker::Udp { udp, .. } = &rs.checkers[2] else {
        panic!("expected UDP_CHECK")
    };
    assert!(!udp.require_reply && udp.payload.is_none());
}

#[test]
fn smtp_file_and_ssl_checks() {
    let c = load_ok("tests/configs/18-every-checker.conf").config;
    let rs = &vs(&c, &tcp("192.0.2.10", 25)).real_servers[0];
    assert_eq!(rs.checkers.len(), 4);

    let Checker::Smtp { common, smtp } = &rs.checkers[0] else {
        panic!("expected SMTP_CHECK")
    };
    assert_eq!(smtp.helo_name.as_deref(), Some("mx.example.com"));
    assert_eq!(common.bindto, Some(ip("10.0.0.100")));
    assert_eq!(common.warmup, Duration::ZERO);
    assert_eq!(common.retry, 4, "from the virtual server");
    assert_eq!(common.connect_timeout, secs(9), "from the real server");
    assert_eq!(common.delay_before_retry, secs(1));
    assert_eq!(common.delay_loop, secs(30));
    assert_eq!(common.connect_port, 25);
    let Checker::Smtp { smtp, .. } = &rs.checkers[1] else {
        panic!("expected SMTP_CHECK")
    };
    assert_eq!(
        smtp.helo_name.as_deref(),
        Some("smtpchecker.keepalived.org")
    );

    let Checker::File { common, file } = &rs.checkers[2] else {
        panic!("expected FILE_CHECK")
    };
    assert_eq!(
        &**file,
        &FileCheck {
            track_file: "maintenance".into(),
            path: "/run/director/maintenance".into(),
            weight: -10,
            reverse: true,
            dynamic: false,
            init: Some(FileInit {
                value: 5,
                overwrite: true
            }),
        },
        "weight and reverse from the track_file"
    );
    assert_eq!(
        (
            common.connect_ip,
            common.connect_port,
            common.retry,
            common.delay_loop
        ),
        (ip("10.0.0.3"), 25, 4, secs(30)),
        "no options of its own: the real server's and virtual server's"
    );
    let Checker::File { file, .. } = &rs.checkers[3] else {
        panic!("expected FILE_CHECK")
    };
    assert_eq!(
        &**file,
        &FileCheck {
            track_file: "old_style".into(),
            path: "/run/director/old".into(),
            weight: 3,
            reverse: false,
            dynamic: true,
            init: None,
        }
    );

    let rs = &vs(&c, &tcp("192.0.2.10", 443)).real_servers[0];
    let Checker::Ssl { tls, .. } = &rs.checkers[0] else {
        panic!("expected SSL_GET")
    };
    assert_eq!(
        &**tls,
        &TlsCheck {
            enable_sni: true,
            sni_name: Some("api.example.com".into()),
            verify_ca: None,
            certificate: Some("/etc/director/client.pem".into()),
            key: Some("/etc/director/client.key".into()),
        },
        "certificate and key from the SSL block below"
    );
}

/// Keywords that are stored but do nothing yet are never silent.
#[test]
fn not_implemented_keywords_warn() {
    let loaded = load_ok("tests/configs/14-routes-vmac-lvs-sync.conf");
    let not_done: Vec<String> = warnings(&loaded)
        .into_iter()
        .filter(|w| w.contains("is read but director does not act on it yet"))
        .collect();
    assert_eq!(
        not_done,
        [
            "4:5: 'lvs_flush' is read but director does not act on it yet: the IPVS table is not flushed at start (director never flushes: it reconciles)",
            "5:5: 'lvs_flush_on_stop' is read but director does not act on it yet: the IPVS table is left as it is at stop",
            "12:1: 'static_ipaddress' is read but director does not act on it yet: the addresses are not added at start",
            "17:1: 'static_routes' is read but director does not act on it yet: the routes are not added at start",
            "41:5: 'promote_secondaries' is read but director does not act on it yet: the interface's promote_secondaries setting is left as it is",
            "42:5: 'no_accept' is read but director does not act on it yet: packets to the VIPs are accepted whatever the mode",
        ]
    );
}

/// A file's load copies each virtual server out of the parser's arena and holds equal
/// HTTP settings once: the model it gives is the one `parse_str` builds in place.
#[test]
fn a_loaded_file_shares_equal_http_settings_and_equals_the_model_built_in_place() {
    let real = |ip: &str, path: &str| {
        format!(
            "    real_server {ip} 80 {{\n        HTTP_GET {{\n            url {{\n                path {path}\n            }}\n        }}\n    }}\n"
        )
    };
    let text = format!(
        "virtual_server 10.0.0.1 80 {{\n    protocol TCP\n{}{}}}\nvirtual_server 10.0.0.2 80 {{\n    protocol TCP\n{}{}}}\n",
        real("10.1.0.1", "/health"),
        real("10.1.0.2", "/health"),
        real("10.1.0.3", "/health"),
        real("10.1.0.4", "/other"),
    );
    let file = std::env::temp_dir().join(format!("director-shared-{}.conf", std::process::id()));
    std::fs::write(&file, &text).expect("write the test configuration");
    let loaded = load(&file);
    let _ = std::fs::remove_file(&file);
    let config = loaded.expect("loads").config;
    let http: Vec<&std::sync::Arc<HttpCheck>> = config
        .virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .map(|rs| match &rs.checkers[0] {
            Checker::Http { http, .. } => http,
            other => panic!("expected HTTP_GET, got {other:?}"),
        })
        .collect();
    assert!(
        std::sync::Arc::ptr_eq(http[0], http[1]),
        "same virtual server"
    );
    assert!(
        std::sync::Arc::ptr_eq(http[0], http[2]),
        "across virtual servers"
    );
    assert!(!std::sync::Arc::ptr_eq(http[0], http[3]), "different path");
    assert_eq!(http[3].urls[0].path, "/other");

    let in_place = director::config::parse_str("in-place.conf", &text).expect("parses");
    assert_eq!(config, in_place.config);
    for relative in [
        "tests/configs/01-keepalived-sample.conf",
        "tests/configs/03-dr-http-get.conf",
        "tests/configs/15-sorry-quorum-udp.conf",
        "tests/configs/18-every-checker.conf",
    ] {
        let text = std::fs::read_to_string(path(relative)).expect("test configuration");
        let in_place = director::config::parse_str(relative, &text).expect("parses");
        assert_eq!(load_ok(relative).config, in_place.config, "{relative}");
    }
}
