use crate::config::model::{CheckerCommon, SmtpCheck};

use super::{Outcome, ProbeEnv};

pub async fn probe(_common: &CheckerCommon, _smtp: &SmtpCheck, _env: &ProbeEnv) -> Outcome {
    Outcome::Down("smtp: not written yet".into())
}
