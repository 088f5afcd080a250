//! directord's VRRP against keepalived 2.2.7 on one segment (root only, network namespaces, needs
//! `keepalived`): both roles, both versions, IPv4 and IPv6, vmac; each one's death (SIGTERM
//! and kill -9) hands over to the other; never two live masters for more than one advert
//! interval; no flapping during 60 s of steady state.

mod common;
mod vrrp_common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::netns::{NetNs, Switch};
use common::peers::keepalived;
use common::process::{Daemon, Signal};
use common::wait::{hold_for, wait_stable, wait_until};
use common::TestDir;
use vrrp_common::{directord_conf, has_addr, Node, VipMonitor};

const T: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(20);

/// `ka` and `ours` on a switch: eth0 = 10.99.<net>.21 (keepalived) / .22 (ours), plus
/// fd00:99:<net>::21/22.
fn pair(tag: &str, net: u8) -> (Switch, NetNs, NetNs) {
    let sw = Switch::new(&format!("{tag}sw"));
    let ka = NetNs::new(&format!("{tag}k"));
    let ours = NetNs::new(&format!("{tag}o"));
    for (i, h) in [&ka, &ours].into_iter().enumerate() {
        sw.attach(h, "eth0");
        h.add_addr("eth0", &format!("10.99.{net}.{}/24", 21 + i));
        h.exec_ok(&[
            "ip",
            "addr",
            "add",
            &format!("fd00:99:{net}::{}/64", 21 + i),
            "dev",
            "eth0",
            "nodad",
        ]);
    }
    (sw, ka, ours)
}

/// The same text for directord, behind `director { dataplane none }`.
fn ours_conf(version: u8, prio: u8, vrid: u8, vip: &str, extra: &str) -> String {
    directord_conf(&[&ka_conf(version, prio, vrid, vip, extra)])
}

fn ka_conf(version: u8, prio: u8, vrid: u8, vip: &str, extra: &str) -> String {
    format!(
        "global_defs {{\n  router_id ka-test\n  vrrp_version {version}\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  \
         priority {prio}\n  advert_int 1\n{extra}\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
    )
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

/// kill -9 keepalived's VRRP child and parent (the parent would respawn the child).
fn kill9_keepalived(d: &mut Daemon, dir: &std::path::Path, name: &str) {
    let child: PathBuf = dir.join(format!("{name}-vrrp.pid"));
    let child = std::fs::read_to_string(child).unwrap_or_default();
    // The child first: it gets SIGTERM (PDEATHSIG) when its parent dies, and would
    // then resign gracefully with a priority 0 advert.
    if let Ok(pid) = child.trim().parse::<u32>() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    d.signal(Signal::Kill);
    let _ = d.wait_exit(Duration::from_secs(5));
}

#[test]
fn keepalived_master_ours_backup_v2_with_password() {
    require_root!();
    require_programs!("keepalived");
    let dir = TestDir::new("vrrp-ka2");
    let (sw, ka, ours) = pair("vk2", 10);
    let vip = "10.99.10.200/24";
    let auth = "  authentication {\n    auth_type PASS\n    auth_pass s3cret\n  }";
    let conf = ka_conf(2, 100, 61, vip, auth);
    let kdir = dir.subdir("ka");
    let alive = Arc::new(Mutex::new(vec![true, true]));
    let monitor = VipMonitor::start(
        vec![ka.name().into(), ours.name().into()],
        vip,
        alive.clone(),
    );
    let mut k = keepalived(&ka, &kdir, "ka", &conf);
    let node = Node::start(&ours, &dir, "ours", &ours_conf(2, 90, 61, vip, auth));
    wait_stable(T, Duration::from_secs(3), || only_holder(&ka, &ours, vip))
        .unwrap_or_else(|e| panic!("keepalived master: {e}"));
    node.wait_state("VI_1", "BACKUP", T)
        .unwrap_or_else(|e| panic!("{e}"));
    for c in [
        "auth_errors",
        "address_list_errors",
        "interval_errors",
        "checksum_errors",
    ] {
        assert_eq!(
            node.counter("VI_1", c),
            Ok(0),
            "{c} with keepalived's adverts"
        );
    }
    assert!(node.counter("VI_1", "adverts_rx").unwrap_or(0) > 0);

    // Crafted adverts (priority 254: wrong password, bad checksum, TTL 1, truncated)
    // move neither keepalived nor us; we count each kind.
    let attacker = NetNs::new("vk2x");
    sw.attach(&attacker, "eth0");
    attacker.add_addr("eth0", "10.99.10.99/24");
    vrrp_common::inject_bad_adverts(&attacker, "10.99.10.99", 61, "10.99.10.200", "s3cret");
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
    .unwrap_or_else(|e| panic!("bad advert counters: {e}"));
    hold_for(Duration::from_secs(4), || {
        only_holder(&ka, &ours, vip)?;
        match node.state("VI_1")?.as_str() {
            "BACKUP" => Ok(()),
            s => Err(format!("ours is {s}")),
        }
    })
    .unwrap_or_else(|e| panic!("after bad adverts: {e}"));

    // keepalived stops gracefully (priority 0): we take over.
    k.signal(Signal::Term);
    let _ = k.wait_exit(Duration::from_secs(10));
    wait_until(T, POLL, || only_holder(&ours, &ka, vip))
        .unwrap_or_else(|e| panic!("after keepalived SIGTERM: {e}"));

    // keepalived comes back with the higher priority and preempts us.
    let mut k = keepalived(&ka, &kdir, "ka", &conf);
    wait_stable(T, Duration::from_secs(2), || only_holder(&ka, &ours, vip))
        .unwrap_or_else(|e| panic!("keepalived preemption: {e}"));

    // keepalived is killed: we take over after Master_Down_Interval.
    alive.lock().unwrap()[0] = false;
    kill9_keepalived(&mut k, &kdir, "ka");
    wait_until(T, POLL, || {
        has_addr(&ours, vip)
            .then_some(())
            .ok_or_else(|| "ours has no VIP".to_string())
    })
    .unwrap_or_else(|e| panic!("after keepalived kill -9: {e}"));
    let m = monitor.stop();
    assert!(
        m.longest_overlap <= Duration::from_secs(1),
        "two live masters for {:?}",
        m.longest_overlap
    );
}

#[test]
fn ours_master_keepalived_backup_v3_vmac_steady_then_kill() {
    require_root!();
    require_programs!("keepalived");
    let dir = TestDir::new("vrrp-ka3");
    let (_sw, ka, ours) = pair("vk3", 11);
    let vip = "10.99.11.200/24";
    let kdir = dir.subdir("ka");
    let conf = ka_conf(3, 90, 62, vip, "  use_vmac vrrp62");
    let alive = Arc::new(Mutex::new(vec![true, true]));
    let monitor = VipMonitor::start(
        vec![ka.name().into(), ours.name().into()],
        vip,
        alive.clone(),
    );
    let vmac = "  use_vmac vrrp62";
    let mut node = Node::start(&ours, &dir, "ours", &ours_conf(3, 100, 62, vip, vmac));
    let k = keepalived(&ka, &kdir, "ka", &conf);
    wait_stable(T, Duration::from_secs(3), || only_holder(&ours, &ka, vip))
        .unwrap_or_else(|e| panic!("ours master: {e}"));
    let link = ours.ip(&["-o", "link", "show", "vrrp62"]);
    assert!(link.contains("00:00:5e:00:01:3e"), "vmac: {link}");
    // 60 s of steady state: no flap, keepalived never claims the VIP.
    let before = monitor.snapshot().holder_changes;
    hold_for(Duration::from_secs(60), || only_holder(&ours, &ka, vip))
        .unwrap_or_else(|e| panic!("steady state: {e}"));
    assert_eq!(
        monitor.snapshot().holder_changes,
        before,
        "VIP moved during steady state"
    );
    assert!(
        !k.log_text().contains("Entering MASTER"),
        "keepalived became master"
    );

    // We are killed: keepalived takes over after Master_Down_Interval.
    alive.lock().unwrap()[1] = false;
    node.daemon.signal(Signal::Kill);
    let _ = node.daemon.wait_exit(Duration::from_secs(5));
    wait_until(T, POLL, || {
        has_addr(&ka, vip)
            .then_some(())
            .ok_or_else(|| "keepalived has no VIP".to_string())
    })
    .unwrap_or_else(|e| panic!("after our kill -9: {e}"));

    // We restart with a lower priority: the leftover VIP goes, keepalived stays master.
    let _node = Node::start(&ours, &dir, "ours2", &ours_conf(3, 80, 62, vip, vmac));
    alive.lock().unwrap()[1] = true;
    wait_stable(T, Duration::from_secs(3), || only_holder(&ka, &ours, vip))
        .unwrap_or_else(|e| panic!("after our restart: {e}"));
    let m = monitor.stop();
    assert!(
        m.longest_overlap <= Duration::from_secs(1),
        "two live masters for {:?}",
        m.longest_overlap
    );
}

#[test]
fn ipv6_v3_both_directions() {
    require_root!();
    require_programs!("keepalived");
    let dir = TestDir::new("vrrp-ka6");
    let (_sw, ka, ours) = pair("vk6", 12);
    let vip = "fd00:99:12::200/64";
    let kdir = dir.subdir("ka");
    let conf = ka_conf(3, 90, 63, vip, "");
    let mut node = Node::start(&ours, &dir, "ours", &ours_conf(3, 100, 63, vip, ""));
    let _k = keepalived(&ka, &kdir, "ka", &conf);
    wait_stable(T, Duration::from_secs(3), || only_holder(&ours, &ka, vip))
        .unwrap_or_else(|e| panic!("ours master: {e}"));
    node.daemon.signal(Signal::Term);
    let _ = node.daemon.wait_exit(Duration::from_secs(10));
    wait_until(T, POLL, || only_holder(&ka, &ours, vip))
        .unwrap_or_else(|e| panic!("after our SIGTERM: {e}"));
    let node = Node::start(&ours, &dir, "ours2", &ours_conf(3, 80, 63, vip, ""));
    node.wait_state("VI_1", "BACKUP", T)
        .unwrap_or_else(|e| panic!("{e}"));
    wait_until(T, POLL, || match node.counter("VI_1", "adverts_rx") {
        Ok(n) if n > 0 => Ok(()),
        other => Err(format!("adverts_rx {other:?}")),
    })
    .unwrap_or_else(|e| panic!("keepalived IPv6 adverts: {e}"));
    for c in ["checksum_errors", "address_list_errors", "ttl_errors"] {
        assert_eq!(node.counter("VI_1", c), Ok(0), "{c}");
    }
    hold_for(Duration::from_secs(3), || only_holder(&ka, &ours, vip))
        .unwrap_or_else(|e| panic!("ours as IPv6 backup: {e}"));
}

#[test]
fn unicast_peers_v3_with_keepalived() {
    require_root!();
    require_programs!("keepalived");
    let dir = TestDir::new("vrrp-kau");
    let (_sw, ka, ours) = pair("vku", 13);
    let vip = "10.99.13.200/24";
    let kdir = dir.subdir("ka");
    let unicast = "  unicast_src_ip 10.99.13.21\n  unicast_peer {\n    10.99.13.22\n  }";
    let conf = ka_conf(3, 100, 64, vip, unicast);
    let mut k = keepalived(&ka, &kdir, "ka", &conf);
    let ours_unicast = "  unicast_src_ip 10.99.13.22\n  unicast_peer {\n    10.99.13.21\n  }";
    let node = Node::start(
        &ours,
        &dir,
        "ours",
        &ours_conf(3, 90, 64, vip, ours_unicast),
    );
    wait_stable(T, Duration::from_secs(3), || only_holder(&ka, &ours, vip))
        .unwrap_or_else(|e| panic!("keepalived master over unicast: {e}"));
    node.wait_state("VI_1", "BACKUP", T)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(node.counter("VI_1", "checksum_errors"), Ok(0));
    k.signal(Signal::Term);
    let _ = k.wait_exit(Duration::from_secs(10));
    wait_until(T, POLL, || only_holder(&ours, &ka, vip))
        .unwrap_or_else(|e| panic!("after keepalived SIGTERM: {e}"));
    // keepalived back as the higher priority: it hears our unicast adverts and preempts.
    let _k = keepalived(&ka, &kdir, "ka", &conf);
    wait_stable(T, Duration::from_secs(2), || only_holder(&ka, &ours, vip))
        .unwrap_or_else(|e| panic!("keepalived preemption over unicast: {e}"));
}

/// The very text keepalived runs (priority changed) runs directord too, which only adds
/// `director { dataplane none }` because this kernel has no IPVS.
#[test]
fn same_keepalived_conf_runs_both() {
    require_root!();
    require_programs!("keepalived");
    let dir = TestDir::new("vrrp-kaconf");
    let (_sw, ka, ours) = pair("vkc", 14);
    let vip = "10.99.14.200/24";
    let extra = "  authentication {\n    auth_type PASS\n    auth_pass pa55\n  }\n  \
                 garp_master_delay 1\n  track_interface {\n    eth0\n  }";
    let kdir = dir.subdir("ka");
    let _k = keepalived(&ka, &kdir, "ka", &ka_conf(2, 90, 65, vip, extra));
    let mut node = Node::start(&ours, &dir, "ours", &ours_conf(2, 100, 65, vip, extra));
    wait_stable(T, Duration::from_secs(3), || only_holder(&ours, &ka, vip))
        .unwrap_or_else(|e| panic!("ours (priority 100) master: {e}"));
    assert_eq!(node.counter("VI_1", "auth_errors"), Ok(0));
    // We stop gracefully (priority 0): keepalived takes over, we leave nothing behind.
    node.daemon.signal(Signal::Term);
    let _ = node.daemon.wait_exit(Duration::from_secs(10));
    wait_until(T, POLL, || only_holder(&ka, &ours, vip))
        .unwrap_or_else(|e| panic!("after our SIGTERM: {e}"));
}
