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
        return director::cli::check::check_config(&path, &options, args.dump_config);
    }

    if let Err(message) = init_logging(&args) {
        eprintln!("directord: {message}");
        return ExitCode::FAILURE;
    }
    let load_started = std::time::Instant::now();
    let loaded = match config::load_with(&path, &options) {
        Ok(loaded) => loaded,
        Err(failed) => {
            director::cli::check::print_errors(&path, &failed);
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
        config_load_time: load_started.elapsed(),
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

fn init_logging(args: &DirectordArgs) -> Result<(), String> {
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(_) => EnvFilter::try_new(&args.log_level)
            .map_err(|err| format!("invalid --log-level {:?}: {err}", args.log_level))?,
    };
    // Colour only for a person at a terminal: escapes in a log file or the journal are
    // noise that breaks grep.
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|err| format!("cannot set up logging: {err}"))
}
