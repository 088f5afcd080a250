//! Maintenance: what an operator took out of service by hand (`directorctl withdraw`,
//! `drain`), an input of the policy next to the configuration and the verdicts.
//!
//! It is plain data, kept by the control loop's core and stored in the runtime directory,
//! so it survives reloads and restarts until the operator undoes it. Entries name things
//! by address, not by position in the configuration: an entry whose VIP or real server a
//! reload removed stays (and is shown) until undone, and applies again if it comes back.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::config::model::{Config, Mode, VirtualServer};
use crate::dataplane::tables::ServiceKey;

use super::groups;

/// A real server taken out of one service: weight 0, so its established connections
/// finish and it gets no new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Drain {
    /// The service, as `VIP:PORT`: every virtual server listening there (whatever the
    /// protocol) is meant. A `virtual_server_group` is one pool, so draining a real server
    /// on one of its addresses drains it in the whole group.
    pub service: SocketAddr,
    pub real: IpAddr,
    /// None: every real server at `real`, whatever its port.
    pub port: Option<u16>,
}

impl fmt::Display for Drain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{} {}", self.service, SocketAddr::new(self.real, port)),
            None => write!(f, "{} {}", self.service, self.real),
        }
    }
}

/// Everything an operator took out of service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    /// VIPs withdrawn from OSPF (their tables stay programmed).
    #[serde(default)]
    pub withdrawn: BTreeSet<IpAddr>,
    /// Real servers at weight 0.
    #[serde(default)]
    pub drained: BTreeSet<Drain>,
    /// The whole director is drained: every VIP withdrawn, tables left in place so the
    /// connections routed here finish (a rolling upgrade).
    #[serde(default)]
    pub director_drained: bool,
}

/// One change an operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceOp {
    Withdraw(IpAddr),
    Announce(IpAddr),
    Drain(Drain),
    Undrain(Drain),
    DrainDirector,
    UndrainDirector,
}

impl fmt::Display for MaintenanceOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaintenanceOp::Withdraw(vip) => write!(f, "withdraw {vip}"),
            MaintenanceOp::Announce(vip) => write!(f, "announce {vip}"),
            MaintenanceOp::Drain(drain) => write!(f, "drain {drain}"),
            MaintenanceOp::Undrain(drain) => write!(f, "undrain {drain}"),
            MaintenanceOp::DrainDirector => f.write_str("drain the director"),
            MaintenanceOp::UndrainDirector => f.write_str("undrain the director"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaintenanceError {
    #[error("only active-active mode announces VIPs; in {0} mode there is nothing to withdraw")]
    NotAnnouncing(&'static str),
    #[error("{0} is not a VIP of the configuration")]
    UnknownVip(IpAddr),
    #[error("no virtual_server listens on {0}")]
    UnknownService(SocketAddr),
    #[error("{real} is not a real server of {service}")]
    UnknownReal { service: SocketAddr, real: String },
}

impl Maintenance {
    /// Applies `op`, checked against the running configuration: taking something out that
    /// the configuration does not have is refused (a typo must not look like success);
    /// putting something back always works, so an entry left by a removed service can be
    /// cleared. Returns whether anything changed (repeating an operation is harmless).
    pub fn apply(&mut self, config: &Config, op: MaintenanceOp) -> Result<bool, MaintenanceError> {
        let announcing = config.mode() == Mode::ActiveActive;
        Ok(match op {
            MaintenanceOp::Withdraw(_) | MaintenanceOp::DrainDirector if !announcing => {
                return Err(MaintenanceError::NotAnnouncing(config.mode().name()));
            }
            MaintenanceOp::Withdraw(vip) => {
                if !super::configured_vips(config).contains(&vip) {
                    return Err(MaintenanceError::UnknownVip(vip));
                }
                self.withdrawn.insert(vip)
            }
            MaintenanceOp::Announce(vip) => self.withdrawn.remove(&vip),
            MaintenanceOp::Drain(drain) => {
                let services: Vec<&VirtualServer> = config
                    .virtual_servers
                    .iter()
                    .filter(|vs| listens_on(config, vs, drain.service))
                    .collect();
                if services.is_empty() {
                    return Err(MaintenanceError::UnknownService(drain.service));
                }
                if !services
                    .iter()
                    .flat_map(|vs| &vs.real_servers)
                    .any(|rs| drain.matches(rs.ip, rs.port))
                {
                    return Err(MaintenanceError::UnknownReal {
                        service: drain.service,
                        real: match drain.port {
                            Some(port) => SocketAddr::new(drain.real, port).to_string(),
                            None => drain.real.to_string(),
                        },
                    });
                }
                self.drained.insert(drain)
            }
            MaintenanceOp::Undrain(drain) => {
                // `undrain VIP:PORT 10.1.0.1` also clears `10.1.0.1:8080` on that service:
                // the operator asked for that address back.
                let before = self.drained.len();
                self.drained.retain(|d| {
                    !(d.service == drain.service
                        && d.real == drain.real
                        && (drain.port.is_none() || d.port == drain.port))
                });
                self.drained.len() != before
            }
            MaintenanceOp::DrainDirector => !std::mem::replace(&mut self.director_drained, true),
            MaintenanceOp::UndrainDirector => std::mem::replace(&mut self.director_drained, false),
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == Maintenance::default()
    }

    /// Whether the operator drained real server `ip:port` of virtual server `vs`.
    pub fn is_drained(&self, config: &Config, vs: &VirtualServer, ip: IpAddr, port: u16) -> bool {
        self.drained
            .iter()
            .any(|d| d.matches(ip, port) && listens_on(config, vs, d.service))
    }

    /// Whether the operator withdrew `vip` (by name or by draining the director).
    pub fn is_withdrawn(&self, vip: IpAddr) -> bool {
        self.director_drained || self.withdrawn.contains(&vip)
    }
}

impl Drain {
    fn matches(&self, ip: IpAddr, port: u16) -> bool {
        self.real == ip && self.port.is_none_or(|p| p == port)
    }
}

/// Whether `vs` (or one member of its group) is the service at `addr`, any protocol.
fn listens_on(config: &Config, vs: &VirtualServer, addr: SocketAddr) -> bool {
    groups::service_keys(config, vs).iter().any(|key| {
        matches!(key, ServiceKey::Addr { addr: a, port, .. } if *a == addr.ip() && *port == addr.port())
    })
}
