//! The postoffice: its directories, and the checks made before touching it.
//!
//! Layout (SPEC section 2; the states and transitions are in docs/spool.md, the names in
//! [`crate::names`]):
//!
//! ```text
//! public/            submissions being written, each flock'ed by its writer
//! router/<id>        complete messages awaiting routing
//! work/<id>          a message claimed by a router (flock'ed by it while it works)
//! work/<id>#attempts one byte per attempt to route <id>
//! work/<id>@<ch>     the output for channel <ch>, staged
//! work/<id>#plan     a batch's plan, named after its first message: its presence is the
//!                    commit point of every message it names
//! work/<id>#reason   a reason file being written
//! queue/<ch>/<id>    routed output for channel <ch>
//! deferred/<id>      a parked message, bytes untouched; deferred/<id>.reason says why
//! ```
//!
//! All directories must be on one file system (same `st_dev`), or a rename is not atomic,
//! and none may be a symlink (output must never land outside the spool): `Postoffice::open`
//! refuses otherwise. Every system call on them goes through the [`Seam`] the postoffice
//! holds.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::seam::{self, Dir, Seam, Step};
use crate::names::is_channel;

/// Why the postoffice could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is on another file system than {root} (renames would not be atomic)")]
    OtherFileSystem { path: PathBuf, root: PathBuf },
}

/// Open handles on the postoffice's directories, and the seam every call goes through.
#[derive(Debug)]
pub struct Postoffice {
    pub root: PathBuf,
    pub fs: Arc<dyn Seam>,
    pub public: Dir,
    pub router: Dir,
    pub work: Dir,
    pub queue: Dir,
    pub deferred: Dir,
    dev: u64,
    channels: Mutex<HashMap<String, Arc<Dir>>>,
    /// ZMailer mode: where control files go, and how (None: the router's own format).
    pub handoff: Option<super::handoff::Handoff>,
}

pub const SUBDIRS: [&str; 5] = ["public", "router", "work", "queue", "deferred"];

/// The trust model's modes (docs/trust.md), set by `router init` whatever the umask: the root
/// lets the postoffice's group list it and reach `public/` and `router/`, nothing else; those
/// two are
/// set-group-id (a message takes the postoffice's group, so the router may read it) and sticky
/// (a submitter cannot rename or remove another's file); the router's own directories are its
/// alone.
pub const ROOT_MODE: u32 = 0o750;
pub const MODES: [(&str, u32); 5] = [
    ("public", 0o3770),
    ("router", 0o3770),
    ("work", 0o700),
    ("queue", 0o700),
    ("deferred", 0o700),
];

/// Who owns a new postoffice: the router's user and the group that may submit. `None`: the
/// caller's (changing either needs the privilege to `chown`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Owners {
    pub user: Option<u32>,
    pub group: Option<u32>,
}

impl Postoffice {
    /// Creates the layout under `root` (existing directories are kept). The root and its
    /// parents are the administrator's path; the spool's directories are made through the
    /// seam, inside it (O0).
    pub fn init(root: &Path) -> io::Result<()> {
        Postoffice::init_with(root, Owners::default())
    }

    /// [`init`](Self::init), owned by `owners`, every directory set to its mode in [`MODES`]
    /// (an existing postoffice gets its modes and owners back).
    pub fn init_with(root: &Path, owners: Owners) -> io::Result<()> {
        std::fs::create_dir_all(root)?;
        let fs = seam::from_env();
        let top = fs.open_root(root)?;
        for (d, mode) in MODES {
            fs.mkdir(Step::O0Mkdir, &top, d)?;
            let dir = fs.open_dir(Step::O0Mode, &top, d)?;
            fs.set_mode(Step::O0Mode, &dir, mode, owners.user, owners.group)?;
        }
        fs.set_mode(Step::O0Mode, &top, ROOT_MODE, owners.user, owners.group)?;
        fs.fsync_dir(Step::O0Fsync, &top)
    }

    /// ZMailer mode's init: ZMailer's postoffice (made by its post-install) gets the router's
    /// `work/`, owned by `owners`, mode 0700; ZMailer's own directories are not touched
    /// (their modes are ZMailer's: its smtpserver writes `router/` as `daemon`).
    pub fn init_zmailer(root: &Path, owners: Owners) -> io::Result<()> {
        let fs = seam::from_env();
        let top = fs.open_root(root)?;
        for d in ["router", "transport", "queue", "deferred", "public"] {
            fs.open_dir(Step::O1Open, &top, d).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("{d}/: {e} (is this ZMailer's postoffice, made by its post-install?)"),
                )
            })?;
        }
        fs.mkdir(Step::O0Mkdir, &top, "work")?;
        let work = fs.open_dir(Step::O0Mode, &top, "work")?;
        fs.set_mode(Step::O0Mode, &work, 0o700, owners.user, owners.group)?;
        fs.fsync_dir(Step::O0Fsync, &top)
    }

    /// Opens the postoffice at `root` with the process's seam ([`seam::from_env`]).
    pub fn open(root: &Path) -> Result<Postoffice, OpenError> {
        Postoffice::open_with(root, seam::from_env())
    }

    /// Opens the postoffice at `root`, checking the layout and the one-file-system rule.
    pub fn open_with(root: &Path, fs: Arc<dyn Seam>) -> Result<Postoffice, OpenError> {
        let io_err = |path: PathBuf| move |source| OpenError::Io { path, source };
        let top = fs.open_root(root).map_err(io_err(root.into()))?;
        let dev = fs.dir_meta(&top).map_err(io_err(root.into()))?.dev;
        let open = |name: &str| {
            fs.open_dir(Step::O1Open, &top, name)
                .map_err(io_err(root.join(name)))
        };
        let po = Postoffice {
            root: root.to_path_buf(),
            public: open("public")?,
            router: open("router")?,
            work: open("work")?,
            queue: open("queue")?,
            deferred: open("deferred")?,
            fs: fs.clone(),
            dev,
            channels: Mutex::new(HashMap::new()),
            handoff: None,
        };
        for d in [&po.public, &po.router, &po.work, &po.queue, &po.deferred] {
            po.check_dev(d)?;
        }
        Ok(po)
    }

    /// Turns ZMailer mode on: opens `transport/` (ZMailer's post-install made it, with its
    /// `queue/`), checked like the others. `dirhash` is `SCHEDULERDIRHASH`; `notify` the
    /// scheduler's socket.
    pub fn enable_handoff(
        &mut self,
        dirhash: u8,
        notify: Option<PathBuf>,
    ) -> Result<(), OpenError> {
        let top = self
            .fs
            .open_root(&self.root)
            .map_err(|source| OpenError::Io {
                path: self.root.clone(),
                source,
            })?;
        let transport = self
            .fs
            .open_dir(Step::O1Open, &top, "transport")
            .map_err(|source| OpenError::Io {
                path: self.root.join("transport"),
                source,
            })?;
        self.check_dev(&transport)?;
        self.handoff = Some(super::handoff::Handoff::new(transport, dirhash, notify));
        Ok(())
    }

    pub(super) fn check_dev(&self, d: &Dir) -> Result<(), OpenError> {
        let dev = self
            .fs
            .dir_meta(d)
            .map_err(|source| OpenError::Io {
                path: d.path().into(),
                source,
            })?
            .dev;
        if dev != self.dev {
            return Err(OpenError::OtherFileSystem {
                path: d.path().into(),
                root: self.root.clone(),
            });
        }
        Ok(())
    }

    /// The queue directory of `channel`, created on first use and checked like the others.
    /// The channel name is the caller's to have checked ([`is_channel`]): a bad one is a bug.
    pub fn channel_dir(&self, channel: &str) -> io::Result<Arc<Dir>> {
        assert!(is_channel(channel), "bad channel name {channel:?}");
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = map.get(channel) {
            return Ok(d.clone());
        }
        if self.fs.mkdir(Step::C5Mkdir, &self.queue, channel)? {
            self.fs.fsync_dir(Step::C5MkdirFsync, &self.queue)?;
        }
        let d = Arc::new(self.fs.open_dir(Step::O1Open, &self.queue, channel)?);
        self.check_dev(&d)
            .map_err(|e| io::Error::other(e.to_string()))?;
        map.insert(channel.to_string(), d.clone());
        Ok(d)
    }
}
