//! FILE_CHECK: the number in a `track_file`'s file, judged as keepalived's track_file.c
//! (`process_track_file`, `update_track_file_status`,
//! `process_update_checker_track_file_status`) does for real servers; and `init_file`
//! ([`initialise`]), done once when the checker starts.
//!
//! Reading: the first 127 bytes (keepalived's buffer), opened non-blocking so a FIFO cannot
//! hang us, parsed like `strtol(buf, NULL, 0)`: leading white space, a sign, then decimal,
//! `0x` hexadecimal or `0` octal digits; what follows the number is ignored.
//!
//! Down when:
//! - the file cannot be read, is empty or does not start with a number, or the number is
//!   outside keepalived's accepted range −2147483648 ..= 2147483648. keepalived reads a
//!   missing or unreadable file as 0 and ignores a non-number (keeps its last value); a
//!   probe here has no last value, and a check that cannot see its input should not
//!   pass, so these are failures that say why;
//! - weight 0: the value is non-zero (with `reverse`: the value is zero);
//! - weight ≠ 0: value × weight (× −1 with `reverse`), clamped to the i32 range
//!   (`weight_range`), is −2147483648, IPVS_WEIGHT_FAULT. Any other result, negative ones
//!   included, is up; with `dynamic` the result is reported as
//!   `Weighted(WeightChange::Add(result))` for the real server's weight.

use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::config::model::{CheckerCommon, FileCheck, FileInit};

use super::{Outcome, WeightChange};

/// keepalived reads `sizeof(buf) - 1` bytes with a 128-byte buffer.
const READ_LIMIT: u64 = 127;

/// keepalived's IPVS_WEIGHT_FAULT: a weighted result at this value (after clamping) fails.
const WEIGHT_FAULT: i64 = i32::MIN as i64;

pub async fn probe(_common: &CheckerCommon, check: &FileCheck) -> Outcome {
    let path = check.path.clone();
    // A small read, but on a file system that may stall (NFS): off the async threads.
    let read = tokio::task::spawn_blocking(move || read_value(&path)).await;
    match read {
        Ok(Ok(value)) => verdict(value, check),
        Ok(Err(reason)) => Outcome::Down(format!("{}: {reason}", check.track_file)),
        Err(err) => Outcome::Down(format!("{}: the read failed: {err}", check.track_file)),
    }
}

/// `init_file [VALUE] [overwrite]` (keepalived's `track_file_end_handler`): writes the
/// value and a newline when the file does not exist, or always with `overwrite`, which
/// refuses to replace anything but a regular file.
pub fn initialise(file: &FileCheck) -> io::Result<()> {
    write_init(&file.path, file.init)
}

/// [`initialise`] for a path: VRRP's track_file writes the same way.
pub(crate) fn write_init(path: &Path, init: Option<FileInit>) -> io::Result<()> {
    let Some(init) = init else {
        return Ok(());
    };
    match std::fs::metadata(path) {
        Ok(meta) if init.overwrite => {
            if !meta.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} is not a regular file", path.display()),
                ));
            }
        }
        Ok(_) => return Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    std::fs::write(path, format!("{}\n", init.value))
}

/// The number at the start of `path`, or why there is none.
fn read_value(path: &Path) -> Result<i64, String> {
    let cannot = |err: io::Error| format!("cannot read {}: {err}", path.display());
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(cannot)?;
    let mut text = Vec::new();
    file.take(READ_LIMIT)
        .read_to_end(&mut text)
        .map_err(cannot)?;
    let value = parse_strtol(&text).ok_or_else(|| format!("{} holds no number", path.display()))?;
    if value < i64::from(i32::MIN) || value > i64::from(i32::MAX) + 1 {
        return Err(format!(
            "{value} in {} is outside -2147483648 to 2147483648",
            path.display()
        ));
    }
    Ok(value)
}

/// `strtol(text, NULL, 0)` that tells "no number" apart from 0. Too large for i64 is
/// `i64::MAX`/`MIN`, which the caller's range check rejects, as keepalived does on ERANGE.
pub(crate) fn parse_strtol(text: &[u8]) -> Option<i64> {
    let text = text.trim_ascii_start();
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let (radix, digits) = match text {
        [b'0', b'x' | b'X', rest @ ..] if rest.first().is_some_and(u8::is_ascii_hexdigit) => {
            (16, rest)
        }
        [b'0', ..] => (8, text),
        _ => (10, text),
    };
    let mut magnitude: i128 = 0;
    let mut any = false;
    for &byte in digits {
        let Some(digit) = char::from(byte).to_digit(radix) else {
            break;
        };
        any = true;
        magnitude = (magnitude * i128::from(radix) + i128::from(digit)).min(i128::from(u64::MAX));
    }
    if !any {
        return None;
    }
    let signed = if negative { -magnitude } else { magnitude };
    Some(i64::try_from(signed).unwrap_or(if negative { i64::MIN } else { i64::MAX }))
}

/// keepalived's rule for a value read from the file (see the module doc).
fn verdict(value: i64, check: &FileCheck) -> Outcome {
    let name = &check.track_file;
    if check.weight == 0 {
        let failed = (value != 0) != check.reverse;
        return if !failed {
            Outcome::Up
        } else if check.reverse {
            Outcome::Down(format!(
                "{name}: value 0, zero is a failure (weight 0 reverse)"
            ))
        } else {
            Outcome::Down(format!(
                "{name}: value {value}, non-zero is a failure (weight 0)"
            ))
        };
    }
    let multiplier = if check.reverse { -1 } else { 1 };
    let result = value
        .saturating_mul(check.weight)
        .saturating_mul(multiplier)
        .clamp(WEIGHT_FAULT, i64::from(i32::MAX));
    if result == WEIGHT_FAULT {
        Outcome::Down(format!(
            "{name}: value {value} × weight {}{} reaches the fault weight {WEIGHT_FAULT}",
            check.weight,
            if check.reverse { " reversed" } else { "" }
        ))
    } else if check.dynamic {
        Outcome::Weighted(WeightChange::Add(result))
    } else {
        Outcome::Up
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::model::FileInit;
    use crate::health::probe::udp::local_common;

    /// A scratch directory for one test, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(test: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("director-file-{}-{test}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            Scratch(dir)
        }

        fn file(&self, contents: &str) -> PathBuf {
            let path = self.0.join("value");
            std::fs::write(&path, contents).expect("write");
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn check(path: PathBuf, weight: i64, reverse: bool, dynamic: bool) -> FileCheck {
        FileCheck {
            track_file: "tf".into(),
            path,
            weight,
            reverse,
            dynamic,
            init: None,
        }
    }

    async fn outcome(check: &FileCheck) -> Outcome {
        probe(
            &local_common("127.0.0.1:1".parse().expect("address")),
            check,
        )
        .await
    }

    #[tokio::test]
    async fn weight_0_zero_is_up_non_zero_is_down() {
        let scratch = Scratch::new("weight0");
        assert_eq!(
            outcome(&check(scratch.file("0\n"), 0, false, false)).await,
            Outcome::Up
        );
        assert_eq!(
            outcome(&check(scratch.file("3\n"), 0, false, true)).await,
            Outcome::Down("tf: value 3, non-zero is a failure (weight 0)".into())
        );
    }

    #[tokio::test]
    async fn weight_0_reverse_inverts() {
        let scratch = Scratch::new("weight0rev");
        assert_eq!(
            outcome(&check(scratch.file("1"), 0, true, false)).await,
            Outcome::Up
        );
        assert_eq!(
            outcome(&check(scratch.file("0"), 0, true, false)).await,
            Outcome::Down("tf: value 0, zero is a failure (weight 0 reverse)".into())
        );
    }

    #[tokio::test]
    async fn weights_multiply_and_dynamic_reports_the_result() {
        let scratch = Scratch::new("weights");
        assert_eq!(
            outcome(&check(scratch.file("  7\n"), 3, false, true)).await,
            Outcome::Weighted(WeightChange::Add(21))
        );
        assert_eq!(
            outcome(&check(scratch.file("7"), 3, true, true)).await,
            Outcome::Weighted(WeightChange::Add(-21))
        );
        assert_eq!(
            outcome(&check(scratch.file("-2"), 5, false, true)).await,
            Outcome::Weighted(WeightChange::Add(-10))
        );
        // Without dynamic a usable result is simply up.
        assert_eq!(
            outcome(&check(scratch.file("-2"), 5, false, false)).await,
            Outcome::Up
        );
    }

    #[tokio::test]
    async fn reaching_the_fault_weight_is_down() {
        let scratch = Scratch::new("fault");
        assert_eq!(
            outcome(&check(scratch.file("-2147483648"), 1, false, true)).await,
            Outcome::Down(
                "tf: value -2147483648 × weight 1 reaches the fault weight -2147483648".into()
            )
        );
        assert_eq!(
            outcome(&check(scratch.file("100"), 100_000_000, true, false)).await,
            Outcome::Down(
                "tf: value 100 × weight 100000000 reversed reaches the fault weight -2147483648"
                    .into()
            )
        );
        // The other end clamps to i32::MAX and stays up.
        assert_eq!(
            outcome(&check(scratch.file("100"), 100_000_000, false, true)).await,
            Outcome::Weighted(WeightChange::Add(i64::from(i32::MAX)))
        );
    }

    #[tokio::test]
    async fn garbage_empty_and_out_of_range_are_down() {
        let scratch = Scratch::new("garbage");
        let path = scratch.file("up\n");
        let shown = path.display().to_string();
        assert_eq!(
            outcome(&check(path.clone(), 0, false, false)).await,
            Outcome::Down(format!("tf: {shown} holds no number"))
        );
        scratch.file("");
        assert_eq!(
            outcome(&check(path.clone(), 0, false, false)).await,
            Outcome::Down(format!("tf: {shown} holds no number"))
        );
        scratch.file("99999999999");
        assert_eq!(
            outcome(&check(path, 1, false, false)).await,
            Outcome::Down(format!(
                "tf: 99999999999 in {shown} is outside -2147483648 to 2147483648"
            ))
        );
    }

    #[tokio::test]
    async fn missing_file_is_down() {
        let scratch = Scratch::new("missing");
        let outcome = outcome(&check(scratch.0.join("absent"), 0, false, false)).await;
        let Outcome::Down(reason) = &outcome else {
            panic!("expected down, got {outcome:?}");
        };
        assert!(reason.starts_with("tf: cannot read "), "{reason}");
    }

    #[test]
    fn numbers_parse_like_strtol() {
        assert_eq!(parse_strtol(b" \t12abc"), Some(12));
        assert_eq!(parse_strtol(b"-0x1f\n"), Some(-31));
        assert_eq!(parse_strtol(b"010"), Some(8));
        assert_eq!(parse_strtol(b"0x"), Some(0));
        assert_eq!(parse_strtol(b"+5"), Some(5));
        assert_eq!(parse_strtol(b"-"), None);
        assert_eq!(parse_strtol(b"x1"), None);
        assert_eq!(parse_strtol(b"99999999999999999999999"), Some(i64::MAX));
    }

    #[test]
    fn init_file_writes_when_missing_or_asked_to_overwrite() {
        let scratch = Scratch::new("init");
        let path = scratch.0.join("fresh");
        let mut file = check(path.clone(), 0, false, false);

        // No init_file: nothing is written.
        initialise(&file).expect("no-op");
        assert!(!path.exists());

        file.init = Some(FileInit {
            value: 5,
            overwrite: false,
        });
        initialise(&file).expect("create");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "5\n");

        // An existing file is kept without overwrite…
        std::fs::write(&path, "9\n").expect("write");
        initialise(&file).expect("keep");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "9\n");

        // …and replaced with it.
        file.init = Some(FileInit {
            value: -3,
            overwrite: true,
        });
        initialise(&file).expect("overwrite");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "-3\n");

        // overwrite never replaces a directory.
        let dir = check(scratch.0.clone(), 0, false, false);
        let dir = FileCheck {
            init: file.init,
            ..dir
        };
        assert!(initialise(&dir).is_err());
    }
}
