//! A standalone OSPF speaker for interop testing.
//!
//! ```text
//! speaker --iface eth0 [--iface eth1] --router-id 10.99.0.21 --prefix 10.99.100.1/32 ...
//!         [--hello 10] [--dead 40] [--rxmt 5] [--priority 1] [--cost 10] [--metric 0]
//!         [--p2p] [--md5 KEY] [--key-id 1] [--external] [--max-wait-ms 3000]
//! ```
//! Prints events as JSON lines. Reads commands on stdin: `announce P`, `withdraw P`,
//! `status`, `shutdown`. SIGTERM/SIGINT → graceful shutdown.

use std::collections::BTreeSet;
use std::time::Duration;

use ospf::{
    AreaConfig, AuthConfig, InstanceConfig, InterfaceConfig, Ipv4Network, NetworkType, VipEncoding,
};
use tokio::io::AsyncBufReadExt;
use tokio::signal::unix::{signal, SignalKind};

fn usage() -> ! {
    eprintln!("usage: speaker --iface IF --router-id ID [--prefix P]... [--hello S] [--dead S] [--rxmt S] [--priority N] [--cost N] [--metric N] [--p2p] [--md5 KEY] [--key-id N] [--external] [--max-wait-ms MS]");
    std::process::exit(2)
}

fn num<T: std::str::FromStr>(v: Option<String>) -> T {
    v.and_then(|s| s.parse().ok()).unwrap_or_else(|| usage())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut ifaces = Vec::new();
    let mut router_id = None;
    let mut prefixes = BTreeSet::new();
    let (mut hello, mut dead, mut rxmt, mut prio, mut cost, mut metric) =
        (10u16, 40u32, 5u16, 1u8, 10u16, 0u16);
    let mut p2p = false;
    let mut auth = AuthConfig::None;
    let mut key_id = 1u8;
    let mut md5_key = None;
    let mut external = false;
    let mut max_wait = 3000u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iface" => ifaces.push(args.next().unwrap_or_else(|| usage())),
            "--router-id" => router_id = Some(num(args.next())),
            "--prefix" => {
                prefixes.insert(num::<Ipv4Network>(args.next()));
            }
            "--hello" => hello = num(args.next()),
            "--dead" => dead = num(args.next()),
            "--rxmt" => rxmt = num(args.next()),
            "--priority" => prio = num(args.next()),
            "--cost" => cost = num(args.next()),
            "--metric" => metric = num(args.next()),
            "--p2p" => p2p = true,
            "--md5" => md5_key = Some(args.next().unwrap_or_else(|| usage())),
            "--key-id" => key_id = num(args.next()),
            "--simple" => auth = AuthConfig::simple(&args.next().unwrap_or_else(|| usage())),
            "--external" => external = true,
            "--max-wait-ms" => max_wait = num(args.next()),
            _ => usage(),
        }
    }
    if let Some(k) = md5_key {
        auth = AuthConfig::md5(key_id, &k);
    }
    let Some(router_id) = router_id else { usage() };
    if ifaces.is_empty() {
        usage();
    }
    let interfaces = ifaces
        .into_iter()
        .map(|name| InterfaceConfig {
            network_type: if p2p {
                NetworkType::PointToPoint
            } else {
                NetworkType::Broadcast
            },
            hello_interval: hello,
            dead_interval: dead,
            retransmit_interval: rxmt,
            priority: prio,
            cost,
            auth: auth.clone(),
            ..InterfaceConfig::new(name)
        })
        .collect();
    let cfg = InstanceConfig {
        router_id,
        stub_metric: metric,
        areas: vec![AreaConfig::new(
            "0.0.0.0".parse().unwrap_or_else(|_| usage()),
            interfaces,
        )],
    };
    let (handle, mut events) = match ospf::spawn(cfg) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("speaker: {e}");
            std::process::exit(1);
        }
    };
    if external {
        handle.set_vip_encoding(VipEncoding::External);
    }
    handle.set_announced(prefixes);
    let mut term =
        signal(SignalKind::terminate()).unwrap_or_else(|e| panic!("SIGTERM handler: {e}"));
    let mut int = signal(SignalKind::interrupt()).unwrap_or_else(|e| panic!("SIGINT handler: {e}"));
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let t0 = std::time::Instant::now();
    loop {
        tokio::select! {
            Some(ev) = events.recv() => {
                let line = serde_json::to_string(&ev).unwrap_or_default();
                println!("{{\"t_ms\":{},\"ev\":{}}}", t0.elapsed().as_millis(), line);
            }
            line = stdin.next_line(), if stdin_open => {
                let Ok(Some(line)) = line else { stdin_open = false; continue };
                let mut w = line.split_whitespace();
                match (w.next(), w.next().and_then(|p| p.parse::<Ipv4Network>().ok())) {
                    (Some("announce"), Some(p)) => handle.announce(p),
                    (Some("withdraw"), Some(p)) => handle.withdraw(p),
                    (Some("status"), _) => match handle.status().await {
                        Ok(s) => println!("{}", serde_json::to_string(&s).unwrap_or_default()),
                        Err(e) => eprintln!("status: {e}"),
                    },
                    (Some("shutdown"), _) => break,
                    _ => eprintln!("commands: announce P | withdraw P | status | shutdown"),
                }
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    let t = std::time::Instant::now();
    let r = handle.shutdown(Duration::from_millis(max_wait)).await;
    eprintln!(
        "speaker: shutdown {:?} in {} ms",
        r,
        t.elapsed().as_millis()
    );
    // tokio's stdin reader is a blocking thread that would keep the runtime alive.
    std::process::exit(if r.is_ok() { 0 } else { 1 });
}
