//! A running TCP connection through one director survives when the other director is
//! killed -9 or hung (issue 16), with BFD (100 ms × 3) between the directors and BIRD or
//! FRR as the router. The client in the router's namespace reads a stream from a server on
//! the director that carries its flow (the VIP is on that director's `lo`); the other
//! director is killed -9, restarted, then hung (nftables drops everything on its link).
//! Asserted: the connection never breaks and data keeps arriving after each event. The
//! longest gap between two received chunks is printed with `MEASURE:` (no timing is
//! asserted: a busy machine stretches it).

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::netns::NetNs;
use common::ospf::{
    director_addr, host, wait_converged, BroadcastLab, Converged, Director, DirectorKind,
    DirectorSpec, Router, RouterKind, FAST, VIP_A,
};
use common::peers::{route_nexthops, OspfIface};
use common::process::{Daemon, Signal};
use common::wait::{wait_stable, wait_until};
use common::TestDir;

const CONVERGE: Duration = Duration::from_secs(60);
const HOLD: Duration = Duration::from_secs(2);
const PORT: u16 = 7000;

/// Streams 100-byte chunks every 10 ms to every client, each in its own thread.
const SERVER: &str = r#"
import socket, sys, threading, time
def serve(c):
    try:
        while True:
            c.sendall(b"x" * 100)
            time.sleep(0.01)
    except OSError:
        pass
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

/// Connects, then prints `connected PORT` and, until the stop file exists, one line per
/// receive gap over 50 ms (`gap START END`, wall-clock seconds); at the end `done BYTES
/// LAST` or `error WHY`.
const CLIENT: &str = r#"
import os, socket, sys, time
vip, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((vip, port), timeout=30)
print("connected", s.getsockname()[1], flush=True)
s.settimeout(0.2)
total, last = 0, time.time()
try:
    while not os.path.exists(stop):
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        if not data:
            print("error closed by peer", flush=True)
            sys.exit(1)
        now = time.time()
        if now - last > 0.05:
            print("gap %.3f %.3f" % (last, now), flush=True)
        total, last = total + len(data), now
except OSError as e:
    print("error", e, flush=True)
    sys.exit(1)
print("done %d %.3f" % (total, last), flush=True)
"#;

fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn nexthops_are(r1: &NetNs, want: &[Ipv4Addr]) -> Result<(), String> {
    match route_nexthops(r1, &host(VIP_A))? {
        n if n == want => Ok(()),
        n => Err(format!("nexthops {n:?}, want {want:?}")),
    }
}

/// Whether the namespace holds an established connection from `PORT`.
fn carries(ns: &NetNs, client_port: &str) -> bool {
    let out = ns.exec(&[
        "ss",
        "-Htn",
        "state",
        "established",
        &format!("( sport = :{PORT} and dport = :{client_port} )"),
    ]);
    !String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

fn scenario(router_kind: RouterKind) {
    let label = format!("{router_kind:?}").to_lowercase();
    let dir = TestDir::new("bfdtcp");
    let lab = BroadcastLab::new(2);
    let addrs = [director_addr(0), director_addr(1)];
    let iface = OspfIface::broadcast("eth0", FAST.hello, FAST.dead).bfd();
    let router = Router::start(router_kind, &lab.r1, &dir, vec![iface.clone()]);
    wait_until(CONVERGE, Duration::from_millis(100), || {
        router.is_dr("eth0")
    })
    .expect("router DR");
    let mut directors: Vec<Director> = (0..2)
        .map(|n| {
            Director::start(
                DirectorKind::Directord,
                &lab.directors[n],
                &dir,
                DirectorSpec::new(&format!("d{}", n + 1), addrs[n], iface.clone(), &[VIP_A]),
            )
        })
        .collect();
    let r1 = &lab.r1;
    wait_converged(
        &[&directors[0], &directors[1]],
        &router,
        r1,
        Converged {
            full: &addrs,
            vip: VIP_A,
            nexthops: 2,
        },
        CONVERGE,
        HOLD,
    )
    .expect("both Full, VIP_A via both");
    wait_stable(CONVERGE, HOLD, || {
        let up = router.bfd_up()?;
        if addrs.iter().all(|a| up.contains(&(*a, true))) {
            Ok(())
        } else {
            Err(format!("router's BFD sessions {up:?}"))
        }
    })
    .expect("router's BFD sessions Up");

    let logs = dir.subdir("streams");
    let _servers: Vec<Daemon> = (0..2)
        .map(|n| {
            Daemon::spawn(
                &lab.directors[n],
                &format!("server{n}"),
                &logs,
                &["python3", "-c", SERVER, &PORT.to_string()],
            )
        })
        .collect();
    let stop = logs.join("stop");
    let client = {
        let vip = VIP_A.to_string();
        let (port, stop) = (PORT.to_string(), stop.to_string_lossy().into_owned());
        let start = || {
            Daemon::spawn(
                r1,
                "client",
                &logs,
                &["python3", "-c", CLIENT, &vip, &port, &stop],
            )
        };
        // The servers may still be binding: retry until a connection stands.
        let mut client = start();
        let connected = wait_until(CONVERGE, Duration::from_millis(100), || {
            let log = client.log_text();
            if let Some(p) = log.lines().find_map(|l| l.strip_prefix("connected ")) {
                return Ok(p.trim().to_string());
            }
            if !client.is_running() {
                client = start();
            }
            Err(format!("client: {log}"))
        })
        .expect("client connected to the VIP")
        .value;
        (client, connected)
    };
    let (mut client, client_port) = client;
    let carrier = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        (0..2)
            .find(|&n| carries(&lab.directors[n], &client_port))
            .ok_or_else(|| "no director shows the connection".to_string())
    })
    .expect("the connection runs through one director")
    .value;
    let other = 1 - carrier;
    eprintln!(
        "{label}: the connection runs through d{}; d{} is the victim",
        carrier + 1,
        other + 1
    );

    // kill -9 of the other director: its nexthop goes, ours stays.
    let killed_at = wall();
    directors[other].process().signal(Signal::Kill);
    wait_until(Duration::from_secs(10), Duration::from_millis(5), || {
        nexthops_are(r1, &[addrs[carrier]])
    })
    .expect("router dropped the killed director's nexthop");
    // Restart: both nexthops again (the flow stays where it is: same hash, same order).
    directors[other].process().restart();
    wait_stable(CONVERGE, HOLD, || nexthops_are(r1, &addrs)).expect("both nexthops again");
    wait_stable(CONVERGE, HOLD, || {
        let up = router.bfd_up()?;
        if up.contains(&(addrs[other], true)) {
            Ok(())
        } else {
            Err(format!("router's BFD sessions {up:?}"))
        }
    })
    .expect("router's BFD session to the restarted director Up");

    // Hang the other director: link up, nothing in or out.
    let hang = "table netdev hang {\n  chain in { type filter hook ingress device eth0 priority 0; policy drop; }\n  chain out { type filter hook egress device eth0 priority 0; policy drop; }\n}\n";
    let rules = dir.write("hang.nft", hang);
    let hung_at = wall();
    lab.directors[other].exec_ok(&["nft", "-f", rules.to_str().expect("utf-8 path")]);
    wait_until(Duration::from_secs(10), Duration::from_millis(5), || {
        nexthops_are(r1, &[addrs[carrier]])
    })
    .expect("router dropped the hung director's nexthop");
    // Data must keep flowing for a while after the last event.
    let after = wall() + 1.0;
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        if wall() > after {
            Ok(())
        } else {
            Err("not yet".to_string())
        }
    })
    .expect("time passes");
    std::fs::write(&stop, "").expect("stop file");
    client
        .wait_exit(Duration::from_secs(10))
        .expect("client stops");
    let log = client.log_text();
    lab.directors[other].exec_ok(&["nft", "delete", "table", "netdev", "hang"]);

    assert!(
        !log.lines().any(|l| l.starts_with("error")),
        "{label}: the connection broke: {log}"
    );
    let (bytes, last) = log
        .lines()
        .find_map(|l| {
            let mut w = l.strip_prefix("done ")?.split_whitespace();
            Some((
                w.next()?.parse::<u64>().ok()?,
                w.next()?.parse::<f64>().ok()?,
            ))
        })
        .unwrap_or_else(|| panic!("{label}: client did not finish: {log}"));
    assert!(
        last > hung_at + 0.5,
        "{label}: no data after the hang (last chunk at {last}, hang at {hung_at}): {log}"
    );
    let gaps: Vec<(f64, f64)> = log
        .lines()
        .filter_map(|l| {
            let mut w = l.strip_prefix("gap ")?.split_whitespace();
            Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
        })
        .collect();
    let longest = |from: f64, to: f64| {
        gaps.iter()
            .filter(|(start, end)| *end > from && *start < to)
            .map(|(start, end)| end - start)
            .fold(0.0_f64, f64::max)
    };
    println!(
        "MEASURE: {label} router, BFD 100 ms x 3: TCP stream through the surviving director ({bytes} bytes): longest gap between chunks {:.3} s around kill -9 of the other, {:.3} s around its hang (gaps over 50 ms: {})",
        longest(killed_at - 0.5, killed_at + 5.0),
        longest(hung_at - 0.5, hung_at + 5.0),
        gaps.len()
    );
}

#[test]
fn bird_router_bfd_tcp_survives_the_other_director() {
    require_root!();
    require_programs!("bird", "birdc", "python3", "ss", "nft");
    scenario(RouterKind::Bird);
}

#[test]
fn frr_router_bfd_tcp_survives_the_other_director() {
    require_root!();
    require_programs!(
        "/usr/lib/frr/zebra",
        "/usr/lib/frr/ospfd",
        "/usr/lib/frr/bfdd",
        "vtysh",
        "python3",
        "ss",
        "nft"
    );
    scenario(RouterKind::Frr);
}
