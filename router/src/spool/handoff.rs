//! ZMailer mode's commit: hand a message to ZMailer's scheduler (docs/spool.md, "ZMailer
//! mode"; docs/zmailer.md).
//!
//! The output is one control file per message, `transport/<H1>/<H2>/<ino>`, and the message
//! file itself, moved unchanged to `queue/<H1>/<H2>/<ino>` (never copied: the inode number
//! is the name, and a copy's name could be taken by a new file that reuses the freed
//! inode). The scheduler takes a message the moment its control file appears, and the
//! control file names the queue file, so the queue file must be there first. The batch
//! protocol is the router's own with these steps in place of the channel outputs:
//!
//! - C3 [`stage`]: write the control file as `work/<id>#control`; S2: sync;
//! - C4: the plan `id <id>`, `handoff <ino>`, `end` (**the commit point**, as for the
//!   router's own format: before it, roll back; after it, roll forward); S3: sync;
//! - C5 [`publish`]: rename `work/<id>` to `queue/<H1>/<H2>/<ino>` (`H5.message`), then
//!   `work/<id>#control` to `transport/<H1>/<H2>/<ino>` (`H5.control`), both without
//!   replacing;
//! - C6: remove the counter only (the message has moved); S5: sync; then [`notify`] the
//!   scheduler; C7: remove the plan.
//!
//! Each rename may be repeated: a source that is gone was moved (the plan says the message
//! was committed), or the scheduler has already delivered it and removed both files.

use std::collections::HashMap;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::layout::Postoffice;
use super::seam::{Dir, Renamed, Step};
use super::Error;
use crate::names;

/// ZMailer mode's part of the postoffice.
#[derive(Debug)]
pub struct Handoff {
    pub transport: Dir,
    /// `SCHEDULERDIRHASH`: 0, 1 or 2 levels of `A`..`Z` directories.
    pub dirhash: u8,
    /// `SCHEDULERNOTIFY`: the scheduler's datagram socket.
    pub notify: Option<PathBuf>,
    /// Open hash directories, by `queue/E/F` or `transport/E/F`.
    dirs: Mutex<HashMap<String, Arc<Dir>>>,
}

impl Handoff {
    pub fn new(transport: Dir, dirhash: u8, notify: Option<PathBuf>) -> Handoff {
        assert!(dirhash <= 2, "SCHEDULERDIRHASH {dirhash}");
        Handoff {
            transport,
            dirhash,
            notify,
            dirs: Mutex::new(HashMap::new()),
        }
    }

    /// The hash directories of `ino` under this postoffice's `SCHEDULERDIRHASH`.
    pub fn hash_path(&self, ino: u64) -> String {
        hash_path(ino, self.dirhash)
    }
}

/// `E/F/` for inode 2171421 with two levels, `F/` with one, nothing with none (ZMailer's
/// rfc822.c:1316-1343).
pub fn hash_path(ino: u64, levels: u8) -> String {
    let letter = |n: u64| char::from(b'A' + (n % 26) as u8);
    match levels {
        0 => String::new(),
        1 => format!("{}/", letter(ino)),
        _ => format!("{}/{}/", letter(ino / 26), letter(ino)),
    }
}

fn handoff(po: &Postoffice) -> &Handoff {
    po.handoff
        .as_ref()
        .expect("a handoff step on a postoffice not in ZMailer mode")
}

/// The hash directory of `ino` under `top` (`queue` or `transport`), opened once. ZMailer's
/// post-install makes all of them; one that is missing is made.
fn hash_dir(po: &Postoffice, top_name: &str, top: &Dir, ino: u64) -> io::Result<Arc<Dir>> {
    let h = handoff(po);
    let key = format!("{top_name}/{}", h.hash_path(ino));
    let mut map = h.dirs.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(d) = map.get(&key) {
        return Ok(d.clone());
    }
    let mut dir: Option<Dir> = None;
    for part in h.hash_path(ino).split('/').filter(|p| !p.is_empty()) {
        let parent = dir.as_ref().unwrap_or(top);
        if po.fs.mkdir(Step::C5Mkdir, parent, part)? {
            po.fs.fsync_dir(Step::C5MkdirFsync, parent)?;
        }
        dir = Some(po.fs.open_dir(Step::O1Open, parent, part)?);
    }
    let d = match dir {
        Some(d) => Arc::new(d),
        // No hashing: the top directory itself, opened again.
        None => Arc::new(po.fs.open_dir(Step::O1Open, top, ".")?),
    };
    po.check_dev(&d)
        .map_err(|e| io::Error::other(e.to_string()))?;
    map.insert(key, d.clone());
    Ok(d)
}

/// C3: stage the control file (durable after the next sync).
pub fn stage(po: &Postoffice, id: &str, control: &[u8]) -> io::Result<()> {
    let name = names::control(id);
    // A leftover of this message's own rolled-back attempt (see `commit::stage`): replaced.
    let f = super::commit::create_own(po, Step::H3ControlCreate, Step::C3StageClear, &name)?;
    po.fs.write_all(Step::H3ControlWrite, &f, control)
}

/// C5: the message into `queue/`, then the control file into `transport/`. Idempotent.
pub fn publish(po: &Postoffice, id: &str, ino: u64) -> Result<(), Error> {
    let name = ino.to_string();
    let h = handoff(po);
    let queue = hash_dir(po, "queue", &po.queue, ino)?;
    let transport = hash_dir(po, "transport", &h.transport, ino)?;
    let taken = |top: &str| Error::IdReused {
        id: id.into(),
        place: format!("{top}/{}{name}", h.hash_path(ino)),
    };
    match po
        .fs
        .rename_noreplace(Step::H5Message, &po.work, id, &queue, &name)?
    {
        Renamed::Done | Renamed::SourceGone => {}
        Renamed::DestinationExists => return Err(taken("queue")),
    }
    match po.fs.rename_noreplace(
        Step::H5Control,
        &po.work,
        &names::control(id),
        &transport,
        &name,
    )? {
        Renamed::Done | Renamed::SourceGone => Ok(()),
        Renamed::DestinationExists => Err(taken("transport")),
    }
}

/// C6 in ZMailer mode: only the counter; the message has moved to `queue/`.
pub fn remove_counter(po: &Postoffice, id: &str) -> io::Result<()> {
    super::attempts::remove(po, id)
}

/// Tells the scheduler of new control files: one `NEW <H1>/<H2>/<ino>` datagram each, sent
/// without waiting (G4: a scheduler that is down or slow never holds the router; its own
/// sweep of `transport/` finds what a lost datagram did not announce).
pub fn notify(po: &Postoffice, inos: &[u64]) {
    if inos.is_empty() {
        return;
    }
    let h = handoff(po);
    let Some(path) = &h.notify else { return };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    if sock.set_nonblocking(true).is_err() {
        return;
    }
    for ino in inos {
        let msg = format!("NEW {}{ino}", h.hash_path(*ino));
        if sock.send_to(msg.as_bytes(), path).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::hash_path;

    /// The directories ZMailer's own router wrote for these inodes (../shared/interop/zmailer).
    #[test]
    fn hash_dirs_as_zmailer_makes_them() {
        assert_eq!(hash_path(2_171_421, 2), "E/F/");
        assert_eq!(hash_path(836_008, 2), "S/E/");
        assert_eq!(hash_path(836_008, 1), "E/");
        assert!(hash_path(1, 0).is_empty());
    }
}
