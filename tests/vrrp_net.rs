//! `director::net` against a real kernel, inside a throwaway network namespace (root only).
//! The test re-executes itself under `ip netns exec` so the tokio runtime never has to
//! switch namespaces.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

use director::net::{IfAddress, NetEvent, NetWatch, Netlink, Route, Scope};

const INNER: &str = "DIRECTOR_VRRP_NET_INNER";

#[test]
fn net_helpers_in_namespace() {
    if std::env::var_os(INNER).is_some() {
        inner();
        return;
    }
    require_root!();
    let ns = common::netns::NetNs::new("vnet");
    ns.exec_ok(&[
        "ip", "link", "add", "dummy0", "type", "veth", "peer", "name", "dummy1",
    ]);
    ns.exec_ok(&["ip", "link", "set", "dummy1", "up"]);
    ns.exec_ok(&["ip", "link", "set", "dummy0", "up"]);
    let exe = std::env::current_exe().expect("test binary path");
    let status = Command::new("ip")
        .args(["netns", "exec", ns.name()])
        .arg(exe)
        .args(["net_helpers_in_namespace", "--exact", "--nocapture"])
        .env(INNER, "1")
        .status()
        .expect("re-exec test in namespace");
    assert!(status.success(), "inner test failed in {}", ns.name());
    let addrs = ns.exec_ok(&["ip", "-o", "addr", "show", "dev", "lo"]);
    assert!(
        addrs.contains("10.99.100.1/32"),
        "VIP left on lo as the inner test intended: {addrs}"
    );
}

fn inner() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let nl = Netlink::new().expect("netlink");
        let mut watch = NetWatch::new().expect("watch");

        let lo = nl.link_by_name("lo").await.expect("lo");
        assert!(lo.admin_up);
        let dummy = nl.link_by_name("dummy0").await.expect("dummy0");
        assert!(dummy.mac.is_some());
        assert_eq!(dummy.kind.as_deref(), Some("veth"));
        assert!(matches!(
            nl.link_by_name("nonexistent0").await,
            Err(director::net::NetError::NoSuchInterface(_))
        ));
        assert_eq!(
            nl.link_by_index(dummy.index).await.expect("by index").name,
            "dummy0"
        );

        // A VIP as the lead uses it: /32 on lo; adding twice is fine.
        let vip = IfAddress::new(lo.index, IpAddr::V4(Ipv4Addr::new(10, 99, 100, 1)), 32);
        nl.add_address(&vip).await.expect("add vip");
        nl.add_address(&vip).await.expect("add vip twice");

        // An address with label, broadcast and scope on the dummy.
        let mut labelled = IfAddress::new(dummy.index, "192.0.2.10".parse().unwrap(), 24);
        labelled.label = Some("dummy0:vip".into());
        labelled.broadcast = Some(Ipv4Addr::new(192, 0, 2, 255));
        labelled.scope = Scope::Site;
        nl.add_address(&labelled).await.expect("add labelled");
        let listed = nl.addresses(Some(dummy.index)).await.expect("list");
        let got = listed
            .iter()
            .find(|a| a.addr == labelled.addr)
            .expect("labelled address listed");
        assert_eq!(got, &labelled);

        let v6 = IfAddress::new(dummy.index, "2001:db8::10".parse().unwrap(), 64);
        nl.add_address(&v6).await.expect("add v6");
        assert!(nl
            .addresses(None)
            .await
            .expect("list all")
            .iter()
            .any(|a| a.addr == v6.addr && a.prefix_len == 64));

        // The watch saw the additions.
        let mut seen = false;
        while let Ok(Some(ev)) =
            tokio::time::timeout(std::time::Duration::from_secs(2), watch.next()).await
        {
            if matches!(&ev, NetEvent::AddressAdded(a) if a.addr == labelled.addr) {
                seen = true;
                break;
            }
        }
        assert!(seen, "watch reported the added address");

        nl.del_address(&labelled).await.expect("del");
        nl.del_address(&labelled).await.expect("del twice");
        nl.del_address(&v6).await.expect("del v6");
        assert!(!nl
            .addresses(Some(dummy.index))
            .await
            .expect("list")
            .iter()
            .any(|a| a.addr == labelled.addr || a.addr == v6.addr));

        // Routes (virtual_routes), idempotent both ways.
        nl.add_address(&IfAddress::new(
            dummy.index,
            "192.0.2.1".parse().unwrap(),
            24,
        ))
        .await
        .expect("add net");
        let route = Route {
            dst: "198.51.100.0".parse().unwrap(),
            prefix_len: 24,
            gateway: Some("192.0.2.254".parse().unwrap()),
            ifindex: Some(dummy.index),
            src: None,
            metric: None,
            table: None,
            scope: None,
        };
        nl.add_route(&route).await.expect("add route");
        nl.add_route(&route).await.expect("add route twice");
        nl.del_route(&route).await.expect("del route");
        nl.del_route(&route).await.expect("del route twice");

        // use_vmac: macvlan with the VRRP MAC, reused on a second call.
        let mac = [0x00, 0x00, 0x5e, 0x00, 0x01, 51];
        let idx = nl
            .ensure_macvlan("vrrp.51", dummy.index, mac)
            .await
            .expect("macvlan");
        let again = nl
            .ensure_macvlan("vrrp.51", dummy.index, mac)
            .await
            .expect("macvlan again");
        assert_eq!(idx, again);
        let vmac = nl.link_by_index(idx).await.expect("vmac link");
        assert_eq!(vmac.mac, Some(mac));
        assert_eq!(vmac.kind.as_deref(), Some("macvlan"));
        assert_eq!(vmac.parent, Some(dummy.index));
        assert!(vmac.admin_up);
        nl.del_link(idx).await.expect("del macvlan");
        nl.del_link(idx).await.expect("del macvlan twice");
    });
}
