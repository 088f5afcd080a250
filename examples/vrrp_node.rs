//! VRRP alone, for development: `vrrp_node keepalived.conf` loads the file with
//! `director::config::load`, runs `director::vrrp::spawn` (no dataplane, no OSPF), prints
//! every `VrrpEvent` as a JSON line and the status on SIGUSR1, reloads on SIGHUP, and
//! stops gracefully on SIGTERM/SIGINT (masters send priority 0).

use std::path::PathBuf;

use tokio::signal::unix::{signal, SignalKind};

fn load(path: &std::path::Path) -> Result<director::config::Config, String> {
    let loaded = director::config::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded.config)
}

async fn run(path: PathBuf) -> Result<(), String> {
    let config = load(&path)?;
    let (handle, mut events) = director::vrrp::spawn(&config).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut usr1 = signal(SignalKind::user_defined1()).map_err(|e| e.to_string())?;
    loop {
        tokio::select! {
            Some(ev) = events.recv() => {
                if let Ok(line) = serde_json::to_string(&ev) {
                    println!("{line}");
                }
            }
            _ = hup.recv() => match load(&path) {
                Ok(cfg) => match handle.reload(&cfg).await {
                    Ok(()) => eprintln!("reloaded"),
                    Err(e) => eprintln!("reload failed: {e}"),
                },
                Err(e) => eprintln!("reload failed: {e}"),
            },
            _ = usr1.recv() => {
                if let Ok(st) = handle.status().await {
                    if let Ok(text) = serde_json::to_string_pretty(&st) {
                        println!("{text}");
                    }
                }
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    handle.shutdown().await;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: vrrp_node keepalived.conf");
        std::process::exit(2);
    };
    if let Err(e) = run(PathBuf::from(path)).await {
        eprintln!("vrrp_node: {e}");
        std::process::exit(1);
    }
}
