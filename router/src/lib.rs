//! # router: the mail router's library
//!
//! The `router` binary is a thin shell over this library. Modules, one job each, in the order
//! a message meets them (the spool protocol as a whole is written down in docs/spool.md):
//!
//! - [`submit`]: publish a message into `router/` (public/ → router/).
//! - [`claim`]: take one from `router/` into `work/`, under a lock.
//! - [`attempts`]: the durable attempt counter.
//! - [`envelope`]: read the router input format, write the channel output format.
//! - [`message`]: one message in memory: envelope, headers, recipients, outputs or a reason.
//! - [`route`]: one recipient in, its destinations out; [`aliases`] and [`transport`] are
//!   its tables (no files while routing).
//! - [`commit`]: fan-out through a plan: stage, plan, publish, clean up; and the roll-back
//!   that recovery and release share.
//! - [`defer`]: park a message with a reason file.
//! - [`recover`]: finish or undo what a dead router left in `work/`.
//! - [`reaper`]: remove abandoned submissions from `public/`.
//! - [`runner`]: one router's pass over all of the above, with group commit.
//! - [`worker`] and [`supervisor`]: `router run`'s processes (memory and time limits,
//!   restarts, inotify, signals); [`log`]: the non-blocking per-message log.
//! - [`fs`]: the file-system seam every spool syscall passes through.
//! - [`postoffice`]: the directories, the names, the start-up checks.
//! - [`config`], the `router.toml` file.
//! - [`parse_cmd`]: `router parse`; [`demo`]: `router demo`; [`admin`]: `router deferred`,
//!   `status`, `check`.
//!
//! How the router process works: docs/router.md; the spool protocol: docs/spool.md.
#![forbid(unsafe_code)]

pub mod admin;
pub mod aliases;
pub mod attempts;
pub mod claim;
pub mod commit;
pub mod config;
pub mod defer;
pub mod demo;
pub mod envelope;
pub mod exit;
pub mod fs;
pub mod log;
pub mod message;
pub mod parse_cmd;
pub mod postoffice;
pub mod reaper;
pub mod recover;
pub mod route;
pub mod runner;
pub mod submit;
pub mod supervisor;
pub mod transport;
pub mod worker;
