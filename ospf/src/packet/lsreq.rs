//! Link State Request packet body (RFC 2328 A.3.4): a list of (LS type, Link State ID,
//! Advertising Router), 12 bytes each.

use serde::Serialize;

use super::{DecodeError, LsaKey, Reader, Writer};

pub const ENTRY_LEN: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LsRequest {
    pub entries: Vec<LsaKey>,
}

impl LsRequest {
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        if body.len() % ENTRY_LEN != 0 {
            return Err(DecodeError::BadLength(body.len() as u16));
        }
        let mut r = Reader::new(body);
        let mut entries = Vec::with_capacity(body.len() / ENTRY_LEN);
        while r.remaining() > 0 {
            // The LS type is a 32-bit field whose upper bytes are zero in practice; a value
            // above 255 cannot name any LSA, so it is rejected rather than truncated.
            let ls_type = r.u32()?;
            let ls_type =
                u8::try_from(ls_type).map_err(|_| DecodeError::BadLength(body.len() as u16))?;
            let id = r.addr()?;
            let adv_rtr = r.addr()?;
            entries.push(LsaKey {
                ls_type,
                id,
                adv_rtr,
            });
        }
        Ok(LsRequest { entries })
    }

    pub fn buffer_len(&self) -> usize {
        ENTRY_LEN * self.entries.len()
    }

    pub fn emit(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        for k in &self.entries {
            w.u32(k.ls_type as u32);
            w.addr(k.id);
            w.addr(k.adv_rtr);
        }
    }
}
