//! The spool's step vocabulary: every system call the spool makes is one of these steps.
//!
//! A step's label is its id in docs/spool.md (`C1.rename` is the rename of step C1 of the
//! batch protocol), the label the fault-injecting seam matches (`crash-after@C5.publish`),
//! and the name the code's comments use. Groups:
//!
//! | prefix | protocol |
//! |---|---|
//! | `P` | publish a submission: public/ → router/ |
//! | `C`, `S` | route a batch: the actions C1–C7 and the syncs S1–S5 between them |
//! | `H` | ZMailer mode's steps in place of C3's staging and C5's publishing |
//! | `R` | recovery of what a dead router left in work/ |
//! | `B` | roll back an uncommitted message (recovery, release) |
//! | `X` | the public/ reaper |
//! | `D` | the administrator's commands on deferred/ |
//! | `O` | making (`router init`) and opening the postoffice (start-up) |
//!
//! A test checks that docs/spool.md names every label.

/// Defines [`Step`], its labels and [`Step::ALL`] from one table, so that the three can never
/// disagree.
macro_rules! steps {
    ($($variant:ident => $label:literal,)*) => {
        /// One step of the spool protocol.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Step {
            $($variant,)*
        }

        impl Step {
            /// The step's id, as docs/spool.md writes it.
            pub const fn label(self) -> &'static str {
                match self {
                    $(Step::$variant => $label,)*
                }
            }

            /// Every step, for the documentation test.
            pub const ALL: &'static [Step] = &[$(Step::$variant,)*];
        }
    };
}

steps! {
    // Publish (submit).
    P1Create => "P1.create",
    P1Lock => "P1.lock",
    P2Write => "P2.write",
    P2Fsync => "P2.fsync",
    P3Rename => "P3.rename",
    P4FsyncRouter => "P4.fsync-router",
    P4FsyncPublic => "P4.fsync-public",
    P5Cleanup => "P5.cleanup",
    // Route a batch.
    C0List => "C0.list",
    C1Open => "C1.open",
    C1Lock => "C1.lock",
    C1Rename => "C1.rename",
    C1Check => "C1.check",
    C1Return => "C1.return",
    C2Count => "C2.count",
    S1 => "S1",
    C3Read => "C3.read",
    C3StageClear => "C3.stage-clear",
    C3StageCreate => "C3.stage-create",
    C3StageWrite => "C3.stage-write",
    H3ControlCreate => "H3.control-create",
    H3ControlWrite => "H3.control-write",
    C3ReasonClear => "C3.reason-clear",
    C3ReasonCreate => "C3.reason-create",
    C3ReasonWrite => "C3.reason-write",
    S2 => "S2",
    C4PlanClear => "C4.plan-clear",
    C4PlanCreate => "C4.plan-create",
    C4PlanWrite => "C4.plan-write",
    C4PlanRename => "C4.plan-rename",
    C4DeferReason => "C4.defer-reason",
    C4DeferMessage => "C4.defer-message",
    S3 => "S3",
    C5Mkdir => "C5.mkdir",
    C5MkdirFsync => "C5.mkdir-fsync",
    C5Publish => "C5.publish",
    H5Message => "H5.message",
    H5Control => "H5.control",
    C6MessageUnlink => "C6.message-unlink",
    C6AttemptsUnlink => "C6.attempts-unlink",
    S5 => "S5",
    C7PlanUnlink => "C7.plan-unlink",
    // Recovery.
    R1List => "R1.list",
    R1Open => "R1.open",
    R1Lock => "R1.lock",
    R2List => "R2.list",
    R3PlanOpen => "R3.plan-open",
    R3PlanRead => "R3.plan-read",
    R3PlanSync => "R3.plan-sync",
    R3Count => "R3.count",
    R3CountWrite => "R3.count-write",
    R3S5 => "R3.S5",
    R3PlanTmpUnlink => "R3.plan-tmp-unlink",
    R4ReasonRename => "R4.reason-rename",
    R4AttemptsUnlink => "R4.attempts-unlink",
    // Roll back.
    B1StagedUnlink => "B1.staged-unlink",
    B1ControlUnlink => "B1.control-unlink",
    B1PlanTmpUnlink => "B1.plan-tmp-unlink",
    B1ReasonUnlink => "B1.reason-unlink",
    B1DeferredReasonUnlink => "B1.deferred-reason-unlink",
    B1FsyncWork => "B1.fsync-work",
    B1FsyncDeferred => "B1.fsync-deferred",
    B2Rename => "B2.rename",
    B3FsyncRouter => "B3.fsync-router",
    // Take an attempt back.
    // Reaper.
    X1List => "X1.list",
    X1Open => "X1.open",
    X1Lock => "X1.lock",
    X2Unlink => "X2.unlink",
    // The administrator's commands.
    D0List => "D0.list",
    D0Read => "D0.read",
    D1AttemptsUnlink => "D1.attempts-unlink",
    D2Rename => "D2.rename",
    D3FsyncRouter => "D3.fsync-router",
    D4ReasonUnlink => "D4.reason-unlink",
    D4FsyncDeferred => "D4.fsync-deferred",
    D5FsyncDeferred => "D5.fsync-deferred",
    D6MessageUnlink => "D6.message-unlink",
    // Making and opening the postoffice.
    O0Mkdir => "O0.mkdir",
    O0Mode => "O0.mode",
    O0Fsync => "O0.fsync",
    O1Open => "O1.open",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_spool_md_names_every_step_and_labels_are_unique() {
        let doc = include_str!("../../../docs/spool.md");
        let mut seen = std::collections::HashSet::new();
        for s in Step::ALL {
            assert!(seen.insert(s.label()), "{} twice", s.label());
            assert!(
                doc.contains(&format!("`{}`", s.label())),
                "docs/spool.md does not name step `{}`",
                s.label()
            );
        }
    }
}
