//! What a transition tells the outside world: keepalived's notify scripts (with its
//! arguments) and `smtp_alert` mails through global_defs' `smtp_server`. Both run in
//! their own tasks: a slow script or mail server never delays the protocol.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tracing::{debug, warn};

use crate::config::model::Script;
use crate::script::{self, ScriptStatus};

use super::fsm::State;
use super::settings::{NotifyScripts, SmtpSettings};

/// Whose transition: an instance or a sync group (the first `notify` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Instance,
    Group,
}

impl Scope {
    fn word(self) -> &'static str {
        match self {
            Scope::Instance => "INSTANCE",
            Scope::Group => "GROUP",
        }
    }
}

/// How long a notify script may run when nothing else bounds it; then its process group
/// is killed.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `script` with `args` appended (see [`crate::script`]: own process group, bounded
/// output, TERM then KILL of the group at the timeout, [`NOTIFY_TIMEOUT`] by default).
/// Returns true when it exited with status 0.
pub async fn run_script(script: &Script, args: &[String], timeout: Option<Duration>) -> bool {
    let result = script::run(script, args, timeout.unwrap_or(NOTIFY_TIMEOUT)).await;
    match &result.status {
        ScriptStatus::Exited(0) => true,
        ScriptStatus::Failed(why) => {
            warn!(script = %script.command, error = %why, "cannot run script");
            false
        }
        status => {
            debug!(script = %script.command, ?status, output = ?result.excerpt(200), "script did not succeed");
            false
        }
    }
}

/// Runs the notify scripts for a transition of `name` to `state`, as keepalived does:
/// the state's own script as written, then `notify` with `INSTANCE|GROUP name STATE prio`.
/// In the background: the protocol never waits for a script.
pub fn notify(scripts: &NotifyScripts, scope: Scope, name: &str, state: &str, priority: u8) {
    if let Some(job) = notify_job(scripts, scope, name, state, priority) {
        tokio::spawn(job);
    }
}

/// The same, awaited (bounded by `timeout`): for STOP, which runs while shutting down.
pub async fn notify_and_wait(
    scripts: &NotifyScripts,
    scope: Scope,
    name: &str,
    state: &str,
    priority: u8,
    timeout: Duration,
) {
    if let Some(job) = notify_job(scripts, scope, name, state, priority) {
        if tokio::time::timeout(timeout, job).await.is_err() {
            warn!(
                instance = name,
                state, "notify scripts still running at shutdown"
            );
        }
    }
}

fn notify_job(
    scripts: &NotifyScripts,
    scope: Scope,
    name: &str,
    state: &str,
    priority: u8,
) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
    let specific = match state {
        "MASTER" => scripts.master.clone(),
        "BACKUP" => scripts.backup.clone(),
        "FAULT" => scripts.fault.clone(),
        "STOP" => scripts.stop.clone(),
        _ => None,
    };
    let generic = scripts.generic.clone();
    if specific.is_none() && generic.is_none() {
        return None;
    }
    let args = vec![
        scope.word().to_string(),
        name.to_string(),
        state.to_string(),
        priority.to_string(),
    ];
    Some(async move {
        if let Some(s) = specific {
            run_script(&s, &[], None).await;
        }
        if let Some(s) = generic {
            run_script(&s, &args, None).await;
        }
    })
}

/// keepalived's alert text for a state.
fn alert_text(scope: Scope, name: &str, state: State, router_id: &str) -> (String, String) {
    let what = match scope {
        Scope::Instance => "Instance",
        Scope::Group => "Group",
    };
    let subject = format!("[{router_id}] VRRP {what} {name} - Entering {state} state");
    let body = match (scope, state) {
        (Scope::Instance, State::Master) => "=> VRRP Instance is now owning VRRP VIPs <=",
        (Scope::Instance, State::Backup) => "=> VRRP Instance is nolonger owning VRRP VIPs <=",
        (Scope::Instance, _) => "=> VRRP Instance is in FAULT state <=",
        (Scope::Group, State::Master) => "=> All VRRP group instances are now in MASTER state <=",
        (Scope::Group, State::Backup) => "=> All VRRP group instances are now in BACKUP state <=",
        (Scope::Group, _) => "=> All VRRP group instances are now in FAULT state <=",
    };
    (subject, body.to_string())
}

/// Sends an alert mail in the background; failures are logged.
pub fn smtp_alert(smtp: &SmtpSettings, scope: Scope, name: &str, state: State) {
    let (subject, body) = alert_text(scope, name, state, &smtp.router_id);
    smtp_alert_text(smtp, subject, body);
}

/// Sends a mail with this subject and body in the background (VRRP and checker alerts);
/// failures are logged.
pub fn smtp_alert_text(smtp: &SmtpSettings, subject: String, body: String) {
    let Some((host, port)) = smtp.server.clone() else {
        warn!(%subject, "smtp_alert set but no smtp_server in global_defs");
        return;
    };
    if smtp.to.is_empty() {
        return;
    }
    let smtp = smtp.clone();
    tokio::spawn(async move {
        let timeout = smtp.connect_timeout.max(Duration::from_secs(1));
        match tokio::time::timeout(timeout, send_mail(&host, port, &smtp, &subject, &body)).await {
            Ok(Ok(())) => debug!(%host, %subject, "smtp alert sent"),
            Ok(Err(e)) => warn!(%host, error = %e, "smtp alert failed"),
            Err(_) => warn!(%host, "smtp alert timed out"),
        }
    });
}

async fn reply<R: AsyncBufReadExt + Unpin>(r: &mut R, expect: u16) -> std::io::Result<()> {
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "smtp server closed the connection",
            ));
        }
        let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        // Multi-line replies have '-' after the code.
        if line.as_bytes().get(3) == Some(&b'-') {
            continue;
        }
        if code / 100 != expect / 100 {
            return Err(std::io::Error::other(format!(
                "smtp: expected {expect}, got {}",
                line.trim_end()
            )));
        }
        return Ok(());
    }
}

/// A minimal SMTP client (RFC 5321): HELO, MAIL, RCPT…, DATA, QUIT.
pub async fn send_mail(
    host: &str,
    port: u16,
    smtp: &SmtpSettings,
    subject: &str,
    body: &str,
) -> std::io::Result<()> {
    let stream = TcpStream::connect((host, port)).await?;
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    reply(&mut rd, 220).await?;
    wr.write_all(format!("HELO {}\r\n", smtp.helo).as_bytes())
        .await?;
    reply(&mut rd, 250).await?;
    wr.write_all(format!("MAIL FROM:<{}>\r\n", smtp.from).as_bytes())
        .await?;
    reply(&mut rd, 250).await?;
    for to in &smtp.to {
        wr.write_all(format!("RCPT TO:<{to}>\r\n").as_bytes())
            .await?;
        reply(&mut rd, 250).await?;
    }
    wr.write_all(b"DATA\r\n").await?;
    reply(&mut rd, 354).await?;
    let msg = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nX-Mailer: director\r\n\r\n{}\r\n.\r\n",
        smtp.from,
        smtp.to
            .iter()
            .map(|t| format!("<{t}>"))
            .collect::<Vec<_>>()
            .join(", "),
        subject,
        body
    );
    wr.write_all(msg.as_bytes()).await?;
    reply(&mut rd, 250).await?;
    wr.write_all(b"QUIT\r\n").await?;
    let _ = reply(&mut rd, 221).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// A tiny SMTP listener: accepts one session and returns everything it received.
    async fn fake_smtp(listener: TcpListener) -> String {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut log = String::new();
        s.write_all(b"220 test ESMTP\r\n").await.unwrap();
        let mut buf = vec![0u8; 4096];
        let mut in_data = false;
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            let chunk = String::from_utf8_lossy(&buf[..n]).to_string();
            log.push_str(&chunk);
            for line in chunk.split("\r\n").filter(|l| !l.is_empty()) {
                let answer: &[u8] = if in_data {
                    if line == "." {
                        in_data = false;
                        b"250 queued\r\n"
                    } else {
                        continue;
                    }
                } else if line.starts_with("DATA") {
                    in_data = true;
                    b"354 go ahead\r\n"
                } else if line.starts_with("QUIT") {
                    s.write_all(b"221 bye\r\n").await.unwrap();
                    return log;
                } else {
                    b"250 ok\r\n"
                };
                s.write_all(answer).await.unwrap();
            }
        }
        log
    }

    #[tokio::test]
    async fn smtp_alert_reaches_a_local_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(fake_smtp(listener));
        let smtp = SmtpSettings {
            server: Some(("127.0.0.1".into(), port)),
            helo: "lb1".into(),
            from: "lb1@example.org".into(),
            to: vec!["ops@example.org".into(), "noc@example.org".into()],
            connect_timeout: Duration::from_secs(5),
            router_id: "LB1".into(),
        };
        let (subject, body) = alert_text(Scope::Instance, "VI_1", State::Master, "LB1");
        send_mail("127.0.0.1", port, &smtp, &subject, &body)
            .await
            .unwrap();
        let log = server.await.unwrap();
        assert!(log.contains("HELO lb1\r\n"));
        assert!(log.contains("MAIL FROM:<lb1@example.org>"));
        assert!(log.contains("RCPT TO:<ops@example.org>"));
        assert!(log.contains("RCPT TO:<noc@example.org>"));
        assert!(log.contains("Subject: [LB1] VRRP Instance VI_1 - Entering MASTER state"));
        assert!(log.contains("=> VRRP Instance is now owning VRRP VIPs <="));
    }

    #[tokio::test]
    async fn notify_gets_keepalived_arguments() {
        let dir = std::env::temp_dir().join(format!("vrrp-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("args");
        let script = Script {
            command: format!("echo >{}", out.display()),
            user: None,
        };
        let args: Vec<String> = ["INSTANCE", "VI_1", "MASTER", "150"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(run_script(&script, &args, Some(Duration::from_secs(5))).await);
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(got.trim(), "INSTANCE VI_1 MASTER 150");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
