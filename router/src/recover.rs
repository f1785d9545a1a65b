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
//! Every action is idempotent, so a crash during recovery is recovered by the next one.
//! Liveness is "can I take the lock?", never a pid or an age.

use std::collections::BTreeSet;
use std::io;

use crate::commit;
use crate::fs::{self, Renamed};
use crate::postoffice::{is_id, names, Postoffice};

/// What recovery did, for the log and the tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub rolled_forward: usize,
    pub rolled_back: usize,
    pub cleaned: usize,
    pub busy: usize,
}

pub fn recover_all(po: &Postoffice) -> io::Result<Recovered> {
    let work = fs::list(&po.work)?;
    let ids: BTreeSet<&str> = work
        .iter()
        .map(|n| names::owner(n))
        .filter(|i| is_id(i))
        .collect();
    let mut r = Recovered::default();
    for id in ids {
        recover_one(po, id, &work, &mut r)?;
    }
    Ok(r)
}

fn recover_one(po: &Postoffice, id: &str, work: &[String], r: &mut Recovered) -> io::Result<()> {
    // Hold the message's lock while we work, so two recoverers never act on one id at once.
    let msg = fs::open_read("recover.open", &po.work, id)?;
    if let Some(f) = &msg {
        if !fs::try_lock("recover.lock", f)? {
            r.busy += 1;
            return Ok(());
        }
    }
    let has_plan = fs::exists(&po.work, &names::plan(id))?;
    if has_plan {
        let channels = commit::staged_channels(id, work);
        commit::publish(po, id, &channels)?;
        fs::syncfs("recover.sync.publish", &po.work)?;
        commit::remove_message(po, id)?;
        fs::syncfs("recover.sync.remove", &po.work)?;
        commit::remove_plan(po, id)?;
        fs::unlink("recover.plan-tmp.unlink", &po.work, &names::plan_tmp(id))?;
        r.rolled_forward += 1;
        return Ok(());
    }
    for c in commit::staged_channels(id, work) {
        fs::unlink("recover.staged.unlink", &po.work, &names::staged(id, &c))?;
    }
    fs::unlink("recover.plan-tmp.unlink", &po.work, &names::plan_tmp(id))?;
    fs::unlink("recover.reason.unlink", &po.work, &names::reason(id))?;
    if msg.is_some() {
        match fs::rename_noreplace("recover.rollback", &po.work, id, &po.router, id)? {
            Renamed::Done | Renamed::SourceGone => {}
            Renamed::DestinationExists => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("router/{id} and work/{id} both exist"),
                ));
            }
        }
        fs::fsync_dir("recover.fsync-router", &po.router)?;
        r.rolled_back += 1;
    } else if fs::exists(&po.deferred, id)? {
        fs::unlink("recover.attempts.unlink", &po.work, &names::attempts(id))?;
        r.cleaned += 1;
    }
    Ok(())
}
