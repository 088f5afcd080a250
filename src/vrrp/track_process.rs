//! VRRP `track_process`: whether enough processes run a command, as keepalived's
//! track_process.c decides it.
//!
//! Watching: keepalived walks /proc once and then follows the kernel's process
//! connector (netlink); director walks /proc every [`POLL`] (one read of
//! /proc/PID/stat per process, and of /proc/PID/cmdline only when a tracked process
//! needs its parameters). A process that lives less than that may go unseen, and a
//! change is seen up to [`POLL`] late. Zombies do not count (as in keepalived).
//!
//! Matching ([`matches`]): without parameters and without `full_command`, the process
//! name (/proc/PID/comm, which the kernel cuts to 15 bytes) equals `process` cut the
//! same way. Otherwise the first word of the command line equals `process`, and
//! configured parameters are compared by `param_match`: exactly (default), `partial`
//! (the first ones match, more may follow) or `initial` (as partial, the last one may
//! be a prefix); `param_match` with no parameters means "no parameters".
//!
//! Quorum ([`Quorum`]): up while `quorum <= count <= quorum_max`; a change must last
//! `fork_delay` (gained) or `terminate_delay` (lost) before it counts. The effect on
//! the instance is that of a vrrp_script (vrrp/mod.rs `track_adjustment`).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::model::{ParamMatch, VrrpTrackProcess};

/// How often /proc is walked.
pub const POLL: Duration = Duration::from_secs(1);

/// The kernel's TASK_COMM_LEN − 1: the longest process name in /proc/PID/comm.
const COMM_LEN: usize = 15;

/// One running (non-zombie) process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    pub comm: String,
    /// The command line's words; read only when asked for.
    pub cmdline: Option<Vec<String>>,
}

/// Whether any of `tracked` needs command lines.
pub fn needs_cmdline(tracked: &[VrrpTrackProcess]) -> bool {
    tracked.iter().any(|t| t.full_command || t.params.is_some())
}

/// The processes under `root` (normally /proc). A process that exits while it is read
/// is skipped.
pub fn scan(root: &Path, cmdline: bool) -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let base = root.join(pid);
        let Ok(stat) = std::fs::read(base.join("stat")) else {
            continue;
        };
        // "PID (COMM) STATE …": COMM may hold spaces and parentheses, so it ends at the
        // last ')'.
        let (Some(open), Some(close)) = (
            stat.iter().position(|&b| b == b'('),
            stat.iter().rposition(|&b| b == b')'),
        ) else {
            continue;
        };
        if close <= open || stat.get(close + 2) == Some(&b'Z') {
            continue;
        }
        let comm = String::from_utf8_lossy(&stat[open + 1..close]).into_owned();
        let cmdline = if cmdline {
            let Ok(raw) = std::fs::read(base.join("cmdline")) else {
                continue;
            };
            Some(
                raw.split(|&b| b == 0)
                    .filter(|w| !w.is_empty())
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect(),
            )
        } else {
            None
        };
        found.push(ProcInfo { comm, cmdline });
    }
    found
}

/// Whether `p` is a process `t` counts (see the module doc).
pub fn matches(t: &VrrpTrackProcess, p: &ProcInfo) -> bool {
    if !t.full_command && t.params.is_none() {
        let want = t.process.as_bytes();
        return p.comm.as_bytes() == &want[..want.len().min(COMM_LEN)];
    }
    let Some(words) = &p.cmdline else {
        return false;
    };
    let Some((first, args)) = words.split_first() else {
        // Kernel threads have an empty command line.
        return false;
    };
    if *first != t.process {
        return false;
    }
    let Some(want) = &t.params else {
        return true;
    };
    if want.is_empty() {
        return args.is_empty();
    }
    match t.param_match {
        ParamMatch::Exact => args == want.as_slice(),
        ParamMatch::Partial => args.len() >= want.len() && args[..want.len()] == want[..],
        ParamMatch::Initial => {
            let n = want.len();
            args.len() >= n
                && args[..n - 1] == want[..n - 1]
                && args[n - 1].starts_with(want[n - 1].as_str())
        }
    }
}

/// The quorum of one tracked process, with its fork and terminate delays.
#[derive(Debug, Clone)]
pub struct Quorum {
    have: bool,
    /// A change seen and the time it counts from.
    pending: Option<(bool, Instant)>,
}

impl Quorum {
    /// The state at start counts at once (keepalived's first /proc walk).
    pub fn new(t: &VrrpTrackProcess, count: usize) -> Quorum {
        Quorum {
            have: in_quorum(t, count),
            pending: None,
        }
    }

    pub fn have(&self) -> bool {
        self.have
    }

    /// When a pending change will count, if one is pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.map(|(_, at)| at)
    }

    /// Feeds the count seen at `now`; the new state when it changed.
    pub fn update(&mut self, t: &VrrpTrackProcess, count: usize, now: Instant) -> Option<bool> {
        let raw = in_quorum(t, count);
        if raw == self.have {
            // A change that did not last: forgotten (the point of the delays).
            self.pending = None;
            return None;
        }
        let at = match self.pending {
            Some((p, at)) if p == raw => at,
            _ => {
                let delay = if raw { t.fork_delay } else { t.terminate_delay };
                let at = now + delay;
                self.pending = Some((raw, at));
                at
            }
        };
        if now < at {
            return None;
        }
        self.pending = None;
        self.have = raw;
        Some(raw)
    }
}

fn in_quorum(t: &VrrpTrackProcess, count: usize) -> bool {
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    t.quorum <= count && count <= t.quorum_max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(process: &str, params: Option<&[&str]>, m: ParamMatch) -> VrrpTrackProcess {
        VrrpTrackProcess {
            name: "t".into(),
            process: process.into(),
            params: params.map(|p| p.iter().map(|s| s.to_string()).collect()),
            param_match: m,
            weight: 1,
            reverse: false,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
            full_command: false,
        }
    }

    fn proc_(comm: &str, cmdline: &[&str]) -> ProcInfo {
        ProcInfo {
            comm: comm.into(),
            cmdline: Some(cmdline.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn matching_follows_keepalived() {
        let haproxy = proc_("haproxy", &["/usr/sbin/haproxy", "-f", "/etc/h.cfg", "-D"]);
        // By name: exact, not a prefix (pgrep "^ssh$").
        assert!(matches(&tp("haproxy", None, ParamMatch::Exact), &haproxy));
        assert!(!matches(&tp("hap", None, ParamMatch::Exact), &haproxy));
        // Names longer than 15 bytes compare as the kernel cut them.
        let long = proc_("a-very-long-pro", &["/bin/a-very-long-process-name"]);
        assert!(matches(
            &tp("a-very-long-process-name", None, ParamMatch::Exact),
            &long
        ));
        // With parameters: the command line.
        let p = |params: &[&str], m| tp("/usr/sbin/haproxy", Some(params), m);
        assert!(matches(
            &p(&["-f", "/etc/h.cfg", "-D"], ParamMatch::Exact),
            &haproxy
        ));
        assert!(!matches(
            &p(&["-f", "/etc/h.cfg"], ParamMatch::Exact),
            &haproxy
        ));
        assert!(matches(
            &p(&["-f", "/etc/h.cfg"], ParamMatch::Partial),
            &haproxy
        ));
        assert!(!matches(
            &p(&["-f", "/etc/h"], ParamMatch::Partial),
            &haproxy
        ));
        assert!(matches(
            &p(&["-f", "/etc/h"], ParamMatch::Initial),
            &haproxy
        ));
        assert!(!matches(&p(&["-x"], ParamMatch::Initial), &haproxy));
        // param_match without parameters: none allowed.
        assert!(!matches(&p(&[], ParamMatch::Partial), &haproxy));
        assert!(matches(
            &p(&[], ParamMatch::Partial),
            &proc_("haproxy", &["/usr/sbin/haproxy"])
        ));
        // full_command without parameters: the first word, any parameters.
        let mut full = tp("/usr/sbin/haproxy", None, ParamMatch::Exact);
        full.full_command = true;
        assert!(matches(&full, &haproxy));
        assert!(!matches(&full, &proc_("haproxy", &["haproxy"])));
        assert!(!matches(&full, &proc_("kthreadd", &[])));
    }

    #[test]
    fn quorum_bounds_and_delays() {
        let mut t = tp("x", None, ParamMatch::Exact);
        t.quorum = 2;
        t.quorum_max = 3;
        t.fork_delay = Duration::from_millis(500);
        t.terminate_delay = Duration::from_secs(2);
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut q = Quorum::new(&t, 1);
        assert!(!q.have());
        // Gained: counts after fork_delay.
        assert_eq!(q.update(&t, 2, at(0)), None);
        assert_eq!(q.deadline(), Some(at(500)));
        assert_eq!(q.update(&t, 3, at(400)), None);
        assert_eq!(q.update(&t, 2, at(500)), Some(true));
        // Lost for less than terminate_delay: forgotten.
        assert_eq!(q.update(&t, 4, at(1000)), None);
        assert_eq!(q.update(&t, 2, at(2000)), None);
        assert_eq!(q.deadline(), None);
        // Lost for long enough: counts.
        assert_eq!(q.update(&t, 0, at(3000)), None);
        assert_eq!(q.update(&t, 0, at(5000)), Some(false));
        // Without delays, at once.
        let z = tp("x", None, ParamMatch::Exact);
        let mut q = Quorum::new(&z, 0);
        assert_eq!(q.update(&z, 1, at(0)), Some(true));
        assert_eq!(q.update(&z, 0, at(0)), Some(false));
    }

    /// Real processes: children with a unique command line come and go.
    #[test]
    fn scan_counts_real_processes() {
        let tag = format!("{}.{}", std::process::id(), 4242);
        let mut t = tp("sleep", Some(&[&format!("1000{tag}")]), ParamMatch::Exact);
        t.quorum = 2;
        let count = |t: &VrrpTrackProcess| {
            scan(Path::new("/proc"), needs_cmdline(std::slice::from_ref(t)))
                .iter()
                .filter(|p| matches(t, p))
                .count()
        };
        assert_eq!(count(&t), 0);
        let spawn = || {
            std::process::Command::new("sleep")
                .arg(format!("1000{tag}"))
                .spawn()
                .expect("spawn sleep")
        };
        let mut a = spawn();
        let mut b = spawn();
        // The child is counted once it has exec'd sleep (its command line changes then).
        let deadline = Instant::now() + Duration::from_secs(5);
        while count(&t) < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut q = Quorum::new(&t, count(&t));
        assert!(q.have(), "two sleeps make the quorum");
        a.kill().expect("kill");
        a.wait().expect("reap");
        assert_eq!(q.update(&t, count(&t), Instant::now()), Some(false));
        b.kill().expect("kill");
        // Not reaped yet: a zombie, which does not count.
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(count(&t), 0);
        b.wait().expect("reap");
    }
}
