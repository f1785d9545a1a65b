//! The spool: the postoffice's directories, files, locks, renames and syncs, and the
//! protocols that move a message through them (docs/spool.md is the specification; each
//! module names the steps it carries out).
//!
//! This layer knows files, not mail: it never parses an address or a header. A batch is
//! routed through a [`batch::Route`] the caller supplies (the process layer hands it the
//! routing core).
//!
//! - [`seam`]: the [`seam::Seam`] trait every system call goes through; [`steps`]: the step
//!   vocabulary; `faults` and `sim` (feature `fault-injection`): the fault-planning seam and
//!   the simulated disk with a live and a durable view, for tests and fuzzing.
//! - [`layout`]: the directories and the start-up checks.
//! - [`submit`]: publish a message into `router/` (P1–P5).
//! - [`claim`]: take one from `router/` into `work/` under a lock (C1).
//! - [`attempts`]: the durable attempt counter (C2, A1).
//! - [`batch`]: route a batch: C1–C7 and S1–S5 as one sequence.
//! - [`commit`]: fan-out through a plan (C3 stage, C4 plan, C5 publish, C6–C7), and the
//!   roll-back (B1–B3) recovery and release share.
//! - [`handoff`]: ZMailer mode's commit: the control file into `transport/`, the message
//!   into `queue/` (H3, H5), and the scheduler told.
//! - [`defer`]: park a message with a reason file (C3, C4, C6).
//! - [`reason_file`]: the reason file's one writer and one reader.
//! - [`recover`]: finish or undo what a dead router left in `work/` (R1–R4).
//! - [`reaper`]: remove abandoned submissions from `public/` (X1–X2).
//! - [`parked`]: the administrator's view of `deferred/`: list, read, release, remove (D0–D6),
//!   and the counts `router status` prints.

pub mod attempts;
pub mod batch;
pub mod claim;
pub mod commit;
pub mod defer;
#[cfg(feature = "fault-injection")]
pub mod faults;
pub mod handoff;
pub mod layout;
pub mod parked;
pub mod reaper;
pub mod reason_file;
pub mod recover;
pub mod seam;
#[cfg(feature = "fault-injection")]
pub mod sim;
pub mod steps;
pub mod submit;

pub use layout::{Owners, Postoffice};

/// A name a pass reported and left alone: never moved, followed or deleted. Its `Display` is
/// the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeftAlone {
    /// A name in router/ that is not an id.
    NotAnId(String),
    /// A message name in router/ that is not a regular file (a FIFO, a directory, a symlink,
    /// a socket, a device).
    NotAFile(String),
    /// A message in router/ with a second name (a hard link).
    HardLinked(String),
    /// A message in router/ this router may not open (another user's file).
    NotReadable(String),
    /// `router/<id>` was replaced by another file between the claim's open and its rename (its
    /// owner renamed a file of its own over it): the other file was put back, unread.
    Replaced(String),
    /// An id used twice: `place` (`work/<id>`, `queue/<ch>/<id>`, `deferred/<id>`) belongs to
    /// an earlier message of the same id. Nothing replaced; the newcomer waits where it is.
    IdReused { id: String, place: String },
    /// A symlink, a hard link or a non-regular file where `work/<id>#attempts` goes: the
    /// message cannot be counted and waits in router/.
    CounterNotOurs(String),
}

impl std::fmt::Display for LeftAlone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LeftAlone::NotAnId(n) => write!(f, "router/{n} is not a message id; left alone"),
            LeftAlone::NotAFile(n) => write!(f, "router/{n} is not a regular file; left alone"),
            LeftAlone::HardLinked(n) => write!(
                f,
                "router/{n} has a second name (a hard link) that could still change it; left alone"
            ),
            LeftAlone::NotReadable(n) => write!(
                f,
                "router/{n} cannot be opened by this router (permission denied); left alone"
            ),
            LeftAlone::Replaced(n) => write!(
                f,
                "router/{n} was replaced by another file while it was being claimed; the other file was put back for a later pass"
            ),
            LeftAlone::IdReused { id, place } => write!(
                f,
                "{id}: id used twice: {place} exists already; nothing replaced, {id} left for a later pass"
            ),
            LeftAlone::CounterNotOurs(id) => write!(
                f,
                "{id}: work/{id}#attempts is not the router's (a symlink, a hard link or not a regular file); the message waits in router/"
            ),
        }
    }
}

/// Why a spool operation stopped. The owner of each kind decides what happens next
/// (docs/architecture.md, "Who is at fault").
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The disk: full, out of inodes, an I/O error. The message is released, nothing is
    /// charged to it, and the router backs off.
    #[error("{0}")]
    Disk(#[from] std::io::Error),
    /// A name the spool was about to create is taken by another message of the same id: an
    /// injector reused an id. Nothing is replaced.
    #[error("id {id} used twice: {place} exists already")]
    IdReused { id: String, place: String },
}

impl Error {
    /// True when the disk is full (out of space, quota or inodes).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::Disk(e) if seam::is_disk_full(e))
    }

    /// True when a smaller batch may succeed where this one failed: the disk is full, or the
    /// process is out of file descriptors (each claimed message holds one).
    pub fn is_resource_short(&self) -> bool {
        matches!(self, Error::Disk(e) if seam::is_disk_full(e) || seam::is_out_of_files(e))
    }
}
