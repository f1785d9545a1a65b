//! Quoted strings (RFC 5322 section 3.2.4, with obs-qp of 4.1): `"` *([FWS] qcontent) [FWS] `"`.
//!
//! Scanning finds the closing quote with memchr, skipping quoted pairs; an unterminated string
//! is [`ErrorKind::UnbalancedQuote`] at the opening `"`, a raw NUL inside is
//! [`ErrorKind::UnexpectedChar`] at the NUL (obs-qtext excludes it; `\` NUL is a quoted pair). Unquoting removes the backslash of each
//! quoted pair and the CR and LF of each fold (the white space after a fold stays), and writes
//! the result into the arena.

use crate::cursor::{find3, Buf, Cursor, Exhausted};
use crate::error::{ErrorKind, Result};

/// The content of a quoted string: `input[start..end]`, between the quotes.
#[derive(Clone, Copy)]
pub(crate) struct Quoted {
    pub start: usize,
    pub end: usize,
}

impl Cursor<'_, '_> {
    /// Scans a quoted string; the cursor is on the opening `"` and ends after the closing one.
    pub fn scan_quoted(&mut self) -> Result<Quoted> {
        let open = self.pos;
        self.count_token()?;
        self.pos += 1;
        loop {
            match find3(b'"', b'\\', 0, self.rest()) {
                None => return Err(self.err_at(ErrorKind::UnbalancedQuote, open)),
                Some(i) => {
                    self.pos += i;
                    if self.input[self.pos] == 0 {
                        // qtext and obs-qtext exclude NUL; only the quoted pair `\` NUL is
                        // (obsolete) syntax. A NUL in a local part would reach C programs.
                        return Err(self.err(ErrorKind::UnexpectedChar { byte: 0 }));
                    }
                    if self.input[self.pos] == b'"' {
                        self.pos += 1;
                        return Ok(Quoted {
                            start: open + 1,
                            end: self.pos - 1,
                        });
                    }
                    if self.pos + 1 >= self.input.len() {
                        return Err(self.err_at(ErrorKind::UnbalancedQuote, open));
                    }
                    self.pos += 2;
                }
            }
        }
    }
}

/// Appends the unquoted content of a quoted string to `out`.
pub(crate) fn unquote_into(raw: &[u8], out: &mut Buf<'_>) -> core::result::Result<(), Exhausted> {
    let mut rest = raw;
    while let Some(i) = find3(b'\\', b'\r', b'\n', rest) {
        if i > 0 {
            out.push(&rest[..i])?;
        }
        if rest[i] == b'\\' {
            // The scan guaranteed a byte follows every backslash inside the quotes.
            if let Some(&b) = rest.get(i + 1) {
                out.push_byte(b)?;
            }
            rest = rest.get(i + 2..).unwrap_or(&[]);
        } else {
            rest = &rest[i + 1..];
        }
    }
    out.push(rest)
}

/// Appends `text` as a quoted string, escaping what must be escaped so that unquoting gives
/// `text` back: `"` and `\\`, CR and LF (which unquoting would take for a fold), and NUL
/// (which is not qtext).
pub(crate) fn quote_into(text: &[u8], out: &mut Buf<'_>) -> core::result::Result<(), Exhausted> {
    out.push_byte(b'"')?;
    let special = |b: u8| matches!(b, b'"' | b'\\' | b'\r' | b'\n' | 0);
    for chunk in text.split_inclusive(|&b| special(b)) {
        match chunk.split_last() {
            Some((&last, head)) if special(last) => {
                out.push(head)?;
                out.push(&[b'\\', last])?;
            }
            _ => out.push(chunk)?,
        }
    }
    out.push_byte(b'"')
}
