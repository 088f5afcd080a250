//! Network namespace guards and topology helpers (veth pairs, a bridge "switch",
//! addresses, routes, sysctls), all applied inside test namespaces only.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::unique_name;

/// A named network namespace (`ip netns add`, so `ip netns exec` works for BIRD, FRR,
/// keepalived and directord). Drop kills whatever still runs inside it (TERM, then KILL),
/// then deletes it; failures are printed, never raised, so a panicking test still cleans up.
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Creates `dt-{tag}-{pid}-{counter}` with `lo` up.
    pub fn new(tag: &str) -> NetNs {
        let name = unique_name(&format!("dt-{tag}"));
        super::run_ok(&["ip", "netns", "add", &name]);
        let ns = NetNs { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a command inside the namespace and returns its output, whatever its status.
    pub fn exec(&self, argv: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(argv)
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec {} {argv:?}: {e}", self.name))
    }

    /// Runs a command inside the namespace that must succeed; returns its stdout.
    pub fn exec_ok(&self, argv: &[&str]) -> String {
        let out = self.exec(argv);
        assert!(
            out.status.success(),
            "[{}] {argv:?} failed ({}): {}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `ip -n NS ARGS...`, which must succeed; returns its stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut argv = vec!["ip", "-n", &self.name];
        argv.extend_from_slice(args);
        super::run_ok(&argv)
    }

    /// `ip -n NS ARGS...`, whatever its status.
    pub fn try_ip(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["-n", &self.name])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("ip -n {} {args:?}: {e}", self.name))
    }

    pub fn link_up(&self, dev: &str) {
        self.ip(&["link", "set", dev, "up"]);
    }

    /// Adds `cidr` (e.g. "10.99.0.11/24") to `dev`.
    pub fn add_addr(&self, dev: &str, cidr: &str) {
        self.ip(&["addr", "add", cidr, "dev", dev]);
    }

    /// Adds many addresses in one `ip -batch` run (1,000 VIPs on lo in milliseconds).
    pub fn add_addrs(&self, dev: &str, cidrs: &[String]) {
        self.ip_batch(
            &cidrs
                .iter()
                .map(|c| format!("addr add {c} dev {dev}"))
                .collect::<Vec<_>>(),
        );
    }

    /// `ip -n NS -batch -` with one command per line, which must all succeed.
    pub fn ip_batch(&self, lines: &[String]) {
        use std::io::Write as _;
        let mut child = Command::new("ip")
            .args(["-n", &self.name, "-batch", "-"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("ip -batch in {}: {e}", self.name));
        if let Some(mut stdin) = child.stdin.take() {
            for line in lines {
                writeln!(stdin, "{line}").unwrap_or_else(|e| panic!("ip -batch stdin: {e}"));
            }
        }
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("ip -batch: {e}"));
        assert!(
            out.status.success(),
            "ip -n {} -batch failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }

    pub fn del_addr(&self, dev: &str, cidr: &str) {
        self.ip(&["addr", "del", cidr, "dev", dev]);
    }

    /// Whether any interface in the namespace holds `addr`.
    pub fn has_addr(&self, addr: Ipv4Addr) -> bool {
        let out = self.ip(&["-4", "-o", "addr", "show"]);
        let needle = format!(" {addr}/");
        out.lines().any(|line| line.contains(&needle))
    }

    /// `ip route add DST via GW` (or `dev DEV` when `via` is None).
    pub fn add_route(&self, dst: &str, via: Option<Ipv4Addr>, dev: Option<&str>) {
        let via = via.map(|gw| gw.to_string());
        let mut args = vec!["route", "add", dst];
        if let Some(gw) = &via {
            args.extend(["via", gw.as_str()]);
        }
        if let Some(dev) = dev {
            args.extend(["dev", dev]);
        }
        self.ip(&args);
    }

    /// `sysctl -w key=value` inside the namespace (net.* sysctls are per namespace).
    pub fn sysctl(&self, key: &str, value: &str) {
        self.exec_ok(&["sysctl", "-qw", &format!("{key}={value}")]);
    }

    pub fn enable_forwarding(&self) {
        self.sysctl("net.ipv4.ip_forward", "1");
    }

    /// Deterministic ECMP: hash on (src ip, dst ip, proto, src port, dst port) with a fixed
    /// seed (policy 1 uses the sender's random skb hash in netns labs; see lab README).
    /// Kernels before 6.11 (the IPVS VM's 6.1) have no seed sysctl: their seed is random
    /// per boot, so the hash is still a function of the 5-tuple, which `ip route get`
    /// reproduces, but not the same from one boot to the next.
    pub fn deterministic_multipath_hash(&self, seed: u32) {
        self.sysctl("net.ipv4.fib_multipath_hash_policy", "3");
        self.sysctl("net.ipv4.fib_multipath_hash_fields", "0x0037");
        if Path::new("/proc/sys/net/ipv4/fib_multipath_hash_seed").exists() {
            self.sysctl("net.ipv4.fib_multipath_hash_seed", &seed.to_string());
        }
    }

    /// Pids of every process whose network namespace is this one.
    pub fn pids(&self) -> Vec<u32> {
        let out = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output();
        match out {
            Ok(out) => String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        // Every process in a test namespace was started by the test; daemons normally have
        // their own guards, this catches the rest (keepalived's VRRP child, FRR helpers).
        kill_all(&self.pids(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        while !self.pids().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        kill_all(&self.pids(), "KILL");
        match Command::new("ip")
            .args(["netns", "del", &self.name])
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "warning: ip netns del {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => eprintln!("warning: ip netns del {}: {e}", self.name),
        }
    }
}

fn kill_all(pids: &[u32], signal: &str) {
    if pids.is_empty() {
        return;
    }
    let mut cmd = Command::new("kill");
    cmd.arg("-s").arg(signal);
    cmd.args(pids.iter().map(|p| p.to_string()));
    let _ = cmd.output();
}

/// Creates a veth pair `a_if` in `a` <-> `b_if` in `b`, both up. The links are created
/// directly in their namespaces, so the names only need to be unique there.
pub fn veth(a: &NetNs, a_if: &str, b: &NetNs, b_if: &str) {
    super::run_ok(&[
        "ip",
        "link",
        "add",
        a_if,
        "netns",
        a.name(),
        "type",
        "veth",
        "peer",
        "name",
        b_if,
        "netns",
        b.name(),
    ]);
    a.link_up(a_if);
    b.link_up(b_if);
}

/// A broadcast segment: a namespace holding bridge `br0`; each attached host gets one
/// veth whose switch-side port is `p{n}`.
pub struct Switch {
    ns: NetNs,
    ports: std::cell::Cell<u32>,
}

impl Switch {
    pub fn new(tag: &str) -> Switch {
        let ns = NetNs::new(tag);
        ns.ip(&["link", "add", "br0", "type", "bridge"]);
        // No STP, no forwarding delay: ports forward as soon as they are up.
        ns.ip(&[
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ]);
        ns.link_up("br0");
        Switch {
            ns,
            ports: std::cell::Cell::new(0),
        }
    }

    pub fn ns(&self) -> &NetNs {
        &self.ns
    }

    /// Plugs `host` into the switch through a new interface `host_if` (up, no address).
    pub fn attach(&self, host: &NetNs, host_if: &str) {
        let n = self.ports.get();
        self.ports.set(n + 1);
        let port = format!("p{n}");
        veth(host, host_if, &self.ns, &port);
        self.ns.ip(&["link", "set", &port, "master", "br0"]);
    }
}
