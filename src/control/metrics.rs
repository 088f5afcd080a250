//! Metrics in the Prometheus text exposition format, and the small HTTP endpoint that serves
//! them on `director { metrics_listen ADDR:PORT }`.
//!
//! The control loop owns every number and publishes them in a snapshot; the endpoint reads
//! the snapshot (see `snapshot.rs`), so a scrape sees one consistent state and never waits
//! for the loop.
//!
//! The endpoint reads at most [`MAX_HEAD_BYTES`] of request head (never a body), gives a
//! client [`REQUEST_TIME`] to send it and to take the answer, and serves at most
//! [`MAX_CLIENTS`] connections at once (the ones beyond get a 503 and are closed).

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::socket::{Frontdesk, Reply, Request};

/// A series' labels as (name, value) pairs.
pub type Labels = Vec<(&'static str, String)>;

/// One metric family: name, help, type, and its samples as (labels, value).
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<(Labels, f64)>,
    /// Histogram series as (name suffix, labels, value).
    pub histogram_series: Vec<(&'static str, Labels, f64)>,
}

#[derive(Clone, Copy)]
pub enum Kind {
    Counter,
    Gauge,
    /// Samples come from [`Family::histogram`]: `_bucket`, `_sum` and `_count` series.
    Histogram,
}

impl Family {
    pub fn new(name: &'static str, kind: Kind, help: &'static str) -> Self {
        Family {
            name,
            help,
            kind,
            samples: Vec::new(),
            histogram_series: Vec::new(),
        }
    }

    pub fn sample(mut self, labels: Vec<(&'static str, String)>, value: f64) -> Self {
        self.samples.push((labels, value));
        self
    }

    /// One labelled histogram: cumulative `counts` per upper `bounds`, then +Inf, sum and
    /// count.
    pub fn histogram(
        mut self,
        labels: Vec<(&'static str, String)>,
        bounds: &[f64],
        counts: &[u64],
        count: u64,
        sum: f64,
    ) -> Self {
        for (bound, bucket) in bounds.iter().zip(counts) {
            let mut l = labels.clone();
            l.push(("le", bound.to_string()));
            self.histogram_series.push(("_bucket", l, *bucket as f64));
        }
        let mut l = labels.clone();
        l.push(("le", "+Inf".into()));
        self.histogram_series.push(("_bucket", l, count as f64));
        self.histogram_series.push(("_sum", labels.clone(), sum));
        self.histogram_series.push(("_count", labels, count as f64));
        self
    }
}

/// Renders the families in the text format (version 0.0.4).
pub fn render(families: &[Family]) -> String {
    let mut out = String::new();
    for family in families {
        let kind = match family.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} {kind}", family.name);
        for (labels, value) in &family.samples {
            series(&mut out, family.name, "", labels, *value);
        }
        for (suffix, labels, value) in &family.histogram_series {
            series(&mut out, family.name, suffix, labels, *value);
        }
    }
    out
}

fn series(out: &mut String, name: &str, suffix: &str, labels: &[(&str, String)], value: f64) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() {
        out.push('{');
        for (index, (key, label_value)) in labels.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            let _ = write!(out, "{key}=\"{}\"", escape(label_value));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Longest request head read (request line and headers); a body is never read.
pub const MAX_HEAD_BYTES: usize = 8192;
/// Time a client has to send its request head, and to take the answer.
pub const REQUEST_TIME: Duration = Duration::from_secs(5);
/// Scrapes served at once.
pub const MAX_CLIENTS: usize = 16;

/// What the endpoint answers to a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Metrics,
    NotFound,
    /// Not a complete HTTP request line.
    BadRequest,
}

/// Routes a request by its first line: `GET /metrics` and `GET /` serve the metrics.
pub fn route(head: &[u8]) -> Route {
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .or_else(|| head.iter().position(|&b| b == b'\n'));
    let Some(end) = line_end else {
        return Route::BadRequest;
    };
    let mut words = head[..end].split(|&b| b == b' ');
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some(b"GET"), Some(b"/metrics" | b"/"), Some(version), None)
            if version.starts_with(b"HTTP/") =>
        {
            Route::Metrics
        }
        (Some(_), Some(_), Some(version), None) if version.starts_with(b"HTTP/") => Route::NotFound,
        _ => Route::BadRequest,
    }
}

/// Reads until the end of the request head (an empty line), at most `max` bytes; returns
/// what was read (a head cut at `max` bytes is routed by its first line all the same).
async fn read_head(stream: &mut TcpStream, max: usize) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while head.len() < max {
        let want = chunk.len().min(max - head.len());
        let read = stream.read(&mut chunk[..want]).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..read]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            break;
        }
    }
    Ok(head)
}

/// Serves `GET /metrics` until the task is aborted.
pub async fn serve_http(listener: TcpListener, frontdesk: Frontdesk) {
    serve_http_with(listener, frontdesk, MAX_CLIENTS, REQUEST_TIME).await
}

async fn serve_http_with(
    listener: TcpListener,
    frontdesk: Frontdesk,
    max_clients: usize,
    request_time: Duration,
) {
    let slots = Arc::new(Semaphore::new(max_clients));
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            let busy = http_response("503 Service Unavailable", "text/plain", "busy\n");
            let _ = stream.try_write(busy.as_bytes());
            continue;
        };
        let frontdesk = frontdesk.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let head =
                match tokio::time::timeout(request_time, read_head(&mut stream, MAX_HEAD_BYTES))
                    .await
                {
                    Ok(Ok(head)) => head,
                    _ => return,
                };
            let response = match route(&head) {
                Route::Metrics => match metrics_text(&frontdesk).await {
                    Some(body) => {
                        http_response("200 OK", "text/plain; version=0.0.4; charset=utf-8", &body)
                    }
                    None => {
                        http_response("503 Service Unavailable", "text/plain", "shutting down\n")
                    }
                },
                Route::NotFound => http_response("404 Not Found", "text/plain", "try /metrics\n"),
                Route::BadRequest => {
                    http_response("400 Bad Request", "text/plain", "bad request\n")
                }
            };
            let _ = tokio::time::timeout(request_time, async {
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            })
            .await;
        });
    }
}

/// Binds the metrics listener, reporting which address failed.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

async fn metrics_text(frontdesk: &Frontdesk) -> Option<String> {
    match frontdesk.answer(Request::Metrics).await {
        Reply::Ok(serde_json::Value::String(text)) => Some(text),
        _ => None,
    }
}

fn http_response(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_has_help_type_and_escaped_labels() {
        let text = render(&[Family::new("director_vips", Kind::Gauge, "VIPs held.")
            .sample(vec![("state", "announced".into())], 2.0)
            .sample(vec![("name", "a\"b".into())], 1.0)]);
        assert_eq!(
            text,
            "# HELP director_vips VIPs held.\n# TYPE director_vips gauge\n\
             director_vips{state=\"announced\"} 2\ndirector_vips{name=\"a\\\"b\"} 1\n"
        );
    }

    #[test]
    fn routes_by_the_request_line_only() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(route(b"GET / HTTP/1.0\n\n"), Route::Metrics);
        assert_eq!(route(b"GET /other HTTP/1.1\r\n"), Route::NotFound);
        assert_eq!(route(b"GET /metrics HTTP/1.1"), Route::BadRequest);
        assert_eq!(route(b"\xff\xfe\r\n"), Route::BadRequest);
        assert_eq!(route(b""), Route::BadRequest);
    }

    async fn scrape(addr: SocketAddr, request: &[u8]) -> Option<String> {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream.write_all(request).await.ok()?;
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut answer))
            .await
            .ok()?
            .ok()?;
        Some(String::from_utf8_lossy(&answer).into_owned())
    }

    #[tokio::test]
    async fn silent_huge_and_many_clients_neither_crash_nor_stall_the_endpoint() {
        let listener = bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let frontdesk = super::super::socket::test_frontdesk();
        tokio::spawn(serve_http_with(
            listener,
            frontdesk,
            8,
            Duration::from_millis(300),
        ));
        let ok = scrape(addr, b"GET /metrics HTTP/1.1\r\n\r\n")
            .await
            .expect("answer");
        assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
        // A head that never ends is read up to the limit, then answered.
        let mut huge = b"GET /metrics HTTP/1.1\r\n".to_vec();
        huge.extend(std::iter::repeat_n(b'x', 1 << 20));
        let answer = scrape(addr, &huge).await.expect("answer");
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        // Silent clients: the first 8 hold every slot until they time out, the rest get 503.
        let mut silent = Vec::new();
        for _ in 0..200 {
            silent.push(TcpStream::connect(addr).await.expect("connect"));
        }
        let mut busy = 0;
        for stream in silent.iter_mut().rev().take(20) {
            let mut answer = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut answer))
                .await
                .expect("closed in time");
            busy += usize::from(answer.starts_with(b"HTTP/1.1 503"));
        }
        assert!(busy > 0);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let answer = scrape(addr, b"GET / HTTP/1.1\r\n\r\n")
                .await
                .unwrap_or_default();
            if answer.starts_with("HTTP/1.1 200 OK") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the endpoint stalled");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[test]
    fn histograms_have_cumulative_buckets_sum_and_count() {
        let text = render(&[
            Family::new("d_seconds", Kind::Histogram, "Durations.").histogram(
                vec![("checker", "TCP".into())],
                &[0.1, 1.0],
                &[1, 2],
                3,
                2.5,
            ),
        ]);
        assert_eq!(
            text,
            "# HELP d_seconds Durations.\n# TYPE d_seconds histogram\n\
             d_seconds_bucket{checker=\"TCP\",le=\"0.1\"} 1\n\
             d_seconds_bucket{checker=\"TCP\",le=\"1\"} 2\n\
             d_seconds_bucket{checker=\"TCP\",le=\"+Inf\"} 3\n\
             d_seconds_sum{checker=\"TCP\"} 2.5\nd_seconds_count{checker=\"TCP\"} 3\n"
        );
    }
}
