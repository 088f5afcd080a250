//! `Daemon`: one process run under `ip netns exec`, with its output in a log file, stopped
//! (SIGTERM, then SIGKILL after a bound) and reaped on drop; its log is printed when the
//! test fails.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::netns::NetNs;

/// How long a daemon gets to exit after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Lines of a log printed when a test fails.
const LOG_TAIL_LINES: usize = 150;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
    Hup,
    Int,
    Usr1,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Term => "TERM",
            Signal::Kill => "KILL",
            Signal::Hup => "HUP",
            Signal::Int => "INT",
            Signal::Usr1 => "USR1",
        }
    }
}

pub struct Daemon {
    name: String,
    ns: String,
    argv: Vec<String>,
    log: PathBuf,
    child: Child,
    /// Keep a pipe to the child's stdin (for programs driven by commands on stdin).
    piped_stdin: bool,
    exit: Option<ExitStatus>,
    started: Instant,
}

impl Daemon {
    /// Spawns `argv` inside `ns` (in its own process group, so a terminal's Ctrl-C reaches
    /// only the test runner); stdout and stderr are appended to `{log_dir}/{name}.log`.
    pub fn spawn<S: AsRef<str>>(ns: &NetNs, name: &str, log_dir: &Path, argv: &[S]) -> Daemon {
        Daemon::launch(ns, name, log_dir, argv, false)
    }

    /// Like [`Daemon::spawn`], with a pipe to the process's stdin for [`Daemon::send_line`].
    pub fn spawn_with_stdin<S: AsRef<str>>(
        ns: &NetNs,
        name: &str,
        log_dir: &Path,
        argv: &[S],
    ) -> Daemon {
        Daemon::launch(ns, name, log_dir, argv, true)
    }

    fn launch<S: AsRef<str>>(
        ns: &NetNs,
        name: &str,
        log_dir: &Path,
        argv: &[S],
        piped_stdin: bool,
    ) -> Daemon {
        let log = log_dir.join(format!("{name}.log"));
        let argv: Vec<String> = argv.iter().map(|s| s.as_ref().to_string()).collect();
        let (child, started) = start(ns.name(), &argv, &log, piped_stdin);
        Daemon {
            name: name.to_string(),
            ns: ns.name().to_string(),
            argv,
            log,
            child,
            piped_stdin,
            exit: None,
            started,
        }
    }

    /// Writes one line to the process's stdin (spawned with [`Daemon::spawn_with_stdin`]).
    pub fn send_line(&mut self, line: &str) {
        let name = self.name.clone();
        let stdin = self
            .child
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("{name}: no stdin pipe"));
        writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .unwrap_or_else(|e| panic!("{name}: write to stdin: {e}"));
    }

    /// Replaces the command line used by the next [`Daemon::restart`].
    pub fn set_argv<S: AsRef<str>>(&mut self, argv: &[S]) {
        self.argv = argv.iter().map(|s| s.as_ref().to_string()).collect();
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// When the current process was spawned.
    pub fn started(&self) -> Instant {
        self.started
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal (through kill(1): the workspace forbids unsafe, libc::kill needs it).
    pub fn signal(&mut self, signal: Signal) {
        if !self.is_running() {
            panic!(
                "{}: cannot send SIG{}: already exited ({:?})",
                self.name,
                signal.name(),
                self.exit
            );
        }
        let out = Command::new("kill")
            .args(["-s", signal.name(), &self.pid().to_string()])
            .output()
            .unwrap_or_else(|e| panic!("kill: {e}"));
        assert!(
            out.status.success(),
            "kill -s {} {} ({}): {}",
            signal.name(),
            self.pid(),
            self.name,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }

    /// Whether the process still runs, without reaping it (usable through `&self`): its
    /// /proc entry exists and it is not a zombie.
    pub fn alive(&self) -> bool {
        if self.exit.is_some() {
            return false;
        }
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid())) {
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
            Err(_) => false,
        }
    }

    /// Whether the process still runs (reaps it if it has exited).
    pub fn is_running(&mut self) -> bool {
        self.try_reap().is_none()
    }

    /// The exit status if the process has exited.
    pub fn try_reap(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(status);
            }
        }
        self.exit
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_reap() {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} (pid {}) still running {timeout:?} after the wait began",
                    self.name,
                    self.pid()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited after [`STOP_GRACE`]; reaps it.
    pub fn stop(&mut self) -> ExitStatus {
        if let Some(status) = self.try_reap() {
            return status;
        }
        self.signal(Signal::Term);
        match self.wait_exit(STOP_GRACE) {
            Ok(status) => status,
            Err(_) => {
                eprintln!(
                    "{}: no exit {STOP_GRACE:?} after SIGTERM, killing",
                    self.name
                );
                self.kill()
            }
        }
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.try_reap() {
            return status;
        }
        let _ = self.child.kill();
        let status = self
            .child
            .wait()
            .unwrap_or_else(|e| panic!("wait {}: {e}", self.name));
        self.exit = Some(status);
        status
    }

    /// Starts the same command again (after it exited or was stopped), appending to the
    /// same log after a marker line.
    pub fn restart(&mut self) {
        if self.is_running() {
            self.stop();
        }
        let (child, started) = start(&self.ns, &self.argv, &self.log, self.piped_stdin);
        self.child = child;
        self.exit = None;
        self.started = started;
    }

    fn print_log_tail(&self) {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(LOG_TAIL_LINES);
        eprintln!(
            "----- {} ({} in {}), last {} of {} lines of {} -----",
            self.name,
            self.argv.join(" "),
            self.ns,
            lines.len() - from,
            lines.len(),
            self.log.display()
        );
        for line in &lines[from..] {
            eprintln!("{line}");
        }
        eprintln!("----- end of {} -----", self.name);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.try_reap().is_none() {
            let _ = Command::new("kill")
                .args(["-s", "TERM", &self.pid().to_string()])
                .output();
            if self.wait_exit(STOP_GRACE).is_err() {
                eprintln!(
                    "{}: no exit {STOP_GRACE:?} after SIGTERM, killing",
                    self.name
                );
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        if std::thread::panicking() {
            self.print_log_tail();
        }
    }
}

fn start(ns: &str, argv: &[String], log: &Path, piped_stdin: bool) -> (Child, Instant) {
    let mut file = open_log(log);
    let _ = writeln!(
        file,
        "===== harness: starting `{}` in {ns} =====",
        argv.join(" ")
    );
    let stderr = file
        .try_clone()
        .unwrap_or_else(|e| panic!("dup {}: {e}", log.display()));
    let started = Instant::now();
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(argv)
        .stdin(if piped_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(file)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {argv:?} in {ns}: {e}"));
    (child, started)
}

fn open_log(log: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap_or_else(|e| panic!("open {}: {e}", log.display()))
}
