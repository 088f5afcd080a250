//! Minimal namespace helpers for the VRRP tests (until tests/common lands on main):
//! uniquely named namespaces removed on Drop, commands run inside them, root check.
#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn is_root() -> bool {
    // SAFETY-free check: /proc/self/status Uid line; 0 is root.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Returns true (and prints why) when the test must be skipped.
pub fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    eprintln!("SKIP {test}: needs root (network namespaces)");
    true
}

/// A network namespace `vr<prefix>-<pid>-<n>`, deleted (with its processes) on Drop.
pub struct NetNs {
    pub name: String,
    children: Vec<Child>,
}

impl NetNs {
    pub fn new(prefix: &str) -> NetNs {
        let name = format!(
            "vr{prefix}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        run_ok(&["ip", "netns", "add", &name]);
        run_ok(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        NetNs {
            name,
            children: Vec::new(),
        }
    }

    /// Runs a command inside the namespace and returns its output.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(args);
        Command::new(full[0])
            .args(&full[1..])
            .output()
            .unwrap_or_else(|e| panic!("spawn {full:?}: {e}"))
    }

    /// Runs a command inside the namespace and panics unless it succeeds.
    pub fn exec_ok(&self, args: &[&str]) -> String {
        let out = self.exec(args);
        assert!(
            out.status.success(),
            "{args:?} in {} failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts a long-running command in the namespace; returns its pid.
    pub fn spawn(&mut self, args: &[&str], log: &std::path::Path) -> u32 {
        let file = std::fs::File::create(log).expect("create log file");
        let err = file.try_clone().expect("clone log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {args:?}: {e}"));
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// IPv4/IPv6 addresses (`addr/prefix dev`) present in the namespace.
    pub fn addresses(&self) -> Vec<String> {
        let out = self.exec(&["ip", "-o", "addr", "show"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() > 3).then(|| format!("{} {}", f[3], f[1]))
            })
            .collect()
    }

    pub fn has_addr(&self, addr_with_prefix: &str) -> bool {
        self.addresses()
            .iter()
            .any(|a| a.starts_with(&format!("{addr_with_prefix} ")))
    }

    /// Reaps children that already exited; returns whether `pid` is still running.
    pub fn alive(&mut self, pid: u32) -> bool {
        for c in &mut self.children {
            if c.id() == pid {
                return matches!(c.try_wait(), Ok(None));
            }
        }
        false
    }

    pub fn signal(&self, pid: u32, sig: &str) {
        let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
    }

    /// Waits for the child `pid` to exit.
    pub fn wait_exit(&mut self, pid: u32, timeout: Duration) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if !self.alive(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
        }
        let t0 = Instant::now();
        for c in &mut self.children {
            while matches!(c.try_wait(), Ok(None)) && t0.elapsed() < Duration::from_secs(3) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        // Anything else left inside (keepalived children): kill by pid.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        let ok = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("warning: could not delete namespace {}", self.name);
        }
    }
}

pub fn run_ok(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("spawn {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A bridge namespace with `n` member namespaces, each with `eth0` = 10.99.<net>.<10+i>/24
/// and fd00:99:<net>::<10+i>/64.
pub struct Lan {
    pub switch: NetNs,
    pub nodes: Vec<NetNs>,
}

impl Lan {
    pub fn new(prefix: &str, net: u8, n: usize) -> Lan {
        let switch = NetNs::new(&format!("{prefix}s"));
        switch.exec_ok(&["ip", "link", "add", "br0", "type", "bridge"]);
        switch.exec_ok(&["ip", "link", "set", "br0", "up"]);
        let mut nodes = Vec::new();
        for i in 0..n {
            let node = NetNs::new(&format!("{prefix}{i}"));
            let port = format!("p{i}");
            run_ok(&[
                "ip",
                "link",
                "add",
                "eth0",
                "netns",
                &node.name,
                "type",
                "veth",
                "peer",
                "name",
                &port,
                "netns",
                &switch.name,
            ]);
            switch.exec_ok(&["ip", "link", "set", &port, "master", "br0", "up"]);
            node.exec_ok(&["ip", "link", "set", "eth0", "up"]);
            let v4 = format!("10.99.{net}.{}/24", 10 + i);
            let v6 = format!("fd00:99:{net}::{}/64", 10 + i);
            node.exec_ok(&["ip", "addr", "add", &v4, "dev", "eth0"]);
            node.exec_ok(&["ip", "addr", "add", &v6, "dev", "eth0", "nodad"]);
            nodes.push(node);
        }
        Lan { switch, nodes }
    }
}

/// Polls `cond` every 20 ms until it has held continuously for `hold`; false on timeout.
pub fn wait_stable(timeout: Duration, hold: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    let mut since: Option<Instant> = None;
    while t0.elapsed() < timeout {
        if cond() {
            let s = *since.get_or_insert_with(Instant::now);
            if s.elapsed() >= hold {
                return true;
            }
        } else {
            since = None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
