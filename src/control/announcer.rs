//! Active-active announcements: turns the `ospf { }` block into an OSPF speaker instance
//! and keeps the speaker's announced set equal to the VIPs the control loop wants.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ipnetwork::Ipv4Network;
use tokio::sync::mpsc;

use crate::config::model::{
    BfdAuthType, Config, OspfAuth, OspfConfig, OspfKeyAlgorithm, OspfNetworkType,
};
use crate::net::Netlink;

/// Upper bound of the speaker's graceful stop: the first half bounds a DR's handover, long
/// enough for a router whose MinLSInterval (5 s) holds back its new Router-LSA; the rest
/// the final flush, long enough for the neighbors' acknowledgements (and a
/// retransmission). Short enough that a stuck neighbor cannot hold a restart for long; a
/// stop without a handover takes about 2 s.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(12);

/// The running speaker and what it was started with.
pub struct Announcer {
    handle: ospf::Handle,
    instance: ospf::InstanceConfig,
    announced: ospf::Announcements,
    encoding: ospf::VipEncoding,
}

impl Announcer {
    /// Starts the speaker; its events arrive on the returned receiver.
    pub fn start(
        instance: ospf::InstanceConfig,
    ) -> Result<(Self, mpsc::UnboundedReceiver<ospf::Event>), ospf::Error> {
        let (handle, events) = ospf::spawn(instance.clone())?;
        tracing::info!(
            router_id = %instance.router_id,
            interfaces = instance.areas.iter().map(|a| a.interfaces.len()).sum::<usize>(),
            "OSPF speaker started"
        );
        Ok((
            Announcer {
                handle,
                instance,
                announced: ospf::Announcements::new(),
                encoding: ospf::VipEncoding::default(),
            },
            events,
        ))
    }

    pub fn instance(&self) -> &ospf::InstanceConfig {
        &self.instance
    }

    /// Chooses how VIPs travel from the number of *configured* VIPs, which every director
    /// shares: stub links up to [`ospf::STUB_LINK_LIMIT`], AS-external LSAs beyond. Deciding
    /// from the announced (health-gated) count instead could put two directors on opposite
    /// sides of the limit, and routers prefer stub routes: ECMP would collapse.
    pub fn set_encoding_for(&mut self, configured_vips: usize) {
        let encoding = if configured_vips > ospf::STUB_LINK_LIMIT {
            ospf::VipEncoding::External
        } else {
            ospf::VipEncoding::Auto
        };
        if encoding != self.encoding {
            self.encoding = encoding;
            self.handle.set_vip_encoding(encoding);
        }
    }

    /// Announces exactly `prefixes`, each with its own metric or `None` for the `ospf`
    /// block's `vip_metric` (the speaker logs one INFO line per prefix that changes).
    pub fn set_announced(&mut self, prefixes: ospf::Announcements) {
        if prefixes == self.announced {
            return;
        }
        self.announced = prefixes.clone();
        self.handle.set_announced_with_metrics(prefixes);
    }

    pub fn announced(&self) -> BTreeSet<Ipv4Network> {
        self.announced.keys().copied().collect()
    }

    /// Applies a new metric without restarting (the only instance setting that allows it).
    pub fn set_metric(&mut self, metric: u16) {
        if metric != self.instance.stub_metric {
            self.instance.stub_metric = metric;
            self.handle.set_metric(metric);
        }
    }

    /// A BFD session to this neighbor went Down: the neighbor goes Down at once.
    pub fn neighbor_down(&self, interface: &str, address: Ipv4Addr, reason: &str) {
        self.handle.neighbor_down(interface, address, reason);
    }

    pub async fn status(&self) -> Result<ospf::Status, ospf::Error> {
        self.handle.status().await
    }

    /// Reads the speaker's status without the control loop (for the metrics endpoint).
    pub fn status_reader(&self) -> super::snapshot::OspfReader {
        super::snapshot::OspfReader::new(self.handle.clone())
    }

    /// Withdraws everything and stops: the speaker flushes our LSAs, waits for every Full
    /// neighbor's acknowledgement (bounded) and for the routers' SPF, then says goodbye.
    /// Flushing is not held back by MinLSInterval, unlike re-originating without the stubs,
    /// which is why shutdown does not withdraw the VIPs first.
    pub async fn shutdown(self) {
        let started = std::time::Instant::now();
        match self.handle.shutdown(SHUTDOWN_WAIT).await {
            Ok(()) => tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "OSPF speaker withdrew every VIP and stopped"
            ),
            Err(err) => tracing::warn!(error = %err, "OSPF speaker stopped uncleanly"),
        }
    }
}

/// The IPv4 VIPs as the /32 prefixes the speaker originates. IPv6 VIPs cannot travel in
/// OSPFv2; the caller warns about them.
pub fn prefixes(vips: &BTreeSet<IpAddr>) -> BTreeSet<Ipv4Network> {
    vips.iter().filter_map(|vip| prefix(*vip)).collect()
}

fn prefix(vip: IpAddr) -> Option<Ipv4Network> {
    match vip {
        IpAddr::V4(v4) => Ipv4Network::new(v4, 32).ok(),
        IpAddr::V6(_) => None,
    }
}

/// The announcements for `vips`: each with the `ospf_metric` of its services (`metrics`,
/// from the policy), or `None` for the `ospf` block's `vip_metric`.
pub fn announcements(
    vips: &BTreeSet<IpAddr>,
    metrics: &BTreeMap<IpAddr, u16>,
) -> ospf::Announcements {
    vips.iter()
        .filter_map(|vip| Some((prefix(*vip)?, metrics.get(vip).copied())))
        .collect()
}

/// The speaker's instance configuration for `ospf`, with the router ID resolved.
pub fn instance_config(ospf: &OspfConfig, router_id: Ipv4Addr) -> ospf::InstanceConfig {
    ospf::InstanceConfig {
        router_id,
        stub_metric: ospf.vip_metric,
        areas: ospf
            .areas
            .iter()
            .map(|area| ospf::AreaConfig {
                id: area.id,
                stub: area.stub,
                interfaces: area
                    .interfaces
                    .iter()
                    .map(|iface| ospf::InterfaceConfig {
                        name: iface.name.clone(),
                        network_type: match iface.network_type {
                            OspfNetworkType::Broadcast => ospf::NetworkType::Broadcast,
                            OspfNetworkType::PointToPoint => ospf::NetworkType::PointToPoint,
                        },
                        hello_interval: iface.hello_interval,
                        dead_interval: iface.dead_interval,
                        retransmit_interval: iface.retransmit_interval,
                        transmit_delay: iface.transmit_delay,
                        priority: iface.priority,
                        cost: iface.cost,
                        auth: auth(&iface.authentication),
                        passive: iface.passive,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The BFD session configuration of every OSPF interface that has a `bfd` block.
pub fn bfd_configs(ospf: &OspfConfig) -> BTreeMap<String, bfd::SessionConfig> {
    let mut out = BTreeMap::new();
    for iface in ospf.areas.iter().flat_map(|a| &a.interfaces) {
        let Some(b) = &iface.bfd else { continue };
        let auth = b.authentication.as_ref().and_then(|a| {
            use bfd::packet::AuthType as T;
            let t = match a.kind {
                BfdAuthType::Simple => T::SimplePassword,
                BfdAuthType::KeyedMd5 => T::KeyedMd5,
                BfdAuthType::MeticulousKeyedMd5 => T::MeticulousKeyedMd5,
                BfdAuthType::KeyedSha1 => T::KeyedSha1,
                BfdAuthType::MeticulousKeyedSha1 => T::MeticulousKeyedSha1,
            };
            // The configuration parser already bounded the key length.
            bfd::packet::AuthConfig::new(t, a.key_id, a.key.as_bytes()).ok()
        });
        out.insert(
            iface.name.clone(),
            bfd::SessionConfig {
                min_tx: Duration::from_millis(b.min_tx_ms.into()),
                min_rx: Duration::from_millis(b.min_rx_ms.into()),
                idle_tx: Duration::from_millis(b.idle_tx_ms.into()),
                multiplier: b.multiplier,
                auth,
            },
        );
    }
    out
}

/// Simple passwords are NUL-padded to their wire width (8 bytes), as BIRD and FRR do;
/// cryptographic keys keep their order (the last one signs). Validation already refused
/// longer passwords, empty key lists and duplicate key IDs.
fn auth(auth: &OspfAuth) -> ospf::AuthConfig {
    fn padded<const N: usize>(key: &str) -> [u8; N] {
        let mut out = [0u8; N];
        for (slot, byte) in out.iter_mut().zip(key.bytes()) {
            *slot = byte;
        }
        out
    }
    match auth {
        OspfAuth::None => ospf::AuthConfig::None,
        OspfAuth::Simple { key } => ospf::AuthConfig::Simple(padded::<8>(key)),
        OspfAuth::Crypto { keys } => {
            let keys = keys
                .iter()
                .map(|k| {
                    let algorithm = match k.algorithm {
                        OspfKeyAlgorithm::Md5 => ospf::Algorithm::KeyedMd5,
                        OspfKeyAlgorithm::HmacSha1 => ospf::Algorithm::HmacSha1,
                        OspfKeyAlgorithm::HmacSha256 => ospf::Algorithm::HmacSha256,
                        OspfKeyAlgorithm::HmacSha384 => ospf::Algorithm::HmacSha384,
                        OspfKeyAlgorithm::HmacSha512 => ospf::Algorithm::HmacSha512,
                    };
                    ospf::CryptoKey::new(k.id, algorithm, k.key.as_bytes())
                })
                .collect();
            ospf::AuthConfig::Crypto(
                ospf::CryptoKeys::new(keys)
                    .expect("validation refuses empty key lists and duplicate key IDs"),
            )
        }
    }
}

/// The router ID: `ospf { router_id }`, else `global_defs { router_id }` when it is an
/// IPv4 address, else the highest IPv4 address of the host that is neither loopback nor
/// one of our VIPs (the rule BIRD and FRR follow, minus addresses that move).
pub async fn router_id(
    config: &Config,
    netlink: &Netlink,
    vips: &BTreeSet<IpAddr>,
) -> Option<Ipv4Addr> {
    if let Some(id) = config.ospf.as_ref().and_then(|ospf| ospf.router_id) {
        return Some(id);
    }
    if let Some(Ok(id)) = config
        .global_defs
        .router_id
        .as_deref()
        .map(str::parse::<Ipv4Addr>)
    {
        return Some(id);
    }
    let addresses = netlink.addresses(None).await.ok()?;
    addresses
        .into_iter()
        .filter_map(|address| match address.addr {
            IpAddr::V4(v4) if !v4.is_loopback() && !vips.contains(&address.addr) => Some(v4),
            _ => None,
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_order_and_algorithms() {
        let ring = auth(&OspfAuth::Crypto {
            keys: vec![
                crate::config::model::OspfKey {
                    id: 7,
                    algorithm: OspfKeyAlgorithm::Md5,
                    key: "secret".into(),
                },
                crate::config::model::OspfKey {
                    id: 8,
                    algorithm: OspfKeyAlgorithm::HmacSha256,
                    key: "newer".into(),
                },
            ],
        });
        let expected = ospf::CryptoKeys::new(vec![
            ospf::CryptoKey::new(7, ospf::Algorithm::KeyedMd5, b"secret"),
            ospf::CryptoKey::new(8, ospf::Algorithm::HmacSha256, b"newer"),
        ])
        .unwrap();
        assert_eq!(ring, ospf::AuthConfig::Crypto(expected));
        let simple = auth(&OspfAuth::Simple { key: "pw".into() });
        assert_eq!(simple, ospf::AuthConfig::simple("pw"));
    }

    #[test]
    fn announcements_carry_the_services_metric() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let got = announcements(&BTreeSet::from([a, b, v6]), &BTreeMap::from([(a, 20)]));
        let net = |s: &str| s.parse::<Ipv4Network>().unwrap();
        assert_eq!(
            got,
            BTreeMap::from([(net("10.0.0.1/32"), Some(20)), (net("10.0.0.2/32"), None)])
        );
    }

    #[test]
    fn only_ipv4_vips_become_prefixes() {
        let vips: BTreeSet<IpAddr> = ["10.0.0.1".parse().unwrap(), "2001:db8::1".parse().unwrap()]
            .into_iter()
            .collect();
        let prefixes = prefixes(&vips);
        assert_eq!(prefixes.len(), 1);
        assert_eq!(prefixes.iter().next().unwrap().to_string(), "10.0.0.1/32");
    }
}
