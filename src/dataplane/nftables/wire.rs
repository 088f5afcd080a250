//! The nf_tables netlink messages this backend sends and reads, encoded and decoded here on
//! plain byte buffers (constants from `include/uapi/linux/netfilter/nf_tables.h`,
//! `nfnetlink.h` and nftables' `include/{proto,datatype}.h` for the set type annotations).
//!
//! Only the few message types the backend needs: tables, base chains, maps of
//! `slot → address[ . port]`, rules made of `meta`/`payload`/`cmp`/`counter`/`hash`/
//! `lookup`/`nat`/`immediate`/`fwd` expressions, set elements, and the dumps that read them
//! back. Every request is byte-for-byte what `nft` 1.0.6 sends for the same statement (golden
//! tests below, captured with `nft --debug=mnl`), so `nft list ruleset` shows our objects
//! exactly as if they had been written with nft: maps keep their `typeof` annotation and
//! rules their comment.
//!
//! Parsing never panics: [`attrs`] stops at the first truncated attribute, and every
//! decoder returns `None` on a message it cannot read.

use std::net::IpAddr;

/// `NFNL_SUBSYS_NFTABLES`: the high byte of every nf_tables message type.
const SUBSYS_NFTABLES: u16 = 10;
/// `NFNL_MSG_BATCH_BEGIN`, `NFNL_MSG_BATCH_END`.
const MSG_BATCH_BEGIN: u16 = 0x10;
const MSG_BATCH_END: u16 = 0x11;

/// `enum nf_tables_msg_types`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum MsgType {
    NewTable = 0,
    GetTable = 1,
    DelTable = 2,
    NewChain = 3,
    GetChain = 4,
    DelChain = 5,
    NewRule = 6,
    GetRule = 7,
    DelRule = 8,
    NewSet = 9,
    GetSet = 10,
    DelSet = 11,
    NewSetElem = 12,
    GetSetElem = 13,
    DelSetElem = 14,
    NewGen = 15,
    GetGen = 16,
}

impl MsgType {
    /// The `nlmsg_type` of this message.
    pub fn nlmsg_type(self) -> u16 {
        (SUBSYS_NFTABLES << 8) | self as u16
    }
}

/// `nlmsghdr` flags.
pub mod flags {
    pub const REQUEST: u16 = 0x1;
    pub const MULTI: u16 = 0x2;
    pub const ACK: u16 = 0x4;
    pub const DUMP: u16 = 0x300;
    pub const REPLACE: u16 = 0x100;
    pub const CREATE: u16 = 0x400;
    pub const APPEND: u16 = 0x800;
}

/// `NLMSG_ERROR`, `NLMSG_DONE`.
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;

const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;
const NLMSG_HDR_LEN: usize = 16;
const NFGENMSG_LEN: usize = 4;

/// `NFPROTO_*` of our two tables, and the address families of rules.
pub const NFPROTO_INET: u8 = 1;
pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_NETDEV: u8 = 5;
pub const NFPROTO_IPV6: u8 = 10;

// Attribute numbers (`enum nft_*_attributes`).
const TABLE_NAME: u16 = 1;
const TABLE_FLAGS: u16 = 2;
const CHAIN_TABLE: u16 = 1;
const CHAIN_NAME: u16 = 3;
const CHAIN_HOOK: u16 = 4;
const CHAIN_POLICY: u16 = 5;
const CHAIN_TYPE: u16 = 7;
const HOOK_NUM: u16 = 1;
const HOOK_PRIORITY: u16 = 2;
const HOOK_DEV: u16 = 3;
const RULE_TABLE: u16 = 1;
const RULE_CHAIN: u16 = 2;
const RULE_HANDLE: u16 = 3;
const RULE_EXPRESSIONS: u16 = 4;
const RULE_USERDATA: u16 = 7;
const LIST_ELEM: u16 = 1;
const EXPR_NAME: u16 = 1;
const EXPR_DATA: u16 = 2;
const SET_TABLE: u16 = 1;
const SET_NAME: u16 = 2;
const SET_FLAGS: u16 = 3;
const SET_KEY_TYPE: u16 = 4;
const SET_KEY_LEN: u16 = 5;
const SET_DATA_TYPE: u16 = 6;
const SET_DATA_LEN: u16 = 7;
const SET_DESC: u16 = 9;
const SET_DESC_SIZE: u16 = 1;
const SET_ID: u16 = 10;
const SET_USERDATA: u16 = 13;
const SET_ELEM_LIST_TABLE: u16 = 1;
const SET_ELEM_LIST_SET: u16 = 2;
const SET_ELEM_LIST_ELEMENTS: u16 = 3;
const SET_ELEM_LIST_SET_ID: u16 = 4;
const SET_ELEM_KEY: u16 = 1;
const SET_ELEM_DATA: u16 = 2;
const DATA_VALUE: u16 = 1;
const GEN_ID: u16 = 1;
const COUNTER_BYTES: u16 = 1;
const COUNTER_PACKETS: u16 = 2;

/// `NFT_SET_MAP`.
const SET_F_MAP: u32 = 0x8;
/// nftables datatype ids (`enum datatypes`) and the concatenation rule `(a << 6) | b`.
const TYPE_INTEGER: u32 = 4;
const TYPE_IPADDR: u32 = 7;
const TYPE_IP6ADDR: u32 = 8;
const TYPE_INET_SERVICE: u32 = 13;
const TYPE_BITS: u32 = 6;
/// `NF_ACCEPT` as a chain policy.
const POLICY_ACCEPT: u32 = 1;

/// Elements per `NEWSETELEM`/`DELSETELEM` message: the element list is one attribute, whose
/// length field is 16 bits (≤ 64 KiB); an IPv6 element with a port takes 48 bytes.
pub const ELEMENTS_PER_MESSAGE: usize = 1024;

// ===== attribute writer =====

/// Appends netlink attributes to a buffer; nests are closed by [`Writer::end`].
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    pub fn bytes(&mut self, kind: u16, value: &[u8]) {
        let len = (4 + value.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.pad();
    }

    pub fn be32(&mut self, kind: u16, value: u32) {
        self.bytes(kind, &value.to_be_bytes());
    }

    pub fn be64(&mut self, kind: u16, value: u64) {
        self.bytes(kind, &value.to_be_bytes());
    }

    /// A NUL-terminated string.
    pub fn str(&mut self, kind: u16, value: &str) {
        let mut v = Vec::with_capacity(value.len() + 1);
        v.extend_from_slice(value.as_bytes());
        v.push(0);
        self.bytes(kind, &v);
    }

    /// Opens a nested attribute; returns its offset for [`Writer::end`].
    pub fn begin(&mut self, kind: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        at
    }

    pub fn end(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    /// `NFTA_DATA_VALUE` inside a nest of `kind`.
    fn data(&mut self, kind: u16, value: &[u8]) {
        let at = self.begin(kind);
        self.bytes(DATA_VALUE, value);
        self.end(at);
    }
}

// ===== messages and batches =====

/// One transaction: `BATCH_BEGIN`, the messages, `BATCH_END`, sent in one `sendmsg`
/// (the kernel applies a batch only if it arrives whole).
pub struct Batch {
    pub buf: Vec<u8>,
    seq: u32,
    /// Sequence number → what the message did, for naming the object of a kernel error.
    pub objects: Vec<(u32, String)>,
    first_seq: u32,
}

impl Batch {
    pub fn new(first_seq: u32) -> Batch {
        let mut b = Batch {
            buf: Vec::new(),
            seq: first_seq,
            objects: Vec::new(),
            first_seq,
        };
        b.control(MSG_BATCH_BEGIN);
        b
    }

    fn control(&mut self, kind: u16) {
        let seq = self.seq;
        self.seq += 1;
        let start = self.buf.len();
        header(
            &mut self.buf,
            kind,
            flags::REQUEST,
            seq,
            0,
            0,
            SUBSYS_NFTABLES,
        );
        fix_len(&mut self.buf, start);
    }

    /// Appends one message whose attributes `fill` writes; `object` names it in errors.
    pub fn push(
        &mut self,
        kind: MsgType,
        msg_flags: u16,
        family: u8,
        object: impl FnOnce() -> String,
        fill: impl FnOnce(&mut Writer),
    ) {
        let seq = self.seq;
        self.seq += 1;
        let start = self.buf.len();
        let mut w = Writer {
            buf: std::mem::take(&mut self.buf),
        };
        header(
            &mut w.buf,
            kind.nlmsg_type(),
            flags::REQUEST | msg_flags,
            seq,
            family,
            0,
            0,
        );
        fill(&mut w);
        self.buf = w.buf;
        fix_len(&mut self.buf, start);
        self.objects.push((seq, object()));
    }

    /// Number of object messages (begin/end excluded).
    pub fn messages(&self) -> usize {
        self.objects.len()
    }

    /// Closes the batch; returns the bytes and the sequence number to use next.
    pub fn finish(mut self) -> (Vec<u8>, Vec<(u32, String)>, u32) {
        self.control(MSG_BATCH_END);
        (self.buf, self.objects, self.seq)
    }

    pub fn first_seq(&self) -> u32 {
        self.first_seq
    }
}

fn header(buf: &mut Vec<u8>, kind: u16, f: u16, seq: u32, family: u8, version: u8, res: u16) {
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&f.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&[family, version]);
    buf.extend_from_slice(&res.to_be_bytes());
}

fn fix_len(buf: &mut [u8], start: usize) {
    let len = (buf.len() - start) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

/// A request outside a batch (a get or a dump).
pub fn request(
    kind: MsgType,
    msg_flags: u16,
    family: u8,
    seq: u32,
    fill: impl FnOnce(&mut Writer),
) -> Vec<u8> {
    let mut w = Writer::default();
    header(
        &mut w.buf,
        kind.nlmsg_type(),
        flags::REQUEST | msg_flags,
        seq,
        family,
        0,
        0,
    );
    fill(&mut w);
    fix_len(&mut w.buf, 0);
    w.buf
}

// ===== objects =====

/// `add table FAMILY NAME`.
pub fn new_table(b: &mut Batch, family: u8, name: &str) {
    b.push(
        MsgType::NewTable,
        flags::CREATE,
        family,
        || format!("table {name}"),
        |w| {
            w.str(TABLE_NAME, name);
            w.be32(TABLE_FLAGS, 0);
        },
    );
}

pub fn del_table(b: &mut Batch, family: u8, name: &str) {
    b.push(
        MsgType::DelTable,
        0,
        family,
        || format!("delete table {name}"),
        |w| w.str(TABLE_NAME, name),
    );
}

/// The hook of a base chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseChain<'a> {
    /// `nat` or `filter`.
    pub kind: &'a str,
    /// `NF_INET_PRE_ROUTING` or `NF_NETDEV_INGRESS` (both 0).
    pub hook: u32,
    pub priority: i32,
    pub device: Option<&'a str>,
}

/// `add chain FAMILY TABLE NAME { type … hook … priority …; policy accept; }`.
pub fn new_chain(b: &mut Batch, family: u8, table: &str, name: &str, base: &BaseChain<'_>) {
    b.push(
        MsgType::NewChain,
        flags::CREATE,
        family,
        || format!("chain {name}"),
        |w| {
            w.str(CHAIN_TABLE, table);
            w.str(CHAIN_NAME, name);
            w.str(CHAIN_TYPE, base.kind);
            w.be32(CHAIN_POLICY, POLICY_ACCEPT);
            let hook = w.begin(CHAIN_HOOK);
            w.be32(HOOK_NUM, base.hook);
            w.be32(HOOK_PRIORITY, base.priority as u32);
            if let Some(dev) = base.device {
                w.str(HOOK_DEV, dev);
            }
            w.end(hook);
        },
    );
}

pub fn del_chain(b: &mut Batch, family: u8, table: &str, name: &str) {
    b.push(
        MsgType::DelChain,
        0,
        family,
        || format!("delete chain {name}"),
        |w| {
            w.str(CHAIN_TABLE, table);
            w.str(CHAIN_NAME, name);
        },
    );
}

/// What a Maglev map holds: `typeof numgen inc mod 2 : ADDR daddr [. PROTO dport]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MapShape {
    pub v6: bool,
    /// `Some(protocol number)`: the value is address . port of that protocol.
    pub port_of: Option<u8>,
}

impl MapShape {
    /// Bytes of one element value (each part padded to 4 bytes, as nft concatenates).
    pub fn data_len(self) -> usize {
        let addr = if self.v6 { 16 } else { 4 };
        addr + if self.port_of.is_some() { 4 } else { 0 }
    }

    fn data_type(self) -> u32 {
        let addr = if self.v6 { TYPE_IP6ADDR } else { TYPE_IPADDR };
        match self.port_of {
            Some(_) => (addr << TYPE_BITS) | TYPE_INET_SERVICE,
            None => addr,
        }
    }

    /// The text of the `typeof` clause, for logs and docs.
    pub fn describe(self) -> String {
        let ip = if self.v6 { "ip6" } else { "ip" };
        match self.port_of {
            Some(p) => format!(
                "typeof numgen inc mod 2 : {ip} daddr . {} dport",
                proto_name(p)
            ),
            None => format!("typeof numgen inc mod 2 : {ip} daddr"),
        }
    }
}

fn proto_name(p: u8) -> &'static str {
    match p {
        17 => "udp",
        132 => "sctp",
        _ => "tcp",
    }
}

/// One element value: an address and maybe a port, as the kernel stores it.
pub fn element_value(addr: &IpAddr, port: Option<u16>) -> Vec<u8> {
    let mut v = match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    if let Some(p) = port {
        v.extend_from_slice(&p.to_be_bytes());
        v.extend_from_slice(&[0, 0]);
    }
    v
}

// nftables' set user data (`enum nftnl_udata_set_types`, `NFTNL_UDATA_SET_TYPEOF_*`) and the
// ids it stores for the typeof expressions (`enum expr_types`, `enum proto_desc_id`, header
// field indexes): what lets `nft list` print `typeof …` instead of raw types.
const UDATA_SET_KEYBYTEORDER: u8 = 0;
const UDATA_SET_DATABYTEORDER: u8 = 1;
const UDATA_SET_KEY_TYPEOF: u8 = 3;
const UDATA_SET_DATA_TYPEOF: u8 = 4;
const UDATA_SET_DATA_INTERVAL: u8 = 6;
const UDATA_TYPEOF_EXPR: u8 = 0;
const UDATA_TYPEOF_DATA: u8 = 1;
const EXPR_PAYLOAD: u32 = 7;
const EXPR_CONCAT: u32 = 13;
const EXPR_NUMGEN: u32 = 23;
const BYTEORDER_INVALID: u32 = 0;
const BYTEORDER_HOST: u32 = 1;
const BYTEORDER_BIG: u32 = 2;
const PROTO_DESC_UDP: u32 = 6;
const PROTO_DESC_TCP: u32 = 8;
const PROTO_DESC_SCTP: u32 = 10;
const PROTO_DESC_IP: u32 = 12;
const PROTO_DESC_IP6: u32 = 13;
const IPHDR_DADDR: u32 = 12;
const IP6HDR_DADDR: u32 = 9;
const THDR_DPORT: u32 = 2;

/// nftnl's user-data TLVs: one byte type, one byte length, the value.
#[derive(Default)]
struct Udata(Vec<u8>);

impl Udata {
    fn put(&mut self, kind: u8, value: &[u8]) {
        self.0.push(kind);
        self.0.push(value.len() as u8);
        self.0.extend_from_slice(value);
    }

    fn u32(&mut self, kind: u8, value: u32) {
        self.put(kind, &value.to_ne_bytes());
    }

    fn nest(&mut self, kind: u8, inner: Udata) {
        self.put(kind, &inner.0);
    }

    /// `{ TYPEOF_EXPR: expr, TYPEOF_DATA: data }`.
    fn typeof_expr(expr: u32, data: Udata) -> Udata {
        let mut u = Udata::default();
        u.u32(UDATA_TYPEOF_EXPR, expr);
        u.nest(UDATA_TYPEOF_DATA, data);
        u
    }

    fn payload(desc: u32, field: u32) -> Udata {
        let mut d = Udata::default();
        d.u32(0, desc);
        d.u32(1, field);
        Udata::typeof_expr(EXPR_PAYLOAD, d)
    }
}

fn set_udata(shape: MapShape) -> Vec<u8> {
    let mut u = Udata::default();
    u.u32(UDATA_SET_KEYBYTEORDER, BYTEORDER_HOST);
    let daddr = if shape.v6 {
        Udata::payload(PROTO_DESC_IP6, IP6HDR_DADDR)
    } else {
        Udata::payload(PROTO_DESC_IP, IPHDR_DADDR)
    };
    let data = match shape.port_of {
        Some(p) => {
            let desc = match p {
                17 => PROTO_DESC_UDP,
                132 => PROTO_DESC_SCTP,
                _ => PROTO_DESC_TCP,
            };
            let mut parts = Udata::default();
            parts.nest(0, daddr);
            parts.nest(1, Udata::payload(desc, THDR_DPORT));
            u.u32(UDATA_SET_DATABYTEORDER, BYTEORDER_INVALID);
            Udata::typeof_expr(EXPR_CONCAT, parts)
        }
        None => {
            u.u32(UDATA_SET_DATABYTEORDER, BYTEORDER_BIG);
            daddr
        }
    };
    let mut numgen = Udata::default();
    numgen.u32(0, 0); // NFT_NG_INCREMENTAL
    numgen.u32(1, 2); // mod 2
    numgen.u32(2, 0); // offset
    u.nest(
        UDATA_SET_KEY_TYPEOF,
        Udata::typeof_expr(EXPR_NUMGEN, numgen),
    );
    u.nest(UDATA_SET_DATA_TYPEOF, data);
    u.u32(UDATA_SET_DATA_INTERVAL, 0);
    u.0
}

/// `add map FAMILY TABLE NAME { typeof …; size SIZE; }`; `id` lets rules and elements of
/// the same batch refer to it. With a size the kernel sizes its hash table once (and picks
/// its fixed-size hash for 4-byte keys) instead of growing it while a million elements go
/// in: the full load is several times faster.
pub fn new_map(
    b: &mut Batch,
    family: u8,
    table: &str,
    name: &str,
    shape: MapShape,
    size: Option<u32>,
    id: u32,
) {
    b.push(
        MsgType::NewSet,
        flags::CREATE,
        family,
        || format!("map {name}"),
        |w| {
            w.str(SET_TABLE, table);
            w.str(SET_NAME, name);
            w.be32(SET_FLAGS, SET_F_MAP);
            w.be32(SET_KEY_TYPE, TYPE_INTEGER);
            w.be32(SET_KEY_LEN, 4);
            w.be32(SET_DATA_TYPE, shape.data_type());
            w.be32(SET_DATA_LEN, shape.data_len() as u32);
            w.be32(SET_ID, id);
            if let Some(size) = size {
                let desc = w.begin(SET_DESC);
                w.be32(SET_DESC_SIZE, size);
                w.end(desc);
            }
            w.bytes(SET_USERDATA, &set_udata(shape));
        },
    );
}

pub fn del_map(b: &mut Batch, family: u8, table: &str, name: &str) {
    b.push(
        MsgType::DelSet,
        0,
        family,
        || format!("delete map {name}"),
        |w| {
            w.str(SET_TABLE, table);
            w.str(SET_NAME, name);
        },
    );
}

/// `add element … { slot : value, … }` (`values` is `None` for a delete), in messages of
/// [`ELEMENTS_PER_MESSAGE`].
pub fn map_elements(
    b: &mut Batch,
    family: u8,
    table: &str,
    map: &str,
    map_id: Option<u32>,
    elements: &[(u32, &[u8])],
    delete: bool,
) {
    for chunk in elements.chunks(ELEMENTS_PER_MESSAGE) {
        let (kind, f, verb) = if delete {
            (MsgType::DelSetElem, 0, "delete")
        } else {
            (MsgType::NewSetElem, flags::CREATE, "add")
        };
        b.push(
            kind,
            f,
            family,
            || format!("{verb} {} elements of map {map}", chunk.len()),
            |w| {
                w.str(SET_ELEM_LIST_TABLE, table);
                w.str(SET_ELEM_LIST_SET, map);
                if let Some(id) = map_id {
                    w.be32(SET_ELEM_LIST_SET_ID, id);
                }
                let list = w.begin(SET_ELEM_LIST_ELEMENTS);
                // libnftnl numbers the elements of a list from 1; the kernel ignores it.
                for (i, (slot, value)) in chunk.iter().enumerate() {
                    let elem = w.begin(i as u16 + 1);
                    w.data(SET_ELEM_KEY, &slot.to_ne_bytes());
                    if !delete {
                        w.data(SET_ELEM_DATA, value);
                    }
                    w.end(elem);
                }
                w.end(list);
            },
        );
    }
}

// ===== rules =====

/// `NFT_META_*` keys we match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaKey {
    Protocol = 1,
    Mark = 3,
    NfProto = 15,
    L4Proto = 16,
    PktType = 19,
}

/// `NFT_PAYLOAD_*_HEADER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    Network = 1,
    Transport = 2,
}

/// One expression of a rule, in the register model of `nf_tables.h` (registers 1–4 are the
/// 16-byte ones, 8–23 the 4-byte ones).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Meta {
        key: MetaKey,
        dreg: u32,
    },
    Payload {
        base: Base,
        offset: u32,
        len: u32,
        dreg: u32,
    },
    CmpEq {
        sreg: u32,
        data: Vec<u8>,
    },
    Counter,
    Immediate {
        dreg: u32,
        data: Vec<u8>,
    },
    /// `jhash(sreg, len, seed) % modulus`.
    Jhash {
        sreg: u32,
        dreg: u32,
        len: u32,
        modulus: u32,
        seed: u32,
    },
    /// The map by name, and by batch id when it is created in the same batch.
    Lookup {
        sreg: u32,
        dreg: u32,
        set: String,
        set_id: Option<u32>,
    },
    /// `dnat` to the address in `addr` and, if `proto` is set, the port in that register.
    Dnat {
        family: u8,
        addr: u32,
        proto: Option<u32>,
    },
    Fwd {
        dev: u32,
        addr: u32,
        family: u8,
    },
}

const META_DREG: u16 = 1;
const META_KEY: u16 = 2;
const PAYLOAD_DREG: u16 = 1;
const PAYLOAD_BASE: u16 = 2;
const PAYLOAD_OFFSET: u16 = 3;
const PAYLOAD_LEN: u16 = 4;
const CMP_SREG: u16 = 1;
const CMP_OP: u16 = 2;
const CMP_DATA: u16 = 3;
const IMMEDIATE_DREG: u16 = 1;
const IMMEDIATE_DATA: u16 = 2;
const HASH_SREG: u16 = 1;
const HASH_DREG: u16 = 2;
const HASH_LEN: u16 = 3;
const HASH_MODULUS: u16 = 4;
const HASH_SEED: u16 = 5;
const HASH_OFFSET: u16 = 6;
const HASH_TYPE: u16 = 7;
const LOOKUP_SET: u16 = 1;
const LOOKUP_SREG: u16 = 2;
const LOOKUP_DREG: u16 = 3;
const LOOKUP_SET_ID: u16 = 4;
const NAT_TYPE: u16 = 1;
const NAT_FAMILY: u16 = 2;
const NAT_REG_ADDR_MIN: u16 = 3;
const NAT_REG_PROTO_MIN: u16 = 5;
const FWD_SREG_DEV: u16 = 1;
const FWD_SREG_ADDR: u16 = 2;
const FWD_NFPROTO: u16 = 3;
/// `NFT_NAT_DNAT`.
const NAT_DNAT: u32 = 1;

impl Expr {
    fn name(&self) -> &'static str {
        match self {
            Expr::Meta { .. } => "meta",
            Expr::Payload { .. } => "payload",
            Expr::CmpEq { .. } => "cmp",
            Expr::Counter => "counter",
            Expr::Immediate { .. } => "immediate",
            Expr::Jhash { .. } => "hash",
            Expr::Lookup { .. } => "lookup",
            Expr::Dnat { .. } => "nat",
            Expr::Fwd { .. } => "fwd",
        }
    }

    fn encode(&self, w: &mut Writer) {
        let elem = w.begin(LIST_ELEM);
        w.str(EXPR_NAME, self.name());
        let data = w.begin(EXPR_DATA);
        match self {
            Expr::Meta { key, dreg } => {
                w.be32(META_KEY, *key as u32);
                w.be32(META_DREG, *dreg);
            }
            Expr::Payload {
                base,
                offset,
                len,
                dreg,
            } => {
                w.be32(PAYLOAD_DREG, *dreg);
                w.be32(PAYLOAD_BASE, *base as u32);
                w.be32(PAYLOAD_OFFSET, *offset);
                w.be32(PAYLOAD_LEN, *len);
            }
            Expr::CmpEq { sreg, data } => {
                w.be32(CMP_SREG, *sreg);
                w.be32(CMP_OP, 0);
                w.data(CMP_DATA, data);
            }
            Expr::Counter => {}
            Expr::Immediate { dreg, data } => {
                w.be32(IMMEDIATE_DREG, *dreg);
                w.data(IMMEDIATE_DATA, data);
            }
            Expr::Jhash {
                sreg,
                dreg,
                len,
                modulus,
                seed,
            } => {
                w.be32(HASH_SREG, *sreg);
                w.be32(HASH_DREG, *dreg);
                w.be32(HASH_LEN, *len);
                w.be32(HASH_MODULUS, *modulus);
                w.be32(HASH_SEED, *seed);
                w.be32(HASH_OFFSET, 0);
                w.be32(HASH_TYPE, 0);
            }
            Expr::Lookup {
                sreg,
                dreg,
                set,
                set_id,
            } => {
                w.be32(LOOKUP_SREG, *sreg);
                w.be32(LOOKUP_DREG, *dreg);
                w.str(LOOKUP_SET, set);
                if let Some(id) = set_id {
                    w.be32(LOOKUP_SET_ID, *id);
                }
            }
            Expr::Dnat {
                family,
                addr,
                proto,
            } => {
                w.be32(NAT_TYPE, NAT_DNAT);
                w.be32(NAT_FAMILY, u32::from(*family));
                w.be32(NAT_REG_ADDR_MIN, *addr);
                if let Some(p) = proto {
                    w.be32(NAT_REG_PROTO_MIN, *p);
                }
            }
            Expr::Fwd { dev, addr, family } => {
                w.be32(FWD_SREG_DEV, *dev);
                w.be32(FWD_SREG_ADDR, *addr);
                w.be32(FWD_NFPROTO, u32::from(*family));
            }
        }
        w.end(data);
        w.end(elem);
    }
}

/// The expressions of a rule, encoded (the bytes a rule digest is computed over).
pub fn encode_exprs(exprs: &[Expr]) -> Vec<u8> {
    let mut w = Writer::default();
    for e in exprs {
        e.encode(&mut w);
    }
    w.buf
}

/// `NFTNL_UDATA_RULE_COMMENT`.
fn rule_udata(comment: &str) -> Vec<u8> {
    let mut u = Udata::default();
    let mut text = comment.as_bytes().to_vec();
    text.push(0);
    u.put(0, &text);
    u.0
}

/// Where a rule goes: appended, or in place of the rule with this handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    Append,
    Replace(u64),
}

/// `add rule …` / `replace rule … handle H …` with `exprs` (already encoded) and a comment.
pub fn new_rule(
    b: &mut Batch,
    family: u8,
    table: &str,
    chain: &str,
    exprs: &[u8],
    comment: &str,
    placement: Placement,
) {
    let f = match placement {
        Placement::Append => flags::CREATE | flags::APPEND,
        Placement::Replace(_) => flags::REPLACE,
    };
    b.push(
        MsgType::NewRule,
        f,
        family,
        || format!("rule \"{comment}\" in chain {chain}"),
        |w| {
            w.str(RULE_TABLE, table);
            w.str(RULE_CHAIN, chain);
            if let Placement::Replace(handle) = placement {
                w.be64(RULE_HANDLE, handle);
            }
            let list = w.begin(RULE_EXPRESSIONS);
            w.buf.extend_from_slice(exprs);
            w.end(list);
            w.bytes(RULE_USERDATA, &rule_udata(comment));
        },
    );
}

pub fn del_rule(b: &mut Batch, family: u8, table: &str, chain: &str, handle: u64) {
    b.push(
        MsgType::DelRule,
        0,
        family,
        || format!("delete rule handle {handle} in chain {chain}"),
        |w| {
            w.str(RULE_TABLE, table);
            w.str(RULE_CHAIN, chain);
            w.be64(RULE_HANDLE, handle);
        },
    );
}

// ===== reading =====

/// A netlink message as received: its type, flags, sequence number and the payload after
/// the `nlmsghdr` (for nf_tables messages, starting with the `nfgenmsg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub payload: &'a [u8],
}

/// The messages in a received buffer; stops at the first malformed header.
pub fn messages(buf: &[u8]) -> impl Iterator<Item = Message<'_>> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        if rest.len() < NLMSG_HDR_LEN {
            return None;
        }
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len < NLMSG_HDR_LEN || len > rest.len() {
            return None;
        }
        let m = Message {
            kind: u16::from_ne_bytes([rest[4], rest[5]]),
            flags: u16::from_ne_bytes([rest[6], rest[7]]),
            seq: u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]),
            payload: &rest[NLMSG_HDR_LEN..len],
        };
        rest = rest.get(len.div_ceil(4) * 4..).unwrap_or_default();
        Some(m)
    })
}

/// The errno of an `NLMSG_ERROR` payload (0 for an ack) and the sequence number of the
/// request it answers.
pub fn error_of(m: &Message<'_>) -> Option<(i32, u32)> {
    let p = m.payload;
    if p.len() < 4 + NLMSG_HDR_LEN {
        return None;
    }
    let errno = -i32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
    let seq = u32::from_ne_bytes([p[12], p[13], p[14], p[15]]);
    Some((errno, seq))
}

/// The attributes in `buf`: (type without flags, payload). Stops at the first truncated one.
pub fn attrs(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > rest.len() {
            return None;
        }
        let value = &rest[4..len];
        let next = (len.div_ceil(4) * 4).min(rest.len());
        rest = &rest[next..];
        Some((kind, value))
    })
}

fn attr(buf: &[u8], kind: u16) -> Option<&[u8]> {
    attrs(buf).find(|(k, _)| *k == kind).map(|(_, v)| v)
}

fn c_str(v: &[u8]) -> Option<String> {
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    std::str::from_utf8(&v[..end]).ok().map(str::to_owned)
}

fn be32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

fn be64(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.get(..8)?.try_into().ok()?))
}

/// The attributes of an nf_tables message (after its `nfgenmsg`).
fn body<'a>(m: &Message<'a>) -> &'a [u8] {
    m.payload.get(NFGENMSG_LEN..).unwrap_or_default()
}

/// `NEWGEN`: the ruleset generation.
pub fn gen_id(m: &Message<'_>) -> Option<u32> {
    be32(attr(body(m), GEN_ID)?)
}

/// `NEWTABLE`: the table's name.
pub fn table_name(m: &Message<'_>) -> Option<String> {
    c_str(attr(body(m), TABLE_NAME)?)
}

/// `NEWCHAIN` / `NEWSET`: (table, name); both put the table in attribute 1 and the name in
/// 3 (chains) or 2 (sets).
pub fn chain_name(m: &Message<'_>) -> Option<(String, String)> {
    let b = body(m);
    Some((c_str(attr(b, CHAIN_TABLE)?)?, c_str(attr(b, CHAIN_NAME)?)?))
}

pub fn set_name(m: &Message<'_>) -> Option<(String, String)> {
    let b = body(m);
    Some((c_str(attr(b, SET_TABLE)?)?, c_str(attr(b, SET_NAME)?)?))
}

/// A rule as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    pub table: String,
    pub chain: String,
    pub handle: u64,
    pub comment: String,
    pub packets: u64,
    pub bytes: u64,
}

/// `NEWRULE`: table, chain, handle, comment and the first counter.
pub fn rule_info(m: &Message<'_>) -> Option<RuleInfo> {
    let b = body(m);
    let comment = attr(b, RULE_USERDATA)
        .and_then(|u| udata_find(u, 0))
        .and_then(c_str)
        .unwrap_or_default();
    let mut packets = 0;
    let mut bytes = 0;
    if let Some(list) = attr(b, RULE_EXPRESSIONS) {
        for (_, e) in attrs(list) {
            if attr(e, EXPR_NAME).and_then(c_str).as_deref() == Some("counter") {
                let data = attr(e, EXPR_DATA).unwrap_or_default();
                packets = attr(data, COUNTER_PACKETS).and_then(be64).unwrap_or(0);
                bytes = attr(data, COUNTER_BYTES).and_then(be64).unwrap_or(0);
                break;
            }
        }
    }
    Some(RuleInfo {
        table: c_str(attr(b, RULE_TABLE)?)?,
        chain: c_str(attr(b, RULE_CHAIN)?)?,
        handle: be64(attr(b, RULE_HANDLE)?)?,
        comment,
        packets,
        bytes,
    })
}

fn udata_find(buf: &[u8], kind: u8) -> Option<&[u8]> {
    let mut rest = buf;
    while rest.len() >= 2 {
        let (k, len) = (rest[0], rest[1] as usize);
        let value = rest.get(2..2 + len)?;
        if k == kind {
            return Some(value);
        }
        rest = &rest[2 + len..];
    }
    None
}

/// The (slot, value) pairs of map elements.
pub type Elements = Vec<(u32, Vec<u8>)>;

/// `NEWSETELEM`: (table, set) and the (slot, value) of every element.
pub fn set_elements(m: &Message<'_>) -> Option<(String, String, Elements)> {
    let b = body(m);
    let table = c_str(attr(b, SET_ELEM_LIST_TABLE)?)?;
    let set = c_str(attr(b, SET_ELEM_LIST_SET)?)?;
    let mut out = Vec::new();
    for (_, e) in attrs(attr(b, SET_ELEM_LIST_ELEMENTS).unwrap_or_default()) {
        let key = attr(e, SET_ELEM_KEY).and_then(|k| attr(k, DATA_VALUE));
        let data = attr(e, SET_ELEM_DATA).and_then(|d| attr(d, DATA_VALUE));
        if let (Some(k), Some(d)) = (key, data) {
            if let Ok(k) = <[u8; 4]>::try_from(k) {
                out.push((u32::from_ne_bytes(k), d.to_vec()));
            }
        }
    }
    Some((table, set, out))
}

/// Request bodies for reading: a table by name, every chain/set/rule of a family (filtered
/// by table where the kernel allows it), and a map's elements.
pub fn get_table(seq: u32, family: u8, name: &str) -> Vec<u8> {
    request(MsgType::GetTable, flags::ACK, family, seq, |w| {
        w.str(TABLE_NAME, name)
    })
}

pub fn dump(kind: MsgType, seq: u32, family: u8, table: Option<&str>) -> Vec<u8> {
    request(kind, flags::DUMP, family, seq, |w| {
        if let Some(t) = table {
            // The table is attribute 1 of chains, rules and sets alike.
            w.str(1, t);
        }
    })
}

pub fn dump_elements(seq: u32, family: u8, table: &str, set: &str) -> Vec<u8> {
    request(MsgType::GetSetElem, flags::DUMP, family, seq, |w| {
        w.str(SET_ELEM_LIST_TABLE, table);
        w.str(SET_ELEM_LIST_SET, set);
    })
}

pub fn get_gen(seq: u32) -> Vec<u8> {
    request(MsgType::GetGen, 0, 0, seq, |_| {})
}

#[cfg(test)]
mod tests;
