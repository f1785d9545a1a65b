//! # router: the mail router's library
//!
//! The `router` binary is a thin shell over this library. So far it holds the `parse`
//! command, the parser's command-line face (SPEC section 4); the spool, routing and supervisor
//! modules come with their issues.
#![forbid(unsafe_code)]

pub mod exit;
pub mod parse_cmd;
