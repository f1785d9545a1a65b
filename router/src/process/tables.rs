//! The routing tables' files: the real [`TableSource`] the core's tables are read through.
//!
//! A table file is read only if it is a regular file (checked on the open file before
//! reading, and opened without waiting, so a FIFO cannot block the load), at most the cap the
//! core names, and UTF-8.

use std::io::Read;
use std::path::Path;

use crate::core::table::{TableError, TableSource};

/// Tables from the file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct Files;

impl TableSource for Files {
    fn read(&self, path: &Path, max: u64) -> Result<String, TableError> {
        let err = |message: String| TableError {
            path: path.into(),
            line: 0,
            message,
        };
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(path)
            .map_err(|e| err(e.to_string()))?;
        let meta = f.metadata().map_err(|e| err(e.to_string()))?;
        if !meta.is_file() {
            return Err(err("not a regular file".into()));
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
}
