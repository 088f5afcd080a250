//! The test tooling ships with the repository: scripts/test runs the IPVS tests through
//! the in-tree VM runner, and the runner's scripts are valid shell.

use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_ipvs_vm_runner_is_in_the_repository() {
    let test = std::fs::read_to_string(Path::new(ROOT).join("scripts/test")).expect("scripts/test");
    assert!(
        test.contains("vm=scripts/lab/ipvs-vm"),
        "scripts/test must use the in-tree runner"
    );
    for script in [
        "scripts/lab/ipvs-vm",
        "scripts/lab/vm/guest-init.sh",
        "scripts/lab/vm/selftest.sh",
        "scripts/test",
    ] {
        let path = Path::new(ROOT).join(script);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{script}: {e}"))
                .permissions(),
        );
        assert!(mode & 0o111 != 0, "{script} is not executable");
        let shell = if script.ends_with("guest-init.sh") {
            "sh"
        } else {
            "bash"
        };
        let out = Command::new(shell)
            .arg("-n")
            .arg(&path)
            .output()
            .expect(shell);
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
