//! Link State Acknowledgment packet body (RFC 2328 A.3.6): a list of LSA headers.

use serde::Serialize;

use super::{DecodeError, LsaHeader, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LsAck {
    pub lsa_headers: Vec<LsaHeader>,
}

impl LsAck {
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        if body.len() % LsaHeader::LEN != 0 {
            return Err(DecodeError::BadLength(body.len() as u16));
        }
        let mut r = Reader::new(body);
        let mut lsa_headers = Vec::with_capacity(body.len() / LsaHeader::LEN);
        while r.remaining() > 0 {
            lsa_headers.push(LsaHeader::parse(r.bytes(LsaHeader::LEN)?)?);
        }
        Ok(LsAck { lsa_headers })
    }

    pub fn buffer_len(&self) -> usize {
        LsaHeader::LEN * self.lsa_headers.len()
    }

    pub fn emit(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        for h in &self.lsa_headers {
            let mut b = [0u8; LsaHeader::LEN];
            h.emit(&mut b);
            w.bytes(&b);
        }
    }
}
