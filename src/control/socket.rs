//! The unix control socket: request/response types shared with `directorctl`, the server
//! (read-only requests answered from the published snapshot, the rest by the control
//! loop), and the client.
//!
//! Protocol: one JSON request per line, answered by one JSON reply per line. A connection
//! may carry several requests. Replies are `{"ok": …}` or `{"error": "…"}`.
//!
//! Limits ([`Limits`]): a request line longer than [`MAX_REQUEST_BYTES`] is answered with an
//! error and the connection closed; a client gets [`REQUEST_TIME`] to deliver each request
//! (silent and slow clients are dropped) and to take each reply; at most [`MAX_CLIENTS`]
//! connections are served at once, the ones beyond are told so and closed at once.

use std::collections::HashSet;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

use super::counters::CountersHandle;
use super::dataplane_worker::StatsHandle;
use super::inspect;
use super::snapshot::{Live, LiveCounters, Snapshot};
use super::views::{ConnectionView, ConnectionsView};
use crate::dataplane::ipvs::listing::IpvsReader;
use crate::dataplane::listing::{self, Listing};
use crate::dataplane::tables::ServiceKey;

/// What a client can ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    Status,
    /// The kernel's tables. `stats`, `rate` and `timeout` choose ipvsadm's layouts (the
    /// answer carries everything either way); `diff` asks instead for the differences
    /// between the desired tables and the kernel's.
    Services {
        stats: bool,
        #[serde(default)]
        diff: bool,
        #[serde(default)]
        rate: bool,
        #[serde(default)]
        timeout: bool,
    },
    /// The connection entries of the dataplane (`ipvsadm -Lnc`).
    Connections,
    OspfInterfaces,
    OspfNeighbors,
    OspfDatabase,
    OspfCounters,
    Vrrp,
    /// BFD sessions: state, timers, last Down reason, counters.
    Bfd,
    Reload,
    Config,
    Metrics,
    /// Withdraw/announce a VIP, drain/undrain a real server or the director.
    Maintenance(crate::policy::maintenance::MaintenanceOp),
}

/// The daemon's answer: a JSON payload whose shape depends on the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Ok(serde_json::Value),
    Error(String),
}

/// A request travelling to the control loop with the channel its answer goes back on.
#[derive(Debug)]
pub struct ControlRequest {
    pub request: Request,
    pub reply: oneshot::Sender<Reply>,
}

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("control socket {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("control socket {path} is in use by a running daemon")]
    InUse { path: PathBuf },
    #[error("control socket {path}: the daemon sent an answer that is not valid JSON: {source}")]
    BadReply {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("control socket {path}: the daemon closed the connection without answering")]
    NoReply { path: PathBuf },
    #[error("control socket {path}: no answer within {timeout:?}")]
    Timeout { path: PathBuf, timeout: Duration },
}

/// Binds the socket for its owner only (mode 0600); see [`bind_with_group`].
pub async fn bind(path: &Path) -> Result<UnixListener, SocketError> {
    bind_with_group(path, None).await
}

/// Binds the socket, replacing a stale socket file left by a daemon that died, but never
/// one a live daemon still answers on. The socket is bound under a temporary name, given
/// its mode (0600, or 0660 and `group`) and only then renamed into place, so no client
/// can connect while it is still open to everyone.
pub async fn bind_with_group(path: &Path, group: Option<u32>) -> Result<UnixListener, SocketError> {
    let io_err = |source| SocketError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err)?;
    }
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(SocketError::InUse {
                path: path.to_path_buf(),
            });
        }
        std::fs::remove_file(path).map_err(io_err)?;
    }
    let staging = path.with_extension(format!("binding.{}", std::process::id()));
    let _ = std::fs::remove_file(&staging);
    let listener = UnixListener::bind(&staging).map_err(io_err)?;
    let placed =
        super::access::restrict(&staging, group).and_then(|()| std::fs::rename(&staging, path));
    if let Err(err) = placed {
        let _ = std::fs::remove_file(&staging);
        return Err(io_err(err));
    }
    Ok(listener)
}

/// How long a read-only request waits for the dataplane's counters before answering
/// without them.
const STATS_WAIT: Duration = Duration::from_secs(2);

/// Answers requests: the read-only ones (status, services, metrics) from the snapshot the
/// control loop publishes, everything else by asking the loop.
#[derive(Clone)]
pub struct Frontdesk {
    pub to_control: mpsc::Sender<ControlRequest>,
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    /// Reads the kernel through the dataplane thread (`services --diff`, nftables listings).
    pub stats: StatsHandle,
    /// The counters the metrics serve, refreshed in the background.
    pub counters: CountersHandle,
}

impl Frontdesk {
    pub async fn answer(&self, request: Request) -> Reply {
        let snapshot = self.snapshot.borrow().clone();
        let value = match request {
            Request::Status => serde_json::to_value(&snapshot.status),
            Request::Services { diff: true, .. } => match self.stats.stats().await {
                Ok(counters) => serde_json::to_value(snapshot.diff(&counters)),
                Err(err) => return Reply::Error(format!("dataplane statistics: {err}")),
            },
            Request::Services { .. } => match self.kernel_listing(&snapshot).await {
                Ok(listing) => serde_json::to_value(snapshot.listed(&listing)),
                Err(err) => return Reply::Error(err),
            },
            Request::Connections => match connections(&snapshot).await {
                Ok(view) => serde_json::to_value(view),
                Err(err) => return Reply::Error(err),
            },
            Request::Metrics => Ok(serde_json::Value::String(
                snapshot.metrics(&self.live(&snapshot).await),
            )),
            other => return ask_control(&self.to_control, other).await,
        };
        match value {
            Ok(value) => Reply::Ok(value),
            Err(err) => Reply::Error(format!("cannot encode the answer: {err}")),
        }
    }
}

/// How long a kernel listing (services, connections) may take before the request fails.
const LISTING_WAIT: Duration = Duration::from_secs(8);

impl Frontdesk {
    /// What the kernel holds: IPVS is read directly (every service, ours or not); the
    /// nftables backend lists what its statistics read back from its own tables.
    async fn kernel_listing(&self, snapshot: &Snapshot) -> Result<Listing, String> {
        if snapshot.backend == "ipvs" {
            let read = tokio::task::spawn_blocking(|| IpvsReader::open()?.read());
            return match tokio::time::timeout(LISTING_WAIT, read).await {
                Ok(Ok(Ok(listing))) => Ok(listing),
                Ok(Ok(Err(err))) => Err(format!("reading the IPVS tables: {err}")),
                Ok(Err(err)) => Err(format!("reading the IPVS tables: {err}")),
                Err(_) => Err(format!(
                    "reading the IPVS tables took longer than {LISTING_WAIT:?}"
                )),
            };
        }
        match tokio::time::timeout(LISTING_WAIT, self.stats.stats()).await {
            Ok(Ok(stats)) => Ok(inspect::kernel_listing_from_stats(
                &snapshot.desired,
                &stats,
            )),
            Ok(Err(err)) => Err(format!("dataplane statistics: {err}")),
            Err(_) => Err(format!(
                "the dataplane did not answer within {LISTING_WAIT:?}"
            )),
        }
    }

    /// Reads the dataplane's counters (as last read in the background, see `counters.rs`)
    /// and the OSPF and VRRP status at once, each given [`STATS_WAIT`]: one that does not
    /// answer in time is left out of the scrape. Without services there are no counters
    /// to show, and none are asked for (so a VRRP-only director never loads `ip_vs`).
    async fn live(&self, snapshot: &Snapshot) -> Live {
        let tables = async {
            if snapshot.desired.services.is_empty() {
                return None;
            }
            let published = self.counters.current(STATS_WAIT).await;
            published.reading.map(|reading| LiveCounters {
                age: reading.started.elapsed(),
                stats: reading.stats,
                took: reading.took,
            })
        };
        let ospf = async {
            let reader = snapshot.ospf.as_ref()?;
            tokio::time::timeout(STATS_WAIT, reader.status())
                .await
                .ok()
                .and_then(Result::ok)
        };
        let vrrp = async {
            let reader = snapshot.vrrp.as_ref()?;
            tokio::time::timeout(STATS_WAIT, reader.status())
                .await
                .ok()
                .and_then(Result::ok)
        };
        let (tables, ospf, vrrp) = tokio::join!(tables, ospf, vrrp);
        Live { tables, ospf, vrrp }
    }
}

/// The connection table of the backend: IPVS's `/proc/net/ip_vs_conn`; for nftables the
/// kernel's conntrack entries whose original destination is a service of ours.
async fn connections(snapshot: &Snapshot) -> Result<ConnectionsView, String> {
    let backend = snapshot.backend.clone();
    let services: HashSet<(IpAddr, u16)> = snapshot
        .desired
        .services
        .iter()
        .filter_map(|s| match s.spec.key {
            ServiceKey::Addr { addr, port, .. } => Some((addr, port)),
            ServiceKey::Fwmark { .. } => None,
        })
        .collect();
    let name = backend.clone();
    let read = tokio::task::spawn_blocking(move || match name.as_str() {
        "ipvs" => listing::read_table(listing::IPVS_CONN, listing::parse_ipvs_conn)
            .map(|c| (c, None))
            .map_err(|err| {
                format!(
                    "{}: {err} (is the ip_vs module loaded?)",
                    listing::IPVS_CONN
                )
            }),
        "nftables" => listing::read_table(listing::NF_CONNTRACK, |line| {
            listing::parse_conntrack(line, |addr, port| services.contains(&(addr, port)))
        })
        .map(|c| {
            let note = "only NAT connections are tracked: DR services are forwarded at \
                        ingress, before conntrack";
            (c, Some(note.to_string()))
        })
        .map_err(|err| {
            format!(
                "{}: {err}: the nftables backend lists the kernel's conntrack entries from \
                 there (needs nf_conntrack with CONFIG_NF_CONNTRACK_PROCFS; else use \
                 `conntrack -L`)",
                listing::NF_CONNTRACK
            )
        }),
        _ => Err("the `none` dataplane forwards nothing, so it has no connections".to_string()),
    });
    let (table, note) = match tokio::time::timeout(LISTING_WAIT, read).await {
        Ok(Ok(result)) => result?,
        Ok(Err(err)) => return Err(format!("reading the connection table: {err}")),
        Err(_) => {
            return Err(format!(
                "reading the connection table took longer than {LISTING_WAIT:?}"
            ))
        }
    };
    Ok(ConnectionsView {
        backend,
        total: table.total,
        entries: table
            .entries
            .into_iter()
            .map(|c| ConnectionView {
                protocol: c.protocol,
                expires: c.expires,
                state: c.state,
                source: c.source,
                virtual_address: c.virtual_address,
                destination: c.destination,
            })
            .collect(),
        note,
    })
}

/// Longest request line (the longest real request is under 40 bytes).
pub const MAX_REQUEST_BYTES: usize = 4096;
/// Time a client has to deliver one request line, and to take one reply.
pub const REQUEST_TIME: Duration = Duration::from_secs(10);
/// Connections served at once.
pub const MAX_CLIENTS: usize = 64;

/// What a control-socket (or metrics) client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_request_bytes: usize,
    pub request_time: Duration,
    pub max_clients: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_bytes: MAX_REQUEST_BYTES,
            request_time: REQUEST_TIME,
            max_clients: MAX_CLIENTS,
        }
    }
}

/// Accepts connections forever, answering each request through the front desk.
pub async fn serve(listener: UnixListener, frontdesk: Frontdesk) {
    serve_with(listener, frontdesk, Limits::default()).await
}

/// [`serve`] with explicit limits (tests use short times).
pub async fn serve_with(listener: UnixListener, frontdesk: Frontdesk, limits: Limits) {
    let slots = Arc::new(Semaphore::new(limits.max_clients));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => match slots.clone().try_acquire_owned() {
                Ok(slot) => {
                    let frontdesk = frontdesk.clone();
                    tokio::spawn(async move {
                        serve_connection(stream, frontdesk, limits).await;
                        drop(slot);
                    });
                }
                Err(_) => {
                    // Never wait for this client: one non-blocking try, then close.
                    let _ = stream.try_write(BUSY_REPLY.as_bytes());
                }
            },
            Err(err) => {
                tracing::warn!(error = %err, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

const BUSY_REPLY: &str = "{\"error\":\"too many control connections, try again\"}\n";

/// Why a request line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("request longer than {0} bytes")]
    TooLong(usize),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads one line into `line` (without its `\n`), refusing to buffer more than `max` bytes.
/// `Ok(false)`: the client closed the connection before sending anything more.
pub async fn read_line_bounded<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
    line: &mut Vec<u8>,
) -> Result<bool, LineError> {
    line.clear();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(!line.is_empty());
        }
        let (take, found) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at, true),
            None => (available.len(), false),
        };
        if line.len() + take > max {
            return Err(LineError::TooLong(max));
        }
        line.extend_from_slice(&available[..take]);
        reader.consume(take + usize::from(found));
        if found {
            return Ok(true);
        }
    }
}

/// A request line as the server reads it: `None` for a blank line (ignored).
pub fn parse_request(line: &[u8]) -> Option<Result<Request, String>> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(serde_json::from_slice::<Request>(line).map_err(|err| format!("malformed request: {err}")))
}

/// One reply line, newline included.
pub fn reply_line(reply: &Reply) -> String {
    let mut text = match serde_json::to_string(reply) {
        Ok(text) => text,
        Err(err) => format!("{{\"error\":\"cannot encode reply: {err}\"}}"),
    };
    text.push('\n');
    text
}

async fn serve_connection(stream: UnixStream, frontdesk: Frontdesk, limits: Limits) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        let read = tokio::time::timeout(
            limits.request_time,
            read_line_bounded(&mut reader, limits.max_request_bytes, &mut line),
        )
        .await;
        let reply = match read {
            Err(_) => {
                tracing::debug!("control client sent no complete request in time, closing");
                return;
            }
            Ok(Ok(false)) | Ok(Err(LineError::Io(_))) => return,
            Ok(Err(err @ LineError::TooLong(_))) => {
                let text = reply_line(&Reply::Error(err.to_string()));
                let _ = tokio::time::timeout(limits.request_time, write.write_all(text.as_bytes()))
                    .await;
                return;
            }
            Ok(Ok(true)) => match parse_request(&line) {
                None => continue,
                Some(Ok(request)) => frontdesk.answer(request).await,
                Some(Err(message)) => Reply::Error(message),
            },
        };
        let text = reply_line(&reply);
        match tokio::time::timeout(limits.request_time, write.write_all(text.as_bytes())).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}

async fn ask_control(to_control: &mpsc::Sender<ControlRequest>, request: Request) -> Reply {
    let (reply, answer) = oneshot::channel();
    if to_control
        .send(ControlRequest { request, reply })
        .await
        .is_err()
    {
        return Reply::Error("the daemon is shutting down".into());
    }
    answer
        .await
        .unwrap_or_else(|_| Reply::Error("the daemon dropped the request".into()))
}

/// Sends one request and waits for its reply (used by `directorctl`).
pub async fn request(
    path: &Path,
    request: Request,
    timeout: Duration,
) -> Result<Reply, SocketError> {
    let exchange = async {
        let io_err = |source| SocketError::Io {
            path: path.to_path_buf(),
            source,
        };
        let stream = UnixStream::connect(path).await.map_err(io_err)?;
        let (read, mut write) = stream.into_split();
        let mut line = serde_json::to_string(&request).map_err(|source| SocketError::BadReply {
            path: path.to_path_buf(),
            source,
        })?;
        line.push('\n');
        write.write_all(line.as_bytes()).await.map_err(io_err)?;
        let mut lines = BufReader::new(read).lines();
        let answer =
            lines
                .next_line()
                .await
                .map_err(io_err)?
                .ok_or_else(|| SocketError::NoReply {
                    path: path.to_path_buf(),
                })?;
        serde_json::from_str(&answer).map_err(|source| SocketError::BadReply {
            path: path.to_path_buf(),
            source,
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| SocketError::Timeout {
            path: path.to_path_buf(),
            timeout,
        })?
}

/// A front desk over a starting snapshot (version "test") whose control loop echoes each
/// request; for tests of the servers.
#[cfg(test)]
pub(crate) fn test_frontdesk() -> Frontdesk {
    let (to_control, mut requests) = mpsc::channel(4);
    let (reports, _) = mpsc::unbounded_channel::<crate::dataplane::ReconcileReport>();
    let worker = super::dataplane_worker::DataplaneWorker::spawn(
        crate::config::model::DataplaneKind::None,
        crate::dataplane::OpenOptions::default(),
        reports,
    )
    .expect("dataplane thread");
    let status = super::views::StatusView {
        version: "test".into(),
        ..Default::default()
    };
    let (published, snapshot) = watch::channel(Arc::new(Snapshot::starting(status)));
    let frontdesk = Frontdesk {
        to_control,
        snapshot,
        stats: worker.stats_handle(),
        counters: worker.counters_handle(),
    };
    tokio::spawn(async move {
        let _keep = (published, worker);
        while let Some(ControlRequest { request, reply }) = requests.recv().await {
            let _ = reply.send(Reply::Ok(serde_json::json!({ "echo": request })));
        }
    });
    frontdesk
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server with a front desk over a starting snapshot and a loop that echoes; returns
    /// the socket path (the directory is removed by the returned guard).
    async fn start_server(name: &str, limits: Limits) -> (TempDir, PathBuf) {
        let dir = TempDir(
            std::env::temp_dir().join(format!("director-sock-{name}-{}", std::process::id())),
        );
        let path = dir.0.join("ctl.sock");
        let listener = bind(&path).await.expect("bind");
        tokio::spawn(serve_with(listener, test_frontdesk(), limits));
        (dir, path)
    }

    struct TempDir(PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    async fn status_ok(path: &Path) -> bool {
        matches!(
            super::request(path, Request::Status, Duration::from_secs(2)).await,
            Ok(Reply::Ok(_))
        )
    }

    /// Reads what the server sends until it closes (or `within` passes: then None).
    async fn read_to_close(stream: &mut UnixStream, within: Duration) -> Option<String> {
        use tokio::io::AsyncReadExt;
        let mut all = Vec::new();
        tokio::time::timeout(within, stream.read_to_end(&mut all))
            .await
            .ok()?
            .ok()?;
        Some(String::from_utf8_lossy(&all).into_owned())
    }

    #[tokio::test]
    async fn request_round_trip_through_server() {
        let (_dir, path) = start_server("roundtrip", Limits::default()).await;
        // A request that changes something goes to the control loop…
        let reply = super::request(&path, Request::Reload, Duration::from_secs(5))
            .await
            .expect("reply");
        assert_eq!(reply, Reply::Ok(serde_json::json!({ "echo": "reload" })));
        // …a read-only one is answered from the snapshot, without the loop.
        let reply = super::request(&path, Request::Status, Duration::from_secs(5))
            .await
            .expect("reply");
        let Reply::Ok(status) = reply else {
            panic!("status: {reply:?}")
        };
        assert_eq!(status["version"], "test");
        let reply = super::request(
            &path,
            Request::Services {
                stats: true,
                diff: false,
                rate: false,
                timeout: false,
            },
            Duration::from_secs(5),
        )
        .await
        .expect("reply");
        assert!(matches!(reply, Reply::Ok(_)), "{reply:?}");
        // A second daemon must not steal the socket of a live one.
        assert!(matches!(bind(&path).await, Err(SocketError::InUse { .. })));
    }

    #[tokio::test]
    async fn oversized_request_is_refused_and_the_server_keeps_answering() {
        let (_dir, path) = start_server("oversized", Limits::default()).await;
        let mut stream = UnixStream::connect(&path).await.expect("connect");
        let (mut read, mut write) = stream.split();
        // A megabyte without a newline: the server must not buffer it.
        let flood = async {
            let _ = write.write_all(&vec![b'x'; 1 << 20]).await;
        };
        let answer = async {
            let mut lines = BufReader::new(&mut read).lines();
            lines.next_line().await
        };
        let (_, answer) = tokio::join!(
            tokio::time::timeout(Duration::from_secs(5), flood),
            tokio::time::timeout(Duration::from_secs(5), answer)
        );
        let line = answer
            .expect("answered in time")
            .expect("read")
            .expect("a line");
        let reply: Reply = serde_json::from_str(&line).expect("json");
        assert_eq!(
            reply,
            Reply::Error(format!("request longer than {MAX_REQUEST_BYTES} bytes"))
        );
        assert!(status_ok(&path).await);
    }

    #[tokio::test]
    async fn garbage_gets_an_error_and_the_connection_stays_usable() {
        let (_dir, path) = start_server("garbage", Limits::default()).await;
        let stream = UnixStream::connect(&path).await.expect("connect");
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        for garbage in [
            &b"\xff\xfe{\"status\"\x00\n"[..],
            b"{\"services\":{\"stats\":\"yes\"}}\n",
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
            b"\"reload\" trailing\n",
        ] {
            write.write_all(garbage).await.expect("write");
            let line = lines.next_line().await.expect("read").expect("line");
            let reply: Reply = serde_json::from_str(&line).expect("json");
            assert!(
                matches!(&reply, Reply::Error(e) if e.starts_with("malformed request")),
                "{reply:?}"
            );
        }
        // Blank lines are skipped, and the next request is answered.
        write.write_all(b"\n  \n\"status\"\n").await.expect("write");
        let line = lines.next_line().await.expect("read").expect("line");
        assert!(line.starts_with("{\"ok\""), "{line}");
    }

    #[tokio::test]
    async fn silent_and_slow_clients_are_dropped_without_stalling_others() {
        let limits = Limits {
            request_time: Duration::from_millis(300),
            ..Limits::default()
        };
        let (_dir, path) = start_server("slow", limits).await;
        let started = std::time::Instant::now();
        let mut silent = UnixStream::connect(&path).await.expect("connect");
        let slow = UnixStream::connect(&path).await.expect("connect");
        // The slow client sends a byte every 50 ms and never finishes its line.
        let (mut slow_read, mut slow_write) = slow.into_split();
        let dribble = tokio::spawn(async move {
            for _ in 0..100 {
                if slow_write.write_all(b" ").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        // Others are answered meanwhile.
        assert!(status_ok(&path).await);
        assert_eq!(
            read_to_close(&mut silent, Duration::from_secs(3))
                .await
                .as_deref(),
            Some("")
        );
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(
            Duration::from_secs(3),
            tokio::io::AsyncReadExt::read_to_end(&mut slow_read, &mut rest),
        )
        .await;
        assert!(closed.is_ok(), "a dribbling client is cut off");
        // Cut off by the server: the client was still dribbling (it would for 5 s).
        assert!(!dribble.is_finished() && started.elapsed() < Duration::from_secs(5));
        dribble.abort();
        assert!(status_ok(&path).await);
    }

    #[tokio::test]
    async fn a_thousand_connections_neither_crash_nor_stall_the_server() {
        let limits = Limits {
            request_time: Duration::from_millis(500),
            max_clients: 16,
            ..Limits::default()
        };
        let (_dir, path) = start_server("thousand", limits).await;
        let mut held = Vec::new();
        let mut refused = 0;
        for _ in 0..1000 {
            match UnixStream::connect(&path).await {
                Ok(stream) => held.push(stream),
                Err(_) => refused += 1, // a full accept backlog
            }
        }
        assert!(
            held.len() >= 100,
            "{} connected, {refused} refused",
            held.len()
        );
        // Beyond the 16 served, clients are told at once and closed, not left hanging.
        let mut busy = 0;
        for stream in held.iter_mut().skip(100).take(50) {
            let text = read_to_close(stream, Duration::from_secs(3))
                .await
                .expect("closed in time");
            busy += usize::from(text.contains("too many control connections"));
        }
        assert!(busy > 0, "none of the excess clients was turned away");
        // Once the silent ones time out, a real client is answered, with the flood still open.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !status_ok(&path).await {
            assert!(std::time::Instant::now() < deadline, "the server stalled");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(held);
        assert!(status_ok(&path).await);
    }

    #[tokio::test]
    async fn stale_socket_file_is_replaced() {
        let dir = std::env::temp_dir().join(format!("director-sock-stale-{}", std::process::id()));
        let path = dir.join("ctl.sock");
        drop(bind(&path).await.expect("first bind"));
        assert!(path.exists(), "a dropped listener leaves its file behind");
        bind(&path).await.expect("rebind over a stale socket");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn the_socket_is_not_world_accessible() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = std::env::temp_dir().join(format!("director-sock-mode-{}", std::process::id()));
        let path = dir.join("ctl.sock");
        let listener = bind(&path).await.expect("bind");
        let meta = std::fs::metadata(&path).expect("socket file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "owner only");
        drop(listener);
        // With a group (our own, which we may always chown to): 0660 and that group.
        let gid = std::fs::metadata(&dir).expect("dir").gid();
        let _listener = bind_with_group(&path, Some(gid)).await.expect("bind");
        let meta = std::fs::metadata(&path).expect("socket file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o660);
        assert_eq!(meta.gid(), gid);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name() != "ctl.sock")
            .collect();
        assert!(leftovers.is_empty(), "staging files left: {leftovers:?}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
