//! directorctl: the operator's view of a running directord, over its control socket.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use director::cli::exit::{self, Exit};
use director::cli::render::Layout;
use director::cli::{
    genhash, maintenance, render, CtlCommand, DirectorctlArgs, GenhashArgs, OspfWhat,
    RealServerAction, DEFAULT_SOCKET,
};
use director::control::socket::{self, Reply, Request};
use director::control::views::{
    ConnectionsView, MaintenanceReply, OspfInterfaceView, OspfLsaView, OspfNeighborView,
    ServicesView, StatusView, TablesDiffView,
};
use director::policy::maintenance::MaintenanceOp;

/// A reload re-reads and re-applies the whole configuration; everything else is a lookup.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
const RELOAD_TIMEOUT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let args = DirectorctlArgs::parse();
    let request = match &args.command {
        CtlCommand::Genhash(genhash) => return genhash_command(genhash, args.json),
        CtlCommand::Realserver { action } => return realserver_command(action, args.json),
        CtlCommand::CheckConfig { file, config_id } => {
            let options = director::config::LoadOptions {
                config_id: config_id.clone(),
            };
            return director::cli::check::check_config(file, &options, false);
        }
        CtlCommand::Status => Request::Status,
        CtlCommand::Services(services) => Request::Services {
            stats: services.stats,
            diff: services.diff,
            rate: services.rate,
            timeout: services.timeout,
        },
        CtlCommand::Connections => Request::Connections,
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
        CtlCommand::Withdraw { vip } => Request::Maintenance(MaintenanceOp::Withdraw(*vip)),
        CtlCommand::Announce { vip } => Request::Maintenance(MaintenanceOp::Announce(*vip)),
        CtlCommand::Drain(drain) => match maintenance::drain_op(drain) {
            Some(op) => Request::Maintenance(op),
            None => return usage("drain needs VIP:PORT REALSERVER, or --all"),
        },
        CtlCommand::Undrain(undrain) => match maintenance::undrain_op(undrain) {
            Some(op) => Request::Maintenance(op),
            None => return usage("undrain needs VIP:PORT REALSERVER, or --all"),
        },
    };
    let wait_for_drain = matches!(&args.command, CtlCommand::Drain(d) if d.wait);
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
            // Whether what was asked about is healthy: the exit status (see cli::exit).
            let verdict = exit::verdict(request, &value);
            if let Err(err) = director::cli::print_stdout(&render_reply(&args, request, value)) {
                eprintln!("directorctl: cannot write the answer: {err}");
                return ExitCode::FAILURE;
            }
            if wait_for_drain {
                return runtime.block_on(wait_drained(&path)).into();
            }
            verdict.into()
        }
        Ok(Reply::Error(message)) => {
            eprintln!("directorctl: {message}");
            Exit::Unhealthy.into()
        }
        Err(err) => {
            eprintln!("directorctl: {err} (is directord running? see -s/--socket)");
            Exit::NoAnswer.into()
        }
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("directorctl: {message}");
    ExitCode::from(2)
}

/// How often `drain --all --wait` reads the connection counts.
const DRAIN_POLL: Duration = Duration::from_secs(1);

/// `drain --all --wait`: reads the kernel's connection counts until no active connection
/// is left, printing each change. Exit 0 once drained; 1 when the backend cannot count
/// (nftables); 3 when the daemon stops answering.
async fn wait_drained(path: &std::path::Path) -> Exit {
    let mut last = None;
    loop {
        let view = match socket::request(
            path,
            Request::Services {
                stats: true,
                diff: false,
                rate: false,
                timeout: false,
            },
            LOOKUP_TIMEOUT,
        )
        .await
        {
            Ok(Reply::Ok(value)) => match serde_json::from_value::<ServicesView>(value) {
                Ok(view) => view,
                Err(err) => {
                    eprintln!("directorctl: unexpected services answer: {err}");
                    return Exit::Unhealthy;
                }
            },
            Ok(Reply::Error(message)) => {
                eprintln!("directorctl: {message}");
                return Exit::Unhealthy;
            }
            Err(err) => {
                eprintln!("directorctl: {err}");
                return Exit::NoAnswer;
            }
        };
        let Some((active, inactive)) = maintenance::connections(&view) else {
            eprintln!(
                "directorctl: the {} backend keeps no connection counts; watch \
                 `directorctl connections` instead (the VIPs are withdrawn)",
                view.backend
            );
            return Exit::Unhealthy;
        };
        if active == 0 {
            println!("drained: no active connection left ({inactive} inactive)");
            return Exit::Healthy;
        }
        if last != Some((active, inactive)) {
            println!("waiting: {active} active, {inactive} inactive connections");
            last = Some((active, inactive));
        }
        tokio::time::sleep(DRAIN_POLL).await;
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

/// `realserver setup|teardown|check`: runs here, on the real server, without a daemon.
/// Exit 0: done (or, for check, nothing missing); 1: check found something missing or a
/// change failed.
fn realserver_command(action: &RealServerAction, json: bool) -> ExitCode {
    use director::cli::realserver::{self, Action};
    let (args, plan_for, check) = match action {
        RealServerAction::Setup(args) => (args, Action::Setup, false),
        RealServerAction::Teardown(args) => (args, Action::Teardown, false),
        RealServerAction::Check(args) => (args, Action::Setup, true),
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let vips = args.vips.iter().copied().collect();
    let sysctl_dir = std::path::Path::new(realserver::SYSCTL_DIR);
    let result = runtime.block_on(async {
        let netlink = director::net::Netlink::new()?;
        let host = realserver::observe(&netlink, sysctl_dir).await?;
        let changes = realserver::plan(&host, &vips, plan_for);
        if !check {
            realserver::apply(&netlink, sysctl_dir, &changes).await?;
        }
        Ok::<_, realserver::RealServerError>(changes)
    });
    let changes = match result {
        Ok(changes) => changes,
        Err(err) => {
            eprintln!("directorctl realserver: {err}");
            return ExitCode::FAILURE;
        }
    };
    let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
    let text = if json {
        let key = if check { "missing" } else { "changed" };
        format!("{:#}\n", serde_json::json!({ key: lines }))
    } else if lines.is_empty() {
        if check {
            "ok: every VIP is on lo and the ARP switches are set\n".to_string()
        } else {
            "nothing to change\n".to_string()
        }
    } else {
        let verb = if check { "missing" } else { "changed" };
        lines.iter().map(|l| format!("{verb}: {l}\n")).collect()
    };
    if let Err(err) = director::cli::print_stdout(&text) {
        eprintln!("directorctl: cannot write the answer: {err}");
        return ExitCode::FAILURE;
    }
    if check && !changes.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
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
        Ok(hashed) => match director::cli::print_stdout(&genhash::render(&hashed)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("directorctl: cannot write the answer: {err}");
                ExitCode::FAILURE
            }
        },
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
        Request::Services { diff: true, .. } => {
            match serde_json::from_value::<TablesDiffView>(value.clone()) {
                Ok(view) => render::diff(&view),
                Err(_) => render::generic(&value),
            }
        }
        Request::Services {
            stats,
            rate,
            timeout,
            ..
        } => match serde_json::from_value::<ServicesView>(value.clone()) {
            Ok(view) => {
                let layout = if stats {
                    Layout::Stats
                } else if rate {
                    Layout::Rate
                } else if timeout {
                    Layout::Timeout
                } else {
                    Layout::Health
                };
                render::services(&view, layout, unix_now())
            }
            Err(_) => render::generic(&value),
        },
        Request::Connections => match serde_json::from_value::<ConnectionsView>(value.clone()) {
            Ok(view) => render::connections(&view),
            Err(_) => render::generic(&value),
        },
        Request::Bfd => render::bfd(&value),
        Request::Metrics => value
            .as_str()
            .map_or_else(|| render::generic(&value), str::to_owned),
        // The configuration is JSON for people too: there is no better table for a tree.
        Request::Config => serde_json::to_string_pretty(&value)
            .map_or_else(|_| value.to_string(), |text| text + "\n"),
        Request::OspfInterfaces => {
            match serde_json::from_value::<Vec<OspfInterfaceView>>(value.clone()) {
                Ok(rows) => render::ospf_interfaces(&rows),
                Err(_) => render::generic(&value),
            }
        }
        Request::OspfNeighbors => {
            match serde_json::from_value::<Vec<OspfNeighborView>>(value.clone()) {
                Ok(rows) => render::ospf_neighbors(&rows),
                Err(_) => render::generic(&value),
            }
        }
        Request::OspfDatabase => match serde_json::from_value::<Vec<OspfLsaView>>(value.clone()) {
            Ok(rows) => render::ospf_database(&rows),
            Err(_) => render::generic(&value),
        },
        Request::Maintenance(_) => {
            match serde_json::from_value::<MaintenanceReply>(value.clone()) {
                Ok(reply) => maintenance::reply(&reply),
                Err(_) => render::generic(&value),
            }
        }
        _ => render::generic(&value),
    }
}

/// Seconds since the epoch, for "since" columns.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
