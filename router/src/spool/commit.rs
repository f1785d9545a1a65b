//! Fan-out commit: hand each channel its copy of a message, all or nothing (G3, seed 002).
//!
//! - C3 [`stage`]: write each channel's output as `work/<id>@<channel>`;
//! - S2: sync (group commit: one `syncfs` for the whole batch);
//! - C4 [`plan`]: write `work/<id>#plan.tmp`, rename it to `work/<id>#plan`. **The plan's
//!   appearance is the commit point**: before it, recovery rolls the message back and routes
//!   it again from scratch; after it, recovery rolls forward;
//! - S3: sync;
//! - C5 [`publish`]: rename each staged file to `queue/<channel>/<id>` without replacing;
//! - C6 [`remove_message`]: remove the message and its counter; S5: sync;
//! - C7 [`remove_plan`]: remove the plan.
//!
//! Every step can be repeated: a publish whose source is gone was done; a removal of a name
//! that is not there was done. Recovery (recover.rs) runs the same steps from the disk.
//! [`roll_back`] (B1–B3) undoes a message before its commit point.

use std::io;

use super::layout::Postoffice;
use super::seam::{File, Renamed, Replace, Step};
use super::Error;
use crate::names;

/// C3: stage one output (durable after the next sync).
///
/// A staged file of that name already there is a leftover of this message's own earlier
/// attempt, rolled back with its unlinks lost to a power cut while the rename back to
/// `router/` was kept (no sync between them; found by the power-loss tests): the caller holds
/// the message's claim, so no other router can be staging it. It is replaced.
///
/// The channel's queue directory is made first (`C5.mkdir`, here rather than at publishing):
/// publishing must never need a new inode. Made at C5, a batch that filled the inode table
/// with staged outputs and plans past their commit point could never publish them into a
/// channel's first directory, and nothing would ever free an inode (found with a 28-inode
/// tmpfs once the claim stopped taking an inode for a counter).
pub fn stage(po: &Postoffice, id: &str, channel: &str, bytes: &[u8]) -> io::Result<()> {
    po.channel_dir(channel)?;
    let name = names::staged(id, channel);
    let f = create_own(po, Step::C3StageCreate, Step::C3StageClear, &name)?;
    po.fs.write_all(Step::C3StageWrite, &f, bytes)
}

/// Creates `work/<name>`, a file of the message the caller has claimed: one already there is
/// a leftover of that message's own earlier attempt (no other router can be writing it), so it
/// is removed (`clear`) and the file made again (`create`).
pub(super) fn create_own(
    po: &Postoffice,
    create: Step,
    clear: Step,
    name: &str,
) -> io::Result<File> {
    match po.fs.create_excl(create, &po.work, name) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            po.fs.unlink(clear, &po.work, name)?;
            po.fs.create_excl(create, &po.work, name)
        }
        r => r,
    }
}

/// What a plan commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// The router's own format: these channels' staged outputs.
    Channels(Vec<String>),
    /// ZMailer mode: the message and its control file, named by this inode number.
    Handoff(u64),
}

/// ZMailer mode's plan text: `id <id>`, `handoff <ino>`, `end`.
pub fn handoff_plan_text(id: &str, ino: u64) -> String {
    assert!(names::is_id(id), "plan for a bad id {id:?}");
    format!("id {id}\nhandoff {ino}\nend\n")
}

/// The text of a plan: `id <id>`, one `channel <name>` per output, `end`.
pub fn plan_text<C: AsRef<str>>(id: &str, channels: impl IntoIterator<Item = C>) -> String {
    assert!(names::is_id(id), "plan for a bad id {id:?}");
    let mut text = format!("id {id}\n");
    for c in channels {
        let c = c.as_ref();
        // A plan line is a channel name: no line end can split it (plan framing).
        assert!(names::is_channel(c), "plan names a bad channel {c:?}");
        text += &format!("channel {c}\n");
    }
    text += "end\n";
    text
}

/// Why a plan read back from work/ is not a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the plan does not start with `id {0}`")]
    WrongId(String),
    #[error("the plan has a line that is not `channel <name>`: {0:?}")]
    BadLine(String),
    #[error("the plan has no `end` line (cut short)")]
    NoEnd,
}

/// Reads a plan's text back: the channels it names, or the handoff. Strict: a plan that does
/// not say its own id first, names anything but channels (or one handoff alone), or lacks
/// its `end` record is no plan.
pub fn parse_plan(id: &str, text: &str) -> Result<Planned, PlanError> {
    let mut lines = text.lines();
    if lines.next() != Some(&format!("id {id}")) {
        return Err(PlanError::WrongId(id.into()));
    }
    let mut channels = Vec::new();
    let mut handoff = None;
    for line in lines {
        if line == "end" {
            return Ok(match handoff {
                Some(ino) => Planned::Handoff(ino),
                None => Planned::Channels(channels),
            });
        }
        if let Some(ino) = line.strip_prefix("handoff ") {
            match ino.parse() {
                Ok(ino) if handoff.is_none() && channels.is_empty() => handoff = Some(ino),
                _ => return Err(PlanError::BadLine(line.into())),
            }
            continue;
        }
        match line.strip_prefix("channel ") {
            Some(c) if names::is_channel(c) && handoff.is_none() => channels.push(c.to_string()),
            _ => return Err(PlanError::BadLine(line.into())),
        }
    }
    Err(PlanError::NoEnd)
}

/// C4: write the plan and rename it into place (the commit point).
pub fn plan<C: AsRef<str>>(
    po: &Postoffice,
    id: &str,
    channels: impl IntoIterator<Item = C>,
) -> io::Result<()> {
    write_plan(po, id, &plan_text(id, channels))
}

/// C4 in ZMailer mode.
pub fn plan_handoff(po: &Postoffice, id: &str, ino: u64) -> io::Result<()> {
    write_plan(po, id, &handoff_plan_text(id, ino))
}

fn write_plan(po: &Postoffice, id: &str, text: &str) -> io::Result<()> {
    let tmp = names::plan_tmp(id);
    // A `#plan.tmp` there was left by a router that died writing it (recovery removes these;
    // be sure).
    let f = create_own(po, Step::C4PlanCreate, Step::C4PlanClear, &tmp)?;
    po.fs.write_all(Step::C4PlanWrite, &f, text.as_bytes())?;
    po.fs.rename(
        Step::C4PlanRename,
        &po.work,
        &tmp,
        &po.work,
        &names::plan(id),
        Replace::Yes,
    )
}

/// C5: publish every staged output of `id`. Idempotent.
pub fn publish<C: AsRef<str>>(
    po: &Postoffice,
    id: &str,
    channels: impl IntoIterator<Item = C>,
) -> Result<(), Error> {
    for c in channels {
        let c = c.as_ref();
        let dir = po.channel_dir(c)?;
        match po
            .fs
            .rename_noreplace(Step::C5Publish, &po.work, &names::staged(id, c), &dir, id)?
        {
            Renamed::Done | Renamed::SourceGone => {}
            Renamed::DestinationExists => {
                return Err(Error::IdReused {
                    id: id.into(),
                    place: format!("queue/{c}/{id}"),
                })
            }
        }
    }
    Ok(())
}

/// C6: the message and its counter are no longer needed.
pub fn remove_message(po: &Postoffice, id: &str) -> io::Result<()> {
    po.fs.unlink(Step::C6MessageUnlink, &po.work, id)?;
    po.fs
        .unlink(Step::C6AttemptsUnlink, &po.work, &names::attempts(id))?;
    Ok(())
}

/// C7 (after S5): the plan goes last; with it, every trace of `id` in work/.
pub fn remove_plan(po: &Postoffice, id: &str) -> io::Result<()> {
    po.fs
        .unlink(Step::C7PlanUnlink, &po.work, &names::plan(id))
        .map(|_| ())
}

/// A claimed message that could not be rolled back (the disk failed under the roll-back), still
/// locked by this process, which keeps it and rolls it back first at its next pass
/// (`batch::pass`). Left unlocked, another router's recovery would take its router for dead
/// and count an attempt against it; if this process dies, the lock goes and that is right.
#[derive(Debug)]
pub struct Unreleased {
    id: String,
    channels: Vec<String>,
    /// The claim's lock.
    _file: File,
}

impl Unreleased {
    pub(super) fn new(id: String, channels: Vec<String>, file: File) -> Unreleased {
        Unreleased {
            id,
            channels,
            _file: file,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// B1–B3, still holding the lock.
    pub(super) fn roll_back(&self, po: &Postoffice) -> Result<(), Error> {
        roll_back(po, &self.id, &self.channels)
    }
}

/// B1–B3: rolls `id` back before its commit point: its staged outputs (`channels`), a
/// half-written plan and reason, and a reason a cut deferral left in deferred/ are removed
/// (B1), and the message goes back to `router/<id>`
/// (B2, B3) to be routed again from scratch. Used by recovery (a dead router) and by release
/// (a full disk). Idempotent.
pub fn roll_back<C: AsRef<str>>(
    po: &Postoffice,
    id: &str,
    channels: impl IntoIterator<Item = C>,
) -> Result<(), Error> {
    let mut in_work = false;
    for c in channels {
        in_work |= po.fs.unlink(
            Step::B1StagedUnlink,
            &po.work,
            &names::staged(id, c.as_ref()),
        )?;
    }
    if po.handoff.is_some() {
        in_work |= po
            .fs
            .unlink(Step::B1ControlUnlink, &po.work, &names::control(id))?;
    }
    in_work |= po
        .fs
        .unlink(Step::B1PlanTmpUnlink, &po.work, &names::plan_tmp(id))?;
    in_work |= po
        .fs
        .unlink(Step::B1ReasonUnlink, &po.work, &names::reason(id))?;
    // A deferral cut between its two renames (C4) left its reason in deferred/ without the
    // message: the deferral never happened, and the reason is this message's to take back
    // (no one else parks this id while we hold it). Left there, it would outlive the message's
    // routing as a stray file (found by the spool fuzz target).
    let mut in_deferred = false;
    if !po.fs.exists(&po.deferred, id)? {
        in_deferred = po.fs.unlink(
            Step::B1DeferredReasonUnlink,
            &po.deferred,
            &names::deferred_reason(id),
        )?;
    }
    // B1.fsync: the removals durable before the message leaves work/. Otherwise a power cut
    // may keep B2's rename and lose them (the weakest model allows it), and what they removed
    // outlives the message: a staged output or half a plan no later routing replaces if the
    // message is parked, or routed elsewhere (found by the spool fuzz target). Only when
    // something was removed: a roll-back of a message claimed and not yet staged pays nothing.
    if in_work {
        po.fs.fsync_dir(Step::B1FsyncWork, &po.work)?;
    }
    if in_deferred {
        po.fs.fsync_dir(Step::B1FsyncDeferred, &po.deferred)?;
    }
    match po
        .fs
        .rename_noreplace(Step::B2Rename, &po.work, id, &po.router, id)?
    {
        Renamed::Done | Renamed::SourceGone => {}
        Renamed::DestinationExists => {
            return Err(Error::IdReused {
                id: id.into(),
                place: format!("router/{id}"),
            })
        }
    }
    po.fs.fsync_dir(Step::B3FsyncRouter, &po.router)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_reads_back_and_a_torn_one_is_no_plan() {
        let text = plan_text("m1", ["smtp", "local"]);
        assert_eq!(
            parse_plan("m1", &text),
            Ok(Planned::Channels(vec!["smtp".into(), "local".into()]))
        );
        assert_eq!(
            parse_plan("m1", "id m1\nend\n"),
            Ok(Planned::Channels(vec![]))
        );
        let h = handoff_plan_text("m1", 2_171_421);
        assert_eq!(parse_plan("m1", &h), Ok(Planned::Handoff(2_171_421)));
        for cut in 0..h.len() - 1 {
            assert!(parse_plan("m1", &h[..cut]).is_err(), "cut at {cut}");
        }
        assert!(parse_plan("m1", "id m1\nhandoff 1\nchannel smtp\nend\n").is_err());
        assert!(parse_plan("m1", "id m1\nhandoff 1\nhandoff 2\nend\n").is_err());
        // Cut short at every byte: never a plan with fewer channels.
        for cut in 0..text.len() - 1 {
            assert!(parse_plan("m1", &text[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(
            parse_plan("m2", &text),
            Err(PlanError::WrongId("m2".into()))
        );
        assert!(parse_plan("m1", "id m1\nchannel Bad\nend\n").is_err());
    }

    #[test]
    #[should_panic(expected = "bad channel")]
    fn a_plan_with_a_line_end_in_a_channel_is_a_bug() {
        plan_text("m1", ["smtp\nchannel local"]);
    }
}
