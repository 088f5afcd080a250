//! `director { }`: director's own block.

use super::*;

pub(super) fn director(b: &mut Builder, node: &Node, diag: &mut Diagnostics) {
    v::no_more_args(node, 0, diag);
    if let Some(first) = &b.director_block {
        diag.error(
            node.span.clone(),
            format!(
                "duplicate director block (first at line {}), expected one",
                first.line
            ),
        );
        return;
    }
    b.director_block = Some(node.span.clone());
    if let Some(children) = v::block(node, diag) {
        apply(
            "director",
            DIRECTOR,
            &[],
            &mut b.config.director,
            children,
            diag,
        );
        b.map.director_mode = children
            .iter()
            .rfind(|c| c.keyword == "mode")
            .map(|c| c.span.clone());
    }
}

pub const DIRECTOR: &[Kw<DirectorSettings>] = &[
    kw!("mode", |s, n, d| {
        s.mode = v::choice(
            n,
            &[
                ("active-active", Mode::ActiveActive),
                ("master-backup", Mode::MasterBackup),
                ("tables-only", Mode::TablesOnly),
            ],
            d,
        )
        .or(s.mode)
    }),
    kw!("dataplane", |s, n, d| {
        if let Some(k) = v::choice(
            n,
            &[
                ("ipvs", DataplaneKind::Ipvs),
                ("nftables", DataplaneKind::Nftables),
                ("none", DataplaneKind::None),
            ],
            d,
        ) {
            s.dataplane = k
        }
    }),
    kw!("control_socket", |s, n, d| {
        if let Some(p) = v::single(n, "a socket path", d) {
            s.control_socket = Some(PathBuf::from(p))
        }
    }),
    kw!("control_socket_group", |s, n, d| {
        if let Some(group) = v::single(n, "a group name or GID", d) {
            s.control_socket_group = Some(group.to_string())
        }
    }),
    kw!("maglev_table_size", |s, n, d| {
        if let Some(size) = maglev_table_size(n, d) {
            s.maglev_table_size = size
        }
    }),
    kw!("metrics_listen", |s, n, d| {
        if let Some(text) = v::single(n, "ADDR:PORT", d) {
            match text.parse() {
                Ok(addr) => s.metrics_listen = Some(addr),
                Err(_) => v::bad(n, 0, "ADDR:PORT (IPv6 as [ADDR]:PORT)", d),
            }
        }
    }),
    kw!("dataplane_resync_interval", |s, n, d| {
        if let Some(interval) = v::timer(n, 86_400, d) {
            s.dataplane_resync_interval = Some(interval)
        }
    }),
    kw!("first_checks_timeout", |s, n, d| {
        if let Some(timeout) = v::timer(n, 86_400, d) {
            s.first_checks_timeout = Some(timeout)
        }
    }),
];

/// `maglev_table_size auto|PRIME`: `Some(None)` is `auto`, `None` an error (reported).
pub(super) fn maglev_table_size(n: &Node, d: &mut Diagnostics) -> Option<Option<u32>> {
    let text = v::single(n, "auto or a prime table size", d)?;
    if text == "auto" {
        return Some(None);
    }
    let max = crate::dataplane::maglev::MAX_TABLE_SIZE;
    match v::parse_int(text) {
        Some(m)
            if (3..=i64::from(max)).contains(&m)
                && crate::dataplane::maglev::is_prime(m as u32) =>
        {
            Some(Some(m as u32))
        }
        _ => {
            v::bad(
                n,
                0,
                &format!("auto or a prime from 3 to {max} (e.g. 1009, 4093, 65537)"),
                d,
            );
            None
        }
    }
}
