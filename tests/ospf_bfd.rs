//! BFD to the routers (issue 16): two `directord` with `bfd { min_rx 100 min_tx 100
//! idle_tx 1000 multiplier 3 }` on their OSPF interface, BIRD (`bfd yes` + `protocol bfd`)
//! or FRR (`ip ospf bfd` + bfdd) as the router. Sessions come Up on both sides; kill -9 of
//! one director makes the router drop its nexthop long before the dead interval (4 s); a
//! restart brings it back; and when the router's BFD dies, the directors take the OSPF
//! neighbor Down at once. A hung director (nftables drops everything in and out) loses
//! its nexthop as fast. Figures are printed with `MEASURE:`, not asserted.

mod common;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::netns::NetNs;
use common::ospf::{
    director_addr, host, wait_converged, BroadcastLab, Converged, Director, DirectorKind,
    DirectorSpec, Router, RouterKind, FAST, VIP_A,
};
use common::peers::{route_nexthops, OspfIface};
use common::process::Signal;
use common::wait::{wait_stable, wait_until};
use common::TestDir;

const CONVERGE: Duration = Duration::from_secs(60);
const HOLD: Duration = Duration::from_secs(2);
const DIRECTORCTL: &str = env!("CARGO_BIN_EXE_directorctl");

fn directorctl_bfd(d: &Director) -> Result<serde_json::Value, String> {
    let sock = d.spec.control_socket.as_ref().ok_or("no control socket")?;
    let out = Command::new(DIRECTORCTL)
        .arg("-s")
        .arg(sock)
        .args(["--json", "bfd"])
        .output()
        .map_err(|e| e.to_string())?;
    // Exit 1 with an answer: a session is not Up; the caller looks at which.
    if out.stdout.is_empty() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// `Ok` when the director's only BFD session (to the router) is Up.
fn our_session_up(d: &Director, router: Ipv4Addr) -> Result<serde_json::Value, String> {
    let v = directorctl_bfd(d)?;
    let s = v["sessions"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["peer"] == router.to_string()))
        .ok_or(format!("no session to {router}: {v}"))?;
    if s["state"] == "Up" {
        Ok(s.clone())
    } else {
        Err(format!("session {s}"))
    }
}

fn router_sessions_up(router: &Router, peers: &[Ipv4Addr]) -> Result<(), String> {
    let s = router.bfd_up()?;
    for p in peers {
        if !s.contains(&(*p, true)) {
            return Err(format!("router BFD sessions {s:?}, want {p} Up"));
        }
    }
    Ok(())
}

fn nexthops(r1: &NetNs) -> Result<Vec<Ipv4Addr>, String> {
    route_nexthops(r1, &host(VIP_A))
}

fn scenario(router_kind: RouterKind) {
    let label = format!("{router_kind:?}").to_lowercase();
    let dir = TestDir::new("bfd");
    let lab = BroadcastLab::new(2);
    let (d1, d2) = (director_addr(0), director_addr(1));
    let iface = OspfIface::broadcast("eth0", FAST.hello, FAST.dead).bfd();
    let mut router = Router::start(router_kind, &lab.r1, &dir, vec![iface.clone()]);
    wait_until(CONVERGE, Duration::from_millis(100), || {
        router.is_dr("eth0")
    })
    .expect("router DR");
    let start = |n: usize, name: &str, addr| {
        Director::start(
            DirectorKind::Directord,
            &lab.directors[n],
            &dir,
            DirectorSpec::new(name, addr, iface.clone(), &[VIP_A]),
        )
    };
    let mut dir1 = start(0, "d1", d1);
    let mut dir2 = start(1, "d2", d2);
    let r1 = &lab.r1;
    wait_converged(
        &[&dir1, &dir2],
        &router,
        r1,
        Converged {
            full: &[d1, d2],
            vip: VIP_A,
            nexthops: 2,
        },
        CONVERGE,
        HOLD,
    )
    .expect("both Full, VIP_A via d1 and d2");
    let router_addr = common::ospf::ROUTER_ID;
    // Sessions Up on both sides.
    wait_stable(CONVERGE, HOLD, || router_sessions_up(&router, &[d1, d2]))
        .expect("router's BFD sessions to d1 and d2 Up");
    let ours = wait_stable(CONVERGE, HOLD, || {
        our_session_up(&dir1, router_addr)?;
        our_session_up(&dir2, router_addr)
    })
    .expect("directors' BFD sessions to the router Up")
    .value;
    eprintln!("{label}: d2's session: {ours}");
    assert_eq!(ours["tx_interval_us"], 100_000, "negotiated 100 ms");
    assert_eq!(ours["detection_time_us"], 300_000, "3 × 100 ms");

    // kill -9 of d2: the router's BFD detects it, OSPF drops the neighbor, the route
    // loses d2 — well before the 4 s dead interval.
    let t0 = Instant::now();
    dir2.process().signal(Signal::Kill);
    wait_until(
        Duration::from_secs(10),
        Duration::from_millis(5),
        || match nexthops(r1)? {
            n if n == [d1] => Ok(()),
            n => Err(format!("nexthops {n:?}")),
        },
    )
    .expect("router dropped d2's nexthop");
    println!(
        "MEASURE: {label} router, BFD 100 ms x 3: kill -9 director -> nexthop dropped in {:?} (OSPF dead interval {} s)",
        t0.elapsed(),
        FAST.dead
    );

    // Restart: the nexthop returns and the session is Up again.
    dir2.process().restart();
    wait_stable(CONVERGE, HOLD, || match nexthops(r1)? {
        n if n == [d1, d2] => Ok(()),
        n => Err(format!("nexthops {n:?}")),
    })
    .expect("d2's nexthop back after restart");
    wait_stable(CONVERGE, HOLD, || router_sessions_up(&router, &[d1, d2]))
        .expect("router's BFD session to d2 Up again");

    // A hung director: link up, every packet in and out dropped (nftables netdev ingress and
    // egress on its interface). The router's BFD detects it the same way.
    let hang = "table netdev hang {\n  chain in { type filter hook ingress device eth0 priority 0; policy drop; }\n  chain out { type filter hook egress device eth0 priority 0; policy drop; }\n}\n";
    let rules = dir.write("hang.nft", hang);
    let t0 = Instant::now();
    lab.directors[1].exec_ok(&["nft", "-f", rules.to_str().expect("utf-8 path")]);
    wait_until(
        Duration::from_secs(10),
        Duration::from_millis(5),
        || match nexthops(r1)? {
            n if n == [d1] => Ok(()),
            n => Err(format!("nexthops {n:?}")),
        },
    )
    .expect("router dropped the hung director's nexthop");
    println!(
        "MEASURE: {label} router, BFD 100 ms x 3: hung director (nft drop in+out) -> nexthop dropped in {:?} (OSPF dead interval {} s)",
        t0.elapsed(),
        FAST.dead
    );
    lab.directors[1].exec_ok(&["nft", "delete", "table", "netdev", "hang"]);
    wait_stable(CONVERGE, HOLD, || match nexthops(r1)? {
        n if n == [d1, d2] => Ok(()),
        n => Err(format!("nexthops {n:?}")),
    })
    .expect("d2's nexthop back once the link passes packets again");

    // The router's BFD dies: the directors take their OSPF neighbor Down at once (our
    // detection time, not the dead interval).
    const DOWN_LINE: &str = "OSPF neighbor declared down by an outside detector";
    let before = dir1.process().log_text().matches(DOWN_LINE).count();
    for line in dir1
        .process()
        .log_text()
        .lines()
        .filter(|l| l.contains("BFD"))
    {
        eprintln!("d1 before: {line}");
    }
    let t0 = Instant::now();
    router.kill_bfd();
    wait_until(Duration::from_secs(10), Duration::from_millis(10), || {
        if dir1.process().log_text().matches(DOWN_LINE).count() > before {
            Ok(())
        } else {
            Err("no neighbor down yet".to_string())
        }
    })
    .expect("d1 took the router's OSPF neighbor Down after BFD Down");
    println!(
        "MEASURE: {label} router's BFD killed -> director's OSPF neighbor Down in {:?} (dead interval {} s)",
        t0.elapsed(),
        FAST.dead
    );
}

#[test]
fn bird_router_bfd() {
    require_root!();
    require_programs!("bird", "birdc");
    scenario(RouterKind::Bird);
}

#[test]
fn frr_router_bfd() {
    require_root!();
    require_programs!(
        "/usr/lib/frr/zebra",
        "/usr/lib/frr/ospfd",
        "/usr/lib/frr/bfdd",
        "vtysh"
    );
    scenario(RouterKind::Frr);
}

/// Keyed SHA1 with BIRD: the director with the right key has its session Up, the one with a
/// wrong key never comes Up (its packets count as `bad_digest`), and OSPF works for both.
#[test]
fn bird_router_bfd_keyed_sha1_and_wrong_key() {
    require_root!();
    require_programs!("bird", "birdc");
    let dir = TestDir::new("bfdk");
    let lab = BroadcastLab::new(2);
    let (d1, d2) = (director_addr(0), director_addr(1));
    let iface = OspfIface::broadcast("eth0", FAST.hello, FAST.dead).bfd_sha1(5, "bfd-sha1-key");
    let router = Router::start(RouterKind::Bird, &lab.r1, &dir, vec![iface.clone()]);
    wait_until(CONVERGE, Duration::from_millis(100), || {
        router.is_dr("eth0")
    })
    .expect("router DR");
    let right = Director::start(
        DirectorKind::Directord,
        &lab.directors[0],
        &dir,
        DirectorSpec::new("d1", d1, iface.clone(), &[VIP_A]),
    );
    let wrong = Director::start(
        DirectorKind::Directord,
        &lab.directors[1],
        &dir,
        DirectorSpec::new(
            "d2",
            d2,
            OspfIface::broadcast("eth0", FAST.hello, FAST.dead).bfd_sha1(5, "not-the-key"),
            &[VIP_A],
        ),
    );
    wait_converged(
        &[&right, &wrong],
        &router,
        &lab.r1,
        Converged {
            full: &[d1, d2],
            vip: VIP_A,
            nexthops: 2,
        },
        CONVERGE,
        HOLD,
    )
    .expect("OSPF Full with both and 2 nexthops, whatever the BFD keys");
    let router_addr = common::ospf::ROUTER_ID;
    let s = wait_stable(CONVERGE, HOLD, || our_session_up(&right, router_addr))
        .expect("d1 (right key) Up")
        .value;
    assert_eq!(s["authentication"], "keyed_sha1");
    wait_stable(CONVERGE, HOLD, || router_sessions_up(&router, &[d1])).expect("BIRD: d1 Up");
    // d2 never comes Up on either side, and counts BIRD's packets as bad digests.
    let v = common::wait::hold_for(Duration::from_secs(3), || {
        let v = directorctl_bfd(&wrong)?;
        match v["sessions"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["peer"] == router_addr.to_string()))
        {
            Some(s) if s["state"] != "Up" => Ok(v),
            other => Err(format!("d2's session: {other:?}")),
        }
    })
    .expect("d2 (wrong key) never Up");
    let s = v["sessions"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["peer"] == router_addr.to_string()))
        .cloned()
        .unwrap_or_default();
    assert!(
        s["counters"]["drops"]["bad_digest"].as_u64().unwrap_or(0) > 0,
        "d2 counted no bad digest: {s}"
    );
    assert!(!router.bfd_up().unwrap_or_default().contains(&(d2, true)));
    wait_stable(CONVERGE, HOLD, || match nexthops(&lab.r1)? {
        n if n == [d1, d2] => Ok(()),
        n => Err(format!("nexthops {n:?}")),
    })
    .expect("both nexthops stay");
}
