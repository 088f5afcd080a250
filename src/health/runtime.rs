//! The checkers' tasks: one tokio task per distinct checker, reporting every result.
//!
//! Checkers are keyed by their whole configuration ([`Checker`] is `Eq + Hash`), so a
//! check that several virtual servers share for one real server runs once, and a reload
//! keeps the task — and the verdict, retry count and schedule — of every checker whose
//! configuration did not change. A changed checker is a new key: its task starts afresh
//! (with warmup) and the old one stops. Each task owns its [`CheckerFsm`]; a slow probe
//! delays only its own checker.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::model::Checker;

use super::fsm::{CheckerFsm, Step, Timing, FIRST_CHECK_DELAY, FIRST_ROUND_SPREAD};
use super::probe::{self, Outcome, ProbeEnv};

/// A probe that overruns its own timeouts by this much is cut off and counted as failed.
const BUDGET_SLACK: Duration = Duration::from_secs(3);
/// Time for a new checker's task to start and for its result to reach the control loop,
/// which the first-verdict bound allows on top of the checker's own timers.
const DELIVERY_SLACK: Duration = Duration::from_secs(1);

/// One finished probe, as the control loop receives it.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub checker: Arc<Checker>,
    pub outcome: Outcome,
    pub latency: Duration,
    pub step: Step,
}

/// The running checkers.
pub struct HealthRuntime<E> {
    tasks: HashMap<Arc<Checker>, JoinHandle<()>>,
    env: Arc<ProbeEnv>,
    results: mpsc::UnboundedSender<E>,
}

impl<E: From<CheckResult> + Send + 'static> HealthRuntime<E> {
    pub fn new(env: ProbeEnv, results: mpsc::UnboundedSender<E>) -> Self {
        HealthRuntime {
            tasks: HashMap::new(),
            env: Arc::new(env),
            results,
        }
    }

    /// Runs exactly `wanted`: unchanged checkers keep running, new ones start, the rest
    /// stop. Returns how many started and stopped.
    pub fn reconcile<'a>(
        &mut self,
        wanted: impl IntoIterator<Item = &'a Checker>,
    ) -> (usize, usize) {
        let mut keep: HashMap<Arc<Checker>, JoinHandle<()>> = HashMap::new();
        let mut started = 0;
        for checker in wanted {
            if keep.contains_key(checker) {
                continue;
            }
            if let Some((key, task)) = self.tasks.remove_entry(checker) {
                keep.insert(key, task);
                continue;
            }
            let key = Arc::new(checker.clone());
            let task = tokio::spawn(run_checker(
                key.clone(),
                self.env.clone(),
                self.results.clone(),
                rand::random::<f64>(),
            ));
            keep.insert(key, task);
            started += 1;
        }
        let stopped = self.tasks.len();
        for task in self.tasks.values() {
            task.abort();
        }
        self.tasks = keep;
        (started, stopped)
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl<E> Drop for HealthRuntime<E> {
    fn drop(&mut self) {
        for task in self.tasks.values() {
            task.abort();
        }
    }
}

/// The latest a new checker's first result can arrive: its first probe starts at most
/// 1 s + `warmup` (at most [`FIRST_ROUND_SPREAD`]) after the checker, and is cut off after
/// its budget; 1 s more for the task to start and the result to travel. (The first failure
/// is a verdict at once: retries only apply to a checker that has been up.)
pub fn first_verdict_bound(checker: &Checker) -> Duration {
    FIRST_CHECK_DELAY
        + checker.common().warmup.min(FIRST_ROUND_SPREAD)
        + budget(checker)
        + DELIVERY_SLACK
}

/// The longest one probe of `checker` may take before it is cut off.
fn budget(checker: &Checker) -> Duration {
    match checker {
        // TERM at misc_timeout, KILL two seconds later, then the reaping.
        Checker::Misc { misc, .. } => misc.misc_timeout + BUDGET_SLACK,
        other => other.common().connect_timeout * 2 + BUDGET_SLACK,
    }
}

async fn run_checker<E: From<CheckResult>>(
    checker: Arc<Checker>,
    env: Arc<ProbeEnv>,
    results: mpsc::UnboundedSender<E>,
    scatter: f64,
) {
    probe::prepare(&checker);
    let mut fsm = CheckerFsm::new(Timing::from(checker.common()), Instant::now(), scatter);
    let budget = budget(&checker);
    loop {
        tokio::time::sleep_until(fsm.next_probe()).await;
        let started = Instant::now();
        // Boxed: the probe futures are large (TLS, HTTP buffers), and a checker's task
        // spends nearly all its life asleep; unboxed, every task would carry ~10 KiB.
        let probing = Box::pin(probe::probe(&checker, &env));
        let outcome = match tokio::time::timeout(budget, probing).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Down(format!(
                "the probe overran its {} budget and was cut off",
                probe::socket::human(budget)
            )),
        };
        let finished = Instant::now();
        let step = fsm.on_result(&outcome, finished);
        let result = CheckResult {
            checker: checker.clone(),
            outcome,
            latency: finished - started,
            step,
        };
        if results.send(result.into()).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::config::model::CheckerCommon;

    #[test]
    fn a_first_verdict_comes_within_the_first_delay_the_warmup_and_one_budget() {
        let common = |warmup: u64| CheckerCommon {
            connect_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            connect_port: 80,
            bindto: None,
            bind_if: None,
            bind_port: None,
            fwmark: None,
            connect_timeout: Duration::from_secs(5),
            retry: 3,
            delay_before_retry: Duration::from_secs(1),
            warmup: Duration::from_secs(warmup),
            delay_loop: Duration::from_secs(60),
            alpha: false,
            log_all_failures: false,
        };
        // Retries play no part: the first failure is a verdict at once.
        assert_eq!(
            first_verdict_bound(&Checker::Tcp { common: common(0) }),
            Duration::from_secs(1 + 5 * 2 + 3 + 1)
        );
        // keepalived's default warmup (= delay_loop 60) only scatters the steady schedule:
        // the first probe comes within the first round's 2 s.
        assert_eq!(
            first_verdict_bound(&Checker::Tcp { common: common(60) }),
            Duration::from_secs(1 + 2 + 5 * 2 + 3 + 1)
        );
    }

    /// A sleeping checker's task must stay small: tens of thousands of them run at once.
    #[test]
    fn an_idle_checker_task_is_small() {
        let checker = Arc::new(Checker::Tcp {
            common: CheckerCommon {
                connect_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                connect_port: 80,
                bindto: None,
                bind_if: None,
                bind_port: None,
                fwmark: None,
                connect_timeout: Duration::from_secs(1),
                retry: 1,
                delay_before_retry: Duration::from_secs(1),
                warmup: Duration::from_secs(1),
                delay_loop: Duration::from_secs(1),
                alpha: false,
                log_all_failures: false,
            },
        });
        let (results, _) = mpsc::unbounded_channel::<CheckResult>();
        let task = run_checker(checker, Arc::new(ProbeEnv::default()), results, 0.5);
        assert!(
            std::mem::size_of_val(&task) < 1024,
            "a checker task's future takes {} bytes",
            std::mem::size_of_val(&task)
        );
    }
}
