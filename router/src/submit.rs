//! Submission: publish a complete message into `router/` (SPEC section 2, "Publish").
//!
//! 1. create `public/<id>` with `O_EXCL|O_NOFOLLOW` and lock it (the lock is held for the
//!    file's whole life in public/, so no cleanup path can take it for an orphan: seed 001);
//! 2. write, `fsync`;
//! 3. rename it to `router/<id>` without replacing; an ambiguous result is settled by looking
//!    at both names, never by deleting the destination;
//! 4. `fsync` router/ and public/.
//!
//! Submission never waits for routing; its only waits are the disk's and a bounded retry of
//! the lock (the reaper may hold it for an instant).

use std::io;

use crate::fs::{self, Renamed};
use crate::postoffice::Postoffice;

/// sendmail's rule without `-i`: a line holding a single `.` ends the message; it and
/// everything after it are dropped.
pub fn end_at_dot_line(body: &mut Vec<u8>) {
    let mut pos = 0;
    for line in body.split_inclusive(|&b| b == b'\n') {
        if line == b".\n" || line == b".\r\n" {
            break;
        }
        pos += line.len();
    }
    body.truncate(pos);
}

/// An address as an envelope value: in angle brackets, added if missing.
pub fn bracketed(address: &str) -> String {
    if address.starts_with('<') {
        address.to_string()
    } else {
        format!("<{address}>")
    }
}

/// Makes a new id: time, pid and a sequence number, so ids sort by age.
pub fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.{:09}-{}-{}",
        t.as_secs(),
        t.subsec_nanos(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
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

/// Publishes `bytes` (envelope and message) and returns its id.
pub fn publish(po: &Postoffice, bytes: &[u8]) -> Result<String, SubmitError> {
    let id = new_id();
    let f = fs::create_excl("submit.create", &po.public, &id)?;
    let mut locked = false;
    for _ in 0..200 {
        if fs::try_lock("submit.lock", &f)? {
            locked = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let result = (|| {
        if !locked {
            return Err(SubmitError::Lock);
        }
        fs::write_all("submit.write", &f, bytes)?;
        fs::fsync("submit.fsync", &f)?;
        match fs::rename_noreplace("submit.rename", &po.public, &id, &po.router, &id)? {
            Renamed::Done => {}
            Renamed::DestinationExists => return Err(SubmitError::Collision(id.clone())),
            Renamed::SourceGone => return Err(SubmitError::Vanished(id.clone())),
        }
        fs::fsync_dir("submit.fsync-router", &po.router)?;
        fs::fsync_dir("submit.fsync-public", &po.public)?;
        Ok(id.clone())
    })();
    if result.is_err() {
        // Our own half-written file, still under our lock: remove it. (If this fails, the
        // reaper removes it once it is unlocked and old.)
        let _ = fs::unlink("submit.cleanup", &po.public, &id);
    }
    result
}
