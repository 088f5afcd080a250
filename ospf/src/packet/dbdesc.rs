//! Database Description packet body (RFC 2328 A.3.3).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Interface MTU         |    Options    |0|0|0|0|0|I|M|MS
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     DD sequence number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     An LSA Header  ...                        |
//! ```

use serde::Serialize;

use super::{DecodeError, LsaHeader, Reader, Writer};

pub const FLAG_MS: u8 = 0x01;
pub const FLAG_M: u8 = 0x02;
pub const FLAG_I: u8 = 0x04;
const FIXED_LEN: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbDesc {
    pub mtu: u16,
    pub options: u8,
    /// I/M/MS bits (the whole byte is kept so that emit reproduces it).
    pub flags: u8,
    pub seq: u32,
    pub lsa_headers: Vec<LsaHeader>,
}

impl DbDesc {
    pub fn is_init(&self) -> bool {
        self.flags & FLAG_I != 0
    }
    pub fn is_more(&self) -> bool {
        self.flags & FLAG_M != 0
    }
    pub fn is_master(&self) -> bool {
        self.flags & FLAG_MS != 0
    }

    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let mtu = r.u16()?;
        let options = r.u8()?;
        let flags = r.u8()?;
        let seq = r.u32()?;
        if r.remaining() % LsaHeader::LEN != 0 {
            return Err(DecodeError::BadLength((FIXED_LEN + r.remaining()) as u16));
        }
        let mut lsa_headers = Vec::with_capacity(r.remaining() / LsaHeader::LEN);
        while r.remaining() > 0 {
            lsa_headers.push(LsaHeader::parse(r.bytes(LsaHeader::LEN)?)?);
        }
        Ok(DbDesc {
            mtu,
            options,
            flags,
            seq,
            lsa_headers,
        })
    }

    pub fn buffer_len(&self) -> usize {
        FIXED_LEN + LsaHeader::LEN * self.lsa_headers.len()
    }

    pub fn emit(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        w.u16(self.mtu);
        w.u8(self.options);
        w.u8(self.flags);
        w.u32(self.seq);
        for h in &self.lsa_headers {
            let mut b = [0u8; LsaHeader::LEN];
            h.emit(&mut b);
            w.bytes(&b);
        }
    }
}
