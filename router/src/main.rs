//! ```text
//! NAME
//!     router - a hardened mail router for a spool directory
//!
//! SYNOPSIS
//!     router [-c FILE] [-p DIR] COMMAND
//!     sendmail [-f SENDER] [-t] [-i] [--] RECIPIENT...   (a symlink to router)
//!
//! DESCRIPTION
//!     Parses the command line, runs the command (src/cli/, one module each), and exits
//!     with the sysexits(3) code the command gives. Everything else is the library's.
//! ```
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

/// jemalloc: steady fragmentation behaviour for long-running workers, and its allocation
/// failures under `RLIMIT_AS` are clean (the allocator returns null; Rust aborts the worker).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    ExitCode::from(cli::main(std::env::args_os().collect()))
}
