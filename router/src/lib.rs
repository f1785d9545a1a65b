//! # router: the mail router's library
//!
//! The `router` binary (`src/main.rs` and the command line in `src/cli/`) is a thin shell
//! over this library. The library is four layers; arrows point down only (docs/architecture.md
//! has the picture and what each folder may import):
//!
//! - [`process`]: the supervisor, the workers, the routing pass that wires the core into the
//!   spool, the log.
//! - [`spool`]: the postoffice on disk and its protocols (docs/spool.md): files, not mail.
//! - [`core`]: the routing core: one message's bytes in, its outputs or its park reason out:
//!   mail, not files.
//! - Leaves, used by all: [`reason`] (why a message is parked: one enum, one table of codes),
//!   [`names`] (ids, channel names, derived names), [`limits`] (every number), [`config`]
//!   (`router.toml`), [`corpus`] (the demo corpus, shared by the demo, benches and fuzzing),
//!   [`accounts`] (users and groups from /etc/passwd and /etc/group).
//!
//! How the router process works: docs/router.md; the spool protocol: docs/spool.md.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod config;
pub mod core;
pub mod corpus;
pub mod limits;
pub mod names;
pub mod process;
pub mod reason;
pub mod spool;
