use crate::config::model::{CheckerCommon, FileCheck};

use super::Outcome;

pub async fn probe(_common: &CheckerCommon, _check: &FileCheck) -> Outcome {
    Outcome::Down("file: not written yet".into())
}

pub fn initialise(_file: &FileCheck) -> std::io::Result<()> {
    Ok(())
}
