//! The durable attempt counter: `work/<id>#attempts` holds one byte per attempt.
//!
//! It is bumped (and made durable with the batch's first sync) before the message is parsed,
//! so a message that kills its router is counted; it stays in work/ when the message is rolled
//! back to router/, and it is removed only when the message is routed or parked. Appending one
//! byte cannot be torn, so the count is always the file's length.

use std::io;

use crate::fs;
use crate::postoffice::{names, Postoffice};

/// The attempts made so far, without counting a new one.
pub fn count(po: &Postoffice, id: &str) -> io::Result<u64> {
    match fs::open_read("attempts.open", &po.work, &names::attempts(id))? {
        Some(f) => fs::file_len(&f),
        None => Ok(0),
    }
}

/// Counts one more attempt. Returns the new count. Durable after the next sync.
pub fn bump(po: &Postoffice, id: &str) -> io::Result<u64> {
    let f = fs::open_append("attempts.open-append", &po.work, &names::attempts(id))?;
    fs::write_all("attempts.write", &f, b"x")?;
    fs::file_len(&f)
}

/// Takes back the last attempt (the fault was the disk's, not the message's).
pub fn unbump(po: &Postoffice, id: &str) -> io::Result<()> {
    let f = fs::open_append("attempts.open-append", &po.work, &names::attempts(id))?;
    let n = fs::file_len(&f)?;
    if n <= 1 {
        fs::unlink("attempts.unlink", &po.work, &names::attempts(id))?;
    } else {
        fs::ftruncate("attempts.truncate", &f, n - 1)?;
    }
    Ok(())
}
