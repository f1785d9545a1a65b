//! Recovery (R1–R4): finish or undo whatever a dead router left in `work/` (G3, G6).
//!
//! - R1: list work/; open and try to lock every `work/<id>` message (locked by another
//!   process: its router is alive, skip it);
//! - R2: list work/ again, now that every router whose files we will touch is known dead (one
//!   that died after the first listing may have created files; none can now);
//! - R3: read every batch plan in work/ (`<first-id>#plan`: one record per message it
//!   commits). Roll forward each message a whole record names, unless a live router holds it:
//!   publish **the channels the record names**, not those a listing shows, then C6 (one
//!   `R3.plan-sync` before the first publish, one `R3.S5` after the last removal), and remove a
//!   plan once every message it names is done. A plan cut short (a power cut before S3) is
//!   read up to its first record that is not whole: nothing of what follows was published.
//!   Then for each message we hold that no whole record names: count the dead router's
//!   attempt in `#attempts` (`R3.count`) and roll back (B1–B3): that is how a message that
//!   kills routers is parked after `max_attempts`;
//! - R4: for each id with no message and no record: remove `#attempts` if `deferred/<id>`
//!   exists; a staged output with neither message nor plan is reported and **never
//!   deleted**.
//!
//! Every action is idempotent, so a crash during recovery is recovered by the next one.
//! Liveness is "can I take the lock?", never a pid or an age.

use std::collections::{BTreeMap, BTreeSet};

use super::attempts;
use super::commit::{self, Planned, Unreleased};
use super::handoff;
use super::layout::Postoffice;
use super::seam::{self, Step};
use super::Error;
use crate::limits::PLAN_BYTES_MAX;
use crate::names::{self, is_id};

/// What recovery did, for the log and the tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Staged outputs with neither message nor plan, or a plan that does not read back
    /// without its message: left alone for a person to look at. `(id, what)`.
    pub anomalies: Vec<(String, String)>,
    pub rolled_forward: usize,
    pub rolled_back: usize,
    pub cleaned: usize,
    pub busy: usize,
    /// Whether the plans were made durable (`R3.plan-sync`, once, before the first
    /// roll-forward).
    pub plans_synced: bool,
}

/// Recovery by a process that then exits: see [`recover_keeping`].
pub fn recover_all(po: &Postoffice) -> Result<Recovered, Error> {
    recover_keeping(po, &mut Vec::new())
}

/// R1–R4. A message whose attempt this recovery counted and could then not roll back (the
/// disk failed) is pushed to `held`, locked, for the caller to roll back later: dropped
/// unlocked, the next recovery would count the same death again, and a disk that fails twice
/// would park an innocent message (found by the spool fuzz target).
pub fn recover_keeping(
    po: &Postoffice,
    held_back: &mut Vec<Unreleased>,
) -> Result<Recovered, Error> {
    let fs = &*po.fs;
    let mut r = Recovered::default();
    // R1: take the lock of every abandoned message first.
    let first = fs.list(Step::R1List, &po.work)?;
    let ids: BTreeSet<String> = first
        .iter()
        .map(|n| names::owner(n))
        .filter(|i| is_id(i))
        .map(str::to_string)
        .collect();
    let mut held = Vec::new();
    let mut orphans = Vec::new();
    for id in ids {
        let f = match fs.open_read(Step::R1Open, &po.work, &id) {
            Ok(Some(f)) => f,
            Ok(None) => {
                orphans.push(id);
                continue;
            }
            Err(e) if seam::is_foreign(&e) => {
                r.anomalies.push((id, NOT_CLAIMED.into()));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if !fs.meta(&f)?.is_plain_file() {
            // A claim is a rename of a file with one name: this was planted.
            r.anomalies.push((id, NOT_CLAIMED.into()));
            continue;
        }
        if fs.try_lock(Step::R1Lock, &f)? {
            // Locked, but is it still the message in work/? Its router may have finished it
            // (C6 unlinked it), released it or parked it (renamed it away) and let go between
            // our open and our lock: we would count a death that did not happen, and after
            // C6 leave that counter in work/ for good (found by the 8-router soak). Checked
            // under the lock: the name must still be this file.
            if !still_named(po, &id, &f)? {
                continue;
            }
            held.push((id, f));
        } else {
            r.busy += 1;
        }
    }
    // R2: only then list work/ again: a router that died before we took its lock can have
    // created files after the first listing, and none can be created now. (Found by the
    // soak: a roll-forward from a stale listing missed a staged output, and a later pass
    // deleted it.)
    let work = fs.list(Step::R2List, &po.work)?;
    let staged = staged_by_owner(&work);
    let none = Vec::new();
    let held_ids: BTreeSet<&str> = held.iter().map(|(id, _)| id.as_str()).collect();
    let present: BTreeSet<&str> = work.iter().map(|n| names::owner(n)).collect();
    // R3: the plans. A message is ours to finish if we hold it, or if its message is gone
    // (its router passed C6; finishing again is idempotent, even beside a live router).
    let plans = read_plans(po, &work, &held_ids, &mut r)?;
    let mut mine = held_ids.clone();
    mine.extend(orphans.iter().map(String::as_str));
    let planned = roll_forward(po, &plans, &mine, &present, &mut r)?;
    // Each message on its own: one whose id is used twice (its plan names a queue file an
    // earlier message of that id still holds) is reported and left, and the others go on.
    // A disk fault stops recovery: it is no message's.
    for (id, lock) in held {
        if planned.contains(&id) {
            continue;
        }
        let channels = staged.get(id.as_str()).unwrap_or(&none);
        let mut counted = false;
        let res = recover_locked(po, &id, channels, &mut r, &mut counted);
        // Only for the disk's fault: an id used twice is reported and left as it is.
        if counted && matches!(&res, Err(Error::Disk(e)) if !seam::is_foreign(e)) {
            let channels = channels.iter().map(|c| c.to_string()).collect();
            held_back.push(Unreleased::new(id.clone(), channels, lock));
        }
        isolate(&id, res, &mut r)?;
    }
    // R4: ids with no message and no plan record: a parked one, or a leftover.
    for id in orphans.iter().filter(|id| !planned.contains(*id)) {
        let res = recover_orphan(po, id, staged.get(id.as_str()).unwrap_or(&none), &mut r);
        isolate(id, res, &mut r)?;
    }
    Ok(r)
}

/// Whether `work/<id>` is still the file `f` (not removed or renamed away since it was opened).
fn still_named(po: &Postoffice, id: &str, f: &seam::File) -> Result<bool, Error> {
    let held = po.fs.meta(f)?;
    if held.links == 0 {
        return Ok(false);
    }
    Ok(match po.fs.open_read(Step::R1Open, &po.work, id) {
        Ok(Some(g)) => po.fs.meta(&g)?.ino == held.ino,
        Ok(None) => false,
        // Replaced by something not the router's: not the message we hold.
        Err(e) if seam::is_foreign(&e) => false,
        Err(e) => return Err(e.into()),
    })
}

const NOT_CLAIMED: &str =
    "work/<id> is not a message a router claimed (a symlink, a hard link or not a regular file); left alone";

/// A message's own fault (an id used twice) or a foreign entry among its files (a symlink
/// planted at its plan's name) becomes an anomaly, and the message is left as it is; a disk
/// fault goes on up.
fn isolate(id: &str, res: Result<(), Error>, r: &mut Recovered) -> Result<(), Error> {
    match res {
        Err(Error::IdReused { place, .. }) => {
            r.anomalies
                .push((id.into(), format!("id used twice: {place} exists already")));
            Ok(())
        }
        Err(Error::Disk(e)) if seam::is_foreign(&e) => {
            r.anomalies.push((
                id.into(),
                format!("a file of this message is not the router's ({e}); left alone"),
            ));
            Ok(())
        }
        other => other,
    }
}

/// The staged outputs in a listing of work/, by the id they belong to: `<id>@<channel>`.
fn staged_by_owner(work: &[String]) -> BTreeMap<&str, Vec<&str>> {
    let mut m: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for name in work {
        if let Some((id, channel)) = name.split_once('@') {
            if is_id(id) && names::is_channel(channel) {
                m.entry(id).or_default().push(channel);
            }
        }
    }
    m
}

/// A batch plan found in work/: its owner (the first message it names) and what it reads
/// back as.
struct PlanFound {
    owner: String,
    file: commit::PlanFile,
}

/// Reads every plan in the listing. A plan that is torn from its first record on (or is not
/// the router's: led by another id, or not a plan) commits nothing: if we hold its owner (its
/// router is dead), it is removed before that message is rolled back; if its owner's message
/// is gone, it is not one a router wrote, and is reported and left alone.
fn read_plans(
    po: &Postoffice,
    work: &[String],
    held: &BTreeSet<&str>,
    r: &mut Recovered,
) -> Result<Vec<PlanFound>, Error> {
    let mut plans = Vec::new();
    for name in work {
        let Some(owner) = name.strip_suffix("#plan").filter(|o| is_id(o)) else {
            continue;
        };
        let Some(f) = po.fs.open_read(Step::R3PlanOpen, &po.work, name)? else {
            continue;
        };
        let text = match po.fs.read_all(Step::R3PlanRead, &f, PLAN_BYTES_MAX) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                r.anomalies.push((owner.into(), format!("work/{name}: over {PLAN_BYTES_MAX} bytes: not a plan the router wrote; left alone")));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let file = commit::parse_plan(owner, &String::from_utf8_lossy(&text));
        if file.records.is_empty() {
            if let Some(e) = &file.torn {
                if held.contains(owner) {
                    // Cut short before S3: nothing was published from it (S3 syncs it before
                    // the first publish, R3.plan-sync before recovery's). No commit point.
                    po.fs.unlink(Step::C7PlanUnlink, &po.work, name)?;
                } else if work.binary_search_by(|n| n.as_str().cmp(owner)).is_err() {
                    r.anomalies
                        .push((owner.into(), format!("work/{name}: {e}")));
                }
                continue;
            }
        }
        plans.push(PlanFound {
            owner: owner.to_string(),
            file,
        });
    }
    Ok(plans)
}

/// R3's roll-forward of every whole record whose message is ours to finish; removes each plan
/// all of whose records are done (a plan torn after its whole records too: nothing after
/// them was published). Returns the ids rolled forward (or left to an id used twice): none
/// of them is rolled back.
///
/// A message is ours to finish if it is `mine` (held by us: its router is dead; or left with
/// no message: its router passed C6), or has no file at all in work/ (not `present`: finished,
/// and finishing again is idempotent).
fn roll_forward(
    po: &Postoffice,
    plans: &[PlanFound],
    mine: &BTreeSet<&str>,
    present: &BTreeSet<&str>,
    r: &mut Recovered,
) -> Result<BTreeSet<String>, Error> {
    let mut named: BTreeMap<&str, usize> = BTreeMap::new();
    for p in plans {
        for (id, _) in &p.file.records {
            *named.entry(id.as_str()).or_default() += 1;
        }
    }
    let mut done = BTreeSet::new();
    let mut finished = Vec::new();
    let mut handed = Vec::new();
    for p in plans {
        let mut whole = true;
        for (id, planned) in &p.file.records {
            if named[id.as_str()] > 1 {
                // Two plans name it: an id used twice. Neither is followed for it.
                r.anomalies.push((
                    id.clone(),
                    format!(
                        "named by more than one plan (work/{}#plan among them); left alone",
                        p.owner
                    ),
                ));
                done.insert(id.clone());
                whole = false;
                continue;
            }
            let mine = mine.contains(id.as_str());
            if !mine && present.contains(id.as_str()) {
                // A live router holds it: the plan is its, and it finishes it.
                whole = false;
                continue;
            }
            // R3.plan-sync: the plan a dead router left may not be durable (it died, or its
            // S3 failed, between C4 and S3). Publishing from it before it is would let a
            // power cut take the plan and keep outputs published: the next recovery would
            // find no plan, roll the message back and route it again, a second copy for
            // every channel already published (found by the spool fuzz target). One sync
            // makes every plan durable: once per recovery.
            if !r.plans_synced {
                po.fs.syncfs(Step::R3PlanSync, &po.work)?;
                r.plans_synced = true;
            }
            done.insert(id.clone());
            match finish(po, id, planned, &mut handed) {
                Ok(()) => r.rolled_forward += usize::from(mine),
                Err(e) => {
                    whole = false;
                    isolate(id, Err(e), r)?;
                }
            }
        }
        if whole {
            finished.push(p.owner.as_str());
        }
    }
    if !finished.is_empty() || !handed.is_empty() {
        po.fs.syncfs(Step::R3S5, &po.work)?;
        handoff::notify(po, &handed);
    }
    for owner in finished {
        commit::remove_plan(po, owner)?;
        po.fs
            .unlink(Step::R3PlanTmpUnlink, &po.work, &names::plan_tmp(owner))?;
    }
    Ok(done)
}

/// C5–C6 of one message from its plan record.
fn finish(
    po: &Postoffice,
    id: &str,
    planned: &Planned,
    handed: &mut Vec<u64>,
) -> Result<(), Error> {
    match planned {
        Planned::Channels(channels) => {
            commit::publish(po, id, channels)?;
            Ok(commit::remove_message(po, id)?)
        }
        Planned::Handoff(_) if po.handoff.is_none() => Err(Error::Disk(std::io::Error::other(
            "a ZMailer-mode plan in a postoffice the router does not run in ZMailer mode; start it with [zmailer] enabled",
        ))),
        Planned::Handoff(ino) => {
            handoff::publish(po, id, *ino)?;
            handoff::remove_counter(po, id)?;
            handed.push(*ino);
            Ok(())
        }
    }
}

/// R3: an id whose message we hold locked, named by no whole plan record: its router died
/// before its commit point. Count the death, roll it back.
fn recover_locked(
    po: &Postoffice,
    id: &str,
    staged: &[&str],
    r: &mut Recovered,
    counted: &mut bool,
) -> Result<(), Error> {
    // R3.count: its router died with it claimed. Before the roll-back, so that no death goes
    // uncounted: a recovery killed between the two counts it again when the next one finds
    // the message still here (one attempt too many, never one too few: seed 004). A counter
    // that is not the router's (a symlink planted there) is left alone; the claim reports it.
    match attempts::count_death(po, id) {
        Ok(_) => *counted = true,
        Err(e) if !attempts::is_not_ours(&e) => return Err(e.into()),
        Err(_) => {}
    }
    commit::roll_back(po, id, staged)?;
    r.rolled_back += 1;
    Ok(())
}

/// R4: an id with no message in work/. With a plan, its router passed the commit point:
/// finish it (idempotent, safe beside a live router finishing too). Without one, only a
/// counter of a parked message may be removed; anything else is reported, never deleted.
fn recover_orphan(
    po: &Postoffice,
    id: &str,
    staged: &[&str],
    r: &mut Recovered,
) -> Result<(), Error> {
    if po.handoff.is_some() && po.fs.exists(&po.work, &names::control(id))? {
        r.anomalies.push((
            id.into(),
            format!("work/{id}#control staged with neither message nor plan"),
        ));
    }
    if po.fs.exists(&po.deferred, id)? {
        // The message's rename is a deferral's commit point, and its reason was durable before
        // it (S2); a power cut may still keep the message's rename and lose the reason's (no
        // sync between the two: the weakest file-system model allows it, found by the
        // power-loss tests). Finish it.
        if po.fs.exists(&po.work, &names::reason(id))? {
            po.fs.rename(
                Step::R4ReasonRename,
                &po.work,
                &names::reason(id),
                &po.deferred,
                &names::deferred_reason(id),
                seam::Replace::Yes,
            )?;
        }
        po.fs
            .unlink(Step::R4AttemptsUnlink, &po.work, &names::attempts(id))?;
        r.cleaned += 1;
    } else if !staged.is_empty() && !po.fs.exists(&po.router, id)? {
        // (With the message back in router/, these are its rolled-back attempt's, whose
        // unlinks a power cut lost: its next routing replaces them, C3.stage-clear.)
        r.anomalies.push((
            id.into(),
            format!(
                "work/{id}@{} staged with neither message nor plan",
                staged.join(",@")
            ),
        ));
    }
    Ok(())
}
