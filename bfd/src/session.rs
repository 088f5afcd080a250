//! One BFD session (RFC 5880 §6), I/O-free: packets and timer ticks go in with the current
//! `Instant`, packets to send and state changes come out. The runtime owns the sockets and
//! the clock; the tests drive it with a fake clock.
//!
//! [`Session::handle`] is the single entry point; every state change goes through
//! [`fsm::transition`], the table of RFC 5880 §6.2 / §6.8.6. Every reception rule of §6.8.6
//! that discards a packet is a [`Drop`] reason, counted, logged at debug by the caller, and
//! changes nothing else (tested rule by rule).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::packet::{AuthConfig, AuthError, DecodeError, Diag, Packet, Repr, State};

/// RFC 5880 §6.8.3: "When bfd.SessionState is not Up, the system MUST set
/// bfd.DesiredMinTxInterval to a value of not less than one second".
pub const SLOW_TX: Duration = Duration::from_secs(1);

/// Configuration of one session (keepalived `bfd_instance` names; milliseconds in the
/// configuration file, `Duration` here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// bfd.DesiredMinTxInterval once Up.
    pub min_tx: Duration,
    /// bfd.RequiredMinRxInterval.
    pub min_rx: Duration,
    /// Desired Min TX while not Up; raised to [`SLOW_TX`] if lower (§6.8.3).
    pub idle_tx: Duration,
    /// bfd.DetectMult.
    pub multiplier: u8,
    /// bfd.AuthType and key (§6.7); `None` = no authentication.
    pub auth: Option<AuthConfig>,
}

impl Default for SessionConfig {
    /// min_rx/min_tx 300 ms × 3: FRR bfdd's defaults, which BIRD (100 ms tx, 10 ms rx, × 5)
    /// negotiates with (the slower side's interval wins, §6.8.2/§6.8.4).
    fn default() -> Self {
        SessionConfig {
            min_tx: Duration::from_millis(300),
            min_rx: Duration::from_millis(300),
            idle_tx: SLOW_TX,
            multiplier: 3,
            auth: None,
        }
    }
}

impl SessionConfig {
    fn idle_tx_us(&self) -> u32 {
        us(self.idle_tx.max(SLOW_TX))
    }
}

fn us(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// The state machine of RFC 5880 §6.2, as a table.
pub mod fsm {
    use serde::Serialize;

    pub use crate::packet::State;

    /// What can move a session (§6.8.6, §6.8.4, §6.8.16).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    pub enum Event {
        /// A valid packet with the remote's Sta field.
        Recv(State),
        /// Detection time passed without a valid packet (§6.8.4).
        DetectionTimeExpired,
        /// Local administrative control (§6.8.16).
        SetAdminDown,
        SetAdminUp,
    }

    /// The next state and the diagnostic to set when it changes, or `None` to stay.
    /// RFC 5880 §6.8.6 (reception), §6.8.4 (detection), §6.8.16 (administrative control).
    pub fn transition(state: State, event: Event) -> Option<(State, crate::packet::Diag)> {
        use crate::packet::Diag;
        use Event::*;
        use State::*;
        match (state, event) {
            (AdminDown, SetAdminUp) => Some((Down, Diag::None)),
            (AdminDown, _) => None,
            (_, SetAdminDown) => Some((AdminDown, Diag::AdministrativelyDown)),
            (_, SetAdminUp) => None,
            // "If received state is AdminDown: if bfd.SessionState is not Down, set
            // bfd.LocalDiag to 3 (Neighbor signaled session down), bfd.SessionState to Down".
            (Down, Recv(AdminDown)) => None,
            (_, Recv(AdminDown)) => Some((Down, Diag::NeighborSignaledSessionDown)),
            // "If bfd.SessionState is Down: if received State is Down, set Init; else if
            // received State is Init, set Up".
            (Down, Recv(Down)) => Some((Init, Diag::None)),
            (Down, Recv(Init)) => Some((Up, Diag::None)),
            (Down, Recv(Up)) => None,
            // "Else if bfd.SessionState is Init: if received State is Init or Up, set Up".
            (Init, Recv(Init | Up)) => Some((Up, Diag::None)),
            (Init, Recv(Down)) => None,
            // "Else (bfd.SessionState is Up): if received State is Down, set bfd.LocalDiag
            // to 3, bfd.SessionState to Down".
            (Up, Recv(Down)) => Some((Down, Diag::NeighborSignaledSessionDown)),
            (Up, Recv(Init | Up)) => None,
            // §6.8.4: "and bfd.SessionState is Init or Up, the session has gone down --
            // set bfd.SessionState to Down and bfd.LocalDiag to 1".
            (Init | Up, DetectionTimeExpired) => Some((Down, Diag::ControlDetectionTimeExpired)),
            (Down, DetectionTimeExpired) => None,
        }
    }
}

/// Why a received packet was discarded (RFC 5880 §6.8.6, §6.7; RFC 5881 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Drop {
    Decode(DecodeError),
    /// RFC 5881 §5: without authentication the TTL must be 255.
    Ttl(u8),
    /// "If the Detect Mult field is zero, the packet MUST be discarded."
    ZeroDetectMult,
    /// "If the Multipoint (M) bit is nonzero, the packet MUST be discarded."
    Multipoint,
    /// "If the My Discriminator field is zero, the packet MUST be discarded."
    ZeroMyDiscr,
    /// Your Discriminator nonzero and not ours: "no session is found".
    YourDiscrMismatch,
    /// "If the Your Discriminator field is zero and the State field is not Down or
    /// AdminDown, the packet MUST be discarded."
    ZeroYourDiscrState,
    /// "If the A bit is set and no authentication is in use (bfd.AuthType is zero)".
    UnexpectedAuth,
    /// "If the A bit is clear and authentication is in use".
    MissingAuth,
    Auth(AuthError),
    /// §6.7.3/§6.7.4: sequence number outside the window (replay).
    AuthSeq,
    /// "If bfd.SessionState is AdminDown: Discard the packet."
    LocalAdminDown,
}

impl Drop {
    /// Stable snake_case name, the key of the drop counters.
    pub fn reason(&self) -> &'static str {
        match self {
            Drop::Decode(e) => e.reason(),
            Drop::Ttl(_) => "ttl",
            Drop::ZeroDetectMult => "zero_detect_mult",
            Drop::Multipoint => "multipoint",
            Drop::ZeroMyDiscr => "zero_my_discriminator",
            Drop::YourDiscrMismatch => "your_discriminator_mismatch",
            Drop::ZeroYourDiscrState => "zero_your_discriminator_state",
            Drop::UnexpectedAuth => "unexpected_auth",
            Drop::MissingAuth => "missing_auth",
            Drop::Auth(e) => e.reason(),
            Drop::AuthSeq => "auth_sequence",
            Drop::LocalAdminDown => "local_admin_down",
        }
    }
}

/// What the session is told.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A received UDP payload; `ttl` from IP_RECVTTL (`None` if the runtime could not tell).
    Packet {
        bytes: &'a [u8],
        ttl: Option<u8>,
    },
    /// The clock reached (or passed) `next_wakeup()`.
    Timer,
    AdminDown,
    AdminUp,
    /// New timers/auth (SIGHUP); timer changes while Up go through a Poll Sequence.
    Configure(&'a SessionConfig),
}

/// What the runtime must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this UDP payload to the peer (TTL 255, the session's source port).
    Send(Vec<u8>),
    /// The state changed (one INFO line, metrics, OSPF on Up→Down).
    StateChange { from: State, to: State, diag: Diag },
    /// A packet was discarded and nothing changed (count + debug log).
    Dropped(Drop),
}

/// Counters of one session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub rx: u64,
    pub tx: u64,
    pub transitions: u64,
    pub drops: BTreeMap<&'static str, u64>,
}

/// RFC 5880 §6.8.1 state variables plus timers. `PartialEq` so that the tests can prove
/// that a dropped packet changed nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    cfg: SessionConfig,
    state: State,
    remote_state: State,
    local_discr: u32,
    remote_discr: u32,
    local_diag: Diag,
    remote_diag: Diag,
    /// What we advertise (bfd.DesiredMinTxInterval, bfd.RequiredMinRxInterval), µs.
    desired_min_tx: u32,
    required_min_rx: u32,
    /// What we use while a Poll Sequence is open (§6.8.3: an increased TX interval and a
    /// reduced RX interval take effect only once the Final arrives).
    active_min_tx: u32,
    active_min_rx: u32,
    remote_min_rx: u32,
    remote_desired_min_tx: u32,
    remote_detect_mult: u8,
    remote_demand: bool,
    xmit_auth_seq: u32,
    rcv_auth_seq: u32,
    auth_seq_known: bool,
    /// A Poll Sequence is being transmitted (§6.5).
    poll: bool,
    next_tx: Option<Instant>,
    detect_deadline: Option<Instant>,
    last_rx: Option<Instant>,
    /// When the state last changed and the diagnostic of the last transition to Down.
    since: Instant,
    last_down: Option<(Instant, Diag)>,
    rng: u64,
    counters: Counters,
}

impl Session {
    /// A new session in Down (§6.8.1 initial values). `local_discr` must be nonzero and
    /// unique on this system; `seed` feeds the jitter and the initial sequence number.
    pub fn new(local_discr: u32, cfg: SessionConfig, now: Instant, seed: u64) -> Session {
        let mut s = Session {
            state: State::Down,
            remote_state: State::Down,
            local_discr,
            remote_discr: 0,
            local_diag: Diag::None,
            remote_diag: Diag::None,
            desired_min_tx: cfg.idle_tx_us(),
            required_min_rx: us(cfg.min_rx),
            active_min_tx: cfg.idle_tx_us(),
            active_min_rx: us(cfg.min_rx),
            // §6.8.1: "bfd.RemoteMinRxInterval ... MUST be initialized to 1".
            remote_min_rx: 1,
            remote_desired_min_tx: 0,
            remote_detect_mult: 0,
            remote_demand: false,
            xmit_auth_seq: 0,
            rcv_auth_seq: 0,
            auth_seq_known: false,
            poll: false,
            next_tx: Some(now),
            detect_deadline: None,
            last_rx: None,
            since: now,
            last_down: None,
            rng: seed | 1,
            counters: Counters::default(),
            cfg,
        };
        // §6.8.1: bfd.XmitAuthSeq "MUST be initialized to a random 32 bit value".
        s.xmit_auth_seq = s.random() as u32;
        s
    }

    pub fn state(&self) -> State {
        self.state
    }
    pub fn local_discr(&self) -> u32 {
        self.local_discr
    }
    pub fn remote_discr(&self) -> u32 {
        self.remote_discr
    }
    /// The remote's state as last received (Down again after a detection-time expiry).
    pub fn remote_state(&self) -> State {
        self.remote_state
    }
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// The earliest instant at which `handle(Timer)` has something to do.
    pub fn next_wakeup(&self) -> Option<Instant> {
        match (self.next_tx, self.detect_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The transition function: every input goes through here.
    pub fn handle(&mut self, now: Instant, input: Input<'_>, out: &mut Vec<Output>) {
        match input {
            Input::Packet { bytes, ttl } => match self.receive(now, bytes, ttl, out) {
                Ok(()) => self.counters.rx += 1,
                Err(d) => {
                    *self.counters.drops.entry(d.reason()).or_default() += 1;
                    out.push(Output::Dropped(d));
                }
            },
            Input::Timer => self.timers(now, out),
            Input::AdminDown => self.event(now, fsm::Event::SetAdminDown, out),
            Input::AdminUp => self.event(now, fsm::Event::SetAdminUp, out),
            Input::Configure(cfg) => self.configure(now, cfg.clone(), out),
        }
    }

    // ===== reception (RFC 5880 §6.8.6) =====

    fn receive(
        &mut self,
        now: Instant,
        bytes: &[u8],
        ttl: Option<u8>,
        out: &mut Vec<Output>,
    ) -> Result<(), Drop> {
        // Length and version checks (first three rules of §6.8.6) are the codec's.
        let p = Packet::new_checked(bytes).map_err(Drop::Decode)?;
        let r = Repr::parse(&p).map_err(Drop::Decode)?;
        // RFC 5881 §5: "If BFD authentication is not in use on a session, all BFD Control
        // packets for the session MUST be sent with a TTL or Hop Limit value of 255. All
        // received BFD Control packets that are demultiplexed to the session MUST be
        // discarded if the received TTL or Hop Limit is not equal to 255."
        if self.cfg.auth.is_none() {
            if let Some(t) = ttl.filter(|&t| t != 255) {
                return Err(Drop::Ttl(t));
            }
        }
        if r.detect_mult == 0 {
            return Err(Drop::ZeroDetectMult);
        }
        if r.multipoint {
            return Err(Drop::Multipoint);
        }
        if r.my_discr == 0 {
            return Err(Drop::ZeroMyDiscr);
        }
        if r.your_discr != 0 && r.your_discr != self.local_discr {
            return Err(Drop::YourDiscrMismatch);
        }
        if r.your_discr == 0 && !matches!(r.state, State::Down | State::AdminDown) {
            return Err(Drop::ZeroYourDiscrState);
        }
        let seq = match (&r.auth, &self.cfg.auth) {
            (Some(_), None) => return Err(Drop::UnexpectedAuth),
            (None, Some(_)) => return Err(Drop::MissingAuth),
            (None, None) => None,
            (Some(a), Some(cfg)) => {
                cfg.verify(p.packet_bytes(), a).map_err(Drop::Auth)?;
                if let Some(seq) = a.seq() {
                    // §6.8.1: "bfd.AuthSeqKnown MUST be set to zero after no packets have
                    // been received on this session for at least twice the Detection
                    // Time" — a local view, applied without mutating before acceptance.
                    let known = self.auth_seq_known
                        && self
                            .last_rx
                            .is_some_and(|t| now.duration_since(t) < 2 * self.detection_time());
                    if known {
                        // §6.7.3/§6.7.4: keyed: in [RcvAuthSeq, RcvAuthSeq + 3×DetectMult];
                        // meticulous: in [RcvAuthSeq + 1, RcvAuthSeq + 3×DetectMult].
                        let lo = u32::from(a.auth_type().meticulous());
                        let d = seq.wrapping_sub(self.rcv_auth_seq);
                        if d < lo || d > 3 * u32::from(r.detect_mult) {
                            return Err(Drop::AuthSeq);
                        }
                    }
                }
                a.seq()
            }
        };
        if self.state == State::AdminDown {
            return Err(Drop::LocalAdminDown);
        }

        // The packet is accepted: from here on state changes.
        if let Some(seq) = seq {
            self.rcv_auth_seq = seq;
            self.auth_seq_known = true;
        }
        self.remote_discr = r.my_discr;
        self.remote_state = r.state;
        self.remote_diag = r.diag;
        self.remote_demand = r.demand;
        self.remote_min_rx = r.required_min_rx;
        self.remote_desired_min_tx = r.desired_min_tx;
        self.remote_detect_mult = r.detect_mult;
        self.last_rx = Some(now);
        // "If a Poll Sequence is being transmitted by the local system and the Final (F)
        // bit in the received packet is set, the Poll Sequence MUST be terminated."
        if r.final_ && self.poll {
            self.poll = false;
            // §6.8.3: the new intervals now apply in both directions.
            self.active_min_tx = self.desired_min_tx;
            self.active_min_rx = self.required_min_rx;
        }
        // §6.8.4: the detection timer restarts with every accepted packet.
        self.detect_deadline = Some(now + self.detection_time());
        // §6.8.2: a new RemoteMinRxInterval may shorten our transmit interval.
        self.reschedule_tx(now);

        self.event(now, fsm::Event::Recv(r.state), out);

        // "If the packet was received with the Poll (P) bit set, the receiving system
        // MUST transmit a BFD Control packet with the Poll (P) bit clear and the Final (F)
        // bit set as soon as practicable, without respect to the transmission timer".
        if r.poll {
            self.transmit(now, true, out);
        }
        Ok(())
    }

    // ===== state changes =====

    fn event(&mut self, now: Instant, ev: fsm::Event, out: &mut Vec<Output>) {
        let Some((to, diag)) = fsm::transition(self.state, ev) else {
            return;
        };
        let from = self.state;
        self.state = to;
        self.since = now;
        self.counters.transitions += 1;
        if diag != Diag::None || to == State::Up {
            self.local_diag = diag;
        }
        match to {
            State::Up => {
                // §6.8.3: leave slow transmission; the change of DesiredMinTx goes
                // through a Poll Sequence (the remote learns our real timers).
                self.desired_min_tx = us(self.cfg.min_tx);
                self.start_poll(self.active_min_tx, self.active_min_rx);
            }
            State::Down | State::AdminDown => {
                if from == State::Up || from == State::Init {
                    self.last_down = Some((now, diag));
                }
                // §6.8.3: DesiredMinTx ≥ 1 s while not Up; no Poll is needed (the remote
                // is not Up with us any more).
                self.desired_min_tx = self.cfg.idle_tx_us();
                self.active_min_tx = self.desired_min_tx;
                self.active_min_rx = self.required_min_rx;
                self.poll = false;
                if to == State::AdminDown {
                    // A session leaving AdminDown starts from scratch (§6.8.16).
                    self.remote_discr = 0;
                    self.remote_state = State::Down;
                    self.detect_deadline = None;
                }
            }
            State::Init => {}
        }
        out.push(Output::StateChange { from, to, diag });
        // The remote should learn the new state without waiting for a slow interval. RFC
        // 5880 does not ask for this packet (§6.8.7 only sets a minimum interval, which one
        // extra packet per transition undercuts once); BIRD and FRR send it too.
        self.transmit(now, false, out);
    }

    fn configure(&mut self, now: Instant, cfg: SessionConfig, out: &mut Vec<Output>) {
        let (old_tx, old_rx) = (self.active_min_tx, self.active_min_rx);
        self.cfg = cfg;
        let tx = if self.state == State::Up {
            us(self.cfg.min_tx)
        } else {
            self.cfg.idle_tx_us()
        };
        let rx = us(self.cfg.min_rx);
        if tx == self.desired_min_tx && rx == self.required_min_rx {
            return;
        }
        self.desired_min_tx = tx;
        self.required_min_rx = rx;
        if self.state == State::Up {
            // §6.8.3: "If either bfd.DesiredMinTxInterval is changed or
            // bfd.RequiredMinRxInterval is changed, a Poll Sequence MUST be initiated".
            self.start_poll(old_tx, old_rx);
        } else {
            self.active_min_tx = tx;
            self.active_min_rx = rx;
        }
        // The detection time follows the RequiredMinRx in use (§6.8.4).
        if let (Some(_), Some(last)) = (self.detect_deadline, self.last_rx) {
            self.detect_deadline = Some(last + self.detection_time());
        }
        if self.state == State::Up {
            self.transmit(now, false, out);
        }
    }

    /// Opens a Poll Sequence towards the advertised timers; `old_*` were in use.
    fn start_poll(&mut self, old_tx: u32, old_rx: u32) {
        // §6.8.3: "if bfd.DesiredMinTxInterval is increased [...] the actual transmission
        // interval used MUST NOT change until the Poll Sequence described above has
        // terminated"; a decrease may apply at once.
        self.active_min_tx = old_tx.min(self.desired_min_tx);
        // "If bfd.RequiredMinRxInterval is reduced [...] the previous value [...] MUST be
        // used when calculating the Detection Time [...] until the Poll Sequence has
        // terminated"; an increase applies at once.
        self.active_min_rx = old_rx.max(self.required_min_rx);
        self.poll = true;
    }

    // ===== timers and transmission (RFC 5880 §6.8.2, §6.8.4, §6.8.7) =====

    /// §6.8.4: remote Detect Mult × max(bfd.RequiredMinRxInterval, last received Desired
    /// Min TX Interval).
    pub fn detection_time(&self) -> Duration {
        let per = self.active_min_rx.max(self.remote_desired_min_tx);
        Duration::from_micros(u64::from(self.remote_detect_mult) * u64::from(per))
    }

    /// §6.8.2/§6.8.7: max(bfd.DesiredMinTxInterval, bfd.RemoteMinRxInterval), before jitter.
    pub fn tx_interval(&self) -> Duration {
        Duration::from_micros(u64::from(self.active_min_tx.max(self.remote_min_rx)))
    }

    fn timers(&mut self, now: Instant, out: &mut Vec<Output>) {
        if self.detect_deadline.is_some_and(|d| d <= now) {
            self.detect_deadline = None;
            // §6.8.1: bfd.RemoteDiscr "MUST be reset to zero [...] if the Detection Time
            // expires"; the remote's state is unknown again.
            self.remote_discr = 0;
            self.remote_state = State::Down;
            self.event(now, fsm::Event::DetectionTimeExpired, out);
        }
        if self.next_tx.is_some_and(|t| t <= now) {
            self.transmit(now, false, out);
        }
    }

    fn may_transmit(&self) -> bool {
        // §6.8.7: "A system MUST NOT periodically transmit BFD Control packets if
        // bfd.RemoteMinRxInterval is zero", nor "if Demand mode is active on the remote
        // system (bfd.RemoteDemandMode is 1, bfd.SessionState is Up, and
        // bfd.RemoteSessionState is Up) and a Poll Sequence is not being transmitted".
        self.remote_min_rx != 0
            && !(self.remote_demand
                && self.state == State::Up
                && self.remote_state == State::Up
                && !self.poll)
    }

    /// Sends one packet (`final_` answers a Poll) and schedules the next periodic one.
    fn transmit(&mut self, now: Instant, final_: bool, out: &mut Vec<Output>) {
        if !final_ && !self.may_transmit() {
            self.next_tx = None;
            return;
        }
        let mut r = Repr {
            diag: self.local_diag,
            state: self.state,
            // §6.8.7: "Poll (P) set if the local system is sending a Poll Sequence, or
            // clear if not"; never together with F (§6.5).
            poll: self.poll && !final_,
            final_,
            cpi: false,
            demand: false,
            multipoint: false,
            detect_mult: self.cfg.multiplier,
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx: self.desired_min_tx,
            required_min_rx: self.required_min_rx,
            // We do not run the Echo function.
            required_min_echo_rx: 0,
            auth: None,
        };
        let bytes = match &self.cfg.auth {
            None => r.to_bytes(),
            Some(a) => {
                // §6.7.3/§6.7.4: meticulous MUST increment on every packet; keyed MAY —
                // we do so too (always inside the receiver's 3×DetectMult window).
                self.xmit_auth_seq = self.xmit_auth_seq.wrapping_add(1);
                a.sign(&mut r, self.xmit_auth_seq)
            }
        };
        self.counters.tx += 1;
        out.push(Output::Send(bytes));
        if !final_ || self.next_tx.is_none() {
            self.schedule_tx(now);
        }
    }

    fn schedule_tx(&mut self, now: Instant) {
        if !self.may_transmit() {
            self.next_tx = None;
            return;
        }
        // §6.8.7: "the interval MUST be reduced by a random value of 0 to 25%"; "If
        // bfd.DetectMult is equal to 1, the interval [...] MUST be no more than 90% of the
        // negotiated transmission interval, and MUST be no less than 75%".
        let max_pct = if self.cfg.multiplier == 1 { 90 } else { 100 };
        let pct = 75 + self.random() % (max_pct - 75 + 1);
        let ival = self.tx_interval().as_micros() as u64 * pct / 100;
        self.next_tx = Some(now + Duration::from_micros(ival));
    }

    /// After the remote's RequiredMinRx changed: never wait longer than the new interval.
    fn reschedule_tx(&mut self, now: Instant) {
        match self.next_tx {
            Some(t) if t <= now + self.tx_interval() => {}
            _ => self.schedule_tx(now),
        }
    }

    /// xorshift64*: jitter and the initial sequence number need no cryptographic quality.
    fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32
    }

    // ===== status =====

    pub fn status(&self, now: Instant) -> SessionStatus {
        SessionStatus {
            state: self.state,
            remote_state: self.remote_state,
            local_discr: self.local_discr,
            remote_discr: self.remote_discr,
            local_diag: self.local_diag.name(),
            remote_diag: self.remote_diag.name(),
            multiplier: self.cfg.multiplier,
            remote_multiplier: self.remote_detect_mult,
            desired_min_tx_us: self.desired_min_tx,
            required_min_rx_us: self.required_min_rx,
            remote_desired_min_tx_us: self.remote_desired_min_tx,
            remote_min_rx_us: self.remote_min_rx,
            tx_interval_us: self.tx_interval().as_micros() as u64,
            detection_time_us: self.detection_time().as_micros() as u64,
            poll_pending: self.poll,
            authentication: self.cfg.auth.as_ref().map(|a| a.auth_type.name()),
            in_state_ms: now.duration_since(self.since).as_millis() as u64,
            last_down: self.last_down.map(|(t, d)| LastDown {
                reason: d.name(),
                ago_ms: now.duration_since(t).as_millis() as u64,
            }),
            counters: self.counters.clone(),
        }
    }
}

/// What `directorctl bfd` shows for one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionStatus {
    pub state: State,
    pub remote_state: State,
    pub local_discr: u32,
    pub remote_discr: u32,
    pub local_diag: &'static str,
    pub remote_diag: &'static str,
    pub multiplier: u8,
    pub remote_multiplier: u8,
    pub desired_min_tx_us: u32,
    pub required_min_rx_us: u32,
    pub remote_desired_min_tx_us: u32,
    pub remote_min_rx_us: u32,
    /// Negotiated transmit interval before jitter (§6.8.2).
    pub tx_interval_us: u64,
    /// §6.8.4.
    pub detection_time_us: u64,
    pub poll_pending: bool,
    pub authentication: Option<&'static str>,
    pub in_state_ms: u64,
    pub last_down: Option<LastDown>,
    pub counters: Counters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastDown {
    pub reason: &'static str,
    pub ago_ms: u64,
}

#[cfg(test)]
mod tests;
