//! Two directord nodes running VRRP on one segment (root only, network namespaces): election,
//! graceful and kill -9 failover, preemption and nopreempt, restart after kill -9 removing
//! the leftover VIP, sync groups, track_script, track_file, and bad adverts changing nothing.
//! Synchronisation is by polling addresses and status files, never by fixed sleeps.

mod common;
mod vrrp_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::netns::{NetNs, Switch};
use common::process::Signal;
use common::wait::{hold_for, wait_stable, wait_until};
use common::TestDir;
use vrrp_common::{directord_conf, has_addr, instance, Node, VipMonitor};

const VIP: &str = "10.99.0.200/24";
const T: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(20);

/// Two hosts on a switch: eth0 = 10.99.<net>.21 / .22.
fn pair(tag: &str, net: u8) -> (Switch, NetNs, NetNs) {
    let sw = Switch::new(&format!("{tag}sw"));
    let a = NetNs::new(&format!("{tag}a"));
    let b = NetNs::new(&format!("{tag}b"));
    for (i, h) in [&a, &b].into_iter().enumerate() {
        sw.attach(h, "eth0");
        h.add_addr("eth0", &format!("10.99.{net}.{}/24", 21 + i));
    }
    (sw, a, b)
}

/// VI_1 on eth0, VRID 51, VRRPv2, the VIP.
fn conf(prio: u8) -> String {
    directord_conf(&[&instance("VI_1", "eth0", 51, prio, &[VIP], "")])
}

fn only_holder(holder: &NetNs, other: &NetNs, cidr: &str) -> Result<(), String> {
    match (has_addr(holder, cidr), has_addr(other, cidr)) {
        (true, false) => Ok(()),
        (h, o) => Err(format!(
            "{cidr}: {}={h} {}={o}",
            holder.name(),
            other.name()
        )),
    }
}

#[test]
fn election_failover_preemption_and_restart_after_kill() {
    require_root!();
    let dir = TestDir::new("vrrp-pair");
    let (_sw, a, b) = pair("vp", 0);
    let alive = Arc::new(Mutex::new(vec![true, true]));
    let monitor = VipMonitor::start(vec![a.name().into(), b.name().into()], VIP, alive.clone());
    let mut na = Node::start(&a, &dir, "a", &conf(100));
    let _nb = Node::start(&b, &dir, "b", &conf(90));

    // Election: the higher priority holds the VIP, steadily.
    wait_stable(T, Duration::from_secs(3), || only_holder(&a, &b, VIP))
        .unwrap_or_else(|e| panic!("election: {e}"));

    // Graceful stop: priority 0, the backup takes over and the old master lets go.
    na.daemon.signal(Signal::Term);
    na.daemon
        .wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("a did not stop: {e}"));
    wait_until(T, POLL, || only_holder(&b, &a, VIP)).unwrap_or_else(|e| panic!("SIGTERM: {e}"));

    // Preemption: the restarted higher priority node takes the VIP back.
    let mut na = Node::start(&a, &dir, "a2", &conf(100));
    wait_stable(T, Duration::from_secs(2), || only_holder(&a, &b, VIP))
        .unwrap_or_else(|e| panic!("preemption: {e}"));

    // kill -9: no priority 0; the backup waits Master_Down_Interval, then takes over.
    // The dead node keeps its VIP (nothing runs to remove it): not a second master.
    alive.lock().unwrap()[0] = false;
    na.daemon.signal(Signal::Kill);
    let _ = na.daemon.wait_exit(Duration::from_secs(5));
    wait_until(T, POLL, || {
        has_addr(&b, VIP)
            .then_some(())
            .ok_or_else(|| "b has no VIP".to_string())
    })
    .unwrap_or_else(|e| panic!("kill -9: {e}"));
    assert!(
        has_addr(&a, VIP),
        "the killed master's address stays until it restarts"
    );

    // Restart as BACKUP (lower priority now): the leftover address goes at once.
    let _na = Node::start(&a, &dir, "a3", &conf(80));
    alive.lock().unwrap()[0] = true;
    wait_stable(T, Duration::from_secs(2), || only_holder(&b, &a, VIP))
        .unwrap_or_else(|e| panic!("restart after kill: {e}"));

    let m = monitor.stop();
    assert!(
        m.longest_overlap <= Duration::from_secs(1),
        "two live masters for {:?} (more than one advert interval)",
        m.longest_overlap
    );
}

#[test]
fn nopreempt_keeps_the_current_master() {
    require_root!();
    let dir = TestDir::new("vrrp-nopreempt");
    let (_sw, a, b) = pair("vn", 1);
    let vip = "10.99.1.200/24";
    let conf =
        |prio: u8| directord_conf(&[&instance("VI_1", "eth0", 52, prio, &[vip], "    nopreempt")]);
    let _nb = Node::start(&b, &dir, "b", &conf(90));
    wait_stable(T, Duration::from_secs(1), || only_holder(&b, &a, vip))
        .unwrap_or_else(|e| panic!("b alone: {e}"));
    let na = Node::start(&a, &dir, "a", &conf(100));
    na.wait_state("VI_1", "BACKUP", T)
        .unwrap_or_else(|e| panic!("a: {e}"));
    // Well past Master_Down_Interval (3.6 s): the higher priority stays backup.
    hold_for(Duration::from_secs(6), || only_holder(&b, &a, vip))
        .unwrap_or_else(|e| panic!("nopreempt: {e}"));
}

#[test]
fn sync_group_moves_wan_and_lan_together() {
    require_root!();
    let dir = TestDir::new("vrrp-sync");
    let wan = Switch::new("vswan");
    let lan = Switch::new("vslan");
    let a = NetNs::new("vsa");
    let b = NetNs::new("vsb");
    for (i, h) in [&a, &b].into_iter().enumerate() {
        wan.attach(h, "eth0");
        lan.attach(h, "eth1");
        h.add_addr("eth0", &format!("10.99.2.{}/24", 21 + i));
        h.add_addr("eth1", &format!("10.99.3.{}/24", 21 + i));
    }
    let (wan_vip, lan_vip) = ("10.99.2.200/24", "10.99.3.200/24");
    let conf = |prio: u8| {
        directord_conf(&[
            &instance("VI_WAN", "eth0", 10, prio, &[wan_vip], ""),
            &instance("VI_LAN", "eth1", 20, prio, &[lan_vip], ""),
            "vrrp_sync_group G {\n    group {\n        VI_WAN\n        VI_LAN\n    }\n}",
        ])
    };
    let na = Node::start(&a, &dir, "a", &conf(100));
    let _nb = Node::start(&b, &dir, "b", &conf(90));
    let both_on = |h: &NetNs, o: &NetNs| {
        only_holder(h, o, wan_vip)?;
        only_holder(h, o, lan_vip)
    };
    wait_stable(T, Duration::from_secs(2), || both_on(&a, &b))
        .unwrap_or_else(|e| panic!("initial: {e}"));

    // The LAN link of the master fails: LAN goes FAULT, WAN follows, b takes both.
    a.ip(&["link", "set", "eth1", "down"]);
    wait_stable(T, Duration::from_secs(2), || both_on(&b, &a))
        .unwrap_or_else(|e| panic!("after LAN link loss: {e}"));
    assert_eq!(na.state("VI_WAN").as_deref(), Ok("FAULT"));
    assert_eq!(na.state("VI_LAN").as_deref(), Ok("FAULT"));
    // In FAULT nothing is sent (the link is down; WAN resigned once with priority 0).
    let sent = |i: &str| na.counter(i, "adverts_tx");
    let (lan_tx, wan_tx) = (sent("VI_LAN"), sent("VI_WAN"));
    hold_for(Duration::from_secs(3), || {
        (sent("VI_LAN") == lan_tx && sent("VI_WAN") == wan_tx)
            .then_some(())
            .ok_or_else(|| "adverts sent in FAULT".to_string())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(na.counter("VI_WAN", "priority_zero_tx"), Ok(1));

    // Link back: both come back to a together (preemption).
    a.ip(&["link", "set", "eth1", "up"]);
    wait_stable(T, Duration::from_secs(2), || both_on(&a, &b))
        .unwrap_or_else(|e| panic!("after LAN link back: {e}"));
}

#[test]
fn track_script_lowers_priority_and_hands_over() {
    require_root!();
    let dir = TestDir::new("vrrp-track");
    let (_sw, a, b) = pair("vt", 4);
    let vip = "10.99.4.200/24";
    let flag = dir.path().join("healthy");
    std::fs::write(&flag, "").expect("flag");
    let script = format!(
        "vrrp_script chk {{\n    script \"/usr/bin/test -f {}\"\n    interval 0.2\n    \
         weight -20\n    rise 2\n    fall 2\n}}",
        flag.display()
    );
    let conf_a = directord_conf(&[
        &script,
        &instance(
            "VI_1",
            "eth0",
            53,
            100,
            &[vip],
            "    track_script {\n        chk\n    }",
        ),
    ]);
    let na = Node::start(&a, &dir, "a", &conf_a);
    let _nb = Node::start(
        &b,
        &dir,
        "b",
        &directord_conf(&[&instance("VI_1", "eth0", 53, 90, &[vip], "")]),
    );
    wait_stable(T, Duration::from_secs(2), || only_holder(&a, &b, vip))
        .unwrap_or_else(|e| panic!("initial: {e}"));
    std::fs::remove_file(&flag).expect("remove flag");
    wait_until(T, POLL, || match na.priority("VI_1") {
        Ok(80) => Ok(()),
        other => Err(format!("priority {other:?}")),
    })
    .unwrap_or_else(|e| panic!("priority not lowered: {e}"));
    wait_stable(T, Duration::from_secs(2), || only_holder(&b, &a, vip))
        .unwrap_or_else(|e| panic!("after script failure: {e}"));
    std::fs::write(&flag, "").expect("flag");
    wait_stable(T, Duration::from_secs(2), || only_holder(&a, &b, vip))
        .unwrap_or_else(|e| panic!("after script recovery: {e}"));
}

/// VRRP `track_file`: the file's number × weight joins the priority, −254 and below is
/// FAULT, and a change is seen within the polling interval.
#[test]
fn track_file_moves_priority_and_faults() {
    require_root!();
    let dir = TestDir::new("vrrp-trackfile");
    let (_sw, a, b) = pair("vf", 8);
    let vip = "10.99.8.200/24";
    let level = dir.path().join("level");
    let track = format!(
        "track_file level {{\n    file \"{}\"\n    init_file 0 overwrite\n}}",
        level.display()
    );
    let conf_a = directord_conf(&[
        &track,
        &instance(
            "VI_1",
            "eth0",
            58,
            100,
            &[vip],
            "    track_file {\n        level weight 2\n    }",
        ),
    ]);
    let na = Node::start(&a, &dir, "a", &conf_a);
    let _nb = Node::start(
        &b,
        &dir,
        "b",
        &directord_conf(&[&instance("VI_1", "eth0", 58, 90, &[vip], "")]),
    );
    wait_stable(T, Duration::from_secs(2), || only_holder(&a, &b, vip))
        .unwrap_or_else(|e| panic!("initial: {e}"));
    std::fs::write(&level, "-15\n").expect("write");
    wait_until(T, POLL, || match na.priority("VI_1") {
        Ok(70) => Ok(()),
        other => Err(format!("priority {other:?}")),
    })
    .unwrap_or_else(|e| panic!("priority not lowered: {e}"));
    wait_stable(T, Duration::from_secs(2), || only_holder(&b, &a, vip))
        .unwrap_or_else(|e| panic!("after the file lowered a: {e}"));
    std::fs::write(&level, "-127\n").expect("write");
    wait_until(T, POLL, || match na.state("VI_1").as_deref() {
        Ok("FAULT") => Ok(()),
        other => Err(format!("state {other:?}")),
    })
    .unwrap_or_else(|e| panic!("-254 is not FAULT: {e}"));
    std::fs::write(&level, "0\n").expect("write");
    wait_stable(T, Duration::from_secs(2), || only_holder(&a, &b, vip))
        .unwrap_or_else(|e| panic!("after the file recovered: {e}"));
}

#[test]
fn bad_adverts_change_nothing() {
    require_root!();
    let dir = TestDir::new("vrrp-bad");
    let (sw, a, b) = pair("vb", 5);
    let attacker = NetNs::new("vbx");
    sw.attach(&attacker, "eth0");
    attacker.add_addr("eth0", "10.99.5.99/24");
    let vip = "10.99.5.200/24";
    let auth = "    authentication {\n        auth_type PASS\n        auth_pass secret\n    }";
    let conf = |prio: u8| directord_conf(&[&instance("VI_1", "eth0", 55, prio, &[vip], auth)]);
    let na = Node::start(&a, &dir, "a", &conf(100));
    let nb = Node::start(&b, &dir, "b", &conf(90));
    wait_stable(T, Duration::from_secs(2), || only_holder(&a, &b, vip))
        .unwrap_or_else(|e| panic!("initial: {e}"));
    vrrp_common::inject_bad_adverts(&attacker, "10.99.5.99", 55, "10.99.5.200", "secret");
    // Each kind was counted by both nodes, and nothing moved.
    for node in [&na, &nb] {
        wait_until(T, POLL, || {
            let c = |n: &str| node.counter("VI_1", n).unwrap_or(0);
            let got = (
                c("auth_errors"),
                c("checksum_errors"),
                c("ttl_errors"),
                c("packet_length_errors"),
            );
            (got.0 >= 10 && got.1 >= 10 && got.2 >= 10 && got.3 >= 10)
                .then_some(())
                .ok_or(format!("counters {got:?}"))
        })
        .unwrap_or_else(|e| panic!("counters: {e}"));
    }
    hold_for(Duration::from_secs(4), || {
        only_holder(&a, &b, vip)?;
        match (na.state("VI_1")?.as_str(), nb.state("VI_1")?.as_str()) {
            ("MASTER", "BACKUP") => Ok(()),
            s => Err(format!("states {s:?}")),
        }
    })
    .unwrap_or_else(|e| panic!("after bad adverts: {e}"));
}

/// A tiny SMTP server: accepts sessions on 127.0.0.1:2525 and appends what it receives
/// to the file named by its first argument.
const SMTP_LISTENER: &str = r#"
import socket, sys
out = sys.argv[1]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', 2525))
srv.listen(5)
while True:
    c, _ = srv.accept()
    f = c.makefile('rwb')
    f.write(b'220 test ESMTP\r\n'); f.flush()
    data = False
    for line in f:
        with open(out, 'ab') as o:
            o.write(line)
        if data:
            if line.rstrip(b'\r\n') == b'.':
                data = False
                f.write(b'250 queued\r\n')
        elif line.upper().startswith(b'DATA'):
            data = True
            f.write(b'354 go ahead\r\n')
        elif line.upper().startswith(b'QUIT'):
            f.write(b'221 bye\r\n'); f.flush()
            break
        else:
            f.write(b'250 ok\r\n')
        f.flush()
    c.close()
"#;

#[test]
fn notify_scripts_smtp_alert_and_virtual_routes() {
    require_root!();
    let dir = TestDir::new("vrrp-notify");
    let (_sw, a, b) = pair("vm", 6);
    let vip = "10.99.6.200/24";
    let listener = dir.write("smtp.py", SMTP_LISTENER);
    let mail = dir.path().join("mail.txt");
    let mut smtp = common::process::Daemon::spawn(
        &a,
        "smtp",
        dir.path(),
        &[
            "python3",
            &listener.to_string_lossy(),
            &mail.to_string_lossy(),
        ],
    );
    let notify_a = dir.path().join("notify-a.txt");
    let notify_b = dir.path().join("notify-b.txt");
    // The notify script appends its arguments to the file given as its first argument.
    let notify = dir.write(
        "notify.sh",
        "#!/bin/sh\nout=$1\nshift\necho \"$@\" >>\"$out\"\n",
    );
    let globals = "global_defs {\n    router_id test-node\n    notification_email {\n        \
                   ops@example.org\n    }\n    notification_email_from node@example.org\n    \
                   smtp_server 127.0.0.1 2525\n}";
    let conf = |prio: u8, out: &std::path::Path| {
        let extra = format!(
            "    smtp_alert\n    notify \"/bin/sh {} {}\"\n    virtual_routes {{\n        \
             198.51.100.0/24 via 10.99.6.1\n    }}",
            notify.display(),
            out.display()
        );
        directord_conf(&[globals, &instance("VI_1", "eth0", 56, prio, &[vip], &extra)])
    };
    let mut na = Node::start(&a, &dir, "a", &conf(100, &notify_a));
    let _nb = Node::start(&b, &dir, "b", &conf(90, &notify_b));
    wait_stable(T, Duration::from_secs(2), || only_holder(&a, &b, vip))
        .unwrap_or_else(|e| panic!("initial: {e}"));
    let has_route = |ns: &NetNs| {
        ns.ip(&["route", "show", "198.51.100.0/24"])
            .contains("via 10.99.6.1")
    };
    wait_until(T, POLL, || {
        (has_route(&a) && !has_route(&b))
            .then_some(())
            .ok_or_else(|| "virtual route only on the master".to_string())
    })
    .unwrap_or_else(|e| panic!("routes: {e}"));
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    wait_until(T, POLL, || {
        let text = read(&notify_a);
        text.contains("INSTANCE VI_1 MASTER 100")
            .then_some(())
            .ok_or(format!("notify a: {text:?}"))
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        read(&notify_b).contains("INSTANCE VI_1 BACKUP 90"),
        "{}",
        read(&notify_b)
    );
    wait_until(T, POLL, || {
        let text = read(&mail);
        (text.contains("Subject: [test-node] VRRP Instance VI_1 - Entering MASTER state")
            && text.contains("RCPT TO:<ops@example.org>"))
        .then_some(())
        .ok_or(format!("mail: {text:?}"))
    })
    .unwrap_or_else(|e| panic!("smtp alert: {e}"));

    // Graceful stop: STOP notify on a, MASTER on b, the route moves.
    na.daemon.signal(Signal::Term);
    na.daemon
        .wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("a did not stop: {e}"));
    assert!(
        read(&notify_a).contains("INSTANCE VI_1 STOP 100"),
        "{}",
        read(&notify_a)
    );
    wait_until(T, POLL, || {
        (has_route(&b) && !has_route(&a) && read(&notify_b).contains("INSTANCE VI_1 MASTER 90"))
            .then_some(())
            .ok_or_else(|| "b did not take the route and notify".to_string())
    })
    .unwrap_or_else(|e| panic!("after SIGTERM: {e}"));
    smtp.stop();
}

#[test]
fn reload_keeps_unchanged_instances_and_updates_in_place() {
    require_root!();
    let dir = TestDir::new("vrrp-reload");
    let (_sw, a, b) = pair("vr", 7);
    let (vip1, vip2, vip3) = ("10.99.7.201/24", "10.99.7.202/24", "10.99.7.203/24");
    let i1 = |prio: u8| instance("VI_1", "eth0", 71, prio, &[vip1], "");
    let i2 = |prio: u8, vip: &str| instance("VI_2", "eth0", 72, prio, &[vip], "");
    let mut na = Node::start(&a, &dir, "a", &directord_conf(&[&i1(100)]));
    let _nb = Node::start(&b, &dir, "b", &directord_conf(&[&i1(90), &i2(100, vip2)]));
    wait_stable(T, Duration::from_secs(2), || only_holder(&a, &b, vip1))
        .unwrap_or_else(|e| panic!("initial: {e}"));
    // Add VI_2 (higher priority than b's): VI_1 must not move or restart.
    na.reload(&directord_conf(&[&i1(100), &i2(150, vip2)]));
    wait_stable(T, Duration::from_secs(2), || only_holder(&a, &b, vip2))
        .unwrap_or_else(|e| panic!("VI_2 added: {e}"));
    assert_eq!(na.state("VI_1").as_deref(), Ok("MASTER"));
    assert!(
        na.seconds_in_state("VI_1").unwrap_or(0.0) > 3.0,
        "VI_1 kept its state across the reload"
    );
    // Change VI_2's address while master: the old address goes, the new one comes.
    na.reload(&directord_conf(&[&i1(100), &i2(150, vip3)]));
    wait_until(T, POLL, || {
        (has_addr(&a, vip3) && !has_addr(&a, vip2))
            .then_some(())
            .ok_or_else(|| "VI_2 address not moved".to_string())
    })
    .unwrap_or_else(|e| panic!("VI_2 address change: {e}"));
    // Lower VI_1's priority below b's: b preempts; a's VI_2 stays.
    na.reload(&directord_conf(&[&i1(50), &i2(150, vip3)]));
    wait_stable(T, Duration::from_secs(2), || only_holder(&b, &a, vip1))
        .unwrap_or_else(|e| panic!("VI_1 priority lowered: {e}"));
    assert!(has_addr(&a, vip3), "VI_2 untouched");
}
