//! BFD Control packet codec (RFC 5880 §4.1): the 24-byte mandatory section as a zero-copy
//! view, a `Repr` with `parse`/`emit`, and the optional authentication section (§4.2–§4.4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       My Discriminator                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Your Discriminator                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Desired Min TX Interval                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Required Min RX Interval                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Required Min Echo RX Interval                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Auth Len    |    Authentication Data...     |   (only if A)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! # Panic contract (as smoltcp's `wire`)
//! - `Packet::new_checked` verifies the buffer against the Length field (§6.8.6: at least
//!   24 bytes, 26 with the A bit, no more than the UDP payload); after it succeeds no
//!   accessor panics. `new_unchecked` is for output buffers only.
//! - `Repr::parse` returns `Err(DecodeError)` on any malformed input and never panics
//!   (proptest over arbitrary bytes and the `bfd_packet` fuzz target).
//! - `Repr::emit` writes exactly `buffer_len()` bytes. Whatever `parse` accepts, `emit`
//!   reproduces byte for byte (the bytes up to the Length field; UDP padding after it is
//!   not part of the packet).
//!
//! The checks that need session state (Detect Mult zero, M bit, My Discriminator zero, the
//! Your Discriminator rules, the A bit against the session's configuration) are reception
//! rules and live in [`crate::session`], so that each is counted under its own name.

pub mod auth;
mod error;

use serde::Serialize;

pub use auth::{Auth, AuthConfig, AuthError, AuthType};
pub use error::DecodeError;

/// Length of the mandatory section (RFC 5880 §4.1).
pub const HEADER_LEN: usize = 24;
/// The only protocol version (RFC 5880 §4.1).
pub const VERSION: u8 = 1;

mod field {
    use std::ops::Range;
    pub const VERS_DIAG: usize = 0;
    pub const FLAGS: usize = 1;
    pub const DETECT_MULT: usize = 2;
    pub const LENGTH: usize = 3;
    pub const MY_DISCR: Range<usize> = 4..8;
    pub const YOUR_DISCR: Range<usize> = 8..12;
    pub const DESIRED_MIN_TX: Range<usize> = 12..16;
    pub const REQUIRED_MIN_RX: Range<usize> = 16..20;
    pub const REQUIRED_MIN_ECHO_RX: Range<usize> = 20..24;
}

/// Flag bits of the second octet (RFC 5880 §4.1).
pub mod flags {
    pub const POLL: u8 = 0x20;
    pub const FINAL: u8 = 0x10;
    pub const CPI: u8 = 0x08;
    pub const AUTH: u8 = 0x04;
    pub const DEMAND: u8 = 0x02;
    pub const MULTIPOINT: u8 = 0x01;
}

/// Session state as carried in the Sta field (RFC 5880 §4.1, §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub enum State {
    AdminDown = 0,
    #[default]
    Down = 1,
    Init = 2,
    Up = 3,
}

impl State {
    pub fn from_bits(v: u8) -> State {
        match v & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        })
    }
}

/// Diagnostic code (RFC 5880 §4.1); values 9–31 are reserved and kept as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum Diag {
    #[default]
    None,
    ControlDetectionTimeExpired,
    EchoFunctionFailed,
    NeighborSignaledSessionDown,
    ForwardingPlaneReset,
    PathDown,
    ConcatenatedPathDown,
    AdministrativelyDown,
    ReverseConcatenatedPathDown,
    Other(u8),
}

impl Diag {
    pub fn from_bits(v: u8) -> Diag {
        match v & 0x1f {
            0 => Diag::None,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledSessionDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            n => Diag::Other(n),
        }
    }

    pub fn bits(self) -> u8 {
        match self {
            Diag::None => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFunctionFailed => 2,
            Diag::NeighborSignaledSessionDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Other(n) => n & 0x1f,
        }
    }

    /// Stable snake_case name (status output, logs).
    pub fn name(self) -> &'static str {
        match self {
            Diag::None => "none",
            Diag::ControlDetectionTimeExpired => "control_detection_time_expired",
            Diag::EchoFunctionFailed => "echo_function_failed",
            Diag::NeighborSignaledSessionDown => "neighbor_signaled_session_down",
            Diag::ForwardingPlaneReset => "forwarding_plane_reset",
            Diag::PathDown => "path_down",
            Diag::ConcatenatedPathDown => "concatenated_path_down",
            Diag::AdministrativelyDown => "administratively_down",
            Diag::ReverseConcatenatedPathDown => "reverse_concatenated_path_down",
            Diag::Other(_) => "reserved",
        }
    }
}

/// Zero-copy view of a BFD Control packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// RFC 5880 §6.8.6: the Length field must be at least 24 (26 with the A bit) and no
    /// more than the bytes received.
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<(), DecodeError> {
        let have = self.buffer.as_ref().len();
        if have < HEADER_LEN {
            return Err(DecodeError::Truncated {
                need: HEADER_LEN,
                have,
            });
        }
        let len = self.length();
        let min = if self.auth_present() {
            HEADER_LEN + 2
        } else {
            HEADER_LEN
        };
        if (len as usize) < min || len as usize > have {
            return Err(DecodeError::BadLength(len));
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u32_at(&self, r: std::ops::Range<usize>) -> u32 {
        let d = &self.buffer.as_ref()[r];
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
    }

    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERS_DIAG] >> 5
    }
    #[inline]
    pub fn diag(&self) -> Diag {
        Diag::from_bits(self.buffer.as_ref()[field::VERS_DIAG])
    }
    #[inline]
    pub fn state(&self) -> State {
        State::from_bits(self.buffer.as_ref()[field::FLAGS] >> 6)
    }
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS] & 0x3f
    }
    #[inline]
    pub fn auth_present(&self) -> bool {
        self.flags() & flags::AUTH != 0
    }
    #[inline]
    pub fn detect_mult(&self) -> u8 {
        self.buffer.as_ref()[field::DETECT_MULT]
    }
    #[inline]
    pub fn length(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }
    #[inline]
    pub fn my_discr(&self) -> u32 {
        self.u32_at(field::MY_DISCR)
    }
    #[inline]
    pub fn your_discr(&self) -> u32 {
        self.u32_at(field::YOUR_DISCR)
    }
    #[inline]
    pub fn desired_min_tx(&self) -> u32 {
        self.u32_at(field::DESIRED_MIN_TX)
    }
    #[inline]
    pub fn required_min_rx(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_RX)
    }
    #[inline]
    pub fn required_min_echo_rx(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_ECHO_RX)
    }
    /// The packet proper (up to the Length field).
    pub fn packet_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.length() as usize]
    }
    /// The authentication section (empty when the A bit is clear).
    pub fn auth_section(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.length() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version_diag(&mut self, version: u8, diag: Diag) {
        self.buffer.as_mut()[field::VERS_DIAG] = (version << 5) | diag.bits();
    }
    pub fn set_state_flags(&mut self, state: State, flags: u8) {
        self.buffer.as_mut()[field::FLAGS] = ((state as u8) << 6) | (flags & 0x3f);
    }
    pub fn set_detect_mult(&mut self, v: u8) {
        self.buffer.as_mut()[field::DETECT_MULT] = v;
    }
    pub fn set_length(&mut self, v: u8) {
        self.buffer.as_mut()[field::LENGTH] = v;
    }
    fn set_u32(&mut self, r: std::ops::Range<usize>, v: u32) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_my_discr(&mut self, v: u32) {
        self.set_u32(field::MY_DISCR, v)
    }
    pub fn set_your_discr(&mut self, v: u32) {
        self.set_u32(field::YOUR_DISCR, v)
    }
    pub fn set_desired_min_tx(&mut self, v: u32) {
        self.set_u32(field::DESIRED_MIN_TX, v)
    }
    pub fn set_required_min_rx(&mut self, v: u32) {
        self.set_u32(field::REQUIRED_MIN_RX, v)
    }
    pub fn set_required_min_echo_rx(&mut self, v: u32) {
        self.set_u32(field::REQUIRED_MIN_ECHO_RX, v)
    }
    pub fn auth_section_mut(&mut self) -> &mut [u8] {
        let len = self.length() as usize;
        &mut self.buffer.as_mut()[HEADER_LEN..len]
    }
}

/// Parsed BFD Control packet. Intervals are in microseconds, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repr {
    pub diag: Diag,
    pub state: State,
    pub poll: bool,
    pub final_: bool,
    /// C: Control Plane Independent.
    pub cpi: bool,
    pub demand: bool,
    pub multipoint: bool,
    pub detect_mult: u8,
    pub my_discr: u32,
    pub your_discr: u32,
    pub desired_min_tx: u32,
    pub required_min_rx: u32,
    pub required_min_echo_rx: u32,
    /// The authentication section; `Some` exactly when the A bit is set.
    pub auth: Option<Auth>,
}

impl Repr {
    /// Parses a checked view. The A bit and the Length field must agree with the
    /// authentication section (RFC 5880 §4.1: Length is the whole packet).
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, DecodeError> {
        p.check_len()?;
        if p.version() != VERSION {
            return Err(DecodeError::BadVersion(p.version()));
        }
        let f = p.flags();
        let auth = if f & flags::AUTH != 0 {
            Some(Auth::parse(p.auth_section())?)
        } else {
            if p.length() as usize != HEADER_LEN {
                return Err(DecodeError::BadLength(p.length()));
            }
            None
        };
        Ok(Repr {
            diag: p.diag(),
            state: p.state(),
            poll: f & flags::POLL != 0,
            final_: f & flags::FINAL != 0,
            cpi: f & flags::CPI != 0,
            demand: f & flags::DEMAND != 0,
            multipoint: f & flags::MULTIPOINT != 0,
            detect_mult: p.detect_mult(),
            my_discr: p.my_discr(),
            your_discr: p.your_discr(),
            desired_min_tx: p.desired_min_tx(),
            required_min_rx: p.required_min_rx(),
            required_min_echo_rx: p.required_min_echo_rx(),
            auth,
        })
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.auth.as_ref().map_or(0, Auth::buffer_len)
    }

    /// Writes exactly `buffer_len()` bytes (the A bit and Length follow `auth`).
    /// Panics if the buffer is shorter than `buffer_len()` (an output-buffer bug).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        let mut f = 0;
        for (set, bit) in [
            (self.poll, flags::POLL),
            (self.final_, flags::FINAL),
            (self.cpi, flags::CPI),
            (self.auth.is_some(), flags::AUTH),
            (self.demand, flags::DEMAND),
            (self.multipoint, flags::MULTIPOINT),
        ] {
            if set {
                f |= bit;
            }
        }
        p.set_version_diag(VERSION, self.diag);
        p.set_state_flags(self.state, f);
        p.set_detect_mult(self.detect_mult);
        // buffer_len() is at most 24 + 28.
        p.set_length(self.buffer_len() as u8);
        p.set_my_discr(self.my_discr);
        p.set_your_discr(self.your_discr);
        p.set_desired_min_tx(self.desired_min_tx);
        p.set_required_min_rx(self.required_min_rx);
        p.set_required_min_echo_rx(self.required_min_echo_rx);
        if let Some(a) = &self.auth {
            a.emit(p.auth_section_mut());
        }
    }

    /// Emits into a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.buffer_len()];
        self.emit(&mut Packet::new_unchecked(&mut out[..]));
        out
    }
}

#[cfg(test)]
mod tests;
