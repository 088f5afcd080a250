//! The thread that owns the dataplane backend on behalf of the control loop.
//!
//! Backends talk to the kernel synchronously, so they live on their own thread instead of
//! blocking the loop. The loop sends it the newest desired tables; when several arrive
//! while a reconcile runs, only the last one is applied (each is complete, so the earlier
//! ones are obsolete). Reports go back to the loop, which retries failed objects.
//!
//! Backends that keep a view of the kernel (IPVS) read it back on a slow period
//! (`director { dataplane_resync_interval }`, [`DEFAULT_RESYNC_INTERVAL`] by default) to find
//! and undo changes made behind their back; the period restarts whenever a reconcile read
//! the whole table anyway.
//!
//! The backend is opened when there is first something to program, as keepalived does:
//! a configuration with only `vrrp_instance`s runs on a host without IPVS, and a backend
//! that cannot be opened is reported like any other failed object and retried.

use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::counters::{CountersHandle, Source};
use crate::config::model::DataplaneKind;
use crate::dataplane::{
    self, Dataplane, DataplaneError, DesiredTables, Failure, OpKind, OpenOptions, ReconcileReport,
    TableStats,
};

/// How often the kernel's tables are read back when the configuration does not say.
pub const DEFAULT_RESYNC_INTERVAL: Duration = Duration::from_secs(300);

enum Command {
    Reconcile(Box<DesiredTables>),
    ResyncEvery(Option<Duration>),
    Stats(oneshot::Sender<Result<TableStats, String>>),
}

/// Handle to the dataplane thread; dropping it (and every [`CountersHandle`]) stops the
/// thread after its current work.
pub struct DataplaneWorker {
    commands: std_mpsc::Sender<Command>,
    counters: CountersHandle,
}

impl DataplaneWorker {
    /// Starts the thread for a backend of `kind`; each reconcile report is sent through
    /// `reports`.
    pub fn spawn<E: From<ReconcileReport> + Send + 'static>(
        kind: DataplaneKind,
        options: OpenOptions,
        reports: mpsc::UnboundedSender<E>,
    ) -> std::io::Result<Self> {
        let (commands, inbox) = std_mpsc::channel();
        let slot = BackendSlot {
            kind,
            options,
            backend: None,
        };
        thread::Builder::new()
            .name("dataplane".into())
            .spawn(move || work(slot, inbox, reports))?;
        // IPVS counters are read over a socket of their own, so reading them never holds
        // up a reconcile; the other backends' only handle on the kernel is on this thread.
        let source = match kind {
            DataplaneKind::Ipvs => Source::Ipvs {
                reader: None,
                requests: 0,
            },
            DataplaneKind::Nftables | DataplaneKind::None => Source::Backend(StatsHandle {
                commands: commands.clone(),
            }),
        };
        let counters = CountersHandle::spawn(source)?;
        Ok(DataplaneWorker { commands, counters })
    }

    /// Queues a reconcile towards `desired`.
    pub fn reconcile(&self, desired: DesiredTables) {
        // The thread only ends when this handle is dropped, so a send cannot fail while
        // `self` exists; if it ever did, the next reconcile would show it as stale state.
        let _ = self.commands.send(Command::Reconcile(Box::new(desired)));
    }

    /// Sets the resync period (`None`: never resync).
    pub fn resync_every(&self, interval: Option<Duration>) {
        let _ = self.commands.send(Command::ResyncEvery(interval));
    }

    /// The counters the metrics serve, read in the background.
    pub fn counters_handle(&self) -> CountersHandle {
        self.counters.clone()
    }

    /// A handle that reads counters without going through the control loop.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle {
            commands: self.commands.clone(),
        }
    }
}

/// Reads the backend's counters from the dataplane thread; cheap to clone.
#[derive(Clone)]
pub struct StatsHandle {
    commands: std_mpsc::Sender<Command>,
}

impl StatsHandle {
    /// Reads the counters back from the backend (after the reconcile in progress, if any).
    pub async fn stats(&self) -> Result<TableStats, String> {
        self.ask()?.await.map_err(|_| stopped())?
    }

    /// [`StatsHandle::stats`] for a thread outside the async runtime.
    pub fn stats_blocking(&self) -> Result<TableStats, String> {
        self.ask()?.blocking_recv().map_err(|_| stopped())?
    }

    /// Queues the request; the answer comes on the returned channel.
    fn ask(&self) -> Result<oneshot::Receiver<Result<TableStats, String>>, String> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Stats(reply))
            .map_err(|_| stopped())?;
        Ok(answer)
    }
}

fn stopped() -> String {
    "the dataplane thread has stopped".to_string()
}

/// The backend, opened on first need.
struct BackendSlot {
    kind: DataplaneKind,
    options: OpenOptions,
    backend: Option<Box<dyn Dataplane>>,
}

impl BackendSlot {
    fn reconcile(&mut self, desired: &DesiredTables) -> ReconcileReport {
        if self.backend.is_none() && nothing_to_program(desired) {
            return ReconcileReport::default();
        }
        if self.backend.is_none() {
            match dataplane::open(self.kind, &self.options) {
                Ok(backend) => self.backend = Some(backend),
                Err(err) => return self.open_failed(&err),
            }
        }
        match self.backend.as_mut() {
            Some(backend) => backend.reconcile(desired),
            None => ReconcileReport::default(),
        }
    }

    /// Reads the kernel back and repairs drift; nothing to do before the backend is open.
    fn resync(&mut self, desired: &DesiredTables) -> Option<ReconcileReport> {
        self.backend.as_mut().map(|backend| backend.resync(desired))
    }

    fn open_failed(&self, err: &DataplaneError) -> ReconcileReport {
        ReconcileReport {
            failures: vec![Failure {
                op: OpKind::ReadKernel,
                object: format!("dataplane {}", format!("{:?}", self.kind).to_lowercase()),
                errno: None,
                message: format!(
                    "{err} (on a host without IPVS, set `director {{ dataplane nftables }}`)"
                ),
            }],
            ..ReconcileReport::default()
        }
    }

    fn stats(&mut self) -> Result<TableStats, String> {
        match self.backend.as_mut() {
            Some(backend) => backend
                .stats()
                .map_err(|err: DataplaneError| err.to_string()),
            None => Ok(TableStats::default()),
        }
    }
}

/// No service, no timeouts, no sync daemon: nothing that needs the kernel.
fn nothing_to_program(desired: &DesiredTables) -> bool {
    desired.services.is_empty() && desired.timeouts.is_none() && desired.sync_daemons.is_empty()
}

/// When the next resync is due: `interval` after the last full read of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ResyncTimer {
    interval: Option<Duration>,
    last_read: Option<Instant>,
}

impl ResyncTimer {
    fn new() -> Self {
        ResyncTimer {
            interval: Some(DEFAULT_RESYNC_INTERVAL),
            last_read: None,
        }
    }

    /// How long until the resync is due (zero when overdue); `None` when none is planned:
    /// disabled, or nothing read yet (the first reconcile reads everything anyway).
    fn due_in(&self, now: Instant) -> Option<Duration> {
        let due = self.last_read? + self.interval?;
        Some(due.saturating_duration_since(now))
    }

    /// Notes a reconcile's outcome: one that read the whole kernel restarts the period.
    fn observe(&mut self, report: &ReconcileReport, now: Instant) {
        if report.kernel_reads > 0 {
            self.last_read = Some(now);
        }
    }
}

fn work<E: From<ReconcileReport>>(
    mut slot: BackendSlot,
    inbox: std_mpsc::Receiver<Command>,
    reports: mpsc::UnboundedSender<E>,
) {
    let mut timer = ResyncTimer::new();
    // The last desired tables handed to the backend: what a resync restores.
    let mut applied: Option<Box<DesiredTables>> = None;
    loop {
        let next = match timer.due_in(Instant::now()) {
            Some(wait) => inbox.recv_timeout(wait),
            None => inbox
                .recv()
                .map_err(|_| std_mpsc::RecvTimeoutError::Disconnected),
        };
        let command = match next {
            Ok(command) => command,
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
            Err(std_mpsc::RecvTimeoutError::Timeout) => {
                let report = applied.as_deref().and_then(|desired| slot.resync(desired));
                // Without an open backend there is nothing to read: wait for a reconcile.
                timer.last_read = None;
                if let Some(report) = report {
                    timer.observe(&report, Instant::now());
                    if reports.send(E::from(report)).is_err() {
                        return;
                    }
                }
                continue;
            }
        };
        let mut newest = match command {
            Command::Reconcile(desired) => desired,
            Command::ResyncEvery(interval) => {
                timer.interval = interval.filter(|i| !i.is_zero());
                continue;
            }
            Command::Stats(reply) => {
                let _ = reply.send(slot.stats());
                continue;
            }
        };
        // Skip to the newest desired state, answering statistics requests on the way.
        while let Ok(command) = inbox.try_recv() {
            match command {
                Command::Reconcile(desired) => newest = desired,
                Command::ResyncEvery(interval) => {
                    timer.interval = interval.filter(|i| !i.is_zero());
                }
                Command::Stats(reply) => {
                    let _ = reply.send(slot.stats());
                }
            }
        }
        let report = slot.reconcile(&newest);
        timer.observe(&report, Instant::now());
        applied = Some(newest);
        if reports.send(E::from(report)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn reconciles_and_reports() {
        let (reports_tx, mut reports) = mpsc::unbounded_channel::<ReconcileReport>();
        let worker =
            DataplaneWorker::spawn(DataplaneKind::None, OpenOptions::default(), reports_tx)
                .expect("spawn");
        worker.reconcile(DesiredTables::default());
        let report = reports.recv().await.expect("a report");
        assert!(report.is_clean());
        let stats = worker.stats_handle().stats().await.expect("stats");
        assert!(stats.services.is_empty());
    }

    fn one_service() -> DesiredTables {
        use crate::dataplane::tables::{
            DestKey, DestSpec, FlowHash, Forward, Protocol, Service, ServiceKey, ServiceSpec,
        };
        let dest = DestSpec {
            key: DestKey {
                addr: "10.1.0.2".parse().expect("addr"),
                port: 80,
            },
            forward: Forward::Masq,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
        };
        DesiredTables {
            services: vec![Service {
                spec: ServiceSpec {
                    key: ServiceKey::Addr {
                        addr: "10.0.0.1".parse().expect("addr"),
                        port: 80,
                        protocol: Protocol::Tcp,
                    },
                    scheduler: "mh".into(),
                    flags: 0,
                    timeout: 0,
                    netmask: 32,
                },
                dests: vec![dest],
                flow_hash: FlowHash::SourceAddr,
                maglev_size: 101,
            }],
            ..DesiredTables::default()
        }
    }

    #[tokio::test]
    async fn scrapes_share_one_background_reading() {
        let (reports_tx, mut reports) = mpsc::unbounded_channel::<ReconcileReport>();
        let worker =
            DataplaneWorker::spawn(DataplaneKind::None, OpenOptions::default(), reports_tx)
                .expect("spawn");
        let desired = one_service();
        worker.reconcile(desired.clone());
        assert!(reports.recv().await.expect("a report").is_clean());
        let counters = worker.counters_handle();
        let first = counters.current(Duration::from_secs(5)).await;
        let reading = first.reading.expect("the first scrape waits for a reading");
        assert_eq!(reading.stats.services.len(), 1);
        assert_eq!(reading.stats.services[0].key, desired.services[0].spec.key);
        // Scrapes within the period copy the same reading: none of them reads again.
        for _ in 0..50 {
            let again = counters.current(Duration::from_secs(5)).await;
            let same = again.reading.expect("published");
            assert_eq!(same.started, reading.started);
            assert!(Arc::ptr_eq(&same.stats, &reading.stats));
        }
    }

    #[test]
    fn resync_is_due_an_interval_after_the_last_full_read() {
        let start = Instant::now();
        let mut timer = ResyncTimer::new();
        assert_eq!(timer.due_in(start), None, "nothing read yet");
        let cached = ReconcileReport::default();
        timer.observe(&cached, start);
        assert_eq!(
            timer.due_in(start),
            None,
            "a reconcile from the view reads nothing"
        );
        let read = ReconcileReport {
            kernel_reads: 3,
            ..ReconcileReport::default()
        };
        timer.observe(&read, start);
        assert_eq!(timer.due_in(start), Some(DEFAULT_RESYNC_INTERVAL));
        let later = start + Duration::from_secs(100);
        assert_eq!(
            timer.due_in(later),
            Some(DEFAULT_RESYNC_INTERVAL - Duration::from_secs(100))
        );
        assert_eq!(
            timer.due_in(start + DEFAULT_RESYNC_INTERVAL * 2),
            Some(Duration::ZERO)
        );
        // A read after an error restarts the period.
        timer.observe(&read, later);
        assert_eq!(timer.due_in(later), Some(DEFAULT_RESYNC_INTERVAL));
        timer.interval = None;
        assert_eq!(timer.due_in(later), None, "disabled");
    }
}
