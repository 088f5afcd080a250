//! One VRRP instance at run time: its settings, state machine and counters, the checks a
//! received advert must pass (RFC 5798 §7.1, keepalived's extras), and the execution of
//! the state machine's actions (adverts, virtual addresses and routes, vmac, gratuitous
//! ARP / unsolicited NA).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::net::{IfAddress, Link, Netlink, Route, Scope};

use super::fsm::{Action, Machine, Params, Reason, RxAdvert, State, PRIORITY_STOP};
use super::network::{garp_frame, is_link_local, unsolicited_na_frame, L2Socket, TxSocket};
use super::packet::{Auth, DecodeError, Family, Packet, Repr, Version, TTL};
use super::settings::{GarpSettings, InstanceSettings, Vip};

/// RFC 6527-like statistics of one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// State changes of any kind (the MIB counts only those to Master, `became_master`).
    pub transitions: u64,
    pub adverts_rx: u64,
    pub adverts_tx: u64,
    pub became_master: u64,
    pub released_master: u64,
    pub priority_zero_rx: u64,
    pub priority_zero_tx: u64,
    pub checksum_errors: u64,
    pub version_errors: u64,
    pub interval_errors: u64,
    pub auth_errors: u64,
    pub ttl_errors: u64,
    pub address_list_errors: u64,
    pub packet_length_errors: u64,
    pub invalid_type_errors: u64,
    pub unknown_peer_errors: u64,
    pub send_errors: u64,
}

/// A datagram taken off the wire, IP header already read.
#[derive(Debug, Clone)]
pub struct RxDatagram {
    pub ifindex: u32,
    pub family: Family,
    pub ttl: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub payload: Vec<u8>,
}

/// Why a datagram for this instance was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    Ttl(u8),
    Version(u8),
    Decode(DecodeError),
    Checksum,
    OwnAdvert,
    UnknownPeer,
    AuthType(u8),
    AuthPassword,
    Interval(u16),
    AddressList,
}

/// The interfaces an instance sends on, resolved from the kernel.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub link: Link,
    /// The vmac (`use_vmac`) or the interface itself.
    pub vip_link: Link,
    pub src: IpAddr,
}

pub struct Instance {
    pub settings: InstanceSettings,
    pub machine: Machine,
    pub counters: Counters,
    pub attachment: Option<Attachment>,
    tx: Option<TxSocket>,
    garp: Option<JoinHandle<()>>,
    /// Gratuitous ARP / NA frames of the current mastership.
    garp_frames: Vec<(u32, Vec<u8>)>,
    pub last_change: Option<(Reason, Instant)>,
    /// Effective priority without the owner special case, for status.
    pub base_priority: u8,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("name", &self.settings.name)
            .field("state", &self.machine.state)
            .finish()
    }
}

impl Instance {
    pub fn new(settings: InstanceSettings) -> Instance {
        let params = params(
            &settings,
            settings.src_ip.unwrap_or(IpAddr::from([0, 0, 0, 0])),
        );
        let priority = settings.priority;
        Instance {
            machine: Machine::new(params, priority),
            base_priority: priority,
            settings,
            counters: Counters::default(),
            attachment: None,
            tx: None,
            garp: None,
            garp_frames: Vec::new(),
            last_change: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    pub fn ifindex(&self) -> Option<u32> {
        self.attachment.as_ref().map(|a| a.link.index)
    }

    /// Resolves interfaces and the advert source, creates the vmac and the send socket.
    pub async fn attach(&mut self, nl: &Netlink) -> Result<(), String> {
        let s = &self.settings;
        let link = nl
            .link_by_name(&s.interface)
            .await
            .map_err(|e| e.to_string())?;
        let vip_link = match &s.vmac {
            Some((name, mac)) => {
                let index = nl
                    .ensure_macvlan(name, link.index, *mac)
                    .await
                    .map_err(|e| e.to_string())?;
                nl.link_by_index(index).await.map_err(|e| e.to_string())?
            }
            None => link.clone(),
        };
        let vips: Vec<IpAddr> = s.all_vips().map(|v| v.addr).collect();
        let src = match s.src_ip {
            Some(a) => a,
            None => {
                let addrs = nl
                    .addresses(Some(link.index))
                    .await
                    .map_err(|e| e.to_string())?;
                addrs
                    .iter()
                    .map(|a| a.addr)
                    .find(|a| match (s.family, a) {
                        (Family::V4, IpAddr::V4(_)) => !vips.contains(a),
                        (Family::V6, IpAddr::V6(v6)) => is_link_local(v6),
                        _ => false,
                    })
                    .ok_or_else(|| {
                        format!(
                            "{} has no {} address to send adverts from",
                            s.interface,
                            match s.family {
                                Family::V4 => "IPv4",
                                Family::V6 => "link-local IPv6",
                            }
                        )
                    })?
            }
        };
        // IPv4 adverts leave from the vmac (keepalived: source MAC = virtual MAC) unless
        // vmac_xmit_base; IPv6 ones from the base interface, whose link-local we source.
        let tx_link = if s.vmac.is_some() && !s.vmac_xmit_base && s.family == Family::V4 {
            &vip_link
        } else {
            &link
        };
        let group = s.unicast_peers.is_empty().then_some(s.mcast_group);
        let tx = TxSocket::open(&tx_link.name, tx_link.index, src, group)
            .map_err(|e| format!("advert socket on {}: {e}", tx_link.name))?;
        self.machine.params.primary_addr = src;
        self.tx = Some(tx);
        self.attachment = Some(Attachment {
            link,
            vip_link,
            src,
        });
        Ok(())
    }

    /// Checks a datagram addressed to this instance (RFC 5798 §7.1 and keepalived's
    /// checks); counts and reports the reason when it must be dropped.
    pub fn validate(&mut self, dgram: &RxDatagram) -> Result<RxAdvert, Drop> {
        let r = self.check(dgram);
        let c = &mut self.counters;
        match r {
            Ok(adv) => {
                c.adverts_rx += 1;
                if adv.priority == PRIORITY_STOP {
                    c.priority_zero_rx += 1;
                }
            }
            Err(Drop::Ttl(_)) => c.ttl_errors += 1,
            Err(Drop::Version(_)) | Err(Drop::Decode(DecodeError::BadVersion(_))) => {
                c.version_errors += 1
            }
            Err(Drop::Decode(DecodeError::BadType(_))) => c.invalid_type_errors += 1,
            Err(Drop::Decode(_)) => c.packet_length_errors += 1,
            Err(Drop::Checksum) => c.checksum_errors += 1,
            Err(Drop::OwnAdvert) => {}
            Err(Drop::UnknownPeer) => c.unknown_peer_errors += 1,
            Err(Drop::AuthType(_)) | Err(Drop::AuthPassword) => c.auth_errors += 1,
            Err(Drop::Interval(_)) => c.interval_errors += 1,
            Err(Drop::AddressList) => c.address_list_errors += 1,
        }
        r
    }

    fn check(&self, dgram: &RxDatagram) -> Result<RxAdvert, Drop> {
        let s = &self.settings;
        // §7.1: "MUST verify that the IP TTL/Hop Limit is 255".
        if dgram.ttl != TTL {
            return Err(Drop::Ttl(dgram.ttl));
        }
        let packet = Packet::new_checked(&dgram.payload[..]).map_err(Drop::Decode)?;
        let version = match s.version {
            Version::V2 => 2,
            Version::V3 => 3,
        };
        if packet.version() != version {
            return Err(Drop::Version(packet.version()));
        }
        let repr = Repr::parse(&packet, s.family).map_err(Drop::Decode)?;
        // keepalived requires the exact length (header, addresses, v2 auth data).
        let need = packet.required_len(s.family);
        if dgram.payload.len() != need {
            return Err(Drop::Decode(DecodeError::Truncated {
                need,
                have: dgram.payload.len(),
            }));
        }
        if !self.checksum_ok(&packet, dgram) {
            return Err(Drop::Checksum);
        }
        if self.attachment.as_ref().is_some_and(|a| a.src == dgram.src) {
            return Err(Drop::OwnAdvert);
        }
        if !s.unicast_peers.is_empty()
            && s.check_unicast_src
            && !s.unicast_peers.contains(&dgram.src)
        {
            return Err(Drop::UnknownPeer);
        }
        if s.version == Version::V2 {
            // RFC 3768 §7.1 (and keepalived for PASS): the authentication type and data
            // must match the configured ones.
            if repr.auth.type_code() != s.auth.type_code() {
                return Err(Drop::AuthType(repr.auth.type_code()));
            }
            if let (Auth::Password(got), Auth::Password(want)) = (repr.auth, s.auth) {
                if got != want {
                    return Err(Drop::AuthPassword);
                }
            }
            // RFC 3768 §7.1: the Adver Interval must match the configured one.
            if repr.adver_int != s.adver_int {
                return Err(Drop::Interval(repr.adver_int));
            }
        }
        // §7.1: the address list MAY be checked; keepalived drops on a mismatch unless
        // skip_check_adv_addr (strict mode always checks).
        if (s.strict || !s.skip_check_adv_addr) && repr.priority != PRIORITY_STOP {
            let mut want: Vec<IpAddr> = s.vips.iter().map(|v| v.addr).collect();
            let mut got = repr.addresses.clone();
            want.sort();
            got.sort();
            if want != got {
                return Err(Drop::AddressList);
            }
        }
        Ok(RxAdvert {
            priority: repr.priority,
            src: dgram.src,
            adver_int: repr.adver_int,
        })
    }

    /// The configured checksum rule, or for VRRPv3 over IPv4 either of the variants
    /// deployed keepalived versions send: with or without the pseudo-header
    /// (`v3_checksum_as_v2`), and for unicast the pre-1.3.6 sum over the multicast group
    /// as destination (`old_unicast_checksum`). Sending always follows the configuration.
    fn checksum_ok(&self, packet: &Packet<&[u8]>, dgram: &RxDatagram) -> bool {
        let s = &self.settings;
        if packet.verify_checksum(dgram.src, dgram.dst, s.v3_checksum_as_v2) {
            return true;
        }
        if s.version != Version::V3 || s.family != Family::V4 {
            return false;
        }
        packet.verify_checksum(dgram.src, dgram.dst, !s.v3_checksum_as_v2)
            || (!s.unicast_peers.is_empty()
                && packet.verify_checksum(dgram.src, s.mcast_group, false))
    }

    /// Sends one advert with `priority` to the group or every unicast peer.
    /// The advert this instance sends with `priority`.
    pub fn advert(&self, priority: u8) -> Repr {
        let s = &self.settings;
        Repr {
            version: s.version,
            vrid: s.vrid,
            priority,
            adver_int: s.adver_int,
            auth: s.auth,
            addresses: s.vips.iter().map(|v| v.addr).collect(),
        }
    }

    pub fn send_advert(&mut self, priority: u8) {
        let Some(tx) = &self.tx else { return };
        let s = &self.settings;
        let repr = self.advert(priority);
        let dsts: Vec<IpAddr> = if s.unicast_peers.is_empty() {
            vec![s.mcast_group]
        } else {
            s.unicast_peers.clone()
        };
        for dst in dsts {
            let bytes = repr.to_bytes(tx.src, dst, s.v3_checksum_as_v2);
            match tx.send(&bytes, dst) {
                Ok(()) => {
                    self.counters.adverts_tx += 1;
                    if priority == PRIORITY_STOP {
                        self.counters.priority_zero_tx += 1;
                    }
                }
                Err(e) => {
                    self.counters.send_errors += 1;
                    debug!(instance = %s.name, %dst, error = %e, "advert not sent");
                }
            }
        }
    }

    /// The interface a VIP goes on: its `dev`, else the vmac, else the instance's.
    async fn vip_link(&self, nl: &Netlink, vip: &Vip) -> Option<Link> {
        let att = self.attachment.as_ref()?;
        match &vip.dev {
            Some(dev) if *dev != att.link.name => nl.link_by_name(dev).await.ok(),
            _ => Some(att.vip_link.clone()),
        }
    }

    fn if_address(link: &Link, vip: &Vip) -> IfAddress {
        IfAddress {
            ifindex: link.index,
            addr: vip.addr,
            prefix_len: vip.prefix_len,
            broadcast: vip.broadcast,
            scope: vip.scope,
            label: vip.label.clone(),
        }
    }

    /// Adds VIPs and routes, starts the gratuitous ARP / NA schedule.
    pub async fn take_over(&mut self, nl: &Netlink) {
        let mut frames: Vec<(u32, Vec<u8>)> = Vec::new();
        for vip in self.settings.all_vips().cloned().collect::<Vec<_>>() {
            let Some(link) = self.vip_link(nl, &vip).await else {
                warn!(instance = %self.name(), vip = %vip.addr, "no interface for virtual address");
                continue;
            };
            if let Err(e) = nl.add_address(&Self::if_address(&link, &vip)).await {
                warn!(instance = %self.name(), vip = %vip.addr, error = %e, "cannot add virtual address");
            }
            if let Some(mac) = link.mac {
                let frame = match vip.addr {
                    IpAddr::V4(v4) => garp_frame(mac, v4).to_vec(),
                    IpAddr::V6(v6) => unsolicited_na_frame(mac, v6, false).to_vec(),
                };
                frames.push((link.index, frame));
            }
        }
        for route in self.routes(nl).await {
            if let Err(e) = nl.add_route(&route).await {
                warn!(instance = %self.name(), %route, error = %e, "cannot add virtual route");
            }
        }
        self.garp_frames = frames;
        self.start_garp(self.settings.garp.clone());
    }

    /// (Re)starts the gratuitous ARP / NA schedule with the current frames.
    fn start_garp(&mut self, garp: GarpSettings) {
        if let Some(old) = self.garp.take() {
            old.abort();
        }
        self.garp = Some(tokio::spawn(garp_schedule(
            self.settings.name.clone(),
            garp,
            self.garp_frames.clone(),
        )));
    }

    /// Removes VIPs and routes, stops gratuitous ARPs. Also used at start, to remove what
    /// a killed previous run left behind.
    pub async fn release(&mut self, nl: &Netlink) {
        if let Some(g) = self.garp.take() {
            g.abort();
        }
        self.garp_frames.clear();
        for route in self.routes(nl).await {
            if let Err(e) = nl.del_route(&route).await {
                debug!(instance = %self.name(), %route, error = %e, "cannot delete virtual route");
            }
        }
        for vip in self.settings.all_vips().cloned().collect::<Vec<_>>() {
            let Some(link) = self.vip_link(nl, &vip).await else {
                continue;
            };
            if let Err(e) = nl.del_address(&Self::if_address(&link, &vip)).await {
                warn!(instance = %self.name(), vip = %vip.addr, error = %e, "cannot delete virtual address");
            }
        }
    }

    async fn routes(&self, nl: &Netlink) -> Vec<Route> {
        let mut out = Vec::new();
        for spec in &self.settings.routes {
            let ifindex = match &spec.dev {
                Some(dev) => match nl.link_by_name(dev).await {
                    Ok(l) => Some(l.index),
                    Err(_) => continue,
                },
                None => self.attachment.as_ref().map(|a| a.vip_link.index),
            };
            let table = spec.table.as_deref().and_then(|t| match t {
                "main" => Some(254),
                "local" => Some(255),
                "default" => Some(253),
                n => n.parse().ok(),
            });
            out.push(Route {
                dst: spec.destination.ip(),
                prefix_len: spec.destination.prefix(),
                gateway: spec.via,
                ifindex,
                src: spec.src,
                metric: spec.metric,
                table,
                scope: spec.scope.map(|s| match s {
                    crate::config::model::AddressScope::Global => Scope::Global,
                    crate::config::model::AddressScope::Site => Scope::Site,
                    crate::config::model::AddressScope::Link => Scope::Link,
                    crate::config::model::AddressScope::Host => Scope::Host,
                    crate::config::model::AddressScope::Nowhere => Scope::Nowhere,
                }),
            });
        }
        out
    }

    /// Runs the state machine's actions; returns the state changes that happened.
    pub async fn apply(
        &mut self,
        nl: &Netlink,
        actions: Vec<Action>,
    ) -> Vec<(State, State, Reason)> {
        let mut changes = Vec::new();
        for action in actions {
            match action {
                Action::SendAdvert { priority } => self.send_advert(priority),
                Action::TakeOver => {
                    self.counters.became_master += 1;
                    self.take_over(nl).await;
                }
                Action::Release => {
                    self.counters.released_master += 1;
                    self.release(nl).await;
                }
                Action::StateChanged { from, to, reason } => {
                    self.counters.transitions += 1;
                    self.last_change = Some((reason, Instant::now()));
                    changes.push((from, to, reason));
                }
                Action::MasterRxLowerPriority { src, priority } => {
                    debug!(instance = %self.name(), %src, priority, "master received lower priority advert");
                    // keepalived re-announces the addresses: the other router may have
                    // pulled traffic to itself while it believed it was master.
                    let g = &self.settings.garp;
                    if g.lower_prio_repeat > 0 {
                        let lower = GarpSettings {
                            master_delay: g.lower_prio_delay,
                            master_repeat: g.lower_prio_repeat,
                            ..g.clone()
                        };
                        self.start_garp(lower);
                    }
                    if let Some(script) = self.settings.notify_master_rx_lower_pri.clone() {
                        tokio::spawn(async move {
                            super::notify::run_script(&script, &[], None).await;
                        });
                    }
                }
            }
        }
        changes
    }

    /// Stops the gratuitous ARP task (the instance is going away).
    pub fn stop_tasks(&mut self) {
        if let Some(g) = self.garp.take() {
            g.abort();
        }
    }
}

impl std::ops::Drop for Instance {
    fn drop(&mut self) {
        self.stop_tasks();
    }
}

/// The protocol parameters of `settings`.
pub fn params(s: &InstanceSettings, primary_addr: IpAddr) -> Params {
    Params {
        version: s.version,
        adver_int: s.adver_int,
        preempt: s.preempt,
        preempt_delay: s.preempt_delay,
        down_timer_adverts: s.down_timer_adverts,
        lower_prio_no_advert: s.lower_prio_no_advert,
        higher_prio_send_advert: s.higher_prio_send_advert,
        primary_addr,
    }
}

/// keepalived's schedule: `master_repeat` messages at once, the same again after
/// `master_delay`, then `master_refresh_repeat` every `master_refresh`.
async fn garp_schedule(name: String, garp: GarpSettings, frames: Vec<(u32, Vec<u8>)>) {
    if frames.is_empty() {
        return;
    }
    let mut sockets: Vec<(L2Socket, Vec<u8>)> = Vec::new();
    for (ifindex, frame) in frames {
        match L2Socket::open(ifindex) {
            Ok(s) => sockets.push((s, frame)),
            Err(e) => warn!(instance = %name, error = %e, "cannot open ARP socket"),
        }
    }
    let burst = |count: u32| {
        let sockets = &sockets;
        let name = &name;
        async move {
            for i in 0..count {
                for (sock, frame) in sockets {
                    if let Err(e) = sock.send(frame) {
                        debug!(instance = %name, error = %e, "gratuitous ARP/NA not sent");
                    }
                }
                if i + 1 < count && !garp.interval.is_zero() {
                    tokio::time::sleep(garp.interval).await;
                }
            }
        }
    };
    burst(garp.master_repeat).await;
    if !garp.master_delay.is_zero() {
        tokio::time::sleep(garp.master_delay).await;
        burst(garp.master_repeat).await;
    }
    if garp.master_refresh.is_zero() {
        return;
    }
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + garp.master_refresh,
        garp.master_refresh.max(Duration::from_millis(100)),
    );
    loop {
        tick.tick().await;
        burst(garp.master_refresh_repeat).await;
    }
}
