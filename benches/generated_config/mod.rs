//! The large keepalived.conf the memory and parse benches load: `services` virtual servers
//! (alternately HTTP_GET on port 80 and TCP_CHECK on 443) × `reals` real servers each, with
//! addresses that never collide up to 1,048,576 services.

use std::fmt::Write as _;

/// `preamble` goes after `global_defs` (e.g. a `director { }` block); `delay_loop` is the
/// checkers' interval in seconds.
pub fn keepalived_conf(services: usize, reals: usize, delay_loop: u32, preamble: &str) -> String {
    let mut text = String::with_capacity(services * reals * 160);
    text.push_str("global_defs {\n    router_id bench\n}\n\n");
    text.push_str(preamble);
    for v in 0..services {
        let vip = format!("10.{}.{}.{}", 100 + v / 65536, (v / 256) % 256, v % 256);
        let port = if v % 2 == 0 { 80 } else { 443 };
        let _ = write!(
            text,
            "virtual_server {vip} {port} {{\n    delay_loop {delay_loop}\n    lb_algo mh\n    mh-port\n    lb_kind DR\n    protocol TCP\n    quorum 2\n"
        );
        for r in 0..reals {
            let rip = format!(
                "172.{}.{}.{}",
                16 + (v / 6554) % 16,
                (v / 25) % 256,
                (v % 25) * 10 + r
            );
            if v % 2 == 0 {
                let _ = write!(
                    text,
                    "    real_server {rip} {port} {{\n        weight 1\n        HTTP_GET {{\n            url {{\n                path /health\n                status_code 200\n            }}\n            connect_timeout 3\n            retry 2\n        }}\n    }}\n"
                );
            } else {
                let _ = write!(
                    text,
                    "    real_server {rip} {port} {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 3\n        }}\n    }}\n"
                );
            }
        }
        text.push_str("}\n");
    }
    text
}
