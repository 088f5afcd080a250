//! Hello packet body (RFC 2328 A.3.2).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Network Mask                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         HelloInterval         |    Options    |    Rtr Pri    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     RouterDeadInterval                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Designated Router                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Backup Designated Router                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                          Neighbor  ...                        |
//! ```

use std::net::Ipv4Addr;

use serde::Serialize;

use super::{DecodeError, Reader, Writer};

const FIXED_LEN: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hello {
    pub network_mask: Ipv4Addr,
    pub hello_interval: u16,
    pub options: u8,
    pub priority: u8,
    pub dead_interval: u32,
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    pub neighbors: Vec<Ipv4Addr>,
}

impl Hello {
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let network_mask = r.addr()?;
        let hello_interval = r.u16()?;
        let options = r.u8()?;
        let priority = r.u8()?;
        let dead_interval = r.u32()?;
        let dr = r.addr()?;
        let bdr = r.addr()?;
        if r.remaining() % 4 != 0 {
            return Err(DecodeError::BadLength((FIXED_LEN + r.remaining()) as u16));
        }
        let mut neighbors = Vec::with_capacity(r.remaining() / 4);
        while r.remaining() > 0 {
            neighbors.push(r.addr()?);
        }
        Ok(Hello {
            network_mask,
            hello_interval,
            options,
            priority,
            dead_interval,
            dr,
            bdr,
            neighbors,
        })
    }

    pub fn buffer_len(&self) -> usize {
        FIXED_LEN + 4 * self.neighbors.len()
    }

    pub fn emit(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        w.addr(self.network_mask);
        w.u16(self.hello_interval);
        w.u8(self.options);
        w.u8(self.priority);
        w.u32(self.dead_interval);
        w.addr(self.dr);
        w.addr(self.bdr);
        for n in &self.neighbors {
            w.addr(*n);
        }
    }
}
