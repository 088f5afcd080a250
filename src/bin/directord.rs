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

    let options = config::LoadOptions {
        config_id: args.config_id.clone(),
    };
    if args.config_test || args.dump_config {
        return check_config(&path, &options, args.dump_config);
    }

    if let Err(message) = init_logging(&args) {
        eprintln!("directord: {message}");
        return ExitCode::FAILURE;
    }
    let loaded = match config::load_with(&path, &options) {
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
    // Before any thread exists: setns(2) moves only the calling thread, and every thread
    // the runtime starts later inherits its namespace.
    if let Some(name) = &loaded.config.global_defs.net_namespace {
        if let Err(err) = enter_net_namespace(name) {
            eprintln!("directord: net_namespace {name}: {err}; not starting");
            return ExitCode::FAILURE;
        }
        tracing::info!(namespace = %name, "running in network namespace");
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
    let settings = director::control::Settings {
        config_path: path,
        load_options: options,
        runtime_dir: args.runtime_dir,
    };
    match runtime.block_on(director::control::run(settings, loaded)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("directord: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Joins the network namespace `ip netns add NAME` created (`/run/netns/NAME`).
fn enter_net_namespace(name: &str) -> Result<(), String> {
    let path = std::path::Path::new("/run/netns").join(name);
    let file = std::fs::File::open(&path).map_err(|err| format!("{}: {err}", path.display()))?;
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|err| format!("setns {}: {err}", path.display()))
}

/// `-t` and `--dump-config`: warnings and errors on stderr, the model on stdout.
fn check_config(path: &std::path::Path, options: &config::LoadOptions, dump: bool) -> ExitCode {
    match config::load_with(path, options) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{warning}");
            }
            if dump {
                let dumped = config::redact::redacted_json(&loaded.config)
                    .and_then(|value| serde_json::to_string_pretty(&value));
                match dumped {
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
