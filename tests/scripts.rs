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

/// No path of the machine the project was developed on: a reader's checkout has none of
/// them, so a command or a file named that way cannot work for them.
#[test]
fn no_development_machine_paths_in_the_repository() {
    // Built from parts so that this file does not match itself.
    let forbidden = [["/", "work/"].concat(), ["/", "root/"].concat()];
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(ROOT)
        .output()
        .expect("git ls-files");
    if !out.status.success() {
        // A source tarball without git: nothing to list, nothing to check.
        return;
    }
    let mut hits = Vec::new();
    for file in out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let file = String::from_utf8_lossy(file);
        let Ok(text) = std::fs::read_to_string(Path::new(ROOT).join(file.as_ref())) else {
            continue; // binary (fuzz corpora, captures) or deleted in the work tree
        };
        for (n, line) in text.lines().enumerate() {
            if forbidden.iter().any(|f| line.contains(f.as_str())) {
                hits.push(format!("{file}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "development machine paths:\n{}",
        hits.join("\n")
    );
}
