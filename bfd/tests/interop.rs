//! The runtime against real BFD speakers in network namespaces: BIRD 2 (`protocol bfd`)
//! and FRR 8 (bfdd). Needs root, `bird`, `birdc`, FRR's `zebra`/`bfdd` and `vtysh`; skips
//! loudly without them, and fails instead under CI (`CI` or `DIRECTOR_REQUIRE_ALL=1`).
//!
//! Our speaker runs in-process on a thread that entered the namespace (setns is per
//! thread) with its own current-thread runtime; "kill -9 of our side" is dropping that
//! runtime, so nothing more is sent (no AdminDown). Figures are printed with a `MEASURE:`
//! prefix and not asserted.

use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bfd::packet::{AuthConfig, AuthType, State};
use bfd::{Event, SessionConfig, SessionKey};

fn required() -> bool {
    std::env::var_os("CI").is_some()
        || std::env::var("DIRECTOR_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// False (after a loud line) when the test cannot run; panics instead under CI.
fn can_run(test: &str, programs: &[&str]) -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false);
    let missing = programs.iter().find(|p| {
        !["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/lib/frr"]
            .iter()
            .any(|d| Path::new(d).join(p).exists())
    });
    let reason = if !root {
        "needs root (network namespaces)".to_string()
    } else if let Some(m) = missing {
        format!("needs `{m}` (apt-get install bird2 frr)")
    } else {
        return true;
    };
    if required() {
        panic!("{test} {reason}; CI is set, so this is a failure, not a skip");
    }
    eprintln!("SKIPPED: {test} {reason}");
    record_skip(test, &reason);
    false
}

/// One line in the skip log that `scripts/test` names with `DIRECTOR_SKIP_LOG` and sums
/// up at the end (the same format as the root package's `tests/common`).
fn record_skip(test: &str, reason: &str) {
    use std::io::Write as _;
    let Some(log) = std::env::var_os("DIRECTOR_SKIP_LOG") else {
        return;
    };
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut file| file.write_all(format!("{test}: {reason}\n").as_bytes()));
    if let Err(e) = written {
        eprintln!(
            "warning: cannot record the skip in {}: {e}",
            log.to_string_lossy()
        );
    }
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Two namespaces joined by a veth: `us` (10.X.0.1, our speaker) and `peer` (10.X.0.2).
struct Lab {
    us: String,
    peer: String,
    dir: PathBuf,
    pids: Vec<u32>,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // dt-{tag}-{pid}-{counter}, the names scripts/lab/sweep-netns cleans up.
        let pid = std::process::id();
        let base = format!("dt-bfd{tag}-{pid}-{n}");
        let (us, peer) = (
            format!("dt-bfd{tag}u-{pid}-{n}"),
            format!("dt-bfd{tag}p-{pid}-{n}"),
        );
        let dir = std::env::temp_dir().join(&base);
        std::fs::create_dir_all(&dir).unwrap();
        sh(&["chmod", "755", dir.to_str().unwrap()]);
        let lab = Lab {
            us,
            peer,
            dir,
            pids: vec![],
        };
        let (va, vb) = (
            format!("vb{n}a{}", std::process::id() % 10000),
            format!("vb{n}b{}", std::process::id() % 10000),
        );
        sh(&["ip", "netns", "add", &lab.us]);
        sh(&["ip", "netns", "add", &lab.peer]);
        sh(&[
            "ip", "link", "add", &va, "type", "veth", "peer", "name", &vb,
        ]);
        sh(&["ip", "link", "set", &va, "netns", &lab.us, "name", "eth0"]);
        sh(&["ip", "link", "set", &vb, "netns", &lab.peer, "name", "eth0"]);
        for (ns, a) in [(&lab.us, "10.78.0.1/24"), (&lab.peer, "10.78.0.2/24")] {
            sh(&["ip", "-n", ns, "addr", "add", a, "dev", "eth0"]);
            sh(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        lab
    }

    fn path(&self, f: &str) -> String {
        self.dir.join(f).to_str().unwrap().to_string()
    }

    fn start_bird(&mut self, auth: &str) {
        let auth = if auth.is_empty() {
            String::new()
        } else {
            format!("authentication {auth}; password \"bfd-secret\" {{ id 7; }};")
        };
        let conf = format!(
            "router id 10.78.0.2;\nprotocol device {{}}\nprotocol bfd {{\n  interface \"eth0\" {{ min rx interval 100 ms; min tx interval 100 ms; idle tx interval 1000 ms; multiplier 3; {auth} }};\n  neighbor 10.78.0.1;\n}}\n"
        );
        std::fs::write(self.path("bird.conf"), conf).unwrap();
        sh(&[
            "ip",
            "netns",
            "exec",
            &self.peer,
            "bird",
            "-c",
            &self.path("bird.conf"),
            "-s",
            &self.path("bird.ctl"),
            "-P",
            &self.path("bird.pid"),
        ]);
        self.pids.push(self.pid("bird.pid"));
    }

    fn bird_state(&self) -> Option<String> {
        let out = Command::new("birdc")
            .args(["-s", &self.path("bird.ctl"), "show", "bfd", "sessions"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.starts_with("10.78.0.1"))
            .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
    }

    fn start_frr(&mut self) {
        std::fs::write(self.path("zebra.conf"), "hostname peer\n").unwrap();
        std::fs::write(
            self.path("bfdd.conf"),
            "hostname peer\nbfd\n peer 10.78.0.1 interface eth0\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 3\n !\n!\n",
        )
        .unwrap();
        sh(&["chown", "-R", "frr:frr", self.dir.to_str().unwrap()]);
        for d in ["zebra", "bfdd"] {
            sh(&[
                "ip",
                "netns",
                "exec",
                &self.peer,
                &format!("/usr/lib/frr/{d}"),
                "-d",
                "-f",
                &self.path(&format!("{d}.conf")),
                "-i",
                &self.path(&format!("{d}.pid")),
                "-z",
                &self.path("zserv.api"),
                "--vty_socket",
                self.dir.to_str().unwrap(),
                "-P",
                "0",
            ]);
            thread::sleep(Duration::from_millis(300));
            self.pids.push(self.pid(&format!("{d}.pid")));
        }
    }

    fn frr_state(&self) -> Option<String> {
        let out = Command::new("vtysh")
            .args([
                "--vty_socket",
                self.dir.to_str().unwrap(),
                "-c",
                "show bfd peers json",
            ])
            .output()
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        v.as_array()?
            .iter()
            .find(|p| p["peer"] == "10.78.0.1")
            .and_then(|p| p["status"].as_str().map(str::to_string))
    }

    fn pid(&self, f: &str) -> u32 {
        for _ in 0..50 {
            if let Ok(s) = std::fs::read_to_string(self.path(f)) {
                if let Ok(p) = s.trim().parse() {
                    return p;
                }
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("no pid in {f}");
    }

    fn kill9(&mut self, pid: u32) {
        sh(&["kill", "-9", &pid.to_string()]);
        self.pids.retain(|&p| p != pid);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for p in &self.pids {
            let _ = Command::new("kill").arg(p.to_string()).status();
        }
        thread::sleep(Duration::from_millis(200));
        for ns in [&self.us, &self.peer] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Our speaker on a thread inside `ns`; dropping it drops its runtime (a kill -9 of the
/// BFD side: nothing more is sent).
struct Speaker {
    events: mpsc::Receiver<Event>,
    stop: Option<mpsc::Sender<bool>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Speaker {
    fn start(ns: &str, config: SessionConfig) -> Speaker {
        let nsfile = format!("/var/run/netns/{ns}");
        let (ev_tx, ev_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<bool>();
        let thread = thread::spawn(move || {
            let f = File::open(nsfile).unwrap();
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (h, mut events) = bfd::spawn().unwrap();
                let key = SessionKey {
                    peer: Ipv4Addr::new(10, 78, 0, 2),
                    ifname: "eth0".into(),
                };
                h.add(key, Some(Ipv4Addr::new(10, 78, 0, 1)), config);
                loop {
                    tokio::select! {
                        Some(e) = events.recv() => { let _ = ev_tx.send(e); }
                        () = tokio::time::sleep(Duration::from_millis(20)) => {
                            match stop_rx.try_recv() {
                                Ok(true) => { h.shutdown().await; return; }
                                Ok(false) | Err(mpsc::TryRecvError::Disconnected) => return,
                                Err(mpsc::TryRecvError::Empty) => {}
                            }
                        }
                    }
                }
            });
            // Dropping `rt` here aborts the speaker's tasks without AdminDown.
        });
        Speaker {
            events: ev_rx,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Waits for a transition to `to`; returns when it was seen.
    fn wait_for(&self, to: State, timeout: Duration) -> Option<(Instant, &'static str)> {
        let end = Instant::now() + timeout;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.events.recv_timeout(left) {
                Ok(Event::StateChange { to: t, diag, .. }) if t == to => {
                    return Some((Instant::now(), diag))
                }
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    }

    /// Stops abruptly (`graceful` = false: no AdminDown, like kill -9).
    fn stop(mut self, graceful: bool) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(graceful);
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(false);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> Option<Instant> {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return Some(Instant::now());
        }
        thread::sleep(Duration::from_millis(10));
    }
    None
}

fn config(auth: Option<AuthConfig>) -> SessionConfig {
    SessionConfig {
        min_tx: Duration::from_millis(100),
        min_rx: Duration::from_millis(100),
        idle_tx: Duration::from_secs(1),
        multiplier: 3,
        auth,
    }
}

#[test]
fn bird_session_up_and_down_both_ways() {
    if !can_run("bird_session_up_and_down_both_ways", &["bird", "birdc"]) {
        return;
    }
    let mut lab = Lab::new("b");
    lab.start_bird("");
    let sp = Speaker::start(&lab.us, config(None));
    assert!(
        sp.wait_for(State::Up, Duration::from_secs(10)).is_some(),
        "we never came Up"
    );
    assert!(
        wait_until(Duration::from_secs(5), || lab.bird_state().as_deref()
            == Some("Up"))
        .is_some(),
        "BIRD never came Up: {:?}",
        lab.bird_state()
    );
    // kill -9 of our side → BIRD's session Down.
    let t0 = Instant::now();
    sp.stop(false);
    let down = wait_until(Duration::from_secs(5), || {
        lab.bird_state().as_deref() != Some("Up")
    })
    .expect("BIRD kept the session Up");
    println!(
        "MEASURE: bird: our speaker killed -> BIRD session Down: {:?}",
        down - t0
    );

    // BIRD dies → our detection time expires.
    let sp = Speaker::start(&lab.us, config(None));
    assert!(sp.wait_for(State::Up, Duration::from_secs(10)).is_some());
    let bird = lab.pid("bird.pid");
    let t0 = Instant::now();
    lab.kill9(bird);
    let (t, diag) = sp
        .wait_for(State::Down, Duration::from_secs(5))
        .expect("no Down");
    assert_eq!(diag, "control_detection_time_expired");
    println!(
        "MEASURE: bird: BIRD killed -> our session Down: {:?}",
        t - t0
    );
}

#[test]
fn bird_authenticated_sessions() {
    if !can_run("bird_authenticated_sessions", &["bird", "birdc"]) {
        return;
    }
    for (bird_auth, t) in [
        ("keyed sha1", AuthType::KeyedSha1),
        ("meticulous keyed md5", AuthType::MeticulousKeyedMd5),
        ("meticulous keyed sha1", AuthType::MeticulousKeyedSha1),
        ("keyed md5", AuthType::KeyedMd5),
        ("simple", AuthType::SimplePassword),
    ] {
        let mut lab = Lab::new("a");
        lab.start_bird(bird_auth);
        let key = AuthConfig::new(t, 7, b"bfd-secret").unwrap();
        let sp = Speaker::start(&lab.us, config(Some(key)));
        assert!(
            sp.wait_for(State::Up, Duration::from_secs(10)).is_some(),
            "{bird_auth}: we never came Up"
        );
        assert!(
            wait_until(Duration::from_secs(5), || lab.bird_state().as_deref()
                == Some("Up"))
            .is_some(),
            "{bird_auth}: BIRD never came Up"
        );
        // Stay Up for a while (sequence numbers keep being accepted on both sides).
        assert!(
            sp.wait_for(State::Down, Duration::from_secs(2)).is_none(),
            "{bird_auth}: went Down"
        );
        assert_eq!(lab.bird_state().as_deref(), Some("Up"), "{bird_auth}");
        sp.stop(true);
    }
    // A wrong key never comes Up.
    let mut lab = Lab::new("w");
    lab.start_bird("keyed sha1");
    let key = AuthConfig::new(AuthType::KeyedSha1, 7, b"wrong").unwrap();
    let sp = Speaker::start(&lab.us, config(Some(key)));
    assert!(sp.wait_for(State::Up, Duration::from_secs(4)).is_none());
    assert!(sp
        .wait_for(State::Init, Duration::from_millis(10))
        .is_none());
    assert_ne!(lab.bird_state().as_deref(), Some("Up"));
}

#[test]
fn frr_session_up_and_down_both_ways() {
    if !can_run(
        "frr_session_up_and_down_both_ways",
        &["zebra", "bfdd", "vtysh"],
    ) {
        return;
    }
    let mut lab = Lab::new("f");
    lab.start_frr();
    let sp = Speaker::start(&lab.us, config(None));
    assert!(
        sp.wait_for(State::Up, Duration::from_secs(10)).is_some(),
        "we never came Up"
    );
    assert!(
        wait_until(Duration::from_secs(5), || lab.frr_state().as_deref()
            == Some("up"))
        .is_some(),
        "FRR never came up: {:?}",
        lab.frr_state()
    );
    let t0 = Instant::now();
    sp.stop(false);
    let down = wait_until(Duration::from_secs(5), || {
        lab.frr_state().as_deref() != Some("up")
    })
    .expect("FRR kept the session up");
    println!(
        "MEASURE: frr: our speaker killed -> bfdd session down: {:?}",
        down - t0
    );

    let sp = Speaker::start(&lab.us, config(None));
    assert!(sp.wait_for(State::Up, Duration::from_secs(10)).is_some());
    let bfdd = lab.pid("bfdd.pid");
    let t0 = Instant::now();
    lab.kill9(bfdd);
    let (t, diag) = sp
        .wait_for(State::Down, Duration::from_secs(5))
        .expect("no Down");
    assert_eq!(diag, "control_detection_time_expired");
    println!(
        "MEASURE: frr: bfdd killed -> our session Down: {:?}",
        t - t0
    );
}
