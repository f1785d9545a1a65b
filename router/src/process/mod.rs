//! The router's processes: a supervisor keeps worker processes running under a memory limit
//! and a per-message time limit (SPEC section 6); each worker runs routing passes, which wire
//! the routing core into the spool's batch protocol. This layer knows processes, limits and
//! the log; the mail is the core's, the files are the spool's.
//!
//! - [`supervisor`]: `router run`: starts, watches, times and restarts workers.
//! - [`worker`]: one worker process; [`protocol`]: what it tells its supervisor.
//! - [`pass`]: one routing pass (spool + core), for workers and `run --inline`.
//! - [`tables`]: the routing tables read from their files.
//! - [`backoff`]: the one doubling wait (spool faults, restarts).
//! - [`log`]: the non-blocking per-message log.

pub mod backoff;
pub mod log;
pub mod pass;
pub mod protocol;
pub mod supervisor;
pub mod tables;
pub mod worker;

/// How a supervisor or a worker ended; the command line maps it to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Done, or drained on a signal.
    Done,
    /// A pass ended on a spool fault (disk full, I/O): try again later.
    SpoolFault,
    /// The process could not set itself up (a signal handler, its own program's path).
    CannotStart,
}
