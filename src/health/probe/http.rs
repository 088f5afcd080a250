use crate::config::model::{CheckerCommon, HttpCheck, TlsCheck};

use super::{Outcome, ProbeEnv};

pub async fn probe(
    _common: &CheckerCommon,
    _http: &HttpCheck,
    _tls: Option<&TlsCheck>,
    _env: &ProbeEnv,
) -> Outcome {
    Outcome::Down("http: not written yet".into())
}

pub fn genhash() {}
