//! Authentication (RFC 2328 Appendix D, RFC 5709): null (AuType 0), simple password (1) and
//! cryptographic (2) with keyed MD5 or HMAC-SHA-1/256/384/512, several keys at once.
//!
//! Cryptographic layout of the 64-bit auth field: `0x0000 | Key ID | Auth Data Len | Crypto
//! seq`; the digest (Auth Data Len bytes) follows the packet and is not counted in the
//! length field; the OSPF checksum is not computed (left 0).
//! - Keyed MD5 (D.4.3): `MD5(packet || key NUL-padded to 16)`.
//! - HMAC-SHA (RFC 5709 §3.3): the trailer is first filled with Apad (0x878FE1F3 repeated
//!   to the hash length L), then `HMAC(Ko, packet || Apad)`, where Ko is the key
//!   NUL-padded to L bytes, or H(key) when the key is longer than L. Ko is at most L ≤ B
//!   bytes, so the `hmac` crate's own key handling (pad to the block size B) computes
//!   exactly the RFC's construction. BIRD 2.0.12 feeds longer keys to HMAC unhashed: the
//!   two agree only for keys of at most L bytes (`tests/codec.rs` proves both facts on a
//!   BIRD capture).
//!
//! Keys (RFC 2328 D.3, RFC 5709 §3.2: several keys may be valid at once): a packet is
//! accepted with any configured key its Key ID names, and every packet is sent once per
//! configured key (the way Cisco IOS rolls MD5 keys over). A receiver verifies the copy
//! signed with a key it has and drops the others: BIRD accepts any of its keys, but FRR
//! 8.4 accepts only its newest `message-digest-key` (`ospf_check_auth`), so a single
//! signing key could not stay adjacent to FRR across its switch to a new key. All copies
//! carry the same sequence number, which BIRD, FRR and this speaker accept (they drop only
//! smaller ones). With one key configured — normal operation — one copy goes out. See
//! docs/ospf.md, "Authentication", for the rollover procedure.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};

use super::{ospf_checksum, DecodeError, Packet};

pub const AUTYPE_NULL: u16 = 0;
pub const AUTYPE_SIMPLE: u16 = 1;
pub const AUTYPE_CRYPTO: u16 = 2;
pub const MD5_DIGEST_LEN: usize = 16;
/// RFC 5709 §3.3: Apad, the trailer's content while the HMAC is computed.
pub const APAD_WORD: [u8; 4] = [0x87, 0x8f, 0xe1, 0xf3];
/// The longest digest (HMAC-SHA-512).
pub const MAX_DIGEST_LEN: usize = 64;

/// A cryptographic authentication algorithm (RFC 5709 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    KeyedMd5,
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Algorithm {
    /// Bytes of digest after the packet (the Auth Data Len field).
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::KeyedMd5 => MD5_DIGEST_LEN,
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha384 => 48,
            Algorithm::HmacSha512 => 64,
        }
    }
}

/// One configured key. The secret is kept in its derived form (MD5: padded to 16 bytes;
/// HMAC: Ko) and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct CryptoKey {
    pub id: u8,
    pub algorithm: Algorithm,
    material: Vec<u8>,
}

impl CryptoKey {
    /// MD5 keys longer than 16 bytes are truncated (what BIRD and FRR do); HMAC keys
    /// longer than the hash length are hashed (RFC 5709 §3.3).
    pub fn new(id: u8, algorithm: Algorithm, secret: &[u8]) -> CryptoKey {
        let material = match algorithm {
            Algorithm::KeyedMd5 => {
                let mut k = vec![0u8; MD5_DIGEST_LEN];
                let n = secret.len().min(MD5_DIGEST_LEN);
                k[..n].copy_from_slice(&secret[..n]);
                k
            }
            _ if secret.len() <= algorithm.digest_len() => secret.to_vec(),
            Algorithm::HmacSha1 => Sha1::digest(secret).to_vec(),
            Algorithm::HmacSha256 => Sha256::digest(secret).to_vec(),
            Algorithm::HmacSha384 => Sha384::digest(secret).to_vec(),
            Algorithm::HmacSha512 => Sha512::digest(secret).to_vec(),
        };
        CryptoKey {
            id,
            algorithm,
            material,
        }
    }

    /// The digest of `signed` (the packet up to its length field, followed by
    /// `digest_len()` trailer bytes whose content this function ignores).
    fn digest(&self, packet: &[u8]) -> Vec<u8> {
        let len = self.algorithm.digest_len();
        let apad: Vec<u8> = APAD_WORD.iter().copied().cycle().take(len).collect();
        fn hmac<M: Mac + KeyInit>(key: &[u8], packet: &[u8], apad: &[u8]) -> Vec<u8> {
            let mut m = <M as KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
            m.update(packet);
            m.update(apad);
            m.finalize().into_bytes().to_vec()
        }
        match self.algorithm {
            Algorithm::KeyedMd5 => {
                let mut h = Md5::new();
                h.update(packet);
                h.update(&self.material);
                h.finalize().to_vec()
            }
            Algorithm::HmacSha1 => hmac::<Hmac<Sha1>>(&self.material, packet, &apad),
            Algorithm::HmacSha256 => hmac::<Hmac<Sha256>>(&self.material, packet, &apad),
            Algorithm::HmacSha384 => hmac::<Hmac<Sha384>>(&self.material, packet, &apad),
            Algorithm::HmacSha512 => hmac::<Hmac<Sha512>>(&self.material, packet, &apad),
        }
    }
}

impl std::fmt::Debug for CryptoKey {
    // Never print secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {{ id: {}, .. }}", self.algorithm, self.id)
    }
}

/// The keys of one interface: at least one, Key IDs unique, in configuration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoKeys {
    keys: Vec<CryptoKey>,
}

impl CryptoKeys {
    /// `None` when `keys` is empty or two keys share a Key ID.
    pub fn new(keys: Vec<CryptoKey>) -> Option<CryptoKeys> {
        let mut ids: Vec<u8> = keys.iter().map(|k| k.id).collect();
        ids.sort_unstable();
        ids.dedup();
        (!keys.is_empty() && ids.len() == keys.len()).then_some(CryptoKeys { keys })
    }

    /// The key configured last (the newest): what [`super::encode`] signs with.
    pub fn newest(&self) -> &CryptoKey {
        // `new` refuses an empty list.
        &self.keys[self.keys.len() - 1]
    }

    pub fn by_id(&self, id: u8) -> Option<&CryptoKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &CryptoKey> {
        self.keys.iter()
    }
}

/// Per-interface authentication settings.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum AuthConfig {
    #[default]
    None,
    /// Simple password, NUL-padded to 8 bytes.
    Simple([u8; 8]),
    /// Cryptographic authentication (AuType 2): keyed MD5 and/or HMAC-SHA keys.
    Crypto(CryptoKeys),
}

impl std::fmt::Debug for AuthConfig {
    // Never print secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthConfig::None => write!(f, "None"),
            AuthConfig::Simple(_) => write!(f, "Simple(..)"),
            AuthConfig::Crypto(keys) => f.debug_list().entries(keys.iter()).finish(),
        }
    }
}

impl Serialize for AuthConfig {
    /// `{"type": "none"|"simple"|"cryptographic", "keys": [{"id", "algorithm"}]}`,
    /// secrets left out.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct KeyInfo {
            id: u8,
            algorithm: Algorithm,
        }
        let mut st = s.serialize_struct("AuthConfig", 2)?;
        match self {
            AuthConfig::None => st.serialize_field("type", "none")?,
            AuthConfig::Simple(_) => st.serialize_field("type", "simple")?,
            AuthConfig::Crypto(keys) => {
                st.serialize_field("type", "cryptographic")?;
                let info: Vec<KeyInfo> = keys
                    .iter()
                    .map(|k| KeyInfo {
                        id: k.id,
                        algorithm: k.algorithm,
                    })
                    .collect();
                st.serialize_field("keys", &info)?;
            }
        }
        st.end()
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

    /// One keyed-MD5 key (truncated/padded to 16 bytes).
    pub fn md5(key_id: u8, key: &str) -> Self {
        AuthConfig::single(key_id, Algorithm::KeyedMd5, key)
    }

    /// One key of any algorithm.
    pub fn single(key_id: u8, algorithm: Algorithm, key: &str) -> Self {
        let keys = vec![CryptoKey::new(key_id, algorithm, key.as_bytes())];
        match CryptoKeys::new(keys) {
            Some(keys) => AuthConfig::Crypto(keys),
            None => unreachable!("one key is a valid key list"),
        }
    }

    pub fn auth_type(&self) -> u16 {
        match self {
            AuthConfig::None => AUTYPE_NULL,
            AuthConfig::Simple(_) => AUTYPE_SIMPLE,
            AuthConfig::Crypto(_) => AUTYPE_CRYPTO,
        }
    }

    /// Most bytes appended after an OSPF packet we send (the longest key digest).
    pub fn trailer_len(&self) -> usize {
        match self {
            AuthConfig::Crypto(keys) => keys
                .iter()
                .map(|k| k.algorithm.digest_len())
                .max()
                .unwrap_or(0),
            _ => 0,
        }
    }
}

/// Verifies authentication and checksum of a length-checked packet.
/// Returns the cryptographic sequence number for cryptographic authentication.
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
        AuthConfig::Crypto(keys) => {
            let a = packet.auth_data();
            let key = keys.by_id(a[2]).ok_or(DecodeError::BadKeyId(a[2]))?;
            let len = key.algorithm.digest_len();
            if a[3] as usize != len {
                return Err(DecodeError::BadAuthDataLen(a[3]));
            }
            let seq = u32::from_be_bytes([a[4], a[5], a[6], a[7]]);
            let trailer = packet.trailer();
            if trailer.len() < len {
                return Err(DecodeError::Truncated {
                    need: packet.length() as usize + len,
                    have: packet.length() as usize + trailer.len(),
                });
            }
            if trailer[..len] != key.digest(packet.packet_bytes())[..] {
                return Err(DecodeError::BadDigest);
            }
            Ok(Some(seq))
        }
    }
}

/// Fills checksum and authentication of an emitted packet, signing with `key` (one of
/// `auth`'s keys; ignored unless cryptographic). `buf` holds the packet followed by
/// `key.algorithm.digest_len()` spare bytes.
pub fn apply(buf: &mut [u8], auth: &AuthConfig, key: Option<&CryptoKey>, crypto_seq: u32) {
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
        AuthConfig::Crypto(keys) => {
            let key = key.unwrap_or(keys.newest());
            let digest_len = key.algorithm.digest_len();
            p.set_checksum(0);
            let a = p.auth_data_mut();
            a[0] = 0;
            a[1] = 0;
            a[2] = key.id;
            a[3] = digest_len as u8;
            a[4..8].copy_from_slice(&crypto_seq.to_be_bytes());
            let digest = key.digest(&buf[..len]);
            buf[len..len + digest_len].copy_from_slice(&digest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lists_need_a_key_and_unique_ids() {
        let k = |id| CryptoKey::new(id, Algorithm::HmacSha256, b"k");
        assert!(CryptoKeys::new(vec![]).is_none());
        assert!(CryptoKeys::new(vec![k(1), k(1)]).is_none());
        let keys = CryptoKeys::new(vec![k(1), k(2)]).unwrap();
        assert_eq!(keys.newest().id, 2, "configuration order is kept");
    }

    #[test]
    fn hmac_keys_longer_than_the_hash_are_hashed() {
        let long = [b'x'; 40];
        let k = CryptoKey::new(1, Algorithm::HmacSha1, &long);
        assert_eq!(k.material, Sha1::digest(long).to_vec());
        let within = CryptoKey::new(1, Algorithm::HmacSha512, &long);
        assert_eq!(
            within.material,
            long.to_vec(),
            "at most L bytes: used as is"
        );
    }

    #[test]
    fn debug_and_serialize_hide_secrets() {
        let auth = AuthConfig::single(3, Algorithm::HmacSha512, "hunter2");
        let text = format!("{auth:?} {}", serde_json::to_string(&auth).unwrap());
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("hmac_sha512"), "{text}");
    }
}
