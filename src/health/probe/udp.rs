use crate::config::model::{CheckerCommon, UdpCheck};

use super::Outcome;

pub async fn probe(_common: &CheckerCommon, _check: &UdpCheck) -> Outcome {
    Outcome::Down("udp: not written yet".into())
}
