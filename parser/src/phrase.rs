//! Phrases: display names and group names (RFC 5322 `phrase` and `obs-phrase`), decoded.
//!
//! The decoded name is the phrase with comments removed, each run of white space and comments
//! turned into one space, quoted strings unquoted, and RFC 2047 encoded words decoded (white
//! space between two adjacent encoded words is dropped, as RFC 2047 section 6.2 says, and a
//! run of them in one charset is decoded as one byte sequence, so that a character an encoder
//! split across two words comes out whole).
//! Encoded words are decoded only where RFC 2047 allows them in a phrase, as whole atoms; text
//! inside quotes is never decoded. Bytes that are not UTF-8 become U+FFFD when
//! `allow_8bit_display_name` is on, else [`ErrorKind::InvalidUtf8`].
//!
//! A name that is already in that form in the input (atoms and dots, single spaces, no encoded
//! words) is borrowed, not copied.

use crate::cursor::{is_atext, is_fws, span_while, Buf, Cursor, Exhausted};
use crate::encoded_word;
use crate::error::{ErrorKind, Result};
use crate::quoted_string::unquote_into;
use crate::word_run::WordRun;

impl<'a> Cursor<'a, '_> {
    /// The decoded display name of a run; `None` if it is empty.
    pub fn phrase(&mut self, run: &WordRun) -> Result<Option<&'a str>> {
        if run.is_empty() {
            return Ok(None);
        }
        let raw = &self.input[run.start..run.end];
        if raw[0] == b'.' {
            // obs-phrase is `word *(word / "." / CFWS)`: it starts with a word.
            return Err(self.err_at(ErrorKind::UnexpectedChar { byte: b'.' }, run.start));
        }
        // `"Example Support"`: one quoted string with no quoted pair, fold or encoded word is
        // its own decoded form, less the quotes.
        if run.words == 1 && raw.len() >= 2 && raw[0] == b'"' && raw[raw.len() - 1] == b'"' {
            let inner = &raw[1..raw.len() - 1];
            if !inner
                .iter()
                .any(|&b| matches!(b, b'\\' | b'"' | b'\r' | b'\n'))
                && !inner.is_empty()
            {
                if let Ok(s) = self.str_at(run.start + 1, run.end - 1) {
                    return Ok(Some(s));
                }
            }
        }
        if is_plain_phrase(raw) {
            if let Ok(s) = self.str_at(run.start, run.end) {
                return Ok(Some(s));
            }
        }
        let end = run.end;
        let mut out = self.buf();
        self.replay(run.start, |c| c.build_phrase(end, &mut out))?;
        let bytes = out.finish();
        match core::str::from_utf8(bytes) {
            Ok("") => Ok(None),
            Ok(s) => Ok(Some(s)),
            // build_phrase only appends UTF-8 (8-bit text goes through the lossy path).
            Err(_) => Err(self.err_at(ErrorKind::InvalidUtf8, run.start)),
        }
    }

    fn build_phrase(&mut self, end: usize, out: &mut Buf<'a>) -> Result<()> {
        let input = self.input;
        let mut pending_space = false;
        let mut prev_encoded = false;
        let mut first = true;
        // The decoder of the run of adjacent encoded words being read: a character split
        // across two of them is decoded whole ([`encoded_word::Run`]).
        let mut run = encoded_word::Run::default();
        while self.pos < end {
            let at = self.pos;
            let b = input[at];
            if is_fws(b) || b == b'(' {
                self.skip_cfws()?;
                pending_space = true;
                continue;
            }
            let space = pending_space && !first;
            let atom_end = if is_atext(b) {
                at + span_while(self.rest(), is_atext)
            } else {
                at
            };
            let encoded = encoded_word::looks_encoded(&input[at..atom_end]);
            if !encoded {
                // Anything but an encoded word ends the run before it.
                self.arena_ok(run.finish(out))?;
            }
            let mark = out.len();
            let ok = if b == b'"' {
                let q = self.scan_quoted()?;
                prev_encoded = false;
                self.arena_ok(push_space(out, space))?;
                self.arena_ok(unquote_into(&input[q.start..q.end], out))?;
                self.arena_ok(self.fix_utf8(out, mark))?
            } else if atom_end > at {
                self.pos = atom_end;
                let atom = &input[at..atom_end];
                // Adjacent encoded words are joined without the space between them.
                self.arena_ok(push_space(out, space && !(prev_encoded && encoded)))?;
                if encoded && self.arena_ok(encoded_word::decode_into(atom, out, &mut run))? {
                    prev_encoded = true;
                    true
                } else {
                    // Written as it is, after the tail of the run it ends.
                    prev_encoded = false;
                    self.arena_ok(run.finish(out))?;
                    self.arena_ok(out.push(atom))?;
                    self.arena_ok(self.fix_utf8(out, mark))?
                }
            } else {
                // A dot of obs-phrase.
                self.pos += 1;
                prev_encoded = false;
                self.arena_ok(push_space(out, space))?;
                self.arena_ok(out.push_byte(b'.'))?;
                true
            };
            if !ok {
                return Err(self.err_at(ErrorKind::InvalidUtf8, at));
            }
            pending_space = false;
            first = false;
        }
        self.arena_ok(run.finish(out))
    }

    /// Makes `out[mark..]` valid UTF-8: unchanged if it is; with U+FFFD for each bad sequence
    /// when 8-bit names are allowed. Returns false if it is not UTF-8 and they are not.
    fn fix_utf8(&self, out: &mut Buf<'a>, mark: usize) -> core::result::Result<bool, Exhausted> {
        if core::str::from_utf8(&out.as_slice()[mark..]).is_ok() {
            return Ok(true);
        }
        if !self.opts.allow_8bit_display_name {
            return Ok(false);
        }
        // Rebuild the segment through utf8_chunks; the first copy stays in the arena unused.
        let mut fixed = self.buf();
        for chunk in out.as_slice()[mark..].utf8_chunks() {
            fixed.push(chunk.valid().as_bytes())?;
            if !chunk.invalid().is_empty() {
                fixed.push("\u{FFFD}".as_bytes())?;
            }
        }
        out.truncate(mark);
        out.push(fixed.finish())?;
        Ok(true)
    }
}

fn push_space(out: &mut Buf<'_>, space: bool) -> core::result::Result<(), Exhausted> {
    if space {
        out.push_byte(b' ')
    } else {
        Ok(())
    }
}

/// True if `raw` is its own decoded form: atoms and dots separated by single spaces, with no
/// `=?` in it (which could start an encoded word).
fn is_plain_phrase(raw: &[u8]) -> bool {
    let mut prev = b' ';
    for &b in raw {
        let ok = match b {
            b' ' => prev != b' ',
            b'?' => prev != b'=',
            _ => is_atext(b) || b == b'.',
        };
        if !ok {
            return false;
        }
        prev = b;
    }
    prev != b' '
}
