//! Placeholder until the script runner lands.
use std::time::Duration;

use crate::config::model::Script;

pub struct ScriptResult(bool);

impl ScriptResult {
    pub fn succeeded(&self) -> bool {
        self.0
    }
}

impl std::fmt::Display for ScriptResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

pub async fn run(script: &Script, args: &[String], timeout: Duration) -> ScriptResult {
    ScriptResult(crate::vrrp::notify::run_script(script, args, Some(timeout)).await)
}
