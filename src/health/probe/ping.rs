//! PING_CHECK: one ICMP (ICMPv6) echo request, up if the matching echo reply comes back
//! within `connect_timeout` (keepalived's check_ping.c: `ping_it`/`recv_it`,
//! `ping6_it`/`recv6_it`). `bindto`, `bind_if` and `fwmark` apply to the socket.
//!
//! The socket is an unprivileged ICMP datagram socket when `net.ipv4.ping_group_range`
//! admits our group (it governs ICMPv6 too), else a raw socket, which needs root
//! (CAP_NET_RAW). keepalived rewrites `ping_group_range` to admit root; a health checker
//! has no business changing host sysctls, so this one falls back to a raw socket instead.
//!
//! Matching: with a datagram socket the kernel replaces our identifier with its own and
//! delivers only replies to it, so a reply is ours by its sequence number and payload.
//! A raw socket sees every ICMP packet the host receives (our own request too, on
//! loopback), so the identifier must match as well. The payload is keepalived's filler
//! text (128 bytes, as its `ICMP_BUFSIZE`) led by 16 random bytes, so a late reply to an
//! earlier probe never counts. Anything else is ignored until the timeout; an ICMP error
//! the kernel reports on the connected socket (host unreachable, …) is a failure.

use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};

use socket2::{SockAddr, Socket};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::config::model::CheckerCommon;

use super::socket::{human, icmp_socket};
use super::udp::socket_error_reason;
use super::Outcome;

/// keepalived's echo payload length (`ICMP_BUFSIZE`).
const PAYLOAD_LEN: usize = 128;

/// Random bytes leading the payload.
const TOKEN_LEN: usize = 16;

/// ICMP header: type, code, checksum, identifier, sequence.
const ICMP_HEADER_LEN: usize = 8;

/// Largest packet read: an IPv4 header with options (60) and our echo reply fit easily.
const RECV_BUFFER: usize = 1024;

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;

pub async fn probe(common: &CheckerCommon) -> Outcome {
    let (socket, raw) = match open(common) {
        Ok(opened) => opened,
        Err(reason) => return Outcome::Down(reason),
    };
    let target = SocketAddr::new(common.connect_ip, 0);
    if let Err(err) = socket.connect(&SockAddr::from(target)) {
        return Outcome::Down(format!("connect to {}: {err}", common.connect_ip));
    }
    // `AsyncFd::new` is deprecated because a borrowed fd could be closed while registered;
    // here the AsyncFd owns the socket, so the fd lives exactly as long.
    #[allow(deprecated)]
    let socket = match AsyncFd::new(socket) {
        Ok(socket) => socket,
        Err(err) => return Outcome::Down(format!("icmp socket: {err}")),
    };

    let echo = Echo::new(common.connect_ip, raw);
    let request = echo.request();
    let exchange = async {
        match socket
            .async_io(Interest::WRITABLE, |socket| socket.send(&request))
            .await
        {
            Ok(sent) if sent == request.len() => {}
            Ok(sent) => return Outcome::Down(format!("sent {sent} of {} bytes", request.len())),
            Err(err) => return Outcome::Down(socket_error_reason(&err)),
        }
        let mut buffer = [0u8; RECV_BUFFER];
        loop {
            let received = socket
                .async_io(Interest::READABLE, |mut socket| socket.read(&mut buffer))
                .await;
            match received {
                Ok(received) if echo.is_reply(&buffer[..received]) => return Outcome::Up,
                Ok(_) => {}
                Err(err) => return Outcome::Down(socket_error_reason(&err)),
            }
        }
    };
    match tokio::time::timeout(common.connect_timeout, exchange).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Down(format!(
            "no echo reply within {}",
            human(common.connect_timeout)
        )),
    }
}

/// A ping socket if the host allows us one, else a raw socket; `true` when raw.
fn open(common: &CheckerCommon) -> Result<(Socket, bool), String> {
    match icmp_socket(common, false) {
        Ok(socket) => Ok((socket, false)),
        Err(err) if is_permission(&err) => icmp_socket(common, true)
            .map(|socket| (socket, true))
            .map_err(|raw_err| {
                format!("no ICMP socket: ping socket: {err}; raw socket: {raw_err}")
            }),
        Err(err) => Err(format!("no ICMP socket: {err}")),
    }
}

fn is_permission(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EACCES | libc::EPERM))
}

/// One echo exchange: what we send and how its reply is recognised.
struct Echo {
    v6: bool,
    /// A raw IPv4 socket delivers the IP header before the ICMP message.
    raw: bool,
    identifier: u16,
    sequence: u16,
    payload: Vec<u8>,
}

impl Echo {
    fn new(target: IpAddr, raw: bool) -> Echo {
        let mut payload = rand::random::<[u8; TOKEN_LEN]>().to_vec();
        payload.extend(
            b"keepalived check - "
                .iter()
                .cycle()
                .take(PAYLOAD_LEN - TOKEN_LEN),
        );
        Echo {
            v6: target.is_ipv6(),
            raw,
            identifier: rand::random(),
            sequence: rand::random(),
            payload,
        }
    }

    fn request(&self) -> Vec<u8> {
        let kind = if self.v6 {
            ECHO_REQUEST_V6
        } else {
            ECHO_REQUEST_V4
        };
        let mut packet = vec![kind, 0, 0, 0];
        packet.extend_from_slice(&self.identifier.to_be_bytes());
        packet.extend_from_slice(&self.sequence.to_be_bytes());
        packet.extend_from_slice(&self.payload);
        // The kernel computes ICMPv6 checksums itself (it needs the IPv6 pseudo-header),
        // and a ping socket's ICMPv4 one; a raw ICMPv4 socket sends ours as is.
        if !self.v6 {
            let checksum = internet_checksum(&packet);
            packet[2..4].copy_from_slice(&checksum.to_be_bytes());
        }
        packet
    }

    fn is_reply(&self, packet: &[u8]) -> bool {
        let message = if self.raw && !self.v6 {
            // IPv4 header first: version 4, length in 32-bit words in the low nibble.
            let Some(&first) = packet.first() else {
                return false;
            };
            match packet.get(usize::from(first & 0x0F) * 4..) {
                Some(message) if first >> 4 == 4 => message,
                _ => return false,
            }
        } else {
            packet
        };
        let Some((header, payload)) = message.split_at_checked(ICMP_HEADER_LEN) else {
            return false;
        };
        let reply = if self.v6 {
            ECHO_REPLY_V6
        } else {
            ECHO_REPLY_V4
        };
        header[0] == reply
            && header[1] == 0
            // Only a raw socket keeps our identifier; a ping socket's kernel sets its own.
            && (!self.raw || header[4..6] == self.identifier.to_be_bytes())
            && header[6..8] == self.sequence.to_be_bytes()
            && payload == self.payload
    }
}

/// RFC 1071: the one's complement of the one's complement sum of 16-bit words.
fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| {
            u32::from(u16::from_be_bytes([
                pair[0],
                pair.get(1).copied().unwrap_or(0),
            ]))
        })
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    // Folded to 16 bits above, so the cast keeps every bit.
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::probe::udp::local_common;

    #[tokio::test]
    async fn loopback_v4_answers() {
        let common = local_common("127.0.0.1:0".parse().expect("address"));
        if open(&common).is_err() {
            // Neither a ping socket nor root: nothing to test on this machine.
            return;
        }
        assert_eq!(probe(&common).await, Outcome::Up);
    }

    #[tokio::test]
    async fn loopback_v6_answers() {
        if std::net::UdpSocket::bind("[::1]:0").is_err() {
            return;
        }
        let common = local_common("[::1]:0".parse().expect("address"));
        if open(&common).is_err() {
            return;
        }
        assert_eq!(probe(&common).await, Outcome::Up);
    }

    #[test]
    fn replies_are_matched_by_sequence_payload_and_raw_identifier() {
        let echo = Echo::new("127.0.0.1".parse().expect("address"), false);
        let mut reply = echo.request();
        reply[0] = ECHO_REPLY_V4;
        // A ping socket's kernel rewrote the identifier: still ours.
        reply[4] ^= 0xFF;
        assert!(echo.is_reply(&reply));

        let mut other_sequence = reply.clone();
        other_sequence[7] ^= 1;
        assert!(!echo.is_reply(&other_sequence));
        let mut other_payload = reply.clone();
        other_payload[ICMP_HEADER_LEN] ^= 1;
        assert!(!echo.is_reply(&other_payload));
        assert!(!echo.is_reply(&echo.request()));
        assert!(!echo.is_reply(&reply[..5]));
        // A raw IPv4 socket with a header length beyond the packet.
        let raw = Echo::new("127.0.0.1".parse().expect("address"), true);
        assert!(!raw.is_reply(&[0x4F, 0, 0]));

        // A raw socket: an IPv4 header comes first and the identifier must be ours.
        let mut packet = vec![0x45; 1];
        packet.resize(20, 0);
        let mut message = raw.request();
        message[0] = ECHO_REPLY_V4;
        packet.extend_from_slice(&message);
        assert!(raw.is_reply(&packet));
        packet[20 + 4] ^= 0xFF;
        assert!(!raw.is_reply(&packet));
    }

    #[test]
    fn checksum_of_a_known_packet() {
        // An echo request with identifier 1, sequence 1 and no data.
        let packet = [8, 0, 0, 0, 0, 1, 0, 1];
        assert_eq!(internet_checksum(&packet), 0xF7FD);
        assert_eq!(internet_checksum(&[0xFF]), 0x00FF);
    }
}
