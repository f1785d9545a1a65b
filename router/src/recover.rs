//! Recovery: finish or undo whatever a dead router left in `work/` (G3, G6).
//!
//! For each id in work/ whose message is not locked by a live router:
//! - a plan exists: roll forward. Publish every staged output still there, remove the
//!   message and counter, sync, remove the plan.
//! - no plan: roll back. Remove staged outputs and temporary files, and rename the message
//!   back to `router/<id>` (its attempt counter stays: that is how a message that kills
//!   routers is parked after `max_attempts`, seed 004).
//! - no message and no plan: the message was parked or routed and only its counter is left;
//!   remove the counter if the message is in deferred/.
//!
//! Recovery takes the locks of all abandoned messages before it lists work/ for their files,
//! and rolls forward the channels the plan names, not those a listing shows.
//!
//! Every action is idempotent, so a crash during recovery is recovered by the next one.
//! Liveness is "can I take the lock?", never a pid or an age.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use crate::commit;
use crate::fs;
use crate::postoffice::{is_id, names, Postoffice};

/// What recovery did, for the log and the tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Staged outputs with neither message nor plan: left alone for a person to look at.
    pub anomalies: usize,
    pub rolled_forward: usize,
    pub rolled_back: usize,
    pub cleaned: usize,
    pub busy: usize,
}

pub fn recover_all(po: &Postoffice) -> io::Result<Recovered> {
    let mut r = Recovered::default();
    // 1. Take the lock of every abandoned message first.
    let first = fs::list(&po.work)?;
    let ids: BTreeSet<String> = first
        .iter()
        .map(|n| names::owner(n))
        .filter(|i| is_id(i))
        .map(str::to_string)
        .collect();
    let mut held = Vec::new();
    let mut orphans = Vec::new();
    for id in ids {
        match fs::open_read("recover.open", &po.work, &id)? {
            Some(f) => {
                if fs::try_lock("recover.lock", &f)? {
                    held.push((id, f));
                } else {
                    r.busy += 1;
                }
            }
            None => orphans.push(id),
        }
    }
    // 2. Only then list work/ again: a router that died before we took its lock can have
    //    created files after the first listing, and none can be created now. (Found by the
    //    soak: a roll-forward from a stale listing missed a staged output, and a later pass
    //    deleted it.)
    let work = fs::list(&po.work)?;
    let staged = staged_by_owner(&work);
    let none = Vec::new();
    for (id, _lock) in &held {
        recover_locked(po, id, staged.get(id.as_str()).unwrap_or(&none), &mut r)?;
    }
    // 3. Ids with no message: a router past its commit point (live or dead) or a parked one.
    for id in &orphans {
        recover_orphan(po, id, staged.get(id.as_str()).unwrap_or(&none), &mut r)?;
    }
    Ok(r)
}

/// The staged outputs in a listing of work/, by the id they belong to: `<id>@<channel>`.
fn staged_by_owner(work: &[String]) -> BTreeMap<&str, Vec<&str>> {
    let mut m: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for name in work {
        if let Some((id, channel)) = name.split_once('@') {
            m.entry(id).or_default().push(channel);
        }
    }
    m
}

/// The channels a plan names: the authority for rolling forward.
fn plan_channels(po: &Postoffice, id: &str) -> io::Result<Option<Vec<String>>> {
    let Some(f) = fs::open_read("recover.plan.open", &po.work, &names::plan(id))? else {
        return Ok(None);
    };
    let text = fs::read_all("recover.plan.read", &f, 1 << 20)?;
    let text = String::from_utf8_lossy(&text);
    Ok(Some(
        text.lines()
            .filter_map(|l| l.strip_prefix("channel "))
            .map(str::to_string)
            .collect(),
    ))
}

fn roll_forward(
    po: &Postoffice,
    id: &str,
    channels: &[String],
    r: &mut Recovered,
) -> io::Result<()> {
    commit::publish(po, id, channels)?;
    fs::syncfs("recover.sync.publish", &po.work)?;
    commit::remove_message(po, id)?;
    fs::syncfs("recover.sync.remove", &po.work)?;
    commit::remove_plan(po, id)?;
    fs::unlink("recover.plan-tmp.unlink", &po.work, &names::plan_tmp(id))?;
    r.rolled_forward += 1;
    Ok(())
}

/// An id whose message we hold locked: its router is dead.
fn recover_locked(po: &Postoffice, id: &str, staged: &[&str], r: &mut Recovered) -> io::Result<()> {
    if let Some(channels) = plan_channels(po, id)? {
        return roll_forward(po, id, &channels, r);
    }
    commit::roll_back(po, id, staged)?;
    r.rolled_back += 1;
    Ok(())
}

/// An id with no message in work/. With a plan, its router passed the commit point: finish
/// it (idempotent, safe beside a live router finishing too). Without one, only a counter of
/// a parked message may be removed; anything else is reported, never deleted.
fn recover_orphan(po: &Postoffice, id: &str, staged: &[&str], r: &mut Recovered) -> io::Result<()> {
    if let Some(channels) = plan_channels(po, id)? {
        return roll_forward(po, id, &channels, r);
    }
    if fs::exists(&po.deferred, id)? {
        fs::unlink("recover.attempts.unlink", &po.work, &names::attempts(id))?;
        r.cleaned += 1;
    } else if !staged.is_empty() {
        r.anomalies += 1;
    }
    Ok(())
}
