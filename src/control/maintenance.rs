//! Where the operator's maintenance state lives between runs: `maintenance.json` in the
//! runtime directory, replaced atomically (written to a temporary file, synced, renamed),
//! so a crash mid-write leaves the old state or the new one, never half of each.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::policy::Maintenance;

/// The file name inside the runtime directory.
pub const FILE_NAME: &str = "maintenance.json";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("maintenance state {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "maintenance state {path} is not valid ({source}); fix or remove it (removing it puts \
         every withdrawn VIP and drained real server back into service)"
    )]
    Invalid {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// The stored state; no file means no maintenance. A file that cannot be read is an
/// error rather than an empty state: starting would silently announce VIPs an operator
/// withdrew.
pub fn load(path: &Path) -> Result<Maintenance, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Maintenance::default()),
        Err(source) => {
            return Err(StateError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_str(&text).map_err(|source| StateError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}

/// Replaces the stored state atomically; an empty state removes the file.
pub fn store(path: &Path, state: &Maintenance) -> Result<(), StateError> {
    let io_err = |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    };
    if state.is_empty() {
        return match std::fs::remove_file(path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(io_err(err)),
            _ => Ok(()),
        };
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err)?;
    }
    let text = serde_json::to_string_pretty(state).map_err(|err| io_err(io::Error::other(err)))?;
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(io_err)?;
    file.write_all(text.as_bytes()).map_err(io_err)?;
    file.write_all(b"\n").map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io_err)?;
    // The rename is durable only once the directory entry is.
    if let Some(dir) = path.parent() {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_load_and_clear() {
        let dir = std::env::temp_dir().join(format!("director-maint-{}", std::process::id()));
        let path = dir.join(FILE_NAME);
        assert_eq!(load(&path).expect("missing file"), Maintenance::default());
        let mut state = Maintenance::default();
        state.withdrawn.insert("10.0.0.1".parse().expect("ip"));
        state.director_drained = true;
        store(&path, &state).expect("store");
        assert_eq!(load(&path).expect("load"), state);
        assert!(
            !path.with_extension("json.tmp").exists(),
            "no temporary left"
        );
        store(&path, &Maintenance::default()).expect("clear");
        assert!(!path.exists(), "an empty state leaves no file");
        std::fs::write(&path, "{not json").expect("write");
        assert!(matches!(load(&path), Err(StateError::Invalid { .. })));
        let _ = std::fs::remove_dir_all(dir);
    }
}
