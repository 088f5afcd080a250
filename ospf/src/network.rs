//! The I/O edge: one raw IP protocol 89 socket per interface (bound to the device, TTL 1,
//! multicast loop off, AllSPFRouters joined, AllDRouters joined while DR/BDR, source address
//! = the interface's primary address through IP_MULTICAST_IF), its receive task, and the
//! rtnetlink watcher that reports link/address changes of the configured interfaces.
//!
//! The arrival interface is known from the device binding and the destination address from
//! the IP header that raw sockets deliver, which is what IP_PKTINFO would otherwise provide.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use rtnetlink::packet_route::address::{AddressAttribute, AddressHeaderFlags};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::MulticastGroup;
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::UnboundedSender;
use tracing::{debug, warn};

use crate::error::Error;
use crate::interface::LinkInfo;
use crate::{ALL_D_ROUTERS, ALL_SPF_ROUTERS};

pub const IPPROTO_OSPF: i32 = 89;
/// IPTOS_PREC_INTERNETCONTROL, as BIRD and FRR mark OSPF.
const TOS_INTERNETCONTROL: u32 = 0xc0;
/// Socket buffers (the kernel caps them at net.core.{w,r}mem_max).
const SOCKET_BUFFER: usize = 4 << 20;

/// Messages from the I/O tasks to the instance task.
#[derive(Debug)]
pub enum NetMsg {
    Packet {
        iface: usize,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        bytes: Vec<u8>,
    },
    Link {
        iface: usize,
        info: Option<LinkInfo>,
    },
}

/// An open interface socket and its receive task (aborted on drop).
pub struct IfaceSocket {
    pub info: LinkInfo,
    sock: Arc<AsyncFd<Socket>>,
    rx_task: tokio::task::JoinHandle<()>,
}

impl Drop for IfaceSocket {
    fn drop(&mut self) {
        self.rx_task.abort();
    }
}

impl IfaceSocket {
    pub fn open(
        iface: usize,
        name: &str,
        info: LinkInfo,
        tx: UnboundedSender<NetMsg>,
    ) -> Result<Self, Error> {
        let err = |op: &'static str| {
            let name = name.to_string();
            move |source| Error::Socket { name, op, source }
        };
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_OSPF)))
            .map_err(err("socket(AF_INET, SOCK_RAW, 89)"))?;
        s.bind_device(Some(name.as_bytes()))
            .map_err(err("SO_BINDTODEVICE"))?;
        s.set_multicast_if_v4(&info.address.ip())
            .map_err(err("IP_MULTICAST_IF"))?;
        s.set_multicast_loop_v4(false)
            .map_err(err("IP_MULTICAST_LOOP"))?;
        s.set_multicast_ttl_v4(1).map_err(err("IP_MULTICAST_TTL"))?;
        s.set_multicast_all_v4(false)
            .map_err(err("IP_MULTICAST_ALL"))?;
        s.set_ttl(1).map_err(err("IP_TTL"))?;
        s.set_tos(TOS_INTERNETCONTROL).map_err(err("IP_TOS"))?;
        s.join_multicast_v4_n(
            &ALL_SPF_ROUTERS,
            &InterfaceIndexOrAddress::Index(info.ifindex),
        )
        .map_err(err("IP_ADD_MEMBERSHIP 224.0.0.5"))?;
        // Room for a full flood of many AS-external LSAs (hundreds of LS Updates at once).
        s.set_send_buffer_size(SOCKET_BUFFER)
            .map_err(err("SO_SNDBUF"))?;
        s.set_recv_buffer_size(SOCKET_BUFFER)
            .map_err(err("SO_RCVBUF"))?;
        s.set_nonblocking(true).map_err(err("O_NONBLOCK"))?;
        // `AsyncFd::new` is deprecated for fds it does not own; here it takes ownership of
        // the socket, so the fd cannot be closed behind its back (the safe alternative,
        // `register`, is `unsafe`).
        #[allow(deprecated)]
        let sock = AsyncFd::new(s).map_err(err("register with tokio"))?;
        let sock = Arc::new(sock);
        let rx_task = tokio::spawn(rx_loop(iface, name.to_string(), sock.clone(), tx));
        Ok(IfaceSocket {
            info,
            sock,
            rx_task,
        })
    }

    pub fn send(&self, dst: Ipv4Addr, bytes: &[u8]) -> std::io::Result<()> {
        let addr = SockAddr::from(SocketAddrV4::new(dst, 0));
        self.sock.get_ref().send_to(bytes, &addr).map(|_| ())
    }

    pub fn set_all_drouters(&self, join: bool) -> std::io::Result<()> {
        let idx = InterfaceIndexOrAddress::Index(self.info.ifindex);
        let s = self.sock.get_ref();
        if join {
            s.join_multicast_v4_n(&ALL_D_ROUTERS, &idx)
        } else {
            s.leave_multicast_v4_n(&ALL_D_ROUTERS, &idx)
        }
    }
}

async fn rx_loop(
    iface: usize,
    name: String,
    sock: Arc<AsyncFd<Socket>>,
    tx: UnboundedSender<NetMsg>,
) {
    let mut buf = vec![0u8; 65536];
    loop {
        let mut guard = match sock.readable().await {
            Ok(g) => g,
            Err(e) => {
                warn!(interface = %name, error = %e, "OSPF socket unusable");
                return;
            }
        };
        let n = match guard.try_io(|s| s.get_ref().read(&mut buf)) {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                debug!(interface = %name, error = %e, "OSPF recv");
                continue;
            }
            Err(_would_block) => continue,
        };
        let Some((src, dst, payload)) = split_ip_header(&buf[..n]) else {
            continue;
        };
        let msg = NetMsg::Packet {
            iface,
            src,
            dst,
            bytes: payload.to_vec(),
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

/// (source, destination, payload) of a received IPv4 datagram; None if malformed.
pub fn split_ip_header(b: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, &[u8])> {
    if b.len() < 20 || b[0] >> 4 != 4 {
        return None;
    }
    let ihl = ((b[0] & 0x0f) as usize) * 4;
    let total = u16::from_be_bytes([b[2], b[3]]) as usize;
    if ihl < 20 || total < ihl || b.len() < ihl {
        return None;
    }
    let end = total.min(b.len());
    let src = Ipv4Addr::new(b[12], b[13], b[14], b[15]);
    let dst = Ipv4Addr::new(b[16], b[17], b[18], b[19]);
    Some((src, dst, &b[ihl..end]))
}

/// Reports the state of every configured interface at start and after every link or IPv4
/// address notification from the kernel.
pub async fn watch_links(names: Vec<String>, tx: UnboundedSender<NetMsg>) {
    let (conn, handle, mut messages) = match rtnetlink::new_multicast_connection(&[
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
    ]) {
        Ok(x) => x,
        Err(e) => {
            warn!(error = %e, "OSPF: cannot open rtnetlink; interfaces stay down");
            return;
        }
    };
    let conn_task = tokio::spawn(conn);
    let mut last: Vec<Option<Option<LinkInfo>>> = vec![None; names.len()];
    loop {
        for (i, name) in names.iter().enumerate() {
            let info = query_link(&handle, name).await;
            if last[i] != Some(info) {
                last[i] = Some(info);
                if tx.send(NetMsg::Link { iface: i, info }).is_err() {
                    conn_task.abort();
                    return;
                }
            }
        }
        if messages.next().await.is_none() {
            break;
        }
        // Coalesce bursts (an address change comes with several notifications).
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        while let Ok(Some(_)) =
            tokio::time::timeout(std::time::Duration::ZERO, messages.next()).await
        {}
    }
    conn_task.abort();
}

async fn query_link(handle: &rtnetlink::Handle, name: &str) -> Option<LinkInfo> {
    let link = handle
        .link()
        .get()
        .match_name(name.to_string())
        .execute()
        .try_next()
        .await
        .ok()??;
    let flags = link.header.flags;
    if !flags.contains(LinkFlags::Up) || !flags.contains(LinkFlags::Running) {
        return None;
    }
    let ifindex = link.header.index;
    let mtu = link
        .attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::Mtu(m) => Some(*m),
            _ => None,
        })
        .unwrap_or(1500)
        .min(u16::MAX as u32) as u16;
    let mut addrs = handle
        .address()
        .get()
        .set_link_index_filter(ifindex)
        .execute();
    while let Ok(Some(msg)) = addrs.try_next().await {
        if msg.header.family != AddressFamily::Inet || msg.header.index != ifindex {
            continue;
        }
        if msg.header.flags.contains(AddressHeaderFlags::Secondary) {
            continue;
        }
        let ip = msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(std::net::IpAddr::V4(ip)) => Some(*ip),
            _ => None,
        });
        let ip = ip.or_else(|| {
            msg.attributes.iter().find_map(|a| match a {
                AddressAttribute::Address(std::net::IpAddr::V4(ip)) => Some(*ip),
                _ => None,
            })
        });
        if let Some(ip) = ip {
            if let Ok(address) = ipnetwork::Ipv4Network::new(ip, msg.header.prefix_len) {
                return Some(LinkInfo {
                    ifindex,
                    address,
                    mtu,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_header_split() {
        let mut b = vec![
            0x45, 0xc0, 0, 28, 0, 0, 0, 0, 1, 89, 0, 0, 10, 0, 0, 1, 224, 0, 0, 5,
        ];
        b.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let (s, d, p) = split_ip_header(&b).unwrap();
        assert_eq!(
            (s, d, p),
            (
                Ipv4Addr::new(10, 0, 0, 1),
                ALL_SPF_ROUTERS,
                &[1, 2, 3, 4, 5, 6, 7, 8][..]
            )
        );
        assert!(split_ip_header(&b[..10]).is_none());
        assert!(split_ip_header(&[0x65; 40]).is_none());
    }
}
