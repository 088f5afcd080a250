//! Read-only listings of what the kernel holds, for `directorctl services` and
//! `directorctl connections`: services and real servers with their counters and rates, the
//! timeouts, and the connection entries. Nothing here changes the kernel or takes part in a
//! reconcile; the IPVS reader is `ipvs/listing.rs`, the connection tables are parsed here
//! from `/proc/net/ip_vs_conn` (IPVS) and `/proc/net/nf_conntrack` (nftables NAT).

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use super::tables::{Counters, DestSpec, ServiceSpec, Timeouts};

/// Per-second rates the kernel estimates (IPVS: a 2 s estimator, as `ipvsadm --rate`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rates {
    pub connections: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// One real server as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedDest {
    pub spec: DestSpec,
    pub active_connections: u32,
    pub inactive_connections: u32,
    pub counters: Counters,
    pub rates: Option<Rates>,
}

/// One service as listed, real servers in the kernel's order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedService {
    pub spec: ServiceSpec,
    pub counters: Counters,
    pub rates: Option<Rates>,
    pub dests: Vec<ListedDest>,
}

/// What the kernel holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub services: Vec<ListedService>,
    /// IPVS's tcp/tcpfin/udp timeouts (nftables has none of its own).
    pub timeouts: Option<Timeouts>,
    /// False when the backend cannot say which real server a service's traffic went to
    /// (nftables: one rule and one map lookup per service), so the per-real-server
    /// counters and connection counts read 0.
    pub per_real_counters: bool,
}

/// One connection entry, as `ipvsadm -Lnc` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// `TCP`, `UDP`, `SCTP`…
    pub protocol: String,
    /// Seconds until the entry expires.
    pub expires: u64,
    pub state: String,
    pub source: String,
    pub virtual_address: String,
    pub destination: String,
}

/// Connection entries, at most [`MAX_CONNECTIONS`]; `total` counts every entry seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connections {
    pub entries: Vec<Connection>,
    pub total: usize,
}

/// Most entries one answer carries (a busy director holds millions; a control-socket reply
/// must stay bounded). `total` still says how many there are.
pub const MAX_CONNECTIONS: usize = 10_000;

/// Longest line kept from a connection table (longer ones are not entries we know).
const MAX_LINE: usize = 512;

/// Reads `path` line by line, handing each line to `parse`; keeps at most
/// [`MAX_CONNECTIONS`] entries and counts them all.
pub fn read_table(
    path: &str,
    mut parse: impl FnMut(&str) -> Option<Connection>,
) -> std::io::Result<Connections> {
    use std::io::BufRead;
    let file = std::fs::File::open(path)?;
    let mut out = Connections::default();
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        if line.len() > MAX_LINE {
            continue;
        }
        if let Some(entry) = parse(&line) {
            out.total += 1;
            if out.entries.len() < MAX_CONNECTIONS {
                out.entries.push(entry);
            }
        }
    }
    Ok(out)
}

/// `/proc/net/ip_vs_conn`.
pub const IPVS_CONN: &str = "/proc/net/ip_vs_conn";
/// `/proc/net/nf_conntrack`.
pub const NF_CONNTRACK: &str = "/proc/net/nf_conntrack";

/// One line of `/proc/net/ip_vs_conn` (`Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires
/// …`): IPv4 addresses and every port in hex, IPv6 addresses written out. The header and
/// anything malformed give `None`.
pub fn parse_ipvs_conn(line: &str) -> Option<Connection> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [protocol, from_ip, from_port, to_ip, to_port, dest_ip, dest_port, state, expires, ..] =
        fields[..]
    else {
        return None;
    };
    let endpoint = |ip: &str, port: &str| -> Option<String> {
        let port = u16::from_str_radix(port, 16).ok()?;
        let addr: IpAddr = if ip.len() == 8 && !ip.contains(':') {
            IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(ip, 16).ok()?))
        } else {
            ip.parse().ok()?
        };
        Some(match addr {
            IpAddr::V4(v4) => format!("{v4}:{port}"),
            IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        })
    };
    Some(Connection {
        protocol: protocol.to_string(),
        expires: expires.parse().ok()?,
        state: state.to_string(),
        source: endpoint(from_ip, from_port)?,
        virtual_address: endpoint(to_ip, to_port)?,
        destination: endpoint(dest_ip, dest_port)?,
    })
}

/// One line of `/proc/net/nf_conntrack` whose original destination is `is_vip`'s: the
/// original tuple gives source and virtual address, the reply tuple's source the real
/// server the flow was translated to.
pub fn parse_conntrack(line: &str, is_vip: impl Fn(IpAddr, u16) -> bool) -> Option<Connection> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    // l3 name, l3 number, l4 name, l4 number, timeout, then (for TCP) the state.
    let protocol = fields.get(2)?.to_uppercase();
    let expires = fields.get(4)?.parse().ok()?;
    let state = fields
        .get(5)
        .filter(|f| !f.contains('='))
        .map_or_else(String::new, |s| (*s).to_string());
    let values = |key: &str| -> Vec<&str> {
        fields
            .iter()
            .filter_map(|f| f.strip_prefix(key)?.strip_prefix('='))
            .collect()
    };
    let (src, dst, sport, dport) = (
        values("src"),
        values("dst"),
        values("sport"),
        values("dport"),
    );
    let endpoint = |ip: &str, port: &str| -> Option<(IpAddr, u16, String)> {
        let addr: IpAddr = ip.parse().ok()?;
        let port: u16 = port.parse().ok()?;
        let text = match addr {
            IpAddr::V4(_) => format!("{addr}:{port}"),
            IpAddr::V6(_) => format!("[{addr}]:{port}"),
        };
        Some((addr, port, text))
    };
    let source = endpoint(src.first()?, sport.first()?)?;
    let virtual_address = endpoint(dst.first()?, dport.first()?)?;
    let destination = endpoint(src.get(1)?, sport.get(1)?)?;
    if !is_vip(virtual_address.0, virtual_address.1) {
        return None;
    }
    Some(Connection {
        protocol,
        expires,
        state,
        source: source.2,
        virtual_address: virtual_address.2,
        destination: destination.2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipvs_conn_lines_parse_like_ipvsadm_shows_them() {
        assert_eq!(
            parse_ipvs_conn(
                "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData"
            ),
            None
        );
        assert_eq!(
            parse_ipvs_conn("TCP 0A000001 9C40 0A000064 0050 0A010001 0050 ESTABLISHED     899"),
            Some(Connection {
                protocol: "TCP".into(),
                expires: 899,
                state: "ESTABLISHED".into(),
                source: "10.0.0.1:40000".into(),
                virtual_address: "10.0.0.100:80".into(),
                destination: "10.1.0.1:80".into(),
            })
        );
        let v6 = parse_ipvs_conn(
            "TCP 2001:0db8:0000:0000:0000:0000:0000:0001 9C40 2001:0db8:0000:0000:0000:0000:0000:0064 01BB 2001:0db8:0000:0000:0000:0000:0001:0001 01BB FIN_WAIT         59",
        )
        .expect("v6 line");
        assert_eq!(v6.source, "[2001:db8::1]:40000");
        assert_eq!(v6.destination, "[2001:db8::1:1]:443");
        assert_eq!(
            parse_ipvs_conn("TCP zz 9C40 0A000064 0050 0A010001 0050 X 1"),
            None
        );
    }

    #[test]
    fn conntrack_lines_for_a_vip_name_the_real_server() {
        let vip = |addr: IpAddr, port: u16| addr == IpAddr::from([10, 0, 0, 100]) && port == 80;
        let line = "ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.100 sport=40000 dport=80 src=10.1.0.1 dst=10.0.0.1 sport=80 dport=40000 [ASSURED] mark=0 zone=0 use=2";
        assert_eq!(
            parse_conntrack(line, vip),
            Some(Connection {
                protocol: "TCP".into(),
                expires: 431999,
                state: "ESTABLISHED".into(),
                source: "10.0.0.1:40000".into(),
                virtual_address: "10.0.0.100:80".into(),
                destination: "10.1.0.1:80".into(),
            })
        );
        let udp = "ipv4     2 udp      17 29 src=10.0.0.1 dst=10.0.0.100 sport=5000 dport=80 src=10.1.0.2 dst=10.0.0.1 sport=80 dport=5000 mark=0 zone=0 use=2";
        let entry = parse_conntrack(udp, vip).expect("udp");
        assert_eq!((entry.state.as_str(), entry.expires), ("", 29));
        let other = "ipv4     2 tcp      6 10 ESTABLISHED src=10.0.0.1 dst=10.9.9.9 sport=1 dport=22 src=10.9.9.9 dst=10.0.0.1 sport=22 dport=1 use=1";
        assert_eq!(parse_conntrack(other, vip), None);
        assert_eq!(parse_conntrack("garbage", vip), None);
    }
}
