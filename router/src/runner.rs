//! One router's work loop over the postoffice: recover, then route batches.
//!
//! A message flows one way: claim → count the attempt → read → parse → route → stage →
//! commit, or → defer. A batch of messages shares its syncs (group commit): one `syncfs` after
//! the claims and counters, one after staging, one after the plans, one after publishing, one
//! after removing the messages, instead of an fsync per file per message.
//!
//! A message with an attempt already on record (its router died while it was in a batch) is
//! routed in a batch of its own: a message that kills its router is then counted alone, and
//! the innocent members of its first batch are counted once and routed.
//!
//! Disk full or an I/O error: a message not yet committed is released (its staged files
//! removed, the attempt taken back, the message renamed back to router/) and the batch stops;
//! the caller backs off. A committed message is left for recovery to roll forward. Such a
//! message is never parked: the fault is not its.

use std::io;
use std::sync::Arc;

use mailaddr::Arena;

use crate::aliases::TableError;
use crate::claim::{self, Claim, Claimed};
use crate::config::Config;
use crate::defer::{self, Reason};
use crate::message::{Outcome, Processor};
use crate::postoffice::{is_id, Postoffice};
use crate::{attempts, commit, fs, recover};

/// Settings the runner needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_attempts: u64,
    pub max_message_bytes: usize,
    pub batch: usize,
    /// The configuration's routing, parser options and header policy.
    pub processor: Arc<Processor>,
}

impl Settings {
    /// The settings of a configuration: loads its tables.
    pub fn from_config(c: &Config) -> Result<Settings, TableError> {
        Ok(Settings {
            max_attempts: c.limits.max_attempts,
            max_message_bytes: c.limits.max_message_bytes,
            batch: DEFAULT_BATCH,
            processor: Arc::new(Processor::from_config(c)?),
        })
    }
}

/// Messages per batch (group commit): the syncs are shared by 64 messages. Memory does not
/// grow with it: a batch holds one message's output bytes at a time (see `Plan::Route`).
pub const DEFAULT_BATCH: usize = 64;

/// What a pass tells its caller as it goes: the message it is on (for the time limit), and
/// each message's fate once it is committed (for the log).
#[derive(Debug)]
pub enum Event<'a> {
    /// About to read and route this message.
    Busy(&'a str),
    /// Done with reading and routing; the batch is being committed.
    Committing,
    /// A message's fate, after its batch committed.
    Done(&'a Record),
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
    pub parked: Option<Reason>,
    pub header_faults: Vec<String>,
}

/// Counts of a pass.
#[derive(Debug, Default, Clone)]
pub struct Pass {
    pub routed: usize,
    pub deferred: usize,
    pub bad_names: Vec<String>,
    /// Message names in router/ that are not regular files (a FIFO, a directory, a link).
    pub not_files: Vec<String>,
}

/// Nothing to report to.
pub fn quiet(_: Event<'_>) {}

enum Plan {
    /// The channels it goes to. Their output bytes live only from routing to staging: a
    /// batch holds at most one message's bytes at a time, not 64 (docs/router.md, memory).
    Route {
        channels: Vec<String>,
    },
    Defer(Reason),
}

struct Work {
    claimed: Claimed,
    plan: Plan,
    committed: bool,
    record: Record,
}

/// Recovers, then routes everything in router/ once. `Err` only for a spool fault (disk full,
/// I/O); messages are never lost either way.
///
/// `arena` is the caller's, reused for every message; `report` hears of each message.
/// `stop` is asked between batches: true ends the pass early (a drain).
pub fn run_once(
    po: &Postoffice,
    s: &Settings,
    arena: &mut Arena,
    report: &mut dyn FnMut(Event<'_>),
    stop: &dyn Fn() -> bool,
) -> io::Result<Pass> {
    recover::recover_all(po)?;
    let mut pass = Pass::default();
    loop {
        let names = fs::list(&po.router)?;
        let (ids, bad): (Vec<String>, Vec<String>) = names.into_iter().partition(|n| is_id(n));
        for b in bad {
            if !pass.bad_names.contains(&b) {
                pass.bad_names.push(b);
            }
        }
        if ids.is_empty() {
            return Ok(pass);
        }
        let before = pass.routed + pass.deferred;
        // A message with an attempt on record was in a router that died. It is routed alone,
        // so that if it kills this router too, only its own count goes up: its batch-mates of
        // the first crash are counted once, then routed on their own.
        let work = fs::list(&po.work)?;
        let (suspects, clean): (Vec<String>, Vec<String>) = ids.into_iter().partition(|id| {
            work.binary_search(&crate::postoffice::names::attempts(id))
                .is_ok()
        });
        let mut cx = Cx {
            po,
            s,
            arena: &mut *arena,
            report: &mut *report,
            pass: &mut pass,
        };
        for id in &suspects {
            if stop() {
                return Ok(pass);
            }
            cx.route_batch(std::slice::from_ref(id), true)?;
        }
        for chunk in clean.chunks(s.batch.max(1)) {
            if stop() {
                return Ok(pass);
            }
            cx.route_chunk(chunk)?;
        }
        if pass.routed + pass.deferred == before {
            // Everything left is claimed by other routers.
            return Ok(pass);
        }
    }
}

/// One pass's context: what every batch needs.
struct Cx<'p, 'a> {
    po: &'p Postoffice,
    s: &'p Settings,
    arena: &'a mut Arena,
    report: &'a mut dyn FnMut(Event<'_>),
    pass: &'a mut Pass,
}

impl Cx<'_, '_> {
    /// Routes a batch; if the disk is too full for all of it, routes its halves, down to
    /// single messages, before giving up: a batch that needs more space than is free must not
    /// stop the messages that would fit (found on a real 256 KiB tmpfs: the same batch failed
    /// forever). The recursion is at most log2(batch) deep.
    fn route_chunk(&mut self, ids: &[String]) -> io::Result<()> {
        // These ids had no counter when work/ was listed; one that gets one since (another
        // router claimed it and died) is found by the next pass's listing.
        match self.route_batch(ids, false) {
            Err(e) if fs::is_disk_full(&e) && ids.len() > 1 => {
                let (a, b) = ids.split_at(ids.len() / 2);
                self.route_chunk(a)?;
                self.route_chunk(b)
            }
            r => r,
        }
    }

    fn route_batch(&mut self, ids: &[String], may_have_counter: bool) -> io::Result<()> {
        let (po, s) = (self.po, self.s);
        // Claim, and count the attempt before anything is parsed.
        let mut batch: Vec<Work> = Vec::new();
        for id in ids {
            let c = match claim::claim(po, id)? {
                Claim::Won(c) => c,
                Claim::NotAFile => {
                    if !self.pass.not_files.contains(id) {
                        self.pass.not_files.push(id.clone());
                    }
                    continue;
                }
                Claim::Lost | Claim::Conflict => continue,
            };
            let made = if may_have_counter {
                attempts::count(po, id)?
            } else {
                0
            };
            let plan = if made >= s.max_attempts {
                let mut r = Reason::new("attempts-exhausted", format!("{made} attempts to route this message did not finish (its router crashed, ran out of memory or time, or was killed)"));
                r.limit = Some(s.max_attempts as usize);
                r.attempts = made;
                Plan::Defer(r)
            } else {
                attempts::bump(po, id)?;
                Plan::Route {
                    channels: Vec::new(),
                }
            };
            let record = Record {
                id: id.clone(),
                from: String::new(),
                rcpts: Vec::new(),
                channels: Vec::new(),
                size: c.meta.len,
                delay: c.meta.age_secs,
                parked: None,
                header_faults: Vec::new(),
            };
            batch.push(Work {
                claimed: c,
                plan,
                committed: false,
                record,
            });
        }
        if batch.is_empty() {
            return Ok(());
        }
        let r = self.commit_batch(&mut batch);
        match r {
            Ok(()) => {
                for mut w in batch {
                    match w.plan {
                        Plan::Route { channels } => {
                            self.pass.routed += 1;
                            w.record.channels = channels;
                        }
                        Plan::Defer(reason) => {
                            self.pass.deferred += 1;
                            w.record.parked = Some(reason);
                        }
                    }
                    (self.report)(Event::Done(&w.record));
                }
                Ok(())
            }
            Err(e) => {
                // Release what is not committed; leave the rest for recovery (which also
                // finishes a release that fails here).
                for w in batch.iter().filter(|w| !w.committed) {
                    let _ = release(po, w);
                }
                Err(e)
            }
        }
    }

    /// Reads, routes, stages and commits a claimed batch.
    fn commit_batch(&mut self, batch: &mut [Work]) -> io::Result<()> {
        let (po, s) = (self.po, self.s);
        fs::syncfs("batch.sync.claims", &po.work)?;
        // Read, parse, route, stage.
        for w in batch.iter_mut() {
            if let Plan::Route { .. } = w.plan {
                (self.report)(Event::Busy(&w.claimed.id));
                match plan_message(w, s, self.arena)? {
                    Routed::Outputs(outputs) => {
                        // Every channel is in the plan before the first is staged, so that a
                        // release after a failed stage removes all that may exist.
                        w.plan = Plan::Route {
                            channels: outputs.iter().map(|(c, _)| c.clone()).collect(),
                        };
                        for (ch, bytes) in outputs {
                            commit::stage(po, &w.claimed.id, &ch, &bytes)?;
                        }
                    }
                    Routed::Park(r) => w.plan = Plan::Defer(r),
                }
            }
            if let Plan::Defer(reason) = &w.plan {
                defer::stage_reason(po, &w.claimed.id, reason)?;
            }
        }
        (self.report)(Event::Committing);
        fs::syncfs("batch.sync.staged", &po.work)?;
        // Commit points: a plan, or the move into deferred/.
        for w in batch.iter_mut() {
            match &w.plan {
                Plan::Route { channels } => commit::plan(po, &w.claimed.id, names(channels))?,
                Plan::Defer(_) => defer::commit(po, &w.claimed.id)?,
            }
            w.committed = true;
        }
        fs::syncfs("batch.sync.plans", &po.work)?;
        for w in batch.iter() {
            if let Plan::Route { channels } = &w.plan {
                commit::publish(po, &w.claimed.id, names(channels))?;
            }
        }
        fs::syncfs("batch.sync.published", &po.work)?;
        for w in batch.iter() {
            match &w.plan {
                Plan::Route { .. } => commit::remove_message(po, &w.claimed.id)?,
                Plan::Defer(_) => defer::cleanup(po, &w.claimed.id)?,
            }
        }
        fs::syncfs("batch.sync.removed", &po.work)?;
        for w in batch.iter() {
            if let Plan::Route { .. } = &w.plan {
                commit::remove_plan(po, &w.claimed.id)?;
            }
        }
        Ok(())
    }
}

/// Undoes an uncommitted message: the attempt taken back (the fault was the disk's), then
/// the same roll-back recovery does. What may have been staged is what the plan lists.
fn release(po: &Postoffice, w: &Work) -> io::Result<()> {
    let id = &w.claimed.id;
    match &w.plan {
        Plan::Route { channels } => {
            attempts::unbump(po, id)?;
            commit::roll_back(po, id, names(channels))
        }
        Plan::Defer(_) => commit::roll_back(po, id, std::iter::empty::<&str>()),
    }
}

/// Channel names as `&str`.
fn names(channels: &[String]) -> impl Iterator<Item = &str> {
    channels.iter().map(String::as_str)
}

/// What reading and routing a message gave.
enum Routed {
    Outputs(Vec<(String, Vec<u8>)>),
    Park(Reason),
}

/// Reads and routes one claimed message: its outputs, or why it must be parked.
fn plan_message(w: &mut Work, s: &Settings, arena: &mut Arena) -> io::Result<Routed> {
    let bytes = match fs::read_all("read.message", &w.claimed.file, s.max_message_bytes) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
            let mut r = Reason::new(
                "message-too-large",
                format!(
                    "the message is over max_message_bytes ({})",
                    s.max_message_bytes
                ),
            );
            r.limit = Some(s.max_message_bytes);
            return Ok(Routed::Park(r));
        }
        Err(e) => return Err(e),
    };
    let p = s.processor.process(&w.claimed.id, &bytes, arena);
    w.record.from = p.from;
    w.record.rcpts = p.rcpts;
    w.record.header_faults = p.header_faults;
    Ok(match p.outcome {
        Outcome::Route(outputs) => Routed::Outputs(outputs),
        Outcome::Park(r) => Routed::Park(r),
    })
}
