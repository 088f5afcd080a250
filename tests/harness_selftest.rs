//! Proves the namespace harness with real daemons only (no director code): a BIRD router
//! and two FRR "directors" announcing the same /32 give the router a 2-nexthop ECMP route,
//! withdrawing it on one director leaves one nexthop; a keepalived pair elects one master.
//! Every namespace is gone afterwards.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::netns::{NetNs, Switch};
use common::peers::{self, all_full, nexthop_count, Bird, Frr, OspfIface, OspfRouter};
use common::wait::{hold_for, wait_stable, wait_until};
use common::TestDir;

const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 100, 1);
const VIP_32: &str = "10.99.100.1/32";
const R1: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
const D1: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 11);
const D2: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 12);

fn netns_list() -> String {
    common::run_ok(&["ip", "netns", "list"])
}

fn assert_namespaces_gone(names: &[String]) {
    let list = netns_list();
    for name in names {
        assert!(
            !list.split_whitespace().any(|n| n == name),
            "namespace {name} still exists after teardown:\n{list}"
        );
    }
}

fn frr_director(router_id: Ipv4Addr) -> OspfRouter {
    OspfRouter {
        router_id,
        ifaces: vec![OspfIface::broadcast("eth0", 1, 4)],
        stubs: vec![VIP],
        kernel_export: false,
        merge_external: false,
    }
}

#[test]
fn bird_router_installs_ecmp_route_from_two_frr_directors() {
    require_root!();
    require_programs!(
        "bird",
        "birdc",
        "vtysh",
        "/usr/lib/frr/zebra",
        "/usr/lib/frr/ospfd"
    );
    let names;
    {
        let dir = TestDir::new("self");
        let sw = Switch::new("sw");
        let r1 = NetNs::new("r1");
        let d1 = NetNs::new("d1");
        let d2 = NetNs::new("d2");
        names = vec![
            sw.ns().name().to_string(),
            r1.name().to_string(),
            d1.name().to_string(),
            d2.name().to_string(),
        ];
        for (ns, addr) in [(&r1, R1), (&d1, D1), (&d2, D2)] {
            sw.attach(ns, "eth0");
            ns.add_addr("eth0", &format!("{addr}/24"));
        }
        d1.add_addr("lo", VIP_32);
        d2.add_addr("lo", VIP_32);

        let router = OspfRouter {
            router_id: R1,
            ifaces: vec![OspfIface::broadcast("eth0", 1, 4).priority(10)],
            stubs: vec![],
            kernel_export: true,
            merge_external: false,
        };
        let bird = Bird::start(&r1, &dir.subdir("r1"), "r1-bird", &router);
        let frr1 = Frr::start(&d1, &dir.subdir("d1"), "d1", &frr_director(D1));
        let frr2 = Frr::start(&d2, &dir.subdir("d2"), "d2", &frr_director(D2));

        let full = wait_until(Duration::from_secs(40), Duration::from_millis(100), || {
            all_full(bird.neighbors()?, &[D1, D2])?;
            all_full(frr1.neighbors()?, &[R1, D2])?;
            all_full(frr2.neighbors()?, &[R1, D1])
        })
        .expect("adjacencies Full on r1, d1 and d2");
        eprintln!("adjacencies Full after {:.1?}", full.after);

        let ecmp = wait_stable(
            Duration::from_secs(30),
            Duration::from_secs(3),
            nexthop_count(&r1, VIP_32, 2),
        )
        .expect("r1: 2 nexthops for the VIP, stable 3 s");
        assert_eq!(ecmp.value, vec![D1, D2]);
        eprintln!("2 nexthops stable from {:.1?} after Full", ecmp.after);
        hold_for(Duration::from_secs(1), || {
            all_full(bird.neighbors()?, &[D1, D2])
        })
        .expect("r1 adjacencies stay Full");

        d1.del_addr("lo", VIP_32);
        let one = wait_stable(
            Duration::from_secs(30),
            Duration::from_secs(3),
            nexthop_count(&r1, VIP_32, 1),
        )
        .expect("r1: 1 nexthop after d1 deleted the VIP, stable 3 s");
        assert_eq!(one.value, vec![D2], "the remaining nexthop is d2");
        eprintln!(
            "d1 withdrawn: 1 nexthop stable from {:.1?} after the delete",
            one.after
        );
    }
    assert_namespaces_gone(&names);
}

fn keepalived_conf(name: &str, priority: u8) -> String {
    format!(
        "global_defs {{\n  router_id {name}\n}}\n\
         vrrp_instance SELFTEST {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority {priority}\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

#[test]
fn keepalived_pair_elects_one_master() {
    require_root!();
    require_programs!("keepalived");
    let names;
    {
        let dir = TestDir::new("ka");
        let sw = Switch::new("ksw");
        let v1 = NetNs::new("v1");
        let v2 = NetNs::new("v2");
        names = vec![
            sw.ns().name().to_string(),
            v1.name().to_string(),
            v2.name().to_string(),
        ];
        sw.attach(&v1, "eth0");
        sw.attach(&v2, "eth0");
        v1.add_addr("eth0", "10.99.0.21/24");
        v2.add_addr("eth0", "10.99.0.22/24");
        let _ka1 = peers::keepalived(&v1, &dir.subdir("v1"), "v1", &keepalived_conf("v1", 100));
        let _ka2 = peers::keepalived(&v2, &dir.subdir("v2"), "v2", &keepalived_conf("v2", 90));

        let master = wait_stable(Duration::from_secs(20), Duration::from_secs(3), || {
            match (v1.has_addr(VIP), v2.has_addr(VIP)) {
                (true, false) => Ok("v1"),
                (false, true) => Ok("v2"),
                (a, b) => Err(format!("VIP on v1={a} v2={b}")),
            }
        })
        .expect("exactly one keepalived holds the VIP, stable 3 s");
        assert_eq!(master.value, "v1", "the priority-100 node is master");
        eprintln!("master elected after {:.1?}", master.after);
    }
    assert_namespaces_gone(&names);
}

#[test]
fn parses_bird_neighbors() {
    let text = "BIRD 2.0.12 ready.\no4:\n\
        Router ID   \tPri\t     State     \tDTime\tInterface  Router IP\n\
        10.99.0.11\t  1\tFull/DROther \t3.456\teth0       10.99.0.11\n\
        10.99.0.12\t  1\tExStart/Other\t3.912\teth0       10.99.0.12\n";
    let got = peers::parse_bird_neighbors(text);
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].router_id, got[0].state.as_str()), (D1, "Full"));
    assert_eq!((got[1].router_id, got[1].state.as_str()), (D2, "ExStart"));
}

#[test]
fn parses_route_nexthops_single_and_multipath() {
    assert!(peers::parse_route_nexthops("").unwrap().is_empty());
    assert!(peers::parse_route_nexthops("[]").unwrap().is_empty());
    let single = r#"[{"dst":"10.99.100.1","gateway":"10.99.0.12","dev":"eth0","protocol":"bird","metric":32,"flags":[]}]"#;
    assert_eq!(peers::parse_route_nexthops(single).unwrap(), vec![D2]);
    let multi = r#"[{"dst":"10.99.100.1","protocol":"bird","metric":32,"flags":[],"nexthops":[
        {"gateway":"10.99.0.12","dev":"eth0","weight":1,"flags":[]},
        {"gateway":"10.99.0.11","dev":"eth0","weight":1,"flags":[]}]}]"#;
    assert_eq!(peers::parse_route_nexthops(multi).unwrap(), vec![D1, D2]);
}

#[test]
fn parses_frr_neighbors_json() {
    let json = r#"{"neighbors":{"10.99.0.1":[{"priority":10,"state":"Full/DR","nbrState":"Full/DR"}],
        "10.99.0.12":[{"priority":1,"nbrState":"2-Way/DROther"}]}}"#;
    let mut got = peers::parse_frr_neighbors(json).unwrap();
    got.sort_by_key(|n| n.router_id);
    assert_eq!((got[0].router_id, got[0].state.as_str()), (R1, "Full"));
    assert_eq!((got[1].router_id, got[1].state.as_str()), (D2, "2-Way"));
}

#[test]
fn namespace_names_are_unique_and_carry_the_pid() {
    let a = common::unique_name("dt-x");
    let b = common::unique_name("dt-x");
    assert_ne!(a, b);
    assert!(a.contains(&format!("-{}-", std::process::id())));
    // scripts/lab/sweep-netns relies on this shape: the pid is the second-to-last field.
    let fields: Vec<&str> = a.rsplit('-').collect();
    assert_eq!(fields[1], std::process::id().to_string());
}

/// The configs the OSPF suites hand to `directord` load without warnings and mean what the
/// suites think they mean (catches drift between the harness and the config grammar).
#[test]
fn directord_configs_of_the_ospf_suites_load() {
    use common::ospf::{directord_config, DirectorSpec, VIP_A, VIP_B};
    use director::config::model::{OspfAuth, OspfKey, OspfKeyAlgorithm, OspfNetworkType};
    let cases = [
        (OspfIface::broadcast("eth0", 1, 4), vec![VIP_A, VIP_B]),
        (OspfIface::point_to_point("eth0", 1, 4), vec![VIP_A]),
        (
            OspfIface::broadcast("eth0", 10, 40).md5(1, "s3cr3t"),
            vec![VIP_A],
        ),
        (OspfIface::broadcast("eth0", 1, 4), vec![]),
    ];
    for (iface, vips) in cases {
        let mut spec = DirectorSpec::new("d1", D1, iface.clone(), &vips);
        spec.control_socket = Some("/tmp/dt-x/d1/directord.sock".into());
        let text = directord_config(&spec);
        let loaded = director::config::parse_str("directord.conf", &text)
            .unwrap_or_else(|e| panic!("generated config does not load: {e:?}\n{text}"));
        assert!(
            loaded.warnings.is_empty(),
            "warnings {:?} for\n{text}",
            loaded.warnings
        );
        let ospf = loaded.config.ospf.as_ref().expect("ospf block");
        assert_eq!(ospf.router_id, Some(D1));
        let i = &ospf.areas[0].interfaces[0];
        assert_eq!(
            (i.name.as_str(), i.hello_interval, i.dead_interval),
            ("eth0", iface.hello, u32::from(iface.dead))
        );
        let link = match iface.link {
            peers::LinkType::Broadcast => OspfNetworkType::Broadcast,
            peers::LinkType::PointToPoint => OspfNetworkType::PointToPoint,
        };
        assert_eq!(i.network_type, link);
        let auth = match &iface.md5 {
            Some((key_id, key)) => OspfAuth::Crypto {
                keys: vec![OspfKey {
                    id: *key_id,
                    algorithm: OspfKeyAlgorithm::Md5,
                    key: key.clone(),
                }],
            },
            None => OspfAuth::None,
        };
        assert_eq!(i.authentication, auth);
        assert_eq!(loaded.config.virtual_servers.len(), vips.len());
        assert_eq!(loaded.config.director.control_socket, spec.control_socket);
    }
}
