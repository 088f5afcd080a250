//! Authentication (RFC 2328 Appendix D): null (AuType 0), simple password (1) and
//! keyed MD5 (2) with the cryptographic sequence number.
//!
//! MD5 layout of the 64-bit auth field: `0x0000 | Key ID | Auth Data Len (16) | Crypto seq`;
//! the 16-byte digest `MD5(packet || key padded to 16)` follows the packet and is not
//! counted in the length field; the OSPF checksum is not computed (left 0).

use md5::{Digest, Md5};
use serde::{Serialize, Serializer};

use super::{ospf_checksum, DecodeError, Packet};

pub const AUTYPE_NULL: u16 = 0;
pub const AUTYPE_SIMPLE: u16 = 1;
pub const AUTYPE_CRYPTO: u16 = 2;
pub const MD5_DIGEST_LEN: usize = 16;

/// Per-interface authentication settings.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum AuthConfig {
    #[default]
    None,
    /// Simple password, NUL-padded to 8 bytes.
    Simple([u8; 8]),
    /// Keyed MD5; the key is NUL-padded to 16 bytes.
    Md5 { key_id: u8, key: [u8; 16] },
}

impl std::fmt::Debug for AuthConfig {
    // Never print secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthConfig::None => write!(f, "None"),
            AuthConfig::Simple(_) => write!(f, "Simple(..)"),
            AuthConfig::Md5 { key_id, .. } => write!(f, "Md5 {{ key_id: {key_id}, .. }}"),
        }
    }
}

impl Serialize for AuthConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            AuthConfig::None => "none",
            AuthConfig::Simple(_) => "simple",
            AuthConfig::Md5 { .. } => "md5",
        })
    }
}

impl AuthConfig {
    /// Builds a simple-password config from a string (truncated/padded to 8 bytes).
    pub fn simple(password: &str) -> Self {
        let mut k = [0u8; 8];
        let b = password.as_bytes();
        let n = b.len().min(8);
        k[..n].copy_from_slice(&b[..n]);
        AuthConfig::Simple(k)
    }

    /// Builds an MD5 config from a string key (truncated/padded to 16 bytes).
    pub fn md5(key_id: u8, key: &str) -> Self {
        let mut k = [0u8; 16];
        let b = key.as_bytes();
        let n = b.len().min(16);
        k[..n].copy_from_slice(&b[..n]);
        AuthConfig::Md5 { key_id, key: k }
    }

    pub fn auth_type(&self) -> u16 {
        match self {
            AuthConfig::None => AUTYPE_NULL,
            AuthConfig::Simple(_) => AUTYPE_SIMPLE,
            AuthConfig::Md5 { .. } => AUTYPE_CRYPTO,
        }
    }

    /// Bytes appended after the OSPF packet (the MD5 digest).
    pub fn trailer_len(&self) -> usize {
        match self {
            AuthConfig::Md5 { .. } => MD5_DIGEST_LEN,
            _ => 0,
        }
    }
}

fn md5_digest(packet: &[u8], key: &[u8; 16]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(packet);
    h.update(key);
    h.finalize().into()
}

/// Verifies authentication and checksum of a length-checked packet.
/// Returns the cryptographic sequence number for MD5.
pub fn verify<T: AsRef<[u8]>>(
    packet: &Packet<T>,
    auth: &AuthConfig,
) -> Result<Option<u32>, DecodeError> {
    let got = packet.auth_type();
    if got != auth.auth_type() {
        return Err(DecodeError::AuthTypeMismatch {
            got,
            want: auth.auth_type(),
        });
    }
    match auth {
        AuthConfig::None => {
            if !packet.verify_checksum() {
                return Err(DecodeError::BadChecksum);
            }
            Ok(None)
        }
        AuthConfig::Simple(key) => {
            if packet.auth_data() != key {
                return Err(DecodeError::BadPassword);
            }
            if !packet.verify_checksum() {
                return Err(DecodeError::BadChecksum);
            }
            Ok(None)
        }
        AuthConfig::Md5 { key_id, key } => {
            let a = packet.auth_data();
            if a[2] != *key_id {
                return Err(DecodeError::BadKeyId(a[2]));
            }
            if a[3] as usize != MD5_DIGEST_LEN {
                return Err(DecodeError::BadAuthDataLen(a[3]));
            }
            let seq = u32::from_be_bytes([a[4], a[5], a[6], a[7]]);
            let trailer = packet.trailer();
            if trailer.len() < MD5_DIGEST_LEN {
                return Err(DecodeError::Truncated {
                    need: packet.length() as usize + MD5_DIGEST_LEN,
                    have: packet.length() as usize + trailer.len(),
                });
            }
            let digest = md5_digest(packet.packet_bytes(), key);
            if trailer[..MD5_DIGEST_LEN] != digest {
                return Err(DecodeError::BadDigest);
            }
            Ok(Some(seq))
        }
    }
}

/// Fills checksum and authentication of an emitted packet. `buf` holds the packet followed by
/// `auth.trailer_len()` spare bytes.
pub fn apply(buf: &mut [u8], auth: &AuthConfig, crypto_seq: u32) {
    let len = {
        let p = Packet::new_unchecked(&buf[..]);
        p.length() as usize
    };
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_auth_type(auth.auth_type());
    match auth {
        AuthConfig::None => {
            p.auth_data_mut().fill(0);
            p.set_checksum(0);
            let c = ospf_checksum(&buf[..len]);
            Packet::new_unchecked(&mut buf[..]).set_checksum(c);
        }
        AuthConfig::Simple(key) => {
            p.set_checksum(0);
            let c = ospf_checksum(&buf[..len]);
            let mut p = Packet::new_unchecked(&mut buf[..]);
            p.set_checksum(c);
            p.auth_data_mut().copy_from_slice(key);
        }
        AuthConfig::Md5 { key_id, key } => {
            p.set_checksum(0);
            let a = p.auth_data_mut();
            a[0] = 0;
            a[1] = 0;
            a[2] = *key_id;
            a[3] = MD5_DIGEST_LEN as u8;
            a[4..8].copy_from_slice(&crypto_seq.to_be_bytes());
            let digest = md5_digest(&buf[..len], key);
            buf[len..len + MD5_DIGEST_LEN].copy_from_slice(&digest);
        }
    }
}
