//! The control loop: the single owner of desired state, driving dataplane, announcer and VRRP.
//!
//! One tokio task runs [`run`]. It holds the running configuration and everything derived
//! from it; the components report to it over channels (control-socket requests, signals,
//! speaker and VRRP events, dataplane reports) and it is the only place where a decision is
//! taken. A reload parses the new file first and changes nothing unless it is valid.

mod announcer;
mod dataplane_worker;
pub mod events;
mod inspect;
pub mod metrics;
pub mod socket;
pub mod views;
pub mod vips;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::config::model::{Config, Mode};
use crate::config::{self, Loaded};
use crate::dataplane::{self, DesiredTables, HealthState, ReconcileReport};
use crate::net::{NetError, Netlink};
use crate::vrrp::{self, VrrpHandle};
use announcer::Announcer;
use dataplane_worker::DataplaneWorker;
use events::ComponentEvent;
use socket::{ControlRequest, Reply, Request};
use views::{DataplaneView, ReloadCounters, StatusView, VipView};

/// Retry back-off for kernel objects that failed to program: doubles up to the maximum.
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

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
    #[error(
        "ospf: no router ID: set `router_id` in the ospf block (the host has no IPv4 address to pick)"
    )]
    NoRouterId,
    #[error("vrrp: {0}")]
    Vrrp(#[source] vrrp::VrrpError),
    #[error("cannot start the dataplane thread: {0}")]
    DataplaneThread(#[source] std::io::Error),
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
    let listener = socket::bind(&socket_path).await?;
    let (to_control, mut requests) = mpsc::channel::<ControlRequest>(64);
    let mut servers = vec![tokio::spawn(socket::serve(listener, to_control.clone()))];
    if let Some(addr) = loaded.config.director.metrics_listen {
        let listener = metrics::bind(addr)
            .await
            .map_err(|source| ControlError::Metrics { addr, source })?;
        servers.push(tokio::spawn(metrics::serve_http(listener, to_control)));
    }

    let (events_tx, mut events) = mpsc::unbounded_channel::<ComponentEvent>();
    let mut controller = Controller::start(settings, loaded.config, events_tx).await?;
    tracing::info!(
        mode = ?controller.mode(),
        config = %controller.settings.config_path.display(),
        socket = %socket_path.display(),
        "directord started"
    );

    let mut retry = Backoff::new();
    let mut fatal = None;
    loop {
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
                if let Err(err) = controller.component_event(event).await {
                    fatal = Some(err);
                    break;
                }
            }
            _ = tokio::time::sleep(retry.delay()), if controller.has_failures() => {
                controller.retry_failed().await;
                retry.grow();
            }
        }
        if !controller.has_failures() {
            retry.reset();
        }
    }

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
    config: Config,
    started: Instant,
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
    /// VRRP instances (whenever the configuration has `vrrp_instance`s).
    vrrp: Option<VrrpHandle>,
    /// Where components (dataplane thread, speaker) send their reports.
    events: mpsc::UnboundedSender<ComponentEvent>,
    health: HealthState,
    /// The tables last handed to the dataplane thread.
    desired: DesiredTables,
    /// The last reconcile's outcome; its failures are retried.
    last_report: ReconcileReport,
    reloads: ReloadCounters,
}

impl Controller {
    async fn start(
        settings: Settings,
        config: Config,
        events: mpsc::UnboundedSender<ComponentEvent>,
    ) -> Result<Self, ControlError> {
        let backend_kind = config.director.dataplane;
        let options = dataplane::OpenOptions {
            state_dir: settings.runtime_dir.clone(),
        };
        let dataplane = DataplaneWorker::spawn(backend_kind, options, events.clone())
            .map_err(ControlError::DataplaneThread)?;
        let netlink = Netlink::new()?;
        let loopback = if config.mode() == Mode::ActiveActive {
            Some(vips::LoopbackVips::new(netlink.clone()).await?)
        } else {
            None
        };
        let mut controller = Controller {
            settings,
            config,
            started: Instant::now(),
            loopback,
            vip_failures: Vec::new(),
            dataplane,
            tables_ready: false,
            netlink,
            announcer: None,
            vrrp: None,
            events,
            health: HealthState::default(),
            desired: DesiredTables::default(),
            last_report: ReconcileReport::default(),
            reloads: ReloadCounters::default(),
        };
        controller.apply().await;
        // The speaker itself starts after the first reconcile (see `component_event`), so
        // its very first Router-LSA already carries the VIPs; a missing router ID is a
        // configuration problem to report now, not then.
        if controller.mode() == Mode::ActiveActive && controller.config.ospf.is_some() {
            let vips = controller.wanted_vips();
            if announcer::router_id(&controller.config, &controller.netlink, &vips)
                .await
                .is_none()
            {
                return Err(ControlError::NoRouterId);
            }
        }
        controller.start_vrrp()?;
        Ok(controller)
    }

    /// Starts VRRP for the configuration's `vrrp_instance`s, if it has any.
    fn start_vrrp(&mut self) -> Result<(), ControlError> {
        if self.config.vrrp_instances.is_empty() {
            return Ok(());
        }
        let (handle, mut vrrp_events) = vrrp::spawn(&self.config).map_err(ControlError::Vrrp)?;
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
        let Some(ospf_config) = self.config.ospf.as_ref() else {
            return Ok(());
        };
        if self.mode() != Mode::ActiveActive {
            return Ok(());
        }
        let vips = self.wanted_vips();
        let Some(router_id) = announcer::router_id(&self.config, &self.netlink, &vips).await else {
            return Err(ControlError::NoRouterId);
        };
        let instance = announcer::instance_config(ospf_config, router_id);
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
        self.apply_announcements();
        Ok(())
    }

    /// Applies a changed `ospf` block: a new VIP metric in place, anything else (router ID,
    /// areas, interfaces, timers, keys) by restarting the speaker, which withdraws this
    /// node's routes for the few seconds the adjacencies take to form again.
    async fn reconfigure_announcer(&mut self) {
        let (Some(ospf_config), Some(running)) =
            (self.config.ospf.as_ref(), self.announcer.as_mut())
        else {
            return;
        };
        let router_id = ospf_config
            .router_id
            .unwrap_or(running.instance().router_id);
        let wanted = announcer::instance_config(ospf_config, router_id);
        let mut same_but_metric = wanted.clone();
        same_but_metric.stub_metric = running.instance().stub_metric;
        if same_but_metric == *running.instance() {
            running.set_metric(wanted.stub_metric);
            return;
        }
        tracing::info!("ospf block changed: restarting the speaker");
        if let Some(old) = self.announcer.take() {
            old.shutdown().await;
        }
        if let Err(err) = self.start_announcer().await {
            tracing::error!(error = %err, "OSPF speaker did not restart; VIPs are not announced");
        }
    }

    /// Hands VRRP the new configuration (unchanged instances keep their state), starting or
    /// stopping it when instances appear or all disappear.
    async fn reconfigure_vrrp(&mut self) {
        match (self.vrrp.as_ref(), self.config.vrrp_instances.is_empty()) {
            (Some(_), true) => {
                if let Some(handle) = self.vrrp.take() {
                    handle.shutdown().await;
                }
            }
            (Some(handle), false) => {
                if let Err(err) = handle.reload(&self.config).await {
                    tracing::error!(error = %err, "VRRP did not take the new configuration");
                }
            }
            (None, false) => {
                if let Err(err) = self.start_vrrp() {
                    tracing::error!(error = %err, "VRRP did not start");
                }
            }
            (None, true) => {}
        }
    }

    /// Announces the IPv4 VIPs that are held on `lo`, once the tables serving them exist.
    fn apply_announcements(&mut self) {
        let configured = announcer::prefixes(&self.wanted_vips());
        let prefixes = if self.tables_ready {
            configured.clone()
        } else {
            BTreeSet::new()
        };
        if let Some(announcer) = self.announcer.as_mut() {
            announcer.set_encoding_for(configured.len());
            announcer.set_announced(prefixes);
        }
    }

    /// Handles a component's report; an error here is fatal to the daemon.
    async fn component_event(&mut self, event: ComponentEvent) -> Result<(), ControlError> {
        match event {
            ComponentEvent::Dataplane(report) => {
                // Announce once the tables exist: some objects may still be retried, but
                // a backend that could not even open programmed nothing.
                let programmed = report.is_clean() || report.kernel_ops > 0;
                self.dataplane_report(report);
                if !self.tables_ready && programmed {
                    self.tables_ready = true;
                    self.start_announcer().await?;
                }
            }
            ComponentEvent::Ospf(event) => {
                tracing::debug!(?event, "OSPF event");
            }
            ComponentEvent::Vrrp(event) => {
                tracing::debug!(?event, "VRRP event");
            }
        }
        Ok(())
    }

    fn mode(&self) -> Mode {
        self.config.mode()
    }

    /// The VIPs this node holds on `lo` and announces (active-active mode).
    fn wanted_vips(&self) -> BTreeSet<IpAddr> {
        if self.mode() == Mode::ActiveActive {
            vips::service_addresses(&self.config)
        } else {
            BTreeSet::new()
        }
    }

    /// Drives every component towards the running configuration.
    async fn apply(&mut self) {
        self.apply_tables();
        self.apply_vips().await;
        self.apply_announcements();
    }

    /// Hands the dataplane thread the tables for the current configuration and health,
    /// when they differ from what it was last given (or when a retry is due).
    fn apply_tables(&mut self) {
        let desired = dataplane::desired_tables(&self.config, &self.health);
        if desired != self.desired || !self.last_report.is_clean() {
            self.desired = desired;
            self.dataplane.reconcile(self.desired.clone());
        }
    }

    fn dataplane_report(&mut self, report: ReconcileReport) {
        if report.kernel_ops > 0 || !report.is_clean() {
            tracing::info!(
                planned = report.ops_planned,
                kernel_ops = report.kernel_ops,
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
        let wanted = self.wanted_vips();
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
    fn vet_reload(&self) -> Result<Loaded, Vec<String>> {
        let loaded = config::load_with(&self.settings.config_path, &self.settings.load_options)
            .map_err(|failed| {
                failed
                    .errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            })?;
        for warning in &loaded.warnings {
            tracing::warn!("{warning}");
        }
        let restart_needed = if loaded.config.mode() != self.mode() {
            Some(format!(
                "the mode would change from {:?} to {:?}",
                self.mode(),
                loaded.config.mode()
            ))
        } else if loaded.config.director.dataplane != self.config.director.dataplane {
            Some(format!(
                "the dataplane would change from {:?} to {:?}",
                self.config.director.dataplane, loaded.config.director.dataplane
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

    /// SIGHUP: a file with errors changes nothing; a valid one is applied as a difference.
    async fn reload(&mut self) -> Result<(), Vec<String>> {
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
                return Err(messages);
            }
        };
        let ospf_before = self.config.ospf.clone();
        self.config = loaded.config;
        self.reconfigure_vrrp().await;
        if self.config.ospf != ospf_before {
            self.reconfigure_announcer().await;
        }
        self.apply().await;
        self.reloads.succeeded += 1;
        self.reloads.last_errors.clear();
        tracing::info!("configuration reloaded");
        Ok(())
    }

    async fn answer(&mut self, request: Request) -> Reply {
        let value = match request {
            Request::Status => serde_json::to_value(self.status().await),
            Request::Config => config::redact::redacted_json(&self.config),
            Request::Reload => match self.reload().await {
                Ok(()) => Ok(serde_json::json!({ "reloaded": true })),
                Err(errors) => return Reply::Error(errors.join("\n")),
            },
            Request::Services { stats } => {
                let counters = if stats {
                    match self.dataplane.stats().await {
                        Ok(counters) => Some(counters),
                        Err(err) => return Reply::Error(format!("dataplane statistics: {err}")),
                    }
                } else {
                    None
                };
                serde_json::to_value(inspect::services(
                    &self.backend_name(),
                    &self.desired,
                    &self.health,
                    counters.as_ref(),
                ))
            }
            Request::OspfInterfaces | Request::OspfNeighbors | Request::OspfDatabase => {
                let Some(announcer) = self.announcer.as_ref() else {
                    return Reply::Error(
                        "no OSPF speaker runs here (it runs in active-active mode, with an ospf block)"
                            .into(),
                    );
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
                    _ => serde_json::to_value(inspect::ospf_database(&status)),
                }
            }
            Request::Vrrp => match self.vrrp.as_ref() {
                Some(handle) => match handle.status().await {
                    Ok(status) => serde_json::to_value(status),
                    Err(err) => return Reply::Error(format!("vrrp: {err}")),
                },
                None => return Reply::Error("no vrrp_instance is configured".into()),
            },
            Request::Metrics => Ok(serde_json::Value::String(self.metrics().await)),
        };
        match value {
            Ok(value) => Reply::Ok(value),
            Err(err) => Reply::Error(format!("cannot encode the answer: {err}")),
        }
    }

    /// Every number the daemon exposes, in the Prometheus text format.
    async fn metrics(&self) -> String {
        use metrics::{Family, Kind};
        let status = self.status().await;
        let mut families = vec![
            Family::new(
                "director_info",
                Kind::Gauge,
                "Static facts about this director.",
            )
            .sample(
                vec![
                    ("version", status.version.clone()),
                    ("mode", status.mode.clone()),
                    ("dataplane", status.dataplane.backend.clone()),
                ],
                1.0,
            ),
            Family::new(
                "director_uptime_seconds",
                Kind::Gauge,
                "Seconds since the daemon started.",
            )
            .sample(vec![], status.uptime_seconds as f64),
            Family::new(
                "director_config_reloads_total",
                Kind::Counter,
                "Configuration reloads by outcome (a failed one changes nothing).",
            )
            .sample(vec![("result", "ok".into())], self.reloads.succeeded as f64)
            .sample(
                vec![("result", "failed".into())],
                self.reloads.failed as f64,
            ),
            Family::new(
                "director_dataplane_last_kernel_operations",
                Kind::Gauge,
                "Kernel operations of the last dataplane reconcile.",
            )
            .sample(vec![], self.last_report.kernel_ops as f64),
            Family::new(
                "director_dataplane_failing_objects",
                Kind::Gauge,
                "Objects the dataplane could not program (retried with back-off).",
            )
            .sample(vec![], status.dataplane.failures.len() as f64),
        ];
        let mut vips = Family::new(
            "director_vip_announced",
            Kind::Gauge,
            "1 when the VIP is announced to the routers (or held locally), 0 when withdrawn.",
        );
        for vip in &status.vips {
            vips = vips.sample(
                vec![("vip", vip.address.clone())],
                if vip.state == "withdrawn" { 0.0 } else { 1.0 },
            );
        }
        families.push(vips);
        if let Some(ospf) = &status.ospf {
            families.push(
                Family::new(
                    "director_ospf_neighbors",
                    Kind::Gauge,
                    "OSPF neighbors, all and in state Full.",
                )
                .sample(vec![("state", "full".into())], ospf.neighbors_full as f64)
                .sample(vec![("state", "any".into())], ospf.neighbors_total as f64),
            );
        }
        let stats = self.dataplane.stats().await.ok();
        let services = inspect::services(
            &self.backend_name(),
            &self.desired,
            &self.health,
            stats.as_ref(),
        );
        let mut weight = Family::new(
            "director_real_server_weight",
            Kind::Gauge,
            "Programmed weight of each real server (0 when drained or down).",
        );
        let mut connections = Family::new(
            "director_real_server_connections_total",
            Kind::Counter,
            "Connections scheduled to each real server by this director.",
        );
        let mut bytes = Family::new(
            "director_real_server_bytes_total",
            Kind::Counter,
            "Bytes forwarded to and from each real server by this director.",
        );
        for service in &services.services {
            let name = format!("{} {}", service.protocol, service.address);
            for real in &service.reals {
                let labels = vec![("service", name.clone()), ("real", real.address.clone())];
                weight = weight.sample(labels.clone(), f64::from(real.weight));
                if let Some(counters) = &real.stats {
                    connections = connections.sample(labels.clone(), counters.connections as f64);
                    bytes = bytes.sample(
                        [labels.clone(), vec![("direction", "in".into())]].concat(),
                        counters.bytes_in as f64,
                    );
                    bytes = bytes.sample(
                        [labels, vec![("direction", "out".into())]].concat(),
                        counters.bytes_out as f64,
                    );
                }
            }
        }
        families.extend([weight, connections, bytes]);
        metrics::render(&families)
    }

    fn backend_name(&self) -> String {
        format!("{:?}", self.config.director.dataplane).to_lowercase()
    }

    async fn status(&self) -> StatusView {
        let ospf = match self.announcer.as_ref() {
            Some(announcer) => announcer.status().await.ok().map(|status| {
                let neighbors = inspect::ospf_neighbors(&status);
                views::OspfSummaryView {
                    router_id: status.router_id.to_string(),
                    neighbors_full: neighbors.iter().filter(|n| n.state == "Full").count(),
                    neighbors_total: neighbors.len(),
                }
            }),
            None => None,
        };
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
            mode: format!("{:?}", self.mode()),
            config_file: self.settings.config_path.display().to_string(),
            uptime_seconds: self.started.elapsed().as_secs(),
            dataplane: DataplaneView {
                backend: self.backend_name(),
                last_operations: self.last_report.kernel_ops,
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
                .wanted_vips()
                .into_iter()
                .map(|addr| VipView {
                    address: addr.to_string(),
                    state: if self.announcer.is_none() {
                        "local"
                    } else if announced.contains(&addr) {
                        "announced"
                    } else {
                        "withdrawn"
                    }
                    .to_string(),
                })
                .collect(),
            ospf,
            reloads: self.reloads.clone(),
        }
    }

    async fn shutdown(&mut self) {
        if let Some(announcer) = self.announcer.take() {
            announcer.shutdown().await;
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
