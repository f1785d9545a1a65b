//! Canonical printing: addresses back to RFC 5322 text that parses to the same values.
//!
//! Names are printed bare when they are atoms separated by single spaces and hold no `=?`
//! (which a reader could take for an encoded word), and quoted otherwise; local parts and
//! domains are already canonical. Parsing the printed form gives back equal values: the fuzz
//! targets check exactly that.

use core::fmt::{self, Display, Write};

use crate::address::{Address, AddressList, Group, Mailbox};
use crate::cursor::is_atext;

fn write_name(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let b = name.as_bytes();
    let bare = !b.is_empty()
        && b[0] != b' '
        && b[b.len() - 1] != b' '
        && !name.contains("  ")
        && !name.contains("=?")
        && b.iter().all(|&c| c == b' ' || is_atext(c));
    if bare {
        return f.write_str(name);
    }
    f.write_char('"')?;
    for ch in name.chars() {
        // NUL too: not qtext, so only a quoted pair may carry it (found by fuzzing once the
        // parser refused a raw NUL in quotes).
        if matches!(ch, '"' | '\\' | '\r' | '\n' | '\0') {
            f.write_char('\\')?;
        }
        f.write_char(ch)?;
    }
    f.write_char('"')
}

impl Display for Mailbox<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_none() && self.route.is_none() {
            return write!(f, "{}@{}", self.local, self.domain);
        }
        if let Some(name) = self.name {
            write_name(f, name)?;
            f.write_char(' ')?;
        }
        f.write_char('<')?;
        if let Some(route) = self.route {
            write!(f, "{route}:")?;
        }
        write!(f, "{}@{}>", self.local, self.domain)
    }
}

impl Display for Group<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_name(f, self.name)?;
        f.write_char(':')?;
        for (i, m) in self.members.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{m}")?;
        }
        f.write_char(';')
    }
}

impl Display for Address<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Mailbox(m) => m.fmt(f),
            Address::Group(g) => g.fmt(f),
        }
    }
}

impl Display for AddressList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.addresses.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}
