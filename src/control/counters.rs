//! The dataplane's traffic counters behind the metrics: read by a thread of their own at a
//! bounded rate while someone scrapes, and published, so that a scrape copies the last
//! reading instead of reading the kernel (with IPVS that read is one dump per service).
//! A scrape never waits for the control loop or for a reconcile; it waits at most
//! [`super::socket`]'s limit, and only when the refresher was idle (the first scrape, or
//! the first after [`KEEP_WARM`] without one).
//!
//! How stale a figure may be: a reading is repeated every [`Schedule::period`] — at least
//! [`MIN_PERIOD`] (IPVS's own estimator folds the per-CPU counters into the figures it
//! reports every 2 s, so reading more often shows nothing new) and at least
//! [`COST_FACTOR`] times what the last reading took, so reading never takes more than a
//! tenth of a core whatever the table size. A published reading carries when it started
//! (the metrics expose its age) and how long it took.
//!
//! Which source: IPVS is read over a read-only socket of this thread's own
//! ([`IpvsReader::stats`]: service and real-server keys come from the same replies as their
//! counters, so a figure cannot end up under another object's key); other backends
//! answer from the dataplane thread, which owns their only handle on the kernel.
//!
//! Decisions (when to read, whether a scrape waits) live in [`Schedule`] and
//! [`worth_waiting`], with the clock passed in; the thread around them is thin.

use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::dataplane_worker::StatsHandle;
use crate::dataplane::ipvs::listing::IpvsReader;
use crate::dataplane::TableStats;

/// Shortest time between two readings: IPVS's estimator period.
pub const MIN_PERIOD: Duration = Duration::from_secs(2);
/// A reading is repeated no sooner than this many times its own duration.
pub const COST_FACTOR: u32 = 10;
/// How long the refresher keeps reading after the last scrape.
pub const KEEP_WARM: Duration = Duration::from_secs(180);

/// When to read the counters, from when they were last asked for and last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    last_demand: Option<Instant>,
    /// When the last reading started, and how long it took.
    last_read: Option<(Instant, Duration)>,
}

/// What the refresher does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Read,
    /// Sleep this long (or until someone scrapes).
    Wait(Duration),
    /// Nobody scraped for [`KEEP_WARM`]: sleep until someone does.
    Idle,
}

impl Default for Schedule {
    fn default() -> Self {
        Self::new()
    }
}

impl Schedule {
    pub fn new() -> Self {
        Schedule {
            last_demand: None,
            last_read: None,
        }
    }

    /// Someone asked for the counters.
    pub fn demanded(&mut self, now: Instant) {
        self.last_demand = Some(now);
    }

    /// A reading (successful or not) started at `started` and took `took`.
    pub fn read(&mut self, started: Instant, took: Duration) {
        self.last_read = Some((started, took));
    }

    /// Time between two readings: [`MIN_PERIOD`], or [`COST_FACTOR`] times the last
    /// reading's duration when that is longer.
    pub fn period(&self) -> Duration {
        let cost = self
            .last_read
            .map_or(Duration::ZERO, |(_, took)| took.saturating_mul(COST_FACTOR));
        cost.max(MIN_PERIOD)
    }

    pub fn next(&self, now: Instant) -> Next {
        let Some(demand) = self.last_demand else {
            return Next::Idle;
        };
        if now.saturating_duration_since(demand) > KEEP_WARM {
            return Next::Idle;
        }
        match self.last_read {
            None => Next::Read,
            Some((started, _)) => {
                let due = started + self.period();
                if now >= due {
                    Next::Read
                } else {
                    Next::Wait(due - now)
                }
            }
        }
    }
}

/// One successful reading.
#[derive(Debug, Clone)]
pub struct Reading {
    pub stats: Arc<TableStats>,
    /// When the reading started: every figure in it is at least this recent (plus the
    /// kernel's own lag, 2 s for IPVS).
    pub started: Instant,
    pub took: Duration,
}

/// What the refresher publishes after each attempt.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// The last successful reading (kept when a later attempt fails).
    pub reading: Option<Reading>,
    /// When the last attempt started, successful or not.
    pub attempted: Option<Instant>,
    /// The period in force after that attempt.
    pub period: Duration,
    /// Kernel requests the refresher sent since it started (IPVS; 0 for backends read by
    /// the dataplane thread).
    pub kernel_requests: u64,
}

/// Whether a scrape should wait for the next attempt instead of answering with what is
/// published: only when no attempt started within two periods, i.e. the refresher was
/// idle (or has not begun).
pub fn worth_waiting(published: &Published, now: Instant) -> bool {
    match published.attempted {
        None => true,
        Some(at) => now.saturating_duration_since(at) > published.period.saturating_mul(2),
    }
}

/// Where the counters come from.
pub enum Source {
    /// A read-only IPVS socket, opened on first use and again after a failed read.
    Ipvs {
        reader: Option<IpvsReader>,
        requests: u64,
    },
    /// The dataplane thread (nftables, the in-memory backend).
    Backend(StatsHandle),
}

impl Source {
    fn read(&mut self) -> Result<TableStats, String> {
        match self {
            Source::Ipvs { reader, requests } => {
                let mut open = match reader.take() {
                    Some(open) => open,
                    None => IpvsReader::open().map_err(|e| e.to_string())?,
                };
                let before = open.requests();
                let read = open.stats();
                *requests += open.requests() - before;
                // A reader whose read failed may have a dump half-read: open a new one.
                if read.is_ok() {
                    *reader = Some(open);
                }
                read.map_err(|e| e.to_string())
            }
            Source::Backend(handle) => handle.stats_blocking(),
        }
    }

    fn requests(&self) -> u64 {
        match self {
            Source::Ipvs { requests, .. } => *requests,
            Source::Backend(_) => 0,
        }
    }
}

/// Reads the published counters; cheap to clone.
#[derive(Clone)]
pub struct CountersHandle {
    demand: std_mpsc::Sender<()>,
    published: watch::Receiver<Published>,
}

impl CountersHandle {
    /// Starts the refresher thread; it ends when the last handle is dropped.
    pub fn spawn(source: Source) -> std::io::Result<Self> {
        let (demand, wakeups) = std_mpsc::channel();
        let (publish, published) = watch::channel(Published::default());
        thread::Builder::new()
            .name("counters".into())
            .spawn(move || refresh(source, wakeups, publish))?;
        Ok(CountersHandle { demand, published })
    }

    /// The published counters, keeping the refresher awake; waits up to `max_wait` for a
    /// reading only when [`worth_waiting`] says so.
    pub async fn current(&self, max_wait: Duration) -> Published {
        let mut published = self.published.clone();
        published.borrow_and_update();
        // The thread ends only when every handle is gone, so this send cannot fail while
        // `self` exists.
        let _ = self.demand.send(());
        if worth_waiting(&published.borrow(), Instant::now()) {
            let _ = tokio::time::timeout(max_wait, published.changed()).await;
        }
        let current = published.borrow().clone();
        current
    }
}

fn refresh(mut source: Source, wakeups: std_mpsc::Receiver<()>, publish: watch::Sender<Published>) {
    let mut schedule = Schedule::new();
    let mut published = Published::default();
    // Logged once per run of failures, not every period.
    let mut failing = false;
    loop {
        let woken = match schedule.next(Instant::now()) {
            Next::Read => {
                let started = Instant::now();
                let read = source.read();
                let took = started.elapsed();
                schedule.read(started, took);
                published.attempted = Some(started);
                published.period = schedule.period();
                published.kernel_requests = source.requests();
                match read {
                    Ok(stats) => {
                        if failing {
                            tracing::info!("reading the dataplane counters works again");
                        }
                        failing = false;
                        published.reading = Some(Reading {
                            stats: Arc::new(stats),
                            started,
                            took,
                        });
                    }
                    Err(error) => {
                        // The reading's growing age shows the failure in the metrics too.
                        if failing {
                            tracing::debug!(%error, "reading the dataplane counters failed again");
                        } else {
                            tracing::warn!(%error, "reading the dataplane counters failed; the metrics keep the last reading");
                        }
                        failing = true;
                    }
                }
                publish.send_replace(published.clone());
                continue;
            }
            Next::Wait(wait) => match wakeups.recv_timeout(wait) {
                Ok(()) => true,
                Err(std_mpsc::RecvTimeoutError::Timeout) => false,
                Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
            },
            Next::Idle => match wakeups.recv() {
                Ok(()) => true,
                Err(_) => return,
            },
        };
        if woken {
            // Scrapes queued while reading count as one.
            while wakeups.try_recv().is_ok() {}
            schedule.demanded(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn reads_only_while_someone_scrapes() {
        let t0 = Instant::now();
        let mut s = Schedule::new();
        assert_eq!(s.next(t0), Next::Idle, "nobody asked yet");
        s.demanded(t0);
        assert_eq!(s.next(t0), Next::Read, "first scrape: read at once");
        s.read(t0, Duration::from_millis(30));
        assert_eq!(s.next(t0 + secs(1)), Next::Wait(secs(1)));
        assert_eq!(s.next(t0 + secs(2)), Next::Read);
        s.read(t0 + secs(2), Duration::from_millis(30));
        // Without another scrape the refresher goes idle after KEEP_WARM.
        assert_eq!(s.next(t0 + KEEP_WARM + secs(1)), Next::Idle);
        s.demanded(t0 + KEEP_WARM + secs(1));
        assert_eq!(s.next(t0 + KEEP_WARM + secs(1)), Next::Read);
    }

    #[test]
    fn a_slow_reading_is_repeated_at_most_a_tenth_of_the_time() {
        let t0 = Instant::now();
        let mut s = Schedule::new();
        s.demanded(t0);
        assert_eq!(s.period(), MIN_PERIOD);
        s.read(t0, Duration::from_millis(150));
        assert_eq!(s.period(), MIN_PERIOD, "1.5 s of cost is under the minimum");
        s.read(t0, Duration::from_millis(700));
        assert_eq!(s.period(), secs(7));
        assert_eq!(s.next(t0 + secs(6)), Next::Wait(secs(1)));
        // A cheap reading brings the period back down.
        s.read(t0 + secs(7), Duration::from_millis(10));
        assert_eq!(s.next(t0 + secs(9)), Next::Read);
    }

    #[test]
    fn a_scrape_waits_only_for_an_idle_refresher() {
        let t0 = Instant::now();
        let mut p = Published::default();
        assert!(
            worth_waiting(&p, t0),
            "never read: wait for the first reading"
        );
        p.attempted = Some(t0);
        p.period = MIN_PERIOD;
        assert!(!worth_waiting(&p, t0 + secs(3)), "warm: answer at once");
        assert!(
            !worth_waiting(&p, t0 + secs(4)),
            "a failed or late attempt is not waited for again"
        );
        assert!(worth_waiting(&p, t0 + secs(5)), "idle: wake it and wait");
        p.period = secs(30);
        assert!(
            !worth_waiting(&p, t0 + secs(59)),
            "slow tables, slow period"
        );
    }
}
