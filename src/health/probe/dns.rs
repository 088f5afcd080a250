//! DNS_CHECK: one query over UDP, judged as keepalived's check_dns.c does.
//!
//! The query (`dns_make_query`) has a random id, the RD bit set, one question of the
//! configured type and class IN for the configured name (made absolute). Within
//! `connect_timeout` a datagram must come back whose header (`dns_recv_thread`) carries
//! our id and the QR bit; anything else (too short for a header, another id, a query) is
//! ignored and we keep waiting. Then the rcode alone decides: NOERROR is up, any other is
//! down. Like keepalived, neither answers nor the echoed question are required: a
//! NOERROR/NODATA answer for the server's own zone is a server that works. Only the header
//! is parsed, so a reply keepalived accepts is never refused here for a quirk further on.

use hickory_proto::op::{Header, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use crate::config::model::{CheckerCommon, DnsCheck, DnsQueryType};

use super::socket::{connect_udp, human};
use super::udp::socket_error_reason;
use super::Outcome;

/// Larger than any plain UDP DNS answer (512 bytes, or an EDNS buffer we never offer).
const RECV_BUFFER: usize = 1500;

/// The DNS header's size; shorter datagrams cannot be answers.
const HEADER_LEN: usize = 12;

pub async fn probe(common: &CheckerCommon, check: &DnsCheck) -> Outcome {
    let id: u16 = rand::random();
    let query = match build_query(id, check) {
        Ok(query) => query,
        Err(reason) => return Outcome::Down(reason),
    };
    let socket = match connect_udp(common) {
        Ok(socket) => socket,
        Err(reason) => return Outcome::Down(reason),
    };
    let exchange = async {
        match socket.send(&query).await {
            Ok(sent) if sent == query.len() => {}
            Ok(sent) => return Outcome::Down(format!("sent {sent} of {} bytes", query.len())),
            Err(err) => return Outcome::Down(socket_error_reason(&err)),
        }
        let mut buffer = vec![0u8; RECV_BUFFER];
        loop {
            let received = match socket.recv(&mut buffer).await {
                Ok(received) => received,
                Err(err) => return Outcome::Down(socket_error_reason(&err)),
            };
            if let Some(outcome) = judge(id, &buffer[..received]) {
                return outcome;
            }
        }
    };
    match tokio::time::timeout(common.connect_timeout, exchange).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Down(format!(
            "no answer within {}",
            human(common.connect_timeout)
        )),
    }
}

/// The query's wire form.
fn build_query(id: u16, check: &DnsCheck) -> Result<Vec<u8>, String> {
    let mut name = Name::from_ascii(&check.name)
        .map_err(|err| format!("query name {:?}: {err}", check.name))?;
    // keepalived ends every name with the root label.
    name.set_fqdn(true);
    let mut message = Message::new();
    message
        .set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(name, record_type(check.query_type)));
    message
        .to_vec()
        .map_err(|err| format!("cannot encode the query: {err}"))
}

fn record_type(kind: DnsQueryType) -> RecordType {
    match kind {
        DnsQueryType::A => RecordType::A,
        DnsQueryType::Ns => RecordType::NS,
        DnsQueryType::Cname => RecordType::CNAME,
        DnsQueryType::Soa => RecordType::SOA,
        DnsQueryType::Mx => RecordType::MX,
        DnsQueryType::Txt => RecordType::TXT,
        DnsQueryType::Aaaa => RecordType::AAAA,
    }
}

/// The verdict on one datagram, or `None` when it is not the answer to our query.
fn judge(id: u16, datagram: &[u8]) -> Option<Outcome> {
    if datagram.len() < HEADER_LEN {
        return None;
    }
    let header = Header::read(&mut BinDecoder::new(datagram)).ok()?;
    if header.id() != id || header.message_type() != MessageType::Response {
        return None;
    }
    let rcode = u16::from(header.response_code());
    Some(if rcode == 0 {
        Outcome::Up
    } else {
        Outcome::Down(format!("rcode {}", rcode_name(rcode)))
    })
}

/// The RFC mnemonics of the header's 4-bit rcodes.
fn rcode_name(rcode: u16) -> String {
    match rcode {
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use hickory_proto::op::ResponseCode;
    use hickory_proto::serialize::binary::BinEncodable;
    use tokio::net::UdpSocket;

    use super::*;
    use crate::health::probe::udp::local_common;

    /// How long the test responder waits for the query before giving up.
    const TEST_WAIT: Duration = Duration::from_secs(5);

    /// What the test responder does with the query it receives.
    #[derive(Clone, Copy)]
    enum Behaviour {
        Answer(ResponseCode),
        /// First an answer with another id, then the right one.
        WrongIdFirst,
        /// A datagram too short for a header, then the right answer.
        RuntFirst,
        Silent,
    }

    /// A one-query DNS responder on `bind`; returns its address and the query it saw.
    async fn responder(
        bind: &str,
        behaviour: Behaviour,
    ) -> (SocketAddr, tokio::task::JoinHandle<Option<Message>>) {
        let socket = UdpSocket::bind(bind).await.expect("bind");
        let addr = socket.local_addr().expect("address");
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            let (n, from) = tokio::time::timeout(TEST_WAIT, socket.recv_from(&mut buf))
                .await
                .ok()?
                .ok()?;
            let query = Message::from_vec(&buf[..n]).ok()?;
            let reply = |id: u16, rcode: ResponseCode| {
                let mut reply = Message::new();
                reply
                    .set_id(id)
                    .set_message_type(MessageType::Response)
                    .set_op_code(OpCode::Query)
                    .set_response_code(rcode)
                    .add_queries(query.queries().to_vec());
                reply.to_bytes().expect("encode")
            };
            match behaviour {
                Behaviour::Answer(rcode) => {
                    socket.send_to(&reply(query.id(), rcode), from).await.ok()?;
                }
                Behaviour::WrongIdFirst => {
                    let wrong = reply(query.id().wrapping_add(1), ResponseCode::ServFail);
                    socket.send_to(&wrong, from).await.ok()?;
                    socket
                        .send_to(&reply(query.id(), ResponseCode::NoError), from)
                        .await
                        .ok()?;
                }
                Behaviour::RuntFirst => {
                    socket.send_to(&[0u8; 5], from).await.ok()?;
                    socket
                        .send_to(&reply(query.id(), ResponseCode::NoError), from)
                        .await
                        .ok()?;
                }
                Behaviour::Silent => {}
            }
            Some(query)
        });
        (addr, task)
    }

    fn dns(query_type: DnsQueryType, name: &str) -> DnsCheck {
        DnsCheck {
            query_type,
            name: name.into(),
        }
    }

    fn quick(addr: SocketAddr) -> CheckerCommon {
        CheckerCommon {
            connect_timeout: Duration::from_millis(500),
            ..local_common(addr)
        }
    }

    #[tokio::test]
    async fn noerror_is_up_and_the_query_is_keepalived_s() {
        let (addr, seen) = responder("127.0.0.1:0", Behaviour::Answer(ResponseCode::NoError)).await;
        let outcome = probe(&quick(addr), &dns(DnsQueryType::Soa, ".")).await;
        assert_eq!(outcome, Outcome::Up);
        let query = seen.await.expect("responder").expect("a query");
        assert_eq!(query.message_type(), MessageType::Query);
        assert!(query.recursion_desired());
        assert_eq!(query.queries().len(), 1);
        assert_eq!(query.queries()[0].query_type(), RecordType::SOA);
        assert!(query.queries()[0].name().is_root());
    }

    #[tokio::test]
    async fn relative_names_are_made_absolute() {
        let (addr, seen) = responder("127.0.0.1:0", Behaviour::Answer(ResponseCode::NoError)).await;
        let outcome = probe(&quick(addr), &dns(DnsQueryType::Aaaa, "www.example.org")).await;
        assert_eq!(outcome, Outcome::Up);
        let query = seen.await.expect("responder").expect("a query");
        assert_eq!(query.queries()[0].query_type(), RecordType::AAAA);
        assert_eq!(query.queries()[0].name().to_ascii(), "www.example.org.");
    }

    #[tokio::test]
    async fn servfail_is_down() {
        let (addr, _seen) =
            responder("127.0.0.1:0", Behaviour::Answer(ResponseCode::ServFail)).await;
        assert_eq!(
            probe(&quick(addr), &dns(DnsQueryType::A, "example.org")).await,
            Outcome::Down("rcode SERVFAIL".into())
        );
    }

    #[tokio::test]
    async fn nxdomain_is_down() {
        let (addr, _seen) =
            responder("127.0.0.1:0", Behaviour::Answer(ResponseCode::NXDomain)).await;
        assert_eq!(
            probe(&quick(addr), &dns(DnsQueryType::A, "nowhere.example")).await,
            Outcome::Down("rcode NXDOMAIN".into())
        );
    }

    #[tokio::test]
    async fn an_answer_with_another_id_is_ignored() {
        let (addr, _seen) = responder("127.0.0.1:0", Behaviour::WrongIdFirst).await;
        assert_eq!(
            probe(&quick(addr), &dns(DnsQueryType::Soa, ".")).await,
            Outcome::Up
        );
    }

    #[tokio::test]
    async fn a_runt_datagram_is_ignored() {
        let (addr, _seen) = responder("127.0.0.1:0", Behaviour::RuntFirst).await;
        assert_eq!(
            probe(&quick(addr), &dns(DnsQueryType::Soa, ".")).await,
            Outcome::Up
        );
    }

    #[tokio::test]
    async fn silence_is_down() {
        let (addr, _seen) = responder("127.0.0.1:0", Behaviour::Silent).await;
        assert_eq!(
            probe(&quick(addr), &dns(DnsQueryType::Soa, ".")).await,
            Outcome::Down("no answer within 500ms".into())
        );
    }

    #[tokio::test]
    async fn closed_port_is_down() {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|socket| socket.local_addr())
            .expect("a free port");
        assert_eq!(
            probe(&quick(closed), &dns(DnsQueryType::Soa, ".")).await,
            Outcome::Down("ICMP port unreachable".into())
        );
    }

    #[tokio::test]
    async fn over_ipv6() {
        if std::net::UdpSocket::bind("[::1]:0").is_err() {
            return;
        }
        let (addr, _seen) = responder("[::1]:0", Behaviour::Answer(ResponseCode::NoError)).await;
        assert_eq!(
            probe(&quick(addr), &dns(DnsQueryType::Ns, ".")).await,
            Outcome::Up
        );
    }

    #[test]
    fn a_bad_name_is_reported() {
        let long_label = "a".repeat(64);
        let Err(reason) = build_query(1, &dns(DnsQueryType::A, &long_label)) else {
            panic!("a 64-byte label encodes");
        };
        assert!(reason.starts_with("query name"), "{reason}");
    }
}
