//! systemd's readiness protocol (sd_notify(3)): one datagram of `KEY=VALUE` lines to the
//! unix socket named by `$NOTIFY_SOCKET`. It is a handful of lines over std's
//! `UnixDatagram`, so it is written here rather than pulled in as a crate (the `sd-notify`
//! crate does the same); nothing happens when the daemon does not run under systemd.
//!
//! What the daemon sends: `READY=1` once the first reconcile has been reported (or at
//! once when there is nothing to program), `RELOADING=1` … `READY=1` around a reload,
//! `STOPPING=1` when it starts shutting down, and `WATCHDOG=1` from the control loop
//! itself at half of `$WATCHDOG_USEC`, so a wedged loop stops the pings and systemd
//! restarts the daemon.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// The notification socket, when the daemon runs under systemd with `Type=notify`.
#[derive(Debug, Default)]
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`: a path, or `@name` for an abstract socket.
    pub fn from_env() -> Self {
        match std::env::var_os("NOTIFY_SOCKET") {
            Some(name) => Self::to(&name.to_string_lossy()),
            None => Notifier::default(),
        }
    }

    /// A notifier for the socket `name`; one that cannot be used is logged and ignored
    /// (the daemon runs on; systemd will say it never became ready).
    pub fn to(name: &str) -> Self {
        let address = if let Some(abstract_name) = name.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(abstract_name.as_bytes())
        } else {
            SocketAddr::from_pathname(name)
        };
        let target = address
            .and_then(|address| Ok((UnixDatagram::unbound()?, address)))
            .map_err(|err| tracing::warn!(socket = name, error = %err, "NOTIFY_SOCKET unusable"))
            .ok();
        Notifier { target }
    }

    pub fn is_active(&self) -> bool {
        self.target.is_some()
    }

    /// Sends `state` (e.g. `READY=1\nSTATUS=…`). Failures are logged at debug: systemd
    /// going away must not disturb the daemon.
    pub fn notify(&self, state: &str) {
        if let Some((socket, address)) = &self.target {
            if let Err(err) = socket.send_to_addr(state.as_bytes(), address) {
                tracing::debug!(error = %err, state, "sd_notify failed");
            }
        }
    }
}

/// How often to ping the watchdog: half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3)
/// advises; None when systemd set no watchdog for this process.
pub fn watchdog_interval() -> Option<Duration> {
    if let Some(pid) = std::env::var_os("WATCHDOG_PID") {
        if pid.to_string_lossy() != std::process::id().to_string() {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_arrive_as_one_datagram_each() {
        let dir = std::env::temp_dir().join(format!("director-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).expect("bind");
        let notifier = Notifier::to(&path.to_string_lossy());
        assert!(notifier.is_active());
        notifier.notify("READY=1\nSTATUS=serving");
        notifier.notify("STOPPING=1");
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=serving");
        let n = listener.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"STOPPING=1");
        // Not under systemd: nothing to do, nothing fails.
        Notifier::default().notify("READY=1");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn abstract_sockets_are_reached_too() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("director-notify-test-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
        let listener = UnixDatagram::bind_addr(&address).expect("bind");
        Notifier::to(&format!("@{name}")).notify("WATCHDOG=1");
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"WATCHDOG=1");
    }
}
