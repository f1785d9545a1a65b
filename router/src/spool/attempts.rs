//! The durable attempt counter: `work/<id>#attempts` holds one byte per attempt.
//!
//! It is bumped (C2; durable with the batch's first sync, S1) before the message is parsed, so
//! a message that kills its router is counted; it stays in work/ when the message is rolled
//! back to router/, and it is removed only when the message is routed or parked (C6).
//! Appending one byte cannot be torn, so the count is always the file's length. A disk fault
//! takes the attempt back (A1): the fault was not the message's.

use std::io;

use super::layout::Postoffice;
use super::seam::{self, File, Step};
use crate::names;

/// What is at a counter's name is not the router's: a symlink (the open refused it), or a
/// file that is not regular or has a second name (a hard link planted there would make every
/// append change a file outside the spool). Never followed, written or removed.
pub fn is_not_ours(e: &io::Error) -> bool {
    seam::is_symlink(e) || e.get_ref().is_some_and(|x| x.is::<NotOurs>())
}

#[derive(Debug, thiserror::Error)]
#[error("the attempt counter is not a regular file with one name")]
struct NotOurs;

fn ours(po: &Postoffice, f: &File) -> io::Result<u64> {
    let m = po.fs.meta(f)?;
    if !m.is_plain_file() {
        return Err(io::Error::other(NotOurs));
    }
    Ok(m.len)
}

/// The attempts made so far, without counting a new one.
pub fn count(po: &Postoffice, id: &str) -> io::Result<u64> {
    match po
        .fs
        .open_read(Step::C2Count, &po.work, &names::attempts(id))?
    {
        Some(f) => ours(po, &f),
        None => Ok(0),
    }
}

/// Counts one more attempt. Returns the new count. Durable after the next sync.
pub fn bump(po: &Postoffice, id: &str) -> io::Result<u64> {
    let f = po
        .fs
        .open_append(Step::C2Bump, &po.work, &names::attempts(id))?;
    // One fstat, before the write: the check that it is ours gives the count too (the
    // message is claimed and locked, so no one else appends meanwhile).
    let before = ours(po, &f)?;
    po.fs.write_all(Step::C2BumpWrite, &f, b"x")?;
    Ok(before + 1)
}

/// Takes back the last attempt (the fault was the disk's, not the message's).
pub fn unbump(po: &Postoffice, id: &str) -> io::Result<()> {
    let name = names::attempts(id);
    let f = po.fs.open_append(Step::A1Open, &po.work, &name)?;
    let n = ours(po, &f)?;
    if n <= 1 {
        po.fs.unlink(Step::A1Unlink, &po.work, &name)?;
    } else {
        po.fs.ftruncate(Step::A1Truncate, &f, n - 1)?;
    }
    Ok(())
}
