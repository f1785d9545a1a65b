//! Fan-out commit: hand each channel its copy of a message, all or nothing (G3, seed 002).
//!
//! 1. stage: write each channel's output as `work/<id>@<channel>`;
//! 2. sync (group commit: one `syncfs` for the whole batch);
//! 3. plan: write `work/<id>#plan.tmp`, rename it to `work/<id>#plan`. **The plan's
//!    appearance is the commit point**: before it, recovery rolls the message back and routes
//!    it again from scratch; after it, recovery rolls forward;
//! 4. sync;
//! 5. publish: rename each staged file to `queue/<channel>/<id>` without replacing;
//! 6. sync;
//! 7. remove the message and its counter; sync; remove the plan.
//!
//! Every step can be repeated: a publish whose source is gone was done; a removal of a name
//! that is not there was done. Recovery (recover.rs) runs the same steps from the disk.

use std::io;

use crate::fs::{self, Renamed};
use crate::postoffice::{names, Postoffice};

/// Step 1: stage one output (durable after the next sync).
pub fn stage(po: &Postoffice, id: &str, channel: &str, bytes: &[u8]) -> io::Result<()> {
    let name = names::staged(id, channel);
    let f = fs::create_excl("commit.stage.create", &po.work, &name)?;
    fs::write_all("commit.stage.write", &f, bytes)
}

/// Step 3: write the plan and rename it into place (the commit point).
pub fn plan<C: AsRef<str>>(
    po: &Postoffice,
    id: &str,
    channels: impl IntoIterator<Item = C>,
) -> io::Result<()> {
    let mut text = format!("id {id}\n");
    for c in channels {
        text += &format!("channel {}\n", c.as_ref());
    }
    text += "end\n";
    let tmp = names::plan_tmp(id);
    let f = match fs::create_excl("commit.plan.create", &po.work, &tmp) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // Left by a router that died writing it (recovery removes these; be sure).
            fs::unlink("commit.plan.clear", &po.work, &tmp)?;
            fs::create_excl("commit.plan.create", &po.work, &tmp)?
        }
        r => r?,
    };
    fs::write_all("commit.plan.write", &f, text.as_bytes())?;
    fs::rename_replace(
        "commit.plan.rename",
        &po.work,
        &tmp,
        &po.work,
        &names::plan(id),
    )
}

/// Step 5: publish every staged output of `id`. Idempotent.
pub fn publish<C: AsRef<str>>(
    po: &Postoffice,
    id: &str,
    channels: impl IntoIterator<Item = C>,
) -> io::Result<()> {
    for c in channels {
        let c = c.as_ref();
        let dir = po.channel_dir(c)?;
        match fs::rename_noreplace("commit.publish", &po.work, &names::staged(id, c), &dir, id)? {
            Renamed::Done | Renamed::SourceGone => {}
            Renamed::DestinationExists => {
                // Only possible if an id was routed twice; G1 says it cannot be. Leave both.
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("queue/{c}/{id} exists while staged"),
                ));
            }
        }
    }
    Ok(())
}

/// Step 7a: the message and its counter are no longer needed.
pub fn remove_message(po: &Postoffice, id: &str) -> io::Result<()> {
    fs::unlink("commit.message.unlink", &po.work, id)?;
    fs::unlink("commit.attempts.unlink", &po.work, &names::attempts(id))?;
    Ok(())
}

/// Step 7b (after a sync): the plan goes last; with it, every trace of `id` in work/.
pub fn remove_plan(po: &Postoffice, id: &str) -> io::Result<()> {
    fs::unlink("commit.plan.unlink", &po.work, &names::plan(id)).map(|_| ())
}

/// Rolls `id` back before its commit point: its staged outputs (`channels`), a half-written
/// plan and reason are removed, and the message goes back to `router/<id>` to be routed again
/// from scratch. Used by recovery (a dead router) and by release (a full disk). Idempotent.
pub fn roll_back<C: AsRef<str>>(
    po: &Postoffice,
    id: &str,
    channels: impl IntoIterator<Item = C>,
) -> io::Result<()> {
    for c in channels {
        fs::unlink(
            "rollback.staged.unlink",
            &po.work,
            &names::staged(id, c.as_ref()),
        )?;
    }
    fs::unlink("rollback.plan-tmp.unlink", &po.work, &names::plan_tmp(id))?;
    fs::unlink("rollback.reason.unlink", &po.work, &names::reason(id))?;
    match fs::rename_noreplace("rollback.rename", &po.work, id, &po.router, id)? {
        Renamed::Done | Renamed::SourceGone => {}
        Renamed::DestinationExists => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("router/{id} and work/{id} both exist"),
            ));
        }
    }
    fs::fsync_dir("rollback.fsync-router", &po.router)
}
