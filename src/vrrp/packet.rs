//! VRRP advertisement codec: VRRPv2 (RFC 3768 §5) and VRRPv3 (RFC 5798 §5), IPv4 and IPv6.
//!
//! ```text
//! VRRPv2                                     VRRPv3
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Adver Int   |          Checksum             |   v2
//! |(rsvd) |     Max Adver Int     |          Checksum             |   v3 (centiseconds)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 IP Address (1) … (n)  (4 or 16 bytes each)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Authentication Data (1)  (v2 only, 8 bytes)   |
//! |                 Authentication Data (2)                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Checksums: v2 covers the VRRP message only; v3 adds the IPv4/IPv6 pseudo-header
//! (RFC 5798 §5.2.8), except when keepalived's `v3_checksum_as_v2` is set, where a v3 IPv4
//! advert is summed like a v2 one.
//!
//! Panic contract (as smoltcp's wire module): `Packet::new_checked` validates the length,
//! after which no accessor panics; `Repr::parse` never panics on any input; `Repr::emit`
//! never panics on a buffer of at least `Repr::buffer_len()` bytes.
//! The IP header is not part of this view: `Ipv4Header` below is a tiny reader used by the
//! receive path to take TTL/source/destination from a raw IPv4 datagram.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IPv4 multicast group of VRRP (RFC 3768 §5.2.2, RFC 5798 §5.1.1.2).
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2).
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// The only TTL/hop limit an advert may carry (RFC 3768 §7.1, RFC 5798 §7.1).
pub const TTL: u8 = 255;
/// Length of the v2 authentication data.
pub const AUTH_DATA_LEN: usize = 8;
const HEADER_LEN: usize = 8;
const TYPE_ADVERTISEMENT: u8 = 1;

/// Why a received advert was dropped. Each reason has its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeError {
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    #[error("unsupported VRRP version {0}")]
    BadVersion(u8),
    #[error("unknown VRRP packet type {0}")]
    BadType(u8),
    #[error("bad checksum")]
    BadChecksum,
    #[error("VRRPv2 over IPv6")]
    V2OverIpv6,
    #[error("not an IPv4 VRRP datagram")]
    NotVrrpIpv4,
}

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Address family of the advert (carried by the IP header, not by VRRP itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// VRRPv2 authentication (RFC 3768 §5.3.6; types 1 and 2 were removed from RFC 3768 but
/// keepalived still speaks type 1, `auth_type PASS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    None,
    /// Simple text password, NUL-padded to 8 bytes. No security at all: it travels in clear.
    Password([u8; AUTH_DATA_LEN]),
    /// Any other type (AH = 2, or unknown), kept so that it round-trips.
    Other(u8, [u8; AUTH_DATA_LEN]),
}

impl Auth {
    pub fn type_code(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Password(_) => 1,
            Auth::Other(t, _) => *t,
        }
    }

    fn data(&self) -> [u8; AUTH_DATA_LEN] {
        match self {
            Auth::None => [0; AUTH_DATA_LEN],
            Auth::Password(d) | Auth::Other(_, d) => *d,
        }
    }

    fn from_wire(code: u8, data: [u8; AUTH_DATA_LEN]) -> Auth {
        match code {
            0 => Auth::None,
            1 => Auth::Password(data),
            t => Auth::Other(t, data),
        }
    }

    /// A password as keepalived stores `auth_pass`: the first 8 bytes, NUL padded.
    pub fn password(pass: &str) -> Auth {
        let mut data = [0u8; AUTH_DATA_LEN];
        for (d, s) in data.iter_mut().zip(pass.bytes()) {
            *d = s;
        }
        Auth::Password(data)
    }
}

mod field {
    use std::ops::Range;
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    pub const AUTH_TYPE: usize = 4;
    pub const ADVER_INT_V2: usize = 5;
    pub const ADVER_INT_V3: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
}

/// A read/write view of a VRRP message (the IP payload).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps `buffer` after checking it holds the fixed header.
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<(), DecodeError> {
        let have = self.buffer.as_ref().len();
        if have < HEADER_LEN {
            return Err(DecodeError::Truncated {
                need: HEADER_LEN,
                have,
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }
    pub fn packet_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }
    pub fn addr_count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }
    /// v2 only.
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }
    /// v2: seconds (8 bits).
    pub fn adver_int_v2(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT_V2]
    }
    /// v3: centiseconds (12 bits).
    pub fn max_adver_int_v3(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::ADVER_INT_V3];
        u16::from_be_bytes([b[0], b[1]]) & 0x0fff
    }
    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Length the message must have for its version, family and address count.
    pub fn required_len(&self, family: Family) -> usize {
        let auth = if self.version() == 2 {
            AUTH_DATA_LEN
        } else {
            0
        };
        HEADER_LEN + usize::from(self.addr_count()) * family.addr_len() + auth
    }

    /// Checks the checksum; `src`/`dst` are the IP header's (v3 pseudo-header).
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr, v3_as_v2: bool) -> bool {
        checksum(self.buffer.as_ref(), self.version(), src, dst, v3_as_v2) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }
    /// Computes and stores the checksum over the whole buffer.
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr, v3_as_v2: bool) {
        self.set_checksum(0);
        let sum = checksum(self.buffer.as_ref(), self.version(), src, dst, v3_as_v2);
        self.set_checksum(sum);
    }
}

/// The validated content of an advert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repr {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// The interval field as on the wire: seconds for v2, centiseconds for v3.
    pub adver_int: u16,
    /// Always `Auth::None` for v3.
    pub auth: Auth,
    pub addresses: Vec<IpAddr>,
}

impl Repr {
    /// Parses and validates an advert received in an IP datagram of `family`. Checksum
    /// verification is separate (`Packet::verify_checksum`) since it needs the IP header.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>, family: Family) -> Result<Repr, DecodeError> {
        packet.check_len()?;
        let version = match packet.version() {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(DecodeError::BadVersion(v)),
        };
        if packet.packet_type() != TYPE_ADVERTISEMENT {
            return Err(DecodeError::BadType(packet.packet_type()));
        }
        if version == Version::V2 && family == Family::V6 {
            return Err(DecodeError::V2OverIpv6);
        }
        let data = packet.buffer.as_ref();
        let need = packet.required_len(family);
        if data.len() < need {
            return Err(DecodeError::Truncated {
                need,
                have: data.len(),
            });
        }
        let alen = family.addr_len();
        let addresses = data[HEADER_LEN..HEADER_LEN + usize::from(packet.addr_count()) * alen]
            .chunks_exact(alen)
            .map(|c| match family {
                Family::V4 => IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])),
                Family::V6 => {
                    let mut b = [0u8; 16];
                    b.copy_from_slice(c);
                    IpAddr::V6(Ipv6Addr::from(b))
                }
            })
            .collect::<Vec<_>>();
        let (adver_int, auth) = match version {
            Version::V2 => {
                let mut auth_data = [0u8; AUTH_DATA_LEN];
                auth_data.copy_from_slice(&data[need - AUTH_DATA_LEN..need]);
                (
                    u16::from(packet.adver_int_v2()),
                    Auth::from_wire(packet.auth_type(), auth_data),
                )
            }
            Version::V3 => (packet.max_adver_int_v3(), Auth::None),
        };
        Ok(Repr {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            adver_int,
            auth,
            addresses,
        })
    }

    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        let alen = self
            .addresses
            .first()
            .map_or(4, |a| Family::of(a).addr_len());
        let auth = if self.version == Version::V2 {
            AUTH_DATA_LEN
        } else {
            0
        };
        HEADER_LEN + self.addresses.len().min(255) * alen + auth
    }

    /// The advertisement interval as a duration.
    pub fn interval(&self) -> Duration {
        interval_duration(self.version, self.adver_int)
    }

    /// Writes the advert and its checksum into `packet` (at least `buffer_len()` bytes).
    /// At most 255 addresses are written; addresses of the other family are skipped by
    /// the caller (settings never mix families in one instance).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: IpAddr,
        dst: IpAddr,
        v3_as_v2: bool,
    ) {
        let len = self.buffer_len();
        let count = self.addresses.len().min(255);
        let buf = &mut packet.buffer.as_mut()[..len];
        buf.fill(0);
        buf[field::VER_TYPE] = (self.version.number() << 4) | TYPE_ADVERTISEMENT;
        buf[field::VRID] = self.vrid;
        buf[field::PRIORITY] = self.priority;
        buf[field::COUNT] = count as u8;
        match self.version {
            Version::V2 => {
                buf[field::AUTH_TYPE] = self.auth.type_code();
                buf[field::ADVER_INT_V2] = self.adver_int.min(255) as u8;
                buf[len - AUTH_DATA_LEN..].copy_from_slice(&self.auth.data());
            }
            Version::V3 => {
                buf[field::ADVER_INT_V3].copy_from_slice(&(self.adver_int & 0x0fff).to_be_bytes());
            }
        }
        let mut at = HEADER_LEN;
        for a in self.addresses.iter().take(count) {
            match a {
                IpAddr::V4(v4) if at + 4 <= len => buf[at..at + 4].copy_from_slice(&v4.octets()),
                IpAddr::V6(v6) if at + 16 <= len => buf[at..at + 16].copy_from_slice(&v6.octets()),
                _ => {}
            }
            at += Family::of(a).addr_len();
        }
        Packet::new_unchecked(&mut *buf).fill_checksum(src, dst, v3_as_v2);
    }

    /// Emits into a fresh vector.
    pub fn to_bytes(&self, src: IpAddr, dst: IpAddr, v3_as_v2: bool) -> Vec<u8> {
        let mut buf = vec![0u8; self.buffer_len()];
        self.emit(&mut Packet::new_unchecked(&mut buf[..]), src, dst, v3_as_v2);
        buf
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VRRP{:?} vrid {} prio {} int {} auth {} addrs {:?}",
            self.version,
            self.vrid,
            self.priority,
            self.adver_int,
            self.auth.type_code(),
            self.addresses
        )
    }
}

/// `adver_int` in wire units to a duration: seconds for v2, centiseconds for v3.
pub fn interval_duration(version: Version, adver_int: u16) -> Duration {
    match version {
        Version::V2 => Duration::from_secs(u64::from(adver_int)),
        Version::V3 => Duration::from_millis(u64::from(adver_int) * 10),
    }
}

/// Internet checksum of the message (with the v3 pseudo-header unless `v3_as_v2` or v2).
/// Over a message with a correct checksum field the result is 0.
fn checksum(msg: &[u8], version: u8, src: IpAddr, dst: IpAddr, v3_as_v2: bool) -> u16 {
    let mut sum: u32 = 0;
    let pseudo = version == 3 && !(v3_as_v2 && matches!(src, IpAddr::V4(_)));
    if pseudo {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                sum = add_bytes(sum, &s.octets());
                sum = add_bytes(sum, &d.octets());
                sum += u32::from(IPPROTO_VRRP);
                sum += msg.len() as u32 & 0xffff;
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                sum = add_bytes(sum, &s.octets());
                sum = add_bytes(sum, &d.octets());
                let len = msg.len() as u32;
                sum += len >> 16;
                sum += len & 0xffff;
                sum += u32::from(IPPROTO_VRRP);
            }
            _ => {}
        }
    }
    sum = add_bytes(sum, msg);
    fold(sum)
}

/// One's-complement sum of 16-bit big-endian words (odd tail padded with zero).
pub(crate) fn add_bytes(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

pub(crate) fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The fields of an IPv4 header the receive path needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    pub header_len: usize,
    pub total_len: usize,
    pub ttl: u8,
    pub protocol: u8,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
}

impl Ipv4Header {
    /// Reads an IPv4 header; never panics.
    pub fn parse(data: &[u8]) -> Result<Ipv4Header, DecodeError> {
        if data.len() < 20 || data[0] >> 4 != 4 {
            return Err(DecodeError::NotVrrpIpv4);
        }
        let header_len = usize::from(data[0] & 0x0f) * 4;
        let total_len = usize::from(u16::from_be_bytes([data[2], data[3]]));
        if header_len < 20 || total_len < header_len || data.len() < total_len {
            return Err(DecodeError::Truncated {
                need: total_len.max(header_len),
                have: data.len(),
            });
        }
        Ok(Ipv4Header {
            header_len,
            total_len,
            ttl: data[8],
            protocol: data[9],
            src: Ipv4Addr::new(data[12], data[13], data[14], data[15]),
            dst: Ipv4Addr::new(data[16], data[17], data[18], data[19]),
        })
    }
}

/// The fields of an IPv6 header the receive path needs (no extension headers: VRRP is
/// sent with none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Header {
    pub payload_len: usize,
    pub next_header: u8,
    pub hop_limit: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
}

impl Ipv6Header {
    pub const LEN: usize = 40;

    /// Reads an IPv6 header; never panics.
    pub fn parse(data: &[u8]) -> Result<Ipv6Header, DecodeError> {
        if data.len() < Self::LEN || data[0] >> 4 != 6 {
            return Err(DecodeError::Truncated {
                need: Self::LEN,
                have: data.len(),
            });
        }
        let payload_len = usize::from(u16::from_be_bytes([data[4], data[5]]));
        if data.len() < Self::LEN + payload_len {
            return Err(DecodeError::Truncated {
                need: Self::LEN + payload_len,
                have: data.len(),
            });
        }
        let mut s = [0u8; 16];
        let mut d = [0u8; 16];
        s.copy_from_slice(&data[8..24]);
        d.copy_from_slice(&data[24..40]);
        Ok(Ipv6Header {
            payload_len,
            next_header: data[6],
            hop_limit: data[7],
            src: Ipv6Addr::from(s),
            dst: Ipv6Addr::from(d),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // keepalived 2.2.7, vrrp-keepalived-v2.pcapng frame 1 (captures/vrrp-v2-adverts.txt):
    // VRRPv2 advert from 10.99.0.21 to 224.0.0.18, VRID 51, prio 100, VIP 10.99.0.200.
    #[rustfmt::skip]
    const KA_V2_FRAME1: [u8; 54] = [
        0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x3a, 0x1c, 0x94, 0x87, 0xd0, 0xcf, 0x08, 0x00, 0x45, 0xc0,
        0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x1a, 0x0a, 0x63, 0x00, 0x15, 0xe0, 0x00,
        0x00, 0x12, 0x21, 0x33, 0x64, 0x01, 0x00, 0x01, 0x6f, 0x9f, 0x0a, 0x63, 0x00, 0xc8, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    // keepalived 2.2.7, priority-0 advert sent on SIGTERM (captures/vrrp-v2-prio0.txt, frame 11).
    #[rustfmt::skip]
    const KA_V2_PRIO0_FRAME11: [u8; 54] = [
        0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x3a, 0x1c, 0x94, 0x87, 0xd0, 0xcf, 0x08, 0x00, 0x45, 0xc0,
        0x00, 0x28, 0x00, 0x04, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x17, 0x0a, 0x63, 0x00, 0x15, 0xe0, 0x00,
        0x00, 0x12, 0x21, 0x33, 0x00, 0x01, 0x00, 0x01, 0xd3, 0x9f, 0x0a, 0x63, 0x00, 0xc8, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    // keepalived 2.2.7 VRRPv3 with use_vmac (captures/vrrp-v3-vmac-adverts.txt, frame 1):
    // source MAC 00:00:5e:00:01:33, VRID 51, prio 100, max adver int 100 cs, VIP 10.99.0.200.
    #[rustfmt::skip]
    const KA_V3_VMAC_FRAME1: [u8; 46] = [
        0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x00, 0x45, 0xc0,
        0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x22, 0x0a, 0x63, 0x00, 0x15, 0xe0, 0x00,
        0x00, 0x12, 0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0x74, 0x35, 0x0a, 0x63, 0x00, 0xc8,
    ];

    const ETH: usize = 14;

    fn decode_frame(frame: &[u8]) -> (Ipv4Header, Repr, bool) {
        let ip = Ipv4Header::parse(&frame[ETH..]).expect("ip header");
        let payload = &frame[ETH + ip.header_len..ETH + ip.total_len];
        let pkt = Packet::new_checked(payload).expect("vrrp header");
        let repr = Repr::parse(&pkt, Family::V4).expect("advert");
        let ok = pkt.verify_checksum(ip.src.into(), ip.dst.into(), false);
        (ip, repr, ok)
    }

    #[test]
    fn golden_keepalived_v2_advert() {
        let (ip, repr, ok) = decode_frame(&KA_V2_FRAME1);
        assert_eq!(ip.ttl, 255);
        assert_eq!(ip.protocol, IPPROTO_VRRP);
        assert_eq!(ip.src, Ipv4Addr::new(10, 99, 0, 21));
        assert_eq!(ip.dst, MCAST_V4);
        assert!(ok, "checksum 0x6f9f verifies");
        assert_eq!(
            repr,
            Repr {
                version: Version::V2,
                vrid: 51,
                priority: 100,
                adver_int: 1,
                auth: Auth::None,
                addresses: vec!["10.99.0.200".parse().unwrap()],
            }
        );
        assert_eq!(repr.interval(), Duration::from_secs(1));
        // Emitting gives keepalived's bytes back (including the 8 zero auth bytes).
        let bytes = repr.to_bytes(ip.src.into(), ip.dst.into(), false);
        assert_eq!(&bytes[..], &KA_V2_FRAME1[ETH + 20..]);
    }

    #[test]
    fn golden_keepalived_v2_priority_zero() {
        let (ip, repr, ok) = decode_frame(&KA_V2_PRIO0_FRAME11);
        assert!(ok, "checksum 0xd39f verifies");
        assert_eq!(repr.priority, 0);
        assert_eq!(repr.vrid, 51);
        let bytes = repr.to_bytes(ip.src.into(), ip.dst.into(), false);
        assert_eq!(&bytes[..], &KA_V2_PRIO0_FRAME11[ETH + 20..]);
    }

    #[test]
    fn golden_keepalived_v3_vmac_advert() {
        let (ip, repr, ok) = decode_frame(&KA_V3_VMAC_FRAME1);
        assert!(
            ok,
            "v3 checksum 0x7435 verifies with the IPv4 pseudo-header"
        );
        assert_eq!(
            &KA_V3_VMAC_FRAME1[6..12],
            &[0, 0, 0x5e, 0, 1, 51],
            "vMAC source"
        );
        assert_eq!(
            repr,
            Repr {
                version: Version::V3,
                vrid: 51,
                priority: 100,
                adver_int: 100,
                auth: Auth::None,
                addresses: vec!["10.99.0.200".parse().unwrap()],
            }
        );
        assert_eq!(repr.interval(), Duration::from_secs(1));
        let bytes = repr.to_bytes(ip.src.into(), ip.dst.into(), false);
        assert_eq!(&bytes[..], &KA_V3_VMAC_FRAME1[ETH + 20..]);
        // The same advert summed as v2 (keepalived's v3_checksum_as_v2) does not verify
        // against the pseudo-header checksum, and vice versa.
        let pkt = Packet::new_checked(&KA_V3_VMAC_FRAME1[ETH + 20..]).unwrap();
        assert!(!pkt.verify_checksum(ip.src.into(), ip.dst.into(), true));
        let as_v2 = repr.to_bytes(ip.src.into(), ip.dst.into(), true);
        assert!(Packet::new_checked(&as_v2[..]).unwrap().verify_checksum(
            ip.src.into(),
            ip.dst.into(),
            true
        ));
    }

    #[test]
    fn v3_ipv6_round_trip_and_checksum() {
        let src: IpAddr = "fe80::1".parse().unwrap();
        let dst: IpAddr = MCAST_V6.into();
        let repr = Repr {
            version: Version::V3,
            vrid: 7,
            priority: 255,
            adver_int: 5,
            auth: Auth::None,
            addresses: vec![
                "2001:db8::1".parse().unwrap(),
                "2001:db8::2".parse().unwrap(),
            ],
        };
        let bytes = repr.to_bytes(src, dst, false);
        assert_eq!(bytes.len(), 8 + 32);
        let pkt = Packet::new_checked(&bytes[..]).unwrap();
        assert!(pkt.verify_checksum(src, dst, false));
        // v3_checksum_as_v2 applies to IPv4 only: IPv6 always uses the pseudo-header.
        assert!(pkt.verify_checksum(src, dst, true));
        assert!(!pkt.verify_checksum("fe80::2".parse().unwrap(), dst, false));
        assert_eq!(Repr::parse(&pkt, Family::V6).unwrap(), repr);
        assert_eq!(repr.interval(), Duration::from_millis(50));
    }

    #[test]
    fn v2_password_round_trip() {
        let repr = Repr {
            version: Version::V2,
            vrid: 1,
            priority: 150,
            adver_int: 3,
            auth: Auth::password("secret123"),
            addresses: vec!["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()],
        };
        assert_eq!(repr.auth, Auth::Password(*b"secret12"));
        let (s, d) = ("192.0.2.10".parse().unwrap(), MCAST_V4.into());
        let bytes = repr.to_bytes(s, d, false);
        assert_eq!(&bytes[16..24], b"secret12");
        let pkt = Packet::new_checked(&bytes[..]).unwrap();
        assert!(pkt.verify_checksum(s, d, false));
        assert_eq!(Repr::parse(&pkt, Family::V4).unwrap(), repr);
    }

    #[test]
    fn rejects_bad_headers() {
        let mut b = KA_V2_FRAME1[ETH + 20..].to_vec();
        assert!(matches!(
            Packet::new_checked(&b[..5]),
            Err(DecodeError::Truncated { need: 8, have: 5 })
        ));
        let pkt = Packet::new_checked(&b[..12]).unwrap();
        assert!(matches!(
            Repr::parse(&pkt, Family::V4),
            Err(DecodeError::Truncated { need: 20, have: 12 })
        ));
        b[0] = 0x41;
        assert_eq!(
            Repr::parse(&Packet::new_checked(&b[..]).unwrap(), Family::V4),
            Err(DecodeError::BadVersion(4))
        );
        b[0] = 0x22;
        assert_eq!(
            Repr::parse(&Packet::new_checked(&b[..]).unwrap(), Family::V4),
            Err(DecodeError::BadType(2))
        );
        b[0] = 0x21;
        assert_eq!(
            Repr::parse(&Packet::new_checked(&b[..]).unwrap(), Family::V6),
            Err(DecodeError::V2OverIpv6)
        );
        b[2] = 99; // priority changed: checksum no longer matches
        let pkt = Packet::new_checked(&b[..]).unwrap();
        assert!(!pkt.verify_checksum("10.99.0.21".parse().unwrap(), MCAST_V4.into(), false));
    }

    proptest! {
        #[test]
        fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600), v6 in any::<bool>()) {
            let family = if v6 { Family::V6 } else { Family::V4 };
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = p.verify_checksum("10.0.0.1".parse().unwrap(), MCAST_V4.into(), false);
                if let Ok(repr) = Repr::parse(&p, family) {
                    // Anything we accept re-emits to a message we accept identically.
                    let (s, d): (IpAddr, IpAddr) = if v6 {
                        ("fe80::1".parse().unwrap(), MCAST_V6.into())
                    } else {
                        ("10.0.0.1".parse().unwrap(), MCAST_V4.into())
                    };
                    let bytes = repr.to_bytes(s, d, false);
                    let again = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap(), family).unwrap();
                    prop_assert_eq!(again, repr);
                }
            }
            let _ = Ipv4Header::parse(&data);
            let _ = Ipv6Header::parse(&data);
        }

        #[test]
        fn round_trip(vrid in any::<u8>(), prio in any::<u8>(), int in 0u16..4096,
                      v3 in any::<bool>(), addrs in proptest::collection::vec(any::<[u8; 4]>(), 0..20)) {
            let repr = Repr {
                version: if v3 { Version::V3 } else { Version::V2 },
                vrid, priority: prio,
                adver_int: if v3 { int } else { int % 256 },
                auth: Auth::None,
                addresses: addrs.iter().map(|a| IpAddr::from(*a)).collect(),
            };
            let (s, d) = ("10.0.0.1".parse().unwrap(), MCAST_V4.into());
            let bytes = repr.to_bytes(s, d, false);
            prop_assert_eq!(bytes.len(), repr.buffer_len());
            let p = Packet::new_checked(&bytes[..]).unwrap();
            prop_assert!(p.verify_checksum(s, d, false));
            prop_assert_eq!(Repr::parse(&p, Family::V4).unwrap(), repr);
        }
    }
}
