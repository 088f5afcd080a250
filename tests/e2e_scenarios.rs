//! End-to-end scenario table (issue 14) on the nftables dataplane, run against BIRD and
//! against FRR as the router: three `directord`s (ECMP over three nexthops, nftables DR,
//! OSPF with BFD 200 ms × 5), real servers b1..b3 (b4 joins in (c)), and 24 long-lived TCP
//! streams with a running checksum in both directions plus short probe connections
//! (topology and load generator in `tests/common/e2e.rs`). In order, on one lab:
//!
//! - (a) `directorctl drain --all` on the director carrying the most streams, then
//!   `undrain --all`: no stream breaks, no probe fails;
//! - (b) kill -9 of the director carrying the most streams (BFD takes its nexthop away),
//!   then its restart: no stream breaks;
//! - (c) a real server added to the service (every director reloaded): only streams whose
//!   source slot the Maglev table hands to the new server break — DR through a netdev
//!   ingress hook is stateless, so such a stream's next packet reaches a server that never
//!   saw it (docs/dataplane.md, "Draining") — and every stream then runs on the server the
//!   table predicts;
//! - (d) a reload that adds another service, then one that adds a third and removes the
//!   second: no stream breaks, the routes of the other VIPs follow;
//! - (e) the real server carrying the most streams dies: its streams break, and only they
//!   (and any stream whose slot the Maglev table moves with it, predicted).
//!
//! The table itself is `tests/common/e2e_table.rs`, shared with the IPVS run in the VM
//! (`tests/e2e_ipvs.rs`). Each row checks that all three directors end with identical
//! tables and the route has exactly the announcing directors. The table is printed at the
//! end; figures are printed with `MEASURE:`, never asserted.

mod common;

use common::e2e::LabDataplane;
use common::e2e_table::scenario_table;
use common::ospf::RouterKind;

#[test]
fn scenarios_with_bird_router() {
    require_root!();
    require_programs!("bird", "birdc", "nft", "python3");
    scenario_table(RouterKind::Bird, LabDataplane::Nftables);
}

#[test]
fn scenarios_with_frr_router() {
    require_root!();
    require_programs!(
        "/usr/lib/frr/zebra",
        "/usr/lib/frr/ospfd",
        "/usr/lib/frr/bfdd",
        "vtysh",
        "nft",
        "python3"
    );
    scenario_table(RouterKind::Frr, LabDataplane::Nftables);
}
