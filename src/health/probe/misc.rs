//! MISC_CHECK: runs `misc_path` through [`crate::script`] within `misc_timeout` and judges
//! its exit status as keepalived's `misc_check_child_thread` does:
//!
//! - 0: up (also with `misc_dynamic`: the weight is left alone);
//! - 2..=255 with `misc_dynamic`: up, weight set to status − 2 (0..=253). This is
//!   keepalived's code; its man page's "exit 10 sets weight 10" is not what it does;
//! - any other status (1 always; 2..=255 without `misc_dynamic`): down;
//! - killed by a signal, or timed out (the group gets SIGTERM, then SIGKILL 2 s later):
//!   down.
//!
//! A down reason carries the first line the script wrote, if any, bounded.

use crate::config::model::{CheckerCommon, MiscCheck};
use crate::script::{self, ScriptStatus};

use super::socket::human;
use super::{Outcome, WeightChange};

/// Characters of script output quoted in a down reason.
const EXCERPT_CHARS: usize = 120;

pub async fn probe(_common: &CheckerCommon, check: &MiscCheck) -> Outcome {
    let result = script::run(&check.misc_path, &[], check.misc_timeout).await;
    let verdict = match &result.status {
        ScriptStatus::Exited(0) => return Outcome::Up,
        ScriptStatus::Exited(status) if check.misc_dynamic && (2..=255).contains(status) => {
            // In range by the guard, so the subtraction cannot go below zero.
            return Outcome::Weighted(WeightChange::Set(status.unsigned_abs() - 2));
        }
        ScriptStatus::Exited(status) => format!("exited with status {status}"),
        ScriptStatus::Signalled(signal) => format!("killed by signal {signal}"),
        ScriptStatus::TimedOut => format!("timed out after {}, killed", human(check.misc_timeout)),
        ScriptStatus::Failed(reason) => format!("could not run: {reason}"),
    };
    Outcome::Down(match result.excerpt(EXCERPT_CHARS) {
        Some(line) => format!("{verdict}: {line}"),
        None => verdict,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::config::model::Script;
    use crate::health::probe::udp::local_common;

    fn misc(command: &str, dynamic: bool, timeout: Duration) -> MiscCheck {
        MiscCheck {
            misc_path: Script {
                command: command.into(),
                user: None,
            },
            misc_timeout: timeout,
            misc_dynamic: dynamic,
        }
    }

    async fn outcome(command: &str, dynamic: bool) -> Outcome {
        let common = local_common("127.0.0.1:1".parse().expect("address"));
        probe(&common, &misc(command, dynamic, Duration::from_secs(10))).await
    }

    #[tokio::test]
    async fn exit_0_is_up() {
        assert_eq!(outcome("exit 0", false).await, Outcome::Up);
        assert_eq!(outcome("exit 0", true).await, Outcome::Up);
    }

    #[tokio::test]
    async fn exit_1_is_down_even_when_dynamic() {
        assert_eq!(
            outcome("echo 'backend says no' >&2; exit 1", true).await,
            Outcome::Down("exited with status 1: backend says no".into())
        );
    }

    #[tokio::test]
    async fn dynamic_exit_sets_weight_to_status_minus_2() {
        assert_eq!(
            outcome("exit 2", true).await,
            Outcome::Weighted(WeightChange::Set(0))
        );
        assert_eq!(
            outcome("exit 7", true).await,
            Outcome::Weighted(WeightChange::Set(5))
        );
        assert_eq!(
            outcome("exit 255", true).await,
            Outcome::Weighted(WeightChange::Set(253))
        );
    }

    #[tokio::test]
    async fn non_zero_without_dynamic_is_down() {
        assert_eq!(
            outcome("exit 7", false).await,
            Outcome::Down("exited with status 7".into())
        );
    }

    #[tokio::test]
    async fn killed_by_a_signal_is_down() {
        assert_eq!(
            outcome("kill -KILL $$", false).await,
            Outcome::Down(format!("killed by signal {}", libc::SIGKILL))
        );
    }

    #[tokio::test]
    async fn huge_output_is_bounded_and_the_script_still_finishes() {
        let outcome = outcome(
            "head -c 10000000 /dev/zero | tr '\\0' x; echo; exit 1",
            false,
        )
        .await;
        let Outcome::Down(reason) = outcome else {
            panic!("expected down, got {outcome:?}");
        };
        assert!(reason.starts_with("exited with status 1: xxx"), "{reason}");
        assert!(reason.chars().count() < 200, "{reason}");
    }

    /// Whether `pid` is a live process: a zombie waiting for a reaper that may never come
    /// (a container's init) counts as gone.
    fn alive(pid: &str) -> bool {
        std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")).is_ok_and(|stat| {
            // `pid (comm) S …`: the state follows the last ')'.
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
    }

    #[tokio::test]
    async fn a_hanging_script_and_its_children_are_killed() {
        let dir = std::env::temp_dir().join(format!("director-misc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let pids = dir.join("pids");
        // The shell starts a grandchild that ignores SIGTERM, records both pids, then hangs.
        let command = format!(
            "sh -c 'trap \"\" TERM; sleep 100' & echo \"$$ $!\" > {}; sleep 100",
            pids.display()
        );
        let common = local_common("127.0.0.1:1".parse().expect("address"));
        let outcome = probe(&common, &misc(&command, false, Duration::from_secs(1))).await;
        assert_eq!(outcome, Outcome::Down("timed out after 1s, killed".into()));

        let written = std::fs::read_to_string(&pids).expect("the script wrote its pids");
        let (shell, grandchild) = written.trim().split_once(' ').expect("two pids");
        // The shell was reaped by the runner; the grandchild, orphaned and SIGKILLed, is
        // left to init, so give the kill a moment to land.
        assert!(!alive(shell), "shell {shell} still exists");
        for _ in 0..50 {
            if !alive(grandchild) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!alive(grandchild), "grandchild {grandchild} still exists");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
