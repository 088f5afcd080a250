//! Kernel network state through rtnetlink, shared by the control loop and VRRP: interface
//! lookups (index, MAC, up state), interface addresses (VIPs), routes (`virtual_routes`),
//! macvlan links (`use_vmac`) and a watch stream of link/address changes.
//!
//! Every operation is idempotent in the direction the caller wants: adding an address or a
//! route that exists, or deleting one that is already gone, succeeds. Errors keep the
//! operation, the object and the kernel errno.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use futures::{StreamExt, TryStreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressScope,
};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVlanMode};
use rtnetlink::packet_route::route::{RouteMessage, RouteScope};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::{Handle, LinkMacVlan, LinkUnspec, MulticastGroup, RouteMessageBuilder};
use thiserror::Error;
use tokio::task::JoinHandle;

/// A failed rtnetlink operation.
#[derive(Debug, Error)]
pub enum NetError {
    #[error("cannot open rtnetlink socket: {0}")]
    Socket(#[source] std::io::Error),
    #[error("{op} {object}: {}", std::io::Error::from_raw_os_error(*.errno))]
    Kernel {
        op: &'static str,
        object: String,
        errno: i32,
    },
    #[error("{op} {object}: {message}")]
    Request {
        op: &'static str,
        object: String,
        message: String,
    },
    #[error("no interface named {0:?}")]
    NoSuchInterface(String),
    #[error("no interface with index {0}")]
    NoSuchIndex(u32),
}

impl NetError {
    /// The kernel errno of the failure, if the kernel answered with one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetError::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    fn from_rtnl(op: &'static str, object: impl fmt::Display, err: rtnetlink::Error) -> Self {
        match err {
            rtnetlink::Error::NetlinkError(msg) if msg.raw_code() != 0 => NetError::Kernel {
                op,
                object: object.to_string(),
                errno: -msg.raw_code(),
            },
            other => NetError::Request {
                op,
                object: object.to_string(),
                message: other.to_string(),
            },
        }
    }
}

/// An interface as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// Hardware address, when the link has a 6-byte one.
    pub mac: Option<[u8; 6]>,
    /// `IFF_UP`: administratively up.
    pub admin_up: bool,
    /// `IFF_RUNNING`: up and with carrier: able to send and receive.
    pub running: bool,
    /// The link kind (`veth`, `macvlan`, `bridge`…), when the link has one.
    pub kind: Option<String>,
    /// The lower device of a stacked link (macvlan, vlan).
    pub parent: Option<u32>,
}

impl Link {
    /// Up and running: what VRRP calls an interface that works.
    pub fn is_usable(&self) -> bool {
        self.admin_up && self.running
    }

    fn from_message(msg: &LinkMessage) -> Self {
        let mut link = Link {
            index: msg.header.index,
            name: String::new(),
            mac: None,
            admin_up: msg.header.flags.contains(LinkFlags::Up),
            running: msg.header.flags.contains(LinkFlags::Running),
            kind: None,
            parent: None,
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(name) => link.name = name.clone(),
                LinkAttribute::Address(bytes) => link.mac = <[u8; 6]>::try_from(&bytes[..]).ok(),
                LinkAttribute::Link(parent) => link.parent = Some(*parent),
                LinkAttribute::LinkInfo(infos) => {
                    for info in infos {
                        if let LinkInfo::Kind(kind) = info {
                            link.kind = Some(kind.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        link
    }
}

/// Address scope, as `ip addr add … scope X`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    #[default]
    Global,
    Site,
    Link,
    Host,
    Nowhere,
}

impl Scope {
    fn to_kernel(self) -> AddressScope {
        match self {
            Scope::Global => AddressScope::Universe,
            Scope::Site => AddressScope::Site,
            Scope::Link => AddressScope::Link,
            Scope::Host => AddressScope::Host,
            Scope::Nowhere => AddressScope::Nowhere,
        }
    }

    fn from_kernel(scope: AddressScope) -> Self {
        match scope {
            AddressScope::Site => Scope::Site,
            AddressScope::Link => Scope::Link,
            AddressScope::Host => Scope::Host,
            AddressScope::Nowhere => Scope::Nowhere,
            _ => Scope::Global,
        }
    }

    fn to_route_scope(self) -> RouteScope {
        match self {
            Scope::Global => RouteScope::Universe,
            Scope::Site => RouteScope::Site,
            Scope::Link => RouteScope::Link,
            Scope::Host => RouteScope::Host,
            Scope::Nowhere => RouteScope::NoWhere,
        }
    }
}

/// An address on an interface, as `ip addr add ADDR/PREFIX [brd B] [scope S] [label L] dev D`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IfAddress {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub broadcast: Option<Ipv4Addr>,
    pub scope: Scope,
    pub label: Option<String>,
}

impl IfAddress {
    /// A plain address with no broadcast, global scope and no label.
    pub fn new(ifindex: u32, addr: IpAddr, prefix_len: u8) -> Self {
        IfAddress {
            ifindex,
            addr,
            prefix_len,
            broadcast: None,
            scope: Scope::Global,
            label: None,
        }
    }

    fn to_message(&self) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.index = self.ifindex;
        msg.header.prefix_len = self.prefix_len;
        msg.header.scope = self.scope.to_kernel();
        match self.addr {
            IpAddr::V4(_) => {
                msg.header.family = rtnetlink::packet_route::AddressFamily::Inet;
                msg.attributes.push(AddressAttribute::Local(self.addr));
                msg.attributes.push(AddressAttribute::Address(self.addr));
                if let Some(brd) = self.broadcast {
                    msg.attributes.push(AddressAttribute::Broadcast(brd));
                }
            }
            IpAddr::V6(_) => {
                msg.header.family = rtnetlink::packet_route::AddressFamily::Inet6;
                msg.attributes.push(AddressAttribute::Local(self.addr));
                // A virtual address moves between nodes: duplicate address detection would
                // only delay it (keepalived adds VIPs with IFA_F_NODAD too).
                msg.attributes
                    .push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
        }
        if let Some(label) = &self.label {
            msg.attributes.push(AddressAttribute::Label(label.clone()));
        }
        msg
    }

    fn from_message(msg: &AddressMessage) -> Option<Self> {
        let mut local = None;
        let mut address = None;
        let mut out = IfAddress {
            ifindex: msg.header.index,
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            prefix_len: msg.header.prefix_len,
            broadcast: None,
            scope: Scope::from_kernel(msg.header.scope),
            label: None,
        };
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Local(a) => local = Some(*a),
                AddressAttribute::Address(a) => address = Some(*a),
                AddressAttribute::Broadcast(b) => out.broadcast = Some(*b),
                AddressAttribute::Label(l) => out.label = Some(l.clone()),
                _ => {}
            }
        }
        // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on p2p links).
        out.addr = local.or(address)?;
        Some(out)
    }
}

impl fmt::Display for IfAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} on ifindex {}",
            self.addr, self.prefix_len, self.ifindex
        )
    }
}

/// A route, as `ip route add DST/PREFIX [via GW] [dev D] [src S] [metric M] [table T] [scope S]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    pub dst: IpAddr,
    pub prefix_len: u8,
    pub gateway: Option<IpAddr>,
    pub ifindex: Option<u32>,
    pub src: Option<IpAddr>,
    pub metric: Option<u32>,
    pub table: Option<u32>,
    pub scope: Option<Scope>,
}

impl Route {
    fn to_message(&self) -> Result<RouteMessage, NetError> {
        let mismatch = || NetError::Request {
            op: "build route",
            object: self.to_string(),
            message: "mixed IPv4 and IPv6 addresses".into(),
        };
        let mut msg = match self.dst {
            IpAddr::V4(dst) => {
                let mut b =
                    RouteMessageBuilder::<Ipv4Addr>::new().destination_prefix(dst, self.prefix_len);
                match self.gateway {
                    Some(IpAddr::V4(gw)) => b = b.gateway(gw),
                    Some(IpAddr::V6(_)) => return Err(mismatch()),
                    None => {}
                }
                match self.src {
                    Some(IpAddr::V4(src)) => b = b.pref_source(src),
                    Some(IpAddr::V6(_)) => return Err(mismatch()),
                    None => {}
                }
                self.common(b)
            }
            IpAddr::V6(dst) => {
                let mut b = RouteMessageBuilder::<std::net::Ipv6Addr>::new()
                    .destination_prefix(dst, self.prefix_len);
                match self.gateway {
                    Some(IpAddr::V6(gw)) => b = b.gateway(gw),
                    Some(IpAddr::V4(_)) => return Err(mismatch()),
                    None => {}
                }
                match self.src {
                    Some(IpAddr::V6(src)) => b = b.pref_source(src),
                    Some(IpAddr::V4(_)) => return Err(mismatch()),
                    None => {}
                }
                self.common(b)
            }
        };
        if self.gateway.is_none() && self.scope.is_none() {
            // A route without nexthop is on-link, as `ip route add X dev D` makes it.
            msg.header.scope = RouteScope::Link;
        }
        Ok(msg)
    }

    fn common<T>(&self, mut b: RouteMessageBuilder<T>) -> RouteMessage {
        if let Some(ifindex) = self.ifindex {
            b = b.output_interface(ifindex);
        }
        if let Some(metric) = self.metric {
            b = b.priority(metric);
        }
        if let Some(table) = self.table {
            b = b.table_id(table);
        }
        if let Some(scope) = self.scope {
            b = b.scope(scope.to_route_scope());
        }
        b.build()
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.dst, self.prefix_len)?;
        if let Some(gw) = self.gateway {
            write!(f, " via {gw}")?;
        }
        if let Some(ifindex) = self.ifindex {
            write!(f, " ifindex {ifindex}")?;
        }
        Ok(())
    }
}

/// A change seen on the link/address multicast groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    LinkChanged(Link),
    LinkRemoved(Link),
    AddressAdded(IfAddress),
    AddressRemoved(IfAddress),
}

const EEXIST: i32 = libc::EEXIST;
const ENODEV: i32 = libc::ENODEV;
const EADDRNOTAVAIL: i32 = libc::EADDRNOTAVAIL;
const ESRCH: i32 = libc::ESRCH;

/// An rtnetlink connection. Cheap to clone; the connection task ends when the last clone
/// is dropped.
#[derive(Clone)]
pub struct Netlink {
    handle: Handle,
}

impl Netlink {
    /// Opens a connection; must be called inside a tokio runtime (it spawns the socket task).
    pub fn new() -> Result<Self, NetError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(NetError::Socket)?;
        tokio::spawn(connection);
        Ok(Netlink { handle })
    }

    /// All interfaces.
    pub async fn links(&self) -> Result<Vec<Link>, NetError> {
        self.handle
            .link()
            .get()
            .execute()
            .map_ok(|m| Link::from_message(&m))
            .try_collect()
            .await
            .map_err(|e| NetError::from_rtnl("list links", "", e))
    }

    /// The interface called `name`.
    pub async fn link_by_name(&self, name: &str) -> Result<Link, NetError> {
        let mut stream = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match stream.try_next().await {
            Ok(Some(m)) => Ok(Link::from_message(&m)),
            Ok(None) => Err(NetError::NoSuchInterface(name.to_string())),
            Err(rtnetlink::Error::NetlinkError(e)) if -e.raw_code() == ENODEV => {
                Err(NetError::NoSuchInterface(name.to_string()))
            }
            Err(e) => Err(NetError::from_rtnl("get link", name, e)),
        }
    }

    /// The interface with index `index`.
    pub async fn link_by_index(&self, index: u32) -> Result<Link, NetError> {
        let mut stream = self.handle.link().get().match_index(index).execute();
        match stream.try_next().await {
            Ok(Some(m)) => Ok(Link::from_message(&m)),
            Ok(None) => Err(NetError::NoSuchIndex(index)),
            Err(rtnetlink::Error::NetlinkError(e)) if -e.raw_code() == ENODEV => {
                Err(NetError::NoSuchIndex(index))
            }
            Err(e) => Err(NetError::from_rtnl("get link", index, e)),
        }
    }

    /// Addresses of one interface, or of all when `ifindex` is `None`.
    pub async fn addresses(&self, ifindex: Option<u32>) -> Result<Vec<IfAddress>, NetError> {
        let mut req = self.handle.address().get();
        if let Some(index) = ifindex {
            req = req.set_link_index_filter(index);
        }
        let msgs: Vec<AddressMessage> = req
            .execute()
            .try_collect()
            .await
            .map_err(|e| NetError::from_rtnl("list addresses", "", e))?;
        Ok(msgs
            .iter()
            .filter_map(IfAddress::from_message)
            .filter(|a| ifindex.is_none_or(|i| a.ifindex == i))
            .collect())
    }

    /// Adds an address; an address that is already there is success.
    pub async fn add_address(&self, addr: &IfAddress) -> Result<(), NetError> {
        let mut req = self
            .handle
            .address()
            .add(addr.ifindex, addr.addr, addr.prefix_len);
        *req.message_mut() = addr.to_message();
        match req.execute().await {
            Err(rtnetlink::Error::NetlinkError(e)) if -e.raw_code() == EEXIST => Ok(()),
            r => r.map_err(|e| NetError::from_rtnl("add address", addr, e)),
        }
    }

    /// Deletes an address; an address that is already gone is success.
    pub async fn del_address(&self, addr: &IfAddress) -> Result<(), NetError> {
        let mut msg = AddressMessage::default();
        msg.header = addr.to_message().header;
        msg.attributes.push(AddressAttribute::Local(addr.addr));
        match self.handle.address().del(msg).execute().await {
            Err(rtnetlink::Error::NetlinkError(e))
                if matches!(-e.raw_code(), EADDRNOTAVAIL | ENODEV) =>
            {
                Ok(())
            }
            r => r.map_err(|e| NetError::from_rtnl("delete address", addr, e)),
        }
    }

    /// Adds a route; one that exists is success.
    pub async fn add_route(&self, route: &Route) -> Result<(), NetError> {
        match self.handle.route().add(route.to_message()?).execute().await {
            Err(rtnetlink::Error::NetlinkError(e)) if -e.raw_code() == EEXIST => Ok(()),
            r => r.map_err(|e| NetError::from_rtnl("add route", route, e)),
        }
    }

    /// Deletes a route; one that is already gone is success.
    pub async fn del_route(&self, route: &Route) -> Result<(), NetError> {
        match self.handle.route().del(route.to_message()?).execute().await {
            Err(rtnetlink::Error::NetlinkError(e)) if matches!(-e.raw_code(), ESRCH | ENODEV) => {
                Ok(())
            }
            r => r.map_err(|e| NetError::from_rtnl("delete route", route, e)),
        }
    }

    /// Creates (or reuses) a macvlan `name` on top of `parent` with hardware address `mac`,
    /// in private mode, and brings it up. Returns its index. An existing link of that
    /// name is reused when it is a macvlan of the same parent with the same MAC.
    pub async fn ensure_macvlan(
        &self,
        name: &str,
        parent: u32,
        mac: [u8; 6],
    ) -> Result<u32, NetError> {
        match self.link_by_name(name).await {
            Ok(link)
                if link.kind.as_deref() == Some("macvlan")
                    && link.parent == Some(parent)
                    && link.mac == Some(mac) =>
            {
                self.set_link_up(link.index).await?;
                return Ok(link.index);
            }
            Ok(link) => self.del_link(link.index).await?,
            Err(NetError::NoSuchInterface(_)) => {}
            Err(e) => return Err(e),
        }
        let msg = LinkMacVlan::new(name, parent, MacVlanMode::Private)
            .address(mac.to_vec())
            .up()
            .build();
        match self.handle.link().add(msg).execute().await {
            Err(rtnetlink::Error::NetlinkError(e)) if -e.raw_code() == EEXIST => {}
            r => r.map_err(|e| NetError::from_rtnl("add macvlan", name, e))?,
        }
        Ok(self.link_by_name(name).await?.index)
    }

    /// Brings a link up.
    pub async fn set_link_up(&self, index: u32) -> Result<(), NetError> {
        let msg = LinkUnspec::new_with_index(index).up().build();
        self.handle
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(|e| NetError::from_rtnl("set link up", index, e))
    }

    /// Deletes a link; one that is already gone is success.
    pub async fn del_link(&self, index: u32) -> Result<(), NetError> {
        match self.handle.link().del(index).execute().await {
            Err(rtnetlink::Error::NetlinkError(e)) if -e.raw_code() == ENODEV => Ok(()),
            r => r.map_err(|e| NetError::from_rtnl("delete link", index, e)),
        }
    }
}

/// A stream of link and address changes (`ip monitor link address`). Dropping it closes
/// the socket.
pub struct NetWatch {
    events: futures::channel::mpsc::UnboundedReceiver<(
        NetlinkMessage<RouteNetlinkMessage>,
        rtnetlink::sys::SocketAddr,
    )>,
    connection: JoinHandle<()>,
}

impl NetWatch {
    /// Subscribes to link and IPv4/IPv6 address changes; inside a tokio runtime.
    pub fn new() -> Result<Self, NetError> {
        let (connection, _handle, events) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])
        .map_err(NetError::Socket)?;
        Ok(NetWatch {
            events,
            connection: tokio::spawn(connection),
        })
    }

    /// The next change; `None` when the socket closed.
    pub async fn next(&mut self) -> Option<NetEvent> {
        loop {
            let (msg, _) = self.events.next().await?;
            if let Some(event) = event_of(msg) {
                return Some(event);
            }
        }
    }
}

/// The change a link/address notification describes (None for anything else).
pub fn event_of(msg: NetlinkMessage<RouteNetlinkMessage>) -> Option<NetEvent> {
    let NetlinkPayload::InnerMessage(inner) = msg.payload else {
        return None;
    };
    match inner {
        RouteNetlinkMessage::NewLink(m) => Some(NetEvent::LinkChanged(Link::from_message(&m))),
        RouteNetlinkMessage::DelLink(m) => Some(NetEvent::LinkRemoved(Link::from_message(&m))),
        RouteNetlinkMessage::NewAddress(m) => {
            IfAddress::from_message(&m).map(NetEvent::AddressAdded)
        }
        RouteNetlinkMessage::DelAddress(m) => {
            IfAddress::from_message(&m).map(NetEvent::AddressRemoved)
        }
        _ => None,
    }
}

/// Decodes one rtnetlink notification from the wire (what the fuzz target feeds).
pub fn decode_event(bytes: &[u8]) -> Option<NetEvent> {
    let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes).ok()?;
    event_of(msg)
}

impl Drop for NetWatch {
    fn drop(&mut self) {
        self.connection.abort();
    }
}
