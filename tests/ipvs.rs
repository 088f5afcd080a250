//! IPVS backend against a real kernel. The host here has no IPVS, so these run inside the
//! throwaway VM (`scripts/lab/ipvs-vm`, see docs/testing.md):
//!
//! ```text
//! DIRECTOR_REQUIRE_IPVS=1 CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$PWD/scripts/lab/ipvs-vm \
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
                "no IPVS here ({e}); run through scripts/lab/ipvs-vm"
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
        maglev_size: 65537,
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
    // Reading back gives what we asked for: a resync (which reads everything back) has
    // nothing to do and finds no drift.
    let again = b.resync(&desired);
    assert_eq!((again.ops_planned, again.kernel_ops), (0, 0), "{again:#?}");
    assert_eq!(again.drift_repaired, 0, "{again:#?}");
    assert!(again.kernel_reads > desired.services.len(), "{again:#?}");
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
    assert_eq!((report.kernel_ops, report.kernel_reads), (1, 0));
    let after = saved(None);
    let removed: Vec<_> = before.iter().filter(|l| !after.contains(l)).collect();
    let added: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
    assert_eq!(
        (removed.len(), added.len()),
        (1, 1),
        "{removed:?} -> {added:?}"
    );
}

/// `services` × `reals` real servers, wlc, masquerading: a table big enough that a read-back
/// would show in the request count.
fn bulk(services: usize, reals: usize) -> DesiredTables {
    let mut t = DesiredTables {
        services: (0..services)
            .map(|s| {
                service(
                    tcp(&format!("10.30.{}.{}", s / 256, s % 256), 80),
                    "wlc",
                    0,
                    0,
                    32,
                    (0..reals)
                        .map(|r| {
                            let i = s * reals + r;
                            dest(
                                &format!("10.40.{}.{}", i / 256, i % 256),
                                80,
                                Forward::Masq,
                                1,
                            )
                        })
                        .collect(),
                )
            })
            .collect(),
        ..Default::default()
    };
    t.canonicalize();
    t
}

#[test]
fn one_change_is_one_round_trip_whatever_the_table_size() {
    let Some((_g, dir)) = setup("roundtrip") else {
        return;
    };
    let mut desired = bulk(200, 10);
    let mut b = open(&dir);
    let start = b.reconcile(&desired);
    assert!(start.is_clean(), "{start:#?}");
    assert_eq!(start.kernel_ops, 200 * 11);
    // Nothing to change: no request at all, no dump.
    let requests = b.netlink_requests();
    let idle = b.reconcile(&desired);
    assert_eq!((idle.kernel_ops, idle.kernel_reads), (0, 0), "{idle:#?}");
    assert_eq!(b.netlink_requests(), requests);
    // One weight: one request, acknowledged.
    desired.services[150].dests[7].weight = 0;
    let change = b.reconcile(&desired);
    assert!(change.is_clean(), "{change:#?}");
    assert_eq!(b.netlink_requests(), requests + 1);
    assert_eq!((change.kernel_ops, change.kernel_reads), (1, 0));
    // A new service with two real servers: three requests.
    let extra = bulk(201, 2).services.pop();
    desired.services.extend(extra);
    desired.canonicalize();
    let requests = b.netlink_requests();
    let grow = b.reconcile(&desired);
    assert!(grow.is_clean(), "{grow:#?}");
    assert_eq!(b.netlink_requests(), requests + 3);
    // The view the next reconcile diffs against is what the kernel holds.
    let kernel = b.read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.view(), Some(&kernel));
}

#[test]
fn resync_repairs_and_reports_drift() {
    let Some((_g, dir)) = setup("drift") else {
        return;
    };
    let desired = bulk(3, 3);
    let mut b = open(&dir);
    assert!(b.reconcile(&desired).is_clean());
    let ours = saved(None);
    // An operator edits one of our real servers, deletes another, and adds a service of
    // their own (not drift: not ours).
    run("ipvsadm -e -t 10.30.0.0:80 -r 10.40.0.0:80 -m -w 7");
    run("ipvsadm -d -t 10.30.0.2:80 -r 10.40.0.8:80");
    run("ipvsadm -A -t 192.0.2.1:25 -s rr");
    // A reconcile works from its view and does not see it...
    let cached = b.reconcile(&desired);
    assert_eq!((cached.kernel_ops, cached.kernel_reads), (0, 0));
    // ...the periodic resync does, puts it back, and says so.
    let resync = b.resync(&desired);
    assert!(resync.is_clean(), "{resync:#?}");
    assert_eq!(resync.drift_repaired, 2, "{resync:#?}");
    assert_eq!(resync.kernel_ops, 2);
    let mut expected = ours;
    expected.push("-A -t 192.0.2.1:25 -s rr".to_owned());
    expected.sort();
    assert_eq!(saved(None), expected);
    // Nothing drifted since: the next resync repairs nothing.
    let quiet = b.resync(&desired);
    assert_eq!(
        (quiet.drift_repaired, quiet.kernel_ops),
        (0, 0),
        "{quiet:#?}"
    );
}

#[test]
fn failure_mid_batch_keeps_the_view_consistent_and_is_retried() {
    let Some((_g, dir)) = setup("midbatch") else {
        return;
    };
    let mut desired = bulk(3, 2);
    let mut b = open(&dir);
    assert!(b.reconcile(&desired).is_clean());
    // One batch: a weight change, a service the kernel refuses (no such scheduler), a real
    // server someone already added by hand (EEXIST: our view did not know), a weight change.
    desired.services[0].dests[0].weight = 5;
    let mut refused = bulk(4, 1).services.remove(3);
    refused.spec.scheduler = "nosuch".to_owned();
    desired.services.push(refused);
    run("ipvsadm -a -t 10.30.0.1:80 -r 10.40.9.9:80 -m -w 1");
    desired.services[1]
        .dests
        .push(dest("10.40.9.9", 80, Forward::Masq, 3));
    desired.services[2].dests[1].weight = 4;
    desired.canonicalize();
    let report = b.reconcile(&desired);
    let failed: Vec<_> = report
        .failures
        .iter()
        .map(|f| (f.object.as_str(), f.errno))
        .collect();
    assert_eq!(
        failed,
        [
            ("tcp 10.30.0.1:80 -> 10.40.9.9:80", Some(libc::EEXIST)),
            ("tcp 10.30.0.3:80", Some(libc::ENOENT)),
            ("tcp 10.30.0.3:80 -> 10.40.0.3:80", None),
        ],
        "{report:#?}"
    );
    // Everything else was applied, and the view holds exactly that (it lacks only the real
    // server added behind our back, which the retry will read).
    let kernel = b.read().unwrap_or_else(|e| panic!("{e}"));
    let mut view = b.view().cloned().unwrap_or_else(|| panic!("no view"));
    let by_hand = tcp("10.30.0.1", 80);
    if let Some(s) = view.services.get_mut(&by_hand) {
        s.dests.push(dest("10.40.9.9", 80, Forward::Masq, 1));
    }
    assert_eq!(view, kernel);
    assert_eq!(kernel.services[&tcp("10.30.0.0", 80)].dests[0].weight, 5);
    assert_eq!(kernel.services[&tcp("10.30.0.2", 80)].dests[1].weight, 4);
    // The retry reads the kernel back first, so the hand-added real server becomes an edit.
    desired.services.retain(|s| s.spec.scheduler != "nosuch");
    let retry = b.reconcile(&desired);
    assert!(retry.is_clean(), "{retry:#?}");
    assert!(retry.kernel_reads > 0, "{retry:#?}");
    assert_eq!(retry.kernel_ops, 1, "{retry:#?}");
    let kernel = b.read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kernel.services[&by_hand].dests.len(), 3);
    assert_eq!(b.view(), Some(&kernel));
    // And after that, back to no reads at all.
    let idle = b.reconcile(&desired);
    assert_eq!((idle.kernel_ops, idle.kernel_reads), (0, 0), "{idle:#?}");
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
    let desired = director::policy::desired_tables(
        &loaded.config,
        &director::policy::initial(&loaded.config),
    );
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

/// Runs in a director's namespace when `ipvs_dr_flow_survives_moving_to_another_director`
/// re-executes this binary there (IPVS tables are per network namespace).
#[test]
#[ignore = "helper: run inside a namespace by the other tests"]
fn helper_ipvs_reconcile() {
    let (Ok(input), Ok(state)) = (
        std::env::var("DIRECTOR_IPVS_HELPER_IN"),
        std::env::var("DIRECTOR_IPVS_HELPER_STATE"),
    ) else {
        return;
    };
    let text = std::fs::read_to_string(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
    let desired: DesiredTables = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let report = open(std::path::Path::new(&state)).reconcile(&desired);
    assert!(report.is_clean(), "{report:#?}");
}

/// Two directors (namespaces) with the same tables, DR with `mh` and sloppy TCP: a client
/// connection established through director A that moves to director B mid-flow (as when ECMP
/// rehashes) is scheduled by B to the same real server and carries on.
#[test]
fn ipvs_dr_flow_survives_moving_to_another_director() {
    let Some((_g, dir)) = setup("move") else {
        return;
    };
    let pid = std::process::id();
    let ns = |n: &str| format!("dpm{n}-{pid}");
    let all = ["c", "a", "b", "sw", "r1", "r2", "r3"].map(ns);
    struct Cleanup(Vec<String>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            for n in &self.0 {
                let _ = sh(&format!(
                    "ip netns pids {n} | xargs -r kill -9; ip netns del {n}"
                ));
            }
        }
    }
    let _cleanup = Cleanup(all.to_vec());
    let [c, a, b, sw, r1, r2, r3] = &all;
    let vip = "10.99.100.1";
    let mut script = String::new();
    for n in &all {
        script += &format!("ip netns add {n}; ip -n {n} link set lo up\n");
    }
    script += &format!(
        "ip -n {sw} link add fr type bridge; ip -n {sw} link set fr up\n\
         ip -n {sw} link add bk type bridge; ip -n {sw} link set bk up\n"
    );
    let mut port = 0;
    let mut plug = |host: &str, ifname: &str, bridge: &str, cidr: &str| {
        port += 1;
        format!(
            "ip link add {ifname} netns {host} type veth peer name p{port} netns {sw}\n\
             ip -n {sw} link set p{port} master {bridge} up; ip -n {host} link set {ifname} up\n\
             ip -n {host} addr add {cidr} dev {ifname}\n"
        )
    };
    script += &plug(c, "eth0", "fr", "10.99.3.2/24");
    for (i, d) in [a, b].iter().enumerate() {
        script += &plug(d, "eth0", "fr", &format!("10.99.3.{}/24", 250 + i));
        script += &plug(d, "eth1", "bk", &format!("10.99.1.{}/24", 1 + i));
        script += &format!(
            "ip -n {d} addr add {vip}/32 dev lo\n\
             ip netns exec {d} sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.accept_local=1 \
             net.ipv4.conf.eth1.accept_local=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0\n"
        );
    }
    for (i, r) in [r1, r2, r3].iter().enumerate() {
        script += &plug(r, "eth0", "bk", &format!("10.99.1.1{}/24", i + 1));
        script += &format!(
            "ip -n {r} route add default via 10.99.1.1; ip -n {r} addr add {vip}/32 dev lo\n\
             ip netns exec {r} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2\n"
        );
    }
    script += &format!("ip -n {c} route add {vip}/32 via 10.99.3.250\n");
    run(&script);
    // Real servers: answer their name on connect and on every line.
    let server = dir.join("srv.py");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &server,
        "import socketserver, sys\nname = sys.argv[1].encode() + b'\\n'\nclass H(socketserver.StreamRequestHandler):\n    def handle(self):\n        self.wfile.write(name)\n        for _ in self.rfile:\n            self.wfile.write(name)\nsocketserver.ThreadingTCPServer.allow_reuse_address = True\nsocketserver.ThreadingTCPServer(('0.0.0.0', 80), H).serve_forever()\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for (i, r) in [r1, r2, r3].iter().enumerate() {
        run(&format!(
            "ip netns exec {r} python3 {} b{} >/dev/null 2>&1 &",
            server.display(),
            i + 1
        ));
    }
    for i in 1..=3 {
        let probe =
            format!("ip netns exec {a} bash -c 'exec 3<>/dev/tcp/10.99.1.1{i}/80 && head -1 <&3'");
        let mut up = false;
        for _ in 0..300 {
            if sh(&probe).1.trim() == format!("b{i}") {
                up = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(up, "real server {i} did not come up");
    }
    // The same desired tables on both directors, each applied by its own backend.
    let mut desired = DesiredTables {
        services: vec![service(
            tcp(vip, 80),
            "mh",
            0,
            0,
            32,
            (1..=3)
                .map(|i| dest(&format!("10.99.1.1{i}"), 80, Forward::Route, 1))
                .collect(),
        )],
        sysctls: IpvsSysctls {
            sloppy_tcp: Some(true),
            sloppy_sctp: Some(true),
            conntrack: None,
            expire_nodest_conn: None,
        },
        ..Default::default()
    };
    desired.canonicalize();
    let input = dir.join("desired.json");
    std::fs::write(&input, serde_json::to_vec(&desired).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    for d in [a, b] {
        run(&format!(
            "ip netns exec {d} env DIRECTOR_IPVS_HELPER_IN={} DIRECTOR_IPVS_HELPER_STATE={}/{d} {} --exact helper_ipvs_reconcile --ignored --nocapture",
            input.display(),
            dir.display(),
            exe.display()
        ));
    }
    assert_eq!(
        run(&format!("ip netns exec {a} ipvsadm -Sn")),
        run(&format!("ip netns exec {b} ipvsadm -Sn"))
    );
    // Hold a connection through A, move the route to B, talk again.
    let client = dir.join("hold.py");
    std::fs::write(
        &client,
        "import socket, sys, os, time\ns = socket.create_connection((sys.argv[1], 80), timeout=20)\nf = s.makefile('rwb')\nfirst = f.readline().decode().strip()\nopen(sys.argv[2] + '.tmp', 'w').write(first); os.rename(sys.argv[2] + '.tmp', sys.argv[2])\nwhile not os.path.exists(sys.argv[3]): time.sleep(0.05)\nf.write(b'again\\n'); f.flush()\nprint(first, f.readline().decode().strip())\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ready = dir.join("ready");
    let go = dir.join("go");
    let out_file = dir.join("hold.out");
    run(&format!(
        "ip netns exec {c} python3 {} {vip} {} {} > {} 2>&1 &",
        client.display(),
        ready.display(),
        go.display(),
        out_file.display()
    ));
    let mut first = String::new();
    for _ in 0..300 {
        if let Ok(t) = std::fs::read_to_string(&ready) {
            first = t;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        first.starts_with('b'),
        "no first answer: {}",
        std::fs::read_to_string(&out_file).unwrap_or_default()
    );
    run(&format!("ip -n {c} route replace {vip}/32 via 10.99.3.251"));
    std::fs::write(&go, b"go").unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    for _ in 0..300 {
        answer = std::fs::read_to_string(&out_file).unwrap_or_default();
        if answer.trim().contains(' ') {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(answer.trim(), format!("{first} {first}"));
    // Director B really carried it: it has a connection entry for the client.
    let conns = run(&format!("ip netns exec {b} ipvsadm -Lnc"));
    assert!(conns.contains("10.99.3.2"), "{conns}");
}

/// The daemon itself over IPVS: it programs the configuration, a kill -9 leaves the tables
/// in place, a restarted daemon adopts them with zero kernel operations, a reload that
/// changes one weight changes one line of `ipvsadm -Sn`, and SIGTERM flushes nothing.
#[test]
fn directord_restart_never_flushes() {
    use std::time::{Duration, Instant};
    let Some((_g, dir)) = setup("daemon") else {
        return;
    };
    run("ipvsadm -A -t 192.0.2.1:25 -s rr && ipvsadm -a -t 192.0.2.1:25 -r 192.0.2.10:25 -m");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let conf = dir.join("keepalived.conf");
    let write_conf = |weight: u32| {
        let text = format!(
            "virtual_server 10.99.0.1 80 {{\n  lb_algo mh\n  mh-port\n  lb_kind DR\n  protocol TCP\n  real_server 10.1.0.11 80 {{\n    weight {weight}\n  }}\n  real_server 10.1.0.12 80 {{\n    weight 1\n  }}\n}}\n"
        );
        std::fs::write(&conf, text).unwrap_or_else(|e| panic!("{e}"));
    };
    let socket = dir.join("directord.sock");
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_directord"))
            .arg("-f")
            .arg(&conf)
            .arg("--runtime-dir")
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start directord: {e}"))
    };
    // The daemon's last reconcile, as `directorctl status` reports it.
    let last_operations = || -> Option<u64> {
        let out = Command::new(env!("CARGO_BIN_EXE_directorctl"))
            .arg("-s")
            .arg(&socket)
            .args(["--json", "status"])
            .output()
            .ok()?;
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        status["dataplane"]["last_operations"].as_u64()
    };
    let wait_for = |what: &str, check: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let ours = "-A -t 10.99.0.1:80 -s mh -b mh-port".to_owned();

    write_conf(1);
    let mut daemon = start();
    wait_for("our service", &|| {
        saved(None).len() == 5 && saved(None).contains(&ours)
    });
    let programmed = saved(None);

    daemon.kill().unwrap_or_else(|e| panic!("kill -9: {e}"));
    let _ = daemon.wait();
    assert_eq!(saved(None), programmed, "kill -9 changed the tables");

    let mut daemon = start();
    wait_for("the restarted daemon's first reconcile", &|| {
        last_operations().is_some()
    });
    assert_eq!(last_operations(), Some(0), "a restart touched the kernel");
    assert_eq!(saved(None), programmed);

    write_conf(3);
    run(&format!("kill -HUP {}", daemon.id()));
    wait_for("the reload", &|| saved(None) != programmed);
    let reloaded = saved(None);
    let changed: Vec<_> = reloaded
        .iter()
        .filter(|l| !programmed.contains(l))
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].contains("-r 10.1.0.11:80") && changed[0].contains("-w 3"));

    run(&format!("kill -TERM {}", daemon.id()));
    let status = daemon.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status}");
    assert_eq!(saved(None), reloaded, "SIGTERM changed the tables");
}

/// `directorctl services` and `connections` read what the kernel holds: every line of
/// `ipvsadm -Ln`, `-Ln --stats`, `-Ln --rate`, `-L --timeout` and `-Lnc` comes out the same
/// (ours adds a health column to the first and says which dataplane in its header).
#[test]
fn kernel_listing_matches_ipvsadm_layouts() {
    use director::cli::render::{self, Layout};
    use director::control::snapshot::Snapshot;
    use director::control::views::{ConnectionView, ConnectionsView, DataplaneView, StatusView};
    use director::dataplane::ipvs::listing::IpvsReader;
    use director::dataplane::listing;

    let Some((_g, _dir)) = setup("listing") else {
        return;
    };
    let pid = std::process::id();
    let client = format!("dplc-{pid}");
    struct Cleanup(String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = sh(&format!(
                "ip netns pids {0} | xargs -r kill -9; ip netns del {0}; ip addr del 10.98.100.1/32 dev lo",
                self.0
            ));
        }
    }
    let _cleanup = Cleanup(client.clone());
    run(&format!(
        "ip netns add {client}; ip -n {client} link set lo up\n\
         ip link add dplr{pid} type veth peer name eth0 netns {client}\n\
         ip addr add 10.98.0.1/24 dev dplr{pid}; ip link set dplr{pid} up\n\
         ip -n {client} addr add 10.98.0.2/24 dev eth0; ip -n {client} link set eth0 up\n\
         ip -n {client} route add default via 10.98.0.1\n\
         ip addr add 10.98.100.1/32 dev lo\n\
         ipvsadm -A -t 10.98.100.1:80 -s mh -b mh-port\n\
         ipvsadm -a -t 10.98.100.1:80 -r 10.98.0.9:80 -m -w 2\n\
         ipvsadm -a -t 10.98.100.1:80 -r 10.98.0.10:8080 -m -w 0\n\
         ipvsadm -A -u 10.98.100.1:53 -s rr -p 300 -M 255.255.255.0\n\
         ipvsadm -a -u 10.98.100.1:53 -r 10.98.0.11 -g\n\
         ipvsadm -A -f 7 -s wlc\n\
         ipvsadm --set 901 121 301"
    ));
    let read = || {
        IpvsReader::open()
            .and_then(|mut r| r.read())
            .expect("listing")
    };
    let snapshot = Snapshot::starting(StatusView {
        dataplane: DataplaneView {
            backend: "ipvs".into(),
            ..Default::default()
        },
        ..Default::default()
    });
    // Only the table lines: ipvsadm's first line names the kernel module, ours the dataplane.
    let body = |text: &str| -> Vec<String> {
        text.lines()
            .skip(1)
            .map(|l| l.trim_end().to_string())
            .collect()
    };
    let ours = |layout| render::services(&snapshot.listed(&read()), layout, 0);
    // The default layout, without our health column (`-`: no configuration here).
    let plain: Vec<String> = body(&ours(Layout::Health))
        .into_iter()
        .map(|l| l.strip_suffix(" -").unwrap_or(&l).trim_end().to_string())
        .collect();
    assert_eq!(plain, body(&run("ipvsadm -Ln")));
    assert_eq!(
        body(&ours(Layout::Stats)),
        body(&run("ipvsadm -Ln --stats"))
    );
    assert_eq!(body(&ours(Layout::Rate)), body(&run("ipvsadm -Ln --rate")));
    assert_eq!(
        ours(Layout::Timeout).trim_end(),
        run("ipvsadm -L --timeout").trim_end()
    );
    assert!(ours(Layout::Timeout).contains("901 121 301"));

    // A client's SYNs make a connection entry (the real server never answers).
    run(&format!(
        "ip netns exec {client} timeout 2 bash -c '</dev/tcp/10.98.100.1/80' || true"
    ));
    let entries =
        listing::read_table(listing::IPVS_CONN, listing::parse_ipvs_conn).expect("ip_vs_conn");
    assert!(entries.total >= 1, "no connection entry");
    let view = ConnectionsView {
        backend: "ipvs".into(),
        total: entries.total,
        entries: entries
            .entries
            .into_iter()
            .map(|c| ConnectionView {
                protocol: c.protocol,
                expires: c.expires,
                state: c.state,
                source: c.source,
                virtual_address: c.virtual_address,
                destination: c.destination,
            })
            .collect(),
        note: None,
    };
    // Every column but the expiry time, which moves between the two reads.
    let without_expiry = |text: &str| -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = text
            .lines()
            .skip(2)
            .map(|l| {
                l.split_whitespace()
                    .enumerate()
                    .filter(|(i, _)| *i != 1)
                    .map(|(_, f)| f.to_string())
                    .collect()
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(
        without_expiry(&render::connections(&view)),
        without_expiry(&run("ipvsadm -Lnc"))
    );
    assert!(render::connections(&view).contains("10.98.100.1:80"));
}

/// The daemon's periodic resync (`dataplane_resync_interval`) puts back what someone changed
/// with ipvsadm on its services and counts it in `directorctl status`.
#[test]
fn directord_resync_puts_back_what_ipvsadm_changed() {
    use std::time::{Duration, Instant};
    let Some((_g, dir)) = setup("resync") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "director {\n  dataplane_resync_interval 1\n}\nvirtual_server 10.99.0.2 80 {\n  lb_algo wlc\n  lb_kind NAT\n  protocol TCP\n  real_server 10.1.0.21 80 {\n    weight 2\n  }\n  real_server 10.1.0.22 80 {\n    weight 1\n  }\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let socket = dir.join("directord.sock");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_directord"))
        .arg("-f")
        .arg(&conf)
        .arg("--runtime-dir")
        .arg(&dir)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start directord: {e}"));
    let drift_repaired = || -> Option<u64> {
        let out = Command::new(env!("CARGO_BIN_EXE_directorctl"))
            .arg("-s")
            .arg(&socket)
            .args(["--json", "status"])
            .output()
            .ok()?;
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        status["dataplane"]["drift_repaired"].as_u64()
    };
    let wait_for = |what: &str, check: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("our service", &|| saved(None).len() == 3);
    let programmed = saved(None);
    wait_for("the first status", &|| drift_repaired().is_some());
    assert_eq!(drift_repaired(), Some(0));

    run("ipvsadm -e -t 10.99.0.2:80 -r 10.1.0.21:80 -m -w 9; ipvsadm -d -t 10.99.0.2:80 -r 10.1.0.22:80");
    wait_for("the resync to put both back", &|| saved(None) == programmed);
    wait_for("the drift count", &|| drift_repaired() == Some(2));

    run(&format!("kill -TERM {}", daemon.id()));
    let status = daemon.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status}");
}

#[test]
fn scrapes_copy_the_background_reading_with_each_real_servers_own_counters() {
    use director::control::counters::{CountersHandle, Source, MIN_PERIOD};
    use std::collections::BTreeSet;
    use std::net::{SocketAddr, TcpStream};
    use std::time::{Duration, Instant};

    let Some((_g, dir)) = setup("scrape") else {
        return;
    };
    let pid = std::process::id();
    struct Cleanup(String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = sh(&format!(
                "ip link del {}; ip addr del 10.97.0.1/32 dev lo; ip addr del 10.97.0.2/32 dev lo",
                self.0
            ));
        }
    }
    let device = format!("dsc{pid}");
    let _cleanup = Cleanup(device.clone());
    // VIPs on lo, three real servers on a dummy device, all local: a connection from here
    // to a VIP goes through IPVS (DR), is scheduled by weight and refused by the local
    // stack, and counted on the real server it went to. Two services over the same real
    // servers with opposite weights give every (service, real server) its own count.
    run(&format!(
        "ip link add {device} type dummy && ip link set {device} up\n\
         ip addr add 10.97.0.1/32 dev lo && ip addr add 10.97.0.2/32 dev lo\n\
         for i in 1 2 3; do ip addr add 10.97.1.$i/32 dev {device}; done"
    ));
    let reals = |weights: [u32; 3]| -> Vec<DestSpec> {
        (0..3)
            .map(|i| {
                dest(
                    &format!("10.97.1.{}", i + 1),
                    80,
                    Forward::Route,
                    weights[i],
                )
            })
            .collect()
    };
    let mut desired = DesiredTables {
        services: vec![
            service(tcp("10.97.0.1", 80), "wrr", 0, 0, 32, reals([1, 2, 3])),
            service(tcp("10.97.0.2", 80), "wrr", 0, 0, 32, reals([3, 2, 1])),
        ],
        ..Default::default()
    };
    desired.canonicalize();
    let mut b = open(&dir);
    let report = b.reconcile(&desired);
    assert!(report.is_clean(), "{report:#?}");
    for vip in ["10.97.0.1", "10.97.0.2"] {
        let to: SocketAddr = format!("{vip}:80").parse().expect("address");
        for _ in 0..6 {
            // Refused (or timed out) either way: IPVS counted it when it scheduled it.
            let _ = TcpStream::connect_timeout(&to, Duration::from_secs(2));
        }
    }
    // The estimator folds the counters into what the kernel reports every 2 s.
    let deadline = Instant::now() + Duration::from_secs(20);
    let kernel = loop {
        let stats = b.stats().unwrap_or_else(|e| panic!("stats: {e}"));
        let counted: u64 = stats
            .services
            .iter()
            .flat_map(|s| &s.dests)
            .map(|d| d.counters.connections)
            .sum();
        if counted == 12 {
            break stats;
        }
        assert!(
            Instant::now() < deadline,
            "IPVS counted {counted} of 12 connections"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // Each real server's connections under its service and its own address, sorted (the
    // kernel lists real servers newest first).
    let by_real = |stats: &director::dataplane::TableStats| -> Vec<(String, String, u64)> {
        let mut counted: Vec<_> = stats
            .services
            .iter()
            .flat_map(|s| {
                s.dests.iter().map(move |d| {
                    (
                        s.key.to_string(),
                        format!("{}:{}", d.key.addr, d.key.port),
                        d.counters.connections,
                    )
                })
            })
            .collect();
        counted.sort();
        counted
    };
    assert_eq!(
        by_real(&kernel),
        vec![
            ("tcp 10.97.0.1:80".into(), "10.97.1.1:80".into(), 1),
            ("tcp 10.97.0.1:80".into(), "10.97.1.2:80".into(), 2),
            ("tcp 10.97.0.1:80".into(), "10.97.1.3:80".into(), 3),
            ("tcp 10.97.0.2:80".into(), "10.97.1.1:80".into(), 3),
            ("tcp 10.97.0.2:80".into(), "10.97.1.2:80".into(), 2),
            ("tcp 10.97.0.2:80".into(), "10.97.1.3:80".into(), 1),
        ],
        "wrr spreads 6 connections 1:2:3 and 3:2:1"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let counters = CountersHandle::spawn(Source::Ipvs {
        reader: None,
        requests: 0,
    })
    .expect("counters thread");
    let started = Instant::now();
    let first = runtime.block_on(counters.current(Duration::from_secs(10)));
    let reading = first.reading.expect("the first scrape waits for a reading");
    // Connection counts only: the inactive-connection figures change as the refused
    // connections' entries expire.
    assert_eq!(
        by_real(&reading.stats),
        by_real(&kernel),
        "the scrape's figures are the kernel's, each under its own key"
    );
    // One reading: the service dump and one real-server dump per service.
    assert_eq!(first.kernel_requests, 3);
    let mut readings = BTreeSet::from([reading.started]);
    let mut last = first.kernel_requests;
    for _ in 0..200 {
        let scrape = runtime.block_on(counters.current(Duration::from_secs(10)));
        let reading = scrape.reading.expect("published");
        readings.insert(reading.started);
        last = scrape.kernel_requests;
    }
    let elapsed = started.elapsed();
    // 200 scrapes sent nothing to the kernel: every request belongs to a background
    // reading, and readings came at most once per period.
    assert_eq!(last, 3 * readings.len() as u64);
    let periods = (elapsed.as_secs_f64() / MIN_PERIOD.as_secs_f64()).ceil() as usize;
    assert!(
        readings.len() <= periods + 1,
        "{} readings in {elapsed:?}",
        readings.len()
    );
}
