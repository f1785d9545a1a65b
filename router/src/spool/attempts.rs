//! The durable attempt counter: `work/<id>#attempts` holds one byte per router that died
//! with the message claimed.
//!
//! Recovery counts the attempt (`R3.count`), when it finds a message in work/ whose router is
//! dead and rolls it back; a router never counts its own. So a message that kills its router
//! is counted, and one whose router was stopped by the disk (which releases it) is not: the
//! fault was not the message's. The claim is durable before the message is parsed (S1), so a
//! message that brings the whole machine down while it is parsed is in work/ after the reboot,
//! and counted then. At C2 a router reads the count of a message that has a counter (a
//! suspect) and parks it unparsed at `max_attempts`. The counter stays while the message goes
//! back and forth, and goes when it is routed or parked (C6). Appending one byte cannot be
//! torn, so the count is always the file's length.
//!
//! (Until the protocol below, every claim appended the byte and every release took it back:
//! a counter created, written and removed for every message routed, and an attempt charged
//! whenever the disk failed under the release too. Counting at recovery does the same work
//! only for messages whose router died.)

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

/// R3.count: counts the attempt of a router that died with `id` claimed (recovery holds the
/// message's lock). Returns the new count. Durable with the recovery's next sync.
pub fn count_death(po: &Postoffice, id: &str) -> io::Result<u64> {
    let f = po
        .fs
        .open_append(Step::R3Count, &po.work, &names::attempts(id))?;
    // One fstat, before the write: the check that it is ours gives the count too.
    let before = ours(po, &f)?;
    po.fs.write_all(Step::R3CountWrite, &f, b"x")?;
    Ok(before + 1)
}

/// C6: the counter goes with the message, if it has one. Most messages have none (only a
/// router's death makes one), so the name is looked up first: a lookup shares `work/` with the
/// other workers, where an unlink takes the directory's lock even to find nothing, and two
/// workers queue on that lock (`perf`: a third of their CPU spinning on it, while the holder
/// waits on the file system's inode allocator). Nothing can make the counter meanwhile: only
/// recovery writes one, and only for a message it holds, and the caller holds this one or its
/// router is done with it.
pub fn remove(po: &Postoffice, id: &str) -> io::Result<()> {
    let name = names::attempts(id);
    if po.fs.exists(&po.work, &name)? {
        po.fs.unlink(Step::C6AttemptsUnlink, &po.work, &name)?;
    }
    Ok(())
}
