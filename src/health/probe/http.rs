//! HTTP_GET and SSL_GET (the same exchange, over TLS for SSL_GET), and `genhash`, which
//! fetches a page the way these checkers do and prints the MD5 they would compare.
//!
//! As keepalived: one connection per `url`, checked in order, all must pass; the request is
//! `GET <path> HTTP/1.0|1.1` with `User-Agent: KeepAliveClient`, `Connection: close` for
//! `1.0C` and `1.1`, and `Host:` the virtualhost or else the address connected to with its
//! port; the answer is judged on its status code, then the MD5 of the body (the bytes after
//! the headers, as received: chunked framing included, cut at Content-Length), then the
//! regex over the body.
//!
//! Bounds, so that no server can hold a check or its memory: every step (connect, TLS
//! handshake, sending, each read) gets `connect_timeout` as in keepalived, and the whole
//! exchange for one url twice that (see [`socket::exchange_deadline`]); the response
//! headers may take 16 KiB and the body 1 MiB. The body is read only when a digest or a
//! regex needs it; otherwise the check ends with the headers.

use std::net::SocketAddr;

use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::config::model::{CheckerCommon, HttpCheck, HttpProtocol, TlsCheck, UrlCheck};

use super::socket::{self, connect_tcp, exchange_deadline, step};
use super::tls::{self, TlsCache};
use super::{Outcome, ProbeEnv};

/// Longest accepted status line plus headers, terminating blank line included.
const MAX_HEADERS: usize = 16 * 1024;
/// Longest body read for a digest or a regex.
const MAX_BODY: usize = 1024 * 1024;
/// Bytes asked of the socket per read.
const CHUNK: usize = 8 * 1024;

/// Checks every url in order; the first failure is the outcome.
pub async fn probe(
    common: &CheckerCommon,
    http: &HttpCheck,
    tls: Option<&TlsCheck>,
    env: &ProbeEnv,
) -> Outcome {
    // keepalived too reports a checker without urls up without asking anything.
    for url in &http.urls {
        let get = Get {
            path: &url.path,
            protocol: http.http_protocol,
            virtualhost: url.virtualhost.as_deref().or(http.virtualhost.as_deref()),
            tls: tls.map(|check| (&env.tls, check)),
            need_body: url.digest.is_some() || url.regex.is_some(),
        };
        let verdict = match fetch(common, &get).await {
            Ok(response) => judge(url, &response),
            Err(reason) => Err(reason),
        };
        if let Err(reason) = verdict {
            return Outcome::Down(format!("GET {}: {reason}", url.path));
        }
    }
    Outcome::Up
}

/// What `genhash` found: the status and the digest a `url` block would compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    pub status: u16,
    /// Lower-case hex MD5 of the body, ready for `digest`.
    pub digest: String,
    pub body_len: usize,
}

/// Fetches `path` from `common`'s target as HTTP_GET (or SSL_GET with `tls`) would, within
/// the same limits, and hashes the body whatever the status.
pub async fn genhash(
    common: &CheckerCommon,
    path: &str,
    virtualhost: Option<&str>,
    protocol: HttpProtocol,
    tls: Option<&TlsCheck>,
) -> Result<Hashed, String> {
    let cache = TlsCache::default();
    let get = Get {
        path,
        protocol,
        virtualhost,
        tls: tls.map(|check| (&cache, check)),
        need_body: true,
    };
    let response = fetch(common, &get).await?;
    Ok(Hashed {
        status: response.status,
        digest: md5_hex(&response.body),
        body_len: response.body.len(),
    })
}

/// One GET as a checker asks it.
struct Get<'a> {
    path: &'a str,
    protocol: HttpProtocol,
    virtualhost: Option<&'a str>,
    tls: Option<(&'a TlsCache, &'a TlsCheck)>,
    need_body: bool,
}

/// The parts of an answer the checks look at.
#[derive(Debug)]
struct Response {
    status: u16,
    /// Empty unless the body was asked for.
    body: Vec<u8>,
}

async fn fetch(common: &CheckerCommon, get: &Get<'_>) -> Result<Response, String> {
    let deadline = exchange_deadline(common);
    let request = request(get, socket::target(common));
    let tcp = connect_tcp(common).await?;
    match get.tls {
        None => exchange(tcp, &request, get.need_body, common, deadline).await,
        Some((cache, check)) => {
            let stream =
                tls::handshake(cache, check, get.virtualhost, tcp, common, deadline).await?;
            exchange(stream, &request, get.need_body, common, deadline).await
        }
    }
}

/// keepalived's request: no port after a virtualhost, `[v6]:port` after an address.
fn request(get: &Get<'_>, target: SocketAddr) -> Vec<u8> {
    let host = get
        .virtualhost
        .map_or_else(|| target.to_string(), str::to_owned);
    let (version, connection) = match get.protocol {
        HttpProtocol::Http10 => ("1.0", ""),
        HttpProtocol::Http10Close => ("1.0", "Connection: close\r\n"),
        HttpProtocol::Http11 => ("1.1", "Connection: close\r\n"),
    };
    format!(
        "GET {} HTTP/{version}\r\nUser-Agent: KeepAliveClient\r\n{connection}Host: {host}\r\n\r\n",
        get.path
    )
    .into_bytes()
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
    need_body: bool,
    common: &CheckerCommon,
    deadline: Instant,
) -> Result<Response, String> {
    step(common, deadline, "sending the request", async {
        stream.write_all(request).await?;
        // TLS buffers records; flushing puts them on the wire.
        stream.flush().await
    })
    .await?;

    let mut chunk = vec![0u8; CHUNK];
    let mut received = Vec::new();
    // Where the search for the blank line resumes: a header trickling in byte by byte must
    // not be rescanned from the start each time.
    let mut scanned = 0;
    let body_start = loop {
        if let Some(end) = find_blank_line(&received[scanned..]) {
            break scanned + end;
        }
        scanned = received.len().saturating_sub(3);
        if received.len() > MAX_HEADERS {
            return Err(format!(
                "response headers longer than {} KiB",
                MAX_HEADERS / 1024
            ));
        }
        let n = read(
            &mut stream,
            &mut chunk,
            common,
            deadline,
            "reading the response",
        )
        .await?;
        received.extend_from_slice(&chunk[..n]);
        // Judge garbage as soon as it shows rather than waiting for a blank line.
        let known = received.len().min(5);
        if received[..known] != b"HTTP/"[..known] {
            return Err(format!("not an HTTP response: {}", excerpt(&received)));
        }
        if n == 0 {
            return Err(if received.is_empty() {
                "connection closed without a response".to_owned()
            } else {
                "connection closed in the response headers".to_owned()
            });
        }
    };
    if body_start > MAX_HEADERS {
        return Err(format!(
            "response headers longer than {} KiB",
            MAX_HEADERS / 1024
        ));
    }
    let head = &received[..body_start];
    let status =
        status_code(head).ok_or_else(|| format!("bad HTTP status line: {}", excerpt(head)))?;
    if !need_body {
        return Ok(Response {
            status,
            body: Vec::new(),
        });
    }
    let content_length = content_length(head);
    if let Some(length) = content_length.filter(|&length| length > MAX_BODY) {
        return Err(format!(
            "Content-Length {length} is over the {} KiB body limit",
            MAX_BODY / 1024
        ));
    }
    let mut body = received.split_off(body_start);
    loop {
        match content_length {
            Some(length) if body.len() >= length => {
                // keepalived hashes no byte past Content-Length.
                body.truncate(length);
                break;
            }
            None if body.len() > MAX_BODY => {
                return Err(format!("body longer than {} KiB", MAX_BODY / 1024));
            }
            _ => {}
        }
        let n = read(
            &mut stream,
            &mut chunk,
            common,
            deadline,
            "reading the body",
        )
        .await?;
        if n == 0 {
            // A body cut short is judged as received, as keepalived does.
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Response { status, body })
}

/// One read as a step; 0 is the end of the stream. A TLS peer that closes without
/// close_notify ends the stream too: many servers do, and keepalived accepts it.
async fn read<S: AsyncRead + Unpin>(
    stream: &mut S,
    chunk: &mut [u8],
    common: &CheckerCommon,
    deadline: Instant,
    what: &str,
) -> Result<usize, String> {
    step(common, deadline, what, async {
        match stream.read(chunk).await {
            Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        }
    })
    .await
}

/// Where the body starts: just past the first CRLF CRLF (keepalived knows no other end).
fn find_blank_line(data: &[u8]) -> Option<usize> {
    data.windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// `HTTP/x.y NNN[ reason]`: the code, when it is three digits within 100..=599.
fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\r').next()?;
    let rest = line.strip_prefix(b"HTTP/")?;
    let space = rest.iter().position(|&b| b == b' ')?;
    let after = &rest[space + 1..];
    let digits = after.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || after.get(3).is_some_and(|&b| b != b' ') {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |code, digit| code * 10 + u16::from(digit - b'0'));
    (100..=599).contains(&code).then_some(code)
}

/// The Content-Length header's value, if there is one and it is a number.
fn content_length(head: &[u8]) -> Option<usize> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = line.split_at(colon);
        if !name.eq_ignore_ascii_case(b"content-length") {
            return None;
        }
        std::str::from_utf8(&value[1..]).ok()?.trim().parse().ok()
    })
}

/// keepalived's order: status, then digest, then regex.
fn judge(url: &UrlCheck, response: &Response) -> Result<(), String> {
    let status = response.status;
    if !url
        .status_code
        .iter()
        .any(|&(low, high)| (low..=high).contains(&status))
    {
        let expected: Vec<String> = url
            .status_code
            .iter()
            .map(|&(low, high)| {
                if low == high {
                    low.to_string()
                } else {
                    format!("{low}-{high}")
                }
            })
            .collect();
        return Err(format!(
            "HTTP status {status}, expected {}",
            expected.join(",")
        ));
    }
    if let Some(expected) = &url.digest {
        let got = md5_hex(&response.body);
        if !got.eq_ignore_ascii_case(expected) {
            return Err(format!(
                "digest mismatch: got {}…, expected {}…",
                abbreviated(&got),
                abbreviated(expected)
            ));
        }
    }
    if let Some(pattern) = &url.regex {
        let regex = regex::bytes::Regex::new(pattern)
            .map_err(|err| format!("regex `{pattern}` is invalid: {err}"))?;
        match (regex.is_match(&response.body), url.regex_no_match) {
            (true, true) => return Err(format!("body matches `{pattern}` (regex_no_match)")),
            (false, false) => return Err(format!("body does not match `{pattern}`")),
            _ => {}
        }
    }
    Ok(())
}

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The first 8 hex digits: enough to tell digests apart in a log line.
fn abbreviated(digest: &str) -> &str {
    digest.get(..8).unwrap_or(digest)
}

/// The start of what a server sent, printable, for a reason text.
fn excerpt(data: &[u8]) -> String {
    let line = data.split(|&b| b == b'\n').next().unwrap_or(data);
    let shown = &line[..line.len().min(40)];
    let more = if shown.len() < data.len() { "…" } else { "" };
    format!("`{}`{more}", shown.escape_ascii())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;

    use super::super::tcp::checker_for;
    use super::*;

    /// Serves each connection with `answer`, after reading the request's headers. The
    /// requests received come out of the channel.
    async fn serve<F, Fut>(answer: F) -> (SocketAddr, mpsc::UnboundedReceiver<String>)
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (sender, receiver) = mpsc::unbounded_channel();
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let answer = Arc::clone(&answer);
                let sender = sender.clone();
                tokio::spawn(async move {
                    let request = read_request(&mut stream).await;
                    let _ = sender.send(request);
                    answer(stream).await;
                });
            }
        });
        (addr, receiver)
    }

    async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> String {
        let mut request = Vec::new();
        let mut byte = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => request.push(byte[0]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&request).into_owned()
    }

    /// A server that answers every request with `response` and closes.
    async fn fixed(response: &'static [u8]) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
        serve(move |mut stream: TcpStream| async move {
            let _ = stream.write_all(response).await;
        })
        .await
    }

    fn url(path: &str) -> UrlCheck {
        UrlCheck {
            path: path.to_owned(),
            digest: None,
            status_code: vec![(200, 299)],
            virtualhost: None,
            regex: None,
            regex_no_match: false,
        }
    }

    fn http(urls: Vec<UrlCheck>) -> HttpCheck {
        HttpCheck {
            urls,
            http_protocol: HttpProtocol::Http10,
            virtualhost: None,
            fast_recovery: false,
        }
    }

    async fn check(addr: SocketAddr, http: &HttpCheck) -> Outcome {
        let common = checker_for(addr, Duration::from_secs(2));
        probe(&common, http, None, &ProbeEnv::default()).await
    }

    fn down(outcome: Outcome) -> String {
        match outcome {
            Outcome::Down(reason) => reason,
            other => panic!("expected Down, got {other:?}"),
        }
    }

    const OK_PAGE: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall good\n";

    #[tokio::test]
    async fn status_200_is_up_and_the_request_is_keepalived_s() {
        let (addr, mut requests) = fixed(OK_PAGE).await;
        assert_eq!(check(addr, &http(vec![url("/health")])).await, Outcome::Up);
        let request = requests.recv().await.unwrap();
        assert_eq!(
            request,
            format!("GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: {addr}\r\n\r\n")
        );
    }

    #[tokio::test]
    async fn virtualhost_and_http_1_1_shape_the_request() {
        let (addr, mut requests) = fixed(OK_PAGE).await;
        let mut check_11 = http(vec![url("/")]);
        check_11.http_protocol = HttpProtocol::Http11;
        check_11.virtualhost = Some("www.example.com".into());
        assert_eq!(check(addr, &check_11).await, Outcome::Up);
        let request = requests.recv().await.unwrap();
        assert_eq!(
            request,
            "GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n\
             Host: www.example.com\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn status_500_is_down() {
        let (addr, _requests) = fixed(b"HTTP/1.1 500 Internal Server Error\r\n\r\n").await;
        let reason = down(check(addr, &http(vec![url("/")])).await);
        assert_eq!(reason, "GET /: HTTP status 500, expected 200-299");
    }

    #[tokio::test]
    async fn custom_status_ranges() {
        let (addr, _requests) = fixed(b"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n").await;
        let mut redirect = url("/");
        redirect.status_code = vec![(200, 200), (301, 302)];
        assert_eq!(
            check(addr, &http(vec![redirect.clone()])).await,
            Outcome::Up
        );
        redirect.status_code = vec![(200, 200), (304, 304)];
        let reason = down(check(addr, &http(vec![redirect])).await);
        assert!(
            reason.ends_with("HTTP status 302, expected 200,304"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn digest_of_the_body_right_and_wrong() {
        let (addr, _requests) = fixed(OK_PAGE).await;
        let mut right = url("/");
        right.digest = Some(format!("{:x}", Md5::digest(b"all good\n")));
        assert_eq!(check(addr, &http(vec![right])).await, Outcome::Up);

        let mut wrong = url("/");
        wrong.digest = Some(format!("{:x}", Md5::digest(b"all bad\n")));
        let reason = down(check(addr, &http(vec![wrong])).await);
        assert!(reason.contains("digest mismatch: got "), "{reason}");
    }

    #[tokio::test]
    async fn digest_stops_at_content_length() {
        let (addr, _requests) =
            fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, and trailing junk").await;
        let mut page = url("/");
        page.digest = Some(format!("{:x}", Md5::digest(b"hello")));
        assert_eq!(check(addr, &http(vec![page])).await, Outcome::Up);
    }

    #[tokio::test]
    async fn content_length_ends_the_read_without_waiting_for_close() {
        // The server keeps the connection open after the body.
        let (addr, _requests) = serve(|mut stream: TcpStream| async move {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        })
        .await;
        let mut page = url("/");
        page.digest = Some(format!("{:x}", Md5::digest(b"ok")));
        assert_eq!(check(addr, &http(vec![page])).await, Outcome::Up);
    }

    #[tokio::test]
    async fn regex_match_no_match_and_inverted() {
        let (addr, _requests) = fixed(OK_PAGE).await;
        let mut matching = url("/");
        matching.regex = Some("al+ go+d".into());
        assert_eq!(
            check(addr, &http(vec![matching.clone()])).await,
            Outcome::Up
        );

        let mut missing = url("/");
        missing.regex = Some("^error".into());
        let reason = down(check(addr, &http(vec![missing.clone()])).await);
        assert!(reason.ends_with("body does not match `^error`"), "{reason}");

        missing.regex_no_match = true;
        assert_eq!(check(addr, &http(vec![missing])).await, Outcome::Up);
        matching.regex_no_match = true;
        let reason = down(check(addr, &http(vec![matching])).await);
        assert!(reason.contains("(regex_no_match)"), "{reason}");
    }

    #[tokio::test]
    async fn every_url_must_pass() {
        let (addr, _requests) = serve(|mut stream: TcpStream| async move {
            let _ = stream.write_all(b"HTTP/1.0 200 OK\r\n\r\nfine").await;
        })
        .await;
        let mut second = url("/second");
        second.status_code = vec![(404, 404)];
        let reason = down(check(addr, &http(vec![url("/first"), second])).await);
        assert_eq!(reason, "GET /second: HTTP status 200, expected 404");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_down() {
        let (addr, _requests) = serve(|stream: TcpStream| async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(stream);
        })
        .await;
        let common = checker_for(addr, Duration::from_millis(300));
        let reason = down(probe(&common, &http(vec![url("/")]), None, &ProbeEnv::default()).await);
        assert!(
            reason.contains("timed out reading the response"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn a_trickling_body_is_down() {
        // Each byte comes well within connect_timeout, so only the exchange's limit stops it.
        let (addr, _requests) = serve(|mut stream: TcpStream| async move {
            let _ = stream.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if stream.write_all(b"x").await.is_err() {
                    break;
                }
            }
        })
        .await;
        let mut page = url("/");
        page.digest = Some(format!("{:x}", Md5::digest(b"x")));
        let common = checker_for(addr, Duration::from_millis(300));
        let reason = down(probe(&common, &http(vec![page]), None, &ProbeEnv::default()).await);
        assert!(reason.contains("timed out reading the body"), "{reason}");
    }

    #[tokio::test]
    async fn an_oversized_header_is_down() {
        let (addr, _requests) = serve(|mut stream: TcpStream| async move {
            let _ = stream.write_all(b"HTTP/1.0 200 OK\r\nX-Big: ").await;
            let filler = vec![b'a'; 64 * 1024];
            let _ = stream.write_all(&filler).await;
            let _ = stream.write_all(b"\r\n\r\n").await;
        })
        .await;
        let reason = down(check(addr, &http(vec![url("/")])).await);
        assert!(
            reason.contains("response headers longer than 16 KiB"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn an_oversized_body_is_down() {
        let (addr, _requests) = serve(|mut stream: TcpStream| async move {
            let _ = stream.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
            let filler = vec![b'a'; 2 * MAX_BODY];
            let _ = stream.write_all(&filler).await;
        })
        .await;
        let mut page = url("/");
        page.regex = Some("a".into());
        let reason = down(check(addr, &http(vec![page])).await);
        assert!(reason.contains("body longer than 1024 KiB"), "{reason}");
    }

    #[tokio::test]
    async fn garbage_is_down() {
        let (addr, _requests) = fixed(b"\x00\xffSSH-2.0-OpenSSH\r\n\r\n").await;
        let reason = down(check(addr, &http(vec![url("/")])).await);
        assert!(reason.contains("not an HTTP response"), "{reason}");

        let (addr, _requests) = fixed(b"OK").await;
        let reason = down(check(addr, &http(vec![url("/")])).await);
        assert!(reason.contains("not an HTTP response"), "{reason}");

        let (addr, _requests) = fixed(b"HTTP/1.1 200 OK\r\nServer: cut").await;
        let reason = down(check(addr, &http(vec![url("/")])).await);
        assert!(
            reason.contains("closed in the response headers"),
            "{reason}"
        );

        let (addr, _requests) = fixed(b"HTTP/1.1 2x0 OK\r\n\r\n").await;
        let reason = down(check(addr, &http(vec![url("/")])).await);
        assert!(reason.contains("bad HTTP status line"), "{reason}");

        let (addr, _requests) = fixed(b"").await;
        let reason = down(check(addr, &http(vec![url("/")])).await);
        assert!(reason.contains("without a response"), "{reason}");
    }

    #[test]
    fn status_line_parsing() {
        assert_eq!(status_code(b"HTTP/1.1 204 No Content\r\n\r\n"), Some(204));
        assert_eq!(status_code(b"HTTP/1.0 200\r\n\r\n"), Some(200));
        assert_eq!(status_code(b"HTTP/1.0 2000 OK\r\n\r\n"), None);
        assert_eq!(status_code(b"HTTP/1.0 099 OK\r\n\r\n"), None);
        assert_eq!(status_code(b"HTTP/1.0\r\n\r\n"), None);
        assert_eq!(
            content_length(b"HTTP/1.0 200 OK\r\ncontent-LENGTH:  12 \r\n\r\n"),
            Some(12)
        );
        assert_eq!(
            content_length(b"HTTP/1.0 200 OK\r\nContent-Length: x\r\n\r\n"),
            None
        );
    }

    /// A TLS server with a fresh self-signed certificate for `localhost`, answering
    /// `OK_PAGE`. Returns its address, the SNI of each connection, and the certificate PEM.
    async fn tls_server() -> (SocketAddr, mpsc::UnboundedReceiver<Option<String>>, String) {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(mut stream) = acceptor.accept(tcp).await else {
                    continue;
                };
                let _ = sender.send(stream.get_ref().1.server_name().map(str::to_owned));
                read_request(&mut stream).await;
                let _ = stream.write_all(OK_PAGE).await;
                let _ = stream.shutdown().await;
            }
        });
        (addr, receiver, certified.cert.pem())
    }

    /// `pem` in a file of its own under the temporary directory.
    fn pem_file(name: &str, pem: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "director-http-test-{}-{name}.pem",
            std::process::id()
        ));
        std::fs::write(&path, pem).unwrap();
        path
    }

    async fn check_tls(addr: SocketAddr, http: &HttpCheck, tls: &TlsCheck) -> Outcome {
        let common = checker_for(addr, Duration::from_secs(2));
        probe(&common, http, Some(tls), &ProbeEnv::default()).await
    }

    #[tokio::test]
    async fn ssl_get_accepts_any_certificate_by_default() {
        let (addr, mut names, _pem) = tls_server().await;
        let outcome = check_tls(addr, &http(vec![url("/")]), &TlsCheck::default()).await;
        assert_eq!(outcome, Outcome::Up);
        // No SNI unless enabled, and never for an address.
        assert_eq!(names.recv().await.unwrap(), None);
    }

    #[tokio::test]
    async fn ssl_get_digest_over_tls() {
        let (addr, _names, _pem) = tls_server().await;
        let mut page = url("/");
        page.digest = Some(format!("{:x}", Md5::digest(b"all good\n")));
        let outcome = check_tls(addr, &http(vec![page]), &TlsCheck::default()).await;
        assert_eq!(outcome, Outcome::Up);
    }

    #[tokio::test]
    async fn ssl_get_verify_ca_with_the_right_ca_and_name_is_up() {
        let (addr, _names, pem) = tls_server().await;
        let ca = pem_file("right-ca", &pem);
        let tls = TlsCheck {
            verify_ca: Some(ca.clone()),
            ..TlsCheck::default()
        };
        let mut named = http(vec![url("/")]);
        named.virtualhost = Some("localhost".into());
        let outcome = check_tls(addr, &named, &tls).await;
        let _ = std::fs::remove_file(ca);
        assert_eq!(outcome, Outcome::Up);
    }

    #[tokio::test]
    async fn ssl_get_verify_ca_with_another_ca_is_down() {
        let (addr, _names, _pem) = tls_server().await;
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let ca = pem_file("other-ca", &other.cert.pem());
        let tls = TlsCheck {
            verify_ca: Some(ca.clone()),
            ..TlsCheck::default()
        };
        let mut named = http(vec![url("/")]);
        named.virtualhost = Some("localhost".into());
        let outcome = check_tls(addr, &named, &tls).await;
        let _ = std::fs::remove_file(ca);
        let reason = down(outcome);
        assert!(reason.contains("TLS handshake"), "{reason}");
    }

    #[tokio::test]
    async fn ssl_get_sends_sni_when_enabled() {
        let (addr, mut names, _pem) = tls_server().await;
        let tls = TlsCheck {
            enable_sni: true,
            sni_name: Some("probe.example".into()),
            ..TlsCheck::default()
        };
        assert_eq!(
            check_tls(addr, &http(vec![url("/")]), &tls).await,
            Outcome::Up
        );
        assert_eq!(
            names.recv().await.unwrap().as_deref(),
            Some("probe.example")
        );

        // Without sni_name the virtualhost is the name sent.
        let tls = TlsCheck {
            enable_sni: true,
            ..TlsCheck::default()
        };
        let mut named = http(vec![url("/")]);
        named.virtualhost = Some("www.example".into());
        assert_eq!(check_tls(addr, &named, &tls).await, Outcome::Up);
        assert_eq!(names.recv().await.unwrap().as_deref(), Some("www.example"));
    }

    #[tokio::test]
    async fn genhash_returns_the_md5_of_the_body() {
        let (addr, _requests) =
            fixed(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone").await;
        let common = checker_for(addr, Duration::from_secs(2));
        let hashed = genhash(&common, "/", None, HttpProtocol::Http10, None)
            .await
            .unwrap();
        assert_eq!(
            hashed,
            Hashed {
                status: 404,
                digest: format!("{:x}", Md5::digest(b"gone")),
                body_len: 4,
            }
        );
    }
}
