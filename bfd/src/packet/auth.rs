//! BFD authentication (RFC 5880 §4.2–§4.4 formats, §6.7 procedures): simple password,
//! keyed MD5, meticulous keyed MD5, keyed SHA1 and meticulous keyed SHA1.
//!
//! ```text
//! Simple Password (§4.2)                 Keyed MD5 / SHA1 (§4.3, §4.4)
//! +-------+-------+-------+---------+    +-------+-------+-------+-------+
//! | Type  |  Len  |Key ID | Password|    | Type  |  Len  |Key ID | Rsvd  |
//! +-------+-------+-------+---------+    +-------+-------+-------+-------+
//!   Len = 3 + password (1..16 bytes)     |        Sequence Number        |
//!                                        +-------------------------------+
//!                                        | Digest (16, MD5) / Hash (20)  |
//!                                        +-------------------------------+
//!                                          Len = 24 (MD5) / 28 (SHA1)
//! ```
//!
//! Sequence-number windows (§6.7.3, §6.7.4) need session state and are checked in
//! [`crate::session`]; this module only formats, signs and verifies the bytes.

use md5::{Digest as _, Md5};
use serde::Serialize;
use sha1::Sha1;

use super::DecodeError;

/// Auth Type values (RFC 5880 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AuthType {
    SimplePassword = 1,
    KeyedMd5 = 2,
    MeticulousKeyedMd5 = 3,
    KeyedSha1 = 4,
    MeticulousKeyedSha1 = 5,
}

impl AuthType {
    pub fn from_u8(v: u8) -> Option<AuthType> {
        Some(match v {
            1 => AuthType::SimplePassword,
            2 => AuthType::KeyedMd5,
            3 => AuthType::MeticulousKeyedMd5,
            4 => AuthType::KeyedSha1,
            5 => AuthType::MeticulousKeyedSha1,
            _ => return None,
        })
    }

    /// Length of the digest/hash field (§4.3: 16, §4.4: 20); 0 for simple password.
    pub fn digest_len(self) -> usize {
        match self {
            AuthType::SimplePassword => 0,
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => 16,
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => 20,
        }
    }

    /// Meticulous types require a strictly increasing sequence number on every packet
    /// (§6.7.3, §6.7.4).
    pub fn meticulous(self) -> bool {
        matches!(
            self,
            AuthType::MeticulousKeyedMd5 | AuthType::MeticulousKeyedSha1
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            AuthType::SimplePassword => "simple",
            AuthType::KeyedMd5 => "keyed_md5",
            AuthType::MeticulousKeyedMd5 => "meticulous_keyed_md5",
            AuthType::KeyedSha1 => "keyed_sha1",
            AuthType::MeticulousKeyedSha1 => "meticulous_keyed_sha1",
        }
    }
}

/// The authentication section of a packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Auth {
    /// §4.2: Auth Key ID and a 1–16 byte password.
    Simple { key_id: u8, password: Vec<u8> },
    /// §4.3 / §4.4: keyed (meticulous) MD5 or SHA1. `reserved` is zero on transmit and
    /// ignored on receipt (kept so that parse/emit round-trips).
    Crypto {
        auth_type: AuthType,
        key_id: u8,
        reserved: u8,
        seq: u32,
        digest: Vec<u8>,
    },
}

impl Auth {
    pub fn auth_type(&self) -> AuthType {
        match self {
            Auth::Simple { .. } => AuthType::SimplePassword,
            Auth::Crypto { auth_type, .. } => *auth_type,
        }
    }

    pub fn key_id(&self) -> u8 {
        match self {
            Auth::Simple { key_id, .. } | Auth::Crypto { key_id, .. } => *key_id,
        }
    }

    pub fn seq(&self) -> Option<u32> {
        match self {
            Auth::Simple { .. } => None,
            Auth::Crypto { seq, .. } => Some(*seq),
        }
    }

    /// Parses the whole authentication section (Auth Len must equal its length).
    pub fn parse(b: &[u8]) -> Result<Auth, DecodeError> {
        if b.len() < 2 {
            return Err(DecodeError::Truncated {
                need: 2,
                have: b.len(),
            });
        }
        let (ty, len) = (b[0], b[1]);
        let auth_type = AuthType::from_u8(ty).ok_or(DecodeError::UnknownAuthType(ty))?;
        let bad = DecodeError::BadAuthLength { auth_type: ty, len };
        if len as usize != b.len() {
            return Err(bad);
        }
        match auth_type {
            AuthType::SimplePassword => {
                // §4.2: the password is 1 to 16 bytes.
                if !(4..=19).contains(&len) {
                    return Err(bad);
                }
                Ok(Auth::Simple {
                    key_id: b[2],
                    password: b[3..].to_vec(),
                })
            }
            t => {
                if len as usize != 8 + t.digest_len() {
                    return Err(bad);
                }
                Ok(Auth::Crypto {
                    auth_type: t,
                    key_id: b[2],
                    reserved: b[3],
                    seq: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    digest: b[8..].to_vec(),
                })
            }
        }
    }

    pub fn buffer_len(&self) -> usize {
        match self {
            Auth::Simple { password, .. } => 3 + password.len(),
            Auth::Crypto { digest, .. } => 8 + digest.len(),
        }
    }

    /// Writes `buffer_len()` bytes; panics on a shorter buffer (output bug).
    pub fn emit(&self, b: &mut [u8]) {
        b[0] = self.auth_type() as u8;
        b[1] = self.buffer_len() as u8;
        match self {
            Auth::Simple { key_id, password } => {
                b[2] = *key_id;
                b[3..3 + password.len()].copy_from_slice(password);
            }
            Auth::Crypto {
                key_id,
                reserved,
                seq,
                digest,
                ..
            } => {
                b[2] = *key_id;
                b[3] = *reserved;
                b[4..8].copy_from_slice(&seq.to_be_bytes());
                b[8..8 + digest.len()].copy_from_slice(digest);
            }
        }
    }
}

/// Why an authenticated packet was refused (RFC 5880 §6.7.2–§6.7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, thiserror::Error)]
pub enum AuthError {
    #[error("authentication type {got} does not match the configured one")]
    TypeMismatch { got: u8 },
    #[error("key id {0} unknown")]
    KeyId(u8),
    #[error("password mismatch")]
    BadPassword,
    #[error("digest mismatch")]
    BadDigest,
}

impl AuthError {
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::TypeMismatch { .. } => "auth_type_mismatch",
            AuthError::KeyId(_) => "auth_key_id",
            AuthError::BadPassword => "bad_password",
            AuthError::BadDigest => "bad_digest",
        }
    }
}

/// A session's authentication configuration: one key (the Auth Key ID of RFC 5880
/// §4.2–§4.4 lets several be active at once; one is what BIRD's and FRR's configurations
/// usually carry).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthConfig {
    pub auth_type: AuthType,
    pub key_id: u8,
    secret: Vec<u8>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("auth_type", &self.auth_type)
            .field("key_id", &self.key_id)
            .field("secret", &"<hidden>")
            .finish()
    }
}

impl AuthConfig {
    /// The secret must fit its field: 1–16 bytes (password, MD5 key) or 1–20 (SHA1 key).
    pub fn new(auth_type: AuthType, key_id: u8, secret: &[u8]) -> Result<AuthConfig, String> {
        let max = match auth_type {
            AuthType::SimplePassword => 16,
            t => t.digest_len(),
        };
        if secret.is_empty() || secret.len() > max {
            return Err(format!(
                "{} key must be 1 to {max} bytes, not {}",
                auth_type.name(),
                secret.len()
            ));
        }
        Ok(AuthConfig {
            auth_type,
            key_id,
            secret: secret.to_vec(),
        })
    }

    /// The authentication section to put in an outgoing packet before [`AuthConfig::sign`]:
    /// for the crypto types the digest field holds the key padded with zeros (§6.7.3,
    /// §6.7.4), which `sign` then replaces by the digest of the whole packet.
    pub fn section(&self, seq: u32) -> Auth {
        match self.auth_type {
            AuthType::SimplePassword => Auth::Simple {
                key_id: self.key_id,
                password: self.secret.clone(),
            },
            t => Auth::Crypto {
                auth_type: t,
                key_id: self.key_id,
                reserved: 0,
                seq,
                digest: self.padded_key(),
            },
        }
    }

    fn padded_key(&self) -> Vec<u8> {
        let mut k = self.secret.clone();
        k.resize(self.auth_type.digest_len(), 0);
        k
    }

    fn hash(&self, bytes: &[u8]) -> Vec<u8> {
        match self.auth_type {
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => Md5::digest(bytes).to_vec(),
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => Sha1::digest(bytes).to_vec(),
            AuthType::SimplePassword => Vec::new(),
        }
    }

    /// Emits `repr` with this key's section (sequence number `seq`) and signs it.
    pub fn sign(&self, repr: &mut super::Repr, seq: u32) -> Vec<u8> {
        repr.auth = Some(self.section(seq));
        let mut out = repr.to_bytes();
        if self.auth_type != AuthType::SimplePassword {
            let d = self.hash(&out);
            let at = super::HEADER_LEN + 8;
            out[at..at + d.len()].copy_from_slice(&d);
            if let Some(Auth::Crypto { digest, .. }) = &mut repr.auth {
                *digest = d;
            }
        }
        out
    }

    /// Verifies a received packet (`bytes` = the packet up to its Length field, `auth` =
    /// its parsed section) against this key (§6.7.2 password, §6.7.3 MD5, §6.7.4 SHA1).
    /// Sequence numbers are the session's business.
    pub fn verify(&self, bytes: &[u8], auth: &Auth) -> Result<(), AuthError> {
        if auth.auth_type() != self.auth_type {
            return Err(AuthError::TypeMismatch {
                got: auth.auth_type() as u8,
            });
        }
        if auth.key_id() != self.key_id {
            return Err(AuthError::KeyId(auth.key_id()));
        }
        match auth {
            Auth::Simple { password, .. } => {
                if ct_eq(password, &self.secret) {
                    Ok(())
                } else {
                    Err(AuthError::BadPassword)
                }
            }
            Auth::Crypto { digest, .. } => {
                let at = super::HEADER_LEN + 8;
                let n = digest.len();
                if bytes.len() < at + n {
                    return Err(AuthError::BadDigest);
                }
                let mut copy = bytes.to_vec();
                copy[at..at + n].copy_from_slice(&self.padded_key());
                if ct_eq(&self.hash(&copy), digest) {
                    Ok(())
                } else {
                    Err(AuthError::BadDigest)
                }
            }
        }
    }
}

/// Comparison whose time does not depend on where the first difference is.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
