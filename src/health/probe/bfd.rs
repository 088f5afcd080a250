//! BFD_CHECK: no packet of its own; the verdict is the state of a `bfd_instance`'s session
//! as the control loop last heard it from the BFD speaker ([`BfdStates`]).

use std::collections::BTreeMap;

use tokio::sync::watch;

use crate::config::model::BfdCheck;

use super::Outcome;

/// Whether each `bfd_instance`'s session is Up, published by the control loop.
pub type BfdStates = watch::Receiver<BTreeMap<String, bool>>;

pub fn probe(check: &BfdCheck, states: Option<&BfdStates>) -> Outcome {
    let up = states.and_then(|s| s.borrow().get(&check.name).copied());
    match up {
        Some(true) => Outcome::Up,
        Some(false) => Outcome::Down(format!(
            "the BFD session of bfd_instance '{}' is not Up",
            check.name
        )),
        None => Outcome::Down(format!(
            "bfd_instance '{}' has no BFD session (no interface reaches its neighbor)",
            check.name
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_published_state() {
        let check = BfdCheck {
            name: "peer".into(),
        };
        let (tx, rx) = watch::channel(BTreeMap::new());
        assert!(matches!(probe(&check, Some(&rx)), Outcome::Down(_)));
        tx.send_modify(|m| {
            m.insert("peer".to_string(), true);
        });
        assert_eq!(probe(&check, Some(&rx)), Outcome::Up);
        tx.send_modify(|m| {
            m.insert("peer".to_string(), false);
        });
        assert!(matches!(probe(&check, Some(&rx)), Outcome::Down(_)));
        assert!(matches!(probe(&check, None), Outcome::Down(_)));
    }
}
