//! The control loop: the single owner of desired state, driving dataplane, announcer and VRRP.
//!
//! One tokio task runs [`run`]. The components report to it over one channel (checker
//! results, speaker and VRRP events, dataplane reports); requests that change something
//! come over the control socket. Its decisions are taken by [`core::Core`], an I/O-free
//! core; this module is the thin runtime that feeds it and carries its decisions out. A
//! burst of events is drained and handled before one recompute and one reconcile, and what
//! operators read is published as a [`snapshot::Snapshot`] after each change. A reload
//! parses the new file first and changes nothing unless it is valid.

mod access;
mod announcer;
pub mod core;
pub mod counters;
mod dataplane_worker;
pub mod events;
mod inspect;
pub mod maintenance;
pub mod metrics;
pub mod sd_notify;
pub mod snapshot;
pub mod socket;
pub mod views;
pub mod vips;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::config::model::{Config, Mode};
use crate::config::{self, Loaded};
use crate::dataplane::{DesiredTables, ReconcileReport};
use crate::health::probe::ProbeEnv;
use crate::health::runtime::HealthRuntime;
use crate::net::{NetError, Netlink};
use crate::policy;
use crate::vrrp::{self, VrrpHandle};
use announcer::Announcer;
use core::{Core, Transition};
use dataplane_worker::DataplaneWorker;
use events::ComponentEvent;
use snapshot::Snapshot;
use socket::{ControlRequest, Frontdesk, Reply, Request};
use views::{
    BfdSessionView, DataplaneView, MaintenanceReply, MaintenanceView, OspfSummaryView,
    ReloadCounters, StatusView, VipView,
};

/// Retry back-off for kernel objects that failed to program: doubles up to the maximum.
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);
/// Events handled before one recompute, at most: a burst is coalesced, yet a flood of
/// results cannot hold a decision back for long.
const MAX_BATCH: usize = 4096;
/// How often the published snapshot is refreshed while only check results (last result,
/// latency) changed.
const SNAPSHOT_REFRESH: Duration = Duration::from_secs(1);
/// How long notify and quorum scripts may run before their process group is killed.
const NOTIFY_TIMEOUT: Duration = vrrp::notify::NOTIFY_TIMEOUT;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Socket(#[from] socket::SocketError),
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error("rtnetlink: {0}")]
    Netlink(#[from] NetError),
    #[error("ospf: {0}")]
    Ospf(#[source] ospf::Error),
    #[error("bfd: cannot start the speaker (UDP port 3784): {0}")]
    Bfd(#[source] std::io::Error),
    #[error(
        "ospf: no router ID: set `router_id` in the ospf block (the host has no IPv4 address to pick)"
    )]
    NoRouterId,
    #[error("vrrp: {0}")]
    Vrrp(#[source] vrrp::VrrpError),
    #[error("cannot start the dataplane thread: {0}")]
    DataplaneThread(#[source] std::io::Error),
    #[error(transparent)]
    Maintenance(#[from] maintenance::StateError),
    #[error(transparent)]
    SocketGroup(#[from] access::GroupError),
    #[error("metrics endpoint {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// How the daemon was started: what a reload reads again, and where runtime state lives.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_path: PathBuf,
    pub load_options: config::LoadOptions,
    /// The control socket (unless the configuration names one) and the dataplane's records.
    pub runtime_dir: PathBuf,
    /// How long reading and checking the configuration took at start (for the metrics).
    pub config_load_time: Duration,
}

/// Runs the daemon until SIGTERM/SIGINT, then shuts down gracefully.
pub async fn run(settings: Settings, loaded: Loaded) -> Result<(), ControlError> {
    let mut hangup = signal(SignalKind::hangup()).map_err(ControlError::Signals)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(ControlError::Signals)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(ControlError::Signals)?;

    let socket_path = loaded
        .config
        .director
        .control_socket
        .clone()
        .unwrap_or_else(|| settings.runtime_dir.join("directord.sock"));
    let group = match loaded.config.director.control_socket_group.as_deref() {
        Some(name) => Some(access::resolve_group(name)?),
        None => None,
    };
    let listener = socket::bind_with_group(&socket_path, group).await?;
    let (to_control, mut requests) = mpsc::channel::<ControlRequest>(64);
    let (events_tx, mut events) = mpsc::unbounded_channel::<ComponentEvent>();
    let metrics_listen = loaded.config.director.metrics_listen;
    let mut controller = Controller::start(settings, loaded.config, events_tx).await?;
    let frontdesk = Frontdesk {
        to_control,
        snapshot: controller.published.subscribe(),
        stats: controller.dataplane.stats_handle(),
        counters: controller.dataplane.counters_handle(),
    };
    let mut servers = vec![tokio::spawn(socket::serve(listener, frontdesk.clone()))];
    if let Some(addr) = metrics_listen {
        let listener = metrics::bind(addr)
            .await
            .map_err(|source| ControlError::Metrics { addr, source })?;
        servers.push(tokio::spawn(metrics::serve_http(listener, frontdesk)));
    }
    tracing::info!(
        mode = controller.mode().name(),
        config = %controller.settings.config_path.display(),
        socket = %socket_path.display(),
        checkers = controller.checkers.len(),
        "directord started"
    );

    // Nothing was handed to the dataplane (nothing to program): ready now; otherwise once
    // the first reconcile is reported (see `component_event`).
    if !controller.reconcile_sent {
        controller.notify_ready();
    }
    // Pinged from this loop, so a wedged loop misses its pings and systemd restarts it.
    let watchdog_every = sd_notify::watchdog_interval();
    let mut watchdog = tokio::time::interval(watchdog_every.unwrap_or(Duration::from_secs(3600)));
    let mut retry = Backoff::new();
    let mut refresh = tokio::time::interval(SNAPSHOT_REFRESH);
    let mut fatal = None;
    loop {
        let hold_deadline = controller.core.next_hold_deadline();
        tokio::select! {
            _ = hangup.recv() => {
                // A rejected reload has already been logged and counted.
                let _ = controller.reload().await;
                retry.reset();
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            Some(ControlRequest { request, reply }) = requests.recv() => {
                let answer = controller.answer(request).await;
                let _ = reply.send(answer);
            }
            Some(event) = events.recv() => {
                let mut batch = vec![event];
                while batch.len() < MAX_BATCH {
                    match events.try_recv() {
                        Ok(event) => batch.push(event),
                        Err(_) => break,
                    }
                }
                for event in batch {
                    if let Err(err) = controller.component_event(event).await {
                        fatal = Some(err);
                        break;
                    }
                }
                if fatal.is_some() {
                    break;
                }
                controller.settle().await;
            }
            _ = tokio::time::sleep_until(hold_deadline.unwrap_or_else(Instant::now)),
                if hold_deadline.is_some() => controller.apply().await,
            _ = tokio::time::sleep(retry.delay()), if controller.has_failures() => {
                controller.retry_failed().await;
                retry.grow();
            }
            _ = refresh.tick(), if controller.results_unpublished => controller.publish(),
            _ = watchdog.tick(), if watchdog_every.is_some() => {
                controller.notifier.notify("WATCHDOG=1");
            }
        }
        if !controller.has_failures() {
            retry.reset();
        }
    }

    controller
        .notifier
        .notify("STOPPING=1\nSTATUS=shutting down: withdrawing VIPs first");
    tracing::info!("shutting down: withdrawing VIPs first");
    controller.shutdown().await;
    for server in servers {
        server.abort();
    }
    let _ = std::fs::remove_file(&socket_path);
    match fatal {
        Some(err) => Err(err),
        None => {
            tracing::info!("directord stopped");
            Ok(())
        }
    }
}

/// The state the control loop owns.
struct Controller {
    settings: Settings,
    /// The decisions: configuration, checker records, evaluated health.
    core: Core,
    started: Instant,
    /// The running checkers.
    checkers: HealthRuntime<ComponentEvent>,
    /// Service VIPs held on `lo` (active-active mode only).
    loopback: Option<vips::LoopbackVips>,
    vip_failures: Vec<String>,
    dataplane: DataplaneWorker,
    /// False until the first reconcile finished: VIPs are announced only once the tables
    /// that serve them exist.
    tables_ready: bool,
    netlink: Netlink,
    /// The OSPF speaker (active-active mode).
    announcer: Option<Announcer>,
    /// The VIPs to announce, as last decided: their services hold their quorum and their
    /// checkers gave their first verdicts.
    healthy_vips: BTreeSet<IpAddr>,
    /// The VIPs that wait for their checkers' first verdicts, and until when at most.
    awaiting_first_checks: BTreeMap<IpAddr, Instant>,
    /// OSPF neighbors by (interface, router ID) and their state, from the speaker's events.
    ospf_neighbors: BTreeMap<(String, Ipv4Addr), ospf::neighbor::nsm::State>,
    /// The BFD speaker, when an OSPF interface has a `bfd` block (started and stopped with
    /// the OSPF speaker) or the configuration has `bfd_instance`s, and the session
    /// configuration per OSPF interface name.
    bfd: Option<bfd::Handle>,
    bfd_configs: BTreeMap<String, bfd::SessionConfig>,
    /// The sessions of the `bfd_instance` blocks, as the running speaker has them: the
    /// instance's name and what the session was added with.
    bfd_instances: BTreeMap<bfd::SessionKey, BfdInstanceSession>,
    /// Whether each `bfd_instance`'s session is Up, for BFD_CHECK.
    bfd_states: watch::Sender<BTreeMap<String, bool>>,
    /// BFD sessions as their events describe them (metrics, `directorctl status`).
    bfd_sessions: BTreeMap<bfd::SessionKey, BfdSessionView>,
    /// VRRP instances (whenever the configuration has `vrrp_instance`s).
    vrrp: Option<VrrpHandle>,
    /// Where components (dataplane thread, speaker, checkers) send their reports.
    events: mpsc::UnboundedSender<ComponentEvent>,
    /// The tables last handed to the dataplane thread.
    desired: Arc<DesiredTables>,
    /// The last reconcile's outcome; its failures are retried.
    last_report: ReconcileReport,
    /// Objects the dataplane's resyncs found changed behind our back and put back.
    drift_repaired: u64,
    reloads: ReloadCounters,
    /// What the socket and metrics servers read.
    published: watch::Sender<Arc<Snapshot>>,
    /// Check results arrived since the last publication.
    results_unpublished: bool,
    /// systemd's notification socket (inactive when not run by systemd).
    notifier: sd_notify::Notifier,
    /// Tables were handed to the dataplane at least once.
    reconcile_sent: bool,
    /// READY=1 was sent.
    ready_notified: bool,
}

impl Controller {
    async fn start(
        settings: Settings,
        config: Config,
        events: mpsc::UnboundedSender<ComponentEvent>,
    ) -> Result<Self, ControlError> {
        let backend_kind = config.director.dataplane;
        let options = crate::dataplane::OpenOptions {
            state_dir: settings.runtime_dir.clone(),
        };
        let dataplane = DataplaneWorker::spawn(backend_kind, options, events.clone())
            .map_err(ControlError::DataplaneThread)?;
        dataplane.resync_every(resync_interval(&config));
        let netlink = Netlink::new()?;
        let loopback = if config.mode() == Mode::ActiveActive {
            Some(vips::LoopbackVips::new(netlink.clone()).await?)
        } else {
            None
        };
        let maintained = maintenance::load(&settings.runtime_dir.join(maintenance::FILE_NAME))?;
        let load_seconds = settings.config_load_time.as_secs_f64();
        if !maintained.is_empty() {
            tracing::info!(
                withdrawn = maintained.withdrawn.len(),
                drained = maintained.drained.len(),
                director_drained = maintained.director_drained,
                "maintenance state restored"
            );
        }
        let now = Instant::now();
        let (bfd_states, bfd_states_rx) = watch::channel(BTreeMap::new());
        let env = ProbeEnv {
            host_name: vrrp::settings::hostname(),
            bfd: Some(bfd_states_rx),
            ..ProbeEnv::default()
        };
        let mut controller = Controller {
            settings,
            core: Core::new(Arc::new(config), maintained, now),
            started: now,
            checkers: HealthRuntime::new(env, events.clone()),
            loopback,
            vip_failures: Vec::new(),
            dataplane,
            tables_ready: false,
            netlink,
            announcer: None,
            healthy_vips: BTreeSet::new(),
            awaiting_first_checks: BTreeMap::new(),
            ospf_neighbors: BTreeMap::new(),
            bfd: None,
            bfd_configs: BTreeMap::new(),
            bfd_instances: BTreeMap::new(),
            bfd_states,
            bfd_sessions: BTreeMap::new(),
            vrrp: None,
            events,
            desired: Arc::default(),
            last_report: ReconcileReport::default(),
            drift_repaired: 0,
            reloads: ReloadCounters {
                last_load_seconds: load_seconds,
                ..ReloadCounters::default()
            },
            published: watch::Sender::new(Arc::new(Snapshot::starting(StatusView::default()))),
            results_unpublished: false,
            notifier: sd_notify::Notifier::from_env(),
            reconcile_sent: false,
            ready_notified: false,
        };
        controller.checkers.reconcile(controller.core.checkers());
        controller.apply().await;
        release_freed_heap("start");
        // The speaker itself starts after the first reconcile (see `component_event`), so
        // its very first Router-LSA already carries the VIPs; a missing router ID is a
        // configuration problem to report now, not then.
        if controller.mode() == Mode::ActiveActive && controller.config().ospf.is_some() {
            let vips = controller.configured_vips();
            if announcer::router_id(controller.config(), &controller.netlink, &vips)
                .await
                .is_none()
            {
                return Err(ControlError::NoRouterId);
            }
        }
        controller.start_vrrp()?;
        controller.sync_bfd_instances().await;
        Ok(controller)
    }

    fn config(&self) -> &Config {
        self.core.config()
    }

    /// Starts VRRP for the configuration's `vrrp_instance`s, if it has any.
    fn start_vrrp(&mut self) -> Result<(), ControlError> {
        if self.config().vrrp_instances.is_empty() {
            return Ok(());
        }
        let (handle, mut vrrp_events) = vrrp::spawn(self.config()).map_err(ControlError::Vrrp)?;
        let forward = self.events.clone();
        tokio::spawn(async move {
            while let Some(event) = vrrp_events.recv().await {
                if forward.send(ComponentEvent::Vrrp(event)).is_err() {
                    return;
                }
            }
        });
        self.vrrp = Some(handle);
        Ok(())
    }

    /// Starts the OSPF speaker when the configuration asks for active-active mode.
    async fn start_announcer(&mut self) -> Result<(), ControlError> {
        let Some(ospf_config) = self.config().ospf.clone() else {
            return Ok(());
        };
        if self.mode() != Mode::ActiveActive {
            return Ok(());
        }
        let vips = self.configured_vips();
        let Some(router_id) = announcer::router_id(self.config(), &self.netlink, &vips).await
        else {
            return Err(ControlError::NoRouterId);
        };
        let instance = announcer::instance_config(&ospf_config, router_id);
        let (announcer, mut speaker_events) =
            Announcer::start(instance).map_err(ControlError::Ospf)?;
        let forward = self.events.clone();
        tokio::spawn(async move {
            while let Some(event) = speaker_events.recv().await {
                if forward.send(ComponentEvent::Ospf(event)).is_err() {
                    return;
                }
            }
        });
        self.announcer = Some(announcer);
        self.start_bfd()?;
        self.apply_announcements();
        Ok(())
    }

    /// Starts the BFD speaker when an OSPF interface has a `bfd` block; sessions follow the
    /// OSPF neighbors (see `component_event`).
    fn start_bfd(&mut self) -> Result<(), ControlError> {
        self.bfd_configs = self
            .config()
            .ospf
            .as_ref()
            .map(announcer::bfd_configs)
            .unwrap_or_default();
        if self.bfd_configs.is_empty() {
            return Ok(());
        }
        self.spawn_bfd()
    }

    /// Starts a BFD speaker with no session yet (its sessions follow OSPF neighbors and the
    /// `bfd_instance` blocks).
    fn spawn_bfd(&mut self) -> Result<(), ControlError> {
        self.bfd_sessions.clear();
        self.bfd_instances.clear();
        let (handle, mut bfd_events) = bfd::spawn().map_err(ControlError::Bfd)?;
        let forward = self.events.clone();
        tokio::spawn(async move {
            while let Some(event) = bfd_events.recv().await {
                if forward.send(ComponentEvent::Bfd(event)).is_err() {
                    return;
                }
            }
        });
        self.bfd = Some(handle);
        Ok(())
    }

    /// Gives the speaker exactly one session per `bfd_instance` (starting the speaker if
    /// none runs). A session is bound to the interface whose IPv4 network holds the
    /// neighbor (single hop, RFC 5881), preferring the one holding `source_ip`; an instance
    /// with no such interface gets no session and stays not Up, with a warning.
    async fn sync_bfd_instances(&mut self) {
        let wanted = self.wanted_bfd_instances().await;
        if wanted.is_empty() && self.bfd_instances.is_empty() {
            return;
        }
        if self.bfd.is_none() {
            if let Err(err) = self.spawn_bfd() {
                tracing::error!(error = %err, "bfd_instance sessions not started");
                return;
            }
        }
        let Some(handle) = self.bfd.as_ref() else {
            return;
        };
        let gone: Vec<bfd::SessionKey> = self
            .bfd_instances
            .iter()
            .filter(|(key, running)| wanted.get(*key) != Some(*running))
            .map(|(key, _)| key.clone())
            .collect();
        for key in gone {
            if let Some(old) = self.bfd_instances.remove(&key) {
                if let Some(vrrp) = self.vrrp.as_ref() {
                    vrrp.set_bfd(&old.name, false);
                }
                self.bfd_states.send_modify(|s| {
                    s.remove(&old.name);
                });
            }
            handle.remove(key.clone());
            self.bfd_sessions.remove(&key);
        }
        for (key, session) in wanted {
            if self.bfd_instances.contains_key(&key) {
                continue;
            }
            tracing::info!(bfd_instance = %session.name, peer = %key.peer, interface = %key.ifname, "bfd_instance session started");
            handle.add(key.clone(), session.source, session.config.clone());
            self.bfd_sessions.insert(
                key.clone(),
                BfdSessionView {
                    peer: key.peer.to_string(),
                    interface: key.ifname.clone(),
                    state: "Down".into(),
                    transitions: 0,
                    last_down_reason: None,
                },
            );
            self.bfd_states.send_modify(|s| {
                s.insert(session.name.clone(), false);
            });
            self.bfd_instances.insert(key, session);
        }
    }

    /// The session every `bfd_instance` of the configuration should have.
    async fn wanted_bfd_instances(&self) -> BTreeMap<bfd::SessionKey, BfdInstanceSession> {
        let mut out = BTreeMap::new();
        if self.config().bfd_instances.is_empty() {
            return out;
        }
        let (addresses, links) = match (
            self.netlink.addresses(None).await,
            self.netlink.links().await,
        ) {
            (Ok(a), Ok(l)) => (a, l),
            (Err(err), _) | (_, Err(err)) => {
                tracing::error!(error = %err, "bfd_instance: cannot list interfaces; no session started");
                return out;
            }
        };
        for b in &self.config().bfd_instances {
            let reaches = |a: &&crate::net::IfAddress| match a.addr {
                IpAddr::V4(ip) => ipnetwork::Ipv4Network::new(ip, a.prefix_len)
                    .is_ok_and(|net| net.contains(b.neighbor) && ip != b.neighbor),
                IpAddr::V6(_) => false,
            };
            let chosen = addresses
                .iter()
                .filter(reaches)
                .find(|a| b.source.is_none_or(|s| a.addr == IpAddr::V4(s)))
                .and_then(|a| links.iter().find(|l| l.index == a.ifindex));
            let Some(link) = chosen else {
                tracing::warn!(bfd_instance = %b.name, neighbor = %b.neighbor, "bfd_instance: no interface reaches the neighbor directly (single-hop BFD); no session, the instance stays not Up");
                continue;
            };
            let us = |x: u32| Duration::from_micros(x.into());
            out.insert(
                bfd::SessionKey {
                    peer: b.neighbor,
                    ifname: link.name.clone(),
                },
                BfdInstanceSession {
                    name: b.name.clone(),
                    source: b.source,
                    config: bfd::SessionConfig {
                        min_tx: us(b.min_tx_us),
                        min_rx: us(b.min_rx_us),
                        idle_tx: us(b.idle_tx_us),
                        multiplier: b.multiplier,
                        auth: None,
                    },
                },
            );
        }
        out
    }

    /// Tells VRRP the state of every `bfd_instance` session (after VRRP started).
    fn push_bfd_states(&self) {
        let Some(vrrp) = self.vrrp.as_ref() else {
            return;
        };
        for (key, session) in &self.bfd_instances {
            let up = self.bfd_sessions.get(key).is_some_and(|v| v.state == "Up");
            vrrp.set_bfd(&session.name, up);
        }
    }

    /// A neighbor reached 2-Way: a BFD session to it, as FRR and BIRD do; below 2-Way the
    /// session goes away (RFC 5882 §4.1: a client asks for sessions to its neighbors).
    fn bfd_follow_neighbor(
        &mut self,
        interface: &str,
        address: Ipv4Addr,
        from: ospf::neighbor::nsm::State,
        to: ospf::neighbor::nsm::State,
    ) {
        use ospf::neighbor::nsm::State as N;
        let (Some(handle), Some(config)) = (self.bfd.as_ref(), self.bfd_configs.get(interface))
        else {
            return;
        };
        let key = bfd::SessionKey {
            peer: address,
            ifname: interface.to_string(),
        };
        if self.bfd_instances.contains_key(&key) {
            // A bfd_instance already runs this session: it serves OSPF too.
            return;
        }
        if to >= N::TwoWay && from < N::TwoWay {
            handle.add(key.clone(), None, config.clone());
            self.bfd_sessions.insert(
                key.clone(),
                BfdSessionView {
                    peer: key.peer.to_string(),
                    interface: key.ifname.clone(),
                    state: "Down".into(),
                    transitions: 0,
                    last_down_reason: None,
                },
            );
        } else if to < N::TwoWay && from >= N::TwoWay {
            handle.remove(key.clone());
            self.bfd_sessions.remove(&key);
        }
    }

    /// Applies a changed `ospf` block: a new VIP metric in place, anything else (router ID,
    /// areas, interfaces, timers, keys) by restarting the speaker, which withdraws this
    /// node's routes for the few seconds the adjacencies take to form again.
    async fn reconfigure_announcer(&mut self) {
        let (Some(ospf_config), Some(running)) =
            (self.core.config().ospf.as_ref(), self.announcer.as_mut())
        else {
            return;
        };
        let router_id = ospf_config
            .router_id
            .unwrap_or(running.instance().router_id);
        let wanted = announcer::instance_config(ospf_config, router_id);
        let mut same_but_metric = wanted.clone();
        same_but_metric.stub_metric = running.instance().stub_metric;
        // A changed `bfd` block restarts both speakers too (sessions follow the neighbors
        // of the new OSPF speaker).
        let bfd_same = announcer::bfd_configs(ospf_config) == self.bfd_configs;
        if same_but_metric == *running.instance() && bfd_same {
            running.set_metric(wanted.stub_metric);
            return;
        }
        tracing::info!("ospf block changed: restarting the speaker");
        if let Some(old) = self.announcer.take() {
            old.shutdown().await;
        }
        if let Some(old) = self.bfd.take() {
            old.shutdown().await;
        }
        self.ospf_neighbors.clear();
        if let Err(err) = self.start_announcer().await {
            tracing::error!(error = %err, "OSPF speaker did not restart; VIPs are not announced");
        }
        // A new speaker (or none): the bfd_instance sessions start again in it.
        self.bfd_instances.clear();
        self.sync_bfd_instances().await;
        self.push_bfd_states();
    }

    /// Hands VRRP the new configuration (unchanged instances keep their state), starting or
    /// stopping it when instances appear or all disappear.
    async fn reconfigure_vrrp(&mut self) {
        match (self.vrrp.as_ref(), self.config().vrrp_instances.is_empty()) {
            (Some(_), true) => {
                if let Some(handle) = self.vrrp.take() {
                    handle.shutdown().await;
                }
            }
            (Some(handle), false) => {
                if let Err(err) = handle.reload(self.core.config()).await {
                    tracing::error!(error = %err, "VRRP did not take the new configuration");
                }
            }
            (None, false) => {
                if let Err(err) = self.start_vrrp() {
                    tracing::error!(error = %err, "VRRP did not start");
                }
                self.push_bfd_states();
            }
            (None, true) => {}
        }
    }

    /// Announces the VIPs whose services hold their quorum, once the tables serving them
    /// exist. The encoding follows the configured count, the same on every director.
    fn apply_announcements(&mut self) {
        let configured = announcer::prefixes(&self.configured_vips());
        let announcements = if self.tables_ready {
            announcer::announcements(&self.healthy_vips, &policy::vip_metrics(self.config()))
        } else {
            ospf::Announcements::new()
        };
        if let Some(announcer) = self.announcer.as_mut() {
            let before = announcer.announced();
            let prefixes: BTreeSet<_> = announcements.keys().copied().collect();
            announcer.set_encoding_for(configured.len());
            for prefix in prefixes.difference(&before) {
                tracing::info!(vip = %prefix.ip(), "VIP announced");
            }
            for prefix in before.difference(&prefixes) {
                tracing::info!(vip = %prefix.ip(), "VIP withdrawn");
            }
            announcer.set_announced(announcements);
        }
    }

    /// Handles a component's report; an error here is fatal to the daemon.
    async fn component_event(&mut self, event: ComponentEvent) -> Result<(), ControlError> {
        match event {
            ComponentEvent::Health(result) => {
                // A failure that changes a verdict is logged with the transition; others
                // only with `log_all_failures`, as in keepalived.
                if let crate::health::probe::Outcome::Down(reason) = &result.outcome {
                    let checker = core::describe(&result.checker);
                    let retrying = result.step.retrying;
                    if !result.step.changed && result.checker.common().log_all_failures {
                        tracing::info!(%checker, %reason, retrying, "check failed");
                    } else if retrying {
                        tracing::debug!(%checker, %reason, "check failed, retrying");
                    }
                }
                self.core.on_result(result, Instant::now());
                self.results_unpublished = true;
            }
            ComponentEvent::Dataplane(report) => {
                // Announce once the tables exist: some objects may still be retried, but
                // a backend that could not even open programmed nothing.
                let programmed = report.is_clean() || report.kernel_ops > 0;
                self.dataplane_report(report);
                // Ready after the first reconcile, whatever its outcome: failures are
                // retried and shown by `status`, and a daemon that keeps retrying is
                // running, not starting.
                self.notify_ready();
                if !self.tables_ready && programmed {
                    self.tables_ready = true;
                    self.start_announcer().await?;
                }
                self.publish();
            }
            ComponentEvent::Ospf(event) => {
                if let ospf::Event::NeighborStateChange {
                    interface,
                    router_id,
                    address,
                    from,
                    to,
                    ..
                } = &event
                {
                    self.bfd_follow_neighbor(interface, *address, *from, *to);
                    let key = (interface.clone(), *router_id);
                    if *to == ospf::neighbor::nsm::State::Down {
                        self.ospf_neighbors.remove(&key);
                    } else {
                        self.ospf_neighbors.insert(key, *to);
                    }
                    self.publish();
                }
                tracing::debug!(?event, "OSPF event");
            }
            ComponentEvent::Bfd(bfd::Event::StateChange {
                key,
                from,
                to,
                diag,
                remote_admin_down,
            }) => {
                if let Some(view) = self.bfd_sessions.get_mut(&key) {
                    view.state = to.to_string();
                    view.transitions += 1;
                    if to == bfd::packet::State::Down {
                        view.last_down_reason = Some(diag.to_string());
                    }
                }
                if let Some(session) = self.bfd_instances.get(&key) {
                    let up = to == bfd::packet::State::Up;
                    if let Some(vrrp) = self.vrrp.as_ref() {
                        vrrp.set_bfd(&session.name, up);
                    }
                    self.bfd_states.send_modify(|s| {
                        s.insert(session.name.clone(), up);
                    });
                }
                // RFC 5882 §4.1 / what BIRD and FRR do: a BFD session that was Up and
                // went Down takes the OSPF neighbor Down at once. A session that never came
                // Up tears nothing down (the dead interval still applies).
                // A peer's AdminDown is not a failure (RFC 5882 §3.2).
                if from == bfd::packet::State::Up
                    && to != bfd::packet::State::Up
                    && !remote_admin_down
                {
                    if let Some(announcer) = self.announcer.as_ref() {
                        announcer.neighbor_down(&key.ifname, key.peer, &format!("bfd {diag}"));
                    }
                }
                self.publish();
            }
            ComponentEvent::Vrrp(event) => {
                tracing::debug!(?event, "VRRP event");
            }
        }
        Ok(())
    }

    fn mode(&self) -> Mode {
        self.core.mode()
    }

    /// The VIPs this node holds on `lo` (active-active mode): every configured one, healthy
    /// or not, so connections that still arrive for a withdrawn VIP are served.
    fn configured_vips(&self) -> BTreeSet<IpAddr> {
        if self.mode() == Mode::ActiveActive {
            policy::configured_vips(self.config())
        } else {
            BTreeSet::new()
        }
    }

    /// Recomputes and applies when a verdict or the configuration changed.
    async fn settle(&mut self) {
        if self.core.is_dirty() {
            self.apply().await;
        }
    }

    /// Drives every component towards the core's decisions.
    async fn apply(&mut self) {
        let now = Instant::now();
        let decisions = self.core.recompute(now);
        for transition in &decisions.transitions {
            self.tell(transition);
        }
        self.log_first_checks_holds(&decisions, now);
        self.healthy_vips = decisions.announce;
        self.awaiting_first_checks = decisions.awaiting_first_checks;
        if *self.desired != decisions.tables || !self.last_report.is_clean() {
            self.desired = Arc::new(decisions.tables);
            self.dataplane.reconcile((*self.desired).clone());
            self.reconcile_sent = true;
        }
        self.apply_vips().await;
        self.apply_announcements();
        self.publish();
    }

    /// One INFO line when a VIP starts waiting for first verdicts, and one when it is
    /// announced after them, or a WARN when their bound passed first. (A VIP that stops
    /// waiting because it is no longer to be announced has its own line: quorum lost,
    /// maintenance, reload.)
    fn log_first_checks_holds(&self, decisions: &core::Decisions, now: Instant) {
        for (vip, until) in &decisions.awaiting_first_checks {
            if !self.awaiting_first_checks.contains_key(vip) {
                tracing::info!(
                    %vip,
                    at_most_seconds = until.saturating_duration_since(now).as_secs_f64(),
                    "VIP not announced until its checkers' first verdicts"
                );
            }
        }
        for (vip, until) in &self.awaiting_first_checks {
            if !decisions.announce.contains(vip) {
                continue;
            }
            if now >= *until {
                tracing::warn!(
                    %vip,
                    "first verdicts still missing when their bound passed: announcing anyway"
                );
            } else {
                tracing::info!(%vip, "first verdicts in: announcing");
            }
        }
    }

    /// One INFO line per transition, and keepalived's scripts and mails.
    fn tell(&self, transition: &Transition) {
        let (script, alert) = match transition {
            Transition::Real {
                service,
                address,
                port,
                up,
                reason,
                script,
            } => {
                let real = crate::dataplane::tables::DestKey {
                    addr: *address,
                    port: *port,
                };
                let state = if *up { "up" } else { "down" };
                tracing::info!(%service, %real, state, %reason, "real server {state}");
                let subject = format!(
                    "[{}] Realserver {real} of virtual server {service} - {}",
                    self.router_name(),
                    if *up { "UP" } else { "DOWN" }
                );
                (script, (subject, format!("=> {reason} <=")))
            }
            Transition::Quorum {
                service,
                up,
                live_weight,
                quorum,
                script,
            } => {
                let state = if *up { "gained" } else { "lost" };
                tracing::info!(%service, live_weight, quorum, "quorum {state}");
                let subject = format!(
                    "[{}] Virtual server {service} - {}",
                    self.router_name(),
                    if *up { "UP" } else { "DOWN" }
                );
                let body =
                    format!("=> quorum {state}: live weight {live_weight}, quorum {quorum} <=");
                (script, (subject, body))
            }
        };
        if let Some(script) = script.clone() {
            tokio::spawn(async move {
                let result = crate::script::run(&script, &[], NOTIFY_TIMEOUT).await;
                if result.status != crate::script::ScriptStatus::Exited(0) {
                    tracing::warn!(
                        script = %script.command,
                        status = ?result.status,
                        output = result.excerpt(200).unwrap_or_default(),
                        "notify script failed"
                    );
                }
            });
        }
        if self.alerts_enabled(transition) {
            vrrp::notify::smtp_alert_text(
                &vrrp::settings::SmtpSettings::from_config(self.config()),
                alert.0,
                alert.1,
            );
        }
    }

    fn router_name(&self) -> String {
        self.config()
            .global_defs
            .router_id
            .clone()
            .unwrap_or_else(vrrp::settings::hostname)
    }

    /// keepalived's `smtp_alert` for checkers: the real server's setting, else the virtual
    /// server's, else global_defs' `smtp_alert_checker`, else `smtp_alert`.
    fn alerts_enabled(&self, transition: &Transition) -> bool {
        let config = self.config();
        let (service, real) = match transition {
            Transition::Real {
                service,
                address,
                port,
                ..
            } => (service, Some((*address, *port))),
            Transition::Quorum { service, .. } => (service, None),
        };
        let vs = config.virtual_servers.iter().find(|vs| &vs.key == service);
        let rs = vs.and_then(|vs| {
            real.and_then(|(ip, port)| {
                vs.real_servers
                    .iter()
                    .find(|rs| rs.ip == ip && rs.port == port)
            })
        });
        rs.and_then(|rs| rs.smtp_alert)
            .or(vs.and_then(|vs| vs.smtp_alert))
            .or(config.global_defs.smtp_alert_checker)
            .or(config.global_defs.smtp_alert)
            .unwrap_or(false)
    }

    fn dataplane_report(&mut self, report: ReconcileReport) {
        self.drift_repaired += report.drift_repaired as u64;
        if report.kernel_ops > 0 || !report.is_clean() {
            tracing::info!(
                planned = report.ops_planned,
                kernel_ops = report.kernel_ops,
                kernel_reads = report.kernel_reads,
                drift_repaired = report.drift_repaired,
                changed = report.objects_changed,
                failed = report.failures.len(),
                elapsed_ms = report.elapsed.as_millis() as u64,
                "dataplane reconciled"
            );
        }
        for failure in &report.failures {
            tracing::warn!(
                op = ?failure.op,
                object = %failure.object,
                errno = failure.errno,
                "{}; will retry",
                failure.message
            );
        }
        self.last_report = report;
    }

    async fn apply_vips(&mut self) {
        let wanted = self.configured_vips();
        let Some(loopback) = self.loopback.as_mut() else {
            return;
        };
        let changes = loopback.reconcile(&wanted).await;
        for addr in &changes.added {
            tracing::info!(vip = %addr, "VIP added to lo");
        }
        for addr in &changes.removed {
            tracing::info!(vip = %addr, "VIP removed from lo");
        }
        for err in &changes.failed {
            tracing::warn!(error = %err, "VIP on lo not programmed; will retry");
        }
        self.vip_failures = changes.failed.iter().map(ToString::to_string).collect();
    }

    fn has_failures(&self) -> bool {
        !self.vip_failures.is_empty() || !self.last_report.is_clean()
    }

    async fn retry_failed(&mut self) {
        self.apply().await;
    }

    /// Reads the configuration file again and checks that it can be applied without a
    /// restart; nothing is changed yet. The errors are ready to log and show.
    fn vet_reload(&mut self) -> Result<Loaded, Vec<String>> {
        let started = std::time::Instant::now();
        let loaded = config::load_with(&self.settings.config_path, &self.settings.load_options);
        self.reloads.last_load_seconds = started.elapsed().as_secs_f64();
        let loaded = loaded.map_err(|failed| {
            failed
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        })?;
        for warning in &loaded.warnings {
            tracing::warn!("{warning}");
        }
        let running = self.config();
        let restart_needed = if loaded.config.mode() != self.mode() {
            Some(format!(
                "the mode would change from {} to {}",
                self.mode().name(),
                loaded.config.mode().name()
            ))
        } else if loaded.config.global_defs.net_namespace != running.global_defs.net_namespace {
            Some(format!(
                "net_namespace would change from {:?} to {:?}",
                running.global_defs.net_namespace, loaded.config.global_defs.net_namespace
            ))
        } else if loaded.config.director.dataplane != running.director.dataplane {
            Some(format!(
                "the dataplane would change from {} to {}",
                dataplane_name(running.director.dataplane),
                dataplane_name(loaded.config.director.dataplane)
            ))
        } else {
            None
        };
        if let Some(reason) = restart_needed {
            return Err(vec![format!(
                "reload rejected: {reason}, which needs a restart"
            )]);
        }
        if !loaded.config.vrrp_instances.is_empty() {
            vrrp::settings::Settings::from_config(&loaded.config)
                .map_err(|err| vec![format!("reload rejected: vrrp: {err}")])?;
        }
        Ok(loaded)
    }

    /// READY=1 once; after a reload, READY=1 again (see [`Controller::reload`]).
    fn notify_ready(&mut self) {
        if !self.ready_notified {
            self.ready_notified = true;
            self.notifier.notify("READY=1\nSTATUS=running");
        }
    }

    /// SIGHUP, between RELOADING=1 and READY=1 for systemd.
    async fn reload(&mut self) -> Result<(), Vec<String>> {
        // Before the first READY=1 systemd still waits for the start; a reload then is
        // part of starting.
        let started = self.ready_notified;
        if started {
            self.notifier
                .notify("RELOADING=1\nSTATUS=reloading the configuration");
        }
        let result = self.reload_config().await;
        let status = match &result {
            Ok(()) => "STATUS=running".to_string(),
            Err(errors) => format!(
                "STATUS=running; the last reload was rejected ({} error(s))",
                errors.len()
            ),
        };
        if started {
            self.notifier.notify(&format!("READY=1\n{status}"));
        }
        result
    }

    /// A file with errors changes nothing; a valid one is applied as a difference.
    async fn reload_config(&mut self) -> Result<(), Vec<String>> {
        let path = &self.settings.config_path;
        tracing::info!(config = %path.display(), "reloading configuration");
        let loaded = match self.vet_reload() {
            Ok(loaded) => loaded,
            Err(messages) => {
                for message in &messages {
                    tracing::error!("{message}");
                }
                tracing::error!(
                    errors = messages.len(),
                    "reload rejected: the running configuration stays in force"
                );
                self.reloads.failed += 1;
                self.reloads.last_errors = messages.clone();
                self.publish();
                return Err(messages);
            }
        };
        let ospf_before = self.config().ospf.clone();
        self.dataplane.resync_every(resync_interval(&loaded.config));
        self.core
            .set_config(Arc::new(loaded.config), Instant::now());
        let (started, stopped) = self.checkers.reconcile(self.core.checkers());
        self.reconfigure_vrrp().await;
        if self.config().ospf != ospf_before {
            self.reconfigure_announcer().await;
        }
        self.sync_bfd_instances().await;
        self.reloads.succeeded += 1;
        self.reloads.last_errors.clear();
        self.apply().await;
        release_freed_heap("reload");
        tracing::info!(
            checkers_started = started,
            checkers_stopped = stopped,
            checkers_kept = self.checkers.len() - started,
            "configuration reloaded"
        );
        Ok(())
    }

    /// Requests that need the loop itself; the read-only ones are answered from the
    /// snapshot by the front desk, which passes anything else here.
    async fn answer(&mut self, request: Request) -> Reply {
        let value = match request {
            Request::Config => config::redact::redacted_json(self.config()),
            Request::Reload => match self.reload().await {
                Ok(()) => Ok(serde_json::json!({ "reloaded": true })),
                Err(errors) => return Reply::Error(errors.join("\n")),
            },
            Request::Status => serde_json::to_value(&self.published.borrow().status),
            Request::Services { .. } | Request::Connections | Request::Metrics => {
                return Reply::Error("answered from the snapshot, not by the loop".into())
            }
            Request::OspfInterfaces
            | Request::OspfNeighbors
            | Request::OspfDatabase
            | Request::OspfCounters => {
                let Some(announcer) = self.announcer.as_ref() else {
                    return Reply::Error(self.speaker_waiting().unwrap_or_else(|| {
                        "no OSPF speaker runs here (it runs in active-active mode, with an ospf block)"
                            .into()
                    }));
                };
                let status = match announcer.status().await {
                    Ok(status) => status,
                    Err(err) => return Reply::Error(format!("ospf: {err}")),
                };
                match request {
                    Request::OspfInterfaces => {
                        serde_json::to_value(inspect::ospf_interfaces(&status))
                    }
                    Request::OspfNeighbors => {
                        serde_json::to_value(inspect::ospf_neighbors(&status))
                    }
                    Request::OspfCounters => serde_json::to_value(&status.counters),
                    _ => serde_json::to_value(inspect::ospf_database(&status)),
                }
            }
            Request::Maintenance(op) => return self.maintain(op).await,
            Request::Bfd => match self.bfd.as_ref() {
                Some(handle) => match handle.status().await {
                    Ok(status) => serde_json::to_value(status),
                    Err(err) => return Reply::Error(format!("bfd: {err}")),
                },
                None => {
                    return Reply::Error(
                        "no BFD speaker runs here (an ospf interface needs a bfd block, or the configuration a bfd_instance)".into(),
                    )
                }
            },
            Request::Vrrp => match self.vrrp.as_ref() {
                Some(handle) => match handle.status().await {
                    Ok(status) => serde_json::to_value(status),
                    Err(err) => return Reply::Error(format!("vrrp: {err}")),
                },
                None => return Reply::Error("no vrrp_instance is configured".into()),
            },
        };
        match value {
            Ok(value) => Reply::Ok(value),
            Err(err) => Reply::Error(format!("cannot encode the answer: {err}")),
        }
    }

    /// An operator's maintenance request: checked, stored, then applied, so a restart
    /// finds what runs.
    async fn maintain(&mut self, op: policy::maintenance::MaintenanceOp) -> Reply {
        let next = match self.core.plan_maintenance(op) {
            Ok(next) => next,
            Err(err) => return Reply::Error(format!("{op}: {err}")),
        };
        let changed = next.is_some();
        if let Some(next) = next {
            let path = self.settings.runtime_dir.join(maintenance::FILE_NAME);
            if let Err(err) = maintenance::store(&path, &next) {
                tracing::error!(error = %err, operation = %op, "maintenance not applied");
                return Reply::Error(format!("{op}: not applied: {err}"));
            }
            tracing::info!(operation = %op, "maintenance");
            self.core.set_maintenance(next);
            self.apply().await;
        }
        let reply = MaintenanceReply {
            operation: op.to_string(),
            changed,
            maintenance: MaintenanceView::from(self.core.maintenance()),
        };
        match serde_json::to_value(reply) {
            Ok(value) => Reply::Ok(value),
            Err(err) => Reply::Error(format!("cannot encode the answer: {err}")),
        }
    }

    fn backend_name(&self) -> String {
        dataplane_name(self.config().director.dataplane).to_string()
    }

    /// Publishes what operators read: status, tables with health, check statistics.
    fn publish(&mut self) {
        let now = Instant::now();
        let snapshot = Snapshot {
            status: self.status(),
            backend: self.backend_name(),
            desired: self.desired.clone(),
            health: Arc::new(snapshot::health_views(
                &self.core,
                now,
                SystemTime::now(),
                self.started,
            )),
            checks: self.core.stats().clone(),
            ospf: self.announcer.as_ref().map(Announcer::status_reader),
            vrrp: self.vrrp.as_ref().map(VrrpHandle::status_reader),
        };
        self.published.send_replace(Arc::new(snapshot));
        self.results_unpublished = false;
    }

    /// Why the speaker of an active-active configuration is not running yet, if it is not.
    fn speaker_waiting(&self) -> Option<String> {
        let configured = self.mode() == Mode::ActiveActive && self.config().ospf.is_some();
        if !configured || self.announcer.is_some() {
            return None;
        }
        Some(speaker_waiting_note(
            self.tables_ready,
            self.last_report
                .failures
                .first()
                .map(|f| f.message.as_str()),
            self.config().director.dataplane,
        ))
    }

    fn status(&self) -> StatusView {
        let full = self
            .ospf_neighbors
            .values()
            .filter(|state| **state == ospf::neighbor::nsm::State::Full)
            .count();
        let ospf = self.announcer.as_ref().map(|announcer| OspfSummaryView {
            router_id: announcer.instance().router_id.to_string(),
            neighbors_full: full,
            neighbors_total: self.ospf_neighbors.len(),
        });
        let announced: BTreeSet<IpAddr> = self
            .announcer
            .as_ref()
            .map(|announcer| {
                announcer
                    .announced()
                    .iter()
                    .map(|prefix| IpAddr::V4(prefix.ip()))
                    .collect()
            })
            .unwrap_or_default();
        StatusView {
            version: env!("CARGO_PKG_VERSION").to_string(),
            mode: self.mode().name().to_string(),
            config_file: self.settings.config_path.display().to_string(),
            uptime_seconds: self.started.elapsed().as_secs(),
            dataplane: DataplaneView {
                backend: self.backend_name(),
                last_operations: self.last_report.kernel_ops,
                drift_repaired: self.drift_repaired,
                failures: self
                    .last_report
                    .failures
                    .iter()
                    .map(|failure| {
                        format!("{:?} {}: {}", failure.op, failure.object, failure.message)
                    })
                    .chain(self.vip_failures.iter().cloned())
                    .collect(),
            },
            vips: self
                .configured_vips()
                .into_iter()
                .map(|addr| VipView {
                    address: addr.to_string(),
                    state: if self.announcer.is_none() && self.config().ospf.is_none() {
                        "local"
                    } else if self.core.maintenance().is_withdrawn(addr) {
                        "maintenance"
                    } else if self.awaiting_first_checks.contains_key(&addr) {
                        "awaiting_first_checks"
                    } else if !self.healthy_vips.contains(&addr) {
                        "withdrawn"
                    } else if announced.contains(&addr) && full > 0 {
                        "announced"
                    } else {
                        "pending"
                    }
                    .to_string(),
                })
                .collect(),
            ospf,
            bfd: self.bfd_sessions.values().cloned().collect(),
            reloads: self.reloads.clone(),
            maintenance: MaintenanceView::from(self.core.maintenance()),
            notes: self.speaker_waiting().into_iter().collect(),
        }
    }

    async fn shutdown(&mut self) {
        self.checkers.reconcile(std::iter::empty());
        for transition in self.core.omega_transitions() {
            if let Transition::Real {
                script: Some(script),
                ..
            }
            | Transition::Quorum {
                script: Some(script),
                ..
            } = &transition
            {
                tracing::info!(script = %script.command, "omega: running a down script");
                crate::script::run(script, &[], NOTIFY_TIMEOUT).await;
            }
        }
        if let Some(announcer) = self.announcer.take() {
            announcer.shutdown().await;
        }
        // After OSPF said goodbye: AdminDown, which routers do not treat as a failure
        // (RFC 5882 §3.2).
        if let Some(handle) = self.bfd.take() {
            handle.shutdown().await;
        }
        if let Some(handle) = self.vrrp.take() {
            handle.shutdown().await;
        }
        if let Some(loopback) = self.loopback.as_mut() {
            let changes = loopback.reconcile(&BTreeSet::new()).await;
            for err in &changes.failed {
                tracing::warn!(error = %err, "VIP left on lo at shutdown");
            }
        }
    }
}

/// A `bfd_instance`'s session as it was added to the speaker.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BfdInstanceSession {
    name: String,
    source: Option<Ipv4Addr>,
    config: bfd::SessionConfig,
}

/// What `status` and `ospf …` say while an active-active director's speaker waits: it
/// starts only once the first reconcile programmed the tables (no VIP is announced before
/// the tables that serve it exist), so a backend that cannot open holds it back forever.
fn speaker_waiting_note(
    tables_ready: bool,
    failure: Option<&str>,
    dataplane: crate::config::model::DataplaneKind,
) -> String {
    use crate::config::model::DataplaneKind;
    if tables_ready {
        return "the OSPF speaker is not running (it did not start or restart; see the log)".into();
    }
    let mut note = String::from(
        "no VIP is announced: the OSPF speaker starts once the dataplane has programmed the \
         tables, and it has not yet",
    );
    if let Some(failure) = failure {
        note.push_str(&format!(" (the dataplane reports: {failure})"));
        if dataplane == DataplaneKind::Ipvs && !failure.contains("nftables") {
            note.push_str("; a host without IPVS (no `ip_vs` module) can use `dataplane nftables`");
        }
    }
    note
}

/// A backend as the configuration spells it (`director { dataplane … }`).
fn dataplane_name(kind: crate::config::model::DataplaneKind) -> &'static str {
    use crate::config::model::DataplaneKind;
    match kind {
        DataplaneKind::Ipvs => "ipvs",
        DataplaneKind::Nftables => "nftables",
        DataplaneKind::None => "none",
    }
}

/// Returns the pages the configuration load freed to the kernel (see `heap.rs`) and logs
/// the heap's size, so that a creeping figure across reloads would show in the log.
fn release_freed_heap(after: &'static str) {
    let rss_before = crate::heap::resident_bytes();
    if let Some(heap) = crate::heap::release_freed() {
        const MIB: usize = 1 << 20;
        tracing::info!(
            after,
            in_use_mib = heap.in_use / MIB,
            held_mib = heap.held_before / MIB,
            rss_before_mib = rss_before.unwrap_or(0) >> 20,
            rss_after_mib = crate::heap::resident_bytes().unwrap_or(0) >> 20,
            "heap: freed pages returned to the kernel"
        );
    }
}

/// `director { dataplane_resync_interval }`, or the default; zero turns resyncs off.
fn resync_interval(config: &Config) -> Option<Duration> {
    Some(
        config
            .director
            .dataplane_resync_interval
            .unwrap_or(dataplane_worker::DEFAULT_RESYNC_INTERVAL),
    )
    .filter(|interval| !interval.is_zero())
}

/// Exponential back-off between retries of failed kernel objects.
struct Backoff {
    current: Duration,
}

impl Backoff {
    fn new() -> Self {
        Backoff { current: RETRY_MIN }
    }

    fn delay(&self) -> Duration {
        self.current
    }

    fn grow(&mut self) {
        self.current = (self.current * 2).min(RETRY_MAX);
    }

    fn reset(&mut self) {
        self.current = RETRY_MIN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::DataplaneKind;

    #[test]
    fn a_waiting_speaker_says_why_and_what_to_do_without_ipvs() {
        let note = speaker_waiting_note(
            false,
            Some("dataplane ipvs: generic netlink family IPVS not found"),
            DataplaneKind::Ipvs,
        );
        assert!(note.contains("no VIP is announced"), "{note}");
        assert!(note.contains("IPVS not found"), "{note}");
        assert!(note.contains("dataplane nftables"), "{note}");
        let note = speaker_waiting_note(false, None, DataplaneKind::Nftables);
        assert!(!note.contains("dataplane nftables"), "{note}");
        assert!(speaker_waiting_note(true, None, DataplaneKind::Ipvs).contains("log"));
    }

    #[test]
    fn names_are_the_configuration_spellings() {
        assert_eq!(Mode::ActiveActive.name(), "active-active");
        assert_eq!(Mode::TablesOnly.name(), "tables-only");
        assert_eq!(dataplane_name(DataplaneKind::Nftables), "nftables");
    }
}
