//! Local parts (RFC 5322 `local-part` and `obs-local-part`): word *("." word), CFWS allowed
//! around the dots in the obsolete form.
//!
//! The result is the local part in canonical form: the words unquoted and joined with dots,
//! then quoted again only if the result is not a dot-atom (RFC 5321 section 4.1.2). So
//! `"john.q.public"` becomes `john.q.public`, `john . q` becomes `john.q`, and `"a@b x"` stays
//! `"a@b x"`. A local part written as a plain dot-atom is borrowed from the input.
//!
//! Errors: words not joined by dots ([`ErrorKind::InvalidLocalPart`] at the second word), empty
//! atoms when `allow_empty_local_atom` is off (the same kind), bytes that are not UTF-8
//! ([`ErrorKind::InvalidUtf8`]), and a canonical form longer than `local_part_bytes_max`
//! ([`ErrorKind::LocalPartTooLong`]). All at offsets into the input.

use crate::cursor::{is_atext, is_fws, span_while, Cursor};
use crate::error::{ErrorKind, Result};
use crate::quoted_string::{quote_into, unquote_into};
use crate::word_run::WordRun;

impl<'a> Cursor<'a, '_> {
    /// The canonical local part of a run that ended at `@`.
    pub fn local_part(&mut self, run: &WordRun) -> Result<&'a str> {
        if run.is_empty() {
            return Err(self.err_at(ErrorKind::MissingLocalPart, run.start));
        }
        if let Some(at) = run.unjoined_at {
            return Err(self.err_at(ErrorKind::InvalidLocalPart, at));
        }
        if let Some(at) = run.empty_atom_at {
            if !self.opts.allow_empty_local_atom {
                return Err(self.err_at(ErrorKind::InvalidLocalPart, at));
            }
        }
        let raw = &self.input[run.start..run.end];
        let canonical = if is_dot_atom(raw) {
            // Borrowed from the field, validated once for the whole field where it can be.
            self.str_at(run.start, run.end)?
        } else if raw.iter().all(|&b| is_atext(b) || b == b'.') {
            // Atext and dots alone, with an empty atom (`k..allen`): the words are the bytes
            // as they are, borrowed (not copied word by word: the same text, and the same
            // error if it is not UTF-8), and not a dot-atom, so quoted.
            let words = self
                .str_at(run.start, run.end)
                .map_err(|_| self.err_at(ErrorKind::InvalidUtf8, run.start))?;
            self.quoted(words, run.start)?
        } else {
            let semantic = self.unquoted_local(run)?;
            if is_dot_atom(semantic.as_bytes()) {
                semantic
            } else {
                self.quoted(semantic, run.start)?
            }
        };
        let limit = self.opts.limits.local_part_bytes_max;
        if canonical.len() > limit && !self.opts.allow_long_addresses {
            return Err(self.err_at(
                ErrorKind::LocalPartTooLong {
                    len: canonical.len(),
                    limit,
                },
                run.start,
            ));
        }
        Ok(canonical)
    }

    /// `text` as a quoted string in the arena: quotes, and a backslash before any byte that
    /// needs one; one reservation for the usual case of none.
    fn quoted(&self, text: &str, offset: usize) -> Result<&'a str> {
        let mut q = self.buf();
        self.arena_ok(q.reserve(text.len() + 2))?;
        self.arena_ok(quote_into(text.as_bytes(), &mut q))?;
        self.finish_str(q, offset)
    }

    /// The words of the run unquoted and joined with dots, CFWS dropped.
    fn unquoted_local(&mut self, run: &WordRun) -> Result<&'a str> {
        let end = run.end;
        let input = self.input;
        let mut out = self.buf();
        self.replay(run.start, |c| {
            while c.pos < end {
                let at = c.pos;
                match input[at] {
                    b'"' => {
                        let q = c.scan_quoted()?;
                        c.arena_ok(unquote_into(&input[q.start..q.end], &mut out))?;
                    }
                    b'.' => {
                        c.pos += 1;
                        c.arena_ok(out.push_byte(b'.'))?;
                    }
                    b if is_fws(b) || b == b'(' => {
                        c.skip_cfws()?;
                    }
                    _ => {
                        c.pos += span_while(c.rest(), is_atext);
                        c.arena_ok(out.push(&input[at..c.pos]))?;
                    }
                }
            }
            Ok(())
        })?;
        self.finish_str(out, run.start)
    }
}

/// True if `s` is a dot-atom: non-empty atext runs joined by single dots.
pub(crate) fn is_dot_atom(s: &[u8]) -> bool {
    !s.is_empty()
        && s.split(|&b| b == b'.')
            .all(|a| !a.is_empty() && a.iter().all(|&b| is_atext(b)))
}
