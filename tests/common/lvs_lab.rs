//! The keepalived + LVS reference lab (needs IPVS: run it in the IPVS VM): the health lab's
//! topology, client and three real servers, with a keepalived VRRP pair in the directors'
//! places doing LVS-DR of the same VIP, the way LVS sites run it, and r1 a plain router
//! (no OSPF).
//!
//! ```text
//!  client 10.99.5.x ── r1 (10.99.0.1) ── switch ── l1 10.99.0.11  keepalived, priority 150
//!                                            ├── l2 10.99.0.12  keepalived, priority 100
//!                                            └── b1..b3 10.99.0.21-23 (VIP on lo, :80)
//! ```
//!
//! The VIP is a VRRP address on the master's `eth0`; r1 reaches it on-link (one static
//! route, ARP), so a failover is the backup's gratuitous ARP. Both nodes program the same
//! IPVS service (rr, DR, TCP_CHECK every second). With `sync`, `lvs_sync_daemon` runs on
//! both (master on the VRRP master, backup on the backup), which is how LVS users keep
//! connections across a failover: without it the new master has no entry for an
//! established connection and its stack answers the next segment with a reset.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use super::health_lab::{
    client_behind, dr_real_servers, dr_virtual_servers, hold_connection, HeldConnection, PORT, VIP,
};
use super::netns::NetNs;
use super::ospf::{host, BroadcastLab, ROUTER_ID};
use super::process::{Daemon, Signal};
use super::wait::wait_until;
use super::TestDir;

const PRIORITIES: [u32; 2] = [150, 100];

/// keepalived's configuration for node `n` serving `vips`.
pub fn keepalived_lvs_config(n: usize, vips: &[Ipv4Addr], sync: bool) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "global_defs {{\n    router_id l{}", n + 1);
    if sync {
        let _ = writeln!(c, "    lvs_sync_daemon eth0 VI_1 id 51");
    }
    let _ = writeln!(c, "}}\n");
    let _ = writeln!(
        c,
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {}\n    advert_int 1\n    virtual_ipaddress {{",
        PRIORITIES[n]
    );
    for vip in vips {
        let _ = writeln!(c, "        {} dev eth0", host(*vip));
    }
    let _ = writeln!(c, "    }}\n}}\n");
    c.push_str(&dr_virtual_servers(vips, "rr"));
    c
}

/// One keepalived node: its namespace's daemon (parent, VRRP and checker children).
pub struct LvsNode {
    pub conf: PathBuf,
    pub daemon: Daemon,
}

/// The whole lab. Fields drop in declaration order: processes first, then namespaces, then
/// the directory with the logs.
pub struct LvsLab {
    pub servers: Vec<Daemon>,
    pub nodes: Vec<LvsNode>,
    pub client: NetNs,
    pub reals: Vec<NetNs>,
    pub net: BroadcastLab,
    pub dir: TestDir,
    pub sync: bool,
}

impl LvsLab {
    pub fn new(sync: bool) -> LvsLab {
        let dir = TestDir::new("lvs");
        let net = BroadcastLab::new(2);
        let r1 = &net.r1;
        r1.enable_forwarding();
        // The VIPs are on-link: whoever answers ARP for them (the VRRP master) gets them.
        for vip in [VIP, super::health_lab::VIP2] {
            r1.ip(&["route", "add", &host(vip), "dev", "eth0"]);
        }
        let client = client_behind(r1);
        let (reals, servers) = dr_real_servers(&net, &dir);
        let nodes = (0..2)
            .map(|n| {
                let ns = &net.directors[n];
                // As on a real LVS director: what it sends outside its segment (a reset
                // for a connection it has no entry for) goes to the router.
                ns.ip(&["route", "add", "default", "via", &ROUTER_ID.to_string()]);
                // IPVS refuses real servers while lo is down (vm/README.md); NetNs brings
                // it up.
                let node_dir = dir.subdir(&format!("l{}", n + 1));
                let conf = node_dir.join("keepalived.conf");
                std::fs::write(&conf, keepalived_lvs_config(n, &[VIP], sync))
                    .unwrap_or_else(|e| panic!("write {}: {e}", conf.display()));
                let path = |name: &str| node_dir.join(name).to_string_lossy().into_owned();
                let daemon = Daemon::spawn(
                    ns,
                    &format!("l{}", n + 1),
                    &node_dir,
                    &[
                        "keepalived",
                        "--dont-fork",
                        "--log-console",
                        "--log-detail",
                        "-f",
                        &conf.to_string_lossy(),
                        "-p",
                        &path("keepalived.pid"),
                        "-r",
                        &path("vrrp.pid"),
                        "-c",
                        &path("checkers.pid"),
                    ],
                );
                LvsNode { conf, daemon }
            })
            .collect();
        LvsLab {
            servers,
            nodes,
            client,
            reals,
            net,
            dir,
            sync,
        }
    }

    /// Ok when l1 is master (holds the VIP, l2 does not), both IPVS tables list the three
    /// real servers, and with sync both sync daemons run.
    pub fn baseline(&self) -> Result<(), String> {
        if self.vrrp_master() != 1 {
            return Err(format!("VIP holder: {}", self.vrrp_master()));
        }
        for ns in &self.net.directors {
            let reals = ipvs_reals(ns, VIP);
            if reals != 3 {
                return Err(format!("{}: {reals} real servers in IPVS", ns.name()));
            }
            if self.sync {
                let daemons =
                    String::from_utf8_lossy(&ns.exec(&["ipvsadm", "-L", "--daemon"]).stdout)
                        .into_owned();
                if !daemons.contains("sync daemon") {
                    return Err(format!("{}: no sync daemon ({daemons})", ns.name()));
                }
            }
        }
        Ok(())
    }

    /// Which node holds the VIP (see [`vip_holder`]).
    pub fn vrrp_master(&self) -> u32 {
        vip_holder(&self.net.directors)
    }

    /// What the lab looks like, for an error message: the VIP holder, each node's IPVS
    /// table and connections, and the router's neighbours.
    pub fn diagnostics(&self) -> String {
        let mut text = format!("VIP holder {}", self.vrrp_master());
        for ns in &self.net.directors {
            let out = ns.exec(&["ipvsadm", "-Ln"]);
            let conns = ns.exec(&["ipvsadm", "-Lnc"]);
            let _ = write!(
                text,
                "; {}: {} connections: {}",
                ns.name(),
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&conns.stdout)
                    .lines()
                    .count()
                    .saturating_sub(2)
            );
        }
        let neigh = self.net.r1.exec(&["ip", "neigh"]);
        let _ = write!(
            text,
            "; r1 neighbours: {}",
            String::from_utf8_lossy(&neigh.stdout).trim()
        );
        text
    }

    pub fn hold_connection(&self, vip: Ipv4Addr, src: Ipv4Addr) -> HeldConnection {
        hold_connection(&self.client, &self.dir, vip, src)
    }

    /// Waits for [`LvsLab::baseline`] (keepalived's first master takes about 4 s).
    pub fn wait_baseline(&self, timeout: Duration) -> Result<(), String> {
        wait_until(timeout, Duration::from_millis(200), || self.baseline())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Which of the two nodes (`directors`, l1 then l2) holds the VIP: 1 or 2, 3 for both, 0
/// for none.
pub fn vip_holder(directors: &[NetNs]) -> u32 {
    directors
        .iter()
        .zip([1, 2])
        .filter(|(ns, _)| ns.has_addr(VIP))
        .map(|(_, bit)| bit)
        .sum()
}

/// The host `ns` dies: every process in it killed and its link down (its IPVS table, in
/// the kernel, would otherwise keep forwarding). Down rather than an nft drop rule, which
/// costs seconds of module loading under the VM's emulation; frames the switch then floods
/// to the other node carry the dead node's MAC, which its stack drops before IPVS sees them.
pub fn crash_host(ns: &NetNs) {
    let pids: Vec<String> = ns.pids().iter().map(u32::to_string).collect();
    if !pids.is_empty() {
        let mut argv = vec!["kill", "-9"];
        argv.extend(pids.iter().map(String::as_str));
        super::run_ok(&argv);
    }
    ns.ip(&["link", "set", "eth0", "down"]);
}

/// Every node reloads (SIGHUP) a configuration serving `vips`.
pub fn reload_nodes(nodes: &mut [LvsNode], vips: &[Ipv4Addr], sync: bool) {
    for (n, node) in nodes.iter_mut().enumerate() {
        std::fs::write(&node.conf, keepalived_lvs_config(n, vips, sync))
            .unwrap_or_else(|e| panic!("write {}: {e}", node.conf.display()));
        node.daemon.signal(Signal::Hup);
    }
}

/// Real servers of `vip`:80 in `ns`'s IPVS table.
pub fn ipvs_reals(ns: &NetNs, vip: Ipv4Addr) -> usize {
    let out = ns.exec(&["ipvsadm", "-Ln", "-t", &format!("{vip}:{PORT}")]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with("->") && !l.contains("RemoteAddress"))
        .count()
}

/// Whether this kernel has IPVS loaded (the host's has none; the IPVS VM loads it).
pub fn kernel_has_ipvs() -> bool {
    std::path::Path::new("/proc/net/ip_vs").exists()
}
