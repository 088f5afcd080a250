//! OSPFv2 packet codec (RFC 2328 Appendix A): the 24-byte header as a zero-copy view, one
//! `Repr` per packet type, LSAs, checksums and authentication.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Version #   |     Type      |         Packet length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                          Router ID                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Area ID                             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |             AuType            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Authentication (64 bits)                |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! # Panic contract (as smoltcp's `wire`)
//! - `Packet::new_checked` verifies the buffer length against the header and its length field;
//!   after it succeeds no accessor panics. `new_unchecked` is for output buffers only.
//! - Every `parse` returns `Err(DecodeError)` on any malformed input and never panics
//!   (tested by a proptest over arbitrary bytes and by the `ospf_packet` fuzz target).
//! - Every `emit` writes exactly `buffer_len()` bytes and never panics on a buffer of at
//!   least that size. Whatever `parse` accepts, `emit` reproduces byte for byte.
//!
//! Use [`decode`] on received bytes (header, authentication, checksum, body) and [`encode`]
//! to produce bytes ready for the socket.

pub mod auth;
pub mod dbdesc;
mod error;
pub mod hello;
pub mod lsa;
pub mod lsack;
pub mod lsreq;
pub mod lsupd;

use std::net::Ipv4Addr;

use serde::Serialize;

pub use auth::AuthConfig;
pub use dbdesc::DbDesc;
pub use error::DecodeError;
pub(crate) use error::{Reader, Writer};
pub use hello::Hello;
pub use lsa::{Lsa, LsaBody, LsaHeader, LsaKey};
pub use lsack::LsAck;
pub use lsreq::LsRequest;
pub use lsupd::LsUpdate;

/// Length of the OSPF packet header.
pub const HEADER_LEN: usize = 24;
/// OSPF options: E bit (external routing capability).
pub const OPTION_E: u8 = 0x02;

mod field {
    use std::ops::Range;
    pub const VERSION: usize = 0;
    pub const TYPE: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const ROUTER_ID: Range<usize> = 4..8;
    pub const AREA_ID: Range<usize> = 8..12;
    pub const CHECKSUM: Range<usize> = 12..14;
    pub const AUTYPE: Range<usize> = 14..16;
    pub const AUTH: Range<usize> = 16..24;
}

/// Zero-copy view of an OSPF packet (header + body, possibly followed by an MD5 digest).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Checks that the buffer holds the header and as many bytes as the length field says.
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
        let len = self.length();
        if (len as usize) < HEADER_LEN || len as usize > have {
            return Err(DecodeError::BadLength(len));
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, r: std::ops::Range<usize>) -> u16 {
        let d = &self.buffer.as_ref()[r];
        u16::from_be_bytes([d[0], d[1]])
    }

    fn addr_at(&self, r: std::ops::Range<usize>) -> Ipv4Addr {
        let d = &self.buffer.as_ref()[r];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION]
    }
    #[inline]
    pub fn packet_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }
    #[inline]
    pub fn length(&self) -> u16 {
        self.u16_at(field::LENGTH)
    }
    #[inline]
    pub fn router_id(&self) -> Ipv4Addr {
        self.addr_at(field::ROUTER_ID)
    }
    #[inline]
    pub fn area_id(&self) -> Ipv4Addr {
        self.addr_at(field::AREA_ID)
    }
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }
    #[inline]
    pub fn auth_type(&self) -> u16 {
        self.u16_at(field::AUTYPE)
    }
    #[inline]
    pub fn auth_data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::AUTH]
    }

    /// The OSPF packet proper: header and body, without a trailing MD5 digest.
    pub fn packet_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.length() as usize]
    }

    /// The body after the header, up to the length field.
    pub fn body(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.length() as usize]
    }

    /// Bytes after the length field (the MD5 digest when cryptographic auth is used).
    pub fn trailer(&self) -> &[u8] {
        &self.buffer.as_ref()[self.length() as usize..]
    }

    /// Standard IP checksum of the packet, excluding the 64-bit authentication field.
    pub fn verify_checksum(&self) -> bool {
        ospf_checksum(self.packet_bytes()) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version(&mut self, v: u8) {
        self.buffer.as_mut()[field::VERSION] = v;
    }
    pub fn set_packet_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::TYPE] = v;
    }
    pub fn set_length(&mut self, v: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_router_id(&mut self, v: Ipv4Addr) {
        self.buffer.as_mut()[field::ROUTER_ID].copy_from_slice(&v.octets());
    }
    pub fn set_area_id(&mut self, v: Ipv4Addr) {
        self.buffer.as_mut()[field::AREA_ID].copy_from_slice(&v.octets());
    }
    pub fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_auth_type(&mut self, v: u16) {
        self.buffer.as_mut()[field::AUTYPE].copy_from_slice(&v.to_be_bytes());
    }
    pub fn auth_data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::AUTH]
    }
    pub fn body_mut(&mut self) -> &mut [u8] {
        let len = self.length() as usize;
        &mut self.buffer.as_mut()[HEADER_LEN..len]
    }

    /// Computes the checksum (auth field excluded) and stores it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let len = self.length() as usize;
        let c = ospf_checksum(&self.buffer.as_ref()[..len]);
        self.set_checksum(c);
    }
}

/// Internet checksum over an OSPF packet, skipping the 8-byte authentication field (§D.4.1).
/// Returns 0 for a packet whose checksum field is correct.
pub fn ospf_checksum(packet: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut i = 0;
    while i < packet.len() {
        if !(field::AUTH.start..field::AUTH.end).contains(&i) {
            let hi = packet[i] as u32;
            let lo = packet.get(i + 1).copied().unwrap_or(0) as u32;
            sum += (hi << 8) | lo;
        }
        i += 2;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// OSPF packet types (header byte 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PacketType {
    Hello = 1,
    DbDesc = 2,
    LsRequest = 3,
    LsUpdate = 4,
    LsAck = 5,
}

impl PacketType {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => PacketType::Hello,
            2 => PacketType::DbDesc,
            3 => PacketType::LsRequest,
            4 => PacketType::LsUpdate,
            5 => PacketType::LsAck,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            PacketType::Hello => "hello",
            PacketType::DbDesc => "dbdesc",
            PacketType::LsRequest => "lsreq",
            PacketType::LsUpdate => "lsupd",
            PacketType::LsAck => "lsack",
        }
    }
}

/// The body of an OSPF packet, by type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Body {
    Hello(Hello),
    DbDesc(DbDesc),
    LsRequest(LsRequest),
    LsUpdate(LsUpdate),
    LsAck(LsAck),
}

impl Body {
    pub fn packet_type(&self) -> PacketType {
        match self {
            Body::Hello(_) => PacketType::Hello,
            Body::DbDesc(_) => PacketType::DbDesc,
            Body::LsRequest(_) => PacketType::LsRequest,
            Body::LsUpdate(_) => PacketType::LsUpdate,
            Body::LsAck(_) => PacketType::LsAck,
        }
    }

    fn buffer_len(&self) -> usize {
        match self {
            Body::Hello(b) => b.buffer_len(),
            Body::DbDesc(b) => b.buffer_len(),
            Body::LsRequest(b) => b.buffer_len(),
            Body::LsUpdate(b) => b.buffer_len(),
            Body::LsAck(b) => b.buffer_len(),
        }
    }

    fn emit(&self, out: &mut [u8]) {
        match self {
            Body::Hello(b) => b.emit(out),
            Body::DbDesc(b) => b.emit(out),
            Body::LsRequest(b) => b.emit(out),
            Body::LsUpdate(b) => b.emit(out),
            Body::LsAck(b) => b.emit(out),
        }
    }
}

/// A parsed OSPF packet (header fields that matter + body); authentication is handled by
/// [`decode`]/[`encode`] around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacketRepr {
    pub router_id: Ipv4Addr,
    pub area_id: Ipv4Addr,
    pub body: Body,
}

impl PacketRepr {
    /// Parses header and body. Does not look at checksum or authentication (see [`decode`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self, DecodeError> {
        if packet.version() != 2 {
            return Err(DecodeError::BadVersion(packet.version()));
        }
        let ty = PacketType::from_u8(packet.packet_type())
            .ok_or(DecodeError::BadPacketType(packet.packet_type()))?;
        let body = packet.body();
        let body = match ty {
            PacketType::Hello => Body::Hello(Hello::parse(body)?),
            PacketType::DbDesc => Body::DbDesc(DbDesc::parse(body)?),
            PacketType::LsRequest => Body::LsRequest(LsRequest::parse(body)?),
            PacketType::LsUpdate => Body::LsUpdate(LsUpdate::parse(body)?),
            PacketType::LsAck => Body::LsAck(LsAck::parse(body)?),
        };
        Ok(PacketRepr {
            router_id: packet.router_id(),
            area_id: packet.area_id(),
            body,
        })
    }

    /// Length of header + body (without any MD5 digest).
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.body.buffer_len()
    }

    /// Writes header (auth type 0, checksum 0, auth field zero) and body.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let len = self.buffer_len();
        packet.set_version(2);
        packet.set_packet_type(self.body.packet_type() as u8);
        packet.set_length(len as u16);
        packet.set_router_id(self.router_id);
        packet.set_area_id(self.area_id);
        packet.set_checksum(0);
        packet.set_auth_type(0);
        packet.auth_data_mut().fill(0);
        self.body.emit(packet.body_mut());
    }
}

/// Checks header, authentication and checksum, then parses the body.
/// Returns the packet and, with MD5 authentication, its cryptographic sequence number.
pub fn decode(bytes: &[u8], auth: &AuthConfig) -> Result<(PacketRepr, Option<u32>), DecodeError> {
    let packet = Packet::new_checked(bytes)?;
    if packet.version() != 2 {
        return Err(DecodeError::BadVersion(packet.version()));
    }
    let seq = auth::verify(&packet, auth)?;
    let repr = PacketRepr::parse(&packet)?;
    Ok((repr, seq))
}

/// Emits `repr`, then applies checksum and authentication (`crypto_seq` is used with
/// cryptographic authentication, signed with the newest key).
pub fn encode(repr: &PacketRepr, auth: &AuthConfig, crypto_seq: u32) -> Vec<u8> {
    encode_with(repr, auth, None, crypto_seq)
}

/// What goes on the wire for `repr`: one packet, or with cryptographic authentication one
/// copy per configured key (see [`auth`] on key rollover), all with `crypto_seq`.
pub fn encode_per_key(repr: &PacketRepr, auth: &AuthConfig, crypto_seq: u32) -> Vec<Vec<u8>> {
    match auth {
        AuthConfig::Crypto(keys) => keys
            .iter()
            .map(|key| encode_with(repr, auth, Some(key), crypto_seq))
            .collect(),
        _ => vec![encode(repr, auth, crypto_seq)],
    }
}

fn encode_with(
    repr: &PacketRepr,
    auth: &AuthConfig,
    key: Option<&auth::CryptoKey>,
    crypto_seq: u32,
) -> Vec<u8> {
    let trailer = match (auth, key) {
        (AuthConfig::Crypto(keys), None) => keys.newest().algorithm.digest_len(),
        (AuthConfig::Crypto(_), Some(key)) => key.algorithm.digest_len(),
        _ => 0,
    };
    let len = repr.buffer_len();
    let mut buf = vec![0u8; len + trailer];
    let mut packet = Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut packet);
    auth::apply(&mut buf, auth, key, crypto_seq);
    buf
}
