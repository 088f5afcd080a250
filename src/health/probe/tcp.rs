//! TCP_CHECK: the real server is up when a TCP connection to it opens within
//! `connect_timeout`; the connection is closed at once, as keepalived does.

use crate::config::model::CheckerCommon;

use super::socket::connect_tcp;
use super::Outcome;

/// Connects, then drops the stream, which closes it.
pub async fn probe(common: &CheckerCommon) -> Outcome {
    match connect_tcp(common).await {
        Ok(_stream) => Outcome::Up,
        Err(reason) => Outcome::Down(reason),
    }
}

/// A checker of `addr` with `timeout` as connect_timeout, for the probes' tests.
#[cfg(test)]
pub(super) fn checker_for(
    addr: std::net::SocketAddr,
    timeout: std::time::Duration,
) -> CheckerCommon {
    CheckerCommon {
        connect_ip: addr.ip(),
        connect_port: addr.port(),
        bindto: None,
        bind_if: None,
        bind_port: None,
        fwmark: None,
        connect_timeout: timeout,
        retry: 1,
        delay_before_retry: std::time::Duration::from_secs(1),
        warmup: std::time::Duration::ZERO,
        delay_loop: std::time::Duration::from_secs(5),
        alpha: false,
        log_all_failures: false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::net::TcpListener;

    use super::*;

    #[tokio::test]
    async fn open_port_is_up() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let common = checker_for(listener.local_addr().unwrap(), Duration::from_secs(2));
        assert_eq!(probe(&common).await, Outcome::Up);
    }

    #[tokio::test]
    async fn closed_port_is_down() {
        // Bind then drop: the port is free and nothing listens there.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let common = checker_for(addr, Duration::from_secs(2));
        match probe(&common).await {
            Outcome::Down(reason) => assert!(reason.contains("refused"), "{reason}"),
            other => panic!("expected Down, got {other:?}"),
        }
    }
}
