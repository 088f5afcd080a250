//! Runs one configured script (MISC_CHECK's `misc_path`, and notify/quorum scripts) to its
//! end, bounded in time and in the output it keeps.
//!
//! The command string goes to `/bin/sh -c`, like a shell command line; the caller's
//! arguments follow as `"$@"`, so they reach the script as words and are never re-parsed
//! by the shell. (keepalived's `system_call` execs a plain `path args…` directly and
//! hands anything else to `system()`; through the shell both run the same.) As there,
//! IFS, LD_PRELOAD and LD_LIBRARY_PATH are removed from the script's environment.
//!
//! The script runs in a process group of its own, optionally as the configured user and
//! group, with stdin on /dev/null. Its stdout and stderr are read concurrently: the first
//! [`OUTPUT_LIMIT`] bytes of each are kept, the rest is read and dropped so the script
//! never blocks on a full pipe.
//!
//! On timeout the whole group gets SIGTERM, then SIGKILL [`KILL_GRACE`] later (keepalived's
//! `misc_check_child_thread` rule: a script that ended on our SIGTERM still gets its group
//! SIGKILLed, so children it left behind die too). The script is always reaped (by tokio's
//! orphan reaping if it is stuck in the kernel even after SIGKILL); if the caller drops the
//! future half-way, its group is SIGKILLed.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

use crate::config::model::{Script, ScriptUser};

/// Bytes kept from each of stdout and stderr.
pub const OUTPUT_LIMIT: usize = 4096;

/// Between SIGTERM and SIGKILL when a script outlives its timeout (keepalived's 2 s).
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// How long a SIGKILLed script may take to die before we stop waiting for it.
const REAP_GRACE: Duration = Duration::from_secs(10);

/// How long output is still read after the script exited: a child it left running in the
/// background may hold the pipes open forever.
const DRAIN_GRACE: Duration = Duration::from_millis(100);

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptStatus {
    /// The script exited by itself with this status.
    Exited(i32),
    /// The script died of this signal before its timeout (nobody here sent it).
    Signalled(i32),
    /// The timeout expired; the script's process group was terminated.
    TimedOut,
    /// The script could not be started (unknown user, fork failure, …) or waited for.
    Failed(String),
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptResult {
    pub status: ScriptStatus,
    /// The first [`OUTPUT_LIMIT`] bytes of stdout.
    pub stdout: Vec<u8>,
    /// The first [`OUTPUT_LIMIT`] bytes of stderr.
    pub stderr: Vec<u8>,
}

impl ScriptResult {
    /// The first non-empty line the script wrote, stderr first, at most `max` characters:
    /// a hint for a log line about a failure.
    pub fn excerpt(&self, max: usize) -> Option<String> {
        [&self.stderr, &self.stdout].into_iter().find_map(|bytes| {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .map(|line| {
                    let mut excerpt: String = line
                        .chars()
                        .map(|c| if c.is_control() { ' ' } else { c })
                        .take(max)
                        .collect();
                    if line.chars().count() > max {
                        excerpt.push('…');
                    }
                    excerpt
                })
        })
    }
}

/// Runs `script` with `args` appended, waits at most `timeout` (then terminates it as the
/// module doc says), and returns how it ended with its bounded output.
pub async fn run(script: &Script, args: &[String], timeout: Duration) -> ScriptResult {
    let mut command = Command::new("/bin/sh");
    if args.is_empty() {
        command.arg("-c").arg(&script.command);
    } else {
        // `sh -c 'CMD "$@"' sh ARG…`: the arguments are appended as words, unexpanded.
        command
            .arg("-c")
            .arg(format!("{} \"$@\"", script.command))
            .arg("sh")
            .args(args);
    }
    // keepalived's `system_call` drops these before exec: a field-splitting or loader
    // override in our environment must not change what the script runs.
    for variable in ["IFS", "LD_PRELOAD", "LD_LIBRARY_PATH"] {
        command.env_remove(variable);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(user) = &script.user {
        match resolve_user(user) {
            Ok((uid, gid)) => {
                command.uid(uid).gid(gid);
            }
            Err(err) => return failed(err),
        }
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => return failed(format!("cannot start /bin/sh: {err}")),
    };
    let Some(pgid) = child.id().and_then(|pid| i32::try_from(pid).ok()) else {
        return failed("the child has no process id".into());
    };
    let guard = GroupGuard { pgid: Some(pgid) };
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return failed("the child's output pipes are missing".into());
    };

    let mut out = Vec::new();
    let mut err = Vec::new();
    let status = {
        let reading = async {
            tokio::join!(collect(stdout, &mut out), collect(stderr, &mut err));
        };
        let waiting = supervise(&mut child, pgid, timeout);
        tokio::pin!(reading, waiting);
        let (status, read_all) = tokio::select! {
            status = &mut waiting => (status, false),
            () = &mut reading => ((&mut waiting).await, true),
        };
        if !read_all {
            // Whatever is already in the pipes; a background child keeping them open must
            // not hold us here.
            let _ = tokio::time::timeout(DRAIN_GRACE, &mut reading).await;
        }
        status
    };
    guard.disarm();
    ScriptResult {
        status,
        stdout: out,
        stderr: err,
    }
}

fn failed(reason: String) -> ScriptResult {
    ScriptResult {
        status: ScriptStatus::Failed(reason),
        stdout: Vec::new(),
        stderr: Vec::new(),
    }
}

/// Waits for the script; on timeout terminates its group and still reaps it.
async fn supervise(child: &mut Child, pgid: i32, timeout: Duration) -> ScriptStatus {
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => ended(status),
        Ok(Err(err)) => ScriptStatus::Failed(format!("cannot wait for the script: {err}")),
        Err(_) => {
            signal_group(pgid, libc::SIGTERM);
            let _ = tokio::time::timeout(KILL_GRACE, child.wait()).await;
            // As keepalived: SIGKILL the group whether or not the leader obeyed SIGTERM,
            // so nothing the script started survives it.
            signal_group(pgid, libc::SIGKILL);
            // A process stuck in the kernel (uninterruptible I/O) can outlast even SIGKILL;
            // after keepalived's 10 s more, the child is left to tokio's orphan reaping
            // (`kill_on_drop`) rather than holding the check forever.
            let _ = tokio::time::timeout(REAP_GRACE, child.wait()).await;
            ScriptStatus::TimedOut
        }
    }
}

fn ended(status: ExitStatus) -> ScriptStatus {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ScriptStatus::Exited(code),
        (None, Some(signal)) => ScriptStatus::Signalled(signal),
        (None, None) => ScriptStatus::Failed(format!("unexpected wait status {status}")),
    }
}

/// Reads `pipe` to its end, keeping the first [`OUTPUT_LIMIT`] bytes in `kept`.
async fn collect(mut pipe: impl AsyncRead + Unpin, kept: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
}

/// SIGKILLs the script's group if `run` is dropped before it finished.
struct GroupGuard {
    pgid: Option<i32>,
}

impl GroupGuard {
    fn disarm(mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            signal_group(pgid, libc::SIGKILL);
        }
    }
}

/// `kill(-pgid, signal)`. Errors (ESRCH: the group is already gone) are ignored: there is
/// nothing left to signal.
#[allow(unsafe_code)]
fn signal_group(pgid: i32, signal: i32) {
    // Only ever a group we created (`process_group(0)` makes the child's pid its pgid);
    // never 0 or 1, which would hit our own group or every process.
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) takes two integers, touches no memory of ours and has no other
    // precondition; a stale pgid can at worst make it fail with ESRCH.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// The uid and gid for `user`: from /etc/passwd, and /etc/group when a group is named
/// (otherwise the user's primary group), as keepalived's `set_script_uid_gid` does with
/// getpwnam/getgrnam.
fn resolve_user(user: &ScriptUser) -> Result<(u32, u32), String> {
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|err| format!("cannot read /etc/passwd: {err}"))?;
    let (uid, primary_gid) =
        lookup_passwd(&passwd, &user.user).ok_or_else(|| format!("unknown user {}", user.user))?;
    let gid = match &user.group {
        None => primary_gid,
        Some(group) => {
            let groups = std::fs::read_to_string("/etc/group")
                .map_err(|err| format!("cannot read /etc/group: {err}"))?;
            lookup_group(&groups, group).ok_or_else(|| format!("unknown group {group}"))?
        }
    };
    Ok((uid, gid))
}

/// `name:password:uid:gid:…` → (uid, gid).
fn lookup_passwd(passwd: &str, name: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

/// `name:password:gid:members` → gid.
fn lookup_group(groups: &str, name: &str) -> Option<u32> {
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        fields.next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(command: &str) -> Script {
        Script {
            command: command.into(),
            user: None,
        }
    }

    #[tokio::test]
    async fn exit_status_and_output() {
        let result = run(
            &script("echo out; echo err >&2; exit 3"),
            &[],
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(result.status, ScriptStatus::Exited(3));
        assert_eq!(result.stdout, b"out\n");
        assert_eq!(result.stderr, b"err\n");
        assert_eq!(result.excerpt(80).as_deref(), Some("err"));
    }

    #[tokio::test]
    async fn arguments_are_appended_as_words() {
        let args = vec!["two words".to_string(), "$HOME;x".to_string()];
        let result = run(&script("printf '[%s]'"), &args, Duration::from_secs(10)).await;
        assert_eq!(result.status, ScriptStatus::Exited(0));
        assert_eq!(result.stdout, b"[two words][$HOME;x]");
    }

    #[tokio::test]
    async fn killed_by_a_signal_of_its_own() {
        let result = run(&script("kill -USR1 $$"), &[], Duration::from_secs(10)).await;
        assert_eq!(result.status, ScriptStatus::Signalled(libc::SIGUSR1));
    }

    #[tokio::test]
    async fn a_background_child_holding_the_pipes_does_not_hold_the_run() {
        let result = run(
            &script("sleep 30 & echo $$; exit 0"),
            &[],
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(result.status, ScriptStatus::Exited(0));
        // The background child outlives a script that exited by itself (as in keepalived);
        // stop it here through the script's process group.
        let pgid: i32 = String::from_utf8_lossy(&result.stdout)
            .trim()
            .parse()
            .expect("the script prints its pid, which is its group's id");
        signal_group(pgid, libc::SIGKILL);
    }

    #[tokio::test]
    async fn runs_as_the_configured_user() {
        let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
        let Some((uid, gid)) = lookup_passwd(&passwd, "nobody") else {
            return;
        };
        if !std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout == b"0\n")
        {
            // Only root can switch users.
            return;
        }
        let script = Script {
            command: "echo $(id -u):$(id -g)".into(),
            user: Some(Box::new(ScriptUser {
                user: "nobody".into(),
                group: None,
            })),
        };
        let result = run(&script, &[], Duration::from_secs(10)).await;
        assert_eq!(result.status, ScriptStatus::Exited(0));
        assert_eq!(
            String::from_utf8_lossy(&result.stdout),
            format!("{uid}:{gid}\n")
        );
    }

    #[tokio::test]
    async fn unknown_user_fails_to_start() {
        let script = Script {
            command: "exit 0".into(),
            user: Some(Box::new(ScriptUser {
                user: "no-such-user-here".into(),
                group: None,
            })),
        };
        let result = run(&script, &[], Duration::from_secs(10)).await;
        assert!(
            matches!(&result.status, ScriptStatus::Failed(reason) if reason.contains("no-such-user-here")),
            "{result:?}"
        );
    }

    #[test]
    fn passwd_and_group_lookups() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/bin/false\n";
        assert_eq!(lookup_passwd(passwd, "nobody"), Some((65534, 65534)));
        assert_eq!(lookup_passwd(passwd, "nob"), None);
        let groups = "root:x:0:\nnogroup:x:65534:\nbroken:x:notanumber:\n";
        assert_eq!(lookup_group(groups, "nogroup"), Some(65534));
        assert_eq!(lookup_group(groups, "broken"), None);
    }

    #[test]
    fn excerpt_is_one_bounded_line() {
        let result = ScriptResult {
            status: ScriptStatus::Exited(1),
            stdout: b"\n  first line is long enough\nsecond\n".to_vec(),
            stderr: Vec::new(),
        };
        assert_eq!(result.excerpt(5).as_deref(), Some("first…"));
    }
}
