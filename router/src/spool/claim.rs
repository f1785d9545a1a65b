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
use super::seam::{self, File, Meta, Renamed, Step};
use super::LeftAlone;

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
    /// Not a message this router may take: reported, left alone (never moved or deleted).
    Left(LeftAlone),
    /// Moved to `work/<id>` and locked, but the check of what was moved failed (`C1.check`,
    /// a disk fault): the caller releases it like any message it holds, lock and all, and
    /// ends the pass with the error. Dropped instead, its lock would go with it, and the next
    /// recovery would count a death that did not happen.
    Unchecked(Claimed, io::Error),
}

pub fn claim(po: &Postoffice, id: &str) -> io::Result<Claim> {
    let fs = &*po.fs;
    let file = match fs.open_read(Step::C1Open, &po.router, id) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(Claim::Lost),
        // A symlink (O_NOFOLLOW) or a socket: not a message.
        Err(e) if seam::is_symlink(&e) || seam::is_not_a_file(&e) => {
            return Ok(Claim::Left(LeftAlone::NotAFile(id.into())))
        }
        // Another user's file: that file's fault, not the spool's; the pass goes on.
        Err(e) if seam::is_denied(&e) => return Ok(Claim::Left(LeftAlone::NotReadable(id.into()))),
        Err(e) => return Err(e),
    };
    let meta = fs.meta(&file)?;
    if !meta.regular {
        return Ok(Claim::Left(LeftAlone::NotAFile(id.into())));
    }
    // A second name: whoever holds it could change the message after it was published.
    if meta.links > 1 {
        return Ok(Claim::Left(LeftAlone::HardLinked(id.into())));
    }
    if !fs.try_lock(Step::C1Lock, &file)? {
        return Ok(Claim::Lost);
    }
    match fs.rename_noreplace(Step::C1Rename, &po.router, id, &po.work, id)? {
        Renamed::Done => {
            // The name moved may not be the file held: `router/` lets a submitter rename one
            // of its own files over another between our open and our rename. Routing the
            // file held and removing `work/<id>` at C6 would then delete a message never
            // read. `work/` is the router's alone, so what is there now stays there.
            let claimed = Claimed {
                id: id.to_string(),
                file,
                meta,
            };
            match fs.meta_at_step(Step::C1Check, &po.work, id) {
                Ok(Some(m)) if m.dev == meta.dev && m.ino == meta.ino => {
                    return Ok(Claim::Won(claimed))
                }
                Ok(_) => {}
                // The disk's fault, not the message's. Whatever file `work/<id>` now is, the
                // release puts it back in `router/<id>`.
                Err(e) => return Ok(Claim::Unchecked(claimed, e)),
            }
            // Another file: put it back, for a later sweep to claim as itself. The file held
            // has no name left (its owner replaced it): dropped with our lock. Whatever the
            // put-back finds, the claim's answer is the same; if its owner made yet another
            // `router/<id>`, the file stays in `work/`, where recovery finds it unlocked and
            // puts it back once the name is free.
            fs.rename_noreplace(Step::C1Return, &po.work, id, &po.router, id)?;
            Ok(Claim::Left(LeftAlone::Replaced(id.into())))
        }
        Renamed::SourceGone => Ok(Claim::Lost),
        // An id used twice: `work/<id>` is an earlier message's. Both left alone.
        Renamed::DestinationExists => Ok(Claim::Left(LeftAlone::IdReused {
            id: id.into(),
            place: format!("work/{id}"),
        })),
    }
}
