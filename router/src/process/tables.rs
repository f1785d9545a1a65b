//! The routing tables' files: the real [`TableSource`] the core's tables are read through.
//!
//! A table file is read only if it is a regular file (checked on the open file before
//! reading, and opened without waiting, so a FIFO cannot block the load), not writable by any
//! user, at most the cap the core names, and UTF-8; an `:include:` file also only if it is not
//! a symlink (docs/trust.md).

use std::io::Read;
use std::path::Path;

use crate::core::table::{TableError, TableSource};

/// Tables from the file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct Files;

impl TableSource for Files {
    fn read(&self, path: &Path, max: u64) -> Result<String, TableError> {
        read(path, max, rustix::fs::OFlags::empty())
    }

    fn read_include(&self, path: &Path, max: u64) -> Result<String, TableError> {
        read(path, max, rustix::fs::OFlags::NOFOLLOW)
    }
}

/// Reads a table file: opened without waiting (a FIFO cannot block the load), then checked
/// on the open file: a regular file, not writable by any user, at most `max` bytes, UTF-8.
fn read(path: &Path, max: u64, flags: rustix::fs::OFlags) -> Result<String, TableError> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let err = |message: String| TableError {
        path: path.into(),
        line: 0,
        message,
    };
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::NONBLOCK | flags).bits() as i32)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                err("a symlink (refused for an :include: file: name the file itself)".into())
            } else {
                err(e.to_string())
            }
        })?;
    let meta = f.metadata().map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    if meta.mode() & 0o002 != 0 {
        // Any local user could add a recipient, a command or a file to the routing.
        return Err(err("writable by any user (chmod o-w)".into()));
    }
    if meta.len() > max {
        return Err(err(format!("{} bytes, over the cap of {max}", meta.len())));
    }
    let mut text = String::new();
    f.take(max + 1)
        .read_to_string(&mut text)
        .map_err(|e| err(e.to_string()))?;
    if text.len() as u64 > max {
        return Err(err(format!("over the cap of {max} bytes")));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking_and_caps_hold() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = Files.read(&fifo, 100).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let f = dir.path().join("t");
        std::fs::write(&f, "0123456789").unwrap();
        assert_eq!(Files.read(&f, 10).unwrap(), "0123456789");
        assert!(Files
            .read(&f, 9)
            .unwrap_err()
            .to_string()
            .contains("over the cap"));
        // Through the aliases loader: an include that is a FIFO names the FIFO.
        let aliases = dir.path().join("aliases");
        std::fs::write(&aliases, format!("l: :include:{}\n", fifo.display())).unwrap();
        let e = crate::core::aliases::Aliases::load(&aliases, &Files).unwrap_err();
        assert_eq!(e.path, fifo);
    }

    #[test]
    fn an_include_that_is_a_symlink_or_writable_by_anyone_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let members = dir.path().join("members");
        std::fs::write(&members, "a@example.org\n").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&members, &link).unwrap();
        let aliases = dir.path().join("aliases");
        let load = |target: &Path| {
            std::fs::write(&aliases, format!("l: :include:{}\n", target.display())).unwrap();
            crate::core::aliases::Aliases::load(&aliases, &Files)
        };
        assert!(load(&members).is_ok());
        let e = load(&link).unwrap_err();
        assert_eq!(e.path, link);
        assert!(e.message.contains("symlink"), "{e}");
        std::fs::set_permissions(&members, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = load(&members).unwrap_err();
        assert!(e.message.contains("writable by any user"), "{e}");
        // The aliases file itself too; a symlink to it is the administrator's and is followed.
        std::fs::set_permissions(&members, std::fs::Permissions::from_mode(0o644)).unwrap();
        let main_link = dir.path().join("aliases-link");
        std::os::unix::fs::symlink(&aliases, &main_link).unwrap();
        std::fs::write(&aliases, "x: y@example.org\n").unwrap();
        assert!(crate::core::aliases::Aliases::load(&main_link, &Files).is_ok());
        std::fs::set_permissions(&aliases, std::fs::Permissions::from_mode(0o646)).unwrap();
        assert!(crate::core::aliases::Aliases::load(&aliases, &Files).is_err());
    }
}
