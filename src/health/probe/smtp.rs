//! SMTP_CHECK: the server must greet with 220 and answer `HELO <name>` with 250; then QUIT.
//!
//! As keepalived, each read and write gets `connect_timeout`; the whole conversation gets
//! twice that (see [`super::socket::exchange_deadline`]). Unlike keepalived, which reads a single
//! line, multi-line replies (`250-…` up to `250 …`) are read whole, up to 1 KiB a line and
//! 64 lines. The answer to QUIT is awaited (so the server sees an orderly goodbye) but not
//! judged: the server has already shown it works.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::config::model::{CheckerCommon, SmtpCheck};

use super::socket::{connect_tcp, exchange_deadline, step};
use super::{Outcome, ProbeEnv};

/// RFC 5321 allows 512 bytes a reply line; leave room for servers that stretch it.
const MAX_LINE: usize = 1024;
/// Lines of one multi-line reply (EHLO-style capability lists are about a dozen).
const MAX_LINES: usize = 64;

pub async fn probe(common: &CheckerCommon, smtp: &SmtpCheck, env: &ProbeEnv) -> Outcome {
    let helo = smtp.helo_name.as_deref().unwrap_or(&env.host_name);
    // HELO needs a domain; a host without a name still gets a well-formed command.
    let helo = if helo.is_empty() { "localhost" } else { helo };
    match converse(common, helo).await {
        Ok(()) => Outcome::Up,
        Err(reason) => Outcome::Down(reason),
    }
}

async fn converse(common: &CheckerCommon, helo: &str) -> Result<(), String> {
    let deadline = exchange_deadline(common);
    let stream = connect_tcp(common).await?;
    let mut session = Session {
        stream,
        pending: Vec::new(),
        common,
        deadline,
    };
    let greeting = session.reply("reading the greeting").await?;
    if greeting.code != 220 {
        return Err(format!("greeting `{}`, expected 220", greeting.last_line));
    }
    session
        .send(format!("HELO {helo}\r\n").as_bytes(), "sending HELO")
        .await?;
    let hello = session.reply("reading the HELO reply").await?;
    if hello.code != 250 {
        return Err(format!("HELO answered `{}`, expected 250", hello.last_line));
    }
    if session.send(b"QUIT\r\n", "sending QUIT").await.is_ok() {
        // Not judged (see the module doc); an error here only ends the wait.
        let _ = session.reply("reading the QUIT reply").await;
    }
    Ok(())
}

/// A whole reply: its code and its last line, for messages.
struct Reply {
    code: u16,
    last_line: String,
}

struct Session<'a> {
    stream: TcpStream,
    /// Bytes received past the last line handed out.
    pending: Vec<u8>,
    common: &'a CheckerCommon,
    deadline: Instant,
}

impl Session<'_> {
    async fn send(&mut self, line: &[u8], what: &str) -> Result<(), String> {
        let stream = &mut self.stream;
        step(self.common, self.deadline, what, stream.write_all(line)).await
    }

    /// Reads lines until one that is not a continuation (`NNN-`).
    async fn reply(&mut self, what: &str) -> Result<Reply, String> {
        for _ in 0..MAX_LINES {
            let line = self.line(what).await?;
            let shown = String::from_utf8_lossy(&line).into_owned();
            let code = line
                .get(..3)
                .filter(|digits| digits.iter().all(u8::is_ascii_digit))
                .and_then(|digits| std::str::from_utf8(digits).ok()?.parse().ok());
            let Some(code) = code else {
                return Err(format!(
                    "{what}: not an SMTP reply: `{}`",
                    shown.escape_debug()
                ));
            };
            match line.get(3) {
                Some(b'-') => continue,
                None | Some(b' ') => {
                    return Ok(Reply {
                        code,
                        last_line: shown,
                    })
                }
                Some(_) => {
                    return Err(format!(
                        "{what}: not an SMTP reply: `{}`",
                        shown.escape_debug()
                    ))
                }
            }
        }
        Err(format!("{what}: reply longer than {MAX_LINES} lines"))
    }

    /// One line without its CRLF (or bare LF).
    async fn line(&mut self, what: &str) -> Result<Vec<u8>, String> {
        let mut chunk = [0u8; 512];
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.pending.len() > MAX_LINE {
                return Err(format!("{what}: line longer than {MAX_LINE} bytes"));
            }
            let stream = &mut self.stream;
            let n = step(self.common, self.deadline, what, stream.read(&mut chunk)).await?;
            if n == 0 {
                return Err(format!("{what}: connection closed"));
            }
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    use super::super::tcp::checker_for;
    use super::*;

    /// An SMTP server: it sends the greeting, then for each line it
    /// receives sends the next reply. The lines received come out of the channel.
    async fn server(
        greeting: impl Into<String>,
        replies: &'static [&'static str],
    ) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (sender, receiver) = mpsc::unbounded_channel();
        let greeting = greeting.into();
        tokio::spawn(async move {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let _ = write.write_all(greeting.as_bytes()).await;
            for reply in replies {
                let Ok(Some(line)) = lines.next_line().await else {
                    return;
                };
                let _ = sender.send(line);
                let _ = write.write_all(reply.as_bytes()).await;
            }
        });
        (addr, receiver)
    }

    async fn check(addr: SocketAddr, helo: Option<&str>) -> Outcome {
        let common = checker_for(addr, Duration::from_secs(2));
        let smtp = SmtpCheck {
            helo_name: helo.map(str::to_owned),
        };
        let env = ProbeEnv {
            host_name: "director1.example".into(),
            ..ProbeEnv::default()
        };
        probe(&common, &smtp, &env).await
    }

    #[tokio::test]
    async fn good_banner_and_helo_are_up() {
        let (addr, mut received) = server(
            "220-mail.example ESMTP\r\n220 welcome\r\n",
            &["250-mail.example\r\n250 hello\r\n", "221 bye\r\n"],
        )
        .await;
        assert_eq!(check(addr, None).await, Outcome::Up);
        assert_eq!(received.recv().await.unwrap(), "HELO director1.example");
        assert_eq!(received.recv().await.unwrap(), "QUIT");
    }

    #[tokio::test]
    async fn helo_name_overrides_the_host_name() {
        let (addr, mut received) = server("220 ok\r\n", &["250 ok\r\n", "221 bye\r\n"]).await;
        assert_eq!(check(addr, Some("probe.example")).await, Outcome::Up);
        assert_eq!(received.recv().await.unwrap(), "HELO probe.example");
    }

    #[tokio::test]
    async fn wrong_banner_is_down() {
        let (addr, _received) = server("554 go away\r\n", &[]).await;
        match check(addr, None).await {
            Outcome::Down(reason) => {
                assert_eq!(reason, "greeting `554 go away`, expected 220");
            }
            other => panic!("expected Down, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn helo_refused_is_down() {
        let (addr, _received) = server("220 ok\r\n", &["550 not you\r\n"]).await;
        match check(addr, None).await {
            Outcome::Down(reason) => {
                assert_eq!(reason, "HELO answered `550 not you`, expected 250");
            }
            other => panic!("expected Down, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn garbage_and_endless_lines_are_down() {
        let (addr, _received) = server("HTTP/1.1 400 Bad Request\r\n", &[]).await;
        match check(addr, None).await {
            Outcome::Down(reason) => assert!(reason.contains("not an SMTP reply"), "{reason}"),
            other => panic!("expected Down, got {other:?}"),
        }
        let (addr, _received) = server(format!("220 {}\r\n", "x".repeat(4096)), &[]).await;
        match check(addr, None).await {
            Outcome::Down(reason) => assert!(reason.contains("line longer than"), "{reason}"),
            other => panic!("expected Down, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_silent_server_is_down() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let accepted = listener.accept().await;
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(accepted);
        });
        let common = checker_for(addr, Duration::from_millis(300));
        let outcome = probe(&common, &SmtpCheck::default(), &ProbeEnv::default()).await;
        match outcome {
            Outcome::Down(reason) => {
                assert!(
                    reason.contains("timed out reading the greeting"),
                    "{reason}"
                );
            }
            other => panic!("expected Down, got {other:?}"),
        }
    }
}
