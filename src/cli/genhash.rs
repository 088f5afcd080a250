//! `directorctl genhash`: keepalived's genhash. Fetches a URL the way HTTP_GET/SSL_GET do
//! (same request, same limits) and prints the MD5 of the body as a ready-to-paste `digest`
//! line. It runs on its own: no daemon, no configuration.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::config::model::{CheckerCommon, HttpProtocol, TlsCheck};
use crate::health::probe::{genhash, Hashed};

use super::GenhashArgs;

/// What a genhash URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub tls: bool,
    /// The host as written (without brackets for IPv6).
    pub host: String,
    pub port: u16,
    /// Path with its query; `/` when the URL has none.
    pub path: String,
}

/// Splits `http://HOST[:PORT]/PATH` or `https://…`; HOST is a name, an IPv4 address or a
/// bracketed IPv6 address.
pub fn parse_url(url: &str) -> Result<Target, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}`: expected http://HOST[:PORT]/PATH or https://…"))?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "http" => false,
        "https" => true,
        _ => return Err(format!("`{url}`: only http:// and https:// URLs")),
    };
    // The fragment stays with the client, as browsers do.
    let rest = rest.split('#').next().unwrap_or(rest);
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) if rest[at..].starts_with('?') => (&rest[..at], format!("/{}", &rest[at..])),
        Some(at) => (&rest[..at], rest[at..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    if authority.contains('@') {
        return Err(format!("`{url}`: user names in URLs are not supported"));
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| format!("`{url}`: unclosed `[` in the host"))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("`{url}`: unexpected `{after}` after the host")),
            },
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("`{url}`: no host"));
    }
    let port = match port {
        None => {
            if tls {
                443
            } else {
                80
            }
        }
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|&port| port != 0)
            .ok_or_else(|| format!("`{url}`: bad port `{port}`"))?,
    };
    Ok(Target {
        tls,
        host: host.to_owned(),
        port,
        path,
    })
}

/// `1.0`, `1.0C` (1.0 with `Connection: close`) or `1.1`, as keepalived's genhash `-P`.
pub fn parse_http_protocol(text: &str) -> Result<HttpProtocol, String> {
    match text {
        "1.0" => Ok(HttpProtocol::Http10),
        "1.0C" | "1.0c" => Ok(HttpProtocol::Http10Close),
        "1.1" => Ok(HttpProtocol::Http11),
        _ => Err(format!("`{text}`: expected 1.0, 1.0C or 1.1")),
    }
}

/// Seconds, fractions allowed; more than zero.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|secs| *secs > 0.0)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("`{text}`: expected a number of seconds above zero"))
}

/// Fetches and hashes; the error is a sentence for the terminal.
pub async fn run(args: &GenhashArgs) -> Result<Hashed, String> {
    let target = parse_url(&args.url)?;
    let address = resolve(&target)?;
    let common = CheckerCommon {
        connect_ip: address.ip(),
        connect_port: address.port(),
        bindto: None,
        bind_if: None,
        bind_port: None,
        fwmark: None,
        connect_timeout: args.timeout,
        retry: 0,
        delay_before_retry: Duration::ZERO,
        warmup: Duration::ZERO,
        delay_loop: Duration::ZERO,
        alpha: false,
        log_all_failures: false,
    };
    // A host name in the URL is the virtualhost, as a browser would send it; an address
    // leaves the Host header to the checker's rule (the address and port).
    let virtualhost = args.virtualhost.clone().or_else(|| {
        target
            .host
            .parse::<IpAddr>()
            .is_err()
            .then(|| target.host.clone())
    });
    let tls = TlsCheck {
        enable_sni: args.sni.is_some(),
        sni_name: args.sni.clone(),
        ..TlsCheck::default()
    };
    genhash(
        &common,
        &target.path,
        virtualhost.as_deref(),
        args.http_protocol,
        target.tls.then_some(&tls),
    )
    .await
    .map_err(|reason| format!("{}: {reason}", args.url))
}

/// The address to connect to: the literal, or the first address std's resolver gives.
fn resolve(target: &Target) -> Result<SocketAddr, String> {
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, target.port));
    }
    (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|err| format!("cannot resolve {}: {err}", target.host))?
        .next()
        .ok_or_else(|| format!("cannot resolve {}: no address", target.host))
}

/// The terminal output: the MD5, what was fetched, and the line for the configuration.
pub fn render(hashed: &Hashed) -> String {
    let mut out = format!(
        "MD5SUM = {}\nHTTP status {}, body {} bytes\n",
        hashed.digest, hashed.status, hashed.body_len
    );
    if !(200..=299).contains(&hashed.status) {
        out.push_str(&format!(
            "note: status {} is outside the default status_code 200-299\n",
            hashed.status
        ));
    }
    out.push_str(&format!("digest {}\n", hashed.digest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let target = parse_url("http://127.0.0.1:8080/health?full=1#top").unwrap();
        assert_eq!(
            target,
            Target {
                tls: false,
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/health?full=1".into()
            }
        );
        let target = parse_url("https://[::1]/").unwrap();
        assert_eq!(
            (target.tls, target.host.as_str(), target.port),
            (true, "::1", 443)
        );
        let target = parse_url("http://www.example.com").unwrap();
        assert_eq!((target.port, target.path.as_str()), (80, "/"));
        assert_eq!(parse_url("http://h?q").unwrap().path, "/?q");
        for bad in [
            "ftp://h/",
            "127.0.0.1/",
            "http:///x",
            "http://h:0/",
            "http://h:99999/",
            "http://[::1/",
            "http://u@h/",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn protocols_and_timeouts() {
        assert_eq!(parse_http_protocol("1.0C"), Ok(HttpProtocol::Http10Close));
        assert_eq!(parse_http_protocol("1.1"), Ok(HttpProtocol::Http11));
        assert!(parse_http_protocol("2").is_err());
        assert_eq!(parse_timeout("2.5"), Ok(Duration::from_millis(2500)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("-1").is_err());
    }

    #[tokio::test]
    async fn genhash_against_a_local_server() {
        use md5::{Digest, Md5};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            if let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request).await;
                let _ = stream
                    .write_all(b"HTTP/1.0 200 OK\r\n\r\n<html>hello</html>")
                    .await;
            }
        });
        let args = GenhashArgs {
            url: format!("http://{addr}/index.html"),
            virtualhost: None,
            http_protocol: HttpProtocol::Http10,
            timeout: Duration::from_secs(2),
            sni: None,
        };
        let hashed = run(&args).await.unwrap();
        let expected = format!("{:x}", Md5::digest(b"<html>hello</html>"));
        assert_eq!(hashed.digest, expected);
        assert!(render(&hashed).ends_with(&format!("digest {expected}\n")));
    }
}
