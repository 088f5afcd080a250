//! `directorctl realserver setup|teardown|check` on a real server, in a network namespace
//! (as root): the VIP /32 on lo, the ARP switches, idempotence, and check's exit code.

mod common;

use common::netns::NetNs;

const DIRECTORCTL: &str = env!("CARGO_BIN_EXE_directorctl");

fn sysctl(ns: &NetNs, key: &str) -> String {
    ns.exec_ok(&["cat", &format!("/proc/sys/net/ipv4/conf/{key}")])
        .trim()
        .to_string()
}

fn switches(ns: &NetNs) -> Vec<String> {
    [
        "lo/arp_ignore",
        "all/arp_ignore",
        "lo/arp_announce",
        "all/arp_announce",
    ]
    .iter()
    .map(|key| sysctl(ns, key))
    .collect()
}

#[test]
fn realserver_setup_check_teardown_in_a_namespace() {
    require_root!();
    let ns = NetNs::new("rs");
    let ctl = |args: &[&str]| {
        let mut argv = vec![DIRECTORCTL, "realserver"];
        argv.extend_from_slice(args);
        ns.exec(&argv)
    };
    let stdout = |out: &std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();

    // Nothing in place yet: check fails and lists what is missing, changing nothing.
    let check = ctl(&["check", "--vip", "10.99.0.1", "--vip", "10.99.0.2"]);
    assert_eq!(check.status.code(), Some(1), "{}", stdout(&check));
    assert!(stdout(&check).contains("missing: add 10.99.0.1/32 to lo"));
    assert!(!ns.has_addr("10.99.0.1".parse().unwrap()));

    let setup = ctl(&["setup", "--vip", "10.99.0.1", "--vip", "10.99.0.2"]);
    assert!(setup.status.success(), "{setup:?}");
    assert!(stdout(&setup).contains("changed: net.ipv4.conf.all.arp_ignore: 0 -> 1"));
    assert!(ns.has_addr("10.99.0.1".parse().unwrap()));
    assert!(ns.has_addr("10.99.0.2".parse().unwrap()));
    assert_eq!(switches(&ns), ["1", "1", "2", "2"]);
    let lo = ns.ip(&["-4", "addr", "show", "dev", "lo"]);
    assert!(lo.contains("10.99.0.1/32 scope host lo:dr"), "{lo}");

    // Idempotent: a second setup changes nothing; check now passes.
    let again = ctl(&["setup", "--vip", "10.99.0.1", "--vip", "10.99.0.2"]);
    assert!(again.status.success());
    assert_eq!(stdout(&again), "nothing to change\n");
    let check = ctl(&[
        "--json",
        "check",
        "--vip",
        "10.99.0.1",
        "--vip",
        "10.99.0.2",
    ]);
    assert!(check.status.success(), "{}", stdout(&check));
    let missing: serde_json::Value = serde_json::from_slice(&check.stdout).expect("json");
    assert_eq!(missing["missing"], serde_json::json!([]));

    // Tearing one VIP down keeps the switches the other still needs.
    let down = ctl(&["teardown", "--vip", "10.99.0.1"]);
    assert!(down.status.success(), "{down:?}");
    assert!(!ns.has_addr("10.99.0.1".parse().unwrap()));
    assert_eq!(switches(&ns), ["1", "1", "2", "2"]);
    // The last one takes them back to the kernel's defaults.
    let down = ctl(&["teardown", "--vip", "10.99.0.2"]);
    assert!(down.status.success(), "{down:?}");
    assert!(!ns.has_addr("10.99.0.2".parse().unwrap()));
    assert_eq!(switches(&ns), ["0", "0", "0", "0"]);
    let again = ctl(&["teardown", "--vip", "10.99.0.2"]);
    assert_eq!(stdout(&again), "nothing to change\n");
}
