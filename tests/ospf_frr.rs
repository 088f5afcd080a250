//! OSPF interop with FRR 8 (zebra + ospfd) as the upstream router: two `directord` on a broadcast
//! segment (lifecycle: Full, ECMP, withdraw, SIGTERM, kill -9 + restart), two on
//! point-to-point links, and MD5 (a wrong key never forms an adjacency).

mod common;

use common::ospf::RouterKind;
use common::ospf_suite;

#[test]
fn frr_router_broadcast_two_directors() {
    require_root!();
    require_programs!("vtysh", "/usr/lib/frr/zebra", "/usr/lib/frr/ospfd");
    ospf_suite::broadcast_lifecycle(RouterKind::Frr);
}

#[test]
fn frr_router_point_to_point() {
    require_root!();
    require_programs!("vtysh", "/usr/lib/frr/zebra", "/usr/lib/frr/ospfd");
    ospf_suite::point_to_point(RouterKind::Frr);
}

#[test]
fn frr_router_md5() {
    require_root!();
    require_programs!("vtysh", "/usr/lib/frr/zebra", "/usr/lib/frr/ospfd");
    ospf_suite::md5(RouterKind::Frr);
}

#[test]
fn frr_router_dr_director_shutdown() {
    require_root!();
    require_programs!("vtysh", "/usr/lib/frr/zebra", "/usr/lib/frr/ospfd");
    ospf_suite::dr_director_shutdown(RouterKind::Frr);
}

#[test]
fn frr_router_sigterm_drops_nexthop_before_exit() {
    require_root!();
    require_programs!("vtysh", "/usr/lib/frr/zebra", "/usr/lib/frr/ospfd");
    ospf_suite::sigterm_order(RouterKind::Frr);
}
