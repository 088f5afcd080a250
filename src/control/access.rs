//! Who may talk to the control socket: its owner (root) alone, mode 0600, or also one
//! group (`director { control_socket_group NAME }`), mode 0660. The socket can withdraw
//! VIPs and drain the director, so it is never world-accessible.

use std::io;
use std::path::Path;

/// Mode of a socket only its owner may use.
pub const OWNER_ONLY: u32 = 0o600;
/// Mode of a socket its group may use too.
pub const OWNER_AND_GROUP: u32 = 0o660;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GroupError {
    #[error("control_socket_group {0}: no such group in /etc/group (a numeric GID works too)")]
    Unknown(String),
    #[error("control_socket_group {name}: cannot read /etc/group: {message}")]
    Unreadable { name: String, message: String },
}

/// The GID of `name`: a number is taken as it is, a name is looked up in `/etc/group`
/// (groups only known to NSS services such as LDAP need their number).
pub fn resolve_group(name: &str) -> Result<u32, GroupError> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    let text = std::fs::read_to_string("/etc/group").map_err(|err| GroupError::Unreadable {
        name: name.to_string(),
        message: err.to_string(),
    })?;
    group_in(&text, name).ok_or_else(|| GroupError::Unknown(name.to_string()))
}

/// `name:password:GID:members` lines, as group(5) describes them.
fn group_in(text: &str, name: &str) -> Option<u32> {
    text.lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.len() >= 3 && fields[0] == name)
        .and_then(|fields| fields[2].parse().ok())
}

/// Gives a freshly bound socket its mode and group, before clients can see it.
pub fn restrict(path: &Path, group: Option<u32>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(gid) = group {
        std::os::unix::fs::chown(path, None, Some(gid))?;
    }
    let mode = if group.is_some() {
        OWNER_AND_GROUP
    } else {
        OWNER_ONLY
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_resolve_by_name_or_number() {
        let etc = "root:x:0:\nadm:x:4:syslog,alice\n# junk\nlbops:x:1234:\n";
        assert_eq!(group_in(etc, "lbops"), Some(1234));
        assert_eq!(group_in(etc, "adm"), Some(4));
        assert_eq!(group_in(etc, "nobody-here"), None);
        assert_eq!(resolve_group("4321"), Ok(4321));
        assert!(matches!(
            resolve_group("no-such-group-director-test"),
            Err(GroupError::Unknown(_))
        ));
    }
}
