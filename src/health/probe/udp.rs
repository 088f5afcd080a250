//! UDP_CHECK: one datagram to the target on a connected socket, judged as keepalived's
//! `udp_check_thread` / `udp_socket_state` (check_udp.c, layer4.c) do:
//!
//! - the payload is the configured one, else keepalived's 32-byte filler from `set_buf`
//!   ("keepalived check - keepalived ch"): its "random payload" is that fixed text;
//! - without `require_reply`: down only if an error (an ICMP unreachable, reported by the
//!   kernel on the connected socket) arrives before `connect_timeout`; silence, or any
//!   datagram, is up;
//! - with `require_reply`: a datagram must arrive within `connect_timeout`. When a reply
//!   pattern is configured, the reply's length must lie in `min_reply_length ..=
//!   max_reply_length` and its bytes must match the pattern (nibbles written `X` ignored)
//!   over the shorter of the two lengths (`check_udp_reply`). Like keepalived, the length
//!   bounds are only applied together with a pattern, although its man page says they
//!   apply to any `require_reply`: following the man page would fail servers keepalived
//!   keeps up (a 300-byte reply against the default maximum of 255).

use std::io;

use crate::config::model::{CheckerCommon, UdpCheck};

use super::socket::{connect_udp, human};
use super::Outcome;

/// keepalived's `set_buf` filling its `UDP_BUFSIZE` (32) byte buffer.
const DEFAULT_PAYLOAD: &[u8; 32] = b"keepalived check - keepalived ch";

pub async fn probe(common: &CheckerCommon, check: &UdpCheck) -> Outcome {
    let socket = match connect_udp(common) {
        Ok(socket) => socket,
        Err(reason) => return Outcome::Down(reason),
    };
    let payload = check.payload.as_deref().unwrap_or(DEFAULT_PAYLOAD);
    match socket.send(payload).await {
        Ok(sent) if sent == payload.len() => {}
        Ok(sent) => {
            return Outcome::Down(format!("sent {sent} of {} bytes", payload.len()));
        }
        Err(err) => return Outcome::Down(socket_error_reason(&err)),
    }

    // One byte more than the longest acceptable reply, so a longer one shows as too long
    // (as keepalived's `max_reply_len + 1` buffer). Without require_reply any datagram
    // will do, so one byte suffices.
    let capacity = if check.require_reply {
        usize::try_from(check.max_reply_length)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
            .min(65536)
    } else {
        1
    };
    let mut reply = vec![0u8; capacity];
    let received = match tokio::time::timeout(common.connect_timeout, socket.recv(&mut reply)).await
    {
        Err(_) if check.require_reply => {
            return Outcome::Down(format!("no reply within {}", human(common.connect_timeout)))
        }
        Err(_) => return Outcome::Up,
        Ok(Err(err)) => return Outcome::Down(socket_error_reason(&err)),
        Ok(Ok(received)) => received,
    };
    if !check.require_reply || check.reply_pattern.is_empty() {
        return Outcome::Up;
    }
    match judge_reply(&reply[..received], check) {
        Ok(()) => Outcome::Up,
        Err(reason) => Outcome::Down(reason),
    }
}

/// keepalived's `check_udp_reply`: length bounds, then the pattern over the shorter length.
fn judge_reply(reply: &[u8], check: &UdpCheck) -> Result<(), String> {
    let length = u32::try_from(reply.len()).unwrap_or(u32::MAX);
    if length < check.min_reply_length || length > check.max_reply_length {
        return Err(format!(
            "reply of {} byte{}, expected {} to {}",
            reply.len(),
            if reply.len() == 1 { "" } else { "s" },
            check.min_reply_length,
            check.max_reply_length
        ));
    }
    match reply
        .iter()
        .zip(&check.reply_pattern)
        .position(|(byte, want)| (byte ^ want.value) & want.mask != 0)
    {
        Some(offset) => Err(format!(
            "reply byte {offset} is {:#04x}, the pattern wants {}",
            reply[offset],
            pattern_byte(
                check.reply_pattern[offset].value,
                check.reply_pattern[offset].mask
            )
        )),
        None => Ok(()),
    }
}

/// A pattern byte as the configuration writes it: `0x4X` for value 0x40, mask 0xF0.
fn pattern_byte(value: u8, mask: u8) -> String {
    let nibble = |shift: u8| {
        if (mask >> shift) & 0xF == 0 {
            'X'
        } else {
            char::from_digit(u32::from((value >> shift) & 0xF), 16).unwrap_or('?')
        }
    };
    format!("0x{}{}", nibble(4), nibble(0))
}

/// Words for an error on a connected datagram socket: the kernel turns ICMP unreachables into
/// these errno values.
pub(super) fn socket_error_reason(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::ECONNREFUSED) => "ICMP port unreachable".into(),
        Some(libc::EHOSTUNREACH) => "ICMP host unreachable".into(),
        Some(libc::ENETUNREACH) => "ICMP network unreachable".into(),
        _ => err.to_string(),
    }
}

/// A checker aimed at a local address, with keepalived's defaults, for the probes' tests.
#[cfg(test)]
pub(super) fn local_common(target: std::net::SocketAddr) -> CheckerCommon {
    use std::time::Duration;
    CheckerCommon {
        connect_ip: target.ip(),
        connect_port: target.port(),
        bindto: None,
        bind_if: None,
        bind_port: None,
        fwmark: None,
        connect_timeout: Duration::from_secs(2),
        retry: 1,
        delay_before_retry: Duration::from_secs(1),
        warmup: Duration::ZERO,
        delay_loop: Duration::from_secs(60),
        alpha: false,
        log_all_failures: false,
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use tokio::net::UdpSocket;

    use super::*;
    use crate::config::model::MaskedByte;

    fn check(require_reply: bool, pattern: &[(u8, u8)]) -> UdpCheck {
        UdpCheck {
            payload: Some(b"ping".to_vec()),
            require_reply,
            reply_pattern: pattern
                .iter()
                .map(|&(value, mask)| MaskedByte { value, mask })
                .collect(),
            min_reply_length: 0,
            max_reply_length: 255,
        }
    }

    /// A server on 127.0.0.1 that answers every datagram with `reply` (or stays silent);
    /// it sees the payload it was sent through the returned channel.
    async fn server(reply: Option<Vec<u8>>) -> (SocketAddr, tokio::sync::mpsc::Receiver<Vec<u8>>) {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("address");
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let _ = tx.send(buf[..n].to_vec()).await;
                if let Some(reply) = &reply {
                    let _ = socket.send_to(reply, from).await;
                }
            }
        });
        (addr, rx)
    }

    /// A local UDP port with nothing listening.
    fn closed_port() -> SocketAddr {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.local_addr().expect("address")
    }

    fn quick(addr: SocketAddr) -> CheckerCommon {
        CheckerCommon {
            connect_timeout: Duration::from_millis(500),
            ..local_common(addr)
        }
    }

    #[tokio::test]
    async fn closed_port_is_down() {
        let outcome = probe(&quick(closed_port()), &check(false, &[])).await;
        assert_eq!(outcome, Outcome::Down("ICMP port unreachable".into()));
    }

    #[tokio::test]
    async fn silence_without_require_reply_is_up_and_the_default_payload_is_keepalived_s() {
        let (addr, mut seen) = server(None).await;
        let mut no_payload = check(false, &[]);
        no_payload.payload = None;
        assert_eq!(probe(&quick(addr), &no_payload).await, Outcome::Up);
        assert_eq!(seen.recv().await.as_deref(), Some(&DEFAULT_PAYLOAD[..]));
    }

    #[tokio::test]
    async fn silence_with_require_reply_is_down() {
        let (addr, _seen) = server(None).await;
        assert_eq!(
            probe(&quick(addr), &check(true, &[])).await,
            Outcome::Down("no reply within 500ms".into())
        );
    }

    #[tokio::test]
    async fn any_reply_without_pattern_is_up() {
        let (addr, _seen) = server(Some(vec![0xAB; 300])).await;
        assert_eq!(probe(&quick(addr), &check(true, &[])).await, Outcome::Up);
    }

    #[tokio::test]
    async fn reply_matching_the_pattern_with_x_nibbles_is_up() {
        let (addr, _seen) = server(Some(vec![0x12, 0x34, 0x56, 0x78])).await;
        // 12 3X X6: the reply is longer than the pattern, compared over 3 bytes.
        let pattern = [(0x12, 0xFF), (0x30, 0xF0), (0x06, 0x0F)];
        assert_eq!(
            probe(&quick(addr), &check(true, &pattern)).await,
            Outcome::Up
        );
    }

    #[tokio::test]
    async fn reply_differing_from_the_pattern_is_down() {
        let (addr, _seen) = server(Some(vec![0x12, 0x44])).await;
        let pattern = [(0x12, 0xFF), (0x30, 0xF0)];
        assert_eq!(
            probe(&quick(addr), &check(true, &pattern)).await,
            Outcome::Down("reply byte 1 is 0x44, the pattern wants 0x3X".into())
        );
    }

    #[tokio::test]
    async fn short_reply_matches_over_its_own_length_but_must_meet_the_minimum() {
        let (addr, _seen) = server(Some(vec![0x12])).await;
        let pattern = [(0x12, 0xFF), (0x34, 0xFF)];
        assert_eq!(
            probe(&quick(addr), &check(true, &pattern)).await,
            Outcome::Up
        );

        let mut with_minimum = check(true, &pattern);
        with_minimum.min_reply_length = 2;
        assert_eq!(
            probe(&quick(addr), &with_minimum).await,
            Outcome::Down("reply of 1 byte, expected 2 to 255".into())
        );
    }

    #[tokio::test]
    async fn reply_longer_than_the_maximum_is_down() {
        let (addr, _seen) = server(Some(vec![0x12; 20])).await;
        let mut bounded = check(true, &[(0x12, 0xFF)]);
        bounded.max_reply_length = 10;
        assert_eq!(
            probe(&quick(addr), &bounded).await,
            Outcome::Down("reply of 11 bytes, expected 0 to 10".into())
        );
    }

    #[test]
    fn pattern_bytes_print_as_configured() {
        assert_eq!(pattern_byte(0x4a, 0xFF), "0x4a");
        assert_eq!(pattern_byte(0x40, 0xF0), "0x4X");
        assert_eq!(pattern_byte(0x0a, 0x0F), "0xXa");
    }
}
