//! The hold on a VIP's first announcement: a VIP is not announced until every checker of
//! every real server behind it has given its first verdict (or its bound has passed).
//!
//! Real servers start up (keepalived's semantics without `alpha`), so a director that
//! starts while a real server is down programs a table that still counts it up, and that
//! table differs from the other directors'. Announced, it would attract traffic for the
//! dead server and break the flows ECMP moves to it; held back, it attracts nothing until
//! its own checks have corrected it. A VIP already announced is never held: a reload that
//! adds a service (or changes a checker) on it must not take it away from the routers.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use tokio::time::Instant;

use crate::config::model::{Checker, Config};

use super::groups;

/// The VIPs of `candidates` (those healthy enough to announce) that wait for first
/// verdicts, each with the time it is announced anyway. `already` are the VIPs announced
/// now, which never wait; `awaiting` gives, for a checker whose first verdict is still
/// due, the time its bound passes (None once it gave one, or once the bound passed).
/// Real servers without checkers hold nothing back.
pub fn held_vips(
    config: &Config,
    candidates: &BTreeSet<IpAddr>,
    already: &BTreeSet<IpAddr>,
    awaiting: impl Fn(&Checker) -> Option<Instant>,
) -> BTreeMap<IpAddr, Instant> {
    let mut held: BTreeMap<IpAddr, Instant> = BTreeMap::new();
    if candidates.is_subset(already) {
        // The steady state: nothing new to announce, so nothing to look up.
        return held;
    }
    for vs in &config.virtual_servers {
        let Some(until) = vs
            .real_servers
            .iter()
            .flat_map(|rs| &rs.checkers)
            .filter_map(&awaiting)
            .max()
        else {
            continue;
        };
        for vip in groups::addresses(config, vs) {
            if candidates.contains(&vip) && !already.contains(&vip) {
                let entry = held.entry(vip).or_insert(until);
                *entry = (*entry).max(until);
            }
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const TWO_PORTS: &str = r#"
ospf {
    router_id 10.0.0.11
    area 0 { interface eth0 { } }
}
virtual_server 10.99.0.1 80 {
    real_server 10.1.0.1 80 { TCP_CHECK { } }
}
virtual_server 10.99.0.1 443 {
    real_server 10.1.0.1 443 { TCP_CHECK { } }
    real_server 10.1.0.2 443 { }
}
virtual_server 10.99.0.2 80 {
    real_server 10.1.0.2 80 { }
}
"#;

    fn config() -> Config {
        match crate::config::parse_str("director.conf", TWO_PORTS) {
            Ok(loaded) => loaded.config,
            Err(failed) => panic!("config: {:?}", failed.errors),
        }
    }

    #[test]
    fn a_vip_waits_for_the_last_due_checker_of_all_its_services() {
        let config = config();
        let t0 = Instant::now();
        let due = |checker: &Checker| {
            Some(t0 + Duration::from_secs(u64::from(checker.common().connect_port)))
        };
        let candidates: BTreeSet<IpAddr> = ["10.99.0.1", "10.99.0.2"]
            .iter()
            .filter_map(|v| v.parse().ok())
            .collect();
        let held = held_vips(&config, &candidates, &BTreeSet::new(), due);
        let vip: IpAddr = "10.99.0.1".parse().expect("address");
        assert_eq!(
            held,
            BTreeMap::from([(vip, t0 + Duration::from_secs(443))]),
            "the port-443 checker is due last; 10.99.0.2 has no checker"
        );
        assert!(
            held_vips(&config, &candidates, &BTreeSet::from([vip]), due).is_empty(),
            "an announced VIP never waits"
        );
        assert!(
            held_vips(&config, &candidates, &BTreeSet::new(), |_| None).is_empty(),
            "every first verdict in"
        );
    }
}
