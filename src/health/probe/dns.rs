use crate::config::model::{CheckerCommon, DnsCheck};

use super::Outcome;

pub async fn probe(_common: &CheckerCommon, _check: &DnsCheck) -> Outcome {
    Outcome::Down("dns: not written yet".into())
}
