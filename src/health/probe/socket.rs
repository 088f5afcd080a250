//! Sockets the way a checker's connection options ask: `bindto`, `bind_port`, `bind_if`
//! (SO_BINDTODEVICE), `fwmark` (SO_MARK), all bounded by `connect_timeout`.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

use crate::config::model::CheckerCommon;

/// Where the checker connects: `connect_ip`:`connect_port` (the real server by default).
pub fn target(common: &CheckerCommon) -> SocketAddr {
    SocketAddr::new(common.connect_ip, common.connect_port)
}

/// A socket of `kind` with the checker's source address, port, device and mark applied.
fn prepared(common: &CheckerCommon, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let domain = match common.connect_ip {
        IpAddr::V4(_) => Domain::IPV4,
        IpAddr::V6(_) => Domain::IPV6,
    };
    let socket = Socket::new(domain, kind, Some(protocol))?;
    socket.set_nonblocking(true)?;
    if let Some(device) = &common.bind_if {
        socket.bind_device(Some(device.as_bytes()))?;
    }
    if let Some(mark) = common.fwmark {
        socket.set_mark(mark)?;
    }
    if common.bindto.is_some() || common.bind_port.is_some() {
        if common.bind_port.is_some() {
            socket.set_reuse_address(true)?;
        }
        let ip = common.bindto.unwrap_or(match common.connect_ip {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        });
        socket.bind(&SockAddr::from(SocketAddr::new(
            ip,
            common.bind_port.unwrap_or(0),
        )))?;
    }
    Ok(socket)
}

/// Connects over TCP within `connect_timeout`. Errors say what failed (`connection refused`,
/// `timed out after 3s`, …) in words fit for a log line.
pub async fn connect_tcp(common: &CheckerCommon) -> Result<TcpStream, String> {
    let socket = prepared(common, Type::STREAM, Protocol::TCP)
        .map_err(|err| format!("cannot prepare the socket: {err}"))?;
    let target = target(common);
    let stream = tokio::net::TcpSocket::from_std_stream(socket.into());
    match tokio::time::timeout(common.connect_timeout, stream.connect(target)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(err)) => Err(format!("connect to {target}: {err}")),
        Err(_) => Err(format!(
            "connect to {target}: timed out after {}",
            human(common.connect_timeout)
        )),
    }
}

/// A UDP socket connected to the target, so ICMP errors come back as receive errors.
pub fn connect_udp(common: &CheckerCommon) -> Result<UdpSocket, String> {
    let socket = prepared(common, Type::DGRAM, Protocol::UDP)
        .map_err(|err| format!("cannot prepare the socket: {err}"))?;
    let target = target(common);
    socket
        .connect(&SockAddr::from(target))
        .map_err(|err| format!("connect to {target}: {err}"))?;
    UdpSocket::from_std(socket.into()).map_err(|err| format!("udp socket: {err}"))
}

/// How many `connect_timeout`s one whole exchange (connect, request, the last byte of the
/// answer) may take. keepalived bounds only each step (connect, every read, every write) by
/// `connect_timeout`, so a server sending one byte per second holds its check open forever;
/// a second `connect_timeout` leaves a slow but steady server the time keepalived would give
/// it for its answer, and stops the trickler.
const EXCHANGE_TIMEOUTS: u32 = 2;

/// The whole exchange's time limit, for messages.
pub fn exchange_limit(common: &CheckerCommon) -> Duration {
    common.connect_timeout.saturating_mul(EXCHANGE_TIMEOUTS)
}

/// When an exchange starting now must be over; pass it to every [`step`].
pub fn exchange_deadline(common: &CheckerCommon) -> Instant {
    Instant::now() + exchange_limit(common)
}

/// Runs one step of an exchange (`what`: `reading the response`, …) within `connect_timeout`,
/// as keepalived bounds every read and write, and before the exchange's `deadline`. Errors
/// read `timed out reading the response after 3s` or `reading the response: <error>`.
pub async fn step<T>(
    common: &CheckerCommon,
    deadline: Instant,
    what: &str,
    work: impl Future<Output = io::Result<T>>,
) -> Result<T, String> {
    let left = deadline.saturating_duration_since(Instant::now());
    let (limit, whole) = if left < common.connect_timeout {
        (left, true)
    } else {
        (common.connect_timeout, false)
    };
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(format!("{what}: {err}")),
        Err(_) if whole => Err(format!(
            "timed out {what}: the whole exchange may take {}",
            human(exchange_limit(common))
        )),
        Err(_) => Err(format!(
            "timed out {what} after {}",
            human(common.connect_timeout)
        )),
    }
}

/// An ICMP (ICMPv6 for an IPv6 target) socket with the checker's options applied:
/// datagram ("ping socket", needs `net.ipv4.ping_group_range` to include our group) or
/// raw (needs CAP_NET_RAW). Not connected.
pub fn icmp_socket(common: &CheckerCommon, raw: bool) -> io::Result<Socket> {
    let protocol = match common.connect_ip {
        IpAddr::V4(_) => Protocol::ICMPV4,
        IpAddr::V6(_) => Protocol::ICMPV6,
    };
    prepared(common, if raw { Type::RAW } else { Type::DGRAM }, protocol)
}

/// `3s`, `250ms`: durations as the configuration writes them.
pub fn human(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}
