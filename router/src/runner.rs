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

use crate::claim::{self, Claim, Claimed};
use crate::defer::{self, Reason};
use crate::envelope::{self, Rcpt};
use crate::postoffice::{is_id, Postoffice};
use crate::{attempts, commit, fs, recover, route};

/// The arena that routing one envelope address needs: an address is at most a few hundred
/// bytes (local part 64, domain 255), so 64 KiB is far more than enough; it is allocated once
/// per batch and reset for every address.
const ROUTE_ARENA_BYTES: usize = 64 << 10;

/// Settings the runner needs (the rest of router.toml comes with the routing issue).
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_attempts: u64,
    pub max_message_bytes: usize,
    pub local_domains: Vec<String>,
    pub batch: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_attempts: 3,
            max_message_bytes: 10_240_000,
            local_domains: Vec::new(),
            batch: 64,
        }
    }
}

/// What happened to each message of a pass, for the log and the tests.
#[derive(Debug, Default, Clone)]
pub struct Pass {
    pub routed: Vec<(String, Vec<String>)>,
    pub deferred: Vec<(String, String)>,
    pub released: Vec<String>,
    pub lost_races: usize,
    pub recovered: recover::Recovered,
    pub bad_names: Vec<String>,
}

enum Plan {
    Route { outputs: Vec<(String, Vec<u8>)> },
    Defer(Reason),
}

struct Work {
    claimed: Claimed,
    plan: Plan,
    committed: bool,
}

/// Recovers, then routes everything in router/ once. `Err` only for a spool fault (disk full,
/// I/O); messages are never lost either way.
pub fn run_once(po: &Postoffice, s: &Settings) -> io::Result<Pass> {
    let mut pass = Pass {
        recovered: recover::recover_all(po)?,
        ..Pass::default()
    };
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
        let before = pass.routed.len() + pass.deferred.len();
        // A message with an attempt on record was in a router that died. It is routed alone,
        // so that if it kills this router too, only its own count goes up: its batch-mates of
        // the first crash are counted once, then routed on their own.
        let work = fs::list(&po.work)?;
        let (suspects, clean): (Vec<String>, Vec<String>) = ids.into_iter().partition(|id| {
            work.binary_search(&crate::postoffice::names::attempts(id))
                .is_ok()
        });
        for id in &suspects {
            route_batch(po, s, std::slice::from_ref(id), true, &mut pass)?;
        }
        for chunk in clean.chunks(s.batch.max(1)) {
            route_chunk(po, s, chunk, &mut pass)?;
        }
        if pass.routed.len() + pass.deferred.len() == before {
            // Everything left is claimed by other routers.
            return Ok(pass);
        }
    }
}

/// Routes a batch; if the disk is too full for all of it, routes its halves, down to single
/// messages, before giving up: a batch that needs more space than is free must not stop the
/// messages that would fit (found on a real 256 KiB tmpfs: the same batch failed forever).
/// The recursion is at most log2(batch) deep.
fn route_chunk(po: &Postoffice, s: &Settings, ids: &[String], pass: &mut Pass) -> io::Result<()> {
    // These ids had no counter when work/ was listed; one that gets one since (another router
    // claimed it and died) is found by the next pass's listing.
    match route_batch(po, s, ids, false, pass) {
        Err(e) if fs::is_disk_full(&e) && ids.len() > 1 => {
            let (a, b) = ids.split_at(ids.len() / 2);
            route_chunk(po, s, a, pass)?;
            route_chunk(po, s, b, pass)
        }
        r => r,
    }
}

fn route_batch(
    po: &Postoffice,
    s: &Settings,
    ids: &[String],
    may_have_counter: bool,
    pass: &mut Pass,
) -> io::Result<()> {
    // Claim, and count the attempt before anything is parsed.
    let mut batch: Vec<Work> = Vec::new();
    for id in ids {
        let c = match claim::claim(po, id)? {
            Claim::Won(c) => c,
            Claim::Lost | Claim::Conflict => {
                pass.lost_races += 1;
                continue;
            }
        };
        let made = if may_have_counter {
            attempts::count(po, id)?
        } else {
            0
        };
        let plan = if made >= s.max_attempts {
            let mut r = Reason::new("attempts-exhausted", format!("{made} attempts to route this message did not finish (the router crashed or was killed)"));
            r.limit = Some(s.max_attempts as usize);
            r.attempts = made;
            Plan::Defer(r)
        } else {
            attempts::bump(po, id)?;
            Plan::Route {
                outputs: Vec::new(),
            }
        };
        batch.push(Work {
            claimed: c,
            plan,
            committed: false,
        });
    }
    if batch.is_empty() {
        return Ok(());
    }
    // One arena for the whole batch, allocated once and reset for each address.
    let mut arena = mailaddr::Arena::new(ROUTE_ARENA_BYTES);
    let r = (|| {
        fs::syncfs("batch.sync.claims", &po.work)?;
        // Read, parse, route, stage.
        for w in &mut batch {
            if let Plan::Route { .. } = w.plan {
                w.plan = plan_message(w, s, &mut arena)?;
            }
            match &w.plan {
                Plan::Route { outputs } => {
                    for (ch, bytes) in outputs {
                        commit::stage(po, &w.claimed.id, ch, bytes)?;
                    }
                }
                Plan::Defer(reason) => defer::stage_reason(po, &w.claimed.id, reason)?,
            }
        }
        fs::syncfs("batch.sync.staged", &po.work)?;
        // Commit points: a plan, or the move into deferred/.
        for w in &mut batch {
            match &w.plan {
                Plan::Route { outputs } => commit::plan(po, &w.claimed.id, channels(outputs))?,
                Plan::Defer(_) => defer::commit(po, &w.claimed.id)?,
            }
            w.committed = true;
        }
        fs::syncfs("batch.sync.plans", &po.work)?;
        for w in &batch {
            if let Plan::Route { outputs } = &w.plan {
                commit::publish(po, &w.claimed.id, channels(outputs))?;
            }
        }
        fs::syncfs("batch.sync.published", &po.work)?;
        for w in &batch {
            match &w.plan {
                Plan::Route { .. } => commit::remove_message(po, &w.claimed.id)?,
                Plan::Defer(_) => defer::cleanup(po, &w.claimed.id)?,
            }
        }
        fs::syncfs("batch.sync.removed", &po.work)?;
        for w in &batch {
            if let Plan::Route { .. } = &w.plan {
                commit::remove_plan(po, &w.claimed.id)?;
            }
        }
        Ok(())
    })();
    match r {
        Ok(()) => {
            for w in batch {
                match w.plan {
                    Plan::Route { outputs } => pass
                        .routed
                        .push((w.claimed.id, outputs.into_iter().map(|(c, _)| c).collect())),
                    Plan::Defer(reason) => pass.deferred.push((w.claimed.id, reason.kind)),
                }
            }
            Ok(())
        }
        Err(e) => {
            // Release what is not committed; leave the rest for recovery.
            for w in &batch {
                if !w.committed {
                    let id = &w.claimed.id;
                    if release(po, w).is_ok() {
                        pass.released.push(id.clone());
                    }
                }
            }
            Err(e)
        }
    }
}

/// Undoes an uncommitted message: the attempt taken back (the fault was the disk's), then
/// the same roll-back recovery does. What may have been staged is what the plan lists.
fn release(po: &Postoffice, w: &Work) -> io::Result<()> {
    let id = &w.claimed.id;
    match &w.plan {
        Plan::Route { outputs } => {
            attempts::unbump(po, id)?;
            commit::roll_back(po, id, channels(outputs))
        }
        Plan::Defer(_) => commit::roll_back(po, id, std::iter::empty::<&str>()),
    }
}

/// The channel names of a message's outputs.
fn channels(outputs: &[(String, Vec<u8>)]) -> impl Iterator<Item = &str> {
    outputs.iter().map(|(c, _)| c.as_str())
}

/// Reads and routes one claimed message: its outputs, or why it must be parked.
fn plan_message(w: &Work, s: &Settings, arena: &mut mailaddr::Arena) -> io::Result<Plan> {
    let id = &w.claimed.id;
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
            return Ok(Plan::Defer(r));
        }
        Err(e) => return Err(e),
    };
    let env = match envelope::parse(&bytes) {
        Ok(e) => e,
        Err(e) => {
            let mut r = Reason::new(e.kind(), e.to_string());
            r.offset = e.offset();
            r.limit = e.limit();
            return Ok(Plan::Defer(r));
        }
    };
    if env.to.is_empty() {
        // Recipients from the headers come with the routing issue; until then, park.
        return Ok(Plan::Defer(Reason::new(
            "malformed-envelope",
            "no `to` line (recipients from headers are not supported yet)",
        )));
    }
    let mut by_channel: Vec<(&'static str, Vec<Rcpt>)> = Vec::new();
    for to in &env.to {
        let r = route::route(to, &s.local_domains, arena);
        let rcpt = Rcpt {
            host: r.host,
            address: (*to).to_string(),
            error: r.error,
        };
        match by_channel.iter_mut().find(|(c, _)| *c == r.channel) {
            Some((_, v)) => v.push(rcpt),
            None => by_channel.push((r.channel, vec![rcpt])),
        }
    }
    let message = &bytes[env.message_offset..];
    let outputs = by_channel
        .into_iter()
        .map(|(ch, rcpts)| {
            let mut out = Vec::with_capacity(message.len() + 256);
            envelope::write_output(&mut out, id, ch, &env, &rcpts, message);
            (ch.to_string(), out)
        })
        .collect();
    Ok(Plan::Route { outputs })
}
