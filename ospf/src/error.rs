//! Errors of the crate (thiserror), keeping the object and the OS error.

use std::net::Ipv4Addr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("interface {name}: {op}: {source}")]
    Socket {
        name: String,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("netlink: {0}")]
    Netlink(String),
    #[error("the OSPF instance has stopped")]
    Stopped,
    #[error("spawn must be called inside a tokio runtime")]
    NoRuntime,
    #[error("router ID {0} is not usable")]
    RouterId(Ipv4Addr),
}
