//! The administrator's commands (SPEC section 6): `router deferred list|show|release|remove`,
//! `router status [--prometheus]`, `router check`.
//!
//! Release follows the spool's rules: the message is renamed (no-replace) from `deferred/`
//! back into `router/`, where a router picks it up as new mail, and only then is its reason
//! file removed; a crash in between leaves a stale reason file with no message beside it,
//! which `list` ignores and the next deferral of that id replaces. Remove unlinks the message,
//! then its reason. Nothing here touches a message a router holds (`work/`).

use std::io::{self, Write};

use crate::defer::Reason;
use crate::fs::{self, Renamed};
use crate::postoffice::{is_id, names, Postoffice};

/// One parked message, from its reason file.
#[derive(Debug, Clone)]
pub struct Parked {
    pub id: String,
    pub kind: String,
    pub date: String,
    pub detail: String,
}

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .map_or("", str::trim)
}

/// Every parked message (a message with its reason file), sorted by id.
pub fn parked(po: &Postoffice) -> io::Result<Vec<Parked>> {
    let names = fs::list(&po.deferred)?;
    let mut out = Vec::new();
    for n in &names {
        let Some(id) = n.strip_suffix(".reason") else {
            continue;
        };
        if !is_id(id) || names.binary_search(&id.to_string()).is_err() {
            continue;
        }
        let text = std::fs::read_to_string(po.root.join("deferred").join(n)).unwrap_or_default();
        out.push(Parked {
            id: id.to_string(),
            kind: Reason::kind_of(&text).unwrap_or("unknown").to_string(),
            date: field(&text, "Date").to_string(),
            detail: field(&text, "Detail").to_string(),
        });
    }
    Ok(out)
}

/// `deferred list`: one line per parked message: id, reason kind, date, detail.
pub fn list(po: &Postoffice, kind: Option<&str>, out: &mut dyn Write) -> io::Result<usize> {
    let mut n = 0;
    for p in parked(po)? {
        if kind.is_some_and(|k| k != p.kind) {
            continue;
        }
        writeln!(out, "{}\t{}\t{}\t{}", p.id, p.kind, p.date, p.detail)?;
        n += 1;
    }
    Ok(n)
}

/// The most bytes of a parked message `show` prints (its envelope and headers).
pub const SHOW_BYTES_MAX: usize = 64 << 10;

/// `deferred show ID`: the reason file, then the envelope and header block (at most
/// [`SHOW_BYTES_MAX`] bytes).
pub fn show(po: &Postoffice, id: &str, out: &mut dyn Write) -> io::Result<bool> {
    if !is_id(id) {
        return Ok(false);
    }
    let dir = po.root.join("deferred");
    let (Ok(reason), Ok(bytes)) = (
        std::fs::read_to_string(dir.join(names::deferred_reason(id))),
        read_head(&dir.join(id)),
    ) else {
        return Ok(false);
    };
    out.write_all(reason.as_bytes())?;
    writeln!(out)?;
    let end = memchr::memmem::find(&bytes, b"\n\n")
        .or_else(|| memchr::memmem::find(&bytes, b"\r\n\r\n"))
        .map_or(bytes.len(), |i| i + 1);
    out.write_all(&bytes[..end])?;
    if end == bytes.len() && bytes.len() == SHOW_BYTES_MAX {
        writeln!(out, "[... cut at {SHOW_BYTES_MAX} bytes]")?;
    }
    Ok(true)
}

fn read_head(p: &std::path::Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut v = Vec::new();
    std::fs::File::open(p)?
        .take(SHOW_BYTES_MAX as u64)
        .read_to_end(&mut v)?;
    Ok(v)
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

/// `deferred release ID`: back into `router/`, to be routed again as new mail.
pub fn release(po: &Postoffice, id: &str) -> io::Result<Done> {
    if !is_id(id) {
        return Ok(Done::Missing);
    }
    // A counter left from the parked attempts would park it again at once.
    if !fs::exists(&po.work, id)? {
        fs::unlink("release.attempts.unlink", &po.work, &names::attempts(id))?;
    }
    match fs::rename_noreplace("release.rename", &po.deferred, id, &po.router, id)? {
        Renamed::Done => {}
        Renamed::SourceGone => return Ok(Done::Missing),
        Renamed::DestinationExists => return Ok(Done::Conflict),
    }
    fs::fsync_dir("release.fsync.router", &po.router)?;
    fs::unlink(
        "release.reason.unlink",
        &po.deferred,
        &names::deferred_reason(id),
    )?;
    fs::fsync_dir("release.fsync.deferred", &po.deferred)?;
    Ok(Done::Done)
}

/// `deferred remove ID`: the message and its reason file deleted.
pub fn remove(po: &Postoffice, id: &str) -> io::Result<Done> {
    if !is_id(id) {
        return Ok(Done::Missing);
    }
    if !fs::unlink("remove.message.unlink", &po.deferred, id)? {
        return Ok(Done::Missing);
    }
    fs::unlink(
        "remove.reason.unlink",
        &po.deferred,
        &names::deferred_reason(id),
    )?;
    fs::fsync_dir("remove.fsync.deferred", &po.deferred)?;
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
}

pub fn status(po: &Postoffice) -> io::Result<Status> {
    let count_ids =
        |d: &fs::Dir| -> io::Result<usize> { Ok(fs::list(d)?.iter().filter(|n| is_id(n)).count()) };
    let mut s = Status {
        public: fs::list(&po.public)?.len(),
        router: count_ids(&po.router)?,
        work: count_ids(&po.work)?,
        ..Status::default()
    };
    for ch in fs::list(&po.queue)? {
        if crate::postoffice::is_channel(&ch) {
            let d = po.channel_dir(&ch)?;
            s.queue.push((ch, count_ids(&d)?));
        }
    }
    let parked = parked(po)?;
    s.deferred = parked.len();
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    for p in parked {
        *by.entry(p.kind).or_default() += 1;
    }
    s.reasons = by.into_iter().collect();
    Ok(s)
}

impl Status {
    /// For people.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "public/    {:>8}  (submissions being written)",
            self.public
        )?;
        writeln!(out, "router/    {:>8}  (waiting to be routed)", self.router)?;
        writeln!(out, "work/      {:>8}  (being routed now)", self.work)?;
        for (ch, n) in &self.queue {
            writeln!(out, "queue/{ch:<5}{n:>8}")?;
        }
        writeln!(out, "deferred/  {:>8}", self.deferred)?;
        for (k, n) in &self.reasons {
            writeln!(out, "  {k:<28}{n:>6}")?;
        }
        Ok(())
    }

    /// For a Prometheus node-exporter textfile collector.
    pub fn write_prometheus(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "# HELP router_messages Messages in each postoffice directory."
        )?;
        writeln!(out, "# TYPE router_messages gauge")?;
        for (d, n) in [
            ("public", self.public),
            ("router", self.router),
            ("work", self.work),
            ("deferred", self.deferred),
        ] {
            writeln!(out, "router_messages{{dir=\"{d}\"}} {n}")?;
        }
        for (ch, n) in &self.queue {
            writeln!(out, "router_messages{{dir=\"queue\",channel=\"{ch}\"}} {n}")?;
        }
        writeln!(
            out,
            "# HELP router_deferred_messages Parked messages by reason."
        )?;
        writeln!(out, "# TYPE router_deferred_messages gauge")?;
        for (k, n) in &self.reasons {
            writeln!(out, "router_deferred_messages{{reason=\"{k}\"}} {n}")?;
        }
        Ok(())
    }
}
