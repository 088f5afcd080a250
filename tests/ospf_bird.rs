//! OSPF interop with BIRD 2 as the upstream router: two `directord` on a broadcast
//! segment (lifecycle: Full, ECMP, withdraw, SIGTERM, kill -9 + restart), two on
//! point-to-point links, and MD5 (a wrong key never forms an adjacency).

mod common;

use common::ospf::RouterKind;
use common::ospf_suite;

#[test]
fn bird_router_broadcast_two_directors() {
    require_root!();
    require_programs!("bird", "birdc");
    ospf_suite::broadcast_lifecycle(RouterKind::Bird);
}

#[test]
fn bird_router_point_to_point() {
    require_root!();
    require_programs!("bird", "birdc");
    ospf_suite::point_to_point(RouterKind::Bird);
}

#[test]
fn bird_router_md5() {
    require_root!();
    require_programs!("bird", "birdc");
    ospf_suite::md5(RouterKind::Bird);
}

#[test]
fn bird_router_dr_director_shutdown() {
    require_root!();
    require_programs!("bird", "birdc");
    ospf_suite::dr_director_shutdown(RouterKind::Bird);
}

#[test]
fn bird_router_sigterm_drops_nexthop_before_exit() {
    require_root!();
    require_programs!("bird", "birdc");
    ospf_suite::sigterm_order(RouterKind::Bird);
}
