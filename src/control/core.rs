//! The control loop's decisions, without I/O: checker results and configurations go in,
//! and out come the tables to program, the VIPs to announce and the transitions to tell
//! the world about (logs, notify scripts, alerts). Time is passed in, never read.
//!
//! Results only update records; [`Core::recompute`] turns the records into decisions, so
//! the runtime can feed a whole burst of results and recompute once.
//!
//! A VIP is announced for the first time only once the checkers behind it have given their
//! first verdicts, or their bound has passed ([`crate::policy::first_checks`]): the core
//! remembers what it announced, and says until when each held VIP waits, so the runtime
//! recomputes then even if no result comes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::model::{self as cfg, Checker, Config, Mode, Script};
use crate::dataplane::DesiredTables;
use crate::health::fsm::Verdict;
use crate::health::probe::Outcome;
use crate::health::runtime::{first_verdict_bound, CheckResult};
use crate::policy::maintenance::{MaintenanceError, MaintenanceOp};
use crate::policy::{self, Evaluation, Maintenance, RealStatus, ServiceStatus};

/// Upper bounds (seconds) of the check duration histogram's buckets.
pub const DURATION_BUCKETS: [f64; 10] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0];

/// What the core knows about one checker.
#[derive(Debug, Clone)]
pub struct CheckerRecord {
    pub verdict: Verdict,
    /// When the verdict last changed (or the checker started).
    pub since: Instant,
    /// The last finished probe: its outcome, how long it took, when it ended, and whether
    /// its failure is being retried. None until the first verdict.
    pub last: Option<LastResult>,
    /// Until when the VIPs behind this checker wait for its first verdict.
    pub first_verdict_due: Instant,
}

#[derive(Debug, Clone)]
pub struct LastResult {
    pub outcome: Outcome,
    pub latency: Duration,
    pub at: Instant,
    pub retrying: bool,
}

/// Counts for the metrics: results by checker kind and result, durations by kind.
#[derive(Debug, Clone, Default)]
pub struct CheckStats {
    /// (checker kind, "success" | "failure") → count.
    pub results: HashMap<(&'static str, &'static str), u64>,
    /// checker kind → (bucket counts parallel to [`DURATION_BUCKETS`], count, sum).
    pub durations: HashMap<&'static str, (Vec<u64>, u64, f64)>,
}

/// Something that changed state and is worth a log line, a script or a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Real {
        service: cfg::ServiceKey,
        address: IpAddr,
        port: u16,
        up: bool,
        /// The checker that decided and its words, e.g. `TCP_CHECK 10.1.0.1:80: connect …`.
        reason: String,
        script: Option<Script>,
    },
    Quorum {
        service: cfg::ServiceKey,
        up: bool,
        live_weight: u64,
        quorum: u32,
        script: Option<Script>,
    },
}

/// What one recompute decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decisions {
    pub tables: DesiredTables,
    /// VIPs to announce (active-active mode; empty otherwise).
    pub announce: BTreeSet<IpAddr>,
    /// VIPs healthy enough to announce that wait for their checkers' first verdicts, each
    /// with the time it is announced anyway.
    pub awaiting_first_checks: BTreeMap<IpAddr, Instant>,
    pub transitions: Vec<Transition>,
}

/// The control loop's state of mind.
pub struct Core {
    config: Arc<Config>,
    records: HashMap<Checker, CheckerRecord>,
    evaluation: Evaluation,
    /// Set when a verdict or the configuration changed since the last recompute.
    dirty: bool,
    stats: CheckStats,
    /// What the operator took out of service; the runtime persists it.
    maintenance: Maintenance,
    /// The VIPs the last recompute announced: they never wait for first verdicts again.
    announced: BTreeSet<IpAddr>,
    /// The VIPs the last recompute held back, and until when.
    awaiting_first_checks: BTreeMap<IpAddr, Instant>,
}

impl Core {
    /// A core for `config`, starting with the maintenance state the runtime stored.
    pub fn new(config: Arc<Config>, maintenance: Maintenance, now: Instant) -> Self {
        let mut core = Core {
            config,
            records: HashMap::new(),
            evaluation: Evaluation::default(),
            dirty: true,
            stats: CheckStats::default(),
            maintenance,
            announced: BTreeSet::new(),
            awaiting_first_checks: BTreeMap::new(),
        };
        core.sync_records(now, &HashSet::new());
        core.evaluation = policy::evaluate(
            &core.config,
            |c| core.verdict(c),
            &HashMap::new(),
            &core.maintenance,
        );
        core
    }

    pub fn maintenance(&self) -> &Maintenance {
        &self.maintenance
    }

    /// The maintenance state `op` leads to, checked against the running configuration,
    /// or None when `op` changes nothing. Nothing changes here: the runtime stores the new
    /// state first and hands it to [`Core::set_maintenance`] only once it is stored, so
    /// what runs is never ahead of what a restart would find.
    pub fn plan_maintenance(
        &self,
        op: MaintenanceOp,
    ) -> Result<Option<Maintenance>, MaintenanceError> {
        let mut next = self.maintenance.clone();
        Ok(next.apply(&self.config, op)?.then_some(next))
    }

    pub fn set_maintenance(&mut self, maintenance: Maintenance) {
        if maintenance != self.maintenance {
            self.maintenance = maintenance;
            self.dirty = true;
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    pub fn mode(&self) -> Mode {
        self.config.mode()
    }

    pub fn evaluation(&self) -> &Evaluation {
        &self.evaluation
    }

    pub fn record(&self, checker: &Checker) -> Option<&CheckerRecord> {
        self.records.get(checker)
    }

    pub fn stats(&self) -> &CheckStats {
        &self.stats
    }

    /// Every distinct checker of the configuration, for the health runtime.
    pub fn checkers(&self) -> impl Iterator<Item = &Checker> {
        self.records.keys()
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// A new configuration: records of unchanged checkers stay (their verdicts with them),
    /// new checkers start from their initial verdict, removed ones are forgotten. A new
    /// checker of a real server that is down now starts down too, so editing a dead
    /// server's checker does not bring it back before a check succeeds. A new checker
    /// holds back a VIP that is not announced yet until its first verdict; an announced
    /// one stays.
    pub fn set_config(&mut self, config: Arc<Config>, now: Instant) {
        let down: HashSet<(cfg::ServiceKey, IpAddr, u16)> = self
            .alive_map()
            .into_iter()
            .filter(|(_, alive)| !alive)
            .map(|(key, _)| key)
            .collect();
        self.config = config;
        self.sync_records(now, &down);
        self.dirty = true;
    }

    fn sync_records(&mut self, now: Instant, down: &HashSet<(cfg::ServiceKey, IpAddr, u16)>) {
        let mut records = HashMap::new();
        for vs in &self.config.virtual_servers {
            for rs in &vs.real_servers {
                let was_down = down.contains(&(vs.key.clone(), rs.ip, rs.port));
                for checker in &rs.checkers {
                    if records.contains_key(checker) {
                        continue;
                    }
                    let record = self.records.remove(checker).unwrap_or(CheckerRecord {
                        verdict: Verdict::initial(checker.common().alpha || was_down),
                        since: now,
                        last: None,
                        first_verdict_due: now + self.first_checks_bound(checker),
                    });
                    records.insert(checker.clone(), record);
                }
            }
        }
        self.records = records;
    }

    /// How long the VIPs behind `checker` wait for its first verdict: the checker's own
    /// worst case, capped by `director { first_checks_timeout }`.
    fn first_checks_bound(&self, checker: &Checker) -> Duration {
        let own = first_verdict_bound(checker);
        self.config
            .director
            .first_checks_timeout
            .map_or(own, |cap| own.min(cap))
    }

    /// When a VIP held back for first verdicts is announced anyway: the runtime
    /// recomputes then, result or not.
    pub fn next_hold_deadline(&self) -> Option<Instant> {
        self.awaiting_first_checks.values().min().copied()
    }

    /// Takes one probe's result. Returns true when the checker's verdict changed (a
    /// recompute is then due). Results of checkers no longer configured are ignored.
    pub fn on_result(&mut self, result: CheckResult, now: Instant) -> bool {
        let kind = result.checker.type_name();
        let Some(record) = self.records.get_mut(&*result.checker) else {
            return false;
        };
        let success = !matches!(result.outcome, Outcome::Down(_));
        *self
            .stats
            .results
            .entry((kind, if success { "success" } else { "failure" }))
            .or_default() += 1;
        let seconds = result.latency.as_secs_f64();
        let (buckets, count, sum) = self
            .stats
            .durations
            .entry(kind)
            .or_insert_with(|| (vec![0; DURATION_BUCKETS.len()], 0, 0.0));
        for (bucket, bound) in buckets.iter_mut().zip(DURATION_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        *count += 1;
        *sum += seconds;

        let changed = record.verdict != result.step.verdict;
        if changed {
            record.verdict = result.step.verdict;
            record.since = now;
            self.dirty = true;
        }
        if record.last.is_none() && now < record.first_verdict_due {
            // A first verdict may release a VIP, even when it confirms the initial one.
            self.dirty = true;
        }
        record.last = Some(LastResult {
            outcome: result.outcome,
            latency: result.latency,
            at: now,
            retrying: result.step.retrying,
        });
        changed
    }

    fn verdict(&self, checker: &Checker) -> Verdict {
        self.records
            .get(checker)
            .map_or(Verdict::initial(checker.common().alpha), |r| r.verdict)
    }

    /// Turns the current records into decisions at `now`, and says what changed since the
    /// last recompute.
    pub fn recompute(&mut self, now: Instant) -> Decisions {
        let previous_quorum = self.evaluation.quorum_states(&self.config);
        let before = self.alive_map();
        let quorum_before: HashMap<cfg::ServiceKey, bool> = previous_quorum.clone();
        self.evaluation = policy::evaluate(
            &self.config,
            |c| self.verdict(c),
            &previous_quorum,
            &self.maintenance,
        );
        self.dirty = false;

        let mut transitions: Vec<Transition> = self
            .reals()
            .filter(|(vs, rs, real)| {
                before
                    .get(&(vs.key.clone(), rs.ip, rs.port))
                    .is_some_and(|&was| was != real.alive)
            })
            .map(|(vs, rs, real)| Transition::Real {
                service: vs.key.clone(),
                address: rs.ip,
                port: rs.port,
                up: real.alive,
                reason: self.reason(rs, real.alive),
                script: if real.alive {
                    rs.notify_up.as_deref().cloned()
                } else {
                    rs.notify_down.as_deref().cloned()
                },
            })
            .collect();
        for (vs, status) in self.services() {
            if quorum_before
                .get(&vs.key)
                .is_some_and(|&was| was != status.quorum)
            {
                transitions.push(Transition::Quorum {
                    service: vs.key.clone(),
                    up: status.quorum,
                    live_weight: status.live_weight,
                    quorum: vs.quorum,
                    script: if status.quorum {
                        vs.quorum_up.clone()
                    } else {
                        vs.quorum_down.clone()
                    },
                });
            }
        }
        let mut announce = if self.config.mode() == Mode::ActiveActive {
            policy::announced_vips(&self.config, &self.evaluation, &self.maintenance)
        } else {
            BTreeSet::new()
        };
        let awaiting =
            policy::first_checks::held_vips(&self.config, &announce, &self.announced, |checker| {
                self.records
                    .get(checker)
                    .filter(|r| r.last.is_none() && now < r.first_verdict_due)
                    .map(|r| r.first_verdict_due)
            });
        announce.retain(|vip| !awaiting.contains_key(vip));
        self.announced = announce.clone();
        self.awaiting_first_checks = awaiting.clone();
        Decisions {
            tables: policy::desired_tables(&self.config, &self.evaluation),
            announce,
            awaiting_first_checks: awaiting,
            transitions,
        }
    }

    /// Every virtual server with its evaluated status.
    pub fn services(&self) -> impl Iterator<Item = (&cfg::VirtualServer, &ServiceStatus)> {
        self.config
            .virtual_servers
            .iter()
            .zip(&self.evaluation.services)
    }

    /// Every real server with its virtual server and evaluated status.
    pub fn reals(
        &self,
    ) -> impl Iterator<Item = (&cfg::VirtualServer, &cfg::RealServer, &RealStatus)> {
        self.services().flat_map(|(vs, status)| {
            vs.real_servers
                .iter()
                .zip(&status.reals)
                .map(move |(rs, real)| (vs, rs, real))
        })
    }

    fn alive_map(&self) -> HashMap<(cfg::ServiceKey, IpAddr, u16), bool> {
        self.reals()
            .map(|(vs, rs, real)| ((vs.key.clone(), rs.ip, rs.port), real.alive))
            .collect()
    }

    /// Why a real server is now up or down: the first failing checker in its own words,
    /// or, when up, that every checker passes.
    fn reason(&self, rs: &cfg::RealServer, up: bool) -> String {
        if up {
            return match rs.checkers.len() {
                0 => "no checker".into(),
                1 => format!("{} succeeded", describe(&rs.checkers[0])),
                n => format!("all {n} checkers succeed"),
            };
        }
        let Some(checker) = rs.checkers.iter().find(|c| !self.verdict(c).up) else {
            return "a dynamic checker drove its weight to 0".into();
        };
        match self.records.get(checker).and_then(|r| r.last.as_ref()) {
            Some(LastResult {
                outcome: Outcome::Down(why),
                ..
            }) => format!("{}: {why}", describe(checker)),
            _ => format!("{}: alpha, no success yet", describe(checker)),
        }
    }

    /// keepalived's `omega`: at shutdown, the virtual servers that have it run their
    /// real servers' `notify_down` and their `quorum_down`, as if everything went down.
    pub fn omega_transitions(&self) -> Vec<Transition> {
        let mut transitions: Vec<Transition> = self
            .reals()
            .filter(|(vs, _, real)| vs.omega && real.alive)
            .map(|(vs, rs, _)| Transition::Real {
                service: vs.key.clone(),
                address: rs.ip,
                port: rs.port,
                up: false,
                reason: "shutting down (omega)".into(),
                script: rs.notify_down.as_deref().cloned(),
            })
            .collect();
        for (vs, status) in self.services().filter(|(vs, _)| vs.omega) {
            if status.quorum {
                transitions.push(Transition::Quorum {
                    service: vs.key.clone(),
                    up: false,
                    live_weight: 0,
                    quorum: vs.quorum,
                    script: vs.quorum_down.clone(),
                });
            }
        }
        transitions
    }
}

/// `TCP_CHECK 10.1.0.1:80`: a checker's kind and target, for logs and reasons.
pub fn describe(checker: &Checker) -> String {
    match checker {
        Checker::Misc { misc, .. } => format!("MISC_CHECK `{}`", misc.misc_path.command),
        Checker::File { file, .. } => format!("FILE_CHECK {}", file.path.display()),
        other => format!(
            "{} {}",
            other.type_name(),
            crate::health::probe::socket::target(other.common())
        ),
    }
}

#[cfg(test)]
mod tests;
