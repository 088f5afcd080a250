//! Harness for root-only integration tests that run real routers (BIRD, FRR), keepalived
//! and `directord` in network namespaces.
//!
//! Ownership and teardown: every object is a guard. [`TestDir`] holds configs and logs,
//! [`netns::NetNs`] a namespace, [`process::Daemon`] a process; dropping them stops the
//! processes, deletes the namespace and removes the directory, also while a test panics.
//! Locals drop in reverse declaration order, so declare the `TestDir` first, then the
//! namespaces, then the daemons. Nothing here touches the root namespace's addresses or
//! routes: links are created directly inside their namespaces. Drop never runs on SIGKILL,
//! so CI also runs `scripts/lab/sweep-netns`.
//!
//! Synchronisation is by polling observable state ([`wait::wait_until`],
//! [`wait::wait_stable`]), never by fixed sleeps.

// Every test binary includes this module with `mod common;` and uses only a subset of
// the helpers; without this the unused ones are dead-code errors under clippy -D warnings.
#![allow(dead_code)]

pub mod e2e;
pub mod e2e_table;
pub mod health_lab;
pub mod lvs_lab;
pub mod netns;
pub mod ospf;
pub mod ospf_suite;
pub mod peers;
pub mod process;
pub mod wait;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use netns::NetNs;
use process::Daemon;

/// Returns from the calling test with a loud "SKIPPED" line unless the process runs as
/// root (namespaces, raw sockets and the routing daemons need it); under `CI` (or
/// `DIRECTOR_REQUIRE_ALL=1`) the test fails instead.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::common::is_root() {
            $crate::common::skip(
                module_path!(),
                "needs root (network namespaces, raw sockets); run the tests as root",
            );
            return;
        }
    };
}

/// Returns from the calling test with a loud "SKIPPED" line when one of the programs is
/// not installed (the line names the Debian package that installs it); under `CI` (or
/// `DIRECTOR_REQUIRE_ALL=1`) the test fails instead.
#[macro_export]
macro_rules! require_programs {
    ($($prog:expr),+ $(,)?) => {
        if let Some(missing) = $crate::common::first_missing_program(&[$($prog),+]) {
            $crate::common::skip(
                module_path!(),
                &format!(
                    "needs `{missing}` (apt-get install {})",
                    $crate::common::debian_package(missing)
                ),
            );
            return;
        }
    };
}

/// The Debian 12 package that installs `program` (what `.ci/run` installs).
pub fn debian_package(program: &str) -> &str {
    let name = program.rsplit('/').next().unwrap_or(program);
    match name {
        "bird" | "birdc" => "bird2",
        "zebra" | "ospfd" | "bfdd" | "vtysh" => "frr",
        "nft" => "nftables",
        "ip" => "iproute2",
        "systemd-analyze" => "systemd",
        other => other,
    }
}

/// The file named by this variable collects one line per skipped test; `scripts/test` sets
/// it and prints one summary line at the end (cargo hides a passing test's output, so a
/// skip printed only inside the test would go unseen).
pub const SKIP_LOG_VAR: &str = "DIRECTOR_SKIP_LOG";

/// Whether a missing prerequisite must fail the test: under `CI` or `DIRECTOR_REQUIRE_ALL=1`
/// nothing may pass by skipping.
pub fn skipping_forbidden() -> bool {
    std::env::var_os("CI").is_some()
        || std::env::var("DIRECTOR_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Says loudly that `test` cannot run and why, and records it in the skip log; a CI run
/// (`CI` set, or `DIRECTOR_REQUIRE_ALL=1`) must never pass by skipping, so there it panics.
pub fn skip(test: &str, reason: &str) {
    if skipping_forbidden() {
        panic!("{test} {reason}; CI is set, so this is a failure, not a skip");
    }
    eprintln!("SKIPPED: {test} {reason}");
    record_skip(test, reason);
}

/// Appends `test: reason` to the skip log named by [`SKIP_LOG_VAR`], if any. One `write`
/// of one short line in append mode, so parallel tests do not interleave their lines.
pub fn record_skip(test: &str, reason: &str) {
    use std::io::Write as _;
    let Some(log) = std::env::var_os(SKIP_LOG_VAR) else {
        return;
    };
    let line = format!("{test}: {}\n", reason.replace('\n', " "));
    let written = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!(
            "warning: cannot record the skip in {}: {e}",
            log.to_string_lossy()
        );
    }
}

/// Whether the effective uid is 0, read from /proc (no libc call, no unsafe).
pub fn is_root() -> bool {
    let Ok(status) = fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|euid| euid == "0")
}

/// The first program (a name looked up in PATH, or an absolute path) that is absent.
pub fn first_missing_program<'a>(programs: &[&'a str]) -> Option<&'a str> {
    let path = std::env::var("PATH").unwrap_or_default();
    let exists = |prog: &str| {
        if prog.contains('/') {
            Path::new(prog).exists()
        } else {
            path.split(':')
                .chain(["/usr/sbin", "/sbin"])
                .any(|dir| Path::new(dir).join(prog).exists())
        }
    };
    programs.iter().copied().find(|prog| !exists(prog))
}

/// `{tag}-{pid}-{counter}`: unique across parallel tests of one binary (counter) and across
/// binaries (pid); the pid also lets the sweep script tell live runs from leftovers.
pub fn unique_name(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{tag}-{}-{n}", std::process::id())
}

/// Runs a host command that must succeed; panics with its stderr otherwise.
pub fn run_ok(argv: &[&str]) -> String {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
    assert!(
        out.status.success(),
        "{argv:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A per-test directory for configs, control sockets and logs: `/tmp/dt-{tag}-{pid}-{n}`,
/// mode 755 so daemons that drop privileges (FRR runs as `frr`) can reach their subdirs.
/// Removed on drop, except when the test panics or `DT_KEEP` is set: then its path is
/// printed and it is kept.
pub struct TestDir {
    path: PathBuf,
}

impl TestDir {
    pub fn new(tag: &str) -> TestDir {
        let path = std::env::temp_dir().join(unique_name(&format!("dt-{tag}")));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        set_mode(&path, 0o755);
        TestDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A subdirectory (created, mode 755), e.g. one per daemon instance.
    pub fn subdir(&self, name: &str) -> PathBuf {
        let dir = self.path.join(name);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        set_mode(&dir, 0o755);
        dir
    }

    /// Writes `text` to `rel` (relative to the test dir) and returns its path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let file = self.path.join(rel);
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
        }
        fs::write(&file, text).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
        file
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "test failed: configs and logs kept in {}",
                self.path.display()
            );
        } else if std::env::var_os("DT_KEEP").is_some() {
            eprintln!("DT_KEEP: configs and logs kept in {}", self.path.display());
        } else if let Err(e) = fs::remove_dir_all(&self.path) {
            eprintln!("warning: cannot remove {}: {e}", self.path.display());
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    if let Err(e) = fs::set_permissions(path, fs::Permissions::from_mode(mode)) {
        panic!("chmod {:o} {}: {e}", mode, path.display());
    }
}

/// Starts `directord -f CONF -l debug --runtime-dir DIR` inside `ns`, with `config_text` written to
/// `{dir}/{name}/directord.conf`, its runtime state in `{dir}/{name}/run` and its output in
/// `{dir}/{name}/{name}.log`.
pub fn directord(ns: &NetNs, dir: &TestDir, name: &str, config_text: &str) -> Daemon {
    let conf = dir.write(&format!("{name}/directord.conf"), config_text);
    let conf = conf.to_string_lossy().into_owned();
    // Each daemon gets its own control socket and dataplane records.
    let runtime_dir = dir.subdir(&format!("{name}/run"));
    let runtime_dir = runtime_dir.to_string_lossy().into_owned();
    Daemon::spawn(
        ns,
        name,
        &dir.subdir(name),
        &[
            env!("CARGO_BIN_EXE_directord"),
            "-f",
            &conf,
            "-l",
            "debug",
            "--runtime-dir",
            &runtime_dir,
        ],
    )
}
