//! The unix control socket: request/response types shared with `directorctl`, the server
//! (read-only requests answered from the published snapshot, the rest by the control
//! loop), and the client.
//!
//! Protocol: one JSON request per line, answered by one JSON reply per line. A connection
//! may carry several requests. Replies are `{"ok": …}` or `{"error": "…"}`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::dataplane_worker::StatsHandle;
use super::snapshot::Snapshot;

/// What a client can ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    Status,
    Services {
        stats: bool,
    },
    OspfInterfaces,
    OspfNeighbors,
    OspfDatabase,
    Vrrp,
    /// BFD sessions: state, timers, last Down reason, counters.
    Bfd,
    Reload,
    Config,
    Metrics,
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

/// Binds the socket, replacing a stale socket file left by a daemon that died, but never
/// one a live daemon still answers on.
pub async fn bind(path: &Path) -> Result<UnixListener, SocketError> {
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
    let listener = UnixListener::bind(path).map_err(io_err)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(io_err)?;
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
    pub stats: StatsHandle,
}

impl Frontdesk {
    pub async fn answer(&self, request: Request) -> Reply {
        let snapshot = self.snapshot.borrow().clone();
        let value = match request {
            Request::Status => serde_json::to_value(&snapshot.status),
            Request::Services { stats: false } => serde_json::to_value(snapshot.services(None)),
            Request::Services { stats: true } => match self.stats.stats().await {
                Ok(counters) => serde_json::to_value(snapshot.services(Some(&counters))),
                Err(err) => return Reply::Error(format!("dataplane statistics: {err}")),
            },
            Request::Metrics => {
                let counters = tokio::time::timeout(STATS_WAIT, self.stats.stats())
                    .await
                    .ok()
                    .and_then(Result::ok);
                Ok(serde_json::Value::String(
                    snapshot.metrics(counters.as_ref()),
                ))
            }
            other => return ask_control(&self.to_control, other).await,
        };
        match value {
            Ok(value) => Reply::Ok(value),
            Err(err) => Reply::Error(format!("cannot encode the answer: {err}")),
        }
    }
}

/// Accepts connections forever, answering each request through the front desk.
pub async fn serve(listener: UnixListener, frontdesk: Frontdesk) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_connection(stream, frontdesk.clone()));
            }
            Err(err) => {
                tracing::warn!(error = %err, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve_connection(stream: UnixStream, frontdesk: Frontdesk) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<Request>(&line) {
            Ok(request) => frontdesk.answer(request).await,
            Err(err) => Reply::Error(format!("malformed request: {err}")),
        };
        let mut text = match serde_json::to_string(&reply) {
            Ok(text) => text,
            Err(err) => format!("{{\"error\":\"cannot encode reply: {err}\"}}"),
        };
        text.push('\n');
        if write.write_all(text.as_bytes()).await.is_err() {
            return;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn request_round_trip_through_server() {
        let dir = std::env::temp_dir().join(format!("director-sock-test-{}", std::process::id()));
        let path = dir.join("ctl.sock");
        let listener = bind(&path).await.expect("bind");
        let (to_control, mut requests) = mpsc::channel(4);
        let (reports, _) = mpsc::unbounded_channel::<crate::dataplane::ReconcileReport>();
        let worker = super::super::dataplane_worker::DataplaneWorker::spawn(
            crate::config::model::DataplaneKind::None,
            crate::dataplane::OpenOptions::default(),
            reports,
        )
        .expect("dataplane thread");
        let status = super::super::views::StatusView {
            version: "test".into(),
            ..Default::default()
        };
        let (_published, snapshot) = watch::channel(Arc::new(Snapshot::starting(status)));
        let frontdesk = Frontdesk {
            to_control,
            snapshot,
            stats: worker.stats_handle(),
        };
        tokio::spawn(serve(listener, frontdesk));
        tokio::spawn(async move {
            while let Some(ControlRequest { request, reply }) = requests.recv().await {
                let _ = reply.send(Reply::Ok(serde_json::json!({ "echo": request })));
            }
        });
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
            Request::Services { stats: true },
            Duration::from_secs(5),
        )
        .await
        .expect("reply");
        assert!(matches!(reply, Reply::Ok(_)), "{reply:?}");
        // A second daemon must not steal the socket of a live one.
        assert!(matches!(bind(&path).await, Err(SocketError::InUse { .. })));
        let _ = std::fs::remove_dir_all(dir);
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
}
