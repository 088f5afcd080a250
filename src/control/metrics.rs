//! Metrics in the Prometheus text exposition format, and the small HTTP endpoint that serves
//! them on `director { metrics_listen ADDR:PORT }`.
//!
//! The control loop owns every number and publishes them in a snapshot; the endpoint reads
//! the snapshot (see `snapshot.rs`), so a scrape sees one consistent state and never waits
//! for the loop. Each scrape describes the families as plain data ([`Family`]) and
//! `prometheus-client` (the Prometheus project's own Rust client) encodes them: names,
//! escaping, number formats and histogram series follow its text format 0.0.4 encoder, not
//! code of ours. Why that crate and not `prometheus` is in `docs/operations.md`.
//!
//! The endpoint reads at most [`MAX_HEAD_BYTES`] of request head (never a body), gives a
//! client [`REQUEST_TIME`] to send it and to take the answer, and serves at most
//! [`MAX_CLIENTS`] connections at once (the ones beyond get a 503 and are closed).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::socket::{Frontdesk, Reply, Request};

/// A series' labels as (name, value) pairs.
pub type Labels = Vec<(&'static str, String)>;

/// One metric family: name (counters end in `_total`, as they are exposed), help, type,
/// and its series.
#[derive(Debug, Clone)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<(Labels, f64)>,
    pub histograms: Vec<HistogramSeries>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    /// Series come from [`Family::histogram`].
    Histogram,
}

/// One labelled histogram as counted elsewhere: bucket counts per upper bound (cumulative,
/// as Prometheus exposes them), total count and sum.
#[derive(Debug, Clone)]
pub struct HistogramSeries {
    labels: Labels,
    buckets: Vec<(f64, u64)>,
    count: u64,
    sum: f64,
}

impl Family {
    pub fn new(name: &'static str, kind: Kind, help: &'static str) -> Self {
        Family {
            name,
            help,
            kind,
            samples: Vec::new(),
            histograms: Vec::new(),
        }
    }

    pub fn sample(mut self, labels: Labels, value: f64) -> Self {
        self.samples.push((labels, value));
        self
    }

    /// Adds a series in place (for families filled in a loop).
    pub fn push(&mut self, labels: Labels, value: f64) {
        self.samples.push((labels, value));
    }

    /// One labelled histogram: cumulative `counts` per upper `bounds`, then the count of
    /// every observation (the +Inf bucket) and their sum.
    pub fn histogram(
        mut self,
        labels: Labels,
        bounds: &[f64],
        counts: &[u64],
        count: u64,
        sum: f64,
    ) -> Self {
        self.histograms.push(HistogramSeries {
            labels,
            buckets: bounds.iter().copied().zip(counts.iter().copied()).collect(),
            count,
            sum,
        });
        self
    }
}

/// A guess at one series' line (`director_real_server_bytes_total{service=…,real=…,…} N`).
const TYPICAL_LINE_BYTES: usize = 100;

/// Renders the families in the Prometheus text format (version 0.0.4).
pub fn render(families: Vec<Family>) -> String {
    // Sized up front: a scrape of 1,000 services × 10 real servers is 40,000 lines, and
    // growing the text by doubling copied it over and over.
    let series: usize = families
        .iter()
        .map(|f| {
            f.samples.len()
                + f.histograms
                    .iter()
                    .map(|h| h.buckets.len() + 3)
                    .sum::<usize>()
        })
        .sum();
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Exposition(families)));
    let mut out = String::with_capacity(series * TYPICAL_LINE_BYTES + 4096);
    // Writing into a String cannot fail; an encoder error would be a bug in a family
    // (e.g. an invalid name), which the tests of every family catch.
    if let Err(err) = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry) {
        tracing::error!(error = %err, "metrics encoding failed");
    }
    out
}

/// The families of one scrape, handed to the encoder as a collector.
#[derive(Debug)]
struct Exposition(Vec<Family>);

impl Collector for Exposition {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let (name, metric_type) = match family.kind {
                // The encoder appends `_total` to counters itself.
                Kind::Counter => (
                    family.name.strip_suffix("_total").unwrap_or(family.name),
                    MetricType::Counter,
                ),
                Kind::Gauge => (family.name, MetricType::Gauge),
                Kind::Histogram => (family.name, MetricType::Histogram),
            };
            let mut metric = encoder.encode_descriptor(name, family.help, None, metric_type)?;
            for (labels, value) in &family.samples {
                encode_sample(metric.encode_family(labels)?, family.kind, *value)?;
            }
            for series in &family.histograms {
                // The encoder wants each bucket's own count and accumulates them.
                let mut below = 0;
                let mut buckets: Vec<(f64, u64)> = series
                    .buckets
                    .iter()
                    .map(|&(bound, cumulative)| {
                        let own = cumulative.saturating_sub(below);
                        below = below.max(cumulative);
                        (bound, own)
                    })
                    .collect();
                buckets.push((f64::INFINITY, series.count.saturating_sub(below)));
                metric
                    .encode_family(&series.labels)?
                    .encode_histogram::<NoLabelSet>(series.sum, series.count, &buckets, None)?;
            }
        }
        Ok(())
    }
}

/// Whole numbers are written as integers (`1`, not `1.0`), as alert rules and people
/// expect; the rest as floats.
fn encode_sample(mut encoder: MetricEncoder, kind: Kind, value: f64) -> std::fmt::Result {
    const EXACT: f64 = (1u64 << 53) as f64;
    let whole = value.fract() == 0.0 && value.abs() < EXACT;
    match (kind, whole) {
        (Kind::Counter, true) if value >= 0.0 => {
            encoder.encode_counter::<NoLabelSet, u64, u64>(&(value as u64), None)
        }
        (Kind::Counter, _) => encoder.encode_counter::<NoLabelSet, f64, f64>(&value, None),
        (_, true) => encoder.encode_gauge(&(value as i64)),
        (_, false) => encoder.encode_gauge(&value),
    }
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
        let text = render(vec![Family::new(
            "director_vips",
            Kind::Gauge,
            "VIPs held.",
        )
        .sample(vec![("state", "announced".into())], 2.0)
        .sample(vec![("name", "a\"b".into())], 1.0)]);
        assert_eq!(
            text,
            "# HELP director_vips VIPs held.\n# TYPE director_vips gauge\n\
             director_vips{state=\"announced\"} 2\ndirector_vips{name=\"a\\\"b\"} 1\n"
        );
    }

    #[test]
    fn counters_keep_their_total_names_and_fractions_stay_floats() {
        let text = render(vec![
            Family::new("director_x_total", Kind::Counter, "Xs.").sample(vec![], 3.0),
            Family::new("director_load_seconds", Kind::Gauge, "Load.").sample(vec![], 0.25),
        ]);
        assert_eq!(
            text,
            "# HELP director_x_total Xs.\n# TYPE director_x_total counter\ndirector_x_total 3\n\
             # HELP director_load_seconds Load.\n# TYPE director_load_seconds gauge\n\
             director_load_seconds 0.25\n"
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
        let text = render(vec![Family::new(
            "d_seconds",
            Kind::Histogram,
            "Durations.",
        )
        .histogram(
            vec![("checker", "TCP".into())],
            &[0.1, 1.0],
            &[1, 2],
            3,
            2.5,
        )]);
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
