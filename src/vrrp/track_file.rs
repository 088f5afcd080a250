//! VRRP `track_file`: a number in a file moves an instance's priority, as keepalived's
//! vrrp_track.c (`process_track_file`, `update_track_file_status`) does.
//!
//! Reading: the first 127 bytes, opened non-blocking (a FIFO cannot hang us), parsed like
//! `strtol(buf, NULL, 0)` (shared with FILE_CHECK, health/probe/file.rs). A missing,
//! unreadable or empty file, or text that does not start with a number, reads as 0, as
//! in keepalived (a deleted file is "treated as though the value is 0"); a number outside
//! the i32 range is ignored and the last value kept (keepalived: "Invalid number … -
//! ignoring").
//!
//! Watching: keepalived is told of changes by inotify; director polls each tracked file
//! every [`POLL`] and acts when the value read differs from the last one. A change is
//! seen within that interval; writes that come and go in between are not.
//!
//! Effect ([`adjustment`]): weight 0: a non-zero value (with `reverse`, a zero value) is
//! FAULT. Otherwise value × weight (× −1 with `reverse`), clamped to −254 ..= 253, is
//! added to the priority; −254 (any result below −253) is FAULT.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::health::probe::file::parse_strtol;

/// How often a tracked file is read.
pub const POLL: Duration = Duration::from_millis(250);

/// keepalived reads `sizeof(buf) - 1` bytes with a 128-byte buffer.
const READ_LIMIT: u64 = 127;

/// The result at or below which the instance goes to FAULT (keepalived clamps to −254).
const FAULT: i64 = -254;

/// The value in `path`; `None` when it is a number outside the i32 range (ignored).
pub fn read_value(path: &Path) -> Option<i32> {
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    else {
        return Some(0);
    };
    let mut text = Vec::new();
    if file.take(READ_LIMIT).read_to_end(&mut text).is_err() {
        return Some(0);
    }
    match parse_strtol(&text) {
        None => Some(0),
        Some(value) => i32::try_from(value).ok(),
    }
}

/// What one tracked file contributes: (priority adjustment, fault).
pub fn adjustment(value: i32, weight: i64, reverse: bool) -> (i32, bool) {
    if weight == 0 {
        return (0, (value != 0) != reverse);
    }
    let sign = if reverse { -1 } else { 1 };
    // i64: value × weight cannot overflow (|value| < 2^31, |weight| < 2^31).
    let status = (i64::from(value) * weight * sign).clamp(FAULT, 253);
    if status == FAULT {
        (0, true)
    } else {
        (status as i32, false)
    }
}

/// One polled file and the last value read from it.
#[derive(Debug)]
pub struct FileWatch {
    path: PathBuf,
    last: i32,
}

impl FileWatch {
    /// Reads the file now: the value an instance starts with.
    pub fn new(path: PathBuf) -> (FileWatch, i32) {
        let last = read_value(&path).unwrap_or(0);
        (FileWatch { path, last }, last)
    }

    /// Reads the file again; the new value if it changed.
    pub fn poll(&mut self) -> Option<i32> {
        let value = read_value(&self.path)?;
        if value == self.last {
            return None;
        }
        self.last = value;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_keepalived() {
        // weight 0: pass/fail.
        assert_eq!(adjustment(0, 0, false), (0, false));
        assert_eq!(adjustment(3, 0, false), (0, true));
        assert_eq!(adjustment(-1, 0, false), (0, true));
        assert_eq!(adjustment(0, 0, true), (0, true));
        assert_eq!(adjustment(7, 0, true), (0, false));
        // value × weight, clamped to -254..=253, -254 is FAULT.
        assert_eq!(adjustment(5, 10, false), (50, false));
        assert_eq!(adjustment(-5, 10, false), (-50, false));
        assert_eq!(adjustment(5, 10, true), (-50, false));
        assert_eq!(adjustment(-253, 1, false), (-253, false));
        assert_eq!(adjustment(-254, 1, false), (0, true));
        assert_eq!(adjustment(-100, 3, false), (0, true));
        assert_eq!(adjustment(100, 3, false), (253, false));
        assert_eq!(adjustment(100, 3, true), (0, true));
        assert_eq!(
            adjustment(i32::MIN, i64::from(i32::MAX), true),
            (253, false)
        );
    }

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("director-trackfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join(name)
    }

    #[test]
    fn values_are_read_as_keepalived_reads_them() {
        let path = temp_path("values");
        let _ = std::fs::remove_file(&path);
        assert_eq!(read_value(&path), Some(0), "missing file");
        for (text, value) in [
            ("", Some(0)),
            ("  42\n", Some(42)),
            ("-7 apples", Some(-7)),
            ("0x10", Some(16)),
            ("010", Some(8)),
            ("none", Some(0)),
            ("2147483647", Some(i32::MAX)),
            ("2147483648", None),
            ("-2147483649", None),
        ] {
            std::fs::write(&path, text).expect("write");
            assert_eq!(read_value(&path), value, "{text:?}");
        }
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_watch_reports_changes_only() {
        let path = temp_path("watch");
        std::fs::write(&path, "3\n").expect("write");
        let (mut watch, first) = FileWatch::new(path.clone());
        assert_eq!(first, 3);
        assert_eq!(watch.poll(), None);
        std::fs::write(&path, "-300\n").expect("write");
        assert_eq!(watch.poll(), Some(-300));
        assert_eq!(watch.poll(), None);
        // Out of range: ignored, the last value stays.
        std::fs::write(&path, "99999999999\n").expect("write");
        assert_eq!(watch.poll(), None);
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(watch.poll(), Some(0), "a deleted file reads as 0");
    }
}
