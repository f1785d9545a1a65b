//! # mailaddr: a bounded RFC 5322 address parser
//!
//! This crate parses the address-bearing parts of Internet mail (address lists, mailboxes,
//! groups, return paths) and splits header blocks, for a mail router that must survive any
//! input. It exists because the parsers mail routers have used either grow without bound on
//! hostile shapes (ZMailer's router ate all memory on one address with unbalanced quotes and
//! brackets) or never report an error at all.
//!
//! What it does:
//! - RFC 5322 address lists with the obsolete syntax of section 4 (obs-route, obs-phrase,
//!   obs-local-part, obs-domain, empty list elements, CFWS in odd places), nested comments,
//!   quoted strings and pairs, domain literals, RFC 6532 UTF-8, and RFC 2047 encoded words in
//!   display names, decoded.
//! - Every string in the result borrows the input when the input already holds it in canonical
//!   form; everything else goes into a caller-owned [`Arena`] of fixed capacity. Parsing never
//!   allocates on the global heap.
//! - Every kind of work is capped ([`Limits`]); crossing a cap is a typed [`Error`] with the
//!   byte offset, never a panic, a retry or an abort. Time is linear in the input: no byte is
//!   read more than a small constant number of times, and nothing backtracks.
//!
//! What it will not do: repair. An ambiguous address is an error, not a guess:
//! `user@a.com(x)evil.com` is not `user@a.comevil.com`. It does no I/O, knows nothing of
//! routing, and does not parse MIME bodies.
//!
//! ```
//! use mailaddr::{parse_address_list, Arena, Options};
//! let mut arena = Arena::new(64 * 1024);
//! let list = parse_address_list(b"Joe Q. Public <john.q.public@example.com>, Undisclosed:;",
//!                               &arena, &Options::DEFAULT).unwrap();
//! let joe = list.mailboxes().next().unwrap();
//! assert_eq!((joe.name, joe.local, joe.domain),
//!            (Some("Joe Q. Public"), "john.q.public", "example.com"));
//! arena.reset(); // reuse the same memory for the next message
//! ```
#![forbid(unsafe_code)]
#![deny(missing_debug_implementations)]

mod address;
mod address_list;
mod arena;
mod canonical;
mod cfws;
mod common_mailbox;
mod cursor;
mod domain;
mod encoded_word;
mod error;
mod header_block;
mod limits;
mod local_part;
mod mailbox;
mod phrase;
mod quoted_string;
mod word_run;

pub use address::{Address, AddressList, Group, Mailbox, Mailboxes};
pub use address_list::{parse_address_list, parse_path};
pub use arena::Arena;
pub use error::{Error, ErrorClass, ErrorKind, Result};
pub use header_block::{parse_header_block, AddressField, Field, HeaderBlock};
pub use limits::{Limits, Options};
