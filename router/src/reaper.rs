//! The public/ reaper: removes abandoned submissions (a writer that died mid-file).
//!
//! A file is removed only if its lock can be taken (no writer holds it) *and* it is older than
//! `public_max_age`. The lock alone is not enough: a writer creates the file and then locks it,
//! and the age covers that instant. Nothing that a writer may still own is ever deleted (seed
//! 001). Names that are not ids are reported, never deleted.

use std::io;

use crate::fs;
use crate::postoffice::{is_id, Postoffice};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reaped {
    pub removed: usize,
    pub locked: usize,
    pub young: usize,
}

pub fn reap_public(po: &Postoffice, max_age_secs: u64) -> io::Result<Reaped> {
    let mut r = Reaped::default();
    for name in fs::list(&po.public)? {
        if !is_id(&name) {
            continue;
        }
        let Some(f) = fs::open_read("reap.open", &po.public, &name)? else {
            continue;
        };
        if !fs::try_lock("reap.lock", &f)? {
            r.locked += 1;
            continue;
        }
        if fs::meta(&f)?.age_secs < max_age_secs as f64 {
            r.young += 1;
            continue;
        }
        if fs::unlink("reap.unlink", &po.public, &name)? {
            r.removed += 1;
        }
    }
    Ok(r)
}
