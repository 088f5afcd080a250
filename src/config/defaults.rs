//! keepalived's defaults, each one citing keepalived.conf(5) (Debian keepalived 2.2.7,
//! `zcat /usr/share/man/man5/keepalived.conf.5.gz`). Where the man page is silent the
//! comment says so and the value is what keepalived 2.2 does.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::model::{GlobalDefs, LvsFlushOnStop, VrrpGlobals};

// ── LVS (section "Virtual server(s)") ──

/// "delay timer for checker polling (60 seconds if not specified)".
pub const DELAY_LOOP: Duration = Duration::from_secs(60);
/// "Optional connection timeout in seconds. The default is 5 seconds".
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// "Retry count … Default: 1 unless specified below".
pub const RETRY: u32 = 1;
/// MISC_CHECK: "The retry default is 0."
pub const MISC_RETRY: u32 = 0;
/// "delay before retry after failure. Defaults to … 3 seconds for HTTP_GET and SSL_GET".
pub const HTTP_DELAY_BEFORE_RETRY: Duration = Duration::from_secs(3);
/// "… and 1 second otherwise".
pub const DELAY_BEFORE_RETRY: Duration = Duration::from_secs(1);
/// "LVS persistence timeout in seconds, default 6 minutes" (a bare `persistence_timeout`).
pub const PERSISTENCE_TIMEOUT: Duration = Duration::from_secs(360);
/// real_server "relative weight to use, default: 1".
pub const WEIGHT: u32 = 1;
/// "Minimum total weight of all live servers … Defaults to 1."
pub const QUORUM: u32 = 1;
/// "Tolerate this much weight units … Defaults to 0."
pub const HYSTERESIS: u32 = 0;
/// SMTP_CHECK `helo_name`: silent in the man page; keepalived's check_smtp.h
/// `SMTP_DEFAULT_HELO`.
pub const SMTP_CHECK_HELO: &str = "smtpchecker.keepalived.org";
/// url `status_code`: "Default is 200-299".
pub const STATUS_CODES: (u16, u16) = (200, 299);

// ── checkers other than TCP/HTTP/SSL/MISC (section "Virtual server(s)", real_server) ──

/// DNS_CHECK: "The retry default is 3." (keepalived check_dns.c `DNS_DEFAULT_RETRY`).
/// Its delay_before_retry "Defaults to delay_loop for DNS_CHECK", which has no constant:
/// check_dns.c sets `default_delay_before_retry = 0` and check_api.c reads 0 as delay_loop.
pub const DNS_RETRY: u32 = 3;
/// DNS_CHECK `name`: "The default is . (dot)". The `type` default, SOA, is
/// `DnsQueryType::default()`.
pub const DNS_NAME: &str = ".";
/// UDP_CHECK `min_reply_length <INT> # default 0`.
pub const UDP_MIN_REPLY_LENGTH: u32 = 0;
/// UDP_CHECK `max_reply_length <INT> # default is 255` (check_udp.c: `UINT8_MAX`).
pub const UDP_MAX_REPLY_LENGTH: u32 = 255;
/// UDP_CHECK reply lengths: check_udp.c reads them with a maximum of `UINT16_MAX`.
pub const UDP_REPLY_LENGTH_MAX: i64 = 65535;
/// bfd_instance (keepalived.conf(5) "BFD CONFIGURATION"): min_rx and min_tx "default is
/// 10 ms", idle_tx "default is 1000 ms", multiplier "default is 5".
pub const BFD_MIN_RX_US: u32 = 10_000;
pub const BFD_MIN_TX_US: u32 = 10_000;
pub const BFD_IDLE_TX_US: u32 = 1_000_000;
pub const BFD_MULTIPLIER: u8 = 5;
/// How often BFD_CHECK looks at its session's state (director's choice: keepalived is told
/// at once by its BFD process).
pub const BFD_CHECK_POLL: std::time::Duration = std::time::Duration::from_millis(100);
/// track_file: "file to track (weight defaults to 1)".
pub const TRACK_FILE_WEIGHT: i64 = 1;
/// track_file and FILE_CHECK `weight <-2147483647..2147483647> [reverse]`.
pub const TRACK_FILE_WEIGHT_MAX: i64 = 2_147_483_647;

// ── VRRP ("VRRP script(s)", "VRRP instance(s)") ──

/// vrrp_script "seconds between script invocations, (default: 1 second)".
pub const SCRIPT_INTERVAL: Duration = Duration::from_secs(1);
/// vrrp_script "adjust priority by this weight, (default: 0)".
pub const SCRIPT_WEIGHT: i32 = 0;
/// vrrp_script rise/fall: the man page is silent; keepalived 2.2 uses 1 for both
/// (vrrp_parser.c initialises rise = fall = 1).
pub const SCRIPT_RISE_FALL: u32 = 1;
/// vrrp_instance priority: the man page is silent on the default; keepalived 2.2 uses
/// 100 (VRRP_PRIO_DFL), and 255 for an address owner only when configured.
pub const PRIORITY: u8 = 100;
/// `advert_int`: the man page only shows `advert_int 1`; RFC 3768/5798 and keepalived
/// 2.2 use 1 s.
pub const ADVERT_INT: Duration = Duration::from_secs(1);
/// `preempt_delay`: "Range: 0 (default) to 1000".
pub const PREEMPT_DELAY: Duration = Duration::ZERO;
/// vrrp_script `weight` range, "weight <INTEGER:-253..253>".
pub const TRACK_WEIGHT_MAX: i32 = 253;

// ── global_defs ──

/// The man page example `smtp_connect_timeout 30`; keepalived 2.2's default is 30 s.
pub const SMTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// smtp_server port: the man page shows `[<PORT>]`; SMTP's port 25 is keepalived's default.
pub const SMTP_PORT: u16 = 25;

impl Default for VrrpGlobals {
    fn default() -> Self {
        VrrpGlobals {
            // `vrrp_strict`: off unless written.
            strict: false,
            // "Set the default VRRP version to use (default: 2 …)".
            version: 2,
            // vrrp_garp_interval "(default: 0)".
            garp_interval: Duration::ZERO,
            // vrrp_gna_interval "(default: 0)".
            gna_interval: Duration::ZERO,
            // vrrp_garp_master_delay "(default: 5)".
            garp_master_delay: Duration::from_secs(5),
            // vrrp_garp_master_repeat "(default: 5)".
            garp_master_repeat: 5,
            // vrrp_garp_lower_prio_delay "(default: vrrp_garp_master_delay)": resolved
            // after parsing when not written.
            garp_lower_prio_delay: Duration::from_secs(5),
            // vrrp_garp_lower_prio_repeat "(default: vrrp_garp_master_repeat)".
            garp_lower_prio_repeat: 5,
            // vrrp_garp_master_refresh "(default: 0 (no refreshing))".
            garp_master_refresh: Duration::ZERO,
            // vrrp_garp_master_refresh_repeat "(default: 1)".
            garp_master_refresh_repeat: 1,
            // vrrp_skip_check_adv_addr "(default: don't skip)".
            skip_check_adv_addr: false,
            check_unicast_src: false,
            // vrrp_lower_prio_no_advert "Defaults to false, unless strict_mode is set".
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            // down_timer_adverts "The default is 3, to conform with the VRRP RFCs".
            down_timer_adverts: 3,
            // vrrp_mcast_group4 "(default: 224.0.0.18)", vrrp_mcast_group6 "(default: ff02::12)".
            mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            // vrrp_startup_delay: silent on default; keepalived 2.2 starts immediately.
            startup_delay: Duration::ZERO,
        }
    }
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            net_namespace: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: SMTP_CONNECT_TIMEOUT,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            enable_script_security: false,
            script_user: None,
            default_interface: None,
            dynamic_interfaces: false,
            vrrp: VrrpGlobals::default(),
            lvs_sync_daemon: None,
            lvs_timeouts: None,
            lvs_flush: false,
            // "the default approach of deleting each RS and each VS individually".
            lvs_flush_on_stop: LvsFlushOnStop::No,
            checker_log_all_failures: false,
        }
    }
}

/// `vrrp_track_process` `weight` (keepalived.conf(5): "default is 1").
pub const TRACK_PROCESS_WEIGHT: i32 = 1;
