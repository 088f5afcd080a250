//! The man pages and shell completions in dist/ are generated from the same definitions
//! as `--help` (the clap commands) and the configuration's keyword tables. This test
//! regenerates them and fails when the committed files are stale; run
//! `DIRECTOR_UPDATE_DIST=1 cargo test --test dist_generated` to refresh them.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use director::cli::{DirectorctlArgs, DirectordArgs};

fn dist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dist")
}

fn man_page(cmd: clap::Command, section: &str) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .section(section)
        .manual("director")
        .render(&mut out)
        .expect("render man page");
    out
}

/// director.conf(5): every block and the keywords it accepts, from the keyword tables;
/// the meaning of each is in docs/configuration.md.
fn config_page() -> Vec<u8> {
    let mut page = String::from(
        ".TH director.conf 5 \"\" \"\" director\n\
         .SH NAME\n\
         director.conf \\- configuration of directord\n\
         .SH DESCRIPTION\n\
         The configuration language is keepalived.conf's: a keepalived.conf loads unchanged.\n\
         director adds an \\fBospf { }\\fR block (the built-in OSPFv2 speaker that announces\n\
         the VIPs) and a \\fBdirector { }\\fR block (mode, dataplane, control socket,\n\
         metrics). Every keyword, its type, default and meaning is described in\n\
         docs/configuration.md (/usr/share/doc/director/configuration.md.gz in the Debian\n\
         package). Check a file with \\fBdirectorctl check-config FILE\\fR or\n\
         \\fBdirectord \\-t \\-f FILE\\fR.\n\
         .SH KEYWORDS\n",
    );
    for (block, names) in director::config::keywords::all_keywords() {
        page.push_str(&format!(".TP\n\\fB{block}\\fR\n"));
        page.push_str(&names.join(", ").replace('-', "\\-"));
        page.push('\n');
    }
    page.push_str(
        ".SH FILES\n/etc/director/director.conf, else /etc/keepalived/keepalived.conf\n\
         .SH SEE ALSO\ndirectord(8), directorctl(8), keepalived.conf(5)\n",
    );
    page.into_bytes()
}

fn completion(cmd: clap::Command, shell: Shell) -> Vec<u8> {
    let mut cmd = cmd;
    let name = cmd.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    out
}

fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = vec![
        (
            dist().join("man/directord.8"),
            man_page(DirectordArgs::command(), "8"),
        ),
        (
            dist().join("man/directorctl.8"),
            man_page(DirectorctlArgs::command(), "8"),
        ),
        (dist().join("man/director.conf.5"), config_page()),
    ];
    for (name, cmd) in [
        ("directord", DirectordArgs::command()),
        ("directorctl", DirectorctlArgs::command()),
    ] {
        files.push((
            dist().join(format!("completions/{name}.bash")),
            completion(cmd.clone(), Shell::Bash),
        ));
        files.push((
            dist().join(format!("completions/_{name}")),
            completion(cmd.clone(), Shell::Zsh),
        ));
        files.push((
            dist().join(format!("completions/{name}.fish")),
            completion(cmd, Shell::Fish),
        ));
    }
    files
}

#[test]
fn man_pages_and_completions_are_up_to_date() {
    let update = std::env::var("DIRECTOR_UPDATE_DIST").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (path, content) in generated() {
        if update {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
            std::fs::write(&path, &content).expect("write");
        } else if std::fs::read(&path).ok().as_deref() != Some(&content[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files (run DIRECTOR_UPDATE_DIST=1 cargo test --test dist_generated): {stale:#?}"
    );
}

#[test]
fn the_man_pages_name_every_command() {
    let page = String::from_utf8(man_page(DirectorctlArgs::command(), "8")).expect("utf8");
    for command in [
        "withdraw",
        "drain",
        "realserver",
        "check\\-config",
        "services",
    ] {
        assert!(page.contains(command), "directorctl(8) lacks {command}");
    }
    let page = String::from_utf8(config_page()).expect("utf8");
    assert!(page.contains("control_socket_group"));
}

/// Every `directorctl …` command in docs/operations.md's shell blocks is one the CLI
/// accepts, so the operations guide cannot drift from the commands.
#[test]
fn the_operations_guide_uses_real_commands() {
    use clap::Parser;
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md"))
        .expect("docs/operations.md");
    let mut in_shell = false;
    let mut checked = 0;
    for line in doc.lines() {
        if line.starts_with("```") {
            in_shell = line == "```sh";
            continue;
        }
        let Some(command) = line.strip_prefix("directorctl ").filter(|_| in_shell) else {
            continue;
        };
        let command = command.split(['#', '|']).next().unwrap_or_default();
        let argv = std::iter::once("directorctl").chain(command.split_whitespace());
        if let Err(err) = DirectorctlArgs::try_parse_from(argv) {
            panic!("docs/operations.md: `directorctl {command}`: {err}");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} commands found");
}
