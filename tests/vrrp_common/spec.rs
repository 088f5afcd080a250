//! A VRRP node described on the command line, shared by `examples/vrrp_node.rs` and the
//! namespace tests (which re-execute their own binary as a node): builds a
//! `config::model::Config`, runs `director::vrrp::spawn`, prints every `VrrpEvent` as a
//! JSON line, writes the status as JSON to `--status FILE` every 50 ms, and stops
//! gracefully on SIGTERM/SIGINT (masters send priority 0).
//!
//! ```text
//! --instance 'name=VI_1,if=eth0,vrid=51,prio=100,vip=10.99.0.200/24,int=1,ver=2' [--instance …]
//! [--sync-group 'G=VI_1,VI_2'] [--script 'name=chk,cmd=test -f /tmp/ok,interval=0.2,weight=-50']
//! [--status FILE] [-f keepalived.conf]
//! ```
//! Instance keys: name if vrid prio vip (repeatable) int (seconds) ver nopreempt
//! preempt_delay pass (auth PASS) src peer (repeatable) vmac track_script (repeatable)
//! track_if (repeatable, `ifname:weight`) notify (script) smtp (alert) route (repeatable,
//! `DST/LEN>GATEWAY`) garp_delay garp_repeat. `--smtp HOST:PORT` sets the mail server.
#![allow(dead_code)]

use std::time::Duration;

use director::config::model::{
    Config, IpAddressSpec, RouteKind, RouteSpec, Script, SmtpServer, TrackInterface, TrackScript,
    UnicastPeer, UseVmac, VrrpAuth, VrrpInstance, VrrpScript, VrrpState, VrrpSyncGroup,
};
use tokio::signal::unix::{signal, SignalKind};

fn kv(spec: &str) -> Vec<(String, String)> {
    spec.split(',')
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

fn secs(v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .map(Duration::from_secs_f64)
        .map_err(|e| format!("{v}: {e}"))
}

fn script(cmd: &str) -> Script {
    Script {
        command: cmd.to_string(),
        user: None,
    }
}

fn instance(spec: &str, cfg: &Config) -> Result<VrrpInstance, String> {
    let g = &cfg.global_defs.vrrp;
    let mut i = VrrpInstance {
        name: String::new(),
        state: VrrpState::Backup,
        interface: None,
        virtual_router_id: 0,
        priority: 100,
        advert_int: Duration::from_secs(1),
        version: 2,
        authentication: None,
        virtual_ipaddress: Vec::new(),
        virtual_ipaddress_excluded: Vec::new(),
        virtual_routes: Vec::new(),
        track_interface: Vec::new(),
        track_script: Vec::new(),
        nopreempt: false,
        preempt_delay: Duration::ZERO,
        garp_master_delay: g.garp_master_delay,
        garp_master_repeat: g.garp_master_repeat,
        garp_master_refresh: g.garp_master_refresh,
        garp_master_refresh_repeat: g.garp_master_refresh_repeat,
        garp_lower_prio_delay: g.garp_lower_prio_delay,
        garp_lower_prio_repeat: g.garp_lower_prio_repeat,
        mcast_src_ip: None,
        mcast_dst_ip: None,
        unicast_src_ip: None,
        unicast_peer: Vec::new(),
        unicast_ttl: None,
        check_unicast_src: false,
        use_vmac: None,
        vmac_xmit_base: false,
        dont_track_primary: false,
        track_src_ip: false,
        skip_check_adv_addr: false,
        strict_mode: false,
        accept: true,
        promote_secondaries: false,
        down_timer_adverts: 3,
        lower_prio_no_advert: false,
        higher_prio_send_advert: false,
        notify_master: None,
        notify_backup: None,
        notify_fault: None,
        notify_stop: None,
        notify: None,
        notify_master_rx_lower_pri: None,
        smtp_alert: false,
        lvs_sync_daemon_interface: None,
    };
    for (k, v) in kv(spec) {
        let bad = |e: String| format!("{k}={v}: {e}");
        match k.as_str() {
            "name" => i.name = v,
            "if" => i.interface = Some(v),
            "vrid" => i.virtual_router_id = v.parse().map_err(|e| bad(format!("{e}")))?,
            "prio" => i.priority = v.parse().map_err(|e| bad(format!("{e}")))?,
            "int" => i.advert_int = secs(&v)?,
            "ver" => i.version = v.parse().map_err(|e| bad(format!("{e}")))?,
            "nopreempt" => i.nopreempt = v != "0",
            "preempt_delay" => i.preempt_delay = secs(&v)?,
            "pass" => i.authentication = Some(VrrpAuth::Pass { auth_pass: v }),
            "src" => i.unicast_src_ip = Some(v.parse().map_err(|e| bad(format!("{e}")))?),
            "peer" => i.unicast_peer.push(UnicastPeer {
                address: v.parse().map_err(|e| bad(format!("{e}")))?,
                min_ttl: None,
                max_ttl: None,
            }),
            "vmac" => {
                i.use_vmac = Some(UseVmac {
                    interface: (!v.is_empty() && v != "1").then_some(v),
                    mac: None,
                })
            }
            "vip" => i.virtual_ipaddress.push(IpAddressSpec {
                address: v.parse().map_err(|e| bad(format!("{e}")))?,
                broadcast: None,
                dev: None,
                scope: None,
                label: None,
                peer: None,
                no_track: false,
                use_vmac: false,
                flags: Vec::new(),
            }),
            "track_script" => i.track_script.push(TrackScript {
                name: v,
                weight: None,
                reverse: false,
            }),
            "track_if" => {
                let (name, w) = v.split_once(':').unwrap_or((&v, "0"));
                i.track_interface.push(TrackInterface {
                    name: name.to_string(),
                    weight: w.parse().map_err(|e| bad(format!("{e}")))?,
                    reverse: false,
                });
            }
            "notify" => i.notify = Some(script(&v)),
            "smtp" => i.smtp_alert = v != "0",
            "route" => {
                let (dst, via) = v.split_once('>').ok_or("route=DST/LEN>GATEWAY")?;
                i.virtual_routes.push(RouteSpec {
                    destination: dst.parse().map_err(|e| bad(format!("{e}")))?,
                    kind: RouteKind::Unicast,
                    src: None,
                    via: Some(via.parse().map_err(|e| bad(format!("{e}")))?),
                    dev: None,
                    scope: None,
                    table: None,
                    metric: None,
                    no_track: false,
                    options: Vec::new(),
                });
            }
            "garp_delay" => i.garp_master_delay = secs(&v)?,
            "garp_repeat" => i.garp_master_repeat = v.parse().map_err(|e| bad(format!("{e}")))?,
            _ => return Err(format!("unknown instance key {k}")),
        }
    }
    Ok(i)
}

fn vrrp_script(spec: &str) -> Result<VrrpScript, String> {
    let mut s = VrrpScript {
        name: String::new(),
        script: script("true"),
        interval: Duration::from_secs(1),
        timeout: None,
        weight: 0,
        weight_reverse: false,
        rise: 1,
        fall: 1,
        init_fail: false,
    };
    for (k, v) in kv(spec) {
        match k.as_str() {
            "name" => s.name = v,
            "cmd" => s.script = script(&v),
            "interval" => s.interval = secs(&v)?,
            "weight" => s.weight = v.parse().map_err(|e| format!("weight: {e}"))?,
            "rise" => s.rise = v.parse().map_err(|e| format!("rise: {e}"))?,
            "fall" => s.fall = v.parse().map_err(|e| format!("fall: {e}"))?,
            _ => return Err(format!("unknown script key {k}")),
        }
    }
    Ok(s)
}

fn build(args: &[String]) -> Result<(Config, Option<String>), String> {
    let mut cfg = Config::default();
    let mut status = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--instance" => {
                let v = val()?;
                let inst = instance(&v, &cfg)?;
                cfg.vrrp_instances.push(inst);
            }
            "--script" => cfg.vrrp_scripts.push(vrrp_script(&val()?)?),
            "--sync-group" => {
                let v = val()?;
                let (name, members) = v.split_once('=').ok_or("--sync-group NAME=A,B")?;
                cfg.vrrp_sync_groups.push(VrrpSyncGroup {
                    name: name.into(),
                    group: members.split(',').map(String::from).collect(),
                    notify_master: None,
                    notify_backup: None,
                    notify_fault: None,
                    notify_stop: None,
                    notify: None,
                    smtp_alert: false,
                    global_tracking: false,
                    sync_group_tracking_weight: false,
                    track_interface: Vec::new(),
                    track_script: Vec::new(),
                });
            }
            "--status" => status = Some(val()?),
            "-f" => {
                let path = val()?;
                let loaded = director::config::load(std::path::Path::new(&path))
                    .map_err(|e| format!("{path}: {e}"))?;
                cfg = loaded.config;
            }
            "--smtp" => {
                let v = val()?;
                let (host, port) = v.rsplit_once(':').ok_or("--smtp HOST:PORT")?;
                cfg.global_defs.smtp_server = Some(SmtpServer {
                    host: host.to_string(),
                    port: port.parse().map_err(|e| format!("--smtp port: {e}"))?,
                });
                cfg.global_defs.router_id = Some("test-node".into());
                cfg.global_defs.notification_email = vec!["ops@example.org".into()];
                cfg.global_defs.notification_email_from = Some("node@example.org".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok((cfg, status))
}

/// Runs a node from command-line style `args` until SIGTERM/SIGINT, then shuts down
/// gracefully. Events go to stdout as JSON lines, the status to the `--status` file.
/// With `reload_from`, SIGHUP re-reads the arguments (a JSON array) from that file and
/// applies them with `VrrpHandle::reload`.
pub async fn run_node(
    args: &[String],
    reload_from: Option<&std::path::Path>,
) -> Result<(), String> {
    let (cfg, status_file) = build(args)?;
    let (handle, mut events) = director::vrrp::spawn(&cfg).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            Some(ev) = events.recv() => {
                if let Ok(line) = serde_json::to_string(&ev) {
                    println!("{line}");
                }
            }
            _ = tick.tick(), if status_file.is_some() => {
                if let (Some(path), Ok(st)) = (&status_file, handle.status().await) {
                    if let Ok(text) = serde_json::to_string_pretty(&st) {
                        let tmp = format!("{path}.tmp");
                        if std::fs::write(&tmp, text).is_ok() {
                            let _ = std::fs::rename(&tmp, path);
                        }
                    }
                }
            }
            _ = hup.recv(), if reload_from.is_some() => {
                let text = reload_from.map(std::fs::read_to_string);
                match text.map(|t| t.map_err(|e| e.to_string()).and_then(|t| {
                    let args: Vec<String> = serde_json::from_str(&t).map_err(|e| e.to_string())?;
                    build(&args)
                })) {
                    Some(Ok((cfg, _))) => match handle.reload(&cfg).await {
                        Ok(()) => eprintln!("node: reloaded"),
                        Err(e) => eprintln!("node: reload failed: {e}"),
                    },
                    Some(Err(e)) => eprintln!("node: reload failed: {e}"),
                    None => {}
                }
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    handle.shutdown().await;
    Ok(())
}
