//! The generic-netlink transport for IPVS: a blocking neli socket, the `IPVS` family id, and
//! request/ack and dump exchanges carrying payloads built by `attr.rs`.
//!
//! neli is used for the socket and the `nlmsghdr` framing only; its types stop here. Every
//! failure becomes an [`IpvsError`] naming the operation, the object and the kernel's errno.

use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::Buffer;
use neli::utils::Groups;

use super::attr::{self, AttrWriter};

/// `GENL_ID_CTRL`, `CTRL_CMD_GETFAMILY`, `CTRL_ATTR_FAMILY_ID`, `CTRL_ATTR_FAMILY_NAME`.
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// `NLMSG_ERROR`, `NLMSG_DONE`.
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

/// A failed IPVS operation: what we tried, on which object, and the kernel's errno (None when
/// the failure was ours: socket, decoding).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("ipvs {op} {object}: {}", describe(*.errno, .detail))]
pub struct IpvsError {
    pub op: &'static str,
    pub object: String,
    pub errno: Option<i32>,
    pub detail: String,
}

fn describe(errno: Option<i32>, detail: &str) -> String {
    match errno {
        Some(e) => format!(
            "{} (errno {e}){}",
            std::io::Error::from_raw_os_error(e),
            if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            }
        ),
        None => detail.to_owned(),
    }
}

impl IpvsError {
    pub fn new(
        op: &'static str,
        object: impl Into<String>,
        errno: Option<i32>,
        detail: impl Into<String>,
    ) -> IpvsError {
        IpvsError {
            op,
            object: object.into(),
            errno,
            detail: detail.into(),
        }
    }
}

/// A generic-netlink socket bound to one family.
pub struct GenlSocket {
    socket: NlSocketHandle,
    family: u16,
    seq: u32,
    /// Requests sent since the family was resolved (each is one round trip: an ack, one
    /// reply or one dump).
    requests: u64,
}

impl GenlSocket {
    /// Opens a socket and resolves `name` (e.g. "IPVS"; asking loads `ip_vs` on demand).
    pub fn open(name: &str) -> Result<GenlSocket, IpvsError> {
        let socket = NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty())
            .map_err(|e| IpvsError::new("open", "netlink socket", io_errno(&e), e.to_string()))?;
        let mut s = GenlSocket {
            socket,
            family: GENL_ID_CTRL,
            seq: 0,
            requests: 0,
        };
        let mut w = AttrWriter::new();
        w.put_str(CTRL_ATTR_FAMILY_NAME, name);
        let replies = s
            .exchange(CTRL_CMD_GETFAMILY, w, false, "resolve-family", name)
            .map_err(|mut e| {
                if e.errno == Some(libc::ENOENT) {
                    e.detail =
                        "generic netlink family not registered (is ip_vs loaded?)".to_owned();
                }
                e
            })?;
        let id = replies
            .iter()
            .find_map(|r| {
                let (_, attrs) = attr::genl_attrs(r).ok()?;
                let p = attr::find(attrs, CTRL_ATTR_FAMILY_ID).ok()??;
                Some(u16::from_ne_bytes([*p.first()?, *p.get(1)?]))
            })
            .ok_or_else(|| {
                IpvsError::new(
                    "resolve-family",
                    name,
                    None,
                    "reply without CTRL_ATTR_FAMILY_ID",
                )
            })?;
        s.family = id;
        s.requests = 0;
        Ok(s)
    }

    /// Requests sent to the family since the socket was opened.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Sends a request and waits for its ack.
    pub fn request(
        &mut self,
        cmd: u8,
        attrs: AttrWriter,
        op: &'static str,
        object: &str,
    ) -> Result<(), IpvsError> {
        self.exchange(cmd, attrs, false, op, object).map(|_| ())
    }

    /// Sends a request that returns data (a dump when `dump`, else one reply) and returns each
    /// reply's generic-netlink payload (`genlmsghdr` + attributes).
    pub fn query(
        &mut self,
        cmd: u8,
        attrs: AttrWriter,
        dump: bool,
        op: &'static str,
        object: &str,
    ) -> Result<Vec<Vec<u8>>, IpvsError> {
        self.exchange(cmd, attrs, dump, op, object)
    }

    fn exchange(
        &mut self,
        cmd: u8,
        attrs: AttrWriter,
        dump: bool,
        op: &'static str,
        object: &str,
    ) -> Result<Vec<Vec<u8>>, IpvsError> {
        let err = |errno: Option<i32>, detail: String| IpvsError::new(op, object, errno, detail);
        self.seq = self.seq.wrapping_add(1);
        self.requests += 1;
        let seq = self.seq;
        let version = if self.family == GENL_ID_CTRL {
            1
        } else {
            attr::GENL_VERSION
        };
        let mut payload = attr::genl_message(cmd, attrs);
        payload[1] = version;
        // Dumps end with NLMSG_DONE; other requests ask for an ack so that success is explicit.
        let flags = if dump {
            NlmF::REQUEST | NlmF::DUMP
        } else {
            NlmF::REQUEST | NlmF::ACK
        };
        let msg = NlmsghdrBuilder::default()
            .nl_type(self.family)
            .nl_flags(flags)
            .nl_seq(seq)
            .nl_payload(NlPayload::Payload(Buffer::from(payload)))
            .build()
            .map_err(|e| err(None, format!("building request: {e}")))?;
        self.socket
            .send(&msg)
            .map_err(|e| err(io_errno(&e), e.to_string()))?;
        let mut replies = Vec::new();
        loop {
            let (msgs, _) = self
                .socket
                .recv::<u16, Buffer>()
                .map_err(|e| err(io_errno(&e), e.to_string()))?;
            for m in msgs {
                let m = m.map_err(|e| err(io_errno(&e), format!("decoding reply: {e}")))?;
                if *m.nl_seq() != seq {
                    continue; // a late reply to an earlier request that we gave up on
                }
                match m.nl_payload() {
                    NlPayload::Err(e) => {
                        let code = *e.error();
                        return Err(err(Some(kernel_errno(code)), String::new()));
                    }
                    NlPayload::Ack(_) => return Ok(replies),
                    NlPayload::DumpExtAck(_) | NlPayload::Empty if *m.nl_type() == NLMSG_DONE => {
                        return Ok(replies)
                    }
                    NlPayload::Payload(p) if *m.nl_type() == NLMSG_DONE => {
                        // A DONE carrying the dump's error code (int) in front.
                        let code = done_code(p.as_ref());
                        if code != 0 {
                            return Err(err(
                                Some(kernel_errno(code)),
                                "dump ended with an error".to_owned(),
                            ));
                        }
                        return Ok(replies);
                    }
                    NlPayload::Payload(p) if *m.nl_type() != NLMSG_ERROR => {
                        replies.push(p.as_ref().to_vec());
                        if !dump && !m.nl_flags().contains(NlmF::MULTI) {
                            // Single reply; the ack follows in the same or next datagram.
                            continue;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The errno of a netlink error code (the kernel sends `-errno`). A reply can carry any
/// 32-bit value: `i32::MIN` has no positive counterpart, so it saturates instead of
/// overflowing (`abs()` panics in debug builds and stays negative in release).
pub fn kernel_errno(code: i32) -> i32 {
    code.saturating_abs()
}

/// The error code in front of an `NLMSG_DONE` payload (0 when there is none).
pub fn done_code(payload: &[u8]) -> i32 {
    match payload {
        [a, b, c, d, ..] => i32::from_ne_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

/// The errno behind a socket-level failure (None for encoding/decoding errors).
fn io_errno(e: &SocketError) -> Option<i32> {
    match e {
        SocketError::Io(io) => io.raw_os_error(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_errno_of_any_code_does_not_overflow() {
        assert_eq!(kernel_errno(-libc::ENOENT), libc::ENOENT);
        assert_eq!(kernel_errno(libc::EEXIST), libc::EEXIST);
        assert_eq!(kernel_errno(i32::MIN), i32::MAX);
        assert!(describe(Some(kernel_errno(i32::MIN)), "").contains("errno"));
    }

    #[test]
    fn done_code_reads_a_short_payload_as_success() {
        assert_eq!(done_code(&[]), 0);
        assert_eq!(done_code(&[1, 2, 3]), 0);
        assert_eq!(done_code(&(-5i32).to_ne_bytes()), -5);
        assert_eq!(done_code(&i32::MIN.to_ne_bytes()), i32::MIN);
    }
}
