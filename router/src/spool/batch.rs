//! Route a batch, and a pass over `router/`: the batch protocol C1–C7 with its syncs S1–S5
//! (docs/spool.md), as one sequence.
//!
//! A message flows one way: claim (C1) → read the count of a suspect (C2) → S1 → read, route,
//! stage or write a reason (C3) → S2 → commit point: plan or park (C4) → S3 → publish (C5) → remove
//! message and counter (C6) → S5 → remove the plan (C7). A batch shares its syncs (group
//! commit): four `syncfs` per batch instead of an fsync per file per message. (There was an
//! S4 between C5 and C6: the power-loss tests showed it unnecessary, and it went.)
//!
//! Routing itself is not here: the caller's [`Route`] turns a message's bytes into outputs or
//! a park reason (the process layer hands it the routing core), so this module knows files,
//! not mail.
//!
//! A message with an attempt already on record (its router died while it was in a batch) is
//! routed in a batch of its own: a message that kills its router is then counted alone, and
//! the innocent members of its first batch are counted once and routed.
//!
//! Disk full or an I/O error: a message not yet committed is released (its staged files
//! removed, the message renamed back to router/; no attempt is counted: recovery counts only
//! the messages of routers that died) and the batch stops;
//! the caller backs off. A committed message is left for recovery to roll forward. Such a
//! message is never parked: the fault is not its.

use super::attempts;
use super::claim::{self, Claim, Claimed};
use super::commit;
pub use super::commit::Unreleased;
use super::defer;
use super::handoff;
use super::layout::Postoffice;
use super::recover;
use super::seam::{Meta, Step};
use super::{Error, LeftAlone};
use crate::limits::{BATCH_HALVED_MIN, PLAN_BYTES_MAX, PLAN_CHANNELS_MAX, PLAN_RECORD_BYTES_MAX};
use crate::names::{self, is_id};
use crate::reason::ParkReason;

/// What the batch needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `limits.max_attempts`.
    pub attempts_max: u64,
    /// `limits.max_message_bytes`.
    pub message_bytes_max: usize,
    /// Messages per batch.
    pub batch_messages_max: usize,
    /// Bytes of messages per batch: a batch stops claiming once its messages reach this
    /// many (it always takes one).
    pub batch_bytes_max: u64,
    /// Names of `router/` held at once ([`LIST_NAMES_MAX`](crate::limits::LIST_NAMES_MAX)).
    pub list_names_max: usize,
}

/// What routing one message gave.
#[derive(Debug)]
pub enum Routed {
    /// One output per channel: (channel, the output file's bytes).
    Outputs(Vec<(String, Vec<u8>)>),
    /// ZMailer mode: the control file (the message itself moves to `queue/`), and the
    /// channels its recipients go to, for the log.
    Control {
        control: Vec<u8>,
        channels: Vec<String>,
    },
    Park(ParkReason),
}

/// The layer above: routes a message's bytes, and hears what the pass does.
pub trait Route {
    /// Routes message `id` (its whole router input; `meta` is what the claim's `fstat` said
    /// of its file).
    fn route(&mut self, id: &str, meta: &Meta, bytes: &[u8]) -> Routed;
    /// Hears of each step a supervisor or a log needs.
    fn event(&mut self, ev: Event<'_>);
}

/// What a pass tells its caller as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// About to read and route this message (the clock of the time limit starts).
    Busy(&'a str),
    /// Done with reading and routing; the batch is being committed.
    Committing,
    /// A message's fate, after its batch committed.
    Done(&'a Done),
}

/// One message's fate, once committed.
#[derive(Debug, Clone)]
pub struct Done {
    pub id: String,
    pub size: u64,
    /// Seconds since the message was published (its file's modification time).
    pub delay: f64,
    pub fate: Fate,
}

#[derive(Debug, Clone)]
pub enum Fate {
    /// Routed to these channels.
    Routed {
        channels: Vec<String>,
    },
    Parked(ParkReason),
}

/// Counts of a pass, and what it left alone.
#[derive(Debug, Default, Clone)]
pub struct Pass {
    pub routed: usize,
    pub deferred: usize,
    /// What the pass reported and left alone, each once, at most
    /// [`LEFT_ALONE_REPORTED_MAX`](crate::limits::LEFT_ALONE_REPORTED_MAX) of them.
    pub left_alone: Vec<LeftAlone>,
    /// Reports past that many (a name met again in a later chunk may count twice).
    pub left_alone_more: usize,
    /// What recovery found and left for a person (`(id, what)`).
    pub anomalies: Vec<(String, String)>,
}

impl Pass {
    /// Records a name left alone, once per pass.
    fn leave(&mut self, x: LeftAlone) {
        if self.left_alone.contains(&x) {
            return;
        }
        if self.left_alone.len() < crate::limits::LEFT_ALONE_REPORTED_MAX {
            self.left_alone.push(x);
        } else {
            self.left_alone_more += 1;
        }
    }
}

/// Where a message of the batch is in C1–C7. Each step asserts the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    /// C1–C2 done: claimed, attempt counted (or found exhausted).
    Counted,
    /// C3 done: outputs staged, or the reason written.
    Staged,
    /// C4 done: plan in place, or moved into deferred/ (past the commit point).
    Committed,
    /// C5 done.
    Published,
    /// C6 done.
    Removed,
}

enum Plan {
    /// The channels it goes to. Their output bytes live only from routing to staging: a
    /// batch holds at most one message's bytes at a time, not 64 (docs/router.md, memory).
    Route {
        channels: Vec<String>,
    },
    /// ZMailer mode: the message and its control file go to the scheduler; the channels are
    /// for the log.
    Handoff {
        channels: Vec<String>,
    },
    Defer(ParkReason),
}

struct Work {
    claimed: Claimed,
    plan: Plan,
    state: State,
    /// An id used twice, met at C4 or C5: the place held by the earlier message. The message
    /// goes no further in this batch, and recovery finishes or undoes it once the name is free.
    conflict: Option<String>,
}

impl Work {
    /// A message just claimed (C1), its attempts looked at (C2).
    fn counted(claimed: Claimed, plan: Plan) -> Work {
        Work {
            claimed,
            plan,
            state: State::Counted,
            conflict: None,
        }
    }

    fn advance(&mut self, to: State) {
        assert!(
            self.state < to,
            "batch state machine: {} went from {:?} to {:?}",
            self.claimed.id,
            self.state,
            to
        );
        self.state = to;
    }
}

/// Recovers (R1–R4), then routes everything in router/ once. Returns what the pass did, and
/// `Err` if it ended on a spool fault (disk full, I/O) or an id used twice; messages are never
/// lost either way.
///
/// `stop` is asked between batches: true ends the pass early (a drain).
///
/// `held` is the process's memory between its passes: the messages a release could not put
/// back (the disk failed under the release too), still claimed and still locked by this
/// process. The next pass puts them back first. Left unlocked, another router's recovery
/// would take this router for dead and count an attempt against an innocent message (found
/// by the spool fuzz target, when the counting was still the claim's: an `EIO` that outlasted
/// a batch's release, twice, parked a message `attempts-exhausted`). If this process dies,
/// the locks go with it and recovery counts the attempt: its router did die.
pub fn pass(
    po: &Postoffice,
    s: &Settings,
    route: &mut dyn Route,
    stop: &dyn Fn() -> bool,
    held: &mut Vec<Unreleased>,
) -> (Pass, Result<(), Error>) {
    let mut pass = Pass::default();
    let r = run(po, s, route, stop, &mut pass, held);
    (pass, r)
}

fn run(
    po: &Postoffice,
    s: &Settings,
    route: &mut dyn Route,
    stop: &dyn Fn() -> bool,
    pass: &mut Pass,
    held: &mut Vec<Unreleased>,
) -> Result<(), Error> {
    while let Some(u) = held.last() {
        match u.roll_back(po) {
            // An id used twice meanwhile: recovery reports it.
            Ok(()) | Err(Error::IdReused { .. }) => {
                held.pop();
            }
            Err(e) => return Err(e),
        }
    }
    let recovered = recover::recover_keeping(po, held)?;
    pass.anomalies = recovered.anomalies;
    loop {
        let mut b = Batch {
            po,
            s,
            route: &mut *route,
            pass: &mut *pass,
            held: &mut *held,
        };
        let before = b.pass.routed + b.pass.deferred;
        // `router/` is read as a stream, `list_names_max` names at a time, each chunk routed
        // before the next is read: a backlog of millions never sits in the worker's memory.
        // How the sweep ended early: asked to stop (`Ok`), or a spool fault (`Err`).
        let mut ended: Option<Result<(), Error>> = None;
        po.fs
            .list_chunks(Step::C0List, &po.router, s.list_names_max, &mut |names| {
                let r = b.route_names(stop, names);
                let go_on = matches!(r, Ok(true));
                if !go_on {
                    ended = Some(r.map(drop));
                }
                Ok(go_on)
            })?;
        if let Some(r) = ended {
            return r;
        }
        if b.pass.routed + b.pass.deferred == before {
            // Nothing was routed: everything left (if anything) is claimed by other routers.
            return Ok(());
        }
    }
}

/// One pass's context: what every batch needs.
struct Batch<'p, 'a> {
    po: &'p Postoffice,
    s: &'p Settings,
    route: &'a mut dyn Route,
    pass: &'a mut Pass,
    held: &'a mut Vec<Unreleased>,
}

impl Batch<'_, '_> {
    /// Routes one chunk of `router/`'s names. Returns false if asked to stop.
    fn route_names(&mut self, stop: &dyn Fn() -> bool, names: Vec<String>) -> Result<bool, Error> {
        let (ids, bad): (Vec<String>, Vec<String>) = names.into_iter().partition(|n| is_id(n));
        for b in bad {
            self.pass.leave(LeftAlone::NotAnId(b));
        }
        if ids.is_empty() {
            return Ok(true);
        }
        // A message with an attempt on record was in a router that died. It is routed alone,
        // so that if it kills this router too, only its own count goes up: its batch-mates of
        // the first crash are counted once, then routed on their own.
        let work = self.po.fs.list(Step::C0List, &self.po.work)?;
        let (suspects, clean): (Vec<String>, Vec<String>) = ids
            .into_iter()
            .partition(|id| work.binary_search(&names::attempts(id)).is_ok());
        for id in &suspects {
            if stop() {
                return Ok(false);
            }
            self.route_batch(std::slice::from_ref(id), true)?;
        }
        // Half of what the chunk holds, but at least `BATCH_HALVED_MIN` (as a batch was
        // before batches grew past it) and at most the maximum: a backlog of a few hundred
        // messages is shared by two workers instead of being one worker's single batch (and
        // `route_chunk` cuts each batch at `batch_bytes_max` bytes of messages).
        let size = clean
            .len()
            .div_ceil(2)
            .max(clean.len().min(BATCH_HALVED_MIN))
            .clamp(1, self.s.batch_messages_max.max(1));
        for chunk in clean.chunks(size) {
            if stop() {
                return Ok(false);
            }
            self.route_chunk(chunk)?;
        }
        Ok(true)
    }

    /// Routes a run of names as batches: each claims until it holds `batch_bytes_max` bytes
    /// of messages, and the next takes up where it stopped. If the disk is too full for a
    /// batch, or the process has too few file descriptors left to hold all of it open, routes
    /// its halves, down to single messages, before giving up: a batch that needs more than
    /// there is must not stop the messages that would fit (found on a real 256 KiB tmpfs: the
    /// same batch failed forever; and with a low open-files limit every pass failed with
    /// EMFILE). The recursion is at most log2(batch) deep.
    fn route_chunk(&mut self, ids: &[String]) -> Result<(), Error> {
        // These ids had no counter when work/ was listed; one that gets one since (another
        // router claimed it and died) is found by the next pass's listing.
        let mut rest = ids;
        while !rest.is_empty() {
            match self.route_batch(rest, false) {
                Ok(taken) => {
                    assert!(
                        taken > 0,
                        "a batch went through none of {} names",
                        rest.len()
                    );
                    rest = &rest[taken..];
                }
                Err(e) if e.is_resource_short() && rest.len() > 1 => {
                    let (a, b) = rest.split_at(rest.len() / 2);
                    self.route_chunk(a)?;
                    return self.route_chunk(b);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Claims and routes one batch from the front of `ids`; returns how many of the ids it
    /// took (claimed, skipped or left alone: at least one).
    fn route_batch(&mut self, ids: &[String], may_have_counter: bool) -> Result<usize, Error> {
        let batch = self.claim_and_count(ids, may_have_counter);
        let (mut batch, taken) = match batch {
            Ok((b, taken)) if b.is_empty() => return Ok(taken),
            Ok(b) => b,
            Err((b, e)) => return Err(release_uncommitted(self.po, b, e, self.held)),
        };
        if let Err(e) = self.commit_batch(&mut batch) {
            return Err(release_uncommitted(self.po, batch, e, self.held));
        }
        // The messages are closed after their lines are logged, not between them: the close
        // of a removed file is where the file system frees it, and a line per close woke the
        // log's thread for every line, one write each.
        let mut files = Vec::with_capacity(batch.len());
        for w in batch {
            files.push(w.claimed.file);
            if let Some(place) = w.conflict {
                self.pass.leave(LeftAlone::IdReused {
                    id: w.claimed.id,
                    place,
                });
                continue;
            }
            assert_eq!(w.state, State::Removed, "{} not finished", w.claimed.id);
            let fate = match w.plan {
                Plan::Route { channels } | Plan::Handoff { channels } => {
                    self.pass.routed += 1;
                    Fate::Routed { channels }
                }
                Plan::Defer(reason) => {
                    self.pass.deferred += 1;
                    Fate::Parked(reason)
                }
            };
            let done = Done {
                id: w.claimed.id,
                size: w.claimed.meta.len,
                delay: w.claimed.meta.age_secs,
                fate,
            };
            self.route.event(Event::Done(&done));
        }
        drop(files);
        Ok(taken)
    }

    /// C1–C2: claim each message, and count the attempt before anything is parsed (a
    /// message whose attempts are used up is planned for parking instead, unparsed). Stops
    /// once the claimed messages hold `batch_bytes_max` bytes; returns the batch and how many
    /// of `ids` it went through.
    fn claim_and_count(
        &mut self,
        ids: &[String],
        may_have_counter: bool,
    ) -> Result<(Vec<Work>, usize), (Vec<Work>, Error)> {
        let (po, s) = (self.po, self.s);
        let mut batch: Vec<Work> = Vec::new();
        let mut bytes: u64 = 0;
        for (i, id) in ids.iter().enumerate() {
            // Never before the first message: a batch always takes one, whatever the bound.
            if !batch.is_empty() && bytes >= s.batch_bytes_max {
                return Ok((batch, i));
            }
            // ZMailer's router/ holds its 26 hash directories A..Z: not messages, not foreign.
            if po.handoff.is_some() && id.len() == 1 && id.as_bytes()[0].is_ascii_uppercase() {
                continue;
            }
            let c = match claim::claim(po, id) {
                Ok(Claim::Won(c)) => c,
                Ok(Claim::Left(x)) => {
                    self.pass.leave(x);
                    continue;
                }
                Ok(Claim::Lost) => continue,
                Ok(Claim::Unchecked(c, e)) => {
                    // Released with the batch, its lock held until then (and kept if the
                    // release fails too: `release_uncommitted`).
                    let plan = Plan::Route {
                        channels: Vec::new(),
                    };
                    batch.push(Work::counted(c, plan));
                    return Err((batch, e.into()));
                }
                Err(e) => return Err((batch, e.into())),
            };
            let made = match may_have_counter.then(|| attempts::count(po, id)) {
                Some(Err(e)) if attempts::is_not_ours(&e) => {
                    if let Err(e) = self.counter_not_ours(c) {
                        return Err((batch, e));
                    }
                    continue;
                }
                Some(r) => r,
                None => Ok(0),
            };
            // No attempt is counted here: if this router dies with the message claimed,
            // recovery counts it (`R3.count`, attempts.rs).
            let plan = match made {
                Ok(n) if n >= s.attempts_max => Plan::Defer(ParkReason::AttemptsExhausted {
                    attempts: n,
                    limit: s.attempts_max,
                }),
                _ => Plan::Route {
                    channels: Vec::new(),
                },
            };
            bytes = bytes.saturating_add(c.meta.len);
            batch.push(Work::counted(c, plan));
            // A count that could not be read: the message is released with the rest (dropped
            // unreleased, its lock would go and the next recovery would count a death that did
            // not happen; found by the spool fuzz target).
            if let Err(e) = made {
                return Err((batch, e.into()));
            }
        }
        Ok((batch, ids.len()))
    }

    /// A symlink or a hard link where `work/<id>#attempts` should be is not the router's: it
    /// is never followed, written or removed. The message cannot be counted, so it goes back
    /// to router/ and is reported; the batch goes on without it.
    fn counter_not_ours(&mut self, c: Claimed) -> Result<(), Error> {
        let id = c.id.clone();
        commit::roll_back(self.po, &id, std::iter::empty::<&str>())?;
        drop(c);
        self.pass.leave(LeftAlone::CounterNotOurs(id));
        Ok(())
    }

    /// S1–C7 for a claimed and counted batch.
    fn commit_batch(&mut self, batch: &mut [Work]) -> Result<(), Error> {
        let po = self.po;
        let fs = &*po.fs;
        fs.syncfs(Step::S1, &po.work)?;
        // C3: read, route, stage.
        for w in batch.iter_mut() {
            if let Plan::Route { .. } = w.plan {
                self.route.event(Event::Busy(&w.claimed.id));
                match self.read_and_route(w)? {
                    Routed::Outputs(outputs) if outputs.len() > PLAN_CHANNELS_MAX => {
                        w.plan = Plan::Defer(ParkReason::TooManyChannels {
                            limit: PLAN_CHANNELS_MAX,
                        });
                    }
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
                    Routed::Control { control, channels } => {
                        w.plan = Plan::Handoff { channels };
                        handoff::stage(po, &w.claimed.id, &control)?;
                    }
                    Routed::Park(r) => w.plan = Plan::Defer(r),
                }
            }
            if let Plan::Defer(reason) = &w.plan {
                defer::stage_reason(po, &w.claimed.id, reason)?;
            }
            w.advance(State::Staged);
        }
        self.route.event(Event::Committing);
        fs.syncfs(Step::S2, &po.work)?;
        // C4: the commit points: a deferral's move into deferred/, and the batch's plan.
        for w in batch.iter_mut() {
            if let Plan::Defer(_) = &w.plan {
                match defer::commit(po, &w.claimed.id) {
                    Ok(()) => w.advance(State::Committed),
                    // Not committed: the message stays in work/ with its reason, and recovery
                    // rolls it back to router/ once this batch lets go of it.
                    Err(Error::IdReused { place, .. }) => w.conflict = Some(place),
                    Err(e) => return Err(e),
                }
            }
        }
        let plans = write_plans(po, batch)?;
        fs.syncfs(Step::S3, &po.work)?;
        // C5.
        let mut handed = Vec::new();
        for w in batch.iter_mut().filter(|w| w.conflict.is_none()) {
            let published = match &w.plan {
                Plan::Route { channels } => Some(commit::publish(po, &w.claimed.id, channels)),
                Plan::Handoff { .. } => {
                    handed.push(w.claimed.meta.ino);
                    Some(handoff::publish(po, &w.claimed.id, w.claimed.meta.ino))
                }
                Plan::Defer(_) => None,
            };
            if let Some(published) = published {
                match published {
                    Ok(()) => {}
                    // Committed: recovery rolls it forward once the earlier copy is gone.
                    Err(Error::IdReused { place, .. }) => {
                        w.conflict = Some(place);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            w.advance(State::Published);
        }
        // No sync here (there was an S4): the power-loss tests showed it keeps nothing safe
        // that the plan does not. A cut that keeps C6's removals and loses C5's renames leaves
        // the staged outputs in work/ beside the durable plan, and recovery publishes them.
        // C6.
        for w in batch.iter_mut().filter(|w| w.conflict.is_none()) {
            match &w.plan {
                Plan::Route { .. } => commit::remove_message(po, &w.claimed.id)?,
                Plan::Handoff { .. } => handoff::remove_counter(po, &w.claimed.id)?,
                Plan::Defer(_) => defer::cleanup(po, &w.claimed.id)?,
            }
            w.advance(State::Removed);
        }
        fs.syncfs(Step::S5, &po.work)?;
        handoff::notify(po, &handed);
        // C7: a plan goes once every message it names is done; one whose message met an id
        // used twice stays for recovery, which finishes that message once the name is free.
        for (owner, named) in plans {
            if named.iter().all(|&i| batch[i].conflict.is_none()) {
                commit::remove_plan(po, &owner)?;
            }
        }
        Ok(())
    }

    /// C3's read and route of one claimed message.
    fn read_and_route(&mut self, w: &Work) -> Result<Routed, Error> {
        let max = self.s.message_bytes_max;
        let bytes = match self.po.fs.read_all(Step::C3Read, &w.claimed.file, max) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                return Ok(Routed::Park(ParkReason::MessageTooLarge { limit: max }))
            }
            // The message does not fit this worker's memory (RLIMIT_AS): its fault, not the
            // disk's. As on any other allocation failure, the worker aborts; its attempt is
            // counted (C2 came first) and after max_attempts it is parked. Handled as a disk
            // fault it was released uncounted and retried forever, holding its batch-mates.
            Err(e) if e.kind() == std::io::ErrorKind::OutOfMemory => {
                eprintln!(
                    "{}: out of memory reading {} ({e}); aborting, as on any allocation failure",
                    w.claimed.id,
                    Step::C3Read.label()
                );
                std::process::abort()
            }
            Err(e) => return Err(e.into()),
        };
        Ok(self.route.route(&w.claimed.id, &w.claimed.meta, &bytes))
    }
}

/// C4 for the routed messages of a batch: their plan records, in batch order, written as
/// few plan files as fit [`PLAN_BYTES_MAX`] (almost always one), each named after its first
/// message. Returns each plan's owner and the indices of the messages it names. A message
/// named by a plan in place is committed.
fn write_plans(po: &Postoffice, batch: &mut [Work]) -> Result<Vec<(String, Vec<usize>)>, Error> {
    let mut plans = Vec::new();
    let mut text = String::new();
    let mut named: Vec<usize> = Vec::new();
    for i in 0..batch.len() {
        let w = &batch[i];
        let record = match &w.plan {
            Plan::Route { channels } => commit::plan_text(&w.claimed.id, channels),
            Plan::Handoff { .. } => commit::handoff_plan_text(&w.claimed.id, w.claimed.meta.ino),
            Plan::Defer(_) => continue,
        };
        assert!(
            record.len() <= PLAN_RECORD_BYTES_MAX,
            "plan record of {} bytes",
            record.len()
        );
        if text.len() + record.len() > PLAN_BYTES_MAX {
            plans.push(write_plan(po, batch, &mut text, &mut named)?);
        }
        text += &record;
        named.push(i);
    }
    if !named.is_empty() {
        plans.push(write_plan(po, batch, &mut text, &mut named)?);
    }
    Ok(plans)
}

/// One plan of [`write_plans`]: `text` names the messages `named`, and is taken with them.
fn write_plan(
    po: &Postoffice,
    batch: &mut [Work],
    text: &mut String,
    named: &mut Vec<usize>,
) -> Result<(String, Vec<usize>), Error> {
    let owner = batch[named[0]].claimed.id.clone();
    commit::plan(po, &owner, text)?;
    for &j in named.iter() {
        batch[j].advance(State::Committed);
    }
    text.clear();
    Ok((owner, std::mem::take(named)))
}

/// Releases every message of the batch that is not past its commit point (recovery rolls the
/// committed ones forward), and gives back `e`.
///
/// Each is released while its lock is still held, last claimed first. When the fault was
/// running out of descriptors, the last one gives up its file first, so that releasing has a
/// descriptor to work with (EMFILE: found with a low open-files limit, where every release
/// failed and the batch was left claimed in work/ for the next pass's recovery, charged an
/// attempt).
///
/// A message whose release fails is kept `held`, its lock with it (see [`pass`]); only the
/// spare one of a process out of descriptors, whose lock is already given up, is left for
/// recovery, which counts it as a dead router's.
fn release_uncommitted(
    po: &Postoffice,
    mut batch: Vec<Work>,
    e: Error,
    held: &mut Vec<Unreleased>,
) -> Error {
    let out_of_files = matches!(&e, Error::Disk(x) if super::seam::is_out_of_files(x));
    let spare = batch.pop_if(|_| out_of_files).map(|w| {
        drop(w.claimed.file);
        (w.claimed.id, w.plan, w.state)
    });
    while let Some(w) = batch.pop() {
        if release(po, &w.claimed.id, &w.plan, w.state).is_err() {
            let channels = staged_channels(&w.plan).to_vec();
            held.push(Unreleased::new(w.claimed.id, channels, w.claimed.file));
        }
    }
    if let Some((id, plan, state)) = spare {
        let _ = release(po, &id, &plan, state);
    }
    e
}

/// The channels whose outputs a message may have staged.
fn staged_channels(plan: &Plan) -> &[String] {
    match plan {
        Plan::Route { channels } => channels,
        Plan::Handoff { .. } | Plan::Defer(_) => &[],
    }
}

/// Undoes an uncommitted message: the same roll-back recovery does, without counting an
/// attempt (the fault was the disk's). What may have been staged is what the plan lists. A
/// message past its commit point is left for recovery to roll forward.
fn release(po: &Postoffice, id: &str, plan: &Plan, state: State) -> Result<(), Error> {
    if state >= State::Committed {
        return Ok(());
    }
    commit::roll_back(po, id, staged_channels(plan))
}
