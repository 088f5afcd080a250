//! Real peers: BIRD 2 and FRR 8 as OSPF routers or reference directors, keepalived for
//! VRRP, and the view of the kernel routing table that tests assert on.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::netns::NetNs;
use super::process::Daemon;
use super::wait::{wait_until, WaitError};

/// OSPF network type of an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    Broadcast,
    PointToPoint,
}

/// One OSPF interface as both BIRD and FRR templates understand it.
#[derive(Clone, Debug)]
pub struct OspfIface {
    pub name: String,
    pub link: LinkType,
    pub hello: u16,
    pub dead: u16,
    pub priority: u8,
    /// Keyed MD5: (key id, secret).
    pub md5: Option<(u8, String)>,
    /// BFD on this interface (`bfd_timers`, 100 ms × 3 unless set): BIRD `bfd yes` +
    /// `protocol bfd`, FRR `ip ospf bfd` + bfdd, directord `bfd { }`.
    pub bfd: bool,
    /// BFD transmit and receive interval (ms) and detect multiplier of the router.
    pub bfd_timers: (u32, u8),
    /// BFD keyed SHA1 (RFC 5880 §6.7.4): (key id, key).
    pub bfd_sha1: Option<(u8, String)>,
}

impl OspfIface {
    /// A broadcast interface with the given hello/dead and priority 1, no authentication.
    pub fn broadcast(name: &str, hello: u16, dead: u16) -> OspfIface {
        OspfIface {
            name: name.to_string(),
            link: LinkType::Broadcast,
            hello,
            dead,
            priority: 1,
            md5: None,
            bfd: false,
            bfd_timers: (100, 3),
            bfd_sha1: None,
        }
    }

    pub fn point_to_point(name: &str, hello: u16, dead: u16) -> OspfIface {
        OspfIface {
            link: LinkType::PointToPoint,
            ..OspfIface::broadcast(name, hello, dead)
        }
    }

    pub fn priority(mut self, priority: u8) -> OspfIface {
        self.priority = priority;
        self
    }

    pub fn bfd(mut self) -> OspfIface {
        self.bfd = true;
        self
    }

    /// BFD with another interval (ms, both directions) and detect multiplier.
    pub fn bfd_timers(mut self, interval_ms: u32, multiplier: u8) -> OspfIface {
        self.bfd = true;
        self.bfd_timers = (interval_ms, multiplier);
        self
    }

    /// BFD with keyed SHA1 (BIRD and directord; not FRR's bfdd).
    pub fn bfd_sha1(mut self, key_id: u8, key: &str) -> OspfIface {
        self.bfd = true;
        self.bfd_sha1 = Some((key_id, key.to_string()));
        self
    }

    pub fn md5(mut self, key_id: u8, secret: &str) -> OspfIface {
        self.md5 = Some((key_id, secret.to_string()));
        self
    }
}

/// One OSPF speaker (area 0): a router, or a director announcing /32 stubs on `lo`.
#[derive(Clone, Debug)]
pub struct OspfRouter {
    pub router_id: Ipv4Addr,
    pub ifaces: Vec<OspfIface>,
    /// Addresses on `lo` announced as /32 stubs (the VIPs of a reference director).
    pub stubs: Vec<Ipv4Addr>,
    /// BIRD only: install learned routes in the kernel (a router: yes; a director: no
    /// need). FRR's zebra always installs them.
    pub kernel_export: bool,
    /// BIRD only: `merge external yes`, so that equal AS-external routes from several
    /// ASBRs become one multipath route (BIRD's default is no: one nexthop only).
    pub merge_external: bool,
}

/// An OSPF neighbor as the peer reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbor {
    pub router_id: Ipv4Addr,
    /// "Full", "2-Way", "ExStart", ... (the part before any "/DR" role suffix).
    pub state: String,
    /// The neighbor's role on the segment as the peer sees it: "DR", "BDR", "DROther",
    /// or "" on point-to-point links.
    pub role: String,
}

/// `Ok` when exactly the `expected` router ids are neighbors and all are Full.
pub fn all_full(neighbors: Vec<Neighbor>, expected: &[Ipv4Addr]) -> Result<Vec<Neighbor>, String> {
    let mut ids: Vec<Ipv4Addr> = neighbors.iter().map(|n| n.router_id).collect();
    ids.sort();
    let mut want = expected.to_vec();
    want.sort();
    if ids == want && neighbors.iter().all(|n| n.state == "Full") {
        Ok(neighbors)
    } else {
        Err(format!("neighbors {neighbors:?}, want {want:?} all Full"))
    }
}

// ===== BIRD =====

/// A BIRD 2 instance (`bird -f`) with its control socket in its own directory.
pub struct Bird {
    pub daemon: Daemon,
    sock: PathBuf,
}

impl Bird {
    pub fn start(ns: &NetNs, dir: &Path, name: &str, cfg: &OspfRouter) -> Bird {
        Bird::start_with_config(ns, dir, name, &bird_config(cfg))
    }

    /// [`Bird::start`] with a complete bird.conf (for options the templates lack).
    pub fn start_with_config(ns: &NetNs, dir: &Path, name: &str, conf_text: &str) -> Bird {
        let conf = dir.join(format!("{name}.conf"));
        let sock = dir.join(format!("{name}.ctl"));
        let pidfile = dir.join(format!("{name}.pid"));
        write_file(&conf, conf_text);
        let (conf_s, sock_s, pid_s) = (path_str(&conf), path_str(&sock), path_str(&pidfile));
        let daemon = Daemon::spawn(
            ns,
            name,
            dir,
            &["bird", "-f", "-c", &conf_s, "-s", &sock_s, "-P", &pid_s],
        );
        Bird { daemon, sock }
    }

    /// Rewrites bird.conf and applies it with `birdc configure` (no restart).
    pub fn reconfigure(&self, conf_text: &str) -> Result<String, String> {
        let conf = self.sock.with_extension("conf");
        write_file(&conf, conf_text);
        self.birdc(&["configure"])
    }

    /// `birdc -s SOCK ARGS...` (the control socket is a file, no namespace needed).
    pub fn birdc(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("birdc")
            .arg("-s")
            .arg(&self.sock)
            .args(args)
            .output()
            .map_err(|e| format!("birdc: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && !text.contains("Unable to connect") {
            Ok(text)
        } else {
            Err(format!(
                "birdc {args:?} ({}): {}{}",
                out.status,
                text.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `show bfd sessions`: (peer address, state) per row.
    pub fn bfd_sessions(&self) -> Result<Vec<(Ipv4Addr, String)>, String> {
        let text = self.birdc(&["show", "bfd", "sessions"])?;
        Ok(text
            .lines()
            .filter_map(|l| {
                let mut cols = l.split_whitespace();
                let peer = cols.next()?.parse().ok()?;
                let _iface = cols.next()?;
                Some((peer, cols.next()?.to_string()))
            })
            .collect())
    }

    /// `show ospf neighbors`, parsed.
    pub fn neighbors(&self) -> Result<Vec<Neighbor>, String> {
        Ok(parse_bird_neighbors(&self.birdc(&[
            "show",
            "ospf",
            "neighbors",
        ])?))
    }
}

/// Rows of `birdc show ospf neighbors`:
/// `10.99.0.11   1   Full/DROther   3.456   eth0   10.99.0.11`.
pub fn parse_bird_neighbors(text: &str) -> Vec<Neighbor> {
    text.lines()
        .filter_map(|line| {
            let mut cols = line.split_whitespace();
            let router_id = cols.next()?.parse().ok()?;
            let _priority = cols.next()?;
            let (state, role) = split_state(cols.next()?);
            Some(Neighbor {
                router_id,
                state,
                role,
            })
        })
        .collect()
}

/// "Full/DROther" -> ("Full", "DROther"); BIRD prints "Full/PtP" on point-to-point links,
/// FRR "Full/-": both become an empty role.
fn split_state(text: &str) -> (String, String) {
    let (state, role) = text.split_once('/').unwrap_or((text, ""));
    let role = if role == "PtP" || role == "-" {
        ""
    } else {
        role
    };
    (state.to_string(), role.to_string())
}

pub fn bird_config(cfg: &OspfRouter) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "router id {};", cfg.router_id);
    // The harness captures stderr into the daemon's log file.
    let _ = writeln!(c, "log stderr all;");
    let _ = writeln!(c, "protocol device {{ scan time 2; }}");
    let export = if cfg.kernel_export { "all" } else { "none" };
    let _ = writeln!(
        c,
        "protocol kernel k4 {{ ipv4 {{ import none; export {export}; }}; }}"
    );
    let _ = writeln!(c, "protocol ospf v2 o4 {{");
    let _ = writeln!(c, "  ecmp yes;");
    if cfg.merge_external {
        let _ = writeln!(c, "  merge external yes;");
    }
    let _ = writeln!(c, "  tick 1;");
    let _ = writeln!(c, "  ipv4 {{ import all; export none; }};");
    let _ = writeln!(c, "  area 0 {{");
    for i in &cfg.ifaces {
        let kind = match i.link {
            LinkType::Broadcast => "broadcast",
            LinkType::PointToPoint => "ptp",
        };
        let _ = write!(
            c,
            "    interface \"{}\" {{ type {kind}; hello {}; dead {}; priority {};",
            i.name, i.hello, i.dead, i.priority
        );
        if let Some((id, secret)) = &i.md5 {
            let _ = write!(
                c,
                " authentication cryptographic; password \"{secret}\" {{ id {id}; algorithm keyed md5; }};"
            );
        }
        if i.bfd {
            let _ = write!(c, " bfd yes;");
        }
        let _ = writeln!(c, " }};");
    }
    for vip in &cfg.stubs {
        // A /32 on lo is a stubnet of metric 0, like FRR's loopback (lab README).
        let _ = writeln!(c, "    interface \"lo\" {vip}/32 {{ stub yes; }};");
    }
    let _ = writeln!(c, "  }};\n}}");
    for i in cfg.ifaces.iter().filter(|i| i.bfd) {
        let auth = match &i.bfd_sha1 {
            Some((id, key)) => {
                format!(" authentication keyed sha1; password \"{key}\" {{ id {id}; }};")
            }
            None => String::new(),
        };
        let (interval, multiplier) = i.bfd_timers;
        let _ = writeln!(
            c,
            "protocol bfd {{ interface \"{}\" {{ min rx interval {interval} ms; min tx interval {interval} ms; idle tx interval 1000 ms; multiplier {multiplier};{auth} }}; }}",
            i.name
        );
    }
    c
}

// ===== FRR =====

/// FRR zebra + ospfd in one namespace, foreground, with sockets and configs in a
/// directory owned by `frr` (the daemons drop privileges to it and refuse to run as root).
pub struct Frr {
    pub zebra: Daemon,
    pub ospfd: Daemon,
    /// bfdd, when an interface has BFD.
    pub bfdd: Option<Box<Daemon>>,
    dir: PathBuf,
}

impl Frr {
    pub fn start(ns: &NetNs, dir: &Path, name: &str, cfg: &OspfRouter) -> Frr {
        let networks: Vec<String> = cfg
            .ifaces
            .iter()
            .flat_map(|i| ipv4_networks(ns, &i.name))
            .collect();
        let bfd_timers = cfg.ifaces.iter().find(|i| i.bfd).map(|i| i.bfd_timers);
        Frr::start_with_config(
            ns,
            dir,
            name,
            &frr_ospfd_config(name, cfg, &networks),
            bfd_timers,
        )
    }

    /// [`Frr::start`] with a complete ospfd.conf (for options the templates lack);
    /// `bfd_timers` (interval in ms, multiplier) also starts bfdd with a `fast` profile of
    /// those timers.
    pub fn start_with_config(
        ns: &NetNs,
        dir: &Path,
        name: &str,
        ospfd_conf: &str,
        bfd_timers: Option<(u32, u8)>,
    ) -> Frr {
        write_file(&dir.join("zebra.conf"), &format!("hostname {name}\n!\n"));
        write_file(&dir.join("ospfd.conf"), ospfd_conf);
        if let Some((interval, multiplier)) = bfd_timers {
            // `ip ospf bfd profile fast` in ospfd.conf picks these timers.
            write_file(
                &dir.join("bfdd.conf"),
                &format!("hostname {name}\nbfd\n profile fast\n  receive-interval {interval}\n  transmit-interval {interval}\n  detect-multiplier {multiplier}\n !\n!\n"),
            );
        }
        let bfd = bfd_timers.is_some();
        super::run_ok(&["chown", "-R", "frr:frr", &path_str(dir)]);
        let zebra = Daemon::spawn(ns, &format!("{name}-zebra"), dir, &frr_argv(dir, "zebra"));
        let bfdd = bfd.then(|| {
            Box::new(Daemon::spawn(
                ns,
                &format!("{name}-bfdd"),
                dir,
                &frr_argv(dir, "bfdd"),
            ))
        });
        // ospfd connects to zebra's zserv socket and retries until it exists.
        let ospfd = Daemon::spawn(ns, &format!("{name}-ospfd"), dir, &frr_argv(dir, "ospfd"));
        Frr {
            zebra,
            ospfd,
            bfdd,
            dir: dir.to_path_buf(),
        }
    }

    /// `vtysh --vty_socket DIR -c CMD`.
    pub fn vtysh(&self, cmd: &str) -> Result<String, String> {
        let out = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.dir)
            .args(["-c", cmd])
            .output()
            .map_err(|e| format!("vtysh: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!(
                "vtysh -c '{cmd}' ({}): {}{}",
                out.status,
                text.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `vtysh -c 'configure terminal' -c LINE...`: changes the running configuration.
    pub fn vtysh_config(&self, lines: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new("vtysh");
        cmd.arg("--vty_socket")
            .arg(&self.dir)
            .args(["-c", "configure terminal"]);
        for line in lines {
            cmd.args(["-c", line]);
        }
        let out = cmd.output().map_err(|e| format!("vtysh: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!(
                "vtysh {lines:?} ({}): {}{}",
                out.status,
                text.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `show ip ospf neighbor json`, parsed.
    pub fn neighbors(&self) -> Result<Vec<Neighbor>, String> {
        parse_frr_neighbors(&self.vtysh("show ip ospf neighbor json")?)
    }

    /// `show bfd peers json`: (peer address, status) per peer ("up", "down", "init").
    pub fn bfd_sessions(&self) -> Result<Vec<(Ipv4Addr, String)>, String> {
        let json = self.vtysh("show bfd peers json")?;
        let v: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| format!("bad vtysh json ({e}): {json}"))?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let peer = p.get("peer")?.as_str()?.parse().ok()?;
                Some((peer, p.get("status")?.as_str()?.to_string()))
            })
            .collect())
    }
}

fn frr_argv(dir: &Path, daemon: &str) -> Vec<String> {
    let d = path_str(dir);
    vec![
        format!("/usr/lib/frr/{daemon}"),
        "-f".into(),
        format!("{d}/{daemon}.conf"),
        "-i".into(),
        format!("{d}/{daemon}.pid"),
        "-z".into(),
        format!("{d}/zserv.api"),
        "--vty_socket".into(),
        d.clone(),
        "-P".into(),
        "0".into(),
        "--log".into(),
        "stdout".into(),
    ]
}

/// `{"neighbors": {"10.99.0.11": [{"nbrState": "Full/DROther", ...}]}}` (FRR 8.4).
pub fn parse_frr_neighbors(json: &str) -> Result<Vec<Neighbor>, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("bad vtysh json ({e}): {json}"))?;
    let Some(map) = v.get("neighbors").and_then(|n| n.as_object()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (id, entries) in map {
        let router_id = id
            .parse()
            .map_err(|_| format!("bad router id {id:?} in {json}"))?;
        for e in entries.as_array().into_iter().flatten() {
            let state = e
                .get("nbrState")
                .or_else(|| e.get("state"))
                .and_then(|s| s.as_str())
                .unwrap_or("?");
            let (state, role) = split_state(state);
            out.push(Neighbor {
                router_id,
                state,
                role,
            });
        }
    }
    Ok(out)
}

/// ospfd.conf: interface parameters per interface; OSPF enabled by `network` statements
/// (`networks`: the interfaces' subnets), since FRR refuses to mix them with `ip ospf area`.
pub fn frr_ospfd_config(name: &str, cfg: &OspfRouter, networks: &[String]) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "hostname {name}\n!");
    for i in &cfg.ifaces {
        let _ = writeln!(c, "interface {}", i.name);
        let _ = writeln!(c, " ip ospf hello-interval {}", i.hello);
        let _ = writeln!(c, " ip ospf dead-interval {}", i.dead);
        let _ = writeln!(c, " ip ospf priority {}", i.priority);
        if i.link == LinkType::PointToPoint {
            let _ = writeln!(c, " ip ospf network point-to-point");
        }
        if let Some((id, secret)) = &i.md5 {
            let _ = writeln!(c, " ip ospf authentication message-digest");
            let _ = writeln!(c, " ip ospf message-digest-key {id} md5 {secret}");
        }
        if i.bfd {
            let _ = writeln!(c, " ip ospf bfd");
            let _ = writeln!(c, " ip ospf bfd profile fast");
        }
        let _ = writeln!(c, "!");
    }
    let _ = writeln!(c, "router ospf");
    let _ = writeln!(c, " ospf router-id {}", cfg.router_id);
    for net in networks {
        let _ = writeln!(c, " network {net} area 0");
    }
    // No "ip ospf cost" on lo: FRR then announces a loopback /32 with metric 0, like BIRD.
    for vip in &cfg.stubs {
        let _ = writeln!(c, " network {vip}/32 area 0");
    }
    let _ = writeln!(c, "!");
    c
}

// ===== keepalived =====

/// keepalived, VRRP only, foreground, logging to the console (captured in its log).
pub fn keepalived(ns: &NetNs, dir: &Path, name: &str, conf_text: &str) -> Daemon {
    let conf = dir.join(format!("{name}.conf"));
    write_file(&conf, conf_text);
    let pid = path_str(&dir.join(format!("{name}.pid")));
    let vrrp_pid = path_str(&dir.join(format!("{name}-vrrp.pid")));
    let conf = path_str(&conf);
    Daemon::spawn(
        ns,
        name,
        dir,
        &[
            "keepalived",
            "-P",
            "-n",
            "-l",
            "-G",
            "-D",
            "-f",
            &conf,
            "-p",
            &pid,
            "-r",
            &vrrp_pid,
        ],
    )
}

// ===== kernel routes =====

/// The gateways of the kernel route(s) for exactly `prefix` in the main table, sorted:
/// a single-path route counts 1, a multipath route one per nexthop, no route 0.
pub fn route_nexthops(ns: &NetNs, prefix: &str) -> Result<Vec<Ipv4Addr>, String> {
    let out = ns.try_ip(&["-j", "route", "show", prefix]);
    if !out.status.success() {
        return Err(format!(
            "ip route show {prefix}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    parse_route_nexthops(&String::from_utf8_lossy(&out.stdout))
}

pub fn parse_route_nexthops(json: &str) -> Result<Vec<Ipv4Addr>, String> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let routes: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("bad ip -j json ({e}): {json}"))?;
    let mut gws = Vec::new();
    for route in routes.as_array().into_iter().flatten() {
        let hops: Vec<&serde_json::Value> = match route.get("nexthops").and_then(|n| n.as_array()) {
            Some(hops) => hops.iter().collect(),
            None => vec![route],
        };
        for hop in hops {
            let gw = hop
                .get("gateway")
                .and_then(|g| g.as_str())
                .ok_or_else(|| format!("route without gateway: {route}"))?;
            gws.push(gw.parse().map_err(|_| format!("bad gateway {gw:?}"))?);
        }
    }
    gws.sort();
    Ok(gws)
}

/// Every route of the main table: (destination as `ip` prints it, sorted gateways).
pub fn routes(ns: &NetNs) -> Result<Vec<(String, Vec<Ipv4Addr>)>, String> {
    let out = ns.try_ip(&["-j", "-4", "route", "show"]);
    if !out.status.success() {
        return Err(format!(
            "ip route show: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let json = String::from_utf8_lossy(&out.stdout);
    let all: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| format!("bad ip -j json ({e})"))?;
    let mut routes = Vec::new();
    for route in all.as_array().into_iter().flatten() {
        let dst = route["dst"].as_str().unwrap_or("?").to_string();
        let mut gws: Vec<Ipv4Addr> = match route.get("nexthops").and_then(|n| n.as_array()) {
            Some(hops) => hops
                .iter()
                .filter_map(|h| h["gateway"].as_str()?.parse().ok())
                .collect(),
            None => route["gateway"]
                .as_str()
                .and_then(|g| g.parse().ok())
                .into_iter()
                .collect(),
        };
        gws.sort();
        routes.push((dst, gws));
    }
    Ok(routes)
}

/// A check for [`super::wait`]: `Ok` when the route for `prefix` has exactly `n` nexthops.
pub fn nexthop_count<'a>(
    ns: &'a NetNs,
    prefix: &str,
    n: usize,
) -> impl FnMut() -> Result<Vec<Ipv4Addr>, String> + 'a {
    let prefix = prefix.to_string();
    move || {
        let hops = route_nexthops(ns, &prefix)?;
        if hops.len() == n {
            Ok(hops)
        } else {
            Err(format!(
                "{} nexthops {hops:?} for {prefix} in {}, want {n}",
                hops.len(),
                ns.name()
            ))
        }
    }
}

/// Waits until keepalived (or anyone) has put `addr` on an interface of `ns`.
pub fn wait_addr(
    ns: &NetNs,
    addr: Ipv4Addr,
    present: bool,
    timeout: Duration,
) -> Result<Duration, WaitError> {
    wait_until(timeout, Duration::from_millis(20), || {
        if ns.has_addr(addr) == present {
            Ok(())
        } else {
            Err(format!("{addr} present={} in {}", !present, ns.name()))
        }
    })
    .map(|w| w.after)
}

/// The IPv4 subnets ("10.99.0.0/24") configured on `dev` in `ns`.
pub fn ipv4_networks(ns: &NetNs, dev: &str) -> Vec<String> {
    let json = ns.ip(&["-j", "-4", "addr", "show", "dev", dev]);
    let links: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("ip -j addr ({e}): {json}"));
    let mut nets = Vec::new();
    for info in links
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| l["addr_info"].as_array().into_iter().flatten())
    {
        let (Some(local), Some(plen)) = (info["local"].as_str(), info["prefixlen"].as_u64()) else {
            continue;
        };
        let Ok(addr) = local.parse::<Ipv4Addr>() else {
            continue;
        };
        let mask = u32::MAX.checked_shl(32 - plen as u32).unwrap_or(0);
        nets.push(format!("{}/{plen}", Ipv4Addr::from(u32::from(addr) & mask)));
    }
    assert!(
        !nets.is_empty(),
        "no IPv4 address on {dev} in {}: configure addresses before starting FRR",
        ns.name()
    );
    nets
}

fn write_file(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
