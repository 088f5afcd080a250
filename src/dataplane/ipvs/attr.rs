//! IPVS generic-netlink messages: command and attribute numbers from the kernel's
//! `include/uapi/linux/ip_vs.h`, and the codec between our table types and nested netlink
//! attributes.
//!
//! Panic contract: [`Nlas`] and every `parse_*` function never panic on arbitrary bytes
//! (they return [`AttrError`]); `emit_*` functions append to a `Vec` and cannot fail.
//! Byte order follows the kernel: attribute headers, AF, protocol, fwmark, weights,
//! thresholds, timeouts and stats are host order; ports (`nla_put_be16`) are network order;
//! addresses are 16-byte `union nf_inet_addr`; the persistence netmask is a network-order
//! mask for IPv4 and a host-order prefix length for IPv6 (as ipvsadm sends it).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::dataplane::tables::{
    svc_flags, Counters, DestKey, DestSpec, Family, Forward, Protocol, ServiceKey, ServiceSpec,
    SyncDaemon, SyncState, Timeouts, TunnelType,
};

/// `IPVS_GENL_NAME` / `IPVS_GENL_VERSION`.
pub const FAMILY_NAME: &str = "IPVS";
pub const GENL_VERSION: u8 = 1;

/// `IPVS_CMD_*`.
pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub const NEW_DAEMON: u8 = 9;
    pub const DEL_DAEMON: u8 = 10;
    pub const GET_DAEMON: u8 = 11;
    pub const SET_CONFIG: u8 = 12;
    pub const GET_CONFIG: u8 = 13;
    pub const SET_INFO: u8 = 14;
    pub const GET_INFO: u8 = 15;
    pub const ZERO: u8 = 16;
    pub const FLUSH: u8 = 17;
}

/// `IPVS_CMD_ATTR_*` (first level).
pub mod cmd_attr {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub const DAEMON: u16 = 3;
    pub const TIMEOUT_TCP: u16 = 4;
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    pub const TIMEOUT_UDP: u16 = 6;
}

/// `IPVS_SVC_ATTR_*`.
pub mod svc_attr {
    pub const AF: u16 = 1;
    pub const PROTOCOL: u16 = 2;
    pub const ADDR: u16 = 3;
    pub const PORT: u16 = 4;
    pub const FWMARK: u16 = 5;
    pub const SCHED_NAME: u16 = 6;
    pub const FLAGS: u16 = 7;
    pub const TIMEOUT: u16 = 8;
    pub const NETMASK: u16 = 9;
    pub const STATS: u16 = 10;
    pub const PE_NAME: u16 = 11;
    pub const STATS64: u16 = 12;
}

/// `IPVS_DEST_ATTR_*`.
pub mod dest_attr {
    pub const ADDR: u16 = 1;
    pub const PORT: u16 = 2;
    pub const FWD_METHOD: u16 = 3;
    pub const WEIGHT: u16 = 4;
    pub const U_THRESH: u16 = 5;
    pub const L_THRESH: u16 = 6;
    pub const ACTIVE_CONNS: u16 = 7;
    pub const INACT_CONNS: u16 = 8;
    pub const PERSIST_CONNS: u16 = 9;
    pub const STATS: u16 = 10;
    pub const ADDR_FAMILY: u16 = 11;
    pub const STATS64: u16 = 12;
    pub const TUN_TYPE: u16 = 13;
    pub const TUN_PORT: u16 = 14;
    pub const TUN_FLAGS: u16 = 15;
}

/// `IPVS_DAEMON_ATTR_*`.
pub mod daemon_attr {
    pub const STATE: u16 = 1;
    pub const MCAST_IFN: u16 = 2;
    pub const SYNC_ID: u16 = 3;
    pub const SYNC_MAXLEN: u16 = 4;
    pub const MCAST_GROUP: u16 = 5;
    pub const MCAST_GROUP6: u16 = 6;
    pub const MCAST_PORT: u16 = 7;
    pub const MCAST_TTL: u16 = 8;
}

/// `IPVS_STATS_ATTR_*` (same numbers in STATS and STATS64; widths differ).
pub mod stats_attr {
    pub const CONNS: u16 = 1;
    pub const INPKTS: u16 = 2;
    pub const OUTPKTS: u16 = 3;
    pub const INBYTES: u16 = 4;
    pub const OUTBYTES: u16 = 5;
}

/// `IPVS_INFO_ATTR_*`.
pub mod info_attr {
    pub const VERSION: u16 = 1;
    pub const CONN_TAB_SIZE: u16 = 2;
}

/// `IP_VS_CONN_F_*` forwarding methods (low 3 bits of the connection flags).
pub mod fwd {
    pub const MASQ: u32 = 0;
    pub const LOCALNODE: u32 = 1;
    pub const TUNNEL: u32 = 2;
    pub const DROUTE: u32 = 3;
    pub const BYPASS: u32 = 4;
    pub const MASK: u32 = 7;
}

/// `IP_VS_STATE_*`.
pub const STATE_MASTER: u32 = 1;
pub const STATE_BACKUP: u32 = 2;
/// `IP_VS_SCHEDNAME_MAXLEN` / `IP_VS_IFNAME_MAXLEN` (including the NUL).
pub const NAME_MAXLEN: usize = 16;

const NLA_HDRLEN: usize = 4;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Why a message or attribute could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttrError {
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    #[error("attribute {attr}: bad length {len}")]
    BadLength { attr: &'static str, len: usize },
    #[error("missing attribute {0}")]
    Missing(&'static str),
    #[error("attribute {attr}: unsupported value {value}")]
    BadValue { attr: &'static str, value: u64 },
}

/// One attribute: its type (flags stripped) and payload, borrowed from the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nla<'a> {
    pub kind: u16,
    pub payload: &'a [u8],
}

/// Iterator over the attributes in a buffer; stops after the first error.
pub struct Nlas<'a> {
    buf: &'a [u8],
    failed: bool,
}

impl<'a> Nlas<'a> {
    pub fn new(buf: &'a [u8]) -> Nlas<'a> {
        Nlas { buf, failed: false }
    }
}

impl<'a> Iterator for Nlas<'a> {
    type Item = Result<Nla<'a>, AttrError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.buf.is_empty() {
            return None;
        }
        let fail = |this: &mut Nlas<'a>, e| {
            this.failed = true;
            Some(Err(e))
        };
        if self.buf.len() < NLA_HDRLEN {
            let have = self.buf.len();
            return fail(
                self,
                AttrError::Truncated {
                    need: NLA_HDRLEN,
                    have,
                },
            );
        }
        let len = usize::from(u16::from_ne_bytes([self.buf[0], self.buf[1]]));
        let kind = u16::from_ne_bytes([self.buf[2], self.buf[3]]) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN {
            return fail(
                self,
                AttrError::BadLength {
                    attr: "nlattr",
                    len,
                },
            );
        }
        if len > self.buf.len() {
            let have = self.buf.len();
            return fail(self, AttrError::Truncated { need: len, have });
        }
        let payload = &self.buf[NLA_HDRLEN..len];
        let padded = align4(len).min(self.buf.len());
        self.buf = &self.buf[padded..];
        Some(Ok(Nla { kind, payload }))
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends netlink attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttrWriter {
    buf: Vec<u8>,
}

impl AttrWriter {
    pub fn new() -> AttrWriter {
        AttrWriter::default()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub fn put(&mut self, kind: u16, payload: &[u8]) {
        let len = (NLA_HDRLEN + payload.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.buf.resize(align4(self.buf.len()), 0);
    }

    pub fn put_u8(&mut self, kind: u16, v: u8) {
        self.put(kind, &[v]);
    }
    pub fn put_u16(&mut self, kind: u16, v: u16) {
        self.put(kind, &v.to_ne_bytes());
    }
    pub fn put_be16(&mut self, kind: u16, v: u16) {
        self.put(kind, &v.to_be_bytes());
    }
    pub fn put_u32(&mut self, kind: u16, v: u32) {
        self.put(kind, &v.to_ne_bytes());
    }
    /// NUL-terminated string.
    pub fn put_str(&mut self, kind: u16, s: &str) {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.put(kind, &v);
    }

    /// A nested attribute whose content `fill` writes.
    pub fn nested(&mut self, kind: u16, fill: impl FnOnce(&mut AttrWriter)) {
        let mut inner = AttrWriter::new();
        fill(&mut inner);
        self.put(kind, &inner.buf);
    }
}

// ===== requests =====

/// A generic-netlink payload: `struct genlmsghdr` + attributes.
pub fn genl_message(command: u8, attrs: AttrWriter) -> Vec<u8> {
    let mut v = vec![command, GENL_VERSION, 0, 0];
    v.extend_from_slice(&attrs.into_bytes());
    v
}

fn put_addr(w: &mut AttrWriter, kind: u16, addr: &IpAddr) {
    let mut a = [0u8; 16];
    match addr {
        IpAddr::V4(v4) => a[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => a.copy_from_slice(&v6.octets()),
    }
    w.put(kind, &a);
}

/// The attributes naming a service (inside `IPVS_CMD_ATTR_SERVICE`).
pub fn emit_service_key(w: &mut AttrWriter, key: &ServiceKey) {
    w.put_u16(svc_attr::AF, key.family().af());
    match key {
        ServiceKey::Addr {
            addr,
            port,
            protocol,
        } => {
            w.put_u16(svc_attr::PROTOCOL, protocol.number());
            put_addr(w, svc_attr::ADDR, addr);
            w.put_be16(svc_attr::PORT, *port);
        }
        ServiceKey::Fwmark { mark, .. } => w.put_u32(svc_attr::FWMARK, *mark),
    }
}

fn netmask_bytes(family: Family, prefix: u8) -> [u8; 4] {
    match family {
        Family::Inet => {
            let p = u32::from(prefix.min(32));
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            mask.to_be_bytes()
        }
        Family::Inet6 => u32::from(prefix.min(128)).to_ne_bytes(),
    }
}

/// A full service (for NEW/SET_SERVICE).
pub fn emit_service(w: &mut AttrWriter, spec: &ServiceSpec) {
    emit_service_key(w, &spec.key);
    w.put_str(svc_attr::SCHED_NAME, &spec.scheduler);
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&(spec.flags & svc_flags::USER_MASK).to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    w.put(svc_attr::FLAGS, &flags);
    w.put_u32(svc_attr::TIMEOUT, spec.timeout);
    w.put(
        svc_attr::NETMASK,
        &netmask_bytes(spec.key.family(), spec.netmask),
    );
}

/// The attributes naming a real server (for DEL_DEST).
pub fn emit_dest_key(w: &mut AttrWriter, key: &DestKey) {
    put_addr(w, dest_attr::ADDR, &key.addr);
    w.put_be16(dest_attr::PORT, key.port);
}

/// A full real server (for NEW/SET_DEST).
pub fn emit_dest(w: &mut AttrWriter, spec: &DestSpec) {
    emit_dest_key(w, &spec.key);
    w.put_u16(dest_attr::ADDR_FAMILY, Family::of(&spec.key.addr).af());
    let method = match spec.forward {
        Forward::Masq => fwd::MASQ,
        Forward::Local => fwd::LOCALNODE,
        Forward::Tunnel { .. } => fwd::TUNNEL,
        Forward::Route => fwd::DROUTE,
        Forward::Bypass => fwd::BYPASS,
    };
    w.put_u32(dest_attr::FWD_METHOD, method);
    w.put_u32(dest_attr::WEIGHT, spec.weight);
    w.put_u32(dest_attr::U_THRESH, spec.upper_threshold);
    w.put_u32(dest_attr::L_THRESH, spec.lower_threshold);
    // Tunnel attributes only for non-IPIP tunnels, so that kernels before 5.3 (which lack
    // them) accept plain IPIP as ipvsadm programs it.
    if let Forward::Tunnel { kind, port, flags } = spec.forward {
        if kind != TunnelType::Ipip {
            w.put_u8(
                dest_attr::TUN_TYPE,
                match kind {
                    TunnelType::Ipip => 0,
                    TunnelType::Gue => 1,
                    TunnelType::Gre => 2,
                },
            );
            w.put_be16(dest_attr::TUN_PORT, port);
            w.put_u16(dest_attr::TUN_FLAGS, flags);
        }
    }
}

/// A sync daemon (for NEW_DAEMON; DEL_DAEMON needs only the state).
pub fn emit_daemon(w: &mut AttrWriter, d: &SyncDaemon) {
    w.put_u32(
        daemon_attr::STATE,
        match d.state {
            SyncState::Master => STATE_MASTER,
            SyncState::Backup => STATE_BACKUP,
        },
    );
    w.put_str(daemon_attr::MCAST_IFN, &d.interface);
    w.put_u32(daemon_attr::SYNC_ID, d.sync_id);
    if let Some(len) = d.max_len {
        w.put_u16(daemon_attr::SYNC_MAXLEN, len);
    }
    match d.group {
        Some(IpAddr::V4(g)) => w.put(daemon_attr::MCAST_GROUP, &g.octets()),
        Some(IpAddr::V6(g)) => w.put(daemon_attr::MCAST_GROUP6, &g.octets()),
        None => {}
    }
    if let Some(p) = d.port {
        w.put_u16(daemon_attr::MCAST_PORT, p);
    }
    if let Some(t) = d.ttl {
        w.put_u8(daemon_attr::MCAST_TTL, t);
    }
}

/// `IPVS_CMD_SET_CONFIG` attributes.
pub fn emit_timeouts(w: &mut AttrWriter, t: &Timeouts) {
    w.put_u32(cmd_attr::TIMEOUT_TCP, t.tcp);
    w.put_u32(cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin);
    w.put_u32(cmd_attr::TIMEOUT_UDP, t.udp);
}

// ===== replies =====

fn fixed<const N: usize>(attr: &'static str, p: &[u8]) -> Result<[u8; N], AttrError> {
    p.get(..N)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(AttrError::BadLength { attr, len: p.len() })
}
fn get_u8(attr: &'static str, p: &[u8]) -> Result<u8, AttrError> {
    Ok(fixed::<1>(attr, p)?[0])
}
fn get_u16(attr: &'static str, p: &[u8]) -> Result<u16, AttrError> {
    Ok(u16::from_ne_bytes(fixed(attr, p)?))
}
fn get_be16(attr: &'static str, p: &[u8]) -> Result<u16, AttrError> {
    Ok(u16::from_be_bytes(fixed(attr, p)?))
}
fn get_u32(attr: &'static str, p: &[u8]) -> Result<u32, AttrError> {
    Ok(u32::from_ne_bytes(fixed(attr, p)?))
}
fn get_u64(attr: &'static str, p: &[u8]) -> Result<u64, AttrError> {
    Ok(u64::from_ne_bytes(fixed(attr, p)?))
}
fn get_str(p: &[u8]) -> String {
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    String::from_utf8_lossy(&p[..end]).into_owned()
}
fn get_addr(attr: &'static str, family: Family, p: &[u8]) -> Result<IpAddr, AttrError> {
    match family {
        Family::Inet => Ok(IpAddr::V4(Ipv4Addr::from(fixed::<4>(attr, p)?))),
        Family::Inet6 => Ok(IpAddr::V6(Ipv6Addr::from(fixed::<16>(attr, p)?))),
    }
}

/// Attributes of a top-level genl payload (after the 4-byte `genlmsghdr`).
pub fn genl_attrs(payload: &[u8]) -> Result<(u8, &[u8]), AttrError> {
    if payload.len() < 4 {
        return Err(AttrError::Truncated {
            need: 4,
            have: payload.len(),
        });
    }
    Ok((payload[0], &payload[4..]))
}

/// The payload of the first top-level attribute of type `kind`.
pub fn find(attrs: &[u8], kind: u16) -> Result<Option<&[u8]>, AttrError> {
    for nla in Nlas::new(attrs) {
        let nla = nla?;
        if nla.kind == kind {
            return Ok(Some(nla.payload));
        }
    }
    Ok(None)
}

/// Stats from `IPVS_*_ATTR_STATS64` (`wide`) or `_STATS`.
pub fn parse_stats(p: &[u8], wide: bool) -> Result<Counters, AttrError> {
    let mut c = Counters::default();
    for nla in Nlas::new(p) {
        let nla = nla?;
        let narrow = |name| -> Result<u64, AttrError> {
            if wide {
                get_u64(name, nla.payload)
            } else {
                get_u32(name, nla.payload).map(u64::from)
            }
        };
        match nla.kind {
            stats_attr::CONNS => c.connections = narrow("STATS_CONNS")?,
            stats_attr::INPKTS => c.packets_in = narrow("STATS_INPKTS")?,
            stats_attr::OUTPKTS => c.packets_out = narrow("STATS_OUTPKTS")?,
            stats_attr::INBYTES => c.bytes_in = get_u64("STATS_INBYTES", nla.payload)?,
            stats_attr::OUTBYTES => c.bytes_out = get_u64("STATS_OUTBYTES", nla.payload)?,
            _ => {}
        }
    }
    Ok(c)
}

/// A service as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRepr {
    pub spec: ServiceSpec,
    pub stats: Counters,
    /// Persistence engine (`sip`); we never set one, but a foreign service may have it.
    pub pe_name: Option<String>,
}

/// Parses the content of `IPVS_CMD_ATTR_SERVICE`.
pub fn parse_service(p: &[u8]) -> Result<ServiceRepr, AttrError> {
    let (mut af, mut proto, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let (mut sched, mut flags, mut timeout, mut netmask) = (None, 0u32, 0u32, None);
    let (mut stats, mut stats64, mut pe_name) = (None, None, None);
    for nla in Nlas::new(p) {
        let nla = nla?;
        match nla.kind {
            svc_attr::AF => af = Some(get_u16("SVC_AF", nla.payload)?),
            svc_attr::PROTOCOL => proto = Some(get_u16("SVC_PROTOCOL", nla.payload)?),
            svc_attr::ADDR => addr = Some(nla.payload),
            svc_attr::PORT => port = Some(get_be16("SVC_PORT", nla.payload)?),
            svc_attr::FWMARK => fwmark = Some(get_u32("SVC_FWMARK", nla.payload)?),
            svc_attr::SCHED_NAME => sched = Some(get_str(nla.payload)),
            svc_attr::FLAGS => flags = get_u32("SVC_FLAGS", nla.payload)?,
            svc_attr::TIMEOUT => timeout = get_u32("SVC_TIMEOUT", nla.payload)?,
            svc_attr::NETMASK => netmask = Some(fixed::<4>("SVC_NETMASK", nla.payload)?),
            svc_attr::STATS => stats = Some(parse_stats(nla.payload, false)?),
            svc_attr::STATS64 => stats64 = Some(parse_stats(nla.payload, true)?),
            svc_attr::PE_NAME => pe_name = Some(get_str(nla.payload)),
            _ => {}
        }
    }
    let af = af.ok_or(AttrError::Missing("SVC_AF"))?;
    let family = Family::from_af(af).ok_or(AttrError::BadValue {
        attr: "SVC_AF",
        value: u64::from(af),
    })?;
    let key = match (fwmark, proto, addr, port) {
        (Some(mark), ..) if mark != 0 => ServiceKey::Fwmark { family, mark },
        (_, Some(proto), Some(addr), Some(port)) => ServiceKey::Addr {
            addr: get_addr("SVC_ADDR", family, addr)?,
            port,
            protocol: Protocol::from_number(proto).ok_or(AttrError::BadValue {
                attr: "SVC_PROTOCOL",
                value: u64::from(proto),
            })?,
        },
        _ => return Err(AttrError::Missing("SVC_FWMARK or SVC_PROTOCOL/ADDR/PORT")),
    };
    let netmask = match (family, netmask) {
        (_, None) => family.max_prefix(),
        (Family::Inet, Some(b)) => {
            let m = u32::from_be_bytes(b);
            if m.leading_ones() + m.trailing_zeros() != 32 && m != 0 {
                return Err(AttrError::BadValue {
                    attr: "SVC_NETMASK",
                    value: u64::from(m),
                });
            }
            m.leading_ones() as u8
        }
        (Family::Inet6, Some(b)) => {
            let plen = u32::from_ne_bytes(b);
            if plen > 128 {
                return Err(AttrError::BadValue {
                    attr: "SVC_NETMASK",
                    value: u64::from(plen),
                });
            }
            plen as u8
        }
    };
    Ok(ServiceRepr {
        spec: ServiceSpec {
            key,
            scheduler: sched.ok_or(AttrError::Missing("SVC_SCHED_NAME"))?,
            // Only the flags a user can set; the kernel's HASHED bit (and anything unknown)
            // is not part of what we program or compare.
            flags: flags & svc_flags::USER_MASK,
            timeout,
            netmask,
        },
        stats: stats64.or(stats).unwrap_or_default(),
        pe_name,
    })
}

/// A real server as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestRepr {
    pub spec: DestSpec,
    pub active_connections: u32,
    pub inactive_connections: u32,
    pub persistent_connections: u32,
    pub stats: Counters,
}

/// Parses the content of `IPVS_CMD_ATTR_DEST`; `service_family` is used when the kernel
/// predates `IPVS_DEST_ATTR_ADDR_FAMILY`.
pub fn parse_dest(p: &[u8], service_family: Family) -> Result<DestRepr, AttrError> {
    let (mut addr, mut port, mut method, mut weight) = (None, None, None, None);
    let (mut uth, mut lth, mut fam) = (0, 0, service_family);
    let (mut act, mut inact, mut pers) = (0, 0, 0);
    let (mut stats, mut stats64) = (None, None);
    let (mut tun_type, mut tun_port, mut tun_flags) = (0u8, 0u16, 0u16);
    for nla in Nlas::new(p) {
        let nla = nla?;
        match nla.kind {
            dest_attr::ADDR => addr = Some(nla.payload),
            dest_attr::PORT => port = Some(get_be16("DEST_PORT", nla.payload)?),
            dest_attr::FWD_METHOD => method = Some(get_u32("DEST_FWD_METHOD", nla.payload)?),
            dest_attr::WEIGHT => weight = Some(get_u32("DEST_WEIGHT", nla.payload)?),
            dest_attr::U_THRESH => uth = get_u32("DEST_U_THRESH", nla.payload)?,
            dest_attr::L_THRESH => lth = get_u32("DEST_L_THRESH", nla.payload)?,
            dest_attr::ACTIVE_CONNS => act = get_u32("DEST_ACTIVE_CONNS", nla.payload)?,
            dest_attr::INACT_CONNS => inact = get_u32("DEST_INACT_CONNS", nla.payload)?,
            dest_attr::PERSIST_CONNS => pers = get_u32("DEST_PERSIST_CONNS", nla.payload)?,
            dest_attr::STATS => stats = Some(parse_stats(nla.payload, false)?),
            dest_attr::STATS64 => stats64 = Some(parse_stats(nla.payload, true)?),
            dest_attr::ADDR_FAMILY => {
                let af = get_u16("DEST_ADDR_FAMILY", nla.payload)?;
                fam = Family::from_af(af).ok_or(AttrError::BadValue {
                    attr: "DEST_ADDR_FAMILY",
                    value: u64::from(af),
                })?;
            }
            dest_attr::TUN_TYPE => tun_type = get_u8("DEST_TUN_TYPE", nla.payload)?,
            dest_attr::TUN_PORT => tun_port = get_be16("DEST_TUN_PORT", nla.payload)?,
            dest_attr::TUN_FLAGS => tun_flags = get_u16("DEST_TUN_FLAGS", nla.payload)?,
            _ => {}
        }
    }
    let method = method.ok_or(AttrError::Missing("DEST_FWD_METHOD"))?;
    let forward = match method & fwd::MASK {
        fwd::MASQ => Forward::Masq,
        fwd::LOCALNODE => Forward::Local,
        fwd::TUNNEL => match tun_type {
            0 => Forward::Tunnel {
                kind: TunnelType::Ipip,
                port: 0,
                flags: 0,
            },
            1 => Forward::Tunnel {
                kind: TunnelType::Gue,
                port: tun_port,
                flags: tun_flags,
            },
            2 => Forward::Tunnel {
                kind: TunnelType::Gre,
                port: 0,
                flags: tun_flags,
            },
            t => {
                return Err(AttrError::BadValue {
                    attr: "DEST_TUN_TYPE",
                    value: u64::from(t),
                })
            }
        },
        fwd::DROUTE => Forward::Route,
        fwd::BYPASS => Forward::Bypass,
        m => {
            return Err(AttrError::BadValue {
                attr: "DEST_FWD_METHOD",
                value: u64::from(m),
            })
        }
    };
    Ok(DestRepr {
        spec: DestSpec {
            key: DestKey {
                addr: get_addr(
                    "DEST_ADDR",
                    fam,
                    addr.ok_or(AttrError::Missing("DEST_ADDR"))?,
                )?,
                port: port.ok_or(AttrError::Missing("DEST_PORT"))?,
            },
            forward,
            weight: weight.ok_or(AttrError::Missing("DEST_WEIGHT"))?,
            upper_threshold: uth,
            lower_threshold: lth,
        },
        active_connections: act,
        inactive_connections: inact,
        persistent_connections: pers,
        stats: stats64.or(stats).unwrap_or_default(),
    })
}

/// Parses the content of `IPVS_CMD_ATTR_DAEMON`.
pub fn parse_daemon(p: &[u8]) -> Result<SyncDaemon, AttrError> {
    let (mut state, mut ifn, mut id) = (None, None, None);
    let mut d = SyncDaemon {
        state: SyncState::Master,
        interface: String::new(),
        sync_id: 0,
        max_len: None,
        group: None,
        port: None,
        ttl: None,
    };
    for nla in Nlas::new(p) {
        let nla = nla?;
        match nla.kind {
            daemon_attr::STATE => state = Some(get_u32("DAEMON_STATE", nla.payload)?),
            daemon_attr::MCAST_IFN => ifn = Some(get_str(nla.payload)),
            daemon_attr::SYNC_ID => id = Some(get_u32("DAEMON_SYNC_ID", nla.payload)?),
            daemon_attr::SYNC_MAXLEN => {
                d.max_len = Some(get_u16("DAEMON_SYNC_MAXLEN", nla.payload)?)
            }
            daemon_attr::MCAST_GROUP => {
                d.group = Some(IpAddr::V4(Ipv4Addr::from(fixed::<4>(
                    "DAEMON_MCAST_GROUP",
                    nla.payload,
                )?)))
            }
            daemon_attr::MCAST_GROUP6 => {
                d.group = Some(IpAddr::V6(Ipv6Addr::from(fixed::<16>(
                    "DAEMON_MCAST_GROUP6",
                    nla.payload,
                )?)))
            }
            daemon_attr::MCAST_PORT => d.port = Some(get_u16("DAEMON_MCAST_PORT", nla.payload)?),
            daemon_attr::MCAST_TTL => d.ttl = Some(get_u8("DAEMON_MCAST_TTL", nla.payload)?),
            _ => {}
        }
    }
    d.state = match state.ok_or(AttrError::Missing("DAEMON_STATE"))? {
        STATE_MASTER => SyncState::Master,
        STATE_BACKUP => SyncState::Backup,
        s => {
            return Err(AttrError::BadValue {
                attr: "DAEMON_STATE",
                value: u64::from(s),
            })
        }
    };
    d.interface = ifn.ok_or(AttrError::Missing("DAEMON_MCAST_IFN"))?;
    d.sync_id = id.ok_or(AttrError::Missing("DAEMON_SYNC_ID"))?;
    Ok(d)
}

/// Parses an `IPVS_CMD_GET_CONFIG` reply's attributes.
pub fn parse_timeouts(attrs: &[u8]) -> Result<Timeouts, AttrError> {
    let mut t = Timeouts::default();
    for nla in Nlas::new(attrs) {
        let nla = nla?;
        match nla.kind {
            cmd_attr::TIMEOUT_TCP => t.tcp = get_u32("TIMEOUT_TCP", nla.payload)?,
            cmd_attr::TIMEOUT_TCP_FIN => t.tcp_fin = get_u32("TIMEOUT_TCP_FIN", nla.payload)?,
            cmd_attr::TIMEOUT_UDP => t.udp = get_u32("TIMEOUT_UDP", nla.payload)?,
            _ => {}
        }
    }
    Ok(t)
}

/// Parses every top-level attribute of an IPVS reply (what the fuzz target drives): services,
/// dests and daemons inside, the config timeouts. Returns how many objects were decoded.
pub fn parse_any(attrs: &[u8]) -> Result<usize, AttrError> {
    let mut n = 0;
    for nla in Nlas::new(attrs) {
        let nla = nla?;
        match nla.kind {
            cmd_attr::SERVICE => {
                parse_service(nla.payload)?;
            }
            cmd_attr::DEST => {
                parse_dest(nla.payload, Family::Inet)?;
            }
            cmd_attr::DAEMON => {
                parse_daemon(nla.payload)?;
            }
            _ => {}
        }
        n += 1;
    }
    parse_timeouts(attrs)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[rustfmt::skip]
    const SERVICE_TCP_MH: &[u8] = &[
        // IPVS_SVC_ATTR_AF, len=6, type=1: AF_INET
        0x06, 0x00, 0x01, 0x00,  0x02, 0x00, 0x00, 0x00,
        // IPVS_SVC_ATTR_PROTOCOL, len=6, type=2: TCP
        0x06, 0x00, 0x02, 0x00,  0x06, 0x00, 0x00, 0x00,
        // IPVS_SVC_ATTR_ADDR, len=20, type=3: 10.0.0.1 in a 16-byte nf_inet_addr
        0x14, 0x00, 0x03, 0x00,  0x0a, 0x00, 0x00, 0x01,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
        // IPVS_SVC_ATTR_PORT, len=6, type=4: 80, network order
        0x06, 0x00, 0x04, 0x00,  0x00, 0x50, 0x00, 0x00,
        // IPVS_SVC_ATTR_SCHED_NAME, len=7, type=6: "mh\0"
        0x07, 0x00, 0x06, 0x00,  b'm', b'h', 0x00, 0x00,
        // IPVS_SVC_ATTR_FLAGS, len=12, type=7: flags=SCHED1|SCHED2|PERSISTENT, mask=~0
        0x0c, 0x00, 0x07, 0x00,  0x19, 0x00, 0x00, 0x00,  0xff, 0xff, 0xff, 0xff,
        // IPVS_SVC_ATTR_TIMEOUT, len=8, type=8: 600
        0x08, 0x00, 0x08, 0x00,  0x58, 0x02, 0x00, 0x00,
        // IPVS_SVC_ATTR_NETMASK, len=8, type=9: 255.255.255.0
        0x08, 0x00, 0x09, 0x00,  0xff, 0xff, 0xff, 0x00,
    ];

    fn service_tcp_mh() -> ServiceSpec {
        ServiceSpec {
            key: ServiceKey::Addr {
                addr: v4(10, 0, 0, 1),
                port: 80,
                protocol: Protocol::Tcp,
            },
            scheduler: "mh".into(),
            flags: svc_flags::PERSISTENT | svc_flags::SCHED1 | svc_flags::SCHED2,
            timeout: 600,
            netmask: 24,
        }
    }

    #[rustfmt::skip]
    const DEST_DR: &[u8] = &[
        // IPVS_DEST_ATTR_ADDR, len=20, type=1: 10.1.0.2
        0x14, 0x00, 0x01, 0x00,  0x0a, 0x01, 0x00, 0x02,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
        // IPVS_DEST_ATTR_PORT, len=6, type=2: 8080
        0x06, 0x00, 0x02, 0x00,  0x1f, 0x90, 0x00, 0x00,
        // IPVS_DEST_ATTR_ADDR_FAMILY, len=6, type=11: AF_INET
        0x06, 0x00, 0x0b, 0x00,  0x02, 0x00, 0x00, 0x00,
        // IPVS_DEST_ATTR_FWD_METHOD, len=8, type=3: DROUTE
        0x08, 0x00, 0x03, 0x00,  0x03, 0x00, 0x00, 0x00,
        // IPVS_DEST_ATTR_WEIGHT, len=8, type=4: 5
        0x08, 0x00, 0x04, 0x00,  0x05, 0x00, 0x00, 0x00,
        // IPVS_DEST_ATTR_U_THRESH, len=8, type=5: 0
        0x08, 0x00, 0x05, 0x00,  0x00, 0x00, 0x00, 0x00,
        // IPVS_DEST_ATTR_L_THRESH, len=8, type=6: 0
        0x08, 0x00, 0x06, 0x00,  0x00, 0x00, 0x00, 0x00,
    ];

    fn dest_dr() -> DestSpec {
        DestSpec {
            key: DestKey {
                addr: v4(10, 1, 0, 2),
                port: 8080,
            },
            forward: Forward::Route,
            weight: 5,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }

    #[test]
    fn service_golden_emit_and_parse() {
        let mut w = AttrWriter::new();
        emit_service(&mut w, &service_tcp_mh());
        assert_eq!(w.into_bytes(), SERVICE_TCP_MH);
        let r = parse_service(SERVICE_TCP_MH).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.spec, service_tcp_mh());
    }

    #[test]
    fn kernel_hashed_flag_is_ignored_on_parse() {
        let mut bytes = SERVICE_TCP_MH.to_vec();
        bytes[56] |= svc_flags::HASHED as u8; // the flags word of IPVS_SVC_ATTR_FLAGS
        let r = parse_service(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.spec, service_tcp_mh());
    }

    #[test]
    fn dest_golden_emit_and_parse() {
        let mut w = AttrWriter::new();
        emit_dest(&mut w, &dest_dr());
        assert_eq!(w.into_bytes(), DEST_DR);
        let r = parse_dest(DEST_DR, Family::Inet).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.spec, dest_dr());
    }

    #[test]
    fn fwmark_v6_service_round_trip() {
        let spec = ServiceSpec {
            key: ServiceKey::Fwmark {
                family: Family::Inet6,
                mark: 7,
            },
            scheduler: "wrr".into(),
            flags: svc_flags::PERSISTENT,
            timeout: 300,
            netmask: 64,
        };
        let mut w = AttrWriter::new();
        emit_service(&mut w, &spec);
        let bytes = w.into_bytes();
        // IPVS_SVC_ATTR_NETMASK for IPv6 is a host-order prefix length.
        assert!(bytes.windows(8).any(|x| x == [8, 0, 9, 0, 64, 0, 0, 0]));
        assert_eq!(parse_service(&bytes).map(|r| r.spec), Ok(spec));
    }

    #[test]
    fn stats64_preferred_and_nested_in_dest() {
        let mut w = AttrWriter::new();
        emit_dest(&mut w, &dest_dr());
        w.put_u32(dest_attr::ACTIVE_CONNS, 3);
        w.nested(dest_attr::STATS, |s| s.put_u32(stats_attr::CONNS, 1));
        w.nested(dest_attr::STATS64, |s| {
            s.put(stats_attr::CONNS, &9u64.to_ne_bytes());
            s.put(stats_attr::INBYTES, &1000u64.to_ne_bytes());
        });
        let r = parse_dest(&w.into_bytes(), Family::Inet).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.active_connections, 3);
        assert_eq!(r.stats.connections, 9);
        assert_eq!(r.stats.bytes_in, 1000);
    }

    #[test]
    fn daemon_round_trip() {
        let d = SyncDaemon {
            state: SyncState::Backup,
            interface: "eth0".into(),
            sync_id: 9,
            max_len: Some(1472),
            group: Some(v4(224, 0, 0, 81)),
            port: Some(8848),
            ttl: Some(1),
        };
        let mut w = AttrWriter::new();
        emit_daemon(&mut w, &d);
        assert_eq!(parse_daemon(&w.into_bytes()), Ok(d));
    }

    #[test]
    fn truncated_and_bad_lengths_are_errors() {
        assert!(parse_service(&SERVICE_TCP_MH[..30]).is_err());
        assert_eq!(
            Nlas::new(&[2, 0, 1, 0]).next(),
            Some(Err(AttrError::BadLength {
                attr: "nlattr",
                len: 2
            }))
        );
        assert!(parse_service(&[]).is_err());
        assert!(parse_dest(&[], Family::Inet).is_err());
    }

    fn arb_addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            any::<[u8; 16]>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_any(&bytes);
            let _ = parse_service(&bytes);
            let _ = parse_dest(&bytes, Family::Inet6);
            let _ = parse_daemon(&bytes);
        }

        #[test]
        fn service_round_trips(addr in arb_addr(), port in any::<u16>(), mark in 1u32.., fw in any::<bool>(),
                               flags in 0u32..64, timeout in any::<u32>(), plen in 0u8..=128) {
            let key = if fw {
                ServiceKey::Fwmark { family: Family::of(&addr), mark }
            } else {
                ServiceKey::Addr { addr, port, protocol: Protocol::Udp }
            };
            let spec = ServiceSpec {
                key,
                scheduler: "sh".into(),
                flags: flags & svc_flags::USER_MASK,
                timeout,
                netmask: plen.min(key.family().max_prefix()),
            };
            let mut w = AttrWriter::new();
            emit_service(&mut w, &spec);
            prop_assert_eq!(parse_service(&w.into_bytes()).map(|r| r.spec), Ok(spec));
        }

        #[test]
        fn dest_round_trips(addr in arb_addr(), port in any::<u16>(), weight in any::<u32>(),
                            u in any::<u32>(), l in any::<u32>(), m in 0usize..7, tport in any::<u16>()) {
            let forward = [
                Forward::Masq, Forward::Local, Forward::Route, Forward::Bypass,
                Forward::Tunnel { kind: TunnelType::Ipip, port: 0, flags: 0 },
                Forward::Tunnel { kind: TunnelType::Gue, port: tport, flags: 1 },
                Forward::Tunnel { kind: TunnelType::Gre, port: 0, flags: 2 },
            ][m];
            let spec = DestSpec { key: DestKey { addr, port }, forward, weight, upper_threshold: u, lower_threshold: l };
            let mut w = AttrWriter::new();
            emit_dest(&mut w, &spec);
            prop_assert_eq!(parse_dest(&w.into_bytes(), Family::Inet).map(|r| r.spec), Ok(spec));
        }
    }
}
