//! VRRP v2/v3 master-backup mode, wire-compatible with keepalived.
//!
//! One tokio task (the manager, below) owns every instance: no shared state, no locks.
//! It selects over commands from [`VrrpHandle`], datagrams from one receive task per
//! (interface, family), kernel link/address changes, `vrrp_script` results and the
//! nearest VRRP timer deadline. Everything a transition implies (addresses, GARP/NA,
//! vmac, routes, notify scripts, sync groups, SMTP alerts) happens here; the caller
//! only sees [`VrrpEvent`]s and [`VrrpStatus`].
//!
//! ```text
//!  rx task (if, family) ──RxDatagram──┐
//!  NetWatch (links/addrs) ────────────┤
//!  vrrp_script tasks ──(name, ok)─────┼──▶ manager ──actions──▶ sockets, netlink, scripts
//!  VrrpHandle ──Command───────────────┤         └──VrrpEvent──▶ control loop
//!  sleep_until(next timer) ───────────┘
//! ```
//!
//! Files: `packet.rs` wire codec, `fsm.rs` state machine, `instance.rs` per-instance
//! checks and actions, `network.rs` sockets and ARP/NA frames, `settings.rs` config →
//! runtime settings, `notify.rs` scripts and mail.

pub mod fsm;
pub mod instance;
pub mod network;
pub mod notify;
pub mod packet;
pub mod settings;
pub mod track_file;
pub mod track_process;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::config::model::{Config, TrackFileDef, VrrpScript, VrrpTrackProcess};
use crate::net::{NetError, NetEvent, NetWatch, Netlink};

use self::fsm::{Event, FaultCause, Reason, State, PRIORITY_OWNER};
use self::instance::{Counters, Instance, RxDatagram};
use self::network::RxSocket;
use self::packet::{Family, Ipv4Header, Ipv6Header, Version};
use self::settings::{InstanceSettings, Settings};

/// Failures of the VRRP module.
#[derive(Debug, Error)]
pub enum VrrpError {
    #[error("vrrp_instance {instance}: {message}")]
    Config { instance: String, message: String },
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("the VRRP task has stopped")]
    Stopped,
}

/// What the control loop hears from VRRP.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum VrrpEvent {
    StateChange {
        instance: String,
        from: State,
        to: State,
        reason: Reason,
    },
    PriorityChange {
        instance: String,
        from: u8,
        to: u8,
    },
    /// Something could not be done (interface missing, no source address…).
    Error {
        instance: String,
        message: String,
    },
}

/// Status of one instance.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceStatus {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub version: u8,
    pub family: &'static str,
    pub state: State,
    pub fault: Option<FaultCause>,
    pub base_priority: u8,
    pub priority: u8,
    pub master_addr: Option<IpAddr>,
    pub advert_interval_ms: u64,
    pub master_down_interval_ms: u64,
    pub virtual_addresses: Vec<String>,
    pub sync_group: Option<String>,
    pub last_reason: Option<Reason>,
    pub seconds_in_state: Option<f64>,
    pub counters: Counters,
}

/// Errors not attributable to one instance (RFC 6527 router-wide statistics).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GlobalCounters {
    pub vrid_errors: u64,
    pub packet_length_errors: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VrrpStatus {
    pub instances: Vec<InstanceStatus>,
    pub global: GlobalCounters,
}

enum Command {
    Reload(Box<Settings>, oneshot::Sender<Result<(), VrrpError>>),
    Status(oneshot::Sender<VrrpStatus>),
    /// A `bfd_instance`'s session is Up (true) or not.
    Bfd(String, bool),
    Shutdown(oneshot::Sender<()>),
}

/// Handle on the running VRRP task.
pub struct VrrpHandle {
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

/// Reads the status of the running VRRP task (fails once the task stopped).
#[derive(Clone)]
pub struct StatusReader {
    commands: mpsc::UnboundedSender<Command>,
}

impl std::fmt::Debug for StatusReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("vrrp::StatusReader")
    }
}

impl StatusReader {
    pub async fn status(&self) -> Result<VrrpStatus, VrrpError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Status(tx))
            .map_err(|_| VrrpError::Stopped)?;
        rx.await.map_err(|_| VrrpError::Stopped)
    }
}

/// Starts every `vrrp_instance` of `config` (inside a tokio runtime).
pub fn spawn(
    config: &Config,
) -> Result<(VrrpHandle, mpsc::UnboundedReceiver<VrrpEvent>), VrrpError> {
    spawn_settings(Settings::from_config(config)?)
}

/// Starts VRRP from already resolved settings.
pub fn spawn_settings(
    settings: Settings,
) -> Result<(VrrpHandle, mpsc::UnboundedReceiver<VrrpEvent>), VrrpError> {
    for w in &settings.warnings {
        warn!("{w}");
    }
    let nl = Netlink::new()?;
    let watch = NetWatch::new()?;
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (rx_tx, rx_rx) = mpsc::channel(1024);
    let (script_tx, script_rx) = mpsc::unbounded_channel();
    let (file_tx, file_rx) = mpsc::unbounded_channel();
    let (process_tx, process_rx) = mpsc::unbounded_channel();
    let manager = Manager {
        nl,
        settings: Settings {
            instances: Vec::new(),
            sync_groups: Vec::new(),
            scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            smtp: settings.smtp.clone(),
            warnings: Vec::new(),
        },
        instances: BTreeMap::new(),
        rx_tasks: HashMap::new(),
        rx_tx,
        script_tasks: HashMap::new(),
        script_tx,
        scripts: HashMap::new(),
        file_tasks: HashMap::new(),
        file_tx,
        file_generation: 0,
        files: HashMap::new(),
        process_task: None,
        process_tx,
        processes: HashMap::new(),
        bfds: HashMap::new(),
        links: HashMap::new(),
        events: events_tx,
        global: GlobalCounters::default(),
        group_state: HashMap::new(),
    };
    let track = TrackRx {
        files: file_rx,
        processes: process_rx,
    };
    let task = tokio::spawn(manager.run(settings, cmd_rx, rx_rx, script_rx, track, watch));
    Ok((
        VrrpHandle {
            commands: cmd_tx,
            task,
        },
        events_rx,
    ))
}

impl VrrpHandle {
    /// Applies a new configuration: unchanged instances keep their state; changed ones
    /// restart; removed ones shut down gracefully.
    pub async fn reload(&self, config: &Config) -> Result<(), VrrpError> {
        let settings = Settings::from_config(config)?;
        for w in &settings.warnings {
            warn!("{w}");
        }
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Reload(Box::new(settings), tx))
            .map_err(|_| VrrpError::Stopped)?;
        rx.await.map_err(|_| VrrpError::Stopped)?
    }

    /// The session of `bfd_instance` `name` is Up (true) or not: `track_bfd` follows it.
    pub fn set_bfd(&self, name: &str, up: bool) {
        let _ = self.commands.send(Command::Bfd(name.to_string(), up));
    }

    pub async fn status(&self) -> Result<VrrpStatus, VrrpError> {
        self.status_reader().status().await
    }

    /// A handle that only reads the status, for the metrics endpoint (cheap to clone).
    pub fn status_reader(&self) -> StatusReader {
        StatusReader {
            commands: self.commands.clone(),
        }
    }

    /// Graceful stop: masters send priority 0, then remove their addresses.
    pub async fn shutdown(self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
        let _ = self.task.await;
    }
}

/// Consecutive results of one `vrrp_script` (rise/fall).
#[derive(Debug, Clone)]
struct ScriptState {
    ok: bool,
    streak: u32,
}

/// What the track_file and track_process tasks report to the manager.
struct TrackRx {
    files: mpsc::UnboundedReceiver<(String, u64, i32)>,
    processes: mpsc::UnboundedReceiver<(String, u64, bool)>,
}

struct Manager {
    nl: Netlink,
    settings: Settings,
    instances: BTreeMap<String, Instance>,
    rx_tasks: HashMap<(u32, Family), JoinHandle<()>>,
    rx_tx: mpsc::Sender<RxDatagram>,
    script_tasks: HashMap<String, (VrrpScript, JoinHandle<()>)>,
    script_tx: mpsc::UnboundedSender<(String, bool)>,
    scripts: HashMap<String, ScriptState>,
    /// One polling task per tracked file, with the definition it polls.
    file_tasks: HashMap<String, (TrackFileDef, u64, JoinHandle<()>)>,
    /// (file, task generation, value): a value from a task a reload replaced is dropped.
    file_tx: mpsc::UnboundedSender<(String, u64, i32)>,
    file_generation: u64,
    /// The last value read from each tracked file.
    files: HashMap<String, i32>,
    /// The task walking /proc for the tracked processes it was started with, and its
    /// generation (shared with the file tasks' counter).
    process_task: Option<(Vec<VrrpTrackProcess>, u64, JoinHandle<()>)>,
    /// (process, task generation, quorum held).
    process_tx: mpsc::UnboundedSender<(String, u64, bool)>,
    /// Whether each tracked process has its quorum.
    processes: HashMap<String, bool>,
    /// Whether each `bfd_instance`'s session is Up (absent: not Up yet).
    bfds: HashMap<String, bool>,
    links: HashMap<String, crate::net::Link>,
    events: mpsc::UnboundedSender<VrrpEvent>,
    global: GlobalCounters,
    group_state: HashMap<String, State>,
}

impl Manager {
    async fn run(
        mut self,
        settings: Settings,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut rx: mpsc::Receiver<RxDatagram>,
        mut script_rx: mpsc::UnboundedReceiver<(String, bool)>,
        mut track: TrackRx,
        mut watch: NetWatch,
    ) {
        if let Ok(links) = self.nl.links().await {
            self.links = links.into_iter().map(|l| (l.name.clone(), l)).collect();
        }
        self.apply_settings(settings).await;
        loop {
            let deadline = self
                .instances
                .values()
                .filter_map(|i| i.machine.timer.deadline())
                .min();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Status(reply)) => { let _ = reply.send(self.status()); }
                    Some(Command::Bfd(name, up)) => self.bfd_state(name, up).await,
                    Some(Command::Reload(settings, reply)) => {
                        self.apply_settings(*settings).await;
                        let _ = reply.send(Ok(()));
                    }
                    Some(Command::Shutdown(reply)) => {
                        self.shutdown_all().await;
                        let _ = reply.send(());
                        return;
                    }
                    None => {
                        self.shutdown_all().await;
                        return;
                    }
                },
                Some(dgram) = rx.recv() => self.receive(dgram).await,
                Some(ev) = watch.next() => self.net_event(ev).await,
                Some((name, ok)) = script_rx.recv() => self.script_result(name, ok).await,
                Some((name, generation, value)) = track.files.recv() => self.file_value(name, generation, value).await,
                Some((name, generation, up)) = track.processes.recv() => self.process_quorum(name, generation, up).await,
                _ = sleep => self.timers().await,
            }
        }
    }

    // ===== configuration =====

    async fn apply_settings(&mut self, new: Settings) {
        // Instances that are gone, or whose identity (interface, VRID, version, family,
        // vmac, addressing) changed, stop gracefully and, if still configured, start
        // again; other changes apply in place, keeping the state.
        let mut stale = Vec::new();
        let mut updated = Vec::new();
        for (name, inst) in &self.instances {
            match new.instance(name) {
                None => stale.push(name.clone()),
                Some(s) if !s.same_identity(&inst.settings) => stale.push(name.clone()),
                Some(s) if *s != inst.settings => updated.push(s.clone()),
                Some(_) => {}
            }
        }
        for name in &stale {
            self.stop_instance(name, false).await;
        }
        let old_groups = std::mem::take(&mut self.settings.sync_groups);
        self.settings.sync_groups = new.sync_groups.clone();
        if old_groups != new.sync_groups {
            self.group_state.clear();
        }
        self.settings.smtp = new.smtp.clone();
        self.settings.scripts = new.scripts.clone();
        self.settings.instances = new.instances.clone();
        self.settings.track_files = new.track_files.clone();
        self.settings.track_processes = new.track_processes.clone();
        self.sync_script_tasks();
        let reread = self.sync_file_tasks();
        let rescanned = self.sync_process_task();
        let running: Vec<String> = self.instances.keys().cloned().collect();
        let to_start: Vec<InstanceSettings> = new
            .instances
            .iter()
            .filter(|s| !self.instances.contains_key(&s.name))
            .cloned()
            .collect();
        for s in to_start {
            self.start_instance(s).await;
        }
        for s in updated {
            self.update_instance(s).await;
        }
        // A file watched anew (a new or changed track_file block) was read again: the
        // instances that were already running pick up its value.
        for name in running {
            let uses_reread = self.instances.get(&name).is_some_and(|i| {
                i.settings
                    .track_files
                    .iter()
                    .any(|t| reread.contains(&t.name))
                    || (rescanned && !i.settings.track_processes.is_empty())
            });
            if uses_reread {
                self.retrack(&name, true).await;
            }
        }
        self.sync_rx_tasks();
    }

    /// Starts a polling task for each tracked file, stops those no longer tracked or
    /// whose block changed; returns the names of the files read anew. The first read
    /// happens here, before the instances start, so that they start with the file's
    /// priority and fault state (as keepalived's `init_track_files`).
    fn sync_file_tasks(&mut self) -> Vec<String> {
        let used: Vec<TrackFileDef> = self
            .settings
            .track_files
            .iter()
            .filter(|f| {
                self.settings
                    .instances
                    .iter()
                    .any(|i| i.track_files.iter().any(|t| t.name == f.name))
            })
            .cloned()
            .collect();
        self.file_tasks.retain(|name, (old, _, task)| {
            let keep = used.iter().any(|f| &f.name == name && f == old);
            if !keep {
                task.abort();
            }
            keep
        });
        self.files
            .retain(|name, _| self.file_tasks.contains_key(name));
        let mut reread = Vec::new();
        for def in used {
            if self.file_tasks.contains_key(&def.name) {
                continue;
            }
            if let Err(err) = crate::health::probe::file::write_init(&def.path, def.init) {
                warn!(track_file = %def.name, path = %def.path.display(), %err,
                    "cannot write the track_file's init_file value");
            }
            let (mut watch, value) = track_file::FileWatch::new(def.path.clone());
            self.files.insert(def.name.clone(), value);
            let tx = self.file_tx.clone();
            let name = def.name.clone();
            self.file_generation += 1;
            let generation = self.file_generation;
            let task = tokio::spawn(async move {
                let mut tick = tokio::time::interval(track_file::POLL);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    // A small read, but the file system may stall (NFS): off the
                    // async threads.
                    let Ok((w, changed)) = tokio::task::spawn_blocking(move || {
                        let changed = watch.poll();
                        (watch, changed)
                    })
                    .await
                    else {
                        return;
                    };
                    watch = w;
                    if let Some(value) = changed {
                        if tx.send((name.clone(), generation, value)).is_err() {
                            return;
                        }
                    }
                }
            });
            reread.push(def.name.clone());
            self.file_tasks
                .insert(def.name.clone(), (def, generation, task));
        }
        reread
    }

    /// Applies settings that keep the instance's identity: a master moves to the new
    /// address and route set; priority and tracking changes go through the state machine.
    async fn update_instance(&mut self, new: InstanceSettings) {
        let name = new.name.clone();
        let Some(inst) = self.instances.get_mut(&name) else {
            return;
        };
        info!(instance = %name, "VRRP instance settings changed; applied in place");
        let was_master = inst.machine.state == State::Master;
        if was_master {
            // Drop what the new settings no longer have, then install the new set.
            let mut leaving = inst.settings.clone();
            leaving.vips.retain(|v| !new.all_vips().any(|n| n == v));
            leaving
                .excluded_vips
                .retain(|v| !new.all_vips().any(|n| n == v));
            leaving.routes.retain(|r| !new.routes.contains(r));
            let current = std::mem::replace(&mut inst.settings, leaving);
            inst.release(&self.nl).await;
            drop(current);
        }
        let primary = inst.machine.params.primary_addr;
        inst.machine.params = instance::params(&new, primary);
        inst.settings = new;
        if was_master {
            inst.take_over(&self.nl).await;
            inst.send_advert(inst.machine.priority);
        }
        self.retrack(&name, true).await;
    }

    fn sync_script_tasks(&mut self) {
        let used: Vec<&VrrpScript> = self
            .settings
            .scripts
            .iter()
            .filter(|sc| {
                self.settings
                    .instances
                    .iter()
                    .any(|i| i.track_scripts.iter().any(|t| t.name == sc.name))
            })
            .collect();
        self.script_tasks.retain(|name, (old, task)| {
            let keep = used.iter().any(|s| &s.name == name && *s == old);
            if !keep {
                task.abort();
            }
            keep
        });
        let to_spawn: Vec<VrrpScript> = used
            .into_iter()
            .filter(|s| !self.script_tasks.contains_key(&s.name))
            .cloned()
            .collect();
        for script in to_spawn {
            self.scripts.insert(
                script.name.clone(),
                ScriptState {
                    ok: !script.init_fail,
                    streak: 0,
                },
            );
            let tx = self.script_tx.clone();
            let sc = script.clone();
            let task = tokio::spawn(async move {
                let mut tick = tokio::time::interval(sc.interval.max(Duration::from_millis(10)));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let ok =
                        notify::run_script(&sc.script, &[], sc.timeout.or(Some(sc.interval))).await;
                    if tx.send((sc.name.clone(), ok)).is_err() {
                        return;
                    }
                }
            });
            self.script_tasks
                .insert(script.name.clone(), (script, task));
        }
    }

    fn sync_rx_tasks(&mut self) {
        let needed: Vec<(u32, Family)> = self
            .instances
            .values()
            .filter_map(|i| i.ifindex().map(|idx| (idx, i.settings.family)))
            .collect();
        self.rx_tasks.retain(|key, task| {
            let keep = needed.contains(key) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for key in needed {
            if self.rx_tasks.contains_key(&key) {
                continue;
            }
            match RxSocket::open(key.0, key.1) {
                Ok(sock) => {
                    let tx = self.rx_tx.clone();
                    self.rx_tasks
                        .insert(key, tokio::spawn(rx_loop(sock, key.0, key.1, tx)));
                }
                Err(e) => warn!(ifindex = key.0, error = %e, "cannot open VRRP receive socket"),
            }
        }
    }

    async fn start_instance(&mut self, s: InstanceSettings) {
        let name = s.name.clone();
        let mut inst = Instance::new(s);
        if let Err(message) = inst.attach(&self.nl).await {
            warn!(instance = %name, %message, "instance cannot run yet");
            let _ = self.events.send(VrrpEvent::Error {
                instance: name.clone(),
                message,
            });
        }
        // A previous run that was killed may have left our addresses behind: remove them
        // before anything else (keepalived leaves them, and both nodes then hold the VIP).
        if inst.attachment.is_some() {
            inst.release(&self.nl).await;
        }
        self.instances.insert(name.clone(), inst);
        self.retrack(&name, false).await;
        self.fsm(&name, Event::Startup, false).await;
    }

    async fn stop_instance(&mut self, name: &str, notify_stop: bool) {
        self.fsm(name, Event::Shutdown, true).await;
        if let Some(mut inst) = self.instances.remove(name) {
            inst.stop_tasks();
            if let (Some((vmac, _)), Some(att)) = (&inst.settings.vmac, &inst.attachment) {
                if let Err(e) = self.nl.del_link(att.vip_link.index).await {
                    debug!(instance = %name, %vmac, error = %e, "cannot delete vmac");
                }
            }
            if notify_stop {
                notify::notify_and_wait(
                    &inst.settings.notify,
                    notify::Scope::Instance,
                    name,
                    "STOP",
                    inst.machine.priority,
                    Duration::from_secs(5),
                )
                .await;
            }
        }
    }

    async fn shutdown_all(&mut self) {
        let names: Vec<String> = self.instances.keys().cloned().collect();
        for name in names {
            self.stop_instance(&name, true).await;
        }
        for (_, (_, t)) in self.script_tasks.drain() {
            t.abort();
        }
        for (_, (_, _, t)) in self.file_tasks.drain() {
            t.abort();
        }
        if let Some((_, _, t)) = self.process_task.take() {
            t.abort();
        }
        for (_, t) in self.rx_tasks.drain() {
            t.abort();
        }
    }

    // ===== inputs =====

    async fn receive(&mut self, dgram: RxDatagram) {
        let Some(&vrid) = dgram.payload.get(1) else {
            self.global.packet_length_errors += 1;
            return;
        };
        let name = self
            .instances
            .values()
            .find(|i| {
                i.ifindex() == Some(dgram.ifindex)
                    && i.settings.family == dgram.family
                    && i.settings.vrid == vrid
            })
            .map(|i| i.settings.name.clone());
        let Some(name) = name else {
            self.global.vrid_errors += 1;
            debug!(ifindex = dgram.ifindex, vrid, src = %dgram.src, "advert for a VRID we do not run");
            return;
        };
        let Some(inst) = self.instances.get_mut(&name) else {
            return;
        };
        match inst.validate(&dgram) {
            Ok(adv) => self.fsm(&name, Event::Advert(adv), false).await,
            Err(instance::Drop::OwnAdvert) => {}
            Err(reason) => {
                debug!(instance = %name, src = %dgram.src, ?reason, "advert dropped")
            }
        }
    }

    async fn timers(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .instances
            .values()
            .filter(|i| i.machine.timer.deadline().is_some_and(|d| d <= now))
            .map(|i| i.settings.name.clone())
            .collect();
        for name in due {
            self.fsm(&name, Event::TimerExpired, false).await;
        }
    }

    async fn net_event(&mut self, ev: NetEvent) {
        let affected: Vec<String> = match &ev {
            NetEvent::LinkChanged(link) => {
                let changed = self.links.get(&link.name).is_none_or(|l| l != link);
                self.links.insert(link.name.clone(), link.clone());
                if !changed {
                    return;
                }
                self.instances_using(&link.name)
            }
            NetEvent::LinkRemoved(link) => {
                self.links.remove(&link.name);
                self.instances_using(&link.name)
            }
            NetEvent::AddressAdded(a) | NetEvent::AddressRemoved(a) => self
                .instances
                .values()
                .filter(|i| i.attachment.is_none() && i.ifindex().is_none())
                .filter(|i| {
                    self.links
                        .get(&i.settings.interface)
                        .is_some_and(|l| l.index == a.ifindex)
                })
                .map(|i| i.settings.name.clone())
                .collect(),
        };
        for name in affected {
            let needs_attach = self
                .instances
                .get(&name)
                .is_some_and(|i| i.attachment.is_none());
            if needs_attach {
                if let Some(inst) = self.instances.get_mut(&name) {
                    if inst.attach(&self.nl).await.is_ok() {
                        inst.release(&self.nl).await;
                        self.sync_rx_tasks();
                    }
                }
            }
            self.retrack(&name, true).await;
        }
    }

    fn instances_using(&self, ifname: &str) -> Vec<String> {
        self.instances
            .values()
            .filter(|i| {
                i.settings.interface == ifname
                    || i.settings.track_interfaces.iter().any(|t| t.name == ifname)
            })
            .map(|i| i.settings.name.clone())
            .collect()
    }

    async fn script_result(&mut self, name: String, ok: bool) {
        let Some(script) = self.settings.scripts.iter().find(|s| s.name == name) else {
            return;
        };
        let (rise, fall) = (script.rise.max(1), script.fall.max(1));
        let st = self.scripts.entry(name.clone()).or_insert(ScriptState {
            ok: !script.init_fail,
            streak: 0,
        });
        if ok == st.ok {
            st.streak = 0;
            return;
        }
        st.streak += 1;
        if st.streak < if ok { rise } else { fall } {
            return;
        }
        st.ok = ok;
        st.streak = 0;
        info!(script = %name, ok, "vrrp_script state changed");
        let users: Vec<String> = self
            .instances
            .values()
            .filter(|i| i.settings.track_scripts.iter().any(|t| t.name == name))
            .map(|i| i.settings.name.clone())
            .collect();
        for u in users {
            self.retrack(&u, true).await;
        }
    }

    /// Restarts the /proc walker when the set of tracked processes changed; true when
    /// it did. The first walk happens here, before the instances start, so that they
    /// start with the processes' state (keepalived walks /proc at start too).
    fn sync_process_task(&mut self) -> bool {
        let used: Vec<VrrpTrackProcess> = self
            .settings
            .track_processes
            .iter()
            .filter(|p| {
                self.settings
                    .instances
                    .iter()
                    .any(|i| i.track_processes.iter().any(|t| t.name == p.name))
            })
            .cloned()
            .collect();
        if self
            .process_task
            .as_ref()
            .is_some_and(|(current, _, _)| *current == used)
            || (self.process_task.is_none() && used.is_empty())
        {
            return false;
        }
        if let Some((_, _, t)) = self.process_task.take() {
            t.abort();
        }
        self.processes.clear();
        if used.is_empty() {
            return true;
        }
        let root = std::path::Path::new("/proc");
        let cmdline = track_process::needs_cmdline(&used);
        let found = track_process::scan(root, cmdline);
        let count = |t: &VrrpTrackProcess, found: &[track_process::ProcInfo]| {
            found
                .iter()
                .filter(|p| track_process::matches(t, p))
                .count()
        };
        let mut quorums: Vec<(VrrpTrackProcess, track_process::Quorum)> = Vec::new();
        for t in &used {
            let q = track_process::Quorum::new(t, count(t, &found));
            info!(track_process = %t.name, quorum = q.have(), "tracking process");
            self.processes.insert(t.name.clone(), q.have());
            quorums.push((t.clone(), q));
        }
        self.file_generation += 1;
        let generation = self.file_generation;
        let tx = self.process_tx.clone();
        let task = tokio::spawn(async move {
            loop {
                // The next walk: after POLL, or when a fork/terminate delay ends.
                let next = quorums
                    .iter()
                    .filter_map(|(_, q)| q.deadline())
                    .map(tokio::time::Instant::from_std)
                    .fold(tokio::time::Instant::now() + track_process::POLL, |a, b| {
                        a.min(b)
                    });
                tokio::time::sleep_until(next).await;
                // Reading /proc can block on a process's memory (cmdline): off the async
                // threads.
                let Ok(found) = tokio::task::spawn_blocking(move || {
                    track_process::scan(Path::new("/proc"), cmdline)
                })
                .await
                else {
                    return;
                };
                let now = Instant::now();
                for (t, q) in &mut quorums {
                    if let Some(up) = q.update(t, count(t, &found), now) {
                        if tx.send((t.name.clone(), generation, up)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        self.process_task = Some((used, generation, task));
        true
    }

    /// A tracked process gained or lost its quorum.
    async fn process_quorum(&mut self, name: String, generation: u64, up: bool) {
        if self.process_task.as_ref().map(|(_, g, _)| *g) != Some(generation) {
            // From a walker a reload replaced.
            return;
        }
        self.processes.insert(name.clone(), up);
        info!(track_process = %name, quorum = up, "track_process quorum changed");
        let users: Vec<String> = self
            .instances
            .values()
            .filter(|i| i.settings.track_processes.iter().any(|t| t.name == name))
            .map(|i| i.settings.name.clone())
            .collect();
        for u in users {
            self.retrack(&u, true).await;
        }
    }

    /// A `bfd_instance`'s session came Up or left Up.
    async fn bfd_state(&mut self, name: String, up: bool) {
        if self.bfds.insert(name.clone(), up) == Some(up) {
            return;
        }
        let users: Vec<String> = self
            .instances
            .values()
            .filter(|i| i.settings.track_bfds.iter().any(|t| t.name == name))
            .map(|i| i.settings.name.clone())
            .collect();
        for u in users {
            self.retrack(&u, true).await;
        }
    }

    /// A tracked file's value changed.
    async fn file_value(&mut self, name: String, generation: u64, value: i32) {
        if self.file_tasks.get(&name).map(|(_, g, _)| *g) != Some(generation) {
            // From a task a reload stopped or replaced.
            return;
        }
        let old = self.files.insert(name.clone(), value);
        info!(track_file = %name, from = ?old, to = value, "track_file value changed");
        let users: Vec<String> = self
            .instances
            .values()
            .filter(|i| i.settings.track_files.iter().any(|t| t.name == name))
            .map(|i| i.settings.name.clone())
            .collect();
        for u in users {
            self.retrack(&u, true).await;
        }
    }

    // ===== tracking =====

    /// Recomputes the effective priority and fault state of `name` from its interface,
    /// tracked interfaces, scripts, processes, BFD sessions and files; feeds the changes to
    /// the state machine.
    async fn retrack(&mut self, name: &str, running: bool) {
        let Some(inst) = self.instances.get(name) else {
            return;
        };
        let s = &inst.settings;
        let link_up = |ifname: &str| self.links.get(ifname).is_some_and(|l| l.is_usable());
        let mut fault = None;
        if inst.attachment.is_none() || !link_up(&s.interface) {
            fault = Some(FaultCause::LinkDown);
        }
        let mut delta: i32 = 0;
        for t in &s.track_interfaces {
            let (d, f) = track_adjustment(link_up(&t.name), t.weight, t.reverse);
            delta += d;
            if f {
                fault = fault.or(Some(FaultCause::Tracking));
            }
        }
        for t in &s.track_scripts {
            let ok = self.scripts.get(&t.name).is_none_or(|st| st.ok);
            let (d, f) = track_adjustment(ok, t.weight, t.reverse);
            delta += d;
            if f {
                fault = fault.or(Some(FaultCause::Tracking));
            }
        }
        for t in &s.track_processes {
            let up = self.processes.get(&t.name).copied().unwrap_or(false);
            let (d, f) = track_adjustment(up, t.weight, t.reverse);
            delta += d;
            if f {
                fault = fault.or(Some(FaultCause::Tracking));
            }
        }
        for t in &s.track_bfds {
            let up = self.bfds.get(&t.name).copied().unwrap_or(false);
            let (d, f) = track_adjustment(up, t.weight, t.reverse);
            delta += d;
            if f {
                fault = fault.or(Some(FaultCause::Tracking));
            }
        }
        for t in &s.track_files {
            let value = self.files.get(&t.name).copied().unwrap_or(0);
            let (d, f) = track_file::adjustment(value, t.weight, t.reverse);
            delta += d;
            if f {
                fault = fault.or(Some(FaultCause::Tracking));
            }
        }
        let base = s.priority;
        let priority = if base == PRIORITY_OWNER {
            PRIORITY_OWNER
        } else {
            (i32::from(base) + delta).clamp(1, 254) as u8
        };
        let Some(inst) = self.instances.get_mut(name) else {
            return;
        };
        inst.base_priority = base;
        let old_priority = inst.machine.priority;
        let old_fault = inst.machine.fault;
        if !running {
            inst.machine.priority = priority;
            inst.machine.fault = fault;
            return;
        }
        if priority != old_priority {
            inst.machine.priority = priority;
            info!(instance = %name, from = old_priority, to = priority, "VRRP priority changed");
            let _ = self.events.send(VrrpEvent::PriorityChange {
                instance: name.to_string(),
                from: old_priority,
                to: priority,
            });
            self.fsm(name, Event::PriorityChanged, false).await;
        }
        match (old_fault, fault) {
            (_, Some(cause)) if old_fault != Some(cause) => {
                self.fsm(name, Event::Fault(cause), false).await
            }
            (Some(_), None) => {
                // Leave FAULT unless the sync group holds us there.
                if self.group_has_fault(name) {
                    if let Some(i) = self.instances.get_mut(name) {
                        i.machine.fault = Some(FaultCause::SyncGroup);
                    }
                } else {
                    self.fsm(name, Event::FaultCleared, false).await;
                }
            }
            _ => {}
        }
    }

    /// Whether another member of `name`'s sync group has a fault of its own.
    fn group_has_fault(&self, name: &str) -> bool {
        let Some(group) = self.settings.group_of(name) else {
            return false;
        };
        group.members.iter().filter(|m| *m != name).any(|m| {
            self.instances.get(m).is_some_and(|i| {
                matches!(
                    i.machine.fault,
                    Some(FaultCause::LinkDown | FaultCause::Tracking)
                )
            })
        })
    }

    // ===== state machine =====

    /// Feeds `event` to instance `name`, performs the actions, reports transitions and
    /// applies the sync group rule (unless `from_sync`).
    fn fsm<'a>(
        &'a mut self,
        name: &'a str,
        event: Event,
        from_sync: bool,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let Some(inst) = self.instances.get_mut(name) else {
                return;
            };
            let actions = inst.machine.fsm(Instant::now(), event);
            if actions.is_empty() {
                return;
            }
            let changes = inst.apply(&self.nl, actions).await;
            for (from, to, reason) in changes {
                self.transitioned(name, from, to, reason).await;
                if !from_sync && to != State::Initialize {
                    self.sync_group(name, from, to).await;
                }
            }
        })
    }

    async fn transitioned(&mut self, name: &str, from: State, to: State, reason: Reason) {
        let Some(inst) = self.instances.get_mut(name) else {
            return;
        };
        let s = &inst.settings;
        info!(
            instance = %name,
            interface = %s.interface,
            vrid = s.vrid,
            %from,
            %to,
            %reason,
            priority = inst.machine.priority,
            "VRRP state change"
        );
        if from == State::Initialize && matches!(to, State::Backup | State::Fault) {
            // Also on a restart after kill -9: no address of ours stays behind.
            inst.release(&self.nl).await;
        }
        let _ = self.events.send(VrrpEvent::StateChange {
            instance: name.to_string(),
            from,
            to,
            reason,
        });
        if to == State::Initialize {
            return;
        }
        let Some(inst) = self.instances.get(name) else {
            return;
        };
        let s = &inst.settings;
        notify::notify(
            &s.notify,
            notify::Scope::Instance,
            name,
            to.keepalived_name(),
            inst.machine.priority,
        );
        if s.smtp_alert {
            notify::smtp_alert(&self.settings.smtp, notify::Scope::Instance, name, to);
        }
        self.group_notify(name);
    }

    /// keepalived's sync group rule: the members of a group follow a member that becomes
    /// MASTER, BACKUP or FAULT.
    async fn sync_group(&mut self, name: &str, from: State, to: State) {
        let Some(group) = self.settings.group_of(name).cloned() else {
            return;
        };
        let others: Vec<String> = group
            .members
            .iter()
            .filter(|m| *m != name)
            .cloned()
            .collect();
        for other in others {
            let Some(o) = self.instances.get(&other) else {
                continue;
            };
            let ostate = o.machine.state;
            let event = match to {
                State::Master if ostate == State::Backup => Some(Event::Sync(State::Master)),
                State::Backup if ostate == State::Master => Some(Event::Sync(State::Backup)),
                State::Fault if matches!(ostate, State::Backup | State::Master) => {
                    Some(Event::Sync(State::Fault))
                }
                State::Backup | State::Master
                    if from == State::Fault
                        && ostate == State::Fault
                        && o.machine.fault == Some(FaultCause::SyncGroup) =>
                {
                    Some(Event::FaultCleared)
                }
                _ => None,
            };
            if let Some(ev) = event {
                self.fsm(&other, ev, true).await;
            }
        }
    }

    /// Group notify scripts and alert once every member reached the same state.
    fn group_notify(&mut self, name: &str) {
        let Some(group) = self.settings.group_of(name).cloned() else {
            return;
        };
        let states: Vec<State> = group
            .members
            .iter()
            .filter_map(|m| self.instances.get(m).map(|i| i.machine.state))
            .collect();
        let Some(first) = states.first().copied() else {
            return;
        };
        if first == State::Initialize || states.iter().any(|s| *s != first) {
            return;
        }
        if self.group_state.get(&group.name) == Some(&first) {
            return;
        }
        self.group_state.insert(group.name.clone(), first);
        info!(group = %group.name, state = %first, "VRRP sync group state");
        let priority = self
            .instances
            .get(name)
            .map(|i| i.machine.priority)
            .unwrap_or(0);
        notify::notify(
            &group.notify,
            notify::Scope::Group,
            &group.name,
            first.keepalived_name(),
            priority,
        );
        if group.smtp_alert {
            notify::smtp_alert(
                &self.settings.smtp,
                notify::Scope::Group,
                &group.name,
                first,
            );
        }
    }

    fn status(&self) -> VrrpStatus {
        let now = Instant::now();
        let instances = self
            .instances
            .values()
            .map(|i| {
                let s = &i.settings;
                InstanceStatus {
                    name: s.name.clone(),
                    interface: s.interface.clone(),
                    vrid: s.vrid,
                    version: match s.version {
                        Version::V2 => 2,
                        Version::V3 => 3,
                    },
                    family: match s.family {
                        Family::V4 => "inet",
                        Family::V6 => "inet6",
                    },
                    state: i.machine.state,
                    fault: i.machine.fault,
                    base_priority: s.priority,
                    priority: i.machine.priority,
                    master_addr: match i.machine.state {
                        State::Master => i.attachment.as_ref().map(|a| a.src),
                        State::Backup => i.machine.master_addr,
                        _ => None,
                    },
                    advert_interval_ms: packet::interval_duration(s.version, s.adver_int)
                        .as_millis() as u64,
                    master_down_interval_ms: i.machine.master_down_interval().as_millis() as u64,
                    virtual_addresses: s
                        .all_vips()
                        .map(|v| format!("{}/{}", v.addr, v.prefix_len))
                        .collect(),
                    sync_group: self.settings.group_of(&s.name).map(|g| g.name.clone()),
                    last_reason: i.last_change.map(|(r, _)| r),
                    seconds_in_state: i
                        .last_change
                        .map(|(_, t)| now.saturating_duration_since(t).as_secs_f64()),
                    counters: i.counters.clone(),
                }
            })
            .collect();
        VrrpStatus {
            instances,
            global: self.global.clone(),
        }
    }
}

/// What one tracked object contributes: (priority adjustment, fault). keepalived.conf(5):
/// a positive weight is added while the object is up, a negative one while it is down;
/// `reverse` flips the direction of the adjustment; weight 0 means FAULT when down (when
/// up, with `reverse`).
fn track_adjustment(up: bool, weight: i32, reverse: bool) -> (i32, bool) {
    let sign = if reverse { -1 } else { 1 };
    match weight {
        0 => (0, up == reverse),
        w if (w > 0 && up) || (w < 0 && !up) => (sign * w, false),
        _ => (0, false),
    }
}

/// Reads datagrams from one interface and forwards them to the manager.
async fn rx_loop(sock: RxSocket, ifindex: u32, family: Family, tx: mpsc::Sender<RxDatagram>) {
    let mut buf = vec![0u8; 65536];
    loop {
        let n = match sock.recv(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                warn!(ifindex, error = %e, "VRRP receive failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let data = &buf[..n];
        let dgram = match family {
            Family::V4 => Ipv4Header::parse(data).ok().map(|h| RxDatagram {
                ifindex,
                family,
                ttl: h.ttl,
                src: h.src.into(),
                dst: h.dst.into(),
                payload: data[h.header_len..h.total_len].to_vec(),
            }),
            Family::V6 => Ipv6Header::parse(data).ok().map(|h| RxDatagram {
                ifindex,
                family,
                ttl: h.hop_limit,
                src: h.src.into(),
                dst: h.dst.into(),
                payload: data[Ipv6Header::LEN..Ipv6Header::LEN + h.payload_len].to_vec(),
            }),
        };
        match dgram {
            Some(d) => {
                if tx.send(d).await.is_err() {
                    return;
                }
            }
            None => debug!(ifindex, len = n, "undecodable IP header on VRRP socket"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::track_adjustment;

    #[test]
    fn tracking_weights_follow_keepalived() {
        assert_eq!(track_adjustment(true, 0, false), (0, false));
        assert_eq!(track_adjustment(false, 0, false), (0, true));
        assert_eq!(track_adjustment(true, 10, false), (10, false));
        assert_eq!(track_adjustment(false, 10, false), (0, false));
        assert_eq!(track_adjustment(false, -20, false), (-20, false));
        assert_eq!(track_adjustment(true, -20, false), (0, false));
        // reverse: "increase priority if an interface is down" with a negative weight.
        assert_eq!(track_adjustment(false, -20, true), (20, false));
        assert_eq!(track_adjustment(true, 10, true), (-10, false));
    }
}
