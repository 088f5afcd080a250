//! The tokio runtime around [`Session`]s (RFC 5881, single hop over IPv4).
//!
//! ```text
//!  Handle ──Command──▶ ┌─────────────────────────┐ ──Event──▶ control loop
//!  rx task (UDP 3784) ─▶│ owner task: every        │ ──try_send_to──▶ one UDP socket per
//!                       │ Session, one deadline   │                 session (its own
//!                       └─────────────────────────┘                 source port, TTL 255)
//! ```
//!
//! **One owner task for every session, not one task per session**, as `ospf::runtime`:
//! sessions share one receive socket (port 3784 is one port per namespace, so the packets
//! must be demultiplexed in one place anyway, RFC 5880 §6.3 / §6.8.6, RFC 5881 §3), the owner
//! sleeps until the earliest deadline of all sessions, and no state is shared or locked.
//! A session costs a socket and a few hundred bytes; at 100 ms × 3 a few hundred sessions
//! are a few thousand wakeups per second, well within one task.
//!
//! Sockets:
//! - receive: `0.0.0.0:3784`, `IP_RECVTTL` (the TTL must be 255 without authentication,
//!   RFC 5881 §5, checked by the session) and `IP_PKTINFO` (the arrival interface: a packet
//!   with Your Discriminator 0 is matched on source address *and* interface, RFC 5881 §3);
//! - transmit, one per session: bound to the interface (`SO_BINDTODEVICE`), the local
//!   address if given, and a source port chosen at random in 49152–65535 that stays the
//!   same for the life of the session (RFC 5881 §4); TTL 255 (§5); TOS 0xc0 (network
//!   control, as BIRD and FRR).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::io::IoSliceMut;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::socket::{self, sockopt, ControlMessageOwned, MsgFlags, SockaddrIn};
use serde::Serialize;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::packet::{Diag, Packet, State};
use crate::session::{Input, Output, Session, SessionConfig, SessionStatus};

/// RFC 5881 §4: "BFD Control packets MUST be transmitted in UDP packets with destination
/// port 3784".
pub const CONTROL_PORT: u16 = 3784;
/// RFC 5881 §4: "The source port MUST be in the range 49152 through 65535."
pub const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;

/// A session is identified by its peer and the interface it is reached on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SessionKey {
    pub peer: Ipv4Addr,
    pub ifname: String,
}

impl std::fmt::Display for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}%{}", self.peer, self.ifname)
    }
}

/// What reports to the control loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum Event {
    StateChange {
        key: SessionKey,
        from: State,
        to: State,
        diag: &'static str,
        /// The peer said AdminDown: RFC 5882 §3.2, "the receiving system [...] MUST NOT
        /// indicate a connectivity failure to any client" — not a reason to drop routes.
        remote_admin_down: bool,
    },
}

/// One session as `status()` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    pub peer: Ipv4Addr,
    pub ifname: String,
    pub local: Option<Ipv4Addr>,
    pub source_port: u16,
    #[serde(flatten)]
    pub status: SessionStatus,
}

/// The speaker's status: its sessions and the drops that matched no session.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub sessions: Vec<SessionInfo>,
    /// Packets discarded before a session was found (reason → count): codec errors and
    /// "no session" (RFC 5880 §6.8.6).
    pub drops: BTreeMap<&'static str, u64>,
}

enum Command {
    Add {
        key: SessionKey,
        local: Option<Ipv4Addr>,
        config: SessionConfig,
    },
    Remove(SessionKey),
    Configure(SessionKey, SessionConfig),
    Status(oneshot::Sender<Status>),
    Shutdown(oneshot::Sender<()>),
}

/// Commands to the speaker; cheap to clone.
#[derive(Clone, Debug)]
pub struct Handle {
    tx: mpsc::UnboundedSender<Command>,
}

#[derive(Debug, thiserror::Error)]
#[error("the BFD speaker has stopped")]
pub struct Stopped;

impl Handle {
    /// Starts a session to `key.peer` on `key.ifname` (idempotent: an existing session
    /// only takes the new configuration, through a Poll Sequence if Up).
    pub fn add(&self, key: SessionKey, local: Option<Ipv4Addr>, config: SessionConfig) {
        let _ = self.tx.send(Command::Add { key, local, config });
    }

    /// Stops a session: it says AdminDown once and is forgotten. RFC 5880 §6.8.16 asks
    /// (SHOULD) for AdminDown packets during at least a Detection Time; the session is
    /// gone right after the one packet, and a peer that misses it falls back to detection.
    pub fn remove(&self, key: SessionKey) {
        let _ = self.tx.send(Command::Remove(key));
    }

    pub fn configure(&self, key: SessionKey, config: SessionConfig) {
        let _ = self.tx.send(Command::Configure(key, config));
    }

    pub async fn status(&self) -> Result<Status, Stopped> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Command::Status(tx)).map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }

    /// Every session says AdminDown, then the task stops.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

struct Received {
    bytes: Vec<u8>,
    src: Ipv4Addr,
    ttl: Option<u8>,
    ifindex: Option<u32>,
}

struct Entry {
    key: SessionKey,
    ifindex: u32,
    local: Option<Ipv4Addr>,
    port: u16,
    /// Non-blocking and never registered with the reactor: sends are one `sendto` each
    /// (tokio's `try_send_to` refuses until the reactor has seen the socket writable).
    socket: Socket,
    session: Session,
}

/// Binds UDP 3784 and starts the speaker (inside a tokio runtime).
pub fn spawn() -> io::Result<(Handle, mpsc::UnboundedReceiver<Event>)> {
    let rx_sock = rx_socket()?;
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let (pkt_tx, pkt_rx) = mpsc::channel(1024);
    let rx_task = tokio::spawn(rx_loop(rx_sock, pkt_tx));
    tokio::spawn(async move {
        let mut owner = Owner {
            sessions: HashMap::new(),
            by_peer: HashMap::new(),
            drops: BTreeMap::new(),
            events: ev_tx,
        };
        owner.run(cmd_rx, pkt_rx).await;
        rx_task.abort();
    });
    Ok((Handle { tx: cmd_tx }, ev_rx))
}

fn rx_socket() -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    socket::setsockopt(&s, sockopt::Ipv4RecvTtl, &true).map_err(io::Error::from)?;
    socket::setsockopt(&s, sockopt::Ipv4PacketInfo, &true).map_err(io::Error::from)?;
    let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CONTROL_PORT));
    s.bind(&addr.into())?;
    UdpSocket::from_std(s.into())
}

fn tx_socket(ifname: &str, local: Option<Ipv4Addr>) -> io::Result<(Socket, u16)> {
    let mut last = io::Error::other("no source port");
    for _ in 0..64 {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        // RFC 5881 §5: "MUST be sent with a TTL or Hop Limit value of 255".
        s.set_ttl(255)?;
        s.set_tos(0xc0)?;
        s.bind_device(Some(ifname.as_bytes()))?;
        s.set_nonblocking(true)?;
        let port = rand::random_range(SOURCE_PORTS);
        let addr = SocketAddrV4::new(local.unwrap_or(Ipv4Addr::UNSPECIFIED), port);
        match s.bind(&SocketAddr::V4(addr).into()) {
            Ok(()) => return Ok((s, port)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

async fn rx_loop(sock: UdpSocket, out: mpsc::Sender<Received>) {
    let mut buf = [0u8; 1500];
    loop {
        let r = sock
            .async_io(Interest::READABLE, || {
                let mut iov = [IoSliceMut::new(&mut buf)];
                let mut cmsg = nix::cmsg_space!(libc::in_pktinfo, libc::c_int);
                let msg = socket::recvmsg::<SockaddrIn>(
                    sock.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg[..]),
                    MsgFlags::empty(),
                )
                .map_err(io::Error::from)?;
                let (mut ttl, mut ifindex) = (None, None);
                if let Ok(cmsgs) = msg.cmsgs() {
                    for c in cmsgs {
                        match c {
                            ControlMessageOwned::Ipv4Ttl(t) => ttl = u8::try_from(t).ok(),
                            ControlMessageOwned::Ipv4PacketInfo(info) => {
                                ifindex = u32::try_from(info.ipi_ifindex).ok()
                            }
                            _ => {}
                        }
                    }
                }
                let src = msg.address.map(|a| a.ip()).unwrap_or(Ipv4Addr::UNSPECIFIED);
                Ok((msg.bytes, src, ttl, ifindex))
            })
            .await;
        match r {
            Ok((n, src, ttl, ifindex)) => {
                let pkt = Received {
                    bytes: buf[..n].to_vec(),
                    src,
                    ttl,
                    ifindex,
                };
                if out.send(pkt).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                warn!(error = %e, "BFD receive failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

struct Owner {
    /// By local discriminator.
    sessions: HashMap<u32, Entry>,
    /// (peer, ifindex) → local discriminator, for packets with Your Discriminator 0.
    by_peer: HashMap<(Ipv4Addr, u32), u32>,
    drops: BTreeMap<&'static str, u64>,
    events: mpsc::UnboundedSender<Event>,
}

impl Owner {
    async fn run(
        &mut self,
        mut cmds: mpsc::UnboundedReceiver<Command>,
        mut pkts: mpsc::Receiver<Received>,
    ) {
        loop {
            let wake = self
                .sessions
                .values()
                .filter_map(|e| e.session.next_wakeup())
                .min();
            let sleep = async {
                match wake {
                    Some(w) => tokio::time::sleep_until(tokio::time::Instant::from_std(w)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    None => return self.shutdown(),
                    Some(Command::Shutdown(done)) => {
                        self.shutdown();
                        let _ = done.send(());
                        return;
                    }
                    Some(c) => self.command(c),
                },
                Some(p) = pkts.recv() => self.packet(p),
                () = sleep => self.timers(),
            }
        }
    }

    fn command(&mut self, c: Command) {
        let now = Instant::now();
        match c {
            Command::Add { key, local, config } => {
                if let Some(d) = self.find(&key) {
                    self.input(d, now, Input::Configure(&config));
                    return;
                }
                let ifindex = match nix::net::if_::if_nametoindex(key.ifname.as_str()) {
                    Ok(i) => i,
                    Err(e) => {
                        warn!(session = %key, error = %e, "BFD session not started: no such interface");
                        return;
                    }
                };
                let (socket, port) = match tx_socket(&key.ifname, local) {
                    Ok(s) => s,
                    Err(e) => {
                        warn!(session = %key, error = %e, "BFD session not started: socket");
                        return;
                    }
                };
                let discr = loop {
                    let d: u32 = rand::random();
                    if d != 0 && !self.sessions.contains_key(&d) {
                        break d;
                    }
                };
                let session = Session::new(discr, config, now, rand::random());
                info!(session = %key, local_discriminator = discr, source_port = port, "BFD session started");
                self.by_peer.insert((key.peer, ifindex), discr);
                self.sessions.insert(
                    discr,
                    Entry {
                        key,
                        ifindex,
                        local,
                        port,
                        socket,
                        session,
                    },
                );
                self.input(discr, now, Input::Timer);
            }
            Command::Remove(key) => {
                if let Some(d) = self.find(&key) {
                    self.input(d, now, Input::AdminDown);
                    if let Some(e) = self.sessions.remove(&d) {
                        self.by_peer.remove(&(e.key.peer, e.ifindex));
                        info!(session = %e.key, "BFD session removed");
                    }
                }
            }
            Command::Configure(key, cfg) => {
                if let Some(d) = self.find(&key) {
                    self.input(d, now, Input::Configure(&cfg));
                }
            }
            Command::Status(reply) => {
                let mut sessions: Vec<SessionInfo> = self
                    .sessions
                    .values()
                    .map(|e| SessionInfo {
                        peer: e.key.peer,
                        ifname: e.key.ifname.clone(),
                        local: e.local,
                        source_port: e.port,
                        status: e.session.status(now),
                    })
                    .collect();
                sessions.sort_by(|a, b| (a.peer, &a.ifname).cmp(&(b.peer, &b.ifname)));
                let _ = reply.send(Status {
                    sessions,
                    drops: self.drops.clone(),
                });
            }
            Command::Shutdown(_) => {}
        }
    }

    fn find(&self, key: &SessionKey) -> Option<u32> {
        self.sessions
            .iter()
            .find(|(_, e)| &e.key == key)
            .map(|(d, _)| *d)
    }

    fn drop_packet(&mut self, reason: &'static str, src: Ipv4Addr) {
        *self.drops.entry(reason).or_default() += 1;
        debug!(%src, reason, "BFD packet dropped");
    }

    /// RFC 5880 §6.8.6 demultiplexing: by Your Discriminator when nonzero, otherwise by
    /// source address and arrival interface (RFC 5881 §3).
    fn packet(&mut self, p: Received) {
        let view = match Packet::new_checked(&p.bytes[..]) {
            Ok(v) => v,
            Err(e) => return self.drop_packet(e.reason(), p.src),
        };
        let discr = if view.your_discr() != 0 {
            self.sessions
                .contains_key(&view.your_discr())
                .then_some(view.your_discr())
        } else {
            p.ifindex
                .and_then(|i| self.by_peer.get(&(p.src, i)).copied())
        };
        let Some(d) = discr else {
            return self.drop_packet("no_session", p.src);
        };
        self.input(
            d,
            Instant::now(),
            Input::Packet {
                bytes: &p.bytes,
                ttl: p.ttl,
            },
        );
    }

    fn timers(&mut self) {
        let now = Instant::now();
        let due: Vec<u32> = self
            .sessions
            .iter()
            .filter(|(_, e)| e.session.next_wakeup().is_some_and(|w| w <= now))
            .map(|(d, _)| *d)
            .collect();
        for d in due {
            self.input(d, now, Input::Timer);
        }
    }

    fn input(&mut self, d: u32, now: Instant, input: Input<'_>) {
        let Some(e) = self.sessions.get_mut(&d) else {
            return;
        };
        let mut out = Vec::new();
        e.session.handle(now, input, &mut out);
        for o in out {
            match o {
                Output::Send(bytes) => {
                    let to = SocketAddr::V4(SocketAddrV4::new(e.key.peer, CONTROL_PORT));
                    if let Err(err) = e.socket.send_to(&bytes, &to.into()) {
                        debug!(session = %e.key, error = %err, "BFD send failed");
                    }
                }
                Output::StateChange { from, to, diag } => {
                    log_transition(&e.key, from, to, diag);
                    let _ = self.events.send(Event::StateChange {
                        key: e.key.clone(),
                        from,
                        to,
                        diag: diag.name(),
                        remote_admin_down: e.session.remote_state() == State::AdminDown,
                    });
                }
                Output::Dropped(reason) => {
                    debug!(session = %e.key, reason = reason.reason(), "BFD packet dropped");
                }
            }
        }
    }

    fn shutdown(&mut self) {
        let now = Instant::now();
        let all: Vec<u32> = self.sessions.keys().copied().collect();
        for d in all {
            self.input(d, now, Input::AdminDown);
        }
        self.sessions.clear();
        self.by_peer.clear();
    }
}

/// One INFO line per transition (DESIGN.md: every state change is one structured line).
fn log_transition(key: &SessionKey, from: State, to: State, diag: Diag) {
    info!(
        peer = %key.peer,
        interface = %key.ifname,
        %from,
        %to,
        diag = diag.name(),
        "BFD session {from} -> {to}"
    );
}
