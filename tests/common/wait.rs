//! Polling waits on observable state. A check returns `Ok(value)` when the condition holds
//! and `Err(observation)` when it does not; on timeout the error says what was last seen,
//! so a failing test explains itself instead of panicking deep inside a loop.

use std::fmt;
use std::time::{Duration, Instant};

/// What a successful wait saw.
#[derive(Debug)]
pub struct Waited<T> {
    /// The value of the last (successful) check.
    pub value: T,
    /// From the start of the wait until the condition became true (for `wait_stable`: the
    /// start of the run that lasted `hold`).
    pub after: Duration,
}

/// A wait that ran out of time.
pub struct WaitError {
    pub kind: &'static str,
    pub timeout: Duration,
    pub polls: u64,
    /// The last observation when the condition was false (or "never checked").
    pub last: String,
    /// For `wait_stable`: the longest time the condition held in one run.
    pub longest_hold: Option<Duration>,
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} timed out after {:.1?} ({} polls)",
            self.kind, self.timeout, self.polls
        )?;
        if let Some(hold) = self.longest_hold {
            write!(f, ", longest run holding: {hold:.1?}")?;
        }
        write!(f, "; last observed: {}", self.last)
    }
}

// Debug = Display so that `.expect("what")` prints a readable message.
impl fmt::Debug for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for WaitError {}

/// Polls `check` every `poll` until it returns `Ok`, or fails after `timeout`.
pub fn wait_until<T, F>(
    timeout: Duration,
    poll: Duration,
    mut check: F,
) -> Result<Waited<T>, WaitError>
where
    F: FnMut() -> Result<T, String>,
{
    let start = Instant::now();
    let mut polls = 0;
    loop {
        polls += 1;
        let last = match check() {
            Ok(value) => {
                return Ok(Waited {
                    value,
                    after: start.elapsed(),
                })
            }
            Err(seen) => seen,
        };
        if start.elapsed() >= timeout {
            return Err(WaitError {
                kind: "wait_until",
                timeout,
                polls,
                last,
                longest_hold: None,
            });
        }
        std::thread::sleep(poll);
    }
}

/// Polls `check` until it has returned `Ok` continuously for `hold` (every poll in between
/// `Ok` too), or fails after `timeout`. Use this rather than `wait_until` for anything that
/// can flap: routes right after a restart, adjacencies forming.
pub fn wait_stable<T, F>(
    timeout: Duration,
    hold: Duration,
    mut check: F,
) -> Result<Waited<T>, WaitError>
where
    F: FnMut() -> Result<T, String>,
{
    let poll = (hold / 20).clamp(Duration::from_millis(20), Duration::from_millis(100));
    let start = Instant::now();
    let mut polls = 0;
    let mut last = String::from("never false");
    let mut run_start: Option<Instant> = None;
    let mut longest = Duration::ZERO;
    loop {
        polls += 1;
        let now = Instant::now();
        match check() {
            Ok(value) => {
                let since = *run_start.get_or_insert(now);
                let held = now - since;
                longest = longest.max(held);
                if held >= hold {
                    return Ok(Waited {
                        value,
                        after: since - start,
                    });
                }
            }
            Err(seen) => {
                last = seen;
                run_start = None;
            }
        }
        if start.elapsed() >= timeout {
            return Err(WaitError {
                kind: "wait_stable",
                timeout,
                polls,
                last,
                longest_hold: Some(longest),
            });
        }
        std::thread::sleep(poll);
    }
}

/// Checks that `check` stays `Ok` for the whole of `hold` (no waiting for it to become
/// true first): "the adjacency stays Full", "still exactly one nexthop".
pub fn hold_for<T, F>(hold: Duration, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Result<T, String>,
{
    let poll = (hold / 20).clamp(Duration::from_millis(20), Duration::from_millis(100));
    let start = Instant::now();
    loop {
        let value = check().map_err(|seen| {
            format!(
                "condition broke {:.1?} into a {hold:?} hold: {seen}",
                start.elapsed()
            )
        })?;
        if start.elapsed() >= hold {
            return Ok(value);
        }
        std::thread::sleep(poll);
    }
}
