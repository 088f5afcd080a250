//! directorctl: the operator's view of a running directord, over its control socket.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use director::cli::{
    genhash, render, CtlCommand, DirectorctlArgs, GenhashArgs, OspfWhat, DEFAULT_SOCKET,
};
use director::control::socket::{self, Reply, Request};
use director::control::views::{ServicesView, StatusView};

/// A reload re-reads and re-applies the whole configuration; everything else is a lookup.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
const RELOAD_TIMEOUT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let args = DirectorctlArgs::parse();
    let request = match &args.command {
        CtlCommand::Genhash(genhash) => return genhash_command(genhash, args.json),
        CtlCommand::Status => Request::Status,
        CtlCommand::Services(services) => Request::Services {
            stats: services.stats,
        },
        CtlCommand::Ospf { what } => match what {
            OspfWhat::Interfaces => Request::OspfInterfaces,
            OspfWhat::Neighbors => Request::OspfNeighbors,
            OspfWhat::Database => Request::OspfDatabase,
            OspfWhat::Counters => Request::OspfCounters,
        },
        CtlCommand::Vrrp => Request::Vrrp,
        CtlCommand::Bfd => Request::Bfd,
        CtlCommand::Reload => Request::Reload,
        CtlCommand::Config => Request::Config,
        CtlCommand::Metrics => Request::Metrics,
    };
    let path = socket_path(&args);
    let timeout = if request == Request::Reload {
        RELOAD_TIMEOUT
    } else {
        LOOKUP_TIMEOUT
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(socket::request(&path, request, timeout)) {
        Ok(Reply::Ok(value)) => {
            print!("{}", render_reply(&args, request, value));
            ExitCode::SUCCESS
        }
        Ok(Reply::Error(message)) => {
            eprintln!("directorctl: {message}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("directorctl: {err} (is directord running? see -s/--socket)");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime),
        Err(err) => {
            eprintln!("directorctl: cannot start the I/O runtime: {err}");
            None
        }
    }
}

/// genhash runs here, without the daemon.
fn genhash_command(args: &GenhashArgs, json: bool) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(genhash::run(args)) {
        Ok(hashed) if json => {
            let value = serde_json::json!({
                "url": args.url,
                "status": hashed.status,
                "body_len": hashed.body_len,
                "digest": hashed.digest,
            });
            println!("{value:#}");
            ExitCode::SUCCESS
        }
        Ok(hashed) => {
            print!("{}", genhash::render(&hashed));
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("directorctl genhash: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `-s`, else the `control_socket` of the configuration, else the default path.
fn socket_path(args: &DirectorctlArgs) -> PathBuf {
    if let Some(path) = &args.socket {
        return path.clone();
    }
    let config_path = director::cli::config_path(args.config.as_deref());
    director::config::load(&config_path)
        .ok()
        .and_then(|loaded| loaded.config.director.control_socket)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
}

fn render_reply(args: &DirectorctlArgs, request: Request, value: serde_json::Value) -> String {
    if args.json {
        return serde_json::to_string_pretty(&value)
            .map_or_else(|_| value.to_string(), |text| text + "\n");
    }
    match request {
        Request::Status => match serde_json::from_value::<StatusView>(value.clone()) {
            Ok(view) => render::status(&view),
            Err(_) => render::generic(&value),
        },
        Request::Services { stats } => {
            match serde_json::from_value::<ServicesView>(value.clone()) {
                Ok(view) => render::services(&view, stats, unix_now()),
                Err(_) => render::generic(&value),
            }
        }
        Request::Bfd => render::bfd(&value),
        Request::Metrics => value
            .as_str()
            .map_or_else(|| render::generic(&value), str::to_owned),
        _ => render::generic(&value),
    }
}

/// Seconds since the epoch, for "since" columns.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
