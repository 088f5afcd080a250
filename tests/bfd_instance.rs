//! keepalived's `bfd_instance`, `track_bfd` and `BFD_CHECK` (issue 16): a `directord` node
//! follows a BFD session to BIRD (`protocol bfd { neighbor … }`) in the next namespace.
//! VI_1 tracks it without weight: FAULT while the session is not Up. VI_2 tracks it with
//! weight −30: priority 70 while not Up, 100 while Up. The real server at BIRD's address
//! has `BFD_CHECK { name bird }`: down while the session is not Up, up while it is. BIRD
//! starts after directord, is killed -9 and started again.

mod common;
mod vrrp_common;

use std::process::Command;
use std::time::Duration;

use common::netns::{NetNs, Switch};
use common::process::{Daemon, Signal};
use common::wait::{wait_stable, wait_until};
use common::TestDir;
use vrrp_common::{directord_conf, instance, Node};

const T: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);
const HOLD: Duration = Duration::from_secs(2);

fn bird_conf() -> String {
    "router id 10.99.30.22;\nlog stderr all;\nprotocol device { scan time 2; }\n\
     protocol bfd {\n  interface \"eth0\" { min rx interval 100 ms; min tx interval 100 ms; idle tx interval 1000 ms; multiplier 3; };\n  \
     neighbor 10.99.30.21 dev \"eth0\";\n}\n"
        .to_string()
}

fn start_bird(ns: &NetNs, dir: &TestDir) -> Daemon {
    let sub = dir.subdir("bird");
    let conf = dir.write("bird/bird.conf", &bird_conf());
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    Daemon::spawn(
        ns,
        "bird",
        &sub,
        &[
            "bird".to_string(),
            "-f".into(),
            "-c".into(),
            path(&conf),
            "-s".into(),
            path(&sub.join("bird.ctl")),
            "-P".into(),
            path(&sub.join("bird.pid")),
        ],
    )
}

/// `directorctl -j services`: whether the real server 10.99.30.22:80 is up (in
/// master-backup mode a down real server leaves the table, as in keepalived).
fn real_up(dir: &TestDir) -> Result<bool, String> {
    let socket = dir.path().join("a").join("run").join("directord.sock");
    let out = Command::new(env!("CARGO_BIN_EXE_directorctl"))
        .arg("-s")
        .arg(&socket)
        .args(["-j", "services"])
        .output()
        .map_err(|e| format!("directorctl: {e}"))?;
    let view: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("directorctl JSON: {e}"))?;
    let service = view["services"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["address"] == "10.99.30.100:80")
        .ok_or_else(|| format!("no service 10.99.30.100:80 in {view}"))?;
    Ok(service["reals"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["address"] == "10.99.30.22:80")
        .is_some_and(|r| r["health"]["up"].as_bool() == Some(true)))
}

fn states(node: &Node, dir: &TestDir) -> Result<(String, String, u64, bool), String> {
    Ok((
        node.state("VI_1")?,
        node.state("VI_2")?,
        node.priority("VI_2")?,
        real_up(dir)?,
    ))
}

fn bfd_down(node: &Node, dir: &TestDir) -> Result<(), String> {
    match states(node, dir)? {
        (s1, s2, 70, false) if s1 == "FAULT" && s2 == "MASTER" => Ok(()),
        other => Err(format!(
            "want (FAULT, MASTER, 70, real down), have {other:?}"
        )),
    }
}

fn bfd_up(node: &Node, dir: &TestDir) -> Result<(), String> {
    match states(node, dir)? {
        (s1, s2, 100, true) if s1 == "MASTER" && s2 == "MASTER" => Ok(()),
        other => Err(format!(
            "want (MASTER, MASTER, 100, real up), have {other:?}"
        )),
    }
}

#[test]
fn track_bfd_and_bfd_check_follow_a_session_to_bird() {
    require_root!();
    require_programs!("bird");
    let dir = TestDir::new("vrrp-bfd");
    let sw = Switch::new("vbsw");
    let a = NetNs::new("vba");
    let b = NetNs::new("vbb");
    for (i, h) in [&a, &b].into_iter().enumerate() {
        sw.attach(h, "eth0");
        h.add_addr("eth0", &format!("10.99.30.{}/24", 21 + i));
    }
    let bfd = "bfd_instance bird {\n    neighbor_ip 10.99.30.22\n    min_rx 100\n    min_tx 100\n    multiplier 3\n}";
    let conf = directord_conf(&[
        bfd,
        &instance(
            "VI_1",
            "eth0",
            61,
            100,
            &["10.99.30.200/24"],
            "    track_bfd {\n        bird\n    }",
        ),
        &instance(
            "VI_2",
            "eth0",
            62,
            100,
            &["10.99.30.201/24"],
            "    track_bfd {\n        bird weight -30\n    }",
        ),
        "virtual_server 10.99.30.100 80 {\n    lb_algo mh\n    lb_kind DR\n    protocol TCP\n    \
         real_server 10.99.30.22 80 {\n        BFD_CHECK {\n            name bird\n        }\n    }\n}",
    ]);
    let node = Node::start(&a, &dir, "a", &conf);
    // No peer yet: the session is Down.
    wait_stable(T, HOLD, || bfd_down(&node, &dir)).unwrap_or_else(|e| panic!("before BIRD: {e}"));

    let mut bird = start_bird(&b, &dir);
    wait_stable(T, HOLD, || bfd_up(&node, &dir)).unwrap_or_else(|e| panic!("BIRD up: {e}"));

    bird.signal(Signal::Kill);
    wait_until(T, POLL, || bfd_down(&node, &dir)).unwrap_or_else(|e| panic!("BIRD killed: {e}"));

    bird.restart();
    wait_stable(T, HOLD, || bfd_up(&node, &dir)).unwrap_or_else(|e| panic!("BIRD back: {e}"));
}
