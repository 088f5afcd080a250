//! Neighbor: what it declared in its Hellos, the neighbor state machine (`nsm`, RFC 2328
//! §10.3), Database Description exchange state (master/slave, sequence number, last packets),
//! the link-state request list and the retransmission list. Transitions are driven by
//! `Instance::nsm` (instance.rs), which owns the side effects.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::Instant;

use crate::packet::{DbDesc, LsaHeader, LsaKey};

pub mod nsm {
    use serde::Serialize;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
    #[serde(rename_all = "snake_case")]
    pub enum State {
        #[default]
        Down,
        Init,
        TwoWay,
        ExStart,
        Exchange,
        Loading,
        Full,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Event {
        HelloReceived,
        TwoWayReceived,
        OneWayReceived,
        NegotiationDone,
        ExchangeDone,
        LoadingDone,
        AdjOk,
        SeqNumberMismatch,
        BadLsReq,
        KillNbr,
        InactivityTimer,
        LlDown,
    }

    impl Event {
        pub fn name(self) -> &'static str {
            match self {
                Event::HelloReceived => "hello_received",
                Event::TwoWayReceived => "2way_received",
                Event::OneWayReceived => "1way_received",
                Event::NegotiationDone => "negotiation_done",
                Event::ExchangeDone => "exchange_done",
                Event::LoadingDone => "loading_done",
                Event::AdjOk => "adj_ok",
                Event::SeqNumberMismatch => "seq_number_mismatch",
                Event::BadLsReq => "bad_ls_req",
                Event::KillNbr => "kill_nbr",
                Event::InactivityTimer => "inactivity_timer",
                Event::LlDown => "ll_down",
            }
        }
    }
}

/// The last Database Description received, for duplicate detection (§10.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastDd {
    pub flags: u8,
    pub options: u8,
    pub seq: u32,
}

#[derive(Debug)]
pub struct Neighbor {
    pub router_id: Ipv4Addr,
    pub addr: Ipv4Addr,
    pub priority: u8,
    /// DR/BDR as declared in the neighbor's Hellos.
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    pub options: u8,
    pub state: nsm::State,
    pub inactivity_due: Instant,
    /// DD exchange.
    pub master: bool,
    pub dd_seq: u32,
    pub last_dd_rx: Option<LastDd>,
    /// Our last Database Description, re-encoded on every retransmission so that it
    /// carries a current MD5 cryptographic sequence number.
    pub last_dd_tx: Option<DbDesc>,
    pub dd_rxmt_due: Option<Instant>,
    pub db_summary: VecDeque<LsaHeader>,
    /// Whether our last DD announced more headers (M bit).
    pub more_sent: bool,
    pub ls_request: BTreeMap<LsaKey, LsaHeader>,
    pub ls_request_due: Option<Instant>,
    /// Keys asked for in the last LS Request: once all arrived, the next one goes out at once.
    pub ls_request_sent: Vec<LsaKey>,
    /// Instances flooded to this neighbor and not yet acknowledged.
    pub ls_rxmt: BTreeMap<LsaKey, LsaHeader>,
    pub ls_rxmt_due: Option<Instant>,
    /// Highest MD5 cryptographic sequence number seen.
    pub crypto_seq: Option<u32>,
}

impl Neighbor {
    pub fn new(router_id: Ipv4Addr, addr: Ipv4Addr, now: Instant) -> Self {
        Neighbor {
            router_id,
            addr,
            priority: 0,
            dr: Ipv4Addr::UNSPECIFIED,
            bdr: Ipv4Addr::UNSPECIFIED,
            options: 0,
            state: nsm::State::Down,
            inactivity_due: now,
            master: false,
            dd_seq: 0,
            last_dd_rx: None,
            last_dd_tx: None,
            dd_rxmt_due: None,
            db_summary: VecDeque::new(),
            more_sent: false,
            ls_request: BTreeMap::new(),
            ls_request_due: None,
            ls_request_sent: Vec::new(),
            ls_rxmt: BTreeMap::new(),
            ls_rxmt_due: None,
            crypto_seq: None,
        }
    }

    /// Clears the lists and DD state (when falling back to 2-Way/ExStart/Down).
    pub fn reset_adjacency(&mut self) {
        self.last_dd_rx = None;
        self.last_dd_tx = None;
        self.dd_rxmt_due = None;
        self.db_summary.clear();
        self.more_sent = false;
        self.ls_request.clear();
        self.ls_request_due = None;
        self.ls_request_sent.clear();
        self.ls_rxmt.clear();
        self.ls_rxmt_due = None;
    }

    pub fn is_dr(&self) -> bool {
        self.dr == self.addr
    }

    pub fn is_bdr(&self) -> bool {
        self.bdr == self.addr
    }

    /// Earliest timer of this neighbor.
    pub fn next_due(&self) -> Instant {
        [self.dd_rxmt_due, self.ls_request_due, self.ls_rxmt_due]
            .into_iter()
            .flatten()
            .fold(self.inactivity_due, Instant::min)
    }
}
