//! VRRP test nodes on top of the netns harness (`tests/common`): each node is this test
//! binary re-executed under `ip netns exec` with `DIRECTOR_VRRP_TEST_NODE` naming its
//! arguments, running `director::vrrp::spawn` (see `spec.rs`). It is a separate process
//! with real sockets, so SIGTERM and SIGKILL behave as for a daemon.
#![allow(dead_code)]

pub mod spec;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::netns::NetNs;
use crate::common::process::Daemon;
use crate::common::TestDir;

pub const NODE_ENV: &str = "DIRECTOR_VRRP_TEST_NODE";

/// Body of each binary's `vrrp_node_entry` test: when started as a node, run it and exit.
pub fn node_entry() {
    let Some(path) = std::env::var_os(NODE_ENV) else {
        return;
    };
    let text = std::fs::read_to_string(&path).expect("node arguments file");
    let args: Vec<String> = serde_json::from_str(&text).expect("node arguments JSON");
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,netlink_proto=info",
        ))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let code = match rt.block_on(spec::run_node(&args, Some(std::path::Path::new(&path)))) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("node: {e}");
            1
        }
    };
    std::process::exit(code);
}

/// A running node.
pub struct Node {
    pub daemon: Daemon,
    pub status_path: PathBuf,
    args_file: PathBuf,
}

impl Node {
    /// Starts a node in `ns` with `args` (`--instance …` etc.; `--status` is added).
    pub fn start(ns: &NetNs, dir: &TestDir, name: &str, args: &[&str]) -> Node {
        let sub = dir.subdir(name);
        let status_path = sub.join("status.json");
        let _ = std::fs::remove_file(&status_path);
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.push("--status".into());
        all.push(status_path.to_string_lossy().into_owned());
        let args_file = sub.join("args.json");
        std::fs::write(&args_file, serde_json::to_string(&all).expect("json")).expect("write args");
        let exe = std::env::current_exe().expect("test binary");
        let env = format!("{NODE_ENV}={}", args_file.display());
        let exe = exe.to_string_lossy().into_owned();
        let daemon = Daemon::spawn(
            ns,
            name,
            &sub,
            &[
                "env",
                &env,
                &exe,
                "vrrp_node_entry",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ],
        );
        Node {
            daemon,
            status_path,
            args_file,
        }
    }

    /// Rewrites the node's arguments and sends SIGHUP (a configuration reload).
    pub fn reload(&mut self, args: &[&str]) {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.push("--status".into());
        all.push(self.status_path.to_string_lossy().into_owned());
        std::fs::write(&self.args_file, serde_json::to_string(&all).expect("json"))
            .expect("write args");
        self.daemon.signal(crate::common::process::Signal::Hup);
    }

    /// Seconds `instance` has been in its current state, from the status file.
    pub fn seconds_in_state(&self, instance: &str) -> Result<f64, String> {
        self.instance(instance)?["seconds_in_state"]
            .as_f64()
            .ok_or_else(|| "no seconds_in_state".into())
    }

    pub fn status(&self) -> Result<serde_json::Value, String> {
        let text = std::fs::read_to_string(&self.status_path)
            .map_err(|e| format!("no status yet: {e}"))?;
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }

    fn instance(&self, name: &str) -> Result<serde_json::Value, String> {
        let st = self.status()?;
        st["instances"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["name"] == name).cloned())
            .ok_or_else(|| format!("no instance {name} in status"))
    }

    pub fn state(&self, instance: &str) -> Result<String, String> {
        Ok(self.instance(instance)?["state"]
            .as_str()
            .unwrap_or("?")
            .to_string())
    }

    pub fn priority(&self, instance: &str) -> Result<u64, String> {
        self.instance(instance)?["priority"]
            .as_u64()
            .ok_or_else(|| "no priority".into())
    }

    pub fn counter(&self, instance: &str, counter: &str) -> Result<u64, String> {
        self.instance(instance)?["counters"][counter]
            .as_u64()
            .ok_or_else(|| format!("no counter {counter}"))
    }

    /// Waits until the node's status says `instance` is in `state`.
    pub fn wait_state(&self, instance: &str, state: &str, timeout: Duration) -> Result<(), String> {
        crate::common::wait::wait_until(timeout, Duration::from_millis(20), || {
            match self.state(instance) {
                Ok(s) if s == state => Ok(()),
                Ok(s) => Err(format!("{instance} is {s}")),
                Err(e) => Err(e),
            }
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}

/// The `addr/prefix` entries of a namespace (`ip -o addr`).
pub fn addresses(ns: &str) -> Vec<String> {
    let out = std::process::Command::new("ip")
        .args(["-n", ns, "-o", "addr", "show"])
        .output();
    let Ok(out) = out else { return Vec::new() };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3).map(String::from))
        .collect()
}

pub fn has_addr(ns: &NetNs, cidr: &str) -> bool {
    addresses(ns.name()).iter().any(|a| a == cidr)
}

/// Samples which namespaces hold a VIP, every 10 ms, in the background: the longest time
/// two of them held it at once, and how often the holder changed.
pub struct VipMonitor {
    stop: Arc<AtomicBool>,
    result: Arc<Mutex<MonitorResult>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Clone, Default)]
pub struct MonitorResult {
    pub longest_overlap: Duration,
    pub holder_changes: u32,
    pub samples: u64,
}

impl VipMonitor {
    /// `alive` decides per sample whether a namespace counts (a killed node's leftover
    /// address is not a second master).
    pub fn start(namespaces: Vec<String>, cidr: &str, alive: Arc<Mutex<Vec<bool>>>) -> VipMonitor {
        let stop = Arc::new(AtomicBool::new(false));
        let result = Arc::new(Mutex::new(MonitorResult::default()));
        let (s, r, cidr) = (stop.clone(), result.clone(), cidr.to_string());
        let thread = std::thread::spawn(move || {
            let mut overlap_since: Option<Instant> = None;
            let mut last_holders: Option<Vec<bool>> = None;
            while !s.load(Ordering::SeqCst) {
                let alive = alive.lock().map(|a| a.clone()).unwrap_or_default();
                let holders: Vec<bool> = namespaces
                    .iter()
                    .enumerate()
                    .map(|(i, ns)| {
                        alive.get(i).copied().unwrap_or(true) && addresses(ns).contains(&cidr)
                    })
                    .collect();
                let count = holders.iter().filter(|h| **h).count();
                let now = Instant::now();
                if let Ok(mut res) = r.lock() {
                    res.samples += 1;
                    if count > 1 {
                        let since = *overlap_since.get_or_insert(now);
                        res.longest_overlap = res.longest_overlap.max(now - since);
                    } else {
                        overlap_since = None;
                    }
                    if let Some(last) = &last_holders {
                        if *last != holders && count == 1 {
                            res.holder_changes += 1;
                        }
                    }
                }
                if count == 1 {
                    last_holders = Some(holders);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        VipMonitor {
            stop,
            result,
            thread: Some(thread),
        }
    }

    pub fn snapshot(&self) -> MonitorResult {
        self.result.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn stop(mut self) -> MonitorResult {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.snapshot()
    }
}

impl Drop for VipMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
