use crate::config::model::{CheckerCommon, MiscCheck};

use super::Outcome;

pub async fn probe(_common: &CheckerCommon, _check: &MiscCheck) -> Outcome {
    Outcome::Down("misc: not written yet".into())
}
