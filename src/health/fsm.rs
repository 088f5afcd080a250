//! One checker's verdict from its stream of probe results, with keepalived's semantics and
//! no I/O: the caller feeds results and the time, and asks when to probe next.
//!
//! The rules, from keepalived's check/*.c (`tcp_epilog`, http `epilog`, check_data.c):
//! - the checks are scattered over 1 s + a random share of `warmup` after the checker
//!   starts, so thousands of checks configured together never fire together; unlike
//!   keepalived, one extra probe runs first within 1 s + a share of at most
//!   [`FIRST_ROUND_SPREAD`], because a VIP is not announced before its checkers' first
//!   verdicts ([`crate::policy::first_checks`]) and a default `warmup` of 60 s would keep
//!   a restarted director out of service for a minute; the scattered slot keeps the steady
//!   schedule (the next probe is at that slot, or `delay_loop` later if sooner);
//! - a checker starts up, unless `alpha`, which starts it down until its first success;
//! - up → down after `retry + 1` consecutive failures, spaced by `delay_before_retry`;
//!   before the first result one failure is enough ("for non alpha mode, one failure is
//!   enough initially");
//! - down → up after one success (there is no "rise" count);
//! - after a decided result, the next probe is `delay_loop` later.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::model::CheckerCommon;

use super::probe::{Outcome, WeightChange};

/// keepalived starts the first check at least one second after the checker is created.
pub const FIRST_CHECK_DELAY: Duration = Duration::from_secs(1);

/// The first probes of checkers started together are spread over at most this much
/// (`warmup` if shorter): fast first verdicts, without every check of a large
/// configuration firing in the same instant.
pub const FIRST_ROUND_SPREAD: Duration = Duration::from_secs(2);

/// What a checker says about its real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub up: bool,
    /// Set by dynamic checkers (MISC_CHECK `misc_dynamic`, FILE_CHECK `dynamic`) while up.
    pub weight: Option<WeightChange>,
}

impl Verdict {
    pub const fn initial(alpha: bool) -> Self {
        Verdict {
            up: !alpha,
            weight: None,
        }
    }
}

/// The timers and counts of one checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub delay_loop: Duration,
    pub delay_before_retry: Duration,
    pub retry: u32,
    pub warmup: Duration,
    pub alpha: bool,
}

impl From<&CheckerCommon> for Timing {
    fn from(common: &CheckerCommon) -> Self {
        Timing {
            delay_loop: common.delay_loop,
            delay_before_retry: common.delay_before_retry,
            retry: common.retry,
            warmup: common.warmup,
            alpha: common.alpha,
        }
    }
}

/// One checker's state machine.
#[derive(Debug, Clone)]
pub struct CheckerFsm {
    timing: Timing,
    verdict: Verdict,
    /// Consecutive failures while up.
    failures: u32,
    /// No probe has finished yet.
    first: bool,
    next_probe: Instant,
    /// The checker's scattered place in the schedule (1 s + its share of `warmup`), where
    /// the probe after the early first one goes.
    steady_slot: Instant,
}

/// What one result changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The verdict after this result.
    pub verdict: Verdict,
    /// True when `verdict` differs from the one before (up/down or the dynamic weight).
    pub changed: bool,
    /// The failure is counted but the verdict waits for the retries.
    pub retrying: bool,
    pub next_probe: Instant,
}

impl CheckerFsm {
    /// A checker created at `now`; `scatter` in [0, 1) picks its share of the warmup.
    pub fn new(timing: Timing, now: Instant, scatter: f64) -> Self {
        let scatter = scatter.clamp(0.0, 1.0);
        let early = timing.warmup.min(FIRST_ROUND_SPREAD).mul_f64(scatter);
        CheckerFsm {
            timing,
            verdict: Verdict::initial(timing.alpha),
            failures: 0,
            first: true,
            next_probe: now + FIRST_CHECK_DELAY + early,
            steady_slot: now + FIRST_CHECK_DELAY + timing.warmup.mul_f64(scatter),
        }
    }

    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    pub fn next_probe(&self) -> Instant {
        self.next_probe
    }

    /// Feeds the result of the probe that finished at `now`.
    pub fn on_result(&mut self, outcome: &Outcome, now: Instant) -> Step {
        let before = self.verdict;
        let first = std::mem::replace(&mut self.first, false);
        let mut retrying = false;
        match outcome {
            Outcome::Up | Outcome::Weighted(_) => {
                self.failures = 0;
                self.verdict = Verdict {
                    up: true,
                    weight: match outcome {
                        Outcome::Weighted(change) => Some(*change),
                        _ => None,
                    },
                };
                self.next_probe = now + self.timing.delay_loop;
            }
            Outcome::Down(_) if !self.verdict.up => {
                self.next_probe = now + self.timing.delay_loop;
            }
            Outcome::Down(_) => {
                self.failures += 1;
                if first || self.failures > self.timing.retry {
                    self.failures = 0;
                    self.verdict = Verdict {
                        up: false,
                        weight: None,
                    };
                    self.next_probe = now + self.timing.delay_loop;
                } else {
                    retrying = true;
                    self.next_probe = now + self.timing.delay_before_retry;
                }
            }
        }
        if first && self.steady_slot > now {
            self.next_probe = self.next_probe.min(self.steady_slot);
        }
        Step {
            verdict: self.verdict,
            changed: self.verdict != before,
            retrying,
            next_probe: self.next_probe,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(retry: u32, alpha: bool) -> Timing {
        Timing {
            delay_loop: Duration::from_secs(10),
            delay_before_retry: Duration::from_secs(2),
            retry,
            warmup: Duration::from_secs(10),
            alpha,
        }
    }

    fn down() -> Outcome {
        Outcome::Down("refused".into())
    }

    #[test]
    fn first_probe_is_one_second_plus_a_share_of_the_first_round_spread() {
        let t0 = Instant::now();
        assert_eq!(
            CheckerFsm::new(timing(1, false), t0, 0.0).next_probe(),
            t0 + Duration::from_secs(1)
        );
        assert_eq!(
            CheckerFsm::new(timing(1, false), t0, 0.5).next_probe(),
            t0 + Duration::from_secs(2)
        );
        // Out-of-range scatter never pushes the first probe past 1 s + the spread.
        assert_eq!(
            CheckerFsm::new(timing(1, false), t0, 7.0).next_probe(),
            t0 + Duration::from_secs(3)
        );
        // A warmup shorter than the spread bounds it.
        let short = Timing {
            warmup: Duration::from_millis(500),
            ..timing(1, false)
        };
        assert_eq!(
            CheckerFsm::new(short, t0, 1.0).next_probe(),
            t0 + Duration::from_millis(1500)
        );
    }

    #[test]
    fn the_probe_after_the_early_one_keeps_the_scattered_slot() {
        let t0 = Instant::now();
        let mut fsm = CheckerFsm::new(timing(1, false), t0, 0.5);
        let step = fsm.on_result(&Outcome::Up, fsm.next_probe());
        // 1 s + half of the 10 s warmup, as keepalived would have run the first probe.
        assert_eq!(step.next_probe, t0 + Duration::from_secs(6));
        let step = fsm.on_result(&Outcome::Up, step.next_probe);
        assert_eq!(step.next_probe, t0 + Duration::from_secs(16));
        // A failing first probe is a verdict at once, and keeps the slot too.
        let mut fsm = CheckerFsm::new(timing(3, false), t0, 0.5);
        let step = fsm.on_result(&down(), fsm.next_probe());
        assert!(!step.verdict.up && !step.retrying);
        assert_eq!(step.next_probe, t0 + Duration::from_secs(6));
    }

    #[test]
    fn a_warmup_longer_than_delay_loop_never_delays_the_second_probe() {
        let t0 = Instant::now();
        let long = Timing {
            warmup: Duration::from_secs(100),
            ..timing(1, false)
        };
        let mut fsm = CheckerFsm::new(long, t0, 0.9);
        let first = fsm.next_probe();
        let step = fsm.on_result(&Outcome::Up, first);
        assert_eq!(step.next_probe, first + Duration::from_secs(10));
    }

    #[test]
    fn one_failure_is_enough_before_the_first_result() {
        let t0 = Instant::now();
        let mut fsm = CheckerFsm::new(timing(3, false), t0, 0.0);
        assert!(fsm.verdict().up);
        let step = fsm.on_result(&down(), t0 + Duration::from_secs(1));
        assert!(!step.verdict.up && step.changed && !step.retrying);
        assert_eq!(step.next_probe, t0 + Duration::from_secs(11));
    }

    #[test]
    fn down_after_retry_plus_one_failures_spaced_by_delay_before_retry() {
        let t0 = Instant::now();
        let mut fsm = CheckerFsm::new(timing(2, false), t0, 0.0);
        let mut now = t0 + Duration::from_secs(1);
        assert!(!fsm.on_result(&Outcome::Up, now).changed);
        now += Duration::from_secs(10);
        for attempt in 1..=2 {
            let step = fsm.on_result(&down(), now);
            assert!(step.verdict.up, "still up after failure {attempt}");
            assert!(step.retrying);
            assert_eq!(step.next_probe, now + Duration::from_secs(2));
            now = step.next_probe;
        }
        let step = fsm.on_result(&down(), now);
        assert!(!step.verdict.up && step.changed && !step.retrying);
        assert_eq!(step.next_probe, now + Duration::from_secs(10));
    }

    #[test]
    fn a_success_between_failures_resets_the_count() {
        let t0 = Instant::now();
        let mut fsm = CheckerFsm::new(timing(1, false), t0, 0.0);
        let now = t0 + Duration::from_secs(1);
        fsm.on_result(&Outcome::Up, now);
        assert!(fsm.on_result(&down(), now).verdict.up);
        fsm.on_result(&Outcome::Up, now);
        assert!(fsm.on_result(&down(), now).verdict.up);
        assert!(!fsm.on_result(&down(), now).verdict.up);
    }

    #[test]
    fn up_again_after_one_success() {
        let t0 = Instant::now();
        let mut fsm = CheckerFsm::new(timing(0, false), t0, 0.0);
        let now = t0 + Duration::from_secs(1);
        fsm.on_result(&Outcome::Up, now);
        assert!(fsm.on_result(&down(), now).changed);
        // Further failures while down change nothing and wait a full delay_loop.
        let step = fsm.on_result(&down(), now);
        assert!(!step.changed && !step.retrying);
        assert_eq!(step.next_probe, now + Duration::from_secs(10));
        let step = fsm.on_result(&Outcome::Up, now);
        assert!(step.verdict.up && step.changed);
    }

    #[test]
    fn alpha_starts_down_until_the_first_success() {
        let t0 = Instant::now();
        let mut fsm = CheckerFsm::new(timing(1, true), t0, 0.0);
        assert!(!fsm.verdict().up);
        let now = t0 + Duration::from_secs(1);
        assert!(!fsm.on_result(&down(), now).changed);
        let step = fsm.on_result(&Outcome::Up, now);
        assert!(step.verdict.up && step.changed);
    }

    #[test]
    fn a_dynamic_weight_is_part_of_the_verdict() {
        let t0 = Instant::now();
        let mut fsm = CheckerFsm::new(timing(1, false), t0, 0.0);
        let now = t0 + Duration::from_secs(1);
        let step = fsm.on_result(&Outcome::Weighted(WeightChange::Set(5)), now);
        assert!(step.changed);
        assert_eq!(step.verdict.weight, Some(WeightChange::Set(5)));
        assert!(
            !fsm.on_result(&Outcome::Weighted(WeightChange::Set(5)), now)
                .changed
        );
        assert!(
            fsm.on_result(&Outcome::Weighted(WeightChange::Set(7)), now)
                .changed
        );
        let step = fsm.on_result(&Outcome::Up, now);
        assert!(step.changed && step.verdict.weight.is_none());
    }
}
