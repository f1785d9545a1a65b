//! Claim (C1): take a message from `router/` into `work/` (SPEC section 2, "Claim").
//!
//! Open `router/<id>`, lock it without waiting, rename it to `work/<id>` without replacing.
//! The lock follows the file and is held until the router is done with it: it is how every
//! other process tells a live claim from an abandoned one. A lost race (the file is gone, or
//! locked) is silent and leaves nothing behind.
//!
//! Only a regular file is claimed. The open does not follow a symlink and does not wait (a
//! FIFO with no writer would otherwise block the router forever, before any time limit
//! starts); a FIFO, a directory, a symlink, a device or a socket under a message name is
//! reported as not a message and left alone, never moved or deleted; so is a file with a
//! second name (a hard link), which someone outside the spool could still change.

use std::io;

use super::layout::Postoffice;
use super::seam::{File, Meta, Renamed, Step};

/// A claimed message: its id and the locked file, now `work/<id>`, with what the claim's
/// `fstat` said of it.
#[derive(Debug)]
pub struct Claimed {
    pub id: String,
    pub file: File,
    pub meta: Meta,
}

/// What a claim attempt found.
#[derive(Debug)]
pub enum Claim {
    Won(Claimed),
    /// Another router has it or had it: nothing to do.
    Lost,
    /// `work/<id>` already exists: an id was reused. Reported, both files left alone.
    Conflict,
    /// `router/<id>` is not a regular file. Reported, left alone.
    NotAFile,
    /// `router/<id>` has another name too (a hard link): whoever holds the other name could
    /// change the message after it was published. Reported, left alone.
    HardLinked,
    /// `router/<id>` cannot be opened by this router (another user's file, mode 0600):
    /// reported, left alone. It is that file's fault, not the spool's: the pass goes on.
    NotReadable,
}

const ELOOP: i32 = 40;
const ENXIO: i32 = 6;
const EACCES: i32 = 13;
const EPERM: i32 = 1;

pub fn claim(po: &Postoffice, id: &str) -> io::Result<Claim> {
    let fs = &*po.fs;
    let file = match fs.open_read(Step::C1Open, &po.router, id) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(Claim::Lost),
        // A symlink (O_NOFOLLOW) or a socket: not a message.
        Err(e) if matches!(e.raw_os_error(), Some(ELOOP | ENXIO)) => return Ok(Claim::NotAFile),
        Err(e) if matches!(e.raw_os_error(), Some(EACCES | EPERM)) => {
            return Ok(Claim::NotReadable)
        }
        Err(e) => return Err(e),
    };
    let meta = fs.meta(&file)?;
    if !meta.regular {
        return Ok(Claim::NotAFile);
    }
    if meta.links > 1 {
        return Ok(Claim::HardLinked);
    }
    if !fs.try_lock(Step::C1Lock, &file)? {
        return Ok(Claim::Lost);
    }
    match fs.rename_noreplace(Step::C1Rename, &po.router, id, &po.work, id)? {
        Renamed::Done => Ok(Claim::Won(Claimed {
            id: id.to_string(),
            file,
            meta,
        })),
        Renamed::SourceGone => Ok(Claim::Lost),
        Renamed::DestinationExists => Ok(Claim::Conflict),
    }
}
