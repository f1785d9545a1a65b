//! Fan-out commit: hand each channel its copy of a message, all or nothing (G3, seed 002).
//!
//! - C3 [`stage`]: write each channel's output as `work/<id>@<channel>`;
//! - S2: sync (group commit: one `syncfs` for the whole batch);
//! - C4 [`plan`]: write the batch's plan, `work/<first-id>#plan.tmp`, one record per routed
//!   message, and rename it to `work/<first-id>#plan`. **The plan's appearance is the commit
//!   point** of every message it names: before it, recovery rolls a message back and routes it
//!   again from scratch; after it, recovery rolls forward. One file per batch, not one per
//!   message: a plan created, renamed and unlinked per message was a third of the batch's
//!   system time (strace -T of the durable bench);
//! - S3: sync;
//! - C5 [`publish`]: rename each staged file to `queue/<channel>/<id>` without replacing;
//! - C6 [`remove_message`]: remove the message and its counter; S5: sync;
//! - C7 [`remove_plan`]: remove the plan, once every message it names is done.
//!
//! Every step can be repeated: a publish whose source is gone was done; a removal of a name
//! that is not there was done. Recovery (recover.rs) runs the same steps from the disk.
//! [`roll_back`] (B1–B3) undoes a message before its commit point.

use std::io;

use super::layout::Postoffice;
use super::seam::{File, Renamed, Replace, Step};
use super::Error;
use crate::limits::PLAN_BYTES_MAX;
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

/// Why a plan read back from work/ is not a plan (or why its reading stopped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the plan does not start with `id {0}`")]
    WrongId(String),
    #[error("the plan has a line that is not `channel <name>`: {0:?}")]
    BadLine(String),
    #[error("the plan has no `end` line (cut short)")]
    NoEnd,
}

/// A batch's plan read back: its whole records, in order, and why reading stopped early, if
/// it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFile {
    pub records: Vec<(String, Planned)>,
    /// `Some`: the plan is torn (or not the router's) from this point on. Its whole records
    /// still hold: each one's outputs were durable (S2) before the plan was written.
    pub torn: Option<PlanError>,
}

/// Reads a batch's plan back: one record per message, each `id <id>`, its `channel <name>`
/// lines (or one `handoff <ino>`), `end`. Strict: the first record must be the id the plan
/// is named after (`owner`), and reading stops at the first record that is not whole; a
/// record cut short is never a record with fewer channels. A plan of one record is the
/// per-message plan of earlier versions, so their plans are still read.
pub fn parse_plan(owner: &str, text: &str) -> PlanFile {
    let mut records = Vec::new();
    let mut lines = text.lines();
    let torn = loop {
        let Some(first) = lines.next() else {
            break records.is_empty().then_some(PlanError::NoEnd);
        };
        let id = match first.strip_prefix("id ") {
            Some(id) if names::is_id(id) && (!records.is_empty() || id == owner) => id,
            _ if records.is_empty() => break Some(PlanError::WrongId(owner.into())),
            _ => break Some(PlanError::BadLine(first.into())),
        };
        match parse_record(&mut lines) {
            Ok(planned) => records.push((id.to_string(), planned)),
            Err(e) => break Some(e),
        }
    };
    PlanFile { records, torn }
}

/// The lines of one record after its `id` line, through its `end`.
fn parse_record<'a>(lines: &mut impl Iterator<Item = &'a str>) -> Result<Planned, PlanError> {
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

/// C4: write a batch's plan (the records of its routed messages, the first named `owner`)
/// and rename it into place: the commit point of every message it names. The caller keeps
/// it within [`PLAN_BYTES_MAX`] (recovery reads no more).
pub fn plan(po: &Postoffice, owner: &str, text: &str) -> io::Result<()> {
    assert!(
        text.len() <= PLAN_BYTES_MAX,
        "a plan of {} bytes (recovery reads {PLAN_BYTES_MAX})",
        text.len()
    );
    assert!(
        text.starts_with(&format!("id {owner}\n")),
        "a plan not led by its owner {owner}"
    );
    let tmp = names::plan_tmp(owner);
    // A `#plan.tmp` there was left by a router that died writing it (recovery removes these;
    // be sure).
    let f = create_own(po, Step::C4PlanCreate, Step::C4PlanClear, &tmp)?;
    po.fs.write_all(Step::C4PlanWrite, &f, text.as_bytes())?;
    po.fs.rename(
        Step::C4PlanRename,
        &po.work,
        &tmp,
        &po.work,
        &names::plan(owner),
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
    super::attempts::remove(po, id)
}

/// C7 (after S5): the plan goes last, once every message it names is done; with it, every
/// trace of them in work/.
pub fn remove_plan(po: &Postoffice, owner: &str) -> io::Result<()> {
    po.fs
        .unlink(Step::C7PlanUnlink, &po.work, &names::plan(owner))
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

    fn whole(owner: &str, text: &str) -> Vec<(String, Planned)> {
        let p = parse_plan(owner, text);
        assert_eq!(p.torn, None, "{text:?}");
        p.records
    }

    #[test]
    fn a_plan_reads_back_and_a_torn_one_is_no_plan() {
        let text = plan_text("m1", ["smtp", "local"]);
        let ch = |v: &[&str]| Planned::Channels(v.iter().map(|c| c.to_string()).collect());
        assert_eq!(whole("m1", &text), [("m1".into(), ch(&["smtp", "local"]))]);
        assert_eq!(whole("m1", "id m1\nend\n"), [("m1".into(), ch(&[]))]);
        let h = handoff_plan_text("m1", 2_171_421);
        assert_eq!(
            whole("m1", &h),
            [("m1".into(), Planned::Handoff(2_171_421))]
        );
        for cut in 0..h.len() - 1 {
            assert!(
                parse_plan("m1", &h[..cut]).records.is_empty(),
                "cut at {cut}"
            );
        }
        let bad = |t: &str| parse_plan("m1", t).torn.is_some();
        assert!(bad("id m1\nhandoff 1\nchannel smtp\nend\n"));
        assert!(bad("id m1\nhandoff 1\nhandoff 2\nend\n"));
        // Cut short at every byte: never a plan with fewer channels.
        for cut in 0..text.len() - 1 {
            let p = parse_plan("m1", &text[..cut]);
            assert!(p.records.is_empty() && p.torn.is_some(), "cut at {cut}");
        }
        assert_eq!(
            parse_plan("m2", &text).torn,
            Some(PlanError::WrongId("m2".into()))
        );
        assert!(bad("id m1\nchannel Bad\nend\n"));
    }

    /// A batch's plan: every whole record holds, a record cut short or malformed ends it, and
    /// no cut ever yields a record with fewer channels than were written.
    #[test]
    fn a_batch_plan_reads_back_record_by_record() {
        let recs = [
            plan_text("m1", ["smtp", "local"]),
            handoff_plan_text("m2", 7),
            plan_text("m3", ["error"]),
        ];
        let text = recs.concat();
        let all = whole("m1", &text);
        assert_eq!(all.len(), 3);
        assert_eq!(all[1], ("m2".into(), Planned::Handoff(7)));
        for cut in 0..text.len() {
            let p = parse_plan("m1", &text[..cut]);
            // Each record read back is one of those written, whole.
            assert_eq!(p.records, all[..p.records.len()], "cut at {cut}");
            // Whole up to a record's `end` (its line end may be cut: the line is whole).
            let boundary = (1..=3).any(|k| {
                let n = recs[..k].concat().len();
                cut == n || cut + 1 == n
            });
            assert_eq!(p.torn.is_none(), boundary, "cut at {cut}");
        }
        // Led by another id: not this owner's plan.
        assert_eq!(parse_plan("m2", &text).records, []);
        let mixed = format!("{}id m9\nchannel smtp\nnot a line\nend\n", recs[0]);
        let p = parse_plan("m1", &mixed);
        assert_eq!((p.records.len(), p.torn.is_some()), (1, true));
    }

    #[test]
    #[should_panic(expected = "bad channel")]
    fn a_plan_with_a_line_end_in_a_channel_is_a_bug() {
        plan_text("m1", ["smtp\nchannel local"]);
    }
}
