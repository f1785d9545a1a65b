//! The public/ reaper (X1–X2): removes abandoned submissions (a writer that died mid-file).
//!
//! A file is removed only if its lock can be taken (no writer holds it) *and* it is older than
//! `public_max_age`. The lock alone is not enough: a writer creates the file and then locks it,
//! and the age covers that instant. Nothing that a writer may still own is ever deleted (seed
//! 001). Names that are not ids, and entries no submitter makes (symlinks, hard links,
//! non-regular files), are reported, never deleted or followed.

use std::io;

use super::layout::Postoffice;
use super::seam::{self, Step};
use crate::names::is_id;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reaped {
    pub removed: usize,
    pub locked: usize,
    pub young: usize,
    /// Names in public/ that are not ids, or not a submission's file (a symlink, a
    /// non-regular file, a file with a second name, one this user may not open): left alone.
    /// At most [`LEFT_ALONE_REPORTED_MAX`](crate::limits::LEFT_ALONE_REPORTED_MAX).
    pub foreign: Vec<String>,
    /// Foreign names past that many, counted.
    pub foreign_more: usize,
}

impl Reaped {
    fn foreign(&mut self, name: String) {
        if self.foreign.len() < crate::limits::LEFT_ALONE_REPORTED_MAX {
            self.foreign.push(name);
        } else {
            self.foreign_more += 1;
        }
    }
}

/// Reaps public/, reading it [`LIST_NAMES_MAX`](crate::limits::LIST_NAMES_MAX) names at a
/// time: any group member may create names there, so the directory can hold millions.
pub fn reap_public(po: &Postoffice, max_age_secs: u64) -> io::Result<Reaped> {
    reap_public_with(po, max_age_secs, crate::limits::LIST_NAMES_MAX)
}

/// [`reap_public`], holding at most `names_max` names at once.
pub fn reap_public_with(
    po: &Postoffice,
    max_age_secs: u64,
    names_max: usize,
) -> io::Result<Reaped> {
    let mut r = Reaped::default();
    seam::for_each_name(&*po.fs, Step::X1List, &po.public, names_max, &mut |name| {
        reap_one(po, max_age_secs, &mut r, name)
    })?;
    Ok(r)
}

fn reap_one(po: &Postoffice, max_age_secs: u64, r: &mut Reaped, name: String) -> io::Result<()> {
    if !is_id(&name) {
        r.foreign(name);
        return Ok(());
    }
    let f = match po.fs.open_read(Step::X1Open, &po.public, &name) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(()),
        // A symlink, or a file this user may not open: not a submission of ours.
        Err(e) if seam::is_foreign(&e) => {
            r.foreign(name);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let meta = po.fs.meta(&f)?;
    if !meta.is_plain_file() {
        // A FIFO, a directory, a second name of some other file: a submitter makes none of
        // these. Never deleted.
        r.foreign(name);
        return Ok(());
    }
    if !po.fs.try_lock(Step::X1Lock, &f)? {
        r.locked += 1;
        return Ok(());
    }
    if meta.age_secs < max_age_secs as f64 {
        r.young += 1;
        return Ok(());
    }
    if po.fs.unlink(Step::X2Unlink, &po.public, &name)? {
        r.removed += 1;
    }
    Ok(())
}
