//! Decode errors of the packet codec: small, `Clone + Eq + Serialize`, so they can travel in
//! messages, be asserted in tests and key the per-reason drop counters.

use serde::Serialize;

/// Why a packet (or one LSA inside it) was rejected by the codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, thiserror::Error)]
pub enum DecodeError {
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    #[error("OSPF version {0} (only 2 is supported)")]
    BadVersion(u8),
    #[error("unknown packet type {0}")]
    BadPacketType(u8),
    #[error("length field {0} inconsistent with the packet")]
    BadLength(u16),
    #[error("bad OSPF checksum")]
    BadChecksum,
    #[error("authentication type {got} does not match the configured {want}")]
    AuthTypeMismatch { got: u16, want: u16 },
    #[error("simple password mismatch")]
    BadPassword,
    #[error("cryptographic key id {0} not configured")]
    BadKeyId(u8),
    #[error("auth data length {0} does not match the key's algorithm")]
    BadAuthDataLen(u8),
    #[error("message digest mismatch")]
    BadDigest,
    #[error("LSA length {0} invalid")]
    BadLsaLength(u16),
    #[error("LSA body malformed")]
    BadLsaBody,
}

impl DecodeError {
    /// Stable snake_case name used as the key of the drop counters.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::BadVersion(_) => "bad_version",
            DecodeError::BadPacketType(_) => "bad_packet_type",
            DecodeError::BadLength(_) => "bad_length",
            DecodeError::BadChecksum => "bad_checksum",
            DecodeError::AuthTypeMismatch { .. } => "auth_type_mismatch",
            DecodeError::BadPassword => "bad_password",
            DecodeError::BadKeyId(_) => "bad_key_id",
            DecodeError::BadAuthDataLen(_) => "bad_auth_data_len",
            DecodeError::BadDigest => "bad_digest",
            DecodeError::BadLsaLength(_) => "bad_lsa_length",
            DecodeError::BadLsaBody => "bad_lsa_body",
        }
    }
}

/// Bounds-checked cursor over a body: every read either succeeds or returns `Truncated`.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                need: self.pos + n,
                have: self.data.len(),
            });
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn addr(&mut self) -> Result<std::net::Ipv4Addr, DecodeError> {
        Ok(self.u32()?.into())
    }
}

/// Append-only writer used by `emit`: callers size the buffer with `buffer_len()` first.
pub(crate) struct Writer<'a> {
    data: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(data: &'a mut [u8]) -> Self {
        Writer { data, pos: 0 }
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.data[self.pos..self.pos + b.len()].copy_from_slice(b);
        self.pos += b.len();
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    pub(crate) fn addr(&mut self, a: std::net::Ipv4Addr) {
        self.bytes(&a.octets());
    }
}
