use crate::config::model::CheckerCommon;

use super::Outcome;

pub async fn probe(_common: &CheckerCommon) -> Outcome {
    Outcome::Down("tcp: not written yet".into())
}
