//! Link State Update packet body (RFC 2328 A.3.5): a 32-bit count, then that many LSAs.

use serde::Serialize;

use super::{DecodeError, Lsa, Reader};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LsUpdate {
    pub lsas: Vec<Lsa>,
}

impl LsUpdate {
    /// Parses every LSA; the announced count must account for the whole body. A structurally bad LSA (length, body) fails the whole packet, since
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
        // Bytes after the last announced LSA would be dropped on emit (and an update that
        // says "0 LSAs" but carries some would read as empty): reject, as Hello and DD do.
        if r.remaining() != 0 {
            return Err(DecodeError::BadLength(
                body.len().min(u16::MAX as usize) as u16
            ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_after_the_last_lsa_are_rejected() {
        // "0 LSAs" followed by one stray byte: found by fuzz target ospf_packet.
        assert_eq!(
            LsUpdate::parse(&[0, 0, 0, 0, 0]),
            Err(DecodeError::BadLength(5))
        );
        assert_eq!(
            LsUpdate::parse(&[0, 0, 0, 0]),
            Ok(LsUpdate { lsas: vec![] })
        );
    }

    #[test]
    fn fuzz_finding_minimal_input_round_trips_or_is_rejected() {
        let mut input = vec![0x02, 0x04, 0x00, 0x1d];
        input.extend([0u8; 25]);
        crate::fuzzing::packet(&input);
        let p = crate::packet::Packet::new_checked(&input[..]).expect("header");
        assert!(crate::packet::PacketRepr::parse(&p).is_err());
    }
}
