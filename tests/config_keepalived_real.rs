//! The real keepalived.conf corpus (`../shared/data/keepalived-real/`, 80 files nobody
//! here wrote) against director's loader, which is what `directord -t` and the daemon
//! run. `keepalived_real/expectations.txt` holds one line per file: keepalived 2.2.7's
//! verdict (`keepalived -t`, measured by `keepalived_real/keepalived-verdicts.sh`) and
//! director's (`ok`, or `error LINE:COL` of the first error). Every file keepalived
//! accepts must load; a file both refuse stays refused with its first error's place.
//!
//! Without the folder (a clone without ../shared) the test says so loudly and passes;
//! under CI (`CI` or `DIRECTOR_REQUIRE_ALL=1`) the folder is shipped beside the repository
//! and its absence fails.
//! `DIRECTOR_CORPUS_PRINT=1` prints the lines the loader gives today.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use director::config::load;

fn corpus_dir() -> PathBuf {
    match std::env::var_os("DIRECTOR_KEEPALIVED_REAL") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/keepalived-real"),
    }
}

struct Expectation {
    keepalived: String,
    /// `None`: loads; `Some((line, col))`: the first error is there.
    director: Option<(u32, u32)>,
    line: usize,
}

fn expectations() -> BTreeMap<String, Expectation> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/keepalived_real/expectations.txt"
    );
    let text = std::fs::read_to_string(path).expect("tests/keepalived_real/expectations.txt");
    let mut out = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        // After '#': a note for the reader (what each tool said).
        let body = raw.split_once('#').map_or(raw, |(b, _)| b);
        let words: Vec<&str> = body.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let director = match words[2..] {
            ["ok"] => None,
            ["error", at] => {
                let (l, c) = at.split_once(':').expect("error LINE:COL");
                Some((l.parse().expect("line"), c.parse().expect("col")))
            }
            _ => panic!(
                "expectations.txt:{}: expected 'FILE KEEPALIVED ok|error LINE:COL'",
                index + 1
            ),
        };
        out.insert(
            words[0].to_string(),
            Expectation {
                keepalived: words[1].to_string(),
                director,
                line: index + 1,
            },
        );
    }
    out
}

/// What the loader says about `path`: `ok`, or `error LINE:COL` and the message.
fn verdict(path: &Path) -> Result<usize, (u32, u32, String)> {
    match load(path) {
        Ok(loaded) => {
            // What `-t` passes, the daemon runs: the VRRP module's start checks agree.
            if let Err(err) = director::vrrp::settings::Settings::from_config(&loaded.config) {
                return Err((
                    0,
                    0,
                    format!("loads, but the VRRP module refuses it: {err}"),
                ));
            }
            Ok(loaded.warnings.len())
        }
        Err(failed) => {
            let first = &failed.errors[0];
            let (line, col) = first.span().map_or((0, 0), |s| (s.line, s.col));
            Err((line, col, first.to_string()))
        }
    }
}

#[test]
fn every_real_file_gets_the_expected_verdict() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        let message = format!(
            "the keepalived-real corpus is not at {}: corpus test NOT RUN",
            dir.display()
        );
        common::skip(module_path!(), &message);
        return;
    }
    let expected = expectations();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("read the corpus folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".conf"))
        .collect();
    files.sort();
    let print = std::env::var_os("DIRECTOR_CORPUS_PRINT").is_some();
    let mut wrong = Vec::new();
    let (mut keepalived_ok, mut director_ok, mut both_ok) = (0, 0, 0);
    for name in &files {
        let path = dir.join(name);
        let got = verdict(&path);
        if print {
            let ka = expected.get(name).map_or("?", |e| &e.keepalived);
            match &got {
                Ok(_) => println!("{name} {ka} ok"),
                Err((l, c, m)) => println!("{name} {ka} error {l}:{c} # {m}"),
            }
        }
        let Some(exp) = expected.get(name) else {
            wrong.push(format!("{name}: no line in expectations.txt"));
            continue;
        };
        let ka_ok = exp.keepalived == "ok";
        keepalived_ok += usize::from(ka_ok);
        director_ok += usize::from(got.is_ok());
        both_ok += usize::from(ka_ok && got.is_ok());
        if ka_ok && exp.director.is_some() {
            wrong.push(format!(
                "expectations.txt:{}: {name}: keepalived accepts it, so director must load it (issue 11)",
                exp.line
            ));
        }
        match (&got, exp.director) {
            (Ok(_), None) => {}
            (Err((l, c, m)), Some((el, ec))) => {
                let file_line_col = format!("{}:{l}:{c}: ", path.display());
                if (*l, *c) != (el, ec) || !m.starts_with(&file_line_col) {
                    wrong.push(format!(
                        "{name}: expected the first error at {el}:{ec}, got {m}"
                    ));
                }
            }
            (Ok(warnings), Some((el, ec))) => wrong.push(format!(
                "{name}: expected an error at {el}:{ec}, it loads ({warnings} warnings)"
            )),
            (Err((_, _, m)), None) => wrong.push(format!("{name}: expected to load, got {m}")),
        }
    }
    for name in expected.keys() {
        if !files.contains(name) {
            wrong.push(format!(
                "{name}: in expectations.txt, not in {}",
                dir.display()
            ));
        }
    }
    eprintln!(
        "corpus: {} files; keepalived -t accepts {keepalived_ok}, director {director_ok}, both {both_ok}",
        files.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
