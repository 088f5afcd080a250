//! VRRP sockets and link-layer announcements.
//!
//! - Receive: one `AF_PACKET` datagram socket per (interface, family), bound to the
//!   interface, with a classic BPF filter that keeps IP protocol 112 and drops our own
//!   outgoing frames. It hands us the whole IP header, so TTL/hop limit, source and
//!   destination are checked the same way for IPv4 and IPv6.
//! - Send: one raw IP socket (protocol 112) per instance, bound to the sending interface
//!   and source address, TTL/hop limit 255, DSCP CS6; it also joins the VRRP group so the
//!   NIC accepts it. A filter makes it drop everything it would receive.
//! - Gratuitous ARP / unsolicited NA: whole Ethernet frames on an `AF_PACKET` raw socket.

use std::io::{self, Read};
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use super::packet::{add_bytes, fold, Family, IPPROTO_VRRP, TTL};

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_ARP: u16 = 0x0806;
/// DSCP CS6 ("network control"), as keepalived marks adverts.
const TOS_CS6: u32 = 0xc0;

// Classic BPF opcodes (linux/filter.h).
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_LD_B_ABS: u16 = 0x30;
const BPF_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;
/// SKF_AD_OFF + SKF_AD_PKTTYPE: the ancillary "packet type" load.
const SKF_AD_PKTTYPE: u32 = 0xffff_f000 + 4;
const PACKET_OUTGOING: u32 = 4;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Keeps received (not outgoing) IP datagrams whose protocol / next header is VRRP.
fn vrrp_filter(family: Family) -> [libc::sock_filter; 6] {
    let proto_offset = match family {
        Family::V4 => 9,
        Family::V6 => 6,
    };
    [
        insn(BPF_LD_W_ABS, 0, 0, SKF_AD_PKTTYPE),
        insn(BPF_JEQ_K, 3, 0, PACKET_OUTGOING),
        insn(BPF_LD_B_ABS, 0, 0, proto_offset),
        insn(BPF_JEQ_K, 0, 1, u32::from(IPPROTO_VRRP)),
        insn(BPF_RET_K, 0, 0, 0x0004_0000),
        insn(BPF_RET_K, 0, 0, 0),
    ]
}

/// A `sockaddr_ll` for `ifindex` / `protocol` (host order), as `SockAddr`.
#[allow(unsafe_code)]
fn link_addr(ifindex: u32, protocol: u16) -> io::Result<SockAddr> {
    let ll = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: protocol.to_be(),
        sll_ifindex: i32::try_from(ifindex)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ifindex out of range"))?,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0],
    };
    // SAFETY: `try_init` passes a zeroed `sockaddr_storage`, which is larger than and at
    // least as aligned as `sockaddr_ll` (both are plain C structs with no invalid bit
    // patterns). We write exactly one `sockaddr_ll` at its start and report that length,
    // which is what the kernel expects for AF_PACKET addresses.
    let ((), addr) = unsafe {
        SockAddr::try_init(|storage, len| {
            storage.cast::<libc::sockaddr_ll>().write(ll);
            *len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            Ok(())
        })
    }?;
    Ok(addr)
}

/// Receives VRRP datagrams (from the IP header on) arriving on one interface.
pub struct RxSocket {
    fd: AsyncFd<Socket>,
}

impl RxSocket {
    pub fn open(ifindex: u32, family: Family) -> io::Result<RxSocket> {
        let proto = match family {
            Family::V4 => ETH_P_IP,
            Family::V6 => ETH_P_IPV6,
        };
        let sock = Socket::new(
            Domain::PACKET,
            Type::DGRAM,
            Some(Protocol::from(i32::from(proto.to_be()))),
        )?;
        sock.attach_filter(&vrrp_filter(family))?;
        sock.bind(&link_addr(ifindex, proto)?)?;
        sock.set_nonblocking(true)?;
        // `AsyncFd::new` is deprecated because a borrowed fd could be closed while
        // registered; here the AsyncFd owns the socket, so the fd lives exactly as long.
        #[allow(deprecated)]
        let fd = AsyncFd::new(sock)?;
        Ok(RxSocket { fd })
    }

    /// The next datagram; its length.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|inner| {
                let mut sock: &Socket = inner.get_ref();
                sock.read(buf)
            }) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}

/// Sends adverts of one instance.
pub struct TxSocket {
    sock: Socket,
    ifindex: u32,
    pub src: IpAddr,
}

impl TxSocket {
    /// `ifname`/`ifindex`: the sending interface (the vmac with `use_vmac`); `src` the
    /// advert source; `group` the multicast group to join (None with unicast peers).
    pub fn open(
        ifname: &str,
        ifindex: u32,
        src: IpAddr,
        group: Option<IpAddr>,
    ) -> io::Result<TxSocket> {
        let domain = match src {
            IpAddr::V4(_) => Domain::IPV4,
            IpAddr::V6(_) => Domain::IPV6,
        };
        let sock = Socket::new(
            domain,
            Type::RAW,
            Some(Protocol::from(i32::from(IPPROTO_VRRP))),
        )?;
        // Everything arrives through the RxSocket: this one must not queue a copy.
        sock.attach_filter(&[insn(BPF_RET_K, 0, 0, 0)])?;
        sock.bind_device(Some(ifname.as_bytes()))?;
        match src {
            IpAddr::V4(_) => {
                sock.set_ttl(u32::from(TTL))?;
                sock.set_multicast_ttl_v4(u32::from(TTL))?;
                sock.set_tos(TOS_CS6)?;
                sock.set_multicast_loop_v4(false)?;
                // A VIP source (address owner) may not be configured yet: freebind.
                sock.set_freebind(true)?;
                sock.bind(&SockAddr::from(SocketAddr::new(src, 0)))?;
                if let Some(IpAddr::V4(g)) = group {
                    sock.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(ifindex))?;
                }
            }
            IpAddr::V6(v6) => {
                sock.set_unicast_hops_v6(u32::from(TTL))?;
                sock.set_multicast_hops_v6(u32::from(TTL))?;
                sock.set_tclass_v6(TOS_CS6)?;
                sock.set_multicast_loop_v6(false)?;
                sock.set_multicast_if_v6(ifindex)?;
                sock.set_freebind_ipv6(true)?;
                let scope = if is_link_local(&v6) { ifindex } else { 0 };
                sock.bind(&SockAddr::from(SocketAddrV6::new(v6, 0, 0, scope)))?;
                if let Some(IpAddr::V6(g)) = group {
                    sock.join_multicast_v6(&g, ifindex)?;
                }
            }
        }
        sock.set_nonblocking(true)?;
        Ok(TxSocket { sock, ifindex, src })
    }

    /// Sends one VRRP message (checksum already filled) to `dst`.
    pub fn send(&self, msg: &[u8], dst: IpAddr) -> io::Result<()> {
        let addr = match dst {
            IpAddr::V4(_) => SocketAddr::new(dst, 0),
            IpAddr::V6(v6) => {
                let scope = if is_link_local(&v6) || v6.is_multicast() {
                    self.ifindex
                } else {
                    0
                };
                SocketAddr::V6(SocketAddrV6::new(v6, 0, 0, scope))
            }
        };
        self.sock.send_to(msg, &SockAddr::from(addr)).map(|_| ())
    }
}

pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Sends whole Ethernet frames on one interface (gratuitous ARP, unsolicited NA).
pub struct L2Socket {
    sock: Socket,
    ifindex: u32,
}

impl L2Socket {
    pub fn open(ifindex: u32) -> io::Result<L2Socket> {
        // Protocol 0: this socket receives nothing.
        let sock = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0)))?;
        sock.set_nonblocking(true)?;
        Ok(L2Socket { sock, ifindex })
    }

    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let proto = if frame.len() >= 14 {
            u16::from_be_bytes([frame[12], frame[13]])
        } else {
            ETH_P_ARP
        };
        self.sock
            .send_to(frame, &link_addr(self.ifindex, proto)?)
            .map(|_| ())
    }
}

/// A gratuitous ARP request for `ip` from `mac`, as keepalived sends it: broadcast,
/// sender = target = the VIP, target MAC broadcast.
pub fn garp_frame(mac: [u8; 6], ip: Ipv4Addr) -> [u8; 42] {
    let mut f = [0u8; 42];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    f[16..18].copy_from_slice(&ETH_P_IP.to_be_bytes());
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // request
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&ip.octets());
    f[32..38].copy_from_slice(&[0xff; 6]);
    f[38..42].copy_from_slice(&ip.octets());
    f
}

/// An unsolicited neighbour advertisement (RFC 4861 §7.2.6) for `ip` from `mac`: to
/// all-nodes, Override set, with the target link-layer address option.
pub fn unsolicited_na_frame(mac: [u8; 6], ip: Ipv6Addr, router: bool) -> [u8; 86] {
    const ICMP_LEN: usize = 32;
    let dst = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut f = [0u8; 86];
    f[0..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    let ip6 = &mut f[14..54];
    ip6[0] = 0x60;
    ip6[4..6].copy_from_slice(&(ICMP_LEN as u16).to_be_bytes());
    ip6[6] = 58; // ICMPv6
    ip6[7] = 255; // RFC 4861 §7.1.2: hop limit 255
    ip6[8..24].copy_from_slice(&ip.octets());
    ip6[24..40].copy_from_slice(&dst.octets());
    let icmp = &mut f[54..86];
    icmp[0] = 136; // Neighbor Advertisement
    icmp[4] = if router { 0x80 } else { 0 } | 0x20; // R, Override
    icmp[8..24].copy_from_slice(&ip.octets());
    icmp[24] = 2; // Target Link-Layer Address
    icmp[25] = 1; // 8 bytes
    icmp[26..32].copy_from_slice(&mac);
    let mut sum = add_bytes(0, &ip.octets());
    sum = add_bytes(sum, &dst.octets());
    sum += ICMP_LEN as u32 + 58;
    sum = add_bytes(sum, icmp);
    let csum = fold(sum);
    icmp[2..4].copy_from_slice(&csum.to_be_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    // keepalived 2.2.7 gratuitous ARP for 10.99.0.200 (captures/vrrp-garp.txt, frame 4).
    #[rustfmt::skip]
    const KA_GARP_FRAME4: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3a, 0x1c, 0x94, 0x87, 0xd0, 0xcf, 0x08, 0x06, 0x00, 0x01,
        0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x3a, 0x1c, 0x94, 0x87, 0xd0, 0xcf, 0x0a, 0x63, 0x00, 0xc8,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x63, 0x00, 0xc8,
    ];

    #[test]
    fn garp_matches_keepalived() {
        let mac = [0x3a, 0x1c, 0x94, 0x87, 0xd0, 0xcf];
        assert_eq!(
            garp_frame(mac, Ipv4Addr::new(10, 99, 0, 200)),
            KA_GARP_FRAME4
        );
    }

    #[test]
    fn na_checksum_verifies() {
        let ip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let f = unsolicited_na_frame([0, 0, 0x5e, 0, 2, 7], ip, false);
        let dst = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
        let mut sum = add_bytes(0, &ip.octets());
        sum = add_bytes(sum, &dst.octets());
        sum += 32 + 58;
        sum = add_bytes(sum, &f[54..]);
        assert_eq!(fold(sum), 0, "checksum over pseudo-header + message is 0");
        assert_eq!(f[54 + 4], 0x20, "override flag only");
    }

    #[test]
    fn filter_shape() {
        let f = vrrp_filter(Family::V6);
        assert_eq!(f[2].k, 6);
        assert_eq!(f[3].k, 112);
    }
}
