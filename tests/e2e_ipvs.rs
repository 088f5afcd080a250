//! End-to-end scenario table (issue 14) on the IPVS dataplane, run against BIRD and against
//! FRR as the router, inside the IPVS VM (the host kernel has no IPVS); what `scripts/test`
//! runs, both routers' labs side by side in User-Mode Linux:
//!
//! ```text
//! DIRECTOR_REQUIRE_IPVS=1 IPVSVM_BACKEND=uml \
//!     CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$PWD/scripts/lab/ipvs-vm \
//!     cargo test --test e2e_ipvs -- --test-threads=2
//! ```
//!
//! The lab of `tests/e2e_scenarios.rs` with `dataplane ipvs`: three `directord`s, each in its
//! own namespace with its own IPVS tables (DR, `mh` with `mh-fallback`, `sloppy_tcp` as the
//! daemon sets it in active-active mode), OSPF with BFD 500 ms × 6, 12 streams with a line
//! every 500 ms: the guest is slower than the host (QEMU's TCG several times; UML one CPU
//! for both labs). The rows and what each
//! asserts on IPVS are in `tests/common/e2e_table.rs`; in short, IPVS keeps a connection
//! entry per flow, so adding a real server (c) breaks no stream (each stays on its server
//! while new connections from some of their sources go to the new one), and a crash after
//! it (c′) breaks exactly the streams that land on a director without their entry and whose
//! source `mh` now sends to the new server. docs/dataplane.md ("Connection state") explains
//! the difference from nftables.
//!
//! Without IPVS each test says so and passes (`cargo test` on the host builds and runs this
//! binary too); `DIRECTOR_REQUIRE_IPVS=1`, which `scripts/test` sets for its VM step, makes
//! that a failure.

mod common;

use std::path::Path;

use common::e2e::LabDataplane;
use common::e2e_table::scenario_table;
use common::ospf::RouterKind;

/// Whether IPVS is there (the VM); when it is not, says so, or fails under
/// `DIRECTOR_REQUIRE_IPVS=1`.
fn ipvs_or_skip(test: &str) -> bool {
    if Path::new("/proc/net/ip_vs").exists() {
        return true;
    }
    let why = "no IPVS in this kernel; run through scripts/lab/ipvs-vm (see the module doc)";
    assert!(
        !std::env::var("DIRECTOR_REQUIRE_IPVS").is_ok_and(|v| v == "1"),
        "{test}: DIRECTOR_REQUIRE_IPVS=1 but {why}"
    );
    eprintln!("SKIP {test}: {why}");
    false
}

#[test]
fn ipvs_scenarios_with_bird_router() {
    if !ipvs_or_skip("ipvs_scenarios_with_bird_router") {
        return;
    }
    require_root!();
    require_programs!("bird", "birdc", "ipvsadm", "python3");
    scenario_table(RouterKind::Bird, LabDataplane::Ipvs);
}

#[test]
fn ipvs_scenarios_with_frr_router() {
    if !ipvs_or_skip("ipvs_scenarios_with_frr_router") {
        return;
    }
    require_root!();
    require_programs!(
        "/usr/lib/frr/zebra",
        "/usr/lib/frr/ospfd",
        "/usr/lib/frr/bfdd",
        "vtysh",
        "ipvsadm",
        "python3"
    );
    scenario_table(RouterKind::Frr, LabDataplane::Ipvs);
}
