//! `directord -t` / `--dump-config` and `directorctl check-config FILE`: one check, one
//! output, whichever command runs it.

use std::process::ExitCode;

use crate::config;

/// `-t` and `--dump-config`: warnings and errors on stderr, the model on stdout.
pub fn check_config(path: &std::path::Path, options: &config::LoadOptions, dump: bool) -> ExitCode {
    match config::load_with(path, options) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{warning}");
            }
            if dump {
                let dumped = config::redact::redacted_json(&loaded.config)
                    .and_then(|value| serde_json::to_string_pretty(&value));
                let printed = dumped
                    .map_err(|err| format!("cannot encode the configuration: {err}"))
                    .and_then(|json| {
                        super::print_stdout(&(json + "\n"))
                            .map_err(|err| format!("cannot write the configuration: {err}"))
                    });
                if let Err(message) = printed {
                    eprintln!("directord: {message}");
                    return ExitCode::FAILURE;
                }
            } else {
                eprintln!(
                    "directord: {}: configuration is valid ({} warning(s))",
                    path.display(),
                    loaded.warnings.len()
                );
            }
            ExitCode::SUCCESS
        }
        Err(failed) => {
            print_errors(path, &failed);
            ExitCode::FAILURE
        }
    }
}

/// Every warning and error of a failed load, each `file:line:col: …`, then a summary.
pub fn print_errors(path: &std::path::Path, failed: &config::error::ConfigErrors) {
    for warning in &failed.warnings {
        eprintln!("{warning}");
    }
    for error in &failed.errors {
        eprintln!("{error}");
    }
    eprintln!(
        "directord: {}: configuration has {} error(s)",
        path.display(),
        failed.errors.len()
    );
}
