//! The `NETLINK_NETFILTER` socket: one batch per `sendmsg`, dumps, the ruleset generation.
//!
//! The socket is socket2's (a plain `AF_NETLINK` socket) with its buffers raised through
//! nix's `SO_SNDBUFFORCE`/`SO_RCVBUFFORCE`: the kernel applies a batch only if it arrives in
//! one `sendmsg`, and a full table of 1,000 services is ~40 MB, far above the default
//! `wmem_max`. Messages are built and read by `wire.rs`.
//!
//! Every wait is bounded: a reply that does not come within [`REPLY_TIMEOUT`] is an error.

use std::io::{ErrorKind, Read};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use super::wire::{self, Batch, Message, MsgType};

/// How long we wait for any reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Receive buffer of one `recv` (the kernel sends dump parts of at most 32 KiB; an error
/// echoes the failed request, at most one 64 KiB element message).
const RECV_CHUNK: usize = 256 * 1024;
/// Socket receive queue: room for an error per message of a large failed batch.
const RCVBUF: usize = 32 * 1024 * 1024;

/// A transport failure, or the kernel's errno for a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetlinkError {
    #[error("netlink socket: {0}")]
    Io(String),
    #[error("{object}: {}", std::io::Error::from_raw_os_error(*.errno))]
    Kernel { object: String, errno: i32 },
    #[error("malformed netlink reply: {0}")]
    Malformed(String),
}

impl NetlinkError {
    fn io(e: std::io::Error) -> NetlinkError {
        NetlinkError::Io(e.to_string())
    }
}

/// A transaction the kernel refused: the errno of each refused message, with its object.
/// The kernel applied none of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub errors: Vec<(String, i32)>,
}

pub struct NfSocket {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl NfSocket {
    pub fn open() -> Result<NfSocket, NetlinkError> {
        let socket = Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::RAW,
            Some(Protocol::from(libc::NETLINK_NETFILTER)),
        )
        .map_err(NetlinkError::io)?;
        // Without CAP_NET_ADMIN the forced sizes fail; nothing else would work then either.
        let _ =
            nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::RcvBufForce, &RCVBUF);
        socket
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .map_err(NetlinkError::io)?;
        Ok(NfSocket {
            socket,
            seq: 1,
            buf: vec![0; RECV_CHUNK],
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// A new batch whose sequence numbers continue ours.
    pub fn batch(&mut self) -> Batch {
        Batch::new(self.next_seq())
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), NetlinkError> {
        if bytes.len() > 200 * 1024 {
            nix::sys::socket::setsockopt(
                &self.socket,
                nix::sys::socket::sockopt::SndBufForce,
                &(bytes.len() + 64 * 1024),
            )
            .map_err(|e| NetlinkError::Io(format!("SO_SNDBUFFORCE: {e}")))?;
        }
        let sent = self.socket.send(bytes).map_err(NetlinkError::io)?;
        if sent != bytes.len() {
            return Err(NetlinkError::Io(format!(
                "sent {sent} of {} bytes",
                bytes.len()
            )));
        }
        Ok(())
    }

    /// Reads replies, handing each message to `on`, until `on` says it is done.
    fn read_until(
        &mut self,
        mut on: impl FnMut(&Message<'_>) -> Result<bool, NetlinkError>,
    ) -> Result<(), NetlinkError> {
        loop {
            let n = match (&self.socket).read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(NetlinkError::Io(format!(
                        "no reply from the kernel within {REPLY_TIMEOUT:?}"
                    )))
                }
                Err(e) => return Err(NetlinkError::io(e)),
            };
            for m in wire::messages(&self.buf[..n]) {
                if on(&m)? {
                    return Ok(());
                }
            }
        }
    }

    /// Sends `batch` as one transaction. Returns the ruleset generation right after it.
    pub fn commit(&mut self, batch: Batch) -> Result<Result<u32, Rejected>, NetlinkError> {
        let first = batch.first_seq();
        let (bytes, objects, next) = batch.finish();
        self.seq = next;
        self.send(&bytes)?;
        // The kernel handles a batch inside our sendmsg; a generation request sent after it
        // is answered after every error of the batch, so its reply ends the wait.
        let gen_seq = self.next_seq();
        self.send(&wire::get_gen(gen_seq))?;
        let mut errors = Vec::new();
        let mut generation = None;
        self.read_until(|m| {
            if m.kind == wire::NLMSG_ERROR {
                if let Some((errno, seq)) = wire::error_of(m) {
                    if errno != 0 && (first..next).contains(&seq) {
                        let object = objects
                            .binary_search_by_key(&seq, |(s, _)| *s)
                            .ok()
                            .map_or_else(|| "batch".to_owned(), |i| objects[i].1.clone());
                        errors.push((object, errno));
                    } else if errno != 0 && seq == gen_seq {
                        return Err(NetlinkError::Kernel {
                            object: "ruleset generation".into(),
                            errno,
                        });
                    }
                }
                return Ok(false);
            }
            if m.seq == gen_seq && m.kind == MsgType::NewGen.nlmsg_type() {
                generation = wire::gen_id(m);
                return Ok(true);
            }
            Ok(false)
        })?;
        if !errors.is_empty() {
            return Ok(Err(Rejected { errors }));
        }
        generation
            .map(Ok)
            .ok_or_else(|| NetlinkError::Malformed("generation reply without an id".into()))
    }

    /// The ruleset generation: it changes with every committed transaction, anyone's.
    pub fn generation(&mut self) -> Result<u32, NetlinkError> {
        let seq = self.next_seq();
        self.send(&wire::get_gen(seq))?;
        let mut generation = None;
        self.read_until(|m| {
            if m.seq != seq {
                return Ok(false);
            }
            if m.kind == wire::NLMSG_ERROR {
                let errno = wire::error_of(m).map_or(0, |(e, _)| e);
                return Err(NetlinkError::Kernel {
                    object: "ruleset generation".into(),
                    errno,
                });
            }
            generation = wire::gen_id(m);
            Ok(true)
        })?;
        generation.ok_or_else(|| NetlinkError::Malformed("generation reply without an id".into()))
    }

    /// Sends a get or dump request (built by `request(seq)`) and hands every reply message to
    /// `on`. `Ok(false)`: the object does not exist (`ENOENT`).
    pub fn query(
        &mut self,
        object: &str,
        request: impl FnOnce(u32) -> Vec<u8>,
        mut on: impl FnMut(&Message<'_>),
    ) -> Result<bool, NetlinkError> {
        let seq = self.next_seq();
        self.send(&request(seq))?;
        let mut found = true;
        self.read_until(|m| {
            if m.seq != seq {
                return Ok(false);
            }
            match m.kind {
                wire::NLMSG_DONE => Ok(true),
                wire::NLMSG_ERROR => match wire::error_of(m) {
                    Some((0, _)) => Ok(true),
                    Some((libc::ENOENT, _)) => {
                        found = false;
                        Ok(true)
                    }
                    Some((errno, _)) => Err(NetlinkError::Kernel {
                        object: object.to_owned(),
                        errno,
                    }),
                    None => Err(NetlinkError::Malformed(format!("error reply to {object}"))),
                },
                _ => {
                    on(m);
                    // A get (not a dump) is answered by one message, then the ack.
                    Ok(false)
                }
            }
        })?;
        Ok(found)
    }
}
