//! One probe of one checker: connect, ask, judge the answer. Every probe is bounded in time
//! (the checker's `connect_timeout`, or `misc_timeout` for scripts) and in the bytes it
//! reads, and nothing a server sends can make it panic.

pub mod bfd;
mod dns;
// VRRP's track_file shares the reading and init_file rules (vrrp/track_file.rs).
pub(crate) mod file;
mod http;
mod misc;
mod ping;
mod smtp;
pub mod socket;
mod tcp;
pub mod tls;
mod udp;

pub use http::{genhash, Hashed};

use crate::config::model::Checker;

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The service answered as expected.
    Up,
    /// The service is up and the check sets or shifts the real server's weight
    /// (MISC_CHECK `misc_dynamic`, FILE_CHECK `dynamic`).
    Weighted(WeightChange),
    /// The check failed; the text says why, for logs and `directorctl services`.
    Down(String),
}

/// How a dynamic checker changes the configured weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightChange {
    /// MISC_CHECK `misc_dynamic`: exit status − 2.
    Set(u32),
    /// FILE_CHECK `dynamic`: value × weight, added to the configured weight.
    Add(i64),
}

/// What probes share across checks: TLS client contexts, the host name and the BFD
/// sessions' states.
#[derive(Debug, Default)]
pub struct ProbeEnv {
    pub tls: tls::TlsCache,
    /// SMTP_CHECK's default HELO name.
    pub host_name: String,
    /// BFD_CHECK's source; `None` where nothing publishes states (then it is down).
    pub bfd: Option<bfd::BfdStates>,
}

/// Gets a checker ready before its first probe: FILE_CHECK writes its `init_file` value.
pub fn prepare(checker: &Checker) {
    if let Checker::File { file, .. } = checker {
        if let Err(err) = file::initialise(file) {
            tracing::warn!(
                file = %file.path.display(),
                error = %err,
                "FILE_CHECK: cannot write the track_file's init_file value"
            );
        }
    }
}

/// Runs one check of `checker`.
pub async fn probe(checker: &Checker, env: &ProbeEnv) -> Outcome {
    match checker {
        Checker::Tcp { common } => tcp::probe(common).await,
        Checker::Http { common, http } => http::probe(common, http, None, env).await,
        Checker::Ssl { common, http, tls } => http::probe(common, http, Some(tls), env).await,
        Checker::Smtp { common, smtp } => smtp::probe(common, smtp, env).await,
        Checker::Misc { common, misc } => misc::probe(common, misc).await,
        Checker::Dns { common, dns } => dns::probe(common, dns).await,
        Checker::Udp { common, udp } => udp::probe(common, udp).await,
        Checker::Ping { common } => ping::probe(common).await,
        Checker::File { common, file } => file::probe(common, file).await,
        Checker::Bfd { bfd, .. } => bfd::probe(bfd, env.bfd.as_ref()),
    }
}
