//! Metrics in the Prometheus text exposition format, and the small HTTP endpoint that serves
//! them on `director { metrics_listen ADDR:PORT }`.
//!
//! The control loop owns every number; the endpoint asks it through the same request
//! channel as the control socket, so a scrape sees one consistent snapshot.

use std::fmt::Write;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::socket::{ControlRequest, Reply, Request};

/// One metric family: name, help, type, and its samples as (labels, value).
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

#[derive(Clone, Copy)]
pub enum Kind {
    Counter,
    Gauge,
}

impl Family {
    pub fn new(name: &'static str, kind: Kind, help: &'static str) -> Self {
        Family {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    pub fn sample(mut self, labels: Vec<(&'static str, String)>, value: f64) -> Self {
        self.samples.push((labels, value));
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
        };
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} {kind}", family.name);
        for (labels, value) in &family.samples {
            out.push_str(family.name);
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
    }
    out
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Serves `GET /metrics` until the task is aborted.
pub async fn serve_http(listener: TcpListener, to_control: mpsc::Sender<ControlRequest>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let to_control = to_control.clone();
        tokio::spawn(async move {
            let mut buffer = [0u8; 1024];
            let Ok(read) = stream.read(&mut buffer).await else {
                return;
            };
            let request_line = String::from_utf8_lossy(&buffer[..read]);
            let response = if request_line.starts_with("GET /metrics ")
                || request_line.starts_with("GET / ")
            {
                match metrics_text(&to_control).await {
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

async fn metrics_text(to_control: &mpsc::Sender<ControlRequest>) -> Option<String> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    to_control
        .send(ControlRequest {
            request: Request::Metrics,
            reply,
        })
        .await
        .ok()?;
    match answer.await.ok()? {
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
}
