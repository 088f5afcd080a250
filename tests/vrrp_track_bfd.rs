//! keepalived's `bfd_instance` + `track_bfd` (issue 16): a `directord` VRRP node follows a
//! BFD session to BIRD (`protocol bfd { neighbor … }`) in the next namespace. VI_1 tracks
//! it without weight: FAULT while the session is not Up. VI_2 tracks it with weight −30:
//! priority 70 while not Up, 100 while Up. BIRD starts after directord, is killed -9 and
//! started again.

mod common;
mod vrrp_common;

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

fn states(node: &Node) -> Result<(String, String, u64), String> {
    Ok((
        node.state("VI_1")?,
        node.state("VI_2")?,
        node.priority("VI_2")?,
    ))
}

fn bfd_down(node: &Node) -> Result<(), String> {
    match states(node)? {
        (s1, s2, 70) if s1 == "FAULT" && s2 == "MASTER" => Ok(()),
        other => Err(format!("want (FAULT, MASTER, 70), have {other:?}")),
    }
}

fn bfd_up(node: &Node) -> Result<(), String> {
    match states(node)? {
        (s1, s2, 100) if s1 == "MASTER" && s2 == "MASTER" => Ok(()),
        other => Err(format!("want (MASTER, MASTER, 100), have {other:?}")),
    }
}

#[test]
fn track_bfd_follows_a_bfd_session_to_bird() {
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
    ]);
    let node = Node::start(&a, &dir, "a", &conf);
    // No peer yet: the session is Down.
    wait_stable(T, HOLD, || bfd_down(&node)).unwrap_or_else(|e| panic!("before BIRD: {e}"));

    let mut bird = start_bird(&b, &dir);
    wait_stable(T, HOLD, || bfd_up(&node)).unwrap_or_else(|e| panic!("BIRD up: {e}"));

    bird.signal(Signal::Kill);
    wait_until(T, POLL, || bfd_down(&node)).unwrap_or_else(|e| panic!("BIRD killed: {e}"));

    bird.restart();
    wait_stable(T, HOLD, || bfd_up(&node)).unwrap_or_else(|e| panic!("BIRD back: {e}"));
}
