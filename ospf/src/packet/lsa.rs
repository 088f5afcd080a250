//! LSAs (RFC 2328 A.4): the 20-byte header, Router/Network/Summary/AS-external bodies,
//! unknown types kept raw, the Fletcher checksum (§12.1.7) and the comparison of
//! instances (§13.1).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            LS age             |    Options    |    LS type    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Link State ID                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Advertising Router                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     LS sequence number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         LS checksum           |             length            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::cmp::Ordering;
use std::net::Ipv4Addr;

use serde::Serialize;

use super::{DecodeError, Reader, Writer};

pub const LS_TYPE_ROUTER: u8 = 1;
pub const LS_TYPE_NETWORK: u8 = 2;
pub const LS_TYPE_SUMMARY_NET: u8 = 3;
pub const LS_TYPE_SUMMARY_ASBR: u8 = 4;
pub const LS_TYPE_EXTERNAL: u8 = 5;

/// Architectural constants (RFC 2328 Appendix B).
pub const MAX_AGE: u16 = 3600;
pub const MAX_AGE_DIFF: u16 = 900;
pub const INITIAL_SEQ: i32 = 0x8000_0001u32 as i32;
pub const MAX_SEQ: i32 = 0x7fff_ffff;

/// Router-LSA flag bits.
pub const ROUTER_FLAG_B: u8 = 0x01;
pub const ROUTER_FLAG_E: u8 = 0x02;
pub const ROUTER_FLAG_V: u8 = 0x04;

/// Router-LSA link types.
pub const LINK_P2P: u8 = 1;
pub const LINK_TRANSIT: u8 = 2;
pub const LINK_STUB: u8 = 3;
pub const LINK_VIRTUAL: u8 = 4;

/// Identity of an LSA in the LSDB: (LS type, Link State ID, Advertising Router).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LsaKey {
    pub ls_type: u8,
    pub id: Ipv4Addr,
    pub adv_rtr: Ipv4Addr,
}

impl std::fmt::Display for LsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "type{}/{}/{}", self.ls_type, self.id, self.adv_rtr)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct LsaHeader {
    pub age: u16,
    pub options: u8,
    pub ls_type: u8,
    pub id: Ipv4Addr,
    pub adv_rtr: Ipv4Addr,
    pub seq: i32,
    pub checksum: u16,
    pub length: u16,
}

impl LsaHeader {
    pub const LEN: usize = 20;

    pub fn key(&self) -> LsaKey {
        LsaKey {
            ls_type: self.ls_type,
            id: self.id,
            adv_rtr: self.adv_rtr,
        }
    }

    pub fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        Ok(LsaHeader {
            age: r.u16()?,
            options: r.u8()?,
            ls_type: r.u8()?,
            id: r.addr()?,
            adv_rtr: r.addr()?,
            seq: r.u32()? as i32,
            checksum: r.u16()?,
            length: r.u16()?,
        })
    }

    pub fn emit(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        w.u16(self.age);
        w.u8(self.options);
        w.u8(self.ls_type);
        w.addr(self.id);
        w.addr(self.adv_rtr);
        w.u32(self.seq as u32);
        w.u16(self.checksum);
        w.u16(self.length);
    }

    /// Which of two instances of the same LSA is more recent (RFC 2328 §13.1):
    /// `Greater` means `self` is newer.
    pub fn compare(&self, other: &LsaHeader) -> Ordering {
        if self.seq != other.seq {
            return self.seq.cmp(&other.seq);
        }
        if self.checksum != other.checksum {
            return self.checksum.cmp(&other.checksum);
        }
        let a_max = self.age >= MAX_AGE;
        let b_max = other.age >= MAX_AGE;
        if a_max != b_max {
            return if a_max {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        if self.age.abs_diff(other.age) > MAX_AGE_DIFF {
            // The younger one is newer.
            return other.age.cmp(&self.age);
        }
        Ordering::Equal
    }
}

/// One link of a Router-LSA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouterLink {
    pub id: Ipv4Addr,
    pub data: Ipv4Addr,
    pub link_type: u8,
    pub metric: u16,
    /// Additional TOS metrics, kept raw (TOS, 0, metric) so that they round-trip.
    pub tos: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouterLsa {
    /// The flags byte (V/E/B) and the following reserved byte.
    pub flags: u8,
    pub reserved: u8,
    pub links: Vec<RouterLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkLsa {
    pub mask: Ipv4Addr,
    pub attached: Vec<Ipv4Addr>,
}

/// Summary-LSA (type 3 and 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummaryLsa {
    pub mask: Ipv4Addr,
    /// The first TOS word: TOS 0 byte and 24-bit metric.
    pub metric: u32,
    pub tos: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalLsa {
    pub mask: Ipv4Addr,
    /// E bit (type-2 metric).
    pub e_bit: bool,
    /// Low 7 bits of the first byte, kept for round trips (TOS 0 → 0).
    pub tos_bits: u8,
    pub metric: u32,
    pub forwarding: Ipv4Addr,
    pub tag: u32,
    /// Further TOS entries (12 bytes each), raw.
    pub extra: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LsaBody {
    Router(RouterLsa),
    Network(NetworkLsa),
    Summary(SummaryLsa),
    External(ExternalLsa),
    /// Any other LS type (opaque, NSSA, ...): kept as raw bytes and flooded unchanged.
    Unknown(Vec<u8>),
}

/// A whole LSA: header and body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lsa {
    pub header: LsaHeader,
    pub body: LsaBody,
}

impl Lsa {
    /// Parses one LSA from the start of `b` (extra bytes after it are ignored).
    pub fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        let header = LsaHeader::parse(b)?;
        let len = header.length as usize;
        if len < LsaHeader::LEN {
            return Err(DecodeError::BadLsaLength(header.length));
        }
        if b.len() < len {
            return Err(DecodeError::Truncated {
                need: len,
                have: b.len(),
            });
        }
        let body = &b[LsaHeader::LEN..len];
        let body = match header.ls_type {
            LS_TYPE_ROUTER => LsaBody::Router(parse_router(body)?),
            LS_TYPE_NETWORK => LsaBody::Network(parse_network(body)?),
            LS_TYPE_SUMMARY_NET | LS_TYPE_SUMMARY_ASBR => LsaBody::Summary(parse_summary(body)?),
            LS_TYPE_EXTERNAL => LsaBody::External(parse_external(body)?),
            _ => LsaBody::Unknown(body.to_vec()),
        };
        Ok(Lsa { header, body })
    }

    pub fn body_len(&self) -> usize {
        match &self.body {
            LsaBody::Router(r) => 4 + r.links.iter().map(|l| 12 + 4 * l.tos.len()).sum::<usize>(),
            LsaBody::Network(n) => 4 + 4 * n.attached.len(),
            LsaBody::Summary(s) => 8 + 4 * s.tos.len(),
            LsaBody::External(e) => 16 + e.extra.len(),
            LsaBody::Unknown(raw) => raw.len(),
        }
    }

    /// Length as emitted (header + body); equal to `header.length` for parsed LSAs.
    pub fn buffer_len(&self) -> usize {
        LsaHeader::LEN + self.body_len()
    }

    /// Emits header and body as they are (checksum and length fields unchanged).
    pub fn emit(&self, out: &mut [u8]) {
        self.header.emit(&mut out[..LsaHeader::LEN]);
        let mut w = Writer::new(&mut out[LsaHeader::LEN..]);
        match &self.body {
            LsaBody::Router(r) => {
                w.u8(r.flags);
                w.u8(r.reserved);
                w.u16(r.links.len() as u16);
                for l in &r.links {
                    w.addr(l.id);
                    w.addr(l.data);
                    w.u8(l.link_type);
                    w.u8(l.tos.len() as u8);
                    w.u16(l.metric);
                    for t in &l.tos {
                        w.u32(*t);
                    }
                }
            }
            LsaBody::Network(n) => {
                w.addr(n.mask);
                for a in &n.attached {
                    w.addr(*a);
                }
            }
            LsaBody::Summary(s) => {
                w.addr(s.mask);
                w.u32(s.metric);
                for t in &s.tos {
                    w.u32(*t);
                }
            }
            LsaBody::External(e) => {
                w.addr(e.mask);
                let first = if e.e_bit { 0x80 } else { 0 } | (e.tos_bits & 0x7f);
                w.u32(((first as u32) << 24) | (e.metric & 0x00ff_ffff));
                w.addr(e.forwarding);
                w.u32(e.tag);
                w.bytes(&e.extra);
            }
            LsaBody::Unknown(raw) => w.bytes(raw),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v);
        v
    }

    /// Sets the length field and computes the Fletcher checksum (for origination).
    pub fn finalize(&mut self) {
        self.header.length = self.buffer_len() as u16;
        self.header.checksum = 0;
        let bytes = self.to_bytes();
        self.header.checksum = fletcher_checksum(&bytes[2..], 14);
    }

    /// Verifies the Fletcher checksum of the LSA as it would be emitted.
    pub fn verify_checksum(&self) -> bool {
        let bytes = self.to_bytes();
        lsa_checksum_ok(&bytes)
    }
}

fn parse_router(b: &[u8]) -> Result<RouterLsa, DecodeError> {
    let mut r = Reader::new(b);
    let flags = r.u8()?;
    let reserved = r.u8()?;
    let n = r.u16()?;
    let mut links = Vec::with_capacity((n as usize).min(r.remaining() / 12));
    for _ in 0..n {
        let id = r.addr()?;
        let data = r.addr()?;
        let link_type = r.u8()?;
        let ntos = r.u8()?;
        let metric = r.u16()?;
        let mut tos = Vec::with_capacity(ntos as usize);
        for _ in 0..ntos {
            tos.push(r.u32()?);
        }
        links.push(RouterLink {
            id,
            data,
            link_type,
            metric,
            tos,
        });
    }
    if r.remaining() != 0 {
        return Err(DecodeError::BadLsaBody);
    }
    Ok(RouterLsa {
        flags,
        reserved,
        links,
    })
}

fn parse_network(b: &[u8]) -> Result<NetworkLsa, DecodeError> {
    let mut r = Reader::new(b);
    let mask = r.addr()?;
    if r.remaining() % 4 != 0 {
        return Err(DecodeError::BadLsaBody);
    }
    let mut attached = Vec::with_capacity(r.remaining() / 4);
    while r.remaining() > 0 {
        attached.push(r.addr()?);
    }
    Ok(NetworkLsa { mask, attached })
}

fn parse_summary(b: &[u8]) -> Result<SummaryLsa, DecodeError> {
    let mut r = Reader::new(b);
    let mask = r.addr()?;
    let metric = r.u32()?;
    if r.remaining() % 4 != 0 {
        return Err(DecodeError::BadLsaBody);
    }
    let mut tos = Vec::with_capacity(r.remaining() / 4);
    while r.remaining() > 0 {
        tos.push(r.u32()?);
    }
    Ok(SummaryLsa { mask, metric, tos })
}

fn parse_external(b: &[u8]) -> Result<ExternalLsa, DecodeError> {
    let mut r = Reader::new(b);
    let mask = r.addr()?;
    let word = r.u32()?;
    let forwarding = r.addr()?;
    let tag = r.u32()?;
    if r.remaining() % 12 != 0 {
        return Err(DecodeError::BadLsaBody);
    }
    let extra = r.bytes(r.remaining())?.to_vec();
    let first = (word >> 24) as u8;
    Ok(ExternalLsa {
        mask,
        e_bit: first & 0x80 != 0,
        tos_bits: first & 0x7f,
        metric: word & 0x00ff_ffff,
        forwarding,
        tag,
        extra,
    })
}

/// Fletcher checksum (ISO 8473 Annex C, RFC 2328 §12.1.7) of `data` with the 2-byte checksum
/// field at `offset`; `data` starts at the LSA's Options byte (LS age excluded).
pub fn fletcher_checksum(data: &[u8], offset: usize) -> u16 {
    let (mut c0, mut c1) = (0i32, 0i32);
    for (i, b) in data.iter().enumerate() {
        let b = if i == offset || i == offset + 1 {
            0
        } else {
            *b as i32
        };
        c0 = (c0 + b) % 255;
        c1 = (c1 + c0) % 255;
    }
    let len = data.len() as i32;
    let mut x = ((len - offset as i32 - 1) * c0 - c1) % 255;
    if x <= 0 {
        x += 255;
    }
    let mut y = 510 - c0 - x;
    if y > 255 {
        y -= 255;
    }
    ((x as u16) << 8) | (y as u16 & 0xff)
}

/// True if the LSA bytes (header first) carry a correct Fletcher checksum.
pub fn lsa_checksum_ok(lsa: &[u8]) -> bool {
    if lsa.len() < LsaHeader::LEN {
        return false;
    }
    let (mut c0, mut c1) = (0u32, 0u32);
    for b in &lsa[2..] {
        c0 = (c0 + *b as u32) % 255;
        c1 = (c1 + c0) % 255;
    }
    // A zero checksum field is never valid (it means "not computed").
    c0 == 0 && c1 == 0 && (lsa[16] != 0 || lsa[17] != 0)
}
