//! The routing core: one message's bytes in, its channel outputs or its park reason out.
//! Pure: no spool, no processes, no file opened (the tables' text comes through a
//! [`table::TableSource`]). This is the hot path the `route` bench measures and the `message`
//! fuzz target drives.
//!
//! - [`envelope`]: the router input format (read) and the channel output format (write).
//! - [`message`]: one message: envelope, header block, every address field, recipients,
//!   routing, one output per channel, or a [`crate::reason::ParkReason`].
//! - [`route`]: one recipient in, its destinations out, with [`aliases`] and [`transport`]
//!   as its tables; [`table`]: how tables are read and what their faults are.
//! - ZMailer mode: [`zmailer`] (one message in, one control file out), [`zmailer_envelope`] (what ZMailer's writers put into `router/`) and
//!   [`control_file`] (what its scheduler reads from `transport/`).

pub mod aliases;
pub mod control_file;
pub mod envelope;
pub mod message;
pub mod route;
pub mod table;
pub mod transport;
pub mod zmailer;
pub mod zmailer_envelope;
