//! `router deferred list|show|release|remove`: the parked messages.

use std::io::Write;

use super::{exit, open_po, Globals};
use router::spool::parked::{self, Done};
use router::spool::Postoffice;

#[derive(clap::Subcommand)]
pub enum Action {
    /// One line per parked message: id, reason, date, detail (tab-separated).
    List {
        /// Only this reason kind (e.g. hop-limit).
        #[arg(long)]
        reason: Option<String>,
    },
    /// The reason file, the envelope and the headers of one parked message.
    Show { id: String },
    /// Put messages back into router/ to be routed again (after fixing the cause).
    Release {
        ids: Vec<String>,
        /// Every parked message of this reason kind.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete parked messages and their reason files.
    Remove {
        ids: Vec<String>,
        /// Every parked message of this reason kind.
        #[arg(long)]
        reason: Option<String>,
    },
}

pub fn run(g: &Globals<'_>, action: Action) -> Result<u8, u8> {
    let c = g.config()?;
    let po = open_po(&c.postoffice, "deferred")?;
    let io_err = |e: std::io::Error| {
        eprintln!("router deferred: {e}");
        exit::IOERR
    };
    Ok(match action {
        Action::List { reason } => match list(&po, reason.as_deref()) {
            Ok(()) => exit::OK,
            Err(e) => io_err(e),
        },
        Action::Show { id } => match parked::show(&po, &id) {
            Ok(Some(s)) => {
                let mut out = std::io::stdout().lock();
                let r = (|| {
                    out.write_all(&s.reason)?;
                    writeln!(out)?;
                    out.write_all(&s.head)?;
                    if s.cut {
                        writeln!(out, "[... cut at {} bytes]", router::limits::SHOW_BYTES_MAX)?;
                    }
                    Ok(())
                })();
                match r {
                    Ok(()) => exit::OK,
                    Err(e) => io_err(e),
                }
            }
            Ok(None) => {
                eprintln!("router deferred show: {id}: no such parked message");
                exit::DATAERR
            }
            Err(e) => io_err(e),
        },
        Action::Release { ids, reason } => match select(&po, ids, reason) {
            Ok(ids) => each(ids, "release", &|id| parked::release(&po, id)),
            Err(e) => io_err(e),
        },
        Action::Remove { ids, reason } => match select(&po, ids, reason) {
            Ok(ids) => each(ids, "remove", &|id| parked::remove(&po, id)),
            Err(e) => io_err(e),
        },
    })
}

/// `list`: one line per parked message: id, reason code, date, detail.
fn list(po: &Postoffice, code: Option<&str>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for p in parked::parked(po)? {
        if code.is_some_and(|k| k != p.code()) {
            continue;
        }
        let (date, detail) = p.reason.as_ref().map_or(("", ""), |r| {
            (r.date.as_deref().unwrap_or(""), r.detail.as_str())
        });
        writeln!(out, "{}\t{}\t{}\t{}", p.id, p.code(), date, detail)?;
    }
    Ok(())
}

/// The ids named, plus every parked message of `reason`.
fn select(
    po: &Postoffice,
    ids: Vec<String>,
    reason: Option<String>,
) -> std::io::Result<Vec<String>> {
    let mut v = ids;
    if let Some(k) = reason {
        v.extend(
            parked::parked(po)?
                .into_iter()
                .filter(|p| p.code() == k)
                .map(|p| p.id),
        );
    }
    Ok(v)
}

fn each(ids: Vec<String>, what: &str, f: &dyn Fn(&str) -> std::io::Result<Done>) -> u8 {
    if ids.is_empty() {
        eprintln!("router deferred {what}: no message named (give ids, or --reason KIND)");
        return exit::USAGE;
    }
    let mut code = exit::OK;
    for id in &ids {
        match f(id) {
            Ok(Done::Done) => println!("{id}: {what}d"),
            Ok(Done::Missing) => {
                eprintln!("router deferred {what}: {id}: no such parked message");
                code = exit::DATAERR;
            }
            Ok(Done::Conflict) => {
                eprintln!("router deferred {what}: {id}: router/{id} exists; left as it is");
                code = exit::DATAERR;
            }
            Err(e) => {
                eprintln!("router deferred {what}: {id}: {e}");
                return exit::TEMPFAIL;
            }
        }
    }
    code
}
