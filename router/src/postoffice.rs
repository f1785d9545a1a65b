//! The postoffice: its directories, its names, and the checks made before touching it.
//!
//! Layout (SPEC section 2; the states and transitions are in docs/spool.md):
//!
//! ```text
//! public/            submissions being written, each flock'ed by its writer
//! router/<id>        complete messages awaiting routing
//! work/<id>          a message claimed by a router (flock'ed by it while it works)
//! work/<id>#attempts one byte per attempt to route <id>
//! work/<id>@<ch>     the output for channel <ch>, staged
//! work/<id>#plan     the fan-out plan: its presence is the commit point
//! work/<id>#reason   a reason file being written
//! queue/<ch>/<id>    routed output for channel <ch>
//! deferred/<id>      a parked message, bytes untouched; deferred/<id>.reason says why
//! ```
//!
//! An id is letters, digits, `.`, `-`, `_`, not starting with `.` and not ending in `.reason`
//! (which would collide with a reason file in deferred/); at most 200 bytes. `#` and `@` are
//! not id bytes, so the work/ suffixes can never be mistaken for ids. A name in router/ that is
//! not an id is reported and left alone, never deleted.
//!
//! All directories must be on one file system (same `st_dev`), or a rename is not atomic:
//! `Postoffice::open` refuses otherwise.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::fs::Dir;

/// The most bytes in an id.
pub const ID_BYTES_MAX: usize = 200;

/// True if `name` is a message id.
pub fn is_id(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= ID_BYTES_MAX
        && !name.starts_with('.')
        && !name.ends_with(".reason")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// True if `name` is a channel name: lower-case letters, digits, `-`, `_`; at most 64 bytes.
pub fn is_channel(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'))
}

/// Why the postoffice could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is on another file system than {root} (renames would not be atomic)")]
    OtherFileSystem { path: PathBuf, root: PathBuf },
}

/// Open handles on the postoffice's directories.
#[derive(Debug)]
pub struct Postoffice {
    pub root: PathBuf,
    pub public: Dir,
    pub router: Dir,
    pub work: Dir,
    pub queue: Dir,
    pub deferred: Dir,
    dev: u64,
    channels: Mutex<HashMap<String, std::sync::Arc<Dir>>>,
}

pub const SUBDIRS: [&str; 5] = ["public", "router", "work", "queue", "deferred"];

impl Postoffice {
    /// Creates the layout under `root` (existing directories are kept).
    pub fn init(root: &Path) -> io::Result<()> {
        for d in std::iter::once(PathBuf::new()).chain(SUBDIRS.iter().map(PathBuf::from)) {
            let p = root.join(d);
            std::fs::create_dir_all(&p)?;
        }
        Ok(())
    }

    /// Opens the postoffice at `root`, checking the layout and the one-file-system rule.
    pub fn open(root: &Path) -> Result<Postoffice, OpenError> {
        let open = |name: &str| {
            let path = root.join(name);
            Dir::open(&path).map_err(|source| OpenError::Io { path, source })
        };
        let top = open("")?;
        let dev = top.dev().map_err(|source| OpenError::Io {
            path: root.into(),
            source,
        })?;
        let po = Postoffice {
            root: root.to_path_buf(),
            public: open("public")?,
            router: open("router")?,
            work: open("work")?,
            queue: open("queue")?,
            deferred: open("deferred")?,
            dev,
            channels: Mutex::new(HashMap::new()),
        };
        for d in [&po.public, &po.router, &po.work, &po.queue, &po.deferred] {
            po.check_dev(d)?;
        }
        Ok(po)
    }

    fn check_dev(&self, d: &Dir) -> Result<(), OpenError> {
        let dev = d.dev().map_err(|source| OpenError::Io {
            path: d.path.clone(),
            source,
        })?;
        if dev != self.dev {
            return Err(OpenError::OtherFileSystem {
                path: d.path.clone(),
                root: self.root.clone(),
            });
        }
        Ok(())
    }

    /// The queue directory of `channel`, created on first use and checked like the others.
    pub fn channel_dir(&self, channel: &str) -> io::Result<std::sync::Arc<Dir>> {
        if !is_channel(channel) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad channel name {channel:?}"),
            ));
        }
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = map.get(channel) {
            return Ok(d.clone());
        }
        let path = self.queue.path.join(channel);
        match std::fs::create_dir(&path) {
            Ok(()) => crate::fs::fsync_dir("queue.mkdir.fsync", &self.queue)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let d = std::sync::Arc::new(Dir::open(&path)?);
        self.check_dev(&d)
            .map_err(|e| io::Error::other(e.to_string()))?;
        map.insert(channel.to_string(), d.clone());
        Ok(d)
    }
}

/// Names used in work/ for message `id`.
pub mod names {
    pub fn attempts(id: &str) -> String {
        format!("{id}#attempts")
    }
    pub fn plan(id: &str) -> String {
        format!("{id}#plan")
    }
    pub fn plan_tmp(id: &str) -> String {
        format!("{id}#plan.tmp")
    }
    pub fn reason(id: &str) -> String {
        format!("{id}#reason")
    }
    pub fn staged(id: &str, channel: &str) -> String {
        format!("{id}@{channel}")
    }
    pub fn deferred_reason(id: &str) -> String {
        format!("{id}.reason")
    }
    /// The id a work/ name belongs to (the part before `#` or `@`).
    pub fn owner(name: &str) -> &str {
        name.split(['#', '@']).next().unwrap_or(name)
    }
}
