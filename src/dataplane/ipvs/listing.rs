//! Reads the kernel's IPVS tables the way `ipvsadm -Ln` shows them — every service (ours
//! or not), real servers in kernel order, connection counts, counters and rates, and the
//! timeouts — over a generic-netlink socket of its own. Read-only: it shares nothing with
//! the reconcile path and sends no command that changes the kernel. The same reader serves
//! the counters behind the metrics (`stats`), refreshed in the background by
//! `control/counters.rs`.

use super::attr::{self, cmd, cmd_attr, dest_attr, svc_attr, AttrError, AttrWriter, Nlas};
use super::genl::GenlSocket;
use super::IpvsError;
use crate::dataplane::listing::{ListedDest, ListedService, Listing, Rates};
use crate::dataplane::tables::{DestStats, ServiceKey, ServiceStats, TableStats};

/// `IPVS_STATS_ATTR_CPS` … `_OUTBPS`: the estimator's rates, after the counters.
mod rate_attr {
    pub const CPS: u16 = 6;
    pub const INPPS: u16 = 7;
    pub const OUTPPS: u16 = 8;
    pub const INBPS: u16 = 9;
    pub const OUTBPS: u16 = 10;
}

/// A read-only IPVS socket.
pub struct IpvsReader {
    socket: GenlSocket,
}

impl IpvsReader {
    pub fn open() -> Result<IpvsReader, IpvsError> {
        Ok(IpvsReader {
            socket: GenlSocket::open(attr::FAMILY_NAME)?,
        })
    }

    /// Every service with its real servers (in the order the kernel keeps them, newest
    /// first, as ipvsadm prints them), and the timeouts: 2 + one dump per service.
    pub fn read(&mut self) -> Result<Listing, IpvsError> {
        let mut services = self.services()?;
        for service in &mut services {
            service.dests = self.dests(&service.spec.key)?;
        }
        services.sort_by_key(|s| s.spec.key);
        let config = self.socket.query(
            cmd::GET_CONFIG,
            AttrWriter::new(),
            false,
            "get-config",
            "timeouts",
        )?;
        let timeouts = match config.first() {
            Some(reply) => {
                let bad =
                    |e: AttrError| IpvsError::new("get-config", "timeouts", None, e.to_string());
                let (_, attrs) = attr::genl_attrs(reply).map_err(bad)?;
                Some(attr::parse_timeouts(attrs).map_err(bad)?)
            }
            None => None,
        };
        Ok(Listing {
            services,
            timeouts,
            per_real_counters: true,
        })
    }

    /// The counters of every service and real server (no rates, no timeouts): one service
    /// dump, then one real-server dump per service. Each real server's figures are keyed by
    /// the address and port in its own reply, under the service the dump asked for.
    pub fn stats(&mut self) -> Result<TableStats, IpvsError> {
        let mut services = Vec::new();
        for service in self.services()? {
            let dests = self.dests(&service.spec.key)?;
            services.push(ServiceStats {
                key: service.spec.key,
                counters: service.counters,
                dests: dests
                    .into_iter()
                    .map(|d| DestStats {
                        key: d.spec.key,
                        weight: d.spec.weight,
                        active_connections: d.active_connections,
                        inactive_connections: d.inactive_connections,
                        counters: d.counters,
                    })
                    .collect(),
            });
        }
        services.sort_by_key(|s| s.key);
        Ok(TableStats { services })
    }

    /// Every service with its counters and rates, without real servers: one dump.
    pub fn services(&mut self) -> Result<Vec<ListedService>, IpvsError> {
        let mut services = Vec::new();
        for reply in self.socket.query(
            cmd::GET_SERVICE,
            AttrWriter::new(),
            true,
            "list-services",
            "all",
        )? {
            let service_attrs = nested(&reply, cmd_attr::SERVICE, "list-services")?;
            let bad = |e: AttrError| IpvsError::new("list-services", "reply", None, e.to_string());
            let service = attr::parse_service(service_attrs).map_err(bad)?;
            services.push(ListedService {
                rates: rates(service_attrs, svc_attr::STATS, svc_attr::STATS64).map_err(bad)?,
                spec: service.spec,
                counters: service.stats,
                dests: Vec::new(),
            });
        }
        Ok(services)
    }

    /// The real servers of one service, newest first, with their counters and rates: one
    /// dump.
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<ListedDest>, IpvsError> {
        let mut w = AttrWriter::new();
        w.nested(cmd_attr::SERVICE, |s| attr::emit_service_key(s, key));
        let object = key.to_string();
        let mut dests = Vec::new();
        for reply in self
            .socket
            .query(cmd::GET_DEST, w, true, "list-dests", &object)?
        {
            let dest_attrs = nested(&reply, cmd_attr::DEST, "list-dests")?;
            let bad = |e: AttrError| IpvsError::new("list-dests", &object, None, e.to_string());
            let dest = attr::parse_dest(dest_attrs, key.family()).map_err(bad)?;
            dests.push(ListedDest {
                rates: rates(dest_attrs, dest_attr::STATS, dest_attr::STATS64).map_err(bad)?,
                spec: dest.spec,
                active_connections: dest.active_connections,
                inactive_connections: dest.inactive_connections,
                counters: dest.stats,
            });
        }
        Ok(dests)
    }

    /// Requests sent since the reader was opened (each dump is one).
    pub fn requests(&self) -> u64 {
        self.socket.requests()
    }
}

fn nested<'a>(reply: &'a [u8], kind: u16, op: &'static str) -> Result<&'a [u8], IpvsError> {
    let bad = |e: AttrError| IpvsError::new(op, "reply", None, e.to_string());
    let (_, attrs) = attr::genl_attrs(reply).map_err(bad)?;
    attr::find(attrs, kind)
        .map_err(bad)?
        .ok_or_else(|| IpvsError::new(op, "reply", None, "missing nested attribute"))
}

/// The rates inside a service's or real server's stats attribute (64-bit preferred);
/// `None` when the kernel sent neither.
pub fn rates(object: &[u8], narrow_kind: u16, wide_kind: u16) -> Result<Option<Rates>, AttrError> {
    let (stats, wide) = match attr::find(object, wide_kind)? {
        Some(stats) => (stats, true),
        None => match attr::find(object, narrow_kind)? {
            Some(stats) => (stats, false),
            None => return Ok(None),
        },
    };
    let mut r = Rates::default();
    for nla in Nlas::new(stats) {
        let nla = nla?;
        let value = |name| -> Result<u64, AttrError> {
            let bad = AttrError::BadLength {
                attr: name,
                len: nla.payload.len(),
            };
            if wide {
                let bytes: [u8; 8] = nla.payload.try_into().map_err(|_| bad)?;
                Ok(u64::from_ne_bytes(bytes))
            } else {
                let bytes: [u8; 4] = nla.payload.try_into().map_err(|_| bad)?;
                Ok(u64::from(u32::from_ne_bytes(bytes)))
            }
        };
        match nla.kind {
            rate_attr::CPS => r.connections = value("STATS_CPS")?,
            rate_attr::INPPS => r.packets_in = value("STATS_INPPS")?,
            rate_attr::OUTPPS => r.packets_out = value("STATS_OUTPPS")?,
            rate_attr::INBPS => r.bytes_in = value("STATS_INBPS")?,
            rate_attr::OUTBPS => r.bytes_out = value("STATS_OUTBPS")?,
            _ => {}
        }
    }
    Ok(Some(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_come_from_stats64_before_stats() {
        let mut w = AttrWriter::new();
        w.nested(dest_attr::STATS, |s| s.put_u32(rate_attr::CPS, 1));
        w.nested(dest_attr::STATS64, |s| {
            s.put(rate_attr::CPS, &7u64.to_ne_bytes());
            s.put(rate_attr::INBPS, &4000u64.to_ne_bytes());
        });
        let bytes = w.into_bytes();
        let r = rates(&bytes, dest_attr::STATS, dest_attr::STATS64)
            .expect("parse")
            .expect("rates");
        assert_eq!((r.connections, r.bytes_in, r.packets_in), (7, 4000, 0));
        let mut narrow = AttrWriter::new();
        narrow.nested(svc_attr::STATS, |s| s.put_u32(rate_attr::OUTPPS, 3));
        let bytes = narrow.into_bytes();
        let r = rates(&bytes, svc_attr::STATS, svc_attr::STATS64)
            .expect("parse")
            .expect("rates");
        assert_eq!(r.packets_out, 3);
        assert_eq!(rates(&[], svc_attr::STATS, svc_attr::STATS64), Ok(None));
        let mut short = AttrWriter::new();
        short.nested(svc_attr::STATS64, |s| s.put_u32(rate_attr::CPS, 3));
        let bytes = short.into_bytes();
        assert!(rates(&bytes, svc_attr::STATS, svc_attr::STATS64).is_err());
    }
}
