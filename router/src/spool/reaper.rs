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
    pub foreign: Vec<String>,
}

pub fn reap_public(po: &Postoffice, max_age_secs: u64) -> io::Result<Reaped> {
    let mut r = Reaped::default();
    for name in po.fs.list(Step::X1List, &po.public)? {
        if !is_id(&name) {
            r.foreign.push(name);
            continue;
        }
        let f = match po.fs.open_read(Step::X1Open, &po.public, &name) {
            Ok(Some(f)) => f,
            Ok(None) => continue,
            // A symlink, or a file this user may not open: not a submission of ours.
            Err(e) if seam::is_foreign(&e) => {
                r.foreign.push(name);
                continue;
            }
            Err(e) => return Err(e),
        };
        let meta = po.fs.meta(&f)?;
        if !meta.is_plain_file() {
            // A FIFO, a directory, a second name of some other file: a submitter makes
            // none of these. Never deleted.
            r.foreign.push(name);
            continue;
        }
        if !po.fs.try_lock(Step::X1Lock, &f)? {
            r.locked += 1;
            continue;
        }
        if meta.age_secs < max_age_secs as f64 {
            r.young += 1;
            continue;
        }
        if po.fs.unlink(Step::X2Unlink, &po.public, &name)? {
            r.removed += 1;
        }
    }
    Ok(r)
}
