//! Submission: publish a complete message into `router/` (SPEC section 2, "Publish").
//!
//! - P1: create `public/<id>` with `O_EXCL|O_NOFOLLOW` and lock it (the lock is held for the
//!   file's whole life in public/, so no cleanup path can take it for an orphan: seed 001);
//! - P2: write, `fsync`;
//! - P3: rename it to `router/<id>` without replacing; an ambiguous result is settled by
//!   looking at both names, never by deleting the destination;
//! - P4: `fsync` router/ and public/;
//! - P5 (on failure only): remove our own half-written file, still under our lock.
//!
//! Submission never waits for routing; its only waits are the disk's and a bounded retry of
//! the lock (the reaper may hold it for an instant).

use std::io;
use std::time::Duration;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::seam::{self, Dir, Renamed, Seam, Step};

/// Tries to take the new file's lock before giving up: the reaper may hold it for an
/// instant (it locks every file it looks at). 200 × 1 ms.
const LOCK_TRIES_MAX: u32 = 200;
const LOCK_RETRY_WAIT: Duration = Duration::from_millis(1);

/// Makes a new id: time, pid and a sequence number, so ids sort by age.
pub fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let id = format!(
        "{}.{:09}-{}-{}",
        t.as_secs(),
        t.subsec_nanos(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    assert!(crate::names::is_id(&id), "made a bad id {id:?}");
    id
}

/// Why a submission failed. Nothing is left visible under a name the router reads.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("spool I/O: {0}")]
    Io(#[from] io::Error),
    #[error("could not lock the new file in public/")]
    Lock,
    #[error("id {0} already exists in router/")]
    Collision(String),
    #[error("public/{0} vanished while being written (public_max_age too small?)")]
    Vanished(String),
}

/// What a submitter opens of a postoffice: `public/` and `router/`, nothing else. A user in
/// the postoffice's group can open these two and none of the router's own directories
/// (docs/trust.md), so submission cannot go through [`Postoffice`](super::Postoffice).
#[derive(Debug)]
pub struct Dropbox {
    pub fs: Arc<dyn Seam>,
    pub public: Dir,
    pub router: Dir,
}

/// Why the drop box did not open: `path` is the directory that refused.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct DropboxError {
    pub path: PathBuf,
    pub source: io::Error,
}

impl Dropbox {
    /// Opens `public/` and `router/` under `root` with the process's seam, never following a
    /// symlink below the root.
    pub fn open(root: &Path) -> Result<Dropbox, DropboxError> {
        Dropbox::open_with(root, seam::from_env())
    }

    pub fn open_with(root: &Path, fs: Arc<dyn Seam>) -> Result<Dropbox, DropboxError> {
        let err = |path: PathBuf| move |source| DropboxError { path, source };
        let top = fs.open_root(root).map_err(err(root.into()))?;
        let public = fs
            .open_dir(Step::O1Open, &top, "public")
            .map_err(err(root.join("public")))?;
        let router = fs
            .open_dir(Step::O1Open, &top, "router")
            .map_err(err(root.join("router")))?;
        Ok(Dropbox { fs, public, router })
    }
}

/// Publishes `bytes` (envelope and message) and returns its id.
pub fn publish(po: &Dropbox, bytes: &[u8]) -> Result<String, SubmitError> {
    let fs = &*po.fs;
    let id = new_id();
    let f = fs.create_excl(Step::P1Create, &po.public, &id)?;
    let mut locked = false;
    for _ in 0..LOCK_TRIES_MAX {
        if fs.try_lock(Step::P1Lock, &f)? {
            locked = true;
            break;
        }
        std::thread::sleep(LOCK_RETRY_WAIT);
    }
    let result = (|| {
        if !locked {
            return Err(SubmitError::Lock);
        }
        fs.write_all(Step::P2Write, &f, bytes)?;
        fs.fsync(Step::P2Fsync, &f)?;
        match fs.rename_noreplace(Step::P3Rename, &po.public, &id, &po.router, &id)? {
            Renamed::Done => {}
            Renamed::DestinationExists => return Err(SubmitError::Collision(id.clone())),
            Renamed::SourceGone => return Err(SubmitError::Vanished(id.clone())),
        }
        fs.fsync_dir(Step::P4FsyncRouter, &po.router)?;
        fs.fsync_dir(Step::P4FsyncPublic, &po.public)?;
        Ok(id.clone())
    })();
    if result.is_err() {
        // Our own half-written file, still under our lock: remove it. (If this fails, the
        // reaper removes it once it is unlocked and old.)
        let _ = fs.unlink(Step::P5Cleanup, &po.public, &id);
    }
    result
}
