//! The systemd unit in dist/ passes `systemd-analyze verify` (sd_notify itself is tested
//! in tests/daemon.rs with a fake NOTIFY_SOCKET). Why no real systemd runs in CI:
//! docs/testing.md, "systemd".

mod common;

use std::process::Command;

#[test]
fn the_unit_file_verifies() {
    require_programs!("systemd-analyze");
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dist/directord.service"
    ))
    .expect("dist/directord.service");
    // verify checks that ExecStart's binary exists: point it at the one just built.
    let unit = unit.replace("/usr/sbin/directord", env!("CARGO_BIN_EXE_directord"));
    let dir = common::TestDir::new("unit");
    let path = dir.write("directord.service", &unit);
    // The man pages are not installed here; everything else is checked.
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    assert!(stderr.trim().is_empty(), "warnings: {stderr}");
    assert!(unit.contains("Type=notify") && unit.contains("WatchdogSec="));
}
