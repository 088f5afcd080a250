//! `directorctl services` and `connections` on the nftables backend: a client holds a TCP
//! connection through a NAT service, and the daemon lists the service as its tables hold
//! it and the connection from the kernel's conntrack table, translated to the real server.
//!
//! ```text
//!  client 10.98.3.2 ── eth0 | director (VIP 10.98.100.1 on lo) | eth1 ── real 10.98.1.11:80
//! ```

mod common;

use std::time::Duration;

use common::health_lab::ctl;
use common::netns::{veth, NetNs};
use common::process::Daemon;
use common::wait::wait_until;
use common::TestDir;

const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

#[test]
fn nat_connections_are_listed_from_conntrack() {
    require_root!();
    require_programs!("nft", "python3", "ip");
    let dir = TestDir::new("nftls");
    let client = NetNs::new("nlc");
    let director = NetNs::new("nld");
    let real = NetNs::new("nlr");
    veth(&client, "eth0", &director, "eth0");
    veth(&director, "eth1", &real, "eth0");
    client.add_addr("eth0", "10.98.3.2/24");
    client.add_route(
        "10.98.100.1/32",
        Some("10.98.3.1".parse().expect("ip")),
        None,
    );
    director.add_addr("eth0", "10.98.3.1/24");
    director.add_addr("eth1", "10.98.1.1/24");
    director.add_addr("lo", "10.98.100.1/32");
    director.enable_forwarding();
    real.add_addr("eth0", "10.98.1.11/24");
    real.add_route("default", Some("10.98.1.1".parse().expect("ip")), None);

    let socket = dir.subdir("d").join("directord.sock");
    let config = format!(
        "director {{\n    dataplane nftables\n    control_socket {}\n}}\n\
         virtual_server 10.98.100.1 80 {{\n    lb_algo mh\n    lb_kind NAT\n    protocol TCP\n\
         \x20   real_server 10.98.1.11 80 {{\n        weight 1\n    }}\n}}\n",
        socket.display()
    );
    let _daemon = common::directord(&director, &dir, "d", &config);
    // A server that accepts and keeps the connection open, and a client that holds one.
    let _server = Daemon::spawn(
        &real,
        "server",
        dir.path(),
        &[
            "python3",
            "-c",
            "import socket, time\nl = socket.socket()\nl.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             l.bind(('0.0.0.0', 80))\nl.listen()\nheld = []\nwhile True:\n    held.append(l.accept())\n",
        ],
    );
    let services = wait_until(WAIT, POLL, || {
        let view = ctl(&socket, &["services"])?;
        match view["services"][0]["reals"][0]["address"].as_str() {
            Some("10.98.1.11:80") => Ok(view),
            _ => Err(format!("not programmed yet: {view}")),
        }
    })
    .expect("the service is in the tables")
    .value;
    assert_eq!(services["backend"], "nftables");
    assert_eq!(services["services"][0]["address"], "10.98.100.1:80");
    assert_eq!(services["per_real_counters"], false, "{services}");

    let _client = Daemon::spawn(
        &client,
        "client",
        dir.path(),
        &[
            "python3",
            "-c",
            // Retried: on a busy machine the real server's listener may not be up yet
            // when the tables are (a refused SYN would end a one-shot client).
            "import socket, time\ndeadline = time.time() + 25\nwhile True:\n    try:\n        \
             s = socket.create_connection(('10.98.100.1', 80), timeout=5)\n        break\n    \
             except OSError:\n        if time.time() > deadline:\n            raise\n        \
             time.sleep(0.2)\nprint('connected', flush=True)\ntime.sleep(120)\n",
        ],
    );
    let entry = wait_until(WAIT, POLL, || {
        let view = ctl(&socket, &["connections"])?;
        view["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["state"] == "ESTABLISHED")
            .cloned()
            .ok_or_else(|| format!("no established entry: {view}"))
    })
    .expect("the held connection is listed")
    .value;
    assert_eq!(entry["protocol"], "TCP");
    assert_eq!(entry["virtual_address"], "10.98.100.1:80");
    assert_eq!(entry["destination"], "10.98.1.11:80", "translated: {entry}");
    assert!(
        entry["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("10.98.3.2:")),
        "{entry}"
    );
    // Counted per service from the kernel: the SYN passed the service's rule.
    let stats = ctl(&socket, &["services", "--stats"]).expect("stats");
    assert!(
        stats["services"][0]["stats"]["packets_in"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{stats}"
    );
}
