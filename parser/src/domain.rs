//! Domains (RFC 5322 `domain`, `obs-domain`, `domain-literal`): atom *("." atom), CFWS allowed
//! around the dots in the obsolete form; or `[` dtext `]`.
//!
//! The canonical domain is the atoms joined by dots with no white space, or the literal with
//! its folding white space removed. A domain written as a plain dot-atom is borrowed.
//!
//! The domain ends at the first thing after an atom that is not a dot: in
//! `user@a.com(x)evil.com` it is `a.com`, and the caller then meets `evil.com` where a `,` or
//! the end should be, which is an error. Nothing is ever glued back together.
//!
//! Errors: [`ErrorKind::MissingDomain`] (nothing after `@`, or after a dot),
//! [`ErrorKind::UnbalancedBracket`] (a literal that never closes, at its `[`),
//! [`ErrorKind::UnexpectedChar`] (a `[` inside a literal), [`ErrorKind::InvalidUtf8`],
//! [`ErrorKind::DomainTooLong`] (canonical form over `domain_bytes_max`).

use crate::cursor::{find3, is_atext, is_fws, span_while, Cursor};
use crate::error::{ErrorKind, Result};
use crate::local_part::is_dot_atom;

impl<'a> Cursor<'a, '_> {
    /// Parses a domain at the cursor (past any CFWS). Consumes trailing CFWS.
    pub fn domain(&mut self) -> Result<&'a str> {
        let start = self.pos;
        let canonical = match self.peek() {
            Some(b'[') => self.domain_literal()?,
            Some(b) if is_atext(b) => self.dot_domain()?,
            _ => return Err(self.err(ErrorKind::MissingDomain)),
        };
        let limit = self.opts.limits.domain_bytes_max;
        if canonical.len() > limit && !self.opts.allow_long_addresses {
            return Err(self.err_at(
                ErrorKind::DomainTooLong {
                    len: canonical.len(),
                    limit,
                },
                start,
            ));
        }
        self.skip_cfws()?;
        Ok(canonical)
    }

    fn dot_domain(&mut self) -> Result<&'a str> {
        let start = self.pos;
        // Fast path: a plain dot-atom (`example.com`) ending at something that is not CFWS or
        // a dot, which is nearly every domain. One scan; borrowed; the same tokens counted.
        let (mut span, mut dots, mut prev_dot, mut empty_label) = (0usize, 0u32, false, false);
        for &b in self.rest() {
            if b == b'.' {
                empty_label |= prev_dot;
                prev_dot = true;
                dots += 1;
            } else if is_atext(b) {
                prev_dot = false;
            } else {
                break;
            }
            span += 1;
        }
        let next = self.input.get(start + span).copied();
        let tokens = 2 * dots + 1;
        if !matches!(next, Some(b) if is_fws(b) || b == b'(')
            && !prev_dot
            && !empty_label
            // Near the token limit, the slow path reports the exact offset.
            && self.tokens + tokens <= self.opts.limits.tokens_max
        {
            self.tokens += tokens;
            self.pos = start + span;
            return self.str_at(start, start + span);
        }
        let mut end;
        loop {
            self.count_token()?;
            self.pos += span_while(self.rest(), is_atext);
            end = self.pos;
            self.skip_cfws()?;
            if self.peek() != Some(b'.') {
                break;
            }
            self.count_token()?;
            self.pos += 1;
            self.skip_cfws()?;
            match self.peek() {
                Some(b) if is_atext(b) => {}
                _ => return Err(self.err(ErrorKind::MissingDomain)),
            }
        }
        if is_dot_atom(&self.input[start..end]) {
            return self.str_at(start, end);
        }
        // Obsolete form with CFWS around the dots: keep the atoms and dots only.
        let input = self.input;
        let mut out = self.buf();
        self.replay(start, |c| {
            while c.pos < end {
                let at = c.pos;
                match input[at] {
                    b if is_fws(b) || b == b'(' => {
                        c.skip_cfws()?;
                    }
                    b'.' => {
                        c.pos += 1;
                        c.arena_ok(out.push_byte(b'.'))?;
                    }
                    _ => {
                        c.pos += span_while(c.rest(), is_atext);
                        c.arena_ok(out.push(&input[at..c.pos]))?;
                    }
                }
            }
            Ok(())
        })?;
        self.finish_str(out, start)
    }

    fn domain_literal(&mut self) -> Result<&'a str> {
        let open = self.pos;
        self.count_token()?;
        self.pos += 1;
        let close = loop {
            match find3(b']', b'[', b'\\', self.rest()) {
                None => return Err(self.err_at(ErrorKind::UnbalancedBracket, open)),
                Some(i) => {
                    self.pos += i;
                    match self.input[self.pos] {
                        b']' => break self.pos,
                        b'[' => return Err(self.err(ErrorKind::UnexpectedChar { byte: b'[' })),
                        _ => {
                            if self.pos + 1 >= self.input.len() {
                                return Err(self.err_at(ErrorKind::UnbalancedBracket, open));
                            }
                            self.pos += 2;
                        }
                    }
                }
            }
        };
        self.pos = close + 1;
        let raw = &self.input[open..=close];
        if !raw.iter().any(|&b| is_fws(b)) {
            return self.str_at(open, close + 1);
        }
        // Drop folding white space, but keep every quoted pair whole: the byte after a
        // backslash is text even when it is a CR or LF (found by fuzzing: `[\<LF>]`).
        let mut out = self.buf();
        let mut i = 0;
        while i < raw.len() {
            let b = raw[i];
            if b == b'\\' {
                let pair = &raw[i..(i + 2).min(raw.len())];
                self.arena_ok(out.push(pair))?;
                i += 2;
            } else {
                if !is_fws(b) {
                    self.arena_ok(out.push_byte(b))?;
                }
                i += 1;
            }
        }
        self.finish_str(out, open)
    }
}
