//! Link State Update packet body (RFC 2328 A.3.5): a 32-bit count, then that many LSAs.

use serde::Serialize;

use super::{DecodeError, Lsa, Reader};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LsUpdate {
    pub lsas: Vec<Lsa>,
}

impl LsUpdate {
    /// Parses every LSA. A structurally bad LSA (length, body) fails the whole packet, since
    /// the LSAs after it cannot be located; LSA checksums are checked by the receiver (§13 (1)).
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let count = r.u32()?;
        // Each LSA is at least 20 bytes: bound the allocation by what the packet can hold.
        let mut lsas = Vec::with_capacity((count as usize).min(r.remaining() / 20));
        for _ in 0..count {
            let rest = &body[body.len() - r.remaining()..];
            let lsa = Lsa::parse(rest)?;
            r.bytes(lsa.header.length as usize)?;
            lsas.push(lsa);
        }
        Ok(LsUpdate { lsas })
    }

    pub fn buffer_len(&self) -> usize {
        4 + self.lsas.iter().map(|l| l.buffer_len()).sum::<usize>()
    }

    pub fn emit(&self, out: &mut [u8]) {
        out[..4].copy_from_slice(&(self.lsas.len() as u32).to_be_bytes());
        let mut pos = 4;
        for l in &self.lsas {
            let n = l.buffer_len();
            l.emit(&mut out[pos..pos + n]);
            pos += n;
        }
    }
}
