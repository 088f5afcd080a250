//! Decode errors of the BFD codec: small, `Clone + Eq + Serialize`, so they can key the
//! per-reason drop counters and be asserted in tests.

use serde::Serialize;

/// Why a received BFD Control packet was rejected by the codec (RFC 5880 §6.8.6, first
/// checks, and §6.7 authentication).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, thiserror::Error)]
pub enum DecodeError {
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    #[error("BFD version {0} (only 1 is defined)")]
    BadVersion(u8),
    #[error("length field {0} inconsistent with the packet")]
    BadLength(u8),
    #[error("unknown authentication type {0}")]
    UnknownAuthType(u8),
    #[error("authentication length {len} invalid for type {auth_type}")]
    BadAuthLength { auth_type: u8, len: u8 },
}

impl DecodeError {
    /// Stable snake_case name used as the key of the drop counters.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::BadVersion(_) => "bad_version",
            DecodeError::BadLength(_) => "bad_length",
            DecodeError::UnknownAuthType(_) => "unknown_auth_type",
            DecodeError::BadAuthLength { .. } => "bad_auth_length",
        }
    }
}
