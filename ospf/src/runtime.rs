//! The instance task: owns the [`Instance`], its sockets and the link watcher; multiplexes
//! commands from [`Handle`]s, packets and link changes from the I/O tasks, and the protocol
//! timers (one `sleep_until(next_wakeup)`), then executes the instance's outputs.
//!
//! ```text
//!   Handle ──Command──▶ ┌──────────────┐ ──Event──▶ event receiver (control loop)
//!   rx task (per iface) ─NetMsg::Packet─▶│ instance task│ ──send_to──▶ raw sockets
//!   link watcher (rtnetlink) ─NetMsg::Link─▶└──────────────┘
//! ```

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use tracing::{error, warn};

use crate::api::{Command, Event, Handle, InstanceConfig};
use crate::error::Error;
use crate::instance::{Input, Instance, Output};
use crate::network::{watch_links, IfaceSocket, NetMsg};

/// Starts an OSPF instance; must be called inside a tokio runtime.
/// Returns the control handle and the stream of [`Event`]s.
pub fn spawn(cfg: InstanceConfig) -> Result<(Handle, mpsc::UnboundedReceiver<Event>), Error> {
    validate(&cfg)?;
    let rt = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let instance = Instance::new(&cfg, Instant::now(), wall);
    let names: Vec<String> = cfg
        .areas
        .iter()
        .flat_map(|a| a.interfaces.iter().map(|i| i.name.clone()))
        .collect();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    rt.spawn(run(instance, names, cmd_rx, ev_tx));
    Ok((Handle { tx: cmd_tx }, ev_rx))
}

fn validate(cfg: &InstanceConfig) -> Result<(), Error> {
    if cfg.router_id.is_unspecified() || cfg.router_id.is_broadcast() {
        return Err(Error::RouterId(cfg.router_id));
    }
    let mut names = BTreeSet::new();
    let mut areas = BTreeSet::new();
    for a in &cfg.areas {
        if !areas.insert(a.id) {
            return Err(Error::Config(format!("area {} listed twice", a.id)));
        }
        for i in &a.interfaces {
            if !names.insert(i.name.clone()) {
                return Err(Error::Config(format!("interface {} listed twice", i.name)));
            }
            if i.hello_interval == 0 || i.dead_interval <= i.hello_interval as u32 {
                return Err(Error::Config(format!(
                    "interface {}: need 0 < hello ({}) < dead ({})",
                    i.name, i.hello_interval, i.dead_interval
                )));
            }
            if i.retransmit_interval == 0 {
                return Err(Error::Config(format!(
                    "interface {}: retransmit interval 0",
                    i.name
                )));
            }
        }
    }
    if names.is_empty() {
        return Err(Error::Config("no OSPF interface configured".into()));
    }
    Ok(())
}

async fn run(
    mut inst: Instance,
    names: Vec<String>,
    mut cmd_rx: mpsc::UnboundedReceiver<Command>,
    ev_tx: mpsc::UnboundedSender<Event>,
) {
    let (net_tx, mut net_rx) = mpsc::unbounded_channel::<NetMsg>();
    let watcher = tokio::spawn(watch_links(names.clone(), net_tx.clone()));
    let mut sockets: Vec<Option<IfaceSocket>> = names.iter().map(|_| None).collect();
    let mut shutdown_reply: Option<oneshot::Sender<()>> = None;
    loop {
        let wake = tokio::time::Instant::from_std(inst.next_wakeup());
        tokio::select! {
            cmd = cmd_rx.recv() => {
                let now = Instant::now();
                match cmd {
                    // Every handle is gone: nobody can ask for anything any more.
                    None => break,
                    Some(Command::SetAnnounced(s)) => inst.handle(now, Input::SetAnnounced(s)),
                    Some(Command::Announce(p)) => {
                        let mut s = inst.announced.clone();
                        s.entry(p).or_insert(None);
                        inst.handle(now, Input::SetAnnounced(s));
                    }
                    Some(Command::Withdraw(p)) => {
                        let mut s = inst.announced.clone();
                        s.remove(&p);
                        inst.handle(now, Input::SetAnnounced(s));
                    }
                    Some(Command::SetMetric(m)) => inst.handle(now, Input::SetMetric(m)),
                    Some(Command::SetVipEncoding(e)) => inst.handle(now, Input::SetVipEncoding(e)),
                    Some(Command::NeighborDown { interface, address, reason }) => {
                        inst.handle(now, Input::NeighborDown { interface, address, reason })
                    }
                    Some(Command::Status(reply)) => {
                        let _ = reply.send(inst.status(now));
                    }
                    Some(Command::Shutdown(max_wait, reply)) => {
                        shutdown_reply = Some(reply);
                        inst.handle(now, Input::Shutdown { max_wait });
                    }
                }
            }
            Some(msg) = net_rx.recv() => {
                let now = Instant::now();
                match msg {
                    NetMsg::Packet { iface, src, dst, bytes } => {
                        inst.handle(now, Input::Packet { iface, src, dst, bytes });
                    }
                    NetMsg::Link { iface, info } => {
                        let info = match info {
                            Some(info) if sockets[iface].as_ref().map(|s| s.info) != Some(info) => {
                                sockets[iface] = None;
                                match IfaceSocket::open(iface, &names[iface], info, net_tx.clone()) {
                                    Ok(s) => {
                                        sockets[iface] = Some(s);
                                        Some(info)
                                    }
                                    Err(e) => {
                                        error!(error = %e, "OSPF interface unusable");
                                        None
                                    }
                                }
                            }
                            Some(info) => Some(info),
                            None => {
                                sockets[iface] = None;
                                None
                            }
                        };
                        inst.handle(now, Input::Link { iface, info });
                    }
                }
            }
            _ = tokio::time::sleep_until(wake) => inst.poll(Instant::now()),
        }
        for out in inst.drain_output() {
            match out {
                Output::Packet { iface, dst, bytes } => match &sockets[iface] {
                    Some(s) => {
                        if let Err(e) = s.send(dst, &bytes) {
                            inst.counters.tx_errors += 1;
                            warn!(interface = %names[iface], %dst, error = %e, "OSPF send failed");
                        }
                    }
                    None => inst.counters.tx_errors += 1,
                },
                Output::AllDRouters { iface, join } => {
                    if let Some(s) = &sockets[iface] {
                        if let Err(e) = s.set_all_drouters(join) {
                            warn!(interface = %names[iface], join, error = %e, "OSPF AllDRouters membership");
                        }
                    }
                }
                Output::Event(e) => {
                    let _ = ev_tx.send(e);
                }
            }
        }
        if inst.is_finished() {
            break;
        }
    }
    watcher.abort();
    drop(sockets);
    if let Some(reply) = shutdown_reply {
        let _ = reply.send(());
    }
    // Give the aborted tasks a moment to release their sockets before the caller proceeds.
    tokio::time::sleep(Duration::from_millis(1)).await;
}
