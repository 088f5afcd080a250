//! Metrics in the Prometheus text exposition format, and the small HTTP endpoint that serves
//! them on `director { metrics_listen ADDR:PORT }`.
//!
//! The control loop owns every number and publishes them in a snapshot; the endpoint reads
//! the snapshot (see `snapshot.rs`), so a scrape sees one consistent state and never waits
//! for the loop.

use std::fmt::Write;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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

/// Serves `GET /metrics` until the task is aborted.
pub async fn serve_http(listener: TcpListener, frontdesk: Frontdesk) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let frontdesk = frontdesk.clone();
        tokio::spawn(async move {
            let mut buffer = [0u8; 1024];
            let Ok(read) = stream.read(&mut buffer).await else {
                return;
            };
            let request_line = String::from_utf8_lossy(&buffer[..read]);
            let response = if request_line.starts_with("GET /metrics ")
                || request_line.starts_with("GET / ")
            {
                match metrics_text(&frontdesk).await {
                    Some(body) => {
                        http_response("200 OK", "text/plain; version=0.0.4; charset=utf-8", &body)
                    }
                    None => {
                        http_response("503 Service Unavailable", "text/plain", "shutting down\n")
                    }
                }
            } else {
                http_response("404 Not Found", "text/plain", "try /metrics\n")
            };
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
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
