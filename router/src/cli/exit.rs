//! Exit codes, from `sysexits.h`: what the command line returns for each class of outcome.
//! Only `cli/` uses them: the library returns typed outcomes, and a command maps them here.

/// Successful termination.
pub const OK: u8 = 0;
/// The command was used incorrectly (bad flags, bad arguments).
pub const USAGE: u8 = 64;
/// The input data was incorrect in some way.
pub const DATAERR: u8 = 65;
/// An internal software error.
pub const SOFTWARE: u8 = 70;
/// An operating-system error (a resource could not be had: a signal handler, a limit).
pub const OSERR: u8 = 71;
/// An error reading or writing a file or stream.
pub const IOERR: u8 = 74;
/// A temporary failure: try again later (the spool is unavailable, the disk is full).
pub const TEMPFAIL: u8 = 75;
/// Something was found in an unconfigured or misconfigured state.
pub const CONFIG: u8 = 78;
/// A (user specified) output file cannot be created.
pub const CANTCREAT: u8 = 73;
/// EX_NOPERM: the caller may not do this (not in the postoffice's group).
pub const NOPERM: u8 = 77;
