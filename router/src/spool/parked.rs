//! The administrator's view of `deferred/` (SPEC section 6): the parked messages, release
//! (D1–D5), remove (D6, D4, D5), and the counts `router status` prints. Formatting for people
//! and for Prometheus is the command line's (`cli/`).
//!
//! Release follows the spool's rules: the message is renamed (no-replace) from `deferred/`
//! back into `router/`, where a router picks it up as new mail, and only then is its reason
//! file removed; a crash in between leaves a stale reason file with no message beside it,
//! which `list` ignores and the next deferral of that id replaces. Remove unlinks the message,
//! then its reason. Nothing here touches a message a router holds (`work/`).
//!
//! Every read goes through the seam: bounded ([`REASON_FILE_BYTES_MAX`],
//! [`SHOW_BYTES_MAX`]), never following a symlink, never waiting on a FIFO.

use std::io;

use super::layout::Postoffice;
use super::reason_file::ReasonFile;
use super::seam::{Renamed, Step};
use crate::limits::{REASON_FILE_BYTES_MAX, SHOW_BYTES_MAX};
use crate::names::{self, is_channel, is_id};

/// One parked message, with its reason file read back (`None`: unreadable or not a reason
/// file; the message is still listed, as `unknown`).
#[derive(Debug, Clone)]
pub struct Parked {
    pub id: String,
    pub reason: Option<ReasonFile>,
}

impl Parked {
    /// The reason's code, or `unknown`.
    pub fn code(&self) -> &str {
        self.reason.as_ref().map_or("unknown", |r| r.code.as_str())
    }
}

/// Every parked message (a message with its reason file), sorted by id.
pub fn parked(po: &Postoffice) -> io::Result<Vec<Parked>> {
    let names = po.fs.list(Step::D0List, &po.deferred)?;
    let mut out = Vec::new();
    for n in &names {
        let Some(id) = n.strip_suffix(".reason") else {
            continue;
        };
        if !is_id(id) || names.binary_search(&id.to_string()).is_err() {
            continue;
        }
        let reason = read_capped(po, n, REASON_FILE_BYTES_MAX)
            .ok()
            .flatten()
            .and_then(|b| ReasonFile::parse(&String::from_utf8_lossy(&b)));
        out.push(Parked {
            id: id.to_string(),
            reason,
        });
    }
    Ok(out)
}

/// Reads at most `max` bytes of `deferred/<name>`, a regular file only; `None` if absent.
fn read_capped(po: &Postoffice, name: &str, max: usize) -> io::Result<Option<Vec<u8>>> {
    let Some(f) = po.fs.open_read(Step::D0Read, &po.deferred, name)? else {
        return Ok(None);
    };
    if !po.fs.meta(&f)?.regular {
        return Err(io::Error::other(format!(
            "deferred/{name} is not a regular file"
        )));
    }
    po.fs.read_head(Step::D0Read, &f, max).map(Some)
}

/// A parked message for `show`: its reason file's text and the head of the message (at most
/// [`SHOW_BYTES_MAX`] bytes; `cut` when there was more).
pub struct Shown {
    pub reason: Vec<u8>,
    pub head: Vec<u8>,
    pub cut: bool,
}

/// `deferred show ID`; `None` if there is no such parked message.
pub fn show(po: &Postoffice, id: &str) -> io::Result<Option<Shown>> {
    if !is_id(id) {
        return Ok(None);
    }
    let Some(reason) = read_capped(po, &names::deferred_reason(id), REASON_FILE_BYTES_MAX)? else {
        return Ok(None);
    };
    let Some(bytes) = read_capped(po, id, SHOW_BYTES_MAX)? else {
        return Ok(None);
    };
    let end = memchr::memmem::find(&bytes, b"\n\n")
        .or_else(|| memchr::memmem::find(&bytes, b"\r\n\r\n"))
        .map_or(bytes.len(), |i| i + 1);
    Ok(Some(Shown {
        reason,
        cut: end == bytes.len() && bytes.len() == SHOW_BYTES_MAX,
        head: bytes[..end].to_vec(),
    }))
}

/// What `release` or `remove` did with one id.
#[derive(Debug, PartialEq, Eq)]
pub enum Done {
    Done,
    /// No such parked message.
    Missing,
    /// `router/<id>` exists already (release only): left as it is.
    Conflict,
}

/// `deferred release ID` (D1–D5): back into `router/`, to be routed again as new mail.
pub fn release(po: &Postoffice, id: &str) -> io::Result<Done> {
    if !is_id(id) {
        return Ok(Done::Missing);
    }
    let fs = &*po.fs;
    // D1: a counter left from the parked attempts would park it again at once.
    if !fs.exists(&po.work, id)? {
        fs.unlink(Step::D1AttemptsUnlink, &po.work, &names::attempts(id))?;
    }
    if !fs.exists(&po.deferred, id)? {
        return Ok(Done::Missing);
    }
    if fs.exists(&po.router, id)? {
        return Ok(Done::Conflict);
    }
    // D4 before D2: once the message is back in router/, a router may claim it, fail it and
    // park it again with a new reason file, which a later unlink would take (1 release in
    // about 450 raced so). Interrupted between the two, the message stays parked without
    // its reason (`deferred show` says so) and can be released again.
    // And the unlink durable before the rename: a power cut may otherwise keep the rename and
    // lose the unlink, leaving a reason without its message (found by the power-loss tests,
    // weakest model; a release is rare, so one more sync costs nothing that matters).
    if fs.unlink(
        Step::D4ReasonUnlink,
        &po.deferred,
        &names::deferred_reason(id),
    )? {
        fs.fsync_dir(Step::D4FsyncDeferred, &po.deferred)?;
    }
    match fs.rename_noreplace(Step::D2Rename, &po.deferred, id, &po.router, id)? {
        Renamed::Done => {}
        Renamed::SourceGone => return Ok(Done::Missing),
        Renamed::DestinationExists => return Ok(Done::Conflict),
    }
    fs.fsync_dir(Step::D3FsyncRouter, &po.router)?;
    fs.fsync_dir(Step::D5FsyncDeferred, &po.deferred)?;
    Ok(Done::Done)
}

/// `deferred remove ID` (D1, D4, D6, D5): the message, its reason file and a counter left
/// beside it deleted.
pub fn remove(po: &Postoffice, id: &str) -> io::Result<Done> {
    if !is_id(id) {
        return Ok(Done::Missing);
    }
    let fs = &*po.fs;
    if !fs.exists(&po.deferred, id)? {
        return Ok(Done::Missing);
    }
    // D1, as for release: a router that parked it and died before its C6 left the counter,
    // which recovery removes only while the parked message is there to say whose it is.
    if !fs.exists(&po.work, id)? {
        fs.unlink(Step::D1AttemptsUnlink, &po.work, &names::attempts(id))?;
    }
    // The reason first: a remove interrupted between the two leaves the message parked
    // without its reason, and `remove` again finishes it; the other order left a reason
    // without its message that nothing would ever take.
    fs.unlink(
        Step::D4ReasonUnlink,
        &po.deferred,
        &names::deferred_reason(id),
    )?;
    if !fs.unlink(Step::D6MessageUnlink, &po.deferred, id)? {
        return Ok(Done::Missing);
    }
    fs.fsync_dir(Step::D5FsyncDeferred, &po.deferred)?;
    Ok(Done::Done)
}

/// Counts per directory, for `status`.
#[derive(Debug, Default)]
pub struct Status {
    pub public: usize,
    pub router: usize,
    /// Messages claimed by a router now (`work/<id>`, not its side files).
    pub work: usize,
    pub queue: Vec<(String, usize)>,
    pub deferred: usize,
    pub reasons: Vec<(String, usize)>,
    /// Names no router or submitter makes (`dir/name`, at most [`FOREIGN_SHOWN_MAX`]), and
    /// how many there are: left alone, never deleted; a person should look. From the names
    /// alone (no file is opened), so symlinks under id names are reported by the passes that
    /// meet them, in the log.
    pub foreign: Vec<String>,
    pub foreign_count: usize,
}

pub const FOREIGN_SHOWN_MAX: usize = 10;

pub fn status(po: &Postoffice) -> io::Result<Status> {
    let fs = &*po.fs;
    let count_ids = |d: &super::seam::Dir| -> io::Result<usize> {
        Ok(fs
            .list(Step::D0List, d)?
            .iter()
            .filter(|n| is_id(n))
            .count())
    };
    let mut s = Status::default();
    let foreign = |s: &mut Status, dir: &str, name: &str| {
        s.foreign_count += 1;
        if s.foreign.len() < FOREIGN_SHOWN_MAX {
            s.foreign.push(format!("{dir}/{name}"));
        }
    };
    // public/ and router/ take any name a group member makes: read in chunks, counted.
    let max = crate::limits::LIST_NAMES_MAX;
    super::seam::for_each_name(fs, Step::D0List, &po.public, max, &mut |name| {
        s.public += 1;
        if !is_id(&name) {
            foreign(&mut s, "public", &name);
        }
        Ok(())
    })?;
    super::seam::for_each_name(fs, Step::D0List, &po.router, max, &mut |name| {
        if is_id(&name) {
            s.router += 1;
        } else {
            foreign(&mut s, "router", &name);
        }
        Ok(())
    })?;
    for name in fs.list(Step::D0List, &po.work)? {
        if is_id(&name) {
            s.work += 1;
        } else if !is_id(crate::names::owner(&name)) {
            foreign(&mut s, "work", &name);
        }
    }
    for ch in fs.list(Step::D0List, &po.queue)? {
        if is_channel(&ch) {
            let d = po.channel_dir(&ch)?;
            s.queue.push((ch, count_ids(&d)?));
        } else {
            foreign(&mut s, "queue", &ch);
        }
    }
    let parked = parked(po)?;
    s.deferred = parked.len();
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    for p in &parked {
        *by.entry(p.code().to_string()).or_default() += 1;
    }
    s.reasons = by.into_iter().collect();
    Ok(s)
}
