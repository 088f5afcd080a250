//! VRRP test nodes on top of the netns harness (`tests/common`): each node is the real
//! `directord` running a keepalived.conf (plus `director { dataplane none }`: this kernel
//! has no IPVS) under `ip netns exec`; its VRRP status comes from `directorctl -j vrrp`
//! over its control socket. Also: keepalived.conf builders and a VIP monitor.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::netns::NetNs;
use crate::common::process::{Daemon, Signal};
use crate::common::TestDir;

/// A `vrrp_instance` block; `extra` lines go in as written.
pub fn instance(name: &str, iface: &str, vrid: u8, prio: u8, vips: &[&str], extra: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface {iface}\n    \
         virtual_router_id {vrid}\n    priority {prio}\n    advert_int 1\n{extra}\n    \
         virtual_ipaddress {{\n        {}\n    }}\n}}\n",
        vips.join("\n        ")
    )
}

/// A whole directord configuration: no dataplane, then `blocks` as written.
pub fn directord_conf(blocks: &[&str]) -> String {
    let mut c = String::from("director {\n    dataplane none\n}\n");
    for b in blocks {
        c.push_str(b);
        c.push('\n');
    }
    c
}

/// A running directord.
pub struct Node {
    pub daemon: Daemon,
    conf: PathBuf,
    socket: PathBuf,
}

impl Node {
    /// Starts `directord -f CONF` in `ns` (files under `{dir}/{name}/`).
    pub fn start(ns: &NetNs, dir: &TestDir, name: &str, conf_text: &str) -> Node {
        let daemon = crate::common::directord(ns, dir, name, conf_text);
        Node {
            daemon,
            conf: dir.path().join(name).join("directord.conf"),
            socket: dir.path().join(name).join("run").join("directord.sock"),
        }
    }

    /// `directorctl -j vrrp`: the daemon's `VrrpStatus` as JSON.
    pub fn status(&self) -> Result<serde_json::Value, String> {
        let out = Command::new(env!("CARGO_BIN_EXE_directorctl"))
            .arg("-s")
            .arg(&self.socket)
            .args(["-j", "vrrp"])
            .output()
            .map_err(|e| format!("directorctl: {e}"))?;
        // Exit 1 with an answer: an instance is in FAULT; still the status asked for.
        if out.stdout.is_empty() {
            return Err(format!(
                "directorctl vrrp: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("directorctl JSON: {e}"))
    }

    /// Rewrites the configuration file and sends SIGHUP.
    pub fn reload(&mut self, conf_text: &str) {
        std::fs::write(&self.conf, conf_text).expect("write configuration");
        self.daemon.signal(Signal::Hup);
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

    /// Seconds `instance` has been in its current state.
    pub fn seconds_in_state(&self, instance: &str) -> Result<f64, String> {
        self.instance(instance)?["seconds_in_state"]
            .as_f64()
            .ok_or_else(|| "no seconds_in_state".into())
    }

    /// Waits until the daemon says `instance` is in `state`.
    pub fn wait_state(&self, instance: &str, state: &str, timeout: Duration) -> Result<(), String> {
        crate::common::wait::wait_until(timeout, Duration::from_millis(50), || {
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

/// Sends 10 rounds of crafted VRRPv2 adverts (priority 254, for `vrid` with the single
/// address `vip`) from `ns` with python3: a wrong password, a bad checksum (right
/// password), TTL 1, and a truncated one.
pub fn inject_bad_adverts(ns: &NetNs, src: &str, vrid: u8, vip: &str, password: &str) {
    let py = format!(
        r#"
import socket, struct
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b)//2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def advert(pw, good_csum=True):
    body = bytearray(struct.pack('!BBBBBBH', 0x21, {vrid}, 254, 1, 1, 1, 0) + socket.inet_aton('{vip}') + pw.ljust(8, b'\0')[:8])
    c = csum(bytes(body)) if good_csum else 0x1234
    body[6:8] = struct.pack('!H', c)
    return bytes(body)
def send(payload, ttl):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    s.bind(('{src}', 0))
    s.sendto(payload, ('224.0.0.18', 0))
for _ in range(10):
    send(advert(b'wrong'), 255)
    send(advert(b'{password}', False), 255)
    send(advert(b'{password}'), 1)
    send(advert(b'{password}')[:10], 255)
"#
    );
    ns.exec_ok(&["python3", "-c", &py]);
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
