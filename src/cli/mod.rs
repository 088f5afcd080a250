//! Command-line definitions of `directord` and `directorctl`, and rendering of their output.

pub mod check;
pub mod exit;
pub mod genhash;
pub mod maintenance;
pub mod realserver;
pub mod render;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::model::HttpProtocol;

/// Where `directord` looks for its configuration when `-f` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/director/director.conf";
/// Used when [`DEFAULT_CONFIG`] does not exist, so an unchanged keepalived host just works.
pub const KEEPALIVED_CONFIG: &str = "/etc/keepalived/keepalived.conf";
/// Where the daemon keeps its runtime state (control socket, dataplane ownership records).
pub const DEFAULT_RUNTIME_DIR: &str = "/run/director";
/// The control socket when the configuration names none.
pub const DEFAULT_SOCKET: &str = "/run/director/directord.sock";

/// directord: active-active load-balancer daemon (keepalived-compatible configuration,
/// built-in OSPF announcements, consistent IPVS/nftables tables, VRRP fallback).
#[derive(Debug, Parser)]
#[command(name = "directord", version)]
pub struct DirectordArgs {
    /// Configuration file. Default: /etc/director/director.conf, or
    /// /etc/keepalived/keepalived.conf when only that exists.
    #[arg(
        short = 'f',
        long = "use-file",
        visible_alias = "config",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,

    /// keepalived's config-id: lines prefixed `@ID` are read only when ID matches, lines
    /// prefixed `@^ID` only when it does not. Without it every `@ID` line is skipped.
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,

    /// Check the configuration, print warnings and errors, and exit (0 = valid, 1 = invalid).
    #[arg(short = 't', long = "config-test")]
    pub config_test: bool,

    /// Print the typed configuration, with every default filled in and secrets redacted,
    /// as JSON and exit.
    #[arg(long = "dump-config")]
    pub dump_config: bool,

    /// Log level: error, warn, info, debug, trace, or a tracing filter such as
    /// `info,ospf=debug`. Overridden by the RUST_LOG environment variable.
    #[arg(
        short = 'l',
        long = "log-level",
        default_value = "info",
        value_name = "LEVEL"
    )]
    pub log_level: String,

    /// Log line format.
    #[arg(long = "log-format", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Directory for runtime state: the control socket (unless the configuration sets
    /// `control_socket`) and the records of which kernel objects this daemon created.
    /// Give each daemon its own when several run on one host (e.g. in namespaces).
    #[arg(long = "runtime-dir", value_name = "DIR", default_value = DEFAULT_RUNTIME_DIR)]
    pub runtime_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for log shippers).
    Json,
}

/// Writes a command's output to stdout. A reader that went away (`directord --dump-config
/// | head`) is not an error: the rest of the output is simply not wanted, so the caller
/// exits normally instead of panicking as `print!` does on a broken pipe.
pub fn print_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The configuration file to read: the one given, else the director default, else
/// keepalived's when only that exists.
pub fn config_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    let ours = Path::new(DEFAULT_CONFIG);
    let keepalived = Path::new(KEEPALIVED_CONFIG);
    if !ours.exists() && keepalived.exists() {
        keepalived.to_path_buf()
    } else {
        ours.to_path_buf()
    }
}

/// directorctl: query and steer a running directord over its control socket.
#[derive(Debug, Parser)]
#[command(name = "directorctl", version, after_help = exit::EXIT_STATUS_HELP)]
pub struct DirectorctlArgs {
    /// Control socket of the daemon. Default: `control_socket` from the configuration
    /// file (see --config), else /run/director/directord.sock.
    #[arg(short = 's', long = "socket", value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Configuration file whose `director { control_socket }` names the socket.
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print the daemon's answer as JSON instead of a table.
    #[arg(short = 'j', long = "json", global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(Debug, Subcommand)]
pub enum CtlCommand {
    /// Overview: mode, configuration file, uptime, VIPs and whether each is announced.
    Status,
    /// Virtual services and real servers as the kernel holds them, in `ipvsadm -Ln`'s
    /// layout, each configured real server with its health.
    Services(ServicesArgs),
    /// The dataplane's connection entries, like `ipvsadm -Lnc`: IPVS's connection table,
    /// or for nftables the kernel's conntrack entries towards the services (NAT only).
    Connections,
    /// The OSPF speaker: interfaces, neighbors, LSDB.
    Ospf {
        #[command(subcommand)]
        what: OspfWhat,
    },
    /// VRRP instances: state, priority, master, counters.
    Vrrp,
    /// BFD sessions (to OSPF neighbors and of `bfd_instance`s): state, negotiated timers, last Down reason.
    Bfd,
    /// Re-read the configuration file and apply only what changed (like SIGHUP);
    /// prints the errors and leaves the running state alone when the file is invalid.
    Reload,
    /// The running configuration as JSON, with defaults filled in and secrets redacted.
    Config,
    /// Counters and gauges in the Prometheus text format.
    Metrics,
    /// Stop announcing VIP over OSPF (the routers send its traffic to the other
    /// directors); its tables stay, so connections still arriving are served. Kept across
    /// reloads and restarts until `announce`.
    Withdraw {
        #[arg(value_name = "VIP")]
        vip: std::net::IpAddr,
    },
    /// Undo `withdraw`: VIP is announced again while one of its services holds its quorum.
    Announce {
        #[arg(value_name = "VIP")]
        vip: std::net::IpAddr,
    },
    /// Set a real server's weight to 0 in a service (established connections finish, no
    /// new ones), or with --all withdraw every VIP of this director (for a rolling
    /// upgrade). Kept across reloads and restarts until `undrain`.
    Drain(DrainArgs),
    /// Undo `drain`.
    Undrain(UndrainArgs),
    /// Run on an LVS-DR real server (needs no daemon): the VIP as a /32 on lo, and ARP
    /// switches so the real server never answers ARP for it (arp_ignore=1,
    /// arp_announce=2 on lo and all). Idempotent; says what it changed.
    Realserver {
        #[command(subcommand)]
        action: RealServerAction,
    },
    /// Check a configuration file as `directord -t` does (needs no daemon): warnings and
    /// errors with file:line:col; exit 0 when valid, 1 when not.
    CheckConfig {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// keepalived's config-id, as `directord -i`.
        #[arg(short = 'i', long = "config-id", value_name = "ID")]
        config_id: Option<String>,
    },
    /// Fetch a page as HTTP_GET/SSL_GET would and print the MD5 of its body with a
    /// ready-to-paste `digest` line (keepalived's genhash). Needs no daemon.
    Genhash(GenhashArgs),
}

#[derive(Debug, Args)]
pub struct GenhashArgs {
    /// http://HOST[:PORT]/PATH or https://HOST[:PORT]/PATH; HOST is an address ([…] for
    /// IPv6) or a name.
    #[arg(value_name = "URL")]
    pub url: String,

    /// Host header, as a checker's `virtualhost`. Default: the URL's host when it is a
    /// name; for an address, the address and port (as checkers without a virtualhost).
    #[arg(long, value_name = "HOST")]
    pub virtualhost: Option<String>,

    /// 1.0, 1.0C (1.0 with `Connection: close`) or 1.1, as `http_protocol`.
    #[arg(long = "http-protocol", value_name = "VERSION", default_value = "1.0",
          value_parser = genhash::parse_http_protocol)]
    pub http_protocol: HttpProtocol,

    /// Limit of each step (connect, TLS handshake, each read), as `connect_timeout`; the
    /// whole fetch may take twice that.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = genhash::parse_timeout)]
    pub timeout: Duration,

    /// https: send NAME as SNI (as `enable_sni` with `sni_name`). Without it no SNI is sent.
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RealServerAction {
    /// Add what is missing.
    Setup(VipArgs),
    /// Remove the VIPs; reset the ARP switches to 0 once no VIP it added is left.
    Teardown(VipArgs),
    /// Exit 0 when everything is in place, else 1 and list what is missing.
    Check(VipArgs),
}

#[derive(Debug, Args)]
pub struct VipArgs {
    /// A VIP this real server serves (repeat for several).
    #[arg(long = "vip", value_name = "A.B.C.D", required = true)]
    pub vips: Vec<std::net::Ipv4Addr>,
}

#[derive(Debug, Args)]
pub struct DrainArgs {
    /// The service, as VIP:PORT ([VIP]:PORT for IPv6).
    #[arg(
        value_name = "VIP:PORT",
        required_unless_present = "all",
        requires = "real"
    )]
    pub service: Option<std::net::SocketAddr>,

    /// The real server, as IP or IP:PORT (IP alone: every port of that address).
    #[arg(value_name = "REALSERVER", value_parser = maintenance::parse_real)]
    pub real: Option<maintenance::RealArg>,

    /// Drain the whole director: withdraw every VIP, keep the tables.
    #[arg(long, conflicts_with_all = ["service", "real"])]
    pub all: bool,

    /// With --all: then wait until no active connection is left (IPVS counts them) and
    /// say so; Ctrl-C stops waiting, not the drain.
    #[arg(long, requires = "all")]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct UndrainArgs {
    /// The service, as VIP:PORT.
    #[arg(
        value_name = "VIP:PORT",
        required_unless_present = "all",
        requires = "real"
    )]
    pub service: Option<std::net::SocketAddr>,

    /// The real server, as IP or IP:PORT (IP alone also undoes drains of IP:PORT).
    #[arg(value_name = "REALSERVER", value_parser = maintenance::parse_real)]
    pub real: Option<maintenance::RealArg>,

    /// Undo `drain --all`: announce the VIPs again.
    #[arg(long, conflicts_with_all = ["service", "real"])]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ServicesArgs {
    /// Connection, packet and byte counters (like `ipvsadm -Ln --stats`).
    #[arg(long, conflicts_with_all = ["rate", "timeout"])]
    pub stats: bool,

    /// Connections, packets and bytes per second (like `ipvsadm -Ln --rate`; IPVS only,
    /// nftables keeps no rates).
    #[arg(long, conflicts_with = "timeout")]
    pub rate: bool,

    /// The IPVS tcp, tcpfin and udp timeouts (like `ipvsadm -L --timeout`).
    #[arg(long)]
    pub timeout: bool,

    /// Compare the desired tables with the kernel's: services, real servers and weights
    /// missing, extra or different. Exit 1 when they differ.
    #[arg(long, conflicts_with_all = ["stats", "rate", "timeout"])]
    pub diff: bool,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum OspfWhat {
    /// Interfaces with their state, DR and BDR.
    Interfaces,
    /// Neighbors with their state.
    Neighbors,
    /// The link-state database, one line per LSA.
    Database,
    /// Packets received and sent per type, and dropped per reason.
    Counters,
}
