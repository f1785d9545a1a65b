//! Names: message ids, channel names, and the names the spool derives from them.
//!
//! An id is letters, digits, `.`, `-`, `_`; it does not start with `.` and does not end in
//! `.reason` (which would collide with a reason file in `deferred/`); at most
//! [`ID_BYTES_MAX`] bytes, so that every derived name fits the file system's `NAME_MAX`.
//! `#` and `@` are not id bytes, so no `work/` suffix can be read as an id. A channel name is
//! lower-case letters, digits, `-`, `_`, at most [`CHANNEL_BYTES_MAX`] bytes.
//!
//! Names in `work/` for message `<id>`: `<id>` (the message), `<id>#attempts`,
//! `<id>#plan.tmp`, `<id>#plan`, `<id>#reason`, `<id>@<channel>` (a staged output),
//! `<id>#control` (ZMailer mode's staged control file); in
//! `deferred/`: `<id>` and `<id>.reason`.

use crate::limits::{CHANNEL_BYTES_MAX, ID_BYTES_MAX};

/// True if `name` is a message id.
pub fn is_id(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= ID_BYTES_MAX
        && !name.starts_with('.')
        && !name.ends_with(".reason")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// True if `name` is a channel name.
pub fn is_channel(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= CHANNEL_BYTES_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'))
}

pub fn attempts(id: &str) -> String {
    format!("{id}#attempts")
}

pub fn plan(id: &str) -> String {
    format!("{id}#plan")
}

pub fn plan_tmp(id: &str) -> String {
    format!("{id}#plan.tmp")
}

pub fn reason(id: &str) -> String {
    format!("{id}#reason")
}

/// ZMailer mode's staged control file.
pub fn control(id: &str) -> String {
    format!("{id}#control")
}

pub fn staged(id: &str, channel: &str) -> String {
    format!("{id}@{channel}")
}

pub fn deferred_reason(id: &str) -> String {
    format!("{id}.reason")
}

/// True if `hop` can stand as a next hop on a channel output line (`rcpt <hop> <address>`):
/// not empty, and no space, angle bracket or control byte, any of which would let a table
/// or `relay_host` change what the agent reads as the address.
pub fn is_next_hop(hop: &str) -> bool {
    !hop.is_empty()
        && !hop
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
}

/// The id a `work/` name belongs to (the part before `#` or `@`).
pub fn owner(name: &str) -> &str {
    name.split(['#', '@']).next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::NAME_BYTES_MAX;

    #[test]
    fn the_longest_id_and_channel_make_names_that_fit() {
        let id = "a".repeat(ID_BYTES_MAX);
        let ch = "c".repeat(CHANNEL_BYTES_MAX);
        assert!(is_id(&id) && is_channel(&ch));
        assert!(!is_id(&"a".repeat(ID_BYTES_MAX + 1)));
        assert!(!is_channel(&"c".repeat(CHANNEL_BYTES_MAX + 1)));
        for n in [
            staged(&id, &ch),
            attempts(&id),
            plan(&id),
            plan_tmp(&id),
            reason(&id),
            control(&id),
            deferred_reason(&id),
        ] {
            assert!(n.len() <= NAME_BYTES_MAX, "{} bytes", n.len());
        }
        for n in [
            staged(&id, &ch),
            attempts(&id),
            plan(&id),
            plan_tmp(&id),
            reason(&id),
        ] {
            assert_eq!(owner(&n), id);
        }
    }

    #[test]
    fn what_is_not_an_id() {
        for bad in ["", ".hidden", "a.reason", "a b", "a#b", "a@b", "a/b", "ä"] {
            assert!(!is_id(bad), "{bad:?}");
        }
        for good in ["1795477940.003446577-12740-3", "m1", "A_b-c.d"] {
            assert!(is_id(good), "{good:?}");
        }
    }
}
