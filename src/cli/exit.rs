//! directorctl's exit statuses: whether the thing asked about is healthy, so that scripts
//! and monitoring can use them without parsing the output.
//!
//! 0: healthy (or done); 1: the daemon answered and what was asked about is not healthy,
//! or the daemon refused the request; 2: wrong usage; 3: no answer (the daemon does not
//! run, the socket is not ours to use, or it did not answer in time). [`EXIT_STATUS_HELP`]
//! says the same in `--help` and the man page.

use std::process::ExitCode;

use serde_json::Value;

use crate::control::socket::Request;
use crate::control::views::{OspfInterfaceView, OspfNeighborView, ServicesView, StatusView};

/// The exit statuses, as `directorctl --help` and directorctl(8) print them.
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  what was asked about is healthy, or done
  1  it is not healthy, or the daemon refused
  2  wrong usage
  3  no answer from the daemon (not running,
     socket not usable, or too slow)

Healthy means, per command:
  status           every VIP announced (or in
                   maintenance), no failing dataplane
                   object, the last reload accepted
  services         every real server up or drained
  services --diff  no difference
  ospf neighbors   at least one Full adjacency
  ospf interfaces  none Down
  vrrp             no instance in FAULT
  bfd              every session Up
  realserver check nothing missing
  check-config     a valid file";

/// What directorctl exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Healthy,
    Unhealthy,
    Usage,
    NoAnswer,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(match exit {
            Exit::Healthy => 0,
            Exit::Unhealthy => 1,
            Exit::Usage => 2,
            Exit::NoAnswer => 3,
        })
    }
}

/// Whether the answer to `request` says that what it asked about is healthy.
pub fn verdict(request: Request, value: &Value) -> Exit {
    let healthy = match request {
        Request::Status => parse::<StatusView>(value).is_some_and(|status| status_healthy(&status)),
        Request::Services { diff: true, .. } => !super::render::diff_found(value),
        Request::Services { .. } => parse::<ServicesView>(value).is_some_and(|view| {
            view.services
                .iter()
                .flat_map(|s| &s.reals)
                .filter_map(|r| r.health.as_ref())
                .all(|h| h.up || h.drained)
        }),
        Request::OspfNeighbors => parse::<Vec<OspfNeighborView>>(value)
            .is_some_and(|rows| rows.iter().any(|n| n.state == "Full")),
        Request::OspfInterfaces => parse::<Vec<OspfInterfaceView>>(value)
            .is_some_and(|rows| !rows.is_empty() && rows.iter().all(|i| i.state != "Down")),
        Request::Vrrp => states(value, "instances").all(|state| state != "FAULT"),
        Request::Bfd => states(value, "sessions").all(|state| state == "Up"),
        Request::OspfDatabase
        | Request::OspfCounters
        | Request::Connections
        | Request::Reload
        | Request::Config
        | Request::Metrics
        | Request::Maintenance(_) => true,
    };
    if healthy {
        Exit::Healthy
    } else {
        Exit::Unhealthy
    }
}

/// Every VIP announced (or deliberately not: local mode, maintenance), no failing
/// dataplane object, the last reload accepted, and nothing the daemon waits for.
pub fn status_healthy(status: &StatusView) -> bool {
    status
        .vips
        .iter()
        .all(|vip| matches!(vip.state.as_str(), "announced" | "local" | "maintenance"))
        && status.dataplane.failures.is_empty()
        && status.reloads.last_errors.is_empty()
        && status.notes.is_empty()
}

fn parse<T: serde::de::DeserializeOwned>(value: &Value) -> Option<T> {
    serde_json::from_value(value.clone()).ok()
}

/// The `state` of each element of the array `key` (VRRP instances, BFD sessions).
fn states<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|item| item.get("state").and_then(Value::as_str).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::views::VipView;
    use serde_json::json;

    fn status(vips: &[&str]) -> Value {
        serde_json::to_value(StatusView {
            vips: vips
                .iter()
                .map(|state| VipView {
                    address: "10.0.0.1".into(),
                    state: (*state).into(),
                })
                .collect(),
            ..Default::default()
        })
        .expect("json")
    }

    #[test]
    fn status_is_healthy_when_every_vip_is_where_it_should_be() {
        for ok in [&["announced", "maintenance"][..], &["local"], &[]] {
            assert_eq!(
                verdict(Request::Status, &status(ok)),
                Exit::Healthy,
                "{ok:?}"
            );
        }
        for bad in ["pending", "withdrawn"] {
            assert_eq!(
                verdict(Request::Status, &status(&["announced", bad])),
                Exit::Unhealthy
            );
        }
        let mut failing = status(&["announced"]);
        failing["dataplane"]["failures"] = json!(["Create tcp 10.0.0.1:80: EINVAL"]);
        assert_eq!(verdict(Request::Status, &failing), Exit::Unhealthy);
        assert_eq!(verdict(Request::Status, &json!("garbage")), Exit::Unhealthy);
    }

    #[test]
    fn services_are_unhealthy_with_a_real_server_down_that_is_not_drained() {
        let view = |up: bool, drained: bool| {
            json!({
                "backend": "ipvs",
                "services": [{
                    "protocol": "TCP", "address": "10.0.0.1:80", "scheduler": "mh",
                    "flags": [], "persistent": null, "persistence_netmask": null, "stats": null,
                    "reals": [{
                        "address": "10.1.0.1:80", "forward": "Route", "weight": 1, "up": up,
                        "health": {"up": up, "drained": drained, "since_unix": 0, "checks": []},
                        "active_conns": 0, "inactive_conns": 0, "stats": null
                    }]
                }]
            })
        };
        let services = Request::Services {
            stats: false,
            diff: false,
            rate: false,
            timeout: false,
        };
        assert_eq!(verdict(services, &view(true, false)), Exit::Healthy);
        assert_eq!(verdict(services, &view(false, true)), Exit::Healthy);
        assert_eq!(verdict(services, &view(false, false)), Exit::Unhealthy);
        let diff = Request::Services {
            stats: false,
            diff: true,
            rate: false,
            timeout: false,
        };
        assert_eq!(
            verdict(diff, &json!({"backend": "ipvs", "differences": []})),
            Exit::Healthy
        );
        assert_eq!(
            verdict(diff, &json!({"backend": "ipvs", "differences": ["x"]})),
            Exit::Unhealthy
        );
    }

    #[test]
    fn protocols_are_unhealthy_without_full_adjacency_master_or_up_session() {
        let neighbor = |state: &str| {
            json!([{"router_id": "10.0.0.1", "priority": 1, "state": state,
                    "address": "10.0.0.1", "interface": "eth0", "dr": "-", "bdr": "-"}])
        };
        assert_eq!(
            verdict(Request::OspfNeighbors, &neighbor("Full")),
            Exit::Healthy
        );
        assert_eq!(
            verdict(Request::OspfNeighbors, &neighbor("ExStart")),
            Exit::Unhealthy
        );
        assert_eq!(verdict(Request::OspfNeighbors, &json!([])), Exit::Unhealthy);
        let vrrp = |state: &str| json!({"instances": [{"state": state}], "global": {}});
        assert_eq!(verdict(Request::Vrrp, &vrrp("BACKUP")), Exit::Healthy);
        assert_eq!(verdict(Request::Vrrp, &vrrp("FAULT")), Exit::Unhealthy);
        let bfd = |state: &str| json!({"sessions": [{"state": state}]});
        assert_eq!(verdict(Request::Bfd, &bfd("Up")), Exit::Healthy);
        assert_eq!(verdict(Request::Bfd, &bfd("Down")), Exit::Unhealthy);
        assert_eq!(verdict(Request::Metrics, &json!("text")), Exit::Healthy);
    }
}
