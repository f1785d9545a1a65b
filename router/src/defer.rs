//! Deferral: park a message in `deferred/` with a reason file (SPEC section 3).
//!
//! The reason file is written in work/ (`<id>#reason`), made durable, renamed to
//! `deferred/<id>.reason`, and only then is the message itself renamed to `deferred/<id>`: the
//! rename of the message is the commit. A crash before it leaves the message in work/, where
//! recovery rolls it back to router/; a stale `deferred/<id>.reason` with no message beside it
//! is replaced by the next deferral of that id. The message's bytes are never touched.

use std::io;

use crate::fs::{self, Renamed};
use crate::postoffice::{names, Postoffice};

/// Why a message is parked: the fields of its reason file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Stable kebab-case kind (`arena-exhausted`, `attempts-exhausted`, ...).
    pub kind: String,
    /// One human sentence.
    pub detail: String,
    pub field: Option<String>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
    pub attempts: u64,
}

impl Reason {
    pub fn new(kind: &str, detail: impl Into<String>) -> Reason {
        Reason {
            kind: kind.into(),
            detail: detail.into(),
            field: None,
            offset: None,
            limit: None,
            attempts: 0,
        }
    }

    /// The reason file's text: RFC 822-style fields, one per line.
    pub fn render(&self) -> String {
        let one_line = |s: &str| s.replace(['\r', '\n'], " ");
        let mut s = format!(
            "Reason: {}\nDetail: {}\n",
            self.kind,
            one_line(&self.detail)
        );
        if let Some(f) = &self.field {
            s += &format!("Field: {}\n", one_line(f));
        }
        if let Some(o) = self.offset {
            s += &format!("Offset: {o}\n");
        }
        if let Some(l) = self.limit {
            s += &format!("Limit: {l}\n");
        }
        let host = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        s += &format!(
            "Attempts: {}\nRouter: {} {}\nDate: {}\n",
            self.attempts,
            host,
            std::process::id(),
            humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        );
        s
    }

    /// Reads the `Reason:` kind back from a reason file's text.
    pub fn kind_of(text: &str) -> Option<&str> {
        text.lines()
            .find_map(|l| l.strip_prefix("Reason: "))
            .map(str::trim)
    }
}

/// Step 1: write the reason file in work/ (durable after the batch's next sync).
pub fn stage_reason(po: &Postoffice, id: &str, reason: &Reason) -> io::Result<()> {
    let name = names::reason(id);
    fs::unlink("defer.reason.clear", &po.work, &name)?;
    let f = fs::create_excl("defer.reason.create", &po.work, &name)?;
    fs::write_all("defer.reason.write", &f, reason.render().as_bytes())
}

/// Step 2 (after a sync): move the reason, then the message, into deferred/.
pub fn commit(po: &Postoffice, id: &str) -> io::Result<()> {
    fs::rename_replace(
        "defer.reason.rename",
        &po.work,
        &names::reason(id),
        &po.deferred,
        &names::deferred_reason(id),
    )?;
    match fs::rename_noreplace("defer.message.rename", &po.work, id, &po.deferred, id)? {
        Renamed::Done | Renamed::SourceGone => Ok(()),
        Renamed::DestinationExists => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("deferred/{id} exists"),
        )),
    }
}

/// Step 3 (after a sync): the counter is no longer needed.
pub fn cleanup(po: &Postoffice, id: &str) -> io::Result<()> {
    fs::unlink("defer.attempts.unlink", &po.work, &names::attempts(id)).map(|_| ())
}
