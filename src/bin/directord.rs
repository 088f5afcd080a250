//! directord: reads the configuration, then hands it to the control loop, which owns the
//! daemon's state until SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use director::cli::{DirectordArgs, LogFormat};
use director::config;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let args = DirectordArgs::parse();
    let path = director::cli::config_path(args.config.as_deref());

    if args.config_test || args.dump_config {
        return check_config(&path, args.dump_config);
    }

    if let Err(message) = init_logging(&args) {
        eprintln!("directord: {message}");
        return ExitCode::FAILURE;
    }
    let loaded = match config::load(&path) {
        Ok(loaded) => loaded,
        Err(failed) => {
            print_errors(&path, &failed);
            eprintln!("directord: not starting");
            return ExitCode::FAILURE;
        }
    };
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("directord")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("directord: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(director::control::run(
        path,
        args.runtime_dir.clone(),
        loaded,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("directord: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `-t` and `--dump-config`: warnings and errors on stderr, the model on stdout.
fn check_config(path: &std::path::Path, dump: bool) -> ExitCode {
    match config::load(path) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{warning}");
            }
            if dump {
                match serde_json::to_string_pretty(&loaded.config) {
                    Ok(json) => println!("{json}"),
                    Err(err) => {
                        eprintln!("directord: cannot encode the configuration: {err}");
                        return ExitCode::FAILURE;
                    }
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
fn print_errors(path: &std::path::Path, failed: &config::error::ConfigErrors) {
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

fn init_logging(args: &DirectordArgs) -> Result<(), String> {
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(_) => EnvFilter::try_new(&args.log_level)
            .map_err(|err| format!("invalid --log-level {:?}: {err}", args.log_level))?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|err| format!("cannot set up logging: {err}"))
}
