//! IPVS backend against a real kernel. The host here has no IPVS, so these run inside the
//! throwaway VM (`/work/shared/lab/ipvs-vm.sh`, see docs/dataplane.md):
//!
//! ```text
//! DIRECTOR_REQUIRE_IPVS=1 CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=/work/shared/lab/ipvs-vm.sh \
//!     cargo test --test ipvs -- --test-threads=1
//! ```
//!
//! Our tables live in the guest's root namespace; the reference tables, programmed with the
//! equivalent ipvsadm commands, live in a namespace of their own. Without IPVS (or root)
//! every test prints why and passes, unless DIRECTOR_REQUIRE_IPVS=1 makes that a failure.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use director::dataplane::ipvs::IpvsBackend;
use director::dataplane::tables::{
    svc_flags, DesiredTables, DestKey, DestSpec, Family, FlowHash, Forward, IpvsSysctls, Protocol,
    Service, ServiceKey, ServiceSpec, SyncDaemon, SyncState, Timeouts, TunnelType,
};
use director::dataplane::{Dataplane, OpenOptions};

/// The tests share the guest's root IPVS tables: one at a time.
static KERNEL: Mutex<()> = Mutex::new(());

fn sh(cmd: &str) -> (bool, String) {
    match Command::new("bash").arg("-c").arg(cmd).output() {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}

fn run(cmd: &str) -> String {
    let (ok, out) = sh(cmd);
    assert!(ok, "command failed: {cmd}\n{out}");
    out
}

/// Sorted `ipvsadm -Sn` of a namespace (None: the current one).
fn saved(netns: Option<&str>) -> Vec<String> {
    let prefix = netns
        .map(|n| format!("ip netns exec {n} "))
        .unwrap_or_default();
    let mut lines: Vec<String> = run(&format!("{prefix}ipvsadm -Sn"))
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// Skips (returns None) without root or IPVS, loudly; fails instead when required.
fn setup(name: &str) -> Option<(std::sync::MutexGuard<'static, ()>, PathBuf)> {
    let guard = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let required = std::env::var("DIRECTOR_REQUIRE_IPVS").is_ok_and(|v| v == "1");
    let why = if !sh("[ \"$(id -u)\" = 0 ]").0 {
        Some("not root".to_owned())
    } else {
        match IpvsBackend::open(&OpenOptions {
            state_dir: std::env::temp_dir().join("director-ipvs-probe"),
        }) {
            Ok(_) => None,
            Err(e) => Some(format!(
                "no IPVS here ({e}); run through /work/shared/lab/ipvs-vm.sh"
            )),
        }
    };
    if let Some(why) = why {
        assert!(!required, "{name}: DIRECTOR_REQUIRE_IPVS=1 but {why}");
        eprintln!("SKIP {name}: {why}");
        return None;
    }
    // A clean slate for this test; this is the test harness inside a throwaway VM, never the
    // daemon (which has no flush anywhere).
    run("ipvsadm -C; ipvsadm --stop-daemon master 2>/dev/null; ipvsadm --stop-daemon backup 2>/dev/null; true");
    let dir = std::env::temp_dir().join(format!("director-ipvs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Some((guard, dir))
}

fn open(dir: &std::path::Path) -> IpvsBackend {
    IpvsBackend::open(&OpenOptions {
        state_dir: dir.to_owned(),
    })
    .unwrap_or_else(|e| panic!("open: {e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        addr: ip(addr),
        port,
        protocol: Protocol::Tcp,
    }
}

fn dest(addr: &str, port: u16, forward: Forward, weight: u32) -> DestSpec {
    DestSpec {
        key: DestKey {
            addr: ip(addr),
            port,
        },
        forward,
        weight,
        upper_threshold: 0,
        lower_threshold: 0,
    }
}

fn service(
    key: ServiceKey,
    sched: &str,
    flags: u32,
    timeout: u32,
    netmask: u8,
    dests: Vec<DestSpec>,
) -> Service {
    Service {
        spec: ServiceSpec {
            key,
            scheduler: sched.to_owned(),
            flags,
            timeout,
            netmask,
        },
        dests,
        flow_hash: FlowHash::SourceAddr,
    }
}

/// A table that uses every feature the issue lists, with the ipvsadm commands that build
/// the same thing.
fn rich_config() -> (DesiredTables, &'static str) {
    let gue = Forward::Tunnel {
        kind: TunnelType::Gue,
        port: 6080,
        flags: 0,
    };
    let ipip = Forward::Tunnel {
        kind: TunnelType::Ipip,
        port: 0,
        flags: 0,
    };
    let mut mh_dests = vec![
        dest("10.1.0.1", 80, Forward::Route, 1),
        dest("10.1.0.2", 80, Forward::Route, 2),
        dest("10.1.0.3", 8080, Forward::Masq, 3),
        dest("10.1.0.4", 80, gue, 1),
    ];
    mh_dests[0].upper_threshold = 100;
    mh_dests[0].lower_threshold = 50;
    let mut t = DesiredTables {
        services: vec![
            service(
                tcp("10.0.0.1", 80),
                "mh",
                svc_flags::SCHED1 | svc_flags::SCHED2,
                0,
                32,
                mh_dests,
            ),
            service(
                tcp("10.0.0.1", 0),
                "wlc",
                svc_flags::PERSISTENT,
                600,
                24,
                vec![
                    dest("10.1.0.1", 0, Forward::Route, 1),
                    dest("10.1.0.2", 0, Forward::Route, 1),
                ],
            ),
            service(
                ServiceKey::Addr {
                    addr: ip("10.0.0.2"),
                    port: 53,
                    protocol: Protocol::Udp,
                },
                "wrr",
                svc_flags::ONEPACKET,
                0,
                32,
                vec![
                    dest("10.1.0.5", 53, Forward::Masq, 5),
                    dest("10.1.0.6", 53, Forward::Masq, 0),
                ],
            ),
            service(
                ServiceKey::Addr {
                    addr: ip("10.0.0.3"),
                    port: 5000,
                    protocol: Protocol::Sctp,
                },
                "lc",
                0,
                0,
                32,
                vec![dest("10.1.0.7", 5000, Forward::Route, 1)],
            ),
            service(
                ServiceKey::Fwmark {
                    family: Family::Inet,
                    mark: 5,
                },
                "sh",
                svc_flags::SCHED2,
                0,
                32,
                vec![dest("10.1.0.8", 0, ipip, 1)],
            ),
            service(
                tcp("2001:db8::1", 443),
                "rr",
                svc_flags::PERSISTENT,
                300,
                64,
                vec![dest("2001:db8:1::1", 443, Forward::Masq, 1)],
            ),
        ],
        timeouts: Some(Timeouts {
            tcp: 900,
            tcp_fin: 60,
            udp: 120,
        }),
        sync_daemons: vec![
            SyncDaemon {
                state: SyncState::Master,
                interface: "br0".into(),
                sync_id: 3,
                max_len: None,
                group: None,
                port: None,
                ttl: None,
            },
            SyncDaemon {
                state: SyncState::Backup,
                interface: "br0".into(),
                sync_id: 3,
                max_len: None,
                group: None,
                port: None,
                ttl: None,
            },
        ],
        sysctls: IpvsSysctls {
            sloppy_tcp: Some(true),
            sloppy_sctp: Some(true),
            conntrack: None,
            expire_nodest_conn: None,
        },
        maglev_size: 65537,
    };
    t.canonicalize();
    let cmds = "\
ipvsadm -A -t 10.0.0.1:80 -s mh -b mh-fallback,mh-port
ipvsadm -a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 1 -x 100 -y 50
ipvsadm -a -t 10.0.0.1:80 -r 10.1.0.2:80 -g -w 2
ipvsadm -a -t 10.0.0.1:80 -r 10.1.0.3:8080 -m -w 3
ipvsadm -a -t 10.0.0.1:80 -r 10.1.0.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
ipvsadm -A -t 10.0.0.1:0 -s wlc -p 600 -M 255.255.255.0
ipvsadm -a -t 10.0.0.1:0 -r 10.1.0.1:0 -g -w 1
ipvsadm -a -t 10.0.0.1:0 -r 10.1.0.2:0 -g -w 1
ipvsadm -A -u 10.0.0.2:53 -s wrr -o
ipvsadm -a -u 10.0.0.2:53 -r 10.1.0.5:53 -m -w 5
ipvsadm -a -u 10.0.0.2:53 -r 10.1.0.6:53 -m -w 0
ipvsadm -A --sctp-service 10.0.0.3:5000 -s lc
ipvsadm -a --sctp-service 10.0.0.3:5000 -r 10.1.0.7:5000 -g -w 1
ipvsadm -A -f 5 -s sh -b sh-port
ipvsadm -a -f 5 -r 10.1.0.8:0 -i -w 1
ipvsadm -A -t [2001:db8::1]:443 -s rr -p 300 -M 64
ipvsadm -a -t [2001:db8::1]:443 -r [2001:db8:1::1]:443 -m -w 1
ipvsadm --set 900 60 120
ipvsadm --start-daemon master --mcast-interface br0 --syncid 3
ipvsadm --start-daemon backup --mcast-interface br0 --syncid 3
";
    (t, cmds)
}

/// The reference namespace, built with ipvsadm; removed on drop.
struct RefNs(String);

impl RefNs {
    fn new(cmds: &str) -> RefNs {
        let name = format!("dpref-{}", std::process::id());
        let _ = sh(&format!("ip netns del {name} 2>/dev/null"));
        run(&format!(
            "ip netns add {name} && ip -n {name} link set lo up"
        ));
        let ns = RefNs(name);
        run(&format!(
            "ip -n {0} link add br0 type bridge && ip -n {0} link set br0 up",
            ns.0
        ));
        for line in cmds.lines() {
            run(&format!("ip netns exec {} {line}", ns.0));
        }
        ns
    }
}

impl Drop for RefNs {
    fn drop(&mut self) {
        let _ = sh(&format!(
            "ip netns exec {0} ipvsadm --stop-daemon master; ip netns exec {0} ipvsadm --stop-daemon backup; ip netns del {0}",
            self.0
        ));
    }
}

fn ensure_br0() {
    let _ = sh("ip link add br0 type bridge 2>/dev/null; ip link set br0 up");
}

#[test]
fn our_tables_equal_ipvsadm_equivalent() {
    let Some((_g, dir)) = setup("equivalent") else {
        return;
    };
    ensure_br0();
    let (desired, cmds) = rich_config();
    let reference = RefNs::new(cmds);
    let mut b = open(&dir);
    let report = b.reconcile(&desired);
    assert!(report.is_clean(), "failures: {:#?}", report.failures);
    assert_eq!(saved(None), saved(Some(&reference.0)));
    let ours = run("ipvsadm -Ln --timeout; ipvsadm -Ln --daemon");
    let theirs = run(&format!(
        "ip netns exec {0} ipvsadm -Ln --timeout; ip netns exec {0} ipvsadm -Ln --daemon",
        reference.0
    ));
    assert_eq!(ours, theirs);
    // Thresholds are not in `-Sn`; compare them through `-Ln --thresholds`.
    let th = |p: &str| run(&format!("{p}ipvsadm -Ln --thresholds"));
    assert_eq!(th(""), th(&format!("ip netns exec {} ", reference.0)));
    assert_eq!(run("cat /proc/sys/net/ipv4/vs/sloppy_tcp").trim(), "1");
    // Reading back gives what we asked for: a second reconcile has nothing to do.
    let again = b.reconcile(&desired);
    assert_eq!((again.ops_planned, again.kernel_ops), (0, 0), "{again:#?}");
    // And what we read is exactly the desired state, real-server order included.
    let read = b.read().unwrap_or_else(|e| panic!("{e}"));
    for s in &desired.services {
        let k = &read.services[&s.spec.key];
        assert_eq!(k.spec, s.spec);
        assert_eq!(k.dests, s.dests);
    }
    let stats = b.stats().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.services.len(), desired.services.len());
}

#[test]
fn weight_change_is_one_entry() {
    let Some((_g, dir)) = setup("weight") else {
        return;
    };
    ensure_br0();
    let (mut desired, _) = rich_config();
    let mut b = open(&dir);
    assert!(b.reconcile(&desired).is_clean());
    let before = saved(None);
    desired.services[0].dests[1].weight = 0;
    let report = b.reconcile(&desired);
    assert!(report.is_clean(), "{report:#?}");
    assert_eq!(report.kernel_ops, 1);
    let after = saved(None);
    let removed: Vec<_> = before.iter().filter(|l| !after.contains(l)).collect();
    let added: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
    assert_eq!(
        (removed.len(), added.len()),
        (1, 1),
        "{removed:?} -> {added:?}"
    );
}

#[test]
fn foreign_service_survives_start_reload_restart() {
    let Some((_g, dir)) = setup("foreign") else {
        return;
    };
    ensure_br0();
    run("ipvsadm -A -t 192.0.2.1:25 -s rr && ipvsadm -a -t 192.0.2.1:25 -r 192.0.2.10:25 -m");
    let foreign = "-A -t 192.0.2.1:25 -s rr".to_owned();
    let (mut desired, _) = rich_config();
    // Start.
    let mut b = open(&dir);
    assert!(b.reconcile(&desired).is_clean());
    assert!(saved(None).contains(&foreign));
    // Reload that drops one of our services: ours goes, the foreign one stays.
    let dropped = desired.services.remove(0).spec.key;
    let report = b.reconcile(&desired);
    assert!(report.is_clean(), "{report:#?}");
    assert!(saved(None).contains(&foreign));
    assert!(!b
        .read()
        .unwrap_or_else(|e| panic!("{e}"))
        .services
        .contains_key(&dropped));
    // "kill -9": the backend goes away without any cleanup; restart over the same kernel
    // state and ownership record changes nothing and flushes nothing.
    drop(b);
    let before = saved(None);
    let mut b = open(&dir);
    let report = b.reconcile(&desired);
    assert_eq!(
        (report.ops_planned, report.kernel_ops),
        (0, 0),
        "{report:#?}"
    );
    assert_eq!(saved(None), before);
    assert!(b.owned().iter().all(|k| *k != tcp("192.0.2.1", 25)));
    // Even an empty configuration leaves the foreign service and its real server.
    let report = b.reconcile(&DesiredTables::default());
    assert!(report.is_clean(), "{report:#?}");
    assert_eq!(
        saved(None),
        vec![
            foreign,
            "-a -t 192.0.2.1:25 -r 192.0.2.10:25 -m -w 1".to_owned()
        ]
    );
}

#[test]
fn mh_tables_match_after_out_of_order_history() {
    // Director A adds 10.1.0.3 after 10.1.0.1 and 10.1.0.5 were programmed; director B
    // starts fresh. Their kernel real-server order (which mh builds its table from) must be
    // the same: canonical.
    let Some((_g, dir)) = setup("mhorder") else {
        return;
    };
    let svc = |d: Vec<DestSpec>| {
        let mut t = DesiredTables {
            services: vec![service(tcp("10.0.0.9", 80), "mh", 0, 0, 32, d)],
            ..Default::default()
        };
        t.canonicalize();
        t
    };
    let r = |a| dest(a, 80, Forward::Route, 1);
    let mut b = open(&dir);
    assert!(b
        .reconcile(&svc(vec![r("10.1.0.1"), r("10.1.0.5")]))
        .is_clean());
    let report = b.reconcile(&svc(vec![r("10.1.0.1"), r("10.1.0.3"), r("10.1.0.5")]));
    assert!(report.is_clean(), "{report:#?}");
    let order: Vec<String> = run("ipvsadm -Ln -t 10.0.0.9:80")
        .lines()
        .filter(|l| l.contains("->") && !l.contains("RemoteAddress"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(order, ["10.1.0.1:80", "10.1.0.3:80", "10.1.0.5:80"]);
}

/// A keepalived.conf, loaded by our parser, programs what the equivalent ipvsadm commands
/// program (keepalived adds real servers in file order; `-Sn` is compared sorted).
const KEEPALIVED_CONF: &str = r#"
global_defs {
    lvs_timeouts tcp 900 tcpfin 60 udp 120
}
virtual_server 10.0.0.1 80 {
    lb_algo mh
    mh-fallback
    mh-port
    lb_kind DR
    protocol TCP
    real_server 10.1.0.2 80 {
        weight 2
    }
    real_server 10.1.0.1 80 {
        weight 1
    }
}
virtual_server 10.0.0.1 0 {
    lb_algo wlc
    lb_kind DR
    persistence_timeout 600
    persistence_granularity 255.255.255.0
    protocol TCP
    real_server 10.1.0.1 0 {
        weight 1
    }
}
virtual_server fwmark 5 {
    lb_algo sh
    sh-port
    lb_kind TUN
    real_server 10.1.0.8 0 {
        weight 1
    }
}
virtual_server 10.0.0.2 53 {
    lb_algo wrr
    lb_kind NAT
    protocol UDP
    ops
    real_server 10.1.0.5 53 {
        weight 5
    }
    real_server 10.1.0.6 5353 {
        weight 0
    }
}
"#;

const KEEPALIVED_EQUIVALENT: &str = "\
ipvsadm -A -t 10.0.0.1:80 -s mh -b mh-fallback,mh-port
ipvsadm -a -t 10.0.0.1:80 -r 10.1.0.2:80 -g -w 2
ipvsadm -a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 1
ipvsadm -A -t 10.0.0.1:0 -s wlc -p 600 -M 255.255.255.0
ipvsadm -a -t 10.0.0.1:0 -r 10.1.0.1:0 -g -w 1
ipvsadm -A -f 5 -s sh -b sh-port
ipvsadm -a -f 5 -r 10.1.0.8:0 -i -w 1
ipvsadm -A -u 10.0.0.2:53 -s wrr -o
ipvsadm -a -u 10.0.0.2:53 -r 10.1.0.5:53 -m -w 5
ipvsadm -a -u 10.0.0.2:53 -r 10.1.0.6:5353 -m -w 0
ipvsadm --set 900 60 120
";

#[test]
fn keepalived_config_programs_what_ipvsadm_would() {
    let Some((_g, dir)) = setup("keepalived") else {
        return;
    };
    let loaded = director::config::parse_str("keepalived.conf", KEEPALIVED_CONF)
        .unwrap_or_else(|e| panic!("config: {e:?}"));
    let desired = director::dataplane::desired_tables(&loaded.config, &Default::default());
    let reference = RefNs::new(KEEPALIVED_EQUIVALENT);
    let mut b = open(&dir);
    let report = b.reconcile(&desired);
    assert!(report.is_clean(), "failures: {:#?}", report.failures);
    assert_eq!(saved(None), saved(Some(&reference.0)));
    assert_eq!(
        run("ipvsadm -Ln --timeout"),
        run(&format!(
            "ip netns exec {} ipvsadm -Ln --timeout",
            reference.0
        ))
    );
}
