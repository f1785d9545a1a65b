//! One routing pass as a routing process runs it: the spool's pass ([`batch::pass`]) with the
//! routing core plugged in as its [`Route`], each message's log line, and what the pass left
//! alone reported. Used by workers and by `run --inline`.

use std::collections::HashMap;
use std::sync::Arc;

use mailaddr::Arena;

use super::log::Log;
use super::tables::Files;
use crate::config::Config;
use crate::core::message::{Outcome, Processor};
use crate::core::table::TableError;
use crate::core::zmailer::FileFacts;
use crate::limits::{BATCH_BYTES_MAX, BATCH_MESSAGES_MAX, LIST_NAMES_MAX};
use crate::reason::ParkReason;
use crate::spool::batch::{self, Event, Fate, Route, Routed};
use crate::spool::seam::Meta;
use crate::spool::{self, Postoffice};

/// What a routing process needs, built once from a configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub batch: batch::Settings,
    /// The configuration's routing, parser options and header policy.
    pub processor: Arc<Processor>,
    /// ZMailer mode: who is trusted to name the envelope sender.
    pub zmailer: Option<Arc<Trust>>,
}

/// ZMailer mode's trust in the writers of `router/` (ZMailer's router/conf.c:9-13): a file
/// owned by a trusted user keeps its envelope sender; any other's sender is its owner.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    pub trusted: Vec<u32>,
    /// Login names by uid, for the sender of an untrusted file.
    pub names: HashMap<u32, String>,
}

impl Trust {
    fn load(c: &Config) -> Trust {
        // /etc/passwd read once: the trusted names are looked up in the same entries.
        let names: HashMap<u32, String> =
            crate::accounts::entries(std::path::Path::new(crate::accounts::PASSWD))
                .into_iter()
                .map(|(n, id)| (id, n))
                .collect();
        let trusted = c
            .zmailer
            .trusted()
            .iter()
            .filter_map(|u| {
                u.parse()
                    .ok()
                    .or_else(|| names.iter().find(|(_, n)| *n == u).map(|(id, _)| *id))
            })
            .collect();
        Trust { trusted, names }
    }

    /// The sender to use instead of the envelope's for a file owned by `uid`: `None` when
    /// `uid` is trusted; its login name (or `uid-<n>` if it has none) otherwise.
    pub fn sender_for(&self, uid: u32) -> Option<String> {
        if self.trusted.contains(&uid) {
            return None;
        }
        Some(
            self.names
                .get(&uid)
                .cloned()
                .unwrap_or_else(|| format!("uid-{uid}")),
        )
    }
}

impl Settings {
    /// The settings of a configuration: loads its tables from their files.
    pub fn from_config(c: &Config) -> Result<Settings, TableError> {
        let mut processor = Processor::from_config(c, &Files)?;
        if let Some(z) = &mut processor.zmailer {
            // ZMailer's rule: what an alias expands into has the privilege of the aliases
            // file's owner (root for a root-owned file, as ZMailer's own router writes 0).
            use std::os::unix::fs::MetadataExt;
            z.alias_privilege =
                std::fs::metadata(&c.routing.aliases).map_or(0, |m| i64::from(m.uid()));
        }
        Ok(Settings {
            batch: batch::Settings {
                attempts_max: c.limits.attempts_max,
                message_bytes_max: c.limits.message_bytes_max,
                batch_messages_max: BATCH_MESSAGES_MAX,
                batch_bytes_max: BATCH_BYTES_MAX,
                list_names_max: LIST_NAMES_MAX,
            },
            processor: Arc::new(processor),
            zmailer: c.zmailer.enabled.then(|| Arc::new(Trust::load(c))),
        })
    }
}

/// One message's fate: what its log line says.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub from: String,
    pub rcpts: Vec<String>,
    /// The channels it went to (empty when parked).
    pub channels: Vec<String>,
    pub size: u64,
    /// Seconds since the message was published (its file's modification time).
    pub delay: f64,
    /// `None`: routed. `Some`: parked, with the reason.
    pub parked: Option<ParkReason>,
    pub header_faults: Vec<String>,
}

/// What routing said of a message, kept from routing until its batch commits.
struct Note {
    from: String,
    rcpts: Vec<String>,
    header_faults: Vec<String>,
}

/// The routing core as the spool's [`Route`]: routes in the process's one arena, logs each
/// message once its batch is committed, passes every event on to `report`.
struct Router<'a> {
    processor: &'a Processor,
    trust: Option<&'a Trust>,
    arena: &'a mut Arena,
    log: &'a Log,
    report: &'a mut dyn FnMut(Event<'_>),
    notes: HashMap<String, Note>,
}

impl Route for Router<'_> {
    fn route(&mut self, id: &str, meta: &Meta, bytes: &[u8]) -> Routed {
        let p = match self.trust {
            None => self.processor.process(id, bytes, self.arena),
            Some(trust) => {
                let sender = trust.sender_for(meta.uid);
                let facts = FileFacts {
                    ino: meta.ino,
                    mtime: meta.mtime,
                    now: now(),
                    sender_override: sender.as_deref(),
                };
                self.processor.process_zmailer(&facts, bytes, self.arena)
            }
        };
        self.notes.insert(
            id.into(),
            Note {
                from: p.from,
                rcpts: p.rcpts,
                header_faults: p.header_faults,
            },
        );
        match p.outcome {
            Outcome::Route(outputs) => Routed::Outputs(outputs),
            Outcome::Control { control, channels } => Routed::Control { control, channels },
            Outcome::Park(r) => Routed::Park(r),
        }
    }

    fn event(&mut self, ev: Event<'_>) {
        if let Event::Done(d) = &ev {
            // A message parked unread (attempts exhausted, too large) has no note.
            let note = self.notes.remove(&d.id).unwrap_or(Note {
                from: String::new(),
                rcpts: Vec::new(),
                header_faults: Vec::new(),
            });
            let (channels, parked) = match &d.fate {
                Fate::Routed { channels } => (channels.clone(), None),
                Fate::Parked(r) => (Vec::new(), Some(r.clone())),
            };
            self.log.message(&Record {
                id: d.id.clone(),
                from: note.from,
                rcpts: note.rcpts,
                channels,
                size: d.size,
                delay: d.delay,
                parked,
                header_faults: note.header_faults,
            });
        }
        (self.report)(ev);
    }
}

/// What a routing process keeps from one pass to the next: its one arena, the messages a
/// release could not put back, still locked ([`batch::pass`]: the disk failed under it), and
/// when it last reaped `public/`.
#[derive(Debug)]
pub struct Kept {
    pub arena: Arena,
    pub held: Vec<batch::Unreleased>,
    /// When this process last reaped `public/`.
    last_reap: Option<std::time::Instant>,
}

impl Kept {
    pub fn new(arena: Arena) -> Kept {
        Kept {
            arena,
            held: Vec::new(),
            last_reap: None,
        }
    }

    /// Whether `public/` is due for reaping at `now` (and if so, notes that it was): the
    /// first pass of a process, then at most every [`REAP_INTERVAL`]. The reaper opens every
    /// submission-named file in `public/`, where any group member may create any number:
    /// 300 000 of them cost a pass 1.7 s on tmpfs, and a pass per wake-up would spend that
    /// on every batch of new mail. Abandoned submissions wait `public_age_max` (an hour by
    /// default) anyway.
    pub fn reap_due(&mut self, now: std::time::Instant) -> bool {
        let due = self
            .last_reap
            .is_none_or(|t| now.saturating_duration_since(t) >= REAP_INTERVAL);
        if due {
            self.last_reap = Some(now);
        }
        due
    }
}

/// How often a routing process reaps `public/` at most.
pub const REAP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// One pass: abandoned submissions reaped, everything in router/ routed, each message's
/// line logged, every name left alone reported. Events go to `report`; `stop` is asked
/// between batches. Returns what the pass did, and whether it ended on a spool fault.
pub fn pass(
    po: &Postoffice,
    s: &Settings,
    kept: &mut Kept,
    log: &Log,
    public_max_age: u64,
    report: &mut dyn FnMut(Event<'_>),
    stop: &dyn Fn() -> bool,
) -> (batch::Pass, Result<(), spool::Error>) {
    // In ZMailer mode, public/ is ZMailer's writers': they hold no lock the reaper could test,
    // so nothing there is ever the router's to remove.
    if s.zmailer.is_none() && kept.reap_due(std::time::Instant::now()) {
        match spool::reaper::reap_public(po, public_max_age) {
            Ok(r) => {
                for n in &r.foreign {
                    log.line(format_args!(
                        "public/{} is not a submission; left alone",
                        super::log::clean(n)
                    ));
                }
                if r.foreign_more > 0 {
                    log.line(format_args!(
                        "public/: {} more names that are not submissions; left alone",
                        r.foreign_more
                    ));
                }
            }
            Err(e) => log.line(format_args!("reaping public/: {e}")),
        }
    }
    let mut router = Router {
        processor: &s.processor,
        trust: s.zmailer.as_deref(),
        arena: &mut kept.arena,
        log,
        report,
        notes: HashMap::new(),
    };
    let (p, result) = batch::pass(po, &s.batch, &mut router, stop, &mut kept.held);
    for x in &p.left_alone {
        // Names come from the spool as found: escaped, so a name cannot forge a log line.
        log.line(format_args!("{}", super::log::clean(&x.to_string())));
    }
    if p.left_alone_more > 0 {
        log.line(format_args!(
            "{} more names left alone this pass (not listed)",
            p.left_alone_more
        ));
    }
    for (id, what) in &p.anomalies {
        log.line(format_args!("recovery: {id}: {what}; left alone"));
    }
    (p, result)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// The first pass reaps, the next ones within the interval do not, the first one past it
    /// does, and the interval runs from that one.
    #[test]
    fn public_is_reaped_on_the_first_pass_then_at_most_every_interval() {
        let mut k = Kept::new(Arena::new(1024));
        let t0 = Instant::now();
        assert!(k.reap_due(t0));
        assert!(!k.reap_due(t0));
        assert!(!k.reap_due(t0 + REAP_INTERVAL - Duration::from_millis(1)));
        assert!(k.reap_due(t0 + REAP_INTERVAL));
        assert!(!k.reap_due(t0 + REAP_INTERVAL + Duration::from_secs(1)));
        assert!(k.reap_due(t0 + REAP_INTERVAL * 2));
        // A clock that seems to go back (another thread's earlier reading) reaps nothing.
        assert!(!k.reap_due(t0));
    }
}
