//! The VRRP protocol state machine of one virtual router, without I/O: it takes events
//! (timer expiries, validated adverts, link/tracking changes, sync-group orders) with the
//! current time, and returns the actions the I/O side must perform. The clock is always
//! passed in, so tests drive it with made-up instants.
//!
//! States and transitions follow RFC 5798 §6.4 (which includes RFC 3768 §6.4 for v2), plus
//! keepalived's FAULT state. Exactly one VRRP timer is armed at a time ([`Timer`]).

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::packet::{interval_duration, Version};

/// Priority of the address owner (RFC 5798 §5.2.4).
pub const PRIORITY_OWNER: u8 = 255;
/// Priority announcing that the master stops (RFC 5798 §5.2.4).
pub const PRIORITY_STOP: u8 = 0;

/// Virtual router state (RFC 5798 §6.4, plus keepalived's FAULT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    #[default]
    Initialize,
    Backup,
    Master,
    Fault,
}

impl State {
    /// The name keepalived uses in notify arguments and logs.
    pub fn keepalived_name(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keepalived_name())
    }
}

/// A validated advertisement from another router (validation in `instance.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxAdvert {
    pub priority: u8,
    pub src: IpAddr,
    /// In wire units (seconds for v2, centiseconds for v3).
    pub adver_int: u16,
}

/// Inputs of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// RFC 5798 §6.4.1: the instance is enabled.
    Startup,
    /// RFC 5798 §6.4.2/§6.4.3 "Shutdown event".
    Shutdown,
    /// The armed timer expired (whichever it was).
    TimerExpired,
    Advert(RxAdvert),
    /// The interface lost its link or a tracked object with weight 0 failed.
    Fault(FaultCause),
    /// Every fault cleared.
    FaultCleared,
    /// Effective priority changed (tracking weights).
    PriorityChanged,
    /// Another member of the sync group moved to this state.
    Sync(State),
}

/// Why an instance is in FAULT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultCause {
    /// The interface is down or without carrier: nothing can be sent.
    LinkDown,
    /// A tracked interface or script with weight 0 failed; the link itself works.
    Tracking,
    /// Another member of the sync group is in FAULT.
    SyncGroup,
}

/// Why a transition happened, for logs, events and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Startup,
    PriorityOwner,
    MasterDown,
    MasterStopped,
    HigherPriorityAdvert,
    Preempted,
    Fault(FaultCause),
    FaultCleared,
    SyncGroup,
    Shutdown,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Reason::Startup => "startup",
            Reason::PriorityOwner => "address owner (priority 255)",
            Reason::MasterDown => "master down timer expired",
            Reason::MasterStopped => "master sent priority 0",
            Reason::HigherPriorityAdvert => "advert with higher priority",
            Reason::Preempted => "preempted by higher priority router",
            Reason::Fault(FaultCause::LinkDown) => "interface down",
            Reason::Fault(FaultCause::Tracking) => "tracked object failed",
            Reason::Fault(FaultCause::SyncGroup) => "sync group member in fault",
            Reason::FaultCleared => "fault cleared",
            Reason::SyncGroup => "sync group",
            Reason::Shutdown => "shutdown",
        };
        f.write_str(s)
    }
}

/// The one VRRP timer (RFC 5798 §6.2 Adver_Timer / Master_Down_Timer), as a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Timer {
    #[default]
    Idle,
    Advert(Instant),
    MasterDown(Instant),
}

impl Timer {
    pub fn deadline(&self) -> Option<Instant> {
        match self {
            Timer::Idle => None,
            Timer::Advert(t) | Timer::MasterDown(t) => Some(*t),
        }
    }
}

/// What the I/O side must do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SendAdvert {
        priority: u8,
    },
    /// Add the virtual addresses and routes, send gratuitous ARP / unsolicited NA.
    TakeOver,
    /// Remove the virtual addresses and routes.
    Release,
    StateChanged {
        from: State,
        to: State,
        reason: Reason,
    },
    /// keepalived's notify_master_rx_lower_pri.
    MasterRxLowerPriority {
        src: IpAddr,
        priority: u8,
    },
}

/// Protocol parameters of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub version: Version,
    /// Configured advert interval in wire units (seconds for v2, centiseconds for v3).
    pub adver_int: u16,
    pub preempt: bool,
    pub preempt_delay: Duration,
    /// keepalived's `down_timer_adverts` (3 per the RFCs).
    pub down_timer_adverts: u8,
    /// keepalived sends an advert when a master hears a lower priority one, unless
    /// `vrrp_lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    /// Our primary address on the segment, for the tie-break (RFC 5798 §6.4.3).
    pub primary_addr: IpAddr,
}

/// One virtual router's protocol state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub params: Params,
    pub state: State,
    pub timer: Timer,
    /// Configured priority plus tracking weights (1..=254, or 255 for the owner).
    pub priority: u8,
    /// RFC 5798 §6.1 Master_Adver_Interval, learnt from the master (v3).
    pub master_adver_int: u16,
    /// Address of the current master, when known.
    pub master_addr: Option<IpAddr>,
    /// When the instance started, for `preempt_delay`.
    pub started: Option<Instant>,
    pub fault: Option<FaultCause>,
    /// The Master_Down_Timer was shortened by a priority-0 advert (for the reason).
    master_stopped: bool,
}

impl Machine {
    pub fn new(params: Params, priority: u8) -> Machine {
        Machine {
            master_adver_int: params.adver_int,
            params,
            state: State::Initialize,
            timer: Timer::Idle,
            priority,
            master_addr: None,
            started: None,
            fault: None,
            master_stopped: false,
        }
    }

    fn interval(&self, adver_int: u16) -> Duration {
        interval_duration(self.params.version, adver_int.max(1))
    }

    /// RFC 5798 §6.1 Skew_Time: ((256 - Priority) * Master_Adver_Interval) / 256;
    /// RFC 3768 §6.1: (256 - Priority) / 256 seconds.
    pub fn skew_time(&self) -> Duration {
        let factor = 256 - u32::from(self.priority);
        match self.params.version {
            Version::V2 => Duration::from_secs(1) * factor / 256,
            Version::V3 => self.interval(self.master_adver_int) * factor / 256,
        }
    }

    /// RFC 5798 §6.1 Master_Down_Interval: (3 * Master_Adver_Interval) + Skew_Time.
    pub fn master_down_interval(&self) -> Duration {
        self.interval(self.master_adver_int) * u32::from(self.params.down_timer_adverts.max(1))
            + self.skew_time()
    }

    fn arm_advert(&mut self, now: Instant) {
        self.timer = Timer::Advert(now + self.interval(self.params.adver_int));
    }

    fn arm_master_down(&mut self, now: Instant) {
        self.master_stopped = false;
        self.timer = Timer::MasterDown(now + self.master_down_interval());
    }

    fn become_master(&mut self, now: Instant, reason: Reason, out: &mut Vec<Action>) {
        // RFC 5798 §6.4.1/§6.4.2: send an ADVERTISEMENT, broadcast gratuitous ARP / send
        // unsolicited NA (TakeOver), start the Adver_Timer.
        out.push(Action::SendAdvert {
            priority: self.priority,
        });
        out.push(Action::TakeOver);
        self.master_addr = Some(self.params.primary_addr);
        self.arm_advert(now);
        self.change(State::Master, reason, out);
    }

    fn become_backup(&mut self, now: Instant, reason: Reason, out: &mut Vec<Action>) {
        if self.state == State::Master {
            out.push(Action::Release);
        }
        // RFC 5798 §6.4.1: Master_Adver_Interval = Advertisement_Interval until learnt.
        if self.state != State::Master {
            self.master_adver_int = self.params.adver_int;
        }
        self.arm_master_down(now);
        self.change(State::Backup, reason, out);
    }

    fn enter_fault(&mut self, cause: FaultCause, out: &mut Vec<Action>) {
        if self.state == State::Master {
            // With a working link, tell the backups at once (as a shutdown would);
            // without one, there is nothing to send.
            if cause != FaultCause::LinkDown {
                out.push(Action::SendAdvert {
                    priority: PRIORITY_STOP,
                });
            }
            out.push(Action::Release);
        }
        self.timer = Timer::Idle;
        self.master_addr = None;
        self.change(State::Fault, Reason::Fault(cause), out);
    }

    fn change(&mut self, to: State, reason: Reason, out: &mut Vec<Action>) {
        if self.state != to {
            out.push(Action::StateChanged {
                from: self.state,
                to,
                reason,
            });
            self.state = to;
        }
    }

    /// Startup, or leaving FAULT: owner → Master, otherwise → Backup (RFC 5798 §6.4.1).
    fn start(&mut self, now: Instant, reason: Reason, out: &mut Vec<Action>) {
        if self.priority == PRIORITY_OWNER {
            self.become_master(now, Reason::PriorityOwner, out);
        } else {
            self.become_backup(now, reason, out);
        }
    }

    /// Whether `preempt_delay` still holds back preemption.
    fn preempt_held(&self, now: Instant) -> bool {
        self.started
            .is_some_and(|t| now.saturating_duration_since(t) < self.params.preempt_delay)
    }

    /// The single transition function: `(state, event) → (state, actions)`.
    pub fn fsm(&mut self, now: Instant, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match (self.state, event) {
            // ---- RFC 5798 §6.4.1 Initialize
            (State::Initialize, Event::Startup) => {
                self.started = Some(now);
                match self.fault {
                    Some(cause) => self.enter_fault(cause, &mut out),
                    None => self.start(now, Reason::Startup, &mut out),
                }
            }
            (State::Initialize, _) => {}

            // ---- Shutdown from any running state (RFC 5798 §6.4.2, §6.4.3)
            (state, Event::Shutdown) => {
                if state == State::Master {
                    // §6.4.3: cancel the Adver_Timer, send an ADVERTISEMENT with Priority 0.
                    out.push(Action::SendAdvert {
                        priority: PRIORITY_STOP,
                    });
                    out.push(Action::Release);
                }
                self.timer = Timer::Idle;
                self.change(State::Initialize, Reason::Shutdown, &mut out);
            }

            // ---- Faults (keepalived): any running state
            (State::Backup | State::Master, Event::Fault(cause)) => {
                self.fault = Some(cause);
                self.enter_fault(cause, &mut out);
            }
            (State::Fault, Event::Fault(cause)) => self.fault = Some(cause),
            (State::Fault, Event::FaultCleared) => {
                self.fault = None;
                self.start(now, Reason::FaultCleared, &mut out);
            }
            (State::Fault, _) => {}
            (_, Event::FaultCleared) => self.fault = None,

            // ---- RFC 5798 §6.4.2 Backup
            (State::Backup, Event::TimerExpired) => {
                // "If the Master_Down_Timer fires": become Master.
                if matches!(self.timer, Timer::MasterDown(t) if t <= now) {
                    let reason = if self.master_stopped {
                        Reason::MasterStopped
                    } else {
                        Reason::MasterDown
                    };
                    self.become_master(now, reason, &mut out);
                }
            }
            (State::Backup, Event::Advert(adv)) => {
                if adv.priority == PRIORITY_STOP {
                    // "If the Priority in the ADVERTISEMENT is zero, then set the
                    // Master_Down_Timer to Skew_Time."
                    self.timer = Timer::MasterDown(now + self.skew_time());
                    self.master_stopped = true;
                    self.master_addr = None;
                } else if !self.params.preempt
                    || adv.priority >= self.priority
                    || self.preempt_held(now)
                {
                    // "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT
                    // is greater than or equal to the local Priority": set
                    // Master_Adver_Interval (v3) and reset the Master_Down_Timer.
                    if self.params.version == Version::V3 {
                        self.master_adver_int = adv.adver_int;
                    }
                    self.master_addr = Some(adv.src);
                    self.arm_master_down(now);
                }
                // "Otherwise: discard the ADVERTISEMENT" (we will preempt when the
                // Master_Down_Timer fires).
            }
            (State::Backup, Event::PriorityChanged) => {
                if self.priority == PRIORITY_OWNER {
                    self.become_master(now, Reason::PriorityOwner, &mut out);
                }
            }
            (State::Backup, Event::Sync(State::Master)) => {
                self.become_master(now, Reason::SyncGroup, &mut out)
            }

            // ---- RFC 5798 §6.4.3 Master
            (State::Master, Event::TimerExpired) => {
                if matches!(self.timer, Timer::Advert(t) if t <= now) {
                    // "If the Adver_Timer fires": send an ADVERTISEMENT, reset the timer.
                    out.push(Action::SendAdvert {
                        priority: self.priority,
                    });
                    self.arm_advert(now);
                }
            }
            (State::Master, Event::Advert(adv)) => {
                let higher = adv.priority > self.priority
                    || (adv.priority == self.priority && adv.src > self.params.primary_addr);
                if adv.priority == PRIORITY_STOP {
                    // "If the Priority in the ADVERTISEMENT is zero": send an
                    // ADVERTISEMENT and reset the Adver_Timer.
                    out.push(Action::SendAdvert {
                        priority: self.priority,
                    });
                    self.arm_advert(now);
                } else if higher {
                    // "If the Priority in the ADVERTISEMENT is greater than the local
                    // Priority, or equal and the primary address of the sender is
                    // greater than the local primary address": cancel the Adver_Timer,
                    // set Master_Adver_Interval (v3), start the Master_Down_Timer,
                    // transition to Backup.
                    if self.params.higher_prio_send_advert {
                        out.push(Action::SendAdvert {
                            priority: self.priority,
                        });
                    }
                    if self.params.version == Version::V3 {
                        self.master_adver_int = adv.adver_int;
                    }
                    self.become_backup(now, Reason::HigherPriorityAdvert, &mut out);
                    self.master_addr = Some(adv.src);
                } else {
                    // RFC: discard. keepalived (default) answers at once so that the
                    // lower priority router returns to Backup without waiting.
                    out.push(Action::MasterRxLowerPriority {
                        src: adv.src,
                        priority: adv.priority,
                    });
                    if !self.params.lower_prio_no_advert {
                        out.push(Action::SendAdvert {
                            priority: self.priority,
                        });
                        self.arm_advert(now);
                    }
                }
            }
            (State::Master, Event::PriorityChanged) => {
                // Tell the backups now, so a lowered master is preempted promptly.
                out.push(Action::SendAdvert {
                    priority: self.priority,
                });
                self.arm_advert(now);
            }
            (State::Master, Event::Sync(State::Backup)) => {
                self.become_backup(now, Reason::SyncGroup, &mut out)
            }

            // ---- sync group FAULT
            (State::Backup | State::Master, Event::Sync(State::Fault)) => {
                self.enter_fault(FaultCause::SyncGroup, &mut out);
                self.fault = Some(FaultCause::SyncGroup);
            }

            (State::Backup | State::Master, Event::Startup | Event::Sync(_)) => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(version: Version, adver_int: u16) -> Params {
        Params {
            version,
            adver_int,
            preempt: true,
            preempt_delay: Duration::ZERO,
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            primary_addr: "10.0.0.2".parse().unwrap(),
        }
    }

    fn adv(priority: u8, src: &str) -> Event {
        Event::Advert(RxAdvert {
            priority,
            src: src.parse().unwrap(),
            adver_int: 1,
        })
    }

    fn changes(actions: &[Action]) -> Vec<(State, State)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::StateChanged { from, to, .. } => Some((*from, *to)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn timers_follow_the_rfc() {
        let mut m = Machine::new(params(Version::V2, 1), 90);
        // RFC 3768: skew = (256-90)/256 s, MDI = 3 s + skew.
        assert_eq!(m.skew_time(), Duration::from_secs(1) * 166 / 256);
        assert_eq!(
            m.master_down_interval(),
            Duration::from_secs(3) + Duration::from_secs(1) * 166 / 256
        );
        m.params.version = Version::V3;
        m.master_adver_int = 10; // 100 ms
        assert_eq!(m.skew_time(), Duration::from_millis(100) * 166 / 256);
        assert_eq!(
            m.master_down_interval(),
            Duration::from_millis(300) + Duration::from_millis(100) * 166 / 256
        );
    }

    #[test]
    fn backup_takes_over_after_master_down_interval() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V2, 1), 100);
        let a = m.fsm(t0, Event::Startup);
        assert_eq!(changes(&a), vec![(State::Initialize, State::Backup)]);
        let mdi = m.master_down_interval();
        assert_eq!(m.timer, Timer::MasterDown(t0 + mdi));
        // An advert from a higher-priority master resets the timer.
        let t1 = t0 + Duration::from_secs(1);
        assert!(m.fsm(t1, adv(150, "10.0.0.9")).is_empty());
        assert_eq!(m.timer, Timer::MasterDown(t1 + mdi));
        assert_eq!(m.master_addr, Some("10.0.0.9".parse().unwrap()));
        // A spurious early expiry does nothing.
        assert!(m
            .fsm(t1 + Duration::from_secs(1), Event::TimerExpired)
            .is_empty());
        let a = m.fsm(t1 + mdi, Event::TimerExpired);
        assert_eq!(
            a,
            vec![
                Action::SendAdvert { priority: 100 },
                Action::TakeOver,
                Action::StateChanged {
                    from: State::Backup,
                    to: State::Master,
                    reason: Reason::MasterDown
                }
            ]
        );
        assert_eq!(m.timer, Timer::Advert(t1 + mdi + Duration::from_secs(1)));
    }

    #[test]
    fn priority_zero_shortens_to_skew_time() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V2, 1), 90);
        m.fsm(t0, Event::Startup);
        m.fsm(t0, adv(0, "10.0.0.9"));
        assert_eq!(m.timer, Timer::MasterDown(t0 + m.skew_time()));
        let a = m.fsm(t0 + m.skew_time(), Event::TimerExpired);
        assert!(a.contains(&Action::StateChanged {
            from: State::Backup,
            to: State::Master,
            reason: Reason::MasterStopped
        }));
    }

    #[test]
    fn owner_starts_master_and_shutdown_sends_priority_zero() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V3, 100), PRIORITY_OWNER);
        let a = m.fsm(t0, Event::Startup);
        assert_eq!(changes(&a), vec![(State::Initialize, State::Master)]);
        let a = m.fsm(t0, Event::Shutdown);
        assert_eq!(
            &a[..2],
            &[Action::SendAdvert { priority: 0 }, Action::Release]
        );
        assert_eq!(m.timer, Timer::Idle);
        assert_eq!(m.state, State::Initialize);
    }

    #[test]
    fn master_yields_to_higher_priority_and_tie_break_on_address() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V2, 1), 100);
        m.fsm(t0, Event::Startup);
        m.fsm(t0 + Duration::from_secs(4), Event::TimerExpired);
        assert_eq!(m.state, State::Master);
        // Equal priority, lower address: we stay master and answer.
        let a = m.fsm(t0, adv(100, "10.0.0.1"));
        assert_eq!(m.state, State::Master);
        assert!(a.contains(&Action::SendAdvert { priority: 100 }));
        // Equal priority, higher address: we yield.
        let a = m.fsm(t0, adv(100, "10.0.0.3"));
        assert_eq!(m.state, State::Backup);
        assert!(a.contains(&Action::Release));
    }

    #[test]
    fn preempt_nopreempt_and_preempt_delay() {
        let t0 = Instant::now();
        // preempt: a lower-priority master's adverts are ignored, so we take over.
        let mut m = Machine::new(params(Version::V2, 1), 150);
        m.fsm(t0, Event::Startup);
        let before = m.timer;
        m.fsm(t0 + Duration::from_secs(1), adv(100, "10.0.0.9"));
        assert_eq!(m.timer, before, "lower advert discarded");
        // nopreempt: the same advert keeps us backup.
        let mut m = Machine::new(
            Params {
                preempt: false,
                ..params(Version::V2, 1)
            },
            150,
        );
        m.fsm(t0, Event::Startup);
        let t1 = t0 + Duration::from_secs(1);
        m.fsm(t1, adv(100, "10.0.0.9"));
        assert_eq!(m.timer, Timer::MasterDown(t1 + m.master_down_interval()));
        // preempt_delay: held back until the delay has passed since startup.
        let mut m = Machine::new(
            Params {
                preempt_delay: Duration::from_secs(10),
                ..params(Version::V2, 1)
            },
            150,
        );
        m.fsm(t0, Event::Startup);
        m.fsm(t1, adv(100, "10.0.0.9"));
        assert_eq!(m.timer, Timer::MasterDown(t1 + m.master_down_interval()));
        let t11 = t0 + Duration::from_secs(11);
        let before = m.timer;
        m.fsm(t11, adv(100, "10.0.0.9"));
        assert_eq!(
            m.timer, before,
            "after preempt_delay the lower advert is discarded"
        );
    }

    #[test]
    fn v3_backup_learns_master_interval() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V3, 100), 100);
        m.fsm(t0, Event::Startup);
        m.fsm(
            t0,
            Event::Advert(RxAdvert {
                priority: 200,
                src: "10.0.0.9".parse().unwrap(),
                adver_int: 20,
            }),
        );
        assert_eq!(m.master_adver_int, 20);
        assert_eq!(
            m.timer,
            Timer::MasterDown(
                t0 + Duration::from_millis(600) + Duration::from_millis(200) * 156 / 256
            )
        );
    }

    #[test]
    fn fault_releases_and_sends_nothing_on_link_loss() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V2, 1), PRIORITY_OWNER);
        m.fsm(t0, Event::Startup);
        let a = m.fsm(t0, Event::Fault(FaultCause::LinkDown));
        assert!(!a.iter().any(|a| matches!(a, Action::SendAdvert { .. })));
        assert!(a.contains(&Action::Release));
        assert_eq!(m.state, State::Fault);
        assert_eq!(m.timer, Timer::Idle);
        // Adverts and timers are ignored in FAULT.
        assert!(m.fsm(t0, adv(1, "10.0.0.9")).is_empty());
        assert!(m.fsm(t0, Event::TimerExpired).is_empty());
        let a = m.fsm(t0, Event::FaultCleared);
        assert_eq!(changes(&a), vec![(State::Fault, State::Master)]);
        // A tracking fault of a master sends priority 0 first.
        let a = m.fsm(t0, Event::Fault(FaultCause::Tracking));
        assert_eq!(a[0], Action::SendAdvert { priority: 0 });
    }

    #[test]
    fn startup_while_faulty_goes_to_fault() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V2, 1), 100);
        m.fault = Some(FaultCause::LinkDown);
        let a = m.fsm(t0, Event::Startup);
        assert_eq!(changes(&a), vec![(State::Initialize, State::Fault)]);
    }

    #[test]
    fn sync_group_orders() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V2, 1), 100);
        m.fsm(t0, Event::Startup);
        let a = m.fsm(t0, Event::Sync(State::Master));
        assert!(a.contains(&Action::TakeOver));
        let a = m.fsm(t0, Event::Sync(State::Backup));
        assert!(a.contains(&Action::Release));
        assert_eq!(m.state, State::Backup);
        m.fsm(t0, Event::Sync(State::Fault));
        assert_eq!(m.state, State::Fault);
        m.fsm(t0, Event::FaultCleared);
        assert_eq!(m.state, State::Backup);
    }
}
